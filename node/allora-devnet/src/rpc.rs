//! CometBFT 0.38-style JSON-RPC on its own port (axum): `status`, `abci_query` (answered by
//! the gRPC handlers, by path), `broadcast_tx_sync`, `tx`, `block`, over POST JSON-RPC and
//! GET URI form, plus `/websocket` with `subscribe` / `unsubscribe` / `unsubscribe_all` for
//! `tm.event='NewBlock' | 'NewBlockHeader' | 'NewBlockEvents' | 'Tx'` and attribute
//! conditions.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::events::{self, Event, Query};
use super::grpc::Services;
use super::node::{BlockNotice, BlockRecord, Node, TxRecord};

#[derive(Clone)]
struct AppState {
    services: Services,
    rpc_addr: SocketAddr,
}

impl AppState {
    fn node(&self) -> &Arc<Node> {
        &self.services.node
    }
}

/// A JSON-RPC error object.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: &'static str,
    data: String,
}

fn internal(data: impl ToString) -> RpcError {
    RpcError {
        code: -32603,
        message: "Internal error",
        data: data.to_string(),
    }
}

fn invalid_params(data: impl ToString) -> RpcError {
    RpcError {
        code: -32602,
        message: "Invalid params",
        data: data.to_string(),
    }
}

fn reply(id: &Value, r: Result<Value, RpcError>) -> Value {
    match r {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message, "data": e.data}})
        }
    }
}

pub fn router(services: Services, rpc_addr: SocketAddr) -> Router {
    let state = AppState { services, rpc_addr };
    Router::new()
        .route("/", post(post_rpc))
        .route("/websocket", get(websocket))
        .route("/{method}", get(get_rpc))
        .with_state(state)
}

async fn post_rpc(State(st): State<AppState>, body: String) -> impl IntoResponse {
    let parsed: Result<Value, _> = serde_json::from_str(&body);
    let out = match parsed {
        Ok(Value::Array(reqs)) => {
            let mut outs = Vec::new();
            for r in reqs {
                outs.push(handle_request(&st, &r).await);
            }
            Value::Array(outs)
        }
        Ok(req) => handle_request(&st, &req).await,
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32700, "message": "Parse error. Invalid JSON", "data": e.to_string()}})
        }
    };
    axum::Json(out)
}

async fn get_rpc(
    State(st): State<AppState>,
    Path(method): Path<String>,
    UrlQuery(q): UrlQuery<HashMap<String, String>>,
) -> impl IntoResponse {
    let params: serde_json::Map<String, Value> = q
        .into_iter()
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            (k, Value::String(v.to_string()))
        })
        .collect();
    let id = json!(-1);
    let r = dispatch(&st, &method, &Value::Object(params)).await;
    axum::Json(reply(&id, r))
}

async fn handle_request(st: &AppState, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(json!(-1));
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return reply(
            &id,
            Err(RpcError {
                code: -32600,
                message: "Invalid Request",
                data: "missing method".into(),
            }),
        );
    };
    let params = req.get("params").cloned().unwrap_or(json!({}));
    let r = dispatch(st, method, &params).await;
    reply(&id, r)
}

fn param<'a>(params: &'a Value, name: &str, pos: usize) -> Option<&'a Value> {
    match params {
        Value::Object(m) => m.get(name),
        Value::Array(a) => a.get(pos),
        _ => None,
    }
    .filter(|v| !v.is_null())
}

fn str_param(params: &Value, name: &str, pos: usize) -> Option<String> {
    param(params, name, pos).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Bytes given as `0x…` hex, plain hex (when `hex_default`) or base64.
fn bytes_param(
    params: &Value,
    name: &str,
    pos: usize,
    hex_default: bool,
) -> Result<Vec<u8>, RpcError> {
    let Some(s) = str_param(params, name, pos) else {
        return Ok(Vec::new());
    };
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return hex::decode(h).map_err(|e| invalid_params(format!("{name}: bad hex: {e}")));
    }
    if hex_default {
        return hex::decode(&s).map_err(|e| invalid_params(format!("{name}: bad hex: {e}")));
    }
    B64.decode(&s)
        .map_err(|e| invalid_params(format!("{name}: bad base64: {e}")))
}

fn height_param(params: &Value) -> Result<Option<i64>, RpcError> {
    match str_param(params, "height", 0) {
        None => Ok(None),
        Some(s) if s.is_empty() || s == "0" => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| invalid_params(format!("height: {s:?} is not an integer"))),
    }
}

async fn dispatch(st: &AppState, method: &str, params: &Value) -> Result<Value, RpcError> {
    st.node()
        .faults
        .on_request()
        .await
        .map_err(|_| internal("devnet fault injection: forced error"))?;
    match method {
        "status" => Ok(status(st)),
        "health" => Ok(json!({})),
        "abci_query" => abci_query(st, params).await,
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let tx = bytes_param(params, "tx", 0, false)?;
            if tx.is_empty() {
                return Err(invalid_params("tx is required"));
            }
            let hash = super::ante::tx_hash(&tx);
            let checked = st.node().check_tx(&tx);
            st.node()
                .faults
                .on_broadcast_answer(&tx, checked.is_ok())
                .await;
            // Processed as usual (a tx CheckTx accepted is in the mempool); only the answer
            // is lost.
            if st.node().faults.drop_this_response() {
                return Err(internal(
                    "devnet fault injection: broadcast processed, response dropped",
                ));
            }
            Ok(match checked {
                Ok(hash) => {
                    json!({"code": 0, "data": "", "log": "", "codespace": "", "hash": hash})
                }
                Err(e) => {
                    json!({"code": e.code, "data": "", "log": e.log, "codespace": e.codespace, "hash": hash})
                }
            })
        }
        "tx" => {
            let s =
                str_param(params, "hash", 0).ok_or_else(|| invalid_params("hash is required"))?;
            let hash = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
                s.to_uppercase()
            } else {
                hex::encode_upper(bytes_param(params, "hash", 0, false)?)
            };
            let rec = st.node().lock().txs.get(&hash).cloned();
            let rec = rec.ok_or_else(|| internal(format!("tx ({hash}) not found")))?;
            Ok(tx_json(&rec))
        }
        "block" => {
            let h = height_param(params)?;
            let chain = st.node().lock();
            let b = match h {
                None => chain.blocks.last().cloned(),
                Some(h) => usize::try_from(h - 1)
                    .ok()
                    .and_then(|i| chain.blocks.get(i).cloned()),
            };
            let b = b.ok_or_else(|| {
                internal(format!(
                    "height {} must be less than or equal to the current blockchain height {}",
                    h.unwrap_or(0),
                    chain.committed.height
                ))
            })?;
            Ok(block_json(&chain.committed.chain_id, &b))
        }
        "subscribe" | "unsubscribe" | "unsubscribe_all" => Err(internal(
            "subscribe/unsubscribe are only available over /websocket",
        )),
        other => Err(RpcError {
            code: -32601,
            message: "Method not found",
            data: other.to_string(),
        }),
    }
}

fn status(st: &AppState) -> Value {
    let chain = st.node().lock();
    let (hash, time) = chain
        .blocks
        .last()
        .map(|b| (hex::encode_upper(&b.hash), b.time.clone()))
        .unwrap_or_default();
    json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
            "id": "0000000000000000000000000000000000000000",
            "listen_addr": format!("tcp://{}", st.rpc_addr),
            "network": chain.committed.chain_id,
            "version": "0.38.12",
            "channels": "",
            "moniker": st.node().moniker,
            "other": {"tx_index": "on", "rpc_address": format!("tcp://{}", st.rpc_addr)}
        },
        "sync_info": {
            "latest_block_hash": hash,
            "latest_app_hash": "",
            "latest_block_height": chain.committed.height.to_string(),
            "latest_block_time": time,
            "earliest_block_hash": chain.blocks.first().map(|b| hex::encode_upper(&b.hash)).unwrap_or_default(),
            "earliest_app_hash": "",
            "earliest_block_height": if chain.blocks.is_empty() { "0" } else { "1" },
            "earliest_block_time": chain.blocks.first().map(|b| b.time.clone()).unwrap_or_default(),
            "catching_up": false
        },
        "validator_info": {"address": "", "pub_key": null, "voting_power": "10"}
    })
}

async fn abci_query(st: &AppState, params: &Value) -> Result<Value, RpcError> {
    let path = str_param(params, "path", 0).ok_or_else(|| invalid_params("path is required"))?;
    let data = bytes_param(params, "data", 1, true)?;
    let height = st.node().lock().committed.height;
    let response = match st.services.abci_query(&path, &data).await {
        Ok(bytes) => json!({
            "code": 0, "log": "", "info": "", "index": "0", "key": null,
            "value": B64.encode(bytes), "proofOps": null, "height": height.to_string(), "codespace": ""
        }),
        Err(status) => {
            let (codespace, code) = match status.code() {
                tonic::Code::InvalidArgument => ("sdk", 18),
                tonic::Code::NotFound => ("sdk", 22),
                tonic::Code::Unimplemented => ("sdk", 6),
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => ("sdk", 4),
                _ => ("undefined", 1),
            };
            json!({
                "code": code, "log": status.message(), "info": "", "index": "0", "key": null,
                "value": null, "proofOps": null, "height": height.to_string(), "codespace": codespace
            })
        }
    };
    Ok(json!({"response": response}))
}

fn exec_result_json(r: &TxRecord) -> Value {
    json!({
        "code": r.code,
        "data": if r.data.is_empty() { Value::Null } else { Value::String(B64.encode(&r.data)) },
        "log": r.log,
        "info": "",
        "gas_wanted": r.gas_wanted.to_string(),
        "gas_used": r.gas_used.to_string(),
        "events": r.events,
        "codespace": r.codespace,
    })
}

fn tx_json(r: &TxRecord) -> Value {
    json!({
        "hash": r.hash,
        "height": r.height.to_string(),
        "index": r.index,
        "tx_result": exec_result_json(r),
        "tx": B64.encode(&r.tx),
    })
}

fn block_id_json(hash: &[u8]) -> Value {
    let h = hex::encode_upper(hash);
    json!({"hash": h, "parts": {"total": 1, "hash": h}})
}

fn block_json(chain_id: &str, b: &BlockRecord) -> Value {
    json!({
        "block_id": block_id_json(&b.hash),
        "block": block_body_json(chain_id, b),
    })
}

fn block_body_json(chain_id: &str, b: &BlockRecord) -> Value {
    json!({
        "header": {
            "version": {"block": "11", "app": "0"},
            "chain_id": chain_id,
            "height": b.height.to_string(),
            "time": b.time,
            "last_block_id": block_id_json(&b.last_hash),
            "last_commit_hash": "", "data_hash": "", "validators_hash": "",
            "next_validators_hash": "", "consensus_hash": "", "app_hash": "",
            "last_results_hash": "", "evidence_hash": "", "proposer_address": ""
        },
        "data": {"txs": b.txs.iter().map(|t| B64.encode(t)).collect::<Vec<_>>()},
        "evidence": {"evidence": []},
        "last_commit": null
    })
}

/// One websocket message candidate: (data, events map).
fn notifications(chain_id: &str, n: &BlockNotice) -> Vec<(Value, BTreeMap<String, Vec<String>>)> {
    let b = &n.block;
    let mut out = Vec::new();
    let finalize = json!({
        "events": b.events,
        "tx_results": n.txs.iter().map(|t| exec_result_json(t)).collect::<Vec<_>>(),
        "validator_updates": null, "consensus_param_updates": null, "app_hash": ""
    });
    out.push((
        json!({"type": "tendermint/event/NewBlock", "value": {
            "block": block_body_json(chain_id, b), "block_id": block_id_json(&b.hash),
            "result_finalize_block": finalize
        }}),
        events::events_map(&b.events, &[("tm.event", "NewBlock".into())]),
    ));
    // The header alone, one per block: what a client subscribes to as a cheap heartbeat.
    out.push((
        json!({"type": "tendermint/event/NewBlockHeader", "value": {
            "header": block_body_json(chain_id, b)["header"].clone()
        }}),
        BTreeMap::from([("tm.event".to_string(), vec!["NewBlockHeader".to_string()])]),
    ));
    out.push((
        json!({"type": "tendermint/event/NewBlockEvents", "value": {
            "height": b.height.to_string(), "events": b.events, "num_txs": n.txs.len().to_string()
        }}),
        events::events_map(&b.events, &[("tm.event", "NewBlockEvents".into())]),
    ));
    for t in &n.txs {
        let tx_events: &[Event] = &t.events;
        out.push((
            json!({"type": "tendermint/event/Tx", "value": {"TxResult": {
                "height": t.height.to_string(), "index": t.index, "tx": B64.encode(&t.tx),
                "result": exec_result_json(t)
            }}}),
            events::events_map(
                tx_events,
                &[
                    ("tm.event", "Tx".into()),
                    ("tx.hash", t.hash.clone()),
                    ("tx.height", t.height.to_string()),
                ],
            ),
        ));
    }
    out
}

async fn websocket(State(st): State<AppState>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| ws_session(st, socket))
}

async fn ws_session(st: AppState, mut socket: WebSocket) {
    let mut bus = st.node().bus.subscribe();
    let mut drop_rx = st.node().faults.drop_watch();
    let deaf_epoch = st.node().faults.deaf_epoch();
    // query text → (request id, parsed query)
    let mut subs: BTreeMap<String, (Value, Query)> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = drop_rx.changed() => return,
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                let text = match msg {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(_) => return,
                    _ => continue,
                };
                let resp = ws_request(&st, &mut subs, &text).await;
                if socket.send(WsMessage::Text(resp.to_string().into())).await.is_err() {
                    return;
                }
            }
            notice = bus.recv() => {
                let notice = match notice {
                    Ok(n) => n,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => {
                        tracing::warn!(skipped = k, "devnet websocket subscriber lagged");
                        continue;
                    }
                    Err(_) => return,
                };
                if subs.is_empty() || !st.node().faults.events_delivered(deaf_epoch) {
                    continue;
                }
                let chain_id = st.node().lock().committed.chain_id.clone();
                for (data, map) in notifications(&chain_id, &notice) {
                    for (id, q) in subs.values() {
                        if q.matches(&map) {
                            let msg = json!({"jsonrpc": "2.0", "id": id, "result": {
                                "query": q.text(), "data": data, "events": map
                            }});
                            if socket.send(WsMessage::Text(msg.to_string().into())).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn ws_request(
    st: &AppState,
    subs: &mut BTreeMap<String, (Value, Query)>,
    text: &str,
) -> Value {
    let req: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32700, "message": "Parse error. Invalid JSON", "data": e.to_string()}});
        }
    };
    let id = req.get("id").cloned().unwrap_or(json!(-1));
    let params = req.get("params").cloned().unwrap_or(json!({}));
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    let r = match method {
        "subscribe" => match str_param(&params, "query", 0).map(|q| Query::parse(&q)) {
            None => Err(invalid_params("query is required")),
            Some(Err(e)) => Err(internal(e)),
            Some(Ok(q)) => {
                if subs.contains_key(q.text()) {
                    Err(internal("already subscribed"))
                } else {
                    subs.insert(q.text().to_string(), (id.clone(), q));
                    Ok(json!({}))
                }
            }
        },
        "unsubscribe" => match str_param(&params, "query", 0) {
            Some(q) if subs.remove(&q).is_some() => Ok(json!({})),
            _ => Err(internal("subscription not found")),
        },
        "unsubscribe_all" => {
            subs.clear();
            Ok(json!({}))
        }
        other => return reply(&id, dispatch(st, other, &params).await),
    };
    reply(&id, r)
}
