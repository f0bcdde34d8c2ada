//! The adapter HTTP allowlist and the post-DNS address rules (DESIGN.md "Sandbox rules").
//!
//! Deny by default: a request is allowed only if its scheme/host/port matches an
//! `allowedHosts` entry. After DNS resolution, loopback, link-local (incl. the cloud metadata
//! address 169.254.169.254), private, shared (CGNAT), multicast and unspecified addresses are
//! refused unless the request matched either
//! - an entry naming a *literal IP* with its port (`127.0.0.1:8000`, `[::1]:9000`): the
//!   operator named that address, no DNS is involved; or
//! - an entry that opts in explicitly with the `private:` prefix and names an exact host and
//!   port (`private:source:8000`): the operator accepts that whoever controls that name's DNS
//!   can point it at any address of the node's network on that port.
//!
//! A plain `host:port` entry for a DNS name (what Go-style `api-worker-reputer` endpoints
//! produce) never reaches non-public addresses: otherwise DNS rebinding could lead a public
//! name to loopback, 169.254.169.254 or the LAN on that port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One parsed `allowedHosts` entry: `[scheme://]host[:port]` or `[scheme://]*.domain[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// `private:` prefix: an explicit opt-in to non-public addresses for this exact host.
    private: bool,
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
    Suffix(String),
}

/// How a URL matched the allowlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowMatch {
    /// The entry permits non-public addresses: a literal IP with its port, or an exact
    /// `private:host:port` opt-in.
    pub exact: bool,
}

/// The per-adapter allowlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<AllowEntry>,
}

impl Allowlist {
    /// Parses every entry; the error names the bad entry and the accepted forms.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Allowlist, String> {
        Allowlist::parse_indexed(entries).map_err(|(_, e)| e)
    }

    /// Like [`Allowlist::parse`], but the error also carries the index of the first bad
    /// entry, so a config validator can point at `allowedHosts[i]`. This is the one parser
    /// of allowlist text: the node validates its config with it and hands the result to
    /// [`crate::AdapterSpec`] as is.
    pub fn parse_indexed<S: AsRef<str>>(entries: &[S]) -> Result<Allowlist, (usize, String)> {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(i, e)| AllowEntry::parse(e.as_ref()).map_err(|err| (i, err)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist { entries })
    }

    /// Matches a request target; `None` means it is not allowlisted.
    pub fn check(&self, scheme: &str, host: &str, port: u16) -> Option<AllowMatch> {
        let host = normalize_host(host);
        let mut found: Option<AllowMatch> = None;
        for e in &self.entries {
            if e.scheme.as_deref().is_some_and(|s| s != scheme) {
                continue;
            }
            let host_ok = match &e.host {
                HostPattern::Exact(h) => *h == host,
                HostPattern::Suffix(s) => {
                    host.len() > s.len() + 1 && host.ends_with(&format!(".{s}"))
                }
            };
            let port_ok = match e.port {
                Some(p) => p == port,
                None => port == 80 || port == 443,
            };
            if host_ok && port_ok {
                let exact = e.port.is_some()
                    && match &e.host {
                        HostPattern::Exact(h) => e.private || h.parse::<IpAddr>().is_ok(),
                        HostPattern::Suffix(_) => false,
                    };
                found = Some(AllowMatch {
                    exact: exact || found.is_some_and(|f| f.exact),
                });
            }
        }
        found
    }

    /// Whether the list is empty (the adapter may not use HTTP at all).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl AllowEntry {
    fn parse(raw: &str) -> Result<AllowEntry, String> {
        let bad = |why: &str| {
            format!(
                "allowedHosts entry {raw:?} {why}; use host:port (e.g. \"api.example.com:443\", \"127.0.0.1:8000\"), a host (ports 80/443), \"*.example.com\" or \"private:host:port\" to let a DNS name reach private addresses"
            )
        };
        let s = raw.trim().trim_end_matches('/');
        let (private, s) = match s.strip_prefix("private:") {
            Some(rest) => (true, rest.trim()),
            None => (false, s),
        };
        let (scheme, rest) = match s.split_once("://") {
            Some((sc, r)) => {
                let sc = sc.to_ascii_lowercase();
                if sc != "http" && sc != "https" {
                    return Err(bad("has a scheme other than http/https"));
                }
                (Some(sc), r)
            }
            None => (None, s),
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("is not a host"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("has an invalid port"))?;
        let host = normalize_host(host);
        if host.is_empty() {
            return Err(bad("has an empty host"));
        }
        let host = match host.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => {
                HostPattern::Suffix(suffix.to_string())
            }
            _ if host.contains('*') => {
                return Err(bad("has a wildcard other than a leading \"*.\""));
            }
            _ => HostPattern::Exact(host),
        };
        if private && (port.is_none() || matches!(host, HostPattern::Suffix(_))) {
            return Err(bad(
                "opts into private addresses without an exact host and port",
            ));
        }
        Ok(AllowEntry {
            private,
            scheme,
            host,
            port,
        })
    }
}

fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((h, Some(p.parse().ok()?))),
            None if after.is_empty() => Some((h, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p.parse().ok()?))),
        Some(_) => Some((s, None)), // bare IPv6
        None => Some((s, None)),
    }
}

fn normalize_host(h: &str) -> String {
    h.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether an address is outside the public internet (loopback, private, link-local,
/// unspecified, shared, multicast, broadcast, documentation and similar ranges).
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_non_public_v4(v4);
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg0 & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6.segments()[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
                || (seg0 == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 can reach private v4
                || (seg0 == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::UNSPECIFIED
        }
    }
}

fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entries_and_patterns() {
        let l = Allowlist::parse(&[
            "127.0.0.1:8000",
            "api.example.com",
            "*.prices.io:8443",
            "https://secure.net",
        ])
        .unwrap();
        assert_eq!(
            l.check("http", "127.0.0.1", 8000),
            Some(AllowMatch { exact: true })
        );
        assert_eq!(l.check("http", "127.0.0.1", 8001), None);
        // An exact host:port for a DNS name does not open private addresses (DNS
        // rebinding); a literal IP or the explicit `private:` opt-in does.
        let names = Allowlist::parse(&["source:8000", "private:db.local:5000"]).unwrap();
        assert_eq!(
            names.check("http", "source", 8000),
            Some(AllowMatch { exact: false })
        );
        assert_eq!(
            names.check("http", "db.local", 5000),
            Some(AllowMatch { exact: true })
        );
        assert_eq!(
            l.check("https", "API.example.com", 443),
            Some(AllowMatch { exact: false })
        );
        assert_eq!(l.check("https", "api.example.com", 8443), None);
        assert_eq!(
            l.check("https", "a.prices.io", 8443),
            Some(AllowMatch { exact: false })
        );
        assert_eq!(l.check("https", "prices.io", 8443), None);
        assert_eq!(l.check("https", "evilprices.io", 8443), None);
        assert_eq!(
            l.check("https", "secure.net", 443),
            Some(AllowMatch { exact: false })
        );
        assert_eq!(l.check("http", "secure.net", 80), None);
        let v6 = Allowlist::parse(&["[::1]:9000"]).unwrap();
        assert_eq!(
            v6.check("http", "[::1]", 9000),
            Some(AllowMatch { exact: true })
        );
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "",
            "ftp://x",
            "host:notaport",
            "a/b",
            "*",
            "a.*.com",
            "user@host",
            "private:*.example.com:80",
            "private:source",
        ] {
            let err = Allowlist::parse(&[bad]).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
            let (i, _) = Allowlist::parse_indexed(&["api.example.com", bad]).unwrap_err();
            assert_eq!(i, 1, "{bad:?}");
        }
    }

    #[test]
    fn address_classes() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
