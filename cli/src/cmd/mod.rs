//! Command implementations. Each parses what the user typed into a request,
//! calls one operation (most in `interlog_core::journal`, which validates
//! all input before its first write), saves, and prints.

mod io;
mod kinds;
mod log;
mod records;
mod relay;
mod reports;
mod sync;

use anyhow::Result;
use interlog_core::model::Kind;
use serde_json::{Map, Value};

use crate::args::{Cli, Command, DevicesCmd};
use crate::home::{self, DeviceVault, Home};
use crate::out;

/// What every command gets: where the vault is and how to print.
pub struct Ctx {
    pub home: Home,
    pub json: bool,
}

impl Ctx {
    pub fn open(&self) -> Result<DeviceVault> {
        self.home.open()
    }

    /// The vault for a command that only reads: from the view cache when
    /// the store is unchanged since it was rendered (much faster on a big
    /// vault), else loaded. It cannot be saved.
    pub fn read(&self) -> Result<home::ReadVault> {
        self.home.open_read()
    }

    /// Commits and flushes; the command may report success only after
    /// this.
    pub fn save(&self, v: &mut DeviceVault, message: &str) -> Result<()> {
        let saved = v.save(message)?;
        if saved.wrote {
            self.home.loans().wrote(v);
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
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        home: Home::new(home::resolve(cli.home)?),
        json: cli.json,
    };
    let result = command(&ctx, cli.command);
    // Every vault the command opened is closed by now.
    ctx.home.loans().notify(&ctx.home);
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
            name_device(ctx, &mut v, Some(&name))?;
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

pub use interlog_core::journal::hex_id;

/// Names this device in the journal (`init --name`, `join --name`,
/// `devices rename`); without a name, the machine's host name, if it has
/// one. Saves.
pub fn name_device(ctx: &Ctx, v: &mut DeviceVault, name: Option<&str>) -> Result<()> {
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => match host_name() {
            Some(h) => h,
            None => return Ok(()),
        },
    };
    let actor = hex_id(v.device_id());
    v.doc.set_device_name(&actor, &name)?;
    ctx.save(v, "device name")
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
