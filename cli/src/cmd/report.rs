//! `report`: a period of the journal as one HTML page. The page is built
//! in `interlog_core::report::html`; this only reads the flags and writes
//! the file, owner-only like every export.

use std::path::PathBuf;

use anyhow::{Context, Result};
use interlog_core::report::{html, period};
use interlog_core::time::now;
use interlog_core::{redact, ReadJournal};
use serde_json::json;

use super::io::write_private;
use super::Ctx;
use crate::args::ReportArgs;
use crate::out;

pub fn report(ctx: &Ctx, a: ReportArgs) -> Result<()> {
    let now = now();
    let period = period::period_for(a.since.as_deref(), now.date()).context("--since")?;
    let v = ctx.read()?;
    // With --redact the page is built from the pseudonymized view, and
    // nothing else changes.
    let redacted;
    let doc: &dyn ReadJournal = if a.redact {
        redacted = redact::redacted(&v.doc);
        &redacted
    } else {
        &v.doc
    };
    let page = html::page(doc, &now, period);
    let to_stdout = a.out.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let path = match a.out {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(p),
        None => Some(PathBuf::from(format!(
            "interview-report-{}.html",
            now.date()
        ))),
    };
    write_private(path.as_deref(), page.as_bytes())?;
    if to_stdout {
        return Ok(());
    }
    let path = path.unwrap_or_default();
    if ctx.json {
        return out::json(&json!({
            "out": path,
            "from": period.from.to_string(),
            "to": period.to.to_string(),
            "bytes": page.len(),
        }));
    }
    println!(
        "{}",
        out::safe(&format!(
            "wrote {} ({} to {}); open it in a browser, it loads nothing from the network",
            path.display(),
            period.from,
            period.to
        ))
    );
    Ok(())
}
