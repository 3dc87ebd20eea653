"""The main job: from images, an image catalog or a representation table to a report.

``run_pipeline`` chains embed (when the input holds images), select, reduce, cluster and report,
each stage cached in the run folder so that a re-run with new clustering parameters redoes only
what changed.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.io.runfolder import CARRIED_COLUMNS, RunFolder
from raregal.io.tables import FORMATS, guess_format, read_table

logger = logging.getLogger(__name__)


EMBED_FOLDER = "embed"
REPRESENTATIONS = "representations"


@dataclass
class PipelineResult:
    """What ``run_pipeline`` did.

    Attributes
    ----------
    run_dir : Path
        The run folder.
    input_kind : str
        ``images`` (a folder), ``catalog`` (id_str + file_loc) or ``representations``.
    search : RareClassSearch
        The fitted search.
    report : Path or None
        ``report/index.html`` when a report was written.
    seconds : dict of str to float
        Wall time per stage of this call.
    """

    run_dir: Path
    input_kind: str
    search: Any
    report: Path | None
    seconds: dict[str, float]


def input_kind(path: str | os.PathLike[str]) -> str:
    """Tell what ``path`` holds: ``images``, ``catalog`` or ``representations``.

    A folder is a folder of images; a table with ``feat_*`` columns is a representation table;
    a table with ``file_loc`` but no features is an image catalog.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("input not found", path=path)
    if path.is_dir():
        return "images"
    columns = _column_names(path)
    if any(str(c).startswith("feat_") for c in columns):
        return "representations"
    if FILE_COLUMN in columns:
        return "catalog"
    raise InputError(
        "neither a representation table (feat_* columns) nor an image catalog (id_str, file_loc)",
        path=path,
        column="feat_*",
    )


def _column_names(path: Path) -> list[str]:
    fmt = guess_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:
            raise InputError(f"not a readable parquet table ({exc})", path=path) from exc
    if fmt in FORMATS:
        return list(read_table(path).columns)
    raise InputError("unknown table format", path=path)  # pragma: no cover - guess_format raises


def embed_stage(
    run: RunFolder,
    source: Path,
    kind: str,
    model: str | os.PathLike[str],
    embed_options: dict[str, Any],
) -> Path:
    """Encode the images of ``source`` into ``RUN/representations.parquet`` (cached by inputs).

    The table holds ``id_str``, ``feat_*``, the vote fractions and the catalog columns
    (``raregal.io.runfolder.CARRIED_COLUMNS``) that the source has, with absolute ``file_loc``.
    """
    from raregal.encode.embed import embed
    from raregal.report.sky import table_is_simulated

    if kind == "catalog":
        upstream = run.add_input("catalog", source)
        if table_is_simulated(source):  # made-up ra, dec: pictures switch sky links off
            run.record["inputs"]["catalog"]["simulated"] = True
    else:
        upstream = f"folder:{source.resolve()}:{_folder_digest(source)}"
        run.record["inputs"]["images"] = {"path": str(source.resolve()), "checksum": upstream}
    params = {"model": str(model), **embed_options}
    with run.stage("embed", params, upstream=upstream, outputs=(REPRESENTATIONS,)) as stage:
        if stage.reused:
            logger.info("embed: reusing %s", run.table_path(REPRESENTATIONS))
            return run.source_path(REPRESENTATIONS)
        raw = run.path / EMBED_FOLDER / "representations.parquet"
        result = embed(source, raw, model, overwrite=raw.exists(), **embed_options)
        representations = read_table(result.path)
        representations = _with_catalog_columns(representations, source)
        failures = read_table(result.failures_path)
        run.set_count("images", result.n_images)
        run.set_count("embedded", result.n_rows)
        run.set_count("unreadable_images", result.n_failed)
        metadata = {"model": str(model)}
        if kind == "catalog" and table_is_simulated(source):
            metadata["simulated"] = True
        run.write_table(REPRESENTATIONS, representations, key=stage.key, metadata=metadata)
        stage.note(
            images_per_second=round(result.images_per_second, 2),
            failures_table=str(result.failures_path),
            failures=len(failures),
        )
    return run.source_path(REPRESENTATIONS)


def guard_stage(
    run: RunFolder, representations: Path, model: str | os.PathLike[str], keep_artifacts: bool
) -> None:
    """Record which model made the representations, and warn when it looks out of its depth.

    ``run.json`` gets ``model`` (name, architecture, input size, what it was trained on) and
    ``domain_guard`` (``raregal.encode.guard.check_domain``: its figures, and the warning).
    """
    from raregal.encode.guard import check_domain
    from raregal.encode.models import model_card

    card = model_card(model)
    run.record["model"] = {k: v for k, v in card.items() if k != "reference"}
    rules = ("smooth", "edge_on") if keep_artifacts else ("smooth", "edge_on", "artifact")
    result = check_domain(read_table(representations), card["reference"], f"model '{model}'", rules)
    run.record["domain_guard"] = result.to_dict()
    if result.warned:
        logger.warning("%s", result.message)


def table_model(source: Path) -> dict[str, Any]:
    """What a representation table says about the model that made it (its embed metadata)."""
    import json

    import pyarrow.parquet as pq

    from raregal.io.tables import METADATA_KEY

    described: Any = {}
    if guess_format(source) == "parquet":
        raw = (pq.read_schema(source).metadata or {}).get(METADATA_KEY.encode())
        described = (json.loads(raw) if raw else {}).get("model") or {}
    if isinstance(described, str):
        described = {"name": described}
    return {
        "name": described.get("name", f"unknown (representations read from {source.name})"),
        "arch": described.get("arch"),
        "image_size": described.get("image_size"),
        "trained_on": described.get("trained_on"),
    }


def _folder_digest(folder: Path) -> str:
    """A cheap fingerprint of a folder of images: names, sizes and modification times."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _with_catalog_columns(representations: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Join absolute ``file_loc`` and, from a catalog, ra, dec and true_class on the id."""
    from raregal.encode.embed import image_table

    extra = image_table(source)[0][[ID_COLUMN, FILE_COLUMN]]
    if not source.is_dir():
        catalog = read_table(source)
        keep = [c for c in CARRIED_COLUMNS if c in catalog.columns and c != FILE_COLUMN]
        columns = catalog[[ID_COLUMN, *keep]].astype({ID_COLUMN: str})
        extra = extra.merge(columns, on=ID_COLUMN, how="left", validate="one_to_one")
    extra = extra.astype({ID_COLUMN: str})
    representations = representations.drop(
        columns=[c for c in extra if c != ID_COLUMN and c in representations]
    )
    representations[ID_COLUMN] = representations[ID_COLUMN].astype(str)
    return representations.merge(extra, on=ID_COLUMN, how="left", validate="one_to_one")


def run_pipeline(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] = "demo",
    morphology: str | os.PathLike[str] | None = None,
    report: bool = True,
    embed_options: dict[str, Any] | None = None,
    report_options: dict[str, Any] | None = None,
    **search_params: Any,
) -> PipelineResult:
    """Run the whole job on ``source`` into the run folder ``out``.

    Parameters
    ----------
    source : path-like
        A folder of images, an image catalog (``id_str``, ``file_loc``) or a representation table.
    out : path-like
        The run folder (created or updated; cached stages are reused).
    model : str or path-like, default='demo'
        The encoder, for image inputs (anything ``raregal.encode.load_model`` accepts).
    morphology : path-like, default=None
        A vote-fraction table joined on the id, for representation tables without fractions.
    report : bool, default=True
        Write ``RUN/report/index.html``.
    embed_options, report_options : dict, default=None
        Keyword arguments for ``raregal.encode.embed.embed`` and ``raregal.report.build_report``.
    **search_params
        ``RareClassSearch`` parameters (``min_samples``, ``n_neighbors``, ...).

    Returns
    -------
    PipelineResult
    """
    from raregal.search.run import SEARCH_TABLES, run_search

    source = Path(source)
    kind = input_kind(source)
    run = RunFolder(out)
    seconds: dict[str, float] = {}
    with run.transaction(whole=True):  # embed and search: one commit
        if source.is_file():
            writes = SEARCH_TABLES + (() if kind == "representations" else (REPRESENTATIONS,))
            run.refuse_input(source, "source", writes)
        run.record["pipeline"] = {"input": str(source.resolve()), "input_kind": kind}
        if kind == "representations":
            representations: Path = source
            run.record["model"] = table_model(source)
        else:
            run.record["pipeline"]["model"] = str(model)
            start = time.perf_counter()
            representations = embed_stage(run, source, kind, model, dict(embed_options or {}))
            seconds["embed"] = round(time.perf_counter() - start, 2)
            guard_stage(run, representations, model, bool(search_params.get("keep_artifacts")))
        start = time.perf_counter()
        search = run_search(representations, run, morphology=morphology, **search_params)
        seconds["search"] = round(time.perf_counter() - start, 2)
    index = None
    if report:
        from raregal.report import build_report

        start = time.perf_counter()
        with run.transaction(), run.stage("report", dict(report_options or {})) as stage:
            index = build_report(run.path, **(report_options or {}))
            stage.note(index=str(index))
        seconds["report"] = round(time.perf_counter() - start, 2)
    return PipelineResult(run.path, kind, search, index, seconds)
