//! [`TxPort`] over the wallet's tx actor, behind an indirection the supervisor can swap:
//! [`TxSlot`] holds the current [`TxHandle`] and the ingredients to spawn a new
//! [`TxActor`], so restarting a dead tx actor is one `restart()` and every topic actor (which
//! holds the slot, never a handle) uses the new actor on its next submission.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::actors::ports::{
    Included, Outgoing, SignedTx, SubmitMeta, TxErrorKind, TxFailure, TxPort,
};
use crate::config::{GasLimit, GasPrice, WalletPlan};
use allora_chain_client::keys::Wallet;
use allora_chain_client::{ChainClient, FeePolicy, TxActor, TxConfig, TxError, TxHandle};

/// The tx actor's configuration, every field from the Plan (no library defaults).
pub fn tx_config(w: &WalletPlan, chain_id: String) -> TxConfig {
    let (dynamic, fallback_gas_price) = match w.fees.gas_prices {
        GasPrice::Auto => (true, w.fees.fallback_gas_price),
        GasPrice::Fixed(p) => (false, p),
    };
    TxConfig {
        chain_id,
        fee: FeePolicy {
            denom: w.fees.denom.clone(),
            price_multiplier: w.fees.price_multiplier,
            fallback_gas_price,
            dynamic,
            max_fee: w.fees.max_fees,
        },
        gas_adjustment: w.fees.gas_adjustment,
        fixed_gas: match w.fees.gas {
            GasLimit::Auto => None,
            GasLimit::Fixed(n) => Some(n),
        },
        max_msgs_per_tx: w.batch.max_msgs_per_tx,
        max_gas_per_tx: w.batch.max_gas_per_tx,
        max_tx_bytes: w.batch.max_tx_bytes,
        max_in_flight: w.batch.max_in_flight,
        batch_window: w.batch.batch_window,
        confirm_timeout: w.batch.confirm_timeout,
        poll_interval: w.batch.confirm_poll,
        max_retries: w.retry.max_retries,
        retry_delay: w.retry.retry_delay,
        sequence_retry_delay: w.retry.sequence_retry_delay,
        resync_interval: w.batch.sequence_resync,
        default_timeout_blocks: w.batch.timeout_blocks,
        memo: String::new(),
        fee_granter: w.fee_granter.clone(),
        submit_tx: w.submit_tx,
    }
}

/// The typed failure the actors see: the tx actor's class and the chain's ABCI code.
pub fn tx_failure(e: &TxError) -> TxFailure {
    TxFailure::new(e.kind(), e.code(), e.to_string())
}

fn client_meta(meta: SubmitMeta) -> allora_chain_client::SubmitMeta {
    allora_chain_client::SubmitMeta {
        topic_id: meta.topic_id,
        nonce: meta.nonce,
        kind: meta.kind,
        deadline_height: meta.deadline_height,
    }
}

fn included(o: allora_chain_client::TxOutcome) -> Included {
    Included {
        tx_hash: o.tx_hash,
        height: o.height,
    }
}

/// Spawns tx actors: the real one, or a test double.
pub type Spawn = Arc<dyn Fn() -> TxHandle + Send + Sync>;

/// The wallet's tx actor behind a swappable handle (see the module docs).
pub struct TxSlot {
    spawn: Spawn,
    handle: RwLock<TxHandle>,
}

impl TxSlot {
    /// Spawns the first actor now.
    pub fn new(spawn: Spawn) -> Self {
        let handle = RwLock::new(spawn());
        Self { spawn, handle }
    }

    /// A slot whose actors sign for `wallet` through `client` with `cfg`.
    pub fn live(client: ChainClient, wallet: Wallet, cfg: TxConfig) -> Self {
        Self::new(Arc::new(move || {
            TxActor::spawn(client.clone(), wallet.clone(), cfg.clone())
        }))
    }

    fn current(&self) -> TxHandle {
        // A poisoned lock still holds a valid handle: the writer only swaps it.
        match self.handle.read() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl TxPort for TxSlot {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure> {
        self.current()
            .submit(out.msg, client_meta(meta))
            .await
            .map(included)
            .map_err(|e| tx_failure(&e))
    }

    async fn submit_observed(
        &self,
        out: Outgoing,
        meta: SubmitMeta,
        signed: mpsc::UnboundedSender<SignedTx>,
    ) -> Result<Included, TxFailure> {
        self.current()
            .submit_observed(out.msg, client_meta(meta), signed)
            .await
            .map(included)
            .map_err(|e| tx_failure(&e))
    }

    fn is_stopped(&self) -> bool {
        self.current().is_stopped()
    }

    fn restart(&self) {
        let fresh = (self.spawn)();
        match self.handle.write() {
            Ok(mut h) => *h = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

/// The tx port of a dry run (`submitTx: false`): the actors never call it; this guards
/// against any path that would.
pub struct NoBroadcast;

#[async_trait]
impl TxPort for NoBroadcast {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure> {
        tracing::error!(topic_id = meta.topic_id, kind = meta.kind, msg = %out.describe, "dry run: refusing to broadcast");
        Err(TxFailure::new(
            TxErrorKind::Stopped,
            None,
            "submitTx is false: broadcasting is disabled",
        ))
    }
}
