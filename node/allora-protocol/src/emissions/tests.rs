//! Tests of the version dispatch: paths, type URLs and the version-specific decoders.

use super::*;
use crate::account::test_signer::TestSigner;
use crate::methods::emissions::Query;
use prost::Message;

#[test]
fn paths_and_type_urls_follow_the_package() {
    assert_eq!(
        EmissionsVersion::V9.path(Query::GetParams),
        "/emissions.v9.QueryService/GetParams"
    );
    assert_eq!(
        EmissionsVersion::V10.path(Query::GetNetworkInferencesAtBlock),
        "/emissions.v10.QueryService/GetNetworkInferencesAtBlock"
    );
    let w = TestSigner::from_secret_bytes(&[1u8; 32]);
    assert_eq!(
        EmissionsVersion::V9.register_msg(&w, 1, false).type_url,
        "/emissions.v9.RegisterRequest"
    );
    assert_eq!(
        EmissionsVersion::V10.add_stake_msg(&w, 1, 5).type_url,
        "/emissions.v10.AddStakeRequest"
    );
    assert_eq!(EmissionsVersion::from_number(9), Some(EmissionsVersion::V9));
    assert_eq!(EmissionsVersion::from_number(11), None);
    assert_eq!(EmissionsVersion::V10.to_string(), "v10");
}

#[test]
fn worker_payload_uses_the_version_message() {
    let w = TestSigner::from_secret_bytes(&[1u8; 32]);
    let inference = Some(vec![("y".to_string(), "2.5".to_string())]);
    let m9 = EmissionsVersion::V9
        .worker_payload(&w, 1, 10, inference.clone(), None)
        .expect("v9");
    assert_eq!(m9.msg.type_url, "/emissions.v9.InsertWorkerPayloadRequest");
    let req = v9::InsertWorkerPayloadRequest::decode(m9.msg.value.as_slice()).expect("decode");
    let inf = req
        .worker_data_bundle
        .and_then(|b| b.inference_forecasts_bundle)
        .and_then(|b| b.inference)
        .expect("inference");
    assert_eq!(inf.value, "2.5");
    let m10 = EmissionsVersion::V10
        .worker_payload(&w, 1, 10, inference, None)
        .expect("v10");
    assert_eq!(
        m10.msg.type_url,
        "/emissions.v10.InsertWorkerPayloadRequest"
    );
    let two = Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
    assert!(matches!(
        EmissionsVersion::V9.worker_payload(&w, 1, 10, two.clone(), None),
        Err(ProtocolError::MultiLabelUnsupported { .. })
    ));
    assert!(
        EmissionsVersion::V10
            .worker_payload(&w, 1, 10, two, None)
            .is_ok()
    );
}

#[test]
fn v9_network_values_flatten_the_grouped_field() {
    let b = v3::ValueBundle {
        combined_value: "1.5".into(),
        naive_value: "2".into(),
        inferer_values: vec![v3::WorkerAttributedValue {
            worker: "a".into(),
            value: "3".into(),
        }],
        one_out_inferer_forecaster_values: vec![v3::OneOutInfererForecasterValues {
            forecaster: "f".into(),
            one_out_inferer_values: vec![
                v3::WithheldWorkerAttributedValue {
                    worker: "a".into(),
                    value: "4".into(),
                },
                v3::WithheldWorkerAttributedValue {
                    worker: "b".into(),
                    value: "".into(),
                },
            ],
        }],
        ..Default::default()
    };
    let n = from_v3(b);
    assert_eq!(n.combined_value.as_deref(), Some("1.5"));
    assert_eq!(n.inferer_values[0].value.as_deref(), Some("3"));
    assert_eq!(n.one_out_inferer_forecaster_values.len(), 2);
    assert_eq!(n.one_out_inferer_forecaster_values[0].forecaster, "f");
    assert_eq!(n.one_out_inferer_forecaster_values[1].value, None);
}

#[test]
fn v10_network_values_pick_label_y() {
    let lv = |label: &str, v: &str| v10::LabeledValue {
        label_id: 0,
        label_name: label.into(),
        value: v.into(),
    };
    let n = from_v10(&v10::NetworkInferenceBundle {
        combined_value: vec![lv("x", "9"), lv("y", "1")],
        naive_value: vec![lv("z", "2")],
        ..Default::default()
    });
    assert_eq!(n.combined_value.as_deref(), Some("1"));
    assert_eq!(n.naive_value.as_deref(), Some("2"));
}

#[test]
fn topics_convert_per_version() {
    let t = TopicFacts::from(v9::Topic {
        id: 4,
        epoch_length: 12,
        loss_method: "mse".into(),
        ..Default::default()
    });
    assert_eq!((t.id, t.epoch_length, t.multi_label), (4, 12, false));
    let t = TopicFacts::from(v10::Topic {
        id: 5,
        output_arity: v10::TopicOutputArity::Multi as i32,
        ..Default::default()
    });
    assert!(t.multi_label);
}
