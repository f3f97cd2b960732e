//! Process accounting from `/proc`: the worker's node and workerd
//! processes (open files, memory, a graceful stop) and CPU time counters.

use std::time::{Duration, Instant};
use syncbridge_tests::worker::Worker;

/// The fields of `/proc/{pid}/stat` after the command name (which may
/// contain spaces): `[0]` is the state, `[1]` the parent, `[11..13]` CPU ticks.
pub(crate) fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        s.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// Live (not zombie) processes whose parent is `ppid`.
pub(crate) fn children(ppid: u32) -> Vec<u32> {
    let ppid = ppid.to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(&pid.to_string())
                .is_some_and(|f| f.len() > 1 && f[1] == ppid && f[0] != "Z")
        })
        .collect()
}

pub(crate) fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Our worker's processes: node (serve.mjs), our child, and its workerd.
pub(crate) struct WorkerProcs {
    pub(crate) node: Option<u32>,
    pub(crate) workerd: Option<u32>,
}

impl WorkerProcs {
    pub(crate) fn find() -> WorkerProcs {
        let node = children(std::process::id())
            .into_iter()
            .find(|&p| cmdline(p).contains("serve.mjs"));
        let workerd = node.and_then(|n| {
            children(n)
                .into_iter()
                .find(|&p| cmdline(p).contains("workerd"))
        });
        WorkerProcs { node, workerd }
    }

    /// workerd's open file descriptors (sockets and SQLite files).
    pub(crate) fn open_files(&self) -> Option<usize> {
        syncbridge_bench::open_files(self.workerd?)
    }

    pub(crate) fn rss_mib(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.workerd?)).ok()?;
        let kib: u64 = s
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024)
    }

    /// workerd's soft limit on open files.
    pub(crate) fn open_files_limit(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/limits", self.workerd?)).ok()?;
        s.lines()
            .find(|l| l.starts_with("Max open files"))?
            .split_whitespace()
            .nth(3)?
            .parse()
            .ok()
    }

    /// Stops the worker gracefully and within a bound: SIGTERM lets
    /// serve.mjs dispose of Miniflare, which stops workerd; a workerd still
    /// running after 20 s is killed. The drop then only reaps.
    pub(crate) fn stop(&self, worker: Worker) {
        let signal = |sig: &str, pid: u32| {
            let _ = std::process::Command::new("kill")
                .args([sig, &pid.to_string()])
                .status();
        };
        let alive = |p: u32| stat_fields(&p.to_string()).is_some_and(|f| f[0] != "Z");
        if let Some(node) = self.node {
            signal("-TERM", node);
            let deadline = Instant::now() + Duration::from_secs(20);
            while (alive(node) || self.workerd.is_some_and(alive)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Disposal took too long: end our own workerd before node goes.
        if let Some(w) = self.workerd.filter(|&w| alive(w)) {
            signal("-KILL", w);
        }
        drop(worker);
    }
}

/// CPU time counters, to tell whether a run was CPU-bound and how much of
/// the machine the load generator itself took (it shares the cores).
#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) at: Instant,
    /// This process: user + system clock ticks.
    pub(crate) own_ticks: u64,
    /// The machine: (busy, total) jiffies summed over all cores.
    pub(crate) busy: u64,
    pub(crate) total: u64,
}

impl Cpu {
    pub(crate) fn now() -> Cpu {
        let own_ticks = stat_fields("self")
            .and_then(|f| Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?))
            .unwrap_or(0);
        let (busy, total) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let v: Vec<u64> = s
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let total: u64 = v.iter().take(8).sum();
                // idle and iowait are not busy.
                let idle = v.get(3)? + v.get(4).unwrap_or(&0);
                Some((total - idle, total))
            })
            .unwrap_or((0, 0));
        Cpu {
            at: Instant::now(),
            own_ticks,
            busy,
            total,
        }
    }

    /// (cores used by this process, fraction of the machine busy) since `self`.
    pub(crate) fn since(&self) -> (f64, f64) {
        let now = Cpu::now();
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        // Linux reports process times in USER_HZ, 100 on every mainstream platform.
        let own = now.own_ticks.saturating_sub(self.own_ticks) as f64 / 100.0 / secs;
        let busy = now.busy.saturating_sub(self.busy) as f64
            / now.total.saturating_sub(self.total).max(1) as f64;
        (own, busy)
    }
}
