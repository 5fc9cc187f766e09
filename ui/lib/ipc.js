// Talking to the Rust side (src-tauri/commands/), and the progress dialog
// every long task shows: a bar, a count and Cancel, while the rest of the
// window waits.

import { $, fmt } from "./dom.js";

export const { invoke, Channel } = window.__TAURI__.core;

// One long task at a time: while one runs, the page behind the progress
// dialog is inert, so no second click or Enter can start another.
export const work = { busy: false };

function setBusy(on) {
  work.busy = on;
  for (const e of document.querySelectorAll("main, .rail")) e.inert = on;
}

export function progressOpen(title, cancellable = true) {
  $("progress-title").textContent = title;
  $("progress-bar").removeAttribute("value");
  $("progress-text").textContent = "Starting…";
  $("cancel-import").disabled = false;
  $("cancel-import").hidden = !cancellable;
  const d = $("progress");
  if (!d.open) d.showModal();
  setBusy(true);
}

export function progressClose() {
  $("progress").close();
  setBusy(false);
}

export function progressText(text) {
  $("progress-text").textContent = text;
}

const STEP_WORDS = {
  reading: "Reading everyone…",
  deciding: "Deciding who gets an account",
  saving: "Saving the accounts",
};

/** A channel that shows the backend's progress events in the dialog. */
export function progressChannel() {
  const ch = new Channel();
  ch.onmessage = (ev) => {
    const bar = $("progress-bar");
    if (ev.stage === "generating") {
      progressText("Making up a demo school…");
    } else if (ev.stage === "reading") {
      const frac = ev.total_bytes ? Math.min(ev.done_bytes / ev.total_bytes, 1) : 0;
      bar.value = frac;
      progressText(`Reading and checking the files: ${Math.floor(frac * 100)}%`);
    } else if (ev.stage === "accounts") {
      if (ev.total) {
        bar.value = ev.done / ev.total;
        progressText(`${STEP_WORDS[ev.step]}: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`);
      } else {
        bar.removeAttribute("value");
        progressText(STEP_WORDS[ev.step] ?? "Working…");
      }
    } else if (ev.stage === "hashing") {
      bar.value = ev.total ? ev.done / ev.total : 0;
      progressText(`Securing the new passwords: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`);
    } else if (ev.stage === "letters") {
      bar.value = ev.total ? ev.done / ev.total : 0;
      progressText(`Laying out the letters: ${fmt.format(ev.done)} of ${fmt.format(ev.total)}`);
    } else if (ev.stage === "saving") {
      // Links, leavers and the index are worked out after the last row.
      bar.removeAttribute("value");
      progressText("Saving the changes…");
    }
  };
  return ch;
}

/** Runs `f` with the progress dialog open (titled `title`). */
export async function withProgress(title, f, cancellable = true) {
  progressOpen(title, cancellable);
  try {
    return await f();
  } finally {
    progressClose();
  }
}

$("cancel-import").addEventListener("click", async () => {
  $("cancel-import").disabled = true;
  progressText("Cancelling… nothing will be changed.");
  await invoke("cancel_import");
});
// Escape does not close the progress dialog: Cancel does, and says so.
$("progress").addEventListener("cancel", (ev) => ev.preventDefault());
