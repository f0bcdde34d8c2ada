//! Adapter blocks and Go entrypoint names → [`AdapterPlan`]: the `.wasm` to load, its
//! validated allowlist and its complete sandbox [`Limits`]. A Go entrypoint
//! (`api-worker-reputer`) becomes the shipped `http_source.wasm` with the default limits and
//! an allowlist of exactly the `host:port` of its endpoint URLs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use allora_sandbox::{Limits, Mount, WarmConfig, mounts};

use super::super::defaults as d;
use super::super::raw::{RawAdapter, RawMount, RawWarm};
use super::policy::HostAllowlist;
use super::{Ctx, ENV_ADAPTERS_DIR, GO_ENTRYPOINT, HTTP_SOURCE_WASM};

/// A wasm adapter as the runtime should load it, plus the call parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterPlan {
    /// Name for logs and metrics (file stem, e.g. `http_source`).
    pub name: String,
    pub wasm: PathBuf,
    pub allowed_hosts: HostAllowlist,
    /// Every sandbox limit, filled from the config or [`defaults`](super::super::defaults).
    pub limits: Limits,
    /// The `parameters` map passed on every call (`CallContext::params`).
    pub params: BTreeMap<String, String>,
    /// Read-only host directories (`files`), validated.
    pub mounts: Vec<Mount>,
    /// `warm`: keep one instance per topic between calls; `None` (the default) gives every
    /// call a fresh instance.
    pub warm: Option<WarmConfig>,
}

/// The sandbox limits with every field at its default.
pub fn default_limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(d::ADAPTER_TIMEOUT_MS),
        memory_bytes: d::ADAPTER_MEMORY_MB << 20,
        max_http_requests: d::MAX_HTTP_REQUESTS,
        max_response_bytes: d::MAX_RESPONSE_BYTES,
        max_output_bytes: d::MAX_OUTPUT_BYTES,
        max_list_len: d::MAX_LIST_LEN,
    }
}

/// Reads an optional integer field in `range`, recording an issue (and using `default`)
/// when it is out of range.
#[allow(clippy::too_many_arguments)]
fn bounded(
    v: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    default: u64,
    path: &str,
    field: &str,
    fix: &str,
    cx: &mut Ctx<'_>,
) -> u64 {
    match v {
        None => default,
        Some(n) if range.contains(&n) => n as u64,
        Some(n) => {
            let msg = if *range.end() == i64::MAX {
                format!("{n} is not positive")
            } else {
                format!("{n} is outside {}–{}", range.start(), range.end())
            };
            cx.err(format!("{path}.{field}"), msg, fix);
            default
        }
    }
}

/// Builds an adapter plan from an explicit `*Adapter` block.
pub(super) fn adapter_block(
    a: &RawAdapter,
    path: &str,
    params: &BTreeMap<String, String>,
    cx: &mut Ctx<'_>,
) -> Option<AdapterPlan> {
    let Some(wasm) = a.wasm.as_deref().filter(|s| !s.is_empty()) else {
        cx.err(
            format!("{path}.wasm"),
            "missing",
            "set \"wasm\" to the path of a compiled adapter component (.wasm)",
        );
        return None;
    };
    let wasm = cx.resolve(wasm);
    if !wasm.is_file() {
        cx.err(
            format!("{path}.wasm"),
            format!("file {} does not exist", wasm.display()),
            "build the adapter (e.g. adapters-wasm/build.sh) or correct the path",
        );
    }
    let mut limits = default_limits();
    limits.timeout = Duration::from_millis(bounded(
        a.timeout_ms,
        1..=d::ADAPTER_TIMEOUT_MS_MAX as i64,
        d::ADAPTER_TIMEOUT_MS,
        path,
        "timeoutMs",
        "use a per-call budget in milliseconds, e.g. 5000",
        cx,
    ));
    limits.memory_bytes = bounded(
        a.memory_mb,
        1..=d::ADAPTER_MEMORY_MB_MAX as i64,
        d::ADAPTER_MEMORY_MB,
        path,
        "memoryMb",
        "use the adapter's memory cap in MiB, e.g. 64",
        cx,
    ) << 20;
    limits.max_http_requests = bounded(
        a.max_http_requests,
        0..=i64::from(d::MAX_HTTP_REQUESTS_LIMIT),
        u64::from(d::MAX_HTTP_REQUESTS),
        path,
        "maxHttpRequests",
        "use a small cap such as 8",
        cx,
    ) as u32;
    limits.max_response_bytes = bounded(
        a.max_response_bytes,
        1..=i64::MAX,
        d::MAX_RESPONSE_BYTES,
        path,
        "maxResponseBytes",
        "use a byte cap such as 1048576",
        cx,
    );
    let allowed_hosts = match HostAllowlist::parse(&a.allowed_hosts) {
        Ok(list) => list,
        Err((i, e)) => {
            cx.err(
                format!("{path}.allowedHosts[{i}]"),
                e,
                "list hosts as \"example.com\", \"example.com:8000\" or \"*.example.com\"",
            );
            HostAllowlist::default()
        }
    };
    let mounts = mounts(&a.files, path, cx);
    let warm = a
        .warm
        .as_ref()
        .map(|w| warm(w, limits.memory_bytes, path, cx));
    let mut merged = params.clone();
    merged.extend(a.params.clone());
    Some(AdapterPlan {
        name: wasm
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "adapter".into()),
        wasm,
        allowed_hosts,
        limits,
        params: merged,
        mounts,
        warm,
    })
}

/// Validates `warm`: `maxCalls` ≥ 1, `maxMemoryMb` within the adapter's `memoryMb` (its
/// default: the adapter's `memoryMb`, i.e. recycle only at the hard cap).
fn warm(w: &RawWarm, memory_bytes: u64, path: &str, cx: &mut Ctx<'_>) -> WarmConfig {
    let at = format!("{path}.warm");
    let max_calls = bounded(
        w.max_calls,
        1..=d::WARM_MAX_CALLS_LIMIT,
        d::WARM_MAX_CALLS,
        &at,
        "maxCalls",
        "use the number of calls one warm instance serves, e.g. 1000",
        cx,
    ) as u32;
    let cap_mb = (memory_bytes >> 20).max(1);
    let max_memory_mb = bounded(
        w.max_memory_mb,
        1..=cap_mb as i64,
        cap_mb,
        &at,
        "maxMemoryMb",
        "use a high-water mark in MiB no larger than the adapter's memoryMb",
        cx,
    );
    WarmConfig {
        max_calls,
        max_memory_bytes: max_memory_mb << 20,
    }
}

/// Validates `files`: every problem is reported with its index (missing or non-directory
/// host path, relative/duplicate/unclean guest path, bytes over the cap). Relative host
/// paths resolve against the config file's directory (the working directory for inline JSON).
fn mounts(files: &[RawMount], path: &str, cx: &mut Ctx<'_>) -> Vec<Mount> {
    let mut out = Vec::new();
    let mut guests = BTreeSet::new();
    for (i, f) in files.iter().enumerate() {
        let at = format!("{path}.files[{i}]");
        let max_mb = bounded(
            f.max_mb,
            1..=d::MOUNT_MAX_MB_LIMIT as i64,
            d::MOUNT_MAX_MB,
            &at,
            "maxMb",
            "use the mount's size cap in MiB, e.g. 256",
            cx,
        );
        let guest = match f.guest.as_deref() {
            None | Some("") => {
                cx.err(
                    format!("{at}.guest"),
                    "missing",
                    "set \"guest\" to the absolute path the adapter reads, e.g. \"/model\"",
                );
                None
            }
            Some(g) => match mounts::guest_path_problem(g) {
                Some(problem) => {
                    cx.err(
                        format!("{at}.guest"),
                        problem,
                        "use an absolute path without '.' or '..', e.g. \"/model\"",
                    );
                    None
                }
                None if !guests.insert(g.trim_end_matches('/').to_string()) => {
                    cx.err(
                        format!("{at}.guest"),
                        format!("{g:?} is already mounted by an earlier entry"),
                        "give every mount its own guest path",
                    );
                    None
                }
                None => Some(g.to_string()),
            },
        };
        let host = match f.host.as_deref().filter(|h| !h.is_empty()) {
            None => {
                cx.err(
                    format!("{at}.host"),
                    "missing",
                    "set \"host\" to the directory holding the model files",
                );
                None
            }
            Some(h) => {
                let resolved = cx.resolve(h);
                let shown = if resolved.as_os_str() == h {
                    resolved.display().to_string()
                } else {
                    format!(
                        "{} (relative, resolved against {})",
                        resolved.display(),
                        cx.base.display()
                    )
                };
                match mounts::dir_bytes(&resolved, max_mb << 20) {
                    Err(e) if !resolved.exists() => {
                        cx.err(
                            format!("{at}.host"),
                            format!("directory {shown} does not exist ({e})"),
                            "create it or correct the path",
                        );
                        None
                    }
                    Err(e) => {
                        cx.err(
                            format!("{at}.host"),
                            format!("{shown}: {e}"),
                            "mount a readable directory, not a file",
                        );
                        None
                    }
                    Ok(bytes) if bytes > max_mb << 20 => {
                        cx.err(
                            format!("{at}.host"),
                            format!("{shown} holds more than {max_mb} MiB"),
                            "raise files[].maxMb (and memoryMb if the adapter loads it all) or mount a smaller directory",
                        );
                        None
                    }
                    Ok(_) => Some(resolved),
                }
            }
        };
        if let (Some(host), Some(guest)) = (host, guest) {
            out.push(Mount {
                host,
                guest,
                max_bytes: max_mb << 20,
            });
        }
    }
    out
}

/// Where a Go entrypoint's endpoint URLs live in the config.
pub(super) struct GoEntrypoint<'a> {
    /// e.g. `worker[0]`.
    pub path: &'a str,
    /// e.g. `inferenceEntrypointName`.
    pub field: &'a str,
    /// e.g. `parameters`.
    pub params_path: &'a str,
    /// e.g. `["InferenceEndpoint"]`; the first one is named when none is present.
    pub endpoint_keys: &'a [&'a str],
}

/// Maps a Go entrypoint name onto the shipped http-source adapter. The endpoint parameter
/// (`InferenceEndpoint`, …) must be present; its host:port becomes the allowlist.
pub(super) fn go_entrypoint(
    name: &str,
    at: GoEntrypoint<'_>,
    params: &BTreeMap<String, String>,
    cx: &mut Ctx<'_>,
) -> Option<AdapterPlan> {
    let GoEntrypoint {
        path,
        field,
        params_path,
        endpoint_keys,
    } = at;
    if name != GO_ENTRYPOINT {
        cx.err(
            format!("{path}.{field}"),
            format!("unknown entrypoint '{name}'"),
            format!(
                "use \"{GO_ENTRYPOINT}\" (HTTP endpoints in the parameters) or replace it with an adapter block pointing at a .wasm"
            ),
        );
        return None;
    }
    let mut hosts = BTreeSet::new();
    let mut found = false;
    for key in endpoint_keys {
        let Some(endpoint) = params.get(*key) else {
            continue;
        };
        found = true;
        // Placeholders like {Token} may sit in the path; the authority must be literal.
        let probe = endpoint.replace(['{', '}'], "");
        match url::Url::parse(&probe) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                let host = u.host_str().unwrap_or_default();
                let port = u.port_or_known_default().unwrap_or(80);
                hosts.insert(go_endpoint_entry(host, port));
            }
            _ => cx.err(
                format!("{path}.{params_path}.{key}"),
                format!("'{endpoint}' is not an http(s) URL"),
                "use a URL such as http://source:8000/inference/{Token}",
            ),
        }
    }
    if !found {
        cx.err(
            format!("{path}.{params_path}.{}", endpoint_keys[0]),
            format!("missing: {GO_ENTRYPOINT} needs the endpoint URL"),
            format!(
                "add \"{}\": \"http://host:port/path/{{Token}}\" to {params_path}",
                endpoint_keys[0]
            ),
        );
    }
    let Some(dir) = cx.adapters_dir.clone() else {
        cx.err(
            format!("{path}.{field}"),
            format!("{GO_ENTRYPOINT} runs on the shipped {HTTP_SOURCE_WASM}, which was not found"),
            format!(
                "build it with adapters-wasm/build.sh, then set node.adaptersDir or ${ENV_ADAPTERS_DIR} to the directory holding {HTTP_SOURCE_WASM}"
            ),
        );
        return None;
    };
    let wasm = dir.join(HTTP_SOURCE_WASM);
    if !wasm.is_file() {
        cx.err(
            format!("{path}.{field}"),
            format!("{} does not exist", wasm.display()),
            format!("build the shipped adapters (adapters-wasm/build.sh) or fix node.adaptersDir / ${ENV_ADAPTERS_DIR}"),
        );
    }
    let hosts: Vec<String> = hosts.into_iter().collect();
    let allowed_hosts = match HostAllowlist::parse(&hosts) {
        Ok(list) => list,
        Err((i, e)) => {
            cx.err(
                format!("{path}.{params_path}.{}", endpoint_keys[0]),
                format!("endpoint host {} cannot be allowlisted: {e}", hosts[i]),
                "use a URL with a plain host name or IP address",
            );
            HostAllowlist::default()
        }
    };
    Some(AdapterPlan {
        name: "http_source".into(),
        wasm,
        allowed_hosts,
        limits: default_limits(),
        params: params.clone(),
        mounts: Vec::new(),
        warm: None,
    })
}

/// The allowlist entry for an endpoint the operator typed into a Go-style entrypoint. A
/// single-label name (`source`, `localhost`: a compose service or the hosts file) can only
/// be answered by local resolution, so it may reach a private address, as the Go node's would
/// (`private:` opt-in). A dotted name is public DNS, whose owner could rebind it to loopback or
/// 169.254.169.254: it stays a plain `host:port` entry and must resolve to public addresses.
/// A literal IP is allowed as written.
fn go_endpoint_entry(host: &str, port: u16) -> String {
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    if !is_ip && !host.contains('.') {
        format!("private:{host}:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod go_endpoint_tests {
    use super::go_endpoint_entry;

    #[test]
    fn only_local_names_opt_into_private_addresses() {
        assert_eq!(go_endpoint_entry("source", 8000), "private:source:8000");
        assert_eq!(
            go_endpoint_entry("localhost", 5000),
            "private:localhost:5000"
        );
        assert_eq!(go_endpoint_entry("127.0.0.1", 8000), "127.0.0.1:8000");
        assert_eq!(go_endpoint_entry("[::1]", 8000), "[::1]:8000");
        assert_eq!(
            go_endpoint_entry("api.example.com", 443),
            "api.example.com:443"
        );
    }
}
