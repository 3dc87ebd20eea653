"""The search's inputs: the representation table and the morphology table, read and checked.

``prepare_inputs`` reads both tables (any format ``raregal.io.tables.read_table`` reads), joins
them on the id and refuses, in one line naming the file, the column and the count, what cannot
be searched; ``--drop-invalid`` drops such rows instead and counts them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import DEFAULTS
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.io.runfolder import CARRIED_COLUMNS
from raregal.io.tables import feature_columns, read_table, require_columns, resolve_file_locs
from raregal.select import check_fractions, has_morphology

logger = logging.getLogger(__name__)


INVALID_FEATURES = "invalid_features"
NO_MORPHOLOGY = "no_morphology"
TableLike = pd.DataFrame | str | os.PathLike


@dataclass
class SearchInputs:
    """Validated inputs: one row per galaxy that can be searched, in input order."""

    ids: np.ndarray
    X: np.ndarray
    feature_names: list[str]
    morphology: pd.DataFrame | None
    carried: pd.DataFrame
    dropped: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    sources: dict[str, str] = field(default_factory=dict)


def _read(table: TableLike, role: str) -> tuple[pd.DataFrame, Path | None]:
    if isinstance(table, pd.DataFrame):
        df = table.copy(deep=False)
        df.attrs.setdefault("source", f"<{role} DataFrame>")
        return df, None
    return read_table(table), Path(table)


def _require_id(df: pd.DataFrame, column: str, option: str) -> None:
    if column in df.columns:
        return
    source = df.attrs.get("source")
    candidates = [c for c in df.columns if "id" in str(c).lower()][:5]
    hint = f"; id-like columns here: {', '.join(map(repr, candidates))}" if candidates else ""
    try:
        require_columns(df, [column], source)
    except InputError as exc:
        raise InputError(
            f"{str(exc).split(': ', 1)[-1]}{hint} (choose one with {option})",
            path=source, column=column, count=1,
        ) from None  # fmt: skip


def _check_ids(values: pd.Series, source: Any, column: str) -> pd.Series:
    """The ids as text; refuses null or blank ids (a galaxy without a name cannot be listed)."""
    missing = values.isna().to_numpy()
    text = values.astype(str)
    blank = ~missing & (text.str.strip() == "").to_numpy()
    bad = missing | blank
    if bad.any():
        rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
        raise InputError(
            f"{int(bad.sum())} row(s) have a null or blank id in column {column!r} (rows "
            f"{rows}); every galaxy needs an id", path=source, column=column, count=int(bad.sum()),
        )  # fmt: skip
    return text


def _numeric_features(reps: pd.DataFrame, names: list[str], source: Any) -> np.ndarray:
    """The feature columns as float32; refuses text in them, naming the column and the count."""
    for name in names:
        column = reps[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if pd.api.types.is_bool_dtype(column):
            bad = column.notna()
        if bad.any():
            examples = ", ".join(map(repr, column[bad].unique()[:3]))
            n_columns = sum(not pd.api.types.is_numeric_dtype(reps[c]) for c in names)
            raise InputError(
                f"feature column {name!r} holds {int(bad.sum())} value(s) that are not numbers "
                f"(e.g. {examples}); {n_columns} feature column(s) are not numeric",
                path=source, column=name, count=int(bad.sum()),
            )  # fmt: skip
    return reps[names].apply(pd.to_numeric).to_numpy(dtype=np.float32)


def _id_kind(values: pd.Series) -> str:
    example = values.dropna().iloc[0] if values.notna().any() else None
    if isinstance(example, np.generic):
        example = example.item()
    return f"{values.dtype} (e.g. {example!r})"


def id_type_hint(reps_ids: pd.Series, morph_ids: pd.Series) -> str:
    """Why two id columns may not match: their types, and how many would match as numbers."""
    as_numbers = [pd.to_numeric(v, errors="coerce") for v in (reps_ids, morph_ids)]
    both = as_numbers[0].notna() & as_numbers[0].isin(set(as_numbers[1].dropna()))
    exact = reps_ids.astype(str).isin(set(morph_ids.astype(str)))
    numeric_only = int((both & ~exact).sum())
    if reps_ids.dtype == morph_ids.dtype and not numeric_only:
        return ""
    hint = (f"; the id columns differ in type: representations {_id_kind(reps_ids)}, morphology "
            f"{_id_kind(morph_ids)}; ids are compared as text")  # fmt: skip
    if numeric_only:
        hint += (f", and {numeric_only} more would match as numbers (leading zeros or '.0'): "
                 "write both id columns as the same text")  # fmt: skip
    return hint


def _check_unique(ids: pd.Series, source: Any, column: str) -> None:
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        examples = ", ".join(map(repr, pd.unique(duplicated)[:5]))
        n_dup = int(ids.duplicated().sum())
        raise InputError(
            f"{n_dup} duplicate id(s) in column {column!r} (e.g. {examples}); ids must be unique",
            path=source, column=column, count=n_dup,
        )  # fmt: skip


def fingerprint(*arrays: Any) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if isinstance(array, np.ndarray) and array.dtype != object:
            digest.update(np.ascontiguousarray(array).tobytes())
        else:
            digest.update("\x00".join(map(str, array)).encode())
    return "sha256:" + digest.hexdigest()


def prepare_inputs(
    representations: TableLike,
    morphology: TableLike | None = None,
    id_column: str = DEFAULTS["id_column"],
    morphology_id_column: str | None = DEFAULTS["morphology_id_column"],
    features: Sequence[str] | str | None = DEFAULTS["features"],
    drop_invalid: bool = DEFAULTS["drop_invalid"],
) -> SearchInputs:
    """Read and validate the representation table and (optionally) the morphology table.

    Refuses (InputError naming file, column and count): missing id or feature columns (with close
    matches), null, blank or duplicate ids, text in a feature column, non-finite features
    (unless ``drop_invalid``), vote fractions that are not numbers or lie outside [0, 1]
    (``raregal.select.check_fractions``), representation ids without morphology (unless
    ``drop_invalid``; the message names both id types when they differ), an empty table.
    Morphology ids without representations are counted and ignored. Everything dropped is
    listed in ``dropped``.
    """
    reps, reps_path = _read(representations, "representations")
    source = reps.attrs.get("source")
    _require_id(reps, id_column, "--id-column")
    if len(reps) == 0:
        raise InputError("the representation table has no rows", path=source, count=0)
    names = feature_columns(reps, features)
    ids = _check_ids(reps[id_column], source, id_column)
    _check_unique(ids, source, id_column)
    counts: dict[str, int] = {"representations": len(reps)}
    X = _numeric_features(reps, names, source)
    finite = np.isfinite(X).all(axis=1)
    dropped_parts: list[pd.DataFrame] = []
    n_bad = int((~finite).sum())
    counts[INVALID_FEATURES] = n_bad
    if n_bad:
        bad_cols = [names[j] for j in np.flatnonzero(~np.isfinite(X[~finite]).all(axis=0))[:3]]
        example = ", ".join(map(repr, ids[~finite].head(5)))
        if not drop_invalid:
            raise InputError(
                f"{n_bad} row(s) have NaN or inf in the features (ids {example}; columns "
                f"{', '.join(bad_cols)}); fix them or pass --drop-invalid to drop and count them",
                path=source, column=bad_cols[0], count=n_bad,
            )  # fmt: skip
        logger.warning("dropping %d row(s) with NaN or inf features (ids %s)", n_bad, example)
        dropped_parts.append(
            pd.DataFrame({ID_COLUMN: ids[~finite], "removed_by": INVALID_FEATURES})
        )
    keep = finite
    morph_df = None
    carried_source = reps
    morph_sources: list[pd.DataFrame] = []
    if morphology is not None:
        morph, _ = _read(morphology, "morphology")
        msource = morph.attrs.get("source")
        mid = morphology_id_column or id_column
        _require_id(morph, mid, "--morphology-id-column")
        check_fractions(morph, msource)
        morph_ids = _check_ids(morph[mid], msource, mid)
        _check_unique(morph_ids, msource, mid)
        counts["morphology"] = len(morph)
        present = ids.isin(set(morph_ids)).to_numpy()
        only_reps = int((~present).sum())
        only_morph = int((~morph_ids.isin(set(ids))).sum())
        counts["ids_only_in_representations"] = only_reps
        counts["ids_only_in_morphology"] = only_morph
        if only_morph:
            logger.info("%d morphology row(s) have no representation; ignored", only_morph)
        if only_reps:
            example = ", ".join(map(repr, ids[~present].head(5)))
            if not drop_invalid:
                hint = id_type_hint(reps[id_column], morph[mid])
                raise InputError(
                    f"{only_reps} representation id(s) have no row in the morphology table "
                    f"{msource} (e.g. {example}; {only_morph} morphology id(s) have no "
                    f"representation){hint}; pass --drop-invalid to drop and count them",
                    path=source, column=id_column, count=only_reps,
                )  # fmt: skip
            newly = ~present & keep
            dropped_parts.append(pd.DataFrame({ID_COLUMN: ids[newly], "removed_by": NO_MORPHOLOGY}))
            keep = keep & present
        morph = morph.assign(**{ID_COLUMN: morph_ids}).set_index(ID_COLUMN)
        morph_df = morph.reindex(ids[keep].to_numpy())
        morph_df.index.name = ID_COLUMN
        morph_df = morph_df.reset_index()
        morph_df.attrs["source"] = msource
        morph_sources.append(morph_df)
    else:
        if has_morphology(reps):
            check_fractions(reps, source)
            morph_df = reps.loc[keep].assign(**{ID_COLUMN: ids[keep].to_numpy()})
            morph_df.attrs["source"] = source
    counts["dropped_missing_morphology"] = int(
        sum((p["removed_by"] == NO_MORPHOLOGY).sum() for p in dropped_parts)
    )
    carried = pd.DataFrame(index=np.arange(int(keep.sum())))
    for column in CARRIED_COLUMNS:
        for frame in (carried_source.loc[keep], *morph_sources):
            if column in frame.columns:
                carried[column] = frame[column].to_numpy()
                break
    if FILE_COLUMN in carried and reps_path is not None:
        carried[FILE_COLUMN] = resolve_file_locs(carried, reps_path.resolve().parent).to_numpy()
    kept_ids = ids[keep].to_numpy()
    X = np.ascontiguousarray(X[keep])
    counts["valid"] = len(kept_ids)
    if len(kept_ids) == 0:
        raise InputError("no galaxy left after dropping invalid rows", path=source, count=0)
    dropped = (pd.concat(dropped_parts, ignore_index=True) if dropped_parts
               else pd.DataFrame({ID_COLUMN: [], "removed_by": []}))  # fmt: skip
    return SearchInputs(
        ids=kept_ids, X=X, feature_names=names, morphology=morph_df, carried=carried,
        dropped=dropped, counts=counts, fingerprint=fingerprint(kept_ids, X),
        sources={"representations": str(source)},
    )  # fmt: skip
