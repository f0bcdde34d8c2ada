//! Adapter loading against hostile `.wasm`, with the real `allora-node` binary as the
//! compile process (issue 12, items 6 and 7):
//! - a compile bomb is refused by the compile process's **memory** bound while this
//!   process's peak RSS stays low;
//! - an over-time compile is killed at its budget (its pid is gone after the error), and the
//!   compile process gets an empty environment, `/dev/null` as stdin and a minimal argv;
//! - a normal adapter loads through the child process;
//! - the real node against the devnet: a topic whose adapter is a compile bomb fails alone,
//!   while a topic with a good adapter submits before the bomb's budget runs out.

#[path = "support/compile_bomb.rs"]
mod bombs;
#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use allora_sandbox::cache::Source;
use allora_sandbox::{
    AdapterRuntime, AdapterSpec, CallContext, Compiler, Limits, LoadError, Role, RuntimeConfig,
};
use harness::*;
use serde_json::json;

/// A component claiming the inference role around `funcs` × `ops` of compile work.
fn compile_bomb(funcs: usize, ops: usize) -> Vec<u8> {
    bombs::component_claiming_inference(funcs, ops)
}

/// The memory bomb: one function the compiler must hold whole.
fn memory_bomb() -> Vec<u8> {
    // ~7 MB; compiling it needs ~0.85 KiB per op, ~850 MiB.
    compile_bomb(1, 1_000_000)
}

/// The time bomb: many mid-sized functions, each cheap in memory.
fn time_bomb() -> Vec<u8> {
    // ~21 MB, 3 M ops: well over a minute of CPU on these machines.
    compile_bomb(1_000, 3_000)
}

fn node_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_allora-node"))
}

fn runtime(compile_timeout: Duration, compile_memory_bytes: u64) -> AdapterRuntime {
    AdapterRuntime::new(RuntimeConfig {
        pooling: false,
        compile_timeout,
        compile_memory_bytes,
        compiler: Compiler::Process(node_exe()),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

fn spec(name: &str, wasm: PathBuf) -> AdapterSpec {
    AdapterSpec {
        name: name.into(),
        wasm,
        roles: vec![Role::Inference],
        limits: Limits::default(),
        allowed_hosts: Default::default(),
        mounts: Vec::new(),
    }
}

fn write_bomb(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A `/proc/<pid>/status` field in KiB.
fn status_kib(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The log without terminal colour codes (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Compile processes of `parent`: its children started with the hidden subcommand.
fn compile_children(parent: u32) -> Vec<u32> {
    let me = parent.to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_string));
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if ppid.as_deref() == Some(me.as_str())
            && cmdline
                .split(|b| *b == 0)
                .nth(1)
                .is_some_and(|a| a == b"__compile-adapter")
        {
            out.push(name.parse().unwrap());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_bomb_is_refused_by_the_memory_bound_and_this_process_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write_bomb(dir.path(), "membomb.wasm", &memory_bomb());
    let limit: u64 = 512 << 20;
    let rt = runtime(Duration::from_secs(300), limit);
    let started = Instant::now();
    let err = rt
        .load(spec("membomb", bomb))
        .await
        .err()
        .expect("the bomb must not load");
    assert!(
        matches!(err, LoadError::CompileMemory { limit_bytes, .. } if limit_bytes == limit),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("membomb")
            && text.contains("512 MiB")
            && text.contains("node.compileMemoryMb"),
        "{text}"
    );
    // Compiled here, the bomb would have taken this process far past the bound.
    let hwm_mib = status_kib("self", "VmHWM:") >> 10;
    assert!(
        hwm_mib < 400,
        "this process peaked at {hwm_mib} MiB while a compile bounded to 512 MiB failed"
    );
    eprintln!(
        "memory bomb refused after {:?}; this process's VmHWM {hwm_mib} MiB",
        started.elapsed()
    );
    // A normal adapter still loads (through the child) on the same runtime, and runs.
    let ok = rt
        .load(spec("trivial", adapters_dir().join("trivial.wasm")))
        .await
        .expect("trivial loads through the compile process");
    assert_eq!(ok.load_info().source, Source::Compiled);
    let v = ok
        .infer(&CallContext {
            topic_id: 1,
            nonce: 1,
            params: BTreeMap::new(),
            deadline: None,
        })
        .await
        .unwrap();
    assert!(!v.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_time_compile_is_killed_and_sees_no_environment() {
    // A secret in this process's environment must not reach the compile process.
    // SAFETY: set before any compile process is spawned; nothing else reads it.
    unsafe { std::env::set_var("ALLORA_OFFCHAIN_NODE_MNEMONIC", "abandon abandon secret") };
    let dir = tempfile::tempdir().unwrap();
    let bomb = write_bomb(dir.path(), "timebomb.wasm", &time_bomb());
    let budget = Duration::from_secs(1);
    let rt = runtime(budget, 8 << 30);
    let load = tokio::spawn({
        let rt = rt.clone();
        async move { rt.load(spec("timebomb", bomb)).await }
    });
    let pid = loop {
        if let Some(pid) = compile_children(std::process::id()).first() {
            break *pid;
        }
        assert!(
            !load.is_finished(),
            "the load ended before a compile process was seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let environ = std::fs::read(proc_dir.join("environ")).unwrap();
    assert!(
        environ.is_empty(),
        "the compile process has an environment: {}",
        String::from_utf8_lossy(&environ)
    );
    let argv: Vec<Vec<u8>> = std::fs::read(proc_dir.join("cmdline"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(
        argv.len(),
        7,
        "exe, subcommand, wasm, digest, dir, memory, cpu"
    );
    assert_eq!(
        std::fs::read_link(proc_dir.join("fd/0")).unwrap(),
        PathBuf::from("/dev/null")
    );
    // The compile process sets its own limits first thing after exec: poll briefly.
    let want = (8u64 << 30).to_string();
    let limited = |limits: &str| {
        limits
            .lines()
            .any(|l| l.starts_with("Max address space") && l.contains(&want))
    };
    let mut limits = std::fs::read_to_string(proc_dir.join("limits")).unwrap();
    let polled = Instant::now();
    while !limited(&limits) && polled.elapsed() < Duration::from_millis(500) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        limits = std::fs::read_to_string(proc_dir.join("limits")).unwrap();
    }
    assert!(limited(&limits), "{limits}");
    let started = Instant::now();
    let err = load.await.unwrap().err().expect("the bomb must not load");
    assert!(
        matches!(err, LoadError::CompileBudget { limit, .. } if limit == budget),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("timebomb") && text.contains("1s") && text.contains("killed"),
        "{text}"
    );
    assert!(started.elapsed() < budget + Duration::from_secs(2));
    assert!(
        !proc_dir.exists(),
        "compile process {pid} is still there after the load failed"
    );
}

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

/// The real node with two topics: topic 1's adapter is a compile bomb, topic 2's the shipped
/// HTTP source. Topic 2 loads and submits (included on the devnet) while topic 1's adapter
/// is still compiling; topic 1 then fails alone, is logged and counted, and the node keeps
/// running and submitting for topic 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compile_bomb_fails_only_its_topic_and_does_not_delay_the_others() {
    let dir = tempfile::tempdir().unwrap();
    // ~56 MB, 8 M ops: slower to compile than topic 2 takes to register and submit.
    let bomb = write_bomb(dir.path(), "bomb.wasm", &compile_bomb(2_000, 4_000));
    let dn = devnet(vec![topic(1, EPOCH, WINDOW), topic(2, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(3);
    let budget_secs = 30;
    let config = json!({
        "wallet": wallet_json(&dn, 3, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "inferenceAdapter": { "wasm": bomb, "timeoutMs": 3000 } },
            { "topicId": 2, "loopSeconds": 1, "parameters": { "Token": "BTC",
                "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ],
        // A pure time bomb here: enough address space that only the budget stops it.
        "node": { "compileTimeoutSecs": budget_secs, "compileMemoryMb": 4096 }
    });
    let started = Instant::now();
    let mut node = NodeProc::start(&config, None);
    let budget = Duration::from_secs(budget_secs);
    wait_for("topic 2's inference included", budget, || {
        let h = dn.height();
        let ok = !worker_nonces_with_payload(&dn, 2, &me, h, EPOCH).is_empty();
        async move { ok.then_some(()) }
    })
    .await;
    let included_after = started.elapsed();
    eprintln!("topic 2 included {included_after:?} after start; bomb budget {budget:?}");

    // Topic 1 fails at its budget, alone, logged with context and counted.
    let failed = wait_for(
        "topic 1's load failure",
        budget + Duration::from_secs(30),
        || {
            let log = strip_ansi(&node.log_text());
            async move {
                log.lines()
                    .find(|l| l.contains("adapter failed to load"))
                    .map(str::to_string)
            }
        },
    )
    .await;
    // The bomb claims the inference interface (so validation lets it through to the
    // compiler) but has no `infer`: it fails at the budget on a slow machine, or at the
    // export check once its compile finishes on a fast one. Either way only topic 1 fails.
    assert!(
        failed.contains("topic_id=1")
            && failed.contains("adapter=bomb")
            && (failed.contains("exceeded the compile budget of 30s")
                || failed.contains("does not export `allora:adapter/inference@0.1.0#infer`")),
        "{failed}"
    );
    // Loads are concurrent: topic 2's small adapter finished loading while the 56 MB bomb
    // was still compiling (sequential loads would put topic 2's line after the failure).
    let log = strip_ansi(&node.log_text());
    let loaded_2 = log
        .lines()
        .position(|l| l.contains("adapter loaded") && l.contains("topic_id=2"))
        .expect("topic 2's adapter loaded line");
    let failed_1 = log
        .lines()
        .position(|l| l.contains("adapter failed to load"))
        .expect("topic 1's failure line");
    assert!(loaded_2 < failed_1, "{log}");
    let text = node.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "allora_adapter_failures_total",
            &[("topic", "1"), ("role", "inference"), ("kind", "load")]
        ),
        1.0,
        "{text}"
    );
    assert!(
        node.wait_exit(Duration::from_millis(100)).is_none(),
        "the node exited"
    );
    // And topic 2 keeps submitting after the failure.
    let before = worker_nonces_with_payload(&dn, 2, &me, dn.height(), EPOCH).len();
    wait_for("another topic 2 inclusion", Duration::from_secs(30), || {
        let n = worker_nonces_with_payload(&dn, 2, &me, dn.height(), EPOCH).len();
        async move { (n > before).then_some(()) }
    })
    .await;
    assert!(
        compile_children(node.pid()).is_empty(),
        "the node left a compile process running"
    );
    node.terminate();
}
