// Marks: tags and notes on galaxies, clusters and tree nodes, kept apart (a tag names a kind of
// object, a note says anything). Marked galaxies are drawn on the map; the filter chooses which
// tags show there; exports go through the server's one catalog writer (CSV and VOTable).
"use strict";

import { $, el, getJSON, postJSON } from "./util.js";

export const SUGGESTED_TAGS = ["interesting", "artifact"];

export class MarksStore {
  constructor() { this.all = []; this.hidden = new Set(); this.listeners = []; }
  onChange(f) { this.listeners.push(f); }
  async load() { this.all = await getJSON("/api/marks"); this.changed(); }
  changed() { for (const f of this.listeners) f(); }
  tags() { return [...new Set(this.all.map((m) => m.tag))].sort(); }
  colourOf(tag) { const m = this.all.find((x) => x.tag === tag); return m ? m.colour : "#ffd43b"; }
  visible(m) { return !this.hidden.has(m.tag); }
  of(target) { return this.all.filter((m) => m.target_kind === target.target_kind && m.target === target.target); }
  async add(target, tag, note) {
    const r = await postJSON("/api/marks", { ...target, tag, note });
    if (!r.ok) { let d = r.statusText; try { d = (await r.json()).detail; } catch (e) { /* text */ } throw new Error(d); }
    await this.load();
  }
  async remove(id) { await fetch(`/api/marks/${id}`, { method: "DELETE" }); await this.load(); }
  setHidden(tag, hidden) { if (hidden) this.hidden.add(tag); else this.hidden.delete(tag); this.changed(); }
}

// The form to mark one target: suggested tags, a tag field, a separate note, and its marks so far.
export function markForm(store, target) {
  const list = el("ul", { class: "mark-list" });
  const render = () => list.replaceChildren(...store.of(target).map((m) => el("li", { "data-mark": m.mark_id },
    el("span", { class: "badge", style: `border-color:${m.colour};color:${m.colour}`, text: m.tag }),
    el("span", { class: "note-text", text: m.note || "" }),
    el("button", { title: `remove the mark ${m.tag}`, "aria-label": `remove the mark ${m.tag}`, onclick: () => store.remove(m.mark_id).then(render) }, "×"))));
  const tag = el("input", { class: "mark-tag", placeholder: "tag (e.g. ring)", maxlength: "200", autocomplete: "off", list: "known-tags", "aria-label": "tag" });
  const note = el("textarea", { class: "mark-note", placeholder: "note (optional)", maxlength: "2000", rows: "2", "aria-label": "note" });
  const error = el("span", { class: "mark-error", role: "alert" });
  const submit = async (tagText) => {
    const t = (tagText || tag.value).trim();
    if (!t) { error.textContent = "a mark needs a tag"; tag.focus(); return; }
    try { await store.add(target, t, note.value.trim()); error.textContent = ""; tag.value = ""; note.value = ""; render(); }
    catch (e) { error.textContent = `could not save the mark: ${e.message}`; }
  };
  const form = el("form", { class: "mark-form", onsubmit: (ev) => { ev.preventDefault(); submit(); } },
    el("div", { class: "mark-buttons" }, ...SUGGESTED_TAGS.map((t) => el("button", { type: "button", "data-tag": t, class: `tag-${t}`, onclick: () => submit(t) }, t === "interesting" ? "★ interesting" : "⚠ artifact"))),
    el("div", { class: "mark-fields" }, tag, note, el("button", { type: "submit" }, "Add mark")), error);
  note.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(); } });
  render();
  return el("div", { class: "marks-box" }, form, list);
}

// The marks panel: a checkbox per tag (which marks show on the map) and the exports.
export function renderMarksPanel(store) {
  const tags = store.tags();
  $("known-tags").replaceChildren(...[...new Set([...SUGGESTED_TAGS, ...tags])].map((t) => el("option", { value: t })));
  const count = (t) => store.all.filter((m) => m.tag === t).length;
  $("marks-filter").replaceChildren(...(tags.length ? tags.map((t) => {
    const box = el("input", { type: "checkbox", "data-tag": t, checked: !store.hidden.has(t), onchange: (ev) => store.setHidden(t, !ev.target.checked) });
    return el("label", { class: "filter-tag" }, box, el("span", { class: "swatch", style: `background:${store.colourOf(t)}` }), ` ${t} `, el("span", { class: "muted", text: `(${count(t)})` }));
  }) : [el("span", { class: "muted", text: "no marks yet: open a galaxy, a cluster or a tree node to mark it" })]));
}
