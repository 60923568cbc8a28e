//! Reports over the vault: `today`, `stats`, `search` and discretion checks.
//!
//! Every report is a plain serializable struct, so the CLI prints it as a
//! table or as `--json` without knowing how it was computed.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{ToSpan, Zoned};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::doc::ReadJournal;
use crate::model::{comp_amount, Kind, Money, Record, STAGES};
use crate::time::{stored_date, stored_zoned};

/// A follow-up that is due.
#[derive(Debug, Serialize)]
pub struct DueFollowUp {
    pub id: String,
    pub due: String,
    pub kind: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
    pub days_overdue: i64,
}

/// A contact past their keep-in-touch interval.
#[derive(Debug, Serialize)]
pub struct Reconnect {
    pub id: String,
    pub name: String,
    pub last_contact: Option<String>,
    pub interval_days: i64,
    pub days_overdue: i64,
}

/// What needs attention today.
#[derive(Debug, Serialize)]
pub struct Today {
    pub date: String,
    pub followups: Vec<DueFollowUp>,
    pub reconnect: Vec<Reconnect>,
    pub interviews: Vec<InterviewRow>,
}

/// An interview in a report.
#[derive(Debug, Serialize)]
pub struct InterviewRow {
    pub id: String,
    pub start: Option<String>,
    pub company: Option<String>,
    pub kind: Option<String>,
}

/// The title of the record an id points to, or the id if it is gone.
pub fn ref_title(doc: &dyn ReadJournal, id: &str) -> String {
    Kind::ALL
        .iter()
        .find_map(|k| doc.record(*k, id))
        .map(|r| r.title())
        .unwrap_or_else(|| id.to_string())
}

fn company_name(doc: &dyn ReadJournal, r: &Record) -> Option<String> {
    r.str("company").map(|c| ref_title(doc, c))
}

/// Due follow-ups, overdue contacts and today's interviews.
pub fn today(doc: &dyn ReadJournal, today: Date) -> Today {
    let mut followups: Vec<DueFollowUp> = doc
        .live(Kind::FollowUp)
        .into_iter()
        .filter(|f| !f.bool("done"))
        .filter(|f| {
            f.str("snoozed_until")
                .and_then(stored_date)
                .is_none_or(|s| s <= today)
        })
        .filter_map(|f| {
            let due = f.str("due").and_then(stored_date)?;
            (due <= today).then(|| DueFollowUp {
                days_overdue: days_between(due, today),
                due: due.to_string(),
                kind: f.str("kind").map(str::to_string),
                target: f.str("target").map(|t| ref_title(doc, t)),
                note: f.str("note").map(str::to_string),
                id: f.id,
            })
        })
        .collect();
    followups.sort_by(|a, b| a.due.cmp(&b.due).then(a.id.cmp(&b.id)));

    let interviews = doc.live(Kind::Interview);
    let mut last_met: BTreeMap<&str, Date> = BTreeMap::new();
    for i in &interviews {
        let Some(d) = i.str("start").and_then(stored_date) else {
            continue;
        };
        if d > today {
            continue;
        }
        for c in i.set("interviewers") {
            let e = last_met.entry(c).or_insert(d);
            *e = (*e).max(d);
        }
    }
    let mut reconnect: Vec<Reconnect> = doc
        .live(Kind::Contact)
        .into_iter()
        .filter_map(|c| {
            let interval = c.int("keep_in_touch_days")?;
            let last = [
                c.str("last_contacted").and_then(stored_date),
                last_met.get(c.id.as_str()).copied(),
            ]
            .into_iter()
            .flatten()
            .max();
            let baseline = last.or_else(|| c.str("created_at").and_then(stored_date))?;
            let due = baseline.checked_add(interval.days()).ok()?;
            (due <= today).then(|| Reconnect {
                name: c.title(),
                last_contact: last.map(|d| d.to_string()),
                interval_days: interval,
                days_overdue: days_between(due, today),
                id: c.id,
            })
        })
        .collect();
    reconnect.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then(a.id.cmp(&b.id)));

    let mut todays: Vec<InterviewRow> = interviews
        .iter()
        .filter(|i| i.str("start").and_then(stored_date) == Some(today))
        .map(|i| InterviewRow {
            id: i.id.clone(),
            start: i.str("start").map(str::to_string),
            company: company_name(doc, i),
            kind: i.str("kind").map(str::to_string),
        })
        .collect();
    todays.sort_by(|a, b| a.start.cmp(&b.start));

    Today {
        date: today.to_string(),
        followups,
        reconnect,
        interviews: todays,
    }
}

fn days_between(from: Date, to: Date) -> i64 {
    (to - from).get_days() as i64
}

/// Interviews in one month.
#[derive(Debug, Serialize)]
pub struct Month {
    pub month: String,
    pub interviews: usize,
    pub goal: Option<i64>,
    /// Average self-rating of the month's rated interviews.
    pub avg_rating: Option<f64>,
}

/// How far the opportunities from one source got.
#[derive(Debug, Serialize)]
pub struct Funnel {
    pub source: String,
    /// For each funnel stage (lead to accepted), how many reached at least it.
    pub reached: BTreeMap<String, usize>,
}

/// A question from the bank with how often it was asked and how it went.
#[derive(Debug, Serialize)]
pub struct QuestionStat {
    pub id: String,
    pub wording: String,
    pub asked: usize,
    pub avg_rating: Option<f64>,
}

/// An offer against the current job.
#[derive(Debug, Serialize)]
pub struct OfferStat {
    pub id: String,
    pub company: Option<String>,
    pub level: Option<String>,
    pub level_delta: Option<i64>,
    pub decision: Option<String>,
    /// Base (annualised) + bonus + yearly equity, in minor units.
    pub annual_total: Option<i64>,
    pub currency: Option<String>,
    /// Percentage against the current compensation, when currencies match.
    pub vs_current_pct: Option<f64>,
}

/// Everything `interlog stats` shows.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub months: Vec<Month>,
    pub funnel_stages: Vec<String>,
    pub funnel: Vec<Funnel>,
    pub most_asked: Vec<QuestionStat>,
    pub weakest: Vec<QuestionStat>,
    pub current_annual_total: Option<i64>,
    pub current_currency: Option<String>,
    pub offers: Vec<OfferStat>,
}

/// The funnel runs up to `accepted`; later stages close an opportunity.
const FUNNEL_LEN: usize = 7;

/// A compensation map as a yearly total in minor units: base annualised
/// (monthly x12, hourly x2080), plus bonus and yearly equity. Signing is one-off.
pub fn annual_total(comp: &Map<String, Value>) -> Option<Money> {
    let base = comp_amount(comp, "base")?;
    let factor = match comp.get("period").and_then(Value::as_str) {
        Some("month") => 12,
        Some("hour") => 2080,
        _ => 1,
    };
    let extra: i64 = ["bonus", "equity"]
        .iter()
        .filter_map(|k| comp_amount(comp, k).map(|m| m.minor))
        .sum();
    Some(Money {
        minor: base.minor.saturating_mul(factor).saturating_add(extra),
        currency: base.currency,
    })
}

/// Builds the stats over the last `months` months up to `now`.
pub fn stats(doc: &dyn ReadJournal, now: &Zoned, months: usize) -> Stats {
    let profile = doc.profile();
    let goal = profile.get("monthly_goal").and_then(Value::as_i64);
    let interviews = doc.live(Kind::Interview);

    let mut per_month: BTreeMap<String, (usize, Vec<i64>)> = BTreeMap::new();
    let first = now.date().first_of_month();
    for back in 0..months {
        if let Ok(m) = first.checked_sub((back as i64).months()) {
            per_month.insert(m.strftime("%Y-%m").to_string(), (0, Vec::new()));
        }
    }
    for i in &interviews {
        let Some(z) = i.str("start").and_then(stored_zoned) else {
            continue;
        };
        if let Some(slot) = per_month.get_mut(&z.strftime("%Y-%m").to_string()) {
            slot.0 += 1;
            slot.1.extend(i.int("rating"));
        }
    }
    let months = per_month
        .into_iter()
        .map(|(month, (n, ratings))| Month {
            month,
            interviews: n,
            goal,
            avg_rating: average(&ratings),
        })
        .collect();

    let funnel_stages: Vec<String> = STAGES[..FUNNEL_LEN].iter().map(|s| s.to_string()).collect();
    let mut funnel: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for o in doc.live(Kind::Opportunity) {
        let source = o.str("source").unwrap_or("unknown").to_string();
        let reached = o
            .entries("stages")
            .values()
            .filter_map(|e| e.get("stage").and_then(Value::as_str))
            .filter_map(|s| STAGES[..FUNNEL_LEN].iter().position(|x| *x == s))
            .max()
            .unwrap_or(0);
        let row = funnel.entry(source).or_insert_with(|| vec![0; FUNNEL_LEN]);
        for slot in row.iter_mut().take(reached + 1) {
            *slot += 1;
        }
    }
    let funnel = funnel
        .into_iter()
        .map(|(source, counts)| Funnel {
            source,
            reached: funnel_stages.iter().cloned().zip(counts).collect(),
        })
        .collect();

    let mut asked: BTreeMap<String, Vec<Option<i64>>> = BTreeMap::new();
    for i in &interviews {
        for (qid, rating) in i.ratings("questions") {
            asked.entry(qid.to_string()).or_default().push(rating);
        }
    }
    let questions: Vec<QuestionStat> = asked
        .into_iter()
        .map(|(id, ratings)| {
            let rated: Vec<i64> = ratings.iter().flatten().copied().collect();
            QuestionStat {
                wording: ref_title(doc, &id),
                asked: ratings.len(),
                avg_rating: average(&rated),
                id,
            }
        })
        .collect();
    let mut most_asked: Vec<&QuestionStat> = questions.iter().collect();
    most_asked.sort_by(|a, b| b.asked.cmp(&a.asked).then(a.id.cmp(&b.id)));
    let mut weakest: Vec<&QuestionStat> = questions
        .iter()
        .filter(|q| q.avg_rating.is_some())
        .collect();
    weakest.sort_by(|a, b| {
        a.avg_rating
            .partial_cmp(&b.avg_rating)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.asked.cmp(&a.asked))
            .then(a.id.cmp(&b.id))
    });
    let top = |v: Vec<&QuestionStat>| -> Vec<QuestionStat> {
        v.into_iter()
            .take(5)
            .map(|q| QuestionStat {
                id: q.id.clone(),
                wording: q.wording.clone(),
                asked: q.asked,
                avg_rating: q.avg_rating,
            })
            .collect()
    };

    let current = profile
        .get("comp")
        .and_then(Value::as_object)
        .and_then(annual_total);
    let mut offers: Vec<OfferStat> = doc
        .live(Kind::Offer)
        .into_iter()
        .map(|o| {
            let total = o.map("comp").and_then(annual_total);
            let vs_current_pct = match (&total, &current) {
                (Some(t), Some(c)) if t.currency == c.currency && c.minor > 0 => {
                    Some(((t.minor - c.minor) as f64 / c.minor as f64 * 1000.0).round() / 10.0)
                }
                _ => None,
            };
            OfferStat {
                company: company_name(doc, &o),
                level: o.str("level").map(str::to_string),
                level_delta: o.int("level_delta"),
                decision: o.str("decision").map(str::to_string),
                annual_total: total.as_ref().map(|t| t.minor),
                currency: total.map(|t| t.currency),
                vs_current_pct,
                id: o.id,
            }
        })
        .collect();
    offers.sort_by(|a, b| {
        a.level_delta
            .cmp(&b.level_delta)
            .then(b.annual_total.cmp(&a.annual_total))
            .then(a.id.cmp(&b.id))
    });

    Stats {
        months,
        funnel_stages,
        funnel,
        most_asked: top(most_asked),
        weakest: top(weakest),
        current_annual_total: current.as_ref().map(|c| c.minor),
        current_currency: current.map(|c| c.currency),
        offers,
    }
}

fn average(v: &[i64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().sum::<i64>() as f64 / v.len() as f64 * 10.0).round() / 10.0)
}

/// One search match.
#[derive(Debug, Serialize)]
pub struct Hit {
    /// The kind of record matched.
    pub record: String,
    pub id: String,
    pub title: String,
    pub field: String,
    pub snippet: String,
}

/// Every live record with a string value (or set member) containing `text`,
/// ignoring case.
pub fn search(doc: &dyn ReadJournal, text: &str) -> Vec<Hit> {
    let needle = text.to_lowercase();
    let mut hits = Vec::new();
    for kind in Kind::ALL {
        for r in doc.live(kind) {
            let mut found = Vec::new();
            walk_strings(&Value::Object(r.fields.clone()), "", &mut |path, s| {
                if path != "created_at" && s.to_lowercase().contains(&needle) {
                    found.push((path.to_string(), snippet(s, &needle)));
                }
            });
            for (field, snippet) in found {
                hits.push(Hit {
                    record: kind.name().into(),
                    id: r.id.clone(),
                    title: r.title(),
                    field,
                    snippet,
                });
            }
        }
    }
    hits
}

fn walk_strings(v: &Value, path: &str, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(path, s),
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if child.as_bool() == Some(true) {
                    f(&p, k); // a set member
                } else {
                    walk_strings(child, &p, f);
                }
            }
        }
        _ => {}
    }
}

fn snippet(s: &str, needle: &str) -> String {
    const WIDTH: usize = 60;
    let lower = s.to_lowercase();
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= WIDTH {
        return s.replace('\n', " ");
    }
    let at = lower
        .find(needle)
        .map(|b| lower[..b].chars().count())
        .unwrap_or(0);
    // Lower-casing can change the number of chars ("İ" becomes two), so the
    // position is only a hint: clamp it into the original text.
    let start = at
        .saturating_sub(WIDTH / 3)
        .min(chars.len().saturating_sub(WIDTH));
    let end = (start + WIDTH).min(chars.len());
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out = format!("…{out}");
    }
    if end < chars.len() {
        out.push('…');
    }
    out.replace('\n', " ")
}

/// Why an interview at `start` could draw attention at work, if it could: it
/// falls inside the working hours set in the profile.
pub fn working_hours_warning(profile: &Map<String, Value>, start: &Zoned) -> Option<String> {
    let parse = |k: &str| -> Option<jiff::civil::Time> {
        let s = profile.get(k)?.as_str()?;
        let (h, m) = s.split_once(':')?;
        jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    };
    let (from, to) = (parse("work_start")?, parse("work_end")?);
    let days = profile.get("work_days").and_then(Value::as_object)?;
    let day = crate::model::WEEKDAYS[start.weekday().to_monday_zero_offset() as usize];
    let working_day = days.get(day).and_then(Value::as_bool) == Some(true);
    let t = start.time();
    (working_day && t >= from && t < to).then(|| {
        format!(
            "this is inside your working hours ({day} {}-{}): block it in your calendar with a neutral title",
            from.strftime("%H:%M"),
            to.strftime("%H:%M")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::VaultDoc;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn doc() -> VaultDoc {
        VaultDoc::new_vault("v", b"device-a").unwrap()
    }

    #[test]
    fn due_followups_and_overdue_contacts_show_today() {
        let mut d = doc();
        let today: Date = "2026-11-20".parse().unwrap();
        d.create(
            Kind::FollowUp,
            &obj(json!({"due": "2026-11-18", "note": "thank Ana"})),
        )
        .unwrap();
        d.create(
            Kind::FollowUp,
            &obj(json!({"due": "2026-11-25", "note": "later"})),
        )
        .unwrap();
        d.create(
            Kind::FollowUp,
            &obj(json!({"due": "2026-11-01", "done": true})),
        )
        .unwrap();
        d.create(
            Kind::FollowUp,
            &obj(json!({"due": "2026-11-01", "snoozed_until": "2026-11-30"})),
        )
        .unwrap();
        let ana = d
            .create(Kind::Contact, &obj(json!({"name": "Ana", "keep_in_touch_days": 30, "last_contacted": "2026-09-01"})))
            .unwrap();
        d.create(
            Kind::Contact,
            &obj(json!({"name": "Bo", "keep_in_touch_days": 30, "last_contacted": "2026-11-10"})),
        )
        .unwrap();
        let t = today_report(&d, today);
        assert_eq!(t.followups.len(), 1);
        assert_eq!(t.followups[0].note.as_deref(), Some("thank Ana"));
        assert_eq!(t.followups[0].days_overdue, 2);
        assert_eq!(t.reconnect.len(), 1);
        assert_eq!(t.reconnect[0].id, ana);

        // Meeting Ana in an interview counts as contact.
        d.create(Kind::Interview, &obj(json!({"start": "2026-11-15T10:00:00+00:00[UTC]", "interviewers": {ana.clone(): true}}))).unwrap();
        assert!(today_report(&d, today).reconnect.is_empty());
    }

    fn today_report(d: &VaultDoc, t: Date) -> Today {
        today(d, t)
    }

    #[test]
    fn stats_count_months_funnel_questions_and_offers() {
        let mut d = doc();
        d.update_profile(&obj(json!({"monthly_goal": 4, "comp": {"currency": "EUR", "base": 10_000_000, "period": "year"}})))
            .unwrap();
        let q1 = d
            .create(Kind::Question, &obj(json!({"wording": "Design a cache"})))
            .unwrap();
        let q2 = d
            .create(
                Kind::Question,
                &obj(json!({"wording": "Tell me about a failure"})),
            )
            .unwrap();
        for (start, rating, q1r) in [
            ("2026-11-02T10:00:00+00:00[UTC]", 4, 2),
            ("2026-11-09T10:00:00+00:00[UTC]", 2, 1),
            ("2026-10-09T10:00:00+00:00[UTC]", 5, 3),
        ] {
            d.create(
                Kind::Interview,
                &obj(json!({"start": start, "rating": rating, "questions": {q1.clone(): q1r}})),
            )
            .unwrap();
        }
        d.create(Kind::Interview, &obj(json!({"start": "2026-11-10T10:00:00+00:00[UTC]", "questions": {q2.clone(): 4, q1.clone(): null}})))
            .unwrap();
        d.create(
            Kind::Opportunity,
            &obj(json!({"source": "referral", "stages": {
            "01A": {"stage": "screen", "at": "2026-10-01T00:00:00+00:00[UTC]"},
            "01B": {"stage": "offer", "at": "2026-10-20T00:00:00+00:00[UTC]"},
            "01C": {"stage": "declined", "at": "2026-10-30T00:00:00+00:00[UTC]"}}})),
        )
        .unwrap();
        d.create(Kind::Opportunity, &obj(json!({"source": "referral", "stages": {"01A": {"stage": "applied", "at": "2026-10-01T00:00:00+00:00[UTC]"}}})))
            .unwrap();
        d.create(Kind::Offer, &obj(json!({"level_delta": 1, "comp": {"currency": "EUR", "base": 11_000_000, "period": "year", "bonus": 1_000_000}})))
            .unwrap();

        let now: Zoned = "2026-11-20T12:00:00+00:00[UTC]".parse().unwrap();
        let s = stats(&d, &now, 3);
        let nov = s.months.iter().find(|m| m.month == "2026-11").unwrap();
        assert_eq!(
            (nov.interviews, nov.goal, nov.avg_rating),
            (3, Some(4), Some(3.0))
        );
        assert_eq!(s.months.len(), 3);
        let referral = &s.funnel[0];
        assert_eq!(referral.reached["lead"], 2);
        assert_eq!(referral.reached["applied"], 2);
        assert_eq!(referral.reached["offer"], 1);
        assert_eq!(referral.reached["accepted"], 0);
        assert_eq!(s.most_asked[0].id, q1);
        assert_eq!(
            s.most_asked[0].asked, 4,
            "an unrated ask still counts as asked"
        );
        assert_eq!(s.weakest[0].id, q1);
        assert_eq!(s.weakest[0].avg_rating, Some(2.0));
        assert_eq!(s.offers[0].annual_total, Some(12_000_000));
        assert_eq!(s.offers[0].vs_current_pct, Some(20.0));
    }

    #[test]
    fn search_finds_text_and_set_members_ignoring_case() {
        let mut d = doc();
        let id = d.create(Kind::Interview, &obj(json!({"notes": "They asked about RAFT consensus", "resume_items": {"Kafka migration": true}}))).unwrap();
        let hits = search(&d, "raft");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, id);
        assert_eq!(search(&d, "kafka")[0].field, "resume_items.Kafka migration");
        assert!(search(&d, "nothing-like-this").is_empty());
    }

    #[test]
    fn snippets_survive_case_folding_that_changes_lengths() {
        let text = format!("{}x", "İ".repeat(70));
        assert!(snippet(&text, "x").ends_with('x'));
    }

    #[test]
    fn working_hours_warning_fires_only_inside_hours() {
        let profile = obj(
            json!({"work_start": "09:00", "work_end": "18:00", "work_days": {"mon": true, "tue": true}}),
        );
        let monday_10: Zoned = "2026-11-16T10:00:00+01:00[Europe/Paris]".parse().unwrap();
        let monday_19: Zoned = "2026-11-16T19:00:00+01:00[Europe/Paris]".parse().unwrap();
        let saturday_10: Zoned = "2026-11-21T10:00:00+01:00[Europe/Paris]".parse().unwrap();
        assert!(working_hours_warning(&profile, &monday_10).is_some());
        assert!(working_hours_warning(&profile, &monday_19).is_none());
        assert!(working_hours_warning(&profile, &saturday_10).is_none());
    }
}
