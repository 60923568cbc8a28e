/**
 * Search across every record, as `interlog search` (client-core/src/report.rs,
 * `search`): every string of every live record, set members included, and
 * not `created_at`; case ignored; a snippet of 60 characters around the
 * match.
 */
import { type Doc, type Json, type Kind, KINDS, live, title } from "./doc";

export interface Hit {
  kind: Kind;
  id: string;
  title: string;
  /** The field, or its path inside a nested map (`channels.email`). */
  field: string;
  snippet: string;
}

function walk(v: Json, path: string, f: (path: string, s: string) => void): void {
  if (typeof v === "string") f(path, v);
  else if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const k of Object.keys(v).sort()) {
      const p = path ? `${path}.${k}` : k;
      // A set member: the key is the string.
      if (v[k] === true) f(p, k);
      else walk(v[k], p, f);
    }
  }
}

const WIDTH = 60;

/** The text around the first match, at most 60 characters, with … where cut (report.rs, `snippet`). */
export function snippet(s: string, needle: string): string {
  const chars = [...s];
  if (chars.length <= WIDTH) return s.replace(/\n/g, " ");
  const lower = s.toLowerCase();
  const b = lower.indexOf(needle);
  const at = b < 0 ? 0 : [...lower.slice(0, b)].length;
  const start = Math.max(0, Math.min(at - Math.floor(WIDTH / 3), chars.length - WIDTH));
  const end = Math.min(start + WIDTH, chars.length);
  let out = chars.slice(start, end).join("");
  if (start > 0) out = `…${out}`;
  if (end < chars.length) out += "…";
  return out.replace(/\n/g, " ");
}

export function search(doc: Doc, text: string): Hit[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  const hits: Hit[] = [];
  for (const kind of KINDS) {
    for (const r of live(doc, kind)) {
      walk(r.fields, "", (path, s) => {
        if (path !== "created_at" && s.toLowerCase().includes(needle)) hits.push({ kind, id: r.id, title: title(doc, r), field: path, snippet: snippet(s, needle) });
      });
    }
  }
  return hits;
}
