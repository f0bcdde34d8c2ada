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
        "\n### Node against the devnet (block {} ms, epoch {} blocks, worker window {} blocks, ground-truth lag {} blocks, one wallet)\n",
        o.block_ms, o.epoch_length, o.window, o.epoch_length
    );
    println!(
        "| topics | setup (register+stake) | measured epochs | RSS at start | peak RSS | VmHWM | CPU / epoch | CPU share | worker first-block | worker included | reputer first-block | reputer included | median blocks late (worker / reputer) | blocks with txs | txs/block mean | txs/block max | msgs/tx | failed txs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} s | {:.0} % | {} ({}/{}) | {} | {} ({}/{}) | {} | {} / {} | {}/{} | {:.2} | {} | {:.2} | {} |",
            r.topics,
            if r.setup.is_empty() { "–" } else { &r.setup },
            r.measured_epochs,
            r.rss_idle_mib,
            r.rss_peak_mib,
            r.hwm_mib,
            r.cpu_per_epoch_s,
            100.0 * r.cpu_share,
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
            r.msgs_per_tx,
            r.failed_txs,
        );
    }
    for r in rows.iter().filter(|r| !r.note.trim().is_empty()) {
        println!("\n- {} topics: {}", r.topics, r.note.trim());
    }
}

// ---------------------------------------------------------------- loss micro-benchmark
