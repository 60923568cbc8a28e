//! Proof that a redacted output names nobody: every string the journal
//! holds in a field that redaction must hide is looked for in the output.
//!
//! The strings come from the unredacted JSON export itself, walked with
//! the classification `interlog_core::redact` uses ([`redact::class`]), so
//! a field the fixture fills is checked without anyone listing it here; and
//! [`Secrets::unfilled`] names every hidden field the fixture left empty,
//! so the fixture cannot quietly skip one either. Any output can be checked
//! (JSON, CSV, iCalendar, the HTML report): [`Secrets::leaks`] looks for
//! each secret whole and for each of its words, in the text as it is and
//! with iCalendar's folding and escapes undone, so quoting or escaping
//! cannot hide a leak.

use std::collections::BTreeMap;

use interlog_core::model::Kind;
use interlog_core::redact::{self, Class};
use serde_json::{Map, Value};

/// Words shorter than this are not looked for on their own (they would
/// match inside anything); the whole secret still is.
const MIN_WORD: usize = 5;

/// The strings redaction must hide, by the field that holds them
/// (`company.name`, `contact.channels.email`, `profile.role`).
#[derive(Debug, Default)]
pub struct Secrets {
    pub by_field: BTreeMap<String, Vec<String>>,
}

impl Secrets {
    /// Every string in the hidden fields of `export` (an unredacted JSON
    /// export): names, labels, prose, dropped fields, and anything in a
    /// field the classification does not know.
    pub fn of(export: &Value) -> Self {
        let mut s = Secrets::default();
        let Some(root) = export.as_object() else {
            return s;
        };
        if let Some(profile) = root.get("profile").and_then(Value::as_object) {
            s.record("profile", profile, &|f| redact::class(None, f));
        }
        for kind in Kind::ALL {
            let records = root.get(kind.root_key()).and_then(Value::as_object);
            for fields in records
                .into_iter()
                .flatten()
                .filter_map(|(_, r)| r.as_object())
            {
                s.record(kind.name(), fields, &|f| redact::class(Some(kind), f));
            }
        }
        s
    }

    fn record(
        &mut self,
        path: &str,
        fields: &Map<String, Value>,
        class: &dyn Fn(&str) -> Option<Class>,
    ) {
        for (field, value) in fields {
            let path = format!("{path}.{field}");
            match class(field) {
                None => self.add(&path, value, &[]),
                Some(Class::Kept(_)) => {}
                Some(Class::Name | Class::Prose | Class::Dropped) => self.add(&path, value, &[]),
                Some(Class::Label { known, .. }) => self.add(&path, value, known),
                Some(Class::Map(subs)) => {
                    if let Some(map) = value.as_object() {
                        self.record(&path, map, &|f| sub(subs, f));
                    }
                }
                Some(Class::Entries(subs)) => {
                    for entry in value.as_object().into_iter().flatten() {
                        if let Some(map) = entry.1.as_object() {
                            self.record(&path, map, &|f| sub(subs, f));
                        }
                    }
                }
            }
        }
    }

    /// Every string in `value` (set members too), bar the vocabulary.
    fn add(&mut self, path: &str, value: &Value, known: &[&str]) {
        let mut found = Vec::new();
        strings(value, &mut found);
        found.retain(|s| !s.trim().is_empty() && !known.contains(&s.as_str()));
        if !found.is_empty() {
            self.by_field
                .entry(path.to_string())
                .or_default()
                .extend(found);
        }
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.by_field.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hidden fields (as [`Self::by_field`] names them) that hold no
    /// string in this journal: a fixture that proves redaction fills them all.
    pub fn unfilled(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut scopes: Vec<(String, Option<Kind>)> = vec![("profile".to_string(), None::<Kind>)];
        scopes.extend(Kind::ALL.iter().map(|k| (k.name().to_string(), Some(*k))));
        for (scope, kind) in scopes {
            for (field, class) in redact::classes(kind) {
                hidden(&format!("{scope}.{field}"), *class, &mut out);
            }
        }
        out.retain(|p| !self.by_field.contains_key(p));
        out
    }

    /// Each secret found in `text`, as "field: secret (found: word)".
    pub fn leaks(&self, text: &str) -> Vec<String> {
        let haystacks = [text.to_string(), unfold_ics(text)];
        let mut out = Vec::new();
        for (field, secrets) in &self.by_field {
            for secret in secrets {
                let mut needles = vec![secret.trim().to_string()];
                needles.extend(
                    secret
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| w.chars().count() >= MIN_WORD)
                        .map(str::to_string),
                );
                if let Some(n) = needles
                    .iter()
                    .find(|n| haystacks.iter().any(|h| h.contains(n.as_str())))
                {
                    out.push(format!("{field}: {secret:?} (found: {n:?})"));
                }
            }
        }
        out
    }

    /// Panics, naming each leak, if `text` (what `what` produced) holds any
    /// secret.
    pub fn assert_none_in(&self, what: &str, text: &str) {
        let leaks = self.leaks(text);
        assert!(
            leaks.is_empty(),
            "{what} leaks {} secret(s):\n  {}\n--- output ---\n{text}",
            leaks.len(),
            leaks.join("\n  ")
        );
    }
}

fn sub(subs: &[(&str, Class)], field: &str) -> Option<Class> {
    subs.iter().find(|(n, _)| *n == field).map(|(_, c)| *c)
}

/// The paths under `path` that redaction hides.
fn hidden(path: &str, class: Class, out: &mut Vec<String>) {
    match class {
        Class::Kept(_) => {}
        Class::Name | Class::Prose | Class::Dropped | Class::Label { .. } => {
            out.push(path.to_string())
        }
        Class::Map(subs) | Class::Entries(subs) => {
            for (field, class) in subs {
                hidden(&format!("{path}.{field}"), *class, out);
            }
        }
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                strings(v, out);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// iCalendar text with its line folding and escapes undone (RFC 5545 §3.1,
/// §3.3.11), so a secret split over two lines is still found.
fn unfold_ics(text: &str) -> String {
    text.replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
}
