//! The scale-out backend: PostgreSQL over tokio-postgres. A write transaction sends all
//! its statements pipelined (one round trip for the lot, run in order by the server);
//! reads share a few connections that pipeline concurrent queries. Statements are
//! prepared once per connection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::try_join_all;
use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::StoreError;
use crate::db::{Backend, Dialect, Param, Row, Statement, Value};

const READERS: usize = 3;

/// A connection and the statements prepared on it.
struct Connection {
    client: Client,
    prepared: Mutex<HashMap<String, tokio_postgres::Statement>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Connection")
    }
}

impl Connection {
    async fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
        if let Some(statement) = lock(&self.prepared).get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await.map_err(error)?;
        lock(&self.prepared).insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// The backend's own runtime. Dropped with `shutdown_background`, so dropping the store
/// inside another runtime's task (a server shutting down) does not panic.
#[derive(Debug)]
struct OwnRuntime(Option<Runtime>);

impl std::ops::Deref for OwnRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.0.as_ref().expect("invariant: the runtime lives until drop")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Debug)]
pub struct Postgres {
    runtime: OwnRuntime,
    writer: Mutex<Connection>,
    readers: Vec<Connection>,
    next_reader: AtomicUsize,
}

fn error(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION => StoreError::Conflict(db.message().to_owned()),
        Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Database(error.to_string()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const NULL_INT: Option<i64> = None;
const NULL_TEXT: Option<String> = None;

fn bind(param: &Param) -> &(dyn ToSql + Sync) {
    match param {
        Param::Int(value) => value,
        Param::Text(text) => text,
        Param::NullInt => &NULL_INT,
        Param::NullText => &NULL_TEXT,
    }
}

fn binds(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(bind).collect()
}

fn decode(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(index).map(|value| value.map(Value::Int)),
            Type::INT4 => row.try_get::<_, Option<i32>>(index).map(|value| value.map(|value| Value::Int(value.into()))),
            Type::INT2 => row.try_get::<_, Option<i16>>(index).map(|value| value.map(|value| Value::Int(value.into()))),
            Type::BOOL => row.try_get::<_, Option<bool>>(index).map(|value| value.map(|value| Value::Int(value.into()))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(index).map(|value| value.map(Value::Real)),
            Type::TEXT | Type::VARCHAR | Type::NAME => row.try_get::<_, Option<String>>(index).map(|value| value.map(Value::Text)),
            ref other => return Err(StoreError::Decode(format!("column {} has unsupported type {other}", column.name()))),
        }
        .map_err(error)?;
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user@host:port/database`).
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres-io")
            .enable_all()
            .build()
            .map_err(|error| StoreError::Database(error.to_string()))?;
        let connect = || -> Result<Connection, StoreError> {
            let (client, connection) = runtime.block_on(tokio_postgres::connect(url, NoTls)).map_err(error)?;
            runtime.spawn(async move {
                // Ends when the client is dropped or the server goes away; queries then fail.
                let _ = connection.await;
            });
            Ok(Connection { client, prepared: Mutex::new(HashMap::new()) })
        };
        let writer = Mutex::new(connect()?);
        let readers = (0..READERS).map(|_| connect()).collect::<Result<_, _>>()?;
        Ok(Self { runtime: OwnRuntime(Some(runtime)), writer, readers, next_reader: AtomicUsize::new(0) })
    }
}

impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let connection = &self.readers[self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len()];
        self.runtime.block_on(async {
            let statement = connection.prepare(sql).await?;
            let rows = connection.client.query(&statement, &binds(params)).await.map_err(error)?;
            rows.iter().map(decode).collect()
        })
    }

    fn transaction(&self, statements: &[Statement]) -> Result<(), StoreError> {
        let statements = crate::idempotency::marked(statements);
        let statements = statements.as_ref();
        let mut connection = lock(&self.writer);
        let connection = &mut *connection;
        self.runtime.block_on(async {
            let mut prepared = Vec::with_capacity(statements.len());
            for statement in statements {
                prepared.push(connection.prepare(&statement.sql).await?);
            }
            let params: Vec<_> = statements.iter().map(|statement| binds(&statement.params)).collect();
            let transaction = connection.client.transaction().await.map_err(error)?;
            // Polled together, the executes are sent back to back and run in order.
            try_join_all(prepared.iter().zip(&params).map(|(statement, params)| transaction.execute(statement, params))).await.map_err(error)?;
            transaction.commit().await.map_err(error)
        })
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        let connection = lock(&self.writer);
        self.runtime.block_on(connection.client.batch_execute(sql)).map_err(error)
    }
}

/// Creates database `name` through the server at `admin_url` (tests and benchmarks use
/// one database each).
pub fn create_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    admin(admin_url, &format!("CREATE DATABASE \"{name}\""))
}

/// Drops database `name`, closing other sessions on it.
pub fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    admin(admin_url, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
}

fn admin(admin_url: &str, sql: &str) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|error| StoreError::Database(error.to_string()))?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(admin_url, NoTls).await.map_err(error)?;
        let driver = tokio::spawn(connection);
        let result = client.batch_execute(sql).await.map_err(error);
        drop(client);
        let _ = driver.await;
        result
    })
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(super::with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(super::with_database("postgres://u@h:5432", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(super::with_database("postgres://u@h/x?sslmode=disable", "t1"), "postgres://u@h/t1?sslmode=disable");
    }
}
