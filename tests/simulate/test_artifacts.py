"""The five artifact types look as surveys have them, and their votes follow what is visible.

Each test measures the rendered 8-bit cutout (what the encoder sees): survey edges are black,
a missing band leaves one colour channel empty over a large region, saturated stars burn out,
bleed trails are long straight streaks. The bulk galaxies are the comparison.
"""

from __future__ import annotations

import numpy as np
import pytest

from raregal.simulate.classes import BULK_CLASSES, CLASS_NAMES
from raregal.simulate.galaxy import VOTE_STREAM, galaxy_rng, simulate_galaxy
from raregal.simulate.render import to_rgb
from raregal.simulate.votes import simulate_votes, votes_table

SIZE = 96
N = 16


def _only(names) -> dict[str, float]:
    names = [names] if isinstance(names, str) else list(names)
    return {n: (1.0 / len(names) if n in names else 0.0) for n in CLASS_NAMES}


def _render(names, count: int = N, seed: int = 5):
    galaxies = [simulate_galaxy(seed, i, SIZE, _only(names), "decals") for i in range(count)]
    return galaxies, [to_rgb(g.bands, g.observation.stretch) for g in galaxies]


@pytest.fixture(scope="module")
def bulk():
    return _render(BULK_CLASSES, 40)[1]


def black_share(rgb: np.ndarray) -> float:
    """Share of pixels with no data in any band (pure black)."""
    return float((rgb.max(axis=2) == 0).mean())


def one_empty_channel_share(rgb: np.ndarray) -> float:
    """Share of pixels where exactly one colour channel is empty (a missing band)."""
    return float(((rgb == 0).sum(axis=2) == 1).mean())


def saturated_pixels(rgb: np.ndarray) -> int:
    """Pixels with a burnt-out (saturated) colour channel."""
    return int((rgb.max(axis=2) >= 254).sum())


def longest_streak(rgb: np.ndarray) -> float:
    """Longest run of bright pixels (grey > 150) along a row or a column, in frame sides."""
    bright = rgb.mean(axis=2) > 150
    best = 0
    for lines in (bright, bright.T):
        for line in lines:
            run = 0
            for value in line:
                run = run + 1 if value else 0
                best = max(best, run)
    return best / SIZE


def test_image_edges_are_black(bulk):
    _, images = _render("image_edge")
    shares = np.array([black_share(x) for x in images])
    assert (shares > 0.1).all(), shares
    assert max(black_share(x) for x in bulk) < 0.01  # a few noise pixels, no region


def test_a_missing_band_empties_one_channel_over_a_region(bulk):
    _, images = _render("missing_band")
    shares = np.array([one_empty_channel_share(x) for x in images])
    assert np.median(shares) > 0.15, shares
    assert np.median([one_empty_channel_share(x) for x in bulk]) < 0.01


def test_saturated_stars_burn_out_and_bleed_in_long_streaks(bulk):
    _, stars = _render("bright_star")
    _, bleeds = _render("saturation_bleed")
    reference = np.percentile([saturated_pixels(x) for x in bulk], 75)
    assert np.median([saturated_pixels(x) for x in stars]) > 2 * reference + 5
    streaks = np.array([longest_streak(x) for x in bleeds])
    assert np.median(streaks) > 0.25, streaks
    assert np.median(streaks) > 2 * np.percentile([longest_streak(x) for x in bulk], 90)


def test_artifact_votes_follow_what_is_visible():
    """An artifact over empty sky gets more artifact votes than one over a galaxy."""
    galaxies, _ = _render(["satellite_trail", "bright_star", "missing_band"], count=60)
    counts = [
        simulate_votes(g.true_class, g.params, galaxy_rng(5, i, VOTE_STREAM))
        for i, g in enumerate(galaxies)
    ]
    artifact = votes_table(np.array(counts))["smooth-or-featured_artifact_fraction"]
    no_host = np.array([g.params["artifact_host"] == "none" for g in galaxies])
    assert 5 <= no_host.sum() <= 40, no_host.sum()
    assert np.mean(artifact[no_host]) > np.mean(artifact[~no_host]) + 0.1
    assert np.mean(artifact >= 0.3) > 0.8  # the paper's rule removes artifacts by their votes
