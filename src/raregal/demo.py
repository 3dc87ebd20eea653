"""The demo: simulate a survey with planted rare classes, embed it, search it, report it.

Since the truth is known, the demo also says which planted class each cluster matches, with
purity and completeness (``RUN/recovery.csv``), and which classes count as recovered: the leaf
clusters in which a class is the majority, each with purity >= 0.7, together hold at least 20% of
its members (leaf selection splits classes into pure fragments, which the paper groups by eye).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster.stability import stable_count
from raregal.io.runfolder import RunFolder

logger = logging.getLogger(__name__)

DEMO_N = 12_000
"""Galaxies in the demo survey: enough for rare classes of ~1% to stand out, small enough for
the whole demo to finish in under 10 minutes on two cores."""

DEMO_SEED = 0
DEMO_RARE_FRACTION = 0.01
"""Each planted rare class is 1% of the demo survey (the top of the simulator's 0.2-1% range)."""
DEMO_ARTIFACT_FRACTION = 0.005
"""Each artifact type is 0.5% of the default demo survey; the artifact rule removes them."""
DEMO_KEPT_ARTIFACT_FRACTION = 0.01
"""Each artifact type is 1% of the ``--keep-artifacts`` demo survey (120 of 12,000), so that enough
of each type pass the other rules to form clusters at the demo's ``min_samples`` and
``min_cluster_size``."""
DEMO_PRESET = "decals"
"""The demo survey looks like the DESI Legacy Surveys (the paper's data)."""

DEMO_SEARCH: dict[str, Any] = {"min_samples": 25, "min_cluster_size": 20, "n_neighbors": 50,
                               "n_seeds": 3}  # fmt: skip
"""Search parameters scaled to the demo's size. The paper's ``min_samples=300`` suits 632k
featured galaxies, where a class needs a few hundred members to stand out; the demo's classes
have about a hundred featured members, so the density scale is set to 25. Three UMAP seeds show
which clusters survive a change of seed (``seed_stability``)."""


@dataclass
class DemoResult:
    """What the demo found: the run folder, the cluster table and the recovery of each class."""

    run_dir: Path
    clusters: pd.DataFrame
    recovery: pd.DataFrame
    summary: pd.DataFrame
    parameters: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    report: Path | None = None
    artifacts: dict[str, int] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)

    @property
    def n_recovered(self) -> int:
        return int(self.summary["recovered"].sum())


def demo(
    out: str | os.PathLike[str] = "runs/demo",
    n: int = DEMO_N,
    seed: int = DEMO_SEED,
    model: str | os.PathLike[str] = "demo",
    workers: int | None = None,
    keep_artifacts: bool = False,
    report: bool = True,
    rare_fraction: float = DEMO_RARE_FRACTION,
    preset: str = DEMO_PRESET,
    **search_params: Any,
) -> DemoResult:
    """Simulate ``n`` galaxies, run the search on them with the bundled encoder, and judge it.

    Parameters
    ----------
    out : path-like, default='runs/demo'
        The run folder; the survey goes to ``out/survey`` and is reused by a later call.
    n : int, default=DEMO_N
        Galaxies to simulate.
    seed : int, default=0
        The survey's seed (the demo encoder was trained on another seed).
    model : str or path-like, default='demo'
        The encoder.
    workers : int, default=None
        Processes for the simulation; every core when None.
    keep_artifacts : bool, default=False
        Run the artifact experiment (the artifact rule off).
    report : bool, default=True
        Write the HTML report.
    rare_fraction : float, default=DEMO_RARE_FRACTION
        Fraction of the survey in each planted rare class.
    preset : str, default=DEMO_PRESET
        How the simulated survey looks (``raregal.simulate.presets``).
    **search_params
        Overrides of ``DEMO_SEARCH``.
    """
    from raregal.encode.models import load_model
    from raregal.pipeline import run_pipeline
    from raregal.simulate.survey import simulate_survey

    out = Path(out)
    seconds: dict[str, float] = {}
    image_size = load_model(model).image_size
    artifact_fraction = DEMO_KEPT_ARTIFACT_FRACTION if keep_artifacts else DEMO_ARTIFACT_FRACTION
    start = time.perf_counter()
    catalog = simulate_survey(
        out / "survey",
        n=n,
        seed=seed,
        size=image_size,
        rare_fraction=rare_fraction,
        artifact_fraction=artifact_fraction,
        workers=workers,
        preset=preset,
    )
    seconds["simulate"] = round(time.perf_counter() - start, 2)
    params = {**DEMO_SEARCH, **search_params, "keep_artifacts": keep_artifacts}
    result = run_pipeline(catalog, out, model=model, report=False, **params)
    seconds.update(result.seconds)
    recovery, summary = judge_recovery(result.search.galaxies_, keep_artifacts,
                                       result.search.seed_labels_)  # fmt: skip
    run = RunFolder(out)
    with run.transaction():
        run.write_table("recovery", recovery)
        artifacts = artifact_removal(run, catalog)
        run.record["demo"] = {
            "n": n,
            "seed": seed,
            "rare_fraction": rare_fraction,
            "artifact_fraction": artifact_fraction,
            "preset": preset,
            "search_parameters": params,
            "recovered": int(summary["recovered"].sum()),
            "classes": len(summary),
            "artifacts": artifacts,
        }
        if "seeds_recovered" in summary:
            stable = summary["recovered"] & (summary["seeds_recovered"] >= stable_count(
                int(summary["n_seeds"].iloc[0]) if len(summary) else 1))  # fmt: skip
            run.record["demo"]["recovered_and_stable"] = int(stable.sum())
        run.record["recovery"] = summary.to_dict(orient="records")
    index = None
    if report:
        from raregal.report import build_report

        start = time.perf_counter()
        index = build_report(out)
        seconds["report"] = round(time.perf_counter() - start, 2)
    return DemoResult(
        run_dir=out,
        clusters=result.search.clusters_,
        recovery=recovery,
        summary=summary,
        parameters=params,
        seconds=seconds,
        report=index,
        artifacts=artifacts,
        guard=run.record.get("domain_guard", {}),
    )


def artifact_removal(run: RunFolder, catalog: Path) -> dict[str, int]:
    """How many planted artifacts the selection removed, by the artifact rule and by any rule."""
    from raregal.constants import ID_COLUMN
    from raregal.io.tables import read_table

    truth = read_table(catalog, columns=[ID_COLUMN, "class_kind"])
    selection = run.read_table("selection", columns=[ID_COLUMN, "removed_by"])
    merged = truth.astype({ID_COLUMN: str}).merge(
        selection.astype({ID_COLUMN: str}), on=ID_COLUMN, how="inner"
    )
    planted = merged[merged["class_kind"] == "artifact"]
    return {
        "planted": len(planted),
        "removed_by_artifact_rule": int((planted["removed_by"] == "artifact").sum()),
        "removed_by_any_rule": int((planted["removed_by"] != "").sum()),
    }


def planted_classes(keep_artifacts: bool) -> list[str]:
    """The simulator's planted rare classes, and its artifact types in the artifact experiment."""
    from raregal.simulate.classes import CLASSES

    kinds = {"rare", "artifact"} if keep_artifacts else {"rare"}
    return [c.name for c in CLASSES if c.kind in kinds]


def judge_recovery(
    galaxies: pd.DataFrame, keep_artifacts: bool = False, seed_labels: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recovery table (planted classes only) and per-class summary of the demo's clusters.

    With ``seed_labels`` (the run's seed_clusters table, rows as ``galaxies``) the summary also
    says in how many seeds each class is recovered (``seeds_recovered``, of ``n_seeds``).
    """
    from raregal.io.runfolder import seed_cluster_columns
    from raregal.recovery import recovery_summary, seeds_recovered

    classes = planted_classes(keep_artifacts)
    table, summary = recovery_summary(galaxies, classes=classes)
    if seed_labels is not None:
        found = seeds_recovered(galaxies["true_class"], seed_labels, classes)
        summary["seeds_recovered"] = summary["true_class"].map(found).fillna(0).astype(int)
        summary["n_seeds"] = len(seed_cluster_columns(seed_labels))
    table = table[table["true_class"].isin(classes)]
    return table[["true_class", "cluster", "purity", "completeness"]].reset_index(
        drop=True
    ), summary


def format_summary(result: DemoResult) -> str:
    """The demo's closing summary: clusters by interest with what sets each apart and the planted
    class it matches (the main population folded into one line), and the recovery."""
    from raregal.discover.ranking import display_order
    from raregal.recovery import MIN_PURITY

    clusters = display_order(result.clusters)
    lines = [
        f"run folder: {result.run_dir}",
        "search parameters (scaled to the demo's size): "
        + ", ".join(f"{k}={v}" for k, v in result.parameters.items()),
        f"clusters found: {len(clusters)}, by how rare they look:",
    ]
    best = result.recovery.sort_values("purity", ascending=False).drop_duplicates("cluster")
    match = best.set_index("cluster")
    main = (clusters["main_population"].to_numpy(bool) if "main_population" in clusters
            else np.zeros(len(clusters), bool))  # fmt: skip
    for row in clusters[~main].itertuples():
        label = f"  {row.letter:>3} size {row.size:5d}"
        if row.cluster in match.index:
            m = match.loc[row.cluster]
            label += f"  {m.true_class} (purity {m.purity:.2f}, completeness {m.completeness:.2f})"
        if getattr(row, "description", ""):
            label += f"\n        {row.description}"
        lines.append(label)
    if main.any():
        folded = clusters[main]
        pure = [c for c in folded["cluster"]
                if c in match.index and match.loc[c, "purity"] >= MIN_PURITY]  # fmt: skip
        planted = sorted({str(match.loc[c, "true_class"]) for c in pure})
        lines.append(
            f"  main population: {len(folded)} clusters of {int(folded['size'].sum()):,} galaxies "
            f"no more distinct than the average ({', '.join(folded['letter'])})"
            + (f"; pure clusters of {', '.join(planted)} among them" if planted else "")
        )
    lines.append(f"planted classes recovered: {result.n_recovered} of {len(result.summary)}")
    for row in result.summary.itertuples():
        mark = "yes" if row.recovered else "no "
        line = (f"  {mark} {row.true_class:<18} members {row.members:4d}  held in pure clusters "
                f"{row.fraction_held:.0%}  best purity {row.best_purity:.2f}")  # fmt: skip
        if hasattr(row, "seeds_recovered"):
            line += f"  recovered in {row.seeds_recovered}/{row.n_seeds} seeds"
        lines.append(line)
    if "seed_stability" in clusters and clusters["seed_stability"].notna().any():
        n_seeds = int(result.summary["n_seeds"].iloc[0]) if "n_seeds" in result.summary else 1
        found = (clusters["seed_stability"] * n_seeds).round().astype(int)
        counts = ", ".join(f"{int((found == k).sum())} in {k}" for k in range(n_seeds, 0, -1))
        lines.append(f"clusters found again with other seeds: {counts} of {n_seeds} seeds")
    if result.artifacts.get("planted"):
        a = result.artifacts
        lines.append(
            f"planted artifacts removed by the artifact rule: {a['removed_by_artifact_rule']} of "
            f"{a['planted']} (by any rule: {a['removed_by_any_rule']})"
        )
    if result.guard.get("warned"):
        lines.append(f"domain guard: {result.guard['message']}")
    lines.append("times: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()))
    if result.report:
        lines.append(f"report: {result.report}")
    return "\n".join(lines)
