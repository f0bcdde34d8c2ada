//! Actor policy tests over in-memory ports.

use std::sync::Arc;
use std::time::Duration;

use super::fakes::*;
use super::pending::Pending;
use super::ports::{OpenWindow, Role, TxErrorKind, TxFailure};
use super::registration::{Registered, ensure_registered, top_up_stake};
use super::reputer::{LossSource, ReputerActor};
use super::worker::WorkerActor;
use allora_protocol::loss::LossMethod;
use allora_protocol::proto::emissions::v10;

fn worker(r: &Rig, adapter: FakeAdapter) -> WorkerActor {
    WorkerActor {
        env: r.env.clone(),
        topic_id: 1,
        interval: Duration::from_millis(20),
        inference: Arc::new(adapter),
        inference_params: params(),
        forecast: None,
        forecast_params: params(),
    }
}

fn lv(v: &str) -> Vec<v10::LabeledValue> {
    vec![v10::LabeledValue {
        label_id: 0,
        label_name: "y".into(),
        value: v.into(),
    }]
}

fn reputer(r: &Rig, min_stake: u128) -> ReputerActor {
    ReputerActor {
        env: r.env.clone(),
        topic_id: 2,
        interval: Duration::from_millis(20),
        min_stake,
        ground_truth: Arc::new(FakeAdapter::new("110")),
        ground_truth_params: params(),
        loss: LossSource::Builtin(LossMethod::parse("sqe").unwrap()),
    }
}

fn sent(r: &Rig) -> Vec<String> {
    r.tx.sent
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.0.clone())
        .collect()
}

#[tokio::test]
async fn registration_waits_for_funds_then_registers_once() {
    let r = rig(false);
    r.chain.0.lock().unwrap().balance = 50;
    let env = r.env.clone();
    let task = tokio::spawn(async move {
        ensure_registered(&env, 1, Role::Worker, Duration::from_millis(10)).await
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(sent(&r).is_empty(), "must not register below the fee");
    r.chain.0.lock().unwrap().balance = 500;
    let res = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res, Registered::Yes);
    assert_eq!(sent(&r), ["register worker 1"]);
    // Idempotent: already registered → nothing sent.
    assert_eq!(
        ensure_registered(&r.env, 1, Role::Worker, Duration::from_millis(10)).await,
        Registered::Yes
    );
    assert_eq!(sent(&r).len(), 1);
}

#[tokio::test]
async fn stake_tops_up_exactly_the_difference() {
    let r = rig(false);
    r.chain.0.lock().unwrap().stake = 30;
    assert!(top_up_stake(&r.env, 2, 100).await);
    assert_eq!(sent(&r), ["stake 70"]);
    assert!(top_up_stake(&r.env, 2, 100).await);
    assert_eq!(sent(&r).len(), 1, "no second top-up when stake suffices");
}

#[tokio::test]
async fn add_stake_with_lost_confirmation_is_never_sent_twice() {
    use super::registration::STAKE_TX_BLOCKS;
    let r = rig(false);
    r.chain.0.lock().unwrap().stake = 30;
    let lost = || TxFailure::new(TxErrorKind::Timeout, None, "not confirmed in time");
    r.tx.fail.lock().unwrap().push(lost());
    assert!(!top_up_stake(&r.env, 2, 100).await);
    assert!(
        r.env.ledger.intent("add_stake/2").is_some(),
        "intent recorded"
    );
    // Its fate is unknown and its deadline not passed: nothing more is sent.
    assert!(!top_up_stake(&r.env, 2, 100).await);
    assert!(sent(&r).is_empty(), "{:?}", sent(&r));
    // The lost tx landed after all: the stake is read back, nothing is sent, intent cleared.
    r.chain.0.lock().unwrap().stake = 100;
    assert!(top_up_stake(&r.env, 2, 100).await);
    assert!(sent(&r).is_empty());
    assert!(r.env.ledger.intent("add_stake/2").is_none());

    // Second case: the lost tx never lands; only after its deadline is the difference resent.
    let r = rig(false);
    r.chain.0.lock().unwrap().stake = 30;
    r.tx.fail.lock().unwrap().push(lost());
    assert!(!top_up_stake(&r.env, 2, 100).await);
    r.chain.0.lock().unwrap().height = 10 + STAKE_TX_BLOCKS;
    assert!(
        !top_up_stake(&r.env, 2, 100).await,
        "deadline not passed yet"
    );
    assert!(sent(&r).is_empty());
    r.chain.0.lock().unwrap().height = 10 + STAKE_TX_BLOCKS + 1;
    assert!(top_up_stake(&r.env, 2, 100).await);
    assert_eq!(sent(&r), ["stake 70"]);
    assert_eq!(
        r.chain.0.lock().unwrap().stake,
        100,
        "stake equals minStake exactly"
    );
    assert!(r.env.ledger.intent("add_stake/2").is_none());
}

#[tokio::test]
async fn worker_submits_once_per_open_nonce_and_skips_closed_windows() {
    let r = rig(false);
    {
        let mut c = r.chain.0.lock().unwrap();
        c.registered.push((1, Role::Worker));
        c.height = 20;
        c.worker_windows = vec![
            OpenWindow {
                nonce: 18,
                end_block: Some(30),
                end_time: None,
            },
            OpenWindow {
                nonce: 10,
                end_block: Some(20),
                end_time: None,
            },
        ];
    }
    let w = worker(&r, FakeAdapter::new("3000.5"));
    let mut seen = Pending::new();
    w.poll(&[], &mut seen).await;
    w.poll(&[], &mut seen).await;
    let s = sent(&r);
    assert_eq!(s.len(), 1, "{s:?}");
    assert!(s[0].contains("nonce=18") && s[0].contains("3000.5"));
    let text = r.env.metrics.render();
    assert!(text.contains("outcome=\"skipped_closed\""));
    assert!(
        text.contains("allora_worker_chain_submission_count{address=\"allo1me\",topic=\"1\"} 1")
    );
}

#[tokio::test]
async fn worker_failed_nonce_stays_open_and_is_retried_after_backoff() {
    let r = rig(false);
    {
        let mut c = r.chain.0.lock().unwrap();
        c.worker_windows = vec![OpenWindow {
            nonce: 10,
            end_block: None,
            end_time: None,
        }];
    }
    r.tx.fail.lock().unwrap().extend([
        TxFailure::new(TxErrorKind::Sequence, Some(32), "mismatch"),
        TxFailure::new(TxErrorKind::Transport, None, "down"),
    ]);
    let w = worker(&r, FakeAdapter::new("1"));
    let mut pending = Pending::new();
    w.poll(&[], &mut pending).await;
    assert!(sent(&r).is_empty());
    let text = r.env.metrics.render();
    assert!(text.contains(
        "allora_tx_errors_total{code=\"32\",kind=\"sequence\",msg=\"worker_payload\",wallet=\"allo1me\"} 1"
    ));
    assert!(text.contains(
        "allora_tx_errors_total{code=\"none\",kind=\"transport\",msg=\"worker_payload\",wallet=\"allo1me\"} 1"
    ));
    assert!(text.contains("outcome=\"failed\""));
    // The failed nonce is not settled: it stays open, backing off.
    assert!(!r.env.ledger.contains(Role::Worker, 1, 10));
    assert_eq!(pending.failures(10), 1);
    // A trigger inside the backoff does not retry it yet.
    w.poll(&[], &mut pending).await;
    assert!(sent(&r).is_empty(), "retried inside its backoff");
    // After the backoff, the next trigger retries and settles it.
    tokio::time::sleep(super::pending::backoff(r.env.retry.retry_delay, 1)).await;
    w.poll(&[], &mut pending).await;
    let s = sent(&r);
    assert_eq!(s.len(), 1, "{s:?}");
    assert!(s[0].contains("nonce=10"));
    assert!(r.env.ledger.contains(Role::Worker, 1, 10));
    assert!(pending.is_empty());
    // Settled: later triggers send nothing more.
    w.poll(&[], &mut pending).await;
    assert_eq!(sent(&r).len(), 1);
}

#[tokio::test]
async fn worker_shutdown_during_adapter_call_leaves_nonce_open() {
    let r = rig(false);
    r.chain.0.lock().unwrap().worker_windows = vec![OpenWindow {
        nonce: 10,
        end_block: None,
        end_time: None,
    }];
    let mut a = FakeAdapter::new("1");
    a.hang = true;
    let w = worker(&r, a);
    let mut pending = Pending::new();
    let stop = r.env.shutdown.clone();
    let cancel = async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.cancel();
    };
    let started = std::time::Instant::now();
    tokio::join!(w.poll(&[], &mut pending), cancel);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(sent(&r).is_empty());
    assert!(
        !r.env.ledger.contains(Role::Worker, 1, 10),
        "an interrupted nonce must stay open for the next run"
    );
}

#[tokio::test]
async fn out_of_bounds_value_is_never_signed_and_nonce_stays_open() {
    let r = rig(false);
    r.chain.0.lock().unwrap().worker_windows = vec![OpenWindow {
        nonce: 10,
        end_block: None,
        end_time: None,
    }];
    let w = worker(&r, FakeAdapter::new("1E+999"));
    w.poll(&[], &mut Pending::new()).await;
    assert!(sent(&r).is_empty(), "an out-of-bounds value was sent");
    assert!(!r.env.ledger.contains(Role::Worker, 1, 10));
    assert!(
        !r.env
            .metrics
            .render()
            .contains("allora_worker_data_build_count{address=\"allo1me\",topic=\"1\"}"),
        "no bundle may be built from an out-of-bounds value"
    );
}

#[tokio::test]
async fn hanging_adapter_is_cut_off_and_counted() {
    let r = rig(false);
    r.chain.0.lock().unwrap().worker_windows = vec![OpenWindow {
        nonce: 10,
        end_block: None,
        end_time: None,
    }];
    let mut a = FakeAdapter::new("1");
    a.hang = true;
    let w = worker(&r, a);
    let started = std::time::Instant::now();
    w.poll(&[], &mut Pending::new()).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(sent(&r).is_empty());
    assert!(r.env.metrics.render().contains(
        "allora_adapter_failures_total{kind=\"timeout\",role=\"inference\",topic=\"1\"} 2"
    ));
}

#[tokio::test]
async fn dry_run_broadcasts_nothing() {
    let r = rig(true);
    r.chain.0.lock().unwrap().worker_windows = vec![OpenWindow {
        nonce: 10,
        end_block: None,
        end_time: None,
    }];
    assert_eq!(
        ensure_registered(&r.env, 1, Role::Worker, Duration::from_millis(10)).await,
        Registered::DryRun
    );
    assert!(top_up_stake(&r.env, 1, 100).await);
    worker(&r, FakeAdapter::new("1"))
        .poll(&[], &mut Pending::new())
        .await;
    assert!(sent(&r).is_empty());
    let text = r.env.metrics.render();
    assert!(text.contains("outcome=\"dry_run\""));
    assert!(text.contains("allora_worker_data_build_count{address=\"allo1me\",topic=\"1\"} 1"));
}

fn network() -> allora_protocol::emissions::NetworkValues {
    allora_protocol::emissions::from_v10(&v10::NetworkInferenceBundle {
        topic_id: 2,
        combined_value: lv("100"),
        naive_value: lv("90"),
        inferer_values: vec![v10::WorkerInference {
            worker: "allo1i".into(),
            values: lv("105"),
        }],
        ..Default::default()
    })
}

#[tokio::test]
async fn reputer_takes_oldest_nonce_and_marks_done_only_after_inclusion() {
    let r = rig(false);
    {
        let mut c = r.chain.0.lock().unwrap();
        c.height = 50;
        c.reputer_windows = vec![
            OpenWindow {
                nonce: 40,
                end_block: Some(60),
                end_time: None,
            },
            OpenWindow {
                nonce: 30,
                end_block: Some(60),
                end_time: None,
            },
        ];
        c.network = Some(network());
    }
    r.tx.fail
        .lock()
        .unwrap()
        .extend((0..2).map(|_| TxFailure::new(TxErrorKind::Transport, None, "down")));
    let rep = reputer(&r, 0);
    let mut seen = Pending::new();
    rep.poll(&[], &mut seen).await;
    assert!(sent(&r).is_empty(), "both attempts failed");
    assert!(!r.env.ledger.contains(Role::Reputer, 2, 30));
    rep.poll(&[], &mut seen).await;
    assert!(sent(&r).is_empty(), "retried inside its backoff");
    tokio::time::sleep(super::pending::backoff(r.env.retry.retry_delay, 1)).await;
    rep.poll(&[], &mut seen).await;
    let s = sent(&r);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s[0].contains("nonce=30"), "oldest first: {s:?}");
    assert!(s[1].contains("nonce=40"));
    // sqe(110, 100) = 100 → log10 = 2
    assert!(s[0].contains("combined=2e0"), "{s:?}");
    assert!(r.env.ledger.contains(Role::Reputer, 2, 30));
    let text = r.env.metrics.render();
    assert!(text.contains("allora_reputer_truth_request_count{address=\"allo1me\",topic=\"2\"} 4"));
}

#[tokio::test]
async fn reputer_already_submitted_counts_as_done() {
    let r = rig(false);
    {
        let mut c = r.chain.0.lock().unwrap();
        c.reputer_windows = vec![OpenWindow {
            nonce: 30,
            end_block: None,
            end_time: None,
        }];
        c.network = Some(network());
    }
    r.tx.fail.lock().unwrap().push(TxFailure::new(
        TxErrorKind::AlreadySubmitted,
        Some(64),
        "reputer loss already submitted",
    ));
    let rep = reputer(&r, 0);
    rep.poll(&[], &mut Pending::new()).await;
    assert!(r.env.ledger.contains(Role::Reputer, 2, 30));
    rep.poll(&[], &mut Pending::new()).await;
    assert!(sent(&r).is_empty());
}

#[tokio::test]
async fn actor_run_stops_promptly_on_shutdown() {
    let r = rig(false);
    r.chain.0.lock().unwrap().registered.push((1, Role::Worker));
    let w = worker(&r, FakeAdapter::new("1"));
    let task = tokio::spawn(w.run(super::wakeup::Wakeups::new()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    r.env.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
}

fn dist() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    assert!(
        d.join("trivial.wasm").is_file() && d.join("hostile.wasm").is_file(),
        "{} lacks the shipped adapters: run adapters-wasm/build.sh",
        d.display()
    );
    d
}

/// Real wasm adapters under the real supervisor: a hung adapter on topic 1 neither blocks
/// topic 2 nor the bounded shutdown, and a missing .wasm disables only its own topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_isolates_topics_with_real_adapters() {
    let d = dist();
    // The submission ledger persists under cacheDir: keep it out of $HOME.
    let state = tempfile::tempdir().unwrap();
    let text = serde_json::json!({
        "wallet": { "addressRestoreMnemonic": "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                    "nodeGrpcs": ["http://127.0.0.1:9"], "maxRetries": 0 },
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "inferenceAdapter": { "wasm": d.join("hostile.wasm"), "timeoutMs": 8000, "params": { "mode": "loop" } } },
            { "topicId": 2, "loopSeconds": 1, "inferenceAdapter": { "wasm": d.join("trivial.wasm") } },
            { "topicId": 3, "loopSeconds": 1, "inferenceAdapter": { "wasm": d.join("trivial.wasm") } }
        ],
        "node": { "shutdownTimeoutSecs": 3, "cacheDir": state.path() }
    })
    .to_string();
    let plan = crate::config::load_str(&text, "test", &d).unwrap();
    // Topic 3's adapter disappears after validation: only topic 3 is disabled.
    let mut plan = plan;
    plan.workers[2].inference.wasm = d.join("missing.wasm");
    let r = rig(false);
    {
        let mut c = r.chain.0.lock().unwrap();
        c.registered
            .extend([(1, Role::Worker), (2, Role::Worker), (3, Role::Worker)]);
        c.worker_windows = vec![OpenWindow {
            nonce: 10,
            end_block: None,
            end_time: None,
        }];
    }
    let wiring = super::supervisor::Wiring::single(
        Arc::new(r.chain.clone()),
        Arc::new(r.tx.clone()),
        Arc::new(FakeSigner),
        None,
    );
    let rt = allora_sandbox::AdapterRuntime::new(allora_sandbox::RuntimeConfig::default()).unwrap();
    let metrics = r.env.metrics.clone();
    let health = Arc::new(crate::metrics::Health::default());
    let stop = r.env.shutdown.clone();
    let h2 = health.clone();
    let task =
        tokio::spawn(
            async move { super::supervisor::run(&plan, wiring, rt, metrics, h2, stop).await },
        );
    let start = std::time::Instant::now();
    loop {
        let s = sent(&r);
        if s.iter()
            .any(|x| x.contains("topic=2") && x.contains("42.5"))
        {
            eprintln!("topic 2 submitted after {:?}", start.elapsed());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "topic 2 was delayed: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(health.is_ready());
    assert!(
        !sent(&r)
            .iter()
            .any(|x| x.contains("topic=1") || x.contains("topic=3"))
    );
    let text = r.env.metrics.render();
    assert!(
        text.contains(
            "allora_adapter_failures_total{kind=\"load\",role=\"inference\",topic=\"3\"} 1"
        ),
        "{text}"
    );
    r.env.shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(6), task).await;
    assert!(stopped.is_ok(), "shutdown exceeded its bound");
    assert!(stopped.unwrap().unwrap().is_ok());
}
