// Help: the keyboard keys and what each term means (texts from raregal/report/glossary.py, the
// same as the report's). Terms on the page show their text on hover and on focus.
"use strict";

import { $, el } from "./util.js";

export const KEYS = [
  ["?", "this help"],
  ["Tab / Shift+Tab", "move between the map, the cluster list, the tree and the panels"],
  ["arrow keys", "map: pan · cluster list: previous / next cluster · tree: previous / next node"],
  ["+ / −", "zoom in / out (map or cutout)"],
  ["0", "fit the whole map (or the whole cutout)"],
  ["Enter", "map: open the galaxy under the crosshair · list, tree, gallery: open the item"],
  ["t", "show or hide the condensed tree"],
  ["Esc", "close the open view, clear the selection"],
];

export function renderHelp(glossary) {
  $("help-keys").replaceChildren(...KEYS.flatMap(([k, v]) => [el("dt", {}, el("kbd", { text: k })), el("dd", { text: v })]));
  $("help-terms").replaceChildren(...Object.entries(glossary).flatMap(([k, v]) => [el("dt", { id: `term-${k.replace(/\W+/g, "-")}`, text: k }), el("dd", { text: v })]));
}

export function toggleHelp(show) {
  const box = $("help");
  box.hidden = show === undefined ? !box.hidden : !show;
  if (!box.hidden) $("help-close").focus();
}

// A floating tip for focused terms (title attributes show only on mouse hover).
export function wireTermTips() {
  const tip = $("term-tip");
  document.addEventListener("focusin", (ev) => {
    const t = ev.target.closest && ev.target.closest(".term");
    if (!t) { tip.hidden = true; return; }
    tip.textContent = t.title; tip.hidden = false;
    const r = t.getBoundingClientRect();
    tip.style.left = `${Math.max(4, Math.min(window.innerWidth - 330, r.left))}px`;
    tip.style.top = `${r.bottom + 6}px`;
  });
  document.addEventListener("focusout", () => { tip.hidden = true; });
}
