// Shared by the end-to-end test and the screenshot script: a real relay
// process serving web/dist, CLI devices in their own homes, and Debian's
// chromium driven by playwright-core (no browser download).
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
export const root = resolve(here, "../..");
export const dist = resolve(here, "../dist");
export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** The `interlog` binary: $INTERLOG_BIN, or target/debug/interlog of this clone. */
export function binary() {
  const bin = process.env.INTERLOG_BIN ?? join(root, "target/debug/interlog");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build -p interlog\` first (or set INTERLOG_BIN)`);
  if (!existsSync(join(dist, "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  return bin;
}

const cleanups = [];
export function cleanup() {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch {
      /* best effort */
    }
  }
}

function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/**
 * A relay on 127.0.0.1:0 serving the built app. With `{ tls: true }` it
 * serves https with a self-signed certificate (`--tls self-signed`), as a
 * phone needs for offline use. Resolves to `{ addr, pin, origin, ws,
 * restart }`: the pin is the relay's key (`sha256:HEX`), null without TLS;
 * `restart({ wipe })` stops the process, deletes its data with `wipe`, and
 * starts it again on the same address, as an operator would. With `seed`,
 * the relay starts with a copy of that data directory (the benchmark's).
 */
export async function startRelay({ tls = false, seed = null } = {}) {
  const data = tempDir("interlog-relay-");
  if (seed) cpSync(seed, data, { recursive: true, filter: (p) => !p.endsWith(".sock") });
  const relay = { data, tls, ...(await spawnRelay(data, "127.0.0.1:0", tls)) };
  relay.restart = async ({ wipe = false } = {}) => {
    await stopRelay(relay.child);
    if (wipe) {
      rmSync(data, { recursive: true, force: true });
      mkdirSync(data);
    }
    // The port was just freed; a moment may pass before it binds again.
    for (let i = 0; ; i++) {
      try {
        Object.assign(relay, await spawnRelay(data, relay.addr, tls));
        return relay;
      } catch (e) {
        if (i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  return relay;
}

function stopRelay(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function spawnRelay(data, listen, tls) {
  const args = ["relay", "--listen", listen, "--registration", "open", "--metrics", "off", "--data", data, "--app-dir", dist];
  if (tls) args.push("--tls", "self-signed");
  const child = spawn(binary(), args, {
    env: { ...process.env, NO_COLOR: "1", INTERLOG_LOG: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  cleanups.push(() => child.kill("SIGKILL"));
  const lines = createInterface({ input: child.stderr });
  const [addr, pin] = await new Promise((ok, fail) => {
    child.on("exit", (code) => fail(new Error(`the relay exited (${code}) before listening`)));
    lines.on("line", (line) => {
      const m = /addr=(\S+)/.exec(line);
      if (m) ok([m[1], /pin=(\S+)/.exec(line)?.[1] ?? null]);
    });
  });
  const origin = `${tls ? "https" : "http"}://${addr}`;
  const ws = `${tls ? "wss" : "ws"}://${addr}`;
  return { addr, pin, origin, ws, child };
}

/** A CLI device with its own home. */
export function device() {
  const home = tempDir("interlog-home-");
  const run = (args) =>
    execFileSync(binary(), args, { env: { ...process.env, INTERLOG_HOME: home, NO_COLOR: "1" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { home, run, json: (args) => JSON.parse(run(["--json", ...args])) };
}

/**
 * Headless Debian chromium with a fresh profile, and a phone-sized page.
 * With a relay's `pin`, chromium trusts that key as a phone trusts a real
 * certificate (--ignore-certificate-errors-spki-list takes the same SHA-256
 * of the SubjectPublicKeyInfo, in base64): the page is a secure context and
 * its service worker registers, as on a relay with a CA-signed certificate.
 * `hosts` maps host names to addresses (chromium's --host-resolver-rules), so
 * a page can be opened as a LAN address would be: not localhost, so not a
 * secure context over plain http.
 */
export async function phone({ pin = null, hosts = {} } = {}) {
  const rules = Object.entries(hosts).map(([name, ip]) => `MAP ${name} ${ip}`);
  const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  if (rules.length) args.push(`--host-resolver-rules=${rules.join(",")}`);
  if (pin) args.push(`--ignore-certificate-errors-spki-list=${Buffer.from(pin.replace(/^sha256:/, ""), "hex").toString("base64")}`);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args });
  cleanups.push(() => void browser.close());
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    timezoneId: "Europe/Paris",
    locale: "en-GB",
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return { browser, context, page };
}

/**
 * A phone that joined the vault with `code` from `relay`'s app, shown
 * Today and synced once. Resolves to what `phone()` gives, plus `sync` (the
 * sync indicator).
 */
export async function joinedPhone(relay, code) {
  const opened = await phone();
  const { page } = opened;
  await page.goto(`${relay.origin}/app/`);
  await page.getByLabel("Join code").fill(code);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
  const sync = page.locator("#sync");
  await sync.getByText("Synced").waitFor({ timeout: 20_000 });
  return { ...opened, sync };
}
