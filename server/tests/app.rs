//! The relay's pages over plain HTTP: `/` says what the relay is; the phone
//! app is the copy built into the relay, or the files of `app_dir` and never
//! anything outside it, with a plain "build it" page naming no path when that
//! directory has no app; sync and health checks are unaffected either way.

use std::path::PathBuf;
use std::sync::Arc;

use interlog_relay::settings::Settings;
use interlog_relay::store::MemoryRelayStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts a relay serving `app_dir` (`None`: the app built into it); returns
/// its address.
async fn relay(app_dir: Option<PathBuf>) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(data.path());
    settings.app_dir = app_dir;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let _keep = data;
        let store = Arc::new(MemoryRelayStore::default());
        let _ =
            interlog_relay::run_with_store(listener, None, settings, store, std::future::pending())
                .await;
    });
    addr
}

/// One raw HTTP/1.1 GET: (status, headers and body as text). Raw so that
/// paths like `/app/../x` reach the relay exactly as written.
async fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_built_app_is_served_and_nothing_outside_it() {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<title>Interlog</title>").unwrap();
    std::fs::write(dist.join("assets/app-1234.js"), "console.log(1)").unwrap();
    std::fs::write(dist.join("automerge.wasm"), [0u8, 97, 115, 109]).unwrap();
    std::fs::write(root.path().join("vault.key"), "SECRET-KEY").unwrap();
    let addr = relay(Some(dist)).await;

    let (status, page) = get(&addr, "/app/").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<title>Interlog</title>"));
    assert!(page.to_lowercase().contains("content-type: text/html"));

    let (status, js) = get(&addr, "/app/assets/app-1234.js").await;
    assert_eq!(status, 200);
    assert!(js.to_lowercase().contains("content-type: text/javascript"));
    assert!(js.contains("immutable"), "hashed assets are cached: {js}");
    let (_, wasm) = get(&addr, "/app/automerge.wasm").await;
    assert!(wasm
        .to_lowercase()
        .contains("content-type: application/wasm"));

    let (status, redirect) = get(&addr, "/app").await;
    assert_eq!(status, 308);
    assert!(redirect.to_lowercase().contains("location: /app/"));

    for evil in [
        "/app/../vault.key",
        "/app/%2e%2e/vault.key",
        "/app/assets/..%2f..%2fvault.key",
        "/app/..%5cvault.key",
        "/app/%2fetc%2fpasswd",
        "/app/missing.js",
    ] {
        let (status, body) = get(&addr, evil).await;
        assert!(!body.contains("SECRET-KEY"), "{evil} leaked the file");
        assert!(status == 404 || status == 400, "{evil}: {status}");
    }
    let (status, body) = get(&addr, "/healthz").await;
    assert_eq!((status, body.ends_with("ok\n")), (200, true));
}

#[tokio::test]
async fn an_app_dir_without_the_app_says_so_without_its_path_and_sync_still_works() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("no-such-dist");
    let addr = relay(Some(dir.clone())).await;
    for path in ["/app/", "/app/index.html", "/app/assets/x.js"] {
        let (status, page) = get(&addr, path).await;
        assert_eq!(status, 404);
        assert!(page.contains("npm run build"), "{page}");
        assert!(page.contains("--app-dir"), "{page}");
        assert!(
            !page.contains("no-such-dist"),
            "the page names the path: {page}"
        );
        assert!(!page.contains(&dir.display().to_string()), "{page}");
    }
    let (status, _) = get(&addr, "/healthz").await;
    assert_eq!(status, 200);
    // The sync endpoint still upgrades.
    let ws = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/sync")).await;
    assert!(ws.is_ok());
}

#[tokio::test]
async fn without_an_app_dir_the_app_built_into_the_relay_is_served() {
    let addr = relay(None).await;
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
    let (status, page) = get(&addr, "/app/").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.ends_with(&index),
        "/app/ is web/dist/index.html: {page}"
    );
    assert!(page.to_lowercase().contains("cache-control: no-cache"));

    let script = index
        .split('"')
        .find(|s| s.starts_with("/app/assets/") && s.ends_with(".js"))
        .expect("index.html loads a script from assets/");
    let (status, js) = get(&addr, script).await;
    assert_eq!(status, 200);
    assert!(js.to_lowercase().contains("content-type: text/javascript"));
    assert!(js.contains("immutable"), "hashed assets are cached: {js}");
    assert!(js
        .to_lowercase()
        .contains("x-content-type-options: nosniff"));

    for outside in [
        "/app/../Cargo.toml",
        "/app/%2e%2e/Cargo.toml",
        "/app/missing.js",
    ] {
        let (status, _) = get(&addr, outside).await;
        assert!(status == 404 || status == 400, "{outside}: {status}");
    }
}

#[tokio::test]
async fn the_front_page_says_what_the_relay_is_and_links_to_the_app() {
    let addr = relay(None).await;
    let (status, page) = get(&addr, "/").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.to_lowercase().contains("content-type: text/html"));
    assert!(
        page.contains("Interlog relay") && page.contains("encrypted"),
        "{page}"
    );
    assert!(page.contains("<a href=\"/app/\">"), "{page}");
}
