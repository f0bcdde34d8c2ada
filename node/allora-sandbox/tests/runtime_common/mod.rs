//! Shared support for the runtime tests: locating the compiled adapters, one shared
//! `AdapterRuntime` per test binary, call contexts, and a loopback HTTP server the adapters
//! fetch from (tests allowlist its exact `127.0.0.1:<port>`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use allora_sandbox::{
    Adapter, AdapterRuntime, AdapterSpec, CallContext, Limits, Role, RuntimeConfig,
};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// Path of a compiled adapter in `adapters-wasm/dist/`.
pub fn dist(file: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters-wasm/dist")
        .join(file);
    assert!(
        p.exists(),
        "{} is missing: run adapters-wasm/build.sh",
        p.display()
    );
    p
}

/// One runtime per test binary (one engine, like the node), with the compiled-component
/// cache under cargo's per-target temp dir so reruns skip compiling the Python/JS guests.
pub fn runtime() -> AdapterRuntime {
    static RT: OnceLock<AdapterRuntime> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("adapter-cache");
        AdapterRuntime::new(RuntimeConfig {
            cache_dir: Some(cache),
            ..RuntimeConfig::default()
        })
        .expect("runtime")
    })
    .clone()
}

/// A unique scratch directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "allora-rt-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn spec(file: &str, roles: &[Role], allowed: &[String], limits: Limits) -> AdapterSpec {
    AdapterSpec {
        name: file.trim_end_matches(".wasm").to_string(),
        wasm: dist(file),
        roles: roles.to_vec(),
        limits,
        allowed_hosts: allora_sandbox::netpolicy::Allowlist::parse(allowed).expect("allowlist"),
        mounts: Vec::new(),
    }
}

pub async fn load(file: &str, roles: &[Role], allowed: &[String], limits: Limits) -> Adapter {
    runtime()
        .load(spec(file, roles, allowed, limits))
        .await
        .expect("load adapter")
}

pub fn ctx(topic_id: u64, nonce: i64, params: &[(&str, &str)]) -> CallContext {
    CallContext {
        topic_id,
        nonce,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        deadline: None,
    }
}

/// A loopback HTTP server with the endpoints the adapters and tests use.
pub struct Upstream {
    pub addr: SocketAddr,
}

impl Upstream {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The exact allowlist entry for this server.
    pub fn allow(&self) -> String {
        self.addr.to_string()
    }
}

pub const SERIES: [f64; 6] = [100.0, 102.0, 104.0, 106.0, 108.0, 110.0];

pub async fn upstream() -> Upstream {
    let app = Router::new()
        .route(
            "/price/{token}",
            get(|Path(t): Path<String>| async move {
                match t.as_str() {
                    "ETH" => "3012.5\n".into_response(),
                    _ => (StatusCode::NOT_FOUND, "unknown token").into_response(),
                }
            }),
        )
        .route(
            "/inference/{topic}/{height}",
            get(|Path((t, h)): Path<(u64, i64)>| async move { format!("{}", t as i64 * 1000 + h) }),
        )
        .route(
            "/forecast",
            get(|| async { r#"{"allo1aaa": [0.25, 9], "allo1bbb": ["1.5"], "allo1zzz": [7]}"# }),
        )
        .route(
            "/truth/{token}/{height}",
            get(|Path((_t, _h)): Path<(String, i64)>| async { "\"1,234.5\"\n" }),
        )
        .route(
            "/series",
            get(|| async { serde_json::to_string(&SERIES).unwrap_or_default() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "1"
            }),
        )
        .route("/big", get(|| async { "1".repeat(5 << 20) }))
        // The Go node's loss-function service protocol (reference §F.1), squared error.
        .route("/loss/calculate", post(|Json(v): Json<serde_json::Value>| async move {
            let num = |k: &str| v[k].as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
            let method = v["options"]["loss_method"].as_str().unwrap_or("sqe").to_string();
            let loss = (num("y_true") - num("y_pred")).powi(2);
            Json(serde_json::json!({ "loss": format!("{loss}"), "method": method }))
        }))
        .route("/loss/is_never_negative", post(|Json(v): Json<serde_json::Value>| async move {
            Json(serde_json::json!({ "is_never_negative": v["options"]["loss_method"] == "sqe" }))
        }))
        .route(
            "/redirect",
            get(|Query(q): Query<BTreeMap<String, String>>| async move {
                let to = q.get("to").cloned().unwrap_or_default();
                Response::builder()
                    .status(StatusCode::FOUND)
                    .header(header::LOCATION, to)
                    .body(axum::body::Body::empty())
                    .unwrap_or_default()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream { addr }
}
