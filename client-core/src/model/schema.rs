//! The field tables, one per record kind.

use std::fmt;

use serde_json::{Map, Value};

/// A kind of record. Each is a root map of the document keyed by ULID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Company,
    Contact,
    Opportunity,
    Interview,
    Offer,
    FollowUp,
    Question,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Company,
        Kind::Contact,
        Kind::Opportunity,
        Kind::Interview,
        Kind::Offer,
        Kind::FollowUp,
        Kind::Question,
    ];

    /// The root key of this kind's map in the document (and in the JSON export).
    pub fn root_key(self) -> &'static str {
        match self {
            Kind::Company => "companies",
            Kind::Contact => "contacts",
            Kind::Opportunity => "opportunities",
            Kind::Interview => "interviews",
            Kind::Offer => "offers",
            Kind::FollowUp => "followups",
            Kind::Question => "questions",
        }
    }

    /// The singular name users see.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Company => "company",
            Kind::Contact => "contact",
            Kind::Opportunity => "opportunity",
            Kind::Interview => "interview",
            Kind::Offer => "offer",
            Kind::FollowUp => "follow-up",
            Kind::Question => "question",
        }
    }

    /// Parses a kind from its singular, plural or short name.
    pub fn parse(s: &str) -> Result<Kind, ModelError> {
        let s = s.to_ascii_lowercase();
        for k in Kind::ALL {
            let short = match k {
                Kind::Opportunity => "opp",
                Kind::FollowUp => "followup",
                _ => k.name(),
            };
            if s == k.name() || s == k.root_key() || s == short || s == format!("{short}s") {
                return Ok(k);
            }
        }
        Err(ModelError::UnknownKind(s))
    }

    /// The field that names a record of this kind in lists and references.
    pub fn title_field(self) -> &'static str {
        match self {
            Kind::Company | Kind::Contact => "name",
            Kind::Opportunity => "role",
            Kind::Interview => "kind",
            Kind::Offer => "level",
            Kind::FollowUp => "note",
            Kind::Question => "wording",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a field, which decides how input is parsed and how the value
/// is stored (see docs/data-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A short string, last writer wins.
    Text,
    /// Free prose (notes, retro answers): still a scalar string, not Automerge
    /// Text, so the document loads fast; concurrent writes surface as conflicts.
    Prose,
    /// An integer within bounds.
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant with its time zone, RFC 9557 (`2026-11-20T14:00:00+01:00[Europe/Paris]`).
    DateTime,
    /// One of a fixed list of strings. Values written by newer versions are kept.
    Enum(&'static [&'static str]),
    /// The id of a record of the given kind.
    Ref(Kind),
    /// The id of a record of any kind (a follow-up's target).
    AnyRef,
    /// A set of free strings: a map from each member to `true`.
    Set,
    /// A set drawn from a fixed list.
    EnumSet(&'static [&'static str]),
    /// A set of record ids of the given kind.
    RefSet(Kind),
    /// A compensation package: a nested map of `currency`, `period` and the
    /// [`COMP_AMOUNTS`] in minor units.
    Comp,
    /// A map of entries keyed by ULID (stage events, employment, rounds...),
    /// edited through dedicated commands.
    Entries,
    /// Record id (a question) to a 1-5 rating, `null` when unrated. Scalars,
    /// not nested maps: two devices rating the same question concurrently
    /// then conflict visibly instead of one nested map hiding the other.
    Ratings,
    /// A nested map with fields of its own, edited through dedicated commands.
    Map,
}

impl FieldType {
    /// The type in a few words, as `interlog fields` lists it.
    pub fn describe(self) -> String {
        match self {
            FieldType::Text => "text".into(),
            FieldType::Prose => "prose".into(),
            FieldType::Int { min, max } => format!("number {min}..{max}"),
            FieldType::Bool => "yes/no".into(),
            FieldType::Date => "date".into(),
            FieldType::DateTime => "time".into(),
            FieldType::Enum(v) => format!("one of {}", v.join(", ")),
            FieldType::EnumSet(v) => format!("some of {}", v.join(", ")),
            FieldType::Ref(k) => format!("{} (name or id)", k.name()),
            FieldType::AnyRef => "contact, opp or company".into(),
            FieldType::Set => "list a,b,c".into(),
            FieldType::RefSet(k) => format!("{}s a,b", k.name()),
            FieldType::Comp => "compensation (own flags)".into(),
            FieldType::Ratings => "ratings (set by `retro`)".into(),
            FieldType::Entries | FieldType::Map => "(own command)".into(),
        }
    }
}

impl FieldType {
    /// Container fields are created together with their record, so two devices
    /// never race to create the same nested map (one of them would be lost).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            FieldType::Set
                | FieldType::EnumSet(_)
                | FieldType::RefSet(_)
                | FieldType::Comp
                | FieldType::Entries
                | FieldType::Ratings
                | FieldType::Map
        )
    }
}

/// One field of a record kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub help: &'static str,
}

const fn f(name: &'static str, ty: FieldType, help: &'static str) -> FieldSpec {
    FieldSpec { name, ty, help }
}

pub const PRIORITIES: &[&str] = &["dream", "interested", "neutral", "avoid"];
pub const SENSITIVITIES: &[&str] = &["none", "caution", "high"];
pub const CONTACT_KINDS: &[&str] = &[
    "recruiter",
    "hiring_manager",
    "interviewer",
    "referrer",
    "peer",
    "other",
];
pub const SOURCES: &[&str] = &[
    "inbound_recruiter",
    "agency",
    "referral",
    "applied",
    "network",
];
pub const PURPOSES: &[&str] = &["practice", "network", "market_value", "explore", "serious"];
pub const TOLD_RECRUITER: &[&str] = &["exploring", "open", "actively_looking"];
/// Stages in funnel order; `accepted` and everything after it close an
/// opportunity (see [`is_closed_stage`]).
pub const STAGES: &[&str] = &[
    "lead",
    "applied",
    "screen",
    "interviewing",
    "final",
    "offer",
    "accepted",
    "rejected",
    "withdrawn",
    "declined",
    "ghosted",
];
/// Whether an opportunity at this stage is over.
pub fn is_closed_stage(stage: &str) -> bool {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .is_some_and(|i| i >= 6)
}

pub const INTERVIEW_KINDS: &[&str] = &[
    "recruiter_screen",
    "hiring_manager",
    "technical",
    "system_design",
    "behavioral",
    "panel",
    "take_home",
    "informational",
    "offer_call",
    "other",
];
pub const INTERVIEW_FORMATS: &[&str] = &["video", "phone", "onsite", "async"];
pub const INTERVIEW_STATUSES: &[&str] = &["scheduled", "done", "cancelled", "no_show"];
pub const FOLLOWUP_KINDS: &[&str] = &[
    "thank_you",
    "follow_up",
    "reconnect",
    "keep_in_touch",
    "decision_deadline",
    "custom",
];
pub const PERIODS: &[&str] = &["year", "month", "hour"];
pub const DECISIONS: &[&str] = &["pending", "negotiating", "accepted", "declined"];
pub const CLOSED_BY: &[&str] = &["me", "them"];
pub const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// ISO 4217 codes this build knows the minor-unit exponent of; others are
/// accepted with two decimals (see [`super::Money`]).
pub const CURRENCIES: &[(&str, u32)] = &[
    ("JPY", 0),
    ("KRW", 0),
    ("ISK", 0),
    ("CLP", 0),
    ("VND", 0),
    ("BHD", 3),
    ("KWD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("TND", 3),
];

const COMMON: [FieldSpec; 3] = [
    f("notes", FieldType::Prose, "free notes"),
    f(
        "created_at",
        FieldType::DateTime,
        "when the record was created",
    ),
    f(
        "deleted_at",
        FieldType::DateTime,
        "set when deleted (deletes are soft)",
    ),
];

const COMPANY: &[FieldSpec] = &[
    f("name", FieldType::Text, "the company's name"),
    f("aliases", FieldType::Set, "other names it goes by"),
    f("industry", FieldType::Text, "industry"),
    f(
        "priority",
        FieldType::Enum(PRIORITIES),
        "how much you want to work there",
    ),
    f(
        "sensitivity",
        FieldType::Enum(SENSITIVITIES),
        "how discreet to be",
    ),
    f(
        "sensitivity_reason",
        FieldType::Text,
        "why, e.g. a client of my employer",
    ),
];

const CONTACT: &[FieldSpec] = &[
    f("name", FieldType::Text, "the person's name"),
    f(
        "kind",
        FieldType::Enum(CONTACT_KINDS),
        "their role towards you",
    ),
    f(
        "employment",
        FieldType::Entries,
        "job history: company, title, from, to",
    ),
    f("channels", FieldType::Map, "email, phone, link"),
    f("met", FieldType::Text, "how we met"),
    f(
        "keep_in_touch_days",
        FieldType::Int { min: 1, max: 3650 },
        "reach out at least this often",
    ),
    f(
        "last_contacted",
        FieldType::Date,
        "when you last spoke (interviews count too)",
    ),
];

const OPPORTUNITY: &[FieldSpec] = &[
    f("company", FieldType::Ref(Kind::Company), "the company"),
    f("role", FieldType::Text, "the role's title"),
    f(
        "level",
        FieldType::Text,
        "the company's label for the level",
    ),
    f(
        "level_delta",
        FieldType::Int { min: -3, max: 3 },
        "relative to your current level: -1, 0, +1, +2",
    ),
    f("source", FieldType::Enum(SOURCES), "how it reached you"),
    f(
        "purpose",
        FieldType::EnumSet(PURPOSES),
        "why you are in this process",
    ),
    f(
        "interest_before",
        FieldType::Int { min: 1, max: 5 },
        "interest when it started, 1-5",
    ),
    f(
        "interest_now",
        FieldType::Int { min: 1, max: 5 },
        "interest now, 1-5",
    ),
    f(
        "told_recruiter",
        FieldType::Enum(TOLD_RECRUITER),
        "what you told the recruiter about your interest",
    ),
    f(
        "recruiter",
        FieldType::Ref(Kind::Contact),
        "the recruiter or referrer",
    ),
    f(
        "stages",
        FieldType::Entries,
        "stage events; the latest is the current stage",
    ),
    f(
        "close",
        FieldType::Map,
        "how it ended: by, reason, door_open, at",
    ),
    f("posted_comp", FieldType::Comp, "compensation as posted"),
    f("asked_comp", FieldType::Comp, "compensation you asked for"),
];

const INTERVIEW: &[FieldSpec] = &[
    f(
        "opportunity",
        FieldType::Ref(Kind::Opportunity),
        "the opportunity, if any",
    ),
    f("company", FieldType::Ref(Kind::Company), "the company"),
    f(
        "start",
        FieldType::DateTime,
        "start time with its time zone",
    ),
    f(
        "duration_min",
        FieldType::Int {
            min: 1,
            max: 24 * 60,
        },
        "length in minutes",
    ),
    f(
        "kind",
        FieldType::Enum(INTERVIEW_KINDS),
        "the type of round",
    ),
    f(
        "format",
        FieldType::Enum(INTERVIEW_FORMATS),
        "how it took place",
    ),
    f(
        "status",
        FieldType::Enum(INTERVIEW_STATUSES),
        "whether it happened",
    ),
    f(
        "interviewers",
        FieldType::RefSet(Kind::Contact),
        "the people you met",
    ),
    f(
        "rating",
        FieldType::Int { min: 1, max: 5 },
        "how it went overall, 1-5",
    ),
    f(
        "questions",
        FieldType::Ratings,
        "questions asked: question id to your 1-5 rating (null if unrated)",
    ),
    f(
        "resume_items",
        FieldType::Set,
        "resume items they focused on",
    ),
    f("went_well", FieldType::Prose, "what went well"),
    f("improve", FieldType::Prose, "what to improve"),
    f(
        "looking_for",
        FieldType::Prose,
        "what they seem to look for",
    ),
];

const OFFER: &[FieldSpec] = &[
    f(
        "opportunity",
        FieldType::Ref(Kind::Opportunity),
        "the opportunity",
    ),
    f("company", FieldType::Ref(Kind::Company), "the company"),
    f("received", FieldType::Date, "when it arrived"),
    f("expires", FieldType::Date, "when it expires"),
    f(
        "level",
        FieldType::Text,
        "the company's label for the level",
    ),
    f(
        "level_delta",
        FieldType::Int { min: -3, max: 3 },
        "relative to your current level",
    ),
    f("comp", FieldType::Comp, "the package offered"),
    f(
        "rounds",
        FieldType::Entries,
        "negotiation rounds: asked and offered",
    ),
    f(
        "decision",
        FieldType::Enum(DECISIONS),
        "where the offer stands",
    ),
];

const FOLLOWUP: &[FieldSpec] = &[
    f("due", FieldType::Date, "when it is due"),
    f(
        "kind",
        FieldType::Enum(FOLLOWUP_KINDS),
        "what kind of reminder",
    ),
    f(
        "target",
        FieldType::AnyRef,
        "a contact, opportunity or company",
    ),
    f("note", FieldType::Text, "what to do"),
    f("done", FieldType::Bool, "done or not"),
    f("snoozed_until", FieldType::Date, "hidden until this date"),
];

const QUESTION: &[FieldSpec] = &[
    f("wording", FieldType::Text, "the question"),
    f(
        "category",
        FieldType::Text,
        "e.g. behavioral, technical, system_design",
    ),
    f("answer", FieldType::Prose, "your prepared answer"),
    f("tags", FieldType::Set, "tags"),
];

/// The profile singleton's fields.
pub const PROFILE: &[FieldSpec] = &[
    f("role", FieldType::Text, "your current role"),
    f("level", FieldType::Text, "your current level"),
    f(
        "comp",
        FieldType::Comp,
        "your current compensation: the baseline for offers",
    ),
    f(
        "monthly_goal",
        FieldType::Int { min: 0, max: 100 },
        "interviews per month you aim for",
    ),
    f(
        "work_start",
        FieldType::Text,
        "working hours start, HH:MM (for discretion warnings)",
    ),
    f("work_end", FieldType::Text, "working hours end, HH:MM"),
    f("work_days", FieldType::EnumSet(WEEKDAYS), "working days"),
];

/// The amounts of a compensation map, integers in minor units of its currency.
pub const COMP_AMOUNTS: [&str; 4] = ["base", "bonus", "signing", "equity"];

/// The fields of a kind, its own first, then the common ones.
pub fn fields(kind: Kind) -> impl Iterator<Item = &'static FieldSpec> {
    let own = match kind {
        Kind::Company => COMPANY,
        Kind::Contact => CONTACT,
        Kind::Opportunity => OPPORTUNITY,
        Kind::Interview => INTERVIEW,
        Kind::Offer => OFFER,
        Kind::FollowUp => FOLLOWUP,
        Kind::Question => QUESTION,
    };
    own.iter().chain(COMMON.iter())
}

/// Looks up a field of a kind (`None` is the profile).
pub fn field(kind: Option<Kind>, name: &str) -> Result<&'static FieldSpec, ModelError> {
    let found = match kind {
        Some(k) => fields(k).find(|s| s.name == name),
        None => PROFILE.iter().find(|s| s.name == name),
    };
    found.ok_or_else(|| {
        let names: Vec<&str> = match kind {
            Some(k) => fields(k).map(|s| s.name).collect(),
            None => PROFILE.iter().map(|s| s.name).collect(),
        };
        ModelError::UnknownField {
            kind: kind.map_or("profile", |k| k.name()),
            field: name.to_string(),
            known: names.join(", "),
        }
    })
}

/// The allowed values of an enum field, for help texts.
pub fn enum_values(kind: Option<Kind>, name: &str) -> &'static [&'static str] {
    match field(kind, name).map(|s| s.ty) {
        Ok(FieldType::Enum(v)) | Ok(FieldType::EnumSet(v)) => v,
        _ => &[],
    }
}

/// Input that does not fit the schema. Each message says how to fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("unknown record kind '{0}'; use one of: company, contact, opp, interview, offer, followup, question")]
    UnknownKind(String),
    #[error("{kind} records have no field '{field}'; their fields are: {known}")]
    UnknownField {
        kind: &'static str,
        field: String,
        known: String,
    },
    #[error("{field} must be a whole number from {min} to {max}, not '{value}'")]
    OutOfRange {
        field: String,
        value: String,
        min: i64,
        max: i64,
    },
    #[error("'{value}' is not a valid {field}; use one of: {allowed}")]
    NotAllowed {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{field} is edited with its own command, not with --set: {command}")]
    NotSettable {
        field: String,
        command: &'static str,
    },
}

/// Parses what the user typed for a scalar or set field into the value to store.
///
/// Sets take a comma-separated list and return an object of members mapped
/// to `true`. References must already be resolved to full ids by the caller.
pub fn parse_input(spec: &FieldSpec, raw: &str) -> Result<Value, ModelError> {
    let raw = raw.trim();
    let field = spec.name.to_string();
    match spec.ty {
        FieldType::Text | FieldType::Prose | FieldType::Ref(_) | FieldType::AnyRef => {
            Ok(Value::String(raw.to_string()))
        }
        FieldType::Int { min, max } => {
            let n: i64 = raw.strip_prefix('+').unwrap_or(raw).parse().map_err(|_| {
                ModelError::OutOfRange {
                    field: field.clone(),
                    value: raw.into(),
                    min,
                    max,
                }
            })?;
            if n < min || n > max {
                return Err(ModelError::OutOfRange {
                    field,
                    value: raw.into(),
                    min,
                    max,
                });
            }
            Ok(Value::from(n))
        }
        FieldType::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
            _ => Err(ModelError::NotAllowed {
                field,
                value: raw.into(),
                allowed: "yes, no".into(),
            }),
        },
        FieldType::Date => crate::time::parse_date(raw)
            .map(|d| Value::String(d.to_string()))
            .map_err(|message| ModelError::Invalid { field, message }),
        FieldType::DateTime => crate::time::parse_when(raw, &crate::time::now())
            .map(|z| Value::String(z.to_string()))
            .map_err(|message| ModelError::Invalid { field, message }),
        FieldType::Enum(allowed) => parse_enum(&field, allowed, raw).map(Value::String),
        FieldType::Set | FieldType::EnumSet(_) | FieldType::RefSet(_) => {
            let mut set = Map::new();
            for member in raw.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                let member = match spec.ty {
                    FieldType::EnumSet(allowed) => parse_enum(&field, allowed, member)?,
                    _ => member.to_string(),
                };
                set.insert(member, Value::Bool(true));
            }
            Ok(Value::Object(set))
        }
        FieldType::Comp | FieldType::Entries | FieldType::Ratings | FieldType::Map => {
            Err(ModelError::NotSettable {
                command: own_command(&field),
                field,
            })
        }
    }
}

/// The command that edits a field `--set` cannot.
fn own_command(field: &str) -> &'static str {
    match field {
        "comp" => {
            "`interlog offer comp ID --base …` (your own package: `interlog profile set --base …`)"
        }
        "posted_comp" | "asked_comp" => "`interlog opp comp ID [--posted] --base …`",
        "stages" => "`interlog opp stage ID STAGE`",
        "close" => "`interlog opp withdraw` or `interlog opp rejected`",
        "rounds" => "`interlog offer round ID --asked … --offered …`",
        "employment" => "`interlog contact moved CONTACT COMPANY`",
        "questions" => "`interlog retro ID`",
        _ => "see `interlog help`",
    }
}

/// Matches an enum value case-insensitively, accepting `-` or space for `_`.
pub fn parse_enum(
    field: &str,
    allowed: &'static [&'static str],
    raw: &str,
) -> Result<String, ModelError> {
    let norm = raw.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    allowed
        .iter()
        .find(|a| **a == norm)
        .map(|a| a.to_string())
        .ok_or_else(|| ModelError::NotAllowed {
            field: field.to_string(),
            value: raw.to_string(),
            allowed: allowed.join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_any_name() {
        assert_eq!(Kind::parse("opp").unwrap(), Kind::Opportunity);
        assert_eq!(Kind::parse("interviews").unwrap(), Kind::Interview);
        assert_eq!(Kind::parse("followups").unwrap(), Kind::FollowUp);
        assert!(Kind::parse("spaceship").is_err());
    }

    #[test]
    fn rating_out_of_range_is_refused_with_the_range() {
        let spec = field(Some(Kind::Interview), "rating").unwrap();
        let err = parse_input(spec, "7").unwrap_err().to_string();
        assert!(err.contains("1 to 5"), "{err}");
        assert_eq!(parse_input(spec, "4").unwrap(), Value::from(4));
    }

    #[test]
    fn enums_are_forgiving_about_spelling_but_strict_about_values() {
        let spec = field(Some(Kind::Interview), "kind").unwrap();
        assert_eq!(
            parse_input(spec, "System Design").unwrap(),
            Value::from("system_design")
        );
        let err = parse_input(spec, "karaoke").unwrap_err().to_string();
        assert!(err.contains("recruiter_screen"), "{err}");
    }

    #[test]
    fn sets_become_maps_to_true() {
        let spec = field(Some(Kind::Opportunity), "purpose").unwrap();
        let v = parse_input(spec, "practice, market-value").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"practice": true, "market_value": true})
        );
    }

    #[test]
    fn unknown_fields_list_the_known_ones() {
        let err = field(Some(Kind::Company), "colour")
            .unwrap_err()
            .to_string();
        assert!(err.contains("priority"), "{err}");
    }
}
