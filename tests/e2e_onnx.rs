//! End to end for the ONNX worked example (issue #12 items 3–4): a scikit-learn model trained
//! by `adapters-wasm/onnx-model/example/train.py` (fixed seed) is exported to ONNX; the real
//! `allora-node` binary runs it with the `onnx-model` adapter reading the model from a
//! read-only mount, against the devnet, and the devnet records sklearn's own prediction.
//! Needs the `.venv` that `./scripts/test setup` installs (numpy, scikit-learn, skl2onnx,
//! onnx); without it the test fails saying so — it never skips.

#[path = "support/node_harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What train.py wrote next to `model.onnx`.
struct Expected {
    features_param: String,
    prediction: f64,
}

/// Trains and exports the example model into `out`; panics with the script's own message
/// (e.g. which package is missing and how to install it) if it cannot.
fn train(out: &Path) -> Expected {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run ./scripts/test setup (it creates .venv/ with numpy, scikit-learn, skl2onnx and onnx)",
        python.display()
    );
    let script = repo().join("adapters-wasm/onnx-model/example/train.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(out)
        .output()
        .expect("run train.py");
    assert!(
        run.status.success(),
        "train.py failed ({}): {}{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        out.join("model.onnx").is_file(),
        "train.py wrote no model.onnx"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("expected.json")).unwrap()).unwrap();
    Expected {
        features_param: v["features_param"].as_str().unwrap().to_string(),
        prediction: v["prediction"].as_f64().unwrap(),
    }
}

/// The adapter computes in f32 (skl2onnx's input type): allow a few f32 ulps of the terms.
fn assert_f32_close(got: f64, want: f64, what: &str) {
    let tol = 1e-5 * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} differs from sklearn's {want} by more than {tol}"
    );
}

fn onnx_wasm() -> PathBuf {
    let p = adapters_dir().join("onnx_model.wasm");
    assert!(
        p.is_file(),
        "{} is missing: run adapters-wasm/build.sh",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_records_the_sklearn_prediction_made_inside_the_sandbox() {
    let model_dir = tempfile::tempdir().unwrap();
    let want = train(model_dir.path());
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(0);
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "worker": [{
            "topicId": 1, "loopSeconds": 1,
            "parameters": { "Features": want.features_param },
            "inferenceAdapter": {
                "wasm": onnx_wasm(), "timeoutMs": 5000, "memoryMb": 64,
                "files": [{ "host": model_dir.path(), "guest": "/model" }]
            }
        }]
    });
    let mut node = NodeProc::start(&config, None);
    // Generous: the node compiles the 11 MB component with Cranelift at startup.
    let nonce = wait_for(
        "a worker payload on topic 1",
        Duration::from_secs(240),
        || {
            let found = worker_nonces_with_payload(&dn, 1, &me, dn.height(), EPOCH)
                .first()
                .copied();
            async move { found }
        },
    )
    .await;
    let bundles = dn.worker_payloads(1, nonce);
    let bundle = bundles.iter().find(|b| b.worker == me).expect("our bundle");
    let values = &bundle
        .inference_forecasts_bundle
        .as_ref()
        .and_then(|b| b.inference.as_ref())
        .expect("an inference")
        .values;
    assert_eq!(values.len(), 1, "{values:?}");
    let got: f64 = values[0].value.parse().expect("a decimal");
    assert_f32_close(got, want.prediction, "devnet's recorded inference");
    let log = node.log_text();
    assert!(!log.contains("adapter_error"), "adapter failed:\n{log}");
    node.terminate();
    dn.shutdown().await;
}

/// `adapter run --mount` gives the same answer; without the mount the model is not there.
#[test]
fn adapter_run_mounts_the_model_directory() {
    let model_dir = tempfile::tempdir().unwrap();
    let want = train(model_dir.path());
    // One compile, then the cache: the second run does not pay Cranelift again.
    let cache = tempfile::tempdir().unwrap();
    let run = |mount: Option<String>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_allora-node"));
        cmd.args(["adapter", "run"])
            .arg(onnx_wasm())
            .arg("--cache-dir")
            .arg(cache.path())
            .args(["--role", "inference", "--param"])
            .arg(format!("Features={}", want.features_param));
        if let Some(m) = mount {
            cmd.arg("--mount").arg(m);
        }
        cmd.output().expect("run allora-node adapter run")
    };
    let ok = run(Some(format!("{}:/model", model_dir.path().display())));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("y\t"))
        .unwrap_or_else(|| panic!("no `y` value in:\n{stdout}"));
    assert_f32_close(
        value.trim().parse().unwrap(),
        want.prediction,
        "adapter run",
    );

    let missing = run(None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&missing.stdout),
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(!missing.status.success(), "ran without its model:\n{text}");
    assert!(text.contains("/model/model.onnx"), "{text}");
}
