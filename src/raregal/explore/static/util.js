// Small helpers shared by the explorer's modules: DOM building, fetching, formatting, colours.
"use strict";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  if (!r.ok) {
    let m = r.statusText;
    try { m = (await r.json()).detail; } catch (e) { /* not JSON */ }
    throw new Error(m);
  }
  return r.json();
}

export function postJSON(url, body) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export function fmt(v, d = 3) {
  return v === null || v === undefined || Number.isNaN(Number(v)) ? "–" : Number(v).toFixed(d);
}

export function letterOf(k) {
  if (k < 0) return "";
  let s = ""; k += 1;
  while (k) { const r = (k - 1) % 26; s = String.fromCharCode(65 + r) + s; k = Math.floor((k - 1) / 26); }
  return s;
}

export function hexToRGB(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
export function pack(r, g, b) { return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0; }
export function mix(rgb, bg, t) { return rgb.map((c, i) => Math.round(c * (1 - t) + bg[i] * t)); }

// Save a Blob under a file name through a temporary link (the browser's own download).
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// A term with its help text: hover, focus or press "?" to read it (see help.js).
export function term(name, label = name) {
  const text = (window.raregal.glossary || {})[name] || "";
  return el("span", { class: "term", tabindex: "0", title: text, "data-term": name, text: label });
}

// Make an element act as a button for the keyboard (Enter and Space) as well as the mouse.
export function clickable(e, action, label) {
  e.setAttribute("tabindex", "0");
  e.setAttribute("role", "button");
  if (label) e.setAttribute("aria-label", label);
  e.addEventListener("click", action);
  e.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); action(ev); }
  });
  return e;
}
