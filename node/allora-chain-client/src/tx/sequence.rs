//! The account sequence as the tx actor believes it (DESIGN.md, chain-client lessons): it
//! advances only when CheckTx accepted a tx; a mismatch adopts the chain's "expected N";
//! any doubt (timeouts, transport failures, a lost broadcast) forgets it so the next attempt
//! re-reads it; and it is re-read at least every `resync_interval` — but never while txs are
//! in flight, since the committed sequence lags the mempool by exactly those txs.

use std::time::Duration;

use tokio::time::Instant;

use super::TxChain;
use crate::{AccountInfo, ChainError};

/// Local account number and sequence, with when they were last read from the chain.
#[derive(Debug)]
pub(super) struct SequenceTracker {
    account: Option<AccountInfo>,
    synced_at: Option<Instant>,
    resync_interval: Duration,
}

impl SequenceTracker {
    pub(super) fn new(resync_interval: Duration) -> SequenceTracker {
        SequenceTracker {
            account: None,
            synced_at: None,
            resync_interval,
        }
    }

    /// What the actor would sign with next, if known.
    #[cfg(test)]
    pub(super) fn current(&self) -> Option<AccountInfo> {
        self.account
    }

    /// Idle-time re-read, so a sequence changed elsewhere (another process, a manual tx) is
    /// picked up. A failure forgets the local value.
    pub(super) async fn resync(&mut self, chain: &impl TxChain, address: &str) {
        match chain.account(address).await {
            Ok(a) => {
                if let Some(old) = self.account
                    && old.sequence != a.sequence
                {
                    tracing::info!(
                        address,
                        local = old.sequence,
                        chain = a.sequence,
                        "account sequence resynced"
                    );
                }
                self.account = Some(a);
                self.synced_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::debug!(address, error = %e, "account resync failed");
                self.account = None;
            }
        }
    }

    /// The account to sign with: the local one while fresh, else re-read from the chain.
    /// While txs are in flight (`busy`) a known local value is never replaced by the
    /// chain's committed one, which lags the mempool by exactly those txs.
    pub(super) async fn ensure(
        &mut self,
        chain: &impl TxChain,
        address: &str,
        busy: bool,
    ) -> Result<AccountInfo, ChainError> {
        let stale = !busy
            && self
                .synced_at
                .is_none_or(|t| t.elapsed() > self.resync_interval);
        match self.account {
            Some(a) if !stale => Ok(a),
            _ => {
                let a = chain.account(address).await?;
                self.account = Some(a);
                self.synced_at = Some(Instant::now());
                Ok(a)
            }
        }
    }

    /// After "account sequence mismatch": adopt the chain's expected value when it said
    /// one, else forget and re-read.
    pub(super) fn adopt_expected(&mut self, expected: Option<u64>) {
        match (expected, self.account.as_mut()) {
            (Some(n), Some(a)) => a.sequence = n,
            _ => self.account = None,
        }
    }

    /// CheckTx accepted a tx signed with `sequence`: that sequence is used.
    pub(super) fn mark_used(&mut self, sequence: u64) {
        if let Some(a) = self.account.as_mut() {
            a.sequence = sequence + 1;
        }
    }

    /// A tx signed with `sequence` can never land (expired, or evicted from the mempool):
    /// the sequence was not consumed, and every later one in flight is dead with it (the
    /// mempool's recheck evicts a sender's txs above a gap), so signing resumes there.
    pub(super) fn rewind(&mut self, sequence: u64) {
        match self.account.as_mut() {
            Some(a) if a.sequence > sequence => a.sequence = sequence,
            Some(_) => {}
            None => {}
        }
    }

    /// In doubt: re-read before the next tx.
    pub(super) fn forget(&mut self) {
        self.account = None;
    }
}
