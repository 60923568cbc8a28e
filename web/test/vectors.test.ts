// The shared vectors in tests/vectors/ (client-core/tests/vectors.rs reads
// them too). `INTERLOG_WRITE_VECTORS=1 npx vitest run test/vectors.test.ts`
// rewrites doc-ts.json, the document this side writes for Rust to read.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { bytesToHex, derive, hexToBytes, open, recordAad, seal, snapshotAad, tokenHash } from "../src/crypto";
import { logInterview, records, toJson, updateRecord, vaultId } from "../src/doc";
import { decode, encode, type Frame } from "../src/wire";

const dir = fileURLToPath(new URL("../../tests/vectors/", import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(dir + name, "utf8"));
const v1 = load("v1.json");
const hex = (s: string) => hexToBytes(s)!;

/** A frame from the vector's JSON form, where byte strings are number arrays. */
function frameFromJson(j: any): Frame {
  const bytes = (a: number[]) => new Uint8Array(a);
  const rec = (r: any) => ({ ...r, payload: bytes(r.payload) });
  switch (j.type) {
    case "hello":
      return { ...j, token: bytes(j.token) };
    case "append":
      return { ...j, record: rec(j.record) };
    case "records":
      return { ...j, records: j.records.map(rec) };
    case "snapshot":
      return { ...j, snapshot: { ...j.snapshot, payload: bytes(j.snapshot.payload) } };
    default:
      return j;
  }
}

describe("shared vectors", () => {
  const keys = derive(hex(v1.keys.vault_key));

  it("derive the same keys", () => {
    expect(bytesToHex(keys.seal)).toBe(v1.keys.seal_key);
    expect(bytesToHex(keys.token)).toBe(v1.keys.token);
    expect(bytesToHex(tokenHash(keys.token))).toBe(v1.keys.token_hash);
  });

  it("seal a record and a snapshot to the same bytes, and open them", () => {
    const r = v1.record;
    const aad = recordAad(r.vault, r.device, r.seq, r.kind);
    expect(bytesToHex(aad)).toBe(r.aad);
    expect(bytesToHex(seal(keys, aad, hex(r.plaintext), hex(r.nonce)))).toBe(r.sealed);
    expect(bytesToHex(open(keys, aad, hex(r.sealed)))).toBe(r.plaintext);
    expect(() => open(keys, recordAad(r.vault, r.device, r.seq + 1), hex(r.sealed))).toThrow(/authentication/);

    const s = v1.snapshot;
    const saad = snapshotAad(s.vault, s.device, s.id, s.covers);
    expect(bytesToHex(saad)).toBe(s.aad);
    expect(bytesToHex(seal(keys, saad, hex(s.plaintext), hex(s.nonce)))).toBe(s.sealed);
    expect(bytesToHex(open(keys, saad, hex(s.sealed)))).toBe(s.plaintext);
  });

  it("encode and decode every frame type byte for byte", () => {
    const types = new Set<string>();
    for (const fv of v1.frames) {
      const frame = frameFromJson(fv.frame);
      types.add(frame.type);
      expect(bytesToHex(encode(frame)), fv.name).toBe(fv.cbor);
      expect(decode(hex(fv.cbor)), fv.name).toEqual(frame);
    }
    expect([...types].sort()).toEqual(
      ["ack", "append", "caught_up", "error", "hello", "records", "snapshot", "snapshot_ack", "sync", "welcome"],
    );
  });

  it("read the document Rust wrote as Rust reads it", () => {
    const file = load("doc-rust.json");
    const doc = A.load(hex(file.automerge));
    expect(toJson(doc)).toEqual(file.json);
  });

  it("write a document Rust reads (doc-ts.json)", () => {
    const rust = load("doc-rust.json");
    let doc = A.load<any>(hex(rust.automerge), { actor: "5ca1ab1e".repeat(4) });
    const [iv] = records(doc, "interview");
    doc = updateRecord(doc, "interview", iv.id, { rating: 5, improve: "slow down" });
    doc = logInterview(doc, { company: "Globex", role: "Tech Lead", kind: "hiring_manager", rating: 3, note: "logged on the phone, on a train" }).doc;
    doc = logInterview(doc, { company: "acme corp", kind: "informational" }).doc;
    if (process.env.INTERLOG_WRITE_VECTORS) {
      writeFileSync(dir + "doc-ts.json", JSON.stringify({ automerge: bytesToHex(A.save(doc)), json: toJson(doc) }, null, 2) + "\n");
    }
    const file = load("doc-ts.json");
    const stored = A.load(hex(file.automerge));
    expect(toJson(stored)).toEqual(file.json);
    expect(vaultId(stored)).toBe(rust.json.profile ? vaultId(A.load(hex(rust.automerge))) : undefined);
    // Acme's alias found the existing company; Globex is new.
    expect(Object.values(file.json.companies).map((c: any) => c.name).sort()).toEqual(["Acme", "Globex"]);
  });
});
