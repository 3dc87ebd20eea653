"""Each planted rare class differs measurably from the bulk in a simple image statistic.

The statistics are computed on the rendered g + r + z fluxes (with PSF, noise, field stars and
neighbours). The criterion: the class's median lies beyond the 75th (or below the 25th)
percentile of the comparison population, so the planted ground truth is not empty. Shells and
streams are faint by design and compared with the ellipticals that host them.
"""

from __future__ import annotations

import numpy as np
import pytest

from raregal.simulate.classes import BULK_CLASSES, CLASS_NAMES
from raregal.simulate.galaxy import simulate_galaxy

SIZE = 64


def _render(name: str, count: int, seed: int = 1) -> list[np.ndarray]:
    only = {n: 1.0 if n == name else 0.0 for n in CLASS_NAMES}
    return [simulate_galaxy(seed, i, SIZE, only).bands for i in range(count)]


def _polar(size: int):
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return x, y, np.hypot(x, y), np.arctan2(y, x)


def centroid_offset(bands: np.ndarray) -> float:
    """Distance of the light-weighted centroid from the cutout centre, in cutout sides."""
    img = np.clip(bands.sum(0), 0, None)
    x, y, _, _ = _polar(img.shape[0])
    return float(np.hypot((img * x).sum(), (img * y).sum()) / img.sum() / img.shape[0])


def blueness(bands: np.ndarray) -> float:
    """g / z flux ratio in the central quarter (young, star-forming light is blue)."""
    _, _, r, _ = _polar(bands.shape[1])
    core = r < bands.shape[1] / 4
    return float(bands[0][core].clip(0).sum() / max(bands[2][core].clip(0).sum(), 1e-9))


def asymmetry(bands: np.ndarray) -> float:
    """Rotational asymmetry sum|I - I_180| / sum I in the central quarter."""
    img = np.clip(bands.sum(0), 0, None)
    _, _, r, _ = _polar(img.shape[0])
    core = r < img.shape[0] / 4
    return float(np.abs(img - img[::-1, ::-1])[core].sum() / img[core].sum())


def concentration(bands: np.ndarray) -> float:
    """Light within 2 px of the centre over light within 8 px (per 64 px): low for pairs."""
    img = np.clip(bands.sum(0), 0, None)
    _, _, r, _ = _polar(img.shape[0])
    k = img.shape[0] / 64
    return float(img[r < 2 * k].sum() / img[r < 8 * k].sum())


def ring_contrast(bands: np.ndarray) -> float:
    """Largest rise of the azimuthal-median profile over its minimum further in (a gap, a ring)."""
    img = bands.sum(0)
    _, _, r, _ = _polar(img.shape[0])
    profile = np.array(
        [np.median(img[(r >= k) & (r < k + 1)]) for k in range(int(img.shape[0] / 2.2))]
    )
    return float(max(profile[k] / max(profile[:k].min(), 1e-4) for k in range(2, len(profile))))


def sector_bump(bands: np.ndarray, sectors: int = 8) -> float:
    """Largest outward rise of a sector's median profile, in sky sigmas (shells' sharp edges)."""
    img = bands.sum(0)
    size = img.shape[0]
    _, _, r, theta = _polar(size)
    outside = img[r > 0.45 * size]
    sky = 1.4826 * np.median(np.abs(outside - np.median(outside)))
    sector = ((theta + np.pi) / (2 * np.pi) * sectors).astype(int) % sectors
    ring = (r / (2 * size / 64)).astype(int)
    best = 0.0
    for k in range(sectors):
        profile = np.array([np.median(img[(sector == k) & (ring == j)]) for j in range(2, 14)])
        best = max(best, float((profile - np.minimum.accumulate(profile)).max() / sky))
    return best


CASES = [
    ("shredded_clumpy", centroid_offset, "high", BULK_CLASSES),
    ("barred_clumpy", blueness, "high", BULK_CLASSES),
    ("clumpy_lowmass", blueness, "high", BULK_CLASSES),
    ("one_armed", asymmetry, "high", BULK_CLASSES),
    ("merger_bridge", concentration, "low", BULK_CLASSES),
    ("ring", ring_contrast, "high", BULK_CLASSES),
    ("shells_streams", sector_bump, "high", ("elliptical",)),
]


@pytest.fixture(scope="module")
def references():
    return {name: _render(name, 10) for name in BULK_CLASSES}


@pytest.mark.parametrize(
    ("name", "statistic", "side", "compared_with"), CASES, ids=[c[0] for c in CASES]
)
def test_planted_class_stands_out(references, name, statistic, side, compared_with):
    reference = np.array([statistic(b) for c in compared_with for b in references[c]])
    planted = np.median([statistic(b) for b in _render(name, 12)])
    if side == "high":
        assert planted > np.percentile(reference, 75), (planted, np.percentile(reference, [50, 75]))
    else:
        assert planted < np.percentile(reference, 25), (planted, np.percentile(reference, [25, 50]))
