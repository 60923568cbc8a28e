/**
 * Boots the app: registers the service worker (or says in one line why the
 * app cannot work offline), loads Automerge's wasm (a separate file the
 * service worker caches), opens the local store, then shows the join screen
 * or the vault and keeps it synced with the relay that served this page (or
 * the one the vault moved to).
 */
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import { initializeWasm } from "@automerge/automerge/slim";

import "./style.css";
import { type Kind, localDate } from "./doc";
import { noOfflineReason, registrationFailed } from "./offline";
import { openStore, type Store } from "./store";
import { checkRelayUrl, endpoint, join, recover, Syncer, syncUrl, webSocketDial } from "./sync";
import {
  type Ctx,
  contactsScreen,
  detailScreen,
  h,
  interviewsScreen,
  joinScreen,
  logScreen,
  opportunitiesScreen,
  type RelayActions,
  renderNotices,
  retroScreen,
  settingsScreen,
  statusText,
  todayScreen,
  todayView,
} from "./ui";
import { conflictsScreen, GENERIC, kindListScreen, moreScreen, profileScreen, recordForm, recordScreen, searchScreen, statsScreen } from "./ui-records";
import { peek, Vault } from "./vault";

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
const syncButton = document.getElementById("sync")!;
const offlineNote = document.getElementById("offline-note")!;
const syncNotes = document.getElementById("sync-notes")!;
const settingsLink = document.getElementById("settings-link")!;

let flashMessage = "";
let flashWarnings: string[] = [];

function render(vault: Vault, relay: RelayActions): void {
  const ctx: Ctx = {
    vault,
    relay,
    go: (hash) => {
      if (location.hash === hash) render(vault, relay);
      else location.hash = hash;
    },
    flash: (m) => (flashMessage = m),
    warn: (ws) => (flashWarnings = ws),
  };
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const [tab, id, mode] = parts;
  let screen: HTMLElement;
  switch (tab) {
    case "log":
      screen = logScreen(ctx);
      break;
    case "interviews":
      if (id && mode === "retro") screen = retroScreen(ctx, id);
      else screen = id ? detailScreen(ctx, "interview", id, mode === "edit") : interviewsScreen(ctx);
      break;
    case "opportunities":
      screen = id ? detailScreen(ctx, "opportunity", id, mode === "edit") : opportunitiesScreen(ctx);
      break;
    case "contacts":
      screen = id ? detailScreen(ctx, "contact", id, mode === "edit") : contactsScreen(ctx);
      break;
    case "settings":
      screen = settingsScreen(ctx);
      break;
    case "more":
      screen = moreScreen();
      break;
    case "conflicts":
      screen = conflictsScreen(ctx);
      break;
    case "profile":
      screen = profileScreen(ctx);
      break;
    case "stats":
      screen = statsScreen(ctx);
      break;
    case "search": {
      let q = "";
      try {
        q = decodeURIComponent(parts.slice(1).join("/"));
      } catch {
        /* a malformed address searches for nothing */
      }
      screen = searchScreen(ctx, q);
      break;
    }
    case "r": {
      // #/r/KIND, #/r/KIND/deleted, #/r/KIND/new, #/r/KIND/ID, #/r/KIND/ID/edit
      // Contacts and opportunities are created here too; their screens are their own.
      const kind = [...GENERIC.map((g) => g.kind), "contact", "opportunity"].find((k) => k === id) as Kind | undefined;
      const [, , which, how] = parts;
      if (!kind) screen = moreScreen();
      else if (!which || which === "deleted") screen = kindListScreen(ctx, kind, which === "deleted");
      else if (which === "new") screen = recordForm(ctx, kind, null);
      else screen = how === "edit" ? recordForm(ctx, kind, which) : recordScreen(ctx, kind, which);
      break;
    }
    default:
      screen = todayScreen(ctx);
  }
  main.replaceChildren(
    flashMessage ? h("div", { class: "note", role: "status" }, flashMessage) : "",
    ...flashWarnings.map((w) => h("div", { class: "warning", role: "alert", "data-testid": "warning" }, `Warning: ${w}`)),
    screen,
  );
  flashMessage = "";
  flashWarnings = [];
  const active = ["r", "conflicts", "search", "profile", "stats"].includes(tab) ? "more" : tab || "today";
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.tab === active);
}

/** A form being filled in is never replaced by a remote change. */
function editing(): boolean {
  return location.hash.startsWith("#/log") || location.hash === "#/profile" || /\/(edit|retro|new)$/.test(location.hash);
}

function showVault(vault: Vault): void {
  nav.hidden = false;
  settingsLink.hidden = false;
  const here = syncUrl(location);
  const syncer = new Syncer(vault, webSocketDial(here), {
    online: () => navigator.onLine,
    here,
    schedulePush: (push) => void nextFrame().then(push),
  });
  const relay: RelayActions = {
    url: () => syncer.relayUrl(),
    inviteNeeded: () => syncer.inviteNeeded,
    registerWith: (code) => syncer.registerWith(code),
    moveTo: (url, pin) => syncer.moveTo(url, pin),
    leave: async () => {
      await syncer.leave();
      location.hash = "";
      location.reload();
    },
  };
  syncer.onStatus((s) => {
    syncButton.dataset.state = s.kind;
    syncButton.textContent = statusText(s);
    syncButton.title = statusText(s);
    renderNotices(
      syncNotes,
      syncer.withheld(),
      vault.state.joinNote,
      () => void syncer.dismissJoinNote(),
      vault.state.relayNotes,
      (n) => void syncer.dismissRelayNote(n),
    );
  });
  syncButton.onclick = () => syncer.wakeUp();
  window.addEventListener("online", () => syncer.wakeUp());
  window.addEventListener("offline", () => syncer.wentOffline());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncer.wakeUp();
    // The view the next start shows first, with whatever changed since Today was last shown.
    else vault.storeView().catch(() => {});
  });
  vault.subscribe(() => {
    if (!editing()) render(vault, relay);
  });
  window.addEventListener("hashchange", () => render(vault, relay));
  render(vault, relay);
  void syncer.start();
}

function showJoin(store: Store, error?: string): void {
  nav.hidden = true;
  syncButton.dataset.state = "offline";
  syncButton.textContent = "Not joined";
  settingsLink.hidden = true;
  const here = `${location.protocol}//${location.host}`;
  const joined = (vault: Vault) => {
    location.hash = "#/today";
    showVault(vault);
  };
  main.replaceChildren(
    joinScreen(async (code, note) => joined(await join(code, webSocketDial(syncUrl(location)), store, note)), error, {
      relay: here,
      onRecover: async (words, relay, note) => {
        // The word list loads only here, not with the app's first screen.
        const { keyOfWords } = await import("./words");
        const key = keyOfWords(words);
        const other = endpoint(relay) !== syncUrl(location);
        const url = other ? checkRelayUrl(relay) : null;
        joined(await recover(key, url, webSocketDial(url ? endpoint(url) : syncUrl(location)), store, note));
      },
    }),
  );
}

function showNoOffline(reason: string): void {
  offlineNote.textContent = reason;
  offlineNote.hidden = false;
}

async function boot(): Promise<void> {
  const reason = noOfflineReason({ secureContext: window.isSecureContext, serviceWorker: "serviceWorker" in navigator, protocol: location.protocol });
  if (reason) showNoOffline(reason);
  else navigator.serviceWorker.register("./sw.js", { scope: "./" }).catch((e) => showNoOffline(registrationFailed(e)));
  // Automerge's wasm compiles while the store is read and the first screen shows.
  const wasm = initializeWasm(wasmUrl);
  const store = await openStore();
  const first = await peek(store);
  if (first?.view?.today?.date === localDate(new Date()) && /^(#\/?(today)?)?$/.test(location.hash)) {
    // Today from the view stored beside the document, while the document loads.
    try {
      main.replaceChildren(todayView(first.view.today));
      nav.hidden = false;
      syncButton.textContent = "Opening…";
      document.body.dataset.ready = "view";
      await nextFrame();
    } catch {
      // A view this version cannot show: wait for the document instead.
    }
  }
  await wasm;
  const vault = await Vault.open(store);
  if (vault) showVault(vault);
  else showJoin(store);
  document.body.dataset.ready = "doc";
}

/** Resolves after the browser has painted what is on screen. */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

boot().catch((e) => {
  main.replaceChildren(h("div", { class: "error", role: "alert" }, `Interlog could not start: ${(e as Error).message}`));
});
