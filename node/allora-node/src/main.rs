//! The `allora-node` binary: logging setup and dispatch to `allora_node::cli`. Errors are
//! reported here with `anyhow` context; exit codes come from the subcommands. The hidden
//! `__compile-adapter` subcommand (the adapter runtime re-executing this binary to compile
//! one component under memory/CPU limits) is handled before anything else is set up.

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

fn main() {
    // The hidden `__compile-adapter` subcommand: this binary re-executed by its own adapter
    // runtime to compile one component under memory/CPU limits. Handled before the async
    // runtime, logging or argument parsing exist, so the compile process stays minimal.
    if let Some(code) = allora_sandbox::compile_process::run_if_requested() {
        std::process::exit(code);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(run()));
}

async fn run() -> i32 {
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
        return 1;
    }
    match allora_node::cli::dispatch(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    }
}
