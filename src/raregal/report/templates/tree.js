// The report's clickable tree: a node opens the galleries of its leaves side by side (copied from
// the galleries below, so that the page keeps working from disk without a server).
(function () {
  "use strict";
  const view = document.getElementById("node-view");
  if (!view) return;
  const MAX_PER_LEAF = 12;
  function column(letter) {
    const article = document.getElementById("cluster-" + letter);
    const col = document.createElement("div");
    col.className = "leaf";
    if (!article) { col.textContent = letter; return col; }
    col.setAttribute("style", article.getAttribute("style"));
    col.dataset.letter = letter;
    const head = document.createElement("a");
    head.href = "#cluster-" + letter; head.className = "leaf-letter"; head.textContent = letter;
    const size = document.createElement("span");
    size.className = "leaf-size"; size.textContent = " " + Number(article.dataset.size).toLocaleString() + " galaxies";
    const grid = document.createElement("div");
    grid.className = "grid";
    const members = article.querySelectorAll(".grid > *");
    for (let i = 0; i < Math.min(MAX_PER_LEAF, members.length); i++) grid.append(members[i].cloneNode(true));
    col.append(head, size);
    const description = article.querySelector(".description");
    if (description) col.append(description.cloneNode(true));
    col.append(grid);
    return col;
  }
  function open(g) {
    const letters = (g.dataset.leaves || "").split(",").filter(Boolean);
    document.querySelectorAll(".icicle g.node.open").forEach((n) => n.classList.remove("open"));
    g.classList.add("open");
    document.getElementById("node-view-title").textContent = g.getAttribute("aria-label");
    view.querySelector(".leaves").replaceChildren(...letters.map(column));
    view.dataset.node = g.dataset.node;
    view.hidden = false;
    view.scrollIntoView({ block: "nearest" });
  }
  document.querySelectorAll(".icicle g.node").forEach((g) => {
    g.addEventListener("click", () => open(g));
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(g); }
    });
  });
  document.getElementById("node-view-close").addEventListener("click", () => { view.hidden = true; });
})();
