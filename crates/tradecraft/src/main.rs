//! The `tradecraft` binary: command-line entry point.

mod bench;
mod bench_cluster;
mod bench_restart;
mod bench_store;
mod logging;
mod machine;
mod rebuild;
mod serve;
mod verify;

use clap::{Parser, Subcommand};

/// mimalloc: request handling, projection and the engine allocate small, short-lived
/// buffers on several threads; glibc's allocator spent a sixth of `bench http`'s CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// TradeCraft: a self-hosted paper-trading exchange.
#[derive(Debug, Parser)]
#[command(name = "tradecraft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run the exchange: event log and snapshots in the data directory, engine, market
    /// simulator with house liquidity, HTTP API.
    Serve(Box<serve::ServeArgs>),
    /// Check every invariant of a data directory: replay all commands into a fresh engine,
    /// and the latest snapshot to the same state hash. Exits non-zero on a breach.
    Verify(verify::VerifyArgs),
    /// Empty the read store and project the whole event log into it again (server stopped).
    Rebuild(rebuild::RebuildArgs),
    /// Run a benchmark and print one JSON line per run.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
}

fn main() -> anyhow::Result<()> {
    let args = serve::with_config_file(std::env::args_os().collect(), |name| std::env::var(name).ok())?;
    let cli = Cli::parse_from(args);
    match cli.command {
        Commands::Serve(args) => serve::run(*args),
        Commands::Verify(args) => verify::run(&args),
        Commands::Rebuild(args) => rebuild::run(&args),
        Commands::Bench { target } => bench::run(target),
    }
}
