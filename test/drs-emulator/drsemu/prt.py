"""MS-OAPXBC: the Primary Refresh Token on the login service's v1 token
endpoint, POST /{tenant}/oauth2/token (protocol.md, "After the join: the
Primary Refresh Token"):

- grant_type=srv_challenge: {"Nonce": ...}, at /common/ as at /{tenant}/,
  good for the configured nonce lifetime;
- grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with request=<JWT>:
  RS256, signed by a device key whose certificate (x5c, a string or an
  array of one) this emulator issued: a PRT for the user of the refresh
  token (client 29d9ed98-...) or password (client 38aa3b87-...), with the
  session key wrapped (RSA-OAEP SHA-1) to the transport key registered at
  that device's join; HS256, signed with the key derived from the PRT's
  session key (KDF v1, or v2 over the payload bytes as received): an access
  token (with the device id claim), or with "aza" in the scope a renewed
  PRT (same session key), answered as a JWE in the observed form (dir, ctx,
  16-byte IV, AES-256-CBC) or as AES-GCM (config prt_jwe_gcm).
Every other grant goes to login.token_v1.
"""
import base64
import binascii
import hashlib
import hmac
import http.cookies
import json
import os
import re
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sympadding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from . import login, pki as pkimod, tokens, validate
from .app import Response
from .errors import LoginError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PASSWORD_CLIENT_ID = "38aa3b87-a06d-4817-b275-7a316988d93b"
PRT_LIFETIME = 1209599          # refresh_token_expires_in seen from the service
LABEL = b"AzureAD-SecureConversation"
API_VERSIONS = ("2.0", "2.2")   # libhimmelblau and AADInternals; roadtx
OTHER_TENANT = "00000000-0000-4000-8000-00000000bad1"   # fault wrong_tenant
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _bad_request(text, code=900144):
    return LoginError(400, "invalid_request", code, text)


def _bad_grant(text, code=70000):
    return LoginError(400, "invalid_grant", code, text)


def _device_gone(device_id):
    return LoginError(400, "invalid_grant", 700003, "Device object was not found in the tenant "
                      "directory (device %s)." % device_id)


def _device_disabled(device_id):
    return LoginError(400, "invalid_grant", 135011, "Device used during the authentication is "
                      "disabled (device %s)." % device_id)


# -- the protocol's cryptography -----------------------------------------------

def kdf(session_key, context):
    """SP 800-108 counter mode, HMAC-SHA256, one block of 256 bits."""
    fixed = b"\0\0\0\1" + LABEL + b"\0" + context + b"\0\0\1\0"
    return hmac.new(session_key, fixed, hashlib.sha256).digest()


def b64url_strict(text, what):
    if not isinstance(text, str) or not _B64URL.match(text) or len(text) % 4 == 1:
        raise _bad_request("%s is not base64url without padding." % what)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _bad_request("%s is not base64url." % what)


def b64_strict(text, what):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise _bad_request("%s is not standard base64." % what)


def split_jwt(raw):
    """(header, claims, payload bytes, signing input, signature) of a JWS."""
    parts = raw.split(".")
    if len(parts) != 3:
        raise _bad_request("The request JWT has %d parts, not 3." % len(parts), 50027)
    out = []
    for i, what in ((0, "JWT header"), (1, "JWT payload")):
        data = b64url_strict(parts[i], "The request " + what)
        try:
            obj = json.loads(data, object_pairs_hook=_no_duplicates)
        except ValueError as e:
            raise _bad_request("The request %s is not JSON: %s." % (what, e), 50027)
        if not isinstance(obj, dict):
            raise _bad_request("The request %s is not a JSON object." % what, 50027)
        out.append((obj, data))
    sig = b64url_strict(parts[2], "The request JWT signature")
    return out[0][0], out[1][0], out[1][1], (parts[0] + "." + parts[1]).encode(), sig


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a member appears twice")
    return dict(pairs)


def wrap_session_key(transport_key_b64, session_key):
    """session_key_jwe: RSA-OAEP (SHA-1) of the key, then a 1-byte AES-GCM
    content no client checks."""
    tk = validate.check_transport_key(transport_key_b64)
    header = tokens.b64url(b'{"enc":"A256GCM","alg":"RSA-OAEP"}')
    ek = tk.encrypt(session_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                              algorithm=hashes.SHA1(), label=None))
    iv = os.urandom(12)
    sealed = AESGCM(session_key).encrypt(iv, b"\x00", header.encode())
    return ".".join([header, tokens.b64url(ek), tokens.b64url(iv), tokens.b64url(sealed[:-16]),
                     tokens.b64url(sealed[-16:])])


def encrypt_answer(emu, session_key, plaintext, fault=None):
    """A JWE answer: alg dir, a fresh ctx, the KDF v1 key of it. fault
    (prt_answer): malformed drops the tag part, wrong_ctx derives the key
    from another ctx than the header's, bad_padding ends CBC's padding with
    a byte of 17."""
    ctx = os.urandom(24)
    header = tokens.b64url(json.dumps({"alg": "dir", "enc": "A256GCM",
                                       "ctx": base64.b64encode(ctx).decode()},
                                      separators=(",", ":")).encode())
    key = kdf(session_key, os.urandom(24) if fault == "wrong_ctx" else ctx)
    if emu.config.prt_jwe_gcm:
        iv = os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, plaintext, header.encode())
        ct, tag = sealed[:-16], sealed[-16:]
    else:
        iv = os.urandom(16)
        padder = sympadding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        if fault == "bad_padding":
            padded = padded[:-1] + b"\x11"
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        ct = enc.update(padded) + enc.finalize()
        tag = b""
    parts = [header, "", tokens.b64url(iv), tokens.b64url(ct), tokens.b64url(tag)]
    return ".".join(parts[:4] if fault == "malformed" else parts)


def unsigned_jwt(claims):
    return "%s.%s." % (tokens.b64url(b'{"typ":"JWT","alg":"none"}'),
                       tokens.b64url(json.dumps(claims, separators=(",", ":")).encode()))


# -- the routes -----------------------------------------------------------------

def take_fault(emu, req):
    """A fault armed for route prt: raised (status, aadsts), slept (delay), or
    the prt_answer that makes the answer lie, for the handler to apply."""
    f = emu.faults.take_own("prt")
    if f is None:
        return None
    req.log["prt_fault"] = f
    if "delay" in f:
        time.sleep(f["delay"])
    if "aadsts" in f:
        raise login.fault_error(f["aadsts"])
    if "status" in f:
        headers = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else None
        raise LoginError(f["status"], "temporarily_unavailable",
                         90033 if f["status"] >= 500 else 50196,
                         "drs-emulator fault: HTTP %d." % f["status"], headers)
    return f.get("prt_answer")


def token_v1(emu, req, tenant):
    form = login.parse_form(req)
    grant = form.get("grant_type")
    if grant in ("srv_challenge", "authorization_code", JWT_BEARER):
        req.prt_fault = take_fault(emu, req)
    if grant == "srv_challenge":
        login._tenant(emu, tenant)
        return Response(200, {"Nonce": emu.state.new_prt_nonce(emu.config.nonce_lifetime)})
    if grant == "authorization_code":
        return code_grant(emu, req, tenant, form)
    if grant != JWT_BEARER:
        return login.token_v1(emu, req, tenant)
    t = login._tenant(emu, tenant)
    version = form.get("windows_api_version")
    if version not in API_VERSIONS:
        raise _bad_request("windows_api_version %r: %s expected." % (version,
                                                                     " or ".join(API_VERSIONS)))
    if form.get("tgt") not in (None, "true", "True", "false", "False"):
        raise _bad_request("tgt %r is not a boolean." % form["tgt"])
    header, claims, payload, signing_input, sig = split_jwt(login._need(form, "request"))
    if header.get("alg") == "RS256":
        return prt_request(emu, req, t, header, claims, signing_input, sig)
    if header.get("alg") == "HS256":
        return prt_use(emu, req, t, header, claims, payload, signing_input, sig)
    raise _bad_request("The request JWT's alg %r is neither RS256 (a PRT request) nor HS256 "
                       "(signed with a PRT's session key)." % header.get("alg"), 50027)


def _nonce_ok(emu, claims):
    why = emu.state.prt_nonce_problem(claims.get("request_nonce"))
    if why:
        raise _bad_grant("Invalid request_nonce: %s." % why, 50138)


def _device_of_cert(emu, header, signing_input, sig):
    """The device record of the x5c certificate that signed the request."""
    x5c = header.get("x5c")
    if isinstance(x5c, list) and len(x5c) == 1:
        x5c = x5c[0]
    if not isinstance(x5c, str):
        raise _bad_request("x5c must be the device certificate, a string or an array of one.")
    cert, why = emu.pki.check_device_cert(b64_strict(x5c, "x5c"))
    if why:
        raise _bad_grant("Device authentication failed: %s." % why, 50155)
    try:
        cert.public_key().verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        raise _bad_grant("Device authentication failed: the request is not signed by the "
                         "key of its x5c certificate.", 50155)
    device_id = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.lower()
    rec = emu.state.device(device_id)
    if rec is None or rec["thumbprint"] != pkimod.thumbprint(cert):
        raise _device_gone(device_id)
    if rec.get("disabled"):
        raise _device_disabled(device_id)
    return rec


def _user_of(emu, claims):
    grant = claims.get("grant_type")
    client_id = claims.get("client_id")
    if grant == "refresh_token":
        if client_id != tokens.BROKER_CLIENT_ID:
            raise _bad_grant("A PRT with a refresh token is requested by client %s, not %r."
                             % (tokens.BROKER_CLIENT_ID, client_id), 700016)
        rt = emu.state.refresh_token(claims.get("refresh_token"))
        if rt is None:
            raise _bad_grant("The refresh token is malformed or unknown to this emulator.",
                             9002313)
        if rt.get("client_id") != client_id:
            raise _bad_grant("The refresh token was issued to client %s, not %s."
                             % (rt.get("client_id"), client_id))
        return {k: rt[k] for k in ("upn", "oid", "tid")}
    if grant == "password":
        if client_id != PASSWORD_CLIENT_ID:
            raise _bad_grant("A PRT with a password is requested by client %s, not %r."
                             % (PASSWORD_CLIENT_ID, client_id), 700016)
        u = emu.state.user(claims.get("username"))
        given = hashlib.sha256(str(claims.get("password", "")).encode()).hexdigest()
        if u is None or not hmac.compare_digest(u["password_sha256"], given):
            raise login.fault_error(50126)
        return {k: u[k] for k in ("upn", "oid", "tid")}
    raise LoginError(400, "unsupported_grant_type", 70003, "The PRT request's grant_type %r is "
                     "neither refresh_token nor password." % grant)


def device_token(emu, req, tenant, device, claims):
    """grant_type device_token (roadlib's get_token_for_device): a token for
    the device alone; whether it is answered is what says the device still
    authenticates (deleted: AADSTS700003, disabled: AADSTS135011)."""
    if tenant is not None and tenant.id != device["tenant_id"]:
        raise _bad_grant("The device %s is of tenant %s, not %s." % (
            device["device_id"], device["tenant_id"], tenant.id), 50020)
    res = claims.get("resource")
    if not res:
        raise login._missing("resource")
    login._check_resource(res)
    now = int(time.time())
    c = {"aud": res, "iss": tokens.issuer_v1(device["tenant_id"]), "iat": now, "nbf": now,
         "exp": now + 3600, "tid": device["tenant_id"], "deviceid": device["device_id"],
         "appid": claims.get("client_id"), "oid": device["device_id"], "sub": device["device_id"],
         "idtyp": "device", "ver": "1.0"}
    req.log["device_token"] = device["device_id"]
    return Response(200, {"token_type": "Bearer", "resource": res, "expires_in": "3599",
                          "expires_on": str(now + 3599), "access_token": tokens.sign(
                              c, emu.pki.token_key, tokens.kid_of(emu.pki.token_cert))})


def prt_request(emu, req, tenant, header, claims, signing_input, sig):
    device = _device_of_cert(emu, header, signing_input, sig)
    _nonce_ok(emu, claims)
    if claims.get("grant_type") == "device_token":
        return device_token(emu, req, tenant, device, claims)
    scope = str(claims.get("scope") or "").split()
    if "openid" not in scope or "aza" not in scope:
        raise LoginError(400, "invalid_scope", 70011, "The scope of a PRT request must hold "
                         "openid and aza, not %r." % claims.get("scope"))
    user = _user_of(emu, claims)
    if user["tid"] != device["tenant_id"] or (tenant is not None and tenant.id != user["tid"]):
        raise _bad_grant("The user %s is from tenant %s; the device %s is of tenant %s."
                         % (user["upn"], user["tid"], device["device_id"],
                            device["tenant_id"]), 50020)
    session_key = os.urandom(32)
    now = int(time.time())
    token = emu.state.new_prt(dict(user, device_id=device["device_id"], session_key=session_key.hex(),
                                   issued=now, renewed=now, expires=now + PRT_LIFETIME,
                                   revoked=False))
    req.log.update(prt_user=user["upn"], device_id=device["device_id"])
    shown = dict(user, tid=OTHER_TENANT) if req.prt_fault == "wrong_tenant" else user
    skj = wrap_session_key(device["transport_key"], session_key)
    if req.prt_fault == "malformed":
        skj = skj.rsplit(".", 1)[0]
    return Response(200, dict(_prt_fields(shown, token, now), session_key_jwe=skj))


def _prt_fields(user, token, now):
    return {
        "token_type": "pop", "refresh_token": token, "refresh_token_expires_in": PRT_LIFETIME,
        "expires_in": str(PRT_LIFETIME), "ext_expires_in": "0",
        "expires_on": str(now + PRT_LIFETIME),
        "id_token": unsigned_jwt({
            "aud": PASSWORD_CLIENT_ID, "iss": tokens.issuer_v1(user["tid"]), "iat": now,
            "nbf": now, "exp": now + 3600, "oid": user["oid"], "tid": user["tid"],
            "upn": user["upn"], "unique_name": user["upn"], "name": user["upn"].split("@")[0],
            "ver": "1.0"}),
        "client_info": tokens.b64url(json.dumps({"uid": user["oid"],
                                                 "utid": user["tid"]}).encode()),
    }


def _prt_record(emu, token):
    rec = emu.state.prt(token)
    if rec is None:
        raise _bad_grant("The refresh_token is not a PRT this emulator issued.", 9002313)
    if rec.get("revoked"):
        raise _bad_grant("The PRT was revoked: sign in again.")
    if time.time() >= rec["expires"]:
        raise _bad_grant("The PRT expired at %s: sign in again." % time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec["expires"])))
    device = emu.state.device(rec["device_id"])
    if device is None:
        raise _device_gone(rec["device_id"])
    if device.get("disabled"):
        raise _device_disabled(rec["device_id"])
    return rec


def _check_hs256(rec, header, payload, signing_input, sig):
    ctx = b64_strict(header.get("ctx"), "The JWT header's ctx")
    if not 16 <= len(ctx) <= 64:
        raise _bad_request("The JWT header's ctx is %d bytes (16 to 64)." % len(ctx))
    version = header.get("kdf_ver", 1)
    if version not in (1, 2) or isinstance(version, bool):
        raise _bad_request("kdf_ver %r: 1 or 2." % (version,))
    context = hashlib.sha256(ctx + payload).digest() if version == 2 else ctx
    key = kdf(bytes.fromhex(rec["session_key"]), context)
    if not hmac.compare_digest(hmac.new(key, signing_input, hashlib.sha256).digest(), sig):
        raise _bad_grant("The request's signature does not verify with the PRT's session key "
                         "(KDF v%d)." % version, 50013)


def prt_use(emu, req, tenant, header, claims, payload, signing_input, sig):
    rec = _prt_record(emu, claims.get("refresh_token"))
    _check_hs256(rec, header, payload, signing_input, sig)
    _nonce_ok(emu, claims)
    if claims.get("grant_type") != "refresh_token":
        raise LoginError(400, "unsupported_grant_type", 70003, "grant_type %r with a PRT: "
                         "refresh_token expected." % claims.get("grant_type"))
    client_id = claims.get("client_id")
    if not client_id:
        raise login._missing("client_id")
    if tenant is not None and tenant.id != rec["tid"]:
        raise _bad_grant("The PRT is of tenant %s, not %s." % (rec["tid"], tenant.id), 50020)
    user = {k: rec[k] for k in ("upn", "oid", "tid")}
    scope = str(claims.get("scope") or "")
    now = int(time.time())
    # fault wrong_tenant: the answer names another tenant than the PRT's.
    shown = dict(user, tid=OTHER_TENANT) if req.prt_fault == "wrong_tenant" else user
    if "aza" in scope.split():
        token = emu.state.new_prt(dict(rec, issued=now, renewed=now, expires=now + PRT_LIFETIME))
        req.log.update(prt_renewed=user["upn"])
        body = _prt_fields(shown, token, now)
    else:
        body = _access_answer(emu, rec, shown, client_id, claims, scope, now)
    plain = json.dumps(body, separators=(",", ":")).encode()
    return Response(200, encrypt_answer(emu, bytes.fromhex(rec["session_key"]), plain,
                                        req.prt_fault).encode(), content_type="application/jwt")


def _access_answer(emu, rec, user, client_id, claims, scope, now):
    res = claims.get("resource") or (login._resource_of(scope) if scope else None)
    body = {"token_type": "Bearer", "scope": scope or "openid",
            "refresh_token": emu.state.new_refresh_token(dict(user, client_id=client_id)),
            "id_token": unsigned_jwt({"oid": user["oid"], "tid": user["tid"],
                                      "upn": user["upn"], "aud": client_id, "iat": now,
                                      "exp": now + 3600})}
    if not res:
        return body         # roadlib: an id token and refresh token, no access token
    login._check_resource(res)
    c = tokens.access_claims(user["tid"], user["upn"], aud=res, oid=user["oid"],
                             appid=client_id, now=now)
    c["deviceid"] = rec["device_id"]
    c["amr"] = ["pwd", "rsa"]
    body.update(resource=res, expires_in="3599", ext_expires_in="3599",
                expires_on=str(now + 3599),
                access_token=tokens.sign(c, emu.pki.token_key, tokens.kid_of(emu.pki.token_cert)))
    return body


# -- the browser SSO cookie: /authorize, then the authorization_code grant ---------------

COOKIE = "x-ms-RefreshTokenCredential"
COOKIE_LIFETIME = 300           # a cookie without request_nonce: its iat this recent


def _cookie_of(req):
    """The cookie's JWT: from the Cookie header, else a header of its name."""
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(req.header("Cookie") or "")
    except http.cookies.CookieError:
        raise _bad_request("The Cookie header does not parse.")
    if COOKIE in jar:
        return jar[COOKIE].value
    if req.header(COOKIE):
        return req.header(COOKIE)
    raise LoginError(400, "interaction_required", 50058, "A silent sign-in request was sent "
                     "but no user is signed in: no %s cookie." % COOKIE)


def authorize(emu, req, tenant):
    take_fault(emu, req)
    t = login._tenant(emu, tenant)
    client_id, redirect = req.param("client_id"), req.param("redirect_uri")
    if not client_id or not redirect:
        raise login._missing("client_id" if not client_id else "redirect_uri")
    if req.param("response_type") != "code":
        raise _bad_request("response_type %r: code expected." % req.param("response_type"))
    header, claims, payload, signing_input, sig = split_jwt(_cookie_of(req))
    if header.get("alg") != "HS256":
        raise _bad_request("The %s cookie's alg %r is not HS256." % (COOKIE, header.get("alg")))
    rec = _prt_record(emu, claims.get("refresh_token"))
    _check_hs256(rec, header, payload, signing_input, sig)
    if "request_nonce" in claims:
        _nonce_ok(emu, claims)
    elif not abs(time.time() - float(claims.get("iat") or 0)) <= COOKIE_LIFETIME:
        raise _bad_grant("The cookie has neither a request_nonce nor a recent iat.", 50138)
    if t is not None and t.id != rec["tid"]:
        raise _bad_grant("The PRT is of tenant %s, not %s." % (rec["tid"], t.id), 50020)
    code = emu.state.new_auth_code({
        "upn": rec["upn"], "oid": rec["oid"], "tid": rec["tid"], "device_id": rec["device_id"],
        "client_id": client_id, "redirect_uri": redirect,
        "resource": req.param("resource") or login._resource_of(req.param("scope") or "")})
    query = {"code": code}
    if req.param("state"):
        query["state"] = req.param("state")
    sep = "&" if "?" in redirect else "?"
    req.log["prt_cookie_user"] = rec["upn"]
    return Response(302, b"", headers={"Location": redirect + sep +
                                       urllib.parse.urlencode(query)}, content_type="text/html")


def code_grant(emu, req, tenant, form):
    """authorization_code: the code of /authorize, once, for its client and redirect."""
    t = login._tenant(emu, tenant)
    rec = emu.state.take_auth_code(login._need(form, "code"))
    if rec is None:
        raise _bad_grant("The authorization code is unknown to this emulator.", 9002313)
    if rec["used"]:
        raise _bad_grant("The authorization code was already redeemed.", 54005)
    if time.time() >= rec["expires"]:
        raise _bad_grant("The authorization code has expired.", 70008)
    if form.get("client_id") != rec["client_id"] or form.get("redirect_uri") != rec["redirect_uri"]:
        raise _bad_grant("The code was issued to client %s for %s." % (rec["client_id"],
                                                                       rec["redirect_uri"]))
    if t is not None and t.id != rec["tid"]:
        raise _bad_grant("The code is of tenant %s, not %s." % (rec["tid"], t.id), 50020)
    if emu.state.device(rec["device_id"]) is None:
        raise _device_gone(rec["device_id"])
    user = {k: rec[k] for k in ("upn", "oid", "tid")}
    claims = {"resource": form.get("resource") or rec["resource"], "scope": form.get("scope")}
    return Response(200, _access_answer(emu, rec, user, rec["client_id"], claims,
                                        form.get("scope") or "", int(time.time())))


# -- control (emuctl) -----------------------------------------------------------------

def add_user(emu, body):
    """An emulator user with a password, for the password grant."""
    upn, password = body.get("upn"), body.get("password")
    if not isinstance(upn, str) or "@" not in upn or not isinstance(password, str):
        raise ValueError("user needs upn (user@domain) and password")
    tenant = emu.tenants.lookup(upn.split("@", 1)[1]) or emu.tenants.primary
    rec = {"upn": upn, "oid": tokens.user_oid(tenant.id, upn), "tid": tenant.id,
           "password_sha256": hashlib.sha256(password.encode()).hexdigest()}
    emu.state.set_user(rec)
    return {k: rec[k] for k in ("upn", "oid", "tid")}


def revoke(emu, body):
    upn = body.get("upn")
    return emu.state.update_prts(lambda r: upn is None or r["upn"].lower() == upn.lower(),
                                 revoked=True)


def age(emu, body):
    """Move a user's PRTs back in time by seconds (past 4 hours, or past expiry)."""
    upn, secs = body.get("upn"), body.get("seconds")
    if not isinstance(secs, (int, float)) or isinstance(secs, bool):
        raise ValueError("age needs seconds")
    return emu.state.age_prts(lambda r: upn is None or r["upn"].lower() == upn.lower(), secs)


def set_device(emu, body):
    """Disable or enable a device ({"device_id": ID, "disabled": true|false}),
    or delete it as an administrator would ({"device_id": ID, "delete": true})."""
    device_id = str(body.get("device_id", "")).lower()
    if body.get("delete") is True:
        rec = emu.state.delete_device(device_id)
        if rec is None:
            raise LookupError("no device %s" % body.get("device_id"))
        return dict(rec, deleted=True)
    if not isinstance(body.get("disabled"), bool):
        raise ValueError("device needs device_id and disabled (true or false), or delete: true")
    rec = emu.state.update_device(device_id, disabled=body["disabled"])
    if rec is None:
        raise LookupError("no device %s" % body.get("device_id"))
    return rec
