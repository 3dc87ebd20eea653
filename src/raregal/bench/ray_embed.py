"""Images per second of the Ray embed engine against the single-process engine, same catalog."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.bench.cutouts import example_cutouts
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.encode.ray_engine import RayCluster, embed_ray


def benchmark_ray_embed(
    source: str | os.PathLike[str] | None = None,
    n_images: int = 256,
    model: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    address: str | None = None,
    num_cpus: int | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Images per second of the Ray engine against the single-process engine, same catalog.

    Parameters
    ----------
    source : path-like, default=None
        A catalog or image folder; None builds a catalog of ``n_images`` rows cycling over the
        real cutouts that ship with the tests (``raregal.bench.cutouts``; each row a distinct id).
    n_images : int, default=256
        Rows of the generated catalog.
    model : str or path-like, default=None
        None writes an EfficientNetB0 with a 128-D bottleneck at 224 px (random weights: speed
        does not depend on them) to a temporary checkpoint.
    batch_size : int, default=64
        Batch of both engines.
    address, num_cpus
        The Ray cluster (see ``embed_ray``); Ray is started before the clock starts.
    workdir : path-like, default=None
        Where to write the tables (a temporary folder when None).

    Returns
    -------
    dict
        ``single_images_per_second``, ``ray_images_per_second``, ``speedup``, ``ray_start_seconds``,
        ``identical`` (same ids and features within 1e-4), the cluster's CPUs/GPUs and the inputs.
    """
    import tempfile

    from raregal.encode.embed import embed

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(workdir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if source is None:
            source = _cycled_catalog(folder / "catalog.csv", n_images)
        if model is None:
            model = _efficientnet_checkpoint(folder / "efficientnet_b0_128")
        single = embed(source, folder / "single.parquet", model, batch_size=batch_size,
                       overwrite=True, progress=False)  # fmt: skip
        start = time.perf_counter()
        with RayCluster(address, num_cpus) as cluster:
            ray_start = time.perf_counter() - start
            distributed = embed_ray(source, folder / "ray.parquet", model, batch_size=batch_size,
                                    overwrite=True, progress=False)  # fmt: skip
            resources = {"cpus": cluster.cpus, "gpus": cluster.gpus}
        a = pd.read_parquet(single.path)
        b = pd.read_parquet(distributed.path)
        features = [c for c in a.columns if c != ID_COLUMN]
        identical = bool(
            a[ID_COLUMN].tolist() == b[ID_COLUMN].tolist()
            and np.allclose(a[features].to_numpy(), b[features].to_numpy(), atol=1e-4)
        )
    return {
        "n_images": single.n_images, "batch_size": batch_size, "model": str(model),
        "single_images_per_second": round(single.images_per_second, 2),
        "ray_images_per_second": round(distributed.images_per_second, 2),
        "speedup": round(distributed.images_per_second / max(single.images_per_second, 1e-9), 3),
        "ray_start_seconds": round(ray_start, 2), "identical": identical, **resources,
    }  # fmt: skip


def _cycled_catalog(path: Path, n_images: int) -> Path:
    files = example_cutouts()
    rows = [(f"img{i:06d}", str(files[i % len(files)])) for i in range(n_images)]
    pd.DataFrame(rows, columns=[ID_COLUMN, FILE_COLUMN]).to_csv(path, index=False)
    return path


def _efficientnet_checkpoint(folder: Path) -> Path:
    import torch

    from raregal.encode.models import ModelConfig, build_model, save_checkpoint

    torch.manual_seed(0)
    config = ModelConfig(arch="efficientnet_b0", bottleneck=128, image_size=224)
    return save_checkpoint(build_model(config), config, folder)
