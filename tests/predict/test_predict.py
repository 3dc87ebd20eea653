"""``predict``: new galaxies into an existing run, from what the run folder keeps.

One search on 80% of a generated survey with planted groups (the other 20% are the "new"
galaxies) is shared by the tests of this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from raregal.cli import app, main
from raregal.constants import NOISE, NOT_SELECTED
from raregal.errors import InputError
from raregal.predict import FittedRun, predict
from raregal.recovery import recovery_summary
from raregal.search import RareClassSearch, run_search
from raregal.synthetic import make_representations
from threads import numba_threads

PARAMS = dict(n_neighbors=30, min_samples=20, min_cluster_size=10, n_epochs=100)
CLASSES = ["planted_0", "planted_1", "planted_2"]


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """3,000 galaxies with vote fractions and three planted groups: 80% fitted, 20% new.

    Fitted on one thread, where the layout is reproducible: with 15 to 32 held-out members per
    group a fit on two threads (lock-free, a little different each time) now and then splits a
    group so that one held-out galaxy more or less moves its rate by 0.03 to 0.07.
    """
    folder = tmp_path_factory.mktemp("predict")
    df = make_representations(3000, n_features=16, seed=0, morphology=True,
                              group_sizes=(150, 120, 90))  # fmt: skip
    held = np.random.default_rng(0).random(len(df)) < 0.2
    fit, new = df[~held].reset_index(drop=True), df[held].reset_index(drop=True)
    fit.to_parquet(folder / "fit.parquet")
    new.to_parquet(folder / "new.parquet")
    previous = os.environ.get("RAREGAL_NUM_THREADS")
    os.environ["RAREGAL_NUM_THREADS"] = "1"
    try:
        search = run_search(folder / "fit.parquet", folder / "run", **PARAMS)
    finally:
        if previous is None:
            os.environ.pop("RAREGAL_NUM_THREADS")
        else:
            os.environ["RAREGAL_NUM_THREADS"] = previous
    return search, folder, fit, new


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_runs_own_galaxies_go_back_to_their_clusters(survey):
    search, folder, fit, _ = survey
    result = predict(folder / "run", fit)
    placed = result.table.set_index("id_str").loc[search.ids_]
    agreement = float((placed["cluster"].to_numpy() == search.labels_).mean())
    assert agreement >= 0.95, agreement
    # the galaxies the run's rules removed are removed again, with the same rule
    selection = pd.read_parquet(folder / "run" / "selection.parquet").set_index("id_str")
    removed = result.table[result.table["cluster"] == NOT_SELECTED].set_index("id_str")
    assert set(removed.index) == set(selection.index[~selection["kept"]])
    assert (removed["removed_by"] == selection.loc[removed.index, "removed_by"]).all()
    assert removed.filter(like="umap_").isna().all().all()


@pytest.mark.slow
def test_held_out_members_reach_their_pure_leaves_as_often_as_fitted_ones(survey):
    """The 20% of each planted group withheld from the fit reach the group's pure leaves (the
    clusters that recover it) at least 0.8 times as often as its fitted members; and the
    held-out galaxies placed in those leaves are nearly as pure as the fitted members (within
    0.15: 15-40 held-out galaxies land in each, so one stray is 3-7%)."""
    search, folder, _, new = survey
    table = predict(folder / "run", new).table
    _, summary = recovery_summary(search.galaxies_, classes=CLASSES)
    assert summary["recovered"].all()
    for row in summary.itertuples():
        leaves = [int(c) for c in row.clusters.split(",")]
        fitted = search.galaxies_.loc[search.galaxies_["true_class"] == row.true_class, "cluster"]
        held = table.loc[(table["true_class"] == row.true_class)
                         & (table["cluster"] != NOT_SELECTED), "cluster"]  # fmt: skip
        assert len(held) >= 10
        ratio = held.isin(leaves).mean() / fitted.isin(leaves).mean()
        assert ratio >= 0.8, (row.true_class, ratio)
        fitted_purity = (search.galaxies_.loc[search.galaxies_["cluster"].isin(leaves),
                                              "true_class"] == row.true_class).mean()  # fmt: skip
        placed_purity = (table.loc[table["cluster"].isin(leaves), "true_class"]
                         == row.true_class).mean()  # fmt: skip
        assert placed_purity >= fitted_purity - 0.15, (row.true_class, placed_purity)


def test_a_galaxy_lands_in_the_same_place_whatever_comes_with_it(survey):
    """lmcinnes/umap#566: alone, in a batch, in another order or on one thread: the same."""
    _, folder, _, new = survey
    fitted = FittedRun.from_run(folder / "run")
    from raregal.predict import place_galaxies

    batch = place_galaxies(fitted, new).table.set_index("id_str")
    kept = batch.index[batch["cluster"] != NOT_SELECTED][:4]
    alone = place_galaxies(fitted, new[new["id_str"] == kept[0]]).table.set_index("id_str")
    shuffled = new.sample(frac=1.0, random_state=3)
    with numba_threads(1):
        again = place_galaxies(fitted, shuffled).table.set_index("id_str")
    coordinates = [c for c in batch if str(c).startswith(("umap_", "map_"))]
    columns = ["cluster", "probability", "nearest_id", *coordinates]
    pd.testing.assert_frame_equal(alone.loc[kept[:1], columns], batch.loc[kept[:1], columns])
    pd.testing.assert_frame_equal(again.loc[batch.index, columns], batch[columns])


def test_the_table_has_the_contract_columns(survey):
    _, folder, _, new = survey
    table = predict(folder / "run", new.iloc[:60], out=folder / "new_placed.parquet").table
    written = pd.read_parquet(folder / "new_placed.parquet")
    assert list(written.columns[:4]) == ["id_str", "cluster", "probability", "removed_by"]
    assert {f"umap_{i}" for i in range(5)} | {"map_x", "map_y", "true_class"} <= set(written)
    assert set(table["cluster"]) <= {NOT_SELECTED, NOISE, *range(100)}
    assert ((table["probability"] >= 0) & (table["probability"] <= 1)).all()
    assert (table.loc[table["cluster"] < 0, "probability"] == 0).all()
    record = json.loads((folder / "run" / "run.json").read_text())
    assert record["predict"][-1]["counts"]["input"] == 60


def test_other_representations_are_refused_in_one_line(survey, tmp_path, monkeypatch, capsys):
    _, folder, _, new = survey
    narrow = new.drop(columns=["feat_15"])
    with pytest.raises(InputError, match=r"15 representation columns \(feat_0..feat_14\), the "
                       r"run was fitted on 16"):  # fmt: skip
        predict(folder / "run", narrow)
    renamed = new.rename(columns={f"feat_{i}": f"feat_pca_{i}" for i in range(16)})
    with pytest.raises(InputError, match=r"16 representation column\(s\) differ from the run's: "
                       r"column 0 is 'feat_pca_0', the run's is 'feat_0'"):  # fmt: skip
        predict(folder / "run", renamed)
    bare = new[["id_str", *[f"feat_{i}" for i in range(16)]]]
    with pytest.raises(InputError, match="removed galaxies by their vote fractions"):
        predict(folder / "run", bare)
    path = tmp_path / "narrow.parquet"
    narrow.to_parquet(path)
    monkeypatch.setattr(sys, "argv", ["raregal", "predict", str(folder / "run"), str(path),
                                      "--out", str(tmp_path / "out.parquet")])  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and err[-1].startswith("error: ") and "feat_14" in err[-1]


def test_add_keeps_the_placed_galaxies_beside_the_fitted_ones(survey, tmp_path):
    from raregal.explore.data import ExploreRun
    from raregal.report import build_report

    _, folder, fit, new = survey
    run = folder / "run"
    before = {name: digest(run / name) for name in
              ("galaxies.parquet", "clusters.parquet", "condensed_tree.parquet")}  # fmt: skip
    path = tmp_path / "new.parquet"
    new.iloc[:200].to_parquet(path)
    result = CliRunner().invoke(app, ["predict", str(run), str(path), "--out",
                                      str(tmp_path / "placed.csv"), "--add"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "new galaxies read" in result.output and "added to the run" in result.output
    placed = pd.read_parquet(run / "placed.parquet")
    assert len(placed) == (pd.read_csv(tmp_path / "placed.csv")["cluster"] != NOT_SELECTED).sum()
    assert {name: digest(run / name) for name in before} == before  # the fit is untouched
    again = CliRunner().invoke(app, ["predict", str(run), str(path), "--out",
                                     str(tmp_path / "placed2.csv"), "--add"])  # fmt: skip
    assert again.exit_code == 0 and len(pd.read_parquet(run / "placed.parquet")) == len(placed)
    with pytest.raises(InputError, match=r"carry ids of the run's fitted galaxies"):
        predict(run, fit.iloc[:50], add=True)
    explore = ExploreRun(run)
    assert explore.summary()["n_placed"] == len(placed)
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run, build_index=False)) as client:
        response = client.get("/api/placed/points")
    assert response.status_code == 200 and len(response.content) == 12 * len(placed)
    x = np.frombuffer(response.content[: 4 * len(placed)], dtype=np.float32)
    anchors = [explore.row_of_id[i] for i in placed["nearest_id"]]
    np.testing.assert_array_equal(x, explore.view_x[anchors].astype(np.float32))
    index = build_report(run)
    html = index.read_text()
    assert 'id="placed"' in html and "placed later" in html and "name placed" in html


def test_the_estimator_predicts_as_the_command(survey):
    search, folder, _, new = survey
    direct = search.predict(new.iloc[:100])
    loaded = RareClassSearch.load(folder / "run").predict(new.iloc[:100])
    from_folder = predict(folder / "run", new.iloc[:100]).table
    pd.testing.assert_frame_equal(direct, from_folder)
    pd.testing.assert_frame_equal(loaded, from_folder)


def test_a_run_without_a_placement_index_says_why(tmp_path):
    reps = make_representations(700, n_features=16, seed=1, group_sizes=(60,))
    run_search(reps, tmp_path / "run", n_neighbors=10, min_samples=10, n_epochs=20,
               metric="manhattan")  # fmt: skip
    assert not (tmp_path / "run" / "placement").exists()
    with pytest.raises(InputError, match="metric 'manhattan', for which raregal keeps no search"):
        predict(tmp_path / "run", reps.iloc[:10])


def test_a_galaxy_unlike_any_in_the_run_is_noise(survey):
    """Far from every fitted galaxy (outside each neighbour's neighbourhood), a new galaxy fits
    no cluster, even though its nearest fitted galaxy is in one."""
    search, folder, _, new = survey
    members = new[new["true_class"] == "planted_0"].iloc[:5].copy()
    odd = members.copy()
    features = [f"feat_{i}" for i in range(16)]
    odd[features] = odd[features].to_numpy() * 6.0
    odd["id_str"] = [f"odd{i}" for i in range(len(odd))]
    result = predict(folder / "run", pd.concat([members, odd]))
    table = result.table.set_index("id_str")
    assert (table.loc[odd["id_str"], "cluster"] == NOISE).all()
    assert result.counts["out_of_reach"] >= len(odd)
    fitted = search.galaxies_.set_index("id_str")["cluster"]
    assert (fitted.loc[table.loc[odd["id_str"], "nearest_id"]] >= 0).any()  # the anchors are not
