//! `allora-node demo`: the README's first command. Starts the embedded devnet and a local
//! price source, then runs the real node — `config.example.json` with its endpoints pointed at
//! them — as worker and reputer on the devnet's topics, and prints every transaction the node
//! sends with the devnet's verdict. Stops after `--epochs` epochs of every topic were submitted
//! and accepted, or on Ctrl-C.
//!
//! The example config is embedded at build time, so what the demo runs is exactly what a user
//! copies to start with; only addresses, the test wallet and the paths change. The shipped
//! Rust adapters it needs are built on first use if `adapters-wasm/dist` lacks them.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::actors::supervisor;
use crate::app;
use crate::config;
use crate::metrics::{self, Health, Metrics};
use allora_devnet::{
    BlockNotice, DEFAULT_CHAIN_ID, Devnet, DevnetConfig, DevnetHandle, Genesis, Msg,
    TEST_MNEMONICS, TxContents,
};
use allora_sandbox::AdapterRuntime;

/// The example config the demo runs (the same file users copy).
const EXAMPLE_CONFIG: &str = include_str!("../../../../config.example.json");
/// Where that config expects the example source service.
const EXAMPLE_SOURCE: &str = "source:8000";
/// Polling interval cap for the demo's short devnet epochs.
const DEMO_LOOP_SECONDS: u64 = 5;
/// Shipped adapters the example config uses, with the crates that build them.
const ADAPTERS: &[(&str, &str)] = &[
    ("http_source.wasm", "http-source"),
    ("smoothing_model.wasm", "smoothing-model"),
];

/// Arguments of `allora-node demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stop once this many epochs of every topic were submitted by the worker and the reputer
    /// and accepted by the devnet.
    #[arg(long, default_value_t = 3)]
    pub epochs: u32,
    /// Devnet block time in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub block_time_ms: u64,
    /// Epoch length of the devnet topics in blocks (worker window = half, ground-truth lag = one epoch).
    #[arg(long, default_value_t = 6)]
    pub epoch_length: i64,
    /// Directory holding the shipped adapters (default: adapters-wasm/dist, built if missing).
    #[arg(long)]
    pub adapters_dir: Option<PathBuf>,
    /// Show the node's and the devnet's logs live on stderr instead of writing them to a file.
    #[arg(short, long)]
    pub verbose: bool,
    /// Where the logs went (set by `main` before dispatch when not `--verbose`).
    #[arg(skip)]
    pub log_file: Option<PathBuf>,
}

/// The file the demo's logs go to unless `--verbose`: one per run, in the temp directory, so
/// the submission table is all the terminal shows.
pub fn default_log_path() -> PathBuf {
    std::env::temp_dir().join(format!("allora-node-demo-{}.log", std::process::id()))
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.block_time_ms == 0 {
        bail!("--block-time-ms must be greater than 0");
    }
    if args.epoch_length < 4 {
        bail!("--epoch-length must be at least 4 blocks (the worker window is half of it)");
    }
    let root = repo_root()?;
    let dist = match &args.adapters_dir {
        Some(d) => d.clone(),
        None => {
            let dist = root.join("adapters-wasm/dist");
            ensure_adapters(&root, &dist)?;
            dist
        }
    };
    for (file, _) in ADAPTERS {
        if !dist.join(file).is_file() {
            bail!(
                "{} is missing: run adapters-wasm/build.sh or pass --adapters-dir",
                dist.join(file).display()
            );
        }
    }

    if let Some(log) = &args.log_file {
        println!("logs: {} (pass -v to see them live)", log.display());
    }
    let stop = CancellationToken::new();
    spawn_ctrl_c(stop.clone());

    let genesis = demo_genesis(args.epoch_length)?;
    let devnet = Devnet::start(DevnetConfig {
        chain_id: DEFAULT_CHAIN_ID.to_string(),
        block_time: Duration::from_millis(args.block_time_ms),
        genesis,
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        emissions_version: allora_devnet::DEFAULT_EMISSIONS_VERSION,
    })
    .await
    .context("starting the devnet")?;
    let (source_addr, source_task) =
        source::serve(SocketAddr::from(([127, 0, 0, 1], 0)), stop.clone())
            .await
            .context("starting the local price source")?;

    let work = tempfile_dir(&root)?;
    let text = demo_config(&devnet, source_addr, &dist, &work)?;
    let plan = match config::load_str(&text, "the demo config (config.example.json)", &root) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("error: {err}");
            devnet.shutdown().await;
            return Ok(2);
        }
    };
    let address = allora_chain_client::keys::Wallet::from_mnemonic(TEST_MNEMONICS[0])
        .context("the devnet test mnemonic")?
        .address()
        .to_string();
    let worker_topics: BTreeSet<u64> = plan.workers.iter().map(|w| w.topic_id).collect();
    let reputer_topics: BTreeSet<u64> = plan.reputers.iter().map(|r| r.topic_id).collect();

    println!(
        "allora-node demo — the node with the shipped example adapters against the built-in devnet"
    );
    println!(
        "  devnet   chain {}  gRPC {}  RPC {}  block {} ms  epoch {} blocks",
        devnet.chain_id(),
        devnet.grpc_url(),
        devnet.rpc_url(),
        args.block_time_ms,
        args.epoch_length
    );
    println!(
        "  source   http://{source_addr}  (/inference/{{token}}, /truth/{{token}}/{{height}}, /prices/{{token}})"
    );
    println!(
        "  node     {address}  workers on topics {worker_topics:?}, reputers on topics {reputer_topics:?}"
    );

    let node_stop = stop.child_token();
    let (metrics_addr, mut node_task) = start_node(plan, node_stop.clone()).await?;
    println!("  metrics  http://{metrics_addr}/metrics");
    println!(
        "  waiting for {} epoch(s) of worker and reputer submissions per topic (Ctrl-C to stop)\n",
        args.epochs
    );

    let mut progress = Progress {
        address: address.clone(),
        worker: worker_topics
            .iter()
            .map(|t| (*t, BTreeSet::new()))
            .collect(),
        reputer: reputer_topics
            .iter()
            .map(|t| (*t, BTreeSet::new()))
            .collect(),
        rejected: 0,
    };
    // Registration, stake, then `epochs` epochs plus the ground-truth lag and the reputer
    // window; twice that is a generous bound before calling the demo stuck.
    let budget_blocks = 2 * (i64::from(args.epochs) + 3) * args.epoch_length + 30;
    let last_height = devnet.height() + budget_blocks;
    let mut blocks = devnet.subscribe_blocks();
    let mut node_finished = false;
    let outcome = loop {
        tokio::select! {
            _ = stop.cancelled() => break Outcome::Interrupted,
            _ = &mut node_task => {
                node_finished = true;
                break Outcome::NodeStopped;
            }
            notice = blocks.recv() => match notice {
                Ok(n) => {
                    progress.record(&n);
                    if progress.done(args.epochs) {
                        break Outcome::Done;
                    }
                    if n.block.height > last_height {
                        break Outcome::Stuck;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => {
                    println!("  (skipped {k} block notices)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break Outcome::Stuck,
            },
        }
    };

    node_stop.cancel();
    if !node_finished
        && tokio::time::timeout(Duration::from_secs(15), node_task)
            .await
            .is_err()
    {
        eprintln!("warning: the node did not stop within 15 s");
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), source_task).await;
    devnet.shutdown().await;
    let _ = std::fs::remove_dir_all(&work);

    println!();
    progress.summary();
    Ok(match outcome {
        Outcome::Done => {
            println!(
                "done: {} epoch(s) submitted and accepted on every topic",
                args.epochs
            );
            0
        }
        Outcome::Interrupted => {
            println!("stopped (Ctrl-C)");
            130
        }
        Outcome::NodeStopped => {
            println!("the node stopped before the demo finished (see the error above)");
            1
        }
        Outcome::Stuck => {
            println!(
                "not finished after {budget_blocks} blocks: see the node's log lines above for the reason"
            );
            1
        }
    })
}

enum Outcome {
    Done,
    Interrupted,
    NodeStopped,
    Stuck,
}

/// The repository root: the nearest ancestor of the working directory with
/// `config.example.json` and `adapters-wasm/`, else the one this binary was built from.
fn repo_root() -> anyhow::Result<PathBuf> {
    let is_root =
        |p: &Path| p.join("config.example.json").is_file() && p.join("adapters-wasm").is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if is_root(dir) {
                return Ok(dir.to_path_buf());
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if is_root(&built) {
        return Ok(built);
    }
    bail!(
        "run the demo from the allora-node repository (it needs adapters-wasm/ and config.example.json)"
    )
}

/// Builds the Rust adapters the example config needs when `dist` lacks them — the same
/// `cargo build --target wasm32-wasip2` that `adapters-wasm/build.sh` runs, for just these crates.
fn ensure_adapters(root: &Path, dist: &Path) -> anyhow::Result<()> {
    let missing: Vec<&(&str, &str)> = ADAPTERS
        .iter()
        .filter(|(file, _)| !dist.join(file).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "building the example adapters (first run only): cargo build --target wasm32-wasip2 …"
    );
    // On a fresh toolchain the target may be missing; rustup adds it (a no-op when present).
    let _ = std::process::Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ws = root.join("adapters-wasm");
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("build")
        .arg("--locked")
        .arg("--release")
        .args(["--target", "wasm32-wasip2"])
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(ws.join("target"));
    for (_, krate) in &missing {
        cmd.args(["-p", krate]);
    }
    let status = cmd
        .status()
        .context("running cargo to build the adapters")?;
    if !status.success() {
        bail!("building the example adapters failed; try adapters-wasm/build.sh");
    }
    std::fs::create_dir_all(dist).with_context(|| format!("creating {}", dist.display()))?;
    for (file, _) in missing {
        let built = ws.join("target/wasm32-wasip2/release").join(file);
        std::fs::copy(&built, dist.join(file))
            .with_context(|| format!("copying {} into {}", built.display(), dist.display()))?;
    }
    Ok(())
}

/// The default devnet with every topic's epoch set to `epoch_length` blocks.
fn demo_genesis(epoch_length: i64) -> anyhow::Result<Genesis> {
    let mut genesis = Genesis::default_devnet();
    for t in &mut genesis.topics {
        t.epoch_length = epoch_length;
        t.worker_submission_window = (epoch_length / 2).max(2);
        t.ground_truth_lag = epoch_length;
        t.first_epoch_block = None;
    }
    genesis.validate().context("demo genesis")?;
    Ok(genesis)
}

/// A private scratch directory for the demo's keystore home and cache, removed at exit.
fn tempfile_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root
        .join("target")
        .join("allora-demo")
        .join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// `config.example.json` pointed at the devnet, the local source and the test wallet.
fn demo_config(
    devnet: &DevnetHandle,
    source: SocketAddr,
    dist: &Path,
    work: &Path,
) -> anyhow::Result<String> {
    let text = EXAMPLE_CONFIG.replace(EXAMPLE_SOURCE, &source.to_string());
    let mut cfg: serde_json::Value =
        serde_json::from_str(&text).context("config.example.json is not valid JSON")?;
    let min_stake = allora_devnet::GenesisParams::default().required_minimum_stake;
    let wallet = serde_json::json!({
        // A public devnet TEST mnemonic (docs/DEVNET.md): never use it on a real network.
        "addressRestoreMnemonic": TEST_MNEMONICS[0],
        "addressKeyName": "demo",
        "alloraHomeDir": work.join("home"),
        "nodeRpc": devnet.rpc_url(),
        "nodeRpcs": [],
        "nodeGrpcs": [devnet.grpc_url()],
        "chainId": devnet.chain_id(),
    });
    let (Some(dst), Some(src)) = (cfg["wallet"].as_object_mut(), wallet.as_object()) else {
        bail!("config.example.json has no wallet object");
    };
    for (k, v) in src {
        dst.insert(k.clone(), v.clone());
    }
    if let Some(reputers) = cfg["reputer"].as_array_mut() {
        for r in reputers {
            // Devnet epochs last seconds, not minutes: poll as often as the workers do.
            let loop_secs = r["loopSeconds"].as_u64().unwrap_or(DEMO_LOOP_SECONDS);
            r["loopSeconds"] = serde_json::json!(loop_secs.min(DEMO_LOOP_SECONDS));
            let have = r["minStake"].as_u64().map(u128::from).unwrap_or(0);
            if have < min_stake {
                r["minStake"] = serde_json::json!(min_stake.to_string());
            }
        }
    }
    // The cache dir also holds the node's submission ledger, which must not outlive this
    // run's devnet: keep it in the run's scratch directory.
    let cache = work.join("cache");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    cfg["node"] = serde_json::json!({
        "metricsAddr": "127.0.0.1:0",
        "adaptersDir": dist,
        "cacheDir": cache,
    });
    // Adapter paths in the example are relative to the repository root (the config's dir).
    Ok(cfg.to_string())
}

/// Starts the node in-process exactly as `allora-node run` wires it.
async fn start_node(
    plan: config::Plan,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let metrics = Metrics::new().context("creating metrics")?;
    let health = Arc::new(Health::default());
    let (bound, server) = metrics::serve(
        plan.node.metrics_addr,
        metrics.clone(),
        health.clone(),
        stop.clone(),
    )
    .await
    .context("starting the metrics server")?;
    let runtime = AdapterRuntime::new(crate::app::runtime_config(&plan))
        .context("creating the adapter runtime")?;
    app::pool_metrics::register(&metrics, &runtime).context("registering pool metrics")?;
    let task = tokio::spawn(async move {
        let wiring = tokio::select! {
            w = app::connect(&plan, &metrics) => w,
            _ = stop.cancelled() => return,
        };
        match wiring {
            Ok(wiring) => {
                if let Err(err) =
                    supervisor::run(&plan, wiring, runtime, metrics, health, stop.clone()).await
                {
                    eprintln!("error: the node could not run: {err}");
                }
            }
            Err(err) => eprintln!("error: the node could not connect to the devnet: {err:#}"),
        }
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    });
    Ok((bound, task))
}

fn spawn_ctrl_c(stop: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
}

/// What the devnet accepted from the demo wallet, per role and topic.
struct Progress {
    address: String,
    worker: BTreeMap<u64, BTreeSet<i64>>,
    reputer: BTreeMap<u64, BTreeSet<i64>>,
    rejected: u32,
}

impl Progress {
    /// Prints every tx in the block from the demo wallet and records accepted payloads.
    fn record(&mut self, notice: &BlockNotice) {
        let height = notice.block.height;
        for tx in &notice.txs {
            let Some(decoded) = tx.contents() else {
                continue;
            };
            if decoded.signer != self.address {
                continue;
            }
            let accepted = tx.accepted();
            if !accepted {
                self.rejected += 1;
            }
            let verdict = if accepted {
                format!("accepted  tx {}", short(&tx.hash))
            } else {
                format!("REJECTED  code {} ({}): {}", tx.code, tx.codespace, tx.log)
            };
            for line in describe(&decoded) {
                println!("block {height:>5}  {line:<62} {verdict}");
            }
            if accepted {
                self.note_accepted(&decoded);
            }
        }
    }

    fn note_accepted(&mut self, tx: &TxContents) {
        for msg in &tx.msgs {
            match msg {
                Msg::InsertWorkerPayload(m) => {
                    if let Some(b) = &m.worker_data_bundle {
                        let nonce = b.nonce.as_ref().map(|n| n.block_height).unwrap_or_default();
                        self.worker.entry(b.topic_id).or_default().insert(nonce);
                    }
                }
                Msg::InsertReputerPayload(m) => {
                    if let Some(vb) = m
                        .reputer_value_bundle
                        .as_ref()
                        .and_then(|b| b.value_bundle.as_ref())
                    {
                        let nonce = reputer_nonce(vb);
                        self.reputer.entry(vb.topic_id).or_default().insert(nonce);
                    }
                }
                Msg::Register(_) | Msg::AddStake(_) | Msg::GrantAllowance(_) => {}
            }
        }
    }

    fn done(&self, epochs: u32) -> bool {
        let enough =
            |m: &BTreeMap<u64, BTreeSet<i64>>| m.values().all(|s| s.len() >= epochs as usize);
        enough(&self.worker) && enough(&self.reputer)
    }

    fn summary(&self) {
        for (role, m) in [("worker", &self.worker), ("reputer", &self.reputer)] {
            for (topic, nonces) in m {
                println!("  {role:<7} topic {topic}: accepted nonces {nonces:?}");
            }
        }
        if self.rejected > 0 {
            println!("  {} transaction(s) rejected (see above)", self.rejected);
        }
    }
}

fn reputer_nonce(vb: &allora_protocol::emissions::reputer_input::InputValueBundle) -> i64 {
    vb.reputer_request_nonce
        .as_ref()
        .and_then(|n| n.reputer_nonce.as_ref())
        .map(|n| n.block_height)
        .unwrap_or_default()
}

/// One human line per message.
fn describe(tx: &TxContents) -> Vec<String> {
    tx.msgs
        .iter()
        .map(|msg| match msg {
            Msg::Register(m) => format!(
                "register  {} on topic {}",
                if m.is_reputer { "reputer" } else { "worker" },
                m.topic_id
            ),
            Msg::AddStake(m) => format!("stake     {} uallo on topic {}", m.amount, m.topic_id),
            Msg::GrantAllowance(m) => {
                format!("feegrant  {} pays fees for {}", m.granter, m.grantee)
            }
            Msg::InsertWorkerPayload(m) => {
                let Some(b) = &m.worker_data_bundle else {
                    return "worker    (empty bundle)".to_string();
                };
                let nonce = b.nonce.as_ref().map(|n| n.block_height).unwrap_or_default();
                let value = b
                    .inference_forecasts_bundle
                    .as_ref()
                    .and_then(|ifb| ifb.inference.as_ref())
                    .map(|inf| {
                        if inf.values.is_empty() {
                            inf.value.clone()
                        } else {
                            inf.values
                                .iter()
                                .map(|v| format!("{}={}", v.label, v.value))
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                    })
                    .unwrap_or_else(|| "-".into());
                format!(
                    "worker    topic {} nonce {nonce:<5} inference {value}",
                    b.topic_id
                )
            }
            Msg::InsertReputerPayload(m) => {
                let Some(vb) = m
                    .reputer_value_bundle
                    .as_ref()
                    .and_then(|b| b.value_bundle.as_ref())
                else {
                    return "reputer   (empty bundle)".to_string();
                };
                format!(
                    "reputer   topic {} nonce {:<5} log10 loss {} ({} inferer(s))",
                    vb.topic_id,
                    reputer_nonce(vb),
                    vb.combined_value,
                    vb.inferer_values.len()
                )
            }
        })
        .collect()
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
