"""Survey presets: DECaLS-like and SDSS-like cutouts differ as the real ones do; mixed draws both.

The figures compared are those a viewer of the public JPEG cutouts sees: the sky level (Legacy
Surveys JPEGs have a grey sky, SDSS ones a near-black one), the colour of a galaxy's core (SDSS
cutouts are warmer) and how much of the frame a galaxy fills (small in both, as in real cutouts).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from raregal.errors import InputError
from raregal.io.tables import read_table
from raregal.simulate import simulate_survey
from raregal.simulate.classes import CLASS_NAMES
from raregal.simulate.galaxy import galaxy_rng, simulate_galaxy
from raregal.simulate.presets import MIXED_WEIGHTS, PRESETS, check_preset, draw_observation
from raregal.simulate.render import to_rgb
from raregal.simulate.survey import SIMULATOR_VERSION

SIZE = 96
N = 24


def _only(name: str) -> dict[str, float]:
    return {n: 1.0 if n == name else 0.0 for n in CLASS_NAMES}


def _rgb(preset: str, name: str, count: int = N) -> list[np.ndarray]:
    galaxies = [simulate_galaxy(3, i, SIZE, _only(name), preset) for i in range(count)]
    return [to_rgb(g.bands, g.observation.stretch).astype(float) for g in galaxies]


def sky_level(rgb: np.ndarray) -> float:
    """Median of the grey level in the outer sixth of the frame on both sides (8-bit units)."""
    grey = rgb.mean(axis=2)
    edge = SIZE // 6
    return float(np.median(np.concatenate([grey[:, :edge].ravel(), grey[:, -edge:].ravel()])))


def core_warmth(rgb: np.ndarray) -> float:
    """Red over blue in the central 5 x 5 pixels."""
    core = rgb[SIZE // 2 - 2 : SIZE // 2 + 3, SIZE // 2 - 2 : SIZE // 2 + 3].reshape(-1, 3)
    return float(core[:, 0].mean() / max(core[:, 2].mean(), 1.0))


def filled_fraction(rgb: np.ndarray) -> float:
    """Share of the frame's pixels 40 grey levels above the sky."""
    return float((rgb.mean(axis=2) > sky_level(rgb) + 40).mean())


@pytest.fixture(scope="module")
def ellipticals():
    return {preset: _rgb(preset, "elliptical") for preset in PRESETS}


def test_decals_sky_is_grey_and_sdss_sky_is_dark(ellipticals):
    decals = np.median([sky_level(x) for x in ellipticals["decals"]])
    sdss = np.median([sky_level(x) for x in ellipticals["sdss"]])
    assert 12 < decals < 30, decals  # the Legacy Surveys JPEGs' pedestal: about 19 of 255
    assert sdss < 10 < decals, (sdss, decals)


def test_sdss_cores_are_warmer(ellipticals):
    decals = np.median([core_warmth(x) for x in ellipticals["decals"]])
    sdss = np.median([core_warmth(x) for x in ellipticals["sdss"]])
    assert sdss > decals * 1.15, (sdss, decals)


def test_galaxies_are_small_in_the_frame(ellipticals):
    """Real cutouts show the galaxy over a few per cent of the frame, never most of it."""
    for preset, images in ellipticals.items():
        filled = np.array([filled_fraction(x) for x in images])
        assert np.median(filled) < 0.15 and filled.max() < 0.4, (preset, np.median(filled))
        assert filled.min() > 0.002, preset  # and still there


def test_mixed_draws_both_presets_in_proportion():
    drawn = [draw_observation("mixed", galaxy_rng(0, i, 1)).preset for i in range(400)]
    share = drawn.count("decals") / len(drawn)
    assert set(drawn) == set(PRESETS)
    assert abs(share - MIXED_WEIGHTS["decals"]) < 0.08, share


def test_unknown_preset_is_refused():
    with pytest.raises(InputError, match="preset must be one of"):
        check_preset("hsc")
    with pytest.raises(InputError, match="'hsc'"):
        simulate_survey("unused", n=2, preset="hsc")


def test_survey_records_its_preset_per_galaxy_and_in_the_spec(tmp_path):
    simulate_survey(tmp_path, n=12, seed=2, size=48, preset="mixed", workers=1,
                    contact_sheets=False, progress=False, chunk_size=6)  # fmt: skip
    spec = json.loads((tmp_path / "survey.json").read_text())
    assert spec["preset"] == "mixed" and spec["version"] == SIMULATOR_VERSION == 5
    catalog = read_table(tmp_path / "catalog.parquet")
    assert set(catalog["preset"]) <= set(PRESETS) and len(set(catalog["preset"])) == 2
    assert catalog["apparent_size"].between(0.3, 1.3).all()
