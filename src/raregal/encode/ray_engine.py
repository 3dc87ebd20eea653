"""The Ray engine of ``embed``: the same table, encoded by Ray Data across cores, GPUs or machines.

``embed_ray`` builds a Ray Data pipeline over the catalog rows that are not yet committed:

1. ``map_batches(_decode)``: CPU tasks read and resize the images (``load_image``, as the
   single-process engine does) into uint8 arrays; unreadable files carry their reason;
2. ``map_batches(_EncodeActor)``: an actor pool holds the model, one actor per GPU
   (``num_gpus=1``) when the cluster has GPUs, one CPU actor per ``cpus_per_actor`` cores
   elsewhere (Ray then fuses step 1 into the actors), and encodes each batch with
   ``raregal.encode.embed``'s own batch function.

The driver collects the rows and commits them shard by shard, in catalog order, through the same
``OUT.parts`` folder and manifest as ``raregal.encode.embed.embed``, with the same shard key: a
run interrupted under either engine resumes under either, after the last committed shard, with no
row lost or duplicated. The final table and the failures table are written by the same function.

It works against a local Ray (started for the call and stopped after), a running
``ray start --head`` (``address='auto'``) or a cluster address (``ray://host:10001`` or
``host:6379``); the catalog's images and the model folder must then be readable at the same paths
on every node. Ray 2.59+ starts clusters with token authentication: a driver joining one needs
``RAY_AUTH_MODE=token`` and the cluster's token (``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.encode.embed import (
    EmbedResult,
    _concat,
    _encode_batch,
    _ImageDataset,
    _Parts,
    _progress_bar,
    check_embed_memory,
    finish_outputs,
    image_table,
    shard_key,
)
from raregal.encode.images import Preprocessing
from raregal.errors import InputError, MissingDependencyError

logger = logging.getLogger(__name__)

ROW = "_row"
ERROR = "_error"


# ----------------------------------------------------------------------------- Ray stages


def _decode(batch: dict[str, np.ndarray], prep: Preprocessing) -> dict[str, np.ndarray]:
    """Ray task: file paths -> ``(B, C, S, S)`` uint8 images; failures get zeros and a reason."""
    files = [str(f) for f in batch[FILE_COLUMN]]
    dataset = _ImageDataset(files, prep)
    images = np.zeros((len(files), prep.channels, prep.image_size, prep.image_size), np.uint8)
    errors = np.full(len(files), "", dtype=object)
    for i in range(len(files)):
        _, array, error = dataset[i]
        if array is None:
            errors[i] = error
        else:
            images[i] = array
    return {ROW: batch[ROW], ID_COLUMN: batch[ID_COLUMN], "image": images, ERROR: errors}


class _EncodeActor:
    """Ray actor: loads the encoder once, then encodes batches of decoded images."""

    def __init__(
        self, model: str, device: str, bf16: bool | None, image_size: int | None, threads: int
    ) -> None:
        import torch

        from raregal.encode.models import load_model

        if device == "cpu":
            torch.set_num_threads(max(1, threads))
        self.encoder = load_model(model, device=device, bf16=bf16, image_size=image_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> pd.DataFrame:
        import torch

        rows = np.asarray(batch[ROW], dtype=np.int64)
        ids = np.asarray(batch[ID_COLUMN]).astype(str)
        errors = np.asarray(batch[ERROR]).astype(str)
        good = np.flatnonzero(errors == "")
        parts = []
        if len(good):
            images = torch.from_numpy(np.ascontiguousarray(batch["image"][good]))
            encoded = _encode_batch(self.encoder, images, good, ids)
            encoded.insert(0, ROW, rows[good])
            encoded[ERROR] = ""
            parts.append(encoded)
        bad = np.flatnonzero(errors != "")
        if len(bad):
            parts.append(pd.DataFrame({ROW: rows[bad], ID_COLUMN: ids[bad], ERROR: errors[bad]}))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------- the cluster


class RayCluster:
    """Connect to Ray for one call: reuse an initialised Ray, join ``address``, or start a local
    instance (stopped on exit). ``gpus`` and ``cpus`` are the cluster's resources."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.started = False

    def __enter__(self) -> RayCluster:
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("ray", "ray") from exc
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}  # fmt: skip
            if self.address is None:
                kwargs["num_cpus"] = self.num_cpus
            try:  # 'local': a new instance, never someone else's cluster found on this machine
                ray.init(address=self.address or "local", **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(
                    f"cannot connect to the Ray cluster at {self.address!r} ({exc}); start one "
                    "with `ray start --head` or leave --address out for a local Ray (Ray >= 2.59 "
                    "clusters use token authentication: set RAY_AUTH_MODE=token here, with the "
                    "cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN)",
                    column="address",
                ) from None
            self.started = True
        resources = ray.cluster_resources()
        self.cpus = float(resources.get("CPU", 0.0))
        self.gpus = float(resources.get("GPU", 0.0))
        logger.info("Ray cluster: %g CPUs, %g GPUs%s", self.cpus, self.gpus,
                    " (started for this call)" if self.started else "")  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()


def _actor_plan(cluster: RayCluster, num_actors: int | None, cpus_per_actor: int) -> dict:
    """Resources of the encoder actors: one per GPU (decoding runs in separate CPU tasks), else
    CPU actors over every core (Ray fuses decoding into them: each decodes and encodes)."""
    if cluster.gpus >= 1:
        count = num_actors or int(cluster.gpus)
        return {"device": "cuda", "concurrency": count, "num_gpus": 1, "num_cpus": 1}
    count = num_actors or max(1, int(cluster.cpus // cpus_per_actor))
    return {"device": "cpu", "concurrency": count, "num_gpus": 0, "num_cpus": cpus_per_actor}


# ----------------------------------------------------------------------------- embed


def embed_ray(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: str | os.PathLike[str] = "demo",
    *,
    address: str | None = None,
    batch_size: int = 256,
    shard_size: int = 8192,
    image_size: int | None = None,
    zoom: float = 1.0,
    bf16: bool | None = None,
    num_actors: int | None = None,
    cpus_per_actor: int = 1,
    num_cpus: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_shard: Callable[[int, int], None] | None = None,
    ignore_memory_check: bool = False,
) -> EmbedResult:
    """Encode every image of ``source`` with Ray Data and write the representation table ``out``.

    Same inputs, outputs, shards and resumption as ``raregal.encode.embed.embed``.

    Parameters
    ----------
    source : path-like
        A catalog table (``id_str``, ``file_loc``) or a folder of images.
    out : path-like
        The Parquet table to write; the failures go beside it.
    model : str or path-like, default="demo"
        A name or folder that ``load_model`` accepts; each actor loads it (on a cluster the
        folder must exist at that path on every node).
    address : str, default=None
        Ray cluster: None starts a local Ray for this call (or uses one already initialised),
        'auto' joins a running ``ray start --head``, ``ray://host:10001`` a remote cluster.
    batch_size : int, default=256
        Images per decode task and per forward pass.
    shard_size : int, default=8192
        Images per committed shard (the unit of resumption).
    image_size, zoom, bf16
        As in ``embed``.
    num_actors : int, default=None
        Encoder actors: one per GPU, or the cluster's CPUs divided by ``cpus_per_actor``.
    cpus_per_actor : int, default=1
        Torch threads (and Ray CPUs) of each CPU actor.
    num_cpus : int, default=None
        CPUs of a local Ray started for this call (None: all of them).
    overwrite : bool, default=False
        Replace ``out`` and discard earlier shards.
    progress : bool, default=True
        Progress bar with images per second.
    on_shard : callable, default=None
        Called as ``on_shard(start, stop)`` after each committed shard.
    ignore_memory_check : bool, default=False
        By default refuse when the estimated peak memory of this machine exceeds its free
        memory; True only warns.

    Returns
    -------
    EmbedResult
    """
    from raregal.encode.models import load_model

    started = time.perf_counter()
    out = Path(out)
    _check_arguments(out, overwrite, batch_size, shard_size, model)
    images, skipped = image_table(source)
    probe = load_model(model, device="cpu", bf16=False, image_size=image_size)
    prep = Preprocessing(image_size=image_size or probe.image_size,
                         channels=getattr(probe, "channels", 3), zoom=zoom)  # fmt: skip
    check_embed_memory(len(images), batch_size, prep, 1, probe, ignore=ignore_memory_check)
    with RayCluster(address, num_cpus) as cluster:
        plan = _actor_plan(cluster, num_actors, cpus_per_actor)
        described = probe.describe() if hasattr(probe, "describe") else {"name": str(model)}
        described["device"] = plan["device"]
        key = shard_key(described, prep, shard_size, images)
        parts = _Parts(out, key, len(images))
        if overwrite:
            parts.remove()
        first = parts.open()
        if first:
            logger.info("resuming after %d images already encoded in %s", first, parts.folder)
        if first < len(images):
            dataset = _pipeline(images, first, prep, plan, model, bf16, image_size, batch_size,
                                cpus_per_actor)  # fmt: skip
            _commit_in_order(dataset, images, first, shard_size, parts, progress, on_shard)
    metadata = {"model": described, "preprocessing": asdict(prep), "source": str(source),
                "engine": "ray", "actors": plan}  # fmt: skip
    rows, failed_df, failures_path = finish_outputs(parts, skipped, out, metadata)
    seconds = time.perf_counter() - started
    done = len(images) - first
    result = EmbedResult(out, failures_path, len(images), len(rows), len(failed_df), first,
                         seconds, done / seconds if seconds > 0 else 0.0)  # fmt: skip
    logger.info("encoded %d of %d images with Ray in %.1f s (%.1f images/s); %d could not be "
                "read (%s)", result.n_rows, result.n_images, seconds, result.images_per_second,
                result.n_failed, failures_path)  # fmt: skip
    return result


def _check_arguments(
    out: Path, overwrite: bool, batch_size: int, shard_size: int, model: Any
) -> None:
    from raregal.encode.embed import check_output_arguments

    check_output_arguments(out, overwrite, batch_size, shard_size)
    if not isinstance(model, str | os.PathLike):
        raise InputError(
            "the Ray engine loads the model in each actor: pass its name or folder, not an object",
            column="model",
        )


def _pipeline(
    images: pd.DataFrame,
    first: int,
    prep: Preprocessing,
    plan: dict,
    model: Any,
    bf16: bool | None,
    image_size: int | None,
    batch_size: int,
    cpus_per_actor: int,
):
    """The Ray Data dataset of encoded rows (``_row``, id, features, fractions, ``_error``)."""
    import ray.data
    from ray.data import ActorPoolStrategy

    todo = images.iloc[first:].reset_index(drop=True)
    todo.insert(0, ROW, np.arange(first, len(images), dtype=np.int64))
    step = max(batch_size, -(-len(todo) // 1024))  # at most 1024 blocks of whole batches
    dataset = ray.data.from_pandas([todo.iloc[i : i + step] for i in range(0, len(todo), step)])
    decoded = dataset.map_batches(
        _decode, fn_kwargs={"prep": prep}, batch_size=batch_size, batch_format="numpy",
        num_cpus=1,
    )  # fmt: skip
    return decoded.map_batches(
        _EncodeActor,
        fn_constructor_kwargs={"model": str(model), "device": plan["device"], "bf16": bf16,
                               "image_size": image_size, "threads": cpus_per_actor},
        batch_size=batch_size, batch_format="numpy",
        compute=ActorPoolStrategy(size=plan["concurrency"]),
        num_gpus=plan["num_gpus"] or None, num_cpus=plan["num_cpus"],
    )  # fmt: skip


def _commit_in_order(
    dataset,
    images: pd.DataFrame,
    first: int,
    shard_size: int,
    parts: _Parts,
    progress: bool,
    on_shard: Callable[[int, int], None] | None,
) -> None:
    """Gather rows by shard and commit each complete shard in catalog order."""
    import ray.data

    n = len(images)
    files = images[FILE_COLUMN].to_numpy()
    bounds = [(s, min(s + shard_size, n)) for s in range(first, n, shard_size)]
    pending: dict[int, list[pd.DataFrame]] = {}
    counts = [0] * len(bounds)
    next_shard = 0
    bar = _progress_bar(n, first, progress)
    context = ray.data.DataContext.get_current()
    preserve, context.execution_options.preserve_order = (
        context.execution_options.preserve_order,
        True,
    )
    try:
        for frame in dataset.iter_batches(batch_size=None, batch_format="pandas"):
            shard_of = (frame[ROW].to_numpy() - first) // shard_size
            for shard, group in frame.groupby(shard_of, sort=False):
                pending.setdefault(int(shard), []).append(group)
                counts[int(shard)] += len(group)
            bar.update(len(frame))
            while next_shard < len(bounds) and counts[next_shard] == _size(bounds[next_shard]):
                start, stop = bounds[next_shard]
                rows, failures = _shard_tables(pending.pop(next_shard), files)
                parts.commit(start, stop, rows, failures)
                logger.debug("committed images %d..%d", start, stop)
                if on_shard is not None:
                    on_shard(start, stop)
                next_shard += 1
    finally:
        context.execution_options.preserve_order = preserve
        bar.close()
    if next_shard != len(bounds):
        raise RuntimeError(f"Ray returned {sum(counts)} of {n - first} rows")


def _size(bound: tuple[int, int]) -> int:
    return bound[1] - bound[0]


def _shard_tables(frames: list[pd.DataFrame], files: np.ndarray) -> tuple[pd.DataFrame, list]:
    """One shard's rows in catalog order (the single-process layout) and its failures."""
    shard = pd.concat(frames, ignore_index=True).sort_values(ROW, kind="stable")
    failed = shard[ERROR].astype(str) != ""
    bad = shard.loc[failed]
    failures = [
        {ID_COLUMN: i, FILE_COLUMN: str(files[r]), "reason": reason}
        for i, r, reason in zip(bad[ID_COLUMN], bad[ROW], bad[ERROR], strict=True)
    ]
    if not (~failed).any():
        return _concat([]), failures
    good = shard.loc[~failed].drop(columns=[ROW, ERROR]).reset_index(drop=True)
    values = [c for c in good.columns if c != ID_COLUMN]
    good = good.astype({ID_COLUMN: str, **dict.fromkeys(values, np.float32)})  # arrow -> numpy
    return good, failures
