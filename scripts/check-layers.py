#!/usr/bin/env python3
"""Checks the edge crate's layering: each top-level module may use only the
modules declared before it in crates/edge/src/lib.rs (and its own
submodules), so there are no cycles and nothing reaches up. Prints the
module graph with --graph. Exit 1 on a violation."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "crates/edge/src"
lib = (root / "lib.rs").read_text()
order = re.findall(r"^mod (\w+);", lib, re.M)
rank = {m: i for i, m in enumerate(order)}


def top_module(path: pathlib.Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".rs")


uses = {m: set() for m in order}
bad = []
for f in sorted(root.rglob("*.rs")):
    if f.name == "lib.rs" and f.parent == root:
        continue
    me = top_module(f)
    text = f.read_text()
    for dep in set(re.findall(r"\bcrate::(\w+)", text)):
        if dep == me or dep not in rank:
            continue
        uses[me].add(dep)
        if rank[dep] > rank[me]:
            bad.append(f"{f.relative_to(root)} uses crate::{dep}, declared after {me}")
    # siblings inside a folder module reach each other through super::
    # (allowed: one concern split into files).

if "--graph" in sys.argv:
    for m in order:
        print(f"{m:16} -> {', '.join(sorted(uses[m], key=rank.get)) or '-'}")
for b in bad:
    print("layering:", b)
print(f"check-layers: {len(order)} modules, {sum(len(v) for v in uses.values())} edges, "
      f"{len(bad)} upward uses")
sys.exit(1 if bad else 0)
