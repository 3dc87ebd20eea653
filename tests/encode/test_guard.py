"""The domain guard: quiet on images like the encoder's training data, one warning line otherwise.

The unit tests build representation tables whose fractions are drawn question by question
(Dirichlet) and whose features are Gaussian, so that each check can be triggered alone. The
slow tests run the bundled encoder on images it should not trust (flat grey, pure noise) beside
a small simulated survey of the demo's kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from raregal.encode.guard import (
    MAX_RULE_SHARE,
    check_domain,
    reference_statistics,
    removal_shares,
)
from raregal.schema import FRACTION_COLUMNS, GZ_DESI

D = 16


PLAUSIBLE = {"smooth-or-featured": (2.0, 2.0, 0.2), "disk-edge-on": (0.6, 5.0)}
"""Dirichlet concentrations of a plausible survey: few artifacts, few edge-on disks."""


def fractions_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Varied vote fractions: each question's answers drawn from a Dirichlet."""
    blocks = [
        rng.dirichlet(PLAUSIBLE.get(q.name, np.ones(len(q.answers))), size=n) for q in GZ_DESI
    ]
    return pd.DataFrame(np.concatenate(blocks, axis=1), columns=FRACTION_COLUMNS)


def representations(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    frame = fractions_table(rng, n)
    for j in range(D):
        frame[f"feat_{j}"] = rng.normal(shift, 1.0, n)
    return frame


@pytest.fixture
def reference(rng):
    held_out = representations(rng, 500)
    return reference_statistics(
        held_out[[f"feat_{j}" for j in range(D)]].to_numpy(), held_out[FRACTION_COLUMNS].to_numpy()
    )


def test_quiet_on_images_like_the_training_data(rng, reference):
    result = check_domain(representations(rng, 300), reference, "model 'demo'")
    assert not result.warned and result.message == "" and result.failed == []
    assert result.figures["distance_ratio"] == pytest.approx(1.0, abs=0.15)
    assert result.figures["n_images"] == 300


def test_collapsed_answers_warn_with_the_spread(rng, reference):
    table = representations(rng, 300)
    table[FRACTION_COLUMNS] = table[FRACTION_COLUMNS].iloc[0].to_numpy()
    table["disk-edge-on_yes_fraction"] = 0.1
    table["smooth-or-featured_artifact_fraction"] = 0.1
    result = check_domain(table, reference, "model 'demo'")
    assert result.warned and "collapse" in result.failed
    assert "\n" not in result.message
    assert "answers hardly vary (spread 0.000" in result.message
    assert "model 'demo' looks out of its depth on these 300 images" in result.message
    assert "hf_hub:mwalmsley/zoobot-encoder" in result.message  # and says what to do


def test_an_edge_on_rule_removing_most_images_warns(rng):
    table = representations(rng, 200)
    edge = np.where(np.arange(200) < 160, 0.8, 0.05)
    table["disk-edge-on_yes_fraction"] = edge
    table["smooth-or-featured_smooth_fraction"] = 0.1
    table["smooth-or-featured_artifact_fraction"] = 0.0
    result = check_domain(table, None, "model 'demo'")
    assert result.failed == ["removal_edge_on"]
    assert "80% would be removed as edge-on" in result.message
    assert result.figures["removed_share"]["edge_on"] == pytest.approx(0.8)
    assert "distance_ratio" not in result.figures  # no reference: the distance is not judged


def test_the_artifact_rule_is_not_judged_when_artifacts_are_kept(rng):
    table = representations(rng, 200)
    table["smooth-or-featured_smooth_fraction"] = 0.1
    table["disk-edge-on_yes_fraction"] = 0.1
    table["smooth-or-featured_artifact_fraction"] = np.where(np.arange(200) < 150, 0.7, 0.1)
    assert check_domain(table).failed == ["removal_artifact"]
    assert not check_domain(table, rules=("smooth", "edge_on")).warned
    assert removal_shares(table)["artifact"] == pytest.approx(0.75)
    assert removal_shares(table)["artifact"] > MAX_RULE_SHARE


def test_representations_far_from_training_warn_with_the_ratio(rng, reference):
    result = check_domain(representations(rng, 300, shift=4.0), reference, "model 'demo'")
    assert result.failed == ["far_from_training"]
    assert result.figures["distance_ratio"] > 3
    assert f"{result.figures['distance_ratio']:.1f}x farther" in result.message


def test_too_few_images_are_not_judged(rng, reference):
    result = check_domain(representations(rng, 5), reference)
    assert not result.warned and "fewer than" in result.figures["skipped"]


# --- the bundled encoder ---------------------------------------------------------------------


def _write_images(folder, arrays) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, array in enumerate(arrays):
        Image.fromarray(array).save(folder / f"img_{i:03d}.png")


def _guard_on(folder, tmp_path):
    from raregal.encode.embed import embed
    from raregal.encode.models import model_card

    result = embed(
        folder, tmp_path / f"{folder.name}.parquet", "demo", num_workers=0, progress=False
    )
    table = pd.read_parquet(result.path)
    return check_domain(table, model_card("demo")["reference"], "model 'demo'")


@pytest.mark.slow
def test_bundled_encoder_guard_warns_on_flat_and_noise_images_not_on_the_demo_survey(tmp_path):
    from raregal.simulate import simulate_survey

    rng = np.random.default_rng(1)
    size = 96
    flat = [np.full((size, size, 3), int(v), np.uint8) for v in rng.integers(10, 200, 40)]
    noise = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(40)]
    _write_images(tmp_path / "flat", flat)
    _write_images(tmp_path / "noise", noise)
    survey = simulate_survey(
        tmp_path / "survey",
        n=120,
        seed=9,
        size=size,
        workers=1,
        contact_sheets=False,
        progress=False,
    )
    demo_like = _guard_on_catalog(survey, tmp_path)
    assert not demo_like.warned, demo_like.message
    for name in ("flat", "noise"):
        result = _guard_on(tmp_path / name, tmp_path)
        assert result.warned, (name, result.figures)
        assert result.message.count("\n") == 0


def _guard_on_catalog(catalog, tmp_path):
    from raregal.encode.embed import embed
    from raregal.encode.models import model_card

    result = embed(catalog, tmp_path / "survey.parquet", "demo", num_workers=0, progress=False)
    table = pd.read_parquet(result.path)
    return check_domain(table, model_card("demo")["reference"], "model 'demo'")
