//! `allora-node adapter run|inspect` on every example adapter against a loopback server,
//! through the real binary.

#[path = "../../allora-sandbox/tests/runtime_common/mod.rs"]
mod runtime_common;

use std::path::PathBuf;

use runtime_common::*;

async fn cli(args: Vec<String>) -> (i32, String, String) {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-adapter-cache");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_allora-node"));
    cmd.args(&args);
    if args.first().map(String::as_str) == Some("adapter")
        && args.get(1).map(String::as_str) == Some("run")
    {
        cmd.arg("--cache-dir").arg(cache);
    }
    let out = cmd
        .env("LOG_LEVEL", "error")
        .output()
        .await
        .expect("run allora-node");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn adapter_run_works_on_every_example() {
    let up = upstream().await;
    let allow = up.allow();
    let series = format!("PriceEndpoint={}", up.url("/series"));
    let inference = format!("InferenceEndpoint={}", up.url("/price/{Token}"));
    let forecast = format!("ForecastEndpoint={}", up.url("/forecast"));
    let truth = format!(
        "GroundTruthEndpoint={}",
        up.url("/truth/{Token}/{BlockHeight}")
    );
    let d = |f: &str| dist(f).to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            args(&[
                "adapter",
                "run",
                &d("http_source.wasm"),
                "--role",
                "inference",
                "--topic",
                "1",
                "--nonce",
                "100",
                "--param",
                "Token=ETH",
                "--param",
                &inference,
                "--allow-host",
                &allow,
            ]),
            "y\t3012.5",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("http_source.wasm"),
                "--role",
                "forecast",
                "--param",
                &forecast,
                "--inferer",
                "allo1bbb",
                "--allow-host",
                &allow,
            ]),
            "allo1bbb\t1.500000",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("http_source.wasm"),
                "--role",
                "ground-truth",
                "--param",
                "Token=ETH",
                "--param",
                &truth,
                "--allow-host",
                &allow,
            ]),
            "1234.5",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("smoothing_model.wasm"),
                "--role",
                "inference",
                "--param",
                &series,
                "--allow-host",
                &allow,
            ]),
            "y\t112",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("py_inference.wasm"),
                "--role",
                "inference",
                "--param",
                &series,
                "--allow-host",
                &allow,
            ]),
            "y\t112.0",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("js_inference.wasm"),
                "--role",
                "inference",
                "--param",
                &series,
                "--param",
                "Decay=1",
                "--allow-host",
                &allow,
            ]),
            "y\t105",
        ),
        (
            args(&[
                "adapter",
                "run",
                &d("custom_loss.wasm"),
                "--role",
                "loss",
                "--ground-truth",
                "11",
                "--prediction",
                "10",
                "--param",
                "Quantile=0.9",
            ]),
            "loss 0.9\tsubmitted -0.0457574905606751",
        ),
    ];
    for (a, want) in cases {
        let (code, out, err) = cli(a.clone()).await;
        assert_eq!(code, 0, "{a:?}\nstdout: {out}\nstderr: {err}");
        assert!(out.contains(want), "{a:?}: want {want:?} in\n{out}");
        assert!(
            out.contains("call:") && out.contains(" ms"),
            "timing missing: {out}"
        );
    }
    // A forbidden host is a clear error and exit code 1.
    let (code, _, err) = cli(args(&[
        "adapter",
        "run",
        &d("http_source.wasm"),
        "--role",
        "inference",
        "--param",
        &inference,
        "--param",
        "Token=ETH",
    ]))
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("not in the adapter's allowedHosts"), "{err}");
}

#[tokio::test]
async fn adapter_inspect_prints_version_and_roles() {
    let (code, out, err) = cli(args(&[
        "adapter",
        "inspect",
        &dist("http_source.wasm").to_string_lossy(),
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wit package: allora:adapter@0.1.0"), "{out}");
    assert!(
        out.contains("roles: inference, forecast, ground-truth, loss"),
        "{out}"
    );
    let (code, out, _) = cli(args(&[
        "adapter",
        "inspect",
        &dist("custom_loss.wasm").to_string_lossy(),
    ]))
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("roles: loss"), "{out}");
}
