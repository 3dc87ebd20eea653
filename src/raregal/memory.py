"""Memory estimates before the heavy stages, and a clear refusal when a stage cannot fit.

Each estimate adds up the large arrays a stage holds at its peak, from the number of rows, their
dimensions and the neighbours (a dict of parts, in bytes). The constants come from the array
layouts of the libraries (umap-learn with pynndescent, fast_hdbscan, torch inference) and round
up, so that a refusal is rarely wrong; an estimate is a guide, not a measurement, and
``--ignore-memory-check`` runs a stage anyway.

``check_memory`` compares an estimate with the memory the machine has free
(``available_memory``: ``MemAvailable``, capped by a cgroup limit) and raises ``InputError`` with
one line saying what is needed, what is free and what to change: a sample fit of a size that
fits, the GPU engine, or a smaller ``n_neighbors`` / ``min_samples`` / batch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from raregal.config import DEFAULTS
from raregal.errors import InputError

logger = logging.getLogger(__name__)

GIB = 1 << 30
HEADROOM = 0.85
"""A stage fits when its estimate is at most this share of the free memory."""

# bytes per (row x neighbour) held by umap-learn at its peak: the pynndescent heap (9), the
# fuzzy graph and its symmetrisation (about 4 sparse copies of 2k entries x 12 bytes = 96) and
# the layout's head/tail/epochs arrays (2k x 32 = 64), rounded up.
UMAP_BYTES_PER_NEIGHBOUR = 200
# bytes per row independent of k: the random-projection forest and NN-descent candidates.
UMAP_BYTES_PER_ROW = 1_200
# fast_hdbscan keeps float64 distances and int64 indices of min_samples + 1 neighbours per row.
HDBSCAN_BYTES_PER_CORE_NEIGHBOUR = 16
HDBSCAN_BYTES_PER_ROW = 400
# peak live activations of EfficientNetB0 inference per image at 224 px (float32), rounded up.
EMBED_ACTIVATION_BYTES_224 = 20 * (1 << 20)
EMBED_MODEL_BYTES = 512 * (1 << 20)


@dataclass
class MemoryEstimate:
    """The memory a stage needs at its peak, and whether it fits.

    Attributes
    ----------
    stage : str
        'embed', 'reduce' or 'cluster'.
    needed : int
        Estimated peak bytes.
    parts : dict of str to int
        The estimate's terms (bytes).
    params : dict
        What it was computed from.
    available : int or None
        Free bytes it was compared with (None: unknown, never refused).
    device : str
        'cpu' (host memory) or 'gpu' (device memory, for cuML engines).
    suggestion : str
        What to change when it does not fit ('' when it fits).
    ignored : bool
        The check was overridden.
    """

    stage: str
    needed: int
    parts: dict[str, int]
    params: dict[str, Any]
    available: int | None = None
    device: str = "cpu"
    suggestion: str = ""
    ignored: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= HEADROOM * self.available

    def to_dict(self) -> dict[str, Any]:
        """For run.json: sizes in bytes and GiB, whether it fits, the suggestion."""
        record = asdict(self)
        record["needed_gib"] = round(self.needed / GIB, 3)
        record["available_gib"] = None if self.available is None else round(self.available / GIB, 3)
        record["fits"] = self.fits
        return record


# ----------------------------------------------------------------------------- the machine


def available_memory() -> int | None:
    """Bytes of host memory free for a new stage (None when it cannot be read).

    ``RAREGAL_MEMORY_AVAILABLE`` (bytes, or with a suffix G/M) overrides it. Otherwise Linux's
    ``MemAvailable``, capped by the cgroup v2 or v1 limit minus current usage.
    """
    override = os.environ.get("RAREGAL_MEMORY_AVAILABLE")
    if override:
        return parse_bytes(override)
    free = _meminfo_available()
    limit = _cgroup_free()
    candidates = [v for v in (free, limit) if v is not None]
    if candidates:
        return min(candidates)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gpu_memory_available() -> int | None:
    """Free bytes on the current GPU (through cupy or torch, if already installed), else None."""
    try:
        import cupy

        return int(cupy.cuda.runtime.memGetInfo()[0])
    except Exception:  # no cupy, no GPU, no driver: unknown
        pass
    try:
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.mem_get_info()[0])
    except Exception:
        pass
    return None


def parse_bytes(text: str) -> int:
    """'16G', '512M', '1.5T' or a plain number of bytes."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    try:
        if text and text[-1] in scale:
            return int(float(text[:-1]) * scale[text[-1]])
        return int(float(text))
    except ValueError:
        raise InputError(
            f"cannot read {text!r} as a memory size (e.g. 16G)", column="RAREGAL_MEMORY_AVAILABLE"
        ) from None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_free() -> int | None:
    pairs = (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
         "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    )  # fmt: skip
    for limit_path, usage_path in pairs:
        try:
            limit_text = Path(limit_path).read_text().strip()
            if limit_text == "max" or int(limit_text) >= 1 << 60:
                return None
            return int(limit_text) - int(Path(usage_path).read_text().strip())
        except (OSError, ValueError):
            continue
    return None


# ----------------------------------------------------------------------------- estimates


def estimate_umap(
    n: int,
    n_features: int,
    n_neighbors: int = DEFAULTS["n_neighbors"],
    n_components: int = DEFAULTS["n_components"],
    fit_sample_size: int | None = DEFAULTS["fit_sample_size"],
    reducer: str = DEFAULTS["reducer"],
) -> MemoryEstimate:
    """Peak memory of the neighbours + UMAP stage (two UMAPs in turn, sharing neighbours).

    With ``fit_sample_size`` only the sample's graph is built; the other rows are held as
    input and placed in chunks. cuML engines are estimated against GPU memory.
    """
    fitted = n if fit_sample_size is None else min(n, fit_sample_size)
    parts = {
        "input": n * n_features * 4 * 2,  # the float32 table and umap-learn's checked copy
        "graph": fitted * n_neighbors * UMAP_BYTES_PER_NEIGHBOUR,
        "index": fitted * UMAP_BYTES_PER_ROW,
        "embeddings": n * (n_components + 3) * 4 * 2,
    }
    if fitted < n:
        chunk = min(n - fitted, 50_000)
        parts["transform_chunk"] = chunk * n_neighbors * UMAP_BYTES_PER_NEIGHBOUR
    params = {"n": n, "n_features": n_features, "n_neighbors": n_neighbors,
              "n_components": n_components, "fit_sample_size": fit_sample_size,
              "reducer": reducer}  # fmt: skip
    device = "gpu" if reducer == "cuml" else "cpu"
    return MemoryEstimate("reduce", sum(parts.values()), parts, params, device=device)


def estimate_hdbscan(
    n: int,
    n_dims: int = DEFAULTS["n_components"],
    min_samples: int = DEFAULTS["min_samples"],
    engine: str = DEFAULTS["engine"],
) -> MemoryEstimate:
    """Peak memory of HDBSCAN on ``n`` points of ``n_dims`` dimensions.

    The core distances dominate: ``min_samples + 1`` neighbours per point, float64 distances and
    int64 indices; then the KD-tree, the spanning tree, the condensed tree and the read-out.
    """
    parts = {
        "core_neighbours": n * (min_samples + 1) * HDBSCAN_BYTES_PER_CORE_NEIGHBOUR,
        "points_and_tree": n * n_dims * 8 * 3,
        "spanning_and_condensed_trees": n * HDBSCAN_BYTES_PER_ROW,
    }
    if engine == "hdbscan":  # the reference keeps a second copy of the core distances
        parts["core_neighbours"] = parts["core_neighbours"] * 3 // 2
    params = {"n": n, "n_dims": n_dims, "min_samples": min_samples, "engine": engine}
    device = "gpu" if engine == "cuml" else "cpu"
    return MemoryEstimate("cluster", sum(parts.values()), parts, params, device=device)


def estimate_embed(
    n_images: int,
    batch_size: int = 256,
    image_size: int = 224,
    channels: int = 3,
    num_workers: int = 1,
    feature_dim: int = 128,
    n_fractions: int = 34,
    prefetch_factor: int = 4,
    gpu: bool = False,
) -> MemoryEstimate:
    """Peak host memory of ``embed``: model and activations (host unless ``gpu``), decoded
    batches waiting in the loader, and the final table combined from the shards."""
    pixels = image_size * image_size * channels
    parts = {
        "model": EMBED_MODEL_BYTES,
        "loader_batches": max(num_workers, 1) * prefetch_factor * batch_size * pixels,
        "batch_float": batch_size * pixels * 4 * 2,
        "output_table": n_images * ((feature_dim + n_fractions) * 4 * 3 + 100),
    }
    if not gpu:
        activations = EMBED_ACTIVATION_BYTES_224 * (image_size / 224) ** 2
        parts["activations"] = int(batch_size * activations)
    params = {"n_images": n_images, "batch_size": batch_size, "image_size": image_size,
              "channels": channels, "num_workers": num_workers, "gpu": gpu}  # fmt: skip
    return MemoryEstimate("embed", int(sum(parts.values())), parts, params)


# ----------------------------------------------------------------------------- the check


def _largest(fn, low: int, high: int, limit: float) -> int | None:
    """Largest integer x in [low, high] with fn(x) <= limit (fn increasing), or None."""
    if high < low or fn(low) > limit:
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if fn(mid) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def suggest(estimate: MemoryEstimate, available: int) -> str:
    """What to change so that the stage fits in ``available`` bytes."""
    limit = HEADROOM * available
    p = estimate.params
    hints: list[str] = []
    if estimate.stage == "reduce":
        n, d, k, c = p["n"], p["n_features"], p["n_neighbors"], p["n_components"]
        size = _largest(
            lambda s: estimate_umap(n, d, k, c, s, p["reducer"]).needed, 1_000, n - 1, limit
        )
        if size is not None:
            size = max(1_000, size // 1_000 * 1_000)
            hints.append(f"a sample fit (--fit-sample-size {size})")
        if p["reducer"] != "cuml":
            hints.append("the GPU engine (--reducer cuml, on a machine with cuML)")
        k_fit = _largest(
            lambda kk: estimate_umap(n, d, kk, c, p["fit_sample_size"], p["reducer"]).needed,
            2, k - 1, limit,
        )  # fmt: skip
        if k_fit is not None and k_fit >= 5:
            hints.append(f"a smaller neighbourhood (--n-neighbors {k_fit})")
    elif estimate.stage == "cluster":
        n, d, ms = p["n"], p["n_dims"], p["min_samples"]
        if p["engine"] != "cuml":
            hints.append("the GPU engine (--engine cuml, on a machine with cuML)")
        ms_fit = _largest(lambda m: estimate_hdbscan(n, d, m, p["engine"]).needed, 1, ms - 1, limit)
        if ms_fit is not None:
            hints.append(f"a smaller density scale (--min-samples {ms_fit})")
        hints.append("fewer galaxies")
    elif estimate.stage == "embed":
        batch = _largest(
            lambda b: estimate_embed(**{**p, "batch_size": b}).needed,
            1, p["batch_size"] - 1, limit,
        )  # fmt: skip
        if batch is not None:
            hints.append(f"a smaller batch (--batch-size {batch})")
        if estimate.parts["output_table"] > limit / 2:
            hints.append("splitting the catalog (the output table is combined in memory)")
        hints.append("fewer workers (--num-workers 1)")
    return "; or ".join(hints)


def check_memory(
    estimate: MemoryEstimate, available: int | None = None, ignore: bool = False
) -> MemoryEstimate:
    """Compare ``estimate`` with the free memory; refuse with a suggestion when it cannot fit.

    Parameters
    ----------
    estimate : MemoryEstimate
        From ``estimate_umap``, ``estimate_hdbscan`` or ``estimate_embed``.
    available : int, default=None
        Free bytes; None reads them (``available_memory`` or, for GPU engines,
        ``gpu_memory_available``).
    ignore : bool, default=False
        Log a warning instead of refusing (``--ignore-memory-check``).

    Returns
    -------
    MemoryEstimate
        With ``available``, ``suggestion`` and ``ignored`` filled in (for run.json).

    Raises
    ------
    InputError
        One line: the stage, what it needs, what is free, and what to change.
    """
    if available is None:
        available = gpu_memory_available() if estimate.device == "gpu" else available_memory()
    estimate.available = available
    if estimate.fits:
        logger.info("%s needs about %.2f GiB of %s memory; %s GiB free", estimate.stage,
                    estimate.needed / GIB, estimate.device,
                    "?" if available is None else f"{available / GIB:.2f}")  # fmt: skip
        return estimate
    estimate.suggestion = suggest(estimate, available)
    shown = ", ".join(f"{k}={v}" for k, v in estimate.params.items() if v is not None)
    message = (
        f"the {estimate.stage} stage needs about {estimate.needed / GIB:.1f} GiB of "
        f"{estimate.device} memory ({shown}) but {available / GIB:.1f} GiB is free; try: "
        f"{estimate.suggestion}; or pass --ignore-memory-check to run it anyway"
    )
    if ignore:
        estimate.ignored = True
        logger.warning("%s (ignored)", message)
        return estimate
    raise InputError(message, column=estimate.stage, count=estimate.params.get("n"))


# ----------------------------------------------------------------------------- the stages


def check_reduce_memory(
    n: int, n_features: int, params: dict[str, Any], ignore: bool = False
) -> MemoryEstimate:
    """``check_memory`` of the neighbours + UMAP stage for a search's reduce parameters
    (missing ones take the defaults of ``raregal.config.DEFAULTS``)."""
    from raregal.reduce.engines import REDUCERS

    p = {**DEFAULTS, **params}
    estimate = estimate_umap(
        n, n_features, p["n_neighbors"], p["n_components"], p["fit_sample_size"],
        REDUCERS.resolve(p["reducer"]),
    )  # fmt: skip
    return check_memory(estimate, ignore=ignore)


def check_cluster_memory(
    n: int, n_dims: int, params: dict[str, Any], ignore: bool = False
) -> MemoryEstimate:
    """``check_memory`` of the HDBSCAN stage for a search's clustering parameters."""
    from raregal.cluster.engines import CLUSTERERS

    p = {**DEFAULTS, **params}
    estimate = estimate_hdbscan(n, n_dims, p["min_samples"], CLUSTERERS.resolve(p["engine"]))
    return check_memory(estimate, ignore=ignore)
