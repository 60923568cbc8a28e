//! Generic record commands: show, list, edit, delete, restore, fields.

use anyhow::Result;
use interlog_core::journal;
use interlog_core::model::{self, short, FieldType, Kind, Record};
use interlog_core::report::text;
use interlog_core::time::now;
use interlog_core::ReadJournal;
use serde_json::{json, Value};

use super::Ctx;
use crate::args::EditArgs;
use crate::out;

pub fn show(ctx: &Ctx, id: &str, kinds: &[Kind]) -> Result<()> {
    let v = ctx.read()?;
    let r = v.doc.find_by_name_or_id(id, kinds)?;
    if ctx.json {
        return out::json(&record_json(&v.doc, &r));
    }
    let mut t = out::table(["field", "value"]);
    t.add_row([r.kind.name().to_string(), r.id.clone()]);
    for spec in model::fields(r.kind) {
        if let Some(text) = text::field_text(&v.doc, &r, spec.name, spec.ty) {
            t.add_row([spec.name.to_string(), text]);
        }
    }
    // Fields from a newer version, shown as they are.
    for (k, val) in &r.fields {
        if model::field(Some(r.kind), k).is_err() && !val.is_null() {
            t.add_row([k.clone(), val.to_string()]);
        }
    }
    out::print_table(&t, "");
    Ok(())
}

/// A record for `--json`: its fields plus its kind and id.
pub fn record_json(_doc: &dyn ReadJournal, r: &Record) -> Value {
    let mut m = r.fields.clone();
    m.insert("id".into(), Value::String(r.id.clone()));
    m.insert("record".into(), Value::String(r.kind.name().into()));
    Value::Object(m)
}

pub fn list(ctx: &Ctx, kind: Kind, deleted: bool) -> Result<()> {
    let v = ctx.read()?;
    let doc = &v.doc;
    let mut records = if deleted {
        doc.records(kind)
    } else {
        doc.live(kind)
    };
    text::sort(&mut records);
    if ctx.json {
        let all: Vec<Value> = records.iter().map(|r| record_json(doc, r)).collect();
        return out::json(&all);
    }
    let (header, cols) = text::columns(kind);
    let mut t = out::table(std::iter::once("id").chain(header.iter().copied()));
    let ids = doc.short_ids();
    for r in &records {
        let mut row = vec![ids.get(&r.id).to_string()];
        row.extend(cols(doc, r));
        if r.is_deleted() {
            row[0].push_str(" (deleted)");
        }
        t.add_row(row);
    }
    out::print_table(&t, &format!("No {} yet.", kind.root_key()));
    Ok(())
}

pub fn edit(ctx: &Ctx, kinds: &[Kind], a: EditArgs) -> Result<()> {
    let mut v = ctx.open()?;
    let (change, updated) = journal::edit(&mut v.doc, &a.id, kinds, &a.set, &a.unset)?;
    ctx.save(&mut v, &change.commit)?;
    done(ctx, &updated, "updated")
}

pub fn delete(ctx: &Ctx, id: &str, kinds: &[Kind], delete: bool) -> Result<()> {
    let mut v = ctx.open()?;
    let (change, r) = journal::delete(&mut v.doc, id, kinds, delete, &now())?;
    ctx.save(&mut v, &change.commit)?;
    done(ctx, &r, if delete { "deleted" } else { "restored" })
}

fn done(ctx: &Ctx, r: &Record, what: &str) -> Result<()> {
    if ctx.json {
        out::json(&json!({"record": r.kind.name(), "id": r.id, "status": what}))
    } else {
        let title = out::safe(&r.title());
        println!("{what} {} {} ({title})", r.kind, short(&r.id));
        Ok(())
    }
}

pub fn fields(ctx: &Ctx, kind: &str) -> Result<()> {
    let (specs, name): (Vec<&model::FieldSpec>, &str) = if kind.eq_ignore_ascii_case("profile") {
        (model::PROFILE.iter().collect(), "profile")
    } else {
        let k = Kind::parse(kind)?;
        (model::fields(k).collect(), k.name())
    };
    if ctx.json {
        let v: Vec<Value> = specs
            .iter()
            .map(|s| json!({"name": s.name, "type": s.ty.describe(), "help": s.help}))
            .collect();
        return out::json(&v);
    }
    let mut t = out::table(["field", "type", "meaning"]);
    for s in specs {
        // Enum values are in the type column; keep the meaning short.
        let help = match s.ty {
            FieldType::Enum(_) | FieldType::EnumSet(_) => {
                s.help.split(':').next().unwrap_or(s.help)
            }
            _ => s.help,
        };
        t.add_row([s.name.to_string(), s.ty.describe(), help.to_string()]);
    }
    println!("Fields of {name} records (edit with --set FIELD=VALUE):");
    out::print_table(&t, "");
    Ok(())
}
