//! Charts as inline SVG, for the HTML report (`interlog report`).
//!
//! The report must make no network request and print well, so its charts
//! are plain SVG text written here rather than a plotting crate's output
//! or a script. Every chart:
//! - is well-formed XML that draws at any width (a `viewBox`, no fixed size);
//! - escapes every string it is given (a company may be named `<script>`);
//! - scales its values into the plot and never divides by zero, NaN or an
//!   infinite value: a series with nothing to draw becomes a "no data yet" box;
//! - says how many data marks it drew in `data-marks`, so a test (or a
//!   reader of the HTML) can tell an empty chart from a drawn one.

use std::fmt::Write as _;

/// The width of every chart's coordinate system; the page scales it.
const W: f64 = 640.0;
/// Room for the value axis on the left and labels at the bottom.
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 28.0;

/// Text made safe for HTML and XML, in text and in attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed
            // in XML at all.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for an SVG attribute: one decimal, no `-0.0`, never NaN.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A value for a label: whole numbers without decimals.
fn label_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn open(title: &str, height: f64, marks: usize, class: &str) -> String {
    let t = escape(title);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {class}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{t}\" data-marks=\"{marks}\"><title>{t}</title>",
        num(W),
        num(height)
    )
}

/// The box a chart with nothing to draw shows instead.
pub fn empty(title: &str) -> String {
    let h = 80.0;
    let mut s = open(title, h, 0, "empty");
    let _ = write!(
        s,
        "<rect x=\"1\" y=\"1\" width=\"{}\" height=\"{}\" rx=\"6\" class=\"frame\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"nodata\">no data yet</text></svg>",
        num(W - 2.0),
        num(h - 2.0),
        num(W / 2.0),
        num(h / 2.0 + 5.0)
    );
    s
}

/// Which of `n` labels to print so they do not overlap: all up to 12, then
/// every k-th.
fn label_every(n: usize) -> usize {
    n.div_ceil(12).max(1)
}

fn x_labels(s: &mut String, labels: &[String], x_of: impl Fn(usize) -> f64, y: f64) {
    let every = label_every(labels.len());
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"label\">{}</text>",
                num(x_of(i)),
                num(y),
                escape(l)
            );
        }
    }
}

fn y_axis(s: &mut String, lo: f64, hi: f64, y_of: impl Fn(f64) -> f64, ticks: &[f64]) {
    for t in ticks {
        if *t < lo || *t > hi {
            continue;
        }
        let y = y_of(*t);
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"grid\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>",
            num(LEFT),
            num(y),
            num(W - RIGHT),
            num(y),
            num(LEFT - 6.0),
            num(y + 4.0),
            label_num(*t)
        );
    }
}

/// Up to five round ticks from 0 to at least `max`.
fn ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 || !max.is_finite() {
        return vec![0.0];
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
        .max(if max <= 4.0 { 1.0 } else { 0.0 });
    (0..=((max / step).ceil() as usize).min(10))
        .map(|i| i as f64 * step)
        .collect()
}

/// A vertical bar per label (interviews per month), with an optional
/// target drawn across as a dashed line (the monthly goal).
pub fn bars(title: &str, labels: &[String], values: &[f64], target: Option<f64>) -> String {
    let n = labels.len().min(values.len());
    let values: Vec<f64> = values[..n]
        .iter()
        .map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 })
        .collect();
    let marks = values.iter().filter(|v| **v > 0.0).count();
    if n == 0 || marks == 0 && target.is_none() {
        return empty(title);
    }
    let target = target.filter(|t| t.is_finite() && *t > 0.0);
    let h = 220.0;
    let max = values
        .iter()
        .copied()
        .chain(target)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let ticks = ticks(max);
    let top = ticks.last().copied().unwrap_or(max).max(max);
    let plot_h = h - TOP - BOTTOM;
    let y_of = |v: f64| TOP + plot_h - v / top * plot_h;
    let slot = (W - LEFT - RIGHT) / n as f64;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut s = open(title, h, marks, "bars");
    y_axis(&mut s, 0.0, top, y_of, &ticks);
    for (i, v) in values.iter().enumerate() {
        if *v <= 0.0 {
            continue;
        }
        let bw = (slot * 0.7).max(1.0);
        let y = y_of(*v);
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"bar\"><title>{}: {}</title></rect>",
            num(x_of(i) - bw / 2.0),
            num(y),
            num(bw),
            num(TOP + plot_h - y),
            escape(&labels[i]),
            label_num(*v)
        );
    }
    if let Some(t) = target {
        let y = y_of(t);
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"target\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label target-label\">goal {}</text>",
            num(LEFT),
            num(y),
            num(W - RIGHT),
            num(y),
            num(W - RIGHT),
            num(y - 4.0),
            label_num(t)
        );
    }
    x_labels(&mut s, &labels[..n], x_of, h - 8.0);
    s.push_str("</svg>");
    s
}

/// A line through the labels that have a value, broken where one has none
/// (a month without a rated interview). `range` fixes the value axis (1 to
/// 5 for ratings); without it the axis runs from 0 to the largest value.
pub fn line(
    title: &str,
    labels: &[String],
    values: &[Option<f64>],
    range: Option<(f64, f64)>,
) -> String {
    let n = labels.len().min(values.len());
    let values: Vec<Option<f64>> = values[..n]
        .iter()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect();
    let marks = values.iter().flatten().count();
    if marks == 0 {
        return empty(title);
    }
    let h = 200.0;
    let (lo, hi) = match range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && hi > lo => (lo, hi),
        _ => {
            let max = values
                .iter()
                .flatten()
                .copied()
                .fold(0.0f64, f64::max)
                .max(1.0);
            (0.0, ticks(max).last().copied().unwrap_or(max).max(max))
        }
    };
    let plot_h = h - TOP - BOTTOM;
    let y_of = |v: f64| TOP + plot_h - (v.clamp(lo, hi) - lo) / (hi - lo) * plot_h;
    let slot = (W - LEFT - RIGHT) / n as f64;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut s = open(title, h, marks, "line");
    let tick_values: Vec<f64> = if range.is_some() {
        (lo.ceil() as i64..=hi.floor() as i64)
            .map(|t| t as f64)
            .collect()
    } else {
        ticks(hi)
    };
    y_axis(&mut s, lo, hi, y_of, &tick_values);
    // One path, with a new segment after each gap.
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    num(x_of(i)),
                    num(y_of(*v))
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let _ = write!(s, "<path d=\"{}\" class=\"series\"/>", d.trim_end());
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"4\" class=\"point\"><title>{}: {}</title></circle>",
                num(x_of(i)),
                num(y_of(*v)),
                escape(&labels[i]),
                label_num(*v)
            );
        }
    }
    x_labels(&mut s, &labels[..n], x_of, h - 8.0);
    s.push_str("</svg>");
    s
}

/// One funnel stage: its name and how many reached it.
pub struct Stage<'a> {
    pub name: &'a str,
    pub count: usize,
}

/// Stages as centred bars whose width is the share of the first stage that
/// reached them.
pub fn funnel(title: &str, stages: &[Stage]) -> String {
    let first = stages.first().map_or(0, |s| s.count);
    let max = stages.iter().map(|s| s.count).max().unwrap_or(0);
    if stages.is_empty() || max == 0 {
        return empty(title);
    }
    let row = 28.0;
    let h = TOP + row * stages.len() as f64 + 4.0;
    let label_w = 110.0;
    let plot_w = W - label_w - 70.0;
    let centre = label_w + plot_w / 2.0;
    let marks = stages.iter().filter(|s| s.count > 0).count();
    let mut s = open(title, h, marks, "funnel");
    for (i, st) in stages.iter().enumerate() {
        let y = TOP + row * i as f64;
        let w = st.count as f64 / max as f64 * plot_w;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>",
            num(label_w - 8.0),
            num(y + row / 2.0 + 4.0),
            escape(st.name)
        );
        if st.count > 0 {
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"bar\"><title>{}: {}</title></rect>",
                num(centre - w / 2.0),
                num(y + 3.0),
                num(w.max(2.0)),
                num(row - 6.0),
                escape(st.name),
                st.count
            );
        }
        let pct = if first > 0 {
            format!(
                " ({}%)",
                (st.count as f64 / first as f64 * 100.0).round() as i64
            )
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"label\">{}{}</text>",
            num(label_w + plot_w + 6.0),
            num(y + row / 2.0 + 4.0),
            st.count,
            if i == 0 { String::new() } else { pct }
        );
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar: what it is, its value, and the value as text
/// ("132,000 EUR").
pub struct HBar {
    pub label: String,
    pub value: f64,
    pub text: String,
    /// Drawn in a second colour (an offer compared at a rate, say).
    pub muted: bool,
}

/// A horizontal bar per row, with an optional reference drawn as a line
/// down the chart (the current package).
pub fn hbars(title: &str, rows: &[HBar], reference: Option<(&str, f64)>) -> String {
    let rows: Vec<&HBar> = rows.iter().filter(|r| r.value.is_finite()).collect();
    let marks = rows.iter().filter(|r| r.value > 0.0).count();
    if marks == 0 {
        return empty(title);
    }
    let reference = reference.filter(|(_, v)| v.is_finite() && *v > 0.0);
    let row = 26.0;
    let extra = if reference.is_some() { 18.0 } else { 0.0 };
    let h = TOP + extra + row * rows.len() as f64 + 6.0;
    let label_w = 170.0;
    let text_w = 140.0;
    let plot_w = W - label_w - text_w - RIGHT;
    let max = rows
        .iter()
        .map(|r| r.value)
        .chain(reference.map(|(_, v)| v))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let x_of = |v: f64| label_w + v.max(0.0) / max * plot_w;
    let mut s = open(title, h, marks, "hbars");
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + extra + row * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>",
            num(label_w - 8.0),
            num(y + row / 2.0 + 4.0),
            escape(&truncate(&r.label, 26))
        );
        if r.value > 0.0 {
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"bar{}\"><title>{}: {}</title></rect>",
                num(label_w),
                num(y + 4.0),
                num((x_of(r.value) - label_w).max(2.0)),
                num(row - 8.0),
                if r.muted { " muted" } else { "" },
                escape(&r.label),
                escape(&r.text)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>",
            num(x_of(r.value) + 6.0),
            num(y + row / 2.0 + 4.0),
            escape(&r.text)
        );
    }
    if let Some((name, v)) = reference {
        let x = x_of(v);
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"target\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"label target-label\">{}</text>",
            num(x),
            num(TOP + extra - 2.0),
            num(x),
            num(h - 4.0),
            num(x),
            num(TOP + extra - 6.0),
            escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A word-sized line chart for a table cell (a question's ratings month by
/// month); nothing to draw gives an empty string.
pub fn sparkline(values: &[Option<f64>], range: (f64, f64)) -> String {
    let points: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|v| (i, v)))
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (100.0, 20.0, 3.0);
    let (lo, hi) = if range.1 > range.0 { range } else { (0.0, 1.0) };
    let step = if values.len() > 1 {
        (w - 2.0 * pad) / (values.len() - 1) as f64
    } else {
        0.0
    };
    let x_of = |i: usize| pad + step * i as f64;
    let y_of = |v: f64| pad + (h - 2.0 * pad) * (1.0 - (v.clamp(lo, hi) - lo) / (hi - lo));
    let mut d = String::new();
    for (k, (i, v)) in points.iter().enumerate() {
        let _ = write!(
            d,
            "{}{} {} ",
            if k == 0 { "M" } else { "L" },
            num(x_of(*i)),
            num(y_of(*v))
        );
    }
    let (li, lv) = points[points.len() - 1];
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"spark\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"trend\" data-marks=\"{}\"><path d=\"{}\" class=\"series\"/><circle cx=\"{}\" cy=\"{}\" r=\"2.5\" class=\"point\"/></svg>",
        num(w),
        num(h),
        points.len(),
        d.trim_end(),
        num(x_of(li)),
        num(y_of(lv))
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `s` is well-formed XML as far as these charts go:
    /// tags balance, attribute values are quoted, and no raw `<` or `&`
    /// stands in text. Returns the element names in document order.
    pub(crate) fn well_formed(s: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut rest = s;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
            let tag = &rest[lt + 1..gt];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name),
                    "mismatched </{name}> in {s}"
                );
            } else if !tag.starts_with('!') {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body
                    .split_whitespace()
                    .next()
                    .expect("tag name")
                    .to_string();
                check_attributes(body[name.len()..].trim());
                names.push(name.clone());
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[gt + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed {stack:?} in {s}");
        names
    }

    fn check_text(t: &str) {
        assert!(!t.contains('>'), "raw > in text {t:?}");
        for (i, _) in t.match_indices('&') {
            let entity = &t[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "raw & in text {t:?}"
            );
        }
    }

    fn check_attributes(mut a: &str) {
        while !a.is_empty() {
            let eq = a
                .find('=')
                .unwrap_or_else(|| panic!("attribute without value: {a}"));
            assert!(a[eq + 1..].starts_with('"'), "unquoted attribute: {a}");
            let end = a[eq + 2..].find('"').expect("unterminated attribute") + eq + 2;
            check_text(&a[eq + 2..end]);
            a = a[end + 1..].trim_start();
        }
    }

    fn marks(svg: &str) -> usize {
        let at = svg.find("data-marks=\"").unwrap() + 12;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    }

    fn labels(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("2026-{i:02}")).collect()
    }

    fn attr_values(svg: &str, element: &str, attr: &str) -> Vec<f64> {
        svg.split(&format!("<{element} "))
            .skip(1)
            .map(|e| {
                let key = format!(" {attr}=\"");
                let at = e.find(&key).map(|i| i + key.len()).unwrap_or_else(|| {
                    let key = format!("{attr}=\"");
                    e.find(&key).unwrap() + key.len()
                });
                e[at..at + e[at..].find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>\u{1b}"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;\u{FFFD}"
        );
    }

    #[test]
    fn every_chart_is_well_formed() {
        let l = labels(12);
        let v: Vec<f64> = (0..12).map(|i| (i % 5) as f64).collect();
        let o: Vec<Option<f64>> = (0..12)
            .map(|i| (i % 3 != 0).then_some(i as f64 / 3.0))
            .collect();
        for svg in [
            bars("per month", &l, &v, Some(4.0)),
            line("rating", &l, &o, Some((1.0, 5.0))),
            line("grown", &l, &o, None),
            funnel(
                "funnel",
                &[
                    Stage {
                        name: "lead",
                        count: 5,
                    },
                    Stage {
                        name: "offer",
                        count: 1,
                    },
                ],
            ),
            hbars(
                "offers",
                &[HBar {
                    label: "Acme".into(),
                    value: 10.0,
                    text: "10 EUR".into(),
                    muted: false,
                }],
                Some(("current", 8.0)),
            ),
            sparkline(&o, (1.0, 5.0)),
            empty("nothing"),
        ] {
            let names = well_formed(&svg);
            assert_eq!(names[0], "svg", "{svg}");
        }
    }

    #[test]
    fn empty_series_draw_a_no_data_box() {
        let l = labels(3);
        for svg in [
            bars("a", &[], &[], None),
            bars("a", &l, &[0.0, 0.0, 0.0], None),
            bars("a", &l, &[f64::NAN, f64::INFINITY, -3.0], None),
            line("b", &l, &[None, None, None], Some((1.0, 5.0))),
            line("b", &[], &[], None),
            funnel("c", &[]),
            funnel(
                "c",
                &[Stage {
                    name: "lead",
                    count: 0,
                }],
            ),
            hbars("d", &[], Some(("current", 5.0))),
        ] {
            well_formed(&svg);
            assert!(svg.contains("no data yet"), "{svg}");
            assert_eq!(marks(&svg), 0);
        }
        assert_eq!(sparkline(&[None, None], (1.0, 5.0)), "");
        // A goal alone is worth drawing: it shows what to aim for.
        let goal_only = bars("a", &l, &[0.0, 0.0, 0.0], Some(4.0));
        assert!(goal_only.contains("goal 4") && !goal_only.contains("no data yet"));
    }

    #[test]
    fn bars_scale_to_the_largest_value_or_the_goal() {
        let svg = bars("a", &labels(3), &[2.0, 4.0, 1.0], None);
        let heights = attr_values(&svg, "rect", "height");
        assert_eq!(heights.len(), 3);
        assert!((heights[0] / heights[1] - 0.5).abs() < 0.01, "{heights:?}");
        assert!((heights[2] / heights[1] - 0.25).abs() < 0.01, "{heights:?}");
        assert!(heights[1] <= 220.0 - TOP - BOTTOM + 0.1);
        assert_eq!(marks(&svg), 3);
        // A goal above every bar raises the scale: the bars shrink.
        let with_goal = bars("a", &labels(3), &[2.0, 4.0, 1.0], Some(8.0));
        let h2 = attr_values(&with_goal, "rect", "height");
        assert!((h2[1] / heights[1] - 0.5).abs() < 0.01, "{h2:?}");
    }

    #[test]
    fn lines_break_at_gaps_and_stay_in_range() {
        let svg = line(
            "r",
            &labels(4),
            &[Some(1.0), None, Some(5.0), Some(9.0)],
            Some((1.0, 5.0)),
        );
        let d = svg.split("d=\"").nth(1).unwrap();
        let d = &d[..d.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "a gap starts a new segment: {d}");
        let ys = attr_values(&svg, "circle", "cy");
        assert_eq!(ys.len(), 3);
        assert!(ys[0] > ys[1], "5 is drawn above 1");
        assert_eq!(ys[1], ys[2], "out-of-range values are clamped: {ys:?}");
        assert!(ys.iter().all(|y| *y >= TOP && *y <= 200.0 - BOTTOM));
    }

    #[test]
    fn funnel_widths_are_shares_of_the_widest_stage() {
        let svg = funnel(
            "f",
            &[
                Stage {
                    name: "lead",
                    count: 4,
                },
                Stage {
                    name: "screen",
                    count: 2,
                },
                Stage {
                    name: "offer",
                    count: 0,
                },
            ],
        );
        let w = attr_values(&svg, "rect", "width");
        assert_eq!(w.len(), 2, "a stage nobody reached has no bar");
        assert!((w[1] / w[0] - 0.5).abs() < 0.01);
        assert!(svg.contains("(50%)") && svg.contains("(0%)"));
    }

    #[test]
    fn text_in_charts_is_escaped() {
        let evil = "<script>alert(1)</script>";
        let l = vec![evil.to_string()];
        for svg in [
            bars(evil, &l, &[1.0], None),
            line(evil, &l, &[Some(1.0)], None),
            funnel(
                evil,
                &[Stage {
                    name: evil,
                    count: 1,
                }],
            ),
            hbars(
                evil,
                &[HBar {
                    label: evil.into(),
                    value: 1.0,
                    text: evil.into(),
                    muted: true,
                }],
                Some((evil, 1.0)),
            ),
            empty(evil),
        ] {
            well_formed(&svg);
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
        }
    }

    #[test]
    fn many_labels_are_thinned() {
        let svg = bars("a", &labels(36), &[1.0; 36], None);
        let printed = svg.matches("class=\"label\">2026").count();
        assert!(printed <= 13, "{printed} labels");
        assert_eq!(marks(&svg), 36);
    }
}
