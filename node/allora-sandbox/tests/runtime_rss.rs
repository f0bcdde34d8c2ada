//! Output caps apply before the host copies a result (issue 12): a guest returning a 100 MB
//! string must be refused by wasmtime's host-copy budget while lifting, so host RSS does
//! not grow by the string's size. Its own test binary, so no other test moves the RSS.

mod runtime_common;

use std::time::Duration;

use allora_sandbox::{Limits, Role};
use runtime_common::*;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn oversized_result_is_refused_without_copying_it_to_the_host() {
    assert!(
        std::path::Path::new("/proc/self/status").exists(),
        "this test measures RSS through /proc (Linux)"
    );
    let l = Limits {
        timeout: Duration::from_secs(20),
        memory_bytes: 512 << 20,
        ..Limits::default()
    };
    let a = load("hostile.wasm", &[Role::Inference], &[], l).await;
    assert_eq!(
        a.infer(&ctx(1, 1, &[("mode", "ok")])).await.unwrap()[0].value,
        "1.5"
    );
    // Reset the peak to the current RSS (Linux ≥ 4.0); else measure from the peak so far.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset {
        status_kb("VmRSS:")
    } else {
        status_kb("VmHWM:")
    };
    let err = a
        .infer(&ctx(1, 1, &[("mode", "big-string")]))
        .await
        .unwrap_err();
    let peak = status_kb("VmHWM:");
    assert_eq!(err.kind(), "output", "{err}");
    assert!(err.to_string().contains("before copying"), "{err}");
    let grown_mb = peak.saturating_sub(before) / 1024;
    eprintln!("peak RSS grew by {grown_mb} MB (guest memory ~100 MB; reset={reset})");
    // The guest's own 100 MB linear memory is resident; a host copy would add another 100 MB.
    assert!(
        grown_mb < 160,
        "host RSS grew by {grown_mb} MB: the result was copied"
    );
}
