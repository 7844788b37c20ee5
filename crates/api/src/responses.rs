//! Response bodies of the native API, one struct per answer. Handlers return these; the
//! OpenAPI document's schemas are derived from them. Prices, quantities and money are
//! exact decimal strings; ids are decimal strings; times are ISO 8601 UTC.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorObject {
    /// A stable machine-readable code, e.g. `invalid_field`, `insufficient_funds`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// More about it: for a bad field `{"field": "..."}`; otherwise null.
    #[schema(value_type = Object, nullable)]
    pub details: Value,
}

/// `GET /health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Live {
    /// Always `ok`.
    pub status: String,
}

/// `GET /health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ready {
    /// `ready`, `recovering` or `degraded`.
    pub status: String,
    pub dependencies: ReadyDependencies,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadyDependencies {
    pub log: Dependency,
    pub engine: Dependency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_store: Option<Dependency>,
}

/// One dependency's state.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Dependency {
    /// `up`, `down`, `recovering` (replaying, or retrying after a storage failure) or
    /// `failed` (damage found: stopped until repaired).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The log: commands appended so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commands: Option<u64>,
    /// The engine: the next command offset it will apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_command: Option<u64>,
    /// The engine, while recovering: the offset it must reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovering_to: Option<u64>,
    /// The read store: `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// The read store: records not yet projected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_records: Option<u64>,
}

/// `POST /v1/accounts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountCreated {
    pub user_id: String,
    pub cash_balance: String,
}

/// `POST /v1/orders`: the engine accepted the order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderAccepted {
    pub order_id: String,
    /// Always `ACCEPTED`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
    /// A contingent order's exit legs (held until the order fills; OCO's stop loss works at once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legs: Vec<OrderLeg>,
}

/// An exit leg of a contingent order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderLeg {
    pub order_id: String,
    /// `TAKE_PROFIT` or `STOP_LOSS`.
    pub role: String,
}

/// An order and what happened to it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Order {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT` or `TRAILING_STOP`.
    #[serde(rename = "type")]
    pub order_type: String,
    /// `GTC`, `DAY`, `IOC`, `FOK`, `OPG` or `CLS`.
    pub time_in_force: String,
    /// The client's own id for it, when it was given one (at placing, or by a replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
    /// LIMIT and STOP_LIMIT orders (after any replace).
    pub limit_price: Option<String>,
    /// STOP and STOP_LIMIT orders; a TRAILING_STOP's trigger price now, while it waits
    /// (it moves with `watermark`).
    pub stop_price: Option<String>,
    /// A TRAILING_STOP's trail by amount, as placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_amount: Option<String>,
    /// A TRAILING_STOP's trail by percent of the price, as placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<String>,
    /// A waiting TRAILING_STOP: the best trade price since it was placed (the highest
    /// for a sell, the lowest for a buy), which `stopPrice` trails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// Placed post-only.
    pub post_only: bool,
    /// `CANCEL_RESTING`, `CANCEL_TAKING` or `CANCEL_BOTH`, when the order named one
    /// (otherwise the exchange's default applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_trade_prevention: Option<String>,
    /// Shares asked for; null for a buy sized by cash amount (see `notional`).
    pub quantity: Option<String>,
    /// A buy sized by cash amount: the cash asked to spend (fees on top). `filledQuantity`
    /// says how many shares it bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notional: Option<String>,
    /// `ACCEPTED`, `PARTIALLY_FILLED`, `FILLED`, `CANCELLED` or `EXPIRED`; `HELD` for an
    /// exit leg waiting for its order to fill.
    pub status: String,
    /// Why the order ended, when the status alone does not say.
    pub reason: Option<String>,
    /// Taken while its market was closed and waiting for the open, outside the book (its
    /// status stays `ACCEPTED`; `/v2` says `accepted`). OPG and CLS orders wait for their
    /// auction whatever this says.
    pub queued: bool,
    /// `BRACKET`, `OTO` or `OCO` for a contingent order and its legs; absent for a simple order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_class: Option<String>,
    /// An exit leg's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_order_id: Option<String>,
    /// A contingent order's exit legs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legs: Vec<String>,
    pub filled_quantity: String,
    /// Volume-weighted price of the fills; null before the first.
    pub average_price: Option<String>,
    pub fills: Vec<OrderFill>,
    pub created_at: String,
    pub updated_at: String,
    /// Replace only: whether the order kept its place in the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_kept: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderFill {
    pub trade_id: String,
    pub price: String,
    pub quantity: String,
    pub fee: String,
    /// `MAKER` or `TAKER`.
    pub liquidity: String,
    pub timestamp: String,
}

/// `GET /v1/orders`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderList {
    pub orders: Vec<Order>,
    pub pagination: NextPage,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NextPage {
    /// Pass as `pageToken` for the next page; null on the last.
    pub next_page_token: Option<String>,
}

/// A page that also says how many match in all.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pagination {
    pub next_page_token: Option<String>,
    pub total_count: u64,
}

/// `DELETE /v1/orders/{order_id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderCancelled {
    pub order_id: String,
    /// Always `CANCELLED`.
    pub status: String,
}

/// `GET /v1/portfolio/{user_id}` (seed 000 6.2).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Portfolio {
    pub user_id: String,
    pub cash_balance: String,
    pub available_cash: String,
    pub reserved_cash: String,
    /// Shares held per symbol.
    pub holdings: BTreeMap<String, String>,
    /// Shares set aside for open sells, per symbol.
    pub reserved_holdings: BTreeMap<String, String>,
    pub open_orders: u64,
    pub last_updated_timestamp: String,
}

/// One execution or failed order (seed 000 6.3).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Trade {
    pub event_id: String,
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    pub quantity: String,
    pub side: String,
    /// `EXECUTED`, `FAILED_INSUFFICIENT_FUNDS`, `FAILED_INSUFFICIENT_SHARES` or `FAILED_OTHER`.
    pub status: String,
    pub execution_price: Option<String>,
    pub execution_timestamp: String,
    pub failure_reason: Option<String>,
    pub trade_id: Option<String>,
    pub fee: String,
    pub liquidity: Option<String>,
}

/// `GET /v1/trades/search`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TradePage {
    pub trades: Vec<Trade>,
    pub pagination: Pagination,
}

/// `GET /v1/portfolio/positions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Positions {
    pub user_id: String,
    pub cash_balance: String,
    pub market_value: String,
    pub total_value: String,
    pub positions: Vec<Position>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Position {
    pub symbol: String,
    pub quantity: String,
    pub average_cost: Option<String>,
    pub cost_basis: String,
    pub last_price: Option<String>,
    pub market_value: Option<String>,
    pub unrealized_pnl: Option<String>,
    pub realized_pnl: String,
    pub fees: String,
    pub updated_at: String,
}

/// Return and risk over a period. Ratios are plain numbers (statistics, not money);
/// null where the data cannot give one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Figures {
    pub start_value: String,
    pub end_value: String,
    pub net_deposits: String,
    pub total_return: Option<f64>,
    pub volatility: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub max_drawdown: Option<f64>,
}

/// `GET /v1/portfolio/performance`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Performance {
    pub user_id: String,
    pub period: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub daily_returns: Vec<DailyReturn>,
    /// The account's value over the period, oldest first, from when it first held anything:
    /// its opening deposit (an account opens empty and is funded at once; `startValue` is
    /// still its value at the period's start).
    pub value_history: Vec<ValuePoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DailyReturn {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(rename = "return")]
    pub value: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValuePoint {
    pub timestamp: String,
    pub value: String,
}

/// `GET /v1/wallet/transactions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Statement {
    pub user_id: String,
    pub transactions: Vec<StatementLine>,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatementLine {
    pub id: String,
    /// `DEPOSIT`, `WITHDRAWAL`, `BUY`, `SELL` or `FEE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Signed: money in is positive.
    pub amount: String,
    pub balance_after: String,
    pub reference: String,
    pub symbol: Option<String>,
    pub timestamp: String,
}

/// `GET /v1/analytics/volume` (seed 000 6.4).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Volume {
    pub data: Vec<VolumeEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VolumeEntry {
    pub symbol: String,
    pub volume: String,
    pub time_window: String,
}

/// `GET /v1/analytics/metrics`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Metrics {
    pub windows: Vec<WindowMetrics>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WindowMetrics {
    pub time_window: String,
    pub trade_count: u64,
    pub notional: String,
    pub symbols: Vec<SymbolMetrics>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SymbolMetrics {
    pub symbol: String,
    pub trade_count: u64,
    pub volume: String,
    pub notional: String,
    pub vwap: Option<String>,
}

/// `GET /v1/leaderboard`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Leaderboard {
    pub period: String,
    pub entries: Vec<LeaderboardEntry>,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaderboardEntry {
    pub rank: u64,
    /// The ranked user, when others may see who they are: a public profile, the caller's
    /// own entry, or any entry for an admin. Null for someone else's private profile, so
    /// a private user's results are ranked without saying whose they are.
    pub user_id: Option<String>,
    /// The user's display name when their profile is public (HTML-escaped, as on every
    /// social answer); null for a private one.
    pub display_name: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `POST /v1/auth/password/forgot`: the same answer whether or not a user has the email.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResetRequested {
    pub message: String,
}

/// `POST /v1/users/{userId}/password-reset`: a code to hand to the user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetCode {
    pub user_id: String,
    /// Spend at `POST /v1/auth/password/reset` (once).
    pub code: String,
    pub expires_at: String,
}

/// A login: register, login and refresh answer this.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tokens {
    pub user_id: String,
    /// `trader`, `viewer` or `admin`.
    pub role: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Send as `Authorization: Bearer ...`; ends after `expiresIn` seconds, or at once on
    /// logout, a role change or deletion.
    pub access_token: String,
    pub expires_in: i64,
    /// Spend at `/v1/auth/refresh` for a new pair (once).
    pub refresh_token: String,
    /// Register only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Register only: the new paper account's cash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash_balance: Option<String>,
}

/// An API key, without its secret except in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKey {
    pub key_id: String,
    pub name: String,
    /// `read` and/or `trade`.
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked: bool,
    /// The key itself: in the creating answer only. Send as `X-API-Key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// `GET /v1/api-keys`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeys {
    pub keys: Vec<ApiKey>,
}

/// `PUT /v1/users/{user_id}/role`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleSet {
    pub user_id: String,
    pub role: String,
}

/// `GET /v1/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    pub pagination: NextPage,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntry {
    pub id: String,
    pub timestamp: String,
    /// A user id, `operator` or `anonymous`.
    pub actor: String,
    pub action: String,
    /// What it is about, e.g. `user:42`.
    pub subject: String,
    #[schema(value_type = Object, nullable)]
    pub details: Value,
}

/// Limits in force for a user, group or organisation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LimitsAnswer {
    /// e.g. `user:42`, `group:7`, `organisation:3`.
    pub scope: String,
    pub limits: LimitsView,
}

/// A set of trading limits; absent fields are unlimited.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitsView {
    pub trading_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gross_exposure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_notional: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_loss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_orders_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_trades_per_day: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_symbols: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_symbols: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_order_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trading_hours: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_share_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_symbol_share_percent: Option<String>,
}

impl From<tradecraft_sequencer::wire::WireLimits> for LimitsView {
    fn from(limits: tradecraft_sequencer::wire::WireLimits) -> Self {
        Self {
            trading_enabled: limits.trading_enabled,
            max_order_quantity: limits.max_order_quantity,
            max_order_notional: limits.max_order_notional,
            max_open_orders: limits.max_open_orders,
            max_position: limits.max_position,
            max_gross_exposure: limits.max_gross_exposure,
            max_daily_notional: limits.max_daily_notional,
            max_daily_loss: limits.max_daily_loss,
            max_orders_per_minute: limits.max_orders_per_minute,
            max_trades_per_day: limits.max_trades_per_day,
            allowed_symbols: limits.allowed_symbols,
            blocked_symbols: limits.blocked_symbols,
            allowed_order_types: limits.allowed_order_types,
            trading_hours: limits.trading_hours,
            min_share_price: limits.min_share_price,
            max_symbol_share_percent: limits.max_symbol_share_percent,
        }
    }
}

/// `PUT /v1/users/{user_id}/membership`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Membership {
    pub user_id: String,
    pub group_id: Option<String>,
    pub organisation_id: Option<String>,
}

/// `POST /v1/organisations`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganisationCreated {
    pub organisation_id: String,
    pub name: String,
}

/// `GET /v1/users`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserList {
    pub users: Vec<UserListed>,
    pub pagination: NextPage,
}

/// A user as an admin finds them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserListed {
    pub user_id: String,
    pub email: String,
    pub username: String,
    /// `trader`, `viewer` or `admin`.
    pub role: String,
    /// The organisation they are in, if any.
    pub organisation_id: Option<String>,
    pub created_at: String,
}

/// `GET /v1/organisations`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Organisations {
    pub organisations: Vec<OrganisationListed>,
    pub pagination: NextPage,
}

/// An organisation in a list: open it for its groups and members.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganisationListed {
    pub organisation_id: String,
    pub name: String,
    pub created_at: String,
    pub members: u64,
    pub groups: u64,
}

/// `GET /v1/organisations/{org_id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Organisation {
    pub organisation_id: String,
    pub name: String,
    pub groups: Vec<Group>,
    pub members: Vec<Member>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    pub group_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Member {
    pub user_id: String,
    /// Their username, shown to admins and the organisation's admins (null to its other
    /// members).
    pub username: Option<String>,
    /// `member` or `org_admin`.
    pub role: String,
    pub group_id: Option<String>,
}

/// `POST /v1/organisations/{org_id}/groups`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupCreated {
    pub group_id: String,
    pub organisation_id: String,
    pub name: String,
}

/// `PUT /v1/organisations/{org_id}/members/{user_id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberSet {
    pub user_id: String,
    pub organisation_id: String,
    pub role: String,
    pub group_id: Option<String>,
}

/// An invitation into an organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Invitation {
    pub invitation_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub user_id: String,
    /// `member` or `org_admin`.
    pub role: String,
    pub group_id: Option<String>,
    pub created_at: String,
    /// Seven days after it was made.
    pub expires_at: String,
    /// `PENDING`, `ACCEPTED`, `DECLINED` or `REVOKED`.
    pub status: String,
}

/// Pending invitations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Invitations {
    pub invitations: Vec<Invitation>,
}

/// An alert: a limit breach of the user's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    pub alert_id: String,
    pub user_id: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
}

/// `GET /v1/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Alerts {
    pub alerts: Vec<Alert>,
    pub pagination: NextPage,
}

/// `POST /v1/alerts/{alert_id}/acknowledge`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Acknowledged {
    pub alert_id: String,
    pub acknowledged: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub created_at: String,
}

/// `GET /v1/webhooks`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Webhooks {
    pub webhooks: Vec<Webhook>,
}

/// `GET /v1/market/symbols`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Symbols {
    pub symbols: Vec<Instrument>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Instrument {
    pub symbol: String,
    /// Prices are multiples of it.
    pub tick_size: String,
    /// Quantities are multiples of it.
    pub lot_size: String,
    pub min_quantity: String,
    pub halted: bool,
    /// In its trading session: outside it only at-the-open and at-the-close orders are taken.
    pub session_open: bool,
    /// When it trades: `24/7`, weekdays and UTC hours (`mon,tue,wed,thu,fri 14:30-21:00`),
    /// or `nyse`.
    pub session: String,
    /// The next session's opening by the calendar (around the clock, the next UTC midnight).
    pub next_open: Option<String>,
    /// The current session's close, or the next one's.
    pub next_close: Option<String>,
    pub last_price: Option<String>,
}

/// `GET /v1/market/{symbol}/orderbook`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderBook {
    pub symbol: String,
    /// Grows with every change of the book.
    pub sequence: u64,
    /// Best first.
    pub bids: Vec<BookLevel>,
    /// Best first.
    pub asks: Vec<BookLevel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BookLevel {
    pub price: String,
    pub quantity: String,
    pub orders: u32,
}

/// `GET /v1/market/{symbol}/ticker`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ticker {
    pub symbol: String,
    /// The latest price, the one positions are valued at: the market's price feed (what
    /// `prices:{SYM}` pushes), or a trade since its last tick.
    pub price: Option<String>,
    /// The last trade's price.
    pub last: Option<String>,
    pub bid: Option<String>,
    pub ask: Option<String>,
    #[serde(rename = "open24h")]
    pub open_24h: Option<String>,
    #[serde(rename = "high24h")]
    pub high_24h: Option<String>,
    #[serde(rename = "low24h")]
    pub low_24h: Option<String>,
    #[serde(rename = "volume24h")]
    pub volume_24h: String,
    #[serde(rename = "change24h")]
    pub change_24h: Option<String>,
    /// Percent, two decimals.
    #[serde(rename = "changePercent24h")]
    pub change_percent_24h: Option<String>,
}

/// `GET /v1/market/{symbol}/trades`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarketTrades {
    pub symbol: String,
    /// Newest first.
    pub trades: Vec<MarketTrade>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MarketTrade {
    pub trade_id: String,
    pub price: String,
    pub quantity: String,
    /// The side of the order that took liquidity.
    pub taker_side: String,
    pub timestamp: String,
}

/// `GET /v1/market/{symbol}/candles`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Candles {
    pub symbol: String,
    pub interval: String,
    /// Oldest first.
    pub candles: Vec<Candle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Candle {
    pub start: String,
    pub open: String,
    pub high: String,
    pub low: String,
    pub close: String,
    pub volume: String,
    pub trades: u64,
}

/// `GET /v1/me/export`: everything stored about the caller (up to 10,000 rows of each
/// kind, newest first), without secrets.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Export {
    pub exported_at: String,
    pub profile: Option<ExportProfile>,
    pub organisation: Option<ExportMembership>,
    pub api_keys: Vec<ApiKey>,
    pub webhooks: Vec<Webhook>,
    pub alerts: Vec<Alert>,
    pub orders: Vec<ExportOrder>,
    pub trades: Vec<Trade>,
    /// Of every account, newest first.
    pub wallet_transactions: Vec<ExportStatementLine>,
    /// Of every account (the default one first), by symbol.
    pub positions: Vec<ExportPosition>,
    pub audit_trail: Vec<ExportAudit>,
    /// Cash deposited in all.
    pub cash_deposited: Option<String>,
    /// The limits set on the account itself.
    pub limits: Option<LimitsView>,
    /// Every paper account (the default one first) with its cash and holdings; `orders`,
    /// `trades`, `positions` and `walletTransactions` cover them all, each row naming its
    /// account.
    pub accounts: Vec<crate::accounts::PaperAccount>,
    pub social: Option<crate::social::SocialExport>,
    /// Of every account of the user, newest first.
    pub notifications: Vec<crate::notifications::Notification>,
    /// Of every account of the user, newest first.
    pub price_alerts: Vec<crate::notifications::PriceAlert>,
    pub notification_preferences: Option<crate::channels::Preferences>,
    /// The watchlists kept through the Alpaca-compatible `/v2/watchlists`.
    pub watchlists: Vec<ExportWatchlist>,
    /// Pending invitations into organisations.
    pub invitations: Vec<Invitation>,
}

/// A position in one of the caller's paper accounts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportPosition {
    /// The paper account holding it.
    pub account_id: String,
    #[serde(flatten)]
    pub position: Position,
}

/// A line of one of the caller's paper accounts' cash statements.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportStatementLine {
    /// The paper account whose cash it moved.
    pub account_id: String,
    #[serde(flatten)]
    pub line: StatementLine,
}

/// A watchlist in the export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportWatchlist {
    pub watchlist_id: String,
    pub name: String,
    pub symbols: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportProfile {
    pub user_id: String,
    pub email: String,
    pub username: String,
    pub role: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportMembership {
    pub organisation_id: String,
    pub role: String,
    pub group_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportOrder {
    pub order_id: String,
    /// The paper account it was placed in.
    pub account_id: String,
    pub symbol: String,
    pub side: String,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT` or `TRAILING_STOP`.
    #[serde(rename = "type")]
    pub order_type: String,
    pub time_in_force: String,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<String>,
    pub post_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_trade_prevention: Option<String>,
    pub client_order_id: Option<String>,
    /// Null for a buy sized by cash amount (see `notional`).
    pub quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notional: Option<String>,
    pub filled_quantity: String,
    pub status: String,
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExportAudit {
    pub timestamp: String,
    pub action: String,
    pub actor: String,
    /// What the entry is about: `user:{id}` or `account:{id}`, one of the caller's accounts.
    pub subject: String,
}
