//! Social trading: profiles, follows, shared trades and orders, likes, comments and
//! reports. User state kept by the API, not derived from the log.

use crate::db::{Param, Row, Statement};
use crate::{Store, StoreError};

/// A page of follows ([`Store::public_follow_page`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowPage {
    /// Users with public profiles, with their display names, newest first.
    pub users: Vec<(FollowRecord, String)>,
    /// How many there are with public profiles, and with private ones (or none).
    pub public: u64,
    pub private: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user_id: u64,
    pub display_name: String,
    pub bio: String,
    pub public: bool,
    pub updated_at_ms: i64,
}

/// An avatar image: its media type and bytes (base64 in the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarRecord {
    pub content_type: String,
    pub base64: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareRecord {
    pub share_id: String,
    pub user_id: u64,
    /// The paper account the trade or order was in.
    pub account_id: u64,
    /// `TRADE` or `ORDER`.
    pub kind: String,
    pub reference_id: String,
    pub symbol: String,
    pub side: String,
    pub quantity: String,
    pub price: Option<String>,
    pub comment: String,
    pub likes: u64,
    pub comments: u64,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentRecord {
    pub comment_id: String,
    pub share_id: String,
    pub user_id: u64,
    pub text: String,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    pub report_id: String,
    /// `SHARE` or `COMMENT`.
    pub target: String,
    pub target_id: String,
    pub reporter_id: u64,
    pub reason: String,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowRecord {
    pub user_id: u64,
    pub since_ms: i64,
}

const SHARE_COLUMNS: &str = "share_id, user_id, account_id, kind, reference_id, symbol, side, quantity, price, comment, likes, comments, created_at";
const COMMENT_COLUMNS: &str = "comment_id, share_id, user_id, text, created_at";
/// A share or comment others may see: neither deleted by its author nor hidden by an admin.
const VISIBLE: &str = "deleted_at IS NULL AND hidden_at IS NULL";

fn share(row: &Row) -> Result<ShareRecord, StoreError> {
    Ok(ShareRecord {
        share_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        account_id: row.int(2)? as u64,
        kind: row.text(3)?.to_owned(),
        reference_id: row.text(4)?.to_owned(),
        symbol: row.text(5)?.to_owned(),
        side: row.text(6)?.to_owned(),
        quantity: row.text(7)?.to_owned(),
        price: row.opt_text(8)?.map(str::to_owned),
        comment: row.text(9)?.to_owned(),
        likes: row.int(10)? as u64,
        comments: row.int(11)? as u64,
        created_at_ms: row.int(12)?,
    })
}

fn comment(row: &Row) -> Result<CommentRecord, StoreError> {
    Ok(CommentRecord {
        comment_id: row.text(0)?.to_owned(),
        share_id: row.text(1)?.to_owned(),
        user_id: row.int(2)? as u64,
        text: row.text(3)?.to_owned(),
        created_at_ms: row.int(4)?,
    })
}

fn user(id: u64) -> Param {
    Param::Int(id as i64)
}

fn limit_param(limit: usize) -> Param {
    Param::Int(i64::try_from(limit.clamp(1, crate::PAGE_LIMIT_MAX)).unwrap_or(100))
}

/// The `follows` columns of the users listed and of the user they are listed for: the
/// followers of a user, or whom they follow.
fn follow_columns(followers: bool) -> (&'static str, &'static str) {
    if followers { ("follower_id", "followee_id") } else { ("followee_id", "follower_id") }
}

/// The `LIMIT` of a read for a user's data export: up to [`crate::EXPORT_LIMIT_MAX`].
fn export_limit_param(limit: usize) -> Param {
    Param::Int(i64::try_from(limit.clamp(1, crate::EXPORT_LIMIT_MAX)).unwrap_or(100))
}

impl Store {
    /// A user's profile, if they wrote one.
    pub fn profile(&self, user_id: u64) -> Result<Option<ProfileRecord>, StoreError> {
        let rows = self.backend().query("SELECT user_id, display_name, bio, public, updated_at FROM profiles WHERE user_id = $1", &[user(user_id)])?;
        rows.first()
            .map(|row| {
                Ok(ProfileRecord {
                    user_id: row.int(0)? as u64,
                    display_name: row.text(1)?.to_owned(),
                    bio: row.text(2)?.to_owned(),
                    public: row.int(3)? != 0,
                    updated_at_ms: row.int(4)?,
                })
            })
            .transpose()
    }

    /// The display names of those of `users` whose profiles are public (a few queries of
    /// up to 500 ids each, not one per user).
    pub fn public_display_names(&self, users: &[u64]) -> Result<std::collections::BTreeMap<u64, String>, StoreError> {
        let mut names = std::collections::BTreeMap::new();
        for chunk in users.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|index| format!("${index}")).collect();
            let params: Vec<Param> = chunk.iter().map(|&id| user(id)).collect();
            let sql = format!("SELECT user_id, display_name FROM profiles WHERE public <> 0 AND user_id IN ({})", placeholders.join(", "));
            for row in self.backend().query(&sql, &params)? {
                names.insert(row.int(0)? as u64, row.text(1)?.to_owned());
            }
        }
        Ok(names)
    }

    /// Writes a profile's text and visibility (its avatar is kept).
    pub fn put_profile(&self, profile: &ProfileRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO profiles (user_id, display_name, bio, public, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, bio = excluded.bio, public = excluded.public, updated_at = excluded.updated_at",
            vec![
                user(profile.user_id),
                profile.display_name.as_str().into(),
                profile.bio.as_str().into(),
                i64::from(profile.public).into(),
                profile.updated_at_ms.into(),
            ],
        )])
    }

    /// Sets (or with `None` removes) a user's avatar; a user without a profile gets a
    /// private one named by their id.
    pub fn put_avatar(&self, user_id: u64, avatar: Option<&AvatarRecord>, now_ms: i64) -> Result<(), StoreError> {
        let (content_type, data): (Param, Param) = match avatar {
            Some(avatar) => (avatar.content_type.as_str().into(), avatar.base64.as_str().into()),
            None => (Param::NullText, Param::NullText),
        };
        self.backend().transaction(&[Statement::new(
            "INSERT INTO profiles (user_id, display_name, bio, public, avatar_type, avatar, updated_at) VALUES ($1, $2, '', 0, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET avatar_type = excluded.avatar_type, avatar = excluded.avatar, updated_at = excluded.updated_at",
            vec![user(user_id), format!("user {user_id}").into(), content_type, data, now_ms.into()],
        )])
    }

    pub fn avatar(&self, user_id: u64) -> Result<Option<AvatarRecord>, StoreError> {
        let rows = self.backend().query("SELECT avatar_type, avatar FROM profiles WHERE user_id = $1 AND avatar IS NOT NULL", &[user(user_id)])?;
        rows.first().map(|row| Ok(AvatarRecord { content_type: row.text(0)?.to_owned(), base64: row.text(1)?.to_owned() })).transpose()
    }

    /// Starts `follower` following `followee`; false if they did already.
    pub fn follow(&self, follower: u64, followee: u64, now_ms: i64) -> Result<bool, StoreError> {
        if self.follows(follower, followee)? {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (follower_id, followee_id) DO NOTHING",
            vec![user(follower), user(followee), now_ms.into()],
        )])?;
        Ok(true)
    }

    /// Stops a follow; false if there was none.
    pub fn unfollow(&self, follower: u64, followee: u64) -> Result<bool, StoreError> {
        if !self.follows(follower, followee)? {
            return Ok(false);
        }
        self.backend()
            .transaction(&[Statement::new("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2", vec![user(follower), user(followee)])])?;
        Ok(true)
    }

    pub fn follows(&self, follower: u64, followee: u64) -> Result<bool, StoreError> {
        Ok(!self.backend().query("SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2", &[user(follower), user(followee)])?.is_empty())
    }

    /// Who follows `user_id` (`followers`) or whom they follow, newest first, after
    /// `offset` of them (at most [`crate::EXPORT_LIMIT_MAX`]); and how many there are in all.
    pub fn follow_list(&self, user_id: u64, followers: bool, offset: usize, limit: usize) -> Result<(Vec<FollowRecord>, u64), StoreError> {
        let (wanted, by) = follow_columns(followers);
        let rows = self.backend().query(
            &format!("SELECT {wanted}, created_at FROM follows WHERE {by} = $1 ORDER BY created_at DESC, {wanted} LIMIT $2 OFFSET $3"),
            &[user(user_id), export_limit_param(limit), Param::Int(offset as i64)],
        )?;
        let list = rows.iter().map(|row| Ok(FollowRecord { user_id: row.int(0)? as u64, since_ms: row.int(1)? })).collect::<Result<Vec<_>, StoreError>>()?;
        let total = self.backend().query(&format!("SELECT COUNT(*) FROM follows WHERE {by} = $1"), &[user(user_id)])?;
        Ok((list, total.first().map(|row| row.int(0)).transpose()?.unwrap_or(0) as u64))
    }

    /// A page of who follows `user_id` (`followers`) or whom they follow, newest first:
    /// those with public profiles and their display names, after `offset` of them; and how
    /// many there are with public profiles and with private ones.
    pub fn public_follow_page(&self, user_id: u64, followers: bool, offset: usize, limit: usize) -> Result<FollowPage, StoreError> {
        let (wanted, by) = follow_columns(followers);
        let rows = self.backend().query(
            &format!(
                "SELECT f.{wanted}, f.created_at, p.display_name FROM follows f JOIN profiles p ON p.user_id = f.{wanted} AND p.public <> 0 \
                 WHERE f.{by} = $1 ORDER BY f.created_at DESC, f.{wanted} LIMIT $2 OFFSET $3"
            ),
            &[user(user_id), limit_param(limit), Param::Int(i64::try_from(offset).unwrap_or(i64::MAX))],
        )?;
        let page = rows
            .iter()
            .map(|row| Ok((FollowRecord { user_id: row.int(0)? as u64, since_ms: row.int(1)? }, row.text(2)?.to_owned())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let counts = self.backend().query(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN p.public <> 0 THEN 1 ELSE 0 END), 0) FROM follows f \
                 LEFT JOIN profiles p ON p.user_id = f.{wanted} WHERE f.{by} = $1"
            ),
            &[user(user_id)],
        )?;
        let (total, public) = match counts.first() {
            Some(row) => (row.int(0)? as u64, row.int(1)? as u64),
            None => (0, 0),
        };
        Ok(FollowPage { users: page, public, private: total.saturating_sub(public) })
    }

    /// The id of `user_id`'s share of `kind` `reference_id` (one not deleted; hidden ones
    /// count), if there is one.
    pub fn share_of(&self, user_id: u64, kind: &str, reference_id: &str) -> Result<Option<String>, StoreError> {
        let rows = self.backend().query(
            "SELECT share_id FROM shares WHERE user_id = $1 AND kind = $2 AND reference_id = $3 AND deleted_at IS NULL",
            &[user(user_id), kind.into(), reference_id.into()],
        )?;
        rows.first().map(|row| row.text(0).map(str::to_owned)).transpose()
    }

    /// Stores a share: [`StoreError::Quota`] if its author has a share of the same order or
    /// trade already (not deleted), also when two processes store one at once.
    pub fn insert_share(&self, record: &ShareRecord) -> Result<(), StoreError> {
        let safe = |text: &str| text.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !safe(&record.kind) || !safe(&record.reference_id) {
            return Err(StoreError::Invalid(format!("a share of {:?} {:?}", record.kind, record.reference_id)));
        }
        let quota = crate::Quota {
            table: "shares",
            live: format!("kind = '{}' AND reference_id = '{}' AND deleted_at IS NULL", record.kind, record.reference_id).into(),
            max: 1,
            what: "share of each order or trade",
        };
        self.insert_within(
            record.user_id,
            record.user_id,
            Statement::new(
                format!("INSERT INTO shares ({SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11)"),
                vec![
                    record.share_id.as_str().into(),
                    user(record.user_id),
                    user(record.account_id),
                    record.kind.as_str().into(),
                    record.reference_id.as_str().into(),
                    record.symbol.as_str().into(),
                    record.side.as_str().into(),
                    record.quantity.as_str().into(),
                    record.price.clone().into(),
                    record.comment.as_str().into(),
                    record.created_at_ms.into(),
                ],
            ),
            &quota,
        )
    }

    /// A share neither deleted nor hidden.
    pub fn share(&self, share_id: &str) -> Result<Option<ShareRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE share_id = $1 AND {VISIBLE}"), &[share_id.into()])?;
        rows.first().map(share).transpose()
    }

    /// The visible shares of `authors` made at or after `since_ms`, newest first, at most `limit`.
    pub fn shares_by(&self, authors: &[u64], since_ms: i64, limit: usize) -> Result<Vec<ShareRecord>, StoreError> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        let list = authors.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let rows = self.backend().query(
            &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE user_id IN ({list}) AND created_at >= $1 AND {VISIBLE} ORDER BY created_at DESC, share_id DESC LIMIT $2"),
            &[since_ms.into(), limit_param(limit)],
        )?;
        rows.iter().map(share).collect()
    }

    /// Everyone `user_id` follows.
    pub fn followees(&self, user_id: u64) -> Result<Vec<u64>, StoreError> {
        let rows = self.backend().query("SELECT followee_id FROM follows WHERE follower_id = $1", &[user(user_id)])?;
        rows.iter().map(|row| Ok(row.int(0)? as u64)).collect()
    }

    /// Deletes the author's share; false if they have no such visible share.
    pub fn delete_share(&self, user_id: u64, share_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        if self.share(share_id)?.is_none_or(|share| share.user_id != user_id) {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new("UPDATE shares SET deleted_at = $1 WHERE share_id = $2", vec![now_ms.into(), share_id.into()])])?;
        Ok(true)
    }

    /// Likes a share (once per user; `false` if liked already), keeping its count.
    pub fn like(&self, share_id: &str, user_id: u64, like: bool, now_ms: i64) -> Result<bool, StoreError> {
        let liked = !self.backend().query("SELECT 1 FROM share_likes WHERE share_id = $1 AND user_id = $2", &[share_id.into(), user(user_id)])?.is_empty();
        if liked == like {
            return Ok(false);
        }
        let change = if like {
            Statement::new(
                "INSERT INTO share_likes (share_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (share_id, user_id) DO NOTHING",
                vec![share_id.into(), user(user_id), now_ms.into()],
            )
        } else {
            Statement::new("DELETE FROM share_likes WHERE share_id = $1 AND user_id = $2", vec![share_id.into(), user(user_id)])
        };
        self.backend().transaction(&[
            change,
            Statement::new("UPDATE shares SET likes = (SELECT COUNT(*) FROM share_likes WHERE share_id = $1) WHERE share_id = $1", vec![share_id.into()]),
        ])?;
        Ok(true)
    }

    /// Whether `user_id` likes each of `share_ids`.
    pub fn liked(&self, user_id: u64, share_ids: &[String]) -> Result<Vec<bool>, StoreError> {
        let rows = self.backend().query("SELECT share_id FROM share_likes WHERE user_id = $1", &[user(user_id)])?;
        let liked: std::collections::BTreeSet<String> = rows.iter().map(|row| row.text(0).map(str::to_owned)).collect::<Result<_, _>>()?;
        Ok(share_ids.iter().map(|id| liked.contains(id)).collect())
    }

    /// Adds a comment, keeping the share's count.
    pub fn insert_comment(&self, record: &CommentRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[
            Statement::new(
                format!("INSERT INTO share_comments ({COMMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
                vec![
                    record.comment_id.as_str().into(),
                    record.share_id.as_str().into(),
                    user(record.user_id),
                    record.text.as_str().into(),
                    record.created_at_ms.into(),
                ],
            ),
            count_comments(&record.share_id),
        ])
    }

    /// A share's visible comments, oldest first.
    pub fn comments(&self, share_id: &str, offset: usize, limit: usize) -> Result<Vec<CommentRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {COMMENT_COLUMNS} FROM share_comments WHERE share_id = $1 AND {VISIBLE} ORDER BY created_at, comment_id LIMIT $2 OFFSET $3"),
            &[share_id.into(), limit_param(limit), Param::Int(offset as i64)],
        )?;
        rows.iter().map(comment).collect()
    }

    pub fn comment(&self, comment_id: &str) -> Result<Option<CommentRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {COMMENT_COLUMNS} FROM share_comments WHERE comment_id = $1 AND {VISIBLE}"), &[comment_id.into()])?;
        rows.first().map(comment).transpose()
    }

    /// A user's own comments not deleted (hidden ones too: they are still the user's),
    /// newest first, at most [`crate::EXPORT_LIMIT_MAX`] (for the user's export).
    pub fn comments_by(&self, user_id: u64, limit: usize) -> Result<Vec<CommentRecord>, StoreError> {
        let rows = self.backend().query(
            &format!(
                "SELECT {COMMENT_COLUMNS} FROM share_comments WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, comment_id DESC LIMIT $2"
            ),
            &[user(user_id), export_limit_param(limit)],
        )?;
        rows.iter().map(comment).collect()
    }

    /// A user's own shares not deleted (hidden ones too), newest first, at most
    /// [`crate::EXPORT_LIMIT_MAX`] (for the user's export).
    pub fn own_shares(&self, user_id: u64, limit: usize) -> Result<Vec<ShareRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, share_id DESC LIMIT $2"),
            &[user(user_id), export_limit_param(limit)],
        )?;
        rows.iter().map(share).collect()
    }

    /// The shares a user likes.
    pub fn likes_by(&self, user_id: u64) -> Result<Vec<String>, StoreError> {
        let rows = self.backend().query("SELECT share_id FROM share_likes WHERE user_id = $1 ORDER BY created_at, share_id", &[user(user_id)])?;
        rows.iter().map(|row| Ok(row.text(0)?.to_owned())).collect()
    }

    /// Deletes a comment (by its author, or the share's author); false if there is none.
    pub fn delete_comment(&self, comment_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let Some(found) = self.comment(comment_id)? else { return Ok(false) };
        self.backend().transaction(&[
            Statement::new("UPDATE share_comments SET deleted_at = $1 WHERE comment_id = $2", vec![now_ms.into(), comment_id.into()]),
            count_comments(&found.share_id),
        ])?;
        Ok(true)
    }

    /// How many shares and comments `user_id` posted at or after `since_ms`.
    pub fn posts_since(&self, user_id: u64, since_ms: i64) -> Result<u64, StoreError> {
        let rows = self.backend().query(
            "SELECT (SELECT COUNT(*) FROM shares WHERE user_id = $1 AND created_at >= $2) + (SELECT COUNT(*) FROM share_comments WHERE user_id = $1 AND created_at >= $2)",
            &[user(user_id), since_ms.into()],
        )?;
        Ok(rows.first().map(|row| row.int(0)).transpose()?.unwrap_or(0) as u64)
    }

    pub fn insert_report(&self, report: &ReportRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO reports (report_id, target, target_id, reporter_id, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                report.report_id.as_str().into(),
                report.target.as_str().into(),
                report.target_id.as_str().into(),
                user(report.reporter_id),
                report.reason.as_str().into(),
                report.created_at_ms.into(),
            ],
        )])
    }

    /// `reporter`'s unresolved report of this target, if any.
    pub fn open_report(&self, reporter: u64, target: &str, target_id: &str) -> Result<Option<ReportRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("{REPORTS_SELECT} WHERE reporter_id = $1 AND target = $2 AND target_id = $3 AND resolved_at IS NULL ORDER BY created_at LIMIT 1"),
            &[user(reporter), target.into(), target_id.into()],
        )?;
        rows.first().map(report_record).transpose()
    }

    /// The reports `reporter` filed, newest first, at most [`crate::EXPORT_LIMIT_MAX`].
    pub fn reports_by(&self, reporter: u64, limit: usize) -> Result<Vec<ReportRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("{REPORTS_SELECT} WHERE reporter_id = $1 ORDER BY created_at DESC, report_id DESC LIMIT $2"),
            &[user(reporter), export_limit_param(limit)],
        )?;
        rows.iter().map(report_record).collect()
    }

    /// A page of reports, oldest first (only unresolved ones with `open_only`), after the
    /// page `page_token` ended; and the next page's token.
    pub fn reports(&self, open_only: bool, limit: usize, page_token: Option<&str>) -> Result<(Vec<ReportRecord>, Option<String>), StoreError> {
        let filters = if open_only { vec!["resolved_at IS NULL".to_owned()] } else { Vec::new() };
        let list =
            crate::pages::TimeOrder { select: REPORTS_SELECT.to_owned(), filters, params: Vec::new(), time: "created_at", id: "report_id", oldest_first: true };
        self.time_ordered(list, limit, page_token, report_record, |report| (report.created_at_ms, report.report_id.as_str()))
    }

    /// A page of a user's visible shares, newest first: `limit` after the first `offset`,
    /// and whether more follow.
    pub fn shares_page(&self, user_id: u64, offset: usize, limit: usize) -> Result<(Vec<ShareRecord>, bool), StoreError> {
        let limit = limit.clamp(1, crate::PAGE_LIMIT_MAX);
        let rows = self.backend().query(
            &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE user_id = $1 AND {VISIBLE} ORDER BY created_at DESC, share_id DESC LIMIT $2 OFFSET $3"),
            &[user(user_id), Param::Int(limit as i64 + 1), Param::Int(i64::try_from(offset).unwrap_or(i64::MAX))],
        )?;
        let mut page = rows.iter().map(share).collect::<Result<Vec<_>, StoreError>>()?;
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    /// Hides a share or comment (`target` `SHARE` or `COMMENT`) from everyone and resolves
    /// its reports; false if there is no such visible one.
    pub fn hide(&self, target: &str, target_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut statements = match target {
            "SHARE" if self.share(target_id)?.is_some() => {
                vec![Statement::new("UPDATE shares SET hidden_at = $1 WHERE share_id = $2", vec![now_ms.into(), target_id.into()])]
            }
            "COMMENT" => match self.comment(target_id)? {
                Some(found) => vec![
                    Statement::new("UPDATE share_comments SET hidden_at = $1 WHERE comment_id = $2", vec![now_ms.into(), target_id.into()]),
                    count_comments(&found.share_id),
                ],
                None => return Ok(false),
            },
            _ => return Ok(false),
        };
        statements.push(Statement::new(
            "UPDATE reports SET resolved_at = $1 WHERE target = $2 AND target_id = $3 AND resolved_at IS NULL",
            vec![now_ms.into(), target.into(), target_id.into()],
        ));
        self.backend().transaction(&statements)?;
        Ok(true)
    }

    /// Removes everything social of a user (account deletion): profile, follows both ways,
    /// shares, likes and comments.
    pub fn delete_social(&self, user_id: u64) -> Result<(), StoreError> {
        let id = user(user_id);
        self.backend().transaction(&[
            Statement::new("DELETE FROM profiles WHERE user_id = $1", vec![id.clone()]),
            Statement::new("DELETE FROM follows WHERE follower_id = $1 OR followee_id = $1", vec![id.clone()]),
            Statement::new("DELETE FROM share_likes WHERE user_id = $1", vec![id.clone()]),
            Statement::new("DELETE FROM share_comments WHERE user_id = $1", vec![id.clone()]),
            Statement::new("DELETE FROM share_likes WHERE share_id IN (SELECT share_id FROM shares WHERE user_id = $1)", vec![id.clone()]),
            Statement::new("DELETE FROM share_comments WHERE share_id IN (SELECT share_id FROM shares WHERE user_id = $1)", vec![id.clone()]),
            Statement::new("DELETE FROM shares WHERE user_id = $1", vec![id.clone()]),
            Statement::new("UPDATE shares SET likes = (SELECT COUNT(*) FROM share_likes l WHERE l.share_id = shares.share_id), comments = (SELECT COUNT(*) FROM share_comments c WHERE c.share_id = shares.share_id AND c.deleted_at IS NULL AND c.hidden_at IS NULL)", vec![]),
        ])
    }
}

fn count_comments(share_id: &str) -> Statement {
    Statement::new(
        format!("UPDATE shares SET comments = (SELECT COUNT(*) FROM share_comments WHERE share_id = $1 AND {VISIBLE}) WHERE share_id = $1"),
        vec![share_id.into()],
    )
}

/// The `reports` columns [`report_record`] reads, in its order.
const REPORTS_SELECT: &str = "SELECT report_id, target, target_id, reporter_id, reason, created_at, resolved_at FROM reports";

/// A `reports` row selected by [`REPORTS_SELECT`].
fn report_record(row: &Row) -> Result<ReportRecord, StoreError> {
    Ok(ReportRecord {
        report_id: row.text(0)?.to_owned(),
        target: row.text(1)?.to_owned(),
        target_id: row.text(2)?.to_owned(),
        reporter_id: row.int(3)? as u64,
        reason: row.text(4)?.to_owned(),
        created_at_ms: row.int(5)?,
        resolved_at_ms: row.opt_int(6)?,
    })
}
