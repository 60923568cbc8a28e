/**
 * The benchmark's floor (bench/phone.mjs): what Automerge alone costs in the
 * same browser, with the same throttling, on the same bytes as the app's
 * store. Built into a temporary directory by the benchmark; never shipped.
 */
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import * as A from "@automerge/automerge/slim";

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function idbPut(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("floor", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("kv", "readwrite");
      tx.objectStore("kv").put(bytes, `inc-${Math.random()}`);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    };
  });
}

let bytes: Uint8Array | null = null;
let doc: A.Doc<any> | null = null;

const floor = {
  /** Compiles Automerge's wasm; returns ms. */
  async init(): Promise<number> {
    const t = performance.now();
    await A.initializeWasm(wasmUrl);
    return performance.now() - t;
  },
  setBytes(b64: string): number {
    bytes = fromBase64(b64);
    return bytes.length;
  },
  /** `A.load` of the stored bytes; returns ms. */
  load(): number {
    const t = performance.now();
    doc = A.load(bytes!);
    return performance.now() - t;
  },
  /** One change like a logged interview, `saveSince`, and one IndexedDB put of it; returns ms and the increment's bytes. */
  async edit(i: number): Promise<{ ms: number; bytes: number }> {
    const t = performance.now();
    const before = A.getHeads(doc!);
    const now = new Date().toISOString();
    doc = A.change(doc!, (d: any) => {
      d.interviews[`FLOOR${i}`.padEnd(26, "0")] = {
        company: new A.ImmutableString("01FLOORCOMPANY0000000000000"),
        start: new A.ImmutableString(now),
        status: new A.ImmutableString("done"),
        kind: new A.ImmutableString("technical"),
        rating: 4,
        notes: new A.ImmutableString("logged from the floor"),
        created_at: new A.ImmutableString(now),
        interviewers: {},
        questions: {},
        resume_items: {},
      };
    });
    const inc = A.saveSince(doc, before);
    await idbPut(inc);
    return { ms: performance.now() - t, bytes: inc.length };
  },
  /** Reads what a list of interviews shows (company, start, rating) for every interview; returns ms. */
  list(): number {
    const t = performance.now();
    const m = doc!.interviews;
    const rows = Object.keys(m).map((k) => [String(m[k].company ?? ""), String(m[k].start ?? ""), m[k].rating]);
    rows.sort((a, b) => String(b[1]).localeCompare(String(a[1])));
    return performance.now() - t;
  },
};

(window as any).floor = floor;
document.title = "floor ready";
