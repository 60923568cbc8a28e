//! A script of edits both clients apply, `tests/vectors/edits.json`: this
//! side through `VaultDoc`, the phone through its own document layer
//! (`web/test/edits.test.ts`). Both must end with the same JSON export of
//! the records (deleted_at, a time each side writes, compared as `<time>`).
//!
//! `INTERLOG_WRITE_VECTORS=1 cargo test -p interlog-core --test edit_vectors`
//! rewrites the vector's `export` after a deliberate change; review the diff.

use std::path::PathBuf;

use interlog_core::doc::{ReadJournal as _, VaultDoc};
use interlog_core::model::Kind;
use serde_json::{Map, Value};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/edits.json")
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn apply(doc: &mut VaultDoc, step: &Value) {
    let s = |k: &str| step[k].as_str().unwrap_or_default().to_string();
    let kind = Kind::parse(&s("kind")).unwrap();
    let id = s("id");
    match s("op").as_str() {
        "create" => doc
            .create_with_id(kind, &id, &obj(&step["fields"]))
            .unwrap(),
        "update" => doc.update(kind, &id, &obj(&step["fields"])).unwrap(),
        "set_members" => {
            let members: Vec<String> = step["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            doc.set_members(kind, &id, &s("field"), &members).unwrap()
        }
        "unset" => doc.unset(kind, &id, &[s("field").as_str()]).unwrap(),
        "delete" => {
            let mut p = Map::new();
            p.insert(
                "deleted_at".into(),
                Value::String("2026-03-04T11:00:00+01:00[Europe/Paris]".into()),
            );
            doc.update(kind, &id, &p).unwrap()
        }
        "restore" => doc.unset(kind, &id, &["deleted_at"]).unwrap(),
        other => panic!("unknown op {other}"),
    }
}

/// The records of the kinds the script touches, with deleted_at as `<time>`.
fn canonical(export: &Value) -> Value {
    let mut out = Map::new();
    for root in ["companies", "contacts", "questions", "followups"] {
        let mut records = obj(&export[root]);
        for r in records.values_mut() {
            if let Some(m) = r.as_object_mut() {
                if m.contains_key("deleted_at") {
                    m.insert("deleted_at".into(), Value::String("<time>".into()));
                }
            }
        }
        out.insert(root.into(), Value::Object(records));
    }
    Value::Object(out)
}

#[test]
fn the_scripted_edits_export_as_the_vector_says() {
    let text = std::fs::read_to_string(path()).unwrap();
    let mut vector: Value = serde_json::from_str(&text).unwrap();
    let mut doc = VaultDoc::new_vault("01JD3Q8Z6QK4T9X2V7M5N3B1CA", b"edit-vectors").unwrap();
    for step in vector["script"].as_array().unwrap() {
        apply(&mut doc, step);
    }
    let got = canonical(&doc.to_json());
    if std::env::var_os("INTERLOG_WRITE_VECTORS").is_some() {
        vector["export"] = got;
        std::fs::write(
            path(),
            serde_json::to_string_pretty(&vector).unwrap() + "\n",
        )
        .unwrap();
        return;
    }
    assert!(
        vector["export"] == got,
        "tests/vectors/edits.json's export differs from what VaultDoc makes of its script:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}
