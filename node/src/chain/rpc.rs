//! CometBFT JSON-RPC fallback for the tx path: `broadcast_tx_sync` and `tx` over the
//! configured RPC endpoints, used when every gRPC endpoint is unreachable, so a gRPC outage
//! alone does not stop submissions.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use serde_json::{Value, json};

use super::ChainError;

/// JSON-RPC client over a list of CometBFT RPC URLs (tried in order).
#[derive(Debug, Clone)]
pub struct RpcClient {
    urls: Vec<String>,
    http: reqwest::Client,
}

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
        }
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
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut last = String::from("no RPC endpoint configured");
        for url in &self.urls {
            let resp = match self.http.post(url).json(&body).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{url}: {e}");
                    continue;
                }
            };
            let v: Value = match resp.json().await {
                Ok(v) => v,
                Err(e) => {
                    last = format!("{url}: {e}");
                    continue;
                }
            };
            if let Some(err) = v.get("error") {
                let data = err
                    .get("data")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| err.to_string());
                return Ok(Err(data));
            }
            return Ok(Ok(v["result"].clone()));
        }
        Err(ChainError::Unreachable {
            op,
            tried: self.urls.len(),
            last,
        })
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
            Err(data) if data.contains("not found") => Ok(None),
            Err(data) => Err(ChainError::Decode(format!("tx: {data}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
