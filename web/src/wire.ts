/**
 * Protocol v1 frames and their codec, byte for byte as `client-core/src/wire.rs`
 * writes them (docs/protocol.md). A frame is a CBOR map whose first key is
 * `type`, then the fields in the order the Rust structs declare them; cursor
 * maps are sorted by device id. The shared vectors in `tests/vectors/` pin
 * this down. Decoding refuses oversized input before parsing, and malformed
 * frames, hostile ids and out-of-range numbers with a `WireError`.
 */
import { CborError, type CborMap, type CborValue, decode as cborDecode, encode as cborEncode } from "./cbor";

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;
export const MAX_DEVICES = 1024;
export const MAX_ID_LEN = 64;
export const CAPABILITIES = ["snapshot", "live"];
/**
 * The vault id a hello names to ask for the vault registered with its token:
 * a recovery from the words alone. Vault ids are ULIDs, which never hold `_`.
 */
export const VAULT_BY_KEY = "_by_key";

export type Cursors = Record<string, number>;

/** `change`: the plaintext is a bare Automerge chunk (older devices); `envelope`: an {@link Envelope}. */
export type RecordKind = "change" | "envelope";

export interface WireRecord {
  device: string;
  seq: number;
  kind: RecordKind;
  payload: Uint8Array;
}

export interface WireSnapshot {
  device: string;
  id: number;
  covers: Cursors;
  payload: Uint8Array;
}

export interface DeviceInfo {
  device: string;
  last_seq: number;
  last_seen: number;
}

export type Frame =
  | {
      type: "hello";
      version: number;
      capabilities: string[];
      vault: string;
      device: string;
      token: Uint8Array;
      register: boolean;
      invite: string | null;
    }
  | {
      type: "welcome";
      version: number;
      capabilities: string[];
      devices: DeviceInfo[];
      /** The vault's id, in answer to a hello that named {@link VAULT_BY_KEY}; absent otherwise. */
      vault?: string | null;
    }
  | { type: "sync"; cursors: Cursors; live: boolean; want_snapshot: boolean }
  | { type: "append"; record: WireRecord }
  | { type: "ack"; device: string; seq: number }
  | { type: "snapshot"; snapshot: WireSnapshot }
  | { type: "snapshot_ack"; id: number }
  | { type: "records"; records: WireRecord[] }
  | { type: "caught_up" }
  | { type: "error"; code: string; message: string };

export class WireError extends Error {}

/** 1 to 64 ASCII letters, digits, `-` or `_`. */
export function validId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LEN && /^[A-Za-z0-9_-]+$/.test(id);
}

function m(entries: [string, CborValue][]): CborMap {
  return new Map(entries);
}

function cursorsMap(c: Cursors): CborMap {
  const keys = Object.keys(c).sort();
  return new Map(keys.map((k) => [k, c[k]]));
}

function recordMap(r: WireRecord): CborMap {
  return m([
    ["device", r.device],
    ["seq", r.seq],
    ["kind", r.kind],
    ["payload", r.payload],
  ]);
}

function toCbor(f: Frame): CborMap {
  switch (f.type) {
    case "hello":
      return m([
        ["type", f.type],
        ["version", f.version],
        ["capabilities", f.capabilities],
        ["vault", f.vault],
        ["device", f.device],
        ["token", f.token],
        ["register", f.register],
        ["invite", f.invite],
      ]);
    case "welcome":
      return m([
        ["type", f.type],
        ["version", f.version],
        ["capabilities", f.capabilities],
        [
          "devices",
          f.devices.map((d) =>
            m([
              ["device", d.device],
              ["last_seq", d.last_seq],
              ["last_seen", d.last_seen],
            ]),
          ),
        ],
        ...(f.vault ? [["vault", f.vault] as [string, CborValue]] : []),
      ]);
    case "sync":
      return m([
        ["type", f.type],
        ["cursors", cursorsMap(f.cursors)],
        ["live", f.live],
        ["want_snapshot", f.want_snapshot],
      ]);
    case "append":
      return m([
        ["type", f.type],
        ["record", recordMap(f.record)],
      ]);
    case "ack":
      return m([
        ["type", f.type],
        ["device", f.device],
        ["seq", f.seq],
      ]);
    case "snapshot":
      return m([
        ["type", f.type],
        [
          "snapshot",
          m([
            ["device", f.snapshot.device],
            ["id", f.snapshot.id],
            ["covers", cursorsMap(f.snapshot.covers)],
            ["payload", f.snapshot.payload],
          ]),
        ],
      ]);
    case "snapshot_ack":
      return m([
        ["type", f.type],
        ["id", f.id],
      ]);
    case "records":
      return m([
        ["type", f.type],
        ["records", f.records.map(recordMap)],
      ]);
    case "caught_up":
      return m([["type", f.type]]);
    case "error":
      return m([
        ["type", f.type],
        ["code", f.code],
        ["message", f.message],
      ]);
  }
}

export function encode(f: Frame): Uint8Array {
  const bytes = cborEncode(toCbor(f));
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new WireError(`frame of ${bytes.length} bytes is larger than the limit of ${MAX_FRAME_BYTES} bytes`);
  }
  return bytes;
}

// ----- decoding ------------------------------------------------------------

const bad = (what: string): never => {
  throw new WireError(`malformed frame: ${what}`);
};

function field(map: CborMap, key: string): CborValue {
  if (!map.has(key)) bad(`missing field \`${key}\``);
  return map.get(key) as CborValue;
}

function asMap(v: CborValue, what: string): CborMap {
  return v instanceof Map ? v : bad(`${what} is not a map`);
}
function str(map: CborMap, key: string): string {
  const v = field(map, key);
  return typeof v === "string" ? v : bad(`\`${key}\` is not text`);
}
function bool(map: CborMap, key: string): boolean {
  const v = field(map, key);
  return typeof v === "boolean" ? v : bad(`\`${key}\` is not a boolean`);
}
function bytes(map: CborMap, key: string): Uint8Array {
  const v = field(map, key);
  return v instanceof Uint8Array ? v : bad(`\`${key}\` is not bytes`);
}
/** An unsigned integer that fits a JS number exactly. */
function uint(v: CborValue, key: string): number {
  return typeof v === "number" && v >= 0 ? v : bad(`\`${key}\` is not an unsigned integer this client can hold`);
}
function num(map: CborMap, key: string): number {
  return uint(field(map, key), key);
}
function int(map: CborMap, key: string): number {
  const v = field(map, key);
  return typeof v === "number" ? v : bad(`\`${key}\` is not an integer`);
}
function arr(map: CborMap, key: string): CborValue[] {
  const v = field(map, key);
  return Array.isArray(v) ? v : bad(`\`${key}\` is not an array`);
}
function id(map: CborMap, key: string): string {
  const v = str(map, key);
  return validId(v) ? v : bad(`invalid ${key} id`);
}
function cursors(map: CborMap, key: string): Cursors {
  const c = asMap(field(map, key), key);
  if (c.size > MAX_DEVICES) bad(`invalid ${key}`);
  const out: Cursors = {};
  for (const [k, v] of c) {
    if (!validId(k)) bad(`invalid ${key}`);
    out[k] = uint(v, key);
  }
  return out;
}
function record(v: CborValue): WireRecord {
  const r = asMap(v, "record");
  const kind = str(r, "kind");
  if (kind !== "change" && kind !== "envelope") bad(`unknown record kind ${JSON.stringify(kind)}`);
  return { device: id(r, "device"), seq: num(r, "seq"), kind: kind as RecordKind, payload: bytes(r, "payload") };
}

export function decode(input: Uint8Array): Frame {
  if (input.length > MAX_FRAME_BYTES) {
    throw new WireError(`frame of ${input.length} bytes is larger than the limit of ${MAX_FRAME_BYTES} bytes`);
  }
  let v: CborValue;
  try {
    v = cborDecode(input);
  } catch (e) {
    if (e instanceof CborError) throw new WireError(`malformed frame: ${e.message}`);
    throw e;
  }
  const f = asMap(v, "frame");
  const type = str(f, "type");
  switch (type) {
    case "hello": {
      const invite = f.get("invite") ?? null;
      if (invite !== null && typeof invite !== "string") bad("`invite` is not text");
      return {
        type,
        version: num(f, "version"),
        capabilities: arr(f, "capabilities").map((c) => (typeof c === "string" ? c : bad("capability"))),
        vault: id(f, "vault"),
        device: id(f, "device"),
        token: bytes(f, "token"),
        register: bool(f, "register"),
        invite: invite as string | null,
      };
    }
    case "welcome":
      return {
        type,
        version: num(f, "version"),
        capabilities: arr(f, "capabilities").map((c) => (typeof c === "string" ? c : bad("capability"))),
        devices: arr(f, "devices").map((d) => {
          const dm = asMap(d, "device");
          return { device: str(dm, "device"), last_seq: num(dm, "last_seq"), last_seen: int(dm, "last_seen") };
        }),
        ...(f.get("vault") === undefined || f.get("vault") === null ? {} : { vault: id(f, "vault") }),
      };
    case "sync":
      return { type, cursors: cursors(f, "cursors"), live: bool(f, "live"), want_snapshot: bool(f, "want_snapshot") };
    case "append": {
      const r = record(field(f, "record"));
      if (r.seq === 0) bad("invalid record id");
      return { type, record: r };
    }
    case "ack":
      return { type, device: str(f, "device"), seq: num(f, "seq") };
    case "snapshot": {
      const s = asMap(field(f, "snapshot"), "snapshot");
      return {
        type,
        snapshot: { device: id(s, "device"), id: num(s, "id"), covers: cursors(s, "covers"), payload: bytes(s, "payload") },
      };
    }
    case "snapshot_ack":
      return { type, id: num(f, "id") };
    case "records":
      return { type, records: arr(f, "records").map(record) };
    case "caught_up":
      return { type };
    case "error":
      return { type, code: str(f, "code"), message: str(f, "message") };
    default:
      return bad(`unknown frame type ${JSON.stringify(type)}`);
  }
}

export function checkVersion(theirs: number): void {
  if (theirs !== PROTOCOL_VERSION) {
    throw new WireError(
      `protocol version mismatch: this app speaks v${PROTOCOL_VERSION}, the relay speaks v${theirs}; upgrade whichever side is older`,
    );
  }
}

// ----- record plaintexts ------------------------------------------------------

/**
 * What a sealed record holds once opened. Either a **bare chunk** (the first
 * form: an Automerge chunk, which starts with Automerge's magic bytes), or an
 * **envelope**: a CBOR map with text keys
 *
 * - `chunk` (bytes, required): an Automerge chunk, a fragment of one, or empty;
 * - `part` (optional `[index, count]`, `2 <= count <= 64`, `index < count`):
 *   this record holds fragment `index` of a chunk split over `count`
 *   consecutive records of the same log;
 * - `reach` (optional map device → seq): how far the sender had seen each
 *   device's log when it sealed the record (its own entry: this record's seq).
 *
 * Unknown keys are ignored; `null` counts as absent. An empty chunk that is
 * not a part is a placeholder: nothing to apply, the cursor still advances.
 */
export interface Envelope {
  chunk: Uint8Array;
  part: { index: number; count: number } | null;
  reach: Cursors | null;
  /** The change (with its other parts) is the sender's whole document: every change `reach` names is in it. */
  whole?: boolean;
}

/** Automerge's magic bytes: a plaintext that starts with them is a bare chunk. */
export const AUTOMERGE_MAGIC = new Uint8Array([0x85, 0x6f, 0x4a, 0x83]);
/** Chunks larger than this are sent as parts of this size. */
export const PART_BYTES = 4 * 1024 * 1024;
export const MAX_PARTS = 64;
/** What a receiver holds of unfinished parts, over every device, at most. */
export const MAX_BUFFERED_PART_BYTES = 256 * 1024 * 1024;

export class EnvelopeError extends Error {}

export function isBareChunk(plaintext: Uint8Array): boolean {
  return plaintext.length >= 4 && AUTOMERGE_MAGIC.every((b, i) => plaintext[i] === b);
}

/** The envelope as its sender writes it: `chunk`, then `part` and `reach` when present. */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const map: CborMap = new Map<string, CborValue>([["chunk", e.chunk]]);
  if (e.part) {
    const { index, count } = e.part;
    if (!(Number.isInteger(index) && Number.isInteger(count) && count >= 2 && count <= MAX_PARTS && index >= 0 && index < count)) {
      throw new EnvelopeError(`part ${index} of ${count} is not a valid part`);
    }
    map.set("part", [index, count]);
  }
  if (e.reach) map.set("reach", cursorsMap(e.reach));
  if (e.whole) map.set("whole", true);
  return cborEncode(map);
}

/**
 * Reads a record plaintext by the record's kind: a bare chunk (kind `change`)
 * has no part and no reach. The kind is authenticated with the record, and
 * older devices, which read every plaintext as a chunk, refuse `envelope`
 * records instead of misreading them.
 */
export function decodePlaintext(plaintext: Uint8Array, kind: RecordKind = "envelope"): Envelope {
  if (kind === "change") return { chunk: plaintext, part: null, reach: null };
  const no = (what: string): never => {
    throw new EnvelopeError(`it is neither an Automerge chunk nor a valid envelope: ${what}`);
  };
  let v: CborValue;
  try {
    v = cborDecode(plaintext);
  } catch (e) {
    if (e instanceof CborError) return no(e.message);
    throw e;
  }
  if (!(v instanceof Map)) return no("not a map");
  const chunk = v.get("chunk");
  if (!(chunk instanceof Uint8Array)) return no("`chunk` is missing or not bytes");
  let part: Envelope["part"] = null;
  const p = v.get("part") ?? null;
  if (p !== null) {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "number" || typeof p[1] !== "number") return no("`part` is not [index, count]");
    const [index, count] = p as [number, number];
    if (count < 2 || count > MAX_PARTS || index < 0 || index >= count) return no(`\`part\` [${index}, ${count}] is out of range`);
    part = { index, count };
  }
  let reach: Cursors | null = null;
  const r = v.get("reach") ?? null;
  if (r !== null) {
    if (!(r instanceof Map) || r.size > MAX_DEVICES) return no("`reach` is not a map of devices");
    reach = {};
    for (const [k, s] of r) {
      if (!validId(k) || typeof s !== "number" || s < 0) return no("`reach` is not a map of device ids to seqs");
      reach[k] = s;
    }
  }
  return { chunk, part, reach };
}
