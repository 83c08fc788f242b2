"""What make bench's scripts share: one timed run of a command.

The yardsticks time themselves from connect(), so any harness overhead in
drsjoin's figure counts against drsjoin. A run is therefore timed by
test/bench/run.c (bench_run: posix_spawn to waitpid, its streams on files),
whose path is in $BENCH_RUN: the whole process - exec, start-up, exit and
reaping - and nothing of the Python parent. Popen.communicate(timeout=...)
polls waitpid with sleeps that start at 0.5 ms and double; with pipes and a
selector on top it made leave's "exec to main and exit" read 1.7 ms where
it is 0.35 ms.
"""
import os
import signal
import subprocess
import tempfile

BENCH_RUN = os.environ.get("BENCH_RUN", "")


class Timeout(Exception):
    pass


def timed(argv, env=None, stdin=None, timeout=120):
    """Runs argv (its path in argv[0]) to its end; returns (seconds,
    returncode, stdout, stderr). stdin: bytes to send, or None for
    /dev/null. Raises Timeout."""
    if not BENCH_RUN or not os.access(BENCH_RUN, os.X_OK):
        raise SystemExit(f"bench: BENCH_RUN ({BENCH_RUN or 'unset'}) is not the bench_run "
                         "program (make bench builds it)")
    # On tmpfs where there is one: the run's files are no journal work for
    # the fsyncs of the drsjoin being timed.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="bench-run.", dir=shm) as d:
        fin = os.devnull
        if stdin is not None:
            fin = os.path.join(d, "in")
            with open(fin, "wb") as f:
                f.write(stdin)
        fout, ferr = os.path.join(d, "out"), os.path.join(d, "err")
        # Its own session: a timeout kills drsjoin too, not only bench_run.
        p = subprocess.Popen([BENCH_RUN, fin, fout, ferr] + list(argv), env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            line, why = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise Timeout(f"{' '.join(argv)} did not end in {timeout} s")
        except BaseException:
            # Ctrl-C: its own session keeps the signal from it; nothing is left running.
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        if p.returncode != 0:
            raise SystemExit(f"bench: bench_run: {why.decode(errors='replace').strip()}")
        seconds, rc = line.split()
        with open(fout, "rb") as f:
            out = f.read()
        with open(ferr, "rb") as f:
            err = f.read()
    return float(seconds), int(rc), out, err


def peak_rss_kib(argv, env=None, timeout=120, stdin=None):
    """Peak RSS (KiB) of one run, by GNU time: a small C parent, so the
    figure is the command's own (a Python parent's fork would count the
    parent's pages before exec). Returns (kib, returncode, stderr)."""
    with tempfile.TemporaryDirectory(prefix="bench-rss.") as d:
        f = os.path.join(d, "rss")
        _, rc, _, err = timed(["/usr/bin/time", "-o", f, "-f", "%M"] + list(argv), env=env,
                              stdin=stdin, timeout=timeout)
        with open(f, encoding="utf-8") as fh:
            lines = fh.read().split()
    return int(lines[-1]) if rc == 0 and lines else -1, rc, err
