"""The HTTPS server: TLS, routing, faults, and the request log."""
import html
import http.server
import json
import re
import socketserver
import ssl
import sys
import time
import traceback
import urllib.parse

from . import drs, login, prt, throttle, tokens
from .app import Request, Response, now_iso
from .errors import DrsError, HttpError, LoginError, drs_error_body
from .tlsverify import accept_any_client_cert

MAX_BODY = 1 << 20
SOCKET_TIMEOUT = 30

# (pattern, route name for faults, {method: handler}); matched case-insensitively
# because the real service's paths are.
ROUTES = [
    (r"/(?P<tenant>[^/]+)/discover/?", "discover", {"GET": drs.discover}),
    (r"/enrollmentserver/nonce/(?P<tenant>[^/]+)/?", "nonce", {"GET": drs.nonce}),
    (r"/enrollmentserver/device/?", "join", {"POST": drs.join}),
    (r"/enrollmentserver/device/precreate/(?P<tenant>[^/]+)/?", "join", {"POST": drs.precreate}),
    (r"/enrollmentserver/device/(?P<device_id>[^/]+)/?", "delete", {"DELETE": drs.delete}),
    (r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "token", {"POST": login.token}),
    (r"/(?P<tenant>[^/]+)/oauth2/token", "token", {"POST": prt.token_v1}),
    (r"/(?P<tenant>[^/]+)/oauth2/(?:v2\.0/)?authorize", "token", {"GET": prt.authorize}),
    (r"/(?P<tenant>[^/]+)/oauth2/v2\.0/devicecode", "token", {"POST": login.devicecode}),
    (r"/(?P<tenant>[^/]+)/oauth2/devicecode", "token", {"POST": login.devicecode_v1}),
    (r"/(?P<tenant>[^/]+)/discovery/(?:v2\.0/)?keys", "token", {"GET": login.keys}),
    (r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", "token",
     {"GET": login.openid_configuration}),
]
_COMPILED = [(re.compile(p + r"\Z", re.IGNORECASE), name, methods) for p, name, methods in ROUTES]
LOGIN_ROUTES = ("token",)

REDACT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie")
REDACT_FORM = ("refresh_token", "device_code", "client_secret", "password", "assertion",
               "code", "client_assertion")


def match_route(path):
    """(route name, params, methods) for a path; ("other", {}, {}) if none."""
    for rx, name, methods in _COMPILED:
        m = rx.match(path)
        if m:
            return name, m.groupdict(), methods
    return "other", {}, {}


TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def make_tls_context(pki, client_cert_check="auto", tls_min="1.2", tls_max="1.3"):
    """The server's TLS context and where client certificates are judged:
    "http" (in the handler: clear 401/403) or "tls" (fallback: an alert).
    OpenSSL accepts client CertificateVerify signatures in RSA-PSS and
    PKCS#1 v1.5 (the latter in TLS 1.2 only, as TLS 1.3 requires)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[tls_min]
    ctx.maximum_version = TLS_VERSIONS[tls_max]
    ctx.load_cert_chain(pki.paths["tls_cert"], pki.paths["tls_key"])
    if client_cert_check == "auto" and accept_any_client_cert(ctx):
        return ctx, "http"
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(pki.paths["device_ca"])
    return ctx, "tls"


def redact_headers(headers):
    out = {}
    for name, value in headers.items():
        k = name.lower()
        if k in ("authorization", "proxy-authorization"):
            scheme = value.strip().split(" ", 1)[0] if " " in value.strip() else ""
            value = (scheme + " <redacted>") if scheme else "<redacted>"
        elif k in REDACT_HEADERS:
            value = "<redacted>"
        out[k] = out[k] + ", " + value if k in out else value
    return out


def body_for_log(body, ctype):
    """Parsed JSON (keys exactly as sent) when the body is JSON; a form with
    secrets redacted; else text."""
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("utf-8", "replace")
    media = (ctype or "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        form = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        return {k: ("<redacted>" if k in REDACT_FORM else v) for k, v in form.items()}
    try:
        import json
        return json.loads(text)
    except ValueError:
        return text


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, and 100-continue for curl
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
    # and the client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = "drs-emulator"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("drs-emulator: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_DELETE(self):
        self.serve("DELETE")

    def do_PUT(self):
        self.serve("PUT")

    def do_PATCH(self):
        self.serve("PATCH")

    def do_HEAD(self):
        self.serve("HEAD")

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (bad request line, ...) in DRS shape.
        body = drs_error_body("InvalidRequest", message or explain or "bad HTTP request")
        self._send(Response(code, body), close=True)

    # -- one request ----------------------------------------------------------

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise DrsError(413, "InvalidRequest", "request body exceeds %d bytes" % MAX_BODY)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise DrsError(400, "InvalidRequest", "Content-Length %r is not a number" % length)
        if n < 0 or n > MAX_BODY:
            raise DrsError(413, "InvalidRequest", "request body of %d bytes is not accepted" % n)
        return self.rfile.read(n)

    def serve(self, method):
        emu = self.server.emu
        start = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        query = {}
        for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(k.lower(), []).append(v)
        route, params, methods = match_route(path)
        record = {
            "time": now_iso(), "method": method, "path": path,
            "query": {k: v[0] if len(v) == 1 else v
                      for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()},
            "headers": redact_headers(self.headers), "route": route,
        }
        req = Request(method=method, path=path, query=query, headers=self.headers, body=b"",
                      client_cert=self.connection.getpeercert(binary_form=True),
                      tls_version=self.connection.version())
        record["tls"] = req.tls_version
        req.host, req.origin = self.origin_of(emu)
        fault = emu.faults.take(route)
        refusal = emu.throttle.enter()
        try:
            self.serve_counted(emu, method, route, params, methods, req, record, fault, refusal,
                               start)
        finally:
            emu.throttle.leave()

    def serve_counted(self, emu, method, route, params, methods, req, record, fault, refusal,
                      start):
        resp = None
        try:
            req.body = self.read_body()
            record["body"] = body_for_log(req.body, self.headers.get("Content-Type"))
            if fault:
                record["fault"] = fault
                if "delay" in fault:
                    time.sleep(fault["delay"])
                resp = self.fault_response(fault, route, req)
                req.wrong_key_cert = bool(fault.get("wrong_key_cert"))
            if fault and fault.get("drop"):
                record["status"] = None
                self.finish_record(record, req, start)
                self.close_connection = True
                return
            if resp is None and refusal is None and route in throttle.ROUTES:
                refusal = emu.throttle.take(self.tenant_key(emu, req, params), route)
            if resp is None and refusal is not None:
                emu.throttle.refusing(refusal)
                record["throttled"] = {"reason": refusal[0], "retry_after": refusal[1]}
                resp = self.throttled_response(refusal, route)
            if resp is None:
                resp = self.dispatch(req, route, params, methods)
        except HttpError as e:
            resp = Response(e.status, e.body, e.headers)
            if e.status == 413:
                self.close_connection = True    # the unread body is still on the wire
        except Exception as e:   # a bug in the emulator: say so, loudly
            traceback.print_exc()
            resp = Response(500, drs_error_body("InternalServerError",
                                                "drs-emulator bug: %s: %s" % (type(e).__name__, e)))
        record["status"] = resp.status
        if isinstance(resp.body, dict) and resp.status >= 400:
            record["error"] = {k: resp.body[k] for k in ("ErrorType", "Message", "TraceId", "error",
                                                         "error_codes", "error_description")
                               if k in resp.body}
        self.finish_record(record, req, start)
        self._send(resp, truncate=bool(fault and fault.get("truncate")), head=method == "HEAD",
                   close=self.close_connection)

    def origin_of(self, emu):
        """(host, origin) as the client addressed us: a cloud's host name keeps
        its name in every URL we answer; anything else gets our own origin."""
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if name in tokens.CLOUD_HOSTS:
            return name, "https://%s:%s" % (name, emu.origin.rsplit(":", 1)[1])
        return name, emu.origin

    def dispatch(self, req, route, params, methods):
        handler = methods.get(req.method)
        if handler is None:
            if methods:
                raise DrsError(405, "InvalidRequest", "method %s is not allowed on %s (allowed: %s)"
                               % (req.method, req.path, ", ".join(methods)),
                               {"Allow": ", ".join(methods)})
            raise DrsError(404, "NotFound", "no endpoint at %s %s in this emulator"
                           % (req.method, req.path))
        return handler(self.server.emu, req, **params)

    def fault_response(self, fault, route, req):
        """The answer a fault forces, or None when the request goes on."""
        if "echo" in fault:
            return self._echo(fault, req)
        if "aadsts" in fault:
            e = login.fault_error(fault["aadsts"])
            return Response(e.status, e.body)
        if "oauth_error" in fault:
            e = login.oauth_error(fault["oauth_error"])
            return Response(e.status, e.body)
        if fault.get("non_json"):
            status = fault.get("status", 200)
            html = ("<html><head><title>Service Unavailable</title></head><body><h1>%d</h1>"
                    "<p>drs-emulator fault: not JSON</p></body></html>" % status).encode()
            return Response(status, html, self._retry_after(fault), "text/html; charset=utf-8")
        if "status" in fault:
            status = fault["status"]
            if route in LOGIN_ROUTES:
                e = LoginError(status, "temporarily_unavailable", 90033 if status >= 500 else 50196,
                               "drs-emulator fault: HTTP %d." % status)
                return Response(status, e.body, self._retry_after(fault))
            if status == 429:
                secs = fault.get("retry_after", 300)
                msg = "Your request is throttled temporarily. Please try after %d seconds." % secs
                return Response(429, drs_error_body("DirectoryError", msg), self._retry_after(fault))
            kind = {500: "InternalServerError", 503: "ServiceUnavailable"}.get(status, "ServiceError")
            return Response(status, drs_error_body(kind, "drs-emulator fault: HTTP %d" % status),
                            self._retry_after(fault))
        return None

    def _echo(self, fault, req):
        """An error answer repeating the request body (a secret in it too)."""
        status = fault.get("status", 400)
        sent = req.body.decode("utf-8", "replace")
        if fault["echo"] == "json":
            e = LoginError(status, "invalid_request", 900144,
                           "drs-emulator fault: the request was: %s" % sent)
            return Response(status, e.body, self._retry_after(fault))
        if fault["echo"] == "html":
            page = ("<html><body><h1>%d Bad Request</h1><pre>%s</pre></body></html>"
                    % (status, html.escape(sent))).encode()
            return Response(status, page, self._retry_after(fault), "text/html; charset=utf-8")
        return Response(status, b"bad request: " + req.body, self._retry_after(fault),
                        "text/plain; charset=utf-8")

    @staticmethod
    def tenant_key(emu, req, params):
        """The tenant a request counts against: the path's, else the token's
        tid (unverified), as a tenant id when the emulator serves it."""
        key = params.get("tenant") or throttle.tenant_of_token(req.header("Authorization"))
        if key is None:
            return "-"
        t = emu.tenants.lookup(key)
        return t.id if t is not None else key.lower()

    @staticmethod
    def throttled_response(refusal, route):
        """429 (a bucket is empty) or 503 (too many in flight), as the
        service words them."""
        reason, secs = refusal
        headers = {"Retry-After": str(secs)}
        status = 429 if reason == "rate" else 503
        if route in LOGIN_ROUTES:
            e = LoginError(status, "temporarily_unavailable", 50196 if status == 429 else 90033,
                           "drs-emulator: throttled (%s); retry after %d seconds." % (reason, secs))
            return Response(status, e.body, headers)
        if status == 429:
            msg = "Your request is throttled temporarily. Please try after %d seconds." % secs
            return Response(429, drs_error_body("DirectoryError", msg), headers)
        return Response(503, drs_error_body("ServiceUnavailable", "The service is busy: too many "
                                            "requests at once. Please try after %d seconds."
                                            % secs), headers)

    @staticmethod
    def _retry_after(fault):
        return {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}

    def finish_record(self, record, req, start):
        if req.warnings:
            record["warnings"] = req.warnings
        record.update(req.log)
        record["duration_ms"] = round((time.monotonic() - start) * 1000, 1)
        self.server.emu.request_log.write(record)

    def _send(self, resp, truncate=False, close=False, head=False):
        payload = resp.payload()
        try:
            self.send_response(resp.status)
            if payload:
                self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if truncate or close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if not head:
                # A truncated body: the full Content-Length, half the bytes, then EOF.
                self.wfile.write(payload[:len(payload) // 2] if truncate else payload)
        except OSError:
            self.close_connection = True


class HttpsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256        # bursts of concurrent joins must not hit SYN drops

    def __init__(self, address, emu, tls_ctx, verbose=False):
        self.emu = emu
        self.tls_ctx = tls_ctx
        self.verbose = verbose
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (slow without DNS).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's own thread, so a slow
        # or broken client never blocks the accept loop.
        request.settimeout(SOCKET_TIMEOUT)
        try:
            tls = self.tls_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write("drs-emulator: TLS handshake with %s:%d failed: %s\n"
                                 % (client_address[0], client_address[1], e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)
