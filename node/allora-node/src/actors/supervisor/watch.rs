//! Watching every task: each actor (and the gauges task) runs from a factory, so when its
//! task panics or ends before shutdown it is logged, counted
//! (`allora_task_restarts_total`) and started again after a doubling backoff. The wallet's
//! tx actor is watched through [`TxPort::is_stopped`]: while it is down `/ready` is false;
//! it is replaced with [`TxPort::restart`] after the same backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::actors::ports::TxPort;
use crate::actors::wakeup::Wakeups;
use crate::config::RestartPolicy;
use crate::metrics::{Health, Metrics};

/// Builds one run of a task from its mailbox (the same one for every run, so signals that
/// arrive while it restarts wait for it).
pub(super) type Make = Arc<dyn Fn(Wakeups) -> BoxFuture<'static, ()> + Send + Sync>;

/// A restartable task.
pub(super) struct Task {
    /// `worker`, `reputer` or `gauges` (metric label).
    pub task: &'static str,
    /// The topic id, or `-` for per-wallet tasks (metric label).
    pub topic: String,
    /// Where the window signals for this task's topic and role are left.
    pub wake: Wakeups,
    pub make: Make,
}

/// The running tasks and their restart state.
pub(super) struct Watch {
    tasks: Vec<Task>,
    failures: Vec<u32>,
    running: HashMap<Id, (usize, Instant)>,
    pub set: JoinSet<()>,
    policy: RestartPolicy,
    metrics: Metrics,
    shutdown: CancellationToken,
}

impl Watch {
    pub fn new(policy: RestartPolicy, metrics: Metrics, shutdown: CancellationToken) -> Self {
        Self {
            tasks: Vec::new(),
            failures: Vec::new(),
            running: HashMap::new(),
            set: JoinSet::new(),
            policy,
            metrics,
            shutdown,
        }
    }

    /// Adds a task and starts it now.
    pub fn start(&mut self, task: Task) {
        self.tasks.push(task);
        self.failures.push(0);
        self.spawn(self.tasks.len() - 1, Duration::ZERO);
    }

    fn spawn(&mut self, idx: usize, delay: Duration) {
        let run = (self.tasks[idx].make)(self.tasks[idx].wake.clone());
        let stop = self.shutdown.clone();
        let handle = self.set.spawn(async move {
            if !delay.is_zero() {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            run.await
        });
        self.running
            .insert(handle.id(), (idx, Instant::now() + delay));
    }

    /// A task ended: unless the node is shutting down, count it and restart it.
    pub fn on_exit(&mut self, res: Result<(Id, ()), JoinError>) {
        let (id, reason) = match res {
            Ok((id, ())) => (id, "ended"),
            Err(e) if e.is_panic() => (e.id(), "panic"),
            Err(e) => (e.id(), "cancelled"),
        };
        let Some((idx, started)) = self.running.remove(&id) else {
            return;
        };
        if self.shutdown.is_cancelled() {
            return;
        }
        // A task that ran longer than the longest backoff was healthy: start counting anew.
        if started.elapsed() > self.policy.max {
            self.failures[idx] = 0;
        }
        self.failures[idx] += 1;
        let delay = self.policy.backoff(self.failures[idx]);
        let t = &self.tasks[idx];
        tracing::error!(
            task = t.task,
            topic = %t.topic,
            reason,
            failures = self.failures[idx],
            restart_in_ms = delay.as_millis() as u64,
            "task died; restarting"
        );
        self.metrics
            .task_restarts
            .with_label_values(&[t.task, &t.topic, reason])
            .inc();
        self.spawn(idx, delay);
    }
}

/// Liveness of the wallet's tx actor as the supervisor last saw it.
pub(super) struct TxWatch {
    tx: Arc<dyn TxPort>,
    address: String,
    down: bool,
    failures: u32,
    up_since: Instant,
    next_restart: Option<Instant>,
}

impl TxWatch {
    pub fn new(tx: Arc<dyn TxPort>, address: String) -> Self {
        Self {
            tx,
            address,
            down: false,
            failures: 0,
            up_since: Instant::now(),
            next_restart: None,
        }
    }

    /// One look at the tx actor: flips readiness and restarts it when due.
    pub fn check(&mut self, policy: &RestartPolicy, metrics: &Metrics, health: &Health) {
        let up_gauge = metrics.tx_actor_up.with_label_values(&[&self.address]);
        if !self.tx.is_stopped() {
            if self.down {
                self.down = false;
                self.up_since = Instant::now();
                self.next_restart = None;
                health.set_ready(true);
                tracing::info!(address = %self.address, "tx actor running again; ready");
            }
            up_gauge.set(1.0);
            return;
        }
        if !self.down {
            self.down = true;
            health.set_ready(false);
            up_gauge.set(0.0);
            if self.up_since.elapsed() > policy.max {
                self.failures = 0;
            }
            tracing::error!(address = %self.address, "tx actor is down; not ready");
        }
        let now = Instant::now();
        match self.next_restart {
            None => {
                self.failures += 1;
                let delay = policy.backoff(self.failures);
                self.next_restart = Some(now + delay);
                tracing::warn!(address = %self.address, failures = self.failures, restart_in_ms = delay.as_millis() as u64, "tx actor restart scheduled");
            }
            Some(at) if now >= at => {
                self.next_restart = None;
                metrics
                    .task_restarts
                    .with_label_values(&["tx_actor", "-", "stopped"])
                    .inc();
                tracing::warn!(address = %self.address, "restarting the tx actor");
                self.tx.restart();
            }
            Some(_) => {}
        }
    }
}
