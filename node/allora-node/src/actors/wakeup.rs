//! Per-actor wakeups: each window signal goes to the one actor it concerns, so a block in
//! which k windows open costs O(k) work, whatever the number of actors. (One broadcast
//! channel for everyone woke every actor for every signal and lagged under bursts.)
//!
//! The [`Router`] is built once from the plan: one [`Wakeups`] mailbox per (role, topic).
//! A mailbox keeps every signal not yet taken, keyed by nonce, so nothing is lost however
//! many arrive before its actor looks (it has no capacity to overflow; one window per
//! epoch per topic keeps it tiny), and it outlives actor restarts: a signal that arrives
//! while an actor is backing off after a panic is still there when the new run starts.
//! A [`Notify`] permit makes a signal pushed between "took none" and "wait" wake the actor.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::WindowSignal;
use super::ports::Role;

/// One actor's mailbox. Clone = the same mailbox.
#[derive(Debug, Clone, Default)]
pub struct Wakeups(Arc<Mailbox>);

#[derive(Debug, Default)]
struct Mailbox {
    waiting: Mutex<BTreeMap<i64, WindowSignal>>,
    notify: Notify,
    /// Signals delivered here (tests and diagnostics).
    delivered: AtomicU64,
}

impl Wakeups {
    /// A mailbox nobody routes to (polling only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves `sig` for the actor and wakes it. A repeat of a nonce already waiting keeps
    /// the one that knows the window's end block.
    pub fn push(&self, sig: WindowSignal) {
        if let Ok(mut waiting) = self.0.waiting.lock() {
            let slot = waiting.entry(sig.nonce).or_insert(sig);
            if slot.end_block.is_none() {
                *slot = sig;
            }
        }
        self.0.delivered.fetch_add(1, Ordering::Relaxed);
        self.0.notify.notify_one();
    }

    /// Every signal waiting, oldest nonce first; the mailbox is empty afterwards.
    pub fn take(&self) -> Vec<WindowSignal> {
        match self.0.waiting.lock() {
            Ok(mut waiting) => std::mem::take(&mut *waiting).into_values().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Resolves after the next [`push`](Self::push) (at once if one happened since the
    /// last wake).
    pub async fn pushed(&self) {
        self.0.notify.notified().await;
    }

    /// How many signals were delivered to this mailbox.
    pub fn delivered(&self) -> u64 {
        self.0.delivered.load(Ordering::Relaxed)
    }
}

/// (role, topic) → that actor's mailbox. Read-only once built, so routing takes no lock.
#[derive(Debug, Default)]
pub struct Router {
    boxes: HashMap<(Role, u64), Wakeups>,
    unrouted: AtomicU64,
}

impl Router {
    /// A router with one mailbox per `(role, topic)` in `actors`.
    pub fn new(actors: impl IntoIterator<Item = (Role, u64)>) -> Self {
        let boxes = actors.into_iter().map(|k| (k, Wakeups::new())).collect();
        Self {
            boxes,
            unrouted: AtomicU64::new(0),
        }
    }

    /// The mailbox of `(role, topic_id)`; a fresh unrouted one when the plan has no such
    /// actor (it then only polls).
    pub fn mailbox(&self, role: Role, topic_id: u64) -> Wakeups {
        self.boxes
            .get(&(role, topic_id))
            .cloned()
            .unwrap_or_default()
    }

    /// Delivers `sig` to its actor only; false (and counted) when no actor has its topic
    /// and role.
    pub fn route(&self, sig: WindowSignal) -> bool {
        match self.boxes.get(&(sig.role, sig.topic_id)) {
            Some(w) => {
                w.push(sig);
                true
            }
            None => {
                self.unrouted.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Signals that matched no actor.
    pub fn unrouted(&self) -> u64 {
        self.unrouted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(role: Role, topic_id: u64, nonce: i64) -> WindowSignal {
        WindowSignal {
            role,
            topic_id,
            nonce,
            end_block: Some(nonce + 5),
        }
    }

    /// A signal reaches exactly its actor: no other mailbox is touched.
    #[test]
    fn a_signal_reaches_only_its_actor() {
        let keys: Vec<(Role, u64)> = (1..=100)
            .flat_map(|t| [(Role::Worker, t), (Role::Reputer, t)])
            .collect();
        let r = Router::new(keys.clone());
        assert!(r.route(sig(Role::Reputer, 42, 100)));
        for (role, t) in keys {
            let m = r.mailbox(role, t);
            let want = u64::from(role == Role::Reputer && t == 42);
            assert_eq!(m.delivered(), want, "{role:?} topic {t}");
            assert_eq!(m.take().len() as u64, want);
        }
        assert!(!r.route(sig(Role::Worker, 999, 100)));
        assert_eq!(r.unrouted(), 1);
    }

    /// Far more signals than any channel had room for (the old broadcast held 256), all
    /// sent before the actor looks: every one is still there, oldest first.
    #[test]
    fn a_burst_loses_no_signal() {
        let r = Router::new([(Role::Worker, 7)]);
        for n in 0..10_000 {
            r.route(sig(Role::Worker, 7, n));
        }
        let got: Vec<i64> = r
            .mailbox(Role::Worker, 7)
            .take()
            .iter()
            .map(|s| s.nonce)
            .collect();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
        assert!(r.mailbox(Role::Worker, 7).take().is_empty());
    }

    /// A repeated nonce (reconnect, polling fallback) keeps the end block it knew.
    #[test]
    fn a_repeat_keeps_the_known_end_block() {
        let w = Wakeups::new();
        w.push(sig(Role::Worker, 1, 10));
        w.push(WindowSignal {
            end_block: None,
            ..sig(Role::Worker, 1, 10)
        });
        assert_eq!(w.take(), vec![sig(Role::Worker, 1, 10)]);
    }

    /// A push before the actor waits still wakes it (the permit is kept).
    #[tokio::test]
    async fn a_push_before_the_wait_wakes() {
        let w = Wakeups::new();
        w.push(sig(Role::Worker, 1, 10));
        tokio::time::timeout(std::time::Duration::from_secs(1), w.pushed())
            .await
            .expect("woken by the earlier push");
    }
}
