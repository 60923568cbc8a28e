/**
 * Every kind of record on the phone, from the schema (`schema.ts`, the
 * shared vector of the Rust field tables): lists, a record's screen, a form
 * to create or edit one with the CLI's validation and messages, and delete
 * and restore. Companies, offers, follow-ups and questions live here
 * (`#/r/KIND…`, reached from More); interviews, opportunities and contacts
 * keep their own screens and share the delete and restore buttons. Text
 * only: every value goes on screen with `textContent`.
 */
import {
  addRound,
  addStage,
  COMP_AMOUNTS,
  closeOpportunity,
  companyName,
  compPatch,
  conflicts,
  contactMoved,
  createRecord,
  currentStage,
  DECISIONS,
  decideOffer,
  deleteRecord,
  type Doc,
  editRecord,
  type Fields,
  type FieldValue,
  human,
  jobsOf,
  type Json,
  type Kind,
  live,
  localDate,
  members,
  parseWorkHours,
  plain,
  record,
  records,
  refTitle,
  resolveConflict,
  restoreRecord,
  setComp,
  STAGES,
  str,
  title,
  updateProfile,
  zoned,
} from "./doc";
import { FieldError, type FieldSpec, fieldsOf, kindName, parseInput, PROFILE_FIELDS } from "./schema";
import { plainAmount } from "./money";
import { search } from "./search";
import { type Month, stats } from "./stats";
import { type Ctx, field, h, list, pagedList, rowLink, select, when } from "./ui";

/** The kinds with their screens here, as More lists them. */
export const GENERIC: { kind: Kind; plural: string }[] = [
  { kind: "company", plural: "Companies" },
  { kind: "offer", plural: "Offers" },
  { kind: "followup", plural: "Follow-ups" },
  { kind: "question", plural: "Questions" },
];

/** Where the list of a kind is. */
export function listHref(kind: Kind): string {
  return { interview: "#/interviews", opportunity: "#/opportunities", contact: "#/contacts" }[kind as string] ?? `#/r/${kind}`;
}

/** Where a record's screen is. */
export function recordHref(kind: Kind, id: string): string {
  switch (kind) {
    case "interview":
      return `#/interviews/${id}`;
    case "opportunity":
      return `#/opportunities/${id}`;
    case "contact":
      return `#/contacts/${id}`;
    default:
      return `#/r/${kind}/${id}`;
  }
}

export function moreScreen(): HTMLElement {
  return h(
    "section",
    {},
    h("h1", {}, "More"),
    list(
      [
        rowLink("#/search", "Search", "every record", "more-kind"),
        rowLink("#/stats", "Stats", "as interlog stats, with a chart", "more-kind"),
        rowLink("#/profile", "Your profile", "role, goal, working hours, your package", "more-kind"),
        ...GENERIC.map((g) => rowLink(`#/r/${g.kind}`, g.plural, "", "more-kind")),
        rowLink("#/conflicts", "Conflicts", "fields changed on two devices at once", "more-kind"),
      ],
      "",
    ),
  );
}

/** A record's name in lists, with what tells it apart. */
function subtitle(doc: Doc, kind: Kind, f: Fields): string {
  switch (kind) {
    case "company":
      return [str(f, "industry"), str(f, "priority") && human(str(f, "priority")!), sensitiveLabel(f)].filter(Boolean).join(" · ");
    case "offer":
      return [companyName(doc, str(f, "company")), str(f, "decision") && human(str(f, "decision")!), str(f, "received")].filter(Boolean).join(" · ");
    case "followup":
      return [f.done === true ? "done" : str(f, "due") && `due ${str(f, "due")}`, str(f, "target") && refTitle(doc, str(f, "target")!)].filter(Boolean).join(" · ");
    case "question":
      return str(f, "category") ?? "";
    default:
      return "";
  }
}

/** "Sensitive (high)" for a company flagged so, as `interlog company list` marks it. */
export function sensitiveLabel(f: Fields): string | undefined {
  const s = str(f, "sensitivity");
  return s === "caution" || s === "high" ? `Sensitive (${s})` : undefined;
}

function sortKey(kind: Kind, doc: Doc, r: { id: string; fields: Fields }): string {
  if (kind === "followup") return `${r.fields.done === true ? "1" : "0"}${str(r.fields, "due") ?? "9999"}`;
  if (kind === "offer") return `${9e15 - Date.parse(str(r.fields, "received") ?? "1970-01-01")}`;
  return title(doc, { kind, ...r }).toLowerCase();
}

/** The records of a kind; `deleted`: the deleted ones, to restore. */
export function kindListScreen(c: Ctx, kind: Kind, deleted: boolean): HTMLElement {
  const doc = c.vault.doc;
  const plural = GENERIC.find((g) => g.kind === kind)?.plural ?? kind;
  const all = records(doc, kind).filter((r) => !!str(r.fields, "deleted_at") === deleted);
  const rows = all
    .sort((a, b) => sortKey(kind, doc, a).localeCompare(sortKey(kind, doc, b)))
    .map((r) => () => rowLink(recordHref(kind, r.id), title(doc, r), subtitle(doc, kind, r.fields), kind));
  return h(
    "section",
    {},
    h("h1", {}, deleted ? `Deleted ${plural.toLowerCase()}` : plural),
    deleted ? null : h("a", { class: "button", href: `#/r/${kind}/new` }, `New ${kindName(kind)}`),
    h("div", { class: "spaced" }, pagedList(rows, deleted ? "Nothing deleted." : `No ${plural.toLowerCase()} yet.`)),
    h("p", {}, h("a", { href: deleted ? `#/r/${kind}` : `#/r/${kind}/deleted` }, deleted ? `Back to ${plural.toLowerCase()}` : `Deleted ${plural.toLowerCase()}`)),
  );
}

/** A stored value as the screen shows it. */
function shown(doc: Doc, spec: FieldSpec, v: Json): string {
  if (v === null || v === undefined || v === "") return "";
  switch (spec.type) {
    case "enum":
      return typeof v === "string" ? human(v) : String(v);
    case "enumset":
    case "set":
      return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v).filter((k) => v[k] === true).map((m) => (spec.type === "enumset" ? human(m) : m)).join(", ") : "";
    case "refset":
      return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v).map((id) => refTitle(doc, id)).join(", ") : "";
    case "ref":
    case "anyref":
      return typeof v === "string" ? refTitle(doc, v) : "";
    case "bool":
      return v === true ? "yes" : v === false ? "no" : "";
    case "datetime":
      return typeof v === "string" ? when(v) : "";
    case "comp":
      return compText(v);
    case "entries":
    case "ratings":
    case "map":
      return v && typeof v === "object" && !Array.isArray(v) ? `${Object.keys(v).length} entr${Object.keys(v).length === 1 ? "y" : "ies"}` : "";
    default:
      return typeof v === "object" ? "" : String(v);
  }
}

/** A compensation package in one line: "EUR 95000.00 base + 10000.00 bonus / year". */
export function compText(v: Json): string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "";
  const cur = typeof v.currency === "string" ? v.currency : "";
  const parts = ["base", "bonus", "signing", "equity"]
    .filter((k) => typeof v[k] === "number")
    .map((k) => `${cur ? plainAmount(v[k] as number, cur) : v[k]} ${k}`);
  if (!parts.length) return "";
  return `${cur} ${parts.join(" + ")}${typeof v.period === "string" ? ` / ${v.period}` : ""}`.trim();
}

/** Delete or restore, for any record's screen. */
export function deleteRestore(c: Ctx, kind: Kind, id: string, deleted: boolean, back: string): HTMLElement {
  const name = kindName(kind);
  const go = (what: (d: Doc) => Doc, said: string, to: string) => {
    c.vault
      .edit(what)
      .then(() => {
        c.flash(said);
        c.go(to);
      })
      .catch((e) => {
        c.flash((e as Error).message);
        c.go(location.hash);
      });
  };
  return deleted
    ? h("button", { type: "button", class: "big secondary", onclick: () => go((d) => restoreRecord(d, kind, id), `Restored the ${name}.`, recordHref(kind, id)) }, "Restore")
    : h("button", { type: "button", class: "big danger", onclick: () => go((d) => deleteRecord(d, kind, id), `Deleted the ${name}; its screen can restore it.`, back) }, "Delete");
}

export function recordScreen(c: Ctx, kind: Kind, id: string): HTMLElement {
  const doc = c.vault.doc;
  const r = record(doc, kind, id);
  const back = `#/r/${kind}`;
  if (!r) return h("section", {}, h("h1", {}, "Not found"), h("p", { class: "muted" }, "This record is not in the vault (yet)."), h("a", { class: "button", href: back }, "Back"));
  const deleted = !!str(r.fields, "deleted_at");
  const rows = fieldsOf(kind)
    .filter((s) => s.name !== "deleted_at" && s.type !== "prose")
    .map((s) => [human(s.name), shown(doc, s, r.fields[s.name] ?? null)] as const)
    .filter(([, v]) => v !== "");
  const prose = fieldsOf(kind).filter((s) => s.type === "prose" && str(r.fields, s.name));
  return h(
    "section",
    { "data-testid": `${kind}-detail` },
    h("h1", {}, title(doc, r)),
    kind === "company" && sensitiveLabel(r.fields) ? h("p", { class: "badge", "data-testid": "sensitive" }, `${sensitiveLabel(r.fields)}${str(r.fields, "sensitivity_reason") ? `: ${str(r.fields, "sensitivity_reason")}` : ""}`) : null,
    deleted ? h("p", { class: "error" }, `Deleted ${when(str(r.fields, "deleted_at"))}.`) : null,
    h("dl", {}, ...rows.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    ...prose.flatMap((s) => [h("h2", {}, human(s.name)), h("div", { class: "prose", "data-field": s.name }, str(r.fields, s.name)!)]),
    kind === "company" ? companyLinks(doc, id) : null,
    kind === "offer" && !deleted ? compControls(c, id) : null,
    deleted ? null : h("a", { class: "button", href: `#/r/${kind}/${id}/edit` }, "Edit"),
    deleteRestore(c, kind, id, deleted, back),
  );
}

/** A company's opportunities, with their stage. */
function companyLinks(doc: Doc, id: string): HTMLElement | null {
  const opps = live(doc, "opportunity").filter((o) => str(o.fields, "company") === id);
  if (!opps.length) return null;
  return h(
    "div",
    {},
    h("h2", {}, "Opportunities"),
    list(
      opps.map((o) => rowLink(`#/opportunities/${o.id}`, str(o.fields, "role") ?? "role not set", human(currentStage(o.fields) ?? "no stage"), "company-opportunity")),
      "",
    ),
  );
}

/** The fields a form offers for a kind: what `edit --set` takes, and not the bookkeeping. */
function editable(kind: Kind, creating: boolean): FieldSpec[] {
  return fieldsOf(kind).filter((s) => {
    if (["created_at", "deleted_at"].includes(s.name)) return false;
    // An instant (an interview's start): a time picker, in this phone's zone.
    if (s.type === "datetime") return true;
    if (creating && kind === "followup" && s.name === "done") return false;
    if (creating && kind === "offer" && (s.name === "company" || s.name === "decision")) return false;
    return ["text", "prose", "int", "bool", "date", "enum", "ref", "anyref", "set", "enumset", "refset"].includes(s.type);
  });
}

type Input = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

/** The records a reference field can point to, as options: live ones, by title. */
function refOptions(doc: Doc, kinds: Kind[]): [string, string][] {
  return kinds.flatMap((k) => live(doc, k).map((r): [string, string] => [r.id, `${k === "opportunity" ? `${companyName(doc, str(r.fields, "company")) ?? "?"} — ` : ""}${title(doc, r)}${kinds.length > 1 ? ` (${kindName(k)})` : ""}`]));
}

function inputFor(doc: Doc, s: FieldSpec, cur: Json): { input: Input; raw: string } {
  let input: Input;
  let raw = "";
  if (s.type === "enum") {
    input = select(s.name, s.values, typeof cur === "string" ? cur : undefined);
    raw = input.value;
  } else if (s.type === "bool") {
    input = h("select", { name: s.name }, h("option", { value: "" }, "—"), h("option", { value: "yes" }, "yes"), h("option", { value: "no" }, "no")) as HTMLSelectElement;
    input.value = cur === true ? "yes" : cur === false ? "no" : "";
    raw = input.value;
  } else if (s.type === "ref" || s.type === "anyref") {
    const kinds: Kind[] = s.type === "ref" ? [s.kind as Kind] : ["contact", "opportunity", "company"];
    const sel = h("select", { name: s.name }, h("option", { value: "" }, "—")) as HTMLSelectElement;
    const opts = refOptions(doc, kinds);
    if (typeof cur === "string" && cur && !opts.some(([id]) => id === cur)) opts.push([cur, refTitle(doc, cur)]);
    for (const [id, t] of opts) sel.append(h("option", { value: id }, t));
    sel.value = typeof cur === "string" ? cur : "";
    input = sel;
    raw = sel.value;
  } else if (s.type === "prose") {
    input = h("textarea", { name: s.name }) as HTMLTextAreaElement;
    raw = typeof cur === "string" ? cur : "";
  } else if (s.type === "datetime") {
    input = h("input", { name: s.name, type: "datetime-local" }) as HTMLInputElement;
    const t = typeof cur === "string" ? Date.parse(cur.replace(/\[.*\]$/, "")) : NaN;
    raw = Number.isNaN(t) ? "" : pickerValue(new Date(t));
  } else {
    const type = s.type === "int" ? "number" : s.type === "date" ? "date" : "text";
    input = h("input", { name: s.name, type, autocomplete: "off", inputmode: s.type === "int" ? "numeric" : "text" }) as HTMLInputElement;
    if (s.type === "int") {
      input.setAttribute("min", String(s.min));
      input.setAttribute("max", String(s.max));
    }
    if (s.type === "refset") {
      // Names, as `edit --set interviewers=Ana,Sam` takes them.
      raw = cur && typeof cur === "object" && !Array.isArray(cur) ? members({ v: cur }, "v").map((rid) => refTitle(doc, rid)).join(", ") : "";
      input.setAttribute("placeholder", "names, comma-separated");
    } else if (s.type === "set" || s.type === "enumset") {
      raw = cur && typeof cur === "object" && !Array.isArray(cur) ? members({ v: cur }, "v").join(", ") : "";
      if (s.type === "enumset") input.setAttribute("placeholder", s.values.join(", "));
    } else raw = cur === null || cur === undefined || typeof cur === "object" ? "" : String(cur);
  }
  if (!(input instanceof HTMLSelectElement)) input.value = raw;
  return { input, raw };
}

/**
 * The form that creates a record of `kind` (`id` null) or edits one: each
 * field typed as the CLI reads it (`parseInput`, the same rules and
 * messages), and, editing, only the fields changed here are written.
 */
export function recordForm(c: Ctx, kind: Kind, id: string | null): HTMLElement {
  const doc = c.vault.doc;
  const r = id ? record(doc, kind, id) : undefined;
  if (id && (!r || str(r.fields, "deleted_at"))) return recordScreen(c, kind, id);
  const specs = editable(kind, !id);
  const inputs = specs.map((s) => ({ s, ...inputFor(doc, s, r?.fields[s.name] ?? null) }));
  const msg = h("div", { role: "alert" });
  const name = kindName(kind);
  return h(
    "form",
    {
      "data-testid": `${kind}-form`,
      // The schema's rules check the input, with the CLI's messages; not the browser's.
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const values: Record<string, FieldValue> = {};
        const problems: string[] = [];
        for (const { s, input, raw } of inputs) {
          const now = input.value;
          if (id && now === raw) continue;
          if (now.trim() === "") {
            if (id) values[s.name] = null;
            continue;
          }
          try {
            if (s.type === "datetime") {
              const t = new Date(now);
              if (Number.isNaN(t.getTime())) throw new FieldError(`${s.name}: pick a date and a time`);
              values[s.name] = zoned(t);
            } else values[s.name] = s.type === "refset" ? resolveNames(doc, s.kind as Kind, now) : (parseInput(s, now) as FieldValue);
          } catch (err) {
            if (err instanceof FieldError) problems.push(err.message);
            else throw err;
          }
        }
        if (problems.length) {
          msg.replaceChildren(...problems.map((p) => h("div", { class: "error" }, p)));
          return;
        }
        try {
          let target = id ?? "";
          const changed = await c.vault.edit((d) => {
            if (id) return editRecord(d, kind, id, values);
            const made = createRecord(d, kind, values);
            target = made.id;
            return made.doc;
          });
          c.flash(id ? (changed ? `Saved the ${name}.` : "Nothing changed.") : `Added the ${name}.`);
          c.go(recordHref(kind, target));
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
        }
      },
    },
    h("h1", {}, id && r ? `Edit: ${title(doc, r)}` : `New ${name}`),
    ...inputs.map(({ s, input }) => h("div", { title: s.help }, field(human(s.name), input), h("div", { class: "hint" }, s.help))),
    h("button", { class: "big", type: "submit" }, id ? "Save" : `Add the ${name}`),
    h("a", { class: "button cancel", href: id ? recordHref(kind, id) : listHref(kind) }, "Cancel"),
    msg,
  );
}

/** A date as a datetime-local input holds it: local time, to the minute. */
function pickerValue(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${localDate(d)}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Names (or ids) typed for a set of references, as the records' ids, as the
 * CLI's `resolve` does: a live record of that name, ignoring case, or whose
 * id starts with what was typed.
 */
function resolveNames(doc: Doc, kind: Kind, raw: string): { [id: string]: true } {
  const out: { [id: string]: true } = {};
  const all = live(doc, kind);
  for (const part of raw.split(",").map((x) => x.trim()).filter(Boolean)) {
    const want = part.toLowerCase();
    const found = all.find((r) => title(doc, r).toLowerCase() === want) ?? all.find((r) => r.id.startsWith(part.toUpperCase()));
    if (!found) throw new FieldError(`no ${kindName(kind)} is named or has an id starting with '${part}'; People lists them`);
    out[found.id] = true;
  }
  return out;
}

/** The title field of a kind; forms and lists name records by it. */
export function titleOf(doc: Doc, kind: Kind, id: string): string {
  const r = record(doc, kind, id);
  return r ? title(doc, r) : id;
}

/** A value as `interlog conflicts` shows it. */
function valueText(v: Json): string {
  if (v === null) return "(removed)";
  if (typeof v === "string") return `"${v}"`;
  return JSON.stringify(v);
}

/**
 * The fields two devices changed at the same time, each value with the
 * device that wrote it, and a button to keep it (`interlog conflicts`, and
 * `conflicts pick`).
 */
export function conflictsScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const all = conflicts(doc);
  const me = c.vault.device;
  const who = (w: string) => (w === me ? "this phone" : `device ${w.slice(0, 8)}`);
  const items = all.map((k) => {
    const r = record(doc, k.kind, k.id);
    const name = `${kindName(k.kind)} ${r ? title(doc, r) : k.id}`;
    return h(
      "div",
      { class: "row", "data-testid": "conflict" },
      h("div", { class: "title" }, `${name} · ${k.path.join(".")}`),
      ...k.values.map((v, i) =>
        h(
          "div",
          { class: "conflict-value" },
          h("span", {}, `${i + 1}) ${valueText(v)} `, h("span", { class: "muted" }, `[${who(k.writers[i])}]`)),
          h(
            "button",
            {
              type: "button",
              onclick: () => {
                c.vault
                  .edit((d) => resolveConflict(d, k, v))
                  .then(() => {
                    c.flash(`Kept ${valueText(v)} for ${name} ${k.path.join(".")}.`);
                    c.go("#/conflicts");
                  })
                  .catch((e) => {
                    c.flash((e as Error).message);
                    c.go("#/conflicts");
                  });
              },
            },
            "Keep this",
          ),
        ),
      ),
      h("a", { href: recordHref(k.kind, k.id), class: "muted" }, "Open the record"),
    );
  });
  return h(
    "section",
    {},
    h("h1", {}, "Conflicts"),
    h("p", { class: "muted" }, "Fields changed on two devices at the same time. Keep one value; every device then shows it."),
    list(items, "No conflicts."),
  );
}

/** Search across every record (`interlog search`): each match with its record, field and the text around it. */
export function searchScreen(c: Ctx, query: string): HTMLElement {
  const input = h("input", { name: "q", type: "search", autocomplete: "off", enterkeyhint: "search" }) as HTMLInputElement;
  input.value = query;
  const hits = query.trim() ? search(c.vault.doc, query) : [];
  const results = query.trim()
    ? pagedList(
        hits.map((hit) => () => rowLink(recordHref(hit.kind, hit.id), `${hit.title}`, `${kindName(hit.kind)} · ${hit.field}: ${hit.snippet}`, "hit")),
        "No matches.",
      )
    : null;
  return h(
    "form",
    {
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const q = input.value.trim();
        if (!q) return;
        c.go(`#/search/${encodeURIComponent(q)}`);
      },
    },
    h("h1", {}, "Search"),
    field("Search every record", input),
    h("button", { class: "big", type: "submit" }, "Search"),
    query.trim() ? h("p", { class: "muted" }, `${hits.length} match${hits.length === 1 ? "" : "es"}`) : null,
    results,
  );
}

/**
 * An opportunity's stage, moved as `interlog opp stage` does, and its end:
 * withdraw (a reason is asked) or rejected, with whether the door stays
 * open, as `opp withdraw` and `opp rejected`.
 */
export function stageControls(c: Ctx, id: string): HTMLElement {
  const stage = select("stage", STAGES, undefined);
  const note = h("input", { name: "stage_note", autocomplete: "off" }) as HTMLInputElement;
  const reason = h("input", { name: "close_reason", autocomplete: "off" }) as HTMLInputElement;
  const door = h("input", { type: "checkbox", name: "door_open", id: "f-door-open" }) as HTMLInputElement;
  door.checked = true;
  const msg = h("div", { role: "alert" });
  const act = (what: (d: Doc) => Doc, said: string) =>
    c.vault
      .edit(what)
      .then(() => {
        c.flash(said);
        c.go(`#/opportunities/${id}`);
      })
      .catch((e) => msg.replaceChildren(h("div", { class: "error" }, (e as Error).message)));
  return h(
    "div",
    { "data-testid": "stage-controls" },
    h("h2", {}, "Stage"),
    field("Move to stage", stage),
    field("Stage note", note),
    h("button", { type: "button", class: "big secondary", onclick: () => (stage.value ? act((d) => addStage(d, id, stage.value, note.value), `Moved to ${human(stage.value)}.`) : msg.replaceChildren(h("div", { class: "error" }, "Pick a stage."))) }, "Move"),
    h("h2", {}, "How it ended"),
    field("Reason", reason),
    h("label", { class: "check", for: "f-door-open" }, door, " Keep the door open"),
    h("button", { type: "button", class: "big secondary", onclick: () => act((d) => closeOpportunity(d, id, "withdrawn", reason.value, door.checked), "Withdrawn.") }, "I withdraw"),
    h("button", { type: "button", class: "big secondary", onclick: () => act((d) => closeOpportunity(d, id, "rejected", reason.value, door.checked), "Marked rejected.") }, "They rejected it"),
    msg,
  );
}

/**
 * An offer's package and its negotiation rounds, as `interlog offer comp`
 * and `interlog offer round`: amounts typed in major units (`95k`,
 * `120,000.50`), stored in minor units of the currency.
 */
function compControls(c: Ctx, id: string): HTMLElement {
  const doc = c.vault.doc;
  const o = record(doc, "offer", id)!;
  const comp = (o.fields.comp && typeof o.fields.comp === "object" && !Array.isArray(o.fields.comp) ? o.fields.comp : {}) as Fields;
  const cur = typeof comp.currency === "string" ? comp.currency : "";
  const currency = h("input", { name: "currency", autocomplete: "off", maxlength: "3", placeholder: "EUR" }) as HTMLInputElement;
  currency.value = cur;
  const period = select("period", ["year", "month", "hour"], typeof comp.period === "string" ? comp.period : undefined);
  const amounts = COMP_AMOUNTS.map((k) => {
    const input = h("input", { name: k, autocomplete: "off", inputmode: "decimal" }) as HTMLInputElement;
    input.value = typeof comp[k] === "number" && cur ? plainAmount(comp[k] as number, cur) : "";
    return [k, input] as const;
  });
  const asked = h("input", { name: "asked", autocomplete: "off", inputmode: "decimal" }) as HTMLInputElement;
  const offered = h("input", { name: "offered", autocomplete: "off", inputmode: "decimal" }) as HTMLInputElement;
  const note = h("input", { name: "round_note", autocomplete: "off" }) as HTMLInputElement;
  const msg = h("div", { role: "alert" });
  const act = (what: (d: Doc) => Doc, said: string) =>
    c.vault
      .edit(what)
      .then(() => {
        c.flash(said);
        c.go(`#/r/offer/${id}`);
      })
      .catch((e) => msg.replaceChildren(h("div", { class: "error" }, (e as Error).message)));
  const rounds = Object.values((o.fields.rounds && typeof o.fields.rounds === "object" && !Array.isArray(o.fields.rounds) ? o.fields.rounds : {}) as Record<string, Json>)
    .filter((r): r is Fields => !!r && typeof r === "object" && !Array.isArray(r))
    .sort((a, b) => String(a.at ?? "").localeCompare(String(b.at ?? "")));
  const money = (r: Fields, k: string) => (typeof r[k] === "number" && typeof r.currency === "string" ? `${r.currency} ${plainAmount(r[k] as number, r.currency)}` : "—");
  const decision = select("decision", DECISIONS, str(o.fields, "decision"));
  return h(
    "div",
    { "data-testid": "comp-controls" },
    h("h2", {}, "Decision"),
    field("Where it stands", decision),
    h(
      "button",
      {
        type: "button",
        class: "big secondary",
        onclick: () => (decision.value ? act((d) => decideOffer(d, id, decision.value), `Offer ${decision.value}.`) : msg.replaceChildren(h("div", { class: "error" }, "Pick a decision."))),
      },
      "Save the decision",
    ),
    h("h2", {}, "Package"),
    field("Currency", currency),
    field("Period", period),
    ...amounts.map(([k, input]) => field(human(k), input)),
    h("button", { type: "button", class: "big secondary", onclick: () => act((d) => setComp(d, "offer", id, "comp", { currency: currency.value, period: period.value, ...Object.fromEntries(amounts.map(([k, i]) => [k, i.value])) }), "Saved the package.") }, "Save the package"),
    h("h2", {}, "Negotiation rounds"),
    list(
      rounds.map((r) => h("div", { class: "row", "data-testid": "round" }, h("div", { class: "title" }, `asked ${money(r, "asked")} · offered ${money(r, "offered")}`), h("div", { class: "sub" }, [typeof r.at === "string" ? r.at : "", typeof r.note === "string" ? r.note : ""].filter(Boolean).join(" · ")))),
      "No rounds yet.",
    ),
    field("You asked (base)", asked),
    field("They offered (base)", offered),
    field("Round note", note),
    h("button", { type: "button", class: "big secondary", onclick: () => act((d) => addRound(d, id, asked.value, offered.value, note.value), "Added the round.") }, "Add the round"),
    msg,
  );
}

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const plainProfile = (doc: Doc): Json => plain(doc?.profile);

/**
 * The profile, as `interlog profile set`: your role and level, the monthly
 * goal, working hours and days (for the discretion warnings), and your
 * package, the baseline offers are compared with. Only what is changed here
 * is written.
 */
export function profileScreen(c: Ctx): HTMLElement {
  const doc = c.vault.doc;
  const p = (plainProfile(doc) ?? {}) as Fields;
  const text = (k: string) => (typeof p[k] === "string" ? (p[k] as string) : "");
  const role = h("input", { name: "role", autocomplete: "off" }) as HTMLInputElement;
  role.value = text("role");
  const level = h("input", { name: "level", autocomplete: "off" }) as HTMLInputElement;
  level.value = text("level");
  const goal = h("input", { name: "monthly_goal", type: "number", inputmode: "numeric" }) as HTMLInputElement;
  goal.value = typeof p.monthly_goal === "number" ? String(p.monthly_goal) : "";
  const hours = h("input", { name: "work_hours", autocomplete: "off", placeholder: "09:00-18:00" }) as HTMLInputElement;
  hours.value = text("work_start") && text("work_end") ? `${text("work_start")}-${text("work_end")}` : "";
  const days = new Set(members(p, "work_days"));
  const dayChips = h("div", { class: "chips", role: "group", "aria-label": "Working days" });
  for (const d of WEEKDAYS) {
    const b = h("button", { type: "button", "aria-pressed": String(days.has(d)) }, human(d)) as HTMLButtonElement;
    b.addEventListener("click", () => {
      if (days.has(d)) days.delete(d);
      else days.add(d);
      b.setAttribute("aria-pressed", String(days.has(d)));
    });
    dayChips.append(b);
  }
  const comp = (p.comp && typeof p.comp === "object" && !Array.isArray(p.comp) ? p.comp : {}) as Fields;
  const cur = typeof comp.currency === "string" ? comp.currency : "";
  const currency = h("input", { name: "currency", autocomplete: "off", maxlength: "3", placeholder: "EUR" }) as HTMLInputElement;
  currency.value = cur;
  const period = select("period", ["year", "month", "hour"], typeof comp.period === "string" ? comp.period : undefined);
  const amounts = COMP_AMOUNTS.map((k) => {
    const input = h("input", { name: k, autocomplete: "off", inputmode: "decimal" }) as HTMLInputElement;
    input.value = typeof comp[k] === "number" && cur ? plainAmount(comp[k] as number, cur) : "";
    return [k, input] as const;
  });
  const before = { role: role.value, level: level.value, goal: goal.value, hours: hours.value, days: [...days].sort().join(","), comp: [currency.value, period.value, ...amounts.map(([, i]) => i.value)].join("|") };
  const msg = h("div", { role: "alert" });
  return h(
    "form",
    {
      "data-testid": "profile-form",
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const values: Record<string, FieldValue> = {};
          if (role.value !== before.role) values.role = role.value.trim() || null;
          if (level.value !== before.level) values.level = level.value.trim() || null;
          if (goal.value !== before.goal) {
            const spec = PROFILE_FIELDS.find((f) => f.name === "monthly_goal")!;
            values.monthly_goal = goal.value.trim() ? (parseInput(spec, goal.value) as number) : null;
          }
          if (hours.value !== before.hours) {
            if (hours.value.trim()) {
              const [a, b] = parseWorkHours(hours.value);
              values.work_start = a;
              values.work_end = b;
            } else values.work_start = values.work_end = null;
          }
          if ([...days].sort().join(",") !== before.days) values.work_days = Object.fromEntries([...days].map((d) => [d, true as const]));
          const compNow = [currency.value, period.value, ...amounts.map(([, i]) => i.value)].join("|");
          const patch = compNow === before.comp ? null : compPatch(doc, { currency: currency.value, period: period.value, ...Object.fromEntries(amounts.map(([k, i]) => [k, i.value])) }, comp);
          const changed = await c.vault.edit((d) => updateProfile(d, values, patch));
          c.flash(changed ? "Saved your profile." : "Nothing changed.");
          c.go("#/profile");
        } catch (err) {
          msg.replaceChildren(h("div", { class: "error" }, (err as Error).message));
        }
      },
    },
    h("h1", {}, "Your profile"),
    field("Current role", role),
    field("Level", level),
    field("Interviews a month (goal)", goal),
    field("Working hours", hours),
    h("label", {}, "Working days"),
    dayChips,
    h("h2", {}, "Your package"),
    field("Currency", currency),
    field("Period", period),
    ...amounts.map(([k, input]) => field(human(k), input)),
    h("button", { class: "big", type: "submit" }, "Save"),
    msg,
  );
}

/** A contact's job history, and recording a move, as `interlog contact moved`. */
export function jobControls(c: Ctx, id: string): HTMLElement {
  const doc = c.vault.doc;
  const jobs = jobsOf(doc, id);
  const company = h("input", { name: "company", list: "move-companies", autocomplete: "off" }) as HTMLInputElement;
  const companies = h("datalist", { id: "move-companies" }, ...live(doc, "company").map((r) => h("option", { value: str(r.fields, "name") ?? "" })));
  const jobTitle = h("input", { name: "job_title", autocomplete: "off" }) as HTMLInputElement;
  const on = h("input", { name: "moved_on", type: "date" }) as HTMLInputElement;
  on.value = localDate(new Date());
  const msg = h("div", { role: "alert" });
  return h(
    "div",
    { "data-testid": "jobs" },
    h("h2", {}, "Job history"),
    list(
      jobs.map((j) => h("div", { class: "row", "data-testid": "job" }, h("div", { class: "title" }, [j.company, j.title].filter(Boolean).join(" · ")), h("div", { class: "sub" }, `${j.from ?? "?"} – ${j.to ?? "now"}`))),
      "No jobs recorded.",
    ),
    field("Moved to (company)", company),
    companies,
    field("New title", jobTitle),
    field("Since", on),
    h(
      "button",
      {
        type: "button",
        class: "big secondary",
        onclick: () => {
          let date: string;
          try {
            date = parseInput({ name: "since", type: "date", container: false, help: "" }, on.value || "today") as string;
          } catch (e) {
            msg.replaceChildren(h("div", { class: "error" }, (e as Error).message));
            return;
          }
          c.vault
            .edit((d) => contactMoved(d, id, company.value, jobTitle.value, date))
            .then(() => {
              c.flash(`Noted: ${titleOf(c.vault.doc, "contact", id)} now works at ${company.value.trim()}.`);
              c.go(`#/contacts/${id}`);
            })
            .catch((e) => msg.replaceChildren(h("div", { class: "error" }, (e as Error).message)));
        },
      },
      "Record the move",
    ),
    msg,
  );
}

const SVG = "http://www.w3.org/2000/svg";

function s(tag: string, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Interviews per month as bars, the goal as a dashed line, the average rating (1-5) as a line over them. */
function monthsChart(months: Month[]): SVGElement {
  const w = 340;
  const hgt = 150;
  const pad = 18;
  const max = Math.max(1, ...months.map((m) => Math.max(m.interviews, m.goal ?? 0)));
  const bw = (w - pad) / Math.max(1, months.length);
  const y = (n: number) => hgt - pad - (n / max) * (hgt - 2 * pad);
  const yr = (r: number) => hgt - pad - ((r - 1) / 4) * (hgt - 2 * pad);
  const bars = months.map((m, i) => s("rect", { x: pad + i * bw + 2, y: y(m.interviews), width: Math.max(1, bw - 4), height: hgt - pad - y(m.interviews), class: m.goal !== null && m.interviews >= m.goal ? "bar met" : "bar" }, s("title", {}, `${m.month}: ${m.interviews}`)));
  const goal = months[0]?.goal;
  const rated = months.map((m, i) => [i, m.avgRating] as const).filter(([, r]) => r !== null);
  const line = rated.map(([i, r]) => `${pad + i * bw + bw / 2},${yr(r!)}`).join(" ");
  return s(
    "svg",
    { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": "Interviews per month against the goal, with the average rating" },
    ...bars,
    ...(goal !== null && goal !== undefined ? [s("line", { x1: pad, x2: w, y1: y(goal), y2: y(goal), class: "goal" })] : []),
    ...(rated.length > 1 ? [s("polyline", { points: line, class: "rating-line" })] : []),
    s("text", { x: 0, y: 12, class: "axis" }, String(max)),
    s("text", { x: pad, y: hgt - 2, class: "axis" }, months[0]?.month ?? ""),
    s("text", { x: w - 48, y: hgt - 2, class: "axis" }, months[months.length - 1]?.month ?? ""),
  );
}

/**
 * Labelled horizontal bars, one row each (the value written at its end),
 * with an optional reference line (e.g. the current package).
 */
function barsChart(rows: { label: string; value: number; text: string; cls?: string }[], label: string, ref?: { value: number; text: string }): SVGElement {
  const w = 340;
  const row = 22;
  const left = 110;
  const top = ref ? 14 : 4;
  const hgt = top + rows.length * row + 4;
  const max = Math.max(1, ref?.value ?? 0, ...rows.map((r) => r.value));
  const x = (n: number) => left + (n / max) * (w - left - 60);
  const cut = (t: string) => (t.length > 16 ? `${t.slice(0, 15)}…` : t);
  return s(
    "svg",
    { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": label },
    ...rows.flatMap((r, i) => {
      const y0 = top + i * row;
      return [
        s("text", { x: 4, y: y0 + 15, class: "axis" }, cut(r.label)),
        s("rect", { x: left, y: y0 + 4, width: Math.max(1, x(r.value) - left), height: row - 8, class: `bar ${r.cls ?? ""}`.trim() }, s("title", {}, `${r.label}: ${r.text}`)),
        s("text", { x: x(r.value) + 4, y: y0 + 15, class: "axis" }, r.text),
      ];
    }),
    ...(ref ? [s("line", { x1: x(ref.value), x2: x(ref.value), y1: top - 4, y2: hgt, class: "goal" }), s("text", { x: Math.min(x(ref.value) + 3, w - 70), y: 10, class: "axis" }, ref.text)] : []),
  );
}

/** How far the opportunities got: how many reached each stage, all sources together. */
function funnelChart(stages: string[], funnel: { reached: number[] }[]): SVGElement {
  const rows = stages.map((stage, i) => {
    const n = funnel.reduce((sum, f) => sum + (f.reached[i] ?? 0), 0);
    return { label: stage, value: n, text: String(n) };
  });
  return barsChart(rows, "How many opportunities reached each stage");
}

/** Each offer's total a year beside the current package (offers in its currency only). */
function offersChart(offers: { company: string | null; annualTotal: number | null; currency: string | null }[], current: number | null, currency: string | null): SVGElement | string {
  const same = offers.filter((o) => o.annualTotal !== null && o.currency === currency && currency);
  if (!same.length || !currency) return "";
  const rows = same.map((o) => ({ label: o.company ?? "offer", value: o.annualTotal!, text: plainAmount(o.annualTotal!, currency), cls: current !== null && o.annualTotal! > current ? "met" : "" }));
  return barsChart(rows, `Offers a year against the current package, in ${currency}`, current !== null ? { value: current, text: `now ${plainAmount(current, currency)}` } : undefined);
}

function table(head: string[], rows: string[][], testid: string): HTMLElement {
  return h("table", { class: "stats", "data-testid": testid }, h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))), h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))));
}

const money = (minor: number | null, cur: string | null) => (minor === null || !cur ? "—" : `${cur} ${plainAmount(minor, cur)}`);
const rating = (r: number | null) => (r === null ? "" : r.toFixed(1));

/** `interlog stats` as a screen: the same numbers, with charts. */
export function statsScreen(c: Ctx): HTMLElement {
  const st = stats(c.vault.doc, new Date(), 12);
  return h(
    "section",
    { "data-testid": "stats" },
    h("h1", {}, "Stats"),
    h("h2", {}, "Interviews per month"),
    monthsChart(st.months),
    table(
      ["month", "interviews", "goal", "avg rating"],
      st.months.map((m) => [m.month, String(m.interviews), m.goal === null ? "" : m.interviews >= m.goal ? `${m.goal} ✓` : String(m.goal), rating(m.avgRating)]),
      "stats-months",
    ),
    h("h2", {}, "Funnel by source"),
    funnelChart(st.funnelStages, st.funnel),
    h("div", { class: "scroll" }, table(["source", ...st.funnelStages], st.funnel.map((f) => [f.source, ...f.reached.map(String)]), "stats-funnel")),
    h("h2", {}, "Most asked questions"),
    table(["question", "asked", "avg"], st.mostAsked.map((q) => [q.wording, String(q.asked), rating(q.avgRating)]), "stats-most-asked"),
    h("h2", {}, "Weakest questions"),
    table(["question", "asked", "avg"], st.weakest.map((q) => [q.wording, String(q.asked), rating(q.avgRating)]), "stats-weakest"),
    h("h2", {}, "Offers against your current package"),
    h("p", { class: "muted" }, `Current: ${money(st.currentAnnualTotal, st.currentCurrency)} a year`),
    offersChart(st.offers, st.currentAnnualTotal, st.currentCurrency),
    h(
      "div",
      { class: "scroll" },
      table(
        ["company", "level", "Δ", "decision", "total a year", "vs current"],
        st.offers.map((o) => [o.company ?? "", o.level ?? "", o.levelDelta === null ? "" : o.levelDelta > 0 ? `+${o.levelDelta}` : String(o.levelDelta), o.decision ?? "", money(o.annualTotal, o.currency), o.vsCurrentPct === null ? "" : `${o.vsCurrentPct > 0 ? "+" : ""}${o.vsCurrentPct.toFixed(1)}%`]),
        "stats-offers",
      ),
    ),
  );
}

/**
 * An opportunity's pay as posted, or as you asked, as `interlog opp comp
 * [--posted]`: the same package form as an offer's, under its own labels.
 */
export function oppPayControls(c: Ctx, id: string): HTMLElement {
  const doc = c.vault.doc;
  const o = record(doc, "opportunity", id)!;
  const msg = h("div", { role: "alert" });
  const section = (fieldName: "posted_comp" | "asked_comp", heading: string, prefix: string) => {
    const comp = (o.fields[fieldName] && typeof o.fields[fieldName] === "object" && !Array.isArray(o.fields[fieldName]) ? o.fields[fieldName] : {}) as Fields;
    const cur = typeof comp.currency === "string" ? comp.currency : "";
    const currency = h("input", { name: `${fieldName}_currency`, autocomplete: "off", maxlength: "3", placeholder: "EUR" }) as HTMLInputElement;
    currency.value = cur;
    const period = select(`${fieldName}_period`, ["year", "month", "hour"], typeof comp.period === "string" ? comp.period : undefined);
    const amounts = COMP_AMOUNTS.map((k) => {
      const input = h("input", { name: `${fieldName}_${k}`, autocomplete: "off", inputmode: "decimal" }) as HTMLInputElement;
      input.value = typeof comp[k] === "number" && cur ? plainAmount(comp[k] as number, cur) : "";
      return [k, input] as const;
    });
    const save = () =>
      c.vault
        .edit((d) => setComp(d, "opportunity", id, fieldName, { currency: currency.value, period: period.value, ...Object.fromEntries(amounts.map(([k, i]) => [k, i.value])) }))
        .then(() => {
          c.flash(`Saved ${heading.toLowerCase()}.`);
          c.go(`#/opportunities/${id}`);
        })
        .catch((e) => msg.replaceChildren(h("div", { class: "error" }, (e as Error).message)));
    return [
      h("h2", {}, heading),
      compText(comp) ? h("p", { class: "muted", "data-testid": fieldName }, compText(comp)) : null,
      field(`${prefix} currency`, currency),
      field(`${prefix} period`, period),
      ...amounts.map(([k, input]) => field(`${prefix} ${k}`, input)),
      h("button", { type: "button", class: "big secondary", onclick: save }, `Save ${heading.toLowerCase()}`),
    ];
  };
  return h("div", { "data-testid": "opp-pay" }, ...section("posted_comp", "Pay as posted", "Posted"), ...section("asked_comp", "Pay you asked", "Asked"), msg);
}
