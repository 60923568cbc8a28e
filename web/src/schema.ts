/**
 * The vault's schema on the phone: every kind's fields, their types, bounds
 * and enum tables, read from the shared vector `tests/vectors/schema.json`,
 * which `client-core/tests/schema_vectors.rs` checks against the Rust tables
 * (client-core/src/model/schema.rs). So the phone validates what the user
 * types with the same rules, and the same messages, as `interlog edit --set`,
 * and a schema change that skips the phone fails a test on both sides.
 */
import { kinds as KINDS_JSON, profile as PROFILE_JSON } from "../../tests/vectors/schema.json";
import type { Json, Kind } from "./doc";

export type FieldType =
  | { type: "text" | "prose" | "bool" | "date" | "datetime" | "anyref" | "set" | "comp" | "entries" | "ratings" | "map" }
  | { type: "int"; min: number; max: number }
  | { type: "enum" | "enumset"; values: string[] }
  | { type: "ref" | "refset"; kind: string };

export type FieldSpec = FieldType & { name: string; container: boolean; help: string };

interface KindSpec {
  name: string;
  root: string;
  title: string;
  fields: FieldSpec[];
}

const TABLE = KINDS_JSON as unknown as Record<string, KindSpec>;

/** The fields of a kind, its own first, then the common ones (notes, created_at, deleted_at). */
export function fieldsOf(kind: Kind): FieldSpec[] {
  return TABLE[kind]?.fields ?? [];
}

export const PROFILE_FIELDS = PROFILE_JSON as unknown as FieldSpec[];

/** A field of a kind; `undefined` when it has none of that name. */
export function fieldOf(kind: Kind, name: string): FieldSpec | undefined {
  return fieldsOf(kind).find((f) => f.name === name);
}

/** What a kind is called to users ("follow-up"). */
export function kindName(kind: Kind): string {
  return TABLE[kind]?.name ?? kind;
}

/** Input that does not fit the schema; the message says how to fix it (ModelError). */
export class FieldError extends Error {}

/** The command that edits a field the generic editor cannot (schema.rs, `own_command`). */
function ownCommand(field: string): string {
  switch (field) {
    case "comp":
      return "`interlog offer comp ID --base …` (your own package: `interlog profile set --base …`)";
    case "posted_comp":
    case "asked_comp":
      return "`interlog opp comp ID [--posted] --base …`";
    case "stages":
      return "`interlog opp stage ID STAGE`";
    case "close":
      return "`interlog opp withdraw` or `interlog opp rejected`";
    case "rounds":
      return "`interlog offer round ID --asked … --offered …`";
    case "employment":
      return "`interlog contact moved CONTACT COMPANY`";
    case "questions":
      return "`interlog retro ID`";
    default:
      return "see `interlog help`";
  }
}

/** Matches an enum value ignoring case, with `-` or a space for `_` (schema.rs, `parse_enum`). */
export function parseEnum(field: string, allowed: string[], raw: string): string {
  const norm = raw.trim().toLowerCase().replace(/[- ]/g, "_");
  const found = allowed.find((a) => a === norm);
  if (found === undefined) throw new FieldError(`'${raw}' is not a valid ${field}; use one of: ${allowed.join(", ")}`);
  return found;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** A calendar date as `interlog` reads one: `YYYY-MM-DD`, today, tomorrow, yesterday or +N days (time.rs, `parse_date`). */
export function parseDate(raw: string, today: Date = new Date()): string {
  const s = raw.trim().toLowerCase();
  const bad = () => new FieldError(`'${raw}' is not a date; write it like 2026-11-20, today, tomorrow or +7`);
  const local = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const plus = (n: number) => local(new Date(today.getFullYear(), today.getMonth(), today.getDate() + n));
  if (s === "today") return plus(0);
  if (s === "tomorrow") return plus(1);
  if (s === "yesterday") return plus(-1);
  if (s.startsWith("+")) {
    const n = s.slice(1).replace(/d+$/, "");
    if (!/^\d+$/.test(n) || Number(n) > 36_500) throw bad();
    return plus(Number(n));
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw bad();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw bad();
  return s;
}

/**
 * What the user typed for a field, as the value to store (schema.rs,
 * `parse_input`): trimmed text, a whole number within bounds, yes or no, a
 * date, an enum value, or a set (comma-separated, a map of members to
 * `true`). References must be full ids already. Instants and the fields with
 * their own screens are refused here.
 */
export function parseInput(spec: FieldSpec, input: string, today?: Date): Json {
  const raw = input.trim();
  const field = spec.name;
  switch (spec.type) {
    case "text":
    case "prose":
    case "ref":
    case "anyref":
      return raw;
    case "int": {
      const digits = raw.startsWith("+") ? raw.slice(1) : raw;
      const n = /^[+-]?\d+$/.test(digits) ? Number(digits) : NaN;
      if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) throw new FieldError(`${field} must be a whole number from ${spec.min} to ${spec.max}, not '${raw}'`);
      return n;
    }
    case "bool": {
      const v = raw.toLowerCase();
      if (["true", "yes", "y", "1"].includes(v)) return true;
      if (["false", "no", "n", "0"].includes(v)) return false;
      throw new FieldError(`'${raw}' is not a valid ${field}; use one of: yes, no`);
    }
    case "date":
      try {
        return parseDate(raw, today);
      } catch (e) {
        throw new FieldError(`${field}: ${(e as Error).message}`);
      }
    case "datetime":
      throw new FieldError(`${field}: pick it with the time picker`);
    case "enum":
      return parseEnum(field, spec.values, raw);
    case "set":
    case "enumset":
    case "refset": {
      const set: { [k: string]: Json } = {};
      for (const m of raw.split(",").map((x) => x.trim()).filter(Boolean)) set[spec.type === "enumset" ? parseEnum(field, spec.values, m) : m] = true;
      return set;
    }
    default:
      throw new FieldError(`${field} is edited with its own command, not with --set: ${ownCommand(field)}`);
  }
}
