"""The search's inputs refused at the edge, in one line naming the file, column and count."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from raregal.errors import InputError
from raregal.search import RareClassSearch, prepare_inputs
from raregal.synthetic import make_representations

SMOOTH = "smooth-or-featured_smooth_fraction"


@pytest.fixture(scope="module")
def reps() -> pd.DataFrame:
    return make_representations(300, n_features=16, seed=3, morphology=True, group_sizes=(40,))


def test_a_blank_id_in_a_csv_is_refused(reps, tmp_path):
    """Issue 16, case 7: a blank id became a galaxy with a null id_str and was clustered."""
    df = reps.copy()
    df.loc[[4, 9], "id_str"] = ["", "   "]
    df.loc[12, "id_str"] = None
    path = tmp_path / "reps.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"reps\.csv: 3 row\(s\) have a null or blank id in column "
                       r"'id_str' \(rows 4, 9, 12\)") as info:  # fmt: skip
        prepare_inputs(path)
    assert (info.value.column, info.value.count) == ("id_str", 3)


def test_text_in_a_feature_column_names_the_column_and_the_count(reps, tmp_path):
    """Issue 16, case 12: a string in a feature column was refused without column or count."""
    df = reps.astype({"feat_3": object})
    df.loc[[1, 2], "feat_3"] = "oops"
    path = tmp_path / "reps.parquet"
    df.astype({"feat_3": str}).to_parquet(path)
    with pytest.raises(InputError, match=r"reps\.parquet: feature column 'feat_3' holds 2 "
                       r"value\(s\) that are not numbers \(e\.g\. 'oops'\)") as info:  # fmt: skip
        prepare_inputs(path)
    assert (info.value.column, info.value.count) == ("feat_3", 2)


def test_fractions_outside_zero_one_are_refused_with_the_file(reps, tmp_path):
    """Issue 16, case 5: 600 rows of -3.0 and 7.5 passed and changed the selection."""
    df = reps.copy()
    df.loc[:299, SMOOTH] = np.where(np.arange(300) % 2, -3.0, 7.5)
    path = tmp_path / "reps.parquet"
    df.to_parquet(path)
    with pytest.raises(InputError, match=rf"reps\.parquet: vote-fraction column '{SMOOTH}' holds "
                       r"300 value\(s\) outside \[0, 1\]") as info:  # fmt: skip
        prepare_inputs(path)
    assert info.value.count == 300


@pytest.mark.parametrize("kind", ["float with a NaN", "zero-padded"])
def test_id_type_mismatch_between_tables_is_named(reps, tmp_path, kind):
    """Issue 16, case 9: a float dr8_id or zero-padded ids gave '2000 ids have no row' with no
    hint that the id types differ."""
    numbers = np.arange(len(reps))
    representations = reps.assign(id_str=[f"{i:06d}" for i in numbers])  # zero-padded text
    morphology = reps[["id_str", SMOOTH]].copy()
    if kind == "float with a NaN":
        representations["id_str"] = [str(i) for i in numbers]
        morphology["dr8_id"] = numbers.astype(float)
        morphology.loc[len(morphology) - 1, "dr8_id"] = np.nan
        morphology = morphology.iloc[:-1]  # the row without an id is not part of the table
    else:
        morphology["dr8_id"] = numbers  # the CSV reader made them int64: the zeros are gone
    morph_path = tmp_path / "morph.parquet"
    morphology.drop(columns="id_str").to_parquet(morph_path)
    with pytest.raises(InputError) as info:
        prepare_inputs(representations.drop(columns=[SMOOTH]), morph_path,
                       morphology_id_column="dr8_id")  # fmt: skip
    message = str(info.value)
    example = "'0'" if kind == "float with a NaN" else "'000000'"
    assert re.search(rf"the id columns differ in type: representations (str|object) \(e\.g\. "
                     rf"{example}\), morphology ", message)  # fmt: skip
    assert ("float64 (e.g. 0.0)" if kind == "float with a NaN" else "int64 (e.g. 0)") in message
    assert "300 more would match as numbers" in message or "299 more would match" in message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pca_components": 500}, r"'pca_components' must be int in \[1, 16\] \(at most the 16 "
                                  r"feature columns\); got 500"),
        ({"n_components": 40}, r"'n_components' must be int in \[1, 16\] .*; got 40"),
        ({"pca_components": 4, "n_components": 5}, r"'n_components' must be int in \[1, 4\] "
                                                    r"\(at most pca_components\); got 5"),
    ],
)  # fmt: skip
def test_widths_larger_than_the_features_are_refused_before_any_work(reps, params, message):
    """Issue 16, case 8: --pca-components 500 on 16 features was ignored while run.json
    recorded 500; --n-components 40 failed in scikit-learn after the UMAP's 18 s."""
    with pytest.raises(InputError, match=message):
        RareClassSearch(n_neighbors=10, min_samples=10, **params).fit(reps)
