//! Relay backups: `interlog relay backup` of a running relay while a device
//! syncs, `interlog relay restore` into a new data directory, and a relay
//! started there that devices sync with as before. A backup is owner-only,
//! holds no plaintext, and a restore never overwrites a store with vaults.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use interlog_e2e::{binary, Device, TestRelay};

/// `interlog relay ARGS`, with a umask that would make any file it creates
/// readable by everyone unless it sees to the file's mode itself.
fn relay_cmd(args: &[&Path]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("relay")
        .args(args)
        .env_remove("INTERLOG_RELAY_DATA")
        .env("NO_COLOR", "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask(2) only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
    }
    cmd.output().expect("run interlog relay")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn backup(data: &Path, file: &Path) -> Output {
    relay_cmd(&[
        Path::new("backup"),
        Path::new("--data"),
        data,
        Path::new("--out"),
        file,
    ])
}

fn restore(data: &Path, file: &Path, more: &[&Path]) -> Output {
    let mut args = vec![
        Path::new("restore"),
        Path::new("--data"),
        data,
        Path::new("--from"),
        file,
    ];
    args.extend_from_slice(more);
    relay_cmd(&args)
}

/// A new device joined to `of`'s vault through `pair` / `join`.
fn joined(of: &Device) -> Device {
    let code = of.json(&["pair"])["code"].as_str().unwrap().to_string();
    let d = Device::new();
    d.ok(&["join", &code]);
    d
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_running_relay_backed_up_while_a_device_syncs_restores_into_a_relay_devices_sync_with() {
    let relay = TestRelay::start();
    let laptop = Device::init();
    laptop.ok(&["sync", "--relay", &relay.url()]);
    laptop.log(&["Acme", "--kind", "technical", "--rating", "4"]);
    laptop.log(&["Globex", "--with", "Ana Diaz"]);
    laptop.ok(&["sync"]);
    let phone = joined(&laptop);

    // The phone logs and syncs without pause while backups are taken.
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut synced = 0;
            while !stop.load(Ordering::Relaxed) || synced == 0 {
                phone.log(&[&format!("Initech {synced}")]);
                phone.ok(&["sync"]);
                synced += 1;
            }
            (phone, synced)
        })
    };
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("relay.backup");
    for _ in 0..3 {
        let said = ok(backup(relay.data.path(), &file));
        assert!(said.contains("taken by the running relay"), "{said}");
    }
    stop.store(true, Ordering::Relaxed);
    let (phone, synced) = busy.join().unwrap();
    assert!(synced > 0);
    assert!(relay.log().contains("backup taken"), "{}", relay.log());

    // Sealed bytes only: nothing the devices logged, in any form we wrote.
    let bytes = std::fs::read(&file).unwrap();
    for plain in ["Acme", "Globex", "Ana Diaz", "Initech"] {
        assert!(
            !bytes.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "{plain} in the backup"
        );
    }

    // The old relay is gone; a new one starts from the backup.
    drop(relay);
    let data = tempfile::tempdir().unwrap();
    let said = ok(restore(data.path(), &file, &[]));
    assert!(said.contains("Restored 1 vault(s)"), "{said}");
    let relay = TestRelay::start_in(data, "info");

    // The laptop, which pushed nothing since the backup, moves to it, gets
    // whatever of the phone's the backup holds, and writes on.
    laptop.ok(&["sync", "--relay", &relay.url()]);
    laptop.log(&["Hooli", "--kind", "informational"]);
    laptop.ok(&["sync"]);
    let fresh = joined(&laptop);
    let export = fresh.export();
    assert_eq!(export, laptop.export(), "identical exports");
    for company in ["Acme", "Globex", "Hooli"] {
        assert!(export.contains(company), "{company} missing: {export}");
    }

    // The phone may have pushed after the last backup: it sends again what
    // the restored relay lacks, and every device ends with everything.
    phone.ok(&["sync", "--relay", &relay.url()]);
    laptop.ok(&["sync"]);
    let late = joined(&laptop);
    let export = late.export();
    assert_eq!(export, laptop.export());
    assert_eq!(export, phone.export());
    for n in 0..synced {
        let company = format!("Initech {n}");
        assert!(export.contains(&company), "{company} missing: {export}");
    }
    assert!(relay.panics().is_empty(), "{}", relay.log());
}

#[test]
fn a_backup_is_owner_only_and_restore_never_overwrites_a_store_with_vaults() {
    let mut relay = TestRelay::start();
    let laptop = Device::init();
    laptop.ok(&["sync", "--relay", &relay.url()]);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync"]);
    let files = tempfile::tempdir().unwrap();
    let running = files.path().join("running.backup");
    let stopped = files.path().join("stopped.backup");

    ok(backup(relay.data.path(), &running));
    #[cfg(unix)]
    assert_eq!(mode(&running), 0o600, "a backup taken with umask 000");

    // A running relay's store is never restored over.
    let err = fails(restore(
        relay.data.path(),
        &running,
        &[Path::new("--replace")],
    ));
    assert!(
        err.contains("is running") && err.contains("Nothing was changed"),
        "{err}"
    );

    // Stopped, the store is backed up directly, owner-only too.
    assert!(relay.terminate(std::time::Duration::from_secs(10)));
    let said = ok(backup(relay.data.path(), &stopped));
    assert!(!said.contains("running relay"), "{said}");
    #[cfg(unix)]
    assert_eq!(mode(&stopped), 0o600);

    // A store with a vault is refused, with a way on that loses nothing.
    let err = fails(restore(relay.data.path(), &stopped, &[]));
    assert!(
        err.contains("nothing was changed") && err.contains("new, empty data directory"),
        "{err}"
    );
    for risky in ["rm ", "delete", "remove"] {
        assert!(!err.contains(risky), "{risky} advised: {err}");
    }
    // Nothing was set aside or half built: the store is where it was.
    let names: Vec<_> = std::fs::read_dir(relay.data.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("store.")), "{names:?}");

    // The relay starts on its data as before, and the device syncs.
    relay.restart();
    laptop.log(&["Globex"]);
    laptop.ok(&["sync"]);
    let export = joined(&laptop).export();
    assert_eq!(export, laptop.export());
    assert!(
        export.contains("Acme") && export.contains("Globex"),
        "{export}"
    );
}
