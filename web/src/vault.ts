/**
 * The vault on this phone: the document, the sync state and the membership,
 * in memory and in the store. Every local edit is saved (document and state
 * in one transaction) before `edit` resolves: a write never waits for the
 * network, and nothing acknowledged on screen is lost when the tab closes.
 */
import type { Membership } from "./crypto";
import { type Doc, localDate, type Today, today } from "./doc";
import { type CompactionPolicy, DocStore } from "./docstore";
import type { Store } from "./store";
import type { Cursors, WireRecord } from "./wire";

/**
 * Sealed records waiting for the relay's acks, and the heads they bring us
 * to: one record, or the parts of a chunk larger than `PART_BYTES`, all
 * sealed and saved before the first is sent. A retry resends all of them
 * byte for byte (the relay acks a record it already holds again), and only
 * the last ack moves `nextSeq` and the pushed heads.
 */
export interface Outbox {
  records: WireRecord[];
  heads: string[];
  /** Local changes it carries, for the "N changes pending" count. */
  changes: number;
}

/** What this device remembers about syncing (sync/state.rs). */
export interface SyncState {
  nextSeq: number;
  pushedHeads: string[];
  cursors: Cursors;
  outbox: Outbox | null;
  registered: boolean;
  snapshotId: number;
  sinceSnapshot: number;
  /** Local changes not yet acknowledged by the relay. */
  pending: number;
  lastSync: number | null;
  lastError: string | null;
  /**
   * How far each device's log is known to reach: the highest `reach` entry
   * of every record applied and the `covers` of every snapshot opened.
   */
  known: Cursors;
  /**
   * Devices whose logs the relay served less of, at the last `caught_up`,
   * than `known` says exist: device → the highest seq known. An entry goes
   * once the cursor reaches it.
   */
  withheld: Cursors;
  /** Said once after a join that could not use the relay's snapshot, until dismissed. */
  joinNote: string | null;
  /**
   * The relay this phone syncs with, as a relay URL (`wss://HOST`), after a
   * move or a recovery from another relay; `null`: the relay that served
   * this page.
   */
  relay: string | null;
  /** That relay's pin, as the move recorded it (a browser cannot check it: it trusts the phone's roots). */
  relayPin: string | null;
  /** What happened to the relay (re-registered, moved), each said until dismissed. */
  relayNotes: string[];
}

export function freshState(heads: string[], cursors: Cursors): SyncState {
  return {
    nextSeq: 1,
    pushedHeads: heads,
    cursors,
    outbox: null,
    registered: true,
    snapshotId: 0,
    sinceSnapshot: 0,
    pending: 0,
    lastSync: null,
    lastError: null,
    known: {},
    withheld: {},
    joinNote: null,
    relay: null,
    relayPin: null,
    relayNotes: [],
  };
}

/** A state saved by an older version of the app, brought up to date. */
export function upgradeState(saved: SyncState): SyncState {
  const s = saved as SyncState & { outbox: (Outbox & { record?: WireRecord }) | null };
  if (s.outbox && !s.outbox.records && s.outbox.record) {
    const { record, ...rest } = s.outbox;
    s.outbox = { ...rest, records: [record] };
  }
  s.known ??= {};
  s.withheld ??= {};
  s.joinNote ??= null;
  s.relay ??= null;
  s.relayPin ??= null;
  s.relayNotes ??= [];
  return s;
}

/** How long after a write compaction waits, so that it never delays an edit or the screen after it. */
export const COMPACT_AFTER_MS = 2000;

export interface StoreOptions {
  policy?: CompactionPolicy;
  compactAfterMs?: number;
}

/**
 * What the first screen shows, stored beside the document under `view` so
 * that a start shows Today before the document loads (seconds, on a
 * five-year journal on a phone). A cache, written off the edit's path:
 * whenever Today is shown from the document, and when the app goes to the
 * background, each time only if it differs. It may be a few changes behind;
 * it is shown only on the day it was computed for, and replaced on screen by
 * the document as soon as that has loaded.
 */
export interface StoredView {
  today: Today;
}

/** Contacts to get back in touch with that Today lists; the rest are counted. */
export const RECONNECT_SHOWN = 20;

/** Today as the first screen shows it: the most overdue contacts only. */
export function shownToday(t: Today): Today {
  if (t.reconnect.length <= RECONNECT_SHOWN) return t;
  return { ...t, reconnect: t.reconnect.slice(0, RECONNECT_SHOWN), reconnectTotal: t.reconnect.length };
}

/** What a start needs before the document: whether this phone joined a vault, and the first screen's view. */
export async function peek(store: Store): Promise<{ view: StoredView | null; state: SyncState } | null> {
  const [membership, state, view] = await Promise.all([store.get<Membership>("membership"), store.get<SyncState>("sync"), store.get<StoredView>("view")]);
  if (!membership || !state) return null;
  return { view: view ?? null, state: upgradeState(state) };
}

export class Vault {
  private listeners = new Set<() => void>();
  /** Called after every local change is saved (the syncer pushes it). */
  onLocalChange: () => void = () => {};
  /** Writes run one at a time, in call order (see docstore.ts). */
  private writes: Promise<unknown> = Promise.resolve();
  private compaction: ReturnType<typeof setTimeout> | null = null;
  /** The view last stored, as JSON, so an unchanged one is not written again. */
  private storedView = "";
  private closed = false;
  /** Bytes of the last increment stored, for tests and the benchmark. */
  lastIncrement = 0;

  constructor(
    readonly store: Store,
    readonly membership: Membership,
    readonly device: string,
    public doc: Doc,
    public state: SyncState,
    private readonly docs: DocStore,
    private readonly compactAfterMs = COMPACT_AFTER_MS,
  ) {}

  /** The vault in `store`, or `null` when this phone has not joined one. */
  static async open(store: Store, opts: StoreOptions = {}): Promise<Vault | null> {
    const [membership, device, state, view] = await Promise.all([
      store.get<Membership>("membership"),
      store.get<string>("device"),
      store.get<SyncState>("sync"),
      store.get<StoredView>("view"),
    ]);
    if (!membership || !device || !state) return null;
    const opened = await DocStore.open(store, device, opts.policy);
    if (!opened) return null;
    const v = new Vault(store, membership, device, opened.doc, upgradeState(state), opened.docs, opts.compactAfterMs);
    v.storedView = view ? JSON.stringify(view) : "";
    return v;
  }

  /** Stores a freshly joined vault: membership last, so a half-written join is no vault. */
  static async create(store: Store, membership: Membership, device: string, doc: Doc, state: SyncState, opts: StoreOptions = {}): Promise<Vault> {
    const docs = await DocStore.create(store, doc, { device, sync: state }, opts.policy);
    await store.put({ membership });
    return new Vault(store, membership, device, doc, state, docs, opts.compactAfterMs);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(): void {
    for (const fn of this.listeners) fn();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(() => {
      if (this.closed) throw new Error("This vault was closed (left); nothing more is stored.");
      return fn();
    });
    this.writes = run.catch(() => {});
    return run;
  }

  /**
   * Saves the changes to the document not yet stored, as one increment, and
   * the sync state, in one transaction. Document and state are read when
   * the write runs, at one moment, so they always agree.
   */
  async save(): Promise<void> {
    this.lastIncrement = await this.serial(() => this.docs.save(this.doc, { sync: structuredClone(this.state) }));
    this.scheduleCompaction();
  }

  /**
   * Stores `t` as the first screen's view (see {@link StoredView}), unless
   * the stored one is the same; without `t`, Today of the document now.
   */
  async storeView(t?: Today): Promise<void> {
    await this.serial(async () => {
      const view: StoredView = { today: shownToday(t ?? today(this.doc, localDate(new Date()))) };
      const json = JSON.stringify(view);
      if (json === this.storedView) return;
      await this.store.put({ view });
      this.storedView = json;
    });
  }

  /** The same as {@link save}: the state never goes to the store ahead of the document it describes. */
  async saveState(): Promise<void> {
    await this.save();
  }

  private scheduleCompaction(): void {
    if (this.compaction !== null || this.closed || !this.docs.due()) return;
    this.compaction = setTimeout(() => {
      this.compaction = null;
      this.compact().catch(() => {
        /* the increments stay; the next write tries again */
      });
    }, this.compactAfterMs);
  }

  /** Folds the increments into a new base now, if they are due (see {@link DocStore.due}). */
  async compact(force = false): Promise<void> {
    await this.serial(async () => {
      if (force || this.docs.due()) await this.docs.compact(this.doc, { sync: structuredClone(this.state) });
    });
  }

  /** What the store holds: the base's bytes, and the increments after it. */
  storedSizes(): { base: number; increments: number; incrementBytes: number } {
    return this.docs.sizes();
  }

  /** Waits for the writes under way, then refuses any more (before the store is deleted). */
  async close(): Promise<void> {
    if (this.compaction !== null) clearTimeout(this.compaction);
    this.compaction = null;
    await this.writes;
    this.closed = true;
  }

  /**
   * A local edit: `fn` returns the new document (or the same one when
   * nothing changed). Saved before this resolves, then handed to sync.
   */
  async edit(fn: (doc: Doc) => Doc): Promise<boolean> {
    const before = this.doc;
    const after = fn(before);
    if (after === before) return false;
    this.doc = after;
    this.state.pending += 1;
    await this.save();
    this.notify();
    this.onLocalChange();
    return true;
  }
}

export { sameHeads } from "./docstore";
