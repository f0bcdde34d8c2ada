//! Scale benchmark (issues 6 and 11), printed as the markdown tables that go into
//! `docs/BENCHMARKS.md` (commands and column meanings there, section "Scale").
//!
//! Run: `adapters-wasm/build.sh && cargo bench -p allora-node --bench scale -- --topics 10,100`
//! (the bench profile, i.e. release, for the bench and the node binary it runs; `--profile dev`
//! to reuse a dev build). For each topic count it starts the devnet in-process with N topics and
//! funded wallets, a loopback ground-truth source, and the real `allora-node run` binary with a
//! worker (`trivial.wasm`) and a reputer (`http_source.wasm` ground truth, the topic's built-in
//! loss) on every topic — on one wallet, or one wallet per `--wallets-per-topics K` topics
//! (`config.rs`). Phases (`run.rs`): setup (the node registers and stakes), idle (blocks with
//! no window: idle CPU), then a few measured epochs:
//! - node RSS (peak of `/proc/<pid>/status` VmRSS sampled every 250 ms, and VmHWM) and the
//!   adapter linear-memory gauges from the node's `/metrics` when it exports them (`sample.rs`);
//! - node CPU (utime + stime from `/proc/<pid>/stat`) per epoch and over the idle phase;
//! - the share of worker / reputer nonces whose payload landed in the first block of its window
//!   (from the devnet's delivered blocks: worker nonce N → block N+1, reputer → N+lag);
//! - txs and messages per block, and payload txs per block per wallet.
//!
//! `--sdk 5,50` instead runs the side-by-side with allora-sdk-py's worker runner
//! (`sidebyside.rs`, `sdk_runner.py`).
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
use allora_sandbox::{AdapterRuntime, AdapterSpec, CallContext, Role, RuntimeConfig};
use prost::Message;

mod chain;
mod config;
mod loss;
mod procfs;
mod report;
mod run;
mod sample;
mod sidebyside;

use chain::*;
use loss::*;
use procfs::*;
use report::*;
use run::*;
use sample::*;
use sidebyside::*;

struct Opts {
    topics: Vec<usize>,
    epochs: i64,
    block_ms: u64,
    epoch_length: i64,
    window: i64,
    max_minutes: u64,
    scale: bool,
    loss: bool,
    /// One wallet per this many topics (`None`: one wallet for everything).
    wallets_per_topics: Option<usize>,
    /// One funded granter pays every wallet's fees through genesis fee grants.
    fee_granter: bool,
    /// Blocks reserved for registration + stake before the first window (`None`: by topics).
    setup_blocks: Option<i64>,
    /// Blocks without any window between setup and the first epoch (idle CPU phase).
    idle_blocks: i64,
    /// Side-by-side with allora-sdk-py at these topic counts instead of the scale rows.
    sdk: Option<Vec<usize>>,
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
        wallets_per_topics: None,
        fee_granter: false,
        setup_blocks: None,
        idle_blocks: 30,
        sdk: None,
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
            "--wallets-per-topics" => {
                o.wallets_per_topics = Some(num(val(i), "--wallets-per-topics").max(1) as usize);
                i += 1;
            }
            "--setup-blocks" => {
                o.setup_blocks = Some(num(val(i), "--setup-blocks") as i64);
                i += 1;
            }
            "--idle-blocks" => {
                o.idle_blocks = num(val(i), "--idle-blocks") as i64;
                i += 1;
            }
            "--fee-granter" => o.fee_granter = true,
            "--sdk" => {
                o.sdk = Some(
                    val(i)
                        .split(',')
                        .map(|s| num(s, "--sdk") as usize)
                        .collect(),
                );
                i += 1;
            }
            "--loss-only" => o.scale = false,
            "--scale-only" => o.loss = false,
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument {other}; use --topics 10,100,1000,5000 --epochs 3 --block-ms 1000 \
                     --epoch-length 10 --window 5 --max-minutes 10 [--wallets-per-topics K] \
                     [--fee-granter] [--setup-blocks B] [--idle-blocks 30] [--loss-only|--scale-only] \
                     [--sdk 5,50]"
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
fn main() {
    let o = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if let Some(ns) = &o.sdk {
            let mut rows = Vec::new();
            for n in ns {
                for sdk in [true, false] {
                    eprintln!(
                        "[side-by-side {n} topics] {}",
                        if sdk { "allora-sdk-py" } else { "allora-node" }
                    );
                    rows.push(run_side(*n, &o, sdk).await);
                }
            }
            print_side(&rows, &o);
            return;
        }
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
