//! The scale table, printed as markdown.

#[allow(unused_imports)]
use super::*;

pub(crate) fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.1} %", 100.0 * a as f64 / b as f64)
    }
}

pub(crate) fn print_scale(rows: &[Row], o: &Opts) {
    println!(
        "\n### Node against the devnet (block {} ms, epoch {} blocks, worker window {} blocks, ground-truth lag {} blocks, {} idle blocks before the first window, {} build)\n",
        o.block_ms,
        o.epoch_length,
        o.window,
        o.epoch_length,
        o.idle_blocks,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    println!(
        "| topics | wallets | setup (register+stake) | measured epochs | RSS at start | peak RSS | VmHWM | adapter linear memory peak (instances) | CPU / epoch | CPU share | idle CPU (blocks) | worker first-block | worker included | reputer first-block | reputer included | median blocks late (worker / reputer) | blocks with txs | txs/block mean / max | txs/block/wallet mean / max | msgs/tx | failed txs |"
    );
    println!(
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        println!(
            "| {} | {}{} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} | {:.2} s | {:.0} % | {} | {} ({}/{}) | {} | {} ({}/{}) | {} | {} / {} | {}/{} | {:.2} / {} | {:.2} / {} | {:.2} | {} |",
            r.topics,
            r.wallets,
            if r.fee_granter { " (granter pays)" } else { "" },
            if r.setup.is_empty() { "–" } else { &r.setup },
            r.measured_epochs,
            r.rss_idle_mib,
            r.rss_peak_mib,
            r.hwm_mib,
            match (r.linear_peak_mib, r.instances_peak) {
                (Some(m), Some(i)) => format!("{m:.1} MiB ({i})"),
                _ => "n/a".into(),
            },
            r.cpu_per_epoch_s,
            100.0 * r.cpu_share,
            r.idle_cpu
                .map_or("n/a".into(), |(c, b)| format!("{:.1} % ({b})", 100.0 * c)),
            pct(r.worker_first.0, r.worker_first.2),
            r.worker_first.0,
            r.worker_first.2,
            pct(r.worker_first.1, r.worker_first.2),
            pct(r.reputer_first.0, r.reputer_first.2),
            r.reputer_first.0,
            r.reputer_first.2,
            pct(r.reputer_first.1, r.reputer_first.2),
            r.delay.0.map_or("–".into(), |d| d.to_string()),
            r.delay.1.map_or("–".into(), |d| d.to_string()),
            r.tx_blocks,
            r.blocks,
            r.txs_per_block_mean,
            r.txs_per_block_max,
            r.wallet_txs_mean,
            r.wallet_txs_max,
            r.msgs_per_tx,
            r.failed_txs,
        );
    }
    for r in rows.iter().filter(|r| !r.note.trim().is_empty()) {
        println!("\n- {} topics: {}", r.topics, r.note.trim());
    }
}

// ---------------------------------------------------------------- loss micro-benchmark
