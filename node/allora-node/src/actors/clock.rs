//! The window clock: turns the window ends the chain reports into deadlines for adapter
//! calls. A window ends at a block (window-status queries, window events) and/or, on chains
//! with wall-clock epochs, at a time (`GetEpoch`); adapter budgets are in time, so we
//! estimate the block time from observed (height, instant) pairs and give each call a
//! deadline that ends before the window does, with one block of margin for the tx to land.
//! Nothing here knows a topic's epoch length: ends only ever come from the chain.
//!
//! It is also the one source of the current height every actor shares: the supervisor
//! feeds it each block heartbeat of the event stream, and [`WindowClock::height`] answers
//! from it while it is no older than one block time. Only when it is stale (no event
//! stream, a deaf connection) does one caller query the chain — single-flight, so a block
//! in which a thousand actors wake costs at most one height query, not a thousand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::ports::{ChainPort, QueryError};

/// Shared block-time estimator. Clone = same clock.
#[derive(Debug, Clone)]
pub struct WindowClock {
    inner: Arc<Mutex<Samples>>,
    /// Held while one caller refreshes a stale height from the chain.
    refresh: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct Samples {
    first: Option<(i64, Instant)>,
    last: Option<(i64, Instant)>,
    /// The highest height seen and when it was last confirmed (a query that finds the
    /// chain still at that height confirms it without moving the block-time estimate).
    current: Option<(i64, Instant)>,
    fallback: Duration,
}

impl WindowClock {
    /// `fallback` is used until two distinct heights were observed.
    pub fn new(fallback: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Samples {
                first: None,
                last: None,
                current: None,
                fallback,
            })),
            refresh: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Records that the chain was at `height` at `at`.
    pub fn observe(&self, height: i64, at: Instant) {
        let Ok(mut s) = self.inner.lock() else { return };
        if s.current.is_none_or(|(h, _)| height >= h) {
            s.current = Some((height, at));
        }
        match s.last {
            Some((h, _)) if height <= h => {}
            _ => {
                if s.first.is_none() {
                    s.first = Some((height, at));
                }
                s.last = Some((height, at));
            }
        }
    }

    /// The shared current height if it was seen or confirmed within one block time of
    /// `now`.
    /// Never fresh before the block time was measured (the fallback may be far too long).
    pub fn fresh_height(&self, now: Instant) -> Option<i64> {
        let per = self.block_time();
        let s = self.inner.lock().ok()?;
        if !matches!((s.first, s.last), (Some((h0, _)), Some((h1, _))) if h1 > h0) {
            return None;
        }
        let (h, at) = s.current?;
        (now.saturating_duration_since(at) <= per).then_some(h)
    }

    /// The current height: the shared value while fresh, else one query to the chain
    /// (concurrent callers wait for it instead of asking too).
    pub async fn height(&self, chain: &dyn ChainPort) -> Result<i64, QueryError> {
        if let Some(h) = self.fresh_height(Instant::now()) {
            return Ok(h);
        }
        let _one = self.refresh.lock().await;
        if let Some(h) = self.fresh_height(Instant::now()) {
            return Ok(h);
        }
        let h = chain.latest_height().await?;
        self.observe(h, Instant::now());
        Ok(h)
    }

    /// Estimated time per block.
    pub fn block_time(&self) -> Duration {
        let Ok(s) = self.inner.lock() else {
            return Duration::from_secs(5);
        };
        match (s.first, s.last) {
            (Some((h0, t0)), Some((h1, t1))) if h1 > h0 && t1 > t0 => {
                (t1 - t0) / u32::try_from(h1 - h0).unwrap_or(u32::MAX)
            }
            _ => s.fallback,
        }
    }

    /// The instant by which work for a window ending at `end_block` (inclusive last block
    /// that accepts the payload) must be finished, given the chain is at `height` now.
    /// One block of margin is kept for the tx to be included. `None` when the window has no
    /// room left.
    pub fn deadline(&self, height: i64, end_block: i64, now: Instant) -> Option<Instant> {
        let blocks_left = end_block - height - 1;
        if blocks_left <= 0 {
            return None;
        }
        let per = self.block_time();
        let left = per.saturating_mul(u32::try_from(blocks_left).unwrap_or(u32::MAX));
        Some(now + left)
    }
}

/// The window has no room left for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl WindowClock {
    /// The deadline for work on a window that accepts up to block `end_block` (exclusive of
    /// the one-block margin, as [`WindowClock::deadline`]) and/or until `end_time` (the first
    /// instant it no longer accepts), given the chain is at `height` and the wall clock
    /// reads `wall_now` at `now`. The earlier bound wins; `Ok(None)` when the chain reported
    /// neither; `Err(Closed)` when no room is left.
    pub fn window_deadline(
        &self,
        end_block: Option<i64>,
        end_time: Option<SystemTime>,
        height: i64,
        now: Instant,
        wall_now: SystemTime,
    ) -> Result<Option<Instant>, Closed> {
        let by_block = match end_block {
            Some(end) => Some(self.deadline(height, end, now).ok_or(Closed)?),
            None => None,
        };
        let by_time = match end_time {
            Some(end) => {
                let left = end.duration_since(wall_now).map_err(|_| Closed)?;
                let left = left.checked_sub(self.block_time()).ok_or(Closed)?;
                if left.is_zero() {
                    return Err(Closed);
                }
                Some(now + left)
            }
            None => None,
        };
        Ok(match (by_block, by_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_block_time_from_observations() {
        let c = WindowClock::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(c.block_time(), Duration::from_secs(5));
        c.observe(100, t0);
        c.observe(110, t0 + Duration::from_secs(20));
        assert_eq!(c.block_time(), Duration::from_secs(2));
        // Stale or repeated heights do not move the estimate.
        c.observe(105, t0 + Duration::from_secs(100));
        assert_eq!(c.block_time(), Duration::from_secs(2));
    }

    #[test]
    fn deadline_keeps_one_block_of_margin() {
        let c = WindowClock::new(Duration::from_secs(1));
        let now = Instant::now();
        assert_eq!(c.deadline(10, 14, now), Some(now + Duration::from_secs(3)));
        assert_eq!(c.deadline(13, 14, now), None);
        assert_eq!(c.deadline(15, 14, now), None);
    }

    /// A wall-clock end: the deadline keeps one block of margin before it, whatever the
    /// block count; a passed or too-close end is closed.
    #[test]
    fn wall_clock_end_with_one_block_margin() {
        let c = WindowClock::new(Duration::from_millis(500));
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let end = wall + Duration::from_secs(5);
        assert_eq!(
            c.window_deadline(None, Some(end), 10, now, wall),
            Ok(Some(now + Duration::from_millis(4_500)))
        );
        assert_eq!(
            c.window_deadline(None, Some(wall + Duration::from_millis(400)), 10, now, wall),
            Err(Closed)
        );
        assert_eq!(
            c.window_deadline(None, Some(wall - Duration::from_secs(1)), 10, now, wall),
            Err(Closed)
        );
        // both bounds: the earlier wins (block 14 at 0.5 s/block = 1.5 s from height 10)
        assert_eq!(
            c.window_deadline(Some(14), Some(end), 10, now, wall),
            Ok(Some(now + Duration::from_millis(1_500)))
        );
        assert_eq!(c.window_deadline(None, None, 10, now, wall), Ok(None));
        assert_eq!(
            c.window_deadline(Some(11), None, 10, now, wall),
            Err(Closed)
        );
    }

    /// The shared height answers every caller while fresh; when stale, a thousand
    /// concurrent callers cause one chain query, not a thousand.
    #[tokio::test]
    async fn one_height_query_for_many_callers() {
        use crate::actors::fakes::FakeChain;
        let chain = FakeChain::default();
        chain.0.lock().unwrap().height = 102;
        let c = WindowClock::new(Duration::from_secs(5));
        let now = Instant::now();
        // Nothing measured yet: not fresh, whatever the fallback says.
        c.observe(100, now);
        assert_eq!(c.fresh_height(now), None);
        c.observe(101, now + Duration::from_secs(1));
        let calls = (0..1000).map(|_| c.height(&chain));
        let got = futures::future::join_all(calls).await;
        assert!(got.iter().all(|h| matches!(h, Ok(101))));
        assert_eq!(chain.0.lock().unwrap().height_queries, 0, "fresh: no query");

        // Stale (last seen 10 blocks ago): exactly one caller asks the chain.
        let stale = WindowClock::new(Duration::from_secs(5));
        let long_ago = Instant::now() - Duration::from_secs(20);
        stale.observe(100, long_ago);
        stale.observe(101, long_ago + Duration::from_secs(1));
        let calls = (0..1000).map(|_| stale.height(&chain));
        let got = futures::future::join_all(calls).await;
        assert!(got.iter().all(|h| matches!(h, Ok(102))));
        assert_eq!(chain.0.lock().unwrap().height_queries, 1, "single flight");
        // A query that finds the same height again still counts as fresh news.
        stale.observe(102, Instant::now());
        assert_eq!(stale.fresh_height(Instant::now()), Some(102));
    }
}
