#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The core's rooms, checked on the built library (TAP):
  1. no GEMM object (gemm*.o) defines an attention or thread-pool symbol: those live in
     attention*.o and pool.o;
  2. the objects of libsiglip.a depend on each other (undefined symbol -> defining object)
     without a cycle;
  3. the front ends' include directory holds siglip.h and nothing else.

usage: check-core-layout.py NM LIBSIGLIP.a PUBLIC_INCLUDE_DIR
"""
import os
import re
import subprocess
import sys


def objects(nm, archive):
    """{object: (defined symbols, undefined symbols)} from `nm` on the archive."""
    out = subprocess.run([nm, archive], check=True, capture_output=True, text=True).stdout
    objs, current = {}, None
    for line in out.splitlines():
        if line.endswith(".o:"):
            current = re.sub(r"\.c\.o:$|\.o:$", "", os.path.basename(line))
            objs[current] = (set(), set())
        elif current and line.strip():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDRBCGSVWi":
                objs[current][0].add(parts[2])
            elif len(parts) == 2 and parts[0] == "U":
                objs[current][1].add(parts[1])
    return objs


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if not state.get(nxt):
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if not state.get(node):
            found = visit(node)
            if found:
                return found
    return None


def main():
    nm, archive, public = sys.argv[1:4]
    objs = objects(nm, archive)
    print("1..3")

    foreign = re.compile(r"attn|attention|pool|parallel_for")
    bad = [f"{o}: {s}" for o, (defs, _) in sorted(objs.items()) if o.startswith("gemm")
           for s in sorted(defs) if foreign.search(s)]
    print(("not ok" if bad or not any(o.startswith("gemm") for o in objs) else "ok")
          + " 1 - no GEMM object defines an attention or pool symbol")
    for b in bad:
        print(f"# {b}")

    owner = {s: o for o, (defs, _) in objs.items() for s in defs}
    graph = {o: {owner[s] for s in undefs if s in owner and owner[s] != o}
             for o, (_, undefs) in objs.items()}
    cycle = find_cycle(graph)
    print(("not ok" if cycle else "ok") + " 2 - libsiglip's objects depend on each other without"
          " a cycle")
    if cycle:
        print("# cycle: " + " -> ".join(cycle))
    for o in sorted(graph):
        print(f"# {o} -> {' '.join(sorted(graph[o])) or '(nothing)'}")

    headers = sorted(f for f in os.listdir(public) if f.endswith(".h"))
    print(("ok" if headers == ["siglip.h"] else "not ok")
          + " 3 - the front ends' include directory holds siglip.h alone")
    print(f"# {public}: {' '.join(headers)}")


if __name__ == "__main__":
    main()
