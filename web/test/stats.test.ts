// `interlog stats` on the phone (report.rs `stats`, `annual_total`).
import { describe, expect, it } from "vitest";

import { annualTotal } from "../src/stats";

describe("stats", () => {
  it("annualises a package as report.rs does: monthly x12, hourly x2080, plus bonus and equity, never signing", () => {
    expect(annualTotal({ currency: "EUR", base: 10_000_000, bonus: 1_000_000, signing: 5_000_000, equity: 200_000, period: "year" })).toEqual({ minor: 11_200_000, currency: "EUR" });
    expect(annualTotal({ currency: "EUR", base: 800_000, period: "month" })).toEqual({ minor: 9_600_000, currency: "EUR" });
    expect(annualTotal({ currency: "USD", base: 10_000, period: "hour" })).toEqual({ minor: 20_800_000, currency: "USD" });
    expect(annualTotal({ currency: "EUR", bonus: 1 })).toBeNull();
    expect(annualTotal({ base: 1 })).toBeNull();
    expect(annualTotal("nonsense")).toBeNull();
  });
});
