//! The relay is disposable and the journal recoverable: a wiped relay
//! re-seeded by the first device that meets it, a move to another relay in
//! one command, the journal restored from the recovery words alone, and a
//! home restored from an older copy of itself. Real relay processes, real
//! sled homes.

use std::io::Write;
use std::process::Stdio;

use interlog_e2e::{eventually, first_device, joined, Device, TestRelay};

/// The names of the companies in a device's journal, sorted.
fn companies(d: &Device) -> Vec<String> {
    let export: serde_json::Value = serde_json::from_str(&d.export()).unwrap();
    let mut names: Vec<String> = export["companies"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs `interlog` on `d` with `input` on standard input.
fn with_stdin(d: &Device, args: &[&str], input: &str) -> std::process::Output {
    let mut child = d
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_wiped_relay_is_reseeded_and_every_device_carries_on_by_itself() {
    let mut relay = TestRelay::start();
    let laptop = first_device(&relay);
    laptop.log(&["Acme", "--kind", "technical", "--rating", "4"]);
    laptop.ok(&["sync"]);
    let desk = joined(&laptop);
    let travel = joined(&laptop);
    desk.log(&["Globex"]);
    desk.ok(&["sync"]);
    laptop.ok(&["sync"]);
    // Offline through the wipe, with an edit nobody else has.
    travel.log(&["Initech", "--kind", "informational"]);

    relay.wipe();

    // The first device to meet the empty relay says so and registers the
    // vault again with everything it has.
    let out = laptop.run(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("did not know this vault") && said.contains("registered it again"),
        "{said}"
    );
    // The others sync as always: nothing to do by hand. The desk's records
    // are gone from the relay, but the laptop's whole journal holds their
    // changes: it refills their seqs with placeholders and sends nothing
    // twice.
    let desk_sync = desk.json(&["sync"]);
    let (first, last) = (
        desk_sync["resent"][0].as_u64().unwrap(),
        desk_sync["resent"][1].as_u64().unwrap(),
    );
    assert_eq!(
        desk_sync["pushed"].as_u64(),
        Some(last - first + 1),
        "only placeholders: {desk_sync}"
    );
    travel.ok(&["sync"]);
    laptop.ok(&["sync"]);
    desk.ok(&["sync"]);
    let all = ["Acme", "Globex", "Initech"].map(String::from).to_vec();
    assert_eq!(companies(&laptop), all);
    assert_eq!(laptop.export(), desk.export());
    assert_eq!(laptop.export(), travel.export());
    // A device joining now starts from what the re-seed uploaded.
    let late = joined(&desk);
    assert_eq!(late.export(), laptop.export());
}

#[test]
fn a_watching_device_re_seeds_a_wiped_relay_by_itself() {
    let mut relay = TestRelay::start();
    let laptop = first_device(&relay);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync"]);
    let desk = joined(&laptop);
    let _watch = laptop.watch();
    relay.wipe();
    // The watcher reconnects, finds the vault gone and registers it again;
    // the desk, syncing by hand, then carries on as always.
    // `devices` only asks; it registers nothing.
    eventually("the watcher re-seeds the relay", || {
        desk.run(&["devices"]).status.success()
    });
    desk.log(&["Globex"]);
    desk.ok(&["sync"]);
    eventually("the desk's change reaches the watcher", || {
        companies(&laptop) == ["Acme", "Globex"].map(String::from).to_vec()
    });
    desk.ok(&["sync"]);
    assert_eq!(laptop.export(), desk.export());
}

#[test]
fn a_move_to_a_new_relay_takes_one_command_and_every_device_follows() {
    let old = TestRelay::start();
    let laptop = first_device(&old);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync"]);
    let desk = joined(&laptop);
    let travel = joined(&laptop);
    travel.log(&["Globex"]);
    travel.ok(&["sync"]);

    let new = TestRelay::start();
    let said = laptop.ok(&["sync", "move", &new.url()]);
    assert!(said.contains("registered the vault there"), "{said}");
    // The other devices learn the new address from the old relay, and
    // switch at their next sync.
    desk.log(&["Initech"]);
    let out = desk.run(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this vault moved to"),
        "{}",
        stderr(&out)
    );
    travel.ok(&["sync"]);
    drop(old);
    // The old relay is gone: everyone meets on the new one.
    laptop.ok(&["sync"]);
    travel.ok(&["sync"]);
    desk.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let all = ["Acme", "Globex", "Initech"].map(String::from).to_vec();
    assert_eq!(companies(&laptop), all);
    assert_eq!(laptop.export(), desk.export());
    assert_eq!(laptop.export(), travel.export());
    for d in [&laptop, &desk, &travel] {
        assert_eq!(
            d.json(&["sync", "status"])["relay"].as_str(),
            Some(new.url().as_str())
        );
    }
}

#[test]
fn a_device_that_missed_the_move_follows_with_sync_relay() {
    let old = TestRelay::start();
    let laptop = first_device(&old);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync"]);
    let desk = joined(&laptop);
    let new = TestRelay::start();
    laptop.ok(&["sync", "move", &new.url()]);
    drop(old);
    // The old relay went before the desk synced: it is pointed at the new
    // one by hand, once.
    desk.log(&["Globex"]);
    desk.ok(&["sync", "--relay", &new.url()]);
    laptop.ok(&["sync"]);
    assert_eq!(
        companies(&laptop),
        ["Acme", "Globex"].map(String::from).to_vec()
    );
    assert_eq!(laptop.export(), desk.export());
}

#[test]
fn the_journal_is_recovered_from_the_words_and_the_relay_alone() {
    let relay = TestRelay::start();
    let laptop = first_device(&relay);
    laptop.log(&["Acme", "--kind", "technical", "--rating", "4"]);
    laptop.log(&["Globex"]);
    laptop.ok(&["sync"]);
    let key = laptop.json(&["key"]);
    let words: Vec<&str> = key["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(words.len(), 24);
    let printed = laptop.ok(&["key"]);
    assert!(printed.contains(&format!("24. {}", words[23])), "{printed}");

    // A mistyped word is caught, and the home stays empty.
    let mut wrong = words.clone();
    wrong.swap(0, 1);
    let fresh = Device::new();
    let out = with_stdin(
        &fresh,
        &["recover", "--relay", &relay.url()],
        &wrong.join(" "),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not this vault's recovery words"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(fresh.home()).unwrap().count(), 0);
    // Words that are valid but another vault's: the relay knows no such key.
    let other = "abandon ".repeat(23) + "art";
    let out = with_stdin(&fresh, &["recover", "--relay", &relay.url()], &other);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("holds no vault with these words"),
        "{}",
        stderr(&out)
    );

    // The words and the relay's address: everything comes back.
    let out = with_stdin(
        &fresh,
        &["recover", "--relay", &relay.url()],
        &format!("{}\n", words.join("\n")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fresh.export(), laptop.export());
    // And it is a device of the vault like any other.
    fresh.log(&["Initech"]);
    fresh.ok(&["sync"]);
    laptop.ok(&["sync"]);
    assert_eq!(fresh.export(), laptop.export());
}

/// Copies a home as a backup tool would (while no command runs).
fn copy_home(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_home_restored_from_an_older_copy_of_itself_loses_nothing() {
    let relay = TestRelay::start();
    let laptop = first_device(&relay);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync"]);
    let desk = joined(&laptop);
    let backup = tempfile::tempdir().unwrap();
    copy_home(laptop.home(), backup.path());

    // After the backup: written and synced, then the disk dies.
    laptop.log(&["Globex"]);
    laptop.ok(&["sync"]);
    desk.log(&["Hooli"]);
    desk.ok(&["sync"]);
    for e in std::fs::read_dir(laptop.home()).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    copy_home(backup.path(), laptop.home());

    // The restored home is used before it syncs: its own changes reuse
    // what its old self already sent.
    laptop.log(&["Initech"]);
    let out = laptop.run(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restored from an older copy of itself"),
        "{}",
        stderr(&out)
    );
    desk.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let all = ["Acme", "Globex", "Hooli", "Initech"]
        .map(String::from)
        .to_vec();
    assert_eq!(companies(&laptop), all);
    assert_eq!(laptop.export(), desk.export());
    // Syncing on finds nothing more to do.
    let again = laptop.json(&["sync"]);
    assert_eq!(again["pushed"], 0);
    assert!(again.get("restored").is_none(), "{again}");
}
