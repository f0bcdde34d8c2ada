//! Network inferences for a closed worker nonce, so reputers have real values to score.
//!
//! A deliberately simple, documented combination (not the chain's regret-weighted one):
//! * a forecaster's implied inference is the average of the inferers' values weighted by
//!   `1 / (1 + |forecasted loss|)` over the inferers it forecast;
//! * a combined value is the plain mean of the chosen inferers' values and the chosen
//!   forecasters' implied inferences; the naive value uses inferers only;
//! * one-out / one-in values recompute the combination without / with only one participant.
//!
//! Computed per label (v10 multi-output); values are rendered as canonical decimals by the
//! devnet's own [`crate::canonical`] (floats spelled as the reference SDK spells them).

use std::collections::BTreeMap;

use allora_protocol::proto::emissions::v10;

struct Inputs {
    labels: Vec<String>,
    /// inferer → label → value
    inferers: BTreeMap<String, BTreeMap<String, f64>>,
    /// forecaster → inferer → forecasted loss
    forecasters: BTreeMap<String, BTreeMap<String, f64>>,
}

fn parse(v: &str) -> Option<f64> {
    crate::canonical::parse_f64(v)
}

fn collect(topic: &v10::Topic, payloads: &BTreeMap<String, v10::InputWorkerDataBundle>) -> Inputs {
    let mut labels: Vec<String> = topic.label_whitelist.clone();
    let mut inferers = BTreeMap::new();
    let mut forecasters = BTreeMap::new();
    for (worker, b) in payloads {
        let Some(inner) = &b.inference_forecasts_bundle else {
            continue;
        };
        if let Some(inf) = &inner.inference {
            let mut vals = BTreeMap::new();
            if inf.values.is_empty() {
                if let Some(v) = parse(&inf.value) {
                    vals.insert("y".to_string(), v);
                }
            } else {
                for lv in &inf.values {
                    if let Some(v) = parse(&lv.value) {
                        vals.insert(lv.label.clone(), v);
                    }
                }
            }
            for l in vals.keys() {
                if !labels.contains(l) {
                    labels.push(l.clone());
                }
            }
            if !vals.is_empty() {
                inferers.insert(worker.clone(), vals);
            }
        }
        if let Some(f) = &inner.forecast {
            let els: BTreeMap<String, f64> = f
                .forecast_elements
                .iter()
                .filter_map(|e| parse(&e.value).map(|v| (e.inferer.clone(), v)))
                .collect();
            if !els.is_empty() {
                forecasters.insert(worker.clone(), els);
            }
        }
    }
    Inputs {
        labels,
        inferers,
        forecasters,
    }
}

impl Inputs {
    fn implied(&self, forecaster: &str, inferers: &[&String], label: &str) -> Option<f64> {
        let els = self.forecasters.get(forecaster)?;
        let (mut num, mut den) = (0.0, 0.0);
        for j in inferers {
            if let (Some(loss), Some(v)) = (
                els.get(*j),
                self.inferers.get(*j).and_then(|m| m.get(label)),
            ) {
                let w = 1.0 / (1.0 + loss.abs());
                num += w * v;
                den += w;
            }
        }
        (den > 0.0).then(|| num / den)
    }

    fn combine(&self, inferers: &[&String], forecasters: &[&String]) -> Vec<v10::LabeledValue> {
        let mut out = Vec::new();
        for (id, label) in self.labels.iter().enumerate() {
            let mut vals: Vec<f64> = inferers
                .iter()
                .filter_map(|j| self.inferers.get(*j).and_then(|m| m.get(label)).copied())
                .collect();
            vals.extend(
                forecasters
                    .iter()
                    .filter_map(|k| self.implied(k, inferers, label)),
            );
            if vals.is_empty() {
                continue;
            }
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            if let Some(value) = crate::canonical::from_f64(mean) {
                out.push(v10::LabeledValue {
                    label_id: id as u32,
                    label_name: label.clone(),
                    value,
                });
            }
        }
        out
    }
}

/// Builds the `NetworkInferenceBundle` for `nonce` from the submitted payloads.
pub fn compute(
    topic: &v10::Topic,
    nonce: i64,
    payloads: &BTreeMap<String, v10::InputWorkerDataBundle>,
) -> v10::NetworkInferenceBundle {
    let x = collect(topic, payloads);
    let all_i: Vec<&String> = x.inferers.keys().collect();
    let all_f: Vec<&String> = x.forecasters.keys().collect();
    fn without<'a>(list: &[&'a String], who: &String) -> Vec<&'a String> {
        list.iter().copied().filter(|w| *w != who).collect()
    }
    let mut b = v10::NetworkInferenceBundle {
        topic_id: topic.id,
        nonce,
        combined_value: x.combine(&all_i, &all_f),
        naive_value: x.combine(&all_i, &[]),
        ..Default::default()
    };
    for (j, vals) in &x.inferers {
        let values = x
            .labels
            .iter()
            .enumerate()
            .filter_map(|(id, l)| {
                let v = crate::canonical::from_f64(*vals.get(l)?)?;
                Some(v10::LabeledValue {
                    label_id: id as u32,
                    label_name: l.clone(),
                    value: v,
                })
            })
            .collect();
        b.inferer_values.push(v10::WorkerInference {
            worker: j.clone(),
            values,
        });
        if all_i.len() > 1 {
            b.one_out_inferer_values.push(v10::OneOutInfererValue {
                withheld_inferer: j.clone(),
                combined_inference: x.combine(&without(&all_i, j), &all_f),
            });
        }
    }
    for k in &all_f {
        let implied: Vec<v10::LabeledValue> = x
            .labels
            .iter()
            .enumerate()
            .filter_map(|(id, l)| {
                let v = crate::canonical::from_f64(x.implied(k, &all_i, l)?)?;
                Some(v10::LabeledValue {
                    label_id: id as u32,
                    label_name: l.clone(),
                    value: v,
                })
            })
            .collect();
        if implied.is_empty() {
            continue;
        }
        b.forecaster_values.push(v10::WorkerInference {
            worker: (*k).clone(),
            values: implied,
        });
        b.one_out_forecaster_values
            .push(v10::OneOutForecasterValue {
                withheld_forecaster: (*k).clone(),
                combined_inference: x.combine(&all_i, &without(&all_f, k)),
            });
        b.one_in_forecaster_values.push(v10::OneInForecasterValue {
            forecaster: (*k).clone(),
            combined_inference: x.combine(&all_i, &[*k]),
        });
        if all_i.len() > 1 {
            for j in &all_i {
                b.one_out_inferer_forecaster_values
                    .push(v10::OneOutInfererForecasterValue {
                        forecaster: (*k).clone(),
                        withheld_inferer: (*j).clone(),
                        combined_inference: x.combine(&without(&all_i, j), &[*k]),
                    });
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use allora_protocol::proto::emissions::v3;

    fn bundle(worker: &str, value: &str, forecast: &[(&str, &str)]) -> v10::InputWorkerDataBundle {
        v10::InputWorkerDataBundle {
            worker: worker.to_string(),
            nonce: Some(v3::Nonce { block_height: 10 }),
            topic_id: 1,
            inference_forecasts_bundle: Some(v10::InputInferenceForecastBundle {
                inference: Some(v10::InputInference {
                    topic_id: 1,
                    block_height: 10,
                    inferer: worker.to_string(),
                    value: "0".to_string(),
                    values: vec![v10::InputLabeledValue {
                        label: "y".into(),
                        value: value.into(),
                    }],
                    ..Default::default()
                }),
                forecast: (!forecast.is_empty()).then(|| v10::InputForecast {
                    topic_id: 1,
                    block_height: 10,
                    forecaster: worker.to_string(),
                    forecast_elements: forecast
                        .iter()
                        .map(|(i, v)| v10::InputForecastElement {
                            inferer: (*i).to_string(),
                            value: (*v).to_string(),
                        })
                        .collect(),
                    extra_data: Vec::new(),
                }),
            }),
            inferences_forecasts_bundle_signature: Vec::new(),
            pubkey: String::new(),
        }
    }

    #[test]
    fn combination_is_the_documented_mean() {
        let topic = v10::Topic {
            id: 1,
            ..Default::default()
        };
        let mut p = BTreeMap::new();
        p.insert("a".to_string(), bundle("a", "1", &[]));
        p.insert("b".to_string(), bundle("b", "3", &[("a", "0"), ("b", "1")]));
        let b = compute(&topic, 10, &p);
        // naive = mean(1, 3) = 2
        assert_eq!(b.naive_value[0].value, "2.0");
        // b's implied = (1*1 + 0.5*3) / 1.5 = 5/3; combined = (1 + 3 + 5/3) / 3
        let implied = 5.0 / 3.0;
        let combined: f64 = b.combined_value[0].value.parse().expect("num");
        assert!((combined - (4.0 + implied) / 3.0).abs() < 1e-12);
        assert_eq!(b.inferer_values.len(), 2);
        assert_eq!(b.forecaster_values.len(), 1);
        assert_eq!(b.one_out_inferer_values.len(), 2);
        assert_eq!(b.one_in_forecaster_values.len(), 1);
        assert_eq!(b.one_out_inferer_forecaster_values.len(), 2);
        // one-out of a: inferers {b}, forecaster b implied over {b} = 3 → mean(3, 3) = 3
        let oo_a = b
            .one_out_inferer_values
            .iter()
            .find(|v| v.withheld_inferer == "a")
            .expect("a");
        assert_eq!(oo_a.combined_inference[0].value, "3.0");
    }
}
