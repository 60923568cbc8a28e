/**
 * The vault document as the Rust side lays it out (docs/data-model.md): kind
 * maps keyed by ULID, strings as Automerge scalar strings (never Text),
 * integers as Automerge ints, every container field created in the same
 * change as its record, soft deletes, and writes that touch only the keys
 * they change and skip unchanged values. Reads are lenient: whatever a newer
 * version wrote is shown as it is and never rewritten.
 */
import * as A from "@automerge/automerge/slim";

import { parseAmount, parseCurrency } from "./money";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Fields = { [k: string]: Json };
// The document is whatever the vault holds; the layout is checked by reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = A.Doc<any>;

export const KINDS = ["company", "contact", "opportunity", "interview", "offer", "followup", "question"] as const;
export type Kind = (typeof KINDS)[number];

export const ROOT_KEY: Record<Kind, string> = {
  company: "companies",
  contact: "contacts",
  opportunity: "opportunities",
  interview: "interviews",
  offer: "offers",
  followup: "followups",
  question: "questions",
};

/** Container fields per kind (schema.rs: sets, entries, comp, ratings, maps). */
export const CONTAINERS: Record<Kind, string[]> = {
  company: ["aliases"],
  contact: ["employment", "channels"],
  opportunity: ["purpose", "stages", "close", "posted_comp", "asked_comp"],
  interview: ["interviewers", "questions", "resume_items"],
  offer: ["comp", "rounds"],
  followup: [],
  question: ["tags"],
};

export const TITLE_FIELD: Record<Kind, string> = {
  company: "name",
  contact: "name",
  opportunity: "role",
  interview: "kind",
  offer: "level",
  followup: "note",
  question: "wording",
};

export const INTERVIEW_KINDS = [
  "recruiter_screen",
  "hiring_manager",
  "technical",
  "system_design",
  "behavioral",
  "panel",
  "take_home",
  "informational",
  "offer_call",
  "other",
];
export const INTERVIEW_FORMATS = ["video", "phone", "onsite", "async"];
export const INTERVIEW_STATUSES = ["scheduled", "done", "cancelled", "no_show"];
export const CONTACT_KINDS = ["recruiter", "hiring_manager", "interviewer", "referrer", "peer", "other"];
export const STAGES = ["lead", "applied", "screen", "interviewing", "final", "offer", "accepted", "rejected", "withdrawn", "declined", "ghosted"];
export const SOURCES = ["inbound_recruiter", "agency", "referral", "applied", "network"];

export interface Rec {
  kind: Kind;
  id: string;
  fields: Fields;
}

/** A stored value as plain JSON: scalar and Text strings alike become strings. */
export function plain(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof A.ImmutableString) return v.val;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") {
    const out: Fields = {};
    for (const k of Object.keys(v as object)) out[k] = plain((v as Record<string, unknown>)[k]);
    return out;
  }
  return null;
}

export function str(f: Fields, key: string): string | undefined {
  const v = f[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}
export function int(f: Fields, key: string): number | undefined {
  const v = f[key];
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}
/** Members of a set field: keys whose value is `true`. */
export function members(f: Fields, key: string): string[] {
  const v = f[key];
  if (!v || typeof v !== "object" || Array.isArray(v)) return [];
  return Object.keys(v).filter((k) => v[k] === true);
}

export function vaultId(doc: Doc): string | undefined {
  const v = plain(doc?.meta?.vault_id);
  return typeof v === "string" ? v : undefined;
}

/**
 * Where the vault's devices meet: the relay URL a move recorded
 * (`meta.relay`, set by `interlog sync move` or the phone's own move), and
 * its pin (`meta.relay_pin`, `sha256:…`) when it is trusted by pin. `null`
 * before any move.
 */
export function relayOf(doc: Doc): { url: string; pin: string | null } | null {
  const url = plain(doc?.meta?.relay);
  if (typeof url !== "string" || !url) return null;
  const pin = plain(doc?.meta?.relay_pin);
  return { url, pin: typeof pin === "string" ? pin : null };
}

/** Every record of a kind, deleted ones included, oldest first. */
export function records(doc: Doc, kind: Kind): Rec[] {
  const map = doc?.[ROOT_KEY[kind]];
  if (!map || typeof map !== "object") return [];
  return Object.keys(map)
    .sort()
    .flatMap((id) => {
      const fields = plain(map[id]);
      return fields && typeof fields === "object" && !Array.isArray(fields) ? [{ kind, id, fields }] : [];
    });
}

export function live(doc: Doc, kind: Kind): Rec[] {
  return records(doc, kind).filter((r) => !str(r.fields, "deleted_at"));
}

/**
 * Live records of a kind with only the named fields read: on a five-year
 * journal, converting every record whole (questions, stages and all) is
 * what makes a list slow. Key order, like {@link records}.
 */
export function liveFields(doc: Doc, kind: Kind, keys: string[]): Rec[] {
  const map = doc?.[ROOT_KEY[kind]];
  if (!map || typeof map !== "object") return [];
  const out: Rec[] = [];
  for (const id of Object.keys(map).sort()) {
    const o = map[id];
    if (!o || typeof o !== "object" || Array.isArray(o)) continue;
    const deleted = plain(o.deleted_at);
    if (typeof deleted === "string" && deleted !== "") continue;
    const fields: Fields = {};
    for (const k of keys) if (o[k] !== undefined) fields[k] = plain(o[k]);
    out.push({ kind, id, fields });
  }
  return out;
}

/** Every company's name by id, for lists that name the company of many records. */
export function companyNames(doc: Doc): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of records(doc, "company")) names.set(c.id, str(c.fields, "name") ?? c.id);
  return names;
}

export function record(doc: Doc, kind: Kind, id: string): Rec | undefined {
  const raw = doc?.[ROOT_KEY[kind]]?.[id];
  const fields = raw === undefined ? null : plain(raw);
  return fields && typeof fields === "object" && !Array.isArray(fields) ? { kind, id, fields } : undefined;
}

/** What a record is called in lists. */
export function title(doc: Doc, r: Rec): string {
  if (r.kind === "interview") {
    const company = companyName(doc, str(r.fields, "company"));
    const kind = str(r.fields, "kind");
    return [company, kind && human(kind)].filter(Boolean).join(" · ") || untitled(r);
  }
  return str(r.fields, TITLE_FIELD[r.kind]) ?? untitled(r);
}

/** A record without its title field, as the CLI names it: "(offer 01JD3Q8Z6QK4)". */
function untitled(r: Rec): string {
  return `(${r.kind} ${r.id.slice(0, 12)})`;
}

export function companyName(doc: Doc, id: string | undefined): string | undefined {
  if (!id) return undefined;
  const c = record(doc, "company", id);
  return c ? (str(c.fields, "name") ?? id) : id;
}

/** The title of whatever record an id points to, or the id. */
export function refTitle(doc: Doc, id: string): string {
  for (const k of KINDS) {
    const r = record(doc, k, id);
    if (r) return title(doc, r);
  }
  return id;
}

export function human(value: string): string {
  const s = value.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ----- ids and times --------------------------------------------------------

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 10 characters of millisecond time, 16 random, Crockford base32. */
export function newId(now = Date.now(), rand: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  let t = now;
  let time = "";
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const r = rand(16);
  let tail = "";
  for (let i = 0; i < 16; i++) tail += CROCKFORD[r[i] % 32];
  return time + tail;
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");

/** The local date, `YYYY-MM-DD`. */
export function localDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** An instant with its zone, as the Rust side writes it (RFC 9557). */
export function zoned(d: Date, zone: string | undefined = systemZone()): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const base = `${localDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return zone ? `${base}[${zone}]` : base;
}

export function systemZone(): string | undefined {
  try {
    const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return z && /^[A-Za-z0-9_+\-/]+$/.test(z) ? z : undefined;
  } catch {
    return undefined;
  }
}

/** The date part of a stored date or instant. */
export function storedDate(v: string | undefined): string | undefined {
  return v && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : undefined;
}

function dayNumber(date: string): number {
  return Math.floor(Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10)) / 86400000);
}
function fromDayNumber(n: number): string {
  return new Date(n * 86400000).toISOString().slice(0, 10);
}

// ----- writes ---------------------------------------------------------------

type Scalar = string | number | boolean | null;

function scalar(v: Scalar): unknown {
  return typeof v === "string" ? new A.ImmutableString(v) : v;
}

/** A new record with its containers, inside a change. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function createIn(d: any, kind: Kind, fields: Record<string, Scalar>, now: Date, given?: string): string {
  const id = given ?? newId(now.getTime());
  const obj: Record<string, unknown> = {};
  for (const c of CONTAINERS[kind]) obj[c] = {};
  obj.created_at = scalar(zoned(now));
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== "") obj[k] = scalar(v);
  d[ROOT_KEY[kind]][id] = obj;
  return id;
}

export interface LogInput {
  company: string;
  role?: string;
  kind?: string;
  rating?: number;
  note?: string;
  /** When it started; now when absent. Later than now: scheduled. */
  start?: Date;
  /** Its length in minutes. */
  durationMin?: number;
  /** Who you met, by name: a contact of that name, or a new interviewer working at the company. */
  with?: string[];
}

export class InputError extends Error {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function commitOptions(message: string, now: Date): A.ChangeOptions<any> {
  return { message, time: Math.floor(now.getTime() / 1000) };
}

/** Records where the vault's devices meet from now on (see {@link relayOf}). */
export function setRelay(doc: Doc, url: string, pin: string | null, now = new Date()): Doc {
  const cur = relayOf(doc);
  if (cur?.url === url && cur.pin === pin) return doc;
  return A.change(doc, commitOptions("move relay", now), (d: any) => {
    d.meta.relay = scalar(url);
    if (pin) d.meta.relay_pin = scalar(pin);
    else if (d.meta.relay_pin !== undefined) delete d.meta.relay_pin;
  });
}

/** Finds a live company by name or alias, ignoring case. */
export function companyByName(doc: Doc, name: string): Rec | undefined {
  const want = name.trim().toLowerCase();
  return liveFields(doc, "company", ["name", "aliases"]).find(
    (c) => str(c.fields, "name")?.toLowerCase() === want || members(c.fields, "aliases").some((a) => a.toLowerCase() === want),
  );
}

/** Company names for suggestions, most recently used first. */
export function companySuggestions(doc: Doc): string[] {
  const lastUsed = new Map<string, string>();
  for (const i of liveFields(doc, "interview", ["company"])) {
    const c = str(i.fields, "company");
    if (c && (lastUsed.get(c) ?? "") < i.id) lastUsed.set(c, i.id);
  }
  return liveFields(doc, "company", ["name"])
    .sort((a, b) => (lastUsed.get(b.id) ?? b.id).localeCompare(lastUsed.get(a.id) ?? a.id))
    .map((c) => str(c.fields, "name"))
    .filter((n): n is string => !!n);
}

const CLOSED = new Set(STAGES.slice(6));

/** The stage of the latest event (by instant; ties go to the later key). */
export function currentStage(f: Fields): string | undefined {
  const stages = f.stages;
  if (!stages || typeof stages !== "object" || Array.isArray(stages)) return undefined;
  let best: { at: number; key: string; stage: string } | undefined;
  for (const [key, e] of Object.entries(stages)) {
    if (!e || typeof e !== "object" || Array.isArray(e)) continue;
    const stage = typeof e.stage === "string" ? e.stage : undefined;
    if (!stage) continue;
    const at = typeof e.at === "string" ? Date.parse(e.at.replace(/\[.*\]$/, "")) : NaN;
    const t = Number.isNaN(at) ? -Infinity : at;
    if (!best || t > best.at || (t === best.at && key > best.key)) best = { at: t, key, stage };
  }
  return best?.stage;
}

/**
 * Logs an interview as `interlog log` does, in one change: the company by
 * name (or a new one), the open opportunity there (matching the role when
 * given, or a new one starting at `screen` or `interviewing`), then the
 * interview at `start` (now by default): done, or scheduled when it is
 * later than now.
 */
export function logInterview(doc: Doc, input: LogInput, now = new Date()): { doc: Doc; id: string } {
  const name = input.company.trim();
  if (!name) throw new InputError("Company is empty: type the company's name.");
  if (input.kind && !INTERVIEW_KINDS.includes(input.kind)) throw new InputError(`Unknown interview kind ${input.kind}.`);
  if (input.rating !== undefined && !(Number.isInteger(input.rating) && input.rating >= 1 && input.rating <= 5)) {
    throw new InputError("Rating must be 1 to 5.");
  }
  if (input.durationMin !== undefined && !(Number.isInteger(input.durationMin) && input.durationMin >= 1 && input.durationMin <= 1440)) {
    throw new InputError(`duration_min must be a whole number from 1 to 1440, not '${input.durationMin}'`);
  }
  const start = input.start ?? now;
  if (Number.isNaN(start.getTime())) throw new InputError("The start time is not a time; pick it again.");
  const role = input.role?.trim() || undefined;
  let id = "";
  const next = A.change(doc, commitOptions("log interview", now), (d: any) => {
    let company = companyByName(doc, name)?.id;
    if (!company) company = createIn(d, "company", { name }, now);
    const open = liveFields(doc, "opportunity", ["company", "role"])
      .filter((o) => str(o.fields, "company") === company)
      .map((o) => record(doc, "opportunity", o.id)!)
      .filter((o) => !CLOSED.has(currentStage(o.fields) ?? ""))
      .filter((o) => !role || str(o.fields, "role")?.toLowerCase() === role.toLowerCase())
      .sort((a, b) => b.id.localeCompare(a.id));
    let opp = open[0]?.id;
    if (!opp) {
      opp = createIn(d, "opportunity", { company, role: role ?? null }, now);
      const stage = input.kind === "recruiter_screen" || input.kind === "informational" ? "screen" : "interviewing";
      d.opportunities[opp].stages[newId(now.getTime())] = { stage: scalar(stage), at: scalar(zoned(start)) };
    }
    id = createIn(
      d,
      "interview",
      {
        company,
        opportunity: opp,
        start: zoned(start),
        status: start.getTime() > now.getTime() ? "scheduled" : "done",
        kind: input.kind ?? null,
        rating: input.rating ?? null,
        notes: input.note?.trim() ? input.note : null,
        duration_min: input.durationMin ?? null,
      },
      now,
    );
    // Who you met, as `interlog log --with`.
    const contacts = liveFields(doc, "contact", ["name"]);
    for (const who of input.with ?? []) {
      const name = who.trim();
      if (!name) continue;
      let cid = contacts.find((c) => str(c.fields, "name")?.toLowerCase() === name.toLowerCase())?.id;
      if (!cid) {
        cid = createIn(d, "contact", { name, kind: "interviewer" }, now);
        d.contacts[cid].employment[newId(now.getTime())] = { company: scalar(company), from: scalar(localDate(now)) };
        contacts.push({ kind: "contact", id: cid, fields: { name } });
      }
      d.interviews[id].interviewers[cid] = true;
    }
  });
  return { doc: next, id };
}

/**
 * Writes fields of one record: a value sets the field, `null` removes it.
 * Unchanged values are skipped, unless the field is in conflict (writing
 * settles it). Returns the same document when nothing changed.
 */
export function updateRecord(doc: Doc, kind: Kind, id: string, patch: Record<string, Scalar>, now = new Date()): Doc {
  const obj = doc?.[ROOT_KEY[kind]]?.[id];
  if (!obj) throw new InputError(`No ${kind} ${id}.`);
  if (str(plain(obj) as Fields, "deleted_at")) throw new InputError(`This ${kind} is deleted; restore it first.`);
  const writes = Object.entries(patch).filter(([k, v]) => {
    if (Object.keys(A.getConflicts(obj, k) ?? {}).length > 1) return true;
    const cur = obj[k] === undefined ? null : plain(obj[k]);
    if (CONTAINERS[kind].includes(k)) return false;
    return (v === "" ? null : v) !== cur;
  });
  if (writes.length === 0) return doc;
  return A.change(doc, commitOptions(`edit ${kind} ${id}`, now), (d: any) => {
    const o = d[ROOT_KEY[kind]][id];
    for (const [k, v] of writes) {
      if (v === null || v === "") delete o[k];
      else o[k] = scalar(v);
    }
  });
}

// ----- retro ----------------------------------------------------------------

/** The retro of an interview, as `interlog retro` edits it. */
export interface Retro {
  rating: number | null;
  went_well: string;
  improve: string;
  looking_for: string;
  /** Questions asked, by wording, with your 1-5 rating or null. */
  questions: [string, number | null][];
  /** Resume items they probed. */
  resumeItems: string[];
}

export const RETRO_PROSE = ["went_well", "improve", "looking_for"] as const;

const isRating = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 5;

/** The retro an interview holds now. */
export function retroOf(doc: Doc, id: string): Retro {
  const r = record(doc, "interview", id);
  if (!r) throw new InputError(`No interview ${id}.`);
  const f = r.fields;
  const q = f.questions && typeof f.questions === "object" && !Array.isArray(f.questions) ? f.questions : {};
  const questions = Object.keys(q)
    .map((qid): [string, number | null] => {
      const wording = str(record(doc, "question", qid)?.fields ?? {}, "wording") ?? qid;
      return [wording, isRating(q[qid]) ? (q[qid] as number) : null];
    })
    .sort((a, b) => a[0].localeCompare(b[0]));
  return {
    rating: int(f, "rating") ?? null,
    went_well: str(f, "went_well") ?? "",
    improve: str(f, "improve") ?? "",
    looking_for: str(f, "looking_for") ?? "",
    questions,
    resumeItems: members(f, "resume_items").sort(),
  };
}

/** Finds a live question by its wording, ignoring case and surrounding spaces. */
export function questionByWording(doc: Doc, wording: string): Rec | undefined {
  const want = wording.trim().toLowerCase();
  return liveFields(doc, "question", ["wording"]).find((q) => str(q.fields, "wording")?.trim().toLowerCase() === want);
}

/**
 * Writes what changed between the retro the screen started from (`before`)
 * and the one saved (`after`), and nothing else, in one change, as
 * `interlog retro` does: a field edited on another device meanwhile keeps
 * that edit unless this retro changed it too. A question is found by its
 * wording (or added to the bank); one left out is taken off the interview.
 * Returns the same document when nothing changed.
 */
export function writeRetro(doc: Doc, id: string, before: Retro, after: Retro, now = new Date()): Doc {
  const obj = doc?.interviews?.[id];
  if (!obj) throw new InputError(`No interview ${id}.`);
  const deleted = plain(obj.deleted_at);
  if (typeof deleted === "string" && deleted !== "") throw new InputError("This interview is deleted; restore it first.");
  if (after.rating !== null && !isRating(after.rating)) throw new InputError("Rating must be 1 to 5.");
  const key = (w: string) => w.trim().toLowerCase();
  const asked = after.questions.filter(([w]) => w.trim() !== "");
  const seen = new Set<string>();
  for (const [w, r] of asked) {
    if (r !== null && !isRating(r)) throw new InputError(`The rating of "${w.trim()}" must be 1 to 5.`);
    if (seen.has(key(w))) throw new InputError(`"${w.trim()}" is listed twice; keep one.`);
    seen.add(key(w));
  }
  const items = [...new Set(after.resumeItems.map((i) => i.trim()).filter(Boolean))];
  const oldQ = new Map(before.questions.map(([w, r]) => [key(w), r]));
  const prose = RETRO_PROSE.filter((f) => after[f].trim() !== before[f].trim());
  const rating = after.rating !== before.rating;
  const gone = [...oldQ.keys()].filter((w) => !seen.has(w));
  const changedQ = asked.filter(([w, r]) => !oldQ.has(key(w)) || oldQ.get(key(w)) !== r);
  const removedItems = before.resumeItems.filter((i) => !items.includes(i));
  const addedItems = items.filter((i) => !before.resumeItems.includes(i));
  if (!prose.length && !rating && !gone.length && !changedQ.length && !removedItems.length && !addedItems.length) return doc;
  return A.change(doc, commitOptions(`retro ${id}`, now), (d: any) => {
    const o = d.interviews[id];
    for (const f of prose) {
      if (after[f].trim() === "") delete o[f];
      else o[f] = scalar(after[f]);
    }
    if (rating) {
      if (after.rating === null) delete o.rating;
      else o.rating = after.rating;
    }
    if (!o.questions) o.questions = {};
    for (const w of gone) {
      const q = questionByWording(doc, w);
      if (q && o.questions[q.id] !== undefined) delete o.questions[q.id];
    }
    for (const [w, r] of changedQ) {
      const qid = questionByWording(doc, w)?.id ?? createIn(d, "question", { wording: w.trim() }, now);
      o.questions[qid] = r;
    }
    if (!o.resume_items) o.resume_items = {};
    for (const i of removedItems) if (o.resume_items[i] !== undefined) delete o.resume_items[i];
    for (const i of addedItems) o.resume_items[i] = true;
  });
}

// ----- any record: create, edit, delete, restore -----------------------------

/** A field value to write: a scalar, a set (member → `true`), or `null` to remove it. */
export type FieldValue = string | number | boolean | null | { [member: string]: true };

function isSet(v: FieldValue): v is { [member: string]: true } {
  return v !== null && typeof v === "object";
}

/** The first 12 characters of an id, as the CLI shows ids. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/**
 * Creates a record as the CLI's `add` commands do, in one change, with its
 * containers: a company or a question whose name is taken is refused; a
 * follow-up is due in 7 days unless said, of kind `follow_up`, not done; an
 * offer takes its company from its opportunity, arrives today unless said,
 * is `pending`, and moves the opportunity to the `offer` stage; an
 * opportunity needs its company and starts at `lead`.
 */
export function createRecord(doc: Doc, kind: Kind, fields: Record<string, FieldValue>, now = new Date(), givenId?: string): { doc: Doc; id: string } {
  const f: Record<string, FieldValue> = { ...fields };
  const text = (k: string) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
  const title = TITLE_FIELD[kind];
  let stageFor: string | undefined;
  if (kind === "company") {
    if (!text("name")) throw new InputError("The company name is empty.");
    const existing = companyByName(doc, text("name"));
    if (existing) throw new InputError(`A company named '${str(existing.fields, "name") ?? text("name")}' already exists (${shortId(existing.id)}); edit it on its screen.`);
  } else if (kind === "question") {
    if (!text("wording")) throw new InputError("The question is empty: write its wording.");
    const existing = questionByWording(doc, text("wording"));
    if (existing) throw new InputError(`That question is already in the bank (${shortId(existing.id)}); edit it on its screen.`);
  } else if (kind === "followup") {
    if (!text("note")) throw new InputError("The follow-up is empty: say what to do.");
    f.due ??= fromDayNumber(dayNumber(localDate(now)) + 7);
    f.kind ??= "follow_up";
    f.done = false;
  } else if (kind === "offer") {
    const opp = typeof f.opportunity === "string" ? record(doc, "opportunity", f.opportunity) : undefined;
    if (!opp || str(opp.fields, "deleted_at")) throw new InputError("Pick the opportunity this offer is for.");
    const company = str(opp.fields, "company");
    if (company) f.company = company;
    f.received ??= localDate(now);
    f.decision = "pending";
    if (currentStage(opp.fields) !== "offer") stageFor = opp.id;
  } else if (kind === "contact") {
    if (!text("name")) throw new InputError("The name is empty.");
  } else if (kind === "opportunity") {
    const company = typeof f.company === "string" ? record(doc, "company", f.company) : undefined;
    if (!company || str(company.fields, "deleted_at")) throw new InputError("Pick the company.");
    stageFor = "lead";
  } else if (title && !text(title)) {
    throw new InputError(`The ${title} is empty.`);
  }
  let id = "";
  const next = A.change(doc, commitOptions(`add ${kind}`, now), (d: any) => {
    const scalars: Record<string, Scalar> = {};
    for (const [k, v] of Object.entries(f)) if (!isSet(v)) scalars[k] = typeof v === "string" ? v.trim() : v;
    id = createIn(d, kind, scalars, now, givenId);
    for (const [k, v] of Object.entries(f)) if (isSet(v)) for (const m of Object.keys(v)) d[ROOT_KEY[kind]][id][k][m] = true;
    // An offer moves its opportunity to `offer`; a new opportunity starts at `lead` (`opp add`'s default).
    if (kind === "opportunity") d.opportunities[id].stages[newId(now.getTime())] = { stage: scalar("lead"), at: scalar(zoned(now)) };
    else if (stageFor) d.opportunities[stageFor].stages[newId(now.getTime())] = { stage: scalar("offer"), at: scalar(zoned(now)) };
  });
  return { doc: next, id };
}

/**
 * Writes fields of one record, sets included: a scalar sets the field,
 * `null` removes it, a set writes the members added and removes the members
 * left out (as `set_members` does). Unchanged values are skipped, unless in
 * conflict. Returns the same document when nothing changed.
 */
export function editRecord(doc: Doc, kind: Kind, id: string, patch: Record<string, FieldValue>, now = new Date()): Doc {
  const scalars: Record<string, Scalar> = {};
  const sets: [string, { [m: string]: true }][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (isSet(v)) sets.push([k, v]);
    else scalars[k] = v;
  }
  let next = Object.keys(scalars).length ? updateRecord(doc, kind, id, scalars, now) : doc;
  const obj = next?.[ROOT_KEY[kind]]?.[id];
  if (!obj) throw new InputError(`No ${kind} ${id}.`);
  const changes = sets.flatMap(([k, want]) => {
    const have = members(plain(obj) as Fields, k);
    const add = Object.keys(want).filter((m) => !have.includes(m));
    const drop = have.filter((m) => !want[m]);
    return add.length || drop.length ? [{ k, add, drop }] : [];
  });
  if (!changes.length) return next;
  next = A.change(next, commitOptions(`edit ${kind} ${id}`, now), (d: any) => {
    const o = d[ROOT_KEY[kind]][id];
    for (const { k, add, drop } of changes) {
      if (!o[k]) o[k] = {};
      for (const m of drop) delete o[k][m];
      for (const m of add) o[k][m] = true;
    }
  });
  return next;
}

/** Deletes a record, softly (`deleted_at`), as `interlog delete` does. */
export function deleteRecord(doc: Doc, kind: Kind, id: string, now = new Date()): Doc {
  const r = record(doc, kind, id);
  if (!r) throw new InputError(`No ${kind} ${id}.`);
  if (str(r.fields, "deleted_at")) throw new InputError(`${kind} ${id} is already deleted`);
  return A.change(doc, commitOptions(`delete ${kind} ${id}`, now), (d: any) => {
    d[ROOT_KEY[kind]][id].deleted_at = scalar(zoned(now));
  });
}

/** Brings back a deleted record, as `interlog restore` does. */
export function restoreRecord(doc: Doc, kind: Kind, id: string, now = new Date()): Doc {
  const r = record(doc, kind, id);
  if (!r) throw new InputError(`No ${kind} ${id}.`);
  if (!str(r.fields, "deleted_at")) throw new InputError(`${kind} ${id} is not deleted`);
  return A.change(doc, commitOptions(`restore ${kind} ${id}`, now), (d: any) => {
    delete d[ROOT_KEY[kind]][id].deleted_at;
  });
}

// ----- compensation ---------------------------------------------------------

/** What the package form holds, as typed: each empty one is not given (the CLI's `--currency`, `--base` …). */
export interface CompInput {
  currency?: string;
  period?: string;
  base?: string;
  bonus?: string;
  signing?: string;
  equity?: string;
}

export const COMP_AMOUNTS = ["base", "bonus", "signing", "equity"] as const;
export const PERIODS = ["year", "month", "hour"];

/**
 * The keys a package form writes into a compensation map, as the CLI's
 * `comp` makes them (cli/src/cmd/mod.rs): the currency given, or the
 * package's, or the profile's; each amount given, in minor units; when the
 * currency changes, the amounts not given are cleared; the period given, or
 * `year` when the base is given. `null` when nothing is given.
 */
export function compPatch(doc: Doc, input: CompInput, existing: Fields | undefined): Record<string, Json> | null {
  const given = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  if (!given(input.currency) && !given(input.period) && COMP_AMOUNTS.every((k) => !given(input[k]))) return null;
  const existingCurrency = existing && typeof existing.currency === "string" ? existing.currency : undefined;
  const profileCurrency = plain(doc?.profile?.comp?.currency);
  let currency: string;
  try {
    currency = given(input.currency) ? parseCurrency(input.currency!) : (existingCurrency ?? (typeof profileCurrency === "string" ? profileCurrency : ""));
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  if (!currency) throw new InputError("Say which currency (EUR, say), or set one in your profile with `interlog profile set --currency EUR`.");
  const changed = existingCurrency !== undefined && existingCurrency !== currency;
  const m: Record<string, Json> = { currency };
  for (const k of COMP_AMOUNTS) {
    const raw = given(input[k]);
    if (raw !== undefined) {
      try {
        m[k] = parseAmount(raw, currency);
      } catch (e) {
        throw new InputError(`${k}: ${(e as Error).message}`);
      }
    } else if (changed) m[k] = null;
  }
  if (given(input.period)) {
    const p = input.period!.trim().toLowerCase();
    if (!PERIODS.includes(p)) throw new InputError(`'${input.period}' is not a valid period; use one of: ${PERIODS.join(", ")}`);
    m.period = p;
  } else if (given(input.base)) m.period = "year";
  return m;
}

/** Writes keys into a record's compensation map (`comp`, `posted_comp`, `asked_comp`), as `interlog offer comp` and `opp comp`. */
function writeComp(d: any, kind: Kind, id: string, field: string, patch: Record<string, Json>): void {
  const o = d[ROOT_KEY[kind]][id];
  if (!o[field]) o[field] = {};
  for (const [k, v] of Object.entries(patch)) o[field][k] = typeof v === "string" ? scalar(v) : v;
}

export function setComp(doc: Doc, kind: "offer" | "opportunity", id: string, field: string, input: CompInput, now = new Date()): Doc {
  const r = record(doc, kind, id);
  if (!r || str(r.fields, "deleted_at")) throw new InputError(`No ${kind} ${id} (deleted ones are restored first).`);
  const existing = r.fields[field];
  const patch = compPatch(doc, input, existing && typeof existing === "object" && !Array.isArray(existing) ? existing : undefined);
  if (!patch) throw new InputError("Give the amounts: base, bonus, signing, equity, with the currency.");
  return A.change(doc, commitOptions(`${kind} ${id} ${field}`, now), (d: any) => writeComp(d, kind, id, field, patch));
}

/**
 * A negotiation round of an offer, as `interlog offer round`: dated today,
 * in the package's currency, what you asked and what they offered (base
 * pay); their figure becomes the package's base (a year, unless a period is
 * set), and a pending offer is now negotiating.
 */
export function addRound(doc: Doc, offerId: string, asked: string, offered: string, note: string, now = new Date()): Doc {
  const o = record(doc, "offer", offerId);
  if (!o || str(o.fields, "deleted_at")) throw new InputError(`No offer ${offerId} (deleted ones are restored first).`);
  const comp = o.fields.comp && typeof o.fields.comp === "object" && !Array.isArray(o.fields.comp) ? o.fields.comp : {};
  const currency = typeof comp.currency === "string" ? comp.currency : undefined;
  if (!currency) throw new InputError("This offer has no currency yet: save its package first.");
  if (!asked.trim() && !offered.trim()) throw new InputError(`Give what you asked, what they offered, or both (base pay, in ${currency}).`);
  const round: Record<string, Json> = { at: localDate(now), currency };
  for (const [k, raw] of [["asked", asked], ["offered", offered]] as const) {
    if (!raw.trim()) continue;
    try {
      round[k] = parseAmount(raw, currency);
    } catch (e) {
      throw new InputError(`${k}: ${(e as Error).message}`);
    }
  }
  if (note.trim()) round.note = note.trim();
  return A.change(doc, commitOptions(`offer ${offerId} round`, now), (d: any) => {
    if (round.offered !== undefined) {
      const c: Record<string, Json> = { base: round.offered };
      if (comp.period === undefined) c.period = "year";
      writeComp(d, "offer", offerId, "comp", c);
    }
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(round)) entry[k] = typeof v === "string" ? scalar(v) : v;
    d.offers[offerId].rounds[newId(now.getTime())] = entry;
    if (str(o.fields, "decision") === "pending") d.offers[offerId].decision = scalar("negotiating");
  });
}

// ----- an offer's decision, a contact's move -----------------------------------

export const DECISIONS = ["pending", "negotiating", "accepted", "declined"];

/** Decides an offer, as `interlog offer decide`: accepted or declined also move its opportunity to that stage. */
export function decideOffer(doc: Doc, offerId: string, decision: string, now = new Date()): Doc {
  const o = record(doc, "offer", offerId);
  if (!o || str(o.fields, "deleted_at")) throw new InputError(`No offer ${offerId} (deleted ones are restored first).`);
  if (!DECISIONS.includes(decision)) throw new InputError(`'${decision}' is not a valid decision; use one of: ${DECISIONS.join(", ")}`);
  const opp = str(o.fields, "opportunity");
  const moves = (decision === "accepted" || decision === "declined") && opp && record(doc, "opportunity", opp);
  return A.change(doc, commitOptions(`offer ${offerId} ${decision}`, now), (d: any) => {
    d.offers[offerId].decision = scalar(decision);
    if (moves) d.opportunities[opp].stages[newId(now.getTime())] = { stage: scalar(decision), at: scalar(zoned(now)) };
  });
}

/**
 * A contact changed jobs, as `interlog contact moved`: every job still open
 * ends on `date`, and a new one starts then, at the company by name (or a
 * new one), with the title if given.
 */
export function contactMoved(doc: Doc, contactId: string, companyName: string, jobTitle: string, date: string, now = new Date()): Doc {
  const c = record(doc, "contact", contactId);
  if (!c || str(c.fields, "deleted_at")) throw new InputError(`No contact ${contactId} (deleted ones are restored first).`);
  const name = companyName.trim();
  if (!name) throw new InputError("The company name is empty.");
  const existing = companyByName(doc, name)?.id;
  const jobs = c.fields.employment && typeof c.fields.employment === "object" && !Array.isArray(c.fields.employment) ? c.fields.employment : {};
  const open = Object.entries(jobs).filter(([, j]) => j && typeof j === "object" && !Array.isArray(j) && !(typeof j.to === "string" && j.to !== "")).map(([k]) => k);
  return A.change(doc, commitOptions(`contact ${contactId} moved`, now), (d: any) => {
    const company = existing ?? createIn(d, "company", { name }, now);
    if (!d.contacts[contactId].employment) d.contacts[contactId].employment = {};
    const emp = d.contacts[contactId].employment;
    for (const k of open) emp[k].to = scalar(date);
    const job: Record<string, unknown> = { company: scalar(company), from: scalar(date) };
    if (jobTitle.trim()) job.title = scalar(jobTitle.trim());
    emp[newId(now.getTime())] = job;
  });
}

/** A contact's jobs, newest first: company name, title, from, to. */
export function jobsOf(doc: Doc, contactId: string): { company: string; title?: string; from?: string; to?: string }[] {
  const c = record(doc, "contact", contactId);
  const jobs = c?.fields.employment && typeof c.fields.employment === "object" && !Array.isArray(c.fields.employment) ? c.fields.employment : {};
  return Object.values(jobs)
    .filter((j): j is Fields => !!j && typeof j === "object" && !Array.isArray(j))
    .map((j) => ({ company: companyName(doc, str(j, "company")) ?? "?", title: str(j, "title"), from: str(j, "from"), to: str(j, "to") }))
    .sort((a, b) => (b.from ?? "").localeCompare(a.from ?? ""));
}

// ----- the profile ------------------------------------------------------------

/** Working hours as `interlog profile set --work-hours` reads them: `HH:MM-HH:MM`. */
export function parseWorkHours(raw: string): [string, string] {
  const bad = () => new InputError(`Working hours take HH:MM-HH:MM, e.g. 09:00-18:00, not '${raw}'`);
  const parts = raw.split("-");
  if (parts.length < 2) throw bad();
  const [a, b] = [parts[0], parts.slice(1).join("-")].map((t) => t.trim());
  for (const t of [a, b]) {
    const [hh, mm] = t.split(":");
    const ok = mm !== undefined && /^\d+$/.test(hh) && Number(hh) < 24 && /^\d{2}$/.test(mm) && Number(mm) < 60;
    if (!ok) throw bad();
  }
  return [a, b];
}

/**
 * Writes the profile as `interlog profile set` does: the fields given
 * (`null` removes one), working days as a set (members added and removed),
 * and the package's keys (see {@link compPatch}). Returns the same document
 * when nothing changed.
 */
export function updateProfile(doc: Doc, values: Record<string, FieldValue>, comp: Record<string, Json> | null, now = new Date()): Doc {
  const current = (plain(doc?.profile) ?? {}) as Fields;
  const scalars = Object.entries(values).filter(([k, v]) => !isSet(v) && (v === null ? current[k] !== undefined : current[k] !== v));
  const sets = Object.entries(values).flatMap(([k, v]) => {
    if (!isSet(v)) return [];
    const have = members(current, k);
    const add = Object.keys(v).filter((m) => !have.includes(m));
    const drop = have.filter((m) => !v[m]);
    return add.length || drop.length ? [{ k, add, drop }] : [];
  });
  if (!scalars.length && !sets.length && !comp) return doc;
  return A.change(doc, commitOptions("profile", now), (d: any) => {
    if (!d.profile) d.profile = {};
    const p = d.profile;
    for (const [k, v] of scalars) {
      if (v === null) delete p[k];
      else p[k] = scalar(v as Scalar);
    }
    for (const { k, add, drop } of sets) {
      if (!p[k]) p[k] = {};
      for (const m of drop) delete p[k][m];
      for (const m of add) p[k][m] = true;
    }
    if (comp) {
      if (!p.comp) p.comp = {};
      for (const [k, v] of Object.entries(comp)) p.comp[k] = typeof v === "string" ? scalar(v) : v;
    }
  });
}

// ----- stages -----------------------------------------------------------------

/** Moves an opportunity to `stage` now, as `interlog opp stage` does: a new stage event, with an optional note. */
export function addStage(doc: Doc, oppId: string, stage: string, note: string | null, now = new Date()): Doc {
  const o = record(doc, "opportunity", oppId);
  if (!o || str(o.fields, "deleted_at")) throw new InputError(`No opportunity ${oppId} (deleted ones are restored first).`);
  if (!STAGES.includes(stage)) throw new InputError(`'${stage}' is not a valid stage; use one of: ${STAGES.join(", ")}`);
  return A.change(doc, commitOptions(`opportunity ${oppId} stage ${stage}`, now), (d: any) => {
    const event: Record<string, unknown> = { stage: scalar(stage), at: scalar(zoned(now)) };
    if (note?.trim()) event.note = scalar(note.trim());
    d.opportunities[oppId].stages[newId(now.getTime())] = event;
  });
}

/**
 * Closes an opportunity as `interlog opp withdraw` (by me) and `opp
 * rejected` (by them) do: the stage event, with the reason as its note, and
 * `close` with who, the reason (always written, so an earlier one never
 * lingers), whether the door stays open, and when.
 */
export function closeOpportunity(doc: Doc, oppId: string, how: "withdrawn" | "rejected", reason: string, doorOpen: boolean, now = new Date()): Doc {
  const why = reason.trim();
  if (how === "withdrawn" && !why) throw new InputError("Say why you withdraw: it is what you will want to remember when they call again.");
  const staged = addStage(doc, oppId, how, why || null, now);
  return A.change(staged, commitOptions(`${how === "withdrawn" ? "withdraw from" : "rejected"} ${oppId}`, now), (d: any) => {
    const o = d.opportunities[oppId];
    if (!o.close) o.close = {};
    o.close.by = scalar(how === "withdrawn" ? "me" : "them");
    o.close.door_open = doorOpen;
    o.close.at = scalar(zoned(now));
    o.close.reason = why ? scalar(why) : null;
  });
}

// ----- conflicts ------------------------------------------------------------

/** A field two devices wrote at the same time, with each value and who wrote it (doc.rs, `Conflict`). */
export interface Conflict {
  kind: Kind;
  id: string;
  /** The field, or the path to it inside a nested map (`comp`, `base`). */
  path: string[];
  values: Json[];
  /** The device (actor) that wrote each value. */
  writers: string[];
}

/**
 * Every field of every record that holds concurrent values, as `interlog
 * conflicts` lists them: into nested maps, and leaving out values that
 * agree (two devices adding the same set member).
 */
export function conflicts(doc: Doc): Conflict[] {
  const out: Conflict[] = [];
  const walk = (kind: Kind, id: string, obj: any, path: string[]) => {
    if (!obj || typeof obj !== "object" || obj instanceof A.ImmutableString || Array.isArray(obj)) return;
    for (const key of Object.keys(obj)) {
      let all: Record<string, unknown> | undefined;
      try {
        all = A.getConflicts(obj, key) as Record<string, unknown> | undefined;
      } catch {
        // Not a map of the document (a counter, say): nothing to pick there.
        continue;
      }
      const entries = all ? Object.entries(all) : [];
      if (entries.length > 1) {
        const values = entries.map(([, v]) => plain(v));
        if (values.every((v) => JSON.stringify(v) === JSON.stringify(values[0]))) continue;
        out.push({ kind, id, path: [...path, key], values, writers: entries.map(([op]) => op.split("@")[1] ?? "") });
      } else {
        const v = obj[key];
        if (v && typeof v === "object" && !(v instanceof A.ImmutableString) && !(v instanceof A.Counter) && !(v instanceof Date) && !(v instanceof Uint8Array)) walk(kind, id, v, [...path, key]);
      }
    }
  };
  for (const kind of KINDS) {
    const map = doc?.[ROOT_KEY[kind]];
    if (!map || typeof map !== "object") continue;
    for (const id of Object.keys(map).sort()) walk(kind, id, map[id], []);
  }
  return out;
}

/** Keeps `value` for a conflicted field: writing it settles the conflict on every device (doc.rs, `resolve`). */
export function resolveConflict(doc: Doc, c: Conflict, value: Json, now = new Date()): Doc {
  return A.change(doc, commitOptions(`resolve conflict ${c.id} ${c.path.join(".")}`, now), (d: any) => {
    let o = d[ROOT_KEY[c.kind]][c.id];
    for (const p of c.path.slice(0, -1)) {
      if (!o[p] || typeof o[p] !== "object") o[p] = {};
      o = o[p];
    }
    const last = c.path[c.path.length - 1];
    o[last] = toStored(value);
  });
}

/** A JSON value as the document stores it: strings as scalar strings, maps as maps. */
function toStored(v: Json): unknown {
  if (typeof v === "string") return new A.ImmutableString(v);
  if (Array.isArray(v)) return v.map(toStored);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toStored(x)]));
  return v;
}

/** Fields that hold concurrent values from different devices. */
export function conflictedFields(doc: Doc, kind: Kind, id: string): string[] {
  const obj = doc?.[ROOT_KEY[kind]]?.[id];
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return [];
  return Object.keys(obj).filter((k) => {
    try {
      return Object.keys(A.getConflicts(obj, k) ?? {}).length > 1;
    } catch {
      return false;
    }
  });
}

// ----- today ----------------------------------------------------------------

export interface Today {
  date: string;
  /** How many contacts are due when `reconnect` holds only the first of them (a stored view). */
  reconnectTotal?: number;
  followups: { id: string; due: string; kind?: string; target?: string; note?: string; daysOverdue: number }[];
  reconnect: { id: string; name: string; lastContact?: string; intervalDays: number; daysOverdue: number }[];
  interviews: { id: string; start?: string; company?: string; kind?: string }[];
}

/** Due follow-ups, contacts past their keep-in-touch interval, today's interviews (report.rs). */
export function today(doc: Doc, date: string): Today {
  const followups = liveFields(doc, "followup", ["done", "snoozed_until", "due", "target", "kind", "note"])
    .filter((f) => f.fields.done !== true)
    .filter((f) => {
      const s = storedDate(str(f.fields, "snoozed_until"));
      return !s || s <= date;
    })
    .flatMap((f) => {
      const due = storedDate(str(f.fields, "due"));
      if (!due || due > date) return [];
      const target = str(f.fields, "target");
      return [
        {
          id: f.id,
          due,
          kind: str(f.fields, "kind"),
          target: target && refTitle(doc, target),
          note: str(f.fields, "note"),
          daysOverdue: dayNumber(date) - dayNumber(due),
        },
      ];
    })
    .sort((a, b) => a.due.localeCompare(b.due) || a.id.localeCompare(b.id));

  const interviews = liveFields(doc, "interview", ["start", "interviewers", "company", "kind"]);
  const lastMet = new Map<string, string>();
  for (const i of interviews) {
    const d = storedDate(str(i.fields, "start"));
    if (!d || d > date) continue;
    for (const c of members(i.fields, "interviewers")) if ((lastMet.get(c) ?? "") < d) lastMet.set(c, d);
  }
  const reconnect = liveFields(doc, "contact", ["name", "keep_in_touch_days", "last_contacted", "created_at"])
    .flatMap((c) => {
      const interval = int(c.fields, "keep_in_touch_days");
      if (interval === undefined) return [];
      const last = [storedDate(str(c.fields, "last_contacted")), lastMet.get(c.id)].filter((d): d is string => !!d).sort().pop();
      const baseline = last ?? storedDate(str(c.fields, "created_at"));
      if (!baseline) return [];
      const due = fromDayNumber(dayNumber(baseline) + interval);
      if (due > date) return [];
      return [{ id: c.id, name: title(doc, c), lastContact: last, intervalDays: interval, daysOverdue: dayNumber(date) - dayNumber(due) }];
    })
    .sort((a, b) => b.daysOverdue - a.daysOverdue || a.id.localeCompare(b.id));

  const todays = interviews
    .filter((i) => storedDate(str(i.fields, "start")) === date)
    .map((i) => ({ id: i.id, start: str(i.fields, "start"), company: companyName(doc, str(i.fields, "company")), kind: str(i.fields, "kind") }))
    .sort((a, b) => (a.start ?? "").localeCompare(b.start ?? ""));
  return { date, followups, reconnect, interviews: todays };
}

/** The journal as JSON, as `VaultDoc::to_json` makes it (the JSON export). */
export function toJson(doc: Doc): Fields {
  const out: Fields = { schema: 1, profile: (plain(doc?.profile) as Fields) ?? {} };
  for (const k of KINDS) {
    const m: Fields = {};
    for (const r of records(doc, k)) m[r.id] = r.fields;
    out[ROOT_KEY[k]] = m;
  }
  return out;
}
