import * as A from "@automerge/automerge/slim";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";

import { bytesToHex } from "../src/crypto";
import { logInterview, records, updateRecord } from "../src/doc";
import { openStore } from "../src/store";
import { join, sealRecord, Syncer } from "../src/sync";
import { Vault } from "../src/vault";
import { FakeRelay } from "./fake-relay";
import { code, fresh, KEY, keys, LAPTOP, laptopVault, opened, until, VAULT, waitFor } from "./helpers";

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
    // It sent an envelope, with how far it had seen each log.
    const env = opened(mine[0]);
    expect(env.part).toBeNull();
    expect(env.reach).toEqual({ [LAPTOP]: 1, [vault.device]: 1 });
    laptop = A.loadIncremental(laptop, env.chunk);
    expect(records(laptop, "interview").map((r) => r.fields.notes)).toContain("from the phone");

    // The laptop edits; the phone applies it live and saves the cursor.
    const [first] = records(laptop, "interview");
    const heads = A.getHeads(laptop);
    laptop = updateRecord(laptop, "interview", first.id, { rating: 2 });
    relay.store(sealRecord(keys, VAULT, LAPTOP, 2, A.saveSince(laptop, heads), "change"));
    await waitFor(() => vault.state.cursors[LAPTOP] === 2);
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

    relay.forgedBacklog = [sealRecord(keys, VAULT, "bb".repeat(16), 2, chunk, "change")];
    let syncer = new Syncer(vault, relay.dial(), { minBackoff: 60_000 });
    void syncer.start();
    let st = await until(syncer, (s) => s.kind === "error");
    expect(st.kind === "error" && st.reason).toMatch(/record 1 of that device is missing/);
    await syncer.stop();

    const forged = sealRecord(keys, VAULT, "bb".repeat(16), 1, chunk, "change");
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
    // A key the relay has no vault for: it says so, whatever the vault id.
    await expect(join(wrong, relay.dial(), store)).rejects.toThrow(/holds no vault with this code.s key/);
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
