//! A `tributary` child process and a JSON-RPC client for it.

use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// A running `tributary node --dev`. Killed on drop.
pub(crate) struct NodeProcess {
    child: Child,
    pub(crate) client: HttpClient,
    pub(crate) url: String,
}

impl NodeProcess {
    /// Starts a dev node on `datadir` and waits for its RPC line.
    pub(crate) fn start(datadir: &Path) -> Self {
        let args = ["node", "--dev", "--http.port", "0", "--dev.block-time", "0", "--datadir"];
        let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
        command.args(args).arg(datadir);
        let (child, urls) = spawn_and_wait(command, &["L2 RPC: "]);
        let url = urls.into_iter().next().unwrap_or_default();
        let client = HttpClientBuilder::default().build(&url).unwrap();
        Self { child, client, url }
    }

    /// Starts `tributary <args>` and waits until it has printed a line with each of
    /// `prefixes`; returns the process and what followed each prefix.
    pub(crate) fn spawn(args: &[String], prefixes: &[&str]) -> (Self, Vec<String>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
        command.args(args);
        let (child, urls) = spawn_and_wait(command, prefixes);
        // The client talks to the last URL printed (a process that prints none gets an unused
        // client).
        let url = urls
            .iter()
            .rev()
            .find(|value| value.starts_with("http"))
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1:9".into());
        let process = |client| Self { child, client, url: url.clone() };
        match HttpClientBuilder::default().build(&url) {
            Ok(client) => (process(client), urls),
            Err(err) => {
                // Dropping the process kills the child: a bad URL leaks no node.
                drop(process(HttpClientBuilder::default().build("http://127.0.0.1:9").unwrap()));
                panic!("{url}: {err}");
            }
        }
    }

    pub(crate) async fn rpc(&self, method: &str, params: Vec<Value>) -> Value {
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        for v in params {
            p.insert(v).unwrap();
        }
        self.client.request(method, p).await.unwrap_or_else(|err| panic!("{method}: {err}"))
    }

    /// SIGKILL: no shutdown code runs.
    pub(crate) fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for a clean exit.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as libc_pid::Pid;
        libc_pid::terminate(pid);
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("node did not stop within 10 s of SIGTERM");
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` with stdout piped and waits (60 s at most) for a line starting with each
/// prefix, in any order. Logs go to the test's stderr when `TRIBUTARY_TEST_LOGS` is set.
fn spawn_and_wait(mut command: Command, prefixes: &[&str]) -> (Child, Vec<String>) {
    let logs = std::env::var_os("TRIBUTARY_TEST_LOGS").is_some();
    let mut child = command
        .env("RUST_LOG", if logs { "info" } else { "warn" })
        .stdout(Stdio::piped())
        .stderr(if logs { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .expect("spawn tributary");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let wanted: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for (i, prefix) in wanted.iter().enumerate() {
                if let Some(rest) = line.strip_prefix(prefix.as_str()) {
                    let _ = tx.send((i, rest.to_string()));
                }
            }
        }
    });
    let mut found = vec![String::new(); prefixes.len()];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while found.iter().any(String::is_empty) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, value)) => found[i] = value,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tributary did not print {prefixes:?}");
            }
        }
    }
    (child, found)
}

/// SIGTERM without a libc dependency: `kill -TERM`.
mod libc_pid {
    pub(crate) type Pid = u32;
    pub(crate) fn terminate(pid: Pid) {
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }
}
