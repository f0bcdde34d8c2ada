//! One scale run: devnet + node binary for N topics, measured over a few epochs.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- one scale run

pub(crate) struct Row {
    pub(crate) topics: usize,
    pub(crate) setup: String,
    pub(crate) measured_epochs: i64,
    pub(crate) rss_peak_mib: f64,
    pub(crate) hwm_mib: f64,
    pub(crate) rss_idle_mib: f64,
    pub(crate) cpu_per_epoch_s: f64,
    pub(crate) cpu_share: f64,
    pub(crate) worker_first: (usize, usize, usize),
    pub(crate) reputer_first: (usize, usize, usize),
    /// Median blocks from the first possible block to inclusion (worker, reputer).
    pub(crate) delay: (Option<i64>, Option<i64>),
    pub(crate) tx_blocks: usize,
    pub(crate) blocks: usize,
    pub(crate) txs_per_block_mean: f64,
    pub(crate) txs_per_block_max: u32,
    pub(crate) msgs_per_tx: f64,
    pub(crate) failed_txs: u32,
    pub(crate) note: String,
}

pub(crate) struct Node {
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

pub(crate) async fn run_scale(n: usize, o: &Opts) -> Row {
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
