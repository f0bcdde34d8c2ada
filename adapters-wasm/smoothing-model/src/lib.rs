//! `smoothing-model`: a real model computed inside the sandbox.
//!
//! Fetches a price series from `PriceEndpoint` (templated like `http-source`; body is a JSON
//! array of prices, `{"prices": [...]}`, or `[[t, price], ...]`) and predicts the price
//! `Horizon` steps ahead with Holt's linear exponential smoothing (level `Alpha`, trend
//! `Beta`, both in (0, 1]; defaults 0.5 and 0.3, horizon 1).

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/inferer" });

use adapter_util::{params, parse_series, render};
use allora::adapter::http::{Request, fetch};
use allora::adapter::log::{Level, log};
use allora::adapter::types::{CallContext, LabeledValue};

struct Smoothing;

fn param_f64(p: &std::collections::BTreeMap<String, String>, key: &str, default: f64) -> Result<f64, String> {
    match p.get(key) {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("parameter {key}={s:?} is not a number")),
    }
}

/// Holt's linear method; returns the forecast `horizon` steps past the last observation.
fn holt(series: &[f64], alpha: f64, beta: f64, horizon: f64) -> f64 {
    let mut level = series[0];
    let mut trend = if series.len() > 1 { series[1] - series[0] } else { 0.0 };
    for &x in &series[1..] {
        let prev = level;
        level = alpha * x + (1.0 - alpha) * (level + trend);
        trend = beta * (level - prev) + (1.0 - beta) * trend;
    }
    level + horizon * trend
}

impl exports::allora::adapter::inference::Guest for Smoothing {
    fn infer(ctx: CallContext) -> Result<Vec<LabeledValue>, String> {
        let p = params(&ctx.params);
        let template = p.get("PriceEndpoint").ok_or("parameter PriceEndpoint is not set")?;
        let alpha = param_f64(&p, "Alpha", 0.5)?;
        let beta = param_f64(&p, "Beta", 0.3)?;
        let horizon = param_f64(&p, "Horizon", 1.0)?;
        if !(alpha > 0.0 && alpha <= 1.0 && beta > 0.0 && beta <= 1.0) {
            return Err("Alpha and Beta must be in (0, 1]".into());
        }
        let url = render(template, ctx.topic_id, ctx.nonce, &p);
        let resp = fetch(&Request {
            method: "GET".into(),
            url: url.clone(),
            headers: vec![],
            body: None,
        })
        .map_err(|e| format!("GET {url}: {e:?}"))?;
        if !(200..300).contains(&resp.status) {
            return Err(format!("GET {url}: HTTP status {}", resp.status));
        }
        let body = String::from_utf8(resp.body).map_err(|_| "price body is not UTF-8".to_string())?;
        let series = parse_series(&body)?;
        if series.is_empty() {
            return Err("empty price series".into());
        }
        let y = holt(&series, alpha, beta, horizon);
        log(Level::Info, &format!("holt forecast over {} prices: {y}", series.len()));
        Ok(vec![LabeledValue {
            label: "y".into(),
            value: format!("{y}"),
        }])
    }
}

export!(Smoothing);
