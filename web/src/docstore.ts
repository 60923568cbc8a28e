/**
 * The document in IndexedDB as a base and increments, so that an edit
 * writes only what it changed: on a five-year journal the whole document
 * is megabytes, and an edit a few hundred bytes.
 *
 * - `doc` holds a whole `save()`: the base.
 * - `doc/000001`, `doc/000002` … each hold the changes since the previous
 *   write (`saveSince` the heads stored so far): an edit of this phone, or
 *   the records a sync applied.
 *
 * The document is the base followed by every increment in key order, which
 * Automerge loads as one buffer. Compaction writes a new base and deletes
 * every increment, once the increments exceed a share of the base (or are
 * many); it runs off the edit's path, after it.
 *
 * Crash argument. Every write is one IndexedDB transaction, which commits
 * whole or not at all, and carries the entries its caller passes with it
 * (the sync state): a reload finds the document and the cursors of the same
 * moment, never cursors ahead of the changes they count. An increment holds
 * everything since the heads of the last *committed* write: the heads move
 * only after the commit, so after a failed write (storage full, a closed
 * tab) the next one stores those changes again. Compaction deletes the
 * increments and puts the new base in the same transaction, deletes first:
 * a reload finds either the old base with its increments or the new base
 * alone. Nothing reads an increment without the base it follows, and
 * loading a change twice is harmless (Automerge ignores a change it has).
 */
import * as A from "@automerge/automerge/slim";

import type { Doc } from "./doc";
import type { Store } from "./store";

export const BASE_KEY = "doc";
export const INCREMENT_PREFIX = "doc/";

/** When to compact: increments over `share` of the base and over `minBytes`, or more than `maxIncrements` of them. */
export interface CompactionPolicy {
  share: number;
  minBytes: number;
  maxIncrements: number;
}

export const DEFAULT_POLICY: CompactionPolicy = { share: 0.25, minBytes: 64 * 1024, maxIncrements: 500 };

function incrementKey(n: number): string {
  return INCREMENT_PREFIX + String(n).padStart(6, "0");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class DocStore {
  private constructor(
    private readonly store: Store,
    readonly policy: CompactionPolicy,
    /** The heads of everything committed. */
    private heads: string[],
    private baseBytes: number,
    private increments: number,
    private incrementBytes: number,
    private next: number,
  ) {}

  /** The document stored in `store`, or `null` when there is none. */
  static async open(store: Store, actor: string, policy = DEFAULT_POLICY): Promise<{ doc: Doc; docs: DocStore } | null> {
    const [base, entries] = await Promise.all([store.get<Uint8Array>(BASE_KEY), store.range<Uint8Array>(INCREMENT_PREFIX)]);
    if (!base) return null;
    const increments = entries.map(([, v]) => v);
    let doc: Doc;
    try {
      // Unchecked: these bytes are this phone's own saves of changes it
      // verified on arrival; checking the hash chain again costs a third of
      // the load on a big journal.
      doc = A.load(concat([base, ...increments]), { actor, unchecked: true });
    } catch {
      // One increment that does not load must not cost the others.
      doc = A.load(base, { actor });
      for (const inc of increments) {
        try {
          doc = A.loadIncremental(doc, inc);
        } catch {
          /* skipped: the changes it held come back from the relay only if the cursors allow */
        }
      }
    }
    const bytes = increments.reduce((n, b) => n + b.length, 0);
    // Keys go on after the last one.
    const last = entries.length ? Number(entries[entries.length - 1][0].slice(INCREMENT_PREFIX.length)) || entries.length : 0;
    const docs = new DocStore(store, policy, A.getHeads(doc), base.length, increments.length, bytes, last + 1);
    return { doc, docs };
  }

  /** Stores `doc` as a new base, with `entries`, replacing whatever was stored. */
  static async create(store: Store, doc: Doc, entries: Record<string, unknown>, policy = DEFAULT_POLICY): Promise<DocStore> {
    const base = A.save(doc);
    await store.put({ ...entries, [BASE_KEY]: base }, INCREMENT_PREFIX);
    return new DocStore(store, policy, A.getHeads(doc), base.length, 0, 0, 1);
  }

  /**
   * Stores what `doc` has beyond the committed heads as the next increment,
   * with `entries`, in one transaction (just `entries` when nothing is new).
   * Returns the bytes of the increment.
   */
  async save(doc: Doc, entries: Record<string, unknown>): Promise<number> {
    const heads = A.getHeads(doc);
    if (sameHeads(heads, this.heads)) {
      await this.store.put(entries);
      return 0;
    }
    const inc = A.saveSince(doc, this.heads);
    const key = incrementKey(this.next);
    await this.store.put({ ...entries, [key]: inc });
    this.heads = heads;
    this.next += 1;
    this.increments += 1;
    this.incrementBytes += inc.length;
    return inc.length;
  }

  /** Whether the increments are due to be folded into a new base. */
  due(): boolean {
    if (this.increments === 0) return false;
    if (this.increments > this.policy.maxIncrements) return true;
    return this.incrementBytes > this.policy.minBytes && this.incrementBytes > this.baseBytes * this.policy.share;
  }

  /** Writes `doc` as the new base and deletes every increment, with `entries`, in one transaction. */
  async compact(doc: Doc, entries: Record<string, unknown>): Promise<void> {
    const base = A.save(doc);
    await this.store.put({ ...entries, [BASE_KEY]: base }, INCREMENT_PREFIX);
    this.heads = A.getHeads(doc);
    this.baseBytes = base.length;
    this.increments = 0;
    this.incrementBytes = 0;
    this.next = 1;
  }

  /** Sizes, for tests and the benchmark. */
  sizes(): { base: number; increments: number; incrementBytes: number } {
    return { base: this.baseBytes, increments: this.increments, incrementBytes: this.incrementBytes };
  }
}

export function sameHeads(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((h, i) => h === y[i]);
}
