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
        "seed {seed:#x}: {rounds} writes, {killed} killed, {} acknowledged",
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
}
