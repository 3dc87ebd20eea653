"""Batch inference: images to a representation table, in shards that survive interruption.

``embed(INPUT, model, out)`` reads a catalog (``id_str``, ``file_loc``) or a folder of images, runs
the encoder over batches from a torch DataLoader (worker processes decode the images), and writes
``id_str``, ``feat_0..feat_{D-1}`` and, when the model has a GZ DESI head, the
``{question}_{answer}_fraction`` columns.

Shards are written as they complete into ``OUT.parts/`` (``part-00000.parquet``, ...) with a
``manifest.json`` that is rewritten atomically after each shard: the manifest is the commit point.
A killed run, started again with the same arguments, resumes after the last committed shard, so
no row is lost or duplicated. At the end the shards are combined atomically into ``OUT``, and the
images that could not be read are listed in ``OUT``'s sibling ``<stem>.failures.parquet``
(``id_str``, ``file_loc``, ``reason``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FEATURE_PREFIX, FILE_COLUMN, ID_COLUMN
from raregal.encode.images import (
    IMAGE_SUFFIXES,
    ImageError,
    Preprocessing,
    is_image_file,
    load_image,
)
from raregal.encode.models import Encoder, load_model
from raregal.errors import InputError
from raregal.io.atomic import atomic_path
from raregal.io.runfolder import params_key
from raregal.io.tables import read_table, require_columns, resolve_file_locs, write_table
from raregal.schema import FRACTION_COLUMNS

logger = logging.getLogger(__name__)

FAILURE_COLUMNS = [ID_COLUMN, FILE_COLUMN, "reason"]
MANIFEST = "manifest.json"


@dataclass
class EmbedResult:
    """What ``embed`` wrote and how fast.

    Attributes
    ----------
    path : Path
        The representation table.
    failures_path : Path
        The failures table (``id_str``, ``file_loc``, ``reason``); written even when empty.
    n_images : int
        Rows in the input.
    n_rows : int
        Rows written (images encoded).
    n_failed : int
        Images that could not be read.
    n_resumed : int
        Images taken from shards of an earlier, interrupted run.
    seconds : float
        Wall time of this call.
    images_per_second : float
        Images processed by this call per second of its wall time.
    """

    path: Path
    failures_path: Path
    n_images: int
    n_rows: int
    n_failed: int
    n_resumed: int
    seconds: float
    images_per_second: float


# ----------------------------------------------------------------------------- inputs


def image_table(source: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The images to encode: ``(images, skipped)``, both with ``id_str`` and absolute ``file_loc``.

    ``source`` is a catalog table with ``id_str`` and ``file_loc`` (relative paths are taken from
    the catalog's folder) or a folder of images (ids are the file names without suffix). Files in
    the folder without an image suffix are returned in ``skipped`` with a reason.

    Raises
    ------
    InputError
        Missing columns, empty ``id_str``/``file_loc`` values, duplicated ids, or nothing to encode.
    """
    source = Path(source)
    skipped = pd.DataFrame(columns=FAILURE_COLUMNS)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
        images = [p for p in files if is_image_file(p)]
        others = [p for p in files if not is_image_file(p)]
        df = pd.DataFrame(
            {ID_COLUMN: [_stem(p) for p in images], FILE_COLUMN: [str(p.resolve()) for p in images]}
        )
        if others:
            skipped = pd.DataFrame(
                {
                    ID_COLUMN: [_stem(p) for p in others],
                    FILE_COLUMN: [str(p.resolve()) for p in others],
                    "reason": "not an image file (expected " + ", ".join(IMAGE_SUFFIXES) + ")",
                }
            )
            logger.warning(
                "%s: skipping %d file(s) that are not images (recorded as failures)",
                source,
                len(others),
            )
    elif source.is_file():
        df = read_table(source)
        require_columns(df, [ID_COLUMN, FILE_COLUMN], source)
        for column in (ID_COLUMN, FILE_COLUMN):
            blank = df[column].isna() | (df[column].astype(str).str.strip() == "")
            if blank.any():
                raise InputError(
                    f"{int(blank.sum())} row(s) have an empty {column}",
                    path=source,
                    column=column,
                    count=int(blank.sum()),
                )
        df = pd.DataFrame(
            {
                ID_COLUMN: df[ID_COLUMN].astype(str),
                FILE_COLUMN: resolve_file_locs(df, source.resolve().parent),
            }
        )
    else:
        raise InputError("no such catalog or image folder", path=source)
    duplicated = df[ID_COLUMN].duplicated()
    if duplicated.any():
        examples = ", ".join(df.loc[duplicated, ID_COLUMN].head(3))
        raise InputError(
            f"{int(duplicated.sum())} duplicated id_str value(s), e.g. {examples}",
            path=source,
            column=ID_COLUMN,
            count=int(duplicated.sum()),
        )
    if df.empty:
        raise InputError("no images to encode", path=source)
    return df.reset_index(drop=True), skipped


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


# ----------------------------------------------------------------------------- data loading


class _ImageDataset:
    """Map-style dataset: index -> (index, uint8 array or None, error or None)."""

    def __init__(self, files: list[str], prep: Preprocessing) -> None:
        self.files = files
        self.prep = prep

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        try:
            return index, load_image(self.files[index], self.prep), None
        except ImageError as exc:
            return index, None, str(exc.args[0]).split(": ", 1)[-1]


def _collate(items):
    import torch

    good = [(i, a) for i, a, _ in items if a is not None]
    failed = [(i, err) for i, a, err in items if a is None]
    indices = np.array([i for i, _ in good], dtype=np.int64)
    batch = torch.from_numpy(np.stack([a for _, a in good])) if good else None
    return indices, batch, failed


def _batches(start: int, stop: int, shard_size: int, batch_size: int) -> list[list[int]]:
    """Batches of row indices that never cross a shard boundary."""
    out = []
    for shard_start in range(start, stop, shard_size):
        shard_stop = min(shard_start + shard_size, stop)
        for b in range(shard_start, shard_stop, batch_size):
            out.append(list(range(b, min(b + batch_size, shard_stop))))
    return out


def default_workers() -> int:
    """DataLoader workers: every core but one (at least one)."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))


# ----------------------------------------------------------------------------- shards


class _Parts:
    """The ``OUT.parts`` folder: committed shards and their manifest."""

    def __init__(self, out: Path, key: str, n_images: int) -> None:
        self.folder = out.with_name(out.name + ".parts")
        self.key = key
        self.n_images = n_images
        self.shards: list[dict[str, Any]] = []

    def open(self) -> int:
        """Load the manifest of an earlier run; return the first row not yet committed."""
        manifest = self.folder / MANIFEST
        if manifest.exists():
            data = json.loads(manifest.read_text())
            if data.get("key") != self.key:
                raise InputError(
                    "holds shards of a run with other inputs or settings; remove the folder or "
                    "pass overwrite=True (--overwrite) to start again",
                    path=self.folder,
                )
            self.shards = data["shards"]
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.shards[-1]["stop"] if self.shards else 0

    def commit(self, start: int, stop: int, rows: pd.DataFrame, failures: list[dict]) -> None:
        """Write one shard, then the manifest that makes it count."""
        name = f"part-{len(self.shards):05d}.parquet"
        write_table(rows, self.folder / name)
        self.shards.append(
            {"name": name, "start": start, "stop": stop, "rows": len(rows), "failures": failures}
        )
        payload = {"key": self.key, "n_images": self.n_images, "shards": self.shards}
        with atomic_path(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(payload))

    def combine(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """All committed rows and failures."""
        frames = [read_table(self.folder / s["name"]) for s in self.shards if s["rows"]]
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        failures = pd.DataFrame(
            [f for s in self.shards for f in s["failures"]], columns=FAILURE_COLUMNS
        )
        return rows, failures

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def failures_path_for(out: str | os.PathLike[str]) -> Path:
    """Where the failures table of ``out`` goes: ``<stem>.failures.parquet`` beside it."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".parquet") + ".failures.parquet")


# ----------------------------------------------------------------------------- embed


def check_output_arguments(out: Path, overwrite: bool, batch_size: int, shard_size: int) -> None:
    """Refuse a non-Parquet output, an existing one (unless ``overwrite``) and sizes below 1."""
    if not str(out).lower().endswith((".parquet", ".pq")):
        raise InputError("the output must be a Parquet file (.parquet)", path=out)
    if out.exists() and not overwrite:
        raise InputError(
            "exists already; pass overwrite=True (--overwrite) to replace it", path=out
        )
    for name, value in (("batch_size", batch_size), ("shard_size", shard_size)):
        if value < 1:
            raise InputError(f"{name} must be a positive integer, got {value}")


def embed(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: str | os.PathLike[str] | Encoder = "demo",
    *,
    batch_size: int = 256,
    num_workers: int | None = None,
    shard_size: int = 8192,
    image_size: int | None = None,
    zoom: float = 1.0,
    device: str | None = None,
    bf16: bool | None = None,
    overwrite: bool = False,
    progress: bool = True,
    ignore_memory_check: bool = False,
) -> EmbedResult:
    """Encode every image of ``source`` and write the representation table ``out`` (Parquet).

    Parameters
    ----------
    source : path-like
        A catalog table (``id_str``, ``file_loc``) or a folder of JPEG/PNG/FITS images.
    out : path-like
        The Parquet table to write; the failures go to ``failures_path_for(out)``.
    model : str, path-like or Encoder, default="demo"
        Anything ``load_model`` accepts, or an object with ``encode(batch)``.
    batch_size : int, default=256
        Images per forward pass.
    num_workers : int, default=None
        DataLoader worker processes decoding images; ``default_workers()`` when None, 0 decodes
        in the main process.
    shard_size : int, default=8192
        Images per shard: the unit of resumption.
    image_size : int, default=None
        Input side in pixels; the model's own when None.
    zoom : float, default=1.0
        Centre zoom before resizing (2.0 keeps the middle half).
    device : str, default=None
        ``"cuda"`` when available, else ``"cpu"``.
    bf16 : bool, default=None
        bfloat16 autocast; on by default on a GPU.
    overwrite : bool, default=False
        Replace an existing ``out`` and discard shards of an earlier run.
    progress : bool, default=True
        Show a progress bar with images per second and time left.
    ignore_memory_check : bool, default=False
        By default refuse when the estimated peak memory exceeds the free memory
        (``raregal.memory``); True only warns.

    Returns
    -------
    EmbedResult
    """
    from torch.utils.data import DataLoader

    started = time.perf_counter()
    out = Path(out)
    check_output_arguments(out, overwrite, batch_size, shard_size)
    images, skipped = image_table(source)
    encoder = load_model(model, device=device, bf16=bf16, image_size=image_size)
    prep = Preprocessing(
        image_size=image_size or encoder.image_size,
        channels=getattr(encoder, "channels", 3),
        zoom=zoom,
    )
    described = encoder.describe() if hasattr(encoder, "describe") else {"name": repr(encoder)}
    key = shard_key(described, prep, shard_size, images)
    parts = _Parts(out, key, len(images))
    if overwrite:
        parts.remove()
    first = parts.open()
    n_resumed = first
    if first:
        logger.info("resuming after %d images already encoded in %s", first, parts.folder)

    files = images[FILE_COLUMN].tolist()
    workers = default_workers() if num_workers is None else num_workers
    check_embed_memory(len(images), batch_size, prep, workers, encoder, ignore=ignore_memory_check)
    loader = DataLoader(
        _ImageDataset(files, prep),
        batch_sampler=_batches(first, len(images), shard_size, batch_size),
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=str(getattr(encoder, "device", "cpu")).startswith("cuda"),
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )
    bar = _progress_bar(len(images), first, progress)
    shard_start, pending, failures = first, [], []
    ids = images[ID_COLUMN].to_numpy()
    try:
        for indices, batch, failed in loader:
            failures += [{ID_COLUMN: ids[i], FILE_COLUMN: files[i], "reason": r} for i, r in failed]
            if batch is not None:
                pending.append(_encode_batch(encoder, batch, indices, ids))
            last = int(max([*indices.tolist(), *(i for i, _ in failed)]))
            bar.update(len(indices) + len(failed))
            shard_stop = min(shard_start + shard_size, len(images))
            if last + 1 == shard_stop:
                parts.commit(shard_start, shard_stop, _concat(pending), failures)
                logger.debug("committed images %d..%d", shard_start, shard_stop)
                shard_start, pending, failures = shard_stop, [], []
    finally:
        bar.close()

    metadata = {"model": described, "preprocessing": asdict(prep), "source": str(source)}
    rows, failed_df, failures_path = finish_outputs(parts, skipped, out, metadata)
    seconds = time.perf_counter() - started
    done = len(images) - n_resumed
    result = EmbedResult(
        out,
        failures_path,
        len(images),
        len(rows),
        len(failed_df),
        n_resumed,
        seconds,
        done / seconds if seconds > 0 else 0.0,
    )
    logger.info(
        "encoded %d of %d images in %.1f s (%.1f images/s); %d could not be read (%s)",
        result.n_rows,
        result.n_images,
        seconds,
        result.images_per_second,
        result.n_failed,
        failures_path,
    )
    return result


def check_embed_memory(n_images: int, batch_size: int, prep: Preprocessing, workers: int,
                       encoder: Any, ignore: bool = False) -> None:  # fmt: skip
    """Refuse (``raregal.memory``) when the estimated peak host memory exceeds the free memory."""
    from raregal.memory import check_memory, estimate_embed

    gpu = str(getattr(encoder, "device", "cpu")).startswith("cuda")
    dim = getattr(encoder, "feature_dim", 128)
    dim = dim if isinstance(dim, int) else 128
    estimate = estimate_embed(n_images, batch_size, prep.image_size, prep.channels, workers,
                              feature_dim=dim, gpu=gpu)  # fmt: skip
    check_memory(estimate, ignore=ignore)


def shard_key(described: dict[str, Any], prep: Preprocessing, shard_size: int,
              images: pd.DataFrame) -> str:  # fmt: skip
    """The key that ties committed shards to a model, preprocessing, shard size and image list;
    a run resumes only shards with the same key (``raregal.encode.ray_engine`` shares it)."""
    return params_key(
        {
            "model": described,
            "prep": asdict(prep),
            "shard_size": shard_size,
            "ids": _ids_digest(images),
        }
    )


def finish_outputs(
    parts: _Parts, skipped: pd.DataFrame, out: Path, metadata: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Combine the committed shards into ``out``, write the failures table, remove the shards.

    Returns the rows, the failures (``skipped`` first) and the failures table's path.
    """
    rows, failed_df = parts.combine()
    failed_df = pd.concat([skipped, failed_df], ignore_index=True) if len(skipped) else failed_df
    metadata = {"stage": "embed", **metadata, "n_images": parts.n_images,
                "n_failed": len(failed_df)}  # fmt: skip
    write_table(rows, out, metadata=metadata)
    failures_path = write_table(failed_df.astype(str), failures_path_for(out), metadata=metadata)
    parts.remove()
    return rows, failed_df, failures_path


def _ids_digest(images: pd.DataFrame) -> str:
    import hashlib

    text = "\n".join(images[ID_COLUMN] + "\t" + images[FILE_COLUMN])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_batch(encoder: Encoder, batch, indices: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    device = getattr(encoder, "device", "cpu")
    x = batch.to(device, non_blocking=True).float().div_(255.0)
    features, fractions = encoder.encode(x)
    features = features.float().cpu().numpy()
    columns = {ID_COLUMN: ids[indices]}
    columns.update({f"{FEATURE_PREFIX}{j}": features[:, j] for j in range(features.shape[1])})
    if fractions is not None:
        fractions = fractions.float().cpu().numpy()
        if fractions.shape[1] != len(FRACTION_COLUMNS):
            raise InputError(
                f"the encoder returned {fractions.shape[1]} vote fractions, expected "
                f"{len(FRACTION_COLUMNS)} (the GZ DESI answers)"
            )
        columns.update({c: fractions[:, j] for j, c in enumerate(FRACTION_COLUMNS)})
    return pd.DataFrame(columns)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({ID_COLUMN: pd.Series(dtype=str)})
    return pd.concat(frames, ignore_index=True)


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="img",
        desc="embed",
        disable=not enabled,
        smoothing=0.1,
        dynamic_ncols=True,
    )
