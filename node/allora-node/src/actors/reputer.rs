//! The reputer actor for one topic: register, top the self-stake up to `minStake`, then
//! always act on the **oldest** open reputer nonce: network values → ground truth (adapter)
//! → losses (built-in method, the topic's `loss_method`, or a loss adapter; one batched call)
//! → all 12 ValueBundle fields with the log10 rule → sign → submit. A nonce is marked done
//! only after inclusion (or when the chain says it already has it / the window closed), so
//! a transient failure is retried on the next trigger while the window is open.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::timed;
use super::pending::Pending;
use super::ports::{AdapterError, AdapterPort, Call, OpenWindow, Role};
use super::registration::{Registered, ensure_registered, top_up_stake};
use super::scoring;
use super::trigger::Trigger;
use super::wakeup::Wakeups;
use super::worker::Outcome;
use super::{ActorEnv, WindowSignal};
use crate::config::LossOptions;
use allora_protocol::loss::LossMethod;

const ROLE: &str = "reputer";

/// How this reputer computes losses.
#[derive(Clone)]
pub enum LossSource {
    Builtin(LossMethod),
    /// Resolve the topic's `loss_method` at startup, with these (validated) options.
    FromTopic(LossOptions),
    Adapter {
        adapter: Arc<dyn AdapterPort>,
        params: BTreeMap<String, String>,
    },
}

/// A configured reputer for one topic (cloned by the supervisor for each restart).
#[derive(Clone)]
pub struct ReputerActor {
    pub env: ActorEnv,
    pub topic_id: u64,
    pub interval: Duration,
    pub min_stake: u128,
    pub ground_truth: Arc<dyn AdapterPort>,
    pub ground_truth_params: BTreeMap<String, String>,
    pub loss: LossSource,
}

/// Whether a nonce attempt settled it.
enum Step {
    Done(Outcome),
    Retry(String),
}

impl ReputerActor {
    /// Runs until shutdown.
    pub async fn run(mut self, wake: Wakeups) {
        let topic_id = self.topic_id;
        tracing::info!(topic_id, role = ROLE, address = %self.env.address(), "reputer actor started");
        if ensure_registered(&self.env, topic_id, Role::Reputer, self.interval).await
            == Registered::Stopped
        {
            return;
        }
        let mut staked = top_up_stake(&self.env, topic_id, self.min_stake).await;
        let mut trigger = Trigger::new(&self.env, self.interval);
        let mut pending = Pending::new();
        // Unfinished setup or an unsettled nonce keeps the actor polling every
        // `loopSeconds`; otherwise window events wake it.
        let mut setup_done = true;
        while let Some(sigs) = trigger
            .next(
                &self.env,
                &wake,
                !setup_done || !staked || !pending.is_empty(),
            )
            .await
        {
            for sig in &sigs {
                pending.seen(sig.nonce, Instant::now());
            }
            if !staked {
                staked = top_up_stake(&self.env, topic_id, self.min_stake).await;
            }
            setup_done = false;
            if let Err(err) = self.resolve_loss().await {
                tracing::error!(topic_id, role = ROLE, error = %err, "no usable loss method; will retry");
                continue;
            }
            setup_done = true;
            self.poll(&sigs, &mut pending).await;
        }
        tracing::info!(topic_id, role = ROLE, "reputer actor stopped");
    }

    /// Turns `FromTopic` into a concrete method once the topic is readable.
    async fn resolve_loss(&mut self) -> Result<(), String> {
        let LossSource::FromTopic(options) = &self.loss else {
            return Ok(());
        };
        let topic = self
            .env
            .chain
            .topic(self.topic_id)
            .await
            .map_err(|e| e.to_string())?;
        let method = options
            .method(&topic.loss_method)
            .map_err(|e| format!("topic loss_method '{}': {e}", topic.loss_method))?;
        tracing::info!(
            topic_id = self.topic_id,
            role = ROLE,
            loss_method = method.name(),
            "using the topic's loss method"
        );
        self.loss = LossSource::Builtin(method);
        Ok(())
    }

    /// Handles open reputer nonces oldest first; stops at the first one that must be retried.
    pub async fn poll(&self, sigs: &[WindowSignal], pending: &mut Pending) {
        let topic_id = self.topic_id;
        let Some((height, windows)) =
            super::open_windows(&self.env, Role::Reputer, topic_id, sigs).await
        else {
            return;
        };
        pending.retain(|n| windows.iter().any(|w| w.nonce == n));
        for w in windows {
            if self.env.shutdown.is_cancelled() {
                return;
            }
            if self.env.ledger.contains(Role::Reputer, topic_id, w.nonce) {
                continue;
            }
            let now = Instant::now();
            if !pending.due(w.nonce, now) {
                // Backing off: the oldest nonce stays first in line.
                return;
            }
            let seen = pending.seen(w.nonce, now);
            let outcome = self.handle_nonce(w, height, seen).await;
            let Some(outcome) = outcome else {
                // Not settled: the oldest nonce stays first in line for the next trigger.
                if !self.env.shutdown.is_cancelled() {
                    pending.failed(w.nonce, self.env.retry.retry_delay, Instant::now());
                }
                return;
            };
            pending.retain(|n| n != w.nonce);
            self.env
                .metrics
                .submissions
                .with_label_values(&[
                    &topic_id.to_string(),
                    ROLE,
                    outcome.label(),
                    self.env.address(),
                ])
                .inc();
            self.env
                .ledger
                .settle_logged(Role::Reputer, topic_id, w.nonce)
                .await;
        }
    }

    async fn handle_nonce(&self, w: OpenWindow, mut height: i64, seen: Instant) -> Option<Outcome> {
        let topic_id = self.topic_id;
        let nonce = w.nonce;
        for attempt in 1..=self.env.retry.max_retries + 1 {
            if attempt > 1 {
                if !self.env.sleep(self.env.retry.retry_delay).await {
                    return None;
                }
                if let Ok(h) = self.env.clock.height(self.env.chain.as_ref()).await {
                    height = h;
                }
            }
            let past_block = w.end_block.is_some_and(|end| height > end);
            let past_time = w
                .end_time
                .is_some_and(|end| std::time::SystemTime::now() >= end);
            if past_block || past_time {
                tracing::info!(
                    topic_id,
                    role = ROLE,
                    nonce,
                    height,
                    end_block = ?w.end_block,
                    end_time = ?w.end_time,
                    "reputer window closed; skipping nonce"
                );
                return Some(Outcome::SkippedClosed);
            }
            match self.attempt(w, height, seen).await {
                Step::Done(o) => return Some(o),
                Step::Retry(err) => {
                    tracing::warn!(topic_id, role = ROLE, nonce, attempt, error = %err, "reputer attempt failed")
                }
            }
        }
        tracing::warn!(
            topic_id,
            role = ROLE,
            nonce,
            "retries exhausted; will try again on the next trigger"
        );
        None
    }

    async fn attempt(&self, w: OpenWindow, height: i64, seen: Instant) -> Step {
        let topic_id = self.topic_id;
        let nonce = w.nonce;
        let topic = topic_id.to_string();
        let address = self.env.address().to_string();
        let network = match self.env.chain.network_inferences(topic_id, nonce).await {
            Ok(b) => b,
            Err(err) => return Step::Retry(format!("network inferences: {err}")),
        };
        let preds = match scoring::predictions(&network) {
            Ok(p) => p,
            Err(err) => return Step::Retry(err.to_string()),
        };
        // The reputer may use its window's last block too (hence end + 1); a window with no
        // room left still gets no deadline here: the chain's refusal settles it.
        let deadline = self
            .env
            .clock
            .window_deadline(
                w.end_block.map(|end| end + 1),
                w.end_time,
                height,
                Instant::now(),
                std::time::SystemTime::now(),
            )
            .unwrap_or(None);
        let call = Call {
            topic_id,
            nonce,
            params: self.ground_truth_params.clone(),
            deadline,
        };
        self.env
            .metrics
            .reputer_truth_requests
            .with_label_values(&[&address, &topic])
            .inc();
        let truth = match timed(
            &self.env,
            topic_id,
            "ground_truth",
            &*self.ground_truth,
            &call,
            |a, c| Box::pin(async move { a.ground_truth(c).await }),
        )
        .await
        {
            Ok(t) => t,
            Err(err) => {
                return Step::Retry(format!(
                    "ground truth from {}: {err}",
                    self.ground_truth.name()
                ));
            }
        };
        let losses = match self.losses(nonce, deadline, &truth, &preds).await {
            Ok(l) => l,
            Err(err) => return Step::Retry(err),
        };
        if let Err(err) = super::values::check_all(&self.loss_name(), topic_id, &losses) {
            return Step::Retry(err.to_string());
        }
        let bundle = match scoring::assemble(topic_id, &network, &losses) {
            Ok(b) => b,
            Err(err) => return Step::Retry(err.to_string()),
        };
        let out = match self.env.signer.reputer_payload(bundle, nonce) {
            Ok(o) => o,
            Err(err) => return Step::Retry(format!("cannot sign value bundle: {err}")),
        };
        self.env
            .metrics
            .reputer_data_builds
            .with_label_values(&[&address, &topic])
            .inc();
        match super::submit_payload(&self.env, Role::Reputer, topic_id, w, out, seen).await {
            Ok(outcome) => Step::Done(outcome),
            Err(e) => Step::Retry(format!("reputer payload tx: {e}")),
        }
    }

    /// The loss source's name for logs and value errors.
    fn loss_name(&self) -> String {
        match &self.loss {
            LossSource::Builtin(m) => format!("loss method {}", m.name()),
            LossSource::FromTopic(_) => "topic loss method".to_string(),
            LossSource::Adapter { adapter, .. } => format!("loss adapter {}", adapter.name()),
        }
    }

    /// Submitted losses (log10 rule applied) for every prediction, in one batch.
    async fn losses(
        &self,
        nonce: i64,
        deadline: Option<Instant>,
        truth: &str,
        preds: &[String],
    ) -> Result<Vec<String>, String> {
        match &self.loss {
            LossSource::Builtin(m) => {
                let raw = scoring::builtin_losses(m, truth, preds).map_err(|e| e.to_string())?;
                scoring::submitted(&raw, m.never_negative()).map_err(|e| e.to_string())
            }
            LossSource::FromTopic(_) => Err("topic loss method not resolved yet".into()),
            LossSource::Adapter { adapter, params } => {
                let call = Call {
                    topic_id: self.topic_id,
                    nonce,
                    params: params.clone(),
                    deadline,
                };
                let raw = timed(
                    &self.env,
                    self.topic_id,
                    "loss",
                    &**adapter,
                    &call,
                    |a, c| Box::pin(async move { a.loss(c, truth, preds).await }),
                )
                .await
                .map_err(|e: AdapterError| format!("loss adapter {}: {e}", adapter.name()))?;
                if raw.len() != preds.len() {
                    return Err(format!(
                        "loss adapter {} returned {} losses for {} predictions",
                        adapter.name(),
                        raw.len(),
                        preds.len()
                    ));
                }
                let nn = timed(
                    &self.env,
                    self.topic_id,
                    "loss",
                    &**adapter,
                    &call,
                    |a, c| Box::pin(async move { a.never_negative(c).await }),
                )
                .await
                .map_err(|e| format!("loss adapter {} never-negative: {e}", adapter.name()))?;
                scoring::submitted(&raw, nn).map_err(|e| e.to_string())
            }
        }
    }
}
