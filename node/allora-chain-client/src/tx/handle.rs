//! The senders' side of a tx actor: what a submission is about ([`SubmitMeta`]), what comes
//! back ([`TxOutcome`] or a [`TxError`]), and the cheap [`TxHandle`] that queues a message
//! and waits for its answer. A sender of a non-idempotent message (register, add-stake) can
//! also hear each signed tx's hash before it is broadcast ([`SignedTx`]), to record it.

use std::time::Duration;

use cosmos_sdk_proto::Any as CosmosAny;
use tokio::sync::{mpsc, oneshot};

use super::TxError;

/// What a submission is about (for batching, deadlines, logs and metrics).
#[derive(Debug, Clone)]
pub struct SubmitMeta {
    pub topic_id: u64,
    pub nonce: Option<i64>,
    /// e.g. "worker_payload", "reputer_payload", "register", "add_stake".
    pub kind: &'static str,
    /// Last block height at which the message is still useful (window end).
    pub deadline_height: Option<i64>,
}

/// An included submission (or, with `submit_tx = false`, a built-but-unsent one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub tx_hash: String,
    /// Inclusion height (the height the tx was built at in a dry run).
    pub height: i64,
    /// True when nothing was broadcast (`submit_tx = false`).
    pub dry_run: bool,
}

/// One queued message and the channel its sender waits on.
pub(super) struct Pending {
    pub(super) msg: CosmosAny,
    pub(super) meta: SubmitMeta,
    pub(super) reply: oneshot::Sender<Result<TxOutcome, TxError>>,
    /// Told every signed tx carrying `msg` before its broadcast ([`TxHandle::submit_observed`]).
    pub(super) signed: Option<mpsc::UnboundedSender<SignedTx>>,
}

/// A signed tx carrying an observed message, about to be broadcast. The tx actor waits
/// (at most [`SIGNED_ACK_WAIT`]) until `recorded` is answered or dropped, so the sender can
/// make the hash durable before the tx can land.
#[derive(Debug)]
pub struct SignedTx {
    /// Upper-case hex SHA-256 of the tx bytes (what `GetTx` / CometBFT `tx` look up).
    pub tx_hash: String,
    /// The tx's `timeout_height`: it can never be included above this height.
    pub timeout_height: u64,
    /// Answer (or drop) once the hash is recorded.
    pub recorded: oneshot::Sender<()>,
}

/// Longest wait for an observer to record a signed tx's hash before broadcasting anyway
/// (the observer's intent deadline still bounds a tx whose hash it missed).
pub const SIGNED_ACK_WAIT: Duration = Duration::from_secs(5);

/// Tells the observers of a batch about its signed tx and waits (bounded) until each has
/// recorded the hash. Called between signing and broadcasting.
pub(super) async fn announce_signed(pending: &[Pending], tx_hash: &str, timeout_height: u64) {
    let mut acks = Vec::new();
    for p in pending {
        let Some(sink) = &p.signed else { continue };
        let (recorded, ack) = oneshot::channel();
        let notice = SignedTx {
            tx_hash: tx_hash.to_owned(),
            timeout_height,
            recorded,
        };
        if sink.send(notice).is_ok() {
            acks.push(ack);
        }
    }
    if acks.is_empty() {
        return;
    }
    let all = futures::future::join_all(acks);
    if tokio::time::timeout(SIGNED_ACK_WAIT, all).await.is_err() {
        tracing::warn!(tx_hash, timeout_height, waited = ?SIGNED_ACK_WAIT, "signed tx hash not recorded in time; broadcasting anyway");
    }
}

impl Pending {
    /// Answers the sender (and logs the answer once, here).
    pub(super) fn answer(self, r: Result<TxOutcome, TxError>) {
        match &r {
            Ok(o) => {
                tracing::info!(topic_id = self.meta.topic_id, nonce = ?self.meta.nonce, kind = self.meta.kind, tx_hash = %o.tx_hash, height = o.height, "submission included")
            }
            Err(e) => {
                tracing::warn!(topic_id = self.meta.topic_id, nonce = ?self.meta.nonce, kind = self.meta.kind, error_kind = e.kind().as_str(), code = ?e.code(), error = %e, "submission failed")
            }
        }
        // The sender may have given up waiting; nothing to do then.
        let _ = self.reply.send(r);
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("type_url", &self.msg.type_url)
            .field("meta", &self.meta)
            .finish()
    }
}

/// Answers every pending message with what `f` says.
pub(super) fn answer_all(
    pending: Vec<Pending>,
    f: impl Fn(&Pending) -> Result<TxOutcome, TxError>,
) {
    for p in pending {
        let r = f(&p);
        p.answer(r);
    }
}

/// Handle to a wallet's tx actor. Cheap to clone; the actor stops when all handles drop.
#[derive(Debug, Clone)]
pub struct TxHandle {
    pub(super) tx: mpsc::Sender<Pending>,
    pub(super) address: String,
}

impl TxHandle {
    /// Queues `msg` and waits until it is included or has failed (classified).
    pub async fn submit(
        &self,
        msg: prost_types::Any,
        meta: SubmitMeta,
    ) -> Result<TxOutcome, TxError> {
        let (reply, rx) = oneshot::channel();
        let p = Pending {
            msg: CosmosAny {
                type_url: msg.type_url,
                value: msg.value,
            },
            meta,
            reply,
            signed: None,
        };
        self.tx.send(p).await.map_err(|_| TxError::Stopped)?;
        rx.await.map_err(|_| TxError::Stopped)?
    }

    /// Like [`TxHandle::submit`], and `signed` hears every tx carrying `msg` after it is
    /// signed and before it is broadcast (a retry signs a new tx: each is announced).
    pub async fn submit_observed(
        &self,
        msg: prost_types::Any,
        meta: SubmitMeta,
        signed: mpsc::UnboundedSender<SignedTx>,
    ) -> Result<TxOutcome, TxError> {
        let (reply, rx) = oneshot::channel();
        let p = Pending {
            msg: CosmosAny {
                type_url: msg.type_url,
                value: msg.value,
            },
            meta,
            reply,
            signed: Some(signed),
        };
        self.tx.send(p).await.map_err(|_| TxError::Stopped)?;
        rx.await.map_err(|_| TxError::Stopped)?
    }

    /// The wallet address this actor signs for.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// True once the actor task has ended (panicked or returned): every later `submit`
    /// fails with [`TxError::Stopped`]. The node's supervisor watches this.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }
}
