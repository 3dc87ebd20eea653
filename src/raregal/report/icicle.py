"""The condensed tree as a clickable picture: an SVG icicle shared by the report and the explorer.

Each cluster node of HDBSCAN's condensed tree is a box: across, the slots of the leaves below it
(one slot per leaf, so that rare clusters stay visible); down, λ from the node's birth (where it
splits from its parent) to its death (where it splits or its last galaxies fall out). Leaf
clusters are filled with their colour and lettered; a node's size and λ range are in its tooltip
and written inside when it is wide enough. Marked nodes get a frame in their tag's colour and the
tag. Every node is a focusable ``<g class="node" data-node=... data-leaves=...>`` that the page's
script opens on click or Enter.

``create_icicle`` computes the boxes; ``render_icicle_svg`` only draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from raregal.report.palette import tag_colour

INNER_COLOUR = "#9aa7b8"
"""Nodes above the leaf clusters (drawn half transparent, so that they read on any background)."""
SVG_STYLE = (
    ".icicle .axis{font:10px sans-serif;fill:#8b949e}.icicle .tick{stroke:#8b949e}"
    ".icicle .node{cursor:pointer;outline:none}"
    ".icicle .node:not(.leaf)>rect:first-of-type{fill-opacity:.5}"
    ".icicle .node:hover>rect:first-of-type,.icicle .node:focus>rect:first-of-type"
    "{stroke:#1f6feb;stroke-width:2.5}"
    ".icicle .node.open>rect:first-of-type{stroke:#f0b400;stroke-width:3}"
    ".icicle .letter{font:bold 10px sans-serif;fill:currentColor}"
    ".icicle .size{font:10px sans-serif;fill:currentColor}"
    ".icicle .mark-frame{fill:none;stroke-width:2.5;stroke-dasharray:5 2}"
    ".icicle .mark-tag{font:bold 10px sans-serif}"
)
ICICLE_COLUMNS = (
    "node", "parent", "x0", "x1", "lambda_birth", "lambda_death", "size", "is_leaf", "letters",
    "cluster", "colour", "depth",
)  # fmt: skip


@dataclass
class Icicle:
    """The boxes of the icicle, in leaf slots (x) and λ (y).

    Attributes
    ----------
    nodes : DataFrame
        One row per cluster node: ``node``, ``parent`` (-1 at the root), ``x0``, ``x1`` (leaf
        slots), ``lambda_birth``, ``lambda_death``, ``size`` (galaxies), ``is_leaf``, ``letters``
        (the leaf clusters below, comma-separated), ``cluster`` (-1 unless a leaf cluster),
        ``colour``, ``depth``.
    n_leaves : int
    lambda_max : float
    """

    nodes: pd.DataFrame
    n_leaves: int
    lambda_max: float


def create_icicle(
    tree: pd.DataFrame,
    clusters: pd.DataFrame,
    colours: Mapping[int, str],
) -> Icicle:
    """Boxes of the icicle from a condensed tree.

    Parameters
    ----------
    tree : DataFrame
        ``parent``, ``child``, ``lambda_val``, ``child_size`` (hdbscan's condensed tree).
    clusters : DataFrame
        ``cluster``, ``letter`` and ``node`` (the tree node of each leaf cluster).
    colours : mapping
        Cluster number -> colour.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ICICLE_COLUMNS})
    if len(tree) == 0:
        return Icicle(empty, 0, 1.0)
    parent = tree["parent"].to_numpy(np.int64)
    child = tree["child"].to_numpy(np.int64)
    lam = tree["lambda_val"].to_numpy(np.float64)
    finite = lam[np.isfinite(lam)]
    cap = float(finite.max()) * 1.05 if finite.size and finite.max() > 0 else 1.0
    lam = np.where(np.isfinite(lam), lam, cap)
    size = tree["child_size"].to_numpy(np.int64)
    root = int(parent.min())
    is_node = child >= root
    children: dict[int, list[int]] = {}
    birth, node_size, up = {root: 0.0}, {root: int(size[parent == root].sum())}, {root: -1}
    for p, c, lv, s in zip(parent[is_node], child[is_node], lam[is_node], size[is_node],
                           strict=True):  # fmt: skip
        children.setdefault(int(p), []).append(int(c))
        birth[int(c)], node_size[int(c)], up[int(c)] = float(lv), int(s), int(p)
    death = pd.Series(lam).groupby(parent).max().to_dict()

    order: list[int] = []
    stack = [root]
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(reversed(children.get(n, [])))
    leaves: dict[int, int] = {}
    for n in reversed(order):
        kids = children.get(n, [])
        leaves[n] = sum(leaves[k] for k in kids) if kids else 1
    spans, depth = {root: (0.0, float(leaves[root]))}, {root: 0}
    for n in order:
        left = spans[n][0]
        for k in children.get(n, []):
            spans[k] = (left, left + leaves[k])
            depth[k] = depth[n] + 1
            left += leaves[k]

    letter_of, cluster_of = {}, {}
    if "node" in clusters.columns:
        for row in clusters.itertuples():
            if pd.notna(row.node) and int(row.node) >= 0:
                letter_of[int(row.node)] = str(row.letter)
                cluster_of[int(row.node)] = int(row.cluster)
    below: dict[int, list[str]] = {}
    for n in reversed(order):
        kids = children.get(n, [])
        own = [letter_of[n]] if n in letter_of else []
        below[n] = own + [x for k in kids for x in below[k]]

    rows = []
    for n in order:
        b = birth[n]
        d = max(float(death.get(n, b)), b)
        k = cluster_of.get(n, -1)
        rows.append(
            (n, up[n], *spans[n], b, d, node_size[n], not children.get(n), ",".join(below[n]),
             k, colours.get(k, INNER_COLOUR) if k >= 0 else INNER_COLOUR, depth[n])
        )  # fmt: skip
    nodes = pd.DataFrame(rows, columns=list(ICICLE_COLUMNS))
    lambda_max = float(max(nodes["lambda_death"].max(), 1e-12))
    return Icicle(nodes, int(leaves[root]), lambda_max)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def render_icicle_svg(
    icicle: Icicle,
    node_marks: Mapping[int, Sequence[str]] | None = None,
    height: int = 320,
    slot: float = 16.0,
    min_width: int = 720,
) -> str:
    """The icicle as an inline SVG element (text escaped), clickable through its ``data-*``.

    Parameters
    ----------
    icicle : Icicle
    node_marks : mapping, optional
        Node -> tags marked on it; drawn as a frame in the first tag's colour and the tags.
    height : int, default=320
        Pixels, λ axis included.
    slot : float, default=16
        Pixels per leaf (the width is at least ``min_width``).
    """
    node_marks = node_marks or {}
    top, bottom, left = 26.0, 18.0, 44.0
    width = max(float(min_width), left + 8 + slot * max(icicle.n_leaves, 1))
    per_slot = (width - left - 8) / max(icicle.n_leaves, 1)
    scale = (height - top - bottom) / icicle.lambda_max
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icicle" width="{width:.0f}" '
        f'height="{height}" viewBox="0 0 {width:.0f} {height}" role="group" '
        'aria-label="condensed tree: click a node to see its leaves side by side">',
        f"<style>{SVG_STYLE}</style>",
        f'<text x="4" y="{top - 10:.0f}" class="axis">λ</text>',
    ]
    for tick in np.linspace(0, icicle.lambda_max, 5):
        y = top + tick * scale
        out.append(
            f'<line x1="{left - 4}" x2="{left}" y1="{y:.1f}" y2="{y:.1f}" class="tick"/>'
            f'<text x="{left - 6}" y="{y + 3:.1f}" class="axis" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
    for row in icicle.nodes.itertuples():
        x = left + row.x0 * per_slot + 0.5
        w = max((row.x1 - row.x0) * per_slot - 1.0, 1.0)
        y = top + row.lambda_birth * scale
        h = max((row.lambda_death - row.lambda_birth) * scale, 3.0)
        letters = row.letters.replace(",", ", ") if row.letters else "none"
        name = f"cluster {row.letters}" if row.cluster >= 0 else f"node {row.node}"
        tags = list(node_marks.get(int(row.node), ()))
        tip = (
            f"{name}: {row.size:,} galaxies · λ {_fmt(row.lambda_birth)}–{_fmt(row.lambda_death)}"
            f" · leaves {letters}" + (f" · marked: {', '.join(tags)}" if tags else "")
        )
        classes = "node leaf" if row.cluster >= 0 else "node"
        if tags:
            classes += " marked"
        out.append(
            f'<g class="{classes}" data-node="{int(row.node)}" '
            f"data-leaves={quoteattr(row.letters)} "
            f'data-size="{int(row.size)}" tabindex="0" role="button" aria-label={quoteattr(tip)}>'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{row.colour}"/>'
        )
        if row.cluster >= 0:
            out.append(
                f'<text x="{x + w / 2:.1f}" y="{y + h + 11:.1f}" class="letter" '
                f'text-anchor="middle">{escape(row.letters)}</text>'
            )
        elif w > 70 and h > 12:
            out.append(f'<text x="{x + 4:.1f}" y="{y + 11:.1f}" class="size">{row.size:,}</text>')
        if tags:
            colour = tag_colour(tags[0])
            out.append(
                f'<rect x="{x - 1.5:.1f}" y="{y - 1.5:.1f}" width="{w + 3:.1f}" '
                f'height="{h + 3:.1f}" class="mark-frame" stroke="{colour}"/>'
                f'<text x="{x + 2:.1f}" y="{y - 4:.1f}" class="mark-tag" fill="{colour}">'
                f"{escape(', '.join(tags))}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def node_marks_of(marks: pd.DataFrame | None) -> dict[int, list[str]]:
    """Node -> its tags, from a marks table (``target_kind``, ``target``, ``tag``)."""
    if marks is None or not len(marks):
        return {}
    out: dict[int, list[str]] = {}
    nodes = marks[marks["target_kind"].astype(str) == "node"]
    for mark in nodes.itertuples():
        target = str(mark.target)
        if target.isdigit() and str(mark.tag) not in out.get(int(target), []):
            out.setdefault(int(target), []).append(str(mark.tag))
    return out
