"""Where a galaxy is on the sky: links to sky viewers by (ra, dec), and whether they are real.

A run on the simulated survey has made-up coordinates, so links would open unrelated sky; the
simulated survey writes its specification into its catalog's metadata, the pipeline records
``simulated`` in ``run.json`` (``inputs.catalog.simulated``), and both the report and the explorer
switch the links off with a note. Runs written before that flag existed are recognised by the
metadata of the input tables that ``run.json`` names.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

SKY_VIEWERS = {
    "Legacy Survey": "https://www.legacysurvey.org/viewer?ra={ra:.6f}&dec={dec:.6f}&layer=ls-dr10&zoom=14",
    "ESASky": "https://sky.esa.int/esasky/?target={target}&hips=DSS2+color&fov=0.05&cooframe=J2000",
    "SIMBAD": "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={target}&CooFrame=ICRS&Radius=10&Radius.unit=arcsec",
}  # fmt: skip
"""Sky viewers by name: URL templates filled with ``ra``, ``dec`` (degrees) and ``target``."""

SIMULATED_NOTE = "Simulated survey: these coordinates are made up, so sky links are switched off."
METADATA_KEY = "raregal"


def _coordinates(ra: Any, dec: Any) -> tuple[float, float] | None:
    try:
        ra, dec = float(ra), float(dec)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(ra) and math.isfinite(dec)) or not -90 <= dec <= 90:
        return None
    return ra, dec


def sky_links(ra: Any, dec: Any) -> dict[str, str]:
    """Viewer name -> URL for the position (ra, dec) in degrees; empty when not a position."""
    position = _coordinates(ra, dec)
    if position is None:
        return {}
    ra, dec = position
    target = quote(f"{ra:.6f} {dec:+.6f}")
    return {name: url.format(ra=ra, dec=dec, target=target) for name, url in SKY_VIEWERS.items()}


def _table_metadata(path: Path) -> dict[str, Any]:
    """raregal's key-value metadata of a Parquet file (empty for anything else)."""
    if path.suffix not in (".parquet", ".pq") or not path.is_file():
        return {}
    try:
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
        return json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {}


def table_is_simulated(path: str | Path) -> bool:
    """True when the table's metadata says it comes from the simulated survey."""
    meta = _table_metadata(Path(path))
    return "survey" in meta or _flag(meta)


def _flag(value: Any) -> bool:
    if isinstance(value, dict):
        return any((k == "simulated" and bool(v)) or _flag(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_flag(v) for v in value)
    return False


def coordinates_simulated(record: dict[str, Any], run_dir: str | Path | None = None) -> bool:
    """True when the run's galaxies come from the simulated survey (made-up ra, dec).

    Parameters
    ----------
    record : dict
        ``run.json``; a true ``simulated`` anywhere in it decides.
    run_dir : path-like, optional
        The run folder: its ``representations.parquet`` and the input tables that ``run.json``
        names are looked at for the simulated survey's metadata (``survey`` or ``simulated``).
    """
    if _flag(record):
        return True
    paths = [
        Path(entry["path"])
        for entry in (record.get("inputs") or {}).values()
        if isinstance(entry, dict) and entry.get("path")
    ]
    if run_dir is not None:
        paths.append(Path(run_dir) / "representations.parquet")
    return any(table_is_simulated(path) for path in paths)
