import * as A from "@automerge/automerge/slim";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";

import { bytesToHex, derive, open, recordAad, seal, snapshotAad } from "../src/crypto";
import { logInterview, records, updateRecord } from "../src/doc";
import { openStore } from "../src/store";
import { join, sealRecord, type Status, Syncer } from "../src/sync";
import { Vault } from "../src/vault";
import { FakeRelay } from "./fake-relay";

const VAULT = "01JD3Q8Z6QK4T9X2V7M5N3B1CA";
const LAPTOP = "aa".repeat(16);
const KEY = new Uint8Array(32).map((_, i) => i + 1);
const keys = derive(KEY);
const code = () =>
  "interlog1:" + bytesToHex(new TextEncoder().encode(JSON.stringify({ relay: "ws://127.0.0.1:1", vault: VAULT, key: bytesToHex(KEY) })));

/** A laptop's vault, with its first record on the relay and a snapshot of it. */
function laptopVault(relay: FakeRelay): A.Doc<any> {
  let doc = A.change(A.init<any>({ actor: LAPTOP }), (d: any) => {
    d.meta = { schema: 1, vault_id: new A.ImmutableString(VAULT) };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
  doc = logInterview(doc, { company: "Acme", kind: "technical" }).doc;
  relay.store(sealRecord(keys, VAULT, LAPTOP, 1, A.save(doc)));
  const covers = { [LAPTOP]: 1 };
  relay.snapshot = { device: LAPTOP, id: 1, covers, payload: seal(keys, snapshotAad(VAULT, LAPTOP, 1, covers), A.save(doc)) };
  return doc;
}

async function fresh() {
  return openStore(`t-${Math.random()}`, new IDBFactory());
}

function until(s: Syncer, pred: (st: Status) => boolean): Promise<Status> {
  return new Promise((resolve) => {
    const off = s.onStatus((st) => {
      if (pred(st)) {
        queueMicrotask(() => off());
        resolve(st);
      }
    });
  });
}

describe("sync", () => {
  it("joins from the snapshot, pushes local changes as seq 1, 2 and applies live records", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    let laptop = laptopVault(relay);
    const store = await fresh();
    expect(await Vault.open(store)).toBeNull();

    const vault = await join(code(), relay.dial(), store);
    expect(records(vault.doc, "interview")).toHaveLength(1);
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 1 });

    const syncer = new Syncer(vault, relay.dial());
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    await vault.edit((d) => logInterview(d, { company: "Globex", note: "from the phone" }).doc);
    await until(syncer, (s) => s.kind === "synced");
    const mine = relay.appends.filter((r) => r.device === vault.device);
    expect(mine.map((r) => r.seq)).toEqual([1]);
    // The laptop can open and merge what the phone sent.
    laptop = A.loadIncremental(laptop, open(keys, recordAad(VAULT, vault.device, 1), mine[0].payload));
    expect(records(laptop, "interview").map((r) => r.fields.notes)).toContain("from the phone");

    // The laptop edits; the phone applies it live and saves the cursor.
    const [first] = records(laptop, "interview");
    const heads = A.getHeads(laptop);
    laptop = updateRecord(laptop, "interview", first.id, { rating: 2 });
    relay.store(sealRecord(keys, VAULT, LAPTOP, 2, A.saveSince(laptop, heads)));
    await new Promise((r) => setTimeout(r, 20));
    expect(records(vault.doc, "interview").find((r) => r.id === first.id)?.fields.rating).toBe(2);

    await vault.edit((d) => updateRecord(d, "interview", first.id, { notes: "second" }));
    await until(syncer, (s) => s.kind === "synced");
    expect(relay.appends.filter((r) => r.device === vault.device).map((r) => r.seq)).toEqual([1, 2]);
    await syncer.stop();

    // Everything survived in the store: document, cursors, next seq.
    const again = (await Vault.open(store))!;
    expect(again.device).toBe(vault.device);
    expect(again.state.cursors).toEqual({ [LAPTOP]: 2 });
    expect(again.state.nextSeq).toBe(3);
    expect(again.state.pending).toBe(0);
    expect(records(again.doc, "interview").find((r) => r.id === first.id)?.fields).toMatchObject({ rating: 2, notes: "second" });
  });

  it("resends the outbox byte for byte after a connection drops before the ack", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const store = await fresh();
    const vault = await join(code(), relay.dial(), store);
    const syncer = new Syncer(vault, relay.dial(), { minBackoff: 5 });
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    relay.dropBeforeAck = true;
    await vault.edit((d) => logInterview(d, { company: "Initech" }).doc);
    await until(syncer, (s) => s.kind === "synced");
    const mine = relay.appends.filter((r) => r.device === vault.device);
    expect(mine).toHaveLength(1); // the resend was idempotent, not a second record
    expect(vault.state.outbox).toBeNull();
    expect(vault.state.nextSeq).toBe(2);
    await syncer.stop();
  });

  it("shows offline with the pending count, and pushes when the network is back", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const vault = await join(code(), relay.dial(), await fresh());
    let online = false;
    const syncer = new Syncer(vault, relay.dial(), { online: () => online });
    void syncer.start();
    await vault.edit((d) => logInterview(d, { company: "Offline Co" }).doc);
    await vault.edit((d) => logInterview(d, { company: "Offline Co", rating: 2 }).doc);
    expect(syncer.status).toEqual({ kind: "offline", pending: 2 });
    expect(relay.appends).toHaveLength(0);

    online = true;
    syncer.wakeUp();
    await until(syncer, (s) => s.kind === "synced");
    expect(relay.appends.map((r) => [r.device, r.seq])).toEqual([[vault.device, 1]]);
    await syncer.stop();
  });

  it("refuses a gap and a tampered record, applying nothing and keeping the cursor", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const laptop = laptopVault(relay);
    const vault = await join(code(), relay.dial(), await fresh());
    const other = A.change(A.clone(laptop, "bb".repeat(16)), (d: any) => {
      d.companies.X = { name: new A.ImmutableString("Gap") };
    });
    const chunk = A.saveSince(other, A.getHeads(laptop));

    relay.forgedBacklog = [sealRecord(keys, VAULT, "bb".repeat(16), 2, chunk)];
    let syncer = new Syncer(vault, relay.dial(), { minBackoff: 60_000 });
    void syncer.start();
    let st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/record 1 of that device is missing/);
    await syncer.stop();

    const forged = sealRecord(keys, VAULT, "bb".repeat(16), 1, chunk);
    forged.payload[forged.payload.length - 1] ^= 1;
    relay.forgedBacklog = [forged];
    syncer = new Syncer(vault, relay.dial(), { minBackoff: 60_000 });
    void syncer.start();
    st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/failed authentication/);
    await syncer.stop();
    expect(vault.state.cursors).toEqual({ [LAPTOP]: 1 });
    expect(records(vault.doc, "company").map((c) => c.fields.name)).toEqual(["Acme"]);
  });

  it("explains a bad join code and a wrong key, and stores nothing", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    laptopVault(relay);
    const store = await fresh();
    await expect(join("hello", relay.dial(), store)).rejects.toThrow(/not an Interlog join code/);
    await expect(join("interlog1:zz", relay.dial(), store)).rejects.toThrow(/not an Interlog join code/);
    const wrong = "interlog1:" + bytesToHex(new TextEncoder().encode(JSON.stringify({ relay: "x", vault: VAULT, key: "11".repeat(32) })));
    await expect(join(wrong, relay.dial(), store)).rejects.toThrow(/vault key on this phone does not match/);
    relay.reachable = false;
    await expect(join(code(), relay.dial(), store)).rejects.toThrow(/could not reach/);
    expect(await Vault.open(store)).toBeNull();
  });
});

describe("store", () => {
  it("writes entries together and reads them back after reopening", async () => {
    const idb = new IDBFactory();
    const a = await openStore("s", idb);
    expect(await a.get("doc")).toBeUndefined();
    await a.put({ doc: new Uint8Array([1, 2, 3]), sync: { nextSeq: 4 } });
    const b = await openStore("s", idb);
    expect(await b.get("doc")).toEqual(new Uint8Array([1, 2, 3]));
    expect(await b.get("sync")).toEqual({ nextSeq: 4 });
    await b.clear();
    expect(await a.get("sync")).toBeUndefined();
  });
});
