//! The deafness watchdog of the event websocket. Topic-filtered subscriptions are silent
//! between epochs, so silence on them proves nothing; the connection therefore also
//! subscribes to a per-block heartbeat (`NewBlockHeader`), and a connection that delivers
//! no block for `deaf_after_blocks` × the expected block time is presumed deaf (open and
//! answering pings, but no longer delivering events) and replaced by a new one.
//!
//! The expected block time is measured here from the heartbeats themselves (median of the
//! recent gaps), starting from an estimate, so the same setting fits 1 s devnets and 5 s
//! networks. While the chain itself stops producing blocks the watchdog would fire on every
//! new connection: each firing without a block in between doubles the limit (capped), so a
//! halted chain costs a reconnect now and then, not a reconnect loop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Shortest silence ever taken as deafness (fast devnets, delivery jitter).
const MIN_LIMIT: Duration = Duration::from_secs(1);
/// Longest silence waited for before reconnecting (a halted chain).
const MAX_LIMIT: Duration = Duration::from_secs(120);
/// Gaps kept for the block-time median.
const GAPS: usize = 16;

/// Why the event stream opened a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resubscribe {
    /// The watchdog found the connection deaf (no block heartbeat in time).
    Deaf,
    /// The connection failed or closed (or could not be opened).
    Lost,
}

impl Resubscribe {
    /// Bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Resubscribe::Deaf => "deaf",
            Resubscribe::Lost => "lost",
        }
    }
}

/// Called once per resubscription (e.g. to count it in a metric).
pub type OnResubscribe = Arc<dyn Fn(Resubscribe) + Send + Sync>;

/// Called with the height of every block heartbeat (e.g. to share one current height with
/// every consumer instead of each one querying it).
pub type OnBlock = Arc<dyn Fn(i64) + Send + Sync>;

/// How the event stream watches its connection. Every value comes from the caller (the
/// node's plan owns the defaults).
#[derive(Clone)]
pub struct Watchdog {
    /// Presume the connection deaf after this many expected block times without a block.
    pub deaf_after_blocks: u32,
    /// Block time assumed until heartbeats have measured it.
    pub block_time_estimate: Duration,
    /// Told about every resubscription.
    pub on_resubscribe: Option<OnResubscribe>,
    /// Told the height of every block heartbeat.
    pub on_block: Option<OnBlock>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("deaf_after_blocks", &self.deaf_after_blocks)
            .field("block_time_estimate", &self.block_time_estimate)
            .finish()
    }
}

impl Watchdog {
    pub(super) fn notify(&self, why: Resubscribe) {
        if let Some(f) = &self.on_resubscribe {
            f(why);
        }
    }

    pub(super) fn block(&self, height: i64) {
        if let Some(f) = &self.on_block {
            f(height);
        }
    }
}

/// Heartbeat bookkeeping across connections.
#[derive(Debug)]
pub(super) struct Heartbeat {
    deaf_after_blocks: u32,
    estimate: Duration,
    gaps: VecDeque<Duration>,
    /// Last block heartbeat (or connection start) on the current connection.
    last: Instant,
    /// Whether `last` is a heartbeat (a gap to the next one is a block gap).
    last_is_beat: bool,
    /// Firings since the last heartbeat.
    misses: u32,
}

impl Heartbeat {
    pub(super) fn new(w: &Watchdog) -> Heartbeat {
        Heartbeat {
            deaf_after_blocks: w.deaf_after_blocks.max(1),
            estimate: w.block_time_estimate,
            gaps: VecDeque::with_capacity(GAPS),
            last: Instant::now(),
            last_is_beat: false,
            misses: 0,
        }
    }

    /// A new connection starts: its silence is measured from now.
    pub(super) fn connected(&mut self) {
        self.last = Instant::now();
        self.last_is_beat = false;
    }

    /// A block heartbeat arrived.
    pub(super) fn beat(&mut self) {
        let now = Instant::now();
        if self.last_is_beat {
            if self.gaps.len() == GAPS {
                self.gaps.pop_front();
            }
            self.gaps.push_back(now - self.last);
        }
        self.last = now;
        self.last_is_beat = true;
        self.misses = 0;
    }

    /// The watchdog fired (the connection is being replaced).
    pub(super) fn fired(&mut self) {
        self.misses = self.misses.saturating_add(1);
    }

    /// Median of the measured block gaps, else the estimate.
    pub(super) fn block_time(&self) -> Duration {
        if self.gaps.is_empty() {
            return self.estimate;
        }
        let mut g: Vec<Duration> = self.gaps.iter().copied().collect();
        g.sort_unstable();
        g[g.len() / 2]
    }

    /// Silence after which the connection is presumed deaf.
    pub(super) fn limit(&self) -> Duration {
        let base = (self.block_time() * self.deaf_after_blocks).max(MIN_LIMIT);
        let backoff = 1u32 << self.misses.min(7);
        (base * backoff).min(MAX_LIMIT)
    }

    /// When the current connection counts as deaf.
    pub(super) fn deadline(&self) -> Instant {
        self.last + self.limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dog(k: u32, est_ms: u64) -> Watchdog {
        Watchdog {
            deaf_after_blocks: k,
            block_time_estimate: Duration::from_millis(est_ms),
            on_resubscribe: None,
            on_block: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn limit_follows_measured_block_time() {
        let mut h = Heartbeat::new(&dog(5, 5000));
        assert_eq!(h.limit(), Duration::from_secs(25));
        h.beat();
        for _ in 0..5 {
            tokio::time::advance(Duration::from_millis(400)).await;
            h.beat();
        }
        assert_eq!(h.block_time(), Duration::from_millis(400));
        assert_eq!(h.limit(), Duration::from_secs(2));
        // A reconnect gap is not a block gap.
        tokio::time::advance(Duration::from_secs(30)).await;
        h.connected();
        h.beat();
        assert_eq!(h.block_time(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_firings_back_off_and_a_beat_resets() {
        let mut h = Heartbeat::new(&dog(2, 100));
        assert_eq!(h.limit(), MIN_LIMIT);
        h.fired();
        assert_eq!(h.limit(), MIN_LIMIT * 2);
        for _ in 0..20 {
            h.fired();
        }
        assert_eq!(h.limit(), MAX_LIMIT);
        h.beat();
        assert_eq!(h.limit(), MIN_LIMIT);
    }
}
