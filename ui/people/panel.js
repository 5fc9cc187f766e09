// A person's panel: who they are, their account (and why it is in its
// state), actions on it (each previewed), and their history from the
// audit log.

import { $, el, input, labelled, toast } from "../lib/dom.js";
import { invoke } from "../lib/ipc.js";
import { batchFlow, confirmAccounts, resetFlow } from "./actions.js";
import { KIND_WORDS, STATE_WORDS, table } from "./table.js";

const ACTIONS = [["enable", "Enable"], ["disable", "Disable"], ["suspend", "Suspend"], ["archive", "Archive"],
  ["force-password-change", "Force a password change"], ["restore", "Restore"]];

export async function openPanel(p) {
  const panel = $("person-panel");
  panel.hidden = false;
  const facts = [
    KIND_WORDS[p.kind] ?? p.kind, `SIS id ${p.sis_id}`, `from ${p.source}`, p.status, p.email,
    p.year_level && `year ${p.year_level}`, p.children.length ? `children: ${p.children.join(", ")}` : "",
  ].filter(Boolean).join(" · ");
  const account = p.username
    ? `Account ${p.username}: ${STATE_WORDS[p.state] ?? p.state}${p.reason ? ` (${p.reason})` : ""}, ` +
      `group ${p.group}` + (p.flags?.length ? `, ${p.flags.join(" ")}` : "")
    : "No account yet: “Generate accounts…” makes one if they qualify.";
  const list = el("ul", { className: "history", id: "person-history" });
  // One line, shown once known: the panel sits above the table.
  const classes = el("p", { className: "classes", id: "person-classes", hidden: true });
  const server = el("p", { className: "server-view", id: "person-server", hidden: true });
  panel.replaceChildren(
    el("h2", { textContent: `${p.preferred_name || p.given_name} ${p.family_name}` }),
    el("p", { textContent: facts }),
    el("p", { textContent: account }),
    p.username ? actions(p) : null,
    server,
    classes,
    el("h3", { textContent: "History" }),
    list,
    el("button", { textContent: "Close", onclick: () => (panel.hidden = true) }),
  );
  if (p.username) serverView(p, server);
  invoke("person_classes", { id: p.id }).then((list) => {
    if (!list.length) return;
    const one = (c) => [c.title || c.sis_id,
      c.role === "teacher" ? "(teaches it)" : c.teachers.length ? `(${c.teachers.join(", ")})` : ""]
      .filter(Boolean).join(" ");
    classes.textContent = `Classes: ${list.map(one).join("; ")}`;
    classes.hidden = false;
  }, (e) => {
    classes.textContent = String(e);
    classes.hidden = false;
  });
  try {
    const entries = await invoke("person_history", { id: p.id });
    list.replaceChildren(...entries.reverse().map((e) => {
      const what = e.after ? Object.entries(e.after).filter(([, v]) => v !== "" && v !== null)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`).join(", ") : "";
      return el("li", {
        textContent: `${new Date(e.at).toLocaleString()} · ${e.actor} · ${e.action}${what ? " · " + what : ""}`,
      });
    }));
  } catch (e) {
    list.textContent = String(e);
  }
}

/** What the school server last said about the account: sign-in state is
 *  the server's, so it is shown here and changed there (but for an unlock,
 *  which the next sync sends). */
async function serverView(p, box) {
  let v;
  try {
    v = await invoke("account_server_view", { id: p.id });
  } catch (e) {
    box.textContent = String(e);
    box.hidden = false;
    return;
  }
  if (!v) return;
  const when = (at) => new Date(at).toLocaleString();
  const facts = v.on_server
    ? [v.last_sign_in ? `last signed in ${when(v.last_sign_in)}` : "never signed in",
      v.invitation_accepted ? `invitation accepted ${when(v.invitation_accepted)}` : "invitation not accepted",
      v.locked ? "LOCKED after failed sign-ins" : v.unlock_requested ? "unlock sent with the next sync" : "not locked"]
    : ["not on the server yet"];
  if (v.pending && v.on_server) facts.push("changes here wait for the next sync");
  for (const c of v.conflicts) facts.push(`to decide on the Sync screen: ${c.summary}`);
  box.replaceChildren(`On the school server: ${facts.join(" · ")}.`);
  box.dataset.locked = v.locked;
  if (v.locked) {
    box.append(" ", el("button", {
      type: "button", textContent: "Unlock on the next sync", dataset: { action: "unlock" },
      onclick: async () => {
        try {
          await invoke("sync_unlock", { usernames: [p.username] });
          toast(`${p.username} will be unlocked on the server at the next sync.`);
          serverView(p, box);
        } catch (e) {
          toast(String(e), 8000);
        }
      },
    }));
  }
  box.hidden = false;
}

function actions(p) {
  const bar = el("div", { className: "actions" });
  const closed = () => ($("person-panel").hidden = true);
  bar.append(
    el("button", { textContent: "Rename…", dataset: { action: "rename" }, onclick: () => renameForm(p, bar) }),
    el("button", { textContent: "Reset the password…", dataset: { action: "reset" }, onclick: () => resetFlow({ ids: [p.id] }) }),
    ...ACTIONS.map(([action, words]) => el("button", {
      textContent: `${words}…`,
      dataset: { action },
      onclick: () => batchFlow(action, words, { ids: [p.id] }, null, closed),
    })),
  );
  return bar;
}

/** Renaming an account: the office types a name or asks the policy for one,
 *  sees the change, and confirms it. */
function renameForm(p, after) {
  $("rename-form")?.remove();
  const name = input("rename-to", p.username);
  name.autocomplete = "off";
  const suggest = el("button", { type: "button", textContent: "As the policy would name them now" });
  const form = el("form", { id: "rename-form", className: "actions" },
    labelled("New username", name), name, suggest, el("button", { type: "submit", textContent: "Preview…" }));
  after.after(form);
  name.select();
  // The policy's suggestion goes back as "by the policy", not as typed.
  let suggested = null;
  suggest.addEventListener("click", async () => {
    try {
      const r = await invoke("rename_account", { personId: p.id, to: null, dryRun: true });
      name.value = suggested = r.to;
    } catch (e) {
      toast(String(e), 8000);
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const to = name.value.trim() === suggested ? null : name.value.trim();
    let r;
    try {
      r = await invoke("rename_account", { personId: p.id, to, dryRun: true });
    } catch (e) {
      toast(String(e), 8000);
      return;
    }
    confirmAccounts(`Rename ${r.from} to ${r.to}?`, [
      `${r.from} becomes ${r.to}. Letters and emails already sent show the old name.`,
      `The old name ${r.from} is not given out again for a year.`,
    ], [], `Rename to ${r.to}`, async () => {
      await invoke("rename_account", { personId: p.id, to, dryRun: false });
      toast(`Renamed ${r.from} to ${r.to}.`);
      $("person-panel").hidden = true;
    });
  });
}

table.onOpen = openPanel;
