//! Fault injection for reliability tests: added latency, forced error responses, a share
//! of rejected broadcasts (or all of them until a height), broadcasts accepted but answered
//! with an error (lost answers), held broadcast answers (the tx is accepted and included, its
//! sender hears nothing until released: a crash between broadcast and ledger write), paused
//! block production, dropped or stalled ("half-closed") connections, and deaf websocket
//! sessions. One `Faults` handle (cheap to clone) is shared by every server; tests flip
//! switches at runtime via `DevnetHandle::faults()`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// A request the fault switches decided to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("devnet fault injection: forced error")]
pub(crate) struct InjectedFault;

#[derive(Debug)]
struct Inner {
    latency_ms: AtomicU64,
    fail_next: AtomicU32,
    fail_all: AtomicBool,
    reject_per_mille: AtomicU32,
    broadcasts_seen: AtomicU64,
    paused: AtomicBool,
    /// Bumped to drop (generation change) every open connection.
    drop_gen: watch::Sender<u64>,
    /// `(on, epoch)`: while on, connections opened before `epoch` began hang (half-open).
    stalled: watch::Sender<(bool, u64)>,
    /// While `Some(part)`: accepted broadcasts of a tx with a message type URL containing
    /// `part` (empty = every tx) get their answer held until released.
    hold_filter: Mutex<Option<String>>,
    /// Bumped to release every held broadcast answer.
    release_gen: watch::Sender<u64>,
    /// Hashes of the broadcasts whose answer was held, oldest first.
    held: Mutex<Vec<String>>,
    /// Broadcasts received by either server (accepted or refused).
    broadcasts_received: AtomicU64,
    /// Pause block production when an answer is held (the tx stays in the mempool).
    pause_on_hold: AtomicBool,
    /// Broadcasts still to accept into the mempool and then answer with an error.
    drop_responses: AtomicU32,
    /// Every broadcast is refused "mempool is full" while the committed height is below this.
    reject_until_height: AtomicI64,
    /// Broadcasts refused by `reject_until_height` so far.
    rejected: AtomicU64,
    /// `(on, epoch)`: while on, websocket sessions opened before `epoch` began deliver no
    /// events (they stay open and keep answering requests and pings).
    deaf: watch::Sender<(bool, u64)>,
    /// Consensus `block.max_bytes`: the proposer reaps mempool txs in order until the next
    /// one would exceed it (CometBFT's `ReapMaxBytesMaxGas`); the rest wait for later blocks.
    block_max_bytes: AtomicU64,
}

/// CometBFT's default consensus `block.max_bytes` (21 MiB), which allorad keeps.
pub const DEFAULT_BLOCK_MAX_BYTES: u64 = 22_020_096;

/// Shared fault switches. All default to "no fault".
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            inner: Arc::new(Inner {
                latency_ms: AtomicU64::new(0),
                fail_next: AtomicU32::new(0),
                fail_all: AtomicBool::new(false),
                reject_per_mille: AtomicU32::new(0),
                broadcasts_seen: AtomicU64::new(0),
                paused: AtomicBool::new(false),
                drop_gen: watch::channel(0).0,
                stalled: watch::channel((false, 0)).0,
                hold_filter: Mutex::new(None),
                release_gen: watch::channel(0).0,
                held: Mutex::new(Vec::new()),
                broadcasts_received: AtomicU64::new(0),
                pause_on_hold: AtomicBool::new(false),
                drop_responses: AtomicU32::new(0),
                reject_until_height: AtomicI64::new(0),
                rejected: AtomicU64::new(0),
                deaf: watch::channel((false, 0)).0,
                block_max_bytes: AtomicU64::new(DEFAULT_BLOCK_MAX_BYTES),
            }),
        }
    }
}

impl Faults {
    /// Adds `d` before every gRPC / JSON-RPC response.
    pub fn set_latency(&self, d: Duration) {
        self.inner
            .latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// The next `n` requests (gRPC or JSON-RPC) fail with an "unavailable" error.
    pub fn fail_next_requests(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Every request fails until turned off.
    pub fn set_fail_all(&self, on: bool) {
        self.inner.fail_all.store(on, Ordering::SeqCst);
    }

    /// Rejects this share (0.0–1.0) of broadcasts with "mempool is full" (code 20),
    /// deterministically spread (e.g. 0.5 rejects every second broadcast).
    pub fn reject_broadcast_share(&self, share: f64) {
        let pm = (share.clamp(0.0, 1.0) * 1000.0).round() as u32;
        self.inner.reject_per_mille.store(pm, Ordering::SeqCst);
        self.inner.broadcasts_seen.store(0, Ordering::SeqCst);
    }

    pub fn pause_blocks(&self) {
        self.inner.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume_blocks(&self) {
        self.inner.paused.store(false, Ordering::SeqCst);
    }

    /// Whether block production is paused.
    pub fn blocks_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// Abruptly closes every open gRPC/RPC/websocket connection (clients must redial).
    pub fn drop_connections(&self) {
        self.inner.drop_gen.send_modify(|g| *g += 1);
    }

    /// Makes open connections go silent without closing them (a half-open peer): reads and
    /// writes hang until `set_stalled(false)` or `drop_connections()`. New connections work.
    pub fn set_stalled(&self, on: bool) {
        self.inner.stalled.send_modify(|(flag, epoch)| {
            if on && !*flag {
                *epoch += 1;
            }
            *flag = on;
        });
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        self.fail_next_requests(0);
        self.set_fail_all(false);
        self.reject_broadcast_share(0.0);
        self.resume_blocks();
        self.set_stalled(false);
        self.stop_holding_broadcasts();
        self.drop_broadcast_responses(0);
        self.reject_broadcasts_until_height(0);
        self.set_events_deaf(false);
        self.set_block_max_bytes(DEFAULT_BLOCK_MAX_BYTES);
    }

    /// Sets the consensus `block.max_bytes` (sum of raw tx bytes a block may carry): a
    /// smaller value leaves txs in the mempool for later blocks, where they are rechecked.
    pub fn set_block_max_bytes(&self, bytes: u64) {
        self.inner.block_max_bytes.store(bytes, Ordering::SeqCst);
    }

    /// The consensus `block.max_bytes` in force.
    pub fn block_max_bytes(&self) -> u64 {
        self.inner.block_max_bytes.load(Ordering::SeqCst)
    }

    /// Applies latency and forced errors to one request.
    pub(crate) async fn on_request(&self) -> Result<(), InjectedFault> {
        let ms = self.inner.latency_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.inner.fail_all.load(Ordering::SeqCst) {
            return Err(InjectedFault);
        }
        let take = self
            .inner
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if take.is_ok() {
            Err(InjectedFault)
        } else {
            Ok(())
        }
    }

    /// Whether this broadcast should be rejected by the configured share.
    pub(crate) fn reject_this_broadcast(&self) -> bool {
        let pm = u64::from(self.inner.reject_per_mille.load(Ordering::SeqCst));
        if pm == 0 {
            return false;
        }
        let i = self.inner.broadcasts_seen.fetch_add(1, Ordering::SeqCst);
        // Reject when the running share crosses an integer boundary.
        ((i + 1) * pm) / 1000 > (i * pm) / 1000
    }

    pub(crate) fn drop_watch(&self) -> watch::Receiver<u64> {
        self.inner.drop_gen.subscribe()
    }

    pub(crate) fn stall_watch(&self) -> watch::Receiver<(bool, u64)> {
        self.inner.stalled.subscribe()
    }

    /// The next `n` broadcasts (gRPC `BroadcastTx` or RPC `broadcast_tx_*`) are processed
    /// as usual — a tx CheckTx accepts enters the mempool — and then answered with an
    /// "unavailable" error instead of their result: the client cannot tell whether its tx
    /// went in (a lost answer).
    pub fn drop_broadcast_responses(&self, n: u32) {
        self.inner.drop_responses.store(n, Ordering::SeqCst);
    }

    /// How many of the broadcasts `drop_broadcast_responses` asked for are still to come.
    pub fn broadcast_responses_to_drop(&self) -> u32 {
        self.inner.drop_responses.load(Ordering::SeqCst)
    }

    /// Refuses every broadcast with "mempool is full" (code 20) until the committed height
    /// reaches `height` (a full mempool for several blocks); 0 turns it off.
    pub fn reject_broadcasts_until_height(&self, height: i64) {
        self.inner
            .reject_until_height
            .store(height, Ordering::SeqCst);
    }

    /// Broadcasts refused by `reject_broadcasts_until_height` so far.
    pub fn broadcasts_rejected_by_height(&self) -> u64 {
        self.inner.rejected.load(Ordering::SeqCst)
    }

    /// Makes open websocket sessions deaf: they stay connected, answer requests and pings,
    /// but deliver no more events (a subscription a proxy or node silently dropped).
    /// Sessions opened afterwards work. `false` restores delivery.
    pub fn set_events_deaf(&self, on: bool) {
        self.inner.deaf.send_modify(|(flag, epoch)| {
            if on && !*flag {
                *epoch += 1;
            }
            *flag = on;
        });
    }

    /// Whether this broadcast's response is to be dropped (counts one down).
    pub(crate) fn drop_this_response(&self) -> bool {
        self.inner
            .drop_responses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Whether a broadcast at committed `height` is refused by the height switch (counted).
    pub(crate) fn reject_at_height(&self, height: i64) -> bool {
        let until = self.inner.reject_until_height.load(Ordering::SeqCst);
        let reject = height < until;
        if reject {
            self.inner.rejected.fetch_add(1, Ordering::SeqCst);
        }
        reject
    }

    /// The deafness epoch a websocket session opened now belongs to.
    pub(crate) fn deaf_epoch(&self) -> u64 {
        self.inner.deaf.borrow().1
    }

    /// Whether a session opened in deafness epoch `opened` may deliver events now.
    pub(crate) fn events_delivered(&self, opened: u64) -> bool {
        let (on, epoch) = *self.inner.deaf.borrow();
        !(on && opened < epoch)
    }
    /// Holds the answer to every accepted broadcast of a tx carrying a message whose type
    /// URL contains `type_url_part` ("" = any tx): the tx enters the mempool and is included
    /// as usual, but its sender hears nothing until [`Faults::release_held_broadcasts`],
    /// [`Faults::stop_holding_broadcasts`] or [`Faults::drop_connections`]. This is the
    /// window in which a node that is killed has broadcast a tx but not recorded it.
    pub fn hold_broadcasts(&self, type_url_part: &str) {
        *lock(&self.inner.hold_filter) = Some(type_url_part.to_string());
    }

    /// Like [`Faults::hold_broadcasts`], and the first held answer also pauses block
    /// production, so the held tx stays in the mempool (its fate unknown to the sender and
    /// not yet decided) until [`Faults::resume_blocks`].
    pub fn hold_broadcasts_and_pause_blocks(&self, type_url_part: &str) {
        self.inner.pause_on_hold.store(true, Ordering::SeqCst);
        self.hold_broadcasts(type_url_part);
    }

    /// Stops holding new broadcast answers and releases the held ones.
    pub fn stop_holding_broadcasts(&self) {
        self.inner.pause_on_hold.store(false, Ordering::SeqCst);
        *lock(&self.inner.hold_filter) = None;
        self.release_held_broadcasts();
    }

    /// Releases every broadcast answer held so far (later matching ones are held again
    /// while the switch is on).
    pub fn release_held_broadcasts(&self) {
        self.inner.release_gen.send_modify(|g| *g += 1);
    }

    /// Hashes (upper-case hex) of the broadcasts whose answer was held, oldest first.
    pub fn held_broadcasts(&self) -> Vec<String> {
        lock(&self.inner.held).clone()
    }

    /// Broadcasts received so far (gRPC `BroadcastTx` and RPC `broadcast_tx_*`, accepted
    /// or refused at CheckTx).
    pub fn broadcasts_received(&self) -> u64 {
        self.inner.broadcasts_received.load(Ordering::SeqCst)
    }

    /// Called by both servers after CheckTx, before answering a broadcast: counts it and,
    /// when the hold switch matches an accepted tx, waits for a release or a drop.
    pub(crate) async fn on_broadcast_answer(&self, tx: &[u8], accepted: bool) {
        self.inner
            .broadcasts_received
            .fetch_add(1, Ordering::SeqCst);
        let Some(part) = lock(&self.inner.hold_filter).clone() else {
            return;
        };
        if !accepted {
            return;
        }
        let Ok(decoded) = crate::ante::decode(tx) else {
            return;
        };
        if !decoded.type_urls.iter().any(|u| u.contains(&part)) {
            return;
        }
        if self.inner.pause_on_hold.load(Ordering::SeqCst) {
            self.pause_blocks();
        }
        let mut release = self.inner.release_gen.subscribe();
        let mut dropped = self.drop_watch();
        lock(&self.inner.held).push(decoded.hash.clone());
        tracing::info!(tx_hash = %decoded.hash, "devnet fault injection: holding the broadcast answer");
        tokio::select! {
            _ = release.changed() => {}
            _ = dropped.changed() => {}
        }
    }
}

/// Locks a switch; a poisoned lock (a panicked test thread) still yields the value.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_share_is_deterministic() {
        let f = Faults::default();
        f.reject_broadcast_share(0.5);
        let got: Vec<bool> = (0..6).map(|_| f.reject_this_broadcast()).collect();
        assert_eq!(got.iter().filter(|b| **b).count(), 3);
        f.reject_broadcast_share(0.0);
        assert!(!(0..10).any(|_| f.reject_this_broadcast()));
    }

    #[tokio::test]
    async fn held_answers_wait_for_release_and_count() {
        let f = Faults::default();
        f.hold_broadcasts("");
        // Undecodable bytes are never held (nothing to match), only counted.
        f.on_broadcast_answer(b"not a tx", true).await;
        assert_eq!(f.broadcasts_received(), 1);
        assert!(f.held_broadcasts().is_empty());
        f.stop_holding_broadcasts();
        f.on_broadcast_answer(b"not a tx", true).await;
        assert_eq!(f.broadcasts_received(), 2);
    }

    #[tokio::test]
    async fn fail_next_counts_down() {
        let f = Faults::default();
        f.fail_next_requests(2);
        assert!(f.on_request().await.is_err());
        assert!(f.on_request().await.is_err());
        assert!(f.on_request().await.is_ok());
    }

    #[test]
    fn height_rejection_counts_and_ends_at_the_height() {
        let f = Faults::default();
        f.reject_broadcasts_until_height(10);
        assert!(f.reject_at_height(8));
        assert!(f.reject_at_height(9));
        assert!(!f.reject_at_height(10));
        assert_eq!(f.broadcasts_rejected_by_height(), 2);
    }

    #[test]
    fn deafness_hits_only_sessions_opened_before() {
        let f = Faults::default();
        let old = f.deaf_epoch();
        f.set_events_deaf(true);
        let new = f.deaf_epoch();
        assert!(!f.events_delivered(old));
        assert!(f.events_delivered(new));
        f.set_events_deaf(false);
        assert!(f.events_delivered(old));
    }

    #[test]
    fn dropped_responses_count_down() {
        let f = Faults::default();
        f.drop_broadcast_responses(1);
        assert!(f.drop_this_response());
        assert!(!f.drop_this_response());
    }
}
