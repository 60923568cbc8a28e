//! The operations a user performs on the journal, each taking a typed
//! request and returning a typed result or a [`JournalError`]: log an
//! interview, add, edit, delete or restore a record, move a contact, stage
//! an opportunity, record a negotiation round, write a retro, and so on.
//!
//! Both shells call these: the CLI parses its arguments into a request,
//! calls one operation and prints; the phone mirrors the same rules (the
//! shared vectors in `tests/vectors` check that it does).
//!
//! Every operation validates all of its input before its first write, so
//! bad input writes nothing. None of them commits or saves: the caller
//! saves once the operation returned (see [`crate::store::Vault::save`]).
//!
//! # Layout
//! - this file: the error, and turning what the user typed into validated
//!   field values ([`Write`], [`field_value`], [`resolve`], [`comp`]);
//! - [`ops`]: the operations on records, kind by kind;
//! - [`log`]: `log` (an interview in seconds);
//! - [`retro`]: the retro template, its parser, and writing what changed.

pub mod log;
pub mod ops;
pub mod retro;

pub use log::{log_interview, LogRequest, Logged};
pub use ops::*;

use serde_json::{Map, Value};

use crate::doc::{DocError, ReadJournal, VaultDoc};
use crate::model::{self, FieldSpec, FieldType, Kind, ModelError, Record};

/// Why an operation wrote nothing. Each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A record that must be live for this operation is deleted.
    #[error("{kind} {id} is deleted; `interlog restore {id}` brings it back first")]
    Deleted { kind: Kind, id: String },
    /// A name or id that matched nothing of the kinds asked for.
    #[error("no {kind} is named or has an id starting with '{raw}'; `interlog list {plural}` shows them")]
    NoSuch {
        kind: &'static str,
        plural: &'static str,
        raw: String,
    },
    /// A record with this name (or wording) exists already.
    #[error("{0}")]
    Exists(String),
    /// Input that does not make sense here; the message says why.
    #[error("{0}")]
    Invalid(String),
}

/// `Err(JournalError::Invalid(format!(…)))`.
macro_rules! invalid {
    ($($t:tt)*) => {
        return Err($crate::journal::JournalError::Invalid(format!($($t)*)))
    };
}
pub(crate) use invalid;

pub type Result<T, E = JournalError> = std::result::Result<T, E>;

/// A JSON object literal as a field map (empty if `v` is not an object).
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A validated write: either a plain field, or a set to replace.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Field(String, Value),
    Set(String, Vec<String>),
}

/// Parses one user value for a field of `kind` (`None`: the profile),
/// resolving references to ids.
pub fn field_value(
    doc: &dyn ReadJournal,
    kind: Option<Kind>,
    name: &str,
    raw: &str,
) -> Result<Write> {
    let spec = model::field(kind, name)?;
    if matches!(name, "created_at" | "deleted_at") {
        invalid!("{name} is kept by interlog itself; use `delete` or `restore`");
    }
    value_for(doc, spec, raw)
}

fn value_for(doc: &dyn ReadJournal, spec: &FieldSpec, raw: &str) -> Result<Write> {
    Ok(match spec.ty {
        FieldType::Ref(k) => {
            Write::Field(spec.name.into(), Value::String(resolve(doc, k, raw)?.id))
        }
        FieldType::AnyRef => Write::Field(
            spec.name.into(),
            Value::String(resolve_target(doc, raw)?.id),
        ),
        FieldType::RefSet(k) => {
            let mut ids = Vec::new();
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                ids.push(resolve(doc, k, part)?.id);
            }
            Write::Set(spec.name.into(), ids)
        }
        FieldType::Set | FieldType::EnumSet(_) => match model::parse_input(spec, raw)? {
            Value::Object(m) => Write::Set(spec.name.into(), m.keys().cloned().collect()),
            _ => unreachable!("sets parse to objects"),
        },
        _ => Write::Field(spec.name.into(), model::parse_input(spec, raw)?),
    })
}

/// Parses `FIELD=VALUE` pairs.
pub fn parse_sets(
    doc: &dyn ReadJournal,
    kind: Option<Kind>,
    sets: &[String],
) -> Result<Vec<Write>> {
    sets.iter()
        .map(|s| {
            let Some((k, v)) = s.split_once('=') else {
                invalid!("--set takes FIELD=VALUE, not '{s}'");
            };
            field_value(doc, kind, k.trim(), v)
        })
        .collect()
}

/// Adds the value of an optional input for a field to `writes`.
pub fn opt(
    doc: &dyn ReadJournal,
    kind: Option<Kind>,
    writes: &mut Vec<Write>,
    name: &str,
    raw: &Option<String>,
) -> Result<()> {
    if let Some(raw) = raw {
        writes.push(field_value(doc, kind, name, raw)?);
    }
    Ok(())
}

/// Set fields and their new members.
pub type SetWrites = Vec<(String, Vec<String>)>;

/// Splits validated writes into a patch of plain fields and the sets.
pub fn split(writes: Vec<Write>) -> (Map<String, Value>, SetWrites) {
    let mut patch = Map::new();
    let mut sets = Vec::new();
    for w in writes {
        match w {
            Write::Field(k, v) => {
                patch.insert(k, v);
            }
            Write::Set(k, m) => sets.push((k, m)),
        }
    }
    (patch, sets)
}

/// Applies validated writes to an existing record.
pub fn apply(doc: &mut VaultDoc, kind: Kind, id: &str, writes: Vec<Write>) -> Result<()> {
    let (patch, sets) = split(writes);
    doc.update(kind, id, &patch)?;
    for (field, members) in sets {
        doc.set_members(kind, id, &field, &members)?;
    }
    Ok(())
}

/// Creates a record from validated writes and returns its id.
pub fn create(doc: &mut VaultDoc, kind: Kind, writes: Vec<Write>) -> Result<String> {
    let (patch, sets) = split(writes);
    let id = doc.create(kind, &patch)?;
    for (field, members) in sets {
        doc.set_members(kind, &id, &field, &members)?;
    }
    Ok(id)
}

/// A record of `kind` named by id prefix, or by name (companies, contacts,
/// questions), ignoring case.
pub fn resolve(doc: &dyn ReadJournal, kind: Kind, raw: &str) -> Result<Record> {
    if matches!(kind, Kind::Company | Kind::Contact | Kind::Question) {
        if let Some(r) = doc.find_one_by_name(kind, raw)? {
            return Ok(r);
        }
    }
    doc.find(raw, &[kind]).map_err(|e| match e {
        DocError::NotFound { .. } if matches!(kind, Kind::Company | Kind::Contact) => {
            JournalError::NoSuch {
                kind: kind.name(),
                plural: kind.root_key(),
                raw: raw.to_string(),
            }
        }
        other => other.into(),
    })
}

/// A follow-up target: a contact or company by name, or any record by id.
pub fn resolve_target(doc: &dyn ReadJournal, raw: &str) -> Result<Record> {
    for kind in [Kind::Contact, Kind::Company] {
        if let Some(r) = doc.find_one_by_name(kind, raw)? {
            return Ok(r);
        }
    }
    doc.find(raw, &[Kind::Contact, Kind::Opportunity, Kind::Company])
        .map_err(|e| {
            JournalError::Invalid(format!(
                "'{raw}' is not a contact, opportunity or company: {e}"
            ))
        })
}

/// Finds a record to change, refusing deleted ones.
pub fn live(doc: &dyn ReadJournal, raw: &str, kinds: &[Kind]) -> Result<Record> {
    let r = doc.find(raw, kinds)?;
    if r.is_deleted() {
        return Err(JournalError::Deleted {
            kind: r.kind,
            id: r.id,
        });
    }
    Ok(r)
}

/// A live record named by name (contacts, companies, questions) or id.
pub fn live_named(doc: &dyn ReadJournal, raw: &str, kind: Kind) -> Result<Record> {
    live(doc, &resolve(doc, kind, raw)?.id, &[kind])
}

/// The company named `raw` (or with that id), created if it is a new name.
/// The flag says whether it was created.
pub fn company_or_new(doc: &mut VaultDoc, raw: &str) -> Result<(String, bool)> {
    if let Some(r) = doc.find_one_by_name(Kind::Company, raw)? {
        return Ok((r.id, false));
    }
    if let Ok(r) = doc.find(raw, &[Kind::Company]) {
        return Ok((r.id, false));
    }
    let name = raw.trim();
    if name.is_empty() {
        invalid!("the company name is empty");
    }
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(name.into()));
    Ok((doc.create(Kind::Company, &fields)?, true))
}

/// A compensation package as the user typed it: amounts in major units
/// ("120k", "95,000"), an ISO currency and a pay period.
#[derive(Debug, Clone, Default)]
pub struct CompInput {
    pub base: Option<String>,
    pub bonus: Option<String>,
    pub signing: Option<String>,
    pub equity: Option<String>,
    pub currency: Option<String>,
    pub period: Option<String>,
}

/// Turns a [`CompInput`] into a compensation map (amounts in minor units)
/// to merge over `existing`. `None` when nothing was given.
///
/// The currency defaults to the existing package's, then the profile's. When
/// it changes, amounts not given are cleared: a number in minor units means
/// nothing under another currency.
pub fn comp(
    doc: &dyn ReadJournal,
    input: &CompInput,
    existing: Option<&Map<String, Value>>,
) -> Result<Option<Map<String, Value>>> {
    let existing_currency = existing
        .and_then(|c| c.get("currency"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let amounts = [
        ("base", &input.base),
        ("bonus", &input.bonus),
        ("signing", &input.signing),
        ("equity", &input.equity),
    ];
    if input.currency.is_none()
        && input.period.is_none()
        && amounts.iter().all(|(_, v)| v.is_none())
    {
        return Ok(None);
    }
    let currency = match &input.currency {
        Some(c) => model::parse_currency(c).map_err(JournalError::Invalid)?,
        None => match existing_currency.clone().or_else(|| {
            doc.profile()
                .get("comp")
                .and_then(|c| c.get("currency"))
                .and_then(Value::as_str)
                .map(str::to_string)
        }) {
            Some(c) => c,
            None => invalid!("say which currency with --currency EUR (or set one in your profile with `interlog profile set --currency EUR`)"),
        },
    };
    let currency_changed = existing_currency.is_some_and(|c| c != currency);
    let mut m = Map::new();
    m.insert("currency".into(), Value::String(currency.clone()));
    for (key, raw) in amounts {
        if let Some(raw) = raw {
            let minor = model::parse_amount(raw, &currency)
                .map_err(|e| JournalError::Invalid(format!("--{key}: {e}")))?;
            m.insert(key.into(), Value::from(minor));
        } else if currency_changed {
            m.insert(key.into(), Value::Null);
        }
    }
    if let Some(p) = &input.period {
        m.insert(
            "period".into(),
            Value::String(model::parse_enum("period", model::PERIODS, p)?),
        );
    } else if input.base.is_some() {
        m.insert("period".into(), Value::String("year".into()));
    }
    Ok(Some(m))
}

/// A device id (actor id) in lowercase hex, as the wire and
/// [`VaultDoc::device_names`] spell it.
pub fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
