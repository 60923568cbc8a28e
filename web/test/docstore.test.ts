// The document in IndexedDB as a base and increments (src/docstore.ts):
// what an edit writes on a big journal, reloads after many edits and after
// interrupted writes, and compaction; and the first screen's view stored
// beside it (src/vault.ts).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { BASE_KEY, type CompactionPolicy, INCREMENT_PREFIX } from "../src/docstore";
import { localDate, logInterview, records, toJson, updateRecord } from "../src/doc";
import type { Store } from "../src/store";
import { freshState, peek, RECONNECT_SHOWN, shownToday, Vault } from "../src/vault";
import { fresh, LAPTOP, laptopDoc, VAULT, waitFor } from "./helpers";

const DEVICE = "bb".repeat(16);
const membership = { relay: "ws://127.0.0.1:1", vault: VAULT, key: "00".repeat(32) };

/** About what IndexedDB stores for a value: bytes as they are, the rest as its JSON. */
function sizeOf(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  return new TextEncoder().encode(JSON.stringify(v) ?? "").length;
}

/**
 * A store that counts the bytes each write puts, and can be made to fail
 * writes as an aborted transaction does: nothing of it is stored.
 */
function instrumented(inner: Store) {
  const w = { bytes: 0, writes: 0, failNext: 0 };
  const store: Store = {
    get: (k) => inner.get(k),
    range: (p) => inner.range(p),
    clear: () => inner.clear(),
    async put(entries, clearPrefix) {
      if (w.failNext > 0) {
        w.failNext -= 1;
        throw new Error("IndexedDB transaction aborted (is the storage full?)");
      }
      w.writes += 1;
      for (const v of Object.values(entries)) w.bytes += sizeOf(v);
      await inner.put(entries, clearPrefix);
    },
  };
  return { store, w };
}

const WORDS = "queues backpressure rotation on-call latency hiring manager panel design cache kafka postgres rust team culture remote salary equity offer recruiter stage loop feedback onsite whiteboard".split(" ");

/** A journal of a few years: thousands of records with notes, one laptop's changes. */
function bigDoc(interviews: number): A.Doc<any> {
  let seed = 7;
  const word = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return WORDS[seed % WORDS.length];
  };
  const note = (n: number) => Array.from({ length: n }, word).join(" ");
  let doc = laptopDoc();
  doc = A.change(doc, (d: any) => {
    for (let i = 0; i < interviews; i++) {
      const c = `C${String(i).padStart(25, "0")}`;
      d.companies[c] = { name: new A.ImmutableString(`Company ${i % 300}`), aliases: {}, created_at: new A.ImmutableString("2021-01-01T10:00:00+01:00[Europe/Paris]") };
      d.interviews[`I${String(i).padStart(25, "0")}`] = {
        company: new A.ImmutableString(c),
        kind: new A.ImmutableString("technical"),
        rating: (i % 5) + 1,
        notes: new A.ImmutableString(`Interview ${i}: ${note(20)}`),
        start: new A.ImmutableString("2022-03-04T10:00:00+01:00[Europe/Paris]"),
        interviewers: {},
        questions: {},
        resume_items: {},
      };
    }
  });
  return doc;
}

async function vaultWith(doc: A.Doc<any>, policy?: CompactionPolicy, compactAfterMs?: number) {
  const { store, w } = instrumented(await fresh());
  const forked = A.clone(doc, { actor: DEVICE });
  await Vault.create(store, membership, DEVICE, forked, freshState(A.getHeads(forked), { [LAPTOP]: 1 }), { policy });
  const v = (await Vault.open(store, { policy, compactAfterMs }))!;
  return { v, store, w };
}

const json = (d: A.Doc<any>) => JSON.stringify(toJson(d));

describe("the document in IndexedDB", () => {
  it("stores an edit of a big journal in under 4 KiB, never the whole document", async () => {
    const { v, w } = await vaultWith(bigDoc(1500));
    const base = v.storedSizes().base;
    expect(base).toBeGreaterThan(16 * 4096);
    const perEdit: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = w.bytes;
      if (i % 2 === 0) await v.edit((d) => logInterview(d, { company: `Company ${i}`, kind: "technical", rating: 4, note: "a short note from the train" }).doc);
      else await v.edit((d) => updateRecord(d, "interview", records(d, "interview")[i].id, { rating: 2, notes: `edited ${i}` }));
      perEdit.push(w.bytes - before);
    }
    expect(Math.max(...perEdit)).toBeLessThan(4096);
    expect(v.storedSizes()).toMatchObject({ base, increments: 20 });
  }, 30_000);

  it("reloads after many edits to the same document", async () => {
    const { v, store } = await vaultWith(laptopDoc());
    for (let i = 0; i < 120; i++) await v.edit((d) => logInterview(d, { company: `Co ${i % 7}`, rating: (i % 5) + 1 }).doc);
    const again = (await Vault.open(store))!;
    expect(json(again.doc)).toBe(json(v.doc));
    expect(A.getHeads(again.doc).sort()).toEqual(A.getHeads(v.doc).sort());
    expect(records(again.doc, "interview")).toHaveLength(121);
    expect(again.state.pending).toBe(120);
  });

  it("stores what a sync applied as an increment too, with the cursors", async () => {
    const { v, store } = await vaultWith(laptopDoc());
    const laptop = logInterview(A.clone(v.doc, { actor: LAPTOP }), { company: "From the laptop" }).doc;
    v.doc = A.merge(v.doc, laptop);
    v.state.cursors[LAPTOP] = 2;
    await v.save();
    const again = (await Vault.open(store))!;
    expect(again.state.cursors[LAPTOP]).toBe(2);
    expect(json(again.doc)).toBe(json(v.doc));
  });

  it("compacts once the increments exceed a share of the base, after the edit and off its path", async () => {
    const policy = { share: 0.25, minBytes: 0, maxIncrements: 1000 };
    const { v, store, w } = await vaultWith(bigDoc(50), policy, 0);
    const base = v.storedSizes().base;
    let edits = 0;
    while (v.storedSizes().incrementBytes <= base * 0.25) {
      await v.edit((d) => logInterview(d, { company: "Acme", note: "x".repeat(50) }).doc);
      edits += 1;
    }
    expect(edits).toBeGreaterThan(1);
    // The edit that crossed the line wrote only its increment; compaction follows.
    await waitFor(() => v.storedSizes().increments === 0);
    expect(await store.range(INCREMENT_PREFIX)).toEqual([]);
    expect(v.storedSizes().base).toBeGreaterThan(base);
    expect((await store.get<Uint8Array>(BASE_KEY))!.length).toBe(v.storedSizes().base);
    const again = (await Vault.open(store))!;
    expect(json(again.doc)).toBe(json(v.doc));
    // Increments start again after it, and load after the new base.
    const writes = w.writes;
    await v.edit((d) => logInterview(d, { company: "After" }).doc);
    expect(w.writes).toBe(writes + 1);
    expect((await store.range(INCREMENT_PREFIX)).map(([k]) => k)).toEqual([`${INCREMENT_PREFIX}000001`]);
    expect(json((await Vault.open(store))!.doc)).toBe(json(v.doc));
  });

  it("compacts when the increments are many, however small", async () => {
    const { v, store } = await vaultWith(laptopDoc(), { share: 100, minBytes: 1 << 30, maxIncrements: 10 }, 0);
    for (let i = 0; i < 11; i++) await v.edit((d) => logInterview(d, { company: "Acme" }).doc);
    await waitFor(() => v.storedSizes().increments === 0);
    expect(json((await Vault.open(store))!.doc)).toBe(json(v.doc));
  });

  it("loads a consistent document after interrupted writes, and stores the lost changes with the next one", async () => {
    const { v, store, w } = await vaultWith(laptopDoc());
    await v.edit((d) => logInterview(d, { company: "One" }).doc);
    const stored = json(v.doc);

    // A write that aborts: the edit is in memory, not in the store.
    w.failNext = 1;
    await expect(v.edit((d) => logInterview(d, { company: "Two" }).doc)).rejects.toThrow(/aborted/);
    const reloaded = (await Vault.open(store))!;
    expect(json(reloaded.doc)).toBe(stored);
    expect(reloaded.state.pending).toBe(1);

    // The next write carries the lost change too.
    await v.edit((d) => logInterview(d, { company: "Three" }).doc);
    const again = (await Vault.open(store))!;
    expect(json(again.doc)).toBe(json(v.doc));
    expect(records(again.doc, "company").map((c) => c.fields.name)).toEqual(expect.arrayContaining(["One", "Two", "Three"]));

    // An interrupted compaction leaves the old base and its increments.
    w.failNext = 1;
    await expect(v.compact(true)).rejects.toThrow(/aborted/);
    expect(json((await Vault.open(store))!.doc)).toBe(json(v.doc));
    expect(v.storedSizes().increments).toBe(2);
    await v.compact(true);
    expect(v.storedSizes().increments).toBe(0);
    expect(json((await Vault.open(store))!.doc)).toBe(json(v.doc));
  });

  it("never writes the state ahead of the document: writes run in call order", async () => {
    const { v, store } = await vaultWith(laptopDoc());
    // An edit and a state write started together, as a sync and a tap can be.
    const a = v.edit((d) => logInterview(d, { company: "Tap" }).doc);
    v.state.cursors[LAPTOP] = 1;
    const b = v.saveState();
    await Promise.all([a, b]);
    const again = (await Vault.open(store))!;
    expect(json(again.doc)).toBe(json(v.doc));
  });

  it("reads a store written before increments: the whole document under `doc`", async () => {
    const store = await fresh();
    const doc = A.clone(laptopDoc(), { actor: DEVICE });
    await store.put({ device: DEVICE, doc: A.save(doc), sync: freshState(A.getHeads(doc), {}), membership });
    const v = (await Vault.open(store))!;
    expect(json(v.doc)).toBe(json(doc));
    await v.edit((d) => logInterview(d, { company: "New" }).doc);
    expect(json((await Vault.open(store))!.doc)).toBe(json(v.doc));
  });

  it("refuses writes once closed, so leaving deletes everything for good", async () => {
    const { v, store } = await vaultWith(laptopDoc(), { share: 0, minBytes: 0, maxIncrements: 0 }, 50);
    await v.edit((d) => logInterview(d, { company: "Due" }).doc);
    await v.close();
    await store.clear();
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.get(BASE_KEY)).toBeUndefined();
    await expect(v.save()).rejects.toThrow(/closed/);
  });
});

describe("the first screen's view", () => {
  it("stores Today beside the document, only when it changed, and a start reads it before the document", async () => {
    const { v, store, w } = await vaultWith(laptopDoc());
    expect((await peek(store))!.view).toBeNull();
    await v.storeView();
    const first = (await peek(store))!.view!;
    expect(first.today.date).toBe(localDate(new Date()));
    // Logged today: among today's interviews.
    expect(first.today.interviews).toHaveLength(1);
    const writes = w.writes;
    await v.storeView();
    expect(w.writes).toBe(writes);
    await v.edit((d) => logInterview(d, { company: "Globex" }).doc);
    await v.storeView();
    expect((await peek(store))!.view!.today.interviews).toHaveLength(2);
    // A reopened vault knows what is stored, and does not write it again.
    const again = (await Vault.open(store))!;
    const before = w.writes;
    await again.storeView();
    expect(w.writes).toBe(before);
  });

  it("keeps the most overdue contacts to get back in touch with, and counts the rest", () => {
    const reconnect = Array.from({ length: RECONNECT_SHOWN + 5 }, (_, i) => ({ id: `c${i}`, name: `C ${i}`, intervalDays: 30, daysOverdue: 100 - i }));
    const t = shownToday({ date: "2026-12-02", followups: [], reconnect, interviews: [] });
    expect(t.reconnect.map((r) => r.id)).toEqual(reconnect.slice(0, RECONNECT_SHOWN).map((r) => r.id));
    expect(t.reconnectTotal).toBe(RECONNECT_SHOWN + 5);
  });
});
