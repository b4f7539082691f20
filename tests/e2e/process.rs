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
        let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .args(["node", "--dev", "--http.port", "0", "--dev.block-time", "0", "--datadir"])
            .arg(datadir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tributary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("L2 RPC: ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("node did not print its RPC address");
            }
        };
        let client = HttpClientBuilder::default().build(&url).unwrap();
        Self { child, client, url }
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

/// SIGTERM without a libc dependency: `kill -TERM`.
mod libc_pid {
    pub(crate) type Pid = u32;
    pub(crate) fn terminate(pid: Pid) {
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }
}
