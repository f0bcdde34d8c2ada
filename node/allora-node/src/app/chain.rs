//! [`ChainPort`] over the chain client's gRPC queries (with its own failover), mapping the
//! client's errors onto the typed [`QueryErrorKind`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::actors::ports::{
    ChainParams, ChainPort, OpenWindow, QueryError, QueryErrorKind, Role, TopicInfo,
};
use allora_chain_client::{ChainClient, ChainError};
use allora_protocol::emissions::{NetworkValues, TopicFacts};

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

/// Last block accepting a worker payload for nonce `n`: `N ≤ h ≤ N + worker_submission_window`,
/// inclusive (allorad v0.17.0 `keeper/window_boundaries.go`; its window-status query and
/// window-opened event report the same end).
fn worker_window_end(t: &TopicInfo, n: i64) -> Option<i64> {
    (t.worker_submission_window > 0).then(|| n.saturating_add(t.worker_submission_window))
}

/// Last block accepting a reputer payload for nonce `n` on allorad v0.17.0:
/// `N + lag ≤ h ≤ N + lag + extra + epoch_length`, `extra = (epoch − lag mod epoch) mod epoch`.
fn reputer_window_end(t: &TopicInfo, n: i64) -> Option<i64> {
    if t.ground_truth_lag <= 0 || t.epoch_length <= 0 {
        return None;
    }
    let extra = (t.epoch_length - t.ground_truth_lag % t.epoch_length) % t.epoch_length;
    Some(
        n.saturating_add(t.ground_truth_lag)
            .saturating_add(extra)
            .saturating_add(t.epoch_length),
    )
}

/// [`ChainPort`] over the gRPC query client. Topic facts are cached (they do not change
/// between epochs) to turn open-window nonces into window end blocks without extra queries.
pub struct LiveChain {
    client: ChainClient,
    topics: Mutex<HashMap<u64, TopicInfo>>,
}

impl LiveChain {
    pub fn new(client: ChainClient) -> Self {
        Self {
            client,
            topics: Mutex::new(HashMap::new()),
        }
    }

    async fn cached_topic(&self, topic_id: u64) -> Result<TopicInfo, QueryError> {
        if let Some(t) = self
            .topics
            .lock()
            .ok()
            .and_then(|m| m.get(&topic_id).cloned())
        {
            return Ok(t);
        }
        self.topic(topic_id).await
    }
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
        let info = TopicInfo {
            id: t.id,
            epoch_length: t.epoch_length,
            ground_truth_lag: t.ground_truth_lag,
            worker_submission_window: t.worker_submission_window,
            loss_method: t.loss_method,
        };
        if let Ok(mut m) = self.topics.lock() {
            m.insert(topic_id, info.clone());
        }
        Ok(info)
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
        let t = self.cached_topic(topic_id).await?;
        Ok(open_windows(nonces, |n| worker_window_end(&t, n)))
    }

    async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, QueryError> {
        let nonces = self
            .client
            .open_reputer_windows(topic_id)
            .await
            .map_err(query_error)?;
        let t = self.cached_topic(topic_id).await?;
        Ok(open_windows(nonces, |n| reputer_window_end(&t, n)))
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
}

/// The open nonces with the last block each still accepts (by the role's window rule).
fn open_windows(nonces: Vec<i64>, end_block: impl Fn(i64) -> Option<i64>) -> Vec<OpenWindow> {
    nonces
        .into_iter()
        .map(|nonce| OpenWindow {
            nonce,
            end_block: end_block(nonce),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(epoch: i64, lag: i64, window: i64) -> TopicInfo {
        TopicInfo {
            id: 1,
            epoch_length: epoch,
            ground_truth_lag: lag,
            worker_submission_window: window,
            loss_method: "mse".into(),
        }
    }

    /// The ends allorad v0.17.0 reports: a 6-block window opened at 19 ends at 25; the
    /// reputer window ends one epoch after the ground truth, rounded up to an epoch boundary.
    #[test]
    fn window_ends_follow_allorad_v0_17() {
        assert_eq!(worker_window_end(&topic(12, 12, 6), 19), Some(25));
        assert_eq!(worker_window_end(&topic(12, 12, 0), 19), None);
        assert_eq!(reputer_window_end(&topic(12, 12, 6), 56), Some(80));
        assert_eq!(reputer_window_end(&topic(10, 20, 5), 100), Some(130));
        assert_eq!(reputer_window_end(&topic(10, 15, 5), 100), Some(130));
        assert_eq!(reputer_window_end(&topic(10, 0, 5), 100), None);
    }
}
