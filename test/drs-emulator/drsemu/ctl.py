"""emuctl: drive a running emulator through its control interface."""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

from .fsutil import INFO_FILE
from .faults import PRT_ANSWERS, ROUTES
from .throttle import ROUTES as THROTTLE_ROUTES, ThrottleError, parse_spec


def die(msg, code=1):
    sys.stderr.write("emuctl: %s\n" % msg)
    sys.exit(code)


def control_url(state_dir):
    path = os.path.join(state_dir, INFO_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["control"]
    except (OSError, ValueError, KeyError) as e:
        die("cannot find the control interface in %s: %s (is the emulator started?)" % (path, e))


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            msg = json.load(e).get("error", e.reason)
        except ValueError:
            msg = e.reason
        die("%s %s: %d %s" % (method, path, e.code, msg))
    except (urllib.error.URLError, OSError) as e:
        die("cannot reach the emulator's control interface at %s: %s (is it running?)"
            % (base, getattr(e, "reason", e)))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="emuctl", description="Control a running drs-emulator.")
    p.add_argument("--state-dir", required=True, metavar="DIR")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fault", help="arm a fault for the next N requests of a route")
    f.add_argument("--route", required=True, choices=ROUTES)
    f.add_argument("--count", type=int, default=1)
    f.add_argument("--status", type=int, help="answer with this HTTP status (e.g. 500, 503, 429)")
    f.add_argument("--retry-after", type=int, metavar="S", help="Retry-After header (with --status)")
    f.add_argument("--retry-after-digits", metavar="DIGITS",
                   help="Retry-After header of these digits, as many as given (with --status)")
    f.add_argument("--delay", type=float, metavar="S", help="wait S seconds, then answer")
    f.add_argument("--drop", action="store_true", help="close the connection without answering")
    f.add_argument("--truncate", action="store_true", help="send half the body, then close")
    f.add_argument("--non-json", action="store_true", help="answer an HTML page")
    f.add_argument("--wrong-key-cert", action="store_true",
                   help="join: certify another key than the CSR's")
    f.add_argument("--aadsts", type=int, metavar="CODE",
                   help="token, prt: fail with this AADSTS code")
    f.add_argument("--oauth-error", metavar="NAME",
                   help="token: fail with this OAuth error (slow_down, authorization_pending, ...)")
    f.add_argument("--prt-answer", choices=PRT_ANSWERS,
                   help="prt: answer a PRT request with a lie (malformed JWE, wrong ctx, bad "
                   "padding, another tenant)")
    f.add_argument("--echo", choices=("text", "json", "html"),
                   help="answer an error (--status, default 400) repeating the request body")
    c = sub.add_parser("clear", help="disarm faults")
    c.add_argument("--route", choices=ROUTES)
    sub.add_parser("faults", help="list armed faults")
    d = sub.add_parser("devices", help="print the recorded devices as JSON")
    d.add_argument("--count", action="store_true", help="print only their number")
    sub.add_parser("status", help="print the emulator's status")
    g = sub.add_parser("config", help="change settings while running")
    g.add_argument("--require-nonce", dest="require_nonce", action="store_true", default=None)
    g.add_argument("--no-require-nonce", dest="require_nonce", action="store_false")
    g.add_argument("--refuse-nonce", dest="refuse_nonce", action="store_true", default=None)
    g.add_argument("--no-refuse-nonce", dest="refuse_nonce", action="store_false")
    g.add_argument("--nonce-service", dest="nonce_service", action="store_true", default=None)
    g.add_argument("--no-nonce-service", dest="nonce_service", action="store_false")
    g.add_argument("--auth-service", dest="auth_service", action="store_true", default=None)
    g.add_argument("--no-auth-service", dest="auth_service", action="store_false")
    g.add_argument("--prt-jwe-gcm", dest="prt_jwe_gcm", action="store_true", default=None,
                   help="PRT answers as AES-GCM (12-byte IV) instead of the observed AES-CBC")
    g.add_argument("--no-prt-jwe-gcm", dest="prt_jwe_gcm", action="store_false")
    g.add_argument("--reuse-device", dest="reuse_device", action="store_true", default=None,
                   help="a join asking ReuseDevice gets the id of the user's device of that "
                   "display name, with a new certificate")
    g.add_argument("--no-reuse-device", dest="reuse_device", action="store_false")
    g.add_argument("--nonce-lifetime", type=float, metavar="S")
    g.add_argument("--device-code-interval", type=int, metavar="S")
    g.add_argument("--device-code-lifetime", type=int, metavar="S")
    g.add_argument("--access-token-lifetime", type=int, metavar="S",
                   help="seconds until exp of the access tokens the token endpoint gives")
    g.add_argument("--throttle", action="append", default=[], metavar="ROUTE=RATE:BURST",
                   help="a token bucket per tenant on ROUTE (repeatable)")
    g.add_argument("--no-throttle", action="append", default=[], metavar="ROUTE",
                   choices=THROTTLE_ROUTES, help="remove ROUTE's bucket (repeatable)")
    g.add_argument("--max-concurrent", type=int, metavar="N",
                   help="503 beyond N requests in flight (0: no limit)")
    g.add_argument("--device-code-message", metavar="TEXT",
                   help="the device code answer's message ({uri} and {code} filled in; "
                   "empty: the usual one)")
    a = sub.add_parser("approve", help="complete a pending device-code sign-in")
    a.add_argument("--user-code", help="default: the newest pending code")
    a.add_argument("--upn", help="the user who signs in (default user@<tenant domain>)")
    a.add_argument("--deny", action="store_true", help="decline instead")
    r = sub.add_parser("refresh-token", help="print a refresh token for a user")
    r.add_argument("--upn")
    r.add_argument("--tid")
    r.add_argument("--client-id")
    u = sub.add_parser("user", help="add a user with a password (read from stdin) for the "
                       "PRT's password grant")
    u.add_argument("--upn", required=True)
    v = sub.add_parser("revoke-prt", help="revoke the PRTs of a user (default: every user)")
    v.add_argument("--upn")
    ag = sub.add_parser("age-prt", help="move a user's PRTs back in time (past 4 hours: "
                        "14400; past their lifetime: 1209600)")
    ag.add_argument("--upn")
    ag.add_argument("--seconds", type=float, required=True)
    dv = sub.add_parser("device", help="disable or enable a device")
    dv.add_argument("--device-id", required=True)
    onoff = dv.add_mutually_exclusive_group(required=True)
    onoff.add_argument("--disable", dest="disabled", action="store_true", default=None)
    onoff.add_argument("--enable", dest="disabled", action="store_false")
    onoff.add_argument("--delete", action="store_true",
                       help="delete it from the directory (as an administrator would)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    base = control_url(a.state_dir)
    out = None
    if a.cmd == "fault":
        spec = {"route": a.route, "count": a.count}
        for k in ("status", "retry_after", "retry_after_digits", "delay", "aadsts",
                  "oauth_error", "echo", "prt_answer"):
            if getattr(a, k) is not None:
                spec[k] = getattr(a, k)
        for k in ("drop", "truncate", "non_json", "wrong_key_cert"):
            if getattr(a, k):
                spec[k] = True
        out = call(base, "POST", "/faults", spec)
    elif a.cmd == "clear":
        out = call(base, "DELETE", "/faults" + ("?route=" + a.route if a.route else ""))
    elif a.cmd == "faults":
        out = call(base, "GET", "/faults")
    elif a.cmd == "devices":
        devices = call(base, "GET", "/devices")["devices"]
        if a.count:
            print(len(devices))
            return 0
        out = devices
    elif a.cmd == "status":
        out = call(base, "GET", "/status")
    elif a.cmd == "config":
        body = {k: getattr(a, k) for k in ("require_nonce", "refuse_nonce", "nonce_service",
                                           "auth_service", "prt_jwe_gcm", "reuse_device",
                                           "nonce_lifetime",
                                           "device_code_interval", "device_code_lifetime",
                                           "device_code_message", "access_token_lifetime")
                if getattr(a, k) is not None}
        limits = {r: None for r in a.no_throttle}
        for spec in a.throttle:
            try:
                route, rate, burst = parse_spec(spec)
            except ThrottleError as e:
                die("--throttle: %s" % e, 2)
            limits[route] = {"rate": rate, "burst": burst}
        if limits:
            body["throttle"] = limits
        if a.max_concurrent is not None:
            body["max_concurrent"] = a.max_concurrent
        out = call(base, "POST", "/config", body)
    elif a.cmd == "approve":
        out = call(base, "POST", "/devicecode/approve",
                   {"user_code": a.user_code, "upn": a.upn, "deny": a.deny})
    elif a.cmd == "refresh-token":
        print(call(base, "POST", "/refresh-token",
                   {"upn": a.upn, "tid": a.tid, "client_id": a.client_id})["refresh_token"])
        return 0
    elif a.cmd == "user":
        password = sys.stdin.readline().rstrip("\n")
        out = call(base, "POST", "/user", {"upn": a.upn, "password": password})
    elif a.cmd == "revoke-prt":
        out = call(base, "POST", "/prt/revoke", {"upn": a.upn})
    elif a.cmd == "age-prt":
        out = call(base, "POST", "/prt/age", {"upn": a.upn, "seconds": a.seconds})
    elif a.cmd == "device":
        out = call(base, "POST", "/device", {"device_id": a.device_id, "delete": True}
                   if a.delete else {"device_id": a.device_id, "disabled": a.disabled})
    print(json.dumps(out, indent=1))
    return 0
