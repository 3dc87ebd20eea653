"""Marks: the user's tags on galaxies and clusters, kept in ``RUN/marks.parquet``.

Each mark is one row: ``target_kind`` ("galaxy", "cluster" or "node"), ``target`` (the id_str, the
cluster letter, or a condensed-tree node, which groups the leaf clusters below it), ``tag``
("interesting", "artifact" or free text), ``note`` and ``created`` (UTC). The table is rewritten
atomically on each change, so a crash never leaves half a file.
"""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from raregal.errors import InputError
from raregal.io.runfolder import TABLES
from raregal.io.tables import read_table, write_table

MARKS = TABLES["marks"]
MARK_COLUMNS = tuple(column.name for column in MARKS.columns)
TARGET_KINDS = ("galaxy", "cluster", "node")
SUGGESTED_TAGS = ("interesting", "artifact")
MAX_TEXT = 2000


class MarksTable:
    """The marks of one run, read at start and written atomically after every change.

    Parameters
    ----------
    run_dir : path-like
        The run folder; the table is ``run_dir/marks.parquet``.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / MARKS.filename
        self._lock = threading.Lock()
        if self.path.exists():
            table = read_table(self.path)
            MARKS.check(table, self.path)
            self._table = table[list(MARK_COLUMNS)].reset_index(drop=True)
        else:
            self._table = pd.DataFrame({c: pd.Series(dtype=object) for c in MARK_COLUMNS})
            self._table["mark_id"] = self._table["mark_id"].astype("int64")

    def to_frame(self) -> pd.DataFrame:
        """A copy of all marks."""
        with self._lock:
            return self._table.copy()

    def records(self, target_kind: str | None = None, target: str | None = None) -> list[dict]:
        """Marks as JSON rows, optionally only those of one target."""
        table = self.to_frame()
        if target_kind is not None:
            table = table[table["target_kind"] == target_kind]
        if target is not None:
            table = table[table["target"] == str(target)]
        return [
            {k: (int(v) if k == "mark_id" else str(v)) for k, v in row.items()}
            for row in table.to_dict("records")
        ]

    def add(self, target_kind: str, target: str, tag: str, note: str = "") -> dict[str, Any]:
        """Add a mark and save the table; returns the new row."""
        if target_kind not in TARGET_KINDS:
            raise InputError(f"target_kind must be one of {TARGET_KINDS}, got {target_kind!r}")
        tag, note, target = str(tag).strip(), str(note).strip(), str(target).strip()
        if not tag or not target:
            raise InputError("a mark needs a target and a non-empty tag")
        if len(tag) > MAX_TEXT or len(note) > MAX_TEXT:
            raise InputError(f"tags and notes are limited to {MAX_TEXT} characters")
        with self._lock:
            next_id = int(self._table["mark_id"].max()) + 1 if len(self._table) else 1
            row = {
                "mark_id": next_id,
                "target_kind": target_kind,
                "target": target,
                "tag": tag,
                "note": note,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
            table = pd.concat([self._table, pd.DataFrame([row])], ignore_index=True)
            self._save(table)
            self._table = table
        return {**row}

    def remove(self, mark_id: int) -> bool:
        """Delete a mark by id and save; False when there is no such mark."""
        with self._lock:
            keep = self._table["mark_id"] != mark_id
            if keep.all():
                return False
            table = self._table[keep].reset_index(drop=True)
            self._save(table)
            self._table = table
        return True

    def _save(self, table: pd.DataFrame) -> None:
        table = table.astype({"mark_id": "int64", **{c: str for c in MARK_COLUMNS[1:]}})
        MARKS.check(table, self.path)
        write_table(table, self.path, metadata={"table": MARKS.name})
