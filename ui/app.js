// Keyroll's interface: plain ES module, no bundler. All data comes from the
// Rust commands in src-tauri/commands.rs; the people table asks for one page
// of rows at a time, so it stays smooth with hundreds of thousands of people.

const { invoke, Channel } = window.__TAURI__.core;
const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat();
const ROW_HEIGHT = 34;
const PAGE = 100;
const DEMO_STUDENTS = 1000;

// ---- navigation ---------------------------------------------------------

function show(screen) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${screen}`;
  for (const b of document.querySelectorAll(".nav")) {
    if (b.dataset.screen === screen) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  if (screen === "people") {
    refreshGroups();
    table.refresh();
  }
  if (screen === "home") refreshHome();
  if (screen === "import") refreshHistory();
  if (screen === "settings") settings.load();
}

/** The Import screen's history: each applied import, with a rollback that
 *  previews (a dry run) before anything is undone. */
async function refreshHistory() {
  const list = $("import-history");
  let history;
  try {
    history = await invoke("import_history");
  } catch (e) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(
    ...history.map((i) => {
      const li = document.createElement("li");
      li.dataset.importId = i.id;
      const c = i.counts || {};
      const when = new Date(i.started_at).toLocaleString();
      const text = document.createElement("span");
      text.textContent = `#${i.id} · ${when} · ${i.format} · ${fmt.format(c.new || 0)} new, ` +
        `${fmt.format(c.updated || 0)} updated, ${fmt.format(c.leaving || 0)} leaving` +
        (i.rolled_back_at ? ` · rolled back ${new Date(i.rolled_back_at).toLocaleString()}` : "");
      li.append(text);
      if (!i.rolled_back_at) {
        const b = document.createElement("button");
        b.className = "rollback";
        b.textContent = "Roll back…";
        b.addEventListener("click", () => previewRollback(i.id, li));
        li.append(b);
      }
      return li;
    }),
  );
}

async function previewRollback(id, li) {
  if (busy) return;
  let r;
  try {
    r = await invoke("rollback_import", { id, dryRun: true });
  } catch (e) {
    showFailure(e, "This import cannot be rolled back");
    return;
  }
  const box = resultBox();
  const h = document.createElement("h2");
  h.textContent = `Roll back import #${id}?`;
  const p = document.createElement("p");
  p.textContent = `${fmt.format(r.removed)} people it added will be removed, ${fmt.format(r.restored)} people ` +
    `get their earlier details back, and ${fmt.format(r.links)} links between students and parents are restored.`;
  const actions = document.createElement("div");
  actions.className = "actions";
  const go = document.createElement("button");
  go.className = "primary danger";
  go.id = "confirm-rollback";
  go.textContent = "Roll back this import";
  const cancel = document.createElement("button");
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => { box.hidden = true; });
  go.addEventListener("click", async () => {
    go.disabled = cancel.disabled = true;
    try {
      await invoke("rollback_import", { id, dryRun: false });
      box.hidden = true;
      toast(`Import #${id} was rolled back.`);
      table.invalidate();
    } catch (e) {
      showFailure(e, "Nothing was rolled back");
    }
    refreshHistory();
  });
  actions.append(go, cancel);
  box.append(h, p, actions);
  box.scrollIntoView({ block: "nearest" });
  go.focus();
}

for (const b of document.querySelectorAll(".nav")) b.addEventListener("click", () => show(b.dataset.screen));
for (const t of document.querySelectorAll(".tile")) {
  t.addEventListener("click", () => {
    $("kind-filter").value = t.dataset.kind;
    show("people");
  });
}

function toast(text, ms = 5000) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), ms);
}

// ---- home ---------------------------------------------------------------

async function refreshHome() {
  let status;
  try {
    status = await invoke("app_status");
    $("opening").hidden = true;
  } catch (e) {
    $("opening").hidden = true;
    $("first-run").hidden = false;
    $("first-run").innerHTML = "";
    const h = document.createElement("h1");
    h.textContent = "Keyroll cannot open its database";
    const p = document.createElement("p");
    p.className = "error-text";
    p.textContent = String(e);
    $("first-run").append(h, p);
    return null;
  }
  $("db-path").textContent = status.db_path;
  const t = status.totals;
  const empty = t.students + t.staff + t.parents === 0;
  $("first-run").hidden = !empty;
  $("dashboard").hidden = empty;
  $("n-students").textContent = fmt.format(t.students);
  $("n-staff").textContent = fmt.format(t.staff);
  $("n-parents").textContent = fmt.format(t.parents);
  const last = status.last_import;
  $("last-import").textContent = last
    ? `Last import: ${new Date(last.started_at).toLocaleString()} by ${last.actor}` +
      ` (${last.counts.new} new, ${last.counts.updated} updated, ${last.counts.leaving} leaving).`
    : "";
  return status;
}

// ---- import -------------------------------------------------------------

// One import at a time: while one runs, the page behind the progress dialog
// is inert, so no second click or Enter can start another.
let busy = false;

function setBusy(on) {
  busy = on;
  for (const el of document.querySelectorAll("main, .rail")) el.inert = on;
}

function progressOpen(title, cancellable = true) {
  $("progress-title").textContent = title;
  $("progress-bar").removeAttribute("value");
  $("progress-text").textContent = "Starting…";
  $("cancel-import").disabled = false;
  $("cancel-import").hidden = !cancellable;
  $("progress").hidden = false;
  setBusy(true);
}

function progressClose() {
  $("progress").hidden = true;
  setBusy(false);
}

function progressChannel() {
  const ch = new Channel();
  ch.onmessage = (ev) => {
    if (ev.stage === "generating") {
      $("progress-text").textContent = "Making up a demo school…";
    } else if (ev.stage === "reading") {
      const frac = ev.total_bytes ? Math.min(ev.done_bytes / ev.total_bytes, 1) : 0;
      $("progress-bar").value = frac;
      $("progress-text").textContent = `Reading and checking the files: ${Math.floor(frac * 100)}%`;
    } else if (ev.stage === "accounts") {
      const words = { reading: "Reading everyone…", deciding: "Deciding who gets an account", saving: "Saving the accounts" };
      if (ev.total) {
        $("progress-bar").value = ev.done / ev.total;
        $("progress-text").textContent = `${words[ev.step]}: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`;
      } else {
        $("progress-bar").removeAttribute("value");
        $("progress-text").textContent = words[ev.step] ?? "Working…";
      }
    } else if (ev.stage === "hashing") {
      $("progress-bar").value = ev.total ? ev.done / ev.total : 0;
      $("progress-text").textContent =
        `Securing the new passwords: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`;
    } else if (ev.stage === "saving") {
      // Links, leavers and the index are worked out after the last row.
      $("progress-bar").removeAttribute("value");
      $("progress-text").textContent = "Saving the changes…";
    }
  };
  return ch;
}

$("cancel-import").addEventListener("click", async () => {
  $("cancel-import").disabled = true;
  $("progress-text").textContent = "Cancelling… nothing will be changed.";
  await invoke("cancel_import");
});

// The Import screen's result area, emptied and shown.
function resultBox() {
  const box = $("import-result");
  box.hidden = false;
  box.replaceChildren();
  return box;
}

function showResult(summary, skipInvalid) {
  const box = resultBox();
  const c = summary;
  const h = document.createElement("h2");
  const p = document.createElement("p");
  if (summary.applied) {
    h.textContent = summary.errors.length ? "Imported, with rows left out" : "Import finished";
    p.textContent = `${fmt.format(c.new)} new, ${fmt.format(c.updated)} updated, ${fmt.format(c.leaving)} leaving, ` +
      `${fmt.format(c.unchanged)} unchanged.` +
      (summary.errors.length
        ? ` ${summary.errors.length} row(s) below were not imported: fix them in your SIS and import again.`
        : "");
  } else if (summary.errors.length && !skipInvalid) {
    h.textContent = "Nothing was imported";
    p.textContent = `${summary.errors.length} problem(s) were found. Fix them in your SIS and export again, ` +
      `or tick “import the valid rows” above and import again.`;
  } else if (summary.errors.length) {
    h.textContent = "Nothing was imported";
    p.textContent = `The valid rows hold nothing new, and ${summary.errors.length} row(s) have problems: ` +
      `fix them in your SIS and export again.`;
  } else {
    h.textContent = "Already up to date";
    p.textContent = "These files hold nothing new: the database already matches them.";
  }
  box.append(h, filesRead(summary), p);
  if (summary.errors.length) {
    const list = document.createElement("div");
    list.className = "errors";
    list.textContent = summary.errors
      .slice(0, 500)
      .map((e) => `${e.file}:${e.line}:${e.column}: ${e.field ? e.field + ": " : ""}${e.reason}`)
      .join("\n");
    const save = document.createElement("button");
    save.textContent = "Save report…";
    save.addEventListener("click", async () => {
      const path = await invoke("save_report");
      if (path) toast(`Saved the report to ${path}`);
    });
    box.append(list, save);
  }
}

async function runImport(title, command, args) {
  if (busy) return;
  const skipInvalid = Boolean(args.skipInvalid);
  progressOpen(title);
  try {
    const summary = await invoke(command, { ...args, onProgress: progressChannel() });
    progressClose();
    await refreshHome();
    if (summary.applied) table.invalidate();
    if (summary.applied && !summary.errors.length) {
      toast(`Imported: ${fmt.format(summary.new)} new, ${fmt.format(summary.updated)} updated, ` +
        `${fmt.format(summary.leaving)} leaving.`);
      show("people");
    } else {
      // Rows were left out, or nothing was imported: the list stays in view.
      show("import");
    }
    showResult(summary, skipInvalid);
  } catch (e) {
    progressClose();
    showFailure(e);
  }
}

function showFailure(e, heading = "Nothing was imported") {
  show("import");
  const box = resultBox();
  const h = document.createElement("h2");
  h.textContent = heading;
  const p = document.createElement("p");
  p.className = "error-text";
  p.textContent = String(e);
  box.append(h, p);
}

// Choosing files runs a dry run first: the user sees what would change
// (new, updated, leaving) and confirms before anything is written.
async function chooseAndImport(folder) {
  await previewAndImport(await invoke("choose_import_paths", { folder }));
}

async function previewAndImport(paths, mapping = null) {
  if (!paths.length || busy) return;
  if (mapping === null) {
    // A plain list (CSV or spreadsheet) needs its columns chosen first.
    let info;
    try {
      info = await invoke("inspect_import", { paths, sheet: null });
    } catch (e) {
      showFailure(e);
      return;
    }
    if (info.format === "csv") {
      show("import");
      showMapping(paths, info);
      return;
    }
  }
  const skipInvalid = $("skip-invalid").checked;
  progressOpen("Checking your SIS export…");
  let preview;
  try {
    preview = await invoke("import_paths", {
      paths, skipInvalid, dryRun: true, expect: null, mapping, onProgress: progressChannel(),
    });
  } catch (e) {
    progressClose();
    showFailure(e);
    return;
  }
  progressClose();
  show("import");
  const changes = preview.new + preview.updated + preview.leaving + preview.links_new +
    preview.links_updated + preview.links_removed + preview.orgs_new + preview.orgs_updated;
  if (preview.refused || changes === 0) {
    // Nothing to confirm: show why (the problems, or "already up to date").
    showResult(preview, skipInvalid);
    return;
  }
  // Applying passes the preview's counts: if the files or the database
  // changed meanwhile, nothing is applied and the user checks again.
  const expect = {};
  for (const k of ["new", "updated", "leaving", "unchanged", "rejected", "orgs_new", "orgs_updated",
    "links_new", "links_updated", "links_removed"]) expect[k] = preview[k];
  showPreview(preview, () =>
    runImport("Importing your SIS export…", "import_paths", {
      paths, skipInvalid, dryRun: false, expect, mapping,
    }),
  );
}

// ---- mapping step (plain CSV and spreadsheets) --------------------------

/** A <select> of the file's columns (or none), with `chosen` selected. */
function columnSelect(id, headers, chosen) {
  const sel = document.createElement("select");
  sel.id = id;
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "(not in this file)";
  sel.append(none);
  for (const h of headers) {
    if (!h) continue;
    const o = document.createElement("option");
    o.value = h;
    o.textContent = h;
    o.selected = h === chosen;
    sel.append(o);
  }
  return sel;
}

function labelled(text, control) {
  const label = document.createElement("label");
  label.htmlFor = control.id;
  label.textContent = text;
  return label;
}

/** The mapping step: which column holds what, started from the saved mapping
 *  for this header or from Keyroll's guess, with the first row as an example. */
function showMapping(paths, info) {
  const sample = info.sample;
  const m = info.mapping;
  const box = resultBox();
  const h = document.createElement("h2");
  h.textContent = "Which column holds what?";
  const intro = document.createElement("p");
  intro.id = "mapping-intro";
  intro.textContent = `${sample.file}${sample.sheet ? ` (sheet “${sample.sheet}”)` : ""} is a plain list. ` +
    (info.saved
      ? `Using your saved mapping “${m.name}”: check it and continue.`
      : "Keyroll has guessed from the column names: check each one. The mapping is saved for next time.");
  box.append(h, intro);
  const example = (col) => {
    const i = sample.headers.indexOf(col);
    return i >= 0 && sample.rows.length ? sample.rows[0][i] ?? "" : "";
  };

  const grid = document.createElement("div");
  grid.className = "mapping-grid";
  const who = document.createElement("select");
  who.id = "map-who";
  for (const [v, t] of [["student", "Students"], ["staff", "Staff"], ["parent", "Parents and guardians"],
    ["column", "A column says (choose it below)"]]) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = t;
    o.selected = m.columns.kind ? v === "column" : v === (m.kind === "contact" ? "parent" : m.kind || "student");
    who.append(o);
  }
  grid.append(labelled("Who this file lists", who), who, document.createElement("span"));
  for (const f of info.person_fields) {
    const sel = columnSelect(`map-${f.key}`, sample.headers, m.columns[f.key]);
    const ex = document.createElement("span");
    ex.className = "example";
    ex.textContent = example(m.columns[f.key]);
    sel.addEventListener("change", () => (ex.textContent = example(sel.value)));
    grid.append(labelled(f.label + (f.required ? " *" : ""), sel), sel, ex);
  }
  const dates = document.createElement("select");
  dates.id = "map-dates";
  for (const [v, t] of [["dmy", "Day first (31/12/2015)"], ["mdy", "Month first (12/31/2015)"],
    ["ymd", "Year first (2015-12-31)"]]) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = t;
    o.selected = v === (m.dates || "dmy");
    dates.append(o);
  }
  grid.append(labelled("Dates are written", dates), dates, document.createElement("span"));
  box.append(grid);

  // Contacts named on each student's row ("Contact 1 Email", "Contact 2 …").
  const slots = document.createElement("div");
  slots.id = "map-contacts";
  const addSlot = (given) => {
    const n = slots.children.length;
    const fs = document.createElement("fieldset");
    fs.className = "contact-slot";
    const legend = document.createElement("legend");
    legend.textContent = `Parent or contact ${n + 1} on each student's row`;
    fs.append(legend);
    for (const f of info.contact_fields) {
      const sel = columnSelect(`map-c${n}-${f.key}`, sample.headers, given[f.key]);
      sel.dataset.field = f.key;
      fs.append(labelled(f.label, sel), sel);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove this contact";
    remove.addEventListener("click", () => fs.remove());
    fs.append(remove);
    slots.append(fs);
  };
  for (const c of m.contacts || []) addSlot(c);
  const add = document.createElement("button");
  add.type = "button";
  add.textContent = "Add parent columns";
  add.addEventListener("click", () => addSlot({}));
  box.append(slots, add);

  const name = document.createElement("input");
  name.id = "map-name";
  name.value = m.name || "";
  const nameRow = document.createElement("div");
  nameRow.className = "actions";
  nameRow.append(labelled("Save this mapping as", name), name);
  const problem = document.createElement("p");
  problem.className = "error-text";
  problem.id = "mapping-problem";
  const actions = document.createElement("div");
  actions.className = "actions";
  const go = document.createElement("button");
  go.className = "primary";
  go.id = "mapping-continue";
  go.textContent = "Check the changes";
  const cancel = document.createElement("button");
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => (box.hidden = true));
  actions.append(go, cancel);
  box.append(nameRow, problem, actions);

  go.addEventListener("click", () => {
    const columns = {};
    for (const f of info.person_fields) {
      const v = $(`map-${f.key}`).value;
      if (v) columns[f.key] = v;
    }
    const missing = info.person_fields.filter((f) => f.required && !columns[f.key]).map((f) => f.label);
    if (who.value === "column" && !columns.kind) missing.push("Student, staff or parent");
    if (missing.length) {
      problem.textContent = `Choose the column for: ${missing.join(", ")}.`;
      return;
    }
    const contacts = [...slots.children].map((fs) => {
      const c = {};
      for (const sel of fs.querySelectorAll("select")) if (sel.value) c[sel.dataset.field] = sel.value;
      return c;
    }).filter((c) => Object.keys(c).length);
    const mapping = {
      ...m,
      name: name.value.trim() || sample.file,
      kind: who.value === "column" ? null : who.value === "parent" ? "contact" : who.value,
      dates: dates.value,
      columns,
      contacts,
      header: sample.headers,
      sheet: sample.sheet,
    };
    previewAndImport(paths, mapping);
  });
  go.focus();
}

// ---- settings: the account policy, with live username examples ----------

const KINDS = [["students", "student", "Students"], ["staff", "staff", "Staff"], ["parents", "contact", "Parents"]];

function field(label, control, hint) {
  const wrap = document.createElement("div");
  wrap.className = "policy-field";
  wrap.append(labelled(label, control), control);
  if (hint) {
    const h = document.createElement("span");
    h.className = "hint";
    h.textContent = hint;
    wrap.append(h);
  }
  return wrap;
}

function select(id, options, value) {
  const sel = document.createElement("select");
  sel.id = id;
  for (const [v, t] of options) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = t;
    o.selected = v === value;
    sel.append(o);
  }
  return sel;
}

function input(id, value, type = "text") {
  const i = document.createElement("input");
  i.id = id;
  i.type = type;
  if (type === "checkbox") i.checked = Boolean(value);
  else i.value = value ?? "";
  return i;
}

const settings = {
  saved: null,
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
    const form = $("policy-form");
    form.replaceChildren();
    for (const [key, kind, title] of KINDS) {
      const k = p[key];
      const fs = document.createElement("fieldset");
      fs.className = "policy-kind";
      const legend = document.createElement("legend");
      legend.textContent = title;
      fs.append(legend);
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
      field("Passphrases instead", input("p-passphrase", p.passwords.passphrase, "checkbox")));
    form.append(general);
    this.examples();
  },

  /** The policy as the form shows it. */
  read() {
    const p = structuredClone(this.saved);
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

  async examples() {
    const policy = this.read();
    $("policy-problem").textContent = "";
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
    const policy = await invoke("import_policy");
    if (!policy) return;
    settings.render(policy);
    settings.changed();
    toast("The file's policy is shown below: check the examples, then “Save the policy”.", 8000);
  } catch (e) {
    $("policy-problem").textContent = String(e);
  }
});

// ---- drag and drop ------------------------------------------------------

// Files or a folder dropped anywhere on the window go to the import wizard.
// Tauri delivers the real paths (the webview's own drop event has none).
window.__TAURI__.webview?.getCurrentWebview().onDragDropEvent((ev) => {
  const p = ev.payload;
  document.body.classList.toggle("dropping", p.type === "enter" || p.type === "over");
  if (p.type === "drop" && p.paths?.length && !busy) {
    show("import");
    previewAndImport(p.paths);
  }
});

/** "CASES21 eduHub: ST_8888.csv (Windows-1252), …": what was read, and how. */
function filesRead(summary) {
  const p = document.createElement("p");
  p.className = "files-read";
  const files = summary.read
    .map((f) => f.sheet
      ? `${f.file} (${f.encoding}, sheet “${f.sheet}”)`
      : `${f.file} (${f.encoding}${f.delimiter === "comma" ? "" : ", " + f.delimiter + "-separated"})`)
    .join(", ");
  p.textContent = `${summary.format_title}: ${files}`;
  return p;
}

function showPreview(p, apply) {
  const box = resultBox();
  const h = document.createElement("h2");
  h.textContent = "Check the changes before importing";
  box.append(h, filesRead(p));
  const list = document.createElement("ul");
  for (const [n, what] of [
    [p.new, "new people"],
    [p.updated, "people whose details changed"],
    [p.leaving, "people who have left (their records are kept, marked as left)"],
    [p.unchanged, "unchanged"],
    [p.links_new + p.links_updated + p.links_removed, "changes to links between students and parents"],
    [p.orgs_new + p.orgs_updated, "new or changed schools"],
  ]) {
    const li = document.createElement("li");
    li.textContent = `${fmt.format(n)} ${what}`;
    list.append(li);
  }
  box.append(list);
  if (p.changes?.length) box.append(changeList(p));
  if (p.errors.length) {
    const warn = document.createElement("p");
    warn.textContent = `${p.errors.length} row(s) have problems and will be left out:`;
    const errors = document.createElement("div");
    errors.className = "errors";
    errors.textContent = p.errors
      .slice(0, 500)
      .map((e) => `${e.file}:${e.line}:${e.column}: ${e.field ? e.field + ": " : ""}${e.reason}`)
      .join("\n");
    box.append(warn, errors);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const go = document.createElement("button");
  go.className = "primary";
  go.id = "confirm-import";
  go.textContent = `Import these changes`;
  go.addEventListener("click", () => {
    go.disabled = true;
    cancel.disabled = true;
    apply();
  });
  const cancel = document.createElement("button");
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => {
    box.hidden = true;
  });
  actions.append(go, cancel);
  box.append(actions);
  go.focus();
}

const FIELD_WORDS = {
  kind: "kind", role: "role", given_name: "first name", middle_name: "middle name", family_name: "last name",
  preferred_name: "preferred name", email: "email", mobile: "mobile", status: "status", schools: "school",
  year_level: "year", home_group: "home group", birth_date: "date of birth", sis_id: "SIS id",
};
const CHANGE_WORDS = { new: "New", updated: "Changed", leaving: "Leaving" };
const SHOWN_CHANGES = 200;

/** Who the import adds, changes (field by field) or marks as leaving, with
 *  a filter by kind of change and a search by name or SIS id. */
function changeList(p) {
  const wrap = document.createElement("div");
  wrap.className = "changes";
  const bar = document.createElement("div");
  bar.className = "actions";
  const which = document.createElement("select");
  which.id = "change-filter";
  for (const [v, t] of [["", "All changes"], ["new", "New people"], ["updated", "Changed details"],
    ["leaving", "Leaving"]]) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = t;
    which.append(o);
  }
  const search = document.createElement("input");
  search.id = "change-search";
  search.type = "search";
  search.placeholder = "Find a name or SIS id";
  const count = document.createElement("span");
  count.className = "hint";
  bar.append(labelled("Show", which), which, labelled("Find", search), search, count);
  const list = document.createElement("ul");
  list.id = "change-list";
  const fold = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const render = () => {
    const words = fold(search.value).split(/\s+/).filter(Boolean);
    const hits = p.changes.filter((c) =>
      (!which.value || c.change === which.value) &&
      words.every((w) => fold(`${c.name} ${c.sis_id}`).includes(w)));
    list.replaceChildren(...hits.slice(0, SHOWN_CHANGES).map((c) => {
      const li = document.createElement("li");
      li.className = `change change-${c.change}`;
      const head = document.createElement("strong");
      head.textContent = `${CHANGE_WORDS[c.change]}: ${c.name} (${c.kind}, ${c.sis_id})`;
      li.append(head);
      for (const f of c.fields) {
        const d = document.createElement("div");
        d.className = "field-change";
        const label = f.field.startsWith("raw.") ? f.field.slice(4) : FIELD_WORDS[f.field] ?? f.field;
        d.textContent = `${label}: “${f.before}” → “${f.after}”`;
        li.append(d);
      }
      return li;
    }));
    const more = hits.length > SHOWN_CHANGES ? ` (the first ${SHOWN_CHANGES} shown; narrow the search)` : "";
    count.textContent = `${fmt.format(hits.length)} listed${more}`;
  };
  which.addEventListener("change", render);
  search.addEventListener("input", render);
  render();
  wrap.append(bar, list);
  const total = p.new + p.updated + p.leaving;
  if (total > p.changes.length) {
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `The list names the first ${fmt.format(p.changes.length)} of ${fmt.format(total)} people.`;
    wrap.append(note);
  }
  return wrap;
}

const loadDemo = () => runImport("Loading the demo school…", "load_demo", { students: DEMO_STUDENTS });
$("load-demo").addEventListener("click", loadDemo);
$("import-demo").addEventListener("click", loadDemo);
$("first-import").addEventListener("click", () => show("import"));
$("choose-folder").addEventListener("click", () => chooseAndImport(true));
$("choose-files").addEventListener("click", () => chooseAndImport(false));
$("path-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const path = $("import-path").value.trim();
  if (path) previewAndImport([path]);
});

// ---- people table (virtual scrolling, pages fetched from SQL) -----------

const table = {
  pages: new Map(), // page number -> rows
  pending: new Set(),
  failed: new Set(), // pages that failed for this query: not retried until it changes
  matching: 0,
  generation: 0, // bumps when the query changes; stale answers are dropped
  sort: { by: "name", descending: false },

  query() {
    const kind = $("kind-filter").value || null;
    const search = $("search").value.trim() || null;
    const state = $("state-filter").value || null;
    const year = $("year-filter").value.trim() || null;
    const status = $("status-filter").value || null;
    const group = $("group-filter").value || null;
    const home_group = $("home-group-filter").value.trim() || null;
    return { kind, search, state, new: $("new-filter").checked, year, status, group, home_group };
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

const KIND_WORDS = { student: "Student", staff: "Staff", parent: "Parent" };

const STATE_WORDS = { enabled: "enabled", disabled: "disabled", recycled: "in the recycle bin" };

// Column headers sort the table (in the backend's roster: any column of
// 230,000 people in milliseconds); a second click reverses the order.
for (const b of document.querySelectorAll("button.sort")) {
  b.addEventListener("click", () => {
    const by = b.dataset.sort;
    table.sort = {
      by,
      descending: table.sort.by === by ? !table.sort.descending : false,
    };
    for (const other of document.querySelectorAll("button.sort")) {
      const mine = other.dataset.sort === table.sort.by;
      other.parentElement.setAttribute(
        "aria-sort", mine ? (table.sort.descending ? "descending" : "ascending") : "none");
    }
    table.refresh();
  });
}

function rowElement(p) {
  const row = document.createElement("div");
  row.className = "row";
  row.setAttribute("role", "row");
  const tick = document.createElement("span");
  tick.setAttribute("role", "cell");
  if (p) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "tick";
    box.checked = selected.has(p.id);
    box.setAttribute("aria-label", `Tick ${p.given_name} ${p.family_name}`);
    box.addEventListener("change", () => {
      if (box.checked) selected.add(p.id);
      else selected.delete(p.id);
      showSelected();
    });
    tick.append(box);
  }
  row.append(tick);
  const cells = p
    ? [
        `${p.family_name}, ${p.preferred_name || p.given_name}`,
        KIND_WORDS[p.kind] ?? p.kind,
        p.sis_id,
        p.status,
        p.year_level,
        p.email,
      ]
    : ["Loading…", "", "", "", "", ""];
  if (!p) row.classList.add("loading");
  cells.forEach((text, i) => {
    const c = document.createElement("span");
    c.setAttribute("role", "cell");
    if (i === 0 && p) {
      // The name opens the person's panel: details, actions, history.
      const b = document.createElement("button");
      b.className = "link person-open";
      b.textContent = text;
      b.addEventListener("click", () => openPanel(p));
      c.append(b);
    } else {
      c.textContent = text;
    }
    if (i === 3 && p) c.className = `badge status-${p.status}`;
    row.append(c);
  });
  // The account: username, state, and the NEW/AR/NR flags.
  const acct = document.createElement("span");
  acct.setAttribute("role", "cell");
  acct.className = "account-cell";
  if (p && p.username) {
    acct.append(p.username);
    const st = document.createElement("span");
    st.className = `acct-state acct-${p.state}`;
    st.textContent = STATE_WORDS[p.state] ?? p.state;
    acct.append(st);
    for (const f of p.flags ?? []) {
      const b = document.createElement("span");
      b.className = `flag flag-${f}`;
      b.textContent = f;
      b.title = { NEW: "Not yet signed in or sent a letter or email", AR: "Access restriction in the SIS: check before sending", NR: "Does not receive academic reports" }[f] ?? f;
      acct.append(b);
    }
  } else if (p) {
    acct.textContent = "No account yet";
  }
  row.append(acct);
  if (p) row.dataset.sisId = p.sis_id;
  return row;
}

// ---- accounts: generate and batch actions, each previewed first ----------

/** People ticked in the table, by row id (kept across pages and scrolling;
 *  SIS ids can repeat across kinds and SIS exports). */
const selected = new Set();

function showSelected() {
  $("selected-count").textContent = selected.size ? `${fmt.format(selected.size)} ticked` : "";
}

function accountsBox() {
  const box = $("accounts-result");
  box.hidden = false;
  box.replaceChildren();
  return box;
}

function entryList(entries) {
  const ul = document.createElement("ul");
  ul.id = "account-changes";
  ul.className = "history";
  for (const e of entries) {
    const li = document.createElement("li");
    li.textContent = e.action === "problem"
      ? `No account for ${e.name} (${e.kind}, ${e.sis_id}): ${e.reason}`
      : `${e.name} (${e.kind}, ${e.sis_id}): ${e.username} · ${STATE_WORDS[e.state] ?? e.state} · ${e.group}` +
        (e.reason ? ` · ${e.reason}` : "");
    ul.append(li);
  }
  return ul;
}

/** A preview with a confirm button; `apply` runs on confirmation. */
function confirmBox(title, lines, entries, label, apply) {
  const box = accountsBox();
  const h = document.createElement("h2");
  h.textContent = title;
  box.append(h);
  for (const line of lines) {
    const p = document.createElement("p");
    p.textContent = line;
    box.append(p);
  }
  if (entries.length) box.append(entryList(entries));
  const actions = document.createElement("div");
  actions.className = "actions";
  const go = document.createElement("button");
  go.className = "primary";
  go.id = "confirm-accounts";
  go.textContent = label;
  const cancel = document.createElement("button");
  cancel.textContent = "Cancel";
  // A closed preview leaves nothing behind to be confirmed later.
  const close = () => {
    box.hidden = true;
    box.replaceChildren();
  };
  cancel.addEventListener("click", close);
  go.addEventListener("click", async () => {
    go.disabled = cancel.disabled = true;
    try {
      await apply();
    } catch (e) {
      toast(String(e), 8000);
    }
    close();
    refreshGroups();
    table.invalidate();
    table.render();
    await table.refresh();
  });
  actions.append(go, cancel);
  box.append(actions);
  go.focus();
}

/** One person's panel: who they are, their account, actions on it (each
 *  previewed), and their history from the audit log. */
async function openPanel(p) {
  const panel = $("person-panel");
  panel.hidden = false;
  panel.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${p.preferred_name || p.given_name} ${p.family_name}`;
  const close = document.createElement("button");
  close.textContent = "Close";
  close.addEventListener("click", () => (panel.hidden = true));
  const facts = document.createElement("p");
  facts.textContent = [
    KIND_WORDS[p.kind] ?? p.kind, `SIS id ${p.sis_id}`, p.status, p.email, p.year_level && `year ${p.year_level}`,
    p.children.length ? `children: ${p.children.join(", ")}` : "",
  ].filter(Boolean).join(" · ");
  const acct = document.createElement("p");
  acct.textContent = p.username
    ? `Account ${p.username}: ${STATE_WORDS[p.state] ?? p.state}, group ${p.group}` +
      (p.flags?.length ? `, ${p.flags.join(" ")}` : "")
    : "No account yet: “Generate accounts…” makes one if they qualify.";
  panel.append(h, facts, acct);
  if (p.username) {
    const actions = document.createElement("div");
    actions.className = "actions";
    const rename = document.createElement("button");
    rename.textContent = "Rename…";
    rename.dataset.action = "rename";
    rename.addEventListener("click", () => renameForm(p, actions));
    actions.append(rename);
    const reset = document.createElement("button");
    reset.textContent = "Reset the password…";
    reset.dataset.action = "reset";
    reset.addEventListener("click", () =>
      resetFlow({ ids: [p.id] }));
    actions.append(reset);
    for (const [action, words] of [["enable", "Enable"], ["disable", "Disable"], ["suspend", "Suspend"],
      ["archive", "Archive"], ["force-password-change", "Force a password change"], ["restore", "Restore"]]) {
      const b = document.createElement("button");
      b.textContent = `${words}…`;
      b.dataset.action = action;
      b.addEventListener("click", async () => {
        const query = { ids: [p.id] };
        let o;
        try {
          o = await invoke("account_action", { action, group: null, query, dryRun: true });
        } catch (e) {
          toast(String(e), 8000);
          return;
        }
        const why = o.changed ? "" : ` (nothing would change${o.skipped ? ": " + (o.entries[0]?.reason ?? "skipped") : ""})`;
        confirmBox(`${words} ${p.username}?`, [`${words}: ${o.changed} account will change${why}.`], o.entries,
          words, async () => {
            await invoke("account_action", { action, group: null, query, dryRun: false });
            toast(`${words}: done.`);
            panel.hidden = true;
          });
      });
      actions.append(b);
    }
    panel.append(actions);
  }
  const hh = document.createElement("h3");
  hh.textContent = "History";
  const list = document.createElement("ul");
  list.className = "history";
  list.id = "person-history";
  panel.append(hh, list, close);
  try {
    const entries = await invoke("person_history", { id: p.id });
    list.replaceChildren(...entries.reverse().map((e) => {
      const li = document.createElement("li");
      const what = e.after ? Object.entries(e.after).filter(([, v]) => v !== "" && v !== null)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`).join(", ") : "";
      li.textContent = `${new Date(e.at).toLocaleString()} · ${e.actor} · ${e.action}${what ? " · " + what : ""}`;
      return li;
    }));
  } catch (e) {
    list.textContent = String(e);
  }
}

/** Generate accounts, with the progress overlay (a large school takes
 *  seconds, for the preview and again for the real run). */
async function generateAccounts(dryRun) {
  progressOpen(dryRun ? "Working out the accounts…" : "Creating and updating accounts…");
  try {
    return await invoke("generate_accounts", { dryRun, onProgress: progressChannel() });
  } finally {
    progressClose();
  }
}

$("generate-accounts").addEventListener("click", async () => {
  let g;
  try {
    g = await generateAccounts(true);
  } catch (e) {
    toast(String(e), 8000);
    return;
  }
  const lines = [
    `${fmt.format(g.created)} accounts will be created; ${fmt.format(g.enabled)} enabled and ` +
      `${fmt.format(g.disabled)} disabled because of the SIS; ${fmt.format(g.recycled)} moved to the recycle bin.`,
    "New parent accounts start disabled until you review and enable them.",
  ];
  if (g.problems) lines.push(`${fmt.format(g.problems)} people qualify but cannot get an account (listed first).`);
  if (!g.created && !g.enabled && !g.disabled && !g.recycled && !g.flags_changed) {
    toast("Every account is already up to date.");
    return;
  }
  confirmBox("Generate accounts?", lines, g.entries, "Create and update these accounts", async () => {
    const done = await generateAccounts(false);
    toast(`Created ${fmt.format(done.created)} accounts.`);
  });
});

$("bulk-action").addEventListener("change", async () => {
  const move = $("bulk-action").value === "move-group";
  $("bulk-group").hidden = !move;
  if (move) {
    const groups = await invoke("account_groups");
    $("bulk-group").replaceChildren(...groups.map((g) => {
      const o = document.createElement("option");
      o.value = o.textContent = g.name;
      return o;
    }));
  }
});

$("bulk-apply").addEventListener("click", async () => {
  const action = $("bulk-action").value;
  const group = action === "move-group" ? $("bulk-group").value : null;
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
  // Everyone matching a filter can be a hundred thousand accounts: seconds.
  const busyWith = async (title, dryRun) => {
    progressOpen(title, false);
    $("progress-text").textContent = "Working through the accounts…";
    try {
      return await invoke("account_action", { action, group, query, dryRun });
    } finally {
      progressClose();
    }
  };
  let o;
  try {
    o = await busyWith(`${words}: working out what would change…`, true);
  } catch (e) {
    toast(String(e), 8000);
    return;
  }
  const lines = [
    `${words}: ${fmt.format(o.changed)} accounts will change, ${fmt.format(o.unchanged)} are already so, ` +
      `${fmt.format(o.skipped)} are skipped (no account yet, left the school, or in the recycle bin).`,
  ];
  confirmBox(`${words} ${fmt.format(o.changed)} accounts?`, lines, o.entries, `${words} ${fmt.format(o.changed)} accounts`,
    async () => {
      const done = await busyWith(`${words}…`, false);
      toast(`${words}: ${fmt.format(done.changed)} accounts changed.`);
      selected.clear();
      showSelected();
    });
});

/** Renaming an account: the office types a name or asks the policy for one,
 *  sees the change, and confirms it. */
function renameForm(p, after) {
  document.getElementById("rename-form")?.remove();
  const form = document.createElement("form");
  form.id = "rename-form";
  form.className = "actions";
  const name = input("rename-to", p.username);
  name.autocomplete = "off";
  const suggest = document.createElement("button");
  suggest.type = "button";
  suggest.textContent = "As the policy would name them now";
  const preview = document.createElement("button");
  preview.type = "submit";
  preview.textContent = "Preview…";
  form.append(labelled("New username", name), name, suggest, preview);
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
    confirmBox(`Rename ${r.from} to ${r.to}?`, [
      `${r.from} becomes ${r.to}. Letters and emails already sent show the old name.`,
      `The old name ${r.from} is not given out again for a year.`,
    ], [], `Rename to ${r.to}`, async () => {
      await invoke("rename_account", { personId: p.id, to, dryRun: false });
      toast(`Renamed ${r.from} to ${r.to}.`);
      $("person-panel").hidden = true;
    });
  });
}

/** Reset passwords or activation codes: a preview, then (on confirming) the
 *  "Save as" dialog for the hand-out sheet, the only place the new secrets
 *  ever go; cancelling it resets nothing. */
async function resetFlow(query) {
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
  confirmBox(`Reset ${fmt.format(o.changed)} accounts?`, lines, o.entries, "Reset and save the sheet…", async () => {
    progressOpen("Setting new passwords…");
    $("progress-text").textContent = "Choose where to save the hand-out sheet…";
    let done;
    try {
      // keyrollTestSaveTo is set only by the end-to-end test: WebDriver
      // cannot answer the native "Save as" dialog.
      const saveTo = window.keyrollTestSaveTo ?? null;
      done = await invoke("reset_accounts", { query, dryRun: false, saveTo, onProgress: progressChannel() });
    } finally {
      progressClose();
    }
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

let searchTimer;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => table.refresh(), 150);
});
$("kind-filter").addEventListener("change", () => table.refresh());
$("state-filter").addEventListener("change", () => table.refresh());
$("status-filter").addEventListener("change", () => table.refresh());
$("group-filter").addEventListener("change", () => table.refresh());
$("home-group-filter").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => table.refresh(), 250);
});
/** The group filter lists the groups there are (after generating, renaming…). */
async function refreshGroups() {
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
$("new-filter").addEventListener("change", () => table.refresh());
$("year-filter").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => table.refresh(), 250);
});

// ---- start --------------------------------------------------------------

const status = await refreshHome();
if (status && status.demo && status.totals.students + status.totals.staff + status.totals.parents === 0) {
  await loadDemo();
}
