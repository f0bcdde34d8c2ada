//! Per-call cost of the `onnx-model` adapter on the worked example (a scikit-learn
//! LinearRegression exported with skl2onnx), printed as the table in `docs/BENCHMARKS.md`.
//!
//! Run: `adapters-wasm/build.sh && cargo bench -p allora-sandbox --bench onnx`
//! (needs `.venv` from `./scripts/test setup` to train the model). Each call is what the node
//! does per nonce: fresh `Store` + instantiation + reading `/model/model.onnx` from the
//! read-only mount + parsing, typing and decluttering the graph + one run + output validation.
//! The trivial adapter's call, measured in the same process, is the sandbox's floor.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use allora_sandbox::{
    Adapter, AdapterRuntime, AdapterSpec, CallContext, Limits, Mount, Role, RuntimeConfig,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dist(file: &str) -> PathBuf {
    let p = repo().join("adapters-wasm/dist").join(file);
    if !p.exists() {
        eprintln!("{} is missing: run adapters-wasm/build.sh", p.display());
        std::process::exit(2);
    }
    p
}

/// Trains the example into `out`; returns the `Features` parameter it was checked with.
fn train(out: &std::path::Path) -> String {
    let py = repo().join(".venv/bin/python");
    let run = Command::new(&py)
        .arg(repo().join("adapters-wasm/onnx-model/example/train.py"))
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run ./scripts/test setup)", py.display()));
    assert!(
        run.status.success(),
        "train.py: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("expected.json")).unwrap()).unwrap();
    v["features_param"].as_str().unwrap().to_string()
}

fn percentile(v: &[Duration], p: usize) -> Duration {
    v[((v.len() * p) / 100).min(v.len() - 1)]
}

async fn time_calls(a: &Adapter, ctx: &CallContext, warmup: usize, n: usize) -> Vec<Duration> {
    for _ in 0..warmup {
        a.infer(ctx).await.expect("warmup call");
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = a.infer(ctx).await;
        v.push(t.elapsed());
        r.expect("call");
    }
    v.sort();
    v
}

fn spec(file: &str, mounts: Vec<Mount>) -> AdapterSpec {
    AdapterSpec {
        name: file.trim_end_matches(".wasm").into(),
        wasm: dist(file),
        roles: vec![Role::Inference],
        limits: Limits::default(),
        allowed_hosts: Default::default(),
        mounts,
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 100 } else { 1000 };
    let model = tempfile::tempdir().expect("tempdir");
    let features = train(model.path());
    let rt = AdapterRuntime::new(RuntimeConfig::default()).expect("runtime");

    let t = Instant::now();
    let onnx = rt
        .load(spec(
            "onnx_model.wasm",
            vec![Mount::new(model.path(), "/model")],
        ))
        .await
        .expect("load onnx_model");
    let compile = t.elapsed();
    let trivial = rt
        .load(spec("trivial.wasm", Vec::new()))
        .await
        .expect("load trivial");
    let ctx = CallContext {
        params: [("Features".to_string(), features)].into_iter().collect(),
        ..CallContext::default()
    };
    let y = onnx.infer(&ctx).await.expect("onnx call")[0].value.clone();
    let onnx_t = time_calls(&onnx, &ctx, 20, n).await;
    let triv_t = time_calls(&trivial, &CallContext::default(), 100, n).await;
    let size = std::fs::metadata(dist("onnx_model.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    let model_size = std::fs::metadata(model.path().join("model.onnx"))
        .map(|m| m.len())
        .unwrap_or(0);

    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    println!("onnx_model.wasm: {size} bytes, compiled in {}", ms(compile));
    println!("model.onnx: {model_size} bytes; prediction y = {y}");
    println!();
    println!("| adapter (fresh instance per call) | calls | median | p90 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        (
            "onnx-model: read + parse + declutter + run (LinearRegression, 4 features)",
            &onnx_t,
        ),
        ("trivial (sandbox floor)", &triv_t),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} |",
            v.len(),
            ms(percentile(v, 50)),
            ms(percentile(v, 90)),
            ms(percentile(v, 99))
        );
    }
}
