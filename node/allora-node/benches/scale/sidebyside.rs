//! Side-by-side with allora-sdk-py: the SDK's own worker runner (`sdk_runner.py`, one
//! `AlloraWorker.inferer` per topic, constant inference, one wallet) and then `allora-node` with
//! the same work (one worker per topic, `trivial.wasm`, no reputers), each alone against a
//! fresh devnet with the same genesis. Per process: RSS at start and peak, CPU per epoch, and the
//! worker first-block / included shares from the devnet's blocks — the same columns as the
//! scale table, divided per topic.
//!
//! The SDK lives in a bench-only venv made by `scripts/bench-sdk-venv` (pinned version);
//! `SCALE_SDK_PYTHON` overrides the interpreter.

#[allow(unused_imports)]
use super::*;

pub(crate) struct SideRow {
    pub(crate) who: &'static str,
    pub(crate) topics: usize,
    pub(crate) setup: String,
    pub(crate) rss_start_mib: f64,
    pub(crate) rss_peak_mib: f64,
    pub(crate) cpu_per_epoch_s: f64,
    pub(crate) cpu_share: f64,
    pub(crate) worker_first: (usize, usize, usize),
    pub(crate) note: String,
}

fn sdk_python() -> PathBuf {
    std::env::var_os("SCALE_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-sdk-venv/bin/python")
        })
}

pub(crate) async fn run_side(n: usize, o: &Opts, sdk: bool) -> SideRow {
    let epoch = o.epoch_length;
    let deadline = Instant::now() + Duration::from_secs(o.max_minutes * 60);
    let ws = config::wallets(1, TEST_MNEMONICS[0]);
    let genesis = genesis_for(n, o, &ws, None);
    let first = genesis
        .topics
        .first()
        .and_then(|t| t.first_epoch_block)
        .unwrap_or(epoch);
    let dn = Devnet::start(DevnetConfig {
        block_time: Duration::from_millis(o.block_ms),
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts");
    let delivered = record(&dn);
    let me = address_of_mnemonic(TEST_MNEMONICS[0]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let log = dir.path().join("process.log");
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut cmd = if sdk {
        let py = sdk_python();
        if !py.exists() {
            eprintln!("{} is missing: run scripts/bench-sdk-venv", py.display());
            std::process::exit(2);
        }
        let mut c = Command::new(py);
        c.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/scale/sdk_runner.py"))
            .env("SDK_CHAIN_ID", dn.chain_id())
            .env(
                "SDK_GRPC_URL",
                dn.grpc_url().replace("http://", "grpc+http://"),
            )
            .env("SDK_WS_URL", dn.ws_url())
            .env("SDK_MNEMONIC", TEST_MNEMONICS[0])
            .env("SDK_TOPICS", n.to_string());
        c
    } else {
        let trivial = dist("trivial.wasm");
        let (rpc, grpc, chain_id) = (dn.rpc_url(), dn.grpc_url(), dn.chain_id());
        let spec = config::NodeSpec {
            topics: n,
            wallets_per_topics: None,
            fee_granter: None,
            home: &home,
            rpc_url: &rpc,
            grpc_url: &grpc,
            chain_id: &chain_id,
            min_stake: 0,
            worker_wasm: &trivial,
            truth_wasm: &trivial,
            truth_host: "127.0.0.1:1",
        };
        let mut cfg = config::node_config(&spec, &ws);
        cfg["reputer"] = serde_json::json!([]);
        let cfg_path = dir.path().join("config.json");
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_allora-node"));
        c.arg("run")
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .env("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH", &cfg_path)
            .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
            .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
            .env("ALLORA_NODE_ADAPTERS_DIR", trivial.parent().unwrap())
            .env("LOG_LEVEL", "info");
        c
    };
    let child = cmd
        .env("HOME", &home)
        .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn the runner");
    let pid = child.id();
    let mut proc_ = Node::new(child);
    let mut sampler = Sampler::start(pid, metrics);
    let mut row = SideRow {
        who: if sdk { "allora-sdk-py" } else { "allora-node" },
        topics: n,
        setup: String::new(),
        rss_start_mib: 0.0,
        rss_peak_mib: 0.0,
        cpu_per_epoch_s: 0.0,
        cpu_share: 0.0,
        worker_first: (0, 0, 0),
        note: String::new(),
    };
    let mib = |k: u64| k as f64 / 1024.0;

    // Setup: every topic's worker registered (both runners register themselves).
    let t0 = Instant::now();
    loop {
        let k = (1..=n as u64)
            .filter(|t| dn.is_worker_registered(*t, &me))
            .count();
        if k == n {
            break;
        }
        let exited = proc_.exited();
        if Instant::now() > deadline || exited.is_some() {
            row.note = format!(
                "{}: {k}/{n} workers registered after {} s; log tail: {}",
                exited.map_or("time budget ran out".into(), |s| format!("exited ({s})")),
                t0.elapsed().as_secs(),
                log_tail(&log, 3)
            );
            eprintln!("[{} {n}] {}", row.who, row.note);
            sampler.stop();
            drop(proc_);
            dn.shutdown().await;
            return row;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let h_ready = dn.height();
    row.setup = format!("{:.0} s", t0.elapsed().as_secs_f64());
    let h0 = first_nonce_after(h_ready, first, epoch);
    let budget = deadline.saturating_duration_since(Instant::now());
    let _ = dn.wait_for_height(h0, budget).await;
    let c0 = cpu_ticks(pid).unwrap_or(0);
    row.rss_start_mib = mib(status_kib(pid, "VmRSS:").unwrap_or(0));
    sampler.sampling.store(true, Ordering::Relaxed);
    let t_cpu = Instant::now();
    let budget = deadline.saturating_duration_since(Instant::now());
    let reached = dn.wait_for_height(h0 + o.epochs * epoch, budget).await;
    let cpu = cpu_ticks(pid).unwrap_or(0).saturating_sub(c0) as f64 / clk_tck();
    let epochs = match reached {
        Ok(_) => o.epochs,
        Err(h) => (h - h0).max(0) / epoch,
    };
    if epochs > 0 {
        row.cpu_per_epoch_s = cpu / epochs as f64;
        row.cpu_share = cpu / t_cpu.elapsed().as_secs_f64();
    }
    // Let the last window close before scoring.
    let budget = deadline.saturating_duration_since(Instant::now());
    let _ = dn
        .wait_for_height(h0 + (o.epochs - 1) * epoch + o.window + 2, budget)
        .await;
    sampler.stop();
    row.rss_peak_mib = mib(sampler.peaks.rss_kib.load(Ordering::Relaxed));
    let d = std::mem::take(&mut *delivered.lock().unwrap());
    let nonces: Vec<i64> = (0..o.epochs).map(|k| h0 + k * epoch).collect();
    let mut full = Row::default();
    score_delivered(&mut full, &d, &nonces, n, epoch, h0..=h0 + o.epochs * epoch);
    row.worker_first = full.worker_first;
    if std::env::var_os("SCALE_KEEP_LOG").is_some() {
        let keep = std::env::temp_dir().join(format!("side-{}-{n}.log", row.who));
        let _ = std::fs::copy(&log, &keep);
        eprintln!("log kept at {}", keep.display());
    }
    drop(proc_);
    dn.shutdown().await;
    row
}

pub(crate) fn print_side(rows: &[SideRow], o: &Opts) {
    println!(
        "\n### Side-by-side with allora-sdk-py (workers only, constant inference, one wallet; block {} ms, epoch {} blocks, worker window {} blocks; {} build of allora-node)\n",
        o.block_ms,
        o.epoch_length,
        o.window,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    println!(
        "| runner | topics | setup | RSS at start | peak RSS | peak RSS / topic | CPU / epoch | CPU share | CPU / topic / epoch | worker first-block | worker included |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let t = r.topics.max(1) as f64;
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.2} MiB | {:.2} s | {:.1} % | {:.1} ms | {} ({}/{}) | {} |",
            r.who,
            r.topics,
            if r.setup.is_empty() { "–" } else { &r.setup },
            r.rss_start_mib,
            r.rss_peak_mib,
            r.rss_peak_mib / t,
            r.cpu_per_epoch_s,
            100.0 * r.cpu_share,
            1000.0 * r.cpu_per_epoch_s / t,
            pct(r.worker_first.0, r.worker_first.2),
            r.worker_first.0,
            r.worker_first.2,
            pct(r.worker_first.1, r.worker_first.2),
        );
    }
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        println!("\n- {} at {} topics: {}", r.who, r.topics, r.note);
    }
}
