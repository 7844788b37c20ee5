//! The `tradecraft` binary: command-line entry point.

mod bench;
mod machine;

use clap::{Parser, Subcommand};

/// TradeCraft: a self-hosted paper-trading exchange.
#[derive(Debug, Parser)]
#[command(name = "tradecraft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a benchmark and print one JSON line per run.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Commands::Bench { target } => bench::run(target),
    }
}
