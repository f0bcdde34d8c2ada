//! Warm instances (issue 11): with `warm` set, a topic's instance survives between calls, so
//! a guest global counting calls grows; it resets after `max_calls`, after a trap, once the
//! instance's memory passes the high-water mark, and never when not warm; two topics never
//! share state; idle warm instances give up their pool slot to a call that needs one.
//! The real `adapters-wasm/hostile` component (`count`, `grow`, `trap` modes).

mod runtime_common;

use std::path::PathBuf;
use std::time::Duration;

use allora_sandbox::{Adapter, AdapterRuntime, Limits, Role, RuntimeConfig, WarmConfig};
use runtime_common::*;

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(10),
        memory_bytes: 128 << 20,
        ..Limits::default()
    }
}

async fn hostile(rt: &AdapterRuntime, warm: Option<WarmConfig>) -> Adapter {
    rt.load_with_warm(
        spec("hostile.wasm", &[Role::Inference], &[], limits()),
        warm,
    )
    .await
    .expect("load hostile")
}

fn warm(max_calls: u32, max_memory_mb: u64) -> Option<WarmConfig> {
    Some(WarmConfig {
        max_calls,
        max_memory_bytes: max_memory_mb << 20,
    })
}

/// The guest's call counter after one more call of `mode` on `topic`.
async fn count(a: &Adapter, topic: u64, mode: &[(&str, &str)]) -> u64 {
    let v = a.infer(&ctx(topic, 1, mode)).await.expect("call");
    v[0].value.parse().expect("a count")
}

const COUNT: &[(&str, &str)] = &[("mode", "count")];

#[tokio::test]
async fn warm_state_survives_calls_until_max_calls() {
    let a = hostile(&runtime(), warm(3, 128)).await;
    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(count(&a, 1, COUNT).await);
    }
    assert_eq!(seen, [1, 2, 3, 1, 2, 3, 1], "recycled after every 3 calls");
    assert_eq!(a.warm_recycled(), 2);
    assert_eq!(a.warm_idle(), 1);
}

#[tokio::test]
async fn without_warm_every_call_starts_fresh() {
    let a = hostile(&runtime(), None).await;
    for _ in 0..3 {
        assert_eq!(count(&a, 1, COUNT).await, 1);
    }
    assert_eq!(a.warm_idle(), 0);
}

#[tokio::test]
async fn a_trap_recycles_the_warm_instance() {
    let a = hostile(&runtime(), warm(1000, 128)).await;
    assert_eq!(count(&a, 1, COUNT).await, 1);
    assert_eq!(count(&a, 1, COUNT).await, 2);
    let err = a.infer(&ctx(1, 1, &[("mode", "trap")])).await.unwrap_err();
    assert_eq!(err.kind(), "trap", "{err}");
    assert_eq!(
        count(&a, 1, COUNT).await,
        1,
        "a fresh instance after the trap"
    );
    assert_eq!(count(&a, 1, COUNT).await, 2);
}

#[tokio::test]
async fn topics_never_see_each_others_state() {
    let a = hostile(&runtime(), warm(1000, 128)).await;
    for expected in 1..=3 {
        assert_eq!(count(&a, 7, COUNT).await, expected);
    }
    assert_eq!(count(&a, 8, COUNT).await, 1, "topic 8 has its own instance");
    assert_eq!(count(&a, 7, COUNT).await, 4);
    assert_eq!(count(&a, 8, COUNT).await, 2);
    assert_eq!(a.warm_idle(), 2);
}

#[tokio::test]
async fn memory_past_the_high_water_mark_recycles() {
    // Each `grow` call keeps 4 MiB more alive; the mark is 16 MiB.
    let a = hostile(&runtime(), warm(1000, 16)).await;
    let grow: &[(&str, &str)] = &[("mode", "grow"), ("mb", "4")];
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(count(&a, 1, grow).await);
    }
    let reset = seen
        .iter()
        .skip(1)
        .position(|&n| n == 1)
        .expect("the instance was recycled at the high-water mark");
    assert!(
        (2..=4).contains(&reset),
        "recycled after {} calls: {seen:?}",
        reset + 1
    );
    assert!(a.warm_recycled() >= 1);
    // Without the mark (up to the 128 MiB hard cap) the same calls keep one instance.
    let b = hostile(&runtime(), warm(1000, 128)).await;
    for expected in 1..=8 {
        assert_eq!(count(&b, 1, grow).await, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_warm_instances_give_their_slot_to_a_waiting_call() {
    let rt = AdapterRuntime::new(RuntimeConfig {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("adapter-cache")),
        max_concurrent_instances: 2,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let a = hostile(&rt, warm(1000, 128)).await;
    assert_eq!(count(&a, 1, COUNT).await, 1);
    assert_eq!(count(&a, 2, COUNT).await, 1);
    assert_eq!(
        rt.pool_stats().instances_live,
        2,
        "both slots held by idle instances"
    );
    // A third topic needs a slot: the oldest idle instance (topic 1) gives it up at once.
    let mut c = ctx(3, 1, COUNT);
    c.deadline = Some(std::time::Instant::now() + Duration::from_millis(500));
    let v = a
        .infer(&c)
        .await
        .expect("served without waiting for a deadline");
    assert_eq!(v[0].value, "1");
    assert_eq!(rt.pool_stats().queue_timeouts_total, 0);
    assert_eq!(count(&a, 2, COUNT).await, 2, "topic 2 stayed warm");
    assert_eq!(count(&a, 1, COUNT).await, 1, "topic 1 was evicted");
    assert!(rt.pool_stats().instances_live <= 2);
}
