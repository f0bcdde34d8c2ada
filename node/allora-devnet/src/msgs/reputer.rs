//! InsertReputerPayload: pubkey binding, the value bundle's field checks and its signature
//! over the chain's re-marshalling, then worker/reputer nonce state, window, registration,
//! whitelist, stake authority, fee and one-payload-per-nonce (reference §C.4).

use allora_protocol::proto::emissions::{v9, v10};

use super::{MsgOutcome, check_bech32, check_dec, pay, pubkey_bytes, response, topic_of};
use crate::abci::{self, AbciError};
use crate::state::State;

fn validate_value_bundle(vb: &v9::InputValueBundle) -> Result<(), AbciError> {
    let inv = |s: &str| abci::INVALID_REQUEST.wrap(s.to_string());
    if vb.topic_id == 0 {
        return Err(inv("value bundle topic id cannot be 0"));
    }
    if vb
        .reputer_request_nonce
        .as_ref()
        .and_then(|n| n.reputer_nonce.as_ref())
        .is_none()
    {
        return Err(inv("value bundle's reputer nonce cannot be nil"));
    }
    check_bech32("reputer", &vb.reputer)?;
    check_dec("combined", &vb.combined_value)?;
    check_dec("naive", &vb.naive_value)?;
    let plain = vb
        .inferer_values
        .iter()
        .chain(&vb.forecaster_values)
        .chain(&vb.one_in_forecaster_values)
        .map(|v| (&v.worker, &v.value));
    let withheld = vb
        .one_out_inferer_values
        .iter()
        .chain(&vb.one_out_forecaster_values)
        .map(|v| (&v.worker, &v.value));
    for (w, v) in plain.chain(withheld) {
        check_bech32("worker", w)?;
        check_dec("worker", v)?;
    }
    for g in &vb.one_out_inferer_forecaster_values {
        check_bech32("forecaster", &g.forecaster)?;
        if g.one_out_inferer_values.is_empty() {
            return Err(inv("one out inferer forecaster values cannot be empty"));
        }
        for v in &g.one_out_inferer_values {
            check_bech32("worker", &v.worker)?;
            check_dec("one-out", &v.value)?;
        }
    }
    Ok(())
}

pub(super) fn insert_reputer_payload(
    state: &mut State,
    m: &v10::InsertReputerPayloadRequest,
    height: i64,
) -> Result<MsgOutcome, AbciError> {
    check_bech32("sender", &m.sender)?;
    let rb = m
        .reputer_value_bundle
        .as_ref()
        .ok_or_else(|| abci::INVALID_REQUEST.wrap("reputer value bundle cannot be nil"))?;
    let vb = rb
        .value_bundle
        .as_ref()
        .ok_or_else(|| abci::INVALID_REQUEST.wrap("value bundle cannot be nil"))?;
    let pk = pubkey_bytes(&rb.pubkey)?;
    if crate::crypto::address_from_pubkey(&pk) != vb.reputer {
        return Err(abci::UNAUTHORIZED.wrap("value bundle's reputer does not match pubkey"));
    }
    validate_value_bundle(vb)?;
    crate::bundles::verify_reputer(rb)
        .map_err(|_| abci::UNAUTHORIZED.wrap("signature verification failed"))?;
    let nonce = vb
        .reputer_request_nonce
        .as_ref()
        .and_then(|n| n.reputer_nonce.as_ref())
        .map(|n| n.block_height)
        .unwrap_or_default();
    let topic = topic_of(state, vb.topic_id)?;
    if topic.worker_nonces.contains(&nonce) {
        return Err(abci::NONCE_STILL_UNFULFILLED.wrap(format!(
            "worker nonce {nonce} of topic {} is still unfulfilled",
            vb.topic_id
        )));
    }
    if !topic.reputer_nonces.contains(&nonce) {
        return Err(abci::UNFULFILLED_NONCE_NOT_FOUND.wrap(format!(
            "reputer nonce {nonce} is not unfulfilled in topic {}",
            vb.topic_id
        )));
    }
    if topic.wall_clock.is_some() {
        let now = crate::wallclock::secs(state.block_time_nanos);
        if !topic.reputer_window_accepts(nonce, now) {
            let e = topic.epoch_times(nonce);
            return Err(abci::REPUTER_WINDOW_NOT_AVAILABLE.wrap(format!(
                "Reputer window not open for topic: {}, block time {now}, nonce block height: {nonce}, window {:?}",
                vb.topic_id,
                e.map(|e| (e.reputer_start, e.reputer_end))
            )));
        }
    }
    let (start, end) = topic.reputer_window(nonce);
    if topic.wall_clock.is_none() && (height < start || height > end) {
        return Err(abci::REPUTER_WINDOW_NOT_AVAILABLE.wrap(format!(
            "Reputer window not open for topic: {}, current block {height} , nonce block height: {nonce} , start window: {start}, end window: {end}",
            vb.topic_id
        )));
    }
    if !topic.reputers.contains(&vb.reputer) {
        return Err(abci::ADDRESS_NOT_REGISTERED.wrap(format!(
            "reputer {} is not registered in topic {}",
            vb.reputer, vb.topic_id
        )));
    }
    if !topic.can_submit_reputer(&vb.reputer) {
        return Err(abci::NOT_PERMITTED_REPUTER.wrap(format!(
            "reputer {} is not whitelisted in topic {}",
            vb.reputer, vb.topic_id
        )));
    }
    let authority = topic.stake_of(&vb.reputer);
    let min = state.params.required_minimum_stake;
    if authority < min {
        return Err(abci::INSUFFICIENT_STAKE.wrap(format!(
            "reputer {} stake authority {authority} is below the required minimum {min}",
            vb.reputer
        )));
    }
    let already = topic
        .reputer_payloads
        .get(&nonce)
        .is_some_and(|p| p.contains_key(&vb.reputer));
    let fee = state.params.data_sending_fee;
    pay(state, &m.sender, fee)?;
    if already {
        return Err(abci::CANT_UPDATE_EMA_TWICE.wrap("reputer loss already submitted"));
    }
    let topic = state
        .topics
        .get_mut(&vb.topic_id)
        .ok_or_else(|| abci::INVALID_TOPIC_ID.err())?;
    topic.revenue += fee;
    topic
        .reputer_payloads
        .entry(nonce)
        .or_default()
        .insert(vb.reputer.clone(), rb.clone());
    Ok(MsgOutcome {
        response: response(
            &super::response_url(state, "InsertReputerPayloadResponse"),
            &v10::InsertReputerPayloadResponse {},
        ),
        events: Vec::new(),
    })
}
