//! `/v2/watchlists`: Alpaca's watchlists, kept in the store (user state, not the log).
//! A watchlist's id is a random UUID; its assets are listed symbols, each once, in the
//! order added; names are unique per account.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tradecraft_store::WatchlistRecord;
use tradecraft_types::Timestamp;
use utoipa::{IntoParams, ToSchema};

use crate::alpaca::{Asset, TAG_ACCOUNT, assets_listed, uuid};
use crate::auth::{MaybeCaller, own_account};
use crate::extract::{Body, Field, Query, Text};
use crate::models::AnyCaseSymbolText;
use crate::reads::ask_now;
use crate::routes::now;
use crate::{ApiError, AppState, Shared};

/// Symbols a watchlist may hold.
const SYMBOLS_MAX: usize = 200;

/// A watchlist as Alpaca shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Watchlist {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    /// The assets, in order (left out of the list of watchlists, as Alpaca does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assets: Option<Vec<Asset>>,
}

/// `POST`/`PUT /v2/watchlists[/{id}]`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WatchlistRequest {
    /// Required to create one; left out of a `PUT`, the name stays.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    pub name: Field<Text<64>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub symbols: Option<Vec<AnyCaseSymbolText>>,
}

/// `POST /v2/watchlists/{id}`: one symbol to add.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AddSymbol {
    #[schema(value_type = String)]
    pub symbol: AnyCaseSymbolText,
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::Rejected { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_field", message: message.into() }
}

/// A store conflict here is a name already used.
fn name_taken(error: ApiError) -> ApiError {
    match error {
        ApiError::Rejected { status: StatusCode::CONFLICT, code: "too_many", message } => unprocessable(message),
        ApiError::Rejected { status: StatusCode::CONFLICT, .. } => unprocessable("you already have a watchlist with that name"),
        other => other,
    }
}

async fn view(state: &AppState, record: &WatchlistRecord, with_assets: bool) -> Result<Watchlist, ApiError> {
    let assets = if with_assets {
        let listed = assets_listed(state).await?;
        Some(record.symbols.iter().filter_map(|symbol| listed.iter().position(|asset| &asset.symbol == symbol)).map(|index| listed[index].clone()).collect())
    } else {
        None
    };
    Ok(Watchlist {
        id: record.watchlist_id.clone(),
        account_id: uuid(TAG_ACCOUNT, record.user_id),
        name: record.name.clone(),
        created_at: Timestamp::from_millis(record.created_at_ms).to_string(),
        updated_at: Timestamp::from_millis(record.updated_at_ms).to_string(),
        assets,
    })
}

/// The listed symbols named, upper-cased, each once; 422 naming one that is not listed.
async fn checked(state: &AppState, symbols: &[AnyCaseSymbolText]) -> Result<Vec<String>, ApiError> {
    if symbols.len() > SYMBOLS_MAX {
        return Err(unprocessable(format!("a watchlist holds at most {SYMBOLS_MAX} symbols")));
    }
    let listed = assets_listed(state).await?;
    let mut kept: Vec<String> = Vec::new();
    for symbol in symbols {
        let symbol = symbol.as_str().to_ascii_uppercase();
        if !listed.iter().any(|asset| asset.symbol == symbol) {
            return Err(unprocessable(format!("{symbol} is not a listed asset")));
        }
        if !kept.contains(&symbol) {
            kept.push(symbol);
        }
    }
    Ok(kept)
}

fn name_of(request: &WatchlistRequest) -> Result<String, ApiError> {
    match &request.name {
        Field::Given(name) => name.visible().map(str::to_owned).ok_or_else(|| unprocessable("name is required")),
        Field::Null => Err(unprocessable("name must be a string, not null")),
        _ => Err(unprocessable("name is required")),
    }
}

async fn own(state: &AppState, user: u64, id: String) -> Result<WatchlistRecord, ApiError> {
    let lookup = id.clone();
    ask_now(state, move |store| store.watchlist(user, &lookup)).await?.ok_or_else(|| ApiError::NotFound(format!("watchlist {id}")))
}

/// `?name=`: a watchlist named instead of given by id (Alpaca's `/v2/watchlists:by_name`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ByName {
    /// The watchlist's name, exactly as given when it was made.
    #[param(value_type = String)]
    name: String,
}

/// The caller's watchlist named `name` (names are unique per account).
async fn own_named(state: &AppState, user: u64, name: String) -> Result<WatchlistRecord, ApiError> {
    let lists = ask_now(state, move |store| store.watchlists(user)).await?;
    lists.into_iter().find(|record| record.name == name).ok_or_else(|| ApiError::NotFound(format!("watchlist named {name:?}")))
}

/// The caller's watchlists (without their assets).
#[utoipa::path(get, path = "/v2/watchlists", tag = "alpaca", responses((status = 200, description = "Watchlists.", body = Vec<Watchlist>)))]
pub(crate) async fn list(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Vec<Watchlist>>, ApiError> {
    let user = own_account(&caller)?;
    let records = ask_now(&state, move |store| store.watchlists(user)).await?;
    let mut lists = Vec::with_capacity(records.len());
    for record in &records {
        lists.push(view(&state, record, false).await?);
    }
    Ok(Json(lists))
}

/// Create a watchlist.
#[utoipa::path(post, path = "/v2/watchlists", tag = "alpaca", request_body = WatchlistRequest,
    responses((status = 200, description = "The watchlist.", body = Watchlist), (status = 422, description = "No name, a name in use, a symbol not listed, or as many watchlists as a user may keep (100).", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<WatchlistRequest>,
) -> Result<Json<Watchlist>, ApiError> {
    let user = own_account(&caller)?;
    let name = name_of(&request)?;
    let symbols = checked(&state, request.symbols.as_deref().unwrap_or_default()).await?;
    let at = now().millis();
    let record = WatchlistRecord {
        watchlist_id: uuid(rand::random::<u64>(), rand::random::<u64>()),
        user_id: user,
        name,
        symbols,
        created_at_ms: at,
        updated_at_ms: at,
    };
    let stored = record.clone();
    ask_now(&state, move |store| store.insert_watchlist(&stored)).await.map_err(name_taken)?;
    Ok(Json(view(&state, &record, true).await?))
}

/// One watchlist with its assets.
#[utoipa::path(get, path = "/v2/watchlists/{watchlist_id}", tag = "alpaca", params(("watchlist_id" = String, Path, description = "The watchlist's id.")),
    responses((status = 200, description = "The watchlist.", body = Watchlist), (status = 404, description = "No such watchlist of yours.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn get(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(id): Path<String>) -> Result<Json<Watchlist>, ApiError> {
    let record = own(&state, own_account(&caller)?, id).await?;
    Ok(Json(view(&state, &record, true).await?))
}

/// One watchlist with its assets, by name.
#[utoipa::path(get, path = "/v2/watchlists:by_name", tag = "alpaca", params(ByName),
    responses((status = 200, description = "The watchlist.", body = Watchlist), (status = 404, description = "No watchlist of yours has that name.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn get_by_name(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(by): Query<ByName>,
) -> Result<Json<Watchlist>, ApiError> {
    let record = own_named(&state, own_account(&caller)?, by.name).await?;
    Ok(Json(view(&state, &record, true).await?))
}

/// Change a watchlist's name and/or replace its symbols (a field left out stays as it is).
#[utoipa::path(put, path = "/v2/watchlists/{watchlist_id}", tag = "alpaca", request_body = WatchlistRequest, params(("watchlist_id" = String, Path, description = "The watchlist's id.")),
    responses(
        (status = 200, description = "The watchlist.", body = Watchlist),
        (status = 404, description = "No such watchlist of yours.", body = crate::alpaca::AlpacaError),
        (status = 422, description = "Neither name nor symbols, a blank name, a name in use, or a symbol not listed.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn replace(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(id): Path<String>,
    Body(request): Body<WatchlistRequest>,
) -> Result<Json<Watchlist>, ApiError> {
    let record = own(&state, own_account(&caller)?, id).await?;
    replace_in(&state, record, request).await.map(Json)
}

/// `PUT /v2/watchlists/{id}` by name.
#[utoipa::path(put, path = "/v2/watchlists:by_name", tag = "alpaca", request_body = WatchlistRequest, params(ByName),
    responses(
        (status = 200, description = "The watchlist.", body = Watchlist),
        (status = 404, description = "No watchlist of yours has that name.", body = crate::alpaca::AlpacaError),
        (status = 422, description = "Neither name nor symbols, a blank name, a name in use, or a symbol not listed.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn replace_by_name(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(by): Query<ByName>,
    Body(request): Body<WatchlistRequest>,
) -> Result<Json<Watchlist>, ApiError> {
    let record = own_named(&state, own_account(&caller)?, by.name).await?;
    replace_in(&state, record, request).await.map(Json)
}

async fn replace_in(state: &AppState, mut record: WatchlistRecord, request: WatchlistRequest) -> Result<Watchlist, ApiError> {
    // What is left out stays as it is: a rename keeps the symbols, new symbols the name.
    if matches!(request.name, Field::Absent) && request.symbols.is_none() {
        return Err(unprocessable("give name or symbols"));
    }
    if !matches!(request.name, Field::Absent) {
        record.name = name_of(&request)?;
    }
    if let Some(symbols) = request.symbols.as_deref() {
        record.symbols = checked(state, symbols).await?;
    }
    record.updated_at_ms = now().millis();
    let stored = record.clone();
    ask_now(state, move |store| store.update_watchlist(&stored)).await.map_err(name_taken)?;
    view(state, &record, true).await
}

/// Add a symbol to a watchlist (at the end; a symbol already in it stays where it is).
#[utoipa::path(post, path = "/v2/watchlists/{watchlist_id}", tag = "alpaca", request_body = AddSymbol, params(("watchlist_id" = String, Path, description = "The watchlist's id.")),
    responses(
        (status = 200, description = "The watchlist.", body = Watchlist),
        (status = 404, description = "No such watchlist of yours.", body = crate::alpaca::AlpacaError),
        (status = 422, description = "Not a listed symbol, or the list is full.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn add(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(id): Path<String>,
    Body(request): Body<AddSymbol>,
) -> Result<Json<Watchlist>, ApiError> {
    let record = own(&state, own_account(&caller)?, id).await?;
    add_to(&state, record, request).await.map(Json)
}

/// `POST /v2/watchlists/{id}` by name: one symbol added.
#[utoipa::path(post, path = "/v2/watchlists:by_name", tag = "alpaca", request_body = AddSymbol, params(ByName),
    responses(
        (status = 200, description = "The watchlist.", body = Watchlist),
        (status = 404, description = "No watchlist of yours has that name.", body = crate::alpaca::AlpacaError),
        (status = 422, description = "Not a listed symbol, or the list is full.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn add_by_name(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(by): Query<ByName>,
    Body(request): Body<AddSymbol>,
) -> Result<Json<Watchlist>, ApiError> {
    let record = own_named(&state, own_account(&caller)?, by.name).await?;
    add_to(&state, record, request).await.map(Json)
}

async fn add_to(state: &AppState, mut record: WatchlistRecord, request: AddSymbol) -> Result<Watchlist, ApiError> {
    let symbol = checked(state, std::slice::from_ref(&request.symbol)).await?;
    let mut symbols: Vec<AnyCaseSymbolText> = record.symbols.iter().map(|symbol| Text(symbol.clone())).collect();
    symbols.extend(symbol.into_iter().map(Text));
    record.symbols = checked(state, &symbols).await?;
    record.updated_at_ms = now().millis();
    let stored = record.clone();
    ask_now(state, move |store| store.update_watchlist(&stored)).await?;
    view(state, &record, true).await
}

/// Remove a symbol from a watchlist.
#[utoipa::path(delete, path = "/v2/watchlists/{watchlist_id}/{symbol}", tag = "alpaca",
    params(("watchlist_id" = String, Path, description = "The watchlist's id."), ("symbol" = String, Path, description = "A symbol in it.")),
    responses((status = 200, description = "The watchlist.", body = Watchlist), (status = 404, description = "No such watchlist of yours, or the symbol is not in it.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn remove_symbol(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<Watchlist>, ApiError> {
    let mut record = own(&state, own_account(&caller)?, id).await?;
    let symbol = symbol.to_ascii_uppercase();
    let before = record.symbols.len();
    record.symbols.retain(|held| *held != symbol);
    if record.symbols.len() == before {
        return Err(ApiError::NotFound(format!("{symbol} in this watchlist")));
    }
    record.updated_at_ms = now().millis();
    let stored = record.clone();
    ask_now(&state, move |store| store.update_watchlist(&stored)).await?;
    Ok(Json(view(&state, &record, true).await?))
}

/// Delete a watchlist: 204.
#[utoipa::path(delete, path = "/v2/watchlists/{watchlist_id}", tag = "alpaca", params(("watchlist_id" = String, Path, description = "The watchlist's id.")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such watchlist of yours.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn delete(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(id): Path<String>) -> Result<Response, ApiError> {
    delete_of(&state, own_account(&caller)?, id).await
}

/// Delete a watchlist by name: 204.
#[utoipa::path(delete, path = "/v2/watchlists:by_name", tag = "alpaca", params(ByName),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No watchlist of yours has that name.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn delete_by_name(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(by): Query<ByName>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let record = own_named(&state, user, by.name).await?;
    delete_of(&state, user, record.watchlist_id).await
}

async fn delete_of(state: &AppState, user: u64, id: String) -> Result<Response, ApiError> {
    let lookup = id.clone();
    if ask_now(state, move |store| store.delete_watchlist(user, &lookup)).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound(format!("watchlist {id}")))
    }
}
