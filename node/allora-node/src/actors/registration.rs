//! Idempotent registration and reputer self-stake top-up. Registration costs the chain's
//! `registration_fee`, so the balance is checked first; when short, the actor waits in a
//! clearly logged "fund <address>" state and re-checks every loop instead of failing.
//! Stake is topped up to `minStake` exactly — never more than the difference. Register and
//! AddStake are not idempotent, so both are sent as intents (`actors/intent.rs`): never
//! again while an earlier one may still land, and only after re-reading the chain.

use std::time::Duration;

use super::ActorEnv;
use super::intent::{self, Fate};
use super::ports::Role;

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
    let key = format!("register_{r}/{topic_id}");
    if env
        .chain
        .is_registered(topic_id, address, role)
        .await
        .map_err(|e| e.to_string())?
    {
        tracing::info!(topic_id, role = r, address, "registered");
        // An earlier register (ours, landed while we waited) is resolved by this.
        intent::clear_logged(env, &key).await;
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
    match intent::fate(env, &key).await.map_err(|e| e.to_string())? {
        Fate::Absent => {}
        Fate::MayLand { deadline, height } => {
            tracing::info!(
                topic_id,
                role = r,
                tx_deadline = deadline,
                height,
                "earlier register may still land; waiting before sending again"
            );
            return Ok(Step::Wait);
        }
        Fate::Landed { tx_hash, height } => {
            // Re-read the registration on the next check rather than right away, so a
            // query node one block behind cannot make us register twice.
            tracing::info!(topic_id, role = r, tx_hash = %tx_hash, height, "an earlier register landed");
            intent::clear_logged(env, &key).await;
            return Ok(Step::Wait);
        }
        Fate::Gone { deadline, height } => {
            tracing::info!(
                topic_id,
                role = r,
                tx_deadline = deadline,
                height,
                "earlier register expired without landing; registering again"
            );
            intent::clear_logged(env, &key).await;
        }
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
    match intent::send(env, &key, "register", 0, out, topic_id).await {
        Ok(inc) => {
            tracing::info!(topic_id, role = r, tx_hash = %inc.tx_hash, height = inc.height, "registration included");
            Ok(Step::Recheck)
        }
        Err(intent::IntentError::Tx(e)) => {
            env.metrics.tx_error(env.address(), &e, "register");
            Err(format!("register tx failed: {e}"))
        }
        Err(e) => Err(format!("register not sent: {e}")),
    }
}

/// Blocks an AddStake tx may wait for inclusion (its intent's deadline).
pub const STAKE_TX_BLOCKS: i64 = intent::TX_BLOCKS;

/// Tops the reputer's self-stake up to `min_stake` (no-op when 0 or already enough).
/// AddStake is not idempotent, so it is an intent (`actors/intent.rs`): while an earlier
/// AddStake may still land nothing more is sent, and after it resolves the stake is re-read
/// and only the difference is sent, so a retry, a confirmation timeout or a restart never
/// stakes beyond `min_stake`. Returns true when the stake is sufficient (or dry run), false
/// when it could not be done (yet).
pub async fn top_up_stake(env: &ActorEnv, topic_id: u64, min_stake: u128) -> bool {
    if min_stake == 0 {
        return true;
    }
    let address = env.address().to_string();
    let Some(mut current) = read_stake(env, topic_id, &address).await else {
        return false;
    };
    let key = format!("add_stake/{topic_id}");
    let fate = match intent::fate(env, &key).await {
        Ok(f) => f,
        Err(err) => {
            tracing::warn!(topic_id, role = "reputer", error = %err, "cannot resolve the AddStake intent");
            return false;
        }
    };
    match fate {
        Fate::Absent => {}
        Fate::MayLand { deadline, height } if current < min_stake => {
            tracing::info!(
                topic_id,
                role = "reputer",
                tx_deadline = deadline,
                height,
                current,
                "earlier AddStake may still land; waiting before sending more"
            );
            return false;
        }
        Fate::MayLand { .. } => intent::clear_logged(env, &key).await,
        Fate::Landed { tx_hash, height } => {
            intent::clear_logged(env, &key).await;
            let Some(now) = read_stake(env, topic_id, &address).await else {
                return false;
            };
            tracing::info!(topic_id, role = "reputer", tx_hash = %tx_hash, height, stake = now, "an earlier AddStake landed");
            // Below `min_stake` now means a lagging query node: re-read on the next check
            // instead of sending the difference a second time.
            return now >= min_stake;
        }
        Fate::Gone { deadline, height } => {
            tracing::info!(
                topic_id,
                role = "reputer",
                tx_deadline = deadline,
                height,
                "earlier AddStake expired without landing; re-reading the stake"
            );
            intent::clear_logged(env, &key).await;
            let Some(now) = read_stake(env, topic_id, &address).await else {
                return false;
            };
            current = now;
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
    match intent::send(env, &key, "add_stake", amount, out, topic_id).await {
        Ok(inc) => {
            tracing::info!(topic_id, role = "reputer", amount, tx_hash = %inc.tx_hash, "stake added");
            true
        }
        Err(intent::IntentError::Tx(e)) => {
            env.metrics.tx_error(env.address(), &e, "add_stake");
            tracing::warn!(topic_id, role = "reputer", amount, error = %e, "add stake failed");
            false
        }
        Err(e) => {
            tracing::warn!(topic_id, role = "reputer", amount, error = %e, "AddStake not sent");
            false
        }
    }
}

async fn read_stake(env: &ActorEnv, topic_id: u64, address: &str) -> Option<u128> {
    match env.chain.stake_in_self(topic_id, address).await {
        Ok(s) => Some(s),
        Err(err) => {
            tracing::warn!(topic_id, role = "reputer", error = %err, "cannot read self stake");
            None
        }
    }
}
