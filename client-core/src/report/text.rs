//! A record's fields as text for people: what `interlog show` prints, one
//! line (or a few) per field, with references shown by their titles.

use serde_json::{Map, Value};

use super::{annual_total, ref_title};
use crate::doc::ReadJournal;
use crate::model::{self, comp_amount, short, FieldType, Kind, Record};
use crate::time::stored_zoned;

/// A field as text for people; `None` when empty.
pub fn field_text(doc: &dyn ReadJournal, r: &Record, name: &str, ty: FieldType) -> Option<String> {
    let text = match ty {
        FieldType::Ref(_) | FieldType::AnyRef => {
            let id = r.str(name)?;
            format!("{} ({})", ref_title(doc, id), short(id))
        }
        FieldType::RefSet(_) => r
            .set(name)
            .iter()
            .map(|id| ref_title(doc, id))
            .collect::<Vec<_>>()
            .join(", "),
        FieldType::Set | FieldType::EnumSet(_) => r.set(name).join(", "),
        FieldType::Comp => comp_text(r.map(name)?)?,
        FieldType::Entries => entries_text(doc, r, name),
        FieldType::Ratings => r
            .ratings(name)
            .into_iter()
            .map(|(id, rating)| match rating {
                Some(n) => format!("[{n}/5] {}", ref_title(doc, id)),
                None => ref_title(doc, id),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        FieldType::Map => r
            .map(name)?
            .iter()
            .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        FieldType::DateTime => {
            let s = r.str(name)?;
            stored_zoned(s).map_or_else(
                || s.to_string(),
                |z| z.strftime("%a %Y-%m-%d %H:%M %Z").to_string(),
            )
        }
        FieldType::Bool => if r.bool(name) { "yes" } else { "no" }.into(),
        _ => match r.get(name)? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    (!text.is_empty()).then_some(text)
}

/// A compensation map for people: "120,000 EUR/year + 10,000 bonus (= 130,000 EUR)".
pub fn comp_text(c: &Map<String, Value>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(base) = comp_amount(c, "base") {
        let period = c.get("period").and_then(Value::as_str).unwrap_or("year");
        parts.push(format!("{base}/{period}"));
    }
    for k in ["bonus", "signing", "equity"] {
        if let Some(m) = comp_amount(c, k) {
            parts.push(format!("{k} {m}"));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut text = parts.join(" + ");
    if let Some(total) = annual_total(c) {
        text.push_str(&format!(" (= {total} a year)"));
    }
    Some(text)
}

fn entries_text(doc: &dyn ReadJournal, r: &Record, name: &str) -> String {
    let s = |m: &Map<String, Value>, k: &str| {
        m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    let mut entries: Vec<(&str, &Map<String, Value>)> = r.entries(name).into_iter().collect();
    if name == "stages" {
        // In the order they happened: by instant (zones included), then by
        // key, the order they were recorded in; as `current_stage` reads them.
        entries.sort_by_key(|(key, e)| {
            let at = e
                .get("at")
                .and_then(Value::as_str)
                .and_then(stored_zoned)
                .map(|z| z.timestamp());
            (at, *key)
        });
    }
    let lines: Vec<String> = entries
        .into_iter()
        .map(|(_, e)| match name {
            "stages" => {
                let at = stored_zoned(&s(e, "at"))
                    .map_or_else(|| s(e, "at"), |z| z.strftime("%Y-%m-%d").to_string());
                format!("{at} {} {}", s(e, "stage"), s(e, "note"))
                    .trim_end()
                    .to_string()
            }
            "employment" => {
                let company = e
                    .get("company")
                    .and_then(Value::as_str)
                    .map(|c| ref_title(doc, c))
                    .unwrap_or_default();
                let to = match s(e, "to").as_str() {
                    "" => "now".to_string(),
                    t => t.to_string(),
                };
                format!("{} at {company}, {} to {to}", s(e, "title"), s(e, "from"))
                    .trim()
                    .to_string()
            }
            "rounds" => {
                let currency = s(e, "currency");
                let money = |k: &str| {
                    e.get(k)
                        .and_then(Value::as_i64)
                        .map(|minor| {
                            model::Money {
                                minor,
                                currency: currency.clone(),
                            }
                            .to_string()
                        })
                        .unwrap_or_else(|| "-".into())
                };
                format!(
                    "{} asked {} offered {} {}",
                    s(e, "at"),
                    money("asked"),
                    money("offered"),
                    s(e, "note")
                )
                .trim_end()
                .to_string()
            }
            _ => Value::Object(e.clone()).to_string(),
        })
        .collect();
    lines.join("\n")
}

/// Sorts records of one kind the way lists show them: interviews most
/// recent first, follow-ups open and soonest first, opportunities and
/// offers newest first, the rest by title.
pub fn sort(records: &mut [Record]) {
    let Some(first) = records.first() else { return };
    match first.kind {
        // Most recent first.
        Kind::Interview => records.sort_by(|a, b| {
            let key = |r: &Record| r.str("start").and_then(stored_zoned).map(|z| z.timestamp());
            key(b).cmp(&key(a)).then(b.id.cmp(&a.id))
        }),
        Kind::FollowUp => records.sort_by(|a, b| {
            (a.bool("done"), a.str("due"), &a.id).cmp(&(b.bool("done"), b.str("due"), &b.id))
        }),
        Kind::Opportunity | Kind::Offer => records.sort_by(|a, b| b.id.cmp(&a.id)),
        _ => records.sort_by_key(|r| (r.title().to_lowercase(), r.id.clone())),
    }
}

/// A list row's cells, after the id.
pub type Cols = fn(&dyn ReadJournal, &Record) -> Vec<String>;

/// The columns a list of `kind` shows (after the id), and how a record
/// fills them.
pub fn columns(kind: Kind) -> (&'static [&'static str], Cols) {
    fn s(r: &Record, f: &str) -> String {
        r.str(f).unwrap_or("").replace('_', " ")
    }
    fn i(r: &Record, f: &str) -> String {
        r.int(f).map(|n| n.to_string()).unwrap_or_default()
    }
    fn company(doc: &dyn ReadJournal, r: &Record) -> String {
        r.str("company")
            .map(|c| ref_title(doc, c))
            .unwrap_or_default()
    }
    match kind {
        Kind::Company => (&["name", "priority", "sensitivity", "industry"], |_, r| {
            vec![
                r.title(),
                s(r, "priority"),
                s(r, "sensitivity"),
                s(r, "industry"),
            ]
        }),
        Kind::Contact => (&["name", "kind", "works at", "keep in touch"], |doc, r| {
            let job = r
                .current_employer()
                .map(|c| ref_title(doc, c))
                .unwrap_or_default();
            let kit = r
                .int("keep_in_touch_days")
                .map(|d| format!("every {d} days"))
                .unwrap_or_default();
            vec![r.title(), s(r, "kind"), job, kit]
        }),
        Kind::Opportunity => (
            &["company", "role", "stage", "source", "interest"],
            |doc, r| {
                vec![
                    company(doc, r),
                    s(r, "role"),
                    r.current_stage().unwrap_or("").to_string(),
                    s(r, "source"),
                    i(r, "interest_now"),
                ]
            },
        ),
        Kind::Interview => (
            &["when", "company", "kind", "rating", "status"],
            |doc, r| {
                let when = r
                    .str("start")
                    .and_then(stored_zoned)
                    .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                vec![
                    when,
                    company(doc, r),
                    s(r, "kind"),
                    i(r, "rating"),
                    s(r, "status"),
                ]
            },
        ),
        Kind::Offer => (
            &["company", "level", "package", "decision", "expires"],
            |doc, r| {
                let total = r
                    .map("comp")
                    .and_then(annual_total)
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                let level = match (r.str("level"), r.int("level_delta")) {
                    (Some(l), Some(d)) => format!("{l} ({d:+})"),
                    (Some(l), None) => l.to_string(),
                    (None, Some(d)) => format!("{d:+}"),
                    (None, None) => String::new(),
                };
                vec![
                    company(doc, r),
                    level,
                    total,
                    s(r, "decision"),
                    s(r, "expires"),
                ]
            },
        ),
        Kind::FollowUp => (&["due", "kind", "about", "note", "done"], |doc, r| {
            let about = r
                .str("target")
                .map(|t| ref_title(doc, t))
                .unwrap_or_default();
            let done = if r.bool("done") { "done" } else { "" };
            vec![
                s(r, "due"),
                s(r, "kind"),
                about,
                r.str("note").unwrap_or("").into(),
                done.into(),
            ]
        }),
        Kind::Question => (&["question", "category", "tags"], |_, r| {
            vec![r.title(), s(r, "category"), r.set("tags").join(", ")]
        }),
    }
}
