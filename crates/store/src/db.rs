//! The little SQL both databases share: parameters and values, a read path and a write
//! transaction that runs a list of statements in order. SQL is written once with `$1`
//! placeholders and BIGINT/TEXT columns; the few dialect differences (full-text search)
//! are asked of [`Dialect`].

use std::borrow::Cow;

use crate::StoreError;

/// Which SQL the backend speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A statement parameter. Every column is BIGINT or TEXT, so these are all there is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Self::NullInt, Self::Int)
    }
}

impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Self {
        value.map_or(Self::NullText, Self::Text)
    }
}

impl From<Option<&str>> for Param {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Self::NullText, |text| Self::Text(text.to_owned()))
    }
}

/// A column value read back.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Real(f64),
}

/// One result row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn value(&self, index: usize) -> Result<&Value, StoreError> {
        self.0.get(index).ok_or_else(|| StoreError::Decode(format!("no column {index}")))
    }

    pub fn int(&self, index: usize) -> Result<i64, StoreError> {
        match self.value(index)? {
            Value::Int(value) => Ok(*value),
            // Aggregates over BIGINT come back as text so they never overflow in SQL.
            Value::Text(text) => text.parse().map_err(|_| StoreError::Decode(format!("column {index}: {text:?} is not an integer"))),
            other => Err(StoreError::Decode(format!("column {index}: expected an integer, got {other:?}"))),
        }
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            _ => self.int(index).map(Some),
        }
    }

    /// An integer aggregate that may exceed i64 (sums of money), read exactly.
    pub fn wide(&self, index: usize) -> Result<i128, StoreError> {
        match self.value(index)? {
            Value::Null => Ok(0),
            Value::Int(value) => Ok(i128::from(*value)),
            Value::Text(text) => text.parse().map_err(|_| StoreError::Decode(format!("column {index}: {text:?} is not an integer"))),
            other => Err(StoreError::Decode(format!("column {index}: expected an integer, got {other:?}"))),
        }
    }

    pub fn text(&self, index: usize) -> Result<&str, StoreError> {
        match self.value(index)? {
            Value::Text(text) => Ok(text),
            other => Err(StoreError::Decode(format!("column {index}: expected text, got {other:?}"))),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<&str>, StoreError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }
}

/// One statement of a write transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sql: Cow<'static, str>,
    pub params: Vec<Param>,
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Param>) -> Self {
        Self { sql: sql.into(), params }
    }
}

/// Rows inserted by one statement when many go to the same table.
pub(crate) const ROWS_PER_INSERT: usize = 64;

/// `INSERT INTO {table} ({columns}) VALUES (...), (...)` for `rows` rows, numbering the
/// placeholders row by row, then `suffix`.
pub fn insert_rows(table: &str, columns: &[&str], rows: usize, suffix: &str) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        let placeholders: Vec<String> = (1..=columns.len()).map(|column| format!("${}", row * columns.len() + column)).collect();
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    sql.push_str(suffix);
    sql
}

/// Statements inserting `rows` (each `columns.len()` parameters): full chunks of
/// [`ROWS_PER_INSERT`] rows, then the rest one row each, so only two statement texts
/// per table are ever prepared.
pub(crate) fn insert_statements(table: &str, columns: &[&str], rows: Vec<Vec<Param>>, suffix: &str, out: &mut Vec<Statement>) {
    let (chunk_sql, single_sql) = (insert_rows(table, columns, ROWS_PER_INSERT, suffix), insert_rows(table, columns, 1, suffix));
    let mut rows = rows.into_iter();
    let mut remaining = rows.len();
    while remaining >= ROWS_PER_INSERT {
        let params: Vec<Param> = rows.by_ref().take(ROWS_PER_INSERT).flatten().collect();
        out.push(Statement::new(chunk_sql.clone(), params));
        remaining -= ROWS_PER_INSERT;
    }
    for row in rows {
        out.push(Statement::new(single_sql.clone(), row));
    }
}

/// A database the store runs on. Reads may run on any thread at once; writes are one
/// transaction at a time.
pub trait Backend: Send + Sync + std::fmt::Debug {
    fn dialect(&self) -> Dialect;

    /// Runs a read-only query.
    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError>;

    /// Runs `statements` in order in one transaction and commits: all or nothing.
    fn transaction(&self, statements: &[Statement]) -> Result<(), StoreError>;

    /// Runs a script of several statements without parameters (migrations, truncation).
    fn batch(&self, sql: &str) -> Result<(), StoreError>;
}

/// `$1`-style placeholders as SQLite's `?1`, which bind by number as PostgreSQL's do.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    sql.replace('$', "?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_decode_integers_from_text_aggregates() {
        let row = Row(vec![Value::Int(5), Value::Text("123456789012345678901234".into()), Value::Null]);
        assert_eq!(row.int(0).unwrap(), 5);
        assert_eq!(row.wide(1).unwrap(), 123_456_789_012_345_678_901_234);
        assert_eq!(row.opt_int(2).unwrap(), None);
        assert!(row.text(0).is_err());
        assert!(row.int(3).is_err());
    }

    #[test]
    fn inserts_number_placeholders_row_by_row() {
        assert_eq!(insert_rows("t", &["a", "b"], 2, " ON CONFLICT DO NOTHING"), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING");
        let mut out = Vec::new();
        let rows: Vec<Vec<Param>> = (0..ROWS_PER_INSERT as i64 + 2).map(|row| vec![Param::Int(row)]).collect();
        insert_statements("t", &["a"], rows, "", &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].params.len(), ROWS_PER_INSERT);
        assert_eq!((out[1].params.clone(), out[2].params.clone()), (vec![Param::Int(64)], vec![Param::Int(65)]));
    }

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(sqlite_placeholders("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
    }
}
