//! `relay`: run the relay, and the operator's commands beside it (`invite`,
//! `backup`, `restore`), each a call into `interlog_relay` that works on the
//! relay's data directory, while the relay runs where that is possible.
//! Running the relay starts `interlog-relay`, its own program, installed
//! beside this one.

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::Ctx;
use crate::args::{RelayCmd, RelayCommand};
use crate::out;

pub fn relay(ctx: &Ctx, r: RelayCommand) -> Result<()> {
    match r.action {
        Some(RelayCmd::Invite { data, store }) => {
            let code = match (store.filter(|s| s != "sled"), data) {
                (Some(url), _) => interlog_relay::invites::mint_in_store(&url)
                    .context("could not keep an invite in the relays' Postgres store")?,
                (None, Some(data)) => interlog_relay::invites::mint(&data)
                    .with_context(|| format!("could not write an invite in {}", data.display()))?,
                (None, None) => bail!("pass the relay's --data DIR (or its --store URL)"),
            };
            println!("{code}");
            Ok(())
        }
        Some(RelayCmd::Backup { data, out: file }) => {
            let taken = interlog_relay::backup::backup(&data, &file)?;
            let s = &taken.summary;
            if ctx.json {
                return out::json(&json!({
                    "file": file,
                    "from_running_relay": taken.from_running_relay,
                    "vaults": s.vaults,
                    "records": s.records,
                    "snapshots": s.snapshots,
                    "bytes": s.bytes,
                }));
            }
            println!(
                "Backed up {} vault(s), {} record(s) and {} snapshot(s) ({}) to {}{}.",
                s.vaults,
                s.records,
                s.snapshots,
                size(s.bytes),
                file.display(),
                if taken.from_running_relay {
                    ", taken by the running relay"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Some(RelayCmd::Restore {
            data,
            from,
            replace,
        }) => {
            let restored = interlog_relay::backup::restore(&data, &from, replace)?;
            let s = &restored.summary;
            if ctx.json {
                return out::json(&json!({
                    "data": data,
                    "vaults": s.vaults,
                    "records": s.records,
                    "snapshots": s.snapshots,
                    "set_aside": restored.set_aside,
                }));
            }
            println!(
                "Restored {} vault(s), {} record(s) and {} snapshot(s) into {}.",
                s.vaults,
                s.records,
                s.snapshots,
                data.join("store").display()
            );
            if let Some(aside) = &restored.set_aside {
                println!(
                    "The store that was there is kept, whole, in {}.",
                    aside.display()
                );
            }
            println!("Start the relay on {} now.", data.display());
            Ok(())
        }
        None => serve(&r.args),
    }
}

/// Runs the relay: becomes `interlog-relay`, installed beside this
/// program, with the settings parsed here (on Unix, the same process: its
/// id, its signals, its exit status). They travel in its environment
/// (`RelayArgs::to_env`), so a Postgres password given as a flag does not
/// show in the relay's own command line.
fn serve(args: &interlog_relay::RelayArgs) -> Result<()> {
    let exe = std::env::current_exe().context("could not find this program's own path")?;
    let program = exe.with_file_name(format!("interlog-relay{}", std::env::consts::EXE_SUFFIX));
    if !program.is_file() {
        bail!(
            "the relay is its own program, interlog-relay, and it is not beside this one in {}: \
             `cargo install --locked --path cli` installs both, or copy interlog-relay there",
            exe.parent().unwrap_or(&exe).display()
        );
    }
    let mut relay = std::process::Command::new(&program);
    relay.envs(args.to_env());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = relay.exec();
        Err(error).with_context(|| format!("could not start {}", program.display()))
    }
    #[cfg(not(unix))]
    {
        // A child, not this process: stopping this one leaves it running.
        let status = relay
            .status()
            .with_context(|| format!("could not start {}", program.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
