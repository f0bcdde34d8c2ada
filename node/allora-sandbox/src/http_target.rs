//! The checks every outgoing guest request passes, whichever interface it comes through
//! (`allora:adapter/http` in `host_http`, standard `wasi:http` in `wasi_http`): scheme,
//! `allowedHosts`, DNS resolution and the post-DNS address rules of `netpolicy`, forbidden
//! request headers, and header-size caps. Both paths call these functions, so the two cannot
//! drift apart.
//!
//! [`resolve`] returns the exact addresses that passed the address rules; the caller must
//! connect to exactly those (a reqwest client pinned with `resolve_to_addrs`), so a name
//! cannot re-resolve somewhere else between the check and the connect (DNS rebinding).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::Url;

use super::netpolicy::{Allowlist, is_non_public};

/// Total bytes (names + values) of the headers a guest may send with one request.
pub const MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;
/// Total bytes (names + values) of the headers accepted in one response.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 64 * 1024;

/// HTTP requests end this much before the call's deadline (at most [`MAX_HTTP_RESERVE`]):
/// a guest whose request timed out still gets to answer — a fallback value or a clear error
/// naming the timeout — instead of the whole call being cut.
const HTTP_RESERVE_DIVISOR: u32 = 10;
const MAX_HTTP_RESERVE: Duration = Duration::from_millis(250);

/// The deadline of HTTP requests in a call that runs from `start` to `call_deadline`.
pub fn http_deadline(start: Instant, call_deadline: Instant) -> Instant {
    let budget = call_deadline.saturating_duration_since(start);
    let reserve = (budget / HTTP_RESERVE_DIVISOR).min(MAX_HTTP_RESERVE);
    call_deadline.checked_sub(reserve).unwrap_or(call_deadline)
}

/// Why a request target was refused or could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Only http and https are ever fetched.
    #[error("scheme {0:?} is not http/https")]
    Scheme(String),
    /// The URL has no host or no port.
    #[error("URL {0} has no host or port")]
    NoHost(String),
    /// No `allowedHosts` entry matches.
    #[error("{host}:{port} is not in the adapter's allowedHosts")]
    NotAllowed { host: String, port: u16 },
    /// DNS failed.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    /// DNS answered with nothing.
    #[error("{0} resolved to no address")]
    NoAddress(String),
    /// A name resolved to a non-public address without an entry that permits that.
    #[error(
        "{host}:{port} resolves to {ip}, a loopback/private/link-local address; only a literal-IP \"ip:port\" or an explicit \"private:host:port\" allowedHosts entry permits that"
    )]
    NonPublic { host: String, port: u16, ip: IpAddr },
}

impl TargetError {
    /// Whether this is a policy refusal (as opposed to a failed lookup or a bad URL).
    pub fn is_denial(&self) -> bool {
        matches!(
            self,
            TargetError::Scheme(_) | TargetError::NotAllowed { .. } | TargetError::NonPublic { .. }
        )
    }
}

/// A checked request target: the host as written in the URL and the addresses it may reach.
#[derive(Debug, Clone)]
pub struct Target {
    /// The host without IPv6 brackets.
    pub host: String,
    /// The resolved addresses, every one of which passed the address rules.
    pub addrs: Vec<SocketAddr>,
}

/// Checks scheme and allowlist, resolves the host (literal IPs are not looked up) and applies
/// the address rules to every resolved address.
pub async fn resolve(allow: &Allowlist, url: &Url) -> Result<Target, TargetError> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(TargetError::Scheme(scheme.to_string()));
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Err(TargetError::NoHost(url.to_string()));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = allow
        .check(scheme, bare, port)
        .ok_or_else(|| TargetError::NotAllowed {
            host: bare.to_string(),
            port,
        })?;
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|source| TargetError::Resolve {
                host: bare.to_string(),
                source,
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(TargetError::NoAddress(bare.to_string()));
    }
    if !allowed.exact
        && let Some(bad) = addrs.iter().find(|a| is_non_public(a.ip()))
    {
        return Err(TargetError::NonPublic {
            host: bare.to_string(),
            port,
            ip: bad.ip(),
        });
    }
    Ok(Target {
        host: bare.to_string(),
        addrs,
    })
}

/// Request headers a guest may not set. `host` follows the URL (letting the guest set it
/// would reach other virtual hosts behind an allowlisted address); the others are hop-by-hop
/// or proxy headers that could smuggle a second request or talk to a proxy
/// (the `wasi:http` defaults, which the host import applies as well).
pub fn is_forbidden_request_header(name: &str) -> bool {
    const FORBIDDEN: [&str; 9] = [
        "host",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
    ];
    FORBIDDEN
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name.trim()))
}

/// Total size of a header section as counted against the caps.
pub fn header_bytes<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> usize {
    headers
        .into_iter()
        .map(|(k, v)| k.len() + v.len())
        .fold(0, usize::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_requests_end_before_the_call() {
        let start = Instant::now();
        let d = http_deadline(start, start + Duration::from_millis(700));
        assert_eq!(d, start + Duration::from_millis(630));
        let d = http_deadline(start, start + Duration::from_secs(60));
        assert_eq!(d, start + Duration::from_secs(60) - MAX_HTTP_RESERVE);
        assert_eq!(http_deadline(start, start), start);
    }

    #[test]
    fn forbidden_headers_ignore_case() {
        for h in [
            "Host",
            "CONNECTION",
            "transfer-encoding",
            "Proxy-Authorization",
        ] {
            assert!(is_forbidden_request_header(h), "{h}");
        }
        for h in ["accept", "authorization", "content-type", "x-api-key"] {
            assert!(!is_forbidden_request_header(h), "{h}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_need_an_opt_in() {
        let url = Url::parse("http://localhost:9/").unwrap();
        let plain = Allowlist::parse(&["localhost:9"]).unwrap();
        let err = resolve(&plain, &url).await.unwrap_err();
        assert!(matches!(err, TargetError::NonPublic { .. }), "{err}");
        assert!(err.is_denial());
        let opted = Allowlist::parse(&["private:localhost:9"]).unwrap();
        let t = resolve(&opted, &url).await.unwrap();
        assert!(t.addrs.iter().all(|a| a.ip().is_loopback()), "{t:?}");
        let err = resolve(&opted, &Url::parse("ftp://localhost:9/").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, TargetError::Scheme(_)), "{err}");
    }
}
