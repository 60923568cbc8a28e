//! The per-kind commands: `add` and the verbs only one kind has. Each
//! turns its arguments into a request for one `interlog_core::journal`
//! operation, then saves and prints what it wrote.

use anyhow::Result;
use interlog_core::journal::{self as j, Change, ClosedBy};
use interlog_core::model::{self, Kind};
use interlog_core::time::now;
use interlog_core::ReadJournal as _;
use serde_json::{json, Map, Value};

use super::{print_created, records, Ctx};
use crate::args::{
    Common, CompanyCmd, ContactCmd, FollowupCmd, InterviewCmd, OfferCmd, OppCmd, ProfileCmd,
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

/// Opens the vault, runs one journal operation, saves what it wrote and
/// prints its warnings and the record's id.
fn change(
    ctx: &Ctx,
    op: impl FnOnce(&mut crate::home::DeviceVault) -> j::Result<Change>,
) -> Result<()> {
    let mut v = ctx.open()?;
    let change = op(&mut v)?;
    ctx.save(&mut v, &change.commit)?;
    for w in &change.warnings {
        out::warn(w);
    }
    print_created(ctx, change.kind, &change.id, Map::new())
}

pub fn company(ctx: &Ctx, c: CompanyCmd) -> Result<()> {
    match c {
        CompanyCmd::Common(c) => common(ctx, Kind::Company, c),
        CompanyCmd::Add(a) => change(ctx, |v| j::add_company(&mut v.doc, &a.into())),
    }
}

pub fn contact(ctx: &Ctx, c: ContactCmd) -> Result<()> {
    match c {
        ContactCmd::Common(c) => common(ctx, Kind::Contact, c),
        ContactCmd::Add(a) => change(ctx, |v| j::add_contact(&mut v.doc, &a.into(), now().date())),
        ContactCmd::Moved {
            contact,
            company,
            title,
            on,
        } => {
            let mut v = ctx.open()?;
            let (change, company_id) = j::contact_moved(
                &mut v.doc,
                &contact,
                &company,
                title.as_deref(),
                on.as_deref(),
                now().date(),
            )?;
            ctx.save(&mut v, &change.commit)?;
            if ctx.json {
                return out::json(
                    &json!({"record": "contact", "id": change.id, "company": company_id}),
                );
            }
            let title = |kind, id: &str| v.doc.record(kind, id).map(|r| r.title());
            println!(
                "{}",
                out::safe(&format!(
                    "{} now works at {}",
                    title(Kind::Contact, &change.id).unwrap_or_default(),
                    interlog_core::report::ref_title(&v.doc, &company_id)
                ))
            );
            Ok(())
        }
        ContactCmd::Touched { contact, on } => {
            let mut v = ctx.open()?;
            let change = j::contact_touched(&mut v.doc, &contact, on.as_deref())?;
            ctx.save(&mut v, &change.commit)?;
            if ctx.json {
                return out::json(&json!({"record": "contact", "id": change.id}));
            }
            let name = interlog_core::report::ref_title(&v.doc, &change.id);
            println!("noted: in touch with {}", out::safe(&name));
            Ok(())
        }
    }
}

pub fn opp(ctx: &Ctx, c: OppCmd) -> Result<()> {
    let now = now();
    match c {
        OppCmd::Common(c) => common(ctx, Kind::Opportunity, c),
        OppCmd::Add(a) => change(ctx, |v| j::add_opportunity(&mut v.doc, &a.into(), &now)),
        OppCmd::Stage {
            id,
            stage,
            at,
            note,
        } => change(ctx, |v| {
            j::stage_opportunity(
                &mut v.doc,
                &id,
                &stage,
                at.as_deref(),
                note.as_deref(),
                &now,
            )
        }),
        OppCmd::Withdraw {
            id,
            reason,
            door_open,
        } => change(ctx, |v| {
            j::close_opportunity(
                &mut v.doc,
                &id,
                ClosedBy::Me,
                Some(&reason),
                door_open,
                &now,
            )
        }),
        OppCmd::Rejected {
            id,
            reason,
            door_open,
        } => change(ctx, |v| {
            let reason = reason.as_deref();
            j::close_opportunity(&mut v.doc, &id, ClosedBy::Them, reason, door_open, &now)
        }),
        OppCmd::Comp { id, posted, comp } => change(ctx, |v| {
            j::set_opportunity_comp(&mut v.doc, &id, posted, &comp.into())
        }),
    }
}

pub fn interview(ctx: &Ctx, c: InterviewCmd) -> Result<()> {
    match c {
        InterviewCmd::Add(a) => super::log::log(ctx, a),
        InterviewCmd::Common(c) => common(ctx, Kind::Interview, c),
    }
}

pub fn offer(ctx: &Ctx, c: OfferCmd) -> Result<()> {
    let now = now();
    match c {
        OfferCmd::Common(c) => common(ctx, Kind::Offer, c),
        OfferCmd::Add(a) => change(ctx, |v| j::add_offer(&mut v.doc, &a.into(), &now)),
        OfferCmd::Round {
            id,
            asked,
            offered,
            note,
        } => change(ctx, |v| {
            let (asked, offered, note) = (asked.as_deref(), offered.as_deref(), note.as_deref());
            j::offer_round(&mut v.doc, &id, asked, offered, note, now.date())
        }),
        OfferCmd::Comp { id, comp } => {
            change(ctx, |v| j::set_offer_comp(&mut v.doc, &id, &comp.into()))
        }
        OfferCmd::Decide { id, decision } => {
            change(ctx, |v| j::decide_offer(&mut v.doc, &id, &decision, &now))
        }
    }
}

pub fn followup(ctx: &Ctx, c: FollowupCmd) -> Result<()> {
    match c {
        FollowupCmd::Common(c) => common(ctx, Kind::FollowUp, c),
        FollowupCmd::Add(a) => change(ctx, |v| j::add_followup(&mut v.doc, &a.into())),
        FollowupCmd::Done { id } => change(ctx, |v| j::followup_done(&mut v.doc, &id)),
        FollowupCmd::Snooze { id, until } => {
            change(ctx, |v| j::snooze_followup(&mut v.doc, &id, &until))
        }
    }
}

pub fn question(ctx: &Ctx, c: QuestionCmd) -> Result<()> {
    match c {
        QuestionCmd::Common(c) => common(ctx, Kind::Question, c),
        QuestionCmd::Add(a) => change(ctx, |v| j::add_question(&mut v.doc, &a.into())),
    }
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
                .and_then(interlog_core::report::text::comp_text)
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
            comp,
        } => {
            let r = j::ProfileUpdate {
                role,
                level,
                monthly_goal: goal,
                work_hours,
                work_days,
                rates,
                comp: comp.into(),
            };
            j::set_profile(&mut v.doc, &r)?;
            ctx.save(&mut v, "profile")?;
            if ctx.json {
                out::json(&v.doc.profile())
            } else {
                println!("profile updated");
                Ok(())
            }
        }
    }
}
