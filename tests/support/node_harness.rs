//! End-to-end harness: an in-process devnet on loopback, a real local HTTP source (axum),
//! the real `allora-node` binary with real wasm adapters from `adapters-wasm/dist`, and
//! helpers to read its metrics and the chain's view of what it sent.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allora_devnet::{
    Devnet, DevnetConfig, DevnetHandle, Genesis, GenesisAccount, GenesisTopic, TEST_MNEMONICS,
};
use allora_protocol::proto::emissions::v10;
use prost::Message;

pub const BLOCK_TIME: Duration = Duration::from_millis(300);

/// The shipped adapters; built by `adapters-wasm/build.sh` (the test command runs it first).
pub fn adapters_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    assert!(
        dir.join("http_source.wasm").is_file(),
        "{} has no http_source.wasm: run adapters-wasm/build.sh first",
        dir.display()
    );
    dir
}

pub fn topic(id: u64, epoch: i64, window: i64) -> GenesisTopic {
    GenesisTopic {
        id,
        metadata: format!("e2e topic {id}"),
        loss_method: "mse".into(),
        epoch_length: epoch,
        ground_truth_lag: epoch,
        worker_submission_window: window,
        allow_negative: false,
        first_epoch_block: None,
        worker_whitelist: None,
        reputer_whitelist: None,
        label_whitelist: Vec::new(),
        wall_clock: false,
    }
}

/// Starts a devnet with the test accounts funded and the given topics.
pub async fn devnet(topics: Vec<GenesisTopic>) -> DevnetHandle {
    devnet_serving(topics, allora_devnet::DEFAULT_EMISSIONS_VERSION).await
}

/// [`devnet`] serving emissions package `emissions_version` (9, 10, or another number for
/// none).
pub async fn devnet_serving(topics: Vec<GenesisTopic>, emissions_version: u32) -> DevnetHandle {
    let mut genesis = Genesis::default_devnet();
    genesis.topics = topics;
    genesis.accounts = TEST_MNEMONICS
        .iter()
        .map(|m| GenesisAccount {
            mnemonic: Some((*m).to_string()),
            address: None,
            balance: 1_000_000_000_000_000,
        })
        .collect();
    Devnet::start(DevnetConfig {
        block_time: BLOCK_TIME,
        genesis,
        emissions_version,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

/// A real HTTP source: `/inference/{token}` → a price that moves with each call,
/// `/truth/{token}/{height}` → a price derived from the height.
pub struct Source {
    pub addr: SocketAddr,
    pub inference_calls: Arc<Mutex<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn source() -> Source {
    use axum::extract::{Path, State};
    use axum::routing::get;
    let calls: Arc<Mutex<u64>> = Arc::default();
    let app =
        axum::Router::new()
            .route(
                "/inference/{token}",
                get(
                    |State(c): State<Arc<Mutex<u64>>>, Path(_token): Path<String>| async move {
                        let mut n = c.lock().unwrap();
                        *n += 1;
                        format!("{}.25", 3000 + (*n % 7))
                    },
                ),
            )
            .route(
                "/truth/{token}/{height}",
                get(|Path((_t, h)): Path<(String, i64)>| async move {
                    format!("\"{}.5\"", 3000 + h % 5)
                }),
            )
            .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Source {
        addr,
        inference_calls: calls,
        task,
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The wallet part of a config for test account `i` against `dn`.
pub fn wallet_json(dn: &DevnetHandle, i: usize, submit: bool) -> serde_json::Value {
    serde_json::json!({
        "addressKeyName": format!("e2e{i}"),
        "addressRestoreMnemonic": TEST_MNEMONICS[i],
        "alloraHomeDir": "",
        "gas": "auto",
        "gasAdjustment": 1.5,
        "gasPrices": "auto",
        "nodeRpc": dn.rpc_url(),
        "nodeGrpcs": [dn.grpc_url()],
        "maxRetries": 2,
        "retryDelay": 1,
        "accountSequenceRetryDelay": 1,
        "submitTx": submit,
        "chainId": dn.chain_id(),
    })
}

pub fn address_of(i: usize) -> String {
    allora_chain_client::keys::Wallet::from_mnemonic(TEST_MNEMONICS[i])
        .unwrap()
        .address()
        .to_string()
}

/// A running `allora-node run`.
pub struct NodeProc {
    child: Child,
    pub metrics: SocketAddr,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl NodeProc {
    /// Starts the binary with `config` written to a file in a fresh home (state persists in
    /// `home` if given, so a restart sees the same ledger).
    pub fn start(config: &serde_json::Value, home: Option<&std::path::Path>) -> NodeProc {
        Self::start_with(config, home, &[])
    }

    pub fn start_with(
        config: &serde_json::Value,
        home: Option<&std::path::Path>,
        env: &[(&str, String)],
    ) -> NodeProc {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config.clone();
        let home = home
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.path().join("home"));
        if let Some(w) = config.get_mut("wallet")
            && w.get("alloraHomeDir").and_then(|h| h.as_str()) == Some("")
        {
            w["alloraHomeDir"] = serde_json::json!(home);
        }
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let port = free_port();
        let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = dir.path().join("node.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_allora-node"));
        cmd.arg("run")
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .env("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH", &path)
            .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
            .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
            .env("ALLORA_NODE_ADAPTERS_DIR", adapters_dir())
            .env("HOME", &home)
            .env("LOG_LEVEL", "info,allora_node=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn allora-node");
        NodeProc {
            child,
            metrics,
            log,
            _dir: dir,
        }
    }

    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The Prometheus text, or empty if the server is not up (yet).
    pub async fn metrics_text(&self) -> String {
        match reqwest::get(format!("http://{}/metrics", self.metrics)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to exit on its own; its exit code, or `None`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// SIGTERM, then wait (bounded) for exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sum of a metric's samples whose labels include all of `labels`.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Worker nonces of `topic` for which the devnet holds a payload from `addr`.
pub fn worker_nonces_with_payload(
    dn: &DevnetHandle,
    topic: u64,
    addr: &str,
    upto: i64,
    epoch: i64,
) -> Vec<i64> {
    (1..=upto / epoch)
        .map(|k| k * epoch)
        .filter(|n| {
            dn.worker_payloads(topic, *n)
                .iter()
                .any(|b| b.worker == addr)
        })
        .collect()
}

/// Reputer nonces of `topic` for which the devnet holds a payload from `addr`.
pub fn reputer_nonces_with_payload(
    dn: &DevnetHandle,
    topic: u64,
    addr: &str,
    upto: i64,
    epoch: i64,
) -> Vec<i64> {
    (1..=upto / epoch)
        .map(|k| k * epoch)
        .filter(|n| {
            dn.reputer_payloads(topic, *n)
                .iter()
                .any(|b| b.value_bundle.as_ref().is_some_and(|v| v.reputer == addr))
        })
        .collect()
}

/// True if `nonces` contains `k` consecutive epochs.
pub fn has_consecutive(nonces: &[i64], epoch: i64, k: usize) -> bool {
    nonces
        .windows(k)
        .any(|w| w.windows(2).all(|p| p[1] - p[0] == epoch))
}

/// One delivered message: (type_url, topic, nonce, sender); topic/nonce/sender only for
/// worker payloads.
pub type SentMsg = (String, u64, i64, String);
/// Every message delivered in a block since `record_txs` was called.
pub type TxLog = Arc<Mutex<Vec<SentMsg>>>;

/// Records every delivered tx's messages.
pub fn record_txs(dn: &DevnetHandle) -> TxLog {
    let seen: TxLog = Arc::default();
    let mut rx = dn.subscribe_blocks();
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok(notice) = rx.recv().await {
            for tx in &notice.txs {
                let Ok(raw) =
                    cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(tx.tx.as_slice())
                else {
                    continue;
                };
                let Ok(body) = cosmos_sdk_proto::cosmos::tx::v1beta1::TxBody::decode(
                    raw.body_bytes.as_slice(),
                ) else {
                    continue;
                };
                for any in body.messages {
                    let entry = if any.type_url.ends_with("InsertWorkerPayloadRequest") {
                        v10::InsertWorkerPayloadRequest::decode(any.value.as_slice())
                            .ok()
                            .and_then(|m| {
                                let b = m.worker_data_bundle?;
                                Some((
                                    any.type_url.clone(),
                                    b.topic_id,
                                    b.nonce?.block_height,
                                    m.sender,
                                ))
                            })
                    } else {
                        Some((any.type_url.clone(), 0, 0, String::new()))
                    };
                    if let Some(e) = entry {
                        out.lock().unwrap().push(e);
                    }
                }
            }
        }
    });
    seen
}

/// Adapter-block JSON for a shipped wasm.
pub fn adapter(
    file: &str,
    hosts: &[&str],
    params: BTreeMap<&str, &str>,
    timeout_ms: u64,
) -> serde_json::Value {
    serde_json::json!({
        "wasm": adapters_dir().join(file),
        "allowedHosts": hosts,
        "timeoutMs": timeout_ms,
        "memoryMb": 64,
        "params": params,
    })
}
