//! Starts the real worker (build/, made by `make build`) in workerd through
//! `scripts/serve.mjs`. The child watches its standard input, so it stops
//! when the test process ends, however it ends.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub struct Worker {
    pub base: String,
    child: Child,
    /// The folder of a worker started with a wrangler.toml of its own.
    config_dir: Option<PathBuf>,
    /// Closing it asks the launcher to stop (it watches its stdin).
    stdin: Option<std::process::ChildStdin>,
    logs: Arc<Mutex<Vec<String>>>,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Worker {
    /// Starts the worker with these settings (a JSON object of var → string).
    pub fn start(vars: &Value) -> Worker {
        Self::start_with(vars, None)
    }

    /// As [`Worker::start`], keeping Durable Object and D1 storage under
    /// `persist` (SQLite files under `persist/do/` and `persist/d1/`).
    pub fn start_with(vars: &Value, persist: Option<&std::path::Path>) -> Worker {
        Self::start_opts(vars, persist, None)
    }

    /// As [`Worker::start_with`], also firing the cron trigger every `cron_ms`.
    pub fn start_opts(
        vars: &Value,
        persist: Option<&std::path::Path>,
        cron_ms: Option<u64>,
    ) -> Worker {
        Self::launch(vars, persist, cron_ms, None)
    }

    /// As [`Worker::start_opts`], with `wrangler_toml` instead of the
    /// repository's wrangler.toml (the same worker, deployed with other
    /// bindings' settings, such as a queue's retries). It runs in a folder
    /// of its own that holds that file and links to build/ and migrations/.
    pub fn start_with_wrangler_toml(
        vars: &Value,
        wrangler_toml: &str,
        persist: Option<&std::path::Path>,
        cron_ms: Option<u64>,
    ) -> Worker {
        let dir = std::env::temp_dir().join(format!("syncbridge-{}", crate::unique("config")));
        std::fs::create_dir_all(&dir).expect("a folder for the worker's config");
        std::fs::write(dir.join("wrangler.toml"), wrangler_toml).expect("write wrangler.toml");
        for linked in ["build", "migrations"] {
            std::os::unix::fs::symlink(repo_root().join(linked), dir.join(linked))
                .expect("link the build and the migrations");
        }
        Self::launch(vars, persist, cron_ms, Some(dir))
    }

    /// As [`Worker::start`], serving the worker built in `build_dir` (a
    /// `worker-build` output, such as a candidate build to compare with
    /// build/) with the repository's wrangler.toml and migrations, from a
    /// folder of its own.
    pub fn start_from_build(vars: &Value, build_dir: &std::path::Path) -> Worker {
        let dir = std::env::temp_dir().join(format!("syncbridge-{}", crate::unique("build")));
        std::fs::create_dir_all(&dir).expect("a folder for the worker's config");
        let root = repo_root();
        std::fs::copy(root.join("wrangler.toml"), dir.join("wrangler.toml"))
            .expect("copy wrangler.toml");
        let build_dir = std::fs::canonicalize(build_dir).expect("the build folder");
        assert!(
            build_dir.join("index.js").exists(),
            "{} has no index.js",
            build_dir.display()
        );
        std::os::unix::fs::symlink(&build_dir, dir.join("build")).expect("link the build");
        std::os::unix::fs::symlink(root.join("migrations"), dir.join("migrations"))
            .expect("link the migrations");
        Self::launch(vars, None, None, Some(dir))
    }

    /// The launcher's process id (its workerd is a child of it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn launch(
        vars: &Value,
        persist: Option<&std::path::Path>,
        cron_ms: Option<u64>,
        config_dir: Option<PathBuf>,
    ) -> Worker {
        let root = repo_root();
        assert!(
            root.join("build/index.js").exists(),
            "build/index.js is missing: run `make build` (or `make test`) first"
        );
        let port = free_port();
        let mut cmd = Command::new("node");
        // serve.mjs reads wrangler.toml, build/ and migrations/ from its
        // working folder.
        cmd.current_dir(config_dir.as_deref().unwrap_or(&root))
            .arg(root.join("scripts/serve.mjs"))
            .args(["--watch-stdin", "--port", &port.to_string()]);
        if let Some(dir) = persist {
            cmd.arg("--persist").arg(dir);
        }
        if let Some(ms) = cron_ms {
            cmd.env("SYNCBRIDGE_CRON_MS", ms.to_string());
        }
        let mut child = cmd
            .env("SYNCBRIDGE_VARS", vars.to_string())
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node scripts/serve.mjs");
        let stdout = child.stdout.take().expect("child stdout");
        let stderr = child.stderr.take().expect("child stderr");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("ready on ") {
                    let _ = tx.send(());
                }
                sink.lock().unwrap().push(line);
            }
        });
        // The worker's console.error lines come on stderr: kept with the
        // others, and still shown.
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                sink.lock().unwrap().push(line);
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the worker did not become ready within 60 s");
        Worker {
            base: format!("http://127.0.0.1:{port}"),
            child,
            config_dir,
            stdin,
            logs,
        }
    }

    /// Lines the worker has printed so far (its `console.log` and
    /// `console.error` output, and the launcher's).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a printed line containing `needle`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if self.logs().iter().any(|l| l.contains(needle)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

impl Drop for Worker {
    /// Stops the launcher gracefully (closing its stdin), so it disposes of
    /// workerd; SIGKILL would orphan workerd. Killed only if it hangs.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut stopped = false;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(dir) = self.config_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
