//! The bytes of a read-only view of the document (see
//! [`crate::store::open_view`]): what reads need, without the Automerge
//! history, in a form a writer can bring up to date cheaply.
//!
//! A view is a sequence of frames, each a little-endian `u32` length and
//! that many bytes of JSON:
//!
//! 1. the head: vault id, schema and the document's heads (hex) that the
//!    view shows;
//! 2. the base: [`super::VaultDoc::to_json`] at some earlier heads;
//! 3. zero or more patches, in order: records re-read since (or gone), and
//!    the profile.
//!
//! A process that has just written holds the document, and knows from the
//! head which records the changes since touched; it appends one patch and
//! rewrites the head, copying the base and older patches as bytes without
//! parsing them (a parse of the whole view would cost as much as the rest
//! of a small write). A reader parses everything and applies the patches;
//! once they have grown to a fair share of the base, it writes the view
//! back as one base ([`needs_folding`]).

use serde_json::{Map, Value};

use super::{DocError, ReadJournal};
use crate::model::{Kind, Record};

/// A read-only journal: the rendering of a document that a view cache
/// holds (see [`crate::store::open_view`]). Every read answers as the
/// document it was rendered from would; it has no history, so it holds no
/// conflicts, and it has no way to be written to or saved.
pub struct VaultView {
    view: View,
}

impl VaultView {
    pub(super) fn new(view: View) -> VaultView {
        VaultView { view }
    }

    /// A view from [`super::VaultDoc::to_view`]'s bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<VaultView, DocError> {
        decode(bytes)
            .map(VaultView::new)
            .ok_or(DocError::Malformed("view"))
    }

    /// A view showing `json`, shaped like [`super::VaultDoc::to_json`]'s
    /// map, with no vault id, no heads and no `meta` (device names, relay):
    /// what [`crate::redact::redacted`] hands out.
    pub(crate) fn from_json(json: Map<String, Value>) -> VaultView {
        VaultView::new(View {
            vault_id: None,
            schema: json.get("schema").and_then(Value::as_i64),
            heads: Vec::new(),
            json,
        })
    }

    /// The view as bytes again, as one base (see [`needs_folding`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(&self.view)
    }

    fn kind(&self, kind: Kind) -> Option<&Map<String, Value>> {
        self.view
            .json
            .get(kind.root_key())
            .and_then(Value::as_object)
    }
}

impl ReadJournal for VaultView {
    fn vault_id(&self) -> Option<String> {
        self.view.vault_id.clone()
    }

    fn schema_version(&self) -> Option<i64> {
        self.view.schema
    }

    fn record(&self, kind: Kind, id: &str) -> Option<Record> {
        match self.kind(kind)?.get(id)? {
            Value::Object(fields) => Some(Record {
                kind,
                id: id.to_string(),
                fields: fields.clone(),
            }),
            _ => None,
        }
    }

    fn records(&self, kind: Kind) -> Vec<Record> {
        self.kind(kind)
            .into_iter()
            .flatten()
            .filter_map(|(id, v)| match v {
                Value::Object(fields) => Some(Record {
                    kind,
                    id: id.clone(),
                    fields: fields.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    fn ids(&self, kind: Kind) -> Vec<String> {
        self.kind(kind)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn profile(&self) -> Map<String, Value> {
        match self.view.json.get("profile") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        }
    }

    fn to_json(&self) -> Value {
        Value::Object(self.view.json.clone())
    }

    fn device_names(&self) -> std::collections::BTreeMap<String, String> {
        Default::default()
    }
}

/// The parsed view a read-only [`super::VaultDoc`] answers from.
pub(super) struct View {
    pub vault_id: Option<String>,
    pub schema: Option<i64>,
    /// The document's heads (hex) the view shows, so a later rendering can
    /// re-read just the records changed since.
    pub heads: Vec<String>,
    pub json: Map<String, Value>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Head {
    pub vault_id: Option<String>,
    pub schema: Option<i64>,
    pub heads: Vec<String>,
}

/// Records changed since the previous frame, and the profile now.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Patch {
    pub records: Vec<Changed>,
    pub profile: Map<String, Value>,
}

/// A kind's root key, a record's id, and its fields (`None`: it is gone).
pub(super) type Changed = (String, String, Option<Map<String, Value>>);

/// Patches larger than this share of the base are folded into it by the
/// next read.
const FOLD_SHARE: usize = 16;

pub(crate) fn push_frame(out: &mut Vec<u8>, frame: &[u8]) -> Option<()> {
    out.extend_from_slice(&u32::try_from(frame.len()).ok()?.to_le_bytes());
    out.extend_from_slice(frame);
    Some(())
}

/// The frames of a view, or `None` if they do not add up (a damaged or
/// truncated file).
pub(crate) fn frames(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (frame, rest) = rest.split_at(len);
        out.push(frame);
        bytes = rest;
    }
    (out.len() >= 2).then_some(out)
}

pub(super) fn encode(view: &View) -> Vec<u8> {
    let head = Head {
        vault_id: view.vault_id.clone(),
        schema: view.schema,
        heads: view.heads.clone(),
    };
    let mut out = Vec::new();
    let ok = serde_json::to_vec(&head)
        .ok()
        .and_then(|h| push_frame(&mut out, &h))
        .and_then(|()| serde_json::to_vec(&view.json).ok())
        .and_then(|j| push_frame(&mut out, &j));
    // Unencodable (a view over 4 GiB): an empty view, which no read
    // believes, so the next one renders it again.
    if ok.is_none() {
        out.clear();
    }
    out
}

pub(super) fn decode(bytes: &[u8]) -> Option<View> {
    let frames = frames(bytes)?;
    let head: Head = serde_json::from_slice(frames[0]).ok()?;
    let mut json: Map<String, Value> = serde_json::from_slice(frames[1]).ok()?;
    for frame in &frames[2..] {
        let patch: Patch = serde_json::from_slice(frame).ok()?;
        for (root, id, fields) in patch.records {
            let map = json
                .entry(root)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(map) = map else {
                return None;
            };
            match fields {
                Some(fields) => map.insert(id, Value::Object(fields)),
                None => map.remove(&id),
            };
        }
        json.insert("profile".into(), Value::Object(patch.profile));
    }
    Some(View {
        vault_id: head.vault_id,
        schema: head.schema,
        heads: head.heads,
        json,
    })
}

/// The view's head alone, without parsing the rest.
pub(super) fn head(bytes: &[u8]) -> Option<Head> {
    serde_json::from_slice(frames(bytes)?[0]).ok()
}

/// `previous` with `patch` appended and its head replaced by `head`.
pub(super) fn append(previous: &[u8], head: &Head, patch: &Patch) -> Option<Vec<u8>> {
    let frames = frames(previous)?;
    let mut out = Vec::with_capacity(previous.len() + 4096);
    push_frame(&mut out, &serde_json::to_vec(head).ok()?)?;
    for frame in &frames[1..] {
        push_frame(&mut out, frame)?;
    }
    push_frame(&mut out, &serde_json::to_vec(patch).ok()?)?;
    Some(out)
}

/// Whether the view's patches have grown enough to be worth folding into
/// its base (which costs a full serialization and write of the view).
pub fn needs_folding(bytes: &[u8]) -> bool {
    frames(bytes).is_some_and(|f| {
        let patches: usize = f[2..].iter().map(|p| p.len()).sum();
        patches > 0 && patches * FOLD_SHARE > f[1].len()
    })
}
