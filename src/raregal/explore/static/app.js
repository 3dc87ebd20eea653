// raregal explore: the map (canvas ImageData, typed arrays), cluster list, tree walking,
// selections, 'more like this' and marks. Plain JS, no build step, no network beyond this server.
"use strict";

const PALETTE = ["#5fa8ff", "#ffa94d", "#ff6b6b", "#63e6be", "#94d82d", "#ffd43b", "#da77f2",
  "#f783ac", "#4dd4c6", "#b197fc", "#ffc078", "#69db7c", "#3bc9db", "#ff8787", "#e599f7",
  "#a9e34b", "#74c0fc", "#ffe066", "#c0eb75", "#f08c00"];
const NOISE_COLOR = "#4a5260";
const BACKGROUND = "#0e1117";
const HOVER_RADIUS_PX = 8;
const FAST_PAN_ABOVE = 150000;  // larger maps move the last image while dragging, redraw on release

const $ = (id) => document.getElementById(id);
const state = {
  summary: null, n: 0, x: null, y: null, label: null,
  view: { cx: 0, cy: 0, scale: 1 }, width: 0, height: 0, dpr: 1,
  highlight: null,       // Uint8Array mask or null
  selection: null,       // Uint8Array mask or null
  polygon: null,         // selection polygon in map coordinates
  mode: "pan", panel: null, hover: -1,
};

function hexToRGB(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
function pack(r, g, b) { return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0; }
function mix(rgb, bg, t) { return rgb.map((c, i) => Math.round(c * (1 - t) + bg[i] * t)); }
const BG = hexToRGB(BACKGROUND);
function clusterColor(k) { return k < 0 ? NOISE_COLOR : PALETTE[k % PALETTE.length]; }
function letterOf(k) {
  if (k < 0) return "";
  let s = ""; k += 1;
  while (k) { const r = (k - 1) % 26; s = String.fromCharCode(65 + r) + s; k = Math.floor((k - 1) / 26); }
  return s;
}
function fmt(v, d = 3) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); }
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  if (!r.ok) { let m = r.statusText; try { m = (await r.json()).detail; } catch (e) { /* text */ } throw new Error(m); }
  return r.json();
}
function postJSON(url, body) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// ---------------------------------------------------------------- colours per point (packed)
let colorTable = null, dimTable = null, noiseFull = 0, noiseDim = 0;
function buildColors(nClusters) {
  colorTable = new Uint32Array(Math.max(nClusters, 1));
  dimTable = new Uint32Array(Math.max(nClusters, 1));
  for (let k = 0; k < nClusters; k++) {
    const rgb = hexToRGB(clusterColor(k));
    colorTable[k] = pack(...rgb); dimTable[k] = pack(...mix(rgb, BG, 0.72));
  }
  const nz = hexToRGB(NOISE_COLOR);
  noiseFull = pack(...nz); noiseDim = pack(...mix(nz, BG, 0.6));
}

// ---------------------------------------------------------------- spatial grid for hover
const grid = { size: 0, x0: 0, y0: 0, cell: 1, start: null, items: null };
function buildGrid() {
  const [x0, y0, x1, y1] = state.summary.bounds;
  const size = Math.max(16, Math.min(1024, Math.round(Math.sqrt(state.n / 4))));
  const cell = Math.max((x1 - x0), (y1 - y0), 1e-9) / size * 1.0001;
  const counts = new Int32Array(size * size + 1), cellOf = new Int32Array(state.n);
  for (let i = 0; i < state.n; i++) {
    const gx = Math.min(size - 1, Math.floor((state.x[i] - x0) / cell));
    const gy = Math.min(size - 1, Math.floor((state.y[i] - y0) / cell));
    const c = gy * size + gx; cellOf[i] = c; counts[c + 1]++;
  }
  for (let c = 0; c < size * size; c++) counts[c + 1] += counts[c];
  const fill = counts.slice(0, size * size), items = new Int32Array(state.n);
  for (let i = 0; i < state.n; i++) items[fill[cellOf[i]]++] = i;
  Object.assign(grid, { size, x0, y0, cell, start: counts, items });
}
function nearest(mx, my, radius) {
  const { size, x0, y0, cell, start, items } = grid;
  const gx0 = Math.max(0, Math.floor((mx - radius - x0) / cell)), gx1 = Math.min(size - 1, Math.floor((mx + radius - x0) / cell));
  const gy0 = Math.max(0, Math.floor((my - radius - y0) / cell)), gy1 = Math.min(size - 1, Math.floor((my + radius - y0) / cell));
  // nearest within the radius; highlighted galaxies first, then clustered ones, then noise
  const r2 = radius * radius, hl = state.highlight || state.selection;
  let best = -1, bestScore = Infinity;
  for (let gy = gy0; gy <= gy1; gy++) for (let gx = gx0; gx <= gx1; gx++) {
    const c = gy * size + gx;
    for (let j = start[c]; j < start[c + 1]; j++) {
      const i = items[j], dx = state.x[i] - mx, dy = state.y[i] - my, d = dx * dx + dy * dy;
      if (d > r2) continue;
      const score = d + (hl && !hl[i] ? 2 * r2 : 0) + (state.label[i] < 0 ? r2 : 0);
      if (score < bestScore) { best = i; bestScore = score; }
    }
  }
  return best;
}

// ---------------------------------------------------------------- view transforms
function toScreen(x, y) {  // map -> CSS pixels inside the canvas
  const v = state.view;
  return [(x - v.cx) * v.scale + state.width / 2, state.height / 2 - (y - v.cy) * v.scale];
}
function toData(px, py) {
  const v = state.view;
  return [(px - state.width / 2) / v.scale + v.cx, (state.height / 2 - py) / v.scale + v.cy];
}
function fitView() {
  const [x0, y0, x1, y1] = state.summary.bounds;
  const w = Math.max(x1 - x0, 1e-6), h = Math.max(y1 - y0, 1e-6);
  state.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: 0.92 * Math.min(state.width / w, state.height / h) };
}

// ---------------------------------------------------------------- drawing
const canvas = $("map"), overlay = $("overlay");
const ctx = canvas.getContext("2d"), octx = overlay.getContext("2d");
let image = null, pixels = null, drawQueued = false;
function resize() {
  const r = canvas.getBoundingClientRect();
  state.dpr = window.devicePixelRatio || 1;
  state.width = r.width; state.height = r.height;
  for (const c of [canvas, overlay]) { c.width = Math.round(r.width * state.dpr); c.height = Math.round(r.height * state.dpr); }
  image = ctx.createImageData(canvas.width, canvas.height);
  pixels = new Uint32Array(image.data.buffer);
}
function requestDraw() { if (!drawQueued) { drawQueued = true; requestAnimationFrame(() => { drawQueued = false; draw(); }); } }
function draw() {
  if (!state.x || !pixels) return;
  const W = canvas.width, H = canvas.height, n = state.n, v = state.view, d = state.dpr;
  pixels.fill(pack(...BG));
  const sx = v.scale * d, ox = W / 2 - v.cx * sx, oy = H / 2 + v.cy * sx;
  const perPx = n / Math.max(1, (W * H) / 40);
  const base = perPx > 1 ? 1 : perPx > 0.1 ? 2 : perPx > 0.01 ? 3 : 4;
  const r = Math.max(1, Math.round(base * Math.min(d, 2) * Math.min(2, Math.max(1, v.scale / state.fitScale))));
  const hl = state.highlight, sel = state.selection, X = state.x, Y = state.y, L = state.label;
  const dimmed = hl !== null || sel !== null;
  const put = (i, col, rad) => {
    const px = (X[i] * sx + ox) | 0, py = (oy - Y[i] * sx) | 0;
    if (px < 0 || py < 0 || px >= W || py >= H) return;
    if (rad === 1) { pixels[py * W + px] = col; return; }
    const a = rad >> 1, x0 = Math.max(0, px - a), y0 = Math.max(0, py - a);
    const x1 = Math.min(W - 1, px - a + rad - 1), y1 = Math.min(H - 1, py - a + rad - 1);
    const c = (rad - 1) / 2, r2 = (rad / 2) * (rad / 2) + 0.25, round = rad >= 4;
    for (let yy = y0; yy <= y1; yy++) {
      const row = yy * W, dy = yy - (py - a) - c;
      for (let xx = x0; xx <= x1; xx++) {
        const dx = xx - (px - a) - c;
        if (!round || dx * dx + dy * dy <= r2) pixels[row + xx] = col;
      }
    }
  };
  // pass 1: noise, pass 2: clusters, pass 3: highlighted / selected on top
  for (let i = 0; i < n; i++) if (L[i] < 0) put(i, dimmed ? noiseDim : noiseFull, r);
  for (let i = 0; i < n; i++) { const k = L[i]; if (k >= 0) put(i, dimmed ? dimTable[k] : colorTable[k], r); }
  if (hl) for (let i = 0; i < n; i++) if (hl[i]) put(i, L[i] >= 0 ? colorTable[L[i]] : noiseFull, r + 1);
  if (sel) { const c = pack(255, 243, 191); for (let i = 0; i < n; i++) if (sel[i]) put(i, c, r + 1); }
  ctx.putImageData(image, 0, 0);
  drawOverlay();
}
function shiftImage(dx, dy) {  // CSS pixels since the last full draw
  ctx.fillStyle = BACKGROUND; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.putImageData(image, Math.round(dx * state.dpr), Math.round(dy * state.dpr));
  drawOverlay();
}
function drawOverlay(path) {
  octx.setTransform(state.dpr, 0, 0, state.dpr, 0, 0);
  octx.clearRect(0, 0, state.width, state.height);
  const poly = path || (state.polygon && state.polygon.map(([x, y]) => toScreen(x, y)));
  if (poly && poly.length > 1) {
    octx.beginPath(); octx.moveTo(poly[0][0], poly[0][1]);
    for (const [px, py] of poly.slice(1)) octx.lineTo(px, py);
    octx.closePath(); octx.fillStyle = "rgba(255,212,59,0.08)"; octx.fill();
    octx.setLineDash([5, 4]); octx.strokeStyle = "#ffd43b"; octx.lineWidth = 1.5; octx.stroke(); octx.setLineDash([]);
  }
  if (state.placed) {  // galaxies placed later (raregal predict --add): open diamonds
    const P = state.placed;
    octx.lineWidth = 1;
    for (let i = 0; i < P.n; i++) {
      const [px, py] = toScreen(P.x[i], P.y[i]);
      if (px < -4 || py < -4 || px > state.width + 4 || py > state.height + 4) continue;
      octx.strokeStyle = P.label[i] >= 0 ? clusterColor(P.label[i]) : "#9aa0a6";
      octx.beginPath(); octx.moveTo(px, py - 4); octx.lineTo(px + 4, py); octx.lineTo(px, py + 4); octx.lineTo(px - 4, py); octx.closePath(); octx.stroke();
    }
  }
  if (state.hover >= 0) {
    const [px, py] = toScreen(state.x[state.hover], state.y[state.hover]);
    octx.beginPath(); octx.arc(px, py, 6, 0, 2 * Math.PI); octx.strokeStyle = "#fff"; octx.lineWidth = 1.5; octx.stroke();
  }
}

// ---------------------------------------------------------------- selection
function insidePolygon(poly) {  // even-odd rule, as on the server
  const n = state.n, X = state.x, Y = state.y, mask = new Uint8Array(n);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of poly) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  let count = 0;
  for (let i = 0; i < n; i++) {
    const px = X[i], py = Y[i];
    if (px < x0 || px > x1 || py < y0 || py > y1) continue;
    let inside = false;
    for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
      const [xi, yi] = poly[a], [xj, yj] = poly[b];
      if ((yi > py) !== (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) inside = !inside;
    }
    if (inside) { mask[i] = 1; count++; }
  }
  return [mask, count];
}
function setSelection(poly) {
  if (!poly || poly.length < 3) return;
  const [mask, count] = insidePolygon(poly);
  state.polygon = poly; state.selection = mask;
  $("selection-count").textContent = `${count.toLocaleString()} galaxies selected`;
  $("selection-bar").hidden = false;
  requestDraw();
}
function clearSelection() { state.polygon = null; state.selection = null; $("selection-bar").hidden = true; requestDraw(); }
async function exportSelection() {
  const r = await postJSON("/api/select.csv", { polygon: state.polygon });
  if (!r.ok) { alert(`export failed: ${r.statusText}`); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: "selection.csv" });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---------------------------------------------------------------- mouse
let drag = null;
function canvasPoint(ev) { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
function setMode(mode) {
  state.mode = mode;
  for (const m of ["pan", "box", "lasso"]) $(`mode-${m}`).classList.toggle("on", m === mode);
  canvas.classList.toggle("selecting", mode !== "pan");
}
canvas.addEventListener("mousedown", (ev) => {
  const p = canvasPoint(ev);
  const mode = ev.shiftKey ? "lasso" : state.mode;
  drag = { mode, start: p, last: p, path: [p], moved: false, view: { ...state.view }, drawn: [0, 0] };
  if (mode === "pan") canvas.classList.add("dragging");
  hideTooltip();
});
window.addEventListener("mousemove", (ev) => {
  if (!drag) { if (ev.target === canvas) hover(ev); return; }
  const p = canvasPoint(ev);
  if (Math.hypot(p[0] - drag.start[0], p[1] - drag.start[1]) > 3) drag.moved = true;
  if (drag.mode === "pan") {
    const dx = p[0] - drag.start[0], dy = p[1] - drag.start[1];
    state.view.cx = drag.view.cx - dx / state.view.scale;
    state.view.cy = drag.view.cy + dy / state.view.scale;
    if (state.n > FAST_PAN_ABOVE) shiftImage(dx - drag.drawn[0], dy - drag.drawn[1]);
    else requestDraw();
  } else if (drag.mode === "box") {
    const [a, b] = [drag.start, p];
    drag.path = [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]]];
    drawOverlay(drag.path);
  } else {
    drag.path.push(p); drawOverlay(drag.path);
  }
});
window.addEventListener("mouseup", (ev) => {
  if (!drag) return;
  const d = drag; drag = null; canvas.classList.remove("dragging");
  if (!d.moved) { const i = pick(canvasPoint(ev)); if (i >= 0) showGalaxy(i); return; }
  if (d.mode !== "pan" && d.path.length >= 3) setSelection(d.path.map(([px, py]) => toData(px, py)));
  else if (d.mode === "pan") requestDraw();
  else drawOverlay();
});
canvas.addEventListener("wheel", (ev) => {
  ev.preventDefault();
  const p = canvasPoint(ev), before = toData(...p);
  const f = Math.exp(-ev.deltaY * 0.0015);
  state.view.scale = Math.min(state.fitScale * 2000, Math.max(state.fitScale * 0.2, state.view.scale * f));
  const after = toData(...p);
  state.view.cx += before[0] - after[0]; state.view.cy += before[1] - after[1];
  requestDraw();
}, { passive: false });
function pick(p) {
  const [mx, my] = toData(...p);
  return nearest(mx, my, HOVER_RADIUS_PX / state.view.scale);
}

// ---------------------------------------------------------------- hover tooltip
let hoverTimer = null, hoverToken = 0;
function hover(ev) {
  const p = canvasPoint(ev), i = pick(p);
  if (i !== state.hover) { state.hover = i; drawOverlay(); }
  if (i < 0) { hideTooltip(); return; }
  const tip = $("tooltip");
  tip.hidden = false;
  placeTooltip(p);
  if (tip.dataset.row === String(i)) return;
  tip.dataset.row = String(i);
  const img = $("tooltip-img");
  img.hidden = !state.summary.has_images;
  if (state.summary.has_images) img.src = `/thumbs/${i}.jpg`;
  $("tooltip-id").textContent = "…";
  $("tooltip-cluster").textContent = state.label[i] >= 0 ? `cluster ${letterOf(state.label[i])}` : "noise";
  $("tooltip-fractions").replaceChildren();
  const token = ++hoverToken;
  clearTimeout(hoverTimer);
  hoverTimer = setTimeout(async () => {
    const g = await getJSON(`/api/galaxies/${i}`).catch(() => null);
    if (!g || token !== hoverToken) return;
    $("tooltip-id").textContent = g.id_str;
    $("tooltip-cluster").textContent = (g.cluster >= 0 ? `cluster ${g.letter}` : "noise") +
      (g.probability !== undefined ? ` · p=${fmt(g.probability, 2)}` : "");
    $("tooltip-fractions").replaceChildren(...fractionRows(g.fractions));
    placeTooltip(p);
  }, 40);
}
function placeTooltip(p) {
  const tip = $("tooltip"), w = tip.offsetWidth, h = tip.offsetHeight;
  const left = p[0] + 18 + w > state.width ? p[0] - 18 - w : p[0] + 18;
  const top = p[1] + 14 + h > state.height ? p[1] - 14 - h : p[1] + 14;
  tip.style.left = `${Math.max(4, left)}px`;
  tip.style.top = `${Math.max(4, top)}px`;
}
function hideTooltip() { const t = $("tooltip"); t.hidden = true; t.dataset.row = ""; }
function fractionRows(fr) {
  const out = [];
  for (const [name, v] of Object.entries(fr || {})) {
    if (v === null) continue;
    const bar = el("div", { class: "bar" }, el("i")); bar.firstChild.style.width = `${Math.round(100 * v)}%`;
    out.push(el("span", { text: name.replace(/_/g, " ").replace("smooth-or-featured ", "") }), bar, el("span", { class: "v", text: fmt(v, 2) }));
  }
  return out;
}
canvas.addEventListener("mouseleave", () => { hideTooltip(); state.hover = -1; drawOverlay(); });

// ---------------------------------------------------------------- cluster list
function renderClusters() {
  const body = $("clusters").querySelector("tbody");
  const marksBy = {};
  for (const m of state.marks || []) if (m.target_kind === "cluster") (marksBy[m.target] ||= []).push(m.tag);
  body.replaceChildren(...state.summary.clusters.map((c) => {
    const sw = el("span", { class: "swatch" }); sw.style.background = clusterColor(c.cluster);
    const tr = el("tr", { "data-cluster": c.cluster, onclick: () => showCluster(c.cluster) },
      el("td", {}, sw), el("td", { class: "letter", text: c.letter }),
      el("td", { class: "num", text: Number(c.size).toLocaleString() }),
      el("td", { class: "num", text: c.persistence === undefined ? "–" : fmt(c.persistence, 3) }),
      el("td", {}, ...(marksBy[c.letter] || []).map((t) => el("span", { class: `badge ${t}`, text: t }))));
    if (state.panel && state.panel.kind === "cluster" && state.panel.cluster === c.cluster) tr.classList.add("active");
    return tr;
  }));
  $("cluster-count").textContent = `${state.summary.clusters.length} · noise ${state.summary.n_noise.toLocaleString()}`;
}

// ---------------------------------------------------------------- side panel
function thumb(g) {
  const t = el("div", { class: "thumb", title: `${g.id_str}${g.letter ? " · " + g.letter : ""}`, "data-row": g.row, onclick: () => showGalaxy(g.row) });
  if (state.summary.has_images) {
    const img = el("img", { loading: "lazy", alt: g.id_str, src: `/thumbs/${g.row}.jpg` });
    img.onerror = () => img.replaceWith(el("div", { class: "missing", text: g.id_str }));
    t.append(img);
  } else t.append(el("div", { class: "missing", text: g.id_str }));
  if (g.letter) { const b = el("span", { text: g.letter }); b.style.background = clusterColor(g.cluster); t.append(b); }
  return t;
}
function openPanel(info) {
  state.panel = info;
  $("panel").hidden = false;
  $("panel-title").textContent = info.title;
  $("panel-sub").textContent = info.sub || "";
  $("panel-actions").replaceChildren(...(info.actions || []));
  $("detail").replaceChildren(...(info.detail || []));
  $("gallery").replaceChildren(...(info.galleryTitle ? [el("div", { class: "gallery-title", text: info.galleryTitle })] : []),
    ...(info.gallery || []).map(thumb));
  $("marks-box").hidden = !info.markTarget;
  renderMarkList();
  renderClusters();
}
function closePanel() { state.panel = null; $("panel").hidden = true; state.highlight = null; renderClusters(); requestDraw(); }
function clusterMask(k) { const m = new Uint8Array(state.n); for (let i = 0; i < state.n; i++) m[i] = state.label[i] === k ? 1 : 0; return m; }
async function showCluster(k) {
  const c = await getJSON(`/api/clusters/${k}?limit=120`);
  state.highlight = clusterMask(k); requestDraw();
  const actions = [];
  if (c.tree && c.tree.parent !== null) actions.push(el("button", { id: "step-up", onclick: () => showNode(c.tree.parent, k) }, "↑ step up the tree"));
  actions.push(el("button", { onclick: () => zoomTo(state.highlight) }, "zoom to"));
  openPanel({
    kind: "cluster", cluster: k, markTarget: { target_kind: "cluster", target: c.letter },
    title: `Cluster ${c.letter}`,
    sub: `${Number(c.size).toLocaleString()} galaxies · persistence ${fmt(c.persistence)}` +
      (c.mean_probability !== undefined ? ` · mean probability ${fmt(c.mean_probability, 2)}` : "") +
      (state.summary.n_seeds > 1 && c.seed_stability !== undefined && c.seed_stability !== null
        ? ` · found in ${Math.round(c.seed_stability * state.summary.n_seeds)}/${state.summary.n_seeds} seeds` : ""),
    actions, gallery: c.gallery, galleryTitle: `most probable ${c.gallery.length} of ${Number(c.size).toLocaleString()}`,
  });
}
async function showNode(node, fromCluster) {
  const [info, buf] = await Promise.all([getJSON(`/api/nodes/${node}?limit=120`), fetch(`/api/nodes/${node}/mask`).then((r) => r.arrayBuffer())]);
  state.highlight = new Uint8Array(buf); requestDraw();
  const actions = [];
  if (info.parent !== null) actions.push(el("button", { id: "step-up", onclick: () => showNode(info.parent, fromCluster) }, "↑ step up the tree"));
  actions.push(el("button", { onclick: () => zoomTo(state.highlight) }, "zoom to"));
  for (const k of info.clusters) actions.push(el("button", { onclick: () => showCluster(k) }, `cluster ${letterOf(k)}`));
  openPanel({
    kind: "node", node, markTarget: { target_kind: "node", target: String(node) },
    title: info.is_root ? "Root of the tree" : `Tree node ${node}`,
    sub: `${info.size.toLocaleString()} galaxies · splits at λ=${fmt(info.lambda_birth)} · leaf clusters ${info.letters.join(", ") || "none"}`,
    actions, gallery: info.gallery, galleryTitle: `most probable ${info.gallery.length} of ${info.size.toLocaleString()}`,
  });
}
async function showGalaxy(i) {
  const g = await getJSON(`/api/galaxies/${i}`);
  state.highlight = null; state.hover = i; requestDraw();
  const rows = [["id_str", g.id_str], ["cluster", g.cluster >= 0 ? g.letter : "noise"], ["probability", fmt(g.probability, 3)],
    ["outlier score", fmt(g.outlier_score, 3)], ["ra, dec", g.ra !== undefined ? `${fmt(g.ra, 5)}, ${fmt(g.dec, 5)}` : "–"]];
  if (g.true_class !== undefined) rows.push(["true class", g.true_class]);
  const dl = el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  const big = el("div", { class: "big" }, state.summary.has_images ? el("img", { src: `/thumbs/${i}.jpg`, alt: g.id_str }) : null, dl);
  const more = el("button", { id: "more-like-this", onclick: () => moreLikeThis(i) }, "More like this");
  const actions = [more];
  if (g.cluster >= 0) actions.push(el("button", { onclick: () => showCluster(g.cluster) }, `cluster ${g.letter}`));
  openPanel({
    kind: "galaxy", row: i, markTarget: { target_kind: "galaxy", target: g.id_str },
    title: g.id_str, sub: "", actions, detail: [big, el("div", { class: "fractions" }, ...fractionRows(g.fractions))],
  });
}
async function moreLikeThis(i) {
  $("gallery").replaceChildren(el("div", { class: "gallery-title", text: "searching… (the index is built once per run)" }));
  try {
    const r = await getJSON(`/api/neighbours/${i}?k=48`);
    const mask = new Uint8Array(state.n); mask[i] = 1; for (const g of r.neighbours) mask[g.row] = 1;
    state.highlight = mask; requestDraw();
    $("gallery").replaceChildren(el("div", { class: "gallery-title", text: `${r.neighbours.length} nearest in ${r.space} space` }), ...r.neighbours.map(thumb));
  } catch (e) {
    $("gallery").replaceChildren(el("div", { class: "gallery-title", text: `no neighbours: ${e.message}` }));
  }
}
function zoomTo(mask) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < state.n; i++) if (mask[i]) { x0 = Math.min(x0, state.x[i]); x1 = Math.max(x1, state.x[i]); y0 = Math.min(y0, state.y[i]); y1 = Math.max(y1, state.y[i]); }
  if (!isFinite(x0)) return;
  const w = Math.max(x1 - x0, 1e-3), h = Math.max(y1 - y0, 1e-3);
  state.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: 0.7 * Math.min(state.width / w, state.height / h) };
  requestDraw();
}

// ---------------------------------------------------------------- marks
async function loadMarks() { state.marks = await getJSON("/api/marks"); }
function renderMarkList() {
  const t = state.panel && state.panel.markTarget;
  if (!t) { $("mark-list").replaceChildren(); return; }
  const mine = (state.marks || []).filter((m) => m.target_kind === t.target_kind && m.target === t.target);
  $("mark-list").replaceChildren(...mine.map((m) => el("li", { "data-mark": m.mark_id },
    el("span", { class: `badge ${m.tag}`, text: m.tag }), el("span", { class: "muted", text: m.note || "" }),
    el("button", { title: "remove", onclick: () => removeMark(m.mark_id) }, "×"))));
}
async function addMark(tag, note = "") {
  const t = state.panel && state.panel.markTarget;
  if (!t || !tag) return;
  const r = await postJSON("/api/marks", { ...t, tag, note });
  if (!r.ok) { alert(`could not save the mark: ${(await r.json()).detail}`); return; }
  await loadMarks(); renderMarkList(); renderClusters();
}
async function removeMark(id) { await fetch(`/api/marks/${id}`, { method: "DELETE" }); await loadMarks(); renderMarkList(); renderClusters(); }
for (const b of document.querySelectorAll(".mark-buttons button")) b.addEventListener("click", () => addMark(b.dataset.tag));
$("mark-form").addEventListener("submit", (ev) => { ev.preventDefault(); const v = $("mark-text").value.trim(); if (v) { addMark(v); $("mark-text").value = ""; } });

// ---------------------------------------------------------------- start
$("mode-pan").onclick = () => setMode("pan");
$("mode-box").onclick = () => setMode("box");
$("mode-lasso").onclick = () => setMode("lasso");
$("reset-view").onclick = () => { fitView(); requestDraw(); };
$("export-selection").onclick = exportSelection;
$("clear-selection").onclick = clearSelection;
$("panel-close").onclick = closePanel;
window.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { clearSelection(); closePanel(); } });
window.addEventListener("resize", () => { const v = { ...state.view }; resize(); state.view = v; requestDraw(); });

async function start() {
  const [summary, buf] = await Promise.all([getJSON("/api/summary"), fetch("/api/points").then((r) => r.arrayBuffer())]);
  const n = summary.n;
  state.summary = summary; state.n = n;
  state.x = new Float32Array(buf, 0, n); state.y = new Float32Array(buf, 4 * n, n); state.label = new Int32Array(buf, 8 * n, n);
  $("run-info").textContent = `${summary.run} · ${n.toLocaleString()} galaxies · ${summary.clusters.length} clusters` +
    (summary.n_placed ? ` · ${summary.n_placed.toLocaleString()} placed later` : "");
  if (summary.n_placed) {
    const pb = await fetch("/api/placed/points").then((r) => r.arrayBuffer()), m = summary.n_placed;
    state.placed = { n: m, x: new Float32Array(pb, 0, m), y: new Float32Array(pb, 4 * m, m), label: new Int32Array(pb, 8 * m, m) };
  }
  buildColors(summary.clusters.reduce((m, c) => Math.max(m, c.cluster + 1), 0));
  resize(); fitView(); state.fitScale = state.view.scale;
  draw();
  renderClusters();
  window.raregal.ready = performance.now();
  document.body.dataset.ready = "1";
  buildGrid();
  window.raregal.hoverReady = performance.now();
  document.body.dataset.hover = "1";
  loadMarks().then(renderClusters);
}
window.raregal = { state, toScreen, toData, draw, ready: 0, hoverReady: 0 };
start().catch((e) => { $("run-info").textContent = `could not load the run: ${e.message}`; });
