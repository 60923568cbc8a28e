//! The device's own safety (issue 13, "The device"): `join` changes nothing
//! in a home that holds anything and leaves nothing behind when it fails;
//! everything the CLI creates is owner-only whatever the umask; the view
//! cache is checked before it is trusted; and text from a relay or a file
//! reaches the terminal with its control characters escaped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interlog_core::crypto::VaultKey;
use interlog_core::sync::{JoinCode, Membership};
use interlog_e2e::{eventually, Device, TestRelay};

fn first_device(relay: &TestRelay) -> Device {
    let d = Device::init();
    d.ok(&["sync", "--relay", &relay.url()]);
    d
}

fn join_code(of: &Device) -> String {
    of.json(&["pair"])["code"].as_str().unwrap().to_string()
}

/// Every file under `dir` (recursively) and its bytes, except sled's own
/// files, which sled may rewrite whenever the store is opened (as every
/// read does).
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let Ok(list) = std::fs::read_dir(dir) else {
        return all;
    };
    for e in list {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let sled_own = p.parent().is_some_and(|d| d.ends_with("store"))
            && (["db", "conf", "blobs", "interlog.lock"].contains(&name.as_str())
                || name.starts_with("snap."));
        if sled_own {
            continue;
        }
        if p.is_dir() {
            all.extend(contents(&p));
        } else {
            all.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    all
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .map(|l| {
            l.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

/// No advice that would drop what only this home holds.
fn assert_no_lossy_advice(msg: &str) {
    for bad in [
        "delete",
        "`rm ",
        " rm ",
        "remove",
        "aside",
        "init again",
        "`interlog init`",
    ] {
        assert!(!msg.to_lowercase().contains(bad), "advises {bad:?}: {msg}");
    }
}

/// The snapshot file the store points at (the only `document.<gen>`).
fn snapshot_file(home: &Path) -> PathBuf {
    let store = home.join("store");
    let files: Vec<PathBuf> = names(&store)
        .into_iter()
        .filter(|n| n.starts_with("document.") && n != "document.clean" && !n.ends_with(".tmp"))
        .map(|n| store.join(n))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Regression: `join` into a home whose store did not open saved the code's
/// key over `vault.key`, wrote its own sync state into the store, failed
/// with "a vault already exists ...; nothing was changed" and deleted
/// `vault.key` on the way out.
#[test]
fn join_into_a_home_whose_store_does_not_open_changes_nothing() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    a.log(&["Acme", "--note", "only on this device"]);
    let code = join_code(&a);
    a.log(&["Globex", "--note", "written since the last sync"]);
    let export = a.export();
    let status = a.json(&["sync", "status"]);

    // The snapshot file damaged: the store no longer opens.
    let snap = snapshot_file(a.home());
    let good = std::fs::read(&snap).unwrap();
    std::fs::write(&snap, b"not an automerge document").unwrap();
    let err = a.fails(&["list", "interviews"]);
    assert!(err.contains("corrupt"), "{err}");
    assert_no_lossy_advice(&err);
    let before = contents(a.home());
    assert!(before.contains_key(&a.home().join("vault.key")));

    let err = a.fails(&["join", &code]);
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(err.contains("--home"), "says where to join instead: {err}");
    assert_no_lossy_advice(&err);
    assert_eq!(
        contents(a.home()),
        before,
        "join changed the files of a home it refused"
    );

    // With the damaged file put back, the device is as it was.
    std::fs::write(&snap, &good).unwrap();
    assert_eq!(a.export(), export);
    assert_eq!(a.json(&["sync", "status"]), status);
    let report = a.json(&["sync"]);
    assert_eq!(report["pushed"], 1, "the unsynced interview still goes out");
}

/// Regression: a home holding only a key file (say, restored from a backup)
/// had it replaced by the code's, and deleted if the join failed.
#[test]
fn join_into_a_home_holding_only_a_key_file_changes_nothing() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let other = first_device(&relay);
    let d = Device::new();
    let key = std::fs::read(a.home().join("vault.key")).unwrap();
    std::fs::write(d.home().join("vault.key"), &key).unwrap();

    let err = d.fails(&["join", &join_code(&other)]);
    assert!(
        err.contains("vault.key"),
        "names what the home holds: {err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_no_lossy_advice(&err);
    assert_eq!(std::fs::read(d.home().join("vault.key")).unwrap(), key);
    assert_eq!(names(d.home()), ["vault.key"]);

    // Any other file counts too.
    let e = Device::new();
    std::fs::write(e.home().join("notes.txt"), b"mine").unwrap();
    let err = e.fails(&["join", &join_code(&other)]);
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(names(e.home()), ["notes.txt"]);
}

/// A join that fails midway (relay unreachable, wrong key) removes what it
/// wrote, so the home is empty again and the next join works. The code
/// before left the store behind.
#[test]
fn a_failed_join_leaves_an_empty_home_and_can_be_retried() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    a.log(&["Acme"]);
    a.ok(&["sync"]);
    let code = join_code(&a);
    let m = Membership::load(&a.home().join("vault.key"))
        .unwrap()
        .unwrap();
    let unreachable = Membership {
        relay: "ws://127.0.0.1:9".into(),
        ..m.clone()
    };
    let wrong_key = Membership {
        key: VaultKey::generate().unwrap(),
        ..m.clone()
    };
    let d = Device::new();
    for bad in [unreachable, wrong_key] {
        let err = d.fails(&["join", &JoinCode::new(&bad).encode()]);
        assert_no_lossy_advice(&err);
        assert_eq!(
            names(d.home()),
            Vec::<String>::new(),
            "a failed join left files behind ({err})"
        );
    }
    d.ok(&["join", &code]);
    assert_eq!(d.export(), a.export());
    // The join's marker is gone once it is done.
    assert!(!names(d.home()).contains(&"join.pending".to_string()));
}

/// What a killed join leaves (its marker, a store with no vault, the key
/// file) is cleared by the next join; the marker with anything else is not.
#[test]
fn a_killed_join_s_leftovers_are_cleared_but_nothing_else() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    a.log(&["Acme"]);
    a.ok(&["sync"]);
    let code = join_code(&a);
    let leftovers = |home: &Path| {
        std::fs::create_dir(home.join("store")).unwrap();
        std::fs::write(home.join("join.pending"), b"").unwrap();
        std::fs::copy(a.home().join("vault.key"), home.join("vault.key")).unwrap();
    };
    let d = Device::new();
    leftovers(d.home());
    d.ok(&["join", &code]);
    assert_eq!(d.export(), a.export());

    let e = Device::new();
    leftovers(e.home());
    std::fs::write(e.home().join("view.cache"), b"someone's").unwrap();
    let err = e.fails(&["join", &code]);
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        std::fs::read(e.home().join("view.cache")).unwrap(),
        b"someone's"
    );
}

/// `interlog ARGS` for `d`, as if from a shell with `umask 000`.
fn under_umask_000(d: &Device, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(interlog_e2e::binary())
        .args(args);
    let template = d.cmd(&[]);
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(std::process::Stdio::null());
    c
}

fn ok_under_umask_000(d: &Device, args: &[&str]) -> String {
    let out = under_umask_000(d, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every path under `dir` whose mode lets anyone but its owner in, with
/// the mode, and how many paths were looked at.
fn loose_modes(dir: &Path) -> (Vec<(PathBuf, String)>, usize) {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    let mut seen = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(meta) = p.symlink_metadata() else {
            continue;
        };
        seen += 1;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            loose.push((p.clone(), format!("{mode:o}")));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
    }
    (loose, seen)
}

/// Regression: under the usual umask `store/db` and sled's other files were
/// 0644, and they hold the notes in plain text. Run here under `umask 000`,
/// every file and directory the CLI makes must still be its owner's alone.
#[test]
fn every_file_the_cli_creates_is_owner_only_under_umask_000() {
    let relay = TestRelay::start();
    let d = Device::new();
    ok_under_umask_000(&d, &["init"]);
    ok_under_umask_000(&d, &["log", "Acme", "--note", "plain text"]);
    ok_under_umask_000(&d, &["list", "interviews"]); // the view cache
    ok_under_umask_000(&d, &["sync", "--relay", &relay.url()]);
    ok_under_umask_000(&d, &["log", "Globex"]); // the changed marker
    ok_under_umask_000(&d, &["sync"]);
    let out = d.home().join("exported.json");
    ok_under_umask_000(
        &d,
        &["export", "--format", "json", "--out", out.to_str().unwrap()],
    );
    // A watcher's socket.
    let mut watch = under_umask_000(&d, &["sync", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("the watcher listens", || {
        d.home().join("watch.sock").exists()
    });
    ok_under_umask_000(&d, &["log", "Initech"]);
    // And a device made by join, into a home it creates.
    let code = join_code(&d);
    let parent = tempfile::tempdir().unwrap();
    let j = Device::new().with_env("INTERLOG_HOME", parent.path().join("new-home"));
    ok_under_umask_000(&j, &["join", &code]);
    ok_under_umask_000(&j, &["list", "interviews"]);

    let (loose, seen) = loose_modes(d.home());
    let _ = watch.kill();
    let _ = watch.wait();
    for want in [
        "store/db",
        "store/conf",
        "view.cache",
        "last-sync.json",
        "changed",
    ] {
        assert!(d.home().join(want).exists(), "{want} was not made");
    }
    assert!(seen >= 12, "looked at {seen} paths only");
    assert!(loose.is_empty(), "readable by others: {loose:?}");
    let (loose, seen) = loose_modes(&parent.path().join("new-home"));
    assert!(seen >= 6, "looked at {seen} paths only");
    assert!(loose.is_empty(), "readable by others after join: {loose:?}");
}

/// Regression: a home that an older version (or a loose umask) left
/// readable by others stayed so. Opening the store now fixes it.
#[test]
fn a_home_left_readable_by_an_older_version_is_made_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let relay = TestRelay::start();
    let d = first_device(&relay);
    d.log(&["Acme", "--note", "plain text"]);
    d.ok(&["list", "interviews"]);
    d.ok(&["sync"]);
    let mut todo = vec![d.home().to_path_buf()];
    while let Some(p) = todo.pop() {
        let dir = p.is_dir();
        let mode = if dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        if dir {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(!loose_modes(d.home()).0.is_empty());
    d.ok(&["list", "interviews"]);
    let (loose, seen) = loose_modes(d.home());
    assert!(seen >= 10, "looked at {seen} paths only");
    assert!(loose.is_empty(), "still readable by others: {loose:?}");
}

/// Regression: the view cache was believed whenever its key matched the
/// store, so a cache edited in place was served as the journal.
#[test]
fn a_tampered_or_swapped_view_cache_is_not_served() {
    let a = Device::init();
    a.log(&["Acme", "--role", "Staff Engineer"]);
    let list = a.ok(&["list", "interviews"]);
    assert!(list.contains("Acme"), "{list}");
    let export = a.export();
    let cache = a.home().join("view.cache");
    let mut bytes = std::fs::read(&cache).unwrap();
    // Same length, so every frame still decodes.
    let mut edits = 0;
    for i in 0..bytes.len().saturating_sub(4) {
        if &bytes[i..i + 4] == b"Acme" {
            bytes[i..i + 4].copy_from_slice(b"Evil");
            edits += 1;
        }
    }
    assert!(edits > 0, "the cache holds the rendering");
    std::fs::write(&cache, &bytes).unwrap();
    let list = a.ok(&["list", "interviews"]);
    assert!(
        list.contains("Acme") && !list.contains("Evil"),
        "served an edited cache: {list}"
    );
    assert_eq!(a.export(), export);
    let companies = a.ok(&["list", "companies"]);
    assert!(!companies.contains("Evil"), "{companies}");

    // Another home's cache copied over this one.
    let b = Device::init();
    b.log(&["Globex"]);
    b.ok(&["list", "interviews"]);
    std::fs::copy(b.home().join("view.cache"), &cache).unwrap();
    let list = a.ok(&["list", "interviews"]);
    assert!(
        list.contains("Acme") && !list.contains("Globex"),
        "served another home's cache: {list}"
    );
    assert_eq!(a.export(), export);
}

const HOSTILE: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[31mALERT: your relay was hacked\u{1b}[0m\r\u{9b}2J\u{202e}txt.exe";

/// Raw bytes a terminal acts on: C0 controls but `\n` and `\t`, DEL, and
/// the UTF-8 forms of C1 controls and bidi overrides.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(bad.is_empty(), "{what} printed {bad:?} raw: {text:?}");
}

/// Regression: `sync status` printed the stored error of the last sync as
/// the relay sent it, escape sequences and all.
#[test]
fn a_stored_sync_error_is_printed_escaped() {
    let d = Device::init();
    let last = serde_json::json!({"at": null, "error": HOSTILE});
    std::fs::write(d.home().join("last-sync.json"), last.to_string()).unwrap();
    let out = d.run(&["sync", "status"]);
    assert!(out.status.success());
    assert_terminal_safe("sync status", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ALERT: your relay was hacked"), "{text}");

    let json = d.json(&["sync", "status"]);
    let err = json["last_error"].as_str().unwrap();
    assert_terminal_safe("sync status --json's last_error", err.as_bytes());
    assert!(err.contains("ALERT"), "{err}");
}

/// A lying relay: answers every hello with a welcome listing `devices`, and
/// anything after it with an error frame saying [`HOSTILE`]. Its URL.
fn lying_relay(devices: Vec<String>) -> String {
    use futures_util::{SinkExt, StreamExt};
    use interlog_core::wire::{self, DeviceInfo, Frame};
    use tokio_tungstenite::tungstenite::Message;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let devices = devices.clone();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let frame = |f: &Frame| Message::Binary(wire::encode(f).unwrap().into());
                    let welcome = Frame::Welcome {
                        version: wire::PROTOCOL_VERSION,
                        capabilities: vec!["snapshot".into(), "live".into()],
                        devices: devices
                            .iter()
                            .map(|d| DeviceInfo {
                                device: d.clone(),
                                last_seq: 7,
                                last_seen: 1_700_000_000,
                            })
                            .collect(),
                        vault: None,
                    };
                    let mut greeted = false;
                    while let Some(Ok(msg)) = ws.next().await {
                        if !matches!(msg, Message::Binary(_)) {
                            continue;
                        }
                        let reply = if greeted {
                            Frame::Error {
                                code: "bad_frame".into(),
                                message: HOSTILE.into(),
                            }
                        } else {
                            greeted = true;
                            welcome.clone()
                        };
                        if ws.send(frame(&reply)).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    });
    url
}

fn assert_clean(what: &str, out: &Output) {
    assert_terminal_safe(&format!("{what} (stdout)"), &out.stdout);
    assert_terminal_safe(&format!("{what} (stderr)"), &out.stderr);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{what} exited with {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression: a lying relay's error message reached the terminal raw (it
/// set the title and painted a fake alert), and so did device ids from its
/// device list; a multi-byte id made `devices` panic on a byte slice.
#[test]
fn a_lying_relay_s_error_and_device_ids_reach_the_terminal_escaped() {
    let url = lying_relay(vec![
        format!("\u{1b}]0;pwned\u{7}{}", "d".repeat(20)),
        format!("a{}", "é".repeat(12)),
        "\u{202e}evil-device".into(),
    ]);
    let d = Device::init();
    let out = d.run(&["sync", "--relay", &url]);
    assert!(!out.status.success(), "the relay refused");
    assert_clean("sync", &out);
    // The welcome's ids are not ids: the frame is refused before the
    // error behind it is read (or, were they let through, the error is
    // shown escaped).
    let err = String::from_utf8_lossy(&out.stderr);
    let told = |s: &str| s.contains("ALERT") || s.contains("invalid device list");
    assert!(told(&err), "{err}");

    let status = d.run(&["sync", "status"]);
    assert_clean("sync status", &status);
    assert!(told(&String::from_utf8_lossy(&status.stdout)));
    let json = d.json(&["sync", "status"]);
    assert_terminal_safe(
        "sync status --json",
        json["last_error"].as_str().unwrap().as_bytes(),
    );

    for args in [&["devices"][..], &["--json", "devices"][..]] {
        let out = d.run(args);
        assert_clean(&format!("{args:?}"), &out);
        if out.status.success() && args[0] == "--json" {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for dev in v.as_array().unwrap() {
                assert_terminal_safe("a device id", dev["device"].as_str().unwrap().as_bytes());
            }
        }
    }
}

/// Journal text (which an import or another device may have supplied) is
/// printed escaped too: in tables, and in the one-line confirmations.
#[test]
fn journal_text_is_printed_escaped() {
    let d = Device::init();
    let name = "\u{1b}]0;pwned\u{7}Evil\u{1b}[2J Corp";
    let id = d.ok(&["company", "add", name]).trim().to_string();
    let list = d.run(&["list", "companies"]);
    assert_clean("list companies", &list);
    assert!(String::from_utf8_lossy(&list.stdout).contains("Evil"));
    let show = d.run(&["show", &id]);
    assert_clean("show", &show);
    let deleted = d.run(&["delete", &id]);
    assert_clean("delete", &deleted);
    assert!(String::from_utf8_lossy(&deleted.stdout).contains("Evil"));
    // JSON keeps the text as it is, escaped by the encoder.
    let json = d.json(&["list", "companies", "--deleted"]);
    assert!(json.to_string().contains("\\u001b]0;pwned"), "{json}");
}
