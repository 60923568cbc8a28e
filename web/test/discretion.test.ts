// Discretion as the CLI warns (report.rs `working_hours_warning`, and the
// sensitive-company warning of `interlog log`).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { logWarnings, workingHoursWarning } from "../src/discretion";
import { createRecord, logInterview, records } from "../src/doc";

describe("discretion", () => {
  const profile = { work_start: "09:00", work_end: "18:00", work_days: { mon: true, tue: true } };

  it("warns inside working hours on a working day only, with report.rs's words", () => {
    // Local times: 2026-11-16 is a Monday, 2026-11-21 a Saturday.
    expect(workingHoursWarning(profile, new Date(2026, 10, 16, 10, 0))).toBe(
      "this is inside your working hours (mon 09:00-18:00): block it in your calendar with a neutral title",
    );
    expect(workingHoursWarning(profile, new Date(2026, 10, 16, 18, 0))).toBeUndefined();
    expect(workingHoursWarning(profile, new Date(2026, 10, 16, 19, 0))).toBeUndefined();
    expect(workingHoursWarning(profile, new Date(2026, 10, 16, 8, 59))).toBeUndefined();
    expect(workingHoursWarning(profile, new Date(2026, 10, 21, 10, 0))).toBeUndefined();
    // No hours in the profile, or unreadable ones: no warning.
    expect(workingHoursWarning({}, new Date(2026, 10, 16, 10, 0))).toBeUndefined();
    expect(workingHoursWarning({ ...profile, work_start: "nine" }, new Date(2026, 10, 16, 10, 0))).toBeUndefined();
  });

  it("warns when logging at a company flagged sensitive, and inside working hours", () => {
    let doc = A.change(A.init<any>(), (d: any) => {
      d.meta = { schema: 1 };
      d.profile = { comp: {}, work_days: { mon: true }, work_start: new A.ImmutableString("09:00"), work_end: new A.ImmutableString("17:30") };
      for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
    });
    doc = createRecord(doc, "company", { name: "Initech", sensitivity: "high", sensitivity_reason: "a client of my employer" }).doc;
    const monday = new Date(2026, 10, 16, 11, 0);
    doc = logInterview(doc, { company: "initech", start: monday }).doc;
    const [company] = records(doc, "company");
    expect(logWarnings(doc, company.id, monday)).toEqual([
      "Initech is marked sensitive (high: a client of my employer); keep this one discreet",
      "this is inside your working hours (mon 09:00-17:30): block it in your calendar with a neutral title",
    ]);
    expect(logWarnings(doc, company.id, new Date(2026, 10, 16, 20, 0))).toHaveLength(1);
  });
});
