//! Supervision tests over in-memory ports: a panicking actor is restarted (and counted), a
//! dead tx actor makes `/ready` false until it is replaced; window events wake only their
//! own actor and block heartbeats spare the actors their height queries ([`routing`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Wiring, run};
use crate::actors::fakes::*;
use crate::actors::ports::{AdapterLoader, AdapterPort, OpenWindow, Role};
use crate::config::{AdapterPlan, Plan, RestartPolicy};
use crate::metrics::Health;

/// Hands out one prepared adapter for every load.
struct Loader(Arc<FakeAdapter>);

#[async_trait]
impl AdapterLoader for Loader {
    async fn load(
        &self,
        _: &AdapterPlan,
        _: allora_sandbox::Role,
    ) -> Result<Arc<dyn AdapterPort>, allora_sandbox::LoadError> {
        Ok(self.0.clone())
    }
}

fn plan(state: &std::path::Path) -> Plan {
    let dist =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    let text = serde_json::json!({
        "wallet": { "addressRestoreMnemonic": "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                    "nodeGrpcs": ["http://127.0.0.1:9"], "maxRetries": 0 },
        "worker": [ { "topicId": 1, "loopSeconds": 1, "inferenceAdapter": { "wasm": dist.join("trivial.wasm") } } ],
        "node": { "shutdownTimeoutSecs": 2, "cacheDir": state }
    })
    .to_string();
    let mut plan = crate::config::load_str(&text, "test", &dist).unwrap();
    plan.node.restart = RestartPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
        watch: Duration::from_millis(20),
    };
    plan
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Running {
    rig: Rig,
    health: Arc<Health>,
    task: tokio::task::JoinHandle<Result<(), super::SupervisorError>>,
    _state: tempfile::TempDir,
}

fn start(adapter: FakeAdapter) -> Running {
    let state = tempfile::tempdir().unwrap();
    let plan = plan(state.path());
    let rig = rig(false);
    {
        let mut c = rig.chain.0.lock().unwrap();
        c.registered.push((1, Role::Worker));
        c.worker_windows = vec![OpenWindow {
            nonce: 10,
            end_block: None,
            end_time: None,
        }];
    }
    let wiring = Wiring::single(
        Arc::new(rig.chain.clone()),
        Arc::new(rig.tx.clone()),
        Arc::new(FakeSigner),
        None,
    );
    let health = Arc::new(Health::default());
    let (metrics, h, stop) = (
        rig.env.metrics.clone(),
        health.clone(),
        rig.env.shutdown.clone(),
    );
    let loader = Loader(Arc::new(adapter));
    let task = tokio::spawn(async move { run(&plan, wiring, loader, metrics, h, stop).await });
    Running {
        rig,
        health,
        task,
        _state: state,
    }
}

impl Running {
    async fn stop(self) {
        self.rig.env.shutdown.cancel();
        let done = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        assert!(
            matches!(done, Ok(Ok(Ok(())))),
            "supervisor did not stop cleanly"
        );
    }
}

#[tokio::test]
async fn a_panicking_actor_is_restarted_and_counted() {
    let adapter = FakeAdapter::new("7.5");
    adapter.panic_once.store(true, Ordering::SeqCst);
    let r = start(adapter);
    // The first run panics inside the adapter call; only a restarted actor can submit.
    wait_until("the restarted worker submits", || {
        r.rig
            .tx
            .sent
            .lock()
            .unwrap()
            .iter()
            .any(|(d, _)| d.contains("nonce=10") && d.contains("7.5"))
    })
    .await;
    let text = r.rig.env.metrics.render();
    assert!(
        text.contains("allora_task_restarts_total{reason=\"panic\",task=\"worker\",topic=\"1\"} 1"),
        "{text}"
    );
    assert!(r.health.is_ready());
    r.stop().await;
}

#[tokio::test]
async fn ready_is_false_while_the_tx_actor_is_down_and_true_after_its_restart() {
    let r = start(FakeAdapter::new("1"));
    wait_until("ready", || r.health.is_ready()).await;
    r.rig.tx.stopped.store(true, Ordering::SeqCst);
    wait_until("not ready while the tx actor is down", || {
        !r.health.is_ready()
    })
    .await;
    wait_until("ready again after the restart", || r.health.is_ready()).await;
    assert_eq!(r.rig.tx.restarts.load(Ordering::SeqCst), 1);
    let text = r.rig.env.metrics.render();
    assert!(
        text.contains(
            "allora_task_restarts_total{reason=\"stopped\",task=\"tx_actor\",topic=\"-\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("allora_tx_actor_up{address=\"allo1me\"} 1"),
        "{text}"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_task_that_ends_before_shutdown_is_restarted_with_backoff() {
    use super::watch::{Task, Watch};
    use futures::FutureExt;
    let metrics = crate::metrics::Metrics::new().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let policy = RestartPolicy {
        initial: Duration::from_millis(10),
        max: Duration::from_secs(60),
        watch: Duration::from_millis(10),
    };
    let mut watch = Watch::new(policy, metrics.clone(), stop.clone());
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = runs.clone();
    watch.start(Task {
        task: "worker",
        topic: "9".into(),
        wake: crate::actors::wakeup::Wakeups::new(),
        make: Arc::new(move |_| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            .boxed()
        }),
    });
    let start = Instant::now();
    while runs.load(Ordering::SeqCst) < 3 {
        let res = tokio::time::timeout(Duration::from_secs(5), watch.set.join_next_with_id())
            .await
            .expect("a run ends")
            .expect("a task is running");
        watch.on_exit(res);
    }
    // Backoff 10 ms, then 20 ms: the third run cannot start before 30 ms.
    assert!(start.elapsed() >= Duration::from_millis(30));
    let text = metrics.render();
    assert!(
        text.contains("allora_task_restarts_total{reason=\"ended\",task=\"worker\",topic=\"9\"}"),
        "{text}"
    );
    // After shutdown an ending task is not restarted.
    stop.cancel();
    while let Some(res) = watch.set.join_next_with_id().await {
        watch.on_exit(res);
    }
    assert!(watch.set.is_empty());
}

mod routing;
