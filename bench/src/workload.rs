//! Builds realistic vaults the way a user does: thousands of small, separate
//! edits on two devices (a laptop and a phone), each saved durably on its
//! own, with the devices syncing through a real relay every few edits.
//!
//! The story runs over five years: interviews are logged (mostly on the
//! phone, right after the call) and get a retro later (on the laptop) with
//! rated questions; opportunities move through their stages; contacts change
//! jobs; offers arrive and are negotiated; follow-ups are added and ticked
//! off. It uses `interlog-core` directly, the same calls the CLI makes, so
//! building thousands of edits takes seconds instead of thousands of
//! processes.

use interlog_core::ReadJournal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use interlog_core::crypto::VaultKey;
use interlog_core::model::Kind;
use interlog_core::store::SledStorage;
use interlog_core::sync::{self, JoinCode, Membership};
use interlog_core::Vault;
use jiff::{ToSpan, Zoned};
use serde_json::{json, Map, Value};

use crate::rng::Rng;

/// How much a vault holds.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub interviews: usize,
    pub contacts: usize,
    pub opportunities: usize,
    pub offers: usize,
    pub followups: usize,
    /// The question bank retros draw from.
    pub questions: usize,
    /// Days the story spans, ending today.
    pub days: i64,
}

impl Sizes {
    /// Five years of steady interviewing.
    pub fn five_year() -> Sizes {
        Sizes {
            interviews: 1200,
            contacts: 600,
            opportunities: 400,
            offers: 150,
            followups: 2000,
            questions: 300,
            days: 5 * 365,
        }
    }

    /// The five-year vault scaled down to `interviews` interviews.
    pub fn scaled(interviews: usize) -> Sizes {
        let f = Sizes::five_year();
        let scale = |n: usize| (n * interviews).div_ceil(f.interviews).max(1);
        Sizes {
            interviews,
            contacts: scale(f.contacts),
            opportunities: scale(f.opportunities),
            offers: scale(f.offers),
            followups: scale(f.followups),
            questions: scale(f.questions).max(5),
            days: (f.days * interviews as i64 / f.interviews as i64).max(30),
        }
    }
}

/// A built vault: two device homes the CLI can use, in sync with the relay.
pub struct Built {
    pub laptop: PathBuf,
    pub phone: PathBuf,
    pub membership: Membership,
    /// Separate saved edits, over both devices.
    pub edits: usize,
    /// One-shot syncs run while building.
    pub syncs: usize,
    pub interviews: Vec<String>,
}

type Dev = Vault<SledStorage>;

const LAPTOP: usize = 0;
const PHONE: usize = 1;

struct Builder<'a> {
    rt: &'a tokio::runtime::Runtime,
    devs: [Dev; 2],
    membership: Membership,
    rng: Rng,
    /// Edits since each device last synced.
    unsynced: [usize; 2],
    sync_every: usize,
    edits: usize,
    syncs: usize,
}

/// A JSON object literal as a field map.
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Builder<'_> {
    fn sync(&mut self, d: usize) -> Result<()> {
        let m = self.membership.clone();
        self.rt
            .block_on(sync::run(&mut self.devs[d], &m, sync::Options::default()))
            .context("sync while building")?;
        self.unsynced[d] = 0;
        self.syncs += 1;
        Ok(())
    }

    /// Saves the pending edit as its own durable change, like one CLI command.
    fn save(&mut self, d: usize, what: &str) -> Result<()> {
        self.devs[d].save(what)?;
        self.edits += 1;
        self.unsynced[d] += 1;
        if self.unsynced[d] >= self.sync_every {
            self.sync(d)?;
        }
        Ok(())
    }

    /// Makes sure device `d` has record `id` (made on the other device),
    /// syncing both when it has not arrived yet.
    fn ensure(&mut self, d: usize, kind: Kind, id: &str) -> Result<()> {
        if self.devs[d].doc.record(kind, id).is_none() {
            self.sync(1 - d)?;
            self.sync(d)?;
        }
        Ok(())
    }
}

/// One opportunity's story, planned before any edit is made.
struct Opp {
    company: usize,
    start_day: i64,
    interviews: usize,
    offer: bool,
}

/// Something that happens on a given day.
enum Event {
    /// `interlog log`: the interview, and its opportunity on the first one.
    Log {
        opp: usize,
        n: usize,
    },
    Retro {
        interview: usize,
    },
    Stage {
        opp: usize,
        stage: &'static str,
    },
    Offer {
        opp: usize,
    },
    OfferRound {
        opp: usize,
    },
    Decision {
        opp: usize,
        accepted: bool,
    },
    FollowUp {
        f: usize,
    },
    FollowUpDone {
        f: usize,
    },
    Moved {
        contact: usize,
    },
}

/// Builds a vault in `dir/<name>-laptop` and `dir/<name>-phone`.
pub fn build(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    name: &str,
    relay_url: &str,
    sizes: Sizes,
    seed: u64,
) -> Result<Built> {
    let laptop_home = dir.join(format!("{name}-laptop"));
    let phone_home = dir.join(format!("{name}-phone"));
    std::fs::create_dir_all(&laptop_home)?;
    std::fs::create_dir_all(&phone_home)?;
    let mut laptop = Vault::init(SledStorage::open(&interlog_core::home::store_path(
        &laptop_home,
    ))?)?;
    let membership = Membership {
        relay: relay_url.to_string(),
        pin: None,
        vault: laptop.vault_id(),
        key: VaultKey::generate()?,
    };
    membership.save(&interlog_core::home::key_file(&laptop_home))?;
    // Profile first, as `interlog profile set` would.
    laptop.doc.update_profile(&obj(json!({
        "role": "Senior Engineer", "level": "L5",
        "comp": {"currency": "EUR", "base": 9_500_000, "bonus": 1_000_000, "period": "year"},
        "monthly_goal": 3,
    })))?;
    laptop.save("profile set")?;
    rt.block_on(sync::run(
        &mut laptop,
        &membership,
        sync::Options {
            force_snapshot: true,
            ..sync::Options::default()
        },
    ))?;
    let (phone, _) = rt.block_on(sync::join(
        &JoinCode::new(&membership),
        SledStorage::open(&interlog_core::home::store_path(&phone_home))?,
    ))?;
    membership.save(&interlog_core::home::key_file(&phone_home))?;

    let mut b = Builder {
        rt,
        devs: [laptop, phone],
        membership: membership.clone(),
        rng: Rng::new(seed),
        unsynced: [0, 0],
        sync_every: 10,
        edits: 1,
        syncs: 1,
    };
    let interviews = story(&mut b, sizes)?;
    // Converge: everything on the relay, and both devices up to date.
    b.sync(LAPTOP)?;
    b.sync(PHONE)?;
    b.sync(LAPTOP)?;
    let (edits, syncs) = (b.edits, b.syncs);
    drop(b);
    Ok(Built {
        laptop: laptop_home,
        phone: phone_home,
        membership,
        edits,
        syncs,
        interviews,
    })
}

fn story(b: &mut Builder, s: Sizes) -> Result<Vec<String>> {
    let now = interlog_core::time::now();
    let day = |d: i64| -> Zoned {
        // Day 0 is `s.days` ago; a few events lie in the coming days.
        let back = s.days - d;
        now.checked_sub(back.days()).unwrap_or_else(|_| now.clone())
    };
    let rng = &mut b.rng;

    // Plan: opportunities with their interviews, at companies that recur.
    let companies = (s.opportunities * 3 / 5).max(1);
    let mut left = s.interviews;
    let mut opps: Vec<Opp> = Vec::new();
    for i in 0..s.opportunities {
        let remaining_opps = s.opportunities - i;
        let n = if remaining_opps == 1 {
            left
        } else {
            let avg = left / remaining_opps;
            (avg as i64 + rng.range(-1, 2)).clamp(1, (left - (remaining_opps - 1)) as i64) as usize
        };
        left -= n;
        opps.push(Opp {
            company: rng.below(companies),
            start_day: rng.range(0, s.days - 5),
            interviews: n,
            offer: i < s.offers,
        });
    }
    let mut events: Vec<(i64, Event)> = Vec::new();
    let mut interview_no = 0;
    for (o, opp) in opps.iter().enumerate() {
        let mut d = opp.start_day;
        for n in 0..opp.interviews {
            events.push((d, Event::Log { opp: o, n }));
            events.push((
                d + rng.range(0, 3),
                Event::Retro {
                    interview: interview_no,
                },
            ));
            interview_no += 1;
            if n == 0 && opp.interviews > 1 {
                events.push((
                    d + 1,
                    Event::Stage {
                        opp: o,
                        stage: "interviewing",
                    },
                ));
            }
            d += rng.range(3, 12);
        }
        if opp.offer {
            events.push((
                d,
                Event::Stage {
                    opp: o,
                    stage: "offer",
                },
            ));
            events.push((d, Event::Offer { opp: o }));
            events.push((d + 3, Event::OfferRound { opp: o }));
            let accepted = rng.chance(0.2);
            events.push((d + 7, Event::Decision { opp: o, accepted }));
            let end = if accepted { "accepted" } else { "declined" };
            events.push((d + 7, Event::Stage { opp: o, stage: end }));
        } else if d < s.days - 20 {
            let end = *rng.pick(&["rejected", "withdrawn", "ghosted", "rejected"]);
            events.push((d + 5, Event::Stage { opp: o, stage: end }));
        }
    }
    for f in 0..s.followups {
        let d = rng.range(0, s.days + 10);
        events.push((d, Event::FollowUp { f }));
        if d < s.days - 3 || rng.chance(0.3) {
            events.push((d + rng.range(1, 4), Event::FollowUpDone { f }));
        }
    }
    // Contacts change jobs; planned against the contacts that will exist.
    for c in 0..s.contacts {
        if rng.chance(0.45) {
            events.push((rng.range(s.days / 3, s.days), Event::Moved { contact: c }));
        }
    }
    events.sort_by_key(|(d, _)| *d);

    let mut company_ids: Vec<Option<String>> = vec![None; companies];
    let mut opp_ids: Vec<Option<String>> = vec![None; opps.len()];
    let mut offer_ids: Vec<Option<String>> = vec![None; opps.len()];
    let mut interview_ids: Vec<(String, usize)> = Vec::new();
    let mut contact_ids: Vec<String> = Vec::new();
    let mut question_ids: Vec<Option<String>> = vec![None; s.questions];
    let mut followup_ids: Vec<Option<(String, usize)>> = vec![None; s.followups];
    let mut interviews_logged = 0;

    for (d, ev) in events {
        let at = day(d);
        let at_s = at.to_string();
        match ev {
            Event::Log { opp, n } => {
                // Right after the call: mostly on the phone.
                let dev = if b.rng.chance(0.7) { PHONE } else { LAPTOP };
                let plan = &opps[opp];
                let company = match &company_ids[plan.company] {
                    Some(id) => {
                        let id = id.clone();
                        b.ensure(dev, Kind::Company, &id)?;
                        id
                    }
                    None => {
                        let id = b.devs[dev].doc.create(
                            Kind::Company,
                            &obj(json!({
                                "name": format!("Company {} {}", plan.company, b.rng.prose(1)),
                                "industry": b.rng.pick(&["fintech", "devtools", "health", "retail", "ai"]).to_string(),
                                "created_at": at_s,
                            })),
                        )?;
                        if b.rng.chance(0.05) {
                            b.devs[dev].doc.update(
                                Kind::Company,
                                &id,
                                &obj(json!({"sensitivity": "high", "sensitivity_reason": "client of my employer"})),
                            )?;
                        }
                        company_ids[plan.company] = Some(id.clone());
                        id
                    }
                };
                let opp_id = match &opp_ids[opp] {
                    Some(id) => {
                        let id = id.clone();
                        b.ensure(dev, Kind::Opportunity, &id)?;
                        id
                    }
                    None => {
                        let doc = &mut b.devs[dev].doc;
                        let id = doc.create(
                            Kind::Opportunity,
                            &obj(json!({
                                "company": company,
                                "role": b.rng.pick(&["Staff Engineer", "Senior Engineer", "Principal Engineer", "Engineering Manager"]).to_string(),
                                "source": b.rng.pick(interlog_core::model::SOURCES).to_string(),
                                "interest_before": b.rng.range(1, 5),
                                "created_at": at_s,
                            })),
                        )?;
                        let purpose = b.rng.pick(interlog_core::model::PURPOSES).to_string();
                        doc.set_members(Kind::Opportunity, &id, "purpose", &[purpose])?;
                        doc.add_entry(
                            Kind::Opportunity,
                            &id,
                            "stages",
                            &obj(json!({"stage": "screen", "at": at_s})),
                        )?;
                        opp_ids[opp] = Some(id.clone());
                        id
                    }
                };
                // An interviewer: new while contacts remain to be met.
                let remaining = s.interviews - interviews_logged;
                let new_contact = contact_ids.len() < s.contacts
                    && (b.rng.below(remaining.max(1)) < s.contacts - contact_ids.len()
                        || contact_ids.is_empty());
                let contact = if new_contact {
                    let doc = &mut b.devs[dev].doc;
                    let id = doc.create(
                        Kind::Contact,
                        &obj(json!({
                            "name": format!("Person {}", contact_ids.len()),
                            "kind": if n == 0 { "recruiter" } else { "interviewer" },
                            "channels": {"email": format!("p{}@example.com", contact_ids.len())},
                            "keep_in_touch_days": 90,
                            "created_at": at_s,
                        })),
                    )?;
                    doc.add_entry(
                        Kind::Contact,
                        &id,
                        "employment",
                        &obj(json!({"company": company, "title": "Engineer", "from": at.date().to_string()})),
                    )?;
                    contact_ids.push(id.clone());
                    id
                } else {
                    let id = contact_ids[b.rng.below(contact_ids.len())].clone();
                    b.ensure(dev, Kind::Contact, &id)?;
                    id
                };
                let status = if at > now { "scheduled" } else { "done" };
                let doc = &mut b.devs[dev].doc;
                let id = doc.create(
                    Kind::Interview,
                    &obj(json!({
                        "company": company,
                        "opportunity": opp_id,
                        "start": at_s,
                        "status": status,
                        "kind": b.rng.pick(interlog_core::model::INTERVIEW_KINDS).to_string(),
                        "duration_min": 45,
                        "rating": b.rng.range(1, 5),
                        "created_at": at_s,
                    })),
                )?;
                doc.set_members(Kind::Interview, &id, "interviewers", &[contact])?;
                interview_ids.push((id.clone(), dev));
                interviews_logged += 1;
                b.save(dev, &format!("log interview {id}"))?;
            }
            Event::Retro { interview } => {
                // Later, at the laptop, in the editor.
                let Some((id, _)) = interview_ids.get(interview).cloned() else {
                    continue;
                };
                b.ensure(LAPTOP, Kind::Interview, &id)?;
                let mut ratings = Map::new();
                for _ in 0..b.rng.range(2, 5) {
                    let q = b.rng.below(s.questions);
                    let qid = match &question_ids[q] {
                        Some(qid) => {
                            let qid = qid.clone();
                            b.ensure(LAPTOP, Kind::Question, &qid)?;
                            qid
                        }
                        None => {
                            let qid = b.devs[LAPTOP].doc.create(
                                Kind::Question,
                                &obj(json!({
                                    "wording": format!("Question {q}: {}?", b.rng.prose(8)),
                                    "category": b.rng.pick(&["behavioral", "technical", "system_design"]).to_string(),
                                })),
                            )?;
                            question_ids[q] = Some(qid.clone());
                            qid
                        }
                    };
                    ratings.insert(qid, json!(b.rng.range(1, 5)));
                }
                let patch = obj(json!({
                    "rating": b.rng.range(1, 5),
                    "went_well": b.rng.prose(14),
                    "improve": b.rng.prose(12),
                    "looking_for": b.rng.prose(10),
                    "notes": b.rng.prose(40),
                    "questions": ratings,
                }));
                let items = vec![b.rng.prose(3), b.rng.prose(2)];
                let doc = &mut b.devs[LAPTOP].doc;
                doc.update(Kind::Interview, &id, &patch)?;
                doc.set_members(Kind::Interview, &id, "resume_items", &items)?;
                b.save(LAPTOP, &format!("retro {id}"))?;
            }
            Event::Stage { opp, stage } => {
                let Some(id) = opp_ids[opp].clone() else {
                    continue;
                };
                let dev = b.rng.below(2);
                b.ensure(dev, Kind::Opportunity, &id)?;
                b.devs[dev].doc.add_entry(
                    Kind::Opportunity,
                    &id,
                    "stages",
                    &obj(json!({"stage": stage, "at": at_s})),
                )?;
                if matches!(stage, "rejected" | "withdrawn" | "declined") {
                    b.devs[dev].doc.update(
                        Kind::Opportunity,
                        &id,
                        &obj(json!({"close": {"by": if stage == "rejected" { "them" } else { "me" }, "reason": b.rng.prose(6), "door_open": true, "at": at_s}})),
                    )?;
                }
                b.save(dev, &format!("opp stage {id} {stage}"))?;
            }
            Event::Offer { opp } => {
                let Some(opp_id) = opp_ids[opp].clone() else {
                    continue;
                };
                b.ensure(LAPTOP, Kind::Opportunity, &opp_id)?;
                let company = company_ids[opps[opp].company].clone().unwrap_or_default();
                let id = b.devs[LAPTOP].doc.create(
                    Kind::Offer,
                    &obj(json!({
                        "opportunity": opp_id,
                        "company": company,
                        "received": at.date().to_string(),
                        "expires": at.date().checked_add(14.days()).map(|d| d.to_string()).unwrap_or_default(),
                        "level_delta": b.rng.range(0, 1),
                        "comp": {"currency": "EUR", "base": b.rng.range(90, 160) * 100_000, "bonus": b.rng.range(0, 20) * 100_000, "period": "year"},
                        "decision": "pending",
                        "created_at": at_s,
                    })),
                )?;
                offer_ids[opp] = Some(id.clone());
                b.save(LAPTOP, &format!("offer add {id}"))?;
            }
            Event::OfferRound { opp } => {
                let Some(id) = offer_ids[opp].clone() else {
                    continue;
                };
                let asked = b.rng.range(120, 180) * 100_000;
                b.devs[LAPTOP].doc.add_entry(
                    Kind::Offer,
                    &id,
                    "rounds",
                    &obj(json!({"at": at.date().to_string(), "asked": {"currency": "EUR", "base": asked}, "offered": {"currency": "EUR", "base": asked - 500_000}})),
                )?;
                b.devs[LAPTOP].doc.update(
                    Kind::Offer,
                    &id,
                    &obj(json!({"decision": "negotiating"})),
                )?;
                b.save(LAPTOP, &format!("offer round {id}"))?;
            }
            Event::Decision { opp, accepted } => {
                let Some(id) = offer_ids[opp].clone() else {
                    continue;
                };
                let decision = if accepted { "accepted" } else { "declined" };
                b.devs[LAPTOP]
                    .doc
                    .update(Kind::Offer, &id, &obj(json!({"decision": decision})))?;
                b.save(LAPTOP, &format!("offer decision {id}"))?;
            }
            Event::FollowUp { f } => {
                let dev = b.rng.below(2);
                let target = if !contact_ids.is_empty() {
                    let c = contact_ids[b.rng.below(contact_ids.len())].clone();
                    b.ensure(dev, Kind::Contact, &c)?;
                    c
                } else {
                    String::new()
                };
                let kind = *b.rng.pick(&[
                    "thank_you",
                    "thank_you",
                    "follow_up",
                    "keep_in_touch",
                    "reconnect",
                ]);
                let id = b.devs[dev].doc.create(
                    Kind::FollowUp,
                    &obj(json!({
                        "due": at.date().to_string(),
                        "kind": kind,
                        "target": target,
                        "note": b.rng.prose(6),
                        "done": false,
                        "created_at": at_s,
                    })),
                )?;
                followup_ids[f] = Some((id.clone(), dev));
                b.save(dev, &format!("followup add {id}"))?;
            }
            Event::FollowUpDone { f } => {
                let Some((id, _)) = followup_ids[f].clone() else {
                    continue;
                };
                let dev = b.rng.below(2);
                b.ensure(dev, Kind::FollowUp, &id)?;
                b.devs[dev]
                    .doc
                    .update(Kind::FollowUp, &id, &obj(json!({"done": true})))?;
                b.save(dev, &format!("followup done {id}"))?;
            }
            Event::Moved { contact } => {
                let Some(id) = contact_ids.get(contact).cloned() else {
                    continue;
                };
                b.ensure(LAPTOP, Kind::Contact, &id)?;
                let to = company_ids
                    .iter()
                    .flatten()
                    .nth(b.rng.below(company_ids.iter().flatten().count()))
                    .cloned()
                    .unwrap_or_default();
                b.devs[LAPTOP].doc.add_entry(
                    Kind::Contact,
                    &id,
                    "employment",
                    &obj(json!({"company": to, "title": "Head of Engineering", "from": at.date().to_string()})),
                )?;
                b.save(LAPTOP, &format!("contact moved {id}"))?;
            }
        }
    }
    Ok(interview_ids.into_iter().map(|(id, _)| id).collect())
}
