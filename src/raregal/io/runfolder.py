"""The run folder: the contract between the stages, in one place.

``TABLES`` declares each table of a run folder (its file, required and optional columns and their
kinds); ``RunFolder`` writes tables that follow it and reads them back checked; ``run.json``, the
record of the run (parameters of every stage, package versions, input checksums, counts after
each step, timings, what was reused), is read and written only here. Search, report, explore and
predict-style readers all open a run through ``RunFolder.open``, which refuses a folder written
by an older raregal (``FORMAT_VERSION``) with one clear line instead of half-reading it.

A stage's outputs are reused when its parameters and the key of its input are unchanged and every
output table carries that key (see ``RunFolder.stage``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import pandas as pd

from raregal import __version__
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.io.atomic import atomic_path
from raregal.io.tables import METADATA_KEY, read_table, write_table

RUN_JSON = "run.json"
PLACEMENT_FOLDER = "placement"
"""What placing new galaxies needs of the fitted reducer (``raregal.predict.model``; arrays and
JSON, never a pickle): ``placement.json`` (the UMAP parameters, the feature names, the selection
rules and the reduce stage's key), ``index.hnsw`` (the HNSW index over the fitted galaxies, rows
as galaxies.parquet) and, when PCA ran first, ``pca_mean.npy`` and ``pca_components.npy``."""
FORMAT_VERSION = 2
"""Version of the run-folder layout; 1 is raregal 0.1 (which recorded none)."""

TRACKED_PACKAGES = (
    "numpy", "pandas", "pyarrow", "astropy", "scikit-learn", "umap-learn", "pynndescent",
    "fast_hdbscan", "hdbscan", "hnswlib", "numba", "torch", "timm", "galsim",
)  # fmt: skip


# ----------------------------------------------------------------------------- the tables


@dataclass(frozen=True)
class Column:
    """One column of a run-folder table: its name (or a regular expression for a family such as
    ``umap_0..``), its kind ('str', 'int', 'float' or 'bool') and whether it must be present."""

    name: str
    kind: str
    required: bool = True
    pattern: bool = False
    description: str = ""

    def matches(self, column: str) -> bool:
        return bool(re.fullmatch(self.name, column)) if self.pattern else column == self.name


@dataclass(frozen=True)
class TableSpec:
    """A table of the run folder: file name, columns, and what it holds."""

    name: str
    filename: str
    columns: tuple[Column, ...]
    description: str

    def required(self) -> list[str]:
        """Names of the required (non-pattern) columns, in order."""
        return [c.name for c in self.columns if c.required and not c.pattern]

    def column(self, name: str) -> Column | None:
        """The declared column that ``name`` is (exactly or by pattern), or None."""
        return next((c for c in self.columns if c.matches(name)), None)

    def check(self, df: pd.DataFrame, path: Any) -> None:
        """Raise InputError (file, column, count) when ``df`` breaks this table's contract."""
        missing = [c for c in self.required() if c not in df.columns]
        families = [c for c in self.columns if c.required and c.pattern]
        missing += [c.name for c in families if not any(c.matches(str(n)) for n in df.columns)]
        if missing:
            raise InputError(
                f"the {self.name} table lacks {len(missing)} required column(s): "
                f"{', '.join(missing)}", path=path, column=missing[0], count=len(missing),
            )  # fmt: skip
        if len(df) == 0:
            return
        for name in df.columns:
            spec = self.column(str(name))
            if spec is not None and not _has_kind(df[name], spec.kind):
                raise InputError(
                    f"column {name!r} of the {self.name} table holds {df[name].dtype} values, "
                    f"expected {spec.kind}", path=path, column=str(name), count=len(df),
                )  # fmt: skip


def _has_kind(values: pd.Series, kind: str) -> bool:
    from pandas.api import types

    if kind == "int":
        return types.is_integer_dtype(values)
    if kind == "float":
        return types.is_numeric_dtype(values) and not types.is_bool_dtype(values)
    if kind == "bool":
        return types.is_bool_dtype(values)
    return types.is_string_dtype(values) or types.is_object_dtype(values)


_COORDINATES = (
    Column(r"umap_\d+", "float", pattern=True, description="the clustered UMAP coordinates"),
    Column("map_x", "float", description="the 2-D map"),
    Column("map_y", "float"),
    Column("map_z", "float", required=False),
)
_CARRIED = (
    Column("ra", "float", required=False, description="degrees, when the inputs have it"),
    Column("dec", "float", required=False),
    Column(FILE_COLUMN, "str", required=False, description="absolute path of the cutout"),
    Column("true_class", "str", required=False, description="simulated surveys only"),
)

CARRIED_COLUMNS = tuple(c.name for c in _CARRIED)
"""Catalog columns carried from the inputs into galaxies.parquet when they have them."""

TREE_COLUMNS = ("parent", "child", "lambda_val", "child_size")
"""hdbscan's condensed-tree layout: a child below N is a galaxy (its row in galaxies.parquet)."""

TABLES: Mapping[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("representations", "representations.parquet", (
            Column(ID_COLUMN, "str"),
            Column(r"feat_(pca_)?\d+", "float", pattern=True),
            Column(r".+_fraction", "float", required=False, pattern=True),
            *_CARRIED,
        ), "the encoder's output, when this run encoded images"),
        TableSpec("selection", "selection.parquet", (
            Column(ID_COLUMN, "str"),
            Column("kept", "bool"),
            Column("removed_by", "str", description="the rule that removed it, or ''"),
        ), "every input galaxy: kept by the morphology selection, or the rule that removed it"),
        TableSpec("embedding", "embedding.parquet", (
            Column(ID_COLUMN, "str"), *_COORDINATES,
        ), "the UMAP coordinates of the selected galaxies"),
        TableSpec("galaxies", "galaxies.parquet", (
            Column(ID_COLUMN, "str"),
            Column("cluster", "int", description="cluster number, or -1 (noise)"),
            Column("probability", "float", description="HDBSCAN membership strength"),
            Column("outlier_score", "float", description="GLOSH"),
            *_COORDINATES, *_CARRIED,
            Column("core_distance", "float", required=False,
                   description="distance to the min_samples-th nearest other galaxy in the "
                   "clustered embedding (placing new galaxies needs it)"),
        ), "the selected galaxies with their cluster"),
        TableSpec("clusters", "clusters.parquet", (
            Column("cluster", "int", description="0..K-1 by decreasing size"),
            Column("letter", "str", description="A, B, ..., Z, AA, ... by cluster number"),
            Column("size", "int"),
            Column("lambda_birth", "float"),
            Column("lambda_death", "float"),
            Column("persistence", "float", description="lambda_death - lambda_birth"),
            Column("stability", "float", description="HDBSCAN's excess of mass"),
            Column("node", "int", description="the cluster's node in the condensed tree"),
            Column("parent", "int", description="its parent node (-1 for the root)"),
            Column("medoid_row", "int"),
            Column("medoid_id", "str"),
            Column("mean_probability", "float"),
            Column("seed_stability", "float", required=False,
                   description="share of the n_seeds seeds in which a cluster with Jaccard >= "
                   "0.5 reappears (empty when n_seeds = 1)"),
        ), "one row per leaf cluster"),
        TableSpec("condensed_tree", "condensed_tree.parquet", tuple(
            Column(name, "float" if name == "lambda_val" else "int") for name in TREE_COLUMNS
        ), "HDBSCAN's condensed tree"),
        TableSpec("seed_layouts", "seed_layouts.parquet", (
            Column(ID_COLUMN, "str"),
            Column(r"seed_\d+_umap_\d+", "float", pattern=True,
                   description="the clustered layout with another seed (seed_<seed>_umap_<i>)"),
        ), "the clustered layouts of the seeds after the run's own (n_seeds > 1)"),
        TableSpec("seed_clusters", "seed_clusters.parquet", (
            Column(ID_COLUMN, "str"),
            Column(r"cluster_seed_\d+", "int", pattern=True,
                   description="cluster in that seed's own numbering, or -1 (noise)"),
        ), "every seed's leaf clusters, the run's own first (n_seeds > 1)"),
        TableSpec("consensus", "consensus.parquet", (
            Column("consensus", "int", description="consensus cluster, by decreasing stability"),
            Column("seed", "int"),
            Column("cluster", "int", description="the member cluster in that seed's numbering"),
            Column("letter", "str", description="the run's letter (first seed only), else ''"),
            Column("size", "int"),
            Column("jaccard", "float",
                   description="best Jaccard with another member of the consensus cluster"),
            Column("n_seeds_found", "int"),
            Column("stability", "float", description="n_seeds_found / n_seeds"),
            Column("core_size", "int", description="galaxies in every member cluster"),
        ), "consensus clusters across seeds: one row per member cluster (n_seeds > 1)"),
        TableSpec("placed", "placed.parquet", (
            Column(ID_COLUMN, "str"),
            Column("cluster", "int",
                   description="the run's cluster number, -1 (noise) or -2 (not selected)"),
            Column("probability", "float", description="membership probability (0 for noise)"),
            Column("removed_by", "str", description="the run's rule that removed it, or ''"),
            Column(r"umap_\d+", "float", pattern=True,
                   description="placed clustered coordinates (NaN when not selected)"),
            Column("map_x", "float", description="placed map coordinates"),
            Column("map_y", "float"),
            Column("map_z", "float", required=False),
            Column("nearest_id", "str", description="the nearest fitted galaxy in representation "
                   "space, where it is placed in the clustered embedding ('' if not selected)"),
            *_CARRIED,
        ), "new galaxies placed into the run by `raregal predict` (with --add: the selected "
           "ones, shown beside the fitted galaxies, flagged as placed)"),
        TableSpec("marks", "marks.parquet", (
            Column("mark_id", "int"),
            Column("target_kind", "str", description="galaxy, cluster or node"),
            Column("target", "str", description="its id_str, letter or node"),
            Column("tag", "str"),
            Column("note", "str"),
            Column("created", "str", description="UTC time, ISO 8601"),
        ), "the explorer's marks (written by raregal.explore.marks)"),
        TableSpec("recovery", "recovery.csv", (
            Column("true_class", "str"),
            Column("cluster", "int"),
            Column("purity", "float"),
            Column("completeness", "float"),
        ), "planted classes against clusters, when the truth is known"),
    )
}  # fmt: skip
"""Every table of a run folder, by name."""

CLUSTER_COLUMNS = tuple(c.name for c in TABLES["clusters"].columns)


def cluster_letter(number: int) -> str:
    """Letters of cluster ``number``: 0 -> A, 25 -> Z, 26 -> AA, 27 -> AB, ...; '' for noise."""
    if number < 0:
        return ""
    letters = ""
    number += 1
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def map_columns(k: int) -> list[str]:
    """Names of the ``k`` map coordinates (map_x, map_y[, map_z])."""
    return ["map_x", "map_y", "map_z"][:k]


def umap_columns(k: int) -> list[str]:
    """Names of the ``k`` clustered coordinates (umap_0..)."""
    return [f"umap_{i}" for i in range(k)]


def seed_umap_columns(seed: int, k: int) -> list[str]:
    """Names of the ``k`` clustered coordinates of the layout with ``seed`` (seed_layouts)."""
    return [f"seed_{seed}_umap_{i}" for i in range(k)]


def seed_cluster_column(seed: int) -> str:
    """Name of the column of the leaf labels with ``seed`` (seed_clusters)."""
    return f"cluster_seed_{seed}"


def seed_cluster_columns(df: pd.DataFrame) -> list[str]:
    """The ``cluster_seed_<seed>`` columns of a seed_clusters table, in its order."""
    return [str(c) for c in df.columns if re.fullmatch(r"cluster_seed_\d+", str(c))]


# ----------------------------------------------------------------------------- the record


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that shape a result (None where not installed)."""
    versions: dict[str, str | None] = {"raregal": __version__, "python": sys.version.split()[0]}
    for name in names:
        try:
            versions[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_checksum(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks so that memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def params_key(params: Mapping[str, Any], upstream: str | None = None) -> str:
    """A short stable hash of a stage's parameters and the key of its input."""
    text = json.dumps({"params": params, "upstream": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json`` of the run folder ``path``, checked to be of this format.

    Raises
    ------
    InputError
        When the folder or its run.json is missing, run.json is not JSON, or the folder was
        written by an older raregal (its format version is named).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("is not a run folder", path=folder)
    record_path = folder / RUN_JSON
    if not record_path.exists():
        raise InputError("not a run folder (no run.json); run `raregal search` first", path=folder)
    try:
        record = json.loads(record_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"run.json is not valid JSON ({exc})", path=record_path) from None
    if not isinstance(record, dict):
        raise InputError("run.json does not hold a record", path=record_path)
    _check_format(record, record_path)
    return record


def _check_format(record: Mapping[str, Any], record_path: Path) -> None:
    version = record.get("format_version", 1)
    if version != FORMAT_VERSION:
        written_by = record.get("versions", {}).get("raregal", "an older raregal")
        raise InputError(
            f"this run folder has format {version} (written by raregal {written_by}); this "
            f"raregal reads format {FORMAT_VERSION}: run the search again into a new folder",
            path=record_path, column="format_version", count=1,
        )  # fmt: skip


# ----------------------------------------------------------------------------- the folder


class RunFolder:
    """A run folder on disk: its tables (checked against ``TABLES``) and ``run.json``.

    Parameters
    ----------
    path : path-like
        The folder; created if it does not exist. An existing run.json of another format is
        refused (``read_record``).

    Examples
    --------
    >>> run = RunFolder(tmp_path)                                   # doctest: +SKIP
    >>> with run.stage("reduce", {"n_neighbors": 50}, upstream=key, outputs=("embedding",)) as s:
    ...     if not s.reused:                                         # doctest: +SKIP
    ...         run.write_table("embedding", embedding_df, key=s.key)
    """

    def __init__(self, path: str | os.PathLike[str], record: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        if record is None:
            self.path.mkdir(parents=True, exist_ok=True)
            if (self.path / RUN_JSON).exists():
                record = read_record(self.path)
            else:
                record = {"created": _now(), "stages": {}, "inputs": {}, "counts": {}}
            record["versions"] = package_versions()
            record["platform"] = {"machine": platform.machine(), "cpus": os.cpu_count()}
        record["format_version"] = FORMAT_VERSION
        for section in ("stages", "inputs", "counts"):
            record.setdefault(section, {})
        self.record: dict[str, Any] = record

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunFolder:
        """An existing run folder, for reading (nothing is written or created)."""
        return cls(path, record=read_record(path))

    # -- tables ---------------------------------------------------------------------------------
    def table_path(self, name: str) -> Path:
        """Path of the table ``name`` (``TABLES[name].filename``)."""
        return self.path / _spec(name).filename

    def has_table(self, name: str) -> bool:
        return self.table_path(name).exists()

    def write_table(
        self,
        name: str,
        df: pd.DataFrame,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Path:
        """Check ``df`` against the contract and write it atomically; ``key`` (the stage key) and
        ``metadata`` are stored inside the Parquet file."""
        path = self.table_path(name)
        _spec(name).check(df, path)
        meta = {**dict(metadata or {}), "table": name, "format_version": FORMAT_VERSION}
        if key is not None:
            meta["key"] = key
        return write_table(df, path, metadata=meta)

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The table ``name``, checked against the contract (InputError naming what is wrong)."""
        path = self.table_path(name)
        if not path.exists():
            raise InputError(f"the run has no {path.name}; is this a finished run folder?",
                             path=path)  # fmt: skip
        df = read_table(path, columns=columns)
        if columns is None:
            _spec(name).check(df, path)
        return df

    def table_key(self, name: str) -> str | None:
        """The stage key stored inside the table ``name`` (None when absent or not Parquet)."""
        path = self.table_path(name)
        if path.suffix != ".parquet" or not path.exists():
            return None
        import pyarrow.parquet as pq

        try:
            raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
        except Exception:  # an unreadable table carries no key: it is never reused
            return None
        return json.loads(raw).get("key") if raw else None

    # -- record ---------------------------------------------------------------------------------
    def add_input(self, role: str, path: str | os.PathLike[str]) -> str:
        """Record an input file's path, size and checksum under ``role``; returns the checksum."""
        path = Path(path)
        checksum = file_checksum(path)
        self.record["inputs"][role] = {
            "path": str(path.resolve()),
            "bytes": path.stat().st_size,
            "checksum": checksum,
        }
        return checksum

    def set_count(self, step: str, count: int | Mapping[str, int]) -> None:
        """Record the number of rows after (or removed by) ``step``."""
        self.record["counts"][step] = count if isinstance(count, int) else dict(count)

    def cached(self, stage: str, key: str, outputs: tuple[str, ...]) -> bool:
        """True when ``stage`` last ran with ``key`` and each output table carries that key."""
        entry = self.record["stages"].get(stage)
        if not entry or entry.get("key") != key:
            return False
        return all(self.table_key(name) == key for name in outputs)

    @contextmanager
    def stage(
        self,
        name: str,
        params: Mapping[str, Any],
        upstream: str | None = None,
        outputs: tuple[str, ...] = (),
    ) -> Iterator[StageRecord]:
        """Time a stage and record it; ``record.reused`` says whether its outputs can be reused."""
        key = params_key(params, upstream)
        reused = self.cached(name, key, outputs) if outputs else False
        record = StageRecord(name=name, key=key, reused=reused, params=dict(params))
        start = time.perf_counter()
        yield record
        entry = {
            "key": key,
            "upstream": upstream,
            "params": dict(params),
            "outputs": list(outputs),
            "reused": record.reused,
            "seconds": round(time.perf_counter() - start, 3),
            "finished": _now(),
            **record.extra,
        }
        if record.reused:
            previous = self.record["stages"].get(name, {})
            entry["computed_seconds"] = previous.get("computed_seconds", previous.get("seconds"))
        else:
            entry["computed_seconds"] = entry["seconds"]
        self.record["stages"][name] = entry
        self.save()

    def save(self) -> None:
        """Write ``run.json`` atomically."""
        self.record["updated"] = _now()
        with atomic_path(self.path / RUN_JSON) as tmp:
            tmp.write_text(json.dumps(self.record, indent=2, default=str))


def _spec(name: str) -> TableSpec:
    if name not in TABLES:
        raise KeyError(f"no run-folder table {name!r}; tables: {', '.join(TABLES)}")
    return TABLES[name]


class StageRecord:
    """What a running stage knows: its key, whether it reuses stored outputs, extra facts to log."""

    def __init__(self, name: str, key: str, reused: bool, params: dict[str, Any]) -> None:
        self.name = name
        self.key = key
        self.reused = reused
        self.params = params
        self.extra: dict[str, Any] = {}

    def note(self, **facts: Any) -> None:
        """Add facts (timings of sub-steps, engine used, seed) to this stage's entry in run.json."""
        self.extra.update(facts)
