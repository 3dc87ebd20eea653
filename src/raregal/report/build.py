"""Build the report folder of a run: thumbnails, galleries, map, tree, exports and index.html.

This module only orchestrates: each picture has its own module (``create_*`` computes,
``render_*`` draws) and the page comes from templates (``raregal.report.html``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from raregal import __version__
from raregal.constants import FILE_COLUMN, ID_COLUMN, NOISE
from raregal.discover.ranking import display_order
from raregal.errors import InputError
from raregal.io.atomic import atomic_path
from raregal.io.tables import read_table
from raregal.recovery import MIN_FRACTION_HELD, MIN_PURITY
from raregal.report.artifacts import create_artifact_gallery, render_artifact_gallery
from raregal.report.exports import create_export, render_export
from raregal.report.gallery import create_gallery, gallery_columns, render_gallery
from raregal.report.glossary import GLOSSARY
from raregal.report.html import render_html
from raregal.report.icicle import create_icicle, node_marks_of, render_icicle_svg
from raregal.report.inputs import RunTables, find_flag, read_marks, read_run
from raregal.report.map import create_map, render_map
from raregal.report.palette import cluster_colours, tag_colour
from raregal.report.sky import SIMULATED_NOTE, coordinates_simulated, sky_links
from raregal.report.stability import create_stability, seed_text
from raregal.report.thumbs import create_thumbs
from raregal.report.tree import create_tree, render_tree

log = logging.getLogger(__name__)

DEFAULT_MAX_PER_GALLERY = 48
DEFAULT_THUMB_SIZE = 128
ARTIFACT_COLUMN = "smooth-or-featured_artifact_fraction"
ARTIFACT_THRESHOLD = 0.3
SUMMARY_JSON = "report.json"
QUEUE_SHOWN = 48
CLUSTER_EXTRAS = {"interest": ".3g", "interest_rank": "d", "seed_stability": ".2f"}
"""Columns of clusters.parquet shown in the table when present, with their format."""


@dataclass
class ReportSummary:
    """What ``create_report`` wrote and what it could not show.

    Attributes
    ----------
    index : Path
        The page to open (``report/index.html``).
    n_clusters, n_thumbs : int
        Clusters reported; gallery images shown in all.
    n_missing : int
        Gallery images that were missing or unreadable (shown as placeholders).
    missing_by_cluster : dict
        Cluster letter -> missing images, for clusters with any.
    seconds : float
        Time taken.
    """

    index: Path
    n_clusters: int
    n_thumbs: int
    n_missing: int
    missing_by_cluster: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _fmt(value: Any, spec: str = ".3g") -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return format(value, spec) if math.isfinite(value) else "–"


def _value(row: pd.Series, name: str) -> Any:
    return row[name] if name in row.index else None


def _artifact_means(tables: RunTables) -> pd.Series | None:
    """Mean artifact vote fraction per cluster, when some table of the run has the column."""
    galaxies = tables.galaxies
    if ARTIFACT_COLUMN not in galaxies.columns:
        source = tables.path / "representations.parquet"
        if not source.exists():
            return None
        try:
            fractions = read_table(source, columns=[ID_COLUMN, ARTIFACT_COLUMN])
        except Exception:  # the column may be absent: then there is nothing to report
            return None
        galaxies = galaxies[[ID_COLUMN, "cluster"]].merge(fractions, on=ID_COLUMN, how="left")
    members = galaxies[galaxies["cluster"] >= 0]
    return members.groupby("cluster")[ARTIFACT_COLUMN].mean()


def _majority_classes(galaxies: pd.DataFrame) -> dict[int, str]:
    """Cluster number -> its commonest ``true_class`` and share (e.g. ``"ring 92%"``), if known."""
    if "true_class" not in galaxies.columns:
        return {}
    members = galaxies[galaxies["cluster"] >= 0]
    shares = members.groupby("cluster")["true_class"].value_counts(normalize=True)
    top = shares.groupby(level=0).head(1)
    return {int(c): f"{name} {share:.0%}" for (c, name), share in top.items()}


def _seeds_recovered(tables: RunTables) -> dict[str, int]:
    """Class -> seeds in which it is recovered (empty with one seed or without the truth)."""
    seed_labels = tables.seed_clusters
    if seed_labels is None or tables.recovery is None or "true_class" not in tables.galaxies:
        return {}
    from raregal.recovery import seeds_recovered

    truth = tables.galaxies[[ID_COLUMN, "true_class"]].astype({ID_COLUMN: str})
    aligned = seed_labels.astype({ID_COLUMN: str}).merge(truth, on=ID_COLUMN, how="left")
    classes = sorted(tables.recovery["true_class"].astype(str).unique())
    counts = seeds_recovered(aligned["true_class"].fillna(""), aligned, classes)
    return {str(k): int(v) for k, v in counts.items()}


def _recovery_rows(
    recovery: pd.DataFrame, letters: dict[int, str], seeds: dict[str, int] | None = None,
    n_seeds: int = 1,
) -> list[dict[str, Any]]:  # fmt: skip
    seeds = seeds or {}
    rows = []
    for true_class, group in recovery.groupby("true_class", sort=True):
        group = group.sort_values("completeness", ascending=False)
        pure = group["purity"] >= MIN_PURITY
        pure_completeness = float(group.loc[pure, "completeness"].sum())
        holders = [
            {
                "letter": letters.get(int(h.cluster), str(h.cluster)),
                "pure": bool(h.purity >= MIN_PURITY),
                "purity_text": _fmt(h.purity, ".2f"),
                "completeness_text": _fmt(h.completeness, ".2f"),
            }
            for h in group.itertuples()
        ]
        rows.append(
            {
                "true_class": str(true_class),
                "recovered": pure_completeness >= MIN_FRACTION_HELD,
                "pure_completeness_text": _fmt(pure_completeness, ".2f"),
                "holders": holders,
                "seeds_text": (f"{seeds[str(true_class)]}/{n_seeds}"
                               if str(true_class) in seeds else ""),
            }
        )
    return rows


def _flat(items: Iterable[tuple[str, Any]], prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for key, value in items:
        if isinstance(value, dict):
            out.extend(_flat(value.items(), f"{prefix}{key}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out.append((f"{prefix}{key}", text))
    return out


def _record_context(record: dict[str, Any]) -> dict[str, Any]:
    stages = [
        {
            "name": name,
            "params": _flat((entry.get("params") or {}).items()),
            "seconds": entry.get("computed_seconds", entry.get("seconds")),
            "reused": bool(entry.get("reused")),
        }
        for name, entry in (record.get("stages") or {}).items()
        if isinstance(entry, dict)
    ]
    inputs = [
        (role, {"path": info.get("path", ""), "checksum": info.get("checksum", "")})
        for role, info in (record.get("inputs") or {}).items()
        if isinstance(info, dict)
    ]
    return {
        "counts": _flat((record.get("counts") or {}).items()),
        "stages": stages,
        "inputs": inputs,
        "created": record.get("created", ""),
    }


def _write_cluster_files(
    out: Path,
    galaxies: pd.DataFrame,
    members: pd.DataFrame,
    number: int,
    letter: str,
    colour: str,
    subtitle: str,
    has_images: bool,
) -> str:
    """Write a cluster's mosaic figure and catalogs; returns the figure's link ('' if none)."""
    figure = f"galleries/cluster_{letter}.jpg"
    if has_images and len(members):
        thumbs = [out / src for src in members["src"]]
        render_gallery(thumbs, out / figure, letter, subtitle, colour, gallery_columns(len(thumbs)))
    else:
        figure = ""
    export = create_export(galaxies, number)
    render_export(export, out / "exports" / f"cluster_{letter}", f"raregal_cluster_{letter}")
    return figure


def _placed_gallery(
    placed: pd.DataFrame | None, max_per_gallery: int, out: Path, thumb_size: int
) -> pd.DataFrame:
    """The placed galaxies each gallery shows (a quarter of the gallery's cap, most probable
    first), with their thumbnails; an empty frame when the run has none."""
    columns = [ID_COLUMN, "cluster", "rank", "probability", "src", "found", "ra", "dec"]
    if placed is None or not len(placed):
        return pd.DataFrame({c: [] for c in columns}).astype({"cluster": int})
    shown = create_gallery(placed, max(1, max_per_gallery // 4))
    if FILE_COLUMN in shown.columns and shown[FILE_COLUMN].notna().any():
        thumbs = create_thumbs(shown[FILE_COLUMN].tolist(), out / "thumbs", thumb_size)
        shown["src"] = [f"thumbs/{t.name}" for t in thumbs]
        shown["found"] = [t.found for t in thumbs]
    else:
        shown["src"], shown["found"] = None, True
    for column in ("ra", "dec"):
        if column not in shown.columns:
            shown[column] = np.nan
    return shown


def _member_entries(members: pd.DataFrame, has_sky: bool) -> list[dict[str, Any]]:
    """What a gallery shows of each member: name, probability, thumbnail, sky-viewer links."""
    out = []
    for _, m in members.iterrows():
        links = sky_links(m["ra"], m["dec"]) if has_sky else {}
        out.append(
            {
                "id_str": str(m[ID_COLUMN]),
                "probability_text": _fmt(m["probability"], ".2f"),
                "src": m["src"],
                "found": bool(m["found"]),
                "url": links.get("Legacy Survey"),
                "links": links,
            }
        )
    return out


def _extras(row: pd.Series) -> dict[str, str]:
    """The optional columns of a cluster's row (interest, ...), formatted; absent ones left out."""
    out = {}
    for name, spec in CLUSTER_EXTRAS.items():
        value = _value(row, name)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        out[name] = format(int(value), spec) if spec == "d" else _fmt(value, spec)
    return out


def _description(row: pd.Series) -> str:
    value = _value(row, "description")
    return " ".join(value.split()) if isinstance(value, str) else ""


def _queue_context(run_path: Path, out: Path, thumb_size: int, has_sky: bool
                   ) -> dict[str, Any] | None:  # fmt: skip
    """The first places of the weirdest-first queue (``RUN/candidates.parquet``), if written."""
    from raregal.io.runfolder import RunFolder, cluster_letter

    run = RunFolder.open(run_path)
    if not run.has_table("candidates"):
        return None
    candidates = run.read_table("candidates")
    first = candidates.head(QUEUE_SHOWN)
    if FILE_COLUMN in first.columns:
        thumbs = create_thumbs(first[FILE_COLUMN].tolist(), out / "thumbs", thumb_size)
    else:
        thumbs = [None] * len(first)
    entries = []
    for (_, row), thumb in zip(first.iterrows(), thumbs, strict=True):
        cluster = int(row["cluster"]) if "cluster" in row.index else NOISE
        where = (f"cluster {cluster_letter(cluster)}" if cluster >= 0 else
                 "noise" if cluster == NOISE else "removed by the selection")  # fmt: skip
        links = sky_links(_value(row, "ra"), _value(row, "dec")) if has_sky else {}
        entries.append({
            "id_str": str(row[ID_COLUMN]), "rank": int(row["anomaly_rank"]),
            "score_text": _fmt(row["anomaly_score"], ".2f"), "where": where,
            "src": f"thumbs/{thumb.name}" if thumb is not None else None,
            "found": bool(thumb.found) if thumb is not None else True,
            "url": links.get("Legacy Survey"),
        })  # fmt: skip
    return {"n": len(candidates), "shown": entries,
            "selected": int(candidates["selected"].sum()) if "selected" in candidates else None}


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Remove gallery and export files of clusters that a previous report had and this lacks."""
    for path in folder.glob("cluster_*"):
        if path.name not in keep:
            path.unlink()


def create_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    max_per_gallery: int = DEFAULT_MAX_PER_GALLERY,
    thumb_size: int = DEFAULT_THUMB_SIZE,
) -> ReportSummary:
    """Write the report of a run folder and say what it holds.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder (galaxies, clusters, condensed_tree tables; run.json).
    out : path-like, optional
        Report folder; default ``run_dir/report``.
    max_per_gallery : int, default=48
        Members shown per cluster, most probable first; the page says how many of how many.
    thumb_size : int, default=128
        Edge of the square thumbnails in pixels. Thumbnails are written once and reused.

    Returns
    -------
    ReportSummary
    """
    start = time.perf_counter()
    if thumb_size < 16:
        raise InputError(f"thumb_size must be at least 16 pixels, got {thumb_size}")
    if max_per_gallery < 1:
        raise InputError(f"max_per_gallery must be at least 1, got {max_per_gallery}")
    tables = read_run(run_dir)
    out = Path(out) if out is not None else tables.path / "report"
    for sub in ("thumbs", "galleries", "exports", "figures"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    galaxies, clusters = tables.galaxies, tables.clusters
    numbers = [int(c) for c in clusters["cluster"]]
    palette = cluster_colours(max(numbers, default=-1) + 1)
    colours = {k: palette[k] for k in numbers}  # by number: the explorer colours alike
    letters = dict(zip(numbers, clusters["letter"].astype(str), strict=True))
    clusters = display_order(clusters)  # by interest where ranked; colours and letters by number
    marks = read_marks(tables.path)

    shown = create_gallery(galaxies, max_per_gallery)
    has_images = FILE_COLUMN in galaxies.columns and bool(galaxies[FILE_COLUMN].notna().any())
    if has_images:
        thumbs = create_thumbs(shown[FILE_COLUMN].tolist(), out / "thumbs", thumb_size)
        shown["src"] = [f"thumbs/{t.name}" for t in thumbs]
        shown["found"] = [t.found for t in thumbs]
    else:  # a run from a representation table alone: galleries list names, nothing is missing
        log.info("galaxies.parquet has no file_loc: galleries show names instead of images")
        shown["src"] = None
        shown["found"] = True
    placed_shown = _placed_gallery(tables.placed, max_per_gallery, out, thumb_size)
    log.info("thumbnails: %d shown, %.1f s", len(shown), time.perf_counter() - start)

    simulated = coordinates_simulated(tables.record, tables.path)
    has_coordinates = {"ra", "dec"} <= set(galaxies.columns)
    has_sky = has_coordinates and not simulated
    by_id = galaxies.set_index(ID_COLUMN) if has_sky else None
    artifacts_kept = find_flag(tables.record, "keep_artifacts")
    artifact_means = _artifact_means(tables) if artifacts_kept else None
    majorities = _majority_classes(galaxies)
    cluster_rows, missing_by_cluster, written = [], {}, set()
    groups = dict(tuple(shown.groupby("cluster")))
    placed_groups = dict(tuple(placed_shown.groupby("cluster")))
    placed_counts = (tables.placed["cluster"].value_counts().to_dict()
                     if tables.placed is not None else {})  # fmt: skip
    for _, row in clusters.iterrows():
        number, letter = int(row["cluster"]), letters[int(row["cluster"])]
        members = groups.get(number, shown.iloc[0:0])
        n_missing = int((~members["found"]).sum())
        if n_missing:
            missing_by_cluster[letter] = n_missing
        persistence = _fmt(row["persistence"])
        seeds = seed_text(_value(row, "seed_stability"), tables.n_seeds)
        subtitle = f"{int(row['size']):,} galaxies · persistence {persistence}"
        if seeds:
            subtitle += f" · found in {seeds} seeds"
        figure = _write_cluster_files(
            out, galaxies, members, number, letter, colours[number], subtitle, has_images,
        )  # fmt: skip
        written |= {f"cluster_{letter}.jpg", f"cluster_{letter}.csv", f"cluster_{letter}.vot"}
        medoid = _value(row, "medoid_id")
        medoid_url = None
        if has_sky and medoid is not None and medoid in by_id.index:
            medoid_url = sky_links(by_id.at[medoid, "ra"], by_id.at[medoid, "dec"]).get(
                "Legacy Survey"
            )
        artifact = artifact_means.get(number, np.nan) if artifact_means is not None else np.nan
        cluster_rows.append(
            {
                "letter": letter,
                "colour": colours[number],
                "size": int(row["size"]),
                "persistence_text": persistence,
                "seeds_text": seeds,
                "mean_probability_text": _fmt(_value(row, "mean_probability"), ".2f"),
                "n_shown": len(members),
                "n_missing": n_missing,
                "artifact": float(artifact),
                "artifact_text": _fmt(artifact, ".2f"),
                "medoid_id": "" if medoid is None else str(medoid),
                "medoid_url": medoid_url,
                "figure": figure,
                "majority": majorities.get(number, ""),
                "csv": f"exports/cluster_{letter}.csv",
                "vot": f"exports/cluster_{letter}.vot",
                "members": _member_entries(members, has_sky),
                "n_placed": int(placed_counts.get(number, 0)),
                "placed_members": _member_entries(
                    placed_groups.get(number, placed_shown.iloc[0:0]), has_sky
                ),
                "description": _description(row),
                "main_population": bool(_value(row, "main_population") or False),
                "extras": _extras(row),
                "node": int(row["node"]) if "node" in row.index and pd.notna(row["node"]) else None,
                "marks": [
                    {"tag": str(m.tag), "note": str(m.note), "colour": tag_colour(str(m.tag))}
                    for m in marks.itertuples()
                    if m.target_kind == "cluster" and str(m.target) == letter
                ],
            }
        )
    _remove_stale(out / "galleries", written)
    _remove_stale(out / "exports", written)
    log.info(
        "galleries and exports: %d clusters, %.1f s", len(numbers), time.perf_counter() - start
    )

    map_data = create_map(galaxies, clusters, colours, tables.placed)
    render_map(map_data, out / "figures" / "map.png", f"{len(galaxies):,} selected galaxies")
    node_colours, node_letters = {}, {}
    if "node" in clusters.columns:
        node_colours = {
            int(n): colours[int(c)] for n, c in zip(clusters["node"], numbers, strict=True)
        }
        node_letters = {
            int(n): letters[int(c)] for n, c in zip(clusters["node"], numbers, strict=True)
        }
    shapes = create_tree(tables.tree, node_colours, node_letters)
    render_tree(shapes, out / "figures" / "tree.png")
    icicle = create_icicle(tables.tree, clusters, colours)
    tree_svg = render_icicle_svg(icicle, node_marks_of(marks))
    log.info("map and tree: %.1f s", time.perf_counter() - start)

    artifact_gallery = None
    if artifacts_kept and artifact_means is not None and has_images:
        rows = create_artifact_gallery(cluster_rows, ARTIFACT_THRESHOLD)
        if rows:
            figure = render_artifact_gallery(rows, out, out / "figures" / "artifacts.jpg")
            artifact_gallery = {"figure": f"figures/{figure.name}", "rows": rows}

    labels = galaxies["cluster"].to_numpy()
    n_missing = int((~shown["found"]).sum())
    context = {
        "title": f"raregal: rare classes in {tables.path.resolve().name}",
        "run_name": str(tables.path.resolve().name),
        "version": __version__,
        "written": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "summary": {
            "n_clusters": len(numbers),
            "n_selected": len(galaxies),
            "n_clustered": int((labels >= 0).sum()),
            "n_noise": int((labels < 0).sum()),
            "n_thumbs": len(shown),
            "n_missing": n_missing,
            "n_placed": 0 if tables.placed is None else len(tables.placed),
            "n_placed_clustered": (0 if tables.placed is None
                                   else int((tables.placed["cluster"] >= 0).sum())),
        },
        "clusters": cluster_rows,
        "distinct": [c for c in cluster_rows if not c["main_population"]],
        "main_population": [c for c in cluster_rows if c["main_population"]],
        "main_population_size": sum(c["size"] for c in cluster_rows if c["main_population"]),
        "ranked": "interest_rank" in clusters.columns,
        "queue": _queue_context(tables.path, out, thumb_size, has_sky),
        "has_sky": has_sky,
        "simulated": simulated and has_coordinates,
        "sky_note": SIMULATED_NOTE,
        "has_images": has_images,
        "tree_svg": Markup(tree_svg),
        "glossary": GLOSSARY,
        "extra_columns": [c for c in CLUSTER_EXTRAS if any(c in r["extras"] for r in cluster_rows)],
        "has_descriptions": any(r["description"] for r in cluster_rows),
        "has_truth": bool(majorities),
        "thumb_size": thumb_size,
        "display_size": max(32, round(thumb_size * 0.78)),  # sharp on high-density screens
        "map_png": "figures/map.png",
        "map_compact": len(map_data.islands) > 0,
        "tree_png": "figures/tree.png",
        "tree_leaves": shapes.n_leaves,
        "artifacts_kept": artifacts_kept,
        "artifact_column": artifact_means is not None,
        "artifact_clusters": [
            c["letter"] for c in cluster_rows if c["artifact"] >= ARTIFACT_THRESHOLD
        ],
        "artifact_gallery": artifact_gallery,
        "model": tables.record.get("model"),
        "domain_guard": tables.record.get("domain_guard"),
        "min_purity": MIN_PURITY,
        "min_fraction_held": MIN_FRACTION_HELD,
        "recovery": (_recovery_rows(tables.recovery, letters, _seeds_recovered(tables),
                                    tables.n_seeds) if tables.recovery is not None else []),
        "stability": create_stability(clusters, tables.n_seeds),
        "n_seeds": tables.n_seeds,
        **_record_context(tables.record),
    }
    index = render_html(context, out / "index.html")
    summary = ReportSummary(
        index=index,
        n_clusters=len(numbers),
        n_thumbs=len(shown),
        n_missing=n_missing,
        missing_by_cluster=missing_by_cluster,
        seconds=round(time.perf_counter() - start, 3),
    )
    with atomic_path(out / SUMMARY_JSON) as tmp:
        tmp.write_text(json.dumps(asdict(summary), indent=2, default=str))
    log.info("report written to %s in %.1f s", index, summary.seconds)
    return summary


def build_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    max_per_gallery: int = DEFAULT_MAX_PER_GALLERY,
    thumb_size: int = DEFAULT_THUMB_SIZE,
) -> Path:
    """Write the report of a run folder; returns the path of its ``index.html``.

    See ``create_report`` for the parameters; its summary (missing images included) is also
    written to ``report.json`` beside the page and logged.
    """
    return create_report(run_dir, out, max_per_gallery, thumb_size).index
