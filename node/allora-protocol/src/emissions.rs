//! The emissions version a chain serves, and everything that depends on it behind one type.
//!
//! [`EmissionsVersion`] is a **closed enum** with one arm per version (`V9` = allora-chain
//! v0.16.0, `V10` = v0.17.0) rather than an open trait with `V9`/`V10` impls: the node
//! chooses the version at run time (detected at start-up, see the chain client's
//! `detect_version`), so callers need a value they can store, copy, compare, log and print
//! (`Copy + Eq + Display`); the set of versions is fixed by what this crate can encode, and a
//! `match` makes the compiler list every place a new version must be handled. The
//! per-version encoders stay in sibling modules ([`crate::v9`], [`crate::v10`]); this type
//! only dispatches to them.
//!
//! What goes through it: query paths ([`crate::methods::emissions::Query::path`]), Msg type
//! URLs, window event type names, building + signing + locally verifying the worker and
//! reputer payload Msgs ([`EmissionsVersion::worker_payload`],
//! [`EmissionsVersion::reputer_payload`]), and the version-neutral forms of the answers whose
//! shape differs by version ([`TopicFacts`] from either `Topic`, [`NetworkValues`] from v10's
//! labelled `NetworkInferenceBundle` or v9's scalar `emissions.v3.ValueBundle`). Requests, params,
//! nonces, window status and stake answers have the same field numbers in both versions
//! (reference §A.4, §I), so one decoder serves both.

use std::fmt;

use crate::account::Signer;
use crate::proto::emissions::{v3, v9, v10};
use crate::{ProtocolError, v9 as enc9, v10 as enc10};

/// The reputer input types. Both versions send `emissions.v9.InputReputerValueBundle`
/// (reference §A.4, §I), so these are version-neutral despite the package name.
pub mod reputer_input {
    pub use crate::proto::emissions::v9::{
        InputOneOutInfererForecasterValues, InputValueBundle, InputWithheldWorkerAttributedValue,
        InputWorkerAttributedValue,
    };
}

/// An emissions module version the node can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmissionsVersion {
    /// `emissions.v9` (allora-chain v0.16.0, mainnet as of 2026-07): scalar inferences only.
    V9,
    /// `emissions.v10` (allora-chain v0.17.0): multi-label inferences.
    V10,
}

impl fmt::Display for EmissionsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.number())
    }
}

/// A signed Msg ready for the tx actor, with a human-readable form for logs and dry runs.
#[derive(Debug, Clone)]
pub struct SignedMsg {
    pub msg: prost_types::Any,
    pub describe: String,
}

/// The topic facts the node uses, whatever the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFacts {
    pub id: u64,
    pub epoch_length: i64,
    pub ground_truth_lag: i64,
    pub worker_submission_window: i64,
    pub loss_method: String,
    /// v10 `output_arity == MULTI`; always false on v9 (no multi-label topics).
    pub multi_label: bool,
}

/// One worker's value in the network's answer (`None`: the chain has no value for it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerValue {
    pub worker: String,
    pub value: Option<String>,
}

/// A one-out-inferer-forecaster value: `forecaster`'s forecast with `withheld_inferer` out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForecasterWithheldValue {
    pub forecaster: String,
    pub withheld_inferer: String,
    pub value: Option<String>,
}

/// The network's values for one nonce, one scalar per entry: what a reputer scores. v10's
/// labelled values are reduced to label `y` (else the first label); v9's scalars are taken
/// as they are; v9's field 12 (grouped by forecaster) is flattened like v10's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkValues {
    pub combined_value: Option<String>,
    pub naive_value: Option<String>,
    pub inferer_values: Vec<WorkerValue>,
    pub forecaster_values: Vec<WorkerValue>,
    pub one_out_inferer_values: Vec<WorkerValue>,
    pub one_out_forecaster_values: Vec<WorkerValue>,
    pub one_in_forecaster_values: Vec<WorkerValue>,
    pub one_out_inferer_forecaster_values: Vec<ForecasterWithheldValue>,
}

/// Label the reference SDK uses for a scalar inference; v10 values are scored on it.
pub const SCALAR_LABEL: &str = enc10::SCALAR_LABEL;

fn pick(values: &[v10::LabeledValue]) -> Option<String> {
    values
        .iter()
        .find(|v| v.label_name == SCALAR_LABEL)
        .or_else(|| values.first())
        .map(|v| v.value.clone())
}

fn scalar(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl EmissionsVersion {
    /// Every version this build speaks, oldest first.
    pub const SUPPORTED: &'static [EmissionsVersion] =
        &[EmissionsVersion::V9, EmissionsVersion::V10];

    /// The package number (`9`, `10`).
    pub const fn number(self) -> u32 {
        match self {
            EmissionsVersion::V9 => 9,
            EmissionsVersion::V10 => 10,
        }
    }

    /// The version with package number `n`, if this build speaks it.
    pub fn from_number(n: u32) -> Option<Self> {
        Self::SUPPORTED.iter().copied().find(|v| v.number() == n)
    }

    /// The proto package (`emissions.v9`).
    pub const fn package(self) -> &'static str {
        match self {
            EmissionsVersion::V9 => "emissions.v9",
            EmissionsVersion::V10 => "emissions.v10",
        }
    }

    /// Whether topics (and worker payloads) can carry several labelled values.
    pub const fn supports_multi_label(self) -> bool {
        matches!(self, EmissionsVersion::V10)
    }

    /// The gRPC path of `q` under this version.
    pub const fn path(self, q: crate::methods::emissions::Query) -> &'static str {
        q.path(self)
    }

    /// Any type URL of `InsertWorkerPayloadRequest`.
    pub const fn worker_payload_type_url(self) -> &'static str {
        match self {
            EmissionsVersion::V9 => enc9::MSG_TYPE_URL_INSERT_WORKER_PAYLOAD,
            EmissionsVersion::V10 => enc10::MSG_TYPE_URL_INSERT_WORKER_PAYLOAD,
        }
    }

    /// Any type URL of `InsertReputerPayloadRequest`.
    pub const fn reputer_payload_type_url(self) -> &'static str {
        match self {
            EmissionsVersion::V9 => enc9::MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD,
            EmissionsVersion::V10 => enc10::MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD,
        }
    }

    /// The typed event name of a window event (`emissions.v9.EventWorkerSubmissionWindowOpened`),
    /// `name` being the message name without package.
    pub fn event_type(self, name: &str) -> String {
        format!("{}.{name}", self.package())
    }

    /// Builds, signs and locally verifies (exactly as the chain will) a worker payload Msg.
    /// On v9 an inference with more than one label is refused
    /// ([`ProtocolError::MultiLabelUnsupported`]) before anything is signed.
    pub fn worker_payload(
        self,
        wallet: &dyn Signer,
        topic_id: u64,
        nonce: i64,
        inference: Option<Vec<(String, String)>>,
        forecast: Option<Vec<(String, String)>>,
    ) -> Result<SignedMsg, ProtocolError> {
        match self {
            EmissionsVersion::V9 => {
                let b = enc9::sign_worker_bundle(wallet, topic_id, nonce, inference, forecast)?;
                enc9::verify_worker_bundle(&b)?;
                let describe = format!("{b:?}");
                Ok(SignedMsg {
                    msg: enc9::insert_worker_payload_msg(wallet, b),
                    describe,
                })
            }
            EmissionsVersion::V10 => {
                let b = enc10::sign_worker_bundle(wallet, topic_id, nonce, inference, forecast)?;
                enc10::verify_worker_bundle(&b)?;
                let describe = format!("{b:?}");
                Ok(SignedMsg {
                    msg: enc10::insert_worker_payload_msg(wallet, b),
                    describe,
                })
            }
        }
    }

    /// Signs the value bundle for reputer nonce `nonce`, verifies it like the chain and
    /// wraps it in this version's `InsertReputerPayloadRequest`.
    pub fn reputer_payload(
        self,
        wallet: &dyn Signer,
        nonce: i64,
        bundle: v9::InputValueBundle,
    ) -> Result<SignedMsg, ProtocolError> {
        let signed = enc10::sign_value_bundle_at(wallet, nonce, bundle)?;
        enc10::verify_reputer_bundle(&signed)?;
        let describe = format!("{signed:?}");
        let msg = match self {
            EmissionsVersion::V9 => enc9::insert_reputer_payload_msg(wallet, signed),
            EmissionsVersion::V10 => enc10::insert_reputer_payload_msg(wallet, signed),
        };
        Ok(SignedMsg { msg, describe })
    }

    /// `Register` Msg: sender = owner = the wallet.
    pub fn register_msg(
        self,
        wallet: &dyn Signer,
        topic_id: u64,
        is_reputer: bool,
    ) -> prost_types::Any {
        match self {
            EmissionsVersion::V9 => enc9::register_msg(wallet, topic_id, is_reputer),
            EmissionsVersion::V10 => enc10::register_msg(wallet, topic_id, is_reputer),
        }
    }

    /// `AddStake` Msg for `amount` uallo.
    pub fn add_stake_msg(
        self,
        wallet: &dyn Signer,
        topic_id: u64,
        amount: u128,
    ) -> prost_types::Any {
        match self {
            EmissionsVersion::V9 => enc9::add_stake_msg(wallet, topic_id, amount),
            EmissionsVersion::V10 => enc10::add_stake_msg(wallet, topic_id, amount),
        }
    }
}

impl From<v9::Topic> for TopicFacts {
    fn from(t: v9::Topic) -> Self {
        TopicFacts {
            id: t.id,
            epoch_length: t.epoch_length,
            ground_truth_lag: t.ground_truth_lag,
            worker_submission_window: t.worker_submission_window,
            loss_method: t.loss_method,
            multi_label: false,
        }
    }
}

impl From<v10::Topic> for TopicFacts {
    fn from(t: v10::Topic) -> Self {
        TopicFacts {
            multi_label: t.output_arity == v10::TopicOutputArity::Multi as i32,
            id: t.id,
            epoch_length: t.epoch_length,
            ground_truth_lag: t.ground_truth_lag,
            worker_submission_window: t.worker_submission_window,
            loss_method: t.loss_method,
        }
    }
}

/// v10 labelled bundle → scalars (label `y`, else the first).
pub fn from_v10(b: &v10::NetworkInferenceBundle) -> NetworkValues {
    let w = |v: &v10::WorkerInference| WorkerValue {
        worker: v.worker.clone(),
        value: pick(&v.values),
    };
    NetworkValues {
        combined_value: pick(&b.combined_value),
        naive_value: pick(&b.naive_value),
        inferer_values: b.inferer_values.iter().map(w).collect(),
        forecaster_values: b.forecaster_values.iter().map(w).collect(),
        one_out_inferer_values: b
            .one_out_inferer_values
            .iter()
            .map(|v| WorkerValue {
                worker: v.withheld_inferer.clone(),
                value: pick(&v.combined_inference),
            })
            .collect(),
        one_out_forecaster_values: b
            .one_out_forecaster_values
            .iter()
            .map(|v| WorkerValue {
                worker: v.withheld_forecaster.clone(),
                value: pick(&v.combined_inference),
            })
            .collect(),
        one_in_forecaster_values: b
            .one_in_forecaster_values
            .iter()
            .map(|v| WorkerValue {
                worker: v.forecaster.clone(),
                value: pick(&v.combined_inference),
            })
            .collect(),
        one_out_inferer_forecaster_values: b
            .one_out_inferer_forecaster_values
            .iter()
            .map(|v| ForecasterWithheldValue {
                forecaster: v.forecaster.clone(),
                withheld_inferer: v.withheld_inferer.clone(),
                value: pick(&v.combined_inference),
            })
            .collect(),
    }
}

/// v9's `emissions.v3.ValueBundle` (scalars) → neutral values.
pub fn from_v3(b: v3::ValueBundle) -> NetworkValues {
    let w = |v: v3::WorkerAttributedValue| WorkerValue {
        worker: v.worker,
        value: scalar(v.value),
    };
    let withheld = |v: v3::WithheldWorkerAttributedValue| WorkerValue {
        worker: v.worker,
        value: scalar(v.value),
    };
    NetworkValues {
        combined_value: scalar(b.combined_value),
        naive_value: scalar(b.naive_value),
        inferer_values: b.inferer_values.into_iter().map(w).collect(),
        forecaster_values: b.forecaster_values.into_iter().map(w).collect(),
        one_out_inferer_values: b.one_out_inferer_values.into_iter().map(withheld).collect(),
        one_out_forecaster_values: b
            .one_out_forecaster_values
            .into_iter()
            .map(withheld)
            .collect(),
        one_in_forecaster_values: b.one_in_forecaster_values.into_iter().map(w).collect(),
        one_out_inferer_forecaster_values: b
            .one_out_inferer_forecaster_values
            .into_iter()
            .flat_map(|g| {
                let forecaster = g.forecaster;
                g.one_out_inferer_values
                    .into_iter()
                    .map(move |v| ForecasterWithheldValue {
                        forecaster: forecaster.clone(),
                        withheld_inferer: v.worker,
                        value: scalar(v.value),
                    })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
