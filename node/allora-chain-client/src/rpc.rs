//! CometBFT JSON-RPC fallback over the configured RPC endpoints, used when every gRPC
//! endpoint is unreachable, so a gRPC outage alone stops neither queries nor submissions:
//! `abci_query` (the same gRPC query by method path, protobuf in and out), `status` (chain id
//! and height), `broadcast_tx_sync` and `tx`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use serde_json::{Value, json};

use crate::ChainError;
use crate::error::{AbciFailure, Transport, TransportFailure, TransportReason};

/// JSON-RPC client over a list of CometBFT RPC URLs (tried in order).
#[derive(Debug, Clone)]
pub struct RpcClient {
    urls: Vec<String>,
    http: reqwest::Client,
    /// No gRPC endpoint is configured: RPC is the primary transport, not a fallback, so
    /// answering over it is not worth a warning.
    primary: bool,
}

/// A warning when RPC stands in for unreachable gRPC; debug when it is the only transport.
macro_rules! fallback_log {
    ($primary:expr, $($arg:tt)+) => {
        if $primary {
            tracing::debug!($($arg)+);
        } else {
            tracing::warn!($($arg)+);
        }
    };
}
pub(crate) use fallback_log;

fn http_url(u: &str) -> String {
    let u = u.trim().trim_end_matches('/');
    let u = u.strip_suffix("/websocket").unwrap_or(u);
    if let Some(r) = u.strip_prefix("ws://") {
        format!("http://{r}")
    } else if let Some(r) = u.strip_prefix("wss://") {
        format!("https://{r}")
    } else if u.starts_with("http://") || u.starts_with("https://") {
        u.to_owned()
    } else {
        format!("http://{u}")
    }
}

fn num(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl RpcClient {
    pub fn new(urls: &[String], timeout: Duration) -> RpcClient {
        RpcClient {
            urls: urls.iter().map(|u| http_url(u)).collect(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
            primary: false,
        }
    }

    /// Marks RPC as the only transport (no gRPC endpoint configured).
    pub fn primary(mut self, primary: bool) -> RpcClient {
        self.primary = primary;
        self
    }

    pub fn is_primary(&self) -> bool {
        self.primary
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// Calls `method` on each endpoint until one answers. `Ok(Err(data))` is a JSON-RPC
    /// error from a reachable node.
    async fn call(
        &self,
        op: &'static str,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, String>, ChainError> {
        self.call_at(op, method, params).await.map(|(_, r)| r)
    }

    /// [`Self::call`], also returning the endpoint that answered.
    async fn call_at(
        &self,
        op: &'static str,
        method: &str,
        params: Value,
    ) -> Result<(String, Result<Value, String>), ChainError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut last: Option<TransportFailure> = None;
        let failed = |url: &str, e: reqwest::Error| TransportFailure {
            transport: Transport::Rpc,
            endpoint: url.to_owned(),
            reason: TransportReason::Http(e.to_string()),
        };
        for url in &self.urls {
            let resp = match self.http.post(url).json(&body).send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(op, endpoint = %url, error = %e, "CometBFT RPC endpoint failed");
                    last = Some(failed(url, e));
                    continue;
                }
            };
            let v: Value = match resp.json().await {
                Ok(v) => v,
                Err(e) => {
                    tracing::debug!(op, endpoint = %url, error = %e, "CometBFT RPC answer is not JSON");
                    last = Some(failed(url, e));
                    continue;
                }
            };
            if let Some(err) = v.get("error") {
                let data = err
                    .get("data")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| err.to_string());
                return Ok((url.clone(), Err(data)));
            }
            return Ok((url.clone(), Ok(v["result"].clone())));
        }
        Err(ChainError::Unreachable {
            op,
            tried: self.urls.len(),
            last: last.into_iter().collect(),
        })
    }

    /// `abci_query` of a gRPC query method (`path` = `/pkg.Service/Method`) at the latest
    /// height: the encoded response. A non-zero ABCI code (the query's own error, e.g. topic
    /// not found) is a [`ChainError::Status`] with the gRPC code the SDK mapped it from.
    pub async fn abci_query(
        &self,
        op: &'static str,
        path: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, ChainError> {
        let params =
            json!({"path": path, "data": hex::encode(request), "height": "0", "prove": false});
        let (url, r) = self.call_at(op, "abci_query", params).await?;
        fallback_log!(self.primary, op, endpoint = %url, path, "gRPC unreachable; query answered over CometBFT abci_query");
        let r = r.map_err(|data| ChainError::Status {
            op,
            endpoint: url.clone(),
            code: tonic::Code::Unknown,
            message: format!("abci_query: {data}"),
            abci: None,
        })?;
        let resp = &r["response"];
        let code = num(&resp["code"]);
        if code != 0 {
            let codespace = text(&resp["codespace"]);
            let log = text(&resp["log"]);
            return Err(ChainError::Status {
                op,
                endpoint: url,
                code: abci_to_grpc_code(&codespace, code),
                message: log.clone(),
                abci: Some(AbciFailure::new(
                    codespace,
                    u32::try_from(code).unwrap_or(u32::MAX),
                    log,
                )),
            });
        }
        match &resp["value"] {
            Value::Null => Ok(Vec::new()),
            Value::String(s) => B64
                .decode(s)
                .map_err(|e| ChainError::Decode(format!("{op}: abci_query value from {url}: {e}"))),
            other => Err(ChainError::Decode(format!(
                "{op}: abci_query value from {url} is {other}, not base64"
            ))),
        }
    }

    /// `status`: the node's chain id and latest block height.
    pub async fn status(&self, op: &'static str) -> Result<(String, i64), ChainError> {
        let (url, r) = self.call_at(op, "status", json!({})).await?;
        fallback_log!(self.primary, op, endpoint = %url, "gRPC unreachable; answered over CometBFT status");
        let r = r.map_err(|data| ChainError::Decode(format!("{op}: status from {url}: {data}")))?;
        let network = text(&r["node_info"]["network"]);
        if network.is_empty() {
            return Err(ChainError::Decode(format!(
                "{op}: status from {url} has no node_info.network"
            )));
        }
        Ok((network, num(&r["sync_info"]["latest_block_height"])))
    }

    /// `broadcast_tx_sync`: the CheckTx result.
    pub async fn broadcast_tx_sync(&self, tx: &[u8]) -> Result<TxResponse, ChainError> {
        match self
            .call(
                "broadcast_tx_sync",
                "broadcast_tx_sync",
                json!({"tx": B64.encode(tx)}),
            )
            .await?
        {
            Ok(r) => Ok(TxResponse {
                txhash: text(&r["hash"]).to_uppercase(),
                code: num(&r["code"]) as u32,
                codespace: text(&r["codespace"]),
                raw_log: text(&r["log"]),
                ..Default::default()
            }),
            Err(data) => Err(ChainError::Decode(format!("broadcast_tx_sync: {data}"))),
        }
    }

    /// `tx`: the included tx, `None` when the node does not know it (yet).
    pub async fn tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        let bytes = hex::decode(hash)
            .map_err(|_| ChainError::Decode(format!("tx hash {hash:?} is not hex")))?;
        match self
            .call(
                "tx",
                "tx",
                json!({"hash": B64.encode(bytes), "prove": false}),
            )
            .await?
        {
            Ok(r) => {
                let res = &r["tx_result"];
                Ok(Some(TxResponse {
                    height: num(&r["height"]),
                    txhash: text(&r["hash"]).to_uppercase(),
                    code: num(&res["code"]) as u32,
                    codespace: text(&res["codespace"]),
                    raw_log: text(&res["log"]),
                    gas_wanted: num(&res["gas_wanted"]),
                    gas_used: num(&res["gas_used"]),
                    ..Default::default()
                }))
            }
            Err(data) if crate::errors::is_not_found(tonic::Code::Unknown, &data) => Ok(None),
            Err(data) => Err(ChainError::Decode(format!("tx: {data}"))),
        }
    }
}

/// The gRPC code the SDK's `gRPCErrorToSDKError` turned into this ABCI code (baseapp
/// `abci.go`; everything else became sdk 6), so callers match on `NotFound` whichever
/// transport answered.
fn abci_to_grpc_code(codespace: &str, code: i64) -> tonic::Code {
    match (codespace, code) {
        ("sdk", 22) => tonic::Code::NotFound,
        ("sdk", 18) => tonic::Code::InvalidArgument,
        ("sdk", 4) => tonic::Code::Unauthenticated,
        _ => tonic::Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abci_codes_map_back_to_grpc() {
        assert_eq!(abci_to_grpc_code("sdk", 22), tonic::Code::NotFound);
        assert_eq!(abci_to_grpc_code("sdk", 18), tonic::Code::InvalidArgument);
        assert_eq!(abci_to_grpc_code("emissions", 22), tonic::Code::Unknown);
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            http_url("http://127.0.0.1:26657/"),
            "http://127.0.0.1:26657"
        );
        assert_eq!(http_url("ws://h:1/websocket"), "http://h:1");
        assert_eq!(http_url("wss://h/websocket"), "https://h");
        assert_eq!(http_url("h:26657"), "http://h:26657");
    }
}
