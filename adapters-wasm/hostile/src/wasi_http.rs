//! The hostile adapter's standard `wasi:http` client (the `wasip2` crate's bindings): the same
//! misbehaviours as the `allora:adapter/http` modes, through the interface JavaScript `fetch()`
//! and other stock clients use, so the sandbox tests can show both paths obey one policy.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingRequest, RequestOptions, Scheme,
    http_error_code,
};
use wasip2::io::streams::StreamError;

/// What a finished request saw.
pub struct Got {
    pub status: u16,
    pub body_bytes: usize,
}

/// `GET url` with extra headers; `timeout_ms` sets the guest's own connect and first-byte
/// timeouts (the host must still cut the request at the call's budget). Errors are the
/// `wasi:http` error codes, debug-printed (`ErrorCode::HttpRequestDenied`, ...).
pub fn get(url: &str, headers: &[(String, String)], timeout_ms: Option<u64>) -> Result<Got, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("bad url {url:?}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fields = Fields::new();
    for (k, v) in headers {
        fields
            .append(k, v.as_bytes())
            .map_err(|e| format!("setting header {k:?}: HeaderError::{e:?}"))?;
    }
    let req = OutgoingRequest::new(fields);
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    };
    req.set_method(&Method::Get).map_err(|()| "set-method refused")?;
    req.set_scheme(Some(&scheme)).map_err(|()| format!("set-scheme {scheme:?} refused"))?;
    req.set_authority(Some(authority)).map_err(|()| format!("set-authority {authority:?} refused"))?;
    req.set_path_with_query(Some(path)).map_err(|()| format!("set-path {path:?} refused"))?;
    let options = timeout_ms.map(|ms| {
        let o = RequestOptions::new();
        let _ = o.set_connect_timeout(Some(ms * 1_000_000));
        let _ = o.set_first_byte_timeout(Some(ms * 1_000_000));
        let _ = o.set_between_bytes_timeout(Some(ms * 1_000_000));
        o
    });
    let pending = outgoing_handler::handle(req, options).map_err(code)?;
    let resp = loop {
        match pending.get() {
            Some(r) => break r,
            None => pending.subscribe().block(),
        }
    };
    let resp = resp.map_err(|()| "response taken twice".to_string())?.map_err(code)?;
    let status = resp.status();
    let body = resp.consume().map_err(|()| "body taken twice".to_string())?;
    let mut body_bytes = 0usize;
    {
        let stream = body.stream().map_err(|()| "body stream taken twice".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body_bytes += chunk.len(),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    let why = match http_error_code(&e) {
                        Some(c) => code(c),
                        None => e.to_debug_string(),
                    };
                    return Err(format!("reading the body after {body_bytes} bytes: {why}"));
                }
            }
        }
    }
    let trailers = IncomingBody::finish(body);
    loop {
        match trailers.get() {
            Some(Ok(Err(c))) => return Err(format!("after the body: {}", code(c))),
            Some(_) => break,
            None => trailers.subscribe().block(),
        }
    }
    Ok(Got { status, body_bytes })
}

/// The code as its debug form (`ErrorCode::HttpRequestDenied`, ...).
fn code(c: ErrorCode) -> String {
    format!("{c:?}")
}
