//! Transactions: SIGN_MODE_DIRECT signing and the per-wallet tx actor.
//!
//! One `TxActor` per wallet owns the account sequence (DESIGN.md, chain-client lessons):
//! topics send it messages; it batches what is due, earliest window end first, into txs
//! (bounded by message count, gas and encoded bytes), sets `timeout_height` from the
//! earliest window end, simulates gas once and applies `gasAdjustment` once, prices gas
//! from the feemarket (× multiplier, capped by `maxFees`, static fallback), broadcasts
//! (sync), confirms by hash and answers every sender.
//!
//! Pipelining: up to `max_in_flight` txs are in flight at once, with consecutive sequences,
//! so one wallet lands many txs in one block; the next batch is signed and broadcast while
//! earlier ones await inclusion (`flight`). A failing message of a multi-message tx is
//! isolated by the chain's message index when it names one, else by bisection (halves), so
//! k bad messages among n cost O(k log n) extra txs.
//!
//! Sequence rules: the local sequence only advances when CheckTx accepted the tx; a
//! mismatch adopts the chain's "expected N"; the sequence is re-read periodically and after
//! any doubt (timeouts, transport failures) — except that a retry of messages whose
//! earlier broadcast may still land reuses that broadcast's sequence.
//!
//! One concern per file: [`sign`] (building and signing), `sequence` (tracking and
//! resync), `fee_oracle` (gas limit and price), `broadcast` (broadcast, confirmation),
//! `in_doubt` (broadcasts whose fate is unknown: looked up first, sequence reused),
//! `batch` (the receive-and-batch loop and retries), `edf` (which queued messages form the
//! next tx), `flight` (txs awaiting inclusion and what their fate means), `attempt` (one
//! build → simulate → broadcast → confirm round and what each chain failure means),
//! `dry_run`; [`TxChain`] is the chain as the actor sees it, so the state machine is tested
//! against a fake.

mod attempt;
mod batch;
mod broadcast;
mod chain;
mod config;
mod dry_run;
mod edf;
mod error;
mod fee_oracle;
mod flight;
mod handle;
mod in_doubt;
mod sequence;
pub mod sign;
#[cfg(test)]
mod tests;

pub use chain::TxChain;
pub use config::TxConfig;
pub use error::{AttemptFailure, TxError, TxErrorKind, Unfunded, WindowClosed};
pub use handle::{SIGNED_ACK_WAIT, SignedTx, SubmitMeta, TxHandle, TxOutcome};
pub use sign::{PUBKEY_TYPE_URL, TxParams, build_signed_tx};

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ChainClient;
use crate::keys::Wallet;
use fee_oracle::FeeOracle;
use sequence::SequenceTracker;

/// How many submissions may wait in a tx actor's queue before senders wait too.
const QUEUE: usize = 1024;

/// The per-wallet tx actor (see the module docs). `C` is the chain; production uses
/// [`ChainClient`].
pub struct TxActor<C = ChainClient> {
    /// Shared with the confirmations of txs in flight, which run beside the actor's loop.
    chain: Arc<C>,
    wallet: Wallet,
    cfg: TxConfig,
    sequence: SequenceTracker,
    fees: FeeOracle,
    /// Broadcasts whose fate is unknown (answer lost, confirmation timed out), kept across
    /// batches: looked up before their messages are sent again, and their sequence reused
    /// by a retry while they may still land (`in_doubt`).
    in_doubt: Vec<in_doubt::InDoubt>,
    /// Counts received batches (an in-doubt tx's messages without a nonce match only their
    /// own batch).
    batch: u64,
    /// Txs in flight (broadcast, not yet confirmed): while any are, the committed account
    /// sequence lags the local one and is not re-read.
    flying: usize,
}

impl<C: TxChain> TxActor<C> {
    fn new(chain: C, wallet: Wallet, cfg: TxConfig) -> TxActor<C> {
        TxActor {
            chain: Arc::new(chain),
            wallet,
            sequence: SequenceTracker::new(cfg.resync_interval),
            cfg,
            fees: FeeOracle::new(),
            in_doubt: Vec::new(),
            batch: 0,
            flying: 0,
        }
    }

    /// Starts the actor task for `wallet`.
    pub fn spawn(chain: C, wallet: Wallet, cfg: TxConfig) -> TxHandle {
        let (tx, rx) = mpsc::channel(QUEUE);
        let address = wallet.address().to_owned();
        let actor = TxActor::new(chain, wallet, cfg);
        // Every log line of this actor names the wallet it signs for (one actor per wallet).
        let span = tracing::info_span!("tx_actor", wallet = %address);
        tokio::spawn(tracing::Instrument::instrument(actor.run(rx), span));
        TxHandle { tx, address }
    }
}
