// Takes the screenshots in docs/phone/ at phone size (390×844), with the same
// relay, CLI and chromium as the end-to-end test: `npm run screenshots`.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { cleanup, device, phone, root, startRelay } from "./harness.mjs";

const out = join(root, "docs/phone");
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
mkdirSync(out, { recursive: true });

try {
  const relay = await startRelay();
  const { addr } = relay;
  const laptop = device();
  laptop.run(["init"]);
  laptop.run(["contact", "add", "Ana Lima", "--kind", "recruiter", "--company", "Acme", "--email", "ana@acme.example", "--met", "Rust meetup", "--keep-in-touch", "30", "--set", `last_contacted=${daysAgo(45)}`]);
  laptop.run(["contact", "add", "Sam Ortiz", "--kind", "hiring_manager", "--company", "Globex", "--keep-in-touch", "60"]);
  laptop.run(["log", "Acme", "--role", "Staff Engineer", "--kind", "recruiter_screen", "--rating", "4", "--at", `${daysAgo(9)} 10:00`, "--note", "Ana: team of 8, platform work"]);
  laptop.run(["log", "Acme", "--role", "Staff Engineer", "--kind", "system_design", "--rating", "3", "--at", `${daysAgo(2)} 14:00`, "--with", "Sam Ortiz"]);
  laptop.run(["log", "Globex", "--role", "Tech Lead", "--kind", "hiring_manager", "--rating", "5", "--at", `${daysAgo(1)} 16:30`]);
  laptop.run(["followup", "add", "Thank Sam for the design round", "--kind", "thank_you", "--for", "Sam Ortiz", "--due", "today"]);
  laptop.run(["followup", "add", "Ask Ana about the offer timeline", "--for", "Ana Lima", "--due", daysAgo(1)]);
  laptop.run(["sync", "--relay", `ws://${addr}`]);
  const code = laptop.json(["pair"]).code;

  const { context, page } = await phone();
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`) });
  await page.goto(`http://${addr}/app/`);
  await page.getByRole("heading", { name: "Join your vault" }).waitFor();
  await page.getByLabel("Join code").fill(code);
  await shot("join");
  await page.getByText("Lost every device? Recover with your 24 words").click();
  await page.getByRole("button", { name: "Recover" }).scrollIntoViewIfNeeded();
  await shot("recover");
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20_000 });
  await shot("today");

  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill("Initech");
  await page.getByLabel("Role").fill("Principal Engineer");
  await page.getByRole("button", { name: "An hour ago", exact: true }).click();
  await page.getByRole("button", { name: "Technical" }).click();
  await page.locator(".rating").getByRole("button", { name: "4" }).click();
  await page.getByLabel("Note").fill("Graph problem, went fine. They use Rust.");
  await shot("log");

  await context.setOffline(true);
  await page.locator("#sync").getByText("Offline").waitFor();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").waitFor();
  await shot("interview-offline");
  await context.setOffline(false);
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 30_000 });

  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByTestId("interview").first().waitFor();
  await shot("interviews");
  await page.getByTestId("interview").first().click();
  await page.getByRole("link", { name: "Edit" }).click();
  await shot("interview-edit");

  // The retro of the same interview.
  await page.evaluate(() => (location.hash = location.hash.replace(/\/edit$/, "/retro")));
  await page.getByTestId("retro").waitFor();
  await page.getByLabel("What went well").fill("Explained the trade-offs before coding");
  await page.getByLabel("What to improve").fill("Ask about scale first");
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 1").fill("Shortest path with road closures");
  await page.getByTestId("retro-question").nth(0).getByRole("button", { name: "4" }).click();
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 2").fill("Why are you looking?");
  await page.getByTestId("retro-question").nth(1).getByRole("button", { name: "3" }).click();
  await page.getByRole("button", { name: "Add a resume item" }).click();
  await page.getByLabel("Resume item 1").fill("Routing service rewrite");
  await page.getByRole("heading", { name: "Questions asked" }).scrollIntoViewIfNeeded();
  await shot("retro");
  await page.getByRole("button", { name: "Save retro" }).click();
  await page.getByTestId("questions-asked").scrollIntoViewIfNeeded();
  await shot("interview-retro");

  await page.getByRole("link", { name: "Opps" }).click();
  await page.getByTestId("opportunity").first().waitFor();
  await shot("opportunities");
  await page.getByTestId("opportunity").first().click();
  await shot("opportunity");

  await page.getByRole("link", { name: "People" }).click();
  await page.getByTestId("contact").first().waitFor();
  await shot("contacts");
  await page.getByTestId("contact").first().click();
  await shot("contact");

  await page.getByRole("link", { name: "More" }).click();
  await page.getByRole("heading", { name: "More" }).waitFor();
  await shot("more");
  await page.getByTestId("more-kind").filter({ hasText: "Companies" }).click();
  await page.getByRole("link", { name: "New company" }).click();
  await page.getByLabel("Name").fill("Hooli");
  await page.getByLabel("Industry").fill("Search");
  await page.getByLabel("Sensitivity", { exact: true }).selectOption("high");
  await page.getByLabel("Sensitivity reason").fill("our biggest client");
  await shot("company-new");
  await page.getByRole("button", { name: "Add the company" }).click();
  await page.getByTestId("company-detail").waitFor();
  await shot("company");
  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill("Hooli");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("warning").first().waitFor();
  await shot("log-warning");
  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Offers" }).click();
  await page.getByRole("link", { name: "New offer" }).click();
  await page.getByLabel("Opportunity").selectOption({ label: "Acme — Staff Engineer" });
  await page.getByLabel("Level", { exact: true }).fill("L6");
  await page.getByLabel("Level delta").fill("1");
  await page.getByRole("button", { name: "Add the offer" }).click();
  await page.getByTestId("offer-detail").waitFor();
  const pay = page.getByTestId("comp-controls");
  await pay.getByLabel("Currency").fill("EUR");
  await pay.getByLabel("Base", { exact: true }).fill("120k");
  await pay.getByLabel("Bonus").fill("12k");
  await pay.getByRole("button", { name: "Save the package" }).click();
  await page.getByText("Saved the package.").waitFor();
  await shot("offer");
  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Follow-ups" }).click();
  await page.getByTestId("followup").first().waitFor();
  await shot("followups");

  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Your profile" }).click();
  await page.getByLabel("Current role").fill("Senior Engineer");
  await page.getByLabel("Interviews a month (goal)").fill("3");
  await page.getByLabel("Working hours").fill("09:00-18:00");
  await page.getByLabel("Currency").fill("EUR");
  await page.getByLabel("Base", { exact: true }).fill("95k");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved your profile.").waitFor();
  await shot("profile");

  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Stats" }).click();
  await page.getByTestId("stats").waitFor();
  await shot("stats");
  // Below the months: the funnel, then the offers against the package, as charts.
  await page.evaluate(() => {
    document.querySelector("[aria-label^='How many opportunities']").scrollIntoView();
    scrollBy(0, -120);
  });
  await shot("stats-funnel");
  await page.evaluate(() => {
    document.querySelector("[aria-label^='Offers a year']").scrollIntoView({ block: "end" });
    scrollBy(0, 90);
  });
  await shot("stats-offers");

  await page.getByRole("link", { name: "More" }).click();
  await page.getByTestId("more-kind").filter({ hasText: "Search" }).click();
  await page.getByLabel("Search every record").fill("acme");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByTestId("hit").first().waitFor();
  await shot("search");

  // A conflict: the laptop and the phone (offline) edit the same notes.
  const [first] = laptop.json(["list", "interviews"]);
  await context.setOffline(true);
  await page.locator("#sync").getByText("Offline").waitFor();
  await page.evaluate((id) => (location.hash = `#/interviews/${id}/edit`), first.id);
  await page.getByLabel("Notes").fill("Ana: team of 8, platform work, on-call 1 week in 6");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").waitFor();
  laptop.run(["edit", first.id, "--set", "notes=Ana: team of 8; they use Rust and Kafka"]);
  laptop.run(["sync"]);
  await context.setOffline(false);
  await page.getByTestId("conflicted").waitFor({ timeout: 30_000 });
  await page.getByTestId("conflicted").getByRole("link").click();
  await page.getByTestId("conflict").first().waitFor();
  await shot("conflicts");

  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await shot("settings");
  await page.getByRole("button", { name: "Leave this vault" }).click();
  await page.getByTestId("leave-warning").scrollIntoViewIfNeeded();
  await shot("leave");

  // The relay's data is deleted: the phone registers the vault again.
  await relay.restart({ wipe: true });
  await page.getByRole("link", { name: "Today" }).click();
  await page.locator("#sync").click();
  await page.getByTestId("relay-note").getByText("no longer knew this vault").waitFor({ timeout: 30_000 });
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20_000 });
  await shot("reseeded");
  console.log(`screenshots written to ${out}`);
} finally {
  cleanup();
}
