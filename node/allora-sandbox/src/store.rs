//! A call's `Store`, paired with the pool slot it occupies, and the per-call reset of its
//! deadline and budgets.
//!
//! Calls run as ordinary futures on the caller's executor, not on a blocking thread each:
//! the epoch callback makes a guest that computes for a whole slice ([`SLICE_TICKS`] epoch
//! ticks) yield to the executor, so a busy-looping model cannot starve the other adapters'
//! calls (nor the node's actors) even on a one-thread runtime; past the call's deadline the
//! same callback traps it with `Trap::Interrupt`, which is classified as a timeout.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use super::http_target::http_deadline;
use super::pool::Slot;
use super::state::CallState;

/// Epoch ticks a guest may run before yielding to the executor (`EPOCH_TICK` = 2 ms, so
/// about 10 ms): long enough that yielding costs nothing measurable, short enough that
/// other calls' futures and timers run on time.
pub const SLICE_TICKS: u64 = 5;

/// A store and its pool slot. Fields drop in order: the store (which frees the allocator's
/// instance slot) before the semaphore permit that lets the next waiter instantiate.
pub(crate) struct CallStore {
    pub store: Store<CallState>,
    _slot: Slot,
}

impl CallStore {
    /// Wraps a fresh store: installs the limiter and the yielding epoch callback.
    pub(crate) fn new(engine: &wasmtime::Engine, state: CallState, slot: Slot) -> CallStore {
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            // tokio's own yield, so the task also gives back its cooperative budget.
            Ok(UpdateDeadline::YieldCustom(
                SLICE_TICKS,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        CallStore { store, _slot: slot }
    }

    /// Starts a call ending at `deadline`: the epoch deadline, the HTTP deadline and budget,
    /// the log tags and the last-error slot all start afresh (a warm instance keeps only
    /// the guest's own state).
    pub(crate) fn begin(
        &mut self,
        now: Instant,
        deadline: Instant,
        topic_id: u64,
        role: &'static str,
    ) {
        let data = self.store.data_mut();
        data.deadline = deadline;
        data.limiter.hit = false;
        data.http.used = 0;
        data.http.deadline = http_deadline(now, deadline);
        data.http.last_error = Arc::default();
        data.http.tags.topic_id = topic_id;
        data.http.tags.role = role;
        data.log.topic_id = topic_id;
        data.log.role = role;
        data.log.lines = 0;
        self.store.set_epoch_deadline(SLICE_TICKS);
    }
}
