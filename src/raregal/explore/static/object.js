// The object view: one galaxy's full-resolution cutout with zoom (and an arcsinh stretch for FITS),
// its vote fractions, cluster, probability, scores, sky links (off for simulated coordinates),
// copy ra/dec, its marks and its nearest neighbours.
"use strict";

import { $, el, fmt, getJSON, term } from "./util.js";
import { markForm } from "./marks.js";

const ZOOMS = [0.5, 1, 2, 3, 4, 6, 8, 12, 16];

export class ObjectView {
  constructor(app) {
    this.app = app; this.row = null; this.zoom = 1; this.fitZoom = 1; this.pan = [0, 0];
    this.box = $("object-view");
    $("object-close").addEventListener("click", () => this.close());
    this.box.addEventListener("keydown", (ev) => {
      if (ev.target.matches("input, textarea")) return;
      if (ev.key === "+" || ev.key === "=") { ev.preventDefault(); this.step(1); }
      if (ev.key === "-") { ev.preventDefault(); this.step(-1); }
      if (ev.key === "0") { ev.preventDefault(); this.setZoom(this.fitZoom); }
    });
    const frame = $("object-frame");
    frame.addEventListener("wheel", (ev) => { ev.preventDefault(); this.step(ev.deltaY < 0 ? 1 : -1); }, { passive: false });
    let drag = null;
    frame.addEventListener("mousedown", (ev) => { drag = [ev.clientX, ev.clientY, ...this.pan]; ev.preventDefault(); });
    window.addEventListener("mousemove", (ev) => {
      if (!drag) return;
      this.pan = [drag[2] + ev.clientX - drag[0], drag[3] + ev.clientY - drag[1]]; this.apply();
    });
    window.addEventListener("mouseup", () => { drag = null; });
    $("object-img").addEventListener("load", () => this.fit());
  }
  get isOpen() { return !this.box.hidden; }
  close() {
    this.box.hidden = true; this.row = null;
    if (this.returnFocus && this.returnFocus.focus) this.returnFocus.focus();
  }
  step(direction) {
    const i = ZOOMS.findIndex((z) => z >= this.zoom - 1e-9);
    const next = direction > 0 ? ZOOMS.find((z) => z > this.zoom + 1e-9) : [...ZOOMS].reverse().find((z) => z < this.zoom - 1e-9);
    this.setZoom(next === undefined ? ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, i))] : next);
  }
  setZoom(z) { this.zoom = z; if (z <= this.fitZoom) this.pan = [0, 0]; this.apply(); }
  fit() {
    const img = $("object-img"), frame = $("object-frame");
    const w = img.naturalWidth || 1, h = img.naturalHeight || 1;
    this.fitZoom = Math.min(frame.clientWidth / w, frame.clientHeight / h);
    this.setZoom(this.fitZoom);
    $("object-size").textContent = `${w} × ${h} px`;
    document.body.dataset.cutout = "1";
  }
  apply() {
    const img = $("object-img");
    img.style.width = `${img.naturalWidth * this.zoom}px`;
    img.style.height = `${img.naturalHeight * this.zoom}px`;
    img.style.transform = `translate(${this.pan[0]}px, ${this.pan[1]}px)`;
    img.classList.toggle("pixelated", this.zoom >= 2);
    $("object-zoom-level").textContent = `${Math.round(this.zoom * 100)}%`;
  }
  async open(row) {
    this.returnFocus = document.activeElement;
    this.row = row;
    delete document.body.dataset.cutout;
    const g = await getJSON(`/api/objects/${row}`);
    if (this.row !== row) return;
    this.galaxy = g;
    this.box.hidden = false;
    $("object-title").textContent = g.id_str;
    const badge = $("object-cluster");
    badge.textContent = g.cluster >= 0 ? `cluster ${g.letter}${g.description ? " · " + g.description : ""}` : "noise";
    badge.style.borderColor = g.colour || "#5b6472";
    const img = $("object-img");
    img.alt = `cutout of ${g.id_str}`;
    if (g.image) { img.hidden = false; img.src = `/api/cutouts/${row}`; $("object-noimage").hidden = true; }
    else { img.hidden = true; img.removeAttribute("src"); $("object-noimage").hidden = false; }
    $("object-stretch").hidden = g.image !== "fits";
    $("object-softening").value = "1";
    this.renderFacts(g);
    this.renderFractions(g);
    $("object-marks").replaceChildren(markForm(this.app.marks, { target_kind: "galaxy", target: g.id_str }));
    $("object-close").focus();
    this.loadNeighbours(row);
  }
  restretch() {
    const s = Number($("object-softening").value);
    $("object-softening-value").textContent = s.toFixed(2);
    $("object-img").src = `/api/cutouts/${this.row}?softening=${s}`;
  }
  renderFacts(g) {
    const rows = [
      [term("cluster"), g.cluster >= 0 ? g.letter : "noise"],
      [term("probability"), fmt(g.probability, 3)],
      [term("outlier score"), fmt(g.outlier_score, 3)],
    ];
    if (g.anomaly_score !== undefined) rows.push([term("anomaly score"), fmt(g.anomaly_score, 3)]);
    if (g.true_class !== undefined) rows.push(["true class", String(g.true_class)]);
    const hasSky = g.ra !== undefined && g.dec !== undefined && g.ra !== null;
    const radec = hasSky ? `${fmt(g.ra, 6)} ${fmt(g.dec, 6)}` : "–";
    rows.push(["ra, dec", el("span", {}, el("span", { id: "object-radec", class: "mono", text: radec }), " ",
      hasSky ? el("button", { id: "copy-radec", title: "Copy ra and dec (degrees) to the clipboard", onclick: () => copy(radec) }, "copy") : null)]);
    $("object-facts").replaceChildren(el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    const links = Object.entries(g.links || {});
    $("object-links").replaceChildren(
      ...(links.length
        ? links.map(([name, url]) => el("a", { class: "button sky", href: url, target: "_blank", rel: "noopener noreferrer" }, name))
        : [el("p", { id: "sky-note", class: "note", text: g.sky_note || (hasSky ? "" : "This run has no sky coordinates.") })]));
  }
  renderFractions(g) {
    const box = $("object-fractions");
    if (!g.questions || !g.questions.length) { box.replaceChildren(el("p", { class: "muted", text: "No vote fractions known for this run." })); return; }
    box.replaceChildren(el("h3", {}, term("vote fraction", "vote fractions")), ...g.questions.map((q) => el("div", { class: "question" },
      el("div", { class: "q-name", text: q.question }),
      el("div", { class: "fractions" }, ...q.answers.flatMap((a) => {
        const bar = el("div", { class: "bar" }, el("i")); bar.firstChild.style.width = `${Math.round(100 * (a.value || 0))}%`;
        return [el("span", { text: a.answer }), bar, el("span", { class: "v", text: fmt(a.value, 2) })];
      })))));
  }
  async loadNeighbours(row) {
    const strip = $("object-neighbours");
    strip.replaceChildren(el("span", { class: "muted", text: "finding nearest neighbours… (the index is built once per run)" }));
    try {
      const r = await getJSON(`/api/neighbours/${row}?k=12`);
      if (this.row !== row) return;
      strip.replaceChildren(...r.neighbours.map((g) => this.app.thumb(g, () => this.open(g.row))));
      $("object-neighbours-title").textContent = `nearest ${r.neighbours.length} in ${r.space} space`;
    } catch (e) {
      strip.replaceChildren(el("span", { class: "muted", text: `no neighbours: ${e.message}` }));
    }
  }
}

async function copy(text) {
  try { await navigator.clipboard.writeText(text); }
  catch (e) {  // no clipboard permission: select the text so that Ctrl+C copies it
    const r = document.createRange(); r.selectNodeContents($("object-radec"));
    const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
  }
  $("copy-radec").textContent = "copied";
  setTimeout(() => { const b = $("copy-radec"); if (b) b.textContent = "copy"; }, 1500);
}

export function wireObjectView(view) {
  $("object-softening").addEventListener("input", () => view.restretch());
  $("object-zoom-in").addEventListener("click", () => view.step(1));
  $("object-zoom-out").addEventListener("click", () => view.step(-1));
  $("object-zoom-fit").addEventListener("click", () => view.setZoom(view.fitZoom));
  $("object-zoom-1").addEventListener("click", () => view.setZoom(1));
  $("object-more").addEventListener("click", () => { const row = view.row; view.close(); view.app.moreLikeThis(row); });
  const frame = $("object-frame");
  frame.setAttribute("tabindex", "0");
  frame.setAttribute("aria-label", "cutout: wheel or + and - to zoom, 0 to fit, drag to pan");
}
