//! InsertWorkerPayload: the chain's stateless bundle checks (`WorkerDataBundle.Validate`,
//! including the signature over its own re-marshalling), then nonce, window, registration,
//! whitelist, fee and one-payload-per-nonce (reference §C.4).

use allora_protocol::proto::emissions::v10;

use super::{MsgOutcome, check_bech32, check_dec, pay, pubkey_bytes, response, topic_of};
use crate::abci::{self, AbciError};
use crate::state::State;

/// Stateless checks of a worker bundle (chain `WorkerDataBundle.Validate`), then signature.
fn validate_worker_bundle(b: &v10::InputWorkerDataBundle) -> Result<(), AbciError> {
    let inv = |s: &str| abci::INVALID_REQUEST.wrap(s.to_string());
    if b.worker.is_empty() {
        return Err(inv("worker cannot be empty"));
    }
    if b.nonce.is_none() {
        return Err(inv("nonce cannot be nil"));
    }
    if b.pubkey.is_empty() {
        return Err(inv("pubkey cannot be empty"));
    }
    if b.inferences_forecasts_bundle_signature.is_empty() {
        return Err(inv("signature cannot be empty"));
    }
    let Some(inner) = &b.inference_forecasts_bundle else {
        return Err(inv("inference forecasts bundle cannot be nil"));
    };
    if inner.inference.is_none() && inner.forecast.is_none() {
        return Err(inv("inference and forecast cannot both be nil"));
    }
    let pk = pubkey_bytes(&b.pubkey)?;
    let signer = crate::crypto::address_from_pubkey(&pk);
    if let Some(inf) = &inner.inference {
        if inf.topic_id == 0 {
            return Err(inv("invalid inference: topic id cannot be 0"));
        }
        check_bech32("inferer", &inf.inferer)?;
        if inf.block_height < 0 {
            return Err(inv("invalid inference: block height cannot be negative"));
        }
        check_dec("inference", &inf.value)?;
        for lv in &inf.values {
            if lv.label.is_empty() {
                return Err(inv("invalid inference: label cannot be empty"));
            }
            check_dec("inference", &lv.value)?;
        }
        if inf.inferer != signer {
            return Err(abci::UNAUTHORIZED.wrap("inference.Inferer does not match pubkey"));
        }
    }
    if let Some(f) = &inner.forecast {
        if f.topic_id == 0 {
            return Err(inv("invalid forecast: topic id cannot be 0"));
        }
        if f.block_height < 0 {
            return Err(inv("invalid forecast: block height cannot be negative"));
        }
        check_bech32("forecaster", &f.forecaster)?;
        if f.forecast_elements.is_empty() {
            return Err(abci::NO_VALID_FORECAST_ELEMENTS.wrap("forecast has no elements"));
        }
        for e in &f.forecast_elements {
            check_bech32("forecast element inferer", &e.inferer)?;
            check_dec("forecast element", &e.value)?;
        }
        if f.forecaster != signer {
            return Err(abci::UNAUTHORIZED.wrap("forecast.Forecaster does not match pubkey"));
        }
    }
    if b.worker != signer {
        return Err(abci::UNAUTHORIZED.wrap("worker does not match pubkey"));
    }
    crate::bundles::verify_worker(b)
        .map_err(|_| abci::UNAUTHORIZED.wrap("signature verification failed"))?;
    Ok(())
}

pub(super) fn insert_worker_payload(
    state: &mut State,
    m: &v10::InsertWorkerPayloadRequest,
    height: i64,
) -> Result<MsgOutcome, AbciError> {
    check_bech32("sender", &m.sender)?;
    let b = m
        .worker_data_bundle
        .as_ref()
        .ok_or_else(|| abci::INVALID_REQUEST.wrap("worker data bundle cannot be nil"))?;
    validate_worker_bundle(b)?;
    let nonce = b.nonce.as_ref().map(|n| n.block_height).unwrap_or_default();
    let topic = topic_of(state, b.topic_id)?;
    if let Some(inner) = &b.inference_forecasts_bundle {
        let ids = inner
            .inference
            .iter()
            .map(|i| i.topic_id)
            .chain(inner.forecast.iter().map(|f| f.topic_id));
        for id in ids {
            if id != b.topic_id {
                return Err(abci::INVALID_TOPIC_ID.wrap(format!(
                    "payload topic {id} does not match bundle topic {}",
                    b.topic_id
                )));
            }
        }
        if let Some(inf) = &inner.inference
            && !topic.topic.label_whitelist.is_empty()
        {
            for lv in &inf.values {
                if !topic.topic.label_whitelist.contains(&lv.label) {
                    return Err(abci::INVALID_VALUE.wrap(format!(
                        "label {:?} is not in the topic's label whitelist",
                        lv.label
                    )));
                }
            }
        }
    }
    if !topic.worker_nonces.contains(&nonce) {
        return Err(abci::UNFULFILLED_NONCE_NOT_FOUND.wrap(format!(
            "worker nonce {nonce} is not unfulfilled in topic {}",
            b.topic_id
        )));
    }
    if topic.wall_clock.is_some() {
        let now = crate::wallclock::secs(state.block_time_nanos);
        if !topic.worker_window_accepts(nonce, now) {
            let e = topic.epoch_times(nonce);
            return Err(abci::WORKER_WINDOW_NOT_AVAILABLE.wrap(format!(
                "Worker window not open for topic: {}, block time {now}, nonce block height: {nonce}, window {:?}",
                b.topic_id,
                e.map(|e| (e.start, e.worker_end))
            )));
        }
    }
    let end = topic.worker_window_end(nonce);
    if topic.wall_clock.is_none() && (height < nonce || height > end) {
        return Err(abci::WORKER_WINDOW_NOT_AVAILABLE.wrap(format!(
            "Worker window not open for topic: {}, current block {height} , nonce block height: {nonce} , start window: {nonce}, end window: {end}",
            b.topic_id
        )));
    }
    if !topic.workers.contains(&b.worker) {
        return Err(abci::ADDRESS_NOT_REGISTERED.wrap(format!(
            "worker {} is not registered in topic {}",
            b.worker, b.topic_id
        )));
    }
    if !topic.can_submit_worker(&b.worker) {
        return Err(abci::NOT_PERMITTED_WORKER.wrap(format!(
            "worker {} is not whitelisted in topic {}",
            b.worker, b.topic_id
        )));
    }
    let already = topic
        .worker_payloads
        .get(&nonce)
        .is_some_and(|p| p.contains_key(&b.worker));
    let fee = state.params.data_sending_fee;
    pay(state, &m.sender, fee)?;
    if already {
        return Err(abci::CANT_UPDATE_EMA_TWICE.wrap("inference already submitted"));
    }
    let topic = state
        .topics
        .get_mut(&b.topic_id)
        .ok_or_else(|| abci::INVALID_TOPIC_ID.err())?;
    topic.revenue += fee;
    topic
        .worker_payloads
        .entry(nonce)
        .or_default()
        .insert(b.worker.clone(), b.clone());
    Ok(MsgOutcome {
        response: response(
            &super::response_url(state, "InsertWorkerPayloadResponse"),
            &v10::InsertWorkerPayloadResponse {},
        ),
        events: Vec::new(),
    })
}
