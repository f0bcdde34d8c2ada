//! Compatibility path for callers not yet moved to [`crate::app`] (`cli/demo.rs`): the
//! composition root now lives in `app`; this re-exports its entry point unchanged.

pub use crate::app::connect;
