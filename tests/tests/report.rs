//! `interlog report` and the additions to `interlog stats`, as a user sees
//! them: a journal with something in every section, the page opened in a
//! real headless Chromium, and the terminal's sparklines and notes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use interlog_e2e::{browser, png, Device};
use jiff::civil::Date;
use jiff::ToSpan;

const EVIL: &str = "<script>alert(1)</script>";

fn today() -> Date {
    jiff::Zoned::now().date()
}

/// "YYYY-MM-DD 07:00" on the 10th of the month `back` months ago, or today
/// if that is later (the report ends today), before working hours.
fn months_ago(back: i64) -> String {
    let first = today().first_of_month().checked_sub(back.months()).unwrap();
    let d = first.checked_add(9.days()).unwrap().min(today());
    format!("{d} 07:00")
}

fn date_months_ago(back: i64) -> String {
    months_ago(back)[..10].to_string()
}

fn retro(d: &Device, scripts: &Path, id: &str, body: &str) {
    let path = scripts.join(format!("editor-{id}.sh"));
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat > \"$1\" <<'RETRO'\n{body}\nRETRO\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = d.cmd(&["retro", id]).env("EDITOR", &path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A year of interviewing with something in every section of the report:
/// interviews against a goal, ratings, a funnel, offers in the user's
/// currency, in one with a rate and in one without, questions, resume
/// items and contacts. `company` is the name of one of the companies.
fn journal(company: &str) -> Device {
    let d = Device::init();
    let scripts = tempfile::tempdir().unwrap();
    d.ok(&[
        "profile",
        "set",
        "--goal",
        "2",
        "--base",
        "100k",
        "--currency",
        "EUR",
        "--rate",
        "USD=0.9",
    ]);
    d.ok(&["contact", "add", "Ana Lee", "--keep-in-touch", "30"]);
    d.ok(&["contact", "add", "Bo Chen", "--keep-in-touch", "365"]);
    d.ok(&["contact", "touched", "Bo Chen", "--on", &date_months_ago(2)]);

    let plan: [(i64, &str, &str, u8); 9] = [
        (10, "Acme", "technical", 2),
        (8, "Acme", "system_design", 3),
        (7, company, "behavioral", 3),
        (5, "Globex", "technical", 3),
        (4, "Globex", "hiring_manager", 4),
        (3, company, "technical", 4),
        (2, "Initrode", "system_design", 4),
        (1, "Initrode", "behavioral", 5),
        (0, "Acme", "technical", 4),
    ];
    for (n, (back, at, kind, rating)) in plan.iter().enumerate() {
        let mut args = vec!["log", at, "--kind", kind, "--at"];
        let when = months_ago(*back);
        args.push(&when);
        if n % 2 == 0 {
            args.extend(["--with", "Ana Lee"]);
        }
        let id = d.ok(&args).trim().to_string();
        let q_rating = 1 + (n as u8 * 4) / 8; // 1 to 5: the answers got better
        let body = format!(
            "## Rating (1-5)\n{rating}\n\n## Questions asked\n- [{q_rating}] Design a rate limiter\n- [{}] Tell me about a conflict\n\n## Resume items they probed\n- Kafka migration\n{}\n",
            5 - (n % 3),
            if n % 3 == 0 { "- Led the on-call rework" } else { "" }
        );
        retro(&d, scripts.path(), &id, &body);
    }

    for (at, source, stage, base, currency, received) in [
        ("Globex", "referral", "offer", "110k", "EUR", 4),
        ("Initrode", "inbound_recruiter", "offer", "125k", "USD", 1),
        (company, "agency", "final", "", "", 0),
        ("Umbrella", "applied", "screen", "", "", 0),
        ("Hooli", "referral", "offer", "95k", "GBP", 0),
    ] {
        let opp = d
            .ok(&[
                "opp",
                "add",
                at,
                "--role",
                "Staff Engineer",
                "--source",
                source,
                "--stage",
                stage,
            ])
            .trim()
            .to_string();
        if !base.is_empty() {
            d.ok(&[
                "offer",
                "add",
                &opp,
                "--received",
                &date_months_ago(received),
                "--level",
                "Staff",
                "--level-delta",
                "+1",
                "--base",
                base,
                "--currency",
                currency,
            ]);
        }
    }
    d
}

/// The value of every `data-marks` attribute: how many data marks each
/// chart drew.
fn chart_marks(html: &str) -> Vec<(String, usize)> {
    html.split("<svg ")
        .skip(1)
        .map(|svg| {
            let label = svg
                .split("aria-label=\"")
                .nth(1)
                .map(|s| s[..s.find('"').unwrap()].to_string())
                .unwrap_or_default();
            let marks = svg
                .split("data-marks=\"")
                .nth(1)
                .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
                .expect("every chart says how many marks it drew");
            (label, marks)
        })
        .collect()
}

fn assert_fetches_nothing(html: &str) {
    assert!(
        html.contains("default-src 'none'"),
        "the page forbids fetching"
    );
    for needle in [
        "src=", "href=", "url(", "@import", "<link", "<img", "<iframe", "<object",
    ] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_ns.contains("http://") && !without_ns.contains("https://"),
        "the page names a URL"
    );
}

#[test]
fn the_report_renders_in_chromium_with_every_chart_drawn_and_no_request() {
    let d = journal(EVIL);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = d.ok(&["report", "--out", page.to_str().unwrap()]);
    assert!(out.contains("wrote"), "{out}");
    let mode = std::fs::metadata(&page).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the report is owner-only, like exports"
    );
    let html = std::fs::read_to_string(&page).unwrap();

    // Every section, every chart drawn, nothing fetched, the name escaped.
    for id in [
        "interviews",
        "rating",
        "funnel",
        "offers",
        "questions",
        "resume",
        "network",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    let charts = chart_marks(&html);
    assert!(charts.len() >= 9, "{charts:?}");
    for (label, marks) in &charts {
        assert!(*marks > 0, "chart '{label}' is empty: {charts:?}");
    }
    assert!(!html.contains("no data yet"));
    let by_label = |l: &str| charts.iter().find(|(c, _)| c == l).map(|c| c.1);
    assert_eq!(
        by_label("Interviews per month"),
        Some(9),
        "one bar per month with interviews"
    );
    assert_eq!(by_label("Average self-rating per month (1 to 5)"), Some(9));
    assert!(html.contains("goal 2"), "the goal line is drawn");
    assert!(html.contains("Kafka migration") && html.contains("Design a rate limiter"));
    assert!(
        html.contains("1 USD = 0.9 EUR"),
        "the USD offer is compared at the rate"
    );
    assert!(
        html.contains("not compared"),
        "the GBP offer says why it is not"
    );
    assert_fetches_nothing(&html);
    assert!(
        !html.contains("<script"),
        "no script, and the company's name is escaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("name=\"viewport\"") && html.contains("@media print"));

    let Some(chromium) = browser::chromium() else {
        return;
    };
    let mut chrome = browser::Browser::launch(&chromium);
    let v = chrome.visit(&page, 1000, false, CHARTS, u64::MAX);
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    assert_eq!(
        v.requests,
        std::slice::from_ref(&url),
        "the page requested more than itself"
    );
    // As drawn: every chart has data marks and a real size on screen.
    let drawn = v.probe.as_array().expect("the probe lists the charts");
    assert_eq!(
        drawn.len(),
        charts.iter().filter(|(l, _)| l != "trend").count()
    );
    for c in drawn {
        let (marks, w, h) = (
            c[1].as_u64().unwrap(),
            c[2].as_u64().unwrap(),
            c[3].as_u64().unwrap(),
        );
        assert!(
            marks > 0 && w > 300 && h > 40,
            "chart drawn empty or tiny: {c}"
        );
    }
    let img = png::decode(&v.png).unwrap();
    assert_eq!((img.width as u64, img.height as u64), (1000, v.size.1));
    let total = img.width * img.height;
    let ink = img.count(|[r, g, b]| r < 235 || g < 235 || b < 235);
    // The chart colour (#2f62d0) and the goal line (#d9822b).
    let accent = img.count(|[r, g, b]| r < 90 && (80..130).contains(&g) && b > 180);
    let goal = img.count(|[r, g, b]| r > 190 && (110..150).contains(&g) && b < 80);
    eprintln!(
        "screenshot: {}x{}, {} bytes, ink {ink} px ({:.1}%), chart colour {accent} px, goal line {goal} px; page requests {}, browser background requests refused {}",
        img.width,
        img.height,
        v.png.len(),
        ink as f64 * 100.0 / total as f64,
        v.requests.len(),
        v.background
    );
    assert!(
        ink * 100 > total * 3,
        "the page looks blank: {ink} of {total} pixels inked"
    );
    assert!(
        accent > 20_000,
        "the charts are not drawn: {accent} pixels of chart colour"
    );
    assert!(goal > 200, "the goal line is not drawn: {goal} pixels");

    // On a phone: nothing scrolls sideways, the charts fit the screen.
    let phone = chrome.visit(&page, 390, true, CHARTS, u64::MAX);
    assert_eq!(phone.requests, [url]);
    assert!(
        phone.size.0 <= 390,
        "the page scrolls sideways on a phone: {:?}",
        phone.size
    );
    for c in phone.probe.as_array().unwrap() {
        let w = c[2].as_u64().unwrap();
        assert!(
            (300..=390).contains(&w),
            "a chart does not fit a phone: {c}"
        );
    }

    // Printed on A4: a real PDF of a few pages, not one page per chart.
    let pdf = chrome.print(&page);
    let text = String::from_utf8_lossy(&pdf);
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(at, m)| !text[at + m.len()..].starts_with('s'))
        .count();
    eprintln!("printed: {} bytes, {pages} pages", pdf.len());
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(
        pdf.len() > 20_000,
        "the printout is nearly empty: {} bytes",
        pdf.len()
    );
    assert!((2..=10).contains(&pages), "{pages} A4 pages");

    // The probe works: a page that fetches is caught.
    let fetching = dir.path().join("fetching.html");
    std::fs::write(
        &fetching,
        "<!DOCTYPE html><html><body><img src=\"http://example.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let caught = chrome.visit(&fetching, 400, false, "0", 300);
    assert!(
        caught
            .requests
            .iter()
            .any(|r| r.contains("example.invalid")),
        "the request was not seen: {:?}",
        caught.requests
    );

    // `INTERLOG_DOCS_SCREENSHOT=1` refreshes docs/report.png: the top of
    // the page, from a journal with ordinary names.
    if std::env::var_os("INTERLOG_DOCS_SCREENSHOT").is_some() {
        let d = journal("Initech");
        let page = dir.path().join("docs.html");
        d.ok(&["report", "--out", page.to_str().unwrap()]);
        let shot = chrome.visit(&page, 820, false, "0", 1900);
        assert_eq!(shot.requests.len(), 1);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::write(root.join("docs/report.png"), shot.png).unwrap();
        // The whole page and its printout too, to look at (not committed).
        std::fs::write(root.join("target/report.pdf"), chrome.print(&page)).unwrap();
        let whole = chrome.visit(&page, 820, false, "0", u64::MAX);
        std::fs::write(root.join("target/report-whole.png"), whole.png).unwrap();
    }
}

/// For each chart as drawn: its label, its data marks (bars, points,
/// lines), and its width and height on screen.
const CHARTS: &str = "Array.from(document.querySelectorAll('svg.chart')).map(s => { const r = s.getBoundingClientRect(); return [s.getAttribute('aria-label'), s.querySelectorAll('rect.bar, circle.point, path.series').length, Math.round(r.width), Math.round(r.height)]; })";

#[test]
fn a_company_named_like_a_script_is_shown_as_text() {
    let d = Device::init();
    d.log(&[
        EVIL,
        "--kind",
        "technical",
        "--rating",
        "4",
        "--at",
        &months_ago(0),
    ]);
    let html = d.ok(&["report", "--out", "-"]);
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn an_empty_journal_gives_a_page_of_empty_charts() {
    let d = Device::init();
    let html = d.ok(&["report", "--out", "-"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    let charts = chart_marks(&html);
    assert!(!charts.is_empty());
    assert!(charts.iter().all(|(_, m)| *m == 0), "{charts:?}");
    assert!(html.contains("no data yet"));
    assert_fetches_nothing(&html);

    // The default file is named after today, in the current directory.
    let cwd = tempfile::tempdir().unwrap();
    let out = d
        .cmd(&["--json", "report"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = format!("interview-report-{}.html", today());
    assert_eq!(v["out"], name.as_str());
    assert!(cwd.path().join(&name).exists());
    assert_eq!(v["to"], today().to_string());
}

#[test]
fn since_sets_the_period_and_bad_periods_say_what_to_type() {
    let d = Device::init();
    d.log(&["Acme", "--at", &months_ago(14)]);
    d.log(&["Acme", "--at", &months_ago(1)]);
    let last_year = d.ok(&["report", "--out", "-"]);
    assert!(
        last_year.contains(">1</b><span>interviews"),
        "the default is 12 months"
    );
    let longer = d.ok(&["report", "--out", "-", "--since", "18m"]);
    assert!(longer.contains(">2</b><span>interviews"));
    let err = d.fails(&["report", "--since", "soon"]);
    assert!(err.contains("2025-06") && err.contains("6m"), "{err}");
    let err = d.fails(&["report", "--since", "2999-01-01"]);
    assert!(err.contains("after today"), "{err}");
}

#[test]
fn stats_show_sparklines_resume_items_and_why_an_offer_is_not_compared() {
    let d = journal("Initech");
    let s = d.json(&["stats"]);
    let spark = s["sparklines"]["interviews"].as_str().unwrap();
    assert_eq!(spark.chars().count(), 12, "one block per month: {spark}");
    assert!(spark.chars().all(|c| "▁▂▃▄▅▆▇█".contains(c)), "{spark}");
    assert_eq!(
        spark.chars().last(),
        Some('█'),
        "this month is the busiest: {spark}"
    );
    let rating = s["sparklines"]["rating"].as_str().unwrap();
    assert_eq!(rating.chars().count(), 12);
    assert!(
        rating.contains('·'),
        "months without interviews are gaps: {rating}"
    );
    assert!(rating.ends_with('▆'), "this month's 4 of 5: {rating}");

    let items = s["resume_items"].as_array().unwrap();
    assert_eq!(items[0]["item"], "Kafka migration");
    assert_eq!(items[0]["probed"], 9);
    assert_eq!(items[0]["companies"], 4);
    assert_eq!(items[1]["item"], "Led the on-call rework");
    assert_eq!(items[1]["probed"], 3);

    let offers = s["offers"].as_array().unwrap();
    let find = |c: &str| offers.iter().find(|o| o["currency"] == c).unwrap();
    let eur = find("EUR");
    assert_eq!(eur["vs_current_pct"], 10.0);
    assert!(eur["not_compared"].is_null());
    let usd = find("USD");
    assert_eq!(usd["rate"], "1 USD = 0.9 EUR");
    assert_eq!(usd["converted_total"], 11_250_000);
    assert_eq!(usd["vs_current_pct"], 12.5);
    let gbp = find("GBP");
    assert!(gbp["vs_current_pct"].is_null());
    let why = gbp["not_compared"].as_str().unwrap();
    assert!(
        why.contains("GBP") && why.contains("EUR") && why.contains("--rate GBP="),
        "{why}"
    );

    let text = d.ok(&["stats"]);
    assert!(text.contains(&format!("interviews {spark}")), "{text}");
    assert!(
        text.contains("Resume items interviewers probed most"),
        "{text}"
    );
    assert!(text.contains("Kafka migration"));
    assert!(text.contains("Hooli: not compared: in GBP"), "{text}");
    assert!(
        text.contains("Initrode: compared at 1 USD = 0.9 EUR"),
        "{text}"
    );
    assert!(text.contains("≈ 112,500 EUR"), "{text}");

    // A rate for GBP brings it in; `none` takes it out again.
    d.ok(&["profile", "set", "--rate", "GBP=1.15"]);
    let gbp = &d.json(&["stats"])["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["currency"] == "GBP")
        .unwrap()
        .clone();
    assert_eq!(gbp["converted_total"], 10_925_000);
    assert!(d.ok(&["profile", "show"]).contains("1 GBP = 1.15 EUR"));
    d.ok(&["profile", "set", "--rate", "GBP=none"]);
    assert!(!d.ok(&["profile", "show"]).contains("GBP"));
    let err = d.fails(&["profile", "set", "--rate", "EUR=2"]);
    assert!(err.contains("your own currency"), "{err}");
}

#[test]
fn a_rate_needs_your_own_currency_and_a_real_number() {
    let d = Device::init();
    let err = d.fails(&["profile", "set", "--rate", "USD=0.9"]);
    assert!(err.contains("--currency"), "{err}");
    // Set together with the package, the rate is to that package's currency.
    d.ok(&[
        "profile",
        "set",
        "--base",
        "80k",
        "--currency",
        "GBP",
        "--rate",
        "eur=0.85",
    ]);
    assert_eq!(d.json(&["profile", "show"])["rate:EUR:GBP"], "0.85");
    for bad in ["USD=0", "USD=-1", "USD=lots", "USD", "dollars=1"] {
        let err = d.fails(&["profile", "set", "--rate", bad]);
        assert!(
            err.contains("rate") || err.contains("currency"),
            "{bad}: {err}"
        );
    }
}
