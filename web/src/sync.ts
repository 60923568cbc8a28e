/**
 * The phone as a sync device, the same as `client-core/src/sync/` does it
 * (docs/protocol.md). It pushes its own log (seq 1, 2, 3 … of its device id),
 * keeping each sealed record in the outbox, saved, before it is sent, so a
 * retry resends the same bytes; it applies other devices' records strictly in
 * seq order and saves the cursor together with the document. It stays
 * connected (`sync{live}`), pushes each local change as it is saved, and
 * reconnects with backoff, or at once when the browser comes back online.
 *
 * The relay is disposable: one that lost this vault (wiped, or a new relay
 * at its address) answers `unknown_vault`, and the phone registers the vault
 * again and re-seeds it with its copy; one that lost some of this phone's
 * records gets them again as placeholders and the whole document. A move
 * recorded in the document (`meta.relay`) is followed once everything here
 * is pushed. A vault can also be recovered from its key alone (the words),
 * by asking the relay which vault that key opens.
 */
import * as A from "@automerge/automerge/slim";

import {
  bytesToHex,
  derive,
  JoinCodeError,
  type Keys,
  type Membership,
  open,
  parseJoinCode,
  random,
  recordAad,
  seal,
  snapshotAad,
  TamperedError,
} from "./crypto";
import { type Doc, relayOf, setRelay, vaultId } from "./doc";
import type { Store } from "./store";
import { freshState, type SyncState, sameHeads, Vault } from "./vault";
import {
  CAPABILITIES,
  checkVersion,
  type Cursors,
  decode,
  type DeviceInfo,
  decodePlaintext,
  encode,
  encodeEnvelope,
  type Envelope,
  EnvelopeError,
  type Frame,
  isBareChunk,
  MAX_BUFFERED_PART_BYTES,
  MAX_PARTS,
  PART_BYTES,
  PROTOCOL_VERSION,
  type RecordKind,
  VAULT_BY_KEY,
  type WireRecord,
  WireError,
} from "./wire";

export const REPLY_TIMEOUT_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const SNAPSHOT_EVERY = 500;
/** Appends sent before awaiting their acks, as the CLI does. */
export const APPEND_WINDOW = 64;
/**
 * Appends per second when resending many records: below the relay's default
 * limit (200 a second), which closes the connection of a device above it.
 */
export const RESEND_PER_SECOND = 150;

/** Why sync stopped. `fatal` errors need the user; the rest are retried. */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly fatal = false,
  ) {
    super(message);
  }
}

/** The relay knows no vault with this key: it was wiped, or is a new relay at that address. */
export class UnknownVault extends SyncError {}

/** The relay registers vaults by invite only, and this phone has no (valid) invite. */
export class InviteNeeded extends SyncError {}

// ----- transport -------------------------------------------------------------

export interface Socket {
  send(bytes: Uint8Array): void;
  close(): void;
}

/** Opens a connection; the callbacks receive each binary message and the close. */
export type Dial = (onBytes: (b: Uint8Array) => void, onClose: (reason: string) => void) => Promise<Socket>;

/** The relay that served this page: `/v1/sync` of the same origin. */
export function syncUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/v1/sync`;
}

/** A relay URL (`wss://HOST`, `http://HOST:PORT/`, `HOST:PORT`) as its sync endpoint, as `client-core/src/sync/conn.rs` spells it. */
export function endpoint(relay: string): string {
  let url = relay.trim().replace(/\/+$/, "");
  if (url.startsWith("http://")) url = `ws://${url.slice(7)}`;
  else if (url.startsWith("https://")) url = `wss://${url.slice(8)}`;
  else if (!url.startsWith("ws://") && !url.startsWith("wss://")) url = `ws://${url}`;
  return url.endsWith("/v1/sync") ? url : `${url}/v1/sync`;
}

/** Where a browser opens the app a relay serves: `https://HOST/app/` for `wss://HOST`. */
export function appUrl(relay: string): string {
  const ws = endpoint(relay).replace(/\/v1\/sync$/, "");
  return `${ws.replace(/^ws/, "http")}/app/`;
}

/** Checks a relay URL typed by the user; returns it trimmed. */
export function checkRelayUrl(url: string): string {
  const u = url.trim();
  let parsed: URL;
  try {
    parsed = new URL(endpoint(u));
  } catch {
    throw new SyncError(`"${u}" is not a relay address; it looks like wss://relay.example.com or http://192.168.1.20:7878.`, true);
  }
  if (!u || !parsed.host || parsed.username || parsed.password) {
    throw new SyncError(`"${u}" is not a relay address; it looks like wss://relay.example.com or http://192.168.1.20:7878.`, true);
  }
  return u;
}

/** A browser WebSocket as a `Dial`. */
export function webSocketDial(url: string): Dial {
  return (onBytes, onClose) =>
    new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(new SyncError(`could not reach the relay at ${url}: ${String(e)}`));
        return;
      }
      ws.binaryType = "arraybuffer";
      let opened = false;
      const timer = setTimeout(() => {
        ws.close();
        reject(new SyncError(`could not reach the relay at ${url}: timed out`));
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve({ send: (b) => ws.send(b), close: () => ws.close() });
      };
      ws.onmessage = (ev) => {
        if (ev.data instanceof ArrayBuffer) onBytes(new Uint8Array(ev.data));
        else onClose("the relay sent a text message");
      };
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        clearTimeout(timer);
        if (!opened) reject(new SyncError(`could not reach the relay at ${url}`));
        else onClose(ev.reason || "the relay closed the connection");
      };
    });
}

/** One connection: frames in arrival order, and a way to wake a waiting reader. */
export class Connection {
  private queue: Frame[] = [];
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;
  private socket: Socket | null = null;

  static async open(dial: Dial): Promise<Connection> {
    const c = new Connection();
    c.socket = await dial(
      (b) => c.receive(b),
      (reason) => c.fail(new SyncError(`the connection to the relay broke: ${reason}`)),
    );
    return c;
  }

  private receive(bytes: Uint8Array): void {
    try {
      this.queue.push(decode(bytes));
    } catch (e) {
      this.fail(new SyncError(e instanceof WireError ? e.message : String(e)));
    }
    this.wake();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  send(f: Frame): void {
    if (this.failure) throw this.failure;
    this.socket?.send(encode(f));
  }

  close(): void {
    this.failure ??= new SyncError("closed");
    this.socket?.close();
    this.wake();
  }

  /**
   * The next frame; `null` when `woken()` turns true first. Error frames
   * become a `SyncError`. `timeoutMs` null waits as long as the connection lives.
   */
  async next(timeoutMs: number | null, woken: () => boolean = () => false): Promise<Frame | null> {
    for (;;) {
      const f = this.queue.shift();
      if (f) {
        if (f.type === "error") throw refused(f.code, f.message);
        return f;
      }
      if (this.failure) throw this.failure;
      if (woken()) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(false);
        if (timeoutMs !== null) timer = setTimeout(() => resolve(true), timeoutMs);
      });
      clearTimeout(timer);
      if (timedOut) throw new SyncError(`the relay did not answer within ${timeoutMs! / 1000} s`);
    }
  }
}

export function refused(code: string, message: string): SyncError {
  if (code === "unknown_vault") return new UnknownVault(`The relay no longer knows this vault (${message}).`);
  if (code === "unauthorized" && message.includes("invite")) {
    return new InviteNeeded(
      "The relay no longer knows this vault, and it registers vaults by invite only. Ask its operator for an invite code (`interlog relay invite`) and enter it under Settings. Everything stays on this phone meanwhile.",
      true,
    );
  }
  if (code === "unauthorized") {
    return new SyncError(
      `The vault key on this phone does not match the vault on the relay (${message}). Run \`interlog pair\` on a device that syncs, then leave this vault (Settings) and join again with the new code.`,
      true,
    );
  }
  if (code === "device_id_reused") {
    return new SyncError(`This phone's device id was already used for other records (${message}). Leave this vault (Settings) and join again.`, true);
  }
  if (code === "version_mismatch") return new SyncError(`The relay speaks another protocol version: ${message}`, true);
  return new SyncError(`The relay refused: ${message}`);
}

function unexpected(f: Frame): SyncError {
  return new SyncError(`the relay sent an unexpected ${f.type} frame; is it an Interlog relay of the same version?`);
}

type Welcome = Extract<Frame, { type: "welcome" }>;

/** Says hello for `vault` (or {@link VAULT_BY_KEY}) and waits for the welcome. */
async function hello(conn: Connection, vault: string, device: string, keys: Keys, register = false, invite: string | null = null): Promise<Welcome> {
  conn.send({
    type: "hello",
    version: PROTOCOL_VERSION,
    capabilities: CAPABILITIES,
    vault,
    device,
    token: keys.token,
    register,
    invite,
  });
  const f = await conn.next(REPLY_TIMEOUT_MS);
  if (f?.type !== "welcome") throw unexpected(f!);
  try {
    checkVersion(f.version);
  } catch (e) {
    throw new SyncError((e as Error).message, true);
  }
  return f;
}

function openRecord(keys: Keys, vault: string, r: WireRecord): Uint8Array {
  try {
    return open(keys, recordAad(vault, r.device, r.seq, r.kind), r.payload);
  } catch (e) {
    if (e instanceof TamperedError) {
      throw new SyncError(
        `A record from device ${r.device} (seq ${r.seq}) failed authentication: it was altered or does not belong here; nothing was applied. Tell the relay's operator.`,
        true,
      );
    }
    throw e;
  }
}

/** Seals a plaintext (an envelope, or with kind `change` a bare chunk) as record `seq` of `device`'s log. */
export function sealRecord(
  keys: Keys,
  vault: string,
  device: string,
  seq: number,
  plaintext: Uint8Array,
  kind: RecordKind = "envelope",
): WireRecord {
  return { device, seq, kind, payload: seal(keys, recordAad(vault, device, seq, kind), plaintext) };
}

/**
 * Seals a chunk as the records `firstSeq …` of `device`'s log: one envelope,
 * or `count` parts of at most `partBytes` each when it is larger. Each
 * carries `reach`: `cursors`, and this device at that record's seq.
 */
export function sealChunk(
  keys: Keys,
  vault: string,
  device: string,
  firstSeq: number,
  chunk: Uint8Array,
  cursors: Cursors,
  partBytes = PART_BYTES,
  whole = false,
): WireRecord[] {
  const count = Math.max(1, Math.ceil(chunk.length / partBytes));
  if (count > MAX_PARTS) {
    const mib = (n: number) => `${Math.ceil(n / 1024 / 1024)} MiB`;
    throw new SyncError(
      `This phone's unsent changes take ${mib(chunk.length)}, more than the ${mib(MAX_PARTS * partBytes)} one change may take (${MAX_PARTS} records of ${mib(partBytes)}). They are saved on this phone but cannot be sent.`,
      true,
    );
  }
  const out: WireRecord[] = [];
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const env: Envelope = {
      chunk: count === 1 ? chunk : chunk.subarray(i * partBytes, Math.min(chunk.length, (i + 1) * partBytes)),
      part: count === 1 ? null : { index: i, count },
      reach: { ...cursors, [device]: seq },
      whole,
    };
    out.push(sealRecord(keys, vault, device, seq, encodeEnvelope(env)));
  }
  return out;
}

/** Raises each entry of `into` to at least the one in `from`. */
export function raise(into: Cursors, from: Cursors): void {
  for (const [d, seq] of Object.entries(from)) if (seq > (into[d] ?? 0)) into[d] = seq;
}

/** What reading one record came to. */
export type Step =
  /** Nothing to do: already applied, this device's own, or its log is stuck. */
  | { kind: "skip" }
  /** A part, kept until the rest of its chunk arrives. */
  | { kind: "buffered" }
  /** The log cannot go on in this sync; `LogReader.stuck` says why. */
  | { kind: "stuck" }
  /**
   * A whole chunk (empty for a placeholder) to apply; then the cursor moves
   * to `seq`, `records` records further on, and `known` rises to each `reach`.
   */
  | { kind: "apply"; seq: number; chunk: Uint8Array; reach: Cursors[]; records: number };

interface Run {
  first: number;
  count: number;
  fragments: Uint8Array[];
  bytes: number;
  reach: Cursors[];
}

/**
 * One sync's reader of the other devices' logs: it opens each record, checks
 * that it comes next in its device's log, and puts chunks split over parts
 * back together. Parts wait in memory (at most `MAX_BUFFERED_PART_BYTES` over
 * every device) until the last arrives; the cursor moves only then, so a sync
 * cut off in the middle of a run fetches the whole run again. A log that
 * cannot go on (a gap, a part whose first part is missing, an unreadable
 * record) is stuck for the rest of the sync; the other devices' logs go on.
 * A record that fails authentication stops the whole sync.
 */
export class LogReader {
  private runs = new Map<string, Run>();
  private buffered = 0;
  /** Device → why its log stopped in this sync. */
  readonly stuck = new Map<string, string>();

  constructor(
    private readonly keys: Keys,
    private readonly vault: string,
    private readonly self: string,
  ) {}

  /** Stops `device`'s log for this sync, dropping any parts it has waiting. */
  stick(device: string, reason: string): Step {
    if (!this.stuck.has(device)) this.stuck.set(device, reason);
    this.drop(device);
    return { kind: "stuck" };
  }

  private drop(device: string): void {
    const run = this.runs.get(device);
    if (run) this.buffered -= run.bytes;
    this.runs.delete(device);
  }

  /** The next record of the stream, against the cursors applied so far. */
  next(r: WireRecord, cursors: Cursors): Step {
    const d = r.device;
    if (d === this.self || this.stuck.has(d)) return { kind: "skip" };
    const cursor = cursors[d] ?? 0;
    const run = this.runs.get(d);
    const expected = run ? run.first + run.fragments.length : cursor + 1;
    if (r.seq < expected) return { kind: "skip" };
    const what = `A record from device ${d} (seq ${r.seq}) could not be applied`;
    let env: Envelope;
    try {
      env = decodePlaintext(openRecord(this.keys, this.vault, r), r.kind);
    } catch (e) {
      if (!(e instanceof EnvelopeError)) throw e;
      return this.stick(d, `${what}: ${e.message}. Is this app older than the device that wrote it?`);
    }
    const firstMissing = () => this.stick(d, `Record ${r.seq} of device ${d} is part of a change whose first part is missing; nothing more of that device was applied.`);
    if (r.seq > expected) {
      if (env.part && env.part.index > 0) return firstMissing();
      return this.stick(d, `${what}: record ${expected} of that device is missing.`);
    }
    if (run && (!env.part || env.part.index === 0)) {
      return this.stick(d, `${what}: records ${run.first}–${run.first + run.count - 1} of that device hold one change, but record ${r.seq} is not its part ${run.fragments.length + 1}.`);
    }
    if (!env.part) return this.whole(r, env.chunk, env.reach ? [env.reach] : [], 1);
    const { index, count } = env.part;
    if (index > 0 && (!run || run.count !== count || run.fragments.length !== index)) return firstMissing();
    if (this.buffered + env.chunk.length > MAX_BUFFERED_PART_BYTES) {
      return this.stick(d, `${what}: the change it is part of is larger than the ${MAX_BUFFERED_PART_BYTES / 1024 / 1024} MiB this app holds.`);
    }
    const cur: Run = run ?? { first: r.seq, count, fragments: [], bytes: 0, reach: [] };
    cur.fragments.push(env.chunk);
    cur.bytes += env.chunk.length;
    this.buffered += env.chunk.length;
    if (env.reach) cur.reach.push(env.reach);
    this.runs.set(d, cur);
    if (index < count - 1) return { kind: "buffered" };
    this.drop(d);
    const chunk = new Uint8Array(cur.bytes);
    let at = 0;
    for (const f of cur.fragments) {
      chunk.set(f, at);
      at += f.length;
    }
    return this.whole(r, chunk, cur.reach, count);
  }

  /**
   * A whole chunk, checked: Automerge's loadIncremental passes over bytes
   * that are not a chunk without a word, which would move the cursor past
   * changes never applied.
   */
  private whole(r: WireRecord, chunk: Uint8Array, reach: Cursors[], records: number): Step {
    if (chunk.length > 0 && !isBareChunk(chunk)) {
      return this.stick(r.device, `A record from device ${r.device} (seq ${r.seq}) could not be applied: it does not hold an Automerge chunk.`);
    }
    return { kind: "apply", seq: r.seq, chunk, reach, records };
  }
}

/**
 * Devices whose logs the relay serves less of than another device has seen,
 * as of a `caught_up`: device → the highest seq known to exist.
 */
export function findWithheld(s: SyncState, self: string, stuck: ReadonlyMap<string, string>): Cursors {
  const out: Cursors = {};
  for (const [d, seq] of Object.entries(s.known)) {
    if (d !== self && !stuck.has(d) && seq > (s.cursors[d] ?? 0)) out[d] = seq;
  }
  return out;
}

/** Forgets the withheld entries the cursors have reached. */
function settleWithheld(s: SyncState): void {
  for (const [d, seq] of Object.entries(s.withheld)) if ((s.cursors[d] ?? 0) >= seq) delete s.withheld[d];
}

/** What the phone tells the user about records the relay lacks (one line per device). */
export function withheldNotices(s: SyncState): string[] {
  const out: string[] = [];
  for (const [d, seq] of Object.entries(s.withheld)) {
    const from = (s.cursors[d] ?? 0) + 1;
    if (from > seq) continue;
    const which = from === seq ? `record ${seq}` : `records ${from}–${seq}`;
    out.push(
      `The relay is missing ${which} of device ${d} that another device has seen; it may have lost them or be withholding them. They will come back when ${d} syncs again.`,
    );
  }
  return out;
}

// ----- what a relay lost ------------------------------------------------------

/** The last seq the relay holds of each device, as its welcome lists them. */
export function heldBy(devices: DeviceInfo[]): Cursors {
  return Object.fromEntries(devices.map((d) => [d.device, d.last_seq]));
}

/**
 * Records of this phone the relay acknowledged once and no longer holds
 * (`[first, last]`), given `held`, the last it holds: a wiped relay, a new
 * one at the same address, or one restored from an older backup.
 */
export function lostRange(s: SyncState, held: number): [number, number] | null {
  const acked = s.nextSeq - 1;
  return s.registered && held < acked ? [held + 1, acked] : null;
}

/**
 * Placeholders for the seqs `first … last` of this phone's log: an empty
 * chunk with `reach`. The phone does not keep its old records; a device
 * that had them skips them, one that did not applies nothing, and the whole
 * document follows as the next record, so every device gets every change.
 */
export function placeholders(keys: Keys, vault: string, device: string, first: number, last: number, cursors: Cursors): WireRecord[] {
  const reach = { ...cursors, [device]: last };
  const out: WireRecord[] = [];
  for (let seq = first; seq <= last; seq++) out.push(sealRecord(keys, vault, device, seq, encodeEnvelope({ chunk: new Uint8Array(0), part: null, reach })));
  return out;
}

/**
 * What a snapshot may claim to cover: this phone's log up to `lastSeq`,
 * and each other device's up to its cursor, but no further than the relay
 * holds (`held`), since the relay refuses a snapshot that claims records it
 * does not have. Zeros are left out.
 */
export function snapshotCovers(self: string, lastSeq: number, cursors: Cursors, held: Cursors): Cursors {
  const out: Cursors = {};
  for (const [d, seq] of Object.entries(cursors)) {
    const c = Math.min(seq, held[d] ?? 0);
    if (d !== self && c > 0) out[d] = c;
  }
  if (lastSeq > 0) out[self] = lastSeq;
  return out;
}

function missingDeps(doc: Doc): boolean {
  return A.getMissingDeps(doc, []).length > 0;
}

// ----- join ----------------------------------------------------------------

interface Pulled {
  doc: Doc | null;
  cursors: Cursors;
  reader: LogReader;
  /** Why the snapshot the relay sent could not be used, if it could not. */
  snapshotProblem: string | null;
}

/** One `sync{live: false}` of a joining device, from nothing: the snapshot if wanted, then the records. */
async function pullAll(conn: Connection, keys: Keys, m: Membership, device: string, known: Cursors, wantSnapshot: boolean): Promise<Pulled> {
  conn.send({ type: "sync", cursors: {}, live: false, want_snapshot: wantSnapshot });
  const reader = new LogReader(keys, m.vault, device);
  const out: Pulled = { doc: null, cursors: {}, reader, snapshotProblem: null };
  for (;;) {
    const f = (await conn.next(REPLY_TIMEOUT_MS))!;
    if (f.type === "caught_up") return out;
    if (f.type === "snapshot") {
      const s = f.snapshot;
      let bytes: Uint8Array;
      try {
        bytes = open(keys, snapshotAad(m.vault, s.device, s.id, s.covers), s.payload);
      } catch {
        out.snapshotProblem = `The relay's snapshot (from device ${s.device}) failed authentication: it was altered or does not belong here`;
        continue;
      }
      // Authentic covers: those records exist, whatever the relay serves.
      raise(known, s.covers);
      try {
        out.doc = A.load(bytes, { actor: device });
      } catch (e) {
        out.snapshotProblem = `The relay's snapshot (from device ${s.device}) could not be loaded (${e instanceof Error ? e.message : String(e)})`;
        continue;
      }
      out.cursors = { ...s.covers };
    } else if (f.type === "records") {
      // After an unusable snapshot the records start past its covers: useless.
      if (out.snapshotProblem) continue;
      for (const r of f.records) {
        const step = reader.next(r, out.cursors);
        if (step.kind !== "apply") continue;
        if (step.chunk.length > 0) {
          try {
            out.doc = A.loadIncremental(out.doc ?? A.init({ actor: device }), step.chunk);
          } catch (e) {
            reader.stick(r.device, `A record from device ${r.device} (seq ${r.seq}) could not be applied: ${e instanceof Error ? e.message : String(e)}`);
            continue;
          }
        }
        out.cursors[r.device] = step.seq;
        for (const reach of step.reach) raise(known, reach);
      }
    } else {
      throw unexpected(f);
    }
  }
}

/**
 * Joins the vault of a join code: fetches the newest snapshot and the
 * records after it, checks that they open and belong to that vault, and only
 * then stores anything. A snapshot that does not open or load is passed
 * over: the join then fetches every record from the start
 * (`want_snapshot: false`), tells `onNote`, and the vault keeps a note of it
 * for the screen.
 */
export async function join(code: string, dial: Dial, store: Store, onNote: (note: string) => void = () => {}): Promise<Vault> {
  let m: Membership;
  try {
    m = parseJoinCode(code);
  } catch (e) {
    if (e instanceof JoinCodeError) throw new SyncError(e.message, true);
    throw e;
  }
  const keys = derive(hexKey(m.key));
  const device = bytesToHex(random(16));
  const conn = await Connection.open(dial);
  try {
    try {
      await hello(conn, m.vault, device, keys);
    } catch (e) {
      if (!(e instanceof UnknownVault)) throw e;
      throw new SyncError(
        "This relay holds no vault with this code's key: the code may be for another relay, or the relay lost the vault. Run `interlog pair` again on a device that syncs (it registers the vault again if it must), and use its new code.",
        true,
      );
    }
    return await joinOn(conn, keys, m, device, store, onNote, null);
  } finally {
    conn.close();
  }
}

/**
 * Restores a whole vault from its key alone (the recovery words): asks the
 * relay at `relay` which vault this key's token opens (a hello naming
 * {@link VAULT_BY_KEY}, which tells the relay nothing a sync would not),
 * then joins it as a join code would. `relay` is `null` for the relay that
 * served this page, which `dial` reaches.
 */
export async function recover(key: Uint8Array, relay: string | null, dial: Dial, store: Store, onNote: (note: string) => void = () => {}): Promise<Vault> {
  const keys = derive(key);
  const device = bytesToHex(random(16));
  const conn = await Connection.open(dial);
  try {
    let welcome: Welcome;
    try {
      welcome = await hello(conn, VAULT_BY_KEY, device, keys);
    } catch (e) {
      if (!(e instanceof UnknownVault)) throw e;
      throw new SyncError(
        "This relay holds no vault with these words. Check the relay's address (the one your devices synced with, or moved to); if it is right, the relay may have lost the vault: sync a device that still has it first, or check the words.",
        true,
      );
    }
    if (!welcome.vault) throw new SyncError("The relay did not say which vault these words open; is it an Interlog relay of the same version?", true);
    const m: Membership = { relay: relay ?? "", vault: welcome.vault, key: bytesToHex(key) };
    return await joinOn(conn, keys, m, device, store, onNote, relay);
  } finally {
    conn.close();
  }
}

/** A join after the welcome: pulls everything, checks it, stores it. */
async function joinOn(conn: Connection, keys: Keys, m: Membership, device: string, store: Store, onNote: (note: string) => void, relay: string | null): Promise<Vault> {
  const known: Cursors = {};
  let pulled = await pullAll(conn, keys, m, device, known, true);
  let joinNote: string | null = null;
  if (pulled.snapshotProblem) {
    joinNote = `${pulled.snapshotProblem}, so this phone joined from the records alone, which takes longer. Tell the relay's operator.`;
    onNote(`${pulled.snapshotProblem}; fetching every record instead, which takes longer…`);
    pulled = await pullAll(conn, keys, m, device, known, false);
  }
  const { doc, cursors, reader } = pulled;
  if (!doc) {
    throw new SyncError("The relay holds nothing for this vault yet: run `interlog pair` on a device of the vault first.", true);
  }
  if (missingDeps(doc)) throw new SyncError("The relay's records are incomplete (changes are missing); try again later.");
  if (vaultId(doc) !== m.vault) throw new SyncError("The relay's data belongs to another vault; nothing was stored.", true);
  const state = freshState(A.getHeads(doc), cursors);
  state.known = known;
  state.withheld = findWithheld(state, device, reader.stuck);
  state.joinNote = joinNote;
  state.relay = relay;
  return await Vault.create(store, m, device, doc, state);
}

function hexKey(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ----- the live syncer -----------------------------------------------------

export type Status =
  | { kind: "connecting"; pending: number }
  /** The relay lost this vault, or records of this phone: sending its copy again. */
  | { kind: "reseeding"; pending: number }
  | { kind: "synced" }
  | { kind: "pending"; pending: number }
  | { kind: "offline"; pending: number }
  | { kind: "error"; reason: string; pending: number };

export interface SyncerOptions {
  /** Whether the device has a network (navigator.onLine in the browser). */
  online?: () => boolean;
  snapshotEvery?: number;
  /** Backoff bounds in ms. */
  minBackoff?: number;
  maxBackoff?: number;
  /** Chunks larger than this are sent as parts (`PART_BYTES`; smaller in tests). */
  partBytes?: number;
  /** The relay that served this page (`syncUrl(location)`): where the phone syncs until a move. */
  here?: string;
  /** Connections to another relay, after a move or a recovery from another relay. */
  dialTo?: (relay: string) => Dial;
  /**
   * When to push a local change: at once by default; the app waits until the
   * screen that follows the edit is painted, so sealing and sending never
   * delay it.
   */
  schedulePush?: (push: () => void) => void;
}

/** Said, until dismissed, while the phone registers a vault the relay lost. */
export const RESEEDING_NOTE = "The relay no longer knows this vault (it was wiped, or is a new relay); registering it again with this phone's copy…";

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class Syncer {
  status: Status = { kind: "connecting", pending: 0 };
  private listeners = new Set<(s: Status) => void>();
  private conn: Connection | null = null;
  private stash: WireRecord[][] = [];
  private dirty = true;
  private stopped = false;
  private caughtUp = false;
  /** Why the last session ended, shown until the next one starts. */
  private failure: string | null = null;
  /** The user asked to retry while connected: reconnect at once, without an error. */
  private restarting = false;
  private sleeper: (() => void) | null = null;
  private readonly keys: Keys;
  private readonly online: () => boolean;
  private readonly opts: Required<Omit<SyncerOptions, "online" | "schedulePush">>;
  /** The last seq the relay holds of each device: its welcome, then its acks and the records it served. */
  private held: Cursors = {};
  /** Registering the vault again, or resending what the relay lost. */
  private reseeding = false;
  /** An invite code the user entered, for registering the vault again. */
  private invite: string | null = null;
  /** The relay asked for an invite to register the vault again. */
  inviteNeeded = false;
  /** The relay this phone is moving the vault to, by its own move. */
  private moving: string | null = null;
  private running: Promise<void> | null = null;
  /** This session's reader: parts waiting, and the logs that cannot go on. */
  private reader: LogReader;

  constructor(
    readonly vault: Vault,
    private readonly dial: Dial,
    opts: SyncerOptions = {},
  ) {
    this.keys = derive(hexKey(vault.membership.key));
    this.online = opts.online ?? (() => true);
    this.opts = {
      snapshotEvery: opts.snapshotEvery ?? SNAPSHOT_EVERY,
      minBackoff: opts.minBackoff ?? 250,
      maxBackoff: opts.maxBackoff ?? 30_000,
      partBytes: opts.partBytes ?? PART_BYTES,
      here: opts.here ?? "",
      dialTo: opts.dialTo ?? ((relay) => webSocketDial(endpoint(relay))),
    };
    this.reader = new LogReader(this.keys, vault.membership.vault, vault.device);
    const schedule = opts.schedulePush ?? ((push) => push());
    vault.onLocalChange = () => schedule(() => this.kick());
  }

  onStatus(fn: (s: Status) => void): () => void {
    this.listeners.add(fn);
    fn(this.status);
    return () => this.listeners.delete(fn);
  }

  private setStatus(s: Status): void {
    this.status = s;
    for (const fn of this.listeners) fn(s);
  }

  private get pending(): number {
    return this.vault.state.pending;
  }

  /** What to tell the user beside the status about records the relay lacks. */
  withheld(): string[] {
    return withheldNotices(this.vault.state);
  }

  /** Forgets the note a join left. */
  async dismissJoinNote(): Promise<void> {
    this.vault.state.joinNote = null;
    await this.vault.saveState();
    this.setStatus(this.status);
  }

  /** Forgets a note about the relay. */
  async dismissRelayNote(note: string): Promise<void> {
    this.vault.state.relayNotes = this.vault.state.relayNotes.filter((n) => n !== note);
    await this.vault.saveState();
    this.setStatus(this.status);
  }

  private async addRelayNote(note: string, replacing: string | null = null): Promise<void> {
    const s = this.vault.state;
    s.relayNotes = [...s.relayNotes.filter((n) => n !== note && n !== replacing), note];
    await this.vault.saveState();
  }

  /** The relay this phone syncs with, as a URL. */
  relayUrl(): string {
    return this.vault.state.relay ?? this.opts.here.replace(/\/v1\/sync$/, "");
  }

  private dialNow(): Dial {
    const relay = this.vault.state.relay;
    return relay ? this.opts.dialTo(relay) : this.dial;
  }

  /** Registers the vault again with an invite code, now. */
  registerWith(invite: string): void {
    this.invite = invite.trim() || null;
    this.wakeUp();
  }

  /** Ends every session for good and deletes this phone's copy of the vault. */
  async leave(): Promise<void> {
    await this.stop();
    await this.vault.close();
    await this.vault.store.clear();
  }

  /**
   * Moves the vault to the relay at `url`: records it in the document, so
   * the other devices follow at their next sync with this relay, pushes that
   * here, then syncs with the new relay, registering the vault there with
   * this phone's copy. When this relay does not take the change within
   * `waitMs`, the phone moves anyway and says that the other devices must be
   * told by hand. Resolves once the phone syncs with the new relay.
   */
  async moveTo(url: string, pin: string | null, waitMs = 20_000): Promise<void> {
    const to = checkRelayUrl(url);
    const there = () => endpoint(this.relayUrl()) === endpoint(to);
    if (there()) throw new SyncError(`This phone already syncs with ${to}.`, true);
    this.moving = to;
    try {
      await this.vault.edit((d) => setRelay(d, to, pin?.trim() || null));
      const end = Date.now() + waitMs;
      while (!there() && Date.now() < end && !this.stopped) await pause(50);
      if (there()) return;
      const s = this.vault.state;
      const from = this.relayUrl();
      s.relay = to;
      s.relayPin = pin?.trim() || null;
      await this.addRelayNote(
        `This phone moved the vault to ${to}, but ${from} could not be told, so the other devices will not follow by themselves: run \`interlog sync --relay ${to}\` on each.`,
      );
      this.restart();
    } finally {
      this.moving = null;
    }
  }

  /** Ends the session at once, without an error, and starts the next. */
  private restart(): void {
    if (this.conn) {
      this.restarting = true;
      this.conn.close();
    }
    this.sleeper?.();
  }

  /**
   * Once everything here is pushed: when the document says the vault's
   * devices now meet at another relay, syncs with that one from now on.
   * True when it switched; the session then ends, and the next one goes
   * there (and registers the vault there if it must).
   */
  private async followMove(): Promise<boolean> {
    const v = this.vault;
    const s = v.state;
    const to = relayOf(v.doc);
    if (!to || s.outbox || !sameHeads(A.getHeads(v.doc), s.pushedHeads)) return false;
    if (endpoint(to.url) === endpoint(this.relayUrl())) return false;
    const from = this.relayUrl();
    s.relay = to.url;
    s.relayPin = to.pin;
    const here = this.opts.here.replace(/\/v1\/sync$/, "");
    const install =
      here && endpoint(here) !== endpoint(to.url)
        ? ` This app was installed from ${appUrl(here)}, and keeps working from there; to install it from the new relay, open ${appUrl(to.url)} on this phone and join there.`
        : "";
    await this.addRelayNote(
      this.moving === to.url
        ? `This phone moved the vault from ${from} to ${to.url}; the other devices follow at their next sync.${install}`
        : `This vault moved from ${from} to ${to.url}: this phone syncs there from now on.${install}`,
    );
    return true;
  }

  /** Why other devices' logs stopped in this session, for the status. */
  private stuckReason(): string | null {
    return this.reader.stuck.size ? [...this.reader.stuck.values()].join(" ") : null;
  }

  /** Shows what is true now: synced, pending, offline, connecting, or a log that cannot go on. */
  private refresh(): void {
    const stuck = this.stuckReason();
    if (!this.online()) this.setStatus({ kind: "offline", pending: this.pending });
    // Between sessions, the last session's error stays on screen (a local edit must not hide it).
    else if (!this.conn && this.failure) this.setStatus({ kind: "error", reason: this.failure, pending: this.pending });
    else if (this.conn && this.reseeding) this.setStatus({ kind: "reseeding", pending: this.pending });
    else if (!this.conn || !this.caughtUp) this.setStatus({ kind: "connecting", pending: this.pending });
    else if (stuck) this.setStatus({ kind: "error", reason: stuck, pending: this.pending });
    else if (this.pending > 0) this.setStatus({ kind: "pending", pending: this.pending });
    else this.setStatus({ kind: "synced" });
  }

  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.conn?.close();
    this.sleeper?.();
    await this.running;
  }

  /** A local change was saved: push it now if connected. */
  kick(): void {
    this.dirty = true;
    this.refresh();
    this.conn?.wake();
  }

  /**
   * The network came back, or the user asked to retry: reconnect now. A
   * session that goes on while another device's log is stuck starts over,
   * to fetch that log again.
   */
  wakeUp(): void {
    if (this.conn && this.reader.stuck.size) {
      this.restarting = true;
      this.conn.close();
    }
    this.sleeper?.();
  }

  /** The network went away: drop the connection and show it. */
  wentOffline(): void {
    this.conn?.close();
    this.refresh();
  }

  private sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === null ? undefined : setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.sleeper === done) self.sleeper = null;
        resolve();
      }
      this.sleeper = done;
    });
  }

  private async run(): Promise<void> {
    let backoff = this.opts.minBackoff;
    while (!this.stopped) {
      if (!this.online()) {
        this.refresh();
        await this.sleep(null);
        continue;
      }
      try {
        await this.session();
        backoff = this.opts.minBackoff;
      } catch (e) {
        if (this.stopped) break;
        if (this.restarting) continue;
        const err = e instanceof SyncError ? e : new SyncError(String(e instanceof Error ? e.message : e));
        this.vault.state.lastError = err.message;
        await this.vault.saveState().catch(() => {});
        // Said together, after the save: whoever sees the invite asked for sees the error too.
        this.inviteNeeded = err instanceof InviteNeeded;
        this.failure = err.message;
        if (!this.online()) {
          this.refresh();
          continue;
        }
        this.setStatus({ kind: "error", reason: err.message, pending: this.pending });
        await this.sleep(err.fatal ? null : backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoff);
      } finally {
        this.conn = null;
        this.caughtUp = false;
        this.restarting = false;
        this.reseeding = false;
      }
    }
  }

  private async session(): Promise<void> {
    // Parts never outlive a session: the next one fetches a cut-off run whole.
    this.reader = new LogReader(this.keys, this.vault.membership.vault, this.vault.device);
    this.stash = [];
    this.failure = null;
    this.refresh();
    const v = this.vault;
    let conn = await Connection.open(this.dialNow());
    this.conn = conn;
    try {
      let welcome: Welcome;
      let registered = false;
      try {
        welcome = await hello(conn, v.membership.vault, v.device, this.keys);
      } catch (e) {
        if (!(e instanceof UnknownVault)) throw e;
        // Wiped, or a new relay at this address: the vault is registered
        // again under the same key, and this phone's copy re-seeds it.
        this.reseeding = true;
        await this.addRelayNote(RESEEDING_NOTE);
        conn.close();
        conn = await Connection.open(this.dialNow());
        this.conn = conn;
        this.refresh();
        welcome = await hello(conn, v.membership.vault, v.device, this.keys, true, this.invite);
        this.invite = null;
        registered = true;
      }
      this.inviteNeeded = false;
      this.held = heldBy(welcome.devices);
      const lost = await this.resendLost(conn, registered);
      this.dirty = false;
      await this.push(conn);
      if (lost) {
        // A snapshot of everything, so a device joining now needs no other device.
        await this.uploadSnapshot(conn);
        this.reseeding = false;
        await this.addRelayNote(
          registered
            ? "The relay no longer knew this vault (it was wiped, or is a new relay): this phone registered it again and sent its copy of the journal. Your other devices catch up at their next sync."
            : `The relay had lost records ${lost[0]}–${lost[1]} of this phone (restored from an older backup?): this phone sent its copy of the journal again.`,
          RESEEDING_NOTE,
        );
      }
      if (await this.followMove()) return;
      conn.send({ type: "sync", cursors: { ...v.state.cursors }, live: true, want_snapshot: false });
      for (;;) {
        if (this.stopped) return;
        if (this.dirty) {
          this.dirty = false;
          await this.push(conn);
          this.refresh();
          if (await this.followMove()) return;
        }
        const stashed = this.stash.shift();
        if (stashed) {
          await this.apply(stashed);
          if (this.caughtUp && (await this.followMove())) return;
          continue;
        }
        const f = await conn.next(null, () => this.dirty || this.stopped);
        if (!f) continue;
        if (f.type === "records") {
          await this.apply(f.records);
          // A live record may be the move of another device.
          if (this.caughtUp && (await this.followMove())) return;
        } else if (f.type === "caught_up") {
          this.caughtUp = true;
          v.state.lastSync = Math.floor(Date.now() / 1000);
          v.state.lastError = this.stuckReason();
          v.state.withheld = findWithheld(v.state, v.device, this.reader.stuck);
          await v.saveState();
          if (v.state.sinceSnapshot >= this.opts.snapshotEvery) await this.uploadSnapshot(conn);
          if (await this.followMove()) return;
          this.refresh();
        } else if (f.type !== "snapshot") throw unexpected(f);
      }
    } finally {
      conn.close();
    }
  }

  /** Waits for the reply `isReply` accepts, keeping records that arrive meanwhile. */
  private async awaitReply(conn: Connection, isReply: (f: Frame) => boolean): Promise<void> {
    for (;;) {
      const f = (await conn.next(REPLY_TIMEOUT_MS))!;
      if (isReply(f)) return;
      if (f.type === "records") this.stash.push(f.records);
      else throw unexpected(f);
    }
  }

  private async append(conn: Connection, r: WireRecord): Promise<void> {
    conn.send({ type: "append", record: r });
    await this.awaitReply(conn, (f) => f.type === "ack" && f.device === r.device && f.seq === r.seq);
    this.held[r.device] = Math.max(this.held[r.device] ?? 0, r.seq);
  }

  /**
   * Appends many records, a window at a time, and no faster than
   * `RESEND_PER_SECOND` when they are many (the relay closes the connection
   * of a device above its limit).
   */
  private async appendAll(conn: Connection, records: WireRecord[]): Promise<void> {
    const paced = records.length > 2 * APPEND_WINDOW;
    for (let i = 0; i < records.length; i += APPEND_WINDOW) {
      const started = Date.now();
      const window = records.slice(i, i + APPEND_WINDOW);
      for (const r of window) conn.send({ type: "append", record: r });
      for (const r of window) {
        await this.awaitReply(conn, (f) => f.type === "ack" && f.device === r.device && f.seq === r.seq);
        this.held[r.device] = Math.max(this.held[r.device] ?? 0, r.seq);
      }
      if (paced) await pause((window.length * 1000) / RESEND_PER_SECOND - (Date.now() - started));
    }
  }

  /**
   * Sends again what the relay lost of this phone's log (see
   * {@link lostRange}): placeholders for the lost seqs, then, by forgetting
   * what was pushed, the whole document as the next change, so every device
   * gets every change. `registered`: the relay had lost the whole vault, so
   * the document goes even when nothing had been acknowledged. Saved first:
   * an interruption repeats it. Returns the seqs refilled (possibly none),
   * or `null` when the relay lost nothing.
   */
  private async resendLost(conn: Connection, registered: boolean): Promise<[number, number] | null> {
    const v = this.vault;
    const s = v.state;
    const lost = lostRange(s, this.held[v.device] ?? 0);
    if (!lost && !registered) return null;
    this.reseeding = true;
    this.refresh();
    s.outbox = null;
    s.pushedHeads = [];
    await v.saveState();
    if (lost) await this.appendAll(conn, placeholders(this.keys, v.membership.vault, v.device, lost[0], lost[1], s.cursors));
    return lost ?? [s.nextSeq, s.nextSeq - 1];
  }

  /** Pushes the outbox left by an interrupted push, then every change since the pushed heads. */
  async push(conn: Connection): Promise<void> {
    const v = this.vault;
    const s = v.state;
    const send = async () => {
      const ob = s.outbox!;
      // All of them again after a retry: the relay acks what it holds.
      for (const r of ob.records) await this.append(conn, r);
      s.nextSeq = ob.records[ob.records.length - 1].seq + 1;
      s.pushedHeads = ob.heads;
      s.pending = Math.max(0, s.pending - ob.changes);
      s.outbox = null;
      s.sinceSnapshot += ob.records.length;
      await v.saveState();
    };
    if (s.outbox) await send();
    const heads = A.getHeads(v.doc);
    if (sameHeads(heads, s.pushedHeads)) {
      // Nothing new; whatever was counted as pending was pushed.
      if (s.pending !== 0) {
        s.pending = 0;
        await v.saveState();
      }
      return;
    }
    const chunk = A.saveSince(v.doc, s.pushedHeads);
    // Changes since no heads at all: the whole document.
    const whole = s.pushedHeads.length === 0;
    const records = sealChunk(this.keys, v.membership.vault, v.device, s.nextSeq, chunk, s.cursors, this.opts.partBytes, whole);
    // Durable before any leaves: a retry must resend these exact bytes.
    s.outbox = { records, heads, changes: s.pending };
    await v.saveState();
    await send();
  }

  /**
   * Applies records in seq order per device, a chunk split over parts once
   * its last part is in; the document and cursors are saved together. A log
   * that cannot go on stops; the others go on.
   */
  async apply(records: WireRecord[]): Promise<void> {
    const v = this.vault;
    const s = v.state;
    let applied = 0;
    try {
      for (const r of records) {
        // The relay serves only what it holds.
        this.held[r.device] = Math.max(this.held[r.device] ?? 0, r.seq);
        const step = this.reader.next(r, s.cursors);
        if (step.kind !== "apply") continue;
        if (step.chunk.length > 0) {
          // With nothing unpushed, everything after the apply is on the relay.
          const clean = !s.outbox && sameHeads(A.getHeads(v.doc), s.pushedHeads);
          const what = `A record from device ${r.device} (seq ${r.seq}) could not be applied`;
          let next: Doc;
          try {
            next = A.loadIncremental(v.doc, step.chunk);
          } catch (e) {
            this.reader.stick(r.device, `${what}: ${e instanceof Error ? e.message : String(e)}`);
            continue;
          }
          if (missingDeps(next)) {
            // Not kept: the cursor stays, and the next sync fetches it again.
            this.reader.stick(r.device, `${what}: changes it depends on are missing.`);
            continue;
          }
          v.doc = next;
          if (clean) s.pushedHeads = A.getHeads(next);
        }
        s.cursors[r.device] = step.seq;
        for (const reach of step.reach) raise(s.known, reach);
        s.sinceSnapshot += step.records;
        applied += 1;
      }
    } finally {
      if (applied > 0) {
        // Live records after caught_up: look again at what the relay lacks.
        s.withheld = this.caughtUp ? findWithheld(s, v.device, this.reader.stuck) : s.withheld;
        settleWithheld(s);
        await v.save();
        v.notify();
      }
      this.refresh();
    }
  }

  /** Seals and uploads a snapshot covering this device's log and every cursor, as far as the relay holds them. */
  async uploadSnapshot(conn: Connection): Promise<void> {
    const v = this.vault;
    const covers = snapshotCovers(v.device, v.state.nextSeq - 1, v.state.cursors, this.held);
    const id = v.state.snapshotId + 1;
    const payload = seal(this.keys, snapshotAad(v.membership.vault, v.device, id, covers), A.save(v.doc));
    conn.send({ type: "snapshot", snapshot: { device: v.device, id, covers, payload } });
    await this.awaitReply(conn, (f) => f.type === "snapshot_ack" && f.id === id);
    v.state.snapshotId = id;
    v.state.sinceSnapshot = 0;
    await v.saveState();
  }
}
