// After the call, on the phone, end to end with a real relay, the real CLI
// and chromium at a phone's size: an interview logged "an hour ago", its
// retro (rating, prose, rated questions, a resume item), a follow-up ticked
// done and a contact marked touched on Today, the profile set; the laptop
// reads all of it after a sync, as `interlog` wrote it.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { cleanup, device, phone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;
const MINUTE = 60 * SECOND;

test("log an hour ago, write the retro, tick Today, and the laptop sees it all", { timeout: 180 * SECOND }, async () => {
  const relay = await startRelay();
  const laptop = device();
  laptop.run(["init"]);
  laptop.run(["log", "Acme", "--kind", "technical"]);
  const followup = laptop.json(["followup", "add", "Send thanks to Acme", "--due", "today"]).id;
  const ada = laptop.json(["contact", "add", "Ada Lovelace", "--keep-in-touch", "30"]).id;
  laptop.run(["contact", "touched", ada, "--on", "2025-01-01"]);
  laptop.run(["sync", "--relay", relay.ws]);
  const code = laptop.json(["pair"]).code;

  const { page } = await phone();
  await page.goto(`${relay.origin}/app/`);
  await page.getByLabel("Join code").fill(code);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
  const sync = page.locator("#sync");
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // 1. Logged an hour after it started, on the train.
  const tapped = Date.now();
  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill("Globex");
  await page.getByRole("button", { name: "An hour ago", exact: true }).click();
  await page.getByRole("button", { name: "System design" }).click();
  await page.getByLabel("With (names, comma-separated)").fill("Linus Torvalds");
  await page.getByLabel("Minutes").fill("50");
  await page.getByRole("button", { name: "Save" }).click();
  const detail = page.getByTestId("interview-detail");
  await detail.getByRole("heading", { name: "Globex · System design" }).waitFor();

  // 2. The retro, from the interview's screen.
  await detail.getByRole("link", { name: "Retro" }).click();
  const retro = page.getByTestId("retro");
  await retro.locator(".rating").first().getByRole("button", { name: "4" }).click();
  await page.getByLabel("What went well").fill("Drew the queue before the API");
  await page.getByLabel("What to improve").fill("Ask about the read/write ratio first");
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 1").fill("Design a rate limiter");
  await page.getByTestId("retro-question").nth(0).getByRole("button", { name: "2" }).click();
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 2").fill("Why Globex?");
  await page.getByRole("button", { name: "Add a resume item" }).click();
  await page.getByLabel("Resume item 1").fill("Kafka migration");
  // The text is shown as text, never as markup.
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 3").fill("<img src=x onerror=alert(1)>");
  await page.getByTestId("retro-question").nth(2).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("button", { name: "Save retro" }).click();
  await detail.getByTestId("questions-asked").getByText("Design a rate limiter").waitFor();
  await detail.getByTestId("questions-asked").getByText("★★☆☆☆").waitFor();
  await detail.getByTestId("questions-asked").getByText("not rated").waitFor();
  await detail.getByTestId("resume-items").getByText("Kafka migration").waitFor();
  await page.getByText("Retro saved").waitFor();

  // 3. Today: the follow-up ticked done, Ada marked touched.
  await page.getByRole("link", { name: "Today" }).click();
  const row = page.getByTestId("followup").filter({ hasText: "Send thanks to Acme" });
  await row.getByRole("button", { name: "Done" }).click();
  await page.getByText("Follow-up done.").waitFor();
  assert.equal(await page.getByTestId("followup").count(), 0);
  const ada_ = page.getByTestId("reconnect-row").filter({ hasText: "Ada Lovelace" });
  await ada_.getByRole("button", { name: "In touch today" }).click();
  await page.getByText("Noted: in touch with Ada Lovelace.").waitFor();
  assert.equal(await page.getByTestId("reconnect-row").count(), 0);
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // 4. The profile: working hours refused as the CLI refuses them, then saved with the rest.
  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Your profile" }).click();
  await page.getByLabel("Current role").fill("Staff Engineer");
  await page.getByLabel("Interviews a month (goal)").fill("4");
  await page.getByLabel("Working hours").fill("9-18");
  // `interlog init` sets mon to fri: Monday off, Saturday on.
  await page.getByRole("group", { name: "Working days" }).getByRole("button", { name: "Mon" }).click();
  await page.getByRole("group", { name: "Working days" }).getByRole("button", { name: "Sat" }).click();
  await page.getByLabel("Currency").fill("EUR");
  await page.getByLabel("Base", { exact: true }).fill("120k");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("alert").getByText("Working hours take HH:MM-HH:MM, e.g. 09:00-18:00, not '9-18'").waitFor();
  await page.getByLabel("Working hours").fill("09:00-18:00");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved your profile.").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // Ada joins the interviewers afterwards, by name, as `edit --set interviewers=…`.
  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByTestId("interview").filter({ hasText: "Globex" }).click();
  await page.getByTestId("interview-detail").getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Interviewers").fill("Linus Torvalds, ada lovelace, Nobody");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("alert").getByText("no contact is named or has an id starting with 'Nobody'; People lists them").waitFor();
  await page.getByLabel("Interviewers").fill("Linus Torvalds, ada lovelace");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").getByText("Linus Torvalds, Ada Lovelace").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // 5. The laptop reads what the phone wrote, as its own commands would have.
  laptop.run(["sync"]);
  const ex = JSON.parse(laptop.run(["export", "--format", "json"]));
  const [, iv] = Object.entries(ex.interviews).find(([, i]) => ex.companies[i.company].name === "Globex");
  const started = Date.parse(iv.start.replace(/\[.*\]$/, ""));
  assert.ok(Math.abs(tapped - MINUTE * 60 - started) < 2 * MINUTE, `started an hour before the tap: ${iv.start}`);
  assert.equal(iv.status, "done");
  assert.equal(iv.kind, "system_design");
  assert.equal(iv.duration_min, 50);
  const met = Object.keys(iv.interviewers).map((c) => ex.contacts[c]);
  assert.deepEqual(met.map((c) => c.name).sort(), ["Ada Lovelace", "Linus Torvalds"]);
  const linus = met.find((c) => c.name === "Linus Torvalds");
  assert.equal(linus.kind, "interviewer");
  assert.deepEqual(Object.values(linus.employment).map((j) => j.company), [iv.company]);
  assert.equal(iv.rating, 4);
  assert.equal(iv.went_well, "Drew the queue before the API");
  assert.equal(iv.improve, "Ask about the read/write ratio first");
  const asked = Object.fromEntries(Object.entries(iv.questions).map(([qid, r]) => [ex.questions[qid].wording, r]));
  assert.deepEqual(asked, { "Design a rate limiter": 2, "Why Globex?": null });
  assert.deepEqual(Object.keys(iv.resume_items), ["Kafka migration"]);
  assert.equal(ex.followups[followup].done, true);
  assert.equal(ex.contacts[ada].last_contacted, new Date().toLocaleDateString("sv-SE", { timeZone: "Europe/Paris" }));
  assert.deepEqual(Object.keys(ex.profile.work_days).filter((d) => ex.profile.work_days[d]).sort(), ["fri", "sat", "thu", "tue", "wed"]);
  assert.deepEqual([ex.profile.role, ex.profile.monthly_goal, ex.profile.work_start, ex.profile.work_end], ["Staff Engineer", 4, "09:00", "18:00"]);
  assert.deepEqual(ex.profile.comp, { currency: "EUR", base: 12_000_000, period: "year" });
  const today = laptop.json(["today"]);
  assert.deepEqual(today.followups, []);
  assert.deepEqual(today.reconnect, []);
  const shown = laptop.run(["show", Object.keys(ex.interviews).find((k) => ex.interviews[k] === iv)]);
  assert.match(shown, /Design a rate limiter/);
});
