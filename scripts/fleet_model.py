#!/usr/bin/env python3
"""A model, not a measurement (make bench-fleet measures): N clients refused
at once by a token bucket (R a second, burst B) that answers Retry-After =
the seconds to its next token (at least 1), as the emulator's default does.
Each refused client waits the Retry-After plus a uniform draw over a window
W after its first refusal, times G for each further one. Prints the requests
a device and the time to the last join in N/R, averaged over 20 seeds, for
the schedules docs/fleet.md discusses.

usage: scripts/fleet_model.py [N R B]
"""
import heapq
import random
import statistics
import sys


def run(n, rate, burst, w1, g, seed):
    rnd = random.Random(seed)
    ev = [(rnd.uniform(0, 1.0), i, 0) for i in range(n)]   # start-up spread: 1 s
    heapq.heapify(ev)
    tokens, last, reqs, done = float(burst), 0.0, 0, 0.0
    while ev:
        t, i, k = heapq.heappop(ev)
        tokens = min(burst, tokens + (t - last) * rate)
        last = t
        reqs += 1
        if tokens >= 1:
            tokens -= 1
            done = max(done, t)
            continue
        ra = max(1, int((1 - tokens) / rate + 0.999))
        heapq.heappush(ev, (t + ra + rnd.uniform(0, w1 * g ** k), i, k + 1))
    return reqs / n, done / (n / rate)


def main():
    n, rate, burst = (int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])) \
        if len(sys.argv) == 4 else (200, 10.0, 10)
    print("W (s)  G     requests a device  time / (N/R)")
    for w1, g in ((1, 2), (4, 2), (8, 2), (20, 2), (24, 2), (18, 0.25), (19, 0.25), (20, 0.25)):
        r = [run(n, rate, burst, w1, g, s) for s in range(20)]
        print("%5g  %-4g  %17.2f  %12.2f" % (w1, g, statistics.mean(a for a, _ in r),
                                              statistics.mean(b for _, b in r)))


if __name__ == "__main__":
    main()
