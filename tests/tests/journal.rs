//! Capture, edit, list, show, retro and stats, as a user does them.

use std::os::unix::fs::PermissionsExt;

use interlog_e2e::Device;
use serde_json::Value;

fn records(d: &Device, kind: &str) -> Vec<Value> {
    d.json(&["list", kind])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn one_line_capture_creates_and_reuses_company_opportunity_and_contacts() {
    let d = Device::init();
    let first = d.log(&[
        "Acme",
        "--role",
        "Staff Engineer",
        "--kind",
        "technical",
        "--rating",
        "4",
        "--with",
        "Ana Diaz",
        "--note",
        "asked about Raft",
        "--at",
        "yesterday 15:00",
    ]);
    // Same company and contact in another spelling, same role: reused.
    let second = d.log(&[
        "ACME",
        "--role",
        "staff engineer",
        "--kind",
        "system design",
        "--with",
        "ana diaz",
    ]);
    assert_ne!(first, second);

    assert_eq!(records(&d, "companies").len(), 1);
    assert_eq!(records(&d, "contacts").len(), 1);
    let opps = records(&d, "opps");
    assert_eq!(opps.len(), 1);
    assert_eq!(opps[0]["role"], "Staff Engineer");

    let shown = d.json(&["show", &first[..14]]);
    assert_eq!(shown["id"], first.as_str());
    assert_eq!(shown["rating"], 4);
    assert_eq!(shown["kind"], "technical");
    assert_eq!(shown["notes"], "asked about Raft");
    assert_eq!(shown["status"], "done");
    assert_eq!(shown["company"], records(&d, "companies")[0]["id"]);
    assert_eq!(shown["opportunity"], opps[0]["id"]);
    let contact = records(&d, "contacts")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(shown["interviewers"][&contact], true);

    // Tables: most recent first, readable names.
    let table = d.ok(&["list", "interviews"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("when") && lines[0].contains("company"));
    assert!(lines[2].contains("system design"), "{table}");
    assert!(
        lines[3].contains("technical") && lines[3].contains("Acme"),
        "{table}"
    );

    // A future interview is scheduled, not done.
    let later = d.log(&["Globex", "--at", "tomorrow 10:00"]);
    assert_eq!(d.json(&["show", &later])["status"], "scheduled");
}

#[test]
fn edit_delete_and_restore() {
    let d = Device::init();
    let id = d.log(&["Acme", "--rating", "3"]);
    d.ok(&[
        "interview",
        "edit",
        &id,
        "--set",
        "rating=5",
        "--set",
        "format=video",
        "--set",
        "notes=great chat",
    ]);
    let r = d.json(&["show", &id]);
    assert_eq!(
        (r["rating"].as_i64(), r["format"].as_str()),
        (Some(5), Some("video"))
    );
    d.ok(&["edit", &id, "--unset", "notes"]);
    assert!(d.json(&["show", &id]).get("notes").is_none());

    d.ok(&["delete", &id]);
    assert!(records(&d, "interviews").is_empty());
    assert_eq!(
        d.json(&["list", "interviews", "--deleted"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    d.ok(&["restore", &id]);
    assert_eq!(records(&d, "interviews").len(), 1);

    let company = d.ok(&[
        "company",
        "add",
        "Initech",
        "--priority",
        "dream",
        "--sensitivity",
        "high",
        "--reason",
        "client of my employer",
    ]);
    let warning = d.run(&["log", "initech"]);
    assert!(warning.status.success());
    assert!(String::from_utf8_lossy(&warning.stderr).contains("client of my employer"));
    let c = d.json(&["show", company.trim()]);
    assert_eq!(c["priority"], "dream");
}

#[test]
fn contacts_follow_people_across_companies() {
    let d = Device::init();
    let ana = d.ok(&[
        "contact",
        "add",
        "Ana Diaz",
        "--kind",
        "hiring-manager",
        "--company",
        "Acme",
        "--title",
        "EM",
        "--email",
        "ana@example.com",
        "--keep-in-touch",
        "90",
    ]);
    let ana = ana.trim();
    d.ok(&[
        "contact",
        "moved",
        "ana diaz",
        "Globex",
        "--title",
        "Director",
        "--on",
        "2026-06-01",
    ]);
    let c = d.json(&["show", ana]);
    let jobs: Vec<&Value> = c["employment"].as_object().unwrap().values().collect();
    assert_eq!(jobs.len(), 2);
    let old = jobs.iter().find(|j| j["title"] == "EM").unwrap();
    assert_eq!(old["to"], "2026-06-01");
    let new = jobs.iter().find(|j| j["title"] == "Director").unwrap();
    assert!(new.get("to").is_none());
    assert_eq!(c["channels"]["email"], "ana@example.com");
    assert!(d.ok(&["list", "contacts"]).contains("Globex"));
}

#[test]
fn opportunities_offers_and_followups_flow_into_today_and_stats() {
    let d = Device::init();
    d.ok(&[
        "profile",
        "set",
        "--currency",
        "EUR",
        "--base",
        "100k",
        "--goal",
        "2",
    ]);
    let opp = d.ok(&[
        "opp",
        "add",
        "Acme",
        "--role",
        "Staff",
        "--source",
        "referral",
        "--purpose",
        "market-value,network",
        "--interest",
        "3",
    ]);
    let opp = opp.trim();
    d.ok(&["opp", "stage", opp, "screen"]);
    let offer = d.ok(&[
        "offer",
        "add",
        opp,
        "--base",
        "110k",
        "--bonus",
        "10k",
        "--level-delta",
        "+1",
        "--expires",
        "+14",
    ]);
    let offer = offer.trim();
    d.ok(&[
        "offer",
        "round",
        offer,
        "--asked",
        "125k",
        "--offered",
        "115k",
    ]);
    let o = d.json(&["show", offer]);
    assert_eq!(
        o["comp"]["base"], 11_500_000,
        "the round's offered base becomes the package"
    );
    assert_eq!(o["comp"]["currency"], "EUR");
    assert_eq!(o["decision"], "negotiating");

    let opp_rec = d.json(&["show", opp]);
    let stages: Vec<&str> = opp_rec["stages"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.contains(&"offer"),
        "adding an offer moves the opportunity to the offer stage"
    );

    d.ok(&[
        "followup",
        "add",
        "Send thanks",
        "--due",
        "today",
        "--kind",
        "thank-you",
        "--for",
        "Acme",
    ]);
    d.ok(&["followup", "add", "Later", "--due", "+10"]);
    let today = d.json(&["today"]);
    let due = today["followups"].as_array().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0]["note"], "Send thanks");
    assert_eq!(due[0]["target"], "Acme");

    let stats = d.json(&["stats"]);
    let o = &stats["offers"][0];
    // 115k base after the round, plus the 10k bonus, against 100k now.
    assert_eq!(o["annual_total"], 12_500_000);
    assert_eq!(o["vs_current_pct"], 25.0);
    let referral = stats["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "referral")
        .unwrap();
    assert_eq!(referral["reached"]["offer"], 1);
    assert_eq!(referral["reached"]["accepted"], 0);

    d.ok(&[
        "opp",
        "withdraw",
        opp,
        "--reason",
        "staying put",
        "--door-open",
    ]);
    let closed = d.json(&["show", opp]);
    assert_eq!(closed["close"]["by"], "me");
    assert_eq!(closed["close"]["door_open"], true);
}

fn editor(dir: &std::path::Path, body: &str) -> String {
    let path = dir.join("editor.sh");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat > \"$1\" <<'RETRO'\n{body}\nRETRO\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn retro_in_an_editor_fills_the_interview_and_the_question_bank() {
    let d = Device::init();
    let scripts = tempfile::tempdir().unwrap();
    let id = d.log(&["Acme", "--kind", "technical"]);
    let body = "## Rating (1-5)\n3\n\n## What went well\nClear story about the migration.\n\n## What to improve\nSlow on the rate limiter.\n\n## What they seem to look for\nOwnership\n\n## Questions asked\n- [2] Design a rate limiter\n- [4] Tell me about a conflict\n\n## Resume items they probed\n- Kafka migration\n\n## Notes\n";
    let out = d
        .cmd(&["retro", &id])
        .env("EDITOR", editor(scripts.path(), body))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = d.json(&["show", &id]);
    assert_eq!(r["rating"], 3);
    assert_eq!(r["went_well"], "Clear story about the migration.");
    assert_eq!(r["looking_for"], "Ownership");
    assert_eq!(r["resume_items"]["Kafka migration"], true);
    let bank = records(&d, "questions");
    assert_eq!(bank.len(), 2);
    let limiter = bank
        .iter()
        .find(|q| q["wording"] == "Design a rate limiter")
        .unwrap();
    assert_eq!(r["questions"][limiter["id"].as_str().unwrap()], 2);

    // The same question in a second interview: most asked, and weakest.
    let id2 = d.log(&["Globex"]);
    let body2 = "## Rating (1-5)\n4\n\n## Questions asked\n- [3] design a rate limiter\n";
    let out = d
        .cmd(&["retro", &id2])
        .env("EDITOR", editor(scripts.path(), body2))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        records(&d, "questions").len(),
        2,
        "matched the bank ignoring case"
    );
    let stats = d.json(&["stats"]);
    assert_eq!(stats["most_asked"][0]["wording"], "Design a rate limiter");
    assert_eq!(stats["most_asked"][0]["asked"], 2);
    assert_eq!(stats["weakest"][0]["avg_rating"], 2.5);

    // Bad input in the editor: nothing saved, the text is kept for the user.
    let before = d.export();
    let out = d
        .cmd(&["retro", &id])
        .env(
            "EDITOR",
            editor(
                scripts.path(),
                "## Rating (1-5)\n7\n\n## What went well\nprecious words\n",
            ),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 to 5") && err.contains("kept in"), "{err}");
    assert_eq!(d.export(), before);
    let kept = std::fs::read_dir(d.home())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("retro-"))
        .unwrap();
    assert!(std::fs::read_to_string(kept.path())
        .unwrap()
        .contains("precious words"));

    // Closing the editor without changes saves nothing.
    let out = d
        .cmd(&["retro", &id2])
        .env("EDITOR", "true")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing saved"));
    assert_eq!(d.export(), before);
}

#[test]
fn stats_count_interviews_per_month_against_the_goal() {
    let d = Device::init();
    d.ok(&["profile", "set", "--goal", "3"]);
    let now = jiff::Zoned::now();
    let this_month = now.strftime("%Y-%m").to_string();
    let first = now.date().first_of_month();
    let last_month_day = first.checked_sub(jiff::Span::new().days(3)).unwrap();
    d.log(&["A", "--rating", "2", "--at", &format!("{first} 08:00")]);
    d.log(&["B", "--rating", "4", "--at", &format!("{first} 09:00")]);
    d.log(&[
        "C",
        "--rating",
        "5",
        "--at",
        &format!("{last_month_day} 10:00"),
    ]);
    let stats = d.json(&["stats", "--months", "2"]);
    let months = stats["months"].as_array().unwrap();
    assert_eq!(months.len(), 2);
    let m = months
        .iter()
        .find(|m| m["month"] == this_month.as_str())
        .unwrap();
    assert_eq!(
        (
            m["interviews"].as_i64(),
            m["goal"].as_i64(),
            m["avg_rating"].as_f64()
        ),
        (Some(2), Some(3), Some(3.0))
    );
    let prev = months
        .iter()
        .find(|m| m["month"] != this_month.as_str())
        .unwrap();
    assert_eq!(prev["interviews"], 1);
    assert!(d.ok(&["stats"]).contains("Interviews per month"));
}

#[test]
fn search_finds_any_record() {
    let d = Device::init();
    let id = d.log(&["Acme", "--note", "They asked about Raft consensus"]);
    d.ok(&[
        "question",
        "add",
        "Explain RAFT leader election",
        "--tag",
        "distributed",
    ]);
    let hits = d.json(&["search", "raft"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().any(|h| h["id"] == id.as_str()));
    assert!(d.json(&["search", "zebra"]).as_array().unwrap().is_empty());
}

/// Marks the view cache so that only a read answered from it, as it is,
/// shows the mark: the monthly goal in the cached profile becomes 7 (every
/// copy of it, keeping every length and so the file's framing). A read that
/// finds the cache stale re-reads the profile from the document, and shows 3.
/// The cache's checksum is written anew, as its writer would: a cache
/// edited without it is never believed (`device.rs` checks that).
fn mark_view(d: &Device) {
    let cache = d.home().join("view.cache");
    let mut bytes = std::fs::read(&cache).expect("the write left a view cache");
    let (from, to) = (b"\"monthly_goal\":3", b"\"monthly_goal\":7");
    let mut marked = 0;
    for i in 0..bytes.len().saturating_sub(from.len() - 1) {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            marked += 1;
        }
    }
    assert!(marked > 0, "the view holds the profile");
    reseal_view(&mut bytes);
    std::fs::write(&cache, bytes).unwrap();
}

/// Writes a view cache's checksum for its key and view, as
/// `interlog_core::store::cache` does: the file is a magic of 8 bytes, the
/// key (8), the checksum (8), then the view.
fn reseal_view(file: &mut [u8]) {
    use std::hash::Hasher;
    assert_eq!(&file[..8], b"ILVIEW4\n", "a view cache of this version");
    let (key, rest) = file[8..].split_at_mut(8);
    let (sum, view) = rest.split_at_mut(8);
    let mut h = std::hash::DefaultHasher::new();
    h.write(b"interlog view checksum");
    h.write(key);
    h.write_usize(view.len());
    h.write(view);
    sum.copy_from_slice(&h.finish().to_be_bytes());
}

/// The monthly goal `stats` reads, from the view cache if it can.
fn goal(d: &Device) -> i64 {
    d.json(&["stats", "--months", "1"])["months"][0]["goal"]
        .as_i64()
        .unwrap()
}

fn company_names(d: &Device) -> Vec<String> {
    let mut names: Vec<String> = records(d, "companies")
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_read_after_a_write_answers_from_the_view_the_write_brought_up_to_date() {
    let d = Device::init();
    d.ok(&["profile", "set", "--goal", "3"]);
    let first = d.log(&["Acme", "--kind", "technical"]);
    // The first read renders the view; each write after it brings it up to
    // date, so the read after it answers from it and shows the write.
    assert_eq!(goal(&d), 3);

    d.log(&["Globex", "--kind", "technical"]);
    mark_view(&d);
    assert_eq!(goal(&d), 7, "answered from the view");
    assert_eq!(company_names(&d), ["Acme", "Globex"]);

    d.ok(&["edit", &first, "--set", "notes=asked about Raft"]);
    mark_view(&d);
    assert_eq!(goal(&d), 7, "answered from the view");
    assert_eq!(d.json(&["show", &first])["notes"], "asked about Raft");

    d.ok(&["company", "add", "Initech", "--priority", "dream"]);
    d.ok(&["delete", &first]);
    mark_view(&d);
    assert_eq!(goal(&d), 7, "answered from the view");
    assert_eq!(company_names(&d), ["Acme", "Globex", "Initech"]);
    assert_eq!(
        records(&d, "interviews").len(),
        1,
        "the deleted one is gone"
    );

    // Without a view, a write does not render one; the next read does, and
    // reads right.
    let cache = d.home().join("view.cache");
    std::fs::remove_file(&cache).unwrap();
    d.log(&["Umbrella"]);
    assert!(!cache.exists());
    assert_eq!(goal(&d), 3);
    assert_eq!(company_names(&d), ["Acme", "Globex", "Initech", "Umbrella"]);

    // A view the write never brought up to date (killed in between): the
    // read finds it stale and still shows the write.
    let before = std::fs::read(&cache).unwrap();
    d.log(&["Hooli"]);
    std::fs::write(&cache, before).unwrap();
    mark_view(&d);
    assert_eq!(goal(&d), 3, "the stale view was not believed");
    assert_eq!(
        company_names(&d),
        ["Acme", "Globex", "Hooli", "Initech", "Umbrella"]
    );
}
