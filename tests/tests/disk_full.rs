//! A real full disk under the relay's sled store: a small tmpfs filled up
//! while a device syncs. Needs permission to mount a tmpfs (root, as in CI);
//! without it the test says so and checks nothing. The same behaviour is
//! checked without privileges through a storage wrapper in faults.rs.

use std::process::Command;

use interlog_e2e::{Device, TestRelay};

/// A tmpfs of `size` mounted on a temp dir, unmounted on drop.
struct SmallDisk {
    dir: Option<tempfile::TempDir>,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir: Some(dir) })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.as_ref().unwrap().path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

fn free_bytes(path: &std::path::Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_real_full_disk_under_the_relay() {
    let Some(disk) = SmallDisk::mount("16m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); faults.rs covers the same through a storage wrapper");
        return;
    };
    let data = tempfile::tempdir_in(disk.path()).unwrap();
    let mut relay = TestRelay::start_in(data, "info");
    let laptop = Device::init();
    laptop.ok(&["sync", "--relay", &relay.url()]);
    let code = laptop.json(&["pair"])["code"].as_str().unwrap().to_string();
    let phone = Device::new();
    phone.ok(&["join", &code]);
    // The phone's name goes out now, so that it has nothing to send
    // while the disk is full.
    phone.ok(&["sync"]);

    // Fill the disk, leaving a little room.
    let ballast = disk.path().join("ballast");
    let free = free_bytes(disk.path());
    std::fs::write(&ballast, vec![0u8; free.saturating_sub(64 * 1024) as usize]).unwrap();

    let note = "n".repeat(20_000);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..200 {
        acked.push(laptop.log(&[&format!("Company {i}"), "--note", &note]));
        let out = laptop.run(&["sync"]);
        if !out.status.success() {
            refused = Some(String::from_utf8_lossy(&out.stderr).to_string());
            break;
        }
    }
    let refused = refused.expect("the disk never filled up");
    eprintln!("after {} writes the relay refused: {refused}", acked.len());
    assert!(refused.contains("disk space"), "unclear error: {refused}");
    // Reads go on while the disk is full.
    phone.ok(&["sync"]);

    // Space comes back: the waiting changes go through.
    std::fs::remove_file(&ballast).unwrap();
    let out = laptop.run(&["sync"]);
    let recovered_without_restart = out.status.success();
    eprintln!(
        "sync after freeing space, same relay process: {}",
        if recovered_without_restart {
            "ok".to_string()
        } else {
            String::from_utf8_lossy(&out.stderr).to_string()
        }
    );
    if !recovered_without_restart {
        relay.restart();
        laptop.ok(&["sync"]);
    }
    phone.ok(&["sync"]);
    assert_eq!(laptop.export(), phone.export());
    let export = phone.export();
    for id in &acked {
        assert!(export.contains(id.as_str()), "{id} lost");
    }
    assert!(
        recovered_without_restart,
        "the relay needed a restart to recover from a full disk"
    );
}
