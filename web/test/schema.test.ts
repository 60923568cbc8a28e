// The phone's field rules against the shared vector tests/vectors/schema.json,
// which client-core/tests/schema_vectors.rs checks against the Rust tables:
// the same enum tables, containers and title fields, and the same values
// and messages for what a user types.
import { describe, expect, it } from "vitest";

import schema from "../../tests/vectors/schema.json";
import { CONTACT_KINDS, CONTAINERS, INTERVIEW_FORMATS, INTERVIEW_KINDS, INTERVIEW_STATUSES, type Kind, KINDS, ROOT_KEY, SOURCES, STAGES, TITLE_FIELD } from "../src/doc";
import { fieldOf, fieldsOf, parseDate, parseInput } from "../src/schema";

const values = (kind: Kind, field: string) => (fieldOf(kind, field) as { values?: string[] }).values;

describe("the schema vector", () => {
  it("has the phone's kinds, root keys, title fields and containers", () => {
    expect(Object.keys(schema.kinds).sort()).toEqual([...KINDS].sort());
    for (const k of KINDS) {
      const spec = (schema.kinds as Record<string, { root: string; title: string }>)[k];
      expect(spec.root).toBe(ROOT_KEY[k]);
      expect(spec.title).toBe(TITLE_FIELD[k]);
      expect(fieldsOf(k).filter((f) => f.container).map((f) => f.name).sort()).toEqual([...CONTAINERS[k]].sort());
    }
  });

  it("has the phone's enum tables", () => {
    expect(values("interview", "kind")).toEqual(INTERVIEW_KINDS);
    expect(values("interview", "format")).toEqual(INTERVIEW_FORMATS);
    expect(values("interview", "status")).toEqual(INTERVIEW_STATUSES);
    expect(values("contact", "kind")).toEqual(CONTACT_KINDS);
    expect(values("opportunity", "source")).toEqual(SOURCES);
    expect(schema.stages).toEqual(STAGES);
  });

  it("reads every case as the CLI does: the same value, or the same message", () => {
    expect(schema.cases.length).toBeGreaterThan(30);
    for (const c of schema.cases as { kind: Kind; field: string; input: string; value?: unknown; error?: string }[]) {
      const spec = fieldOf(c.kind, c.field)!;
      if ("error" in c) expect(() => parseInput(spec, c.input), `${c.kind}.${c.field} '${c.input}'`).toThrow(c.error);
      else expect(parseInput(spec, c.input), `${c.kind}.${c.field} '${c.input}'`).toEqual(c.value);
    }
  });

  it("reads relative dates from today, as `interlog` does", () => {
    const today = new Date(2026, 2, 4);
    expect(parseDate("today", today)).toBe("2026-03-04");
    expect(parseDate("Tomorrow", today)).toBe("2026-03-05");
    expect(parseDate("yesterday", today)).toBe("2026-03-03");
    expect(parseDate("+7", today)).toBe("2026-03-11");
    expect(parseDate("+30d", today)).toBe("2026-04-03");
    expect(() => parseDate("+x", today)).toThrow("'+x' is not a date; write it like 2026-11-20, today, tomorrow or +7");
  });
});

describe("money, from the same vector", () => {
  it("reads amounts and currencies as money.rs does: the same minor units, or the same message", async () => {
    const { parseAmount, parseCurrency, plainAmount } = await import("../src/money");
    for (const c of schema.money.amounts as { input: string; currency: string; minor?: number; error?: string }[]) {
      if (c.error !== undefined) expect(() => parseAmount(c.input, c.currency), `${c.input} ${c.currency}`).toThrow(c.error);
      else expect(parseAmount(c.input, c.currency), `${c.input} ${c.currency}`).toBe(c.minor);
    }
    for (const c of schema.money.currencies as { input: string; currency?: string; error?: string }[]) {
      if (c.error !== undefined) expect(() => parseCurrency(c.input)).toThrow(c.error);
      else expect(parseCurrency(c.input)).toBe(c.currency);
    }
    expect(plainAmount(12000050, "EUR")).toBe("120000.50");
    expect(plainAmount(-300, "EUR")).toBe("-3.00");
    expect(plainAmount(950000, "JPY")).toBe("950000");
  });
});
