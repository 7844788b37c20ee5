//! Lists read a page at a time in time order (the audit trail, alerts, notifications
//! newest first; reports oldest first): a keyset on the row's time and id, so a page never
//! repeats or skips a row however many are added while a client pages.

use crate::db::{Param, Row};
use crate::{Store, StoreError};

/// What a list in time order reads: `SELECT ... FROM table`, the filters every page shares
/// (with their parameters, `$1` on), the time and id columns that order it, and whether
/// the oldest come first (else the newest).
pub(crate) struct TimeOrder<'a> {
    pub select: String,
    pub filters: Vec<String>,
    pub params: Vec<Param>,
    pub time: &'a str,
    pub id: &'a str,
    pub oldest_first: bool,
}

impl<'a> TimeOrder<'a> {
    /// A user's rows of `table`, newest by `created_at` (then `id`) first; with `unset`,
    /// only those whose `unset` column is NULL.
    pub(crate) fn newest_of_user(columns: &str, table: &str, user_id: u64, unset: Option<&str>, id: &'a str) -> Self {
        let mut filters = vec!["user_id = $1".to_owned()];
        filters.extend(unset.map(|column| format!("{column} IS NULL")));
        TimeOrder {
            select: format!("SELECT {columns} FROM {table}"),
            filters,
            params: vec![(user_id as i64).into()],
            time: "created_at",
            id,
            oldest_first: false,
        }
    }
}

/// The token of the page after `(at, id)`, the last row shown: the time as 16 hex digits,
/// then the id's bytes in hex (ids may hold any character; a token stays URL-safe).
pub(crate) fn token_after(at: i64, id: &str) -> String {
    let mut token = format!("{:016x}", at as u64);
    for byte in id.bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

/// The `(time, id)` a token names, if this server could have issued it.
pub(crate) fn row_before(token: &str) -> Option<(i64, String)> {
    if !token.is_ascii() || token.len() <= 16 || token.len() % 2 != 0 {
        return None;
    }
    let at = u64::from_str_radix(&token[..16], 16).ok()? as i64;
    let id = (16..token.len()).step_by(2).map(|at| u8::from_str_radix(&token[at..at + 2], 16).ok()).collect::<Option<Vec<u8>>>()?;
    Some((at, String::from_utf8(id).ok()?))
}

impl Store {
    /// A page of `list`, in its order, after the page `page_token` ended; and the next
    /// page's token, if there is more. `key` gives a row's time and id; pages hold 1 to
    /// [`crate::EXPORT_LIMIT_MAX`] rows (the API's own bound is lower).
    pub(crate) fn time_ordered<T>(
        &self,
        list: TimeOrder<'_>,
        limit: usize,
        page_token: Option<&str>,
        read: impl Fn(&Row) -> Result<T, StoreError>,
        key: impl Fn(&T) -> (i64, &str),
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let TimeOrder { select, mut filters, mut params, time, id, oldest_first } = list;
        let (past, order) = if oldest_first { (">", "ASC") } else { ("<", "DESC") };
        let limit = limit.clamp(1, crate::EXPORT_LIMIT_MAX);
        if let Some(token) = page_token {
            let (at, last) =
                row_before(token).ok_or_else(|| StoreError::InvalidParameter("pageToken", format!("pageToken {token:?} is not one this server issued")))?;
            params.push(at.into());
            params.push(last.into());
            let (at, last) = (params.len() - 1, params.len());
            filters.push(format!("({time} {past} ${at} OR ({time} = ${at} AND {id} {past} ${last}))"));
        }
        params.push(i64::try_from(limit + 1).unwrap_or(i64::MAX).into());
        let filter = if filters.is_empty() { String::new() } else { format!(" WHERE {}", filters.join(" AND ")) };
        let rows = self.backend().query(&format!("{select}{filter} ORDER BY {time} {order}, {id} {order} LIMIT ${}", params.len()), &params)?;
        let mut page = rows.iter().map(read).collect::<Result<Vec<T>, StoreError>>()?;
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().map(|last| {
                let (at, id) = key(last);
                token_after(at, id)
            })
        });
        Ok((page, next.flatten()))
    }
}

#[cfg(test)]
mod tests {
    use super::{row_before, token_after};

    #[test]
    fn tokens_name_the_last_row_shown() {
        for (at, id) in [(0, "a"), (1_700_000_000_123, "escalation:x:1:42"), (-5, "é/?&=#"), (i64::MAX, "ORDER-9")] {
            let token = token_after(at, id);
            assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()), "{token}");
            assert_eq!(row_before(&token), Some((at, id.to_owned())));
        }
        for bad in ["", "0000000000000001", "00000000000000016", "000000000000000161g", "zz00000000000001aa", "0000000000000001ff", "０"] {
            assert_eq!(row_before(bad), None, "{bad:?}");
        }
    }
}
