// The condensed tree as a clickable icicle (drawn by the server: raregal/report/icicle.py, the same
// picture as in the report). Click a node, or focus it and press Enter, to see its leaves side by side.
"use strict";

import { $ } from "./util.js";

export class TreeView {
  constructor(box, onOpen) {
    this.box = box; this.onOpen = onOpen; this.open = null;
    box.addEventListener("click", (ev) => {
      const g = ev.target.closest("g.node");
      if (g) this.onOpen(Number(g.dataset.node));
    });
    box.addEventListener("keydown", (ev) => {
      const g = ev.target.closest && ev.target.closest("g.node");
      if (!g) return;
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); this.onOpen(Number(g.dataset.node)); }
      if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
        const nodes = [...this.box.querySelectorAll("g.node")];
        const next = nodes[nodes.indexOf(g) + (ev.key === "ArrowRight" ? 1 : -1)];
        if (next) { ev.preventDefault(); next.focus(); }
      }
    });
  }
  async load() {
    const r = await fetch("/api/tree.svg?height=250");
    if (!r.ok) { this.box.textContent = "This run has no condensed tree."; return; }
    // the server escapes every text it puts in the picture (ids, letters, tags)
    this.box.innerHTML = await r.text();
    this.mark(this.open);
    document.body.dataset.tree = "1";
  }
  mark(node) {
    this.open = node;
    for (const g of this.box.querySelectorAll("g.node.open")) g.classList.remove("open");
    if (node === null || node === undefined) return;
    const g = this.box.querySelector(`g.node[data-node="${node}"]`);
    if (g) {
      g.classList.add("open");
      const r = g.getBoundingClientRect(), b = this.box.getBoundingClientRect();
      if (r.left < b.left || r.right > b.right) this.box.scrollLeft += r.left - b.left - b.width / 2;
    }
  }
  toggle(show) {
    const drawer = $("tree-drawer");
    drawer.hidden = show === undefined ? !drawer.hidden : !show;
    $("toggle-tree").setAttribute("aria-pressed", String(!drawer.hidden));
    window.dispatchEvent(new Event("resize"));
  }
}
