"""One-shot GPU check of raregal's encoder: forward-only, a plain DataLoader loop and ``embed``.

Made for a lent GPU machine on which everything must happen in one short call:

1. the device (``nvidia-smi -L``, torch, the GPU's name);
2. ``--n-images`` JPEG cutouts of 256x256 px written into ``--work``, made in parallel by tiling and
   perturbing a few real cutouts (``--sources``: rotations, flips, crops, brightness, noise), with
   a catalog (``id_str``, ``file_loc``);
3. an EfficientNet-B0 with a 128-D bottleneck and the GZ DESI head, built and saved with raregal's
   own ``build_model`` / ``save_checkpoint`` and loaded back with ``load_model`` (random weights:
   throughput does not depend on them), 224 px input, then

   - ``forward_only``: the model on preloaded GPU tensors (bf16 autocast, and fp32);
   - ``decode_only``: raregal's DataLoader (``embed``'s dataset, collate and sampler) alone;
   - ``plain_loop``: a torch DataLoader over Pillow decode + resize to float tensors feeding the
     model (fp32, and with bf16 autocast);
   - ``embed``: ``raregal.encode.embed.embed`` end to end (load, decode, forward, Parquet), with
     its output checked (rows, feature columns, finite values), and bf16 against fp32 output on a
     few hundred images (cosine similarity of the representations).

Every figure goes into the JSON ``--out`` as soon as it is measured (a failure in one step is
recorded there and the later steps still run), and is printed. Run on the GPU machine::

    PYTHONPATH=src python3 scripts/gpu_embed_check.py --sources .gpu_inputs \
        --work /tmp/gpucheck --out $OUT/gpu_embed_check.json

A small CPU dry run (``--device cpu --n-images 64 --workers 2 --batch-size 16``) checks the script.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger("gpu_embed_check")

CUTOUT_SIZE = 256
_SOURCES: list[np.ndarray] = []


# ----------------------------------------------------------------------------- cutouts


def _load_sources(paths: list[str]) -> None:
    from PIL import Image

    _SOURCES.clear()
    for path in paths:
        with Image.open(path) as im:
            _SOURCES.append(np.asarray(im.convert("RGB")))


def _make_one(index: int, folder: str, seed: int) -> str:
    """One 256 px cutout: a source rotated, flipped, cropped, rescaled, brightened and noised."""
    from PIL import Image

    rng = np.random.default_rng([seed, index])
    image = _SOURCES[index % len(_SOURCES)]
    image = np.rot90(image, k=int(rng.integers(4)))
    if rng.random() < 0.5:
        image = image[:, ::-1]
    height, width = image.shape[:2]
    side = int(rng.integers(int(0.7 * min(height, width)), min(height, width) + 1))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = np.ascontiguousarray(image[top : top + side, left : left + side])
    im = Image.fromarray(crop).resize((CUTOUT_SIZE, CUTOUT_SIZE), Image.Resampling.BILINEAR)
    pixels = np.asarray(im, dtype=np.float32) * rng.uniform(0.85, 1.15)
    pixels += rng.normal(0.0, 3.0, size=pixels.shape).astype(np.float32)
    out = Path(folder) / f"cut_{index:06d}.jpg"
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, quality=90)
    return str(out)


def _make_chunk(args: tuple[list[int], str, int]) -> list[str]:
    indices, folder, seed = args
    return [_make_one(i, folder, seed) for i in indices]


def make_cutouts(sources: Path, n: int, work: Path, processes: int, seed: int = 0) -> Path:
    """Write ``n`` cutouts into ``work/images`` and their catalog ``work/catalog.parquet``."""
    from raregal.constants import FILE_COLUMN, ID_COLUMN
    from raregal.encode.images import is_image_file

    paths = sorted(str(p) for p in sources.iterdir() if is_image_file(p))
    if not paths:
        raise SystemExit(f"no source images in {sources}")
    folder = work / "images"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _load_sources(paths)  # before the fork: every worker inherits the decoded sources
    chunks = [(list(range(i, min(i + 250, n))), str(folder), seed) for i in range(0, n, 250)]
    with mp.get_context("fork").Pool(processes) as pool:
        files = [f for chunk in pool.map(_make_chunk, chunks) for f in chunk]
    catalog = work / "catalog.parquet"
    ids = [Path(f).stem for f in files]
    pd.DataFrame({ID_COLUMN: ids, FILE_COLUMN: files}).to_parquet(catalog, index=False)
    return catalog


# ----------------------------------------------------------------------------- measurements


def calibrate_batchnorm(model, files: list[str], batch_size: int, device: str,
                        processes: int) -> dict[str, Any]:  # fmt: skip
    """Give the random model's batch norms the statistics of real inputs (as trained weights
    have), so that its activations and representations are of a realistic scale: the bf16/fp32
    comparison is then one of a working network, not of vanishing activations."""
    import torch

    from raregal.encode.images import load_image

    with mp.get_context("fork").Pool(processes) as pool:
        arrays = pool.map(load_image, files, chunksize=16)
    x = torch.from_numpy(np.stack(arrays)).float().div_(255.0)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.to(device).train()
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            model(x[i : i + batch_size].to(device))
        model.eval()
        features, _ = model(x[:batch_size].to(device))
    return {
        "images": len(x),
        "batch_norms": len(norms),
        "feature_abs_mean_fp32": float(features.abs().mean()),
        "feature_std_fp32": float(features.std()),
    }


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def forward_only(model, batches: list, device: str, bf16: bool, rounds: int) -> dict[str, Any]:
    """Images/s of ``model`` over preloaded device batches: 3 warm-up batches, then ``rounds``
    passes over all of them, each timed; the best and median pass."""
    import torch

    def run(items) -> None:
        with (
            torch.inference_mode(),
            torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16),
        ):
            for x in items:
                model(x)

    run(batches[:3])
    _sync(device)
    n = sum(len(b) for b in batches)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        run(batches)
        _sync(device)
        rates.append(n / (time.perf_counter() - started))
    return {
        "images_per_s": max(rates),
        "median_images_per_s": float(np.median(rates)),
        "images_per_pass": n,
        "passes": rounds,
    }


def encode_only(encoder, batches: list) -> dict[str, Any]:
    """Images/s of ``encoder.encode`` on preloaded batches: what embed calls per batch (forward,
    vote fractions, copies of both to the host), one pass after 3 warm-up batches."""
    for x in batches[:3]:
        encoder.encode(x)
    started = time.perf_counter()
    for x in batches:
        encoder.encode(x)
    n = sum(len(b) for b in batches)
    return {"images_per_s": n / (time.perf_counter() - started), "images": n}


def decode_only(files: list[str], prep, batch_size: int, workers: int, pin: bool) -> dict:
    """Images/s of embed's own DataLoader (dataset, collate, batches, pinning) without a model."""
    from torch.utils.data import DataLoader

    from raregal.encode.embed import _batches, _collate, _ImageDataset

    started = time.perf_counter()
    loader = DataLoader(
        _ImageDataset(files, prep),
        batch_sampler=_batches(0, len(files), 8192, batch_size),
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=pin,
        prefetch_factor=4 if workers else None,
    )
    count = 0
    for _, batch, _ in loader:
        count += 0 if batch is None else len(batch)
    seconds = time.perf_counter() - started
    return {"images_per_s": count / seconds, "seconds": seconds, "images": count}


class PlainDataset:
    """What a user writes: Pillow open, RGB, resize to the input size, float tensor in [0, 1]."""

    def __init__(self, files: list[str], size: int) -> None:
        self.files = files
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        import torch
        from PIL import Image

        with Image.open(self.files[index]) as im:
            im = im.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.float32) / 255.0
        return torch.from_numpy(array).permute(2, 0, 1)


def plain_loop(files, model, size, batch_size, workers, device, bf16: bool) -> dict[str, Any]:
    """Images/s of a plain loop: DataLoader(batch_size, workers) -> model -> features on the CPU."""
    import torch
    from torch.utils.data import DataLoader

    started = time.perf_counter()
    loader = DataLoader(PlainDataset(files, size), batch_size=batch_size, num_workers=workers)
    rows = 0
    with (
        torch.no_grad(),
        torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16),
    ):
        for batch in loader:
            features, _ = model(batch.to(device))
            rows += len(features.float().cpu())
    seconds = time.perf_counter() - started
    return {"images_per_s": rows / seconds, "seconds": seconds, "images": rows}


def embed_run(catalog: Path, out: Path, folder: Path, batch_size: int, workers: int,
              bf16: bool | None, device: str) -> dict[str, Any]:  # fmt: skip
    """``embed`` end to end, timed from outside too; the output table checked."""
    from raregal.constants import FEATURE_PREFIX
    from raregal.encode.embed import embed
    from raregal.io.tables import read_table

    started = time.perf_counter()
    result = embed(
        catalog,
        out,
        str(folder),
        batch_size=batch_size,
        num_workers=workers,
        device=device,
        bf16=bf16,
        overwrite=True,
        progress=False,
    )
    seconds = time.perf_counter() - started
    table = read_table(out)
    feats = [c for c in table.columns if c.startswith(FEATURE_PREFIX)]
    values = table[feats].to_numpy(dtype=np.float64)
    numeric = table.drop(columns=["id_str"]).to_numpy(dtype=np.float64)
    return {
        "images_per_s": result.images_per_second,
        "images_per_s_outside": result.n_rows / seconds,
        "seconds": result.seconds,
        "n_images": result.n_images,
        "rows": len(table),
        "feature_columns": len(feats),
        "columns": table.shape[1],
        "n_failed": result.n_failed,
        "all_finite": bool(np.isfinite(numeric).all()),
        "feature_abs_mean": float(np.abs(values).mean()),
        "_table": table,
    }


def cosine_agreement(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Row-wise cosine similarity of the feature columns (and largest fraction difference)."""
    from raregal.constants import FEATURE_PREFIX, FRACTION_SUFFIX

    a = a.set_index("id_str").sort_index()
    b = b.set_index("id_str").loc[a.index]
    feats = [c for c in a.columns if c.startswith(FEATURE_PREFIX)]
    x, y = a[feats].to_numpy(np.float64), b[feats].to_numpy(np.float64)
    cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    fracs = [c for c in a.columns if c.endswith(FRACTION_SUFFIX)]
    diff = np.abs(a[fracs].to_numpy(np.float64) - b[fracs].to_numpy(np.float64))
    return {
        "images": len(a),
        "cosine_median": float(np.median(cos)),
        "cosine_min": float(cos.min()),
        "cosine_p01": float(np.percentile(cos, 1)),
        "relative_l2_median": float(
            np.median(np.linalg.norm(x - y, axis=1) / np.linalg.norm(x, axis=1))
        ),
        "fraction_max_abs_diff": float(diff.max()) if diff.size else None,
    }


# ----------------------------------------------------------------------------- driver


class Record:
    """The JSON of figures, rewritten after every step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        }

    def step(self, name: str, fn, *args, **kwargs) -> Any:
        print(f"== {name}", flush=True)
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # keep going: the later figures are still worth having
            traceback.print_exc()
            self.data[name] = {"error": f"{type(exc).__name__}: {exc}"}
            self.save()
            return None
        shown = (
            {k: v for k, v in value.items() if not k.startswith("_")}
            if isinstance(value, dict)
            else value
        )
        self.data[name] = shown
        print(json.dumps(shown, indent=1, default=str), flush=True)
        self.save()
        return value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2, default=str))


def device_info(device: str) -> dict[str, Any]:
    import PIL
    import timm
    import torch

    try:
        smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
        smi_text = (smi.stdout or smi.stderr).strip()
    except (OSError, subprocess.SubprocessError) as exc:
        smi_text = f"unavailable ({exc})"
    shm = shutil.disk_usage("/dev/shm") if Path("/dev/shm").exists() else None
    info = {
        "nvidia_smi_L": smi_text,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "timm": timm.__version__,
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "dev_shm_free_gib": round(shm.free / 2**30, 1) if shm else None,
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
    }
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["multiprocessors"] = props.multi_processor_count
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=Path, required=True, help="folder of real JPEG cutouts")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpucheck"))
    parser.add_argument("--out", type=Path, required=True, help="JSON of figures")
    parser.add_argument("--n-images", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=14, help="DataLoader workers")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="processes writing the cutouts")  # fmt: skip
    parser.add_argument("--agreement-images", type=int, default=512)
    parser.add_argument("--calibration-images", type=int, default=512,
                        help="real images that set the random model's BN statistics")  # fmt: skip
    parser.add_argument("--forward-batches", type=int, default=10, help="preloaded batches")
    parser.add_argument("--forward-rounds", type=int, default=5, help="timed passes over them")
    parser.add_argument("--embed-repeats", type=int, default=2)
    parser.add_argument("--device", default=None, help="cuda when available, else cpu")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch

    from raregal.encode.images import Preprocessing, load_image
    from raregal.encode.models import ModelConfig, build_model, load_model, save_checkpoint

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    record = Record(args.out)
    record.data["settings"] = {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
    }
    record.step("device", device_info, device)
    args.work.mkdir(parents=True, exist_ok=True)

    def cutouts() -> dict[str, Any]:
        started = time.perf_counter()
        catalog = make_cutouts(args.sources, args.n_images, args.work, args.processes)
        seconds = time.perf_counter() - started
        files = pd.read_parquet(catalog)["file_loc"]
        sizes = [os.path.getsize(f) for f in files[:200]]
        return {
            "images": len(files),
            "seconds": seconds,
            "processes": args.processes,
            "sources": len(_SOURCES),
            "mean_kib": float(np.mean(sizes) / 1024),
            "_catalog": catalog,
            "_files": files.tolist(),
        }

    made = record.step("cutouts", cutouts)
    if made is None:
        return 1
    catalog, files = made["_catalog"], made["_files"]

    bs = args.batch_size
    config = ModelConfig()  # efficientnet_b0, 128-D bottleneck, 224 px, GZ DESI head
    torch.manual_seed(0)
    model = build_model(config)
    calib_files = files[: args.calibration_images]
    record.step("calibration", calibrate_batchnorm, model, calib_files, bs, device, args.processes)
    folder = save_checkpoint(model.eval().cpu(), config, args.work / "model")
    encoder = load_model(str(folder), device=device)  # what embed loads: channels_last, bf16
    record.data["model"] = {
        "arch": config.arch,
        "bottleneck": config.bottleneck,
        "image_size": encoder.image_size,
        "feature_dim": encoder.feature_dim,
        "head": config.head,
        "parameters": sum(p.numel() for p in encoder.model.parameters()),
        "checkpoint": str(folder),
        "encoder_bf16_default": encoder.bf16,
    }
    prep = Preprocessing(image_size=encoder.image_size)

    def preload() -> list:
        chosen = files[: args.forward_batches * bs]
        with mp.get_context("fork").Pool(args.processes) as pool:
            arrays = pool.map(load_image, chosen, chunksize=64)
        tensor = torch.from_numpy(np.stack(arrays)).to(device).float().div_(255.0)
        tensor = tensor.contiguous(memory_format=torch.channels_last)
        return [tensor[i : i + bs] for i in range(0, len(tensor), bs)]

    batches = preload()
    record.step("forward_only_bf16", forward_only, encoder.model, batches, device, True,
                args.forward_rounds)  # fmt: skip
    record.step("forward_only_fp32", forward_only, encoder.model, batches, device, False,
                args.forward_rounds)  # fmt: skip

    record.step("encode_only_bf16", encode_only, encoder, batches)
    del batches
    if device.startswith("cuda"):
        torch.cuda.empty_cache()

    pin = device.startswith("cuda")
    record.step("decode_only", decode_only, files, prep, bs, args.workers, pin)

    plain_model = build_model(config)
    plain_model.load_state_dict(encoder.model.state_dict())
    plain_model = plain_model.eval().to(device)
    record.step("plain_loop_fp32", plain_loop, files, plain_model, encoder.image_size, bs,
                args.workers, device, False)  # fmt: skip
    record.step("plain_loop_bf16", plain_loop, files, plain_model, encoder.image_size, bs,
                args.workers, device, True)  # fmt: skip
    del plain_model, encoder

    def agreement() -> dict[str, Any]:
        sub = args.work / "agreement.parquet"
        pd.read_parquet(catalog).head(args.agreement_images).to_parquet(sub, index=False)
        fp32 = embed_run(sub, args.work / "agree_fp32.parquet", folder, bs, args.workers,
                         False, device)  # fmt: skip
        bf16 = embed_run(sub, args.work / "agree_bf16.parquet", folder, bs, args.workers,
                         None, device)  # fmt: skip
        return cosine_agreement(fp32["_table"], bf16["_table"])

    record.step("bf16_vs_fp32", agreement)
    for repeat in range(args.embed_repeats):
        record.step(f"embed_{repeat}", embed_run, catalog, args.work / "emb.parquet", folder, bs,
                    args.workers, None, device)  # fmt: skip

    runs = [record.data.get(f"embed_{r}", {}) for r in range(args.embed_repeats)]
    rates = [r["images_per_s"] for r in runs if "images_per_s" in r]
    summary: dict[str, Any] = {"device_name": record.data.get("device", {}).get("device_name")}
    if rates:
        best = max(rates)

        def rate(name: str) -> float | None:
            return record.data.get(name, {}).get("images_per_s")

        summary.update(
            {
                "embed_images_per_s": best,
                "embed_checks_ok": all(
                    r.get("rows") == args.n_images
                    and r.get("feature_columns") == 128
                    and r.get("all_finite")
                    and r.get("n_failed") == 0
                    for r in runs
                ),
                "forward_only_bf16_images_per_s": rate("forward_only_bf16"),
                "decode_only_images_per_s": rate("decode_only"),
                "plain_loop_fp32_images_per_s": rate("plain_loop_fp32"),
                "plain_loop_bf16_images_per_s": rate("plain_loop_bf16"),
            }
        )
        for name in ("forward_only_bf16", "decode_only", "plain_loop_fp32", "plain_loop_bf16"):
            if rate(name):
                summary[f"embed_over_{name}"] = best / rate(name)
        summary["target_3000_met"] = best >= 3000
        plain = rate("plain_loop_fp32")
        summary["target_1_5x_plain_met"] = bool(plain) and best >= 1.5 * plain
    record.data["summary"] = summary
    record.data["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    record.save()
    print("== summary")
    print(json.dumps(summary, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
