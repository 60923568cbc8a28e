//! Discretion, all the way: `export --redact` gives something a user can
//! show a coach, and the calendar never says more than it must.
//!
//! The journal below fills every field redaction hides with a marker that
//! contains "Zq". The proof is twofold: every string of every hidden field
//! of the unredacted export is looked for in each redacted output
//! (`interlog_e2e::redaction::Secrets`, walked with the library's own
//! classification, which also checks that the fixture left no hidden field
//! empty), and, independently of that classification, no redacted output
//! contains "Zq" or "zq" (not "ZQ", which a kept record id may hold).

use std::os::unix::fs::PermissionsExt;

use interlog_e2e::redaction::Secrets;
use interlog_e2e::Device;
use serde_json::Value;

/// A journal with every kind of record and every hidden field filled.
struct Journal {
    d: Device,
    acme: String,
    opp: String,
    interview: String,
    globex_interview: String,
    offer: String,
    _scripts: tempfile::TempDir,
}

fn id_of(d: &Device, args: &[&str]) -> String {
    let out = d.json(args);
    out["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{args:?} printed no id: {out}"))
        .to_string()
}

fn journal() -> Journal {
    let d = Device::new();
    d.ok(&["init", "--name", "Zqdevicelaptop"]);
    d.ok(&[
        "profile",
        "set",
        "--role",
        "Zqprofilerole at Zqinitech",
        "--level",
        "Zqprofilelevel",
        "--currency",
        "EUR",
        "--base",
        "95k",
        "--goal",
        "4",
    ]);
    let acme = id_of(
        &d,
        &[
            "company",
            "add",
            "Zqacmeco",
            "--industry",
            "Zqanvilindustry",
            "--sensitivity",
            "high",
            "--reason",
            "Zqclientreason of my employer",
            "--alias",
            "Zqacmealias",
            "--notes",
            "Zqcompanynotes",
        ],
    );
    d.ok(&["company", "add", "Zqglobexco", "--priority", "dream"]);
    d.ok(&[
        "contact",
        "add",
        "Zqwile Zqcoyote",
        "--kind",
        "hiring_manager",
        "--company",
        "Zqacmeco",
        "--title",
        "Zqheadtitle",
        "--email",
        "zqwile@zqacme.example",
        "--phone",
        "+44 7700 900123",
        "--link",
        "https://zqlink.example/zqwile",
        "--met",
        "Zqmetcanyon",
        "--keep-in-touch",
        "90",
        "--notes",
        "Zqcontactnotes",
    ]);
    let opp = id_of(
        &d,
        &[
            "opp",
            "add",
            "Zqacmeco",
            "--role",
            "Zqrocketrole",
            "--level",
            "Zqlevele5",
            "--level-delta",
            "+1",
            "--source",
            "referral",
            "--purpose",
            "market_value",
            "--interest",
            "4",
            "--told",
            "exploring",
            "--notes",
            "Zqoppnotes",
        ],
    );
    d.ok(&["opp", "stage", &opp, "screen", "--note", "Zqstagenote"]);
    let interview = d.log(&[
        "Zqacmeco",
        "--role",
        "Zqrocketrole",
        "--kind",
        "technical",
        "--at",
        "2026-11-20 14:00",
        "--rating",
        "4",
        "--duration",
        "45",
        "--with",
        "Zqwile Zqcoyote",
        "--note",
        "Zqlognote",
    ]);
    let scripts = tempfile::tempdir().unwrap();
    let retro = "## Rating (1-5)\n4\n\n## What went well\nZqwentwell, with \"quotes\"; and commas\n\n## What to improve\nZqimprove\n\n## What they seem to look for\nZqlookingfor\n\n## Questions asked\n- [2] Zqquestion about Zqanvils\n\n## Resume items they probed\n- Zqresumeitem\n\n## Notes\nZqretronotes line\nsecond Zqline\n";
    let editor = scripts.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\ncat > \"$1\" <<'RETRO'\n{retro}\nRETRO\n"),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = d
        .cmd(&["retro", &interview])
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let question = id_of(
        &d,
        &[
            "question",
            "add",
            "Zqwhyacme",
            "--category",
            "Zqcategory",
            "--answer",
            "Zqanswer",
            "--tag",
            "Zqtag",
        ],
    );
    d.ok(&["edit", &question, "--set", "notes=Zqquestionnotes"]);
    let offer = id_of(
        &d,
        &[
            "offer",
            "add",
            &opp,
            "--received",
            "2026-12-01",
            "--expires",
            "2026-12-15",
            "--level",
            "Zqofferlevel",
            "--level-delta",
            "1",
            "--currency",
            "EUR",
            "--base",
            "120k",
            "--bonus",
            "10k",
            "--notes",
            "Zqoffernotes",
        ],
    );
    d.ok(&[
        "offer",
        "round",
        &offer,
        "--asked",
        "140k",
        "--offered",
        "130k",
        "--note",
        "Zqroundnote",
    ]);
    let followup = id_of(
        &d,
        &[
            "followup",
            "add",
            "Zqfollowupnote",
            "--due",
            "2026-12-20",
            "--kind",
            "thank_you",
            "--for",
            "Zqwile Zqcoyote",
        ],
    );
    d.ok(&["edit", &followup, "--set", "notes=Zqfollowupnotes"]);
    let globex = id_of(&d, &["opp", "add", "Zqglobexco", "--role", "Zqglobexrole"]);
    let globex_interview = d.log(&[
        "Zqglobexco",
        "--opp",
        &globex,
        "--kind",
        "behavioral",
        "--at",
        "2026-11-23 10:00",
    ]);
    d.ok(&[
        "opp",
        "withdraw",
        &globex,
        "--reason",
        "Zqwithdrawreason",
        "--door-open",
    ]);
    let gone = id_of(&d, &["company", "add", "Zqdeletedco"]);
    d.ok(&["delete", &gone]);
    Journal {
        d,
        acme,
        opp,
        interview,
        globex_interview,
        offer,
        _scripts: scripts,
    }
}

/// Every redacted output of `d`, named.
fn redacted_outputs(d: &Device) -> Vec<(String, String)> {
    let mut out = vec![(
        "export --format json --redact".to_string(),
        d.ok(&["export", "--format", "json", "--redact"]),
    )];
    for kind in [
        "companies",
        "contacts",
        "opps",
        "interviews",
        "offers",
        "followups",
        "questions",
    ] {
        let args = ["export", "--format", "csv", "--kind", kind, "--redact"];
        out.push((args.join(" "), d.ok(&args)));
    }
    for args in [
        &["export", "--format", "ics", "--redact"][..],
        &["export", "--format", "ics", "--redact", "--real-titles"],
    ] {
        out.push((args.join(" "), d.ok(args)));
    }
    // The report over the same years (its default is the last twelve
    // months), with its charts' labels.
    let args = ["report", "--redact", "--out", "-", "--since", "10y"];
    out.push((args.join(" "), d.ok(&args)));
    out
}

#[test]
fn redacted_exports_name_nobody_and_keep_the_numbers() {
    let j = journal();
    let d = &j.d;
    let plain: Value = serde_json::from_str(&d.export()).unwrap();
    let secrets = Secrets::of(&plain);
    assert_eq!(
        secrets.unfilled(),
        Vec::<String>::new(),
        "the fixture must fill every field redaction hides"
    );
    assert!(secrets.len() >= 35, "{secrets:?}");

    let outputs = redacted_outputs(d);
    for (what, text) in &outputs {
        secrets.assert_none_in(what, text);
        // The markers as written, or lower-cased. Not upper-cased: record
        // ids (kept, and upper-case base 32) may hold "ZQ" by chance.
        assert!(
            !text.contains("Zq") && !text.contains("zq"),
            "{what} leaks:\n{text}"
        );
    }

    // The numbers, dates, ratings and stages a coach looks at.
    let red: Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert_eq!(red["redacted"], true);
    let (pi, ri) = (
        &plain["interviews"][&j.interview],
        &red["interviews"][&j.interview],
    );
    for field in [
        "rating",
        "start",
        "duration_min",
        "kind",
        "company",
        "opportunity",
        "questions",
        "interviewers",
    ] {
        assert_eq!(ri[field], pi[field], "interview {field}");
    }
    assert_eq!(ri["rating"], 4);
    assert_eq!(ri["went_well"], "[redacted]");
    let (po, ro) = (&plain["offers"][&j.offer], &red["offers"][&j.offer]);
    for field in ["comp", "received", "expires", "level_delta", "decision"] {
        assert_eq!(ro[field], po[field], "offer {field}");
    }
    assert_eq!(
        ro["comp"]["base"], 13_000_000,
        "the round's offer, in cents"
    );
    let rounds = ro["rounds"].as_object().unwrap();
    let round = rounds.values().next().unwrap();
    assert_eq!(round["asked"], 14_000_000);
    assert_eq!(round["note"], "[redacted]");
    let (pp, rp) = (
        &plain["opportunities"][&j.opp],
        &red["opportunities"][&j.opp],
    );
    for field in [
        "level_delta",
        "source",
        "purpose",
        "interest_now",
        "told_recruiter",
        "recruiter",
    ] {
        assert_eq!(rp[field], pp[field], "opportunity {field}");
    }
    let stages = |o: &Value| -> Vec<(Value, Value)> {
        o["stages"]
            .as_object()
            .unwrap()
            .values()
            .map(|e| (e["stage"].clone(), e["at"].clone()))
            .collect()
    };
    assert_eq!(stages(rp), stages(pp));
    for field in [
        "comp",
        "monthly_goal",
        "work_start",
        "work_end",
        "work_days",
    ] {
        assert_eq!(
            red["profile"][field], plain["profile"][field],
            "profile {field}"
        );
    }
    assert_eq!(
        red["companies"][&j.acme]["sensitivity"], "high",
        "the flag stays, so the calendar stays neutral"
    );

    // References resolve to one pseudonym everywhere.
    let acme_name = red["companies"][&j.acme]["name"].as_str().unwrap();
    assert!(acme_name.starts_with("Company "), "{acme_name}");
    assert_eq!(ri["company"], j.acme.as_str());
    let csv = &outputs
        .iter()
        .find(|(w, _)| w.contains("interviews"))
        .unwrap()
        .1;
    let row = csv.lines().find(|l| l.starts_with(&j.interview)).unwrap();
    assert!(row.contains(&format!(",{acme_name},")), "{row}");
    let opp_name = red["opportunities"][&j.opp]["role"].as_str().unwrap();
    assert!(row.contains(&format!(",{opp_name},")), "{row}");
    let offers_csv = &outputs
        .iter()
        .find(|(w, _)| w.contains("offers"))
        .unwrap()
        .1;
    assert!(offers_csv.contains(",130000.00,"), "{offers_csv}");
    let ics = &outputs
        .iter()
        .find(|(w, _)| w.contains("--real-titles"))
        .unwrap()
        .1;
    assert!(ics.contains("SUMMARY:Interview: Company "), "{ics}");

    // Stable: the same journal gives the same pseudonyms, and a record
    // added later does not renumber the others.
    let again = d.ok(&["export", "--format", "json", "--redact"]);
    assert_eq!(again, outputs[0].1);
    d.ok(&["company", "add", "Zqlaterco"]);
    let later: Value =
        serde_json::from_str(&d.ok(&["export", "--format", "json", "--redact"])).unwrap();
    for root in ["companies", "contacts", "opportunities", "questions"] {
        for (id, r) in red[root].as_object().unwrap() {
            assert_eq!(later[root][id]["name"], r["name"], "{root} {id}");
            assert_eq!(later[root][id]["role"], r["role"], "{root} {id}");
            assert_eq!(later[root][id]["wording"], r["wording"], "{root} {id}");
        }
    }
}

#[test]
fn a_redacted_export_cannot_be_imported_or_made_from_the_history() {
    let j = journal();
    let before = j.d.export();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redacted.json");
    j.d.ok(&[
        "export",
        "--format",
        "json",
        "--redact",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let err =
        j.d.fails(&["import", "--format", "json", file.to_str().unwrap()]);
    assert!(err.contains("redacted export"), "{err}");
    assert_eq!(j.d.export(), before, "nothing was overwritten");

    let err = j.d.fails(&[
        "export",
        "--format",
        "automerge",
        "--redact",
        "--out",
        dir.path().join("doc").to_str().unwrap(),
    ]);
    assert!(err.contains("cannot be redacted"), "{err}");
}

#[test]
fn the_calendar_stays_neutral_for_sensitive_companies_and_does_not_name_interlog() {
    let j = journal();
    let real = j.d.ok(&["export", "--format", "ics", "--real-titles"]);
    assert!(!real.to_lowercase().contains("interlog"), "{real}");
    assert!(real.contains("PRODID:-//journal//EN\r\n"), "{real}");
    let event = |id: &str| {
        real.split("BEGIN:VEVENT")
            .find(|e| e.contains(id))
            .unwrap_or_else(|| panic!("no event for {id}:\n{real}"))
            .to_string()
    };
    // Zqacmeco is flagged sensitive: neutral even with --real-titles.
    let acme = event(&j.interview);
    assert!(acme.contains("SUMMARY:Appointment\r\n"), "{acme}");
    assert!(acme.contains("CLASS:PRIVATE\r\n"), "{acme}");
    assert!(
        !real.contains("Zqacmeco") && !real.contains("Zqretronotes"),
        "{real}"
    );
    // Zqglobexco is not.
    let globex = event(&j.globex_interview);
    assert!(
        globex.contains("SUMMARY:Interview: Zqglobexco (behavioral)"),
        "{globex}"
    );
    let neutral = j.d.ok(&["export", "--format", "ics"]);
    assert!(!neutral.to_lowercase().contains("interlog"), "{neutral}");

    // Logging another interview there says so, with the reason.
    let out = j.d.run(&["log", "Zqacmeco", "--kind", "panel"]);
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{warning}");
    assert!(
        warning.contains("marked sensitive (high: Zqclientreason of my employer)"),
        "{warning}"
    );
}
