//! Every answer the suite gets is checked against the OpenAPI document: its status is one
//! the operation documents, and a JSON body matches the documented schema. So the document
//! describes the server as the tests drive it, success answers included (schemathesis's
//! generated requests seldom get past validation), and a schema shadowed by another of the
//! same name, a field renamed on one side or an undocumented status fails the test that
//! met it.
//!
//! The checker covers the JSON Schema that utoipa writes: `$ref`, `allOf`, `oneOf`,
//! `anyOf`, `type` (one or several), `enum`, `required`, `properties`,
//! `additionalProperties` and `items`. Formats, patterns and bounds are requests' business
//! (schemathesis checks those).

use std::sync::OnceLock;

use serde_json::{Map, Value};

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(tradecraft_api::openapi::document_json)
}

/// The documented operation `path` (without its query) is an instance of: the template
/// with the most literal segments wins (`/v1/portfolio/positions` over
/// `/v1/portfolio/{user_id}`).
fn template(path: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    paths
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if let Some((prefix, suffix)) = part.split_once('{') {
                    // `/v2/orders:by_client_order_id` and the like: a literal with a parameter.
                    let suffix = suffix.split_once('}').map_or("", |(_, rest)| rest);
                    if !(segment.starts_with(prefix) && segment.ends_with(suffix)) {
                        return None;
                    }
                } else if part != segment {
                    return None;
                } else {
                    literal += 1;
                }
            }
            Some((literal, template.as_str(), item))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, template, item)| (template, item))
}

/// Panics unless the document has `method path` answering `status`, with `body` (when the
/// answer is JSON) matching its schema. Paths the document leaves out (the web app's
/// files) and answers to paths no route has pass.
pub(crate) fn check(method: &str, path_and_query: &str, status: u16, body: &Value) {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let Some((template, item)) = template(path) else { return };
    let Some(operation) = item.get(method.to_ascii_lowercase()) else {
        assert!(status == 405 || status == 404, "{method} {path}: {status} from an operation the document does not have");
        return;
    };
    let responses = &operation["responses"];
    let Some(response) = responses.get(status.to_string()).or_else(|| responses.get("default")) else {
        panic!("{method} {template}: status {status} is not documented ({body})");
    };
    let Some(schema) = response["content"]["application/json"].get("schema") else { return };
    if body.is_null() && status != 200 {
        return;
    }
    let mut errors = Vec::new();
    matches(schema, body, "$", false, &mut errors);
    assert!(errors.is_empty(), "{method} {template} {status}: the answer does not match the document:\n  {}\n{body}", errors.join("\n  "));
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            let target = &document()["components"]["schemas"][name];
            assert!(!target.is_null(), "{reference} is not in the document");
            resolve(target)
        }
        None => schema,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The properties `schema` names, its `allOf` parts' included; none when it names none.
fn declared(schema: &Value) -> Option<std::collections::HashSet<&str>> {
    let schema = resolve(schema);
    let mut names: Option<std::collections::HashSet<&str>> =
        schema.get("properties").and_then(Value::as_object).map(|own| own.keys().map(String::as_str).collect());
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        if let Some(more) = declared(part) {
            names.get_or_insert_with(Default::default).extend(more);
        }
    }
    names
}

/// `open`: `schema` is a part of an `allOf`, whose other parts may name more properties.
fn matches(schema: &Value, value: &Value, at: &str, open: bool, errors: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            matches(part, value, at, true, errors);
        }
    }
    for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let fitting = options
                .iter()
                .filter(|option| {
                    let mut inner = Vec::new();
                    matches(option, value, at, open, &mut inner);
                    inner.is_empty()
                })
                .count();
            // utoipa writes Option<T> as oneOf [null, T]; a T that is itself nullable
            // matches both, which is still one value.
            if fitting == 0 || (exactly_one && fitting > 1 && !value.is_null()) {
                errors.push(format!("{at}: {fitting} of the {keyword} options fit {value}"));
            }
        }
    }
    if let Some(kind) = schema.get("type") {
        let actual = type_of(value);
        let allowed = |name: &str| name == actual || (name == "number" && actual == "integer");
        let fits = match kind {
            Value::String(name) => allowed(name),
            Value::Array(names) => names.iter().filter_map(Value::as_str).any(allowed),
            _ => true,
        };
        if !fits {
            errors.push(format!("{at}: {actual} where the document says {kind}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    match value {
        Value::Object(object) => properties(schema, object, at, open, errors),
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (index, element) in items.iter().enumerate() {
                    matches(item, element, &format!("{at}[{index}]"), false, errors);
                }
            }
        }
        _ => {}
    }
}

fn properties(schema: &Value, object: &Map<String, Value>, at: &str, open: bool, errors: &mut Vec<String>) {
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !object.contains_key(name) {
            errors.push(format!("{at}: no {name:?}, which the document requires"));
        }
    }
    let own = schema.get("properties").and_then(Value::as_object);
    let named = declared(schema);
    for (name, value) in object {
        match own.and_then(|own| own.get(name)) {
            Some(property) => matches(property, value, &format!("{at}.{name}"), false, errors),
            None if open || named.as_ref().is_some_and(|named| named.contains(name.as_str())) => {}
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => errors.push(format!("{at}: {name:?} is not in the document")),
                Some(extra @ Value::Object(_)) => matches(extra, value, &format!("{at}.{name}"), false, errors),
                // An object documented with properties and nothing said of others: an
                // answer with a field the document does not name is a document behind the
                // server.
                _ if named.is_some() => errors.push(format!("{at}: {name:?} is not in the document")),
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn templates_prefer_literal_segments_and_schemas_are_checked() {
        assert_eq!(template("/v1/portfolio/positions").map(|(template, _)| template), Some("/v1/portfolio/positions"));
        assert_eq!(template("/v1/portfolio/42").map(|(template, _)| template), Some("/v1/portfolio/{user_id}"));
        let mut errors = Vec::new();
        let schema =
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"oneOf": [{"type": "null"}, {"type": "integer"}]}}});
        matches(&schema, &json!({"a": "x", "b": null}), "$", false, &mut errors);
        matches(&schema, &json!({"a": "x", "b": 3}), "$", false, &mut errors);
        let joined = json!({"allOf": [schema, {"type": "object", "properties": {"d": {"type": "boolean"}}}]});
        matches(&joined, &json!({"a": "x", "d": true}), "$", false, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        matches(&schema, &json!({"b": "3", "c": 1}), "$", false, &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
        errors.clear();
        matches(&joined, &json!({"a": "x", "e": true}), "$", false, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }
}
