//! When an actor looks at the chain. While the event stream is healthy (block heartbeats
//! fresh) every window that opens is announced to its actor ([`super::wakeup`]), so polling
//! every `loopSeconds` only repeats what the events already said: at 1,000 topics that was
//! ~2,000 window queries a second and most of the node's idle CPU. So an actor tick-polls
//! only while it cannot trust the stream or has work of its own outstanding:
//!
//! - the stream is unhealthy (no heartbeat for the watchdog's span, never connected, ended,
//!   or no websocket at all): poll every `loopSeconds`, as before;
//! - the actor has an unsettled nonce backing off, or unfinished setup (stake, loss
//!   method): poll every `loopSeconds`, so retries run on the same schedule as before;
//! - otherwise it sleeps until a window signal, a change of the stream's [`StreamState`]
//!   epoch (each resubscription, and each return to health: one poll each, to catch
//!   events sent while the connection was being replaced), or the slow safety poll
//!   (`node.safetyPollSeconds`), which bounds the cost of an event lost on a live stream.
//!
//! [`StreamHealth`] is written by the supervisor's event pump (heartbeats, resubscriptions,
//! the deafness span) and read by every actor through a `watch` channel, so flipping it
//! wakes each actor once and costs nothing while it stays put.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::wakeup::Wakeups;
use super::{ActorEnv, WindowSignal};

/// What the actors know of the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamState {
    /// Block heartbeats are arriving (the last one within the watchdog's span).
    pub healthy: bool,
    /// Bumped on every resubscription and every return to health; each actor polls once
    /// when it changes.
    pub epoch: u64,
}

/// Shared, writable view of the event stream's health. Clone = the same state.
#[derive(Debug, Clone)]
pub struct StreamHealth {
    tx: Arc<watch::Sender<StreamState>>,
    safety_poll: Duration,
}

impl StreamHealth {
    /// Unhealthy (polling) until the first heartbeat; `safety_poll` is the longest a quiet
    /// actor goes without looking at the chain.
    pub fn new(safety_poll: Duration) -> Self {
        let (tx, _) = watch::channel(StreamState::default());
        Self {
            tx: Arc::new(tx),
            safety_poll,
        }
    }

    /// A block heartbeat arrived: healthy (a return to health opens a new epoch).
    pub fn beat(&self) {
        self.tx.send_if_modified(|s| {
            let changed = !s.healthy;
            if changed {
                s.healthy = true;
                s.epoch += 1;
            }
            changed
        });
    }

    /// No heartbeat for the watchdog's span, or the stream ended: actors poll as before.
    pub fn deaf(&self) {
        self.tx
            .send_if_modified(|s| std::mem::replace(&mut s.healthy, false));
    }

    /// The connection was replaced: every actor polls once now, and the stream counts as
    /// unhealthy until a heartbeat arrives on the new connection (which polls once more,
    /// covering events sent before the new subscription was live).
    pub fn resubscribed(&self) {
        self.tx.send_modify(|s| {
            s.healthy = false;
            s.epoch += 1;
        });
    }

    pub fn state(&self) -> StreamState {
        *self.tx.borrow()
    }

    pub fn safety_poll(&self) -> Duration {
        self.safety_poll
    }

    fn subscribe(&self) -> watch::Receiver<StreamState> {
        self.tx.subscribe()
    }
}

/// One actor's polling schedule.
pub struct Trigger {
    tick: Interval,
    stream: watch::Receiver<StreamState>,
    epoch: u64,
    last_poll: Instant,
    first: bool,
}

impl Trigger {
    /// Polls at once on the first call, then per the rules in the module docs.
    pub fn new(env: &ActorEnv, interval: Duration) -> Self {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stream = env.stream.subscribe();
        let epoch = stream.borrow_and_update().epoch;
        Self {
            tick,
            stream,
            epoch,
            last_poll: Instant::now(),
            first: true,
        }
    }

    /// The next reason to look at the chain: `None` on shutdown, else the signals routed to
    /// this actor (oldest nonce first; empty for a poll). `busy`: the actor has an unsettled
    /// nonce or unfinished setup, so it keeps polling every `loopSeconds` whatever the
    /// stream's health.
    pub async fn next(
        &mut self,
        env: &ActorEnv,
        wake: &Wakeups,
        busy: bool,
    ) -> Option<Vec<WindowSignal>> {
        let sigs = loop {
            let sigs = wake.take();
            if !sigs.is_empty() {
                break sigs;
            }
            let state = *self.stream.borrow_and_update();
            if std::mem::take(&mut self.first) || state.epoch != self.epoch {
                self.epoch = state.epoch;
                break Vec::new();
            }
            let quiet = state.healthy && !busy;
            let safety_at = self.last_poll + env.stream.safety_poll();
            tokio::select! {
                _ = env.shutdown.cancelled() => return None,
                _ = self.tick.tick(), if !quiet => break Vec::new(),
                _ = tokio::time::sleep_until(safety_at), if quiet => break Vec::new(),
                // A permit left by signals already taken wakes us once with nothing to
                // take: loop and look again.
                _ = wake.pushed() => {}
                // Health or epoch changed (an error means the supervisor is gone: the
                // branch is then disabled and shutdown ends the wait).
                Ok(()) = self.stream.changed() => {}
            }
        };
        // Every look restarts both clocks: the next tick is `loopSeconds` after this one,
        // not a stale tick firing the moment the stream turns unhealthy.
        self.last_poll = Instant::now();
        self.tick.reset();
        Some(sigs)
    }
}

#[cfg(test)]
mod tests;
