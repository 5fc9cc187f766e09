// What the office does to accounts, each previewed in a dialog first:
// generating them, batch actions on ticked rows or everyone matching the
// filter, and resetting passwords (whose hand-out sheet is saved before
// anything changes).

import { $, fmt, toast } from "../lib/dom.js";
import { Channel, invoke, progressChannel, progressText, withProgress } from "../lib/ipc.js";
import { pagedTable, preview } from "../lib/dialog.js";
import { refreshGroups, selected, showSelected, STATE_WORDS, table } from "./table.js";

/** The people a run touches, as the preview's table lists them. */
function entryTable(entries) {
  return pagedTable([
    ["Name", (e) => e.name],
    ["Kind", (e) => e.kind],
    ["SIS id", (e) => e.sis_id],
    ["Account", (e) => e.action === "problem" ? "none" : e.username],
    ["State", (e) => STATE_WORDS[e.state] ?? e.state],
    ["Group", (e) => e.group],
    ["Why", (e) => e.reason],
  ], entries, "account-changes");
}

/** An accounts preview: `apply` runs when `label` is pressed; afterwards
 *  the table and the group filter load again. */
export function confirmAccounts(title, lines, entries, label, apply) {
  preview({
    dialog: "accounts-dialog",
    body: "accounts-result",
    title,
    lines,
    content: entries.length ? [entryTable(entries)] : [],
    confirm: { id: "confirm-accounts", label },
    onConfirm: async () => {
      try {
        await apply();
      } finally {
        refreshGroups();
        await table.refresh();
      }
    },
  });
}

/** Generate accounts, with the progress dialog (a large school takes
 *  seconds, for the preview and again for the real run). */
function generate(dryRun) {
  return withProgress(dryRun ? "Working out the accounts…" : "Creating and updating accounts…",
    () => invoke("generate_accounts", { dryRun, onProgress: progressChannel() }));
}

export async function generateFlow() {
  let g;
  try {
    g = await generate(true);
  } catch (e) {
    toast(String(e), 8000);
    return;
  }
  if (!g.created && !g.enabled && !g.disabled && !g.reviewed && !g.recycled && !g.flags_changed) {
    toast(g.problems
      ? `No account changes; ${fmt.format(g.problems)} people qualify but cannot get one.`
      : "Every account is already up to date.", 8000);
    return;
  }
  const lines = [
    `${fmt.format(g.created)} accounts will be created; ${fmt.format(g.enabled)} enabled and ` +
      `${fmt.format(g.disabled)} disabled because of the SIS; ${fmt.format(g.reviewed)} go back to ` +
      `waiting for review or change their reason; ${fmt.format(g.recycled)} moved to the recycle bin.`,
    "New parent accounts start disabled until you review and enable them.",
  ];
  if (g.problems) lines.push(`${fmt.format(g.problems)} people qualify but cannot get an account (listed first).`);
  confirmAccounts("Generate accounts?", lines, g.entries, "Create and update these accounts", async () => {
    const done = await generate(false);
    toast(`Created ${fmt.format(done.created)} accounts.`);
  });
}

/** A batch action's preview, then (if confirmed) the action and `after`. */
export async function batchFlow(action, words, query, group = null, after = () => {}) {
  // Everyone matching a filter can be a hundred thousand accounts: seconds.
  const run = (dryRun) => withProgress(dryRun ? `${words}: working out what would change…` : `${words}…`,
    () => {
      progressText("Working through the accounts…");
      return invoke("account_action", { action, group, query, dryRun });
    }, false);
  let o;
  try {
    o = await run(true);
  } catch (e) {
    toast(String(e), 8000);
    return;
  }
  const lines = [
    `${words}: ${fmt.format(o.changed)} accounts will change, ${fmt.format(o.unchanged)} are already so, ` +
      `${fmt.format(o.skipped)} are skipped (no account yet, no longer standing by the SIS, or in the ` +
      `recycle bin).`,
  ];
  confirmAccounts(`${words} ${fmt.format(o.changed)} accounts?`, lines, o.entries,
    `${words} ${fmt.format(o.changed)} accounts`, async () => {
      const done = await run(false);
      toast(`${words}: ${fmt.format(done.changed)} accounts changed.`);
      selected.clear();
      showSelected();
      after();
    });
}

/** Reset passwords or activation codes: a preview, then (on confirming) the
 *  "Save as" dialog for the hand-out sheet, the only place the new secrets
 *  ever go; cancelling it resets nothing. */
export async function resetFlow(query) {
  let o;
  try {
    o = await invoke("reset_accounts", { query, dryRun: true, saveTo: null, onProgress: new Channel() });
  } catch (e) {
    toast(String(e), 8000);
    return;
  }
  if (o.changed === 0) {
    toast(`Nothing to reset: ${fmt.format(o.skipped)} chosen have no account yet or are in the recycle bin.`, 8000);
    return;
  }
  const lines = [
    `${fmt.format(o.changed)} accounts will get a new initial password or activation code, as their kind's ` +
      `policy says; ${fmt.format(o.skipped)} are skipped (no account yet, or in the recycle bin).`,
    "The new passwords are shown only once: next, choose where to save the hand-out sheet (a CSV file to print or " +
      "mail-merge). Keep it safe, and delete it once everyone has theirs.",
  ];
  confirmAccounts(`Reset ${fmt.format(o.changed)} accounts?`, lines, o.entries, "Reset and save the sheet…", async () => {
    // keyrollTestSaveTo is set only by the end-to-end test: WebDriver
    // cannot answer the native "Save as" dialog.
    const saveTo = window.keyrollTestSaveTo ?? null;
    const done = await withProgress("Setting new passwords…", () => {
      progressText("Choose where to save the hand-out sheet…");
      return invoke("reset_accounts", { query, dryRun: false, saveTo, onProgress: progressChannel() });
    });
    if (!done.sheet) {
      toast("Nothing was reset: no place was chosen for the hand-out sheet.", 8000);
      return;
    }
    toast(`${fmt.format(done.changed)} accounts have new passwords or codes. The hand-out sheet is saved as ` +
      `${done.sheet}.`, 12000);
    selected.clear();
    showSelected();
  });
}

$("generate-accounts").addEventListener("click", generateFlow);

$("bulk-action").addEventListener("change", async () => {
  const move = $("bulk-action").value === "move-group";
  $("bulk-group").hidden = !move;
  if (move) {
    const groups = await invoke("account_groups");
    $("bulk-group").replaceChildren(...groups.map((g) => new Option(g.name, g.name)));
  }
});

$("bulk-apply").addEventListener("click", async () => {
  const action = $("bulk-action").value;
  const byFilter = $("bulk-target").value === "filter";
  if (!byFilter && selected.size === 0) {
    toast("Tick the people first, or choose “everyone matching this filter”.");
    return;
  }
  const query = byFilter ? table.query() : { ids: [...selected] };
  if (action === "reset") {
    await resetFlow(query);
    return;
  }
  const words = $("bulk-action").selectedOptions[0].textContent.replace("…", "");
  await batchFlow(action, words, query, action === "move-group" ? $("bulk-group").value : null);
});
