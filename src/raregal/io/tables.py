"""Reading and writing tables: one ``read_table`` for every format, atomic ``write_table``.

Formats: Parquet, CSV, the HDF5 layout that Zoobot writes (datasets ``predictions``, ``id_str``,
``label_cols``), and FITS, ECSV and VOTable through astropy. Metadata travels inside Parquet files
(under the key ``raregal``) and comes back in ``DataFrame.attrs``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FEATURE_PREFIX, ID_COLUMN
from raregal.errors import InputError, close_matches
from raregal.io.atomic import atomic_path

METADATA_KEY = "raregal"

_SUFFIX_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".hdf5": "hdf5",
    ".h5": "hdf5",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".ecsv": "ecsv",
    ".vot": "votable",
    ".xml": "votable",
    ".votable": "votable",
}
_ASTROPY_FORMATS = {"fits": "fits", "ecsv": "ascii.ecsv", "votable": "votable"}
FORMATS = ("parquet", "csv", "hdf5", "fits", "ecsv", "votable")


def guess_format(path: str | os.PathLike[str]) -> str:
    """Table format from the file name; raises InputError for an unknown suffix (no silent CSV)."""
    name = str(path).lower()
    for suffix, fmt in sorted(_SUFFIX_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise InputError(
        f"cannot tell the table format from the file name; use one of {', '.join(FORMATS)} "
        "(suffixes .parquet, .csv, .hdf5, .fits, .ecsv, .vot) or pass format=",
        path=path,
    )


def read_table(
    path: str | os.PathLike[str],
    format: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a table in any supported format into a DataFrame.

    Parameters
    ----------
    path : path-like
        The file to read.
    format : str, default=None
        One of ``FORMATS``; guessed from the suffix when None.
    columns : sequence of str, default=None
        Read only these columns (Parquet reads only those from disk).

    Returns
    -------
    DataFrame
        With ``attrs['raregal']`` holding the metadata stored in the file, if any.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    fmt = format or guess_format(path)
    if fmt not in _READERS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", path=path)
    try:
        df = _READERS[fmt](path, columns)
    except InputError:
        raise
    except Exception as exc:  # any parser failure means: this file is not a table of that format
        reason = f"{type(exc).__name__}: {exc}"
        raise InputError(f"not a readable {fmt} table ({reason})", path=path) from exc
    if columns is not None:
        require_columns(df, columns, path)
        df = df[list(columns)]
    df.attrs.setdefault(METADATA_KEY, {})
    df.attrs["source"] = str(path)
    return df


def _read_parquet(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    if columns is not None:
        require_columns(pd.DataFrame(columns=schema.names), columns, path)
    table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    df = table.to_pandas()
    raw = (schema.metadata or {}).get(METADATA_KEY.encode())
    df.attrs[METADATA_KEY] = json.loads(raw) if raw else {}
    return df


def _read_csv(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={ID_COLUMN: str})
    if df.shape[1] == 0:
        raise InputError("the CSV file has no columns", path=path)
    return df


def _read_zoobot_hdf5(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    import h5py

    with h5py.File(path, "r") as f:
        missing = [k for k in ("predictions", "id_str", "label_cols") if k not in f]
        if missing:
            raise InputError(
                f"HDF5 file lacks the Zoobot datasets {missing} "
                "(expected 'predictions', 'id_str' and 'label_cols')",
                path=path,
            )
        predictions = np.asarray(f["predictions"][()], dtype=float)
        ids = [_decode(v) for v in f["id_str"][()]]
        labels = [_decode(v) for v in f["label_cols"][()]]
    if predictions.ndim == 3:  # (galaxy, column, forward pass): Zoobot's dropout samples
        predictions = predictions.mean(axis=2)
    if predictions.ndim != 2 or predictions.shape != (len(ids), len(labels)):
        raise InputError(
            f"'predictions' has shape {predictions.shape}, expected ({len(ids)}, {len(labels)}) "
            "from 'id_str' and 'label_cols'",
            path=path,
        )
    df = pd.DataFrame(predictions, columns=labels)
    df.insert(0, ID_COLUMN, ids)
    return df


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _astropy_reader(fmt: str) -> Callable[[Path, Sequence[str] | None], pd.DataFrame]:
    def read(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
        from astropy.table import Table

        table = Table.read(path, format=_ASTROPY_FORMATS[fmt])
        multi = [name for name in table.colnames if len(table[name].shape) > 1]
        for name in multi:  # a (N, D) column becomes name_0..name_{D-1}
            values = np.asarray(table[name])
            for i in range(values.shape[1]):
                table[f"{name}_{i}"] = values[:, i]
            table.remove_column(name)
        df = table.to_pandas()
        for name in df.columns:
            if df[name].dtype == object:
                df[name] = df[name].map(_decode)
        return df

    return read


_READERS: dict[str, Callable[[Path, Sequence[str] | None], pd.DataFrame]] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "hdf5": _read_zoobot_hdf5,
    **{fmt: _astropy_reader(fmt) for fmt in _ASTROPY_FORMATS},
}


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    format: str | None = None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``df`` atomically; Parquet keeps ``metadata`` (JSON) in its key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError("exists already; refusing to overwrite it", path=path)
    fmt = format or guess_format(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            table = pa.Table.from_pandas(df, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[METADATA_KEY.encode()] = json.dumps(metadata or {}, default=str).encode()
            pq.write_table(table.replace_schema_metadata(meta), tmp)
        elif fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt in _ASTROPY_FORMATS:
            from astropy.table import Table

            table = Table.from_pandas(df)
            table.meta.update({k: v for k, v in (metadata or {}).items() if _is_scalar(v)})
            table.write(tmp, format=_ASTROPY_FORMATS[fmt], overwrite=True)
        elif fmt == "hdf5":
            _write_zoobot_hdf5(df, tmp)
        else:
            raise InputError(f"unknown format {fmt!r}; expected one of {FORMATS}", path=path)
    return path


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _write_zoobot_hdf5(df: pd.DataFrame, path: Path) -> None:
    import h5py

    labels = [c for c in df.columns if c != ID_COLUMN]
    with h5py.File(path, "w") as f:
        f.create_dataset("predictions", data=df[labels].to_numpy(dtype=np.float32))
        f.create_dataset("id_str", data=np.asarray(df[ID_COLUMN].astype(str), dtype="S"))
        f.create_dataset("label_cols", data=np.asarray(labels, dtype="S"))


def require_columns(df: pd.DataFrame, columns: Sequence[str], path: Any = None) -> None:
    """Raise InputError naming every missing column, with close matches as suggestions."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hints = "".join(close_matches(c, df.columns) for c in missing[:3])
        raise InputError(
            f"missing {len(missing)} column(s): {', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''}{hints}",
            path=path or df.attrs.get("source"),
            column=missing[0],
            count=len(missing),
        )


_FEATURE_PATTERNS = (
    re.compile(rf"^{FEATURE_PREFIX}(\d+)$"),
    re.compile(rf"^{FEATURE_PREFIX}pca_(\d+)$"),
)


def feature_columns(df: pd.DataFrame, columns: Sequence[str] | str | None = None) -> list[str]:
    """The representation columns of ``df``.

    ``columns`` may be an explicit list, a regular expression, or None to find ``feat_0..`` or,
    failing that, ``feat_pca_0..`` (in numeric order).
    """
    source = df.attrs.get("source")
    if columns is not None and not isinstance(columns, str):
        require_columns(df, columns, source)
        return list(columns)
    patterns = (re.compile(columns),) if isinstance(columns, str) else _FEATURE_PATTERNS
    for pattern in patterns:
        found = [c for c in df.columns if pattern.match(str(c))]
        if found:
            if pattern.groups:
                found.sort(key=lambda c: int(pattern.match(c).group(1)))
            return found
    raise InputError(
        "no representation columns found: expected feat_0, feat_1, ... or feat_pca_0, ... "
        "or name them with --features",
        path=source,
        column="feat_*",
    )


def resolve_file_locs(df: pd.DataFrame, base: str | os.PathLike[str]) -> pd.Series:
    """Absolute image paths from ``file_loc``: relative paths are taken from ``base``.

    Catalogs written by raregal store ``file_loc`` relative to the catalog's folder so that a survey
    can be moved; Zoobot catalogs usually store absolute paths, which pass through unchanged.
    """
    from raregal.constants import FILE_COLUMN

    require_columns(df, [FILE_COLUMN], df.attrs.get("source"))
    base = Path(base)
    return df[FILE_COLUMN].astype(str).map(lambda p: str(p if os.path.isabs(p) else base / p))
