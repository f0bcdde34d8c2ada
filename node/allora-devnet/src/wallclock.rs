//! Seconds mode: a topic whose `epoch_length`, `ground_truth_lag` and
//! `worker_submission_window` are wall-clock seconds (allora-chain's emissions migration v17,
//! the "epoch FSM"; reference §I). Windows are checked against the block time, not the height,
//! so a node that turns them into blocks (`N + window`) is wrong whenever blocks are not
//! exactly the assumed length apart.
//!
//! Rules (marked "assumed" in docs/DEVNET.md where the reference is silent):
//! - epoch k starts at `genesis + k·epoch_length` s (the first block's time is the genesis);
//!   its payload nonce is the height of the first block at or after that time ("LegacyNonce");
//! - worker payloads are accepted while `start ≤ t ≤ start + worker_submission_window`,
//!   reputer payloads while `start + lag ≤ t ≤ start + lag + epoch_length` (inclusive, whole
//!   unix seconds of the including block's time);
//! - the worker window closes (network inferences, reputer nonce) at the end of the first
//!   block after its last second; the reputer window likewise;
//! - `GetEpoch`/`GetTopicEpochs` report those bounds, and the window-opened events carry
//!   `window_end_time` (with `window_end_block = 0`: no height bound exists).

use std::collections::BTreeMap;

use allora_protocol::proto::emissions::v10;

use super::events::{self, Event};
use super::network;
use super::state::TopicState;

/// Epochs kept for `GetEpoch` after their windows closed.
const KEEP_EPOCHS: usize = 64;

/// One epoch's inclusive bounds, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochTimes {
    pub start: i64,
    pub worker_end: i64,
    pub reputer_start: i64,
    pub reputer_end: i64,
}

/// The wall-clock schedule of a seconds-mode topic.
#[derive(Debug, Clone, Default)]
pub struct WallClock {
    /// When the next epoch starts (unix s); `None` until the first block.
    pub next_epoch: Option<i64>,
    /// Epochs by nonce (start block height).
    pub epochs: BTreeMap<i64, EpochTimes>,
    /// Time of the previous block (unix s), to announce a reputer window once.
    pub last_time: Option<i64>,
}

/// Whole unix seconds of a block time in nanoseconds.
pub fn secs(nanos: i128) -> i64 {
    i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
}

impl TopicState {
    /// The epoch bounds of nonce `n` (seconds mode only).
    pub fn epoch_times(&self, n: i64) -> Option<EpochTimes> {
        self.wall_clock.as_ref()?.epochs.get(&n).copied()
    }

    /// Whether a worker payload for `n` is inside its window at unix second `now`.
    pub fn worker_window_accepts(&self, n: i64, now: i64) -> bool {
        self.epoch_times(n)
            .is_some_and(|e| e.start <= now && now <= e.worker_end)
    }

    /// Whether a reputer payload for `n` is inside its window at unix second `now`.
    pub fn reputer_window_accepts(&self, n: i64, now: i64) -> bool {
        self.epoch_times(n)
            .is_some_and(|e| e.reputer_start <= now && now <= e.reputer_end)
    }

    /// `GetEpoch`'s answer for `n`.
    pub fn epoch_proto(&self, n: i64) -> Option<v10::Epoch> {
        self.epoch_times(n).map(|e| v10::Epoch {
            topic_id: self.topic.id,
            nonce_block_height: n,
            start_time: e.start,
            worker_window_end_time: e.worker_end,
            reputer_window_start_time: e.reputer_start,
            reputer_window_end_time: e.reputer_end,
        })
    }
}

/// End-block lifecycle of one seconds-mode topic at `height`, block time `now` (unix s).
pub fn end_block_topic(
    t: &mut TopicState,
    id: u64,
    height: i64,
    now: i64,
    max_w: usize,
    max_r: usize,
    out: &mut Vec<Event>,
) {
    let epoch = t.topic.epoch_length.max(1);
    let window = t.topic.worker_submission_window;
    let lag = t.topic.ground_truth_lag;
    let Some(mut wc) = t.wall_clock.take() else {
        return;
    };
    // Worker windows whose last second has passed.
    let closing: Vec<i64> = t
        .worker_nonces
        .iter()
        .copied()
        .filter(|n| wc.epochs.get(n).is_none_or(|e| now > e.worker_end))
        .collect();
    let mut added = Vec::new();
    for n in closing {
        t.worker_nonces.retain(|x| *x != n);
        out.push(events::window_closed(events::WORKER_CLOSED, id, n));
        let payloads = t.worker_payloads.get(&n).cloned().unwrap_or_default();
        let has_inferences = payloads.values().any(|b| {
            b.inference_forecasts_bundle
                .as_ref()
                .is_some_and(|i| i.inference.is_some())
        });
        if has_inferences {
            t.network_inferences
                .insert(n, network::compute(&t.topic, n, &payloads));
            t.reputer_nonces.insert(0, n);
            t.reputer_nonces.truncate(max_r);
            added.push(n);
        }
    }
    // Reputer windows: announce the first block at/after their start, close after their end.
    let mut closed = Vec::new();
    for n in t.reputer_nonces.clone() {
        let Some(e) = wc.epochs.get(&n).copied() else {
            closed.push(n);
            continue;
        };
        let crossed = wc.last_time.is_none_or(|prev| prev < e.reputer_start);
        if now >= e.reputer_start && (crossed || added.contains(&n)) && now <= e.reputer_end {
            out.push(window_opened(events::REPUTER_OPENED, id, n, e.reputer_end));
        }
        if now > e.reputer_end {
            closed.push(n);
        }
    }
    for n in closed {
        t.reputer_nonces.retain(|x| *x != n);
        out.push(events::window_closed(events::REPUTER_CLOSED, id, n));
    }
    // Epoch tick.
    let next = *wc.next_epoch.get_or_insert(now + epoch);
    if now >= next {
        let start = next;
        let mut following = next + epoch;
        while following <= now {
            following += epoch; // a stalled chain skips epochs, it does not replay them
        }
        wc.next_epoch = Some(following);
        let times = EpochTimes {
            start,
            worker_end: start + window,
            reputer_start: start + lag,
            reputer_end: start + lag + epoch,
        };
        wc.epochs.insert(height, times);
        while wc.epochs.len() > KEEP_EPOCHS {
            wc.epochs.pop_first();
        }
        t.topic.epoch_last_ended = height;
        t.next_churn = height + 1;
        t.worker_nonces.insert(0, height);
        t.worker_nonces.truncate(max_w);
        out.push(window_opened(
            events::WORKER_OPENED,
            id,
            height,
            times.worker_end,
        ));
    }
    wc.last_time = Some(now);
    t.wall_clock = Some(wc);
}

/// A window-opened event with no height bound and its last second.
fn window_opened(kind: &str, topic_id: u64, nonce: i64, end_time: i64) -> Event {
    events::window_opened_at(kind, topic_id, nonce, end_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::Genesis;
    use crate::state::State;

    fn seconds_state() -> State {
        let mut g = Genesis::default_devnet();
        g.topics.truncate(1);
        g.topics[0].epoch_length = 10;
        g.topics[0].ground_truth_lag = 10;
        g.topics[0].worker_submission_window = 5;
        g.topics[0].wall_clock = true;
        State::from_genesis("t", &g).expect("state")
    }

    /// Half-second blocks: epochs open every 10 s (every ~20 blocks, not every 10), windows
    /// accept by time.
    #[test]
    fn epochs_follow_the_clock_not_the_height() {
        let mut s = seconds_state();
        let t0 = 1_000_000;
        let mut opened = Vec::new();
        for h in 1..=60i64 {
            let now = t0 + h / 2; // 0.5 s blocks
            let t = s.topics.get_mut(&1).expect("topic");
            let mut out = Vec::new();
            end_block_topic(t, 1, h, now, 100, 100, &mut out);
            if out
                .iter()
                .any(|e| e.kind.ends_with("EventWorkerSubmissionWindowOpened"))
            {
                opened.push((h, now));
            }
        }
        // genesis at the first block (t0), epochs at t0+10, t0+20 → heights 20, 40, 60.
        assert_eq!(opened, vec![(20, t0 + 10), (40, t0 + 20), (60, t0 + 30)]);
        let t = &s.topics[&1];
        let e = t.epoch_times(40).expect("epoch 40");
        assert_eq!(
            e,
            EpochTimes {
                start: t0 + 20,
                worker_end: t0 + 25,
                reputer_start: t0 + 30,
                reputer_end: t0 + 40
            }
        );
        assert!(t.worker_window_accepts(40, t0 + 25));
        assert!(!t.worker_window_accepts(40, t0 + 26));
        assert!(!t.worker_window_accepts(40, t0 + 19));
        assert!(t.reputer_window_accepts(40, t0 + 30) && t.reputer_window_accepts(40, t0 + 40));
        assert!(!t.reputer_window_accepts(40, t0 + 41));
        // Block arithmetic would put nonce 40's worker window end at 45 (t0+22): still open
        // by the clock.
        assert!(t.worker_window_accepts(40, t0 + 22 + 1));
    }
}
