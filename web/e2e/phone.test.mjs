// The phone and the laptop, end to end: the app (built, served by a real
// relay over https) joins the vault of a CLI device, logs an interview
// offline, syncs it when the network is back, and shows an edit made on the
// laptop.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { cleanup, device, phone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;

test("a phone joins, logs offline, syncs, and sees the laptop's edit", { timeout: 180 * SECOND }, async () => {
  // https, as a phone needs for offline use (a service worker needs a
  // secure context, and only localhost is one over plain http).
  const relay = await startRelay({ tls: true });
  const laptop = device();
  laptop.run(["init"]);
  laptop.run(["log", "Acme", "--role", "Staff Engineer", "--kind", "technical", "--rating", "4"]);
  laptop.run(["sync", "--relay", relay.ws, "--pin", relay.pin]);
  const code = laptop.json(["pair"]).code;
  assert.match(code, /^interlog1:/);

  const { context, page } = await phone({ pin: relay.pin });
  await page.goto(`${relay.origin}/app/`);
  assert.equal(await page.evaluate(() => window.isSecureContext && location.protocol), "https:");
  await page.getByRole("heading", { name: "Join your vault" }).waitFor();
  assert.ok(await page.locator("#offline-note").isHidden(), "on 127.0.0.1 the app works offline and says nothing about it");

  // A bad code gets a clear message, and nothing is joined.
  await page.getByLabel("Join code").fill("interlog1:not-hex");
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("alert").getByText("not an Interlog join code").waitFor();

  // 1. Join the laptop's vault.
  await page.getByLabel("Join code").fill(code);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
  const sync = page.locator("#sync");
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });
  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByTestId("interview").getByText("Acme · Technical").waitFor();

  // The service worker holds the app, so it also starts offline.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20 * SECOND });

  // 2. Offline: reload from the service worker and log an interview.
  await context.setOffline(true);
  await sync.getByText("Offline").waitFor();
  await page.reload();
  await sync.getByText("Offline").waitFor();
  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill("Initech");
  await page.getByLabel("Role").fill("Tech Lead");
  await page.getByRole("button", { name: "Hiring manager" }).click();
  await page.locator(".rating").getByRole("button", { name: "5" }).click();
  await page.getByLabel("Note").fill("logged offline on the train");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").getByRole("heading", { name: "Initech · Hiring manager" }).waitFor();
  assert.equal((await sync.textContent())?.trim(), "Offline · 1 change pending");

  laptop.run(["sync"]);
  const before = laptop.json(["list", "interviews"]);
  assert.equal(before.length, 1, "nothing left the phone while offline");

  // 3. Back online: the change goes out, and the laptop sees it.
  await context.setOffline(false);
  await sync.getByText("Synced").waitFor({ timeout: 30 * SECOND });
  laptop.run(["sync"]);
  const interviews = laptop.json(["list", "interviews"]);
  assert.equal(interviews.length, 2);
  assert.ok(
    interviews.some((i) => i.notes === "logged offline on the train"),
    `the laptop lists the phone's interview: ${JSON.stringify(interviews)}`,
  );
  const exported = JSON.parse(laptop.run(["export", "--format", "json"]));
  const [id, iv] = Object.entries(exported.interviews).find(([, i]) => i.notes === "logged offline on the train");
  assert.equal(iv.rating, 5);
  assert.equal(iv.kind, "hiring_manager");
  assert.equal(iv.status, "done");
  assert.match(iv.start, /\[Europe\/Paris\]$/);
  const opp = exported.opportunities[iv.opportunity];
  assert.equal(opp.role, "Tech Lead");
  assert.equal(exported.companies[iv.company].name, "Initech");
  const shown = laptop.run(["show", id]);
  assert.match(shown, /logged offline on the train/);

  // 4. The laptop edits it; the phone shows the edit without a reload.
  laptop.run(["edit", id, "--set", "notes=edited on the laptop", "--set", "rating=3"]);
  laptop.run(["sync"]);
  await page.locator('[data-field="notes"]').getByText("edited on the laptop").waitFor({ timeout: 30 * SECOND });
  await page.getByText("★★★☆☆").waitFor();
  await sync.getByText("Synced").waitFor();
});

test("over plain http from another host, the app says in one line that offline use needs https", { timeout: 60 * SECOND }, async () => {
  const { addr } = await startRelay();
  const port = addr.split(":").pop();
  const { page } = await phone({ hosts: { "relay.lan.test": "127.0.0.1" } });
  await page.goto(`http://relay.lan.test:${port}/app/`);
  await page.getByRole("heading", { name: "Join your vault" }).waitFor();
  assert.equal(await page.evaluate(() => window.isSecureContext), false);
  const note = page.getByRole("note");
  await note.waitFor();
  assert.equal(
    (await note.textContent())?.trim(),
    "Offline use needs https: this page was opened over plain http, so the browser won't keep it for offline use. See docs/phone.md.",
  );
  assert.equal(await page.evaluate(() => navigator.serviceWorker?.controller ?? null), null);
});
