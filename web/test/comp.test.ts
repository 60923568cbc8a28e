// Compensation and negotiation rounds as `interlog offer comp` and
// `interlog offer round` write them (cli/src/cmd/mod.rs `comp`, kinds.rs).
import * as A from "@automerge/automerge/slim";
import { describe, expect, it } from "vitest";

import { addRound, createRecord, logInterview, record, records, setComp } from "../src/doc";

function withOffer(profileCurrency?: string) {
  const doc = A.change(A.init<any>({ actor: "aa".repeat(16) }), (d: any) => {
    d.meta = { schema: 1 };
    d.profile = { comp: profileCurrency ? { currency: new A.ImmutableString(profileCurrency) } : {}, work_days: {} };
    for (const k of ["companies", "contacts", "opportunities", "interviews", "offers", "followups", "questions"]) d[k] = {};
  });
  const logged = logInterview(doc, { company: "Acme" });
  const [opp] = records(logged.doc, "opportunity");
  return createRecord(logged.doc, "offer", { opportunity: opp.id });
}

describe("compensation", () => {
  it("writes a package in minor units, the period a year when the base is given, the currency from the profile", () => {
    const { doc, id } = withOffer("EUR");
    const next = setComp(doc, "offer", id, "comp", { base: "95k", bonus: "10,000.50" });
    expect(record(next, "offer", id)!.fields.comp).toEqual({ currency: "EUR", base: 9_500_000, bonus: 1_000_050, period: "year" });
  });

  it("asks for a currency when neither the package nor the profile has one, and names a bad amount", () => {
    const { doc, id } = withOffer();
    expect(() => setComp(doc, "offer", id, "comp", { base: "95k" })).toThrow(/Say which currency/);
    expect(() => setComp(doc, "offer", id, "comp", { currency: "EURO", base: "1" })).toThrow("'EURO' is not an ISO 4217 currency code such as EUR, USD or GBP");
    expect(() => setComp(doc, "offer", id, "comp", { currency: "JPY", base: "1.5" })).toThrow("base: '1.5' has more decimals than JPY allows (0)");
    expect(() => setComp(doc, "offer", id, "comp", {})).toThrow(/Give the amounts/);
  });

  it("clears the amounts not given when the currency changes", () => {
    const { doc, id } = withOffer();
    const eur = setComp(doc, "offer", id, "comp", { currency: "eur", base: "100k", signing: "5k", period: "year" });
    const usd = setComp(eur, "offer", id, "comp", { currency: "USD", base: "110k", period: "year" });
    expect(record(usd, "offer", id)!.fields.comp).toEqual({ currency: "USD", base: 11_000_000, bonus: null, signing: null, equity: null, period: "year" });
  });

  it("a round: dated today in the package's currency; their figure becomes the base; pending becomes negotiating", () => {
    const { doc, id } = withOffer();
    expect(() => addRound(doc, id, "120k", "", "")).toThrow(/no currency yet/);
    const withComp = setComp(doc, "offer", id, "comp", { currency: "EUR", base: "100k", period: "year" });
    expect(() => addRound(withComp, id, "", "", "")).toThrow("Give what you asked, what they offered, or both (base pay, in EUR).");
    const next = addRound(withComp, id, "120k", "110k", "they stretched", new Date("2026-03-04T10:00:00Z"));
    const o = record(next, "offer", id)!.fields;
    expect(Object.values(o.rounds as object)).toEqual([{ at: "2026-03-04", currency: "EUR", asked: 12_000_000, offered: 11_000_000, note: "they stretched" }]);
    expect(o.comp).toMatchObject({ base: 11_000_000, period: "year" });
    expect(o.decision).toBe("negotiating");
  });
});
