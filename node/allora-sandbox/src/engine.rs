//! The single wasmtime [`Engine`] shared by every adapter, and its epoch ticker.
//!
//! Component model + async (host `http` awaits reqwest), epoch interruption for cheap
//! wall-clock deadlines, and the pooling allocator so a fresh instance per call costs
//! microseconds. Pooling reserves a lot of virtual memory up front; where that fails (small
//! `vm.max_map_count`, ulimits, 32-bit) we fall back to on-demand allocation rather than
//! refusing to start.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::RuntimeConfig;
use super::error::RuntimeError;

/// How often the epoch advances; deadlines are rounded up to this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// The pooling allocator (fast instantiation).
    Pooling,
    /// On-demand allocation (fallback).
    OnDemand,
}

fn base_config() -> Config {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.epoch_interruption(true);
    cfg.cranelift_opt_level(OptLevel::Speed);
    cfg
}

fn pooling(rc: &RuntimeConfig) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    let slots = rc.max_concurrent_instances.max(1);
    pool.total_component_instances(slots)
        // Python and JS guests are made of many core instances sharing a few memories.
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(8))
        .total_stacks(slots)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(32)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(4 << 20)
        .table_elements(200_000)
        .max_memory_size(rc.max_memory_bytes as usize);
    pool
}

/// Creates the engine: pooling first, on-demand if the pool cannot be reserved.
pub fn create(rc: &RuntimeConfig) -> Result<(Engine, Allocator), RuntimeError> {
    if rc.pooling {
        let mut cfg = base_config();
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(rc)));
        match Engine::new(&cfg) {
            Ok(engine) => return Ok((engine, Allocator::Pooling)),
            Err(e) => tracing::warn!(
                error = %e,
                "pooling allocator unavailable; falling back to on-demand instance allocation"
            ),
        }
    }
    let mut cfg = base_config();
    cfg.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    let engine = Engine::new(&cfg).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
    Ok((engine, Allocator::OnDemand))
}

/// The engine a compile process uses: the same compilation settings as [`create`] (so the
/// runtime's engine accepts its output; wasmtime checks the compatibility header), with
/// on-demand allocation, since the pooling allocator's up-front reservation would not fit
/// under the compile process's address-space limit and a compile instantiates nothing.
pub(crate) fn for_compiling() -> wasmtime::Result<Engine> {
    let mut cfg = base_config();
    cfg.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    Engine::new(&cfg)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread. The thread holds
/// only a weak reference and exits once the engine is dropped.
pub fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        // Without a ticker deadlines still hold through the host-side timeout, just less
        // precisely for guests spinning in pure wasm; make that loud.
        tracing::error!(error = %e, "cannot start the wasm epoch ticker thread");
    }
}

/// Number of epoch ticks covering `d` (rounded up, at least one).
pub fn ticks_for(d: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    (d.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
