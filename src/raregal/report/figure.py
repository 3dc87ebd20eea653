"""Finishing touches shared by the report's figures, and their atomic save."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from raregal.io.atomic import atomic_path


def save_figure(fig, ax, path: Path, title: str | None, hidden_spines: Iterable[str]) -> Path:
    """Hide ``hidden_spines``, add the title, write ``fig`` as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    for side in hidden_spines:
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
