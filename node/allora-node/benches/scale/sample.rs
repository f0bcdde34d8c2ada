//! The background sampler: node RSS from `/proc` and the adapter memory gauges from the
//! node's `/metrics`, every 250 ms while a phase is being measured.
//!
//! The gauges (`allora_adapter_linear_memory_bytes`, `allora_adapter_instances_live`) come from
//! the sandbox's ResourceLimiter; a node that does not export them yet leaves them `None`,
//! printed as "n/a" — RSS then includes adapter linear memory and cannot be split.

#[allow(unused_imports)]
use super::*;
use std::io::{Read, Write};

pub(crate) const LINEAR_MEMORY: &str = "allora_adapter_linear_memory_bytes";
pub(crate) const INSTANCES_LIVE: &str = "allora_adapter_instances_live";

/// Peaks seen while `sampling` was set (KiB / bytes / count; `u64::MAX` = never seen).
#[derive(Default)]
pub(crate) struct Peaks {
    pub(crate) rss_kib: AtomicU64,
    pub(crate) linear_bytes: AtomicU64,
    pub(crate) instances: AtomicU64,
    pub(crate) gauges_seen: AtomicBool,
}

pub(crate) struct Sampler {
    pub(crate) peaks: Arc<Peaks>,
    pub(crate) sampling: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub(crate) fn start(pid: u32, metrics: std::net::SocketAddr) -> Sampler {
        let peaks: Arc<Peaks> = Arc::default();
        let sampling = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peaks, sampling, stop) = (peaks.clone(), sampling.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if sampling.load(Ordering::Relaxed) {
                        if let Some(k) = status_kib(pid, "VmRSS:") {
                            peaks.rss_kib.fetch_max(k, Ordering::Relaxed);
                        }
                        if let Some(text) = scrape(metrics) {
                            if let Some(v) = gauge(&text, LINEAR_MEMORY) {
                                peaks.gauges_seen.store(true, Ordering::Relaxed);
                                peaks.linear_bytes.fetch_max(v as u64, Ordering::Relaxed);
                            }
                            if let Some(v) = gauge(&text, INSTANCES_LIVE) {
                                peaks.instances.fetch_max(v as u64, Ordering::Relaxed);
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
        };
        Sampler {
            peaks,
            sampling,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET /metrics` over plain HTTP/1.0 (loopback, tiny response; no client crate needed).
pub(crate) fn scrape(addr: std::net::SocketAddr) -> Option<String> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Sum of every series of gauge `name` (any labels) in a Prometheus text exposition.
pub(crate) fn gauge(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let v: f64 = rest.rsplit(' ').next()?.trim().parse().ok()?;
        *sum.get_or_insert(0.0) += v;
    }
    sum
}
