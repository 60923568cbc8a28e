//! Devices converging through a real relay process: offline edits and
//! conflicts, joining through a snapshot, live sync, relay crashes, and a
//! relay that holds no plaintext.

use std::time::{Duration, Instant};

use interlog_e2e::{eventually, first_device, joined, Device, TestRelay};

#[test]
fn two_devices_edit_offline_then_converge_with_visible_conflicts() {
    let relay = TestRelay::start();
    let laptop = first_device(&relay);
    let id = laptop.log(&["Acme", "--kind", "technical", "--rating", "3"]);
    laptop.ok(&["sync"]);
    let phone = joined(&laptop);
    assert_eq!(phone.export(), laptop.export());

    // Offline on both: the same interview (rating here, notes there), the
    // same field on both, and new records on both.
    interlog_e2e::edit_offline_on_both(&laptop, &phone, &id);
    let from_laptop = laptop.log(&["Globex"]);
    let from_phone = phone.log(&["Initech", "--kind", "informational"]);

    laptop.ok(&["sync"]);
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);
    assert_eq!(
        laptop.export(),
        phone.export(),
        "identical exports after sync"
    );

    let r = phone.json(&["show", &id]);
    assert_eq!(r["rating"], 4);
    assert_eq!(r["notes"], "they want a tech lead");
    phone.ok(&["show", &from_laptop]);
    laptop.ok(&["show", &from_phone]);

    let conflicts = laptop.json(&["conflicts"]);
    assert_eq!(conflicts, phone.json(&["conflicts"]));
    assert_eq!(conflicts.as_array().unwrap().len(), 1);
    assert_eq!(conflicts[0]["field"], "improve");

    // A no-op sync moves nothing.
    let report = laptop.json(&["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["pulled"].as_u64()),
        (Some(0), Some(0))
    );
    let status = laptop.json(&["sync", "status"]);
    assert_eq!(status["pending_changes"], 0);
    assert!(status["last_error"].is_null());
}

#[test]
fn an_up_to_date_device_still_sends_its_next_change_and_gets_others_changes() {
    // Syncs with nothing to push answer from the clean stamp the previous
    // sync left, without opening the store: every change must still move.
    let relay = TestRelay::start();
    let laptop = first_device(&relay);
    let phone = joined(&laptop);
    laptop.ok(&["sync"]);
    // The phone sends its name; the laptop takes it.
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let idle = laptop.json(&["sync"]);
    assert_eq!(
        (idle["pushed"].as_u64(), idle["pulled"].as_u64()),
        (Some(0), Some(0))
    );

    // A change after an up-to-date sync goes out with the next one.
    let id = laptop.log(&["Acme", "--kind", "technical"]);
    let sent = laptop.json(&["sync"]);
    assert_eq!(sent["pushed"], 1, "the new interview was not sent: {sent}");
    laptop.ok(&["edit", &id, "--set", "rating=5"]);
    assert_eq!(laptop.json(&["sync"])["pushed"], 1);

    // The other device, up to date a moment ago, receives both.
    let got = phone.json(&["sync"]);
    assert_eq!(
        got["pulled"], 2,
        "the phone missed the laptop's changes: {got}"
    );
    assert_eq!(phone.export(), laptop.export());
    assert_eq!(phone.json(&["show", &id])["rating"], 5);

    // A no-op sync is still a sync: the status says when, and a failed
    // one says why, until the next one succeeds.
    assert!(phone.json(&["sync", "status"])["last_sync"].is_i64());
    drop(relay);
    phone.fails(&["sync"]);
    let failed = phone.json(&["sync", "status"]);
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("could not reach the relay")),
        "{failed}"
    );
    assert!(
        failed["last_sync"].is_i64(),
        "the last good sync is still known: {failed}"
    );
}

#[test]
fn a_third_device_joins_and_gets_everything_through_a_snapshot() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let b = joined(&a);
    for i in 0..15 {
        a.log(&[&format!("A-company-{i}")]);
        a.ok(&["sync"]);
        b.log(&[&format!("B-company-{i}")]);
        b.ok(&["sync"]);
    }
    a.ok(&["sync"]);
    // `pair` uploads a fresh snapshot; the new device starts from it.
    let code = a.json(&["pair"])["code"].as_str().unwrap().to_string();
    let c = Device::new();
    let joined = c.json(&["join", &code]);
    assert_eq!(
        joined["received"], 0,
        "everything came in the snapshot, no record replayed"
    );
    assert_eq!(
        c.json(&["list", "interviews"]).as_array().unwrap().len(),
        30
    );
    b.ok(&["sync"]);
    assert_eq!(c.export(), a.export());
    assert_eq!(c.export(), b.export());

    // The new device is a full member: its edits reach the others.
    let id = c.log(&["From C"]);
    c.ok(&["sync"]);
    a.ok(&["sync"]);
    a.ok(&["show", &id]);
    let devices = a.json(&["devices"]);
    assert_eq!(devices.as_array().unwrap().len(), 3);
}

#[test]
fn with_both_devices_watching_an_interview_shows_on_the_other_within_a_second() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let b = joined(&a);
    let _wa = a.watch();
    let _wb = b.watch();
    // Let both watchers connect: a first interview must make the trip.
    let warmup = a.log(&["Warmup"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b.has_interview(&warmup) {
        assert!(
            Instant::now() < deadline,
            "the watchers never delivered the first interview"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The watch never blocks ordinary commands on the same device.
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let id = a.log(&[&format!("Live {i}")]);
        let logged = Instant::now();
        while !b.has_interview(&id) {
            assert!(
                logged.elapsed() < Duration::from_secs(5),
                "interview {i} never arrived"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        worst = worst.max(logged.elapsed());
    }
    eprintln!("worst live delivery: {worst:?}");
    assert!(
        worst < Duration::from_secs(1),
        "live delivery took {worst:?}"
    );
    // And the other way round.
    let id = b.log(&["From B"]);
    let logged = Instant::now();
    while !a.has_interview(&id) {
        assert!(
            logged.elapsed() < Duration::from_secs(5),
            "B's interview never reached A"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_watcher_lends_its_store_to_commands_and_there_is_one_per_device() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let b = joined(&a);
    let socket = a.home().join("watch.sock");
    let wa = a.watch();
    eventually("the watcher never opened its socket", || socket.exists());

    // A second watcher for the same home is refused, and says why.
    let err = a.fails(&["sync", "--watch"]);
    assert!(err.contains("already running"), "{err}");

    // Commands borrow the store the watcher holds; what they write, the
    // watcher sends (the outbox empties) and the other device gets.
    for i in 0..3 {
        let id = a.log(&[&format!("Borrowed {i}")]);
        assert!(a.ok(&["--json", "list", "interviews"]).contains(&id));
        eventually("the watcher never sent the change", || {
            a.json(&["sync", "status"])["pending_changes"] == 0
        });
        b.ok(&["sync"]);
        assert!(b.has_interview(&id), "interview {i} did not reach B");
    }

    // A watcher killed while it holds the store leaves its socket behind:
    // commands still work, and a new watcher takes over.
    drop(wa);
    assert!(socket.exists());
    let id = a.log(&["After the kill"]);
    let _wa = a.watch();
    let id2 = a.log(&["With the new watcher"]);
    eventually("the new watcher never sent the changes", || {
        a.json(&["sync", "status"])["pending_changes"] == 0
    });
    b.ok(&["sync"]);
    assert!(b.has_interview(&id) && b.has_interview(&id2));
}

#[test]
fn killing_the_relay_mid_sync_loses_nothing_acknowledged() {
    let mut relay = TestRelay::start();
    let a = first_device(&relay);
    let b = joined(&a);
    let mut ids = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for round in 0..6 {
        for d in [&a, &b] {
            for i in 0..3 {
                ids.push(d.log(&[&format!("R{round} {i}")]));
            }
        }
        // Syncs in flight on both devices, and the relay dies under them.
        let quiet = |d: &Device| {
            d.cmd(&["sync"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let sa = quiet(&a);
        let sb = quiet(&b);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 60));
        relay.kill9();
        for mut s in [sa, sb] {
            let _ = s.wait();
        }
        relay.restart();
    }
    for _ in 0..2 {
        a.ok(&["sync"]);
        b.ok(&["sync"]);
    }
    for (n, id) in ids.iter().enumerate() {
        assert!(
            b.has_interview(id) && a.has_interview(id),
            "interview {n} {id} was lost: on a {} on b {}; a: {} b: {}",
            a.has_interview(id),
            b.has_interview(id),
            a.ok(&["--json", "sync", "status"]),
            b.ok(&["--json", "sync", "status"])
        );
    }
    assert_eq!(a.export(), b.export());
}

#[test]
fn the_relay_holds_no_plaintext_and_the_key_file_is_private() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let marker = "ZEBRA-MARKER-7f3a";
    a.log(&[
        &format!("{marker} Corp"),
        "--note",
        &format!("salary talk {marker}"),
    ]);
    a.ok(&["company", "add", &format!("{marker} Holdings")]);
    a.ok(&["sync"]);
    a.ok(&["pair"]); // a snapshot too
    let mut checked = 0;
    for f in relay.files() {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{} holds the plaintext marker",
            f.display()
        );
        checked += bytes.len();
    }
    assert!(
        checked > 1000,
        "the relay stored the records somewhere ({checked} bytes)"
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(a.home().join("vault.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_wrong_key_is_detected_before_anything_is_pushed() {
    let relay = TestRelay::start();
    let a = first_device(&relay);
    let b = joined(&a);
    // B's key file gets the key of another vault (say, a pasted wrong code).
    let other = Device::init();
    other.ok(&["sync", "--relay", &relay.url()]);
    let key_of = |d: &Device| std::fs::read_to_string(d.home().join("vault.key")).unwrap();
    let wrong_key =
        serde_json::from_str::<serde_json::Value>(&key_of(&other)).unwrap()["key"].clone();
    let mut b_key: serde_json::Value = serde_json::from_str(&key_of(&b)).unwrap();
    b_key["key"] = wrong_key;
    std::fs::write(b.home().join("vault.key"), b_key.to_string()).unwrap();

    let secret = b.log(&["Secret Co"]);
    let err = b.fails(&["sync"]);
    assert!(
        err.contains("vault key on this device does not match"),
        "{err}"
    );
    a.ok(&["sync"]);
    assert!(
        !a.has_interview(&secret),
        "nothing from the wrong key reached the vault"
    );

    // Joining a vault's code on a device that holds another vault is refused.
    let code = a.json(&["pair"])["code"].as_str().unwrap().to_string();
    let err = other.fails(&["join", &code]);
    assert!(err.contains("already holds vault"), "{err}");
}

#[test]
fn a_sync_with_nothing_to_push_still_receives_and_then_pushes_again() {
    let relay = TestRelay::start();
    let laptop = first_device(&relay);
    let phone = joined(&laptop);
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);

    // Up to date on both sides: nothing moves.
    let report = laptop.json(&["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["pulled"].as_u64()),
        (Some(0), Some(0))
    );

    // The phone writes; the laptop, with nothing of its own to push,
    // receives it (and after that holds nothing unpushed either).
    let id = phone.log(&["Acme", "--kind", "technical"]);
    phone.ok(&["sync"]);
    let report = laptop.json(&["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["pulled"].as_u64()),
        (Some(0), Some(1))
    );
    laptop.ok(&["show", &id]);
    assert_eq!(laptop.json(&["sync", "status"])["pending_changes"], 0);

    // A local write after that is pushed, and reaches the phone.
    let mine = laptop.log(&["Globex"]);
    let report = laptop.json(&["sync"]);
    assert_eq!(report["pushed"].as_u64(), Some(1));
    phone.ok(&["sync"]);
    phone.ok(&["show", &mine]);
    assert_eq!(laptop.export(), phone.export());
}
