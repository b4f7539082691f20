//! One supervisor for the node's long-running tasks: it names them, logs their failures and
//! panics, and stops them together.

use parking_lot::Mutex;
use std::{future::Future, sync::Arc};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

/// A spawned task's supervisor handle, with the task's name.
type NamedTask = (&'static str, JoinHandle<()>);

/// Spawns and stops the node's tasks.
#[derive(Debug, Clone)]
pub struct TaskManager {
    shutdown: watch::Sender<bool>,
    handles: Arc<Mutex<Vec<NamedTask>>>,
    failed: mpsc::UnboundedSender<String>,
}

/// Tells a task to stop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown has been asked for.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether shutdown has been asked for.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

impl TaskManager {
    /// A manager, and the receiver that hears of critical task failures.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (shutdown, _) = watch::channel(false);
        let (failed, failures) = mpsc::unbounded_channel();
        (Self { shutdown, handles: Default::default(), failed }, failures)
    }

    /// A shutdown signal for a task to watch.
    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown(self.shutdown.subscribe())
    }

    /// Spawns a task the node cannot run without: if it fails or panics, the node stops.
    pub fn spawn_critical<F, E>(&self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let failed = self.failed.clone();
        let inner = tokio::spawn(task);
        let handle = tokio::spawn(async move {
            let message = match inner.await {
                Ok(Ok(())) => return,
                Ok(Err(err)) => format!("task {name} failed: {err}"),
                Err(join) if join.is_panic() => format!("task {name} panicked: {join}"),
                Err(join) => format!("task {name} was cancelled: {join}"),
            };
            tracing::error!(target: "node::tasks", task = name, "{message}");
            let _ = failed.send(message);
        });
        self.handles.lock().push((name, handle));
    }

    /// Asks every task to stop and waits for them.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let handles: Vec<_> = std::mem::take(&mut *self.handles.lock());
        for (name, handle) in handles {
            if let Err(err) = handle.await {
                tracing::warn!(target: "node::tasks", task = name, %err, "task did not stop cleanly");
            }
            tracing::debug!(target: "node::tasks", task = name, "stopped");
        }
    }
}
