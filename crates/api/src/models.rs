//! Request bodies of the native API, one struct per route. Field types check their own
//! syntax (`extract`); the checks that relate fields to each other are here, so every
//! entry point refuses the same things with a 400 naming the field.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use tradecraft_sequencer::wire::{PlaceOrder, WireExitLeg, WireLimits, WireOrderClass, WireOrderType, WireSelfTradePrevention, WireSide, WireTimeInForce};
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{ClientOrderIdText, Decimal, Id, SymbolText, Text, field_error, from_object, parse_unsigned};

/// Longest email (RFC 5321), password, display name, key or object name, URL.
pub(crate) const EMAIL_MAX: usize = 254;
pub(crate) const PASSWORD_MIN: usize = 8;
pub(crate) const PASSWORD_MAX: usize = 128;
pub(crate) const USERNAME_MAX: usize = 64;
pub(crate) const NAME_MAX: usize = 200;
pub(crate) const URL_MAX: usize = 2_048;
/// Most symbols one limits list may name.
pub(crate) const SYMBOL_LIST_MAX: usize = 1_000;
/// Refresh tokens and passwords are short; anything longer is not one of ours.
pub(crate) const TOKEN_MAX: usize = 256;

// Text fields by their limit (the derive macro takes no const generics).
pub(crate) type EmailText = Text<EMAIL_MAX>;
pub(crate) type PasswordText = Text<PASSWORD_MAX>;
pub(crate) type UsernameText = Text<USERNAME_MAX>;
pub(crate) type TokenText = Text<TOKEN_MAX>;
pub(crate) type NameText = Text<NAME_MAX>;
pub(crate) type UrlText = Text<URL_MAX>;
/// `HH:MM-HH:MM`.
pub(crate) type HoursText = Text<11>;
/// A symbol as Alpaca's clients send it, in any case (upper-cased before the engine's
/// grammar applies).
pub(crate) type AnyCaseSymbolText = Text<{ tradecraft_types::Symbol::MAX_LENGTH }>;
/// One word of a fixed list, checked against the list after it is read, so a wrong one is
/// refused with the words it may be rather than with a length.
pub(crate) type WordText = Text<32>;

/// A count: a non-negative integer up to 2^32 - 1, as a JSON number or a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Count(pub u32);

impl utoipa::PartialSchema for Count {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::OneOfBuilder::new()
            .item(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).pattern(Some("^(0|[1-9][0-9]{0,9})$")).max_length(Some(10)))
            .item(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer).minimum(Some(0)).maximum(Some(u32::MAX)))
            .description(Some("A count from 0 to 4294967295, as a JSON number or a decimal string."))
            .into()
    }
}

impl utoipa::ToSchema for Count {}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = crate::extract::string_or_number(deserializer, "a count (a whole number)")?;
        let count = crate::extract::parse_unsigned(&text)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a count (a whole number from 0, without sign or leading zeros)")))?;
        u32::try_from(count).map(Count).map_err(|_| de::Error::custom(format!("{count} is larger than {}", u32::MAX)))
    }
}

/// `BUY` or `SELL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Side {
    Buy,
    Sell,
}

/// What kind of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OrderType {
    #[default]
    Market,
    Limit,
    Stop,
    StopLimit,
    TrailingStop,
}

/// How an order's exits depend on it: `SIMPLE` (none); `BRACKET` (a take profit and a
/// stop loss, placed as the order fills, the first to fill or trigger cancelling the
/// other); `OTO` (one exit, placed as the order fills); `OCO` (the order is a LIMIT exit
/// and `stopLoss` its sibling, both working at once). An entry's take profit must be
/// beyond the price it fills at (its limit, its stop, or for a market order the best
/// price on the other side) and its stop loss short of it, else `invalid_price`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OrderClass {
    #[default]
    Simple,
    Bracket,
    Oto,
    Oco,
}

/// A take-profit exit: a limit order on the other side.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TakeProfit {
    pub limit_price: Decimal,
}

/// A stop-loss exit: a stop (or, with `limitPrice`, a stop-limit) order on the other side.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StopLoss {
    pub stop_price: Decimal,
    pub limit_price: Option<Decimal>,
}

/// How long an order may rest: good till cancelled, the day, immediate or cancel, fill or
/// kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum TimeInForce {
    #[default]
    Gtc,
    Day,
    Ioc,
    Fok,
    /// At the open: waits for the session to open, then trades as IOC (MARKET or LIMIT).
    Opg,
    /// At the close: waits for the session's end, then trades as IOC (MARKET or LIMIT).
    Cls,
}

/// What happens when an order would trade with its owner's own resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[expect(clippy::enum_variant_names, reason = "the wire names are CANCEL_RESTING, CANCEL_TAKING, CANCEL_BOTH")]
pub(crate) enum SelfTradePrevention {
    CancelResting,
    CancelTaking,
    CancelBoth,
}

impl From<Side> for WireSide {
    fn from(side: Side) -> Self {
        match side {
            Side::Buy => Self::Buy,
            Side::Sell => Self::Sell,
        }
    }
}

impl From<OrderType> for WireOrderType {
    fn from(order_type: OrderType) -> Self {
        match order_type {
            OrderType::Market => Self::Market,
            OrderType::Limit => Self::Limit,
            OrderType::Stop => Self::Stop,
            OrderType::StopLimit => Self::StopLimit,
            OrderType::TrailingStop => Self::TrailingStop,
        }
    }
}

impl From<TimeInForce> for WireTimeInForce {
    fn from(time_in_force: TimeInForce) -> Self {
        match time_in_force {
            TimeInForce::Gtc => Self::Gtc,
            TimeInForce::Day => Self::Day,
            TimeInForce::Ioc => Self::Ioc,
            TimeInForce::Fok => Self::Fok,
            TimeInForce::Opg => Self::Opg,
            TimeInForce::Cls => Self::Cls,
        }
    }
}

impl From<SelfTradePrevention> for WireSelfTradePrevention {
    fn from(mode: SelfTradePrevention) -> Self {
        match mode {
            SelfTradePrevention::CancelResting => Self::CancelResting,
            SelfTradePrevention::CancelTaking => Self::CancelTaking,
            SelfTradePrevention::CancelBoth => Self::CancelBoth,
        }
    }
}

/// `POST /v1/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlaceOrderRequest {
    /// The account to trade in: the caller's default one when absent, or any of theirs
    /// (`GET /v1/me/accounts`).
    pub user_id: Option<Id>,
    pub symbol: SymbolText,
    pub side: Side,
    #[serde(default, rename = "type")]
    pub order_type: OrderType,
    pub quantity: Option<Decimal>,
    pub notional: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trail_amount: Option<Decimal>,
    pub trail_percent: Option<Decimal>,
    #[serde(default)]
    pub time_in_force: TimeInForce,
    #[serde(default)]
    pub post_only: bool,
    pub client_order_id: Option<ClientOrderIdText>,
    pub self_trade_prevention: Option<SelfTradePrevention>,
    /// Assigned by the exchange: refused when given.
    #[schema(value_type = Option<Object>)]
    pub order_id: Option<serde_json::Value>,
    #[serde(default)]
    pub order_class: OrderClass,
    /// BRACKET, and OTO with a take profit.
    pub take_profit: Option<TakeProfit>,
    /// BRACKET, OCO, and OTO with a stop loss.
    pub stop_loss: Option<StopLoss>,
}

/// Refuses `value` when present: `field` has no meaning for this order.
fn absent(field: &str, value: Option<&Decimal>, order_type: OrderType) -> Result<(), ApiError> {
    match value {
        Some(_) => Err(field_error(field, format!("not allowed on a {} order", order_type_name(order_type)))),
        None => Ok(()),
    }
}

fn required<'a>(field: &str, value: Option<&'a Decimal>, order_type: OrderType) -> Result<&'a Decimal, ApiError> {
    value.ok_or_else(|| field_error(field, format!("required for a {} order", order_type_name(order_type))))
}

fn positive(field: &str, value: &Decimal) -> Result<(), ApiError> {
    if value.is_negative() || value.is_zero() { Err(field_error(field, "must be greater than 0")) } else { Ok(()) }
}

/// Whether a trail is given, as exactly one of `trailAmount` and `trailPercent` (a
/// percent of at most 50: the engine trails by at most half the price).
fn trail_given(amount: Option<&Decimal>, percent: Option<&Decimal>) -> Result<bool, ApiError> {
    match (amount, percent) {
        (None, None) => Ok(false),
        (Some(amount), None) => positive("trailAmount", amount).map(|()| true),
        (None, Some(percent)) => {
            positive("trailPercent", percent)?;
            let half = tradecraft_types::Price::parse("50").map(|half| half.raw());
            if tradecraft_types::Price::parse(percent.as_str()).is_ok_and(|value| half.is_ok_and(|half| value.raw() > half)) {
                return Err(field_error("trailPercent", "at most 50 (percent of the price)"));
            }
            Ok(true)
        }
        (Some(_), Some(_)) => Err(field_error("trailAmount", "give exactly one of trailAmount and trailPercent")),
    }
}

pub(crate) fn order_type_name(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Market => "MARKET",
        OrderType::Limit => "LIMIT",
        OrderType::Stop => "STOP",
        OrderType::StopLimit => "STOP_LIMIT",
        OrderType::TrailingStop => "TRAILING_STOP",
    }
}

impl PlaceOrderRequest {
    /// The order's wire form for `user`, once every field fits the order's type.
    pub(crate) fn into_wire(self, user: u64, timestamp: String) -> Result<PlaceOrder, ApiError> {
        if self.order_id.is_some() {
            return Err(field_error("orderId", "assigned by the exchange"));
        }
        let order_type = self.order_type;
        let (limit, stop) = (self.limit_price.as_ref(), self.stop_price.as_ref());
        let (trail_amount, trail_percent) = (self.trail_amount.as_ref(), self.trail_percent.as_ref());
        match order_type {
            OrderType::Market => {
                absent("limitPrice", limit, order_type)?;
                absent("stopPrice", stop, order_type)?;
            }
            OrderType::Limit => {
                positive("limitPrice", required("limitPrice", limit, order_type)?)?;
                absent("stopPrice", stop, order_type)?;
            }
            OrderType::Stop => {
                absent("limitPrice", limit, order_type)?;
                positive("stopPrice", required("stopPrice", stop, order_type)?)?;
            }
            OrderType::StopLimit => {
                positive("limitPrice", required("limitPrice", limit, order_type)?)?;
                positive("stopPrice", required("stopPrice", stop, order_type)?)?;
            }
            OrderType::TrailingStop => {
                absent("limitPrice", limit, order_type)?;
                absent("stopPrice", stop, order_type)?;
                if !trail_given(trail_amount, trail_percent)? {
                    return Err(field_error("trailAmount", "give exactly one of trailAmount and trailPercent"));
                }
            }
        }
        if order_type != OrderType::TrailingStop {
            absent("trailAmount", trail_amount, order_type)?;
            absent("trailPercent", trail_percent, order_type)?;
        }
        match (&self.quantity, &self.notional) {
            (Some(quantity), None) => positive("quantity", quantity)?,
            (None, Some(notional)) => {
                positive("notional", notional)?;
                if order_type != OrderType::Market || self.side != Side::Buy {
                    return Err(field_error("notional", "only a MARKET BUY can be sized by cash amount"));
                }
                if self.time_in_force == TimeInForce::Fok {
                    return Err(field_error("notional", "a FOK order is sized by quantity"));
                }
            }
            (Some(_), Some(_)) => return Err(field_error("notional", "give quantity or notional, not both")),
            (None, None) => return Err(field_error("quantity", "required (or notional, for a MARKET BUY)")),
        }
        if self.post_only && order_type != OrderType::Limit {
            return Err(field_error("postOnly", "only a LIMIT order can be post-only"));
        }
        if self.post_only && matches!(self.time_in_force, TimeInForce::Ioc | TimeInForce::Fok | TimeInForce::Opg | TimeInForce::Cls) {
            return Err(field_error("postOnly", "a post-only order rests on the book: its timeInForce must be GTC or DAY"));
        }
        self.check_exits()?;
        let text = |value: Option<Decimal>| value.map(|value| value.0);
        let order_class = match self.order_class {
            OrderClass::Simple => None,
            OrderClass::Bracket => Some(WireOrderClass::Bracket),
            OrderClass::Oto => Some(WireOrderClass::Oto),
            OrderClass::Oco => Some(WireOrderClass::Oco),
        };
        let take_profit = self.take_profit.map(|leg| WireExitLeg { limit_price: Some(leg.limit_price.0), stop_price: None });
        let stop_loss = self.stop_loss.map(|leg| WireExitLeg { limit_price: text(leg.limit_price), stop_price: Some(leg.stop_price.0) });
        Ok(PlaceOrder {
            order_id: None,
            user_id: user.to_string(),
            symbol: self.symbol.0,
            side: self.side.into(),
            order_type: order_type.into(),
            quantity: text(self.quantity),
            notional: text(self.notional),
            limit_price: text(self.limit_price),
            stop_price: text(self.stop_price),
            trail_amount: text(self.trail_amount),
            trail_percent: text(self.trail_percent),
            time_in_force: self.time_in_force.into(),
            post_only: self.post_only,
            client_order_id: self.client_order_id.map(|id| id.0),
            self_trade_prevention: self.self_trade_prevention.map(Into::into),
            order_timestamp: timestamp,
            idempotency_key: None,
            fingerprint: None,
            order_class,
            take_profit,
            stop_loss,
        })
    }

    /// The exits fit the order class (their prices on the grid, a take profit beyond the
    /// stop and both on either side of the entry's price are the engine's to check).
    fn check_exits(&self) -> Result<(), ApiError> {
        let (take_profit, stop_loss) = (self.take_profit.as_ref(), self.stop_loss.as_ref());
        match self.order_class {
            OrderClass::Simple => {
                if take_profit.is_some() {
                    return Err(field_error("takeProfit", "only with orderClass BRACKET or OTO"));
                }
                if stop_loss.is_some() {
                    return Err(field_error("stopLoss", "only with orderClass BRACKET, OTO or OCO"));
                }
                return Ok(());
            }
            OrderClass::Bracket if take_profit.is_none() => return Err(field_error("takeProfit", "required for a BRACKET order")),
            OrderClass::Bracket | OrderClass::Oco if stop_loss.is_none() => return Err(field_error("stopLoss", "required for a BRACKET or OCO order")),
            OrderClass::Oto if take_profit.is_some() == stop_loss.is_some() => {
                return Err(field_error("takeProfit", "an OTO order has exactly one of takeProfit and stopLoss"));
            }
            OrderClass::Oco if take_profit.is_some() => return Err(field_error("takeProfit", "an OCO order's own limitPrice is its take profit")),
            OrderClass::Oco if self.order_type != OrderType::Limit => return Err(field_error("type", "an OCO order is a LIMIT order")),
            _ => {}
        }
        if self.notional.is_some() {
            return Err(field_error("notional", "an order with exits is sized by quantity"));
        }
        if let Some(leg) = take_profit {
            positive("takeProfit.limitPrice", &leg.limit_price)?;
        }
        if let Some(leg) = stop_loss {
            positive("stopLoss.stopPrice", &leg.stop_price)?;
            if let Some(limit) = &leg.limit_price {
                positive("stopLoss.limitPrice", limit)?;
            }
        }
        Ok(())
    }
}

/// How long a replaced order rests from now on: good till cancelled or the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RestingTimeInForce {
    Gtc,
    Day,
}

impl RestingTimeInForce {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Day => "DAY",
        }
    }
}

/// `PATCH /v1/orders/{orderId}`: a new total quantity, limit price, stop price and/or
/// trail; and/or a new client order id and time in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReplaceOrderRequest {
    pub quantity: Option<Decimal>,
    /// A `LIMIT` or `STOP_LIMIT` order's.
    pub limit_price: Option<Decimal>,
    /// A `STOP` or `STOP_LIMIT` order's, while it waits for its trigger.
    pub stop_price: Option<Decimal>,
    /// A waiting `TRAILING_STOP` order's new trail, as an amount (or give `trailPercent`);
    /// its trigger is recomputed from the price it has trailed.
    pub trail_amount: Option<Decimal>,
    /// A waiting `TRAILING_STOP` order's new trail, as a percent of at most 50.
    pub trail_percent: Option<Decimal>,
    /// A new client order id, unique among your open orders (the old one is free again).
    pub client_order_id: Option<ClientOrderIdText>,
    /// `GTC` or `DAY` from now on. Alone, or with the client order id alone, the order
    /// keeps its place.
    pub time_in_force: Option<RestingTimeInForce>,
}

/// Order fields a replace cannot change.
const FIXED_ORDER_FIELDS: [&str; 7] = ["userId", "symbol", "side", "type", "notional", "postOnly", "selfTradePrevention"];

impl ReplaceOrderRequest {
    /// The request in `body`: order fields a replace cannot change are refused, not
    /// ignored; other unknown fields are ignored.
    pub(crate) fn from_body(body: serde_json::Value) -> Result<Self, ApiError> {
        if let Some(field) = FIXED_ORDER_FIELDS.iter().find(|field| body.get(**field).is_some()) {
            return Err(field_error(field, "cannot be changed; only quantity, limitPrice, stopPrice, a trail, timeInForce and clientOrderId can"));
        }
        let request: Self = from_object(body)?;
        let trail = trail_given(request.trail_amount.as_ref(), request.trail_percent.as_ref())?;
        let renames = request.client_order_id.is_some() || request.time_in_force.is_some();
        if request.quantity.is_none() && request.limit_price.is_none() && request.stop_price.is_none() && !trail && !renames {
            return Err(field_error("quantity", "give quantity, limitPrice, stopPrice, trailAmount, trailPercent, timeInForce or clientOrderId"));
        }
        request.quantity.as_ref().map(|quantity| positive("quantity", quantity)).transpose()?;
        request.limit_price.as_ref().map(|price| positive("limitPrice", price)).transpose()?;
        request.stop_price.as_ref().map(|price| positive("stopPrice", price)).transpose()?;
        Ok(request)
    }
}

/// `POST /v1/accounts` (admins).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateAccountRequest {
    pub user_id: Option<Id>,
    pub cash: Option<Decimal>,
}

/// `POST /v1/auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RegisterRequest {
    pub email: EmailText,
    pub password: PasswordText,
    /// At most 64 characters, another user's only if letter case differs nowhere else
    /// (409 `username_taken`). Left out or blank: the email's local part, or the first free
    /// one of `name-2`, `name-3`, ... after it.
    pub username: Option<UsernameText>,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    pub email: EmailText,
    pub password: PasswordText,
}

/// `POST /v1/auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangePasswordRequest {
    pub current_password: PasswordText,
    /// 8 to 128 characters.
    pub new_password: PasswordText,
}

/// `POST /v1/auth/password/forgot`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ForgotPasswordRequest {
    pub email: EmailText,
}

/// `POST /v1/auth/password/reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetPasswordRequest {
    /// The code from the email.
    pub code: TokenText,
    /// 8 to 128 characters.
    pub new_password: PasswordText,
}

/// `POST /v1/auth/refresh` and `/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshRequest {
    pub refresh_token: TokenText,
}

/// An API key's rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    Read,
    Trade,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Trade => "trade",
        }
    }
}

/// `POST /v1/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateApiKeyRequest {
    /// The caller's only live key of this name, letter case aside (409
    /// `api_key_name_taken`); left out, `key {keyId}`.
    pub name: Option<NameText>,
    pub scopes: Option<Vec<Scope>>,
}

/// `PUT /v1/users/{userId}/role`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RoleRequest {
    pub role: RoleName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleName {
    Trader,
    Viewer,
    Admin,
}

/// `PUT /v1/users/{userId}/membership`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembershipRequest {
    pub group_id: Option<Id>,
    pub organisation_id: Option<Id>,
}

/// `POST /v1/organisations` and `/v1/organisations/{id}/groups`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NameRequest {
    pub name: NameText,
}

impl NameRequest {
    /// The name without surrounding spaces; 400 when that leaves nothing.
    pub(crate) fn name(&self) -> Result<String, ApiError> {
        self.name.visible().map(str::to_owned).ok_or_else(|| field_error("name", "must not be blank"))
    }
}

/// `PUT /v1/organisations/{id}/members/{userId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberRequest {
    pub role: Option<MemberRole>,
    pub group_id: Option<Id>,
}

/// `POST /v1/organisations/{org_id}/invitations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvitationRequest {
    /// Who is invited (a registered user).
    pub user_id: Id,
    /// `member` when absent.
    pub role: Option<MemberRole>,
    /// A group of the organisation to join.
    pub group_id: Option<Id>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MemberRole {
    Member,
    OrgAdmin,
}

impl MemberRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::OrgAdmin => "org_admin",
        }
    }
}

/// `DELETE /v1/me`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DeleteMeRequest {
    pub password: PasswordText,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WebhookRequest {
    pub url: UrlText,
}

/// `PUT /v1/limits/{scope}/{id}`: absent (or null) fields are unlimited.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitsRequest {
    pub trading_enabled: Option<bool>,
    pub max_order_quantity: Option<Decimal>,
    pub max_order_notional: Option<Decimal>,
    pub max_open_orders: Option<Count>,
    pub max_position: Option<Decimal>,
    pub max_gross_exposure: Option<Decimal>,
    pub max_daily_notional: Option<Decimal>,
    pub max_daily_loss: Option<Decimal>,
    pub max_orders_per_minute: Option<Count>,
    pub max_trades_per_day: Option<Count>,
    pub allowed_symbols: Option<Vec<SymbolText>>,
    pub blocked_symbols: Option<Vec<SymbolText>>,
    pub allowed_order_types: Option<Vec<OrderType>>,
    pub trading_hours: Option<HoursText>,
    pub min_share_price: Option<Decimal>,
    pub max_symbol_share_percent: Option<Decimal>,
}

impl LimitsRequest {
    /// The limits' wire form, once every value is one a limit can have.
    pub(crate) fn into_wire(self) -> Result<WireLimits, ApiError> {
        for (field, value) in [
            ("maxOrderQuantity", &self.max_order_quantity),
            ("maxOrderNotional", &self.max_order_notional),
            ("maxPosition", &self.max_position),
            ("maxGrossExposure", &self.max_gross_exposure),
            ("maxDailyNotional", &self.max_daily_notional),
            ("minSharePrice", &self.min_share_price),
            ("maxSymbolSharePercent", &self.max_symbol_share_percent),
        ] {
            if let Some(value) = value {
                positive(field, value)?;
            }
        }
        if let Some(loss) = &self.max_daily_loss
            && loss.is_negative()
        {
            return Err(field_error("maxDailyLoss", "must not be negative"));
        }
        // Money limits in cents, as cash is: a limit of a fraction of a cent is none a
        // person sets, and would read back as something else in every client.
        for (field, value) in [
            ("maxOrderNotional", &self.max_order_notional),
            ("maxGrossExposure", &self.max_gross_exposure),
            ("maxDailyNotional", &self.max_daily_notional),
            ("maxDailyLoss", &self.max_daily_loss),
        ] {
            if let Some(value) = value
                && !tradecraft_types::Money::parse(value.as_str()).is_ok_and(tradecraft_types::Money::is_whole_cents)
            {
                return Err(field_error(field, "an amount in whole cents (at most 2 decimal places)"));
            }
        }
        if let Some(percent) = &self.max_symbol_share_percent
            && !percent_at_most_100(percent.as_str())
        {
            return Err(field_error("maxSymbolSharePercent", "at most 100"));
        }
        for (field, list) in [("allowedSymbols", &self.allowed_symbols), ("blockedSymbols", &self.blocked_symbols)] {
            if list.as_ref().is_some_and(|list| list.len() > SYMBOL_LIST_MAX) {
                return Err(field_error(field, format!("at most {SYMBOL_LIST_MAX} symbols")));
            }
        }
        let text = |value: Option<Decimal>| value.map(|value| value.0);
        // The lists are sets, as the scopes and order types are: each symbol once, in the
        // order first given.
        let symbols = |list: Option<Vec<SymbolText>>| list.map(|list| distinct(list.into_iter().map(|symbol| symbol.0)));
        if let (Some(allowed), Some(blocked)) = (&self.allowed_symbols, &self.blocked_symbols)
            && let Some(both) = allowed.iter().find(|symbol| blocked.contains(symbol))
        {
            return Err(field_error("blockedSymbols", format!("{} is in allowedSymbols too: a symbol is allowed or blocked, not both", both.as_str())));
        }
        let limits = WireLimits {
            trading_enabled: self.trading_enabled.unwrap_or(true),
            max_order_quantity: text(self.max_order_quantity),
            max_order_notional: text(self.max_order_notional),
            max_open_orders: self.max_open_orders.map(|count| count.0),
            max_position: text(self.max_position),
            max_gross_exposure: text(self.max_gross_exposure),
            max_daily_notional: text(self.max_daily_notional),
            max_daily_loss: text(self.max_daily_loss),
            max_orders_per_minute: self.max_orders_per_minute.map(|count| count.0),
            max_trades_per_day: self.max_trades_per_day.map(|count| count.0),
            allowed_symbols: symbols(self.allowed_symbols),
            blocked_symbols: symbols(self.blocked_symbols).unwrap_or_default(),
            allowed_order_types: self.allowed_order_types.map(|types| types.into_iter().map(|kind| order_type_name(kind).to_owned()).collect()),
            trading_hours: self.trading_hours.map(|hours| hours.0),
            min_share_price: text(self.min_share_price),
            max_symbol_share_percent: text(self.max_symbol_share_percent),
        };
        // Grids, precision and the trading-hours form, named by field.
        limits.to_limits().map_err(|error| field_error(error.field, error.message))?;
        Ok(limits)
    }
}

/// `items` without repeats, each where it first appears.
pub(crate) fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|item| seen.insert(item.clone())).collect()
}

/// Whether a canonical positive decimal is at most 100.
fn percent_at_most_100(text: &str) -> bool {
    let whole = text.split('.').next().unwrap_or_default();
    parse_unsigned(whole).is_some_and(|whole| whole < 100 || (whole == 100 && !text.contains('.')))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order(body: serde_json::Value) -> Result<PlaceOrder, ApiError> {
        from_object::<PlaceOrderRequest>(body)?.into_wire(7, "2026-01-01T00:00:00.000Z".to_owned())
    }

    fn field(result: Result<PlaceOrder, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest { details, .. }) => details["field"].as_str().unwrap_or_default().to_owned(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn orders_refuse_fields_their_type_does_not_have() {
        let market = json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "quantity": "1"});
        assert!(order(market.clone()).is_ok());
        let with = |key: &str, value: serde_json::Value| {
            let mut body = market.clone();
            body[key] = value;
            body
        };
        assert_eq!(field(order(with("limitPrice", json!("100")))), "limitPrice");
        assert_eq!(field(order(with("trailAmount", json!("1")))), "trailAmount");
        assert_eq!(field(order(with("notional", json!("10")))), "notional");
        assert_eq!(field(order(with("quantity", json!("0")))), "quantity");
        assert_eq!(field(order(with("quantity", json!("-1")))), "quantity");
        assert_eq!(field(order(with("userId", json!({})))), "userId");
        assert_eq!(field(order(with("postOnly", json!(true)))), "postOnly");
        assert_eq!(field(order(with("orderId", json!("5")))), "orderId");
        assert_eq!(field(order(json!({"symbol": "MOCK", "side": "SELL", "notional": "10"}))), "notional");
        assert_eq!(field(order(json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": 1}))), "limitPrice");
        assert_eq!(field(order(json!({"symbol": "MOCK", "side": "BUY", "type": "STOP", "quantity": 1, "stopPrice": 1, "limitPrice": 1}))), "limitPrice");
        // A field no order has is refused, not dropped: `price` on a market order must not trade at any price.
        assert_eq!(field(order(json!({"symbol": "MOCK", "side": "BUY", "quantity": 1, "price": 99.5}))), "price");
        assert_eq!(
            field(order(
                json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": 1, "limitPrice": 1, "orderClass": "OTO", "takeProfit": {"limitPrice": 2, "qty": 1}})
            )),
            "takeProfit.qty"
        );
        let exact = order(json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": 1e1, "limitPrice": 99.5})).unwrap();
        assert_eq!((exact.quantity.as_deref(), exact.limit_price.as_deref(), exact.user_id.as_str()), (Some("10"), Some("99.5"), "7"));
    }

    #[test]
    fn limits_refuse_impossible_values_and_take_numbers() {
        let limits = |body: serde_json::Value| from_object::<LimitsRequest>(body).and_then(LimitsRequest::into_wire);
        assert!(limits(json!({"maxOrderQuantity": "-5"})).is_err());
        assert!(limits(json!({"maxSymbolSharePercent": "250"})).is_err());
        assert!(limits(json!({"maxSymbolSharePercent": "100.5"})).is_err());
        let refused = limits(json!({"maxOpenOrders": -1})).unwrap_err().to_string();
        assert!(refused.contains("\"-1\" is not a count"), "a count is not called an id: {refused}");
        assert!(limits(json!({"allowedOrderTypes": ["MARKET", "ICEBERG"]})).is_err());
        assert!(limits(json!({"tradingHours": "25:00-26:00"})).is_err());
        // Money limits are whole cents; prices and quantities keep their own grids.
        for (field, value) in [("maxOrderNotional", "0.001"), ("maxGrossExposure", "1000.005"), ("maxDailyNotional", "0.00000001"), ("maxDailyLoss", "12.345")]
        {
            let refused = limits(json!({field: value})).unwrap_err().to_string();
            assert!(refused.contains(field) && refused.contains("whole cents"), "{field} {value}: {refused}");
        }
        let cents = limits(json!({"maxOrderNotional": 0.5, "maxDailyLoss": "12.34", "minSharePrice": "0.0001", "maxPosition": "0.5"})).unwrap();
        assert_eq!((cents.max_order_notional.as_deref(), cents.max_daily_loss.as_deref()), (Some("0.5"), Some("12.34")));
        let wire = limits(json!({"maxOrderQuantity": 5, "maxSymbolSharePercent": 100, "maxOpenOrders": "3", "maxDailyLoss": 0})).unwrap();
        assert_eq!(wire.max_order_quantity.as_deref(), Some("5"));
        assert_eq!(wire.max_open_orders, Some(3));
        assert_eq!(wire.max_symbol_share_percent.as_deref(), Some("100"));
    }
}
