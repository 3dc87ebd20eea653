"""The run folder: the contract between the stages, in one place.

``TABLES`` declares each table of a run folder (its file, required and optional columns and their
kinds); ``RunFolder`` writes tables that follow it and reads them back checked; ``run.json``, the
record of the run (parameters of every stage, package versions, input checksums, counts after
each step, timings, what was reused), is read and written only here. Search, report, explore and
predict-style readers all open a run through ``RunFolder.open``, which refuses a folder written
by an older raregal (``FORMAT_VERSION``) with one clear line instead of half-reading it.

A stage's outputs are reused when its parameters and the key of its input are unchanged, and
run.json and every output table carry that key (see ``RunFolder.stage``); since each stage's key
holds the key of its input, a reused stage always sits on the same chain of inputs. A writer
changes a run in one ``RunFolder.transaction``: under the folder's lock (``raregal.io.lock``)
its tables are staged and committed together with run.json (``raregal.io.journal``), so that a
kill, a second writer or a full disk leaves the old result or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import pandas as pd

from raregal import __version__
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.io import journal
from raregal.io.atomic import atomic_path
from raregal.io.lock import FolderLock
from raregal.io.tables import METADATA_KEY, read_table, write_table
from raregal.settings import lock_wait

logger = logging.getLogger(__name__)

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
    """A table of the run folder: file name, columns, what it holds, and who writes it.

    ``result`` tables are written by the search and replaced as a whole by a new result; the
    others (the explorer's marks) are the user's and survive a new result.
    """

    name: str
    filename: str
    columns: tuple[Column, ...]
    description: str
    result: bool = True

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
            Column("interest", "float", required=False,
                   description="how rare it looks (raregal.discover.ranking)"),
            Column("interest_rank", "int", required=False, description="order of display, from 1"),
            Column("main_population", "bool", required=False,
                   description="no more distinct than the run's average cluster: folded"),
            Column("isolation", "float", required=False),
            Column("separation", "float", required=False),
            Column("vote_contrast", "float", required=False),
            Column("description", "str", required=False,
                   description="the answers that set it apart (raregal.discover.describe)"),
            Column("distinct_answers", "str", required=False),
            Column("seed_stability", "float", required=False,
                   description="share of the n_seeds seeds in which a cluster with Jaccard >= "
                   "0.5 reappears (empty when n_seeds = 1)"),
        ), "one row per leaf cluster"),
        TableSpec("candidates", "candidates.parquet", (
            Column(ID_COLUMN, "str"),
            Column("anomaly_score", "float", description="higher is weirder"),
            Column("anomaly_rank", "int", description="place in the weirdest-first queue, from 1"),
            Column("selected", "bool", required=False,
                   description="kept by the morphology selection"),
            Column("cluster", "int", required=False,
                   description="cluster number, -1 noise, -2 not selected"),
            *_CARRIED,
        ), "every encoded galaxy in weirdest-first order (raregal.discover.anomaly)"),
        TableSpec("rounds", "rounds.parquet", (
            Column("session", "str"),
            Column("round", "int", description="0: the examples given; 1..: answered rounds"),
            Column(ID_COLUMN, "str"),
            Column("answer", "str", description="'yes' or 'no'"),
            Column("score", "float", description="the model's score when shown (NaN at round 0)"),
            Column("reason", "str", description="'example', 'top' or 'uncertain'"),
            Column("created", "str"),
        ), "the yes/no answers of search-from-examples sessions (raregal.discover.active)",
            result=False),
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
        ), "the explorer's marks (written by raregal.explore.marks)", result=False),
        TableSpec("recovery", "recovery.csv", (
            Column("true_class", "str"),
            Column("cluster", "int"),
            Column("purity", "float"),
            Column("completeness", "float"),
        ), "planted classes against clusters, when the truth is known"),
    )
}  # fmt: skip
"""Every table of a run folder, by name."""

CLUSTER_COLUMNS = tuple(TABLES["clusters"].required())
"""The columns every cluster table has (the ranking adds the optional ones)."""


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
    """``run.json`` of the run folder ``path`` (the committed one), checked to be of this format.

    Raises
    ------
    InputError
        When the folder or its run.json is missing, run.json is not JSON, or the folder was
        written by an older raregal (its format version is named).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("is not a run folder", path=folder)
    record_path = journal.resolve(folder, RUN_JSON)
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


def _file_key(path: Path) -> str | None:
    """The stage key stored inside a Parquet table (None when absent, unreadable or not Parquet)."""
    if path.suffix != ".parquet" or not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
        return json.loads(raw).get("key") if raw else None
    except Exception:  # an unreadable table carries no key: it is never reused
        return None


def _finish_interrupted_commit(folder: Path) -> None:
    """Roll forward a commit that a kill interrupted, when this process may (else read through)."""
    if not journal.commit_dir(folder).exists() or not os.access(folder, os.W_OK):
        return
    lock = FolderLock(journal.lock_path(folder), folder)
    try:
        if lock.try_acquire():
            journal.roll_forward(folder)
    except OSError:  # a folder this process cannot change: readers read through the journal
        pass
    finally:
        lock.release()


OWN_FILES = (RUN_JSON, *(spec.filename for spec in TABLES.values() if spec.result))
"""Files of a run folder that only raregal writes: their stray temporary files are removed."""
RESULT_TABLES = ("galaxies", "clusters", "condensed_tree")
"""The tables a report is drawn from: a new version of any of them makes the old report stale."""
REPORT_INDEX = "report/index.html"


# ----------------------------------------------------------------------------- the folder


@dataclass
class _Transaction:
    """What one writer has staged (``staged``) and reused from the committed result (``kept``)."""

    whole: bool
    staged: dict[str, str | None] = field(default_factory=dict)
    kept: dict[str, str | None] = field(default_factory=dict)


class RunFolder:
    """A run folder on disk: its tables (checked against ``TABLES``) and ``run.json``.

    Parameters
    ----------
    path : path-like
        The folder; created if it does not exist (an existing file there is refused). An
        existing run.json of another format is refused (``read_record``).

    Notes
    -----
    A writer changes a run inside ``transaction()``: it holds the folder's lock, its tables are
    staged, and they appear together with their run.json at the commit (``raregal.io.journal``),
    so a reader sees the old result or the new one, never a mixture. Readers open a run with
    ``RunFolder.open`` and read only the tables that run.json commits, each checked to carry the
    stage key that run.json records for it. Outside a transaction, ``write_table`` and ``save``
    write at once (for tests and tools that build a folder from scratch).

    Examples
    --------
    >>> run = RunFolder(tmp_path)                                   # doctest: +SKIP
    >>> with run.transaction(whole=True):                           # doctest: +SKIP
    ...     with run.stage("reduce", {"n_neighbors": 50}, key, ("embedding",)) as s:
    ...         if not s.reused:
    ...             run.write_table("embedding", embedding_df, key=s.key)
    """

    def __init__(self, path: str | os.PathLike[str], record: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._txn: _Transaction | None = None
        self._reader = record is not None
        self._created = False
        if record is None:
            if self.path.exists() and not self.path.is_dir():
                raise InputError(
                    "exists and is not a folder; choose another run folder (--out)",
                    path=self.path,
                )  # fmt: skip
            self._created = not self.path.exists()
            self.path.mkdir(parents=True, exist_ok=True)
            record = self._load_record()
        record["format_version"] = FORMAT_VERSION
        for section in ("stages", "inputs", "counts"):
            record.setdefault(section, {})
        self.record: dict[str, Any] = record
        self._committed: dict[str, Any] = record

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunFolder:
        """An existing run folder, for reading: its committed result only.

        A commit that a kill interrupted is finished first when this process can take the
        folder's lock; otherwise it is read through.
        """
        folder = Path(path)
        if folder.is_dir():
            _finish_interrupted_commit(folder)
        return cls(path, record=read_record(path))

    def _load_record(self) -> dict[str, Any]:
        if journal.resolve(self.path, RUN_JSON).exists():
            record = read_record(self.path)
        else:
            record = {"created": _now(), "stages": {}, "inputs": {}, "counts": {}}
        record["versions"] = package_versions()
        record["platform"] = {"machine": platform.machine(), "cpus": os.cpu_count()}
        return record

    # -- transactions -----------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._txn is not None

    @contextmanager
    def transaction(self, whole: bool = False) -> Iterator[RunFolder]:
        """Change the run as one step: lock, stage, then commit everything at once.

        The folder's lock is taken first (``raregal.io.lock``; another writer is refused, or
        waited for ``RAREGAL_LOCK_WAIT`` seconds, with a message naming it); a commit that a kill
        interrupted is finished and stray temporary files are removed. Tables written inside are
        staged; at the end they and run.json are committed together. When the block raises,
        nothing is committed: the staged tables stay as a cache for a re-run (a folder this
        object created and that holds nothing is removed again).

        Parameters
        ----------
        whole : bool, default=False
            The tables written or reused inside are the whole new result: run.json starts
            afresh, and the committed tables of the old result that are not part of the new one
            (and a report drawn from old clusters) are removed at the commit.

        A nested call joins the outer transaction.
        """
        if self._reader:
            raise RuntimeError("this run folder was opened for reading (RunFolder.open)")
        if self._txn is not None:
            if whole and not self._txn.whole:
                raise RuntimeError("a whole-result transaction cannot nest in a partial one")
            yield self
            return
        journal.state_dir(self.path).mkdir(exist_ok=True)
        lock = FolderLock(journal.lock_path(self.path), self.path)
        lock.acquire(wait=lock_wait())
        remove_folder = False
        try:
            journal.roll_forward(self.path)
            removed = journal.clean_stray_files(self.path, OWN_FILES)
            if removed:
                logger.info("removed %d temporary file(s) left by an interrupted run in %s",
                            len(removed), self.path)  # fmt: skip
            committed = self._load_record()
            self._committed = copy.deepcopy(committed)
            if whole:
                committed = {"created": committed.get("created", _now()), "stages": {},
                             "inputs": {}, "counts": {}, "versions": committed["versions"],
                             "platform": committed["platform"]}  # fmt: skip
            committed["format_version"] = FORMAT_VERSION
            self.record = committed
            self._txn = _Transaction(whole=whole)
            try:
                yield self
            except BaseException:
                remove_folder = self._nothing_kept()
                raise
            self._commit(self._txn)
        finally:
            self._txn = None
            self.record = self._committed
            if remove_folder:
                shutil.rmtree(journal.state_dir(self.path), ignore_errors=True)
            lock.release()
            if remove_folder:
                with contextlib.suppress(OSError):
                    self.path.rmdir()

    def _nothing_kept(self) -> bool:
        """True when this object created the folder and a failure left nothing worth keeping
        (no committed result, no staged table of a stage that is worth resuming)."""
        if not self._created or journal.resolve(self.path, RUN_JSON).exists():
            return False
        pending = journal.pending_dir(self.path)
        cheap = {TABLES["selection"].filename}
        return not (pending.exists() and any(
            p.name.endswith(".parquet") and p.name not in cheap and not p.name.startswith(".")
            for p in pending.iterdir()
        ))  # fmt: skip

    def _commit(self, txn: _Transaction) -> None:
        committed_tables = self._committed_tables()
        tables: dict[str, Any] = {} if txn.whole else dict(committed_tables)
        for name, key in (*txn.kept.items(), *txn.staged.items()):
            tables[name] = {"key": key}
        removes: list[str] = []
        if txn.whole:
            removes = [
                spec.filename
                for spec in TABLES.values()
                if spec.result and spec.name not in tables and self.table_path(spec.name).exists()
            ]
            for name, entry in self._committed["stages"].items():
                outputs = entry.get("outputs") or []
                if name not in self.record["stages"] and outputs and set(outputs) <= set(txn.kept):
                    self.record["stages"][name] = entry
            if set(txn.staged) & set(RESULT_TABLES) and (self.path / REPORT_INDEX).exists():
                removes.append(REPORT_INDEX)
                logger.info("the report of the previous result is removed (`raregal report %s` "
                            "writes one for the new result)", self.path)  # fmt: skip
        self.record["tables"] = tables
        self.record["format_version"] = FORMAT_VERSION
        self.record["updated"] = _now()
        text = json.dumps(self.record, indent=2, default=str)
        moves = [TABLES[name].filename for name in txn.staged]
        journal.commit(self.path, moves, removes, text)
        self._committed = json.loads(text)

    def _committed_tables(self) -> dict[str, Any]:
        """The committed tables and their keys (for a folder that predates this record: the
        tables on disk)."""
        tables = self._committed.get("tables")
        if isinstance(tables, dict):
            return tables
        return {spec.name: {"key": _file_key(self.path / spec.filename)}
                for spec in TABLES.values()
                if spec.result and (self.path / spec.filename).exists()}  # fmt: skip

    # -- tables ---------------------------------------------------------------------------------
    def table_path(self, name: str) -> Path:
        """Path of the table ``name`` in the folder (``TABLES[name].filename``)."""
        return self.path / _spec(name).filename

    def source_path(self, name: str) -> Path:
        """Where the current version of ``name`` is read from: the staged file inside a
        transaction that wrote it, the commit folder while a commit is being finished, or the
        folder."""
        filename = _spec(name).filename
        if self._txn is not None and name in self._txn.staged:
            return journal.pending_dir(self.path) / filename
        return journal.resolve(self.path, filename)

    def has_table(self, name: str) -> bool:
        """Whether the folder holds the table ``name``: a result table committed or staged in
        this change, or a user's table (marks) on disk."""
        if self._txn is not None and name in self._txn.staged:
            return True
        tables = self._committed.get("tables")
        if _spec(name).result and isinstance(tables, dict) and name not in tables:
            return False
        return self.source_path(name).exists()

    def own_table(self, path: str | os.PathLike[str]) -> str | None:
        """The name of the run table that ``path`` is (committed or staged here), else None."""
        for name in TABLES:
            for candidate in (self.table_path(name), self.source_path(name)):
                if _same_file(path, candidate):
                    return name
        return None

    def refuse_input(
        self, path: str | os.PathLike[str], role: str, writes: tuple[str, ...]
    ) -> None:
        """Refuse an input file that this run would replace (one of the tables ``writes``, or
        run.json): reading a result while overwriting it loses the input."""
        targets = [self.table_path(name) for name in writes] + [self.path / RUN_JSON]
        for target in targets:
            if _same_file(path, target):
                raise InputError(
                    f"the {role} input is this run folder's own {target.name}, which the run "
                    "replaces; copy it out of the run folder first, or choose another --out",
                    path=path, count=1,
                )  # fmt: skip

    def write_table(
        self,
        name: str,
        df: pd.DataFrame,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Path:
        """Check ``df`` against the contract and write it atomically; ``key`` (the stage key) and
        ``metadata`` are stored inside the Parquet file. Inside a transaction a result table is
        staged until the commit; a user's table (``TableSpec.result`` False) is written at once
        and never recorded among the result's tables."""
        spec = _spec(name)
        spec.check(df, self.table_path(name))
        meta = {**dict(metadata or {}), "table": name, "format_version": FORMAT_VERSION}
        if key is not None:
            meta["key"] = key
        if not spec.result:
            return write_table(df, self.table_path(name), metadata=meta)
        if self._txn is not None:
            path = journal.pending_dir(self.path) / spec.filename
            write_table(df, path, metadata=meta)
            self._txn.staged[name] = key
            self._txn.kept.pop(name, None)
            return path
        tables = self._committed_tables()
        path = write_table(df, self.table_path(name), metadata=meta)
        self.record["tables"] = {**tables, name: {"key": key}}
        return path

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The table ``name`` of the result, checked against the contract and against the key
        that run.json records for it (InputError naming what is wrong)."""
        path = self.table_path(name)
        if not self.has_table(name):
            raise InputError(f"the run has no {path.name}; is this a finished run folder?",
                             path=path)  # fmt: skip
        for attempt in range(3):  # a commit being finished may move the file as it is opened
            source = self.source_path(name)
            try:
                df = read_table(source, columns=columns)
                break
            except InputError:
                if attempt == 2 or source.exists():
                    raise
        if columns is None:
            _spec(name).check(df, path)
        self._check_key(name, df.attrs.get(METADATA_KEY, {}).get("key"), path)
        return df

    def _check_key(self, name: str, found: str | None, path: Path) -> None:
        if path.suffix != ".parquet":
            return
        if self._txn is not None and name in self._txn.staged:
            expected = self._txn.staged[name]
        else:
            entry = self._committed_tables().get(name)
            if not isinstance(entry, dict):
                return
            expected = entry.get("key")
        if found != expected:
            raise InputError(
                f"{path.name} is not the table that run.json records (its stage key is {found}, "
                f"run.json records {expected}): it was replaced by something other than this "
                "run; run the search again to rebuild the folder",
                path=path, column="key", count=1,
            )  # fmt: skip

    def table_key(self, name: str) -> str | None:
        """The stage key stored inside the table ``name`` (None when absent or not Parquet)."""
        return _file_key(self.source_path(name))

    # -- record ---------------------------------------------------------------------------------
    def add_input(self, role: str, path: str | os.PathLike[str]) -> str:
        """Record an input file's path, size and checksum under ``role``; returns the checksum.

        An input that is one of the run's own tables is recorded under its place in the folder
        (``table`` names it), not under a staging path.
        """
        path = Path(path)
        checksum = file_checksum(path)
        own = self.own_table(path)
        entry: dict[str, Any] = {
            "path": str((self.table_path(own) if own else path).resolve()),
            "bytes": path.stat().st_size,
            "checksum": checksum,
        }
        if own:
            entry["table"] = own
            if self._txn is not None and own not in self._txn.staged:
                self._txn.kept[own] = self._committed_tables().get(own, {}).get("key")
        self.record["inputs"][role] = entry
        return checksum

    def set_count(self, step: str, count: int | Mapping[str, int]) -> None:
        """Record the number of rows after (or removed by) ``step``."""
        self.record["counts"][step] = count if isinstance(count, int) else dict(count)

    def cached(self, stage: str, key: str, outputs: tuple[str, ...]) -> bool:
        """True when the outputs of ``stage`` with ``key`` can be reused.

        Inside a transaction, tables staged by an earlier, interrupted run that all carry
        ``key`` are taken over. Otherwise run.json must record ``key`` for the stage and for
        each output table, and each table must carry it.
        """
        if self._txn is not None:
            pending = journal.pending_dir(self.path)
            if outputs and all(_file_key(pending / _spec(n).filename) == key for n in outputs):
                self._txn.staged.update({n: key for n in outputs})
                return True
        entry = self._committed["stages"].get(stage)
        if not entry or entry.get("key") != key:
            return False
        tables = self._committed_tables()
        if any((tables.get(n) or {}).get("key") != key for n in outputs):
            return False
        if not all(_file_key(self.table_path(n)) == key for n in outputs):
            return False
        if self._txn is not None:
            self._txn.kept.update({n: key for n in outputs})
        return True

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
            previous = self._committed["stages"].get(name, {})
            same = previous.get("key") == key
            entry["computed_seconds"] = (
                previous.get("computed_seconds", previous.get("seconds")) if same else None
            )
        else:
            entry["computed_seconds"] = entry["seconds"]
        self.record["stages"][name] = entry
        self.save()

    def save(self) -> None:
        """Write ``run.json`` atomically (inside a transaction: at its commit)."""
        if self._txn is not None:
            return
        self.record["updated"] = _now()
        with atomic_path(self.path / RUN_JSON, durable=True) as tmp:
            tmp.write_text(json.dumps(self.record, indent=2, default=str))


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


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
