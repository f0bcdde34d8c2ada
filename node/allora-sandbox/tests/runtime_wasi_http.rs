//! Standard `wasi:http` from a real compiled guest (`adapters-wasm/hostile`, modes `wasi-http*`,
//! built on the `wasip2` crate's bindings) obeys the same rules as the `allora:adapter/http`
//! import: allowlist, post-DNS address rules, no automatic redirects, body and request caps,
//! forbidden headers, and the call's time budget. Every server is on loopback and counts what
//! reached it, so a refused request is shown not to have left the host.

mod runtime_common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allora_sandbox::{CallError, LabeledValue, Limits, Role};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use runtime_common::*;

const ROLES: [Role; 1] = [Role::Inference];

/// Path and headers of every request a [`Recorder`] received.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// A loopback server that records the path and headers of every request it receives.
#[derive(Clone)]
struct Recorder {
    addr: std::net::SocketAddr,
    seen: Seen,
}

impl Recorder {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn allow(&self) -> String {
        self.addr.to_string()
    }

    fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn last_headers(&self) -> HeaderMap {
        self.seen
            .lock()
            .unwrap()
            .last()
            .expect("a request")
            .1
            .clone()
    }
}

async fn recorder() -> Recorder {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new()
        .route("/price/ETH", get(|| async { "3012.5\n" }))
        .route(
            "/series",
            get(|| async { "[100, 102, 104, 106, 108, 110]" }),
        )
        .route(
            "/redirect",
            get(|Query(q): Query<BTreeMap<String, String>>| async move {
                let to = q.get("to").cloned().unwrap_or_default();
                (StatusCode::FOUND, [(header::LOCATION, to)], "").into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "1"
            }),
        )
        // 5 MiB with a Content-Length, and 5 MiB streamed without one.
        .route("/big", get(|| async { "1".repeat(5 << 20) }))
        .route(
            "/big-chunked",
            get(|| async {
                let chunks = (0..80).map(|_| Ok::<_, std::io::Error>(vec![b'1'; 64 << 10]));
                Response::new(axum::body::Body::from_stream(futures::stream::iter(chunks)))
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            record,
            |State(seen): State<Seen>,
             req: axum::extract::Request,
             next: axum::middleware::Next| async move {
                let uri: &Uri = req.uri();
                seen.lock()
                    .unwrap()
                    .push((uri.path().to_string(), req.headers().clone()));
                next.run(req).await
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Recorder { addr, seen }
}

fn limits(timeout_ms: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: 64 << 20,
        ..Limits::default()
    }
}

/// One `wasi-http` call of the hostile guest with extra parameters.
async fn wasi_get(
    allow: &[String],
    l: Limits,
    url: &str,
    extra: &[(&str, &str)],
) -> Result<Vec<LabeledValue>, CallError> {
    let a = load("hostile.wasm", &ROLES, allow, l).await;
    let mut params = vec![("mode", "wasi-http"), ("url", url)];
    params.extend_from_slice(extra);
    a.infer(&ctx(1, 1, &params)).await
}

fn status(v: &[LabeledValue]) -> (&str, &str) {
    (v[0].value.as_str(), v[1].value.as_str())
}

/// The refusal as the call reports it: kind "http", the host's reason and the guest's code.
fn refused(r: Result<Vec<LabeledValue>, CallError>) -> String {
    let err = r.expect_err("the request must be refused");
    assert_eq!(err.kind(), "http", "{err}");
    err.to_string()
}

#[tokio::test]
async fn hosts_outside_the_allowlist_are_denied() {
    let up = recorder().await;
    let other = recorder().await;
    // Sanity: the exact allowlisted host:port is reachable through wasi:http.
    let ok = wasi_get(&[up.allow()], limits(5_000), &up.url("/price/ETH"), &[])
        .await
        .unwrap();
    assert_eq!(status(&ok), ("200", "7"));
    assert_eq!(up.hits(), 1);

    for (allow, url) in [
        (vec![], up.url("/price/ETH")),
        (vec![up.allow()], other.url("/price/ETH")),
        (
            vec![],
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
    ] {
        let e = refused(wasi_get(&allow, limits(5_000), &url, &[]).await);
        assert!(
            e.contains("not in the adapter's allowedHosts"),
            "{url}: {e}"
        );
        assert!(e.contains("ErrorCode::HttpRequestDenied"), "{url}: {e}");
    }
    assert_eq!((up.hits(), other.hits()), (1, 0));

    // Schemes other than http/https never reach the hook.
    let e = wasi_get(
        &[up.allow()],
        limits(5_000),
        &format!("ftp://{}/x", up.addr),
        &[],
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("ErrorCode::HttpProtocolError"),
        "{e}"
    );
    assert_eq!(up.hits(), 1);
}

#[tokio::test]
async fn names_resolving_to_private_addresses_need_the_opt_in() {
    let up = recorder().await;
    let port = up.addr.port();
    let url = format!("http://localhost:{port}/price/ETH");
    // A plain host:port entry for a DNS name: the name resolves to loopback → refused after
    // DNS (the rebinding case), nothing sent.
    let e = refused(wasi_get(&[format!("localhost:{port}")], limits(5_000), &url, &[]).await);
    assert!(e.contains("resolves to") && e.contains("loopback"), "{e}");
    assert!(e.contains("ErrorCode::DestinationIpProhibited"), "{e}");
    // Literal private addresses without their exact port are refused the same way.
    for (entry, url) in [
        (
            "169.254.169.254",
            "http://169.254.169.254/latest/meta-data/",
        ),
        ("10.1.2.3", "http://10.1.2.3/"),
        ("[::1]", "http://[::1]/"),
    ] {
        let e = refused(wasi_get(&[entry.into()], limits(5_000), url, &[]).await);
        assert!(e.contains("resolves to"), "{url}: {e}");
    }
    assert_eq!(up.hits(), 0);
    // The explicit opt-in lets that exact name reach the private address.
    let ok = wasi_get(
        &[format!("private:localhost:{port}")],
        limits(5_000),
        &url,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(status(&ok), ("200", "7"));
    assert_eq!(up.hits(), 1);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let up = recorder().await;
    let other = recorder().await;
    let allow = [up.allow()];
    for to in [other.url("/price/ETH"), "/price/ETH".to_string()] {
        let url = up.url(&format!("/redirect?to={to}"));
        let v = wasi_get(&allow, limits(5_000), &url, &[]).await.unwrap();
        assert_eq!(v[0].value, "302", "redirect to {to}");
    }
    // Only the two /redirect requests arrived; neither target was fetched by the host.
    let paths: Vec<String> = up
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(paths, ["/redirect", "/redirect"]);
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn oversized_response_bodies_are_cut() {
    let up = recorder().await;
    let l = Limits {
        max_response_bytes: 1 << 20,
        ..limits(10_000)
    };
    // Announced by Content-Length: refused before any of it reaches the guest.
    let e = refused(wasi_get(&[up.allow()], l.clone(), &up.url("/big"), &[]).await);
    assert!(
        e.contains("response too large: body over the cap of 1048576 bytes"),
        "{e}"
    );
    assert!(
        e.contains("ErrorCode::HttpResponseBodySize(Some(1048576))"),
        "{e}"
    );
    // Streamed without a length: the guest's body stream fails once the cap is passed.
    let e = refused(wasi_get(&[up.allow()], l, &up.url("/big-chunked"), &[]).await);
    assert!(
        e.contains("response too large: body over the cap of 1048576 bytes"),
        "{e}"
    );
    assert!(e.contains("body size exceeds limit: 1048576 bytes"), "{e}");
    let read: usize = e
        .split("reading the body after ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in {e}"));
    assert!(read <= 1 << 20, "the guest read {read} bytes past the cap");
}

#[tokio::test]
async fn requests_per_call_are_capped() {
    let up = recorder().await;
    let l = Limits {
        max_http_requests: 3,
        ..limits(10_000)
    };
    let a = load("hostile.wasm", &ROLES, &[up.allow()], l).await;
    let url = up.url("/price/ETH");
    let err = a
        .infer(&ctx(1, 1, &[("mode", "wasi-http-many"), ("url", &url)]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("after 3 requests: ErrorCode::ConnectionLimitReached"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("too many requests in one call (limit 3)"),
        "{err}"
    );
    assert_eq!(up.hits(), 3);
    // The budget is per call: the next call may fetch again.
    let v = a
        .infer(&ctx(1, 2, &[("mode", "wasi-http"), ("url", &url)]))
        .await
        .unwrap();
    assert_eq!(v[0].value, "200");
}

#[tokio::test]
async fn forbidden_request_headers_are_refused() {
    let up = recorder().await;
    let url = up.url("/price/ETH");
    for h in [
        "host: metadata.internal",
        "Connection: upgrade",
        "proxy-authorization: x",
    ] {
        let e = wasi_get(&[up.allow()], limits(5_000), &url, &[("header", h)])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("HeaderError::Forbidden"), "{h}: {e}");
    }
    assert_eq!(up.hits(), 0);
    // Ordinary headers pass, and Host is the URL's authority.
    let ok = wasi_get(
        &[up.allow()],
        limits(5_000),
        &url,
        &[("header", "x-api-key: k1")],
    )
    .await
    .unwrap();
    assert_eq!(ok[0].value, "200");
    let seen = up.last_headers();
    assert_eq!(
        seen.get("x-api-key").map(|v| v.as_bytes()),
        Some(&b"k1"[..])
    );
    assert_eq!(
        seen.get(header::HOST).map(|v| v.as_bytes()),
        Some(up.addr.to_string().as_bytes())
    );
}

#[tokio::test]
async fn request_timeouts_are_clamped_to_the_call_budget() {
    let up = recorder().await;
    // The guest asks for 60 s; the call has 700 ms. The request is cut before the call's
    // deadline, so the guest itself sees the timeout and the call reports it as "http".
    let started = Instant::now();
    let e = refused(
        wasi_get(
            &[up.allow()],
            limits(700),
            &up.url("/slow"),
            &[("timeout-ms", "60000")],
        )
        .await,
    );
    let took = started.elapsed();
    assert!(
        e.contains("timed out") && e.contains("ErrorCode::HttpResponseTimeout"),
        "{e}"
    );
    assert!(took < Duration::from_millis(700), "{took:?}");
    // A shorter timeout of the guest's own is honoured.
    let started = Instant::now();
    let e = refused(
        wasi_get(
            &[up.allow()],
            limits(10_000),
            &up.url("/slow"),
            &[("timeout-ms", "200")],
        )
        .await,
    );
    assert!(e.contains("timed out"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// JavaScript `fetch()` (componentize-js, StarlingMonkey) goes through the same hook.
#[tokio::test]
async fn js_fetch_is_held_to_the_allowlist() {
    let up = recorder().await;
    let params = [
        ("PriceEndpoint", up.url("/series")),
        ("Window", "3".to_string()),
    ];
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = load("js_fetch.wasm", &ROLES, &[up.allow()], limits(30_000)).await;
    let v = a.infer(&ctx(1, 1, &params)).await.unwrap();
    assert_eq!((v[0].label.as_str(), v[0].value.as_str()), ("y", "108"));
    assert_eq!(up.hits(), 1);
    let a = load(
        "js_fetch.wasm",
        &ROLES,
        &["prices.example.com".into()],
        limits(30_000),
    )
    .await;
    let e = refused(a.infer(&ctx(1, 1, &params)).await);
    assert!(
        e.contains("wasi:http denied") && e.contains("not in the adapter's allowedHosts"),
        "{e}"
    );
    assert_eq!(up.hits(), 1);
}
