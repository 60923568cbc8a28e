// Envelopes in sync: parts, placeholders, reach and withholding, snapshots that fail.
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { random, seal, snapshotAad } from "../src/crypto";
import { logInterview, records, updateRecord } from "../src/doc";
import { join, sealRecord, Syncer } from "../src/sync";
import { Vault } from "../src/vault";
import { PART_BYTES } from "../src/wire";
import { FakeRelay } from "./fake-relay";
import { code, envelopeRecord, fresh, KEY, keys, LAPTOP, laptopVault, opened, partRecords, tick, until, VAULT, waitFor } from "./helpers";

const B = "bb".repeat(16);
const C = "cc".repeat(16);

/** The laptop's next change on top of `doc`, and its chunk. */
function laptopChange(doc: A.Doc<any>, company: string): { doc: A.Doc<any>; chunk: Uint8Array } {
  const next = logInterview(doc, { company }).doc;
  return { doc: next, chunk: A.saveSince(next, A.getHeads(doc)) };
}

const companies = (v: Vault) => records(v.doc, "company").map((c) => c.fields.name);

async function joined(relay: FakeRelay) {
  const store = await fresh();
  const vault = await join(code(), relay.dial(), store);
  return { store, vault };
}

describe("envelopes in sync", () => {
  it("applies a bare chunk, and a placeholder moves the cursor without changing the document", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    let laptop = laptopVault(relay);
    const { vault } = await joined(relay);
    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    let c = laptopChange(laptop, "Bare Co");
    laptop = c.doc;
    relay.store(sealRecord(keys, VAULT, LAPTOP, 2, c.chunk, "change")); // the old form
    await waitFor(() => vault.state.cursors[LAPTOP] === 2);
    expect(companies(vault)).toContain("Bare Co");
    expect(vault.state.cursors[LAPTOP]).toBe(2);

    const heads = A.getHeads(vault.doc);
    relay.store(envelopeRecord(LAPTOP, 3, new Uint8Array(), null, { [LAPTOP]: 3 }));
    await waitFor(() => vault.state.cursors[LAPTOP] === 3);
    expect(vault.state.cursors[LAPTOP]).toBe(3);
    expect(A.getHeads(vault.doc)).toEqual(heads);

    c = laptopChange(laptop, "Envelope Co");
    relay.store(envelopeRecord(LAPTOP, 4, c.chunk, null, { [LAPTOP]: 4 }));
    await waitFor(() => vault.state.cursors[LAPTOP] === 4);
    expect(companies(vault)).toContain("Envelope Co");
    expect(vault.state.cursors[LAPTOP]).toBe(4);
    expect(vault.state.known).toEqual({ [LAPTOP]: 4 });
    await syncer.stop();
  });

  it("applies a chunk split over three parts only once the last arrives, the cursor at the last seq", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const laptop = laptopVault(relay);
    const { store, vault } = await joined(relay);
    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    const c = laptopChange(laptop, "Split Co");
    const parts = partRecords(LAPTOP, 2, c.chunk, 3, {});
    for (const p of parts.slice(0, 2)) {
      relay.store(p);
      await tick();
      expect(vault.state.cursors[LAPTOP]).toBe(1);
      expect(companies(vault)).not.toContain("Split Co");
    }
    relay.store(parts[2]);
    await waitFor(() => vault.state.cursors[LAPTOP] === 4);
    expect(companies(vault)).toContain("Split Co");
    expect(vault.state.cursors[LAPTOP]).toBe(4);
    await syncer.stop();
    expect((await Vault.open(store))!.state.cursors[LAPTOP]).toBe(4);
  });

  it("applies nothing of a run cut off midway, and the next sync fetches it whole", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const laptop = laptopVault(relay);
    const { store, vault } = await joined(relay);
    const c = laptopChange(laptop, "Cut Co");
    for (const p of partRecords(LAPTOP, 2, c.chunk, 3)) relay.store(p);

    relay.cutAfter = 2;
    const syncer = new Syncer(vault, relay.dial(), { minBackoff: 5 });
    void syncer.start();
    const st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/cut off/);
    expect(vault.state.cursors[LAPTOP]).toBe(1);
    expect(companies(vault)).not.toContain("Cut Co");
    expect((await Vault.open(store))!.state.cursors[LAPTOP]).toBe(1);

    await until(syncer, (s) => s.kind === "synced");
    expect(companies(vault)).toContain("Cut Co");
    expect(vault.state.cursors[LAPTOP]).toBe(4);
    await syncer.stop();
  });

  it("stops only the log of a device whose part has its first part missing", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    let laptop = laptopVault(relay);
    const { vault } = await joined(relay);
    // B's record 2 is the second half of a change; its record 1 is gone.
    const b = logInterview(A.clone(laptop, B), { company: "Lost Co" }).doc;
    const bChunk = A.saveSince(b, A.getHeads(laptop));
    relay.store(envelopeRecord(B, 2, bChunk.subarray(5), { index: 1, count: 2 }));
    let c = laptopChange(laptop, "Laptop Co");
    laptop = c.doc;
    relay.store(envelopeRecord(LAPTOP, 2, c.chunk));

    const syncer = new Syncer(vault, relay.dial(), { minBackoff: 60_000 });
    void syncer.start();
    const st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(new RegExp(`Record 2 of device ${B} is part of a change whose first part is missing`));
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 2 });
    expect(companies(vault)).toContain("Laptop Co");
    expect(companies(vault)).not.toContain("Lost Co");

    // The session goes on for the other devices.
    c = laptopChange(laptop, "Live Co");
    relay.store(envelopeRecord(LAPTOP, 3, c.chunk));
    await waitFor(() => vault.state.cursors[LAPTOP] === 3);
    expect(companies(vault)).toContain("Live Co");
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 3 });
    expect(syncer.status.kind).toBe("error");

    // The relay finds B's first part again; a tap on the indicator fetches B's log anew.
    relay.logs.set(B, [envelopeRecord(B, 1, bChunk.subarray(0, 5), { index: 0, count: 2 }), ...relay.logs.get(B)!]);
    syncer.wakeUp();
    await until(syncer, (s) => s.kind === "synced");
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 3, [B]: 2 });
    expect(companies(vault)).toContain("Lost Co");
    await syncer.stop();
  });

  it("refuses a record that breaks a run, and a part whose chunk is not Automerge's", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const laptop = laptopVault(relay);
    const { vault } = await joined(relay);
    const c = laptopChange(laptop, "Broken Co");
    const [first] = partRecords(LAPTOP, 2, c.chunk, 3);
    relay.store(first);
    relay.store(envelopeRecord(LAPTOP, 3, c.chunk)); // not part 2 of 3
    relay.store(envelopeRecord(B, 1, new TextEncoder().encode("not a chunk")));
    const syncer = new Syncer(vault, relay.dial(), { minBackoff: 60_000 });
    void syncer.start();
    const st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/records 2–4 of that device hold one change, but record 3 is not its part 2/);
    expect(st.kind === "error" && st.reason).toMatch(/does not hold an Automerge chunk/);
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 1 });
    await syncer.stop();
  });

  it("learns how far logs reach, warns after catching up when the relay serves less, and clears the warning once it does", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    let laptop = laptopVault(relay);
    const { store, vault } = await joined(relay);
    // C wrote three records, and the laptop saw them all; the relay serves only C's first.
    let cdoc = A.clone(laptop, C);
    for (let seq = 1; seq <= 3; seq++) {
      const next = logInterview(cdoc, { company: `C${seq}` }).doc;
      relay.store(envelopeRecord(C, seq, A.saveSince(next, A.getHeads(cdoc)), null, { [C]: seq, [LAPTOP]: 1 }));
      cdoc = next;
    }
    relay.withhold[C] = 1;
    const c = laptopChange(laptop, "Laptop Co");
    laptop = c.doc;
    relay.store(envelopeRecord(LAPTOP, 2, c.chunk, null, { [LAPTOP]: 2, [C]: 3 }));

    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 2, [C]: 1 });
    expect(vault.state.known).toEqual({ [LAPTOP]: 2, [C]: 3 });
    expect(vault.state.withheld).toEqual({ [C]: 3 });
    expect(syncer.withheld()).toEqual([
      `The relay is missing records 2–3 of device ${C} that another device has seen; it may have lost them or be withholding them. They will come back when ${C} syncs again.`,
    ]);
    // Saved with the sync state: a reload shows it before connecting.
    expect((await Vault.open(store))!.state.withheld).toEqual({ [C]: 3 });

    relay.release(C);
    await waitFor(() => vault.state.cursors[C] === 3);
    expect(vault.state.cursors[C]).toBe(3);
    expect(syncer.withheld()).toEqual([]);
    expect(vault.state.withheld).toEqual({});
    expect((await Vault.open(store))!.state.withheld).toEqual({});
    expect(records(vault.doc, "company").map((r) => r.fields.name)).toEqual(expect.arrayContaining(["C1", "C2", "C3"]));
    await syncer.stop();
  });

  it("joins from the records when the snapshot does not open or does not load, and says so", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    relay.snapshot = { ...relay.snapshot!, payload: random(200) };
    const notes: string[] = [];
    let vault = await join(code(), relay.dial(), await fresh(), (n) => notes.push(n));
    expect(notes, JSON.stringify(notes)).toEqual([expect.stringMatching(/failed authentication: .*; fetching every record instead/)]);
    expect(vault.state.joinNote).toMatch(/failed authentication: .*, so this phone joined from the records alone/);
    expect(records(vault.doc, "company").map((c) => c.fields.name)).toEqual(["Acme"]);
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 1 });
    expect(vault.state.withheld).toEqual({});

    // Authentic but not a document: its covers still count as known.
    const covers = { [LAPTOP]: 5 };
    relay.snapshot = { device: LAPTOP, id: 2, covers, payload: seal(keys, snapshotAad(VAULT, LAPTOP, 2, covers), random(300)) };
    vault = await join(code(), relay.dial(), await fresh());
    expect(vault.state.joinNote).toMatch(/could not be loaded/);
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 1 });
    expect(vault.state.known).toEqual({ [LAPTOP]: 5 });
    expect(vault.state.withheld).toEqual({ [LAPTOP]: 5 });

    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");
    expect(syncer.withheld()).toEqual([expect.stringContaining(`missing records 2–5 of device ${LAPTOP}`)]);
    await syncer.dismissJoinNote();
    expect(vault.state.joinNote).toBeNull();
    await syncer.stop();
  });
});

describe("sending envelopes", () => {
  it("splits a large change into parts, resends them all after a drop, and another phone puts them together", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const { store, vault } = await joined(relay);
    const syncer = new Syncer(vault, relay.dial(), { partBytes: 64, minBackoff: 5 });
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    relay.dropBeforeAck = true;
    await vault.edit((d) => logInterview(d, { company: "Parts Co", note: "a note long enough to need a few parts ".repeat(4) }).doc);
    await until(syncer, (s) => s.kind === "synced");
    const mine = relay.logs.get(vault.device)!;
    const n = mine.length;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(relay.appends.filter((r) => r.device === vault.device)).toHaveLength(n); // no seq was stored twice
    mine.forEach((r, i) => {
      const env = opened(r);
      expect(r.seq).toBe(i + 1);
      expect(env.part).toEqual({ index: i, count: n });
      expect(env.reach).toEqual({ [LAPTOP]: 1, [vault.device]: i + 1 });
      expect(env.chunk.length).toBeLessThanOrEqual(64);
    });
    expect(vault.state.outbox).toBeNull();
    expect(vault.state.nextSeq).toBe(n + 1);
    expect(vault.state.pending).toBe(0);
    expect((await Vault.open(store))!.state.nextSeq).toBe(n + 1);
    await syncer.stop();

    const other = await join(code(), relay.dial(), await fresh());
    expect(other.state.cursors).toEqual({ [LAPTOP]: 1, [vault.device]: n });
    expect(records(other.doc, "company").map((c) => c.fields.name)).toContain("Parts Co");
  });

  it("sends a chunk over 4 MiB as parts of PART_BYTES", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const { vault } = await joined(relay);
    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    const bytes = new Uint8Array(9 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) bytes.set(random(65536), i);
    const note = Array.from(bytes, (b) => alphabet[b & 63]).join("");
    await vault.edit((d) => logInterview(d, { company: "Big Co", note }).doc);
    await until(syncer, (s) => s.kind === "synced");
    const mine = relay.logs.get(vault.device)!;
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.map((r) => opened(r).part?.count)).toEqual(mine.map(() => mine.length));
    expect(opened(mine[0]).chunk.length).toBe(PART_BYTES);
    await syncer.stop();

    const other = await join(code(), relay.dial(), await fresh());
    expect(records(other.doc, "interview").some((r) => r.fields.notes === note)).toBe(true);
  }, 60_000);

  it("refuses clearly a change larger than 64 parts, sending nothing", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const { vault } = await joined(relay);
    const syncer = new Syncer(vault, relay.dial(), { partBytes: 2 });
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");
    await vault.edit((d) => logInterview(d, { company: "Huge Co", note: "x".repeat(400) }).doc);
    const st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/more than the 1 MiB one change may take \(64 records of 1 MiB\).*cannot be sent/);
    expect(relay.appends.filter((r) => r.device === vault.device)).toHaveLength(0);
    expect(vault.state.outbox).toBeNull();
    await syncer.stop();
  });

  it("resends an outbox saved by the previous version (one record) byte for byte", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const { store, vault } = await joined(relay);
    const doc = updateRecord(vault.doc, "interview", records(vault.doc, "interview")[0].id, { rating: 4 });
    const record = sealRecord(keys, VAULT, vault.device, 1, A.saveSince(doc, vault.state.pushedHeads), "change");
    const { known: _k, withheld: _w, joinNote: _j, ...old } = vault.state;
    await store.put({ doc: A.save(doc), sync: { ...old, outbox: { record, heads: A.getHeads(doc), changes: 1 }, pending: 1 } });

    const reopened = (await Vault.open(store))!;
    expect(reopened.state.outbox?.records).toEqual([record]);
    expect(reopened.state.known).toEqual({});
    const syncer = new Syncer(reopened, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");
    expect(relay.logs.get(vault.device)).toEqual([record]);
    expect(reopened.state.nextSeq).toBe(2);
    await syncer.stop();
  });
});
