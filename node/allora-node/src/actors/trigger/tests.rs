//! Polling schedule over the in-memory ports, in paused time: window queries are counted
//! per topic by the fake chain, so "no tick polls" is an exact count, not a timing guess.

use std::sync::Arc;
use std::time::Duration;

use crate::actors::fakes::*;
use crate::actors::ports::{OpenWindow, Role, TxErrorKind, TxFailure};
use crate::actors::wakeup::Wakeups;
use crate::actors::worker::WorkerActor;

const LOOP: Duration = Duration::from_secs(1);
const TOPICS: u64 = 10;

/// `TOPICS` registered worker actors polling every `LOOP`, started now.
fn spawn_workers(r: &Rig) {
    for t in 1..=TOPICS {
        r.chain.0.lock().unwrap().registered.push((t, Role::Worker));
        let w = WorkerActor {
            env: r.env.clone(),
            topic_id: t,
            interval: LOOP,
            inference: Arc::new(FakeAdapter::new("1")),
            inference_params: params(),
            forecast: None,
            forecast_params: params(),
        };
        tokio::spawn(w.run(Wakeups::new()));
    }
}

/// Window queries per topic so far.
fn polls(r: &Rig) -> Vec<u64> {
    let c = r.chain.0.lock().unwrap();
    (1..=TOPICS)
        .map(|t| c.window_queries.get(&t).copied().unwrap_or(0))
        .collect()
}

fn each(n: u64) -> Vec<u64> {
    vec![n; TOPICS as usize]
}

async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Healthy stream, nothing pending: one look at start, then none over 20 ticks; the safety
/// poll still comes.
#[tokio::test(start_paused = true)]
async fn healthy_stream_no_tick_polls() {
    let r = rig(false);
    r.env.stream.beat();
    spawn_workers(&r);
    advance(Duration::from_millis(100)).await;
    assert_eq!(polls(&r), each(1), "one look at start");
    advance(LOOP * 20).await;
    assert_eq!(polls(&r), each(1), "no tick polls while healthy");
    advance(r.env.stream.safety_poll()).await;
    assert_eq!(polls(&r), each(2), "one safety poll");
    r.env.shutdown.cancel();
}

/// No heartbeat ever (no websocket, or never connected): polls every `loopSeconds`, as
/// before.
#[tokio::test(start_paused = true)]
async fn unhealthy_stream_polls_every_loop() {
    let r = rig(false);
    spawn_workers(&r);
    advance(LOOP * 20 + Duration::from_millis(100)).await;
    assert_eq!(polls(&r), each(21));
    r.env.shutdown.cancel();
}

/// A healthy stream that goes deaf: tick polling resumes at once and then every
/// `loopSeconds`; back to health: one poll, then quiet again.
#[tokio::test(start_paused = true)]
async fn deaf_then_healthy_again() {
    let r = rig(false);
    r.env.stream.beat();
    spawn_workers(&r);
    advance(LOOP * 10).await;
    assert_eq!(polls(&r), each(1));
    r.env.stream.deaf();
    advance(Duration::from_millis(100)).await;
    assert_eq!(
        polls(&r),
        each(2),
        "stale tick fires once when the stream turns deaf"
    );
    advance(LOOP * 5).await;
    assert_eq!(polls(&r), each(7), "then every loopSeconds");
    r.env.stream.beat();
    advance(Duration::from_millis(100)).await;
    assert_eq!(polls(&r), each(8), "one poll on the return to health");
    advance(LOOP * 20).await;
    assert_eq!(polls(&r), each(8), "quiet again");
    r.env.shutdown.cancel();
}

/// A resubscription: every actor polls once at once, polls every `loopSeconds` until a
/// heartbeat arrives on the new connection, once more then, and is quiet afterwards.
#[tokio::test(start_paused = true)]
async fn resubscribe_polls_each_actor_once() {
    let r = rig(false);
    r.env.stream.beat();
    spawn_workers(&r);
    advance(LOOP * 5).await;
    assert_eq!(polls(&r), each(1));
    r.env.stream.resubscribed();
    advance(Duration::from_millis(100)).await;
    assert_eq!(polls(&r), each(2), "one poll per actor on resubscription");
    advance(LOOP * 3).await;
    assert_eq!(
        polls(&r),
        each(5),
        "no heartbeat yet: polls every loopSeconds"
    );
    r.env.stream.beat();
    advance(Duration::from_millis(100)).await;
    assert_eq!(
        polls(&r),
        each(6),
        "heartbeat on the new connection: one more"
    );
    advance(LOOP * 20).await;
    assert_eq!(polls(&r), each(6));
    r.env.shutdown.cancel();
}

/// Healthy stream, but a nonce that keeps failing: the actor polls every `loopSeconds` for
/// its retries until the window closes, then goes quiet.
#[tokio::test(start_paused = true)]
async fn unsettled_nonce_keeps_polling_while_healthy() {
    let r = rig(false);
    r.env.stream.beat();
    {
        let mut c = r.chain.0.lock().unwrap();
        c.worker_windows = vec![OpenWindow {
            nonce: 10,
            end_block: None,
            end_time: None,
        }];
    }
    r.tx.fail
        .lock()
        .unwrap()
        .extend((0..10_000).map(|_| TxFailure::new(TxErrorKind::Transport, None, "down")));
    spawn_workers(&r);
    advance(LOOP * 5 + Duration::from_millis(100)).await;
    assert_eq!(polls(&r), each(6), "busy: polls every loopSeconds");
    r.chain.0.lock().unwrap().worker_windows.clear();
    advance(LOOP).await;
    assert_eq!(polls(&r), each(7), "this poll finds the window closed");
    advance(LOOP * 20).await;
    assert_eq!(polls(&r), each(7), "nothing pending: quiet");
    r.env.shutdown.cancel();
}
