//! Composition-root tests: the live adapter port over real components, the tx actor's
//! configuration coming from the Plan only, and the restartable tx-actor slot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::tx::{Spawn, TxSlot, tx_config};
use crate::actors::ports::{AdapterError, CallError, CallErrorKind, TxPort};
use crate::config::plan::default_limits;
use crate::config::{AdapterPlan, HostAllowlist};
use allora_chain_client::keys::Wallet;
use allora_chain_client::{ChainClient, Endpoints, TxActor};
use allora_sandbox::Limits;

const MNEMONIC: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn dist() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    assert!(
        d.join("trivial.wasm").is_file() && d.join("hostile.wasm").is_file(),
        "{} lacks the shipped adapters: run adapters-wasm/build.sh",
        d.display()
    );
    d
}

fn plan(extra_wallet: &str) -> crate::config::Plan {
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9"] {extra_wallet}}},
            "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "trivial.wasm"}}}}]}}"#
    );
    crate::config::load_str(&text, "test", &dist()).unwrap()
}

#[test]
fn tx_config_comes_from_the_plan_only() {
    let p = plan(r#", "gas": 300000, "gasPrices": "0.5", "maxFees": 777, "maxRetries": 2"#);
    let cfg = tx_config(&p.wallet, "c-1".into());
    assert_eq!(cfg.chain_id, "c-1");
    assert_eq!(cfg.fixed_gas, Some(300_000));
    assert!(!cfg.fee.dynamic);
    assert_eq!(cfg.fee.fallback_gas_price, 0.5);
    assert_eq!(cfg.fee.max_fee, 777);
    assert_eq!(cfg.max_retries, 2);
    let p = plan("");
    let cfg = tx_config(&p.wallet, "c-1".into());
    assert_eq!(cfg.fee.max_fee, crate::config::defaults::MAX_FEES_UALLO);
    assert!(cfg.fee.dynamic);
    assert_eq!(
        cfg.fee.fallback_gas_price,
        crate::config::defaults::FALLBACK_GAS_PRICE
    );
    assert_eq!(
        cfg.max_msgs_per_tx,
        crate::config::defaults::MAX_MSGS_PER_TX
    );
}

/// The first tx actor runs on a runtime that is then shut down, so its task dies as after
/// a panic; `restart` spawns a new one and every holder of the slot sees it.
#[tokio::test]
async fn tx_slot_restart_replaces_a_dead_tx_actor_for_every_holder() {
    let p = plan("");
    let wallet = Wallet::from_mnemonic(MNEMONIC).unwrap();
    let client =
        ChainClient::new(Endpoints::new(vec!["http://127.0.0.1:9".into()], vec![])).unwrap();
    let cfg = tx_config(&p.wallet, "c-1".into());
    let doomed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let doomed_handle = doomed.handle().clone();
    let spawned = Arc::new(AtomicU32::new(0));
    let n = spawned.clone();
    let spawn: Spawn = Arc::new(move || {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            let _enter = doomed_handle.enter();
            TxActor::spawn(client.clone(), wallet.clone(), cfg.clone())
        } else {
            TxActor::spawn(client.clone(), wallet.clone(), cfg.clone())
        }
    });
    let slot: Arc<dyn TxPort> = Arc::new(TxSlot::new(spawn));
    // What every topic actor holds: the slot, never a handle.
    let held_by_actor = slot.clone();
    let doomed = Mutex::new(Some(doomed));
    if let Some(rt) = doomed.lock().unwrap().take() {
        rt.shutdown_background();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !held_by_actor.is_stopped() {
        assert!(std::time::Instant::now() < deadline, "tx actor never died");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    slot.restart();
    assert_eq!(spawned.load(Ordering::SeqCst), 2);
    assert!(!held_by_actor.is_stopped(), "the holder sees the new actor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_adapter_port_calls_a_real_component() {
    use crate::actors::ports::{AdapterPort, Call};
    let d = dist();
    let rt = allora_sandbox::AdapterRuntime::new(allora_sandbox::RuntimeConfig::default()).unwrap();
    let plan = AdapterPlan {
        name: "trivial".into(),
        wasm: d.join("trivial.wasm"),
        allowed_hosts: HostAllowlist::default(),
        limits: Limits {
            timeout: Duration::from_secs(5),
            max_http_requests: 1,
            max_response_bytes: 1024,
            ..default_limits()
        },
        params: BTreeMap::new(),
        mounts: Vec::new(),
        warm: None,
    };
    let a = super::adapter::load(&rt, &plan, vec![allora_sandbox::Role::Inference])
        .await
        .unwrap();
    let call = Call {
        topic_id: 1,
        nonce: 2,
        params: BTreeMap::new(),
        deadline: None,
    };
    let v = a.infer(&call).await.unwrap();
    assert_eq!(v, vec![("y".to_string(), "42.5".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_adapter_port_cuts_off_a_spinning_guest_with_a_typed_timeout() {
    use crate::actors::ports::{AdapterPort, Call};
    let d = dist();
    let rt = allora_sandbox::AdapterRuntime::new(allora_sandbox::RuntimeConfig::default()).unwrap();
    let plan = AdapterPlan {
        name: "hostile".into(),
        wasm: d.join("hostile.wasm"),
        allowed_hosts: HostAllowlist::default(),
        limits: Limits {
            timeout: Duration::from_secs(1),
            max_http_requests: 1,
            max_response_bytes: 1024,
            ..default_limits()
        },
        params: BTreeMap::new(),
        mounts: Vec::new(),
        warm: None,
    };
    let a = super::adapter::load(&rt, &plan, vec![allora_sandbox::Role::Inference])
        .await
        .unwrap();
    let call = Call {
        topic_id: 1,
        nonce: 2,
        params: BTreeMap::from([("mode".to_string(), "loop".to_string())]),
        deadline: None,
    };
    let e = a.infer(&call).await.unwrap_err();
    assert!(
        matches!(
            &e,
            AdapterError::Call(CallError {
                kind: CallErrorKind::Timeout(_),
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(e.label(), "timeout");
}

/// Calls run on the node's own executor (no blocking thread each): on a one-thread runtime a
/// spinning guest yields, so another topic's call through the port still answers in time,
/// and the spinner is still stopped at its timeout.
#[tokio::test(flavor = "current_thread")]
async fn a_spinning_guest_does_not_stall_another_topic_on_one_thread() {
    use crate::actors::ports::{AdapterPort, Call};
    let d = dist();
    let rt = allora_sandbox::AdapterRuntime::new(allora_sandbox::RuntimeConfig::default()).unwrap();
    let plan = |file: &str, timeout: Duration| AdapterPlan {
        name: file.trim_end_matches(".wasm").into(),
        wasm: d.join(file),
        allowed_hosts: HostAllowlist::default(),
        limits: Limits {
            timeout,
            ..default_limits()
        },
        params: BTreeMap::new(),
        mounts: Vec::new(),
        warm: None,
    };
    let role = || vec![allora_sandbox::Role::Inference];
    let spinner = super::adapter::load(
        &rt,
        &plan("hostile.wasm", Duration::from_millis(1500)),
        role(),
    )
    .await
    .unwrap();
    let other = super::adapter::load(&rt, &plan("trivial.wasm", Duration::from_secs(5)), role())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let spinning = tokio::spawn(async move {
        let call = Call {
            topic_id: 1,
            nonce: 2,
            params: BTreeMap::from([("mode".to_string(), "loop".to_string())]),
            deadline: None,
        };
        spinner.infer(&call).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let call = Call {
        topic_id: 2,
        nonce: 2,
        params: BTreeMap::new(),
        deadline: Some(std::time::Instant::now() + Duration::from_millis(500)),
    };
    let v = other.infer(&call).await.unwrap();
    assert_eq!(v, vec![("y".to_string(), "42.5".to_string())]);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(!spinning.is_finished());
    let e = spinning.await.unwrap().unwrap_err();
    assert_eq!(e.label(), "timeout", "{e:?}");
}
