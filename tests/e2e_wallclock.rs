//! End to end: wall-clock epochs. A devnet topic in seconds mode (10 s epochs, 5 s worker
//! window, 10 s ground-truth lag) with 0.5 s blocks: counting the topic's numbers as blocks
//! would put the worker window end at 2.5 s and the reputer window at 5–10 s after the
//! nonce, while the chain accepts workers for 5 s and reputers from 10 s to 20 s. The real
//! `allora-node` binary, which takes window ends only from the chain (`GetEpoch`, window
//! status, events), must land worker and reputer payloads inside their windows for 3
//! consecutive epochs.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use allora_devnet::{Devnet, DevnetConfig, Genesis, GenesisAccount, TEST_MNEMONICS};
use harness::*;
use serde_json::json;

const EPOCH_S: i64 = 10;
const WINDOW_S: i64 = 5;
const LAG_S: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seconds_mode_topic_gets_worker_and_reputer_payloads_for_three_epochs() {
    let mut t = topic(1, EPOCH_S, WINDOW_S);
    t.ground_truth_lag = LAG_S;
    t.wall_clock = true;
    let mut genesis = Genesis::default_devnet();
    genesis.topics = vec![t];
    genesis.accounts = vec![GenesisAccount {
        mnemonic: Some(TEST_MNEMONICS[0].to_string()),
        address: None,
        balance: 1_000_000_000_000_000,
    }];
    let dn = Devnet::start(DevnetConfig {
        block_time: Duration::from_millis(500),
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts");
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(0);
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "worker": [{
            "topicId": 1, "loopSeconds": 1,
            "parameters": { "Token": "ETH",
                "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
            "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000)
        }],
        "reputer": [{
            "topicId": 1, "loopSeconds": 1, "minStake": 20000, "lossMethod": "sqe",
            "groundTruthParameters": { "Token": "ETH",
                "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}") },
            "groundTruthAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000)
        }]
    });
    let node = NodeProc::start(&config, None);

    let covered = |dn: &allora_devnet::DevnetHandle| -> Vec<i64> {
        dn.epochs(1)
            .into_iter()
            .map(|e| e.0)
            .filter(|n| {
                dn.worker_payloads(1, *n).iter().any(|b| b.worker == me)
                    && dn
                        .reputer_payloads(1, *n)
                        .iter()
                        .any(|b| b.value_bundle.as_ref().is_some_and(|v| v.reputer == me))
            })
            .collect()
    };
    let epochs = wait_for(
        "3 consecutive seconds-mode epochs with worker and reputer payloads",
        Duration::from_secs(150),
        || {
            let all: Vec<i64> = dn.epochs(1).into_iter().map(|e| e.0).collect();
            let got = covered(&dn);
            let run = all
                .windows(3)
                .find(|w| w.iter().all(|n| got.contains(n)))
                .map(<[i64]>::to_vec);
            async move { run }
        },
    )
    .await;

    // The epochs really are apart by time, not by `epoch_length` blocks: at 0.5 s blocks
    // consecutive nonces are ~20 heights apart.
    let bounds: BTreeMap<i64, (i64, i64, i64, i64)> = dn
        .epochs(1)
        .into_iter()
        .map(|(n, s, we, rs, re)| (n, (s, we, rs, re)))
        .collect();
    for pair in epochs.windows(2) {
        assert!(
            pair[1] - pair[0] > EPOCH_S + 5,
            "nonces {pair:?} are not a wall-clock epoch apart"
        );
        let (s0, ..) = bounds[&pair[0]];
        let (s1, ..) = bounds[&pair[1]];
        assert_eq!(s1 - s0, EPOCH_S, "epochs start {EPOCH_S} s apart");
    }
    // Every reputer payload landed after its worker window plus the lag — beyond where block
    // arithmetic (nonce + 2·epoch_length blocks = 10 s) would have closed it for some.
    let log = node.log_text();
    assert!(
        !log.contains("reputer window closed; skipping nonce"),
        "the node gave up a reputer window the chain still had open"
    );
    let text = node.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "allora_tx_errors_total",
            &[("kind", "window_closed")]
        ),
        0.0,
        "no payload was refused as outside its window"
    );
    dn.shutdown().await;
}
