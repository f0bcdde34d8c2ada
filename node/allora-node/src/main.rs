//! The `allora-node` binary: logging setup and dispatch to `allora_node::cli`. Errors are
//! reported here with `anyhow` context; exit codes come from the subcommands.

use clap::Parser;
use tracing_subscriber::{EnvFilter, fmt};

fn init_logging() {
    // LOG_LEVEL follows the Go node (debug/info/warn/error); RUST_LOG-style filters also work.
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    let filter =
        EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() {
    let cli = allora_node::cli::Cli::parse();
    init_logging();
    let code = match allora_node::cli::dispatch(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    };
    std::process::exit(code);
}
