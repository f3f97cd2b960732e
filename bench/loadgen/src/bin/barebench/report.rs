//! The markdown section barebench prints.

use crate::parked::Step;
use crate::{median, pct, spread, Args, Run};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

pub(crate) type Sends<'a> = (&'a [Duration], usize, usize);

/// The markdown section.
pub(crate) fn report(
    a: &Args,
    runs: &HashMap<&str, Vec<Run>>,
    names: &[&str],
    lat1: &HashMap<&str, Vec<Run>>,
    (first_attempt, sent, delivered): Sends,
    parked: &[Step],
    (load_before, load_after): (&str, &str),
) -> String {
    let load = |s: &str| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let mut o = String::new();
    let cmd = std::env::args().collect::<Vec<_>>().join(" ");
    writeln!(o, "## The bare design beside the gateway (`barebench`)\n").unwrap();
    writeln!(
        o,
        "Command: `{cmd}`; {} alternating rounds of {} s (+{} s warm-up) per class at {} callers; load average before {}, after {} (2 cores shared with other engineers' builds: prefer the ratios).{}\n",
        a.rounds, a.duration, a.warmup, a.concurrency, load(load_before), load(load_after),
        if a.quick { " **Quick mode: not representative.**" } else { "" }
    )
    .unwrap();
    let rps = |name: &str| -> Vec<f64> {
        runs.get(name)
            .map(|rs| rs.iter().map(Run::rps).collect())
            .unwrap_or_default()
    };
    let ratio = |num: &str, den: &str| -> Vec<f64> {
        rps(num).iter().zip(rps(den)).map(|(n, d)| n / d).collect()
    };
    writeln!(o, "### Throughput and workerd CPU per request\n").unwrap();
    writeln!(
        o,
        "| class | ok/s per round | median ok/s | workerd CPU ms/request (median, spread) | bad |"
    )
    .unwrap();
    writeln!(o, "| --- | --- | --- | --- | --- |").unwrap();
    for name in names {
        let rs = &runs[name];
        let per: Vec<String> = rs.iter().map(|r| format!("{:.0}", r.rps())).collect();
        let cpu: Vec<f64> = rs.iter().map(Run::cpu_ms_per_req).collect();
        let bad: u64 = rs.iter().map(|r| r.bad).sum();
        let first = rs
            .iter()
            .find_map(|r| r.first_bad.clone())
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        writeln!(
            o,
            "| {name} | {} | {:.0} | {:.2} ({}) | {bad}{first} |",
            per.join(", "),
            median(rps(name)),
            median(cpu.clone()),
            spread(&cpu)
        )
        .unwrap();
    }
    writeln!(o, "\nThe bare worker's classes are measured on its own workerd, the others on the gateway's; a round trip's CPU includes its callback, a send's the delivery's attempt (counted until the receiver had every delivery).\n").unwrap();
    writeln!(o, "### Ratios (median of the rounds, spread)\n").unwrap();
    writeln!(o, "| ratio | median | per round | aim |").unwrap();
    writeln!(o, "| --- | --- | --- | --- |").unwrap();
    let mut line = |label: &str, v: Vec<f64>, aim: &str| {
        if v.is_empty() {
            return;
        }
        let per: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
        writeln!(
            o,
            "| {label} | **{:.2}** | {} | {aim} |",
            median(v.clone()),
            per.join(", ")
        )
        .unwrap();
    };
    line(
        "gateway `/healthz` / bare `/healthz`",
        ratio("healthz", "bare healthz"),
        "≥ 0.9",
    );
    line(
        "gateway `/healthz` / bare `/healthz` with a log line",
        ratio("healthz", "bare healthz, with a log line"),
        "(the log line's share)",
    );
    line(
        "round trip / bare pair, store first",
        ratio("round trip", "bare pair, store first"),
        "≥ 0.9",
    );
    line(
        "round trip / bare pair, in memory",
        ratio("round trip", "bare pair, in memory"),
        "(reference)",
    );
    line(
        "bare store first / bare in memory",
        ratio("bare pair, store first", "bare pair, in memory"),
        "(the cost of keeping a result)",
    );
    line(
        "bare store first over RPC / over requests",
        ratio("bare pair, store first, RPC", "bare pair, store first"),
        "(what Workers RPC would save the hops)",
    );
    line(
        "sync webhook / round trip",
        ratio("webhook", "round trip"),
        "≥ 0.9",
    );
    line(
        "publish (one channel) / `/healthz`",
        ratio("publish", "healthz"),
        "≥ 0.3",
    );
    line(
        "callback / `/healthz`",
        ratio("callback", "healthz"),
        "(reference)",
    );
    line("send / `/healthz`", ratio("send", "healthz"), "(reference)");
    writeln!(o).unwrap();
    if !lat1.is_empty() {
        writeln!(o, "### Latency at 1 caller (ms)\n").unwrap();
        writeln!(
            o,
            "| class | p50 per round | p99 per round | median p50 / p99 |"
        )
        .unwrap();
        writeln!(o, "| --- | --- | --- | --- |").unwrap();
        let p = |name: &str, q: f64| -> Vec<f64> {
            lat1[name].iter().map(|r| pct(&r.lat, q)).collect()
        };
        for name in ["bare pair, store first", "round trip"] {
            let (p50, p99) = (p(name, 0.5), p(name, 0.99));
            let f = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                o,
                "| {name} | {} | {} | {:.2} / {:.2} |",
                f(&p50),
                f(&p99),
                median(p50.clone()),
                median(p99.clone())
            )
            .unwrap();
        }
        let r50: Vec<f64> = p("round trip", 0.5)
            .iter()
            .zip(p("bare pair, store first", 0.5))
            .map(|(g, b)| g / b)
            .collect();
        let r99: Vec<f64> = p("round trip", 0.99)
            .iter()
            .zip(p("bare pair, store first", 0.99))
            .map(|(g, b)| g / b)
            .collect();
        writeln!(o, "\nRound trip / bare pair at 1 caller: p50 **{:.2}×** ({}), p99 **{:.2}×** ({}); aim ≤ 1.5×.\n", median(r50.clone()), spread(&r50), median(r99.clone()), spread(&r99)).unwrap();
    }
    let pairs: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(" (candidate)"))
        .collect();
    if !pairs.is_empty() {
        writeln!(o, "### Candidate / build (`--candidate`), round by round\n").unwrap();
        writeln!(o, "Each class ran on the candidate and on build/ one after the other in every round (the candidate first in every other round): the ratios compare runs seconds apart on the same machine. An A/A run (a copy of build/ as the candidate) shows the noise: its ratios stray from 1 by as much.\n").unwrap();
        writeln!(o, "| class | throughput candidate / build: median (per round) | workerd CPU per request candidate / build: median (per round) |\n| --- | --- | --- |").unwrap();
        for base in pairs {
            let cand = format!("{base} (candidate)");
            let (b, c) = (&runs[base], &runs[cand.as_str()]);
            let t: Vec<f64> = b.iter().zip(c).map(|(b, c)| c.rps() / b.rps()).collect();
            let u: Vec<f64> = b
                .iter()
                .zip(c)
                .map(|(b, c)| c.cpu_ms_per_req() / b.cpu_ms_per_req())
                .collect();
            let per = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                o,
                "| {base} | **{:.2}** ({}) | **{:.2}** ({}) |",
                median(t.clone()),
                per(&t),
                median(u.clone()),
                per(&u)
            )
            .unwrap();
        }
        writeln!(o).unwrap();
    }
    if sent > 0 {
        writeln!(o, "### Send → first attempt ({} callers)\n", a.concurrency).unwrap();
        // The sends' own answers (202), all rounds pooled, beside /healthz's
        // at the same concurrency: in a closed loop a send's latency is
        // bounded by the route's throughput (callers / sends per second).
        let pooled = |name: &str| -> Vec<Duration> {
            runs.get(name)
                .map(|rs| rs.iter().flat_map(|r| r.lat.iter().copied()).collect())
                .unwrap_or_default()
        };
        let answers = pooled("send");
        let health = pooled("healthz");
        writeln!(
            o,
            "{delivered} of {sent} accepted sends reached the receiver; from each send's request to its first attempt's arrival: p50 **{:.0} ms**, p99 {:.0} ms (aim p50 < 50 ms). The send's own answer (202): p50 {:.1} ms, p99 {:.1} ms; `/healthz` at the same concurrency: p50 {:.1} ms, p99 {:.1} ms. The first attempt is made by the send itself right after its 202 (`wait_until`); the queue carries only the safety net and the retries.\n",
            pct(first_attempt, 0.5),
            pct(first_attempt, 0.99),
            pct(&answers, 0.5),
            pct(&answers, 0.99),
            pct(&health, 0.5),
            pct(&health, 0.99),
        )
        .unwrap();
    }
    if !parked.is_empty() {
        writeln!(o, "### Parked at once, none lost\n").unwrap();
        writeln!(o, "N callers at once, each design on a fresh runtime per step; the engine calls each task back `delay` after it gets it, so the callers are parked together when the delay outlasts the ramp (*peak parked*: the most tasks the engine held at once, not yet called back). Steps stop at a design's first loss.\n").unwrap();
        writeln!(o, "| design | N callers | delay | ok | lost | peak parked | wall | first loss |\n| --- | --- | --- | --- | --- | --- | --- | --- |").unwrap();
        for s in parked {
            writeln!(
                o,
                "| {} | {} | {:.1} s | {} | {} | {} | {:.1} s | {} |",
                s.design,
                s.callers,
                s.delay_ms as f64 / 1000.0,
                s.ok,
                s.lost,
                s.peak_parked,
                s.wall_s,
                s.first_loss
                    .as_deref()
                    .unwrap_or("")
                    .replace('|', "/")
                    .replace('\n', " ")
            )
            .unwrap();
        }
        let limit = |design: &str| {
            parked
                .iter()
                .filter(|s| s.design == design && s.lost == 0)
                .map(|s| s.callers)
                .max()
                .unwrap_or(0)
        };
        let (b, g) = (limit("bare pair, store first"), limit("round trip"));
        writeln!(
            o,
            "\nMost parked at once with none lost: bare design **{b}**, gateway **{g}** (ratio {:.2}; aim: equal).\n",
            g as f64 / b.max(1) as f64
        )
        .unwrap();
    }
    o
}
