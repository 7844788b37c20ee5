//! `tradecraft rebuild DATA_DIR`: empties the read store and projects the whole event log
//! into it again (after a schema change, or to check the store against the log). Stop
//! the server first: the rebuild reads the log to its end as one writer of the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tradecraft_log::EventLog;
use tradecraft_store::{Projector, ProjectorConfig};

#[derive(Debug, clap::Args)]
pub(crate) struct RebuildArgs {
    /// The data directory of a stopped `tradecraft serve`.
    data_dir: PathBuf,
    /// The read store to rebuild; SQLite in the data dir when absent.
    #[arg(long, env = "TRADECRAFT_DATABASE_URL")]
    database_url: Option<String>,
    /// The event log (the data dir's file journal when absent).
    #[arg(long, env = "TRADECRAFT_LOG")]
    log: Option<String>,
}

pub(crate) fn run(args: &RebuildArgs) -> anyhow::Result<()> {
    let url = tradecraft::server::log_url(&args.data_dir, args.log.as_deref());
    let log: Arc<dyn EventLog> = tradecraft::server::open_log(&url).with_context(|| format!("opening the log {url}"))?;
    let url = tradecraft::server::database_url(&args.data_dir, args.database_url.as_deref());
    // A store that cannot be opened is moved aside and made anew (said on stderr).
    let store = tradecraft::server::open_read_store(&url, true)?;
    let started = Instant::now();
    store.reset().context("emptying the read store")?;
    let mut projector = Projector::open(store, log, ProjectorConfig::default()).context("opening the projector")?;
    // The engine is not running: everything in the log is final.
    let records = projector.catch_up(u64::MAX).context("projecting the log")?;
    let seconds = started.elapsed().as_secs_f64();
    #[allow(clippy::print_stdout)] // the command's result
    {
        println!("{}", json!({"rebuilt": true, "records": records, "seconds": seconds, "recordsPerSecond": records as f64 / seconds.max(1e-9)}));
    }
    Ok(())
}
