/**
 * The screens: join, quick log, today, lists and details with editing. Built
 * with plain DOM calls and `textContent` only, so nothing from the vault is
 * ever parsed as HTML. Large targets, one column, for a phone held in one hand.
 */
import {
  companyName,
  companyNames,
  companySuggestions,
  CONTACT_KINDS,
  conflictedFields,
  currentStage,
  type Doc,
  type Fields,
  human,
  InputError,
  int,
  INTERVIEW_FORMATS,
  INTERVIEW_KINDS,
  INTERVIEW_STATUSES,
  type Kind,
  live,
  liveFields,
  members,
  localDate,
  logInterview,
  record,
  refTitle,
  type Retro,
  RETRO_PROSE,
  retroOf,
  str,
  title,
  today,
  type Today,
  updateRecord,
  writeRetro,
} from "./doc";
import type { Status } from "./sync";
import { logWarnings } from "./discretion";
import { fieldOf, parseInput } from "./schema";
import { deleteRestore, jobControls, oppPayControls, recordForm, sensitiveLabel, stageControls } from "./ui-records";
import { shownToday, type Vault } from "./vault";

type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function statusText(s: Status): string {
  const n = (k: number) => `${k} change${k === 1 ? "" : "s"} pending`;
  switch (s.kind) {
    case "synced":
      return "Synced";
    case "pending":
      return n(s.pending);
    case "offline":
      return s.pending ? `Offline · ${n(s.pending)}` : "Offline";
    case "connecting":
      return s.pending ? `Connecting… · ${n(s.pending)}` : "Connecting…";
    case "reseeding":
      return "Sending this phone's copy to the relay…";
    case "error":
      return `Error: ${s.reason}`;
  }
}

// One formatter for every date shown: making one per call is what costs.
let whenFormat: Intl.DateTimeFormat | null = null;

export function when(v: string | undefined): string {
  if (!v) return "";
  const t = Date.parse(v.replace(/\[.*\]$/, ""));
  if (Number.isNaN(t)) return v;
  whenFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  return whenFormat.format(new Date(t));
}

export function stars(n: number | undefined): string {
  return n ? "★".repeat(n) + "☆".repeat(5 - n) : "";
}

export function list(items: HTMLElement[], empty: string): HTMLElement {
  return items.length ? h("ul", { class: "list" }, ...items.map((i) => h("li", {}, i))) : h("p", { class: "empty" }, empty);
}

export function rowLink(href: string, main: string, sub: string, testid: string): HTMLElement {
  return h("a", { href, "data-testid": testid }, h("div", { class: "title" }, main), sub ? h("div", { class: "sub" }, sub) : null);
}

export function chips(values: string[], selected: string | undefined, onPick: (v: string | undefined) => void, cls = ""): HTMLElement {
  const box = h("div", { class: `chips ${cls}`.trim(), role: "group" });
  const buttons = values.map((v) => {
    const b = h("button", { type: "button", "aria-pressed": String(v === selected), "data-value": v }, cls === "rating" ? v : human(v));
    b.addEventListener("click", () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      for (const o of buttons) o.setAttribute("aria-pressed", "false");
      b.setAttribute("aria-pressed", String(on));
      onPick(on ? v : undefined);
    });
    return b;
  });
  box.append(...buttons);
  return box;
}

export function field(labelText: string, input: HTMLElement): HTMLElement {
  const id = `f-${labelText.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  input.id = id;
  return h("div", {}, h("label", { for: id }, labelText), input);
}

export function select(name: string, options: string[], value: string | undefined): HTMLSelectElement {
  const s = h("select", { name }) as HTMLSelectElement;
  s.append(h("option", { value: "" }, "—"));
  const all = value && !options.includes(value) ? [...options, value] : options;
  for (const o of all) s.append(h("option", { value: o }, human(o)));
  s.value = value ?? "";
  return s;
}

// ----- screens ----------------------------------------------------------------

export interface Ctx {
  vault: Vault;
  go: (hash: string) => void;
  flash: (msg: string) => void;
  /** Warnings the next screen shows above its content (discretion). */
  warn: (msgs: string[]) => void;
  relay: RelayActions;
}

/** What the settings screen does with the relay (the syncer does it). */
export interface RelayActions {
  /** The relay this phone syncs with. */
  url(): string;
  /** The relay asked for an invite to register the vault again. */
  inviteNeeded(): boolean;
  registerWith(invite: string): void;
  moveTo(url: string, pin: string | null): Promise<void>;
  /** Deletes this phone's copy; the app then shows the join screen. */
  leave(): Promise<void>;
}

/**
 * The notes under the header: records the relay lacks, a join that could not
 * use the snapshot, what happened to the relay (re-registered, moved), the
 * last two with a button to dismiss them. Text only, never HTML.
 */
export function renderNotices(
  box: HTMLElement,
  withheld: string[],
  joinNote: string | null,
  dismiss: () => void,
  relayNotes: string[] = [],
  dismissRelay: (note: string) => void = () => {},
): void {
  const notes = withheld.map((n) => h("p", { "data-testid": "withheld" }, n));
  if (joinNote) notes.push(h("p", { "data-testid": "join-note" }, joinNote, h("button", { type: "button", onclick: dismiss }, "OK")));
  for (const n of relayNotes) notes.push(h("p", { "data-testid": "relay-note" }, n, h("button", { type: "button", onclick: () => dismissRelay(n) }, "OK")));
  box.replaceChildren(...notes);
  box.hidden = box.childElementCount === 0;
}

/** `onJoin` and `onRecover` may call `note` to say what a slow join is doing. */
export function joinScreen(
  onJoin: (code: string, note: (msg: string) => void) => Promise<void>,
  error?: string,
  recovery?: { relay: string; onRecover: (words: string, relay: string, note: (msg: string) => void) => Promise<void> },
): HTMLElement {
  const code = h("textarea", { name: "code", placeholder: "interlog1:…", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }) as HTMLTextAreaElement;
  const msg = h("div", { role: "alert" }, error ? h("div", { class: "error" }, error) : null);
  const button = h("button", { class: "big", type: "submit" }, "Join") as HTMLButtonElement;
  const scanArea = h("div", {});
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        button.textContent = "Joining…";
        msg.replaceChildren();
        try {
          await onJoin(code.value, (note) => msg.replaceChildren(h("div", { class: "note" }, note)));
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
          button.disabled = false;
          button.textContent = "Join";
        }
      },
    },
    h("h1", {}, "Join your vault"),
    h("p", { class: "muted" }, "On your laptop, run ", h("code", {}, "interlog pair"), ". Scan the QR code it shows, or paste the code that starts with interlog1:."),
    h("button", { class: "big secondary", type: "button", onclick: () => scan(scanArea, code, msg) }, "Scan QR code"),
    scanArea,
    field("Join code", code),
    button,
    msg,
    h("p", { class: "muted" }, "The code holds your vault key: it stays on this phone. Everything leaves it end-to-end encrypted."),
  );
  return recovery ? h("section", {}, form, recoverForm(recovery.relay, recovery.onRecover)) : form;
}

/**
 * Restoring the whole journal from the 24 recovery words and the relay's
 * address, for when no device is left to pair with. The words are never
 * shown back, not even in an error.
 */
function recoverForm(relay: string, onRecover: (words: string, relay: string, note: (msg: string) => void) => Promise<void>): HTMLElement {
  const words = h("textarea", {
    name: "words",
    placeholder: "24 words, in order",
    autocomplete: "off",
    autocapitalize: "off",
    autocorrect: "off",
    spellcheck: "false",
  }) as HTMLTextAreaElement;
  const url = h("input", { name: "relay", autocomplete: "off", autocapitalize: "off", spellcheck: "false", inputmode: "url" }) as HTMLInputElement;
  url.value = relay;
  const msg = h("div", { role: "alert" });
  const button = h("button", { class: "big secondary", type: "submit" }, "Recover") as HTMLButtonElement;
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        button.textContent = "Recovering…";
        msg.replaceChildren();
        try {
          await onRecover(words.value, url.value, (note) => msg.replaceChildren(h("div", { class: "note" }, note)));
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
          button.disabled = false;
          button.textContent = "Recover";
        }
      },
    },
    field("Recovery words", words),
    field("Relay address", url),
    button,
    msg,
  );
  return h(
    "details",
    { class: "recover" },
    h("summary", {}, "Lost every device? Recover with your 24 words"),
    h("p", { class: "muted" }, "The words are your vault key, as ", h("code", {}, "interlog key"), " shows them. With the relay's address they restore the whole journal on this phone."),
    form,
  );
}

/** Reads a QR code from the camera, with BarcodeDetector or jsQR. */
async function scan(area: HTMLElement, target: HTMLTextAreaElement, msg: HTMLElement): Promise<void> {
  msg.replaceChildren();
  if (!navigator.mediaDevices?.getUserMedia) {
    msg.replaceChildren(h("div", { class: "error" }, "This browser cannot use the camera here (it needs https). Paste the code instead."));
    return;
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (e) {
    msg.replaceChildren(h("div", { class: "error" }, `No camera (${(e as Error).message}). Paste the code instead.`));
    return;
  }
  const video = h("video", { playsinline: true, muted: true }) as HTMLVideoElement;
  video.srcObject = stream;
  area.replaceChildren(video);
  await video.play().catch(() => {});
  const { default: jsQR } = await import("jsqr");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  const stop = () => {
    stream.getTracks().forEach((t) => t.stop());
    area.replaceChildren();
  };
  const tick = () => {
    if (!video.isConnected) return stop();
    if (video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const found = jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      if (found?.data.startsWith("interlog1:")) {
        target.value = found.data;
        stop();
        target.form?.requestSubmit();
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  tick();
}

/** When an interview started, as the Log screen offers it; "earlier" shows a time picker. */
const WHEN_CHOICES = ["now", "half_an_hour_ago", "an_hour_ago", "two_hours_ago", "earlier"];
const AGO_MIN: Record<string, number> = { now: 0, half_an_hour_ago: 30, an_hour_ago: 60, two_hours_ago: 120 };

/** The start a choice means, `undefined` for now. */
function startOf(choice: string, picked: string): Date | undefined {
  if (choice === "earlier") {
    if (!picked) throw new InputError("Pick when it started, or choose Now.");
    // A datetime-local value is local time.
    return new Date(picked);
  }
  const min = AGO_MIN[choice] ?? 0;
  return min ? new Date(Date.now() - min * 60_000) : undefined;
}

/** A date as a datetime-local input shows it (local time, minutes). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${localDate(d)}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function logScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const company = h("input", { name: "company", list: "companies", autocomplete: "off", required: true, enterkeyhint: "next" }) as HTMLInputElement;
  const suggestions = companySuggestions(doc);
  const datalist = h("datalist", { id: "companies" }, ...suggestions.map((s) => h("option", { value: s })));
  const recent = suggestions.slice(0, 6);
  const role = h("input", { name: "role", autocomplete: "off" }) as HTMLInputElement;
  const note = h("textarea", { name: "note" }) as HTMLTextAreaElement;
  const withWho = h("input", { name: "with", autocomplete: "off", placeholder: "Ana Lima, Sam Ortiz" }) as HTMLInputElement;
  const minutes = h("input", { name: "duration_min", type: "number", inputmode: "numeric" }) as HTMLInputElement;
  let kind: string | undefined;
  let rating: number | undefined;
  let when = "now";
  const at = h("input", { name: "start", type: "datetime-local" }) as HTMLInputElement;
  const atField = field("Started at", at);
  atField.hidden = true;
  const msg = h("div", { role: "alert" });
  return h(
    "form",
    {
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const start = startOf(when, at.value);
          const spec = fieldOf("interview", "duration_min")!;
          const durationMin = minutes.value.trim() ? (parseInput(spec, minutes.value) as number) : undefined;
          const people = withWho.value.split(",").map((x) => x.trim()).filter(Boolean);
          let id = "";
          await c.vault.edit((d) => {
            const r = logInterview(d, { company: company.value, role: role.value, kind, rating, note: note.value, start, durationMin, with: people });
            id = r.id;
            return r.doc;
          });
          c.flash("Interview logged");
          const logged = record(c.vault.doc, "interview", id);
          c.warn(logWarnings(c.vault.doc, logged && str(logged.fields, "company"), start ?? new Date()));
          c.go(`#/interviews/${id}`);
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
        }
      },
    },
    h("h1", {}, "Log an interview"),
    field("Company", company),
    datalist,
    recent.length
      ? chips(recent, undefined, (v) => {
          company.value = v ?? "";
        })
      : null,
    field("Role", role),
    h("label", {}, "When"),
    chips(WHEN_CHOICES, "now", (v) => {
      when = v ?? "now";
      atField.hidden = when !== "earlier";
      if (when === "earlier" && !at.value) at.value = localInput(new Date(Date.now() - 3 * 3600_000));
    }),
    atField,
    h("label", {}, "Kind"),
    chips(["recruiter_screen", "hiring_manager", "technical", "system_design", "behavioral", "panel", "informational", "other"], undefined, (v) => (kind = v)),
    h("label", {}, "How did it go?"),
    chips(["1", "2", "3", "4", "5"], undefined, (v) => (rating = v ? Number(v) : undefined), "rating"),
    field("Note", note),
    field("With (names, comma-separated)", withWho),
    field("Minutes", minutes),
    h("button", { class: "big", type: "submit" }, "Save"),
    msg,
  );
}

/** What Today's buttons do; the first screen, shown before the document loads, has none. */
export interface TodayActions {
  done(id: string): void;
  snooze(id: string, days: number): void;
  touched(id: string): void;
}

export function todayScreen(c: Ctx): HTMLElement {
  const t = shownToday(today(c.vault.doc, localDate(new Date())));
  // The next start shows this before the document loads.
  c.vault.storeView(t).catch(() => {});
  const act = (what: (d: Doc) => Doc, said: string) => {
    c.vault
      .edit(what)
      .then(() => {
        c.flash(said);
        c.go("#/today");
      })
      .catch((e) => {
        c.flash("");
        alertIn((e as Error).message);
      });
  };
  return todayView(t, {
    done: (id) => act((d) => updateRecord(d, "followup", id, { done: true }), "Follow-up done."),
    snooze: (id, days) => {
      const until = localDate(new Date(Date.now() + days * 86_400_000));
      act((d) => updateRecord(d, "followup", id, { snoozed_until: until }), `Follow-up snoozed until ${until}.`);
    },
    touched: (id) => {
      const name = title(c.vault.doc, record(c.vault.doc, "contact", id) ?? { kind: "contact", id, fields: {} });
      act((d) => updateRecord(d, "contact", id, { last_contacted: localDate(new Date()) }), `Noted: in touch with ${name}.`);
    },
  });
}

/** Shows an error at the top of the current screen. */
export function alertIn(message: string): void {
  const main = document.getElementById("main");
  main?.prepend(h("div", { class: "error", role: "alert" }, message));
}

/** The Today screen of `t`, from the document or from the view stored beside it (the first screen at start). */
export function todayView(t: Today, actions?: TodayActions): HTMLElement {
  return h(
    "section",
    {},
    h("h1", {}, "Today"),
    h("h2", {}, "Follow-ups due"),
    list(
      t.followups.map((f) =>
        h(
          "div",
          { class: "row", "data-testid": "followup" },
          h("div", { class: "title" }, f.note ?? human(f.kind ?? "follow_up")),
          h("div", { class: "sub" }, [f.target, f.daysOverdue > 0 ? `${f.daysOverdue} day${f.daysOverdue === 1 ? "" : "s"} overdue` : "due today"].filter(Boolean).join(" · ")),
          actions
            ? h(
                "div",
                { class: "actions" },
                h("button", { type: "button", onclick: () => actions.done(f.id) }, "Done"),
                h("button", { type: "button", onclick: () => actions.snooze(f.id, 1) }, "Snooze a day"),
                h("button", { type: "button", onclick: () => actions.snooze(f.id, 7) }, "Snooze a week"),
              )
            : null,
        ),
      ),
      "No follow-ups due.",
    ),
    h("h2", {}, "Get back in touch"),
    list(
      t.reconnect.map((r) =>
        h(
          "div",
          { "data-testid": "reconnect-row" },
          rowLink(`#/contacts/${r.id}`, r.name, `every ${r.intervalDays} days · last ${r.lastContact ?? "never"}${r.daysOverdue ? ` · ${r.daysOverdue} day${r.daysOverdue === 1 ? "" : "s"} overdue` : ""}`, "reconnect"),
          actions ? h("div", { class: "actions inset" }, h("button", { type: "button", onclick: () => actions.touched(r.id) }, "In touch today")) : null,
        ),
      ),
      "Nobody is waiting to hear from you.",
    ),
    t.reconnectTotal && t.reconnectTotal > t.reconnect.length
      ? h("p", { class: "muted", "data-testid": "reconnect-more" }, `…and ${t.reconnectTotal - t.reconnect.length} more, in `, h("a", { href: "#/contacts" }, "People"), ".")
      : null,
    h("h2", {}, "Interviews today"),
    list(
      t.interviews.map((i) => rowLink(`#/interviews/${i.id}`, [i.company, i.kind && human(i.kind)].filter(Boolean).join(" · "), when(i.start), "interview")),
      "None today.",
    ),
  );
}

/** Rows a long list shows at first, and adds at each "Show more". */
export const LIST_PAGE = 50;

/** A list of `rows` built a page at a time: a five-year journal has more rows than a phone should build at once. */
export function pagedList(rows: (() => HTMLElement)[], empty: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  const ul = h("ul", { class: "list" });
  const box = h("div", {}, ul);
  let shown = 0;
  const more = h("button", { type: "button", class: "secondary more" }) as HTMLButtonElement;
  const page = () => {
    const next = rows.slice(shown, shown + LIST_PAGE);
    ul.append(...next.map((r) => h("li", {}, r())));
    shown += next.length;
    more.textContent = `Show more (${rows.length - shown} of ${rows.length} not shown)`;
    more.hidden = shown >= rows.length;
  };
  more.addEventListener("click", page);
  page();
  box.append(more);
  return box;
}

export function interviewsScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const names = companyNames(doc);
  const rows = liveFields(doc, "interview", ["start", "company", "kind", "rating"])
    .sort((a, b) => (str(b.fields, "start") ?? b.id).localeCompare(str(a.fields, "start") ?? a.id))
    .map((i) => () => {
      const company = str(i.fields, "company");
      const kind = str(i.fields, "kind");
      const name = [company && (names.get(company) ?? company), kind && human(kind)].filter(Boolean).join(" · ") || i.id;
      return rowLink(`#/interviews/${i.id}`, name, [when(str(i.fields, "start")), stars(int(i.fields, "rating"))].filter(Boolean).join(" · "), "interview");
    });
  return h("section", {}, h("h1", {}, "Interviews"), pagedList(rows, "No interviews yet. Tap + Log after your next one."));
}

export function opportunitiesScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const items = live(doc, "opportunity")
    .reverse()
    .map((o) =>
      rowLink(
        `#/opportunities/${o.id}`,
        `${companyName(doc, str(o.fields, "company")) ?? "?"} — ${str(o.fields, "role") ?? "role not set"}`,
        human(currentStage(o.fields) ?? "no stage"),
        "opportunity",
      ),
    );
  return h("section", {}, h("h1", {}, "Opportunities"), h("a", { class: "button", href: "#/r/opportunity/new" }, "New opportunity"), h("div", { class: "spaced" }, list(items, "No opportunities yet.")));
}

export function contactsScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const items = live(doc, "contact")
    .sort((a, b) => title(doc, a).localeCompare(title(doc, b)))
    .map((p) => rowLink(`#/contacts/${p.id}`, title(doc, p), human(str(p.fields, "kind") ?? ""), "contact"));
  return h("section", {}, h("h1", {}, "People"), h("a", { class: "button", href: "#/r/contact/new" }, "New contact"), h("div", { class: "spaced" }, list(items, "No contacts yet.")));
}

// ----- details and editing --------------------------------------------------

type Editor =
  | { name: string; label: string; type: "text" | "prose" | "date" }
  | { name: string; label: string; type: "int"; min: number; max: number }
  | { name: string; label: string; type: "enum"; options: string[] };

const EDITORS: Partial<Record<Kind, Editor[]>> = {
  interview: [
    { name: "kind", label: "Kind", type: "enum", options: INTERVIEW_KINDS },
    { name: "format", label: "Format", type: "enum", options: INTERVIEW_FORMATS },
    { name: "status", label: "Status", type: "enum", options: INTERVIEW_STATUSES },
    { name: "rating", label: "Rating (1-5)", type: "int", min: 1, max: 5 },
    { name: "notes", label: "Notes", type: "prose" },
    { name: "went_well", label: "What went well", type: "prose" },
    { name: "improve", label: "What to improve", type: "prose" },
    { name: "looking_for", label: "What they seem to look for", type: "prose" },
  ],
  opportunity: [
    { name: "role", label: "Role", type: "text" },
    { name: "level", label: "Level", type: "text" },
    { name: "interest_now", label: "Interest now (1-5)", type: "int", min: 1, max: 5 },
    { name: "notes", label: "Notes", type: "prose" },
  ],
  contact: [
    { name: "name", label: "Name", type: "text" },
    { name: "kind", label: "Role towards you", type: "enum", options: CONTACT_KINDS },
    { name: "met", label: "How you met", type: "text" },
    { name: "keep_in_touch_days", label: "Keep in touch every (days)", type: "int", min: 1, max: 3650 },
    { name: "last_contacted", label: "Last contacted", type: "date" },
    { name: "notes", label: "Notes", type: "prose" },
  ],
};

function facts(doc: Doc, kind: Kind, f: Fields): [string, string][] {
  const rows: [string, string | undefined][] = [];
  if (kind === "interview") {
    rows.push(["Company", companyName(doc, str(f, "company"))], ["When", when(str(f, "start"))], ["Kind", str(f, "kind") && human(str(f, "kind")!)]);
    rows.push(["Status", str(f, "status") && human(str(f, "status")!)], ["Rating", stars(int(f, "rating"))], ["Format", str(f, "format") && human(str(f, "format")!)]);
    const opp = str(f, "opportunity");
    rows.push(["Opportunity", opp && refTitle(doc, opp)]);
    rows.push(["With", members(f, "interviewers").map((c) => refTitle(doc, c)).join(", ")], ["Minutes", int(f, "duration_min")?.toString()]);
  } else if (kind === "opportunity") {
    rows.push(["Company", companyName(doc, str(f, "company"))], ["Role", str(f, "role")], ["Level", str(f, "level")], ["Stage", human(currentStage(f) ?? "none")]);
    rows.push(["Interest now", int(f, "interest_now")?.toString()], ["Source", str(f, "source") && human(str(f, "source")!)]);
    rows.push(["Purpose", members(f, "purpose").map(human).join(", ")], ["Told the recruiter", str(f, "told_recruiter") && human(str(f, "told_recruiter")!)]);
    const close = f.close && typeof f.close === "object" && !Array.isArray(f.close) ? (f.close as Fields) : undefined;
    if (close && str(close, "by")) {
      const reason = str(close, "reason");
      rows.push(["Ended", `by ${str(close, "by") === "me" ? "me" : "them"}${reason ? `: ${reason}` : ""}${close.door_open === true ? " (door open)" : ""}`]);
    }
  } else if (kind === "contact") {
    rows.push(["Role", str(f, "kind") && human(str(f, "kind")!)], ["Met", str(f, "met")], ["Keep in touch", int(f, "keep_in_touch_days") ? `every ${int(f, "keep_in_touch_days")} days` : undefined]);
    rows.push(["Last contacted", str(f, "last_contacted")]);
    const ch = f.channels as Fields | undefined;
    for (const k of ["email", "phone", "link"]) if (ch && typeof ch[k] === "string") rows.push([human(k), ch[k] as string]);
  }
  return rows.filter((r): r is [string, string] => !!r[1]);
}

export function detailScreen(c: Ctx, kind: Kind, id: string, editing: boolean): HTMLElement {
  const doc = c.vault.doc;
  const r = record(doc, kind, id);
  const back = { interview: "#/interviews", opportunity: "#/opportunities", contact: "#/contacts" }[kind as "interview"] ?? "#/today";
  if (!r) return h("section", {}, h("h1", {}, "Not found"), h("p", { class: "muted" }, "This record is not in the vault (yet)."), h("a", { class: "button", href: back }, "Back"));
  const editors = EDITORS[kind] ?? [];
  const conflicts = conflictedFields(doc, kind, id);
  // Editing: the form every kind shares (ui-records.ts), from the schema.
  if (!editing) {
    const prose = editors.filter((e) => e.type === "prose" && str(r.fields, e.name));
    return h(
      "section",
      { "data-testid": `${kind}-detail` },
      h("h1", {}, title(doc, r)),
      sensitiveBadge(doc, kind === "contact" ? undefined : str(r.fields, "company")),
      str(r.fields, "deleted_at") ? h("p", { class: "error" }, `Deleted ${when(str(r.fields, "deleted_at"))}.`) : null,
      conflicts.length
        ? h("p", { class: "error", "data-testid": "conflicted" }, `Edited on two devices at once: ${conflicts.join(", ")}. `, h("a", { href: "#/conflicts" }, "Pick the value to keep"), ".")
        : null,
      h("dl", {}, ...facts(doc, kind, r.fields).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      ...prose.flatMap((e) => [h("h2", {}, e.label), h("div", { class: "prose", "data-field": e.name }, str(r.fields, e.name)!)]),
      ...(kind === "interview" ? retroFacts(doc, id) : []),
      kind === "opportunity" && !str(r.fields, "deleted_at") ? stageControls(c, id) : null,
      kind === "opportunity" && !str(r.fields, "deleted_at") ? oppPayControls(c, id) : null,
      kind === "contact" && !str(r.fields, "deleted_at") ? jobControls(c, id) : null,
      kind === "interview" && !str(r.fields, "deleted_at") ? h("a", { class: "button", href: `#/interviews/${id}/retro` }, "Retro") : null,
      editors.length && !str(r.fields, "deleted_at") ? h("a", { class: "button", href: `#/${kind === "opportunity" ? "opportunities" : kind + "s"}/${id}/edit` }, "Edit") : null,
      deleteRestore(c, kind, id, !!str(r.fields, "deleted_at"), back),
    );
  }
  return recordForm(c, kind, id);
}

// ----- settings -----------------------------------------------------------------

/** The relay this phone syncs with, moving to another one, and leaving the vault. */
export function settingsScreen(c: Ctx): HTMLElement {
  const s = c.vault.state;
  const last = s.lastSync ? new Date(s.lastSync * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "never";
  return h(
    "section",
    {},
    h("h1", {}, "Settings"),
    h("h2", {}, "Relay"),
    h(
      "dl",
      {},
      h("div", {}, h("dt", {}, "Syncs with"), h("dd", { "data-testid": "relay-url" }, c.relay.url())),
      h("div", {}, h("dt", {}, "Last sync"), h("dd", {}, last)),
      h("div", {}, h("dt", {}, "This device"), h("dd", {}, c.vault.device.slice(0, 12))),
    ),
    c.relay.inviteNeeded() ? inviteForm(c) : null,
    moveForm(c),
    leaveSection(c),
  );
}

function inviteForm(c: Ctx): HTMLElement {
  const code = h("input", { name: "invite", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }) as HTMLInputElement;
  return h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        c.relay.registerWith(code.value);
        c.go("#/today");
      },
    },
    h("h2", {}, "Register the vault again"),
    h("p", { class: "muted" }, "The relay lost this vault and registers vaults by invite only. Enter the code its operator gave you (", h("code", {}, "interlog relay invite"), ")."),
    field("Invite code", code),
    h("button", { class: "big", type: "submit" }, "Register again"),
  );
}

function moveForm(c: Ctx): HTMLElement {
  const url = h("input", { name: "new-relay", placeholder: "wss://relay.example.com", autocomplete: "off", autocapitalize: "off", spellcheck: "false", inputmode: "url" }) as HTMLInputElement;
  const pin = h("input", { name: "pin", placeholder: "sha256:…", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }) as HTMLInputElement;
  const msg = h("div", { role: "alert" });
  const button = h("button", { class: "big secondary", type: "submit" }, "Move") as HTMLButtonElement;
  return h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        button.textContent = "Moving…";
        msg.replaceChildren();
        try {
          await c.relay.moveTo(url.value, pin.value || null);
          c.flash(`This phone now syncs with ${c.relay.url()}.`);
          c.go("#/settings");
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
          button.disabled = false;
          button.textContent = "Move";
        }
      },
    },
    h("h2", {}, "Move to another relay"),
    h(
      "p",
      { class: "muted" },
      "The new address goes into the journal, so your other devices switch at their next sync with this relay; this phone then sends its copy to the new relay. Start the new relay first, open to registration or with an invite.",
    ),
    field("New relay address", url),
    field("Pin (a relay with a self-signed certificate only)", pin),
    button,
    msg,
  );
}

function leaveSection(c: Ctx): HTMLElement {
  const box = h("div", {});
  const ask = h("button", { class: "big danger", type: "button" }, "Leave this vault") as HTMLButtonElement;
  ask.addEventListener("click", () => {
    const pending = c.vault.state.pending;
    const msg = h("div", { role: "alert" });
    box.replaceChildren(
      h(
        "div",
        { class: pending ? "error" : "note", "data-testid": "leave-warning" },
        pending
          ? `${pending} change${pending === 1 ? " on this phone is" : "s on this phone are"} not on the relay yet: leaving deletes ${pending === 1 ? "it" : "them"} for good. Tap the indicator at the top to sync first, unless you mean to drop ${pending === 1 ? "it" : "them"}.`
          : "Everything on this phone is on the relay. Leaving deletes this phone's copy only.",
      ),
      h(
        "button",
        {
          class: "big danger",
          type: "button",
          onclick: async () => {
            try {
              await c.relay.leave();
            } catch (err) {
              msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
            }
          },
        },
        "Delete this phone's copy",
      ),
      h("button", { class: "big secondary", type: "button", onclick: () => box.replaceChildren(ask) }, "Cancel"),
      msg,
    );
  });
  box.append(ask);
  return h(
    "div",
    {},
    h("h2", {}, "Leave this vault"),
    h("p", { class: "muted" }, "Deletes the journal from this phone. Your other devices and the relay keep it; join again any time with a code from ", h("code", {}, "interlog pair"), " or your recovery words."),
    box,
  );
}

// ----- retro ------------------------------------------------------------------

/** "Sensitive (high): why", when the record's company is flagged so. */
function sensitiveBadge(doc: Doc, company: string | undefined): HTMLElement | null {
  const c = company ? record(doc, "company", company) : undefined;
  const label = c && sensitiveLabel(c.fields);
  if (!c || !label) return null;
  const why = str(c.fields, "sensitivity_reason");
  return h("p", { class: "badge", "data-testid": "sensitive" }, `${label}${why ? `: ${why}` : ""}`);
}

/** The questions asked (with how each went) and the resume items probed, on an interview's screen. */
function retroFacts(doc: Doc, id: string): HTMLElement[] {
  const r = retroOf(doc, id);
  const out: HTMLElement[] = [];
  if (r.questions.length) {
    out.push(
      h("h2", {}, "Questions asked"),
      h("ul", { class: "list", "data-testid": "questions-asked" }, ...r.questions.map(([w, n]) => h("li", {}, h("div", { class: "row" }, h("div", { class: "title" }, w), h("div", { class: "sub" }, n ? stars(n) : "not rated"))))),
    );
  }
  if (r.resumeItems.length) {
    out.push(h("h2", {}, "Resume items they probed"), h("ul", { class: "list", "data-testid": "resume-items" }, ...r.resumeItems.map((i) => h("li", {}, h("div", { class: "row" }, i)))));
  }
  return out;
}

/**
 * The retro of an interview, as `interlog retro` has it: the rating, what
 * went well, what to improve, what they seem to look for, the questions
 * asked with how each went (from the question bank, or new), and the resume
 * items they probed. Saving writes only what changed here.
 */
export function retroScreen(c: Ctx, id: string): HTMLElement {
  const doc = c.vault.doc;
  const r = record(doc, "interview", id);
  if (!r || str(r.fields, "deleted_at")) {
    return h("section", {}, h("h1", {}, "Not found"), h("p", { class: "muted" }, "This interview is not in the vault, or is deleted."), h("a", { class: "button", href: "#/interviews" }, "Back"));
  }
  const before = retroOf(doc, id);
  let rating = before.rating;
  const prose = {
    went_well: h("textarea", { name: "went_well" }) as HTMLTextAreaElement,
    improve: h("textarea", { name: "improve" }) as HTMLTextAreaElement,
    looking_for: h("textarea", { name: "looking_for" }) as HTMLTextAreaElement,
  };
  for (const f of RETRO_PROSE) prose[f].value = before[f];
  const bank = h("datalist", { id: "question-bank" }, ...liveFields(doc, "question", ["wording"]).map((q) => h("option", { value: str(q.fields, "wording") ?? "" })));

  const questions = h("ul", { class: "list retro-list" });
  const questionRows: { input: HTMLInputElement; rating: () => number | null }[] = [];
  const addQuestion = (wording = "", n: number | null = null) => {
    const input = h("input", { name: "question", list: "question-bank", autocomplete: "off", "aria-label": `Question ${questionRows.length + 1}` }) as HTMLInputElement;
    input.value = wording;
    let picked = n;
    const row = { input, rating: () => picked };
    questionRows.push(row);
    const li = h(
      "li",
      { "data-testid": "retro-question" },
      h(
        "div",
        { class: "row" },
        input,
        chips(["1", "2", "3", "4", "5"], n ? String(n) : undefined, (v) => (picked = v ? Number(v) : null), "rating"),
        h("button", {
          type: "button",
          class: "link",
          onclick: () => {
            questionRows.splice(questionRows.indexOf(row), 1);
            li.remove();
          },
        }, "Remove"),
      ),
    );
    questions.append(li);
    return input;
  };
  for (const [w, n] of before.questions) addQuestion(w, n);

  const items = h("ul", { class: "list retro-list" });
  const itemInputs: HTMLInputElement[] = [];
  const addItem = (text = "") => {
    const input = h("input", { name: "resume_item", autocomplete: "off", "aria-label": `Resume item ${itemInputs.length + 1}` }) as HTMLInputElement;
    input.value = text;
    itemInputs.push(input);
    const li = h(
      "li",
      { "data-testid": "retro-item" },
      h("div", { class: "row" }, input, h("button", { type: "button", class: "link", onclick: () => (itemInputs.splice(itemInputs.indexOf(input), 1), li.remove()) }, "Remove")),
    );
    items.append(li);
    return input;
  };
  for (const i of before.resumeItems) addItem(i);

  const msg = h("div", { role: "alert" });
  return h(
    "form",
    {
      "data-testid": "retro",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const after: Retro = {
            rating,
            went_well: prose.went_well.value,
            improve: prose.improve.value,
            looking_for: prose.looking_for.value,
            questions: questionRows.map((q) => [q.input.value, q.rating()]),
            resumeItems: itemInputs.map((i) => i.value),
          };
          const changed = await c.vault.edit((d) => writeRetro(d, id, before, after));
          c.flash(changed ? "Retro saved" : "Nothing changed");
          c.go(`#/interviews/${id}`);
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
        }
      },
    },
    h("h1", {}, `Retro: ${title(doc, r)}`),
    h("p", { class: "muted" }, when(str(r.fields, "start"))),
    h("label", {}, "How did it go?"),
    chips(["1", "2", "3", "4", "5"], rating ? String(rating) : undefined, (v) => (rating = v ? Number(v) : null), "rating"),
    field("What went well", prose.went_well),
    field("What to improve", prose.improve),
    field("What they seem to look for", prose.looking_for),
    h("h2", {}, "Questions asked"),
    bank,
    questions,
    h("button", { type: "button", class: "big secondary", onclick: () => addQuestion().focus() }, "Add a question"),
    h("h2", {}, "Resume items they probed"),
    items,
    h("button", { type: "button", class: "big secondary", onclick: () => addItem().focus() }, "Add a resume item"),
    h("button", { class: "big", type: "submit" }, "Save retro"),
    msg,
  );
}
