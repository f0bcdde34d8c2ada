//! The websocket side of the event stream: connect, subscribe to the window queries and
//! the block heartbeat, forward window events, and reconnect (with backoff) when the
//! connection fails, goes idle, or the [`Heartbeat`] watchdog finds it deaf.

use std::collections::BTreeSet;
use std::time::Duration;

use allora_protocol::EmissionsVersion;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::watchdog::{Heartbeat, Resubscribe, Watchdog};
use super::{Dedup, WindowEvent, parse_notification, subscription_queries, websocket_url};

/// The per-block heartbeat: the block header alone, so a busy chain's blocks are not
/// shipped to the node just to prove the connection is alive.
pub const HEARTBEAT_QUERY: &str = "tm.event='NewBlockHeader'";

/// Silence after which the connection is presumed half-dead (a ping is sent after half).
const IDLE_LIMIT: Duration = Duration::from_secs(30);

pub(super) async fn websocket_task(
    urls: Vec<String>,
    topics: BTreeSet<u64>,
    version: EmissionsVersion,
    tx: mpsc::Sender<WindowEvent>,
    watchdog: Watchdog,
) {
    if urls.is_empty() {
        return;
    }
    let mut dedup = Dedup::default();
    let mut beat = Heartbeat::new(&watchdog);
    let mut backoff = Duration::from_millis(200);
    let mut i = 0usize;
    loop {
        let url = websocket_url(&urls[i % urls.len()]);
        i += 1;
        let conn = run_connection(
            &url, &topics, version, &tx, &mut dedup, &mut beat, &watchdog,
        );
        match conn.await {
            ConnEnd::ReceiverGone => return,
            ConnEnd::Deaf { silent_for } => {
                beat.fired();
                watchdog.notify(Resubscribe::Deaf);
                backoff = Duration::from_millis(200);
                tracing::warn!(
                    endpoint = %url,
                    silent_ms = silent_for.as_millis() as u64,
                    block_time_ms = beat.block_time().as_millis() as u64,
                    "event websocket deaf: no new block delivered; resubscribing on a new connection"
                );
                // Reconnect at once: windows are opening while this connection is deaf.
                if tx.is_closed() {
                    return;
                }
                continue;
            }
            ConnEnd::Failed { reason, subscribed } => {
                watchdog.notify(Resubscribe::Lost);
                if subscribed {
                    // The endpoint worked: reconnect quickly, not at the last backoff.
                    backoff = Duration::from_millis(200);
                }
                tracing::warn!(endpoint = %url, reason = %reason, retry_in_ms = backoff.as_millis() as u64, "event websocket lost; reconnecting");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
        if tx.is_closed() {
            return;
        }
    }
}

enum ConnEnd {
    ReceiverGone,
    /// No block heartbeat within the watchdog's limit.
    Deaf {
        silent_for: Duration,
    },
    /// `subscribed`: the connection got as far as confirmed subscriptions.
    Failed {
        reason: String,
        subscribed: bool,
    },
}

impl ConnEnd {
    fn failed(reason: impl Into<String>, subscribed: bool) -> ConnEnd {
        ConnEnd::Failed {
            reason: reason.into(),
            subscribed,
        }
    }
}

/// Whether a notification is a block heartbeat.
fn is_heartbeat(v: &Value) -> bool {
    matches!(
        v["result"]["data"]["type"].as_str(),
        Some("tendermint/event/NewBlockHeader" | "tendermint/event/NewBlock")
    )
}

/// The height a block heartbeat carries (`NewBlockHeader`: `value.header.height`;
/// `NewBlock`: `value.block.header.height`; CometBFT renders it as a decimal string).
fn heartbeat_height(v: &Value) -> Option<i64> {
    let value = &v["result"]["data"]["value"];
    let h = if value["header"].is_object() {
        &value["header"]["height"]
    } else {
        &value["block"]["header"]["height"]
    };
    match h {
        Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

async fn run_connection(
    url: &str,
    topics: &BTreeSet<u64>,
    version: EmissionsVersion,
    tx: &mpsc::Sender<WindowEvent>,
    dedup: &mut Dedup,
    beat: &mut Heartbeat,
    watchdog: &Watchdog,
) -> ConnEnd {
    let connect = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    )
    .await;
    let mut ws = match connect {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return ConnEnd::failed(e.to_string(), false),
        Err(_) => return ConnEnd::failed("connect timed out", false),
    };
    let mut queries = subscription_queries(topics, version);
    queries.push(HEARTBEAT_QUERY.to_owned());
    for (i, q) in queries.iter().enumerate() {
        let sub = json!({
            "jsonrpc": "2.0", "id": i + 1, "method": "subscribe",
            "params": { "query": q }
        });
        if let Err(e) = ws.send(Message::Text(sub.to_string().into())).await {
            return ConnEnd::failed(e.to_string(), false);
        }
    }
    beat.connected();
    tracing::info!(endpoint = %url, queries = ?queries, "subscribing to window events");
    let mut acked = 0usize;
    let mut subscribed = false;
    let mut pinged = false;
    let mut last_traffic = Instant::now();
    loop {
        let deaf_at = beat.deadline();
        let idle_at = last_traffic + IDLE_LIMIT / 2;
        let msg = match tokio::time::timeout_at(deaf_at.min(idle_at), ws.next()).await {
            Err(_) if Instant::now() >= deaf_at => {
                return ConnEnd::Deaf {
                    silent_for: beat.limit(),
                };
            }
            Err(_) if !pinged => {
                pinged = true;
                last_traffic = Instant::now();
                if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return ConnEnd::failed("ping failed", subscribed);
                }
                continue;
            }
            Err(_) => {
                return ConnEnd::failed(format!("no traffic for {IDLE_LIMIT:?}"), subscribed);
            }
            Ok(None) => return ConnEnd::failed("closed by server", subscribed),
            Ok(Some(Err(e))) => return ConnEnd::failed(e.to_string(), subscribed),
            Ok(Some(Ok(m))) => m,
        };
        pinged = false;
        last_traffic = Instant::now();
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => return ConnEnd::failed("closed by server", subscribed),
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(err) = v.get("error") {
            return ConnEnd::failed(format!("subscribe refused: {err}"), subscribed);
        }
        // A subscription ack is `{"result": {}}` with the request id.
        if v["result"].as_object().is_some_and(|r| r.is_empty()) {
            acked += 1;
            if acked == queries.len() && !subscribed {
                subscribed = true;
                tracing::info!(endpoint = %url, "subscribed to window events");
            }
            continue;
        }
        if is_heartbeat(&v) {
            beat.beat();
            if let Some(h) = heartbeat_height(&v) {
                watchdog.block(h);
            }
        }
        for e in parse_notification(&v, topics) {
            if dedup.first_time(&e) && tx.send(e).await.is_err() {
                return ConnEnd::ReceiverGone;
            }
        }
        if tx.is_closed() {
            return ConnEnd::ReceiverGone;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both heartbeat shapes give their height; anything else gives none.
    #[test]
    fn heartbeat_height_from_both_shapes() {
        let header = json!({"result": {"data": {"type": "tendermint/event/NewBlockHeader",
            "value": {"header": {"height": "1234"}}}}});
        let block = json!({"result": {"data": {"type": "tendermint/event/NewBlock",
            "value": {"block": {"header": {"height": "77"}}}}}});
        assert!(is_heartbeat(&header) && is_heartbeat(&block));
        assert_eq!(heartbeat_height(&header), Some(1234));
        assert_eq!(heartbeat_height(&block), Some(77));
        assert_eq!(heartbeat_height(&json!({"result": {}})), None);
    }
}
