//! Submission-window events: CometBFT websocket subscriptions with reconnect and
//! resubscribe, and polling of the open-window queries as the fallback.
//!
//! The websocket subscribes once to `tm.event='NewBlockEvents'` and filters the typed
//! `emissions.v{9,10}.Event{Worker,Reputer}SubmissionWindow{Opened,Closed}` events (the
//! detected package) locally:
//! one subscription per topic and kind would exceed CometBFT's default
//! `max_subscriptions_per_client` (5) with two topics, and every notification carries the
//! whole block's events anyway. Typed event attribute values are JSON (`"\"1\""`), as in
//! Cosmos SDK 0.50.
//!
//! Those subscriptions are silent between epochs, so the connection also subscribes to a
//! block heartbeat and a watchdog ([`Watchdog`], `watchdog`) replaces a connection that
//! stays open but stops delivering (`websocket`).

mod watchdog;
mod websocket;

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::time::Duration;

use futures::Stream;
use serde_json::Value;
use tokio::sync::mpsc;

use super::ChainClient;
pub use watchdog::{OnBlock, OnResubscribe, Resubscribe, Watchdog};
pub use websocket::HEARTBEAT_QUERY;
use websocket::websocket_task;

use allora_protocol::EmissionsVersion;

/// Which window changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WindowEventKind {
    WorkerOpened,
    WorkerClosed,
    ReputerOpened,
    ReputerClosed,
}

impl WindowEventKind {
    /// The typed event's message name, without the package.
    pub fn event_name(self) -> &'static str {
        match self {
            WindowEventKind::WorkerOpened => "EventWorkerSubmissionWindowOpened",
            WindowEventKind::WorkerClosed => "EventWorkerSubmissionWindowClosed",
            WindowEventKind::ReputerOpened => "EventReputerSubmissionWindowOpened",
            WindowEventKind::ReputerClosed => "EventReputerSubmissionWindowClosed",
        }
    }

    /// The typed event's proto full name under `version`
    /// (`emissions.v9.EventWorkerSubmissionWindowOpened`).
    pub fn event_type(self, version: EmissionsVersion) -> String {
        version.event_type(self.event_name())
    }

    /// The kind of a typed event of any supported emissions version.
    fn from_event_type(t: &str) -> Option<WindowEventKind> {
        [
            WindowEventKind::WorkerOpened,
            WindowEventKind::WorkerClosed,
            WindowEventKind::ReputerOpened,
            WindowEventKind::ReputerClosed,
        ]
        .into_iter()
        .find(|k| {
            EmissionsVersion::SUPPORTED
                .iter()
                .any(|v| k.event_type(*v) == t)
        })
    }
}

/// A window opened or closed for `(topic_id, nonce_block_height)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowEvent {
    pub kind: WindowEventKind,
    pub topic_id: u64,
    pub nonce_block_height: i64,
    /// Last block of the window (opened events only).
    pub window_end_block: Option<i64>,
}

/// The broad query (every block's events), kept for callers that filter themselves.
pub const SUBSCRIPTION_QUERY: &str = "tm.event='NewBlockEvents'";

/// CometBFT's default `max_subscriptions_per_client`.
const MAX_SUBSCRIPTIONS: usize = 5;

/// The subscription queries for `topics`: one per window event type, so only blocks that
/// carry a window event are delivered. With a single topic the topic id is matched by the
/// node (`topic_id='"<id>"'`: typed-event values are JSON, a uint64 is a quoted string);
/// with several, `EXISTS` keeps the count at four, under CometBFT's default limit of five
/// subscriptions per client, and topics are filtered here.
pub fn subscription_queries(topics: &BTreeSet<u64>, version: EmissionsVersion) -> Vec<String> {
    let kinds = [
        WindowEventKind::WorkerOpened,
        WindowEventKind::WorkerClosed,
        WindowEventKind::ReputerOpened,
        WindowEventKind::ReputerClosed,
    ];
    let qs: Vec<String> = match (topics.len(), topics.iter().next()) {
        (1, Some(id)) => kinds
            .iter()
            .map(|k| {
                format!(
                    "tm.event='NewBlockEvents' AND {}.topic_id='\"{id}\"'",
                    k.event_type(version)
                )
            })
            .collect(),
        _ => kinds
            .iter()
            .map(|k| {
                format!(
                    "tm.event='NewBlockEvents' AND {}.topic_id EXISTS",
                    k.event_type(version)
                )
            })
            .collect(),
    };
    // One more for the block heartbeat (`websocket::HEARTBEAT_QUERY`).
    debug_assert!(qs.len() < MAX_SUBSCRIPTIONS);
    qs
}

/// `http(s)://host:port[/]` → `ws(s)://host:port/websocket`.
pub fn websocket_url(rpc_url: &str) -> String {
    let u = rpc_url.trim().trim_end_matches('/');
    let u = if let Some(rest) = u.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = u.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if u.starts_with("ws://") || u.starts_with("wss://") {
        u.to_owned()
    } else {
        format!("ws://{u}")
    };
    if u.ends_with("/websocket") {
        u
    } else {
        format!("{u}/websocket")
    }
}

/// An attribute value of a typed event: JSON (`"\"12\""` or `12`) or plain (`12`).
fn attr_i64(v: &str) -> Option<i64> {
    match serde_json::from_str::<Value>(v) {
        Ok(Value::String(s)) => s.parse().ok(),
        Ok(Value::Number(n)) => n.as_i64(),
        _ => v.trim_matches('"').parse().ok(),
    }
}

/// Extracts window events from one websocket notification (`NewBlockEvents`, `NewBlock`
/// or `Tx` data), keeping only `topics` (all when empty).
pub fn parse_notification(msg: &Value, topics: &BTreeSet<u64>) -> Vec<WindowEvent> {
    let value = &msg["result"]["data"]["value"];
    let candidates = [
        &value["events"],
        &value["result_finalize_block"]["events"],
        &value["TxResult"]["result"]["events"],
    ];
    let mut out = Vec::new();
    for events in candidates {
        let Some(list) = events.as_array() else {
            continue;
        };
        for ev in list {
            let Some(kind) = ev["type"]
                .as_str()
                .and_then(WindowEventKind::from_event_type)
            else {
                continue;
            };
            let mut topic = None;
            let mut nonce = None;
            let mut end = None;
            for a in ev["attributes"].as_array().into_iter().flatten() {
                let (Some(k), Some(v)) = (a["key"].as_str(), a["value"].as_str()) else {
                    continue;
                };
                match k {
                    "topic_id" => topic = attr_i64(v).and_then(|t| u64::try_from(t).ok()),
                    "nonce_block_height" => nonce = attr_i64(v),
                    "window_end_block" => end = attr_i64(v),
                    _ => {}
                }
            }
            if let (Some(topic_id), Some(nonce_block_height)) = (topic, nonce)
                && (topics.is_empty() || topics.contains(&topic_id))
            {
                out.push(WindowEvent {
                    kind,
                    topic_id,
                    nonce_block_height,
                    window_end_block: end,
                });
            }
        }
    }
    out
}

/// Remembers recently delivered events so reconnects and the polling fallback do not
/// deliver one window twice.
#[derive(Debug, Default)]
pub(crate) struct Dedup {
    seen: HashSet<(WindowEventKind, u64, i64)>,
    order: VecDeque<(WindowEventKind, u64, i64)>,
}

impl Dedup {
    const CAP: usize = 4096;

    pub(crate) fn first_time(&mut self, e: &WindowEvent) -> bool {
        let key = (e.kind, e.topic_id, e.nonce_block_height);
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > Self::CAP
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

fn into_stream(rx: mpsc::Receiver<WindowEvent>) -> impl Stream<Item = WindowEvent> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) })
}

/// Subscribes to window events over the CometBFT websockets of `rpc_urls` (tried in
/// turn), reconnecting and resubscribing forever, with the deafness watchdog at 5 blocks of
/// a 5 s first estimate and no resubscription callback (tools and tests; the node passes
/// its plan's values to [`subscribe_watched`]). `version` is the emissions package whose
/// typed events are subscribed to. The stream ends only when dropped.
pub fn subscribe(
    rpc_urls: Vec<String>,
    topics: Vec<u64>,
    version: EmissionsVersion,
) -> impl Stream<Item = WindowEvent> {
    let watchdog = Watchdog {
        deaf_after_blocks: 5,
        block_time_estimate: Duration::from_secs(5),
        on_resubscribe: None,
        on_block: None,
    };
    subscribe_watched(rpc_urls, topics, version, watchdog)
}

/// [`subscribe`] with the caller's [`Watchdog`]: a connection that delivers no block
/// heartbeat for `deaf_after_blocks` expected block times is replaced by a new one, and
/// every resubscription is reported to `on_resubscribe`.
pub fn subscribe_watched(
    rpc_urls: Vec<String>,
    topics: Vec<u64>,
    version: EmissionsVersion,
    watchdog: Watchdog,
) -> impl Stream<Item = WindowEvent> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(websocket_task(
        rpc_urls,
        topics.into_iter().collect(),
        version,
        tx,
        watchdog,
    ));
    into_stream(rx)
}

/// Websocket events plus polling of `GetOpen{Worker,Reputer}SubmissionWindows` every
/// `poll_interval` (which also covers windows missed while reconnecting), deduplicated.
/// Polling only reports "opened" events (with `window_end_block: None`).
pub fn watch_windows(
    client: ChainClient,
    rpc_urls: Vec<String>,
    topics: Vec<u64>,
    poll_interval: Duration,
) -> impl Stream<Item = WindowEvent> {
    let (tx, rx) = mpsc::channel(256);
    let (merged_tx, merged_rx) = mpsc::channel(256);
    let set: BTreeSet<u64> = topics.iter().copied().collect();
    if !rpc_urls.is_empty() {
        let watchdog = Watchdog {
            deaf_after_blocks: 5,
            block_time_estimate: Duration::from_secs(5),
            on_resubscribe: None,
            on_block: None,
        };
        tokio::spawn(websocket_task(
            rpc_urls,
            set.clone(),
            client.version(),
            tx.clone(),
            watchdog,
        ));
    }
    tokio::spawn(poll_task(client, set, poll_interval, tx));
    tokio::spawn(async move {
        let mut rx = rx;
        let mut dedup = Dedup::default();
        while let Some(e) = rx.recv().await {
            if dedup.first_time(&e) && merged_tx.send(e).await.is_err() {
                return;
            }
        }
    });
    into_stream(merged_rx)
}

async fn poll_task(
    client: ChainClient,
    topics: BTreeSet<u64>,
    every: Duration,
    tx: mpsc::Sender<WindowEvent>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for &topic_id in &topics {
            let worker = client.open_worker_windows(topic_id).await;
            let reputer = client.open_reputer_windows(topic_id).await;
            let found = [
                (WindowEventKind::WorkerOpened, worker),
                (WindowEventKind::ReputerOpened, reputer),
            ];
            for (kind, r) in found {
                match r {
                    Ok(nonces) => {
                        for n in nonces {
                            let e = WindowEvent {
                                kind,
                                topic_id,
                                nonce_block_height: n,
                                window_end_block: None,
                            };
                            if tx.send(e).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(topic_id, error = %e, "open-window poll failed")
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_stay_under_the_subscription_limit() {
        let one: BTreeSet<u64> = [7].into_iter().collect();
        let q = subscription_queries(&one, EmissionsVersion::V10);
        assert_eq!(q.len(), 4);
        assert_eq!(
            q[0],
            "tm.event='NewBlockEvents' AND emissions.v10.EventWorkerSubmissionWindowOpened.topic_id='\"7\"'"
        );
        let many: BTreeSet<u64> = (1..=20).collect();
        let q = subscription_queries(&many, EmissionsVersion::V10);
        assert_eq!(q.len(), 4);
        assert!(q.iter().all(|q| q.ends_with(".topic_id EXISTS")), "{q:?}");
        assert_eq!(
            subscription_queries(&BTreeSet::new(), EmissionsVersion::V10).len(),
            4
        );
        // The heartbeat makes five: CometBFT's default limit, not beyond it.
        assert_eq!(q.len() + 1, MAX_SUBSCRIPTIONS);
    }

    #[test]
    fn urls() {
        assert_eq!(
            websocket_url("http://127.0.0.1:26657"),
            "ws://127.0.0.1:26657/websocket"
        );
        assert_eq!(
            websocket_url("https://allora-rpc.testnet.allora.network/"),
            "wss://allora-rpc.testnet.allora.network/websocket"
        );
        assert_eq!(
            websocket_url("wss://x.example/websocket"),
            "wss://x.example/websocket"
        );
    }

    fn notification() -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "result": {
            "query": "tm.event='NewBlockEvents'",
            "data": {"type": "tendermint/event/NewBlockEvents", "value": {
                "height": "120",
                "events": [
                    {"type": "coin_received", "attributes": [{"key": "amount", "value": "5uallo", "index": true}]},
                    {"type": "emissions.v10.EventWorkerSubmissionWindowOpened", "attributes": [
                        {"key": "nonce_block_height", "value": "\"120\"", "index": true},
                        {"key": "topic_id", "value": "\"1\"", "index": true},
                        {"key": "window_end_block", "value": "\"130\"", "index": true},
                        {"key": "mode", "value": "EndBlock", "index": true}]},
                    {"type": "emissions.v10.EventReputerSubmissionWindowClosed", "attributes": [
                        {"key": "nonce_block_height", "value": "\"100\"", "index": true},
                        {"key": "topic_id", "value": "\"2\"", "index": true}]}
                ]
            }}
        }})
    }

    #[test]
    fn parses_typed_events_with_json_values() {
        let all = parse_notification(&notification(), &BTreeSet::new());
        assert_eq!(
            all,
            vec![
                WindowEvent {
                    kind: WindowEventKind::WorkerOpened,
                    topic_id: 1,
                    nonce_block_height: 120,
                    window_end_block: Some(130)
                },
                WindowEvent {
                    kind: WindowEventKind::ReputerClosed,
                    topic_id: 2,
                    nonce_block_height: 100,
                    window_end_block: None
                },
            ]
        );
        let only2 = parse_notification(&notification(), &[2].into_iter().collect());
        assert_eq!(only2.len(), 1);
        assert_eq!(only2[0].topic_id, 2);
        // subscription acks and junk produce nothing
        assert!(
            parse_notification(
                &json!({"jsonrpc":"2.0","id":1,"result":{}}),
                &BTreeSet::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn plain_attribute_values_are_accepted() {
        assert_eq!(attr_i64("\"42\""), Some(42));
        assert_eq!(attr_i64("42"), Some(42));
        assert_eq!(attr_i64("x"), None);
    }

    #[test]
    fn dedup_drops_repeats() {
        let mut d = Dedup::default();
        let e = WindowEvent {
            kind: WindowEventKind::WorkerOpened,
            topic_id: 1,
            nonce_block_height: 5,
            window_end_block: None,
        };
        assert!(d.first_time(&e));
        assert!(!d.first_time(&e));
        let closed = WindowEvent {
            kind: WindowEventKind::WorkerClosed,
            ..e
        };
        assert!(d.first_time(&closed));
    }
}
