//! The numbers behind `interlog report`: one period of the journal, month
//! by month.
//!
//! Everything here is computed from the vault alone and serializable, so
//! the page ([`super::html`]) only lays it out, and a test can check the
//! numbers without parsing HTML. A period with nothing in it is valid: every
//! series is then present and empty (or all zero), never missing.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::{ToSpan, Zoned};
use serde::Serialize;
use serde_json::Value;

use super::{
    asked_questions, current_package, funnel, funnel_stages, month_key, most_asked, offer_date,
    offer_stats, per_month, ref_title, resume_items, today, weakest, Funnel, Month, OfferStat,
    QuestionStat, ResumeItemStat,
};
use crate::doc::ReadJournal;
use crate::model::{profile_rates, Kind, Record};
use crate::time::{stored_date, stored_zoned};

/// The longest period a report covers, in months (twenty years).
pub const MAX_MONTHS: usize = 240;

/// A period the report cannot cover. Each message says what to type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("'{raw}' is not a start I understand; write it like 2025-06-01, 2025-06, 6m (six months ago) or 2y")]
    BadSince { raw: String },
    #[error("the period would start on {since}, after today ({today}); give a date in the past")]
    SinceInFuture { since: String, today: String },
    #[error("a report covers at most {MAX_MONTHS} months, and {since} is further back; give a later --since")]
    TooLong { since: String },
}

/// The days a report covers: whole months from `from`'s month to `to`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    /// The last `months` months, this one included (the default is 12).
    pub fn last_months(today: Date, months: usize) -> Period {
        let back = months.clamp(1, MAX_MONTHS) as i64 - 1;
        let first = today.first_of_month();
        Period {
            from: first.checked_sub(back.months()).unwrap_or(first),
            to: today,
        }
    }

    /// From `since` to `today`.
    pub fn since(since: Date, today: Date) -> Result<Period, ReportError> {
        if since > today {
            return Err(ReportError::SinceInFuture {
                since: since.to_string(),
                today: today.to_string(),
            });
        }
        let p = Period {
            from: since,
            to: today,
        };
        if p.month_keys().len() > MAX_MONTHS {
            return Err(ReportError::TooLong {
                since: since.to_string(),
            });
        }
        Ok(p)
    }

    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }

    /// `YYYY-MM` of every month the period touches, oldest first.
    pub fn month_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut m = self.from.first_of_month();
        while m <= self.to && out.len() <= MAX_MONTHS {
            out.push(month_key(m));
            match m.checked_add(1.month()) {
                Ok(next) => m = next,
                Err(_) => break,
            }
        }
        out
    }
}

/// The period `interlog report --since RAW` covers: from `raw` (see
/// [`parse_since`]) to `today`, or the last 12 months without it.
pub fn period_for(since: Option<&str>, today: Date) -> Result<Period, ReportError> {
    match since {
        None => Ok(Period::last_months(today, 12)),
        Some(raw) => Period::since(parse_since(raw, today)?, today),
    }
}

/// Reads `--since`: a date (`2025-06-01`, `today`...), a month (`2025-06`,
/// its first day), or a span back from today (`6m`, `6 months`, `2y`,
/// `90d`).
pub fn parse_since(raw: &str, today: Date) -> Result<Date, ReportError> {
    let bad = || ReportError::BadSince {
        raw: raw.to_string(),
    };
    let s = raw.trim().to_ascii_lowercase();
    if let Ok(d) = s.parse::<Date>() {
        return Ok(d);
    }
    if let Some((y, m)) = s.split_once('-') {
        if let (Ok(y), Ok(m)) = (y.parse::<i16>(), m.parse::<i8>()) {
            return Date::new(y, m, 1).map_err(|_| bad());
        }
    }
    match s.as_str() {
        "today" => return Ok(today),
        "yesterday" => return today.checked_sub(1.day()).map_err(|_| bad()),
        _ => {}
    }
    let s = s.trim_start_matches('-').trim_end_matches(" ago");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n > 100_000 {
        return Err(bad());
    }
    let span = match unit.trim() {
        "d" | "day" | "days" => n.days(),
        "w" | "week" | "weeks" => n.weeks(),
        "m" | "mo" | "month" | "months" => n.months(),
        "y" | "year" | "years" => n.years(),
        _ => return Err(bad()),
    };
    today.checked_sub(span).map_err(|_| bad())
}

/// A question with its rating month by month.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionTrend {
    #[serde(flatten)]
    pub stat: QuestionStat,
    /// The average rating of each month of the period (`None`: not rated).
    pub by_month: Vec<Option<f64>>,
    /// The last rating minus the first, when it was rated at least twice.
    pub trend: Option<i64>,
}

/// A company interviewed at in the period.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyStat {
    pub company: String,
    pub interviews: usize,
    pub avg_rating: Option<f64>,
    /// The last interview there, `YYYY-MM-DD`.
    pub last: Option<String>,
}

/// The offers of one year in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct OfferYear {
    pub year: i16,
    pub currency: String,
    pub offers: usize,
    /// The largest annual total, in minor units.
    pub best_total: Option<i64>,
    /// The best offer against the current package, in percent.
    pub best_vs_current_pct: Option<f64>,
}

/// How the network grew in one month.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkMonth {
    pub month: String,
    /// Contacts first met this month (recorded, or met in an interview).
    pub met: usize,
    /// Contacts you were in touch with this month: met, in an interview,
    /// or marked `contact touched` (only the last touch of each is kept).
    pub in_touch: usize,
    /// Contacts known by the end of the month.
    pub total: usize,
}

/// Contacts with a keep-in-touch interval, on the period's last day.
#[derive(Debug, Clone, Serialize)]
pub struct KeepInTouch {
    pub tracked: usize,
    pub up_to_date: usize,
    pub overdue: usize,
}

/// The headline numbers of the period.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub interviews: usize,
    pub avg_rating: Option<f64>,
    /// Months that met the goal, when there is one.
    pub months_on_goal: Option<usize>,
    pub opportunities: usize,
    pub offers: usize,
    pub contacts_met: usize,
}

/// Everything the HTML report shows, for one period.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodReport {
    /// When the report was made, `YYYY-MM-DD HH:MM` in the local zone.
    pub generated: String,
    pub from: String,
    pub to: String,
    pub goal: Option<i64>,
    pub totals: Totals,
    pub months: Vec<Month>,
    /// Where the interviews were, the most first (at most ten).
    pub companies: Vec<CompanyStat>,
    pub funnel_stages: Vec<String>,
    pub funnel: Vec<Funnel>,
    pub most_asked: Vec<QuestionTrend>,
    pub weakest: Vec<QuestionTrend>,
    pub resume_items: Vec<ResumeItemStat>,
    pub current_annual_total: Option<i64>,
    pub current_currency: Option<String>,
    pub offers: Vec<OfferStat>,
    pub offer_years: Vec<OfferYear>,
    pub network: Vec<NetworkMonth>,
    pub keep_in_touch: KeepInTouch,
}

fn start_date(r: &Record) -> Option<Date> {
    r.str("start").and_then(stored_zoned).map(|z| z.date())
}

fn created(r: &Record) -> Option<Date> {
    r.str("created_at").and_then(stored_date)
}

/// The report for `period`, as of `now`.
pub fn build(doc: &dyn ReadJournal, now: &Zoned, period: Period) -> PeriodReport {
    let profile = doc.profile();
    let goal = profile.get("monthly_goal").and_then(Value::as_i64);
    let labels = period.month_keys();
    let all_interviews = doc.live(Kind::Interview);
    let interviews: Vec<Record> = all_interviews
        .iter()
        .filter(|i| start_date(i).is_some_and(|d| period.contains(d)))
        .cloned()
        .collect();
    let months = per_month(&interviews, &labels, goal);

    // An opportunity belongs to the period when it moved (or began) in it.
    let opportunities: Vec<Record> = doc
        .live(Kind::Opportunity)
        .into_iter()
        .filter(|o| {
            created(o).is_some_and(|d| period.contains(d))
                || o.entries("stages").values().any(|e| {
                    e.get("at")
                        .and_then(Value::as_str)
                        .and_then(stored_date)
                        .is_some_and(|d| period.contains(d))
                })
        })
        .collect();

    let questions = asked_questions(doc, &interviews);
    let trend = |q: QuestionStat| question_trend(q, &interviews, &labels);
    let most = most_asked(&questions).into_iter().map(trend).collect();
    let weak = weakest(&questions).into_iter().map(trend).collect();

    let offers: Vec<Record> = doc
        .live(Kind::Offer)
        .into_iter()
        .filter(|o| offer_date(o).is_some_and(|d| period.contains(d)))
        .collect();
    let current = current_package(&profile);
    let offers = offer_stats(doc, &offers, current.as_ref(), &profile_rates(&profile));
    let offer_years = offer_years(&offers);

    let (network, contacts_met) = network(doc, &all_interviews, &labels, period);
    let overdue = today(doc, period.to).reconnect.len();
    let tracked = doc
        .live(Kind::Contact)
        .iter()
        .filter(|c| c.int("keep_in_touch_days").is_some())
        .count();

    let rated: Vec<i64> = interviews.iter().filter_map(|i| i.int("rating")).collect();
    PeriodReport {
        generated: now.strftime("%Y-%m-%d %H:%M").to_string(),
        from: period.from.to_string(),
        to: period.to.to_string(),
        goal,
        totals: Totals {
            interviews: interviews.len(),
            avg_rating: super::average(&rated),
            months_on_goal: goal.map(|g| {
                months
                    .iter()
                    .filter(|m| g > 0 && m.interviews as i64 >= g)
                    .count()
            }),
            opportunities: opportunities.len(),
            offers: offers.len(),
            contacts_met,
        },
        months,
        companies: companies(doc, &interviews),
        funnel_stages: funnel_stages(),
        funnel: funnel(&opportunities),
        most_asked: most,
        weakest: weak,
        resume_items: resume_items(&interviews),
        current_annual_total: current.as_ref().map(|c| c.minor),
        current_currency: current.map(|c| c.currency),
        offers,
        offer_years,
        network,
        keep_in_touch: KeepInTouch {
            tracked,
            up_to_date: tracked.saturating_sub(overdue),
            overdue,
        },
    }
}

fn companies(doc: &dyn ReadJournal, interviews: &[Record]) -> Vec<CompanyStat> {
    let mut by: BTreeMap<&str, (usize, Vec<i64>, Option<Date>)> = BTreeMap::new();
    for i in interviews {
        let Some(c) = i.str("company") else { continue };
        let e = by.entry(c).or_default();
        e.0 += 1;
        e.1.extend(i.int("rating"));
        e.2 = e.2.max(start_date(i));
    }
    let mut out: Vec<CompanyStat> = by
        .into_iter()
        .map(|(id, (n, ratings, last))| CompanyStat {
            company: ref_title(doc, id),
            interviews: n,
            avg_rating: super::average(&ratings),
            last: last.map(|d| d.to_string()),
        })
        .collect();
    out.sort_by(|a, b| {
        b.interviews
            .cmp(&a.interviews)
            .then(b.last.cmp(&a.last))
            .then(a.company.cmp(&b.company))
    });
    out.truncate(10);
    out
}

fn question_trend(stat: QuestionStat, interviews: &[Record], labels: &[String]) -> QuestionTrend {
    let mut by_month: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut dated: Vec<(jiff::Timestamp, i64)> = Vec::new();
    for i in interviews {
        let Some(Some(rating)) = i.ratings("questions").get(stat.id.as_str()).copied() else {
            continue;
        };
        let Some(z) = i.str("start").and_then(stored_zoned) else {
            continue;
        };
        by_month
            .entry(month_key(z.date()))
            .or_default()
            .push(rating);
        dated.push((z.timestamp(), rating));
    }
    dated.sort();
    let trend = match dated.as_slice() {
        [first, .., last] => Some(last.1 - first.1),
        _ => None,
    };
    QuestionTrend {
        by_month: labels
            .iter()
            .map(|m| by_month.get(m).and_then(|r| super::average(r)))
            .collect(),
        trend,
        stat,
    }
}

fn offer_years(offers: &[OfferStat]) -> Vec<OfferYear> {
    let mut groups: BTreeMap<(i16, String), OfferYear> = BTreeMap::new();
    for o in offers {
        let Some(year) = o
            .received
            .as_deref()
            .and_then(stored_date)
            .map(|d| d.year())
        else {
            continue;
        };
        let currency = o.currency.clone().unwrap_or_else(|| "?".into());
        let g = groups
            .entry((year, currency.clone()))
            .or_insert_with(|| OfferYear {
                year,
                currency,
                offers: 0,
                best_total: None,
                best_vs_current_pct: None,
            });
        g.offers += 1;
        g.best_total = g.best_total.max(o.annual_total);
        if let Some(p) = o.vs_current_pct {
            g.best_vs_current_pct = Some(g.best_vs_current_pct.map_or(p, |b: f64| b.max(p)));
        }
    }
    groups.into_values().collect()
}

/// The network month by month, and how many contacts were first met in
/// the period.
fn network(
    doc: &dyn ReadJournal,
    interviews: &[Record],
    labels: &[String],
    period: Period,
) -> (Vec<NetworkMonth>, usize) {
    let contacts = doc.live(Kind::Contact);
    let mut met_in: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // When each contact was first met: recorded, or in an interview before that.
    let mut first: BTreeMap<&str, Option<Date>> = BTreeMap::new();
    for c in &contacts {
        first.insert(c.id.as_str(), created(c));
        if let Some(d) = c.str("last_contacted").and_then(stored_date) {
            met_in
                .entry(c.id.as_str())
                .or_default()
                .insert(month_key(d));
        }
    }
    for i in interviews {
        let Some(d) = start_date(i) else { continue };
        if d > period.to {
            continue;
        }
        for c in i.set("interviewers") {
            if let Some((id, when)) = first.get_key_value(c) {
                let id: &str = id;
                let earliest = when.map_or(d, |w| w.min(d));
                first.insert(id, Some(earliest));
                met_in.entry(id).or_default().insert(month_key(d));
            }
        }
    }
    let first_met: BTreeMap<&str, Date> = first
        .into_iter()
        .filter_map(|(id, d)| d.map(|d| (id, d)))
        .collect();
    // Each contact's first month, once, and the months each was in touch
    // (met that month counts): then one pass per month.
    let mut met_per: BTreeMap<String, usize> = BTreeMap::new();
    let mut touch_per: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, d) in &first_met {
        let first = month_key(*d);
        let mut months = met_in.remove(id).unwrap_or_default();
        months.insert(first.clone());
        for m in labels.iter().filter(|m| months.contains(m.as_str())) {
            *touch_per.entry(m.as_str()).or_default() += 1;
        }
        *met_per.entry(first).or_default() += 1;
    }
    let mut out = Vec::with_capacity(labels.len());
    for m in labels {
        out.push(NetworkMonth {
            month: m.clone(),
            met: met_per.get(m).copied().unwrap_or(0),
            in_touch: touch_per.get(m.as_str()).copied().unwrap_or(0),
            // Months sort as text: `YYYY-MM`.
            total: met_per.range(..=m.clone()).map(|(_, n)| n).sum(),
        });
    }
    let contacts_met = first_met.values().filter(|d| period.contains(**d)).count();
    (out, contacts_met)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::VaultDoc;
    use serde_json::{json, Map};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn since_reads_dates_months_and_spans() {
        let today = d("2026-11-20");
        assert_eq!(parse_since("2025-06-03", today).unwrap(), d("2025-06-03"));
        assert_eq!(parse_since("2025-06", today).unwrap(), d("2025-06-01"));
        assert_eq!(parse_since("6m", today).unwrap(), d("2026-05-20"));
        assert_eq!(parse_since("6 months", today).unwrap(), d("2026-05-20"));
        assert_eq!(parse_since("2y", today).unwrap(), d("2024-11-20"));
        assert_eq!(parse_since("90d", today).unwrap(), d("2026-08-22"));
        for bad in ["", "soon", "6 fortnights", "2025-13", "m", "99999999999m"] {
            assert!(
                matches!(parse_since(bad, today), Err(ReportError::BadSince { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn periods_cover_whole_months_and_refuse_the_future() {
        let today = d("2026-11-20");
        let p = Period::last_months(today, 12);
        assert_eq!(p.from, d("2025-12-01"));
        let keys = p.month_keys();
        assert_eq!(keys.len(), 12);
        assert_eq!(
            (keys[0].as_str(), keys[11].as_str()),
            ("2025-12", "2026-11")
        );
        assert_eq!(
            Period::since(d("2026-11-19"), today).unwrap().month_keys(),
            ["2026-11"]
        );
        assert!(matches!(
            Period::since(d("2026-12-01"), today),
            Err(ReportError::SinceInFuture { .. })
        ));
        assert!(matches!(
            Period::since(d("1990-01-01"), today),
            Err(ReportError::TooLong { .. })
        ));
    }

    #[test]
    fn an_empty_vault_gives_a_full_report_of_zeros() {
        let doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let now: Zoned = "2026-11-20T12:00:00+00:00[UTC]".parse().unwrap();
        let r = build(&doc, &now, Period::last_months(now.date(), 12));
        assert_eq!(r.months.len(), 12);
        assert_eq!(r.network.len(), 12);
        assert!(r.months.iter().all(|m| m.interviews == 0));
        assert!(r.offers.is_empty() && r.funnel.is_empty() && r.most_asked.is_empty());
        assert_eq!(r.totals.interviews, 0);
    }

    #[test]
    fn the_period_limits_what_is_counted() {
        let mut doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        doc.update_profile(&obj(json!({"monthly_goal": 1, "comp": {"currency": "EUR", "base": 10_000_000, "period": "year"}, "rate:USD:EUR": "0.5"})))
            .unwrap();
        // Ana was recorded in 2026 but first met in a 2024 interview.
        let ana = doc
            .create(
                Kind::Contact,
                &obj(json!({"name": "Ana", "created_at": "2026-01-05T10:00:00+00:00[UTC]"})),
            )
            .unwrap();
        doc.create(
            Kind::Contact,
            &obj(json!({"name": "Bo", "created_at": "2026-01-07T10:00:00+00:00[UTC]"})),
        )
        .unwrap();
        let q = doc
            .create(Kind::Question, &obj(json!({"wording": "Why us?"})))
            .unwrap();
        for (start, rating, q_rating) in [
            ("2024-03-02T10:00:00+00:00[UTC]", 1, 1), // before the period
            ("2026-09-02T10:00:00+00:00[UTC]", 2, 2),
            ("2026-11-02T10:00:00+00:00[UTC]", 4, 5),
        ] {
            doc.create(
                Kind::Interview,
                &obj(json!({"start": start, "rating": rating, "questions": {q.clone(): q_rating},
                    "interviewers": {ana.clone(): true}, "resume_items": {"Kafka migration": true}})),
            )
            .unwrap();
        }
        doc.create(
            Kind::Offer,
            &obj(json!({"received": "2026-10-01", "comp": {"currency": "USD", "base": 30_000_000, "period": "year"}})),
        )
        .unwrap();
        doc.create(
            Kind::Offer,
            &obj(json!({"received": "2023-10-01", "comp": {"currency": "EUR", "base": 1, "period": "year"}})),
        )
        .unwrap();
        let now: Zoned = "2026-11-20T12:00:00+00:00[UTC]".parse().unwrap();
        let r = build(&doc, &now, Period::last_months(now.date(), 12));
        assert_eq!(r.totals.interviews, 2);
        assert_eq!(r.totals.months_on_goal, Some(2));
        assert!(r.companies.is_empty(), "these interviews name no company");
        assert_eq!(r.resume_items[0].probed, 2);
        let q = &r.most_asked[0];
        assert_eq!(q.stat.asked, 2);
        assert_eq!(q.trend, Some(3), "rated 2 then 5");
        assert_eq!(q.by_month.iter().flatten().count(), 2);
        assert_eq!(r.offers.len(), 1);
        assert_eq!(r.offers[0].converted_total, Some(15_000_000));
        assert_eq!(r.offers[0].vs_current_pct, Some(50.0));
        assert_eq!(r.offer_years.len(), 1);
        assert_eq!(
            (r.offer_years[0].year, r.offer_years[0].currency.as_str()),
            (2026, "USD")
        );
        let jan = r.network.iter().find(|m| m.month == "2026-01").unwrap();
        assert_eq!((jan.met, jan.in_touch, jan.total), (1, 1, 2));
        let nov = r.network.iter().find(|m| m.month == "2026-11").unwrap();
        assert_eq!((nov.met, nov.in_touch, nov.total), (0, 1, 2));
        assert_eq!(r.totals.contacts_met, 1);
    }
}
