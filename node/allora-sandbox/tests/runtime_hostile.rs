//! Hostile guests against the sandbox (issue 2 "Hostile input"): every bullet with a real
//! compiled component (`adapters-wasm/hostile`), loopback servers only.

mod runtime_common;

use std::time::{Duration, Instant};

use allora_sandbox::{Limits, LoadError, Role};
use runtime_common::*;

const ALL: [Role; 4] = [
    Role::Inference,
    Role::Forecast,
    Role::GroundTruth,
    Role::Loss,
];

fn limits(timeout_ms: u64, memory_mb: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: memory_mb << 20,
        ..Limits::default()
    }
}

#[tokio::test]
async fn infinite_loop_is_stopped_at_the_deadline() {
    let a = load("hostile.wasm", &ALL, &[], limits(300, 64)).await;
    let started = Instant::now();
    let err = a.infer(&ctx(1, 1, &[("mode", "loop")])).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A call deadline earlier than the adapter timeout wins.
    let a = load("hostile.wasm", &ALL, &[], limits(10_000, 64)).await;
    let mut c = ctx(1, 1, &[("mode", "loop")]);
    c.deadline = Some(Instant::now() + Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(a.ground_truth(&c).await.unwrap_err().kind(), "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn memory_growth_past_the_cap_traps() {
    let a = load("hostile.wasm", &ALL, &[], limits(5_000, 32)).await;
    let err = a
        .infer(&ctx(1, 1, &[("mode", "memory")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "memory", "{err}");
    assert!(
        err.to_string().contains(&(32u64 << 20).to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn huge_string_is_rejected() {
    // Enough memory for the guest to build 100 MB; the output cap still rejects it.
    let a = load("hostile.wasm", &ALL, &[], limits(20_000, 512)).await;
    let err = a
        .infer(&ctx(1, 1, &[("mode", "big-string")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "output", "{err}");
    let err = a
        .ground_truth(&ctx(1, 1, &[("mode", "big-string")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "output", "{err}");
}

#[tokio::test]
async fn million_element_list_is_rejected() {
    let a = load("hostile.wasm", &ALL, &[], limits(20_000, 512)).await;
    let err = a
        .infer(&ctx(1, 1, &[("mode", "big-list")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "output", "{err}");
    // Refused by the host-copy budget while lifting, before the list is copied.
    assert!(err.to_string().contains("before copying"), "{err}");
}

#[tokio::test]
async fn trap_fails_that_call_only() {
    let a = load("hostile.wasm", &ALL, &[], Limits::default()).await;
    let err = a.infer(&ctx(5, 1, &[("mode", "trap")])).await.unwrap_err();
    assert_eq!(err.kind(), "trap", "{err}");
    let ok = a.infer(&ctx(5, 2, &[("mode", "ok")])).await.unwrap();
    assert_eq!(ok[0].value, "1.5");
    // Output to stdout/stderr and the log import does not disturb a call.
    assert_eq!(
        a.infer(&ctx(5, 3, &[("mode", "stdout")])).await.unwrap()[0].value,
        "2"
    );
}

async fn http_err(allow: &[String], url: &str) -> String {
    let a = load("hostile.wasm", &ALL, allow, limits(5_000, 64)).await;
    let err = a
        .infer(&ctx(1, 1, &[("mode", "http"), ("url", url)]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "http", "{err}");
    err.to_string()
}

#[tokio::test]
async fn http_to_forbidden_targets_is_refused() {
    let up = upstream().await;
    let other = upstream().await;
    // Sanity: the exact allowlisted loopback host:port works.
    let a = load("hostile.wasm", &ALL, &[up.allow()], Limits::default()).await;
    let ok = a
        .infer(&ctx(
            1,
            1,
            &[("mode", "http"), ("url", &up.url("/price/ETH"))],
        ))
        .await
        .unwrap();
    assert_eq!(ok[0].value, "200");

    // Not allowlisted at all.
    let e = http_err(&[], &up.url("/price/ETH")).await;
    assert!(e.contains("not in the adapter's allowedHosts"), "{e}");
    // Loopback on another port than the allowlisted one.
    let e = http_err(&[up.allow()], &other.url("/price/ETH")).await;
    assert!(e.contains("not in the adapter's allowedHosts"), "{e}");
    // localhost allowlisted only as a name (ports 80/443): resolves to loopback → refused.
    let e = http_err(&["localhost".into()], "http://localhost/").await;
    assert!(e.contains("resolves to") && e.contains("loopback"), "{e}");
    // 127.0.0.1 allowlisted without its port: the address rule still refuses it.
    let e = http_err(&["127.0.0.1".into()], "http://127.0.0.1/").await;
    assert!(e.contains("resolves to 127.0.0.1"), "{e}");
    // Cloud metadata endpoint, with and without a loose allowlist entry.
    let e = http_err(&[], "http://169.254.169.254/latest/meta-data/").await;
    assert!(e.contains("not in the adapter's allowedHosts"), "{e}");
    let e = http_err(
        &["169.254.169.254".into()],
        "http://169.254.169.254/latest/meta-data/",
    )
    .await;
    assert!(e.contains("resolves to 169.254.169.254"), "{e}");
    // Private ranges and v6 loopback under a wildcard/port-less entry.
    let e = http_err(&["10.1.2.3".into()], "http://10.1.2.3/").await;
    assert!(e.contains("resolves to 10.1.2.3"), "{e}");
    let e = http_err(&["[::1]".into()], "http://[::1]/").await;
    assert!(e.contains("resolves to ::1"), "{e}");
    // Other schemes.
    let e = http_err(&[up.allow()], &format!("file:///etc/passwd#{}", up.addr)).await;
    assert!(e.contains("denied"), "{e}");
}

#[tokio::test]
async fn redirects_are_rechecked_on_every_hop() {
    let up = upstream().await;
    let other = upstream().await;
    let allow = vec![
        up.allow(),
        "localhost".to_string(),
        "169.254.169.254".to_string(),
    ];
    // A redirect within the allowlisted server is followed.
    let a = load("hostile.wasm", &ALL, &allow, Limits::default()).await;
    let url = up.url("/redirect?to=/price/ETH");
    let ok = a
        .infer(&ctx(1, 1, &[("mode", "http"), ("url", &url)]))
        .await
        .unwrap();
    assert_eq!(ok[0].value, "200");
    for (target, why) in [
        (other.url("/price/ETH"), "not in the adapter's allowedHosts"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "resolves to 169.254.169.254",
        ),
        ("http://localhost/".to_string(), "resolves to"),
        (
            "http://10.0.0.1:8080/".to_string(),
            "not in the adapter's allowedHosts",
        ),
    ] {
        let url = up.url(&format!("/redirect?to={target}"));
        let e = http_err(&allow, &url).await;
        assert!(e.contains(why), "redirect to {target}: {e}");
    }
}

#[tokio::test]
async fn slow_upstream_is_cut_at_the_deadline() {
    let up = upstream().await;
    let a = load("hostile.wasm", &ALL, &[up.allow()], limits(700, 64)).await;
    let started = Instant::now();
    let err = a
        .infer(&ctx(1, 1, &[("mode", "http"), ("url", &up.url("/slow"))]))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), "timeout" | "http"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn request_count_and_response_size_are_capped() {
    let up = upstream().await;
    let l = Limits {
        max_http_requests: 3,
        max_response_bytes: 1 << 20,
        ..Limits::default()
    };
    let a = load("hostile.wasm", &ALL, &[up.allow()], l).await;
    let err = a
        .infer(&ctx(
            1,
            1,
            &[("mode", "http-many"), ("url", &up.url("/price/ETH"))],
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("after 3 requests: Error::TooManyRequests"),
        "{err}"
    );
    let err = a
        .infer(&ctx(1, 1, &[("mode", "http"), ("url", &up.url("/big"))]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TooLarge"), "{err}");
}

#[tokio::test]
async fn guest_cannot_see_env_files_or_args() {
    let dir = scratch("secret");
    let secret = dir.join("config.json");
    std::fs::write(
        &secret,
        r#"{"wallet":{"addressRestoreMnemonic":"abandon abandon ..."}}"#,
    )
    .unwrap();
    // SAFETY: set before the guest runs; no other thread of this test reads the environment.
    unsafe { std::env::set_var("ALLORA_OFFCHAIN_NODE_MNEMONIC", "abandon abandon abandon") };
    let a = load("hostile.wasm", &ALL, &[], Limits::default()).await;
    let path = secret.to_string_lossy().to_string();
    let v = a
        .infer(&ctx(1, 1, &[("mode", "probe"), ("path", &path)]))
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = v
        .iter()
        .map(|l| (l.label.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("env", "0"),
            ("args", "0"),
            ("file", "0"),
            ("root", "0"),
            ("cwd", "0"),
            ("secret", "0")
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn non_numeric_values_are_rejected_with_context() {
    let a = load("hostile.wasm", &ALL, &[], Limits::default()).await;
    for bad in ["NaN", "Infinity", "-inf", "", "abc", "1.2.3", "0x10"] {
        let err = a
            .infer(&ctx(7, 1, &[("mode", "value"), ("value", bad)]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_value", "{bad:?}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("hostile") && text.contains("topic 7") && text.contains("inference"),
            "{text}"
        );
        let err = a
            .ground_truth(&ctx(8, 1, &[("mode", "value"), ("value", bad)]))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("topic 8") && err.to_string().contains("ground-truth"),
            "{err}"
        );
        let preds = vec!["1".to_string()];
        let err = a
            .loss(
                &ctx(9, 1, &[("mode", "value"), ("value", bad)]),
                "1",
                &preds,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_value", "{err}");
    }
    // Accepted values come back canonical.
    let v = a
        .infer(&ctx(7, 1, &[("mode", "value"), ("value", "1.2345e-07")]))
        .await
        .unwrap();
    assert_eq!(v[0].value, "1.2345E-7");
    // Forecasts may only name the inferers passed in.
    let inferers = vec!["allo1aaa".to_string()];
    let err = a
        .forecast(
            &ctx(7, 1, &[("mode", "ok"), ("extra-inferer", "allo1evil")]),
            &inferers,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_value", "{err}");
}

#[tokio::test]
async fn bad_components_fail_at_load() {
    let dir = scratch("bad");
    // A core module (the 8-byte empty module) is not a component.
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let mut s = spec("trivial.wasm", &[Role::Inference], &[], Limits::default());
    s.wasm = core;
    let err = runtime()
        .load(s.clone())
        .await
        .err()
        .expect("core module must not load");
    assert!(matches!(err, LoadError::NotComponent { .. }), "{err}");
    assert!(err.to_string().contains("not a component"), "{err}");
    // Junk.
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"not wasm at all").unwrap();
    s.wasm = junk;
    let err = runtime().load(s).await.err().expect("junk must not load");
    assert!(matches!(err, LoadError::Invalid { .. }), "{err}");
    // A loss adapter configured for inference lacks the export.
    let err = runtime()
        .load(spec(
            "custom_loss.wasm",
            &[Role::Inference],
            &[],
            Limits::default(),
        ))
        .await
        .err()
        .expect("missing export must fail at load");
    assert!(
        matches!(
            err,
            LoadError::MissingExport {
                role: Role::Inference,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("allora:adapter/inference@0.1.0"),
        "{err}"
    );
    // A bad allowlist entry is named by the one parser that builds the typed policy a load
    // takes (the node's config validation uses it), so no load ever sees it.
    let err = allora_sandbox::netpolicy::Allowlist::parse(&["ftp://x"]).expect_err("bad allowlist");
    assert!(err.contains("ftp://x"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
