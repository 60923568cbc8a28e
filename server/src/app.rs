//! The phone app, served at `/app/`: the copy built into the relay
//! ([`embedded`]), or, for developing the app, the files of the directory
//! `--app-dir` names ([`dir`]).
//!
//! Either way only the app's files can be reached, and no page names a path
//! of the server's file system: an app directory without `index.html` answers
//! with a page saying so, and the path goes to the log. Vite names built
//! assets (`assets/`) by content hash, so they are cached for a year; the page
//! and the service worker are revalidated, so a new build reaches phones at
//! their next visit.

pub mod dir;
pub mod embedded;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use dir::DirError;

/// Where the app's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppFiles {
    /// The copy built into the relay.
    Embedded,
    /// A directory, read at each request (`--app-dir`).
    Dir(PathBuf),
}

impl AppFiles {
    /// The settings' `app_dir` if there is one, else the embedded copy.
    pub fn new(app_dir: Option<PathBuf>) -> Self {
        app_dir.map_or(AppFiles::Embedded, AppFiles::Dir)
    }
}

/// Routes for `/app`, `/app/` and `/app/{*path}`.
pub fn routes<S: Clone + Send + Sync + 'static>(files: AppFiles) -> Router<S> {
    match &files {
        AppFiles::Embedded => tracing::info!("serving the phone app built into the relay at /app/"),
        AppFiles::Dir(dir) => {
            tracing::info!(dir = %dir.display(), "serving the phone app at /app/ from a directory")
        }
    }
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index))
        .route("/app/{*path}", get(file))
        .with_state(Arc::new(files))
}

async fn index(State(files): State<Arc<AppFiles>>) -> Response {
    serve(&files, "index.html").await
}

async fn file(State(files): State<Arc<AppFiles>>, UrlPath(path): UrlPath<String>) -> Response {
    serve(&files, &path).await
}

async fn serve(files: &AppFiles, rel: &str) -> Response {
    let body = match files {
        AppFiles::Embedded => match embedded::file(rel) {
            Some(bytes) => Body::from(bytes),
            None => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
        },
        AppFiles::Dir(dir) => match dir::read(dir, rel).await {
            Ok(bytes) => Body::from(bytes),
            Err(DirError::NotFound) => {
                return (StatusCode::NOT_FOUND, "not found\n").into_response()
            }
            Err(DirError::NoApp) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "the app directory has no index.html: build the app into it (npm run build in web/), \
                     or drop --app-dir to serve the app built into the relay"
                );
                return not_built();
            }
            Err(e @ DirError::Read(_)) => {
                tracing::warn!(error = %e, "could not read an app file");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not read the file\n",
                )
                    .into_response();
            }
        },
    };
    let name = rel.rsplit('/').next().unwrap_or(rel);
    // Hashed assets never change. The service worker and the page must be
    // revalidated to pick up a new build.
    let cache = if rel.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer when the app directory holds no built app. It names no path:
/// a visitor learns nothing about the server's file system, and the operator
/// finds the directory in the relay's log.
fn not_built() -> Response {
    let page =
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Interlog: the phone app is missing</title>\
         <h1>The phone app is missing</h1>\
         <p>This relay syncs as usual, but the directory it was told to serve the \
         phone app from (with <code>--app-dir DIR</code>, <code>INTERLOG_RELAY_APP_DIR</code> \
         or <code>app_dir</code> in the config file) has no <code>index.html</code>. \
         The relay's log names the directory.</p>\
         <p>Build the app into it, from a clone of Interlog:</p>\
         <pre>cd web\nnpm ci\nnpm run build</pre>\
         <p>or remove the setting and restart the relay: it then serves the app \
         built into it.</p>\n";
    let mut resp = (StatusCode::NOT_FOUND, page).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_app_dir_without_the_app_says_so_and_names_no_path() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("no-such-dist");
        let files = AppFiles::new(Some(dir.clone()));
        for rel in ["index.html", "assets/x.js"] {
            let resp = serve(&files, rel).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
            let page = body(resp).await;
            assert!(
                page.contains("--app-dir") && page.contains("npm run build"),
                "{page}"
            );
            let unique = root.path().file_name().unwrap().to_str().unwrap();
            for part in [&dir.display().to_string(), unique, "no-such-dist"] {
                assert!(!page.contains(part), "the page names {part:?}: {page}");
            }
        }
    }

    #[tokio::test]
    async fn without_an_app_dir_the_embedded_app_is_served() {
        let files = AppFiles::new(None);
        assert_eq!(files, AppFiles::Embedded);
        let resp = serve(&files, "index.html").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let page = body(resp).await;
        assert_eq!(page.as_bytes(), embedded::file("index.html").unwrap());
        assert_eq!(
            serve(&files, "../Cargo.toml").await.status(),
            StatusCode::NOT_FOUND
        );
    }
}
