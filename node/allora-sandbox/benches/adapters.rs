//! Adapter runtime benchmarks (issue 2 "Performance"), printed as the markdown table that
//! goes into `docs/BENCHMARKS.md`.
//!
//! Run: `adapters-wasm/build.sh && cargo bench -p allora-node --bench adapters`
//! (`-- --quick` for fewer iterations). Measures, in one process and one run:
//! - per-call cost (fresh `Store` + instantiation + call + output validation) of the trivial
//!   Rust adapter, next to a plain loopback HTTP round trip;
//! - the same for the Rust smoothing model and the Python and JavaScript examples, whose calls
//!   include one loopback fetch through the sandboxed `http` import;
//! - warm instances (`warm`: one kept instance per topic, call only) vs fresh for the Rust
//!   smoothing model and the Python example, next to the seed's way: a loopback HTTP GET to a
//!   small Python stdlib HTTP server computing the same prediction (`--warm-only` runs just
//!   this table);
//! - compile time vs loading from the on-disk cache for every example;
//! - RSS with 100 loaded components.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use allora_sandbox::{
    Adapter, AdapterRuntime, AdapterSpec, CallContext, Limits, Role, RuntimeConfig, WarmConfig,
};
use axum::Router;
use axum::routing::get;

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

struct Stats {
    median: Duration,
    p99: Duration,
    n: usize,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let n = v.len();
    Stats {
        median: v[n / 2],
        p99: v[((n * 99) / 100).min(n - 1)],
        n,
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn time_calls(a: &Adapter, ctx: &CallContext, warmup: usize, n: usize) -> Stats {
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
    stats(v)
}

fn spec(file: &str, allow: &[String]) -> AdapterSpec {
    AdapterSpec {
        name: file.trim_end_matches(".wasm").to_string(),
        wasm: dist(file),
        roles: match file {
            "custom_loss.wasm" => vec![Role::Loss],
            "http_source.wasm" => vec![Role::Inference, Role::Forecast, Role::GroundTruth],
            _ => vec![Role::Inference],
        },
        limits: Limits::default(),
        allowed_hosts: allora_sandbox::netpolicy::Allowlist::parse(allow).expect("allowlist"),
        mounts: Vec::new(),
    }
}

/// The seed's model server, in miniature: a Python stdlib HTTP server (keep-alive) answering
/// every GET with the least-squares next value of the same series the adapters fetch, like the
/// Flask apps the Go node calls (one thread per connection, like Flask's dev server). `None` (row skipped) when `python3` is missing.
const PY_SERVER: &str = r#"
import http.server, sys
SERIES = [100.0, 102.0, 104.0, 106.0, 108.0, 110.0]
def predict(ys):
    n = len(ys); mx = (n - 1) / 2; my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in range(n))
    sxy = sum((x - mx) * (y - my) for x, y in enumerate(ys))
    return my + sxy / sxx * (n - mx)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        body = repr(predict(SERIES)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct PyServer {
    child: std::process::Child,
    url: String,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_server() -> Option<PyServer> {
    use std::io::BufRead;
    let mut child = std::process::Command::new("python3")
        .args(["-c", PY_SERVER])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port: u16 = line.trim().parse().ok()?;
    Some(PyServer {
        child,
        url: format!("http://127.0.0.1:{port}/predict"),
    })
}

/// Warm vs fresh per-call cost, and the seed's loopback-HTTP way, as table rows.
async fn warm_rows(
    rt: &AdapterRuntime,
    allow: &[String],
    price_ctx: &CallContext,
    scale: usize,
) -> Vec<String> {
    let mut rows = Vec::new();
    let warm = Some(WarmConfig {
        max_calls: u32::MAX,
        max_memory_bytes: Limits::default().memory_bytes,
    });
    for (file, what, n) in [
        (
            "smoothing_model.wasm",
            "Rust smoothing model (1 sandboxed fetch)",
            2000,
        ),
        (
            "py_inference.wasm",
            "Python example (componentize-py, 1 sandboxed fetch)",
            500,
        ),
    ] {
        let fresh = rt.load(spec(file, allow)).await.expect("load");
        let f = time_calls(&fresh, price_ctx, 20, n / scale).await;
        let kept = rt
            .load_with_warm(spec(file, allow), warm)
            .await
            .expect("load warm");
        let w = time_calls(&kept, price_ctx, 20, n / scale).await;
        let live = rt.pool_stats();
        rows.push(format!(
            "| {what}: fresh instance per call | {} | {} | {} |",
            us(f.median),
            us(f.p99),
            f.n
        ));
        rows.push(format!(
            "| {what}: warm instance (holds {:.1} MiB of linear memory) | {} | {} | {} |",
            live.linear_memory_bytes as f64 / (1 << 20) as f64,
            us(w.median),
            us(w.p99),
            w.n
        ));
    }
    match python_server() {
        Some(py) => {
            let client = reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            let n = 2000 / scale;
            let mut v = Vec::new();
            for i in 0..(n + 100) {
                let t = Instant::now();
                let body = client
                    .get(&py.url)
                    .send()
                    .await
                    .expect("get")
                    .text()
                    .await
                    .expect("body");
                if i >= 100 {
                    v.push(t.elapsed());
                }
                assert!(body.starts_with("112"), "{body}");
            }
            let s = stats(v);
            rows.push(format!(
                "| seed's way: loopback HTTP GET to a Python stdlib HTTP model server (keep-alive) | {} | {} | {} |",
                us(s.median),
                us(s.p99),
                s.n
            ));
        }
        None => rows.push("| seed's way: python3 not found, not measured | | | |".into()),
    }
    rows
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let warm_only = std::env::args().any(|a| a == "--warm-only");
    let scale = if quick { 10 } else { 1 };

    let app = Router::new()
        .route("/ping", get(|| async { "1" }))
        .route("/series", get(|| async { "[100,102,104,106,108,110]" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let allow = vec![addr.to_string()];

    let cache = std::env::temp_dir().join(format!("allora-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cfg = RuntimeConfig {
        cache_dir: Some(cache.clone()),
        ..RuntimeConfig::default()
    };
    let rt = AdapterRuntime::new(cfg.clone()).expect("runtime");
    println!("allocator: {:?}", rt.allocator());

    let mut rows: Vec<String> = Vec::new();
    let series = format!("http://{addr}/series");
    let price_ctx = CallContext {
        params: [("PriceEndpoint".to_string(), series)]
            .into_iter()
            .collect(),
        ..CallContext::default()
    };
    if warm_only {
        print_warm(warm_rows(&rt, &allow, &price_ctx, scale).await);
        let _ = std::fs::remove_dir_all(&cache);
        return;
    }

    // RSS with loaded components, measured first so the large Python/JS compilations below
    // do not inflate the baseline. Two cases: 100 adapters over 4 distinct Rust components
    // (identical bytes share one compiled component), and 100 *distinct* components (each
    // http_source.wasm made unique by an appended custom section, so nothing is shared).
    let before = rss_kib();
    let mut keep = Vec::new();
    let files = [
        "trivial.wasm",
        "http_source.wasm",
        "smoothing_model.wasm",
        "custom_loss.wasm",
    ];
    for i in 0..100 {
        keep.push(
            rt.load(spec(files[i % files.len()], &allow))
                .await
                .expect("load"),
        );
    }
    let after_shared = rss_kib();
    let distinct_dir = cache.join("distinct");
    std::fs::create_dir_all(&distinct_dir).expect("dir");
    let base = std::fs::read(dist("http_source.wasm")).expect("read");
    let rt_distinct = AdapterRuntime::new(RuntimeConfig::default()).expect("runtime");
    let before_distinct = rss_kib();
    for i in 0..100u8 {
        // Custom section: id 0, size 3, name length 1, name "x", one payload byte.
        let mut bytes = base.clone();
        bytes.extend_from_slice(&[0, 3, 1, b'x', i]);
        let p = distinct_dir.join(format!("c{i}.wasm"));
        std::fs::write(&p, &bytes).expect("write");
        let mut s = spec("http_source.wasm", &allow);
        s.wasm = p;
        keep.push(rt_distinct.load(s).await.expect("load distinct"));
    }
    let after_distinct = rss_kib();
    let mib = |k: u64| k as f64 / 1024.0;
    let mem_rows = vec![
        format!("| process before loading | {:.1} MiB | |", mib(before)),
        format!(
            "| 100 adapters over 4 Rust components (identical bytes shared) | {:.1} MiB | +{:.1} MiB |",
            mib(after_shared),
            mib(after_shared.saturating_sub(before))
        ),
        format!(
            "| + 100 distinct components (http_source variants, 150 KB each) | {:.1} MiB | +{:.1} MiB |",
            mib(after_distinct),
            mib(after_distinct.saturating_sub(before_distinct))
        ),
    ];

    // Plain loopback HTTP round trips: keep-alive client, and a fresh client per request
    // (what the sandboxed `http` import does, to pin resolved addresses per request).
    let url = format!("http://{addr}/ping");
    let client = reqwest::Client::new();
    let n_http = 2000 / scale;
    let mut v = Vec::new();
    for i in 0..(n_http + 100) {
        let t = Instant::now();
        let body = client
            .get(&url)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        if i >= 100 {
            v.push(t.elapsed());
        }
        assert_eq!(body, "1");
    }
    let http_keepalive = stats(v);
    let mut v = Vec::new();
    for i in 0..(n_http / 4 + 20) {
        let t = Instant::now();
        let c = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let body = c
            .get(&url)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        if i >= 20 {
            v.push(t.elapsed());
        }
        assert_eq!(body, "1");
    }
    let http_fresh = stats(v);

    let empty = CallContext::default();
    let trivial = rt.load(spec("trivial.wasm", &[])).await.expect("trivial");
    let s = time_calls(&trivial, &empty, 500, 10_000 / scale).await;
    rows.push(format!(
        "| trivial Rust adapter: fresh Store + instantiate + call | {} | {} | {} |",
        us(s.median),
        us(s.p99),
        s.n
    ));
    rows.push(format!(
        "| plain loopback HTTP GET (reqwest, keep-alive) | {} | {} | {} |",
        us(http_keepalive.median),
        us(http_keepalive.p99),
        http_keepalive.n
    ));
    rows.push(format!(
        "| plain loopback HTTP GET (new reqwest client per request) | {} | {} | {} |",
        us(http_fresh.median),
        us(http_fresh.p99),
        http_fresh.n
    ));

    // The smallest adapter doing one sandboxed fetch: isolates the cost of the `http` import
    // (allowlist, address rules, pinned pooled client, capped body) from model work.
    let fetcher = rt
        .load(AdapterSpec {
            roles: vec![Role::Inference],
            ..spec("hostile.wasm", &allow)
        })
        .await
        .expect("hostile");
    let ping_ctx = CallContext {
        params: [
            ("mode".to_string(), "http".to_string()),
            ("url".to_string(), url.clone()),
        ]
        .into_iter()
        .collect(),
        ..CallContext::default()
    };
    let s = time_calls(&fetcher, &ping_ctx, 100, 2000 / scale).await;
    rows.push(format!(
        "| minimal Rust adapter doing 1 sandboxed fetch of the same URL | {} | {} | {} |",
        us(s.median),
        us(s.p99),
        s.n
    ));

    for (file, what, n) in [
        (
            "smoothing_model.wasm",
            "Rust smoothing model (1 sandboxed fetch)",
            2000,
        ),
        (
            "py_inference.wasm",
            "Python example (componentize-py, 1 sandboxed fetch)",
            500,
        ),
        (
            "js_inference.wasm",
            "JavaScript example (componentize-js, 1 sandboxed fetch)",
            500,
        ),
    ] {
        let a = rt.load(spec(file, &allow)).await.expect("load");
        let s = time_calls(&a, &price_ctx, 20, n / scale).await;
        rows.push(format!(
            "| {what}: fresh Store + instantiate + call | {} | {} | {} |",
            us(s.median),
            us(s.p99),
            s.n
        ));
    }

    let warm = warm_rows(&rt, &allow, &price_ctx, scale).await;

    // Compile vs cached load, per example: a fresh cache dir compiles, a second runtime on
    // the same dir deserializes.
    let mut load_rows = Vec::new();
    for file in [
        "trivial.wasm",
        "http_source.wasm",
        "smoothing_model.wasm",
        "custom_loss.wasm",
        "py_inference.wasm",
        "js_inference.wasm",
    ] {
        let dir = cache.join(format!("load-{file}"));
        let cfg = RuntimeConfig {
            cache_dir: Some(dir.clone()),
            ..RuntimeConfig::default()
        };
        let rt1 = AdapterRuntime::new(cfg.clone()).expect("runtime");
        let first = rt1.load(spec(file, &allow)).await.expect("compile");
        let mut cached = Vec::new();
        for _ in 0..5 {
            // A new runtime each time: within one runtime identical bytes are shared.
            let rt2 = AdapterRuntime::new(cfg.clone()).expect("runtime");
            let a = rt2.load(spec(file, &allow)).await.expect("cached");
            cached.push(a.load_info().compile_time);
        }
        let cached = stats(cached).median;
        let compile = first.load_info().compile_time;
        let size = std::fs::metadata(dist(file)).map(|m| m.len()).unwrap_or(0);
        load_rows.push(format!(
            "| {file} | {:.1} MB | {} | {} | {:.0}× |",
            size as f64 / 1e6,
            ms(compile),
            ms(cached),
            compile.as_secs_f64() / cached.as_secs_f64().max(1e-9)
        ));
    }

    println!();
    println!("| per call | median | p99 | calls |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    print_warm(warm);
    println!();
    println!("| component | size | compile | cached load | speed-up |");
    println!("|---|---|---|---|---|");
    for r in load_rows {
        println!("{r}");
    }
    println!();
    println!("| memory | RSS | delta |");
    println!("|---|---|---|");
    for r in mem_rows {
        println!("{r}");
    }
    drop(keep);
    let _ = std::fs::remove_dir_all(&cache);
}

fn print_warm(rows: Vec<String>) {
    println!();
    println!("| warm vs fresh, per call | median | p99 | calls |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
