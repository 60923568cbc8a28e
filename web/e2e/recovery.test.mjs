// The relay is disposable and the journal recoverable, from the phone, end
// to end with real relay processes, the real CLI and chromium: the phone
// re-seeds a wiped relay, restores a journal from the 24 words, leaves a
// vault, and moves the vault to another relay.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import * as A from "@automerge/automerge";
import { entropyToMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";

import { cleanup, device, phone, startRelay } from "./harness.mjs";

after(cleanup);

const SECOND = 1000;

/** A laptop with one interview, synced to `relay`, and its join code. */
function laptopOn(relay) {
  const laptop = device();
  laptop.run(["init"]);
  laptop.run(["log", "Acme", "--role", "Staff Engineer", "--kind", "technical", "--rating", "4"]);
  laptop.run(["sync", "--relay", relay.ws]);
  return { laptop, code: laptop.json(["pair"]).code };
}

/** The laptop's key file: relay, vault id and the vault key in hex. */
function keyFile(laptop) {
  return JSON.parse(readFileSync(join(laptop.home, "vault.key"), "utf8"));
}

/** A join code for the laptop's vault at another relay. */
function codeFor(laptop, relay) {
  const { vault, key } = keyFile(laptop);
  return "interlog1:" + Buffer.from(JSON.stringify({ relay: relay.ws, vault, key })).toString("hex");
}

/** The companies of every interview a CLI device holds, sorted. */
function companies(dev) {
  const ex = JSON.parse(dev.run(["export", "--format", "json"]));
  return Object.values(ex.interviews)
    .map((i) => ex.companies[i.company].name)
    .sort();
}

/** A phone on `relay`'s app that joined with `code`. */
async function joinedPhone(relay, code) {
  const p = await phone();
  await p.page.goto(`${relay.origin}/app/`);
  await p.page.getByLabel("Join code").fill(code);
  await p.page.getByRole("button", { name: "Join", exact: true }).click();
  await p.page.getByRole("heading", { name: "Today", exact: true }).waitFor();
  await p.page.locator("#sync").getByText("Synced").waitFor({ timeout: 20 * SECOND });
  return p;
}

async function logOnPhone(page, company) {
  await page.getByRole("link", { name: "+ Log" }).click();
  await page.getByLabel("Company").fill(company);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("interview-detail").waitFor();
}

/** The interviews the phone lists, by company, sorted. */
async function phoneCompanies(page) {
  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByTestId("interview").first().waitFor();
  const titles = await page.getByTestId("interview").locator(".title").allTextContents();
  return titles.map((t) => t.split(" · ")[0]).sort();
}

test("a wiped relay: the phone registers the vault again, and a new device gets everything", { timeout: 120 * SECOND }, async () => {
  const relay = await startRelay();
  const { code } = laptopOn(relay);
  const { page } = await joinedPhone(relay, code);
  const sync = page.locator("#sync");
  await logOnPhone(page, "Initech");
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // The operator stops the relay, deletes its data and starts it again.
  await relay.restart({ wipe: true });
  await sync.click(); // reconnect now rather than after the backoff
  const note = page.getByTestId("relay-note");
  await note.getByText("no longer knew this vault").waitFor({ timeout: 30 * SECOND });
  await sync.getByText("Synced").waitFor({ timeout: 20 * SECOND });

  // A new device joins the re-seeded relay (same vault, same key, same
  // code) and ends with what the phone has.
  const fresh = device();
  fresh.run(["join", code]);
  const onPhone = await phoneCompanies(page);
  assert.deepEqual(onPhone, ["Acme", "Initech"]);
  assert.deepEqual(companies(fresh), onPhone);
});

test("the 24 recovery words and the relay's address restore the journal on a fresh phone", { timeout: 120 * SECOND }, async () => {
  const relay = await startRelay();
  const { laptop } = laptopOn(relay);
  laptop.run(["log", "Globex", "--kind", "behavioral"]);
  laptop.run(["sync"]);
  const words = entropyToMnemonic(Buffer.from(keyFile(laptop).key, "hex"), wordlist);

  const { page } = await phone();
  await page.goto(`${relay.origin}/app/`);
  await page.getByText("Lost every device? Recover with your 24 words").click();
  assert.equal(await page.getByLabel("Relay address").inputValue(), relay.origin);
  const alert = page.locator(".recover").getByRole("alert");

  // A mistyped word is named by its place, and no word is repeated.
  const typo = words.split(" ");
  typo[4] = "notaword";
  await page.getByLabel("Recovery words").fill(typo.join(" "));
  await page.getByRole("button", { name: "Recover" }).click();
  await alert.getByText("word 5 is not in the BIP39 English list").waitFor();
  assert.equal(
    (await alert.textContent()).trim(),
    "Those are not recovery words of a vault: word 5 is not in the BIP39 English list. Check each word against what you wrote down (24 words, in order).",
    "the words are a secret: never shown back",
  );

  // Words of a key the relay has no vault for.
  await page.getByLabel("Recovery words").fill(entropyToMnemonic(new Uint8Array(32).fill(3), wordlist));
  await page.getByRole("button", { name: "Recover" }).click();
  await alert.getByText("This relay holds no vault with these words").waitFor({ timeout: 20 * SECOND });

  // The right words, in capitals with stray spaces, as typed on a phone.
  await page.getByLabel("Recovery words").fill(`  ${words.toUpperCase().replaceAll(" ", "  ")} `);
  await page.getByRole("button", { name: "Recover" }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor({ timeout: 20 * SECOND });
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20 * SECOND });
  assert.deepEqual(await phoneCompanies(page), companies(laptop));

  // And it is a device of the vault like any other: what it logs reaches the laptop.
  await logOnPhone(page, "Recovered Inc");
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20 * SECOND });
  laptop.run(["sync"]);
  assert.deepEqual(companies(laptop), ["Acme", "Globex", "Recovered Inc"]);
});

test("leaving the vault deletes the phone's copy, after a warning that names what is not on the relay", { timeout: 120 * SECOND }, async () => {
  const relay = await startRelay();
  const { code } = laptopOn(relay);
  const { context, page } = await joinedPhone(relay, code);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20 * SECOND });

  await context.setOffline(true);
  await page.locator("#sync").getByText("Offline").waitFor();
  await logOnPhone(page, "Unsent Ltd");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("button", { name: "Leave this vault" }).click();
  const warning = page.getByTestId("leave-warning");
  await warning.getByText("1 change on this phone is not on the relay yet: leaving deletes it for good").waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("button", { name: "Leave this vault" }).click();
  await page.getByRole("button", { name: "Delete this phone's copy" }).click();
  await page.getByRole("heading", { name: "Join your vault" }).waitFor({ timeout: 20 * SECOND });

  // Nothing of the vault is left: a reload shows the join screen again.
  await context.setOffline(false);
  await page.reload();
  await page.getByRole("heading", { name: "Join your vault" }).waitFor();
  assert.equal(await page.evaluate(() => new Promise((ok) => {
    const r = indexedDB.open("interlog");
    r.onsuccess = () => {
      const g = r.result.transaction("kv").objectStore("kv").count();
      g.onsuccess = () => ok(g.result);
    };
  })), 0);
});

test("moving from the phone: it tells the old relay, re-seeds the new one, and syncs there", { timeout: 120 * SECOND }, async () => {
  const oldRelay = await startRelay();
  const newRelay = await startRelay();
  const { laptop, code } = laptopOn(oldRelay);
  const { page } = await joinedPhone(oldRelay, code);

  await page.getByRole("link", { name: "Settings" }).click();
  assert.equal(await page.getByTestId("relay-url").textContent(), oldRelay.ws);
  await page.getByLabel("New relay address").fill(newRelay.ws);
  await page.getByRole("button", { name: "Move" }).click();
  const note = page.getByTestId("relay-note");
  await note.getByText(`This phone moved the vault from ${oldRelay.ws} to ${newRelay.ws}`).waitFor({ timeout: 30 * SECOND });
  await note.getByText(`open ${newRelay.origin}/app/ on this phone`).waitFor();
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20 * SECOND });
  await page.getByTestId("relay-url").getByText(newRelay.ws).waitFor();

  // What the phone logs now goes to the new relay, which serves the whole
  // vault to a device that joins it.
  await logOnPhone(page, "Moved Corp");
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 20 * SECOND });
  const fresh = device();
  fresh.run(["join", codeFor(laptop, newRelay)]);
  assert.deepEqual(companies(fresh), ["Acme", "Moved Corp"]);

  // The old relay holds the move, for the other devices to follow at their
  // next sync there (following it is the CLI's part): a device that joins
  // the old relay finds the new address in the document.
  const elsewhere = device();
  elsewhere.run(["join", code]);
  const raw = join(elsewhere.home, "vault.automerge");
  elsewhere.run(["export", "--format", "automerge", "--out", raw]);
  const doc = A.load(readFileSync(raw));
  assert.equal(doc.meta.relay?.toString(), newRelay.ws);
  assert.equal(doc.meta.relay_pin, undefined);
});
