#!/usr/bin/python3
"""An HTTPS server whose every answer is a JSON object of exactly SIZE bytes,
framed by Content-Length, by a lower-case content-length (lower), chunked,
or by closing the connection (no length at all); or that reads each request
and never answers (silent). For the answer size limit tests
(test/integ/limits.sh) and make bench's yardstick (bench_baseline.sh).

usage: answer-server.py CERT KEY SIZE length|lower|chunked|close|silent PORTFILE

Writes its port to PORTFILE (complete once it holds a newline), then serves
until killed or until its parent exits.
"""
import http.server
import os
import ssl
import sys
import threading
import time

cert, key, size, mode, portfile = sys.argv[1:6]
size = int(size)
# {"pad":"xxxx"}: 10 bytes of frame around the padding.
body = b'{"pad":"' + b"x" * (size - 10) + b'"}'
assert len(body) == size


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0" if mode == "close" else "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if mode == "silent":
            time.sleep(3600)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if mode == "length":
            self.send_header("Content-Length", str(size))
        elif mode == "lower":
            self.send_header("content-length", str(size))
        elif mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if mode == "chunked":
                step = 16384
                for i in range(0, size, step):
                    part = body[i:i + step]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)
            if mode == "close":
                # The end of an answer without a length is the TLS
                # close_notify: without it the answer may be cut short.
                self.wfile.flush()
                self.connection.unwrap()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the client gave up at its limit: what is tested
        self.close_connection = True

    do_GET = answer
    do_POST = answer
    do_DELETE = answer


def watch_parent():
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=watch_parent, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
