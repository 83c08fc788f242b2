"""The emulator's shared context and the request/response types handlers use."""
import json
import threading
import time
from dataclasses import dataclass, field

from .errors import DrsError
from .throttle import Throttle


@dataclass
class Config:
    """Settings that may change while running (through the control interface)."""
    nonce_lifetime: float = 300.0
    require_nonce: bool = False
    device_code_interval: int = 1
    device_code_lifetime: int = 900
    device_code_message: str = ""   # the answer's message, {uri} and {code} filled in
    refuse_nonce: bool = False      # 400 for any CSR carrying the nonce extension
    nonce_service: bool = True      # False: discovery names no NonceService
    auth_service: bool = True       # False: discovery names no AuthenticationService
    prt_jwe_gcm: bool = False       # PRT answers as AES-GCM (12-byte IV), not the observed CBC

    def as_json(self):
        return dict(self.__dict__)


class Emulator:
    def __init__(self, tenants, pki, state, faults, config, request_log):
        self.tenants = tenants
        self.pki = pki
        self.state = state
        self.faults = faults
        self.config = config
        self.request_log = request_log
        self.origin = None          # https://127.0.0.1:PORT, once bound
        self.client_cert_check = None   # "http" or "tls", see tlsverify
        self.tls_versions = None        # "1.2-1.3", "1.2" or "1.3": what the server offers
        self.deletes = 0                # devices deleted (leave) since the start
        self.throttle = Throttle()      # rate and concurrency limits (none by default)
        self._lock = threading.Lock()

    def count_delete(self):
        with self._lock:
            self.deletes += 1


@dataclass
class Request:
    method: str
    path: str
    query: dict                      # lower-cased name -> [values]
    headers: object                  # email.message.Message (case-insensitive)
    body: bytes
    client_cert: bytes = None        # DER of the TLS client certificate, if any
    tls_version: str = None
    warnings: list = field(default_factory=list)
    log: dict = field(default_factory=dict)   # extra fields for requests.jsonl
    wrong_key_cert: bool = False     # fault: certify another key than the CSR's
    prt_fault: str = None            # fault prt_answer: how a PRT answer lies (prt.py)
    origin: str = None               # https://HOST:PORT as the client addressed us
    host: str = None                 # HOST of that (lower case, no port)

    def header(self, name):
        return self.headers.get(name)

    def param(self, name):
        """One query parameter (name case-insensitive), None when absent."""
        values = self.query.get(name.lower())
        if not values:
            return None
        if len(set(values)) > 1:
            raise DrsError(400, "InvalidRequest", "query parameter %s is given %d times with "
                           "different values" % (name, len(values)))
        return values[0]


@dataclass
class Response:
    status: int
    body: object = None              # JSON-able, or bytes with content_type
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self):
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


class RequestLog:
    """DIR/requests.jsonl: one JSON object per request, appended and flushed
    before the response goes out, so a client that got its answer can read
    the record at once."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8")

    def write(self, record):
        line = json.dumps(record, sort_keys=False, default=str) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()

    def close(self):
        with self.lock:
            self.f.close()


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
