// Home: what needs doing, each item opening the people it means; a first
// run offers the import or the demo school.

import { $, el, fmt } from "./lib/dom.js";
import { invoke } from "./lib/ipc.js";
import { screen, show } from "./lib/nav.js";

/** The database's status; shows the welcome, or the to-do list. */
export async function refreshHome() {
  let status;
  try {
    status = await invoke("app_status");
  } catch (e) {
    $("opening").hidden = true;
    $("first-run").hidden = false;
    $("first-run").replaceChildren(
      el("h1", { textContent: "Keyroll cannot open its database" }),
      el("p", { className: "error-text", textContent: String(e) }),
    );
    return null;
  }
  $("opening").hidden = true;
  $("db-path").textContent = status.db_path;
  const t = status.totals;
  const empty = t.students + t.staff + t.parents === 0;
  $("first-run").hidden = !empty;
  $("dashboard").hidden = empty;
  $("home-totals").textContent = `${fmt.format(t.students)} students, ${fmt.format(t.staff)} staff and ` +
    `${fmt.format(t.parents)} parents and guardians.`;
  const last = status.last_import;
  $("last-import").textContent = last
    ? `Last import: ${new Date(last.started_at).toLocaleString()} by ${last.actor}` +
      ` (${fmt.format(last.counts.new ?? 0)} new, ${fmt.format(last.counts.updated ?? 0)} updated, ` +
      `${fmt.format(last.counts.leaving ?? 0)} leaving).`
    : "";
  if (!empty) refreshTodo();
  return status;
}

const OPEN_WORDS = {
  parents_waiting: "Review them",
  standing_lost: "Show them",
  no_account: "Show them",
  cannot_have: "Show them and why",
  not_handed_out: "Show them",
  import_rejected: "Open the import",
  sync_conflicts: "Decide them",
  sync_pending: "Open Sync",
};

// Items that are not a list of people open their own screen.
const SCREEN_OF = { import_rejected: "import", sync_conflicts: "sync", sync_pending: "sync" };

/** The to-do list (working out who qualifies reads everyone: a large
 *  school takes a second or two, so it fills in when ready). */
async function refreshTodo() {
  const list = $("todo");
  list.setAttribute("aria-busy", "true");
  let items;
  try {
    items = await invoke("home_todo");
  } catch (e) {
    list.replaceChildren(el("li", { className: "error-text", textContent: String(e) }));
    return;
  } finally {
    list.removeAttribute("aria-busy");
  }
  if (!items.length) {
    list.replaceChildren(el("li", { className: "todo done", textContent: "Nothing needs doing: every account is up to date." }));
    return;
  }
  list.replaceChildren(...items.map((i) => {
    const open = el("button", {
      textContent: OPEN_WORDS[i.what] ?? "Show",
      dataset: { what: i.what },
      onclick: () => i.people
        ? show("people", { query: i.people, label: i.title.replace("{count}", fmt.format(i.count)) })
        : show(SCREEN_OF[i.what] ?? "import"),
    });
    if (i.what === "no_account") {
      open.textContent = "Generate accounts…";
      open.onclick = () => show("people", { generate: true });
    }
    return el("li", { className: `todo todo-${i.what}`, dataset: { what: i.what } },
      el("div", {},
        el("strong", { textContent: i.title.replace("{count}", fmt.format(i.count)) }),
        el("p", { className: "hint", textContent: i.detail })),
      open);
  }));
}

screen("home", () => refreshHome());
