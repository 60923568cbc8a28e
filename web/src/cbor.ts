/**
 * The subset of CBOR (RFC 8949) protocol v1 uses, written the way the Rust
 * side's `ciborium` writes it: definite lengths, shortest integer heads, text
 * keys, map keys in the order given. Decoding never trusts its input: every
 * length is checked against what is left, nesting is bounded, and anything
 * outside the subset (floats, tags, indefinite lengths, duplicate keys) is
 * refused with a `CborError` instead of being guessed at.
 */

export type CborValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CborValue[]
  | CborMap;

/** A map with text keys, kept in insertion order (encoding order). */
export type CborMap = Map<string, CborValue>;

export class CborError extends Error {}

const MAX_DEPTH = 32;

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  head(major: number, n: number | bigint): void {
    const m = major << 5;
    const v = BigInt(n);
    if (v < 24n) this.byte(m | Number(v));
    else if (v < 0x100n) {
      this.byte(m | 24);
      this.byte(Number(v));
    } else if (v < 0x10000n) {
      this.byte(m | 25);
      this.byte(Number(v >> 8n));
      this.byte(Number(v & 0xffn));
    } else if (v < 0x100000000n) {
      this.byte(m | 26);
      for (let s = 24n; s >= 0n; s -= 8n) this.byte(Number((v >> s) & 0xffn));
    } else if (v < 0x10000000000000000n) {
      this.byte(m | 27);
      for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((v >> s) & 0xffn));
    } else {
      throw new CborError(`integer ${v} does not fit in 64 bits`);
    }
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

function write(w: Writer, v: CborValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new CborError("nesting too deep");
  if (v === null) w.byte(0xf6);
  else if (v === false) w.byte(0xf4);
  else if (v === true) w.byte(0xf5);
  else if (typeof v === "number" || typeof v === "bigint") {
    if (typeof v === "number" && !Number.isSafeInteger(v)) {
      throw new CborError(`${v} is not a whole number this codec can write exactly`);
    }
    const n = BigInt(v);
    if (n >= 0n) w.head(0, n);
    else w.head(1, -1n - n);
  } else if (typeof v === "string") {
    const b = utf8.encode(v);
    w.head(3, b.length);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const item of v) write(w, item, depth + 1);
  } else if (v instanceof Map) {
    w.head(5, v.size);
    for (const [k, item] of v) {
      write(w, k, depth + 1);
      write(w, item, depth + 1);
    }
  } else {
    throw new CborError("unsupported value");
  }
}

export function encode(v: CborValue): Uint8Array {
  const w = new Writer();
  write(w, v, 0);
  return w.done();
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  need(n: number): void {
    if (n > this.b.length - this.pos) throw new CborError("truncated input");
  }

  byte(): number {
    this.need(1);
    return this.b[this.pos++];
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The argument of a head: a non-negative integer. */
  arg(info: number): bigint {
    if (info < 24) return BigInt(info);
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new CborError("indefinite lengths and reserved heads are not supported");
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(this.byte());
    return v;
  }

  length(info: number): number {
    const n = this.arg(info);
    // Every item takes at least one byte, so a longer count is a lie.
    if (n > BigInt(this.b.length - this.pos)) throw new CborError("length exceeds the input");
    return Number(n);
  }
}

function int(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function read(r: Reader, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new CborError("nesting too deep");
  const head = r.byte();
  const major = head >> 5;
  const info = head & 0x1f;
  switch (major) {
    case 0:
      return int(r.arg(info));
    case 1:
      return int(-1n - r.arg(info));
    case 2:
      return r.take(r.length(info));
    case 3:
      try {
        return fromUtf8.decode(r.take(r.length(info)));
      } catch (e) {
        if (e instanceof CborError) throw e;
        throw new CborError("text is not valid UTF-8");
      }
    case 4: {
      const n = r.length(info);
      const out: CborValue[] = [];
      for (let i = 0; i < n; i++) out.push(read(r, depth + 1));
      return out;
    }
    case 5: {
      const n = r.length(info);
      const out: CborMap = new Map();
      for (let i = 0; i < n; i++) {
        const k = read(r, depth + 1);
        if (typeof k !== "string") throw new CborError("map keys must be text");
        if (out.has(k)) throw new CborError(`duplicate map key ${JSON.stringify(k)}`);
        out.set(k, read(r, depth + 1));
      }
      return out;
    }
    case 7:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new CborError("floats and simple values are not supported");
    default:
      throw new CborError("tags are not supported");
  }
}

/** Decodes exactly one item; trailing bytes are an error. */
export function decode(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const v = read(r, 0);
  if (r.pos !== bytes.length) throw new CborError("trailing bytes after the item");
  return v;
}
