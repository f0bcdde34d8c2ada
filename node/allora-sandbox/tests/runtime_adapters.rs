//! The shipped and example adapters run in the real sandbox against a loopback server:
//! http-source (inference, forecast, ground truth with templating), the Rust smoothing model,
//! the Python and JavaScript examples, the custom loss, plus cache and inspection.

mod runtime_common;

use allora_sandbox::{AdapterRuntime, Limits, Role, RuntimeConfig};
use runtime_common::*;

#[tokio::test]
async fn http_source_matches_the_go_adapter() {
    let up = upstream().await;
    let a = load(
        "http_source.wasm",
        &[Role::Inference, Role::Forecast, Role::GroundTruth],
        &[up.allow()],
        Limits::default(),
    )
    .await;
    let inf = up.url("/inference/{TopicId}/{BlockHeight}");
    let c = ctx(7, 100, &[("InferenceEndpoint", &inf)]);
    let v = a.infer(&c).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].label.as_str(), v[0].value.as_str()), ("y", "7100"));

    let price = up.url("/price/{Token}");
    let v = a
        .infer(&ctx(
            1,
            5,
            &[("InferenceEndpoint", &price), ("Token", "ETH")],
        ))
        .await
        .unwrap();
    assert_eq!(v[0].value, "3012.5");

    let f = up.url("/forecast");
    let inferers = vec!["allo1aaa".to_string(), "allo1bbb".to_string()];
    let v = a
        .forecast(&ctx(1, 5, &[("ForecastEndpoint", &f)]), &inferers)
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = v
        .iter()
        .map(|f| (f.inferer.as_str(), f.value.as_str()))
        .collect();
    // First value of each known inferer, formatted like Go's %f; unknown inferers skipped.
    assert_eq!(
        got,
        vec![("allo1aaa", "0.250000"), ("allo1bbb", "1.500000")]
    );

    let t = up.url("/truth/{Token}/{BlockHeight}");
    let gt = a
        .ground_truth(&ctx(1, 5, &[("GroundTruthEndpoint", &t), ("Token", "ETH")]))
        .await
        .unwrap();
    assert_eq!(gt, "1234.5");

    // A missing parameter is the adapter's error, named.
    let err = a.infer(&ctx(3, 5, &[])).await.unwrap_err();
    assert_eq!(err.kind(), "adapter_error");
    assert!(err.to_string().contains("InferenceEndpoint"), "{err}");
    // An upstream 404 is an error too, not a value.
    let err = a
        .infer(&ctx(
            1,
            5,
            &[("InferenceEndpoint", &price), ("Token", "BTC")],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

/// The Go node's loss-function service, through http-source's loss role.
#[tokio::test]
async fn http_source_calls_a_loss_function_service() {
    let up = upstream().await;
    let a = load(
        "http_source.wasm",
        &[Role::Loss],
        &[up.allow()],
        Limits::default(),
    )
    .await;
    let svc = up.url("/loss");
    let c = ctx(
        2,
        50,
        &[
            ("LossFunctionService", &svc),
            ("LossMethodOptions", r#"{"loss_method": "sqe"}"#),
        ],
    );
    let preds = vec!["9".to_string(), "10.5".to_string()];
    assert_eq!(a.loss(&c, "10", &preds).await.unwrap(), vec!["1", "0.25"]);
    assert!(a.loss_never_negative(&c).await.unwrap());
    let other = ctx(
        2,
        50,
        &[
            ("LossFunctionService", &svc),
            ("LossMethodOptions", r#"{"loss_method": "poisson"}"#),
        ],
    );
    assert!(!a.loss_never_negative(&other).await.unwrap());
    // One request per prediction: a bundle larger than the request cap fails clearly.
    let many: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let err = a.loss(&c, "10", &many).await.unwrap_err();
    assert_eq!(err.kind(), "http", "{err}");
}

/// Holt's linear smoothing over a perfectly linear series predicts the next point.
#[tokio::test]
async fn smoothing_model_predicts_inside_the_sandbox() {
    let up = upstream().await;
    let a = load(
        "smoothing_model.wasm",
        &[Role::Inference],
        &[up.allow()],
        Limits::default(),
    )
    .await;
    let series = up.url("/series");
    let v = a
        .infer(&ctx(1, 1, &[("PriceEndpoint", &series)]))
        .await
        .unwrap();
    let y: f64 = v[0].value.parse().unwrap();
    assert!((y - 112.0).abs() < 1e-9, "{y}");
}

#[tokio::test]
async fn python_adapter_runs() {
    let up = upstream().await;
    let a = load(
        "py_inference.wasm",
        &[Role::Inference],
        &[up.allow()],
        Limits::default(),
    )
    .await;
    let series = up.url("/series");
    let v = a
        .infer(&ctx(1, 1, &[("PriceEndpoint", &series)]))
        .await
        .unwrap();
    // Least squares through 100, 102, ..., 110 → next is 112.
    let y: f64 = v[0].value.parse().unwrap();
    assert!((y - 112.0).abs() < 1e-9, "{y}");
    // And an http failure reaches Python as an exception it can report.
    let err = a
        .infer(&ctx(1, 1, &[("PriceEndpoint", "http://10.0.0.1/x")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "http", "{err}");
}

#[tokio::test]
async fn javascript_adapter_runs() {
    let up = upstream().await;
    let a = load(
        "js_inference.wasm",
        &[Role::Inference],
        &[up.allow()],
        Limits::default(),
    )
    .await;
    let series = up.url("/series");
    let v = a
        .infer(&ctx(1, 1, &[("PriceEndpoint", &series), ("Decay", "1")]))
        .await
        .unwrap();
    // Decay 1 → plain mean of the series.
    let y: f64 = v[0].value.parse().unwrap();
    assert!((y - 105.0).abs() < 1e-9, "{y}");
}

#[tokio::test]
async fn custom_loss_is_batched_and_never_negative() {
    let a = load("custom_loss.wasm", &[Role::Loss], &[], Limits::default()).await;
    let c = ctx(4, 9, &[("Quantile", "0.9")]);
    let preds = vec!["10".to_string(), "12".to_string(), "11".to_string()];
    let losses = a.loss(&c, "11", &preds).await.unwrap();
    // q=0.9: under-prediction by 1 → 0.9, over-prediction by 1 → 0.1 (0.09999999999999998 in f64), exact → 0.
    let as_f: Vec<f64> = losses.iter().map(|s| s.parse().unwrap()).collect();
    assert!(
        (as_f[0] - 0.9).abs() < 1e-12 && (as_f[1] - 0.1).abs() < 1e-12 && as_f[2] == 0.0,
        "{losses:?}"
    );
    assert!(a.loss_never_negative(&c).await.unwrap());
    let bad = a
        .loss_never_negative(&ctx(4, 9, &[("Quantile", "2")]))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), "adapter_error");
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let dir = scratch("cache");
    let cfg = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..RuntimeConfig::default()
    };
    let rt = AdapterRuntime::new(cfg.clone()).unwrap();
    let first = rt
        .load(spec(
            "trivial.wasm",
            &[Role::Inference],
            &[],
            Limits::default(),
        ))
        .await
        .unwrap();
    assert_eq!(
        first.load_info().source,
        allora_sandbox::cache::Source::Compiled
    );
    drop(rt);
    let rt = AdapterRuntime::new(cfg).unwrap();
    let second = rt
        .load(spec(
            "trivial.wasm",
            &[Role::Inference],
            &[],
            Limits::default(),
        ))
        .await
        .unwrap();
    assert_eq!(
        second.load_info().source,
        allora_sandbox::cache::Source::Cached
    );
    let v = second.infer(&ctx(1, 1, &[])).await.unwrap();
    assert_eq!(v[0].value, "42.5");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn inspect_lists_roles() {
    let rt = runtime();
    let i = rt
        .inspect("http_source", &dist("http_source.wasm"))
        .await
        .unwrap();
    assert_eq!(i.roles, Role::ALL.to_vec());
    assert!(
        i.exports
            .iter()
            .any(|e| e == "allora:adapter/inference@0.1.0"),
        "{:?}",
        i.exports
    );
    let i = rt
        .inspect("custom_loss", &dist("custom_loss.wasm"))
        .await
        .unwrap();
    assert_eq!(i.roles, vec![Role::Loss]);
}

#[tokio::test]
async fn adapters_can_be_called_concurrently() {
    let a = load("trivial.wasm", &[Role::Inference], &[], Limits::default()).await;
    let calls = (0..32).map(|i| {
        let a = a.clone();
        tokio::spawn(async move { a.infer(&ctx(i, 1, &[])).await })
    });
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap()[0].value, "42.5");
    }
}

/// `config validate` reads roles without compiling; for every shipped adapter it must agree
/// with what compiling and inspecting finds, or validate and run would disagree.
#[tokio::test]
async fn roles_read_without_compiling_match_the_compiled_inspection() {
    use allora_sandbox::static_exports::read_component_exports;
    let rt = runtime();
    let mut checked = 0;
    for entry in std::fs::read_dir(dist("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let compiled = rt.inspect(&name, &path).await.unwrap();
        let read = read_component_exports(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(read.roles(), compiled.roles, "{name}");
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} adapters in adapters-wasm/dist"
    );
}
