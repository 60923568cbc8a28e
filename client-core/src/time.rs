//! Parsing the times and dates users type, and the clock.
//!
//! Interview times keep their time zone (RFC 9557, e.g.
//! `2026-11-20T14:00:00+01:00[Europe/Paris]`), so a journal read in another
//! zone still says when the call was where the user was.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{ToSpan, Zoned};

/// Now, in the system time zone.
/// Now, in the system time zone, to the second: stored times stay readable
/// in exports and spreadsheets.
pub fn now() -> Zoned {
    let z = Zoned::now();
    z.round(jiff::Unit::Second).unwrap_or(z)
}

const WHEN_HELP: &str = "write it like 2026-11-20 14:00, 2026-11-20T14:00+01:00, today 9:30, yesterday 16:00, 14:00 or now";

/// Parses a point in time typed by the user, relative to `now` where needed.
pub fn parse_when(raw: &str, now: &Zoned) -> Result<Zoned, String> {
    let s = raw.trim();
    let lower = s.to_ascii_lowercase();
    let bad = || format!("'{raw}' is not a time I understand; {WHEN_HELP}");
    if lower == "now" {
        return Ok(now.clone());
    }
    if let Ok(z) = s.parse::<Zoned>() {
        return Ok(z);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.to_zoned(now.time_zone().clone()));
    }
    let tz = now.time_zone().clone();
    let at = |date: Date, time: Time| -> Result<Zoned, String> {
        DateTime::from_parts(date, time)
            .to_zoned(tz.clone())
            .map_err(|_| bad())
    };
    let (day_word, rest) = match lower.split_once(' ') {
        Some((d, r)) => (d.to_string(), Some(r.trim().to_string())),
        None => (lower.clone(), None),
    };
    let relative_day = match day_word.as_str() {
        "today" => Some(now.date()),
        "yesterday" => now.date().checked_sub(1.day()).ok(),
        "tomorrow" => now.date().checked_add(1.day()).ok(),
        _ => None,
    };
    if let Some(date) = relative_day {
        let time = match rest {
            Some(t) => parse_time(&t).ok_or_else(bad)?,
            None => now.time(),
        };
        return at(date, time);
    }
    if let Some(time) = parse_time(&lower) {
        return at(now.date(), time);
    }
    if let Ok(dt) = s.replacen(' ', "T", 1).parse::<DateTime>() {
        return dt.to_zoned(tz).map_err(|_| bad());
    }
    if let Ok(date) = s.parse::<Date>() {
        return at(date, Time::midnight());
    }
    Err(bad())
}

fn parse_time(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    let h: i8 = h.trim().parse().ok()?;
    let m: i8 = m.trim().parse().ok()?;
    Time::new(h, m, 0, 0).ok()
}

/// Parses a calendar date: `YYYY-MM-DD`, `today`, `tomorrow`, `yesterday`,
/// or `+N` days from today.
pub fn parse_date(raw: &str) -> Result<Date, String> {
    let s = raw.trim().to_ascii_lowercase();
    let today = now().date();
    let result = match s.as_str() {
        "today" => Some(today),
        "tomorrow" => today.checked_add(1.day()).ok(),
        "yesterday" => today.checked_sub(1.day()).ok(),
        _ => match s.strip_prefix('+') {
            Some(n) => n
                .trim_end_matches('d')
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=36_500).contains(n))
                .and_then(|n| today.checked_add(n.days()).ok()),
            None => s.parse::<Date>().ok(),
        },
    };
    result.ok_or_else(|| {
        format!("'{raw}' is not a date; write it like 2026-11-20, today, tomorrow or +7")
    })
}

/// Reads a stored instant leniently (RFC 9557 or RFC 3339); `None` if unreadable.
pub fn stored_zoned(s: &str) -> Option<Zoned> {
    s.parse::<Zoned>().ok().or_else(|| {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.to_zoned(TimeZone::UTC))
    })
}

/// Reads a stored date, or the date part of a stored instant.
pub fn stored_date(s: &str) -> Option<Date> {
    s.parse::<Date>()
        .ok()
        .or_else(|| stored_zoned(s).map(|z| z.date()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_now() -> Zoned {
        "2026-11-20T15:00:00+01:00[Europe/Paris]".parse().unwrap()
    }

    #[test]
    fn understands_common_forms() {
        let now = fixed_now();
        let p = |s| parse_when(s, &now).unwrap().to_string();
        assert_eq!(p("now"), now.to_string());
        assert_eq!(
            p("yesterday 16:00"),
            "2026-11-19T16:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(p("9:30"), "2026-11-20T09:30:00+01:00[Europe/Paris]");
        assert_eq!(
            p("2026-11-02 14:00"),
            "2026-11-02T14:00:00+01:00[Europe/Paris]"
        );
        assert_eq!(
            p("2026-06-02T14:00:00+02:00[Europe/Paris]"),
            "2026-06-02T14:00:00+02:00[Europe/Paris]"
        );
        assert!(p("2026-11-02T14:00Z").starts_with("2026-11-02T15:00:00+01:00"));
    }

    #[test]
    fn refuses_nonsense_with_examples() {
        let err = parse_when("next blue moon", &fixed_now()).unwrap_err();
        assert!(err.contains("2026-11-20 14:00"), "{err}");
        assert!(parse_when("2026-13-45", &fixed_now()).is_err());
        assert!(parse_when("25:00", &fixed_now()).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-02-28").unwrap().to_string(), "2026-02-28");
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("+7").is_ok());
        assert!(parse_date("soon").is_err());
    }
}
