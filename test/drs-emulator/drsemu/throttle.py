"""Throttling as a service does it: a token bucket per tenant and route, and
a limit on the requests in flight.

- Rate: each (tenant, route) with a limit has a bucket of `burst` tokens,
  refilled at `rate` tokens a second; a request takes one, and with none
  left it is answered 429 with Retry-After: the whole seconds until a token
  will be there (at least 1). With retry_after "queue" (the switch
  --throttle-retry-after queue), the whole seconds until the bucket would
  have room for this client: each refusal is given the next free slot after
  the ones already promised (one every 1/rate seconds from when the next
  token is due), so a fleet refused at once is told to come back spread
  over its queue, as a service that counts its queue would.
- Concurrency: more than `max_concurrent` requests in flight at once (all
  routes, all tenants) are answered 503 with Retry-After: 1.

A refused request does no work and takes no token. The tenant is the one
the path names (discover, nonce, precreate, token) or the access token's
`tid` claim (join, delete); a request naming neither shares the bucket "-".
"""
import base64
import json
import math
import threading
import time

ROUTES = ("discover", "nonce", "join", "delete", "token")
RETRY_AFTER_MODES = ("bucket", "queue")


class ThrottleError(ValueError):
    pass


def parse_spec(text):
    """"ROUTE=RATE:BURST" (as the command line gives it) -> (route, rate, burst)."""
    route, sep, rest = text.partition("=")
    rate, sep2, burst = rest.partition(":")
    if not sep or not sep2:
        raise ThrottleError("expected ROUTE=RATE:BURST (e.g. join=20:40), got %r" % text)
    try:
        return check(route, float(rate), int(burst))
    except ValueError as e:
        if isinstance(e, ThrottleError):
            raise
        raise ThrottleError("expected ROUTE=RATE:BURST with RATE a number and BURST a whole "
                            "number, got %r" % text)


def check_route(route):
    if route not in ROUTES:
        raise ThrottleError("throttle route must be one of %s, got %r" % ("|".join(ROUTES), route))
    return route


def check_concurrent(n):
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 100000:
        raise ThrottleError("max_concurrent must be a whole number in 0..100000 (0: no "
                            "limit), got %r" % (n,))
    return n


def check(route, rate, burst):
    check_route(route)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 100000:
        raise ThrottleError("throttle rate must be a number of requests a second in (0, 100000], "
                            "got %r" % (rate,))
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 1000000:
        raise ThrottleError("throttle burst must be a whole number in 1..1000000, got %r"
                            % (burst,))
    return route, float(rate), burst


def tenant_of_token(authorization):
    """The tid claim of a bearer token, unverified (only to pick a bucket)."""
    if not authorization:
        return None
    parts = authorization.strip().split(" ", 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    segs = parts[1].strip().split(".")
    if len(segs) != 3:
        return None
    try:
        pad = "=" * (-len(segs[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(segs[1] + pad))
        tid = claims.get("tid") if isinstance(claims, dict) else None
    except (ValueError, TypeError):
        return None
    return tid if isinstance(tid, str) else None


class Throttle:
    def __init__(self, limits=None, max_concurrent=0, clock=time.monotonic,
                 retry_after="bucket"):
        if retry_after not in RETRY_AFTER_MODES:
            raise ThrottleError("retry_after must be one of %s, got %r"
                                % ("|".join(RETRY_AFTER_MODES), retry_after))
        self.retry_after = retry_after
        self.slots = {}             # (tenant, route) -> the last slot promised (queue)
        self.lock = threading.Lock()
        self.clock = clock
        self.limits = {}            # route -> (rate, burst)
        self.buckets = {}           # (tenant, route) -> [tokens, last refill time]
        self.max_concurrent = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.refused = {"rate": 0, "concurrency": 0}
        for route, rate, burst in (limits or []):
            self.limits[route] = (rate, burst)
        self.set_max_concurrent(max_concurrent)

    def set_limit(self, route, rate, burst):
        route, rate, burst = check(route, rate, burst)
        with self.lock:
            self.limits[route] = (rate, burst)
            # A new limit starts with a full bucket.
            self.buckets = {k: v for k, v in self.buckets.items() if k[1] != route}
            self.slots = {k: v for k, v in self.slots.items() if k[1] != route}

    def remove_limit(self, route):
        check_route(route)
        with self.lock:
            self.limits.pop(route, None)
            self.buckets = {k: v for k, v in self.buckets.items() if k[1] != route}
            self.slots = {k: v for k, v in self.slots.items() if k[1] != route}

    def set_max_concurrent(self, n):
        check_concurrent(n)
        with self.lock:
            self.max_concurrent = n

    def as_json(self):
        with self.lock:
            return {"limits": {r: {"rate": rt, "burst": b} for r, (rt, b) in self.limits.items()},
                    "max_concurrent": self.max_concurrent, "refused": dict(self.refused),
                    "retry_after": self.retry_after,
                    "in_flight": self.in_flight,
                    "peak_in_flight": self.peak_in_flight}

    def enter(self):
        """A request starts: None, or ("concurrency", retry_after) when one
        too many are in flight. Every enter() is paired with a leave()."""
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if self.max_concurrent and self.in_flight > self.max_concurrent:
                return ("concurrency", 1)
        return None

    def refusing(self, refusal):
        """Counts a concurrency refusal that is answered (a fault may win)."""
        if refusal[0] == "concurrency":
            with self.lock:
                self.refused["concurrency"] += 1

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def take(self, tenant, route):
        """One token of (tenant, route)'s bucket: None when taken (or no
        limit), else ("rate", retry_after seconds)."""
        with self.lock:
            lim = self.limits.get(route)
            if lim is None:
                return None
            rate, burst = lim
            now = self.clock()
            b = self.buckets.get((tenant, route))
            if b is None:
                b = self.buckets[(tenant, route)] = [float(burst), now]
            b[0] = min(float(burst), b[0] + (now - b[1]) * rate)
            b[1] = now
            if b[0] >= 1.0:
                b[0] -= 1.0
                return None
            self.refused["rate"] += 1
            wait = (1.0 - b[0]) / rate          # until the next token is there
            if self.retry_after == "queue":
                # After the slots promised to those refused before.
                last = self.slots.get((tenant, route))
                if last is not None and last + 1.0 / rate > now + wait:
                    wait = last + 1.0 / rate - now
                self.slots[(tenant, route)] = now + wait
            return ("rate", max(1, math.ceil(wait)))
