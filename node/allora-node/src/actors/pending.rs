//! Nonces an actor has seen but not settled: when each was first seen (for the
//! window-open → inclusion latency) and, after a failed attempt series, when it may be tried
//! again. A failed or interrupted nonce stays open and is retried on a later trigger with
//! exponential backoff (`retryDelay` × 2^(failures−1), capped), while its window is open;
//! only the ledger settles it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Longest wait between two attempt series on one nonce.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
struct Entry {
    seen: Instant,
    failures: u32,
    not_before: Option<Instant>,
}

/// Per-actor map of open, unsettled nonces.
#[derive(Debug, Default)]
pub struct Pending {
    entries: BTreeMap<i64, Entry>,
}

impl Pending {
    pub fn new() -> Self {
        Self::default()
    }

    /// When `nonce` was first seen (recording `now` the first time).
    pub fn seen(&mut self, nonce: i64, now: Instant) -> Instant {
        self.entries
            .entry(nonce)
            .or_insert(Entry {
                seen: now,
                failures: 0,
                not_before: None,
            })
            .seen
    }

    /// False while `nonce` is backing off after a failure.
    pub fn due(&self, nonce: i64, now: Instant) -> bool {
        self.entries
            .get(&nonce)
            .and_then(|e| e.not_before)
            .is_none_or(|t| now >= t)
    }

    /// Records a failed attempt series; returns the backoff before the next one.
    pub fn failed(&mut self, nonce: i64, base: Duration, now: Instant) -> Duration {
        let e = self.entries.entry(nonce).or_insert(Entry {
            seen: now,
            failures: 0,
            not_before: None,
        });
        e.failures = e.failures.saturating_add(1);
        let wait = backoff(base, e.failures);
        e.not_before = Some(now + wait);
        wait
    }

    /// Failed attempt series so far for `nonce`.
    pub fn failures(&self, nonce: i64) -> u32 {
        self.entries.get(&nonce).map_or(0, |e| e.failures)
    }

    /// Keeps only the nonces `keep` accepts (drop settled ones; bounds the map).
    pub fn retain(&mut self, mut keep: impl FnMut(i64) -> bool) {
        self.entries.retain(|n, _| keep(*n));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `base` × 2^(failures−1), at least 100 ms, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, failures: u32) -> Duration {
    let base = base.max(Duration::from_millis(100));
    let shift = failures.saturating_sub(1).min(16);
    base.saturating_mul(1u32 << shift).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(1);
        assert_eq!(backoff(b, 1), Duration::from_secs(1));
        assert_eq!(backoff(b, 2), Duration::from_secs(2));
        assert_eq!(backoff(b, 3), Duration::from_secs(4));
        assert_eq!(backoff(b, 40), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 1), Duration::from_millis(100));
    }

    #[test]
    fn failed_nonce_waits_then_is_due_again() {
        let mut p = Pending::new();
        let t0 = Instant::now();
        assert_eq!(p.seen(5, t0), t0);
        assert!(p.due(5, t0));
        let wait = p.failed(5, Duration::from_secs(1), t0);
        assert!(!p.due(5, t0 + wait / 2));
        assert!(p.due(5, t0 + wait));
        assert_eq!(p.seen(5, t0 + wait), t0, "first sighting is kept");
        assert_eq!(p.failures(5), 1);
        p.retain(|n| n != 5);
        assert!(p.is_empty());
    }
}
