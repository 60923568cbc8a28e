// The two forms of a record's plaintext: a bare Automerge chunk, or an envelope.
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { encode as cbor } from "../src/cbor";
import { AUTOMERGE_MAGIC, decodePlaintext, encodeEnvelope, EnvelopeError, isBareChunk } from "../src/wire";

const chunk = A.save(A.change(A.init<any>(), (d: any) => (d.x = 1)));
const D = "9b".repeat(16);

describe("record plaintexts", () => {
  it("round-trip envelopes with and without part and reach", () => {
    for (const env of [
      { chunk, part: null, reach: null },
      { chunk, part: null, reach: { [D]: 7, other: 3 } },
      { chunk: chunk.subarray(0, 5), part: { index: 0, count: 3 }, reach: { [D]: 7 } },
      { chunk: chunk.subarray(5), part: { index: 2, count: 3 }, reach: null },
      { chunk: new Uint8Array(), part: null, reach: { [D]: 9 } },
    ]) {
      const bytes = encodeEnvelope(env);
      expect(isBareChunk(bytes)).toBe(false);
      expect(decodePlaintext(bytes)).toEqual(env);
    }
  });

  it("write the keys as the protocol names them, reach sorted", () => {
    const bytes = encodeEnvelope({ chunk: new Uint8Array([1, 2]), part: { index: 1, count: 2 }, reach: { b: 2, a: 1 } });
    // {"chunk": h'0102', "part": [1, 2], "reach": {"a": 1, "b": 2}}
    const hex = Buffer.from(bytes).toString("hex");
    expect(hex).toBe("a3" + "656368756e6b" + "420102" + "6470617274" + "820102" + "657265616368" + "a2" + "616101" + "616202");
    // A placeholder: an empty chunk, nothing else.
    expect(Buffer.from(encodeEnvelope({ chunk: new Uint8Array(), part: null, reach: null })).toString("hex")).toBe("a1656368756e6b40");
    // A whole document says so in one more key (the bytes client-core pins too).
    expect(Buffer.from(encodeEnvelope({ chunk: new Uint8Array(), part: null, reach: null, whole: true })).toString("hex")).toBe("a2656368756e6b406577686f6c65f5");
  });

  it("read a bare chunk as it is", () => {
    expect([...chunk.subarray(0, 4)]).toEqual([...AUTOMERGE_MAGIC]);
    expect(decodePlaintext(chunk, "change")).toEqual({ chunk, part: null, reach: null });
  });

  it("ignore unknown keys and take null for absent", () => {
    const m = new Map<string, any>([
      ["future", [1, "x", new Map([["y", true]])]],
      ["chunk", chunk],
      ["part", null],
      ["reach", null],
    ]);
    expect(decodePlaintext(cbor(m))).toEqual({ chunk, part: null, reach: null });
  });

  it("refuse what is neither", () => {
    const bad = [
      new Uint8Array([1, 2, 3]),
      cbor([1, 2]),
      cbor(new Map([["part", [0, 2]]])),
      cbor(new Map<string, any>([["chunk", "text"]])),
      cbor(new Map<string, any>([["chunk", chunk], ["part", [0, 1]]])),
      cbor(new Map<string, any>([["chunk", chunk], ["part", [2, 2]]])),
      cbor(new Map<string, any>([["chunk", chunk], ["part", [0, 65]]])),
      cbor(new Map<string, any>([["chunk", chunk], ["part", [0]]])),
      cbor(new Map<string, any>([["chunk", chunk], ["reach", new Map([["bad id!", 1]])]])),
      cbor(new Map<string, any>([["chunk", chunk], ["reach", new Map([[D, -1]])]])),
      cbor(new Map<string, any>([["chunk", chunk], ["reach", [1]]])),
    ];
    for (const b of bad) expect(() => decodePlaintext(b), Buffer.from(b).toString("hex")).toThrow(EnvelopeError);
    expect(() => encodeEnvelope({ chunk, part: { index: 0, count: 65 }, reach: null })).toThrow(EnvelopeError);
  });
});
