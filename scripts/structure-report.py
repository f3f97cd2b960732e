#!/usr/bin/env python3
"""Prints structure figures of a syncbridge tree (default: this one): Rust
files and lines per crate, the longest files and functions, cycles among
the edge's top-level modules, and how many copies of an e2e harness
(`fn env()` / `fn http()`) the tests hold. Used for before/after notes:
    python3 scripts/structure-report.py [ROOT]"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()


def rust_files(sub):
    return sorted(p for p in (root / sub).rglob("*.rs") if "target" not in p.parts)


def functions(path):
    """(name, lines) of each fn, by brace matching (strings and chars skipped roughly)."""
    text = path.read_text()
    out = []
    for m in re.finditer(r"\bfn\s+(\w+)[^;{]*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            c = text[i]
            if c == '"':
                i += 1
                while i < len(text) and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            elif c == "'" and (lit := re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", text[i:])):
                i += len(lit.group(0)) - 1
            elif c == "/" and text[i + 1 : i + 2] == "/":
                i = text.find("\n", i)
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            i += 1
        lines = text.count("\n", m.start(), i) + 1
        out.append((m.group(1), lines))
    return out


for crate in ["crates/core/src", "crates/edge/src", "tests", "bench"]:
    files = rust_files(crate) if (root / crate).exists() else []
    lines = sum(len(f.read_text().splitlines()) for f in files)
    print(f"{crate:18} {len(files):3} files {lines:6} lines")

everything = [f for c in ["crates", "tests", "bench"] if (root / c).exists() for f in rust_files(c)]
print("\nlongest files:")
for f in sorted(everything, key=lambda f: -len(f.read_text().splitlines()))[:6]:
    print(f"  {len(f.read_text().splitlines()):5}  {f.relative_to(root)}")

print("\nlongest functions (crates/):")
fns = [(n, l, f) for f in everything if "crates" in f.parts for n, l in functions(f)]
for n, l, f in sorted(fns, key=lambda t: -t[1])[:6]:
    print(f"  {l:5}  {f.relative_to(root)}::{n}")

# Edge module graph: top-level modules (a file or a folder) and crate:: uses.
edge = root / "crates/edge/src"
graph = {}
for f in rust_files("crates/edge/src"):
    rel = f.relative_to(edge)
    me = rel.parts[0].removesuffix(".rs")
    if me == "lib":
        continue
    deps = set(re.findall(r"\bcrate::(\w+)", f.read_text()))
    for block in re.findall(r"use crate::\{([^}]*)\}", f.read_text()):
        deps |= set(re.findall(r"(\w+)", block))
    graph.setdefault(me, set()).update(d for d in deps if d != me)
nodes = set(graph)
graph = {k: {d for d in v if d in nodes} for k, v in graph.items()}

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph.get(v, ()):
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for v in sorted(graph):
    if v not in index:
        strong(v)
print(f"\nedge top-level modules: {len(graph)}, cycles: {len(sccs)}")
for c in sccs:
    print("  cycle among:", ", ".join(c))

harness = [f for f in rust_files("tests") if re.search(r"^fn env\(\)", f.read_text(), re.M)]
print(f"\ne2e harness copies (files defining `fn env()`): {len(harness)}")
for f in harness:
    print("  ", f.relative_to(root))
