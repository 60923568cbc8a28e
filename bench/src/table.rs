//! The result table: each figure next to its floor from the same run, the
//! ratio between them, and whether the target was met.

use std::time::Duration;

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub what: String,
    pub value: String,
    pub floor: String,
    pub ratio: Option<f64>,
    pub target: String,
    /// `None`: reported, no target.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(figure: &str, what: &str, value: String) -> Row {
        Row {
            figure: figure.into(),
            what: what.into(),
            value,
            floor: String::new(),
            ratio: None,
            target: String::new(),
            met: None,
        }
    }

    /// Adds a floor and the ratio of `value` to it.
    pub fn floor(mut self, floor: String, value: f64, floor_value: f64) -> Row {
        self.floor = floor;
        if floor_value > 0.0 {
            self.ratio = Some(value / floor_value);
        }
        self
    }

    pub fn target(mut self, target: &str, met: bool) -> Row {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", n / 1024.0 / 1024.0)
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// The table for people (Markdown, so it pastes into docs/benchmarks.md).
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| # | measure | value | floor (same run) | ratio | target | met |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let ratio = r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default();
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.what, r.value, r.floor, ratio, r.target, met
        ));
    }
    out
}

/// The value at percentile `p` (0..=100) of `samples` (sorted here).
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    let i = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[i.min(samples.len() - 1)]
}

pub fn median(samples: &mut [Duration]) -> Duration {
    percentile(samples, 50.0)
}
