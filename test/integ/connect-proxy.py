#!/usr/bin/python3
"""A tiny HTTP CONNECT proxy on loopback for the proxy tests.

usage: connect-proxy.py LOG [CERT KEY [CLIENT_CA]]
Prints its port on stdout once it listens, logs each CONNECT target to the
file LOG, and only ever connects to 127.0.0.1. With CERT and KEY it is an
https:// proxy: each client connection is TLS first, and LOG gets a line
"TLS-OK <version>" or "TLS-FAIL <why>" for it. With CLIENT_CA too, it asks
every client for a certificate (optional; one offered must chain to
CLIENT_CA) and logs "CLIENT-CERT <subject>" or "NO-CLIENT-CERT".
With CONNECT_PROXY_STALL=FILE in the environment, a CONNECT that comes
while FILE exists is logged "STALL <target>" and never answered (a proxy
that holds the connection being made).
"""
import os
import socket
import ssl
import sys
import threading
import time

log = open(sys.argv[1], "a", buffering=1)
tls = None
if len(sys.argv) in (4, 5):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])
ask_cert = len(sys.argv) == 5
if ask_cert:
    tls.verify_mode = ssl.CERT_OPTIONAL
    tls.load_verify_locations(sys.argv[4])


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
        if ask_cert:
            peer = c.getpeercert()
            if peer:
                log.write("CLIENT-CERT %s\n" % (peer.get("subject"),))
            else:
                log.write("NO-CLIENT-CERT\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = c.recv(4096)
        if not chunk:
            c.close()
            return
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, target = line.split(" ")[:2]
    stall = os.environ.get("CONNECT_PROXY_STALL")
    if stall and os.path.exists(stall):
        log.write("STALL %s\n" % target)
        time.sleep(120)
        c.close()
        return
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
