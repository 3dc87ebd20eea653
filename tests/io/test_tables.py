"""Table I/O: round trips for every format (Zoobot's HDF5 layout included) and bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from raregal.errors import InputError
from raregal.io.tables import (
    FORMATS,
    feature_columns,
    guess_format,
    read_table,
    require_columns,
    resolve_file_locs,
    write_table,
)

SUFFIX = {"parquet": "parquet", "csv": "csv", "hdf5": "hdf5", "fits": "fits", "ecsv": "ecsv",
          "votable": "vot"}  # fmt: skip


@pytest.fixture
def table(rng):
    df = pd.DataFrame(rng.normal(size=(20, 4)).astype(np.float32),
                      columns=[f"feat_{i}" for i in range(4)])  # fmt: skip
    df.insert(0, "id_str", [f"{i:03d}_x" for i in range(20)])  # leading zeros must survive
    df["smooth-or-featured_smooth_fraction"] = rng.uniform(size=20)
    return df


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(table, tmp_path, fmt):
    path = tmp_path / f"t.{SUFFIX[fmt]}"
    write_table(table, path)
    back = read_table(path)
    assert back["id_str"].tolist() == table["id_str"].tolist()
    assert list(back.columns) == list(table.columns)
    np.testing.assert_allclose(
        back.drop(columns="id_str").to_numpy(dtype=float),
        table.drop(columns="id_str").to_numpy(dtype=float), rtol=1e-6,
    )  # fmt: skip
    assert back.attrs["source"] == str(path)


def test_parquet_keeps_metadata_and_reads_chosen_columns(table, tmp_path):
    path = write_table(table, tmp_path / "t.parquet", metadata={"model": "demo", "seed": 3})
    back = read_table(path, columns=["id_str", "feat_1"])
    assert list(back.columns) == ["id_str", "feat_1"]
    assert back.attrs["raregal"] == {"model": "demo", "seed": 3}


def test_zoobot_hdf5_layout_with_dropout_samples(tmp_path):
    """Zoobot writes predictions (galaxy, column, forward pass), id_str and label_cols as bytes."""
    rng = np.random.default_rng(1)
    predictions = rng.uniform(size=(5, 3, 4))
    path = tmp_path / "zoobot.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("predictions", data=predictions)
        f.create_dataset("id_str", data=np.array([b"a", b"b", b"c", b"d", b"e"]))
        f.create_dataset("label_cols", data=np.array([b"feat_0", b"feat_1", b"feat_2"]))
    df = read_table(path)
    assert df["id_str"].tolist() == list("abcde")
    np.testing.assert_allclose(df[["feat_0", "feat_1", "feat_2"]], predictions.mean(axis=2))
    assert feature_columns(df) == ["feat_0", "feat_1", "feat_2"]


def test_astropy_vector_column_becomes_numbered_columns(tmp_path):
    from astropy.table import Table

    path = tmp_path / "t.fits"
    Table({"id_str": ["a", "b"], "feat": np.arange(6.0).reshape(2, 3)}).write(path)
    df = read_table(path)
    assert list(df.columns) == ["id_str", "feat_0", "feat_1", "feat_2"]
    assert df["id_str"].tolist() == ["a", "b"]


def test_feature_columns_in_numeric_order_and_pca_fallback():
    df = pd.DataFrame(columns=["id_str", "feat_10", "feat_2", "feat_1", "featured"])
    assert feature_columns(df) == ["feat_1", "feat_2", "feat_10"]
    pca = pd.DataFrame(columns=["id_str", "feat_pca_1", "feat_pca_0"])
    assert feature_columns(pca) == ["feat_pca_0", "feat_pca_1"]
    assert feature_columns(df, r"feat_1\d*$") == ["feat_10", "feat_1"]
    with pytest.raises(InputError, match="no representation columns found"):
        feature_columns(pd.DataFrame(columns=["id_str", "x"]))


def test_require_columns_names_missing_and_close_matches():
    df = pd.DataFrame(columns=["id_str", "smooth-or-featured_smooth_fraction"])
    with pytest.raises(
        InputError,
        match=r"x\.csv: missing 1 column\(s\): smooth-or-featured_smoth_"
        r"fraction \(did you mean 'smooth-or-featured_smooth_fraction'\?\)",
    ) as info:
        require_columns(df, ["smooth-or-featured_smoth_fraction"], "x.csv")  # fmt: skip
    assert info.value.count == 1 and info.value.column == "smooth-or-featured_smoth_fraction"


def test_resolve_file_locs(tmp_path):
    df = pd.DataFrame({"file_loc": ["a/b.png", "/abs/c.png"]})
    assert resolve_file_locs(df, tmp_path).tolist() == [str(tmp_path / "a/b.png"), "/abs/c.png"]


# -- bad files ------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.parquet: file not found"):
        read_table(tmp_path / "nope.parquet")


def test_unknown_suffix_is_not_read_as_csv(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"t\.txt: cannot tell the table format"):
        read_table(path)
    assert guess_format("x.fits.gz") == "fits"


@pytest.mark.parametrize("suffix", ["parquet", "hdf5", "fits", "ecsv", "vot"])
def test_file_that_is_not_a_table(tmp_path, suffix):
    path = tmp_path / f"t.{suffix}"
    path.write_bytes(b"\x00\x01 this is not a table \xff")
    with pytest.raises(InputError, match=rf"t\.{suffix}: not a readable"):
        read_table(path)


def test_empty_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("")
    with pytest.raises(InputError, match=r"t\.csv: "):
        read_table(path)


def test_hdf5_without_zoobot_datasets(tmp_path):
    path = tmp_path / "t.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("predictions", data=np.zeros((2, 2)))
    with pytest.raises(InputError, match=r"lacks the Zoobot datasets \['id_str', 'label_cols'\]"):
        read_table(path)


def test_hdf5_with_mismatched_shapes(tmp_path):
    path = tmp_path / "t.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("predictions", data=np.zeros((3, 2)))
        f.create_dataset("id_str", data=np.array([b"a", b"b"]))
        f.create_dataset("label_cols", data=np.array([b"x", b"y"]))
    with pytest.raises(InputError, match=r"'predictions' has shape \(3, 2\), expected \(2, 2\)"):
        read_table(path)


def test_missing_requested_columns(table, tmp_path):
    path = write_table(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"missing 1 column\(s\): feat_9"):
        read_table(path, columns=["id_str", "feat_9"])


def test_write_refuses_to_overwrite_when_asked(table, tmp_path):
    path = write_table(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_table(table, path, overwrite=False)


def test_failed_write_leaves_the_old_file_and_no_temporary(table, tmp_path):
    path = write_table(table, tmp_path / "t.parquet")
    bad = table.assign(obj=[object()] * len(table))
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type
        write_table(bad, path)
    assert read_table(path).shape == table.shape
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
