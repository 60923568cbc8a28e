/**
 * End-to-end encryption, the same as `client-core/src/crypto.rs`
 * (docs/security.md): HKDF-SHA256 with salt "interlog/v1" derives the sealing
 * key (info "seal") and the relay access token (info "relay-token") from the
 * 32-byte vault key; sealing is XChaCha20-Poly1305 with a random 24-byte
 * nonce, sent as nonce || ciphertext || tag; the associated data binds a
 * record to its vault, device, kind and seq, and a snapshot to its vault,
 * device, id and covers. Anything that does not open is `Tampered`.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import type { Cursors } from "./wire";

const NONCE_LEN = 24;
const TAG_LEN = 16;
const enc = new TextEncoder();
const SALT = enc.encode("interlog/v1");

export class TamperedError extends Error {
  constructor() {
    super("a record failed authentication: it was altered, moved, or sealed with another vault key");
  }
}

export interface Keys {
  seal: Uint8Array;
  token: Uint8Array;
}

export function hexToBytes(hex: string): Uint8Array | null {
  const h = hex.trim();
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return null;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function random(n: number): Uint8Array {
  return randomBytes(n);
}

/** The sealing key and the access token of a 32-byte vault key. */
export function derive(vaultKey: Uint8Array): Keys {
  if (vaultKey.length !== 32) throw new Error("the vault key is not 32 bytes");
  return {
    seal: hkdf(sha256, vaultKey, SALT, enc.encode("seal"), 32),
    token: hkdf(sha256, vaultKey, SALT, enc.encode("relay-token"), 32),
  };
}

/** What the relay stores to check the token. */
export function tokenHash(token: Uint8Array): Uint8Array {
  return sha256(token);
}

/** nonce || ciphertext+tag. `nonce` is for test vectors only. */
export function seal(keys: Keys, aad: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = random(NONCE_LEN)): Uint8Array {
  const body = xchacha20poly1305(keys.seal, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(NONCE_LEN + body.length);
  out.set(nonce);
  out.set(body, NONCE_LEN);
  return out;
}

export function open(keys: Keys, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_LEN + TAG_LEN) throw new TamperedError();
  try {
    return xchacha20poly1305(keys.seal, sealed.subarray(0, NONCE_LEN), aad).decrypt(sealed.subarray(NONCE_LEN));
  } catch {
    throw new TamperedError();
  }
}

class Aad {
  private parts: number[] = [];
  raw(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  u32(n: number): this {
    return this.raw(new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]));
  }
  u64(n: number): this {
    const v = BigInt(n);
    const b = new Uint8Array(8);
    for (let i = 0; i < 8; i++) b[i] = Number((v >> BigInt(56 - 8 * i)) & 0xffn);
    return this.raw(b);
  }
  field(s: string): this {
    const b = enc.encode(s);
    return this.u32(b.length).raw(b);
  }
  done(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

export function recordAad(vault: string, device: string, seq: number, kind = "change"): Uint8Array {
  return new Aad().raw(enc.encode("interlog/v1/record")).field(vault).field(device).field(kind).u64(seq).done();
}

export function snapshotAad(vault: string, device: string, id: number, covers: Cursors): Uint8Array {
  const a = new Aad().raw(enc.encode("interlog/v1/snapshot")).field(vault).field(device).u64(id);
  const keys = Object.keys(covers).sort();
  a.u32(keys.length);
  for (const k of keys) a.field(k).u64(covers[k]);
  return a.done();
}

// ----- join codes ------------------------------------------------------------

export interface Membership {
  relay: string;
  vault: string;
  key: string;
}

export class JoinCodeError extends Error {
  constructor() {
    super("That is not an Interlog join code. Copy the whole line `interlog pair` printed: it starts with interlog1:");
  }
}

/** Parses `interlog1:<hex of {"relay","vault","key"}>` as the CLI does. */
export function parseJoinCode(code: string): Membership {
  const rest = code.trim();
  if (!rest.startsWith("interlog1:")) throw new JoinCodeError();
  const raw = hexToBytes(rest.slice("interlog1:".length));
  if (!raw) throw new JoinCodeError();
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    throw new JoinCodeError();
  }
  const j = json as Record<string, unknown>;
  if (!j || typeof j !== "object" || typeof j.relay !== "string" || typeof j.vault !== "string" || typeof j.key !== "string") {
    throw new JoinCodeError();
  }
  const key = hexToBytes(j.key);
  if (!key || key.length !== 32 || !/^[A-Za-z0-9_-]{1,64}$/.test(j.vault)) throw new JoinCodeError();
  return { relay: j.relay, vault: j.vault, key: bytesToHex(key) };
}
