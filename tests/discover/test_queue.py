"""``rank_run``: the queue over every encoded galaxy of a run folder, and the cluster ranking."""

from __future__ import annotations

import pandas as pd

from raregal.constants import NOT_SELECTED
from raregal.discover.queue import rank_run
from raregal.discover.ranking import RANKING_COLUMNS
from raregal.io.runfolder import TABLES, RunFolder


def test_the_queue_covers_every_encoded_galaxy_and_ranks_clusters(discovery_run):
    run = RunFolder.open(discovery_run)
    key = run.table_key("clusters")
    result = rank_run(discovery_run, rare_fraction=0.1)
    candidates = pd.read_parquet(discovery_run / "candidates.parquet")
    TABLES["candidates"].check(candidates, "candidates.parquet")
    reps = pd.read_parquet(discovery_run / "representations.parquet")
    galaxies = pd.read_parquet(discovery_run / "galaxies.parquet")
    assert sorted(candidates["id_str"]) == sorted(reps["id_str"])
    assert candidates["anomaly_rank"].tolist() == list(range(1, len(reps) + 1))
    removed = ~candidates["id_str"].isin(galaxies["id_str"])
    assert (candidates.loc[removed, "cluster"] == NOT_SELECTED).all()
    assert (~candidates.loc[removed, "selected"]).all() and removed.sum() == 158
    # both planted groups, including ring members the selection removed, among the first places
    first = candidates.head(10)
    assert {"ring", "merger"} <= set(first["true_class"])
    clusters = pd.read_parquet(discovery_run / "clusters.parquet")
    assert set(RANKING_COLUMNS) <= set(clusters.columns) and result.clusters_rewritten
    assert RunFolder.open(discovery_run).table_key("clusters") == key  # still the stage's
    assert result.gallery is not None and result.gallery.stat().st_size > 0
    again = rank_run(discovery_run, rare_fraction=0.1, gallery=False)
    assert not again.clusters_rewritten
    pd.testing.assert_frame_equal(again.candidates, result.candidates)


def test_selected_only_leaves_the_removed_galaxies_out(discovery_run):
    result = rank_run(discovery_run, selected_only=True, gallery=False)
    galaxies = pd.read_parquet(discovery_run / "galaxies.parquet")
    assert sorted(result.candidates["id_str"]) == sorted(galaxies["id_str"])
    assert RunFolder.open(discovery_run).record["rank"]["selected_only"] is True
