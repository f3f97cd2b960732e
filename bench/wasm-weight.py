#!/usr/bin/env python3
"""Where the wasm's weight is: code bytes per crate, from a build that kept
its names section (worker-build without wasm-opt, e.g. target/prof-build).

    python3 bench/wasm-weight.py target/prof-build/index_bg.wasm [top]

Prints the code and data section sizes, then code bytes grouped by the
crate each function's (demangled-looking) name starts with, then the
largest functions. The names come from the names section; the grouping is
by the first path segment of the Rust symbol.
"""
import re
import sys
from collections import Counter


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    b = open(path, "rb").read()
    i = 8
    sections = []
    imported_funcs = 0
    bodies = []
    names = {}
    while i < len(b):
        sid = b[i]
        size, j = leb(b, i + 1)
        start, end = j, j + size
        if sid == 2:  # imports: count the functions
            n, k = leb(b, start)
            for _ in range(n):
                for _ in range(2):
                    ln, k = leb(b, k)
                    k += ln
                kind = b[k]
                k += 1
                if kind == 0:
                    _, k = leb(b, k)
                    imported_funcs += 1
                elif kind == 1:
                    k += 1
                    flags, k = leb(b, k)
                    _, k = leb(b, k)
                    if flags & 1:
                        _, k = leb(b, k)
                elif kind == 2:
                    flags, k = leb(b, k)
                    _, k = leb(b, k)
                    if flags & 1:
                        _, k = leb(b, k)
                elif kind == 3:
                    k += 2
                elif kind == 4:
                    k += 1
                    _, k = leb(b, k)
        if sid == 10:
            n, k = leb(b, start)
            for _ in range(n):
                ln, k2 = leb(b, k)
                bodies.append(k2 - k + ln)
                k = k2 + ln
        if sid == 0:
            ln, k = leb(b, start)
            name = b[k : k + ln].decode()
            k += ln
            sections.append(("custom:" + name, size))
            if name == "name":
                while k < end:
                    sub = b[k]
                    sz, k = leb(b, k + 1)
                    if sub == 1:
                        n, m = leb(b, k)
                        for _ in range(n):
                            idx, m = leb(b, m)
                            ln2, m = leb(b, m)
                            names[idx] = b[m : m + ln2].decode("utf-8", "replace")
                            m += ln2
                    k += sz
        else:
            sections.append(({1: "type", 2: "import", 3: "function", 5: "memory", 6: "global", 7: "export", 9: "elem", 10: "code", 11: "data"}.get(sid, str(sid)), size))
        i = end
    print(f"{path}: {len(b)} bytes")
    for n, s in sorted(sections, key=lambda x: -x[1])[:8]:
        print(f"  section {n}: {s}")
    crates = Counter()
    funcs = []
    for k, size in enumerate(bodies):
        name = names.get(imported_funcs + k, f"func{imported_funcs + k}")
        m = re.match(r"[<&*\s]*(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)", name)
        crate = m.group(1) if m else "?"
        crate = re.sub(r"\[[0-9a-f]+\]$", "", crate)
        crates[crate] += size
        funcs.append((size, name))
    total = sum(bodies)
    print(f"\ncode bytes by crate (of {total}):")
    for c, s in crates.most_common(top):
        print(f"  {s:8d} {100 * s / total:5.1f}%  {c}")
    print(f"\nlargest functions:")
    for s, n in sorted(funcs, reverse=True)[:top]:
        print(f"  {s:8d}  {n[:110]}")


main()
