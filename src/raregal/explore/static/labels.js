// Cluster labels that never overlap each other nor cover a small cluster: the letter and, where
// the run has it, the short description.
//
// Greedy placement in screen space, smallest clusters first: a small cluster's label goes just
// outside the box holding its members (above, below, right, left), then on rings further out; a big
// cluster's label may sit on its centre. Boxes of clusters that are small on screen are obstacles,
// so that no label hides a rare cluster. A label that fits nowhere drops its description, then is
// left out (hover still names the cluster). A displaced label gets a leader line to its cluster.
"use strict";

const RINGS = [[0, 0]];
for (const ring of [16, 30, 46, 64, 90]) {
  for (let a = 0; a < 8; a++) RINGS.push([Math.round(ring * Math.cos(a * Math.PI / 4) * 1.6), Math.round(ring * Math.sin(a * Math.PI / 4))]);
}
const MAX_DESCRIPTION = 28;
const SMALL_ON_SCREEN = 90;  // clusters whose box is smaller than this (px) must stay visible

export function shortDescription(text) {
  if (!text) return "";
  const t = String(text).trim().replace(/\s+/g, " ");
  return t.length > MAX_DESCRIPTION ? t.slice(0, MAX_DESCRIPTION - 1) + "…" : t;
}

function overlaps(a, boxes) {
  for (const b of boxes) if (a.x0 < b.x1 && a.x1 > b.x0 && a.y0 < b.y1 && a.y1 > b.y0) return true;
  return false;
}

function screenBox(map, c) {
  if (!c.box) { const [x, y] = map.toScreen(c.centre[0], c.centre[1]); return { x0: x - 2, y0: y - 2, x1: x + 2, y1: y + 2 }; }
  const [ax, ay] = map.toScreen(c.box[0], c.box[3]), [bx, by] = map.toScreen(c.box[2], c.box[1]);
  return { x0: ax - 3, y0: ay - 3, x1: bx + 3, y1: by + 3 };
}

// Places around a cluster, as label centres: outside its box first when it is small on screen.
function candidates(box, w, h, small) {
  const cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2, out = [];
  if (small) {
    out.push([cx, box.y0 - h / 2 - 2], [cx, box.y1 + h / 2 + 2], [box.x1 + w / 2 + 3, cy], [box.x0 - w / 2 - 3, cy]);
    for (const [dx, dy] of RINGS.slice(1)) out.push([cx + dx + Math.sign(dx) * (box.x1 - box.x0) / 2, cy + dy + Math.sign(dy) * (box.y1 - box.y0) / 2]);
  } else for (const [dx, dy] of RINGS) out.push([cx + dx, cy + dy]);
  return out;
}

// Draw the labels of the clusters in view on the overlay context `o`; returns the placed boxes
// ({x0, y0, x1, y1, cluster, text}) in CSS pixels.
export function placeLabels(o, map) {
  const placed = [], W = map.width, H = map.height;
  const first = map.labelFirst === undefined ? -1 : map.labelFirst;
  const clusters = [...map.summary.clusters].filter((c) => c.centre && c.centre[0] !== null);
  clusters.sort((a, b) => (b.cluster === first) - (a.cluster === first) || a.size - b.size);
  const boxes = new Map(clusters.map((c) => [c.cluster, screenBox(map, c)]));
  const obstacles = [];
  for (const b of boxes.values()) if (b.x1 - b.x0 < SMALL_ON_SCREEN && b.y1 - b.y0 < SMALL_ON_SCREEN) obstacles.push(b);
  o.save();
  o.textBaseline = "middle";
  for (const c of clusters) {
    const box = boxes.get(c.cluster);
    const ax = (box.x0 + box.x1) / 2, ay = (box.y0 + box.y1) / 2;
    if (box.x1 < -40 || box.y1 < -20 || box.x0 > W + 40 || box.y0 > H + 20) continue;
    const small = box.x1 - box.x0 < SMALL_ON_SCREEN && box.y1 - box.y0 < SMALL_ON_SCREEN;
    const desc = shortDescription(c.description);
    const variants = desc ? [`${c.letter} · ${desc}`, c.letter] : [c.letter];
    let done = false;
    for (const text of variants) {
      o.font = text === c.letter ? "bold 13px system-ui, sans-serif" : "bold 12px system-ui, sans-serif";
      const w = o.measureText(text).width + 8, h = 17;
      for (const [lx, ly] of candidates(box, w, h, small)) {
        const x0 = lx - w / 2, y0 = ly - h / 2;
        const label = { x0, y0, x1: x0 + w, y1: y0 + h, cluster: c.cluster, text };
        if (x0 < 2 || y0 < 2 || label.x1 > W - 2 || label.y1 > H - 2) continue;
        if (overlaps(label, placed) || overlaps(label, obstacles)) continue;
        const near = Math.max(label.x0 - box.x1, box.x0 - label.x1, label.y0 - box.y1, box.y0 - label.y1) <= 4;
        if (!near || !small) {
          if (Math.hypot(lx - ax, ly - ay) > 12) {
            o.strokeStyle = "rgba(230,236,245,0.55)"; o.lineWidth = 1;
            o.beginPath(); o.moveTo(ax, ay);
            o.lineTo(Math.min(Math.max(ax, x0), label.x1), Math.min(Math.max(ay, y0), label.y1)); o.stroke();
          }
        }
        o.fillStyle = "rgba(14,17,23,0.78)";
        o.fillRect(x0, y0, w, h);
        const mark = map.markedClusters.get(c.letter);
        o.strokeStyle = mark || c.colour; o.lineWidth = mark ? 2.5 : 1.2;
        o.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, h - 1);
        o.fillStyle = c.colour;
        o.fillText(text, x0 + 4, y0 + h / 2 + 0.5);
        placed.push(label);
        done = true;
        break;
      }
      if (done) break;
    }
  }
  o.restore();
  map.labelObstacles = obstacles;
  return placed;
}
