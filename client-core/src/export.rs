//! Getting the journal out (JSON, CSV, iCalendar) and back in (JSON).
//!
//! The JSON export is complete (soft-deleted records and unknown fields
//! included) and deterministic: keys are sorted, so two devices holding the
//! same changes print byte-identical exports, and importing an export into an
//! empty vault reproduces it exactly.

use serde_json::{Map, Value};

use crate::doc::{DocError, ReadJournal, VaultDoc};
use crate::model::{comp_amount, fields, FieldType, Kind, Record, SCHEMA_VERSION};
use crate::report::ref_title;
use crate::time::stored_zoned;

/// The CSV columns of a compensation map, in order.
const COMP_COLUMNS: [&str; 6] = ["currency", "base", "period", "bonus", "signing", "equity"];

/// Why an import was refused. Nothing is written when it is.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not an Interlog JSON export: {0}")]
    Shape(String),
    #[error("this export is from schema {0}, newer than this build understands ({SCHEMA_VERSION}); upgrade interlog first")]
    TooNew(i64),
    /// Its names and notes are placeholders; merged into a vault with the
    /// same ids, they would overwrite the real ones.
    #[error("this is a redacted export (`export --redact`): its names and notes are placeholders, and importing it would overwrite your records with them; nothing was imported. Import an export made without --redact")]
    Redacted,
    #[error(transparent)]
    Doc(#[from] DocError),
}

/// How many records an import wrote, by kind.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub records: usize,
}

/// Validates a whole export before touching the document, then writes it.
/// Records keep their ids, so references between them stay intact; a record
/// that already exists has the export's fields merged into it.
pub fn import_json(doc: &mut VaultDoc, export: &Value) -> Result<ImportSummary, ImportError> {
    let root = export
        .as_object()
        .ok_or_else(|| ImportError::Shape("the top level is not an object".into()))?;
    let schema = root
        .get("schema")
        .and_then(Value::as_i64)
        .ok_or_else(|| ImportError::Shape("it has no \"schema\" number".into()))?;
    if schema > SCHEMA_VERSION {
        return Err(ImportError::TooNew(schema));
    }
    if root
        .get(crate::redact::MARKER)
        .is_some_and(|v| v != &Value::Bool(false))
    {
        return Err(ImportError::Redacted);
    }
    let mut plan: Vec<(Kind, &str, &Map<String, Value>)> = Vec::new();
    for kind in Kind::ALL {
        let Some(records) = root.get(kind.root_key()) else {
            continue;
        };
        let records = records.as_object().ok_or_else(|| {
            ImportError::Shape(format!(
                "\"{}\" is not an object of records",
                kind.root_key()
            ))
        })?;
        for (id, fields) in records {
            let fields = fields.as_object().ok_or_else(|| {
                ImportError::Shape(format!("{} {id} is not an object", kind.name()))
            })?;
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ImportError::Shape(format!(
                    "'{id}' is not a valid {} id",
                    kind.name()
                )));
            }
            plan.push((kind, id, fields));
        }
    }
    let profile = match root.get("profile") {
        Some(Value::Object(p)) => Some(p),
        None | Some(Value::Null) => None,
        Some(_) => return Err(ImportError::Shape("\"profile\" is not an object".into())),
    };
    if let Some(p) = profile {
        doc.update_profile(p)?;
    }
    for (kind, id, fields) in &plan {
        doc.create_with_id(*kind, id, fields)?;
    }
    Ok(ImportSummary {
        records: plan.len(),
    })
}

/// One kind's live records as CSV: the id, then every schema field. Sets are
/// joined with `;`, references get an extra `<field>_name` column, money
/// columns have their currency beside them, and entry maps
/// are counted. Money is in major units (`120000.50`) with its currency in
/// the `_currency` column beside it, and instants are RFC 3339.
pub fn csv(doc: &dyn ReadJournal, kind: Kind) -> Result<String, csv::Error> {
    let mut header = vec!["id".to_string()];
    let specs: Vec<_> = fields(kind).collect();
    for spec in &specs {
        match spec.ty {
            FieldType::Comp => {
                for k in COMP_COLUMNS {
                    header.push(format!("{}_{k}", spec.name));
                }
            }
            FieldType::Ref(_) | FieldType::AnyRef => {
                header.push(spec.name.to_string());
                header.push(format!("{}_name", spec.name));
            }
            FieldType::Entries | FieldType::Ratings => header.push(format!("{}_count", spec.name)),
            _ => header.push(spec.name.to_string()),
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    for r in doc.live(kind) {
        let mut row = vec![r.id.clone()];
        for spec in &specs {
            match spec.ty {
                FieldType::Comp => {
                    let comp = r.map(spec.name);
                    for k in COMP_COLUMNS {
                        let amount = comp.and_then(|c| comp_amount(c, k));
                        row.push(match amount {
                            Some(m) if k != "period" => m.plain(),
                            _ => comp.and_then(|c| c.get(k)).map(cell).unwrap_or_default(),
                        });
                    }
                }
                FieldType::Ref(_) | FieldType::AnyRef => {
                    let id = r.str(spec.name);
                    row.push(id.unwrap_or_default().to_string());
                    row.push(id.map(|id| ref_title(doc, id)).unwrap_or_default());
                }
                FieldType::Entries => row.push(r.entries(spec.name).len().to_string()),
                FieldType::Ratings => row.push(r.ratings(spec.name).len().to_string()),
                FieldType::Set | FieldType::EnumSet(_) | FieldType::RefSet(_) => {
                    let members: Vec<String> = match spec.ty {
                        FieldType::RefSet(_) => r
                            .set(spec.name)
                            .iter()
                            .map(|id| ref_title(doc, id))
                            .collect(),
                        _ => r.set(spec.name).iter().map(|s| s.to_string()).collect(),
                    };
                    row.push(members.join(";"));
                }
                FieldType::Map => {
                    row.push(r.get(spec.name).map(|v| v.to_string()).unwrap_or_default())
                }
                FieldType::DateTime => row.push(
                    r.str(spec.name)
                        .map(|s| stored_zoned(s).map_or_else(|| s.to_string(), |z| rfc3339(&z)))
                        .unwrap_or_default(),
                ),
                _ => row.push(r.get(spec.name).map(cell).unwrap_or_default()),
            }
        }
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An instant as RFC 3339 with its UTC offset (`2026-11-20T14:00:00+01:00`):
/// what spreadsheets parse; the stored `[Europe/Paris]` suffix is RFC 9557's.
pub fn rfc3339(z: &jiff::Zoned) -> String {
    z.timestamp().display_with_offset(z.offset()).to_string()
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The calendar's PRODID, and the domain of each event's UID. Neither
/// names Interlog: a calendar shared with work shows its events' source,
/// and "an interview journal" is exactly the signal to avoid.
const PRODID: &str = "-//journal//EN";
const UID_DOMAIN: &str = "journal";

/// The interviews as an iCalendar file. Titles are neutral ("Appointment")
/// unless `real_titles`: the user's calendar may be visible at work. Even
/// then, an interview at a company flagged sensitive
/// ([`Record::is_sensitive`]) keeps its neutral title and no description.
pub fn ics(doc: &dyn ReadJournal, real_titles: bool) -> String {
    let mut out =
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\n");
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    for r in doc.live(Kind::Interview) {
        let Some(start) = r.str("start").and_then(stored_zoned) else {
            continue;
        };
        if r.str("status") == Some("cancelled") {
            continue;
        }
        let minutes = r.int("duration_min").unwrap_or(60);
        let Ok(end) = start
            .timestamp()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
        else {
            continue;
        };
        let real = real_titles && !at_sensitive_company(doc, &r);
        let (summary, description) = if real {
            (interview_title(doc, &r), r.str("notes").map(str::to_string))
        } else {
            ("Appointment".to_string(), None)
        };
        out.push_str("BEGIN:VEVENT\r\n");
        fold(&mut out, &format!("UID:{}@{UID_DOMAIN}", r.id));
        fold(&mut out, &format!("DTSTAMP:{stamp}"));
        fold(
            &mut out,
            &format!("DTSTART:{}", start.timestamp().strftime("%Y%m%dT%H%M%SZ")),
        );
        fold(
            &mut out,
            &format!("DTEND:{}", end.strftime("%Y%m%dT%H%M%SZ")),
        );
        fold(&mut out, &format!("SUMMARY:{}", escape(&summary)));
        if let Some(d) = description {
            fold(&mut out, &format!("DESCRIPTION:{}", escape(&d)));
        }
        if !real {
            out.push_str("CLASS:PRIVATE\r\n");
        }
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// Whether an interview is at a company flagged sensitive: its own
/// company, or its opportunity's when it has none.
fn at_sensitive_company(doc: &dyn ReadJournal, interview: &Record) -> bool {
    let company = interview.str("company").map(str::to_string).or_else(|| {
        let opp = doc.record(Kind::Opportunity, interview.str("opportunity")?)?;
        opp.str("company").map(str::to_string)
    });
    company
        .and_then(|c| doc.record(Kind::Company, &c))
        .is_some_and(|c| c.is_sensitive())
}

/// "Interview: Acme (technical)".
pub fn interview_title(doc: &dyn ReadJournal, r: &Record) -> String {
    let company = r
        .str("company")
        .map(|c| ref_title(doc, c))
        .unwrap_or_else(|| "?".into());
    match r.str("kind") {
        Some(k) => format!("Interview: {company} ({})", k.replace('_', " ")),
        None => format!("Interview: {company}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), on char boundaries.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn doc_with_interview() -> (VaultDoc, String) {
        let mut d = VaultDoc::new_vault("v", b"device-a").unwrap();
        let co = d
            .create(Kind::Company, &obj(json!({"name": "Sensitive, Inc."})))
            .unwrap();
        let id = d
            .create(Kind::Interview, &obj(json!({"company": co, "kind": "technical", "start": "2026-11-20T14:00:00+01:00[Europe/Paris]", "duration_min": 45, "notes": "line one\nline two"})))
            .unwrap();
        (d, id)
    }

    #[test]
    fn ics_titles_are_neutral_by_default() {
        let (d, id) = doc_with_interview();
        let neutral = ics(&d, false);
        assert!(neutral.contains("SUMMARY:Appointment\r\n"));
        assert!(!neutral.contains("Sensitive"));
        assert!(neutral.contains(&format!("UID:{id}@journal")));
        assert!(neutral.contains("DTSTART:20261120T130000Z"));
        assert!(neutral.contains("DTEND:20261120T134500Z"));
        let real = ics(&d, true);
        assert!(real.contains("SUMMARY:Interview: Sensitive\\, Inc. (technical)"));
        assert!(real.contains("DESCRIPTION:line one\\nline two"));
    }

    #[test]
    fn the_calendar_does_not_name_interlog() {
        let (d, _) = doc_with_interview();
        for real in [false, true] {
            let text = ics(&d, real);
            assert!(text.contains("PRODID:-//journal//EN\r\n"), "{text}");
            assert!(!text.to_lowercase().contains("interlog"), "{text}");
        }
    }

    #[test]
    fn sensitive_companies_keep_neutral_titles_even_with_real_titles() {
        let (mut d, open_id) = doc_with_interview();
        let mut ids = Vec::new();
        for level in ["caution", "high"] {
            let co = d
                .create(
                    Kind::Company,
                    &obj(json!({"name": format!("Secret {level}"), "sensitivity": level})),
                )
                .unwrap();
            let opp = d
                .create(
                    Kind::Opportunity,
                    &obj(json!({"company": co, "role": "Spy"})),
                )
                .unwrap();
            // One with its company, one reaching it only through its opportunity.
            for fields in [
                json!({"company": co, "kind": "technical", "notes": "hush"}),
                json!({"opportunity": opp, "kind": "panel", "notes": "hush"}),
            ] {
                let mut fields = obj(fields);
                fields.insert(
                    "start".into(),
                    json!("2026-11-21T10:00:00+01:00[Europe/Paris]"),
                );
                ids.push(d.create(Kind::Interview, &fields).unwrap());
            }
        }
        let real = ics(&d, true);
        assert!(!real.contains("Secret") && !real.contains("hush"), "{real}");
        assert!(real.contains("SUMMARY:Interview: Sensitive\\, Inc. (technical)"));
        for id in ids {
            let event = real
                .split("BEGIN:VEVENT")
                .find(|e| e.contains(&id))
                .unwrap();
            assert!(event.contains("SUMMARY:Appointment\r\n"), "{event}");
            assert!(event.contains("CLASS:PRIVATE\r\n"), "{event}");
        }
        let event = real
            .split("BEGIN:VEVENT")
            .find(|e| e.contains(&open_id))
            .unwrap();
        assert!(!event.contains("CLASS:PRIVATE"), "{event}");
    }

    #[test]
    fn a_redacted_export_is_not_imported() {
        let (d, _) = doc_with_interview();
        let export = crate::redact::redacted(&d).to_json();
        let mut target = VaultDoc::new_vault("v", b"device-a").unwrap();
        let before = target.to_json();
        let err = import_json(&mut target, &export).unwrap_err();
        assert!(matches!(err, ImportError::Redacted), "{err}");
        assert_eq!(target.to_json(), before);
    }

    #[test]
    fn long_lines_fold_at_75_octets() {
        let mut out = String::new();
        fold(&mut out, &"é".repeat(100));
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
    }

    #[test]
    fn csv_resolves_references() {
        let (d, id) = doc_with_interview();
        let text = csv(&d, Kind::Interview).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("id,opportunity,opportunity_name,company,company_name,start"));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with(&id) && row.contains("\"Sensitive, Inc.\""),
            "{row}"
        );
    }

    #[test]
    fn import_refuses_bad_shapes_and_writes_nothing() {
        let mut d = VaultDoc::new_vault("v", b"device-a").unwrap();
        let before = d.to_json();
        for bad in [
            json!([1, 2]),
            json!({"companies": {}}),
            json!({"schema": 1, "companies": {"01A": {"name": "ok"}}, "contacts": []}),
            json!({"schema": 1, "companies": {"bad id!": {"name": "x"}}}),
            json!({"schema": 99}),
        ] {
            assert!(import_json(&mut d, &bad).is_err(), "{bad}");
            assert_eq!(d.to_json(), before);
        }
    }

    #[test]
    fn export_import_round_trip_is_exact() {
        let (mut d, _) = doc_with_interview();
        d.update_profile(&obj(json!({"monthly_goal": 3}))).unwrap();
        let export = d.to_json();
        let mut fresh = VaultDoc::new_vault("other", b"device-b").unwrap();
        import_json(&mut fresh, &export).unwrap();
        assert_eq!(fresh.to_json(), export);
    }
}
