"""Persistent state: devices, nonces, device codes, refresh tokens.

One JSON document (state.json) rewritten atomically after every change,
so a restarted emulator knows everything the previous one did. Changes are
made under one lock, so concurrent requests never see or make half a
change; writing is a group commit: a request returns once a save that began
after its change has reached the disk, and one save (two fsyncs) covers
every change made while the previous one was being written. Without it,
saves in turn under the lock held a fleet's joins to a few a second (each
save ~0.1 s on a loaded disk, two per join: nonce and join).
"""
import base64
import hashlib
import json
import os
import secrets
import threading
import time

from .fsutil import remove_stale_temps, write_atomic

NONCE_KEEP = 24 * 3600        # expired or used nonces are remembered this long
NONCE_MAX = 20000             # ... and at most this many, so errors stay precise


def _hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class NonceProblem(Exception):
    """Why a nonce cannot be used: kind is unknown|expired|used|tenant."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


class State:
    def __init__(self, directory):
        self.dir = directory
        self.path = os.path.join(directory, "state.json")
        self.lock = threading.RLock()
        self._io = threading.Lock()     # one save at a time; never taken under lock
        self._changes = 0               # changes made (under lock)
        self._saved = 0                 # changes on disk (under _io)
        remove_stale_temps(directory)
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self.data = json.load(f)
        else:
            self.data = {}
        for k in ("devices", "nonces", "device_codes", "refresh_tokens", "prt_nonces", "prts",
                  "users", "auth_codes"):
            self.data.setdefault(k, {})
        self.data["version"] = 1
        if not os.path.exists(self.path):
            self.save(self._changed())

    def _changed(self):
        """Count a change; call under lock, then save(the result) after it."""
        self._changes += 1
        return self._changes

    def save(self, change=None):
        """Return once change (default: every change so far) is on disk.
        Must not be called with lock held: the save takes it to copy."""
        if change is None:
            with self.lock:
                change = self._changes
        if self._saved >= change:
            return                  # nothing changed, or already on disk
        with self._io:
            if self._saved >= change:
                return              # a later save covered it while we waited
            with self.lock:
                covered = self._changes
                # Compact: json's C encoder (indent= falls back to the
                # Python one, twice as slow).
                text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
            write_atomic(self.path, text)
            self._saved = covered

    # -- nonces -------------------------------------------------------------

    def new_nonce(self, tenant_id, lifetime):
        # Opaque ASCII as the real service's (base64 text); random bytes give
        # '+', '/' and '=' so a client that mangles them is caught.
        value = base64.b64encode(b"\x03\x00\x01" + secrets.token_bytes(94)).decode()
        now = time.time()
        with self.lock:
            self._prune_nonces(now)
            self.data["nonces"][value] = {"tenant_id": tenant_id, "issued": now,
                                          "expires": now + lifetime, "used": None}
            change = self._changed()
        self.save(change)
        return value

    def _prune_nonces(self, now):
        nonces = self.data["nonces"]
        for v in [v for v, n in nonces.items() if n["expires"] + NONCE_KEEP < now]:
            del nonces[v]
        if len(nonces) > NONCE_MAX:
            for v in sorted(nonces, key=lambda v: nonces[v]["issued"])[:len(nonces) - NONCE_MAX]:
                del nonces[v]

    def check_nonce(self, value, tenant_id, now=None):
        """Raise NonceProblem unless value is a live, unused nonce of tenant_id."""
        now = time.time() if now is None else now
        with self.lock:
            n = self.data["nonces"].get(value)
            if n is None:
                raise NonceProblem("unknown", "CSR nonce is unknown to this emulator (it was not "
                                   "issued by this emulator's NonceService, or was altered)")
            if n["used"]:
                raise NonceProblem("used", "CSR nonce was already used, by the join of device %s"
                                   % n["used"]["device_id"])
            if n["tenant_id"] != tenant_id:
                raise NonceProblem("tenant", "CSR nonce was issued for tenant %s, but the bearer "
                                   "token is for tenant %s" % (n["tenant_id"], tenant_id))
            if now >= n["expires"]:
                raise NonceProblem("expired", "CSR nonce expired %.1f s ago (lifetime %.0f s)"
                                   % (now - n["expires"], n["expires"] - n["issued"]))

    # -- devices ------------------------------------------------------------

    def add_device(self, record, nonce=None, tenant_id=None):
        """Record a joined device; consume its nonce in the same atomic step
        (two joins racing with one nonce: exactly one wins)."""
        with self.lock:
            if nonce is not None:
                self.check_nonce(nonce, tenant_id)
                self.data["nonces"][nonce]["used"] = {"device_id": record["device_id"],
                                                      "time": time.time()}
            self.data["devices"][record["device_id"]] = record
            change = self._changed()
        self.save(change)

    def device(self, device_id):
        with self.lock:
            return self.data["devices"].get(device_id)

    def devices(self):
        with self.lock:
            return [dict(d) for d in self.data["devices"].values()]

    def delete_device(self, device_id):
        with self.lock:
            rec = self.data["devices"].pop(device_id, None)
            change = self._changed() if rec is not None else 0
        self.save(change)
        return rec

    # -- login: device codes and refresh tokens -----------------------------

    def new_device_code(self, record):
        device_code = secrets.token_urlsafe(48)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"
        user_code = "".join(secrets.choice(alphabet) for _ in range(9))
        with self.lock:
            now = time.time()
            codes = self.data["device_codes"]
            for k in [k for k, c in codes.items() if c["expires"] + 3600 < now]:
                del codes[k]
            record.update(user_code=user_code, status="pending", issued=now)
            codes[_hash(device_code)] = record
            change = self._changed()
        self.save(change)
        return device_code, user_code

    def device_code(self, device_code):
        with self.lock:
            rec = self.data["device_codes"].get(_hash(device_code))
            return dict(rec) if rec else None

    def device_codes(self):
        with self.lock:
            return [dict(c) for c in self.data["device_codes"].values()]

    def update_device_code(self, match, **changes):
        """Apply changes to the one code match(record) selects (the newest
        when several do); return the updated record or None."""
        with self.lock:
            hits = [(k, c) for k, c in self.data["device_codes"].items() if match(c)]
            if not hits:
                return None
            k, c = max(hits, key=lambda kc: kc[1]["issued"])
            c.update(changes)
            rec, change = dict(c), self._changed()
        self.save(change)
        return rec

    def redeem_device_code(self, device_code):
        with self.lock:
            rec = self.data["device_codes"].get(_hash(device_code))
            change = 0
            if rec and rec["status"] == "approved":
                rec["status"] = "redeemed"
                change = self._changed()
        self.save(change)

    def new_refresh_token(self, user):
        token = "0.AAAA" + secrets.token_urlsafe(96)
        with self.lock:
            # Only a hash is stored: the state file holds no usable token.
            self.data["refresh_tokens"][_hash(token)] = dict(user, issued=time.time())
            change = self._changed()
        self.save(change)
        return token

    def refresh_token(self, token):
        with self.lock:
            rec = self.data["refresh_tokens"].get(_hash(token))
            return dict(rec) if rec else None

    # -- MS-OAPXBC (prt.py): srv_challenge nonces, PRTs, users with passwords --

    def new_prt_nonce(self, lifetime):
        """A srv_challenge nonce: opaque text, good for lifetime seconds and
        reusable meanwhile (the service is not known to refuse a reuse)."""
        value = "AwABEgEAAAACAOz_BAD0_" + secrets.token_urlsafe(96)
        now = time.time()
        with self.lock:
            nonces = self.data["prt_nonces"]
            for v in [v for v, n in nonces.items() if n["expires"] + NONCE_KEEP < now]:
                del nonces[v]
            nonces[_hash(value)] = {"issued": now, "expires": now + lifetime}
            change = self._changed()
        self.save(change)
        return value

    def prt_nonce_problem(self, value, now=None):
        """None for a live srv_challenge nonce, else why not (text)."""
        now = time.time() if now is None else now
        with self.lock:
            n = self.data["prt_nonces"].get(_hash(value or ""))
        if n is None:
            return "the request_nonce was not issued by this emulator's srv_challenge"
        if now >= n["expires"]:
            return "the request_nonce expired %.1f s ago (lifetime %.0f s)" % (
                now - n["expires"], n["expires"] - n["issued"])
        return None

    def new_prt(self, record):
        token = "0.AVPRT" + secrets.token_urlsafe(160)
        with self.lock:
            self.data["prts"][_hash(token)] = dict(record)
            change = self._changed()
        self.save(change)
        return token

    def prt(self, token):
        with self.lock:
            rec = self.data["prts"].get(_hash(token or ""))
            return dict(rec) if rec else None

    def update_prts(self, match, **changes):
        """Apply changes to every PRT record match(record) selects; the count."""
        with self.lock:
            hits = [r for r in self.data["prts"].values() if match(r)]
            for r in hits:
                r.update(changes)
            change = self._changed() if hits else 0
        self.save(change)
        return len(hits)

    def age_prts(self, match, seconds):
        """Move the times of every PRT match(record) selects back; the count."""
        with self.lock:
            hits = [r for r in self.data["prts"].values() if match(r)]
            for r in hits:
                for k in ("issued", "renewed", "expires"):
                    r[k] -= seconds
            change = self._changed() if hits else 0
        self.save(change)
        return len(hits)

    def new_auth_code(self, record, lifetime=600):
        """An authorization code (the SSO cookie's /authorize), used once."""
        code = "0.AUTH" + secrets.token_urlsafe(96)
        now = time.time()
        with self.lock:
            codes = self.data["auth_codes"]
            for k in [k for k, c in codes.items() if c["expires"] + 3600 < now]:
                del codes[k]
            codes[_hash(code)] = dict(record, expires=now + lifetime, used=False)
            change = self._changed()
        self.save(change)
        return code

    def take_auth_code(self, code):
        """The code's record, marked used; None when unknown. The caller
        checks used and expires on the record as it was."""
        with self.lock:
            rec = self.data["auth_codes"].get(_hash(code or ""))
            if rec is None:
                return None
            was = dict(rec)
            rec["used"] = True
            change = self._changed()
        self.save(change)
        return was

    def set_user(self, record):
        with self.lock:
            self.data["users"][record["upn"].lower()] = dict(record)
            change = self._changed()
        self.save(change)

    def user(self, upn):
        with self.lock:
            rec = self.data["users"].get((upn or "").lower())
            return dict(rec) if rec else None

    def update_device(self, device_id, **changes):
        with self.lock:
            rec = self.data["devices"].get(device_id)
            if rec is not None:
                rec.update(changes)
            change = self._changed() if rec is not None else 0
        self.save(change)
        return dict(rec) if rec else None
