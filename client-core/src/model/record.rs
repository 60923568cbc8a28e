//! [`Record`]: a lenient, read-only view of one stored record.

use std::collections::BTreeMap;

use serde_json::Map;
pub use serde_json::Value;

use super::{Kind, Money};

/// One record as stored: its kind, id and fields (a JSON object mirroring the
/// Automerge map, with the winning value of any conflicted field).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub kind: Kind,
    pub id: String,
    pub fields: Map<String, Value>,
}

impl Record {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    /// A string field; `None` if absent, empty or of another type.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(Value::as_i64)
    }

    pub fn bool(&self, field: &str) -> bool {
        self.get(field).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A nested map field.
    pub fn map(&self, field: &str) -> Option<&Map<String, Value>> {
        self.get(field).and_then(Value::as_object)
    }

    /// The members of a set field (keys mapped to `true`).
    pub fn set(&self, field: &str) -> Vec<&str> {
        self.map(field)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.as_bool() == Some(true))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The entries of an entries field, as (key, fields) sorted by key (ULIDs
    /// sort by creation time).
    pub fn entries(&self, field: &str) -> BTreeMap<&str, &Map<String, Value>> {
        self.map(field)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_object().map(|o| (k.as_str(), o)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A ratings field: each key with its rating (`None` when unrated).
    pub fn ratings(&self, field: &str) -> BTreeMap<&str, Option<i64>> {
        self.map(field)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_i64())).collect())
            .unwrap_or_default()
    }

    /// Whether a company is flagged sensitive (`caution`, `high`, or a
    /// level a newer version added): its interviews keep neutral calendar
    /// titles and draw a warning.
    pub fn is_sensitive(&self) -> bool {
        self.str("sensitivity").is_some_and(|s| s != "none")
    }

    pub fn is_deleted(&self) -> bool {
        self.str("deleted_at").is_some()
    }

    /// The name shown for this record in lists and references.
    pub fn title(&self) -> String {
        self.str(self.kind.title_field())
            .map(str::to_string)
            .unwrap_or_else(|| format!("({} {})", self.kind, short(&self.id)))
    }

    /// The company of a contact's current job: the open employment entry
    /// recorded last.
    pub fn current_employer(&self) -> Option<&str> {
        self.entries("employment")
            .into_values()
            .filter(|e| e.get("to").and_then(Value::as_str).unwrap_or("").is_empty())
            .filter_map(|e| e.get("company").and_then(Value::as_str))
            .next_back()
    }

    /// The current stage of an opportunity: the latest stage event.
    /// Events are ordered by their instant (time zones included), then by
    /// entry id, which is the order they were recorded in.
    pub fn current_stage(&self) -> Option<&str> {
        self.entries("stages")
            .into_iter()
            .max_by_key(|(key, m)| {
                let at = m
                    .get("at")
                    .and_then(Value::as_str)
                    .and_then(crate::time::stored_zoned)
                    .map(|z| z.timestamp());
                (at, *key)
            })
            .and_then(|(_, m)| m.get("stage").and_then(Value::as_str))
    }
}

/// A compensation map read back as money amounts.
pub fn comp_amount(comp: &Map<String, Value>, key: &str) -> Option<Money> {
    let currency = comp.get("currency")?.as_str()?.to_string();
    let minor = comp.get(key)?.as_i64()?;
    Some(Money { minor, currency })
}

/// Ids share their first 10 characters (the ULID's millisecond timestamp)
/// when created by one command; two more make a collision unlikely.
pub const SHORT_ID_MIN: usize = 12;

/// The first characters of an id, for messages where no vault is at hand.
pub fn short(id: &str) -> &str {
    id.get(..SHORT_ID_MIN).unwrap_or(id)
}

/// Unique id prefixes for a whole vault (see `VaultDoc::short_ids`).
pub struct ShortIds {
    sorted: Vec<String>,
}

impl ShortIds {
    pub fn new(mut ids: Vec<String>) -> Self {
        ids.sort_by_key(|a| a.to_ascii_uppercase());
        ShortIds { sorted: ids }
    }

    /// The shortest unique prefix of `id` (the id itself if unknown).
    pub fn get<'a>(&self, id: &'a str) -> &'a str {
        let upper = id.to_ascii_uppercase();
        let Ok(pos) = self
            .sorted
            .binary_search_by(|p| p.to_ascii_uppercase().cmp(&upper))
        else {
            return id;
        };
        let common = |other: Option<&String>| {
            other.map_or(0, |o| {
                o.to_ascii_uppercase()
                    .chars()
                    .zip(upper.chars())
                    .take_while(|(a, b)| a == b)
                    .count()
            })
        };
        let before = pos.checked_sub(1).and_then(|p| self.sorted.get(p));
        let len = (common(before).max(common(self.sorted.get(pos + 1))) + 1).max(SHORT_ID_MIN);
        id.get(..len).unwrap_or(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Record {
        Record {
            kind: Kind::Opportunity,
            id: "01J000000000000000000000AB".into(),
            fields: v.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let r = rec(json!({"role": 5, "interest_now": "high"}));
        assert_eq!(r.str("role"), None);
        assert_eq!(r.int("interest_now"), None);
        assert!(r.title().starts_with("(opportunity"));
    }

    #[test]
    fn current_stage_is_the_latest_event() {
        let r = rec(json!({"stages": {
            "01B": {"stage": "screen", "at": "2026-02-01T10:00:00+00:00[UTC]"},
            "01A": {"stage": "offer", "at": "2026-03-01T10:00:00+00:00[UTC]"},
        }}));
        assert_eq!(r.current_stage(), Some("offer"));
        // Instants compare across time zones: 10:30+02:00 is before 09:00Z.
        let r = rec(json!({"stages": {
            "01A": {"stage": "screen", "at": "2026-02-01T09:00:00+00:00[UTC]"},
            "01B": {"stage": "applied", "at": "2026-02-01T10:30:00+02:00[Europe/Athens]"},
        }}));
        assert_eq!(r.current_stage(), Some("screen"));
    }

    #[test]
    fn short_ids_are_unique_prefixes() {
        let ids = ShortIds::new(vec![
            "01M81G33V4AAAAAAAAAAAAAAAA".into(),
            "01M81G33V4AAAB0000000000AA".into(),
            "01M81G33V4ZZZZZZZZZZZZZZZZ".into(),
        ]);
        assert_eq!(ids.get("01M81G33V4AAAAAAAAAAAAAAAA"), "01M81G33V4AAAA");
        assert_eq!(ids.get("01M81G33V4AAAB0000000000AA"), "01M81G33V4AAAB");
        assert_eq!(ids.get("01M81G33V4ZZZZZZZZZZZZZZZZ"), "01M81G33V4ZZ");
        assert_eq!(ids.get("unknown"), "unknown");
    }

    #[test]
    fn sets_skip_false_members() {
        let r = rec(json!({"purpose": {"practice": true, "serious": false}}));
        assert_eq!(r.set("purpose"), vec!["practice"]);
    }
}
