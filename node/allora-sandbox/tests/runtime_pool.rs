//! The instance pool under load (issue 11 "Throughput"): calls beyond
//! `max_concurrent_instances` queue instead of failing, a call whose deadline passes while
//! queued fails with `queue_timeout` and is counted, the pool's gauges follow live
//! instances, and a busy-looping guest yields so another adapter's call completes on a
//! one-thread runtime. Real compiled components (`adapters-wasm/hostile`, `trivial`).

mod runtime_common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use allora_sandbox::{Adapter, AdapterRuntime, Limits, Role, RuntimeConfig};
use runtime_common::*;

/// A runtime of its own with `slots` pool slots (sharing the compiled-component cache).
fn small_runtime(slots: u32) -> AdapterRuntime {
    AdapterRuntime::new(RuntimeConfig {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("adapter-cache")),
        max_concurrent_instances: slots,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

fn limits(timeout_ms: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: 64 << 20,
        ..Limits::default()
    }
}

async fn hostile(rt: &AdapterRuntime, timeout_ms: u64) -> Adapter {
    rt.load(spec(
        "hostile.wasm",
        &[Role::Inference],
        &[],
        limits(timeout_ms),
    ))
    .await
    .expect("load hostile")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_pool_queue_instead_of_failing() {
    let rt = small_runtime(2);
    let a = hostile(&rt, 10_000).await;
    // Eight calls of 200 ms each on two slots: four rounds, every call succeeds.
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|topic| {
            let a = a.clone();
            tokio::spawn(async move {
                a.infer(&ctx(topic, 1, &[("mode", "sleep"), ("ms", "200")]))
                    .await
            })
        })
        .collect();
    // While they run, never more than two instances are alive and the rest wait.
    let mut max_live = 0;
    let mut saw_queue = false;
    while calls.iter().any(|c| !c.is_finished()) {
        let s = rt.pool_stats();
        max_live = max_live.max(s.instances_live);
        saw_queue |= s.queued > 0;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for c in calls {
        let v = c.await.unwrap().expect("a queued call succeeds");
        assert_eq!(v[0].value, "1", "each call had a fresh instance");
    }
    assert!(
        max_live <= 2 && max_live > 0,
        "live instances peaked at {max_live}"
    );
    assert!(saw_queue, "calls beyond the two slots should have queued");
    assert!(
        started.elapsed() >= Duration::from_millis(780),
        "four rounds of 200 ms: {:?}",
        started.elapsed()
    );
    let s = rt.pool_stats();
    assert_eq!(
        (s.instances_live, s.queued, s.queue_timeouts_total),
        (0, 0, 0)
    );
    assert_eq!(
        s.linear_memory_bytes, 0,
        "memory is given back with the stores"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_deadline_passes_in_the_queue_fails_typed_and_is_counted() {
    let rt = small_runtime(1);
    let a = hostile(&rt, 10_000).await;
    let holder = {
        let a = a.clone();
        tokio::spawn(async move {
            a.infer(&ctx(1, 1, &[("mode", "sleep"), ("ms", "800")]))
                .await
        })
    };
    // Wait until the one slot is taken.
    let until = Instant::now() + Duration::from_secs(5);
    while rt.pool_stats().instances_live == 0 {
        assert!(Instant::now() < until, "the first call never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The live instance holds linear memory, reported by the gauge.
    assert!(rt.pool_stats().linear_memory_bytes > 0);
    let mut c = ctx(2, 1, &[("mode", "count")]);
    c.deadline = Some(Instant::now() + Duration::from_millis(150));
    let started = Instant::now();
    let err = a.infer(&c).await.unwrap_err();
    assert_eq!(err.kind(), "queue_timeout", "{err}");
    assert!(err.to_string().contains("node.adapterInstances"), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rt.pool_stats().queue_timeouts_total, 1);
    // The holder is unaffected, and a later call gets the slot.
    holder.await.unwrap().expect("the running call completes");
    let v = a.infer(&ctx(3, 1, &[("mode", "count")])).await.unwrap();
    assert_eq!(v[0].value, "1");
    assert_eq!(rt.pool_stats().instances_live, 0);
}

/// One executor thread: the busy guest must yield, or the other call could not even start.
#[tokio::test(flavor = "current_thread")]
async fn a_busy_guest_does_not_starve_another_adapters_call_on_one_thread() {
    let rt = small_runtime(4);
    let busy = hostile(&rt, 1_500).await;
    let trivial = rt
        .load(spec("trivial.wasm", &[Role::Inference], &[], limits(5_000)))
        .await
        .expect("load trivial");
    let started = Instant::now();
    let spinning = tokio::spawn(async move { busy.infer(&ctx(1, 1, &[("mode", "loop")])).await });
    // Let the spinner get going first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c = ctx(2, 1, &[]);
    c.deadline = Some(Instant::now() + Duration::from_millis(500));
    let v = trivial
        .infer(&c)
        .await
        .expect("the other adapter answers in time");
    let answered = started.elapsed();
    assert_eq!(v[0].value, "42.5");
    assert!(
        answered < Duration::from_millis(600),
        "answered after {answered:?}"
    );
    assert!(
        !spinning.is_finished(),
        "the spinner is still running meanwhile"
    );
    // And the timeout still stops the spinner.
    let err = spinning.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    let stopped = started.elapsed();
    assert!(
        stopped >= Duration::from_millis(1_400) && stopped < Duration::from_millis(2_500),
        "stopped after {stopped:?}"
    );
    assert_eq!(rt.pool_stats().instances_live, 0);
}
