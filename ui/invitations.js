// The Invitations screen: who and which template, the first email as its
// recipient would read it (example secrets), "Send N invitations" with a
// preview and progress; the outbox with retry, resend and cancel; the SMTP
// settings with a test button. While the app is open, due messages and
// schedules go out every minute.

import { $, control, el, fmt, input, select, toast } from "./lib/dom.js";
import { preview } from "./lib/dialog.js";
import { Channel, invoke, progressText, withProgress } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";
import { refreshHome } from "./home.js";
import { selected } from "./people/table.js";

const form = $("invite-form");
let built = false;
let lastPlan = null;

async function build() {
  const templates = await invoke("invitation_templates");
  const resend = input("invite-resend", "", "number");
  resend.min = "1";
  form.replaceChildren(
    control("Who", select("invite-who", [["parent", "Parents"], ["student", "Students"], ["staff", "Staff"],
      ["", "Everyone"], ["ticked", "The rows ticked on People"]], "parent")),
    control("Only accounts never handed out", input("invite-new", false, "checkbox")),
    control("Year", input("invite-year", "")),
    control("Search", input("invite-search", "")),
    control("Template", select("invite-template", [["", "Each kind's own invitation"],
      ...templates.map((t) => [t.name, `${t.name}${t.invitation ? "" : " (a message, no account change)"}`])], "")),
    control("Invite again those who have not accepted after (days)", resend,
      "They get a new link; the old one stops working"),
    control("New passwords for accounts handed out before", input("invite-renew", false, "checkbox")),
    control("Send at", input("invite-at", "", "datetime-local"), "Empty: now"),
  );
  for (const c of form.querySelectorAll("select, input")) c.addEventListener("change", () => refreshSoon(0));
  $("invite-search").addEventListener("input", () => refreshSoon());
  built = true;
}

function choice() {
  const who = $("invite-who").value;
  const q = { new: $("invite-new").checked };
  if (who === "ticked") {
    q.ids = [...selected];
    if (!q.ids.length) q.ids = [-1];
  } else if (who) {
    q.kind = who;
  }
  q.year = $("invite-year").value.trim() || null;
  q.search = $("invite-search").value.trim() || null;
  const at = $("invite-at").value;
  const days = parseInt($("invite-resend").value, 10);
  return {
    query: q,
    template: $("invite-template").value || null,
    resend_after_days: Number.isFinite(days) && days > 0 ? days : null,
    new_passwords: $("invite-renew").checked,
    // The computer's local time, sent with its offset (as UTC).
    at: at ? new Date(at).toISOString() : null,
  };
}

let timer = null;
let asked = 0;
function refreshSoon(ms = 250) {
  clearTimeout(timer);
  timer = setTimeout(refresh, ms);
}

async function refresh() {
  const mine = ++asked;
  let p;
  try {
    p = await invoke("invite_preview", { choice: choice() });
  } catch (e) {
    if (mine === asked) $("invite-summary").textContent = String(e);
    return;
  }
  if (mine !== asked) return;
  lastPlan = p.plan;
  const plan = p.plan;
  $("invite-summary").textContent = `${fmt.format(plan.count)} emails: ${fmt.format(plan.invitations)} invitations, ` +
    `${fmt.format(plan.messages)} messages. ${fmt.format(plan.issuing)} get a new activation link or password` +
    (plan.replacing ? ` (${fmt.format(plan.replacing)} handed out before: their old one stops working)` : "") + ".";
  $("invite-summary").dataset.count = plan.count;
  $("invite-send").textContent = plan.count
    ? `Send ${fmt.format(plan.count)} ${plan.messages ? "emails" : "invitations"}` : "Send invitations";
  $("invite-send").disabled = plan.count === 0;
  $("invite-subject").textContent = p.subject ?? "";
  $("invite-text").textContent = p.text ?? "Nobody chosen gets an email.";
  const notes = plan.warnings.map((w) => el("li", { className: "warning", textContent: w }));
  if (plan.skipped.length) {
    notes.push(el("li", {}, el("details", {}, el("summary", { textContent: `${fmt.format(plan.skipped.length)} left out` }),
      el("ul", {}, ...plan.skipped.slice(0, 200).map((s) => el("li", { textContent: `${s.name}: ${s.reason}` }))))));
  }
  $("invite-notes").replaceChildren(...notes);
}

/** A channel that shows a send's progress in the dialog. */
function sendChannel() {
  const ch = new Channel();
  ch.onmessage = (ev) => {
    const bar = $("progress-bar");
    if (ev.stage === "issuing") {
      bar.value = ev.total ? ev.done / ev.total : 0;
      progressText(`Making the activation links and passwords: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`);
    } else {
      const done = ev.sent + ev.failed + ev.deferred;
      bar.value = ev.total ? Math.min(done / ev.total, 1) : 0;
      progressText(`Sending: ${fmt.format(done)} of ${fmt.format(ev.total)} (${fmt.format(ev.failed)} failed)`);
    }
  };
  return ch;
}

function reportRun(run) {
  if (!run) return;
  const parts = [`Sent ${fmt.format(run.sent)}`];
  if (run.deferred) parts.push(`${fmt.format(run.deferred)} to be tried again`);
  if (run.failed) parts.push(`${fmt.format(run.failed)} failed (see the outbox for why)`);
  if (run.cancelled) parts.push("the rest were kept to send later");
  let text = parts.join(", ") + ".";
  if (run.unreachable) text += ` The email server could not be used: ${run.unreachable}`;
  document.body.dataset.lastSend = JSON.stringify(run);
  toast(text, 12000);
}

$("invite-send").addEventListener("click", () => {
  const plan = lastPlan;
  if (!plan || !plan.count) return toast("Nobody chosen gets an email.");
  const c = choice();
  const what = plan.messages ? "emails" : "invitations";
  preview({
    dialog: "accounts-dialog", body: "accounts-result",
    title: `Send ${fmt.format(plan.count)} ${what}`,
    lines: [`${fmt.format(plan.issuing)} get a new activation link or password.`, ...plan.warnings,
      ...(plan.skipped.length ? [`${fmt.format(plan.skipped.length)} left out (the first: ${plan.skipped[0].name}: ${plan.skipped[0].reason})`] : []),
      c.at ? `They go out at ${new Date(c.at).toLocaleString()}.` : "They go out now."],
    confirm: { id: "confirm-invite", label: `Send ${fmt.format(plan.count)} ${what}` },
    onConfirm: async () => {
      const sent = await withProgress(`Sending ${what}…`, () => invoke("invite_send", { choice: c, onProgress: sendChannel() }));
      if (sent.run) reportRun(sent.run);
      else toast(`Queued ${fmt.format(sent.queued.queued)} ${what} for ${new Date(sent.queued.due_at).toLocaleString()}.`, 10000);
      refreshSoon(0);
      refreshOutbox();
      refreshHome();
    },
  });
});

const ACTIONS = { failed: ["retry"], retry: ["retry", "cancel"], queued: ["cancel"], unsure: ["retry", "dismiss"] };
const ACTION_WORDS = { retry: "Send again", cancel: "Cancel", dismiss: "It was sent" };

async function refreshOutbox() {
  let view;
  try {
    view = await invoke("outbox_list", { status: $("outbox-status").value || null });
  } catch (e) {
    $("outbox-counts").textContent = String(e);
    return;
  }
  const c = view.counts;
  $("outbox-counts").textContent = `${fmt.format(c.queued + c.retry)} waiting (${fmt.format(c.due)} due now), ` +
    `${fmt.format(c.sent)} sent, ${fmt.format(c.failed)} failed, ${fmt.format(c.unsure)} may have been sent.`;
  $("outbox-rows").replaceChildren(...view.messages.map((m) => el("tr", { dataset: { id: m.id, status: m.status } },
    el("td", { className: `status-${m.status}`, textContent: m.status_label }),
    el("td", { textContent: m.name ? `${m.name} <${m.to}>` : m.to }),
    el("td", { textContent: m.username }),
    el("td", { textContent: m.last_error ?? m.subject }),
    el("td", { textContent: fmt.format(m.attempts) }),
    el("td", {}, ...(ACTIONS[m.status] ?? []).map((a) => el("button", {
      type: "button", textContent: ACTION_WORDS[a], dataset: { action: a },
      onclick: () => act(a, [m.id], null),
    }))))));
}

async function act(action, ids, all) {
  try {
    const r = await invoke("outbox_act", { action, ids, all });
    toast(`${fmt.format(r.changed)} emails changed.${r.refused.length ? ` ${r.refused[0]}.` : ""}`);
  } catch (e) {
    toast(String(e), 8000);
  }
  refreshOutbox();
  refreshHome();
}

$("outbox-status").addEventListener("change", refreshOutbox);
$("outbox-retry-failed").addEventListener("click", () => act("retry", [], "failed"));
$("outbox-resend-unsure").addEventListener("click", () => act("retry", [], "unsure"));
$("outbox-send-now").addEventListener("click", () => tick(true));

/** Sends what is due (schedules too); quiet unless asked or something went. */
async function tick(asked = false) {
  try {
    const run = asked
      ? await withProgress("Sending…", () => invoke("outbox_tick", { onProgress: sendChannel() }))
      : await invoke("outbox_tick", { onProgress: new Channel() });
    if (run && (asked || run.sent || run.failed)) reportRun(run);
    else if (asked) toast("Nothing is due to be sent.");
    if (run) {
      refreshOutbox();
      refreshHome();
    }
  } catch (e) {
    if (asked) toast(String(e), 10000);
  }
}
setTimeout(() => tick(), 5000);
setInterval(() => tick(), 60000);

// The SMTP settings.
async function buildSmtp() {
  const v = await invoke("smtp_settings");
  const s = v.settings;
  const port = input("smtp-port", String(s.port), "number");
  const password = input("smtp-password", "", "password");
  password.placeholder = v.password_kept ? "kept in this computer's keychain" : "";
  password.autocomplete = "off";
  $("smtp-form").replaceChildren(
    control("Server (host name)", input("smtp-host", s.host), "smtp.office365.com, smtp.gmail.com, or your school's"),
    control("Port", port, "587 with STARTTLS, 465 with TLS"),
    control("Security", select("smtp-security", [["starttls", "STARTTLS"], ["tls", "TLS"],
      ["none", "None (only a relay on this computer)"]], s.security)),
    control("Sign in as", input("smtp-user", s.user), "The mailbox's address; empty: no sign-in"),
    control("Sign-in method", select("smtp-auth", [["plain", "Password (PLAIN)"], ["login", "Password (LOGIN)"],
      ["xoauth2", "OAuth token (XOAUTH2: Microsoft 365, Google)"]], s.auth)),
    control("Password or token", password,
      "Kept in this computer's keychain, never in the database. With a refresh token: the refresh token"),
    oauthControls(s.oauth),
    control("From", input("smtp-from", s.from), "School Office <office@school.example>"),
    control("Reply-To", input("smtp-reply-to", s.reply_to)),
    control("Messages a minute at most", input("smtp-rate", String(s.rate_per_minute), "number"),
      "0: no limit. Microsoft 365 allows 30"),
    control("Connections at once", input("smtp-connections", String(s.connections), "number")),
  );
  $("smtp-form").dataset.retryAfter = s.retry_after_secs;
  $("smtp-auth").addEventListener("change", showOauth);
  $("smtp-oauth").addEventListener("change", async () => {
    const mode = $("smtp-oauth").value;
    if (mode === "microsoft" || mode === "google") {
      const o = await invoke("oauth_preset", { provider: mode, clientId: $("smtp-oauth-client").value.trim() });
      $("smtp-oauth-url").value = o.token_url;
      $("smtp-oauth-scope").value = o.scope;
    }
    showOauth();
  });
  showOauth();
}

/** XOAUTH2: a pasted access token, or access tokens from a refresh token. */
function oauthControls(o) {
  const url = o ? o.token_url : "";
  const mode = !o ? "paste" : url.includes("login.microsoftonline.com") ? "microsoft"
    : url.includes("oauth2.googleapis.com") ? "google" : "other";
  const secret = input("smtp-oauth-secret", "", "password");
  secret.autocomplete = "off";
  return el("div", { id: "smtp-oauth-fields" },
    control("Access tokens", select("smtp-oauth", [["paste", "A token I paste (lasts about an hour)"],
      ["microsoft", "From a refresh token: Microsoft 365"], ["google", "From a refresh token: Google Workspace"],
      ["other", "From a refresh token: another token address"]], mode),
      "With a refresh token Keyroll gets a new access token whenever it needs one"),
    el("div", { id: "smtp-refresh-fields" },
      control("App (client) id", input("smtp-oauth-client", o ? o.client_id : ""), "From the app registration"),
      control("Token address", input("smtp-oauth-url", url),
        "Microsoft: put your tenant's domain in place of \"organizations\" if sign-in asks for it"),
      control("Scopes", input("smtp-oauth-scope", o ? o.scope : "")),
      control("Client secret", secret, "Google desktop apps only; kept in the keychain with the refresh token")));
}

function showOauth() {
  $("smtp-oauth-fields").hidden = $("smtp-auth").value !== "xoauth2";
  $("smtp-refresh-fields").hidden = $("smtp-oauth").value === "paste";
}

/** What goes to the keychain: the password, or refresh token and secret. */
function smtpSecret() {
  const p = $("smtp-password").value;
  const refresh = $("smtp-auth").value === "xoauth2" && $("smtp-oauth").value !== "paste";
  const secret = $("smtp-oauth-secret").value.trim();
  if (!p) return null;
  return refresh && secret ? `${p}\n${secret}` : p;
}

function smtpSettings() {
  const n = (id) => parseInt($(id).value, 10) || 0;
  return {
    host: $("smtp-host").value.trim(), port: n("smtp-port"), security: $("smtp-security").value,
    user: $("smtp-user").value.trim(), auth: $("smtp-auth").value, from: $("smtp-from").value.trim(),
    reply_to: $("smtp-reply-to").value.trim(), rate_per_minute: n("smtp-rate"),
    connections: n("smtp-connections") || 4, retry_after_secs: parseInt($("smtp-form").dataset.retryAfter, 10) || 60,
    oauth: $("smtp-auth").value === "xoauth2" && $("smtp-oauth").value !== "paste"
      ? { token_url: $("smtp-oauth-url").value.trim(), client_id: $("smtp-oauth-client").value.trim(),
        scope: $("smtp-oauth-scope").value.trim() }
      : null,
  };
}

$("smtp-save").addEventListener("click", async () => {
  try {
    await invoke("save_smtp_settings", { settings: smtpSettings(), password: smtpSecret() });
    $("smtp-password").value = "";
    $("smtp-oauth-secret").value = "";
    $("smtp-result").textContent = "Saved.";
    await buildSmtp();
  } catch (e) {
    $("smtp-result").textContent = String(e);
  }
});

$("smtp-test").addEventListener("click", async () => {
  const to = $("smtp-test-to").value.trim();
  if (!to) return toast("Give an address to send the test email to.");
  $("smtp-result").textContent = "Sending a test email…";
  try {
    $("smtp-result").textContent = await invoke("smtp_test", { to });
  } catch (e) {
    $("smtp-result").textContent = String(e);
  }
});

screen("invitations", async () => {
  if (!built) {
    await build();
    await buildSmtp();
  }
  refreshSoon(0);
  refreshOutbox();
});
