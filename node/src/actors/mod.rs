//! (stub — owned by the issue that builds it)
