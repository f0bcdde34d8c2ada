//! The chain's value bounds, checked before anything is signed: every v10 `Input*` value is
//! a `BoundedExp40Dec` (0, or 1e-40 <= |v| <= 1e40). A value outside it would be signed,
//! paid for and then refused by the chain, so the node refuses it first, naming the adapter,
//! the topic and the value.

use allora_protocol::decimal::{DecimalError, check_bounded_exp40};

/// A value an adapter (or the loss computation) produced that the chain would refuse.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{source_name} on topic {topic_id} produced {label}={value:?}, which the chain refuses: {error}"
)]
pub struct ValueError {
    /// The adapter name, or the built-in loss method.
    pub source_name: String,
    pub topic_id: u64,
    pub label: String,
    pub value: String,
    pub error: DecimalError,
}

/// Checks `(label, value)` pairs from `source_name` for `topic_id`.
pub fn check_labeled(
    source_name: &str,
    topic_id: u64,
    values: &[(String, String)],
) -> Result<(), ValueError> {
    for (label, value) in values {
        check_one(source_name, topic_id, label, value)?;
    }
    Ok(())
}

/// Checks plain values (e.g. losses, labelled by their index).
pub fn check_all(source_name: &str, topic_id: u64, values: &[String]) -> Result<(), ValueError> {
    for (i, value) in values.iter().enumerate() {
        check_one(source_name, topic_id, &format!("#{i}"), value)?;
    }
    Ok(())
}

fn check_one(source_name: &str, topic_id: u64, label: &str, value: &str) -> Result<(), ValueError> {
    check_bounded_exp40(value).map_err(|error| ValueError {
        source_name: source_name.to_string(),
        topic_id,
        label: label.to_string(),
        value: value.to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_adapter_topic_and_value() {
        let vals = vec![
            ("y".to_string(), "3.5".to_string()),
            ("z".to_string(), "1E+999".to_string()),
        ];
        let err = check_labeled("my-model", 7, &vals).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("my-model") && text.contains("topic 7") && text.contains("1E+999"));
        assert_eq!(err.label, "z");
        assert!(check_labeled("m", 1, &vals[..1]).is_ok());
        assert!(check_all("sqe", 1, &["0".into(), "1E-41".into()]).is_err());
    }
}
