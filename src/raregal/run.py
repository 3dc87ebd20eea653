"""The run folder: the tables each stage writes, and ``run.json``, the record of the run.

``run.json`` holds the parameters of every stage, package versions, input checksums, counts after
each step, timings per stage and what was reused. A stage's outputs are reused when its parameters
and the key of its input are unchanged (see ``RunFolder.cached``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import pandas as pd

from raregal import __version__
from raregal.tables import atomic_path, read_table, write_table

RUN_JSON = "run.json"

TRACKED_PACKAGES = (
    "numpy", "pandas", "pyarrow", "astropy", "scikit-learn", "umap-learn", "pynndescent",
    "fast_hdbscan", "hdbscan", "numba", "torch", "timm", "galsim",
)  # fmt: skip


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


class RunFolder:
    """A run folder on disk and its ``run.json`` record.

    Parameters
    ----------
    path : path-like
        The folder; created if it does not exist.

    Examples
    --------
    >>> run = RunFolder(tmp_path)                                   # doctest: +SKIP
    >>> with run.stage("reduce", {"n_neighbors": 50}, upstream=key) as stage:  # doctest: +SKIP
    ...     if not stage.reused:
    ...         run.write_table("embedding", embedding_df, stage=stage)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        record_path = self.path / RUN_JSON
        if record_path.exists():
            self.record: dict[str, Any] = json.loads(record_path.read_text())
        else:
            self.record = {"created": _now(), "stages": {}, "inputs": {}, "counts": {}}
        self.record.setdefault("stages", {})
        self.record.setdefault("inputs", {})
        self.record.setdefault("counts", {})
        self.record["versions"] = package_versions()
        self.record["platform"] = {"machine": platform.machine(), "cpus": os.cpu_count()}

    # -- tables ---------------------------------------------------------------------------------
    def table_path(self, name: str) -> Path:
        """Path of the stage table ``name`` (``name.parquet``)."""
        return self.path / f"{name}.parquet"

    def has_table(self, name: str) -> bool:
        return self.table_path(name).exists()

    def write_table(
        self, name: str, df: pd.DataFrame, metadata: Mapping[str, Any] | None = None
    ) -> Path:
        """Write a stage table atomically, with ``metadata`` stored inside the Parquet file."""
        return write_table(df, self.table_path(name), metadata=dict(metadata or {}))

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_table(self.table_path(name), columns=columns)

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
        """True when ``stage`` last ran with ``key`` and all its output tables still exist."""
        entry = self.record["stages"].get(stage)
        return bool(entry and entry.get("key") == key and all(self.has_table(o) for o in outputs))

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
            "reused": reused,
            "seconds": round(time.perf_counter() - start, 3),
            "finished": _now(),
            **record.extra,
        }
        if reused:
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
