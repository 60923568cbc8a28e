//! `interlog log` (capture in seconds) and `interlog retro` (the details
//! later, in an editor).

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use interlog_core::journal::{self, LogRequest};
use interlog_core::model::Kind;
use interlog_core::time::now;
use serde_json::json;

use super::{print_created, Ctx};
use crate::args::LogArgs;
use crate::out;

pub fn log(ctx: &Ctx, a: LogArgs) -> Result<()> {
    let mut v = ctx.open()?;
    let request = LogRequest {
        company: a.company,
        opportunity: a.opp,
        role: a.role,
        kind: a.kind,
        rating: a.rating,
        at: a.at,
        duration_min: a.duration,
        note: a.note,
        with: a.with,
    };
    let logged = journal::log_interview(&mut v.doc, &request, &now())?;
    ctx.save(&mut v, &logged.commit)?;
    for w in &logged.warnings {
        out::warn(w);
    }
    if logged.new_company && !ctx.json {
        out::note(&format!("new company: {}", request.company.trim()));
    }
    let extra = json!({
        "company": logged.company,
        "opportunity": logged.opportunity,
        "interviewers": logged.interviewers,
        "start": logged.start.to_string(),
    });
    print_created(
        ctx,
        Kind::Interview,
        &logged.id,
        extra.as_object().cloned().unwrap_or_default(),
    )
}

pub fn retro(ctx: &Ctx, id: &str) -> Result<()> {
    let v = ctx.open()?;
    let r = journal::live(&v.doc, id, &[Kind::Interview])?;
    let original = journal::retro::template(&v.doc, &r);
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
    let result = ctx.open().and_then(|mut v| {
        let change = journal::retro::write(&mut v.doc, &r.id, &original, &edited)?;
        ctx.save(&mut v, &change.commit)
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
    let mut f = interlog_core::files::owner_only(path, true)
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
