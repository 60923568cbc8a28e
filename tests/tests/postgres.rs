//! Several relay instances on one Postgres database, as a relay run for
//! many people is deployed (docs/self-hosting.md, "Several instances"):
//! devices on different instances see each other's changes live, and a
//! killed instance loses nothing it acknowledged, its devices carrying on
//! through the other one behind the same address.
//!
//! Each test needs `INTERLOG_TEST_DATABASE_URL` (`.ci/postgres start`
//! sets it; CI always does) and says it was skipped without it.

use std::time::Duration;

use interlog_e2e::balancer::Balancer;
use interlog_e2e::{eventually_within, Device, PostgresRelays};

/// Well under the 30 s after which a live device reads from its cursors
/// anyway: what arrives within this came through the wake-up.
const LIVE: Duration = Duration::from_secs(10);

fn joined(of: &Device) -> Device {
    let code = of.json(&["pair"])["code"].as_str().unwrap().to_string();
    let d = Device::new();
    d.ok(&["join", &code]);
    d
}

#[test]
fn a_device_on_one_instance_receives_live_what_a_device_on_the_other_appends() {
    let Some(relays) = PostgresRelays::start(2, "live fan-out across two relays") else {
        return;
    };
    let (one, two) = (&relays.instances[0], &relays.instances[1]);
    let laptop = Device::init();
    laptop.ok(&["sync", "--relay", &one.url()]);
    let phone = joined(&laptop);
    // The phone talks to the other instance from now on.
    phone.ok(&["sync", "--relay", &two.url()]);
    let _phone_watch = phone.watch();
    let _laptop_watch = laptop.watch();

    // The first change may arrive with the watcher's first pull; the
    // second comes while it is already live.
    for (n, (from, to)) in [(&laptop, &phone), (&laptop, &phone), (&phone, &laptop)]
        .into_iter()
        .enumerate()
    {
        let id = from.log(&[&format!("Across {n}"), "--kind", "technical"]);
        eventually_within(
            LIVE,
            &format!("change {n} never reached the device on the other instance"),
            || to.has_interview(&id),
        );
    }
    for r in &relays.instances {
        assert!(r.panics().is_empty(), "{}", r.log());
    }
    eventually_within(LIVE, "the two devices never converged", || {
        laptop.export() == phone.export()
    });
}

#[test]
fn an_instance_killed_mid_sync_loses_nothing_and_its_devices_carry_on_through_the_other() {
    let Some(mut relays) = PostgresRelays::start(2, "an instance killed mid-sync") else {
        return;
    };
    let addrs: Vec<String> = relays.instances.iter().map(|r| r.addr.clone()).collect();
    let balancer = Balancer::start(&addrs);
    let a = Device::init();
    a.ok(&["sync", "--relay", &balancer.url()]);
    let b = joined(&a);
    let mut ids = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..6 {
        for d in [&a, &b] {
            for i in 0..3 {
                ids.push(d.log(&[&format!("R{round} {i}")]));
            }
        }
        // Syncs in flight on both devices, and the instance the balancer
        // sends them to (the first one up) dies under them.
        let quiet = |d: &Device| {
            d.cmd(&["sync"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let (sa, sb) = (quiet(&a), quiet(&b));
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 60));
        relays.instances[0].kill9();
        for mut s in [sa, sb] {
            let _ = s.wait();
        }
        // The balancer now sends them to the other instance, which has
        // everything the dead one acknowledged.
        a.ok(&["sync"]);
        b.ok(&["sync"]);
        relays.instances[0].restart();
    }
    // A watcher through the balancer, and its instance killed under it: it
    // reconnects to the other one and the next change still arrives live.
    let _watch = b.watch();
    let before = a.log(&["Before the kill"]);
    a.ok(&["sync"]);
    eventually_within(LIVE, "the watcher never got the change", || {
        b.has_interview(&before)
    });
    relays.instances[0].kill9();
    let after = a.log(&["After the kill"]);
    a.ok(&["sync"]);
    eventually_within(
        Duration::from_secs(20),
        "the watcher never got the change after its instance died",
        || b.has_interview(&after),
    );
    ids.extend([before, after]);
    for _ in 0..2 {
        a.ok(&["sync"]);
        b.ok(&["sync"]);
    }
    for (n, id) in ids.iter().enumerate() {
        assert!(
            a.has_interview(id) && b.has_interview(id),
            "interview {n} {id} was lost: on a {} on b {}; a: {} b: {}",
            a.has_interview(id),
            b.has_interview(id),
            a.ok(&["--json", "sync", "status"]),
            b.ok(&["--json", "sync", "status"])
        );
    }
    assert_eq!(a.export(), b.export());
}
