//! The `log` import and captured stdout/stderr reach tracing tagged with topic, adapter and
//! role (what an operator filters on when one topic's adapter misbehaves).

mod runtime_common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use allora_sandbox::{Limits, Role};
use runtime_common::*;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn guest_logs_and_output_are_tagged() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let a = load("hostile.wasm", &[Role::Inference], &[], Limits::default()).await;
    let v = a.infer(&ctx(42, 7, &[("mode", "stdout")])).await.unwrap();
    assert_eq!(v[0].value, "2");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle))
            })
            .unwrap_or_else(|| panic!("no log line containing {needle:?} in:\n{text}"))
            .clone()
    };
    for needle in [
        "and from the log import",
        "hello from the guest's stdout",
        "and from its stderr",
    ] {
        let l = find(needle);
        assert_eq!(l["fields"]["topic_id"], 42, "{l}");
        assert_eq!(l["fields"]["adapter"], "hostile", "{l}");
        assert_eq!(l["fields"]["role"], "inference", "{l}");
    }
}
