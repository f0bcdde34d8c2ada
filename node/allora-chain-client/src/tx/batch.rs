//! The actor's loop: queue what arrives, and once the oldest queued message has waited
//! `batch_window` (or a tx's worth is queued) take the next batch earliest deadline first
//! (`edf`) and send it — as long as fewer than `max_in_flight` txs await inclusion. The
//! confirmations run beside the loop (`flight`); when one resolves, its outcome is acted on
//! between batches. The sequence is re-read when idle.
//!
//! Processing retries a batch up to `max_retries`, halves it when it needs more gas than
//! one tx may carry, and bisects it when a multi-message tx failed without saying which
//! message (each half again if it fails again, so k bad messages among n cost O(k log n)
//! txs instead of n).

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::broadcast::Step;
use super::edf::take_batch;
use super::flight::{Flight, Landing};
use super::handle::{Pending, answer_all};
use super::{AttemptFailure, TxActor, TxChain, TxError};

impl<C: TxChain> TxActor<C> {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        let mut queue: Vec<Pending> = Vec::new();
        // When the oldest queued message arrived (the batch window runs from there).
        let mut since: Option<Instant> = None;
        let mut landing: FuturesUnordered<Landing> = FuturesUnordered::new();
        let mut open = true;
        loop {
            if !open && queue.is_empty() && landing.is_empty() {
                break;
            }
            let room = landing.len() < self.cfg.max_in_flight.max(1);
            let full = queue.len() >= self.cfg.max_msgs_per_tx.max(1);
            let due = since.map(|t| if full { t } else { t + self.cfg.batch_window });
            let idle = queue.is_empty() && landing.is_empty();
            tokio::select! {
                biased;
                Some((f, found)) = landing.next(), if !landing.is_empty() => {
                    self.flying = landing.len();
                    for f in self.land(f, found).await {
                        landing.push(self.watch(f));
                    }
                }
                p = rx.recv(), if open => match p {
                    Some(p) => {
                        since.get_or_insert_with(Instant::now);
                        queue.push(p);
                        // Take everything already waiting: one wake-up per burst.
                        while let Ok(p) = rx.try_recv() {
                            queue.push(p);
                        }
                    }
                    None => open = false,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if room && due.is_some() => {
                    let batch = take_batch(&mut queue, self.cfg.max_msgs_per_tx, self.cfg.max_tx_bytes);
                    // Leftovers have waited their window already: they go next.
                    if queue.is_empty() {
                        since = None;
                    }
                    self.batch += 1;
                    self.flying = landing.len();
                    for f in self.process_from(batch, 0, AttemptFailure::None).await {
                        landing.push(self.watch(f));
                    }
                }
                _ = tokio::time::sleep(self.cfg.resync_interval), if idle && open => {
                    // idle: periodic resync so a sequence changed elsewhere is picked up
                    self.sequence
                        .resync(&*self.chain, self.wallet.address())
                        .await;
                }
                else => break,
            }
            self.flying = landing.len();
        }
        tracing::debug!(address = %self.wallet.address(), "tx actor stopped");
    }

    /// Processes a batch until every message is answered, confirming each tx before the
    /// next one is looked at (the loop in [`TxActor::run`] confirms beside the next batch
    /// instead; tests drive the state machine through this).
    #[cfg(test)]
    pub(super) async fn process(&mut self, pending: Vec<Pending>) {
        let mut flights: std::collections::VecDeque<Flight> = self
            .process_from(pending, 0, AttemptFailure::None)
            .await
            .into();
        while let Some(f) = flights.pop_front() {
            self.flying = flights.len() + 1;
            let found = self.watch(f).await;
            let (f, found) = found;
            flights.extend(self.land(f, found).await);
        }
        self.flying = 0;
    }

    /// Sends `pending` (retrying, halving, bisecting) until every message is answered or
    /// in flight; returns the flights. `attempts` and `last` carry over from earlier rounds
    /// of the same messages.
    pub(super) async fn process_from(
        &mut self,
        mut pending: Vec<Pending>,
        mut attempts: u32,
        mut last: AttemptFailure,
    ) -> Vec<Flight> {
        while !pending.is_empty() {
            if attempts > self.cfg.max_retries {
                let err = TxError::gave_up(attempts, last);
                answer_all(pending, |_| Err(err.clone()));
                return Vec::new();
            }
            attempts += 1;
            match self.attempt(&mut pending, &mut last).await {
                Ok(Step::Done) => return Vec::new(),
                Ok(Step::Retry) => continue,
                Ok(Step::Sent(mut f)) => {
                    f.attempts = attempts;
                    f.last = last;
                    return vec![*f];
                }
                // Over gas, or a multi-message failure without a message index: halves,
                // each sent (and split again) on its own.
                Ok(Step::Halve(batch)) | Err(batch) => return self.bisect(batch).await,
            }
        }
        Vec::new()
    }

    /// Sends the two halves of `batch` one after the other (consecutive sequences).
    pub(super) async fn bisect(&mut self, mut first: Vec<Pending>) -> Vec<Flight> {
        let second = first.split_off(first.len() / 2);
        tracing::debug!(
            first = first.len(),
            second = second.len(),
            "splitting a batch in halves"
        );
        let mut flights = Box::pin(self.process_from(first, 0, AttemptFailure::None)).await;
        flights.extend(Box::pin(self.process_from(second, 0, AttemptFailure::None)).await);
        flights
    }
}
