"""The measurements of `make bench` (run by scripts/bench.sh).

Each phase is timed as its own drsjoin process (so process start-up is in
every figure), over RUNS runs; peak RSS is GNU time's maximum resident set
of a one-shot join (the largest of three). Targets (issue 4, 5 and 8):
  one-shot join (software keys) <= 1.3 x (keygen + the three round trips)
  peak RSS <= 4 MB; one-shot join with TPM keys on swtpm <= 1.5 s;
  leave (software keys) <= 1.3 x one TLS handshake and one DELETE on
  loopback made with mbedTLS alone (drsjoin's TLS library:
  test/bench/handshake.c, a cold first handshake in a fresh process, timed
  from connect() to the answer's end; issue 17). The same DELETE made with
  OpenSSL (Python's ssl, in this process; the yardstick first used) is
  reported for scale, with no target. Both include
  the emulator's work and no process start-up; leave's figure is a whole
  drsjoin -q process (start-up, libcurl, the local removal), timed by
  test/bench/run.c (scripts/benchlib.py); its time split comes from
  another run at -v. Each run does the
  three in turn (and leave with the system CA bundle, for scale, and with
  TPM keys, reported), each on a device joined just before (not timed),
  against an emulator of their own so that every DELETE finds the same
  device store; the targets compare the median of the per-run ratios.
  Each DELETE must be TLSv1.3 (the emulator's request log), and the mbedTLS
  yardstick no more than 4 x the OpenSSL one (or it is broken).
Issue 9: the one-shot join with a bulk enrolment token (BPRT) beside the one
with a ready token; the exchange must be one request, on the connection
discovery opened: one round trip on loopback (its time is reported, with
the difference between the two joins, which keygen's overlap makes noisy).
"""
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import time

from benchlib import Timeout, peak_rss_kib, timed

# Measured against the emulator: this machine's /etc/drsjoin/drsjoin.conf stays out.
os.environ["DRSJOIN_CONFIG"] = "/dev/null"

(drsjoin, work, runs, url, ca, domain, size, handshake, leave_url, leave_ca,
 leave_token, leave_log, sysbundle) = sys.argv[1:14]
runs = int(runs)
TIMEOUT = 120   # seconds any one process may take
tcti = os.environ.get("BENCH_TCTI", "")
token = os.path.join(work, "token.jwt")
bprt = os.path.join(work, "bprt")
requests_log = os.path.join(work, "emulator", "requests.jsonl")


def run_bounded(argv, **kw):
    """subprocess.run, failing loudly after TIMEOUT seconds."""
    try:
        return subprocess.run(argv, timeout=TIMEOUT, **kw)
    except subprocess.TimeoutExpired:
        sys.exit(f"bench: {' '.join(argv)} did not end in {TIMEOUT} s")


last_err = b""


def run(args, state, stdin=None, env_extra=None, emu=(None, None), flag="-q"):
    """Runs drsjoin once (against the emulator EMU, (URL, CA), by default the
    joins' one), quiet unless flag says otherwise; returns (seconds, stdout),
    its stderr in last_err. Fails loudly."""
    global last_err
    env = dict(os.environ, DRSJOIN_DISCOVERY_URL=emu[0] or url, DRSJOIN_STATE_DIR=state,
               SSL_CERT_FILE=emu[1] or ca)
    env.pop("DRSJOIN_TCTI", None)
    env.update(env_extra or {})
    # No document: /dev/null (an empty pipe means "the phase before failed").
    try:
        elapsed, rc, out, err = timed([drsjoin, flag] + args, env=env, stdin=stdin,
                                      timeout=TIMEOUT)
    except Timeout:
        sys.exit(f"bench: drsjoin {' '.join(args)} did not end in {TIMEOUT} s")
    last_err = err
    if rc != 0:
        sys.exit(f"bench: drsjoin {' '.join(args)} failed ({rc}): "
                 f"{err.decode(errors='replace').strip()}")
    return elapsed, out


def rss_of(args, state, stdin=None, env_extra=None):
    """Peak RSS (kB) of one drsjoin run, measured by GNU time."""
    env = dict(os.environ, DRSJOIN_DISCOVERY_URL=url, DRSJOIN_STATE_DIR=state,
               SSL_CERT_FILE=ca)
    env.update(env_extra or {})
    try:
        kib, rc, err = peak_rss_kib([drsjoin, "-q"] + args, env=env, stdin=stdin,
                                    timeout=TIMEOUT)
    except Timeout as e:
        sys.exit(f"bench: {e}")
    if rc != 0:
        sys.exit(f"bench: rss run failed: {err.decode(errors='replace')}")
    return kib


def handshake_and_delete_mbedtls(state):
    """Seconds for one TLS handshake with the identity's certificate and key
    and one DELETE round trip of its device, mbedTLS alone (as timed by
    test/bench/handshake.c itself, from connect() on)."""
    rec = json.load(open(os.path.join(state, "device.json")))
    p = run_bounded([handshake, leave_url, leave_ca, os.path.join(state, rec["certificate"]),
                        os.path.join(state, rec["keys"]["device_key"]), rec["device_id"], "20000"],
                       capture_output=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"bench: {p.stderr.decode(errors='replace').strip()}")
    seconds, version, _ = p.stdout.decode().split()
    # drsjoin's leave with a software key goes over TLS 1.3: the same here.
    if version != "TLSv1.3":
        sys.exit(f"bench: the mbedTLS yardstick's handshake was {version}, not TLSv1.3")
    return float(seconds)


def handshake_and_delete_openssl(state):
    """The same with Python's ssl (OpenSSL), in this process."""
    rec = json.load(open(os.path.join(state, "device.json")))
    ctx = ssl.create_default_context(cafile=leave_ca)
    # Records hold paths relative to the state dir (join() treats absolute ones too).
    ctx.load_cert_chain(os.path.join(state, rec["certificate"]),
                        os.path.join(state, rec["keys"]["device_key"]))
    host, port = leave_url[len("https://"):].rsplit(":", 1)
    start = time.perf_counter()
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    conn.request("DELETE", "/EnrollmentServer/device/%s?api-version=1.0" % rec["device_id"])
    sock = conn.sock
    r = conn.getresponse()
    r.read()
    elapsed = time.perf_counter() - start
    version = sock.version()
    conn.close()
    if version != "TLSv1.3":
        sys.exit(f"bench: the OpenSSL yardstick's handshake was {version}, not TLSv1.3")
    if r.status != 200:
        sys.exit(f"bench: the OpenSSL yardstick's DELETE answered {r.status}")
    return elapsed


def fresh_state(name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def summary(name, xs):
    xs = sorted(xs)
    med = statistics.median(xs)
    print(f"  {name:<28} median {med * 1000:7.1f} ms   min {xs[0] * 1000:7.1f}"
          f"   max {xs[-1] * 1000:7.1f}   stdev {statistics.pstdev(xs) * 1000:6.1f}")
    return med


phases = {k: [] for k in ("discover", "nonce", "keygen", "csr", "join")}
oneshot, oneshot_tpm, oneshot_bprt = [], [], []
BPRT_JOIN = ["join", "--bprt-file", bprt, "--tenant", domain, "--key-store", "software"]
for i in range(runs):
    st = fresh_state(f"s{i}")
    t, doc = run(["discover", "--tenant", domain], st)
    phases["discover"].append(t)
    t, doc = run(["nonce"], st, doc)
    phases["nonce"].append(t)
    t, doc = run(["keygen", "--key-store", "software"], st, doc)
    phases["keygen"].append(t)
    t, doc = run(["csr"], st, doc)
    phases["csr"].append(t)
    t, _ = run(["join", "--token-file", token, "--key-store", "software"], st, doc)
    phases["join"].append(t)
    t, _ = run(["join", "--token-file", token, "--key-store", "software"],
               fresh_state(f"o{i}"))
    oneshot.append(t)
    t, _ = run(BPRT_JOIN, fresh_state(f"bp{i}"))
    oneshot_bprt.append(t)
    if tcti:
        t, _ = run(["join", "--token-file", token, "--key-store", "tpm"],
                   fresh_state(f"t{i}"), env_extra={"DRSJOIN_TCTI": tcti})
        oneshot_tpm.append(t)

# leave, against its own emulator (LEAVE_EMU). In each run, in turn (the
# order rotating from run to run): leave, the two yardsticks, leave with the
# system CA bundle, leave with TPM keys; each on a device joined just before
# (not timed), so every DELETE finds the same store: that device alone.
LEAVE_EMU = (leave_url, leave_ca)
TPM_ENV = {"DRSJOIN_TCTI": tcti}


def leave_once(state, env_extra=None):
    return run(["leave"], state, env_extra=env_extra, emu=LEAVE_EMU)[0]


SPLIT = ("start-up and config", "state dir and key load", "handshake", "TCP", "DELETE",
         "local removal", "since main", "request set-up")
splits = []


def leave_split(state):
    """leave at -v, whose last line but one gives its time split (ms):
    kept with the process's start-up (exec to main) and exit added."""
    t = run(["leave"], state, emu=LEAVE_EMU, flag="-v")[0]
    line = [l for l in last_err.decode(errors="replace").splitlines() if "time split:" in l]
    if len(line) != 1:
        sys.exit("bench: leave -v printed no time split: %r" % last_err[-400:])
    ms = [float(x) for x in re.findall(r"([0-9.]+) ms", line[0].split("time split:")[1])]
    splits.append(dict(zip(SPLIT, ms), exec_exit=t * 1000 - ms[6]))
    return t


# The ratio is of leave run quietly (-q, as scripts that check the exit
# status do); the time split comes from a run of its own at -v, whose trace
# (libcurl's headers, a line a step) costs about 0.5 ms more (both shown).
ops = {
    "leave": leave_once,
    "split": leave_split,
    "mbedtls": handshake_and_delete_mbedtls,
    "openssl": handshake_and_delete_openssl,
}
if sysbundle:
    ops["sysbundle"] = lambda st: leave_once(st, {"SSL_CERT_FILE": sysbundle})
if tcti:
    ops["tpm"] = lambda st: leave_once(st, TPM_ENV)
times = {k: [] for k in ops}
server_ms = {k: [] for k in ops}
log_offset = 0


def new_deletes():
    """The DELETE records the leave emulator logged since the last call."""
    global log_offset
    with open(leave_log, encoding="utf-8") as f:
        f.seek(log_offset)
        lines = f.readlines()
        log_offset = f.tell()
    return [r for r in map(json.loads, lines) if r.get("route") == "delete"]


for i in range(runs):
    names = list(ops)
    names = names[i % len(names):] + names[:i % len(names)]
    for k in names:
        st = fresh_state(f"l{k}{i}")
        run(["join", "--token-file", leave_token, "--no-nonce",
             "--key-store", "tpm" if k == "tpm" else "software"], st,
            env_extra=TPM_ENV if k == "tpm" else None, emu=LEAVE_EMU)
        # The join's writes are flushed before the clock starts: leave's
        # fsyncs would otherwise commit the join's journal too, which no
        # leave at the end of a machine's life pays (the yardsticks do not
        # fsync; they get the same sync, to keep the runs alike).
        os.sync()
        new_deletes()
        times[k].append(ops[k](st))
        # One DELETE, over TLS 1.3, answered 200: drsjoin's as the yardsticks'.
        d = new_deletes()
        if len(d) != 1 or d[0].get("tls") != "TLSv1.3" or d[0].get("status") != 200:
            sys.exit(f"bench: {k}: not one DELETE over TLSv1.3 answered 200: {d}")
        server_ms[k].append(d[0]["duration_ms"])

print(f"drsjoin bench: {runs} runs each, against the DRS emulator on loopback")
print("phases, each as its own process:")
med = {k: summary(k, v) for k, v in phases.items()}
print("one-shot join:")
whole = summary("software keys", oneshot)
tpm = summary("TPM keys (swtpm)", oneshot_tpm) if oneshot_tpm else None
with_bprt = summary("software keys, BPRT", oneshot_bprt)


def token_requests():
    with open(requests_log, encoding="utf-8") as f:
        return sum(1 for line in f if json.loads(line).get("route") == "token")


# One BPRT join at -v: how many requests the exchange took, on which
# connection, and how long the request itself was.
before = token_requests()
env = dict(os.environ, DRSJOIN_DISCOVERY_URL=url, DRSJOIN_STATE_DIR=fresh_state("bv"),
           SSL_CERT_FILE=ca)
p = run_bounded([drsjoin, "-v"] + BPRT_JOIN, capture_output=True, env=env,
                   stdin=subprocess.DEVNULL)
if p.returncode != 0:
    sys.exit(f"bench: BPRT join at -v failed: {p.stderr.decode(errors='replace')}")
exchanges = token_requests() - before
paired = statistics.median(b - r for b, r in zip(oneshot_bprt, oneshot))
login = [l for l in p.stderr.decode().splitlines() if "login: answer 200" in l]
reused = len(login) == 1 and "connection reused" in login[0]
login_ms = float(login[0].split(" ms,")[0].rsplit(", ", 1)[1]) if login else float("nan")
where = "on discovery's connection" if reused else "on a new connection"
print(f"token exchange: {exchanges} request(s), {login_ms:.1f} ms, {where}; "
      f"BPRT join - ready-token join: {paired * 1000:.1f} ms (median of the {runs} "
      f"paired runs; keygen overlaps the network, so this is mostly noise)")
print(f"leave (DELETE with TLS client authentication, then the local removal), "
      f"against an emulator of its own, one device at a time:")
lv = summary("software keys", times["leave"])
lv_sys = summary("software keys, system CAs", times["sysbundle"]) if sysbundle else None
lv_tpm = summary("TPM keys (swtpm)", times["tpm"]) if tcti else None
summary("software keys, at -v (the split)", times["split"])
base = summary("yardstick: mbedTLS", times["mbedtls"])
print("    (test/bench/handshake.c: a cold first handshake in a fresh process + DELETE,")
print("     timed from connect(), no start-up)")
base_ossl = summary("yardstick: OpenSSL", times["openssl"])
print("    (Python's ssl, in this process: handshake + DELETE, timed from connect())")


def paired(xs, ys):
    return statistics.median(x / y for x, y in zip(xs, ys))


def split_median(k):
    return statistics.median(x[k] for x in splits)


print("  where leave's time goes (-v's time split, median of the %d runs):" % runs)
print("    start-up and config    %5.2f ms  (exec to main and exit %.2f, main to the "
      "sandbox and config %.2f)" % (split_median("exec_exit") + split_median(SPLIT[0]),
                                    split_median("exec_exit"), split_median(SPLIT[0])))
print("    state dir and key load %5.2f ms  (and the request's set-up %.2f)"
      % (split_median(SPLIT[1]), split_median(SPLIT[7])))
print("    handshake              %5.2f ms  (TCP connect %.2f)"
      % (split_median(SPLIT[2]), split_median(SPLIT[3])))
print("    DELETE                 %5.2f ms" % split_median(SPLIT[4]))
print("    local removal          %5.2f ms  (two directory fsyncs among it)"
      % split_median(SPLIT[5]))
r_mbed = paired(times["leave"], times["mbedtls"])
r_ossl = paired(times["leave"], times["openssl"])
print(f"  leave / yardstick, median of the {runs} paired runs: mbedTLS {r_mbed:.2f} x, "
      f"OpenSSL {r_ossl:.2f} x")
print(f"    (ratio of the medians: mbedTLS {lv / base:.2f} x, OpenSSL {lv / base_ossl:.2f} x)")
if sysbundle:
    ncas = open(sysbundle, encoding="utf-8", errors="replace").read().count("BEGIN CERTIFICATE")
    extra = statistics.median(x - y for x, y in zip(times["sysbundle"], times["leave"]))
    print(f"  system CA bundle ({ncas} certificates, the emulator's included) as SSL_CERT_FILE: "
          f"{extra * 1000:+.1f} ms a leave (median of the paired runs; for scale, no target)")
else:
    print("  system CA bundle: none found, not measured")
all_ms = [m for k in ops for m in server_ms[k]]
firsts = [server_ms[k][0] for k in ops]
lasts = [server_ms[k][-1] for k in ops]
print(f"  the emulator's own time per DELETE: median {statistics.median(all_ms):.1f} ms "
      f"(first run {statistics.median(firsts):.1f}, last run {statistics.median(lasts):.1f})")
print(f"  (for scale: a drsjoin process that only discovers - start-up, one TLS "
      f"handshake, one GET - takes {med['discover'] * 1000:.1f} ms)")
# A yardstick several times OpenSSL's is a broken one (e.g. without
# TCP_NODELAY each flight waits some 40 ms for a delayed ACK).
if base > 4 * base_ossl:
    sys.exit(f"bench: the mbedTLS yardstick ({base * 1000:.1f} ms) is more than 4 x the "
             f"OpenSSL one ({base_ossl * 1000:.1f} ms): it measures something else")

rss = max(rss_of(["join", "--token-file", token, "--key-store", "software"],
                 fresh_state(f"r{i}")) for i in range(3))
bound = 1.3 * (med["keygen"] + med["discover"] + med["nonce"] + med["join"])
print(f"peak RSS: {rss} kB (one-shot join, software keys; largest of 3)")
print(f"stripped size: {size} bytes")
# aarch64 (issue 18): its size only. It runs under qemu-user here, where
# time is the emulator's, so nothing of it is timed.
a64_size = os.environ.get("BENCH_AARCH64_SIZE", "")
if a64_size:
    print(f"aarch64 stripped size: {a64_size} bytes (not timed: emulated under qemu-user)")
else:
    print("aarch64: not built, not measured (make bench builds it)")

ok = True
def target(name, good, text):
    global ok
    ok = ok and good
    print(f"target {'met' if good else 'MISSED'}: {name}: {text}")

target("one-shot join", whole <= bound,
       f"{whole * 1000:.0f} ms <= 1.3 x (keygen + discover + nonce + join) = {bound * 1000:.0f} ms")
target("peak RSS", rss <= 4096, f"{rss} kB <= 4096 kB")
target("size", int(size) <= 1600000, f"{size} <= 1600000 bytes")
if a64_size:
    target("size, aarch64", int(a64_size) <= 1600000, f"{a64_size} <= 1600000 bytes")
if tpm is not None:
    target("one-shot join, TPM keys", tpm <= 1.5, f"{tpm * 1000:.0f} ms <= 1500 ms")
target("token exchange, one round trip", exchanges == 1 and reused,
       f"{exchanges} request(s) to the token endpoint, "
       f"{'reusing' if reused else 'NOT reusing'} discovery's connection")
# The target is the same library's handshake (issue 17): OpenSSL's RSA is
# about twice as fast as mbedTLS's, which no change in drsjoin can close.
print(f"for scale, no target: leave vs one handshake + round trip with OpenSSL (Python's "
      f"ssl): {r_ossl:.2f} x (median of the paired runs; leave {lv * 1000:.1f} ms, "
      f"OpenSSL {base_ossl * 1000:.1f} ms)")
target("leave vs one handshake + DELETE with mbedTLS alone (drsjoin's TLS library)",
       r_mbed <= 1.3,
       f"{r_mbed:.2f} x <= 1.3 x (median of the paired runs; leave {lv * 1000:.1f} ms, "
       f"yardstick {base * 1000:.1f} ms)")
sys.exit(0 if ok else 1)
