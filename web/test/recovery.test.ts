// The relay is disposable: a phone re-seeds a relay that lost the vault or
// some of its records, follows a move, moves the vault itself, leaves it,
// and a vault comes back from its recovery words alone.
import { readFileSync } from "node:fs";

import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { bytesToHex, open, snapshotAad } from "../src/crypto";
import { companyName, logInterview, records, relayOf, setRelay } from "../src/doc";
import { InviteNeeded, join, lostRange, placeholders, recover, sealRecord, snapshotCovers, Syncer } from "../src/sync";
import { freshState, Vault } from "../src/vault";
import { keyOfWords, wordsOfKey } from "../src/words";
import { FakeRelay } from "./fake-relay";
import { code, fresh, KEY, keys, LAPTOP, laptopVault, opened, until, VAULT, waitFor } from "./helpers";

const PHONE = "bb".repeat(16);
const OTHER = "cc".repeat(16);

/** A phone that joined `relay`'s vault and pushed `n` changes of its own. */
async function phoneWith(relay: FakeRelay, n: number) {
  laptopVault(relay);
  const store = await fresh();
  const vault = await join(code(), relay.dial(), store);
  const syncer = new Syncer(vault, relay.dial(), { minBackoff: 5, maxBackoff: 20 });
  void syncer.start();
  await until(syncer, (s) => s.kind === "synced");
  for (let i = 0; i < n; i++) {
    await vault.edit((d) => logInterview(d, { company: `Company ${i}` }).doc);
    await until(syncer, (s) => s.kind === "synced");
  }
  return { store, vault, syncer };
}

/** What a device joining `relay` now ends with: every interview's company. */
async function joinedCompanies(relay: FakeRelay): Promise<string[]> {
  const v = await join(code(), relay.dial(), await fresh());
  return records(v.doc, "interview")
    .map((r) => companyName(v.doc, r.fields.company as string)!)
    .sort();
}

describe("what a relay lost", () => {
  it("finds the lost seqs from what the relay holds and what it acknowledged", () => {
    const s = freshState([], {});
    expect(lostRange(s, 0)).toBeNull(); // nothing acknowledged yet
    s.nextSeq = 6;
    expect(lostRange(s, 5)).toBeNull();
    expect(lostRange(s, 7)).toBeNull();
    expect(lostRange(s, 2)).toEqual([3, 5]);
    expect(lostRange(s, 0)).toEqual([1, 5]);
    s.registered = false;
    expect(lostRange(s, 0)).toBeNull();
  });

  it("refills lost seqs with empty envelopes that carry reach", () => {
    const recs = placeholders(keys, VAULT, PHONE, 3, 5, { [LAPTOP]: 4 });
    expect(recs.map((r) => [r.device, r.seq, r.kind])).toEqual([
      [PHONE, 3, "envelope"],
      [PHONE, 4, "envelope"],
      [PHONE, 5, "envelope"],
    ]);
    for (const r of recs) {
      const env = opened(r);
      expect(env.chunk).toHaveLength(0);
      expect(env.part).toBeNull();
      expect(env.reach).toEqual({ [LAPTOP]: 4, [PHONE]: 5 });
    }
  });

  it("clamps a snapshot's covers to what the relay holds, and leaves zeros out", () => {
    expect(snapshotCovers(PHONE, 7, { [LAPTOP]: 9, [OTHER]: 3 }, { [LAPTOP]: 4, [OTHER]: 8, [PHONE]: 0 })).toEqual({ [LAPTOP]: 4, [OTHER]: 3, [PHONE]: 7 });
    expect(snapshotCovers(PHONE, 0, { [LAPTOP]: 9 }, {})).toEqual({});
  });
});

describe("re-seeding", () => {
  it("registers a wiped relay again with the phone's copy: placeholders, the whole document, a snapshot", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { vault, syncer } = await phoneWith(relay, 2);
    expect(vault.state.nextSeq).toBe(3);

    relay.wipe();
    await waitFor(() => relay.registered && syncer.status.kind === "synced", 5000);
    const hellos = relay.hellos.slice(-2);
    expect(hellos.map((h) => h.register)).toEqual([false, true]);

    // Seqs 1 and 2 come back as placeholders, and the whole document as 3.
    const log = relay.logs.get(vault.device)!;
    expect(log.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(opened(log[0]).chunk).toHaveLength(0);
    expect(opened(log[1]).chunk).toHaveLength(0);
    const whole = A.loadIncremental(A.init(), opened(log[2]).chunk);
    expect(records(whole, "interview")).toHaveLength(3);
    expect(vault.state.nextSeq).toBe(4);
    expect(vault.state.pending).toBe(0);

    // The snapshot claims only what the relay holds: the laptop's log is gone.
    const snap = relay.snapshot!;
    expect(snap.device).toBe(vault.device);
    expect(snap.covers).toEqual({ [vault.device]: 3 });
    const doc = A.load(open(keys, snapshotAad(VAULT, snap.device, snap.id, snap.covers), snap.payload));
    expect(records(doc, "interview")).toHaveLength(3);

    // It said so plainly, and a device joining now gets everything.
    expect(vault.state.relayNotes.join(" ")).toContain("no longer knew this vault");
    expect(await joinedCompanies(relay)).toEqual(["Acme", "Company 0", "Company 1"]);
    await syncer.stop();
  });

  it("re-seeds a relay restored from an older backup, sending only what it lost", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { vault, syncer } = await phoneWith(relay, 3);
    relay.truncate(vault.device, 1);
    await waitFor(() => relay.logs.get(vault.device)!.length === 4 && syncer.status.kind === "synced", 5000);
    const log = relay.logs.get(vault.device)!;
    expect(log.slice(1, 3).map((r) => opened(r).chunk.length)).toEqual([0, 0]);
    expect(relay.hellos.every((h) => !h.register)).toBe(true);
    expect(vault.state.relayNotes.join(" ")).toContain("had lost records 2–3 of this phone");
    // The laptop's log was never lost, so the snapshot covers it too.
    expect(relay.snapshot!.covers).toEqual({ [LAPTOP]: 1, [vault.device]: 4 });
    await syncer.stop();
  });

  it("asks for an invite when the relay wants one, keeping everything on the phone, then registers with it", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { vault, syncer } = await phoneWith(relay, 1);
    relay.wipe();
    relay.invites = new Set(["inv-1"]);
    await vault.edit((d) => logInterview(d, { company: "Offline Corp" }).doc);
    await waitFor(() => syncer.inviteNeeded, 5000);
    const st = syncer.status;
    expect(st.kind === "error" && st.reason).toContain("registers vaults by invite only");
    expect(vault.state.pending).toBe(1);
    expect(relay.registered).toBe(false);

    syncer.registerWith("inv-1");
    await waitFor(() => syncer.status.kind === "synced", 5000);
    expect(syncer.inviteNeeded).toBe(false);
    expect(relay.hellos.at(-1)!.invite).toBe("inv-1");
    expect(await joinedCompanies(relay)).toEqual(["Acme", "Company 0", "Offline Corp"]);
    await syncer.stop();
  });

  it("re-seeds without waiting on itself when a phone that never pushed finds the relay wiped", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { vault, syncer } = await phoneWith(relay, 0);
    relay.wipe();
    await waitFor(() => relay.registered && syncer.status.kind === "synced", 5000);
    expect(relay.logs.get(vault.device)!.map((r) => r.seq)).toEqual([1]);
    expect(await joinedCompanies(relay)).toEqual(["Acme"]);
    await syncer.stop();
  });
});

describe("recovery words", () => {
  it("pin the BIP39 vector: 32 zero bytes are abandon ×23 and art", () => {
    const zero = wordsOfKey(new Uint8Array(32));
    expect(zero).toBe(`${"abandon ".repeat(23)}art`);
    const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/words.json", import.meta.url), "utf8"));
    for (const v of vectors.words) {
      expect(wordsOfKey(Uint8Array.from(Buffer.from(v.key, "hex")))).toBe(v.words);
      expect(bytesToHex(keyOfWords(v.words))).toBe(v.key);
    }
  });

  it("read words in any case and spacing, and say which word is wrong without repeating it", () => {
    const words = wordsOfKey(KEY);
    expect(keyOfWords(`  ${words.toUpperCase().replaceAll(" ", "   ")}\n`)).toEqual(KEY);
    const list = wordsOfKey(new Uint8Array(32).fill(7)).split(" ");
    const fourth = list[3];
    list[3] = "notaword";
    expect(() => keyOfWords(list.join(" "))).toThrow(/word 4 is not in the BIP39 English list/);
    try {
      keyOfWords(list.join(" "));
    } catch (e) {
      for (const w of list) expect((e as Error).message).not.toContain(w);
    }
    // One word changed: refused by the checksum, never a different key.
    list[3] = fourth === "zoo" ? "zone" : "zoo";
    expect(() => keyOfWords(list.join(" "))).toThrow(/checksum does not match/);
    expect(() => keyOfWords(list.slice(0, 12).join(" "))).toThrow(/12 words, where the key has 24/);
  });

  it("restore the whole vault from the key alone, and a relay that lacks it says so", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { syncer } = await phoneWith(relay, 1);
    await syncer.stop();
    const store = await fresh();
    const v = await recover(keyOfWords(wordsOfKey(KEY)), null, relay.dial(), store);
    expect(v.membership.vault).toBe(VAULT);
    expect(relay.hellos.at(-1)!.vault).toBe("_by_key");
    expect(records(v.doc, "interview")).toHaveLength(2);
    expect((await Vault.open(store))!.device).toBe(v.device);

    const other = new Uint8Array(32).fill(9);
    await expect(recover(other, null, relay.dial(), await fresh())).rejects.toThrow(/holds no vault with these words/);
  });
});

describe("moving", () => {
  it("follows a move another device recorded, and registers the vault at the new relay", async () => {
    const oldRelay = new FakeRelay(VAULT, KEY);
    const newRelay = new FakeRelay(VAULT, KEY);
    newRelay.registered = false;
    let laptop = laptopVault(oldRelay);
    const vault = await join(code(), oldRelay.dial(), await fresh());
    const syncer = new Syncer(vault, oldRelay.dial(), {
      minBackoff: 5,
      here: "wss://old.example/v1/sync",
      dialTo: (url) => (url === "wss://new.example" ? newRelay.dial() : oldRelay.dial()),
    });
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    const heads = A.getHeads(laptop);
    laptop = setRelay(laptop, "wss://new.example", null);
    oldRelay.store(sealRecord(keys, VAULT, LAPTOP, 2, A.saveSince(laptop, heads), "change"));
    await waitFor(() => newRelay.registered && syncer.status.kind === "synced", 5000);
    expect(syncer.relayUrl()).toBe("wss://new.example");
    expect(vault.state.relay).toBe("wss://new.example");
    expect(vault.state.relayNotes.join(" ")).toContain("This vault moved from wss://old.example to wss://new.example");
    expect(vault.state.relayNotes.join(" ")).toContain("open https://new.example/app/ on this phone");
    expect(records((await join(code(), newRelay.dial(), await fresh())).doc, "interview")).toHaveLength(1);

    // What the phone writes now goes to the new relay only.
    const before = oldRelay.appends.length;
    await vault.edit((d) => logInterview(d, { company: "After the move" }).doc);
    await until(syncer, (s) => s.kind === "synced");
    expect(oldRelay.appends.length).toBe(before);
    expect(await joinedCompanies(newRelay)).toEqual(["Acme", "After the move"]);
    await syncer.stop();
  });

  it("moves the vault itself: tells the old relay, then re-seeds the new one", async () => {
    const oldRelay = new FakeRelay(VAULT, KEY);
    const newRelay = new FakeRelay(VAULT, KEY);
    newRelay.registered = false;
    laptopVault(oldRelay);
    const vault = await join(code(), oldRelay.dial(), await fresh());
    const syncer = new Syncer(vault, oldRelay.dial(), { minBackoff: 5, here: "wss://old.example/v1/sync", dialTo: () => newRelay.dial() });
    void syncer.start();
    await until(syncer, (s) => s.kind === "synced");

    await syncer.moveTo("wss://new.example", "sha256:" + "ab".repeat(32));
    await waitFor(() => newRelay.registered && syncer.status.kind === "synced", 5000);
    // The old relay has the move, for the other devices to follow.
    const told = oldRelay.logs.get(vault.device)!;
    let doc = A.init<any>();
    doc = A.loadIncremental(doc, A.save((await join(code(), oldRelay.dial(), await fresh())).doc));
    expect(told).toHaveLength(1);
    expect(relayOf(doc)).toEqual({ url: "wss://new.example", pin: "sha256:" + "ab".repeat(32) });
    expect(vault.state.relayPin).toBe("sha256:" + "ab".repeat(32));
    expect(vault.state.relayNotes.join(" ")).toContain("This phone moved the vault from wss://old.example to wss://new.example");
    expect(await joinedCompanies(newRelay)).toEqual(["Acme"]);
    await syncer.stop();
  });
});

describe("leaving", () => {
  it("deletes the phone's copy", async () => {
    const relay = new FakeRelay(VAULT, KEY);
    const { store, syncer } = await phoneWith(relay, 1);
    await syncer.leave();
    expect(await Vault.open(store)).toBeNull();
    expect(await store.get("membership")).toBeUndefined();
  });
});
