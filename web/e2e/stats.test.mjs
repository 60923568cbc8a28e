// Stats on the phone are `interlog stats`: end to end with a real relay, the
// real CLI and chromium at a phone's size, the phone's tables (months, the
// funnel, most asked and weakest questions, offers against the current
// package) hold the same numbers as `interlog stats --json` on the laptop.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { cleanup, device, joinedPhone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

test("the phone's stats hold the same numbers as interlog stats", { timeout: 180 * SECOND }, async () => {
  const relay = await startRelay();
  const laptop = device();
  laptop.run(["init"]);
  laptop.run(["profile", "set", "--goal", "2", "--currency", "EUR", "--base", "100k", "--bonus", "10k"]);
  const acme = laptop.json(["log", "Acme", "--role", "Staff", "--kind", "technical", "--rating", "4", "--at", `${daysAgo(1)} 10:00`]);
  laptop.run(["log", "Acme", "--role", "Staff", "--kind", "system_design", "--rating", "3", "--at", `${daysAgo(2)} 11:00`]);
  laptop.run(["log", "Globex", "--kind", "recruiter_screen", "--rating", "2", "--at", `${daysAgo(70)} 09:30`]);
  laptop.run(["log", "Initech", "--kind", "behavioral", "--at", `${daysAgo(150)} 15:00`]);
  laptop.run(["offer", "add", acme.opportunity, "--base", "120k", "--bonus", "15k", "--level", "L6", "--level-delta", "1"]);
  laptop.run(["sync", "--relay", relay.ws]);
  const code = laptop.json(["pair"]).code;

  const { page, sync } = await joinedPhone(relay, code);

  // Rated questions, from a retro on the phone.
  await page.evaluate((id) => (location.hash = `#/interviews/${id}/retro`), acme.id);
  for (const [i, [q, r]] of [["Design a cache", "2"], ["Why Acme?", "5"], ["Tell me about a conflict", null]].entries()) {
    await page.getByRole("button", { name: "Add a question" }).click();
    await page.getByLabel(`Question ${i + 1}`).fill(q);
    if (r) await page.getByTestId("retro-question").nth(i).getByRole("button", { name: r }).click();
  }
  await page.getByRole("button", { name: "Save retro" }).click();
  await page.getByText("Retro saved").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });
  laptop.run(["sync"]);
  const cli = laptop.json(["stats"]);

  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Stats" }).click();
  const rows = (testid) =>
    page.getByTestId(testid).locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  const avg = (r) => (r === null || r === undefined ? "" : r.toFixed(1));

  assert.deepEqual(
    await rows("stats-months"),
    cli.months.map((m) => [m.month, String(m.interviews), m.goal === null ? "" : m.interviews >= m.goal ? `${m.goal} ✓` : String(m.goal), avg(m.avg_rating)]),
  );
  assert.deepEqual(
    await rows("stats-funnel"),
    cli.funnel.map((f) => [f.source, ...cli.funnel_stages.map((s) => String(f.reached[s]))]),
  );
  for (const [testid, key] of [["stats-most-asked", "most_asked"], ["stats-weakest", "weakest"]]) {
    assert.deepEqual(await rows(testid), cli[key].map((q) => [q.wording, String(q.asked), avg(q.avg_rating)]), testid);
  }
  assert.equal(cli.most_asked.length, 3);
  const offers = await rows("stats-offers");
  assert.equal(offers.length, cli.offers.length);
  assert.equal(cli.offers.length, 1);
  const [o] = cli.offers;
  assert.deepEqual(offers[0], ["Acme", "L6", "+1", o.decision, "EUR 135000.00", `+${o.vs_current_pct.toFixed(1)}%`]);
  assert.equal(o.annual_total, 13_500_000);
  assert.equal(cli.current_annual_total, 11_000_000);
  // The charts are drawn from the same numbers: a bar a month; a bar a stage,
  // each as many as reached it from every source; the offer beside the
  // current package.
  const chart = (label) => page.locator(`svg.chart[aria-label^="${label}"]`);
  assert.equal(await chart("Interviews per month").locator("rect.bar").count(), cli.months.length);
  const reached = cli.funnel_stages.map((s) => `${s}: ${cli.funnel.reduce((n, f) => n + f.reached[s], 0)}`);
  assert.deepEqual(await chart("How many opportunities").locator("rect.bar title").allTextContents(), reached);
  assert.deepEqual(await chart("Offers a year").locator("rect.bar title").allTextContents(), ["Acme: 135000.00"]);
  await chart("Offers a year").getByText("now 110000.00").waitFor();
});
