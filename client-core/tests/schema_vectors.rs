//! The schema as a shared test vector, `tests/vectors/schema.json`: every
//! kind's fields with their types, bounds and enum tables, the profile's,
//! what `parse_input` makes of typed input, and what `parse_amount` and
//! `parse_currency` make of typed money, messages included. The
//! phone reads the same file (`web/src/schema.ts` builds its field tables
//! from it, and `web/test/schema.test.ts` checks its input rules against the
//! cases), so the two clients validate alike and cannot drift apart.
//!
//! `INTERLOG_WRITE_VECTORS=1 cargo test -p interlog-core --test schema_vectors`
//! rewrites it after a deliberate change to the schema; review the diff.

use std::path::PathBuf;

use interlog_core::model::{self, FieldSpec, FieldType, Kind};
use serde_json::{json, Map, Value};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/schema.json")
}

fn ty(t: FieldType) -> Value {
    match t {
        FieldType::Text => json!({"type": "text"}),
        FieldType::Prose => json!({"type": "prose"}),
        FieldType::Int { min, max } => json!({"type": "int", "min": min, "max": max}),
        FieldType::Bool => json!({"type": "bool"}),
        FieldType::Date => json!({"type": "date"}),
        FieldType::DateTime => json!({"type": "datetime"}),
        FieldType::Enum(v) => json!({"type": "enum", "values": v}),
        FieldType::Ref(k) => json!({"type": "ref", "kind": k.name()}),
        FieldType::AnyRef => json!({"type": "anyref"}),
        FieldType::Set => json!({"type": "set"}),
        FieldType::EnumSet(v) => json!({"type": "enumset", "values": v}),
        FieldType::RefSet(k) => json!({"type": "refset", "kind": k.name()}),
        FieldType::Comp => json!({"type": "comp"}),
        FieldType::Entries => json!({"type": "entries"}),
        FieldType::Ratings => json!({"type": "ratings"}),
        FieldType::Map => json!({"type": "map"}),
    }
}

fn field(s: &FieldSpec) -> Value {
    let mut v = ty(s.ty);
    let o = v.as_object_mut().unwrap();
    o.insert("name".into(), s.name.into());
    o.insert("container".into(), s.ty.is_container().into());
    o.insert("help".into(), s.help.into());
    v
}

/// Typed input and what the schema makes of it: a value, or the message.
/// Dates and instants relative to now ("today", "+7") are left out: their
/// value changes every day.
const CASES: &[(&str, &str, &str)] = &[
    ("interview", "rating", "4"),
    ("interview", "rating", "+4"),
    ("interview", "rating", " 5 "),
    ("interview", "rating", "7"),
    ("interview", "rating", "0"),
    ("interview", "rating", "four"),
    ("interview", "duration_min", "45"),
    ("interview", "duration_min", "1441"),
    ("interview", "kind", "System Design"),
    ("interview", "kind", "system-design"),
    ("interview", "kind", "karaoke"),
    ("interview", "format", "ONSITE"),
    ("interview", "status", "no show"),
    ("opportunity", "level_delta", "-1"),
    ("opportunity", "level_delta", "+2"),
    ("opportunity", "level_delta", "4"),
    ("opportunity", "purpose", "practice, market-value"),
    ("opportunity", "purpose", "practice, fun"),
    ("opportunity", "source", "Inbound recruiter"),
    ("opportunity", "interest_now", "6"),
    ("company", "priority", "dream"),
    ("company", "priority", "top"),
    ("company", "sensitivity", "High"),
    ("company", "aliases", "ACME Corp, Acme,  "),
    ("company", "name", "  Acme  "),
    ("contact", "keep_in_touch_days", "30"),
    ("contact", "keep_in_touch_days", "0"),
    ("contact", "kind", "hiring manager"),
    ("contact", "last_contacted", "2026-03-04"),
    ("contact", "last_contacted", "March 4th"),
    ("followup", "done", "yes"),
    ("followup", "done", "N"),
    ("followup", "done", "maybe"),
    ("followup", "kind", "thank-you"),
    ("followup", "due", "2026-11-20"),
    ("followup", "due", "2026-02-30"),
    ("offer", "decision", "Negotiating"),
    ("offer", "level_delta", "-4"),
    ("question", "tags", "graphs,  dp"),
    ("interview", "questions", "x"),
    ("offer", "comp", "x"),
    ("contact", "employment", "x"),
];

fn cases() -> Vec<Value> {
    CASES
        .iter()
        .map(|(kind, name, input)| {
            let k = Kind::parse(kind).unwrap();
            let spec = model::field(Some(k), name).unwrap();
            match model::parse_input(spec, input) {
                Ok(v) => json!({"kind": kind, "field": name, "input": input, "value": v}),
                Err(e) => {
                    json!({"kind": kind, "field": name, "input": input, "error": e.to_string()})
                }
            }
        })
        .collect()
}

/// Amounts typed for a currency, and what `parse_amount` makes of them:
/// minor units, or the message.
const AMOUNTS: &[(&str, &str)] = &[
    ("120000", "EUR"),
    ("120,000.50", "EUR"),
    ("95k", "EUR"),
    ("1.5M", "USD"),
    ("0.5", "EUR"),
    ("-3", "EUR"),
    ("120.505", "EUR"),
    ("950000", "JPY"),
    ("1.5", "JPY"),
    ("1.234", "KWD"),
    ("12_000", "GBP"),
    ("abc", "EUR"),
    ("", "EUR"),
    (".", "EUR"),
];

const CURRENCY_INPUTS: &[&str] = &["eur", " Usd ", "EURO", "E1R", ""];

fn money() -> Value {
    let amounts: Vec<Value> = AMOUNTS
        .iter()
        .map(|(raw, cur)| match model::parse_amount(raw, cur) {
            Ok(v) => json!({"input": raw, "currency": cur, "minor": v}),
            Err(e) => json!({"input": raw, "currency": cur, "error": e}),
        })
        .collect();
    let currencies: Vec<Value> = CURRENCY_INPUTS
        .iter()
        .map(|raw| match model::parse_currency(raw) {
            Ok(v) => json!({"input": raw, "currency": v}),
            Err(e) => json!({"input": raw, "error": e}),
        })
        .collect();
    json!({
        "exponents": model::CURRENCIES.iter().map(|(c, e)| json!([c, e])).collect::<Vec<_>>(),
        "amounts": amounts,
        "currencies": currencies,
    })
}

fn schema() -> Value {
    let mut kinds = Map::new();
    for k in Kind::ALL {
        kinds.insert(
            k.name().replace('-', ""),
            json!({
                "name": k.name(),
                "root": k.root_key(),
                "title": k.title_field(),
                "fields": model::fields(k).map(field).collect::<Vec<_>>(),
            }),
        );
    }
    json!({
        "kinds": kinds,
        "profile": model::PROFILE.iter().map(field).collect::<Vec<_>>(),
        "stages": model::STAGES,
        "closed_stages": model::STAGES.iter().filter(|s| model::is_closed_stage(s)).collect::<Vec<_>>(),
        "comp_amounts": model::COMP_AMOUNTS,
        "cases": cases(),
        "money": money(),
    })
}

#[test]
fn the_schema_vector_is_the_schema() {
    let now = schema();
    if std::env::var_os("INTERLOG_WRITE_VECTORS").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (see docs/phone.md, test vectors)",
            path().display()
        )
    });
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert!(
        stored == now,
        "tests/vectors/schema.json differs from the schema: after a deliberate change, rewrite it with INTERLOG_WRITE_VECTORS=1 cargo test -p interlog-core --test schema_vectors and update the phone (web/src/schema.ts)"
    );
}
