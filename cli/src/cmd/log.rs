//! `interlog log` (capture in seconds) and `interlog retro` (the details later).

use std::io::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use interlog_core::doc::VaultDoc;
use interlog_core::export::interview_title;
use interlog_core::model::{self, Kind, Record};
use interlog_core::report::working_hours_warning;
use interlog_core::time::{now, parse_when, stored_zoned};
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{company_or_new, live, obj, print_created, save, Ctx};
use crate::args::LogArgs;
use crate::out;

pub fn log(ctx: &Ctx, a: LogArgs) -> Result<()> {
    let mut v = ctx.open()?;
    let doc = &mut v.doc;
    let now = now();

    // Validate everything before the first write.
    let company_name = a.company.trim();
    if company_name.is_empty() {
        bail!("the company name is empty; write it like `interlog log Acme`");
    }
    let start = match &a.at {
        Some(w) => parse_when(w, &now).map_err(|e| anyhow!("--at: {e}"))?,
        None => now.clone(),
    };
    let spec = |f| model::field(Some(Kind::Interview), f);
    let mut fields = Map::new();
    fields.insert("start".into(), Value::String(start.to_string()));
    let status = if start > now { "scheduled" } else { "done" };
    fields.insert("status".into(), Value::String(status.into()));
    if let Some(k) = &a.kind {
        fields.insert("kind".into(), model::parse_input(spec("kind")?, k)?);
    }
    if let Some(r) = &a.rating {
        fields.insert("rating".into(), model::parse_input(spec("rating")?, r)?);
    }
    if let Some(d) = &a.duration {
        fields.insert(
            "duration_min".into(),
            model::parse_input(spec("duration_min")?, d)?,
        );
    }
    if let Some(n) = &a.note {
        fields.insert("notes".into(), Value::String(n.clone()));
    }
    let given_opp = match &a.opp {
        Some(o) => Some(live(doc, o, &[Kind::Opportunity])?),
        None => None,
    };

    let (company, new_company) = match &given_opp {
        Some(o) => {
            let company = o
                .str("company")
                .map(str::to_string)
                .ok_or_else(|| anyhow!("opportunity {} has no company", o.id))?;
            let named = doc.find_by_name(Kind::Company, company_name).map(|c| c.id);
            if named.as_deref() != Some(company.as_str())
                && !company.eq_ignore_ascii_case(company_name)
            {
                bail!(
                    "opportunity {} is at {}, not {company_name}; leave out --opp or name that company",
                    o.id,
                    interlog_core::report::ref_title(doc, &company)
                );
            }
            (company, false)
        }
        None => company_or_new(doc, company_name)?,
    };
    let opp = match given_opp {
        Some(o) => o.id,
        None => opportunity_for(doc, &company, a.role.as_deref(), &a.kind, &start)?,
    };
    let mut interviewers = Vec::new();
    for who in &a.with {
        interviewers.push(contact_or_new(doc, who, &company)?);
    }
    fields.insert("company".into(), Value::String(company.clone()));
    fields.insert("opportunity".into(), Value::String(opp.clone()));
    let id = doc.create(Kind::Interview, &fields)?;
    doc.set_members(Kind::Interview, &id, "interviewers", &interviewers)?;

    let company_rec = doc.record(Kind::Company, &company);
    let profile = doc.profile();
    save(&mut v, &format!("log interview {id}"))?;

    if let Some(c) = &company_rec {
        if c.is_sensitive() {
            let level = c.str("sensitivity").unwrap_or_default();
            let why = c
                .str("sensitivity_reason")
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            out::warn(&format!(
                "{} is marked sensitive ({level}{why}); keep this one discreet",
                c.title()
            ));
        }
    }
    if let Some(w) = working_hours_warning(&profile, &start) {
        out::warn(&w);
    }
    if new_company && !ctx.json {
        out::note(&format!("new company: {company_name}"));
    }
    print_created(
        ctx,
        Kind::Interview,
        &id,
        json!({"company": company, "opportunity": opp, "interviewers": interviewers, "start": start.to_string()})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

/// The open opportunity at `company` for `role` (any open one when no role is
/// given), or a new one whose first stage follows from the interview kind.
fn opportunity_for(
    doc: &mut VaultDoc,
    company: &str,
    role: Option<&str>,
    kind: &Option<String>,
    start: &jiff::Zoned,
) -> Result<String> {
    let mut open: Vec<Record> = doc
        .live_with(Kind::Opportunity, "company", company)
        .into_iter()
        .filter(|o| !o.current_stage().is_some_and(model::is_closed_stage))
        .filter(|o| match role {
            Some(r) => o
                .str("role")
                .is_some_and(|x| x.to_lowercase() == r.trim().to_lowercase()),
            None => true,
        })
        .collect();
    open.sort_by(|a, b| b.id.cmp(&a.id));
    if let Some(o) = open.first() {
        return Ok(o.id.clone());
    }
    let mut fields = Map::new();
    fields.insert("company".into(), Value::String(company.into()));
    if let Some(r) = role {
        fields.insert("role".into(), Value::String(r.trim().into()));
    }
    let id = doc.create(Kind::Opportunity, &fields)?;
    let stage = match kind
        .as_deref()
        .map(|k| k.to_ascii_lowercase().replace(['-', ' '], "_"))
    {
        Some(k) if k == "recruiter_screen" || k == "informational" => "screen",
        _ => "interviewing",
    };
    let mut event = Map::new();
    event.insert("stage".into(), Value::String(stage.into()));
    event.insert("at".into(), Value::String(start.to_string()));
    doc.add_entry(Kind::Opportunity, &id, "stages", &event)?;
    Ok(id)
}

/// The contact named `who` (or with that id); a new name becomes an
/// interviewer working at `company`.
fn contact_or_new(doc: &mut VaultDoc, who: &str, company: &str) -> Result<String> {
    if let Some(r) = doc.find_one_by_name(Kind::Contact, who)? {
        return Ok(r.id);
    }
    if let Ok(r) = doc.find(who, &[Kind::Contact]) {
        return Ok(r.id);
    }
    let name = who.trim();
    if name.is_empty() {
        bail!("--with needs a name");
    }
    let id = doc.create(
        Kind::Contact,
        &obj(json!({"name": name, "kind": "interviewer"})),
    )?;
    let job = json!({"company": company, "from": interlog_core::time::now().date().to_string()});
    doc.add_entry(Kind::Contact, &id, "employment", &obj(job))?;
    Ok(id)
}

const RETRO_HELP: &str = "\
# Lines starting with # are ignored. Save and quit to store the retro;
# quit without saving to leave it as it was.
# Questions: one per line, \"- [4] wording\" with your 1-5 rating (or \"- wording\").
# New questions go into your question bank.
";

/// The retro template for an interview, filled with what is already known.
fn template(doc: &VaultDoc, r: &Record) -> String {
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
struct Retro {
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

fn parse_retro(text: &str) -> Result<Retro> {
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
                            let n: i64 = n.trim().parse().ok().filter(|n| (1..=5).contains(n)).ok_or_else(|| {
                                anyhow!("question rating '[{n}]' must be a number from 1 to 5: \"{item}\"")
                            })?;
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
fn apply_retro(doc: &mut VaultDoc, id: &str, before: &Retro, after: &Retro) -> Result<()> {
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

pub fn retro(ctx: &Ctx, id: &str) -> Result<()> {
    let v = ctx.open()?;
    let r = live(&v.doc, id, &[Kind::Interview])?;
    let original = template(&v.doc, &r);
    // Close the store while the editor is open: other commands may run meanwhile.
    drop(v);

    // A retro that failed to save earlier is still there: carry on editing it.
    let path = ctx.home.join(format!("retro-{}.md", r.id));
    let resumed = path.exists();
    if !resumed {
        write_private(&path, &original)?;
    }
    let edited = edit_file(&path).and_then(|()| {
        std::fs::read_to_string(&path)
            .with_context(|| format!("could not read back {}", path.display()))
    });
    let edited = match edited {
        Ok(e) => e,
        Err(e) => {
            return Err(e.context(format!("your text, if any, is kept in {}", path.display())))
        }
    };
    if edited == original {
        let _ = std::fs::remove_file(&path);
        return if ctx.json {
            out::json(&json!({"record": "interview", "id": r.id, "status": "unchanged"}))
        } else {
            println!("retro unchanged; nothing saved");
            Ok(())
        };
    }
    let result = parse_retro(&original).and_then(|before| {
        let after = parse_retro(&edited)?;
        let mut v = ctx.open()?;
        apply_retro(&mut v.doc, &r.id, &before, &after)?;
        save(&mut v, &format!("retro {}", r.id))
    });
    match result {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            if ctx.json {
                out::json(&json!({"record": "interview", "id": r.id, "status": "retro saved"}))
            } else {
                println!("retro saved for {}", r.id);
                Ok(())
            }
        }
        Err(e) => Err(e.context(format!(
            "nothing was saved; your text is kept in {} and `interlog retro {}` reopens it",
            path.display(),
            r.id
        ))),
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("could not write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Runs `$VISUAL` or `$EDITOR` (through the shell, so it may carry arguments).
fn edit_file(path: &Path) -> Result<()> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .with_context(|| format!("could not start the editor '{editor}'; set EDITOR"))?;
    if !status.success() {
        bail!("the editor '{editor}' exited with {status}; nothing was saved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retro_parses_sections_questions_and_items() {
        let text = "# header\n## Rating (1-5)\n4\n\n## What went well\nClear story.\n# of rounds: 4\n## not a section\n\n## What to improve\n\n## Questions asked\n- [2] Design a rate limiter\n- Why us?\n\n## Resume items they probed\n- Kafka migration\n";
        let r = parse_retro(text).unwrap();
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
        assert!(parse_retro("## Rating (1-5)\n7\n").is_err());
        assert!(parse_retro("## Questions asked\n- [9] What?\n").is_err());
    }

    #[test]
    fn retro_writes_only_what_changed() {
        let mut doc = VaultDoc::new_vault("v", b"device-a").unwrap();
        let id = doc
            .create(Kind::Interview, &obj(json!({"notes": "old", "rating": 3})))
            .unwrap();
        let before =
            parse_retro(&template(&doc, &doc.record(Kind::Interview, &id).unwrap())).unwrap();
        // Meanwhile, in another terminal:
        doc.update(
            Kind::Interview,
            &id,
            &obj(json!({"notes": "edited elsewhere"})),
        )
        .unwrap();
        let mut after =
            parse_retro(&template(&doc, &doc.record(Kind::Interview, &id).unwrap())).unwrap();
        after.prose.insert("notes", "old".into()); // the user did not touch notes
        after.prose.insert("went_well", "calm".into());
        after.rating = Some(Some(5));
        apply_retro(&mut doc, &id, &before, &after).unwrap();
        let r = doc.record(Kind::Interview, &id).unwrap();
        assert_eq!(r.str("notes"), Some("edited elsewhere"));
        assert_eq!(r.str("went_well"), Some("calm"));
        assert_eq!(r.int("rating"), Some(5));
    }
}
