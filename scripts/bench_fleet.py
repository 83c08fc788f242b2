#!/usr/bin/python3
"""make bench-fleet: a fleet joining at once against a throttled service.

N `drsjoin join` processes (software keys, each its own state dir) start
together against the DRS emulator throttled to RATE requests a second per
tenant on one route (a token bucket of BURST: `--throttle ROUTE=RATE:BURST`),
on loopback. Keys are made once, first (keygen, not timed), and copied for
each fleet, so the clock measures the network path: discovery, nonce, the
join POST and its retries. The fleets (FLEET_ONLY=NAME,... runs some):
  join        join throttled; Retry-After as the emulator sends it by
              default: the seconds until the next token (1 s at 10 a
              second, however many wait)
  join-queue  join throttled; Retry-After from the queue (the emulator's
              --throttle-retry-after queue: the wait until the bucket has
              room for this client, after those refused before it)
  bprt-queue  one bulk enrolment token (BPRT) redeemed by all at once, the
              token route throttled, Retry-After from the queue

Reported for each: the time until all joined against the ideal N/RATE (and
from the first request on the throttled route, since N processes starting
at once on a loaded machine take seconds to get there), the requests on
the throttled route, the 429s (and 503s) among them and the requests a
device, the slowest join, duplicate or orphan devices (the emulator's
device count must be N, each device id in exactly one state dir), failures
(must be 0), and the emulator's own load. Then the same keys join an
unthrottled emulator at once: what it serves when nothing holds it back,
so that RATE is shown to be the service's limit, not the emulator's.

Targets: with the queue's Retry-After, all joined within 1.1 x N/RATE and
at most 2 requests a device on the throttled route; with the bucket's
(which says nothing of the queue) within 1.3 x N/RATE and at most 5; no
failure, duplicate or orphan; throttling happened; the emulator serves at
least 2 x RATE unthrottled.

usage: bench_fleet.py DRSJOIN [N [RATE [BURST]]]   (defaults 200, 10, 10)
Exit status: 0 when every target is met and nothing failed, 1 otherwise.
"""
import concurrent.futures
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
EMU = os.path.join(TOP, "test", "drs-emulator")
# Each join may try the POST up to 20 times (the most --attempts allows):
# at N/RATE = 20 s a join retries about every 1.5 s. --max-wait 120 (the
# default) bounds it in time.
JOIN_OPTS = ["--attempts", "20", "--max-wait", "120"]
KEYGEN_JOBS = 8
TIMEOUT = 300   # seconds any phase may take


def die(msg):
    sys.exit("bench-fleet: %s" % msg)


class Emulator:
    def __init__(self, work, name, *args):
        self.dir = os.path.join(work, name)
        self.err = open(self.dir + ".err", "wb")
        self.proc = subprocess.Popen([os.path.join(EMU, "drs-emulator"), "--state-dir", self.dir,
                                      "--exit-with-parent", *args],
                                     stdout=subprocess.PIPE, stderr=self.err)
        line = self.proc.stdout.readline()
        if not line:
            die("the emulator did not start: see %s.err" % self.dir)
        self.info = json.loads(line)
        self.url, self.ca, self.control = self.info["url"], self.info["ca"], self.info["control"]

    def ctl(self, path):
        with urllib.request.urlopen(self.control + path, timeout=30) as r:
            return json.load(r)

    def records(self):
        with open(os.path.join(self.dir, "requests.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def env_for(emu, state):
    env = dict(os.environ, DRSJOIN_DISCOVERY_URL=emu.url, DRSJOIN_STATE_DIR=state,
               SSL_CERT_FILE=emu.ca)
    for k in ("DRSJOIN_TCTI", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    return env


def keygen(drsjoin, emu, state):
    p = subprocess.run([drsjoin, "-q", "keygen", "--key-store", "software"],
                       stdin=subprocess.DEVNULL, capture_output=True, env=env_for(emu, state),
                       timeout=TIMEOUT)
    if p.returncode != 0:
        die("keygen for %s failed (%d): %s" % (state, p.returncode, p.stderr.decode().strip()))
    return p.stdout


def fleet(drsjoin, emu, cred, states, docs):
    """Starts one join per state dir, each waiting for its document on
    stdin; then the clock starts and every one gets its document at once.
    cred: the join's token options. (seconds until all ended,
    [(rc, seconds, stderr)] per join)."""
    procs = []
    for st in states:
        procs.append(subprocess.Popen([drsjoin, "-q", *JOIN_OPTS, "join", *cred,
                                       "--key-store", "software"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=env_for(emu, st)))
    start = time.monotonic()
    for i, (p, doc) in enumerate(zip(procs, docs)):
        p.stdin.write(doc)
        p.stdin.close()
        procs[i] = (p, start)
    results = [None] * len(procs)
    left = set(range(len(procs)))
    while left:
        if time.monotonic() - start > TIMEOUT:
            for i in left:
                procs[i][0].kill()
            die("%d joins still running after %d s" % (len(left), TIMEOUT))
        for i in list(left):
            p, t0 = procs[i]
            if p.poll() is not None:
                results[i] = (p.returncode, time.monotonic() - t0, p.stderr.read().decode())
                left.discard(i)
        time.sleep(0.01)
    return time.monotonic() - start, results


def devices_check(emu, states, n):
    """(emulator device count, duplicates, orphans, missing)."""
    emu_ids = [d["device_id"] for d in emu.ctl("/devices")["devices"]]
    mine = []
    for st in states:
        try:
            with open(os.path.join(st, "device.json"), encoding="utf-8") as f:
                mine.append(json.load(f)["device_id"])
        except (OSError, ValueError, KeyError):
            pass
    dup = len(emu_ids) - len(set(emu_ids)) + len(mine) - len(set(mine))
    orphans = len(set(emu_ids) - set(mine))
    missing = len(set(mine) - set(emu_ids)) + (n - len(mine))
    return len(emu_ids), dup, orphans, missing


def mint(emu, path, *args):
    with open(path, "wb") as f:
        f.write(subprocess.run([os.path.join(EMU, "mint-token"), "--state-dir", emu.dir, *args],
                               check=True, capture_output=True).stdout.strip())
    os.chmod(path, 0o600)


def copy_states(states, docs, suffix):
    """The keys made once, copied before they are used: (states, docs)."""
    out = [st + suffix for st in states]
    for a, b in zip(states, out):
        shutil.copytree(a, b, symlinks=True)
    # The documents name their state dir's key sets.
    return out, [d.replace(a.encode() + b"/", b.encode() + b"/")
                 for d, a, b in zip(docs, states, out)]


def throttled_run(drsjoin, work, name, variant, n, rate, burst, states, docs):
    """One fleet against an emulator throttled on variant's route: the
    figures, as a dict."""
    route, ra, bprt = variant["route"], variant["retry_after"], variant["bprt"]
    emu = Emulator(work, "emulator-" + name, "--throttle", "%s=%g:%d" % (route, rate, burst),
                   "--throttle-retry-after", ra)
    try:
        cred = os.path.join(work, "cred-" + name)
        if bprt:
            mint(emu, cred, "--bprt")
            opts = ["--bprt-file", cred, "--tenant", emu.info["tenant_domain"]]
        else:
            mint(emu, cred, "--lifetime", "7200")
            opts = ["--token-file", cred]
        if variant.get("splay"):
            opts += ["--splay", "%d" % round(n / rate)]
        st, dc = copy_states(states, docs, "-" + name)
        start = time.time()
        elapsed, res = fleet(drsjoin, emu, opts, st, dc)
        recs = emu.records()
        on_route = [r for r in recs if r["route"] == route]
        # When the first request reached the throttled route: before it,
        # N processes start and discover at once (slow on a loaded machine).
        first = min(datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00"))
                    .timestamp() for r in on_route) - start
        count, dup, orphans, missing = devices_check(emu, st, n)
        return {
            "elapsed": elapsed, "slowest": max(t for _, t, _ in res), "first": first,
            "requests": len(on_route),
            "n429": sum(1 for r in on_route if r.get("status") == 429),
            "n503": sum(1 for r in on_route if r.get("status") == 503),
            "joins": sum(1 for r in recs if r["route"] == "join"),
            "failed": [(rc, err.strip().splitlines()[-1:] or [""]) for rc, _, err in res
                       if rc != 0],
            "count": count, "dup": dup, "orphans": orphans, "missing": missing,
            "peak": emu.ctl("/status")["throttle"]["peak_in_flight"],
            "durations": [r["duration_ms"] for r in recs],
        }
    finally:
        emu.stop()


# What each fleet is, and its targets: time in N/R, requests a device on
# the throttled route. The bucket's Retry-After (the seconds until the next
# token: 1 s at any queue length) says nothing of how many wait, so no
# client schedule can both keep the bucket busy (the time) and come back
# about once (the requests): the jitter growing with each refusal brings
# 6.9 requests a device down to about 4.7 there (target 5, within 1.3 x); with
# the queue's Retry-After the fleet comes back about once: <= 2, 1.1 x. With
# the bucket's, a fleet whose operator knows its size spreads its first
# requests over N/R (join --splay, "splay": true) and also knocks about once
# (target 2); its time is 1.2 x, not 1.1: machines drawing at random keep the
# bucket about full, and a request refused near the end comes back a whole
# Retry-After second later (scripts/fleet_model.py's kind of model: about
# one run in five past 1.1 x; measured 1.00 to 1.12 x).
VARIANTS = [
    ("join", {"route": "join", "retry_after": "bucket", "bprt": False,
              "what": "join, Retry-After from the bucket (the next token)",
              "time": 1.3, "per_device": 5.0}),
    ("join-splay", {"route": "join", "retry_after": "bucket", "bprt": False, "splay": True,
                    "what": "join --splay N/R, Retry-After from the bucket",
                    "time": 1.2, "per_device": 2.0}),
    ("join-queue", {"route": "join", "retry_after": "queue", "bprt": False,
                    "what": "join, Retry-After from the queue",
                    "time": 1.1, "per_device": 2.0}),
    ("bprt-queue", {"route": "token", "retry_after": "queue", "bprt": True,
                    "what": "one BPRT redeemed by all (token route throttled), Retry-After "
                    "from the queue", "time": 1.1, "per_device": 2.0}),
]


def report(name, v, r, n, rate, target):
    """Prints one fleet's figures and checks its targets."""
    ideal = n / rate
    print("%s: %s" % (name, v["what"]))
    print("  all joined after        %6.1f s   (ideal N/R = %.1f s: %.2f x)"
          % (r["elapsed"], ideal, r["elapsed"] / ideal))
    print("  slowest join            %6.1f s" % r["slowest"])
    print("  first %-17s %6.1f s   (start-up of %d at once; from there %.1f s: %.2f x N/R)"
          % (v["route"] + " request", r["first"], n, r["elapsed"] - r["first"],
             (r["elapsed"] - r["first"]) / ideal))
    print("  %-22s %6d     (429: %d, 503: %d; %.2f a device)"
          % (v["route"] + " requests", r["requests"], r["n429"], r["n503"], r["requests"] / n))
    if v["route"] != "join":
        print("  join POSTs              %6d" % r["joins"])
    print("  devices                 %6d     (duplicates %d, orphans %d, missing %d)"
          % (r["count"], r["dup"], r["orphans"], r["missing"]))
    print("  failures                %6d" % len(r["failed"]))
    for rc, line in r["failed"][:5]:
        print("    exit %d: %s" % (rc, line[0]))
    print("  emulator: peak %d requests in flight; time per request median %.1f ms, "
          "max %.1f ms" % (r["peak"], statistics.median(r["durations"]), max(r["durations"])))
    target("%s: time" % name, r["elapsed"] <= v["time"] * ideal,
           "%.1f s <= %g x N/R = %.1f s" % (r["elapsed"], v["time"], v["time"] * ideal))
    target("%s: %s requests a device" % (name, v["route"]),
           r["requests"] <= v["per_device"] * n,
           "%.2f <= %g (%d requests, %d answered 429)"
           % (r["requests"] / n, v["per_device"], r["requests"], r["n429"]))
    target("%s: no failure, one device each" % name, not r["failed"] and r["count"] == n and
           r["dup"] == 0 and r["orphans"] == 0 and r["missing"] == 0,
           "%d failed, %d devices for %d joins, %d duplicate, %d orphan"
           % (len(r["failed"]), r["count"], n, r["dup"], r["orphans"]))
    target("%s: throttling happened" % name, r["n429"] > 0, "%d answers 429" % r["n429"])


def main(argv):
    if len(argv) < 2:
        die("usage: bench_fleet.py DRSJOIN [N [RATE [BURST]]]")
    drsjoin = os.path.abspath(argv[1])
    n = int(argv[2]) if len(argv) > 2 else 200
    rate = float(argv[3]) if len(argv) > 3 else 10.0
    burst = int(argv[4]) if len(argv) > 4 else 10
    if not 1 <= n <= 1000 or not 0 < rate <= 1000 or not 1 <= burst <= n:
        die("N must be 1..1000, RATE in (0, 1000], BURST 1..N")
    only = [x for x in os.environ.get("FLEET_ONLY", "").split(",") if x]
    unknown = set(only) - {name for name, _ in VARIANTS} - {"free"}
    if unknown:
        die("FLEET_ONLY: unknown %s (known: %s, free)"
            % (", ".join(sorted(unknown)), ", ".join(name for name, _ in VARIANTS)))
    work = tempfile.mkdtemp(prefix="bench-fleet.")
    ok = True

    def target(name, good, text):
        nonlocal ok
        ok = ok and good
        print("target %s: %s: %s" % ("met" if good else "MISSED", name, text))

    try:
        free = Emulator(work, "emulator-free")
        states = [os.path.join(work, "s%d" % i) for i in range(n)]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(KEYGEN_JOBS) as ex:
            docs = list(ex.map(lambda st: keygen(drsjoin, free, st), states))
        kg = time.monotonic() - t0
        results = [(name, v, throttled_run(drsjoin, work, name, v, n, rate, burst, states, docs))
                   for name, v in VARIANTS if not only or name in only]

        print("fleet join: %d drsjoin processes at once, software keys (keygen before the "
              "clock: %.1f s), loopback" % (n, kg))
        print("  the emulator throttles one route to %g a second per tenant (token bucket, "
              "burst %d; 429 with Retry-After)" % (rate, burst))
        print("  join options: %s" % " ".join(JOIN_OPTS))
        for name, v, r in results:
            report(name, v, r, n, rate, target)
        if only and "free" not in only:
            return 0 if ok else 1
        # The same keys join an unthrottled emulator at once.
        mint(free, os.path.join(work, "token-free.jwt"), "--lifetime", "7200")
        spare, free_docs = copy_states(states, docs, "-free")
        free_elapsed, free_res = fleet(drsjoin, free, ["--token-file",
                                       os.path.join(work, "token-free.jwt")], spare, free_docs)
        free_failed = sum(1 for rc, _, _ in free_res if rc != 0)
        free_count = len(free.ctl("/devices")["devices"])
        free_peak = free.ctl("/status")["throttle"]["peak_in_flight"]
        free_durations = [r["duration_ms"] for r in free.records()
                          if r["route"] == "join"] or [float("nan")]
        for rc, _, err in free_res:
            if rc != 0:
                print("bench-fleet: unthrottled join failed (%d): %s" % (rc, err.strip()),
                      file=sys.stderr)
                break
        print("unthrottled, the same keys: all %d joined after %.1f s (%.0f joins a second; "
              "%d failed, %d devices), peak %d in flight, join time median %.1f ms, "
              "max %.1f ms" % (n, free_elapsed, n / free_elapsed, free_failed, free_count,
                               free_peak, statistics.median(free_durations),
                               max(free_durations)))
        # The emulator must be well above R, or its own speed, not the
        # throttle and drsjoin's retries, sets the fleet's time: twice R
        # leaves the time target to drsjoin (Python's TLS and GIL keep a
        # 2-core machine near 26 joins a second, all 200 at once).
        target("emulator capacity", free_failed == 0 and free_count == n and
               n / free_elapsed >= 2 * rate,
               "unthrottled %.0f joins a second >= 2 x R = %g" % (n / free_elapsed, 2 * rate))
        return 0 if ok else 1
    finally:
        free.stop() if "free" in locals() else None
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
