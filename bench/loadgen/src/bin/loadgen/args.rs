//! loadgen's command line: which phases run, and their sizes.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Only {
    All,
    Http,
    Parked,
    Sig,
}

/// Miniflare keeps each Durable Object's SQLite files under `$TMPDIR` even
/// without persistence; on this machine's disk that costs syncs, on tmpfs not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    Tmpfs,
    Disk,
}

pub(crate) struct Args {
    pub(crate) only: Only,
    pub(crate) quick: bool,
    /// Measured seconds of each closed-loop run.
    pub(crate) duration: f64,
    /// Unmeasured seconds run before each closed-loop run.
    pub(crate) warmup: f64,
    /// Concurrency of the throughput comparison (phases 1 and 2).
    pub(crate) concurrency: usize,
    /// Alternating /healthz and sync runs of the throughput comparison.
    pub(crate) rounds: usize,
    /// Concurrencies of the latency table (phase 3).
    pub(crate) levels: Vec<usize>,
    /// Parked-capacity steps (phase 4), tried in order until one loses a request.
    pub(crate) parked: Vec<usize>,
    /// Fixed engine callback delay of the parked steps; `None`: sized per step.
    pub(crate) park_delay_ms: Option<u64>,
    /// Time bound of one parked step; `None`: twice its delay plus a minute.
    pub(crate) park_limit_s: Option<u64>,
    pub(crate) sig_iters: u64,
    pub(crate) sig_rounds: usize,
    pub(crate) storage: Storage,
    /// Free text put in the report's heading (e.g. the build profile).
    pub(crate) label: Option<String>,
    /// Runs the worker with `SIGNATURE_REPLAY_PROTECTION=true`.
    pub(crate) replay_protection: bool,
}

pub(crate) const USAGE: &str =
    "usage: loadgen [--quick] [--only all|http|parked|sig] [--duration S] \
[--warmup S] [--concurrency C] [--rounds R] [--levels 1,50,200] [--parked 1000,2000,5000,10000] \
[--park-delay-ms MS] [--park-limit S] [--sig-iters N] [--sig-rounds R] \
[--storage tmpfs|disk] [--label TEXT] [--replay-protection]";

pub(crate) fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

impl Args {
    pub(crate) fn parse() -> Args {
        let raw: Vec<String> = std::env::args().skip(1).collect();
        let quick = raw.iter().any(|a| a == "--quick");
        // --quick only changes the defaults; explicit flags still win.
        let mut a = Args {
            only: Only::All,
            quick,
            duration: if quick { 1.0 } else { 5.0 },
            warmup: if quick { 0.3 } else { 1.0 },
            concurrency: 50,
            rounds: if quick { 1 } else { 3 },
            levels: if quick { vec![1, 50] } else { vec![1, 50, 200] },
            parked: if quick {
                vec![200, 1000]
            } else {
                // Intermediate steps locate the ceiling when 5,000 is too many.
                vec![1000, 2000, 2500, 3000, 5000, 10_000]
            },
            park_delay_ms: None,
            park_limit_s: None,
            sig_iters: if quick { 20_000 } else { 200_000 },
            sig_rounds: if quick { 4 } else { 10 },
            storage: Storage::Tmpfs,
            label: None,
            replay_protection: false,
        };
        let mut it = raw.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--quick" {
                continue;
            }
            if flag == "--replay-protection" {
                a.replay_protection = true;
                continue;
            }
            if flag == "-h" || flag == "--help" {
                eprintln!("{USAGE}");
                std::process::exit(0);
            }
            let val = it
                .next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value\n{USAGE}")));
            let num = |v: &str| -> f64 {
                v.parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                    .unwrap_or_else(|| die(&format!("{flag}: not a number: {v}")))
            };
            let list =
                |v: &str| -> Vec<usize> { v.split(',').map(|s| num(s.trim()) as usize).collect() };
            match flag.as_str() {
                "--only" => {
                    a.only = match val.as_str() {
                        "all" => Only::All,
                        "http" => Only::Http,
                        "parked" => Only::Parked,
                        "sig" => Only::Sig,
                        o => die(&format!("--only all|http|parked|sig, not {o}")),
                    }
                }
                "--duration" => a.duration = num(&val),
                "--warmup" => a.warmup = num(&val),
                "--concurrency" => a.concurrency = num(&val) as usize,
                "--rounds" => a.rounds = num(&val) as usize,
                "--levels" => a.levels = list(&val),
                "--parked" => a.parked = list(&val),
                "--park-delay-ms" => a.park_delay_ms = Some(num(&val) as u64),
                "--park-limit" => a.park_limit_s = Some(num(&val) as u64),
                "--sig-iters" => a.sig_iters = num(&val) as u64,
                "--sig-rounds" => a.sig_rounds = num(&val) as usize,
                "--storage" => {
                    a.storage = match val.as_str() {
                        "tmpfs" => Storage::Tmpfs,
                        "disk" => Storage::Disk,
                        o => die(&format!("--storage tmpfs|disk, not {o}")),
                    }
                }
                "--label" => a.label = Some(val),
                other => die(&format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if a.duration <= 0.0
            || a.concurrency == 0
            || a.rounds == 0
            || a.levels.contains(&0)
            || a.parked.contains(&0)
            || a.sig_iters == 0
            || a.sig_rounds == 0
        {
            die("durations, concurrencies, steps and iterations must be positive");
        }
        a
    }

    pub(crate) fn wants(&self, phase: Only) -> bool {
        self.only == Only::All || self.only == phase
    }
}
