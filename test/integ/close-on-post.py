#!/usr/bin/python3
"""A DRS stand-in that reads the join POST and closes without answering.

For the "no duplicate joins" test: discovery and nonce are answered on a
kept-alive connection, so a client that reuses it sends the POST there; the
server reads the whole POST, logs it, and closes the connection without a
byte of answer. libcurl silently sends a request again when a reused
connection dies that way; drsjoin must not let it.

usage: close-on-post.py CERT KEY TENANT_ID LOGFILE
Prints its port on stdout once it listens. Each POST appends one line to
LOGFILE: "POST <path> request-on-connection=<n> crid=<client-request-id>".
"""
import http.server
import json
import socketserver
import ssl
import sys

CERT, KEY, TENANT, LOG = sys.argv[1:5]
log = open(LOG, "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.served = 0

    def reply(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.served += 1
        origin = "https://127.0.0.1:%d" % self.server.server_address[1]
        if "/discover" in self.path.lower():
            self.reply({
                "DeviceJoinService": {"JoinEndpoint": origin + "/EnrollmentServer/device/",
                                      "JoinResourceId": "urn:ms-drs:enterpriseregistration.windows.net",
                                      "ServiceVersion": "2.0"},
                "NonceService": {"Endpoint": "%s/EnrollmentServer/nonce/%s/" % (origin, TENANT),
                                 "ServiceVersion": "1.0"},
                "TenantInfo": {"TenantId": TENANT, "TenantName": "contoso.example"}})
        else:
            self.reply({"ReponseStatus": {"message": "ok"}, "Value": "AwABbm9uY2UtZm9yLXRoZS10ZXN0"})

    def do_POST(self):
        self.served += 1
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        log.write("POST %s request-on-connection=%d crid=%s\n"
                  % (self.path, self.served, self.headers.get("client-request-id")))
        # No answer at all: the connection just closes.
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)

    def finish_request(self, request, client_address):
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
