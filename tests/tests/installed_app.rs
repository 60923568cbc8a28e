//! The phone app ships inside the binary: `interlog` and `interlog-relay`
//! (which `interlog relay` starts) copied away from the source tree, and run
//! from yet another directory with no `--app-dir`, serve the app they were
//! built with, byte for byte, and say at `/` what it is.

use std::path::Path;

use interlog_e2e::{binary, TestRelay};

#[test]
fn an_installed_relay_serves_the_app_built_into_it() {
    let install = tempfile::tempdir().expect("install dir");
    let relay_bin = format!("interlog-relay{}", std::env::consts::EXE_SUFFIX);
    for from in [binary().to_path_buf(), binary().with_file_name(&relay_bin)] {
        let to = install.path().join(from.file_name().expect("a file name"));
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
    let bin = install
        .path()
        .join(binary().file_name().expect("a file name"));
    let cwd = tempfile::tempdir().expect("working dir");
    let relay = TestRelay::start_installed(&bin, cwd.path());

    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    let index = std::fs::read(dist.join("index.html")).expect("the committed web/dist");
    let app = relay.http_get("/app/");
    assert_eq!(app.status, 200, "{}", app.head);
    assert_eq!(app.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        app.body == index,
        "/app/ is not web/dist/index.html:\n{}",
        String::from_utf8_lossy(&app.body)
    );

    // Every file the page loads: its script and style (hashed, under
    // assets/) and the manifest and icon beside it.
    let page = String::from_utf8(index).expect("index.html is UTF-8");
    let referenced: Vec<&str> = page
        .split('"')
        .filter_map(|s| {
            s.strip_prefix("/app/")
                .or_else(|| s.strip_prefix("./"))
                .filter(|rel| !rel.is_empty())
        })
        .collect();
    assert!(
        referenced.iter().any(|rel| rel.starts_with("assets/")),
        "index.html references a built asset: {referenced:?}"
    );
    for rel in referenced {
        let got = relay.http_get(&format!("/app/{rel}"));
        assert_eq!(got.status, 200, "/app/{rel}: {}", got.head);
        let want = std::fs::read(dist.join(rel)).expect("a file of web/dist");
        assert!(got.body == want, "/app/{rel} differs from web/dist/{rel}");
        let cache = got.header("cache-control").unwrap_or_default();
        if rel.starts_with("assets/") {
            assert!(cache.contains("immutable"), "/app/{rel}: {cache}");
        } else {
            assert_eq!(cache, "no-cache", "/app/{rel}");
        }
        assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    }

    let front = relay.http_get("/");
    assert_eq!(front.status, 200, "{}", front.head);
    let front = String::from_utf8_lossy(&front.body);
    assert!(front.contains("Interlog relay"), "{front}");
    assert!(
        front.contains("<a href=\"/app/\">"),
        "/ links to the app: {front}"
    );

    assert!(
        relay
            .log()
            .contains("serving the phone app built into the relay"),
        "{}",
        relay.log()
    );
    assert!(
        std::fs::read_dir(cwd.path())
            .expect("list cwd")
            .next()
            .is_none(),
        "the relay wrote into its working directory"
    );
}
