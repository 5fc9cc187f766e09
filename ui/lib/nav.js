// Moving between screens. Each screen registers what to do when it is
// shown; anyone may ask for a screen (Home's to-do items open the people
// table with a filter).

const screens = new Map();

/** Registers `onShow(options)` for screen `name`. */
export function screen(name, onShow) {
  screens.set(name, onShow);
}

export function show(name, options = {}) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${name}`;
  for (const b of document.querySelectorAll(".nav")) {
    if (b.dataset.screen === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  screens.get(name)?.(options);
}

for (const b of document.querySelectorAll(".nav")) b.addEventListener("click", () => show(b.dataset.screen));
