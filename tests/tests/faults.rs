//! Faults below the sync layer, through the storage traits: power cuts on a
//! device and on the relay, a full disk on the relay, and a relay that lies
//! about what it stores. "Nothing lost" means every write acknowledged to
//! the user, and every record the relay acknowledged, is on every device
//! after they sync again, with identical exports. Results and commands:
//! docs/reliability.md.

use interlog_core::ReadJournal as _;
use std::sync::Arc;

use interlog_core::store::{MemoryStorage, StoreError};
use interlog_core::sync::{self, JoinCode, SyncError};
use interlog_core::{Vault, VaultDoc};
use interlog_e2e::faults::{FaultyRelayStore, PowerCutStorage, PowerPlan, Tamper};
use interlog_e2e::sim::{count_from_env, merged_export, random_edit, InProcRelay, Rng, SimDevice};
use interlog_relay::store::MemoryRelayStore;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Syncs every device, twice round, and checks they all show `want` ids and
/// the same export.
async fn converge<S: interlog_core::store::Storage>(
    devices: &mut [&mut SimDevice<S>],
    acked: &[String],
) -> String {
    for _round in 0..2 {
        for d in devices.iter_mut() {
            d.sync().await.expect("sync after the fault");
        }
    }
    let export = devices[0].export();
    for (i, d) in devices.iter().enumerate() {
        assert_eq!(d.export(), export, "device {i} differs after syncing");
    }
    for id in acked {
        assert!(
            export.contains(id.as_str()),
            "acknowledged record {id} was lost"
        );
    }
    export
}

/// One device's life on a disk that loses power at its `plan`'s write: it
/// joins a vault, edits, syncs and compacts beside a peer; after the cut it
/// reboots and syncs. Returns how many writes the run made before the cut
/// and whether the cut happened.
async fn device_life(url: &str, plan: PowerPlan) -> (usize, bool) {
    let mut rng = Rng::new(42);
    let mut peer = SimDevice::first(url).await;
    let mut acked = Vec::new();
    for _ in 0..3 {
        acked.extend(random_edit(&mut peer.v.doc, &mut rng));
        peer.v.save("edit").unwrap();
    }
    peer.sync().await.unwrap();

    let disk = PowerCutStorage::new(plan);
    let mut dev = match SimDevice::join_into(&peer.m, disk.clone()).await {
        Ok(d) => Some(d),
        Err(e) => {
            assert!(disk.is_down(), "join failed without a power cut: {e}");
            None
        }
    };
    // The device's document as of its last acknowledged save.
    let mut acked_state: Option<Vec<u8>> = None;
    if let Some(d) = dev.as_mut() {
        for i in 0..24 {
            let created = random_edit(&mut d.v.doc, &mut rng);
            let step: Result<(), String> = async {
                d.v.save("edit").map_err(|e| e.to_string())?;
                acked.extend(created);
                acked_state = Some(d.v.doc.save());
                if i % 5 == 4 {
                    d.sync().await.map_err(|e| e.to_string())?;
                }
                if i % 8 == 7 {
                    d.v.compact().map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = step {
                assert!(disk.is_down(), "step {i} failed without a power cut: {e}");
                break;
            }
            if i % 6 == 2 {
                acked.extend(random_edit(&mut peer.v.doc, &mut rng));
                peer.v.save("edit").unwrap();
                peer.sync().await.unwrap();
            }
        }
    }
    let writes = disk.writes();
    let cut = disk.is_down();
    // Power back on, and no cut later (a run can make fewer writes than the
    // clean run it was planned from).
    disk.reboot();
    // After the reboot: the store opens with every acknowledged write, or
    // (power lost during the join) holds no vault and the join is rerun.
    let mut dev = match Vault::open(disk.clone()) {
        Ok(v) => SimDevice {
            v,
            m: peer.m.clone(),
        },
        Err(StoreError::NoVault { .. }) => {
            assert!(dev.is_none(), "a joined device lost its vault");
            SimDevice::join_into(&peer.m, disk.clone())
                .await
                .expect("join again")
        }
        Err(e) => panic!("the store does not reopen after a power cut: {e}"),
    };
    let local = dev.export();
    if let Some(state) = &acked_state {
        // Every acknowledged change is in the reopened document: merging the
        // acknowledged state into it changes nothing.
        let mut check = VaultDoc::load(Some(&dev.v.doc.save()), []).unwrap();
        check.merge_bytes(state).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&check.to_json()).unwrap(),
            local,
            "an acknowledged edit was lost in the power cut"
        );
    }
    for id in acked
        .iter()
        .filter(|id| !peer.export().contains(id.as_str()))
    {
        assert!(
            local.contains(id.as_str()),
            "acknowledged write {id} lost in the power cut"
        );
    }
    converge(&mut [&mut dev], &[]).await;
    let mut peer_dev = peer;
    let export = {
        for _ in 0..2 {
            dev.sync().await.expect("device syncs after the reboot");
            peer_dev.sync().await.expect("peer syncs");
        }
        assert_eq!(dev.export(), peer_dev.export(), "device and peer differ");
        dev.export()
    };
    for id in &acked {
        assert!(
            export.contains(id.as_str()),
            "acknowledged write {id} was lost"
        );
    }
    (writes, cut)
}

#[test]
fn power_loss_on_a_device_loses_no_acknowledged_write() {
    let rt = runtime();
    rt.block_on(async {
        let relay = InProcRelay::start(Arc::new(MemoryRelayStore::default())).await;
        let (writes, _) = device_life(&relay.url, PowerPlan::default()).await;
        let every = count_from_env("INTERLOG_POWER_CUT_EVERY", 1).max(1);
        let mut cuts = 0;
        for k in (1..=writes).step_by(every) {
            for keep in [false, true] {
                cuts += usize::from(device_life(&relay.url, PowerPlan::cut_at(k, keep)).await.1);
            }
        }
        eprintln!("device power loss: {cuts} cuts over {writes} writes (each write lost, and each kept but unacknowledged); nothing acknowledged lost");
        assert!(cuts >= writes / every, "most planned cuts must happen");
    });
}

/// Two devices edit and sync while the relay's disk loses power at its
/// `plan`'s write; the relay restarts on what its disk kept. Returns writes.
async fn relay_life(plan: PowerPlan) -> usize {
    let store = Arc::new(FaultyRelayStore::new(MemoryRelayStore::default()));
    let mut relay = InProcRelay::start(store.clone()).await;
    let addr = relay.addr;
    let mut a = SimDevice::first(&relay.url).await;
    let mut b = SimDevice::join(&a.m).await.unwrap();
    store.faults().power = plan;
    let mut rng = Rng::new(7);
    let mut acked = Vec::new();
    let mut restarts = 0;
    for i in 0..16 {
        let d = if i % 2 == 0 { &mut a } else { &mut b };
        acked.extend(random_edit(&mut d.v.doc, &mut rng));
        d.v.save("edit").unwrap();
        if let Err(e) = d.sync().await {
            assert!(
                store.faults().power.down,
                "sync failed without a fault: {e}"
            );
            relay.crash().await;
            store.faults().power.reboot();
            relay = InProcRelay::restart_on(addr, store.clone()).await;
            restarts += 1;
        }
    }
    let writes = store.faults().power.writes;
    assert!(restarts <= 1);
    if store.faults().power.down {
        relay.crash().await;
        store.faults().power.reboot();
        relay = InProcRelay::restart_on(addr, store.clone()).await;
    }
    // What both devices acknowledged, merged: what both must end with.
    let expected = merged_export(&mut [&mut a.v.doc, &mut b.v.doc]);
    let export = converge(&mut [&mut a, &mut b], &acked).await;
    assert_eq!(export, expected, "an acknowledged change was lost");
    let fresh = SimDevice::join(&a.m).await.expect("a new device joins");
    assert_eq!(fresh.export(), export, "a new device differs");
    relay.stop().await;
    writes
}

#[test]
fn power_loss_on_the_relay_loses_no_acknowledged_record() {
    let rt = runtime();
    rt.block_on(async {
        let writes = relay_life(PowerPlan::default()).await;
        let every = count_from_env("INTERLOG_POWER_CUT_EVERY", 1).max(1);
        let mut cuts = 0;
        for k in (1..=writes).step_by(every) {
            for keep in [false, true] {
                relay_life(PowerPlan::cut_at(k, keep)).await;
                cuts += 1;
            }
        }
        eprintln!("relay power loss: {cuts} cuts over {writes} writes; nothing acknowledged lost");
    });
}

#[test]
fn a_full_disk_on_the_relay_refuses_writes_clearly_and_recovers() {
    let rt = runtime();
    rt.block_on(async {
        let store = Arc::new(FaultyRelayStore::new(MemoryRelayStore::default()));
        let relay = InProcRelay::start(store.clone()).await;
        let mut rng = Rng::new(3);
        let mut a1 = SimDevice::first(&relay.url).await;
        let mut b1 = SimDevice::join(&a1.m).await.unwrap();
        let mut a2 = SimDevice::first(&relay.url).await;
        let mut b2 = SimDevice::join(&a2.m).await.unwrap();
        for d in [&mut a1, &mut a2] {
            random_edit(&mut d.v.doc, &mut rng);
            d.v.save("edit").unwrap();
            d.sync().await.unwrap();
        }

        store.faults().disk_full = true;
        let id = loop {
            if let Some(id) = random_edit(&mut a1.v.doc, &mut rng) {
                break id;
            }
        };
        a1.v.save("edit").unwrap();
        let err = a1.sync().await.expect_err("an append on a full disk fails");
        let msg = err.to_string();
        assert!(msg.contains("out of disk space"), "unclear error: {msg}");
        assert!(msg.contains("safe on this device"), "unclear error: {msg}");
        assert!(a1.export().contains(&id), "the local write is kept");
        // Reads go on: devices with nothing to send sync, in both vaults.
        b1.sync().await.expect("a read-only sync on a full relay");
        b2.sync()
            .await
            .expect("another vault reads on a full relay");
        a2.sync()
            .await
            .expect("another vault reads on a full relay");
        // A new vault cannot be created, and says why.
        let mut newcomer = SimDevice {
            v: Vault::init(interlog_core::store::MemoryStorage::new()).unwrap(),
            m: interlog_core::sync::Membership {
                relay: relay.url.clone(),
                pin: None,
                vault: "x".into(),
                key: interlog_core::crypto::VaultKey::generate().unwrap(),
            },
        };
        newcomer.m.vault = newcomer.v.vault_id();
        let err = newcomer
            .sync()
            .await
            .expect_err("registering on a full disk fails");
        assert!(err.to_string().contains("out of disk space"), "{err}");
        assert!(store.faults().refused_full >= 2);

        // Space is back: the waiting change goes through, nothing is damaged.
        store.faults().disk_full = false;
        let report = a1.sync().await.expect("sync once space is back");
        assert_eq!(report.pushed, 1);
        converge(&mut [&mut a1, &mut b1], &[id]).await;
        converge(&mut [&mut a2, &mut b2], &[]).await;
        newcomer
            .sync()
            .await
            .expect("registration once space is back");
        relay.stop().await;
    });
}

/// Sets up a vault whose second device has four records to pull, with a
/// first snapshot and a newer one on the relay, then lets the relay lie.
async fn tampering(mode: Tamper) {
    let store = Arc::new(FaultyRelayStore::new(MemoryRelayStore::default()));
    let relay = InProcRelay::start(store.clone()).await;
    let mut rng = Rng::new(11);
    let mut a = SimDevice::first(&relay.url).await;
    a.sync_snapshot().await.unwrap();
    let mut b = SimDevice::join(&a.m).await.unwrap();
    for _ in 0..4 {
        while random_edit(&mut a.v.doc, &mut rng).is_none() {}
        a.v.save("edit").unwrap();
        a.sync().await.unwrap();
    }
    a.sync_snapshot().await.unwrap();

    store.faults().tamper = Some(mode);
    match mode {
        Tamper::OldSnapshotAsNew => {
            // The relabelled snapshot is refused, and the join reads the
            // records instead, saying why.
            let code = JoinCode::parse(&JoinCode::new(&a.m).encode()).unwrap();
            let (v, report) = sync::join(&code, MemoryStorage::new())
                .await
                .expect("a join that passes over a relabelled snapshot");
            let why = report.snapshot_refused.expect("the refusal is reported");
            assert!(why.contains("failed authentication"), "{why}");
            let joined = serde_json::to_string_pretty(&v.doc.to_json()).unwrap();
            assert_eq!(joined, a.export());
        }
        Tamper::OldSnapshot => {
            // An old but honest snapshot is only a slower start: the records
            // after it come too, and the new device is complete.
            let c = SimDevice::join(&a.m)
                .await
                .expect("join from an old snapshot");
            assert_eq!(c.export(), a.export());
        }
        _ => {
            let before = b.export();
            let err = b.sync().await.expect_err("a tampered record is refused");
            let msg = err.to_string();
            if mode == Tamper::Withhold {
                assert!(matches!(err, SyncError::Unapplicable { .. }), "{msg}");
                assert!(msg.contains("missing"), "{msg}");
            } else {
                assert!(matches!(err, SyncError::Tampered { .. }), "{msg}");
                assert!(
                    msg.contains("failed authentication")
                        && msg.contains("nothing of it was applied"),
                    "{msg}"
                );
            }
            assert_eq!(b.export(), before, "{mode:?}: something was applied");
        }
    }
    // The relay stops lying: everything arrives, nothing was damaged.
    store.faults().tamper = None;
    b.sync().await.expect("an honest sync");
    assert_eq!(b.export(), a.export());
    relay.stop().await;
}

#[test]
fn a_lying_relay_is_detected_and_nothing_is_applied() {
    let rt = runtime();
    rt.block_on(async {
        for mode in [
            Tamper::FlipByte,
            Tamper::SwapRecords,
            Tamper::Replay,
            Tamper::Withhold,
            Tamper::OldSnapshotAsNew,
            Tamper::OldSnapshot,
        ] {
            tampering(mode).await;
        }
    });
}

/// Regression (issue 13): an honest import made one change larger than a
/// frame (32 MiB); its record could never be sent, so every later sync
/// failed and nothing written afterwards left the device. Such a change now
/// travels as parts of 4 MiB, and what follows travels too.
#[test]
fn a_change_larger_than_a_frame_travels_in_parts() {
    let rt = runtime();
    rt.block_on(async {
        let relay = InProcRelay::start(Arc::new(MemoryRelayStore::default())).await;
        let mut a = SimDevice::first(&relay.url).await;
        let mut b = SimDevice::join(&a.m).await.unwrap();
        // 48 MiB of text that compresses poorly: a chunk well over 32 MiB.
        let mut rng = Rng::new(7);
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";
        let notes: String = (0..48 << 20)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
            .collect();
        let mut patch = serde_json::Map::new();
        patch.insert("name".into(), "Imported".into());
        patch.insert("notes".into(), notes.into());
        a.v.doc
            .create(interlog_core::Kind::Company, &patch)
            .unwrap();
        a.v.save("import").unwrap();
        let report = a
            .sync()
            .await
            .expect("a change over the frame limit is sent");
        assert!(report.pushed > 8, "{} records", report.pushed);

        while random_edit(&mut a.v.doc, &mut rng).is_none() {}
        a.v.save("a small change after it").unwrap();
        assert_eq!(a.sync().await.unwrap().pushed, 1);
        b.sync().await.expect("the parts arrive and apply");
        assert_eq!(b.export(), a.export());
        relay.stop().await;
    });
}
