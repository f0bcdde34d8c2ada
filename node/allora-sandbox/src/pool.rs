//! The instance pool's admission queue and its gauges.
//!
//! The pooling allocator has a fixed number of instance slots (`max_concurrent_instances`);
//! asking it for one more fails the instantiation. A busy node (1,000 topics opening their
//! windows in the same block) must not lose payloads to that, so every store first takes a
//! [`Slot`] from a fair (FIFO) semaphore sized like the pool, waiting at most until its own
//! call's deadline. A wait that reaches the deadline is a typed error
//! ([`crate::CallErrorKind::QueueTimeout`]) and is counted.
//!
//! The sandbox must not depend on the node's metrics crate, so the counters live here as
//! atomics and the node reads a [`PoolStats`] snapshot when it renders `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Counters shared by the pool and every store's memory limiter.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Stores holding a slot (running or kept warm).
    live: AtomicU64,
    /// Bytes of linear memory held by those stores (all memories of each).
    memory: AtomicU64,
    /// Acquisitions that reached their deadline while queued.
    queue_timeouts: AtomicU64,
    /// Acquisitions waiting right now.
    queued: AtomicU64,
}

impl Counters {
    /// A store's linear memory grew (or shrank, with a negative delta: never happens in
    /// wasm, but a dropped store gives its bytes back through here).
    pub(crate) fn memory_delta(&self, grown: usize, released: usize) {
        if grown > 0 {
            self.memory.fetch_add(grown as u64, Ordering::Relaxed);
        }
        if released > 0 {
            self.memory.fetch_sub(released as u64, Ordering::Relaxed);
        }
    }
}

/// A snapshot of the pool for metrics (`allora_adapter_instances_live`,
/// `allora_adapter_linear_memory_bytes`, `allora_adapter_queue_timeouts_total`,
/// `allora_adapter_queued_calls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Instances alive now (running a call, being instantiated, or kept warm).
    pub instances_live: u64,
    /// Sum of the linear memory those instances hold, in bytes.
    pub linear_memory_bytes: u64,
    /// Calls whose deadline passed while they waited for a slot (monotonic).
    pub queue_timeouts_total: u64,
    /// Calls waiting for a slot now.
    pub queued: u64,
    /// Slots in the pool (`node.adapterInstances`).
    pub capacity: u64,
}

/// Something holding idle pool slots it can give back (warm instances).
pub(crate) trait Evictable: Send + Sync {
    /// Drops its least recently used idle instance; false if it had none.
    fn evict_oldest(&self) -> bool;
}

/// The admission queue in front of the instance allocator.
pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    capacity: u32,
    pub(crate) counters: Arc<Counters>,
    /// Warm caches of loaded adapters; asked for a slot when the pool is full.
    idle_holders: Mutex<Vec<Weak<dyn Evictable>>>,
}

/// Why no slot was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotError {
    /// The deadline passed while queued.
    Deadline,
    /// The runtime is shutting down (semaphore closed).
    Closed,
}

impl Pool {
    pub(crate) fn new(capacity: u32) -> Pool {
        let capacity = capacity.max(1);
        Pool {
            permits: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            counters: Arc::default(),
            idle_holders: Mutex::default(),
        }
    }

    /// Registers a holder of idle slots (forgetting holders that were dropped).
    pub(crate) fn register_idle_holder(&self, holder: Weak<dyn Evictable>) {
        let mut holders = self.idle_holders.lock().unwrap_or_else(|p| p.into_inner());
        holders.retain(|h| h.strong_count() > 0);
        holders.push(holder);
    }

    /// Frees one idle slot held by a warm cache, if any.
    fn evict_one_idle(&self) -> bool {
        let holders: Vec<Arc<dyn Evictable>> = self
            .idle_holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        holders.iter().any(|h| h.evict_oldest())
    }

    /// Waits (FIFO) for a free slot until `deadline`.
    pub(crate) async fn acquire(&self, deadline: Instant) -> Result<Slot, SlotError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(SlotError::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                // Idle warm instances give their slot to a call that needs one.
                self.evict_one_idle();
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                let waited =
                    tokio::time::timeout_at(deadline.into(), self.permits.clone().acquire_owned())
                        .await;
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                match waited {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(SlotError::Closed),
                    Err(_) => {
                        self.counters.queue_timeouts.fetch_add(1, Ordering::Relaxed);
                        return Err(SlotError::Deadline);
                    }
                }
            }
        };
        self.counters.live.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            _permit: permit,
            counters: self.counters.clone(),
        })
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let c = &self.counters;
        PoolStats {
            instances_live: c.live.load(Ordering::Relaxed),
            linear_memory_bytes: c.memory.load(Ordering::Relaxed),
            queue_timeouts_total: c.queue_timeouts.load(Ordering::Relaxed),
            queued: c.queued.load(Ordering::Relaxed),
            capacity: u64::from(self.capacity),
        }
    }
}

/// One pool slot, held for as long as its store lives. Must be dropped *after* the store, so
/// the allocator's instance slot is free before the next waiter instantiates.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_pool_queues_in_order_and_times_out_at_the_deadline() {
        let pool = Arc::new(Pool::new(1));
        let far = Instant::now() + Duration::from_secs(5);
        let first = pool.acquire(far).await.unwrap();
        assert_eq!(pool.stats().instances_live, 1);
        // A waiter with a short deadline gives up and is counted.
        let err = pool
            .acquire(Instant::now() + Duration::from_millis(30))
            .await
            .err();
        assert_eq!(err, Some(SlotError::Deadline));
        assert_eq!(pool.stats().queue_timeouts_total, 1);
        // A waiter with a long deadline gets the slot once it is released.
        let p = pool.clone();
        let waiter = tokio::spawn(async move { p.acquire(far).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(pool.stats().queued, 1);
        drop(first);
        assert!(waiter.await.unwrap());
        assert_eq!(pool.stats().instances_live, 0);
        assert_eq!(pool.stats().queued, 0);
    }
}
