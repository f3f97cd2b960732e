#!/usr/bin/env python3
"""A channel's overview (`GET …/integration_points/{id}/stats`) counts its
last hour of request records by minute and outcome. This measures that
count in SQLite (the engine D1 runs) on the schema before migration 0006
(the outcome read from each record's JSON summary) and after it (the
outcome a column of the index the count reads), with the same records, in
alternating rounds; and the insert of a record, whose index changed too.

    python3 bench/request-counts.py [--records 100000] [--rounds 5]

Prints a markdown table for bench/RESULTS.md. In memory; touches no network.
"""
import argparse
import json
import pathlib
import re
import sqlite3
import statistics
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MIG = ROOT / "migrations"
OUTCOMES = ["answered", "accepted", "timed_out", "failed", "no_process"]

# The count as the worker sends it to D1: before migration 0006 (as it was
# written then), and after it, read from core::stats::REQUEST_COUNTS itself.
BEFORE = (
    "SELECT CAST(received_at_ms / 60000 AS INTEGER) AS minute, "
    "json_extract(doc, '$.outcome') AS outcome, COUNT(*) AS n "
    "FROM inbound_requests WHERE channel_id = ?1 AND received_at_ms >= ?2 AND expires_at_ms >= ?3 "
    "GROUP BY minute, outcome"
)


def rust_str(path, name):
    """The value of `pub const NAME: &str = "...";` in a Rust file (escaped
    line ends joined as Rust joins them)."""
    text = (ROOT / path).read_text()
    m = re.search(r'pub const ' + name + r': &str =\s*"((?:[^"\\]|\\.)*)";', text, re.S)
    return re.sub(r"\\\n\s*", "", m.group(1))


AFTER = rust_str("crates/core/src/stats.rs", "REQUEST_COUNTS")


def summary(i, outcome):
    # About the size of a real record's summary (core::request_log::Entry).
    return json.dumps({
        "id": f"{i:08x}-0000-4000-8000-000000000000", "channel_id": "c",
        "received_at": "2026-12-02T12:00:00.000Z", "method": "POST",
        "url": "/api/token/v1/…/orders?x=1", "ip": "203.0.113.7", "mode": "sync",
        "status": 200, "duration_ms": 12, "outcome": outcome, "error": None,
        "response": {"status": 200, "excerpt": "{\"ok\":true}"},
    })


def database(after, records, t0, migrate_after=False):
    db = sqlite3.connect(":memory:")
    for m in sorted(MIG.glob("*.sql")):
        if after or m.name < "0006":
            db.executescript(m.read_text())
    rows = []
    for i in range(records):
        # One hour of records, three quarters of them this channel's.
        ch = "c" if i % 4 else "other"
        at = t0 + i * 3_600_000 // records
        o = OUTCOMES[i % 7 % len(OUTCOMES)]
        rows.append((f"r{i}", ch, at, at + 86_400_000, summary(i, o), o))
    if after:
        db.executemany("INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc, outcome) VALUES (?,?,?,?,?,?)", rows)
    else:
        db.executemany("INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc) VALUES (?,?,?,?,?)", [r[:5] for r in rows])
    db.commit()
    if migrate_after:
        # Migrated with these records in it: they keep the column empty.
        for m in sorted(MIG.glob("*.sql")):
            if m.name >= "0006":
                db.executescript(m.read_text())
    return db


def timed(f, n):
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    t0 = 1_800_000_000_000
    old, new = database(False, a.records, t0), database(True, a.records, t0)
    migrated = database(False, a.records, t0, migrate_after=True)
    args = ("c", t0, t0)
    assert sorted(old.execute(BEFORE, args).fetchall()) == sorted(new.execute(AFTER, args).fetchall())
    assert sorted(old.execute(BEFORE, args).fetchall()) == sorted(migrated.execute(AFTER, args).fetchall())
    first = [timed(lambda: migrated.execute(AFTER, args).fetchall(), 3) for _ in range(a.rounds)]
    counts = {"before": [], "after": []}
    inserts = {"before": [], "after": []}
    for r in range(a.rounds):
        for name, db, q in (("before", old, BEFORE), ("after", new, AFTER))[:: 1 if r % 2 == 0 else -1]:
            counts[name].append(timed(lambda: db.execute(q, args).fetchall(), 3))
            k = [0]

            def insert():
                k[0] += 1
                at = t0 + 3_600_000 + k[0]
                cols = "id, channel_id, received_at_ms, expires_at_ms, doc" + (", outcome" if name == "after" else "")
                vals = [f"n{r}-{k[0]}", "c", at, at + 86_400_000, summary(k[0], "answered")] + (["answered"] if name == "after" else [])
                db.execute(f"INSERT INTO inbound_requests ({cols}) VALUES ({','.join('?' * len(vals))})", vals)
            inserts[name].append(timed(insert, 2000))
            db.commit()
    plan = lambda db, q: "; ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + q, args))
    ms = lambda v: statistics.median(v) * 1000
    ratio = [b / a_ for b, a_ in zip(counts["before"], counts["after"])]
    iratio = [a_ / b for b, a_ in zip(inserts["before"], inserts["after"])]
    print(f"Command: `python3 bench/request-counts.py --records {a.records} --rounds {a.rounds}`; SQLite {sqlite3.sqlite_version}; "
          f"{a.records:,} records in one hour, {a.records * 3 // 4:,} of them the channel's.\n")
    print("| | before 0006 | after | ratio (median, spread) |\n| --- | --- | --- | --- |")
    print(f"| the overview's count, ms | {ms(counts['before']):.1f} | {ms(counts['after']):.1f} | "
          f"{statistics.median(ratio):.1f}× faster ({min(ratio):.1f}–{max(ratio):.1f}) |")
    print(f"| the same, just after migrating (every record kept from before, so counted from its summary), ms | | {ms(first):.1f} | "
          f"{statistics.median(counts['before']) / statistics.median(first):.2f}× |")
    print(f"| one record's insert, µs | {ms(inserts['before']) * 1000:.1f} | {ms(inserts['after']) * 1000:.1f} | "
          f"{statistics.median(iratio):.2f} of before ({min(iratio):.2f}–{max(iratio):.2f}) |")
    print(f"\nPlans: before `{plan(old, BEFORE)}`; after `{plan(new, AFTER)}`.")


if __name__ == "__main__":
    main()
