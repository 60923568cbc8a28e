//! `retro`: the details of an interview, written later in an editor as one
//! text. [`template`] renders what is known; [`parse`] reads the text
//! back; [`apply`] writes only what the user changed, so an edit made
//! elsewhere while the editor was open survives.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{invalid, obj, Change, Result};
use crate::doc::{ReadJournal, VaultDoc};
use crate::export::interview_title;
use crate::model::{self, Kind, Record};
use crate::time::stored_zoned;

const RETRO_HELP: &str = "\
# Lines starting with # are ignored. Save and quit to store the retro;
# quit without saving to leave it as it was.
# Questions: one per line, \"- [4] wording\" with your 1-5 rating (or \"- wording\").
# New questions go into your question bank.
";

/// The retro template for an interview, filled with what is already known.
pub fn template(doc: &dyn ReadJournal, r: &Record) -> String {
    let when = r
        .str("start")
        .and_then(stored_zoned)
        .map(|z| z.strftime("%a %Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    let mut t = format!(
        "# Retro: {} {when}\n{RETRO_HELP}\n",
        interview_title(doc, r)
    );
    let section = |t: &mut String, title: &str, body: &str| {
        t.push_str(&format!("## {title}\n{body}\n\n"));
    };
    section(
        &mut t,
        "Rating (1-5)",
        &r.int("rating").map(|n| n.to_string()).unwrap_or_default(),
    );
    section(&mut t, "What went well", r.str("went_well").unwrap_or(""));
    section(&mut t, "What to improve", r.str("improve").unwrap_or(""));
    section(
        &mut t,
        "What they seem to look for",
        r.str("looking_for").unwrap_or(""),
    );
    let questions: Vec<String> = r
        .ratings("questions")
        .into_iter()
        .map(|(qid, rating)| {
            let wording = doc
                .record(Kind::Question, qid)
                .map(|q| q.title())
                .unwrap_or_else(|| qid.to_string());
            match rating {
                Some(n) => format!("- [{n}] {wording}"),
                None => format!("- {wording}"),
            }
        })
        .collect();
    section(&mut t, "Questions asked", &questions.join("\n"));
    let items: Vec<String> = r
        .set("resume_items")
        .iter()
        .map(|i| format!("- {i}"))
        .collect();
    section(&mut t, "Resume items they probed", &items.join("\n"));
    section(&mut t, "Notes", r.str("notes").unwrap_or(""));
    t
}

/// What the user wrote, parsed and validated. `None` is a section that is
/// missing from the text: it is left as it was.
#[derive(Debug, Default, PartialEq)]
pub struct Retro {
    rating: Option<Option<i64>>,
    prose: BTreeMap<&'static str, String>,
    questions: Option<Vec<(String, Option<i64>)>>,
    resume_items: Option<Vec<String>>,
}

/// Section titles (lower-cased) and the prose field each one fills.
const PROSE_SECTIONS: [(&str, &str); 4] = [
    ("what went well", "went_well"),
    ("what to improve", "improve"),
    ("what they seem to look for", "looking_for"),
    ("notes", "notes"),
];

fn section_of(title: &str) -> Option<&'static str> {
    let t = title.trim().to_lowercase();
    if t.starts_with("rating") {
        return Some("rating");
    }
    if t == "questions asked" {
        return Some("questions");
    }
    if t == "resume items they probed" {
        return Some("resume_items");
    }
    PROSE_SECTIONS
        .iter()
        .find(|(title, _)| *title == t)
        .map(|(_, f)| *f)
}

pub fn parse(text: &str) -> Result<Retro> {
    let mut retro = Retro::default();
    let mut bodies: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        // A known heading starts a section; anything else, `#` lines and
        // unknown `##` lines included, is text of the current section.
        if let Some(section) = line.strip_prefix("## ").and_then(section_of) {
            bodies.push((section, Vec::new()));
        } else if let Some((_, lines)) = bodies.last_mut() {
            lines.push(line);
        }
        // Before the first heading: the template's help, ignored.
    }
    for (section, lines) in bodies {
        let body = lines.join("\n").trim().to_string();
        let items = || {
            lines
                .iter()
                .map(|l| l.trim())
                .map(|l| l.strip_prefix('-').unwrap_or(l).trim())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        };
        match section {
            "rating" => {
                retro.rating = Some(if body.is_empty() {
                    None
                } else {
                    let spec = model::field(Some(Kind::Interview), "rating")?;
                    model::parse_input(spec, &body)?.as_i64()
                });
            }
            "questions" => {
                let mut questions = Vec::new();
                for item in items() {
                    let (rating, wording) = match item
                        .strip_prefix('[')
                        .and_then(|r| r.split_once(']'))
                    {
                        Some((n, rest)) => {
                            let Some(n) =
                                n.trim().parse::<i64>().ok().filter(|n| (1..=5).contains(n))
                            else {
                                invalid!("question rating '[{n}]' must be a number from 1 to 5: \"{item}\"");
                            };
                            (Some(n), rest.trim())
                        }
                        None => (None, item),
                    };
                    if !wording.is_empty() {
                        questions.push((wording.to_string(), rating));
                    }
                }
                retro.questions = Some(questions);
            }
            "resume_items" => {
                retro.resume_items = Some(items().into_iter().map(str::to_string).collect())
            }
            field => {
                retro.prose.insert(field, body);
            }
        }
    }
    Ok(retro)
}

/// Writes what changed between the template the user was given (`before`)
/// and what they saved (`after`), and nothing else: a field edited elsewhere
/// while the editor was open keeps that edit unless the retro changed it too.
pub fn apply(doc: &mut VaultDoc, id: &str, before: &Retro, after: &Retro) -> Result<()> {
    let mut patch = Map::new();
    let mut cleared = Vec::new();
    for (field, text) in &after.prose {
        if before.prose.get(field) != Some(text) {
            if text.is_empty() {
                cleared.push(*field);
            } else {
                patch.insert(field.to_string(), Value::String(text.clone()));
            }
        }
    }
    if let Some(rating) = after.rating.filter(|r| Some(*r) != before.rating) {
        match rating {
            Some(n) => {
                patch.insert("rating".into(), Value::from(n));
            }
            None => cleared.push("rating"),
        }
    }
    doc.update(Kind::Interview, id, &patch)?;
    for field in cleared {
        doc.unset(Kind::Interview, id, &[field])?;
    }

    if let Some(questions) = after
        .questions
        .as_ref()
        .filter(|q| Some(*q) != before.questions.as_ref())
    {
        let key = |w: &str| w.trim().to_lowercase();
        let old: BTreeMap<String, Option<i64>> = before
            .questions
            .iter()
            .flatten()
            .map(|(w, r)| (key(w), *r))
            .collect();
        let new: BTreeMap<String, Option<i64>> =
            questions.iter().map(|(w, r)| (key(w), *r)).collect();
        for wording in old.keys().filter(|w| !new.contains_key(*w)) {
            if let Some(q) = doc.find_by_name(Kind::Question, wording) {
                doc.unset(Kind::Interview, id, &["questions", &q.id])?;
            }
        }
        for (wording, rating) in questions {
            if old.get(&key(wording)) == Some(rating) {
                continue;
            }
            let qid = match doc.find_by_name(Kind::Question, wording) {
                Some(q) => q.id,
                None => doc.create(Kind::Question, &obj(json!({"wording": wording})))?,
            };
            let mut ratings = Map::new();
            ratings.insert(qid, rating.map_or(Value::Null, Value::from));
            doc.update(Kind::Interview, id, &obj(json!({ "questions": ratings })))?;
        }
    }

    if let Some(items) = after
        .resume_items
        .as_ref()
        .filter(|i| Some(*i) != before.resume_items.as_ref())
    {
        let old: Vec<&String> = before.resume_items.iter().flatten().collect();
        for gone in old.iter().filter(|o| !items.contains(o)) {
            doc.unset(Kind::Interview, id, &["resume_items", gone])?;
        }
        let added: Map<String, Value> = items
            .iter()
            .filter(|i| !old.contains(i))
            .map(|i| (i.clone(), Value::Bool(true)))
            .collect();
        doc.update(Kind::Interview, id, &obj(json!({ "resume_items": added })))?;
    }
    Ok(())
}

/// Writes the retro the user edited (`edited`) over the template they
/// were given (`original`): what changed between the two, and nothing else.
pub fn write(doc: &mut VaultDoc, id: &str, original: &str, edited: &str) -> Result<Change> {
    let before = parse(original)?;
    let after = parse(edited)?;
    apply(doc, id, &before, &after)?;
    Ok(Change {
        kind: Kind::Interview,
        id: id.to_string(),
        commit: format!("retro {id}"),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retro_parses_sections_questions_and_items() {
        let text = "# header\n## Rating (1-5)\n4\n\n## What went well\nClear story.\n# of rounds: 4\n## not a section\n\n## What to improve\n\n## Questions asked\n- [2] Design a rate limiter\n- Why us?\n\n## Resume items they probed\n- Kafka migration\n";
        let r = parse(text).unwrap();
        assert_eq!(r.rating, Some(Some(4)));
        assert_eq!(
            r.prose["went_well"],
            "Clear story.\n# of rounds: 4\n## not a section"
        );
        assert_eq!(r.prose["improve"], "");
        assert!(
            !r.prose.contains_key("notes"),
            "a missing section is left alone"
        );
        assert_eq!(
            r.questions,
            Some(vec![
                ("Design a rate limiter".to_string(), Some(2)),
                ("Why us?".to_string(), None)
            ])
        );
        assert_eq!(r.resume_items, Some(vec!["Kafka migration".to_string()]));
    }

    #[test]
    fn retro_refuses_bad_ratings() {
        assert!(parse("## Rating (1-5)\n7\n").is_err());
        assert!(parse("## Questions asked\n- [9] What?\n").is_err());
    }

    #[test]
    fn retro_writes_only_what_changed() {
        let mut doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let id = doc
            .create(Kind::Interview, &obj(json!({"notes": "old", "rating": 3})))
            .unwrap();
        let before = parse(&template(&doc, &doc.record(Kind::Interview, &id).unwrap())).unwrap();
        // Meanwhile, in another terminal:
        doc.update(
            Kind::Interview,
            &id,
            &obj(json!({"notes": "edited elsewhere"})),
        )
        .unwrap();
        let mut after = parse(&template(&doc, &doc.record(Kind::Interview, &id).unwrap())).unwrap();
        after.prose.insert("notes", "old".into()); // the user did not touch notes
        after.prose.insert("went_well", "calm".into());
        after.rating = Some(Some(5));
        apply(&mut doc, &id, &before, &after).unwrap();
        let r = doc.record(Kind::Interview, &id).unwrap();
        assert_eq!(r.str("notes"), Some("edited elsewhere"));
        assert_eq!(r.str("went_well"), Some("calm"));
        assert_eq!(r.int("rating"), Some(5));
    }
}
