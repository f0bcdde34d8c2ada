//! `trivial`: returns a constant; used to measure the runtime's per-call overhead.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/inferer" });

use allora::adapter::types::{CallContext, LabeledValue};

struct Trivial;

impl exports::allora::adapter::inference::Guest for Trivial {
    fn infer(_ctx: CallContext) -> Result<Vec<LabeledValue>, String> {
        Ok(vec![LabeledValue {
            label: "y".into(),
            value: "42.5".into(),
        }])
    }
}

export!(Trivial);
