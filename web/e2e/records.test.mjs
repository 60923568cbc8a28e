// Every kind of record on the phone, end to end with a real relay, the real
// CLI and chromium at a phone's size: a sensitive company, a follow-up, an
// offer and a question created, edited, deleted and restored from More; an
// interview deleted on its screen; the CLI's message for a value out of
// range; and the laptop's export after a sync holds exactly that.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { cleanup, device, joinedPhone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;

test("create, edit, delete and restore companies, follow-ups, offers and questions; the laptop sees them", { timeout: 180 * SECOND }, async () => {
  const relay = await startRelay();
  const laptop = device();
  laptop.run(["init"]);
  // Every hour of every day is working time: a log anytime draws the warning.
  laptop.run(["profile", "set", "--work-hours", "00:00-23:59", "--work-days", "mon,tue,wed,thu,fri,sat,sun"]);
  const logged = laptop.json(["log", "Acme", "--role", "Staff Engineer", "--kind", "technical"]);
  laptop.run(["sync", "--relay", relay.ws]);
  const code = laptop.json(["pair"]).code;

  const { page, sync } = await joinedPhone(relay, code);
  const more = async (plural) => {
    await page.getByRole("link", { name: "More" }).click();
    await page.getByTestId("more-kind").filter({ hasText: plural }).click();
    await page.getByRole("heading", { name: plural, exact: true }).waitFor();
  };

  // 1. A sensitive company, with an alias; then edited.
  await more("Companies");
  await page.getByRole("link", { name: "New company" }).click();
  await page.getByLabel("Name").fill("Initech");
  await page.getByLabel("Aliases").fill("Initrode, Initech Corp");
  await page.getByLabel("Sensitivity", { exact: true }).selectOption("high");
  await page.getByLabel("Sensitivity reason").fill("a client of my employer");
  await page.getByRole("button", { name: "Add the company" }).click();
  const company = page.getByTestId("company-detail");
  await company.getByRole("heading", { name: "Initech" }).waitFor();
  await company.getByTestId("sensitive").getByText("Sensitive (high): a client of my employer").waitFor();
  await company.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Industry").fill("Software");
  await page.getByRole("button", { name: "Save" }).click();
  await company.getByText("Software").waitFor();
  // A name already taken, with the CLI's kind of message.
  await more("Companies");
  await page.getByRole("link", { name: "New company" }).click();
  await page.getByLabel("Name").fill("initrode");
  await page.getByRole("button", { name: "Add the company" }).click();
  await page.getByRole("alert").getByText(/A company named 'Initech' already exists/).waitFor();

  // Logging an interview there warns, as `interlog log` does: sensitive, and inside working hours.
  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill("initrode");
  await page.getByRole("button", { name: "Save" }).click();
  const detail = page.getByTestId("interview-detail");
  await detail.getByTestId("sensitive").getByText("Sensitive (high): a client of my employer").waitFor();
  const warnings = await page.getByTestId("warning").allTextContents();
  assert.equal(warnings.length, 2, JSON.stringify(warnings));
  assert.equal(warnings[0], "Warning: Initech is marked sensitive (high: a client of my employer); keep this one discreet");
  assert.match(warnings[1], /^Warning: this is inside your working hours \((mon|tue|wed|thu|fri|sat|sun) 00:00-23:59\): block it in your calendar with a neutral title$/);

  // 2. A follow-up about it.
  await more("Follow-ups");
  await page.getByRole("link", { name: "New follow-up" }).click();
  await page.getByLabel("Note", { exact: true }).fill("Send the case study");
  await page.getByLabel("Due").fill("2030-01-15");
  await page.getByLabel("Target").selectOption({ label: "Initech (company)" });
  await page.getByRole("button", { name: "Add the follow-up" }).click();
  await page.getByTestId("followup-detail").getByRole("heading", { name: "Send the case study" }).waitFor();

  // 3. An offer on the Acme opportunity; a level out of range is refused as the CLI refuses it.
  await more("Offers");
  await page.getByRole("link", { name: "New offer" }).click();
  await page.getByLabel("Opportunity").selectOption({ label: "Acme — Staff Engineer" });
  await page.getByLabel("Level", { exact: true }).fill("L6");
  await page.getByLabel("Level delta").fill("5");
  await page.getByRole("button", { name: "Add the offer" }).click();
  await page.getByRole("alert").getByText("level_delta must be a whole number from -3 to 3, not '5'").waitFor();
  await page.getByLabel("Level delta").fill("1");
  await page.getByRole("button", { name: "Add the offer" }).click();
  const offerScreen = page.getByTestId("offer-detail");
  await offerScreen.locator("dd").getByText("Pending", { exact: true }).waitFor();
  // Its package, and a negotiation round, as `interlog offer comp` and `offer round`.
  await offerScreen.getByLabel("Currency").fill("eur");
  await offerScreen.getByLabel("Base", { exact: true }).fill("95k");
  await offerScreen.getByLabel("Bonus").fill("10,000");
  await offerScreen.getByRole("button", { name: "Save the package" }).click();
  await page.getByText("Saved the package.").waitFor();
  await offerScreen.getByText("EUR 95000.00 base + 10000.00 bonus / year").waitFor();
  await offerScreen.getByLabel("You asked (base)").fill("120k");
  await offerScreen.getByLabel("They offered (base)").fill("110.5k");
  await offerScreen.getByRole("button", { name: "Add the round" }).click();
  await page.getByText("Added the round.").waitFor();
  await offerScreen.getByTestId("round").getByText("asked EUR 120000.00 · offered EUR 110500.00").waitFor();
  await offerScreen.locator("dd").getByText("Negotiating", { exact: true }).waitFor();
  // Accepted, as `interlog offer decide`: the opportunity moves to accepted too.
  await offerScreen.getByLabel("Where it stands").selectOption("accepted");
  await offerScreen.getByRole("button", { name: "Save the decision" }).click();
  await page.getByText("Offer accepted.").waitFor();

  // 4. A question: added, deleted, found among the deleted, restored.
  await more("Questions");
  await page.getByRole("link", { name: "New question" }).click();
  await page.getByLabel("Wording").fill("Why Initech?");
  await page.getByRole("button", { name: "Add the question" }).click();
  const question = page.getByTestId("question-detail");
  await question.getByRole("heading", { name: "Why Initech?" }).waitFor();
  await question.getByRole("button", { name: "Delete" }).click();
  await page.getByText("Deleted the question; its screen can restore it.").waitFor();
  assert.equal(await page.getByTestId("question").count(), 0);
  await page.getByRole("link", { name: "Deleted questions" }).click();
  await page.getByTestId("question").getByText("Why Initech?").click();
  await question.getByRole("button", { name: "Restore" }).click();
  await page.getByText("Restored the question.").waitFor();

  // 5. A contact and an opportunity, created from their lists; the opportunity moves on, then I withdraw.
  await page.getByRole("link", { name: "People" }).click();
  await page.getByRole("link", { name: "New contact" }).click();
  await page.getByLabel("Name").fill("Grace Hopper");
  await page.getByLabel("Kind", { exact: true }).selectOption("recruiter");
  await page.getByLabel("Keep in touch days").fill("60");
  await page.getByRole("button", { name: "Add the contact" }).click();
  const grace_ = page.getByTestId("contact-detail");
  await grace_.getByRole("heading", { name: "Grace Hopper" }).waitFor();
  // She moves to Initech, as `interlog contact moved`.
  await grace_.getByLabel("Moved to (company)").fill("Initech");
  await grace_.getByLabel("New title").fill("Head of Talent");
  await grace_.getByLabel("Since").fill("2026-01-05");
  await grace_.getByRole("button", { name: "Record the move" }).click();
  await page.getByText("Noted: Grace Hopper now works at Initech.").waitFor();
  await grace_.getByTestId("job").getByText("Initech · Head of Talent").waitFor();
  await page.getByRole("link", { name: "Opps" }).click();
  await page.getByRole("link", { name: "New opportunity" }).click();
  await page.getByLabel("Company").selectOption({ label: "Initech" });
  await page.getByLabel("Role").fill("Principal Engineer");
  await page.getByLabel("Purpose").fill("market value, network");
  await page.getByLabel("Told recruiter").selectOption("exploring");
  await page.getByRole("button", { name: "Add the opportunity" }).click();
  const opp = page.getByTestId("opportunity-detail");
  await opp.locator("dd").getByText("Lead", { exact: true }).waitFor();
  // The pay as posted and as asked, as `interlog opp comp [--posted]`.
  await opp.getByLabel("Posted currency").fill("EUR");
  await opp.getByLabel("Posted base").fill("150k");
  await opp.getByRole("button", { name: "Save pay as posted" }).click();
  await page.getByText("Saved pay as posted.").waitFor();
  await opp.getByTestId("posted_comp").getByText("EUR 150000.00 base / year").waitFor();
  await opp.getByLabel("Asked base").fill("170k");
  await opp.getByRole("button", { name: "Save pay you asked" }).click();
  await page.getByRole("alert").getByText(/Say which currency/).waitFor();
  await opp.getByLabel("Asked currency").fill("EUR");
  await opp.getByRole("button", { name: "Save pay you asked" }).click();
  await page.getByText("Saved pay you asked.").waitFor();
  await opp.getByLabel("Move to stage").selectOption("screen");
  await opp.getByRole("button", { name: "Move" }).click();
  await page.getByText("Moved to Screen.").waitFor();
  await opp.getByRole("button", { name: "I withdraw" }).click();
  await opp.getByRole("alert").getByText(/Say why you withdraw/).waitFor();
  await opp.getByLabel("Reason").fill("the role is mostly management");
  await opp.getByRole("button", { name: "I withdraw" }).click();
  await page.getByText("Withdrawn.").waitFor();
  await opp.getByText("by me: the role is mostly management (door open)").waitFor();

  // 6. The laptop's interview, deleted on the phone.
  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByTestId("interview").filter({ hasText: "Acme" }).click();
  await page.getByTestId("interview-detail").getByRole("button", { name: "Delete" }).click();
  await page.getByText("Deleted the interview").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // 7. The laptop reads it all.
  laptop.run(["sync"]);
  const ex = JSON.parse(laptop.run(["export", "--format", "json"]));
  const initech = Object.values(ex.companies).find((c) => c.name === "Initech");
  assert.equal(initech.sensitivity, "high");
  assert.equal(initech.sensitivity_reason, "a client of my employer");
  assert.equal(initech.industry, "Software");
  assert.deepEqual(Object.keys(initech.aliases).sort(), ["Initech Corp", "Initrode"]);
  const initechId = Object.keys(ex.companies).find((k) => ex.companies[k] === initech);
  const fu = Object.values(ex.followups).find((f) => f.note === "Send the case study");
  assert.deepEqual([fu.due, fu.kind, fu.done, fu.target], ["2030-01-15", "follow_up", false, initechId]);
  const [offer] = Object.values(ex.offers);
  assert.deepEqual([offer.level, offer.level_delta, offer.decision, offer.opportunity, offer.company], ["L6", 1, "accepted", logged.opportunity, logged.company]);
  const acmeStages = Object.values(ex.opportunities[logged.opportunity].stages).map((e) => e.stage);
  assert.deepEqual(acmeStages.slice(-2), ["offer", "accepted"]);
  assert.deepEqual(offer.comp, { currency: "EUR", base: 11_050_000, bonus: 1_000_000, period: "year" });
  assert.deepEqual(
    Object.values(offer.rounds).map((r) => [r.currency, r.asked, r.offered]),
    [["EUR", 12_000_000, 11_050_000]],
  );
  const q = Object.values(ex.questions).find((x) => x.wording === "Why Initech?");
  assert.equal(q.deleted_at, undefined);
  assert.match(ex.interviews[logged.id].deleted_at, /^\d{4}-/);
  assert.deepEqual(
    laptop.json(["list", "interviews"]).map((i) => ex.companies[i.company].name),
    ["Initech"],
  );
  assert.match(laptop.run(["list", "companies"]), /Initech/);
  const grace = Object.values(ex.contacts).find((c) => c.name === "Grace Hopper");
  assert.deepEqual([grace.kind, grace.keep_in_touch_days], ["recruiter", 60]);
  assert.deepEqual(Object.values(grace.employment), [{ company: initechId, title: "Head of Talent", from: "2026-01-05" }]);
  const principal = Object.values(ex.opportunities).find((o) => o.role === "Principal Engineer");
  assert.equal(principal.company, initechId);
  assert.deepEqual(Object.keys(principal.purpose).sort(), ["market_value", "network"]);
  assert.equal(principal.told_recruiter, "exploring");
  assert.deepEqual(principal.posted_comp, { currency: "EUR", base: 15_000_000, period: "year" });
  assert.deepEqual(principal.asked_comp, { currency: "EUR", base: 17_000_000, period: "year" });
  assert.deepEqual(
    Object.values(principal.stages).map((e) => e.stage),
    ["lead", "screen", "withdrawn"],
  );
  assert.deepEqual([principal.close.by, principal.close.reason, principal.close.door_open], ["me", "the role is mostly management", true]);
  const shownOpp = laptop.run(["show", Object.keys(ex.opportunities).find((k) => ex.opportunities[k] === principal)]);
  assert.match(shownOpp, /withdrawn/);

  // 8. Search finds what `interlog search` finds: the same records, fields and snippets.
  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Search" }).click();
  await page.getByLabel("Search every record").fill("INITECH");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByTestId("hit").first().waitFor();
  const phoneHits = (await page.getByTestId("hit").allTextContents()).sort();
  const cliHits = laptop
    .json(["search", "INITECH"])
    .map((h) => `${h.title}${h.record} · ${h.field}: ${h.snippet}`)
    .sort();
  assert.ok(cliHits.length >= 3, JSON.stringify(cliHits));
  assert.deepEqual(phoneHits, cliHits);
});

test("every kind the laptop wrote is edited and deleted on the phone, and the laptop's lists no longer show it", { timeout: 180 * SECOND }, async () => {
  const relay = await startRelay();
  const laptop = device();
  laptop.run(["init"]);
  const company = laptop.json(["company", "add", "Globex"]).id;
  const contact = laptop.json(["contact", "add", "Hank Scorpio", "--company", "Globex"]).id;
  const opp = laptop.json(["opp", "add", "Globex", "--role", "Villain"]).id;
  const interview = laptop.json(["log", "Globex", "--role", "Villain", "--kind", "technical"]).id;
  const offer = laptop.json(["offer", "add", opp]).id;
  const followup = laptop.json(["followup", "add", "Thank Hank", "--due", "tomorrow"]).id;
  const question = laptop.json(["question", "add", "What is a monad?"]).id;
  laptop.run(["sync", "--relay", relay.ws]);
  const code = laptop.json(["pair"]).code;

  const { page, sync } = await joinedPhone(relay, code);

  // Each record edited with its form, as `interlog edit ID --set notes=…` would.
  const edits = { offer: ["Notes", "counter at 140k"], followup: ["Notes", "mention the case study"], question: ["Notes", "say what a functor is first"], contact: ["Notes", "met at RustConf"], opportunity: ["Level", "L7"] };
  const forms = { opportunity: `#/opportunities/${opp}/edit`, contact: `#/contacts/${contact}/edit` };
  for (const [kind, [label, value]] of Object.entries(edits)) {
    const id = { offer, followup, question, contact, opportunity: opp }[kind];
    await page.evaluate((h) => (location.hash = h), forms[kind] ?? `#/r/${kind}/${id}/edit`);
    const form = page.getByTestId(`${kind}-form`);
    await form.getByLabel(label, { exact: true }).fill(value);
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByTestId(`${kind}-detail`).getByText(value).waitFor();
  }
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });
  laptop.run(["sync"]);
  const edited = JSON.parse(laptop.run(["export", "--format", "json"]));
  assert.deepEqual(
    [edited.offers[offer].notes, edited.followups[followup].notes, edited.questions[question].notes, edited.contacts[contact].notes, edited.opportunities[opp].level],
    ["counter at 140k", "mention the case study", "say what a functor is first", "met at RustConf", "L7"],
  );

  // Each record's own screen (as a link from its list opens it), then Delete.
  const screens = { interview: `#/interviews/${interview}`, opportunity: `#/opportunities/${opp}`, contact: `#/contacts/${contact}` };
  const names = { company: "company", contact: "contact", opportunity: "opportunity", interview: "interview", offer: "offer", followup: "follow-up", question: "question" };
  const ids = { offer, followup, question, interview, contact, opportunity: opp, company };
  for (const [kind, id] of Object.entries(ids)) {
    await page.evaluate((h) => (location.hash = h), screens[kind] ?? `#/r/${kind}/${id}`);
    const detail = page.getByTestId(`${kind}-detail`);
    await detail.waitFor();
    await detail.getByRole("button", { name: "Delete" }).click();
    await page.getByText(new RegExp(`^Deleted the ${names[kind]}`)).waitFor();
  }
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  laptop.run(["sync"]);
  const ex = JSON.parse(laptop.run(["export", "--format", "json"]));
  const plural = { company: "companies", contact: "contacts", opportunity: "opportunities", interview: "interviews", offer: "offers", followup: "followups", question: "questions" };
  for (const [kind, id] of Object.entries(ids)) {
    assert.match(ex[plural[kind]][id]?.deleted_at ?? "", /^\d{4}-/, `${kind} ${id} deleted on the laptop too`);
  }
  for (const list of ["companies", "contacts", "opps", "interviews", "offers", "followups", "questions"]) {
    assert.deepEqual(laptop.json(["list", list]), [], `interlog list ${list} shows nothing`);
  }
});
