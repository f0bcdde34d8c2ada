//! The `allora-node` binary: logging setup and dispatch to `allora_node::cli`. Errors are
//! reported here with `anyhow` context; exit codes come from the subcommands.

use std::path::Path;
use std::sync::Mutex;

use allora_node::cli::{Command, demo};
use clap::Parser;
use tracing_subscriber::{EnvFilter, fmt};

/// Logs go to stderr, or (the demo without `-v`) to `file`, so its table stays readable.
fn init_logging(file: Option<&Path>) -> std::io::Result<()> {
    // LOG_LEVEL follows the Go node (debug/info/warn/error); RUST_LOG-style filters also work.
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    let filter =
        EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter);
    match (file, json) {
        (Some(path), json) => {
            let writer = Mutex::new(std::fs::File::create(path)?);
            let builder = builder.with_writer(writer).with_ansi(false);
            if json {
                builder.json().init();
            } else {
                builder.init();
            }
        }
        (None, true) => builder.with_writer(std::io::stderr).json().init(),
        (None, false) => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let mut cli = allora_node::cli::Cli::parse();
    let log_file = match &mut cli.command {
        Command::Demo(args) if !args.verbose => {
            let path = demo::default_log_path();
            args.log_file = Some(path.clone());
            Some(path)
        }
        _ => None,
    };
    if let Err(err) = init_logging(log_file.as_deref()) {
        eprintln!("error: cannot write the log file: {err}");
        std::process::exit(1);
    }
    let code = match allora_node::cli::dispatch(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    };
    std::process::exit(code);
}
