#!/usr/bin/python3
"""Crash consistency of every commit, step by step (run by crash.sh).

For each scenario (a first join, a join --force over an identity, keygen,
leave):
a clean run under strace lists the system calls that change the state dir
(open with O_CREAT, write, fsync, rename, link, unlink, mkdir, rmdir); the
order of that list is checked (each file fsync'd before it is renamed or
linked into place, each directory fsync'd after a name in it changed and
before the commit point, the identity record replaced last); then the run
is repeated once per listed call, making that call fail with EIO (and, for
a join, ENOSPC) and, separately, killing drsjoin (SIGKILL) just as it makes
that call. After an error, a join's device is in the state dir, deleted
from the emulator again, or named by the error. After
each run, the state dir must hold the complete old or the complete new
state, byte for byte (checksums of every file, the certificate against what
the emulator issued), `status` must agree, and the next run must see it and
leave nothing half-made behind.

usage: crash.py WORKDIR     (env: DRSJOIN, EMU_URL, EMU_CA, EMU_CONTROL, TOKEN_FILE)
"""
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

W = sys.argv[1]
DRSJOIN = os.environ["DRSJOIN"]
TOKEN = os.environ["TOKEN_FILE"]
STATE = os.path.join(W, "state")      # one fixed path: strace -y names it
failed = 0

CALLS = ["open", "openat", "write", "writev", "pwrite64", "fsync", "fdatasync",
         "rename", "renameat", "renameat2", "link", "linkat", "unlink",
         "unlinkat", "mkdir", "mkdirat", "rmdir"]
# Calls that change nothing unless they create (open): kept only with O_CREAT.
CREATING = {"open", "openat"}


def ok(name):
    print("ok - " + name, flush=True)


def not_ok(name, why):
    global failed
    failed += 1
    print("not ok - %s: %s" % (name, why), flush=True)


def env():
    e = dict(os.environ, DRSJOIN_STATE_DIR=STATE, DRSJOIN_DISCOVERY_URL=os.environ["EMU_URL"],
             SSL_CERT_FILE=os.environ["EMU_CA"])
    for k in ("DRSJOIN_TOKEN", "DRSJOIN_TCTI", "TPM2TOOLS_TCTI"):
        e.pop(k, None)
    return e


def run(args, strace=None, stdin=None):
    cmd = [DRSJOIN] + args
    if strace:
        cmd = ["strace", "-f", "-qq"] + strace + ["--"] + cmd
    e = env()
    if strace and "ASAN_OPTIONS" in e:
        # LeakSanitizer cannot stop the threads of a traced process; the
        # ASan build's other checks still run here, its leaks elsewhere.
        e["ASAN_OPTIONS"] += ":detect_leaks=0"
    p = subprocess.run(cmd, env=e, stdin=subprocess.DEVNULL if stdin is None else stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- the strace log --------------------------------------------------------

def split_args(s):
    """Top-level arguments of a syscall line's argument list."""
    out, cur, depth, q, i = [], "", 0, False, 0
    while i < len(s):
        c = s[i]
        if q:
            cur += c
            if c == "\\" and i + 1 < len(s):
                cur += s[i + 1]
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q, cur = True, cur + c
        elif c in "[{<(":
            depth, cur = depth + 1, cur + c
        elif c in "]}>)":
            depth, cur = depth - 1, cur + c
        elif c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def unquote(a):
    m = re.match(r'^"((?:[^"\\]|\\.)*)"', a)
    return m.group(1).encode().decode("unicode_escape") if m else None


def fdpath(a):
    m = re.match(r"^(?:-?\d+|AT_FDCWD)<(.*)>$", a)
    return m.group(1) if m else None


def at(dirarg, name):
    if name is None:
        return None
    if name.startswith("/"):
        return name
    base = fdpath(dirarg) or os.getcwd()
    return os.path.normpath(os.path.join(base, name))


LINE = re.compile(r"^(\w+)\((.*)\)\s+= (-?\d+|\?)")


def parse(path):
    """[(call, n, paths, ret, line)]: n counts that call in this thread, as
    strace's inject when=N does; paths are the absolute paths it names."""
    counts, out = {}, []
    for line in open(path, errors="replace"):
        m = LINE.match(line.strip())
        if not m:
            continue
        call, args, ret = m.group(1), split_args(m.group(2)), m.group(3)
        counts[call] = counts.get(call, 0) + 1
        if call in ("open",):
            p = [unquote(args[0])]
        elif call == "openat":
            p = [at(args[0], unquote(args[1]))]
        elif call in ("write", "writev", "pwrite64", "fsync", "fdatasync"):
            p = [fdpath(args[0])]
        elif call in ("rename", "link"):
            p = [unquote(args[0]), unquote(args[1])]
        elif call in ("renameat", "renameat2", "linkat"):
            p = [at(args[0], unquote(args[1])), at(args[2], unquote(args[3]))]
        elif call in ("unlink", "rmdir", "mkdir"):
            p = [unquote(args[0])]
        elif call in ("unlinkat", "mkdirat"):
            p = [at(args[0], unquote(args[1]))]
        else:
            continue
        p = [x for x in p if x]
        if call in CREATING and "O_CREAT" not in m.group(2):
            continue
        if not any(x == STATE or x.startswith(STATE + "/") for x in p):
            continue
        out.append((call, counts[call], p, ret, line.strip()))
    return out


def traced_steps(prefix):
    """The state changes of every thread (strace -ff: a log per thread),
    and how many threads made some. when=N counts per thread, so one
    injection hits the Nth call of each thread: (call, n) is listed once."""
    steps, seen, threads = [], set(), 0
    for f in sorted(glob.glob(prefix + ".*")):
        mine = parse(f)
        threads += 1 if mine else 0
        for st in mine:
            if (st[0], st[1]) not in seen:
                seen.add((st[0], st[1]))
                steps.append(st)
    return steps, threads


# ---- what the state dir holds ----------------------------------------------

def files(root):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            if os.path.relpath(p, root) == ".lock":
                continue
            out[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def pem_der(path):
    text = open(path).read()
    b = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(b.split()))


def issued(device_id):
    """The DER certificate the emulator issued to device_id."""
    with urllib.request.urlopen(os.environ["EMU_CONTROL"] + "/devices") as r:
        devs = json.load(r)
    devs = devs["devices"] if isinstance(devs, dict) else devs
    for d in devs:
        if d.get("device_id", "").lower() == device_id.lower():
            return base64.b64decode(d["certificate"])
    return None


def devices():
    """The ids of the devices the emulator holds, lower case."""
    with urllib.request.urlopen(os.environ["EMU_CONTROL"] + "/devices") as r:
        devs = json.load(r)
    devs = devs["devices"] if isinstance(devs, dict) else devs
    return {d.get("device_id", "").lower() for d in devs}


def unnamed(before, err):
    """Devices made by the run that the state dir does not know and no
    line names as left in the tenant (a line saying it was deleted does not
    count): a join leaves none behind."""
    try:
        rec = json.load(open(os.path.join(STATE, "device.json"))).get("device_id", "").lower()
    except (OSError, ValueError):
        rec = None
    lines = [l for l in err.lower().splitlines() if "was deleted" not in l]
    return sorted(d for d in devices() - before
                  if d != rec and not any(d in l for l in lines))


def leftovers():
    """Temporaries, unfinished sets, and sets of identity/ no record names."""
    bad = [p for p in files(STATE) if ".tmp-" in p]
    for sub in ("staging", "identity"):
        d = os.path.join(STATE, sub)
        if os.path.isdir(d):
            bad += [sub + "/" + e for e in os.listdir(d) if e.startswith(".")]
    try:
        cur = os.path.basename(json.load(open(os.path.join(STATE, "device.json")))
                               .get("identity_dir", ""))
    except (OSError, ValueError):
        cur = None
    d = os.path.join(STATE, "identity")
    if os.path.isdir(d):
        bad += ["identity/" + e for e in os.listdir(d)
                if not e.startswith(".") and e != cur]
    return bad


class Scenario:
    """Runs ARGS from the snapshot SNAP; old/new say what a whole state is."""
    record = True

    def __init__(self, name, snap, args, next_args):
        self.name, self.snap, self.args, self.next_args = name, snap, args, next_args
        self.old = files(snap)
        self.old_rec = self.read(snap, "device.json")

    @staticmethod
    def read(root, rel):
        try:
            return open(os.path.join(root, rel), "rb").read()
        except FileNotFoundError:
            return None

    def restore(self):
        shutil.rmtree(STATE, ignore_errors=True)
        shutil.copytree(self.snap, STATE, symlinks=True)

    def next_clean(self, what="run", check=None):
        """The next run (next_args) exits 0, check() (if any) finds nothing
        wrong after it, and it leaves nothing behind: None, or what failed."""
        rc, out, err = run(self.next_args)
        if rc != 0:
            return "the next %s exits %d: %s" % (what, rc, err.strip())
        why = check() if check else None
        if why:
            return why
        if leftovers():
            return "the next %s left %s" % (what, leftovers())
        return None

    def judge(self):
        """'old', 'new' or why the state dir is neither."""
        rec = self.read(STATE, "device.json")
        now = files(STATE)
        if rec == self.old_rec:
            # Every file of the old identity (the record, its set) unchanged;
            # a staged set may have been consumed or restored.
            lost = [p for p, h in self.old.items()
                    if not p.startswith("staging/") and now.get(p) != h]
            return "old" if not lost else "old record, but changed: %s" % lost
        if rec is None:
            return "the record is gone"
        try:
            r = json.loads(rec)
        except ValueError as e:
            return "the record is not JSON: %s" % e
        # Relative to the state dir (older records: absolute).
        setdir = os.path.join(STATE, r.get("identity_dir", ""))
        if not setdir.startswith(STATE + "/identity/") or r.get("identity_dir", "").startswith("/"):
            return "the record names no set of identity/ relative to the state dir: %r" % setdir
        rel = os.path.relpath(setdir, STATE)
        staged = {os.path.basename(p): h for p, h in self.old.items()
                  if p.startswith("staging/") and os.path.basename(os.path.dirname(p)) ==
                  os.path.basename(setdir).replace(".join-", "")}
        for f in ("device-key.pem", "transport-key.pem"):
            want = staged.get(f)
            got = now.get(rel + "/" + f)
            if got is None or (want is not None and got != want):
                return "%s/%s is %s" % (rel, f, "missing" if got is None else "not the staged key")
        cert = os.path.join(setdir, "certificate.pem")
        if not os.path.exists(cert):
            return "%s/certificate.pem is missing" % rel
        der = pem_der(cert)
        if der != issued(r.get("device_id", "")):
            return "the certificate is not the one issued to %s" % r.get("device_id")
        if hashlib.sha1(der).hexdigest().upper() != r.get("thumbprint", "").upper():
            return "the record's thumbprint is not the certificate's"
        return "new"

    def after(self, label, state):
        """status agrees; the next run sees the same identity and cleans up."""
        rec = self.read(STATE, "device.json")
        rc, out, err = run(["status"])
        if rec is None:
            if rc != 8:
                return "status exits %d without a record: %s" % (rc, err.strip())
        else:
            want = json.loads(rec)["device_id"]
            if rc != 0 or json.loads(out).get("device_id") != want:
                return "status exits %d: %s" % (rc, err.strip())
        if self.next_args is None:
            return None
        return self.next_clean(check=lambda: "the next run changed the record" if
                               rec is not None and self.read(STATE, "device.json") != rec
                               else None)


class KeygenScenario(Scenario):
    """keygen publishes a staged set by renaming .tmp-SET to SET: no record;
    whole means no set, or one set whose two keys are both there and load."""
    record = False

    def sets(self):
        d = os.path.join(STATE, "staging")
        return sorted(e for e in os.listdir(d) if not e.startswith(".")) \
            if os.path.isdir(d) else []

    def judge(self):
        if self.read(STATE, "device.json") is not None:
            return "keygen wrote an identity record"
        sets = self.sets()
        if not sets:
            return "old"
        if len(sets) > 1:
            return "%d staged sets from one keygen" % len(sets)
        for f in ("device-key.pem", "transport-key.pem"):
            p = os.path.join(STATE, "staging", sets[0], f)
            if not os.path.isfile(p):
                return "staging/%s/%s is missing" % (sets[0], f)
            if os.stat(p).st_mode & 0o077:
                return "staging/%s/%s is readable by others" % (sets[0], f)
            if subprocess.run(["openssl", "pkey", "-noout", "-in", p],
                              capture_output=True).returncode != 0:
                return "staging/%s/%s is not a whole key" % (sets[0], f)
        return "new"

    def after(self, label, state):
        rc, out, err = run(["status"])
        if rc != 8:
            return "status exits %d: %s" % (rc, err.strip())
        return self.next_clean("keygen")


class LeaveScenario(Scenario):
    """leave renames the set to identity/.remove-SET (the commit point),
    removes its files, then the record: whole means the old identity
    untouched, or a removal committed (no record, or a record whose set is
    marked .remove-); what is left must go at the next run."""
    record = False

    def judge(self):
        rec = self.read(STATE, "device.json")
        if rec is None:
            return "new"
        try:
            name = os.path.basename(json.loads(rec).get("identity_dir", ""))
        except ValueError:
            name = ""
        if name and not os.path.lexists(os.path.join(STATE, "identity", name)) and \
                os.path.isdir(os.path.join(STATE, "identity", ".remove-" + name)):
            return "new"
        return Scenario.judge(self)

    def after(self, label, state):
        rc, out, err = run(["status"])
        want = 8 if state == "new" else 0
        if rc != want:
            return "status exits %d, not %d: %s" % (rc, want, err.strip())
        return self.next_clean()


class OneFileScenario(Scenario):
    """A command that replaces the one file under its directory (DIR, as
    "prt/"): whole means nothing else changed and that file either the old
    one, byte for byte, or a whole new one (0600) that same_entity() takes
    for the same thing renewed; a killed run's temporary is swept by the
    next (STATUS: status must list one of them too)."""
    record = False
    DIR = None
    STATUS = None

    def same_entity(self, a, b):
        raise NotImplementedError

    def judge(self):
        now = files(STATE)
        lost = [p for p, h in self.old.items() if not p.startswith(self.DIR) and now.get(p) != h]
        if lost:
            return "%s changed other files: %s" % (self.name, lost)
        # A temporary of a killed run is not the file (the next run removes it).
        old = [p for p in self.old if p.startswith(self.DIR)]
        new = [p for p in now if p.startswith(self.DIR) and ".tmp-" not in p]
        if len(old) != 1 or new != old:
            return "%s holds %s, not %s" % (self.DIR, new, old)
        if now[new[0]] == self.old[old[0]]:
            return "old"
        if os.stat(os.path.join(STATE, new[0])).st_mode & 0o077:
            return "%s is readable by others" % new[0]
        try:
            a, b = json.loads(self.read(self.snap, old[0])), json.loads(self.read(STATE, new[0]))
        except ValueError as e:
            return "%s is not whole JSON: %s" % (new[0], e)
        why = self.same_entity(a, b)
        return "%s %s" % (new[0], why) if why else "new"

    def after(self, label, state):
        if self.STATUS:
            rc, out, err = run(["status"])
            if rc != 0 or len(json.loads(out).get(self.STATUS, [])) != 1:
                return "status exits %d: %s" % (rc, err.strip())
        return self.next_clean()


class PrtScenario(OneFileScenario):
    """prt --renew replaces prt/OID.json (state_replace): the new record is
    for the same user and session key with another PRT."""
    DIR, STATUS = "prt/", "prts"

    def same_entity(self, a, b):
        if a["oid"] != b.get("oid") or a["session_key_jwe"] != b.get("session_key_jwe") or \
                a["prt"] == b.get("prt"):
            return "is not the renewed record of the same user and session key"
        return None


def plan(sc):
    sc.restore()
    prefix = os.path.join(W, "trace-" + sc.name.replace(" ", "-"))
    for f in glob.glob(prefix + ".*"):
        os.unlink(f)
    rc, out, err = run(sc.args, ["-ff", "-y", "-o", prefix, "-e", "trace=" + ",".join(CALLS)])
    if rc != 0:
        not_ok(sc.name + ": a clean run", "exit %d: %s" % (rc, err.strip()))
        return None
    steps, threads = traced_steps(prefix)
    if threads > 1 and sc.record:
        not_ok(sc.name + ": one thread commits", "%d threads change the state dir" % threads)
        return None
    j = sc.judge()
    if j != "new":
        not_ok(sc.name + ": a clean run commits the new state", j)
        return None
    sc.clean_lines = len(err.splitlines())
    ok("%s: a clean run commits the new state (%d steps change the state dir)"
       % (sc.name, len(steps)))
    return steps


def check_order(name, steps, record):
    """Durability and order of one clean run's steps."""
    problems = []
    written = {}     # path -> index of its last write, not fsync'd yet
    dirty = {}       # directory -> index of the first unsynced name change in it
    commit = None
    for i, (call, n, p, ret, line) in enumerate(steps):
        if call in ("write", "writev", "pwrite64"):
            written.setdefault(p[0], i)
        elif call in ("fsync", "fdatasync"):
            written.pop(p[0], None)
            dirty.pop(p[0], None)
        elif call in ("rename", "renameat", "renameat2", "link", "linkat"):
            if p[0] in written:
                problems.append("%s put into place before it was fsync'd" % p[0])
            # The new name must be durable; the old one going away is the
            # same journal entry on every journaling file system.
            dirty.setdefault(os.path.dirname(p[1]), i)
            if record and p[1] == os.path.join(STATE, "device.json"):
                # The commit point: everything it points at is durable first.
                if dirty.keys() - {STATE}:
                    problems.append("device.json replaced before fsync of %s"
                                    % sorted(dirty.keys() - {STATE}))
                commit = i
        elif call in ("unlink", "unlinkat", "rmdir", "mkdir", "mkdirat"):
            if ret != "0":
                continue
            if commit is not None:
                continue     # removing the old set after the commit: best effort
            dirty.setdefault(os.path.dirname(p[0]), i)
    if record:
        if commit is None:
            problems.append("device.json was never replaced")
        elif not any(s[0] in ("fsync", "fdatasync") and s[2][0] == STATE
                     for s in steps[commit + 1:]):
            problems.append("no fsync of the state dir after device.json was replaced")
        elif any(s[0] in ("rename", "renameat", "renameat2") and
                 "/identity/" in s[2][-1] for s in steps[commit + 1:]):
            problems.append("a set moved into identity/ after the commit point")
    leftover = sorted(d for d in dirty if d != STATE or not record)
    if leftover:
        problems.append("no fsync after names changed in %s" % leftover)
    if problems:
        not_ok(name + ": each file fsync'd before it is put into place, each "
               "directory after, the record last", "; ".join(problems))
    else:
        ok(name + ": each file fsync'd before it is put into place, each "
           "directory after, the record last")


def inject(sc, steps):
    # A join's commit also fails with a full disk; after either error the
    # device the service made is stored, deleted again, or named.
    modes = ("error=EIO", "error=ENOSPC", "signal=KILL") if sc.record else \
        ("error=EIO", "signal=KILL")
    for call, n, p, ret, line in steps:
        what = "%s #%d (%s)" % (call, n, os.path.relpath(p[-1], STATE))
        for mode in modes:
            kind = mode.split("=")[1] if mode.startswith("error") else "SIGKILL"
            label = "%s: %s at %s" % (sc.name, kind, what)
            sc.restore()
            before = devices()
            rc, out, err = run(sc.args, ["-o", "/dev/null", "-e", "trace=" + call,
                                         "-e", "inject=%s:%s:when=%d" % (call, mode, n)])
            if mode == "signal=KILL" and rc not in (-9, 137):
                not_ok(label, "the kill did not happen (exit %d)" % rc)
                continue
            # An error may be survivable (a directory fsync after the
            # commit point, removing the old set), but never silent.
            if mode != "signal=KILL" and rc == 0 and len(err.splitlines()) <= sc.clean_lines:
                not_ok(label, "the error went unnoticed (exit 0, nothing said)")
                continue
            if sc.record and mode != "signal=KILL" and unnamed(before, err):
                not_ok(label, "the emulator holds device(s) %s, which neither the "
                       "state dir nor the error names" % unnamed(before, err))
                continue
            j = sc.judge()
            if j not in ("old", "new"):
                not_ok(label, j)
                continue
            why = sc.after(label, j)
            if why:
                not_ok(label, "%s state, but %s" % (j, why))
                continue
            ok("%s: the %s state, whole; status and the next run agree" % (label, j))


class TokenScenario(OneFileScenario):
    """token --fresh replaces tokens/OID/HASH.json (state_replace_cache, no
    fsync, but all or nothing while the machine runs): the new entry is for
    the same client and resource with another access token."""
    DIR = "tokens/"

    def same_entity(self, a, b):
        if b.get("client_id") != a["client_id"] or b.get("resource") != a["resource"] or \
                not b.get("access_token") or b["access_token"] == a["access_token"]:
            return "is not a new entry for the same client and resource"
        return None


def check_leave_order(name, steps):
    """All or nothing: the set is renamed to identity/.remove-SET and that
    fsync'd before any of its files goes; every file of the set goes before
    the record; the state dir is fsync'd after the record is removed."""
    rec = os.path.join(STATE, "device.json")
    ident = os.path.join(STATE, "identity")
    mark = [i for i, st in enumerate(steps)
            if st[0] in ("rename", "renameat", "renameat2") and
            os.path.basename(st[2][-1]).startswith(".remove-")]
    gone = [i for i, st in enumerate(steps)
            if st[0] in ("unlink", "unlinkat") and st[2][0] == rec]
    # The set's files (the empty set itself goes last, swept if a crash keeps it).
    files = [i for i, st in enumerate(steps)
             if st[0] in ("unlink", "unlinkat") and st[2][0].startswith(ident + "/") and
             os.path.dirname(st[2][0]) != ident]
    problems = []
    if not mark:
        problems.append("the set was never renamed to identity/.remove-SET")
    if not gone:
        problems.append("device.json was never removed")
    if mark and files:
        if files[0] < mark[0]:
            problems.append("a file of the set removed before the set was marked")
        elif not any(st[0] in ("fsync", "fdatasync") and st[2][0] == ident
                     for st in steps[mark[0] + 1:files[0]]):
            problems.append("no fsync of identity/ between marking the set and "
                            "removing its files")
    if gone and files and files[-1] > gone[0]:
        problems.append("device.json removed before every file of the set")
    if gone and not any(st[0] in ("fsync", "fdatasync") and st[2][0] == STATE
                        for st in steps[gone[0] + 1:]):
        problems.append("no fsync of the state dir after removing the record")
    if problems:
        not_ok(name + ": the set marked durably, its files removed, then the record",
               "; ".join(problems))
    else:
        ok(name + ": the set marked durably, its files removed, then the record")


def scenario(sc):
    steps = plan(sc)
    if steps is None:
        return
    if sc.record:
        check_order(sc.name, steps, True)
    if isinstance(sc, LeaveScenario):
        check_leave_order(sc.name, steps)
    inject(sc, steps)


if __name__ == "__main__":
    cfg = json.load(open(os.path.join(W, "scenarios.json")))
    only = os.environ.get("CRASH_ONLY")
    for s in cfg:
        if only and only not in s["name"]:
            continue
        kind = {"keygen": KeygenScenario, "leave": LeaveScenario,
                "prt": PrtScenario, "token": TokenScenario}.get(s.get("kind"), Scenario)
        scenario(kind(s["name"], s["snap"], s["args"], s.get("next")))
    sys.exit(1 if failed else 0)
