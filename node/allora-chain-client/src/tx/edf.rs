//! Which queued messages form the next tx: earliest deadline first (the payload whose window
//! closes first goes first; messages without a deadline go last, in arrival order), up to
//! `max_msgs_per_tx` messages and `max_tx_bytes` encoded bytes. Gas is bounded later, once
//! simulated (an over-gas batch is halved).

use super::handle::Pending;

/// Bytes a tx carries besides its messages: auth info (public key, fee, granter), one
/// signature, `timeout_height`, memo and the protobuf framing — a generous estimate, so
/// a batch sized by it stays under the cap.
pub(super) const TX_OVERHEAD_BYTES: usize = 512;

/// Encoded size of one message inside `TxBody.messages` (an `Any`: type URL, value and
/// framing).
pub(super) fn msg_bytes(p: &Pending) -> usize {
    p.msg.type_url.len() + p.msg.value.len() + 16
}

/// Takes the next batch off `queue`: sorted by deadline (stable, so equal deadlines keep
/// arrival order), then as many as fit the message and byte caps. Always at least one
/// message, so a single message larger than the cap is still tried (and refused by the
/// chain with its own error) rather than stuck in the queue.
pub(super) fn take_batch(
    queue: &mut Vec<Pending>,
    max_msgs: usize,
    max_tx_bytes: usize,
) -> Vec<Pending> {
    queue.sort_by_key(|p| p.meta.deadline_height.unwrap_or(i64::MAX));
    let budget = max_tx_bytes.saturating_sub(TX_OVERHEAD_BYTES);
    let mut bytes = 0;
    let mut n = 0;
    for p in queue.iter() {
        let size = msg_bytes(p);
        if n > 0 && (n >= max_msgs.max(1) || bytes + size > budget) {
            break;
        }
        bytes += size;
        n += 1;
    }
    queue.drain(..n).collect()
}
