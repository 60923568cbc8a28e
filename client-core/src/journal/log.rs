//! `log`: an interview in seconds. The company, its opportunity and the
//! interviewers are found by name, or added.

use crate::doc::ReadJournal as _;
use jiff::Zoned;
use serde_json::{json, Map, Value};

use super::{company_or_new, invalid, live, obj, JournalError, Result};
use crate::doc::VaultDoc;
use crate::model::{self, Kind, Record};
use crate::report::{ref_title, working_hours_warning};
use crate::time::parse_when;

/// An interview as the user typed it.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    /// The company, by name or id; a new name adds it.
    pub company: String,
    /// The opportunity (id); otherwise the open one at the company (for
    /// `role`), or a new one.
    pub opportunity: Option<String>,
    pub role: Option<String>,
    pub kind: Option<String>,
    pub rating: Option<String>,
    /// When it started ("an hour ago", "yesterday 14:00"); now by default.
    pub at: Option<String>,
    pub duration_min: Option<String>,
    pub note: Option<String>,
    /// Interviewers, by name or id; new names become contacts at the
    /// company.
    pub with: Vec<String>,
}

/// What `log` wrote.
#[derive(Debug, Clone)]
pub struct Logged {
    pub id: String,
    pub company: String,
    /// Whether the company was added by this log.
    pub new_company: bool,
    pub opportunity: String,
    pub interviewers: Vec<String>,
    pub start: Zoned,
    pub commit: String,
    /// Discretion warnings: a sensitive company, or working hours.
    pub warnings: Vec<String>,
}

pub fn log_interview(doc: &mut VaultDoc, r: &LogRequest, now: &Zoned) -> Result<Logged> {
    // Validate everything before the first write.
    let company_name = r.company.trim();
    if company_name.is_empty() {
        invalid!("the company name is empty; write it like `interlog log Acme`");
    }
    let start = match &r.at {
        Some(w) => parse_when(w, now).map_err(|e| JournalError::Invalid(format!("--at: {e}")))?,
        None => now.clone(),
    };
    let spec = |f| model::field(Some(Kind::Interview), f);
    let mut fields = Map::new();
    fields.insert("start".into(), Value::String(start.to_string()));
    let status = if &start > now { "scheduled" } else { "done" };
    fields.insert("status".into(), Value::String(status.into()));
    if let Some(k) = &r.kind {
        fields.insert("kind".into(), model::parse_input(spec("kind")?, k)?);
    }
    if let Some(n) = &r.rating {
        fields.insert("rating".into(), model::parse_input(spec("rating")?, n)?);
    }
    if let Some(d) = &r.duration_min {
        fields.insert(
            "duration_min".into(),
            model::parse_input(spec("duration_min")?, d)?,
        );
    }
    if let Some(n) = &r.note {
        fields.insert("notes".into(), Value::String(n.clone()));
    }
    let given_opp = match &r.opportunity {
        Some(o) => Some(live(doc, o, &[Kind::Opportunity])?),
        None => None,
    };

    let (company, new_company) = match &given_opp {
        Some(o) => {
            let Some(company) = o.str("company").map(str::to_string) else {
                invalid!("opportunity {} has no company", o.id);
            };
            let named = doc.find_by_name(Kind::Company, company_name).map(|c| c.id);
            if named.as_deref() != Some(company.as_str())
                && !company.eq_ignore_ascii_case(company_name)
            {
                invalid!(
                    "opportunity {} is at {}, not {company_name}; leave out --opp or name that company",
                    o.id,
                    ref_title(doc, &company)
                );
            }
            (company, false)
        }
        None => company_or_new(doc, company_name)?,
    };
    let opportunity = match given_opp {
        Some(o) => o.id,
        None => opportunity_for(doc, &company, r.role.as_deref(), &r.kind, &start)?,
    };
    let mut interviewers = Vec::new();
    for who in &r.with {
        interviewers.push(contact_or_new(doc, who, &company, now)?);
    }
    fields.insert("company".into(), Value::String(company.clone()));
    fields.insert("opportunity".into(), Value::String(opportunity.clone()));
    let id = doc.create(Kind::Interview, &fields)?;
    doc.set_members(Kind::Interview, &id, "interviewers", &interviewers)?;

    let mut warnings = Vec::new();
    if let Some(c) = doc.record(Kind::Company, &company) {
        if c.is_sensitive() {
            let level = c.str("sensitivity").unwrap_or_default();
            let why = c
                .str("sensitivity_reason")
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            warnings.push(format!(
                "{} is marked sensitive ({level}{why}); keep this one discreet",
                c.title()
            ));
        }
    }
    if let Some(w) = working_hours_warning(&doc.profile(), &start) {
        warnings.push(w);
    }
    Ok(Logged {
        commit: format!("log interview {id}"),
        id,
        company,
        new_company,
        opportunity,
        interviewers,
        start,
        warnings,
    })
}

/// The open opportunity at `company` for `role` (any open one when no role is
/// given), or a new one whose first stage follows from the interview kind.
fn opportunity_for(
    doc: &mut VaultDoc,
    company: &str,
    role: Option<&str>,
    kind: &Option<String>,
    start: &Zoned,
) -> Result<String> {
    let mut open: Vec<Record> = doc
        .live_with(Kind::Opportunity, "company", company)
        .into_iter()
        .filter(|o| !o.current_stage().is_some_and(model::is_closed_stage))
        .filter(|o| match role {
            Some(r) => o
                .str("role")
                .is_some_and(|x| x.to_lowercase() == r.trim().to_lowercase()),
            None => true,
        })
        .collect();
    open.sort_by(|a, b| b.id.cmp(&a.id));
    if let Some(o) = open.first() {
        return Ok(o.id.clone());
    }
    let mut fields = Map::new();
    fields.insert("company".into(), Value::String(company.into()));
    if let Some(r) = role {
        fields.insert("role".into(), Value::String(r.trim().into()));
    }
    let id = doc.create(Kind::Opportunity, &fields)?;
    let stage = match kind
        .as_deref()
        .map(|k| k.to_ascii_lowercase().replace(['-', ' '], "_"))
    {
        Some(k) if k == "recruiter_screen" || k == "informational" => "screen",
        _ => "interviewing",
    };
    let mut event = Map::new();
    event.insert("stage".into(), Value::String(stage.into()));
    event.insert("at".into(), Value::String(start.to_string()));
    doc.add_entry(Kind::Opportunity, &id, "stages", &event)?;
    Ok(id)
}

/// The contact named `who` (or with that id); a new name becomes an
/// interviewer working at `company`.
fn contact_or_new(doc: &mut VaultDoc, who: &str, company: &str, now: &Zoned) -> Result<String> {
    if let Some(r) = doc.find_one_by_name(Kind::Contact, who)? {
        return Ok(r.id);
    }
    if let Ok(r) = doc.find(who, &[Kind::Contact]) {
        return Ok(r.id);
    }
    let name = who.trim();
    if name.is_empty() {
        invalid!("--with needs a name");
    }
    let id = doc.create(
        Kind::Contact,
        &obj(json!({"name": name, "kind": "interviewer"})),
    )?;
    let job = json!({"company": company, "from": now.date().to_string()});
    doc.add_entry(Kind::Contact, &id, "employment", &obj(job))?;
    Ok(id)
}
