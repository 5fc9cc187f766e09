// Small DOM helpers every screen shares: element lookup and creation,
// labelled form controls, number formatting, the toast.

export const $ = (id) => document.getElementById(id);
export const fmt = new Intl.NumberFormat();

/** An element: `el("button", { className: "primary", onclick }, "Go")`.
 *  Properties are set as properties (`dataset` and `htmlFor` included);
 *  children may be strings or nodes (null and false are skipped). */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "attrs") for (const [a, av] of Object.entries(v)) e.setAttribute(a, av);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

export function labelled(text, control) {
  return el("label", { htmlFor: control.id, textContent: text });
}

export function select(id, options, value) {
  const sel = el("select", { id });
  for (const [v, t] of options) sel.append(el("option", { value: v, textContent: t, selected: v === value }));
  return sel;
}

export function input(id, value, type = "text") {
  const i = el("input", { id, type });
  if (type === "checkbox") i.checked = Boolean(value);
  else i.value = value ?? "";
  return i;
}

/** A labelled control in the settings grid, with an optional hint. */
export function field(label, control, hint) {
  return el("div", { className: "policy-field" }, labelled(label, control), control,
    hint ? el("span", { className: "hint", textContent: hint }) : null);
}

export function toast(text, ms = 5000) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), ms);
}

/** "1 person" / "12 people". */
export function count(n, one, many) {
  return `${fmt.format(n)} ${n === 1 ? one : many}`;
}

/** A labelled form control with an optional hint under it. */
export function control(label, c, hint) {
  return el("div", { className: "letters-field" },
    el("label", { htmlFor: c.id, textContent: label }), c,
    hint ? el("span", { className: "hint", textContent: hint }) : null);
}
