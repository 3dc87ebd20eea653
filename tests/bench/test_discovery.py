"""The discovery suite's measures on a small run folder with known classes."""

from __future__ import annotations

import numpy as np

from raregal.bench.discovery import example_search, leaf_ranking, neighbour_ranking, queue_figures


def test_example_search_figures_and_baselines(tmp_path, gz_examples):
    from raregal.discover.data import load_encoded
    from runfolders import build_discovery_run

    encoded = load_encoded(build_discovery_run(tmp_path, gz_examples))
    rows = example_search(encoded, ["merger", "ring"], repeats=1, seed=0)
    assert [r["class"] for r in rows] == ["merger", "ring"]
    ring = rows[1]
    assert ring["members"] == 53 and ring["selected"] == 45
    for label in ("rounds", "seeds_alone", "leaves", "neighbours"):
        assert 0 <= ring[f"{label}_recall"] <= 1
        assert ring[f"{label}_found50"] <= 50 and ring[f"{label}_found100"] <= 53
    assert ring["recall_round5"] == ring["rounds_recall"]
    assert ring["rounds_recall"] >= 0.9
    # the ring's leaf holds only its selected members: the removed ones are never found by it
    assert ring["leaves_recall"] <= 45 / 53 + 1e-9
    seeds = np.flatnonzero(encoded.catalog["true_class"].to_numpy() == "ring")[:3]
    assert set(leaf_ranking(encoded, seeds)[:3]) == set(seeds)
    assert set(neighbour_ranking(encoded.X, seeds)[:3]) == set(seeds)
    queue = queue_figures(encoded, ["ring", "merger"], top=20)
    assert [q["method"] for q in queue][:3] == ["queue (rarity + variety)", "rarity score alone",
                                                "isolation forest"]  # fmt: skip
    assert all(0 <= q["planted_in_top"] <= 20 for q in queue)
