/**
 * The phone as a sync device, the same as `client-core/src/sync/` does it
 * (docs/protocol.md). It pushes its own log (seq 1, 2, 3 … of its device id),
 * keeping each sealed record in the outbox, saved, before it is sent, so a
 * retry resends the same bytes; it applies other devices' records strictly in
 * seq order and saves the cursor together with the document. It stays
 * connected (`sync{live}`), pushes each local change as it is saved, and
 * reconnects with backoff, or at once when the browser comes back online.
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
import { type Doc, vaultId } from "./doc";
import type { Store } from "./store";
import { freshState, sameHeads, Vault } from "./vault";
import {
  CAPABILITIES,
  checkVersion,
  type Cursors,
  decode,
  encode,
  type Frame,
  PROTOCOL_VERSION,
  type WireRecord,
  WireError,
} from "./wire";

export const REPLY_TIMEOUT_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const SNAPSHOT_EVERY = 500;

/** Why sync stopped. `fatal` errors need the user; the rest are retried. */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly fatal = false,
  ) {
    super(message);
  }
}

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
  if (code === "unauthorized" && !message.includes("invite")) {
    return new SyncError(
      `The vault key on this phone does not match the vault on the relay (${message}). Run \`interlog pair\` on a device that syncs, then leave this vault and join again with the new code.`,
      true,
    );
  }
  if (code === "device_id_reused") {
    return new SyncError(`This phone's device id was already used for other records (${message}). Leave this vault and join again.`, true);
  }
  if (code === "version_mismatch") return new SyncError(`The relay speaks another protocol version: ${message}`, true);
  return new SyncError(`The relay refused: ${message}`);
}

function unexpected(f: Frame): SyncError {
  return new SyncError(`the relay sent an unexpected ${f.type} frame; is it an Interlog relay of the same version?`);
}

/** Says hello and waits for the welcome. */
async function hello(conn: Connection, m: Membership, device: string, keys: Keys): Promise<void> {
  conn.send({
    type: "hello",
    version: PROTOCOL_VERSION,
    capabilities: CAPABILITIES,
    vault: m.vault,
    device,
    token: keys.token,
    register: false,
    invite: null,
  });
  const f = await conn.next(REPLY_TIMEOUT_MS);
  if (f?.type !== "welcome") throw unexpected(f!);
  try {
    checkVersion(f.version);
  } catch (e) {
    throw new SyncError((e as Error).message, true);
  }
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

/** Seals a chunk as record `seq` of `device`'s log. */
export function sealRecord(keys: Keys, vault: string, device: string, seq: number, chunk: Uint8Array): WireRecord {
  return { device, seq, kind: "change", payload: seal(keys, recordAad(vault, device, seq), chunk) };
}

function missingDeps(doc: Doc): boolean {
  return A.getMissingDeps(doc, []).length > 0;
}

// ----- join ----------------------------------------------------------------

/**
 * Joins the vault of a join code: fetches the newest snapshot and the
 * records after it, checks that they open and belong to that vault, and only
 * then stores anything.
 */
export async function join(code: string, dial: Dial, store: Store): Promise<Vault> {
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
    await hello(conn, m, device, keys);
    conn.send({ type: "sync", cursors: {}, live: false, want_snapshot: true });
    let doc: Doc | null = null;
    let cursors: Cursors = {};
    for (;;) {
      const f = (await conn.next(REPLY_TIMEOUT_MS))!;
      if (f.type === "caught_up") break;
      if (f.type === "snapshot") {
        const s = f.snapshot;
        let bytes: Uint8Array;
        try {
          bytes = open(keys, snapshotAad(m.vault, s.device, s.id, s.covers), s.payload);
        } catch {
          throw new SyncError(`The relay's snapshot from device ${s.device} failed authentication; nothing was stored.`, true);
        }
        doc = A.load(bytes, { actor: device });
        cursors = { ...s.covers };
      } else if (f.type === "records") {
        for (const r of f.records) {
          const cursor = cursors[r.device] ?? 0;
          if (r.seq <= cursor) continue;
          const chunk = openRecord(keys, m.vault, r);
          doc = A.loadIncremental(doc ?? A.init({ actor: device }), chunk);
          cursors[r.device] = r.seq;
        }
      } else {
        throw unexpected(f);
      }
    }
    if (!doc) {
      throw new SyncError("The relay holds nothing for this vault yet: run `interlog pair` on a device of the vault first.", true);
    }
    if (missingDeps(doc)) throw new SyncError("The relay's records are incomplete (changes are missing); try again later.");
    if (vaultId(doc) !== m.vault) throw new SyncError("The relay's data belongs to another vault; nothing was stored.", true);
    return await Vault.create(store, m, device, doc, freshState(A.getHeads(doc), cursors));
  } finally {
    conn.close();
  }
}

function hexKey(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ----- the live syncer -----------------------------------------------------

export type Status =
  | { kind: "connecting"; pending: number }
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
}

export class Syncer {
  status: Status = { kind: "connecting", pending: 0 };
  private listeners = new Set<(s: Status) => void>();
  private conn: Connection | null = null;
  private stash: WireRecord[][] = [];
  private dirty = true;
  private stopped = false;
  private caughtUp = false;
  private sleeper: (() => void) | null = null;
  private readonly keys: Keys;
  private readonly online: () => boolean;
  private readonly opts: Required<Omit<SyncerOptions, "online">>;
  private running: Promise<void> | null = null;

  constructor(
    readonly vault: Vault,
    private readonly dial: Dial,
    opts: SyncerOptions = {},
  ) {
    this.keys = derive(hexKey(vault.membership.key));
    this.online = opts.online ?? (() => true);
    this.opts = { snapshotEvery: opts.snapshotEvery ?? SNAPSHOT_EVERY, minBackoff: opts.minBackoff ?? 250, maxBackoff: opts.maxBackoff ?? 30_000 };
    vault.onLocalChange = () => this.kick();
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

  /** Shows what is true now: synced, pending, offline or connecting. */
  private refresh(): void {
    if (!this.online()) this.setStatus({ kind: "offline", pending: this.pending });
    else if (!this.conn || !this.caughtUp) this.setStatus({ kind: "connecting", pending: this.pending });
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

  /** The network came back (or the user asked to retry): reconnect now. */
  wakeUp(): void {
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
        const err = e instanceof SyncError ? e : new SyncError(String(e instanceof Error ? e.message : e));
        this.vault.state.lastError = err.message;
        await this.vault.saveState().catch(() => {});
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
      }
    }
  }

  private async session(): Promise<void> {
    this.refresh();
    const conn = await Connection.open(this.dial);
    this.conn = conn;
    try {
      const v = this.vault;
      await hello(conn, v.membership, v.device, this.keys);
      this.dirty = false;
      await this.push(conn);
      conn.send({ type: "sync", cursors: { ...v.state.cursors }, live: true, want_snapshot: false });
      for (;;) {
        if (this.stopped) return;
        if (this.dirty) {
          this.dirty = false;
          await this.push(conn);
          this.refresh();
        }
        const stashed = this.stash.shift();
        if (stashed) {
          await this.apply(stashed);
          continue;
        }
        const f = await conn.next(null, () => this.dirty || this.stopped);
        if (!f) continue;
        if (f.type === "records") await this.apply(f.records);
        else if (f.type === "caught_up") {
          this.caughtUp = true;
          v.state.lastSync = Math.floor(Date.now() / 1000);
          v.state.lastError = null;
          await v.saveState();
          if (v.state.sinceSnapshot >= this.opts.snapshotEvery) await this.uploadSnapshot(conn);
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
  }

  /** Pushes the outbox left by an interrupted push, then every change since the pushed heads. */
  async push(conn: Connection): Promise<void> {
    const v = this.vault;
    const s = v.state;
    const finish = async () => {
      const ob = s.outbox!;
      s.nextSeq = ob.record.seq + 1;
      s.pushedHeads = ob.heads;
      s.pending = Math.max(0, s.pending - ob.changes);
      s.outbox = null;
      s.sinceSnapshot += 1;
      await v.saveState();
    };
    if (s.outbox) {
      await this.append(conn, s.outbox.record);
      await finish();
    }
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
    // Durable before it leaves: a retry must resend these exact bytes.
    s.outbox = { record: sealRecord(this.keys, v.membership.vault, v.device, s.nextSeq, chunk), heads, changes: s.pending };
    await v.saveState();
    await this.append(conn, s.outbox.record);
    await finish();
  }

  /** Applies records in seq order; the document and cursors are saved together. */
  async apply(records: WireRecord[]): Promise<void> {
    const v = this.vault;
    const s = v.state;
    let applied = 0;
    try {
      for (const r of records) {
        const cursor = s.cursors[r.device] ?? 0;
        if (r.device === v.device || r.seq <= cursor) continue;
        if (r.seq !== cursor + 1) {
          throw new SyncError(`A record from device ${r.device} (seq ${r.seq}) could not be applied: record ${cursor + 1} of that device is missing.`);
        }
        const chunk = openRecord(this.keys, v.membership.vault, r);
        // With nothing unpushed, everything after the apply is on the relay.
        const clean = !s.outbox && sameHeads(A.getHeads(v.doc), s.pushedHeads);
        const next = A.loadIncremental(v.doc, chunk);
        if (missingDeps(next)) {
          v.doc = next;
          throw new SyncError(`A record from device ${r.device} (seq ${r.seq}) could not be applied: changes it depends on are missing.`);
        }
        v.doc = next;
        s.cursors[r.device] = r.seq;
        s.sinceSnapshot += 1;
        if (clean) s.pushedHeads = A.getHeads(next);
        applied += 1;
      }
    } finally {
      if (applied > 0) {
        await v.save();
        v.notify();
      }
    }
  }

  /** Seals and uploads a snapshot covering every cursor and this device's log. */
  async uploadSnapshot(conn: Connection): Promise<void> {
    const v = this.vault;
    const covers: Cursors = { ...v.state.cursors, [v.device]: v.state.nextSeq - 1 };
    const id = v.state.snapshotId + 1;
    const payload = seal(this.keys, snapshotAad(v.membership.vault, v.device, id, covers), A.save(v.doc));
    conn.send({ type: "snapshot", snapshot: { device: v.device, id, covers, payload } });
    await this.awaitReply(conn, (f) => f.type === "snapshot_ack" && f.id === id);
    v.state.snapshotId = id;
    v.state.sinceSnapshot = 0;
    await v.saveState();
  }
}
