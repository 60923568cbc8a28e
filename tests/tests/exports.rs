//! Getting the journal out and back in, and two devices meeting through
//! Automerge files (the relay comes later; the merge rules are the same).

use interlog_e2e::Device;

fn filled() -> Device {
    let d = Device::init();
    d.ok(&[
        "profile",
        "set",
        "--currency",
        "EUR",
        "--base",
        "95k",
        "--goal",
        "4",
        "--role",
        "Senior Engineer",
    ]);
    d.ok(&[
        "company",
        "add",
        "Initech",
        "--sensitivity",
        "high",
        "--reason",
        "client of my employer",
        "--alias",
        "INTC",
    ]);
    let id = d.log(&[
        "Initech",
        "--role",
        "Staff",
        "--kind",
        "technical",
        "--rating",
        "4",
        "--with",
        "Ana",
        "--note",
        "line one\nline two",
        "--at",
        "2026-11-20 14:00",
    ]);
    d.ok(&["question", "add", "Why us?", "--tag", "motivation"]);
    d.ok(&[
        "followup",
        "add",
        "Thank Ana",
        "--due",
        "tomorrow",
        "--for",
        "Ana",
    ]);
    d.ok(&["interview", "edit", &id, "--set", "duration_min=45"]);
    let gone = d.log(&["Hooli"]);
    d.ok(&["delete", &gone]);
    d
}

#[test]
fn json_export_is_deterministic_and_import_reproduces_it() {
    let a = filled();
    let export = a.export();
    assert_eq!(export, a.export(), "the same vault exports the same bytes");
    let parsed: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(
        parsed["interviews"].as_object().unwrap().len(),
        2,
        "deleted records are exported too"
    );

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &export).unwrap();
    let b = Device::init();
    assert!(b
        .ok(&["import", "--format", "json", file.path().to_str().unwrap()])
        .contains("imported"));
    assert_eq!(b.export(), export);
}

#[test]
fn csv_and_calendar_exports() {
    let a = filled();
    let csv = a.ok(&["export", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,opportunity,opportunity_name,company,company_name,start"));
    // Rows start with a 26-character id; the multi-line note continues a row.
    let rows = lines
        .filter(|l| l.len() > 26 && l.as_bytes()[26] == b',')
        .count();
    assert_eq!(rows, 1, "one live interview");
    assert!(csv.contains("Initech") && csv.contains("\"line one\nline two\""));
    let contacts = a.ok(&["export", "--format", "csv", "--kind", "contacts"]);
    assert!(contacts.contains("Ana"));

    // The calendar is safe to sync to a work calendar: neutral titles only.
    let ics = a.ok(&["export", "--format", "ics"]);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.contains("SUMMARY:Appointment\r\n"));
    assert!(!ics.contains("Initech") && !ics.contains("line one"));
    // Initech is flagged sensitive: neutral even with real titles.
    let real = a.ok(&["export", "--format", "ics", "--real-titles"]);
    assert!(
        !real.contains("Initech") && !real.contains("line one"),
        "{real}"
    );
    a.log(&["Globex", "--kind", "technical", "--at", "2026-11-21 10:00"]);
    let real = a.ok(&["export", "--format", "ics", "--real-titles"]);
    assert!(
        real.contains("SUMMARY:Interview: Globex (technical)"),
        "{real}"
    );
    assert!(real.contains("SUMMARY:Appointment\r\n"), "{real}");

    // Files written with --out are private.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("journal.json");
    a.ok(&["export", "--format", "json", "--out", out.to_str().unwrap()]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), a.export());
}

/// Sends `from`'s whole document to `to`, as a file.
fn ship(from: &Device, to: &Device) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.automerge");
    from.ok(&[
        "export",
        "--format",
        "automerge",
        "--out",
        file.to_str().unwrap(),
    ]);
    to.ok(&["import", "--format", "automerge", file.to_str().unwrap()]);
}

#[test]
fn two_devices_converge_and_show_the_same_conflicts() {
    let laptop = filled();
    let id = laptop.log(&["Acme", "--rating", "3", "--kind", "behavioral"]);
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.automerge");
    laptop.ok(&[
        "export",
        "--format",
        "automerge",
        "--out",
        seed.to_str().unwrap(),
    ]);
    let phone = Device::new();
    phone.ok(&["init", "--from", seed.to_str().unwrap()]);
    assert_eq!(phone.export(), laptop.export());

    // Offline on both: the same interview, different fields, and one field on both.
    interlog_e2e::edit_offline_on_both(&laptop, &phone, &id);
    let new_on_phone = phone.log(&["Globex", "--kind", "informational"]);

    ship(&laptop, &phone);
    ship(&phone, &laptop);
    assert_eq!(laptop.export(), phone.export());

    let r = laptop.json(&["show", &id]);
    assert_eq!(r["rating"], 4);
    assert_eq!(r["notes"], "they want a tech lead");
    laptop.ok(&["show", &new_on_phone]);

    let conflicts = laptop.json(&["conflicts"]);
    assert_eq!(conflicts, phone.json(&["conflicts"]));
    let list = conflicts.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["field"], "improve");
    let mut values: Vec<&str> = list[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, ["ask more questions", "talk less"]);

    let choice = list[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| v == "talk less")
        .unwrap()
        + 1;
    let code = list[0]["code"].as_str().unwrap();
    laptop.ok(&["conflicts", "pick", code, &choice.to_string()]);
    ship(&laptop, &phone);
    assert!(phone.json(&["conflicts"]).as_array().unwrap().is_empty());
    assert_eq!(phone.json(&["show", &id])["improve"], "talk less");
    assert_eq!(laptop.export(), phone.export());
}

#[test]
fn a_document_from_another_vault_is_refused() {
    let a = filled();
    let b = Device::init();
    let before = b.export();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.automerge");
    a.ok(&[
        "export",
        "--format",
        "automerge",
        "--out",
        file.to_str().unwrap(),
    ]);
    let err = b.fails(&["import", "--format", "automerge", file.to_str().unwrap()]);
    assert!(err.contains("belongs to vault"), "{err}");
    assert_eq!(b.export(), before);
}
