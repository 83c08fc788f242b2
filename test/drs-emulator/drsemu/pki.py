"""Keys and certificates: the TLS CA and server certificate, the device CA
that issues join certificates, and the token-signing key.

Everything is made on the first start and cached in the state directory, so
later starts only load PEM files (fast), and a restarted emulator keeps
trusting the certificates and tokens it issued before.
"""
import datetime
import hashlib
import ipaddress
import os
import threading
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from . import der
from .fsutil import write_atomic

OID_DEVICE_ID = ObjectIdentifier("1.2.840.113556.1.5.284.2")
OID_USER_ID = ObjectIdentifier("1.2.840.113556.1.5.284.3")
OID_TENANT_ID = ObjectIdentifier("1.2.840.113556.1.5.284.5")
OID_JOIN_TYPE = ObjectIdentifier("1.2.840.113556.1.5.284.7")
OID_REGION = ObjectIdentifier("1.2.840.113556.1.5.284.8")

# The issuer name of real device certificates; ours is a lookalike made here.
DEVICE_CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "net"),
    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "windows"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "82dbaca4-3e81-46ca-9c73-0950c1eaca97"),
    x509.NameAttribute(NameOID.COMMON_NAME, "MS-Organization-Access"),
])

DEVICE_CERT_DAYS = 3653          # "about 10 years", as on real devices
CA_DAYS = 7305

# name -> file; the groups are (re)made together when any member is missing.
FILES = {
    "tls_ca": "tls-ca.pem", "tls_ca_key": "tls-ca.key",
    "tls_cert": "tls-server.pem", "tls_key": "tls-server.key",
    "device_ca": "device-ca.pem", "device_ca_key": "device-ca.key",
    "token_cert": "token-signing.pem", "token_key": "token-signing.key",
}
# Every cloud's DRS and login host: with a client's --resolve, tests reach the
# emulator under the real names with TLS verification intact.
CLOUD_NAMES = (
    "enterpriseregistration.windows.net", "login.microsoftonline.com",
    "enterpriseregistration.microsoftonline.us", "login.microsoftonline.us",
    "enterpriseregistration.partner.microsoftonline.cn", "login.partner.microsoftonline.cn",
)
GROUPS = {
    "tls": ("tls_ca", "tls_ca_key", "tls_cert", "tls_key"),
    "device": ("device_ca", "device_ca_key"),
    "token": ("token_cert", "token_key"),
}


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def thumbprint(cert):
    """Upper-case hex SHA-1 of the DER, as DRS's Certificate.Thumbprint."""
    return hashlib.sha1(cert_der(cert)).hexdigest().upper()


def same_public_key(a, b):
    return a.public_numbers() == b.public_numbers()


def guid_value(guid):
    """A GUID extension value: DER OCTET STRING of the GUID's .NET bytes."""
    return der.encode_octet_string(uuid.UUID(guid).bytes_le)


def _self_signed_ca(key, name, days, path_length):
    now = now_utc()
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _key_usage(**on):
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _leaf_builder(subject, issuer_cert, issuer_key, public_key, not_before, not_after):
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_cert.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                           critical=False))


class Pki:
    """The emulator's keys and certificates, loaded from (or made in) a directory."""

    def __init__(self, directory):
        self.dir = directory
        self.paths = {k: os.path.join(directory, v) for k, v in FILES.items()}
        self._other_key = None
        self._other_lock = threading.Lock()
        self._keys = {}
        self._keys_lock = threading.Lock()

    @classmethod
    def open(cls, directory, create=True):
        """Load the PKI; with create, make whatever group is missing first."""
        pki = cls(directory)
        missing = [g for g, names in GROUPS.items()
                   if not all(os.path.exists(pki.paths[n]) for n in names)]
        if "tls" not in missing and create and not pki._tls_has_cloud_names():
            missing.append("tls")       # made by an older emulator: make it again
        if missing and not create:
            raise FileNotFoundError("%s holds no emulator keys (%s missing): start drs-emulator "
                                    "with this --state-dir first" % (directory, ", ".join(missing)))
        if missing:
            pki._make(missing)
        pki._load()
        return pki

    def _tls_has_cloud_names(self):
        with open(self.paths["tls_cert"], "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        return set(CLOUD_NAMES) <= set(san.get_values_for_type(x509.DNSName))

    def _make(self, groups):
        # RSA key generation (~0.3 s a key) is all of a cold start's cost;
        # threads do not speed it up (measured), so the keys are made in turn.
        if "tls" in groups:
            self._make_tls(new_rsa_key(), new_rsa_key())
        if "device" in groups:
            key = new_rsa_key()
            cert = _self_signed_ca(key, DEVICE_CA_NAME, CA_DAYS, 0)
            write_atomic(self.paths["device_ca_key"], key_pem(key))
            write_atomic(self.paths["device_ca"], cert_pem(cert), 0o644)
        if "token" in groups:
            key = new_rsa_key()
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net (drs-emulator)")])
            cert = _self_signed_ca(key, name, CA_DAYS, None)
            write_atomic(self.paths["token_key"], key_pem(key))
            write_atomic(self.paths["token_cert"], cert_pem(cert), 0o644)

    def _make_tls(self, ca_key, server_key):
        tag = uuid.uuid4().hex[:8]
        ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "drs-emulator"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "drs-emulator TLS CA " + tag)])
        ca = _self_signed_ca(ca_key, ca_name, CA_DAYS, 0)
        now = now_utc()
        leaf = (_leaf_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
                              ca, ca_key, server_key.public_key(),
                              now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("localhost")] + [x509.DNSName(h) for h in CLOUD_NAMES] +
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                     x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
                .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        write_atomic(self.paths["tls_ca_key"], key_pem(ca_key))
        write_atomic(self.paths["tls_key"], key_pem(server_key))
        write_atomic(self.paths["tls_cert"], cert_pem(leaf), 0o644)
        write_atomic(self.paths["tls_ca"], cert_pem(ca), 0o644)

    def _load(self):
        def cert(name):
            with open(self.paths[name], "rb") as f:
                return x509.load_pem_x509_certificate(f.read())

        self.device_ca = cert("device_ca")
        self.token_cert = cert("token_cert")

    def _key(self, name):
        # Loading an RSA private key checks it (~80 ms here); keys load on
        # first use (or from preload()) so that startup stays fast.
        with self._keys_lock:
            if name not in self._keys:
                with open(self.paths[name], "rb") as f:
                    self._keys[name] = serialization.load_pem_private_key(f.read(), password=None)
            return self._keys[name]

    @property
    def device_ca_key(self):
        return self._key("device_ca_key")

    @property
    def token_key(self):
        return self._key("token_key")

    def preload(self):
        for name in ("device_ca_key", "token_key"):
            self._key(name)

    # -- device certificates -------------------------------------------------

    def issue_device_cert(self, public_key, device_id, user_oid, tenant_id, joined):
        """The certificate a join returns: CN=<device id>, DRS extensions."""
        now = now_utc().replace(microsecond=0)
        not_before = now - datetime.timedelta(minutes=5)
        ca_key = self.device_ca_key
        builder = (_leaf_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]),
                                 self.device_ca, ca_key, public_key,
                                 not_before, not_before + datetime.timedelta(days=DEVICE_CERT_DAYS))
                   .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        for oid, value in ((OID_DEVICE_ID, guid_value(device_id)),
                           (OID_USER_ID, guid_value(user_oid)),
                           (OID_TENANT_ID, guid_value(tenant_id)),
                           (OID_JOIN_TYPE, der.encode_octet_string(b"1" if joined else b"0")),
                           (OID_REGION, der.encode_octet_string(b"NA"))):
            builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    def other_public_key(self):
        """A key no client holds, for the wrong-key-cert fault (made once, lazily)."""
        with self._other_lock:
            if self._other_key is None:
                self._other_key = new_rsa_key()
            return self._other_key.public_key()

    def check_device_cert(self, der_bytes):
        """Parse a client certificate; return (cert, None) when this emulator's
        device CA issued it and it is in its validity period, else (cert or
        None, reason)."""
        try:
            cert = x509.load_der_x509_certificate(der_bytes)
        except ValueError as e:
            return None, "the client certificate does not parse: %s" % e
        if cert.issuer != self.device_ca.subject:
            return cert, "the client certificate's issuer (%s) is not this emulator's device CA" \
                % cert.issuer.rfc4514_string()
        try:
            self.device_ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                               padding.PKCS1v15(), cert.signature_hash_algorithm)
        except (InvalidSignature, TypeError, ValueError):
            return cert, ("the client certificate claims issuer %s but was not signed by this "
                          "emulator's device CA" % cert.issuer.rfc4514_string())
        now = now_utc()
        if not cert.not_valid_before <= now <= cert.not_valid_after:
            return cert, "the client certificate is outside its validity period"
        return cert, None
