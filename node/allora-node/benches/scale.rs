//! Scale benchmark (issue 6 §4), printed as the markdown tables that go into
//! `docs/BENCHMARKS.md`.
//!
//! Run: `adapters-wasm/build.sh && cargo bench -p allora-node --bench scale -- --topics 10,100`
//! (`--profile dev` to reuse the dev build). For each topic count it starts the devnet
//! in-process with N topics and funded test wallets, a loopback ground-truth source, and the
//! real `allora-node run` binary with a worker (`trivial.wasm`) and a reputer (`http_source.wasm`
//! ground truth, the topic's built-in loss) on every topic, all on one wallet. After every
//! topic is registered and staked it measures a few epochs:
//! - node RSS (peak of `/proc/<pid>/status` VmRSS sampled every 250 ms, and VmHWM);
//! - node CPU (utime + stime from `/proc/<pid>/stat`) per epoch;
//! - the share of worker / reputer nonces whose payload landed in the first block of its window
//!   (from the devnet's delivered blocks: worker nonce N → block N+1, reputer → N+lag);
//! - txs and messages per block (one wallet, so per block = per block per wallet).
//!
//! Then a reputer micro-benchmark: the losses of one value bundle for 500 workers with the
//! built-in loss vs the `custom_loss.wasm` adapter, through the node's own scoring functions.
//!
//! `harness = false` and no `#[test]`: `cargo test` never runs it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allora_devnet::{
    Devnet, DevnetConfig, DevnetHandle, Genesis, GenesisAccount, GenesisTopic, TEST_MNEMONICS,
};
use allora_node::actors::scoring;
use allora_protocol::loss::LossMethod;
use allora_protocol::proto::emissions::v10;
use allora_sandbox::{AdapterRuntime, AdapterSpec, CallContext, Limits, Role, RuntimeConfig};
use prost::Message;

struct Opts {
    topics: Vec<usize>,
    epochs: i64,
    block_ms: u64,
    epoch_length: i64,
    window: i64,
    max_minutes: u64,
    scale: bool,
    loss: bool,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        topics: vec![10, 100],
        epochs: 3,
        block_ms: 1000,
        epoch_length: 10,
        window: 5,
        max_minutes: 10,
        scale: true,
        loss: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let val = |i: usize| -> &str {
        args.get(i + 1).map(String::as_str).unwrap_or_else(|| {
            eprintln!("{} needs a value", args[i]);
            std::process::exit(2)
        })
    };
    let num = |s: &str, what: &str| -> u64 {
        s.parse().unwrap_or_else(|_| {
            eprintln!("{what}: '{s}' is not a number");
            std::process::exit(2)
        })
    };
    while i < args.len() {
        match args[i].as_str() {
            "--topics" => {
                o.topics = val(i)
                    .split(',')
                    .map(|s| num(s, "--topics") as usize)
                    .collect();
                i += 1;
            }
            "--epochs" => {
                o.epochs = num(val(i), "--epochs") as i64;
                i += 1;
            }
            "--block-ms" => {
                o.block_ms = num(val(i), "--block-ms");
                i += 1;
            }
            "--epoch-length" => {
                o.epoch_length = num(val(i), "--epoch-length") as i64;
                i += 1;
            }
            "--window" => {
                o.window = num(val(i), "--window") as i64;
                i += 1;
            }
            "--max-minutes" => {
                o.max_minutes = num(val(i), "--max-minutes");
                i += 1;
            }
            "--loss-only" => o.scale = false,
            "--scale-only" => o.loss = false,
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument {other}; use --topics 10,100,1000 --epochs 3 --block-ms 1000 \
                     --epoch-length 10 --window 5 --max-minutes 10 [--loss-only|--scale-only]"
                );
                std::process::exit(2);
            }
        }
        i += 1;
    }
    o
}

fn dist(file: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters-wasm/dist")
        .join(file);
    if !p.exists() {
        eprintln!("{} is missing: run adapters-wasm/build.sh", p.display());
        std::process::exit(2);
    }
    p
}

// ---------------------------------------------------------------- /proc readers

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------- devnet side

fn topic(id: u64, epoch: i64, window: i64) -> GenesisTopic {
    GenesisTopic {
        id,
        metadata: format!("scale topic {id}"),
        loss_method: "mse".into(),
        epoch_length: epoch,
        ground_truth_lag: epoch,
        worker_submission_window: window,
        allow_negative: false,
        first_epoch_block: None,
        worker_whitelist: None,
        reputer_whitelist: None,
        label_whitelist: Vec::new(),
    }
}

/// What the devnet delivered, per block.
#[derive(Default)]
struct Delivered {
    /// height → (txs, ok txs, messages in ok txs)
    blocks: BTreeMap<i64, (u32, u32, u32)>,
    /// (topic, nonce) → first height a worker payload was included
    worker: HashMap<(u64, i64), i64>,
    /// (topic, nonce) → first height a reputer payload was included
    reputer: HashMap<(u64, i64), i64>,
    lagged: u64,
}

fn record(dn: &DevnetHandle) -> Arc<Mutex<Delivered>> {
    let out: Arc<Mutex<Delivered>> = Arc::default();
    let mut rx = dn.subscribe_blocks();
    let rec = out.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let notice = match rx.recv().await {
                Ok(n) => n,
                Err(RecvError::Lagged(k)) => {
                    rec.lock().unwrap().lagged += k;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let h = notice.block.height;
            let mut d = rec.lock().unwrap();
            let (mut txs, mut ok, mut msgs) = (0, 0, 0);
            for tx in &notice.txs {
                txs += 1;
                if tx.code != 0 {
                    continue;
                }
                ok += 1;
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
                    msgs += 1;
                    if any.type_url.ends_with("InsertWorkerPayloadRequest") {
                        if let Some((t, n)) =
                            v10::InsertWorkerPayloadRequest::decode(any.value.as_slice())
                                .ok()
                                .and_then(|m| {
                                    let b = m.worker_data_bundle?;
                                    Some((b.topic_id, b.nonce?.block_height))
                                })
                        {
                            d.worker.entry((t, n)).or_insert(h);
                        }
                    } else if any.type_url.ends_with("InsertReputerPayloadRequest")
                        && let Some((t, n)) =
                            v10::InsertReputerPayloadRequest::decode(any.value.as_slice())
                                .ok()
                                .and_then(|m| {
                                    let vb = m.reputer_value_bundle?.value_bundle?;
                                    Some((
                                        vb.topic_id,
                                        vb.reputer_request_nonce?.reputer_nonce?.block_height,
                                    ))
                                })
                    {
                        d.reputer.entry((t, n)).or_insert(h);
                    }
                }
            }
            d.blocks.insert(h, (txs, ok, msgs));
        }
    });
    out
}

/// A loopback ground-truth source for `http_source.wasm`.
async fn truth_source() -> std::net::SocketAddr {
    use axum::extract::Path;
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/truth/{token}/{height}",
        get(|Path((_t, h)): Path<(String, i64)>| async move { format!("\"{}.5\"", 3000 + h % 5) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn address_of(i: usize) -> String {
    allora_chain_client::keys::Wallet::from_mnemonic(TEST_MNEMONICS[i])
        .unwrap()
        .address()
        .to_string()
}

// ---------------------------------------------------------------- one scale run

struct Row {
    topics: usize,
    setup: String,
    measured_epochs: i64,
    rss_peak_mib: f64,
    hwm_mib: f64,
    rss_idle_mib: f64,
    cpu_per_epoch_s: f64,
    cpu_share: f64,
    worker_first: (usize, usize, usize),
    reputer_first: (usize, usize, usize),
    /// Median blocks from the first possible block to inclusion (worker, reputer).
    delay: (Option<i64>, Option<i64>),
    tx_blocks: usize,
    blocks: usize,
    txs_per_block_mean: f64,
    txs_per_block_max: u32,
    msgs_per_tx: f64,
    failed_txs: u32,
    note: String,
}

struct Node {
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn run_scale(n: usize, o: &Opts) -> Row {
    let epoch = o.epoch_length;
    let lag = epoch;
    let deadline = Instant::now() + Duration::from_secs(o.max_minutes * 60);
    let mut genesis = Genesis::default_devnet();
    genesis.topics = (1..=n as u64)
        .map(|id| topic(id, epoch, o.window))
        .collect();
    genesis.accounts = TEST_MNEMONICS
        .iter()
        .map(|m| GenesisAccount {
            mnemonic: Some((*m).to_string()),
            address: None,
            balance: 1_000_000_000_000_000_000,
        })
        .collect();
    let min_stake = genesis.params.required_minimum_stake.max(1);
    let dn = Devnet::start(DevnetConfig {
        block_time: Duration::from_millis(o.block_ms),
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts");
    let delivered = record(&dn);
    let src = truth_source().await;
    let host = src.to_string();
    let me = address_of(0);

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let trivial = dist("trivial.wasm");
    let http = dist("http_source.wasm");
    let workers: Vec<_> = (1..=n)
        .map(|t| {
            serde_json::json!({
                "topicId": t, "loopSeconds": 1,
                "inferenceAdapter": { "wasm": trivial, "allowedHosts": [], "timeoutMs": 3000,
                                      "memoryMb": 64, "params": {} }
            })
        })
        .collect();
    let reputers: Vec<_> = (1..=n)
        .map(|t| {
            serde_json::json!({
                "topicId": t, "loopSeconds": 1, "minStake": min_stake as u64,
                "groundTruthParameters": {
                    "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"),
                    "Token": "ETH" },
                "groundTruthAdapter": { "wasm": http, "allowedHosts": [host], "timeoutMs": 3000,
                                        "memoryMb": 64, "params": {} }
            })
        })
        .collect();
    let config = serde_json::json!({
        "wallet": {
            "addressKeyName": "bench",
            "addressRestoreMnemonic": TEST_MNEMONICS[0],
            "alloraHomeDir": home,
            "gas": "auto", "gasAdjustment": 1.5, "gasPrices": "auto",
            "nodeRpc": dn.rpc_url(), "nodeGrpcs": [dn.grpc_url()],
            "maxRetries": 2, "retryDelay": 1, "accountSequenceRetryDelay": 1,
            "submitTx": true, "chainId": dn.chain_id(),
        },
        "worker": workers,
        "reputer": reputers,
    });
    let cfg_path = dir.path().join("config.json");
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let log = dir.path().join("node.log");
    let child = Command::new(env!("CARGO_BIN_EXE_allora-node"))
        .arg("run")
        .arg("--metrics-addr")
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH", &cfg_path)
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
        .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
        .env(
            "ALLORA_NODE_ADAPTERS_DIR",
            dist("trivial.wasm").parent().unwrap(),
        )
        .env("HOME", &home)
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn allora-node");
    let pid = child.id();
    let node = Node { child };

    // RSS sampler.
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, sampling, stop) = (peak.clone(), sampling.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if sampling.load(Ordering::Relaxed)
                    && let Some(k) = status_kib(pid, "VmRSS:")
                {
                    peak.fetch_max(k, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };

    let mib = |k: u64| k as f64 / 1024.0;
    let mut row = Row {
        topics: n,
        setup: String::new(),
        measured_epochs: 0,
        rss_peak_mib: 0.0,
        hwm_mib: 0.0,
        rss_idle_mib: 0.0,
        cpu_per_epoch_s: 0.0,
        cpu_share: 0.0,
        worker_first: (0, 0, 0),
        reputer_first: (0, 0, 0),
        delay: (None, None),
        tx_blocks: 0,
        blocks: 0,
        txs_per_block_mean: 0.0,
        txs_per_block_max: 0,
        msgs_per_tx: 0.0,
        failed_txs: 0,
        note: String::new(),
    };

    // Phase 1: registration + stake of every topic.
    let t0 = Instant::now();
    let h_start = dn.height();
    let ready_count = |dn: &DevnetHandle| {
        (1..=n as u64)
            .filter(|t| {
                dn.is_worker_registered(*t, &me)
                    && dn.is_reputer_registered(*t, &me)
                    && dn.stake(*t, &me) >= min_stake
            })
            .count()
    };
    let mut last_print = Instant::now();
    loop {
        let k = ready_count(&dn);
        if k == n {
            break;
        }
        if Instant::now() > deadline {
            row.note = format!(
                "stopped: only {k}/{n} topics registered+staked after {} s ({} blocks)",
                t0.elapsed().as_secs(),
                dn.height() - h_start
            );
            eprintln!("[{n} topics] {}", row.note);
            stop.store(true, Ordering::Relaxed);
            let _ = sampler.join();
            row.rss_peak_mib = mib(status_kib(pid, "VmRSS:").unwrap_or(0));
            row.hwm_mib = mib(status_kib(pid, "VmHWM:").unwrap_or(0));
            drop(node);
            dn.shutdown().await;
            return row;
        }
        if last_print.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "[{n} topics] setup: {k}/{n} topics registered+staked, height {}",
                dn.height()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let h_ready = dn.height();
    row.setup = format!(
        "{:.0} s / {} blocks",
        t0.elapsed().as_secs_f64(),
        h_ready - h_start
    );
    eprintln!("[{n} topics] all registered+staked in {}", row.setup);

    // Phase 2: measure from the next epoch boundary (+1 so the first measured window is whole).
    let h0 = (h_ready / epoch + 1) * epoch;
    let h_end_cpu = h0 + o.epochs * epoch;
    let last_nonce = h0 + (o.epochs - 1) * epoch;
    let h_end = last_nonce + 2 * lag + 1;
    let budget = deadline.saturating_duration_since(Instant::now());
    if dn.wait_for_height(h0, budget).await.is_err() {
        row.note = "stopped: time budget ran out before the first measured epoch".into();
    }
    let ticks0 = cpu_ticks(pid).unwrap_or(0);
    row.rss_idle_mib = mib(status_kib(pid, "VmRSS:").unwrap_or(0));
    sampling.store(true, Ordering::Relaxed);
    let budget = deadline.saturating_duration_since(Instant::now());
    let reached = dn.wait_for_height(h_end_cpu, budget).await;
    let ticks1 = cpu_ticks(pid).unwrap_or(0);
    let wall_cpu = o.epochs as f64 * epoch as f64 * o.block_ms as f64 / 1000.0;
    let measured_epochs = match reached {
        Ok(_) => o.epochs,
        Err(h) => (h - h0).max(0) / epoch,
    };
    row.measured_epochs = measured_epochs;
    let cpu_s = (ticks1.saturating_sub(ticks0)) as f64 / clk_tck();
    if measured_epochs > 0 {
        row.cpu_per_epoch_s = cpu_s / measured_epochs as f64;
        row.cpu_share = cpu_s / (wall_cpu * measured_epochs as f64 / o.epochs as f64);
    }
    let budget = deadline.saturating_duration_since(Instant::now());
    if dn.wait_for_height(h_end, budget).await.is_err() && row.note.is_empty() {
        row.note = format!(
            "time budget ({} min) ran out at height {} of {h_end}",
            o.max_minutes,
            dn.height()
        );
    }
    sampling.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    row.rss_peak_mib = mib(peak.load(Ordering::Relaxed));
    row.hwm_mib = mib(status_kib(pid, "VmHWM:").unwrap_or(0));

    // Phase 3: read what the devnet delivered.
    let d = std::mem::take(&mut *delivered.lock().unwrap());
    let nonces: Vec<i64> = (0..o.epochs).map(|k| h0 + k * epoch).collect();
    let score = |map: &HashMap<(u64, i64), i64>, first: i64| {
        let (mut first_n, mut any, mut total) = (0, 0, 0);
        for t in 1..=n as u64 {
            for nn in &nonces {
                total += 1;
                if let Some(h) = map.get(&(t, *nn)) {
                    any += 1;
                    if *h == nn + first {
                        first_n += 1;
                    }
                }
            }
        }
        (first_n, any, total)
    };
    row.worker_first = score(&d.worker, 1);
    row.reputer_first = score(&d.reputer, lag);
    let median_delay = |map: &HashMap<(u64, i64), i64>, first: i64| {
        let mut v: Vec<i64> = nonces
            .iter()
            .flat_map(|nn| {
                (1..=n as u64).filter_map(move |t| Some(map.get(&(t, *nn))? - nn - first))
            })
            .collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    };
    row.delay = (median_delay(&d.worker, 1), median_delay(&d.reputer, lag));
    let span: Vec<_> = d.blocks.range(h0..=h_end).map(|(_, v)| *v).collect();
    row.blocks = span.len();
    let with_tx: Vec<_> = span.iter().filter(|b| b.0 > 0).collect();
    row.tx_blocks = with_tx.len();
    let txs: u32 = with_tx.iter().map(|b| b.0).sum();
    let ok: u32 = with_tx.iter().map(|b| b.1).sum();
    let msgs: u32 = with_tx.iter().map(|b| b.2).sum();
    row.failed_txs = txs - ok;
    row.txs_per_block_mean = if with_tx.is_empty() {
        0.0
    } else {
        txs as f64 / with_tx.len() as f64
    };
    row.txs_per_block_max = with_tx.iter().map(|b| b.0).max().unwrap_or(0);
    row.msgs_per_tx = if ok == 0 {
        0.0
    } else {
        msgs as f64 / ok as f64
    };
    if d.lagged > 0 {
        row.note
            .push_str(&format!(" (block recorder lagged {} notices)", d.lagged));
    }
    drop(node);
    if std::env::var_os("SCALE_KEEP_LOG").is_some() {
        let keep = std::env::temp_dir().join(format!("scale-{n}-node.log"));
        let _ = std::fs::copy(&log, &keep);
        eprintln!("node log kept at {}", keep.display());
    }
    dn.shutdown().await;
    row
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.1} %", 100.0 * a as f64 / b as f64)
    }
}

fn print_scale(rows: &[Row], o: &Opts) {
    println!(
        "\n### Node against the devnet (block {} ms, epoch {} blocks, worker window {} blocks, ground-truth lag {} blocks, one wallet)\n",
        o.block_ms, o.epoch_length, o.window, o.epoch_length
    );
    println!(
        "| topics | setup (register+stake) | measured epochs | RSS at start | peak RSS | VmHWM | CPU / epoch | CPU share | worker first-block | worker included | reputer first-block | reputer included | median blocks late (worker / reputer) | blocks with txs | txs/block mean | txs/block max | msgs/tx | failed txs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} s | {:.0} % | {} ({}/{}) | {} | {} ({}/{}) | {} | {} / {} | {}/{} | {:.2} | {} | {:.2} | {} |",
            r.topics,
            if r.setup.is_empty() { "–" } else { &r.setup },
            r.measured_epochs,
            r.rss_idle_mib,
            r.rss_peak_mib,
            r.hwm_mib,
            r.cpu_per_epoch_s,
            100.0 * r.cpu_share,
            pct(r.worker_first.0, r.worker_first.2),
            r.worker_first.0,
            r.worker_first.2,
            pct(r.worker_first.1, r.worker_first.2),
            pct(r.reputer_first.0, r.reputer_first.2),
            r.reputer_first.0,
            r.reputer_first.2,
            pct(r.reputer_first.1, r.reputer_first.2),
            r.delay.0.map_or("–".into(), |d| d.to_string()),
            r.delay.1.map_or("–".into(), |d| d.to_string()),
            r.tx_blocks,
            r.blocks,
            r.txs_per_block_mean,
            r.txs_per_block_max,
            r.msgs_per_tx,
            r.failed_txs,
        );
    }
    for r in rows.iter().filter(|r| !r.note.trim().is_empty()) {
        println!("\n- {} topics: {}", r.topics, r.note.trim());
    }
}

// ---------------------------------------------------------------- loss micro-benchmark

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn loss_bench() {
    const WORKERS: usize = 500;
    let truth = "3001.5";
    let preds: Vec<String> = (0..WORKERS)
        .map(|i| format!("{}.{:02}", 2990 + i % 20, i % 100))
        .collect();

    let mse = LossMethod::parse("mse").unwrap();
    let builtin = || {
        let raw = scoring::builtin_losses(&mse, truth, &preds).unwrap();
        scoring::submitted(&raw, mse.never_negative()).unwrap()
    };
    assert_eq!(builtin().len(), WORKERS);
    let mut t_builtin = Vec::new();
    for _ in 0..2000 {
        let s = Instant::now();
        std::hint::black_box(builtin());
        t_builtin.push(s.elapsed());
    }

    let rt = AdapterRuntime::new(RuntimeConfig::default()).unwrap();
    let adapter = rt
        .load(AdapterSpec {
            name: "custom_loss".into(),
            wasm: dist("custom_loss.wasm"),
            roles: vec![Role::Loss],
            limits: Limits::default(),
            allowed_hosts: Vec::new(),
        })
        .await
        .expect("load custom_loss.wasm");
    let ctx = CallContext {
        topic_id: 1,
        nonce: 10,
        params: BTreeMap::new(),
        deadline: None,
    };
    let wasm = || async {
        let raw = adapter.loss(&ctx, truth, &preds).await.unwrap();
        let nn = adapter.loss_never_negative(&ctx).await.unwrap();
        scoring::submitted(&raw, nn).unwrap()
    };
    assert_eq!(wasm().await.len(), WORKERS);
    let mut t_wasm = Vec::new();
    for _ in 0..500 {
        let s = Instant::now();
        std::hint::black_box(wasm().await);
        t_wasm.push(s.elapsed());
    }
    let (b, w) = (median(t_builtin), median(t_wasm));
    println!(
        "\n### Reputer loss bundle: losses for {WORKERS} workers (raw loss → log10 rule → decimal)\n"
    );
    println!("| loss | median | runs |");
    println!("|---|---|---|");
    println!(
        "| built-in `mse` (`actors::scoring::builtin_losses` + `submitted`) | {:.1} µs | 2000 |",
        b.as_secs_f64() * 1e6
    );
    println!(
        "| `custom_loss.wasm` (pinball, 2 calls: `loss` + `never-negative`, fresh instance each) + `submitted` | {:.1} µs | 500 |",
        w.as_secs_f64() * 1e6
    );
    println!(
        "\nwasm / built-in: {:.1}×",
        w.as_secs_f64() / b.as_secs_f64()
    );
}

fn main() {
    let o = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if o.scale {
            let mut rows = Vec::new();
            for n in &o.topics {
                eprintln!("[{n} topics] starting");
                rows.push(run_scale(*n, &o).await);
            }
            print_scale(&rows, &o);
        }
        if o.loss {
            loss_bench().await;
        }
    });
}
