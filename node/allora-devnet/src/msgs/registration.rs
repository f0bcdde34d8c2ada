//! Register and AddStake: fees, registrations and self stake (reference §C.4, last rows).

use allora_protocol::proto::emissions::v10;

use super::{MsgOutcome, check_bech32, pay, response};
use crate::abci::{self, AbciError};
use crate::state::State;

pub(super) fn register(
    state: &mut State,
    m: &v10::RegisterRequest,
) -> Result<MsgOutcome, AbciError> {
    check_bech32("sender", &m.sender)?;
    check_bech32("owner", &m.owner)?;
    let fee = state.params.registration_fee;
    let topic = state.topics.get(&m.topic_id).ok_or_else(|| {
        abci::TOPIC_DOES_NOT_EXIST.wrap(format!("topic {} does not exist", m.topic_id))
    })?;
    let already = if m.is_reputer {
        topic.reputers.contains(&m.sender)
    } else {
        topic.workers.contains(&m.sender)
    };
    if already {
        return Err(abci::ALREADY_REGISTERED.wrap(format!(
            "{} already registered as a {} in topic {}",
            m.sender,
            if m.is_reputer { "reputer" } else { "worker" },
            m.topic_id
        )));
    }
    pay(state, &m.sender, fee)?;
    state.fee_collector += fee;
    let topic = state
        .topics
        .get_mut(&m.topic_id)
        .ok_or_else(|| abci::TOPIC_DOES_NOT_EXIST.err())?;
    if m.is_reputer {
        topic.reputers.insert(m.sender.clone());
    } else {
        topic.workers.insert(m.sender.clone());
    }
    Ok(MsgOutcome {
        response: response(
            &super::response_url(state, "RegisterResponse"),
            &v10::RegisterResponse {
                success: true,
                message: "Node successfully registered".into(),
            },
        ),
        events: Vec::new(),
    })
}

pub(super) fn add_stake(
    state: &mut State,
    m: &v10::AddStakeRequest,
) -> Result<MsgOutcome, AbciError> {
    check_bech32("sender", &m.sender)?;
    let amount: u128 = m
        .amount
        .parse()
        .map_err(|_| abci::INVALID_REQUEST.wrap(format!("invalid stake amount {:?}", m.amount)))?;
    if amount == 0 {
        return Err(abci::INVALID_REQUEST.wrap("amount must be greater than zero"));
    }
    let topic = state.topics.get(&m.topic_id).ok_or_else(|| {
        abci::TOPIC_DOES_NOT_EXIST.wrap(format!("topic {} does not exist", m.topic_id))
    })?;
    if !topic.reputers.contains(&m.sender) {
        return Err(abci::NOT_REGISTERED_IN_TOPIC.wrap(format!(
            "{} is not a reputer in topic {}",
            m.sender, m.topic_id
        )));
    }
    pay(state, &m.sender, amount)?;
    let topic = state
        .topics
        .get_mut(&m.topic_id)
        .ok_or_else(|| abci::TOPIC_DOES_NOT_EXIST.err())?;
    *topic.stake.entry(m.sender.clone()).or_insert(0) += amount;
    Ok(MsgOutcome {
        response: response(
            &super::response_url(state, "AddStakeResponse"),
            &v10::AddStakeResponse {},
        ),
        events: Vec::new(),
    })
}
