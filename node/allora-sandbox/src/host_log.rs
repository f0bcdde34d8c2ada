//! Host `log` import: guest messages go to tracing with topic/adapter/role fields. Messages
//! are truncated, control and format characters are escaped (a newline can never start a
//! forged line in the text log format) and the number of lines per call is capped so a guest
//! cannot flood the log.

use super::bindings::allora::adapter::log::{Host, Level};
use super::state::CallState;
use super::text::escape_for_log;

const MAX_MESSAGE: usize = 4096;
const MAX_LINES_PER_CALL: u32 = 1000;

macro_rules! emit {
    ($lvl:ident, $ctx:expr, $msg:expr) => {
        tracing::$lvl!(topic_id = $ctx.topic_id, adapter = %$ctx.adapter, role = $ctx.role, "{}", $msg)
    };
}

impl Host for CallState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let ctx = &mut self.log;
        ctx.lines += 1;
        if ctx.lines > MAX_LINES_PER_CALL {
            if ctx.lines == MAX_LINES_PER_CALL + 1 {
                emit!(
                    warn,
                    ctx,
                    "adapter log line limit reached; further messages dropped"
                );
            }
            return Ok(());
        }
        let msg = escape_for_log(truncate(&message, MAX_MESSAGE));
        match level {
            Level::Trace => emit!(trace, ctx, msg),
            Level::Debug => emit!(debug, ctx, msg),
            Level::Info => emit!(info, ctx, msg),
            Level::Warn => emit!(warn, ctx, msg),
            Level::Error => emit!(error, ctx, msg),
        }
        Ok(())
    }
}

/// Truncates at a char boundary at most `max` bytes in.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
