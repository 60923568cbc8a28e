//! `init`, `export` and `import`.

use std::io::{IsTerminal, Read, Write as _};
use std::path::Path;

use anyhow::{bail, Context, Result};
use interlog_core::model::Kind;
use interlog_core::ReadJournal;
use interlog_core::Vault;
use interlog_core::{export, redact};
use serde_json::json;

use super::Ctx;
use crate::args::{ExportArgs, ExportFormat, ImportArgs, ImportFormat, InitArgs};
use crate::out;

pub fn init(ctx: &Ctx, a: InitArgs) -> Result<()> {
    // Read the seed first, so a missing file stops us before the store exists.
    let seed = match &a.from {
        Some(path) => Some(
            std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?,
        ),
        None => None,
    };
    let storage = ctx.home.create_store()?;
    let mut v = match seed {
        None => Vault::init(storage)?,
        // A bad seed is refused before anything is written; a store that
        // already holds a vault is refused and left as it is.
        Some(bytes) => Vault::join(storage, &bytes)?,
    };
    ctx.save(&mut v, "init")?;
    super::name_device(ctx, &mut v, a.name.as_deref())?;
    let vault_id = v.vault_id();
    if ctx.json {
        return out::json(&json!({"vault_id": vault_id, "home": &*ctx.home}));
    }
    println!("Created vault {vault_id} in {}", ctx.home.display());
    println!("Next: `interlog log Acme --role \"Staff Engineer\" --kind technical --rating 4`");
    println!("Your first `interlog sync --relay URL` gives this vault its key; then `interlog key` shows it as 24 recovery words. Write them down: with them and the relay's address, `interlog recover` restores the journal if every device is lost.");
    Ok(())
}

/// Writes `bytes` to `path` owner-only (written then renamed, so a reader
/// never sees half a file), or to standard output without a path. Exports
/// and reports hold the journal: nobody else on the machine may read them.
pub fn write_private(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        Some(path) => interlog_core::files::replace(path, bytes)
            .with_context(|| format!("could not write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> Result<()> {
    let mut v = ctx.open()?;
    if a.kind.is_some() && a.format != ExportFormat::Csv {
        bail!("--kind applies to --format csv only");
    }
    if a.real_titles && a.format != ExportFormat::Ics {
        bail!("--real-titles applies to --format ics only");
    }
    if a.redact && a.format == ExportFormat::Automerge {
        bail!("the automerge format is the whole document with its history and cannot be redacted; use --format json --redact (or csv, ics)");
    }
    let redacted;
    let doc: &dyn ReadJournal = if a.redact {
        redacted = redact::redacted(&v.doc);
        &redacted
    } else {
        &v.doc
    };
    let bytes = match a.format {
        ExportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&doc.to_json())?;
            s.push('\n');
            s.into_bytes()
        }
        ExportFormat::Csv => {
            let kind = Kind::parse(a.kind.as_deref().unwrap_or("interviews"))?;
            export::csv(doc, kind)?.into_bytes()
        }
        ExportFormat::Ics => export::ics(doc, a.real_titles).into_bytes(),
        ExportFormat::Automerge => {
            if a.out.is_none() && std::io::stdout().is_terminal() {
                bail!("the automerge format is binary; write it to a file with --out FILE");
            }
            v.doc.save()
        }
    };
    write_private(a.out.as_deref(), &bytes)
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> Result<()> {
    let mut bytes = Vec::new();
    if a.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("could not read standard input")?;
    } else {
        bytes = std::fs::read(&a.file)
            .with_context(|| format!("could not read {}", a.file.display()))?;
    }
    let mut v = ctx.open()?;
    let summary = match a.format {
        ImportFormat::Json => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not valid JSON; nothing was imported",
                    a.file.display()
                )
            })?;
            let s = export::import_json(&mut v.doc, &value)?;
            json!({"records": s.records})
        }
        ImportFormat::Automerge => {
            v.doc.merge_bytes(&bytes).context("nothing was merged")?;
            json!({"merged": true})
        }
    };
    ctx.save(&mut v, "import")?;
    if ctx.json {
        return out::json(&summary);
    }
    match a.format {
        ImportFormat::Json => println!("imported {} records", summary["records"]),
        ImportFormat::Automerge => println!("merged {}", a.file.display()),
    }
    Ok(())
}
