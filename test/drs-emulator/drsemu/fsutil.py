"""Atomic file writes: temp name, fsync, rename, fsync of the directory.

A crash leaves either the old file or the new one, never half of either.
"""
import os
import threading

TMP_MARK = ".tmp."
# The running emulator's JSON line and tenants (cli.py writes it; emuctl and
# mint-token read it, and import it from here: importing cli loads it all).
INFO_FILE = "emulator.json"


def write_atomic(path, data, mode=0o600):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, ".%s%s%d.%d" % (os.path.basename(path), TMP_MARK,
                                          os.getpid(), threading.get_ident()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def remove_stale_temps(d):
    """Temp files a killed emulator may have left behind."""
    for name in os.listdir(d):
        if name.startswith(".") and TMP_MARK in name:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
