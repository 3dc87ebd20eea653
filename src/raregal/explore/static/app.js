// raregal explore: the page's glue. The map (map.js), labels (labels.js), the condensed tree
// (tree.js), the object view (object.js), marks (marks.js) and help (help.js) are modules of their
// own; this file loads the run, wires the mouse and the keyboard, and fills the side panel.
// Plain JS modules, no build step, no network beyond this server.
"use strict";

import { $, el, fmt, getJSON, postJSON, letterOf, saveBlob, term, clickable } from "./util.js";
import { MapView } from "./map.js";
import { shortDescription } from "./labels.js";
import { TreeView } from "./tree.js";
import { ObjectView, wireObjectView } from "./object.js";
import { MarksStore, markForm, renderMarksPanel } from "./marks.js";
import { renderHelp, toggleHelp, wireTermTips } from "./help.js";

const app = { summary: null, map: null, panel: null, colourName: "cluster" };
window.raregal = { app, ready: 0, hoverReady: 0, glossary: {} };
app.marks = new MarksStore();

// ---------------------------------------------------------------- thumbnails and galleries
app.thumb = function thumb(g, open) {
  const t = el("div", { class: "thumb", title: `${g.id_str}${g.letter ? " · cluster " + g.letter : ""}`, "data-row": g.row });
  clickable(t, open || (() => app.object.open(g.row)), `open ${g.id_str}`);
  if (app.summary.has_images) {
    const img = el("img", { loading: "lazy", alt: g.id_str, src: `/thumbs/${g.row}.jpg` });
    img.onerror = () => img.replaceWith(el("div", { class: "missing", text: g.id_str }));
    t.append(img);
  } else t.append(el("div", { class: "missing", text: g.id_str }));
  if (g.letter) { const b = el("span", { text: g.letter }); b.style.background = colourOf(g.cluster); t.append(b); }
  return t;
};
function colourOf(k) { return k >= 0 ? app.summary.palette.clusters[k] || "#888" : app.summary.palette.noise; }
function clusterRow(k) { return app.summary.clusters.find((c) => c.cluster === k); }

// ---------------------------------------------------------------- side panel
function openPanel(info) {
  app.panel = info;
  $("panel").hidden = false;
  $("panel-title").textContent = info.title;
  $("panel-sub").replaceChildren(...(info.sub || []));
  $("panel-actions").replaceChildren(...(info.actions || []));
  $("panel-marks").replaceChildren(...(info.markTarget ? [markForm(app.marks, info.markTarget)] : []));
  $("gallery").replaceChildren(...(info.galleryTitle ? [el("div", { class: "gallery-title", text: info.galleryTitle })] : []),
    ...(info.gallery || []).map((g) => app.thumb(g)));
  $("panel").scrollTop = 0;
  renderClusters();
}
function closePanel() {
  app.panel = null; $("panel").hidden = true; app.map.highlight = null; app.map.labelFirst = undefined;
  app.tree.mark(null); renderClusters(); app.map.requestDraw();
}
function facts(pairs) {  // [["size", "262"], [term("persistence"), "2.32"], ...] -> "size 262 · persistence 2.32"
  const out = [];
  pairs.forEach(([k, v], i) => { if (i) out.push(" · "); out.push(k, " ", v); });
  return out;
}
async function showCluster(k) {
  const c = await getJSON(`/api/clusters/${k}?limit=120`);
  app.map.highlight = app.map.indicesOf((i) => app.map.L[i] === k); app.map.labelFirst = k; app.map.requestDraw();
  const actions = [];
  if (c.tree && c.tree.parent !== null) actions.push(el("button", { id: "step-up", onclick: () => showNode(c.tree.parent) }, "↑ step up the tree"));
  actions.push(el("button", { onclick: () => app.map.zoomTo(app.map.highlight) }, "zoom to"));
  const sub = facts([["", `${Number(c.size).toLocaleString()} galaxies`], [term("persistence"), fmt(c.persistence)],
    ...(c.mean_probability !== undefined ? [[term("mean p"), fmt(c.mean_probability, 2)]] : []),
    ...(c.interest !== undefined && c.interest !== null ? [[term("interest"), fmt(c.interest, 2)]] : []),
    ...(c.seed_stability !== undefined && c.seed_stability !== null ? [[term("seed stability"), fmt(c.seed_stability, 2)]] : [])]);
  if (c.description) sub.push(el("div", { class: "description", text: c.description }));
  openPanel({
    kind: "cluster", cluster: k, markTarget: { target_kind: "cluster", target: c.letter },
    title: `Cluster ${c.letter}`, sub, actions, gallery: c.gallery,
    galleryTitle: `most probable ${c.gallery.length} of ${Number(c.size).toLocaleString()}`,
  });
  if (c.tree) app.tree.mark(c.tree.node);
}
async function showNode(node, compare = false) {
  const [info, buf] = await Promise.all([getJSON(`/api/nodes/${node}?limit=120`), fetch(`/api/nodes/${node}/mask`).then((r) => r.arrayBuffer())]);
  const mask = new Uint8Array(buf), R = app.map.R;
  app.map.highlight = app.map.indicesOf((i) => mask[R[i]] === 1); app.map.labelFirst = undefined; app.map.requestDraw();
  const actions = [];
  if (info.parent !== null) actions.push(el("button", { id: "step-up", onclick: () => showNode(info.parent) }, "↑ step up the tree"));
  actions.push(el("button", { onclick: () => app.map.zoomTo(app.map.highlight) }, "zoom to"));
  actions.push(el("button", { id: "side-by-side", onclick: () => showLeaves(node) }, "leaves side by side"));
  for (const k of info.clusters) actions.push(el("button", { onclick: () => showCluster(k) }, `cluster ${letterOf(k)}`));
  openPanel({
    kind: "node", node, markTarget: { target_kind: "node", target: String(node) },
    title: info.is_root ? "Root of the tree" : `Tree node ${node}`,
    sub: facts([["", `${info.size.toLocaleString()} galaxies`], ["splits from its parent at", ""], [term("λ"), `= ${fmt(info.lambda_birth)}`],
      ["leaf clusters", info.letters.join(", ") || "none"]]),
    actions, gallery: info.gallery, galleryTitle: `most probable ${info.gallery.length} of ${info.size.toLocaleString()} (each leaf in turn)`,
  });
  app.tree.toggle(true);
  app.tree.mark(node);
  if (compare) showLeaves(node);
}
async function showLeaves(node) {
  const info = await getJSON(`/api/nodes/${node}/leaves?per_leaf=12`);
  $("compare").hidden = false;
  $("compare-title").textContent = info.is_root ? "Root of the tree: its leaves side by side" : `Tree node ${node}: its leaves side by side`;
  $("compare-sub").replaceChildren(...facts([["", `${info.size.toLocaleString()} galaxies`], [term("λ"), `from ${fmt(info.lambda_birth)}`], ["leaves", String(info.leaves.length)]]));
  $("compare-actions").replaceChildren(el("button", { onclick: () => showNode(node) }, "highlight on the map"));
  $("compare-marks").replaceChildren(markForm(app.marks, { target_kind: "node", target: String(node) }));
  $("compare-leaves").replaceChildren(...info.leaves.map((leaf) => {
    const head = el("div", { class: "leaf-head" }, el("strong", { text: leaf.letter, style: `color:${leaf.colour}` }),
      ` ${Number(leaf.size).toLocaleString()} galaxies`, leaf.description ? el("div", { class: "muted", text: shortDescription(leaf.description) }) : null);
    clickable(head, () => showCluster(leaf.cluster), `open cluster ${leaf.letter}`);
    return el("div", { class: "leaf", "data-cluster": leaf.cluster, style: `border-top-color:${leaf.colour}` }, head,
      el("div", { class: "leaf-grid" }, ...leaf.gallery.map((g) => app.thumb(g))));
  }));
  $("compare-close").focus();
  document.body.dataset.compare = String(node);
}
function closeCompare() { $("compare").hidden = true; delete document.body.dataset.compare; }

app.moreLikeThis = async function moreLikeThis(row) {
  openPanel({ kind: "neighbours", title: "More like this", sub: ["searching… (the index is built once per run)"] });
  try {
    const r = await getJSON(`/api/neighbours/${row}?k=48`);
    app.map.highlight = app.map.rowsToIndices([row, ...r.neighbours.map((g) => g.row)]); app.map.requestDraw();
    const seed = await getJSON(`/api/galaxies/${row}`);
    openPanel({ kind: "neighbours", title: `More like ${seed.id_str}`, sub: [`${r.neighbours.length} nearest in ${r.space} space, highlighted on the map`],
      actions: [el("button", { onclick: () => app.object.open(row) }, "open it"), el("button", { onclick: () => app.map.zoomTo(app.map.highlight) }, "zoom to")],
      gallery: r.neighbours, galleryTitle: "nearest first" });
  } catch (e) {
    openPanel({ kind: "neighbours", title: "More like this", sub: [`no neighbours: ${e.message}`] });
  }
};

// ---------------------------------------------------------------- cluster list
function renderClusters() {
  const s = app.summary, hasInterest = s.clusters.some((c) => c.interest !== undefined && c.interest !== null);
  $("clusters-head").replaceChildren(...[el("th", { "aria-label": "colour" }), el("th", {}, term("cluster")), el("th", { class: "num" }, term("size")),
    el("th", { class: "num" }, term("persistence")), el("th", { class: "num" }, term("mean p")),
    hasInterest ? el("th", { class: "num" }, term("interest")) : null, el("th", {}, "marks")].filter(Boolean));
  const marksBy = {};
  for (const m of app.marks.all) if (m.target_kind === "cluster") (marksBy[m.target] ||= []).push(m);
  // ranked runs list the clusters that look rarest first
  const ranked = s.clusters.some((c) => c.interest_rank !== undefined && c.interest_rank !== null);
  const ordered = ranked ? [...s.clusters].sort((a, b) => (a.interest_rank ?? 1e9) - (b.interest_rank ?? 1e9)) : s.clusters;
  const rows = ordered.map((c) => {
    const sw = el("span", { class: "swatch" }); sw.style.background = c.colour;
    const name = el("td", { class: "letter" }, c.letter, c.description ? el("span", { class: "desc", title: c.description, text: ` ${shortDescription(c.description)}` }) : null,
      s.has_images && c.central && c.central.length ? el("div", { class: "central" }, ...c.central.map((r) => el("img", { src: `/thumbs/${r}.jpg`, alt: "", loading: "lazy" }))) : null);
    const tr = el("tr", { "data-cluster": c.cluster, tabindex: "0", "aria-label": `cluster ${c.letter}, ${c.size} galaxies` },
      el("td", {}, sw), name, el("td", { class: "num", text: Number(c.size).toLocaleString() }),
      el("td", { class: "num", text: fmt(c.persistence, 3) }), el("td", { class: "num", text: fmt(c.mean_probability, 2) }),
      hasInterest ? el("td", { class: "num", text: fmt(c.interest, 2) }) : null,
      el("td", {}, ...(marksBy[c.letter] || []).map((m) => el("span", { class: "badge", style: `border-color:${m.colour};color:${m.colour}`, text: m.tag }))));
    tr.addEventListener("click", () => showCluster(c.cluster));
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showCluster(c.cluster); }
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        const next = ev.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
        if (next) next.focus();
      }
    });
    if (app.panel && app.panel.kind === "cluster" && app.panel.cluster === c.cluster) tr.classList.add("active");
    if (c.main_population) { tr.classList.add("main"); tr.hidden = !app.showMain; }
    return tr;
  });
  // the clusters no more distinct than the average fold behind one row (the main population)
  const main = ordered.filter((c) => c.main_population);
  const toggle = main.length ? [el("tr", { class: "main-toggle", tabindex: "0", onclick: () => { app.showMain = !app.showMain; renderClusters(); } },
    el("td", { colspan: "7", text: `${app.showMain ? "▾" : "▸"} main population: ${main.length} clusters of ${main.reduce((a, c) => a + c.size, 0).toLocaleString()} galaxies, no more distinct than the average` }))] : [];
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#clusters tr");
  const keep = focused ? focused.dataset.cluster : null;
  $("clusters").querySelector("tbody").replaceChildren(...rows.filter((r) => !r.classList.contains("main")), ...toggle,
    ...rows.filter((r) => r.classList.contains("main")));
  if (keep !== null) { const again = $("clusters").querySelector(`tr[data-cluster='${keep}']`); if (again) again.focus(); }
  $("cluster-count").textContent = `${s.clusters.length} · noise ${s.n_noise.toLocaleString()}`;
}

// ---------------------------------------------------------------- colour by
async function loadColumns() {
  const columns = await getJSON("/api/columns");
  const groups = {};
  for (const c of columns) (groups[c.group] ||= []).push(c);
  $("colour-by").replaceChildren(...Object.entries(groups).map(([g, cs]) => el("optgroup", { label: g },
    ...cs.map((c) => el("option", { value: c.name, text: c.name.replace(/_fraction$/, "").replace(/_/g, " ") })))));
  $("colour-by").value = "cluster";
}
async function colourBy(name) {
  const map = app.map, n = map.n, R = map.R;
  app.colourName = name;
  delete document.body.dataset.colour;
  if (name === "cluster") {
    map.setCategorical(map.L, app.summary.palette.clusters, true);
    legend({ kind: "categorical", categories: [], colours: [] }, name);
  } else {
    const [meta, buf] = await Promise.all([getJSON(`/api/columns/${encodeURIComponent(name)}/meta`),
      fetch(`/api/columns/${encodeURIComponent(name)}`).then((r) => r.arrayBuffer())]);
    if (app.colourName !== name) return;
    if (meta.kind === "categorical") {
      const raw = new Int32Array(buf), codes = new Int32Array(n);
      for (let i = 0; i < n; i++) codes[i] = raw[R[i]];
      map.setCategorical(codes, meta.colours);
    } else {
      const raw = new Float32Array(buf), values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = raw[R[i]];
      map.setContinuous(values, meta.min, meta.max, app.summary.palette.sequential);
    }
    legend(meta, name);
  }
  document.body.dataset.colour = name;
}
function legend(meta, name) {
  const box = $("colour-legend");
  if (name === "cluster") { box.replaceChildren(el("span", { class: "muted", text: "colour: cluster · grey shading: density of the galaxies in no cluster" })); return; }
  if (meta.kind === "categorical") {
    const items = meta.categories.slice(0, 14).map((c, i) => el("span", { class: "legend-item" }, el("span", { class: "swatch", style: `background:${meta.colours[i]}` }), ` ${c}`));
    if (meta.categories.length > 14) items.push(el("span", { class: "muted", text: ` +${meta.categories.length - 14} more` }));
    box.replaceChildren(el("strong", { text: `${name}: ` }), ...(items.length ? items : [el("span", { class: "muted", text: "none yet" })]),
      el("span", { class: "muted", text: " · grey: none" }));
    return;
  }
  const bar = el("span", { class: "gradient", style: `background:linear-gradient(to right, ${app.summary.palette.sequential.filter((_, i) => i % 32 === 0).join(",")})` });
  box.replaceChildren(el("strong", { text: `${name.replace(/_fraction$/, "").replace(/_/g, " ")}: ` }), fmt(meta.min, 2), " ", bar, " ", fmt(meta.max, 2),
    el("span", { class: "muted", text: ` · mean per pixel${meta.missing ? ` · grey: no value (${meta.missing.toLocaleString()})` : ""}` }));
}

// ---------------------------------------------------------------- marks on the map
function applyMarks() {
  const map = app.map;
  map.marks = app.marks.all.filter((m) => m.target_kind === "galaxy" && m.row !== null && m.row !== undefined && app.marks.visible(m))
    .map((m) => ({ idx: map.rowToIdx[m.row], colour: m.colour, tag: m.tag }));
  map.markedClusters = new Map();
  for (const m of app.marks.all) if (m.target_kind === "cluster" && app.marks.visible(m) && !map.markedClusters.has(m.target)) map.markedClusters.set(m.target, m.colour);
  map.requestOverlay();
  renderMarksPanel(app.marks);
  renderClusters();
  if (app.treeLoaded) app.tree.load();
  if (app.colourName === "mark") colourBy("mark");
  document.body.dataset.marks = String(app.marks.all.length);
}

// ---------------------------------------------------------------- mouse and keys on the map
let drag = null, tipTimer = null;
function canvasPoint(ev) { const r = $("map").getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
function setMode(mode) {
  app.mode = mode;
  for (const m of ["pan", "box", "lasso"]) $(`mode-${m}`).classList.toggle("on", m === mode);
  $("map").classList.toggle("selecting", mode !== "pan");
}
function hideTooltip() { const t = $("tooltip"); t.hidden = true; t.dataset.row = ""; }
function placeTooltip(p) {
  const tip = $("tooltip"), w = tip.offsetWidth, h = tip.offsetHeight, map = app.map;
  const left = p[0] + 18 + w > map.width ? p[0] - 18 - w : p[0] + 18;
  const top = p[1] + 14 + h > map.height ? p[1] - 14 - h : p[1] + 14;
  tip.style.left = `${Math.max(4, left)}px`; tip.style.top = `${Math.max(4, top)}px`;
}
function fractionRows(fr) {
  const out = [];
  for (const [name, v] of Object.entries(fr || {})) {
    if (v === null) continue;
    const bar = el("div", { class: "bar" }, el("i")); bar.firstChild.style.width = `${Math.round(100 * v)}%`;
    out.push(el("span", { text: name.replace(/_/g, " ").replace("smooth-or-featured ", "") }), bar, el("span", { class: "v", text: fmt(v, 2) }));
  }
  return out;
}
function hover(ev) {
  const t0 = performance.now(), map = app.map, p = canvasPoint(ev);
  const i = map.nearest(p[0], p[1]);
  if (i !== map.hoverIdx) { map.hoverIdx = i; map.drawHover(); }
  const t1 = performance.now();
  map.frames.push({ kind: "hover", ms: t1 - t0, latency: t1 - ev.timeStamp });
  if (i < 0) { hideTooltip(); return; }
  const row = map.R[i];
  if ($("tooltip").dataset.row === String(row)) { placeTooltip(p); return; }
  clearTimeout(tipTimer);
  tipTimer = setTimeout(async () => {
    const g = await getJSON(`/api/galaxies/${row}`);
    if (map.hoverIdx !== i) return;
    const tip = $("tooltip");
    tip.dataset.row = String(row); tip.hidden = false;
    const img = $("tooltip-img");
    img.hidden = !app.summary.has_images;
    if (app.summary.has_images) img.src = `/thumbs/${row}.jpg`;
    $("tooltip-id").textContent = g.id_str;
    const c = g.cluster >= 0 ? clusterRow(g.cluster) : null;
    $("tooltip-cluster").textContent = (g.cluster >= 0 ? `cluster ${g.letter}${c && c.description ? " · " + shortDescription(c.description) : ""}` : "noise") +
      (g.probability !== undefined ? ` · p=${fmt(g.probability, 2)}` : "") + (g.anomaly_score !== undefined ? ` · anomaly ${fmt(g.anomaly_score, 2)}` : "");
    $("tooltip-fractions").replaceChildren(...fractionRows(g.fractions));
    placeTooltip(p);
  }, 40);
}
function clearSelection() { const m = app.map; m.polygon = null; m.selection = null; $("selection-bar").hidden = true; m.drawHover(); m.requestDraw(); }
function setSelection(poly) {
  if (!poly || poly.length < 3) return;
  const m = app.map;
  m.polygon = poly; m.selection = m.inside(poly);
  $("selection-count").textContent = `${m.selection.length.toLocaleString()} galaxies selected`;
  $("selection-bar").hidden = false;
  m.requestDraw();
  if (app.summary.tiles) {  // the page holds a sample of the main population: the server counts all
    postJSON("/api/select", { polygon: poly }).then((r) => r.json()).then((r) => {
      if (m.polygon === poly) $("selection-count").textContent = `${r.count.toLocaleString()} galaxies selected`;
    });
  }
}
async function exportSelection(fmtName) {
  const r = await postJSON(`/api/select.${fmtName}`, { polygon: app.map.polygon });
  if (!r.ok) { alert(`export failed: ${r.statusText}`); return; }
  saveBlob(await r.blob(), `selection.${fmtName}`);
}
function wireMap() {
  const canvas = $("map"), map = app.map;
  canvas.addEventListener("mousedown", (ev) => {
    const p = canvasPoint(ev);
    const mode = ev.shiftKey ? "lasso" : app.mode;
    drag = { mode, start: p, last: p, path: [p], moved: false };
    if (mode === "pan") canvas.classList.add("dragging");
    hideTooltip();
  });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) { if (ev.target === canvas) hover(ev); return; }
    const p = canvasPoint(ev);
    if (Math.hypot(p[0] - drag.start[0], p[1] - drag.start[1]) > 3) drag.moved = true;
    if (drag.mode === "pan") {
      map.pending = map.pending || { kind: "pan", since: ev.timeStamp };
      map.panBy(p[0] - drag.last[0], p[1] - drag.last[1], "pan");
    } else if (drag.mode === "box") {
      const [x0, y0] = drag.start;
      drag.path = [[x0, y0], [p[0], y0], [p[0], p[1]], [x0, p[1]]]; map.drawHover(drag.path);
    } else { drag.path.push(p); map.drawHover(drag.path); }
    drag.last = p;
  });
  window.addEventListener("mouseup", (ev) => {
    if (!drag) return;
    const d = drag; drag = null;
    canvas.classList.remove("dragging");
    if (!d.moved && ev.target === canvas) {
      const p = canvasPoint(ev);
      const label = map.labelBoxes.find((b) => p[0] >= b.x0 && p[0] <= b.x1 && p[1] >= b.y0 && p[1] <= b.y1);
      const i = map.nearest(p[0], p[1]);
      if (i >= 0) app.object.open(map.R[i]);
      else if (label) showCluster(label.cluster);
      return;
    }
    if (d.mode !== "pan" && d.moved && d.path.length >= 3) setSelection(d.path.map(([x, y]) => map.toData(x, y)));
    else map.drawHover();
  });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = canvasPoint(ev);
    map.pending = map.pending || { kind: "zoom", since: ev.timeStamp };
    map.zoomAt(p[0], p[1], Math.exp(-ev.deltaY * 0.0015), "zoom");
    hideTooltip();
  }, { passive: false });
  canvas.addEventListener("mouseleave", () => { hideTooltip(); map.hoverIdx = -1; map.drawHover(); });
  canvas.addEventListener("focus", () => { map.cursor = true; map.drawHover(); });
  canvas.addEventListener("blur", () => { map.cursor = false; map.drawHover(); });
  canvas.addEventListener("keydown", (ev) => {
    const step = 60;
    const keys = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (keys[ev.key]) { ev.preventDefault(); map.panBy(...keys[ev.key]); return; }
    if (ev.key === "+" || ev.key === "=") { ev.preventDefault(); map.zoomAt(map.width / 2, map.height / 2, 1.4); }
    else if (ev.key === "-") { ev.preventDefault(); map.zoomAt(map.width / 2, map.height / 2, 1 / 1.4); }
    else if (ev.key === "0") { ev.preventDefault(); map.fit(); }
    else if (ev.key === "Enter") {
      ev.preventDefault();
      const i = map.nearest(map.width / 2, map.height / 2, 30);
      if (i >= 0) app.object.open(map.R[i]);
    }
  });
}

// ---------------------------------------------------------------- start
function wireChrome() {
  $("mode-pan").onclick = () => setMode("pan");
  $("mode-box").onclick = () => setMode("box");
  $("mode-lasso").onclick = () => setMode("lasso");
  $("reset-view").onclick = () => app.map.fit();
  $("export-selection").onclick = () => exportSelection("csv");
  $("export-selection-vot").onclick = () => exportSelection("vot");
  $("clear-selection").onclick = clearSelection;
  $("panel-close").onclick = closePanel;
  $("compare-close").onclick = closeCompare;
  $("toggle-tree").onclick = () => app.tree.toggle();
  $("show-thumbs").onchange = (ev) => { app.map.showThumbs = ev.target.checked; app.map.requestOverlay(); };
  $("colour-by").onchange = (ev) => colourBy(ev.target.value);
  $("open-help").onclick = () => toggleHelp();
  $("help-close").onclick = () => toggleHelp(false);
  $("open-marks").onclick = () => {
    const menu = $("marks-menu"); menu.hidden = !menu.hidden;
    $("open-marks").setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) { const first = menu.querySelector("input, a"); if (first) first.focus(); }
  };
  window.addEventListener("keydown", (ev) => {
    const typing = ev.target.matches && ev.target.matches("input, textarea, select");
    if (ev.key === "Escape") {
      if (!$("help").hidden) toggleHelp(false);
      else if (app.object.isOpen) app.object.close();
      else if (!$("marks-menu").hidden) $("marks-menu").hidden = true;
      else if (!$("compare").hidden) closeCompare();
      else { clearSelection(); closePanel(); }
      return;
    }
    if (typing) return;
    if (ev.key === "?") { ev.preventDefault(); toggleHelp(); }
    else if (ev.key === "t" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) app.tree.toggle();
  });
  window.addEventListener("resize", () => { const m = app.map, v = { ...m.view }; m.resize(); m.view = v; m.requestDraw(); });
}

async function start() {
  const [summary, buffer] = await Promise.all([getJSON("/api/summary"), fetch("/api/points").then((r) => r.arrayBuffer())]);
  app.summary = summary;
  window.raregal.glossary = summary.glossary;
  $("run-info").textContent = `${summary.run} · ${summary.n_total.toLocaleString()} galaxies · ${summary.clusters.length} clusters` +
    (summary.islands.length ? ` · ${summary.islands.length} far islands moved closer` : "") +
    (summary.tiles ? ` · main population as density tiles (${summary.n.toLocaleString()} drawn as points)` : "");
  app.map = new MapView({ canvas: $("map"), overlay: $("overlay"), hover: $("hover"), summary, buffer });
  window.raregal.map = app.map;
  if (summary.n_placed) {  // galaxies placed later (raregal predict --add), flagged on the map
    const pb = await fetch("/api/placed/points").then((r) => r.arrayBuffer()), m = summary.n_placed;
    app.map.placed = { n: m, x: new Float32Array(pb, 0, m), y: new Float32Array(pb, 4 * m, m), label: new Int32Array(pb, 8 * m, m) };
    $("run-info").textContent += ` · ${m.toLocaleString()} placed later (◇)`;
  }
  app.tree = new TreeView($("tree-box"), (node) => showNode(node, true));
  app.object = new ObjectView(app);
  wireObjectView(app.object);
  setMode("pan");
  app.map.resize(); app.map.fit(); app.map.draw();
  renderClusters();
  window.raregal.ready = performance.now();
  window.raregal.hoverReady = window.raregal.ready;
  document.body.dataset.ready = "1";
  document.body.dataset.hover = "1";
  wireMap();
  wireChrome();
  wireTermTips();
  renderHelp(summary.glossary);
  legend({ kind: "categorical" }, "cluster");
  app.marks.onChange(applyMarks);
  $("toggle-tree").disabled = !summary.has_tree;
  const jobs = [app.marks.load(), loadColumns()];
  if (summary.has_tree) jobs.push(app.tree.load().then(() => { app.treeLoaded = true; }));
  await Promise.all(jobs);
  document.body.dataset.loaded = "1";
}
start().catch((e) => { $("run-info").textContent = `could not load the run: ${e.message}`; console.error(e); });
