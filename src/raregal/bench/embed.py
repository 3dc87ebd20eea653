"""Benchmark of ``embed``: images per second against a plain loop and the model's forward alone.

Three measurements over the same JPEG files, the same model and batch size, in one process:

- ``embed``: ``raregal.encode.embed.embed`` (DataLoader workers, inference mode, channels_last);
- ``plain_loop``: Pillow open, resize, tensor, model forward under ``no_grad``, batch by batch;
- ``forward_only``: the encoder on tensors decoded beforehand (the ceiling for ``embed``).

The targets of the issue: ``embed`` at least 1.5x the plain loop, and at least 85% of forward-only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from raregal.constants import FILE_COLUMN, ID_COLUMN

logger = logging.getLogger(__name__)


def benchmark_embed(
    images: str | os.PathLike[str],
    n_images: int = 256,
    arch: str = "efficientnet_b0",
    bottleneck: int = 128,
    image_size: int = 224,
    batch_size: int = 64,
    num_workers: int | None = None,
    repeats: int = 1,
) -> dict[str, Any]:
    """Images per second of ``embed`` vs a plain loop vs forward-only, on the JPEGs in ``images``.

    Parameters
    ----------
    images : path-like
        A folder of JPEG/PNG files; they are cycled to make ``n_images``.
    n_images : int, default=256
        Images per measurement.
    arch, bottleneck, image_size : default="efficientnet_b0", 128, 224
        The model (randomly initialised: speed does not depend on the weights).
    batch_size : int, default=64
        Batch size of all three measurements.
    num_workers : int, default=None
        DataLoader workers of ``embed`` (its default when None).
    repeats : int, default=1
        Repeat each measurement and keep the best (least disturbed) rate.

    Returns
    -------
    dict
        ``embed``, ``plain_loop`` and ``forward_only`` in images per second, the ratios
        ``speedup_vs_plain`` and ``fraction_of_forward``, and the settings.
    """
    import pandas as pd
    import torch

    from raregal.encode.embed import default_workers, embed
    from raregal.encode.images import is_image_file
    from raregal.encode.models import ModelConfig, build_model, load_model, save_checkpoint

    files = sorted(str(p) for p in Path(images).iterdir() if is_image_file(p))
    if not files:
        from raregal.errors import InputError

        raise InputError("no image files to benchmark on", path=images)
    files = [files[i % len(files)] for i in range(n_images)]
    config = ModelConfig(arch=arch, bottleneck=bottleneck, image_size=image_size)
    torch.manual_seed(0)
    model = build_model(config).eval()
    results: dict[str, Any] = {
        "arch": arch,
        "bottleneck": bottleneck,
        "image_size": image_size,
        "batch_size": batch_size,
        "n_images": n_images,
        "torch_threads": torch.get_num_threads(),
        "num_workers": default_workers() if num_workers is None else num_workers,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    with tempfile.TemporaryDirectory(prefix="raregal-bench-") as tmp:
        folder = save_checkpoint(model, config, Path(tmp) / "model")
        catalog = Path(tmp) / "catalog.parquet"
        ids = [f"b{i}" for i in range(n_images)]
        pd.DataFrame({ID_COLUMN: ids, FILE_COLUMN: files}).to_parquet(catalog)
        encoder = load_model(folder)
        results["torch_threads"] = torch.get_num_threads()  # RAREGAL_NUM_THREADS applies here
        warm = torch.rand(min(batch_size, 8), 3, image_size, image_size)
        encoder.encode(warm)

        def run_embed() -> float:
            out = Path(tmp) / "out.parquet"
            started = time.perf_counter()
            embed(
                catalog,
                out,
                folder,
                batch_size=batch_size,
                num_workers=num_workers,
                overwrite=True,
                progress=False,
            )
            return n_images / (time.perf_counter() - started)

        def run_plain() -> float:
            started = time.perf_counter()
            plain_loop(files, model, image_size, batch_size)
            return n_images / (time.perf_counter() - started)

        batches = _preloaded(files, image_size, batch_size)

        def run_forward() -> float:
            started = time.perf_counter()
            for batch in batches:
                encoder.encode(batch)
            return n_images / (time.perf_counter() - started)

        runs = {"forward_only": run_forward, "embed": run_embed, "plain_loop": run_plain}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):  # interleaved, so that a change of load hits all three alike
            for name, fn in runs.items():
                rates[name].append(fn())
                logger.info("%s: %.1f images/s", name, rates[name][-1])
        results.update({name: max(values) for name, values in rates.items()})
    results["speedup_vs_plain"] = results["embed"] / results["plain_loop"]
    results["fraction_of_forward"] = results["embed"] / results["forward_only"]
    return results


def plain_loop(files: list[str], model, image_size: int, batch_size: int = 64) -> np.ndarray:
    """What a user would write: Pillow open, resize, tensor, forward, 64 images at a time."""
    import torch
    from PIL import Image

    outputs = []
    for start in range(0, len(files), batch_size):
        arrays = []
        for path in files[start : start + batch_size]:
            with Image.open(path) as im:
                im = im.convert("RGB").resize((image_size, image_size))
                arrays.append(np.asarray(im, dtype=np.float32) / 255.0)
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        with torch.no_grad():
            features, _ = model(batch)
        outputs.append(features.numpy())
    return np.concatenate(outputs)


def _preloaded(files: list[str], image_size: int, batch_size: int) -> list:
    import torch

    from raregal.encode.images import Preprocessing, load_image

    prep = Preprocessing(image_size=image_size)
    arrays = np.stack([load_image(f, prep) for f in files])
    tensor = torch.from_numpy(arrays).float().div_(255.0)
    return [tensor[i : i + batch_size] for i in range(0, len(files), batch_size)]


def format_benchmark(result: dict[str, Any]) -> str:
    """A short text report of ``benchmark_embed``'s result."""
    return (
        f"{result['arch']}-{result['bottleneck']} at {result['image_size']} px, batch "
        f"{result['batch_size']}, {result['n_images']} images, {result['device']}, "
        f"{result['torch_threads']} torch threads, {result['num_workers']} workers\n"
        f"  forward only (preloaded): {result['forward_only']:8.1f} images/s\n"
        f"  embed():                  {result['embed']:8.1f} images/s "
        f"({result['speedup_vs_plain']:.2f}x plain loop, "
        f"{100 * result['fraction_of_forward']:.0f}% of forward only)\n"
        f"  plain loop:               {result['plain_loop']:8.1f} images/s"
    )


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Benchmark raregal embed()")
    parser.add_argument("images", help="folder of JPEG cutouts")
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--arch", default="efficientnet_b0")
    parser.add_argument("--num-workers", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    res = benchmark_embed(
        args.images,
        args.n_images,
        args.arch,
        128,
        args.image_size,
        args.batch_size,
        args.num_workers,
        args.repeats,
    )
    print(format_benchmark(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
