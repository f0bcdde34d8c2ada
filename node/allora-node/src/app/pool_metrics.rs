//! Exports the adapter instance pool's gauges on `/metrics`. The sandbox keeps them as
//! atomics (it must not depend on this crate's metrics); this collector reads a snapshot at
//! every scrape, so the values are never stale and nothing polls in between.

use std::sync::Mutex;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntGauge};

use crate::metrics::{Metrics, MetricsError};
use allora_sandbox::AdapterRuntime;

/// Reads [`AdapterRuntime::pool_stats`] at scrape time.
struct PoolCollector {
    runtime: AdapterRuntime,
    live: IntGauge,
    memory: IntGauge,
    queued: IntGauge,
    capacity: IntGauge,
    /// Reset and re-filled from the sandbox's monotonic count under the lock, so two
    /// concurrent scrapes cannot add it twice.
    queue_timeouts: Mutex<IntCounter>,
    descs: Vec<Desc>,
}

impl PoolCollector {
    fn new(runtime: AdapterRuntime) -> prometheus::Result<PoolCollector> {
        let live = IntGauge::new(
            "allora_adapter_instances_live",
            "Adapter instances alive now (running a call, instantiating, or kept warm)",
        )?;
        let memory = IntGauge::new(
            "allora_adapter_linear_memory_bytes",
            "Linear memory held by live adapter instances, in bytes",
        )?;
        let queued = IntGauge::new(
            "allora_adapter_queued_calls",
            "Adapter calls waiting for a free instance slot (node.adapterInstances)",
        )?;
        let capacity = IntGauge::new(
            "allora_adapter_instance_slots",
            "Adapter instance slots (node.adapterInstances)",
        )?;
        let queue_timeouts = IntCounter::new(
            "allora_adapter_queue_timeouts_total",
            "Adapter calls whose deadline passed while waiting for an instance slot",
        )?;
        let descs = [
            live.desc(),
            memory.desc(),
            queued.desc(),
            capacity.desc(),
            queue_timeouts.desc(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        Ok(PoolCollector {
            runtime,
            live,
            memory,
            queued,
            capacity,
            queue_timeouts: Mutex::new(queue_timeouts),
            descs,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let s = self.runtime.pool_stats();
        let gauge = |g: &IntGauge, v: u64| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
            g.collect()
        };
        let mut out = Vec::with_capacity(5);
        out.extend(gauge(&self.live, s.instances_live));
        out.extend(gauge(&self.memory, s.linear_memory_bytes));
        out.extend(gauge(&self.queued, s.queued));
        out.extend(gauge(&self.capacity, s.capacity));
        let counter = self
            .queue_timeouts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counter.reset();
        counter.inc_by(s.queue_timeouts_total);
        out.extend(counter.collect());
        out
    }
}

/// Registers the pool's gauges of `runtime` in `metrics` (once per process).
pub fn register(metrics: &Metrics, runtime: &AdapterRuntime) -> Result<(), MetricsError> {
    metrics.register(Box::new(PoolCollector::new(runtime.clone())?))
}
