//! Command implementations, and the helpers they share for turning what the
//! user typed into validated field values. Every command validates all of its
//! input before it changes the document, so bad input writes nothing.

mod io;
mod kinds;
mod log;
mod records;
mod relay;
mod report;
mod reports;
mod sync;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use interlog_core::doc::VaultDoc;
use interlog_core::model::{self, FieldSpec, FieldType, Kind, Record};
use serde_json::{Map, Value};

use crate::args::{Cli, Command, CompArgs, DevicesCmd};
use crate::home::{self, DeviceVault};
use crate::out;

/// What every command gets: where the vault is and how to print.
pub struct Ctx {
    pub home: PathBuf,
    pub json: bool,
}

impl Ctx {
    pub fn open(&self) -> Result<DeviceVault> {
        home::open(&self.home)
    }

    /// The vault for a command that only reads: from the view cache when
    /// the store is unchanged since it was rendered (much faster on a big
    /// vault), else loaded. It cannot be saved.
    pub fn read(&self) -> Result<home::ReadVault> {
        home::open_read(&self.home)
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        home: home::resolve(cli.home)?,
        json: cli.json,
    };
    let result = command(&ctx, cli.command);
    // Every vault the command opened is closed by now.
    home::notify_watcher(&ctx.home);
    result
}

fn command(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Init(a) => io::init(ctx, a),
        Command::Log(a) => log::log(ctx, a),
        Command::Retro { id } => log::retro(ctx, &id),
        Command::Show { id } => records::show(ctx, &id, &Kind::ALL),
        Command::List(a) => records::list(ctx, Kind::parse(&a.kind)?, a.deleted),
        Command::Edit(a) => records::edit(ctx, &Kind::ALL, a),
        Command::Delete { id } => records::delete(ctx, &id, &Kind::ALL, true),
        Command::Restore { id } => records::delete(ctx, &id, &Kind::ALL, false),
        Command::Company(c) => kinds::company(ctx, c),
        Command::Contact(c) => kinds::contact(ctx, c),
        Command::Opp(c) => kinds::opp(ctx, c),
        Command::Interview(c) => kinds::interview(ctx, c),
        Command::Offer(c) => kinds::offer(ctx, c),
        Command::Followup(c) => kinds::followup(ctx, c),
        Command::Question(c) => kinds::question(ctx, c),
        Command::Profile(c) => kinds::profile(ctx, c),
        Command::Fields { kind } => records::fields(ctx, &kind),
        Command::Search { text } => reports::search(ctx, &text),
        Command::Today => reports::today(ctx),
        Command::Stats { months } => reports::stats(ctx, months),
        Command::Report(a) => report::report(ctx, a),
        Command::Export(a) => io::export(ctx, a),
        Command::Import(a) => io::import(ctx, a),
        Command::Conflicts { action } => reports::conflicts(ctx, action),
        Command::Sync(a) => sync::sync(ctx, a),
        Command::Pair => sync::pair(ctx),
        Command::Join { code, name } => sync::join(ctx, &code, name.as_deref()),
        Command::Recover { relay, pin } => sync::recover(ctx, &relay, pin.as_deref()),
        Command::Key => sync::key(ctx),
        Command::Devices {
            action: Some(DevicesCmd::Rename { name }),
        } => {
            let mut v = ctx.open()?;
            name_device(&mut v, Some(&name))?;
            if ctx.json {
                out::json(
                    &serde_json::json!({"device": hex_id(v.device_id()), "name": name.trim()}),
                )
            } else {
                println!(
                    "{}",
                    out::safe(&format!("this device is now '{}'", name.trim()))
                );
                Ok(())
            }
        }
        Command::Devices { .. } => sync::devices(ctx),
        Command::Relay(r) => relay::relay(ctx, r),
    }
}

/// Commits and flushes; the command may report success only after this.
pub fn save(v: &mut DeviceVault, message: &str) -> Result<()> {
    let saved = v.save(message)?;
    if saved.wrote {
        home::mark_changed();
        home::stage_for_watcher(v);
        // While this process still holds the store.
        home::refresh_view(v);
    }
    if let Some(e) = saved.compaction_error {
        out::warn(&format!(
            "your change is saved, but compacting the store failed ({e}); it will be retried"
        ));
    }
    Ok(())
}

/// A JSON object literal as a field map (empty if `v` is not an object).
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A validated write: either plain fields for `update`, or a set to replace.
pub enum Write {
    Field(String, Value),
    Set(String, Vec<String>),
}

/// Parses one user value for a field of `kind` (`None`: the profile),
/// resolving references to ids.
pub fn field_value(doc: &VaultDoc, kind: Option<Kind>, name: &str, raw: &str) -> Result<Write> {
    let spec = model::field(kind, name)?;
    if matches!(name, "created_at" | "deleted_at") {
        bail!("{name} is kept by interlog itself; use `delete` or `restore`");
    }
    value_for(doc, spec, raw)
}

fn value_for(doc: &VaultDoc, spec: &FieldSpec, raw: &str) -> Result<Write> {
    Ok(match spec.ty {
        FieldType::Ref(k) => {
            Write::Field(spec.name.into(), Value::String(resolve(doc, k, raw)?.id))
        }
        FieldType::AnyRef => Write::Field(
            spec.name.into(),
            Value::String(resolve_target(doc, raw)?.id),
        ),
        FieldType::RefSet(k) => {
            let mut ids = Vec::new();
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                ids.push(resolve(doc, k, part)?.id);
            }
            Write::Set(spec.name.into(), ids)
        }
        FieldType::Set | FieldType::EnumSet(_) => match model::parse_input(spec, raw)? {
            Value::Object(m) => Write::Set(spec.name.into(), m.keys().cloned().collect()),
            _ => unreachable!("sets parse to objects"),
        },
        _ => Write::Field(spec.name.into(), model::parse_input(spec, raw)?),
    })
}

/// Parses `FIELD=VALUE` pairs.
pub fn parse_sets(doc: &VaultDoc, kind: Option<Kind>, sets: &[String]) -> Result<Vec<Write>> {
    sets.iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--set takes FIELD=VALUE, not '{s}'"))?;
            field_value(doc, kind, k.trim(), v)
        })
        .collect()
}

/// Adds an optional flag value for a field to `writes`.
pub fn opt(
    doc: &VaultDoc,
    kind: Option<Kind>,
    writes: &mut Vec<Write>,
    name: &str,
    raw: &Option<String>,
) -> Result<()> {
    if let Some(raw) = raw {
        writes.push(field_value(doc, kind, name, raw)?);
    }
    Ok(())
}

/// Set fields and their new members.
pub type SetWrites = Vec<(String, Vec<String>)>;

/// Splits validated writes into a patch of plain fields and the sets.
pub fn split(writes: Vec<Write>) -> (Map<String, Value>, SetWrites) {
    let mut patch = Map::new();
    let mut sets = Vec::new();
    for w in writes {
        match w {
            Write::Field(k, v) => {
                patch.insert(k, v);
            }
            Write::Set(k, m) => sets.push((k, m)),
        }
    }
    (patch, sets)
}

/// Applies validated writes to an existing record.
pub fn apply(doc: &mut VaultDoc, kind: Kind, id: &str, writes: Vec<Write>) -> Result<()> {
    let (patch, sets) = split(writes);
    doc.update(kind, id, &patch)?;
    for (field, members) in sets {
        doc.set_members(kind, id, &field, &members)?;
    }
    Ok(())
}

/// Creates a record from validated writes and returns its id.
pub fn create(doc: &mut VaultDoc, kind: Kind, writes: Vec<Write>) -> Result<String> {
    let (patch, sets) = split(writes);
    let id = doc.create(kind, &patch)?;
    for (field, members) in sets {
        doc.set_members(kind, &id, &field, &members)?;
    }
    Ok(id)
}

/// A record of `kind` named by id prefix, or by name (companies, contacts,
/// questions), ignoring case.
pub fn resolve(doc: &VaultDoc, kind: Kind, raw: &str) -> Result<Record> {
    if matches!(kind, Kind::Company | Kind::Contact | Kind::Question) {
        if let Some(r) = doc.find_one_by_name(kind, raw)? {
            return Ok(r);
        }
    }
    doc.find(raw, &[kind]).map_err(|e| match e {
        interlog_core::DocError::NotFound { .. }
            if matches!(kind, Kind::Company | Kind::Contact) =>
        {
            anyhow!(
                "no {} is named or has an id starting with '{raw}'; `interlog list {}` shows them",
                kind.name(),
                kind.root_key()
            )
        }
        other => other.into(),
    })
}

/// A follow-up target: a contact or company by name, or any record by id.
pub fn resolve_target(doc: &VaultDoc, raw: &str) -> Result<Record> {
    for kind in [Kind::Contact, Kind::Company] {
        if let Some(r) = doc.find_one_by_name(kind, raw)? {
            return Ok(r);
        }
    }
    doc.find(raw, &[Kind::Contact, Kind::Opportunity, Kind::Company])
        .with_context(|| format!("'{raw}' is not a contact, opportunity or company"))
}

/// The company named `raw` (or with that id), created if it is a new name.
pub fn company_or_new(doc: &mut VaultDoc, raw: &str) -> Result<(String, bool)> {
    if let Some(r) = doc.find_one_by_name(Kind::Company, raw)? {
        return Ok((r.id, false));
    }
    if let Ok(r) = doc.find(raw, &[Kind::Company]) {
        return Ok((r.id, false));
    }
    let name = raw.trim();
    if name.is_empty() {
        bail!("the company name is empty");
    }
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(name.into()));
    Ok((doc.create(Kind::Company, &fields)?, true))
}

/// Turns compensation flags into a compensation map (amounts in minor units)
/// to merge over `existing`. Returns `None` when no flag was given.
///
/// The currency defaults to the existing package's, then the profile's. When
/// it changes, amounts not given are cleared: a number in minor units means
/// nothing under another currency.
pub fn comp(
    doc: &VaultDoc,
    args: &CompArgs,
    existing: Option<&Map<String, Value>>,
) -> Result<Option<Map<String, Value>>> {
    let existing_currency = existing
        .and_then(|c| c.get("currency"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let amounts = [
        ("base", &args.base),
        ("bonus", &args.bonus),
        ("signing", &args.signing),
        ("equity", &args.equity),
    ];
    if args.currency.is_none() && args.period.is_none() && amounts.iter().all(|(_, v)| v.is_none())
    {
        return Ok(None);
    }
    let currency = match &args.currency {
        Some(c) => model::parse_currency(c).map_err(|e| anyhow!(e))?,
        None => match &existing_currency {
            Some(c) => c.clone(),
            None => doc
            .profile()
            .get("comp")
            .and_then(|c| c.get("currency"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| anyhow!("say which currency with --currency EUR (or set one in your profile with `interlog profile set --currency EUR`)"))?,
        },
    };
    let currency_changed = existing_currency.is_some_and(|c| c != currency);
    let mut m = Map::new();
    m.insert("currency".into(), Value::String(currency.clone()));
    for (key, raw) in amounts {
        if let Some(raw) = raw {
            let minor = model::parse_amount(raw, &currency).map_err(|e| anyhow!("--{key}: {e}"))?;
            m.insert(key.into(), Value::from(minor));
        } else if currency_changed {
            m.insert(key.into(), Value::Null);
        }
    }
    if let Some(p) = &args.period {
        m.insert(
            "period".into(),
            Value::String(model::parse_enum("period", model::PERIODS, p)?),
        );
    } else if args.base.is_some() {
        m.insert("period".into(), Value::String("year".into()));
    }
    Ok(Some(m))
}

/// The id of a new record, printed for people and scripts alike.
pub fn print_created(ctx: &Ctx, kind: Kind, id: &str, extra: Map<String, Value>) -> Result<()> {
    if ctx.json {
        let mut m = extra;
        m.insert("record".into(), Value::String(kind.name().into()));
        m.insert("id".into(), Value::String(id.into()));
        out::json(&m)
    } else {
        println!("{id}");
        Ok(())
    }
}

/// A device id (actor id) in lowercase hex, as the wire and
/// `VaultDoc::device_names` spell it.
pub fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names this device in the journal (`init --name`, `join --name`,
/// `devices rename`); without a name, the machine's host name, if it has
/// one. Saves.
pub fn name_device(v: &mut DeviceVault, name: Option<&str>) -> Result<()> {
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => match host_name() {
            Some(h) => h,
            None => return Ok(()),
        },
    };
    let actor = hex_id(v.device_id());
    v.doc.set_device_name(&actor, &name)?;
    save(v, "device name")
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= interlog_core::doc::DEVICE_NAME_MAX
        && !name.chars().any(interlog_core::is_unsafe);
    ok.then(|| name.to_string())
}

/// Finds a record to change, refusing deleted ones.
pub fn live(doc: &VaultDoc, raw: &str, kinds: &[Kind]) -> Result<Record> {
    let r = doc.find(raw, kinds)?;
    if r.is_deleted() {
        bail!(
            "{} {} is deleted; `interlog restore {}` brings it back first",
            r.kind,
            r.id,
            r.id
        );
    }
    Ok(r)
}
