// The Sync screen: the school server (address and token), what waits to be
// sent by kind of change, "Sync now" with progress and Cancel, a dry run
// that says what would be sent, and the changes made on both sides for
// the office to decide (one at a time or all at once).

import { $, el, fmt, toast } from "./lib/dom.js";
import { preview } from "./lib/dialog.js";
import { Channel, invoke, progressText, withProgress } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";
import { refreshHome } from "./home.js";

const STAGE_WORDS = { pull: "Bringing back what changed on the server", push: "Sending the accounts" };

async function refresh() {
  let view;
  try {
    view = await invoke("sync_status");
  } catch (e) {
    $("sync-summary").textContent = String(e);
    return;
  }
  const s = view.status;
  const set = Boolean(s.server);
  if (set && !$("sync-server").value) $("sync-server").value = s.server;
  $("sync-summary").textContent = !set
    ? "No school server is set up yet: enter its address and a token, then Connect."
    : `${s.server} · ${s.last_sync ? `last sync ${new Date(s.last_sync).toLocaleString()}` : "never synced"}` +
      ` · ${fmt.format(s.locked)} locked on the server`;
  const pending = [
    [s.to_create, "new accounts to create"],
    [s.to_update, "accounts changed here"],
    [s.group_moves, "accounts moving group"],
    [s.unlocks, "unlocks to send"],
  ];
  $("sync-pending").replaceChildren(...(set ? pending : []).map(([n, words]) =>
    el("li", { dataset: { count: n }, textContent: `${fmt.format(n)} ${words}` })));
  $("sync-pending").dataset.total = s.pending;
  for (const b of ["sync-now", "sync-dry-run"]) $(b).disabled = !set;
  showConflicts(view.conflicts);
}

function showConflicts(list) {
  $("sync-conflict-actions").hidden = list.length < 2;
  $("sync-conflicts").replaceChildren(...(list.length ? list.map((c) => el("tr", { dataset: { id: c.id } },
    el("td", { textContent: c.username }),
    el("td", { textContent: c.summary }),
    el("td", {},
      el("button", { type: "button", textContent: "Keep Keyroll's", dataset: { keep: "keyroll" }, onclick: () => resolve(c.id, "keyroll") }),
      el("button", { type: "button", textContent: "Keep the server's", dataset: { keep: "server" }, onclick: () => resolve(c.id, "server") })),
  )) : [el("tr", {}, el("td", { colSpan: 3, className: "hint", textContent: "Nothing to decide." }))]));
}

async function resolve(id, keep) {
  try {
    const n = await invoke("sync_resolve", { id, keep });
    toast(`${fmt.format(n)} decided: the next sync sends ${keep === "keyroll" ? "Keyroll's" : "nothing back; Keyroll took the server's"}.`);
  } catch (e) {
    toast(String(e), 8000);
  }
  refresh();
  refreshHome();
}

function resolveAll(keep) {
  const side = keep === "keyroll" ? "Keyroll's" : "the server's";
  const n = $("sync-conflicts").querySelectorAll("tr[data-id]").length;
  preview({
    dialog: "accounts-dialog", body: "accounts-result",
    title: `Keep ${side} for all ${fmt.format(n)} changes?`,
    lines: [keep === "keyroll"
      ? "The next sync sends Keyroll's value for each; the server's is replaced."
      : "Keyroll takes the server's value for each; the change made here is dropped."],
    confirm: { id: "confirm-resolve", label: `Keep ${side} for all` },
    onConfirm: () => resolve(null, keep),
  });
}

function channel() {
  const ch = new Channel();
  ch.onmessage = (p) => {
    $("progress-bar").value = p.total ? p.done / p.total : 0;
    progressText(`${STAGE_WORDS[p.stage] ?? "Working"}: ${fmt.format(p.done)} of ${fmt.format(p.total)}`);
  };
  return ch;
}

function outcome(r) {
  const p = r.pushed;
  const parts = r.dry_run
    ? [`A sync now would create ${fmt.format(p.users_created)} accounts, update ${fmt.format(p.users_updated)}` +
       ` and make ${fmt.format(p.groups_created)} groups. Nothing was sent.`]
    : [`Created ${fmt.format(p.users_created)}, updated ${fmt.format(p.users_updated)}` +
       ` and moved ${fmt.format(p.membership_changes)} between groups on the server;` +
       ` brought back ${fmt.format(r.pulled.updated)} changes from it.`];
  if (r.pulled.conflicts) parts.push(`${fmt.format(r.pulled.conflicts)} changes were made on both sides: decide them below.`);
  if (p.failed.length) parts.push(`${fmt.format(p.failed.length)} the server refused (the first: ${p.failed[0].username}: ${p.failed[0].detail}).`);
  if (p.cancelled) parts.push("Cancelled: the rest waits for the next sync, nothing is lost.");
  return parts.join(" ");
}

async function run(dryRun) {
  let r;
  try {
    r = await withProgress(dryRun ? "Working out what would be sent…" : "Syncing with the school server…",
      () => invoke("sync_now", { dryRun, progress: channel() }));
  } catch (e) {
    $("sync-outcome").textContent = String(e);
    return;
  }
  $("sync-outcome").textContent = outcome(r);
  document.body.dataset.lastSync = JSON.stringify(r);
  refresh();
  refreshHome();
}

$("sync-login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await withProgress("Connecting to the school server…",
      () => invoke("sync_login", { server: $("sync-server").value, token: $("sync-token").value }), false);
    $("sync-token").value = "";
    toast("Connected. The token is kept in this computer's keychain.");
  } catch (e) {
    toast(String(e), 10000);
  }
  refresh();
});
$("sync-now").addEventListener("click", () => run(false));
$("sync-dry-run").addEventListener("click", () => run(true));
$("sync-keep-all-keyroll").addEventListener("click", () => resolveAll("keyroll"));
$("sync-keep-all-server").addEventListener("click", () => resolveAll("server"));

screen("sync", refresh);
