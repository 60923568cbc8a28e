/**
 * Discretion as the CLI has it (client-core/src/report.rs,
 * `working_hours_warning`, and `interlog log`'s warnings): a company flagged
 * sensitive draws a warning when an interview there is logged, and an
 * interview inside the working hours of the profile draws one too, with the
 * advice to block it in the calendar under a neutral title.
 */
import { type Doc, type Fields, plain, record, str } from "./doc";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function clock(v: unknown): { h: number; m: number } | undefined {
  if (typeof v !== "string") return undefined;
  const [h, m] = v.split(":");
  if (!/^\d+$/.test(h ?? "") || !/^\d+$/.test(m ?? "")) return undefined;
  const t = { h: Number(h), m: Number(m) };
  return t.h <= 23 && t.m <= 59 ? t : undefined;
}

const hhmm = (t: { h: number; m: number }) => `${String(t.h).padStart(2, "0")}:${String(t.m).padStart(2, "0")}`;

/**
 * Why an interview at `start` (the phone's local time) could draw attention
 * at work: it falls inside the profile's working hours on a working day.
 */
export function workingHoursWarning(profile: Fields, start: Date): string | undefined {
  const from = clock(profile.work_start);
  const to = clock(profile.work_end);
  const days = profile.work_days;
  if (!from || !to || !days || typeof days !== "object" || Array.isArray(days)) return undefined;
  const day = WEEKDAYS[(start.getDay() + 6) % 7];
  const minutes = start.getHours() * 60 + start.getMinutes() + start.getSeconds() / 60;
  const inside = days[day] === true && minutes >= from.h * 60 + from.m && minutes < to.h * 60 + to.m;
  return inside ? `this is inside your working hours (${day} ${hhmm(from)}-${hhmm(to)}): block it in your calendar with a neutral title` : undefined;
}

/** "Acme is marked sensitive (high: a client of my employer); keep this one discreet", for a company flagged caution or high. */
export function sensitiveWarning(doc: Doc, company: string | undefined): string | undefined {
  const c = company ? record(doc, "company", company) : undefined;
  const level = c && str(c.fields, "sensitivity");
  if (!c || (level !== "caution" && level !== "high")) return undefined;
  const why = str(c.fields, "sensitivity_reason");
  return `${str(c.fields, "name") ?? c.id} is marked sensitive (${level}${why ? `: ${why}` : ""}); keep this one discreet`;
}

/** The warnings `interlog log` prints after logging an interview at `company`, starting at `start`. */
export function logWarnings(doc: Doc, company: string | undefined, start: Date): string[] {
  const profile = (plain(doc?.profile) ?? {}) as Fields;
  return [sensitiveWarning(doc, company), workingHoursWarning(profile, start)].filter((w): w is string => !!w);
}
