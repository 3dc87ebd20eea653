"""embed(): real cutouts and FITS to a representation table, failures, resumption after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from raregal.cli import app  # noqa: E402
from raregal.encode.embed import embed, failures_path_for, image_table  # noqa: E402
from raregal.encode.models import ModelConfig, build_model, save_checkpoint  # noqa: E402
from raregal.errors import InputError  # noqa: E402
from raregal.schema import FRACTION_COLUMNS, question_slices  # noqa: E402

FEATURES = [f"feat_{i}" for i in range(128)]


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    """One torch thread: on a crowded 2-core machine two threads spin against each other."""
    threads = torch.get_num_threads()
    monkeypatch.setenv("RAREGAL_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small ConvNeXt with a 128-D bottleneck and a GZ DESI head, as a raregal checkpoint."""
    torch.manual_seed(0)
    config = ModelConfig(arch="test_convnext", bottleneck=128, image_size=32)
    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_checkpoint(build_model(config), config, folder)
    return folder


def test_real_cutouts_folder(gz_examples, tiny_model, tmp_path):
    """Every real cutout gets one row with 128 features and fractions that sum to 1 per question."""
    out = tmp_path / "reps.parquet"
    result = embed(
        gz_examples / "images", out, tiny_model, batch_size=64, num_workers=1, progress=False
    )
    df = pd.read_parquet(out)
    n_files = len(list((gz_examples / "images").glob("*.jpg")))
    assert result.n_rows == len(df) == n_files and result.n_failed == 0
    assert list(df.columns) == ["id_str", *FEATURES, *FRACTION_COLUMNS]
    assert df["id_str"].is_unique and "decals-0_a-0_0" in set(df["id_str"])
    assert np.isfinite(df[FEATURES].to_numpy()).all()
    assert df[FEATURES].std().mean() > 0  # different images, different representations
    fractions = df[FRACTION_COLUMNS].to_numpy()
    for start, stop in question_slices():
        np.testing.assert_allclose(fractions[:, start:stop].sum(axis=1), 1.0, atol=1e-5)
    assert pd.read_parquet(result.failures_path).empty
    assert not out.with_name(out.name + ".parts").exists()  # shards removed once combined


def test_same_image_same_row_whatever_the_batching(gz_examples, tiny_model, tmp_path):
    """Batch size, workers and shard size do not change the numbers."""
    catalog = tmp_path / "cat.csv"
    files = sorted((gz_examples / "images").glob("sloan*.jpg"))[:20]
    pd.DataFrame({"id_str": [f.stem for f in files], "file_loc": [str(f) for f in files]}).to_csv(
        catalog, index=False
    )
    a = embed(
        catalog, tmp_path / "a.parquet", tiny_model, batch_size=20, num_workers=0, progress=False
    )
    b = embed(
        catalog,
        tmp_path / "b.parquet",
        tiny_model,
        batch_size=3,
        shard_size=7,
        num_workers=2,
        progress=False,
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(a.path), pd.read_parquet(b.path), check_exact=False, atol=1e-5
    )


def test_bad_files_go_to_the_failures_table(gz_examples, tiny_model, tmp_path):
    """Corrupt, truncated, empty, missing, all-NaN and non-image files are listed; the rest is
    encoded."""
    from astropy.io import fits

    good = sorted((gz_examples / "images").glob("*.jpg"))[:5]
    folder = tmp_path / "imgs"
    folder.mkdir()
    fits.PrimaryHDU(np.full((24, 24), np.nan, np.float32)).writeto(folder / "nan.fits")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    (folder / "truncated.jpg").write_bytes(good[0].read_bytes()[:3000])
    (folder / "text.jpg").write_text("not an image at all")
    rows = [{"id_str": f"good{i}", "file_loc": str(p)} for i, p in enumerate(good)]
    rows += [{"id_str": p.stem, "file_loc": f"imgs/{p.name}"} for p in sorted(folder.iterdir())]
    rows.append({"id_str": "missing", "file_loc": "imgs/nowhere.jpg"})
    pd.DataFrame(rows).to_parquet(tmp_path / "cat.parquet")  # relative paths: catalog's folder

    result = embed(
        tmp_path / "cat.parquet",
        tmp_path / "out.parquet",
        tiny_model,
        batch_size=4,
        shard_size=4,
        num_workers=1,
        progress=False,
    )
    assert result.n_rows == 5 and result.n_failed == 6
    failures = pd.read_parquet(failures_path_for(tmp_path / "out.parquet")).set_index("id_str")
    assert set(failures.index) == {"empty", "corrupt", "truncated", "text", "missing", "nan"}
    assert "every pixel of the FITS image is NaN" in failures.loc["nan", "reason"]
    assert failures.loc["empty", "reason"] == "empty file"
    assert failures.loc["missing", "reason"] == "file not found"
    assert failures.loc["truncated", "reason"].startswith("cannot decode")
    assert failures.loc["text", "file_loc"] == str((folder / "text.jpg").resolve())
    assert set(pd.read_parquet(tmp_path / "out.parquet")["id_str"]) == {
        f"good{i}" for i in range(5)
    }


def test_generated_fits_folder_and_non_image_files(tiny_model, tmp_path, rng):
    from astropy.io import fits

    folder = tmp_path / "fits"
    folder.mkdir()
    for i in range(6):
        cube = rng.normal(0, 1, (3, 40, 40)).astype(np.float32)
        cube[:, 15:25, 15 + i : 20 + i] += 50
        fits.PrimaryHDU(cube).writeto(folder / f"gal{i}.fits")
    (folder / "README.txt").write_text("notes")
    result = embed(folder, tmp_path / "fits.parquet", tiny_model, num_workers=0, progress=False)
    df = pd.read_parquet(result.path)
    assert sorted(df["id_str"]) == [f"gal{i}" for i in range(6)]
    failures = pd.read_parquet(result.failures_path)
    assert failures["id_str"].tolist() == ["README"]
    assert "not an image file" in failures["reason"].iat[0]


def test_inputs_are_checked(tiny_model, tmp_path):
    pd.DataFrame({"id_str": ["a", "a"], "file_loc": ["x.jpg", "y.jpg"]}).to_csv(
        tmp_path / "dup.csv", index=False
    )
    with pytest.raises(InputError, match="1 duplicated id_str"):
        image_table(tmp_path / "dup.csv")
    pd.DataFrame({"id_str": ["a"], "path": ["x.jpg"]}).to_csv(tmp_path / "nofile.csv", index=False)
    with pytest.raises(InputError, match="missing 1 column"):
        image_table(tmp_path / "nofile.csv")
    (tmp_path / "out.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="exists already"):
        embed(tmp_path / "dup.csv", tmp_path / "out.parquet", tiny_model)


_KILLABLE = """
import sys
from raregal.encode.embed import embed
embed(sys.argv[1], sys.argv[2], sys.argv[3], batch_size=8, shard_size=16, num_workers=0,
      progress=False)
"""


@pytest.mark.slow
def test_killed_run_resumes_with_exactly_one_row_per_image(gz_examples, tiny_model, tmp_path):
    """SIGKILL a real subprocess after a few shards; the restart adds the rest, none twice."""
    files = sorted((gz_examples / "images").glob("*.jpg"))
    ids = [f"g{i}" for i in range(len(files))]
    catalog = tmp_path / "cat.parquet"
    pd.DataFrame({"id_str": ids, "file_loc": [str(f) for f in files]}).to_parquet(catalog)
    out = tmp_path / "out.parquet"
    manifest = tmp_path / "out.parquet.parts" / "manifest.json"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src, "RAREGAL_NUM_THREADS": "1"}
    args = [sys.executable, "-c", _KILLABLE, str(catalog), str(out), str(tiny_model)]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if manifest.exists() and len(json.loads(manifest.read_text())["shards"]) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    committed = json.loads(manifest.read_text())["shards"]
    done = committed[-1]["stop"]
    first_part = pd.read_parquet(manifest.parent / committed[0]["name"])
    assert len(committed) >= 3 and done < len(ids)

    result = embed(
        catalog, out, tiny_model, batch_size=8, shard_size=16, num_workers=0, progress=False
    )
    df = pd.read_parquet(out)
    assert result.n_resumed == done
    assert sorted(df["id_str"]) == sorted(ids) and df["id_str"].is_unique
    kept = df.set_index("id_str").loc[first_part["id_str"], "feat_0"].to_numpy()
    np.testing.assert_array_equal(kept, first_part["feat_0"].to_numpy())  # rows of the killed run


def test_parts_of_another_run_are_refused(tiny_model, tmp_path, gz_examples):
    parts = tmp_path / "out.parquet.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"key": "other", "shards": []}))
    with pytest.raises(InputError, match="other inputs or settings"):
        embed(gz_examples / "images", tmp_path / "out.parquet", tiny_model, progress=False)


def test_cli_embed(gz_examples, tiny_model, tmp_path):
    from typer.testing import CliRunner

    files = sorted((gz_examples / "images").glob("decals*.jpg"))[:6]
    folder = tmp_path / "six"
    folder.mkdir()
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "cli.parquet"
    args = [
        "embed",
        str(folder),
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--no-progress",
        "--num-workers",
        "0",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote 6 of 6 images" in result.output and "0 could not be read" in result.output
    assert len(pd.read_parquet(out)) == 6
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "exists already" in str(again.exception)
