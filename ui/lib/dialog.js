// Previews before anything changes: a dialog with the counts first, a paged
// table of whom it touches below, and a confirm button that names the
// action ("Disable 37 accounts"). Nothing is written until it is pressed.

import { $, el, fmt, toast } from "./dom.js";

const PAGE = 50;

/** A table of `rows` shown `PAGE` at a time. `columns`: [[label, row =>
 *  text]]. `id` names its body (tests and screen readers find it). */
export function pagedTable(columns, rows, id) {
  let page = 0;
  const body = el("tbody", { id });
  const where = el("span", { className: "hint" });
  const prev = el("button", { type: "button", textContent: "Previous" });
  const next = el("button", { type: "button", textContent: "Next" });
  const render = () => {
    const first = page * PAGE;
    body.replaceChildren(...rows.slice(first, first + PAGE).map((r) =>
      el("tr", {}, ...columns.map(([, text]) => el("td", { textContent: text(r) ?? "" })))));
    where.textContent = rows.length
      ? `${fmt.format(first + 1)}–${fmt.format(Math.min(first + PAGE, rows.length))} of ${fmt.format(rows.length)}`
      : "";
    prev.disabled = page === 0;
    next.disabled = first + PAGE >= rows.length;
  };
  prev.addEventListener("click", () => { page--; render(); });
  next.addEventListener("click", () => { page++; render(); });
  render();
  const head = el("thead", {}, el("tr", {}, ...columns.map(([label]) => el("th", { scope: "col", textContent: label }))));
  return el("div", { className: "paged" },
    el("div", { className: "table-scroll" }, el("table", { className: "list" }, head, body)),
    rows.length > PAGE ? el("div", { className: "actions pager" }, prev, where, next) : null);
}

/** Opens the preview dialog `dialog` (its content box `body`) with
 *  `title`, `lines` of counts, and `content` below; `confirm` is { id,
 *  label, danger } and `onConfirm` runs (after the dialog closes) when it
 *  is pressed. Cancel, Escape or the close button change nothing. */
export function preview({ dialog, body, title, lines = [], content = [], confirm, onConfirm }) {
  const d = $(dialog);
  const box = $(body);
  const h = el("h2", { id: `${dialog}-title`, textContent: title });
  const go = el("button", {
    id: confirm.id,
    className: confirm.danger ? "primary danger" : "primary",
    textContent: confirm.label,
  });
  const cancel = el("button", { type: "button", textContent: "Cancel" });
  // A closed preview leaves nothing behind to be confirmed later.
  const close = () => {
    if (d.open) d.close();
    box.replaceChildren();
  };
  cancel.addEventListener("click", close);
  d.onclose = () => box.replaceChildren();
  go.addEventListener("click", async () => {
    go.disabled = cancel.disabled = true;
    close();
    try {
      await onConfirm();
    } catch (e) {
      toast(String(e), 8000);
    }
  });
  box.replaceChildren(h, ...lines.map((l) => el("p", { className: "count-line", textContent: l })),
    ...content, el("div", { className: "actions" }, go, cancel));
  d.setAttribute("aria-labelledby", h.id);
  if (!d.open) d.showModal();
  go.focus();
}
