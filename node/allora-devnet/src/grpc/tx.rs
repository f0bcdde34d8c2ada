//! `cosmos.tx.v1beta1.Service`: Simulate, BroadcastTx (CheckTx into the mempool) and GetTx,
//! plus the `TxResponse` / ABCI event shapes the RPC server reuses.

use cosmos_sdk_proto::cosmos::base::abci::v1beta1 as abci_types;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txs;
use prost::Message;
use tonic::{Request, Status};

use txs::service_server::Service as TxService;

use super::{R, Services, ok, unimplemented};
use crate::events::Event;
use crate::node::TxRecord;

fn to_abci_event(e: &Event) -> cosmos_sdk_proto::tendermint::abci::Event {
    cosmos_sdk_proto::tendermint::abci::Event {
        r#type: e.kind.clone(),
        attributes: e
            .attributes
            .iter()
            .map(|a| cosmos_sdk_proto::tendermint::abci::EventAttribute {
                key: a.key.clone(),
                value: a.value.clone(),
                index: a.index,
            })
            .collect(),
    }
}

/// `TxResponse` as the SDK fills it for GetTx.
fn tx_response(r: &TxRecord) -> abci_types::TxResponse {
    abci_types::TxResponse {
        height: r.height,
        txhash: r.hash.clone(),
        codespace: r.codespace.clone(),
        code: r.code,
        data: hex::encode_upper(&r.data),
        raw_log: r.log.clone(),
        logs: Vec::new(),
        info: String::new(),
        gas_wanted: r.gas_wanted as i64,
        gas_used: r.gas_used as i64,
        tx: Some(cosmos_sdk_proto::Any {
            type_url: "/cosmos.tx.v1beta1.Tx".into(),
            value: decode_tx(&r.tx).encode_to_vec(),
        }),
        timestamp: r.timestamp.clone(),
        events: r.events.iter().map(to_abci_event).collect(),
    }
}

fn decode_tx(bytes: &[u8]) -> txs::Tx {
    let raw = txs::TxRaw::decode(bytes).unwrap_or_default();
    txs::Tx {
        body: txs::TxBody::decode(raw.body_bytes.as_slice()).ok(),
        auth_info: txs::AuthInfo::decode(raw.auth_info_bytes.as_slice()).ok(),
        signatures: raw.signatures,
    }
}

#[tonic::async_trait]
impl TxService for Services {
    async fn simulate(&self, r: Request<txs::SimulateRequest>) -> R<txs::SimulateResponse> {
        self.guard().await?;
        let q = r.into_inner();
        #[allow(deprecated)]
        let bytes = if !q.tx_bytes.is_empty() {
            q.tx_bytes
        } else if let Some(tx) = q.tx {
            txs::TxRaw {
                body_bytes: tx.body.map(|b| b.encode_to_vec()).unwrap_or_default(),
                auth_info_bytes: tx.auth_info.map(|a| a.encode_to_vec()).unwrap_or_default(),
                signatures: tx.signatures,
            }
            .encode_to_vec()
        } else {
            return Err(Status::invalid_argument("empty txBytes is not allowed"));
        };
        let out = self
            .node
            .simulate(&bytes)
            .map_err(|e| Status::unknown(e.log))?;
        ok(txs::SimulateResponse {
            gas_info: Some(abci_types::GasInfo {
                gas_wanted: out.gas_wanted,
                gas_used: out.gas_used,
            }),
            #[allow(deprecated)]
            result: Some(abci_types::Result {
                data: Vec::new(),
                log: String::new(),
                events: out.events.iter().map(to_abci_event).collect(),
                msg_responses: cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(
                    out.data.as_slice(),
                )
                .map(|d| d.msg_responses)
                .unwrap_or_default(),
            }),
        })
    }

    async fn get_tx(&self, r: Request<txs::GetTxRequest>) -> R<txs::GetTxResponse> {
        self.guard().await?;
        let hash = r.into_inner().hash.to_uppercase();
        let rec = self.node.lock().txs.get(&hash).cloned();
        let rec = rec.ok_or_else(|| Status::not_found(format!("tx not found: {hash}")))?;
        ok(txs::GetTxResponse {
            tx: Some(decode_tx(&rec.tx)),
            tx_response: Some(tx_response(&rec)),
        })
    }

    async fn broadcast_tx(
        &self,
        r: Request<txs::BroadcastTxRequest>,
    ) -> R<txs::BroadcastTxResponse> {
        self.guard().await?;
        let q = r.into_inner();
        if q.mode == txs::BroadcastMode::Block as i32
            || q.mode == txs::BroadcastMode::Unspecified as i32
        {
            return Err(Status::invalid_argument(
                "unsupported broadcast mode; use BROADCAST_MODE_SYNC",
            ));
        }
        let hash = ante_hash(&q.tx_bytes);
        let checked = self.node.check_tx(&q.tx_bytes);
        self.node
            .faults
            .on_broadcast_answer(&q.tx_bytes, checked.is_ok())
            .await;
        let resp = match checked {
            Ok(hash) => abci_types::TxResponse {
                txhash: hash,
                ..Default::default()
            },
            Err(e) => abci_types::TxResponse {
                txhash: hash,
                codespace: e.codespace.to_string(),
                code: e.code,
                raw_log: e.log,
                ..Default::default()
            },
        };
        // Processed as usual (a tx CheckTx accepted is in the mempool); only the answer is lost.
        if self.node.faults.drop_this_response() {
            return Err(Status::unavailable(
                "devnet fault injection: broadcast processed, response dropped",
            ));
        }
        ok(txs::BroadcastTxResponse {
            tx_response: Some(resp),
        })
    }

    async fn get_txs_event(
        &self,
        _request: tonic::Request<txs::GetTxsEventRequest>,
    ) -> core::result::Result<tonic::Response<txs::GetTxsEventResponse>, tonic::Status> {
        Err(unimplemented("get_txs_event"))
    }
    async fn get_block_with_txs(
        &self,
        _request: tonic::Request<txs::GetBlockWithTxsRequest>,
    ) -> core::result::Result<tonic::Response<txs::GetBlockWithTxsResponse>, tonic::Status> {
        Err(unimplemented("get_block_with_txs"))
    }
    async fn tx_decode(
        &self,
        _request: tonic::Request<txs::TxDecodeRequest>,
    ) -> core::result::Result<tonic::Response<txs::TxDecodeResponse>, tonic::Status> {
        Err(unimplemented("tx_decode"))
    }
    async fn tx_encode(
        &self,
        _request: tonic::Request<txs::TxEncodeRequest>,
    ) -> core::result::Result<tonic::Response<txs::TxEncodeResponse>, tonic::Status> {
        Err(unimplemented("tx_encode"))
    }
    async fn tx_encode_amino(
        &self,
        _request: tonic::Request<txs::TxEncodeAminoRequest>,
    ) -> core::result::Result<tonic::Response<txs::TxEncodeAminoResponse>, tonic::Status> {
        Err(unimplemented("tx_encode_amino"))
    }
    async fn tx_decode_amino(
        &self,
        _request: tonic::Request<txs::TxDecodeAminoRequest>,
    ) -> core::result::Result<tonic::Response<txs::TxDecodeAminoResponse>, tonic::Status> {
        Err(unimplemented("tx_decode_amino"))
    }
}

fn ante_hash(bytes: &[u8]) -> String {
    crate::ante::tx_hash(bytes)
}
