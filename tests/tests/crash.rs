//! kill -9 in the middle of commands leaves the store loadable with every
//! acknowledged write intact.

use std::time::Duration;

use interlog_e2e::Device;

/// A small deterministic PRNG (xorshift), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_mid_write_loses_no_acknowledged_write() {
    let d = Device::init();
    let seed = std::env::var("INTERLOG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let rounds: usize = std::env::var("INTERLOG_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(160);
    let mut rng = Rng(seed);
    // Bring the store close to its compaction threshold, so some kills land
    // around a compaction too.
    let mut acknowledged: Vec<String> =
        (0..100).map(|i| d.log(&[&format!("Warmup {i}")])).collect();
    let mut killed = 0;
    // Kills that left a compaction's files behind (a temporary or a second
    // snapshot file), for the next open to remove.
    let mut mid_compaction = 0;
    for i in 0..rounds {
        let company = format!("Company {i}");
        let mut child = d
            .cmd(&["log", &company, "--note", &"x".repeat(200)])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Sleep somewhere inside the command's lifetime, then SIGKILL it.
        std::thread::sleep(Duration::from_micros(rng.next() % 25_000));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL on Unix
            killed += 1;
        }
        let out = child.wait_with_output().unwrap();
        if store_snapshot_files(&d.home().join("store")).len() > 1 {
            mid_compaction += 1;
        }
        // A command that was not killed must succeed, whatever its killed
        // predecessors left behind.
        assert!(
            !finished || out.status.success(),
            "round {i} (seed {seed:#x}) failed after earlier kills: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
            assert_eq!(id.len(), 26, "an acknowledged write prints its id");
            acknowledged.push(id);
        }
    }
    eprintln!(
        "seed {seed:#x}: {rounds} writes, {killed} killed ({mid_compaction} mid-compaction), {} acknowledged",
        acknowledged.len()
    );
    assert!(killed > 0, "the test must actually kill some writes");

    let listed = d.json(&["list", "interviews"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in &acknowledged {
        assert!(
            ids.contains(&id.as_str()),
            "acknowledged interview {id} was lost"
        );
    }
    // The store still takes writes after all that.
    let after = d.log(&["Afterwards"]);
    d.ok(&["show", &after]);
    let files = store_snapshot_files(&d.home().join("store"));
    assert!(
        files.len() == 1 && !files[0].ends_with(".tmp"),
        "one snapshot file after the kills, none left over: {files:?}"
    );
}

/// Set in the child process of [`kill_9_mid_compaction_leaves_the_old_snapshot_or_the_new`]:
/// the store directory it works on.
const COMPACTION_CHILD: &str = "INTERLOG_COMPACTION_CHILD";
/// Large enough that writing and fsyncing it takes a while, so kills land
/// inside compactions.
const SNAPSHOT_BYTES: usize = 512 * 1024;

/// A snapshot that says which chunks it covers.
fn snapshot_through(seq: u64) -> Vec<u8> {
    let mut s = format!("through {seq}\n").into_bytes();
    s.resize(SNAPSHOT_BYTES, b'.');
    s
}

/// The `document.*` files in a store directory (none if it does not exist
/// yet).
fn store_snapshot_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("document."))
        .collect()
}

/// The child: appends and compacts the store for ever, printing each call
/// it got back from (what it would acknowledge).
fn compact_for_ever(dir: &std::path::Path) -> ! {
    use interlog_core::store::{SledStorage, Storage};
    let mut s = SledStorage::open(dir).unwrap();
    loop {
        let seq = s.last_seq().unwrap() + 1;
        let got = s.append(format!("chunk {seq}").as_bytes()).unwrap();
        assert_eq!(got, seq);
        println!("appended {seq}");
        if seq.is_multiple_of(2) {
            s.compact(&snapshot_through(seq), seq).unwrap();
            println!("compacted {seq}");
        }
    }
}

/// kill -9 of a process compacting the real sled store at random moments:
/// each reopen finds one whole state (a snapshot and exactly the chunks
/// after it), nothing the process had acknowledged is lost, and no leftover
/// snapshot file survives the open.
#[test]
fn kill_9_mid_compaction_leaves_the_old_snapshot_or_the_new() {
    use interlog_core::store::{SledStorage, Storage};
    if let Ok(dir) = std::env::var(COMPACTION_CHILD) {
        compact_for_ever(std::path::Path::new(&dir));
    }
    let kills: usize = std::env::var("INTERLOG_COMPACTION_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed = std::env::var("INTERLOG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed);
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("store");
    let (mut acked_seq, mut acked_through, mut left_over) = (0u64, 0u64, 0);
    for round in 0..kills {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "kill_9_mid_compaction_leaves_the_old_snapshot_or_the_new",
                "--exact",
                "--nocapture",
            ])
            .env(COMPACTION_CHILD, &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + rng.next() % 300));
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.code().is_none(),
            "round {round} (seed {seed:#x}): the child failed on its own: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let number = |l: &str| l.parse::<u64>().unwrap();
            if let Some(n) = line.strip_prefix("appended ") {
                acked_seq = acked_seq.max(number(n));
            } else if let Some(n) = line.strip_prefix("compacted ") {
                acked_through = acked_through.max(number(n));
            }
        }
        let files = store_snapshot_files(&dir);
        if files.len() > 1 {
            left_over += 1;
        }

        let s = SledStorage::open(&dir).unwrap();
        let stored = s.load().unwrap();
        // Killed before its first compaction, the store has no snapshot yet.
        let through = stored.snapshot.map_or(0, |snapshot| {
            let through = String::from_utf8_lossy(&snapshot[..snapshot.len().min(32)])
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("through "))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("round {round}: a damaged snapshot"));
            assert_eq!(snapshot, snapshot_through(through), "round {round}");
            through
        });
        let seqs: Vec<u64> = stored.chunks.iter().map(|(seq, _)| *seq).collect();
        let last = s.last_seq().unwrap();
        assert_eq!(
            seqs,
            (through + 1..=last).collect::<Vec<_>>(),
            "round {round} (seed {seed:#x}): the chunks after the snapshot, all of them"
        );
        for (seq, chunk) in &stored.chunks {
            assert_eq!(chunk, format!("chunk {seq}").as_bytes(), "round {round}");
        }
        assert!(
            last >= acked_seq,
            "round {round}: an acknowledged append was lost"
        );
        assert!(
            through >= acked_through,
            "round {round}: an acknowledged compaction was undone"
        );
        let files = store_snapshot_files(&dir);
        assert_eq!(
            files.len(),
            1,
            "round {round}: leftovers survived the open: {files:?}"
        );
    }
    eprintln!(
        "compaction kills (seed {seed:#x}): {kills} kills, {left_over} left a compaction's files behind; {acked_seq} appends and compactions through {acked_through} acknowledged, all kept"
    );
    assert!(left_over > 0, "no kill landed inside a compaction");
}
