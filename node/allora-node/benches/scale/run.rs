//! One scale run: devnet + node binary for N topics, measured over a few epochs.
//!
//! Phases, all on one devnet whose topics share one schedule starting at block F:
//! 1. setup — the node registers and stakes every topic on every wallet (timed);
//! 2. idle — the blocks between setup and F: no window is open, so node CPU here is the cost
//!    of following the chain with nothing to submit ("idle CPU");
//! 3. measured — `--epochs` epochs from the first nonce after setup: RSS, adapter gauges, CPU,
//!    and which block each worker / reputer payload landed in.

use super::config::{BenchWallet, NodeSpec};
#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- one scale run

#[derive(Default)]
pub(crate) struct Row {
    pub(crate) topics: usize,
    pub(crate) wallets: usize,
    pub(crate) fee_granter: bool,
    pub(crate) setup: String,
    pub(crate) measured_epochs: i64,
    pub(crate) rss_peak_mib: f64,
    pub(crate) hwm_mib: f64,
    pub(crate) rss_idle_mib: f64,
    /// Peak `allora_adapter_linear_memory_bytes` / `allora_adapter_instances_live`.
    pub(crate) linear_peak_mib: Option<f64>,
    pub(crate) instances_peak: Option<u64>,
    pub(crate) cpu_per_epoch_s: f64,
    pub(crate) cpu_share: f64,
    /// CPU share over the idle phase and how many blocks it covered.
    pub(crate) idle_cpu: Option<(f64, i64)>,
    pub(crate) worker_first: (usize, usize, usize),
    pub(crate) reputer_first: (usize, usize, usize),
    /// Median blocks from the first possible block to inclusion (worker, reputer).
    pub(crate) delay: (Option<i64>, Option<i64>),
    pub(crate) tx_blocks: usize,
    pub(crate) blocks: usize,
    pub(crate) txs_per_block_mean: f64,
    pub(crate) txs_per_block_max: u32,
    /// Payload txs per (block, wallet) over pairs with any: mean / max.
    pub(crate) wallet_txs_mean: f64,
    pub(crate) wallet_txs_max: u32,
    pub(crate) msgs_per_tx: f64,
    pub(crate) failed_txs: u32,
    pub(crate) note: String,
}

pub(crate) struct Node {
    child: Child,
}

impl Node {
    pub(crate) fn new(child: Child) -> Node {
        Node { child }
    }

    /// The node's exit status if it has already exited (e.g. it refused the config).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
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

/// Blocks the setup phase gets before the first window: measured ~34 blocks for 1,000 topics
/// on one wallet, so ~5 per 100 topics plus slack.
pub(crate) fn setup_allowance(n: usize, o: &Opts) -> i64 {
    o.setup_blocks.unwrap_or(30 + (n as i64 * 50 + 999) / 1000)
}

/// The first nonce (`first + k·epoch`) strictly after height `h`.
pub(crate) fn first_nonce_after(h: i64, first: i64, epoch: i64) -> i64 {
    if h < first {
        first
    } else {
        first + ((h - first) / epoch + 1) * epoch
    }
}

pub(crate) fn genesis_for(
    n: usize,
    o: &Opts,
    ws: &[BenchWallet],
    granter: Option<&str>,
) -> Genesis {
    let first = setup_allowance(n, o) + o.idle_blocks;
    let mut genesis = Genesis::default_devnet();
    genesis.topics = (1..=n as u64)
        .map(|id| topic(id, o.epoch_length, o.window, first))
        .collect();
    let fund = |m: &str| GenesisAccount {
        mnemonic: Some(m.to_string()),
        address: None,
        balance: 1_000_000_000_000_000_000,
    };
    genesis.accounts = TEST_MNEMONICS.iter().map(|m| fund(m)).collect();
    genesis
        .accounts
        .extend(ws.iter().skip(1).map(|w| fund(&w.mnemonic)));
    if let Some(g) = granter {
        genesis
            .accounts
            .push(fund(&config::derived_mnemonic("granter")));
        genesis.fee_grants = ws
            .iter()
            .map(|w| allora_devnet::GenesisFeeGrant {
                granter: g.to_string(),
                grantee: address_of_mnemonic(&w.mnemonic),
                spend_limit: None,
                expiration_unix: None,
            })
            .collect();
    }
    genesis
}

pub(crate) async fn run_scale(n: usize, o: &Opts) -> Row {
    let epoch = o.epoch_length;
    let lag = epoch;
    let deadline = Instant::now() + Duration::from_secs(o.max_minutes * 60);
    let ws = config::wallets(
        config::wallet_count(n, o.wallets_per_topics),
        TEST_MNEMONICS[0],
    );
    let granter = o
        .fee_granter
        .then(|| address_of_mnemonic(&config::derived_mnemonic("granter")));
    let genesis = genesis_for(n, o, &ws, granter.as_deref());
    let first = genesis
        .topics
        .first()
        .and_then(|t| t.first_epoch_block)
        .unwrap_or(epoch);
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
    let addrs: Vec<String> = ws
        .iter()
        .map(|w| address_of_mnemonic(&w.mnemonic))
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (trivial, http) = (dist("trivial.wasm"), dist("http_source.wasm"));
    let (rpc, grpc, chain_id) = (dn.rpc_url(), dn.grpc_url(), dn.chain_id());
    let spec = NodeSpec {
        topics: n,
        wallets_per_topics: o.wallets_per_topics,
        fee_granter: granter.as_deref(),
        home: &home,
        rpc_url: &rpc,
        grpc_url: &grpc,
        chain_id: &chain_id,
        min_stake,
        worker_wasm: &trivial,
        truth_wasm: &http,
        truth_host: &host,
    };
    let cfg_path = dir.path().join("config.json");
    let cfg = serde_json::to_vec_pretty(&config::node_config(&spec, &ws)).unwrap();
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = dir.path().join("node.log");
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_allora-node"))
        .arg("run")
        .arg("--metrics-addr")
        .arg(metrics.to_string())
        .env("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH", &cfg_path)
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
        .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
        .env("ALLORA_NODE_ADAPTERS_DIR", trivial.parent().unwrap())
        .env("HOME", &home)
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn allora-node");
    let pid = child.id();
    let mut node = Node { child };
    let mut sampler = Sampler::start(pid, metrics);

    let mib = |k: u64| k as f64 / 1024.0;
    let mut row = Row {
        topics: n,
        wallets: ws.len(),
        fee_granter: o.fee_granter,
        ..Row::default()
    };

    // Phase 1: registration + stake of every topic on its wallet.
    let t0 = Instant::now();
    let h_start = dn.height();
    let per = o.wallets_per_topics;
    let ready_count = |dn: &DevnetHandle| {
        (1..=n)
            .filter(|t| {
                let me = &addrs[config::wallet_of_topic(*t, per)];
                let t = *t as u64;
                dn.is_worker_registered(t, me)
                    && dn.is_reputer_registered(t, me)
                    && dn.stake(t, me) >= min_stake
            })
            .count()
    };
    let mut last_print = Instant::now();
    loop {
        let k = ready_count(&dn);
        if k == n {
            break;
        }
        let exited = node.exited();
        if Instant::now() > deadline || exited.is_some() {
            row.note = match exited {
                Some(st) => format!(
                    "node exited ({st}) during setup; log tail: {}",
                    log_tail(&log, 3)
                ),
                None => format!(
                    "stopped: only {k}/{n} topics registered+staked after {} s ({} blocks)",
                    t0.elapsed().as_secs(),
                    dn.height() - h_start
                ),
            };
            eprintln!("[{n} topics] {}", row.note);
            sampler.stop();
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

    // Phase 2: idle — from 2 blocks after setup (its last confirmations settle) to block F.
    let idle_from = h_ready + 2;
    if first - idle_from >= 5 {
        let budget = deadline.saturating_duration_since(Instant::now());
        if dn.wait_for_height(idle_from, budget).await.is_ok() {
            let (c0, t) = (cpu_ticks(pid).unwrap_or(0), Instant::now());
            let budget = deadline.saturating_duration_since(Instant::now());
            if dn.wait_for_height(first - 1, budget).await.is_ok() {
                let cpu = cpu_ticks(pid).unwrap_or(0).saturating_sub(c0) as f64 / clk_tck();
                row.idle_cpu = Some((cpu / t.elapsed().as_secs_f64(), first - 1 - idle_from));
            }
        }
    } else {
        eprintln!("[{n} topics] setup overran the idle phase (F = {first}); idle CPU n/a");
    }

    // Phase 3: measure from the first nonce after setup.
    let h0 = first_nonce_after(h_ready, first, epoch);
    let h_end_cpu = h0 + o.epochs * epoch;
    let last_nonce = h0 + (o.epochs - 1) * epoch;
    let h_end = last_nonce + 2 * lag + 1;
    let budget = deadline.saturating_duration_since(Instant::now());
    if dn.wait_for_height(h0, budget).await.is_err() {
        row.note = "stopped: time budget ran out before the first measured epoch".into();
    }
    let ticks0 = cpu_ticks(pid).unwrap_or(0);
    row.rss_idle_mib = mib(status_kib(pid, "VmRSS:").unwrap_or(0));
    sampler.sampling.store(true, Ordering::Relaxed);
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
    sampler.stop();
    let peaks = &sampler.peaks;
    row.rss_peak_mib = mib(peaks.rss_kib.load(Ordering::Relaxed));
    row.hwm_mib = mib(status_kib(pid, "VmHWM:").unwrap_or(0));
    if peaks.gauges_seen.load(Ordering::Relaxed) {
        row.linear_peak_mib = Some(peaks.linear_bytes.load(Ordering::Relaxed) as f64 / 1048576.0);
        row.instances_peak = Some(peaks.instances.load(Ordering::Relaxed));
    }

    // Phase 4: read what the devnet delivered.
    let d = std::mem::take(&mut *delivered.lock().unwrap());
    let nonces: Vec<i64> = (0..o.epochs).map(|k| h0 + k * epoch).collect();
    score_delivered(&mut row, &d, &nonces, n, lag, h0..=h_end);
    drop(node);
    if std::env::var_os("SCALE_KEEP_LOG").is_some() {
        let keep = std::env::temp_dir().join(format!("scale-{n}-node.log"));
        let _ = std::fs::copy(&log, &keep);
        eprintln!("node log kept at {}", keep.display());
    }
    dn.shutdown().await;
    row
}

/// First-block / included shares, delays and tx counts from the delivered blocks.
pub(crate) fn score_delivered(
    row: &mut Row,
    d: &Delivered,
    nonces: &[i64],
    n: usize,
    lag: i64,
    span: std::ops::RangeInclusive<i64>,
) {
    let score = |map: &HashMap<(u64, i64), i64>, first: i64| {
        let (mut first_n, mut any, mut total) = (0, 0, 0);
        for t in 1..=n as u64 {
            for nn in nonces {
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
    let blocks: Vec<_> = d.blocks.range(span.clone()).map(|(_, v)| *v).collect();
    row.blocks = blocks.len();
    let with_tx: Vec<_> = blocks.iter().filter(|b| b.0 > 0).collect();
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
    let pairs: Vec<u32> = d
        .wallet_txs
        .range(span)
        .flat_map(|(_, m)| m.values().copied())
        .collect();
    if !pairs.is_empty() {
        row.wallet_txs_mean = pairs.iter().sum::<u32>() as f64 / pairs.len() as f64;
        row.wallet_txs_max = pairs.iter().copied().max().unwrap_or(0);
    }
    if d.lagged > 0 {
        row.note
            .push_str(&format!(" (block recorder lagged {} notices)", d.lagged));
    }
}

pub(crate) fn log_tail(log: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join(" | ")
}
