// A conflict resolved on the phone, end to end with a real relay, the real
// CLI and chromium at a phone's size: the phone (offline) and the laptop
// edit the same field at once; once both have synced, the phone lists the
// conflict with both values and who wrote each, keeps the phone's value,
// and the laptop, after a sync, has that value and no conflict left.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { cleanup, device, joinedPhone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;

test("a field edited on the phone and the laptop at once: the phone picks a value, the laptop sees it", { timeout: 180 * SECOND }, async () => {
  const relay = await startRelay();
  const laptop = device();
  laptop.run(["init"]);
  const logged = laptop.json(["log", "Acme", "--kind", "technical", "--note", "first notes"]);
  laptop.run(["sync", "--relay", relay.ws]);
  const code = laptop.json(["pair"]).code;

  const { context, page, sync } = await joinedPhone(relay, code);

  // 1. Offline on the train, the phone edits the notes...
  await context.setOffline(true);
  await sync.getByText("Offline").waitFor();
  await page.evaluate((id) => (location.hash = `#/interviews/${id}/edit`), logged.id);
  await page.getByLabel("Notes").fill("from the phone");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").getByText("from the phone").waitFor();
  // ... while the laptop edits them too, and syncs.
  laptop.run(["edit", logged.id, "--set", "notes=from the laptop"]);
  laptop.run(["sync"]);

  // 2. Back online: both edits meet, and the phone says so.
  await context.setOffline(false);
  await sync.getByText("Synced").waitFor({ timeout: 30 * SECOND });
  await page.getByTestId("interview-detail").getByTestId("conflicted").waitFor({ timeout: 30 * SECOND });
  await page.getByTestId("conflicted").getByRole("link", { name: "Pick the value to keep" }).click();
  const conflict = page.getByTestId("conflict");
  await conflict.first().waitFor();
  assert.equal(await conflict.count(), 1);
  const text = await conflict.textContent();
  assert.match(text, /interview .* · notes/);
  assert.match(text, /"from the phone" \[this phone\]/);
  assert.match(text, /"from the laptop" \[device [0-9a-f]{8}\]/);
  // The laptop lists the same conflict.
  laptop.run(["sync"]);
  const listed = laptop.json(["conflicts"]);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].field, "notes");

  // 3. Keep the phone's value.
  await conflict.locator(".conflict-value").filter({ hasText: "from the phone" }).getByRole("button", { name: "Keep this" }).click();
  await page.getByText(/Kept "from the phone" for interview/).waitFor();
  await page.getByText("No conflicts.").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 30 * SECOND });

  // 4. The laptop has the phone's value, and no conflict left.
  laptop.run(["sync"]);
  assert.deepEqual(laptop.json(["conflicts"]), []);
  const [iv] = laptop.json(["list", "interviews"]);
  assert.equal(iv.notes, "from the phone");

  // 5. Its start moved with the time picker, in the phone's zone, as `edit --set start=…`.
  await page.evaluate((id) => (location.hash = `#/interviews/${id}/edit`), logged.id);
  await page.getByLabel("Start").fill("2026-11-20T14:30");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved the interview.").waitFor();
  await sync.getByText("Synced").waitFor({ timeout: 30 * SECOND });
  laptop.run(["sync"]);
  const [moved] = laptop.json(["list", "interviews"]);
  assert.equal(moved.start, "2026-11-20T14:30:00+01:00[Europe/Paris]");
  assert.equal(moved.notes, "from the phone", "the fields not changed on the form stay as they were");
});
