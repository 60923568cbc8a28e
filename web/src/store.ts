/**
 * The phone's local storage: one IndexedDB database per origin with one
 * key-value object store. Everything a step changes (the document and the
 * sync state, say) is written in one transaction, so after a crash or a
 * closed tab the store holds the state before or after that step, never a
 * mix: a cursor never runs ahead of the document it describes.
 */

export interface Store {
  get<T>(key: string): Promise<T | undefined>;
  /**
   * Writes every entry in one transaction; resolves once it is committed.
   * With `clearPrefix`, every key starting with it is deleted first, in the
   * same transaction.
   */
  put(entries: Record<string, unknown>, clearPrefix?: string): Promise<void>;
  /** The entries whose keys start with `prefix`, in key order, read in one transaction. */
  range<T>(prefix: string): Promise<[string, T][]>;
  /** Forgets everything (leaving a vault). */
  clear(): Promise<void>;
}

const STORE = "kv";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted (is the storage full?)"));
  });
}

/** Every string key that starts with `prefix` (keys are compared by UTF-16 code units). */
function prefixRange(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound(prefix, prefix + "\uffff", false, true);
}

export class StorageError extends Error {}

/** Opens (creating if needed) the app's database. */
export async function openStore(name = "interlog", idb: IDBFactory = indexedDB): Promise<Store> {
  const open = idb.open(name, 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  let db: IDBDatabase;
  try {
    db = await request(open);
  } catch (e) {
    throw new StorageError(`This browser refused local storage (${String(e)}); private browsing may block it.`);
  }
  return {
    async get<T>(key: string): Promise<T | undefined> {
      const tx = db.transaction(STORE, "readonly");
      return (await request(tx.objectStore(STORE).get(key))) as T | undefined;
    },
    async put(entries: Record<string, unknown>, clearPrefix?: string): Promise<void> {
      const tx = db.transaction(STORE, "readwrite");
      const s = tx.objectStore(STORE);
      // Requests in a transaction run in order: the delete before the puts.
      if (clearPrefix !== undefined) s.delete(prefixRange(clearPrefix));
      for (const [k, v] of Object.entries(entries)) s.put(v, k);
      await done(tx);
    },
    async range<T>(prefix: string): Promise<[string, T][]> {
      const tx = db.transaction(STORE, "readonly");
      const s = tx.objectStore(STORE);
      const [keys, values] = await Promise.all([request(s.getAllKeys(prefixRange(prefix))), request(s.getAll(prefixRange(prefix)))]);
      return keys.map((k, i) => [String(k), values[i] as T]);
    },
    async clear(): Promise<void> {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).clear();
      await done(tx);
    },
  };
}
