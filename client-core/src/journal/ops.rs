//! The operations on records, kind by kind. Each returns a [`Change`]: the
//! record it wrote, the message to commit it with, and any warnings.

use jiff::Zoned;
use serde_json::{json, Map, Value};

use super::{
    apply, comp, company_or_new, create, field_value, invalid, live, live_named, obj, opt,
    parse_sets, split, CompInput, JournalError, Result, Write,
};
use crate::doc::{conflict_codes, Conflict, ReadJournal, VaultDoc};
use crate::model::{self, short, FieldType, Kind, Record};
use crate::time::{parse_date, parse_when};

/// What an operation wrote.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: Kind,
    /// The record created or changed.
    pub id: String,
    /// The message to commit the change with.
    pub commit: String,
    /// Things the user should know, already worded (e.g. a namesake).
    pub warnings: Vec<String>,
}

impl Change {
    fn new(kind: Kind, id: &str, commit: String) -> Change {
        Change {
            kind,
            id: id.to_string(),
            commit,
            warnings: Vec::new(),
        }
    }
}

/// The fields every `add` takes besides its own: notes, and `FIELD=VALUE`
/// pairs for the rest.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub notes: Option<String>,
    pub set: Vec<String>,
}

fn extra(doc: &dyn ReadJournal, kind: Kind, writes: &mut Vec<Write>, e: &Extra) -> Result<()> {
    opt(doc, Some(kind), writes, "notes", &e.notes)?;
    writes.extend(parse_sets(doc, Some(kind), &e.set)?);
    Ok(())
}

// ---- companies -----------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewCompany {
    pub name: String,
    pub industry: Option<String>,
    pub priority: Option<String>,
    pub sensitivity: Option<String>,
    pub reason: Option<String>,
    pub aliases: Vec<String>,
    pub extra: Extra,
}

pub fn add_company(doc: &mut VaultDoc, r: &NewCompany) -> Result<Change> {
    if let Some(existing) = doc.find_by_name(Kind::Company, &r.name) {
        let id = short(&existing.id);
        return Err(JournalError::Exists(format!(
            "a company named '{}' already exists ({id}); edit it with `interlog company edit {id}`",
            existing.title(),
        )));
    }
    let k = Some(Kind::Company);
    let mut w = vec![field_value(doc, k, "name", &r.name)?];
    opt(doc, k, &mut w, "industry", &r.industry)?;
    opt(doc, k, &mut w, "priority", &r.priority)?;
    opt(doc, k, &mut w, "sensitivity", &r.sensitivity)?;
    opt(doc, k, &mut w, "sensitivity_reason", &r.reason)?;
    if !r.aliases.is_empty() {
        w.push(Write::Set(
            "aliases".into(),
            r.aliases.iter().map(|a| a.trim().to_string()).collect(),
        ));
    }
    extra(doc, Kind::Company, &mut w, &r.extra)?;
    let id = create(doc, Kind::Company, w)?;
    Ok(Change::new(Kind::Company, &id, format!("add company {id}")))
}

// ---- contacts ------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub name: String,
    pub kind: Option<String>,
    /// Where they work now (a name or id; a new name adds the company).
    pub company: Option<String>,
    /// Their title there; needs `company`.
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub link: Option<String>,
    pub met: Option<String>,
    pub keep_in_touch_days: Option<String>,
    pub extra: Extra,
}

pub fn add_contact(doc: &mut VaultDoc, r: &NewContact, today: jiff::civil::Date) -> Result<Change> {
    let k = Some(Kind::Contact);
    let namesakes = doc.find_all_by_name(Kind::Contact, &r.name);
    let mut w = vec![field_value(doc, k, "name", &r.name)?];
    opt(doc, k, &mut w, "kind", &r.kind)?;
    opt(doc, k, &mut w, "met", &r.met)?;
    opt(doc, k, &mut w, "keep_in_touch_days", &r.keep_in_touch_days)?;
    extra(doc, Kind::Contact, &mut w, &r.extra)?;
    if r.title.is_some() && r.company.is_none() {
        invalid!("--title needs --company: where do they hold that title?");
    }
    let (mut patch, sets) = split(w);
    let channels: Map<String, Value> =
        [("email", &r.email), ("phone", &r.phone), ("link", &r.link)]
            .into_iter()
            .filter_map(|(k, v)| {
                v.as_ref()
                    .map(|v| (k.to_string(), Value::String(v.trim().to_string())))
            })
            .collect();
    if !channels.is_empty() {
        patch.insert("channels".into(), Value::Object(channels));
    }
    let company = match &r.company {
        Some(c) => Some(company_or_new(doc, c)?.0),
        None => None,
    };
    let id = doc.create(Kind::Contact, &patch)?;
    for (f, m) in sets {
        doc.set_members(Kind::Contact, &id, &f, &m)?;
    }
    if let Some(company) = company {
        let mut job = obj(json!({"company": company, "from": today.to_string()}));
        if let Some(t) = &r.title {
            job.insert("title".into(), Value::String(t.clone()));
        }
        doc.add_entry(Kind::Contact, &id, "employment", &job)?;
    }
    let mut change = Change::new(Kind::Contact, &id, format!("add contact {id}"));
    if !namesakes.is_empty() {
        change.warnings.push(format!(
            "you already have a contact named '{}': {}. Both are kept; where a command takes a name, give the id of the one you mean (or `interlog delete` the new one if it is the same person)",
            r.name.trim(),
            doc.describe_candidates(&namesakes)
        ));
    }
    Ok(change)
}

/// A contact who changed jobs: their open jobs end on `on` (today by
/// default), and one at `company` starts.
pub fn contact_moved(
    doc: &mut VaultDoc,
    contact: &str,
    company: &str,
    title: Option<&str>,
    on: Option<&str>,
    today: jiff::civil::Date,
) -> Result<(Change, String)> {
    let person = live_named(doc, contact, Kind::Contact)?;
    let date = match on {
        Some(d) => parse_date(d).map_err(|e| JournalError::Invalid(format!("--on: {e}")))?,
        None => today,
    };
    let (company_id, _) = company_or_new(doc, company)?;
    for (key, job) in person.entries("employment") {
        if job
            .get("to")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            doc.put_entry(
                Kind::Contact,
                &person.id,
                "employment",
                key,
                &obj(json!({"to": date.to_string()})),
            )?;
        }
    }
    let mut job = obj(json!({"company": company_id, "from": date.to_string()}));
    if let Some(t) = title {
        job.insert("title".into(), Value::String(t.to_string()));
    }
    doc.add_entry(Kind::Contact, &person.id, "employment", &job)?;
    let commit = format!("contact {} moved", person.id);
    Ok((Change::new(Kind::Contact, &person.id, commit), company_id))
}

/// Notes that the user was in touch with a contact on `on` (today).
pub fn contact_touched(doc: &mut VaultDoc, contact: &str, on: Option<&str>) -> Result<Change> {
    let person = live_named(doc, contact, Kind::Contact)?;
    let w = vec![field_value(
        doc,
        Some(Kind::Contact),
        "last_contacted",
        on.unwrap_or("today"),
    )?];
    apply(doc, Kind::Contact, &person.id, w)?;
    let commit = format!("contact {} touched", person.id);
    Ok(Change::new(Kind::Contact, &person.id, commit))
}

// ---- opportunities -------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewOpportunity {
    pub company: String,
    pub role: Option<String>,
    pub level: Option<String>,
    pub level_delta: Option<String>,
    pub source: Option<String>,
    pub purpose: Option<String>,
    /// How interested the user is (1-5), before and now.
    pub interest: Option<String>,
    pub told_recruiter: Option<String>,
    /// The first stage; `lead` by default.
    pub stage: Option<String>,
    pub extra: Extra,
}

fn stage_event(stage: &str, at: &str, note: Option<&str>) -> Map<String, Value> {
    let mut e = obj(json!({"stage": stage, "at": at}));
    if let Some(n) = note {
        e.insert("note".into(), Value::String(n.to_string()));
    }
    e
}

pub fn add_opportunity(doc: &mut VaultDoc, r: &NewOpportunity, now: &Zoned) -> Result<Change> {
    let k = Some(Kind::Opportunity);
    let mut w = Vec::new();
    opt(doc, k, &mut w, "role", &r.role)?;
    opt(doc, k, &mut w, "level", &r.level)?;
    opt(doc, k, &mut w, "level_delta", &r.level_delta)?;
    opt(doc, k, &mut w, "source", &r.source)?;
    opt(doc, k, &mut w, "purpose", &r.purpose)?;
    opt(doc, k, &mut w, "interest_before", &r.interest)?;
    opt(doc, k, &mut w, "interest_now", &r.interest)?;
    opt(doc, k, &mut w, "told_recruiter", &r.told_recruiter)?;
    extra(doc, Kind::Opportunity, &mut w, &r.extra)?;
    let stage = model::parse_enum("stage", model::STAGES, r.stage.as_deref().unwrap_or("lead"))?;
    let (company_id, _) = company_or_new(doc, &r.company)?;
    w.push(Write::Field("company".into(), Value::String(company_id)));
    let id = create(doc, Kind::Opportunity, w)?;
    doc.add_entry(
        Kind::Opportunity,
        &id,
        "stages",
        &stage_event(&stage, &now.to_string(), None),
    )?;
    Ok(Change::new(
        Kind::Opportunity,
        &id,
        format!("add opportunity {id}"),
    ))
}

/// Moves an opportunity to `stage` at `at` (a time the user typed; now by
/// default).
pub fn stage_opportunity(
    doc: &mut VaultDoc,
    id: &str,
    stage: &str,
    at: Option<&str>,
    note: Option<&str>,
    now: &Zoned,
) -> Result<Change> {
    let o = live(doc, id, &[Kind::Opportunity])?;
    let stage = model::parse_enum("stage", model::STAGES, stage)?;
    let at = match at {
        Some(w) => parse_when(w, now).map_err(|e| JournalError::Invalid(format!("--at: {e}")))?,
        None => now.clone(),
    };
    doc.add_entry(
        Kind::Opportunity,
        &o.id,
        "stages",
        &stage_event(&stage, &at.to_string(), note),
    )?;
    let commit = format!("opportunity {} stage {stage}", o.id);
    Ok(Change::new(Kind::Opportunity, &o.id, commit))
}

/// Who closed an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedBy {
    /// The user withdrew.
    Me,
    /// The company rejected.
    Them,
}

/// Closes an opportunity: a `withdrawn` or `rejected` stage, and who
/// closed it, why, and whether the door stays open.
pub fn close_opportunity(
    doc: &mut VaultDoc,
    id: &str,
    by: ClosedBy,
    reason: Option<&str>,
    door_open: bool,
    now: &Zoned,
) -> Result<Change> {
    let o = live(doc, id, &[Kind::Opportunity])?;
    let (stage, who, verb) = match by {
        ClosedBy::Me => ("withdrawn", "me", "withdraw from"),
        ClosedBy::Them => ("rejected", "them", "rejected"),
    };
    doc.add_entry(
        Kind::Opportunity,
        &o.id,
        "stages",
        &stage_event(stage, &now.to_string(), reason),
    )?;
    let mut close = obj(json!({"by": who, "door_open": door_open, "at": now.to_string()}));
    // Always written, so a reason from an earlier close never lingers.
    close.insert(
        "reason".into(),
        reason.map_or(Value::Null, |r| Value::String(r.into())),
    );
    doc.update(Kind::Opportunity, &o.id, &obj(json!({ "close": close })))?;
    Ok(Change::new(
        Kind::Opportunity,
        &o.id,
        format!("{verb} {}", o.id),
    ))
}

/// Sets an opportunity's posted range (`posted`) or what the user asked.
pub fn set_opportunity_comp(
    doc: &mut VaultDoc,
    id: &str,
    posted: bool,
    input: &CompInput,
) -> Result<Change> {
    let o = live(doc, id, &[Kind::Opportunity])?;
    let field = if posted { "posted_comp" } else { "asked_comp" };
    let Some(c) = comp(doc, input, o.map(field))? else {
        invalid!("give the amounts: --base, --bonus, --signing, --equity, with --currency");
    };
    doc.update(Kind::Opportunity, &o.id, &obj(json!({ field: c })))?;
    let commit = format!("opportunity {} {field}", o.id);
    Ok(Change::new(Kind::Opportunity, &o.id, commit))
}

// ---- offers --------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewOffer {
    /// The opportunity (id) the offer ends.
    pub opportunity: String,
    /// When it came; today by default.
    pub received: Option<String>,
    pub expires: Option<String>,
    pub level: Option<String>,
    pub level_delta: Option<String>,
    pub comp: CompInput,
    pub extra: Extra,
}

pub fn add_offer(doc: &mut VaultDoc, r: &NewOffer, now: &Zoned) -> Result<Change> {
    let k = Some(Kind::Offer);
    let o = live(doc, &r.opportunity, &[Kind::Opportunity])?;
    let mut w = vec![Write::Field(
        "opportunity".into(),
        Value::String(o.id.clone()),
    )];
    if let Some(c) = o.str("company") {
        w.push(Write::Field("company".into(), Value::String(c.into())));
    }
    w.push(field_value(
        doc,
        k,
        "received",
        r.received.as_deref().unwrap_or("today"),
    )?);
    opt(doc, k, &mut w, "expires", &r.expires)?;
    opt(doc, k, &mut w, "level", &r.level)?;
    opt(doc, k, &mut w, "level_delta", &r.level_delta)?;
    w.push(Write::Field(
        "decision".into(),
        Value::String("pending".into()),
    ));
    extra(doc, Kind::Offer, &mut w, &r.extra)?;
    if let Some(c) = comp(doc, &r.comp, None)? {
        w.push(Write::Field("comp".into(), Value::Object(c)));
    }
    let id = create(doc, Kind::Offer, w)?;
    if o.current_stage() != Some("offer") {
        doc.add_entry(
            Kind::Opportunity,
            &o.id,
            "stages",
            &stage_event("offer", &now.to_string(), None),
        )?;
    }
    Ok(Change::new(Kind::Offer, &id, format!("add offer {id}")))
}

/// One negotiation round: what the user asked and what they offered
/// (base pay, in the offer's currency). Their offer becomes the package.
pub fn offer_round(
    doc: &mut VaultDoc,
    id: &str,
    asked: Option<&str>,
    offered: Option<&str>,
    note: Option<&str>,
    today: jiff::civil::Date,
) -> Result<Change> {
    let o = live(doc, id, &[Kind::Offer])?;
    let Some(currency) = o
        .map("comp")
        .and_then(|c| c.get("currency"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        invalid!(
            "this offer has no currency yet; set its package with `interlog offer comp {} --currency EUR --base …` first",
            short(&o.id)
        );
    };
    if asked.is_none() && offered.is_none() {
        invalid!("give --asked, --offered or both (base pay, in {currency})");
    }
    let mut round = obj(json!({"at": today.to_string(), "currency": currency}));
    for (key, raw) in [("asked", asked), ("offered", offered)] {
        if let Some(raw) = raw {
            let minor = model::parse_amount(raw, &currency)
                .map_err(|e| JournalError::Invalid(format!("--{key}: {e}")))?;
            round.insert(key.into(), Value::from(minor));
        }
    }
    if let Some(n) = note {
        round.insert("note".into(), Value::String(n.to_string()));
    }
    // Their new figure is the package now, so stats compare it.
    if let Some(offered) = round.get("offered").cloned() {
        let mut c = obj(json!({ "base": offered }));
        if o.map("comp").and_then(|c| c.get("period")).is_none() {
            c.insert("period".into(), Value::String("year".into()));
        }
        doc.update(Kind::Offer, &o.id, &obj(json!({ "comp": c })))?;
    }
    doc.add_entry(Kind::Offer, &o.id, "rounds", &round)?;
    if o.str("decision") == Some("pending") {
        doc.update(Kind::Offer, &o.id, &obj(json!({"decision": "negotiating"})))?;
    }
    Ok(Change::new(
        Kind::Offer,
        &o.id,
        format!("offer {} round", o.id),
    ))
}

/// Updates an offer's package.
pub fn set_offer_comp(doc: &mut VaultDoc, id: &str, input: &CompInput) -> Result<Change> {
    let o = live(doc, id, &[Kind::Offer])?;
    let Some(c) = comp(doc, input, o.map("comp"))? else {
        invalid!("give the amounts: --base, --bonus, --signing, --equity, with --currency");
    };
    doc.update(Kind::Offer, &o.id, &obj(json!({ "comp": c })))?;
    Ok(Change::new(
        Kind::Offer,
        &o.id,
        format!("offer {} comp", o.id),
    ))
}

/// Records the user's decision; accepting or declining also moves the
/// opportunity to that stage.
pub fn decide_offer(doc: &mut VaultDoc, id: &str, decision: &str, now: &Zoned) -> Result<Change> {
    let o = live(doc, id, &[Kind::Offer])?;
    let decision = model::parse_enum("decision", model::DECISIONS, decision)?;
    doc.update(Kind::Offer, &o.id, &obj(json!({"decision": decision})))?;
    if let (Some(opp), "accepted" | "declined") = (o.str("opportunity"), decision.as_str()) {
        if doc.record(Kind::Opportunity, opp).is_some() {
            doc.add_entry(
                Kind::Opportunity,
                opp,
                "stages",
                &stage_event(&decision, &now.to_string(), None),
            )?;
        }
    }
    let commit = format!("offer {} {decision}", o.id);
    Ok(Change::new(Kind::Offer, &o.id, commit))
}

// ---- follow-ups and questions ---------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewFollowUp {
    pub note: String,
    /// When it is due; in a week by default.
    pub due: Option<String>,
    pub kind: Option<String>,
    /// A contact or company by name, or any record by id.
    pub target: Option<String>,
}

pub fn add_followup(doc: &mut VaultDoc, r: &NewFollowUp) -> Result<Change> {
    let k = Some(Kind::FollowUp);
    let mut w = vec![field_value(doc, k, "note", &r.note)?];
    w.push(field_value(
        doc,
        k,
        "due",
        r.due.as_deref().unwrap_or("+7"),
    )?);
    w.push(field_value(
        doc,
        k,
        "kind",
        r.kind.as_deref().unwrap_or("follow_up"),
    )?);
    opt(doc, k, &mut w, "target", &r.target)?;
    w.push(Write::Field("done".into(), Value::Bool(false)));
    let id = create(doc, Kind::FollowUp, w)?;
    Ok(Change::new(
        Kind::FollowUp,
        &id,
        format!("add follow-up {id}"),
    ))
}

pub fn followup_done(doc: &mut VaultDoc, id: &str) -> Result<Change> {
    let f = live(doc, id, &[Kind::FollowUp])?;
    doc.update(Kind::FollowUp, &f.id, &obj(json!({"done": true})))?;
    let commit = format!("follow-up {} done", f.id);
    Ok(Change::new(Kind::FollowUp, &f.id, commit))
}

pub fn snooze_followup(doc: &mut VaultDoc, id: &str, until: &str) -> Result<Change> {
    let f = live(doc, id, &[Kind::FollowUp])?;
    let w = vec![field_value(
        doc,
        Some(Kind::FollowUp),
        "snoozed_until",
        until,
    )?];
    apply(doc, Kind::FollowUp, &f.id, w)?;
    let commit = format!("follow-up {} snoozed", f.id);
    Ok(Change::new(Kind::FollowUp, &f.id, commit))
}

#[derive(Debug, Clone, Default)]
pub struct NewQuestion {
    pub wording: String,
    pub category: Option<String>,
    pub answer: Option<String>,
    pub tags: Vec<String>,
}

pub fn add_question(doc: &mut VaultDoc, r: &NewQuestion) -> Result<Change> {
    if let Some(q) = doc.find_by_name(Kind::Question, &r.wording) {
        let id = short(&q.id);
        return Err(JournalError::Exists(format!(
            "that question is already in the bank ({id}); edit it with `interlog question edit {id}`"
        )));
    }
    let k = Some(Kind::Question);
    let mut w = vec![field_value(doc, k, "wording", &r.wording)?];
    opt(doc, k, &mut w, "category", &r.category)?;
    opt(doc, k, &mut w, "answer", &r.answer)?;
    if !r.tags.is_empty() {
        w.push(Write::Set(
            "tags".into(),
            r.tags.iter().map(|t| t.trim().to_string()).collect(),
        ));
    }
    let id = create(doc, Kind::Question, w)?;
    Ok(Change::new(
        Kind::Question,
        &id,
        format!("add question {id}"),
    ))
}

// ---- the profile -----------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub role: Option<String>,
    pub level: Option<String>,
    pub monthly_goal: Option<String>,
    /// `HH:MM-HH:MM`.
    pub work_hours: Option<String>,
    pub work_days: Option<String>,
    /// Exchange rates to the profile's currency, `USD=0.92` (`USD=none`
    /// removes one).
    pub rates: Vec<String>,
    pub comp: CompInput,
}

pub fn set_profile(doc: &mut VaultDoc, r: &ProfileUpdate) -> Result<()> {
    let mut w = Vec::new();
    opt(doc, None, &mut w, "role", &r.role)?;
    opt(doc, None, &mut w, "level", &r.level)?;
    opt(doc, None, &mut w, "monthly_goal", &r.monthly_goal)?;
    opt(doc, None, &mut w, "work_days", &r.work_days)?;
    if let Some(h) = &r.work_hours {
        let bad = || {
            JournalError::Invalid(format!(
                "--work-hours takes HH:MM-HH:MM, e.g. 09:00-18:00, not '{h}'"
            ))
        };
        let (a, b) = h.split_once('-').ok_or_else(bad)?;
        for t in [a, b] {
            let (hh, mm) = t.trim().split_once(':').ok_or_else(bad)?;
            let ok = hh.parse::<u8>().is_ok_and(|h| h < 24)
                && mm.len() == 2
                && mm.parse::<u8>().is_ok_and(|m| m < 60);
            if !ok {
                return Err(bad());
            }
        }
        w.push(Write::Field(
            "work_start".into(),
            Value::String(a.trim().into()),
        ));
        w.push(Write::Field(
            "work_end".into(),
            Value::String(b.trim().into()),
        ));
    }
    let current = doc
        .profile()
        .get("comp")
        .and_then(Value::as_object)
        .cloned();
    let c = comp(doc, &r.comp, current.as_ref())?;
    if w.is_empty() && c.is_none() && r.rates.is_empty() {
        invalid!("nothing to set; see `interlog profile set --help`");
    }
    // Rates are to your own currency: the one this update sets, or the one
    // the profile has.
    let own = c
        .as_ref()
        .and_then(|c| c.get("currency"))
        .or_else(|| current.as_ref().and_then(|c| c.get("currency")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut rate_writes = Vec::new();
    for raw in &r.rates {
        let Some(own) = &own else {
            invalid!("a rate says what another currency is worth in yours, and your profile has no currency yet: add --currency EUR (and --base …)");
        };
        let (key, rate) = model::parse_rate_setting(raw, own).map_err(JournalError::Invalid)?;
        rate_writes.push((key, rate.map_or(Value::Null, |r| Value::String(r.rate))));
    }
    let (mut patch, sets) = split(w);
    if let Some(c) = c {
        patch.insert("comp".into(), Value::Object(c));
    }
    patch.extend(rate_writes);
    doc.update_profile(&patch)?;
    for (field, members) in sets {
        doc.set_profile_members(&field, &members)?;
    }
    Ok(())
}

// ---- any record ------------------------------------------------------------

/// Sets (`FIELD=VALUE`) and removes fields of a live record of one of
/// `kinds`; returns the record as it is now.
pub fn edit(
    doc: &mut VaultDoc,
    raw: &str,
    kinds: &[Kind],
    sets: &[String],
    unsets: &[String],
) -> Result<(Change, Record)> {
    if sets.is_empty() && unsets.is_empty() {
        invalid!("nothing to change; give --set FIELD=VALUE or --unset FIELD (`interlog fields KIND` lists the fields)");
    }
    let r = live(doc, raw, kinds)?;
    let writes = parse_sets(doc, Some(r.kind), sets)?;
    let mut emptied = Vec::new();
    let mut removed = Vec::new();
    for f in unsets {
        let spec = model::field(Some(r.kind), f)?;
        if matches!(spec.name, "created_at" | "deleted_at") {
            invalid!("{} is kept by interlog itself", spec.name);
        }
        match spec.ty {
            // A set is emptied, not removed: its map must stay, or a device
            // adding to it concurrently would race to create a new one.
            FieldType::Set | FieldType::EnumSet(_) | FieldType::RefSet(_) => {
                emptied.push(Write::Set(spec.name.into(), Vec::new()))
            }
            ty if ty.is_container() => {
                invalid!(
                    "{} cannot be removed with --unset; use its own command",
                    spec.name
                )
            }
            _ => removed.push(spec.name),
        }
    }
    apply(doc, r.kind, &r.id, writes)?;
    apply(doc, r.kind, &r.id, emptied)?;
    for f in removed {
        doc.unset(r.kind, &r.id, &[f])?;
    }
    let change = Change::new(r.kind, &r.id, format!("edit {} {}", r.kind, r.id));
    let updated = doc.record(r.kind, &r.id).unwrap_or(r);
    Ok((change, updated))
}

/// Deletes a record (`delete`) or restores a deleted one. Deleting only
/// marks it: its history stays, and `restore` brings it back.
pub fn delete(
    doc: &mut VaultDoc,
    raw: &str,
    kinds: &[Kind],
    delete: bool,
    now: &Zoned,
) -> Result<(Change, Record)> {
    let r = doc.find(raw, kinds)?;
    if delete {
        if r.is_deleted() {
            invalid!("{} {} is already deleted", r.kind, r.id);
        }
        let mut patch = Map::new();
        patch.insert("deleted_at".into(), Value::String(now.to_string()));
        doc.update(r.kind, &r.id, &patch)?;
    } else {
        if !r.is_deleted() {
            invalid!("{} {} is not deleted", r.kind, r.id);
        }
        doc.unset(r.kind, &r.id, &["deleted_at"])?;
    }
    let verb = if delete { "delete" } else { "restore" };
    let change = Change::new(r.kind, &r.id, format!("{verb} {} {}", r.kind, r.id));
    Ok((change, r))
}

// ---- conflicts ---------------------------------------------------------------

/// Every conflict in the journal, in a stable order (by kind, record and
/// field), each with the short code that names it while it lasts.
pub fn conflicts(doc: &VaultDoc) -> Vec<(String, Conflict)> {
    let mut list = doc.conflicts();
    list.sort_by(|a, b| (a.kind, &a.id, &a.path).cmp(&(b.kind, &b.id, &b.path)));
    conflict_codes(&list).into_iter().zip(list).collect()
}

/// A conflict settled: its code, the conflict as it was, the value kept
/// and the message to commit the change with.
#[derive(Debug)]
pub struct Settled {
    pub code: String,
    pub conflict: Conflict,
    pub value: Value,
    pub commit: String,
}

/// Settles the conflict named `code` (a prefix of its code will do) with
/// its `choice`-th value (1-based).
pub fn settle(doc: &mut VaultDoc, code: &str, choice: usize) -> Result<Settled> {
    let list = conflicts(doc);
    let n = list.len();
    let want = code.trim().to_ascii_lowercase();
    let mut found = list.into_iter().filter(|(c, _)| {
        !want.is_empty() && (c.starts_with(&want) || want.starts_with(c.as_str()))
    });
    let (Some((code, conflict)), None) = (found.next(), found.next()) else {
        invalid!(
            "there is no conflict {code}; `interlog conflicts` lists {n} of them, each with its id"
        );
    };
    let Some(value) = conflict.values.get(choice.wrapping_sub(1)).cloned() else {
        let n = conflict.values.len();
        invalid!("conflict {code} has {n} values; pick one of 1-{n}");
    };
    doc.resolve(&conflict, &value)?;
    let commit = format!(
        "resolve conflict {} {}",
        conflict.id,
        conflict.path.join(".")
    );
    Ok(Settled {
        code,
        conflict,
        value,
        commit,
    })
}
