// The mapping step for a plain list (CSV or spreadsheet): which column holds
// what, started from the saved mapping for this header or Keyroll's guess,
// with the first row beside each choice. Saved for next time once applied.

import { $, labelled } from "../lib/dom.js";
import { outcomeBox } from "./preview.js";

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

/** The mapping step: which column holds what, started from the saved mapping
 *  for this header or from Keyroll's guess, with the first row as an example. */
export function showMapping(paths, info, onContinue) {
  const sample = info.sample;
  const m = info.mapping;
  const box = outcomeBox();
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
    onContinue(paths, mapping);
  });
  go.focus();
}
