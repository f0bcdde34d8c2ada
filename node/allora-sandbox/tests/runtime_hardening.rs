//! The "harder sandbox" findings of issue 12, each against the real runtime: compile bombs,
//! DNS names on exact `host:port` entries, planted compiled-code cache entries, and labels
//! with invisible characters. (Per-call memory: `state.rs` unit tests; output before host
//! copies: `runtime_rss.rs`; log escaping and stdout floods: `runtime_log.rs`.)

#[path = "../../../tests/support/compile_bomb.rs"]
mod bombs;
mod runtime_common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use allora_sandbox::cache::{self, Source};
use allora_sandbox::{AdapterRuntime, Limits, LoadError, Role, RuntimeConfig};
use runtime_common::*;

/// A small runtime of its own (no pool) so a test's settings and cache are isolated.
fn own_runtime(cache_dir: Option<PathBuf>, cfg: RuntimeConfig) -> AdapterRuntime {
    AdapterRuntime::new(RuntimeConfig {
        cache_dir,
        pooling: false,
        ..cfg
    })
    .expect("runtime")
}

/// A component wrapping one core module with a single function of `ops` × 4 instructions:
/// small on disk, slow to compile — a stand-in for the 361 KB, 25 s compile bomb.
fn compile_bomb(ops: usize) -> Vec<u8> {
    bombs::bare_component(1, ops)
}

#[tokio::test]
async fn oversized_wasm_is_refused_before_reading() {
    let rt = own_runtime(
        None,
        RuntimeConfig {
            max_wasm_bytes: 64 << 10,
            ..RuntimeConfig::default()
        },
    );
    let err = rt
        .load(spec(
            "hostile.wasm",
            &[Role::Inference],
            &[],
            Limits::default(),
        ))
        .await
        .err()
        .expect("a .wasm over the cap must not load");
    assert!(
        matches!(err, LoadError::TooLarge { limit, .. } if limit == 64 << 10),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("hostile") && text.contains("65536 bytes"),
        "{text}"
    );
}

#[tokio::test]
async fn compile_bomb_fails_its_topic_within_the_budget_and_others_load() {
    let dir = scratch("bomb");
    let bomb = dir.join("bomb.wasm");
    std::fs::write(&bomb, compile_bomb(100_000)).unwrap();
    let budget = Duration::from_millis(50);
    let rt = own_runtime(
        None,
        RuntimeConfig {
            compile_timeout: budget,
            ..RuntimeConfig::default()
        },
    );
    let mut s = spec("trivial.wasm", &[Role::Inference], &[], Limits::default());
    s.name = "bomb".into();
    s.wasm = bomb;
    let started = Instant::now();
    let err = rt.load(s).await.err().expect("the bomb must not load");
    let took = started.elapsed();
    assert!(
        matches!(err, LoadError::CompileBudget { limit, .. } if limit == budget),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("bomb") && text.contains("50ms"), "{text}");
    assert!(took < Duration::from_secs(3), "load waited {took:?}");
    // The next load on the same runtime does not wait for the abandoned compile: it gets
    // the compile slot at once and comes back (loaded, or over its own tight budget) promptly.
    let started = Instant::now();
    let next = rt
        .load(spec(
            "trivial.wasm",
            &[Role::Inference],
            &[],
            Limits::default(),
        ))
        .await;
    assert!(
        matches!(&next, Ok(_) | Err(LoadError::CompileBudget { .. })),
        "{:?}",
        next.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn exact_host_port_entry_for_a_dns_name_cannot_reach_loopback() {
    let up = upstream().await;
    let port = up.addr.port();
    let by_name = format!("http://localhost:{port}/price/ETH");
    // `localhost:<port>` is what a Go-style endpoint URL produces: refused after DNS.
    let a = load(
        "hostile.wasm",
        &[Role::Inference],
        &[format!("localhost:{port}")],
        Limits::default(),
    )
    .await;
    let err = a
        .infer(&ctx(3, 1, &[("mode", "http"), ("url", &by_name)]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "http", "{err}");
    assert!(err.to_string().contains("resolves to"), "{err}");
    // The explicit opt-in reaches it; the literal loopback IP entry still works as before.
    for (entry, url) in [
        (format!("private:localhost:{port}"), by_name.clone()),
        (up.allow(), up.url("/price/ETH")),
    ] {
        let a = load(
            "hostile.wasm",
            &[Role::Inference],
            std::slice::from_ref(&entry),
            Limits::default(),
        )
        .await;
        let ok = a
            .infer(&ctx(3, 1, &[("mode", "http"), ("url", &url)]))
            .await
            .unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert_eq!(ok[0].value, "200", "{entry}");
    }
}

#[tokio::test]
async fn planted_cache_entries_are_never_executed() {
    let root = scratch("cache");
    let one = |s: &str| spec(s, &[Role::Inference], &[], Limits::default());
    let rt = own_runtime(Some(root.clone()), RuntimeConfig::default());
    assert_eq!(
        rt.load(one("trivial.wasm"))
            .await
            .unwrap()
            .load_info()
            .source,
        Source::Compiled
    );
    let dir = cache::engine_dir(&root, rt.engine());
    let digest = |f: &str| cache::wasm_digest(&std::fs::read(dist(f)).unwrap());
    let (trivial, hostile) = (digest("trivial.wasm"), digest("hostile.wasm"));
    // Plant trivial's genuine compiled code (and its tag) under hostile's digest.
    for ext in ["cwasm", "tag"] {
        std::fs::copy(
            dir.join(format!("{trivial}.{ext}")),
            dir.join(format!("{hostile}.{ext}")),
        )
        .unwrap();
    }
    let rt = own_runtime(Some(root.clone()), RuntimeConfig::default());
    let h = rt.load(one("hostile.wasm")).await.unwrap();
    assert_eq!(
        h.load_info().source,
        Source::Compiled,
        "a planted entry was loaded"
    );
    assert_eq!(
        h.infer(&ctx(1, 1, &[("mode", "ok")])).await.unwrap()[0].value,
        "1.5"
    );
    // The node's own entry is used on the next start...
    let rt = own_runtime(Some(root.clone()), RuntimeConfig::default());
    assert_eq!(
        rt.load(one("hostile.wasm"))
            .await
            .unwrap()
            .load_info()
            .source,
        Source::Cached
    );
    // ...but not from a directory others can write to.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let rt = own_runtime(Some(root.clone()), RuntimeConfig::default());
        let src = rt
            .load(one("hostile.wasm"))
            .await
            .unwrap()
            .load_info()
            .source;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(src, Source::Compiled, "a world-writable cache was trusted");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn labels_with_invisible_or_bidi_characters_are_refused() {
    let a = load("hostile.wasm", &[Role::Inference], &[], Limits::default()).await;
    for bad in [
        "\u{202E}evil",
        "a\u{200B}b",
        "x\ny",
        "\u{2066}iso",
        "soft\u{00AD}hy",
        "\u{FEFF}bom",
    ] {
        let err = a
            .infer(&ctx(11, 1, &[("mode", "label"), ("label", bad)]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_value", "{bad:?}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("hostile") && text.contains("topic 11") && text.contains("U+"),
            "{text}"
        );
        assert!(
            !text.contains(bad),
            "the error must not carry the raw character: {text}"
        );
    }
    for good in ["y", "ETH-USD 5min", "prix-€", "中文"] {
        let v = a
            .infer(&ctx(11, 1, &[("mode", "label"), ("label", good)]))
            .await
            .unwrap();
        assert_eq!(v[0].label, good);
    }
}
