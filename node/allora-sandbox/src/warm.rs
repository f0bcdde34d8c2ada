//! Warm instances (opt-in per adapter): one instance per topic kept alive between calls,
//! so an interpreter (Python, JS) does not re-run its start-up for every call.
//!
//! The trade-off is isolation *between calls of the same topic*: the guest's globals and
//! caches survive from one call to the next. What still holds: an instance is never shared
//! between topics (the cache is keyed by topic id, and a call takes its instance out of the
//! cache so two concurrent calls never share one), it never sees keys or the node's files,
//! and every call gets a fresh deadline, HTTP budget and output caps. An instance is
//! recycled (dropped; the next call instantiates afresh) after a trap, timeout or any other
//! failed call, after `max_calls` calls, and once its linear memory passes
//! `max_memory_bytes`. Idle warm instances hold pool slots; when the pool is full they are
//! the first thing given back ([`Evictable`]), oldest first, so warmth never makes a call
//! wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use wasmtime::component::Instance;

use super::pool::Evictable;
use super::store::CallStore;

/// The `warm` option of an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmConfig {
    /// Calls served by one instance before it is recycled (at least 1).
    pub max_calls: u32,
    /// Linear memory (all memories of the instance) past which it is recycled after the
    /// call that grew it.
    pub max_memory_bytes: u64,
}

/// Why a warm instance was dropped (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recycle {
    /// It served `max_calls` calls.
    MaxCalls,
    /// Its linear memory passed the high-water mark.
    Memory,
    /// The call failed (trap, timeout, memory limit, …): the instance may be inconsistent.
    Failed,
    /// The pool was full and a waiting call needed its slot.
    Evicted,
}

/// An idle instance of one topic.
pub(crate) struct WarmInstance {
    pub call: CallStore,
    pub instance: Instance,
    /// Calls it has served.
    pub calls: u32,
    last_used: Instant,
}

impl WarmInstance {
    pub(crate) fn new(call: CallStore, instance: Instance, calls: u32) -> WarmInstance {
        WarmInstance {
            call,
            instance,
            calls,
            last_used: Instant::now(),
        }
    }
}

/// The idle warm instances of one adapter, by topic.
pub(crate) struct WarmCache {
    pub config: WarmConfig,
    adapter: std::sync::Arc<str>,
    idle: Mutex<HashMap<u64, WarmInstance>>,
    recycled: AtomicU64,
}

impl WarmCache {
    pub(crate) fn new(config: WarmConfig, adapter: std::sync::Arc<str>) -> WarmCache {
        WarmCache {
            config,
            adapter,
            idle: Mutex::default(),
            recycled: AtomicU64::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, HashMap<u64, WarmInstance>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the topic's idle instance for exclusive use by one call.
    pub(crate) fn take(&self, topic_id: u64) -> Option<WarmInstance> {
        self.idle().remove(&topic_id)
    }

    /// After a successful call: keeps the instance for the topic's next call, or recycles it
    /// (max calls, memory high-water). If a concurrent call of the same topic already put
    /// one back, the older one stays and this one is dropped.
    pub(crate) fn put_back(&self, topic_id: u64, mut warm: WarmInstance) {
        let memory = warm.call.store.data().limiter.memory_used() as u64;
        let why = if warm.calls >= self.config.max_calls {
            Some(Recycle::MaxCalls)
        } else if memory > self.config.max_memory_bytes {
            Some(Recycle::Memory)
        } else {
            None
        };
        if let Some(why) = why {
            self.recycle(topic_id, why, warm.calls, memory);
            return;
        }
        warm.last_used = Instant::now();
        // Dropped outside the lock if the slot is taken.
        let _dup = {
            let mut idle = self.idle();
            match idle.entry(topic_id) {
                std::collections::hash_map::Entry::Occupied(_) => Some(warm),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(warm);
                    None
                }
            }
        };
    }

    /// Counts and logs a recycled instance (the caller drops it).
    pub(crate) fn recycle(&self, topic_id: u64, why: Recycle, calls: u32, memory: u64) {
        self.recycled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(adapter = %self.adapter, topic_id, reason = ?why, calls, memory_bytes = memory, "warm adapter instance recycled");
    }

    /// Instances recycled so far (any reason).
    pub(crate) fn recycled(&self) -> u64 {
        self.recycled.load(Ordering::Relaxed)
    }

    /// Idle instances now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }
}

impl Evictable for WarmCache {
    fn evict_oldest(&self) -> bool {
        let victim = {
            let mut idle = self.idle();
            let oldest = idle
                .iter()
                .min_by_key(|(_, w)| w.last_used)
                .map(|(t, _)| *t);
            oldest.and_then(|t| idle.remove(&t).map(|w| (t, w)))
        };
        match victim {
            Some((topic_id, w)) => {
                let memory = w.call.store.data().limiter.memory_used() as u64;
                self.recycle(topic_id, Recycle::Evicted, w.calls, memory);
                drop(w);
                true
            }
            None => false,
        }
    }
}
