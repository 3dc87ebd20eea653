"""The condensed tree as an icicle plot, with the selected leaf clusters marked.

Drawn from ``condensed_tree.parquet`` (hdbscan's convention: parent, child, lambda_val,
child_size; a child below the root's id is a point). Every leaf of the cluster tree gets an equal
slot across the page, so that small rare clusters stay visible; a node's width at a given lambda
is the share of its galaxies that are still in it, so the taper shows how it sheds points.
``create_tree`` computes the shapes; ``render_tree`` only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.report.figure import save_figure

UNSELECTED_COLOUR = "#9aa7b8"
_STEPS = 120


@dataclass
class TreeShapes:
    """The icicle, ready to draw.

    Attributes
    ----------
    polygons : list of ndarray
        One (m, 2) outline per cluster node, in (x, lambda).
    colours : list of str
        Fill colour per polygon (the cluster's colour for a selected leaf).
    labels : DataFrame
        ``letter``, ``colour``, ``x``, ``y`` for each selected leaf, placed below it.
    lambda_max : float
        Bottom of the plot.
    n_leaves : int
        Leaves of the cluster tree (the slots across the page).
    """

    polygons: list[np.ndarray]
    colours: list[str]
    labels: pd.DataFrame
    lambda_max: float
    n_leaves: int


def _finite_lambdas(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    cap = finite.max() * 1.05 if finite.size and finite.max() > 0 else 1.0
    return np.where(np.isfinite(values), values, cap)


def create_tree(
    tree: pd.DataFrame, node_colours: dict[int, str], node_letters: dict[int, str]
) -> TreeShapes:
    """Icicle shapes from a condensed tree.

    Parameters
    ----------
    tree : DataFrame
        ``parent``, ``child``, ``lambda_val``, ``child_size``.
    node_colours, node_letters : dict
        Tree node id -> colour and letter, for the selected leaf clusters.
    """
    parent = tree["parent"].to_numpy(dtype=np.int64)
    child = tree["child"].to_numpy(dtype=np.int64)
    lam = _finite_lambdas(tree["lambda_val"].to_numpy(dtype=float))
    size = tree["child_size"].to_numpy(dtype=np.int64)
    if len(tree) == 0:
        return TreeShapes([], [], pd.DataFrame(columns=["letter", "colour", "x", "y"]), 1.0, 0)
    root = int(parent.min())
    is_cluster = child >= root
    children: dict[int, list[int]] = {}
    birth = {root: 0.0}
    node_size = {root: int(size[parent == root].sum())}
    for p, c, lv, s in zip(
        parent[is_cluster], child[is_cluster], lam[is_cluster], size[is_cluster], strict=True
    ):
        children.setdefault(int(p), []).append(int(c))
        birth[int(c)] = float(lv)
        node_size[int(c)] = int(s)
    order = np.argsort(parent, kind="stable")
    sorted_parent = parent[order]
    bounds = np.searchsorted(sorted_parent, np.array(list(node_size)), side="left")
    ends = np.searchsorted(sorted_parent, np.array(list(node_size)), side="right")
    events = {n: order[a:b] for n, a, b in zip(node_size, bounds, ends, strict=True)}

    leaves: dict[int, int] = {}

    def count_leaves(node: int) -> int:
        stack, post = [node], []
        while stack:
            n = stack.pop()
            post.append(n)
            stack.extend(children.get(n, []))
        for n in reversed(post):
            kids = children.get(n, [])
            leaves[n] = sum(leaves[k] for k in kids) if kids else 1
        return leaves[node]

    n_leaves = count_leaves(root)
    spans = {root: (0.0, float(n_leaves))}
    stack = [root]
    while stack:
        n = stack.pop()
        left = spans[n][0]
        for k in children.get(n, []):
            spans[k] = (left, left + leaves[k])
            left += leaves[k]
            stack.append(k)

    lambda_max = float(lam.max()) if lam.size else 1.0
    min_height = 0.015 * lambda_max  # a leaf whose points all leave at birth stays visible
    polygons, colours, labels = [], [], []
    for n, (a, b) in spans.items():
        rows = events[n]
        lam_n = lam[rows]
        last = float(lam_n.max()) if lam_n.size else birth[n]
        death = max(last, birth[n] + min_height)
        steps = np.linspace(birth[n], death, _STEPS)
        order_n = np.argsort(lam_n)
        dropped = np.cumsum(size[rows][order_n])
        gone = np.searchsorted(lam_n[order_n], steps, side="left")
        lost = np.where(gone > 0, dropped[np.maximum(gone - 1, 0)], 0)
        share = np.clip(1 - lost / max(node_size[n], 1), 0.04, 1) if last > birth[n] else 1.0
        half = (b - a) / 2 * 0.9 * share
        mid = (a + b) / 2
        ys = np.repeat(steps, 2)[1:]
        ys = np.append(ys, death)
        hs = np.repeat(np.broadcast_to(half, steps.shape), 2)
        right = np.column_stack([mid + hs, ys])
        left = np.column_stack([mid - hs, ys])[::-1]
        polygons.append(np.vstack([right, left]))
        selected = n in node_colours
        colours.append(node_colours.get(n, UNSELECTED_COLOUR))
        if selected:
            labels.append((node_letters.get(n, ""), node_colours[n], mid, death))
    label_df = pd.DataFrame(labels, columns=["letter", "colour", "x", "y"])
    return TreeShapes(polygons, colours, label_df, lambda_max, n_leaves)


def render_tree(shapes: TreeShapes, path: Path, title: str = "") -> Path:
    """Draw the icicle into a PNG (atomically) and return its path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.patheffects as effects
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    width = float(np.clip(6 + shapes.n_leaves * 0.2, 12, 18))
    fig, ax = plt.subplots(figsize=(width, 4.5), dpi=110)
    ax.add_collection(
        PolyCollection(shapes.polygons, facecolors=shapes.colours, edgecolors="none", alpha=0.9)
    )
    halo = [effects.withStroke(linewidth=3, foreground="white")]
    pad = shapes.lambda_max * 0.03
    for row in shapes.labels.itertuples():
        ax.text(row.x, row.y + pad, row.letter, color=row.colour, fontsize=10, fontweight="bold",
                ha="center", va="top", path_effects=halo)  # fmt: skip
    ax.set_xlim(0, max(shapes.n_leaves, 1))
    ax.set_ylim(shapes.lambda_max * 1.12 + 1e-12, 0)
    ax.set_xticks([])
    ax.set_ylabel("λ = 1 / distance")
    return save_figure(fig, ax, path, title, hidden_spines=("top", "right", "bottom"))
