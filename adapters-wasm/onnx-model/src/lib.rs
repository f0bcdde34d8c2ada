//! `onnx-model`: runs a trained ONNX model (for example a scikit-learn regressor exported with
//! `skl2onnx`) inside the sandbox with `tract-onnx`, a pure-Rust runtime.
//!
//! The model file comes from a read-only mount (the adapter block's `files`), at
//! `ModelPath` (default `/model/model.onnx`). The feature vector, one row of `f32` (or `f64`
//! if the model's input is double), comes from:
//! - `Features`: numbers separated by commas and/or whitespace, e.g. `"1.5, 2, -0.25"`; or
//! - `FeaturesEndpoint`: a URL (templated like `http-source`: `{TopicId}`, `{BlockHeight}`,
//!   `{<parameter>}`) fetched through the allowlisted `http` import; its body is a series as
//!   `smoothing-model` reads it, and `Window` (optional) keeps only the last N values.
//!
//! If both are set, `Features` come first and the fetched values follow. The model's first
//! output must hold one element, or `OutputIndex` picks one; it is returned labelled `y`.
//!
//! The node gives every call a fresh instance, so nothing survives between calls and caching
//! the prepared model inside the instance would buy nothing: the model is read, parsed and
//! made runnable on every call. To keep that cheap it is only *typed and decluttered*, not
//! run through tract's full optimizer (which pays off on large graphs evaluated many times,
//! not on one row of a small tabular model). Per-call cost: docs/BENCHMARKS.md.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/inferer" });

use std::collections::BTreeMap;

use adapter_util::{params, parse_series, render};
use allora::adapter::http::{Request, fetch};
use allora::adapter::log::{Level, log};
use allora::adapter::types::{CallContext, LabeledValue};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// Where the model is read from unless `ModelPath` says otherwise.
const DEFAULT_MODEL_PATH: &str = "/model/model.onnx";
/// Largest feature vector accepted (a row, not a batch).
const MAX_FEATURES: usize = 100_000;

struct OnnxModel;

/// Parses `Features`: numbers separated by commas and/or whitespace.
fn parse_features(s: &str) -> Result<Vec<f64>, String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("parameter Features: {t:?} is not a finite number"))
        })
        .collect()
}

/// Fetches `FeaturesEndpoint` and keeps the last `Window` values (all if unset).
fn fetch_features(template: &str, ctx: &CallContext, p: &BTreeMap<String, String>) -> Result<Vec<f64>, String> {
    let url = render(template, ctx.topic_id, ctx.nonce, p);
    let resp = fetch(&Request { method: "GET".into(), url: url.clone(), headers: vec![], body: None })
        .map_err(|e| format!("GET {url}: {e:?}"))?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("GET {url}: HTTP status {}", resp.status));
    }
    let body = String::from_utf8(resp.body).map_err(|_| format!("GET {url}: body is not UTF-8"))?;
    let mut series = parse_series(&body)?;
    if let Some(w) = p.get("Window") {
        let w: usize = w.trim().parse().map_err(|_| format!("parameter Window={w:?} is not a count"))?;
        if w == 0 || w > series.len() {
            return Err(format!("parameter Window={w} but the endpoint returned {} values", series.len()));
        }
        series.drain(..series.len() - w);
    }
    Ok(series)
}

fn features(ctx: &CallContext, p: &BTreeMap<String, String>) -> Result<Vec<f64>, String> {
    let mut out = match p.get("Features") {
        Some(s) => parse_features(s)?,
        None => Vec::new(),
    };
    if let Some(t) = p.get("FeaturesEndpoint") {
        out.extend(fetch_features(t, ctx, p)?);
    }
    if out.is_empty() {
        return Err("no features: set the parameter Features and/or FeaturesEndpoint".into());
    }
    if out.len() > MAX_FEATURES {
        return Err(format!("{} features is more than the {MAX_FEATURES} accepted", out.len()));
    }
    Ok(out)
}

/// Loads the model for one row of `n` features and runs it; returns the first output as f64.
fn predict(path: &str, row: &[f64]) -> Result<Vec<f64>, String> {
    fn ctx<'a>(path: &'a str, what: &'a str) -> impl Fn(TractError) -> String + 'a {
        move |e| format!("{path}: {what}: {e:#}")
    }
    let mut model = tract_onnx::onnx().model_for_path(path).map_err(ctx(path, "loading the ONNX model"))?;
    let declared = model.input_fact(0).map_err(ctx(path, "reading the input"))?.datum_type;
    // skl2onnx declares `float_input` as [None, n] f32; anything but f64 is fed as f32.
    let double = declared.concretize() == Some(f64::datum_type());
    let n = row.len();
    let input: Tensor = if double {
        tract_ndarray::Array2::from_shape_vec((1, n), row.to_vec()).map_err(|e| e.to_string())?.into()
    } else {
        let f: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        tract_ndarray::Array2::from_shape_vec((1, n), f).map_err(|e| e.to_string())?.into()
    };
    model = model
        .with_input_fact(0, InferenceFact::dt_shape(input.datum_type(), [1, n]))
        .map_err(ctx(path, "setting the input shape"))?;
    let runnable = model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .and_then(|m| m.into_runnable())
        .map_err(|e| format!("{path}: preparing the model for {n} features: {e:#}"))?;
    let outputs = runnable.run(tvec!(input.into())).map_err(ctx(path, "running the model"))?;
    let first = outputs.first().ok_or_else(|| format!("{path}: the model has no output"))?;
    let as_f64 = first.cast_to::<f64>().map_err(ctx(path, "reading the output as numbers"))?;
    let view = as_f64.to_plain_array_view::<f64>().map_err(ctx(path, "reading the output"))?;
    Ok(view.iter().copied().collect())
}

impl exports::allora::adapter::inference::Guest for OnnxModel {
    fn infer(ctx: CallContext) -> Result<Vec<LabeledValue>, String> {
        let p = params(&ctx.params);
        let path = p.get("ModelPath").map(String::as_str).unwrap_or(DEFAULT_MODEL_PATH);
        let row = features(&ctx, &p)?;
        let out = predict(path, &row)?;
        let index = match p.get("OutputIndex") {
            Some(i) => i.trim().parse::<usize>().map_err(|_| format!("parameter OutputIndex={i:?} is not an index"))?,
            None if out.len() == 1 => 0,
            None => {
                return Err(format!("the model's output has {} values: set OutputIndex to pick one", out.len()));
            }
        };
        let y = *out
            .get(index)
            .ok_or_else(|| format!("OutputIndex={index} but the model's output has {} values", out.len()))?;
        if !y.is_finite() {
            return Err(format!("the model returned a non-finite value {y}"));
        }
        log(Level::Debug, &format!("onnx {path}: {} features -> {y}", row.len()));
        // The model computes in f32 unless its input is f64: print the f32 shortest form so the
        // submitted decimal is exactly the model's output, without f64 widening noise.
        let value = if (y as f32) as f64 == y { format!("{}", y as f32) } else { format!("{y}") };
        Ok(vec![LabeledValue { label: "y".into(), value }])
    }
}

export!(OnnxModel);
