#!/usr/bin/python3
"""A tiny HTTP CONNECT proxy on loopback for the proxy tests.

usage: connect-proxy.py LOG [CERT KEY]
Prints its port on stdout once it listens, logs each CONNECT target to the
file LOG, and only ever connects to 127.0.0.1. With CERT and KEY it is an
https:// proxy: each client connection is TLS first, and LOG gets a line
"TLS-OK <version>" or "TLS-FAIL <why>" for it.
"""
import socket
import ssl
import sys
import threading

log = open(sys.argv[1], "a", buffering=1)
tls = None
if len(sys.argv) == 4:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(c):
    if tls is not None:
        try:
            c = tls.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log.write("TLS-FAIL %s\n" % e)
            c.close()
            return
        log.write("TLS-OK %s\n" % c.version())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = c.recv(4096)
        if not chunk:
            c.close()
            return
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, target = line.split(" ")[:2]
    host, _, port = target.rpartition(":")
    if method != "CONNECT" or host != "127.0.0.1":
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    log.write(line + "\n")
    u = socket.create_connection((host, int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    pipe(c, u)


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
