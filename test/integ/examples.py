#!/usr/bin/python3
"""Runs the shell parts of scripts/examples against the emulator.

usage: examples.py cloud-init FILE ROOT TOKEN   (write_files, then runcmd)
       examples.py kickstart FILE ROOT TOKEN    (the %post section)

Absolute paths under /run, /root, /etc/drsjoin and /var/lib/drsjoin are
moved under ROOT; REPLACE-WITH-THE-TOKEN becomes TOKEN. drsjoin comes from
PATH, the service and CA from the environment (DRSJOIN_DISCOVERY_URL,
SSL_CERT_FILE, DRSJOIN_STATE_DIR). Prints what ran; exits with the status
of the first command that failed (0 if none did).
"""
import os
import re
import subprocess
import sys

import yaml

PATHS = re.compile(r"(?<![\w./-])/(run|root|etc/drsjoin|var/lib/drsjoin)(?=[/\s'\"]|$)")


def move(s, root):
    return PATHS.sub(lambda m: root + m.group(0), s)


def cloud_init(text, root, token):
    cfg = yaml.safe_load(text)
    for f in cfg.get("write_files", []):
        path = move(f["path"], root)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, int(str(f.get("permissions", "0644")), 8))
        os.write(fd, f.get("content", "").replace("REPLACE-WITH-THE-TOKEN", token).encode())
        os.close(fd)
        print("wrote %s mode %s" % (f["path"], f.get("permissions")))
    for c in cfg.get("runcmd", []):
        argv = [move(a, root) for a in c] if isinstance(c, list) else ["sh", "-c", move(c, root)]
        rc = subprocess.call(argv)
        print("ran %r: %d" % (c, rc))
        if rc != 0:
            return rc
    return 0


def kickstart(text, root, token):
    m = re.search(r"^%post\b[^\n]*\n(.*?)^%end\s*$", text, re.S | re.M)
    if m is None:
        print("no %post section")
        return 99
    body = move(m.group(1), root).replace("REPLACE-WITH-THE-TOKEN", token)
    # Anaconda runs %post with /bin/sh.
    rc = subprocess.call(["/bin/sh", "-c", body])
    print("ran %%post: %d" % rc)
    return rc


def main():
    kind, path, root, token = sys.argv[1:5]
    text = open(path).read()
    sys.stdout.flush()
    return (cloud_init if kind == "cloud-init" else kickstart)(text, root, token)


if __name__ == "__main__":
    sys.exit(main())
