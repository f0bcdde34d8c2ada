//! Pure helpers shared by the Rust adapters (no WIT bindings here, so every adapter can
//! generate its own world): URL templating as the Go node's `api-worker-reputer` does it,
//! and tolerant parsing of the bodies such endpoints return.

use std::collections::BTreeMap;

/// Replaces `{TopicId}`, `{BlockHeight}` and `{<any parameter>}` in `template`.
pub fn render(template: &str, topic_id: u64, nonce: i64, params: &BTreeMap<String, String>) -> String {
    let mut out = template
        .replace("{TopicId}", &topic_id.to_string())
        .replace("{BlockHeight}", &nonce.to_string());
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Collects call parameters into a map.
pub fn params(list: &[(String, String)]) -> BTreeMap<String, String> {
    list.iter().cloned().collect()
}

/// Whether `s` is a plain finite decimal (optionally signed, optional exponent).
pub fn is_decimal(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The Go node's ground-truth cleanup: trim, drop quotes, whitespace and thousands
/// separators, keep only the first decimal point.
pub fn sanitize_number(body: &str) -> String {
    let trimmed = body.trim();
    if is_decimal(trimmed) {
        return trimmed.to_string();
    }
    let mut out = String::new();
    let mut seen_dot = false;
    for c in trimmed.chars() {
        match c {
            '"' | '\'' | ',' => {}
            c if c.is_whitespace() => {}
            '.' if seen_dot => {}
            '.' => {
                seen_dot = true;
                out.push('.');
            }
            c => out.push(c),
        }
    }
    out
}

/// Parses a price series: a JSON array of numbers (or numeric strings), or an object with a
/// `prices` (or `data`) array, or an array of `[timestamp, price]` pairs.
pub fn parse_series(body: &str) -> Result<Vec<f64>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("price series is not JSON: {e}"))?;
    let arr = match &v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => o
            .get("prices")
            .or_else(|| o.get("data"))
            .and_then(|p| p.as_array())
            .ok_or("expected a JSON array or an object with a \"prices\" array")?,
        _ => return Err("expected a JSON array of prices".into()),
    };
    arr.iter()
        .map(|x| {
            let x = match x {
                serde_json::Value::Array(pair) => pair.last().unwrap_or(x),
                _ => x,
            };
            match x {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|f: &f64| f.is_finite())
            .ok_or_else(|| format!("not a price: {x}"))
        })
        .collect()
}

/// Forecast body of the Go adapter: `{ "<inferer>": [value, ...] }`; returns the first value
/// of each inferer formatted like Go's `%f`.
pub fn parse_forecasts(body: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("forecast body is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("forecast body must be a JSON object {inferer: [values]}")?;
    let mut out = Vec::new();
    for (inferer, vals) in obj {
        let first = match vals {
            serde_json::Value::Array(a) => a.first(),
            other => Some(other),
        };
        let f = first
            .and_then(|x| x.as_f64().or_else(|| x.as_str().and_then(|s| s.trim().parse().ok())))
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("no numeric forecast for {inferer}"))?;
        out.push((inferer.clone(), format!("{f:.6}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templating_and_parsing() {
        let p = BTreeMap::from([("Token".to_string(), "ETH".to_string())]);
        assert_eq!(render("http://h/{Token}/{TopicId}/{BlockHeight}", 7, 100, &p), "http://h/ETH/7/100");
        assert_eq!(sanitize_number(" \"1,234.5.6\"\n"), "1234.56");
        assert_eq!(sanitize_number("42.5"), "42.5");
        assert_eq!(parse_series("[1, \"2.5\", 3]").unwrap(), vec![1.0, 2.5, 3.0]);
        assert_eq!(parse_series("{\"prices\": [[0, 1.0], [1, 2.0]]}").unwrap(), vec![1.0, 2.0]);
        assert_eq!(parse_forecasts("{\"a\": [1.5, 2]}").unwrap(), vec![("a".to_string(), "1.500000".to_string())]);
    }
}
