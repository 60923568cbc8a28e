// The phone app on a five-year journal (issue 15), in Debian's chromium with
// the CPU throttled 4x (a mid-range phone), each figure beside a floor from
// the same browser: Automerge alone on the same bytes. `npm run bench`;
// docs/benchmarks.md has the figures and how to read them. A benchmark, not
// a test: nothing fails on timing.
//
// The vault is the benchmark harness's five-year vault (bench/src/workload.rs),
// built once by `interlog-bench --only 1 --repeats 1 --keep DIR` and reused:
// $INTERLOG_BENCH_VAULT (default /tmp/interlog-bench-vault) holds its
// `big-laptop` home and the harness relay's data (`relay`). A relay runs on a
// copy of that data, a copy of the laptop syncs with it, and the phone joins
// with a code from `interlog pair`, as a user's phone would.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { binary, cleanup, phone, root, startRelay } from "../e2e/harness.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const RATE = Number(process.env.BENCH_CPU_RATE ?? 4);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const vaultDir = process.env.INTERLOG_BENCH_VAULT ?? "/tmp/interlog-bench-vault";

const log = (s) => console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${s}`);
const started = performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

/** The five-year vault's laptop home, built by the Rust harness when missing. */
function fiveYearVault() {
  const home = join(vaultDir, "big-laptop");
  if (existsSync(join(home, "vault.key"))) return home;
  log(`building the five-year vault in ${vaultDir} (interlog-bench --only 1 --repeats 1 --keep; a few minutes)...`);
  const bench = process.env.INTERLOG_BENCH_BIN;
  if (bench) execFileSync(bench, ["--only", "1", "--repeats", "1", "--keep", vaultDir], { stdio: "inherit", cwd: root });
  else execFileSync("cargo", ["run", "--profile", "profiling", "-p", "interlog-bench", "--", "--only", "1", "--repeats", "1", "--keep", vaultDir], { stdio: "inherit", cwd: root });
  return home;
}

/** The floor page (bench/floor), built with vite into a temporary directory and served on 127.0.0.1. */
async function floorServer() {
  const { build } = await import("vite");
  const out = mkdtempSync(join(tmpdir(), "interlog-floor-"));
  await build({ configFile: false, root: resolve(here, "floor"), base: "./", logLevel: "warn", build: { outDir: out, emptyOutDir: true, target: "es2022" } });
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const path = join(out, new URL(req.url, "http://x").pathname.replace(/^\/$/, "/index.html"));
    if (!path.startsWith(out) || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(readFileSync(path));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => (server.close(), rmSync(out, { recursive: true, force: true })) };
}

/**
 * Counts what the page writes to IndexedDB: every `put`, the bytes of its
 * value (byte arrays as their length, strings as theirs, numbers as 8),
 * outside the app's code, by wrapping `IDBObjectStore.prototype.put`.
 */
function countWrites() {
  const size = (v, seen = new Set()) => {
    if (v === null || v === undefined || typeof v === "boolean") return 1;
    if (typeof v === "number" || typeof v === "bigint") return 8;
    if (typeof v === "string") return v.length;
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (v instanceof ArrayBuffer) return v.byteLength;
    if (typeof v !== "object" || seen.has(v)) return 0;
    seen.add(v);
    let n = 0;
    for (const [k, x] of Object.entries(v)) n += k.length + size(x, seen);
    return n;
  };
  const w = { bytes: 0, puts: 0, byKey: {} };
  window.__writes = w;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, key) {
    const n = size(value);
    w.bytes += n;
    w.puts += 1;
    const k = String(key).startsWith("doc/") ? "doc/…" : String(key);
    w.byKey[k] = (w.byKey[k] ?? 0) + n;
    return put.call(this, value, key);
  };
}

/**
 * Marks when the Today screen is first on screen (its heading in the DOM,
 * then a frame), and when the document has loaded and the screen shows it.
 */
function markToday() {
  const seen = () => [...document.querySelectorAll("#main h1")].some((e) => e.textContent === "Today");
  const obs = new MutationObserver(() => {
    if (!seen()) return;
    obs.disconnect();
    const at = performance.now();
    requestAnimationFrame(() => setTimeout(() => (window.__today = { dom: at, frame: performance.now() })));
  });
  document.addEventListener("DOMContentLoaded", () => obs.observe(document.getElementById("main"), { childList: true, subtree: true }));
  // The document loaded and the screen rendered from it (main.ts sets data-ready).
  const ready = new MutationObserver(() => {
    if (document.body.dataset.ready !== "doc") return;
    ready.disconnect();
    const at = performance.now();
    requestAnimationFrame(() => setTimeout(() => (window.__doc = { dom: at, frame: performance.now() })));
  });
  document.addEventListener("DOMContentLoaded", () => ready.observe(document.body, { attributes: true, attributeFilter: ["data-ready"] }));
}

async function throttle(context, page, rate) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate });
  return cdp;
}

/** Resolves, in the page, once `pred` holds in a DOM mutation, then after the next frame; returns ms since `t0`. */
const untilShown = (page, fn, predSrc) =>
  page.evaluate(
    ({ fnSrc, predSrc }) =>
      new Promise((resolve) => {
        const pred = new Function(`return (${predSrc})()`);
        const t0 = performance.now();
        const done = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
        const obs = new MutationObserver(() => {
          if (pred()) {
            obs.disconnect();
            done();
          }
        });
        obs.observe(document.getElementById("main"), { childList: true, subtree: true });
        new Function(`return (${fnSrc})()`)();
      }),
    { fnSrc: fn.toString(), predSrc: predSrc.toString() },
  );

/** Adds a CPU profile's self time per function to `selfTimes`; printed at the end. */
const selfTimes = new Map();
function topFunctions(profile) {
  const dt = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const id of profile.samples) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    selfTimes.set(key, (selfTimes.get(key) ?? 0) + dt);
  }
}

try {
  binary();
  const home = fiveYearVault();
  // The harness's relay data, with the vault's log and snapshot.
  const relay = await startRelay({ seed: join(vaultDir, "relay") });
  const laptopHome = mkdtempSync(join(tmpdir(), "interlog-bench-laptop-"));
  cpSync(home, laptopHome, { recursive: true });
  const cli = (args) => execFileSync(binary(), args, { env: { ...process.env, INTERLOG_HOME: laptopHome, NO_COLOR: "1" }, encoding: "utf8" });
  log("syncing the five-year vault with a copy of the harness's relay...");
  cli(["sync", "--relay", relay.ws]);
  const code = JSON.parse(cli(["--json", "pair"])).code;

  const { browser, context, page } = await phone();
  await context.addInitScript(countWrites);
  await context.addInitScript(markToday);
  log("the phone joins (unthrottled)...");
  await page.goto(`${relay.origin}/app/`);
  await page.getByLabel("Join code").fill(code);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor({ timeout: 600_000 });
  await page.locator("#sync").getByText("Synced").waitFor({ timeout: 600_000 });
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 60_000 });
  const stored = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("interlog");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const s = open.result.transaction("kv").objectStore("kv");
          const req = s.getAll(IDBKeyRange.bound("doc", "doc/\uffff"));
          req.onsuccess = () => {
            const parts = req.result;
            const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
            let at = 0;
            for (const p of parts) (all.set(p, at), (at += p.length));
            let s = "";
            for (let i = 0; i < all.length; i += 0x8000) s += String.fromCharCode(...all.subarray(i, i + 0x8000));
            resolve({ b64: btoa(s), parts: parts.length, bytes: all.length });
          };
        };
      }),
  );
  log(`joined: the store holds the document in ${stored.parts} part(s), ${(stored.bytes / 1024).toFixed(0)} KiB`);

  // Cold starts: a new tab each time, throttled before it navigates.
  const cold = [];
  const loaded = [];
  // The first screen's view is stored a moment after the join.
  await page.waitForTimeout(3000);
  await page.close();
  for (let i = 0; i < REPEATS; i++) {
    const p = await context.newPage();
    await throttle(context, p, RATE);
    await p.goto(`${relay.origin}/app/#/today`);
    await p.waitForFunction(() => !!window.__today && !!window.__doc, null, { timeout: 120_000 });
    cold.push(await p.evaluate(() => window.__today.frame));
    loaded.push(await p.evaluate(() => window.__doc.frame));
    await p.close();
  }
  log(`cold start: Today ${cold.map(ms).join(", ")}; document loaded ${loaded.map(ms).join(", ")}`);

  // Logging interviews, opening the list, bytes per edit: one throttled tab.
  const p = await context.newPage();
  await throttle(context, p, RATE);
  await p.goto(`${relay.origin}/app/#/today`);
  await p.waitForFunction(() => !!window.__today, null, { timeout: 120_000 });
  await p.locator("#sync").getByText("Synced").waitFor({ timeout: 120_000 });
  const logs = [];
  const written = [];
  const incs = [];
  // BENCH_PROFILE=1: a CPU profile of the logging taps, its top functions by self time.
  const profiling = !!process.env.BENCH_PROFILE;
  const cdp = profiling ? await context.newCDPSession(p) : null;
  if (cdp) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  }
  for (let i = 0; i < REPEATS; i++) {
    await p.evaluate(() => (location.hash = "#/log"));
    await p.getByLabel("Company").fill(`Bench Co ${i}`);
    await p.getByLabel("Role").fill("Staff Engineer");
    await p.getByRole("button", { name: "Technical" }).click();
    await p.locator(".rating").getByRole("button", { name: "4" }).click();
    await p.getByLabel("Note").fill("logged on the train, right after the call");
    const before = await p.evaluate(() => ({ bytes: window.__writes.bytes, inc: window.__writes.byKey["doc/…"] ?? 0 }));
    if (cdp && i > 0) await cdp.send("Profiler.start");
    logs.push(
      await untilShown(
        p,
        () => document.querySelector("form button[type=submit]").click(),
        () => !!document.querySelector("[data-testid=interview-detail]"),
      ),
    );
    if (cdp && i > 0) topFunctions((await cdp.send("Profiler.stop")).profile);
    // Everything the edit causes: its increment, the push's outbox, the ack.
    await p.locator("#sync").getByText("Synced").waitFor({ timeout: 60_000 });
    await p.waitForTimeout(200);
    const after = await p.evaluate(() => ({ bytes: window.__writes.bytes, inc: window.__writes.byKey["doc/…"] ?? 0 }));
    written.push(after.bytes - before.bytes);
    incs.push(after.inc - before.inc);
  }
  log(`logging: ${logs.map(ms).join(", ")}; bytes written: ${written.join(", ")} (increments ${incs.join(", ")})`);

  const lists = [];
  for (let i = 0; i < REPEATS; i++) {
    await p.evaluate(() => (location.hash = "#/today"));
    await p.getByRole("heading", { name: "Today", exact: true }).waitFor();
    lists.push(
      await untilShown(
        p,
        () => (location.hash = "#/interviews"),
        () => document.querySelectorAll("[data-testid=interview]").length > 0,
      ),
    );
  }
  const shown = await p.getByTestId("interview").count();
  log(`interviews list (${shown} rows): ${lists.map(ms).join(", ")}`);
  await p.close();

  // The floor: Automerge alone, same browser, same throttling, same bytes.
  const floor = await floorServer();
  const f = await context.newPage();
  await throttle(context, f, RATE);
  await f.goto(floor.url);
  await f.waitForFunction(() => !!window.floor);
  const wasm = await f.evaluate(() => window.floor.init());
  await f.evaluate((b64) => window.floor.setBytes(b64), stored.b64);
  const loads = [];
  const fEdits = [];
  const fLists = [];
  for (let i = 0; i < REPEATS; i++) loads.push(await f.evaluate(() => window.floor.load()));
  for (let i = 0; i < REPEATS; i++) fEdits.push(await f.evaluate((i) => window.floor.edit(i), i));
  for (let i = 0; i < REPEATS; i++) fLists.push(await f.evaluate(() => window.floor.list()));
  floor.close();
  await browser.close();

  const rows = [
    ["cold start to Today", ms(median(cold)), `${ms(median(loads))} (A.load) + ${ms(wasm)} (wasm)`, "< 1500 ms"],
    ["cold start until the document is loaded", ms(median(loaded)), `${ms(median(loads))} (A.load) + ${ms(wasm)} (wasm)`, ""],
    ["logging an interview", ms(median(logs)), `${ms(median(fEdits.map((e) => e.ms)))} (change, saveSince, one put)`, "< 100 ms"],
    [`opening the interviews list (${shown})`, ms(median(lists)), `${ms(median(fLists))} (read the ${shown} rows)`, ""],
    ["IndexedDB bytes written per edit", `${median(written)} B (increment ${median(incs)} B)`, `${median(fEdits.map((e) => e.bytes))} B (saveSince)`, "< 4096 B"],
  ];
  console.log(`stored document: ${(stored.bytes / 1024).toFixed(0)} KiB; CPU throttled ${RATE}x; medians of ${REPEATS}`);
  console.log("");
  console.log("| measure | phone app | floor (same browser) | target |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log("");
  console.log(`all runs: cold ${cold.map(ms).join(", ")}; loaded ${loaded.map(ms).join(", ")}; log ${logs.map(ms).join(", ")}; list ${lists.map(ms).join(", ")}; bytes ${written.join(", ")}`);
  if (profiling) {
    console.log("\nlogging, self time over the profiled taps (ms):");
    for (const [k, v] of [...selfTimes].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${v.toFixed(1).padStart(8)}  ${k}`);
  }
  rmSync(laptopHome, { recursive: true, force: true });
} finally {
  cleanup();
}
