//! `hostile`: a deliberately misbehaving adapter for the runtime's sandbox tests. The `mode`
//! parameter selects the misbehaviour; every role is exported so one file covers them all.
//! Never deploy this.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/full" });

mod wasi_http;

use std::collections::BTreeMap;

use adapter_util::params;
use allora::adapter::http::{Request, fetch};
use allora::adapter::log::{Level, log};
use allora::adapter::types::{CallContext, ForecastValue, LabeledValue};

struct Hostile;

/// Calls this instance has served in the `count`/`grow` modes: a global, so it grows only
/// while the host keeps the instance warm (the warm-instance tests read it).
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Memory the `grow` mode keeps reachable across calls of a warm instance.
static HOARD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

fn count() -> Vec<LabeledValue> {
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    one(n.to_string())
}

fn one(value: String) -> Vec<LabeledValue> {
    vec![LabeledValue { label: "y".into(), value }]
}

fn run(p: &BTreeMap<String, String>) -> Result<Vec<LabeledValue>, String> {
    let mode = p.get("mode").map(String::as_str).unwrap_or("ok");
    match mode {
        "ok" => Ok(one("1.5".into())),
        "count" => Ok(count()),
        // Waits `ms` milliseconds on the WASI clock (the host is free meanwhile), then counts.
        "sleep" => {
            let ms: u64 = p.get("ms").and_then(|m| m.parse().ok()).unwrap_or(100);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(count())
        }
        // Keeps `mb` more MiB alive (default 4), then counts: a warm instance's memory grows.
        "grow" => {
            let mb: usize = p.get("mb").and_then(|m| m.parse().ok()).unwrap_or(4);
            HOARD.lock().map_err(|_| "poisoned".to_string())?.push(vec![1u8; mb << 20]);
            Ok(count())
        }
        "loop" => {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "big-string" => Ok(one("1".repeat(100 * 1024 * 1024))),
        "big-list" => Ok((0..1_000_000)
            .map(|i| LabeledValue { label: format!("l{i}"), value: "1".into() })
            .collect()),
        "trap" => panic!("hostile adapter panics on purpose"),
        "value" => Ok(one(p.get("value").cloned().unwrap_or_default())),
        "probe" => {
            // Everything the node has that the sandbox must hide: env, args, files, dirs.
            let env = std::env::vars().count();
            let args = std::env::args().count();
            let path = p.get("path").cloned().unwrap_or_else(|| "/etc/passwd".into());
            let file = std::fs::read_to_string(&path).is_ok();
            let root = std::fs::read_dir("/").is_ok();
            let cwd = std::fs::read_dir(".").is_ok();
            let secret = std::env::var("ALLORA_OFFCHAIN_NODE_MNEMONIC").is_ok();
            let b = |x: bool| if x { "1" } else { "0" }.to_string();
            Ok(vec![
                LabeledValue { label: "env".into(), value: env.to_string() },
                LabeledValue { label: "args".into(), value: args.to_string() },
                LabeledValue { label: "file".into(), value: b(file) },
                LabeledValue { label: "root".into(), value: b(root) },
                LabeledValue { label: "cwd".into(), value: b(cwd) },
                LabeledValue { label: "secret".into(), value: b(secret) },
            ])
        }
        "http" => {
            let url = p.get("url").cloned().unwrap_or_default();
            let resp = fetch(&Request { method: "GET".into(), url, headers: vec![], body: None })
                .map_err(|e| format!("fetch failed: {e:?}"))?;
            Ok(one(resp.status.to_string()))
        }
        "http-many" => {
            let url = p.get("url").cloned().unwrap_or_default();
            let mut n = 0u32;
            for _ in 0..1000 {
                match fetch(&Request { method: "GET".into(), url: url.clone(), headers: vec![], body: None }) {
                    Ok(_) => n += 1,
                    Err(e) => return Err(format!("after {n} requests: {e:?}")),
                }
            }
            Ok(one(n.to_string()))
        }
        // Standard wasi:http, under the same allowlist, address rules and limits.
        "wasi-http" => {
            let url = p.get("url").cloned().unwrap_or_default();
            let headers: Vec<(String, String)> = p
                .get("header")
                .and_then(|h| h.split_once(':'))
                .map(|(k, v)| vec![(k.trim().to_string(), v.trim().to_string())])
                .unwrap_or_default();
            let timeout = p.get("timeout-ms").and_then(|t| t.parse().ok());
            let got = wasi_http::get(&url, &headers, timeout).map_err(|e| format!("wasi:http failed: {e}"))?;
            Ok(vec![
                LabeledValue { label: "status".into(), value: got.status.to_string() },
                LabeledValue { label: "bytes".into(), value: got.body_bytes.to_string() },
            ])
        }
        "wasi-http-many" => {
            let url = p.get("url").cloned().unwrap_or_default();
            let mut n = 0u32;
            for _ in 0..1000 {
                match wasi_http::get(&url, &[], None) {
                    Ok(_) => n += 1,
                    Err(e) => return Err(format!("after {n} requests: {e}")),
                }
            }
            Ok(one(n.to_string()))
        }
        "stdout" => {
            println!("hello from the guest's stdout");
            eprintln!("and from its stderr");
            log(Level::Info, "and from the log import");
            Ok(one("2".into()))
        }
        "label" => Ok(vec![LabeledValue {
            label: p.get("label").cloned().unwrap_or_default(),
            value: "1".into(),
        }]),
        "log-inject" => {
            // Text that tries to start a forged line in a text-format log.
            let text = p.get("text").cloned().unwrap_or_default();
            log(Level::Info, &text);
            println!("{text}");
            Ok(one("3".into()))
        }
        "flood" => {
            use std::io::Write;
            let n: usize = p.get("bytes").and_then(|b| b.parse().ok()).unwrap_or(1 << 20);
            let chunk = [b'x'; 4096];
            let mut out = std::io::stdout();
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                let _ = out.write_all(&chunk[..k]);
                left -= k;
            }
            let _ = out.flush();
            Ok(one("4".into()))
        }
        "fs" => fs_op(p),
        other => Err(format!("unknown mode {other:?}")),
    }
}

/// One filesystem operation (`op`) on `path`, for the read-only mount tests: succeeds with a
/// count (bytes read, entries listed, 1) or fails with the WASI error text.
fn fs_op(p: &BTreeMap<String, String>) -> Result<Vec<LabeledValue>, String> {
    use std::io::Write;
    let op = p.get("op").map(String::as_str).unwrap_or("read");
    let path = p.get("path").cloned().unwrap_or_default();
    let fail = |e: std::io::Error| format!("{op} {path}: {e}");
    let n: usize = match op {
        "read" => std::fs::read(&path).map_err(fail)?.len(),
        "list" => std::fs::read_dir(&path).map_err(fail)?.count(),
        "write" => {
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).map_err(fail)?;
            f.write_all(b"overwritten").map_err(fail)?;
            1
        }
        "append" => {
            let mut f = std::fs::OpenOptions::new().append(true).open(&path).map_err(fail)?;
            f.write_all(b"appended").map_err(fail)?;
            1
        }
        "create" => {
            std::fs::write(&path, b"new").map_err(fail)?;
            1
        }
        "mkdir" => {
            std::fs::create_dir(&path).map_err(fail)?;
            1
        }
        "remove" => {
            std::fs::remove_file(&path).map_err(fail)?;
            1
        }
        other => return Err(format!("unknown op {other:?}")),
    };
    Ok(one(n.to_string()))
}

impl exports::allora::adapter::inference::Guest for Hostile {
    fn infer(ctx: CallContext) -> Result<Vec<LabeledValue>, String> {
        run(&params(&ctx.params))
    }
}

impl exports::allora::adapter::forecast::Guest for Hostile {
    fn forecast(ctx: CallContext, inferers: Vec<String>) -> Result<Vec<ForecastValue>, String> {
        let p = params(&ctx.params);
        let value = run(&p)?.remove(0).value;
        let mut out: Vec<ForecastValue> =
            inferers.into_iter().map(|inferer| ForecastValue { inferer, value: value.clone() }).collect();
        if let Some(extra) = p.get("extra-inferer") {
            out.push(ForecastValue { inferer: extra.clone(), value });
        }
        Ok(out)
    }
}

impl exports::allora::adapter::ground_truth::Guest for Hostile {
    fn ground_truth(ctx: CallContext) -> Result<String, String> {
        Ok(run(&params(&ctx.params))?.remove(0).value)
    }
}

impl exports::allora::adapter::loss::Guest for Hostile {
    fn loss(ctx: CallContext, _ground_truth: String, predictions: Vec<String>) -> Result<Vec<String>, String> {
        let value = run(&params(&ctx.params))?.remove(0).value;
        Ok(predictions.iter().map(|_| value.clone()).collect())
    }

    fn never_negative(_ctx: CallContext) -> Result<bool, String> {
        Ok(true)
    }
}

export!(Hostile);
