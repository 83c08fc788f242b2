"""JWTs: the access tokens DRS accepts, as Entra's login service shapes them.

Minted by mint-token and by the emulator's token endpoints, verified on join.
Only RS256 with the emulator's token-signing key is accepted.
"""
import base64
import binascii
import hashlib
import json
import re
import time
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from . import pki as pkimod
from .errors import DrsError

DRS_RESOURCE = "urn:ms-drs:enterpriseregistration.windows.net"
DRS_APP_ID = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
DRS_AUDIENCES = (DRS_RESOURCE, DRS_APP_ID)
BROKER_CLIENT_ID = "29d9ed98-a469-4536-ade2-f981bc1d605e"
BPRT_CLIENT_ID = "b90d5b8f-5503-4153-b545-b31cecfaece2"
BPRT_PREFIX = "1.AQbprt."

# The clouds: DRS host -> login host (protocol.md, "Sovereign clouds").
CLOUDS = {
    "enterpriseregistration.windows.net": "login.microsoftonline.com",
    "enterpriseregistration.microsoftonline.us": "login.microsoftonline.us",
    "enterpriseregistration.partner.microsoftonline.cn": "login.partner.microsoftonline.cn",
}
CLOUD_HOSTS = tuple(CLOUDS) + tuple(CLOUDS.values())
DRS_RESOURCES = tuple("urn:ms-drs:" + h for h in CLOUDS)


def resource_of_host(host):
    """The DRS resource a request to host is for: its cloud's (public for 127.0.0.1)."""
    host = (host or "").lower()
    if host in CLOUDS:
        return "urn:ms-drs:" + host
    for drs, login in CLOUDS.items():
        if host == login:
            return "urn:ms-drs:" + drs
    return DRS_RESOURCE

# Users get stable object ids: the same tenant and UPN always map to one oid.
USER_NAMESPACE = uuid.UUID("6c1a4c2e-53b1-4d8e-9a57-2f0d6c0f7e11")

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    """Strict: base64url alphabet, no padding (as JWTs are written)."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid_of(cert):
    """Entra's kid/x5t: base64url of the signing certificate's SHA-1."""
    return b64url(hashlib.sha1(pkimod.cert_der(cert)).digest())


def user_oid(tid, upn):
    return str(uuid.uuid5(USER_NAMESPACE, "%s/%s" % (tid.lower(), upn.lower())))


def issuer_v1(tid):
    return "https://sts.windows.net/%s/" % tid


def issuer_v2(tid):
    return "https://login.microsoftonline.com/%s/v2.0" % tid


def access_claims(tid, upn, aud=DRS_RESOURCE, lifetime=3600, not_before=0, oid=None,
                  appid=BROKER_CLIENT_ID, now=None):
    """The claims of a user access token for aud (v2 form for the DRS app id)."""
    now = int(now if now is not None else time.time())
    v2 = aud == DRS_APP_ID
    name = upn.split("@")[0]
    claims = {
        "aud": aud,
        "iss": issuer_v2(tid) if v2 else issuer_v1(tid),
        "iat": now,
        "nbf": now + not_before,
        "exp": now + lifetime,
        "acr": "1",
        "amr": ["pwd"],
        "appid": appid,
        "appidacr": "0",
        "name": name,
        "oid": oid or user_oid(tid, upn),
        "scp": "adrs_access",
        "sub": b64url(hashlib.sha256(("%s/%s/%s" % (tid, upn, aud)).encode()).digest()),
        "tid": tid,
        "unique_name": upn,
        "upn": upn,
        "uti": b64url(uuid.uuid4().bytes),
        "ver": "2.0" if v2 else "1.0",
    }
    if v2:
        claims["azp"] = appid
        claims["preferred_username"] = upn
    return claims


def sign(claims, key, kid, alg="RS256", header_extra=None):
    header = {"typ": "JWT", "alg": alg, "kid": kid}
    if alg == "RS256":
        header["x5t"] = kid
    header.update(header_extra or {})
    signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                               b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


def jwks(cert):
    n = cert.public_key().public_numbers()
    return {"keys": [{
        "kty": "RSA", "use": "sig", "kid": kid_of(cert), "x5t": kid_of(cert),
        "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
        "e": b64url(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big")),
        "x5c": [base64.b64encode(pkimod.cert_der(cert)).decode()],
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
    }]}


def _refuse(message):
    return DrsError(401, "AuthenticationError", message,
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def verify_bearer(authorization, cert, tenants, now=None, resource=DRS_RESOURCE):
    """Check an Authorization header for a DRS join; return the claims.

    Raises DrsError 401 AuthenticationError naming exactly what is wrong.
    tenants: a Tenants (knows which tenant ids exist). resource: the DRS
    resource of the cloud the request came to (its Host).
    """
    now = time.time() if now is None else now
    if authorization is None:
        raise _refuse("no Authorization header: a join needs 'Authorization: Bearer <access token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("Authorization header is not 'Bearer <access token>' (scheme %r)" % scheme)
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise _refuse("bearer token is not a JWT: %d dot-separated parts, expected 3" % len(parts))
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise _refuse("bearer token header is not base64url JSON: %s" % e)
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise _refuse("bearer token payload is not base64url JSON: %s" % e)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _refuse("bearer token header and payload must be JSON objects")
    alg = header.get("alg")
    if alg != "RS256":
        raise _refuse("bearer token alg %r is not accepted: RS256 is required" % (alg,))
    kid = header.get("kid")
    if kid != kid_of(cert):
        raise _refuse("bearer token kid %r is not a signing key of this issuer (keys: %s)"
                      % (kid, kid_of(cert)))
    try:
        sig = b64url_decode(parts[2])
        cert.public_key().verify(sig, ("%s.%s" % (parts[0], parts[1])).encode(),
                                 padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, binascii.Error, InvalidSignature):
        raise _refuse("bearer token signature does not verify with key %s" % kid)
    aud = claims.get("aud")
    if aud not in (resource, DRS_APP_ID):
        raise _refuse("bearer token audience %r is not the Device Registration Service "
                      "(expected %s or %s)" % (aud, resource, DRS_APP_ID))
    tid = claims.get("tid")
    if not isinstance(tid, str):
        raise _refuse("bearer token has no 'tid' (tenant id) claim")
    tenant = tenants.by_id(tid)
    if tenant is None:
        raise _refuse("bearer token tenant %s is not a tenant of this emulator (known: %s)"
                      % (tid, ", ".join(t.id for t in tenants)))
    iss = claims.get("iss")
    if iss not in (issuer_v1(tenant.id), issuer_v2(tenant.id)):
        raise _refuse("bearer token issuer %r does not match its tenant (expected %s or %s)"
                      % (iss, issuer_v1(tenant.id), issuer_v2(tenant.id)))
    for name in ("exp", "nbf"):
        if name in claims and (not isinstance(claims[name], (int, float)) or isinstance(claims[name], bool)):
            raise _refuse("bearer token claim %r is not a number" % name)
    if "exp" not in claims:
        raise _refuse("bearer token has no 'exp' claim")
    if now >= claims["exp"]:
        raise _refuse("bearer token expired at %s (now %s)" % (_iso(claims["exp"]), _iso(now)))
    if "nbf" in claims and now < claims["nbf"]:
        raise _refuse("bearer token is not valid before %s (now %s)" % (_iso(claims["nbf"]), _iso(now)))
    if not isinstance(claims.get("oid"), str):
        raise _refuse("bearer token has no 'oid' claim: a join needs a user")
    try:
        uuid.UUID(claims["oid"])
    except ValueError:
        raise _refuse("bearer token 'oid' claim %r is not a GUID" % claims["oid"])
    if not isinstance(claims.get("upn", claims.get("unique_name")), str):
        raise _refuse("bearer token has neither 'upn' nor 'unique_name': a join needs a user")
    return claims


def mint_bprt(key, kid, tid, upn, lifetime=180 * 86400, now=None):
    """A bulk enrolment token: opaque to clients, signed so the emulator
    needs no state to redeem it (and a restart keeps it valid)."""
    now = int(now if now is not None else time.time())
    payload = {"typ": "bprt", "tid": tid, "upn": upn, "oid": user_oid(tid, upn),
               "client_id": BPRT_CLIENT_ID, "iat": now, "exp": now + lifetime,
               "jti": str(uuid.uuid4()), "kid": kid}
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = key.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())
    return BPRT_PREFIX + body + "." + b64url(sig)


def verify_bprt(token, cert):
    """The payload of a BPRT this emulator minted, or None (not one, or forged)."""
    if not token.startswith(BPRT_PREFIX):
        return None
    body, _, sig = token[len(BPRT_PREFIX):].partition(".")
    try:
        cert.public_key().verify(b64url_decode(sig), body.encode(), padding.PKCS1v15(),
                                 hashes.SHA256())
        payload = json.loads(b64url_decode(body))
    except (ValueError, binascii.Error, InvalidSignature, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) and payload.get("typ") == "bprt" else None
