//! The web app (`web/`, built into `web/dist`): its files served at `/` by every process
//! that serves the REST API. The app routes in the URL's fragment (`/#/symbol/MOCKAAPL`),
//! so the server only ever serves files: `/` is `index.html`, `/assets/...` the bundle
//! (content-hashed names, cached for a year), anything else under the folder as is.

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// Whether `path` belongs to the API rather than the web app.
pub(crate) fn is_api_path(path: &str) -> bool {
    ["/v1/", "/v2/", "/health/", "/metrics", "/openapi.json", "/docs"].iter().any(|prefix| path.starts_with(prefix))
        || matches!(path, "/v1" | "/v2" | "/stream")
}

/// The file `path` names inside `root`; `None` for anything that could leave it (`..`,
/// absolute parts, backslashes, control characters).
fn file_under(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() { "index.html" } else { relative };
    if relative.bytes().any(|byte| byte == b'\\' || byte.is_ascii_control()) {
        return None;
    }
    let relative = Path::new(relative);
    relative.components().all(|component| matches!(component, Component::Normal(_))).then(|| root.join(relative))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers a GET or HEAD for `path` from the app's folder: 404 (JSON, like every other
/// error) when the file is not there, with a hint when the app was never built.
pub(crate) async fn serve(root: &Path, method: &Method, path: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::NotFound("route".to_owned()).into_response();
    }
    let Some(file) = file_under(root, path) else { return ApiError::NotFound("route".to_owned()).into_response() };
    let body = match tokio::fs::read(&file).await {
        Ok(body) => body,
        Err(_) if !root.join("index.html").is_file() => {
            return ApiError::NotFound(format!(
                "the web app (not built: run `npm ci && npm run build` in web/, or scripts/run.sh; looked in {})",
                root.display()
            ))
            .into_response();
        }
        Err(_) => return ApiError::NotFound("route".to_owned()).into_response(),
    };
    // Bundle files carry a content hash in their names; the rest must be revalidated.
    let cache = if path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = (StatusCode::OK, if method == Method::HEAD { Vec::new() } else { body }).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let root = Path::new("/srv/web");
        assert_eq!(file_under(root, "/"), Some(PathBuf::from("/srv/web/index.html")));
        assert_eq!(file_under(root, "/assets/index-1a2b.js"), Some(PathBuf::from("/srv/web/assets/index-1a2b.js")));
        // Extra slashes stay inside the folder.
        assert_eq!(file_under(root, "//etc/passwd"), Some(PathBuf::from("/srv/web/etc/passwd")));
        for escape in ["/../secret", "/assets/../../etc/passwd", "/a\\..\\b", "/x\u{0}"] {
            assert_eq!(file_under(root, escape), None, "{escape:?}");
        }
    }

    #[test]
    fn api_paths_are_not_the_apps() {
        for path in ["/v1/orders", "/v2/account", "/stream", "/health/live", "/metrics", "/openapi.json", "/docs"] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/index.html", "/assets/app.js", "/favicon.svg"] {
            assert!(!is_api_path(path), "{path}");
        }
    }
}
