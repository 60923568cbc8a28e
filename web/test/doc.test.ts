import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { companySuggestions, logInterview, members, plain, records, today, updateRecord, vaultId, zoned } from "../src/doc";

function vault() {
  return A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1, vault_id: new A.ImmutableString("01VAULT") };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
}

describe("the document", () => {
  it("logs an interview with scalar strings and containers, in one change", () => {
    const now = new Date("2026-03-04T10:00:00Z");
    const { doc, id } = logInterview(vault(), { company: " Acme ", role: "Staff", kind: "technical", rating: 4, note: "went fine" }, now);
    expect(vaultId(doc)).toBe("01VAULT");
    const iv = (doc as any).interviews[id];
    expect(iv.notes).toBeInstanceOf(A.ImmutableString);
    expect(typeof iv.rating).toBe("number");
    expect(Object.keys(plain(iv.interviewers) as object)).toEqual([]);
    const [company] = records(doc, "company");
    expect(company.fields.name).toBe("Acme");
    expect(company.fields.aliases).toEqual({});
    const [opp] = records(doc, "opportunity");
    expect(opp.fields.role).toBe("Staff");
    expect(Object.values(opp.fields.stages as object)[0].stage).toBe("interviewing");
    expect(iv.status.val).toBe("done");
    expect(A.getAllChanges(doc).length).toBe(2);
    // The same company and open opportunity are reused, ignoring case.
    const again = logInterview(doc, { company: "acme" }, now).doc;
    expect(records(again, "company")).toHaveLength(1);
    expect(records(again, "opportunity")).toHaveLength(1);
    expect(records(again, "interview")).toHaveLength(2);
    expect(companySuggestions(again)).toEqual(["Acme"]);
  });

  it("refuses a log without a company", () => {
    expect(() => logInterview(vault(), { company: "  " })).toThrow(/Company is empty/);
    expect(() => logInterview(vault(), { company: "X", rating: 9 })).toThrow(/1 to 5/);
  });

  it("skips unchanged edits and removes emptied fields", () => {
    const { doc, id } = logInterview(vault(), { company: "Acme", rating: 3 });
    expect(updateRecord(doc, "interview", id, { rating: 3 })).toBe(doc);
    const edited = updateRecord(doc, "interview", id, { rating: 5, notes: "more" });
    expect(records(edited, "interview")[0].fields.rating).toBe(5);
    const cleared = updateRecord(edited, "interview", id, { notes: "" });
    expect(records(cleared, "interview")[0].fields.notes).toBeUndefined();
  });

  it("writes instants with their zone, as jiff does", () => {
    expect(zoned(new Date(2026, 0, 2, 3, 4, 5), "Europe/Paris")).toMatch(/^2026-01-02T03:04:05[+-]\d\d:\d\d\[Europe\/Paris\]$/);
  });

  it("finds due follow-ups and contacts to get back in touch with", () => {
    const doc = A.change(vault(), (d: any) => {
      const s = (x: string) => new A.ImmutableString(x);
      d.followups.F1 = { due: s("2026-11-01"), note: s("send thanks"), done: false };
      d.followups.F2 = { due: s("2026-11-01"), snoozed_until: s("2026-11-30") };
      d.followups.F3 = { due: s("2026-12-01") };
      d.contacts.C1 = { name: s("Ana"), keep_in_touch_days: 30, last_contacted: s("2026-09-01"), employment: {}, channels: {} };
      d.contacts.C2 = { name: s("Bo"), keep_in_touch_days: 30, last_contacted: s("2026-11-10"), employment: {}, channels: {} };
    });
    const t = today(doc, "2026-11-20");
    expect(t.followups.map((f) => [f.id, f.daysOverdue])).toEqual([["F1", 19]]);
    expect(t.reconnect.map((c) => [c.name, c.daysOverdue])).toEqual([["Ana", 50]]);
    expect(members({ s: { a: true, b: false } }, "s")).toEqual(["a"]);
  });
});
