//! Reports over the vault: `today`, `stats`, `search` and discretion checks.
//!
//! Every report is a plain serializable struct, so the CLI prints it as a
//! table or as `--json` without knowing how it was computed.
//!
//! The HTML report (`interlog report`) lives in the submodules:
//! - [`period`]: the numbers for one period, gathered from the vault;
//! - [`html`]: that period as one self-contained page;
//! - [`svg`]: the page's charts.

pub mod html;
pub mod period;
pub mod svg;
pub mod text;

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{ToSpan, Zoned};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::doc::ReadJournal;
use crate::model::{comp_amount, profile_rates, Kind, Money, Rate, Record, STAGES};
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
#[derive(Debug, Clone, Serialize)]
pub struct Month {
    pub month: String,
    pub interviews: usize,
    pub goal: Option<i64>,
    /// Average self-rating of the month's rated interviews.
    pub avg_rating: Option<f64>,
}

/// How far the opportunities from one source got.
#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub source: String,
    /// For each funnel stage (lead to accepted), how many reached at least it.
    pub reached: BTreeMap<String, usize>,
}

/// A question from the bank with how often it was asked and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionStat {
    pub id: String,
    pub wording: String,
    pub asked: usize,
    pub avg_rating: Option<f64>,
}

/// A resume item interviewers focused on, and how often.
#[derive(Debug, Clone, Serialize)]
pub struct ResumeItemStat {
    /// The item as first written (items that differ only in case or
    /// surrounding spaces count as one).
    pub item: String,
    /// In how many interviews it was probed.
    pub probed: usize,
    /// At how many companies.
    pub companies: usize,
    /// The last interview that probed it, `YYYY-MM-DD`.
    pub last: Option<String>,
    /// The average self-rating of those interviews.
    pub avg_rating: Option<f64>,
}

/// An offer against the current job.
#[derive(Debug, Clone, Serialize)]
pub struct OfferStat {
    pub id: String,
    pub company: Option<String>,
    /// When it arrived (else when it was recorded), `YYYY-MM-DD`.
    pub received: Option<String>,
    pub level: Option<String>,
    pub level_delta: Option<i64>,
    pub decision: Option<String>,
    /// Base (annualised) + bonus + yearly equity, in minor units.
    pub annual_total: Option<i64>,
    pub currency: Option<String>,
    /// Percentage against the current compensation: when the currencies
    /// match, or at the rate the profile sets between them.
    pub vs_current_pct: Option<f64>,
    /// The annual total in the current package's currency, when it is in
    /// another one and the profile sets a rate (`rate` says which).
    pub converted_total: Option<i64>,
    /// The rate used for `converted_total`: "1 USD = 0.92 EUR".
    pub rate: Option<String>,
    /// Why the offer is not compared with the current package, if it is not.
    pub not_compared: Option<String>,
}

/// The monthly series as terminal sparklines, oldest month first.
#[derive(Debug, Clone, Serialize)]
pub struct Sparklines {
    /// Interviews per month, from none (▁) to the busiest month (█).
    pub interviews: String,
    /// Average self-rating per month, 1 (▁) to 5 (█); `·` where none.
    pub rating: String,
}

/// Everything `interlog stats` shows.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub months: Vec<Month>,
    pub sparklines: Sparklines,
    pub funnel_stages: Vec<String>,
    pub funnel: Vec<Funnel>,
    pub most_asked: Vec<QuestionStat>,
    pub weakest: Vec<QuestionStat>,
    /// The resume items interviewers probed most.
    pub resume_items: Vec<ResumeItemStat>,
    pub current_annual_total: Option<i64>,
    pub current_currency: Option<String>,
    pub offers: Vec<OfferStat>,
}

/// The funnel runs up to `accepted`; later stages close an opportunity.
const FUNNEL_LEN: usize = 7;

/// How many questions and resume items a list shows.
const TOP: usize = 5;
const TOP_ITEMS: usize = 10;

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

/// The current package from the profile, as a yearly total.
pub fn current_package(profile: &Map<String, Value>) -> Option<Money> {
    profile
        .get("comp")
        .and_then(Value::as_object)
        .and_then(annual_total)
}

/// Builds the stats over the last `months` months up to `now`.
pub fn stats(doc: &dyn ReadJournal, now: &Zoned, months: usize) -> Stats {
    let profile = doc.profile();
    let goal = profile.get("monthly_goal").and_then(Value::as_i64);
    let interviews = doc.live(Kind::Interview);

    let mut labels = Vec::new();
    let first = now.date().first_of_month();
    for back in (0..months).rev() {
        if let Ok(m) = first.checked_sub((back as i64).months()) {
            labels.push(month_key(m));
        }
    }
    let months = per_month(&interviews, &labels, goal);

    let questions = asked_questions(doc, &interviews);
    let current = current_package(&profile);
    let rates = profile_rates(&profile);
    Stats {
        sparklines: sparklines(&months),
        months,
        funnel_stages: funnel_stages(),
        funnel: funnel(&doc.live(Kind::Opportunity)),
        most_asked: most_asked(&questions),
        weakest: weakest(&questions),
        resume_items: resume_items(&interviews),
        current_annual_total: current.as_ref().map(|c| c.minor),
        current_currency: current.as_ref().map(|c| c.currency.clone()),
        offers: offer_stats(doc, &doc.live(Kind::Offer), current.as_ref(), &rates),
    }
}

/// `YYYY-MM`, the key of a month in every monthly series.
pub fn month_key(d: Date) -> String {
    d.strftime("%Y-%m").to_string()
}

/// Interviews and average rating in each of the months `labels` names
/// (`YYYY-MM`, in order); interviews in other months are not counted.
pub fn per_month(interviews: &[Record], labels: &[String], goal: Option<i64>) -> Vec<Month> {
    let mut slots: BTreeMap<&str, (usize, Vec<i64>)> = labels
        .iter()
        .map(|m| (m.as_str(), (0, Vec::new())))
        .collect();
    for i in interviews {
        let Some(z) = i.str("start").and_then(stored_zoned) else {
            continue;
        };
        if let Some(slot) = slots.get_mut(month_key(z.date()).as_str()) {
            slot.0 += 1;
            slot.1.extend(i.int("rating"));
        }
    }
    labels
        .iter()
        .map(|m| {
            let (n, ratings) = &slots[m.as_str()];
            Month {
                month: m.clone(),
                interviews: *n,
                goal,
                avg_rating: average(ratings),
            }
        })
        .collect()
}

/// The eight block characters a sparkline is drawn with.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A terminal sparkline: one block per value, from `lo` (▁) to `hi` (█),
/// `·` for a missing value. Values outside the range are clamped.
pub fn sparkline(values: &[Option<f64>], lo: f64, hi: f64) -> String {
    values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() => {
                let share = if hi > lo {
                    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                BLOCKS[(share * 7.0).round() as usize]
            }
            _ => '·',
        })
        .collect()
}

/// The monthly series as sparklines.
pub fn sparklines(months: &[Month]) -> Sparklines {
    let counts: Vec<Option<f64>> = months.iter().map(|m| Some(m.interviews as f64)).collect();
    let busiest = months.iter().map(|m| m.interviews).max().unwrap_or(0) as f64;
    let ratings: Vec<Option<f64>> = months.iter().map(|m| m.avg_rating).collect();
    Sparklines {
        interviews: sparkline(&counts, 0.0, busiest),
        rating: sparkline(&ratings, 1.0, 5.0),
    }
}

/// The funnel's stages, lead to accepted.
pub fn funnel_stages() -> Vec<String> {
    STAGES[..FUNNEL_LEN].iter().map(|s| s.to_string()).collect()
}

/// For each source, how many of `opportunities` reached each funnel stage.
pub fn funnel(opportunities: &[Record]) -> Vec<Funnel> {
    let mut funnel: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for o in opportunities {
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
    let stages = funnel_stages();
    funnel
        .into_iter()
        .map(|(source, counts)| Funnel {
            source,
            reached: stages.iter().cloned().zip(counts).collect(),
        })
        .collect()
}

/// Every question asked in `interviews`, with how often and how it went.
pub fn asked_questions(doc: &dyn ReadJournal, interviews: &[Record]) -> Vec<QuestionStat> {
    let mut asked: BTreeMap<String, Vec<Option<i64>>> = BTreeMap::new();
    for i in interviews {
        for (qid, rating) in i.ratings("questions") {
            asked.entry(qid.to_string()).or_default().push(rating);
        }
    }
    asked
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
        .collect()
}

/// The most asked questions, most first.
pub fn most_asked(questions: &[QuestionStat]) -> Vec<QuestionStat> {
    let mut v: Vec<&QuestionStat> = questions.iter().collect();
    v.sort_by(|a, b| b.asked.cmp(&a.asked).then(a.id.cmp(&b.id)));
    v.into_iter().take(TOP).cloned().collect()
}

/// The rated questions with the lowest average, weakest first.
pub fn weakest(questions: &[QuestionStat]) -> Vec<QuestionStat> {
    let mut v: Vec<&QuestionStat> = questions
        .iter()
        .filter(|q| q.avg_rating.is_some())
        .collect();
    v.sort_by(|a, b| {
        a.avg_rating
            .partial_cmp(&b.avg_rating)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.asked.cmp(&a.asked))
            .then(a.id.cmp(&b.id))
    });
    v.into_iter().take(TOP).cloned().collect()
}

/// The resume items interviewers probed most in `interviews`, most first.
pub fn resume_items(interviews: &[Record]) -> Vec<ResumeItemStat> {
    struct Acc<'a> {
        item: &'a str,
        probed: usize,
        companies: std::collections::BTreeSet<String>,
        last: Option<Date>,
        ratings: Vec<i64>,
    }
    let mut items: BTreeMap<String, Acc> = BTreeMap::new();
    // Oldest first, so an item is named as it was first written.
    let mut sorted: Vec<(Option<Date>, &Record)> = interviews
        .iter()
        .map(|i| (i.str("start").and_then(stored_date), i))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    for (date, i) in sorted {
        let company = i.str("company");
        for item in i.set("resume_items") {
            let key = item.trim().to_lowercase();
            if key.is_empty() {
                continue;
            }
            let acc = items.entry(key).or_insert_with(|| Acc {
                item: item.trim(),
                probed: 0,
                companies: Default::default(),
                last: None,
                ratings: Vec::new(),
            });
            acc.probed += 1;
            if let Some(c) = company {
                acc.companies.insert(c.to_string());
            }
            acc.last = acc.last.max(date);
            acc.ratings.extend(i.int("rating"));
        }
    }
    let mut out: Vec<ResumeItemStat> = items
        .into_values()
        .map(|a| ResumeItemStat {
            item: a.item.to_string(),
            probed: a.probed,
            companies: a.companies.len(),
            last: a.last.map(|d| d.to_string()),
            avg_rating: average(&a.ratings),
        })
        .collect();
    out.sort_by(|a, b| {
        b.probed
            .cmp(&a.probed)
            .then(b.last.cmp(&a.last))
            .then(a.item.cmp(&b.item))
    });
    out.truncate(TOP_ITEMS);
    out
}

/// When an offer arrived: `received`, else when it was recorded.
pub fn offer_date(o: &Record) -> Option<Date> {
    o.str("received")
        .and_then(stored_date)
        .or_else(|| o.str("created_at").and_then(stored_date))
}

/// Each offer against `current`, comparing other currencies at the
/// profile's `rates`; by level against yours, then the largest package.
pub fn offer_stats(
    doc: &dyn ReadJournal,
    offers: &[Record],
    current: Option<&Money>,
    rates: &[Rate],
) -> Vec<OfferStat> {
    let mut out: Vec<OfferStat> = offers
        .iter()
        .map(|o| {
            let total = o.map("comp").and_then(annual_total);
            let mut stat = OfferStat {
                id: o.id.clone(),
                company: company_name(doc, o),
                received: offer_date(o).map(|d| d.to_string()),
                level: o.str("level").map(str::to_string),
                level_delta: o.int("level_delta"),
                decision: o.str("decision").map(str::to_string),
                annual_total: total.as_ref().map(|t| t.minor),
                currency: total.as_ref().map(|t| t.currency.clone()),
                vs_current_pct: None,
                converted_total: None,
                rate: None,
                not_compared: None,
            };
            let (total, current) = match (total, current) {
                (None, _) => {
                    stat.not_compared = Some(
                        "no base pay recorded: `interlog offer comp ID --base …` adds it".into(),
                    );
                    return stat;
                }
                (Some(_), None) => {
                    stat.not_compared = Some(
                        "your own package is not set: `interlog profile set --base … --currency …`"
                            .into(),
                    );
                    return stat;
                }
                (Some(t), Some(c)) => (t, c),
            };
            let comparable = if total.currency == current.currency {
                Some(total.minor)
            } else if let Some(rate) = rates
                .iter()
                .find(|r| r.from == total.currency && r.to == current.currency)
            {
                let converted = rate.convert(&total).map(|m| m.minor);
                stat.converted_total = converted;
                stat.rate = Some(rate.to_string());
                converted
            } else {
                stat.not_compared = Some(format!(
                    "in {}, and your package is in {}: no rate is set to compare them (`interlog profile set --rate {}=…` says how many {} one {} is worth)",
                    total.currency, current.currency, total.currency, current.currency, total.currency
                ));
                None
            };
            if let Some(t) = comparable {
                if current.minor > 0 {
                    stat.vs_current_pct = Some(
                        ((t as f64 - current.minor as f64) / current.minor as f64 * 1000.0).round()
                            / 10.0,
                    );
                }
            }
            stat
        })
        .collect();
    out.sort_by(|a, b| {
        a.level_delta
            .cmp(&b.level_delta)
            .then(b.annual_total.cmp(&a.annual_total))
            .then(a.id.cmp(&b.id))
    });
    out
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
        assert_eq!(s.sparklines.interviews, "▁▃█");
        assert_eq!(s.sparklines.rating, "·█▅");
    }

    #[test]
    fn sparklines_span_the_blocks_and_mark_gaps() {
        assert_eq!(
            sparkline(&[Some(0.0), Some(4.0), Some(8.0), None], 0.0, 8.0),
            "▁▅█·"
        );
        assert_eq!(sparkline(&[Some(3.0), Some(3.0)], 0.0, 0.0), "▁▁");
        assert_eq!(sparkline(&[Some(f64::NAN), Some(99.0)], 1.0, 5.0), "·█");
        assert_eq!(sparkline(&[], 0.0, 1.0), "");
    }

    #[test]
    fn resume_items_count_interviews_and_companies_ignoring_case() {
        let mut d = doc();
        for (company, start, items) in [
            (
                "C1",
                "2026-10-01T10:00:00+00:00[UTC]",
                json!({"Kafka migration": true, "Team lead": true}),
            ),
            (
                "C2",
                "2026-11-01T10:00:00+00:00[UTC]",
                json!({"kafka migration ": true}),
            ),
            (
                "C2",
                "2026-11-05T10:00:00+00:00[UTC]",
                json!({"Kafka migration": true, "gone": false}),
            ),
        ] {
            d.create(
                Kind::Interview,
                &obj(
                    json!({"company": company, "start": start, "rating": 4, "resume_items": items}),
                ),
            )
            .unwrap();
        }
        let items = resume_items(&d.live(Kind::Interview));
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].item, "Kafka migration");
        assert_eq!((items[0].probed, items[0].companies), (3, 2));
        assert_eq!(items[0].last.as_deref(), Some("2026-11-05"));
        assert_eq!(items[1].item, "Team lead");
    }

    #[test]
    fn offers_in_another_currency_say_why_or_use_the_profile_rate() {
        let mut d = doc();
        d.update_profile(&obj(
            json!({"comp": {"currency": "EUR", "base": 10_000_000, "period": "year"}}),
        ))
        .unwrap();
        d.create(
            Kind::Offer,
            &obj(json!({"comp": {"currency": "USD", "base": 12_000_000, "period": "year"}})),
        )
        .unwrap();
        let now: Zoned = "2026-11-20T12:00:00+00:00[UTC]".parse().unwrap();
        let o = &stats(&d, &now, 1).offers[0];
        assert_eq!(o.vs_current_pct, None);
        let why = o.not_compared.as_deref().unwrap();
        assert!(
            why.contains("USD") && why.contains("EUR") && why.contains("--rate USD="),
            "{why}"
        );

        d.update_profile(&obj(json!({"rate:USD:EUR": "0.9"})))
            .unwrap();
        let o = &stats(&d, &now, 1).offers[0];
        assert_eq!(o.converted_total, Some(10_800_000));
        assert_eq!(o.vs_current_pct, Some(8.0));
        assert_eq!(o.rate.as_deref(), Some("1 USD = 0.9 EUR"));
        assert_eq!(o.not_compared, None);
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
