// The map: millions of points drawn on a 2-D canvas by walking typed arrays.
//
// The server sends the points sorted by the cells of a square grid (raregal/explore/points.py), so
// a redraw visits only the cells in view, in memory order, and accumulates into per-pixel buffers:
// the main population (galaxies without a category) as density shading, categories (clusters,
// marks, ...) in their colours on top, or the mean of a continuous column per pixel. Small
// clusters are drawn larger. Labels, moved-island frames, marks and thumbnails go on an overlay
// canvas; the hover ring and the lasso on a third one, so hovering never redraws the points.
// A run too large to send as points (raregal/explore/tiles.py) sends its clustered galaxies and a
// sample of the others; the main population's density then comes from tiles of counts, at the
// level whose cells are about one screen pixel, so a redraw costs about one pass over the screen.
"use strict";

import { hexToRGB, pack, mix } from "./util.js";
import { placeLabels } from "./labels.js";

const BACKGROUND = "#0e1117";
const BG = hexToRGB(BACKGROUND);
const BG_PIX = pack(...BG);
const HOVER_RADIUS_PX = 9;
const THUMB_PX = 52;            // thumbnails drawn on the map when zoomed in, this big
const THUMB_MAX_VISIBLE = 4000; // ... once no more than this many galaxies are in view
const THUMB_MIN_ZOOM = 3;       // ... and the view is zoomed in at least this much from the whole map
const SMALL_CLUSTER = [[60, 2], [400, 1]];  // clusters up to this size get this many extra pixels

export class MapView {
  constructor({ canvas, overlay, hover, summary, buffer }) {
    this.canvas = canvas; this.overlay = overlay; this.hoverCanvas = hover;
    this.ctx = canvas.getContext("2d"); this.octx = overlay.getContext("2d"); this.hctx = hover.getContext("2d");
    this.summary = summary;
    const n = summary.n, G = summary.grid.size;
    this.n = n; this.G = G;
    this.X = new Float32Array(buffer, 0, n);
    this.Y = new Float32Array(buffer, 4 * n, n);
    this.L = new Int32Array(buffer, 8 * n, n);
    this.R = new Int32Array(buffer, 12 * n, n);
    this.cellStart = new Int32Array(buffer, 16 * n, G * G + 1);
    this.rowToIdx = new Int32Array(n);
    for (let i = 0; i < n; i++) this.rowToIdx[this.R[i]] = i;
    this.view = { cx: 0, cy: 0, scale: 1 };
    this.width = 0; this.height = 0; this.dpr = 1; this.fitScale = 1;
    this.highlight = null;   // Int32Array of point indices drawn bright over a dimmed map
    this.selection = null;   // Int32Array of point indices inside the selection polygon
    this.polygon = null;     // selection polygon in display coordinates
    this.hoverIdx = -1; this.cursor = false;  // keyboard cursor: crosshair at the centre
    this.marks = [];         // [{idx, colour, tag}] galaxy marks to draw
    this.placed = null;      // {n, x, y, label}: galaxies placed later (raregal predict --add)
    this.markedClusters = new Map();  // letter -> colour of its (first) mark
    this.showThumbs = summary.has_images;
    this.thumbCache = new Map();
    this.frames = [];        // [{kind, ms, latency}] one per redraw, for the benchmark
    this.pending = null;     // {kind, since} of the input waiting for the next frame
    this.visible = 0;
    this.labelBoxes = [];
    this.clusterByNumber = new Map(summary.clusters.map((c) => [c.cluster, c]));
    this.setCategorical(this.L, summary.palette.clusters, true);
    this.drawQueued = false; this.overlayQueued = false;
    this.tiles = summary.tiles || null;
    this.tileCache = new Map(); this.tilePending = new Set();
  }

  // -------------------------------------------------------------- colouring
  setCategorical(codes, colours, isCluster = false) {
    this.colourMode = "categorical";
    this.codes = codes;
    const k = Math.max(colours.length, 1);
    this.catFull = new Uint32Array(k); this.catDim = new Uint32Array(k);
    colours.forEach((c, i) => { const rgb = hexToRGB(c); this.catFull[i] = pack(...rgb); this.catDim[i] = pack(...mix(rgb, BG, 0.7)); });
    this.bonus = new Uint8Array(k);
    this.bigList = null;
    if (isCluster) {  // small clusters drawn larger
      for (const c of this.summary.clusters) {
        for (const [limit, extra] of SMALL_CLUSTER) if (c.size <= limit) { this.bonus[c.cluster] = extra; break; }
      }
      const big = [];
      for (let i = 0; i < this.n; i++) { const c = codes[i]; if (c >= 0 && this.bonus[c]) big.push(i); }
      this.bigList = Int32Array.from(big);
    }
    this.isClusterColouring = isCluster;
    this.requestDraw();
  }
  setContinuous(values, lo, hi, lut) {
    this.colourMode = "continuous";
    this.values = values; this.lo = lo; this.hi = hi > lo ? hi : lo + 1e-9;
    this.lut = Uint32Array.from(lut.map((c) => pack(...hexToRGB(c))));
    this.lutDim = Uint32Array.from(lut.map((c) => pack(...mix(hexToRGB(c), BG, 0.7))));
    this.isClusterColouring = false; this.bigList = null;
    this.requestDraw();
  }

  // -------------------------------------------------------------- geometry
  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.width = r.width; this.height = r.height;
    for (const c of [this.canvas, this.overlay, this.hoverCanvas]) {
      c.width = Math.max(1, Math.round(r.width * this.dpr)); c.height = Math.max(1, Math.round(r.height * this.dpr));
    }
    const W = this.canvas.width, H = this.canvas.height;
    this.image = this.ctx.createImageData(W, H);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.top = new Uint32Array(W * H);
    this.dens = new Uint16Array(W * H);
    this.sum = new Float32Array(W * H);
    this.cnt = new Uint16Array(W * H);
    const densLUT = new Uint32Array(65536);
    const grey = hexToRGB(this.summary.palette.noise);
    for (let d = 1; d < 65536; d++) {
      const t = Math.min(1, 0.42 + 0.15 * Math.log2(d));
      densLUT[d] = pack(...mix([Math.min(255, grey[0] * 1.9), Math.min(255, grey[1] * 1.9), Math.min(255, grey[2] * 1.9)], BG, 1 - t));
    }
    densLUT[0] = BG_PIX;
    this.densLUT = densLUT;
  }
  toScreen(x, y) {
    const v = this.view;
    return [(x - v.cx) * v.scale + this.width / 2, this.height / 2 - (y - v.cy) * v.scale];
  }
  toData(px, py) {
    const v = this.view;
    return [(px - this.width / 2) / v.scale + v.cx, (this.height / 2 - py) / v.scale + v.cy];
  }
  fit() {
    const [x0, y0, x1, y1] = this.summary.bounds;
    const w = Math.max(x1 - x0, 1e-6), h = Math.max(y1 - y0, 1e-6);
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: 0.92 * Math.min(this.width / w, this.height / h) };
    this.fitScale = this.view.scale;
    this.requestDraw("fit");
  }
  zoomTo(indices) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of indices) { x0 = Math.min(x0, this.X[i]); x1 = Math.max(x1, this.X[i]); y0 = Math.min(y0, this.Y[i]); y1 = Math.max(y1, this.Y[i]); }
    if (!isFinite(x0)) return;
    const w = Math.max(x1 - x0, 1e-3), h = Math.max(y1 - y0, 1e-3);
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: 0.7 * Math.min(this.width / w, this.height / h) };
    this.requestDraw("zoom");
  }
  panBy(dxPx, dyPx, kind = "pan") { this.view.cx -= dxPx / this.view.scale; this.view.cy += dyPx / this.view.scale; this.requestDraw(kind); }
  zoomAt(px, py, factor, kind = "zoom") {
    const [mx, my] = this.toData(px, py);
    const scale = Math.min(Math.max(this.view.scale * factor, this.fitScale * 0.2), this.fitScale * 5000);
    this.view = { scale, cx: mx - (px - this.width / 2) / scale, cy: my + (py - this.height / 2) / scale };
    this.requestDraw(kind);
  }
  // ranges [a, b) of point indices in the grid cells that overlap a data-space box
  *ranges(x0, y0, x1, y1) {
    const { x0: gx, y0: gy, cell } = this.summary.grid, G = this.G, S = this.cellStart;
    const cx0 = Math.max(0, Math.floor((x0 - gx) / cell) - 1), cx1 = Math.min(G - 1, Math.floor((x1 - gx) / cell) + 1);
    const cy0 = Math.max(0, Math.floor((y0 - gy) / cell) - 1), cy1 = Math.min(G - 1, Math.floor((y1 - gy) / cell) + 1);
    if (cx0 > cx1 || cy0 > cy1) return;
    if (cx0 === 0 && cx1 === G - 1) { yield [S[cy0 * G], S[cy1 * G + G]]; return; }
    for (let r = cy0; r <= cy1; r++) yield [S[r * G + cx0], S[r * G + cx1 + 1]];
  }
  viewBox(marginPx = 0) {
    const [x0, y1] = this.toData(-marginPx, -marginPx), [x1, y0] = this.toData(this.width + marginPx, this.height + marginPx);
    return [x0, y0, x1, y1];
  }

  // -------------------------------------------------------------- drawing
  requestDraw(kind = "other") {
    if (!this.pending) this.pending = { kind, since: performance.now() };
    if (!this.drawQueued) { this.drawQueued = true; requestAnimationFrame(() => { this.drawQueued = false; this.draw(); }); }
  }
  requestOverlay() {
    if (!this.overlayQueued) { this.overlayQueued = true; requestAnimationFrame(() => { this.overlayQueued = false; this.drawOverlay(); }); }
  }
  draw() {
    if (!this.pixels) return;
    const t0 = performance.now();
    const W = this.canvas.width, H = this.canvas.height, v = this.view, d = this.dpr;
    const sx = v.scale * d, ox = W / 2 - v.cx * sx, oy = H / 2 + v.cy * sx;
    const X = this.X, Y = this.Y, top = this.top, dens = this.dens;
    const dimmed = this.highlight !== null || this.selection !== null;
    top.fill(0); dens.fill(0);
    if (this.tiles) this.densityFromTiles(sx, ox, oy);
    const tiled = this.tiles !== null, L = this.L;
    const [bx0, by0, bx1, by1] = this.viewBox(8);
    let visible = 0;
    for (const [a, b] of this.ranges(bx0, by0, bx1, by1)) visible += b - a;
    // point radius in device pixels: 1 while points are dense, growing as the view empties
    const perPx = visible / Math.max(1, W * H);
    const base = perPx > 0.05 ? 1 : perPx > 0.005 ? 2 : perPx > 0.0008 ? 3 : 4;
    const r = Math.max(1, Math.round(base * Math.min(d, 2)));
    let inView = 0;
    if (this.colourMode === "categorical") {
      const C = this.codes, full = dimmed ? this.catDim : this.catFull;
      for (const [a, b] of this.ranges(bx0, by0, bx1, by1)) {
        for (let i = a; i < b; i++) {
          const px = (X[i] * sx + ox) | 0, py = (oy - Y[i] * sx) | 0;
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
          inView++;
          const c = C[i];
          if (tiled && L[i] < 0) continue;  // the main population is in the density tiles
          if (c < 0) {
            if (r === 1) { const p = py * W + px; if (dens[p] < 65535) dens[p]++; }
            else this.discDensity(px, py, r);
          } else if (r === 1) top[py * W + px] = full[c];
          else this.disc(px, py, r, full[c]);
        }
      }
      if (this.bigList && !dimmed) {
        const bonus = this.bonus;
        for (const i of this.bigList) {
          const px = (X[i] * sx + ox) | 0, py = (oy - Y[i] * sx) | 0;
          if (px < -4 || py < -4 || px >= W + 4 || py >= H + 4) continue;
          this.disc(px, py, r + bonus[C[i]] * Math.min(d, 2), full[C[i]]);
        }
      }
      this.compose(W * H);
    } else {
      const V = this.values, sum = this.sum, cnt = this.cnt, lo = this.lo, span = this.hi - this.lo;
      sum.fill(0); cnt.fill(0);
      for (const [a, b] of this.ranges(bx0, by0, bx1, by1)) {
        for (let i = a; i < b; i++) {
          const px = (X[i] * sx + ox) | 0, py = (oy - Y[i] * sx) | 0;
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
          inView++;
          const val = V[i], p = py * W + px;
          if (tiled && L[i] < 0 && val !== val) continue;
          if (val === val) {
            if (r === 1) { sum[p] += val; if (cnt[p] < 65535) cnt[p]++; }
            else this.discValue(px, py, r, val);
          } else if (dens[p] < 65535) dens[p]++;
        }
      }
      const lut = dimmed ? this.lutDim : this.lut, px = this.pixels, densLUT = this.densLUT;
      for (let p = 0, N = W * H; p < N; p++) {
        const c = cnt[p];
        if (c) {
          let t = ((sum[p] / c - lo) / span * 255) | 0;
          t = t < 0 ? 0 : t > 255 ? 255 : t;
          px[p] = lut[t];
        } else px[p] = densLUT[dens[p]];
      }
    }
    this.visible = inView;
    this.drawHighlights(sx, ox, oy, r);
    this.ctx.putImageData(this.image, 0, 0);
    this.drawOverlay();
    const t1 = performance.now();
    const pending = this.pending || { kind: "other", since: t0 };
    this.pending = null;
    this.frames.push({ kind: pending.kind, ms: t1 - t0, latency: t1 - pending.since });
    if (this.frames.length > 2000) this.frames.splice(0, 1000);
  }
  // -------------------------------------------------------------- density tiles
  tileLevel(sx) {
    const t = this.tiles, z = Math.round(Math.log2(t.span * sx / t.tile));
    return Math.max(0, Math.min(t.max_level, z));
  }
  requestTile(z, tx, ty) {
    const key = `${z}/${tx}/${ty}`;
    if (this.tilePending.has(key) || this.tileCache.has(key)) return;
    this.tilePending.add(key);
    fetch(`/api/tiles/${key}`).then((r) => r.arrayBuffer()).then((buf) => {
      this.tilePending.delete(key);
      this.tileCache.set(key, new Uint16Array(buf));
      if (this.tileCache.size > 600) this.tileCache.delete(this.tileCache.keys().next().value);
      this.requestDraw("tiles");
    }).catch(() => this.tilePending.delete(key));
  }
  densityFromTiles(sx, ox, oy) {
    const t = this.tiles, z = this.tileLevel(sx), count = 2 ** z, side = t.span / count;
    const [bx0, by0, bx1, by1] = this.viewBox(0);
    const tx0 = Math.max(0, Math.floor((bx0 - t.x0) / side)), tx1 = Math.min(count - 1, Math.floor((bx1 - t.x0) / side));
    const ty0 = Math.max(0, Math.floor((by0 - t.y0) / side)), ty1 = Math.min(count - 1, Math.floor((by1 - t.y0) / side));
    for (let ty = ty0; ty <= ty1; ty++) for (let tx = tx0; tx <= tx1; tx++) {
      this.requestTile(z, tx, ty);
      // until it comes, the nearest coarser tile that is here stands in
      for (let k = 0; k <= z; k++) {
        const zz = z - k, data = this.tileCache.get(`${zz}/${tx >> k}/${ty >> k}`);
        if (!data) continue;
        const clip = [t.x0 + tx * side, t.y0 + ty * side, t.x0 + (tx + 1) * side, t.y0 + (ty + 1) * side];
        this.paintTile(data, zz, tx >> k, ty >> k, clip, sx, ox, oy);
        break;
      }
    }
  }
  paintTile(data, z, tx, ty, clip, sx, ox, oy) {
    const t = this.tiles, N = t.tile, side = t.span / 2 ** z, cell = side / N;
    const X0 = t.x0 + tx * side, Y0 = t.y0 + ty * side, W = this.canvas.width, H = this.canvas.height, dens = this.dens;
    const px0 = Math.max(0, Math.floor(clip[0] * sx + ox)), px1 = Math.min(W, Math.ceil(clip[2] * sx + ox));
    const py0 = Math.max(0, Math.floor(oy - clip[3] * sx)), py1 = Math.min(H, Math.ceil(oy - clip[1] * sx));
    if (px0 >= px1 || py0 >= py1) return;
    const cols = new Int32Array(px1 - px0);
    for (let px = px0; px < px1; px++) cols[px - px0] = Math.min(N - 1, Math.max(0, Math.floor(((px + 0.5 - ox) / sx - X0) / cell)));
    for (let py = py0; py < py1; py++) {
      const cy = Math.min(N - 1, Math.max(0, Math.floor(((oy - py - 0.5) / sx - Y0) / cell)));
      const base = cy * N, row = py * W;
      for (let px = px0; px < px1; px++) { const v = data[base + cols[px - px0]]; if (v) dens[row + px] = v; }
    }
  }

  compose(N) {
    const px = this.pixels, top = this.top, dens = this.dens, densLUT = this.densLUT;
    for (let p = 0; p < N; p++) { const t = top[p]; px[p] = t ? t : densLUT[dens[p]]; }
  }
  disc(px, py, rad, col) {
    const W = this.canvas.width, H = this.canvas.height, top = this.top;
    const a = rad >> 1, x0 = Math.max(0, px - a), y0 = Math.max(0, py - a);
    const x1 = Math.min(W - 1, px - a + rad - 1), y1 = Math.min(H - 1, py - a + rad - 1);
    const c = (rad - 1) / 2, r2 = (rad / 2) * (rad / 2) + 0.25, round = rad >= 4;
    for (let yy = y0; yy <= y1; yy++) {
      const row = yy * W, dy = yy - (py - a) - c;
      for (let xx = x0; xx <= x1; xx++) {
        const dx = xx - (px - a) - c;
        if (!round || dx * dx + dy * dy <= r2) top[row + xx] = col;
      }
    }
  }
  discDensity(px, py, rad) {
    const W = this.canvas.width, H = this.canvas.height, dens = this.dens, a = rad >> 1;
    for (let yy = Math.max(0, py - a); yy <= Math.min(H - 1, py - a + rad - 1); yy++)
      for (let xx = Math.max(0, px - a); xx <= Math.min(W - 1, px - a + rad - 1); xx++) {
        const p = yy * W + xx; if (dens[p] < 65535) dens[p]++;
      }
  }
  discValue(px, py, rad, val) {
    const W = this.canvas.width, H = this.canvas.height, sum = this.sum, cnt = this.cnt;
    const a = rad >> 1;
    for (let yy = Math.max(0, py - a); yy <= Math.min(H - 1, py - a + rad - 1); yy++)
      for (let xx = Math.max(0, px - a); xx <= Math.min(W - 1, px - a + rad - 1); xx++) {
        const p = yy * W + xx; sum[p] += val; if (cnt[p] < 65535) cnt[p]++;
      }
  }
  drawHighlights(sx, ox, oy, r) {
    const W = this.canvas.width, H = this.canvas.height, px = this.pixels, X = this.X, Y = this.Y;
    const paint = (list, colourOf, rad) => {
      for (const i of list) {
        const x = (X[i] * sx + ox) | 0, y = (oy - Y[i] * sx) | 0;
        if (x < -4 || y < -4 || x >= W + 4 || y >= H + 4) continue;
        const col = colourOf(i), a = rad >> 1;
        for (let yy = Math.max(0, y - a); yy <= Math.min(H - 1, y - a + rad - 1); yy++)
          for (let xx = Math.max(0, x - a); xx <= Math.min(W - 1, x - a + rad - 1); xx++) px[yy * W + xx] = col;
      }
    };
    if (this.highlight) {
      const light = pack(230, 236, 245);
      const colourOf = this.colourMode === "categorical"
        ? (i) => (this.codes[i] >= 0 ? this.catFull[this.codes[i]] : light)
        : (i) => { const v = this.values[i]; if (v !== v) return light; let t = ((v - this.lo) / (this.hi - this.lo) * 255) | 0; return this.lut[t < 0 ? 0 : t > 255 ? 255 : t]; };
      paint(this.highlight, colourOf, r + 1);
    }
    if (this.selection) { const c = pack(255, 243, 191); paint(this.selection, () => c, r + 1); }
  }

  // -------------------------------------------------------------- overlay
  drawOverlay() {
    const o = this.octx;
    o.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    o.clearRect(0, 0, this.width, this.height);
    this.drawIslands(o);
    this.thumbsDrawn = 0;
    if (this.showThumbs && this.visible > 0 && this.visible <= THUMB_MAX_VISIBLE &&
        this.view.scale >= THUMB_MIN_ZOOM * this.fitScale) this.drawThumbs(o);
    this.drawMarks(o);
    this.drawPlaced(o);
    this.labelBoxes = placeLabels(o, this);
    this.drawHover();
  }
  drawPlaced(o) {  // open diamonds in the colour of the cluster each was placed in (grey: noise)
    const P = this.placed;
    if (!P) return;
    o.save(); o.lineWidth = 1;
    for (let i = 0; i < P.n; i++) {
      const [px, py] = this.toScreen(P.x[i], P.y[i]);
      if (px < -5 || py < -5 || px > this.width + 5 || py > this.height + 5) continue;
      o.strokeStyle = P.label[i] >= 0 ? this.summary.palette.clusters[P.label[i]] || "#888" : "#9aa0a6";
      o.beginPath(); o.moveTo(px, py - 4); o.lineTo(px + 4, py); o.lineTo(px, py + 4); o.lineTo(px - 4, py); o.closePath(); o.stroke();
    }
    o.restore();
  }
  drawIslands(o) {
    for (const isl of this.summary.islands || []) {
      const [ax, ay] = this.toScreen(isl.x0, isl.y1), [bx, by] = this.toScreen(isl.x1, isl.y0);
      const pad = 6, w = bx - ax + 2 * pad, h = by - ay + 2 * pad;
      if (w < 4 || ax > this.width || ay > this.height || bx < 0 || by < 0) continue;
      o.save();
      o.setLineDash([4, 3]); o.strokeStyle = "rgba(200,210,225,0.75)"; o.lineWidth = 1;
      o.strokeRect(ax - pad, ay - pad, w, h);
      o.setLineDash([]);
      o.font = "11px system-ui, sans-serif"; o.fillStyle = "rgba(200,210,225,0.9)";
      o.fillText("≈ moved closer", ax - pad + 2, ay - pad + h + 12);
      o.restore();
    }
  }
  drawThumbs(o) {
    const [x0, y0, x1, y1] = this.viewBox(0), cellPx = THUMB_PX + 6, taken = new Map();
    const cols = Math.ceil(this.width / cellPx);
    for (const [a, b] of this.ranges(x0, y0, x1, y1)) {
      for (let i = a; i < b; i++) {
        const [px, py] = this.toScreen(this.X[i], this.Y[i]);
        if (px < 0 || py < 0 || px > this.width || py > this.height) continue;
        const key = Math.floor(py / cellPx) * cols + Math.floor(px / cellPx);
        const prev = taken.get(key);
        if (prev === undefined || (this.L[prev] < 0 && this.L[i] >= 0)) taken.set(key, i);
      }
    }
    o.save();
    for (const i of taken.values()) {
      const row = this.R[i];
      let img = this.thumbCache.get(row);
      if (!img) {
        img = new Image(); img.decoding = "async"; img.src = `/thumbs/${row}.jpg`;
        img.onload = () => this.requestOverlay();
        this.thumbCache.set(row, img);
        if (this.thumbCache.size > 1500) this.thumbCache.delete(this.thumbCache.keys().next().value);
      }
      if (!img.complete || !img.naturalWidth) continue;
      const [px, py] = this.toScreen(this.X[i], this.Y[i]), s = THUMB_PX;
      o.drawImage(img, px - s / 2, py - s / 2, s, s);
      this.thumbsDrawn++;
      const k = this.L[i];
      o.strokeStyle = k >= 0 ? this.summary.palette.clusters[k] : "#5b6472"; o.lineWidth = 2;
      o.strokeRect(px - s / 2, py - s / 2, s, s);
    }
    o.restore();
  }
  drawMarks(o) {
    o.save(); o.lineWidth = 2;
    for (const m of this.marks) {
      const [px, py] = this.toScreen(this.X[m.idx], this.Y[m.idx]);
      if (px < -10 || py < -10 || px > this.width + 10 || py > this.height + 10) continue;
      o.strokeStyle = m.colour;
      o.beginPath();  // a diamond, unlike the round hover ring
      o.moveTo(px, py - 8); o.lineTo(px + 8, py); o.lineTo(px, py + 8); o.lineTo(px - 8, py); o.closePath(); o.stroke();
    }
    o.restore();
  }
  drawHover(path) {
    const h = this.hctx;
    h.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    h.clearRect(0, 0, this.width, this.height);
    const poly = path || (this.polygon && this.polygon.map(([x, y]) => this.toScreen(x, y)));
    if (poly && poly.length > 1) {
      h.beginPath(); h.moveTo(poly[0][0], poly[0][1]);
      for (const [px, py] of poly.slice(1)) h.lineTo(px, py);
      h.closePath(); h.fillStyle = "rgba(255,212,59,0.08)"; h.fill();
      h.setLineDash([5, 4]); h.strokeStyle = "#ffd43b"; h.lineWidth = 1.5; h.stroke(); h.setLineDash([]);
    }
    if (this.cursor) {
      const cx = this.width / 2, cy = this.height / 2;
      h.strokeStyle = "rgba(255,255,255,0.8)"; h.lineWidth = 1;
      h.beginPath(); h.moveTo(cx - 12, cy); h.lineTo(cx - 4, cy); h.moveTo(cx + 4, cy); h.lineTo(cx + 12, cy);
      h.moveTo(cx, cy - 12); h.lineTo(cx, cy - 4); h.moveTo(cx, cy + 4); h.lineTo(cx, cy + 12); h.stroke();
    }
    if (this.hoverIdx >= 0) {
      const [px, py] = this.toScreen(this.X[this.hoverIdx], this.Y[this.hoverIdx]);
      h.beginPath(); h.arc(px, py, 6, 0, 2 * Math.PI); h.strokeStyle = "#fff"; h.lineWidth = 1.5; h.stroke();
    }
  }

  // -------------------------------------------------------------- queries
  nearest(px, py, radiusPx = HOVER_RADIUS_PX) {
    const [mx, my] = this.toData(px, py), radius = radiusPx / this.view.scale, r2 = radius * radius;
    const hl = this.highlight ? new Set(this.highlight) : null;
    let best = -1, bestScore = Infinity;
    for (const [a, b] of this.ranges(mx - radius, my - radius, mx + radius, my + radius)) {
      for (let i = a; i < b; i++) {
        const dx = this.X[i] - mx, dy = this.Y[i] - my, d = dx * dx + dy * dy;
        if (d > r2) continue;
        const score = d + (hl && !hl.has(i) ? 2 * r2 : 0) + (this.L[i] < 0 ? r2 : 0);
        if (score < bestScore) { best = i; bestScore = score; }
      }
    }
    return best;
  }
  inside(poly) {  // point indices inside a polygon of display coordinates (even-odd rule)
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of poly) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    const out = [];
    for (const [a, b] of this.ranges(x0, y0, x1, y1)) {
      for (let i = a; i < b; i++) {
        const px = this.X[i], py = this.Y[i];
        if (px < x0 || px > x1 || py < y0 || py > y1) continue;
        let inside = false;
        for (let s = 0, t = poly.length - 1; s < poly.length; t = s++) {
          const [xi, yi] = poly[s], [xj, yj] = poly[t];
          if ((yi > py) !== (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) inside = !inside;
        }
        if (inside) out.push(i);
      }
    }
    return Int32Array.from(out);
  }
  indicesOf(predicate) {
    const out = [];
    for (let i = 0; i < this.n; i++) if (predicate(i)) out.push(i);
    return Int32Array.from(out);
  }
  rowsToIndices(rows) { return Int32Array.from(rows, (r) => this.rowToIdx[r]); }
}
