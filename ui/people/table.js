// The people table: virtual scrolling over pages asked for one at a time
// (the roster behind them answers any filter or sort of 230,000 people in
// milliseconds), the filter bar, sortable columns, ticked rows.

import { $, el, fmt, toast } from "../lib/dom.js";
import { invoke } from "../lib/ipc.js";

const ROW_HEIGHT = 34;
const PAGE = 100;

export const KIND_WORDS = { student: "Student", staff: "Staff", parent: "Parent" };
export const STATE_WORDS = { enabled: "enabled", disabled: "disabled", recycled: "in the recycle bin" };
const FLAG_WORDS = {
  NEW: "Not yet signed in or sent a letter or email",
  AR: "Access restriction in the SIS: check before sending",
  NR: "Does not receive academic reports",
};

/** People ticked in the table, by row id (kept across pages and scrolling;
 *  SIS ids can repeat across kinds and SIS exports). */
export const selected = new Set();

export function showSelected() {
  $("selected-count").textContent = selected.size ? `${fmt.format(selected.size)} ticked` : "";
}

export const table = {
  pages: new Map(), // page number -> rows
  pending: new Set(),
  failed: new Set(), // pages that failed for this query: not retried until it changes
  matching: 0,
  generation: 0, // bumps when the query changes; stale answers are dropped
  sort: { by: "name", descending: false },
  /** A filter the bar cannot show (Home's "parents waiting for review"). */
  extra: null,
  /** Opens a person's panel (set by the panel's module). */
  onOpen: () => {},

  query() {
    const value = (id) => $(id).value.trim() || null;
    return {
      kind: value("kind-filter"),
      search: value("search"),
      state: value("state-filter"),
      new: $("new-filter").checked,
      year: value("year-filter"),
      status: value("status-filter"),
      group: value("group-filter"),
      home_group: value("home-group-filter"),
      class: value("class-filter"),
      ...(this.extra?.query ?? {}),
    };
  },

  /** Shows only the people `query` means, named `label`, until cleared. */
  setExtra(query, label) {
    this.extra = query ? { query, label } : null;
    $("extra-filter").hidden = !query;
    $("extra-filter-label").textContent = label ?? "";
    if (query) {
      for (const id of ["kind-filter", "state-filter", "status-filter", "group-filter", "class-filter"]) {
        $(id).value = "";
      }
      for (const id of ["search", "year-filter", "home-group-filter"]) $(id).value = "";
      $("new-filter").checked = false;
    }
  },

  invalidate() {
    this.pages.clear();
    this.pending.clear();
    this.failed.clear();
    this.matching = 0;
    this.generation++;
  },

  async refresh() {
    this.invalidate();
    $("viewport").scrollTop = 0;
    await this.fetch(0);
    this.render();
  },

  async fetch(page) {
    if (this.pages.has(page) || this.pending.has(page) || this.failed.has(page)) return;
    this.pending.add(page);
    const gen = this.generation;
    try {
      const res = await invoke("people_page", {
        query: { ...this.query(), offset: page * PAGE, limit: PAGE },
        sort: this.sort,
      });
      if (gen !== this.generation) return;
      this.pages.set(page, res.rows);
      this.matching = res.matching;
      $("count").textContent = `${fmt.format(res.matching)} of ${fmt.format(res.total)}`;
      $("spacer").style.height = `${res.matching * ROW_HEIGHT}px`;
      $("empty").hidden = res.matching !== 0;
    } catch (e) {
      if (gen === this.generation) {
        this.failed.add(page);
        toast(String(e), 8000);
      }
    } finally {
      // A stale answer must not clear the pending mark of the new query.
      if (gen === this.generation) this.pending.delete(page);
    }
  },

  render() {
    const vp = $("viewport");
    const first = Math.floor(vp.scrollTop / ROW_HEIGHT);
    const count = Math.ceil(vp.clientHeight / ROW_HEIGHT) + 2;
    const last = Math.min(first + count, this.matching);
    const needed = new Set();
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const page = Math.floor(i / PAGE);
      const rows = this.pages.get(page);
      frag.append(rowElement(rows ? rows[i % PAGE] : null));
      if (!rows) needed.add(page);
    }
    $("rows").style.top = `${first * ROW_HEIGHT}px`;
    $("rows").replaceChildren(frag);
    for (const p of needed) {
      if (!this.failed.has(p)) this.fetch(p).then(() => this.render());
    }
  },
};

function rowElement(p) {
  const row = el("div", { className: p ? "row" : "row loading", attrs: { role: "row" } });
  const tick = el("span", { attrs: { role: "cell" } });
  if (p) {
    tick.append(el("input", {
      type: "checkbox",
      className: "tick",
      checked: selected.has(p.id),
      attrs: { "aria-label": `Tick ${p.given_name} ${p.family_name}` },
      onchange: (ev) => {
        if (ev.target.checked) selected.add(p.id);
        else selected.delete(p.id);
        showSelected();
      },
    }));
  }
  row.append(tick);
  const cells = p
    ? [`${p.family_name}, ${p.preferred_name || p.given_name}`, KIND_WORDS[p.kind] ?? p.kind, p.sis_id,
       p.status, p.year_level, p.email]
    : ["Loading…", "", "", "", "", ""];
  cells.forEach((text, i) => {
    const c = el("span", { attrs: { role: "cell" } });
    if (i === 0 && p) {
      // The name opens the person's panel: details, actions, history.
      c.append(el("button", { className: "link person-open", textContent: text, onclick: () => table.onOpen(p) }));
    } else {
      c.textContent = text;
    }
    if (i === 3 && p) c.className = `badge status-${p.status}`;
    row.append(c);
  });
  row.append(accountCell(p));
  if (p) row.dataset.sisId = p.sis_id;
  return row;
}

/** The account: username, state (and why, on hover), the NEW/AR/NR flags. */
function accountCell(p) {
  const acct = el("span", { className: "account-cell", attrs: { role: "cell" } });
  if (p?.username) {
    acct.append(p.username, el("span", {
      className: `acct-state acct-${p.state}`,
      textContent: STATE_WORDS[p.state] ?? p.state,
      title: p.reason || "",
    }));
    for (const f of p.flags ?? []) {
      acct.append(el("span", { className: `flag flag-${f}`, textContent: f, title: FLAG_WORDS[f] ?? f }));
    }
  } else if (p) {
    acct.textContent = "No account yet";
  }
  return acct;
}

/** The group filter lists the groups there are (after generating, renaming…). */
export async function refreshGroups() {
  let groups = [];
  try {
    groups = await invoke("account_groups");
  } catch (e) {
    return;
  }
  const sel = $("group-filter");
  const chosen = sel.value;
  sel.replaceChildren(new Option("Any group", ""), ...groups.map((g) => new Option(g.name, g.name)));
  sel.value = groups.some((g) => g.name === chosen) ? chosen : "";
}

/** The class filter lists the classes the SIS lists (they change with imports).
 *  Choosing one shows the class's students. */
export async function refreshClasses() {
  let classes = [];
  try {
    classes = await invoke("classes");
  } catch (e) {
    return;
  }
  const sel = $("class-filter");
  const chosen = sel.value;
  const label = (c) => [c.title || c.sis_id, c.teachers.length ? `(${c.teachers.join(", ")})` : ""]
    .filter(Boolean).join(" ");
  sel.replaceChildren(new Option("Any class", ""), ...classes.map((c) => new Option(label(c), c.sis_id)));
  sel.value = classes.some((c) => c.sis_id === chosen) ? chosen : "";
  sel.hidden = classes.length === 0;
}

// Column headers sort the whole filtered list; a second click reverses it.
for (const b of document.querySelectorAll("button.sort")) {
  b.addEventListener("click", () => {
    const by = b.dataset.sort;
    table.sort = { by, descending: table.sort.by === by ? !table.sort.descending : false };
    for (const other of document.querySelectorAll("button.sort")) {
      const mine = other.dataset.sort === table.sort.by;
      other.parentElement.setAttribute("aria-sort",
        mine ? (table.sort.descending ? "descending" : "ascending") : "none");
    }
    table.refresh();
  });
}

$("select-page").addEventListener("change", () => {
  for (const box of document.querySelectorAll("#rows .tick")) {
    box.checked = $("select-page").checked;
    box.dispatchEvent(new Event("change"));
  }
});

let scrollQueued = false;
$("viewport").addEventListener("scroll", () => {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    table.render();
  });
});
window.addEventListener("resize", () => table.render());

// Typing waits for a pause; choosing a filter answers at once.
let typing;
for (const [id, wait] of [["search", 150], ["year-filter", 250], ["home-group-filter", 250]]) {
  $(id).addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => table.refresh(), wait);
  });
}
for (const id of ["kind-filter", "state-filter", "status-filter", "group-filter", "class-filter", "new-filter"]) {
  $(id).addEventListener("change", () => table.refresh());
}
$("extra-filter-clear").addEventListener("click", () => {
  table.setExtra(null);
  table.refresh();
});
