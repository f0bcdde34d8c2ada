//! Pure reputer scoring: flatten the network's values (version-neutral [`NetworkValues`]:
//! one scalar per entry, v10 labels already reduced to `y` by the protocol crate) into one
//! list of predictions (so losses are computed in one batched call), then put the submitted
//! losses back into all 12 `InputValueBundle` fields (protocol reference §G.3), including
//! field 12 regrouped by forecaster. The value bundle is the same type for emissions v9 and
//! v10.

use allora_protocol::emissions::reputer_input as v9;
use allora_protocol::emissions::{ForecasterWithheldValue, NetworkValues, WorkerValue};
use allora_protocol::loss::{self, LossMethod};
use allora_protocol::proto::emissions::v3;

/// Why a bundle could not be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    #[error("network inferences have no {0} value yet")]
    Missing(&'static str),
    #[error("loss count {got} does not match prediction count {want}")]
    Count { got: usize, want: usize },
    #[error("invalid number '{value}' ({what})")]
    Number { what: &'static str, value: String },
    #[error("loss for {what}: {source}")]
    Loss {
        what: String,
        #[source]
        source: loss::LossError,
    },
}

/// The predictions to score, in the order [`assemble`] consumes losses.
pub fn predictions(b: &NetworkValues) -> Result<Vec<String>, ScoringError> {
    let mut out = vec![
        b.combined_value
            .clone()
            .ok_or(ScoringError::Missing("combined"))?,
    ];
    out.push(
        b.naive_value
            .clone()
            .ok_or(ScoringError::Missing("naive"))?,
    );
    // An entry without a value is scored as missing: skipped in both passes.
    let lists = [
        &b.inferer_values,
        &b.forecaster_values,
        &b.one_out_inferer_values,
        &b.one_out_forecaster_values,
        &b.one_in_forecaster_values,
    ];
    for list in lists {
        out.extend(list.iter().filter_map(|w| w.value.clone()));
    }
    out.extend(
        b.one_out_inferer_forecaster_values
            .iter()
            .filter_map(|w| w.value.clone()),
    );
    Ok(out)
}

/// Builds the value bundle from the network bundle and one submitted loss per prediction
/// (same order as [`predictions`]). `reputer` and the nonce are set by the signer.
pub fn assemble(
    topic_id: u64,
    b: &NetworkValues,
    losses: &[String],
) -> Result<v9::InputValueBundle, ScoringError> {
    let want = predictions(b)?.len();
    if losses.len() != want {
        return Err(ScoringError::Count {
            got: losses.len(),
            want,
        });
    }
    let mut it = losses.iter().cloned();
    let mut next = || it.next().unwrap_or_default();
    let combined_value = next();
    let naive_value = next();
    let mut attributed = |w: &WorkerValue| {
        w.value.as_ref().map(|_| v9::InputWorkerAttributedValue {
            worker: w.worker.clone(),
            value: next(),
        })
    };
    let inferer_values: Vec<_> = b
        .inferer_values
        .iter()
        .filter_map(&mut attributed)
        .collect();
    let forecaster_values: Vec<_> = b
        .forecaster_values
        .iter()
        .filter_map(&mut attributed)
        .collect();
    let mut withheld = |w: &WorkerValue| {
        w.value
            .as_ref()
            .map(|_| v9::InputWithheldWorkerAttributedValue {
                worker: w.worker.clone(),
                value: next(),
            })
    };
    let one_out_inferer_values: Vec<_> = b
        .one_out_inferer_values
        .iter()
        .filter_map(&mut withheld)
        .collect();
    let one_out_forecaster_values: Vec<_> = b
        .one_out_forecaster_values
        .iter()
        .filter_map(&mut withheld)
        .collect();
    let one_in_forecaster_values: Vec<_> = b
        .one_in_forecaster_values
        .iter()
        .filter_map(|w| {
            w.value.as_ref().map(|_| v9::InputWorkerAttributedValue {
                worker: w.worker.clone(),
                value: next(),
            })
        })
        .collect();
    // Field 12: regroup the flat entries by forecaster, keeping first-seen order.
    let mut grouped: Vec<v9::InputOneOutInfererForecasterValues> = Vec::new();
    for w in &b.one_out_inferer_forecaster_values {
        let ForecasterWithheldValue { value: Some(_), .. } = w else {
            continue;
        };
        let value = v9::InputWithheldWorkerAttributedValue {
            worker: w.withheld_inferer.clone(),
            value: next(),
        };
        match grouped.iter_mut().find(|g| g.forecaster == w.forecaster) {
            Some(g) => g.one_out_inferer_values.push(value),
            None => grouped.push(v9::InputOneOutInfererForecasterValues {
                forecaster: w.forecaster.clone(),
                one_out_inferer_values: vec![value],
            }),
        }
    }
    Ok(v9::InputValueBundle {
        topic_id,
        reputer_request_nonce: Some(v3::ReputerRequestNonce::default()),
        reputer: String::new(),
        extra_data: Vec::new(),
        combined_value,
        inferer_values,
        forecaster_values,
        naive_value,
        one_out_inferer_values,
        one_out_forecaster_values,
        one_in_forecaster_values,
        one_out_inferer_forecaster_values: grouped,
    })
}

/// Raw losses → submitted values (the log10 rule), as decimal strings.
pub fn submitted(raw: &[String], never_negative: bool) -> Result<Vec<String>, ScoringError> {
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let v: f64 = s.trim().parse().map_err(|_| ScoringError::Number {
                what: "loss",
                value: s.clone(),
            })?;
            let out =
                loss::to_submitted(v, never_negative).map_err(|source| ScoringError::Loss {
                    what: format!("prediction #{i}"),
                    source,
                })?;
            Ok(format!("{out:e}"))
        })
        .collect()
}

/// Built-in losses for every prediction against the ground truth (raw, before log10).
pub fn builtin_losses(
    method: &LossMethod,
    ground_truth: &str,
    predictions: &[String],
) -> Result<Vec<String>, ScoringError> {
    let y: f64 = ground_truth
        .trim()
        .parse()
        .map_err(|_| ScoringError::Number {
            what: "ground truth",
            value: ground_truth.to_string(),
        })?;
    predictions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let yhat: f64 = p.trim().parse().map_err(|_| ScoringError::Number {
                what: "prediction",
                value: p.clone(),
            })?;
            method
                .compute(y, yhat)
                .map(|l| format!("{l:e}"))
                .map_err(|source| ScoringError::Loss {
                    what: format!("prediction #{i}"),
                    source,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use allora_protocol::emissions::from_v10;
    use allora_protocol::proto::emissions::v10;

    fn lv(v: &str) -> Vec<v10::LabeledValue> {
        vec![v10::LabeledValue {
            label_id: 0,
            label_name: "y".into(),
            value: v.into(),
        }]
    }

    fn bundle() -> NetworkValues {
        from_v10(&v10::NetworkInferenceBundle {
            topic_id: 1,
            nonce: 10,
            combined_value: lv("100"),
            naive_value: lv("90"),
            inferer_values: vec![
                v10::WorkerInference {
                    worker: "i1".into(),
                    values: lv("101"),
                },
                v10::WorkerInference {
                    worker: "i2".into(),
                    values: lv("99"),
                },
            ],
            forecaster_values: vec![v10::WorkerInference {
                worker: "f1".into(),
                values: lv("98"),
            }],
            one_out_inferer_values: vec![v10::OneOutInfererValue {
                withheld_inferer: "i1".into(),
                combined_inference: lv("97"),
            }],
            one_out_forecaster_values: vec![v10::OneOutForecasterValue {
                withheld_forecaster: "f1".into(),
                combined_inference: lv("96"),
            }],
            one_in_forecaster_values: vec![v10::OneInForecasterValue {
                forecaster: "f1".into(),
                combined_inference: lv("95"),
            }],
            one_out_inferer_forecaster_values: vec![
                v10::OneOutInfererForecasterValue {
                    forecaster: "f1".into(),
                    withheld_inferer: "i1".into(),
                    combined_inference: lv("94"),
                },
                v10::OneOutInfererForecasterValue {
                    forecaster: "f1".into(),
                    withheld_inferer: "i2".into(),
                    combined_inference: lv("93"),
                },
            ],
        })
    }

    #[test]
    fn every_field_is_filled_in_order() {
        let b = bundle();
        let preds = predictions(&b).unwrap();
        assert_eq!(
            preds,
            ["100", "90", "101", "99", "98", "97", "96", "95", "94", "93"]
        );
        let m = LossMethod::parse("sqe").unwrap();
        let raw = builtin_losses(&m, "100", &preds).unwrap();
        // combined equals the truth: zero loss, which log10 cannot submit.
        assert!(submitted(&raw, m.never_negative()).is_err());
        let raw = builtin_losses(&m, "102", &preds).unwrap();
        let subm = submitted(&raw, m.never_negative()).unwrap();
        let vb = assemble(7, &b, &subm).unwrap();
        assert_eq!(vb.topic_id, 7);
        let p = |s: &str| s.parse::<f64>().unwrap();
        assert!((p(&vb.combined_value) - 4f64.log10()).abs() < 1e-12);
        assert!((p(&vb.naive_value) - 144f64.log10()).abs() < 1e-12);
        assert_eq!(vb.inferer_values.len(), 2);
        assert_eq!(vb.inferer_values[1].worker, "i2");
        assert!((p(&vb.inferer_values[1].value) - 9f64.log10()).abs() < 1e-12);
        assert_eq!(vb.forecaster_values[0].worker, "f1");
        assert_eq!(vb.one_out_inferer_values[0].worker, "i1");
        assert!((p(&vb.one_out_inferer_values[0].value) - 25f64.log10()).abs() < 1e-12);
        assert_eq!(vb.one_out_forecaster_values[0].worker, "f1");
        assert_eq!(vb.one_in_forecaster_values[0].worker, "f1");
        assert_eq!(vb.one_out_inferer_forecaster_values.len(), 1);
        let g = &vb.one_out_inferer_forecaster_values[0];
        assert_eq!(g.forecaster, "f1");
        assert_eq!(g.one_out_inferer_values.len(), 2);
        assert_eq!(g.one_out_inferer_values[1].worker, "i2");
        assert!((p(&g.one_out_inferer_values[1].value) - 81f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn raw_losses_are_submitted_when_they_can_be_negative() {
        let out = submitted(&["-0.5".into(), "2".into()], false).unwrap();
        assert_eq!(
            out.iter()
                .map(|s| s.parse::<f64>().unwrap())
                .collect::<Vec<_>>(),
            [-0.5, 2.0]
        );
        assert!(submitted(&["abc".into()], false).is_err());
    }

    #[test]
    fn loss_count_mismatch_is_an_error() {
        let b = bundle();
        assert!(matches!(
            assemble(1, &b, &["1".into()]),
            Err(ScoringError::Count { got: 1, want: 10 })
        ));
    }

    #[test]
    fn missing_combined_value_is_an_error() {
        let mut b = bundle();
        b.combined_value = None;
        assert_eq!(predictions(&b), Err(ScoringError::Missing("combined")));
    }
}
