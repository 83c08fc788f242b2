#!/usr/bin/python3
"""Tests of the DRS emulator, independent of drsjoin and of the emulator's
own modules: every request, CSR, BCRYPT blob and token is built here by hand
with python3-cryptography, and sent over HTTPS to real emulator processes.

Output: one line per case, "ok - NAME", "not ok - NAME: REASON" or
"skip - NAME: REASON"; exit status 1 when any case failed.
Run: /usr/bin/python3 test/drs-emulator/test_emulator.py [NAME-SUBSTRING...]
"""
import base64
from html import escape as html_escape
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sympadding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID, ObjectIdentifier

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

HERE = os.path.dirname(os.path.realpath(__file__))
EMULATOR = os.path.join(HERE, "drs-emulator")
MINT = os.path.join(HERE, "mint-token")
EMUCTL = os.path.join(HERE, "emuctl")
LIB_SH = os.path.join(os.path.dirname(HERE), "lib-emulator.sh")

CSR_CN = "7E980AD9-B86D-4306-9425-9AC066FB014A"
OID_NONCE = ObjectIdentifier("1.2.840.113556.1.5.284.2.1")
OID_DEVICE_ID = ObjectIdentifier("1.2.840.113556.1.5.284.2")
OID_USER_ID = ObjectIdentifier("1.2.840.113556.1.5.284.3")
OID_TENANT_ID = ObjectIdentifier("1.2.840.113556.1.5.284.5")
OID_JOIN_TYPE = ObjectIdentifier("1.2.840.113556.1.5.284.7")
DRS_RESOURCE = "urn:ms-drs:enterpriseregistration.windows.net"
DRS_APP_ID = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
BROKER = "29d9ed98-a469-4536-ade2-f981bc1d605e"
JOIN = "/EnrollmentServer/device/?api-version=2.0"
DISCOVER = "/%s/Discover?api-version=1.9"
EXTRA_TID = "0b6e3a52-1d1f-4c3e-8f8a-5a4b3c2d1e0f"
EXTRA_DOMAIN = "fabrikam.example"
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- a small runner ------------------------------------------------------------

class Failure(Exception):
    pass


class Skip(Exception):
    pass


CASES = []


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn
    return register


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


# -- emulator processes -----------------------------------------------------------

def read_line(fd, timeout):
    buf, end = b"", time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Failure("no JSON line from drs-emulator within %.0f s" % timeout)
        chunk = os.read(fd, 4096)
        if not chunk:
            raise Failure("drs-emulator closed stdout before its JSON line: %r" % buf)
        buf += chunk
    return buf


class Emu:
    """One emulator process on a state directory (made here unless given)."""
    ctx_cache = {}

    def __init__(self, *args, state_dir=None):
        self.own_dir = state_dir is None
        self.dir = state_dir or tempfile.mkdtemp(prefix="state.", dir=S.work)
        self.args = args
        self.proc = None
        self.start()

    def start(self):
        t0 = time.monotonic()
        self.err = open(os.path.join(self.dir, "test-stderr.log"), "ab")
        self.proc = subprocess.Popen([EMULATOR, "--state-dir", self.dir, *self.args],
                                     stdout=subprocess.PIPE, stderr=self.err)
        try:
            self.line = read_line(self.proc.stdout.fileno(), 20)
        except Failure:
            self.stop()
            raise
        self.startup = time.monotonic() - t0
        self.info = json.loads(self.line)
        self.url = self.info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.ca = self.info["ca"]
        self.tid = self.info["tenant_id"]
        self.domain = self.info["tenant_domain"]
        self.control = self.info["control"]

    def stop(self):
        """SIGTERM and wait; return the exit status."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stdout.close()
        self.err.close()
        return p.returncode

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTPS -------------------------------------------------------------

    def context(self, cert=None, version=None):
        key = (self.ca, cert, version)
        if key not in Emu.ctx_cache:
            ctx = ssl.create_default_context(cafile=self.ca)
            if cert:
                ctx.load_cert_chain(*cert)
            if version:
                ctx.minimum_version = ctx.maximum_version = version
            Emu.ctx_cache[key] = ctx
        return Emu.ctx_cache[key]

    def call(self, method, path, body=None, headers=None, cert=None, version=None, timeout=15):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.context(cert, version))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Resp(r.status, r.headers, r.read(), conn.sock.version() if conn.sock else None)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def join(self, body, token=None, headers=None, path=JOIN):
        h = {"Content-Type": "application/json", "Authorization": "Bearer " + (token or S.token),
             "ocp-adrs-client-name": "test_emulator", "ocp-adrs-client-version": "1"}
        if headers is not None:
            h = {k: v for k, v in dict(h, **headers).items() if v is not None}
        return self.call("POST", path, body=body, headers=h)

    def nonce(self, tenant=None):
        r = self.get("/EnrollmentServer/nonce/%s/?api-version=1.0" % (tenant or self.tid))
        eq(r.status, 200, "nonce status")
        return r.json["Value"]

    # -- control -----------------------------------------------------------

    def ctl(self, method, path, body=None):
        req = urllib.request.Request(self.control + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def fault(self, **spec):
        status, out = self.ctl("POST", "/faults", spec)
        eq(status, 200, "arming fault %r: %r" % (spec, out))

    def clear(self):
        self.ctl("DELETE", "/faults")

    def devices(self):
        return {d["device_id"]: d for d in self.ctl("GET", "/devices")[1]["devices"]}

    def records(self):
        with open(os.path.join(self.dir, "requests.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]


class Resp:
    def __init__(self, status, headers, data, tls):
        self.status, self.headers, self.data, self.tls = status, headers, data, tls
        try:
            self.json = json.loads(data)
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.data[:400])


def run(*cmd, env=None, check_rc=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)
    if check_rc and p.returncode != 0:
        raise Failure("%s exited %d: %s" % (os.path.basename(cmd[0]), p.returncode,
                                            p.stderr.decode()[-500:]))
    return p


# -- what a client builds -------------------------------------------------------

def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_octets(value, tag=0x04):
    return bytes([tag]) + der_len(len(value)) + value


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def der_of(obj):
    return obj.public_bytes(serialization.Encoding.DER)


def make_csr(key=None, cn=CSR_CN, name=None, nonce=None, nonce_raw=None, critical=False,
             algorithm=None):
    key = key or S.dk
    subject = name if name is not None else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if nonce is not None or nonce_raw is not None:
        raw = nonce_raw if nonce_raw is not None else der_octets(nonce.encode("ascii"))
        b = b.add_extension(x509.UnrecognizedExtension(OID_NONCE, raw), critical=critical)
    return der_of(b.sign(key, algorithm or hashes.SHA256()))


def make_blob(pub=None, magic=b"RSA1", bits=2048, cbexp=3, cbmod=256, p1=0, p2=0,
              exp=b"\x01\x00\x01", order="little", tail=b"", cut=None):
    n = (pub or S.tk.public_key()).public_numbers().n
    head = magic + b"".join(v.to_bytes(4, order) for v in (bits, cbexp, cbmod, p1, p2))
    blob = head + exp + n.to_bytes(256, "big") + tail
    return blob[:cut] if cut is not None else blob


def body(csr=None, tk=None, **fields):
    """A join body; fields override or (value None) remove top-level fields."""
    b = {"CertificateRequest": {"Type": "pkcs10", "Data": b64(csr or make_csr())},
         "TransportKey": b64(tk if tk is not None else make_blob()),
         "TargetDomain": S.emu.domain, "DeviceType": "Linux",
         "OSVersion": "Debian GNU/Linux 12 (bookworm)", "DeviceDisplayName": "test-host",
         "JoinType": 0, "Attributes": {"ReuseDevice": "true", "ReturnClientSid": "true"}}
    for k, v in fields.items():
        if v is None:
            b.pop(k, None)
        else:
            b[k] = v
    return b


def claims(tid=None, upn=None, aud=DRS_RESOURCE, exp=3600, nbf=0, **extra):
    tid = tid or S.emu.tid
    upn = upn or "alice@" + S.emu.domain
    now = int(time.time())
    c = {"aud": aud, "iss": "https://sts.windows.net/%s/" % tid, "iat": now, "nbf": now + nbf,
         "exp": now + exp, "tid": tid, "upn": upn, "unique_name": upn,
         "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, upn)), "appid": BROKER, "ver": "1.0"}
    c.update(extra)
    return c


def jwt(c, key=None, kid=None, alg="RS256"):
    header = {"typ": "JWT", "alg": alg, "kid": kid or S.kid}
    signing = "%s.%s" % (b64url(json.dumps(header).encode()), b64url(json.dumps(c).encode()))
    if alg == "none":
        return signing + "."
    return signing + "." + b64url((key or S.token_key).sign(signing.encode(), padding.PKCS1v15(),
                                                             hashes.SHA256()))


def mint(*args, emu=None):
    return run(MINT, "--state-dir", (emu or S.emu).dir, *args).stdout.decode().strip()


# -- assertions about answers ------------------------------------------------------

def expect_drs(r, status, error_type, *fragments):
    check(r.status == status, "status %d, want %d: %s" % (r.status, status, r.data[:400]))
    j = r.json
    check(isinstance(j, dict), "error body is not a JSON object: %r" % r.data[:200])
    eq(sorted(j), sorted(["ErrorType", "Message", "TraceId", "Time"]), "DRS error fields")
    eq(j["ErrorType"], error_type, "ErrorType (Message %r)" % j["Message"])
    for f in fragments:
        check(f in j["Message"], "Message %r lacks %r" % (j["Message"], f))
    check(GUID_RE.match(j["TraceId"]), "TraceId %r is not a GUID" % j["TraceId"])
    check(re.match(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M$", j["Time"]),
          "Time %r is not in DRS form" % j["Time"])


def expect_login(r, status, error, code, *fragments):
    check(r.status == status, "status %d, want %d: %s" % (r.status, status, r.data[:400]))
    j = r.json
    check(isinstance(j, dict), "error body is not JSON: %r" % r.data[:200])
    eq(j.get("error"), error, "error")
    eq(j.get("error_codes"), [code], "error_codes")
    check(j["error_description"].startswith("AADSTS%d: " % code),
          "error_description %r does not start with AADSTS%d" % (j["error_description"], code))
    check(GUID_RE.match(j.get("trace_id", "")), "trace_id is not a GUID")
    for f in fragments:
        check(f in j["error_description"], "error_description lacks %r" % f)


def expect_ok_join(r):
    check(r.status == 200, "join refused: %d %s" % (r.status, r.data[:500]))
    cert = x509.load_der_x509_certificate(base64.b64decode(r.json["Certificate"]["RawBody"]))
    return cert, cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def refused_param(b, *fragments, status=400, error_type="InvalidParameter", **kw):
    expect_drs(S.emu.join(b, **kw), status, error_type, *fragments)


# -- shared fixtures ----------------------------------------------------------------

class Shared:
    pass


S = Shared()


def setup():
    S.work = tempfile.mkdtemp(prefix="emu-selftest.")
    S.emu = Emu("--extra-tenant", "%s=%s" % (EXTRA_TID, EXTRA_DOMAIN))
    S.others = []
    with open(os.path.join(S.emu.dir, "token-signing.key"), "rb") as f:
        S.token_key = serialization.load_pem_private_key(f.read(), None)
    keys = S.emu.get("/%s/discovery/v2.0/keys" % S.emu.tid).json["keys"]
    S.kid = keys[0]["kid"]
    S.dk = rsa.generate_private_key(65537, 2048)     # device key
    S.tk = rsa.generate_private_key(65537, 2048)     # transport key
    S.dk2 = rsa.generate_private_key(65537, 2048)    # a second device
    S.token = jwt(claims())


def teardown():
    for e in [S.__dict__.get("emu")] + S.__dict__.get("others", []):
        if e is not None:
            e.close()
    if "work" in S.__dict__:
        shutil.rmtree(S.work, ignore_errors=True)


def write_pair(name, cert, key):
    c, k = os.path.join(S.work, name + ".pem"), os.path.join(S.work, name + ".key")
    with open(c, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(k, "wb") as f:
        f.write(pem_key(key))
    return c, k


def seeded_dir():
    """A fresh state dir holding the shared emulator's keys: a warm start
    without the cost of key generation."""
    d = tempfile.mkdtemp(prefix="state.", dir=S.work)
    for name in os.listdir(S.emu.dir):
        if name.endswith((".pem", ".key")):
            shutil.copy2(os.path.join(S.emu.dir, name), d)
    return d


def joined_device(key=None, name="device"):
    """Join a device with key; return (device id, (cert path, key path), cert)."""
    key = key or S.dk
    cert, device_id = expect_ok_join(S.emu.join(body(csr=make_csr(key))))
    return device_id, write_pair(name + "-" + device_id, cert, key), cert


# ======================================================================================
# startup, TLS, routing
# ======================================================================================

@case("startup prints exactly one JSON line: url, ca, tenant_id, tenant_domain, pid, control")
def _():
    e = S.emu
    for k in ("url", "ca", "tenant_id", "tenant_domain", "pid", "control"):
        check(k in e.info, "JSON line lacks %r: %s" % (k, e.line))
    check(re.match(r"^https://127\.0\.0\.1:\d+$", e.url), "url %r" % e.url)
    eq(e.info["pid"], e.proc.pid, "pid")
    check(os.path.isfile(e.ca), "ca %s is not a file" % e.ca)
    eq(e.domain, "contoso.example", "default tenant_domain")
    check(GUID_RE.match(e.tid), "tenant_id %r is not a lower-case GUID" % e.tid)
    check(not select.select([e.proc.stdout], [], [], 0.2)[0], "more output after the JSON line")


@case("TLS 1.2 and TLS 1.3 are both served")
def _():
    for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        r = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid, version=v)
        eq((r.status, r.tls), (200, name), "status and TLS version")


@case("server certificate verifies against the CA for 127.0.0.1 and for localhost")
def _():
    ctx = ssl.create_default_context(cafile=S.emu.ca)
    for host in ("127.0.0.1", "localhost"):
        conn = http.client.HTTPSConnection(host, S.emu.port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/%s/Discover?api-version=1.9" % S.emu.tid)
            eq(conn.getresponse().status, 200, "status via " + host)
        finally:
            conn.close()
    bad = ssl.create_default_context()     # system CAs only: must fail
    conn = http.client.HTTPSConnection("127.0.0.1", S.emu.port, context=bad, timeout=10)
    try:
        conn.request("GET", "/")
        raise Failure("TLS verification passed without the emulator's CA")
    except ssl.SSLCertVerificationError:
        pass
    finally:
        conn.close()


@case("unknown path answers 404 NotFound in the DRS error shape")
def _():
    expect_drs(S.emu.get("/no/such/thing"), 404, "NotFound", "/no/such/thing")


@case("wrong method answers 405 with an Allow header")
def _():
    r = S.emu.get(JOIN)
    expect_drs(r, 405, "InvalidRequest", "GET", "allowed: POST")
    eq(r.headers.get("Allow"), "POST", "Allow")


@case("keep-alive: several requests, refusals included, on one connection")
def _():
    conn = http.client.HTTPSConnection("127.0.0.1", S.emu.port, timeout=10, context=S.emu.context())
    try:
        for method, path, b, want in (("GET", DISCOVER % S.emu.tid, None, 200),
                                      ("POST", JOIN, json.dumps(body()), 401),
                                      ("GET", "/EnrollmentServer/nonce/%s/?api-version=1.0" % S.emu.tid,
                                       None, 200)):
            conn.request(method, path, body=b, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            eq(r.status, want, "%s %s" % (method, path))
    finally:
        conn.close()


@case("a chunked join body is accepted")
def _():
    data = json.dumps(body()).encode()
    conn = http.client.HTTPSConnection("127.0.0.1", S.emu.port, timeout=10, context=S.emu.context())
    try:
        conn.request("POST", JOIN, body=iter([data[:500], data[500:]]), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                              "Authorization": "Bearer " + S.token})
        r = conn.getresponse()
        eq(r.status, 200, "status (%s)" % r.read()[:300])
    finally:
        conn.close()


@case("curl join with Expect: 100-continue is answered without curl's 1 s wait")
def _():
    curl = shutil.which("curl")
    if not curl:
        raise Skip("no curl")
    path = os.path.join(S.work, "join.json")
    with open(path, "w") as f:
        json.dump(body(), f)
    t0 = time.monotonic()
    p = run(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", S.emu.ca,
            "-H", "Expect: 100-continue", "-H", "Content-Type: application/json",
            "-H", "Authorization: Bearer " + S.token, "--data-binary", "@" + path,
            S.emu.url + JOIN, check_rc=False)
    took = time.monotonic() - t0
    eq(p.stdout.decode(), "200", "curl status (%s)" % p.stderr.decode().strip())
    check(took < 0.9, "took %.2f s" % took)


# ======================================================================================
# discovery
# ======================================================================================

@case("discovery by tenant id: the whole document, every endpoint on the emulator")
def _():
    r = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid,
                  headers={"ocp-adrs-client-name": "x", "Accept": "application/json"})
    eq(r.status, 200, "status")
    d = r.json
    for svc, fields in {
            "DeviceJoinService": ("JoinEndpoint", "JoinResourceId", "ServiceVersion"),
            "NonceService": ("Endpoint", "ResourceId", "ServiceVersion"),
            "PrecreateService": ("PrecreateEndpoint", "ServiceVersion"),
            "TenantInfo": ("DisplayName", "TenantId", "TenantName"),
            "DeviceManagementService": ("DeviceManagementEndpoint",),
            "KeyProvisioningService": ("KeyProvisionEndpoint",),
            "IdentityProviderService": ("Federated", "PassiveAuthEndpoint")}.items():
        for f in fields:
            check(f in d.get(svc, {}), "%s.%s missing" % (svc, f))
    check("TokenEndpoint" in d["AuthenticationService"]["OAuth2"], "OAuth2.TokenEndpoint missing")
    eq(d["DeviceJoinService"]["JoinEndpoint"], S.emu.url + "/EnrollmentServer/device/", "JoinEndpoint")
    eq(d["DeviceJoinService"]["ServiceVersion"], "2.0", "join ServiceVersion")
    eq(d["NonceService"]["Endpoint"], "%s/EnrollmentServer/nonce/%s/" % (S.emu.url, S.emu.tid),
       "NonceService.Endpoint")
    eq(d["NonceService"]["ServiceVersion"], "1.0", "nonce ServiceVersion")
    eq(d["TenantInfo"]["TenantId"], S.emu.tid, "TenantId")
    eq(d["TenantInfo"]["TenantName"], S.emu.domain, "TenantName")

    def urls(o):
        for v in (o.values() if isinstance(o, dict) else []):
            if isinstance(v, dict):
                yield from urls(v)
            elif isinstance(v, str) and "://" in v:
                yield v
    found = list(urls(d))
    check(len(found) >= 8, "only %d endpoints" % len(found))
    for u in found:
        check(u.startswith(S.emu.url + "/"), "endpoint %s is not on %s" % (u, S.emu.url))


@case("discovery by domain name, in any letter case")
def _():
    r = S.emu.get("/CONTOSO.Example/discover?api-version=1.9")
    eq(r.status, 200, "status")
    eq(r.json["TenantInfo"]["TenantId"], S.emu.tid, "TenantId")
    r = S.emu.get("/%s/Discover?api-version=1.9" % EXTRA_DOMAIN)
    eq(r.json["TenantInfo"]["TenantId"], EXTRA_TID, "extra tenant's TenantId")


@case("discovery of an unknown tenant: 404 DirectoryError")
def _():
    expect_drs(S.emu.get("/nowhere.example/Discover?api-version=1.9"), 404, "DirectoryError",
               "'nowhere.example' is not known")


@case("discovery without api-version: 400")
def _():
    expect_drs(S.emu.get("/%s/Discover" % S.emu.tid), 400, "InvalidRequest",
               "api-version is missing", "1.9")


@case("discovery with an unsupported api-version: 400")
def _():
    expect_drs(S.emu.get("/%s/Discover?api-version=1.0" % S.emu.tid), 400, "InvalidRequest",
               "api-version '1.0' is not supported")


# ======================================================================================
# nonce
# ======================================================================================

@case("nonce: ReponseStatus and an ASCII Value, different every time")
def _():
    r = S.emu.get("/EnrollmentServer/nonce/%s/?api-version=1.0" % S.emu.tid)
    eq(r.status, 200, "status")
    rs = r.json["ReponseStatus"]
    check(set(rs) >= {"message", "traceId", "time"}, "ReponseStatus fields %r" % rs)
    check(GUID_RE.match(rs["traceId"]), "traceId not a GUID")
    v = r.json["Value"]
    check(isinstance(v, str) and v.isascii() and len(v) >= 32, "Value %r" % v)
    check(S.emu.nonce() != v, "two nonces are equal")


@case("nonce for an unknown tenant: 404 DirectoryError")
def _():
    expect_drs(S.emu.get("/EnrollmentServer/nonce/%s/?api-version=1.0" % uuid.uuid4()), 404,
               "DirectoryError", "is not known")


@case("nonce without api-version: 400")
def _():
    expect_drs(S.emu.get("/EnrollmentServer/nonce/%s/" % S.emu.tid), 400, "InvalidRequest",
               "api-version is missing")


@case("nonce with an unsupported api-version: 400")
def _():
    expect_drs(S.emu.get("/EnrollmentServer/nonce/%s/?api-version=2.0" % S.emu.tid), 400,
               "InvalidRequest", "'2.0' is not supported")


# ======================================================================================
# join: accepted
# ======================================================================================

@case("join: 200 with a certificate for exactly the CSR's key, DRS extensions, recorded device")
def _():
    t = jwt(claims(upn="carol@contoso.example"))
    r = S.emu.join(body(), token=t)
    cert, cn = expect_ok_join(r)
    j = r.json
    check(GUID_RE.match(cn), "subject CN %r is not a lower-case GUID" % cn)
    eq(len(cert.subject.rdns), 1, "subject RDNs")
    eq(cert.public_key().public_numbers(), S.dk.public_key().public_numbers(), "certified key")
    eq(cert.issuer.rfc4514_string(),
       "CN=MS-Organization-Access,OU=82dbaca4-3e81-46ca-9c73-0950c1eaca97,DC=windows,DC=net",
       "issuer")
    days = (cert.not_valid_after - cert.not_valid_before).days
    check(3640 <= days <= 3660, "validity %d days, want about 10 years" % days)
    eq(j["Certificate"]["Thumbprint"],
       hashlib.sha1(base64.b64decode(j["Certificate"]["RawBody"])).hexdigest().upper(), "Thumbprint")
    c = claims(upn="carol@contoso.example")

    def ext(oid):
        return cert.extensions.get_extension_for_oid(oid).value.value
    eq(ext(OID_DEVICE_ID), der_octets(uuid.UUID(cn).bytes_le), "device id extension")
    eq(ext(OID_USER_ID), der_octets(uuid.UUID(c["oid"]).bytes_le), "user object id extension")
    eq(ext(OID_TENANT_ID), der_octets(uuid.UUID(S.emu.tid).bytes_le), "tenant id extension")
    eq(ext(OID_JOIN_TYPE), der_octets(b"1"), "join type extension (joined)")
    eq(j["User"], {"Upn": "carol@contoso.example"}, "User")
    check(isinstance(j["MembershipChanges"], list) and j["MembershipChanges"][0]["AddSIDs"],
          "MembershipChanges %r" % j["MembershipChanges"])
    dev = S.emu.devices().get(cn)
    check(dev is not None, "device %s not recorded" % cn)
    eq((dev["owner_upn"], dev["owner_oid"], dev["join_type"], dev["tenant_id"], dev["thumbprint"]),
       ("carol@contoso.example", c["oid"], 0, S.emu.tid, j["Certificate"]["Thumbprint"]),
       "recorded owner, oid, join type, tenant, thumbprint")
    eq(dev["certificate"], j["Certificate"]["RawBody"], "recorded certificate")


@case("join with a valid nonce extension: accepted")
def _():
    expect_ok_join(S.emu.join(body(csr=make_csr(nonce=S.emu.nonce()))))
    eq(S.emu.records()[-1].get("nonce"), "valid", "request log nonce state")


@case("join type 4 (register): accepted, join type extension \"0\"")
def _():
    cert, _ = expect_ok_join(S.emu.join(body(JoinType=4)))
    eq(cert.extensions.get_extension_for_oid(OID_JOIN_TYPE).value.value, der_octets(b"0"),
       "join type extension")


@case("field names in any letter case (roadtx's 'attributes') are accepted")
def _():
    b = body()
    odd = {"certificateRequest": {"type": "pkcs10", "DATA": b["CertificateRequest"]["Data"]},
           "transportkey": b["TransportKey"], "TARGETDOMAIN": b["TargetDomain"],
           "deviceType": b["DeviceType"], "osversion": b["OSVersion"],
           "devicedisplayname": b["DeviceDisplayName"], "joinType": 0,
           "attributes": {"ReuseDevice": "true"}}
    expect_ok_join(S.emu.join(odd))


@case("Attributes as booleans are accepted")
def _():
    expect_ok_join(S.emu.join(body(Attributes={"ReuseDevice": True, "ReturnClientSid": False})))


@case("TargetDomain as free text is accepted")
def _():
    expect_ok_join(S.emu.join(body(TargetDomain="made-up.example.invalid")))


@case("TransportKey that is the device key: accepted, warning in requests.jsonl")
def _():
    expect_ok_join(S.emu.join(body(tk=make_blob(S.dk.public_key()))))
    rec = S.emu.records()[-1]
    check("TransportKey is the device key" in rec.get("warnings", []),
          "no warning in the request log: %r" % rec.get("warnings"))
    dev = S.emu.devices()[rec["device_id"]]
    check("TransportKey is the device key" in dev["warnings"], "no warning on the device record")


@case("no ocp-adrs headers and a Dsreg User-Agent are accepted")
def _():
    expect_ok_join(S.emu.join(body(), headers={"ocp-adrs-client-name": None,
                                               "ocp-adrs-client-version": None,
                                               "User-Agent": "Dsreg/10.0 (Windows 10.0.19044.1826)"}))


@case("DeviceType Windows, MacOS, Android, Linux with JoinType 0 and 4: all accepted")
def _():
    for dt in ("Windows", "MacOS", "Android", "Linux"):
        for jt in (0, 4):
            r = S.emu.join(body(DeviceType=dt, JoinType=jt))
            check(r.status == 200, "%s/%d refused: %s" % (dt, jt, r.data[:300]))


@case("v2 token (aud = the DRS application id) is accepted")
def _():
    c = claims(aud=DRS_APP_ID, iss="https://login.microsoftonline.com/%s/v2.0" % S.emu.tid, ver="2.0")
    expect_ok_join(S.emu.join(body(), token=jwt(c)))


@case("Content-Type with a charset parameter is accepted")
def _():
    expect_ok_join(S.emu.join(body(), headers={"Content-Type": "application/json; charset=utf-8"}))


@case("join without the optional Attributes, with unknown extra fields: accepted")
def _():
    expect_ok_join(S.emu.join(body(Attributes=None, SomethingNew={"x": 1}, AikCertificate="")))


@case("join for the second tenant with its own nonce: accepted, certificate names that tenant")
def _():
    t = jwt(claims(tid=EXTRA_TID, upn="dave@" + EXTRA_DOMAIN))
    cert, _ = expect_ok_join(S.emu.join(body(csr=make_csr(nonce=S.emu.nonce(EXTRA_TID))), token=t))
    eq(cert.extensions.get_extension_for_oid(OID_TENANT_ID).value.value,
       der_octets(uuid.UUID(EXTRA_TID).bytes_le), "tenant id extension")


# ======================================================================================
# join: refused for the token (401 AuthenticationError)
# ======================================================================================

def refused_token(token, *fragments, headers=None):
    h = {"Authorization": None} if token is None else {"Authorization": token}
    h.update(headers or {})
    r = S.emu.join(body(), headers=h)
    expect_drs(r, 401, "AuthenticationError", *fragments)
    check("Bearer" in (r.headers.get("WWW-Authenticate") or ""), "no WWW-Authenticate: Bearer")


@case("join without Authorization: 401")
def _():
    refused_token(None, "no Authorization header")


@case("join with a non-Bearer Authorization: 401")
def _():
    refused_token("Basic dXNlcjpwYXNz", "not 'Bearer <access token>'")


@case("join with a bearer token that is not a JWT: 401")
def _():
    refused_token("Bearer not-a-jwt", "not a JWT")


@case("join with an unsigned token (mint-token --alg none): 401")
def _():
    refused_token("Bearer " + mint("--alg", "none"), "alg 'none' is not accepted")


@case("join with a bad signature (mint-token --sign-with-other-key): 401")
def _():
    refused_token("Bearer " + mint("--sign-with-other-key"), "signature does not verify")


@case("join with an unknown kid (mint-token --kid): 401")
def _():
    refused_token("Bearer " + mint("--kid", "bm90LWEta2V5"), "kid 'bm90LWEta2V5' is not a signing key")


@case("join with an expired token (mint-token --expired): 401")
def _():
    refused_token("Bearer " + mint("--expired"), "expired at")


@case("join with a not-yet-valid token (mint-token --not-before 600): 401")
def _():
    refused_token("Bearer " + mint("--not-before", "600"), "not valid before")


@case("join with a token for another audience (mint-token --aud): 401")
def _():
    refused_token("Bearer " + mint("--aud", "https://graph.microsoft.com"),
                  "audience 'https://graph.microsoft.com' is not the Device Registration Service")


@case("join with a token of an unknown tenant (mint-token --tid): 401")
def _():
    tid = str(uuid.uuid4())
    refused_token("Bearer " + mint("--tid", tid, "--upn", "x@elsewhere.example"),
                  "tenant %s is not a tenant of this emulator" % tid)


@case("join with a token without oid (mint-token --drop-claim oid): 401")
def _():
    refused_token("Bearer " + mint("--drop-claim", "oid"), "no 'oid' claim")


@case("join with a token whose issuer is not its tenant's: 401")
def _():
    refused_token("Bearer " + jwt(claims(iss="https://sts.windows.net/%s/" % uuid.uuid4())),
                  "issuer", "does not match its tenant")


@case("a token minted by mint-token (default claims) is accepted")
def _():
    expect_ok_join(S.emu.join(body(), token=mint("--upn", "erin@contoso.example")))


# ======================================================================================
# join: refused for the request envelope
# ======================================================================================

@case("join without api-version: 400")
def _():
    expect_drs(S.emu.join(body(), path="/EnrollmentServer/device/"), 400, "InvalidRequest",
               "api-version is missing", "2.0")


@case("join with an unsupported api-version: 400")
def _():
    expect_drs(S.emu.join(body(), path="/EnrollmentServer/device/?api-version=1.0"), 400,
               "InvalidRequest", "'1.0' is not supported")


@case("join with Content-Type text/plain: 415")
def _():
    refused_param(body(), "Content-Type 'text/plain' is not supported", status=415,
                  error_type="InvalidRequest", headers={"Content-Type": "text/plain"})


@case("join without Content-Type: 415")
def _():
    refused_param(body(), "Content-Type is missing", status=415, error_type="InvalidRequest",
                  headers={"Content-Type": None})


@case("join with a body that is not JSON: 400")
def _():
    refused_param(b"{not json", "not valid JSON", error_type="InvalidRequest")


@case("join with a JSON array body: 400")
def _():
    refused_param([body()], "must be a JSON object, got array", error_type="InvalidRequest")


@case("join with a key given twice: 400")
def _():
    raw = json.dumps(body())[:-1] + ', "JoinType": 4}'
    refused_param(raw.encode(), "'JoinType' appears twice", error_type="InvalidRequest")


@case("join with one field in two letter cases: 400")
def _():
    refused_param(body(jointype=4), "JoinType is given twice", error_type="InvalidRequest")


for _field in ("CertificateRequest", "TransportKey", "TargetDomain", "DeviceType", "OSVersion",
               "DeviceDisplayName", "JoinType"):
    def _missing(f=_field):
        refused_param(body(**{f: None}), "missing required field %s" % f, error_type="InvalidRequest")
    case("join without %s: 400" % _field)(_missing)


@case("join without CertificateRequest.Type or .Data: 400")
def _():
    refused_param(body(CertificateRequest={"Data": b64(make_csr())}),
                  "missing required field CertificateRequest.Type", error_type="InvalidRequest")
    refused_param(body(CertificateRequest={"Type": "pkcs10"}),
                  "missing required field CertificateRequest.Data", error_type="InvalidRequest")


@case("join with JoinType as a string: 400")
def _():
    refused_param(body(JoinType="0"), "JoinType must be an integer, got string",
                  error_type="InvalidRequest")


@case("join with JoinType as a boolean: 400")
def _():
    refused_param(body(JoinType=False), "JoinType must be an integer, got boolean",
                  error_type="InvalidRequest")


@case("join with CertificateRequest as a string: 400")
def _():
    refused_param(body(CertificateRequest=b64(make_csr())),
                  "CertificateRequest must be an object, got string", error_type="InvalidRequest")


@case("join with TransportKey as a number: 400")
def _():
    refused_param(body(TransportKey=42), "TransportKey must be a string, got number",
                  error_type="InvalidRequest")


@case("join with Attributes as an array, or an Attributes value that is a number: 400")
def _():
    refused_param(body(Attributes=["ReuseDevice"]), "Attributes must be an object, got array",
                  error_type="InvalidRequest")
    refused_param(body(Attributes={"ReuseDevice": 1}),
                  "Attributes.ReuseDevice must be a string or a boolean, got number",
                  error_type="InvalidRequest")


@case("join with CertificateRequest.Type other than pkcs10: 400")
def _():
    refused_param(body(CertificateRequest={"Type": "pkcs7", "Data": b64(make_csr())}),
                  'CertificateRequest.Type must be "pkcs10", got \'pkcs7\'')


@case("join with JoinType 6: 400 hybrid join not supported")
def _():
    refused_param(body(JoinType=6), "JoinType 6 (hybrid join) is not supported by this emulator")


@case("join with JoinType 3: 400")
def _():
    refused_param(body(JoinType=3), "JoinType 3 is not supported: 0 (join) or 4 (register)")


@case("join with a PreAuthorizedJoinChallenge: 400 (precreate endpoint only)")
def _():
    refused_param(body(PreAuthorizedJoinChallenge="eyJ..."), "PreAuthorizedJoinChallenge belongs",
                  error_type="InvalidRequest")


# ======================================================================================
# join: refused for the CSR
# ======================================================================================

def bad_csr(data, *fragments):
    refused_param(body(CertificateRequest={"Type": "pkcs10", "Data": data}), *fragments)


@case("CSR data that is not base64: 400")
def _():
    bad_csr("MIIB!!!!", "CertificateRequest.Data is not standard base64", "'!'")


@case("CSR data in base64url: 400")
def _():
    bad_csr(base64.urlsafe_b64encode(b"\xfb\xff" * 30).decode(), "not standard base64", "'-'")


@case("CSR data without base64 padding: 400")
def _():
    d = b64(make_csr())
    bad_csr(d.rstrip("=") if d.endswith("=") else d[:-1], "not standard base64", "multiple of 4")


@case("CSR in PEM armour: 400")
def _():
    csr = x509.load_der_x509_csr(make_csr())
    bad_csr(csr.public_bytes(serialization.Encoding.PEM).decode(), "is PEM")


@case("CSR data that is not DER: 400")
def _():
    bad_csr(b64(b"hello, this is not a CSR"), "not a DER PKCS#10 CSR")


@case("CSR DER that is not a CSR (a certificate): 400")
def _():
    cert = x509.load_der_x509_certificate(base64.b64decode(
        S.emu.join(body()).json["Certificate"]["RawBody"]))
    bad_csr(b64(der_of(cert)), "does not parse as a PKCS#10 CSR")


@case("CSR followed by extra bytes: 400")
def _():
    bad_csr(b64(make_csr() + b"\x00\x00"), "2 bytes after the CSR")


@case("CSR whose signature does not verify: 400")
def _():
    der = bytearray(make_csr())
    der[-1] ^= 0x01
    bad_csr(b64(bytes(der)), "CSR signature does not verify")


@case("CSR signed with sha1WithRSAEncryption: 400")
def _():
    bad_csr(b64(make_csr(algorithm=hashes.SHA1())), "sha1WithRSAEncryption", "sha256WithRSAEncryption")


@case("CSR with an EC key (ecdsa-with-SHA256): 400")
def _():
    bad_csr(b64(make_csr(ec.generate_private_key(ec.SECP256R1()))), "ecdsa-with-SHA256",
            "sha256WithRSAEncryption (1.2.840.113549.1.1.11) is required")


@case("CSR with an RSA-1024 key: 400")
def _():
    bad_csr(b64(make_csr(rsa.generate_private_key(65537, 1024))), "must be RSA-2048, got RSA-1024")


@case("CSR with an RSA-3072 key: 400")
def _():
    if "k3072" not in S.__dict__:
        S.k3072 = rsa.generate_private_key(65537, 3072)
    bad_csr(b64(make_csr(S.k3072)), "must be RSA-2048, got RSA-3072")


@case("CSR with public exponent 3: 400")
def _():
    bad_csr(b64(make_csr(rsa.generate_private_key(3, 2048))), "exponent must be 65537, got 3")


@case("CSR subject with the GUID in lower case: 400")
def _():
    bad_csr(b64(make_csr(cn=CSR_CN.lower())),
            "CSR subject must be exactly CN=7E980AD9-B86D-4306-9425-9AC066FB014A, got CN=7e98")


@case("CSR subject with an extra attribute: 400")
def _():
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
                      x509.NameAttribute(NameOID.COMMON_NAME, CSR_CN)])
    bad_csr(b64(make_csr(name=name)), "must be exactly CN=%s, got CN=%s,O=Contoso" % (CSR_CN, CSR_CN))


@case("CSR with an empty subject: 400")
def _():
    bad_csr(b64(make_csr(name=x509.Name([]))), "must be exactly CN=", "an empty subject")


@case("CSR subject with another CN (the host name): 400")
def _():
    bad_csr(b64(make_csr(cn="test-host")), "got CN=test-host")


# ======================================================================================
# join: the nonce extension
# ======================================================================================

@case("nonce extension that is a UTF8String, not an OCTET STRING: 400")
def _():
    n = S.emu.nonce()
    bad_csr(b64(make_csr(nonce_raw=der_octets(n.encode(), tag=0x0C))),
            "must hold a DER OCTET STRING", "UTF8String")


@case("nonce extension that is the raw nonce without DER: 400")
def _():
    n = S.emu.nonce()
    bad_csr(b64(make_csr(nonce_raw=n.encode())), "must hold a DER OCTET STRING")


@case("nonce extension with bytes after the OCTET STRING: 400")
def _():
    n = S.emu.nonce()
    bad_csr(b64(make_csr(nonce_raw=der_octets(n.encode()) + b"\x00")), "bytes follow the OCTET STRING")


@case("nonce extension holding non-ASCII bytes: 400")
def _():
    bad_csr(b64(make_csr(nonce_raw=der_octets(S.emu.nonce().encode() + b"\xe9"))),
            "must hold the nonce's ASCII text", "0xe9")


@case("nonce extension marked critical: 400")
def _():
    bad_csr(b64(make_csr(nonce=S.emu.nonce(), critical=True)), "must be non-critical")


@case("nonce unknown to the emulator (altered or invented): 400")
def _():
    n = S.emu.nonce()
    altered = ("B" if n[0] != "B" else "C") + n[1:]
    bad_csr(b64(make_csr(nonce=altered)), "CSR nonce is unknown to this emulator")


@case("expired nonce: 400 (and a fresh one is accepted)")
def _():
    S.emu.ctl("POST", "/config", {"nonce_lifetime": 0.3})
    try:
        n = S.emu.nonce()
        fresh_lifetime = S.emu.ctl("POST", "/config", {"nonce_lifetime": 300})
        eq(fresh_lifetime[0], 200, "config")
        time.sleep(0.45)
        bad_csr(b64(make_csr(nonce=n)), "CSR nonce expired", "lifetime 0 s")
        expect_ok_join(S.emu.join(body(csr=make_csr(nonce=S.emu.nonce()))))
    finally:
        S.emu.ctl("POST", "/config", {"nonce_lifetime": 300})


@case("nonce used twice: first join accepted, second refused naming the first device")
def _():
    n = S.emu.nonce()
    _, device_id = expect_ok_join(S.emu.join(body(csr=make_csr(nonce=n))))
    bad_csr(b64(make_csr(nonce=n)), "already used", device_id)


@case("nonce of another tenant: 400")
def _():
    n = S.emu.nonce(EXTRA_TID)
    bad_csr(b64(make_csr(nonce=n)), "issued for tenant %s" % EXTRA_TID,
            "token is for tenant %s" % S.emu.tid)


@case("a refused join does not use up its nonce")
def _():
    n = S.emu.nonce()
    refused_param(body(csr=make_csr(nonce=n), JoinType=3), "JoinType 3")
    expect_ok_join(S.emu.join(body(csr=make_csr(nonce=n))))


@case("--require-nonce (set live): CSR without nonce refused, with nonce accepted")
def _():
    eq(S.emu.ctl("POST", "/config", {"require_nonce": True})[0], 200, "config")
    try:
        bad_csr(b64(make_csr()), "CSR has no nonce extension (1.2.840.113556.1.5.284.2.1)",
                "--require-nonce")
        expect_ok_join(S.emu.join(body(csr=make_csr(nonce=S.emu.nonce()))))
    finally:
        S.emu.ctl("POST", "/config", {"require_nonce": False})


@case("one nonce raced by 6 concurrent joins: exactly one accepted")
def _():
    n = S.emu.nonce()
    b = body(csr=make_csr(nonce=n))
    results, barrier = [], threading.Barrier(6)

    def go():
        barrier.wait()
        results.append(S.emu.join(b).status)
    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(sorted(results), [200] + [400] * 5, "statuses")


# ======================================================================================
# join: the transport key (BCRYPT_RSAKEY_BLOB)
# ======================================================================================

def bad_tk(blob_or_text, *fragments):
    tk = blob_or_text if isinstance(blob_or_text, str) else b64(blob_or_text)
    refused_param(body(TransportKey=tk), *fragments)


@case("TransportKey that is not base64: 400")
def _():
    bad_tk("UlNBMQ#AAA", "TransportKey is not standard base64")


@case("TransportKey shorter than the header: 400")
def _():
    bad_tk(make_blob(cut=20), "20 bytes, shorter than the 24-byte")


@case("TransportKey with a private blob magic (RSA2): 400")
def _():
    bad_tk(make_blob(magic=b"RSA2"), "magic RSA2, a private key blob")


@case("TransportKey with the magic byte-reversed (1ASR): 400")
def _():
    bad_tk(make_blob(magic=b"1ASR"), "'1ASR'", "52 53 41 31")


@case("TransportKey given as DER SubjectPublicKeyInfo: 400")
def _():
    spki = S.tk.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    bad_tk(spki, "does not start with the magic RSA1", "looks like DER")


@case("TransportKey with a big-endian header: 400")
def _():
    bad_tk(make_blob(order="big"), "BitLength is 524288, must be 2048", "little-endian")


@case("TransportKey with BitLength 1024: 400")
def _():
    bad_tk(make_blob(bits=1024), "BitLength is 1024, must be 2048")


@case("TransportKey with cbPublicExp 4 (a padded exponent): 400")
def _():
    bad_tk(make_blob(cbexp=4, exp=b"\x00\x01\x00\x01"), "cbPublicExp is 4, must be 3")


@case("TransportKey with cbModulus 255: 400")
def _():
    bad_tk(make_blob(cbmod=255), "cbModulus is 255, must be 256")


@case("TransportKey with primes (cbPrime1/cbPrime2 not 0): 400")
def _():
    bad_tk(make_blob(p1=128, p2=128, tail=b"\x01" * 256), "cbPrime1 is 128, must be 0")


@case("TransportKey truncated inside the modulus: 400")
def _():
    bad_tk(make_blob(cut=200), "truncated: 200 bytes", "283")


@case("TransportKey with a byte after the modulus: 400")
def _():
    bad_tk(make_blob(tail=b"\x00"), "1 bytes after the modulus")


@case("TransportKey with exponent 3 (00 00 03): 400")
def _():
    bad_tk(make_blob(exp=b"\x00\x00\x03"), "public exponent is 00 00 03, must be 01 00 01")


@case("TransportKey with a little-endian modulus: 400")
def _():
    b = bytearray(make_blob())
    b[27:] = bytes(reversed(b[27:]))
    if b[27] & 0x80:                  # the reversed modulus happens to look 2048-bit
        b[27] &= 0x7F
    bad_tk(bytes(b), "modulus is not 2048 bits")


# ======================================================================================
# leave: DELETE with the device's TLS client certificate
# ======================================================================================

def delete(device_id, cert=None, query=""):
    return S.emu.call("DELETE", "/EnrollmentServer/device/%s%s" % (device_id, query), cert=cert)


@case("leave with the device's own certificate and key: 200, device gone")
def _():
    device_id, pair, cert = joined_device()
    r = delete(device_id, pair)
    eq(r.status, 200, "status (%s)" % r.data[:200])
    check(device_id not in S.emu.devices(), "device still recorded")
    rec = S.emu.records()[-1]
    eq(rec["client_cert"]["thumbprint"], hashlib.sha1(der_of(cert)).hexdigest().upper(),
       "logged client certificate")


@case("leave with api-version=1.0 over TLS 1.2: 200")
def _():
    device_id, pair, _ = joined_device()
    conn = http.client.HTTPSConnection("127.0.0.1", S.emu.port, timeout=10,
                                       context=S.emu.context(pair, ssl.TLSVersion.TLSv1_2))
    try:
        conn.request("DELETE", "/EnrollmentServer/device/%s?api-version=1.0" % device_id)
        eq(conn.getresponse().status, 200, "status")
    finally:
        conn.close()


@case("leave without a client certificate: 401")
def _():
    device_id, _, _ = joined_device()
    expect_drs(delete(device_id), 401, "AuthenticationError", "no TLS client certificate")
    check(device_id in S.emu.devices(), "device was deleted")


@case("leave with a foreign self-signed certificate: 401 (HTTP, not a TLS alert)")
def _():
    if S.emu.ctl("GET", "/status")[1]["client_cert_check"] != "http":
        raise Skip("this Python's ssl cannot accept foreign certificates at the TLS layer "
                   "(client_cert_check=tls); see the TLS-alert case")
    device_id, _, _ = joined_device()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(S.dk2.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(S.dk2, hashes.SHA256()))
    expect_drs(delete(device_id, write_pair("foreign", cert, S.dk2)), 401, "AuthenticationError",
               "issuer (CN=foreign) is not this emulator's device CA")
    check(device_id in S.emu.devices(), "device was deleted")


@case("leave with a lookalike certificate (MS-Organization-Access issuer, other CA key): 401")
def _():
    if S.emu.ctl("GET", "/status")[1]["client_cert_check"] != "http":
        raise Skip("client_cert_check=tls")
    device_id, _, real = joined_device()
    fake_ca = rsa.generate_private_key(65537, 2048)
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(real.subject).issuer_name(real.issuer)
            .public_key(S.dk.public_key()).serial_number(8)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(fake_ca, hashes.SHA256()))
    expect_drs(delete(device_id, write_pair("lookalike", cert, S.dk)), 401, "AuthenticationError",
               "was not signed by this emulator's device CA")
    check(device_id in S.emu.devices(), "device was deleted")


@case("leave, --client-cert-check tls (the fallback): foreign certificate gets a TLS alert")
def _():
    e = Emu("--client-cert-check", "tls", state_dir=seeded_dir())
    e.own_dir = True
    S.others.append(e)
    eq(e.ctl("GET", "/status")[1]["client_cert_check"], "tls", "client_cert_check")
    cert, device_id = expect_ok_join(e.join(body(csr=make_csr(S.dk2)), token=mint(emu=e)))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign")])
    now = datetime.datetime.utcnow()
    foreign = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(S.dk2.public_key()).serial_number(9)
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=1)).sign(S.dk2, hashes.SHA256()))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        try:
            r = e.call("DELETE", "/EnrollmentServer/device/" + device_id, version=version,
                       cert=write_pair("foreign-tls", foreign, S.dk2))
            raise Failure("%s: answered %r" % (version.name, r))
        except (ssl.SSLError, ConnectionError) as err:
            # TLS 1.2 reads the alert in the handshake; a TLS 1.3 client has
            # finished its handshake and may see the alert or just the close.
            if version == ssl.TLSVersion.TLSv1_2:
                check("unknown ca" in str(err).lower(), "TLSv1_2: %s" % err)
    expect_drs(e.call("DELETE", "/EnrollmentServer/device/" + device_id), 401,
               "AuthenticationError", "no TLS client certificate")
    eq(e.call("DELETE", "/EnrollmentServer/device/" + device_id,
              cert=write_pair("own-tls", cert, S.dk2)).status, 200, "own certificate")
    e.close()


@case("leave with another device's certificate: 403")
def _():
    victim, _, _ = joined_device(S.dk)
    _, other_pair, _ = joined_device(S.dk2, "other")
    expect_drs(delete(victim, other_pair), 403, "AuthorizationError",
               "is not the certificate of device %s" % victim)
    check(victim in S.emu.devices(), "device was deleted")


@case("leave of an unknown device id: 400 DirectoryError not found")
def _():
    _, pair, _ = joined_device()
    unknown = str(uuid.uuid4())
    expect_drs(delete(unknown, pair), 400, "DirectoryError",
               "The device object by the given id (%s) is not found." % unknown)


@case("leave twice: the second answers 400 not found")
def _():
    device_id, pair, _ = joined_device()
    eq(delete(device_id, pair).status, 200, "first delete")
    expect_drs(delete(device_id, pair), 400, "DirectoryError", "not found")


@case("leave with an unsupported api-version: 400")
def _():
    device_id, pair, _ = joined_device()
    expect_drs(delete(device_id, pair, "?api-version=9.9"), 400, "InvalidRequest", "'9.9'")


@case("leave answers a JSON body and the control interface counts deletes")
def _():
    device_id, pair, _ = joined_device()
    before = S.emu.ctl("GET", "/status")[1]["deletes"]
    r = delete(device_id, pair, "?api-version=1.0")
    eq(r.status, 200, "status")
    check(r.headers.get("Content-Type", "").startswith("application/json"),
          "Content-Type %r" % r.headers.get("Content-Type"))
    eq(r.json.get("DeviceId"), device_id, "DeviceId in the answer")
    check(GUID_RE.match(r.json.get("TraceId") or ""), "TraceId %r" % r.json.get("TraceId"))
    eq(S.emu.ctl("GET", "/status")[1]["deletes"], before + 1, "deletes counted")
    expect_drs(delete(device_id, pair), 400, "DirectoryError", "not found")
    eq(S.emu.ctl("GET", "/status")[1]["deletes"], before + 1, "a refused delete is not counted")
    eq(S.emu.records()[-1]["route"], "delete", "logged as route delete")


def openssl_delete(e, device_id, pair, *tls_args):
    """DELETE through openssl s_client, whose TLS version and client signature
    algorithms can be forced (Python's ssl cannot choose the latter)."""
    exe = shutil.which("openssl")
    if not exe:
        raise Skip("no openssl")
    req = ("DELETE /EnrollmentServer/device/%s?api-version=1.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Connection: close\r\n\r\n" % device_id).encode()
    p = subprocess.run([exe, "s_client", "-quiet", "-ign_eof", "-connect",
                        "127.0.0.1:%d" % e.port, "-CAfile", e.ca, "-cert", pair[0], "-key", pair[1],
                        *tls_args], input=req, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.stdout.decode(errors="replace").split("\r\n", 1)[0], p.stderr.decode(errors="replace")


for _label, _args in (("TLS 1.2, PKCS#1 v1.5", ("-tls1_2", "-client_sigalgs", "RSA+SHA256")),
                      ("TLS 1.2, RSA-PSS", ("-tls1_2", "-client_sigalgs", "rsa_pss_rsae_sha256")),
                      ("TLS 1.3, RSA-PSS", ("-tls1_3", "-client_sigalgs", "rsa_pss_rsae_sha256"))):
    @case("leave authenticated over %s: 200" % _label)
    def _(args=_args):
        device_id, pair, _ = joined_device()
        line, err = openssl_delete(S.emu, device_id, pair, *args)
        eq(line, "HTTP/1.1 200 OK", "status line (openssl: %s)" % err.strip()[-300:])
        check(device_id not in S.emu.devices(), "device still recorded")


@case("--tls-max 1.2 / --tls-min 1.3: the other version is refused, leave works in its own")
def _():
    for flags, good, bad in ((("--tls-max", "1.2"), ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3),
                             (("--tls-min", "1.3"), ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)):
        e = Emu(*flags, state_dir=seeded_dir())
        e.own_dir = True
        S.others.append(e)
        eq(e.ctl("GET", "/status")[1]["tls"], flags[1], "status tls")
        cert, device_id = expect_ok_join(e.join(body(csr=make_csr(S.dk)), token=mint(emu=e)))
        pair = write_pair("tlsver-" + device_id, cert, S.dk)
        try:
            r = e.call("DELETE", "/EnrollmentServer/device/" + device_id, cert=pair, version=bad)
            raise Failure("%s %s: %s answered %d" % (flags + (bad.name, r.status)))
        except (ssl.SSLError, OSError):
            pass
        r = e.call("DELETE", "/EnrollmentServer/device/" + device_id, cert=pair, version=good)
        eq((r.status, r.tls), (200, {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}[flags[1]]),
           "%s %s: status and version" % flags)
        eq(e.records()[-1]["tls"], r.tls, "logged TLS version")


@case("--tls-min newer than --tls-max: exit 2")
def _():
    p = run(EMULATOR, "--state-dir", tempfile.mkdtemp(dir=S.work), "--tls-min", "1.3",
            "--tls-max", "1.2", check_rc=False)
    eq(p.returncode, 2, "exit status")
    check(b"--tls-min 1.3 is newer than --tls-max 1.2" in p.stderr, "message: %r" % p.stderr)


@case("leave with curl --cert/--key: 200")
def _():
    curl = shutil.which("curl")
    if not curl:
        raise Skip("no curl")
    device_id, (c, k), _ = joined_device()
    p = run(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", S.emu.ca,
            "--cert", c, "--key", k, "-X", "DELETE",
            "%s/EnrollmentServer/device/%s" % (S.emu.url, device_id), check_rc=False)
    eq(p.stdout.decode(), "200", "curl status (%s)" % p.stderr.decode().strip())


# ======================================================================================
# token endpoints
# ======================================================================================

def form(emu, path, fields, ctype="application/x-www-form-urlencoded"):
    return emu.call("POST", path, body=urllib.parse.urlencode(fields).encode(),
                    headers={"Content-Type": ctype})


def decode_claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))


@case("keys: the JWKS verifies a mint-token token")
def _():
    r = S.emu.get("/%s/discovery/v2.0/keys" % S.emu.domain)
    eq(r.status, 200, "status")
    k = r.json["keys"][0]
    eq((k["kty"], k["use"]), ("RSA", "sig"), "kty/use")
    pub = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(k["e"]), "big"),
                               int.from_bytes(b64url_decode(k["n"]), "big")).public_key()
    t = mint()
    h, p, s = t.split(".")
    eq(json.loads(b64url_decode(h))["kid"], k["kid"], "kid")
    try:
        pub.verify(b64url_decode(s), ("%s.%s" % (h, p)).encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise Failure("JWKS key does not verify the token")
    c = json.loads(b64url_decode(p))
    for name in ("aud", "iss", "tid", "upn", "unique_name", "oid", "appid", "exp", "nbf", "iat", "ver"):
        check(name in c, "claim %s missing" % name)
    eq((c["aud"], c["tid"], c["ver"]), (DRS_RESOURCE, S.emu.tid, "1.0"), "aud, tid, ver")


@case("device code flow: pending, approved through emuctl, token accepted by join, then refresh")
def _():
    scope = DRS_APP_ID + "/.default openid offline_access"
    r = form(S.emu, "/organizations/oauth2/v2.0/devicecode", {"client_id": BROKER, "scope": scope})
    eq(r.status, 200, "devicecode status (%s)" % r.data[:200])
    dc = r.json
    for k in ("user_code", "device_code", "verification_uri", "expires_in", "interval", "message"):
        check(k in dc, "devicecode lacks %s" % k)
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": BROKER,
             "device_code": dc["device_code"]}
    expect_login(form(S.emu, "/organizations/oauth2/v2.0/token", grant), 400,
                 "authorization_pending", 70016)
    run(EMUCTL, "--state-dir", S.emu.dir, "approve", "--user-code", dc["user_code"],
        "--upn", "frank@contoso.example")
    r = form(S.emu, "/organizations/oauth2/v2.0/token", grant)
    eq(r.status, 200, "token status (%s)" % r.data[:300])
    c = decode_claims(r.json["access_token"])
    eq((c["aud"], c["upn"], c["tid"], c["ver"]), (DRS_APP_ID, "frank@contoso.example", S.emu.tid, "2.0"),
       "access token claims")
    check("id_token" in r.json and "refresh_token" in r.json, "no id_token/refresh_token")
    expect_ok_join(S.emu.join(body(), token=r.json["access_token"]))
    expect_login(form(S.emu, "/organizations/oauth2/v2.0/token", grant), 400, "invalid_grant", 70000,
                 "already redeemed")
    r2 = form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
              {"grant_type": "refresh_token", "client_id": BROKER,
               "refresh_token": r.json["refresh_token"], "scope": scope})
    eq(r2.status, 200, "refresh status (%s)" % r2.data[:300])
    eq(decode_claims(r2.json["access_token"])["upn"], "frank@contoso.example", "refreshed upn")


@case("device code denied through the control interface: authorization_declined")
def _():
    r = form(S.emu, "/%s/oauth2/v2.0/devicecode" % S.emu.tid,
             {"client_id": BROKER, "scope": DRS_APP_ID + "/.default"})
    status, _ = S.emu.ctl("POST", "/devicecode/approve", {"user_code": r.json["user_code"], "deny": True})
    eq(status, 200, "approve(deny) status")
    expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                      {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                       "client_id": BROKER, "device_code": r.json["device_code"]}),
                 400, "authorization_declined", 70000)


@case("device code past its lifetime: expired_token")
def _():
    S.emu.ctl("POST", "/config", {"device_code_lifetime": 0})
    try:
        r = form(S.emu, "/%s/oauth2/v2.0/devicecode" % S.emu.tid,
                 {"client_id": BROKER, "scope": DRS_APP_ID + "/.default"})
        eq(r.json["expires_in"], 0, "expires_in")
    finally:
        S.emu.ctl("POST", "/config", {"device_code_lifetime": 900})
    expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                      {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                       "client_id": BROKER, "device_code": r.json["device_code"]}),
                 400, "expired_token", 70020)


@case("refresh token from emuctl refresh-token: v1 resource token; unknown refresh token refused")
def _():
    rt = run(EMUCTL, "--state-dir", S.emu.dir, "refresh-token", "--upn", "gina@contoso.example"
             ).stdout.decode().strip()
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid,
             {"grant_type": "refresh_token", "client_id": BROKER, "refresh_token": rt,
              "resource": DRS_RESOURCE})
    eq(r.status, 200, "status (%s)" % r.data[:300])
    eq(decode_claims(r.json["access_token"])["aud"], DRS_RESOURCE, "aud")
    expect_ok_join(S.emu.join(body(), token=r.json["access_token"]))
    expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                      {"grant_type": "refresh_token", "client_id": BROKER,
                       "refresh_token": "0.AAAAbogus", "scope": DRS_APP_ID + "/.default"}),
                 400, "invalid_grant", 9002313)


@case("token endpoint: unsupported grant type, missing client_id, unknown tenant, wrong content type")
def _():
    path = "/%s/oauth2/v2.0/token" % S.emu.tid
    expect_login(form(S.emu, path, {"grant_type": "password", "client_id": BROKER}), 400,
                 "unsupported_grant_type", 70003, "'password'")
    expect_login(form(S.emu, path, {"grant_type": "refresh_token"}), 400, "invalid_request",
                 900144, "'client_id'")
    expect_login(form(S.emu, "/nowhere.example/oauth2/v2.0/token",
                      {"grant_type": "refresh_token", "client_id": BROKER}), 400, "invalid_tenant",
                 90002, "'nowhere.example' not found")
    expect_login(form(S.emu, path, {"grant_type": "refresh_token"}, ctype="application/json"), 400,
                 "invalid_request", 900144, "x-www-form-urlencoded")


BPRT_CLIENT = "b90d5b8f-5503-4153-b545-b31cecfaece2"
GOV = "enterpriseregistration.microsoftonline.us"
GOV_LOGIN = "login.microsoftonline.us"


def bprt_form(bprt, client=BPRT_CLIENT, resource=DRS_RESOURCE):
    return {"grant_type": "refresh_token", "client_id": client, "refresh_token": bprt,
            "resource": resource, "scope": "openid"}


@case("mint-token --bprt: redeemed at v1 by the b90d5b8f client only; the token joins")
def _():
    bprt = mint("--bprt")
    check(not bprt.startswith("eyJ") and bprt.count(".") >= 1, "BPRT shape %r" % bprt[:20])
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid, bprt_form(bprt))
    eq(r.status, 200, "BPRT redeemed (%s)" % r.data[:300])
    c = decode_claims(r.json["access_token"])
    eq(c["aud"], DRS_RESOURCE, "aud is the resource asked for")
    check(c["upn"].startswith("package_") and c["upn"].endswith("@" + S.emu.domain),
          "upn %r is a package account" % c["upn"])
    expect_ok_join(S.emu.join(body(), token=r.json["access_token"]))
    expect_login(form(S.emu, "/%s/oauth2/token" % S.emu.tid, bprt_form(bprt, client=BROKER)),
                 400, "invalid_grant", 70000, BPRT_CLIENT)
    # The log shows the grant, the client and the resource, never the BPRT.
    rec = [x for x in S.emu.records() if x["route"] == "token"][-2]
    eq((rec["body"]["grant_type"], rec["body"]["client_id"], rec["body"]["resource"],
        rec["body"]["refresh_token"]), ("refresh_token", BPRT_CLIENT, DRS_RESOURCE, "<redacted>"),
       "logged form")
    with open(os.path.join(S.emu.dir, "requests.jsonl"), encoding="utf-8") as f:
        check(bprt not in f.read(), "the BPRT is in requests.jsonl")


@case("BPRT expired (mint-token --bprt --expired): AADSTS700082; forged: AADSTS9002313")
def _():
    expect_login(form(S.emu, "/%s/oauth2/token" % S.emu.tid, bprt_form(mint("--bprt", "--expired"))),
                 400, "invalid_grant", 700082, "expired")
    good = mint("--bprt")
    forged = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    expect_login(form(S.emu, "/%s/oauth2/token" % S.emu.tid, bprt_form(forged)),
                 400, "invalid_grant", 9002313)


@case("refresh token of another client: AADSTS70000 naming both clients")
def _():
    rt = run(EMUCTL, "--state-dir", S.emu.dir, "refresh-token", "--client-id", BPRT_CLIENT
             ).stdout.decode().strip()
    expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                      {"grant_type": "refresh_token", "client_id": BROKER, "refresh_token": rt,
                       "scope": DRS_APP_ID + "/.default"}),
                 400, "invalid_grant", 70000, BPRT_CLIENT, BROKER)


@case("v1 device code: verification_url, numbers as strings; code redeemed at v1 as 'code'")
def _():
    r = form(S.emu, "/%s/oauth2/devicecode" % S.emu.tid, {"client_id": BROKER, "resource": DRS_APP_ID})
    eq(r.status, 200, "v1 devicecode (%s)" % r.data[:200])
    dc = r.json
    check("verification_url" in dc and "verification_uri" not in dc, "v1 names: %r" % sorted(dc))
    check(isinstance(dc["expires_in"], str) and isinstance(dc["interval"], str), "v1 strings")
    grant = {"grant_type": "device_code", "client_id": BROKER, "code": dc["device_code"],
             "resource": DRS_APP_ID}
    expect_login(form(S.emu, "/%s/oauth2/token" % S.emu.tid, grant), 400, "authorization_pending",
                 70016)
    run(EMUCTL, "--state-dir", S.emu.dir, "approve", "--user-code", dc["user_code"])
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid, grant)
    eq(r.status, 200, "v1 device code grant (%s)" % r.data[:200])
    eq(decode_claims(r.json["access_token"])["aud"], DRS_APP_ID, "aud")
    expect_login(form(S.emu, "/%s/oauth2/devicecode" % S.emu.tid, {"client_id": BROKER}), 400,
                 "invalid_request", 900144, "'resource'")


@case("cloud host names: the TLS certificate carries them; discovery keeps the cloud's hosts")
def _():
    with open(os.path.join(S.emu.dir, "tls-server.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName)
    for h in ("enterpriseregistration.windows.net", "login.microsoftonline.com", GOV, GOV_LOGIN,
              "enterpriseregistration.partner.microsoftonline.cn", "login.partner.microsoftonline.cn"):
        check(h in names, "certificate lacks %s" % h)
    host = "%s:%d" % (GOV, S.emu.port)
    d = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid, headers={"Host": host}).json
    eq(d["DeviceJoinService"]["JoinResourceId"], "urn:ms-drs:" + GOV, "JoinResourceId")
    eq(d["DeviceJoinService"]["JoinEndpoint"], "https://%s/EnrollmentServer/device/" % host, "JoinEndpoint")
    eq(d["AuthenticationService"]["OAuth2"]["TokenEndpoint"],
       "https://%s:%d/%s/oauth2/token" % (GOV_LOGIN, S.emu.port, S.emu.tid), "TokenEndpoint")
    d = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid).json
    eq(d["DeviceJoinService"]["JoinResourceId"], DRS_RESOURCE, "127.0.0.1: the public resource")


@case("join under the US Government host: its audience is accepted, the public one refused")
def _():
    h = {"Host": "%s:%d" % (GOV, S.emu.port)}
    expect_ok_join(S.emu.join(body(), token=jwt(claims(aud="urn:ms-drs:" + GOV)), headers=h))
    expect_ok_join(S.emu.join(body(), token=jwt(claims(aud=DRS_APP_ID)), headers=h))
    expect_drs(S.emu.join(body(), headers=h), 401, "AuthenticationError", "urn:ms-drs:" + GOV)
    expect_drs(S.emu.join(body(), token=jwt(claims(aud="urn:ms-drs:" + GOV))), 401,
               "AuthenticationError", "is not the Device Registration Service")


@case("--refuse-nonce (config refuse_nonce): a CSR with the nonce extension is refused with 400")
def _():
    S.emu.ctl("POST", "/config", {"refuse_nonce": True})
    try:
        refused_param(body(csr=make_csr(nonce=S.emu.nonce())), "nonce extension", "--refuse-nonce")
        expect_ok_join(S.emu.join(body()))
    finally:
        S.emu.ctl("POST", "/config", {"refuse_nonce": False})
    expect_ok_join(S.emu.join(body(csr=make_csr(nonce=S.emu.nonce()))))


@case("--no-nonce-service (config nonce_service): discovery without NonceService")
def _():
    run(EMUCTL, "--state-dir", S.emu.dir, "config", "--no-nonce-service")
    try:
        d = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid).json
        check("NonceService" not in d and "DeviceJoinService" in d, "services %r" % sorted(d))
    finally:
        run(EMUCTL, "--state-dir", S.emu.dir, "config", "--nonce-service")
    check("NonceService" in S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid).json,
          "NonceService back")


@case("config auth_service: discovery without AuthenticationService, and back")
def _():
    run(EMUCTL, "--state-dir", S.emu.dir, "config", "--no-auth-service")
    try:
        d = S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid).json
        check("AuthenticationService" not in d and "DeviceJoinService" in d, "services %r" % sorted(d))
    finally:
        run(EMUCTL, "--state-dir", S.emu.dir, "config", "--auth-service")
    check("AuthenticationService" in S.emu.get("/%s/Discover?api-version=1.9" % S.emu.tid).json,
          "AuthenticationService back")
    status, out = S.emu.ctl("POST", "/config", {"auth_service": "no"})
    check(status == 400, "a non-boolean auth_service is refused: %d %r" % (status, out))


@case("drs-emulator --refuse-nonce --no-nonce-service at start; with --require-nonce: refused")
def _():
    e = Emu("--refuse-nonce", "--no-nonce-service")
    try:
        st = e.ctl("GET", "/status")[1]["config"]
        eq((st["refuse_nonce"], st["nonce_service"]), (True, False), "config")
    finally:
        e.close()
    d = tempfile.mkdtemp(dir=S.work)
    p = subprocess.run([EMULATOR, "--state-dir", d, "--refuse-nonce", "--require-nonce"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 2 and b"contradict" in p.stderr, "exit %d: %r" % (p.returncode, p.stderr))


@case("fault: oauth_error slow_down on the token route; refused on another route")
def _():
    S.emu.fault(route="token", count=1, oauth_error="slow_down")
    try:
        expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                          {"grant_type": "refresh_token", "client_id": BROKER}),
                     400, "slow_down", 70016)
    finally:
        S.emu.clear()
    status, out = S.emu.ctl("POST", "/faults", {"route": "join", "oauth_error": "slow_down"})
    check(status == 400 and "token only" in out["error"], "%d %r" % (status, out))


# ======================================================================================
# faults
# ======================================================================================

def with_faults(fn):
    def wrapped():
        try:
            return fn()
        finally:
            S.emu.clear()
    return wrapped


@case("fault: 503 for the next 2 discovery requests, then normal service")
@with_faults
def _():
    S.emu.fault(route="discover", count=2, status=503)
    path = DISCOVER % S.emu.tid
    expect_drs(S.emu.get(path), 503, "ServiceUnavailable")
    expect_drs(S.emu.get(path), 503, "ServiceUnavailable")
    eq(S.emu.get(path).status, 200, "third request")


@case("fault: 429 with Retry-After on join, throttling message")
@with_faults
def _():
    S.emu.fault(route="join", count=1, status=429, retry_after=7)
    r = S.emu.join(body())
    expect_drs(r, 429, "DirectoryError", "throttled temporarily", "try after 7 seconds")
    eq(r.headers.get("Retry-After"), "7", "Retry-After")
    expect_ok_join(S.emu.join(body()))


@case("fault: 500 on route any hits the nonce endpoint")
@with_faults
def _():
    S.emu.fault(route="any", count=1, status=500)
    expect_drs(S.emu.get("/EnrollmentServer/nonce/%s/?api-version=1.0" % S.emu.tid), 500,
               "InternalServerError")
    S.emu.nonce()


@case("fault: a join fault leaves other routes alone and is consumed by joins only")
@with_faults
def _():
    S.emu.fault(route="join", count=1, status=500)
    eq(S.emu.get(DISCOVER % S.emu.tid).status, 200, "discover")
    S.emu.nonce()
    expect_drs(S.emu.join(body()), 500, "InternalServerError")
    expect_ok_join(S.emu.join(body()))


@case("fault: queued faults apply in order (503, then 429, then normal)")
@with_faults
def _():
    S.emu.fault(route="nonce", count=1, status=503)
    S.emu.fault(route="nonce", count=1, status=429, retry_after=1)
    path = "/EnrollmentServer/nonce/%s/?api-version=1.0" % S.emu.tid
    eq([S.emu.get(path).status for _ in range(3)], [503, 429, 200], "statuses")


@case("fault: delay 0.5 s, then the normal answer")
@with_faults
def _():
    S.emu.fault(route="discover", count=1, delay=0.5)
    t0 = time.monotonic()
    r = S.emu.get(DISCOVER % S.emu.tid)
    took = time.monotonic() - t0
    eq(r.status, 200, "status")
    check(took >= 0.5, "answered after %.2f s" % took)


@case("fault: drop closes the connection without an answer")
@with_faults
def _():
    S.emu.fault(route="discover", count=1, drop=True)
    try:
        r = S.emu.get(DISCOVER % S.emu.tid)
        raise Failure("got an answer: %r" % r)
    except (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError):
        pass
    eq(S.emu.records()[-1]["status"], None, "logged status")


@case("fault: truncate sends half the body, then closes")
@with_faults
def _():
    S.emu.fault(route="discover", count=1, truncate=True)
    try:
        r = S.emu.get(DISCOVER % S.emu.tid)
        raise Failure("got a complete answer: %r" % r)
    except http.client.IncompleteRead as e:
        check(len(e.partial) > 0 and e.expected > 0, "partial %d, expected %r more"
              % (len(e.partial), e.expected))


@case("fault: non-JSON body (HTML, status 200 and 502)")
@with_faults
def _():
    S.emu.fault(route="discover", count=1, non_json=True)
    S.emu.fault(route="discover", count=1, non_json=True, status=502)
    for want in (200, 502):
        r = S.emu.get(DISCOVER % S.emu.tid)
        eq(r.status, want, "status")
        check(r.json is None and r.data.startswith(b"<html>"), "body is JSON: %r" % r.data[:80])
        check(r.headers["Content-Type"].startswith("text/html"), "Content-Type")


@case("fault: echo repeats the request body as text, in a login error, in HTML")
@with_faults
def _():
    fields = {"grant_type": "refresh_token", "refresh_token": "0.AXEA+secret/value="}
    sent = urllib.parse.urlencode(fields)
    S.emu.fault(route="token", count=1, echo="text")
    S.emu.fault(route="token", count=1, echo="json", status=401)
    S.emu.fault(route="token", count=1, echo="html")
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid, fields)
    eq(r.status, 400, "text: status")
    eq(r.data, b"bad request: " + sent.encode(), "text: body")
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid, fields)
    eq(r.status, 401, "json: status")
    check(sent in r.json["error_description"], "json: %r" % r.json)
    r = form(S.emu, "/%s/oauth2/token" % S.emu.tid, fields)
    check(r.headers["Content-Type"].startswith("text/html") and
          html_escape(sent).encode() in r.data, "html: %r" % r.data[:200])


@case("fault: wrong-key-cert issues a certificate for another key than the CSR's")
@with_faults
def _():
    S.emu.fault(route="join", count=1, wrong_key_cert=True)
    r = S.emu.join(body())
    cert, _ = expect_ok_join(r)
    check(cert.public_key().public_numbers() != S.dk.public_key().public_numbers(),
          "certificate is for the CSR's key")
    eq(r.json["Certificate"]["Thumbprint"],
       hashlib.sha1(base64.b64decode(r.json["Certificate"]["RawBody"])).hexdigest().upper(),
       "Thumbprint still matches RawBody")
    cert2, _ = expect_ok_join(S.emu.join(body()))
    eq(cert2.public_key().public_numbers(), S.dk.public_key().public_numbers(), "next join's key")


@case("fault: AADSTS50076 on the token route, in the login error shape")
@with_faults
def _():
    S.emu.fault(route="token", count=1, aadsts=50076)
    expect_login(form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
                      {"grant_type": "refresh_token", "client_id": BROKER}),
                 400, "interaction_required", 50076, "multi-factor")


@case("fault: a status fault on the token route answers in the login error shape")
@with_faults
def _():
    S.emu.fault(route="token", count=1, status=503)
    r = form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid, {"grant_type": "x", "client_id": BROKER})
    eq(r.status, 503, "status")
    check("error_codes" in r.json and "ErrorType" not in r.json, "shape %r" % r.json)


@case("fault: emuctl arms, lists and clears faults while the emulator runs")
@with_faults
def _():
    run(EMUCTL, "--state-dir", S.emu.dir, "fault", "--route", "discover", "--count", "3",
        "--status", "500")
    listed = json.loads(run(EMUCTL, "--state-dir", S.emu.dir, "faults").stdout)["faults"]
    eq([(f["route"], f["status"], f["remaining"]) for f in listed], [("discover", 500, 3)], "listed")
    expect_drs(S.emu.get(DISCOVER % S.emu.tid), 500, "InternalServerError")
    run(EMUCTL, "--state-dir", S.emu.dir, "clear")
    eq(S.emu.get(DISCOVER % S.emu.tid).status, 200, "after clear")


@case("fault: bad fault specs are refused (control 400, emuctl non-zero)")
@with_faults
def _():
    for spec in ({"route": "nowhere", "status": 500}, {"route": "join"},
                 {"route": "discover", "wrong_key_cert": True}, {"route": "join", "status": 99},
                 {"route": "join", "drop": True, "truncate": True}):
        status, out = S.emu.ctl("POST", "/faults", spec)
        eq(status, 400, "status for %r (%r)" % (spec, out))
    p = run(EMUCTL, "--state-dir", S.emu.dir, "fault", "--route", "discover", "--aadsts", "50076",
            check_rc=False)
    check(p.returncode != 0 and b"aadsts applies to route token" in p.stderr,
          "emuctl: rc %d, %r" % (p.returncode, p.stderr))
    eq(S.emu.ctl("GET", "/faults")[1]["faults"], [], "armed faults")


@case("fault: faulted requests are logged with the fault")
@with_faults
def _():
    S.emu.fault(route="discover", count=1, status=503)
    S.emu.get(DISCOVER % S.emu.tid)
    rec = S.emu.records()[-1]
    eq((rec["status"], rec["fault"]["status"]), (503, 503), "logged status and fault")


# ======================================================================================
# throttling: a token bucket per tenant and route (429), a concurrency limit (503)
# ======================================================================================

def with_throttle(fn):
    def wrapped():
        try:
            return fn()
        finally:
            S.emu.ctl("POST", "/config", {"throttle": {r: None for r in
                                                       ("discover", "nonce", "join", "delete",
                                                        "token")},
                                          "max_concurrent": 0})
    return wrapped


def throttled_records(route):
    return [r for r in S.emu.records() if r["route"] == route and "throttled" in r]


@case("throttle: join's bucket per tenant: the burst passes, then 429 with Retry-After, logged")
@with_throttle
def _():
    status, out = S.emu.ctl("POST", "/config", {"throttle": {"join": {"rate": 0.5, "burst": 2}}})
    eq(status, 200, "config: %r" % (out,))
    eq(out["config"]["throttle"]["limits"], {"join": {"rate": 0.5, "burst": 2}}, "limits")
    before = len(S.emu.devices())
    for i in range(2):
        expect_ok_join(S.emu.join(body()))
    n = len(throttled_records("join"))
    r = S.emu.join(body())
    expect_drs(r, 429, "DirectoryError", "throttled temporarily", "try after 2 seconds")
    # 1 / 0.5 per second: a token in at most 2 s, rounded up to whole seconds.
    eq(r.headers.get("Retry-After"), "2", "Retry-After")
    eq(len(S.emu.devices()), before + 2, "devices: a refused join made none")
    recs = throttled_records("join")
    eq(len(recs), n + 1, "refusals logged")
    eq((recs[-1]["status"], recs[-1]["throttled"]), (429, {"reason": "rate", "retry_after": 2}),
       "the log record")
    # Another tenant has a bucket of its own; other routes are not limited.
    other = mint("--tid", EXTRA_TID, "--upn", "bob@" + EXTRA_DOMAIN)
    expect_ok_join(S.emu.join(body(TargetDomain=EXTRA_DOMAIN), token=other))
    eq(S.emu.get(DISCOVER % S.emu.tid).status, 200, "discover is not limited")
    eq(S.emu.ctl("GET", "/status")[1]["throttle"]["refused"]["rate"] >= 1, True,
       "status counts the refusal")


@case("throttle: the bucket refills at its rate; a tenant's id and domain share one bucket")
@with_throttle
def _():
    S.emu.ctl("POST", "/config", {"throttle": {"nonce": {"rate": 20, "burst": 1}}})
    path = "/EnrollmentServer/nonce/%s/?api-version=1.0"
    eq(S.emu.get(path % S.emu.tid).status, 200, "first nonce")
    r = S.emu.get(path % S.emu.domain)
    expect_drs(r, 429, "DirectoryError")
    eq(r.headers.get("Retry-After"), "1", "Retry-After, at least 1 s")
    eq(S.emu.get(path % EXTRA_TID).status, 200, "another tenant")
    time.sleep(0.3)     # 6 tokens' worth at 20/s, capped at the burst of 1
    eq(S.emu.get(path % S.emu.tid).status, 200, "after the refill")
    expect_drs(S.emu.get(path % S.emu.tid), 429, "DirectoryError")


@case("throttle: the token route answers 429 in the login error shape")
@with_throttle
def _():
    S.emu.ctl("POST", "/config", {"throttle": {"token": {"rate": 1, "burst": 1}}})
    path = "/%s/v2.0/.well-known/openid-configuration" % S.emu.tid
    eq(S.emu.get(path).status, 200, "first")
    r = S.emu.get(path)
    eq((r.status, r.json.get("error")), (429, "temporarily_unavailable"), "second: %r" % (r,))
    eq(r.headers.get("Retry-After"), "1", "Retry-After")


@case("throttle: beyond max_concurrent requests in flight: 503 with Retry-After 1, logged")
@with_throttle
def _():
    eq(S.emu.ctl("POST", "/config", {"max_concurrent": 1})[0], 200, "config")
    S.emu.fault(route="discover", count=1, delay=1.5)
    slow = {}
    t = threading.Thread(target=lambda: slow.setdefault("r", S.emu.get(DISCOVER % S.emu.tid)))
    t.start()
    try:
        deadline = time.monotonic() + 5
        while S.emu.ctl("GET", "/status")[1]["throttle"]["in_flight"] < 1:
            check(time.monotonic() < deadline, "the slow request never arrived")
            time.sleep(0.02)
        r = S.emu.get(DISCOVER % S.emu.tid)
    finally:
        t.join(10)
        S.emu.clear()
    expect_drs(r, 503, "ServiceUnavailable", "too many requests at once")
    eq(r.headers.get("Retry-After"), "1", "Retry-After")
    eq(slow["r"].status, 200, "the request in flight")
    rec = [x for x in S.emu.records() if x.get("throttled")][-1]
    eq((rec["status"], rec["throttled"]), (503, {"reason": "concurrency", "retry_after": 1}),
       "the log record")
    eq(S.emu.get(DISCOVER % S.emu.tid).status, 200, "once the other is done")


@case("throttle: --throttle and --max-concurrent at start; emuctl config sets and removes them")
def _():
    e = Emu("--throttle", "join=2.5:7", "--throttle", "nonce=1:1", "--max-concurrent", "50")
    S.others.append(e)
    th = e.ctl("GET", "/status")[1]["throttle"]
    eq((th["limits"], th["max_concurrent"]),
       ({"join": {"rate": 2.5, "burst": 7}, "nonce": {"rate": 1.0, "burst": 1}}, 50), "at start")
    run(EMUCTL, "--state-dir", e.dir, "config", "--throttle", "discover=3:4", "--no-throttle",
        "nonce", "--max-concurrent", "0")
    th = e.ctl("GET", "/status")[1]["throttle"]
    eq((th["limits"], th["max_concurrent"]),
       ({"join": {"rate": 2.5, "burst": 7}, "discover": {"rate": 3.0, "burst": 4}}, 0),
       "after emuctl config")


@case("throttle: --throttle-retry-after queue: each refusal is told the slot after those before")
def _():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from drsemu.throttle import Throttle, ThrottleError
    now = [100.0]
    for mode, want in (("bucket", [1, 1, 1, 1, 1, 1]), ("queue", [1, 1, 1, 1, 2, 2])):
        t = Throttle([("join", 4.0, 2)], clock=lambda: now[0], retry_after=mode)
        got = [t.take("a", "join") for _ in range(8)]
        eq(got[:2], [None, None], "%s: the burst passes" % mode)
        eq([g[1] for g in got[2:]], want, "%s: Retry-After of refusals 1..6" % mode)
        eq(t.take("b", "join"), None, "%s: another tenant has its own bucket" % mode)
    # Queue: the slots go on from the last promised; once they are past,
    # from the next token again. Refusals take no token.
    now[0] += 1.5       # the 6 slots promised end at 101.5: the bucket is full
    eq([t.take("a", "join") for _ in range(2)], [None, None], "queue: the burst after the wait")
    eq(t.take("a", "join"), ("rate", 1), "queue: a new refusal, the queue drained")
    t.set_limit("join", 1.0, 1)
    eq(t.take("a", "join"), None, "queue: a new limit forgets the promised slots")
    eq([t.take("a", "join")[1] for _ in range(3)], [1, 2, 3], "queue: at 1 a second")
    try:
        Throttle(retry_after="fifo")
        check(False, "a bad mode accepted")
    except ThrottleError:
        pass
    e = Emu("--throttle", "join=1:1", "--throttle-retry-after", "queue")
    S.others.append(e)
    eq(e.ctl("GET", "/status")[1]["throttle"]["retry_after"], "queue", "the switch, in /status")
    eq(S.emu.ctl("GET", "/status")[1]["throttle"]["retry_after"], "bucket", "the default")
    d = tempfile.mkdtemp(prefix="state.", dir=S.work)
    p = run(EMULATOR, "--state-dir", d, "--throttle-retry-after", "fifo", check_rc=False)
    check(p.returncode == 2, "a bad switch: rc %d" % p.returncode)


@case("throttle: bad settings are refused whole (start-up 2, control 400, emuctl non-zero)")
@with_throttle
def _():
    for args in (["--throttle", "join=0:5"], ["--throttle", "join=5"], ["--throttle", "any=1:1"],
                 ["--throttle", "join=1:0"], ["--max-concurrent", "-1"]):
        d = tempfile.mkdtemp(prefix="state.", dir=S.work)
        p = run(EMULATOR, "--state-dir", d, *args, check_rc=False)
        check(p.returncode == 2 and b"drs-emulator: " in p.stderr,
              "%r: rc %d, %r" % (args, p.returncode, p.stderr))
    for cfg in ({"throttle": {"join": {"rate": 1, "burst": 1}, "nowhere": None}},
                {"throttle": {"join": {"rate": -1, "burst": 1}}},
                {"throttle": {"join": {"rate": 1}}}, {"throttle": []},
                {"throttle": {"join": {"rate": 1, "burst": 1}}, "max_concurrent": "many"},
                {"throttle": {"join": {"rate": 1, "burst": 1}}, "no_such_setting": 1}):
        status, out = S.emu.ctl("POST", "/config", cfg)
        eq(status, 400, "status for %r (%r)" % (cfg, out))
    th = S.emu.ctl("GET", "/status")[1]["throttle"]
    eq((th["limits"], th["max_concurrent"]), ({}, 0), "nothing changed")
    p = run(EMUCTL, "--state-dir", S.emu.dir, "config", "--throttle", "join=fast:1",
            check_rc=False)
    check(p.returncode == 2 and b"ROUTE=RATE:BURST" in p.stderr,
          "emuctl: rc %d, %r" % (p.returncode, p.stderr))


# ======================================================================================
# requests.jsonl
# ======================================================================================

@case("requests.jsonl: method, path, query, headers, body keys as sent, status; secrets redacted")
def _():
    token = jwt(claims(upn="hana@contoso.example"))
    b = body(Attributes=None)
    b["attributes"] = {"ReuseDevice": "true"}
    r = S.emu.join(b, token=token, headers={"Cookie": "session=s3cr3t", "client-request-id": "abc"})
    expect_ok_join(r)
    rec = S.emu.records()[-1]
    eq((rec["method"], rec["path"], rec["query"], rec["status"]),
       ("POST", "/EnrollmentServer/device/", {"api-version": "2.0"}, 200), "method/path/query/status")
    eq(rec["headers"]["authorization"], "Bearer <redacted>", "authorization")
    eq(rec["headers"]["cookie"], "<redacted>", "cookie")
    eq(rec["headers"]["ocp-adrs-client-name"], "test_emulator", "ocp-adrs-client-name")
    eq(rec["headers"]["client-request-id"], "abc", "client-request-id")
    eq(sorted(rec["body"]), sorted(b), "body keys as sent")
    eq(rec["body"]["TransportKey"], b["TransportKey"], "body TransportKey")
    with open(os.path.join(S.emu.dir, "requests.jsonl"), encoding="utf-8") as f:
        text = f.read()
    for secret in (token.split(".")[2], "s3cr3t"):
        check(secret not in text, "a secret is in requests.jsonl")


@case("requests.jsonl: form bodies have refresh tokens and device codes redacted")
def _():
    form(S.emu, "/%s/oauth2/v2.0/token" % S.emu.tid,
         {"grant_type": "refresh_token", "client_id": BROKER, "refresh_token": "0.AAAAsecretvalue"})
    rec = S.emu.records()[-1]
    eq(rec["body"]["refresh_token"], "<redacted>", "refresh_token")
    eq(rec["body"]["client_id"], BROKER, "client_id")


# ======================================================================================
# persistence, restart, SIGTERM
# ======================================================================================

@case("restart (--require-nonce, --nonce-lifetime) keeps CA, issuer key, devices, nonces; SIGTERM exits 0")
def _():
    e = Emu("--nonce-lifetime", "600", "--require-nonce", state_dir=seeded_dir())
    e.own_dir = True
    S.others.append(e)
    eq(e.ctl("GET", "/status")[1]["config"]["nonce_lifetime"], 600, "--nonce-lifetime")
    with open(e.ca, "rb") as f:
        ca_before = f.read()
    tok = mint(emu=e)
    expect_drs(e.join(body(), token=tok), 400, "InvalidParameter", "--require-nonce")
    cert, device_id = expect_ok_join(e.join(body(csr=make_csr(nonce=e.nonce())), token=tok))
    pair = write_pair("restart", cert, S.dk)
    nonce = e.nonce()
    eq(e.stop(), 0, "exit status on SIGTERM")
    leftovers = [n for n in os.listdir(e.dir) if ".tmp." in n]
    eq(leftovers, [], "temp files left in the state dir")
    with open(os.path.join(e.dir, "state.json"), encoding="utf-8") as f:
        check(device_id in json.load(f)["devices"], "device not in state.json")
    e.start()
    with open(e.ca, "rb") as f:
        eq(f.read(), ca_before, "CA after restart")
    check(device_id in e.devices(), "device forgotten")
    expect_ok_join(e.join(body(csr=make_csr(nonce=nonce)), token=tok))   # old token, old nonce
    eq(e.call("DELETE", "/EnrollmentServer/device/" + device_id, cert=pair).status, 200,
       "delete with the pre-restart certificate")


@case("--exit-with-parent: the emulator stops when the shell that started it dies")
def _():
    d = seeded_dir()
    try:
        p = subprocess.Popen(["bash", "-c", '"$1" --state-dir "$2" --exit-with-parent >"$2/out" '
                              '2>&1 & echo $!; sleep 30', "bash", EMULATOR, d],
                             stdout=subprocess.PIPE)
        pid = int(read_line(p.stdout.fileno(), 10))
        end = time.monotonic() + 10
        out = os.path.join(d, "out")
        while not (os.path.exists(out) and os.path.getsize(out)) and time.monotonic() < end:
            time.sleep(0.05)
        p.kill()                      # the parent dies without any cleanup
        p.wait()
        p.stdout.close()
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        raise Failure("emulator %d still running 5 s after its parent died" % pid)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case("a second emulator on the same state dir is refused")
def _():
    p = run(EMULATOR, "--state-dir", S.emu.dir, check_rc=False)
    check(p.returncode != 0 and b"another drs-emulator is running" in p.stderr,
          "rc %d, stderr %r" % (p.returncode, p.stderr))


# ======================================================================================
# load and speed
# ======================================================================================

@case("50 concurrent joins (each with its own nonce) all succeed")
def _():
    before = len(S.emu.devices())
    n = 50
    csrs = [make_csr(nonce=S.emu.nonce()) for _ in range(n)]
    results, errors, barrier = [None] * n, [], threading.Barrier(n)

    def go(i):
        try:
            barrier.wait()
            r = S.emu.join(body(csr=csrs[i]))
            results[i] = (r.status, r.json and r.json.get("Certificate", {}).get("Thumbprint"))
        except Exception as e:     # report, don't hang the barrier
            errors.append(repr(e))
    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    took = time.monotonic() - t0
    check(not errors, "client errors: %s" % errors[:3])
    bad = [r for r in results if not r or r[0] != 200]
    check(not bad, "%d joins failed: %r" % (len(bad), bad[:3]))
    eq(len({r[1] for r in results}), n, "distinct certificates")
    eq(len(S.emu.devices()) - before, n, "new devices recorded")
    return "(%.2f s)" % took


@case("startup on an existing state dir (with --port) is under 3 s")
def _():
    d = tempfile.mkdtemp(prefix="state-startup.", dir=S.work)
    try:
        cold = Emu(state_dir=d)
        cold_t = cold.startup
        cold.stop()
        warm = []
        for _ in range(3):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            w = Emu("--port", str(port), state_dir=d)
            warm.append(w.startup)
            eq(w.port, port, "--port")
            w.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    best = min(warm)
    check(best < 3.0, "warm startup took %.2f s" % best)
    return "(warm %.2f s, median of 3 %.2f s; cold start with key generation %.2f s)" % (
        best, sorted(warm)[1], cold_t)


# ======================================================================================
# the tools: mint-token, emuctl, lib-emulator.sh
# ======================================================================================

@case("mint-token: v2 audience gives a v2 token; --claim sets a claim")
def _():
    c = decode_claims(mint("--aud", DRS_APP_ID, "--upn", "ivan@contoso.example",
                           "--claim", "amr=[\"pwd\",\"mfa\"]"))
    eq((c["aud"], c["ver"], c["iss"], c["upn"], c["amr"]),
       (DRS_APP_ID, "2.0", "https://login.microsoftonline.com/%s/v2.0" % S.emu.tid,
        "ivan@contoso.example", ["pwd", "mfa"]), "claims")
    check(c["exp"] - c["iat"] == 3600, "lifetime %d" % (c["exp"] - c["iat"]))


@case("mint-token on a directory without emulator keys fails with a message")
def _():
    d = tempfile.mkdtemp(prefix="state-empty.", dir=S.work)
    try:
        p = run(MINT, "--state-dir", d, check_rc=False)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check(p.returncode != 0 and b"holds no emulator keys" in p.stderr,
          "rc %d, %r" % (p.returncode, p.stderr))


@case("emuctl devices and status print JSON; a stopped emulator gives a clear error")
def _():
    devs = json.loads(run(EMUCTL, "--state-dir", S.emu.dir, "devices").stdout)
    check(isinstance(devs, list) and devs and "device_id" in devs[0], "devices output")
    n = int(run(EMUCTL, "--state-dir", S.emu.dir, "devices", "--count").stdout)
    eq(n, len(devs), "devices --count")
    st = json.loads(run(EMUCTL, "--state-dir", S.emu.dir, "status").stdout)
    eq(st["url"], S.emu.url, "status url")
    d = tempfile.mkdtemp(prefix="state-dead.", dir=S.work)
    try:
        with socket.socket() as sock:           # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            dead = sock.getsockname()[1]
        with open(os.path.join(d, "emulator.json"), "w") as f:
            json.dump({"control": "http://127.0.0.1:%d" % dead}, f)
        p = run(EMUCTL, "--state-dir", d, "devices", check_rc=False)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check(p.returncode != 0 and b"cannot reach the emulator's control interface" in p.stderr,
          "rc %d, %r" % (p.returncode, p.stderr))


@case("lib-emulator.sh under set -eu: start, token, fault, device count, cleanup from a trap")
def _():
    script = r'''
set -eu -o pipefail
. "$1"
trap emu_cleanup EXIT
emu_start --nonce-lifetime 60
echo "dir=$EMU_DIR"
echo "pid=$EMU_PID"
kill -0 "$EMU_PID"
for v in EMU_URL EMU_CA EMU_TENANT_ID EMU_TENANT_DOMAIN; do [ -n "${!v}" ]; done
tok=$(emu_token --upn a@contoso.example)
[ "${#tok}" -gt 100 ]
emu_fault --route discover --count 1 --status 503
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$EMU_CA" "$EMU_URL/$EMU_TENANT_ID/Discover?api-version=1.9")
[ "$code" = 503 ]
emu_fault clear
[ "$(emu_device_count)" = 0 ]
[ -f "$(emu_requests)" ]
emu_stop
emu_stop
echo done
'''
    if not shutil.which("curl"):
        raise Skip("no curl")
    p = subprocess.run(["bash", "-c", script, "bash", LIB_SH], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, env=dict(os.environ, TMPDIR=S.work))
    out = p.stdout.decode()
    check(p.returncode == 0 and out.endswith("done\n"),
          "rc %d, out %r, err %r" % (p.returncode, out, p.stderr.decode()[-400:]))
    d = re.search(r"dir=(\S+)", out).group(1)
    pid = int(re.search(r"pid=(\d+)", out).group(1))
    check(not os.path.exists(d), "emu_cleanup left %s" % d)
    try:
        os.kill(pid, 0)
        raise Failure("emulator %d still running" % pid)
    except ProcessLookupError:
        pass


@case("lib-emulator.sh: emu_start fails loudly when the emulator cannot start")
def _():
    tmp = tempfile.mkdtemp(prefix="state-tmp.", dir=S.work)
    try:
        script = '. "$1"; set -eu; emu_start --tenant-id not-a-guid; echo started'
        p = subprocess.run(["bash", "-c", script, "bash", LIB_SH], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=dict(os.environ, TMPDIR=tmp))
        left = os.listdir(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    err = p.stderr.decode()
    check(p.returncode != 0 and "started" not in p.stdout.decode(), "rc %d" % p.returncode)
    check("emu_start: drs-emulator exited before it was ready" in err and "bad tenant" in err,
          "stderr %r" % err)
    eq(left, [], "left in TMPDIR")


# ======================================================================================
# MS-OAPXBC: the Primary Refresh Token (srv_challenge, RS256 PRT request, HS256 use)
# ======================================================================================

PW_CLIENT = "38aa3b87-a06d-4817-b275-7a316988d93b"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def prt_kdf(key, context):
    """SP 800-108 counter mode with HMAC-SHA256 (protocol.md), by hand."""
    return hmac.new(key, b"\0\0\0\1AzureAD-SecureConversation\0" + context + b"\0\0\1\0",
                    hashlib.sha256).digest()


def token_post(fields, tenant=None):
    return S.emu.call("POST", "/%s/oauth2/token" % (tenant or S.emu.tid),
                      body=urllib.parse.urlencode(fields).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})


def srv_nonce(tenant="common"):
    r = token_post({"grant_type": "srv_challenge"}, tenant)
    eq(r.status, 200, "srv_challenge status (%r)" % r)
    eq(sorted(r.json), ["Nonce"], "srv_challenge answer members")
    return r.json["Nonce"]


def jws(header, payload_bytes, sign):
    s = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(payload_bytes)
    return s + "." + b64url(sign(s.encode()))


def rs256(claims, key, cert, array=False):
    x5c = b64(cert.public_bytes(serialization.Encoding.DER))
    return jws({"alg": "RS256", "typ": "JWT", "x5c": [x5c] if array else x5c},
               json.dumps(claims).encode(),
               lambda s: key.sign(s, padding.PKCS1v15(), hashes.SHA256()))


def hs256(session_key, claims, v2=False, payload=None, ctx=None):
    ctx = ctx or os.urandom(24)
    payload = payload if payload is not None else json.dumps(claims).encode()
    header = {"alg": "HS256", "typ": "JWT", "ctx": b64(ctx)}
    if v2:
        header["kdf_ver"] = 2
    key = prt_kdf(session_key, hashlib.sha256(ctx + payload).digest() if v2 else ctx)
    return jws(header, payload, lambda s: hmac.new(key, s, hashlib.sha256).digest())


def prt_post(request, tenant=None, **extra):
    f = {"grant_type": JWT_BEARER, "request": request, "client_info": "1", "tgt": "true",
         "windows_api_version": "2.0"}
    f.update(extra)
    return token_post({k: v for k, v in f.items() if v is not None}, tenant)


def rt_claims(rt=None, nonce=None, **extra):
    c = {"client_id": BROKER, "request_nonce": nonce or srv_nonce(), "scope": "openid aza",
         "grant_type": "refresh_token",
         "refresh_token": rt or S.emu.ctl("POST", "/refresh-token", {})[1]["refresh_token"]}
    c.update(extra)
    return c


def unwrap(session_key_jwe, tk=None):
    h, ek, iv, ct, tag = session_key_jwe.split(".")
    eq(json.loads(b64url_decode(h)), {"enc": "A256GCM", "alg": "RSA-OAEP"}, "session_key_jwe header")
    eq((len(b64url_decode(iv)), len(b64url_decode(tag))), (12, 16), "IV and tag lengths")
    return (tk or S.tk).decrypt(b64url_decode(ek), OAEP_SHA1)


def open_answer(text, session_key):
    """The JWE answer decrypted as a client does (CBC, or GCM for a 12-byte IV)."""
    h, ek, iv, ct, tag = text.split(".")
    header = json.loads(b64url_decode(h))
    eq((header["alg"], header["enc"], ek), ("dir", "A256GCM", ""), "answer header and key part")
    key = prt_kdf(session_key, base64.b64decode(header["ctx"], validate=True))
    iv, ct, tag = b64url_decode(iv), b64url_decode(ct), b64url_decode(tag)
    if len(iv) == 12:
        plain = AESGCM(key).decrypt(iv, ct + tag, h.encode())
    else:
        eq((len(iv), tag), (16, b""), "CBC: IV length and empty tag")
        d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        u = sympadding.PKCS7(128).unpadder()
        plain = u.update(d.update(ct) + d.finalize()) + u.finalize()
    return json.loads(plain), len(iv)


def new_prt(key=None, array=False, **extra):
    """A joined device and a PRT for it: (device id, cert, PRT answer, session key)."""
    key = key or S.dk
    device_id, _, cert = joined_device(key, "prt")
    r = prt_post(rs256(rt_claims(**extra), key, cert, array))
    check(r.status == 200, "PRT request refused: %r" % r)
    return device_id, cert, r.json, unwrap(r.json["session_key_jwe"])


def use_prt(prt, session_key, v2=False, **extra):
    c = {"grant_type": "refresh_token", "refresh_token": prt, "request_nonce": srv_nonce(),
         "client_id": BROKER, "resource": "https://graph.microsoft.com",
         "redirect_uri": "ms-appx-web://Microsoft.AAD.BrokerPlugin/" + BROKER,
         "iss": "aad:brokerplugin", "aud": "login.microsoftonline.com",
         "iat": int(time.time()), "exp": int(time.time()) + 300}
    c.update(extra)
    return prt_post(hs256(session_key, {k: v for k, v in c.items() if v is not None}, v2=v2))


def jwt_claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))


@case("PRT: srv_challenge answers {Nonce} at /common/ and /{tenant}/; a nonce past its lifetime is refused")
def _():
    check(srv_nonce("common") != srv_nonce(S.emu.tid), "two nonces are equal")
    device_id, _, cert = joined_device(S.dk, "prt-nonce")
    S.emu.ctl("POST", "/config", {"nonce_lifetime": 0.3})
    try:
        n = srv_nonce()
        time.sleep(0.45)
        expect_login(prt_post(rs256(rt_claims(nonce=n), S.dk, cert)), 400, "invalid_grant",
                     50138, "request_nonce expired")
        expect_login(prt_post(rs256(rt_claims(nonce=n[:-4] + ("zzzz" if n[-4:] != "zzzz" else "yyyy")), S.dk, cert)), 400,
                     "invalid_grant", 50138, "not issued by this emulator")
    finally:
        S.emu.ctl("POST", "/config", {"nonce_lifetime": 300})


@case("PRT: a refresh token and the device key get a PRT; session_key_jwe unwraps with the transport key")
def _():
    device_id, cert, a, sk = new_prt()
    eq(len(sk), 32, "session key length")
    eq((a["token_type"], a["refresh_token_expires_in"], a["expires_in"]),
       ("pop", 1209599, "1209599"), "token_type, lifetimes (expires_in a string)")
    check(isinstance(a["expires_on"], str) and isinstance(a["ext_expires_in"], str),
          "expires_on and ext_expires_in are strings")
    idt = a["id_token"].split(".")
    eq(json.loads(b64url_decode(idt[0]))["alg"], "none", "id_token alg")
    upn = "user@" + S.emu.domain
    eq(jwt_claims(a["id_token"])["upn"], upn, "id_token upn")
    eq(json.loads(b64url_decode(a["client_info"]))["utid"], S.emu.tid, "client_info utid")
    # x5c as an array of one, tgt True, windows_api_version 2.2 (roadtx).
    r = prt_post(rs256(rt_claims(), S.dk, cert, array=True), tgt="True",
                 windows_api_version="2.2")
    eq(r.status, 200, "x5c array, tgt True, 2.2 (%r)" % r)
    check(unwrap(r.json["session_key_jwe"]) != sk, "a new PRT has a new session key")


@case("PRT: the password grant (client 38aa3b87) for an emulator user; a wrong password is AADSTS50126")
def _():
    upn = "svc-ci@" + S.emu.domain
    eq(S.emu.ctl("POST", "/user", {"upn": upn, "password": "correct horse"})[0], 200, "add user")
    device_id, _, cert = joined_device(S.dk, "prt-pw")
    c = {"client_id": PW_CLIENT, "request_nonce": srv_nonce(), "scope": "openid aza ugs",
         "grant_type": "password", "username": upn, "password": "correct horse"}
    r = prt_post(rs256(c, S.dk, cert))
    check(r.status == 200, "password PRT: %r" % r)
    eq(jwt_claims(r.json["id_token"])["upn"], upn, "id_token upn")
    c.update(password="wrong", request_nonce=srv_nonce())
    expect_login(prt_post(rs256(c, S.dk, cert)), 400, "invalid_grant", 50126)
    c.update(password="correct horse", client_id=BROKER, request_nonce=srv_nonce())
    expect_login(prt_post(rs256(c, S.dk, cert)), 400, "invalid_grant", 700016, PW_CLIENT)


@case("PRT: refused requests (scope, client, signature, certificate, api version, tenant)")
def _():
    device_id, _, cert = joined_device(S.dk, "prt-bad")
    expect_login(prt_post(rs256(rt_claims(scope="openid"), S.dk, cert)), 400, "invalid_scope",
                 70011, "openid and aza")
    other_rt = S.emu.ctl("POST", "/refresh-token", {"client_id": PW_CLIENT})[1]["refresh_token"]
    expect_login(prt_post(rs256(rt_claims(rt=other_rt), S.dk, cert)), 400, "invalid_grant",
                 70000, "issued to client " + PW_CLIENT)
    expect_login(prt_post(rs256(rt_claims(), S.dk2, cert)), 400, "invalid_grant", 50155,
                 "not signed by the key of its x5c certificate")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    now = datetime.datetime.now(datetime.timezone.utc)
    forged = (x509.CertificateBuilder().subject_name(name).issuer_name(cert.issuer)
              .public_key(S.dk.public_key()).serial_number(7).not_valid_before(now)
              .not_valid_after(now + datetime.timedelta(days=1)).sign(S.dk, hashes.SHA256()))
    expect_login(prt_post(rs256(rt_claims(), S.dk, forged)), 400, "invalid_grant", 50155,
                 "not signed by this emulator's device CA")
    expect_login(prt_post(rs256(rt_claims(), S.dk, cert), windows_api_version="1.0"), 400,
                 "invalid_request", 900144, "windows_api_version")
    expect_login(prt_post(rs256(rt_claims(), S.dk, cert), tenant=EXTRA_TID), 400,
                 "invalid_grant", 50020)
    bad_sig = rs256(rt_claims(), S.dk, cert)
    expect_login(prt_post(bad_sig[:-4] + ("AAAA" if bad_sig[-4:] != "AAAA" else "BBBB")), 400,
                 "invalid_grant", 50155)


@case("PRT: HS256 with KDF v1 and v2 gets an access token with deviceid, as a CBC JWE (16-byte IV)")
def _():
    device_id, cert, a, sk = new_prt()
    for v2 in (False, True):
        r = use_prt(a["refresh_token"], sk, v2=v2)
        check(r.status == 200, "v%d: %r" % (2 if v2 else 1, r))
        body, ivlen = open_answer(r.data.decode(), sk)
        eq(ivlen, 16, "IV length")
        c = jwt_claims(body["access_token"])
        eq((c["deviceid"], c["aud"], c["upn"]), (device_id, "https://graph.microsoft.com",
                                                   "user@" + S.emu.domain), "access token claims")
        check(isinstance(body["expires_in"], str), "expires_in is a string")
    # v2 hashes the payload bytes as received: spacing no serialiser repeats.
    c = {"grant_type": "refresh_token", "refresh_token": a["refresh_token"],
         "request_nonce": srv_nonce(), "client_id": BROKER, "resource": "https://graph.microsoft.com"}
    odd = ('{ "resource" :"https://graph.microsoft.com",  "client_id":"%s","grant_type":'
           '"refresh_token","request_nonce":"%s","refresh_token":"%s" }'
           % (BROKER, c["request_nonce"], c["refresh_token"])).encode()
    r = prt_post(hs256(sk, c, v2=True, payload=odd))
    eq(r.status, 200, "v2 over odd payload bytes (%r)" % r)
    # Without a resource (roadlib's id-token-only request): no access token.
    r = use_prt(a["refresh_token"], sk, resource=None, scope="openid")
    check(r.status == 200, "no resource: %r" % r)
    body, _ = open_answer(r.data.decode(), sk)
    check("access_token" not in body and body["refresh_token"] and body["id_token"],
          "no resource: %s" % sorted(body))
    expect_login(use_prt(a["refresh_token"], os.urandom(32)), 400, "invalid_grant", 50013,
                 "KDF v1")
    expect_login(use_prt(a["refresh_token"], os.urandom(32), v2=True), 400, "invalid_grant",
                 50013, "KDF v2")
    expect_login(use_prt("0.AVPRT-not-one", sk), 400, "invalid_grant", 9002313)
    for path in ("/%s/oauth2/token", "/%s/oauth2/v2.0/token"):
        r = S.emu.call("POST", path % S.emu.tid, body=urllib.parse.urlencode({
            "grant_type": "refresh_token", "refresh_token": a["refresh_token"],
            "client_id": BROKER, "resource": "https://graph.microsoft.com",
            "scope": "https://graph.microsoft.com/.default"}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        expect_login(r, 400, "invalid_grant", 7000016)


@case("PRT: the AES-GCM answer (12-byte IV, header as AAD) behind config prt_jwe_gcm")
def _():
    device_id, cert, a, sk = new_prt()
    S.emu.ctl("POST", "/config", {"prt_jwe_gcm": True})
    try:
        r = use_prt(a["refresh_token"], sk)
    finally:
        S.emu.ctl("POST", "/config", {"prt_jwe_gcm": False})
    check(r.status == 200, "%r" % r)
    body, ivlen = open_answer(r.data.decode(), sk)
    eq(ivlen, 12, "IV length")
    eq(jwt_claims(body["access_token"])["deviceid"], device_id, "deviceid")


@case("PRT: renewal (scope with aza) answers a new PRT and no session key; it works with the old one")
def _():
    device_id, cert, a, sk = new_prt()
    r = use_prt(a["refresh_token"], sk, scope="openid aza ugs", client_id=PW_CLIENT,
                resource=None, previous_refresh_token=a["refresh_token"])
    check(r.status == 200, "%r" % r)
    body, _ = open_answer(r.data.decode(), sk)
    check("session_key_jwe" not in body, "renewal carries a session key")
    check(body["refresh_token"] != a["refresh_token"], "renewal gave the same PRT")
    eq(body["refresh_token_expires_in"], 1209599, "refresh_token_expires_in")
    eq(use_prt(body["refresh_token"], sk).status, 200, "the renewed PRT with the old session key")


@case("PRT: revoked, expired, disabled-device and deleted-device PRTs are refused")
def _():
    device_id, cert, a, sk = new_prt()
    upn = "user@" + S.emu.domain
    eq(S.emu.ctl("POST", "/device", {"device_id": device_id, "disabled": True})[0], 200, "disable")
    expect_login(use_prt(a["refresh_token"], sk), 400, "invalid_grant", 135011, device_id)
    expect_login(prt_post(rs256(rt_claims(), S.dk, cert)), 400, "invalid_grant", 135011)
    S.emu.ctl("POST", "/device", {"device_id": device_id, "disabled": False})
    eq(use_prt(a["refresh_token"], sk).status, 200, "enabled again")
    aged = S.emu.ctl("POST", "/prt/age", {"upn": upn, "seconds": 1209600})
    check(aged[0] == 200 and aged[1]["aged"] >= 1, "age: %r" % (aged,))
    expect_login(use_prt(a["refresh_token"], sk), 400, "invalid_grant", 70000, "PRT expired")
    device_id, cert, a, sk = new_prt()
    check(S.emu.ctl("POST", "/prt/revoke", {"upn": upn})[1]["revoked"] >= 1, "revoke")
    expect_login(use_prt(a["refresh_token"], sk), 400, "invalid_grant", 70000, "revoked")
    device_id, cert, a, sk = new_prt()
    pair = write_pair("prt-del-" + device_id, cert, S.dk)
    eq(delete(device_id, cert=pair).status, 200, "leave")
    expect_login(use_prt(a["refresh_token"], sk), 400, "invalid_grant", 700003, device_id)
    expect_login(prt_post(rs256(rt_claims(), S.dk, cert)), 400, "invalid_grant", 700003)


NATIVE = "https://login.microsoftonline.com/common/oauth2/nativeclient"


def sso_cookie(prt, session_key, v2=False, **extra):
    """x-ms-RefreshTokenCredential as roadtx makes it: no typ, ctx[, kdf_ver 2]."""
    c = {"refresh_token": prt, "is_primary": "true", "request_nonce": srv_nonce()}
    c.update(extra)
    c = {k: v for k, v in c.items() if v is not None}
    ctx, payload = os.urandom(24), json.dumps(c).encode()
    header = {"alg": "HS256", "ctx": b64(ctx)}
    if v2:
        header["kdf_ver"] = 2
    key = prt_kdf(session_key, hashlib.sha256(ctx + payload).digest() if v2 else ctx)
    return jws(header, payload, lambda s: hmac.new(key, s, hashlib.sha256).digest())


def authorize(cookie, tenant=None, **params):
    q = {"client_id": BROKER, "response_type": "code", "redirect_uri": NATIVE,
         "resource": "https://graph.microsoft.com", "sso_nonce": srv_nonce()}
    q.update(params)
    headers = {"Cookie": "x-ms-RefreshTokenCredential=" + cookie} if cookie else {}
    return S.emu.get("/%s/oauth2/authorize?%s" % (tenant or S.emu.tid, urllib.parse.urlencode(
        {k: v for k, v in q.items() if v is not None})), headers=headers)


def redeem(code, **extra):
    f = {"grant_type": "authorization_code", "code": code, "client_id": BROKER,
         "redirect_uri": NATIVE, "resource": "https://graph.microsoft.com"}
    f.update(extra)
    return token_post(f)


@case("PRT: the SSO cookie on /authorize (KDF v1 and v2) answers 302 with a code; the code grant gives a token with deviceid, once")
def _():
    device_id, cert, a, sk = new_prt()
    for v2 in (False, True):
        r = authorize(sso_cookie(a["refresh_token"], sk, v2=v2), state="st8")
        eq(r.status, 302, "authorize status (%r)" % r)
        loc = urllib.parse.urlsplit(r.headers["Location"])
        eq(loc.scheme + "://" + loc.netloc + loc.path, NATIVE, "redirect")
        q = urllib.parse.parse_qs(loc.query)
        eq(q["state"], ["st8"], "state")
        t = redeem(q["code"][0])
        check(t.status == 200, "code grant: %r" % t)
        eq(jwt_claims(t.json["access_token"])["deviceid"], device_id, "deviceid")
    expect_login(redeem(q["code"][0]), 400, "invalid_grant", 54005)
    r = authorize(sso_cookie(a["refresh_token"], sk))
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)["code"][0]
    expect_login(redeem(code, redirect_uri="https://evil.example/"), 400, "invalid_grant", 70000)
    # The cookie without request_nonce: its iat must be recent.
    eq(authorize(sso_cookie(a["refresh_token"], sk, request_nonce=None,
                            iat=str(int(time.time())))).status, 302, "iat cookie")
    expect_login(authorize(sso_cookie(a["refresh_token"], sk, request_nonce=None,
                                      iat=str(int(time.time()) - 3600))), 400, "invalid_grant",
                 50138)
    expect_login(authorize(sso_cookie(a["refresh_token"], os.urandom(32))), 400,
                 "invalid_grant", 50013)
    expect_login(authorize(None), 400, "interaction_required", 50058)
    expect_login(authorize(sso_cookie(a["refresh_token"], sk), tenant=EXTRA_TID), 400,
                 "invalid_grant", 50020)


@case("PRT: the device-only token (grant_type device_token, roadlib's get_token_for_device): answered, then disabled, then deleted")
def _():
    device_id, _, cert = joined_device(S.dk, "prt-devtok")

    def ask():
        c = {"resource": "https://graph.microsoft.com", "client_id": BROKER,
             "request_nonce": srv_nonce(), "grant_type": "device_token", "iss": "aad:brokerplugin",
             "redirect_uri": "ms-appx-web://Microsoft.AAD.BrokerPlugin/" + BROKER}
        return prt_post(rs256(c, S.dk, cert), tgt=None, client_info=None)
    r = ask()
    check(r.status == 200, "device token: %r" % r)
    c = jwt_claims(r.json["access_token"])
    eq((c["deviceid"], c["idtyp"], c["tid"]), (device_id, "device", S.emu.tid), "device claims")
    S.emu.ctl("POST", "/device", {"device_id": device_id, "disabled": True})
    expect_login(ask(), 400, "invalid_grant", 135011)
    S.emu.ctl("POST", "/device", {"device_id": device_id, "disabled": False})
    pair = write_pair("prt-devtok-" + device_id, cert, S.dk)
    eq(delete(device_id, cert=pair).status, 200, "leave")
    expect_login(ask(), 400, "invalid_grant", 700003)


@case("PRT: faults of route prt: status with Retry-After, aadsts, and answers that lie (malformed, wrong_ctx, bad_padding, wrong_tenant)")
def _():
    device_id, cert, a, sk = new_prt()
    S.emu.fault(route="prt", status=503, retry_after=7)
    r = token_post({"grant_type": "srv_challenge"}, "common")
    expect_login(r, 503, "temporarily_unavailable", 90033)
    eq(r.headers["Retry-After"], "7", "Retry-After")

    def hs_request():
        return hs256(sk, {"grant_type": "refresh_token", "refresh_token": a["refresh_token"],
                          "request_nonce": srv_nonce(), "client_id": BROKER,
                          "resource": "https://graph.microsoft.com"})

    def with_fault(request, **spec):
        S.emu.fault(route="prt", **spec)
        return prt_post(request)
    expect_login(with_fault(hs_request(), aadsts=700082), 400, "invalid_grant", 700082)
    r = with_fault(hs_request(), prt_answer="malformed")
    eq((r.status, len(r.data.decode().split("."))), (200, 4), "malformed: 4 parts")
    for lie in ("wrong_ctx", "bad_padding"):
        r = with_fault(hs_request(), prt_answer=lie)
        eq(r.status, 200, lie)
        try:
            open_answer(r.data.decode(), sk)
            raise Failure("%s: the answer decrypted" % lie)
        except ValueError:
            pass
    r = with_fault(hs_request(), prt_answer="wrong_tenant")
    body, _ = open_answer(r.data.decode(), sk)
    check(jwt_claims(body["access_token"])["tid"] not in (S.emu.tid, EXTRA_TID),
          "wrong_tenant: access token tid %s" % jwt_claims(body["access_token"])["tid"])
    req = rs256(rt_claims(), S.dk, cert)
    r = with_fault(req, prt_answer="wrong_tenant")
    check(r.status == 200 and jwt_claims(r.json["id_token"])["tid"] != S.emu.tid and
          json.loads(b64url_decode(r.json["client_info"]))["utid"] != S.emu.tid,
          "wrong_tenant PRT answer: %r" % r)
    r = with_fault(rs256(rt_claims(), S.dk, cert), prt_answer="malformed")
    eq(len(r.json["session_key_jwe"].split(".")), 4, "malformed session_key_jwe")
    # A PRT request takes no second fault of route any (the server took one).
    S.emu.fault(route="any", delay=0.01)
    S.emu.fault(route="any", status=500)
    eq(token_post({"grant_type": "srv_challenge"}).status, 200, "delayed only")
    eq(token_post({"grant_type": "srv_challenge"}).status, 500, "then the second any fault")
    # Faults of route prt are taken by PRT requests only; bad specs are refused.
    S.emu.fault(route="prt", status=500)
    eq(S.emu.get("/%s/discovery/v2.0/keys" % S.emu.tid).status, 200, "keys untouched")
    expect_login(token_post({"grant_type": "srv_challenge"}), 500, "temporarily_unavailable",
                 90033)
    for spec in ({"route": "prt", "drop": True}, {"route": "token", "prt_answer": "malformed"},
                 {"route": "prt", "prt_answer": "lie"}):
        eq(S.emu.ctl("POST", "/faults", spec)[0], 400, "refused fault %r" % spec)
    out = json.loads(run(EMUCTL, "--state-dir", S.emu.dir, "fault", "--route", "prt",
                         "--prt-answer", "bad_padding").stdout)
    eq(out["armed"]["prt_answer"], "bad_padding", "emuctl fault --prt-answer")
    S.emu.clear()


@case("PRT: emuctl user (password on stdin), device --disable/--enable/--delete, age-prt, revoke-prt, config --prt-jwe-gcm")
def _():
    ctl = [EMUCTL, "--state-dir", S.emu.dir]
    upn = "emuctl-user@" + S.emu.domain
    p = subprocess.run(ctl + ["user", "--upn", upn], input=b"s3cret\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    eq((p.returncode, json.loads(p.stdout)["user"]["upn"]), (0, upn), "user")
    device_id, _, cert = joined_device(S.dk, "prt-emuctl")
    c = {"client_id": PW_CLIENT, "request_nonce": srv_nonce(), "scope": "openid aza ugs",
         "grant_type": "password", "username": upn, "password": "s3cret"}
    r = prt_post(rs256(c, S.dk, cert))
    check(r.status == 200, "password from stdin: %r" % r)
    prt, sk = r.json["refresh_token"], unwrap(r.json["session_key_jwe"])
    run(*ctl, "device", "--device-id", device_id, "--disable")
    expect_login(use_prt(prt, sk), 400, "invalid_grant", 135011)
    run(*ctl, "device", "--device-id", device_id, "--enable")
    run(*ctl, "config", "--prt-jwe-gcm")
    try:
        r = use_prt(prt, sk)
        eq((r.status, open_answer(r.data.decode(), sk)[1]), (200, 12), "GCM answer")
    finally:
        run(*ctl, "config", "--no-prt-jwe-gcm")
    eq(json.loads(run(*ctl, "age-prt", "--upn", upn, "--seconds", "1209600").stdout)["aged"], 1,
       "aged")
    expect_login(use_prt(prt, sk), 400, "invalid_grant", 70000, "expired")
    c.update(request_nonce=srv_nonce())
    r = prt_post(rs256(c, S.dk, cert))
    prt, sk = r.json["refresh_token"], unwrap(r.json["session_key_jwe"])
    eq(json.loads(run(*ctl, "revoke-prt", "--upn", upn).stdout)["revoked"], 2, "revoked")
    expect_login(use_prt(prt, sk), 400, "invalid_grant", 70000, "revoked")
    c.update(request_nonce=srv_nonce())
    r = prt_post(rs256(c, S.dk, cert))
    prt, sk = r.json["refresh_token"], unwrap(r.json["session_key_jwe"])
    run(*ctl, "device", "--device-id", device_id, "--delete")
    check(device_id not in S.emu.devices(), "deleted")
    expect_login(use_prt(prt, sk), 400, "invalid_grant", 700003)


# ======================================================================================

def main(argv):
    wanted = argv[1:]
    failed = 0
    try:
        setup()
    except Exception as e:
        print("not ok - setup: %s" % e)
        traceback.print_exc()
        teardown()
        return 1
    try:
        for name, fn in CASES:
            if wanted and not any(w in name for w in wanted):
                continue
            t0 = time.monotonic()
            try:
                extra = fn()
                print("ok - %s%s" % (name, " " + extra if extra else ""), flush=True)
            except Skip as e:
                print("skip - %s: %s" % (name, e), flush=True)
            except Failure as e:
                failed += 1
                print("not ok - %s: %s" % (name, str(e).replace("\n", " ")), flush=True)
            except Exception as e:
                failed += 1
                print("not ok - %s: %s: %s" % (name, type(e).__name__, str(e).replace("\n", " ")),
                      flush=True)
                traceback.print_exc()
            if os.environ.get("EMU_TEST_TIMES"):
                sys.stderr.write("%6.2f s  %s\n" % (time.monotonic() - t0, name))
    finally:
        teardown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
