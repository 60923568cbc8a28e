// What the sync tests share: a vault, a laptop that writes to it, a store.
import * as A from "@automerge/automerge/slim";
import { IDBFactory } from "fake-indexeddb";

import { bytesToHex, derive, open, recordAad, seal, snapshotAad } from "../src/crypto";
import { logInterview } from "../src/doc";
import { openStore } from "../src/store";
import { sealRecord, type Status, type Syncer } from "../src/sync";
import { type Cursors, decodePlaintext, encodeEnvelope, type WireRecord } from "../src/wire";
import type { FakeRelay } from "./fake-relay";

export const VAULT = "01JD3Q8Z6QK4T9X2V7M5N3B1CA";
export const LAPTOP = "aa".repeat(16);
export const KEY = new Uint8Array(32).map((_, i) => i + 1);
export const keys = derive(KEY);
export const code = () =>
  "interlog1:" + bytesToHex(new TextEncoder().encode(JSON.stringify({ relay: "ws://127.0.0.1:1", vault: VAULT, key: bytesToHex(KEY) })));

/** The laptop's first document: the vault's layout and one interview. */
export function laptopDoc(): A.Doc<any> {
  const doc = A.change(A.init<any>({ actor: LAPTOP }), (d: any) => {
    d.meta = { schema: 1, vault_id: new A.ImmutableString(VAULT) };
    d.profile = { comp: {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
  return logInterview(doc, { company: "Acme", kind: "technical" }).doc;
}

/** A laptop's vault, with its first record on the relay (a bare chunk, as before envelopes) and a snapshot of it. */
export function laptopVault(relay: FakeRelay): A.Doc<any> {
  const doc = laptopDoc();
  relay.store(sealRecord(keys, VAULT, LAPTOP, 1, A.save(doc), "change"));
  const covers = { [LAPTOP]: 1 };
  relay.snapshot = { device: LAPTOP, id: 1, covers, payload: seal(keys, snapshotAad(VAULT, LAPTOP, 1, covers), A.save(doc)) };
  return doc;
}

/** Record `seq` of `device` holding an envelope. */
export function envelopeRecord(device: string, seq: number, chunk: Uint8Array, part: { index: number; count: number } | null = null, reach: Cursors | null = null): WireRecord {
  return sealRecord(keys, VAULT, device, seq, encodeEnvelope({ chunk, part, reach }));
}

/** A chunk split over `count` envelopes, records `first …` of `device`. */
export function partRecords(device: string, first: number, chunk: Uint8Array, count: number, reach: Cursors | null = null): WireRecord[] {
  const size = Math.ceil(chunk.length / count);
  return Array.from({ length: count }, (_, i) =>
    envelopeRecord(device, first + i, chunk.subarray(i * size, (i + 1) * size), { index: i, count }, reach && { ...reach, [device]: first + i }),
  );
}

/** What a record holds, opened and read as the other side would. */
export function opened(r: WireRecord) {
  return decodePlaintext(open(keys, recordAad(VAULT, r.device, r.seq, r.kind), r.payload), r.kind);
}

export async function fresh() {
  return openStore(`t-${Math.random()}`, new IDBFactory());
}

export function until(s: Syncer, pred: (st: Status) => boolean): Promise<Status> {
  return new Promise((resolve) => {
    const off = s.onStatus((st) => {
      if (pred(st)) {
        queueMicrotask(() => off());
        resolve(st);
      }
    });
  });
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (polling), or fails after `ms`. */
export async function waitFor(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await tick(5);
  }
}
