//! The `allora-node` binary: a thin CLI edge over the library.

fn main() -> anyhow::Result<()> {
    println!("allora-node {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
