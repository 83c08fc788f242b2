#!/usr/bin/env bash
# The include graph of drs/ and drsjoin.c against the layers of layers.txt:
# every module placed, no include reaching up a layer, no cycle.
set -u
top=${DRSJOIN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
exec /usr/bin/python3 - "$top" "$top/test/integ/layers.txt" <<'PY'
import os, re, sys

top, table = sys.argv[1], sys.argv[2]
failed = 0

def result(name, bad, why=""):
    global failed
    if bad:
        failed += 1
        print("not ok - %s: %s" % (name, why))
    else:
        print("ok - %s" % name)

layer = {}
for n, line in enumerate(open(table)):
    line = line.split("#")[0].strip()
    if line:
        name, mods = line.split(":", 1)
        for m in mods.split():
            layer[m] = n          # a larger number is a lower layer

graph = {}
files = [os.path.join("drs", f) for f in os.listdir(os.path.join(top, "drs"))
         if f.endswith((".c", ".h"))] + ["drsjoin.c"]
for f in files:
    mod = os.path.basename(f)[:-2]
    text = open(os.path.join(top, f), encoding="utf-8").read()
    incs = set(re.findall(r'^#include "([A-Za-z0-9_]+)\.h"', text, re.M)) - {mod}
    graph.setdefault(mod, set()).update(incs)

unplaced = sorted(m for m in graph if m not in layer)
result("every module has a layer in layers.txt", unplaced,
       "not in layers.txt: " + " ".join(unplaced))
stale = sorted(m for m in layer if m not in graph)
result("layers.txt names no module that is gone", stale, " ".join(stale))

up = sorted("%s -> %s" % (m, d) for m, ds in graph.items() for d in ds
            if m in layer and d in layer and layer[d] < layer[m])
result("no module includes a header of a layer above its own", up, ", ".join(up))

# Cycles: Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in graph.get(v, ()):
        if w not in graph:
            continue
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        visit(v)
result("no include cycle between modules", sccs,
       "; ".join(" <-> ".join(c) for c in sccs))

# Functions a reader need not scroll through (style.md): none over 100
# lines, from the line naming it to its closing brace at column 0.
long_ = []
for f in sorted(files):
    lines = open(os.path.join(top, f), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            j = i - 1
            while j > 0 and "(" not in lines[j]:
                j -= 1
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            if k - j + 1 > 100:
                long_.append("%s:%d %s (%d lines)" % (f, j + 1, lines[j].split("(")[0], k - j + 1))
            i = k
        i += 1
result("no function over 100 lines", long_, ", ".join(long_))
sys.exit(1 if failed else 0)
PY
