"""Faults armed per route for the next N requests, changeable while running.

Each route keeps a queue: a request takes one use of the first fault armed
for its own route, else of the first armed for "any". A fault is gone after
its count of requests.
"""
import threading

ROUTES = ("discover", "nonce", "join", "delete", "token", "prt", "any")
ACTIONS = ("status", "delay", "drop", "truncate", "non_json", "wrong_key_cert", "aadsts",
           "oauth_error", "echo", "prt_answer")
# prt: the MS-OAPXBC requests (prt.py takes these faults itself, after the
# token route's): status, delay, aadsts, or an answer that lies (prt_answer).
PRT_ANSWERS = ("malformed", "wrong_ctx", "bad_padding", "wrong_tenant")
PRT_ACTIONS = ("status", "retry_after", "delay", "aadsts", "prt_answer")
# echo: an error answer that repeats the request body, as some servers do:
# as text/plain, inside a login-shaped JSON error, or inside an HTML page.
ECHO_SHAPES = ("text", "json", "html")


class FaultError(ValueError):
    pass


def normalise(spec):
    """Check a fault spec (a dict as the control interface receives it)."""
    s = dict(spec)
    route = s.pop("route", None)
    if route not in ROUTES:
        raise FaultError("route must be one of %s, got %r" % ("|".join(ROUTES), route))
    count = s.pop("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FaultError("count must be a positive integer, got %r" % (count,))
    f = {"route": route, "count": count}
    for k in ("drop", "truncate", "non_json", "wrong_key_cert"):
        v = s.pop(k, False)
        if not isinstance(v, bool):
            raise FaultError("%s must be a boolean" % k)
        if v:
            f[k] = True
    for k, lo, hi in (("status", 400, 599), ("retry_after", 0, 86400), ("aadsts", 1, 99999999)):
        v = s.pop(k, None)
        if v is None:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise FaultError("%s must be an integer in %d..%d, got %r" % (k, lo, hi, v))
        f[k] = v
    oe = s.pop("oauth_error", None)
    if oe is not None:
        if not isinstance(oe, str) or not oe.replace("_", "").isalpha() or len(oe) > 64:
            raise FaultError("oauth_error must be an OAuth error name such as slow_down, got %r"
                             % (oe,))
        f["oauth_error"] = oe
    echo = s.pop("echo", None)
    if echo is not None:
        if echo not in ECHO_SHAPES:
            raise FaultError("echo must be one of %s, got %r" % ("|".join(ECHO_SHAPES), echo))
        f["echo"] = echo
    pa = s.pop("prt_answer", None)
    if pa is not None:
        if pa not in PRT_ANSWERS:
            raise FaultError("prt_answer must be one of %s, got %r" % ("|".join(PRT_ANSWERS), pa))
        f["prt_answer"] = pa
    delay = s.pop("delay", None)
    if delay is not None:
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 600:
            raise FaultError("delay must be a number of seconds in 0..600, got %r" % (delay,))
        f["delay"] = float(delay)
    if s:
        raise FaultError("unknown fault field(s): %s" % ", ".join(sorted(s)))
    acts = [a for a in ACTIONS if a in f]
    if not acts:
        raise FaultError("a fault needs an action: status, delay, drop, truncate, non_json, "
                         "wrong_key_cert, aadsts, oauth_error, echo or prt_answer")
    # delay may precede anything; a non-JSON body or an echo may carry any status.
    main = [a for a in acts if a != "delay"]
    if len(main) > 1 and set(main) not in ({"status", "non_json"}, {"status", "echo"}):
        raise FaultError("choose one of %s (delay combines with any; non_json and echo with "
                         "status)" % ", ".join(main))
    if "retry_after" in f and "status" not in f:
        raise FaultError("retry_after needs a status (429 or 503)")
    if f.get("wrong_key_cert") and route != "join":
        raise FaultError("wrong_key_cert applies to route join only")
    if "aadsts" in f and route not in ("token", "prt"):
        raise FaultError("aadsts applies to route token or prt only")
    if route == "prt" and any(k not in PRT_ACTIONS for k in f if k not in ("route", "count")):
        raise FaultError("route prt takes %s" % ", ".join(PRT_ACTIONS))
    if "prt_answer" in f and route != "prt":
        raise FaultError("prt_answer applies to route prt only")
    if "oauth_error" in f and route != "token":
        raise FaultError("oauth_error applies to route token only")
    return f


class FaultBoard:
    def __init__(self):
        self.lock = threading.Lock()
        self.queues = {r: [] for r in ROUTES}

    def arm(self, spec):
        f = normalise(spec)
        f["remaining"] = f["count"]
        with self.lock:
            self.queues[f["route"]].append(f)
        return dict(f)

    def take(self, route):
        """Consume one use of the fault that applies to a request on route."""
        with self.lock:
            for r in (route, "any"):
                q = self.queues.get(r)
                if q:
                    f = q[0]
                    f["remaining"] -= 1
                    if f["remaining"] <= 0:
                        q.pop(0)
                    return {k: v for k, v in f.items() if k not in ("remaining", "count")}
        return None

    def take_own(self, route):
        """Consume one use of a fault armed for route itself (not "any")."""
        with self.lock:
            q = self.queues.get(route)
            if not q:
                return None
            f = q[0]
            f["remaining"] -= 1
            if f["remaining"] <= 0:
                q.pop(0)
            return {k: v for k, v in f.items() if k not in ("remaining", "count")}

    def clear(self, route=None):
        if route is not None and route not in ROUTES:
            raise FaultError("route must be one of %s, got %r" % ("|".join(ROUTES), route))
        with self.lock:
            n = 0
            for r in ([route] if route else ROUTES):
                n += len(self.queues[r])
                self.queues[r] = []
            return n

    def list(self):
        with self.lock:
            return [dict(f) for r in ROUTES for f in self.queues[r]]
