//! The page at `/`: whoever opens the relay's address in a browser learns
//! what it is (an Interlog relay, which stores only encrypted records) and
//! finds the phone app. It names nothing about this relay or its server.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const PAGE: &str = "<!doctype html>\
<html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Interlog relay</title>\
<h1>Interlog relay</h1>\
<p>This is a relay for Interlog, a private journal of job interviews. It \
stores and forwards the journal's change records, encrypted on the devices \
that wrote them: it holds no key and cannot read them.</p>\
<p><a href=\"/app/\">Open the phone app</a></p>\n";

/// `GET /`.
pub async fn page() -> Response {
    let mut resp = PAGE.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_page_says_what_the_relay_is_and_links_to_the_app() {
        let resp = super::page().await;
        assert_eq!(resp.status(), 200);
        let page = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let page = std::str::from_utf8(&page).unwrap();
        assert!(page.contains("<a href=\"/app/\">"), "{page}");
        assert!(
            page.contains("Interlog relay") && page.contains("encrypted"),
            "{page}"
        );
    }
}
