// What an import would change, before it does (a dialog), and what it did
// (on the Import screen): counts first, then who, field by field.

import { $, el, fmt, labelled, toast } from "../lib/dom.js";
import { invoke } from "../lib/ipc.js";
import { pagedTable, preview } from "../lib/dialog.js";

const FIELD_WORDS = {
  kind: "kind", role: "role", given_name: "first name", middle_name: "middle name", family_name: "last name",
  preferred_name: "preferred name", email: "email", mobile: "mobile", status: "status", schools: "school",
  year_level: "year", home_group: "home group", birth_date: "date of birth", sis_id: "SIS id",
};
const CHANGE_WORDS = { new: "New", updated: "Changed", leaving: "Leaving" };

/** "CASES21 eduHub: ST_8888.csv (Windows-1252), …": what was read, and how. */
export function filesRead(summary) {
  const files = summary.read
    .map((f) => f.sheet
      ? `${f.file} (${f.encoding}, sheet “${f.sheet}”)`
      : `${f.file} (${f.encoding}${f.delimiter === "comma" ? "" : ", " + f.delimiter + "-separated"})`)
    .join(", ");
  return el("p", { className: "files-read", textContent: `${summary.format_title}: ${files}` });
}

const WARNING = "imported with warning";

/** The rows left out, and the rows imported without something (warnings). */
function split(errors) {
  return [errors.filter((e) => e.outcome !== WARNING), errors.filter((e) => e.outcome === WARNING)];
}

/** What an import's report says, in two lists: left out, and imported with a warning. */
function problems(summary, leftOut) {
  const [rejected, warnings] = split(summary.errors);
  const out = [];
  if (rejected.length) {
    out.push(el("p", { textContent: `${fmt.format(summary.rejected)} row(s) ${leftOut}:` }), errorList(rejected));
  }
  if (warnings.length) {
    out.push(el("p", {
      textContent: `${fmt.format(summary.warnings)} row(s) imported without what the warning says was dropped:`,
    }), errorList(warnings));
  }
  return out;
}

function errorList(errors) {
  return el("div", {
    className: "errors",
    textContent: errors
      .slice(0, 500)
      .map((e) => `${e.file}:${e.line}:${e.column}: ${e.field ? e.field + ": " : ""}${e.reason}`)
      .join("\n"),
  });
}

/** The preview dialog of an import: `apply` runs if it is confirmed. */
export function showPreview(p, apply) {
  const lines = [
    [p.new, "new people"],
    [p.updated, "people whose details changed"],
    [p.leaving, "people who have left (their records are kept, marked as left)"],
    [p.unchanged, "unchanged"],
    [p.links_new + p.links_updated + p.links_removed, "changes to links between students and parents"],
    [p.orgs_new + p.orgs_updated, "new or changed schools"],
    [p.classes_new + p.classes_updated + p.classes_removed, "new, changed or removed classes"],
  ].map(([n, what]) => `${fmt.format(n)} ${what}`);
  const content = [filesRead(p)];
  if (p.changes?.length) content.push(changeList(p));
  content.push(...problems(p, "have problems and will be left out"));
  preview({
    dialog: "import-dialog",
    body: "import-result",
    title: "Check the changes before importing",
    lines,
    content,
    confirm: { id: "confirm-import", label: "Import these changes" },
    onConfirm: apply,
  });
}

/** Who the import adds, changes (field by field) or marks as leaving, with
 *  a filter by kind of change and a search by name or SIS id; a page at a
 *  time. */
function changeList(p) {
  const which = el("select", { id: "change-filter" });
  for (const [v, t] of [["", "All changes"], ["new", "New people"], ["updated", "Changed details"],
    ["leaving", "Leaving"]]) which.append(el("option", { value: v, textContent: t }));
  const search = el("input", { id: "change-search", type: "search", placeholder: "Find a name or SIS id" });
  const listed = el("div");
  const fold = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const describe = (c) => c.fields.map((f) => {
    const label = f.field.startsWith("raw.") ? f.field.slice(4) : FIELD_WORDS[f.field] ?? f.field;
    return `${label}: “${f.before}” → “${f.after}”`;
  }).join("; ");
  const render = () => {
    const words = fold(search.value).split(/\s+/).filter(Boolean);
    const hits = p.changes.filter((c) =>
      (!which.value || c.change === which.value) &&
      words.every((w) => fold(`${c.name} ${c.sis_id}`).includes(w)));
    listed.replaceChildren(pagedTable([
      ["Change", (c) => CHANGE_WORDS[c.change]],
      ["Name", (c) => c.name],
      ["Kind", (c) => c.kind],
      ["SIS id", (c) => c.sis_id],
      ["What changes", describe],
    ], hits, "change-list"));
  };
  which.addEventListener("change", render);
  search.addEventListener("input", render);
  render();
  const wrap = el("div", { className: "changes" },
    el("div", { className: "actions" }, labelled("Show", which), which, labelled("Find", search), search),
    listed);
  const total = p.new + p.updated + p.leaving;
  if (total > p.changes.length) {
    wrap.append(el("p", {
      className: "hint",
      textContent: `The list names the first ${fmt.format(p.changes.length)} of ${fmt.format(total)} people.`,
    }));
  }
  return wrap;
}

/** The Import screen's box for what happened, emptied and shown. */
export function outcomeBox() {
  const box = $("import-outcome");
  box.hidden = false;
  box.replaceChildren();
  return box;
}

/** What an import did (or why nothing was imported). */
export function showResult(summary, skipInvalid) {
  const box = outcomeBox();
  const c = summary;
  const n = summary.rejected;
  const warned = summary.warnings ? ` ${fmt.format(summary.warnings)} row(s) were imported with a warning.` : "";
  let heading, text;
  const found = summary.errors.length;
  if (summary.applied) {
    heading = n ? "Imported, with rows left out" : "Import finished";
    text = `${fmt.format(c.new)} new, ${fmt.format(c.updated)} updated, ${fmt.format(c.leaving)} leaving, ` +
      `${fmt.format(c.unchanged)} unchanged.` +
      (n ? ` ${fmt.format(n)} row(s) below were not imported: fix them in your SIS and import again.` : "") + warned;
  } else if (summary.refused && !skipInvalid) {
    heading = "Nothing was imported";
    text = `${fmt.format(found)} problem(s) were found. Fix them in your SIS and export again, ` +
      `or tick “import the valid rows” above and import again.`;
  } else if (found) {
    heading = "Nothing was imported";
    text = `The valid rows hold nothing new, and ${fmt.format(found)} row(s) have problems: fix them in your SIS ` +
      `and export again.`;
  } else {
    heading = "Already up to date";
    text = "These files hold nothing new: the database already matches them.";
  }
  box.append(el("h2", { textContent: heading }), filesRead(summary), el("p", { textContent: text }));
  if (summary.errors.length) {
    const save = el("button", {
      textContent: "Save report…",
      onclick: async () => {
        try {
          const path = await invoke("save_report");
          if (path) toast(`Saved the report to ${path}`);
        } catch (e) {
          toast(String(e), 8000);
        }
      },
    });
    box.append(...problems(summary, summary.applied ? "were not imported" : "have problems"), save);
  }
}

/** Why something failed, on the Import screen. */
export function showFailure(e, heading = "Nothing was imported") {
  const box = outcomeBox();
  box.append(el("h2", { textContent: heading }), el("p", { className: "error-text", textContent: String(e) }));
}
