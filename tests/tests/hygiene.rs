//! Security hygiene, checked on the real binaries: with the most verbose
//! logging, neither the relay nor the CLI ever prints a vault key, an access
//! token or a join code, and the relay neither prints nor stores payload
//! plaintext; key files, the store's snapshot files and the relay's invite
//! codes are owner-only.
//!
//! (Token comparison in constant time is a unit test beside the code, in
//! `server/src/peer.rs`.)

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use interlog_core::crypto::VaultKey;
use interlog_e2e::{Device, TestRelay};

/// Distinctive plaintext that goes into records: a company, a contact, a note.
const COMPANY: &str = "Quibblestone Hygiene Labs";
const CONTACT: &str = "Ottoline Vexworth";
const NOTE: &str = "asked for 271828 base, do not tell anyone";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            out.push_str(&"=="[..2 - (chunk.len() - 1)]);
        }
    }
    out
}

/// Every way a secret could plausibly be printed or stored: raw, hex in
/// either case, base64 standard and URL-safe, padded or not.
fn forms(name: &str, secret: &[u8]) -> Vec<(String, Vec<u8>)> {
    let h = hex(secret);
    vec![
        (format!("{name} (raw)"), secret.to_vec()),
        (format!("{name} (hex)"), h.clone().into_bytes()),
        (format!("{name} (HEX)"), h.to_uppercase().into_bytes()),
        (format!("{name} (base64)"), base64(secret, STD, true).into()),
        (
            format!("{name} (base64, no padding)"),
            base64(secret, STD, false).into(),
        ),
        (
            format!("{name} (base64url)"),
            base64(secret, URL, false).into(),
        ),
    ]
}

/// The vault key (raw bytes) in a device's key file.
fn vault_key(d: &Device) -> Vec<u8> {
    let text = std::fs::read_to_string(d.home().join("vault.key")).expect("key file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("key file is JSON");
    unhex(json["key"].as_str().expect("key field"))
}

/// The access token the device derives from its key and shows the relay.
fn token(key: &[u8]) -> Vec<u8> {
    VaultKey::from_hex(&hex(key))
        .unwrap()
        .derive()
        .token
        .to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Everything the CLI printed, per command.
#[derive(Default)]
struct Transcript(Vec<(String, Vec<u8>)>);

impl Transcript {
    /// Runs `args` with every logging knob at its loudest, keeps stdout and
    /// stderr, and returns the output.
    fn run(&mut self, d: &Device, args: &[&str]) -> Output {
        let out = d
            .cmd(args)
            .env("INTERLOG_LOG", "trace")
            .env("RUST_LOG", "trace")
            .output()
            .expect("run interlog");
        self.keep(args, &out);
        out
    }

    fn ok(&mut self, d: &Device, args: &[&str]) -> String {
        let out = self.run(d, args);
        assert!(
            out.status.success(),
            "interlog {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn keep(&mut self, args: &[&str], out: &Output) {
        let mut all = out.stdout.clone();
        all.extend_from_slice(&out.stderr);
        self.0.push((args.join(" "), all));
    }
}

#[test]
fn no_key_token_join_code_or_payload_in_any_log_or_relay_file() {
    let relay = TestRelay::start_logging("trace");
    let mut cli = Transcript::default();
    let (a, b, other) = (Device::new(), Device::new(), Device::new());

    cli.ok(&a, &["init"]);
    cli.ok(&a, &["sync", "--relay", &relay.url()]);
    cli.ok(
        &a,
        &[
            "log", COMPANY, "--with", CONTACT, "--note", NOTE, "--rating", "4",
        ],
    );
    cli.ok(&a, &["sync"]);
    // The join code is `pair`'s whole point, so its output is kept apart.
    let paired = a.json(&["pair"]);
    let code = paired["code"].as_str().unwrap().to_string();
    let printed = a.ok(&["pair"]);
    assert!(printed.contains(&code), "pair prints the code for the user");

    cli.ok(&b, &["join", &code]);
    cli.ok(&b, &["log", &format!("{COMPANY} II"), "--note", NOTE]);
    cli.ok(&b, &["sync"]);
    cli.ok(&b, &["devices"]);
    cli.ok(&b, &["sync", "status"]);
    cli.ok(&b, &["--json", "sync", "status"]);
    // Live sync: b watches while a writes.
    let watch = b
        .cmd(&["sync", "--watch"])
        .env("INTERLOG_LOG", "trace")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    cli.ok(&a, &["log", &format!("{COMPANY} III"), "--note", NOTE]);
    cli.ok(&a, &["sync"]);
    std::thread::sleep(Duration::from_millis(800));
    let mut watch = watch;
    watch.kill().unwrap();
    let watched = watch.wait_with_output().unwrap();
    cli.keep(&["sync", "--watch"], &watched);

    // Refusals are where a careless relay would print what it was shown: a
    // device of another vault presents its token with b's vault id.
    cli.ok(&other, &["init"]);
    cli.ok(&other, &["sync", "--relay", &relay.url()]);
    let b_key_file = b.home().join("vault.key");
    let original = std::fs::read_to_string(&b_key_file).unwrap();
    let mut swapped: serde_json::Value = serde_json::from_str(&original).unwrap();
    swapped["key"] = hex(&vault_key(&other)).into();
    std::fs::write(&b_key_file, swapped.to_string()).unwrap();
    let refused = cli.run(&b, &["sync"]);
    assert!(!refused.status.success(), "a wrong key is refused");
    std::fs::write(&b_key_file, &original).unwrap();
    // A mistyped join code.
    let mut typo = code.clone();
    typo.pop();
    let _ = cli.run(&Device::new(), &["join", &typo]);

    let relay_log = relay.log();
    assert!(
        relay_log.contains("device connected") && relay_log.contains("closing connection"),
        "the relay log was captured:\n{relay_log}"
    );
    let mut secrets = Vec::new();
    for (name, d) in [("vault key", &a), ("other vault's key", &other)] {
        let key = vault_key(d);
        secrets.extend(forms(name, &key));
        secrets.extend(forms(&format!("token of the {name}"), &token(&key)));
        // The recovery words are the key too; a run of three is enough.
        let words = VaultKey::from_hex(&hex(&key)).unwrap().to_words();
        let three: Vec<&str> = words.split(' ').take(3).collect();
        secrets.push((
            format!("recovery words of the {name}"),
            three.join(" ").into_bytes(),
        ));
    }
    // The search finds what is there: the key file holds the key in hex.
    let key_file = std::fs::read(a.home().join("vault.key")).unwrap();
    assert!(contains(&key_file, hex(&vault_key(&a)).as_bytes()));
    assert_eq!(base64(b"foob", STD, true), "Zm9vYg==");
    let code_hex = code.strip_prefix("interlog1:").unwrap();
    secrets.push(("join code".into(), code_hex.as_bytes().to_vec()));
    // Half the code is enough to be worried about.
    secrets.push((
        "join code (half)".into(),
        code_hex.as_bytes()[..code_hex.len() / 2].to_vec(),
    ));

    let relay_files: Vec<(String, Vec<u8>)> = relay
        .files()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    let mut places: Vec<(String, &[u8])> = vec![("relay log".into(), relay_log.as_bytes())];
    places.extend(
        cli.0
            .iter()
            .map(|(cmd, out)| (format!("output of `interlog {cmd}`"), out.as_slice())),
    );
    places.extend(
        relay_files
            .iter()
            .map(|(p, bytes)| (format!("relay file {p}"), bytes.as_slice())),
    );
    for (place, bytes) in &places {
        for (what, needle) in &secrets {
            assert!(
                !contains(bytes, needle),
                "the {what} appears in the {place}"
            );
        }
    }
    let relay_places = std::iter::once(("relay log".to_string(), relay_log.as_bytes())).chain(
        relay_files
            .iter()
            .map(|(p, bytes)| (format!("relay file {p}"), bytes.as_slice())),
    );
    let mut relay_bytes = 0;
    for (place, bytes) in relay_places {
        for plain in [COMPANY, CONTACT, NOTE] {
            assert!(
                !contains(bytes, plain.as_bytes()),
                "plaintext {plain:?} appears in the {place}"
            );
        }
        relay_bytes += bytes.len();
    }
    eprintln!(
        "hygiene: {} secret forms checked against {} CLI outputs, {} bytes of relay log at trace and {} relay files ({relay_bytes} bytes in all)",
        secrets.len(),
        cli.0.len(),
        relay_log.len(),
        relay_files.len()
    );
}

#[test]
fn key_files_stay_owner_only_through_sync_join_and_a_relay_change() {
    let relay = TestRelay::start();
    let a = Device::init();
    assert_eq!(mode(a.home()), 0o700, "init makes the home owner-only");
    a.ok(&["sync", "--relay", &relay.url()]);
    assert_eq!(mode(&a.home().join("vault.key")), 0o600);
    // The same relay under another name: the key file is rewritten.
    let renamed = relay.url().replace("127.0.0.1", "localhost");
    a.ok(&["sync", "--relay", &renamed]);
    assert!(std::fs::read_to_string(a.home().join("vault.key"))
        .unwrap()
        .contains("localhost"));
    assert_eq!(mode(&a.home().join("vault.key")), 0o600);

    let code = a.json(&["pair"])["code"].as_str().unwrap().to_string();
    let b = Device::new();
    b.ok(&["join", &code]);
    assert_eq!(mode(b.home()), 0o700, "join makes the home owner-only");
    assert_eq!(mode(&b.home().join("vault.key")), 0o600);
}

/// The store's snapshot files (`store/document.*`): the whole journal in
/// plain text.
fn snapshot_files(home: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.join("store"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("document.")
        })
        .collect()
}

#[test]
fn the_journal_snapshot_is_owner_only_after_init_and_join() {
    let relay = TestRelay::start();
    let a = Device::init();
    a.log(&[COMPANY, "--with", CONTACT]);
    let files = snapshot_files(a.home());
    assert_eq!(files.len(), 1, "init writes one snapshot file: {files:?}");
    assert_eq!(mode(&files[0]), 0o600);
    a.ok(&["sync", "--relay", &relay.url()]);
    let code = a.json(&["pair"])["code"].as_str().unwrap().to_string();
    let b = Device::new();
    b.ok(&["join", &code]);
    let files = snapshot_files(b.home());
    assert_eq!(files.len(), 1, "join writes one snapshot file: {files:?}");
    assert_eq!(mode(&files[0]), 0o600);
}

#[test]
fn invite_codes_are_readable_by_the_relay_operator_only() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(interlog_e2e::binary())
        .args(["relay", "invite", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // The code is the file's name, so listing the directory reveals it.
    let dir = data.path().join("invites");
    assert!(dir.join(&code).exists());
    assert_eq!(
        mode(&dir),
        0o700,
        "other users on the relay's machine can list the invite codes"
    );
}
