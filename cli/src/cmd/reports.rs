//! `today`, `stats`, `search` and `conflicts`.

use std::io::{BufRead, IsTerminal, Write as _};

use anyhow::{bail, Result};
use interlog_core::doc::Conflict;
use interlog_core::journal;
use interlog_core::model::{short, Money};
use interlog_core::report;
use interlog_core::time::{now, stored_zoned};
use interlog_core::ReadJournal;
use serde_json::{json, Value};

use super::{hex_id, Ctx};
use crate::args::ConflictCmd;
use crate::home::DeviceVault;
use crate::out;

pub fn today(ctx: &Ctx) -> Result<()> {
    let v = ctx.read()?;
    let t = report::today(&v.doc, now().date());
    let ids = v.doc.short_ids();
    let short = |id: &str| ids.get(id).to_string();
    if ctx.json {
        return out::json(&t);
    }
    if !t.interviews.is_empty() {
        out::heading("Interviews today");
        let mut tab = out::table(["id", "time", "company", "kind"]);
        for i in &t.interviews {
            let time = i
                .start
                .as_deref()
                .and_then(stored_zoned)
                .map(|z| z.strftime("%H:%M").to_string());
            tab.add_row([
                short(&i.id),
                time.unwrap_or_default(),
                i.company.clone().unwrap_or_default(),
                i.kind.clone().unwrap_or_default().replace('_', " "),
            ]);
        }
        out::print_table(&tab, "");
    }
    out::heading("Follow-ups due");
    let mut tab = out::table(["id", "due", "kind", "about", "note"]);
    for f in &t.followups {
        let due = match f.days_overdue {
            0 => "today".to_string(),
            n => format!("{} ({n}d late)", f.due),
        };
        tab.add_row([
            short(&f.id),
            due,
            f.kind.clone().unwrap_or_default().replace('_', " "),
            f.target.clone().unwrap_or_default(),
            f.note.clone().unwrap_or_default(),
        ]);
    }
    out::print_table(&tab, "Nothing due.");
    out::heading("Get back in touch");
    let mut tab = out::table(["id", "name", "last contact", "every", "overdue"]);
    for c in &t.reconnect {
        tab.add_row([
            short(&c.id),
            c.name.clone(),
            c.last_contact.clone().unwrap_or_else(|| "never".into()),
            format!("{} days", c.interval_days),
            format!("{} days", c.days_overdue),
        ]);
    }
    out::print_table(&tab, "Everyone is up to date.");
    Ok(())
}

pub fn stats(ctx: &Ctx, months: usize) -> Result<()> {
    if months == 0 || months > 240 {
        bail!("--months must be from 1 to 240");
    }
    let v = ctx.read()?;
    let s = report::stats(&v.doc, &now(), months);
    if ctx.json {
        return out::json(&s);
    }
    out::heading("Interviews per month");
    let mut t = out::table(["month", "interviews", "goal", "avg rating"]);
    for m in &s.months {
        let goal = match m.goal {
            Some(g) if m.interviews as i64 >= g => format!("{g} ✓"),
            Some(g) => g.to_string(),
            None => String::new(),
        };
        let bar = "█".repeat(m.interviews.min(30));
        t.add_row([
            m.month.clone(),
            format!("{:>3} {bar}", m.interviews),
            goal,
            m.avg_rating.map(|r| format!("{r:.1}")).unwrap_or_default(),
        ]);
    }
    out::print_table(&t, "");
    println!(
        "{}",
        out::safe(&format!(
            "trend, oldest month first: interviews {}  rating {}",
            s.sparklines.interviews, s.sparklines.rating
        ))
    );

    out::heading("Funnel by source (how many reached each stage)");
    let mut t =
        out::table(std::iter::once("source".to_string()).chain(s.funnel_stages.iter().cloned()));
    for f in &s.funnel {
        let mut row = vec![f.source.replace('_', " ")];
        row.extend(
            s.funnel_stages
                .iter()
                .map(|st| f.reached.get(st).copied().unwrap_or(0).to_string()),
        );
        t.add_row(row);
    }
    out::print_table(&t, "No opportunities yet.");

    for (title, list) in [
        ("Most asked questions", &s.most_asked),
        ("Weakest questions", &s.weakest),
    ] {
        out::heading(title);
        let mut t = out::table(["question", "asked", "avg rating"]);
        for q in list {
            t.add_row([
                q.wording.clone(),
                q.asked.to_string(),
                q.avg_rating.map(|r| format!("{r:.1}")).unwrap_or_default(),
            ]);
        }
        out::print_table(
            &t,
            "No rated questions yet; `interlog retro ID` records them.",
        );
    }

    out::heading("Resume items interviewers probed most");
    let mut t = out::table(["item", "interviews", "companies", "last", "avg rating"]);
    for i in &s.resume_items {
        t.add_row([
            i.item.clone(),
            i.probed.to_string(),
            i.companies.to_string(),
            i.last.clone().unwrap_or_default(),
            i.avg_rating.map(|r| format!("{r:.1}")).unwrap_or_default(),
        ]);
    }
    out::print_table(
        &t,
        "No resume items yet; `interlog retro ID` records what they asked about.",
    );

    out::heading("Offers against your current package");
    let current = match (s.current_annual_total, &s.current_currency) {
        (Some(minor), Some(c)) => Money {
            minor,
            currency: c.clone(),
        }
        .to_string(),
        _ => "not set (interlog profile set --base ... --currency ...)".into(),
    };
    println!("current: {}", out::safe(&current));
    let mut t = out::table([
        "company",
        "level",
        "vs you",
        "package/year",
        "vs current",
        "decision",
    ]);
    let mut notes = Vec::new();
    for o in &s.offers {
        let money = |minor: i64, currency: &str| {
            Money {
                minor,
                currency: currency.to_string(),
            }
            .to_string()
        };
        let mut total = match (o.annual_total, &o.currency) {
            (Some(minor), Some(c)) => money(minor, c),
            _ => String::new(),
        };
        if let (Some(conv), Some(c)) = (o.converted_total, &s.current_currency) {
            total = format!("{total}\n≈ {}", money(conv, c));
        }
        let name = o
            .company
            .clone()
            .unwrap_or_else(|| short(&o.id).to_string());
        if let Some(rate) = &o.rate {
            notes.push(format!("{name}: compared at {rate} (your profile's rate)"));
        }
        if let Some(why) = &o.not_compared {
            notes.push(format!("{name}: not compared: {why}"));
        }
        t.add_row([
            o.company.clone().unwrap_or_default(),
            o.level.clone().unwrap_or_default(),
            o.level_delta.map(|d| format!("{d:+}")).unwrap_or_default(),
            total,
            o.vs_current_pct
                .map(|p| format!("{p:+.1}%"))
                .unwrap_or_default(),
            o.decision.clone().unwrap_or_default(),
        ]);
    }
    out::print_table(&t, "No offers yet.");
    for n in notes {
        println!("{}", out::safe(&n));
    }
    Ok(())
}

pub fn search(ctx: &Ctx, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        bail!("search for something: `interlog search raft`");
    }
    let v = ctx.read()?;
    let hits = report::search(&v.doc, text.trim());
    let ids = v.doc.short_ids();
    let short = |id: &str| ids.get(id).to_string();
    if ctx.json {
        return out::json(&hits);
    }
    let mut t = out::table(["id", "kind", "record", "field", "match"]);
    for h in &hits {
        t.add_row([
            short(&h.id),
            h.record.clone(),
            h.title.clone(),
            h.field.clone(),
            h.snippet.clone(),
        ]);
    }
    out::print_table(&t, "No matches.");
    Ok(())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// "interview 01M8... (technical)", or "profile".
fn describe(doc: &dyn ReadJournal, c: &Conflict) -> String {
    match c.kind {
        Some(kind) => {
            let title = doc
                .record(kind, &c.id)
                .map(|r| r.title())
                .unwrap_or_default();
            format!("{kind} {} ({title})", short(&c.id))
        }
        None => "profile".into(),
    }
}

fn kind_name(c: &Conflict) -> &'static str {
    c.kind.map_or("profile", |k| k.name())
}

pub fn conflicts(ctx: &Ctx, action: Option<ConflictCmd>) -> Result<()> {
    let mut v = ctx.open()?;
    let (codes, list): (Vec<String>, Vec<Conflict>) =
        journal::conflicts(&v.doc).into_iter().unzip();
    let names = v.doc.device_names();
    let me = hex_id(v.device_id());
    // Who wrote each value: the device's name, or its id's first characters.
    let writer = |actor: &str| -> String {
        names
            .get(actor)
            .cloned()
            .unwrap_or_else(|| format!("device {}", actor.get(..8).unwrap_or(actor)))
    };
    match action {
        Some(ConflictCmd::Pick { code, choice }) => {
            let journal::Settled {
                code,
                conflict,
                value,
                commit,
            } = journal::settle(&mut v.doc, &code, choice)?;
            ctx.save(&mut v, &commit)?;
            let c = &conflict;
            if ctx.json {
                return out::json(
                    &json!({"code": code, "record": kind_name(c), "id": c.id, "field": c.path.join("."), "value": value}),
                );
            }
            println!(
                "{}",
                out::safe(&format!(
                    "kept {} for {} {}",
                    value_text(&value),
                    describe(&v.doc, c),
                    c.path.join(".")
                ))
            );
            Ok(())
        }
        None | Some(ConflictCmd::List) => {
            if ctx.json {
                let rows: Vec<Value> = list
                    .iter()
                    .zip(&codes)
                    .map(|(c, code)| {
                        let devices: Vec<String> = c.writers.iter().map(|w| writer(w)).collect();
                        json!({"code": code, "record": kind_name(c), "id": c.id, "field": c.path.join("."), "values": c.values, "writers": c.writers, "devices": devices})
                    })
                    .collect();
                return out::json(&rows);
            }
            if list.is_empty() {
                println!("No conflicts.");
                return Ok(());
            }
            let mut t = out::table(["id", "record", "field", "values (and who wrote each)"]);
            for (c, code) in list.iter().zip(&codes) {
                let values: Vec<String> = c
                    .values
                    .iter()
                    .zip(&c.writers)
                    .enumerate()
                    .map(|(j, (val, w))| {
                        let this = if *w == me { ", this device" } else { "" };
                        format!("{}) {} [{}{this}]", j + 1, value_text(val), writer(w))
                    })
                    .collect();
                t.add_row([
                    code.clone(),
                    describe(&v.doc, c),
                    c.path.join("."),
                    values.join("\n"),
                ]);
            }
            out::print_table(&t, "");
            if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
                pick_interactively(ctx, &mut v, &list, &codes)
            } else {
                println!("Keep one value with `interlog conflicts pick <id> <value number>`.");
                Ok(())
            }
        }
    }
}

fn pick_interactively(
    ctx: &Ctx,
    v: &mut DeviceVault,
    list: &[Conflict],
    codes: &[String],
) -> Result<()> {
    let stdin = std::io::stdin();
    let mut picked = 0;
    for (i, c) in list.iter().enumerate() {
        print!(
            "Keep which value for {} {}? [1-{}, Enter to skip] ",
            codes[i],
            out::safe(&c.path.join(".")),
            c.values.len()
        );
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.parse::<usize>() {
            Ok(n) if (1..=c.values.len()).contains(&n) => {
                journal::settle(&mut v.doc, &codes[i], n)?;
                picked += 1;
            }
            _ => println!("'{line}' is not one of 1-{}; skipped", c.values.len()),
        }
    }
    if picked > 0 {
        ctx.save(v, "resolve conflicts")?;
        println!("resolved {picked} conflict(s)");
    }
    Ok(())
}
