//! Wall-clock epoch queries (`GetEpoch`, `GetTopicEpochs`; allora-chain's emissions
//! migration v17) and the x/feegrant allowance query. Chains without the epoch FSM
//! (allorad v0.17.0) do not know the methods: that answer is [`Served::No`], not an error,
//! so callers fall back to the window-status queries. Emissions v9 has no such methods at all
//! (they exist only under `emissions.v10`), so on a v9 chain they are [`Served::No`] without
//! a round trip.

use allora_protocol::proto::emissions::v10::{
    self, query_service_client::QueryServiceClient as Emissions,
};
use allora_protocol::{EmissionsVersion, methods};
use cosmos_sdk_proto::cosmos::feegrant::v1beta1 as fg;

use super::ChainClient;
use crate::ChainError;
use crate::errors::{is_not_found, is_unimplemented};

/// An answer from a query the chain may not serve.
#[derive(Debug, Clone, PartialEq)]
pub enum Served<T> {
    Yes(T),
    /// The chain (or this topic) has no such query: "Unimplemented".
    No,
}

fn served<T>(r: Result<T, ChainError>) -> Result<Served<T>, ChainError> {
    match r {
        Ok(v) => Ok(Served::Yes(v)),
        Err(ChainError::Status { code, message, .. }) if is_unimplemented(code, &message) => {
            Ok(Served::No)
        }
        Err(e) => Err(e),
    }
}

impl ChainClient {
    /// Whether the client's emissions version has the wall-clock epoch queries at all.
    fn serves_epochs(&self) -> bool {
        match self.version() {
            EmissionsVersion::V9 => false,
            EmissionsVersion::V10 => true,
        }
    }

    /// `GetEpoch(topic_id, nonce)`: the wall-clock bounds of one epoch. `Yes(None)` = the
    /// chain serves epochs but has none for this nonce.
    pub async fn epoch(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<Served<Option<v10::Epoch>>, ChainError> {
        if !self.serves_epochs() {
            return Ok(Served::No);
        }
        let r = self
            .query(
                "GetEpoch",
                methods::emissions::v10::GET_EPOCH,
                v10::GetEpochRequest { topic_id, nonce },
                |ch, req| async move { Emissions::new(ch).get_epoch(req).await },
            )
            .await;
        match r {
            Err(ChainError::NotFound { .. }) => Ok(Served::Yes(None)),
            Err(ChainError::Status {
                code: tonic::Code::NotFound,
                ..
            }) => Ok(Served::Yes(None)),
            other => served(other.map(|r| r.epoch)),
        }
    }

    /// `GetTopicEpochs(topic_id)`: every epoch the chain keeps for the topic.
    pub async fn topic_epochs(&self, topic_id: u64) -> Result<Served<Vec<v10::Epoch>>, ChainError> {
        if !self.serves_epochs() {
            return Ok(Served::No);
        }
        let r = self
            .query(
                "GetTopicEpochs",
                methods::emissions::v10::GET_TOPIC_EPOCHS,
                v10::GetTopicEpochsRequest { topic_id },
                |ch, req| async move { Emissions::new(ch).get_topic_epochs(req).await },
            )
            .await;
        served(r.map(|r| r.epochs))
    }

    /// `cosmos.feegrant.v1beta1.Query/Allowance`: the grant from `granter` to `grantee`,
    /// `None` when there is none.
    pub async fn fee_allowance(
        &self,
        granter: &str,
        grantee: &str,
    ) -> Result<Option<fg::Grant>, ChainError> {
        let r = self
            .query(
                "Allowance",
                methods::feegrant::ALLOWANCE,
                fg::QueryAllowanceRequest {
                    granter: granter.to_owned(),
                    grantee: grantee.to_owned(),
                },
                |ch, req| async move { fg::query_client::QueryClient::new(ch).allowance(req).await },
            )
            .await;
        match r {
            Ok(r) => Ok(r.allowance),
            Err(ChainError::NotFound { .. }) => Ok(None),
            Err(ChainError::Status { code, message, .. }) if is_not_found(code, &message) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
