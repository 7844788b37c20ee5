//! Running the engine as one of several processes over PostgreSQL: who leads (a session
//! advisory lock), and the snapshots every engine process can read (a table).
//!
//! Why an advisory lock: the deployment already has PostgreSQL, the lock belongs to one
//! database session, and the server frees it the moment that session ends — when the
//! leader dies, its socket closes; when it hangs, `idle_session_timeout` ends its session
//! within [`HANG_TIMEOUT`]. A leader that cannot reach its session any more stops
//! publishing before the next append (see `Publish::WhileLeader`). Whatever it managed to
//! append in between is a duplicate of what the new leader publishes (the engine is a pure
//! function of the command log, and every output carries its partition's sequence number),
//! which consumers drop by sequence.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::NoTls;
use tradecraft_log::Offset;
use tradecraft_sequencer::{SnapshotBackend, SnapshotStoreError};

/// How often a waiting engine tries for the lock, and the leader checks its session.
const CAMPAIGN_INTERVAL: Duration = Duration::from_millis(100);
/// A leader whose session check takes longer than this counts itself as deposed.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1_000);
/// The server ends a leader's session that has said nothing for this long (a hung process).
const HANG_TIMEOUT: &str = "3s";

/// The lock's key: one per event log, so deployments sharing a database do not contend.
pub fn lock_key(log_url: &str) -> i64 {
    // FNV-1a: stable across builds and platforms.
    let hash = log_url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    hash as i64
}

/// Campaigns for the engine leadership until stopped; `leader()` says whether it holds it.
#[derive(Debug)]
pub struct Campaign {
    leader: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Campaign {
    /// Starts campaigning for `key` on the database at `url`.
    pub fn start(url: &str, key: i64) -> anyhow::Result<Self> {
        let (leader, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (flag, stopping, url) = (Arc::clone(&leader), Arc::clone(&stop), url.to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("leader-campaign".to_owned()).spawn(move || {
            runtime.block_on(campaign(&url, key, &flag, &stopping));
            flag.store(false, Ordering::SeqCst);
        })?;
        Ok(Self { leader, stop, thread: Some(thread) })
    }

    /// Set while this process holds the leadership.
    pub fn leader(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.leader)
    }
}

impl Drop for Campaign {
    /// Gives the leadership up (the session ends, so a standby takes over at once).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn campaign(url: &str, key: i64, leader: &AtomicBool, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let client = match tokio::time::timeout(CHECK_TIMEOUT * 3, tokio_postgres::connect(url, NoTls)).await {
            Ok(Ok((client, connection))) => {
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "leader campaign: cannot reach PostgreSQL");
                tokio::time::sleep(CAMPAIGN_INTERVAL * 5).await;
                continue;
            }
            Err(_) => continue,
        };
        if let Err(error) = client.batch_execute(&format!("SET idle_session_timeout = '{HANG_TIMEOUT}'")).await {
            tracing::warn!(error = %error, "leader campaign: idle_session_timeout not set (PostgreSQL before 14?): a hung leader keeps the lock");
        }
        // Waiting for the lock.
        let mut won = false;
        while !stop.load(Ordering::SeqCst) {
            match client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await {
                Ok(row) if row.get::<_, bool>(0) => {
                    won = true;
                    break;
                }
                Ok(_) => tokio::time::sleep(CAMPAIGN_INTERVAL).await,
                Err(error) => {
                    tracing::warn!(error = %error, "leader campaign: lost the database session");
                    break;
                }
            }
        }
        if !won {
            continue;
        }
        tracing::warn!(key, "engine leadership won");
        leader.store(true, Ordering::SeqCst);
        // Holding it: the session must answer, or someone else may hold it by now.
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(CAMPAIGN_INTERVAL).await;
            match tokio::time::timeout(CHECK_TIMEOUT, client.simple_query("SELECT 1")).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "engine leadership lost: the lock's session ended");
                    break;
                }
                Err(_) => {
                    tracing::error!("engine leadership given up: the lock's session did not answer in time");
                    break;
                }
            }
        }
        leader.store(false, Ordering::SeqCst);
    }
}

/// Snapshots in PostgreSQL (`engine_snapshots`), one set per event log.
#[derive(Debug)]
pub struct PostgresSnapshots {
    url: String,
    deployment: String,
    connection: std::sync::Mutex<Option<(tokio::runtime::Runtime, tokio_postgres::Client)>>,
}

fn unavailable(error: impl std::fmt::Display) -> SnapshotStoreError {
    SnapshotStoreError::Unavailable(error.to_string())
}

impl PostgresSnapshots {
    /// Snapshots of the engine of `deployment` (its log URL), in the database at `url`.
    pub fn open(url: &str, deployment: &str) -> Result<Self, SnapshotStoreError> {
        let snapshots = Self { url: url.to_owned(), deployment: deployment.to_owned(), connection: std::sync::Mutex::new(None) };
        snapshots.with(|client| {
            Box::pin(async move {
                client
                    // Engines started at once take turns ("TCSNAPSH" as the lock's key):
                    // two bare CREATE TABLE IF NOT EXISTS can collide on the catalog.
                    .batch_execute(
                        "BEGIN; SELECT pg_advisory_xact_lock(6071788318193898312); \
                         CREATE TABLE IF NOT EXISTS engine_snapshots (deployment TEXT NOT NULL, next_command BIGINT NOT NULL, body BYTEA NOT NULL, \
                         PRIMARY KEY (deployment, next_command)); COMMIT",
                    )
                    .await
            })
        })?;
        Ok(snapshots)
    }

    /// Runs `work` on the connection, connecting first if there is none; a failure drops it
    /// so the next call connects again.
    fn with<T>(
        &self,
        work: impl for<'a> FnOnce(&'a tokio_postgres::Client) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, tokio_postgres::Error>> + 'a>>,
    ) -> Result<T, SnapshotStoreError> {
        let mut guard = self.connection.lock().map_err(|_| unavailable("snapshot connection lock poisoned"))?;
        if guard.is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(unavailable)?;
            let (client, connection) = runtime.block_on(tokio_postgres::connect(&self.url, NoTls)).map_err(unavailable)?;
            runtime.spawn(async move {
                let _ = connection.await;
            });
            *guard = Some((runtime, client));
        }
        let Some((runtime, client)) = guard.as_ref() else { return Err(unavailable("no connection")) };
        let result = runtime.block_on(work(client));
        if result.is_err() {
            *guard = None;
        }
        result.map_err(unavailable)
    }
}

fn offset_param(offset: Offset) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

impl SnapshotBackend for PostgresSnapshots {
    fn list(&self) -> Result<Vec<Offset>, SnapshotStoreError> {
        let deployment = self.deployment.clone();
        let rows = self.with(move |client| {
            Box::pin(async move { client.query("SELECT next_command FROM engine_snapshots WHERE deployment = $1", &[&deployment]).await })
        })?;
        Ok(rows.iter().map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)).collect())
    }

    fn read(&self, next_command: Offset) -> Result<Vec<u8>, SnapshotStoreError> {
        let deployment = self.deployment.clone();
        let offset = offset_param(next_command);
        let row = self.with(move |client| {
            Box::pin(
                async move { client.query_one("SELECT body FROM engine_snapshots WHERE deployment = $1 AND next_command = $2", &[&deployment, &offset]).await },
            )
        })?;
        Ok(row.get(0))
    }

    fn write(&self, next_command: Offset, bytes: &[u8]) -> Result<(), SnapshotStoreError> {
        let deployment = self.deployment.clone();
        let offset = offset_param(next_command);
        let body = bytes.to_vec();
        self.with(move |client| {
            Box::pin(async move {
                client
                    .execute(
                        "INSERT INTO engine_snapshots (deployment, next_command, body) VALUES ($1, $2, $3) \
                         ON CONFLICT (deployment, next_command) DO UPDATE SET body = EXCLUDED.body",
                        &[&deployment, &offset, &body],
                    )
                    .await
            })
        })?;
        Ok(())
    }

    fn remove(&self, next_command: Offset) -> Result<(), SnapshotStoreError> {
        let deployment = self.deployment.clone();
        let offset = offset_param(next_command);
        self.with(move |client| {
            Box::pin(async move { client.execute("DELETE FROM engine_snapshots WHERE deployment = $1 AND next_command = $2", &[&deployment, &offset]).await })
        })?;
        Ok(())
    }

    fn describe(&self, next_command: Offset) -> String {
        format!("engine_snapshots({}, {next_command})", self.deployment)
    }
}
