"""Searches with several UMAP seeds (``n_seeds``): shared graph, per-seed clusters, stability,
consensus, and the run (the first seed) unchanged as the contract."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from raregal.cli import app
from raregal.cluster.stability import stable_count
from raregal.io.runfolder import TABLES, RunFolder, seed_cluster_columns
from raregal.recovery import recovery_summary, seeds_recovered
from raregal.reduce import reduce
from raregal.search import RareClassSearch, run_search
from raregal.synthetic import make_representations

PARAMS = dict(n_neighbors=30, min_samples=20, min_cluster_size=10, n_epochs=100)
GROUPS = (150, 120, 90)
CLASSES = ["planted_0", "planted_1", "planted_2"]


@pytest.fixture(scope="module")
def reps():
    return make_representations(3000, n_features=16, seed=0, group_sizes=GROUPS)


@pytest.fixture(scope="module")
def three(reps, tmp_path_factory):
    """A search with three seeds, on one thread where the layouts are reproducible (two
    lock-free threads change them a little from run to run, and with them which small leaves
    come back)."""
    folder = tmp_path_factory.mktemp("seeds")
    reps.to_parquet(folder / "reps.parquet")
    previous = os.environ.get("RAREGAL_NUM_THREADS")
    os.environ["RAREGAL_NUM_THREADS"] = "1"
    try:
        search = run_search(folder / "reps.parquet", folder / "run", n_seeds=3, **PARAMS)
    finally:
        if previous is None:
            os.environ.pop("RAREGAL_NUM_THREADS")
        else:
            os.environ["RAREGAL_NUM_THREADS"] = previous
    return search, folder / "run"


def test_seeds_share_neighbours_graph_and_start_and_the_first_is_the_single_run(
    reps, monkeypatch
):
    """On one thread (where the layout is reproducible) the first of three seeds is exactly
    the one-seed run, the others are new layouts of the same graph: no second neighbour
    search, no second graph."""
    monkeypatch.setenv("RAREGAL_NUM_THREADS", "1")
    X = reps.filter(like="feat_").to_numpy(np.float32)[:1200]
    one = reduce(X, n_neighbors=15, n_epochs=30, random_state=3)
    three = reduce(X, n_neighbors=15, n_epochs=30, random_state=3, n_seeds=3)
    np.testing.assert_array_equal(three.embedding, one.embedding)
    assert three.seeds == [3, 4, 5] and len(three.seed_embeddings) == 2 and one.seeds == [3]
    assert three.info["seed_layouts_share"] == "neighbours, graph and start"
    assert {"seed_4_layout", "seed_5_layout"} <= set(three.timings)
    assert not any("neighbors" in k or "graph" in k for k in three.timings if "seed" in k)
    for layout in three.seed_embeddings:
        assert layout.shape == one.embedding.shape and not np.array_equal(layout, one.embedding)


def test_other_engines_are_fitted_again_with_the_shared_neighbours(reps):
    X = reps.filter(like="feat_").to_numpy(np.float32)[:600]
    result = reduce(X, reducer="umap-learn", n_neighbors=15, n_epochs=20, n_seeds=2)
    assert result.info["seed_layouts_share"] == "neighbours"
    assert len(result.seed_embeddings) == 1 and result.seed_embeddings[0].shape == (600, 5)


@pytest.mark.slow
def test_every_planted_class_is_found_in_most_seeds(three, reps):
    search, _ = three
    _, summary = recovery_summary(search.galaxies_, classes=CLASSES)
    assert summary["recovered"].all(), summary.to_string()
    found = seeds_recovered(search.galaxies_["true_class"], search.seed_labels_, CLASSES)
    assert (found >= stable_count(3)).all(), found
    # the pure leaves that hold a class whole come back with other seeds too; a class that this
    # layout splits into fragments (found whole by the other seeds) may not, and need not
    whole = summary[summary["fraction_held"] >= 0.8]
    assert len(whole) >= 2, summary.to_string()
    for row in whole.itertuples():
        leaves = [int(c) for c in row.clusters.split(",")]
        best = search.clusters_.set_index("cluster").loc[leaves, "seed_stability"].max()
        assert best >= 2 / 3, (row.true_class, best)


@pytest.mark.slow
def test_the_run_folder_holds_seed_tables_and_stability(three):
    _, out = three
    run = RunFolder.open(out)
    for name in ("seed_layouts", "seed_clusters", "consensus", "clusters", "galaxies"):
        run.read_table(name)  # checked against TABLES
    clusters = run.read_table("clusters")
    stability = clusters["seed_stability"].to_numpy()
    assert set(np.round(stability * 3).astype(int)) <= {1, 2, 3}
    seed_labels = run.read_table("seed_clusters")
    assert seed_cluster_columns(seed_labels) == ["cluster_seed_0", "cluster_seed_1",
                                                 "cluster_seed_2"]  # fmt: skip
    galaxies = run.read_table("galaxies")
    np.testing.assert_array_equal(seed_labels["cluster_seed_0"], galaxies["cluster"])
    layouts = run.read_table("seed_layouts")
    assert [c for c in layouts.columns if c.startswith("seed_1_")] == [
        f"seed_1_umap_{i}" for i in range(5)
    ]
    consensus = run.read_table("consensus")
    own = consensus[consensus["seed"] == 0].set_index("cluster")
    assert sorted(own.index) == clusters["cluster"].tolist()  # every cluster has its consensus
    assert (own.loc[clusters["cluster"], "n_seeds_found"].to_numpy()
            >= np.round(stability * 3)).all()  # fmt: skip
    assert (consensus["core_size"] <= consensus["size"]).all()
    record = json.loads((out / "run.json").read_text())
    stage = record["stages"]["cluster"]
    assert stage["seeds"] == [0, 1, 2] and "Jaccard" in stage["consensus_rule"]
    assert {"seed_1_hdbscan", "seed_2_hdbscan"} <= set(stage["timings"])
    assert record["stages"]["reduce"]["seed_layouts_share"] == "neighbours, graph and start"
    summary = record["search"]["summary"]
    assert sum(summary["clusters_found_in_k_seeds"].values()) == len(clusters)
    assert record["search"]["params"]["n_seeds"] == 3


@pytest.mark.slow
def test_new_clustering_parameters_reuse_every_seeds_layout(three, reps, tmp_path):
    _, out = three
    before = pd.read_parquet(out / "seed_layouts.parquet")
    again = run_search(reps, out, n_seeds=3, **{**PARAMS, "min_cluster_size": 20})
    record = json.loads((out / "run.json").read_text())
    assert record["stages"]["reduce"]["reused"] is True
    assert record["stages"]["cluster"]["reused"] is False
    pd.testing.assert_frame_equal(pd.read_parquet(out / "seed_layouts.parquet"), before)
    assert (again.clusters_["size"] >= 20).all() and again.consensus_ is not None
    loaded = RareClassSearch.load(out)
    assert loaded.seeds_ == [0, 1, 2]
    pd.testing.assert_frame_equal(loaded.consensus_, again.consensus_, check_dtype=False)
    loaded.save(tmp_path / "copy")
    assert (tmp_path / "copy" / "consensus.parquet").exists()


@pytest.mark.slow
def test_the_cli_summary_says_how_many_clusters_come_back(three, tmp_path):
    _, out = three
    reps_path = out.parent / "reps.parquet"
    given = ["--n-neighbors", "30", "--min-samples", "20", "--n-epochs", "100",
             "--n-seeds", "3"]  # fmt: skip
    result = CliRunner().invoke(app, ["search", str(reps_path), "--out", str(out), *given])
    assert result.exit_code == 0, result.output
    assert "seeds 0, 1, 2: clusters found again in" in result.output
    assert "found in 3/3 seeds" in result.output and "consensus.parquet" in result.output


def test_one_seed_leaves_seed_stability_empty_and_writes_no_seed_tables(reps, tmp_path):
    small = reps.iloc[:1200]
    search = run_search(small, tmp_path, n_neighbors=15, min_samples=15, n_epochs=30)
    assert search.clusters_["seed_stability"].isna().all() and search.seeds_ == [0]
    assert search.consensus_ is None and search.seed_labels_ is None
    for name in ("seed_layouts", "seed_clusters", "consensus"):
        assert not (tmp_path / TABLES[name].filename).exists()


@pytest.mark.slow
def test_report_and_explorer_show_the_stability(three):
    from raregal.explore.data import ExploreRun
    from raregal.report import build_report

    search, out = three
    html = build_report(out).read_text()
    assert 'id="stability"' in html and "Stability across seeds" in html
    found = np.rint(search.clusters_["seed_stability"].to_numpy() * 3).astype(int)
    for k in (3, 2, 1):  # the distribution over all clusters, row by row
        assert f'<td>{k} of 3 seeds</td><td class="num">{int((found == k).sum())}</td>' in html
    assert "found in 3/3 seeds" in html and "recovered in seeds" in html
    summary = ExploreRun(out).summary()
    assert summary["n_seeds"] == 3
    values = sorted({round(c["seed_stability"], 4) for c in summary["clusters"]})
    assert set(values) <= {0.3333, 0.6667, 1.0}
