//! The window clock: turns block heights into wall-clock deadlines. Windows are defined in
//! blocks, adapter budgets in time, so we estimate the block time from observed
//! (height, instant) pairs and give each adapter call a deadline that ends before the
//! window does (with one block of margin for the tx to land).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared block-time estimator. Clone = same clock.
#[derive(Debug, Clone)]
pub struct WindowClock {
    inner: Arc<Mutex<Samples>>,
}

#[derive(Debug)]
struct Samples {
    first: Option<(i64, Instant)>,
    last: Option<(i64, Instant)>,
    fallback: Duration,
}

impl WindowClock {
    /// `fallback` is used until two distinct heights were observed.
    pub fn new(fallback: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Samples {
                first: None,
                last: None,
                fallback,
            })),
        }
    }

    /// Records that the chain was at `height` at `at`.
    pub fn observe(&self, height: i64, at: Instant) {
        let Ok(mut s) = self.inner.lock() else { return };
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
}
