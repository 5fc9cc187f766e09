// Keyroll's interface: plain ES modules, no bundler. Each screen has its
// module; lib/ holds what they share (DOM helpers, the Rust commands and
// the progress dialog, navigation, preview dialogs). All data comes from
// src-tauri/commands/; the people table asks for one page at a time.

import { refreshHome } from "./home.js";
import { imported, loadDemo } from "./import/wizard.js";
import { screen } from "./lib/nav.js";
import { generateFlow } from "./people/actions.js";
import "./people/panel.js";
import { refreshClasses, refreshGroups, table } from "./people/table.js";
import "./settings.js";
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

const status = await refreshHome();
if (status && status.demo && status.totals.students + status.totals.staff + status.totals.parents === 0) {
  await loadDemo();
}
