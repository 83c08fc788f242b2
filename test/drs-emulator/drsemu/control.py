"""The control interface: plain HTTP with JSON, on 127.0.0.1 only.

Separate from the HTTPS port so control calls never appear in
requests.jsonl nor consume faults. emuctl is its command-line client; the
endpoints are listed in README.md.
"""
import http.server
import json
import socketserver
import urllib.parse

from . import login, prt, throttle
from .faults import FaultError


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
    # and the client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = "drs-emulator-control"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = (json.dumps(obj, indent=1) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if not n:
            return {}
        obj = json.loads(self.rfile.read(n))
        if not isinstance(obj, dict):
            raise ValueError("the body must be a JSON object")
        return obj

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        emu = self.server.emu
        split = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(split.query))
        key = (method, split.path.rstrip("/") or "/")
        try:
            body = self.body() if method == "POST" else {}
            handler = {
                ("GET", "/status"): self.status,
                ("GET", "/faults"): lambda: {"faults": emu.faults.list()},
                ("POST", "/faults"): lambda: {"armed": emu.faults.arm(body)},
                ("DELETE", "/faults"): lambda: {"cleared": emu.faults.clear(q.get("route"))},
                ("GET", "/devices"): lambda: {"devices": emu.state.devices()},
                ("POST", "/config"): lambda: self.config(body),
                ("GET", "/devicecodes"): lambda: {"device_codes": emu.state.device_codes()},
                ("POST", "/devicecode/approve"): lambda: self.approve(body),
                ("POST", "/refresh-token"): lambda: {"refresh_token": login.new_refresh_token(
                    emu, body.get("upn"), body.get("tid"),
                    body.get("client_id") or login.tokens.BROKER_CLIENT_ID)},
                ("POST", "/bprt"): lambda: {"bprt": login.new_bprt(
                    emu, body.get("upn"), body.get("tid"))},
                ("POST", "/user"): lambda: {"user": prt.add_user(emu, body)},
                ("POST", "/prt/revoke"): lambda: {"revoked": prt.revoke(emu, body)},
                ("POST", "/prt/age"): lambda: {"aged": prt.age(emu, body)},
                ("POST", "/device"): lambda: {"device": prt.set_device(emu, body)},
            }.get(key)
            if handler is None:
                return self.reply(404, {"error": "no control endpoint %s %s" % key})
            self.reply(200, handler())
        except LookupError as e:
            self.reply(404, {"error": str(e.args[0] if e.args else e)})
        except (ValueError, FaultError, TypeError) as e:
            self.reply(400, {"error": str(e)})

    def status(self):
        emu = self.server.emu
        return {"url": emu.origin, "tenants": [t.as_json() for t in emu.tenants],
                "config": emu.config.as_json(), "client_cert_check": emu.client_cert_check,
                "devices": len(emu.state.devices()), "deletes": emu.deletes,
                "tls": emu.tls_versions, "faults": emu.faults.list(),
                "throttle": emu.throttle.as_json()}

    def config(self, body):
        emu = self.server.emu
        cfg = emu.config
        # The throttle settings are checked whole before anything changes.
        limits = body.get("throttle", {})
        if not isinstance(limits, dict):
            raise ValueError("throttle must be an object {ROUTE: {\"rate\": R, \"burst\": B} "
                             "or null}")
        for route, lim in limits.items():
            if lim is None:
                throttle.check_route(route)
            elif not isinstance(lim, dict) or set(lim) != {"rate", "burst"}:
                raise ValueError("throttle.%s must be {\"rate\": R, \"burst\": B} or null"
                                 % route)
            else:
                throttle.check(route, lim["rate"], lim["burst"])
        if "max_concurrent" in body:
            throttle.check_concurrent(body["max_concurrent"])
        for k, v in body.items():
            if k in ("throttle", "max_concurrent"):
                continue
            if k in ("require_nonce", "refuse_nonce", "nonce_service", "auth_service",
                     "prt_jwe_gcm") \
                    and isinstance(v, bool):
                setattr(cfg, k, v)
            elif k in ("nonce_lifetime", "device_code_interval", "device_code_lifetime") \
                    and isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
                setattr(cfg, k, type(getattr(cfg, k))(v))
            elif k == "device_code_message" and isinstance(v, str) and len(v) <= 1000:
                cfg.device_code_message = v
            else:
                raise ValueError("bad config setting %s=%r" % (k, v))
        for route, lim in limits.items():
            if lim is None:
                emu.throttle.remove_limit(route)
            else:
                emu.throttle.set_limit(route, lim["rate"], lim["burst"])
        if "max_concurrent" in body:
            emu.throttle.set_max_concurrent(body["max_concurrent"])
        return {"config": dict(cfg.as_json(), throttle=emu.throttle.as_json())}

    def approve(self, body):
        rec = login.approve_device_code(self.server.emu, body.get("user_code"), body.get("upn"),
                                        bool(body.get("deny")))
        if rec is None:
            raise LookupError("no pending device code%s" % (
                " with user_code %s" % body["user_code"] if body.get("user_code") else ""))
        return {"device_code": rec}


class ControlServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emu):
        self.emu = emu
        super().__init__(address, ControlHandler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
