//! Redaction: the journal as something a user can show a coach or a friend.
//!
//! [`redacted`] turns a document into a read-only view of the same journal
//! in which nothing identifies anyone, while the numbers and the shape stay
//! intact. Every export (`interlog export --redact`) and every report made
//! from that view is redacted too, because they read nothing else: the
//! report calls `report(&redacted(&doc), …)` and needs no redaction of its
//! own. What it guarantees:
//!
//! - **Names become pseudonyms by kind**: "Company 7", "Contact 3",
//!   "Opportunity 2" (an opportunity's role), "Question 4" (a question's
//!   wording). The number is the record's place among all records of its
//!   kind, deleted ones included, sorted by id; ids are ULIDs, so that is
//!   the order they were created in, to the millisecond. The same journal
//!   gives the same pseudonyms on every run and every device holding the
//!   same changes.
//! - **Ids are kept**, so every reference (an interview's company, an
//!   offer's opportunity, a question's rating, a follow-up's target) still
//!   resolves, to the pseudonym. They are random ULIDs and name nobody.
//! - **Prose becomes [`PLACEHOLDER`]**: notes, retro answers, how you met,
//!   reasons, titles, levels, follow-up notes, and contact details (email,
//!   phone, link). An empty or missing value stays empty or missing, so the
//!   coach still sees whether a retro was written.
//! - **Free labels become numbered labels**: an industry, a resume item, a
//!   tag, a question category. The same text gets the same label ("Resume
//!   item 2"), so "probed most" still counts right. A question category that
//!   is one of the interview kinds (`technical`, `behavioral`…) is kept:
//!   it names a kind of question, not a person or a place.
//! - **Numbers, dates, ratings, enums, currencies and references are
//!   kept**, but only when the value has the shape its field promises: a
//!   rating must be a number, a stage one of the stages, a date a date. A
//!   value of another shape (odd data from an import, a newer version) is
//!   dropped rather than guessed at.
//! - **Anything not in the classification is dropped**: a field written by
//!   a newer version, an unknown key in a nested map, an unknown root. A
//!   new field therefore never leaks before someone classifies it, and
//!   [`tests::every_schema_field_has_a_class`] fails until they do.
//! - **Nothing about the devices or the relay**: the view has no `meta`
//!   (device names, the relay's URL and pin), no vault id and no heads.
//!
//! The classification is one table per record kind ([`class`]), next to the
//! schema's: each field is kept, renamed, relabelled, blanked or dropped.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::doc::{ReadJournal, VaultView};
use crate::model::{
    Kind, CLOSED_BY, CONTACT_KINDS, DECISIONS, FOLLOWUP_KINDS, INTERVIEW_FORMATS, INTERVIEW_KINDS,
    INTERVIEW_STATUSES, PERIODS, PRIORITIES, PURPOSES, SENSITIVITIES, SOURCES, STAGES,
    TOLD_RECRUITER, WEEKDAYS,
};
use crate::time::stored_zoned;

/// What prose becomes: short, neutral, and plainly not the user's words.
pub const PLACEHOLDER: &str = "[redacted]";

/// The root key a redacted journal carries (`"redacted": true`), so that
/// importing one is refused instead of overwriting real names with
/// pseudonyms (see [`crate::export::import_json`]).
pub const MARKER: &str = "redacted";

/// The shape a kept value must have; anything else is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A JSON number.
    Number,
    Bool,
    /// A calendar date (or an instant, read as its date).
    Date,
    /// An instant with its time zone.
    DateTime,
    /// One of a fixed list of strings.
    OneOf(&'static [&'static str]),
    /// A set (map to `true`) drawn from a fixed list.
    SomeOf(&'static [&'static str]),
    /// A record id.
    Id,
    /// A set of record ids.
    Ids,
    /// Record id to a number or `null` (an interview's question ratings).
    Ratings,
    /// An ISO 4217 code: three letters.
    Currency,
    /// A time of day, `HH:MM` (working hours).
    Clock,
}

/// What redaction does to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Numbers, dates, ratings, enums, references: kept when the value has
    /// this shape, dropped otherwise.
    Kept(Shape),
    /// The record's name: replaced by its pseudonym ("Company 7").
    Name,
    /// A free label: the same text gets the same numbered label
    /// ("Industry 2"); members of a set each get theirs. Values in `known`
    /// are vocabulary, not labels, and are kept.
    Label {
        prefix: &'static str,
        known: &'static [&'static str],
    },
    /// Free text or contact details: replaced by [`PLACEHOLDER`].
    Prose,
    /// Removed: names whose count alone says nothing useful (aliases).
    Dropped,
    /// A map of entries keyed by id, each with these fields.
    Entries(&'static [(&'static str, Class)]),
    /// A nested map with these fields.
    Map(&'static [(&'static str, Class)]),
}

use Class::{Dropped, Entries, Kept, Label, Map as Nested, Name, Prose};

/// A compensation map: every part of it is a number or a code.
pub const COMP: Class = Nested(&[
    ("currency", Kept(Shape::Currency)),
    ("period", Kept(Shape::OneOf(PERIODS))),
    ("base", Kept(Shape::Number)),
    ("bonus", Kept(Shape::Number)),
    ("signing", Kept(Shape::Number)),
    ("equity", Kept(Shape::Number)),
]);

const COMMON: &[(&str, Class)] = &[
    ("notes", Prose),
    ("created_at", Kept(Shape::DateTime)),
    ("deleted_at", Kept(Shape::DateTime)),
];

const COMPANY: &[(&str, Class)] = &[
    ("name", Name),
    ("aliases", Dropped),
    (
        "industry",
        Label {
            prefix: "Industry",
            known: &[],
        },
    ),
    ("priority", Kept(Shape::OneOf(PRIORITIES))),
    ("sensitivity", Kept(Shape::OneOf(SENSITIVITIES))),
    ("sensitivity_reason", Prose),
];

const CONTACT: &[(&str, Class)] = &[
    ("name", Name),
    ("kind", Kept(Shape::OneOf(CONTACT_KINDS))),
    (
        "employment",
        Entries(&[
            ("company", Kept(Shape::Id)),
            ("title", Prose),
            ("from", Kept(Shape::Date)),
            ("to", Kept(Shape::Date)),
        ]),
    ),
    (
        "channels",
        Nested(&[("email", Prose), ("phone", Prose), ("link", Prose)]),
    ),
    ("met", Prose),
    ("keep_in_touch_days", Kept(Shape::Number)),
    ("last_contacted", Kept(Shape::Date)),
];

const OPPORTUNITY: &[(&str, Class)] = &[
    ("company", Kept(Shape::Id)),
    ("role", Name),
    // A company's level label ("E5", "L6") points at the company; the
    // level relative to yours (`level_delta`) is what a coach needs.
    ("level", Prose),
    ("level_delta", Kept(Shape::Number)),
    ("source", Kept(Shape::OneOf(SOURCES))),
    ("purpose", Kept(Shape::SomeOf(PURPOSES))),
    ("interest_before", Kept(Shape::Number)),
    ("interest_now", Kept(Shape::Number)),
    ("told_recruiter", Kept(Shape::OneOf(TOLD_RECRUITER))),
    ("recruiter", Kept(Shape::Id)),
    (
        "stages",
        Entries(&[
            ("stage", Kept(Shape::OneOf(STAGES))),
            ("at", Kept(Shape::DateTime)),
            ("note", Prose),
        ]),
    ),
    (
        "close",
        Nested(&[
            ("by", Kept(Shape::OneOf(CLOSED_BY))),
            ("reason", Prose),
            ("door_open", Kept(Shape::Bool)),
            ("at", Kept(Shape::DateTime)),
        ]),
    ),
    ("posted_comp", COMP),
    ("asked_comp", COMP),
];

const INTERVIEW: &[(&str, Class)] = &[
    ("opportunity", Kept(Shape::Id)),
    ("company", Kept(Shape::Id)),
    ("start", Kept(Shape::DateTime)),
    ("duration_min", Kept(Shape::Number)),
    ("kind", Kept(Shape::OneOf(INTERVIEW_KINDS))),
    ("format", Kept(Shape::OneOf(INTERVIEW_FORMATS))),
    ("status", Kept(Shape::OneOf(INTERVIEW_STATUSES))),
    ("interviewers", Kept(Shape::Ids)),
    ("rating", Kept(Shape::Number)),
    ("questions", Kept(Shape::Ratings)),
    (
        "resume_items",
        Label {
            prefix: "Resume item",
            known: &[],
        },
    ),
    ("went_well", Prose),
    ("improve", Prose),
    ("looking_for", Prose),
];

const OFFER: &[(&str, Class)] = &[
    ("opportunity", Kept(Shape::Id)),
    ("company", Kept(Shape::Id)),
    ("received", Kept(Shape::Date)),
    ("expires", Kept(Shape::Date)),
    ("level", Prose),
    ("level_delta", Kept(Shape::Number)),
    ("comp", COMP),
    (
        "rounds",
        Entries(&[
            ("at", Kept(Shape::Date)),
            ("currency", Kept(Shape::Currency)),
            ("asked", Kept(Shape::Number)),
            ("offered", Kept(Shape::Number)),
            ("note", Prose),
        ]),
    ),
    ("decision", Kept(Shape::OneOf(DECISIONS))),
];

const FOLLOWUP: &[(&str, Class)] = &[
    ("due", Kept(Shape::Date)),
    ("kind", Kept(Shape::OneOf(FOLLOWUP_KINDS))),
    ("target", Kept(Shape::Id)),
    ("note", Prose),
    ("done", Kept(Shape::Bool)),
    ("snoozed_until", Kept(Shape::Date)),
];

const QUESTION: &[(&str, Class)] = &[
    ("wording", Name),
    (
        "category",
        Label {
            prefix: "Category",
            known: INTERVIEW_KINDS,
        },
    ),
    ("answer", Prose),
    (
        "tags",
        Label {
            prefix: "Tag",
            known: &[],
        },
    ),
];

/// The profile: your title and level say where you work; your package,
/// goal and working hours are the baseline a coach compares against.
const PROFILE: &[(&str, Class)] = &[
    ("role", Prose),
    ("level", Prose),
    ("comp", COMP),
    ("monthly_goal", Kept(Shape::Number)),
    ("work_start", Kept(Shape::Clock)),
    ("work_end", Kept(Shape::Clock)),
    ("work_days", Kept(Shape::SomeOf(WEEKDAYS))),
];

/// A kind's own classified fields (without the common ones).
fn own(kind: Kind) -> &'static [(&'static str, Class)] {
    match kind {
        Kind::Company => COMPANY,
        Kind::Contact => CONTACT,
        Kind::Opportunity => OPPORTUNITY,
        Kind::Interview => INTERVIEW,
        Kind::Offer => OFFER,
        Kind::FollowUp => FOLLOWUP,
        Kind::Question => QUESTION,
    }
}

/// Every classified field of a kind (`None`: the profile), in the order
/// redaction visits them.
pub fn classes(kind: Option<Kind>) -> impl Iterator<Item = &'static (&'static str, Class)> {
    let (mine, common): (&'static [_], &'static [_]) = match kind {
        Some(k) => (own(k), COMMON),
        None => (PROFILE, &[]),
    };
    mine.iter().chain(common.iter())
}

/// What redaction does to a field of a kind (`None`: the profile); `None`
/// for a field it does not know, which it drops.
pub fn class(kind: Option<Kind>, field: &str) -> Option<Class> {
    classes(kind).find(|(n, _)| *n == field).map(|(_, c)| *c)
}

/// A pseudonym: "Company 7".
fn pseudonym(kind: Kind, n: usize) -> String {
    let name = match kind {
        Kind::Company => "Company",
        Kind::Contact => "Contact",
        Kind::Opportunity => "Opportunity",
        Kind::Interview => "Interview",
        Kind::Offer => "Offer",
        Kind::FollowUp => "Follow-up",
        Kind::Question => "Question",
    };
    format!("{name} {n}")
}

/// The journal with nothing that identifies anyone, as a read-only view
/// (see the module documentation for what is kept). Reads, exports and
/// reports over it work as over any view; it cannot be written or saved.
pub fn redacted(doc: &dyn ReadJournal) -> VaultView {
    let json = match doc.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    VaultView::from_json(redact_json(&json))
}

/// [`redacted`] on a journal's JSON (the shape of [`ReadJournal::to_json`]).
pub fn redact_json(json: &Map<String, Value>) -> Map<String, Value> {
    let mut r = Redactor::default();
    let mut out = Map::new();
    if let Some(schema) = json.get("schema").filter(|v| v.is_number()) {
        out.insert("schema".into(), schema.clone());
    }
    out.insert(MARKER.into(), Value::Bool(true));
    let profile = json.get("profile").and_then(Value::as_object);
    out.insert(
        "profile".into(),
        Value::Object(r.fields(classes(None), profile, None)),
    );
    for kind in Kind::ALL {
        let records = json.get(kind.root_key()).and_then(Value::as_object);
        // serde_json's map is sorted: records come in id order, which is
        // creation order for ULIDs, and that order numbers the pseudonyms.
        let mut redacted = Map::new();
        let valid = records
            .into_iter()
            .flatten()
            .filter_map(|(id, f)| Some((id, f.as_object().filter(|_| is_id(id))?)));
        for (n, (id, fields)) in valid.enumerate() {
            let name = pseudonym(kind, n + 1);
            let fields = r.fields(classes(Some(kind)), Some(fields), Some(&name));
            redacted.insert(id.clone(), Value::Object(fields));
        }
        out.insert(kind.root_key().into(), Value::Object(redacted));
    }
    out
}

/// The labels handed out so far, by prefix: text to its number.
#[derive(Default)]
struct Redactor {
    labels: BTreeMap<&'static str, BTreeMap<String, usize>>,
}

impl Redactor {
    fn fields<'a>(
        &mut self,
        classes: impl Iterator<Item = &'a (&'static str, Class)>,
        fields: Option<&Map<String, Value>>,
        name: Option<&str>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(fields) = fields else {
            return out;
        };
        for (field, class) in classes {
            if let Some(v) = fields.get(*field).and_then(|v| self.value(*class, v, name)) {
                out.insert(field.to_string(), v);
            }
        }
        out
    }

    /// One value as redaction leaves it; `None` drops it.
    fn value(&mut self, class: Class, v: &Value, name: Option<&str>) -> Option<Value> {
        // Nothing and empty text say nothing, whatever the field.
        if v.is_null() || v.as_str() == Some("") {
            return Some(v.clone());
        }
        match class {
            Kept(shape) => kept(shape, v),
            Name => Some(Value::String(name.unwrap_or(PLACEHOLDER).to_string())),
            Prose => Some(Value::String(PLACEHOLDER.into())),
            Dropped => None,
            Label { prefix, known } => match v {
                Value::String(s) => Some(Value::String(self.label(prefix, known, s))),
                Value::Object(set) => Some(Value::Object(
                    set.iter()
                        .filter(|(_, m)| m.is_boolean())
                        .map(|(k, m)| (self.label(prefix, known, k), m.clone()))
                        .collect(),
                )),
                _ => None,
            },
            Nested(subs) => Some(Value::Object(self.fields(
                subs.iter(),
                Some(v.as_object()?),
                None,
            ))),
            Entries(subs) => Some(Value::Object(
                v.as_object()?
                    .iter()
                    .filter(|(k, _)| is_id(k))
                    .filter_map(|(k, e)| {
                        let e = self.fields(subs.iter(), Some(e.as_object()?), None);
                        Some((k.clone(), Value::Object(e)))
                    })
                    .collect(),
            )),
        }
    }

    fn label(&mut self, prefix: &'static str, known: &[&str], text: &str) -> String {
        if known.contains(&text) {
            return text.to_string();
        }
        let seen = self.labels.entry(prefix).or_default();
        let next = seen.len() + 1;
        let n = *seen.entry(text.trim().to_string()).or_insert(next);
        format!("{prefix} {n}")
    }
}

/// `v` if it has the shape, re-rendered where text could hide in it.
fn kept(shape: Shape, v: &Value) -> Option<Value> {
    let s = v.as_str();
    let text = |t: String| Some(Value::String(t));
    let set_of = |ok: &dyn Fn(&str) -> bool| -> Option<Value> {
        let set = v.as_object()?;
        Some(Value::Object(
            set.iter()
                .filter(|(k, m)| ok(k) && m.is_boolean())
                .map(|(k, m)| (k.clone(), m.clone()))
                .collect(),
        ))
    };
    match shape {
        Shape::Number => v.is_number().then(|| v.clone()),
        Shape::Bool => v.is_boolean().then(|| v.clone()),
        // Rendered again from the parsed value: an annotation or trailing
        // text cannot ride along.
        Shape::Date => match s?.parse::<jiff::civil::Date>() {
            Ok(d) => text(d.to_string()),
            Err(_) => text(stored_zoned(s?)?.to_string()),
        },
        Shape::DateTime => text(stored_zoned(s?)?.to_string()),
        Shape::OneOf(allowed) => allowed.contains(&s?).then(|| v.clone()),
        Shape::SomeOf(allowed) => set_of(&|k| allowed.contains(&k)),
        Shape::Id => is_id(s?).then(|| v.clone()),
        Shape::Ids => set_of(&is_id),
        Shape::Ratings => Some(Value::Object(
            v.as_object()?
                .iter()
                .filter(|(k, r)| is_id(k) && (r.is_number() || r.is_null()))
                .map(|(k, r)| (k.clone(), r.clone()))
                .collect(),
        )),
        Shape::Currency => {
            let c = s?;
            (c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())).then(|| v.clone())
        }
        Shape::Clock => {
            let b = s?.as_bytes();
            let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
            (b.len() == 5 && b[2] == b':' && digits(&b[..2]) && digits(&b[3..])).then(|| v.clone())
        }
    }
}

/// Ids are ULIDs; an import accepts up to 64 ASCII letters and digits.
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::VaultDoc;
    use crate::model::{fields, FieldType, PROFILE as PROFILE_FIELDS};
    use serde_json::json;

    /// The classes a field of this type may have. Free text and sets of
    /// free text are never kept as they are.
    fn allowed(ty: FieldType, class: Class) -> bool {
        match ty {
            FieldType::Text | FieldType::Prose => {
                matches!(
                    class,
                    Name | Prose | Label { .. } | Dropped | Kept(Shape::Clock)
                )
            }
            FieldType::Set => matches!(class, Label { .. } | Dropped),
            FieldType::Int { .. } => class == Kept(Shape::Number),
            FieldType::Bool => class == Kept(Shape::Bool),
            FieldType::Date => class == Kept(Shape::Date),
            FieldType::DateTime => class == Kept(Shape::DateTime),
            FieldType::Enum(v) => class == Kept(Shape::OneOf(v)),
            FieldType::EnumSet(v) => class == Kept(Shape::SomeOf(v)),
            FieldType::Ref(_) | FieldType::AnyRef => class == Kept(Shape::Id),
            FieldType::RefSet(_) => class == Kept(Shape::Ids),
            FieldType::Ratings => class == Kept(Shape::Ratings),
            FieldType::Comp => class == COMP,
            FieldType::Entries => matches!(class, Entries(_)),
            FieldType::Map => matches!(class, Nested(_)),
        }
    }

    fn scopes() -> Vec<(Option<Kind>, Vec<&'static crate::model::FieldSpec>)> {
        let mut v: Vec<_> = Kind::ALL
            .iter()
            .map(|k| (Some(*k), fields(*k).collect()))
            .collect();
        v.push((None, PROFILE_FIELDS.iter().collect()));
        v
    }

    #[test]
    fn every_schema_field_has_a_class() {
        for (kind, specs) in scopes() {
            for spec in specs {
                let where_ = kind.map_or("profile", |k| k.name());
                let class = class(kind, spec.name).unwrap_or_else(|| {
                    panic!(
                        "{where_}.{} has no redaction class: add it to the tables in redact.rs \
                         (kept, name, label, prose or dropped)",
                        spec.name
                    )
                });
                assert!(
                    allowed(spec.ty, class),
                    "{where_}.{} is {:?} but classified {class:?}",
                    spec.name,
                    spec.ty
                );
            }
        }
    }

    #[test]
    fn no_class_names_a_field_the_schema_lacks() {
        for (kind, specs) in scopes() {
            for (name, _) in classes(kind) {
                assert!(
                    specs.iter().any(|s| s.name == *name),
                    "{kind:?}.{name} is classified but not in the schema"
                );
            }
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// Acme, an opportunity there, an interview there with Wile and a
    /// question, and an offer.
    fn acme() -> (VaultDoc, BTreeMap<&'static str, String>) {
        let mut d = VaultDoc::new_vault("v", b"device-a").unwrap();
        let mut ids = BTreeMap::new();
        let other = d
            .create(Kind::Company, &obj(json!({"name": "Globex"})))
            .unwrap();
        let co = d
            .create(
                Kind::Company,
                &obj(
                    json!({"name": "Acme", "industry": "Anvils", "aliases": {"ACME Corp": true},
                    "sensitivity": "high", "sensitivity_reason": "a client of my employer"}),
                ),
            )
            .unwrap();
        let wile = d
            .create(
                Kind::Contact,
                &obj(json!({"name": "Wile E. Coyote", "kind": "hiring_manager",
                    "channels": {"email": "wile@acme.test", "phone": "+1 555 0100", "link": "https://acme.test/wile"},
                    "met": "at the canyon"})),
            )
            .unwrap();
        d.add_entry(
            Kind::Contact,
            &wile,
            "employment",
            &obj(json!({"company": co, "title": "Head of Rockets", "from": "2025-01-02"})),
        )
        .unwrap();
        let opp = d
            .create(
                Kind::Opportunity,
                &obj(json!({"company": co, "role": "Rocket Engineer", "level": "E5", "level_delta": 1,
                    "recruiter": wile, "purpose": {"market_value": true},
                    "close": {"by": "me", "reason": "they hunt roadrunners", "door_open": true, "at": "2026-12-01T10:00:00+01:00[Europe/Paris]"}})),
            )
            .unwrap();
        d.add_entry(
            Kind::Opportunity,
            &opp,
            "stages",
            &obj(json!({"stage": "screen", "at": "2026-11-01T09:00:00+01:00[Europe/Paris]", "note": "Wile called"})),
        )
        .unwrap();
        let q = d
            .create(
                Kind::Question,
                &obj(json!({"wording": "Why Acme?", "category": "behavioral", "answer": "Anvils", "tags": {"acme": true}})),
            )
            .unwrap();
        let interview = d
            .create(
                Kind::Interview,
                &obj(
                    json!({"company": co, "opportunity": opp, "kind": "technical", "rating": 4,
                    "start": "2026-11-20T14:00:00+01:00[Europe/Paris]", "duration_min": 45,
                    "interviewers": {wile.clone(): true}, "questions": {q.clone(): 2},
                    "resume_items": {"Acme rockets": true, "Kafka": true},
                    "went_well": "Wile laughed", "notes": "bring a net",
                    "from_the_future": "Acme secret plans"}),
                ),
            )
            .unwrap();
        let offer = d
            .create(
                Kind::Offer,
                &obj(json!({"company": co, "opportunity": opp, "level": "E5", "received": "2026-12-01",
                    "comp": {"currency": "USD", "base": 15000000, "period": "year", "note": "Acme stock"}})),
            )
            .unwrap();
        d.update_profile(&obj(
            json!({"role": "Engineer at Initech", "monthly_goal": 4,
            "comp": {"currency": "USD", "base": 12000000}}),
        ))
        .unwrap();
        d.set_device_name("aa", "Wile's laptop").unwrap();
        d.set_relay("wss://relay.acme.test", None).unwrap();
        for (k, v) in [
            ("other", other),
            ("acme", co),
            ("wile", wile),
            ("opp", opp),
            ("question", q),
            ("interview", interview),
            ("offer", offer),
        ] {
            ids.insert(k, v);
        }
        (d, ids)
    }

    #[test]
    fn references_resolve_to_the_same_pseudonym_everywhere() {
        let (d, ids) = acme();
        let r = redacted(&d);
        let ref_title = |id: &str| crate::report::ref_title(&r, id);
        // Numbered in id order (creation order, to the millisecond: the
        // two companies may share one, and then their random part decides).
        let (acme, other) = if ids["acme"] < ids["other"] {
            ("Company 1", "Company 2")
        } else {
            ("Company 2", "Company 1")
        };
        assert_eq!(ref_title(&ids["other"]), other);
        assert_eq!(ref_title(&ids["acme"]), acme);
        let interview = r.record(Kind::Interview, &ids["interview"]).unwrap();
        let offer = r.record(Kind::Offer, &ids["offer"]).unwrap();
        let opp = r.record(Kind::Opportunity, &ids["opp"]).unwrap();
        let wile = r.record(Kind::Contact, &ids["wile"]).unwrap();
        for company in [
            interview.str("company"),
            offer.str("company"),
            opp.str("company"),
            wile.current_employer(),
        ] {
            assert_eq!(company.map(ref_title).as_deref(), Some(acme));
        }
        assert_eq!(
            interview.str("opportunity").map(ref_title).as_deref(),
            Some("Opportunity 1")
        );
        assert_eq!(interview.set("interviewers"), [ids["wile"].as_str()]);
        assert_eq!(ref_title(&ids["wile"]), "Contact 1");
        assert_eq!(
            opp.str("recruiter").map(ref_title).as_deref(),
            Some("Contact 1")
        );
        assert_eq!(ref_title(&ids["question"]), "Question 1");
        assert_eq!(
            interview.ratings("questions")[ids["question"].as_str()],
            Some(2)
        );
        assert_eq!(
            crate::export::interview_title(&r, &interview),
            format!("Interview: {acme} (technical)")
        );
        // The same journal, the same pseudonyms.
        assert_eq!(redacted(&d).to_json(), r.to_json());
        assert_eq!(
            redacted(&r).to_json()["companies"],
            r.to_json()["companies"]
        );
    }

    /// `text` without the record ids in it (runs of exactly 26 capitals
    /// and digits, as ULIDs are written).
    fn without_ids(text: &str) -> String {
        let mut out = String::new();
        let mut run = String::new();
        for ch in text.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_uppercase() || ch.is_ascii_digit() {
                run.push(ch);
                continue;
            }
            if run.len() != 26 {
                out.push_str(&run);
            }
            run.clear();
            out.push(ch);
        }
        out.pop();
        out
    }

    #[test]
    fn numbers_dates_and_ratings_are_kept_and_nothing_else_leaks() {
        let (d, ids) = acme();
        let r = redacted(&d);
        // Record ids are random, and may hold "E5" by chance: left out.
        let text = without_ids(&r.to_json().to_string());
        for secret in [
            "Acme",
            "ACME",
            "acme",
            "Globex",
            "Wile",
            "Coyote",
            "555",
            "Rocket",
            "E5",
            "canyon",
            "roadrunner",
            "Anvil",
            "Initech",
            "a net",
            "laughed",
            "Kafka",
            "Engineer",
            "relay",
            "laptop",
            "employer",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let interview = r.record(Kind::Interview, &ids["interview"]).unwrap();
        assert_eq!(interview.int("rating"), Some(4));
        assert_eq!(interview.int("duration_min"), Some(45));
        assert_eq!(
            interview.str("start"),
            Some("2026-11-20T14:00:00+01:00[Europe/Paris]")
        );
        assert_eq!(interview.str("went_well"), Some(PLACEHOLDER));
        assert_eq!(
            interview.get("from_the_future"),
            None,
            "unknown fields are dropped"
        );
        let mut items = interview.set("resume_items");
        items.sort();
        assert_eq!(items, ["Resume item 1", "Resume item 2"]);
        let offer = r.record(Kind::Offer, &ids["offer"]).unwrap();
        assert_eq!(
            offer.map("comp"),
            Some(&obj(
                json!({"currency": "USD", "base": 15000000, "period": "year"})
            ))
        );
        assert_eq!(offer.str("received"), Some("2026-12-01"));
        let opp = r.record(Kind::Opportunity, &ids["opp"]).unwrap();
        assert_eq!(opp.int("level_delta"), Some(1));
        assert_eq!(opp.current_stage(), Some("screen"));
        assert_eq!(opp.map("close").unwrap()["door_open"], true);
        assert_eq!(opp.map("close").unwrap()["reason"], PLACEHOLDER);
        let company = r.record(Kind::Company, &ids["acme"]).unwrap();
        assert_eq!(company.str("sensitivity"), Some("high"));
        assert_eq!(company.str("industry"), Some("Industry 1"));
        assert!(company.set("aliases").is_empty());
        let q = r.record(Kind::Question, &ids["question"]).unwrap();
        assert_eq!(q.str("category"), Some("behavioral"), "vocabulary is kept");
        assert_eq!(q.set("tags"), ["Tag 1"]);
        let wile = r.record(Kind::Contact, &ids["wile"]).unwrap();
        assert_eq!(wile.map("channels").unwrap()["email"], PLACEHOLDER);
        let profile = r.profile();
        assert_eq!(profile["monthly_goal"], 4);
        assert_eq!(profile["role"], PLACEHOLDER);
        assert_eq!(profile["work_start"], "09:00");
        assert!(r.device_names().is_empty());
        assert!(r.to_json().get("meta").is_none(), "no meta: no relay");
        assert_eq!(r.vault_id(), None);
    }

    #[test]
    fn odd_values_are_dropped_not_guessed_at() {
        let json = obj(json!({
            "schema": 1,
            "profile": {"work_start": "at Acme", "monthly_goal": "Acme"},
            "companies": {"bad id!": {"name": "Acme"}, "01A": {"name": 7, "priority": "Acme"}},
            "interviews": {"01B": {"rating": "Acme", "start": "Acme", "kind": "Acme",
                "company": "Acme Corp", "interviewers": {"Acme Corp": true}, "questions": {"01C": "Acme"},
                "resume_items": ["Acme"], "went_well": {"Acme": 1}}},
            "offers": {"01D": {"received": "2026-12-01[Acme/Secret]", "comp": {"currency": "Acme", "base": "Acme"},
                "rounds": {"01E": "Acme", "01F": {"at": "2026-12-02", "note": "Acme"}}}},
            "meta": {"relay": "wss://acme"},
        }));
        let out = Value::Object(redact_json(&json));
        assert!(!out.to_string().contains("Acme"), "{out}");
        assert_eq!(out["companies"]["01A"]["name"], "Company 1");
        assert_eq!(out["offers"]["01D"]["rounds"]["01F"]["at"], "2026-12-02");
        assert_eq!(out["interviews"]["01B"]["went_well"], PLACEHOLDER);
    }
}
