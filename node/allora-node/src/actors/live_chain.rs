//! The live wiring: chain client queries as [`ChainPort`], the per-wallet tx actor as
//! [`TxPort`], `protocol` signing with the wallet as [`SignPort`], and chain window events
//! (websocket, with polling merged in) as the supervisor's signal stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use futures::StreamExt;

use super::WindowSignal;
use super::live_sign::WalletSigner;
use super::ports::{
    ChainParams, ChainPort, Included, OpenWindow, Outgoing, PortError, Role, SubmitMeta, TopicInfo,
    TxFailure, TxPort,
};
use super::supervisor::Wiring;
use crate::config::{GasLimit, GasPrice, KeySource, Plan};
use crate::metrics::Metrics;
use allora_chain_client::keys::{Wallet, store::Keystore};
use allora_chain_client::{
    self, ChainClient, ChainError, Endpoints, FeePolicy, TxConfig, TxHandle, WindowEventKind,
};
use allora_protocol::proto::emissions::v10;

fn cerr(e: ChainError) -> PortError {
    let kind = match &e {
        ChainError::Unreachable { .. } => "transport",
        ChainError::NotFound { .. } | ChainError::AccountNotFound(_) => "not_found",
        ChainError::Status { .. } => "status",
        _ => "chain",
    };
    PortError::new(kind, e.to_string())
}

fn amount(field: &str, s: &str) -> Result<u128, PortError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse()
        .map_err(|_| PortError::new("decode", format!("{field} {s:?} is not an integer")))
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

    async fn cached_topic(&self, topic_id: u64) -> Result<TopicInfo, PortError> {
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
    async fn chain_id(&self) -> Result<String, PortError> {
        self.client.chain_id().await.map_err(cerr)
    }

    fn grpc_health(&self) -> Vec<(String, bool)> {
        self.client
            .pool()
            .health()
            .into_iter()
            .map(|h| (h.url, h.healthy))
            .collect()
    }

    async fn params(&self) -> Result<ChainParams, PortError> {
        let p = self.client.params().await.map_err(cerr)?;
        Ok(ChainParams {
            registration_fee: amount("registration_fee", &p.registration_fee)?,
            data_sending_fee: amount("data_sending_fee", &p.data_sending_fee)?,
            required_minimum_stake: amount("required_minimum_stake", &p.required_minimum_stake)?,
        })
    }

    async fn topic(&self, topic_id: u64) -> Result<TopicInfo, PortError> {
        let t: v10::Topic = self.client.topic(topic_id).await.map_err(cerr)?;
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

    async fn latest_height(&self) -> Result<i64, PortError> {
        self.client.latest_height().await.map_err(cerr)
    }

    async fn balance(&self, address: &str) -> Result<u128, PortError> {
        self.client.balance(address).await.map_err(cerr)
    }

    async fn is_registered(
        &self,
        topic_id: u64,
        address: &str,
        role: Role,
    ) -> Result<bool, PortError> {
        match role {
            Role::Worker => self.client.is_worker_registered(topic_id, address).await,
            Role::Reputer => self.client.is_reputer_registered(topic_id, address).await,
        }
        .map_err(cerr)
    }

    async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, PortError> {
        self.client
            .stake_in_self(topic_id, address)
            .await
            .map_err(cerr)
    }

    async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, PortError> {
        let nonces = self
            .client
            .open_worker_windows(topic_id)
            .await
            .map_err(cerr)?;
        let t = self.cached_topic(topic_id).await?;
        // Worker window: N ≤ h ≤ N + worker_submission_window − 1 (reference §C.4 #11).
        Ok(nonces
            .into_iter()
            .map(|n| OpenWindow {
                nonce: n,
                end_block: (t.worker_submission_window > 0)
                    .then(|| n + t.worker_submission_window - 1),
            })
            .collect())
    }

    async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, PortError> {
        let nonces = self
            .client
            .open_reputer_windows(topic_id)
            .await
            .map_err(cerr)?;
        let t = self.cached_topic(topic_id).await?;
        // Reputer window: N + lag ≤ h ≤ N + 2·lag (reference §C.4 reputer #9).
        Ok(nonces
            .into_iter()
            .map(|n| OpenWindow {
                nonce: n,
                end_block: (t.ground_truth_lag > 0).then(|| n + 2 * t.ground_truth_lag),
            })
            .collect())
    }

    async fn network_inferences(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<v10::NetworkInferenceBundle, PortError> {
        self.client
            .network_inferences_at(topic_id, nonce)
            .await
            .map_err(cerr)
    }

    async fn active_inferers(&self, topic_id: u64) -> Result<Vec<String>, PortError> {
        let latest = self
            .client
            .latest_network_inferences(topic_id)
            .await
            .map_err(cerr)?;
        Ok(latest
            .network_inferences
            .map(|b| b.inferer_values.into_iter().map(|w| w.worker).collect())
            .unwrap_or_default())
    }
}

/// [`TxPort`] over the wallet's tx actor.
pub struct LiveTx {
    handle: TxHandle,
}

#[async_trait]
impl TxPort for LiveTx {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure> {
        let meta = allora_chain_client::SubmitMeta {
            topic_id: meta.topic_id,
            nonce: meta.nonce,
            kind: meta.kind,
            deadline_height: meta.deadline_height,
        };
        self.handle
            .submit(out.msg, meta)
            .await
            .map(|o| Included {
                tx_hash: o.tx_hash,
                height: o.height,
            })
            .map_err(|e| TxFailure {
                kind: e.kind().as_str().to_string(),
                message: e.to_string(),
            })
    }
}

/// Loads the signing wallet from the configured key source. Errors name the source, never
/// the secret.
pub fn wallet(plan: &Plan) -> anyhow::Result<Wallet> {
    match &plan.wallet.key {
        KeySource::Mnemonic(m) => Wallet::from_mnemonic(m).context(
            "wallet.addressRestoreMnemonic / $ALLORA_OFFCHAIN_NODE_MNEMONIC is not a valid mnemonic",
        ),
        KeySource::MnemonicFile(path) => allora_chain_client::keys::store::wallet_from_mnemonic_file(path)
            .with_context(|| format!("wallet.mnemonicFile {}", path.display())),
        KeySource::Keystore { name, home } => Keystore::new(home).load(name).with_context(|| {
            format!(
                "loading key '{name}' from {} (create it with `allora-node keys add {name}` or set wallet.addressRestoreMnemonic)",
                home.display()
            )
        }),
    }
}

fn client(plan: &Plan) -> anyhow::Result<ChainClient> {
    let endpoints = Endpoints::new(plan.wallet.grpc_urls.clone(), plan.wallet.rpc_urls.clone());
    ChainClient::new(endpoints).context("building the chain client")
}

/// Query-only access for `doctor`: the chain port and the wallet address.
pub async fn query_port(plan: &Plan) -> anyhow::Result<(Arc<dyn ChainPort>, String)> {
    let w = wallet(plan)?;
    Ok((
        Arc::new(LiveChain::new(client(plan)?)),
        w.address().to_string(),
    ))
}

/// Tx actor settings from the wallet section. The chain client has no defaults; the values
/// the plan does not carry yet are spelled here (they were `TxConfig::new`'s and
/// `FeePolicy::default()`'s) until the plan owns them.
fn tx_config(plan: &Plan, chain_id: String) -> TxConfig {
    let w = &plan.wallet;
    let (dynamic, fallback_gas_price) = match w.gas_prices {
        GasPrice::Fixed(p) => (false, p),
        GasPrice::Auto => (true, 10.0),
    };
    TxConfig {
        chain_id,
        fee: FeePolicy {
            denom: "uallo".into(),
            price_multiplier: 1.5,
            fallback_gas_price,
            dynamic,
            max_fee: w.max_fees,
        },
        gas_adjustment: w.gas_adjustment,
        fixed_gas: match w.gas {
            GasLimit::Auto => None,
            GasLimit::Fixed(n) => Some(n),
        },
        max_msgs_per_tx: 100,
        max_gas_per_tx: 10_000_000,
        batch_window: Duration::from_millis(200),
        confirm_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(500),
        max_retries: w.max_retries,
        retry_delay: w.retry_delay,
        sequence_retry_delay: w.account_sequence_retry_delay,
        resync_interval: Duration::from_secs(60),
        default_timeout_blocks: 100,
        memo: String::new(),
        submit_tx: w.submit_tx,
    }
}

/// Connects to the chain described by the plan and builds the actors' wiring. Retries the
/// first contact (the chain may still be starting) until it answers.
pub async fn connect(plan: &Plan, metrics: &Metrics) -> anyhow::Result<Wiring> {
    let wallet = wallet(plan)?;
    let address = wallet.address().to_string();
    let client = client(plan)?;
    let chain_id = loop {
        match client.chain_id().await {
            Ok(id) => break id,
            Err(err) => {
                tracing::warn!(error = %err, "chain not reachable yet; retrying in 2s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    if let Some(want) = &plan.wallet.chain_id
        && want != &chain_id
    {
        anyhow::bail!(
            "chain-id mismatch: wallet.chainId is {want:?} but the node serves {chain_id:?}; fix wallet.chainId or the endpoints"
        );
    }
    match client.balance(&address).await {
        Ok(b) => {
            metrics
                .wallet_balance
                .with_label_values(&[&address])
                .set(b as f64);
            tracing::info!(address = %address, chain_id = %chain_id, balance_uallo = b, "connected");
        }
        Err(err) => tracing::warn!(address = %address, error = %err, "cannot read balance"),
    }
    let signer = Arc::new(WalletSigner::new(wallet.clone()));
    let tx: Arc<dyn TxPort> = if plan.wallet.submit_tx {
        Arc::new(LiveTx {
            handle: allora_chain_client::TxActor::spawn(
                client.clone(),
                wallet,
                tx_config(plan, chain_id),
            ),
        })
    } else {
        // Dry run: the actors never call submit; this guards against any path that would.
        Arc::new(NoBroadcast)
    };
    let mut topics: Vec<u64> = plan
        .workers
        .iter()
        .map(|w| w.topic_id)
        .chain(plan.reputers.iter().map(|r| r.topic_id))
        .collect();
    topics.sort_unstable();
    topics.dedup();
    let events = (!plan.wallet.rpc_urls.is_empty()).then(|| {
        let stream = allora_chain_client::events::subscribe(plan.wallet.rpc_urls.clone(), topics)
            .filter_map(|e| async move {
                let role = match e.kind {
                    WindowEventKind::WorkerOpened => Role::Worker,
                    WindowEventKind::ReputerOpened => Role::Reputer,
                    _ => return None,
                };
                Some(WindowSignal {
                    role,
                    topic_id: e.topic_id,
                    nonce: e.nonce_block_height,
                    end_block: e.window_end_block,
                })
            });
        Box::pin(stream) as super::supervisor::SignalStream
    });
    Ok(Wiring {
        chain: Arc::new(LiveChain::new(client)),
        tx,
        signer,
        events,
    })
}

/// The tx port of a dry run: refuses to broadcast.
struct NoBroadcast;

#[async_trait]
impl TxPort for NoBroadcast {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure> {
        tracing::error!(topic_id = meta.topic_id, kind = meta.kind, msg = %out.describe, "dry run: refusing to broadcast");
        Err(TxFailure {
            kind: "dry_run".into(),
            message: "submitTx is false".into(),
        })
    }
}
