//! Watching every task: each actor (and the gauges task) runs from a factory, so when its
//! task panics or ends before shutdown it is logged, counted
//! (`allora_task_restarts_total`) and started again after a doubling backoff. Each wallet's
//! tx actor is watched through [`TxPort::is_stopped`]: while any is down `/ready` is false;
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

/// Liveness of one wallet's tx actor as the supervisor last saw it.
struct OneTx {
    tx: Arc<dyn TxPort>,
    address: String,
    down: bool,
    failures: u32,
    up_since: Instant,
    next_restart: Option<Instant>,
}

/// Every wallet's tx actor. The node is ready only while all of them run: a topic whose
/// wallet cannot submit is not served, whatever the other wallets do.
pub(super) struct TxWatch {
    wallets: Vec<OneTx>,
}

impl TxWatch {
    /// One entry per wallet: its tx port and its address (metric label and log field).
    pub fn new(wallets: Vec<(Arc<dyn TxPort>, String)>) -> Self {
        Self {
            wallets: wallets
                .into_iter()
                .map(|(tx, address)| OneTx {
                    tx,
                    address,
                    down: false,
                    failures: 0,
                    up_since: Instant::now(),
                    next_restart: None,
                })
                .collect(),
        }
    }

    /// One look at every tx actor: restarts those that are due, then sets readiness.
    pub fn check(&mut self, policy: &RestartPolicy, metrics: &Metrics, health: &Health) {
        let mut all_up = true;
        for w in &mut self.wallets {
            all_up &= w.check(policy, metrics);
        }
        health.set_ready(all_up);
    }
}

impl OneTx {
    /// Returns whether the actor runs; schedules and performs its restart when it does not.
    fn check(&mut self, policy: &RestartPolicy, metrics: &Metrics) -> bool {
        let up_gauge = metrics.tx_actor_up.with_label_values(&[&self.address]);
        if !self.tx.is_stopped() {
            if self.down {
                self.down = false;
                self.up_since = Instant::now();
                self.next_restart = None;
                tracing::info!(wallet = %self.address, "tx actor running again");
            }
            up_gauge.set(1.0);
            return true;
        }
        if !self.down {
            self.down = true;
            up_gauge.set(0.0);
            if self.up_since.elapsed() > policy.max {
                self.failures = 0;
            }
            tracing::error!(wallet = %self.address, "tx actor is down; not ready");
        }
        let now = Instant::now();
        match self.next_restart {
            None => {
                self.failures += 1;
                let delay = policy.backoff(self.failures);
                self.next_restart = Some(now + delay);
                tracing::warn!(wallet = %self.address, failures = self.failures, restart_in_ms = delay.as_millis() as u64, "tx actor restart scheduled");
            }
            Some(at) if now >= at => {
                self.next_restart = None;
                metrics
                    .task_restarts
                    .with_label_values(&["tx_actor", "-", "stopped"])
                    .inc();
                tracing::warn!(wallet = %self.address, "restarting the tx actor");
                self.tx.restart();
            }
            Some(_) => {}
        }
        false
    }
}
