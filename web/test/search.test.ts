// Search as `interlog search` (report.rs): strings and set members of live
// records, not created_at, case ignored, 60-character snippets.
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { createRecord, deleteRecord } from "../src/doc";
import { search, snippet } from "../src/search";

describe("search", () => {
  it("finds strings and set members of live records, case ignored, never created_at", () => {
    let doc = A.change(A.init<any>(), (d: any) => {
      d.meta = { schema: 1 };
      d.profile = {};
      for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
    });
    const acme = createRecord(doc, "company", { name: "Acme", aliases: { "Raft Labs": true } });
    doc = createRecord(acme.doc, "question", { wording: "Explain Raft" }).doc;
    const gone = createRecord(doc, "question", { wording: "raft, deleted" });
    doc = deleteRecord(gone.doc, "question", gone.id);
    const hits = search(doc, "RAFT");
    expect(hits.map((h) => [h.kind, h.title, h.field, h.snippet])).toEqual([
      ["company", "Acme", "aliases.Raft Labs", "Raft Labs"],
      ["question", "Explain Raft", "wording", "Explain Raft"],
    ]);
    expect(search(doc, "2026")).toEqual([]);
    expect(search(doc, "  ")).toEqual([]);
  });

  it("cuts long text around the match, as report.rs does", () => {
    const long = `${"a".repeat(100)} raft ${"b".repeat(100)}`;
    const s = snippet(long, "raft");
    expect(s.startsWith("…")).toBe(true);
    expect(s.endsWith("…")).toBe(true);
    expect(s).toContain("raft");
    expect([...s].length).toBe(62);
    expect(snippet("short\ntext", "text")).toBe("short text");
  });
});
