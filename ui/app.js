// Keyroll's interface: plain ES modules, no bundler. Each screen has its
// module; lib/ holds what they share (DOM helpers, the Rust commands and
// the progress dialog, navigation, preview dialogs). All data comes from
// src-tauri/commands/; the people table asks for one page at a time.

import { refreshHome } from "./home.js";
import { imported, loadDemo } from "./import/wizard.js";
import { $ } from "./lib/dom.js";
import { Channel, invoke, progressClose, progressOpen, progressText } from "./lib/ipc.js";
import { screen } from "./lib/nav.js";
import { generateFlow } from "./people/actions.js";
import "./people/panel.js";
import { refreshClasses, refreshGroups, table } from "./people/table.js";
import "./settings.js";
import "./letters.js";
import "./invitations.js";
import "./sync.js";
import "./audit.js";

screen("people", (options) => {
  refreshGroups();
  refreshClasses();
  if (options.query) table.setExtra(options.query, options.label);
  table.refresh();
  if (options.generate) generateFlow();
});

// After an import (or a rollback) the table loads afresh when next shown.
imported.onChange = () => table.invalidate();
imported.afterImport = () => refreshHome();

await openDatabase();
const status = await refreshHome();
if (status && status.demo && status.totals.students + status.totals.staff + status.totals.parents === 0) {
  await loadDemo();
}

/** Opens the database first: after an update of Keyroll, a large school's
 *  database may take a while to upgrade, and says so. (A failure to open is
 *  shown by Home, which asks again.) */
async function openDatabase() {
  const ch = new Channel();
  let shown = false;
  ch.onmessage = (u) => {
    if (!shown) {
      progressOpen("Updating your database…", false);
      shown = true;
    }
    $("progress-bar").value = u.steps ? u.done / u.steps : 1;
    progressText(u.done < u.steps
      ? `Step ${u.done + 1} of ${u.steps}. This happens once after an update; your data is kept as it is.`
      : "Done.");
    // What the dialog last showed, for the end-to-end test.
    document.body.dataset.upgraded = `${$("progress-title").textContent}: ${u.done} of ${u.steps}`;
  };
  try {
    await invoke("open_database", { progress: ch });
  } catch (e) {
    // Home shows why.
  } finally {
    if (shown) progressClose();
  }
}
