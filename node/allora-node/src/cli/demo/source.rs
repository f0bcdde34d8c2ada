//! The demo's local price source: the same endpoints and the same synthetic, deterministic
//! series as the compose stack's example service (`deploy/source/app.py`), served in-process on
//! loopback so `allora-node demo` needs nothing but the binary and the adapters.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// Seconds per series step for the time-based endpoints; heights map to one step each.
const STEP_SECONDS: u64 = 5;
const MAX_SERIES: usize = 1000;

/// Deterministic noise in [-1, 1) for (token, step).
fn noise(token: &str, step: i64) -> f64 {
    let digest = Sha256::digest(format!("{token}:{step}").as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head) as f64 / 2f64.powi(63) - 1.0
}

/// Synthetic price: slow waves plus small noise around the token's base price.
pub fn price(token: &str, step: i64) -> f64 {
    let token = token.to_ascii_uppercase();
    let base = match token.as_str() {
        "ETH" => 2500.0,
        "BTC" => 60000.0,
        "SOL" => 150.0,
        other => {
            let d = Sha256::digest(other.as_bytes());
            10.0 + f64::from(u16::from_be_bytes([d[0], d[1]]) % 1000)
        }
    };
    let s = step as f64;
    let wave = 0.02 * (s / 600.0).sin() + 0.005 * (s / 97.0).sin();
    let p = base * (1.0 + wave + 0.002 * noise(&token, step));
    (p * 1e6).round() / 1e6
}

fn current_step() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    (secs / STEP_SECONDS) as i64
}

fn text(v: f64) -> Response {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    (StatusCode::OK, s).into_response()
}

/// The price at `height + offset`, or 400 for a height that is not an integer.
fn at_height(token: &str, h: &str, offset: i64) -> Response {
    match h.parse::<i64>() {
        Ok(h) => text(price(token, h + offset)),
        Err(_) => (StatusCode::BAD_REQUEST, format!("bad height {h:?}")).into_response(),
    }
}

#[derive(Deserialize)]
struct SeriesQuery {
    n: Option<usize>,
}

/// The routes: `/inference/{token}`, `/inference/{token}/{height}`, `/truth/{token}/{height}`,
/// `/prices/{token}?n=N` (JSON `{"token", "prices"}`), `/health`.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/inference/{token}",
            get(|Path(token): Path<String>| async move { text(price(&token, current_step() + 1)) }),
        )
        .route(
            "/inference/{token}/{height}",
            get(|Path((token, h)): Path<(String, String)>| async move { at_height(&token, &h, 1) }),
        )
        .route(
            "/truth/{token}/{height}",
            get(|Path((token, h)): Path<(String, String)>| async move { at_height(&token, &h, 0) }),
        )
        .route(
            "/prices/{token}",
            get(
                |Path(token): Path<String>, Query(q): Query<SeriesQuery>| async move {
                    let n = q.n.unwrap_or(50).clamp(1, MAX_SERIES) as i64;
                    let end = current_step();
                    let prices: Vec<f64> = (end - n + 1..=end).map(|s| price(&token, s)).collect();
                    axum::Json(serde_json::json!({
                        "token": token.to_ascii_uppercase(),
                        "prices": prices,
                    }))
                    .into_response()
                },
            ),
        )
}

/// Serves the source on `addr` (port 0 = any free port) until `stop` is cancelled.
pub async fn serve(
    addr: SocketAddr,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(err) = served {
            tracing::warn!(error = %err, "demo price source stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_deterministic_and_near_the_base() {
        assert_eq!(price("ETH", 77), price("eth", 77));
        assert_ne!(price("ETH", 77), price("ETH", 78));
        for step in [0, 1_000, 5_000_000, 400_000_000] {
            let p = price("ETH", step);
            assert!((2400.0..2600.0).contains(&p), "{p}");
        }
    }

    #[test]
    fn matches_the_compose_example_service() {
        // Same formula as deploy/source/app.py: values computed there for these inputs.
        assert_eq!(text_of(price("ETH", 100)), "2518.223753");
        assert_eq!(text_of(price("XYZ", 5)), "523.110211");
    }

    fn text_of(v: f64) -> String {
        format!("{v:.6}")
    }
}
