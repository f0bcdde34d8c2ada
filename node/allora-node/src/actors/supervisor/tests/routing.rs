//! Signal routing through the running supervisor, counted at the fake chain: a window
//! event makes exactly its own actor look at the chain (no other actor queries anything),
//! a burst far larger than any channel capacity loses no window, and block heartbeats
//! answer the actors' height so they stop querying it.

use std::collections::{BTreeMap, BTreeSet};

use futures::channel::mpsc;

use super::*;
use crate::actors::{ChainSignal, WindowSignal};

/// Workers on `topics` that poll only once an hour: after the first look, only signals
/// wake them.
fn plan_topics(state: &std::path::Path, topics: impl Iterator<Item = u64>) -> Plan {
    let dist =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    let workers: Vec<_> = topics
        .map(|t| serde_json::json!({ "topicId": t, "loopSeconds": 3600, "inferenceAdapter": { "wasm": dist.join("trivial.wasm") } }))
        .collect();
    let text = serde_json::json!({
        "wallet": { "addressRestoreMnemonic": "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                    "nodeGrpcs": ["http://127.0.0.1:9"], "maxRetries": 0 },
        "worker": workers,
        "node": { "shutdownTimeoutSecs": 2, "cacheDir": state }
    })
    .to_string();
    crate::config::load_str(&text, "test", &dist).unwrap()
}

struct Routed {
    running: Running,
    events: mpsc::UnboundedSender<ChainSignal>,
}

/// Starts workers on `topics` (all registered, no window open on chain) fed by an event
/// stream the test writes to; returns once every actor made its first look.
async fn start_routed(topics: std::ops::RangeInclusive<u64>) -> Routed {
    let state = tempfile::tempdir().unwrap();
    let plan = plan_topics(state.path(), topics.clone());
    let rig = rig(false);
    // The heartbeats of the height test continue from here (a jump would skew the
    // block-time estimate).
    rig.chain.0.lock().unwrap().height = 100;
    for t in topics.clone() {
        rig.chain
            .0
            .lock()
            .unwrap()
            .registered
            .push((t, Role::Worker));
    }
    let (events, rx) = mpsc::unbounded();
    let wiring = Wiring::single(
        Arc::new(rig.chain.clone()),
        Arc::new(rig.tx.clone()),
        Arc::new(FakeSigner),
        Some(Box::pin(rx)),
    );
    let health = Arc::new(Health::default());
    let (metrics, h, stop) = (
        rig.env.metrics.clone(),
        health.clone(),
        rig.env.shutdown.clone(),
    );
    let loader = Loader(Arc::new(FakeAdapter::new("1")));
    let task = tokio::spawn(async move { run(&plan, wiring, loader, metrics, h, stop).await });
    let r = Routed {
        running: Running {
            rig,
            health,
            task,
            _state: state,
        },
        events,
    };
    let n = topics.count();
    wait_until("every actor made its first look", || {
        r.polls().values().filter(|c| **c >= 1).count() == n
    })
    .await;
    r
}

impl Routed {
    fn polls(&self) -> BTreeMap<u64, u64> {
        self.running
            .rig
            .chain
            .0
            .lock()
            .unwrap()
            .window_queries
            .clone()
    }
    fn height_queries(&self) -> u64 {
        self.running.rig.chain.0.lock().unwrap().height_queries
    }
    fn window(&self, topic_id: u64, nonce: i64) {
        let sig = WindowSignal {
            role: Role::Worker,
            topic_id,
            nonce,
            end_block: Some(nonce + 1_000),
        };
        self.events
            .unbounded_send(ChainSignal::Window(sig))
            .unwrap();
    }
    /// (topic, nonce) of every payload the fake tx actor accepted.
    fn sent(&self) -> BTreeSet<(u64, i64)> {
        let sent = self.running.rig.tx.sent.lock().unwrap();
        sent.iter()
            .filter_map(|(_, m)| Some((m.topic_id, m.nonce?)))
            .collect()
    }
}

#[tokio::test]
async fn a_window_event_wakes_only_its_own_actor() {
    let r = start_routed(1..=50).await;
    let before = r.polls();
    r.window(7, 20);
    wait_until("topic 7's payload is sent", || r.sent().contains(&(7, 20))).await;
    // Give any wrongly woken actor time to show itself.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = r.polls();
    for (t, n) in &after {
        let want = before[t] + u64::from(*t == 7);
        assert_eq!(*n, want, "topic {t}: window queries {} → {n}", before[t]);
    }
    assert_eq!(r.sent(), BTreeSet::from([(7, 20)]));
    r.running.stop().await;
}

#[tokio::test]
async fn a_burst_beyond_any_channel_capacity_loses_no_window() {
    let r = start_routed(1..=3).await;
    // 900 windows at once: more than the old broadcast (256) or the event client's
    // channel (256) could hold for a busy receiver.
    let mut want = BTreeSet::new();
    for nonce in 100..400 {
        for t in 1..=3 {
            r.window(t, nonce);
            want.insert((t, nonce));
        }
    }
    let start = Instant::now();
    while r.sent() != want {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "lost windows: {:?}",
            want.difference(&r.sent()).take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r.running.stop().await;
}

#[tokio::test]
async fn block_heartbeats_answer_the_actors_height() {
    let r = start_routed(1..=20).await;
    // Two heartbeats one second apart measure the block time; the height is then fresh
    // for a second after the second one.
    r.events.unbounded_send(ChainSignal::Block(100)).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.events.unbounded_send(ChainSignal::Block(101)).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let queries = r.height_queries();
    for t in 1..=20 {
        r.window(t, 50);
    }
    wait_until("every topic sent", || r.sent().len() == 20).await;
    assert_eq!(
        r.height_queries(),
        queries,
        "20 actors woke in one block and none asked the chain for the height"
    );
    r.running.stop().await;
}
