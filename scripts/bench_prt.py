#!/usr/bin/env python3
"""make bench, after the join: `drsjoin prt` and `drsjoin token --fresh`
against the emulator (software keys), each paired with the same requests
made by test/bench/prt.c (one mbedTLS connection, drsjoin's own crypto
layer, nothing else). Target: the median of the paired ratios <= 1.3 for
each. Peak RSS of each command is shown. Exit 1 when a target is missed.

usage: bench_prt.py DRSJOIN BENCH_PRT WORK RUNS URL CA TENANT_ID STATE REFRESH_TOKEN_FILE
(STATE: a state dir joined with software keys against the emulator at URL)
"""
import json
import os
import statistics
import subprocess
import sys

from benchlib import Timeout, peak_rss_kib, timed

(drsjoin, yard, work, runs, url, ca, tenant, state, rt_file) = sys.argv[1:10]
runs = int(runs)
env = dict(os.environ, DRSJOIN_DISCOVERY_URL=url, DRSJOIN_STATE_DIR=state, SSL_CERT_FILE=ca)


def checked(how, args, what=""):
    """how (benchlib.timed or peak_rss_kib) of drsjoin args, which must exit
    0: the figure (seconds or KiB)."""
    try:
        got = how([drsjoin] + args, env=env, timeout=60)
    except Timeout as e:
        sys.exit(f"bench: {e}")
    rc, err = got[1], got[-1]
    if rc != 0:
        sys.exit(f"bench: drsjoin {' '.join(args)}{what}: exit {rc}: "
                 f"{err.decode(errors='replace')[:300]}")
    return got[0]


def drsjoin_run(args):
    """Seconds of one drsjoin run."""
    return checked(timed, args)


def rss_of(args):
    """Peak RSS of one run (KiB), by GNU time."""
    return checked(peak_rss_kib, args, " (peak RSS run)")


def yard_run(mode, secret):
    rec = json.load(open(os.path.join(state, "device.json")))
    ident = os.path.join(state, rec["identity_dir"])
    p = subprocess.run([yard, mode, url, ca, tenant, os.path.join(ident, "certificate.pem"),
                        os.path.join(ident, "device-key.pem"), os.path.join(ident, "transport-key.pem"),
                        secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        sys.exit(f"bench: bench_prt {mode}: {p.stderr.decode()[:300]}")
    return float(p.stdout.split()[0])


def prt_record():
    d = os.path.join(state, "prt")
    return os.path.join(d, sorted(os.listdir(d))[0])


ok = True
print("after the join (software keys; median of paired runs, drsjoin / the mbedTLS yardstick):")
for name, args, mode, secret in (
        ("prt", ["prt", "--refresh-token-file", rt_file], "prt", lambda: rt_file),
        ("token", ["token", "--fresh", "--resource", "https://graph.microsoft.com"], "token",
         prt_record)):
    ratios, ds, ys = [], [], []
    drsjoin_run(args)          # warm the emulator and the page cache
    for _ in range(runs):
        d = drsjoin_run(args)
        y = yard_run(mode, secret())
        ratios.append(d / y)
        ds.append(d)
        ys.append(y)
    r = statistics.median(ratios)
    rss = rss_of(args)
    good = r <= 1.3
    ok = ok and good
    print(f"target {'met' if good else 'MISSED'}: {name}: {r:.2f} x <= 1.3 x (drsjoin "
          f"{statistics.median(ds) * 1000:.1f} ms, yardstick {statistics.median(ys) * 1000:.1f} ms, "
          f"{runs} runs); peak RSS {rss / 1024:.1f} MiB")
sys.exit(0 if ok else 1)
