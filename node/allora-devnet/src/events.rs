//! ABCI events as a Cosmos SDK 0.50 / CometBFT 0.38 chain emits them, and the CometBFT
//! subscription query language (`tm.event='Tx' AND a.b='"1"'`) used by websocket clients.
//! Typed events carry the proto full name as type and JSON-encoded attribute values
//! (`topic_id` = `"\"1\""`, since proto3 JSON renders 64-bit integers as strings).

use std::collections::BTreeMap;

use serde::Serialize;

/// One `key=value` of an event; `index` as CometBFT indexes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attribute {
    pub key: String,
    pub value: String,
    pub index: bool,
}

/// An ABCI event of a delivered tx or of a block's end (window events).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub attributes: Vec<Attribute>,
}

impl Event {
    /// A plain (untyped) SDK event, e.g. `message` / `tx`.
    pub(crate) fn plain(kind: &str, attrs: &[(&str, String)]) -> Event {
        Event {
            kind: kind.to_string(),
            attributes: attrs
                .iter()
                .map(|(k, v)| Attribute {
                    key: (*k).to_string(),
                    value: v.clone(),
                    index: true,
                })
                .collect(),
        }
    }

    /// A typed event: attributes sorted by key, values JSON-encoded (SDK `TypedEventToEvent`).
    pub(crate) fn typed(full_name: &str, fields: &[(&str, serde_json::Value)]) -> Event {
        let mut attributes: Vec<Attribute> = fields
            .iter()
            .map(|(k, v)| Attribute {
                key: (*k).to_string(),
                value: v.to_string(),
                index: true,
            })
            .collect();
        attributes.sort_by(|a, b| a.key.cmp(&b.key));
        Event {
            kind: full_name.to_string(),
            attributes,
        }
    }

    /// Marks an event as emitted by EndBlock (SDK 0.50 adds `mode`).
    pub(crate) fn in_end_block(mut self) -> Event {
        self.attributes.push(Attribute {
            key: "mode".to_string(),
            value: "EndBlock".to_string(),
            index: true,
        });
        self
    }

    /// The value of the first attribute named `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }
}

/// proto3 JSON of a 64-bit integer: a string.
pub fn j64(v: impl ToString) -> serde_json::Value {
    serde_json::Value::String(v.to_string())
}

pub const WORKER_OPENED: &str = "emissions.v10.EventWorkerSubmissionWindowOpened";
pub const WORKER_CLOSED: &str = "emissions.v10.EventWorkerSubmissionWindowClosed";
pub const REPUTER_OPENED: &str = "emissions.v10.EventReputerSubmissionWindowOpened";
pub const REPUTER_CLOSED: &str = "emissions.v10.EventReputerSubmissionWindowClosed";

pub fn window_opened(kind: &str, topic_id: u64, nonce: i64, window_end: i64) -> Event {
    Event::typed(
        kind,
        &[
            ("topic_id", j64(topic_id)),
            ("nonce_block_height", j64(nonce)),
            ("window_end_block", j64(window_end)),
        ],
    )
    .in_end_block()
}

/// A seconds-mode window-opened event: no height bound (`window_end_block` 0) and the
/// window's last second in `window_end_time` (an ASSUMED field, docs/DEVNET.md).
pub fn window_opened_at(kind: &str, topic_id: u64, nonce: i64, end_time: i64) -> Event {
    Event::typed(
        kind,
        &[
            ("topic_id", j64(topic_id)),
            ("nonce_block_height", j64(nonce)),
            ("window_end_block", j64(0)),
            ("window_end_time", j64(end_time)),
        ],
    )
    .in_end_block()
}

pub fn window_closed(kind: &str, topic_id: u64, nonce: i64) -> Event {
    Event::typed(
        kind,
        &[
            ("topic_id", j64(topic_id)),
            ("nonce_block_height", j64(nonce)),
        ],
    )
    .in_end_block()
}

/// The `events` map of a websocket result: `"<type>.<key>" → [values]`.
pub fn events_map(events: &[Event], extra: &[(&str, String)]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in extra {
        map.entry((*k).to_string()).or_default().push(v.clone());
    }
    for e in events {
        for a in &e.attributes {
            map.entry(format!("{}.{}", e.kind, a.key))
                .or_default()
                .push(a.value.clone());
        }
    }
    map
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Str(String),
    Num(f64),
    None,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    key: String,
    op: Op,
    operand: Operand,
}

/// A parsed subscription query (conditions joined by AND).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    text: String,
    conditions: Vec<Condition>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("failed to parse query `{query}`: {reason}")]
pub struct QueryParseError {
    pub query: String,
    pub reason: String,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryParseError> {
        let err = |reason: &str| QueryParseError {
            query: text.to_string(),
            reason: reason.into(),
        };
        let mut conditions = Vec::new();
        for part in split_and(text) {
            let part = part.trim();
            if part.is_empty() {
                return Err(err("empty condition"));
            }
            if let Some(key) = part.strip_suffix(" EXISTS") {
                conditions.push(Condition {
                    key: key.trim().to_string(),
                    op: Op::Exists,
                    operand: Operand::None,
                });
                continue;
            }
            let ops: [(&str, Op); 6] = [
                (" CONTAINS ", Op::Contains),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("=", Op::Eq),
                ("<", Op::Lt),
                (">", Op::Gt),
            ];
            let mut found = None;
            for (tok, op) in ops {
                if let Some(idx) = find_outside_quotes(part, tok) {
                    found = Some((idx, tok.len(), op));
                    break;
                }
            }
            let (idx, len, op) = found.ok_or_else(|| err("expected `key = 'value'`"))?;
            let key = part[..idx].trim();
            let raw = part[idx + len..].trim();
            if key.is_empty() || raw.is_empty() {
                return Err(err("expected `key = 'value'`"));
            }
            let operand = if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
                Operand::Str(raw[1..raw.len() - 1].to_string())
            } else {
                Operand::Num(
                    raw.parse::<f64>()
                        .map_err(|_| err("value must be quoted or a number"))?,
                )
            };
            conditions.push(Condition {
                key: key.to_string(),
                op,
                operand,
            });
        }
        Ok(Query {
            text: text.to_string(),
            conditions,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, events: &BTreeMap<String, Vec<String>>) -> bool {
        self.conditions.iter().all(|c| {
            let Some(values) = events.get(&c.key) else {
                return false;
            };
            values.iter().any(|v| match (&c.op, &c.operand) {
                (Op::Exists, _) => true,
                (Op::Eq, Operand::Str(s)) => v == s,
                (Op::Contains, Operand::Str(s)) => v.contains(s.as_str()),
                (op, Operand::Num(n)) => {
                    let Ok(x) = v.trim_matches('"').parse::<f64>() else {
                        return false;
                    };
                    match op {
                        Op::Eq => x == *n,
                        Op::Lt => x < *n,
                        Op::Le => x <= *n,
                        Op::Gt => x > *n,
                        Op::Ge => x >= *n,
                        _ => false,
                    }
                }
                _ => false,
            })
        })
    }
}

fn split_and(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote && chars[i..].starts_with(&[' ', 'A', 'N', 'D', ' ']) {
            parts.push(std::mem::take(&mut cur));
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
}

fn find_outside_quotes(s: &str, tok: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote && s[i..].starts_with(tok) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_window_event_is_json_encoded_and_sorted() {
        let e = window_opened(WORKER_OPENED, 1, 10, 14);
        assert_eq!(e.attr("topic_id"), Some("\"1\""));
        let keys: Vec<_> = e.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            ["nonce_block_height", "topic_id", "window_end_block", "mode"]
        );
    }

    #[test]
    fn query_matches_python_sdk_subscription() {
        let q = Query::parse(
            "tm.event='NewBlockEvents' AND emissions.v10.EventWorkerSubmissionWindowOpened.topic_id = '\"1\"'",
        )
        .expect("parse");
        let ev = [window_opened(WORKER_OPENED, 1, 10, 14)];
        let map = events_map(&ev, &[("tm.event", "NewBlockEvents".into())]);
        assert!(q.matches(&map));
        let other = [window_opened(WORKER_OPENED, 2, 10, 14)];
        let map = events_map(&other, &[("tm.event", "NewBlockEvents".into())]);
        assert!(!q.matches(&map));
    }

    #[test]
    fn query_numbers_exists_and_errors() {
        let map = events_map(
            &[],
            &[("tx.height", "12".into()), ("tm.event", "Tx".into())],
        );
        assert!(Query::parse("tx.height > 5").expect("q").matches(&map));
        assert!(!Query::parse("tx.height<5").expect("q").matches(&map));
        assert!(Query::parse("tm.event EXISTS").expect("q").matches(&map));
        assert!(Query::parse("tm.event = Tx").is_err());
        assert!(Query::parse("").is_err());
    }
}
