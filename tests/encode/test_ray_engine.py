"""The Ray engine of embed, on a local Ray cluster of 2 CPUs started once for this module: the same
table as the single-process engine, and the same shards, so either engine resumes the other."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from typer.testing import CliRunner  # noqa: E402

from raregal.cli import app  # noqa: E402
from raregal.encode.embed import embed  # noqa: E402
from raregal.encode.models import ModelConfig, build_model, save_checkpoint  # noqa: E402
from raregal.encode.ray_engine import embed_ray  # noqa: E402
from raregal.errors import InputError  # noqa: E402

pytestmark = pytest.mark.slow  # a local Ray and its actors: ~1 min on a quiet 2-core machine


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for the whole module (starting one takes 10-20 s)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)  # fmt: skip
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small ConvNeXt with a 128-D bottleneck and a GZ DESI head, saved as a checkpoint."""
    torch.manual_seed(0)
    config = ModelConfig(arch="test_convnext", bottleneck=128, image_size=32)
    return save_checkpoint(build_model(config), config, tmp_path_factory.mktemp("m") / "tiny")


@pytest.fixture(scope="module")
def catalog(gz_examples, tmp_path_factory) -> Path:
    """24 real cutouts (DECaLS and SDSS) and one missing file."""
    files = sorted((gz_examples / "images").glob("*.jpg"))[::2][:24]
    rows = [(f.stem, str(f)) for f in files] + [("gone", str(gz_examples / "no_such.jpg"))]
    path = tmp_path_factory.mktemp("cat") / "catalog.csv"
    pd.DataFrame(rows, columns=["id_str", "file_loc"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def single(catalog, tiny_model, tmp_path_factory):
    """The single-process engine's table: the reference."""
    out = tmp_path_factory.mktemp("single") / "reps.parquet"
    return embed(catalog, out, tiny_model, batch_size=8, shard_size=10, num_workers=0,
                 progress=False)  # fmt: skip


def test_ray_cli_writes_the_same_table_as_the_single_process_engine(
    local_ray, catalog, tiny_model, single, tmp_path
):
    """`raregal embed --engine ray`: same ids in the same order, features and fractions equal
    (float tolerance only: the batches differ), same failures table."""
    out = tmp_path / "reps.parquet"
    result = CliRunner().invoke(app, [
        "embed", str(catalog), "--out", str(out), "--model", str(tiny_model), "--engine", "ray",
        "--batch-size", "8", "--shard-size", "10", "--num-actors", "1", "--no-progress",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 24 of 25 images" in result.output and "1 could not be read" in result.output
    reference, distributed = pd.read_parquet(single.path), pd.read_parquet(out)
    assert distributed["id_str"].tolist() == reference["id_str"].tolist()
    pd.testing.assert_frame_equal(distributed, reference, check_exact=False, atol=1e-5)
    failures = pd.read_parquet(out.with_name("reps.failures.parquet"))
    pd.testing.assert_frame_equal(failures, pd.read_parquet(single.failures_path))
    assert failures["id_str"].tolist() == ["gone"] and "not found" in failures["reason"][0]
    assert not out.with_name("reps.parquet.parts").exists()


class Interrupted(Exception):
    """Raised from the shard callback to stop a run the way a kill would, after a commit."""


def test_an_interrupted_ray_run_is_resumed_without_loss_or_duplicates(
    local_ray, catalog, tiny_model, single, tmp_path
):
    """Stopped after its first committed shard, a Ray run leaves that shard and its manifest;
    the single-process engine resumes after it, and the table equals an uninterrupted one."""
    out = tmp_path / "reps.parquet"

    def stop_after_first(start: int, stop: int) -> None:
        raise Interrupted(f"{start}..{stop}")

    with pytest.raises(Interrupted, match=r"0\.\.10"):
        embed_ray(catalog, out, tiny_model, batch_size=8, shard_size=10, num_actors=1,
                  progress=False, on_shard=stop_after_first)  # fmt: skip
    manifest = json.loads((tmp_path / "reps.parquet.parts" / "manifest.json").read_text())
    assert [(s["start"], s["stop"]) for s in manifest["shards"]] == [(0, 10)]
    assert not out.exists()

    resumed = embed(catalog, out, tiny_model, batch_size=8, shard_size=10, num_workers=0,
                    progress=False)  # fmt: skip
    assert resumed.n_resumed == 10 and resumed.n_rows == 24 and resumed.n_failed == 1
    table = pd.read_parquet(out)
    assert table["id_str"].is_unique
    pd.testing.assert_frame_equal(table, pd.read_parquet(single.path), check_exact=False,
                                  atol=1e-5)  # fmt: skip


def test_ray_engine_needs_a_model_it_can_load_in_each_actor(catalog, tmp_path):
    """An in-memory model cannot be shipped to the actors by name: a clear error, no Ray."""
    with pytest.raises(InputError, match="pass its name or folder"):
        embed_ray(catalog, tmp_path / "x.parquet", object(), progress=False)
    with pytest.raises(InputError, match="Parquet"):
        embed_ray(catalog, tmp_path / "x.csv", "demo", progress=False)
