#!/usr/bin/python3
"""The integration tests' Python, started once per test instead of once per
call (test/lib-pyhelper.sh): jget's expressions, the emulator's emuctl and
mint-token, and the request log's queries. A Python start is ~0.05 s of CPU,
and the tests made thousands of them.

usage: lib-pyhelper.py DIR PARENT_PID EMU_HOME

Listens on 127.0.0.1 (a free port) and writes "PORT SECRET PID" to DIR/port.
Each connection is one request: NUL-terminated fields N, then N fields
SECRET, CWD, COMMAND, ARGS...; the answer is a line "RC OUTLEN ERRLEN"
followed by the bytes of stdout and of stderr. Each command does what the
program it stands for did, in the request's working directory. Exits, and
removes DIR, on SIGTERM or once PARENT_PID is gone; adds its CPU seconds to
the file DRSJOIN_EXTRA_CPU_LOG names, if any (test/run).
"""
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import sys
import traceback


def jget(path, expr):
    """`python3 -c 'd=json.load(open(FILE)); print(eval(EXPR))' 2>/dev/null`."""
    try:
        d = json.load(open(path))
        out = "%s\n" % (eval(expr, {"__name__": "__main__", "json": json, "sys": sys, "d": d}),)
        return 0, out.encode(), b""
    except Exception:       # the old jget printed nothing and exited 1
        return 1, b"", b""


def req_count(path, route):
    n = sum(1 for line in open(path) if json.loads(line).get("route") == route)
    return 0, b"%d\n" % n, b""


def last_request(path, route, dest):
    r = [json.loads(line) for line in open(path) if json.loads(line).get("route") == route]
    json.dump(r[-1] if r else {}, open(dest, "w"))
    return 0, b"", b""


def tool(name, argv):
    """A program of the emulator (emuctl, mint-token) run in this process."""
    if name == "emuctl":
        from drsemu.ctl import main
    else:
        from drsemu.minttoken import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
        except Exception:
            traceback.print_exc()
            rc = 1
        if rc is None:
            rc = 0
        elif not isinstance(rc, int):
            print(rc, file=sys.stderr)
            rc = 1
    return rc, out.getvalue().encode(), err.getvalue().encode()


def run(cmd, args):
    if cmd == "jget" and len(args) == 2:
        return jget(*args)
    if cmd in ("emuctl", "mint-token"):
        return tool(cmd, args)
    try:
        if cmd == "req_count" and len(args) == 2:
            return req_count(*args)
        if cmd == "last_request" and len(args) == 3:
            return last_request(*args)
    except Exception:
        return 1, b"", traceback.format_exc().encode()
    return 2, b"", ("lib-pyhelper: unknown request %s\n" % cmd).encode()


def read_fields(conn):
    buf, fields, want = b"", [], None
    while want is None or len(fields) < want + 1:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
        *done, buf = buf.split(b"\0")
        fields += done
        if want is None and fields:
            want = int(fields[0])
    return [f.decode("utf-8", "surrogateescape") for f in fields[1:]]


def serve(conn, secret):
    fields = read_fields(conn)
    if not fields or len(fields) < 3 or fields[0] != secret:
        return
    cwd, cmd, args = fields[1], fields[2], fields[3:]
    try:
        os.chdir(cwd)
        rc, out, err = run(cmd, args)
    finally:
        os.chdir("/")       # never keep a test's mount point busy
    conn.sendall(b"%d %d %d\n" % (rc, len(out), len(err)) + out + err)


def main():
    directory, parent, emu_home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # Started from anywhere in a test: hold none of its descriptors (a FIFO
    # kept open here would never see its end).
    os.closerange(3, 65536)
    os.chdir("/")
    sys.path.insert(0, emu_home)
    secret = secrets.token_hex(16)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.5)
    tmp = os.path.join(directory, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d %s %d\n" % (srv.getsockname()[1], secret, os.getpid()))
    os.rename(tmp, os.path.join(directory, "port"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    return 0
                continue
            with conn:
                conn.settimeout(60)
                try:
                    serve(conn, secret)
                except OSError:
                    pass
    finally:
        # test/run counts this process's CPU time with the test's.
        cpu_log = os.environ.get("DRSJOIN_EXTRA_CPU_LOG")
        if cpu_log:
            t = os.times()
            with contextlib.suppress(OSError), open(cpu_log, "a") as f:
                f.write("%.2f lib-pyhelper\n" % (t.user + t.system))
        for n in ("port", "err"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, n))
        with contextlib.suppress(OSError):
            os.rmdir(directory)


if __name__ == "__main__":
    sys.exit(main())
