//! The per-kind commands: `add` and the verbs only one kind has.

use anyhow::{anyhow, bail, Result};
use interlog_core::model::{self, short, Kind};
use interlog_core::time::{now, parse_date, parse_when};
use serde_json::{json, Map, Value};

use super::{
    comp, company_or_new, create, field_value, live, obj, opt, parse_sets, print_created, records,
    resolve, save, Ctx, Write,
};
use crate::args::{
    Common, CompanyCmd, ContactCmd, Extra, FollowupCmd, InterviewCmd, OfferCmd, OppCmd, ProfileCmd,
    QuestionCmd,
};
use crate::out;

fn common(ctx: &Ctx, kind: Kind, c: Common) -> Result<()> {
    match c {
        Common::Show { id } => records::show(ctx, &id, &[kind]),
        Common::List { deleted } => records::list(ctx, kind, deleted),
        Common::Edit(a) => records::edit(ctx, &[kind], a),
        Common::Delete { id } => records::delete(ctx, &id, &[kind], true),
        Common::Restore { id } => records::delete(ctx, &id, &[kind], false),
    }
}

fn extra(
    doc: &interlog_core::VaultDoc,
    kind: Kind,
    writes: &mut Vec<Write>,
    e: &Extra,
) -> Result<()> {
    opt(doc, Some(kind), writes, "notes", &e.notes)?;
    writes.extend(parse_sets(doc, Some(kind), &e.set)?);
    Ok(())
}

pub fn company(ctx: &Ctx, c: CompanyCmd) -> Result<()> {
    let CompanyCmd::Add {
        name,
        industry,
        priority,
        sensitivity,
        reason,
        aliases,
        extra: e,
    } = c
    else {
        let CompanyCmd::Common(c) = c else {
            unreachable!()
        };
        return common(ctx, Kind::Company, c);
    };
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    if let Some(existing) = doc.find_by_name(Kind::Company, &name) {
        bail!(
            "a company named '{}' already exists ({}); edit it with `interlog company edit {}`",
            existing.title(),
            short(&existing.id),
            short(&existing.id)
        );
    }
    let k = Some(Kind::Company);
    let mut w = vec![field_value(doc, k, "name", &name)?];
    opt(doc, k, &mut w, "industry", &industry)?;
    opt(doc, k, &mut w, "priority", &priority)?;
    opt(doc, k, &mut w, "sensitivity", &sensitivity)?;
    opt(doc, k, &mut w, "sensitivity_reason", &reason)?;
    if !aliases.is_empty() {
        w.push(Write::Set(
            "aliases".into(),
            aliases.iter().map(|a| a.trim().to_string()).collect(),
        ));
    }
    extra(doc, Kind::Company, &mut w, &e)?;
    let id = create(doc, Kind::Company, w)?;
    save(&mut v, &format!("add company {id}"))?;
    print_created(ctx, Kind::Company, &id, Map::new())
}

pub fn contact(ctx: &Ctx, c: ContactCmd) -> Result<()> {
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    let k = Some(Kind::Contact);
    match c {
        ContactCmd::Add {
            name,
            kind,
            company,
            title,
            email,
            phone,
            link,
            met,
            keep_in_touch,
            extra: e,
        } => {
            let namesakes = doc.find_all_by_name(Kind::Contact, &name);
            let mut w = vec![field_value(doc, k, "name", &name)?];
            opt(doc, k, &mut w, "kind", &kind)?;
            opt(doc, k, &mut w, "met", &met)?;
            opt(doc, k, &mut w, "keep_in_touch_days", &keep_in_touch)?;
            extra(doc, Kind::Contact, &mut w, &e)?;
            if title.is_some() && company.is_none() {
                bail!("--title needs --company: where do they hold that title?");
            }
            let (mut patch, sets) = super::split(w);
            let channels: Map<String, Value> = [("email", email), ("phone", phone), ("link", link)]
                .into_iter()
                .filter_map(|(k, v)| {
                    v.map(|v| (k.to_string(), Value::String(v.trim().to_string())))
                })
                .collect();
            if !channels.is_empty() {
                patch.insert("channels".into(), Value::Object(channels));
            }
            let company = match company {
                Some(c) => Some(company_or_new(doc, &c)?.0),
                None => None,
            };
            let id = doc.create(Kind::Contact, &patch)?;
            for (f, m) in sets {
                doc.set_members(Kind::Contact, &id, &f, &m)?;
            }
            if let Some(company) = company {
                let mut job = obj(json!({"company": company, "from": now().date().to_string()}));
                if let Some(t) = title {
                    job.insert("title".into(), Value::String(t));
                }
                doc.add_entry(Kind::Contact, &id, "employment", &job)?;
            }
            save(&mut v, &format!("add contact {id}"))?;
            if !namesakes.is_empty() {
                out::warn(&format!(
                    "you already have a contact named '{}': {}. Both are kept; where a command takes a name, give the id of the one you mean (or `interlog delete` the new one if it is the same person)",
                    name.trim(),
                    v.doc.describe_candidates(&namesakes)
                ));
            }
            print_created(ctx, Kind::Contact, &id, Map::new())
        }
        ContactCmd::Moved {
            contact,
            company,
            title,
            on,
        } => {
            let person = live(
                doc,
                &resolve(doc, Kind::Contact, &contact)?.id,
                &[Kind::Contact],
            )?;
            let date = match on {
                Some(d) => parse_date(&d).map_err(|e| anyhow!("--on: {e}"))?,
                None => now().date(),
            };
            let (company_id, _) = company_or_new(doc, &company)?;
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
                job.insert("title".into(), Value::String(t));
            }
            doc.add_entry(Kind::Contact, &person.id, "employment", &job)?;
            save(&mut v, &format!("contact {} moved", person.id))?;
            if ctx.json {
                out::json(&json!({"record": "contact", "id": person.id, "company": company_id}))
            } else {
                println!(
                    "{}",
                    out::safe(&format!(
                        "{} now works at {}",
                        person.title(),
                        interlog_core::report::ref_title(&v.doc, &company_id)
                    ))
                );
                Ok(())
            }
        }
        ContactCmd::Touched { contact, on } => {
            let person = live(
                doc,
                &resolve(doc, Kind::Contact, &contact)?.id,
                &[Kind::Contact],
            )?;
            let date = on.unwrap_or_else(|| "today".into());
            let w = vec![field_value(doc, k, "last_contacted", &date)?];
            super::apply(doc, Kind::Contact, &person.id, w)?;
            save(&mut v, &format!("contact {} touched", person.id))?;
            if ctx.json {
                out::json(&json!({"record": "contact", "id": person.id}))
            } else {
                println!("noted: in touch with {}", out::safe(&person.title()));
                Ok(())
            }
        }
        ContactCmd::Common(c) => {
            drop(v);
            common(ctx, Kind::Contact, c)
        }
    }
}

fn stage_event(stage: &str, at: &str, note: Option<String>) -> Map<String, Value> {
    let mut e = obj(json!({"stage": stage, "at": at}));
    if let Some(n) = note {
        e.insert("note".into(), Value::String(n));
    }
    e
}

pub fn opp(ctx: &Ctx, c: OppCmd) -> Result<()> {
    if let OppCmd::Common(c) = c {
        return common(ctx, Kind::Opportunity, c);
    }
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    let k = Some(Kind::Opportunity);
    let now = now();
    let (id, message) = match c {
        OppCmd::Add {
            company,
            role,
            level,
            level_delta,
            source,
            purpose,
            interest,
            told,
            stage,
            extra: e,
        } => {
            let mut w = Vec::new();
            opt(doc, k, &mut w, "role", &role)?;
            opt(doc, k, &mut w, "level", &level)?;
            opt(doc, k, &mut w, "level_delta", &level_delta)?;
            opt(doc, k, &mut w, "source", &source)?;
            opt(doc, k, &mut w, "purpose", &purpose)?;
            opt(doc, k, &mut w, "interest_before", &interest)?;
            opt(doc, k, &mut w, "interest_now", &interest)?;
            opt(doc, k, &mut w, "told_recruiter", &told)?;
            extra(doc, Kind::Opportunity, &mut w, &e)?;
            let stage =
                model::parse_enum("stage", model::STAGES, stage.as_deref().unwrap_or("lead"))?;
            let (company_id, _) = company_or_new(doc, &company)?;
            w.push(Write::Field("company".into(), Value::String(company_id)));
            let id = create(doc, Kind::Opportunity, w)?;
            doc.add_entry(
                Kind::Opportunity,
                &id,
                "stages",
                &stage_event(&stage, &now.to_string(), None),
            )?;
            (id.clone(), format!("add opportunity {id}"))
        }
        OppCmd::Stage {
            id,
            stage,
            at,
            note,
        } => {
            let o = live(doc, &id, &[Kind::Opportunity])?;
            let stage = model::parse_enum("stage", model::STAGES, &stage)?;
            let at = match at {
                Some(w) => parse_when(&w, &now).map_err(|e| anyhow!("--at: {e}"))?,
                None => now.clone(),
            };
            doc.add_entry(
                Kind::Opportunity,
                &o.id,
                "stages",
                &stage_event(&stage, &at.to_string(), note),
            )?;
            (o.id.clone(), format!("opportunity {} stage {stage}", o.id))
        }
        OppCmd::Withdraw {
            id,
            reason,
            door_open,
        } => {
            let o = live(doc, &id, &[Kind::Opportunity])?;
            close(doc, &o.id, "withdrawn", "me", Some(reason), door_open, &now)?;
            (o.id.clone(), format!("withdraw from {}", o.id))
        }
        OppCmd::Rejected {
            id,
            reason,
            door_open,
        } => {
            let o = live(doc, &id, &[Kind::Opportunity])?;
            close(doc, &o.id, "rejected", "them", reason, door_open, &now)?;
            (o.id.clone(), format!("rejected {}", o.id))
        }
        OppCmd::Comp {
            id,
            posted,
            comp: args,
        } => {
            let o = live(doc, &id, &[Kind::Opportunity])?;
            let field = if posted { "posted_comp" } else { "asked_comp" };
            let c = comp(doc, &args, o.map(field))?.ok_or_else(|| {
                anyhow!("give the amounts: --base, --bonus, --signing, --equity, with --currency")
            })?;
            doc.update(Kind::Opportunity, &o.id, &obj(json!({ field: c })))?;
            (o.id.clone(), format!("opportunity {} {field}", o.id))
        }
        OppCmd::Common(_) => unreachable!("handled above"),
    };
    save(&mut v, &message)?;
    print_created(ctx, Kind::Opportunity, &id, Map::new())
}

fn close(
    doc: &mut interlog_core::VaultDoc,
    id: &str,
    stage: &str,
    by: &str,
    reason: Option<String>,
    door_open: bool,
    now: &jiff::Zoned,
) -> Result<()> {
    doc.add_entry(
        Kind::Opportunity,
        id,
        "stages",
        &stage_event(stage, &now.to_string(), reason.clone()),
    )?;
    let mut close = obj(json!({"by": by, "door_open": door_open, "at": now.to_string()}));
    // Always written, so a reason from an earlier close never lingers.
    close.insert("reason".into(), reason.map_or(Value::Null, Value::String));
    doc.update(Kind::Opportunity, id, &obj(json!({ "close": close })))?;
    Ok(())
}

pub fn interview(ctx: &Ctx, c: InterviewCmd) -> Result<()> {
    match c {
        InterviewCmd::Add(a) => super::log::log(ctx, a),
        InterviewCmd::Common(c) => common(ctx, Kind::Interview, c),
    }
}

pub fn offer(ctx: &Ctx, c: OfferCmd) -> Result<()> {
    if let OfferCmd::Common(c) = c {
        return common(ctx, Kind::Offer, c);
    }
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    let k = Some(Kind::Offer);
    let (id, message) = match c {
        OfferCmd::Add {
            opp,
            received,
            expires,
            level,
            level_delta,
            comp: args,
            extra: e,
        } => {
            let o = live(doc, &opp, &[Kind::Opportunity])?;
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
                received.as_deref().unwrap_or("today"),
            )?);
            opt(doc, k, &mut w, "expires", &expires)?;
            opt(doc, k, &mut w, "level", &level)?;
            opt(doc, k, &mut w, "level_delta", &level_delta)?;
            w.push(Write::Field(
                "decision".into(),
                Value::String("pending".into()),
            ));
            extra(doc, Kind::Offer, &mut w, &e)?;
            if let Some(c) = comp(doc, &args, None)? {
                w.push(Write::Field("comp".into(), Value::Object(c)));
            }
            let id = create(doc, Kind::Offer, w)?;
            if o.current_stage() != Some("offer") {
                doc.add_entry(
                    Kind::Opportunity,
                    &o.id,
                    "stages",
                    &stage_event("offer", &now().to_string(), None),
                )?;
            }
            (id.clone(), format!("add offer {id}"))
        }
        OfferCmd::Round {
            id,
            asked,
            offered,
            note,
        } => {
            let o = live(doc, &id, &[Kind::Offer])?;
            let currency = o
                .map("comp")
                .and_then(|c| c.get("currency"))
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("this offer has no currency yet; set its package with `interlog offer comp {} --currency EUR --base …` first", short(&o.id)))?
                .to_string();
            if asked.is_none() && offered.is_none() {
                bail!("give --asked, --offered or both (base pay, in {currency})");
            }
            let mut round = obj(json!({"at": now().date().to_string(), "currency": currency}));
            for (key, raw) in [("asked", asked), ("offered", offered)] {
                if let Some(raw) = raw {
                    let minor = model::parse_amount(&raw, &currency)
                        .map_err(|e| anyhow!("--{key}: {e}"))?;
                    round.insert(key.into(), Value::from(minor));
                }
            }
            if let Some(n) = note {
                round.insert("note".into(), Value::String(n));
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
            (o.id.clone(), format!("offer {} round", o.id))
        }
        OfferCmd::Comp { id, comp: args } => {
            let o = live(doc, &id, &[Kind::Offer])?;
            let c = comp(doc, &args, o.map("comp"))?.ok_or_else(|| {
                anyhow!("give the amounts: --base, --bonus, --signing, --equity, with --currency")
            })?;
            doc.update(Kind::Offer, &o.id, &obj(json!({ "comp": c })))?;
            (o.id.clone(), format!("offer {} comp", o.id))
        }
        OfferCmd::Decide { id, decision } => {
            let o = live(doc, &id, &[Kind::Offer])?;
            let decision = model::parse_enum("decision", model::DECISIONS, &decision)?;
            doc.update(Kind::Offer, &o.id, &obj(json!({"decision": decision})))?;
            if let (Some(opp), "accepted" | "declined") = (o.str("opportunity"), decision.as_str())
            {
                if doc.record(Kind::Opportunity, opp).is_some() {
                    doc.add_entry(
                        Kind::Opportunity,
                        opp,
                        "stages",
                        &stage_event(&decision, &now().to_string(), None),
                    )?;
                }
            }
            (o.id.clone(), format!("offer {} {decision}", o.id))
        }
        OfferCmd::Common(_) => unreachable!("handled above"),
    };
    save(&mut v, &message)?;
    print_created(ctx, Kind::Offer, &id, Map::new())
}

pub fn followup(ctx: &Ctx, c: FollowupCmd) -> Result<()> {
    if let FollowupCmd::Common(c) = c {
        return common(ctx, Kind::FollowUp, c);
    }
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    let k = Some(Kind::FollowUp);
    let (id, message) = match c {
        FollowupCmd::Add {
            note,
            due,
            kind,
            target,
        } => {
            let mut w = vec![field_value(doc, k, "note", &note)?];
            w.push(field_value(doc, k, "due", due.as_deref().unwrap_or("+7"))?);
            w.push(field_value(
                doc,
                k,
                "kind",
                kind.as_deref().unwrap_or("follow_up"),
            )?);
            opt(doc, k, &mut w, "target", &target)?;
            w.push(Write::Field("done".into(), Value::Bool(false)));
            let id = create(doc, Kind::FollowUp, w)?;
            (id.clone(), format!("add follow-up {id}"))
        }
        FollowupCmd::Done { id } => {
            let f = live(doc, &id, &[Kind::FollowUp])?;
            doc.update(Kind::FollowUp, &f.id, &obj(json!({"done": true})))?;
            (f.id.clone(), format!("follow-up {} done", f.id))
        }
        FollowupCmd::Snooze { id, until } => {
            let f = live(doc, &id, &[Kind::FollowUp])?;
            let w = vec![field_value(doc, k, "snoozed_until", &until)?];
            super::apply(doc, Kind::FollowUp, &f.id, w)?;
            (f.id.clone(), format!("follow-up {} snoozed", f.id))
        }
        FollowupCmd::Common(_) => unreachable!("handled above"),
    };
    save(&mut v, &message)?;
    print_created(ctx, Kind::FollowUp, &id, Map::new())
}

pub fn question(ctx: &Ctx, c: QuestionCmd) -> Result<()> {
    let QuestionCmd::Add {
        wording,
        category,
        answer,
        tags,
    } = c
    else {
        let QuestionCmd::Common(c) = c else {
            unreachable!()
        };
        return common(ctx, Kind::Question, c);
    };
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    if let Some(q) = doc.find_by_name(Kind::Question, &wording) {
        bail!(
            "that question is already in the bank ({}); edit it with `interlog question edit {}`",
            short(&q.id),
            short(&q.id)
        );
    }
    let k = Some(Kind::Question);
    let mut w = vec![field_value(doc, k, "wording", &wording)?];
    opt(doc, k, &mut w, "category", &category)?;
    opt(doc, k, &mut w, "answer", &answer)?;
    if !tags.is_empty() {
        w.push(Write::Set(
            "tags".into(),
            tags.iter().map(|t| t.trim().to_string()).collect(),
        ));
    }
    let id = create(doc, Kind::Question, w)?;
    save(&mut v, &format!("add question {id}"))?;
    print_created(ctx, Kind::Question, &id, Map::new())
}

pub fn profile(ctx: &Ctx, c: ProfileCmd) -> Result<()> {
    let mut v = ctx.open()?;
    match c {
        ProfileCmd::Show => {
            let p = v.doc.profile();
            if ctx.json {
                return out::json(&p);
            }
            let mut t = out::table(["field", "value"]);
            let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            t.add_row(["role".to_string(), text("role")]);
            t.add_row(["level".to_string(), text("level")]);
            let comp = p
                .get("comp")
                .and_then(Value::as_object)
                .and_then(records::comp_text)
                .unwrap_or_default();
            t.add_row(["compensation".to_string(), comp]);
            let goal = p
                .get("monthly_goal")
                .and_then(Value::as_i64)
                .map(|g| format!("{g} interviews a month"))
                .unwrap_or_default();
            t.add_row(["goal".to_string(), goal]);
            let days: Vec<&str> = model::WEEKDAYS
                .iter()
                .copied()
                .filter(|d| {
                    p.get("work_days")
                        .and_then(|w| w.get(*d))
                        .and_then(Value::as_bool)
                        == Some(true)
                })
                .collect();
            let hours = match (text("work_start").as_str(), text("work_end").as_str()) {
                ("", _) | (_, "") => String::new(),
                (a, b) => format!("{a}-{b} {}", days.join(",")),
            };
            t.add_row(["working hours".to_string(), hours]);
            let rates: Vec<String> = model::profile_rates(&p)
                .iter()
                .map(|r| r.to_string())
                .collect();
            t.add_row(["rates".to_string(), rates.join("\n")]);
            out::print_table(&t, "");
            Ok(())
        }
        ProfileCmd::Set {
            role,
            level,
            goal,
            work_hours,
            work_days,
            rates,
            comp: args,
        } => {
            let doc = &mut v.doc;
            let mut w = Vec::new();
            opt(doc, None, &mut w, "role", &role)?;
            opt(doc, None, &mut w, "level", &level)?;
            opt(doc, None, &mut w, "monthly_goal", &goal)?;
            opt(doc, None, &mut w, "work_days", &work_days)?;
            if let Some(h) = work_hours {
                let bad = || anyhow!("--work-hours takes HH:MM-HH:MM, e.g. 09:00-18:00, not '{h}'");
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
            let c = comp(doc, &args, current.as_ref())?;
            if w.is_empty() && c.is_none() && rates.is_empty() {
                bail!("nothing to set; see `interlog profile set --help`");
            }
            // Rates are to your own currency: the one this command sets, or
            // the one the profile has.
            let own = c
                .as_ref()
                .and_then(|c| c.get("currency"))
                .or_else(|| current.as_ref().and_then(|c| c.get("currency")))
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut rate_writes = Vec::new();
            for raw in &rates {
                let Some(own) = &own else {
                    bail!("a rate says what another currency is worth in yours, and your profile has no currency yet: add --currency EUR (and --base …)");
                };
                let (key, rate) = model::parse_rate_setting(raw, own).map_err(|e| anyhow!(e))?;
                rate_writes.push((key, rate.map_or(Value::Null, |r| Value::String(r.rate))));
            }
            let (mut patch, sets) = super::split(w);
            if let Some(c) = c {
                patch.insert("comp".into(), Value::Object(c));
            }
            patch.extend(rate_writes);
            doc.update_profile(&patch)?;
            for (field, members) in sets {
                doc.set_profile_members(&field, &members)?;
            }
            save(&mut v, "profile")?;
            if ctx.json {
                out::json(&v.doc.profile())
            } else {
                println!("profile updated");
                Ok(())
            }
        }
    }
}
