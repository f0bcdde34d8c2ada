//! The worker actor for one topic: register (idempotently), then for every open worker
//! nonce — woken by window events, with polling every `loopSeconds` as the fallback — ask
//! the inference adapter (and the forecast adapter, if configured) with a deadline inside
//! the window, build and sign the bundle, and hand it to the tx actor. One submission per
//! nonce (the ledger survives restarts); nonces whose window closed are skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::call::timed;
use super::ports::{AdapterPort, Call, OpenWindow, Role};
use super::registration::{Registered, ensure_registered};
use super::{ActorEnv, WindowSignal, next_trigger};

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
    pub async fn run(self, mut events: broadcast::Receiver<WindowSignal>) {
        let topic_id = self.topic_id;
        tracing::info!(topic_id, role = ROLE, address = %self.env.address(), "worker actor started");
        if ensure_registered(&self.env, topic_id, Role::Worker, self.interval).await
            == Registered::Stopped
        {
            return;
        }
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first_seen: HashMap<i64, Instant> = HashMap::new();
        while let Some(sig) =
            next_trigger(&self.env, Role::Worker, topic_id, &mut events, &mut tick).await
        {
            if let Some(sig) = sig {
                first_seen.entry(sig.nonce).or_insert_with(Instant::now);
            }
            self.poll(sig, &mut first_seen).await;
            // Keep the map bounded: drop nonces that are settled.
            first_seen.retain(|n, _| !self.env.ledger.contains(Role::Worker, topic_id, *n));
        }
        tracing::info!(topic_id, role = ROLE, "worker actor stopped");
    }

    /// One look at the chain: handle every open, unsettled nonce (oldest first).
    pub async fn poll(&self, sig: Option<WindowSignal>, first_seen: &mut HashMap<i64, Instant>) {
        let topic_id = self.topic_id;
        let Some((height, windows)) =
            super::open_windows(&self.env, Role::Worker, topic_id, sig).await
        else {
            return;
        };
        tracing::debug!(topic_id, role = ROLE, height, open = ?windows, "polled worker windows");
        for w in windows {
            if self.env.shutdown.is_cancelled() {
                return;
            }
            if self.env.ledger.contains(Role::Worker, topic_id, w.nonce) {
                continue;
            }
            let seen = *first_seen.entry(w.nonce).or_insert_with(Instant::now);
            let outcome = self.handle_nonce(w, height, seen).await;
            self.env
                .metrics
                .submissions
                .with_label_values(&[&topic_id.to_string(), ROLE, outcome.label()])
                .inc();
            self.env.ledger.insert(Role::Worker, topic_id, w.nonce);
        }
    }

    async fn handle_nonce(&self, w: OpenWindow, mut height: i64, seen: Instant) -> Outcome {
        let topic_id = self.topic_id;
        let nonce = w.nonce;
        let topic = topic_id.to_string();
        let address = self.env.address().to_string();
        let attempts = self.env.retry.max_retries + 1;
        for attempt in 1..=attempts {
            if attempt > 1 {
                if !self.env.sleep(self.env.retry.retry_delay).await {
                    return Outcome::Failed;
                }
                if let Ok(h) = self.env.chain.latest_height().await {
                    height = h;
                    self.env.clock.observe(h, Instant::now());
                }
            }
            let deadline = match w.end_block {
                Some(end) => match self.env.clock.deadline(height, end, Instant::now()) {
                    Some(d) => Some(d),
                    None => {
                        tracing::info!(
                            topic_id,
                            role = ROLE,
                            nonce,
                            height,
                            end,
                            "window closed; skipping nonce"
                        );
                        return Outcome::SkippedClosed;
                    }
                },
                None => None,
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
                    continue;
                }
            };
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
                Ok(outcome) => return outcome,
                Err(e) => {
                    tracing::warn!(topic_id, role = ROLE, nonce, attempt, error = %e, "worker payload tx failed");
                }
            }
        }
        tracing::error!(
            topic_id,
            role = ROLE,
            nonce,
            attempts,
            "giving up on nonce after retries"
        );
        Outcome::Failed
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
            Ok(v) if !v.is_empty() => Some(v),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(topic_id, role = ROLE, nonce, adapter = %adapter.name(), error = %err, "forecast failed; submitting inference only");
                None
            }
        }
    }
}
