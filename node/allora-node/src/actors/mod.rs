//! Per-topic actors: one worker actor and/or one reputer actor per configured topic, each an
//! independent tokio task, so a slow adapter, a failing endpoint or a rejected tx only ever
//! affects its own topic and role. The supervisor spawns them, restarts any that die, routes
//! each window event to the one actor it concerns ([`wakeup`]), shares one current height
//! ([`clock`]), lets actors stop tick-polling while the event stream is healthy
//! ([`trigger`]) and bounds shutdown. Policy lives here; mechanism is behind
//! `ports`, implemented in [`crate::app`].

pub mod call;
pub mod clock;
pub mod intent;
pub mod ledger;
pub mod pending;
pub mod ports;
pub mod registration;
pub mod reputer;
pub mod scoring;
pub mod supervisor;
pub mod trigger;
pub mod values;
pub mod wakeup;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::RetryPolicy;
use crate::metrics::Metrics;
use clock::WindowClock;
use ledger::Ledger;
use ports::{ChainPort, Role, SignPort, TxPort};
use trigger::StreamHealth;

/// A window opened (from chain events), routed by the supervisor to its actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSignal {
    pub role: Role,
    pub topic_id: u64,
    pub nonce: i64,
    pub end_block: Option<i64>,
}

/// What the chain's event stream tells the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainSignal {
    /// A window opened: wakes the one actor of its role and topic.
    Window(WindowSignal),
    /// A block heartbeat at this height: feeds the shared height and the stream's health,
    /// wakes nobody.
    Block(i64),
    /// The websocket was replaced (deaf or lost): every actor polls once.
    Resubscribed,
}

/// What every actor shares: ports, metrics, ledger, clock, policy, shutdown.
#[derive(Clone)]
pub struct ActorEnv {
    pub chain: Arc<dyn ChainPort>,
    pub tx: Arc<dyn TxPort>,
    pub signer: Arc<dyn SignPort>,
    pub metrics: Metrics,
    pub ledger: Ledger,
    pub clock: WindowClock,
    /// Whether the event stream can be trusted to announce windows ([`trigger`]).
    pub stream: StreamHealth,
    /// `submitTx: false`: build, sign, validate and log; broadcast nothing.
    pub dry_run: bool,
    /// Attempts per nonce and the wait between them.
    pub retry: RetryPolicy,
    pub shutdown: CancellationToken,
}

impl ActorEnv {
    pub fn address(&self) -> &str {
        self.signer.address()
    }

    /// Sleeps unless shut down first; returns false on shutdown.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

/// Sends one signed payload for `role` (or only logs it in a dry run) and records the result:
/// the seed's chain-submission counter and window-open → inclusion latency on success, tx
/// errors by kind and code otherwise. `Ok` settles the nonce (included, already on chain,
/// or window closed — decided by the typed [`ports::TxErrorKind`]); `Err` is a failure worth
/// retrying.
pub(crate) async fn submit_payload(
    env: &ActorEnv,
    role: Role,
    topic_id: u64,
    w: ports::OpenWindow,
    out: ports::Outgoing,
    seen: std::time::Instant,
) -> Result<worker::Outcome, ports::TxFailure> {
    let (role_name, kind, msg_name, submissions) = match role {
        Role::Worker => (
            "worker",
            "worker_payload",
            "InsertWorkerPayload",
            &env.metrics.worker_chain_submissions,
        ),
        Role::Reputer => (
            "reputer",
            "reputer_payload",
            "InsertReputerPayload",
            &env.metrics.reputer_chain_submissions,
        ),
    };
    let nonce = w.nonce;
    if env.dry_run {
        tracing::info!(topic_id, role = role_name, nonce, payload = %out.describe, "dry run: would send {msg_name} (not broadcast)");
        return Ok(worker::Outcome::DryRun);
    }
    let meta = ports::SubmitMeta {
        topic_id,
        nonce: Some(nonce),
        kind,
        deadline_height: w.end_block,
    };
    match env.tx.submit(out, meta).await {
        Ok(inc) => {
            let topic = topic_id.to_string();
            submissions
                .with_label_values(&[env.address(), &topic])
                .inc();
            env.metrics
                .submission_latency_seconds
                .with_label_values(&[&topic, role_name, env.address()])
                .observe(seen.elapsed().as_secs_f64());
            tracing::info!(topic_id, role = role_name, nonce, tx_hash = %inc.tx_hash, height = inc.height, "{kind} included");
            Ok(worker::Outcome::Included)
        }
        Err(e) if e.kind == ports::TxErrorKind::AlreadySubmitted => {
            tracing::info!(topic_id, role = role_name, nonce, "{kind} already on chain");
            Ok(worker::Outcome::AlreadySubmitted)
        }
        Err(e) => {
            env.metrics.tx_error(env.address(), &e, kind);
            if e.kind == ports::TxErrorKind::WindowClosed {
                tracing::info!(topic_id, role = role_name, nonce, error = %e, "window closed before inclusion");
                return Ok(worker::Outcome::SkippedClosed);
            }
            Err(e)
        }
    }
}

/// One look at the chain for `role` on `topic_id`: takes the shared height (queried only
/// when stale, see [`clock`]) and reads the open windows, adds each window an event
/// announced that the query does not show yet, and sorts oldest first. `None` (logged)
/// when the chain could not be read.
pub(crate) async fn open_windows(
    env: &ActorEnv,
    role: Role,
    topic_id: u64,
    sigs: &[WindowSignal],
) -> Option<(i64, Vec<ports::OpenWindow>)> {
    let role_name = role.as_str();
    let height = match env.clock.height(env.chain.as_ref()).await {
        Ok(h) => h,
        Err(err) => {
            tracing::warn!(topic_id, role = role_name, error = %err, "cannot read chain height");
            return None;
        }
    };
    let open = match role {
        Role::Worker => env.chain.open_worker_windows(topic_id).await,
        Role::Reputer => env.chain.open_reputer_windows(topic_id).await,
    };
    let mut windows = match open {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(topic_id, role = role_name, error = %err, "cannot read open windows");
            return None;
        }
    };
    for sig in sigs {
        if !windows.iter().any(|w| w.nonce == sig.nonce) {
            windows.push(ports::OpenWindow {
                nonce: sig.nonce,
                end_block: sig.end_block,
                end_time: None,
            });
        }
    }
    windows.sort();
    Some((height, windows))
}

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;
