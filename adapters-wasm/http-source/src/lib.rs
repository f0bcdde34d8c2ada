//! `http-source`: the equivalent of the Go node's `api-worker-reputer` adapter.
//!
//! - inference: GET `InferenceEndpoint`, the body is the value (label `"y"`);
//! - forecast: GET `ForecastEndpoint`, body `{"<inferer>": [value, ...]}`, first value each;
//! - ground truth: GET `GroundTruthEndpoint`, body is a number, with the Go node's tolerant
//!   cleanup (quotes, whitespace, thousands separators, extra dots).
//!
//! URLs are templated with `{TopicId}`, `{BlockHeight}` and `{<any parameter>}` (e.g.
//! `{Token}`), exactly like the Go adapter.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/source" });

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

export!(HttpSource);
