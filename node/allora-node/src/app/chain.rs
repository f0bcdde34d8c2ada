//! [`ChainPort`] over the chain client's gRPC queries (with its own failover), mapping the
//! client's errors onto the typed [`QueryErrorKind`]. Submission-window ends are the chain's
//! (window-status queries, `GetEpoch`), never derived from the topic's epoch length.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::actors::ports::{
    ChainParams, ChainPort, FeeAllowance, OpenWindow, QueryError, QueryErrorKind, Role, TopicInfo,
    TxLanded,
};
use allora_chain_client::{ChainClient, ChainError, Served, WindowStatus};
use allora_protocol::emissions::{NetworkValues, TopicFacts};
use allora_protocol::proto::emissions::v10;
use cosmos_sdk_proto::cosmos::feegrant::v1beta1 as fg;
use prost::Message;

/// The typed class of a chain-client error.
pub fn query_error(e: ChainError) -> QueryError {
    let kind = match &e {
        ChainError::Unreachable { .. } => QueryErrorKind::Transport,
        ChainError::NotFound { .. } | ChainError::AccountNotFound(_) => QueryErrorKind::NotFound,
        ChainError::Status { .. } => QueryErrorKind::Status,
        ChainError::Decode(_) => QueryErrorKind::Decode,
        ChainError::Config(_) | ChainError::ChainIdMismatch { .. } => QueryErrorKind::Config,
    };
    QueryError::new(kind, e.to_string())
}

fn amount(field: &str, s: &str) -> Result<u128, QueryError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse().map_err(|_| {
        QueryError::new(
            QueryErrorKind::Decode,
            format!("{field} {s:?} is not an integer"),
        )
    })
}

/// [`ChainPort`] over the gRPC query client. Window ends come from the chain, never from
/// `epoch_length` arithmetic (epochs are moving to wall-clock seconds): the window-status
/// queries give the current nonce's last block, and `GetEpoch` — where the chain serves it —
/// the wall-clock end of any nonce's window.
pub struct LiveChain {
    client: ChainClient,
    /// The wallet address (the window-status queries are per address).
    address: String,
    /// Topics whose chain answered `GetEpoch` with "Unimplemented": not asked again.
    no_epochs: Mutex<HashSet<u64>>,
}

impl LiveChain {
    pub fn new(client: ChainClient, address: String) -> Self {
        Self {
            client,
            address,
            no_epochs: Mutex::new(HashSet::new()),
        }
    }

    /// The open `nonces` with the ends the chain reports for them.
    async fn with_ends(&self, role: Role, topic_id: u64, nonces: Vec<i64>) -> Vec<OpenWindow> {
        if nonces.is_empty() {
            return Vec::new();
        }
        let status = match role {
            Role::Worker => {
                self.client
                    .worker_window_status(topic_id, &self.address)
                    .await
            }
            Role::Reputer => {
                self.client
                    .reputer_window_status(topic_id, &self.address)
                    .await
            }
        };
        let current = match status {
            Ok(s) => block_end(&s),
            Err(err) => {
                tracing::debug!(topic_id, role = role.as_str(), error = %err, "window status unavailable; window ends unknown");
                None
            }
        };
        let mut out = Vec::with_capacity(nonces.len());
        for nonce in nonces {
            out.push(OpenWindow {
                nonce,
                end_block: current.filter(|(n, _)| *n == nonce).map(|(_, end)| end),
                end_time: self.epoch_end(role, topic_id, nonce).await,
            });
        }
        out
    }

    /// The wall-clock end of `nonce`'s window from `GetEpoch`, probed once per topic.
    async fn epoch_end(&self, role: Role, topic_id: u64, nonce: i64) -> Option<SystemTime> {
        if self
            .no_epochs
            .lock()
            .is_ok_and(|set| set.contains(&topic_id))
        {
            return None;
        }
        match self.client.epoch(topic_id, nonce).await {
            Ok(Served::Yes(Some(e))) => epoch_window_end(&e, role),
            Ok(Served::Yes(None)) => None,
            Ok(Served::No) => {
                tracing::info!(
                    topic_id,
                    "chain does not serve GetEpoch: window ends come from the window-status query"
                );
                if let Ok(mut set) = self.no_epochs.lock() {
                    set.insert(topic_id);
                }
                None
            }
            Err(err) => {
                tracing::debug!(topic_id, nonce, error = %err, "GetEpoch failed; window end unknown");
                None
            }
        }
    }
}

/// (current nonce, its last accepted block) from a window-status answer; the chain reports
/// 0 where no height bound exists (wall-clock epochs).
fn block_end(s: &WindowStatus) -> Option<(i64, i64)> {
    (s.current_nonce_block_height > 0 && s.window_end_block > 0)
        .then_some((s.current_nonce_block_height, s.window_end_block))
}

/// The first instant `role`'s window of epoch `e` no longer accepts: the chain's end is the
/// last whole second it accepts (inclusive).
fn epoch_window_end(e: &v10::Epoch, role: Role) -> Option<SystemTime> {
    let last = match role {
        Role::Worker => e.worker_window_end_time,
        Role::Reputer => e.reputer_window_end_time,
    };
    let secs = u64::try_from(last).ok().filter(|s| *s > 0)?;
    Some(UNIX_EPOCH + Duration::from_secs(secs + 1))
}

#[async_trait]
impl ChainPort for LiveChain {
    async fn chain_id(&self) -> Result<String, QueryError> {
        self.client.chain_id().await.map_err(query_error)
    }

    fn grpc_health(&self) -> Vec<(String, bool)> {
        self.client
            .pool()
            .health()
            .into_iter()
            .map(|h| (h.url, h.healthy))
            .collect()
    }

    async fn params(&self) -> Result<ChainParams, QueryError> {
        let p = self.client.params().await.map_err(query_error)?;
        Ok(ChainParams {
            registration_fee: amount("registration_fee", &p.registration_fee)?,
            data_sending_fee: amount("data_sending_fee", &p.data_sending_fee)?,
            required_minimum_stake: amount("required_minimum_stake", &p.required_minimum_stake)?,
        })
    }

    async fn topic(&self, topic_id: u64) -> Result<TopicInfo, QueryError> {
        let t: TopicFacts = self.client.topic(topic_id).await.map_err(query_error)?;
        Ok(TopicInfo {
            id: t.id,
            epoch_length: t.epoch_length,
            ground_truth_lag: t.ground_truth_lag,
            worker_submission_window: t.worker_submission_window,
            loss_method: t.loss_method,
        })
    }

    async fn latest_height(&self) -> Result<i64, QueryError> {
        self.client.latest_height().await.map_err(query_error)
    }

    async fn balance(&self, address: &str) -> Result<u128, QueryError> {
        self.client.balance(address).await.map_err(query_error)
    }

    async fn is_registered(
        &self,
        topic_id: u64,
        address: &str,
        role: Role,
    ) -> Result<bool, QueryError> {
        match role {
            Role::Worker => self.client.is_worker_registered(topic_id, address).await,
            Role::Reputer => self.client.is_reputer_registered(topic_id, address).await,
        }
        .map_err(query_error)
    }

    async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, QueryError> {
        self.client
            .stake_in_self(topic_id, address)
            .await
            .map_err(query_error)
    }

    async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, QueryError> {
        let nonces = self
            .client
            .open_worker_windows(topic_id)
            .await
            .map_err(query_error)?;
        Ok(self.with_ends(Role::Worker, topic_id, nonces).await)
    }

    async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, QueryError> {
        let nonces = self
            .client
            .open_reputer_windows(topic_id)
            .await
            .map_err(query_error)?;
        Ok(self.with_ends(Role::Reputer, topic_id, nonces).await)
    }

    async fn network_inferences(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<NetworkValues, QueryError> {
        self.client
            .network_inferences_at(topic_id, nonce)
            .await
            .map_err(query_error)
    }

    async fn fee_allowance(
        &self,
        granter: &str,
        grantee: &str,
    ) -> Result<Option<FeeAllowance>, QueryError> {
        let grant = self
            .client
            .fee_allowance(granter, grantee)
            .await
            .map_err(query_error)?;
        Ok(grant.and_then(|g| g.allowance).map(|any| {
            let basic = (any.type_url == "/cosmos.feegrant.v1beta1.BasicAllowance")
                .then(|| fg::BasicAllowance::decode(any.value.as_slice()).ok())
                .flatten();
            FeeAllowance {
                kind: any.type_url,
                spend_limit: basic
                    .as_ref()
                    .filter(|b| !b.spend_limit.is_empty())
                    .and_then(|b| {
                        b.spend_limit
                            .iter()
                            .filter(|c| c.denom == "uallo")
                            .map(|c| c.amount.parse::<u128>().ok())
                            .sum()
                    }),
                expiration_unix: basic.and_then(|b| b.expiration).map(|t| t.seconds),
            }
        }))
    }

    async fn active_inferers(&self, topic_id: u64) -> Result<Vec<String>, QueryError> {
        let (latest, _height) = self
            .client
            .latest_network_inferences(topic_id)
            .await
            .map_err(query_error)?;
        Ok(latest
            .map(|b| b.inferer_values.into_iter().map(|w| w.worker).collect())
            .unwrap_or_default())
    }

    async fn tx_landed(&self, tx_hash: &str) -> Result<Option<TxLanded>, QueryError> {
        let r = self.client.get_tx(tx_hash).await.map_err(query_error)?;
        Ok(r.map(|r| TxLanded {
            height: r.height,
            code: r.code,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status query's end applies to its current nonce only; 0 means "no height bound".
    #[test]
    fn block_end_comes_from_the_status_query() {
        let s = WindowStatus {
            current_nonce_block_height: 19,
            window_end_block: 25,
            ..Default::default()
        };
        assert_eq!(block_end(&s), Some((19, 25)));
        let wall = WindowStatus {
            current_nonce_block_height: 19,
            window_end_block: 0,
            ..Default::default()
        };
        assert_eq!(block_end(&wall), None);
        assert_eq!(block_end(&WindowStatus::default()), None);
    }

    /// A window whose last accepted second is T closes at T + 1 s; the worker and reputer
    /// ends are the chain's, per role.
    #[test]
    fn epoch_ends_are_the_chains_inclusive_seconds() {
        let e = v10::Epoch {
            topic_id: 1,
            nonce_block_height: 40,
            start_time: 1_000,
            worker_window_end_time: 1_005,
            reputer_window_start_time: 1_010,
            reputer_window_end_time: 1_020,
        };
        assert_eq!(
            epoch_window_end(&e, Role::Worker),
            Some(UNIX_EPOCH + Duration::from_secs(1_006))
        );
        assert_eq!(
            epoch_window_end(&e, Role::Reputer),
            Some(UNIX_EPOCH + Duration::from_secs(1_021))
        );
        let unknown = v10::Epoch {
            worker_window_end_time: 0,
            ..e
        };
        assert_eq!(epoch_window_end(&unknown, Role::Worker), None);
    }
}
