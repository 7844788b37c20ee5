//! Request extractors and the field types of request bodies. Every rejection is the
//! API's JSON error: a body that is not a JSON object, a known field of the wrong type or
//! with an impossible value is a 400 naming the field (`details.field`), as is a key given
//! twice in one object. On `/v1` a field the request does not have is a 400 naming it
//! (a `price` on a market order must not be dropped in silence: the order would trade at
//! any price), and the OpenAPI document says so (`additionalProperties: false`); the
//! Alpaca-compatible `/v2` ignores unknown fields, as Alpaca's SDKs expect.
//!
//! One grammar for numbers everywhere, in bodies and query strings alike:
//! - a decimal is a JSON number, or a string holding one:
//!   `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (no `+`, no spaces, no leading
//!   zeros, no bare `.`), kept exactly, exponents expanded;
//! - an id or a count is a non-negative decimal integer without sign, leading zeros or
//!   exponent, as a JSON number or a string, at most 2^63 - 1.

use std::fmt;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ApiError;

/// Longest decimal text accepted (digits, sign, point and exponent), and the largest
/// exponent: anything bigger is out of every range the exchange has.
const DECIMAL_TEXT_MAX: usize = 64;
const EXPONENT_MAX: i64 = 40;

/// A 400 naming `field`.
pub(crate) fn field_error(field: &str, message: impl fmt::Display) -> ApiError {
    ApiError::BadRequest { code: "invalid_field", message: format!("{field}: {message}"), details: json!({"field": field}) }
}

/// A JSON object body deserialised into `T`; any failure is a 400 naming the field.
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let lenient = crate::alpaca::is_alpaca_path(request.uri().path());
        let Json(raw) = Json::<Box<serde_json::value::RawValue>>::from_request(request, state).await?;
        // A key given twice is refused (which one would count is anyone's guess), at any depth.
        serde_json::from_str::<UniqueKeys>(raw.get()).map_err(|error| {
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            match serde_field(message, "duplicate field") {
                Some(field) => field_error(field, "is given more than once"),
                None => ApiError::bad_request("invalid_json", message.to_owned()),
            }
        })?;
        let value = serde_json::from_str::<Value>(raw.get()).map_err(|error| ApiError::bad_request("invalid_json", error.to_string()))?;
        if lenient { from_object_ignoring_unknown(value).map(Body) } else { from_object(value).map(Body) }
    }
}

/// Walks a JSON document and fails on the first object that names a key twice.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys)
    }
}

impl<'de> de::Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut items: A) -> Result<Self, A::Error> {
        while items.next_element::<UniqueKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut entries: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = entries.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            entries.next_value::<UniqueKeys>()?;
        }
        Ok(self)
    }
}

/// `value` as `T` if it is a JSON object whose fields are all `T`'s, and right: the
/// first field `T` does not have (at any depth) is a 400 naming it.
pub(crate) fn from_object<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    let mut unknown = None;
    let parsed = deserialize_object(value, |path| {
        unknown.get_or_insert_with(|| path.to_string().replace(".?", "").replace("?.", ""));
    })?;
    match unknown {
        Some(field) => Err(field_error(&field, "is not a field of this request")),
        None => Ok(parsed),
    }
}

/// `value` as `T` if it is a JSON object whose fields that `T` has are right (others are
/// passed over): the Alpaca-compatible API's reading.
pub(crate) fn from_object_ignoring_unknown<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    deserialize_object(value, |_| {})
}

fn deserialize_object<T: DeserializeOwned>(value: Value, mut ignored: impl FnMut(serde_ignored::Path<'_>)) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request("invalid_body", "the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut ignored)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // A missing field is reported at the level of its parent object.
        let missing = serde_field(&inner, "missing field");
        let field = match missing {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        let message = if missing.is_some() { "is required".to_owned() } else { inner.split(" at line ").next().unwrap_or_default().to_owned() };
        field_error(&field, message)
    })
}

/// On `/v1`, a query parameter the operation does not have is a 400 naming it, before
/// anything else reads the request (a misspelt filter must not answer everything, a
/// misspelt `userId` act on another account), as a body's unknown field is; and so is a
/// body's field where the operation takes no body (`{"startingCash": ...}` on a reset must
/// not pass for a choice the server made), though an empty body, `{}` and `null` pass.
/// `/v2` passes them over, as Alpaca's SDKs expect.
pub(crate) async fn known_parameters(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("", axum::extract::MatchedPath::as_str);
    let encoding = encoded(request.headers());
    let content_types = request.headers().get_all(axum::http::header::CONTENT_TYPE).iter().count();
    // Looked up only on `/v1` or for an encoded or doubly typed body (rare): `/v2` orders
    // pay nothing.
    let v1 = route.starts_with("/v1/");
    let inputs = if v1 || encoding.is_some() || content_types > 1 {
        crate::openapi::operation_inputs().get(&(request.method().as_str().to_ascii_lowercase(), route.to_owned()))
    } else {
        None
    };
    if let Some(encoding) = encoding
        && inputs.is_some_and(|inputs| inputs.body)
    {
        // A compressed body would be read as JSON text and refused for its bytes.
        let message = format!("Content-Encoding {encoding:?} is not accepted: send the body uncompressed (application/json)");
        return ApiError::Rejected { status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, code: "unsupported_media_type", message }.into_response();
    }
    if content_types > 1 && inputs.is_some_and(|inputs| inputs.body) {
        // Which of them the body is in cannot be told; the first must not be taken on trust.
        let message = format!("Content-Type is given {content_types} times: give it once (application/json)");
        return ApiError::Rejected { status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, code: "unsupported_media_type", message }.into_response();
    }
    let Some(inputs) = inputs.filter(|_| v1) else { return next.run(request).await };
    if let Some(query) = request.uri().query()
        && let Some((unknown, _)) = form_urlencoded::parse(query.as_bytes()).find(|(name, _)| !inputs.query.contains(name.as_ref()))
    {
        let message = format!("{unknown}: not a parameter of this request");
        return ApiError::BadRequest { code: "invalid_parameter", message, details: json!({"parameter": unknown}) }.into_response();
    }
    let may_carry_body = request.headers().contains_key(axum::http::header::TRANSFER_ENCODING)
        || request.headers().get(axum::http::header::CONTENT_LENGTH).is_some_and(|length| length.as_bytes() != b"0");
    if inputs.body || request.method() == axum::http::Method::GET || !may_carry_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_BYTES_MAX).await else {
        return ApiError::body_too_large().into_response();
    };
    if let Err(error) = no_body(&bytes) {
        return error.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// The request's `Content-Encoding` when the body is encoded (anything but `identity`).
fn encoded(headers: &axum::http::HeaderMap) -> Option<String> {
    let encodings: Vec<String> = headers
        .get_all(axum::http::header::CONTENT_ENCODING)
        .iter()
        .flat_map(|value| String::from_utf8_lossy(value.as_bytes()).split(',').map(|part| part.trim().to_owned()).collect::<Vec<_>>())
        .filter(|part| !part.is_empty() && !part.eq_ignore_ascii_case("identity"))
        .collect();
    (!encodings.is_empty()).then(|| encodings.join(", "))
}

/// The body of a request that takes none: nothing, `{}` or `null`; a field is named.
fn no_body(bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Null) => Ok(()),
        Ok(Value::Object(fields)) => match fields.keys().next() {
            None => Ok(()),
            Some(field) => Err(field_error(field, "is not a field of this request (it takes no body)".to_owned())),
        },
        Ok(_) => Err(ApiError::bad_request("invalid_body", "this request takes no body")),
        Err(error) => Err(ApiError::bad_request("invalid_json", error.to_string())),
    }
}

/// Query parameters deserialised into `T`; a bad, repeated or malformed parameter is a
/// 400 in the API's error shape.
#[derive(Debug)]
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(Query).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            if path != "." {
                return ApiError::bad_parameter(&path, format!("query {path}: {inner}"));
            }
            // A parameter given twice or left out is named, as one with a bad value is.
            if let Some(name) = serde_field(&inner, "duplicate field") {
                return ApiError::bad_parameter(name, format!("{name}: is given more than once"));
            }
            match serde_field(&inner, "missing field") {
                Some(name) => ApiError::bad_parameter(name, format!("{name}: is required")),
                None => ApiError::BadRequest { code: "invalid_parameter", message: format!("query string: {inner}"), details: Value::Null },
            }
        })
    }
}

/// The field serde names in a message such as ``missing field `name` `` (`kind` is the
/// words before the backquotes).
fn serde_field<'a>(message: &'a str, kind: &str) -> Option<&'a str> {
    message.strip_prefix(kind)?.strip_prefix(" `")?.split_once('`').map(|(name, _)| name)
}

/// A JSON value that is a string or a number, as text (numbers exactly as written).
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D, expected: &str) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(de::Error::custom(format!("expected {expected}, found {}", kind(&other)))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An id: a decimal integer without sign or leading zeros, up to 2^63 - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Id(pub u64);

/// Most digits of an id or count.
pub(crate) const ID_DIGITS_MAX: usize = 19;
/// The largest id or count: 2^63 - 1, so every one fits a signed 64-bit integer.
pub(crate) const ID_MAX: u64 = i64::MAX as u64;
/// An id or count as text, for the OpenAPI document (values above 2^63 - 1 are refused).
pub(crate) const ID_PATTERN: &str = "^(0|[1-9][0-9]{0,18})$";
/// A decimal as text (JSON number syntax), for the OpenAPI document.
pub(crate) const DECIMAL_PATTERN: &str = "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$";
/// Text without control characters, for the OpenAPI document.
pub(crate) const TEXT_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u200B\\u202A-\\u202E\\u2060\\u2066-\\u2069\\uFEFF]*$";

/// `text` as an id or count (the grammar in the module comment).
pub(crate) fn parse_unsigned(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let well_formed = !bytes.is_empty() && bytes.len() <= ID_DIGITS_MAX && bytes.iter().all(u8::is_ascii_digit) && (bytes[0] != b'0' || bytes.len() == 1);
    well_formed.then(|| text.parse::<u64>().ok()).flatten().filter(|value| *value <= ID_MAX)
}

fn string_schema(pattern: &str, max_length: Option<usize>, description: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
        .description(Some(description))
        .build()
}

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let number = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer).minimum(Some(0)).maximum(Some(ID_MAX));
        utoipa::openapi::OneOfBuilder::new()
            .item(string_schema(ID_PATTERN, Some(ID_DIGITS_MAX), "A decimal string"))
            .item(number)
            .description(Some("An id: a decimal integer up to 2^63 - 1 without sign or leading zeros, as a string or a JSON number."))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

impl utoipa::PartialSchema for Decimal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::OneOfBuilder::new()
            .item(string_schema(DECIMAL_PATTERN, Some(DECIMAL_TEXT_MAX), "Decimal text"))
            .item(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Number))
            .description(Some("An exact decimal: a JSON number, or a string holding one (JSON number syntax; no '+', spaces or leading zeros)."))
            .into()
    }
}

impl utoipa::ToSchema for Decimal {}

impl<const MAX: usize> utoipa::PartialSchema for Text<MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(TEXT_PATTERN, Some(MAX), "Text without control characters").into()
    }
}

impl<const MAX: usize> utoipa::ToSchema for Text<MAX> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Owned(format!("Text{MAX}"))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = string_or_number(deserializer, "an id (a decimal integer)")?;
        parse_unsigned(&text).map(Id).ok_or_else(|| de::Error::custom(format!("{text:?} is not an id (a decimal integer without sign or leading zeros)")))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A decimal in canonical text: exact, without exponent, sign only when negative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Decimal(pub String);

impl Decimal {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = string_or_number(deserializer, "a decimal (a number or a string holding one)")?;
        canonical_decimal(&text).map(Decimal).map_err(de::Error::custom)
    }
}

/// `text` in canonical form if it follows the decimal grammar of the module comment.
pub(crate) fn canonical_decimal(text: &str) -> Result<String, String> {
    let refuse = || format!("{text:?} is not a decimal (JSON number syntax: digits, an optional fraction and exponent)");
    if text.len() > DECIMAL_TEXT_MAX {
        return Err(format!("{} characters is too long for a decimal", text.len()));
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) || fraction.is_some_and(|fraction| !digits(fraction)) {
        return Err(refuse());
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(exponent) => {
            let unsigned_exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !digits(unsigned_exponent) {
                return Err(refuse());
            }
            let value: i64 = unsigned_exponent.parse().map_err(|_| refuse())?;
            if value > EXPONENT_MAX {
                return Err(format!("{text:?} is out of range"));
            }
            if exponent.starts_with('-') { -value } else { value }
        }
    };
    // All significant digits, and where the point goes among them.
    let fraction = fraction.unwrap_or_default();
    let all: String = format!("{whole}{fraction}");
    let point = whole.len() as i64 + exponent;
    let (integer, decimals) = if point <= 0 {
        (String::from("0"), format!("{}{all}", "0".repeat(point.unsigned_abs() as usize)))
    } else if point as usize >= all.len() {
        (format!("{all}{}", "0".repeat(point as usize - all.len())), String::new())
    } else {
        (all[..point as usize].to_owned(), all[point as usize..].to_owned())
    };
    let integer = integer.trim_start_matches('0');
    let decimals = decimals.trim_end_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    let mut canonical = String::with_capacity(integer.len() + decimals.len() + 2);
    if negative && (integer != "0" || !decimals.is_empty()) {
        canonical.push('-');
    }
    canonical.push_str(integer);
    if !decimals.is_empty() {
        canonical.push('.');
        canonical.push_str(decimals);
    }
    Ok(canonical)
}

/// Text of at most `MAX` characters with no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Text<const MAX: usize>(pub String);

impl<const MAX: usize> Text<MAX> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The text without surrounding whitespace, or `None` if nothing visible is left.
    pub(crate) fn visible(&self) -> Option<&str> {
        let text = self.0.trim();
        (!is_blank(text)).then_some(text)
    }
}

/// Invisible characters that change how the text around them shows or hide text in it:
/// bidirectional marks, embeddings, overrides and isolates (`\u{202E}` shows "evil" as
/// "live"); the zero-width space, word joiner, invisible operators, byte-order mark, soft
/// hyphen and other default-ignorable format characters; the Hangul fillers that make a
/// name look blank; interlinear annotations; and Unicode tags (text smuggled where no one
/// sees it), which pass only as the tail of an emoji flag (U+1F3F4 then tags ending in
/// U+E007F). Joiners (U+200C, U+200D) and variation selectors stay: scripts and emoji need
/// them.
fn is_invisible_format(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
    )
}

const TAG_CANCEL: char = '\u{E007F}';

fn is_tag(character: char) -> bool {
    ('\u{E0020}'..=TAG_CANCEL).contains(&character)
}

/// The first invisible character of `text`: a format character above, or a tag outside an
/// emoji flag's tail.
fn first_invisible(text: &str) -> Option<char> {
    let mut in_flag = false;
    let mut previous = None;
    for character in text.chars() {
        if is_invisible_format(character) {
            return Some(character);
        }
        if is_tag(character) {
            in_flag = in_flag || previous == Some('\u{1F3F4}');
            if !in_flag {
                return Some(character);
            }
            in_flag = character != TAG_CANCEL;
        } else if in_flag {
            // A flag's tags end with the cancel tag.
            return previous;
        }
        previous = Some(character);
    }
    if in_flag { previous } else { None }
}

/// Whether `text` shows nothing: only whitespace, joiners, variation selectors and the
/// braille blank (which looks like a space).
pub(crate) fn is_blank(text: &str) -> bool {
    text.chars().all(|character| {
        character.is_whitespace() || matches!(character, '\u{200C}' | '\u{200D}' | '\u{2800}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
    })
}

/// Refuses control characters, invisible formatting characters and text longer than
/// `max` characters.
pub(crate) fn check_text(text: &str, max: usize) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        return Err("control characters are not allowed".to_owned());
    }
    if let Some(character) = first_invisible(text) {
        return Err(format!("invisible formatting characters are not allowed (U+{:04X})", u32::from(character)));
    }
    let length = text.chars().count();
    if length > max {
        return Err(format!("at most {max} characters, not {length}"));
    }
    Ok(())
}

/// A body field that tells a key given as `null` from a key left out, which `Option`
/// cannot: where leaving a field out means "keep it", `null` is not a value to keep.
#[derive(Debug, Default)]
pub(crate) enum Field<T> {
    #[default]
    Absent,
    Null,
    Given(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Null, Self::Given))
    }
}

/// Text the engine takes as one of its inline ids: the same grammar and length in the body,
/// the OpenAPI document and the engine (`$parse` refuses what the engine would).
macro_rules! engine_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $parse:path, $pattern:ident = $regex:literal, $description:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub(crate) struct $name(pub String);

        pub(crate) const $pattern: &str = $regex;

        impl $name {
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                check_text(&text, $max).map_err(de::Error::custom)?;
                $parse(&text).map_err(de::Error::custom)?;
                Ok(Self(text))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                string_schema($pattern, Some($max), $description).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

engine_text!(
    /// An instrument symbol as the engine takes it ([`tradecraft_types::Symbol`]).
    SymbolText,
    tradecraft_types::Symbol::MAX_LENGTH,
    tradecraft_types::Symbol::new,
    SYMBOL_PATTERN = "^[A-Z0-9._-]{1,15}$",
    "An instrument symbol such as MOCKAAPL"
);

engine_text!(
    /// A client order id as the engine takes it ([`tradecraft_types::ClientOrderId`]), but
    /// not in the form of this server's order UUIDs (see [`client_order_id`]).
    ClientOrderIdText,
    tradecraft_types::ClientOrderId::MAX_LENGTH,
    client_order_id,
    CLIENT_ORDER_ID_PATTERN = "^[!-~]{1,128}$",
    "The client's own id for the order: printable ASCII, no spaces, and not in the form of this server's order ids (74630000-0000-0002-…), which stand for the orders placed without one"
);

/// A client order id the engine takes that is not one of this server's order UUIDs: the
/// Alpaca API shows an order placed without a client order id with its UUID as one (as
/// Alpaca makes one up) and finds it by that, so a client's own id of that form would name
/// two orders.
fn client_order_id(text: &str) -> Result<tradecraft_types::ClientOrderId, String> {
    if crate::alpaca::is_order_uuid(text) {
        return Err(format!("{text:?} has the form of this server's order ids, which stand for orders placed without a client order id"));
    }
    tradecraft_types::ClientOrderId::new(text).map_err(|error| error.to_string())
}

/// Whether `label` is one label of a host name DNS can hold: 1 to 63 letters, digits and
/// hyphens (and underscores, where `underscore`), not starting or ending with a hyphen.
pub(crate) fn dns_label(label: &str, underscore: bool) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|character| character.is_ascii_alphanumeric() || character == '-' || (underscore && character == '_'))
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        check_text(&text, MAX).map_err(de::Error::custom)?;
        Ok(Self(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field left out is named, with its parent's path, and said to be required.
    #[test]
    fn a_missing_field_is_named_as_required() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            price: String,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            name: String,
            leg: Option<Inner>,
        }
        let message = |body: Value| match from_object::<Outer>(body) {
            Err(ApiError::BadRequest { message, details, .. }) => (message, details),
            other => panic!("{other:?}"),
        };
        assert_eq!(message(json!({})), ("name: is required".to_owned(), json!({"field": "name"})));
        assert_eq!(message(json!({"name": "x", "leg": {}})), ("leg.price: is required".to_owned(), json!({"field": "leg.price"})));
    }

    #[test]
    fn text_refuses_what_would_disguise_it_and_keeps_what_scripts_need() {
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        let disguised = [
            "\u{202E}evil",
            "pay\u{200B}pal",
            "a\u{2066}b",
            "\u{FEFF}name",
            "x\u{2060}y",
            "tab\there",
            "\u{200E}",
            "soft\u{00AD}hyphen",
            "\u{3164}",
            "\u{FFA0}",
            "a\u{2061}b",
            "\u{FFF9}note",
            // Tags outside a flag smuggle text nobody sees.
            "hello\u{E0069}\u{E0067}\u{E006E}",
            "\u{E0001}en",
            // A flag's tail must end with the cancel tag, and nothing follows it as a tag.
            "\u{1F3F4}\u{E0067}\u{E0062}",
            "\u{1F3F4}\u{E0067}x",
        ];
        for text in disguised {
            assert!(check_text(text, 100).is_err(), "{text:?}");
        }
        for bad_tail in [format!("{scotland}\u{E0067}"), format!("{scotland}\u{E007F}")] {
            assert!(check_text(&bad_tail, 100).is_err(), "{bad_tail:?}");
        }
        let flagged = format!("Alba {scotland}!");
        for fine in ["Zoë", "محمد", "👨\u{200D}👩\u{200D}👧", "می\u{200C}خواهم", "plain name", "❤\u{FE0F}", scotland, &flagged] {
            assert_eq!(check_text(fine, 100), Ok(()), "{fine:?}");
        }
    }

    /// Blank is what shows nothing, not only what trims to nothing.
    #[test]
    fn blank_text_is_text_that_shows_nothing() {
        for blank in ["", "   ", "\u{2800}", "\u{200D}", " \u{200C}\u{FE0F} ", "\u{3000}"] {
            assert!(super::is_blank(blank), "{blank:?}");
        }
        for shown in ["a", " . ", "❤\u{FE0F}", "\u{1F3F4}"] {
            assert!(!super::is_blank(shown), "{shown:?}");
        }
    }

    #[test]
    fn decimals_follow_one_grammar() {
        for (text, canonical) in [
            ("0", "0"),
            ("10", "10"),
            ("10.50", "10.5"),
            ("-3.25", "-3.25"),
            ("-0", "0"),
            ("0.0001", "0.0001"),
            ("1E2", "100"),
            ("1.5e-3", "0.0015"),
            ("2.5E+1", "25"),
            ("123e-5", "0.00123"),
            ("0.000", "0"),
        ] {
            assert_eq!(canonical_decimal(text).as_deref(), Ok(canonical), "{text}");
        }
        for text in ["", "+1", " 1", "1 ", "01", "1.", ".5", "-", "1e", "1e+", "0x10", "1,5", "NaN", "Infinity", "1.2.3", "--1", "1e99", "١"] {
            assert!(canonical_decimal(text).is_err(), "{text:?} must be refused");
        }
    }

    #[test]
    fn ids_are_plain_unsigned_integers() {
        assert_eq!(parse_unsigned("0"), Some(0));
        assert_eq!(parse_unsigned("9223372036854775807"), Some(ID_MAX));
        for text in ["", "+1", "-1", " 1", "01", "1.0", "1e2", "9223372036854775808", "10000000000000000000", "abc"] {
            assert_eq!(parse_unsigned(text), None, "{text:?}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[expect(dead_code, reason = "the fields are only deserialised")]
    struct Sample {
        user_id: Option<Id>,
        amount: Decimal,
        name: Option<Text<5>>,
        flag: Option<bool>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "the fields are only deserialised")]
    struct Nested {
        amount: Option<Decimal>,
    }

    #[test]
    fn bodies_name_the_field_at_fault() {
        let field_of = |value: Value| match from_object::<Sample>(value) {
            Err(ApiError::BadRequest { details, .. }) => details["field"].as_str().unwrap_or_default().to_owned(),
            other => panic!("expected a 400, got {other:?}"),
        };
        assert_eq!(field_of(json!({"userId": {}, "amount": "1"})), "userId");
        assert_eq!(field_of(json!({"amount": "1", "name": 5})), "name");
        assert_eq!(field_of(json!({"amount": "1", "name": "abc\ndef"})), "name");
        assert_eq!(field_of(json!({"amount": "1", "name": "toolong"})), "name");
        assert_eq!(field_of(json!({"amount": "1", "flag": "yes"})), "flag");
        assert_eq!(field_of(json!({})), "amount");
        assert_eq!(field_of(json!({"amount": "+1"})), "amount");
        assert!(matches!(from_object::<Sample>(json!([])), Err(ApiError::BadRequest { code: "invalid_body", .. })));
        assert!(matches!(from_object::<Sample>(Value::Null), Err(ApiError::BadRequest { code: "invalid_body", .. })));
        let sample = from_object::<Sample>(json!({"amount": 1.5e2, "userId": 7})).unwrap();
        assert_eq!(sample.amount, Decimal("150".to_owned()));
        assert_eq!(sample.user_id, Some(Id(7)));
        // A field the request does not have is named, however deep; `/v2`'s reading passes it over.
        assert_eq!(field_of(json!({"amount": 1, "unknown": [1, 2]})), "unknown");
        assert_eq!(field_of(json!({"amount": 1, "nested": {"amount": 1, "price": 2}})), "nested.price");
        let lenient = from_object_ignoring_unknown::<Sample>(json!({"amount": 1, "unknown": [1, 2]})).unwrap();
        assert_eq!(lenient.amount, Decimal("1".to_owned()));
    }

    async fn body(text: &'static str) -> Result<Body<Sample>, ApiError> {
        body_at("/v1/sample", text).await
    }

    async fn body_at(path: &str, text: &'static str) -> Result<Body<Sample>, ApiError> {
        let request = axum::http::Request::builder().uri(path).header("content-type", "application/json").body(axum::body::Body::from(text)).unwrap();
        Body::<Sample>::from_request(request, &()).await
    }

    #[tokio::test]
    async fn a_key_given_twice_is_refused_at_any_depth() {
        let field_of = |result: Result<Body<Sample>, ApiError>| match result {
            Err(ApiError::BadRequest { details, .. }) => details["field"].as_str().unwrap_or_default().to_owned(),
            other => panic!("expected a 400, got {other:?}"),
        };
        assert_eq!(field_of(body(r#"{"amount": "1", "amount": "2"}"#).await), "amount");
        assert_eq!(field_of(body(r#"{"amount": 1, "name": "a", "name": "b"}"#).await), "name");
        // Escapes do not hide a repeat, and nested objects are checked too.
        assert_eq!(field_of(body(r#"{"amount": 1, "\u0061mount": 2}"#).await), "amount");
        assert_eq!(field_of(body(r#"{"amount": 1, "unknown": [{"x": 1, "x": 2}]}"#).await), "x");
        // The same key in different objects, and numbers of any precision, are fine.
        let Body(sample) = body(r#"{"amount": 12345678901234567890.0001, "nested": {"amount": 1}}"#).await.unwrap();
        assert_eq!(sample.amount, Decimal("12345678901234567890.0001".to_owned()));
        // An unknown field is refused on `/v1` and passed over on `/v2`, after the repeats check.
        assert_eq!(field_of(body(r#"{"amount": 1, "unknown": [{"amount": 1}, {"amount": 2}]}"#).await), "unknown");
        assert!(body_at("/v2/orders", r#"{"amount": 1, "unknown": [{"amount": 1}, {"amount": 2}]}"#).await.is_ok());
        assert_eq!(field_of(body_at("/v2/orders", r#"{"amount": 1, "unknown": {"x": 1, "x": 2}}"#).await), "x");
        assert!(matches!(body(r#"{"amount": 1,}"#).await, Err(ApiError::BadRequest { code: "invalid_json", .. })));
    }
}
