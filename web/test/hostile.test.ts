// Never trust a peer: a document another device wrote may hold anything
// (counters, lists, Text, floats, maps where strings belong, strings where
// maps belong). The phone's reads must show what they can and never throw.
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { conflictedFields, conflicts, jobsOf, records, retroOf, today, toJson } from "../src/doc";
import { logWarnings } from "../src/discretion";
import { search } from "../src/search";
import { stats } from "../src/stats";

function hostile() {
  return A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1, vault_id: "V" };
    d.profile = { comp: "lots", work_days: ["mon"], work_start: 9, monthly_goal: 2.5 };
    d.companies = { C1: { name: "Acme" /* a plain string is Automerge Text */, aliases: "not a set", sensitivity: 3 }, C2: "not a record" };
    d.contacts = { P1: { name: ["a", "list"], keep_in_touch_days: 1.5, employment: { E: "x", F: { company: 5, from: {} } }, channels: null } };
    d.opportunities = { O1: { company: "C1", stages: { S: { stage: 5, at: [] }, T: "x" }, close: 7 } };
    d.interviews = {
      I1: { company: "C1", start: "garbage", rating: new A.Counter(3), questions: { Q1: "five", Q2: 2.5, Q3: null }, interviewers: ["P1"], resume_items: "x" },
      I2: { company: 4, start: "2026-03-04T10:00:00+01:00[Europe/Paris]", rating: 9, questions: "none", kind: { nested: true } },
    };
    d.offers = { F1: { comp: { currency: 5, base: "100k" }, rounds: "x", level_delta: "one" }, F2: { comp: { currency: "EUR", base: 1.5, period: "week" } } };
    d.followups = { U1: { due: 20260304, done: "yes", note: "call" }, U2: { due: "2026-03-01", snoozed_until: 5 } };
    d.questions = { Q1: { wording: 42 }, Q2: { wording: "Why us?", tags: "x" } };
  });
}

describe("a hostile document", () => {
  it("reads without throwing everywhere the phone reads", () => {
    const doc = hostile();
    expect(() => toJson(doc)).not.toThrow();
    expect(() => today(doc, "2026-03-04")).not.toThrow();
    expect(() => conflicts(doc)).not.toThrow();
    for (const [k, id] of [["company", "C1"], ["company", "C2"], ["interview", "I1"], ["offer", "F1"]] as const) expect(() => conflictedFields(doc, k, id)).not.toThrow();
    expect(() => search(doc, "a")).not.toThrow();
    expect(() => stats(doc, new Date(2026, 2, 10), 12)).not.toThrow();
    expect(() => retroOf(doc, "I1")).not.toThrow();
    expect(() => retroOf(doc, "I2")).not.toThrow();
    expect(() => jobsOf(doc, "P1")).not.toThrow();
    expect(() => logWarnings(doc, "C1", new Date())).not.toThrow();
    expect(records(doc, "company").map((r) => r.id)).toEqual(["C1"]);
    // What can be read is read: the Text name, the string due date.
    expect(records(doc, "company")[0].fields.name).toBe("Acme");
    expect(today(doc, "2026-03-04").followups.map((f) => f.id)).toEqual(["U2"]);
  });
});
