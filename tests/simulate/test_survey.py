"""The survey writer: files, determinism across workers, resumption, bad input, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from raregal.errors import InputError
from raregal.io.tables import read_table, resolve_file_locs
from raregal.schema import FRACTION_COLUMNS
from raregal.simulate import CLASS_NAMES, simulate_survey

SMALL = {"chunk_size": 8, "contact_sheets": False, "progress": False}


def _files(root):
    """Every file of a survey (relative path -> bytes), the parts and contact sheets aside."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "parts" not in p.parts and "contact" not in p.parts
    }


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    root = tmp_path_factory.mktemp("survey")
    simulate_survey(root, n=20, seed=4, size=64, workers=1, **SMALL)
    return root


def test_catalog_and_images(survey):
    catalog = read_table(survey / "catalog.parquet")
    assert len(catalog) == 20 and catalog["id_str"].is_unique
    for column in ("id_str", "file_loc", "ra", "dec", "true_class", "flux", *FRACTION_COLUMNS):
        assert column in catalog.columns, column
    assert set(catalog["true_class"]) <= set(CLASS_NAMES)
    assert catalog.attrs["raregal"]["survey"]["seed"] == 4
    for path in resolve_file_locs(catalog, survey):
        with Image.open(path) as image:
            assert image.size == (64, 64) and image.mode == "RGB"
            pixels = np.asarray(image)
        assert pixels.dtype == np.uint8 and 0 < pixels.mean() < 200 and pixels.max() > 100


def test_fits_cubes(tmp_path):
    from astropy.io import fits

    simulate_survey(tmp_path, n=3, seed=1, size=48, image_format="fits", workers=1, **SMALL)
    catalog = read_table(tmp_path / "catalog.parquet")
    with fits.open(tmp_path / catalog["file_loc"].iloc[0]) as hdul:
        cube = hdul[0].data
        assert hdul[0].header["BAND1"] == "g" and hdul[0].header["BAND3"] == "z"
    assert cube.shape == (3, 48, 48) and cube.dtype.kind == "f" and np.isfinite(cube).all()
    from raregal.simulate.contact import write_contact_sheets

    sheets = write_contact_sheets(tmp_path, tile=32)
    assert {p.stem for p in sheets} == set(catalog["true_class"])
    with Image.open(sheets[0]) as sheet:
        assert sheet.mode == "RGB" and sheet.size[0] == 6 * (32 + 2) + 2


def test_same_seed_same_bytes_whatever_the_workers(survey, tmp_path):
    simulate_survey(tmp_path / "two", n=20, seed=4, size=64, workers=2, **SMALL)
    assert _files(tmp_path / "two") == _files(survey)
    simulate_survey(tmp_path / "other", n=20, seed=5, size=64, workers=1, **SMALL)
    other = _files(tmp_path / "other")
    assert other["images/0000/sim_0000000.png"] != _files(survey)["images/0000/sim_0000000.png"]


def test_interrupted_run_resumes_without_loss_or_duplicates(survey, tmp_path):
    root = tmp_path / "resumed"
    simulate_survey(root, n=20, seed=4, size=64, workers=1, **SMALL)
    # the state an interruption leaves: a chunk without its part, a half-written image, no catalog
    (root / "parts" / "part_000000008.parquet").unlink()
    (root / "images/0000/sim_0000009.png").write_bytes(b"half")
    (root / "catalog.parquet").unlink()
    kept = (root / "parts" / "part_000000000.parquet").stat().st_mtime_ns
    simulate_survey(root, n=20, seed=4, size=64, workers=1, **SMALL)
    assert (root / "parts" / "part_000000000.parquet").stat().st_mtime_ns == kept  # not redone
    assert _files(root) == _files(survey)


def test_bad_inputs_are_refused_and_nothing_is_overwritten(survey, tmp_path):
    with pytest.raises(InputError, match="positive integer"):
        simulate_survey(tmp_path / "a", n=0)
    with pytest.raises(InputError, match="positive integer"):
        simulate_survey(tmp_path / "a", n=-5)
    with pytest.raises(InputError, match="leave at least half"):
        simulate_survey(tmp_path / "a", n=10, rare_fraction=0.2)
    with pytest.raises(InputError, match="size"):
        simulate_survey(tmp_path / "a", n=10, size=8)
    before = _files(survey)
    with pytest.raises(InputError, match=r"another survey .*seed"):
        simulate_survey(survey, n=20, seed=5, size=64, workers=1, **SMALL)
    assert _files(survey) == before
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        simulate_survey(tmp_path / "busy", n=2, workers=1, **SMALL)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_only_the_survey(tmp_path):
    root = tmp_path / "s"
    simulate_survey(root, n=4, seed=1, size=48, workers=1, **SMALL)
    (root / "notes.txt").write_text("mine")
    simulate_survey(root, n=3, seed=2, size=48, workers=1, overwrite=True, **SMALL)
    assert len(read_table(root / "catalog.parquet")) == 3
    assert not (root / "images/0000/sim_0000003.png").exists()
    assert (root / "notes.txt").read_text() == "mine"
    assert json.loads((root / "survey.json").read_text())["seed"] == 2


def test_cli_writes_a_survey_with_contact_sheets(tmp_path):
    from raregal.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["simulate", "--n", "12", "--seed", "2", "--out", str(out), "--size", "48"]
    args += ["--workers", "1", "--fraction", "ring=0.2", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    catalog = read_table(out / "catalog.parquet")
    assert (catalog["true_class"] == "ring").any()
    sheets = sorted(p.stem for p in (out / "contact").glob("*.png"))
    assert sheets == sorted(set(catalog["true_class"]))
    bad = runner.invoke(app, ["simulate", "--n", "0", "--out", str(tmp_path / "x")])
    assert isinstance(bad.exception, InputError)
    bad = runner.invoke(app, ["simulate", "--n", "5", "--out", str(out), "--fraction", "ring"])
    assert isinstance(bad.exception, InputError) and "CLASS=FRACTION" in str(bad.exception)
