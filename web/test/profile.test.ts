// The profile as `interlog profile set` writes it (cli/src/cmd/kinds.rs).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { compPatch, parseWorkHours, plain, updateProfile } from "../src/doc";

function vault() {
  return A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1 };
    d.profile = { comp: {}, work_days: { sat: true } };
  });
}

describe("the profile", () => {
  it("reads working hours as the CLI does, with its message", () => {
    expect(parseWorkHours("09:00-18:00")).toEqual(["09:00", "18:00"]);
    expect(parseWorkHours(" 9:30 - 17:45 ")).toEqual(["9:30", "17:45"]);
    for (const bad of ["9-18", "09:00", "24:00-18:00", "09:60-18:00", "09:0-18:00"]) {
      expect(() => parseWorkHours(bad)).toThrow(`Working hours take HH:MM-HH:MM, e.g. 09:00-18:00, not '${bad}'`);
    }
  });

  it("writes role, goal, working hours and days, and the package; nothing when nothing changed", () => {
    const doc = vault();
    const comp = compPatch(doc, { currency: "eur", base: "120k" }, {});
    const next = updateProfile(doc, { role: "Staff Engineer", monthly_goal: 4, work_start: "09:00", work_end: "18:00", work_days: { mon: true, tue: true } }, comp);
    expect(plain((next as any).profile)).toEqual({
      role: "Staff Engineer",
      monthly_goal: 4,
      work_start: "09:00",
      work_end: "18:00",
      work_days: { mon: true, tue: true },
      comp: { currency: "EUR", base: 12_000_000, period: "year" },
    });
    expect(updateProfile(next, { role: "Staff Engineer", work_days: { tue: true, mon: true } }, null)).toBe(next);
    expect((plain((updateProfile(next, { role: null }, null) as any).profile) as Record<string, unknown>).role).toBeUndefined();
  });
});
