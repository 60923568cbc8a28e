// Conflicts as `interlog conflicts` lists and picks them (doc.rs,
// `conflicts` and `resolve`): fields two devices wrote at once, into nested
// maps, agreement left out, and a pick that settles it everywhere.
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { conflicts, createRecord, editRecord, record, resolveConflict } from "../src/doc";

const LAPTOP = "aa".repeat(16);
const PHONE = "bb".repeat(16);

function base() {
  const doc = A.change(A.init<any>({ actor: LAPTOP }), (d: any) => {
    d.meta = { schema: 1 };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
  return createRecord(doc, "company", { name: "Acme" });
}

describe("conflicts", () => {
  it("lists a field two devices wrote at once, with each value and its writer, and a pick settles it", () => {
    const { doc, id } = base();
    const laptop = editRecord(A.clone(doc, { actor: LAPTOP }), "company", id, { industry: "Fintech", priority: "dream" });
    const phone = editRecord(A.clone(doc, { actor: PHONE }), "company", id, { industry: "Payments", priority: "dream" });
    const merged = A.merge(A.clone(phone, { actor: PHONE }), laptop);
    const found = conflicts(merged);
    // The same value on both sides is agreement, not a conflict.
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: "company", id, path: ["industry"] });
    expect([...found[0].values].sort()).toEqual(["Fintech", "Payments"]);
    expect([...found[0].writers].sort()).toEqual([LAPTOP, PHONE]);
    const picked = resolveConflict(merged, found[0], "Fintech");
    expect(conflicts(picked)).toEqual([]);
    expect(record(picked, "company", id)!.fields.industry).toBe("Fintech");
    // The laptop, merging the pick, agrees.
    expect(record(A.merge(A.clone(laptop), picked), "company", id)!.fields.industry).toBe("Fintech");
  });

  it("finds conflicts inside nested maps", () => {
    const { doc, id } = base();
    const a = A.change(A.clone(doc, { actor: LAPTOP }), (d: any) => {
      d.companies[id].aliases.ACME = true;
    });
    const one = A.change(A.clone(a, { actor: LAPTOP }), (d: any) => {
      d.companies[id].aliases.ACME = false;
    });
    const two = A.change(A.clone(a, { actor: PHONE }), (d: any) => {
      delete d.companies[id].aliases.ACME;
      d.companies[id].aliases.ACME = true;
    });
    const found = conflicts(A.merge(A.clone(one), two));
    expect(found.map((c) => c.path)).toEqual([["aliases", "ACME"]]);
  });
});
