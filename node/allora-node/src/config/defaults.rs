//! Every default the node applies, in one place. Each constant is the only source of its
//! value: validation fills the [`Plan`](super::Plan) from here, and the composition root
//! builds the sandbox limits and the tx actor's configuration from the Plan, never from a
//! library's `Default`. `docs/CONFIGURATION.md` lists each one with the reason for it.

use std::time::Duration;

// ── wallet: fees and gas ────────────────────────────────────────────────────────────────

/// `wallet.gasAdjustment`: the Go node's example value; simulation under-reports gas for
/// payloads whose size varies between simulate and deliver.
pub const GAS_ADJUSTMENT: f64 = 1.5;
/// Valid range of `wallet.gasAdjustment`.
pub const GAS_ADJUSTMENT_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10.0;
/// `wallet.maxFees`, uallo per tx. A payload tx needs ~250,000 gas (protocol reference D.5)
/// × 1.5 adjustment ≈ 375,000 gas; at mainnet's minimum gas price (250,000,000 uallo/gas)
/// that is ~9.4e13 uallo. A full batch (`MAX_GAS_PER_TX` = 10M gas) at that price costs
/// 2.5e15. 5e15 uallo (0.005 ALLO) pays for a full batch with 2× headroom for fee-market
/// surges, and bounds what one tx can ever spend. The Go node's suggested 5,000,000 uallo
/// would refuse every mainnet tx (see docs/CONFIGURATION.md).
pub const MAX_FEES_UALLO: u128 = 5_000_000_000_000_000;
/// Gas price (uallo/gas) used when `gasPrices` is `"auto"` and the fee market does not
/// answer: testnet's minimum gas price (protocol reference D.5, `fee_minimum_gas_price`).
pub const FALLBACK_GAS_PRICE: f64 = 10.0;
/// Multiplier on the fee market's price: headroom for the price moving between the query
/// and inclusion (the Python SDK's STANDARD tier).
pub const GAS_PRICE_MULTIPLIER: f64 = 1.5;
/// The fee denom of every Allora network.
pub const FEE_DENOM: &str = "uallo";

// ── wallet: retries ─────────────────────────────────────────────────────────────────────

/// `wallet.maxRetries`: the Go node's example value.
pub const MAX_RETRIES: i64 = 5;
/// Upper bound of `wallet.maxRetries`.
pub const MAX_RETRIES_LIMIT: i64 = 100;
/// `wallet.retryDelay`, seconds: the Go node's example value.
pub const RETRY_DELAY_SECS: i64 = 3;
/// `wallet.accountSequenceRetryDelay`, seconds: the Go node's example value.
pub const SEQUENCE_RETRY_DELAY_SECS: i64 = 5;
/// Upper bound of both delays (seconds).
pub const MAX_DELAY_SECS: i64 = 3600;
/// `wallet.submitTx`: a node submits unless told to dry-run.
pub const SUBMIT_TX: bool = true;
/// Keystore directory under `$HOME` when `wallet.alloraHomeDir` is unset.
pub const HOME_SUBDIR: &str = ".allora-node";

// ── tx actor batching ───────────────────────────────────────────────────────────────────

/// `wallet.maxMsgsPerTx`: well under the chain's tx size limit for payload messages.
pub const MAX_MSGS_PER_TX: usize = 100;
/// Valid range of `wallet.maxMsgsPerTx`.
pub const MAX_MSGS_PER_TX_RANGE: std::ops::RangeInclusive<i64> = 1..=1_000;
/// `wallet.maxTxBytes`: a quarter of CometBFT's default mempool `max_tx_bytes` (1 MiB)
/// and a small fraction of its default block `max_bytes` (21 MiB), so many txs fit a block.
pub const MAX_TX_BYTES: usize = 256 * 1024;
/// Valid range of `wallet.maxTxBytes`.
pub const MAX_TX_BYTES_RANGE: std::ops::RangeInclusive<i64> = 4_096..=1_048_576;
/// `wallet.maxTxsInFlight`: 32 txs × 100 messages — 1,000 topics' payloads fit in flight
/// at once, so they can all land in the block after their window opens.
pub const MAX_TXS_IN_FLIGHT: usize = 32;
/// Valid range of `wallet.maxTxsInFlight` (1 = one tx at a time, as before pipelining).
pub const MAX_TXS_IN_FLIGHT_RANGE: std::ops::RangeInclusive<i64> = 1..=256;
/// Gas per tx before a batch is split: a fraction of a block's gas.
pub const MAX_GAS_PER_TX: u64 = 10_000_000;
/// How long the tx actor waits for more messages after the first of a batch: topics whose
/// windows open on the same block share one tx without delaying it noticeably.
pub const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// How long a broadcast tx is looked up by hash before it is reported as timed out
/// (the Python SDK's value).
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval of the by-hash lookups while confirming.
pub const CONFIRM_POLL: Duration = Duration::from_millis(500);
/// The account sequence is re-read at least this often (another process may use the key).
pub const SEQUENCE_RESYNC: Duration = Duration::from_secs(60);
/// `timeout_height` = latest + this for messages without a window deadline.
pub const TIMEOUT_BLOCKS: u64 = 100;

// ── topics ──────────────────────────────────────────────────────────────────────────────

/// `worker[].loopSeconds`: the Go node's example value.
pub const WORKER_LOOP_SECS: u64 = 5;
/// `reputer[].loopSeconds`: the Go node's example value (reputer windows are long).
pub const REPUTER_LOOP_SECS: u64 = 30;
/// Valid range of `loopSeconds`.
pub const LOOP_SECS_RANGE: std::ops::RangeInclusive<i64> = 1..=86_400;

// ── adapters ────────────────────────────────────────────────────────────────────────────

/// `timeoutMs`: a model answering a few HTTP requests fits; windows are minutes long.
pub const ADAPTER_TIMEOUT_MS: u64 = 10_000;
/// Upper bound of `timeoutMs`.
pub const ADAPTER_TIMEOUT_MS_MAX: u64 = 600_000;
/// `memoryMb`: enough for the shipped adapters and Python guests (~18 MB).
pub const ADAPTER_MEMORY_MB: u64 = 64;
/// Upper bound of `memoryMb`.
pub const ADAPTER_MEMORY_MB_MAX: u64 = 4096;
/// `files[].maxMb`: bytes under one read-only mount, checked at load (a model directory,
/// not a dataset; the guest reads it into its own `memoryMb` budget anyway).
pub const MOUNT_MAX_MB: u64 = 256;
/// Upper bound of `files[].maxMb`.
pub const MOUNT_MAX_MB_LIMIT: u64 = 16_384;
/// `maxHttpRequests` per call.
pub const MAX_HTTP_REQUESTS: u32 = 8;
/// Upper bound of `maxHttpRequests`.
pub const MAX_HTTP_REQUESTS_LIMIT: u32 = 1000;
/// `maxResponseBytes`: 1 MiB per HTTP response.
pub const MAX_RESPONSE_BYTES: u64 = 1 << 20;
/// Total bytes of strings in one adapter result (not configurable): far above any payload
/// the chain accepts.
pub const MAX_OUTPUT_BYTES: u64 = 1 << 20;
/// Elements of a returned list (not configurable): one per inferer at most.
pub const MAX_LIST_LEN: u32 = 10_000;

// ── node ────────────────────────────────────────────────────────────────────────────────

/// `node.metricsAddr`: the Go node's port, all interfaces (containers).
pub const METRICS_ADDR: ([u8; 4], u16) = ([0, 0, 0, 0], 2112);
/// `node.shutdownTimeoutSecs`: inside Kubernetes' default 30 s grace period.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;
/// Valid range of `node.shutdownTimeoutSecs`.
pub const SHUTDOWN_TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 1..=600;
/// `node.compileMemoryMb`: address space of one adapter compile process. The shipped
/// Python and JS guests (18 MB, 12 MB) compile within 384 MiB; the hostile review's 361 KB
/// bomb needed 1.66 GiB.
pub const COMPILE_MEMORY_MB: u64 = allora_sandbox::DEFAULT_COMPILE_MEMORY_BYTES >> 20;
/// Valid range of `node.compileMemoryMb` (real adapters need a few hundred MiB).
pub const COMPILE_MEMORY_MB_RANGE: std::ops::RangeInclusive<i64> = 256..=65_536;
/// `node.compileTimeoutSecs`: wall-clock budget of compiling one adapter.
pub const COMPILE_TIMEOUT_SECS: u64 = 120;
/// Valid range of `node.compileTimeoutSecs`.
pub const COMPILE_TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 1..=3600;
/// `node.adapterInstances`: adapter instances alive at once (pool slots); calls beyond it
/// queue until their deadline.
pub const ADAPTER_INSTANCES: u32 = 100;
/// Valid range of `node.adapterInstances` (each slot reserves virtual address space).
pub const ADAPTER_INSTANCES_RANGE: std::ops::RangeInclusive<i64> = 1..=10_000;
/// `warm.maxCalls` of an adapter block: calls one warm instance serves before recycling.
pub const WARM_MAX_CALLS: u64 = 1000;
/// Largest `warm.maxCalls`. (`warm.maxMemoryMb` defaults to the adapter's `memoryMb`.)
pub const WARM_MAX_CALLS_LIMIT: i64 = 1_000_000;
/// Ledger directory name under the keystore home when `node.cacheDir` is unset.
pub const LEDGER_SUBDIR: &str = "allora-node";
/// Block time assumed until the window clock has measured two heights.
pub const BLOCK_TIME_ESTIMATE: Duration = Duration::from_secs(5);
/// `node.eventWatchdogBlocks`: the event websocket is replaced when no block heartbeat
/// arrived for this many expected block times (measured from the heartbeats; the estimate
/// above until then). 5 tolerates a slow block or two; at 5 s blocks a deaf subscription
/// costs at most ~25 s of events, which polling every `loopSeconds` covers meanwhile.
pub const EVENT_WATCHDOG_BLOCKS: u32 = 5;
/// Valid range of `node.eventWatchdogBlocks`.
pub const EVENT_WATCHDOG_BLOCKS_RANGE: std::ops::RangeInclusive<i64> = 2..=1000;
/// `node.safetyPollSeconds`: while block heartbeats are fresh, window events wake the
/// actors and `loopSeconds` polling is suspended; each actor still polls this often, which
/// bounds how long an event lost on a live connection goes unnoticed at a cost of
/// (actors / 120) queries a second (~17/s at 1,000 topics, against ~2,000/s at 1 s
/// `loopSeconds`).
pub const SAFETY_POLL_SECS: u64 = 120;
/// Valid range of `node.safetyPollSeconds`.
pub const SAFETY_POLL_RANGE: std::ops::RangeInclusive<i64> = 1..=86_400;
/// Refresh interval of the wallet-balance and endpoint-health gauges.
pub const GAUGE_INTERVAL: Duration = Duration::from_secs(15);
/// Wait between attempts to reach the chain at startup.
pub const CONNECT_RETRY: Duration = Duration::from_secs(2);

// ── supervision (not configurable) ──────────────────────────────────────────────────────

/// First wait before restarting a dead task; doubles per consecutive failure.
pub const RESTART_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest wait between restarts: a crash-looping actor retries every minute.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often the supervisor checks the wallet's tx actor.
pub const SUPERVISOR_WATCH: Duration = Duration::from_secs(1);
