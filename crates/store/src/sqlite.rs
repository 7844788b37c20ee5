//! The embedded backend: one SQLite file in WAL mode, a writer connection and a few
//! reader connections, statements prepared once and cached per connection.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::StoreError;
use crate::db::{Backend, Dialect, Param, Row, Statement, Value, sqlite_placeholders};

const READERS: usize = 3;

#[derive(Debug)]
pub struct Sqlite {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// As PostgreSQL's errors are read: a unique or primary key violation is a conflict (the
/// row exists); every other failure, other constraints included, is the database's.
fn error(error: rusqlite::Error) -> StoreError {
    let unique = matches!(
        &error,
        rusqlite::Error::SqliteFailure(failure, _)
            if matches!(failure.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    );
    if unique { StoreError::Conflict(error.to_string()) } else { StoreError::Database(error.to_string()) }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Self::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Self::NullInt | Self::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(path, flags).map_err(error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )
        .map_err(error)?;
    connection.set_prepared_statement_cache_capacity(64);
    // SQLite's own lower() folds ASCII letters only; this one folds all of Unicode, as
    // PostgreSQL's does in a UTF-8 database, so a name held once "letter case aside" (a
    // unique index on lower(name)) and a search are the same on either store.
    connection
        .create_scalar_function("lower", 1, FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC, |context| {
            Ok(match context.get_raw(0) {
                ValueRef::Null => None,
                ValueRef::Integer(value) => Some(value.to_string()),
                ValueRef::Real(value) => Some(value.to_string()),
                ValueRef::Text(text) | ValueRef::Blob(text) => Some(String::from_utf8_lossy(text).to_lowercase()),
            })
        })
        .map_err(error)?;
    Ok(connection)
}

impl Sqlite {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) })
    }
}

fn read_rows(connection: &Connection, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
    let mut statement = connection.prepare_cached(&sqlite_placeholders(sql)).map_err(error)?;
    let columns = statement.column_count();
    let mut rows = statement.query(rusqlite::params_from_iter(params.iter())).map_err(error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(error)? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            values.push(match row.get_ref(index).map_err(error)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(value) => Value::Int(value),
                ValueRef::Real(value) => Value::Real(value),
                ValueRef::Text(text) | ValueRef::Blob(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        read_rows(&lock(&self.readers[index]), sql, params)
    }

    fn transaction(&self, statements: &[Statement]) -> Result<(), StoreError> {
        let mut connection = lock(&self.writer);
        let statements = crate::idempotency::marked(statements);
        let transaction = connection.transaction().map_err(error)?;
        for statement in statements.iter() {
            let mut prepared = transaction.prepare_cached(&sqlite_placeholders(&statement.sql)).map_err(error)?;
            prepared.execute(rusqlite::params_from_iter(statement.params.iter())).map_err(error)?;
        }
        transaction.commit().map_err(error)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        lock(&self.writer).execute_batch(sql).map_err(error)
    }
}
