//! `/v1/me/accounts`: a user's paper accounts. The default one (its id is the user's) and
//! extra practice accounts, each an engine account of its own, traded and read through
//! every route that takes a `userId` (the account). Resetting one cancels its orders,
//! empties it and deposits its starting cash again; its history stays.
//!
//! Who owns an account is in its id: a user's n-th extra account is
//! `userId + n * 2^48` ([`crate::auth::owner_of`]), so every gateway checks ownership
//! without a lookup.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tradecraft_engine::{AccountLimits, Event, LimitScope, RejectReason};
use tradecraft_sequencer::wire::WireLimits;
use tradecraft_store::PaperAccountRecord;
use tradecraft_types::{AccountId, Money, Quantity, Timestamp};
use utoipa::ToSchema;

use crate::auth::{ACCOUNT_OWNER_BITS, MaybeCaller, PAPER_ACCOUNTS_MAX, own_account, owner_of, require};
use crate::extract::{Body, Decimal, Text, field_error};
use crate::identity::audit;
use crate::reads::{ask, ask_now};
use crate::responses::ErrorBody;
use crate::routes::{STARTING_CASH, execute, now, parse_id, query, run_command, wire_command};
use crate::{ApiError, AppState, Shared};

/// Most cash a practice account may start with.
const STARTING_CASH_MAX: i64 = 10_000_000;

/// One of a user's paper accounts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaperAccount {
    /// Use it as `userId` on the trading and read routes.
    pub account_id: String,
    pub name: String,
    /// `DEFAULT`, `PRACTICE` or `CONTEST`.
    pub kind: String,
    /// A contest's account: the contest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contest_id: Option<String>,
    /// Cash now (available and reserved).
    pub cash_balance: String,
    /// Shares held now, by symbol.
    pub holdings: std::collections::BTreeMap<String, String>,
    /// What a reset restores.
    pub starting_cash: String,
    /// Times it was reset.
    pub resets: u64,
    pub last_reset_at: Option<String>,
    pub created_at: Option<String>,
}

/// `GET /v1/me/accounts`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaperAccounts {
    pub accounts: Vec<PaperAccount>,
}

/// `POST /v1/me/accounts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePaperAccountRequest {
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    pub name: Text<64>,
    /// Starting cash, whole cents, at most 10,000,000; 100,000 when absent.
    pub cash: Option<Decimal>,
}

/// The account as the engine holds it, with what the store keeps about it: a practice or
/// contest account's row, or for a default account (which has none) its user's
/// registration and the resets in its audit trail.
///
/// A row whose engine account is missing, or holds nothing and was never funded though it
/// opens with cash, is an opening that stopped half-way (its server died, or the log
/// refused a write, after the row) or is under way: the opening is completed here, once
/// however many readers find it ([`complete_opening`]), so the account list never fails
/// nor shows an account without its starting cash.
async fn shown(state: &AppState, account: u64, record: Option<&PaperAccountRecord>) -> Result<PaperAccount, ApiError> {
    let opens_with_cash = record.is_some_and(|record| record.starting_cash > 0);
    let (mut view, never_funded) = view_and_emptiness(state, account).await?;
    if let Some(record) = record
        && (view.is_none() || (never_funded && opens_with_cash))
    {
        tracing::warn!(account, "an account opened half-way: completing it");
        complete_opening(state, record).await?;
        view = query(state, move |engine| engine.account(AccountId(account))).await?;
    }
    let view = view.ok_or_else(|| ApiError::NotFound(format!("account {account}")))?;
    let (resets, last_reset_at_ms, created_at_ms) = match record {
        Some(record) => (record.resets, record.last_reset_at_ms, Some(record.created_at_ms)),
        None => {
            ask_now(state, move |store| {
                let (resets, last) = store.default_account_resets(account)?;
                Ok((resets, last, store.user_by_id(account)?.map(|user| user.created_at_ms)))
            })
            .await?
        }
    };
    let holdings = view
        .holdings
        .iter()
        .filter(|(_, balance)| balance.total() != 0)
        .map(|(symbol, balance)| (symbol.as_str().to_owned(), Quantity::from_raw(balance.total()).to_string()))
        .collect();
    let starting_cash = record.map_or_else(|| STARTING_CASH.to_owned(), |record| Money::from_raw(record.starting_cash).to_string());
    Ok(PaperAccount {
        account_id: account.to_string(),
        name: record.map_or_else(|| "Default".to_owned(), |record| record.name.clone()),
        kind: match record {
            None => "DEFAULT",
            Some(record) if record.contest_id.is_some() => "CONTEST",
            Some(_) => "PRACTICE",
        }
        .to_owned(),
        contest_id: record.and_then(|record| record.contest_id).map(|id| id.to_string()),
        cash_balance: Money::from_raw(view.cash.total()).to_string(),
        holdings,
        starting_cash,
        resets,
        last_reset_at: last_reset_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
        created_at: created_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
    })
}

/// The caller's paper accounts: the default one first, then the others oldest first.
#[utoipa::path(get, path = "/v1/me/accounts", tag = "accounts",
    responses((status = 200, description = "The caller's accounts.", body = PaperAccounts), (status = 403, description = "The operator key has no accounts.", body = ErrorBody)))]
pub(crate) async fn list(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<PaperAccounts>, ApiError> {
    let user = own_account(&caller)?;
    Ok(Json(PaperAccounts { accounts: accounts_of(&state, user).await? }))
}

/// A user's accounts: the default one first, then the others oldest first.
pub(crate) async fn accounts_of(state: &AppState, user: u64) -> Result<Vec<PaperAccount>, ApiError> {
    let records = ask(state, move |store| store.paper_accounts(user)).await?;
    let mut accounts = vec![shown(state, user, None).await?];
    for record in &records {
        accounts.push(shown(state, record.account_id, Some(record)).await?);
    }
    Ok(accounts)
}

/// Open a practice account with its own cash (100,000 unless `cash` says), beside the
/// default one; at most 20 per user, each under a name of its own (letter case aside).
#[utoipa::path(post, path = "/v1/me/accounts", tag = "accounts", request_body = CreatePaperAccountRequest,
    responses(
        (status = 201, description = "The new account.", body = PaperAccount),
        (status = 400, description = "A bad name or cash amount.", body = ErrorBody),
        (status = 403, description = "The operator key has no accounts, or a read-only credential.", body = ErrorBody),
        (status = 409, description = "Already 20 practice accounts (`too_many_accounts`), one of that name (`account_name_taken`, letter case aside), or another was opened at the same moment: try again.", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<CreatePaperAccountRequest>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let name = request.name.visible().ok_or_else(|| field_error("name", "must not be blank"))?.to_owned();
    let cash = request.cash.map_or_else(|| STARTING_CASH.to_owned(), |cash| cash.0);
    let amount = Money::parse(&cash).map_err(|error| field_error("cash", error))?;
    if amount.raw() < 0 || !amount.is_whole_cents() || amount > Money::from_units(STARTING_CASH_MAX) {
        return Err(field_error("cash", "whole cents from 0 to 10,000,000"));
    }
    let record = open_paper_account(&state, &caller, user, name, amount, None).await?;
    let shown = shown(&state, record.account_id, Some(&record)).await?;
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

/// Opens `user`'s next paper account with `cash`: its row, then the engine account and
/// its deposit; a contest's when `contest_id` says. Audited.
pub(crate) async fn open_paper_account(
    state: &AppState,
    caller: &MaybeCaller,
    user: u64,
    name: String,
    cash: Money,
    contest_id: Option<u64>,
) -> Result<PaperAccountRecord, ApiError> {
    // The row first: a creation racing this one for the number loses here, before the
    // engine has an account for it. A practice account then takes the next number; a
    // contest join does not (the race may be with a join of the same contest).
    let attempts = if contest_id.is_some() { 1 } else { PAPER_ACCOUNTS_MAX };
    let mut attempt = 0;
    let record = loop {
        attempt += 1;
        let existing = ask(state, move |store| store.paper_accounts(user)).await?;
        let number = existing.iter().map(|record| record.account_id >> ACCOUNT_OWNER_BITS).max().unwrap_or(0) + 1;
        if number > PAPER_ACCOUNTS_MAX {
            return Err(ApiError::Rejected {
                status: StatusCode::CONFLICT,
                code: "too_many_accounts",
                message: format!("at most {PAPER_ACCOUNTS_MAX} accounts besides the default one"),
            });
        }
        let record = PaperAccountRecord {
            account_id: user + (number << ACCOUNT_OWNER_BITS),
            user_id: user,
            name: name.clone(),
            kind: if contest_id.is_some() { "contest" } else { "practice" }.to_owned(),
            starting_cash: cash.raw(),
            created_at_ms: now().millis(),
            resets: 0,
            last_reset_at_ms: None,
            contest_id,
        };
        let stored = record.clone();
        match ask(state, move |store| store.insert_paper_account(&stored)).await {
            Ok(()) => break record,
            // The store's one quota on a practice account's row: its name, once per owner.
            Err(ApiError::Rejected { status: StatusCode::CONFLICT, code: "too_many", message }) => {
                return Err(ApiError::Rejected { status: StatusCode::CONFLICT, code: "account_name_taken", message });
            }
            Err(ApiError::Rejected { status: StatusCode::CONFLICT, .. }) if attempt < attempts => {}
            Err(ApiError::Rejected { status: StatusCode::CONFLICT, .. }) => {
                return Err(ApiError::Rejected {
                    status: StatusCode::CONFLICT,
                    code: "account_exists",
                    message: "another account was opened at the same moment: try again".to_owned(),
                });
            }
            Err(other) => return Err(other),
        }
    };
    let account_id = record.account_id;
    complete_opening(state, &record).await?;
    let details = json!({"name": record.name, "cash": cash.to_string(), "contestId": contest_id});
    audit(state, caller, "account.opened", format!("account:{account_id}"), details).await;
    Ok(record)
}

/// The engine side of opening the paper account `record`: its engine account, its
/// starting cash (under a transfer id of its own, `2^61 + account id`), and for a
/// contest's account the contest's rules. Each step is taken once however often this runs
/// (an account that exists and a transfer id used before are passed over), so a reader
/// or a retry may complete an opening that stopped half-way.
pub(crate) async fn complete_opening(state: &AppState, record: &PaperAccountRecord) -> Result<(), ApiError> {
    let account = record.account_id.to_string();
    let created = execute(state, wire_command(json!({"command": "createAccount", "userId": account}))?).await?;
    passed_over(&created, |event| matches!(event, Event::AccountCreated { .. } | Event::CommandRejected { reason: RejectReason::AccountExists, .. }))?;
    deposit_once(state, record.account_id, (1_u64 << 61) | record.account_id, Money::from_raw(record.starting_cash)).await?;
    if let Some(contest_id) = record.contest_id {
        let contest = ask(state, move |store| store.contest(contest_id)).await?.ok_or_else(|| ApiError::NotFound(format!("contest {contest_id}")))?;
        let rules: serde_json::Value = serde_json::from_str(&contest.rules).map_err(|error| ApiError::Internal(error.to_string()))?;
        run_command(state, json!({"command": "setLimits", "userId": account, "limits": rules})).await?;
    }
    follow_owner(state, record).await
}

/// What a user's paper account takes from its owner: the owner's organisation and group
/// (whose limits then apply to it as to the owner's default account) and, for a practice
/// account, the limits set on the owner (a contest account trades under its contest's
/// rules). Without this a member would escape their organisation's limits, or a user the
/// limits an admin set on them, by trading in a practice account.
pub(crate) async fn follow_owner(state: &AppState, record: &PaperAccountRecord) -> Result<(), ApiError> {
    let (account, owner, practice) = (record.account_id, record.user_id, record.contest_id.is_none());
    let owners = || async move {
        let member = ask_now(state, move |store| store.member(owner)).await?.map_or((None, None), |member| (member.group_id, Some(member.org_id)));
        let limits = if practice { query(state, move |engine| engine.scope_limits(LimitScope::Account(AccountId(owner)))).await? } else { None };
        // An owner without limits leaves the account's own (none at its opening).
        let limits = limits.filter(|limits| *limits != AccountLimits::default());
        Ok::<_, ApiError>((member, limits))
    };
    let mut applied = owners().await?;
    // A membership or limit change under way lists the owner's accounts after it changes
    // the owner's; whatever it read, the owner's state read again after applying it here
    // is what the account ends with (applied again until nothing moved in between).
    for _ in 0..5 {
        let ((group, organisation), limits) = &applied;
        crate::organisations::apply_membership_to(state, account, *group, *organisation).await?;
        if let Some(limits) = limits {
            run_command(state, json!({"command": "setLimits", "userId": account.to_string(), "limits": WireLimits::from_limits(limits)})).await?;
        }
        let now = owners().await?;
        if now == applied {
            return Ok(());
        }
        applied = now;
    }
    Err(ApiError::Unavailable(format!("account {account}'s owner kept changing: try again")))
}

/// Deposits `cash` (if any) into `account` under `transfer`, once: a transfer id used
/// before is passed over.
pub(crate) async fn deposit_once(state: &AppState, account: u64, transfer: u64, cash: Money) -> Result<(), ApiError> {
    if !cash.is_positive() {
        return Ok(());
    }
    let deposit = json!({"command": "deposit", "userId": account.to_string(), "transactionId": transfer.to_string(), "amount": cash.to_string()});
    let deposited = execute(state, wire_command(deposit)?).await?;
    passed_over(&deposited, |event| matches!(event, Event::Deposited { .. } | Event::TransferAlreadyApplied { .. }))
}

/// The engine's view of `account`, and whether it holds nothing and was never funded (read
/// together: a deposit between two reads would leave the view empty and the answer "funded").
async fn view_and_emptiness(state: &AppState, account: u64) -> Result<(Option<tradecraft_engine::AccountView>, bool), ApiError> {
    let id = AccountId(account);
    query(state, move |engine| {
        let view = engine.account(id);
        let empty = view.as_ref().is_some_and(|view| view.cash.total() == 0 && view.holdings.iter().all(|(_, balance)| balance.total() == 0));
        let never_funded = empty && !engine.has_transfers(id);
        (view, never_funded)
    })
    .await
}

/// Whether `account` exists, holds nothing and was never funded.
pub(crate) async fn never_funded(state: &AppState, account: u64) -> Result<bool, ApiError> {
    Ok(view_and_emptiness(state, account).await?.1)
}

/// The command's outcome, unless it holds no event `done` accepts: then its refusal.
fn passed_over(outcome: &tradecraft_sequencer::CommandOutcome, done: impl Fn(&Event) -> bool) -> Result<(), ApiError> {
    let events = crate::routes::events(outcome)?;
    if events.iter().any(done) {
        return Ok(());
    }
    Err(crate::routes::first_rejection(events).unwrap_or_else(|| ApiError::Internal("an account's opening step did nothing".to_owned())))
}

/// Reset one of the caller's accounts: its open orders are cancelled, its shares and cash
/// taken out and its starting cash deposited again. Its history (orders, trades, the cash
/// statement, where the reset shows as withdrawals and a deposit) stays; API keys are
/// untouched. Audited.
#[utoipa::path(post, path = "/v1/me/accounts/{account_id}/reset", tag = "accounts",
    params(("account_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "One of the caller's account ids.")),
    responses(
        (status = 200, description = "The account after the reset.", body = PaperAccount),
        (status = 400, description = "A bad id.", body = ErrorBody),
        (status = 403, description = "Not one of the caller's accounts, or a read-only credential.", body = ErrorBody),
        (status = 404, description = "No such account.", body = ErrorBody),
    ))]
pub(crate) async fn reset(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(account_id): Path<String>,
) -> Result<Json<PaperAccount>, ApiError> {
    let account = parse_id("accountId", &account_id)?;
    if !require(&caller)?.acts_for(account) {
        return Err(ApiError::Forbidden(format!("account {account} is not yours")));
    }
    let record = ask(&state, move |store| store.paper_account(account)).await?;
    if record.as_ref().is_some_and(|record| record.contest_id.is_some()) {
        return Err(ApiError::Rejected { status: StatusCode::CONFLICT, code: "contest_account", message: "a contest's account cannot be reset".to_owned() });
    }
    // A default account's id is its user's; any other must have been opened.
    if owner_of(account) != Some(account) && record.is_none() {
        return Err(ApiError::NotFound(format!("account {account}")));
    }
    let starting = record.as_ref().map_or_else(
        || Money::parse(STARTING_CASH).map_err(|error| ApiError::Internal(error.to_string())),
        |record| Ok(Money::from_raw(record.starting_cash)),
    )?;
    // One command: an order or another reset cannot come between its steps.
    let outcome = run_command(&state, json!({"command": "resetAccount", "userId": account.to_string(), "cash": starting.to_string()})).await?;
    let events = crate::routes::events(&outcome)?;
    if let Some(refused) = crate::routes::first_rejection(events) {
        return Err(refused);
    }
    let at = now().millis();
    ask(&state, move |store| store.record_paper_account_reset(account, at)).await?;
    audit(&state, &caller, "account.reset", format!("account:{account}"), json!({"startingCash": starting.to_string()})).await;
    let record = ask(&state, move |store| store.paper_account(account)).await?;
    shown(&state, account, record.as_ref()).await.map(Json)
}
