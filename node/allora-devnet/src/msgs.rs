//! The four emissions messages a node sends — Register, AddStake, InsertWorkerPayload,
//! InsertReputerPayload — with the chain's validations in the chain's order (reference §C.4)
//! and its error codes. Bundle signatures are checked with `allora_protocol::verify_*`,
//! i.e. over the canonical re-encoding, exactly like the chain.

use prost::Message;

use allora_protocol as protocol;
use allora_protocol::proto::emissions::{v9, v10};

use super::abci::{self, AbciError};
use super::state::{DENOM, State, TopicState, is_allo_address};

/// A decoded emissions message.
#[derive(Debug, Clone)]
pub enum Msg {
    Register(v10::RegisterRequest),
    AddStake(v10::AddStakeRequest),
    InsertWorkerPayload(v10::InsertWorkerPayloadRequest),
    InsertReputerPayload(v10::InsertReputerPayloadRequest),
}

/// What a message produced: its response (for TxMsgData) and any events.
pub struct MsgOutcome {
    pub response: (String, Vec<u8>),
    pub events: Vec<super::events::Event>,
}

impl Msg {
    /// Resolves an Any; unknown type URLs fail like the SDK's interface registry.
    pub fn decode(type_url: &str, value: &[u8]) -> Result<Msg, AbciError> {
        let bad = |e: prost::DecodeError| abci::TX_DECODE.wrap(e);
        Ok(match type_url {
            protocol::MSG_TYPE_URL_REGISTER => {
                Msg::Register(v10::RegisterRequest::decode(value).map_err(bad)?)
            }
            protocol::MSG_TYPE_URL_ADD_STAKE => {
                Msg::AddStake(v10::AddStakeRequest::decode(value).map_err(bad)?)
            }
            protocol::MSG_TYPE_URL_INSERT_WORKER_PAYLOAD => Msg::InsertWorkerPayload(
                v10::InsertWorkerPayloadRequest::decode(value).map_err(bad)?,
            ),
            protocol::MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD => Msg::InsertReputerPayload(
                v10::InsertReputerPayloadRequest::decode(value).map_err(bad)?,
            ),
            other => {
                return Err(abci::TX_DECODE.wrap(format!("unable to resolve type URL {other}")));
            }
        })
    }

    pub fn sender(&self) -> &str {
        match self {
            Msg::Register(m) => &m.sender,
            Msg::AddStake(m) => &m.sender,
            Msg::InsertWorkerPayload(m) => &m.sender,
            Msg::InsertReputerPayload(m) => &m.sender,
        }
    }

    /// Fixed gas cost per message type (the deterministic gas model).
    pub fn gas(&self) -> u64 {
        match self {
            Msg::Register(_) => 30_000,
            Msg::AddStake(_) => 30_000,
            Msg::InsertWorkerPayload(_) => 50_000,
            Msg::InsertReputerPayload(_) => 60_000,
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Msg::Register(m) => m.encoded_len(),
            Msg::AddStake(m) => m.encoded_len(),
            Msg::InsertWorkerPayload(m) => m.encoded_len(),
            Msg::InsertReputerPayload(m) => m.encoded_len(),
        }
    }

    /// Executes the message at block `height`.
    pub fn execute(&self, state: &mut State, height: i64) -> Result<MsgOutcome, AbciError> {
        let max = state.params.max_serialized_msg_length;
        if max > 0 && self.encoded_len() as i64 > max {
            return Err(abci::QUERY_TOO_LARGE
                .wrap(format!("message size {} exceeds {max}", self.encoded_len())));
        }
        match self {
            Msg::Register(m) => register(state, m),
            Msg::AddStake(m) => add_stake(state, m),
            Msg::InsertWorkerPayload(m) => insert_worker_payload(state, m, height),
            Msg::InsertReputerPayload(m) => insert_reputer_payload(state, m, height),
        }
    }
}

fn check_bech32(field: &str, addr: &str) -> Result<(), AbciError> {
    if is_allo_address(addr) {
        Ok(())
    } else {
        Err(abci::INVALID_ADDRESS.wrap(format!("invalid {field} address ({addr:?})")))
    }
}

fn check_dec(field: &str, v: &str) -> Result<(), AbciError> {
    allora_protocol::decimal::canonicalize(v)
        .map(|_| ())
        .map_err(|e| abci::INVALID_REQUEST.wrap(format!("invalid {field} value {v:?}: {e}")))
}

/// Moves `amount` uallo from `addr` (bank SendCoins semantics).
fn pay(state: &mut State, addr: &str, amount: u128) -> Result<(), AbciError> {
    let Some(acc) = state.accounts.get_mut(addr) else {
        return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
            "spendable balance 0{DENOM} is smaller than {amount}{DENOM}"
        )));
    };
    if acc.balance < amount {
        return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
            "spendable balance {}{DENOM} is smaller than {amount}{DENOM}",
            acc.balance
        )));
    }
    acc.balance -= amount;
    Ok(())
}

fn response<M: Message>(type_url: &str, m: &M) -> (String, Vec<u8>) {
    (type_url.to_string(), m.encode_to_vec())
}

fn register(state: &mut State, m: &v10::RegisterRequest) -> Result<MsgOutcome, AbciError> {
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
            "/emissions.v10.RegisterResponse",
            &v10::RegisterResponse {
                success: true,
                message: "Node successfully registered".into(),
            },
        ),
        events: Vec::new(),
    })
}

fn add_stake(state: &mut State, m: &v10::AddStakeRequest) -> Result<MsgOutcome, AbciError> {
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
        response: response("/emissions.v10.AddStakeResponse", &v10::AddStakeResponse {}),
        events: Vec::new(),
    })
}

fn pubkey_bytes(hex_key: &str) -> Result<Vec<u8>, AbciError> {
    match hex::decode(hex_key) {
        Ok(b) if b.len() == 33 => Ok(b),
        _ => Err(abci::INVALID_REQUEST.wrap("invalid pubkey")),
    }
}

fn topic_of(state: &State, id: u64) -> Result<&TopicState, AbciError> {
    state
        .topics
        .get(&id)
        .ok_or_else(|| abci::INVALID_TOPIC_ID.wrap(format!("topic {id} not found")))
}

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
    protocol::verify_worker_bundle(b)
        .map_err(|_| abci::UNAUTHORIZED.wrap("signature verification failed"))?;
    Ok(())
}

fn insert_worker_payload(
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
    let end = topic.worker_window_end(nonce);
    if height < nonce || height > end {
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
        return Err(abci::NOT_PERMITTED.wrap(format!(
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
            "/emissions.v10.InsertWorkerPayloadResponse",
            &v10::InsertWorkerPayloadResponse {},
        ),
        events: Vec::new(),
    })
}

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

fn insert_reputer_payload(
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
    protocol::verify_reputer_bundle(rb)
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
    let (start, end) = topic.reputer_window(nonce);
    if height < start || height > end {
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
        return Err(abci::NOT_PERMITTED.wrap(format!(
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
            "/emissions.v10.InsertReputerPayloadResponse",
            &v10::InsertReputerPayloadResponse {},
        ),
        events: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::{Genesis, TEST_MNEMONICS};
    use allora_protocol::proto::emissions::v3;
    use k256::ecdsa::signature::Signer;

    struct Key {
        sk: k256::ecdsa::SigningKey,
        addr: String,
        pubkey_hex: String,
    }

    fn key(seed: u8) -> Key {
        let sk = k256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).expect("key");
        let pk = sk.verifying_key().to_encoded_point(true);
        Key {
            addr: crate::crypto::address_from_pubkey(pk.as_bytes()),
            pubkey_hex: hex::encode(pk.as_bytes()),
            sk,
        }
    }

    fn sign(k: &Key, bytes: &[u8]) -> Vec<u8> {
        let s: k256::ecdsa::Signature = k.sk.sign(bytes);
        s.normalize_s().unwrap_or(s).to_bytes().to_vec()
    }

    /// State at height 10 with worker nonce 10 open for topic 1, `k` registered as worker.
    fn state_with_open_nonce(k: &Key) -> State {
        let mut g = Genesis::default_devnet();
        g.accounts.truncate(1);
        g.accounts[0].mnemonic = Some(TEST_MNEMONICS[0].to_string());
        let mut s = State::from_genesis("t", &g).expect("state");
        s.accounts.insert(
            k.addr.clone(),
            crate::state::Account {
                address: k.addr.clone(),
                account_number: 9,
                sequence: 0,
                pubkey: None,
                balance: 1_000_000,
            },
        );
        let t = s.topics.get_mut(&1).expect("topic");
        t.workers.insert(k.addr.clone());
        t.worker_nonces.push(10);
        s.height = 10;
        s
    }

    fn bundle(
        k: &Key,
        values: &[(&str, &str)],
        forecaster: Option<&str>,
    ) -> v10::InputWorkerDataBundle {
        let inner = v10::InputInferenceForecastBundle {
            inference: Some(v10::InputInference {
                topic_id: 1,
                block_height: 10,
                inferer: k.addr.clone(),
                value: "0".into(),
                values: values
                    .iter()
                    .map(|(l, v)| v10::InputLabeledValue {
                        label: (*l).into(),
                        value: (*v).into(),
                    })
                    .collect(),
                ..Default::default()
            }),
            forecast: forecaster.map(|f| v10::InputForecast {
                topic_id: 1,
                block_height: 10,
                forecaster: f.to_string(),
                forecast_elements: vec![v10::InputForecastElement {
                    inferer: k.addr.clone(),
                    value: "1".into(),
                }],
                extra_data: Vec::new(),
            }),
        };
        v10::InputWorkerDataBundle {
            worker: k.addr.clone(),
            nonce: Some(v3::Nonce { block_height: 10 }),
            topic_id: 1,
            inferences_forecasts_bundle_signature: sign(k, &inner.encode_to_vec()),
            inference_forecasts_bundle: Some(inner),
            pubkey: k.pubkey_hex.clone(),
        }
    }

    fn run(s: &mut State, k: &Key, b: v10::InputWorkerDataBundle) -> Result<MsgOutcome, AbciError> {
        Msg::InsertWorkerPayload(v10::InsertWorkerPayloadRequest {
            sender: k.addr.clone(),
            worker_data_bundle: Some(b),
        })
        .execute(s, 11)
    }

    fn code(r: Result<MsgOutcome, AbciError>) -> (&'static str, u32) {
        match r {
            Ok(_) => ("", 0),
            Err(e) => (e.codespace, e.code),
        }
    }

    #[test]
    fn valid_payload_pays_the_data_sending_fee() {
        let k = key(7);
        let mut s = state_with_open_nonce(&k);
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "1.5")], None))),
            ("", 0)
        );
        assert_eq!(s.balance(&k.addr), 1_000_000 - 10);
        assert_eq!(s.topics[&1].worker_payloads[&10].len(), 1);
    }

    #[test]
    fn field_formats_and_bindings_are_checked() {
        let k = key(7);
        let other = key(8);
        let mut s = state_with_open_nonce(&k);
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "NaN")], None))),
            ("sdk", 18)
        );
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "")], None))),
            ("sdk", 18)
        );
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("", "1")], None))),
            ("sdk", 18)
        );
        // forecaster must be the worker itself
        assert_eq!(
            code(run(
                &mut s,
                &k,
                bundle(&k, &[("y", "1")], Some(&other.addr))
            )),
            ("sdk", 4)
        );
        // a bundle signed by someone else
        let mut b = bundle(&k, &[("y", "1")], None);
        b.inferences_forecasts_bundle_signature = sign(&other, b"x");
        assert_eq!(code(run(&mut s, &k, b)), ("sdk", 4));
        let mut b = bundle(&k, &[("y", "1")], None);
        b.nonce = None;
        assert_eq!(code(run(&mut s, &k, b)), ("sdk", 18));
        let mut b = bundle(&k, &[("y", "1")], None);
        b.pubkey = "zz".into();
        assert_eq!(code(run(&mut s, &k, b)), ("sdk", 18));
        assert!(s.topics[&1].worker_payloads.is_empty());
    }

    #[test]
    fn whitelists_and_labels_are_enforced() {
        let k = key(7);
        let mut s = state_with_open_nonce(&k);
        s.topics.get_mut(&1).expect("topic").worker_whitelist = Some(Default::default());
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
            ("emissions", 82)
        );
        let t = s.topics.get_mut(&1).expect("topic");
        t.worker_whitelist = Some([k.addr.clone()].into_iter().collect());
        t.topic.label_whitelist = vec!["up".into(), "down".into()];
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
            ("emissions", 52)
        );
        assert_eq!(
            code(run(
                &mut s,
                &k,
                bundle(&k, &[("up", "0.7"), ("down", "0.3")], None)
            )),
            ("", 0)
        );
    }

    #[test]
    fn insufficient_balance_for_the_fee_is_code_5() {
        let k = key(7);
        let mut s = state_with_open_nonce(&k);
        s.accounts.get_mut(&k.addr).expect("acct").balance = 9;
        assert_eq!(
            code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
            ("sdk", 5)
        );
    }

    #[test]
    fn reputer_one_out_groups_must_not_be_empty() {
        let k = key(9);
        let vb = v9::InputValueBundle {
            topic_id: 1,
            reputer_request_nonce: Some(v3::ReputerRequestNonce {
                reputer_nonce: Some(v3::Nonce { block_height: 10 }),
            }),
            reputer: k.addr.clone(),
            combined_value: "1".into(),
            naive_value: "1".into(),
            one_out_inferer_forecaster_values: vec![v9::InputOneOutInfererForecasterValues {
                forecaster: k.addr.clone(),
                one_out_inferer_values: Vec::new(),
            }],
            ..Default::default()
        };
        let rb = v9::InputReputerValueBundle {
            signature: sign(&k, &vb.encode_to_vec()),
            value_bundle: Some(vb),
            pubkey: k.pubkey_hex.clone(),
        };
        let mut s = state_with_open_nonce(&k);
        let r = Msg::InsertReputerPayload(v10::InsertReputerPayloadRequest {
            sender: k.addr.clone(),
            reputer_value_bundle: Some(rb),
        })
        .execute(&mut s, 30);
        assert_eq!(code(r), ("sdk", 18));
    }
}
