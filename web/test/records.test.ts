// Creating, editing, deleting and restoring any record as the CLI's commands
// do (cli/src/cmd/kinds.rs `add`s, records.rs `edit`, `delete`, `restore`).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { createRecord, currentStage, deleteRecord, editRecord, logInterview, record, records, restoreRecord } from "../src/doc";

function vault() {
  return A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1, vault_id: new A.ImmutableString("01VAULT") };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
}
const now = new Date("2026-03-04T10:00:00Z");

describe("any record", () => {
  it("creates a company with its containers and a set, and refuses a name taken (ignoring case)", () => {
    const { doc, id } = createRecord(vault(), "company", { name: " Acme ", sensitivity: "high", aliases: { "Acme Corp": true } }, now);
    expect(record(doc, "company", id)!.fields).toMatchObject({ name: "Acme", sensitivity: "high", aliases: { "Acme Corp": true } });
    expect((doc as any).companies[id].name).toBeInstanceOf(A.ImmutableString);
    expect(() => createRecord(doc, "company", { name: "ACME" })).toThrow(/A company named 'Acme' already exists \(.{12}\); edit it on its screen\./);
    expect(() => createRecord(doc, "company", { name: "acme corp" })).toThrow(/already exists/);
    expect(() => createRecord(doc, "company", { name: "  " })).toThrow("The company name is empty.");
  });

  it("creates a follow-up due in 7 days, of kind follow_up, not done", () => {
    const { doc, id } = createRecord(vault(), "followup", { note: "Call Ana" }, now);
    expect(record(doc, "followup", id)!.fields).toMatchObject({ note: "Call Ana", due: "2026-03-11", kind: "follow_up", done: false });
    expect(() => createRecord(doc, "followup", {})).toThrow(/empty/);
  });

  it("creates an offer from its opportunity: its company, received today, pending, and the offer stage", () => {
    const logged = logInterview(vault(), { company: "Acme", role: "Staff" }, now);
    const [opp] = records(logged.doc, "opportunity");
    const later = new Date(now.getTime() + 86_400_000);
    const { doc, id } = createRecord(logged.doc, "offer", { opportunity: opp.id, level: "L6" }, later);
    expect(record(doc, "offer", id)!.fields).toMatchObject({ opportunity: opp.id, company: opp.fields.company, received: "2026-03-05", decision: "pending", comp: {}, rounds: {} });
    expect(currentStage(record(doc, "opportunity", opp.id)!.fields)).toBe("offer");
    expect(() => createRecord(doc, "offer", {})).toThrow("Pick the opportunity this offer is for.");
  });

  it("refuses a question already in the bank", () => {
    const { doc } = createRecord(vault(), "question", { wording: "Why us?" }, now);
    expect(() => createRecord(doc, "question", { wording: " why US? " })).toThrow(/already in the bank/);
  });

  it("edits scalars and sets, writing only the members that changed", () => {
    const made = createRecord(vault(), "company", { name: "Acme", aliases: { A: true, B: true } }, now);
    const heads = A.getHeads(made.doc);
    const edited = editRecord(made.doc, "company", made.id, { industry: "Fintech", aliases: { B: true, C: true }, sensitivity: null }, now);
    expect(record(edited, "company", made.id)!.fields.aliases).toEqual({ B: true, C: true });
    expect(record(edited, "company", made.id)!.fields.industry).toBe("Fintech");
    expect(A.getHeads(edited)).not.toEqual(heads);
    expect(editRecord(edited, "company", made.id, { industry: "Fintech", aliases: { C: true, B: true } })).toBe(edited);
  });

  it("deletes softly and restores, with the CLI's messages when there is nothing to do", () => {
    const made = createRecord(vault(), "question", { wording: "Why us?" }, now);
    const deleted = deleteRecord(made.doc, "question", made.id, now);
    expect(record(deleted, "question", made.id)!.fields.deleted_at).toMatch(/^2026-03-04T/);
    expect(() => deleteRecord(deleted, "question", made.id)).toThrow(`question ${made.id} is already deleted`);
    expect(() => editRecord(deleted, "question", made.id, { category: "x" })).toThrow(/deleted; restore it first/);
    const back = restoreRecord(deleted, "question", made.id, now);
    expect(record(back, "question", made.id)!.fields.deleted_at).toBeUndefined();
    expect(() => restoreRecord(back, "question", made.id)).toThrow(`question ${made.id} is not deleted`);
  });
});

describe("opportunities", () => {
  it("a new one needs its company and starts at lead; stages move; withdraw and rejected close it as the CLI does", async () => {
    const { addStage, closeOpportunity } = await import("../src/doc");
    const made = createRecord(vault(), "company", { name: "Acme" }, now);
    expect(() => createRecord(made.doc, "opportunity", { role: "Staff" })).toThrow("Pick the company.");
    const opp = createRecord(made.doc, "opportunity", { company: made.id, role: "Staff", purpose: { practice: true } }, now);
    const o = record(opp.doc, "opportunity", opp.id)!.fields;
    expect(currentStage(o)).toBe("lead");
    expect(o).toMatchObject({ company: made.id, role: "Staff", purpose: { practice: true }, stages: expect.any(Object), close: {} });
    const later = (days: number) => new Date(now.getTime() + days * 86_400_000);
    const screened = addStage(opp.doc, opp.id, "screen", "with Ana", later(1));
    expect(currentStage(record(screened, "opportunity", opp.id)!.fields)).toBe("screen");
    expect(() => addStage(screened, opp.id, "party", null)).toThrow(/'party' is not a valid stage; use one of: lead, applied/);
    expect(() => closeOpportunity(screened, opp.id, "withdrawn", " ", true)).toThrow(/Say why you withdraw/);
    const withdrawn = closeOpportunity(A.clone(screened), opp.id, "withdrawn", "took another offer", true, later(2));
    const w = record(withdrawn, "opportunity", opp.id)!.fields;
    expect(currentStage(w)).toBe("withdrawn");
    expect(w.close).toMatchObject({ by: "me", reason: "took another offer", door_open: true });
    const rejected = closeOpportunity(A.clone(screened), opp.id, "rejected", "", false, later(2));
    expect(record(rejected, "opportunity", opp.id)!.fields.close).toMatchObject({ by: "them", reason: null, door_open: false });
  });
});

describe("an offer's decision and a contact's move", () => {
  it("accepting an offer moves its opportunity to accepted, as `offer decide`", async () => {
    const { decideOffer } = await import("../src/doc");
    const logged = logInterview(vault(), { company: "Acme", role: "Staff" }, now);
    const [opp] = records(logged.doc, "opportunity");
    const offer = createRecord(logged.doc, "offer", { opportunity: opp.id }, new Date(now.getTime() + 86_400_000));
    const accepted = decideOffer(offer.doc, offer.id, "accepted", new Date(now.getTime() + 2 * 86_400_000));
    expect(record(accepted, "offer", offer.id)!.fields.decision).toBe("accepted");
    expect(currentStage(record(accepted, "opportunity", opp.id)!.fields)).toBe("accepted");
    const negotiating = decideOffer(A.clone(offer.doc), offer.id, "negotiating");
    expect(currentStage(record(negotiating, "opportunity", opp.id)!.fields)).toBe("offer");
    expect(() => decideOffer(offer.doc, offer.id, "maybe")).toThrow(/'maybe' is not a valid decision/);
  });

  it("a move ends the open job and starts one at the company (a new one if need be), as `contact moved`", async () => {
    const { contactMoved, jobsOf } = await import("../src/doc");
    const acme = createRecord(vault(), "company", { name: "Acme" }, now);
    const ada = createRecord(acme.doc, "contact", { name: "Ada" }, now);
    const first = contactMoved(ada.doc, ada.id, "acme", "", "2025-01-01", now);
    const second = contactMoved(first, ada.id, "Globex", "VP Engineering", "2026-03-01", now);
    expect(jobsOf(second, ada.id)).toEqual([
      { company: "Globex", title: "VP Engineering", from: "2026-03-01", to: undefined },
      { company: "Acme", title: undefined, from: "2025-01-01", to: "2026-03-01" },
    ]);
    expect(records(second, "company").map((c) => c.fields.name).sort()).toEqual(["Acme", "Globex"]);
    expect(() => contactMoved(second, ada.id, " ", "", "2026-03-02")).toThrow("The company name is empty.");
  });
});
