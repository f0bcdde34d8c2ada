//! Per-topic actors: one worker actor and/or one reputer actor per configured topic, each an
//! independent tokio task, so a slow adapter, a failing endpoint or a rejected tx only ever
//! affects its own topic and role. The supervisor spawns them, restarts any that die, fans
//! window events out to them and bounds shutdown. Policy lives here; mechanism is behind
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
pub mod values;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::RetryPolicy;
use crate::metrics::Metrics;
use clock::WindowClock;
use ledger::Ledger;
use ports::{ChainPort, Role, SignPort, TxPort};

/// A window opened (from chain events), fanned out by the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSignal {
    pub role: Role,
    pub topic_id: u64,
    pub nonce: i64,
    pub end_block: Option<i64>,
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

/// Waits for the next reason to look at the chain: a matching window event, or the polling
/// tick. Returns `None` on shutdown, else the event (if any) that woke us.
pub(crate) async fn next_trigger(
    env: &ActorEnv,
    role: Role,
    topic_id: u64,
    events: &mut broadcast::Receiver<WindowSignal>,
    tick: &mut tokio::time::Interval,
) -> Option<Option<WindowSignal>> {
    loop {
        tokio::select! {
            _ = env.shutdown.cancelled() => return None,
            _ = tick.tick() => return Some(None),
            ev = events.recv() => match ev {
                Ok(sig) if sig.role == role && sig.topic_id == topic_id => return Some(Some(sig)),
                Ok(_) => continue,
                // Missed events are harmless: the poll will find the window.
                Err(broadcast::error::RecvError::Lagged(_)) => return Some(None),
                // No event source (polling only): keep ticking.
                Err(broadcast::error::RecvError::Closed) => {
                    tokio::select! {
                        _ = env.shutdown.cancelled() => return None,
                        _ = tick.tick() => return Some(None),
                    }
                }
            }
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

/// One look at the chain for `role` on `topic_id`: reads the height (feeding the window clock)
/// and the open windows, adds the window an event announced if the query does not show it
/// yet, and sorts oldest first. `None` (logged) when the chain could not be read.
pub(crate) async fn open_windows(
    env: &ActorEnv,
    role: Role,
    topic_id: u64,
    sig: Option<WindowSignal>,
) -> Option<(i64, Vec<ports::OpenWindow>)> {
    let role_name = role.as_str();
    let height = match env.chain.latest_height().await {
        Ok(h) => h,
        Err(err) => {
            tracing::warn!(topic_id, role = role_name, error = %err, "cannot read chain height");
            return None;
        }
    };
    env.clock.observe(height, std::time::Instant::now());
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
    if let Some(sig) = sig
        && !windows.iter().any(|w| w.nonce == sig.nonce)
    {
        windows.push(ports::OpenWindow {
            nonce: sig.nonce,
            end_block: sig.end_block,
            end_time: None,
        });
    }
    windows.sort();
    Some((height, windows))
}

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;
