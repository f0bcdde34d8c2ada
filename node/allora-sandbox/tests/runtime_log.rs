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

fn text_capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(capture.clone())
        .finish();
    (
        capture.clone(),
        tracing::subscriber::set_default(subscriber),
    )
}

/// A guest cannot start a forged line in the text log format, through the `log` import or
/// its stdout: newlines and other control/format characters are escaped.
#[tokio::test]
async fn guest_text_cannot_forge_log_lines() {
    let (capture, _guard) = text_capture();
    let forged = "2030-01-01T00:00:00.000000Z  INFO allora_node::worker: submitted FORGED";
    let text = format!("benign\n{forged}\r\n\u{202E}tail");
    let a = load("hostile.wasm", &[Role::Inference], &[], Limits::default()).await;
    let v = a
        .infer(&ctx(42, 7, &[("mode", "log-inject"), ("text", &text)]))
        .await
        .unwrap();
    assert_eq!(v[0].value, "3");
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let hits: Vec<&str> = out.lines().filter(|l| l.contains("FORGED")).collect();
    assert_eq!(
        hits.len(),
        2,
        "log import and stdout, one line each:\n{out}"
    );
    for line in hits {
        assert!(!line.starts_with("2030-"), "forged line:\n{out}");
        assert!(
            line.contains("benign\\n2030-") && line.contains("\\u{202e}tail"),
            "{line}"
        );
        assert!(line.contains("adapter=hostile"), "{line}");
    }
    assert!(!out.contains('\u{202E}'), "{out}");
}

/// A stdout flood is cut at the cap and the cut is logged once per stream, with counts.
#[tokio::test]
async fn stdout_flood_is_cut_and_the_cut_is_logged_once() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let a = load("hostile.wasm", &[Role::Inference], &[], Limits::default()).await;
    let flood: u64 = 1 << 20;
    let v = a
        .infer(&ctx(
            9,
            1,
            &[("mode", "flood"), ("bytes", &flood.to_string())],
        ))
        .await
        .unwrap();
    assert_eq!(v[0].value, "4");
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let cuts: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "adapter output truncated")
        .collect();
    assert_eq!(cuts.len(), 1, "{text}");
    let f = &cuts[0]["fields"];
    assert_eq!(cuts[0]["level"], "WARN");
    assert_eq!(f["stream"], "stdout");
    assert_eq!(f["adapter"], "hostile");
    assert_eq!(f["topic_id"], 9);
    let kept = f["kept_bytes"].as_u64().unwrap();
    let dropped = f["dropped_bytes"].as_u64().unwrap();
    assert_eq!(kept + dropped, flood, "{f}");
    assert!(dropped > 0 && kept <= 16 * 1024, "{f}");
}
