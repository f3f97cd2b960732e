//! What the fault and soak experiments (`faults`, `soak`) share: finding a
//! worker's workerd process, its memory and open files, killing it, a
//! markdown report, and bounded waiting (also for those open files to
//! settle); and the bare-design worker (`barebench`, `flowbench`).

use std::time::{Duration, Instant};
use syncbridge_tests::worker::Worker;

/// Live (not zombie) processes whose parent is `ppid`.
pub fn children(ppid: u32) -> Vec<u32> {
    let ppid = ppid.to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let f: Vec<&str> = s
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            f.len() > 1 && f[1] == ppid && f[0] != "Z"
        })
        .collect()
}

/// A process's command line, arguments separated by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// The workerd process of `worker`: the child of our `serve.mjs --port P`.
pub fn workerd_of(worker: &Worker) -> Option<u32> {
    workerd_serving(&worker.base)
}

/// The workerd process serving `base` (`http://127.0.0.1:P`): the child of
/// the `serve.mjs --port P` (the gateway's or the bare worker's) this
/// process started.
pub fn workerd_serving(base: &str) -> Option<u32> {
    let port = base.rsplit(':').next()?;
    let node = children(std::process::id()).into_iter().find(|&p| {
        let c = cmdline(p);
        c.contains("serve.mjs") && c.contains(&format!("--port {port}"))
    })?;
    children(node)
        .into_iter()
        .find(|&p| cmdline(p).contains("workerd"))
}

/// `VmRSS` of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// How many files `pid` holds open (its `/proc/PID/fd` entries).
pub fn open_files(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Waits, at most `bound` and polling every `every`, until `pid` holds at
/// most `limit` open files: workerd closes an evicted object's SQLite files,
/// so a benchmark step that makes objects starts once the objects of the
/// steps before are gone. Returns the files held before and after.
pub async fn settle_open_files(
    pid: u32,
    limit: usize,
    bound: Duration,
    every: Duration,
) -> (Option<usize>, Option<usize>) {
    let start = Instant::now();
    let before = open_files(pid);
    while start.elapsed() < bound && open_files(pid).is_some_and(|f| f > limit) {
        tokio::time::sleep(every).await;
    }
    (before, open_files(pid))
}

/// Pins `pid`, every thread of it, to the CPUs `cpus` (a `taskset` list
/// such as `0` or `1-3`); threads it starts later inherit it. False when
/// `taskset` is missing or refuses.
pub fn pin(pid: u32, cpus: &str) -> bool {
    std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends SIGKILL to `pid` and waits (up to 10 s) until it is gone.
pub fn sigkill(pid: u32) -> bool {
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let gone = state.is_empty()
            || state
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        if gone {
            return ok;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Waits until `done` holds, polling every `every`, for at most `limit`;
/// true when it held.
pub async fn wait_until(limit: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}

/// The machine, for a report's header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "commit {commit}; {} CPUs ({cpu}); load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Appends `text` to `bench/out/{name}` (and prints it).
pub fn report(name: &str, text: &str) {
    print!("{text}");
    let dir = syncbridge_tests::worker::repo_root().join("bench/out");
    let _ = std::fs::create_dir_all(&dir);
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// The bare worker (`bench/bare/index.js`) under `bench/bare/serve.mjs`;
/// stops when dropped.
pub struct Bare {
    pub base: String,
    child: std::process::Child,
}

impl Bare {
    /// Starts it on `port`, its engine at `engine` signed with `login`'s `secret`.
    pub fn start(engine: &str, port: u16, login: &str, secret: &str) -> Bare {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new("node")
            .current_dir(syncbridge_tests::worker::repo_root())
            .arg("bench/bare/serve.mjs")
            .args(["--port", &port.to_string(), "--engine-url", engine])
            .args(["--login", login, "--secret", secret])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start node bench/bare/serve.mjs");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.starts_with("ready on ") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the bare worker did not start within 60 s");
        Bare {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}
