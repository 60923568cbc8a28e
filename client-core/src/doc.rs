//! The vault document: typed edits and reads on top of Automerge.
//!
//! Layout (schema 1): the root holds `meta` (schema version, vault id),
//! `profile`, and one map per record kind keyed by ULID. Every container a
//! record has (sets, nested maps, entry maps) is created in the same change
//! as the record, so two devices never race to create the same nested map:
//! in Automerge such a race keeps one map and hides the other's contents.
//! Writes touch only the keys they change, which is what keeps fields from a
//! newer schema, and concurrent edits of other fields, intact.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use serde_json::{Map, Number, Value};

use crate::model::{fields, Kind, Record, SCHEMA_VERSION};

pub(crate) mod view;
use view::View;
pub use view::{needs_folding, VaultView};

/// Why the document could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("no {what} has an id starting with '{prefix}'; `interlog list <kind>` shows the ids")]
    NotFound { what: String, prefix: String },
    #[error("'{prefix}' matches {count} records ({examples}); type more of the id")]
    Ambiguous {
        prefix: String,
        count: usize,
        examples: String,
    },
    /// A name that more than one live record answers to: using any of them
    /// would be a guess, so the caller names one by id.
    #[error("{count} {kinds} are named '{name}': {candidates}; give the id of the one you mean")]
    AmbiguousName {
        kinds: String,
        name: String,
        count: usize,
        /// Each as "short-id (where they work)" or "short-id".
        candidates: String,
    },
    #[error("'{0}' is not a device name: use 1 to 64 printable characters, e.g. `laptop`")]
    BadDeviceName(String),
    #[error("the document is missing its '{0}' map; it was not created by `interlog init`")]
    Malformed(&'static str),
    #[error(
        "this document belongs to vault {theirs}, not to this vault ({ours}); nothing was merged"
    )]
    OtherVault { ours: String, theirs: String },
    #[error("could not store the change: {0}")]
    Store(String),
    #[error("{0} change(s) the document depends on are missing")]
    MissingChanges(usize),
    #[error("the document data is not valid Automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// One field written concurrently with different values on two devices.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The record's kind; `None` for the profile.
    pub kind: Option<Kind>,
    /// The record's id (`profile` for the profile).
    pub id: String,
    /// The path inside the record, e.g. `["notes"]` or `["comp", "base"]`.
    pub path: Vec<String>,
    /// Every concurrent value; the first is the one Automerge shows by default.
    pub values: Vec<Value>,
    /// The device (actor id, hex) that wrote each value, in the same order.
    pub writers: Vec<String>,
}

impl Conflict {
    /// A name for this conflict that stays the same while it lasts, whatever
    /// else is picked or arrives meanwhile: a hash (FNV-1a, hex) of the
    /// record and the path. [`conflict_codes`] shortens it for people.
    pub fn code(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let key = format!("{}/{}", self.id, self.path.join("."));
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// The shortest prefix of each conflict's [`Conflict::code`], at least four
/// characters, that tells the listed conflicts apart.
pub fn conflict_codes(list: &[Conflict]) -> Vec<String> {
    let full: Vec<String> = list.iter().map(Conflict::code).collect();
    let len = (4..16)
        .find(|&n| {
            let mut seen: Vec<&str> = full.iter().map(|c| &c[..n]).collect();
            seen.sort_unstable();
            seen.windows(2).all(|w| w[0] != w[1])
        })
        .unwrap_or(16);
    full.into_iter().map(|c| c[..len].to_string()).collect()
}

/// The key under `meta` that holds a device's name. Each device writes only
/// its own key, so no two devices ever race on one (a shared map created
/// later would be exactly the race of docs/data-model.md §6.4).
const DEVICE_NAME_PREFIX: &str = "device_name:";

/// The longest device name, in characters.
pub const DEVICE_NAME_MAX: usize = 64;

/// A record's kind and id.
type KindId = (Kind, String);

/// The whole journal of one vault.
pub struct VaultDoc {
    doc: AutoCommit,
}

/// What reading the journal needs, answered alike by the live document
/// ([`VaultDoc`]) and a read-only rendering of it ([`VaultView`]). Reports,
/// exports and every command that only reads take `&dyn ReadJournal`; a write
/// to a view does not compile.
pub trait ReadJournal {
    fn vault_id(&self) -> Option<String>;
    fn schema_version(&self) -> Option<i64>;
    /// One record, deleted or not.
    fn record(&self, kind: Kind, id: &str) -> Option<Record>;
    /// Every record of a kind, deleted ones included, oldest first.
    fn records(&self, kind: Kind) -> Vec<Record>;
    /// The ids of every record of a kind, deleted ones included.
    fn ids(&self, kind: Kind) -> Vec<String>;
    fn profile(&self) -> Map<String, Value>;
    /// The journal as JSON: profile and every record, keys sorted. Identical
    /// on every device that holds the same changes.
    fn to_json(&self) -> Value;
    /// Each device's name (see [`VaultDoc::set_device_name`]), by actor id in
    /// hex (the wire's device id). Empty in a view.
    fn device_names(&self) -> std::collections::BTreeMap<String, String>;

    /// Live records of a kind whose `field` holds the string `value`.
    fn live_with(&self, kind: Kind, field: &str, value: &str) -> Vec<Record> {
        let mut v = self.live(kind);
        v.retain(|r| r.str(field) == Some(value));
        v
    }

    /// Records of a kind that are not deleted.
    fn live(&self, kind: Kind) -> Vec<Record> {
        let mut v = self.records(kind);
        v.retain(|r| !r.is_deleted());
        v
    }

    /// The record whose id starts with `prefix` (case-insensitive), among `kinds`.
    fn find(&self, prefix: &str, kinds: &[Kind]) -> Result<Record, DocError> {
        let p = prefix.trim().to_ascii_uppercase();
        let what = match kinds {
            [k] => k.name().to_string(),
            _ => "record".to_string(),
        };
        if p.is_empty() {
            return Err(DocError::NotFound {
                what,
                prefix: prefix.into(),
            });
        }
        let mut hits: Vec<(Kind, String)> = Vec::new();
        for &kind in kinds {
            for key in self.ids(kind) {
                if key.to_ascii_uppercase().starts_with(&p) {
                    hits.push((kind, key));
                }
            }
        }
        match hits.len() {
            0 => Err(DocError::NotFound {
                what,
                prefix: prefix.into(),
            }),
            1 => {
                let (kind, id) = hits.remove(0);
                self.record(kind, &id).ok_or(DocError::NotFound {
                    what,
                    prefix: prefix.into(),
                })
            }
            count => Err(DocError::Ambiguous {
                prefix: prefix.into(),
                count,
                examples: hits
                    .iter()
                    .take(3)
                    .map(|(k, id)| format!("{k} {id}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The shortest prefix of each id that no other id in the vault shares,
    /// at least [`crate::model::SHORT_ID_MIN`] characters: what tables show.
    fn short_ids(&self) -> crate::model::ShortIds {
        let mut ids = Vec::new();
        for kind in Kind::ALL {
            ids.extend(self.ids(kind));
        }
        crate::model::ShortIds::new(ids)
    }

    /// The live record of `kind` whose name (or an alias) matches, ignoring
    /// case; the oldest when several do. Where picking one of several would
    /// be a guess, use [`Self::find_one_by_name`].
    fn find_by_name(&self, kind: Kind, name: &str) -> Option<Record> {
        self.find_all_by_name(kind, name).into_iter().next()
    }

    /// Every live record of `kind` whose name (or an alias) matches,
    /// ignoring case, oldest first.
    fn find_all_by_name(&self, kind: Kind, name: &str) -> Vec<Record> {
        let want = name.trim().to_lowercase();
        if want.is_empty() {
            return Vec::new();
        }
        let mut found = self.live(kind);
        found.retain(|r| {
            r.str(kind.title_field())
                .is_some_and(|n| n.trim().to_lowercase() == want)
                || r.set("aliases").iter().any(|a| a.to_lowercase() == want)
        });
        found
    }

    /// The one live record of `kind` named `name` (or with that alias),
    /// ignoring case; `None` when no record is. When several are, the
    /// answer is [`DocError::AmbiguousName`], listing each with its short id
    /// and, for a contact, where they work.
    fn find_one_by_name(&self, kind: Kind, name: &str) -> Result<Option<Record>, DocError> {
        let mut found = self.find_all_by_name(kind, name);
        if found.len() <= 1 {
            return Ok(found.pop());
        }
        Err(DocError::AmbiguousName {
            kinds: kind.root_key().to_string(),
            name: name.trim().to_string(),
            count: found.len(),
            candidates: self.describe_candidates(&found),
        })
    }

    /// The record among `kinds` named `raw` (companies, contacts and
    /// questions have names; an alias counts), else the one whose id starts
    /// with `raw`. A name several records share is refused, listing them.
    fn find_by_name_or_id(&self, raw: &str, kinds: &[Kind]) -> Result<Record, DocError> {
        let mut named = Vec::new();
        for &kind in kinds {
            if matches!(kind, Kind::Company | Kind::Contact | Kind::Question) {
                named.extend(self.find_all_by_name(kind, raw));
            }
        }
        match named.len() {
            0 => self.find(raw, kinds),
            1 => Ok(named.remove(0)),
            count => Err(DocError::AmbiguousName {
                kinds: if named.iter().all(|r| r.kind == named[0].kind) {
                    named[0].kind.root_key().to_string()
                } else {
                    "records".to_string()
                },
                name: raw.trim().to_string(),
                count,
                candidates: self.describe_candidates(&named),
            }),
        }
    }

    /// "short-id (Acme), short-id (Globex)": records told apart for a person
    /// who has to pick one.
    fn describe_candidates(&self, records: &[Record]) -> String {
        let ids = self.short_ids();
        records
            .iter()
            .map(|r| {
                let id = ids.get(&r.id).to_string();
                let place = match r.kind {
                    Kind::Contact => r.current_employer(),
                    _ => r.str("company"),
                }
                .and_then(|c| self.record(Kind::Company, c))
                .map(|c| c.title());
                match place {
                    Some(place) => format!("{id} ({place})"),
                    None => id,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl VaultDoc {
    /// A new, empty vault: every root map is created here, in one change, so
    /// devices that join later share them instead of racing to create them.
    pub fn new_vault(vault_id: &str, actor: &[u8]) -> Result<Self, DocError> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
        let meta = doc.put_object(ROOT, "meta", ObjType::Map)?;
        doc.put(&meta, "schema", SCHEMA_VERSION)?;
        doc.put(&meta, "vault_id", vault_id)?;
        let profile = doc.put_object(ROOT, "profile", ObjType::Map)?;
        for spec in crate::model::PROFILE.iter().filter(|s| s.ty.is_container()) {
            doc.put_object(&profile, spec.name, ObjType::Map)?;
        }
        // Sensible defaults, so discretion warnings work from day one.
        doc.put(&profile, "work_start", "09:00")?;
        doc.put(&profile, "work_end", "18:00")?;
        if let Some((automerge::Value::Object(_), days)) = doc.get(&profile, "work_days")? {
            for day in &crate::model::WEEKDAYS[..5] {
                doc.put(&days, *day, true)?;
            }
        }
        for kind in Kind::ALL {
            doc.put_object(ROOT, kind.root_key(), ObjType::Map)?;
        }
        doc.commit_with(CommitOptions::default().with_message("init vault"));
        Ok(VaultDoc { doc })
    }

    /// Loads a document from a snapshot and the incremental chunks after it.
    pub fn load<'a>(
        snapshot: Option<&[u8]>,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DocError> {
        // One load of the snapshot and every chunk after it, concatenated
        // (Automerge's own format is a sequence of chunks): it applies all
        // the chunks' changes as one batch. Applying each chunk on its own
        // pays a pass over the whole document per chunk (Automerge copies
        // its object index and splices its op columns for every batch),
        // which with a hundred chunks on a big vault was a quarter of the
        // load. It is stricter too: a chunk that does not parse fails the
        // load, where `load_incremental` would skip it with a warning.
        let mut bytes = snapshot.map(<[u8]>::to_vec).unwrap_or_default();
        for chunk in chunks {
            bytes.extend_from_slice(chunk);
        }
        let doc = AutoCommit::load(&bytes)?;
        // Changes whose dependencies never arrived are queued silently by
        // Automerge; in a local store that means a damaged or missing chunk.
        let missing = doc.get_missing_deps(&[]);
        if !missing.is_empty() {
            return Err(DocError::MissingChanges(missing.len()));
        }
        Ok(VaultDoc { doc })
    }

    /// A rendering of everything reads need, for [`VaultView::from_bytes`]. What
    /// reads need of a document is its vault id, schema and
    /// [`Self::to_json`], without the Automerge history: loading that costs
    /// a JSON parse instead of an Automerge load, which for a vault of
    /// thousands of records is most of a command's time.
    pub fn to_view(&mut self) -> Vec<u8> {
        view::encode(&self.view())
    }

    /// This document as a read-only view, and the view's bytes for
    /// [`VaultView::from_bytes`]. With `previous` (the bytes of an older view of
    /// the same vault) only the records changed since are read out of
    /// Automerge; otherwise every record is, once.
    pub fn into_view(mut self, previous: Option<&[u8]>) -> (VaultView, Vec<u8>) {
        let view = previous
            .and_then(view::decode)
            .and_then(|old| self.updated_view(old))
            .unwrap_or_else(|| self.view());
        let bytes = view::encode(&view);
        (VaultView::new(view), bytes)
    }

    /// `old` brought up to date by re-reading the records the changes since
    /// its heads touched; `None` when that cannot be told (unknown heads, a
    /// change above the record level) and a full rendering is needed.
    fn updated_view(&mut self, mut old: View) -> Option<View> {
        if old.vault_id != self.vault_id() {
            return None;
        }
        let (touched, after) = self.touched_since(&old.heads)?;
        for (kind, id) in touched {
            let map = old
                .json
                .entry(kind.root_key())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(map) = map else {
                return None;
            };
            match self.record(kind, &id) {
                Some(r) => {
                    map.insert(id, Value::Object(r.fields));
                }
                None => {
                    map.remove(&id);
                }
            }
        }
        old.json
            .insert("profile".into(), Value::Object(self.profile()));
        old.vault_id = self.vault_id();
        old.schema = self.schema_version();
        old.heads = after;
        Some(old)
    }

    /// The bytes of an older view of this vault (from [`Self::into_view`]
    /// or from here) brought up to date with this document, for a process
    /// that has just written and holds the document anyway. Like
    /// [`Self::into_view`] it re-reads only the records the changes since
    /// the old view's heads touched; unlike it, it parses nothing but the
    /// old view's head, and appends those records as a patch (see
    /// `doc/view.rs`). `None` when the old view is unreadable, of another
    /// vault, or cannot be brought up to date record by record.
    pub fn update_view(&mut self, previous: &[u8]) -> Option<Vec<u8>> {
        let old = view::head(previous)?;
        let vault_id = self.vault_id();
        if old.vault_id != vault_id {
            return None;
        }
        let (touched, heads) = self.touched_since(&old.heads)?;
        let records = touched
            .into_iter()
            .map(|(kind, id)| {
                let fields = self.record(kind, &id).map(|r| r.fields);
                (kind.root_key().to_string(), id, fields)
            })
            .collect();
        let patch = view::Patch {
            records,
            profile: self.profile(),
        };
        let head = view::Head {
            vault_id,
            schema: self.schema_version(),
            heads,
        };
        view::append(previous, &head, &patch)
    }

    /// The records the changes since `heads` (hex, as a view keeps them)
    /// write into, sorted, and the document's heads now; `None` when that
    /// cannot be told (a head this document lacks, a change above the
    /// record level).
    fn touched_since(&mut self, heads: &[String]) -> Option<(Vec<KindId>, Vec<String>)> {
        let mut before = Vec::new();
        for h in heads {
            let hash: ChangeHash = h.parse().ok()?;
            self.doc.get_change_by_hash(&hash)?;
            before.push(hash);
        }
        let after = self.doc.get_heads();
        // The records the new changes' operations write into: the path of
        // each operation's object, plus its key. Much cheaper than a diff of
        // the two states, which walks the whole document.
        let mut touched: Vec<KindId> = Vec::new();
        for change in self.doc.get_changes(&before) {
            for op in change.decode().operations {
                let mut keys: Vec<String> = match &op.obj {
                    automerge::legacy::ObjectId::Root => Vec::new(),
                    automerge::legacy::ObjectId::Id(id) => {
                        let obj = self.doc.import_obj(&id.to_string()).ok()?;
                        let parents = self.doc.parents(&obj).ok()?;
                        parents.path().iter().map(|(_, p)| p.to_string()).collect()
                    }
                };
                if let automerge::legacy::Key::Map(k) = &op.key {
                    keys.push(k.to_string());
                }
                let mut keys = keys.into_iter();
                let (Some(root), Some(id)) = (keys.next(), keys.next()) else {
                    return None;
                };
                if let Some(kind) = Kind::ALL.iter().find(|k| k.root_key() == root) {
                    touched.push((*kind, id));
                } else if root != "profile" && root != "meta" {
                    return None;
                }
            }
        }
        touched.sort();
        touched.dedup();
        Some((touched, after.iter().map(|h| h.to_string()).collect()))
    }

    fn view(&mut self) -> View {
        View {
            vault_id: self.vault_id(),
            schema: self.schema_version(),
            heads: self.doc.get_heads().iter().map(|h| h.to_string()).collect(),
            json: match self.to_json() {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        }
    }

    /// Sets the actor id future changes are attributed to (one per device).
    pub fn set_actor(&mut self, actor: &[u8]) {
        self.doc.set_actor(ActorId::from(actor));
    }

    /// Where the vault's devices meet: the relay URL `interlog sync move`
    /// recorded, and its pin (`sha256:…`) when it is trusted by pin. Every
    /// device follows it at its next sync. `None` in a view, or before any
    /// move.
    pub fn relay(&self) -> Option<(String, Option<String>)> {
        let meta = self.obj(&ROOT, "meta")?;
        let url = self.scalar(&meta, "relay")?.as_str()?.to_string();
        let pin = self
            .scalar(&meta, "relay_pin")
            .and_then(|v| v.as_str().map(str::to_string));
        Some((url, pin))
    }

    /// Records where the vault's devices meet from now on (see
    /// [`Self::relay`]); commit and save as any edit.
    pub fn set_relay(&mut self, url: &str, pin: Option<&str>) -> Result<(), DocError> {
        let meta = self.obj(&ROOT, "meta").ok_or(DocError::Malformed("meta"))?;
        self.doc.put(&meta, "relay", url)?;
        match pin {
            Some(pin) => self.doc.put(&meta, "relay_pin", pin)?,
            None => {
                if self.scalar(&meta, "relay_pin").is_some() {
                    self.doc.delete(&meta, "relay_pin")?;
                }
            }
        }
        Ok(())
    }

    /// Names a device (`actor`: its actor id in hex) for people: `devices`
    /// lists it and `conflicts` labels its values with it. Commit and save
    /// as any edit.
    pub fn set_device_name(&mut self, actor: &str, name: &str) -> Result<(), DocError> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > DEVICE_NAME_MAX
            || name.chars().any(crate::is_unsafe)
        {
            return Err(DocError::BadDeviceName(name.to_string()));
        }
        let meta = self.obj(&ROOT, "meta").ok_or(DocError::Malformed("meta"))?;
        let key = format!("{DEVICE_NAME_PREFIX}{actor}");
        if self
            .scalar(&meta, &key)
            .and_then(|v| v.as_str().map(str::to_string))
            == Some(name.to_string())
        {
            return Ok(());
        }
        self.doc.put(&meta, key, name)?;
        Ok(())
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes not covered by `heads`, as one incremental chunk.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Closes the pending change with a message (`None` if nothing changed).
    pub fn commit(&mut self, message: &str) -> Option<ChangeHash> {
        let time = jiff::Timestamp::now().as_second();
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message.to_string())
                .with_time(time),
        )
    }

    /// Applies changes from another device (a chunk or a whole document).
    /// Refuses changes whose dependencies this document lacks, leaving them
    /// queued in memory only: the caller must not store the chunk.
    pub fn apply_chunk(&mut self, bytes: &[u8]) -> Result<(), DocError> {
        self.doc.load_incremental(bytes)?;
        let missing = self.doc.get_missing_deps(&[]);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DocError::MissingChanges(missing.len()))
        }
    }

    /// How many changes this document has beyond `heads`.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> usize {
        self.doc.get_changes(heads).len()
    }

    /// This document with the changes actor `old` made beyond `base` made
    /// again by actor `new`: for a device restored from a backup, whose
    /// changes since the backup reuse sequence numbers its old self already
    /// used on the relay. Automerge refuses two changes with one actor and
    /// seq, so those changes get the new actor; their operations, and the
    /// ones that refer to them, are renamed to match. Other devices' changes
    /// stay as they are (none can build on a change that was never sent).
    pub fn reissued(
        &mut self,
        base: &[ChangeHash],
        old: &[u8],
        new: &[u8],
    ) -> Result<VaultDoc, DocError> {
        let (old, new) = (ActorId::from(old), ActorId::from(new));
        let changes = self.doc.get_changes(base);
        // The operation counters the renamed changes hold.
        let ranges: Vec<std::ops::Range<u64>> = changes
            .iter()
            .filter(|c| c.actor_id() == &old)
            .map(|c| c.start_op().get()..c.start_op().get() + c.len() as u64)
            .collect();
        let (old_suffix, new_suffix) = (format!("@{old}"), format!("@{new}"));
        let rename = |v: &mut Value| {
            let Some(s) = v.as_str() else { return };
            let Some(counter) = s.strip_suffix(old_suffix.as_str()) else {
                return;
            };
            if let Ok(n) = counter.parse::<u64>() {
                if ranges.iter().any(|r| r.contains(&n)) {
                    *v = Value::String(format!("{n}{new_suffix}"));
                }
            }
        };
        let bad =
            |e: serde_json::Error| DocError::Store(format!("could not re-issue a change: {e}"));
        let mut renamed: std::collections::HashMap<ChangeHash, ChangeHash> = Default::default();
        let mut out = Vec::with_capacity(changes.len());
        let mut seq = 0;
        for c in changes {
            let mine = c.actor_id() == &old;
            if !mine {
                if c.deps().iter().any(|d| renamed.contains_key(d)) {
                    return Err(DocError::Store(
                        "another device's change builds on one this device never sent".into(),
                    ));
                }
                out.push(c);
                continue;
            }
            let mut e = c.decode();
            seq += 1;
            e.seq = seq;
            e.actor_id = new.clone();
            e.hash = None;
            e.deps = e
                .deps
                .iter()
                .map(|d| *renamed.get(d).unwrap_or(d))
                .collect();
            e.deps.sort();
            let mut json = serde_json::to_value(&e).map_err(bad)?;
            for op in json
                .get_mut("ops")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                for field in ["obj", "elemId"] {
                    if let Some(v) = op.get_mut(field) {
                        rename(v);
                    }
                }
                for v in op
                    .get_mut("pred")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    rename(v);
                }
            }
            let e: automerge::ExpandedChange = serde_json::from_value(json).map_err(bad)?;
            let again = automerge::Change::from(e);
            renamed.insert(c.hash(), again.hash());
            out.push(again);
        }
        let mut doc = self.doc.fork_at(base)?.with_actor(new);
        doc.apply_changes(out)?;
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(DocError::MissingChanges(doc.get_missing_deps(&[]).len()));
        }
        Ok(VaultDoc { doc })
    }

    /// Merges raw document bytes (an `export --format automerge` from another
    /// device of the same vault).
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<(), DocError> {
        let mut other = AutoCommit::load(bytes)?;
        let theirs = VaultDoc { doc: other.fork() }.vault_id();
        let ours = self.vault_id();
        if theirs != ours {
            return Err(DocError::OtherVault {
                ours: ours.unwrap_or_default(),
                theirs: theirs.unwrap_or_else(|| "(none)".into()),
            });
        }
        self.doc.merge(&mut other)?;
        Ok(())
    }

    // ----- reads -------------------------------------------------------

    fn obj(&self, parent: &ObjId, key: &str) -> Option<ObjId> {
        match self.doc.get(parent, key).ok()? {
            Some((automerge::Value::Object(ObjType::Map), id)) => Some(id),
            _ => None,
        }
    }

    fn scalar(&self, parent: &ObjId, key: &str) -> Option<Value> {
        match self.doc.get(parent, key).ok()? {
            Some((automerge::Value::Scalar(s), _)) => Some(scalar_to_json(&s)),
            _ => None,
        }
    }

    fn kind_map(&self, kind: Kind) -> Result<ObjId, DocError> {
        self.obj(&ROOT, kind.root_key())
            .ok_or(DocError::Malformed(kind.root_key()))
    }

    /// Reads any object as JSON, taking the winning value of each key.
    fn read(&self, obj: &ObjId) -> Value {
        match self.doc.object_type(obj) {
            Ok(ObjType::Map) | Ok(ObjType::Table) => {
                let mut out = Map::new();
                for item in self.doc.map_range(obj, ..) {
                    let id = item.id();
                    let value = match item.value.into_value() {
                        automerge::Value::Object(_) => self.read(&id),
                        automerge::Value::Scalar(s) => scalar_to_json(&s),
                    };
                    out.insert(item.key.into_owned(), value);
                }
                Value::Object(out)
            }
            Ok(ObjType::List) => Value::Array(
                (0..self.doc.length(obj))
                    .filter_map(|i| match self.doc.get(obj, i).ok()? {
                        Some((automerge::Value::Object(_), id)) => Some(self.read(&id)),
                        Some((automerge::Value::Scalar(s), _)) => Some(scalar_to_json(&s)),
                        None => None,
                    })
                    .collect(),
            ),
            Ok(ObjType::Text) => Value::String(self.doc.text(obj).unwrap_or_default()),
            Err(_) => Value::Null,
        }
    }

    /// Every field that holds concurrent values from different devices.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let Ok(map) = self.kind_map(kind) else {
                continue;
            };
            for item in self.doc.map_range(&map, ..) {
                let id = item.key.to_string();
                self.collect_conflicts(Some(kind), &id, &item.id(), &mut Vec::new(), &mut out);
            }
        }
        if let Some(profile) = self.obj(&ROOT, "profile") {
            self.collect_conflicts(None, "profile", &profile, &mut Vec::new(), &mut out);
        }
        out
    }

    fn collect_conflicts(
        &self,
        kind: Option<Kind>,
        id: &str,
        obj: &ObjId,
        path: &mut Vec<String>,
        out: &mut Vec<Conflict>,
    ) {
        if !matches!(self.doc.object_type(obj), Ok(ObjType::Map)) {
            return;
        }
        for item in self.doc.map_range(obj, ..) {
            path.push(item.key.to_string());
            if item.conflict {
                let (values, writers): (Vec<Value>, Vec<String>) = self
                    .doc
                    .get_all(obj, item.key.as_ref())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(v, vid)| {
                        let writer = match &vid {
                            ObjId::Id(_, actor, _) => actor.to_hex_string(),
                            ObjId::Root => String::new(),
                        };
                        let value = match v {
                            automerge::Value::Object(_) => self.read(&vid),
                            automerge::Value::Scalar(s) => scalar_to_json(&s),
                        };
                        (value, writer)
                    })
                    .unzip();
                // Two devices writing the same value (adding the same set
                // member, say) is agreement, not a conflict worth a question.
                if values.windows(2).all(|w| w[0] == w[1]) {
                    path.pop();
                    continue;
                }
                out.push(Conflict {
                    kind,
                    id: id.to_string(),
                    path: path.clone(),
                    values,
                    writers,
                });
            } else if let automerge::Value::Object(_) = item.value.clone().into_value() {
                self.collect_conflicts(kind, id, &item.id(), path, out);
            }
            path.pop();
        }
    }

    // ----- writes ------------------------------------------------------

    /// Creates a record with a new ULID and returns the id.
    pub fn create(&mut self, kind: Kind, fields: &Map<String, Value>) -> Result<String, DocError> {
        let id = new_id();
        self.create_with_id(kind, &id, fields)?;
        Ok(id)
    }

    /// Creates (or, for an existing id, updates) a record with a given id.
    /// Every container field of the kind is created now; see the module docs.
    pub fn create_with_id(
        &mut self,
        kind: Kind,
        id: &str,
        fields_in: &Map<String, Value>,
    ) -> Result<(), DocError> {
        let map = self.kind_map(kind)?;
        let obj = match self.obj(&map, id) {
            Some(obj) => obj,
            None => {
                let obj = self.doc.put_object(&map, id, ObjType::Map)?;
                for spec in fields(kind).filter(|s| s.ty.is_container()) {
                    self.doc.put_object(&obj, spec.name, ObjType::Map)?;
                }
                if !fields_in.contains_key("created_at") {
                    self.doc
                        .put(&obj, "created_at", crate::time::now().to_string())?;
                }
                obj
            }
        };
        self.merge_map(&obj, fields_in)
    }

    /// Writes the given fields into a record, merging nested maps key by key
    /// and leaving every other field alone.
    pub fn update(
        &mut self,
        kind: Kind,
        id: &str,
        patch: &Map<String, Value>,
    ) -> Result<(), DocError> {
        let obj = self.record_obj(kind, id)?;
        self.merge_map(&obj, patch)
    }

    /// Removes a field (or a nested key, e.g. `["comp", "bonus"]`).
    pub fn unset(&mut self, kind: Kind, id: &str, path: &[&str]) -> Result<(), DocError> {
        let mut obj = self.record_obj(kind, id)?;
        let Some((last, parents)) = path.split_last() else {
            return Ok(());
        };
        for p in parents {
            match self.obj(&obj, p) {
                Some(o) => obj = o,
                None => return Ok(()),
            }
        }
        if self.doc.get(&obj, *last)?.is_some() {
            self.doc.delete(&obj, *last)?;
        }
        Ok(())
    }

    /// Makes a set field hold exactly `members`: adds the new ones and deletes
    /// the rest. A member added concurrently elsewhere survives (add wins).
    pub fn set_members(
        &mut self,
        kind: Kind,
        id: &str,
        field: &str,
        members: &[String],
    ) -> Result<(), DocError> {
        let rec = self.record_obj(kind, id)?;
        self.replace_set(&rec, field, members)
    }

    /// [`Self::set_members`] for a set in the profile.
    pub fn set_profile_members(&mut self, field: &str, members: &[String]) -> Result<(), DocError> {
        let profile = self.ensure_map(&ROOT, "profile")?;
        self.replace_set(&profile, field, members)
    }

    fn replace_set(
        &mut self,
        parent: &ObjId,
        field: &str,
        members: &[String],
    ) -> Result<(), DocError> {
        let set = self.ensure_map(parent, field)?;
        let current: Vec<String> = self.doc.keys(&set).collect();
        for m in &current {
            if !members.contains(m) {
                self.doc.delete(&set, m.as_str())?;
            }
        }
        for m in members {
            if !current.contains(m) {
                self.doc.put(&set, m.as_str(), true)?;
            }
        }
        Ok(())
    }

    /// Adds an entry (a stage event, a job, a negotiation round...) under a
    /// new ULID key and returns that key.
    pub fn add_entry(
        &mut self,
        kind: Kind,
        id: &str,
        field: &str,
        entry: &Map<String, Value>,
    ) -> Result<String, DocError> {
        let key = new_id();
        self.put_entry(kind, id, field, &key, entry)?;
        Ok(key)
    }

    /// Writes an entry under a known key (e.g. a question id), merging fields.
    pub fn put_entry(
        &mut self,
        kind: Kind,
        id: &str,
        field: &str,
        key: &str,
        entry: &Map<String, Value>,
    ) -> Result<(), DocError> {
        let rec = self.record_obj(kind, id)?;
        let entries = self.ensure_map(&rec, field)?;
        let obj = self.ensure_map(&entries, key)?;
        self.merge_map(&obj, entry)
    }

    /// Writes profile fields, merging nested maps.
    pub fn update_profile(&mut self, patch: &Map<String, Value>) -> Result<(), DocError> {
        let profile = self.ensure_map(&ROOT, "profile")?;
        self.merge_map(&profile, patch)
    }

    /// Settles a conflict by writing `value` over every concurrent value.
    pub fn resolve(&mut self, c: &Conflict, value: &Value) -> Result<(), DocError> {
        let mut obj = match c.kind {
            Some(kind) => self.record_obj(kind, &c.id)?,
            None => self.ensure_map(&ROOT, "profile")?,
        };
        let Some((last, parents)) = c.path.split_last() else {
            return Ok(());
        };
        for p in parents {
            obj = self.ensure_map(&obj, p)?;
        }
        self.write(&obj, last, value, true)
    }

    fn record_obj(&self, kind: Kind, id: &str) -> Result<ObjId, DocError> {
        let map = self.kind_map(kind)?;
        self.obj(&map, id).ok_or_else(|| DocError::NotFound {
            what: kind.name().into(),
            prefix: id.into(),
        })
    }

    fn ensure_map(&mut self, parent: &ObjId, key: &str) -> Result<ObjId, DocError> {
        match self.obj(parent, key) {
            Some(o) => Ok(o),
            None => Ok(self.doc.put_object(parent, key, ObjType::Map)?),
        }
    }

    fn merge_map(&mut self, obj: &ObjId, patch: &Map<String, Value>) -> Result<(), DocError> {
        for (k, v) in patch {
            self.write(obj, k, v, false)?;
        }
        Ok(())
    }

    /// Writes one value. Unchanged scalars are skipped (so re-saving a form
    /// does not create changes or conflicts) unless `force` settles a conflict.
    fn write(&mut self, obj: &ObjId, key: &str, v: &Value, force: bool) -> Result<(), DocError> {
        match v {
            // Settling a conflict between two maps takes a fresh map: merging
            // into the visible one would leave the other competing with it.
            Value::Object(m) if force => {
                let child = self.doc.put_object(obj, key, ObjType::Map)?;
                self.merge_map(&child, m)
            }
            Value::Object(m) => {
                let child = self.ensure_map(obj, key)?;
                self.merge_map(&child, m)
            }
            Value::Array(items) => {
                let list = self.doc.put_object(obj, key, ObjType::List)?;
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(m) => {
                            let o = self.doc.insert_object(&list, i, ObjType::Map)?;
                            self.merge_map(&o, m)?;
                        }
                        other => self.doc.insert(&list, i, json_to_scalar(other))?,
                    }
                }
                Ok(())
            }
            scalar => {
                if !force {
                    let current = self.doc.get_all(obj, key)?;
                    if let [(automerge::Value::Scalar(s), _)] = current.as_slice() {
                        if scalar_to_json(s) == *scalar {
                            return Ok(());
                        }
                    }
                }
                self.doc.put(obj, key, json_to_scalar(scalar))?;
                Ok(())
            }
        }
    }
}

/// A new time-sortable id.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

fn scalar_to_json(s: &ScalarValue) -> Value {
    match s {
        ScalarValue::Str(s) => Value::String(s.to_string()),
        ScalarValue::Int(i) => Value::from(*i),
        ScalarValue::Uint(u) => Value::from(*u),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        ScalarValue::Counter(c) => Value::from(i64::from(c)),
        ScalarValue::Timestamp(t) => Value::from(*t),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Null => Value::Null,
        ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Value::Null,
    }
}

fn json_to_scalar(v: &Value) -> ScalarValue {
    match v {
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ScalarValue::Int(i),
            (None, Some(u), _) => ScalarValue::Uint(u),
            (_, _, Some(f)) => ScalarValue::F64(f),
            _ => ScalarValue::Null,
        },
        _ => ScalarValue::Null,
    }
}

impl ReadJournal for VaultDoc {
    fn vault_id(&self) -> Option<String> {
        let meta = self.obj(&ROOT, "meta")?;
        self.scalar(&meta, "vault_id")
            .and_then(|v| v.as_str().map(str::to_string))
    }

    fn schema_version(&self) -> Option<i64> {
        let meta = self.obj(&ROOT, "meta")?;
        self.scalar(&meta, "schema").and_then(|v| v.as_i64())
    }

    /// One record, deleted or not.
    fn record(&self, kind: Kind, id: &str) -> Option<Record> {
        let map = self.kind_map(kind).ok()?;
        let obj = self.obj(&map, id)?;
        match self.read(&obj) {
            Value::Object(fields) => Some(Record {
                kind,
                id: id.to_string(),
                fields,
            }),
            _ => None,
        }
    }

    /// Every record of a kind, deleted ones included, oldest first.
    fn records(&self, kind: Kind) -> Vec<Record> {
        let Ok(map) = self.kind_map(kind) else {
            return Vec::new();
        };
        self.doc
            .map_range(&map, ..)
            .filter_map(|item| {
                let id = item.key.to_string();
                let obj = item.id();
                match (item.value.into_value(), self.read(&obj)) {
                    (automerge::Value::Object(_), Value::Object(fields)) => {
                        Some(Record { kind, id, fields })
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Live records of a kind whose `field` holds the string `value`. Only
    /// those are read in full, which on a big vault is much cheaper than
    /// filtering [`Self::live`].
    fn live_with(&self, kind: Kind, field: &str, value: &str) -> Vec<Record> {
        let Ok(map) = self.kind_map(kind) else {
            return Vec::new();
        };
        let mut out: Vec<Record> = self
            .doc
            .map_range(&map, ..)
            .filter(|item| {
                self.scalar(&item.id(), field)
                    .is_some_and(|v| v.as_str() == Some(value))
            })
            .filter_map(|item| match self.read(&item.id()) {
                Value::Object(fields) => Some(Record {
                    kind,
                    id: item.key.to_string(),
                    fields,
                }),
                _ => None,
            })
            .collect();
        out.retain(|r| !r.is_deleted());
        out
    }

    /// The ids of every record of a kind, deleted ones included.
    fn ids(&self, kind: Kind) -> Vec<String> {
        match self.kind_map(kind) {
            Ok(map) => self.doc.keys(&map).collect(),
            Err(_) => Vec::new(),
        }
    }

    fn profile(&self) -> Map<String, Value> {
        match self.obj(&ROOT, "profile").map(|p| self.read(&p)) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// The journal as JSON: profile and every record, keys sorted. Identical
    /// on every device that holds the same changes.
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("schema".into(), Value::from(SCHEMA_VERSION));
        out.insert("profile".into(), Value::Object(self.profile()));
        for kind in Kind::ALL {
            let records: Map<String, Value> = self
                .records(kind)
                .into_iter()
                .map(|r| (r.id, Value::Object(r.fields)))
                .collect();
            out.insert(kind.root_key().into(), Value::Object(records));
        }
        Value::Object(out)
    }

    /// Each device's name (see [`Self::set_device_name`]), by actor id in
    /// hex (the wire's device id). Empty in a view.
    fn device_names(&self) -> std::collections::BTreeMap<String, String> {
        let Some(meta) = self.obj(&ROOT, "meta") else {
            return Default::default();
        };
        self.doc
            .keys(&meta)
            .filter_map(|k| {
                let device = k.strip_prefix(DEVICE_NAME_PREFIX)?.to_string();
                let name = self.scalar(&meta, &k)?.as_str()?.to_string();
                Some((device, name))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn live_with_reads_only_the_matching_live_records() {
        let mut d = vault();
        let a = d
            .create(
                Kind::Opportunity,
                &obj(json!({"company": "c1", "role": "A"})),
            )
            .unwrap();
        d.create(Kind::Opportunity, &obj(json!({"company": "c2"})))
            .unwrap();
        let gone = d
            .create(Kind::Opportunity, &obj(json!({"company": "c1"})))
            .unwrap();
        d.update(
            Kind::Opportunity,
            &gone,
            &obj(json!({"deleted_at": "2026-01-01T00:00:00Z"})),
        )
        .unwrap();
        let found = d.live_with(Kind::Opportunity, "company", "c1");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, a);
        assert_eq!(found[0].str("role"), Some("A"));
    }

    #[test]
    fn a_snapshot_and_its_chunks_load_as_one_and_a_bad_chunk_fails_the_load() {
        let mut a = vault();
        let snapshot = a.save();
        let mut b = fork(&mut a, b"device-b");
        let mut chunks = Vec::new();
        for i in 0..5 {
            // Chunks from two devices, interleaved, as a store holds them.
            let d = if i % 2 == 0 { &mut a } else { &mut b };
            let heads = d.heads();
            d.create(Kind::Company, &obj(json!({"name": format!("Co {i}")})))
                .unwrap();
            d.commit("add");
            let chunk = d.save_after(&heads);
            let other = if i % 2 == 0 { &mut b } else { &mut a };
            other.apply_chunk(&chunk).unwrap();
            chunks.push(chunk);
        }
        let mut loaded = VaultDoc::load(Some(&snapshot), chunks.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(loaded.to_json(), a.to_json());
        assert_eq!(loaded.heads(), a.heads());
        assert_eq!(loaded.live(Kind::Company).len(), 5);

        // A damaged chunk is an error, not a journal without it.
        chunks.insert(2, b"not automerge".to_vec());
        assert!(VaultDoc::load(Some(&snapshot), chunks.iter().map(Vec::as_slice)).is_err());
        // So is a chunk whose dependencies are gone.
        chunks.remove(2);
        chunks.remove(0);
        assert!(matches!(
            VaultDoc::load(Some(&snapshot), chunks.iter().map(Vec::as_slice)),
            Err(DocError::MissingChanges(_))
        ));
    }

    fn vault() -> VaultDoc {
        VaultDoc::new_vault("vault-1", b"device-a").unwrap()
    }

    /// A second device: a copy of the document with its own actor.
    fn fork(doc: &mut VaultDoc, actor: &[u8]) -> VaultDoc {
        let mut other = VaultDoc::load(Some(&doc.save()), []).unwrap();
        other.set_actor(actor);
        other
    }

    fn sync(a: &mut VaultDoc, b: &mut VaultDoc) {
        a.commit("test");
        b.commit("test");
        let ab = a.save();
        let bb = b.save();
        a.merge_bytes(&bb).unwrap();
        b.merge_bytes(&ab).unwrap();
    }

    #[test]
    fn a_restored_copy_s_changes_are_reissued_and_merge_with_its_old_self() {
        // A device writes, is backed up, then writes more (and syncs it).
        let mut d = vault();
        let acme = d
            .create(Kind::Company, &obj(json!({"name": "Acme"})))
            .unwrap();
        d.commit("before the backup");
        let base = d.heads();
        let mut backup = fork(&mut d, b"device-a");
        let globex = d
            .create(Kind::Company, &obj(json!({"name": "Globex"})))
            .unwrap();
        d.update(Kind::Company, &acme, &obj(json!({"notes": "original"})))
            .unwrap();
        d.commit("after the backup");
        // The backup is restored and written to: same actor, same seqs.
        let initech = backup
            .create(Kind::Company, &obj(json!({"name": "Initech"})))
            .unwrap();
        backup.commit("after the restore");
        backup
            .update(Kind::Company, &initech, &obj(json!({"notes": "restored"})))
            .unwrap();
        backup
            .update(Kind::Company, &acme, &obj(json!({"priority": "dream"})))
            .unwrap();
        backup.commit("after the restore, again");
        let theirs = d.save_after(&base);
        assert!(
            fork(&mut backup, b"device-a").apply_chunk(&theirs).is_err(),
            "without re-issuing, Automerge refuses the reused seqs"
        );
        let mut again = backup.reissued(&base, b"device-a", b"device-b").unwrap();
        again.apply_chunk(&theirs).unwrap();
        for (id, name) in [(&acme, "Acme"), (&globex, "Globex"), (&initech, "Initech")] {
            assert_eq!(
                again.record(Kind::Company, id).unwrap().str("name"),
                Some(name)
            );
        }
        let initech = again.record(Kind::Company, &initech).unwrap();
        assert_eq!(initech.str("notes"), Some("restored"));
        let acme = again.record(Kind::Company, &acme).unwrap();
        assert_eq!(acme.str("notes"), Some("original"));
        assert_eq!(acme.str("priority"), Some("dream"));
        // The original takes the re-issued changes too.
        d.apply_chunk(&again.save_after(&base)).unwrap();
        assert_eq!(d.to_json(), again.to_json());
    }

    #[test]
    fn created_records_read_back_with_their_containers() {
        let mut d = vault();
        let id = d
            .create(
                Kind::Company,
                &obj(json!({"name": "Acme", "priority": "dream"})),
            )
            .unwrap();
        let r = d.record(Kind::Company, &id).unwrap();
        assert_eq!(r.str("name"), Some("Acme"));
        assert!(r.map("aliases").is_some(), "sets exist from the start");
        assert!(r.str("created_at").is_some());
    }

    #[test]
    fn prefixes_resolve_case_insensitively_and_refuse_ambiguity() {
        let mut d = vault();
        let a = d.create(Kind::Company, &obj(json!({"name": "A"}))).unwrap();
        let b = d.create(Kind::Company, &obj(json!({"name": "B"}))).unwrap();
        assert_eq!(d.find(&a.to_lowercase(), &[Kind::Company]).unwrap().id, a);
        let common: String = a
            .chars()
            .zip(b.chars())
            .take_while(|(x, y)| x == y)
            .map(|p| p.0)
            .collect();
        assert!(matches!(
            d.find(&common, &[Kind::Company]),
            Err(DocError::Ambiguous { count: 2, .. })
        ));
        assert!(matches!(
            d.find("ZZZZ", &[Kind::Company]),
            Err(DocError::NotFound { .. })
        ));
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive() {
        let mut a = vault();
        let id = a
            .create(Kind::Interview, &obj(json!({"kind": "technical"})))
            .unwrap();
        a.commit("create");
        let mut b = fork(&mut a, b"device-b");
        a.update(Kind::Interview, &id, &obj(json!({"rating": 4})))
            .unwrap();
        b.update(
            Kind::Interview,
            &id,
            &obj(json!({"notes": "asked about Raft"})),
        )
        .unwrap();
        sync(&mut a, &mut b);
        assert_eq!(a.to_json(), b.to_json());
        let r = a.record(Kind::Interview, &id).unwrap();
        assert_eq!(r.int("rating"), Some(4));
        assert_eq!(r.str("notes"), Some("asked about Raft"));
        assert!(a.conflicts().is_empty());
    }

    #[test]
    fn concurrent_edits_of_one_field_are_kept_as_a_conflict_and_resolvable() {
        let mut a = vault();
        let id = a
            .create(Kind::Interview, &obj(json!({"rating": 3})))
            .unwrap();
        a.commit("create");
        let mut b = fork(&mut a, b"device-b");
        a.update(Kind::Interview, &id, &obj(json!({"rating": 4})))
            .unwrap();
        b.update(Kind::Interview, &id, &obj(json!({"rating": 2})))
            .unwrap();
        sync(&mut a, &mut b);
        let conflicts = a.conflicts();
        assert_eq!(conflicts, b.conflicts());
        assert_eq!(conflicts.len(), 1);
        let mut values = conflicts[0].values.clone();
        values.sort_by_key(|v| v.as_i64());
        assert_eq!(values, vec![json!(2), json!(4)]);
        a.resolve(&conflicts[0], &json!(2)).unwrap();
        sync(&mut a, &mut b);
        assert!(a.conflicts().is_empty() && b.conflicts().is_empty());
        assert_eq!(
            b.record(Kind::Interview, &id).unwrap().int("rating"),
            Some(2)
        );
    }

    #[test]
    fn agreeing_concurrent_writes_are_not_conflicts_but_profile_conflicts_are() {
        let mut a = vault();
        let id = a
            .create(Kind::Question, &obj(json!({"wording": "Why us?"})))
            .unwrap();
        a.commit("create");
        let mut b = fork(&mut a, b"device-b");
        a.set_members(Kind::Question, &id, "tags", &["motivation".into()])
            .unwrap();
        b.set_members(Kind::Question, &id, "tags", &["motivation".into()])
            .unwrap();
        a.update_profile(&obj(json!({"monthly_goal": 2}))).unwrap();
        b.update_profile(&obj(json!({"monthly_goal": 5}))).unwrap();
        sync(&mut a, &mut b);
        let conflicts = a.conflicts();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].kind, None);
        assert_eq!(conflicts[0].path, vec!["monthly_goal"]);
        a.resolve(&conflicts[0], &json!(5)).unwrap();
        assert!(a.conflicts().is_empty());
        assert_eq!(a.profile()["monthly_goal"], 5);
    }

    #[test]
    fn settling_a_conflict_between_two_maps_keeps_only_the_chosen_one() {
        let mut a = vault();
        let id = a.create(Kind::Offer, &obj(json!({}))).unwrap();
        a.commit("create");
        let mut b = fork(&mut a, b"device-b");
        // A map created on both devices under the same key (a record written
        // before containers were created with it, or an import race).
        a.update(Kind::Offer, &id, &obj(json!({"extra": {"x": 1}})))
            .unwrap();
        b.update(Kind::Offer, &id, &obj(json!({"extra": {"y": 2}})))
            .unwrap();
        sync(&mut a, &mut b);
        let c = a.conflicts();
        assert_eq!(c.len(), 1);
        a.resolve(&c[0], &json!({"y": 2})).unwrap();
        sync(&mut a, &mut b);
        assert!(b.conflicts().is_empty());
        assert_eq!(
            b.record(Kind::Offer, &id).unwrap().get("extra"),
            Some(&json!({"y": 2}))
        );
    }

    #[test]
    fn records_added_offline_on_two_devices_never_collide() {
        let mut a = vault();
        a.commit("init");
        let mut b = fork(&mut a, b"device-b");
        let _x = a
            .create(Kind::Contact, &obj(json!({"name": "Ana"})))
            .unwrap();
        let y = b
            .create(Kind::Contact, &obj(json!({"name": "Bo"})))
            .unwrap();
        sync(&mut a, &mut b);
        assert_eq!(a.live(Kind::Contact).len(), 2);
        assert!(a.record(Kind::Contact, &y).is_some());
        assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn an_edit_concurrent_with_a_delete_is_not_lost() {
        let mut a = vault();
        let id = a
            .create(Kind::Company, &obj(json!({"name": "Acme"})))
            .unwrap();
        a.commit("create");
        let mut b = fork(&mut a, b"device-b");
        a.update(
            Kind::Company,
            &id,
            &obj(json!({"deleted_at": "2026-11-20T10:00:00+00:00[UTC]"})),
        )
        .unwrap();
        b.update(Kind::Company, &id, &obj(json!({"notes": "great team"})))
            .unwrap();
        sync(&mut a, &mut b);
        let r = a.record(Kind::Company, &id).unwrap();
        assert!(r.is_deleted());
        assert_eq!(r.str("notes"), Some("great team"));
        a.unset(Kind::Company, &id, &["deleted_at"]).unwrap();
        assert!(!a.record(Kind::Company, &id).unwrap().is_deleted());
    }

    #[test]
    fn set_members_replaces_but_concurrent_adds_win() {
        let mut a = vault();
        let id = a
            .create(Kind::Question, &obj(json!({"wording": "Why us?"})))
            .unwrap();
        a.set_members(
            Kind::Question,
            &id,
            "tags",
            &["motivation".into(), "culture".into()],
        )
        .unwrap();
        a.commit("tags");
        let mut b = fork(&mut a, b"device-b");
        a.set_members(Kind::Question, &id, "tags", &["motivation".into()])
            .unwrap();
        b.set_members(
            Kind::Question,
            &id,
            "tags",
            &["motivation".into(), "culture".into(), "opener".into()],
        )
        .unwrap();
        sync(&mut a, &mut b);
        let r = a.record(Kind::Question, &id).unwrap();
        assert_eq!(r.set("tags"), vec!["motivation", "opener"]);
    }

    #[test]
    fn unknown_fields_and_enum_values_round_trip_untouched() {
        let mut a = vault();
        let id = a
            .create(
                Kind::Interview,
                &obj(json!({"kind": "hackathon", "future_field": {"x": 1}})),
            )
            .unwrap();
        a.update(Kind::Interview, &id, &obj(json!({"rating": 5})))
            .unwrap();
        let r = a.record(Kind::Interview, &id).unwrap();
        assert_eq!(r.str("kind"), Some("hackathon"));
        assert_eq!(r.get("future_field"), Some(&json!({"x": 1})));
        let json = a.to_json();
        let mut fresh = vault();
        crate::export::import_json(&mut fresh, &json).unwrap();
        assert_eq!(fresh.to_json(), json);
    }

    #[test]
    fn unchanged_writes_make_no_change() {
        let mut a = vault();
        let id = a
            .create(Kind::Company, &obj(json!({"name": "Acme"})))
            .unwrap();
        a.commit("create");
        a.update(Kind::Company, &id, &obj(json!({"name": "Acme"})))
            .unwrap();
        assert!(a.commit("noop").is_none());
    }

    #[test]
    fn merging_another_vault_is_refused() {
        let mut a = vault();
        let mut other = VaultDoc::new_vault("vault-2", b"device-z").unwrap();
        let bytes = other.save();
        assert!(matches!(
            a.merge_bytes(&bytes),
            Err(DocError::OtherVault { .. })
        ));
    }
}
