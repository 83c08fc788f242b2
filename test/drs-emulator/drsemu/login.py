"""The login service endpoints drsjoin will use to get tokens: the v2.0
token endpoint (refresh_token and device_code grants), the v1 token
endpoint discovery names, device code issuance, and the signing keys.
Errors come in the login service's shape (errors.LoginError).
"""
import time
import urllib.parse
import uuid

from . import tokens
from .app import Response
from .errors import LoginError

SPECIAL_TENANTS = ("common", "organizations")
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
KNOWN_RESOURCES = tokens.DRS_RESOURCES + (tokens.DRS_APP_ID,
                                          "00000003-0000-0000-c000-000000000000",
                                          "https://graph.microsoft.com")
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# Descriptions for the codes a fault can force (protocol.md, "Errors").
AADSTS_TEXT = {
    50076: ("interaction_required", "Due to a configuration change made by your administrator, "
            "or because you moved to a new location, you must use multi-factor authentication "
            "to access '01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9'."),
    50072: ("interaction_required", "User needs to enroll for second factor authentication."),
    50074: ("interaction_required", "Strong Authentication is required."),
    50079: ("interaction_required", "Due to a configuration change made by your administrator, "
            "the user needs to enroll for multi-factor authentication."),
    50155: ("invalid_grant", "Device authentication failed for the user."),
    50097: ("invalid_grant", "Device authentication is required."),
    50126: ("invalid_grant", "Error validating credentials due to invalid username or password."),
    700003: ("invalid_grant", "Device object was not found in the tenant directory."),
    700082: ("invalid_grant", "The refresh token has expired due to inactivity. The token was "
             "issued on 2026-01-01T00:00:00Z and was inactive for 90.00:00:00."),
    53003: ("access_denied", "Access has been blocked by Conditional Access policies. The access "
            "policy does not allow token issuance."),
    90002: ("invalid_tenant", "Tenant not found."),
}


def fault_error(code):
    error, text = AADSTS_TEXT.get(code, ("invalid_request", "Emulated failure."))
    return LoginError(400, error, code, text)


# OAuth errors a fault can force (device code polling), with their AADSTS codes.
OAUTH_ERRORS = {"authorization_pending": 70016, "slow_down": 70016,
                "authorization_declined": 70000, "expired_token": 70020,
                "code_expired": 70020,
                "invalid_grant": 70000, "invalid_request": 900144}


def oauth_error(name):
    return LoginError(400, name, OAUTH_ERRORS.get(name, 90000),
                      "drs-emulator fault: OAuth error %s." % name)


def _missing(name):
    return LoginError(400, "invalid_request", 900144,
                      "The request body must contain the following parameter: '%s'." % name)


def _tenant(emu, key):
    """(tenant or None for common/organizations)."""
    if key.lower() in SPECIAL_TENANTS:
        return None
    t = emu.tenants.lookup(key)
    if t is None:
        raise LoginError(400, "invalid_tenant", 90002,
                         "Tenant '%s' not found. Check to make sure you have the correct tenant "
                         "ID and are signing into the correct cloud." % key)
    return t


def parse_form(req):
    ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise LoginError(400, "invalid_request", 900144, "The request body must be "
                         "application/x-www-form-urlencoded, got Content-Type %r."
                         % req.header("Content-Type"))
    try:
        pairs = urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True,
                                       strict_parsing=bool(req.body))
    except (UnicodeDecodeError, ValueError) as e:
        raise LoginError(400, "invalid_request", 900144, "The request body is not a valid "
                         "form: %s." % e)
    form = {}
    for k, v in pairs:
        if k in form:
            raise LoginError(400, "invalid_request", 90015,
                             "Requested query string is too long, or parameter '%s' is "
                             "duplicated." % k)
        form[k] = v
    return form


def _need(form, name):
    v = form.get(name)
    if not v:
        raise _missing(name)
    return v


def _resource_of(scope):
    """The resource a v2 scope list asks for, e.g. <app id>/.default."""
    for s in scope.split():
        if s.lower() in OIDC_SCOPES:
            continue
        res = s.rsplit("/", 1)[0] if "/" in s.replace("://", "") else s
        return res
    return None


def _check_resource(res):
    if res not in KNOWN_RESOURCES:
        raise LoginError(400, "invalid_resource", 500011,
                         "The resource principal named %s was not found in the tenant." % res)


def devicecode(emu, req, tenant, v1=False):
    t = _tenant(emu, tenant)
    form = parse_form(req)
    client_id = _need(form, "client_id")
    if v1:
        # v1 names the resource; it becomes the code's scope.
        res = _need(form, "resource")
        _check_resource(res)
        scope = res + "/.default"
    else:
        scope = _need(form, "scope")
        res = _resource_of(scope)
        if res:
            _check_resource(res)
    life = emu.config.device_code_lifetime
    device_code, user_code = emu.state.new_device_code({
        "client_id": client_id, "scope": scope, "tenant_id": t.id if t else None,
        "expires": time.time() + life})
    uri = (req.origin or emu.origin) + "/devicelogin"
    message = ("To sign in, use a web browser to open the page %s and enter the code %s to "
               "authenticate." % (uri, user_code))
    if emu.config.device_code_message:
        message = emu.config.device_code_message.replace("{uri}", uri).replace("{code}", user_code)
    if v1:
        # The v1 answer: verification_url, and numbers as strings.
        return Response(200, {
            "user_code": user_code, "device_code": device_code, "verification_url": uri,
            "expires_in": str(life), "interval": str(emu.config.device_code_interval),
            "message": message})
    return Response(200, {
        "user_code": user_code, "device_code": device_code, "verification_uri": uri,
        "expires_in": life, "interval": emu.config.device_code_interval, "message": message})


def devicecode_v1(emu, req, tenant):
    return devicecode(emu, req, tenant, v1=True)


def token_v1(emu, req, tenant):
    return token(emu, req, tenant, v1=True)


def token(emu, req, tenant, v1=False):
    t = _tenant(emu, tenant)
    form = parse_form(req)
    grant = _need(form, "grant_type")
    client_id = _need(form, "client_id")
    if grant == DEVICE_CODE_GRANT or (v1 and grant == "device_code"):
        user, scope = _device_code_grant(emu, form, client_id, v1)
    elif grant == "refresh_token":
        raw = _need(form, "refresh_token")
        bprt = tokens.verify_bprt(raw, emu.pki.token_cert)
        rt = bprt or emu.state.refresh_token(raw)
        if rt is None and emu.state.prt(raw) is not None:
            raise LoginError(400, "invalid_grant", 7000016, "A Primary Refresh Token cannot be "
                             "redeemed as a refresh token: sign a request with its session key.")
        if rt is None:
            raise LoginError(400, "invalid_grant", 9002313, "Invalid request. The refresh token "
                             "is malformed, unknown to this emulator, or was issued elsewhere.")
        if rt.get("client_id") and rt["client_id"] != client_id:
            raise LoginError(400, "invalid_grant", 70000, "The provided value for the input "
                             "parameter 'refresh_token' is not valid: it was issued to client "
                             "%s, not %s." % (rt["client_id"], client_id))
        if bprt is not None:
            if time.time() >= bprt["exp"]:
                raise fault_error(700082)
            req.log["bprt"] = True
        user = {k: rt[k] for k in ("upn", "oid", "tid")}
        scope = form.get("scope") or rt.get("scope")
    else:
        raise LoginError(400, "unsupported_grant_type", 70003, "The app requested an "
                         "unsupported grant type '%s'." % grant)
    if t is not None and user["tid"] != t.id:
        raise LoginError(400, "invalid_grant", 50020, "The user %s is from tenant %s, not %s."
                         % (user["upn"], user["tid"], t.id))
    if v1 and form.get("resource"):
        res = form["resource"]
    else:
        if not scope:
            raise _missing("scope")
        res = _resource_of(scope)
    if not res:
        raise LoginError(400, "invalid_scope", 70011, "The provided value for the input "
                         "parameter 'scope' is not valid: it names no resource.")
    _check_resource(res)
    now = int(time.time())
    access = tokens.sign(tokens.access_claims(user["tid"], user["upn"], aud=res, oid=user["oid"],
                                              appid=client_id, now=now),
                         emu.pki.token_key, tokens.kid_of(emu.pki.token_cert))
    body = {"token_type": "Bearer", "scope": scope or res, "expires_in": 3599,
            "ext_expires_in": 3599, "access_token": access,
            "refresh_token": emu.state.new_refresh_token(dict(user, client_id=client_id,
                                                              scope=scope))}
    if scope and "openid" in scope.split():
        body["id_token"] = tokens.sign({
            "aud": client_id, "iss": tokens.issuer_v2(user["tid"]), "iat": now, "nbf": now,
            "exp": now + 3600, "oid": user["oid"], "tid": user["tid"], "sub": user["oid"],
            "preferred_username": user["upn"], "name": user["upn"].split("@")[0], "ver": "2.0"},
            emu.pki.token_key, tokens.kid_of(emu.pki.token_cert))
    req.log["token_user"] = user["upn"]
    return Response(200, body)


def _device_code_grant(emu, form, client_id, v1=False):
    # v1 clients (AADInternals) send the device code as "code".
    code = form.get("code") if v1 and not form.get("device_code") else None
    code = code or _need(form, "device_code")
    rec = emu.state.device_code(code)
    if rec is None:
        raise LoginError(400, "invalid_grant", 70000, "Provided value for the input parameter "
                         "'device_code' is not valid.")
    if rec["client_id"] != client_id:
        raise LoginError(400, "invalid_grant", 70000, "The device_code was issued to client %s, "
                         "not %s." % (rec["client_id"], client_id))
    if rec["status"] == "redeemed":
        raise LoginError(400, "invalid_grant", 70000, "The device_code was already redeemed.")
    if time.time() >= rec["expires"]:
        raise LoginError(400, "expired_token", 70020, "The provided value for the input "
                         "parameter 'device_code' is not valid. This device code has expired.")
    if rec["status"] == "denied":
        raise LoginError(400, "authorization_declined", 70000, "The user declined the "
                         "authorization request.")
    if rec["status"] != "approved":
        raise LoginError(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. "
                         "Authorization is pending. Continue polling.")
    emu.state.redeem_device_code(code)
    return rec["user"], rec["scope"]


def approve_device_code(emu, user_code=None, upn=None, deny=False):
    """Complete (or deny) a pending device code, as the user would in a browser.

    Without user_code, the newest pending code is taken. Returns the record
    or None when no pending code matches.
    """
    def match(c):
        return c["status"] == "pending" and (user_code is None or c["user_code"] == user_code)

    pending = [c for c in emu.state.device_codes() if match(c)]
    if not pending:
        return None
    newest = max(pending, key=lambda c: c["issued"])
    tenant = emu.tenants.by_id(newest["tenant_id"]) if newest["tenant_id"] else None
    if tenant is None and upn and "@" in upn:
        tenant = emu.tenants.lookup(upn.split("@", 1)[1])
    tenant = tenant or emu.tenants.primary
    upn = upn or "user@" + tenant.domain
    user = {"upn": upn, "oid": tokens.user_oid(tenant.id, upn), "tid": tenant.id}
    return emu.state.update_device_code(
        lambda c: match(c) and c["user_code"] == newest["user_code"],
        status="denied" if deny else "approved", user=user)


def new_refresh_token(emu, upn=None, tid=None, client_id=tokens.BROKER_CLIENT_ID):
    """A refresh token for a user, for tests of the refresh_token grant."""
    tenant = emu.tenants.by_id(tid) if tid else emu.tenants.primary
    if tenant is None:
        raise ValueError("tenant %s is not known to this emulator" % tid)
    upn = upn or "user@" + tenant.domain
    return emu.state.new_refresh_token({"upn": upn, "oid": tokens.user_oid(tenant.id, upn),
                                        "tid": tenant.id, "client_id": client_id})


def new_bprt(emu, upn=None, tid=None, lifetime=180 * 86400):
    """A bulk enrolment token for a package_<guid>@<domain> account."""
    tenant = emu.tenants.by_id(tid) if tid else emu.tenants.primary
    upn = upn or "package_%s@%s" % (uuid.uuid4(), tenant.domain)
    return tokens.mint_bprt(emu.pki.token_key, tokens.kid_of(emu.pki.token_cert), tenant.id,
                            upn, lifetime)


def keys(emu, req, tenant):
    if tenant.lower() not in SPECIAL_TENANTS:
        _tenant(emu, tenant)
    return Response(200, tokens.jwks(emu.pki.token_cert))


def openid_configuration(emu, req, tenant):
    t = _tenant(emu, tenant)
    tid = t.id if t else "{tenantid}"
    base = "%s/%s" % (emu.origin, tenant)
    return Response(200, {
        "issuer": tokens.issuer_v2(tid),
        "token_endpoint": base + "/oauth2/v2.0/token",
        "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
        "authorization_endpoint": base + "/oauth2/v2.0/authorize",
        "jwks_uri": base + "/discovery/v2.0/keys",
        "grant_types_supported": ["refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "NA",
    })
