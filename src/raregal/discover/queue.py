"""``rank_run``: a run folder's clusters ranked and its weirdest-first queue written.

``raregal rank RUN`` calls it. It (re)ranks and describes the clusters
(``raregal.discover.ranking``), rewriting ``clusters.parquet`` through the run-folder contract
with the cluster stage's key when the ranking changed (for example after ``seed_stability`` was
added); it scores every encoded galaxy (selected or not) and writes the queue to
``RUN/candidates.parquet`` (``id_str``, ``anomaly_score``, ``anomaly_rank``, ``selected``,
``cluster``, and ``ra``, ``dec``, ``file_loc``, ``true_class`` where known), with a gallery of its
first places.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import validate_discovery
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.discover.anomaly import anomaly_scores, queue_ranks, variety_queue
from raregal.discover.data import EncodedGalaxies, load_encoded
from raregal.discover.ranking import RANKING_COLUMNS, rank_clusters, survey_statistics
from raregal.io.runfolder import RunFolder, umap_columns

logger = logging.getLogger(__name__)

GALLERY_SIZE = 48
GALLERY_FILE = Path("report") / "galleries" / "candidates.jpg"


@dataclass
class RankResult:
    """What ``rank_run`` wrote.

    Attributes
    ----------
    candidates : DataFrame
        The queue (``RUN/candidates.parquet``), first place first.
    clusters : DataFrame
        The ranked cluster table.
    clusters_rewritten : bool
        Whether ``clusters.parquet`` was rewritten (its ranking had changed or was missing).
    gallery : Path or None
        The gallery of the first places (None without images).
    seconds : dict
    """

    candidates: pd.DataFrame
    clusters: pd.DataFrame
    clusters_rewritten: bool
    gallery: Path | None
    seconds: dict[str, float] = field(default_factory=dict)


def rank_run(
    run_dir: str | os.PathLike[str],
    selected_only: bool = False,
    gallery: bool = True,
    **params: Any,
) -> RankResult:
    """Rank the clusters and write the weirdest-first queue of the run folder ``run_dir``.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder.
    selected_only : bool, default=False
        Queue only the galaxies the selection kept (default: every encoded galaxy).
    gallery : bool, default=True
        Draw the first ``GALLERY_SIZE`` places into ``RUN/report/galleries/candidates.jpg``.
    **params
        Discovery parameters (``raregal.config.DISCOVERY_PARAMETERS``).
    """
    checked = validate_discovery(params)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    encoded = load_encoded(run_dir)
    seconds["read"] = round(time.perf_counter() - start, 2)
    run = RunFolder(run_dir)
    with run.transaction():  # the ranked clusters, the queue and the record commit together
        start = time.perf_counter()
        clusters, rewritten = rerank_clusters(run_dir, encoded, writer=run)
        seconds["clusters"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        candidates = write_queue(run_dir, encoded, selected_only, checked, writer=run)
        seconds["queue"] = round(time.perf_counter() - start, 2)
        image = None
        if gallery and FILE_COLUMN in candidates.columns:
            start = time.perf_counter()
            image = draw_gallery(run.path, candidates)
            seconds["gallery"] = round(time.perf_counter() - start, 2)
        run.record["rank"] = {"params": checked, "selected_only": selected_only,
                              "galaxies": len(candidates), "skipped": encoded.skipped,
                              "clusters_rewritten": rewritten, "seconds": seconds}  # fmt: skip
    return RankResult(candidates, clusters, rewritten, image, seconds)


@contextmanager
def _writing(run_dir: str | os.PathLike[str], writer: RunFolder | None) -> Iterator[RunFolder]:
    """``writer`` (a run folder in a transaction), or a transaction of its own on ``run_dir``."""
    if writer is not None:
        yield writer
        return
    run = RunFolder(run_dir)
    with run.transaction():
        yield run


def write_queue(
    run_dir: str | os.PathLike[str],
    encoded: EncodedGalaxies,
    selected_only: bool,
    params: dict[str, Any],
    writer: RunFolder | None = None,
) -> pd.DataFrame:
    """Score and order ``encoded`` (checked ``params``) and write ``RUN/candidates.parquet``
    (committed with ``writer``'s transaction, or in one of its own)."""
    rows = np.flatnonzero(encoded.selected) if selected_only else np.arange(encoded.n)
    candidates = queue_table(encoded, rows, params)
    meta = {"params": params, "selected_only": selected_only}
    with _writing(run_dir, writer) as run:
        run.write_table("candidates", candidates, metadata=meta)
    return candidates


def queue_table(encoded: EncodedGalaxies, rows: np.ndarray, params: dict[str, Any]
                ) -> pd.DataFrame:  # fmt: skip
    """The candidates table of ``rows`` of ``encoded``, first place first."""
    X = encoded.X[rows]
    scores = anomaly_scores(X, params)
    order = variety_queue(X, scores, params["queue_length"], params["queue_pool"],
                          params["variety_neighbors"], params["variety_width"])  # fmt: skip
    table = encoded.catalog.iloc[rows].reset_index(drop=True)
    table.insert(1, "anomaly_score", scores)
    table.insert(2, "anomaly_rank", queue_ranks(order))
    table.insert(3, "selected", encoded.selected[rows])
    table.insert(4, "cluster", encoded.cluster[rows])
    return table.iloc[order].reset_index(drop=True)


def rerank_clusters(run_dir: str | os.PathLike[str], encoded: EncodedGalaxies | None = None,
                    writer: RunFolder | None = None) -> tuple[pd.DataFrame, bool]:  # fmt: skip
    """Rank and describe the run's clusters; rewrite ``clusters.parquet`` when that changed it.

    The table is rewritten through the run-folder contract with the key it carried (the cluster
    stage's), so a later search still reuses it.
    """
    run = RunFolder.open(run_dir)
    clusters = run.read_table("clusters")
    if len(clusters) == 0:
        return clusters, False
    encoded = encoded if encoded is not None else load_encoded(run_dir)
    galaxies = run.read_table("galaxies")
    rows = encoded.rows(galaxies[ID_COLUMN].astype(str).tolist(), what="galaxy of galaxies.parquet")
    fractions = encoded.fractions()
    k = sum(1 for c in galaxies.columns if str(c).startswith("umap_"))
    ranked = rank_clusters(
        clusters, galaxies["cluster"].to_numpy(), galaxies[umap_columns(k)].to_numpy(),
        encoded.X[rows], fractions.iloc[rows] if fractions is not None else None,
        survey_statistics(encoded.X),
    )  # fmt: skip
    if _same_ranking(clusters, ranked):
        return clusters, False
    with _writing(run_dir, writer) as folder:
        folder.write_table("clusters", ranked, key=run.table_key("clusters"))
    logger.info("clusters.parquet: ranking and descriptions written")
    return ranked, True


def _same_ranking(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    if not all(c in old.columns for c in RANKING_COLUMNS):
        return False
    for column in RANKING_COLUMNS:
        a, b = old[column].to_numpy(), new[column].to_numpy()
        if a.dtype.kind == "f":
            if not np.allclose(a, b, equal_nan=True, rtol=1e-9, atol=1e-12):
                return False
        elif not np.array_equal(a.astype(str), b.astype(str)):
            return False
    return True


def draw_gallery(run_path: Path, candidates: pd.DataFrame, size: int = GALLERY_SIZE,
                 thumb_size: int = 128) -> Path | None:  # fmt: skip
    """The first ``size`` places of the queue as one mosaic (thumbnails shared with the report)."""
    from raregal.report.gallery import gallery_columns, render_gallery
    from raregal.report.thumbs import create_thumbs

    first = candidates.head(size)
    thumbs = create_thumbs(first[FILE_COLUMN].tolist(), run_path / "report" / "thumbs", thumb_size)
    paths = [run_path / "report" / "thumbs" / t.name for t in thumbs]
    if not paths:
        return None
    subtitle = f"the first {len(paths)} of {len(candidates):,} galaxies, weirdest first"
    return render_gallery(paths, run_path / GALLERY_FILE, "queue", subtitle, "#ffd43b",
                          gallery_columns(len(paths)))  # fmt: skip
