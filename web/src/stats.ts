/**
 * The report `interlog stats` prints (client-core/src/report.rs, `stats`),
 * computed the same way on the phone: interviews per month against the
 * goal with the average self-rating, the funnel by source, the most asked
 * and the weakest questions, and offers against the current package.
 */
import { type Doc, type Fields, int, liveFields, localDate, plain, refTitle, STAGES, str } from "./doc";

export interface Month {
  month: string;
  interviews: number;
  goal: number | null;
  avgRating: number | null;
}

export interface QuestionStat {
  id: string;
  wording: string;
  asked: number;
  avgRating: number | null;
}

export interface OfferStat {
  id: string;
  company: string | null;
  level: string | null;
  levelDelta: number | null;
  decision: string | null;
  annualTotal: number | null;
  currency: string | null;
  vsCurrentPct: number | null;
}

export interface Stats {
  months: Month[];
  funnelStages: string[];
  funnel: { source: string; reached: number[] }[];
  mostAsked: QuestionStat[];
  weakest: QuestionStat[];
  currentAnnualTotal: number | null;
  currentCurrency: string | null;
  offers: OfferStat[];
}

/** The funnel runs up to `accepted`; later stages close an opportunity. */
const FUNNEL_LEN = 7;

/** Rounded to one decimal, as report.rs's `average`. */
function average(v: number[]): number | null {
  return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10 : null;
}

const isObj = (v: unknown): v is Fields => !!v && typeof v === "object" && !Array.isArray(v);

/** A package as a yearly total in minor units: base annualised (monthly x12, hourly x2080), plus bonus and yearly equity. */
export function annualTotal(comp: unknown): { minor: number; currency: string } | null {
  if (!isObj(comp) || typeof comp.currency !== "string") return null;
  const base = int(comp, "base");
  if (base === undefined) return null;
  const factor = comp.period === "month" ? 12 : comp.period === "hour" ? 2080 : 1;
  const extra = ["bonus", "equity"].reduce((n, k) => n + (int(comp, k) ?? 0), 0);
  return { minor: base * factor + extra, currency: comp.currency };
}

/** The stats over the last `months` months up to `now`. */
export function stats(doc: Doc, now: Date, months = 12): Stats {
  const profile = (plain(doc?.profile) ?? {}) as Fields;
  const goal = int(profile, "monthly_goal") ?? null;
  const interviews = liveFields(doc, "interview", ["start", "rating", "questions"]);

  const perMonth = new Map<string, { n: number; ratings: number[] }>();
  for (let back = 0; back < months; back++) {
    const d = new Date(now.getFullYear(), now.getMonth() - back, 1);
    perMonth.set(localDate(d).slice(0, 7), { n: 0, ratings: [] });
  }
  for (const i of interviews) {
    const start = str(i.fields, "start");
    // The month of the start in its own zone: the date part of the stored instant.
    if (!start || !/^\d{4}-\d{2}-\d{2}T/.test(start)) continue;
    const slot = perMonth.get(start.slice(0, 7));
    if (!slot) continue;
    slot.n += 1;
    const r = int(i.fields, "rating");
    if (r !== undefined) slot.ratings.push(r);
  }
  const monthRows = [...perMonth.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([month, s]) => ({ month, interviews: s.n, goal, avgRating: average(s.ratings) }));

  const funnelStages = STAGES.slice(0, FUNNEL_LEN);
  const funnel = new Map<string, number[]>();
  for (const o of liveFields(doc, "opportunity", ["source", "stages"])) {
    const source = str(o.fields, "source") ?? "unknown";
    const events = isObj(o.fields.stages) ? Object.values(o.fields.stages) : [];
    const reached = Math.max(0, ...events.map((e) => (isObj(e) && typeof e.stage === "string" ? funnelStages.indexOf(e.stage) : -1)));
    const row = funnel.get(source) ?? new Array(FUNNEL_LEN).fill(0);
    for (let k = 0; k <= reached; k++) row[k] += 1;
    funnel.set(source, row);
  }

  const asked = new Map<string, (number | null)[]>();
  for (const i of interviews) {
    const q = i.fields.questions;
    if (!isObj(q)) continue;
    for (const [qid, r] of Object.entries(q)) asked.set(qid, [...(asked.get(qid) ?? []), typeof r === "number" && Number.isInteger(r) ? r : null]);
  }
  const questions = [...asked.entries()].map(([id, ratings]) => ({
    id,
    wording: refTitle(doc, id),
    asked: ratings.length,
    avgRating: average(ratings.filter((r): r is number => r !== null)),
  }));
  const byId = (a: QuestionStat, b: QuestionStat) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const mostAsked = [...questions].sort((a, b) => b.asked - a.asked || byId(a, b)).slice(0, 5);
  const weakest = questions
    .filter((q) => q.avgRating !== null)
    .sort((a, b) => a.avgRating! - b.avgRating! || b.asked - a.asked || byId(a, b))
    .slice(0, 5);

  const current = annualTotal(profile.comp);
  const offers = liveFields(doc, "offer", ["company", "level", "level_delta", "decision", "comp"]).map((o): OfferStat => {
    const total = annualTotal(o.fields.comp);
    const company = str(o.fields, "company");
    return {
      id: o.id,
      company: company ? refTitle(doc, company) : null,
      level: str(o.fields, "level") ?? null,
      levelDelta: int(o.fields, "level_delta") ?? null,
      decision: str(o.fields, "decision") ?? null,
      annualTotal: total?.minor ?? null,
      currency: total?.currency ?? null,
      vsCurrentPct: total && current && total.currency === current.currency && current.minor > 0 ? Math.round(((total.minor - current.minor) / current.minor) * 1000) / 10 : null,
    };
  });
  // As Rust orders Options: none first, then by value.
  const opt = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a - b);
  offers.sort((a, b) => opt(a.levelDelta, b.levelDelta) || opt(b.annualTotal, a.annualTotal) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  return {
    months: monthRows,
    funnelStages,
    funnel: [...funnel.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([source, reached]) => ({ source, reached })),
    mostAsked,
    weakest,
    currentAnnualTotal: current?.minor ?? null,
    currentCurrency: current?.currency ?? null,
    offers,
  };
}
