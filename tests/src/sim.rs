//! In-process pieces for the reliability suites: a relay on loopback over
//! any [`RelayStore`] (fault-injecting ones included), devices as library
//! [`Vault`]s driven through the real sync client, and random journal edits
//! across every record kind.
//!
//! The suites in `tests/tests/` that use this run thousands of syncs, so
//! they skip process start-up; the suites that need real processes (kill -9)
//! use [`crate::Device`] and [`crate::TestRelay`] instead.

use interlog_core::ReadJournal as _;
use std::sync::Arc;

use interlog_core::crypto::VaultKey;
use interlog_core::model::{fields, FieldType, COMP_AMOUNTS, PERIODS};
use interlog_core::store::{MemoryStorage, Storage};
use interlog_core::sync::{self, JoinCode, Membership, SyncError};
use interlog_core::{Kind, Vault, VaultDoc};
use interlog_relay::settings::Settings;
use interlog_relay::store::RelayStore;
use serde_json::{json, Map, Value};

/// A deterministic PRNG (xorshift64*), so a failing run can be replayed from
/// its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// A seed from `var` if set, else `default`; printed so a run can be replayed.
pub fn seed_from_env(var: &str, default: u64) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(default);
    eprintln!("{var}={seed:#x}");
    seed
}

/// A count from `var` if set, else `default`.
pub fn count_from_env(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A relay served from this process, on 127.0.0.1 with a free port.
pub struct InProcRelay {
    pub url: String,
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _data: tempfile::TempDir,
}

impl InProcRelay {
    /// Starts a relay with open registration over `store`.
    pub async fn start<S: RelayStore>(store: Arc<S>) -> Self {
        Self::start_with(store, |_| {}).await
    }

    /// [`Self::start`] with adjusted settings.
    pub async fn start_with<S: RelayStore>(store: Arc<S>, f: impl FnOnce(&mut Settings)) -> Self {
        let data = tempfile::tempdir().expect("relay data dir");
        let mut settings = Settings::for_tests(data.path());
        f(&mut settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, settings, store, data)
    }

    /// Starts a relay on an address a stopped one used (a restart).
    pub async fn restart_on<S: RelayStore>(addr: std::net::SocketAddr, store: Arc<S>) -> Self {
        let data = tempfile::tempdir().expect("relay data dir");
        let settings = Settings::for_tests(data.path());
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebind {addr}: {e}"),
            }
        };
        Self::serve(listener, settings, store, data)
    }

    fn serve<S: RelayStore>(
        listener: tokio::net::TcpListener,
        settings: Settings,
        store: Arc<S>,
        data: tempfile::TempDir,
    ) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            interlog_relay::run_with_store(listener, None, settings, store, async {
                let _ = rx.await;
            })
            .await
            .expect("relay runs");
        });
        InProcRelay {
            url: format!("ws://{addr}"),
            addr,
            stop: Some(tx),
            task,
            _data: data,
        }
    }

    /// Stops the relay abruptly: open connections are dropped mid-frame,
    /// as when the process dies.
    pub async fn crash(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.stop.take();
    }

    /// Stops the relay gracefully.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task).await;
        self.task.abort();
    }
}

/// One device: a vault in some storage plus its membership of a relay vault.
pub struct SimDevice<S: Storage = MemoryStorage> {
    pub v: Vault<S>,
    pub m: Membership,
}

impl SimDevice<MemoryStorage> {
    /// A new vault on a new device, registered on the relay at `url`.
    pub async fn first(url: &str) -> Self {
        let v = Vault::init(MemoryStorage::new()).expect("init a vault in memory");
        let m = Membership {
            relay: url.to_string(),
            pin: None,
            vault: v.vault_id(),
            key: VaultKey::generate().expect("a vault key"),
        };
        let mut d = SimDevice { v, m };
        d.sync().await.expect("the first sync registers the vault");
        d
    }

    /// A new device joining `of`'s vault from a join code.
    pub async fn join(of: &Membership) -> Result<Self, SyncError> {
        Self::join_into(of, MemoryStorage::new()).await
    }
}

impl<S: Storage> SimDevice<S> {
    /// A new device joining `of`'s vault, in the given storage.
    pub async fn join_into(of: &Membership, store: S) -> Result<Self, SyncError> {
        let code = JoinCode::parse(&JoinCode::new(of).encode())?;
        let (v, _) = sync::join(&code, store).await?;
        Ok(SimDevice {
            v,
            m: code.membership(),
        })
    }

    /// The device after a restart: everything in memory is gone and the
    /// vault is opened again from what its storage holds (clones of a
    /// storage must read the same data).
    pub fn restart(&mut self)
    where
        S: Clone,
    {
        let storage = self.v.storage().clone();
        self.v = Vault::open(storage).expect("the store reopens after a restart");
    }

    pub async fn sync(&mut self) -> Result<sync::Report, SyncError> {
        sync::run(&mut self.v, &self.m, sync::Options::default()).await
    }

    /// A one-shot sync that also uploads a whole-document snapshot
    /// (`interlog sync --snapshot`).
    pub async fn sync_snapshot(&mut self) -> Result<sync::Report, SyncError> {
        let options = sync::Options {
            force_snapshot: true,
            ..sync::Options::default()
        };
        sync::run(&mut self.v, &self.m, options).await
    }

    /// What `interlog export` writes: the deterministic JSON export.
    pub fn export(&self) -> String {
        serde_json::to_string_pretty(&self.v.doc.to_json()).expect("JSON export")
    }
}

/// The export of the merge of several documents: what every device must
/// show once all of them have synced.
pub fn merged_export(docs: &mut [&mut VaultDoc]) -> String {
    let (first, rest) = docs.split_first_mut().expect("at least one document");
    let mut all = VaultDoc::load(Some(&first.save()), []).expect("load a device's document");
    for d in rest.iter_mut() {
        all.merge_bytes(&d.save())
            .expect("merge a device's document");
    }
    serde_json::to_string_pretty(&all.to_json()).expect("JSON export")
}

fn scalar_value(ty: FieldType, doc: &VaultDoc, rng: &mut Rng) -> Option<Value> {
    let words = [
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "été ✓",
        "",
    ];
    Some(match ty {
        FieldType::Text | FieldType::Prose => {
            let w = rng.pick(&words).copied().unwrap_or_default();
            Value::String(format!("{w} {}", rng.below(100)))
        }
        FieldType::Int { min, max } => {
            let span = (max - min).unsigned_abs().min(1_000_000) + 1;
            Value::from(min + (rng.next_u64() % span) as i64)
        }
        FieldType::Bool => Value::Bool(rng.below(2) == 0),
        FieldType::Date => Value::String(format!(
            "2026-{:02}-{:02}",
            1 + rng.below(12),
            1 + rng.below(28)
        )),
        FieldType::DateTime => Value::String(format!(
            "2026-11-{:02}T{:02}:00:00+01:00[Europe/Paris]",
            1 + rng.below(28),
            8 + rng.below(10)
        )),
        FieldType::Enum(values) => Value::String(rng.pick(values)?.to_string()),
        FieldType::Ref(kind) => {
            let ids: Vec<String> = doc.records(kind).into_iter().map(|r| r.id).collect();
            Value::String(rng.pick(&ids)?.clone())
        }
        FieldType::AnyRef => {
            let ids: Vec<String> = Kind::ALL
                .iter()
                .flat_map(|k| doc.records(*k))
                .map(|r| r.id)
                .collect();
            Value::String(rng.pick(&ids)?.clone())
        }
        FieldType::Comp => {
            let mut comp = Map::new();
            comp.insert("currency".into(), json!(rng.pick(&["EUR", "USD"])?));
            comp.insert("period".into(), json!(rng.pick(PERIODS)?));
            comp.insert(
                rng.pick(&COMP_AMOUNTS)?.to_string(),
                json!(rng.below(20_000_000)),
            );
            Value::Object(comp)
        }
        _ => return None,
    })
}

/// Every record of every kind, deleted ones included, in a stable order.
fn all_records(doc: &VaultDoc) -> Vec<(Kind, String)> {
    let mut out: Vec<(Kind, String)> = Kind::ALL
        .iter()
        .flat_map(|k| doc.records(*k).into_iter().map(move |r| (*k, r.id)))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// One random edit, as a user makes them: creating a record of any kind,
/// editing a field, deleting or restoring, changing a set, adding an entry,
/// rating a question, or editing the profile. Devices that hold the same
/// records pick the same one for the same `rng` state, so concurrent edits of
/// one field are common. Returns the id of a created record.
pub fn random_edit(doc: &mut VaultDoc, rng: &mut Rng) -> Option<String> {
    let records = all_records(doc);
    let op = if records.is_empty() { 0 } else { rng.below(9) };
    match op {
        0 | 1 => {
            let kind = *rng.pick(&Kind::ALL)?;
            let mut patch = Map::new();
            for spec in fields(kind).filter(|s| !s.ty.is_container()) {
                if matches!(spec.name, "created_at" | "deleted_at") || rng.below(3) != 0 {
                    continue;
                }
                if let Some(v) = scalar_value(spec.ty, doc, rng) {
                    patch.insert(spec.name.into(), v);
                }
            }
            doc.create(kind, &patch).ok()
        }
        2 | 3 => {
            let (kind, id) = rng.pick(&records)?.clone();
            let specs: Vec<_> = fields(kind)
                .filter(|s| !matches!(s.name, "created_at" | "deleted_at"))
                .filter(|s| !s.ty.is_container() || matches!(s.ty, FieldType::Comp))
                .collect();
            let spec = rng.pick(&specs)?;
            if rng.below(6) == 0 {
                doc.unset(kind, &id, &[spec.name]).ok()?;
            } else {
                let v = scalar_value(spec.ty, doc, rng)?;
                let mut patch = Map::new();
                patch.insert(spec.name.into(), v);
                doc.update(kind, &id, &patch).ok()?;
            }
            None
        }
        4 => {
            let (kind, id) = rng.pick(&records)?.clone();
            let deleted = doc.record(kind, &id).is_some_and(|r| r.is_deleted());
            if deleted {
                doc.unset(kind, &id, &["deleted_at"]).ok()?;
            } else {
                let mut patch = Map::new();
                patch.insert("deleted_at".into(), json!("2026-11-22T10:00:00Z"));
                doc.update(kind, &id, &patch).ok()?;
            }
            None
        }
        5 => {
            let (kind, id) = rng.pick(&records)?.clone();
            let sets: Vec<_> = fields(kind)
                .filter(|s| {
                    matches!(
                        s.ty,
                        FieldType::Set | FieldType::EnumSet(_) | FieldType::RefSet(_)
                    )
                })
                .collect();
            let spec = rng.pick(&sets)?;
            let pool: Vec<String> = match spec.ty {
                FieldType::EnumSet(values) => values.iter().map(|v| v.to_string()).collect(),
                FieldType::RefSet(k) => doc.records(k).into_iter().map(|r| r.id).collect(),
                _ => ["remote", "senior", "rust", "fintech"]
                    .iter()
                    .map(|v| v.to_string())
                    .collect(),
            };
            let members: Vec<String> = pool.into_iter().filter(|_| rng.below(2) == 0).collect();
            doc.set_members(kind, &id, spec.name, &members).ok()?;
            None
        }
        6 => {
            let (kind, id) = rng.pick(&records)?.clone();
            let entries: Vec<_> = fields(kind)
                .filter(|s| matches!(s.ty, FieldType::Entries))
                .collect();
            let spec = rng.pick(&entries)?;
            let mut entry = Map::new();
            entry.insert(
                "at".into(),
                json!(format!("2026-10-{:02}", 1 + rng.below(28))),
            );
            entry.insert("note".into(), json!(format!("entry {}", rng.below(1000))));
            doc.add_entry(kind, &id, spec.name, &entry).ok()?;
            None
        }
        7 => {
            let (kind, id) = rng.pick(&records)?.clone();
            let ratings: Vec<_> = fields(kind)
                .filter(|s| matches!(s.ty, FieldType::Ratings))
                .collect();
            let spec = rng.pick(&ratings)?;
            let questions: Vec<String> = doc
                .records(Kind::Question)
                .into_iter()
                .map(|r| r.id)
                .collect();
            let q = rng.pick(&questions)?.clone();
            let mut inner = Map::new();
            inner.insert(q, json!(1 + rng.below(5)));
            let mut patch = Map::new();
            patch.insert(spec.name.into(), Value::Object(inner));
            doc.update(kind, &id, &patch).ok()?;
            None
        }
        _ => {
            let mut patch = Map::new();
            patch.insert(
                "role".into(),
                json!(format!("Staff engineer {}", rng.below(50))),
            );
            doc.update_profile(&patch).ok()?;
            None
        }
    }
}
