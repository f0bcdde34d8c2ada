//! gRPC services at their real paths, one file per service: `emissions` (emissions.v10
//! QueryService), `emissions_v9` (emissions.v9 QueryService, answered from the v10 rules;
//! only the package the devnet serves is mounted, the other answers Unimplemented), `auth`,
//! `bank`, `tx`, `tendermint`, `feegrant` (cosmos), `feemarket`, plus server
//! reflection. This module owns what they share — [`Services`] (the handle on the chain),
//! fault injection per request, the server itself — and the CometBFT `abci_query` routing
//! (`Services::abci_query`), which answers any of those methods by path, protobuf in/out,
//! using the method-path table shared with the node's client so the two cannot drift.

// `tonic::Status` is the error type the generated service traits require.
#![allow(clippy::result_large_err)]

mod auth;
mod bank;
mod emissions;
mod emissions_v9;
mod feegrant;
mod feemarket;
mod tendermint;
mod tx;

use std::future::Future;
use std::sync::Arc;

use allora_protocol::methods;

use cosmos_sdk_proto::cosmos::auth::v1beta1::query_server::{
    Query as AuthQuery, QueryServer as AuthServer,
};
use cosmos_sdk_proto::cosmos::bank::v1beta1::query_server::{
    Query as BankQuery, QueryServer as BankServer,
};
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::service_server::{
    Service as TmService, ServiceServer as TmServer,
};
use cosmos_sdk_proto::cosmos::feegrant::v1beta1::query_server::{
    Query as FeegrantQuery, QueryServer as FeegrantServer,
};
use cosmos_sdk_proto::cosmos::tx::v1beta1::service_server::{
    Service as TxService, ServiceServer as TxServer,
};
use prost::Message;
use tonic::{Request, Response, Status};

use allora_protocol::proto::emissions::v9::query_service_server::{
    QueryService as V9Query, QueryServiceServer as V9Server,
};
use allora_protocol::proto::emissions::v10::query_service_server::{
    QueryService, QueryServiceServer,
};
use allora_protocol::proto::feemarket::v1::query_server::{
    Query as FeemarketQuery, QueryServer as FeemarketServer,
};

use crate::node::Node;
use crate::state::State;

type R<T> = Result<Response<T>, Status>;

fn unimplemented(name: &str) -> Status {
    Status::unimplemented(format!("{name} is not served by the devnet"))
}

/// All gRPC service implementations (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Services {
    pub(crate) node: Arc<Node>,
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
    pub(crate) async fn abci_query(&self, path: &str, data: &[u8]) -> Result<Vec<u8>, Status> {
        let s = self;
        // Only the served emissions package has a querier; the other is unknown, as on a
        // chain that was upgraded past it.
        let served = self.with_state(|st| st.emissions_version);
        if let Some(rest) = path.strip_prefix("/emissions.v")
            && !rest.starts_with(&format!("{served}."))
        {
            return Err(Status::unimplemented(format!(
                "no custom querier found for route {path}"
            )));
        }
        macro_rules! route {
            ($($p:path => $m:path),* $(,)?) => {
                match path {
                    $($p => call(data, |r| $m(s, r)).await,)*
                    other => Err(Status::unimplemented(format!("no custom querier found for route {other}"))),
                }
            };
        }
        route! {
            methods::emissions::v10::GET_PARAMS => QueryService::get_params,
            methods::emissions::v10::GET_TOPIC => QueryService::get_topic,
            methods::emissions::v10::TOPIC_EXISTS => QueryService::topic_exists,
            methods::emissions::v10::IS_TOPIC_ACTIVE => QueryService::is_topic_active,
            methods::emissions::v10::GET_NEXT_CHURNING_BLOCK_BY_TOPIC_ID => QueryService::get_next_churning_block_by_topic_id,
            methods::emissions::v10::IS_WORKER_REGISTERED_IN_TOPIC_ID => QueryService::is_worker_registered_in_topic_id,
            methods::emissions::v10::IS_REPUTER_REGISTERED_IN_TOPIC_ID => QueryService::is_reputer_registered_in_topic_id,
            methods::emissions::v10::CAN_SUBMIT_WORKER_PAYLOAD => QueryService::can_submit_worker_payload,
            methods::emissions::v10::CAN_SUBMIT_REPUTER_PAYLOAD => QueryService::can_submit_reputer_payload,
            methods::emissions::v10::GET_UNFULFILLED_WORKER_NONCES => QueryService::get_unfulfilled_worker_nonces,
            methods::emissions::v10::GET_UNFULFILLED_REPUTER_NONCES => QueryService::get_unfulfilled_reputer_nonces,
            methods::emissions::v10::IS_WORKER_NONCE_UNFULFILLED => QueryService::is_worker_nonce_unfulfilled,
            methods::emissions::v10::IS_REPUTER_NONCE_UNFULFILLED => QueryService::is_reputer_nonce_unfulfilled,
            methods::emissions::v10::GET_OPEN_WORKER_SUBMISSION_WINDOWS => QueryService::get_open_worker_submission_windows,
            methods::emissions::v10::GET_OPEN_REPUTER_SUBMISSION_WINDOWS => QueryService::get_open_reputer_submission_windows,
            methods::emissions::v10::GET_WORKER_SUBMISSION_WINDOW_STATUS => QueryService::get_worker_submission_window_status,
            methods::emissions::v10::GET_REPUTER_SUBMISSION_WINDOW_STATUS => QueryService::get_reputer_submission_window_status,
            methods::emissions::v10::GET_EPOCH => QueryService::get_epoch,
            methods::emissions::v10::GET_TOPIC_EPOCHS => QueryService::get_topic_epochs,
            methods::emissions::v10::GET_REPUTER_STAKE_IN_TOPIC => QueryService::get_reputer_stake_in_topic,
            methods::emissions::v10::GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF => QueryService::get_stake_from_reputer_in_topic_in_self,
            methods::emissions::v10::GET_STAKE_REPUTER_AUTHORITY => QueryService::get_stake_reputer_authority,
            methods::emissions::v10::GET_NETWORK_INFERENCES_AT_BLOCK => QueryService::get_network_inferences_at_block,
            methods::emissions::v10::GET_LATEST_NETWORK_INFERENCES => QueryService::get_latest_network_inferences,
            methods::emissions::v9::GET_PARAMS => V9Query::get_params,
            methods::emissions::v9::GET_TOPIC => V9Query::get_topic,
            methods::emissions::v9::TOPIC_EXISTS => V9Query::topic_exists,
            methods::emissions::v9::IS_TOPIC_ACTIVE => V9Query::is_topic_active,
            methods::emissions::v9::GET_NEXT_CHURNING_BLOCK_BY_TOPIC_ID => V9Query::get_next_churning_block_by_topic_id,
            methods::emissions::v9::IS_WORKER_REGISTERED_IN_TOPIC_ID => V9Query::is_worker_registered_in_topic_id,
            methods::emissions::v9::IS_REPUTER_REGISTERED_IN_TOPIC_ID => V9Query::is_reputer_registered_in_topic_id,
            methods::emissions::v9::CAN_SUBMIT_WORKER_PAYLOAD => V9Query::can_submit_worker_payload,
            methods::emissions::v9::CAN_SUBMIT_REPUTER_PAYLOAD => V9Query::can_submit_reputer_payload,
            methods::emissions::v9::GET_UNFULFILLED_WORKER_NONCES => V9Query::get_unfulfilled_worker_nonces,
            methods::emissions::v9::GET_UNFULFILLED_REPUTER_NONCES => V9Query::get_unfulfilled_reputer_nonces,
            methods::emissions::v9::IS_WORKER_NONCE_UNFULFILLED => V9Query::is_worker_nonce_unfulfilled,
            methods::emissions::v9::IS_REPUTER_NONCE_UNFULFILLED => V9Query::is_reputer_nonce_unfulfilled,
            methods::emissions::v9::GET_OPEN_WORKER_SUBMISSION_WINDOWS => V9Query::get_open_worker_submission_windows,
            methods::emissions::v9::GET_OPEN_REPUTER_SUBMISSION_WINDOWS => V9Query::get_open_reputer_submission_windows,
            methods::emissions::v9::GET_WORKER_SUBMISSION_WINDOW_STATUS => V9Query::get_worker_submission_window_status,
            methods::emissions::v9::GET_REPUTER_SUBMISSION_WINDOW_STATUS => V9Query::get_reputer_submission_window_status,
            methods::emissions::v9::GET_REPUTER_STAKE_IN_TOPIC => V9Query::get_reputer_stake_in_topic,
            methods::emissions::v9::GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF => V9Query::get_stake_from_reputer_in_topic_in_self,
            methods::emissions::v9::GET_STAKE_REPUTER_AUTHORITY => V9Query::get_stake_reputer_authority,
            methods::emissions::v9::GET_NETWORK_INFERENCES_AT_BLOCK => V9Query::get_network_inferences_at_block,
            methods::emissions::v9::GET_LATEST_NETWORK_INFERENCES => V9Query::get_latest_network_inferences,
            methods::auth::ACCOUNT => AuthQuery::account,
            methods::auth::ACCOUNT_INFO => AuthQuery::account_info,
            methods::bank::BALANCE => BankQuery::balance,
            methods::tx::SIMULATE => TxService::simulate,
            methods::tx::GET_TX => TxService::get_tx,
            methods::tendermint::GET_NODE_INFO => TmService::get_node_info,
            methods::tendermint::GET_LATEST_BLOCK => TmService::get_latest_block,
            methods::feemarket::GAS_PRICE => FeemarketQuery::gas_price,
            methods::feegrant::ALLOWANCE => FeegrantQuery::allowance,
        }
    }
}

/// Serves every gRPC service (plus reflection) on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
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
    let served = services.with_state(|s| s.emissions_version);
    let mut builder = tonic::transport::Server::builder();
    let mut router = builder
        .add_optional_service((served == 10).then(|| QueryServiceServer::new(services.clone())))
        .add_optional_service((served == 9).then(|| V9Server::new(services.clone())))
        .add_service(AuthServer::new(services.clone()))
        .add_service(BankServer::new(services.clone()))
        .add_service(TxServer::new(services.clone()))
        .add_service(TmServer::new(services.clone()))
        .add_service(FeemarketServer::new(services.clone()))
        .add_service(FeegrantServer::new(services.clone()));
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
        .serve_with_incoming_shutdown(crate::net::incoming(listener, faults), shutdown)
        .await
}
