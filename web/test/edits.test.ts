// The scripted edits of tests/vectors/edits.json, through the phone's
// document layer: the export must be the one VaultDoc makes of the same
// script (client-core/tests/edit_vectors.rs checks the Rust side).
import { readFileSync } from "node:fs";

import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { createRecord, deleteRecord, editRecord, type FieldValue, type Kind, restoreRecord, toJson } from "../src/doc";

type Step = { op: string; kind: Kind; id: string; fields?: Record<string, FieldValue>; field?: string; members?: string[] };

function canonical(exported: Record<string, any>) {
  const out: Record<string, unknown> = {};
  for (const root of ["companies", "contacts", "questions", "followups"]) {
    const records = structuredClone(exported[root] ?? {});
    for (const r of Object.values(records) as Record<string, unknown>[]) if ("deleted_at" in r) r.deleted_at = "<time>";
    out[root] = records;
  }
  return out;
}

describe("the scripted edits vector", () => {
  it("ends with the export the Rust side makes of the same script", () => {
    const vector = JSON.parse(readFileSync(new URL("../../tests/vectors/edits.json", import.meta.url), "utf8"));
    expect(vector.export).not.toBeNull();
    let doc = A.change(A.init<any>({ actor: "bb".repeat(16) }), (d: any) => {
      d.meta = { schema: 1, vault_id: new A.ImmutableString("01JD3Q8Z6QK4T9X2V7M5N3B1CA") };
      d.profile = { comp: {}, work_days: {} };
      for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
    });
    for (const step of vector.script as Step[]) {
      switch (step.op) {
        case "create":
          doc = createRecord(doc, step.kind, step.fields!, new Date(), step.id).doc;
          break;
        case "update":
          doc = editRecord(doc, step.kind, step.id, step.fields!);
          break;
        case "set_members":
          doc = editRecord(doc, step.kind, step.id, { [step.field!]: Object.fromEntries(step.members!.map((m) => [m, true as const])) });
          break;
        case "unset":
          doc = editRecord(doc, step.kind, step.id, { [step.field!]: null });
          break;
        case "delete":
          doc = deleteRecord(doc, step.kind, step.id);
          break;
        case "restore":
          doc = restoreRecord(doc, step.kind, step.id);
          break;
        default:
          throw new Error(`unknown op ${step.op}`);
      }
    }
    expect(canonical(toJson(doc))).toEqual(vector.export);
  });
});
