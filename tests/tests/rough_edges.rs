//! The rough edges a new user hit (issue 16), each as the user met it.

use interlog_e2e::{Device, TestRelay};

fn opp_of(d: &Device) -> String {
    d.json(&["list", "opps"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_name_two_contacts_share_is_refused_with_the_candidates() {
    let d = Device::init();
    let first = d.ok(&["contact", "add", "Sam Lee", "--company", "Acme"]);
    let first = first.trim();
    let out = d.run(&["contact", "add", "sam lee", "--company", "Globex"]);
    assert!(out.status.success());
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(
        warning.contains("warning") && warning.contains(&first[..12]),
        "contact add names the contact who already has that name: {warning}"
    );
    let second = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let before = d.export();
    for args in [
        vec!["log", "Initech", "--with", "Sam Lee"],
        vec!["followup", "add", "Thank Sam", "--for", "Sam Lee"],
        vec!["contact", "moved", "Sam Lee", "Initech"],
    ] {
        let err = d.fails(&args);
        for expected in [&first[..12], &second[..12], "Acme", "Globex", "2 contacts"] {
            assert!(err.contains(expected), "{args:?}: '{expected}' in: {err}");
        }
        assert_eq!(d.export(), before, "{args:?} must write nothing");
    }
    // The id settles it.
    d.ok(&["contact", "moved", &second, "Initech"]);
    d.ok(&["followup", "add", "Thank Sam", "--for", first]);
}

#[test]
fn a_negotiated_offer_updates_its_package_and_stats_compare_it() {
    let d = Device::init();
    d.ok(&["profile", "set", "--currency", "EUR", "--base", "100k"]);
    d.log(&["Acme", "--role", "Staff"]);
    let offer = d.ok(&["offer", "add", &opp_of(&d), "--base", "120k"]);
    let offer = offer.trim();
    d.ok(&[
        "offer",
        "round",
        offer,
        "--asked",
        "140k",
        "--offered",
        "130k",
    ]);
    assert_eq!(d.json(&["show", offer])["comp"]["base"], 13_000_000);
    let stats = d.json(&["stats"]);
    assert_eq!(stats["offers"][0]["annual_total"], 13_000_000);
    assert_eq!(stats["offers"][0]["vs_current_pct"], 30.0);
    // The package has its own command, like an opportunity's.
    d.ok(&["offer", "comp", offer, "--bonus", "10k", "--signing", "5k"]);
    let comp = &d.json(&["show", offer])["comp"];
    assert_eq!(comp["base"], 13_000_000);
    assert_eq!(comp["bonus"], 1_000_000);
    assert_eq!(comp["signing"], 500_000);
    let err = d.fails(&["offer", "edit", offer, "--set", "comp=1"]);
    assert!(err.contains("interlog offer comp"), "{err}");
}

#[test]
fn argument_errors_name_the_argument_and_suggest() {
    let d = Device::init();
    let err = d.fails(&["offer", "round"]);
    assert!(err.contains("<ID>"), "names the missing argument: {err}");
    let err = d.fails(&["serch", "raft"]);
    assert!(err.contains("'search'"), "did you mean: {err}");
    let err = d.fails(&["list", "interviews", "--delted"]);
    assert!(err.contains("--deleted"), "did you mean: {err}");
    let out = d.run(&[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Usage:") && text.contains("Commands:") && text.contains("log"),
        "a bare `interlog` shows the short help: {text}"
    );
}

#[test]
fn csv_has_money_in_major_units_and_rfc3339_times() {
    let d = Device::init();
    d.ok(&["profile", "set", "--currency", "EUR"]);
    d.log(&["Acme", "--at", "2026-01-15 10:00"]);
    d.ok(&[
        "offer",
        "add",
        &opp_of(&d),
        "--base",
        "120,000.50",
        "--bonus",
        "10k",
    ]);
    let csv = d.ok(&["export", "--format", "csv", "--kind", "offers"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("comp_base"), "120000.50");
    assert_eq!(col("comp_bonus"), "10000.00");
    assert_eq!(col("comp_currency"), "EUR");
    let csv = d.ok(&["export", "--format", "csv", "--kind", "interviews"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    for name in ["start", "created_at"] {
        let value = row[header.iter().position(|h| *h == name).unwrap()];
        assert!(
            value.parse::<jiff::Timestamp>().is_ok() && !value.contains('['),
            "{name} is RFC 3339: {value}"
        );
    }
}

/// Two devices of one vault, named, that edited one interview offline so
/// that two fields conflict.
fn two_conflicts() -> (Device, Device, String) {
    let laptop = Device::new();
    laptop.ok(&["init", "--name", "laptop"]);
    let id = laptop.log(&["Acme"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault.automerge");
    let file = file.to_str().unwrap();
    laptop.ok(&["export", "--format", "automerge", "--out", file]);
    let phone = Device::new();
    phone.ok(&["init", "--from", file, "--name", "phone"]);
    laptop.ok(&[
        "edit",
        &id,
        "--set",
        "rating=4",
        "--set",
        "improve=talk less",
    ]);
    phone.ok(&[
        "edit",
        &id,
        "--set",
        "rating=2",
        "--set",
        "improve=ask more",
    ]);
    phone.ok(&["export", "--format", "automerge", "--out", file]);
    laptop.ok(&["import", "--format", "automerge", file]);
    (laptop, phone, id)
}

#[test]
fn conflicts_name_the_device_of_each_value_and_keep_their_ids() {
    let (laptop, _phone, _id) = two_conflicts();
    let table = laptop.ok(&["conflicts"]);
    for line in table
        .lines()
        .filter(|l| l.contains("talk less") || l.contains("ask more"))
    {
        let device = if line.contains("talk less") {
            "laptop"
        } else {
            "phone"
        };
        assert!(line.contains(device), "labelled with {device}: {line}");
    }
    let list = laptop.json(&["conflicts"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let code = |i: usize| list[i]["code"].as_str().unwrap().to_string();
    let (first, second) = (code(0), code(1));
    for c in list {
        let mut devices: Vec<&str> = c["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        devices.sort();
        assert_eq!(devices, ["laptop", "phone"], "{c}");
    }
    let keep_second = (list[1]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d == "phone")
        .unwrap()
        + 1)
    .to_string();
    laptop.ok(&["conflicts", "pick", &first, "1"]);
    // The second conflict kept its id.
    laptop.ok(&["conflicts", "pick", &second, &keep_second]);
    assert!(laptop.json(&["conflicts"]).as_array().unwrap().is_empty());
}

#[test]
fn stages_on_one_day_are_listed_in_the_order_they_happened() {
    let d = Device::init();
    d.ok(&["opp", "add", "Acme", "--stage", "applied"]);
    let opp = opp_of(&d);
    d.ok(&["opp", "stage", &opp, "screen", "--at", "2026-01-10 09:00"]);
    d.ok(&[
        "opp",
        "stage",
        &opp,
        "interviewing",
        "--at",
        "2026-01-10 15:00",
    ]);
    d.ok(&["opp", "stage", &opp, "final", "--at", "2026-01-10 17:00"]);
    let shown = d.ok(&["show", &opp]);
    let at = |s: &str| {
        shown
            .find(&format!("2026-01-10 {s}"))
            .unwrap_or_else(|| panic!("{s} in {shown}"))
    };
    assert!(
        at("screen") < at("interviewing") && at("interviewing") < at("final"),
        "{shown}"
    );
}

#[test]
fn show_takes_a_name() {
    let d = Device::init();
    d.ok(&["contact", "add", "Ana Diaz", "--met", "meetup"]);
    d.ok(&["company", "add", "Globex", "--industry", "energy"]);
    assert!(d.ok(&["show", "ana diaz"]).contains("meetup"));
    assert!(d.ok(&["show", "Globex"]).contains("energy"));
    assert!(d.ok(&["contact", "show", "Ana Diaz"]).contains("meetup"));
}

#[test]
fn devices_have_names_set_at_init_and_join_and_editable() {
    let relay = TestRelay::start();
    let laptop = Device::new();
    laptop.ok(&["init", "--name", "laptop"]);
    laptop.ok(&["sync", "--relay", &relay.url()]);
    let code = laptop.json(&["pair"])["code"].as_str().unwrap().to_string();
    let phone = Device::new();
    phone.ok(&["join", &code, "--name", "phone"]);
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let listed = laptop.ok(&["devices"]);
    assert!(
        listed.contains("laptop") && listed.contains("phone"),
        "{listed}"
    );
    laptop.ok(&["devices", "rename", "work laptop"]);
    laptop.ok(&["sync"]);
    phone.ok(&["sync"]);
    let listed = phone.ok(&["devices"]);
    assert!(listed.contains("work laptop"), "{listed}");
    let json = phone.json(&["devices"]);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "phone"),
        "{json}"
    );
}

#[test]
fn a_used_invite_says_it_was_used() {
    let data = tempfile::tempdir().unwrap();
    let code = {
        let out = std::process::Command::new(interlog_e2e::binary())
            .args(["relay", "invite", "--data"])
            .arg(data.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let relay = TestRelay::start_with(data, "127.0.0.1:0", &["--registration", "invite"], &[]);
    let first = Device::init();
    first.ok(&["sync", "--relay", &relay.url(), "--invite", &code]);
    let second = Device::init();
    let err = second.fails(&["sync", "--relay", &relay.url(), "--invite", &code]);
    assert!(err.contains("already used"), "{err}");
}

/// What `interlog ARGS` prints on a terminal `cols` wide (through
/// util-linux's `script`, which gives it a pseudo-terminal).
fn on_terminal(d: &Device, cols: u16, args: &[&str]) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: no /usr/bin/script (util-linux) for a pseudo-terminal");
        return None;
    }
    let bin = interlog_e2e::binary().display().to_string();
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let line = format!(
        "stty cols {cols} rows 50; exec '{bin}' {}",
        quoted.join(" ")
    );
    let out = std::process::Command::new(script)
        .args(["-qec", &line, "/dev/null"])
        .env("INTERLOG_HOME", d.home())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8(out.stdout).unwrap().replace('\r', ""))
}

#[test]
fn wide_tables_fit_the_terminal() {
    let d = Device::init();
    let long = "a retro that goes on and on about the system design round, the whiteboard, the coffee and the people who were there";
    let id = d.log(&[
        "Supercalifragilistic Industries International",
        "--role",
        "Principal Distributed Systems Engineer",
        "--note",
        long,
    ]);
    d.ok(&["edit", &id, "--set", &format!("went_well={long}")]);
    d.ok(&[
        "contact",
        "add",
        "Maximiliana Bartholomew-Featherstonehaugh",
        "--met",
        long,
        "--email",
        "maximiliana@supercalifragilistic.example.com",
    ]);
    d.ok(&[
        "followup",
        "add",
        long,
        "--for",
        "Maximiliana Bartholomew-Featherstonehaugh",
    ]);
    for args in [
        vec!["list", "interviews"],
        vec!["list", "contacts"],
        vec!["list", "followups"],
        vec!["show", &id],
        vec!["search", "whiteboard"],
    ] {
        let Some(out) = on_terminal(&d, 60, &args) else {
            return;
        };
        for line in out.lines() {
            assert!(
                line.chars().count() <= 60,
                "{args:?}: {} columns: {line}\n{out}",
                line.chars().count()
            );
        }
        if args[0] == "show" {
            assert!(
                out.contains("whiteboard,"),
                "the prose is wrapped, not cut: {out}"
            );
        }
    }
}

#[test]
fn release_builds_carry_no_debug_info_and_benchmarks_have_a_profile() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let section = |name: &str| -> Vec<String> {
        let head = format!("[{name}]");
        let mut lines = cargo.lines().skip_while(|l| l.trim() != head);
        assert!(lines.next().is_some(), "Cargo.toml has no {head}");
        lines
            .take_while(|l| !l.starts_with('['))
            .map(|l| l.split('#').next().unwrap().replace(' ', ""))
            .filter(|l| !l.is_empty())
            .collect()
    };
    let release = section("profile.release");
    assert!(release.contains(&"debug=false".to_string()), "{release:?}");
    assert!(
        release.contains(&"strip=\"debuginfo\"".to_string()),
        "{release:?}"
    );
    let profiling = section("profile.profiling");
    assert!(
        profiling.contains(&"inherits=\"release\"".to_string()),
        "{profiling:?}"
    );
    assert!(
        profiling
            .iter()
            .any(|l| l.starts_with("debug=") && l != "debug=false"),
        "{profiling:?}"
    );
    for doc in ["README.md", "docs/benchmarks.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        assert!(
            text.contains("cargo run --profile profiling -p interlog-bench"),
            "{doc}"
        );
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        !readme.contains("run --release -p interlog-bench"),
        "the README still runs the benchmarks without line tables"
    );
}
