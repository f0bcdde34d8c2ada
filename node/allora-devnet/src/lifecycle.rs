//! Nonce and window lifecycle, run at the end of every block (reference §D):
//! * epoch tick at `next_churn`: worker nonce N = height opens; txs are accepted in
//!   `N ≤ h ≤ N + worker_submission_window` (the `window_end_block` we report, inclusive, as
//!   on allorad v0.17.0);
//! * at the end of that last block the worker nonce is fulfilled, network inferences are
//!   computed and — if anyone submitted — reputer nonce N is added;
//! * the reputer window opens for txs at `N + lag` (event emitted at the end of the block
//!   before) and closes after `N + lag + extra + epoch_length` (inclusive; `extra` rounds the
//!   lag up to an epoch, as on allorad v0.17.0), when the reputer nonce is fulfilled.
//!
//! "Open" in queries means "a tx landing in the next block would be inside the window".

use allora_protocol::proto::emissions::v10;

use super::events::{self, Event};
use super::network;
use super::state::{State, TopicState};

/// Advances every active topic at the end of block `height`; returns the block's events.
pub fn end_block(state: &mut State, height: i64) -> Vec<Event> {
    let max_w = state.params.max_unfulfilled_worker_requests.max(1) as usize;
    let max_r = state.params.max_unfulfilled_reputer_requests.max(1) as usize;
    let version = state.emissions_version;
    let mut out = Vec::new();
    let now = crate::wallclock::secs(state.block_time_nanos);
    for (id, t) in state.topics.iter_mut() {
        if !t.active {
            continue;
        }
        let id = *id;
        if t.wall_clock.is_some() {
            crate::wallclock::end_block_topic(t, id, height, now, max_w, max_r, &mut out);
            continue;
        }
        // Worker windows whose last block was this one.
        let closing: Vec<i64> = t
            .worker_nonces
            .iter()
            .copied()
            .filter(|n| t.worker_window_end(*n) <= height)
            .collect();
        let mut added = Vec::new();
        for n in closing {
            t.worker_nonces.retain(|x| *x != n);
            out.push(events::window_closed(events::WORKER_CLOSED, id, n));
            let has_inferences = t.worker_payloads.get(&n).is_some_and(|p| {
                p.values().any(|b| {
                    b.inference_forecasts_bundle
                        .as_ref()
                        .is_some_and(|i| i.inference.is_some())
                })
            });
            if has_inferences {
                let payloads = t.worker_payloads.get(&n).cloned().unwrap_or_default();
                t.network_inferences
                    .insert(n, network::compute(&t.topic, n, &payloads));
                t.reputer_nonces.insert(0, n);
                t.reputer_nonces.truncate(max_r);
                added.push(n);
            }
        }
        // Reputer windows: open for the next block, or closed after this one.
        let mut closed = Vec::new();
        for n in t.reputer_nonces.clone() {
            let (start, end) = t.reputer_window(n);
            // The nonce is added at the end of N + window; when lag = window that is already
            // inside its reputer window, so the opened event goes out with the nonce.
            if start - 1 == height || (added.contains(&n) && start - 1 < height) {
                out.push(events::window_opened(events::REPUTER_OPENED, id, n, end));
            }
            if end <= height {
                closed.push(n);
            }
        }
        for n in closed {
            t.reputer_nonces.retain(|x| *x != n);
            out.push(events::window_closed(events::REPUTER_CLOSED, id, n));
        }
        // Epoch tick.
        if height >= t.next_churn {
            t.topic.epoch_last_ended = height;
            t.next_churn = height + t.topic.epoch_length;
            t.worker_nonces.insert(0, height);
            t.worker_nonces.truncate(max_w);
            let end = t.worker_window_end(height);
            out.push(events::window_opened(
                events::WORKER_OPENED,
                id,
                height,
                end,
            ));
        }
    }
    if version != 10 {
        for e in &mut out {
            if let Some(rest) = e.kind.strip_prefix("emissions.v10.") {
                e.kind = format!("emissions.v{version}.{rest}");
            }
        }
    }
    out
}

/// Window status as `GetWorkerSubmissionWindowStatus` reports it.
pub fn worker_status(
    state: &State,
    topic_id: u64,
    address: &str,
) -> v10::GetWorkerSubmissionWindowStatusResponse {
    let Some(t) = state.topics.get(&topic_id) else {
        return Default::default();
    };
    if t.wall_clock.is_some() {
        // No height bounds exist in seconds mode: the window ends are reported as 0.
        let current = t.worker_nonces.first().copied().unwrap_or_default();
        return v10::GetWorkerSubmissionWindowStatusResponse {
            is_open: !open_worker_nonces(state, t).is_empty(),
            current_nonce_block_height: current,
            window_start_block: current,
            is_registered: t.workers.contains(address),
            is_whitelisted: t.can_submit_worker(address),
            is_topic_active: t.active,
            ..Default::default()
        };
    }
    let next_h = state.height + 1;
    let current = t
        .worker_nonces
        .first()
        .copied()
        .unwrap_or(t.topic.epoch_last_ended);
    let is_open = t
        .worker_nonces
        .iter()
        .any(|n| *n <= next_h && next_h <= t.worker_window_end(*n));
    v10::GetWorkerSubmissionWindowStatusResponse {
        is_open,
        current_nonce_block_height: current,
        window_start_block: current,
        window_end_block: t.worker_window_end(current),
        next_window_start_block: t.next_churn,
        next_window_end_block: t.worker_window_end(t.next_churn),
        is_registered: t.workers.contains(address),
        is_whitelisted: t.can_submit_worker(address),
        is_topic_active: t.active,
    }
}

/// Window status as `GetReputerSubmissionWindowStatus` reports it (oldest open nonce first,
/// else the oldest pending one, else the one the next epoch will produce).
pub fn reputer_status(
    state: &State,
    topic_id: u64,
    address: &str,
) -> v10::GetReputerSubmissionWindowStatusResponse {
    let Some(t) = state.topics.get(&topic_id) else {
        return Default::default();
    };
    let open = open_reputer_nonces(state, t);
    if t.wall_clock.is_some() {
        let current = open.last().copied().unwrap_or_default();
        return v10::GetReputerSubmissionWindowStatusResponse {
            is_open: !open.is_empty(),
            current_nonce_block_height: current,
            window_start_block: current,
            is_registered: t.reputers.contains(address),
            is_whitelisted: t.can_submit_reputer(address),
            is_topic_active: t.active,
            ..Default::default()
        };
    }
    let current = open
        .last()
        .copied()
        .or_else(|| t.reputer_nonces.last().copied())
        .unwrap_or(if t.topic.epoch_last_ended > 0 {
            t.topic.epoch_last_ended
        } else {
            t.next_churn
        });
    let (start, end) = t.reputer_window(current);
    let next = current + t.topic.epoch_length;
    let (next_start, next_end) = t.reputer_window(next);
    v10::GetReputerSubmissionWindowStatusResponse {
        is_open: !open.is_empty(),
        current_nonce_block_height: current,
        window_start_block: start,
        window_end_block: end,
        next_window_start_block: next_start,
        next_window_end_block: next_end,
        is_registered: t.reputers.contains(address),
        is_whitelisted: t.can_submit_reputer(address),
        is_topic_active: t.active,
    }
}

/// Worker nonces whose window accepts a tx in the next block, newest first.
pub fn open_worker_nonces(state: &State, t: &TopicState) -> Vec<i64> {
    if t.wall_clock.is_some() {
        let now = crate::wallclock::secs(state.block_time_nanos);
        return t
            .worker_nonces
            .iter()
            .copied()
            .filter(|n| t.worker_window_accepts(*n, now))
            .collect();
    }
    let next_h = state.height + 1;
    t.worker_nonces
        .iter()
        .copied()
        .filter(|n| *n <= next_h && next_h <= t.worker_window_end(*n))
        .collect()
}

/// Reputer nonces whose window accepts a tx in the next block, newest first.
pub fn open_reputer_nonces(state: &State, t: &TopicState) -> Vec<i64> {
    if t.wall_clock.is_some() {
        let now = crate::wallclock::secs(state.block_time_nanos);
        return t
            .reputer_nonces
            .iter()
            .copied()
            .filter(|n| t.reputer_window_accepts(*n, now))
            .collect();
    }
    let next_h = state.height + 1;
    t.reputer_nonces
        .iter()
        .copied()
        .filter(|n| {
            let (s, e) = t.reputer_window(*n);
            s <= next_h && next_h <= e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::Genesis;

    fn kinds(evs: &[Event]) -> Vec<(String, String)> {
        evs.iter()
            .map(|e| {
                (
                    e.kind.rsplit('.').next().unwrap_or("").to_string(),
                    e.attr("nonce_block_height").unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn worker_window_opens_and_closes_on_schedule() {
        let mut g = Genesis::default_devnet();
        g.topics.truncate(1);
        g.topics[0].epoch_length = 5;
        g.topics[0].ground_truth_lag = 5;
        g.topics[0].worker_submission_window = 3;
        let mut s = State::from_genesis("t", &g).expect("state");
        let mut log = Vec::new();
        for h in 1..=13 {
            s.height = h;
            for e in kinds(&end_block(&mut s, h)) {
                log.push((h, e.0, e.1));
            }
        }
        let expected = [
            (5, "EventWorkerSubmissionWindowOpened", "\"5\""),
            (8, "EventWorkerSubmissionWindowClosed", "\"5\""),
            (10, "EventWorkerSubmissionWindowOpened", "\"10\""),
            (13, "EventWorkerSubmissionWindowClosed", "\"10\""),
        ];
        let got: Vec<(i64, &str, &str)> = log
            .iter()
            .map(|(h, k, n)| (*h, k.as_str(), n.as_str()))
            .collect();
        assert_eq!(got, expected);
        // No payloads → no reputer nonce.
        assert!(s.topics[&1].reputer_nonces.is_empty());
    }

    #[test]
    fn reputer_window_follows_a_worker_window_with_inferences() {
        let mut g = Genesis::default_devnet();
        g.topics.truncate(1);
        g.topics[0].epoch_length = 5;
        g.topics[0].ground_truth_lag = 5;
        g.topics[0].worker_submission_window = 3;
        let mut s = State::from_genesis("t", &g).expect("state");
        let mut log = Vec::new();
        for h in 1..=16 {
            s.height = h;
            if h == 6 {
                // A worker payload for nonce 5 (stored as the msg handler would).
                let b = v10::InputWorkerDataBundle {
                    worker: "w".into(),
                    topic_id: 1,
                    inference_forecasts_bundle: Some(v10::InputInferenceForecastBundle {
                        inference: Some(v10::InputInference {
                            topic_id: 1,
                            block_height: 5,
                            inferer: "w".into(),
                            value: "0".into(),
                            values: vec![v10::InputLabeledValue {
                                label: "y".into(),
                                value: "4".into(),
                            }],
                            ..Default::default()
                        }),
                        forecast: None,
                    }),
                    ..Default::default()
                };
                let t = s.topics.get_mut(&1).expect("topic");
                t.worker_payloads
                    .entry(5)
                    .or_default()
                    .insert("w".into(), b);
            }
            for e in kinds(&end_block(&mut s, h)) {
                if e.1 == "\"5\"" {
                    log.push((h, e.0));
                }
            }
            if h == 9 {
                // Next block (10) is the first accepting reputer block.
                assert_eq!(open_reputer_nonces(&s, &s.topics[&1]), vec![5]);
            }
        }
        let got: Vec<(i64, &str)> = log.iter().map(|(h, k)| (*h, k.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "EventWorkerSubmissionWindowOpened"),
                (8, "EventWorkerSubmissionWindowClosed"),
                (9, "EventReputerSubmissionWindowOpened"),
                (15, "EventReputerSubmissionWindowClosed"),
            ]
        );
        assert_eq!(
            s.topics[&1].network_inferences[&5].combined_value[0].value,
            "4.0"
        );
        assert!(s.topics[&1].reputer_nonces.is_empty());
    }

    /// With `worker_submission_window = ground_truth_lag` the reputer nonce is added inside its
    /// own window (at the end of `N + window`); its opened event goes out with it.
    #[test]
    fn reputer_window_opened_when_the_window_equals_the_lag() {
        let mut g = Genesis::default_devnet();
        g.topics.truncate(1);
        g.topics[0].epoch_length = 5;
        g.topics[0].ground_truth_lag = 5;
        g.topics[0].worker_submission_window = 5;
        let mut s = State::from_genesis("t", &g).expect("state");
        let mut log = Vec::new();
        for h in 1..=10 {
            s.height = h;
            if h == 6 {
                let b = v10::InputWorkerDataBundle {
                    worker: "w".into(),
                    topic_id: 1,
                    inference_forecasts_bundle: Some(v10::InputInferenceForecastBundle {
                        inference: Some(v10::InputInference {
                            topic_id: 1,
                            block_height: 5,
                            inferer: "w".into(),
                            value: "4".into(),
                            ..Default::default()
                        }),
                        forecast: None,
                    }),
                    ..Default::default()
                };
                let t = s.topics.get_mut(&1).expect("topic");
                t.worker_payloads
                    .entry(5)
                    .or_default()
                    .insert("w".into(), b);
            }
            for e in kinds(&end_block(&mut s, h)) {
                if e.1 == "\"5\"" {
                    log.push((h, e.0));
                }
            }
        }
        let got: Vec<(i64, &str)> = log.iter().map(|(h, k)| (*h, k.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "EventWorkerSubmissionWindowOpened"),
                (10, "EventWorkerSubmissionWindowClosed"),
                (10, "EventReputerSubmissionWindowOpened"),
            ]
        );
    }
}
