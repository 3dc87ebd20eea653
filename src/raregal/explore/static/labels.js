// Cluster labels that never overlap: the letter and, where the run has it, the short description.
//
// Greedy placement in screen space: each label tries its cluster's centre, then positions on rings
// around it; a label that fits nowhere drops its description, then is left out (hover still names
// the cluster). A displaced label gets a leader line back to its cluster's centre.
"use strict";

const OFFSETS = [[0, 0]];
for (const ring of [16, 30, 46, 64]) {
  for (let a = 0; a < 8; a++) OFFSETS.push([Math.round(ring * Math.cos(a * Math.PI / 4) * 1.6), Math.round(ring * Math.sin(a * Math.PI / 4))]);
}
const MAX_DESCRIPTION = 28;

export function shortDescription(text) {
  if (!text) return "";
  const t = String(text).trim().replace(/\s+/g, " ");
  return t.length > MAX_DESCRIPTION ? t.slice(0, MAX_DESCRIPTION - 1) + "…" : t;
}

function overlaps(a, boxes) {
  for (const b of boxes) if (a.x0 < b.x1 && a.x1 > b.x0 && a.y0 < b.y1 && a.y1 > b.y0) return true;
  return false;
}

// Draw the labels of the clusters in view on the overlay context `o`; returns the placed boxes
// ({x0, y0, x1, y1, cluster}) in CSS pixels.
export function placeLabels(o, map) {
  const placed = [], W = map.width, H = map.height;
  const highlightFirst = map.labelFirst === undefined ? -1 : map.labelFirst;
  const clusters = [...map.summary.clusters].filter((c) => c.centre && c.centre[0] !== null);
  clusters.sort((a, b) => (b.cluster === highlightFirst) - (a.cluster === highlightFirst) || a.size - b.size);
  o.save();
  o.textBaseline = "middle";
  for (const c of clusters) {
    const [ax, ay] = map.toScreen(c.centre[0], c.centre[1]);
    if (ax < -40 || ay < -20 || ax > W + 40 || ay > H + 20) continue;
    const desc = shortDescription(c.description);
    const variants = desc ? [`${c.letter} · ${desc}`, c.letter] : [c.letter];
    let done = false;
    for (const text of variants) {
      o.font = text === c.letter ? "bold 13px system-ui, sans-serif" : "bold 12px system-ui, sans-serif";
      const w = o.measureText(text).width + 8, h = 17;
      for (const [dx, dy] of OFFSETS) {
        const x0 = ax + dx - w / 2, y0 = ay + dy - h / 2;
        const box = { x0, y0, x1: x0 + w, y1: y0 + h, cluster: c.cluster, text };
        if (x0 < 2 || y0 < 2 || box.x1 > W - 2 || box.y1 > H - 2 || overlaps(box, placed)) continue;
        if (dx || dy) {
          o.strokeStyle = "rgba(230,236,245,0.55)"; o.lineWidth = 1;
          o.beginPath(); o.moveTo(ax, ay);
          o.lineTo(Math.min(Math.max(ax, x0), box.x1), Math.min(Math.max(ay, y0), box.y1)); o.stroke();
        }
        o.fillStyle = "rgba(14,17,23,0.78)";
        o.fillRect(x0, y0, w, h);
        const mark = map.markedClusters.get(c.letter);
        o.strokeStyle = mark || c.colour; o.lineWidth = mark ? 2.5 : 1.2;
        o.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, h - 1);
        o.fillStyle = c.colour;
        o.fillText(text, x0 + 4, y0 + h / 2 + 0.5);
        placed.push(box);
        done = true;
        break;
      }
      if (done) break;
    }
  }
  o.restore();
  return placed;
}
