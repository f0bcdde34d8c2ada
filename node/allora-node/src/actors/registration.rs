//! Idempotent registration and reputer self-stake top-up. Registration costs the chain's
//! `registration_fee`, so the balance is checked first; when short, the actor waits in a
//! clearly logged "fund <address>" state and re-checks every loop instead of failing.
//! Stake is topped up to `minStake` exactly — never more than the difference.

use std::time::Duration;

use super::ActorEnv;
use super::ledger::Intent;
use super::ports::{Role, SubmitMeta};

/// Outcome of the registration step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Yes,
    /// Dry run: the register tx was built and logged, not sent.
    DryRun,
    /// Shut down while waiting.
    Stopped,
}

/// Ensures `address` is registered for `role` on `topic_id`, re-checking every `interval`
/// until it is (or shutdown).
pub async fn ensure_registered(
    env: &ActorEnv,
    topic_id: u64,
    role: Role,
    interval: Duration,
) -> Registered {
    let address = env.address().to_string();
    let r = role.as_str();
    let mut funding_logged = false;
    loop {
        match step(env, topic_id, role, &address, &mut funding_logged).await {
            Ok(Step::Done(done)) => return done,
            // Just registered: confirm on the chain right away, not a loop later, so the
            // first open window is not missed.
            Ok(Step::Recheck) => continue,
            Ok(Step::Wait) => {}
            Err(err) => tracing::warn!(
                topic_id, role = r, address = %address, error = %err,
                "registration check failed; retrying"
            ),
        }
        if !env.sleep(interval).await {
            return Registered::Stopped;
        }
    }
}

enum Step {
    Done(Registered),
    Recheck,
    Wait,
}

async fn step(
    env: &ActorEnv,
    topic_id: u64,
    role: Role,
    address: &str,
    funding_logged: &mut bool,
) -> Result<Step, String> {
    let r = role.as_str();
    if env
        .chain
        .is_registered(topic_id, address, role)
        .await
        .map_err(|e| e.to_string())?
    {
        tracing::info!(topic_id, role = r, address, "registered");
        return Ok(Step::Done(Registered::Yes));
    }
    let out = env.signer.register(topic_id, role);
    if env.dry_run {
        tracing::info!(
            topic_id, role = r, address, msg = %out.describe,
            "dry run: would send Register (not broadcast)"
        );
        return Ok(Step::Done(Registered::DryRun));
    }
    let params = env.chain.params().await.map_err(|e| e.to_string())?;
    let balance = env
        .chain
        .balance(address)
        .await
        .map_err(|e| e.to_string())?;
    env.metrics
        .wallet_balance
        .with_label_values(&[address])
        .set(balance as f64);
    if balance < params.registration_fee {
        if !*funding_logged {
            tracing::warn!(
                topic_id,
                role = r,
                address,
                balance,
                registration_fee = params.registration_fee,
                "fund {address}: balance {balance} uallo is below the registration fee {} uallo; waiting",
                params.registration_fee
            );
            *funding_logged = true;
        }
        return Ok(Step::Wait);
    }
    tracing::info!(topic_id, role = r, address, "registering");
    let meta = SubmitMeta {
        topic_id,
        nonce: None,
        kind: "register",
        deadline_height: None,
    };
    match env.tx.submit(out, meta).await {
        Ok(inc) => {
            tracing::info!(topic_id, role = r, tx_hash = %inc.tx_hash, height = inc.height, "registration included");
            Ok(Step::Recheck)
        }
        Err(e) => {
            env.metrics.tx_error(&e, "register");
            Err(format!("register tx failed: {e}"))
        }
    }
}

/// Blocks an AddStake tx may wait for inclusion: its `timeout_height` is at most this far
/// past the height when its intent was recorded, so after that it can never land.
pub const STAKE_TX_BLOCKS: i64 = 20;

/// Tops the reputer's self-stake up to `min_stake` (no-op when 0 or already enough).
/// AddStake is not idempotent, so it is an intent: recorded in the ledger with the tx's
/// deadline before broadcast; while an earlier intent's tx may still land, nothing more is
/// sent, so a retry, a confirmation timeout or a restart never stakes beyond `min_stake`.
/// Returns true when the stake is sufficient (or dry run), false when it could not be done.
pub async fn top_up_stake(env: &ActorEnv, topic_id: u64, min_stake: u128) -> bool {
    if min_stake == 0 {
        return true;
    }
    let address = env.address().to_string();
    let current = match env.chain.stake_in_self(topic_id, &address).await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(topic_id, role = "reputer", error = %err, "cannot read self stake");
            return false;
        }
    };
    let key = format!("add_stake/{topic_id}");
    if let Some(intent) = env.ledger.intent(&key) {
        // An earlier AddStake's fate is unknown (timeout, crash, restart). Its tx cannot be
        // included after its deadline (`timeout_height`): until then, send nothing more.
        if current < min_stake {
            match env.chain.latest_height().await {
                Ok(h) if h > intent.height => {
                    tracing::info!(
                        topic_id,
                        role = "reputer",
                        tx_deadline = intent.height,
                        height = h,
                        current,
                        "earlier AddStake expired without raising the stake; sending again"
                    );
                }
                Ok(h) => {
                    tracing::info!(
                        topic_id,
                        role = "reputer",
                        tx_deadline = intent.height,
                        height = h,
                        "earlier AddStake may still land; waiting before sending more"
                    );
                    return false;
                }
                Err(err) => {
                    tracing::warn!(topic_id, role = "reputer", error = %err, "cannot read height to resolve the AddStake intent");
                    return false;
                }
            }
        }
        if let Err(err) = env.ledger.clear_intent(&key).await {
            tracing::error!(topic_id, role = "reputer", error = %err, "cannot clear the AddStake intent");
            return false;
        }
    }
    if current >= min_stake {
        return true;
    }
    let amount = min_stake - current;
    let out = env.signer.add_stake(topic_id, amount);
    if env.dry_run {
        tracing::info!(
            topic_id, role = "reputer", address = %address, current, min_stake, amount, msg = %out.describe,
            "dry run: would send AddStake (not broadcast)"
        );
        return true;
    }
    tracing::info!(
        topic_id,
        role = "reputer",
        current,
        min_stake,
        amount,
        "adding stake"
    );
    // Record the intent, with the tx's hard deadline, before anything is broadcast.
    let deadline = match env.chain.latest_height().await {
        Ok(h) => h + STAKE_TX_BLOCKS,
        Err(err) => {
            tracing::warn!(topic_id, role = "reputer", error = %err, "cannot read height for the AddStake deadline");
            return false;
        }
    };
    let intent = Intent {
        kind: "add_stake".into(),
        amount,
        tx_hash: String::new(),
        height: deadline,
    };
    if let Err(err) = env.ledger.record_intent(&key, intent).await {
        tracing::error!(topic_id, role = "reputer", error = %err, "cannot record the AddStake intent; not sending");
        return false;
    }
    let meta = SubmitMeta {
        topic_id,
        nonce: None,
        kind: "add_stake",
        deadline_height: Some(deadline),
    };
    match env.tx.submit(out, meta).await {
        Ok(inc) => {
            tracing::info!(topic_id, role = "reputer", amount, tx_hash = %inc.tx_hash, "stake added");
            if let Err(err) = env.ledger.clear_intent(&key).await {
                tracing::warn!(topic_id, role = "reputer", error = %err, "cannot clear the AddStake intent; the next check re-reads the stake");
            }
            true
        }
        Err(e) => {
            env.metrics.tx_error(&e, "add_stake");
            tracing::warn!(topic_id, role = "reputer", amount, error = %e, "add stake failed");
            false
        }
    }
}
