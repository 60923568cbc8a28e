//! The phone app's static files, served at `/app/` from the settings'
//! `app_dir` (the output of `npm run build` in `web/`).
//!
//! It must never serve anything outside that directory: a request path is
//! accepted only when every component is a plain name (no `..`, no root, no
//! drive, no backslash), and the file it names must still lie inside the
//! directory once symbolic links are resolved. A relay without the built app
//! keeps syncing; `/app/` then answers with a plain page saying how to build
//! it.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// Routes for `/app`, `/app/` and `/app/{*path}`.
pub fn routes<S: Clone + Send + Sync + 'static>(dir: PathBuf) -> Router<S> {
    let dir = Arc::new(dir);
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index))
        .route("/app/{*path}", get(file))
        .with_state(dir)
}

async fn index(State(dir): State<Arc<PathBuf>>) -> Response {
    serve(&dir, "index.html").await
}

async fn file(State(dir): State<Arc<PathBuf>>, UrlPath(path): UrlPath<String>) -> Response {
    serve(&dir, &path).await
}

/// The file `rel` names inside `dir`, or `None` when `rel` tries to leave it.
pub fn resolve(dir: &Path, rel: &str) -> Option<PathBuf> {
    if rel.is_empty() || rel.contains(['\\', '\0']) {
        return None;
    }
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    (full.starts_with(&root) && full.is_file()).then_some(full)
}

async fn serve(dir: &Path, rel: &str) -> Response {
    if !dir.join("index.html").is_file() {
        return not_built(dir);
    }
    let (root, wanted) = (dir.to_path_buf(), rel.to_string());
    let read = tokio::task::spawn_blocking(move || {
        resolve(&root, &wanted).map(|path| (std::fs::read(&path), path))
    })
    .await;
    let (bytes, path) = match read {
        Ok(Some((Ok(bytes), path))) => (bytes, path),
        Ok(None) => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
        Ok(Some((Err(e), _))) => {
            tracing::warn!(error = %e, "could not read an app file");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the file\n",
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the file\n",
            )
                .into_response()
        }
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // Vite names built assets by content hash: they never change. The
    // service worker and the page must be revalidated to pick up a new build.
    let cache = if rel.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut resp = bytes.into_response();
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

fn not_built(dir: &Path) -> Response {
    let dir = html_escape(&dir.display().to_string());
    let page = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Interlog: the phone app is not built</title>\
         <h1>The phone app is not built</h1>\
         <p>This relay syncs as usual, but it has no app files in <code>{dir}</code>.</p>\
         <p>To build them, from a clone of Interlog:</p>\
         <pre>cd web\nnpm ci\nnpm run build</pre>\
         <p>then restart the relay, or point it at the built files with \
         <code>--app-dir DIR</code> (or <code>INTERLOG_RELAY_APP_DIR</code>, \
         or <code>app_dir</code> in the config file).</p>\n"
    );
    let mut resp = (StatusCode::NOT_FOUND, page).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_app_dir_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("dist");
        std::fs::create_dir_all(app.join("assets")).unwrap();
        std::fs::write(app.join("index.html"), "app").unwrap();
        std::fs::write(app.join("assets/a.js"), "js").unwrap();
        std::fs::write(root.path().join("secret"), "key").unwrap();
        assert!(resolve(&app, "index.html").is_some());
        assert!(resolve(&app, "assets/a.js").is_some());
        for bad in [
            "",
            "../secret",
            "assets/../../secret",
            "/etc/passwd",
            "..\\secret",
            "./index.html",
            "assets",
            "missing.js",
            "index.html\0",
        ] {
            assert_eq!(resolve(&app, bad), None, "{bad:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret"), app.join("link")).unwrap();
            assert_eq!(resolve(&app, "link"), None);
        }
    }
}
