"""The streaming, parallel, resumable writer of a simulated survey.

Layout of a survey folder::

    SURVEY/
      survey.json            the parameters (a folder holding other parameters is refused)
      images/0000/sim_0000000.png   cutouts (or .fits g, r, z cubes), 1000 per sub-folder
      parts/part_000000000.parquet  catalog rows of one finished chunk (kept for resuming)
      catalog.parquet        id_str, file_loc, ra, dec, true_class, parameters, votes
      contact/<class>.png    a contact sheet per class

Chunks of galaxies are rendered by worker processes; a chunk's part file is written (atomically)
after its images, so an interrupted run resumes at the first unfinished chunk, and the catalog is
assembled in order at the end. Each galaxy depends only on ``(seed, index)``: the same seed gives
the same bytes whatever the number of workers or interruptions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.schema import ANSWER_COLUMNS, FRACTION_COLUMNS
from raregal.simulate.classes import (
    CLASS_KIND,
    DEFAULT_ARTIFACT_FRACTION,
    DEFAULT_RARE_FRACTION,
    class_fractions,
)
from raregal.simulate.presets import DEFAULT_PRESET, PRESETS, check_preset

logger = logging.getLogger(__name__)

SIMULATOR_VERSION = 5
"""Bumped whenever the pictures or votes change, so that old surveys are not silently resumed.

Version 5: survey presets (DECaLS-like, SDSS-like, mixed), galaxies small in the frame, textured
disks, varied rare classes, artifacts as surveys have them, JPEG-like colour stretches."""

IMAGE_FORMATS = ("png", "fits")
SPEC_FILE = "survey.json"
CATALOG_FILE = "catalog.parquet"
_OWNED = ("images", "parts", "contact", CATALOG_FILE, SPEC_FILE)
"""What a survey folder holds; only these are removed by ``overwrite=True``."""

EXTRA_COLUMNS: dict[str, str] = {
    "preset": "str",
    "n_stars": "int64",
    "n_neighbours": "int64",
    "psf_fwhm_px": "float64",
    "sky_sigma": "float64",
    "artifact_angle": "float64",
    "artifact_x": "float64",
    "artifact_y": "float64",
    "artifact_band": "float64",
}


@dataclass(frozen=True)
class SurveySpec:
    """The parameters that fix a survey's content; two runs with equal specs write equal bytes."""

    n: int
    seed: int = 0
    size: int = 128
    image_format: str = "png"
    fractions: dict[str, float] = field(default_factory=class_fractions)
    chunk_size: int = 200
    preset: str = DEFAULT_PRESET
    version: int = SIMULATOR_VERSION

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-able dict (the content of ``survey.json``)."""
        return asdict(self)

    def image_path(self, index: int) -> str:
        """Path of galaxy ``index``'s cutout, relative to the survey folder."""
        return f"images/{index // 1000:04d}/{galaxy_id(index)}.{self.image_format}"


def galaxy_id(index: int) -> str:
    """The ``id_str`` of galaxy ``index``."""
    return f"sim_{index:07d}"


def make_spec(
    n: int,
    seed: int = 0,
    size: int = 128,
    image_format: str = "png",
    rare_fraction: float = DEFAULT_RARE_FRACTION,
    artifact_fraction: float = DEFAULT_ARTIFACT_FRACTION,
    fractions: Mapping[str, float] | None = None,
    chunk_size: int = 200,
    preset: str = DEFAULT_PRESET,
) -> SurveySpec:
    """Validate the parameters of a survey and return its ``SurveySpec``.

    Raises
    ------
    InputError
        For n <= 0, a size outside [32, 1024], an unknown image format or preset, a chunk size
        < 1 or class fractions that do not fit (see ``class_fractions``).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise InputError(f"the number of galaxies n must be a positive integer; got {n!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    if not isinstance(size, int | np.integer) or not 32 <= size <= 1024:
        raise InputError(f"size must be an integer number of pixels in [32, 1024]; got {size!r}")
    if image_format not in IMAGE_FORMATS:
        raise InputError(f"image format must be one of {IMAGE_FORMATS}; got {image_format!r}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1; got {chunk_size}")
    table = class_fractions(rare_fraction, artifact_fraction, fractions)
    return SurveySpec(
        int(n), int(seed), int(size), image_format, table, int(chunk_size), check_preset(preset)
    )


# --- one chunk ----------------------------------------------------------------------------------


def _catalog_schema():
    import pyarrow as pa

    from raregal.simulate.galaxies import PARAM_COLUMNS

    fields = [
        pa.field(ID_COLUMN, pa.string()),
        pa.field(FILE_COLUMN, pa.string()),
        pa.field("ra", pa.float64()),
        pa.field("dec", pa.float64()),
        pa.field("true_class", pa.string()),
        pa.field("class_kind", pa.string()),
        pa.field("artifact_host", pa.string()),
    ]
    fields += [pa.field(c, pa.float64()) for c in PARAM_COLUMNS]
    fields += [
        pa.field(c, pa.string() if t == "str" else pa.from_numpy_dtype(np.dtype(t)))
        for c, t in EXTRA_COLUMNS.items()
    ]
    fields += [pa.field(c, pa.int64()) for c in ANSWER_COLUMNS]
    fields += [pa.field(c, pa.float64()) for c in FRACTION_COLUMNS]
    return pa.schema(fields)


def _sky_position(seed: int, index: int) -> tuple[float, float]:
    from raregal.simulate.galaxy import galaxy_rng

    rng = galaxy_rng(seed, index, 3)
    ra = 150.0 + 10.0 * rng.random()
    dec = float(np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-5)), np.sin(np.radians(5))))))
    return ra, dec


def render_chunk(out: str, spec_json: Mapping[str, Any], start: int, stop: int) -> int:
    """Render galaxies ``start..stop-1``, write their images and the chunk's part file.

    Runs in a worker process; returns the number of galaxies written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raregal.io.atomic import atomic_path
    from raregal.simulate.galaxies import PARAM_COLUMNS
    from raregal.simulate.galaxy import VOTE_STREAM, galaxy_rng, simulate_galaxy
    from raregal.simulate.render import to_rgb, write_fits, write_png
    from raregal.simulate.votes import simulate_votes, votes_table

    spec = SurveySpec(**spec_json)
    root = Path(out)
    rows: dict[str, list[Any]] = {name: [] for name in _catalog_schema().names}
    all_counts = []
    for index in range(start, stop):
        galaxy = simulate_galaxy(spec.seed, index, spec.size, spec.fractions, spec.preset)
        rel = spec.image_path(index)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec.image_format == "png":
            write_png(to_rgb(galaxy.bands, galaxy.observation.stretch), path)
        else:
            write_fits(galaxy.bands, path, PRESETS[galaxy.observation.preset].bands)
        params = galaxy.params
        ra, dec = _sky_position(spec.seed, index)
        rows[ID_COLUMN].append(galaxy_id(index))
        rows[FILE_COLUMN].append(rel)
        rows["ra"].append(ra)
        rows["dec"].append(dec)
        rows["true_class"].append(galaxy.true_class)
        rows["class_kind"].append(CLASS_KIND[galaxy.true_class])
        rows["artifact_host"].append(str(params.get("artifact_host", "")))
        for name in PARAM_COLUMNS:
            rows[name].append(float(params.get(name, np.nan)))
        for name, dtype in EXTRA_COLUMNS.items():
            if dtype == "str":
                rows[name].append(str(params.get(name, "")))
                continue
            value = params.get(name, 0 if dtype == "int64" else np.nan)
            rows[name].append(int(value) if dtype == "int64" else float(value))
        rng = galaxy_rng(spec.seed, index, VOTE_STREAM)
        all_counts.append(simulate_votes(galaxy.true_class, params, rng))
    for name, values in votes_table(np.array(all_counts)).items():
        rows[name] = list(values)
    table = pa.Table.from_pydict(rows, schema=_catalog_schema())
    with atomic_path(root / "parts" / _part_name(start)) as tmp:
        pq.write_table(table, tmp)
    return stop - start


def _part_name(start: int) -> str:
    return f"part_{start:09d}.parquet"


# --- the survey ---------------------------------------------------------------------------------


def _prepare_folder(out: Path, spec: SurveySpec, overwrite: bool) -> None:
    """Refuse a folder holding another survey or other files, unless ``overwrite``."""
    spec_path = out / SPEC_FILE
    if spec_path.exists():
        try:
            old = json.loads(spec_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the survey parameters ({exc})", path=spec_path) from exc
        if old == spec.to_json():
            return
        if not overwrite:
            changed = sorted(
                k for k in set(old) | set(spec.to_json()) if old.get(k) != spec.to_json().get(k)
            )
            raise InputError(
                f"holds another survey (different {', '.join(changed)}); choose another folder or "
                "pass --overwrite",
                path=out,
            )
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(
            "is not empty and holds no survey; choose another folder or pass --overwrite", path=out
        )
    if overwrite:
        for name in _OWNED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    from raregal.io.atomic import atomic_path

    with atomic_path(spec_path) as tmp:
        tmp.write_text(json.dumps(spec.to_json(), indent=2, sort_keys=True))


def _chunks(spec: SurveySpec) -> list[tuple[int, int]]:
    return [(s, min(s + spec.chunk_size, spec.n)) for s in range(0, spec.n, spec.chunk_size)]


def _run_chunks(
    out: Path, spec: SurveySpec, todo: list[tuple[int, int]], workers: int, progress: bool
):
    from tqdm.auto import tqdm

    total = sum(b - a for a, b in todo)
    bar = tqdm(total=total, unit="img", desc="simulate", disable=not progress)
    spec_json = spec.to_json()
    try:
        if workers <= 1 or len(todo) <= 1:
            for start, stop in todo:
                bar.update(render_chunk(str(out), spec_json, start, stop))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(render_chunk, str(out), spec_json, a, b) for a, b in todo]
            try:
                for future in as_completed(futures):
                    bar.update(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        bar.close()


def _assemble_catalog(out: Path, spec: SurveySpec) -> Path:
    """Stream the part files, in order, into ``catalog.parquet`` (atomically, spec as metadata)."""
    import pyarrow.parquet as pq

    from raregal.io.atomic import atomic_path
    from raregal.io.tables import METADATA_KEY

    schema = _catalog_schema()
    meta = {METADATA_KEY.encode(): json.dumps({"survey": spec.to_json()}, sort_keys=True).encode()}
    schema = schema.with_metadata(meta)
    path = out / CATALOG_FILE
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for start, _ in _chunks(spec):
            writer.write_table(pq.read_table(out / "parts" / _part_name(start)).cast(schema))
    return path


def simulate_survey(
    out: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    size: int = 128,
    image_format: str = "png",
    rare_fraction: float = DEFAULT_RARE_FRACTION,
    artifact_fraction: float = DEFAULT_ARTIFACT_FRACTION,
    fractions: Mapping[str, float] | None = None,
    workers: int | None = None,
    chunk_size: int = 200,
    overwrite: bool = False,
    contact_sheets: bool = True,
    progress: bool = True,
    preset: str = DEFAULT_PRESET,
) -> Path:
    """Write a simulated survey with planted rare classes to ``out``; return the catalog's path.

    Parameters
    ----------
    out : path
        The survey folder (created; a folder holding another survey is refused).
    n : int
        Number of galaxies.
    seed : int, default=0
        The survey's seed: equal seeds and parameters give equal bytes.
    size : int, default=128
        Side of the cutouts in pixels (the sky covered does not change with it).
    image_format : {'png', 'fits'}, default='png'
        RGB PNG cutouts, or FITS cubes of the g, r, z fluxes.
    rare_fraction, artifact_fraction : float, default=0.005
        Fraction of each planted rare class and of each artifact class.
    fractions : mapping, optional
        Per-class fractions that override the two above.
    workers : int, optional
        Worker processes (started with "spawn": call from under ``if __name__ == "__main__"`` in
        scripts); default every core. 1 renders in this process.
    chunk_size : int, default=200
        Galaxies per part file (the unit of resumption).
    overwrite : bool, default=False
        Replace a survey with other parameters that is already in ``out``.
    contact_sheets : bool, default=True
        Write ``contact/<class>.png``.
    progress : bool, default=True
        Show a progress bar.
    preset : {'decals', 'sdss', 'mixed'}, default='decals'
        How the survey looks (``raregal.simulate.presets``): DECaLS-like or SDSS-like cutouts,
        or each galaxy drawing one of the two.

    Returns
    -------
    Path
        ``out/catalog.parquet``.
    """
    spec = make_spec(
        n, seed, size, image_format, rare_fraction, artifact_fraction, fractions, chunk_size, preset
    )
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise InputError(f"workers must be >= 1; got {workers}")
    root = Path(out)
    _prepare_folder(root, spec, overwrite)
    chunks = _chunks(spec)
    todo = [(a, b) for a, b in chunks if not (root / "parts" / _part_name(a)).exists()]
    if len(todo) < len(chunks):
        logger.info(
            "resuming: %d of %d chunks already written", len(chunks) - len(todo), len(chunks)
        )
    started = time.perf_counter()
    _run_chunks(root, spec, todo, workers, progress)
    elapsed = time.perf_counter() - started
    rendered = sum(b - a for a, b in todo)
    if rendered:
        logger.info(
            "rendered %d galaxies in %.1f s (%.1f images/s)", rendered, elapsed, rendered / elapsed
        )
    catalog = _assemble_catalog(root, spec)
    if contact_sheets:
        from raregal.simulate.contact import write_contact_sheets

        write_contact_sheets(root)
    return catalog
