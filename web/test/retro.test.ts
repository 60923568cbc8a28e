// Logging with a start time, the retro, and Today's actions, as the CLI
// writes them (cli/src/cmd/log.rs: `log --at`, `retro`; kinds.rs:
// `followup done`, `followup snooze`, `contact touched`).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { logInterview, plain, records, retroOf, type Retro, today, updateRecord, writeRetro } from "../src/doc";

function vault() {
  return A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1, vault_id: new A.ImmutableString("01VAULT") };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
}

const now = new Date("2026-03-04T10:00:00Z");

describe("logging with a start time", () => {
  it("starts the interview and the new opportunity's stage then; done in the past, scheduled in the future", () => {
    const hourAgo = new Date(now.getTime() - 3600_000);
    const { doc, id } = logInterview(vault(), { company: "Acme", start: hourAgo }, now);
    const iv = records(doc, "interview")[0].fields;
    expect(Date.parse((iv.start as string).replace(/\[.*\]$/, ""))).toBe(hourAgo.getTime());
    expect(iv.status).toBe("done");
    const stage = Object.values(records(doc, "opportunity")[0].fields.stages as object)[0];
    expect(Date.parse(stage.at.replace(/\[.*\]$/, ""))).toBe(hourAgo.getTime());
    // Created now, whatever the start.
    expect(Date.parse((iv.created_at as string).replace(/\[.*\]$/, ""))).toBe(now.getTime());
    const later = logInterview(doc, { company: "Acme", start: new Date(now.getTime() + 86_400_000) }, now);
    expect(records(later.doc, "interview").find((r) => r.id === later.id)!.fields.status).toBe("scheduled");
    expect(id).not.toBe(later.id);
  });

  it("refuses a start that is not a time", () => {
    expect(() => logInterview(vault(), { company: "Acme", start: new Date("nope") })).toThrow(/not a time/);
  });
});

describe("the retro", () => {
  const logged = () => logInterview(vault(), { company: "Acme", kind: "technical" }, now);
  const edit = (r: Retro, patch: Partial<Retro>): Retro => ({ ...r, ...patch });

  it("writes prose, rating, rated questions (new ones into the bank) and resume items, in one change", () => {
    const { doc, id } = logged();
    const before = retroOf(doc, id);
    const changes = A.getAllChanges(doc).length;
    expect(before).toEqual({ rating: null, went_well: "", improve: "", looking_for: "", questions: [], resumeItems: [] });
    const after = edit(before, {
      rating: 4,
      went_well: "Clear story",
      questions: [
        ["Design a rate limiter", 2],
        ["Why us?", null],
      ],
      resumeItems: ["Kafka migration", " Kafka migration "],
    });
    const next = writeRetro(doc, id, before, after, now);
    expect(A.getAllChanges(next).length).toBe(changes + 1);
    expect(retroOf(next, id)).toEqual({
      rating: 4,
      went_well: "Clear story",
      improve: "",
      looking_for: "",
      questions: [
        ["Design a rate limiter", 2],
        ["Why us?", null],
      ],
      resumeItems: ["Kafka migration"],
    });
    const bank = records(next, "question");
    expect(bank.map((q) => q.fields.wording).sort()).toEqual(["Design a rate limiter", "Why us?"]);
    // A question created like the CLI's: its containers and creation time.
    expect(bank[0].fields.tags).toEqual({});
    // Null for unrated, as the Rust side writes it.
    const iv = plain((next as any).interviews[id]) as any;
    expect(Object.values(iv.questions).sort()).toEqual([2, null].sort());
    expect(iv.resume_items).toEqual({ "Kafka migration": true });
    expect((next as any).interviews[id].went_well).toBeInstanceOf(A.ImmutableString);
  });

  it("writes only what changed: another device's edit meanwhile survives, and an unchanged retro writes nothing", () => {
    const { doc, id } = logged();
    const before = retroOf(doc, id);
    // The laptop writes what to improve while the phone's retro is open.
    const laptop = updateRecord(A.clone(doc, { actor: "cc".repeat(16) }), "interview", id, { improve: "slow down" });
    const phone = writeRetro(doc, id, before, edit(before, { went_well: "good questions back" }), now);
    const merged = A.merge(phone, laptop);
    expect(retroOf(merged, id)).toMatchObject({ went_well: "good questions back", improve: "slow down" });
    expect(writeRetro(doc, id, before, edit(before, {}), now)).toBe(doc);
  });

  it("reuses a question of the bank by wording, rerates, and removes questions and items left out", () => {
    const { doc, id } = logged();
    const first = writeRetro(doc, id, retroOf(doc, id), edit(retroOf(doc, id), { questions: [["Tell me about yourself", 3]], resumeItems: ["Led the migration"] }), now);
    const second = logInterview(first, { company: "Acme", kind: "behavioral" }, now);
    const b = retroOf(second.doc, second.id);
    const withBank = writeRetro(second.doc, second.id, b, edit(b, { questions: [["  tell me ABOUT yourself ", 5]] }), now);
    expect(records(withBank, "question")).toHaveLength(1);
    const b1 = retroOf(withBank, id);
    const rerated = writeRetro(withBank, id, b1, edit(b1, { questions: [["Tell me about yourself", 1]], resumeItems: [] }), now);
    expect(retroOf(rerated, id)).toMatchObject({ questions: [["Tell me about yourself", 1]], resumeItems: [] });
    const b2 = retroOf(rerated, id);
    const removed = writeRetro(rerated, id, b2, edit(b2, { questions: [] }), now);
    expect(retroOf(removed, id).questions).toEqual([]);
    // The other interview keeps its rating of the same question.
    expect(retroOf(removed, second.id).questions).toEqual([["Tell me about yourself", 5]]);
  });

  it("refuses ratings out of range and a question listed twice, with the CLI's kind of message", () => {
    const { doc, id } = logged();
    const b = retroOf(doc, id);
    expect(() => writeRetro(doc, id, b, edit(b, { rating: 9 }))).toThrow("Rating must be 1 to 5.");
    expect(() => writeRetro(doc, id, b, edit(b, { questions: [["Why?", 0]] }))).toThrow(/must be 1 to 5/);
    expect(() => writeRetro(doc, id, b, edit(b, { questions: [["Why?", 1], ["why? ", 2]] }))).toThrow(/listed twice/);
    // An empty row is ignored, as an empty line in the CLI's template.
    expect(retroOf(writeRetro(doc, id, b, edit(b, { questions: [["  ", 3]], rating: 2 })), id).questions).toEqual([]);
  });
});

describe("Today's actions", () => {
  function withFollowup() {
    return A.change(vault(), (d: any) => {
      d.followups.F1 = { note: new A.ImmutableString("Send thanks"), due: new A.ImmutableString("2026-03-01"), done: false, kind: new A.ImmutableString("thank_you") };
      d.contacts.C1 = { name: new A.ImmutableString("Ada"), keep_in_touch_days: 30, created_at: new A.ImmutableString("2025-01-01T10:00:00+01:00[Europe/Paris]"), employment: {}, channels: {} };
    });
  }

  it("a follow-up ticked done, or snoozed, leaves Today; a contact touched today too", () => {
    const doc = withFollowup();
    expect(today(doc, "2026-03-04").followups.map((f) => f.id)).toEqual(["F1"]);
    expect(today(doc, "2026-03-04").reconnect.map((r) => r.id)).toEqual(["C1"]);
    // Each from the same document: a clone, as two edits on one would be.
    expect(today(updateRecord(A.clone(doc), "followup", "F1", { done: true }), "2026-03-04").followups).toEqual([]);
    const snoozed = updateRecord(A.clone(doc), "followup", "F1", { snoozed_until: "2026-03-05" });
    expect(today(snoozed, "2026-03-04").followups).toEqual([]);
    expect(today(snoozed, "2026-03-05").followups.map((f) => f.id)).toEqual(["F1"]);
    const touched = updateRecord(A.clone(doc), "contact", "C1", { last_contacted: "2026-03-04" });
    expect(today(touched, "2026-03-04").reconnect).toEqual([]);
  });
});

describe("logging who you met", () => {
  it("links contacts by name, and makes a new name an interviewer working at the company, as `log --with`", async () => {
    const { createRecord, members, record } = await import("../src/doc");
    const ana = createRecord(vault(), "contact", { name: "Ana Lima" }, now);
    const { doc, id } = logInterview(ana.doc, { company: "Acme", with: ["ana lima", "Sam Ortiz", " "], durationMin: 45 }, now);
    const iv = record(doc, "interview", id)!.fields;
    expect(iv.duration_min).toBe(45);
    const people = members(iv, "interviewers").map((c) => record(doc, "contact", c)!.fields);
    expect(people.map((p) => p.name).sort()).toEqual(["Ana Lima", "Sam Ortiz"]);
    const sam = people.find((p) => p.name === "Sam Ortiz")!;
    expect(sam.kind).toBe("interviewer");
    expect(Object.values(sam.employment as object)).toEqual([{ company: iv.company, from: "2026-03-04" }]);
    expect(() => logInterview(doc, { company: "Acme", durationMin: 0 })).toThrow("duration_min must be a whole number from 1 to 1440, not '0'");
  });
});
