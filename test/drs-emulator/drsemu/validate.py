"""The rules a join request must follow, each with its own refusal message.

Strict where protocol.md is definite, lenient where public clients are known
to succeed against the real service (field letter case, Attributes as strings
or booleans, free-text TargetDomain, the device key reused as transport key).
"""
import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier, SignatureAlgorithmOID

from . import der
from .errors import DrsError

CSR_SUBJECT_CN = "7E980AD9-B86D-4306-9425-9AC066FB014A"
OID_NONCE = ObjectIdentifier("1.2.840.113556.1.5.284.2.1")
BLOB_MAGIC = b"RSA1"
BLOB_LEN = 24 + 3 + 256
KNOWN_DEVICE_TYPES = ("windows", "macos", "android", "linux", "ios")

_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def bad_request(message, error_type="InvalidRequest"):
    return DrsError(400, error_type, message)


def bad_param(message):
    return DrsError(400, "InvalidParameter", message)


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


# -- JSON -------------------------------------------------------------------

def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("key %r appears twice in one object" % k)
        obj[k] = v
    return obj


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse_json_object(body, what="request body"):
    """body (bytes) as a JSON object; duplicate keys, NaN and non-UTF-8 refused."""
    if not body:
        raise bad_request("%s is empty: a JSON object is required" % what)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad_request("%s is not UTF-8: %s" % (what, e))
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as e:
        raise bad_request("%s is not valid JSON: %s" % (what, e))
    if not isinstance(obj, dict):
        raise bad_request("%s must be a JSON object, got %s" % (what, json_type(obj)))
    return obj


def fold_fields(obj, schema, where):
    """Map obj's keys onto schema's canonical names, letter case ignored.

    schema: canonical name -> (required, checker, type description).
    Returns {canonical: value}; unknown keys are ignored, as the service does.
    """
    out, seen = {}, {}
    lower = {name.lower(): name for name in schema}
    for key, value in obj.items():
        canon = lower.get(key.lower())
        if canon is None:
            continue
        if canon in seen:
            raise bad_request("field %s%s is given twice, as %r and %r"
                              % (where, canon, seen[canon], key))
        seen[canon] = key
        out[canon] = value
    for name, (required, check, desc) in schema.items():
        if name not in out:
            if required:
                raise bad_request("missing required field %s%s" % (where, name))
            continue
        if not check(out[name]):
            raise bad_request("field %s%s must be %s, got %s"
                              % (where, name, desc, json_type(out[name])))
    return out


def _is_str(v):
    return isinstance(v, str)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_obj(v):
    return isinstance(v, dict)


JOIN_SCHEMA = {
    "CertificateRequest": (True, _is_obj, "an object"),
    "TransportKey": (True, _is_str, "a string"),
    "TargetDomain": (True, _is_str, "a string"),
    "DeviceType": (True, _is_str, "a string"),
    "OSVersion": (True, _is_str, "a string"),
    "DeviceDisplayName": (True, _is_str, "a string"),
    "JoinType": (True, _is_int, "an integer"),
    "Attributes": (False, _is_obj, "an object"),
    "AikCertificate": (False, _is_str, "a string"),
    "AttestationData": (False, _is_str, "a string"),
    "PreAuthorizedJoinChallenge": (False, _is_str, "a string"),
}
CERT_REQUEST_SCHEMA = {
    "Type": (True, _is_str, "a string"),
    "Data": (True, _is_str, "a string"),
}


@dataclass
class JoinRequest:
    fields: dict
    csr: object = None
    device_key: object = None          # RSAPublicKey from the CSR
    nonce: str = None                  # nonce Value from the CSR, if any
    transport_key: object = None       # RSAPublicKey from the blob
    warnings: list = field(default_factory=list)


def check_join_body(body):
    """Everything about a join body that needs no state: returns a JoinRequest."""
    obj = parse_json_object(body)
    f = fold_fields(obj, JOIN_SCHEMA, "")
    f["CertificateRequest"] = fold_fields(f["CertificateRequest"], CERT_REQUEST_SCHEMA,
                                          "CertificateRequest.")
    jr = JoinRequest(fields=f)
    if "PreAuthorizedJoinChallenge" in f:
        raise bad_request("PreAuthorizedJoinChallenge belongs to the PrecreateService endpoint, "
                          "not the JoinEndpoint (and precreate is not supported by this emulator)")
    jt = f["JoinType"]
    if jt == 6:
        raise bad_param("JoinType 6 (hybrid join) is not supported by this emulator")
    if jt not in (0, 4):
        raise bad_param("JoinType %d is not supported: 0 (join) or 4 (register)" % jt)
    for name, value in f.get("Attributes", {}).items():
        if not isinstance(value, (str, bool)):
            raise bad_request("Attributes.%s must be a string or a boolean, got %s"
                              % (name, json_type(value)))
    if f["DeviceType"].lower() not in KNOWN_DEVICE_TYPES:
        jr.warnings.append("DeviceType %r is not one the real service is known to see" % f["DeviceType"])
    for name in ("TargetDomain", "OSVersion", "DeviceDisplayName", "DeviceType"):
        if not f[name].strip():
            jr.warnings.append("%s is empty" % name)
    ctype = f["CertificateRequest"]["Type"]
    if ctype != "pkcs10":
        raise bad_param("CertificateRequest.Type must be \"pkcs10\", got %r" % ctype)
    jr.csr, jr.device_key, jr.nonce = check_csr(f["CertificateRequest"]["Data"])
    jr.transport_key = check_transport_key(f["TransportKey"])
    if jr.transport_key.public_numbers() == jr.device_key.public_numbers():
        jr.warnings.append("TransportKey is the device key")
    return jr


def decode_base64(text, what):
    """Standard base64 with padding, no whitespace, no PEM armour."""
    if "-----BEGIN" in text:
        raise bad_param("%s is PEM; send the standard base64 of the DER bytes, without armour" % what)
    if not _B64.match(text) or len(text) % 4:
        bad = next((c for c in text if not (c.isalnum() or c in "+/=")), None)
        why = ("character %r is not in the standard base64 alphabet" % bad if bad is not None
               else "length %d is not a multiple of 4 (padding missing?)" % len(text))
        raise bad_param("%s is not standard base64: %s" % (what, why))
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise bad_param("%s is not standard base64: %s" % (what, e))


# -- the CSR ----------------------------------------------------------------

def check_csr(data_b64):
    """Returns (csr, device public key, nonce Value or None)."""
    raw = decode_base64(data_b64, "CertificateRequest.Data")
    if not raw:
        raise bad_param("CertificateRequest.Data is empty")
    try:
        _, _, end = der.read_tlv(raw)
    except der.DerError as e:
        raise bad_param("CertificateRequest.Data is not a DER PKCS#10 CSR: %s" % e)
    if end != len(raw):
        raise bad_param("CertificateRequest.Data has %d bytes after the CSR" % (len(raw) - end))
    try:
        csr = x509.load_der_x509_csr(raw)
    except ValueError as e:
        raise bad_param("CertificateRequest.Data does not parse as a PKCS#10 CSR: %s" % e)
    alg = csr.signature_algorithm_oid
    if alg != SignatureAlgorithmOID.RSA_WITH_SHA256:
        raise bad_param("CSR signature algorithm is %s (%s); sha256WithRSAEncryption "
                        "(1.2.840.113549.1.1.11) is required" % (alg._name, alg.dotted_string))
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise bad_param("CSR public key must be RSA-2048, got %s" % type(key).__name__.replace("PublicKey", ""))
    if key.key_size != 2048:
        raise bad_param("CSR public key must be RSA-2048, got RSA-%d" % key.key_size)
    if key.public_numbers().e != 65537:
        raise bad_param("CSR public key exponent must be 65537, got %d" % key.public_numbers().e)
    if not csr.is_signature_valid:
        raise bad_param("CSR signature does not verify with the CSR's own public key")
    rdns = csr.subject.rdns
    attrs = [a for rdn in rdns for a in rdn]
    if not (len(rdns) == 1 and len(attrs) == 1 and attrs[0].oid == NameOID.COMMON_NAME
            and attrs[0].value == CSR_SUBJECT_CN):
        raise bad_param("CSR subject must be exactly CN=%s, got %s"
                        % (CSR_SUBJECT_CN, csr.subject.rfc4514_string() or "an empty subject"))
    return csr, key, find_nonce(csr)


def find_nonce(csr):
    """The nonce Value from the CSR's extensionRequest, or None when absent."""
    try:
        exts = csr.extensions
    except x509.DuplicateExtension as e:
        raise bad_param("CSR extensionRequest holds extension %s twice" % e.oid.dotted_string)
    except ValueError as e:
        raise bad_param("CSR extensionRequest does not parse: %s" % e)
    try:
        ext = exts.get_extension_for_oid(OID_NONCE)
    except x509.ExtensionNotFound:
        return None
    if ext.critical:
        raise bad_param("CSR nonce extension (%s) must be non-critical" % OID_NONCE.dotted_string)
    try:
        value = der.read_octet_string(ext.value.value)
    except der.DerError as e:
        raise bad_param("CSR nonce extension (%s) must hold a DER OCTET STRING with the nonce: %s"
                        % (OID_NONCE.dotted_string, e))
    if not value:
        raise bad_param("CSR nonce extension (%s) holds an empty nonce" % OID_NONCE.dotted_string)
    bad = next((b for b in value if not 0x20 < b < 0x7F), None)
    if bad is not None:
        raise bad_param("CSR nonce extension (%s) must hold the nonce's ASCII text exactly as "
                        "received; it holds byte 0x%02x" % (OID_NONCE.dotted_string, bad))
    return value.decode("ascii")


# -- the transport key: a public BCRYPT_RSAKEY_BLOB ----------------------------

def _u32(blob, off):
    return int.from_bytes(blob[off:off + 4], "little")


def check_transport_key(text):
    blob = decode_base64(text, "TransportKey")
    if len(blob) < 24:
        raise bad_param("TransportKey is %d bytes, shorter than the 24-byte BCRYPT_RSAKEY_BLOB "
                        "header" % len(blob))
    magic = blob[:4]
    if magic != BLOB_MAGIC:
        if magic in (b"RSA2", b"RSA3"):
            raise bad_param("TransportKey has magic %s, a private key blob; send the public blob "
                            "(magic RSA1) without primes" % magic.decode())
        if magic == BLOB_MAGIC[::-1]:
            raise bad_param("TransportKey magic is 31 41 53 52 ('1ASR'): the magic is the bytes "
                            "52 53 41 31 ('RSA1', 0x31415352 as a little-endian u32)")
        hint = " (that looks like DER, not a BCRYPT blob)" if blob[0] == 0x30 else ""
        raise bad_param("TransportKey does not start with the magic RSA1 (52 53 41 31): got %s%s"
                        % (blob[:4].hex(" "), hint))
    fields = [("BitLength", 4, 2048), ("cbPublicExp", 8, 3), ("cbModulus", 12, 256),
              ("cbPrime1", 16, 0), ("cbPrime2", 20, 0)]
    for name, off, want in fields:
        got = _u32(blob, off)
        if got != want:
            swapped = int.from_bytes(blob[off:off + 4], "big")
            hint = (" (the header must be little-endian: this is %d read big-endian)" % swapped
                    if swapped == want else "")
            why = {"BitLength": "the transport key must be RSA-2048",
                   "cbPublicExp": "the exponent 65537 takes 3 bytes, minimal big-endian",
                   "cbModulus": "an RSA-2048 modulus takes 256 bytes",
                   "cbPrime1": "a public blob carries no primes",
                   "cbPrime2": "a public blob carries no primes"}[name]
            raise bad_param("TransportKey %s is %d, must be %d: %s%s" % (name, got, want, why, hint))
    if len(blob) < BLOB_LEN:
        raise bad_param("TransportKey is truncated: %d bytes, a public RSA-2048 blob is %d"
                        % (len(blob), BLOB_LEN))
    if len(blob) > BLOB_LEN:
        raise bad_param("TransportKey has %d bytes after the modulus; nothing may follow it"
                        % (len(blob) - BLOB_LEN))
    exp = blob[24:27]
    if exp != b"\x01\x00\x01":
        raise bad_param("TransportKey public exponent is %s, must be 01 00 01 (65537)" % exp.hex(" "))
    modulus = blob[27:]
    if modulus[0] & 0x80 == 0:
        raise bad_param("TransportKey modulus is not 2048 bits (first byte 0x%02x): is it "
                        "big-endian and complete?" % modulus[0])
    n = int.from_bytes(modulus, "big")
    if n % 2 == 0:
        raise bad_param("TransportKey modulus is even: not an RSA modulus (byte order?)")
    try:
        return rsa.RSAPublicNumbers(65537, n).public_key()
    except ValueError as e:
        raise bad_param("TransportKey is not a usable RSA public key: %s" % e)
