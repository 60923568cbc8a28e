//! `interlog log` (capture in seconds) and `interlog retro` (the details later).

use std::io::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use interlog_core::doc::VaultDoc;
use interlog_core::export::interview_title;
use interlog_core::model::{self, Kind, Record};
use interlog_core::report::working_hours_warning;
use interlog_core::time::{now, parse_when, stored_zoned};
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
        Some(o) => (
            o.str("company")
                .map(str::to_string)
                .ok_or_else(|| anyhow!("opportunity {} has no company", o.id))?,
            false,
        ),
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
        if let Some(level @ ("caution" | "high")) = c.str("sensitivity") {
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
    let closed = ["accepted", "rejected", "withdrawn", "declined", "ghosted"];
    let mut open: Vec<Record> = doc
        .live(Kind::Opportunity)
        .into_iter()
        .filter(|o| o.str("company") == Some(company))
        .filter(|o| !o.current_stage().is_some_and(|s| closed.contains(&s)))
        .filter(|o| match role {
            Some(r) => o
                .str("role")
                .is_some_and(|x| x.eq_ignore_ascii_case(r.trim())),
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
    if let Some(r) = doc.find_by_name(Kind::Contact, who) {
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

/// What the user wrote, parsed and validated.
#[derive(Debug, Default, PartialEq)]
struct Retro {
    rating: Option<i64>,
    went_well: String,
    improve: String,
    looking_for: String,
    questions: Vec<(String, Option<i64>)>,
    resume_items: Vec<String>,
    notes: String,
}

fn parse_retro(text: &str) -> Result<Retro> {
    let mut retro = Retro::default();
    let mut current: Option<String> = None;
    let mut bodies: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') && !line.starts_with("## ") {
            continue;
        }
        if let Some(title) = line.strip_prefix("## ") {
            current = Some(title.trim().to_lowercase());
            bodies.push((title.trim().to_lowercase(), Vec::new()));
            continue;
        }
        if current.is_some() {
            if let Some((_, lines)) = bodies.last_mut() {
                lines.push(line);
            }
        }
    }
    for (title, lines) in bodies {
        let body = lines.join("\n").trim().to_string();
        let items = || {
            lines
                .iter()
                .map(|l| l.trim())
                .filter_map(|l| {
                    l.strip_prefix("- ")
                        .or_else(|| l.strip_prefix('-'))
                        .or((!l.is_empty()).then_some(l))
                })
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        };
        match title.as_str() {
            t if t.starts_with("rating") => {
                if !body.is_empty() {
                    let spec = model::field(Some(Kind::Interview), "rating")?;
                    retro.rating = model::parse_input(spec, &body)?.as_i64();
                }
            }
            "what went well" => retro.went_well = body,
            "what to improve" => retro.improve = body,
            "what they seem to look for" => retro.looking_for = body,
            "notes" => retro.notes = body,
            "questions asked" => {
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
                        retro.questions.push((wording.to_string(), rating));
                    }
                }
            }
            "resume items they probed" => {
                retro.resume_items = items().into_iter().map(str::to_string).collect();
            }
            other => bail!(
                "unknown section '## {other}' in the retro; keep the template's section titles"
            ),
        }
    }
    Ok(retro)
}

fn apply_retro(doc: &mut VaultDoc, id: &str, retro: Retro) -> Result<()> {
    let mut patch = Map::new();
    let text_fields = [
        ("went_well", retro.went_well),
        ("improve", retro.improve),
        ("looking_for", retro.looking_for),
        ("notes", retro.notes),
    ];
    let mut cleared = Vec::new();
    for (k, v) in text_fields {
        if v.is_empty() {
            cleared.push(k);
        } else {
            patch.insert(k.into(), Value::String(v));
        }
    }
    match retro.rating {
        Some(n) => {
            patch.insert("rating".into(), Value::from(n));
        }
        None => cleared.push("rating"),
    }
    doc.update(Kind::Interview, id, &patch)?;
    let current = doc
        .record(Kind::Interview, id)
        .ok_or_else(|| anyhow!("interview {id} vanished"))?;
    for k in cleared {
        if current.get(k).is_some() {
            doc.unset(Kind::Interview, id, &[k])?;
        }
    }
    let mut keep = Vec::new();
    for (wording, rating) in retro.questions {
        let qid = match doc.find_by_name(Kind::Question, &wording) {
            Some(q) => q.id,
            None => doc.create(Kind::Question, &obj(json!({"wording": wording})))?,
        };
        let mut entry = Map::new();
        entry.insert(qid.clone(), rating.map_or(Value::Null, Value::from));
        doc.update(Kind::Interview, id, &obj(json!({ "questions": entry })))?;
        keep.push(qid);
    }
    for qid in current.ratings("questions").keys() {
        if !keep.iter().any(|k| k == qid) {
            doc.unset(Kind::Interview, id, &["questions", qid])?;
        }
    }
    doc.set_members(Kind::Interview, id, "resume_items", &retro.resume_items)?;
    Ok(())
}

pub fn retro(ctx: &Ctx, id: &str) -> Result<()> {
    let v = ctx.open()?;
    let r = live(&v.doc, id, &[Kind::Interview])?;
    let original = template(&v.doc, &r);
    // Close the store while the editor is open: other commands may run meanwhile.
    drop(v);

    let path = ctx.home.join(format!("retro-{}.md", r.id));
    write_private(&path, &original)?;
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
        if !ctx.json {
            println!("retro unchanged; nothing saved");
        }
        return Ok(());
    }
    let result = parse_retro(&edited).and_then(|retro| {
        let mut v = ctx.open()?;
        apply_retro(&mut v.doc, &r.id, retro)?;
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
            "nothing was saved; your text is kept in {} (fix it and paste it into `interlog retro {}` again)",
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
        let text = "# header\n## Rating (1-5)\n4\n\n## What went well\nClear story.\nGood pace.\n\n## What to improve\n\n## What they seem to look for\nOwnership\n\n## Questions asked\n# a comment\n- [2] Design a rate limiter\n- Why us?\n\n## Resume items they probed\n- Kafka migration\n\n## Notes\n";
        let r = parse_retro(text).unwrap();
        assert_eq!(r.rating, Some(4));
        assert_eq!(r.went_well, "Clear story.\nGood pace.");
        assert_eq!(r.improve, "");
        assert_eq!(
            r.questions,
            vec![
                ("Design a rate limiter".to_string(), Some(2)),
                ("Why us?".to_string(), None)
            ]
        );
        assert_eq!(r.resume_items, vec!["Kafka migration"]);
    }

    #[test]
    fn retro_refuses_bad_ratings() {
        assert!(parse_retro("## Rating (1-5)\n7\n").is_err());
        assert!(parse_retro("## Questions asked\n- [9] What?\n").is_err());
        assert!(parse_retro("## Favourite colour\nblue\n").is_err());
    }
}
