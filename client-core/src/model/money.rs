//! Money as integer minor units with an ISO 4217 currency: never floats.

use std::fmt;

use super::schema::CURRENCIES;

/// An amount in minor units of a currency (cents for EUR, yen for JPY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

/// Digits after the decimal point for a currency.
pub fn exponent(currency: &str) -> u32 {
    CURRENCIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(currency))
        .map_or(2, |(_, e)| *e)
}

/// Parses an amount typed in major units (`120000`, `120,000.50`, `95k`)
/// into minor units of `currency`, exactly, without going through floats.
pub fn parse_amount(raw: &str, currency: &str) -> Result<i64, String> {
    let exp = exponent(currency);
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let (number, multiplier) = match cleaned.strip_suffix(['k', 'K']) {
        Some(n) => (n, 1_000i64),
        None => match cleaned.strip_suffix(['m', 'M']) {
            Some(n) => (n, 1_000_000i64),
            None => (cleaned.as_str(), 1),
        },
    };
    let bad = || {
        format!("'{raw}' is not an amount; write it like 120000, 120,000.50 or 95k (in {currency})")
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    let negative = whole.starts_with('-');
    let whole_digits = whole.trim_start_matches('-');
    if !whole_digits.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    // Scale by the currency exponent plus the k/M multiplier, then place the fraction.
    let scale = 10i64.pow(exp);
    let unit = scale.checked_mul(multiplier).ok_or_else(bad)?;
    let frac_digits = frac.len() as u32;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let frac_scale = 10i64.checked_pow(frac_digits).ok_or_else(bad)?;
    if unit % frac_scale != 0 && frac_value != 0 {
        return Err(format!(
            "'{raw}' has more decimals than {currency} allows ({exp})"
        ));
    }
    let whole_value: i64 = if whole_digits.is_empty() {
        0
    } else {
        whole_digits.parse().map_err(|_| bad())?
    };
    let minor = whole_value
        .checked_mul(unit)
        .and_then(|w| {
            let f = if frac_value == 0 {
                0
            } else {
                frac_value * (unit / frac_scale)
            };
            w.checked_add(f)
        })
        .ok_or_else(bad)?;
    Ok(if negative { -minor } else { minor })
}

/// Parses a currency code: three ASCII letters, upper-cased.
pub fn parse_currency(raw: &str) -> Result<String, String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        Ok(c)
    } else {
        Err(format!(
            "'{raw}' is not an ISO 4217 currency code such as EUR, USD or GBP"
        ))
    }
}

/// The profile key that holds the rate from one currency to another:
/// `rate:USD:EUR`. One flat key per pair, like the device names in `meta`,
/// so no device ever creates a shared map that another could hide
/// (docs/data-model.md §6.4), and two devices setting one rate at once
/// conflict visibly.
pub fn rate_key(from: &str, to: &str) -> String {
    format!("{RATE_PREFIX}{from}:{to}")
}

/// What every rate key in the profile starts with.
pub const RATE_PREFIX: &str = "rate:";

/// An exchange rate the user set: one unit of `from` is worth `rate` units
/// of `to`. Kept as the decimal text they typed (`1.08`), converted with
/// integer arithmetic, so money never goes through a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub from: String,
    pub to: String,
    /// The rate as stored: digits with at most one decimal point.
    pub rate: String,
    mantissa: i128,
    scale: u32,
}

impl Rate {
    /// A rate from `from` to `to` written as a positive decimal with at
    /// most 9 decimals (`1.08`, `0.0067`, `150`).
    pub fn new(from: &str, to: &str, raw: &str) -> Result<Rate, String> {
        let raw = raw.trim();
        let bad =
            || format!("'{raw}' is not a rate; write how many {to} one {from} is worth, like 1.08");
        let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 9
            || whole.len() > 12
        {
            return Err(bad());
        }
        let digits = format!("{whole}{frac}");
        let mantissa: i128 = digits.parse().map_err(|_| bad())?;
        if mantissa == 0 {
            return Err(format!(
                "a rate of {raw} would make every {from} worth nothing"
            ));
        }
        Ok(Rate {
            from: from.to_string(),
            to: to.to_string(),
            rate: raw.to_string(),
            mantissa,
            scale: frac.len() as u32,
        })
    }

    /// `money` (in `from`) in minor units of `to`, rounded half away from
    /// zero and saturating; `None` if `money` is in another currency.
    pub fn convert(&self, money: &Money) -> Option<Money> {
        if money.currency != self.from {
            return None;
        }
        // minor_to = minor_from * rate * 10^exp(to) / 10^exp(from)
        let num = i128::from(money.minor)
            .saturating_mul(self.mantissa)
            .saturating_mul(10i128.pow(exponent(&self.to)));
        let den = 10i128.pow(exponent(&self.from) + self.scale);
        let q = num / den;
        let r = num % den;
        let rounded = if r.abs() * 2 >= den {
            q + num.signum()
        } else {
            q
        };
        Some(Money {
            minor: i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX }),
            currency: self.to.clone(),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1 {} = {} {}", self.from, self.rate, self.to)
    }
}

/// Reads `CUR=RATE` (`USD=0.92`: one USD is worth 0.92 of `to`, the
/// profile's own currency) into the profile key to write and its rate;
/// `CUR=none` gives no rate, which removes it.
pub fn parse_rate_setting(raw: &str, to: &str) -> Result<(String, Option<Rate>), String> {
    let (cur, rate) = raw
        .split_once('=')
        .ok_or_else(|| format!("--rate takes CUR=RATE, like USD=0.92, not '{raw}'"))?;
    let from = parse_currency(cur)?;
    if from == to {
        return Err(format!(
            "{from} is your own currency already; a rate is for the others"
        ));
    }
    let key = rate_key(&from, to);
    if rate.trim().eq_ignore_ascii_case("none") {
        return Ok((key, None));
    }
    Ok((key, Some(Rate::new(&from, to, rate)?)))
}

/// The rates set in a profile (keys `rate:FROM:TO`); values that do not
/// parse are left out (a newer version may write another shape).
pub fn profile_rates(profile: &serde_json::Map<String, serde_json::Value>) -> Vec<Rate> {
    profile
        .iter()
        .filter_map(|(k, v)| {
            let (from, to) = k.strip_prefix(RATE_PREFIX)?.split_once(':')?;
            Rate::new(from, to, v.as_str()?).ok()
        })
        .collect()
}

impl Money {
    /// The amount in major units with every decimal the currency has and no
    /// grouping or currency code, as a spreadsheet reads it: `120000.50`,
    /// `-3.00`, `950000` (JPY).
    pub fn plain(&self) -> String {
        let exp = exponent(&self.currency);
        let scale = 10u64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            format!("{sign}{abs}")
        } else {
            format!(
                "{sign}{}.{:0w$}",
                abs / scale,
                abs % scale,
                w = exp as usize
            )
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = exponent(&self.currency);
        let scale = 10i64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let whole = abs / scale as u64;
        let frac = abs % scale as u64;
        let mut digits = whole.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(",{tail}{grouped}");
        }
        grouped = format!("{digits}{grouped}");
        if frac == 0 || exp == 0 {
            write!(f, "{sign}{grouped} {}", self.currency)
        } else {
            write!(
                f,
                "{sign}{grouped}.{frac:0w$} {}",
                self.currency,
                w = exp as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("120000", "EUR").unwrap(), 12_000_000);
        assert_eq!(parse_amount("120,000.50", "EUR").unwrap(), 12_000_050);
        assert_eq!(parse_amount("95k", "USD").unwrap(), 9_500_000);
        assert_eq!(parse_amount("1.5M", "JPY").unwrap(), 1_500_000);
        assert_eq!(parse_amount("0.1", "EUR").unwrap(), 10);
        assert!(parse_amount("12.345", "EUR").is_err());
        assert!(parse_amount("lots", "EUR").is_err());
        assert!(parse_amount("", "EUR").is_err());
        assert!(parse_amount("99999999999999999999", "EUR").is_err());
    }

    #[test]
    fn plain_amounts_keep_every_decimal_and_no_grouping() {
        let m = |minor, currency: &str| Money {
            minor,
            currency: currency.into(),
        };
        assert_eq!(m(12_000_050, "EUR").plain(), "120000.50");
        assert_eq!(m(-300, "USD").plain(), "-3.00");
        assert_eq!(m(950_000, "JPY").plain(), "950000");
        assert_eq!(m(1_234_567, "KWD").plain(), "1234.567");
    }

    #[test]
    fn money_displays_grouped() {
        let m = Money {
            minor: 12_000_050,
            currency: "EUR".into(),
        };
        assert_eq!(m.to_string(), "120,000.50 EUR");
        let y = Money {
            minor: 1_500_000,
            currency: "JPY".into(),
        };
        assert_eq!(y.to_string(), "1,500,000 JPY");
    }

    #[test]
    fn currencies_must_be_iso_codes() {
        assert_eq!(parse_currency("eur").unwrap(), "EUR");
        assert!(parse_currency("euro").is_err());
    }
    #[test]
    fn rates_convert_exactly_between_exponents() {
        let r = Rate::new("USD", "EUR", "0.92").unwrap();
        let usd = |minor| Money {
            minor,
            currency: "USD".into(),
        };
        assert_eq!(r.convert(&usd(10_000_000)).unwrap().minor, 9_200_000);
        assert_eq!(r.to_string(), "1 USD = 0.92 EUR");
        // 100,000 JPY at 0.0062 EUR: 620.00 EUR.
        let j = Rate::new("JPY", "EUR", "0.0062").unwrap();
        let jpy = Money {
            minor: 100_000,
            currency: "JPY".into(),
        };
        assert_eq!(j.convert(&jpy).unwrap().minor, 62_000);
        // EUR to JPY: cents to yen, rounded.
        let e = Rate::new("EUR", "JPY", "161.5").unwrap();
        let eur = Money {
            minor: 1_001,
            currency: "EUR".into(),
        };
        assert_eq!(e.convert(&eur).unwrap().minor, 1_617);
        assert!(
            r.convert(&eur).is_none(),
            "a rate converts its own currency only"
        );
        let huge = Rate::new("USD", "EUR", "999999999999").unwrap();
        assert_eq!(huge.convert(&usd(i64::MAX)).unwrap().minor, i64::MAX);
    }

    #[test]
    fn rates_must_be_positive_decimals() {
        for bad in ["", "abc", "-1", "0", "0.000", "1,08", "1.0000000001", "1e3"] {
            assert!(Rate::new("USD", "EUR", bad).is_err(), "{bad}");
        }
        assert!(Rate::new("USD", "EUR", ".5").is_ok());
    }

    #[test]
    fn rate_settings_name_their_key() {
        let (key, rate) = parse_rate_setting("usd=0.92", "EUR").unwrap();
        assert_eq!(key, "rate:USD:EUR");
        assert_eq!(rate.unwrap().rate, "0.92");
        assert_eq!(parse_rate_setting("USD=none", "EUR").unwrap().1, None);
        assert!(parse_rate_setting("EUR=1", "EUR").is_err());
        assert!(parse_rate_setting("USD", "EUR").is_err());
        assert!(parse_rate_setting("dollars=1", "EUR").is_err());
    }

    #[test]
    fn profile_rates_read_the_rate_keys() {
        let p = serde_json::json!({"rate:USD:EUR": "0.92", "rate:bad": "1", "rate:GBP:EUR": 3, "role": "x"});
        let rates = profile_rates(p.as_object().unwrap());
        assert_eq!(rates.len(), 1);
        assert_eq!(rate_key("USD", "EUR"), "rate:USD:EUR");
    }
}
