// The Import screen: choose files (dialog, typed path or dropped), the
// mapping step for a plain list, the preview dialog, then the import with
// progress and Cancel; and the history, where an import is rolled back
// after its own preview.

import { $, el, fmt, toast } from "../lib/dom.js";
import { invoke, progressChannel, withProgress, work } from "../lib/ipc.js";
import { preview } from "../lib/dialog.js";
import { screen, show } from "../lib/nav.js";
import { showMapping } from "./mapping.js";
import { outcomeBox, showFailure, showPreview, showResult } from "./preview.js";

const DEMO_STUDENTS = 1000;

/** Called after an import changed the database (the table reloads). */
export const imported = { onChange: () => {}, afterImport: async () => {} };

/** Runs an import command with the progress dialog and shows its outcome. */
async function runImport(title, command, args) {
  if (work.busy) return;
  const skipInvalid = Boolean(args.skipInvalid);
  let summary;
  try {
    summary = await withProgress(title, () =>
      invoke(command, { ...args, onProgress: progressChannel() }));
  } catch (e) {
    show("import");
    showFailure(e);
    return;
  }
  if (summary.applied) imported.onChange();
  await imported.afterImport();
  if (summary.applied && !summary.rejected) {
    toast(`Imported: ${fmt.format(summary.new)} new, ${fmt.format(summary.updated)} updated, ` +
      `${fmt.format(summary.leaving)} leaving.`);
    show("people");
  } else {
    // Rows were left out, or nothing was imported: the list stays in view.
    show("import");
  }
  showResult(summary, skipInvalid);
}

export const loadDemo = () =>
  runImport("Loading the demo school…", "load_demo", { students: DEMO_STUDENTS });

/** Chosen files run a dry run first: the user sees what would change and
 *  confirms before anything is written. */
export async function previewAndImport(paths, mapping = null) {
  if (!paths.length || work.busy) return;
  if (mapping === null) {
    // A plain list (CSV or spreadsheet) needs its columns chosen first.
    let info;
    try {
      info = await invoke("inspect_import", { paths, sheet: null });
    } catch (e) {
      show("import");
      showFailure(e);
      return;
    }
    if (info.sample) {
      show("import");
      showMapping(paths, info, previewAndImport);
      return;
    }
  }
  const skipInvalid = $("skip-invalid").checked;
  let p;
  try {
    p = await withProgress("Checking your SIS export…", () => invoke("import_paths", {
      paths, skipInvalid, dryRun: true, expect: null, mapping, onProgress: progressChannel(),
    }));
  } catch (e) {
    show("import");
    showFailure(e);
    return;
  }
  show("import");
  $("import-outcome").hidden = true;
  const changes = p.new + p.updated + p.leaving + p.links_new + p.links_updated + p.links_removed +
    p.orgs_new + p.orgs_updated + p.classes_new + p.classes_updated + p.classes_removed;
  if (p.refused || changes === 0) {
    // Nothing to confirm: show why (the problems, or "already up to date").
    showResult(p, skipInvalid);
    return;
  }
  // Applying passes what the preview showed: if the files or the database
  // changed meanwhile, nothing is applied and the user previews again.
  showPreview(p, () => runImport("Importing your SIS export…", "import_paths", {
    paths, skipInvalid, dryRun: false, expect: p.preview, mapping,
  }));
}

/** The history: each import, newest first, with a rollback that previews
 *  (a dry run) before anything is undone; rollbacks listed as such. */
export async function refreshHistory() {
  const list = $("import-history");
  let history;
  try {
    history = await invoke("import_history");
  } catch (e) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(...history.map((i) => {
    const c = i.counts || {};
    const when = new Date(i.started_at).toLocaleString();
    const what = i.rollback_of
      ? `#${i.id} · ${when} · the rollback of import #${i.rollback_of} by ${i.actor}`
      : `#${i.id} · ${when} · ${i.format} · ${fmt.format(c.new || 0)} new, ` +
        `${fmt.format(c.updated || 0)} updated, ${fmt.format(c.leaving || 0)} leaving` +
        (i.rolled_back_at ? ` · rolled back ${new Date(i.rolled_back_at).toLocaleString()}` : "");
    const li = el("li", { dataset: { importId: i.id } }, el("span", { textContent: what }));
    if (!i.rolled_back_at && !i.rollback_of) {
      li.append(el("button", {
        className: "rollback",
        textContent: "Roll back…",
        onclick: () => previewRollback(i.id),
      }));
    }
    return li;
  }));
}

async function previewRollback(id) {
  if (work.busy) return;
  let r;
  try {
    r = await invoke("rollback_import", { id, dryRun: true });
  } catch (e) {
    showFailure(e, "This import cannot be rolled back");
    return;
  }
  preview({
    dialog: "import-dialog",
    body: "import-result",
    title: `Roll back import #${id}?`,
    lines: [
      `${fmt.format(r.removed)} people it added will be removed, ${fmt.format(r.restored)} people get their ` +
        `earlier details back, and ${fmt.format(r.links)} links between students and parents are restored.`,
    ],
    confirm: { id: "confirm-rollback", label: "Roll back this import", danger: true },
    onConfirm: async () => {
      try {
        await withProgress(`Rolling back import #${id}…`,
          () => invoke("rollback_import", { id, dryRun: false }), false);
        outcomeBox().hidden = true;
        toast(`Import #${id} was rolled back.`);
        imported.onChange();
      } catch (e) {
        showFailure(e, "Nothing was rolled back");
      }
      refreshHistory();
    },
  });
}

$("load-demo").addEventListener("click", loadDemo);
$("import-demo").addEventListener("click", loadDemo);
$("first-import").addEventListener("click", () => show("import"));
for (const [id, folder] of [["choose-folder", true], ["choose-files", false]]) {
  $(id).addEventListener("click", async () => previewAndImport(await invoke("choose_import_paths", { folder })));
}
$("path-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const path = $("import-path").value.trim();
  if (path) previewAndImport([path]);
});

// Files or a folder dropped anywhere on the window go to the import wizard.
// Tauri delivers the real paths (the webview's own drop event has none).
window.__TAURI__.webview?.getCurrentWebview().onDragDropEvent((ev) => {
  const p = ev.payload;
  document.body.classList.toggle("dropping", p.type === "enter" || p.type === "over");
  if (p.type === "drop" && p.paths?.length && !work.busy) {
    show("import");
    previewAndImport(p.paths);
  }
});

screen("import", () => refreshHistory());
