"""drs-emulator: start the emulator on a state directory."""
import argparse
import fcntl
import json
import os
import signal
import sys
import threading
import uuid

from .app import Config, Emulator, RequestLog
from .control import ControlServer
from .faults import FaultBoard
from .fsutil import INFO_FILE, write_atomic
from .pki import Pki
from .server import HttpsServer, make_tls_context
from .state import State
from .tenants import Tenant, Tenants
from .throttle import ThrottleError, parse_spec

DEFAULT_TENANT_ID = "d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d"
DEFAULT_TENANT_DOMAIN = "contoso.example"


def die(msg, code=1):
    sys.stderr.write("drs-emulator: %s\n" % msg)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="drs-emulator", description="Offline emulator of Entra ID's "
                                "Device Registration Service (see README.md).")
    p.add_argument("--state-dir", required=True, metavar="DIR",
                   help="keys, CA, devices, nonces and requests.jsonl live here")
    p.add_argument("--port", type=int, default=0, help="HTTPS port (0: a free one)")
    p.add_argument("--control-port", type=int, default=0,
                   help="control interface port on 127.0.0.1 (0: a free one)")
    p.add_argument("--tenant-id", default=DEFAULT_TENANT_ID, metavar="GUID")
    p.add_argument("--tenant-domain", default=DEFAULT_TENANT_DOMAIN, metavar="DOMAIN")
    p.add_argument("--extra-tenant", action="append", default=[], metavar="GUID=DOMAIN",
                   help="serve another tenant too (repeatable)")
    p.add_argument("--nonce-lifetime", type=float, default=300.0, metavar="SECONDS")
    p.add_argument("--require-nonce", action="store_true",
                   help="refuse a join whose CSR has no nonce extension")
    p.add_argument("--refuse-nonce", action="store_true",
                   help="refuse (400) a join whose CSR carries the nonce extension")
    p.add_argument("--no-nonce-service", action="store_true",
                   help="discovery names no NonceService")
    p.add_argument("--client-cert-check", choices=("auto", "tls"), default="auto",
                   help="tls: judge client certificates in the TLS handshake (the fallback "
                   "when the HTTP-level check cannot be installed)")
    p.add_argument("--tls-min", choices=("1.2", "1.3"), default="1.2",
                   help="the oldest TLS version accepted (default 1.2)")
    p.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3",
                   help="the newest TLS version offered (default 1.3): 1.2 tests TLS 1.2 "
                   "client authentication (PKCS#1 v1.5), --tls-min 1.3 TLS 1.3 (RSA-PSS)")
    p.add_argument("--throttle", action="append", default=[], metavar="ROUTE=RATE:BURST",
                   help="a token bucket per tenant on ROUTE (discover, nonce, join, delete, "
                   "token): BURST requests at once, then RATE a second; beyond, 429 with "
                   "Retry-After (repeatable)")
    p.add_argument("--throttle-retry-after", choices=("bucket", "queue"), default="bucket",
                   help="the Retry-After of a 429: bucket (default) the seconds until the "
                   "next token; queue the seconds until the bucket has room for this client, "
                   "after those refused before it")
    p.add_argument("--max-concurrent", type=int, default=0, metavar="N",
                   help="answer 503 (Retry-After: 1) to requests beyond N in flight (0: no limit)")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop when the process that started it exits (no orphans after a "
                   "test script dies without cleanup)")
    p.add_argument("--verbose", "-v", action="store_true", help="log requests to stderr")
    return p.parse_args(argv)


def tenants_from(args):
    try:
        ts = [Tenant(args.tenant_id, args.tenant_domain)]
        for spec in args.extra_tenant:
            tid, sep, domain = spec.partition("=")
            if not sep or not domain:
                raise ValueError("--extra-tenant wants GUID=DOMAIN, got %r" % spec)
            ts.append(Tenant(tid, domain))
    except ValueError as e:
        die("bad tenant: %s" % e, 2)
    ids = [t.id for t in ts]
    if len(set(ids)) != len(ids) or len({t.domain for t in ts}) != len(ts):
        die("tenant ids and domains must be distinct", 2)
    return Tenants(ts)


def lock_state_dir(d):
    """One emulator per state directory: a second one would corrupt it."""
    fd = os.open(os.path.join(d, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        die("another drs-emulator is running on %s" % d)
    return fd


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.nonce_lifetime < 0:
        die("--nonce-lifetime must be >= 0", 2)
    tenants = tenants_from(args)
    d = os.path.abspath(args.state_dir)
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
    except OSError as e:
        die("cannot create state dir %s: %s" % (d, e))
    lock_fd = lock_state_dir(d)
    try:
        pki = Pki.open(d)
        state = State(d)
    except (OSError, ValueError) as e:
        die("cannot load state from %s: %s" % (d, e))
    if args.require_nonce and args.refuse_nonce:
        die("--require-nonce and --refuse-nonce contradict each other", 2)
    config = Config(nonce_lifetime=args.nonce_lifetime, require_nonce=args.require_nonce,
                    refuse_nonce=args.refuse_nonce, nonce_service=not args.no_nonce_service)
    emu = Emulator(tenants, pki, state, FaultBoard(), config,
                   RequestLog(os.path.join(d, "requests.jsonl")))
    try:
        emu.throttle.retry_after = args.throttle_retry_after
        for spec in args.throttle:
            emu.throttle.set_limit(*parse_spec(spec))
        emu.throttle.set_max_concurrent(args.max_concurrent)
    except ThrottleError as e:
        die("--throttle/--max-concurrent: %s" % e, 2)
    if args.tls_min > args.tls_max:
        die("--tls-min %s is newer than --tls-max %s" % (args.tls_min, args.tls_max), 2)
    tls_ctx, emu.client_cert_check = make_tls_context(pki, args.client_cert_check,
                                                      args.tls_min, args.tls_max)
    emu.tls_versions = args.tls_min if args.tls_min == args.tls_max else \
        "%s-%s" % (args.tls_min, args.tls_max)
    try:
        https = HttpsServer(("127.0.0.1", args.port), emu, tls_ctx, args.verbose)
        control = ControlServer(("127.0.0.1", args.control_port), emu)
    except OSError as e:
        die("cannot listen on 127.0.0.1: %s" % e)
    emu.origin = "https://127.0.0.1:%d" % https.server_address[1]

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in (https, control)]
    for t in threads:
        t.start()

    info = {"url": emu.origin, "ca": pki.paths["tls_ca"], "tenant_id": tenants.primary.id,
            "tenant_domain": tenants.primary.domain, "pid": os.getpid(),
            "control": "http://127.0.0.1:%d" % control.server_address[1]}
    write_atomic(os.path.join(d, INFO_FILE),
                 json.dumps(dict(info, tenants=[t.as_json() for t in tenants],
                                 instance=str(uuid.uuid4())), indent=1), 0o644)
    try:
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
    except OSError:
        pass
    threading.Thread(target=pki.preload, daemon=True).start()
    parent = os.getppid()
    while not stop.wait(0.5):
        if args.exit_with_parent and os.getppid() != parent:
            break
    for s in (https, control):
        s.shutdown()
        s.server_close()
    emu.request_log.close()
    os.close(lock_fd)
    return 0
