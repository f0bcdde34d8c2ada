//! `http-source`: the equivalent of the Go node's `api-worker-reputer` adapter.
//!
//! - inference: GET `InferenceEndpoint`, the body is the value (label `"y"`);
//! - forecast: GET `ForecastEndpoint`, body `{"<inferer>": [value, ...]}`, first value each;
//! - ground truth: GET `GroundTruthEndpoint`, body is a number, with the Go node's tolerant
//!   cleanup (quotes, whitespace, thousands separators, extra dots).
//!
//! - loss: the Go node's loss-function service — POST `<LossFunctionService>/calculate` with
//!   `{"y_true", "y_pred", "options"}` → `{"loss": "<decimal>"}` once per prediction, and
//!   POST `<LossFunctionService>/is_never_negative` with `{"options"}` →
//!   `{"is_never_negative": bool}`; `options` is the `LossMethodOptions` parameter (a JSON
//!   object as a string, default `{}`). One request per prediction, like the Go node, so the
//!   adapter's request cap must cover the bundle size.
//!
//! URLs are templated with `{TopicId}`, `{BlockHeight}` and `{<any parameter>}` (e.g.
//! `{Token}`), exactly like the Go adapter.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/full" });

use adapter_util::{params, parse_forecasts, render, sanitize_number};
use allora::adapter::http::{Error as HttpError, Request, fetch};
use allora::adapter::log::{Level, log};
use allora::adapter::types::{CallContext, ForecastValue, LabeledValue};

struct HttpSource;

fn get(ctx: &CallContext, param: &str) -> Result<String, String> {
    let p = params(&ctx.params);
    let template = p
        .get(param)
        .ok_or_else(|| format!("parameter {param} is not set; add it to the topic's parameters"))?;
    let url = render(template, ctx.topic_id, ctx.nonce, &p);
    log(Level::Debug, &format!("GET {url}"));
    let resp = fetch(&Request {
        method: "GET".into(),
        url: url.clone(),
        headers: vec![("accept".into(), "application/json, text/plain".into())],
        body: None,
    })
    .map_err(|e| format!("GET {url}: {}", describe(&e)))?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("GET {url}: HTTP status {}", resp.status));
    }
    String::from_utf8(resp.body).map_err(|_| format!("GET {url}: body is not UTF-8"))
}

fn post_json(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    let resp = fetch(&Request {
        method: "POST".into(),
        url: url.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(body.to_string().into_bytes()),
    })
    .map_err(|e| format!("POST {url}: {}", describe(&e)))?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("POST {url}: HTTP status {}", resp.status));
    }
    serde_json::from_slice(&resp.body).map_err(|e| format!("POST {url}: response is not JSON: {e}"))
}

/// The loss service base URL and the options object sent with every request.
fn loss_service(ctx: &CallContext) -> Result<(String, serde_json::Value), String> {
    let p = params(&ctx.params);
    let base = p
        .get("LossFunctionService")
        .ok_or("parameter LossFunctionService is not set; add it to lossFunctionParameters")?;
    let base = render(base, ctx.topic_id, ctx.nonce, &p);
    let options = match p.get("LossMethodOptions") {
        None => serde_json::json!({}),
        Some(s) => serde_json::from_str(s).map_err(|e| format!("LossMethodOptions is not a JSON object: {e}"))?,
    };
    Ok((base.trim_end_matches('/').to_string(), options))
}

fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Denied(s) => format!("denied: {s}"),
        HttpError::InvalidRequest(s) => format!("invalid request: {s}"),
        HttpError::Timeout => "timed out".into(),
        HttpError::TooLarge => "response too large".into(),
        HttpError::TooManyRequests => "too many requests".into(),
        HttpError::Transport(s) => format!("transport: {s}"),
    }
}

impl exports::allora::adapter::inference::Guest for HttpSource {
    fn infer(ctx: CallContext) -> Result<Vec<LabeledValue>, String> {
        let body = get(&ctx, "InferenceEndpoint")?;
        Ok(vec![LabeledValue {
            label: "y".into(),
            value: body.trim().to_string(),
        }])
    }
}

impl exports::allora::adapter::forecast::Guest for HttpSource {
    fn forecast(ctx: CallContext, inferers: Vec<String>) -> Result<Vec<ForecastValue>, String> {
        let body = get(&ctx, "ForecastEndpoint")?;
        let mut out: Vec<ForecastValue> = parse_forecasts(&body)?
            .into_iter()
            // Only inferers active on the topic can be forecast; others are skipped.
            .filter(|(inferer, _)| inferers.is_empty() || inferers.contains(inferer))
            .map(|(inferer, value)| ForecastValue { inferer, value })
            .collect();
        out.sort_by(|a, b| a.inferer.cmp(&b.inferer));
        Ok(out)
    }
}

impl exports::allora::adapter::ground_truth::Guest for HttpSource {
    fn ground_truth(ctx: CallContext) -> Result<String, String> {
        let body = get(&ctx, "GroundTruthEndpoint")?;
        Ok(sanitize_number(&body))
    }
}

impl exports::allora::adapter::loss::Guest for HttpSource {
    fn loss(ctx: CallContext, ground_truth: String, predictions: Vec<String>) -> Result<Vec<String>, String> {
        let (base, options) = loss_service(&ctx)?;
        let url = format!("{base}/calculate");
        predictions
            .iter()
            .map(|p| {
                let v = post_json(&url, &serde_json::json!({"y_true": ground_truth, "y_pred": p, "options": options}))?;
                match v.get("loss") {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(format!("POST {url}: no \"loss\" in {v}")),
                }
            })
            .collect()
    }

    fn never_negative(ctx: CallContext) -> Result<bool, String> {
        let (base, options) = loss_service(&ctx)?;
        let url = format!("{base}/is_never_negative");
        let v = post_json(&url, &serde_json::json!({"options": options}))?;
        v.get("is_never_negative")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| format!("POST {url}: no boolean \"is_never_negative\" in {v}"))
    }
}

export!(HttpSource);
