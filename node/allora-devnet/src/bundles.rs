//! Bundle signatures, checked the way the chain checks them (reference §C.1, §C.2): the
//! chain decodes the payload, re-marshals the signed part with gogoproto — its own bytes,
//! never the ones received — and verifies a secp256k1 signature over SHA-256 of them.
//!
//! - worker: the signed part is the `InputInferenceForecastBundle` only;
//! - reputer: the whole `InputValueBundle` (with `reputer_request_nonce` and `reputer`).
//!
//! The re-marshalling is written here by hand from the field tables of the reference (§A.3,
//! §A.4) and gogoproto's rules: fields in ascending number order, zero scalars and empty
//! strings/bytes omitted, present sub-messages always emitted (an empty one as `tag 00`),
//! and `Dec` fields always emitted in their canonical `Text('G')` spelling
//! ([`crate::canonical`]). It deliberately does not call `prost`'s encoder on the generated
//! types, nor the node's signing code: if the generated types or the node's encoder ever
//! disagreed with the reference (a field number, an omitted default, a decimal spelling),
//! the signature would stop verifying here and the tests would say so.

use allora_protocol::proto::emissions::{v3, v9, v10};

use crate::canonical::{self, DecError};

/// Why a bundle signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BundleError {
    #[error("pubkey is not the hex of a 33-byte compressed secp256k1 key")]
    Pubkey,
    #[error("{field}: {source}")]
    Decimal {
        field: &'static str,
        source: DecError,
    },
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("signature verification failed")]
    Signature,
}

/// Protobuf wire types used by these messages.
const VARINT: u8 = 0;
const LEN: u8 = 2;

/// A minimal protobuf writer with gogoproto's emission rules.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn u64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, VARINT);
            self.varint(v);
        }
    }

    /// int64 is the two's-complement varint (10 bytes when negative).
    fn i64(&mut self, field: u32, v: i64) {
        self.u64(field, v as u64);
    }

    fn len_delimited(&mut self, field: u32, payload: &[u8]) {
        self.tag(field, LEN);
        self.varint(payload.len() as u64);
        self.0.extend_from_slice(payload);
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        if !b.is_empty() {
            self.len_delimited(field, b);
        }
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    /// A non-nullable `Dec` customtype: always emitted, in the chain's spelling.
    fn dec(&mut self, field: u32, name: &'static str, value: &str) -> Result<(), BundleError> {
        let text = canonical::remarshal_field(value).map_err(|source| BundleError::Decimal {
            field: name,
            source,
        })?;
        self.len_delimited(field, text.as_bytes());
        Ok(())
    }

    /// A present sub-message, emitted even when its encoding is empty.
    fn message(&mut self, field: u32, inner: Writer) {
        self.len_delimited(field, &inner.0);
    }
}

/// `InputInference` (v10): topic_id=1, block_height=2, inferer=3, value=4 Dec,
/// extra_data=5, proof=6, values=7 `InputLabeledValue{label=1, value=2 Dec}`.
fn inference(i: &v10::InputInference) -> Result<Writer, BundleError> {
    let mut w = Writer::default();
    w.u64(1, i.topic_id);
    w.i64(2, i.block_height);
    w.string(3, &i.inferer);
    w.dec(4, "inference.value", &i.value)?;
    w.bytes(5, &i.extra_data);
    w.string(6, &i.proof);
    for lv in &i.values {
        let mut l = Writer::default();
        l.string(1, &lv.label);
        l.dec(2, "inference.values.value", &lv.value)?;
        w.message(7, l);
    }
    Ok(w)
}

/// `InputForecast` (v10): topic_id=1, block_height=2, forecaster=3,
/// forecast_elements=4 `InputForecastElement{inferer=1, value=2 Dec}`, extra_data=5.
fn forecast(f: &v10::InputForecast) -> Result<Writer, BundleError> {
    let mut w = Writer::default();
    w.u64(1, f.topic_id);
    w.i64(2, f.block_height);
    w.string(3, &f.forecaster);
    for e in &f.forecast_elements {
        let mut el = Writer::default();
        el.string(1, &e.inferer);
        el.dec(2, "forecast.forecast_elements.value", &e.value)?;
        w.message(4, el);
    }
    w.bytes(5, &f.extra_data);
    Ok(w)
}

/// The bytes a worker's signature must cover: the chain's re-marshalling of the
/// `InputInferenceForecastBundle` (inference=1, forecast=2).
pub(crate) fn worker_sign_bytes(
    b: &v10::InputInferenceForecastBundle,
) -> Result<Vec<u8>, BundleError> {
    let mut w = Writer::default();
    if let Some(i) = &b.inference {
        w.message(1, inference(i)?);
    }
    if let Some(f) = &b.forecast {
        w.message(2, forecast(f)?);
    }
    Ok(w.0)
}

/// `ReputerRequestNonce{reputer_nonce=1 Nonce{block_height=1}}` (emissions.v3).
fn reputer_request_nonce(n: &v3::ReputerRequestNonce) -> Writer {
    let mut w = Writer::default();
    if let Some(nonce) = &n.reputer_nonce {
        let mut inner = Writer::default();
        inner.i64(1, nonce.block_height);
        w.message(1, inner);
    }
    w
}

/// `InputWorkerAttributedValue` / `InputWithheldWorkerAttributedValue`: worker=1, value=2 Dec.
fn attributed(field: u32, worker: &str, value: &str, w: &mut Writer) -> Result<(), BundleError> {
    let mut v = Writer::default();
    v.string(1, worker);
    v.dec(2, "value_bundle worker value", value)?;
    w.message(field, v);
    Ok(())
}

/// The bytes a reputer's signature must cover: the chain's re-marshalling of the whole
/// `InputValueBundle` (field numbers as in the reference's ValueBundle table, 1–12).
pub(crate) fn value_bundle_sign_bytes(vb: &v9::InputValueBundle) -> Result<Vec<u8>, BundleError> {
    let mut w = Writer::default();
    w.u64(1, vb.topic_id);
    if let Some(n) = &vb.reputer_request_nonce {
        w.message(2, reputer_request_nonce(n));
    }
    w.string(3, &vb.reputer);
    w.bytes(4, &vb.extra_data);
    w.dec(5, "combined_value", &vb.combined_value)?;
    for v in &vb.inferer_values {
        attributed(6, &v.worker, &v.value, &mut w)?;
    }
    for v in &vb.forecaster_values {
        attributed(7, &v.worker, &v.value, &mut w)?;
    }
    w.dec(8, "naive_value", &vb.naive_value)?;
    for v in &vb.one_out_inferer_values {
        attributed(9, &v.worker, &v.value, &mut w)?;
    }
    for v in &vb.one_out_forecaster_values {
        attributed(10, &v.worker, &v.value, &mut w)?;
    }
    for v in &vb.one_in_forecaster_values {
        attributed(11, &v.worker, &v.value, &mut w)?;
    }
    for g in &vb.one_out_inferer_forecaster_values {
        // InputOneOutInfererForecasterValues: forecaster=3, one_out_inferer_values=4.
        let mut group = Writer::default();
        group.string(3, &g.forecaster);
        for v in &g.one_out_inferer_values {
            attributed(4, &v.worker, &v.value, &mut group)?;
        }
        w.message(12, group);
    }
    Ok(w.0)
}

/// Decodes the bundle's `pubkey` field: hex (any case) of a 33-byte compressed key.
pub(crate) fn pubkey(hex_key: &str) -> Result<Vec<u8>, BundleError> {
    match hex::decode(hex_key) {
        Ok(b) if b.len() == 33 => Ok(b),
        _ => Err(BundleError::Pubkey),
    }
}

/// Verifies a worker bundle's signature over the chain's re-marshalling of its
/// inference/forecast bundle. Address bindings are checked by the message handler.
pub(crate) fn verify_worker(b: &v10::InputWorkerDataBundle) -> Result<(), BundleError> {
    let key = pubkey(&b.pubkey)?;
    let inner = b
        .inference_forecasts_bundle
        .as_ref()
        .ok_or(BundleError::Missing("inference_forecasts_bundle"))?;
    let bytes = worker_sign_bytes(inner)?;
    if crate::crypto::verify_bytes(&key, &bytes, &b.inferences_forecasts_bundle_signature) {
        Ok(())
    } else {
        Err(BundleError::Signature)
    }
}

/// Verifies a reputer bundle's signature over the chain's re-marshalling of the whole
/// value bundle. Address bindings are checked by the message handler.
pub(crate) fn verify_reputer(b: &v9::InputReputerValueBundle) -> Result<(), BundleError> {
    let key = pubkey(&b.pubkey)?;
    let vb = b
        .value_bundle
        .as_ref()
        .ok_or(BundleError::Missing("value_bundle"))?;
    let bytes = value_bundle_sign_bytes(vb)?;
    if crate::crypto::verify_bytes(&key, &bytes, &b.signature) {
        Ok(())
    } else {
        Err(BundleError::Signature)
    }
}

#[cfg(test)]
mod tests;
