// raregal explore: the discovery loop. The weirdest-first queue, and "find more like my marks"
// with rounds of yes/no answers. Self-contained: it talks to /api/queue and /api/find and uses
// only window.raregal.app (the object view and the map's highlight) from the page.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const QUEUE_PAGE = 48;
  const view = { mode: null, offset: 0, session: null, answers: {} };

  function node(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  async function api(url, body) {
    const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const r = await fetch(url, opts);
    if (!r.ok) { let m = r.statusText; try { m = (await r.json()).detail; } catch (e) { /* not JSON */ } throw new Error(m); }
    return r.json();
  }
  function where(g) { return g.selected ? (g.cluster >= 0 ? `cluster ${g.letter}` : "noise") : "removed by the selection"; }

  function open(title, sub) {
    view.mode = title;
    $("discover-panel").hidden = false;
    $("discover-title").textContent = title;
    $("discover-sub").textContent = sub || "";
    $("discover-actions").replaceChildren();
    $("discover-body").replaceChildren(node("div", { class: "dtitle", text: "loading… (computed once per run)" }));
  }
  function close() { $("discover-panel").hidden = true; view.mode = null; highlight([]); }

  function highlight(items) {  // the galaxies on the map, where they have a place
    const app = window.raregal && window.raregal.app, map = app && app.map;
    if (!map) return;
    const rows = items.map((g) => g.row).filter((x) => x !== null && x !== undefined);
    map.highlight = rows.length ? map.rowsToIndices(rows) : null;
    map.requestDraw();
  }
  function item(g, label, onclick) {
    const box = node("div", { class: "ditem", "data-id": g.id_str, title: `${g.id_str} · ${where(g)}`, onclick });
    const img = node("img", { src: g.thumb, alt: g.id_str, loading: "lazy" });
    img.onerror = () => img.replaceWith(node("div", { class: "missing", text: g.id_str }));
    box.append(img, node("span", { class: "tag", text: label }));
    if (!g.selected) box.append(node("span", { class: "off", text: "removed" }));
    return box;
  }
  function show(g) {  // a galaxy on the map opens the object view; one off the map says where it is
    const app = window.raregal && window.raregal.app;
    if (g.row !== null && g.row !== undefined && app && app.object) { app.object.open(g.row); return; }
    $("discover-sub").textContent = `${g.id_str}: ${where(g)}; it has no place on the map`;
  }

  // ------------------------------------------------------------------------- the queue
  async function openQueue() {
    open("Weirdest first", "every encoded galaxy, selected or not: the rarest-looking first, each unlike those before");
    view.offset = 0;
    $("discover-body").replaceChildren(node("div", { id: "queue-grid", class: "dgrid" }));
    await moreQueue();
  }
  async function moreQueue() {
    try {
      const page = await api(`/api/queue?offset=${view.offset}&limit=${QUEUE_PAGE}`);
      view.offset += page.items.length;
      $("queue-grid").append(...page.items.map((g) => item(g, `#${g.anomaly_rank}`, () => show(g))));
      $("discover-sub").textContent = `${view.offset} of ${page.n.toLocaleString()} encoded galaxies, weirdest first, each unlike those before`;
      const more = node("button", { id: "queue-more", onclick: moreQueue }, "Show more");
      $("discover-actions").replaceChildren(...(view.offset < page.n ? [more] : []));
      highlight(page.items);
    } catch (e) { $("discover-body").replaceChildren(node("div", { class: "dtitle", text: `no queue: ${e.message}` })); }
  }

  // ------------------------------------------------------------------------- find more like my marks
  async function openFind() {
    open("Find more like my marks", "rank every galaxy by likeness to the galaxies (or clusters) you marked; answer yes/no to teach it");
    let marks = [], sessions = [];
    try { [marks, sessions] = await Promise.all([api("/api/marks"), api("/api/find")]); } catch (e) { /* shown below */ }
    const tags = [...new Set(marks.filter((m) => m.target_kind !== "node").map((m) => m.tag))];
    const tag = node("select", { id: "find-tag" }, ...tags.map((t) => node("option", { value: t, text: t })));
    const name = node("input", { id: "find-session", value: tags[0] || "marks", size: "10", title: "session name" });
    tag.onchange = () => { name.value = tag.value; };
    const start = node("button", { id: "find-start", onclick: () => startSession(name.value, tag.value) }, "Start");
    $("discover-actions").replaceChildren(node("span", { class: "muted", text: "marked" }), tag, node("span", { class: "muted", text: "session" }), name, start);
    const resume = sessions.map((s) => node("button", { class: "resume", onclick: () => loadSession(s.session) }, `${s.session} (${s.rounds} rounds, ${s.yes} yes)`));
    $("discover-body").replaceChildren(
      node("div", { class: "dtitle", text: tags.length ? "Start from the galaxies and clusters marked with a tag." : "Mark a few galaxies (or a cluster) first, e.g. ★ interesting." }),
      ...(resume.length ? [node("div", { class: "dtitle", text: "or resume a session:" }), node("div", { class: "discover-buttons" }, ...resume)] : []));
  }
  async function startSession(session, tag) {
    try { render(await api("/api/find", { session, tag })); } catch (e) { $("discover-sub").textContent = `could not start: ${e.message}`; }
  }
  async function loadSession(session) {
    try { render(await api(`/api/find/${encodeURIComponent(session)}`)); } catch (e) { $("discover-sub").textContent = e.message; }
  }
  async function submit() {
    const answers = {};
    for (const [id, a] of Object.entries(view.answers)) if (a) answers[id] = a;
    if (!Object.keys(answers).length) { $("discover-sub").textContent = "answer at least one galaxy (yes or no) first"; return; }
    $("find-submit").disabled = true;
    try { render(await api(`/api/find/${encodeURIComponent(view.session)}/answers`, { answers })); }
    catch (e) { $("discover-sub").textContent = `not saved: ${e.message}`; $("find-submit").disabled = false; }
  }
  function answerItem(g) {
    const box = item(g, g.reason === "uncertain" ? "?" : `${(g.score || 0).toFixed(2)}`, () => show(g));
    const set = (a) => (ev) => {
      ev.stopPropagation();
      view.answers[g.id_str] = view.answers[g.id_str] === a ? null : a;
      box.classList.toggle("yes", view.answers[g.id_str] === "yes"); box.classList.toggle("no", view.answers[g.id_str] === "no");
      yes.classList.toggle("on", view.answers[g.id_str] === "yes"); no.classList.toggle("on", view.answers[g.id_str] === "no");
    };
    const yes = node("button", { class: "yes", title: "yes: it is one", onclick: set("yes") }, "yes");
    const no = node("button", { class: "no", title: "no: it is not", onclick: set("no") }, "no");
    box.append(node("div", { class: "yn" }, yes, no));
    return box;
  }
  function render(state) {
    view.session = state.session; view.answers = {};
    const base = `/api/find/${encodeURIComponent(state.session)}`;
    $("discover-title").textContent = `Find: ${state.session}`;
    $("discover-sub").textContent = `round ${state.rounds} · ${state.yes} yes, ${state.no} no so far · every encoded galaxy ranked`;
    $("discover-actions").replaceChildren(
      node("button", { id: "find-submit", onclick: submit }, "Submit answers"),
      node("a", { class: "button", href: `${base}/rounds.vot`, download: "" }, "rounds (VOTable)"),
      node("a", { class: "button", href: `${base}/rounds.csv`, download: "" }, "rounds (CSV)"),
      node("a", { class: "button", href: `${base}/found.vot?limit=1000`, download: "" }, "top 1000 (VOTable)"));
    $("discover-body").replaceChildren(
      node("div", { class: "dtitle", text: `Answer these ${state.ask.length}: the top-ranked you have not answered, and those that teach the model most (?)` }),
      node("div", { id: "find-ask", class: "dgrid" }, ...state.ask.map(answerItem)),
      node("div", { class: "dtitle", text: "Ranked highest so far (your yes answers first)" }),
      node("div", { id: "find-top", class: "dgrid" }, ...state.top.map((g) => item(g, g.answer === "yes" ? "✓" : `#${g.rank}`, () => show(g)))));
    highlight(state.top);
  }

  $("open-queue").onclick = openQueue;
  $("open-find").onclick = openFind;
  $("discover-close").onclick = close;
  window.raregalDiscover = { openQueue, openFind, view };
})();
