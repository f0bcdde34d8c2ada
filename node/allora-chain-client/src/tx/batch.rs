//! The actor's loop: receive a message, wait `batch_window` for more (up to
//! `max_msgs_per_tx`), process the batch until every sender is answered, and re-read the
//! sequence when idle. Processing retries a batch up to `max_retries`, halves it when it
//! needs more gas than one tx may carry, and sends messages alone when a multi-message tx
//! failed without saying which message.

use tokio::sync::mpsc;

use super::broadcast::Step;
use super::handle::{Pending, answer_all};
use super::{AttemptFailure, TxActor, TxChain, TxError};

impl<C: TxChain> TxActor<C> {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        loop {
            let first = match tokio::time::timeout(self.cfg.resync_interval, rx.recv()).await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) => {
                    // idle: periodic resync so a sequence changed elsewhere is picked up
                    self.sequence
                        .resync(&self.chain, self.wallet.address())
                        .await;
                    continue;
                }
            };
            let mut batch = vec![first];
            let until = tokio::time::Instant::now() + self.cfg.batch_window;
            while batch.len() < self.cfg.max_msgs_per_tx.max(1) {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    _ => break,
                }
            }
            self.batch += 1;
            self.process(batch).await;
        }
        tracing::debug!(address = %self.wallet.address(), "tx actor stopped");
    }

    /// Processes a batch until every message is answered.
    pub(super) async fn process(&mut self, mut pending: Vec<Pending>) {
        let mut attempts: u32 = 0;
        let mut last = AttemptFailure::None;
        while !pending.is_empty() {
            if attempts > self.cfg.max_retries {
                let err = TxError::gave_up(attempts, last);
                answer_all(pending, |_| Err(err.clone()));
                return;
            }
            attempts += 1;
            match self.attempt(&mut pending, &mut last).await {
                Ok(Step::Done) => return,
                Ok(Step::Retry) => continue,
                Ok(Step::Halve(mut first)) => {
                    let second = first.split_off(first.len() / 2);
                    Box::pin(self.process(first)).await;
                    Box::pin(self.process(second)).await;
                    return;
                }
                Err(split) => {
                    // Multi-message failure without a message index: isolate by sending
                    // each message alone, so one bad message cannot sink the others.
                    for p in split {
                        Box::pin(self.process(vec![p])).await;
                    }
                    return;
                }
            }
        }
    }
}
