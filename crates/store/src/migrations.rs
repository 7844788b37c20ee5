//! Schema migrations, applied in order at start-up. The SQL lives in `migrations/`:
//! files shared by both databases, and per-dialect ones where they differ.

use crate::StoreError;
use crate::db::{Backend, Dialect};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sqlite: include_str!("../migrations/0001_init.sql"), postgres: include_str!("../migrations/0001_init.sql") },
    Migration { version: 2, sqlite: include_str!("../migrations/sqlite/0002_search.sql"), postgres: include_str!("../migrations/postgres/0002_search.sql") },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/0003_trades_by_symbol.sql"),
        postgres: include_str!("../migrations/0003_trades_by_symbol.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_search_by_user.sql"),
        postgres: include_str!("../migrations/postgres/0004_search_by_user.sql"),
    },
    Migration { version: 5, sqlite: include_str!("../migrations/0005_identity.sql"), postgres: include_str!("../migrations/0005_identity.sql") },
    Migration { version: 6, sqlite: include_str!("../migrations/0006_alerts.sql"), postgres: include_str!("../migrations/0006_alerts.sql") },
    Migration { version: 7, sqlite: include_str!("../migrations/0007_organisations.sql"), postgres: include_str!("../migrations/0007_organisations.sql") },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/0008_audit_by_subject.sql"),
        postgres: include_str!("../migrations/0008_audit_by_subject.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/0009_token_generation.sql"),
        postgres: include_str!("../migrations/0009_token_generation.sql"),
    },
    Migration { version: 10, sqlite: include_str!("../migrations/0010_order_budget.sql"), postgres: include_str!("../migrations/0010_order_budget.sql") },
    Migration { version: 11, sqlite: include_str!("../migrations/0011_watchlists.sql"), postgres: include_str!("../migrations/0011_watchlists.sql") },
    Migration { version: 12, sqlite: include_str!("../migrations/0012_paper_accounts.sql"), postgres: include_str!("../migrations/0012_paper_accounts.sql") },
    Migration { version: 13, sqlite: include_str!("../migrations/0013_contests.sql"), postgres: include_str!("../migrations/0013_contests.sql") },
    Migration { version: 14, sqlite: include_str!("../migrations/0014_notifications.sql"), postgres: include_str!("../migrations/0014_notifications.sql") },
    Migration { version: 15, sqlite: include_str!("../migrations/0015_social.sql"), postgres: include_str!("../migrations/0015_social.sql") },
    Migration { version: 16, sqlite: include_str!("../migrations/0016_channels.sql"), postgres: include_str!("../migrations/0016_channels.sql") },
    Migration { version: 17, sqlite: include_str!("../migrations/0017_idempotency.sql"), postgres: include_str!("../migrations/0017_idempotency.sql") },
    Migration { version: 18, sqlite: include_str!("../migrations/0018_invitations.sql"), postgres: include_str!("../migrations/0018_invitations.sql") },
    Migration { version: 19, sqlite: include_str!("../migrations/0019_daily_closes.sql"), postgres: include_str!("../migrations/0019_daily_closes.sql") },
    Migration { version: 20, sqlite: include_str!("../migrations/0020_order_classes.sql"), postgres: include_str!("../migrations/0020_order_classes.sql") },
    Migration { version: 21, sqlite: include_str!("../migrations/0021_org_admin_fence.sql"), postgres: include_str!("../migrations/0021_org_admin_fence.sql") },
    Migration { version: 22, sqlite: include_str!("../migrations/0022_wallet_by_time.sql"), postgres: include_str!("../migrations/0022_wallet_by_time.sql") },
    Migration { version: 23, sqlite: include_str!("../migrations/0023_quota_fence.sql"), postgres: include_str!("../migrations/0023_quota_fence.sql") },
    Migration { version: 24, sqlite: include_str!("../migrations/0024_order_trails.sql"), postgres: include_str!("../migrations/0024_order_trails.sql") },
    Migration { version: 25, sqlite: include_str!("../migrations/0025_order_flags.sql"), postgres: include_str!("../migrations/0025_order_flags.sql") },
    Migration { version: 26, sqlite: include_str!("../migrations/0026_password_resets.sql"), postgres: include_str!("../migrations/0026_password_resets.sql") },
    Migration { version: 27, sqlite: include_str!("../migrations/0027_closed_accounts.sql"), postgres: include_str!("../migrations/0027_closed_accounts.sql") },
    Migration {
        version: 28,
        sqlite: include_str!("../migrations/0028_refresh_tokens_by_user.sql"),
        postgres: include_str!("../migrations/0028_refresh_tokens_by_user.sql"),
    },
    Migration { version: 29, sqlite: include_str!("../migrations/0029_grantors.sql"), postgres: include_str!("../migrations/0029_grantors.sql") },
    Migration { version: 30, sqlite: include_str!("../migrations/0030_order_lookups.sql"), postgres: include_str!("../migrations/0030_order_lookups.sql") },
    Migration {
        version: 31,
        sqlite: include_str!("../migrations/0031_unique_usernames.sql"),
        postgres: include_str!("../migrations/0031_unique_usernames.sql"),
    },
    Migration {
        version: 32,
        sqlite: include_str!("../migrations/0032_unique_organisation_names.sql"),
        postgres: include_str!("../migrations/0032_unique_organisation_names.sql"),
    },
    Migration {
        version: 33,
        sqlite: include_str!("../migrations/sqlite/0033_unicode_lower.sql"),
        postgres: include_str!("../migrations/postgres/0033_unicode_lower.sql"),
    },
    Migration {
        version: 34,
        sqlite: include_str!("../migrations/0034_orders_by_update.sql"),
        postgres: include_str!("../migrations/0034_orders_by_update.sql"),
    },
];

/// Every table holding projected data (what a rebuild empties).
pub(crate) const TABLES: [&str; 11] = [
    "projection_offsets",
    "projection_meta",
    "accounts",
    "orders",
    "trades",
    "positions",
    "position_lots",
    "last_prices",
    "daily_closes",
    "wallet_transactions",
    "portfolio_snapshots",
];

/// The advisory lock PostgreSQL migrations hold (any fixed number; "TCMIGRAT" in ASCII).
const MIGRATION_LOCK: i64 = 0x5443_4d49_4752_4154;

/// Brings the schema up to date. On PostgreSQL every process of a deployment may start at
/// once against a new database: they take turns under an advisory lock (held by the
/// writer connection, which runs every statement here), and each finds what the ones
/// before it applied.
pub(crate) fn migrate(db: &dyn Backend) -> Result<(), StoreError> {
    if db.dialect() != Dialect::Postgres {
        return apply(db);
    }
    db.batch(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let applied = apply(db);
    let unlocked = db.batch(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    applied.and(unlocked)
}

fn apply(db: &dyn Backend) -> Result<(), StoreError> {
    db.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")?;
    let applied = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
    let current = applied.first().map(|row| row.int(0)).transpose()?.unwrap_or(0);
    for migration in MIGRATIONS.iter().filter(|migration| migration.version > current) {
        let sql = match db.dialect() {
            Dialect::Sqlite => migration.sqlite,
            Dialect::Postgres => migration.postgres,
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis());
        db.batch(&format!("BEGIN;\n{sql}\nINSERT INTO schema_migrations (version, applied_at) VALUES ({}, {now});\nCOMMIT;", migration.version))?;
    }
    Ok(())
}
