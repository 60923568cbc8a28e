//! A period of the journal as one self-contained HTML page
//! (`interlog report`).
//!
//! The page must be safe to open anywhere and to hand to someone:
//! - it makes no network request: no script, font, image or stylesheet is
//!   fetched; the charts are inline SVG ([`super::svg`]) and the styles are
//!   inline. A Content-Security-Policy of `default-src 'none'` says so to the
//!   browser too, so even a mistake here could not fetch anything;
//! - every string from the journal is escaped: a company may be named
//!   `<script>`;
//! - it reads on a phone (viewport, fluid charts, tables that scroll on
//!   their own) and prints (no dark backgrounds, sections kept whole).
//!
//! Rendering is a pure function of a [`PeriodReport`], so a report with
//! nothing in it renders as a page of "no data yet" charts, not an error.

use std::fmt::Write as _;

use jiff::Zoned;

use super::period::{build, Period, PeriodReport, QuestionTrend};
use super::svg::{self, escape, HBar, Stage};
use super::{Month, OfferStat};
use crate::doc::ReadJournal;
use crate::model::Money;

/// The page for `period` of `doc`, as of `now`.
pub fn page(doc: &dyn ReadJournal, now: &Zoned, period: Period) -> String {
    render(&build(doc, now, period))
}

const STYLE: &str = r#"
:root { --ink: #1f2430; --muted: #5b6272; --line: #e3e6ec; --accent: #2f62d0; --accent2: #9bb3ea; --goal: #d9822b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 980px; padding: 16px; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.2em; margin: 0 0 0.5em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1em 0 0.3em; color: var(--muted); }
header p { margin: 0.2em 0; color: var(--muted); }
section { margin: 1.6em 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 8px; margin-top: 1em; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.tile b { display: block; font-size: 1.5em; }
.tile span { color: var(--muted); font-size: 0.85em; }
svg.chart { width: 100%; height: auto; display: block; }
svg.spark { width: 100px; height: 20px; vertical-align: middle; }
.bar { fill: var(--accent); }
.bar.muted { fill: var(--accent2); }
.series { fill: none; stroke: var(--accent); stroke-width: 2.5; stroke-linejoin: round; }
svg.spark .series { stroke-width: 1.8; }
.point { fill: var(--accent); }
.grid { stroke: var(--line); stroke-width: 1; }
.target { stroke: var(--goal); stroke-width: 2; stroke-dasharray: 6 4; }
.label { font-size: 12px; fill: var(--muted); }
.target-label { fill: var(--goal); }
.frame { fill: #f7f8fa; stroke: var(--line); }
.nodata { font-size: 15px; fill: #8a90a0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #1d7a3e; } .down { color: #b3261e; }
.note, .none { color: var(--muted); font-size: 0.9em; }
footer { margin-top: 2em; color: var(--muted); font-size: 0.85em; border-top: 1px solid var(--line); padding-top: 0.5em; }
@media (max-width: 520px) { body { padding: 10px; font-size: 14px; } th, td { padding: 3px 5px; } }
@media print {
  @page { margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; }
}
"#;

/// Renders the page. Pure: the same report gives the same bytes.
pub fn render(r: &PeriodReport) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Interview journal, {} to {}", r.from, r.to);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    header(&mut h, r);
    interviews(&mut h, r);
    rating(&mut h, r);
    funnel(&mut h, r);
    offers(&mut h, r);
    questions(&mut h, r);
    resume(&mut h, r);
    network(&mut h, r);
    let _ = write!(
        h,
        "<footer>Made {} from this device's journal. This page loads nothing from the network.</footer>\n</body>\n</html>\n",
        escape(&r.generated)
    );
    h
}

/// "Nov", with the year on the first month and every January ("Jan 26").
fn month_label(key: &str, first: bool) -> String {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some((y, m)) = key.split_once('-') else {
        return key.to_string();
    };
    let Some(name) = m
        .parse::<usize>()
        .ok()
        .and_then(|m| NAMES.get(m.wrapping_sub(1)))
    else {
        return key.to_string();
    };
    if first || m == "01" {
        format!("{name} {}", y.get(2..).unwrap_or(y))
    } else {
        name.to_string()
    }
}

fn month_labels<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    keys.enumerate()
        .map(|(i, k)| month_label(k, i == 0))
        .collect()
}

fn labels(months: &[Month]) -> Vec<String> {
    month_labels(months.iter().map(|m| m.month.as_str()))
}

fn tile(h: &mut String, value: &str, what: &str) {
    let _ = write!(
        h,
        "<div class=\"tile\"><b>{}</b><span>{}</span></div>",
        escape(value),
        escape(what)
    );
}

fn header(h: &mut String, r: &PeriodReport) {
    let _ = write!(
        h,
        "<header>\n<h1>Interview journal</h1>\n<p>{} to {}</p>\n<div class=\"tiles\">",
        escape(&r.from),
        escape(&r.to)
    );
    let t = &r.totals;
    tile(h, &t.interviews.to_string(), "interviews");
    tile(
        h,
        &t.avg_rating.map_or("–".into(), |a| format!("{a:.1}")),
        "average self-rating",
    );
    if let (Some(on), Some(goal)) = (t.months_on_goal, r.goal) {
        tile(
            h,
            &format!("{on} of {}", r.months.len()),
            &format!("months at the goal of {goal}"),
        );
    }
    tile(h, &t.opportunities.to_string(), "opportunities");
    tile(h, &t.offers.to_string(), "offers");
    tile(h, &t.contacts_met.to_string(), "contacts met");
    h.push_str("</div>\n</header>\n");
}

fn section(h: &mut String, id: &str, title: &str) {
    let _ = write!(h, "<section id=\"{id}\">\n<h2>{}</h2>\n", escape(title));
}

fn interviews(h: &mut String, r: &PeriodReport) {
    section(h, "interviews", "Interviews per month");
    let values: Vec<f64> = r.months.iter().map(|m| m.interviews as f64).collect();
    h.push_str(&svg::bars(
        "Interviews per month",
        &labels(&r.months),
        &values,
        r.goal.map(|g| g as f64),
    ));
    match r.goal {
        Some(g) => {
            let _ = writeln!(
                h,
                "<p class=\"note\">The dashed line is your goal of {g} a month.</p>"
            );
        }
        None => h.push_str(
            "<p class=\"note\">No monthly goal set: <code>interlog profile set --goal 4</code> draws one.</p>\n",
        ),
    }
    if !r.companies.is_empty() {
        h.push_str("<h3>Where you interviewed</h3>\n<div class=\"scroll\"><table>\n<tr><th>company</th><th class=\"n\">interviews</th><th class=\"n\">avg rating</th><th>last</th></tr>\n");
        for c in &r.companies {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&c.company),
                c.interviews,
                c.avg_rating.map(|a| format!("{a:.1}")).unwrap_or_default(),
                escape(c.last.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table></div>\n");
    }
    h.push_str("</section>\n");
}

fn rating(h: &mut String, r: &PeriodReport) {
    section(h, "rating", "Self-rating, month by month");
    let values: Vec<Option<f64>> = r.months.iter().map(|m| m.avg_rating).collect();
    h.push_str(&svg::line(
        "Average self-rating per month (1 to 5)",
        &labels(&r.months),
        &values,
        Some((1.0, 5.0)),
    ));
    h.push_str("<p class=\"note\">The average of each month's rated interviews, from 1 to 5; a gap is a month with none rated.</p>\n</section>\n");
}

fn funnel(h: &mut String, r: &PeriodReport) {
    section(h, "funnel", "Funnel by source and stage");
    let totals: Vec<usize> = r
        .funnel_stages
        .iter()
        .map(|s| {
            r.funnel
                .iter()
                .map(|f| f.reached.get(s).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let stages: Vec<Stage> = r
        .funnel_stages
        .iter()
        .zip(&totals)
        .map(|(name, count)| Stage {
            name,
            count: *count,
        })
        .collect();
    h.push_str(&svg::funnel(
        "How far opportunities got, all sources",
        &stages,
    ));
    if r.funnel.is_empty() {
        h.push_str("<p class=\"none\">No opportunities moved in this period.</p>\n");
    } else {
        h.push_str("<h3>By source: how many reached each stage</h3>\n<div class=\"scroll\"><table>\n<tr><th>source</th>");
        for s in &r.funnel_stages {
            let _ = write!(h, "<th class=\"n\">{}</th>", escape(s));
        }
        h.push_str("</tr>\n");
        for f in &r.funnel {
            let _ = write!(h, "<tr><td>{}</td>", escape(&f.source.replace('_', " ")));
            for s in &r.funnel_stages {
                let _ = write!(
                    h,
                    "<td class=\"n\">{}</td>",
                    f.reached.get(s).copied().unwrap_or(0)
                );
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table></div>\n");
    }
    h.push_str("</section>\n");
}

fn money(minor: i64, currency: &str) -> String {
    Money {
        minor,
        currency: currency.to_string(),
    }
    .to_string()
}

/// A message written for the terminal, escaped, with its `commands` as code.
fn prose(s: &str) -> String {
    escape(s)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

fn offer_name(o: &OfferStat) -> String {
    let company = o.company.clone().unwrap_or_else(|| "offer".into());
    match &o.level {
        Some(l) => format!("{company} ({l})"),
        None => company,
    }
}

fn pct(p: Option<f64>) -> String {
    match p {
        Some(p) if p > 0.0 => format!("<span class=\"up\">{p:+.1}%</span>"),
        Some(p) if p < 0.0 => format!("<span class=\"down\">{p:+.1}%</span>"),
        Some(_) => "±0%".into(),
        None => String::new(),
    }
}

fn offers(h: &mut String, r: &PeriodReport) {
    section(h, "offers", "Offers against your current package");
    let current = match (r.current_annual_total, &r.current_currency) {
        (Some(minor), Some(c)) => Some((minor, c.as_str())),
        _ => None,
    };
    match current {
        Some((minor, c)) => {
            let _ = writeln!(
                h,
                "<p>Your current package: <b>{}</b> a year.</p>",
                escape(&money(minor, c))
            );
        }
        None => h.push_str("<p class=\"note\">Your own package is not set, so offers are not compared: <code>interlog profile set --base 120k --currency EUR</code>.</p>\n"),
    }
    // One chart in your currency (offers in it, and others at your rates),
    // and one per currency that has no rate.
    let mut charts: Vec<(String, Vec<HBar>)> = Vec::new();
    for o in &r.offers {
        let (Some(total), Some(cur)) = (o.annual_total, o.currency.as_deref()) else {
            continue;
        };
        let (value, chart_currency, text, muted) = match (current, o.converted_total) {
            (Some((_, c)), _) if c == cur => (total, c, money(total, cur), false),
            (Some((_, c)), Some(conv)) => (conv, c, format!("≈ {}", money(conv, c)), true),
            _ => (total, cur, money(total, cur), false),
        };
        let bar = HBar {
            label: offer_name(o),
            value: value as f64,
            text,
            muted,
        };
        match charts.iter_mut().find(|(c, _)| c == chart_currency) {
            Some((_, bars)) => bars.push(bar),
            None => charts.push((chart_currency.to_string(), vec![bar])),
        }
    }
    if charts.is_empty() {
        h.push_str(&svg::empty("Offers"));
    }
    for (cur, bars) in &charts {
        let reference = current
            .filter(|(_, c)| c == cur)
            .map(|(minor, _)| ("you now", minor as f64));
        let _ = writeln!(h, "<h3>Packages a year, in {}</h3>", escape(cur));
        h.push_str(&svg::hbars(
            &format!("Offers a year in {cur}"),
            bars,
            reference,
        ));
    }
    if r.offers.iter().any(|o| o.rate.is_some()) {
        h.push_str("<p class=\"note\">Lighter bars are in another currency, converted at the rate set in your profile.</p>\n");
    }
    if !r.offer_years.is_empty() {
        h.push_str("<h3>Per year and currency</h3>\n<div class=\"scroll\"><table>\n<tr><th>year</th><th>currency</th><th class=\"n\">offers</th><th class=\"n\">best package</th><th class=\"n\">best vs current</th></tr>\n");
        for y in &r.offer_years {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                y.year,
                escape(&y.currency),
                y.offers,
                y.best_total.map(|t| escape(&money(t, &y.currency))).unwrap_or_default(),
                pct(y.best_vs_current_pct)
            );
        }
        h.push_str("</table></div>\n");
    }
    if !r.offers.is_empty() {
        h.push_str("<h3>Each offer</h3>\n<div class=\"scroll\"><table>\n<tr><th>company</th><th>received</th><th>level</th><th class=\"n\">vs you</th><th class=\"n\">package a year</th><th class=\"n\">vs current</th><th>decision</th></tr>\n");
        for o in &r.offers {
            let total = match (o.annual_total, &o.currency) {
                (Some(t), Some(c)) => money(t, c),
                _ => String::new(),
            };
            let vs = match (&o.rate, &o.not_compared) {
                (Some(rate), _) => format!(
                    "{} <span class=\"note\">at {}</span>",
                    pct(o.vs_current_pct),
                    escape(rate)
                ),
                (None, Some(why)) => {
                    format!("<span class=\"note\">not compared: {}</span>", prose(why))
                }
                _ => pct(o.vs_current_pct),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{vs}</td><td>{}</td></tr>",
                escape(o.company.as_deref().unwrap_or("")),
                escape(o.received.as_deref().unwrap_or("")),
                escape(o.level.as_deref().unwrap_or("")),
                o.level_delta.map(|d| format!("{d:+}")).unwrap_or_default(),
                escape(&total),
                escape(o.decision.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table></div>\n");
    } else {
        h.push_str("<p class=\"none\">No offers in this period.</p>\n");
    }
    h.push_str("</section>\n");
}

fn trend_cell(q: &QuestionTrend) -> String {
    let spark = svg::sparkline(&q.by_month, (1.0, 5.0));
    let arrow = match q.trend {
        Some(t) if t > 0 => format!("<span class=\"up\">▲ {t:+}</span>"),
        Some(t) if t < 0 => format!("<span class=\"down\">▼ {t:+}</span>"),
        Some(_) => "steady".into(),
        None => String::new(),
    };
    format!("{spark} {arrow}")
}

fn question_table(h: &mut String, title: &str, list: &[QuestionTrend]) {
    let _ = writeln!(h, "<h3>{}</h3>", escape(title));
    if list.is_empty() {
        h.push_str("<p class=\"none\">No questions recorded yet: <code>interlog retro ID</code> records them.</p>\n");
        return;
    }
    h.push_str("<div class=\"scroll\"><table>\n<tr><th>question</th><th class=\"n\">asked</th><th class=\"n\">avg rating</th><th>trend</th></tr>\n");
    for q in list {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&q.stat.wording),
            q.stat.asked,
            q.stat
                .avg_rating
                .map(|a| format!("{a:.1}"))
                .unwrap_or_default(),
            trend_cell(q)
        );
    }
    h.push_str("</table></div>\n");
}

fn questions(h: &mut String, r: &PeriodReport) {
    section(h, "questions", "Questions: most asked and weakest");
    let bars: Vec<HBar> = r
        .most_asked
        .iter()
        .map(|q| HBar {
            label: q.stat.wording.clone(),
            value: q.stat.asked as f64,
            text: format!("asked {}×", q.stat.asked),
            muted: false,
        })
        .collect();
    h.push_str(&svg::hbars("Most asked questions", &bars, None));
    question_table(h, "Most asked", &r.most_asked);
    question_table(h, "Weakest (lowest average rating)", &r.weakest);
    h.push_str("<p class=\"note\">The trend line is each month's average rating of your answer; the arrow is the last rating against the first.</p>\n</section>\n");
}

fn resume(h: &mut String, r: &PeriodReport) {
    section(h, "resume", "Resume items interviewers probed most");
    let bars: Vec<HBar> = r
        .resume_items
        .iter()
        .map(|i| HBar {
            label: i.item.clone(),
            value: i.probed as f64,
            text: format!(
                "{} interview{}",
                i.probed,
                if i.probed == 1 { "" } else { "s" }
            ),
            muted: false,
        })
        .collect();
    h.push_str(&svg::hbars("Resume items probed", &bars, None));
    if !r.resume_items.is_empty() {
        h.push_str("<div class=\"scroll\"><table>\n<tr><th>item</th><th class=\"n\">interviews</th><th class=\"n\">companies</th><th>last</th><th class=\"n\">avg rating</th></tr>\n");
        for i in &r.resume_items {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&i.item),
                i.probed,
                i.companies,
                escape(i.last.as_deref().unwrap_or("")),
                i.avg_rating.map(|a| format!("{a:.1}")).unwrap_or_default()
            );
        }
        h.push_str("</table></div>\n");
    }
    h.push_str("</section>\n");
}

fn network(h: &mut String, r: &PeriodReport) {
    section(h, "network", "How your network grew");
    let labels = month_labels(r.network.iter().map(|m| m.month.as_str()));
    let met: Vec<f64> = r.network.iter().map(|m| m.met as f64).collect();
    let total: Vec<Option<f64>> = r
        .network
        .iter()
        .map(|m| (m.total > 0).then_some(m.total as f64))
        .collect();
    let touch: Vec<Option<f64>> = r.network.iter().map(|m| Some(m.in_touch as f64)).collect();
    h.push_str("<h3>Contacts met per month</h3>");
    h.push_str(&svg::bars("Contacts met per month", &labels, &met, None));
    h.push_str("<h3>Contacts known</h3>");
    h.push_str(&svg::line(
        "Contacts known, month by month",
        &labels,
        &total,
        None,
    ));
    h.push_str("\n<h3>Contacts in touch per month</h3>");
    let touch = if touch.iter().flatten().all(|v| *v == 0.0) {
        Vec::new()
    } else {
        touch
    };
    h.push_str(&svg::line(
        "Contacts in touch per month",
        &labels,
        &touch,
        None,
    ));
    let k = &r.keep_in_touch;
    if k.tracked == 0 {
        h.push_str("<p class=\"note\">No contact has a keep-in-touch interval: <code>interlog contact edit NAME --set keep_in_touch_days=90</code> sets one.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<p>Of the {} contacts you keep in touch with, <b>{}</b> are up to date and <b>{}</b> are overdue (<code>interlog today</code> lists them).</p>",
            k.tracked, k.up_to_date, k.overdue
        );
    }
    h.push_str("<p class=\"note\">In touch: met, seen in an interview, or marked with <code>interlog contact touched</code> that month (only the last touch of each contact is kept).</p>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::VaultDoc;
    use crate::model::Kind;
    use serde_json::{json, Map, Value};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn now() -> Zoned {
        "2026-11-20T12:00:00+00:00[UTC]".parse().unwrap()
    }

    #[test]
    fn an_empty_journal_is_a_valid_page_of_empty_charts() {
        let doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let html = page(&doc, &now(), Period::last_months(now().date(), 12));
        let body = &html[html.find("<body>").unwrap()..];
        crate::report::svg::tests::well_formed(body.trim_end().trim_end_matches("</html>"));
        assert!(html.contains("no data yet"));
        assert!(html.contains("name=\"viewport\""));
        assert!(html.contains("@media print"));
    }

    #[test]
    fn user_text_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>";
        let mut doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let company = doc
            .create(Kind::Company, &obj(json!({"name": evil})))
            .unwrap();
        let q = doc
            .create(Kind::Question, &obj(json!({"wording": evil})))
            .unwrap();
        doc.create(
            Kind::Interview,
            &obj(
                json!({"company": company, "start": "2026-11-02T10:00:00+00:00[UTC]", "rating": 3,
                "questions": {q: 2}, "resume_items": {evil: true}}),
            ),
        )
        .unwrap();
        doc.create(
            Kind::Offer,
            &obj(
                json!({"company": company, "level": evil, "received": "2026-11-03",
                "comp": {"currency": "EUR", "base": 100, "period": "year"}}),
            ),
        )
        .unwrap();
        doc.create(
            Kind::Opportunity,
            &obj(json!({"company": company, "source": evil, "stages": {}})),
        )
        .unwrap();
        let html = page(&doc, &now(), Period::last_months(now().date(), 12));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let body = &html[html.find("<body>").unwrap()..];
        crate::report::svg::tests::well_formed(body.trim_end().trim_end_matches("</html>"));
    }

    #[test]
    fn the_page_fetches_nothing() {
        let doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let html = page(&doc, &now(), Period::last_months(now().date(), 12));
        assert!(html.contains("default-src 'none'"));
        for needle in [
            "src=", "href=", "url(", "@import", "<script", "<link", "<img",
        ] {
            assert!(!html.contains(needle), "{needle}");
        }
        // The SVG namespace is a name, not a fetch; nothing else names a URL.
        let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    }

    #[test]
    fn terminal_messages_show_commands_as_code() {
        assert_eq!(
            prose("run `interlog x <y>` now"),
            "run <code>interlog x &lt;y&gt;</code> now"
        );
        assert_eq!(prose("a `lone tick"), "a <code>lone tick</code>");
    }

    #[test]
    fn month_labels_carry_the_year_where_it_changes() {
        let l = month_labels(["2025-12", "2026-01", "2026-02"].into_iter());
        assert_eq!(l, ["Dec 25", "Jan 26", "Feb"]);
        assert_eq!(month_label("junk", false), "junk");
    }
}
