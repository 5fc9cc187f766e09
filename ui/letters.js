// The Letters screen: who (a few filters, or the rows ticked on People),
// the layout and template, a live preview of the first page rendered from
// the school's real data (it follows the template editor as you type), then
// "Save PDF…", "Print…" and the exports. Secrets are made only when a file
// is saved; the preview shows examples.

import { $, control, el, fmt, input, select, toast } from "./lib/dom.js";
import { preview } from "./lib/dialog.js";
import { invoke, progressChannel, withProgress } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";
import { selected } from "./people/table.js";

const form = $("letters-form");
let templates = [];
let lastSaved = null;
let loaded = false;

async function build() {
  const [classes, fields] = await Promise.all([invoke("classes"), invoke("letter_fields")]);
  const classSelect = select("letters-class", [["", "Any class"],
    ...classes.map((c) => [`${c.source}:${c.sis_id}`, c.title || c.sis_id])], "");
  form.replaceChildren(
    control("Who", select("letters-who", [["parent", "Parents"], ["student", "Students"], ["staff", "Staff"],
      ["", "Everyone"], ["ticked", "The rows ticked on People"]], "parent")),
    control("Only accounts never handed out", input("letters-new", true, "checkbox")),
    control("Year", input("letters-year", "")),
    control("Class", classSelect),
    control("Search", input("letters-search", "")),
    control("Layout", select("letters-layout", [["letter", "A letter each"], ["slips", "Sign-in slips (8 a page)"],
      ["list", "Class lists (one class a page)"]], "letter")),
    control("Letters for parents", select("letters-per", [["family", "One per parent, listing their children"],
      ["account", "One per account"]], "family"), "Students chosen: their parents get the letters"),
    control("Template", select("letters-template", [["", "Each kind's own"]], "")),
    control("Paper", select("letters-paper", [["", "As this computer's locale"], ["a4", "A4"], ["letter", "US Letter"]], "")),
    control("New passwords for accounts handed out before", input("letters-renew", false, "checkbox"),
      "Their old password stops working"),
  );
  $("field-list").replaceChildren(...fields.map((f) => el("li", {},
    el("button", { type: "button", className: "field", dataset: { field: f.name },
      textContent: f.label, title: `{{${f.name}}}`, onclick: () => insertField(f.name, f.block) }))));
  for (const c of form.querySelectorAll("select, input")) c.addEventListener("change", () => changed(c));
  $("letters-search").addEventListener("input", () => refreshSoon());
  // A keystroke in the editor lays out the first page again; the counts
  // (which read everyone chosen) only follow the choices.
  $("template-text").addEventListener("input", () => {
    lastSaved = null;
    refreshSoon(120, false);
  });
  await loadTemplates();
  loaded = true;
}

async function loadTemplates(chosen = "") {
  templates = await invoke("letter_templates");
  const sel = $("letters-template");
  sel.replaceChildren(el("option", { value: "", textContent: "Each kind's own" }),
    ...templates.map((t) => el("option", { value: t.name, textContent: `${t.name} (${t.audience})`,
      selected: t.name === chosen })));
  editorFor(chosen);
}

/** Puts the chosen template's text in the editor (a built-in one as a copy). */
function editorFor(name) {
  const t = templates.find((t) => t.name === name);
  const text = $("template-text");
  text.disabled = !t;
  text.value = t ? t.text : "";
  text.placeholder = t ? "" : "Choose a template above to edit it (or a copy of a built-in one).";
  $("template-name").value = t ? (t.builtin ? `${t.name} (our school)` : t.name) : "";
  $("template-problem").textContent = "";
}

function insertField(name, block) {
  const t = $("template-text");
  if (t.disabled) return toast("Choose a template to edit first.");
  const mark = block ? `\n{{${name}}}\n` : `{{${name}}}`;
  const [a, b] = [t.selectionStart, t.selectionEnd];
  t.value = t.value.slice(0, a) + mark + t.value.slice(b);
  t.selectionStart = t.selectionEnd = a + mark.length;
  t.focus();
  refreshSoon(0);
}

function changed(c) {
  if (c.id === "letters-template") editorFor(c.value);
  // Ticked rows are the office's own choice: all of them, NEW or not.
  if (c.id === "letters-who" && c.value === "ticked") $("letters-new").checked = false;
  lastSaved = null;
  refreshSoon(0);
}

function query() {
  const who = $("letters-who").value;
  const q = { new: $("letters-new").checked };
  if (who === "ticked") {
    q.ids = [...selected];
    if (!q.ids.length) q.ids = [-1];
  } else if (who) {
    q.kind = who;
  }
  const v = (id) => $(id).value.trim() || null;
  q.year = v("letters-year");
  q.class = v("letters-class");
  q.search = v("letters-search");
  return q;
}

function choice() {
  const name = $("letters-template").value || null;
  const t = templates.find((t) => t.name === name);
  const edited = t && $("template-text").value !== t.text;
  return {
    query: query(),
    per: $("letters-per").value,
    layout: $("letters-layout").value,
    template: name,
    text: edited ? $("template-text").value : null,
    audience: t ? t.audience : null,
    paper: $("letters-paper").value || null,
    new_passwords: $("letters-renew").checked,
  };
}

let timer = null;
let asked = 0;
let wantCounts = false;
// Whether the newest request asks for the counts: a stale reply re-asks for
// them only if it does not, or two in flight would make each other stale
// for ever (each re-ask outdating the other).
let newestCounts = false;
function refreshSoon(ms = 250, counts = true) {
  clearTimeout(timer);
  wantCounts ||= counts;
  timer = setTimeout(refresh, ms);
}

/** Renders the first page (and the run's preview); a later keystroke wins. */
async function refresh() {
  const mine = ++asked;
  const counts = wantCounts;
  wantCounts = false;
  newestCounts = counts;
  const reAsk = () => {
    if (counts && !newestCounts) refreshSoon(0);
  };
  let sample;
  try {
    sample = await invoke("letters_sample", { choice: choice(), counts });
  } catch (e) {
    if (mine !== asked) return reAsk();
    // Said beside the summary (the editor may be folded away), and nothing
    // stale is left on show.
    $("template-problem").textContent = String(e);
    showPage(null, String(e));
    $("letters-summary").textContent = String(e);
    if (counts) wantCounts = true;
    return;
  }
  // A later keystroke won; the counts it did not ask for are asked again.
  if (mine !== asked) return reAsk();
  $("template-problem").textContent = "";
  showPage(sample.pages[0]);
  if (sample.preview) showPreview(sample.preview);
}

function showPage(svg, why = "Nobody chosen gets a letter.") {
  const box = $("letters-page");
  const old = box.querySelector("img");
  if (old) URL.revokeObjectURL(old.src);
  if (!svg) {
    box.replaceChildren(el("p", { className: "hint", textContent: why }));
    return;
  }
  // As an image, so nothing in a page can run in the app.
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  box.replaceChildren(el("img", { src: url, alt: "The first page, with example passwords" }));
}

function showPreview(p) {
  const what = { letter: "letters", slips: "slips", list: "class-list lines" }[p.layout];
  $("letters-summary").textContent =
    `${fmt.format(p.letters)} ${what}, ${fmt.format(p.pages)} pages. ` +
    `${fmt.format(p.issuing)} get a new password or code` +
    (p.replacing ? `, ${fmt.format(p.replacing)} handed out before get a new one` : "") +
    (p.unchanged ? `, ${fmt.format(p.unchanged)} without a password (handed out before)` : "") + ".";
  $("letters-summary").dataset.letters = p.letters;
  const notes = [
    ...p.warnings.map((w) => el("li", { className: "warning", textContent: w })),
    ...p.unprintable.map((u) => el("li", { className: "warning",
      textContent: `${u.name} cannot be printed here: ${u.characters.join(", ")}` })),
  ];
  if (p.skipped.length) {
    notes.push(el("li", {}, el("details", {}, el("summary", { textContent: `${fmt.format(p.skipped.length)} left out` }),
      el("ul", {}, ...p.skipped.slice(0, 200).map((s) => el("li", { textContent: `${s.name}: ${s.reason}` }))))));
  }
  $("letters-notes").replaceChildren(...notes);
}

/** Saves the PDF (the native "Save as", or the test's file); returns its path. */
async function savePdf() {
  const done = await withProgress("Making the letters…", () => invoke("print_letters", {
    choice: choice(), saveTo: window.keyrollTestSaveTo ?? null, onProgress: progressChannel(),
  }));
  if (!done) {
    toast("Nothing was printed: no file was chosen.", 8000);
    return null;
  }
  lastSaved = done.files[0];
  const files = done.files.length > 1 ? `${done.files.length} files, from ${done.files[0]}` : done.files[0];
  toast(`Saved ${fmt.format(done.letters)} letters (${fmt.format(done.pages)} pages) to ${files}.`, 10000);
  document.body.dataset.lettersSaved = done.files.join("\n");
  refreshSoon(0);
  return lastSaved;
}

$("letters-save").addEventListener("click", () => savePdf().catch((e) => toast(String(e), 10000)));
$("letters-print").addEventListener("click", async () => {
  try {
    const file = lastSaved ?? (await savePdf());
    if (file) await invoke("open_file", { path: file });
  } catch (e) {
    toast(String(e), 10000);
  }
});

$("template-save").addEventListener("click", async () => {
  const name = $("letters-template").value;
  const t = templates.find((t) => t.name === name);
  if (!t) return toast("Choose a template to edit first.");
  try {
    const saved = await invoke("save_letter_template", {
      name: $("template-name").value, audience: t.audience, text: $("template-text").value,
    });
    await loadTemplates(saved.name);
    toast(`Saved the template “${saved.name}”.`);
  } catch (e) {
    $("template-problem").textContent = String(e);
  }
});

// The export runs from its button, not on a change of the list: arrowing
// through the list with the keyboard must not start one.
$("letters-export-go").addEventListener("click", async () => {
  const [format, file] = $("letters-export").value.split(":");
  if (!format) return toast("Choose what to export first.");
  const c = choice();
  const exportChoice = { query: c.query, format, xlsx: file === "xlsx", per: c.per, new_passwords: c.new_passwords };
  try {
    const p = await invoke("export_accounts", { choice: exportChoice, dryRun: true, saveTo: null });
    const o = p.outcome;
    preview({
      dialog: "accounts-dialog", body: "accounts-result",
      title: `Export ${fmt.format(o.rows)} accounts`,
      lines: [`${fmt.format(o.issuing)} get a new password or code in this file` +
        (o.replacing ? `; ${fmt.format(o.replacing)} handed out before get a new one` : "") + ".",
        ...o.warnings, ...(o.skipped.length ? [`${fmt.format(o.skipped.length)} left out (the first: ${o.skipped[0].name}: ${o.skipped[0].reason})`] : [])],
      confirm: { id: "confirm-export", label: `Save the export of ${fmt.format(o.rows)} accounts…` },
      onConfirm: async () => {
        const done = await withProgress("Exporting…", () => invoke("export_accounts", {
          choice: exportChoice, dryRun: false, saveTo: window.keyrollTestSaveTo ?? null,
        }), false);
        if (done.file) toast(`Saved ${done.file}. It holds new passwords: keep it safe, and delete it once used.`, 10000);
        // A mail merge hands accounts out: the counts change.
        refreshSoon(0);
      },
    });
  } catch (e) {
    toast(String(e), 10000);
  }
});

async function loadSchool() {
  const s = await invoke("letter_settings");
  $("ls-name").value = s.school_name;
  $("ls-address").value = s.school_address;
  $("ls-signin").value = s.sign_in_url;
  $("ls-activate").value = s.activation_url;
  $("ls-logo-state").textContent = s.logo ? "A logo is set." : "No logo yet.";
}

async function saveSchool(logo) {
  try {
    await invoke("save_letter_settings", {
      schoolName: $("ls-name").value, schoolAddress: $("ls-address").value,
      signInUrl: $("ls-signin").value, activationUrl: $("ls-activate").value, logo,
    });
    await loadSchool();
    toast("Saved the school's details for letters.");
    refreshSoon(0);
  } catch (e) {
    toast(String(e), 10000);
  }
}
$("ls-save").addEventListener("click", () => saveSchool(false));
$("ls-logo").addEventListener("click", () => saveSchool(true));

screen("letters", async () => {
  loadSchool().catch((e) => toast(String(e), 8000));
  if (!loaded) await build();
  refreshSoon(0);
});
