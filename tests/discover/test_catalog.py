"""Catalogs of the discovery loop: VOTables that TOPCAT reads with ra/dec as sky positions."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from raregal.discover.catalog import catalog_order, write_catalog


def table() -> pd.DataFrame:
    return pd.DataFrame({
        "score": [0.9, 0.5, 0.1], "answer": ["yes", None, "no"], "id_str": ["a", "b", "c"],
        "round": pd.array([0, pd.NA, 1], dtype="Int64"), "dec": [-1.0, 0.0, 1.0],
        "ra": [150.0, 151.0, 152.5], "cluster": np.array([2, -1, -2]),
    })  # fmt: skip


def test_columns_come_in_the_shared_order():
    assert list(catalog_order(table()).columns) == ["id_str", "ra", "dec", "cluster", "score",
                                                    "answer", "round"]  # fmt: skip


def test_votable_is_valid_with_units_ucds_and_nulls(tmp_path):
    from astropy.io import votable
    from astropy.table import Table

    path = write_catalog(table(), tmp_path / "found.vot", name="raregal_found")
    assert votable.validate(str(path), output=None)
    read = Table.read(path, format="votable")
    assert read.colnames[:3] == ["id_str", "ra", "dec"] and str(read["dec"].unit) == "deg"
    assert read["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert read["round"].mask.tolist() == [False, True, False]
    assert [str(a) for a in read["answer"].filled("")] == ["yes", "", "no"]  # VOTable: no null text
    np.testing.assert_array_equal(read["cluster"], [2, -1, -2])


def test_other_formats_follow_the_file_name(tmp_path):
    csv = pd.read_csv(write_catalog(table(), tmp_path / "found.csv"))
    assert list(csv.columns)[:3] == ["id_str", "ra", "dec"] and csv["round"].isna().tolist() == [
        False, True, False]
    parquet = pd.read_parquet(write_catalog(table(), tmp_path / "found.parquet"))
    assert parquet["round"].dtype == "Int64"


@pytest.mark.slow  # a Java start
@pytest.mark.skipif(shutil.which("stilts") is None, reason="STILTS (TOPCAT's engine) not installed")
def test_topcats_engine_reads_the_votable_as_sky_positions(tmp_path):
    path = write_catalog(table(), tmp_path / "found.vot")
    out = subprocess.run(
        ["stilts", "tpipe", f"in={path}", "ifmt=votable",
         "cmd=addskycoords -inunit deg fk5 galactic ra dec gl gb", "cmd=keepcols 'id_str gl gb'",
         "ofmt=csv"], capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    read = pd.read_csv(pd.io.common.StringIO(out.stdout))
    assert read["id_str"].tolist() == ["a", "b", "c"]
    assert read["gl"].between(0, 360).all() and read["gb"].between(-90, 90).all()
