// The Audit screen: every change, newest first, who made it and when, a
// page at a time. (A person's own story is in their panel.)

import { $, el } from "./lib/dom.js";
import { invoke } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";

const PAGE = 100;
let oldest = null;

function describe(e) {
  const v = e.after ?? e.before;
  if (!v) return "";
  if (typeof v !== "object") return String(v);
  if (v.created !== undefined && Object.keys(v).length === 1) return `${v.created} created`;
  return Object.entries(v)
    .filter(([, x]) => x !== "" && x !== null)
    .map(([k, x]) => `${k}: ${typeof x === "object" ? JSON.stringify(x) : x}`)
    .join(", ");
}

async function more(first) {
  const list = $("audit-list");
  let page;
  try {
    page = await invoke("audit_page", { before: first ? null : oldest, limit: PAGE });
  } catch (e) {
    list.replaceChildren(el("li", { className: "error-text", textContent: String(e) }));
    return;
  }
  if (first) list.replaceChildren();
  for (const e of page) {
    list.append(el("li", {},
      el("span", { className: "when", textContent: new Date(e.at).toLocaleString() }),
      el("span", { className: "who", textContent: e.actor }),
      el("span", { className: "what", textContent: e.action }),
      el("span", { className: "key", textContent: e.entity_key }),
      el("span", { className: "detail", textContent: describe(e) })));
  }
  if (page.length) oldest = page[page.length - 1].id;
  $("audit-more").hidden = page.length < PAGE;
}

$("audit-more").addEventListener("click", () => more(false));
screen("audit", () => more(true));
