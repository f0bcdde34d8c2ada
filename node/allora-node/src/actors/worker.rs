//! The worker actor for one topic: register (idempotently), then for every open worker
//! nonce — woken by window events, polling every `loopSeconds` only when the stream is unhealthy
//! or a nonce is unsettled ([`super::trigger`]) — ask
//! the inference adapter (and the forecast adapter, if configured) with a deadline inside
//! the window, build and sign the bundle, and hand it to the tx actor. A nonce is settled
//! (written to the ledger, which survives restarts) only when its payload was included, the
//! chain already has it, or its window closed. A failure or a shutdown leaves it open: it is
//! retried on a later trigger, with backoff ([`Pending`]), while its window is open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::timed;
use super::pending::Pending;
use super::ports::{AdapterPort, Call, OpenWindow, Role};
use super::registration::{Registered, ensure_registered};
use super::trigger::Trigger;
use super::wakeup::Wakeups;
use super::{ActorEnv, WindowSignal};

const ROLE: &str = "worker";

/// A configured worker for one topic (cloned by the supervisor for each restart).
#[derive(Clone)]
pub struct WorkerActor {
    pub env: ActorEnv,
    pub topic_id: u64,
    pub interval: Duration,
    pub inference: Arc<dyn AdapterPort>,
    pub inference_params: std::collections::BTreeMap<String, String>,
    pub forecast: Option<Arc<dyn AdapterPort>>,
    pub forecast_params: std::collections::BTreeMap<String, String>,
}

/// How one nonce ended (also the `outcome` metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Included,
    AlreadySubmitted,
    SkippedClosed,
    DryRun,
    Failed,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Included => "included",
            Outcome::AlreadySubmitted => "already_submitted",
            Outcome::SkippedClosed => "skipped_closed",
            Outcome::DryRun => "dry_run",
            Outcome::Failed => "failed",
        }
    }
}

impl WorkerActor {
    /// Runs until shutdown.
    pub async fn run(self, wake: Wakeups) {
        let topic_id = self.topic_id;
        tracing::info!(topic_id, role = ROLE, address = %self.env.address(), "worker actor started");
        if ensure_registered(&self.env, topic_id, Role::Worker, self.interval).await
            == Registered::Stopped
        {
            return;
        }
        let mut trigger = Trigger::new(&self.env, self.interval);
        let mut pending = Pending::new();
        // An unsettled nonce keeps the actor polling every `loopSeconds` for its retries.
        while let Some(sigs) = trigger.next(&self.env, &wake, !pending.is_empty()).await {
            for sig in &sigs {
                pending.seen(sig.nonce, Instant::now());
            }
            self.poll(&sigs, &mut pending).await;
        }
        tracing::info!(topic_id, role = ROLE, "worker actor stopped");
    }

    /// One look at the chain: handle every open, unsettled nonce that is not backing off
    /// (oldest first). Unsettled nonces stay in `pending` for the next trigger.
    pub async fn poll(&self, sigs: &[WindowSignal], pending: &mut Pending) {
        let topic_id = self.topic_id;
        let Some((height, windows)) =
            super::open_windows(&self.env, Role::Worker, topic_id, sigs).await
        else {
            return;
        };
        tracing::debug!(topic_id, role = ROLE, height, open = ?windows, "polled worker windows");
        // Nonces no longer open are either settled or closed: forget them (bounds the map).
        pending.retain(|n| windows.iter().any(|w| w.nonce == n));
        for w in windows {
            if self.env.shutdown.is_cancelled() {
                return;
            }
            if self.env.ledger.contains(Role::Worker, topic_id, w.nonce) {
                continue;
            }
            let now = Instant::now();
            if !pending.due(w.nonce, now) {
                tracing::debug!(topic_id, role = ROLE, nonce = w.nonce, "nonce backing off");
                continue;
            }
            let seen = pending.seen(w.nonce, now);
            let outcome = self.handle_nonce(w, height, seen).await;
            let label = outcome.map_or(Outcome::Failed.label(), Outcome::label);
            self.env
                .metrics
                .submissions
                .with_label_values(&[&topic_id.to_string(), ROLE, label, self.env.address()])
                .inc();
            match outcome {
                Some(_) => {
                    self.env
                        .ledger
                        .settle_logged(Role::Worker, topic_id, w.nonce)
                        .await;
                    pending.retain(|n| n != w.nonce);
                }
                None if self.env.shutdown.is_cancelled() => {
                    tracing::info!(
                        topic_id,
                        role = ROLE,
                        nonce = w.nonce,
                        "shutdown; nonce left open for the next run"
                    );
                    return;
                }
                None => {
                    let wait = pending.failed(w.nonce, self.env.retry.retry_delay, Instant::now());
                    tracing::warn!(
                        topic_id,
                        role = ROLE,
                        nonce = w.nonce,
                        failures = pending.failures(w.nonce),
                        backoff_ms = wait.as_millis() as u64,
                        "nonce not settled; will retry on a later trigger while its window is open"
                    );
                }
            }
        }
    }

    /// Tries one nonce up to `maxRetries + 1` times. `Some` settles it; `None` (failure or
    /// shutdown) leaves it open.
    async fn handle_nonce(&self, w: OpenWindow, mut height: i64, seen: Instant) -> Option<Outcome> {
        let topic_id = self.topic_id;
        let nonce = w.nonce;
        let topic = topic_id.to_string();
        let address = self.env.address().to_string();
        let attempts = self.env.retry.max_retries + 1;
        for attempt in 1..=attempts {
            if attempt > 1 {
                if !self.env.sleep(self.env.retry.retry_delay).await {
                    return None;
                }
                if let Ok(h) = self.env.clock.height(self.env.chain.as_ref()).await {
                    height = h;
                }
            }
            let deadline = match self.env.clock.window_deadline(
                w.end_block,
                w.end_time,
                height,
                Instant::now(),
                std::time::SystemTime::now(),
            ) {
                Ok(d) => d,
                Err(_) => {
                    tracing::info!(
                        topic_id,
                        role = ROLE,
                        nonce,
                        height,
                        end_block = ?w.end_block,
                        end_time = ?w.end_time,
                        "window closed; skipping nonce"
                    );
                    return Some(Outcome::SkippedClosed);
                }
            };
            let call = Call {
                topic_id,
                nonce,
                params: self.inference_params.clone(),
                deadline,
            };
            self.env
                .metrics
                .worker_inference_requests
                .with_label_values(&[&address, &topic])
                .inc();
            let inference = match timed(
                &self.env,
                topic_id,
                "inference",
                &*self.inference,
                &call,
                |a, c| Box::pin(async move { a.infer(c).await }),
            )
            .await
            {
                Ok(v) => v,
                Err(err) => {
                    tracing::warn!(topic_id, role = ROLE, nonce, attempt, adapter = %self.inference.name(), error = %err, "inference failed");
                    if self.env.shutdown.is_cancelled() {
                        return None;
                    }
                    continue;
                }
            };
            if let Err(err) =
                super::values::check_labeled(self.inference.name(), topic_id, &inference)
            {
                tracing::warn!(topic_id, role = ROLE, nonce, attempt, adapter = %self.inference.name(), label = %err.label, value = %err.value, error = %err, "inference value out of the chain's bounds; not signing");
                continue;
            }
            let forecast = self.forecast(nonce, deadline).await;
            let out = match self.env.signer.worker_payload(
                topic_id,
                nonce,
                Some(inference),
                forecast,
            ) {
                Ok(o) => o,
                Err(err) => {
                    tracing::warn!(topic_id, role = ROLE, nonce, attempt, error = %err, "cannot build worker payload");
                    continue;
                }
            };
            self.env
                .metrics
                .worker_data_builds
                .with_label_values(&[&address, &topic])
                .inc();
            match super::submit_payload(&self.env, Role::Worker, topic_id, w, out, seen).await {
                Ok(outcome) => return Some(outcome),
                Err(e) => {
                    tracing::warn!(topic_id, role = ROLE, nonce, attempt, error = %e, "worker payload tx failed");
                }
            }
        }
        tracing::warn!(
            topic_id,
            role = ROLE,
            nonce,
            attempts,
            "attempts exhausted; nonce stays open"
        );
        None
    }

    /// The optional forecast; a failing forecast never blocks the inference.
    async fn forecast(
        &self,
        nonce: i64,
        deadline: Option<Instant>,
    ) -> Option<Vec<(String, String)>> {
        let adapter = self.forecast.as_ref()?;
        let topic_id = self.topic_id;
        let inferers = match self.env.chain.active_inferers(topic_id).await {
            Ok(list) => list
                .into_iter()
                .filter(|a| a != self.env.address())
                .collect::<Vec<_>>(),
            Err(err) => {
                tracing::warn!(topic_id, role = ROLE, nonce, error = %err, "cannot list inferers for forecast");
                return None;
            }
        };
        if inferers.is_empty() {
            tracing::debug!(
                topic_id,
                role = ROLE,
                nonce,
                "no other inferers to forecast yet"
            );
            return None;
        }
        self.env
            .metrics
            .worker_forecast_requests
            .with_label_values(&[self.env.address(), &topic_id.to_string()])
            .inc();
        let call = Call {
            topic_id,
            nonce,
            params: self.forecast_params.clone(),
            deadline,
        };
        let inferers = Arc::new(inferers);
        let list = inferers.clone();
        match timed(
            &self.env,
            topic_id,
            "forecast",
            &**adapter,
            &call,
            move |a, c| {
                let list = list.clone();
                Box::pin(async move { a.forecast(c, &list).await })
            },
        )
        .await
        {
            Ok(v) if !v.is_empty() => {
                match super::values::check_labeled(adapter.name(), topic_id, &v) {
                    Ok(()) => Some(v),
                    Err(err) => {
                        tracing::warn!(topic_id, role = ROLE, nonce, adapter = %adapter.name(), label = %err.label, value = %err.value, error = %err, "forecast value out of the chain's bounds; submitting inference only");
                        None
                    }
                }
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(topic_id, role = ROLE, nonce, adapter = %adapter.name(), error = %err, "forecast failed; submitting inference only");
                None
            }
        }
    }
}
