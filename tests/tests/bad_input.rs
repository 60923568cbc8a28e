//! Bad input exits non-zero with one line saying what was wrong and how to
//! fix it, and writes nothing.

use interlog_e2e::Device;

#[test]
fn bad_input_is_refused_with_one_clear_line_and_nothing_written() {
    let d = Device::init();
    let id = d.log(&["Acme", "--role", "Staff"]);
    let opp = d.json(&["list", "opps"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two records created in the same millisecond share a 10-character prefix.
    let ambiguous = &id[..8];
    let before = d.export();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["show", "ZZZZZZ"],
            "no record has an id starting with 'ZZZZZZ'",
        ),
        (vec!["show", ambiguous], "type more of the id"),
        (vec!["log", "Acme", "--rating", "7"], "from 1 to 5"),
        (
            vec!["log", "Acme", "--at", "2026-02-30 10:00"],
            "is not a time",
        ),
        (vec!["log", "Acme", "--kind", "karaoke"], "recruiter_screen"),
        (vec!["log", "   "], "company name is empty"),
        (
            vec!["followup", "add", "x", "--due", "someday"],
            "is not a date",
        ),
        (vec!["opp", "stage", &opp, "celebrating"], "lead, applied"),
        (vec!["opp", "stage", "ZZZZ", "offer"], "no opportunity"),
        (vec!["edit", &id, "--set", "rating=0"], "from 1 to 5"),
        (
            vec!["edit", &id, "--set", "colour=blue"],
            "have no field 'colour'",
        ),
        (vec!["edit", &id, "--set", "rating"], "FIELD=VALUE"),
        (vec!["edit", &id], "nothing to change"),
        (
            vec!["offer", "add", &opp, "--base", "lots", "--currency", "EUR"],
            "not an amount",
        ),
        (
            vec![
                "offer",
                "add",
                &opp,
                "--base",
                "100k",
                "--currency",
                "euros",
            ],
            "ISO 4217",
        ),
        (vec!["profile", "set", "--work-hours", "9-5"], "HH:MM-HH:MM"),
        (
            vec!["import", "--format", "json", "/nonexistent/file.json"],
            "could not read",
        ),
        (vec!["conflicts", "pick", "1", "1"], "no conflict 1"),
        (vec!["init"], "already exists"),
    ];
    for (args, expected) in cases {
        let err = d.fails(&args);
        assert!(
            err.contains(expected),
            "interlog {args:?}: expected '{expected}' in: {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "interlog {args:?}: one line, got: {err}"
        );
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(d.export(), before, "interlog {args:?} must write nothing");
    }
}

#[test]
fn a_missing_vault_says_how_to_create_one() {
    let d = Device::new();
    for args in [
        &["list", "interviews"][..],
        &["sync"],
        &["sync", "--relay", "ws://127.0.0.1:9"],
    ] {
        let err = d.fails(args);
        assert!(
            err.contains("run `interlog init`"),
            "interlog {args:?}: {err}"
        );
        assert!(
            !d.home().join("store").exists(),
            "interlog {args:?} must not create a store"
        );
    }
}

#[test]
fn an_invalid_json_import_writes_nothing() {
    let d = Device::init();
    d.log(&["Acme"]);
    let before = d.export();
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("garbage.json", "{not json"),
        (
            "shape.json",
            r#"{"schema": 1, "companies": {"01ABC": "not an object"}}"#,
        ),
        ("newer.json", r#"{"schema": 99}"#),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, body).unwrap();
        let err = d.fails(&["import", "--format", "json", f.to_str().unwrap()]);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert_eq!(d.export(), before);
    }
}

#[test]
fn a_corrupt_store_is_an_error_naming_the_path_not_an_empty_journal() {
    let d = Device::init();
    d.log(&["Acme"]);
    // Overwrite every sled file with garbage of the same size.
    let store = d.home().join("store");
    for entry in walk(&store) {
        let len = std::fs::metadata(&entry).unwrap().len() as usize;
        std::fs::write(&entry, vec![0x5a; len.max(64)]).unwrap();
    }
    let err = d.fails(&["list", "interviews"]);
    assert!(err.contains(&store.display().to_string()), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
