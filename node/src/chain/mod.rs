//! OWNERSHIP NOTE FROM THE LEAD (20:15): `node/src/chain/` (endpoints, query client, fees,
//! error classification, tx actor, events) and the chain integration tests `tests/chain_*.rs`
//! are now built by a separate helper on branch `chainclient` (worktree /work/wt-chainclient).
//! Do NOT write code in this directory on branch `chain`; finish decimal, keys (+ keystore and
//! `keys` CLI) and protocol, commit them, and report. The chain client merges your branch.
