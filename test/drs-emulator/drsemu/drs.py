"""The Device Registration Service endpoints: discovery, nonce, join, leave."""
import base64
import uuid

from . import pki as pkimod
from . import tokens, validate
from .app import Response, now_iso
from .errors import DrsError, drs_time, new_guid
from .state import NonceProblem


def require_api_version(req, *versions):
    got = req.param("api-version")
    if got is None:
        raise DrsError(400, "InvalidRequest", "query parameter api-version is missing "
                       "(this endpoint serves api-version=%s)" % " or ".join(versions))
    if got not in versions:
        raise DrsError(400, "InvalidRequest", "api-version %r is not supported by this endpoint "
                       "(it serves api-version=%s)" % (got, " or ".join(versions)))


def require_json_content(req):
    ctype = req.header("Content-Type")
    if ctype is None:
        raise DrsError(415, "InvalidRequest", "Content-Type is missing: application/json is required")
    media = ctype.split(";")[0].strip().lower()
    if media != "application/json":
        raise DrsError(415, "InvalidRequest", "Content-Type %r is not supported: application/json "
                       "is required" % ctype)


def _tenant(emu, key):
    t = emu.tenants.lookup(key)
    if t is None:
        raise DrsError(404, "DirectoryError", "tenant %r is not known to this emulator (known: %s)"
                       % (key, ", ".join("%s (%s)" % (t.id, t.domain) for t in emu.tenants)))
    return t


def discovery_document(origin, tenant, resource=tokens.DRS_RESOURCE, login_origin=None,
                       nonce_service=True, auth_service=True):
    """The discovery answer; origin is where the client reached us, so the
    endpoints stay on the host name (and cloud) it used."""
    tid, res = tenant.id, resource
    login_origin = login_origin or origin
    doc = {
        "DeviceRegistrationService": {
            "RegistrationEndpoint": origin + "/EnrollmentServer/DeviceEnrollmentWebService.svc",
            "RegistrationResourceId": res, "ServiceVersion": "1.0"},
        "AuthenticationService": {"OAuth2": {
            "AuthCodeEndpoint": "%s/%s/oauth2/authorize" % (login_origin, tid),
            "TokenEndpoint": "%s/%s/oauth2/token" % (login_origin, tid)}},
        "IdentityProviderService": {
            "Federated": False, "PassiveAuthEndpoint": "%s/%s/wsfed" % (origin, tid)},
        "DeviceJoinService": {
            "JoinEndpoint": origin + "/EnrollmentServer/device/",
            "JoinResourceId": res, "ServiceVersion": "2.0"},
        "KeyProvisioningService": {
            "KeyProvisionEndpoint": origin + "/EnrollmentServer/key/",
            "KeyProvisionResourceId": res, "ServiceVersion": "1.0"},
        "WebAuthNService": {
            "WebAuthNEndpoint": "%s/webauthn/%s/" % (origin, tid),
            "WebAuthNResourceId": res, "ServiceVersion": "1.0"},
        "DeviceManagementService": {
            "DeviceManagementEndpoint": "%s/manage/%s/" % (origin, tid),
            "DeviceManagementResourceId": res, "ServiceVersion": "1.0"},
        "PrecreateService": {
            "PrecreateEndpoint": "%s/EnrollmentServer/device/precreate/%s/" % (origin, tid),
            "PrecreateResourceId": res, "ServiceVersion": "2.0"},
        "TenantInfo": {"DisplayName": tenant.display_name, "TenantId": tid,
                       "TenantName": tenant.domain},
        "NonceService": {
            "Endpoint": "%s/EnrollmentServer/nonce/%s/" % (origin, tid),
            "ResourceId": res, "ServiceVersion": "1.0"},
    }
    if not nonce_service:
        del doc["NonceService"]
    if not auth_service:
        del doc["AuthenticationService"]
    return doc


def login_origin(emu, req):
    """The login host of the cloud the client reached us as (same port)."""
    host = req.host or ""
    if host in tokens.CLOUDS:
        return "https://%s:%s" % (tokens.CLOUDS[host], emu.origin.rsplit(":", 1)[1])
    return req.origin or emu.origin


def discover(emu, req, tenant):
    require_api_version(req, "1.9")
    return Response(200, discovery_document(req.origin or emu.origin, _tenant(emu, tenant),
                                            tokens.resource_of_host(req.host),
                                            login_origin(emu, req), emu.config.nonce_service,
                                            emu.config.auth_service))


def nonce(emu, req, tenant):
    require_api_version(req, "1.0")
    t = _tenant(emu, tenant)
    value = emu.state.new_nonce(t.id, emu.config.nonce_lifetime)
    req.log["nonce_tenant"] = t.id      # never the value: nonces stay out of logs
    # "ReponseStatus" is spelled so in the spec and on the wire.
    return Response(200, {"ReponseStatus": {"message": "Successful", "traceId": new_guid(),
                                            "time": drs_time()},
                          "Value": value})


def _sid(tenant_id, role):
    b = uuid.uuid5(uuid.UUID(tenant_id), role).bytes_le
    return "S-1-12-1-" + "-".join(str(int.from_bytes(b[i:i + 4], "little")) for i in range(0, 16, 4))


def _reused_id(emu, tenant_id, oid, fields):
    """--reuse-device: the newest device of this user, tenant and display name."""
    if not emu.config.reuse_device:
        return None
    if str(fields.get("Attributes", {}).get("ReuseDevice", "")).lower() != "true":
        return None
    same = [d for d in emu.state.devices() if d["tenant_id"] == tenant_id and
            d.get("owner_oid") == oid and d.get("display_name") == fields["DeviceDisplayName"]]
    same.sort(key=lambda d: d["created"])
    return same[-1]["device_id"] if same else None


def join(emu, req):
    require_api_version(req, "2.0")
    claims = tokens.verify_bearer(req.header("Authorization"), emu.pki.token_cert, emu.tenants,
                                  resource=tokens.resource_of_host(req.host))
    require_json_content(req)
    jr = validate.check_join_body(req.body)
    req.warnings.extend(jr.warnings)
    tenant = emu.tenants.by_id(claims["tid"])
    if jr.nonce is not None and emu.config.refuse_nonce:
        raise validate.bad_param("CSR carries the nonce extension (%s), which this emulator "
                                 "refuses (--refuse-nonce)" % validate.OID_NONCE.dotted_string)
    if jr.nonce is None:
        if emu.config.require_nonce:
            raise validate.bad_param("CSR has no nonce extension (%s) and this emulator requires "
                                     "one (--require-nonce)" % validate.OID_NONCE.dotted_string)
        req.log["nonce"] = "absent"
    else:
        try:
            emu.state.check_nonce(jr.nonce, tenant.id)
        except NonceProblem as p:
            raise validate.bad_param(p.message)
        req.log["nonce"] = "valid"
    f = jr.fields
    device_id = _reused_id(emu, tenant.id, claims["oid"], f) or str(uuid.uuid4())
    key = emu.pki.other_public_key() if req.wrong_key_cert else jr.device_key
    cert = emu.pki.issue_device_cert(key, device_id, claims["oid"], tenant.id, f["JoinType"] == 0)
    raw = base64.b64encode(pkimod.cert_der(cert)).decode()
    thumb = pkimod.thumbprint(cert)
    upn = claims.get("upn") or claims.get("unique_name")
    record = {
        "device_id": device_id, "tenant_id": tenant.id, "owner_upn": upn,
        "owner_oid": claims["oid"], "join_type": f["JoinType"], "device_type": f["DeviceType"],
        "os_version": f["OSVersion"], "display_name": f["DeviceDisplayName"],
        "target_domain": f["TargetDomain"], "attributes": f.get("Attributes", {}),
        "thumbprint": thumb, "certificate": raw, "transport_key": f["TransportKey"],
        "created": now_iso(), "warnings": list(req.warnings),
    }
    if req.wrong_key_cert:
        record["wrong_key_cert"] = True
    try:
        emu.state.add_device(record, jr.nonce, tenant.id)
    except NonceProblem as p:          # another join used the nonce meanwhile
        raise validate.bad_param(p.message)
    req.log["device_id"] = device_id
    return Response(200, {
        "Certificate": {"Thumbprint": thumb, "RawBody": raw},
        "User": {"Upn": upn},
        "MembershipChanges": [{"LocalSID": "S-1-5-32-544",
                               "AddSIDs": [_sid(tenant.id, "Global Administrator"),
                                           _sid(tenant.id, "Azure AD Joined Device Local Administrator")]}],
    })


def precreate(emu, req, tenant):
    raise DrsError(400, "InvalidRequest", "the precreate flow (PreAuthorizedJoinChallenge) is "
                   "not supported by this emulator")


def delete(emu, req, device_id):
    got = req.param("api-version")
    if got is not None and got not in ("1.0", "2.0"):
        raise DrsError(400, "InvalidRequest", "api-version %r is not supported for device "
                       "deletion (1.0, or none)" % got)
    if not req.client_cert:
        raise DrsError(401, "AuthenticationError", "no TLS client certificate: deleting a device "
                       "needs that device's certificate and key")
    cert, why = emu.pki.check_device_cert(req.client_cert)
    if why:
        raise DrsError(401, "AuthenticationError", why)
    thumb = pkimod.thumbprint(cert)
    subject = cert.subject.rfc4514_string()
    req.log["client_cert"] = {"subject": subject, "thumbprint": thumb}
    rec = emu.state.device(device_id.lower())
    if rec is None:
        raise DrsError(400, "DirectoryError", "The device object by the given id (%s) is not found."
                       % device_id)
    if rec["thumbprint"] != thumb:
        raise DrsError(403, "AuthorizationError", "the client certificate (%s, thumbprint %s) is "
                       "not the certificate of device %s" % (subject, thumb, rec["device_id"]))
    emu.state.delete_device(rec["device_id"])
    emu.count_delete()
    req.log["device_id"] = rec["device_id"]
    # A JSON body that clients treat as informational (protocol.md).
    return Response(200, {"DeviceId": rec["device_id"], "Deleted": True,
                          "TraceId": new_guid(), "Time": drs_time()})
