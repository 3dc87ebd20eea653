"""Training: the Dirichlet-multinomial loss, a tiny model that learns, resumption and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from raregal.cli import app  # noqa: E402
from raregal.encode.models import load_model  # noqa: E402
from raregal.encode.train import (  # noqa: E402
    TrainConfig,
    consistency_loss,
    dirichlet_multinomial_loss,
    fraction_mae,
    train,
    training_table,
)
from raregal.errors import InputError  # noqa: E402
from raregal.schema import ANSWER_COLUMNS, question_slices  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    """One torch thread: on a crowded 2-core machine two threads spin against each other."""
    threads = torch.get_num_threads()
    monkeypatch.setenv("RAREGAL_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def test_loss_is_the_dirichlet_multinomial_likelihood():
    """Against scipy's dirichlet_multinomial, question by question; unasked questions add 0."""
    from scipy.stats import dirichlet_multinomial

    rng = np.random.default_rng(1)
    alpha = rng.uniform(1, 100, (3, 34))
    counts = rng.integers(0, 12, (3, 34)).astype(float)
    counts[:, 3:5] = 0  # disk-edge-on not asked
    expected = np.zeros(3)
    for start, stop in question_slices():
        for i in range(3):
            if counts[i, start:stop].sum() > 0:
                expected[i] -= dirichlet_multinomial.logpmf(
                    counts[i, start:stop], alpha[i, start:stop], counts[i, start:stop].sum()
                )
    ours = dirichlet_multinomial_loss(torch.tensor(alpha), torch.tensor(counts)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4)


def test_covariance_term_penalises_correlated_dimensions_only():
    """VICReg's covariance term: zero weight leaves the loss as it was; with a weight, features
    whose dimensions repeat one another cost more than independent ones of the same spread."""
    generator = torch.Generator().manual_seed(0)
    independent = torch.randn(256, 8, generator=generator) * 2
    repeated = independent[:, :1].repeat(1, 8)
    extra = []
    for z in (independent, repeated):
        plain = consistency_loss(z, z)
        assert torch.isclose(consistency_loss(z, z, 0.0), plain)
        assert consistency_loss(z, z, 1.0) >= plain
        extra.append(consistency_loss(z, z, 1.0) - plain)
    extra_independent, extra_repeated = extra
    assert extra_repeated > 50 * extra_independent
    with pytest.raises(InputError, match="covariance_weight"):
        _config(covariance_weight=0.1, consistency_weight=0.0).validate()


def test_fraction_mae_ignores_unasked_questions():
    counts = np.zeros((1, 34))
    counts[0, :3] = [3, 1, 0]  # only smooth-or-featured asked
    fractions = np.full((1, 34), 0.5)
    fractions[0, :3] = [0.75, 0.25, 0.0]
    assert fraction_mae(fractions, counts) == 0.0


def _survey(folder, rng, n: int = 48):
    """Smooth blobs voted smooth, ringed galaxies voted featured: learnable from pixels."""
    from PIL import Image

    yy, xx = np.mgrid[:24, :24] - 11.5
    radius = np.hypot(xx, yy)
    rows = []
    for i in range(n):
        smooth = i % 2 == 0
        image = np.exp(-radius / 3) if smooth else np.exp(-((radius - 7) ** 2) / 4)
        image = np.clip(255 * image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
        Image.fromarray(np.stack([image] * 3, -1)).save(folder / f"g{i}.png")
        votes = dict.fromkeys(ANSWER_COLUMNS, 0)
        votes["smooth-or-featured_smooth"] = int(rng.binomial(20, 0.9 if smooth else 0.1))
        votes["smooth-or-featured_featured-or-disk"] = 20 - votes["smooth-or-featured_smooth"]
        rows.append({"id_str": f"g{i}", "file_loc": f"g{i}.png", **votes})
    pd.DataFrame(rows).to_csv(folder / "catalog.csv", index=False)
    return folder / "catalog.csv"


def _config(**kw) -> TrainConfig:
    base = dict(
        arch="test_convnext",
        bottleneck=16,
        image_size=32,
        epochs=3,
        batch_size=8,
        lr=3e-3,
        val_fraction=0.25,
        num_workers=0,
        seed=0,
    )
    return TrainConfig(**{**base, **kw})


@pytest.mark.slow
def test_tiny_model_learns_and_resumes(tmp_path, rng):
    catalog = _survey(tmp_path, rng)
    result = train(catalog, tmp_path / "model", _config(), progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert result.val_mae < 0.35  # a constant 1/2 guess on smooth-vs-featured scores ~0.4

    encoder = load_model(tmp_path / "model", device="cpu")
    from raregal.encode.images import Preprocessing, load_image

    batch = (
        torch.from_numpy(
            np.stack([load_image(tmp_path / f"g{i}.png", Preprocessing(32)) for i in range(6)])
        ).float()
        / 255
    )
    features, fractions = encoder.encode(batch)
    assert features.shape == (6, 16)
    for start, stop in question_slices():
        np.testing.assert_allclose(fractions[:, start:stop].sum(dim=1).numpy(), 1.0, atol=1e-5)
    smooth = fractions[:, 0].numpy()
    assert smooth[::2].mean() > smooth[1::2].mean()  # blobs look smoother than rings
    record = json.loads((tmp_path / "model" / "config.json").read_text())["raregal"]["training"]
    assert record["best_epoch"] == result.best_epoch and len(record["history"]) == 3

    again = train(catalog, tmp_path / "model", _config(), progress=False)
    assert again.history == result.history  # every epoch restored, none trained twice
    with pytest.raises(InputError, match="other parameters"):
        train(catalog, tmp_path / "model", _config(lr=1e-2), progress=False)


@pytest.mark.slow
def test_a_pinned_answer_is_reported_and_reset_questions_revives_it(tmp_path, rng):
    """An answer whose sigmoid is saturated stays at the floor however long one trains (its
    gradient has vanished); the record names it, and resetting its question revives it."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    catalog = _survey(tmp_path, rng, n=64)
    train(catalog, tmp_path / "start", _config(epochs=1, head_norm=True), progress=False)
    weights_file = tmp_path / "start" / "model.safetensors"
    with safe_open(str(weights_file), "pt") as handle:
        metadata = handle.metadata()
        weights = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    featured = ANSWER_COLUMNS.index("smooth-or-featured_featured-or-disk")
    weights["head.linear.bias"][featured] = -40.0
    save_file(weights, str(weights_file), metadata=metadata)

    start = str(tmp_path / "start")
    kept = train(catalog, tmp_path / "kept", _config(init=start, head_norm=True), progress=False)
    assert all(h["pinned_answers"] == [ANSWER_COLUMNS[featured]] for h in kept.history)
    revived = train(
        catalog,
        tmp_path / "revived",
        _config(init=start, head_norm=True, reset_questions=("smooth-or-featured",)),
        progress=False,
    )
    assert all(h["pinned_answers"] == [] for h in revived.history)
    record = json.loads((tmp_path / "revived" / "config.json").read_text())["raregal"]["training"]
    assert record["history"][-1]["pinned_answers"] == []


def test_catalog_checks(tmp_path, rng):
    catalog = _survey(tmp_path, rng, n=4)
    df = pd.read_csv(catalog)
    df.loc[1, "bar_weak"] = -2
    df.to_csv(tmp_path / "negative.csv", index=False)
    with pytest.raises(InputError, match="1 negative vote count") as info:
        training_table(tmp_path / "negative.csv")
    assert info.value.column == "bar_weak"
    df.drop(columns=["merging_merger"]).to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(InputError, match="merging_merger"):
        training_table(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="val_fraction"):
        _config(val_fraction=1.5).validate()
    with pytest.raises(InputError, match=r"1 question.*'mergers'.*merging"):
        _config(reset_questions=("mergers",)).validate()


def test_cli_train(tmp_path, rng):
    from typer.testing import CliRunner

    catalog = _survey(tmp_path, rng, n=16)
    args = [
        "train",
        str(catalog),
        "--out",
        str(tmp_path / "m"),
        "--arch",
        "test_convnext",
        "--bottleneck",
        "8",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--consistency-weight",
        "0.5",
        "--covariance-weight",
        "0.04",
        "--reset-question",
        "merging",
        "--num-workers",
        "0",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "best epoch 1" in result.output
    recorded = json.loads((tmp_path / "m" / "config.json").read_text())["raregal"]["training"]
    assert recorded["config"]["covariance_weight"] == 0.04
    assert recorded["config"]["reset_questions"] == ["merging"]
    assert load_model(tmp_path / "m").encode(torch.rand(2, 3, 32, 32))[0].shape == (2, 8)
