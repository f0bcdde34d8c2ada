//! Every key source, end to end: the real `allora-node run` against the in-process devnet with
//! the signing key taken from (1) the keystore, created by `keys add` or `keys restore`, (2) a
//! mnemonic file (`wallet.mnemonicFile`, the form the Docker and Kubernetes deployments use),
//! (3) the environment (`ALLORA_OFFCHAIN_NODE_MNEMONIC`). Each asserts that the devnet included
//! a worker and a reputer payload signed by exactly that key — and that no other key signed.

#[path = "support/node_harness.rs"]
mod harness;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use allora_devnet::{Devnet, DevnetConfig, DevnetHandle, Genesis, GenesisAccount, TEST_MNEMONICS};
use harness::*;
use serde_json::json;

const EPOCH: i64 = 6;
const WINDOW: i64 = 3;
const BIN: &str = env!("CARGO_BIN_EXE_allora-node");

/// A devnet with one topic where the given mnemonics and addresses are funded.
async fn funded_devnet(mnemonics: &[&str], addresses: &[&str]) -> DevnetHandle {
    let mut genesis = Genesis::default_devnet();
    genesis.topics = vec![topic(1, EPOCH, WINDOW)];
    genesis.accounts = mnemonics
        .iter()
        .map(|m| GenesisAccount {
            mnemonic: Some((*m).to_string()),
            address: None,
            balance: 1_000_000_000_000_000,
        })
        .chain(addresses.iter().map(|a| GenesisAccount {
            mnemonic: None,
            address: Some((*a).to_string()),
            balance: 1_000_000_000_000_000,
        }))
        .collect();
    Devnet::start(DevnetConfig {
        block_time: BLOCK_TIME,
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

/// A worker and a reputer on topic 1 with `wallet` as the wallet section (endpoints filled in).
fn config(dn: &DevnetHandle, src: &Source, mut wallet: serde_json::Value) -> serde_json::Value {
    let host = src.addr.to_string();
    let w = wallet.as_object_mut().expect("wallet object");
    w.insert("nodeRpc".into(), json!(dn.rpc_url()));
    w.insert("nodeGrpcs".into(), json!([dn.grpc_url()]));
    w.insert("chainId".into(), json!(dn.chain_id()));
    w.insert("submitTx".into(), json!(true));
    w.insert("maxRetries".into(), json!(2));
    w.insert("retryDelay".into(), json!(1));
    w.insert("accountSequenceRetryDelay".into(), json!(1));
    json!({
        "wallet": wallet,
        "worker": [
            { "topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/{{Token}}"), "Token": "ETH" } }
        ],
        "reputer": [
            { "topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
              "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 1, "minStake": 20000,
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"), "Token": "ETH" },
              "lossFunctionParameters": { "LossMethodOptions": { "loss_method": "sqe" } } }
        ]
    })
}

/// Waits until the devnet holds a worker and a reputer payload from `addr` on topic 1, then
/// checks that nobody else submitted (the key came from the source under test, not another).
async fn assert_payloads_included_from(dn: &DevnetHandle, node: &NodeProc, addr: &str) {
    let waited = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let h = dn.height();
            let w = worker_nonces_with_payload(dn, 1, addr, h, EPOCH);
            let r = reputer_nonces_with_payload(dn, 1, addr, h, EPOCH);
            if !w.is_empty() && !r.is_empty() {
                return (w, r);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    let (w, r) = waited.unwrap_or_else(|_| {
        panic!(
            "no worker+reputer payload from {addr} within 120 s (height {}); node log:\n{}",
            dn.height(),
            tail(&node.log_text(), 60)
        )
    });
    let h = dn.height();
    for n in (1..=h / EPOCH).map(|k| k * EPOCH) {
        for b in dn.worker_payloads(1, n) {
            assert_eq!(
                b.worker, addr,
                "worker payload for nonce {n} from another key"
            );
        }
    }
    assert!(dn.is_worker_registered(1, addr) && dn.is_reputer_registered(1, addr));
    eprintln!("{addr}: worker nonces {w:?}, reputer nonces {r:?}");
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `allora-node keys <args…> --home <home>` with `stdin` piped in; returns stdout.
fn keys(home: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("keys")
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("ALLORA_NODE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run allora-node keys");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("keys output");
    assert!(
        out.status.success(),
        "keys {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn address_line(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("address:"))
        .map(|a| a.trim().to_string())
        .unwrap_or_else(|| panic!("no address in keys output:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_signs_with_a_key_created_by_keys_add() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = keys(home.path(), &["add", "fresh"], "");
    let addr = address_line(&out);
    // The new address exists on the devnet only because genesis funds it.
    let dn = funded_devnet(&[], &[&addr]).await;
    let src = source().await;
    let wallet = json!({ "addressKeyName": "fresh", "addressRestoreMnemonic": "",
                         "alloraHomeDir": home.path() });
    let node = NodeProc::start(&config(&dn, &src, wallet), None);
    assert_payloads_included_from(&dn, &node, &addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_signs_with_a_key_restored_into_the_keystore() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = keys(
        home.path(),
        &["restore", "restored", "--mnemonic-file", "-"],
        &format!("{}\n", TEST_MNEMONICS[2]),
    );
    let addr = address_line(&out);
    assert_eq!(addr, address_of(2));
    let dn = funded_devnet(&[TEST_MNEMONICS[2]], &[]).await;
    let src = source().await;
    // No mnemonic anywhere in the config or the environment: only the keystore has the key.
    let wallet = json!({ "addressKeyName": "restored", "addressRestoreMnemonic": "",
                         "alloraHomeDir": home.path() });
    let node = NodeProc::start(&config(&dn, &src, wallet), None);
    assert_payloads_included_from(&dn, &node, &addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_signs_with_the_mnemonic_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mnemonic");
    std::fs::write(&file, format!("{}\n", TEST_MNEMONICS[3])).expect("write mnemonic file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    }
    let dn = funded_devnet(&[TEST_MNEMONICS[3]], &[]).await;
    let src = source().await;
    // A key name is set too, with an empty keystore: the file must win.
    let wallet = json!({ "addressKeyName": "unused", "addressRestoreMnemonic": "",
                         "mnemonicFile": file, "alloraHomeDir": "" });
    let node = NodeProc::start(&config(&dn, &src, wallet), None);
    let addr = address_of(3);
    assert_payloads_included_from(&dn, &node, &addr).await;
    let log = node.log_text();
    assert!(
        !log.contains(TEST_MNEMONICS[3]),
        "the mnemonic must never be logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_signs_with_the_mnemonic_from_the_environment() {
    let dn = funded_devnet(&[TEST_MNEMONICS[4]], &[]).await;
    let src = source().await;
    let wallet = json!({ "addressKeyName": "unused", "addressRestoreMnemonic": "",
                         "alloraHomeDir": "" });
    let node = NodeProc::start_with(
        &config(&dn, &src, wallet),
        None,
        &[(
            "ALLORA_OFFCHAIN_NODE_MNEMONIC",
            TEST_MNEMONICS[4].to_string(),
        )],
    );
    let addr = address_of(4);
    assert_payloads_included_from(&dn, &node, &addr).await;
    assert!(
        !node.log_text().contains(TEST_MNEMONICS[4]),
        "the mnemonic must never be logged"
    );
}
