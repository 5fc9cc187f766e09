// Settings: the account policy on screen, with live examples of the
// usernames it gives the school's own people and the strength of its
// passwords, saved, exported and imported as a file.

import { $, el, field, input, select, toast } from "./lib/dom.js";
import { invoke } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";

const KINDS = [["students", "student", "Students"], ["staff", "staff", "Staff"], ["parents", "contact", "Parents"]];

export const settings = {
  saved: null,
  // The policy the form was filled from (saved, or a file's): what the
  // form does not show (the blocklist, activation days…) comes from it.
  shown: null,
  timer: null,

  async load() {
    try {
      this.saved = await invoke("account_policy");
    } catch (e) {
      $("policy-problem").textContent = String(e);
      return;
    }
    this.render(this.saved);
  },

  render(p) {
    this.shown = structuredClone(p);
    const form = $("policy-form");
    form.replaceChildren();
    for (const [key, kind, title] of KINDS) {
      const k = p[key];
      const fs = el("fieldset", { className: "policy-kind" }, el("legend", { textContent: title }));
      const mode = k.username.pattern !== undefined ? "pattern" : k.username.email;
      fs.append(field("Usernames", select(`p-${key}-mode`, [["pattern", "From a pattern"],
        ["with_domain", "The SIS email"], ["without_domain", "The SIS email without its domain"]], mode)));
      fs.append(field("Pattern", input(`p-${key}-pattern`, k.username.pattern ?? "{first}.{last}"),
        "{first} {last} {preferred} {middle} {id} {email} {year} {n}; {last:6} keeps 6 letters; {first:title}"));
      fs.append(field("Group", input(`p-${key}-group`, k.group)));
      fs.append(field("First sign-in", select(`p-${key}-credential`, [["initial_password",
        "An initial password on a letter (changed at first sign-in)"], ["activation", "An activation link or code"]],
        k.credential)));
      const ex = document.createElement("ul");
      ex.id = `p-${key}-examples`;
      ex.className = "examples";
      fs.append(ex);
      form.append(fs);
    }
    const general = document.createElement("fieldset");
    general.className = "policy-kind";
    const legend = document.createElement("legend");
    legend.textContent = "All accounts";
    general.append(legend,
      field("Collisions", select("p-numbering", [["blank_then_two", "jo.lee, jo.lee2, jo.lee3…"],
        ["always", "jo.lee1, jo.lee2, jo.lee3…"]], p.numbering)),
      field("ä ö ü as ae oe ue", input("p-umlauts", p.spelling.umlauts_as_e, "checkbox")),
      field("Keep hyphens in names", input("p-hyphens", p.spelling.keep_hyphens, "checkbox")),
      field("Longest username", input("p-max", p.max_length, "number")),
      field("Parent accounts for", select("p-parents", [["all", "All contacts with parental responsibility and an email"],
        ["primary_only", "Primary contacts only"]], p.parent_contacts)),
      field("Recycle bin after (days)", input("p-recycle", p.recycle_after_days, "number")),
      field("Password length", input("p-pwlen", p.passwords.min_length, "number")),
      field("Passphrases instead", input("p-passphrase", p.passwords.passphrase, "checkbox")),
      el("p", { id: "p-strength", className: "hint", attrs: { "aria-live": "polite" } }));
    form.append(general);
    this.examples();
  },

  /** The policy as the form shows it. */
  read() {
    const p = structuredClone(this.shown);
    for (const [key] of KINDS) {
      const mode = $(`p-${key}-mode`).value;
      p[key].username = mode === "pattern" ? { pattern: $(`p-${key}-pattern`).value } : { email: mode };
      p[key].group = $(`p-${key}-group`).value;
      p[key].credential = $(`p-${key}-credential`).value;
    }
    p.numbering = $("p-numbering").value;
    p.spelling = { umlauts_as_e: $("p-umlauts").checked, keep_hyphens: $("p-hyphens").checked };
    p.max_length = Number($("p-max").value);
    p.parent_contacts = $("p-parents").value;
    p.recycle_after_days = Number($("p-recycle").value);
    p.passwords = { ...p.passwords, min_length: Number($("p-pwlen").value), passphrase: $("p-passphrase").checked };
    return p;
  },

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.examples(), 200);
  },

  /** How hard each way of making passwords is to guess, in bits. */
  async strength(policy) {
    try {
      const s = await invoke("password_strength", { policy });
      const mode = policy.passwords.passphrase ? "passphrases" : "random characters";
      $("p-strength").textContent = `Strength: random characters ${s.random.toFixed(0)} bits, ` +
        `passphrases ${s.passphrase.toFixed(0)} bits (at least 50 are needed). In use: ${mode}.`;
    } catch (e) {
      $("p-strength").textContent = "";
    }
  },

  async examples() {
    const policy = this.read();
    $("policy-problem").textContent = "";
    this.strength(policy);
    for (const [key, kind] of KINDS) {
      const ul = $(`p-${key}-examples`);
      try {
        const list = await invoke("username_examples", { policy, kind });
        ul.replaceChildren(...list.map((e) => {
          const li = document.createElement("li");
          li.textContent = e.username ? `${e.name} → ${e.username}` : `${e.name}: no username (${e.problem})`;
          return li;
        }));
      } catch (e) {
        ul.replaceChildren();
        $("policy-problem").textContent = String(e);
      }
    }
  },
};

$("policy-form").addEventListener("input", () => settings.changed());
$("policy-form").addEventListener("change", () => settings.changed());
$("policy-form").addEventListener("submit", (ev) => ev.preventDefault());

$("save-policy").addEventListener("click", async () => {
  try {
    const policy = settings.read();
    const changed = await invoke("save_account_policy", { policy });
    settings.saved = policy;
    toast(changed ? "Saved. “Generate accounts…” uses it for new accounts." : "Nothing to save: the policy is unchanged.");
  } catch (e) {
    $("policy-problem").textContent = String(e);
  }
});
$("reset-policy").addEventListener("click", () => settings.render(settings.saved));
$("export-policy").addEventListener("click", async () => {
  try {
    const path = await invoke("export_policy", { policy: settings.read() });
    if (path) toast(`The policy as shown is saved as ${path}.`);
  } catch (e) {
    $("policy-problem").textContent = String(e);
  }
});
// An imported policy is only shown: nothing changes until it is saved.
$("import-policy").addEventListener("click", async () => {
  try {
    // keyrollTestOpen is set only by the end-to-end test.
    const policy = await invoke("import_policy", { openFrom: window.keyrollTestOpen ?? null });
    if (!policy) return;
    settings.render(policy);
    settings.changed();
    toast("The file's policy is shown below: check the examples, then “Save the policy”.", 8000);
  } catch (e) {
    $("policy-problem").textContent = String(e);
  }
});

screen("settings", () => settings.load());
