//! On-disk keystore under the node home directory (filled in by the keystore step).
