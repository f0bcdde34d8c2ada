//! gRPC services at their real paths: `emissions.v10.QueryService`, cosmos auth / bank /
//! tx / tendermint, `feemarket.feemarket.v1.Query`, and server reflection. The same
//! handlers answer CometBFT `abci_query` by path (`Services::abci_query`), protobuf in/out.

// `tonic::Status` is the error type the generated service traits require.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::sync::Arc;

use allora_protocol::methods;

use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1 as abci_types;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tm;
use cosmos_sdk_proto::cosmos::base::v1beta1::{Coin, DecCoin};
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txs;
use prost::Message;
use tonic::{Request, Response, Status};

use auth::query_server::Query as AuthQuery;
use bank::query_server::Query as BankQuery;
use tm::service_server::Service as TmService;
use txs::service_server::Service as TxService;

use allora_protocol::proto::emissions::{v3, v10};
use allora_protocol::proto::feemarket::v1 as feemarket;
use v10::query_service_server::QueryService;

use super::events::Event;
use super::lifecycle;
use super::node::{BlockRecord, Node, TxRecord};
use super::state::{DENOM, State, is_allo_address};

type R<T> = Result<Response<T>, Status>;

fn unimplemented(name: &str) -> Status {
    Status::unimplemented(format!("{name} is not served by the devnet"))
}

/// All gRPC service implementations (cheap to clone).
#[derive(Debug, Clone)]
pub struct Services {
    pub node: Arc<Node>,
}

impl Services {
    async fn guard(&self) -> Result<(), Status> {
        self.node
            .faults
            .on_request()
            .await
            .map_err(|_| Status::unavailable("devnet fault injection: forced error"))
    }

    fn with_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.node.lock().committed)
    }
}

fn ok<T>(v: T) -> R<T> {
    Ok(Response::new(v))
}

fn topic_missing(id: u64) -> Status {
    Status::not_found(format!("topic {id} not found"))
}

pub fn to_abci_event(e: &Event) -> cosmos_sdk_proto::tendermint::abci::Event {
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
pub fn tx_response(r: &TxRecord) -> abci_types::TxResponse {
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

fn timestamp(nanos: i128) -> cosmos_sdk_proto::Timestamp {
    cosmos_sdk_proto::Timestamp {
        seconds: (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as i32,
    }
}

fn block_parts(
    chain_id: &str,
    b: &BlockRecord,
) -> (
    cosmos_sdk_proto::tendermint::types::BlockId,
    cosmos_sdk_proto::tendermint::types::Block,
    tm::Block,
) {
    use cosmos_sdk_proto::tendermint::types as tt;
    let block_id = tt::BlockId {
        hash: b.hash.clone(),
        part_set_header: Some(tt::PartSetHeader {
            total: 1,
            hash: b.hash.clone(),
        }),
    };
    let last_block_id = tt::BlockId {
        hash: b.last_hash.clone(),
        part_set_header: Some(tt::PartSetHeader {
            total: 1,
            hash: b.last_hash.clone(),
        }),
    };
    let version = cosmos_sdk_proto::tendermint::version::Consensus { block: 11, app: 0 };
    let data = tt::Data { txs: b.txs.clone() };
    let header = tt::Header {
        version: Some(version),
        chain_id: chain_id.to_string(),
        height: b.height,
        time: Some(timestamp(b.time_unix_nanos)),
        last_block_id: Some(last_block_id.clone()),
        ..Default::default()
    };
    let block = tt::Block {
        header: Some(header),
        data: Some(data.clone()),
        evidence: None,
        last_commit: None,
    };
    let sdk_header = tm::Header {
        version: Some(version),
        chain_id: chain_id.to_string(),
        height: b.height,
        time: Some(timestamp(b.time_unix_nanos)),
        last_block_id: Some(last_block_id),
        ..Default::default()
    };
    let sdk_block = tm::Block {
        header: Some(sdk_header),
        data: Some(data),
        evidence: None,
        last_commit: None,
    };
    (block_id, block, sdk_block)
}

#[tonic::async_trait]
impl QueryService for Services {
    async fn get_params(&self, _r: Request<v10::GetParamsRequest>) -> R<v10::GetParamsResponse> {
        self.guard().await?;
        ok(v10::GetParamsResponse {
            params: Some(self.with_state(|s| s.params_proto())),
        })
    }

    async fn get_topic(&self, r: Request<v10::GetTopicRequest>) -> R<v10::GetTopicResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        self.with_state(|s| {
            let t = s.topics.get(&id).ok_or_else(|| topic_missing(id))?;
            ok(v10::GetTopicResponse {
                topic: Some(t.topic.clone()),
                weight: "0".to_string(),
                effective_revenue: t.revenue.to_string(),
                topic_stake: t.total_stake().to_string(),
            })
        })
    }

    async fn topic_exists(
        &self,
        r: Request<v10::TopicExistsRequest>,
    ) -> R<v10::TopicExistsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::TopicExistsResponse {
            exists: self.with_state(|s| s.topics.contains_key(&id)),
        })
    }

    async fn is_topic_active(
        &self,
        r: Request<v10::IsTopicActiveRequest>,
    ) -> R<v10::IsTopicActiveResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::IsTopicActiveResponse {
            is_active: self.with_state(|s| s.topics.get(&id).is_some_and(|t| t.active)),
        })
    }

    async fn get_next_churning_block_by_topic_id(
        &self,
        r: Request<v10::GetNextChurningBlockByTopicIdRequest>,
    ) -> R<v10::GetNextChurningBlockByTopicIdResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::GetNextChurningBlockByTopicIdResponse {
            block_height: self.with_state(|s| s.topics.get(&id).map(|t| t.next_churn).unwrap_or(0)),
        })
    }

    async fn is_worker_registered_in_topic_id(
        &self,
        r: Request<v10::IsWorkerRegisteredInTopicIdRequest>,
    ) -> R<v10::IsWorkerRegisteredInTopicIdResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsWorkerRegisteredInTopicIdResponse {
            is_registered: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.workers.contains(&q.address))
            }),
        })
    }

    async fn is_reputer_registered_in_topic_id(
        &self,
        r: Request<v10::IsReputerRegisteredInTopicIdRequest>,
    ) -> R<v10::IsReputerRegisteredInTopicIdResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsReputerRegisteredInTopicIdResponse {
            is_registered: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.reputers.contains(&q.address))
            }),
        })
    }

    async fn can_submit_worker_payload(
        &self,
        r: Request<v10::CanSubmitWorkerPayloadRequest>,
    ) -> R<v10::CanSubmitWorkerPayloadResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::CanSubmitWorkerPayloadResponse {
            can_submit_worker_payload: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.can_submit_worker(&q.address))
            }),
        })
    }

    async fn can_submit_reputer_payload(
        &self,
        r: Request<v10::CanSubmitReputerPayloadRequest>,
    ) -> R<v10::CanSubmitReputerPayloadResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::CanSubmitReputerPayloadResponse {
            can_submit_reputer_payload: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.can_submit_reputer(&q.address))
            }),
        })
    }

    async fn get_unfulfilled_worker_nonces(
        &self,
        r: Request<v10::GetUnfulfilledWorkerNoncesRequest>,
    ) -> R<v10::GetUnfulfilledWorkerNoncesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| t.worker_nonces.clone())
                .unwrap_or_default()
        });
        ok(v10::GetUnfulfilledWorkerNoncesResponse {
            nonces: Some(nonces_proto(&nonces)),
        })
    }

    async fn get_unfulfilled_reputer_nonces(
        &self,
        r: Request<v10::GetUnfulfilledReputerNoncesRequest>,
    ) -> R<v10::GetUnfulfilledReputerNoncesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| t.reputer_nonces.clone())
                .unwrap_or_default()
        });
        ok(v10::GetUnfulfilledReputerNoncesResponse {
            nonces: Some(reputer_nonces_proto(&nonces)),
        })
    }

    async fn is_worker_nonce_unfulfilled(
        &self,
        r: Request<v10::IsWorkerNonceUnfulfilledRequest>,
    ) -> R<v10::IsWorkerNonceUnfulfilledResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsWorkerNonceUnfulfilledResponse {
            is_worker_nonce_unfulfilled: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.worker_nonces.contains(&q.block_height))
            }),
        })
    }

    async fn is_reputer_nonce_unfulfilled(
        &self,
        r: Request<v10::IsReputerNonceUnfulfilledRequest>,
    ) -> R<v10::IsReputerNonceUnfulfilledResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsReputerNonceUnfulfilledResponse {
            is_reputer_nonce_unfulfilled: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.reputer_nonces.contains(&q.block_height))
            }),
        })
    }

    async fn get_open_worker_submission_windows(
        &self,
        r: Request<v10::GetOpenWorkerSubmissionWindowsRequest>,
    ) -> R<v10::GetOpenWorkerSubmissionWindowsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| lifecycle::open_worker_nonces(s, t))
                .unwrap_or_default()
        });
        ok(v10::GetOpenWorkerSubmissionWindowsResponse {
            nonces: Some(nonces_proto(&nonces)),
        })
    }

    async fn get_open_reputer_submission_windows(
        &self,
        r: Request<v10::GetOpenReputerSubmissionWindowsRequest>,
    ) -> R<v10::GetOpenReputerSubmissionWindowsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| lifecycle::open_reputer_nonces(s, t))
                .unwrap_or_default()
        });
        ok(v10::GetOpenReputerSubmissionWindowsResponse {
            nonces: Some(reputer_nonces_proto(&nonces)),
        })
    }

    async fn get_worker_submission_window_status(
        &self,
        r: Request<v10::GetWorkerSubmissionWindowStatusRequest>,
    ) -> R<v10::GetWorkerSubmissionWindowStatusResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            ok(lifecycle::worker_status(s, q.topic_id, &q.address))
        })
    }

    async fn get_reputer_submission_window_status(
        &self,
        r: Request<v10::GetReputerSubmissionWindowStatusRequest>,
    ) -> R<v10::GetReputerSubmissionWindowStatusResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            ok(lifecycle::reputer_status(s, q.topic_id, &q.address))
        })
    }

    async fn get_reputer_stake_in_topic(
        &self,
        r: Request<v10::GetReputerStakeInTopicRequest>,
    ) -> R<v10::GetReputerStakeInTopicResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.address))
                .unwrap_or(0)
        });
        ok(v10::GetReputerStakeInTopicResponse {
            amount: amount.to_string(),
        })
    }

    async fn get_stake_from_reputer_in_topic_in_self(
        &self,
        r: Request<v10::GetStakeFromReputerInTopicInSelfRequest>,
    ) -> R<v10::GetStakeFromReputerInTopicInSelfResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.reputer_address))
                .unwrap_or(0)
        });
        ok(v10::GetStakeFromReputerInTopicInSelfResponse {
            amount: amount.to_string(),
        })
    }

    async fn get_stake_reputer_authority(
        &self,
        r: Request<v10::GetStakeReputerAuthorityRequest>,
    ) -> R<v10::GetStakeReputerAuthorityResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.reputer))
                .unwrap_or(0)
        });
        ok(v10::GetStakeReputerAuthorityResponse {
            authority: amount.to_string(),
        })
    }

    async fn get_network_inferences_at_block(
        &self,
        r: Request<v10::GetNetworkInferencesAtBlockRequest>,
    ) -> R<v10::GetNetworkInferencesAtBlockResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            let t = s
                .topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            let b = t
                .network_inferences
                .get(&q.block_height_last_inference)
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "no network inferences for topic {} at block {}",
                        q.topic_id, q.block_height_last_inference
                    ))
                })?;
            ok(v10::GetNetworkInferencesAtBlockResponse {
                network_inferences: Some(b.clone()),
            })
        })
    }

    async fn get_latest_network_inferences(
        &self,
        r: Request<v10::GetLatestNetworkInferencesRequest>,
    ) -> R<v10::GetLatestNetworkInferencesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        self.with_state(|s| {
            let t = s.topics.get(&id).ok_or_else(|| topic_missing(id))?;
            let (h, b) = t
                .network_inferences
                .last_key_value()
                .map(|(h, b)| (*h, b.clone()))
                .unwrap_or((
                    0,
                    v10::NetworkInferenceBundle {
                        topic_id: id,
                        ..Default::default()
                    },
                ));
            ok(v10::GetLatestNetworkInferencesResponse {
                network_inferences: Some(b),
                inference_block_height: h,
            })
        })
    }
}

fn nonces_proto(n: &[i64]) -> v3::Nonces {
    v3::Nonces {
        nonces: n.iter().map(|h| v3::Nonce { block_height: *h }).collect(),
    }
}

fn reputer_nonces_proto(n: &[i64]) -> v3::ReputerRequestNonces {
    v3::ReputerRequestNonces {
        nonces: n
            .iter()
            .map(|h| v3::ReputerRequestNonce {
                reputer_nonce: Some(v3::Nonce { block_height: *h }),
            })
            .collect(),
    }
}

fn base_account(s: &State, addr: &str) -> Result<auth::BaseAccount, Status> {
    if !is_allo_address(addr) {
        return Err(Status::invalid_argument(format!(
            "invalid address {addr:?}"
        )));
    }
    let a = s
        .accounts
        .get(addr)
        .ok_or_else(|| Status::not_found(format!("account {addr} not found")))?;
    Ok(auth::BaseAccount {
        address: a.address.clone(),
        pub_key: a.pubkey.as_ref().map(|k| cosmos_sdk_proto::Any {
            type_url: "/cosmos.crypto.secp256k1.PubKey".to_string(),
            value: PubKey { key: k.clone() }.encode_to_vec(),
        }),
        account_number: a.account_number,
        sequence: a.sequence,
    })
}

#[tonic::async_trait]
impl AuthQuery for Services {
    async fn account(
        &self,
        r: Request<auth::QueryAccountRequest>,
    ) -> R<auth::QueryAccountResponse> {
        self.guard().await?;
        let addr = r.into_inner().address;
        let acc = self.with_state(|s| base_account(s, &addr))?;
        ok(auth::QueryAccountResponse {
            account: Some(cosmos_sdk_proto::Any {
                type_url: "/cosmos.auth.v1beta1.BaseAccount".to_string(),
                value: acc.encode_to_vec(),
            }),
        })
    }

    async fn account_info(
        &self,
        r: Request<auth::QueryAccountInfoRequest>,
    ) -> R<auth::QueryAccountInfoResponse> {
        self.guard().await?;
        let addr = r.into_inner().address;
        let acc = self.with_state(|s| base_account(s, &addr))?;
        ok(auth::QueryAccountInfoResponse { info: Some(acc) })
    }

    async fn accounts(
        &self,
        _request: tonic::Request<auth::QueryAccountsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryAccountsResponse>, tonic::Status> {
        Err(unimplemented("accounts"))
    }
    async fn account_address_by_id(
        &self,
        _request: tonic::Request<auth::QueryAccountAddressByIdRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryAccountAddressByIdResponse>, tonic::Status>
    {
        Err(unimplemented("account_address_by_id"))
    }
    async fn params(
        &self,
        _request: tonic::Request<auth::QueryParamsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryParamsResponse>, tonic::Status> {
        Err(unimplemented("params"))
    }
    async fn module_accounts(
        &self,
        _request: tonic::Request<auth::QueryModuleAccountsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryModuleAccountsResponse>, tonic::Status>
    {
        Err(unimplemented("module_accounts"))
    }
    async fn module_account_by_name(
        &self,
        _request: tonic::Request<auth::QueryModuleAccountByNameRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryModuleAccountByNameResponse>, tonic::Status>
    {
        Err(unimplemented("module_account_by_name"))
    }
    async fn bech32_prefix(
        &self,
        _request: tonic::Request<auth::Bech32PrefixRequest>,
    ) -> core::result::Result<tonic::Response<auth::Bech32PrefixResponse>, tonic::Status> {
        Err(unimplemented("bech32_prefix"))
    }
    async fn address_bytes_to_string(
        &self,
        _request: tonic::Request<auth::AddressBytesToStringRequest>,
    ) -> core::result::Result<tonic::Response<auth::AddressBytesToStringResponse>, tonic::Status>
    {
        Err(unimplemented("address_bytes_to_string"))
    }
    async fn address_string_to_bytes(
        &self,
        _request: tonic::Request<auth::AddressStringToBytesRequest>,
    ) -> core::result::Result<tonic::Response<auth::AddressStringToBytesResponse>, tonic::Status>
    {
        Err(unimplemented("address_string_to_bytes"))
    }
}

#[tonic::async_trait]
impl BankQuery for Services {
    async fn balance(
        &self,
        r: Request<bank::QueryBalanceRequest>,
    ) -> R<bank::QueryBalanceResponse> {
        self.guard().await?;
        let q = r.into_inner();
        if !is_allo_address(&q.address) {
            return Err(Status::invalid_argument(format!(
                "invalid address {:?}",
                q.address
            )));
        }
        if q.denom.is_empty() {
            return Err(Status::invalid_argument("invalid denom"));
        }
        let amount = if q.denom == DENOM {
            self.with_state(|s| s.balance(&q.address))
        } else {
            0
        };
        ok(bank::QueryBalanceResponse {
            balance: Some(Coin {
                denom: q.denom,
                amount: amount.to_string(),
            }),
        })
    }

    async fn all_balances(
        &self,
        _request: tonic::Request<bank::QueryAllBalancesRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryAllBalancesResponse>, tonic::Status> {
        Err(unimplemented("all_balances"))
    }
    async fn spendable_balances(
        &self,
        _request: tonic::Request<bank::QuerySpendableBalancesRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySpendableBalancesResponse>, tonic::Status>
    {
        Err(unimplemented("spendable_balances"))
    }
    async fn spendable_balance_by_denom(
        &self,
        _request: tonic::Request<bank::QuerySpendableBalanceByDenomRequest>,
    ) -> core::result::Result<
        tonic::Response<bank::QuerySpendableBalanceByDenomResponse>,
        tonic::Status,
    > {
        Err(unimplemented("spendable_balance_by_denom"))
    }
    async fn total_supply(
        &self,
        _request: tonic::Request<bank::QueryTotalSupplyRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryTotalSupplyResponse>, tonic::Status> {
        Err(unimplemented("total_supply"))
    }
    async fn supply_of(
        &self,
        _request: tonic::Request<bank::QuerySupplyOfRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySupplyOfResponse>, tonic::Status> {
        Err(unimplemented("supply_of"))
    }
    async fn params(
        &self,
        _request: tonic::Request<bank::QueryParamsRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryParamsResponse>, tonic::Status> {
        Err(unimplemented("params"))
    }
    async fn denom_metadata(
        &self,
        _request: tonic::Request<bank::QueryDenomMetadataRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomMetadataResponse>, tonic::Status>
    {
        Err(unimplemented("denom_metadata"))
    }
    async fn denom_metadata_by_query_string(
        &self,
        _request: tonic::Request<bank::QueryDenomMetadataByQueryStringRequest>,
    ) -> core::result::Result<
        tonic::Response<bank::QueryDenomMetadataByQueryStringResponse>,
        tonic::Status,
    > {
        Err(unimplemented("denom_metadata_by_query_string"))
    }
    async fn denoms_metadata(
        &self,
        _request: tonic::Request<bank::QueryDenomsMetadataRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomsMetadataResponse>, tonic::Status>
    {
        Err(unimplemented("denoms_metadata"))
    }
    async fn denom_owners(
        &self,
        _request: tonic::Request<bank::QueryDenomOwnersRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomOwnersResponse>, tonic::Status> {
        Err(unimplemented("denom_owners"))
    }
    async fn denom_owners_by_query(
        &self,
        _request: tonic::Request<bank::QueryDenomOwnersByQueryRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomOwnersByQueryResponse>, tonic::Status>
    {
        Err(unimplemented("denom_owners_by_query"))
    }
    async fn send_enabled(
        &self,
        _request: tonic::Request<bank::QuerySendEnabledRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySendEnabledResponse>, tonic::Status> {
        Err(unimplemented("send_enabled"))
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
        let resp = match self.node.check_tx(&q.tx_bytes) {
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
    super::ante::tx_hash(bytes)
}

#[tonic::async_trait]
impl TmService for Services {
    async fn get_node_info(
        &self,
        _r: Request<tm::GetNodeInfoRequest>,
    ) -> R<tm::GetNodeInfoResponse> {
        self.guard().await?;
        let chain_id = self.with_state(|s| s.chain_id.clone());
        ok(tm::GetNodeInfoResponse {
            default_node_info: Some(cosmos_sdk_proto::tendermint::p2p::DefaultNodeInfo {
                network: chain_id,
                moniker: self.node.moniker.clone(),
                version: "0.38.12".to_string(),
                ..Default::default()
            }),
            application_version: Some(tm::VersionInfo {
                name: "allora-devnet".to_string(),
                app_name: "allora-node devnet".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                cosmos_sdk_version: "v0.50".to_string(),
                ..Default::default()
            }),
        })
    }

    async fn get_syncing(&self, _r: Request<tm::GetSyncingRequest>) -> R<tm::GetSyncingResponse> {
        self.guard().await?;
        ok(tm::GetSyncingResponse { syncing: false })
    }

    async fn get_latest_block(
        &self,
        _r: Request<tm::GetLatestBlockRequest>,
    ) -> R<tm::GetLatestBlockResponse> {
        self.guard().await?;
        let chain = self.node.lock();
        let b = chain
            .blocks
            .last()
            .cloned()
            .ok_or_else(|| Status::unavailable("no block produced yet"))?;
        let (block_id, block, sdk_block) = block_parts(&chain.committed.chain_id, &b);
        #[allow(deprecated)]
        let resp = tm::GetLatestBlockResponse {
            block_id: Some(block_id),
            block: Some(block),
            sdk_block: Some(sdk_block),
        };
        ok(resp)
    }

    async fn get_block_by_height(
        &self,
        r: Request<tm::GetBlockByHeightRequest>,
    ) -> R<tm::GetBlockByHeightResponse> {
        self.guard().await?;
        let h = r.into_inner().height;
        let chain = self.node.lock();
        let b = usize::try_from(h - 1)
            .ok()
            .and_then(|i| chain.blocks.get(i).cloned())
            .ok_or_else(|| {
                Status::invalid_argument(format!("requested block height {h} is not available"))
            })?;
        let (block_id, block, sdk_block) = block_parts(&chain.committed.chain_id, &b);
        #[allow(deprecated)]
        let resp = tm::GetBlockByHeightResponse {
            block_id: Some(block_id),
            block: Some(block),
            sdk_block: Some(sdk_block),
        };
        ok(resp)
    }

    async fn get_latest_validator_set(
        &self,
        _request: tonic::Request<tm::GetLatestValidatorSetRequest>,
    ) -> core::result::Result<tonic::Response<tm::GetLatestValidatorSetResponse>, tonic::Status>
    {
        Err(unimplemented("get_latest_validator_set"))
    }
    async fn get_validator_set_by_height(
        &self,
        _request: tonic::Request<tm::GetValidatorSetByHeightRequest>,
    ) -> core::result::Result<tonic::Response<tm::GetValidatorSetByHeightResponse>, tonic::Status>
    {
        Err(unimplemented("get_validator_set_by_height"))
    }
    async fn abci_query(
        &self,
        _request: tonic::Request<tm::AbciQueryRequest>,
    ) -> core::result::Result<tonic::Response<tm::AbciQueryResponse>, tonic::Status> {
        Err(unimplemented("abci_query"))
    }
}

#[tonic::async_trait]
impl feemarket::query_server::Query for Services {
    async fn gas_price(
        &self,
        r: Request<feemarket::GasPriceRequest>,
    ) -> R<feemarket::GasPriceResponse> {
        self.guard().await?;
        let denom = r.into_inner().denom;
        if denom != DENOM {
            return Err(Status::not_found(format!(
                "unknown denom {denom:?}; the devnet fee denom is {DENOM}"
            )));
        }
        let price = self.with_state(|s| s.min_gas_price);
        ok(feemarket::GasPriceResponse {
            price: Some(DecCoin {
                denom,
                amount: price.to_string(),
            }),
        })
    }
}

async fn call<Req, Resp, Fut>(
    data: &[u8],
    f: impl FnOnce(Request<Req>) -> Fut,
) -> Result<Vec<u8>, Status>
where
    Req: Message + Default,
    Resp: Message,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let req = Req::decode(data)
        .map_err(|e| Status::invalid_argument(format!("failed to decode request: {e}")))?;
    Ok(f(Request::new(req)).await?.into_inner().encode_to_vec())
}

impl Services {
    /// Answers an ABCI query by gRPC method path, protobuf in and out.
    pub async fn abci_query(&self, path: &str, data: &[u8]) -> Result<Vec<u8>, Status> {
        let s = self;
        macro_rules! route {
            ($($p:path => $m:path),* $(,)?) => {
                match path {
                    $($p => call(data, |r| $m(s, r)).await,)*
                    other => Err(Status::unimplemented(format!("no custom querier found for route {other}"))),
                }
            };
        }
        route! {
            methods::emissions::GET_PARAMS => QueryService::get_params,
            methods::emissions::GET_TOPIC => QueryService::get_topic,
            methods::emissions::TOPIC_EXISTS => QueryService::topic_exists,
            methods::emissions::IS_TOPIC_ACTIVE => QueryService::is_topic_active,
            methods::emissions::GET_NEXT_CHURNING_BLOCK_BY_TOPIC_ID => QueryService::get_next_churning_block_by_topic_id,
            methods::emissions::IS_WORKER_REGISTERED_IN_TOPIC_ID => QueryService::is_worker_registered_in_topic_id,
            methods::emissions::IS_REPUTER_REGISTERED_IN_TOPIC_ID => QueryService::is_reputer_registered_in_topic_id,
            methods::emissions::CAN_SUBMIT_WORKER_PAYLOAD => QueryService::can_submit_worker_payload,
            methods::emissions::CAN_SUBMIT_REPUTER_PAYLOAD => QueryService::can_submit_reputer_payload,
            methods::emissions::GET_UNFULFILLED_WORKER_NONCES => QueryService::get_unfulfilled_worker_nonces,
            methods::emissions::GET_UNFULFILLED_REPUTER_NONCES => QueryService::get_unfulfilled_reputer_nonces,
            methods::emissions::IS_WORKER_NONCE_UNFULFILLED => QueryService::is_worker_nonce_unfulfilled,
            methods::emissions::IS_REPUTER_NONCE_UNFULFILLED => QueryService::is_reputer_nonce_unfulfilled,
            methods::emissions::GET_OPEN_WORKER_SUBMISSION_WINDOWS => QueryService::get_open_worker_submission_windows,
            methods::emissions::GET_OPEN_REPUTER_SUBMISSION_WINDOWS => QueryService::get_open_reputer_submission_windows,
            methods::emissions::GET_WORKER_SUBMISSION_WINDOW_STATUS => QueryService::get_worker_submission_window_status,
            methods::emissions::GET_REPUTER_SUBMISSION_WINDOW_STATUS => QueryService::get_reputer_submission_window_status,
            methods::emissions::GET_REPUTER_STAKE_IN_TOPIC => QueryService::get_reputer_stake_in_topic,
            methods::emissions::GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF => QueryService::get_stake_from_reputer_in_topic_in_self,
            methods::emissions::GET_STAKE_REPUTER_AUTHORITY => QueryService::get_stake_reputer_authority,
            methods::emissions::GET_NETWORK_INFERENCES_AT_BLOCK => QueryService::get_network_inferences_at_block,
            methods::emissions::GET_LATEST_NETWORK_INFERENCES => QueryService::get_latest_network_inferences,
            methods::auth::ACCOUNT => AuthQuery::account,
            methods::auth::ACCOUNT_INFO => AuthQuery::account_info,
            methods::bank::BALANCE => BankQuery::balance,
            methods::tx::SIMULATE => TxService::simulate,
            methods::tx::GET_TX => TxService::get_tx,
            methods::tendermint::GET_NODE_INFO => TmService::get_node_info,
            methods::tendermint::GET_LATEST_BLOCK => TmService::get_latest_block,
            methods::feemarket::GAS_PRICE => feemarket::query_server::Query::gas_price,
        }
    }
}

/// Serves every gRPC service (plus reflection) on `listener` until `shutdown` resolves.
pub async fn serve(
    services: Services,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(allora_protocol::proto::FILE_DESCRIPTOR_SET)
        .build_v1();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(allora_protocol::proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha();
    let faults = services.node.faults.clone();
    let mut builder = tonic::transport::Server::builder();
    let mut router = builder
        .add_service(v10::query_service_server::QueryServiceServer::new(
            services.clone(),
        ))
        .add_service(auth::query_server::QueryServer::new(services.clone()))
        .add_service(bank::query_server::QueryServer::new(services.clone()))
        .add_service(txs::service_server::ServiceServer::new(services.clone()))
        .add_service(tm::service_server::ServiceServer::new(services.clone()))
        .add_service(feemarket::query_server::QueryServer::new(services.clone()));
    match (reflection_v1, reflection_v1alpha) {
        (Ok(a), Ok(b)) => router = router.add_service(a).add_service(b),
        (a, b) => {
            tracing::warn!(
                v1 = a.is_ok(),
                v1alpha = b.is_ok(),
                "devnet gRPC reflection unavailable"
            );
        }
    }
    router
        .serve_with_incoming_shutdown(super::net::incoming(listener, faults), shutdown)
        .await
}
