"""The report of a ranked run: clusters by interest, the main population folded, the queue."""

from __future__ import annotations

import re

import pandas as pd

from raregal.report.build import create_report


def test_clusters_by_interest_main_population_folded_and_the_queue(tmp_path, gz_examples):
    from raregal.discover.queue import rank_run
    from runfolders import build_discovery_run

    run_dir = build_discovery_run(tmp_path, gz_examples)
    rank_run(run_dir, rare_fraction=0.1, gallery=False)
    create_report(run_dir)
    html = (run_dir / "report" / "index.html").read_text()
    clusters = pd.read_parquet(run_dir / "clusters.parquet").sort_values("interest_rank")
    # galleries in the order of interest, the main population inside a collapsed <details>
    galleries = re.findall(r'<article class="gallery" id="cluster-([A-Z]+)"', html)
    assert galleries == clusters["letter"].tolist()
    folded = html.split('<details id="main-population">')[1].split("</details>")[0]
    for row in clusters.itertuples():
        assert (f'id="cluster-{row.letter}"' in folded) == bool(row.main_population)
        assert row.description in html
    # the queue: its first galaxies, in order, with where they are
    candidates = pd.read_parquet(run_dir / "candidates.parquet")
    queue = html.split('<section id="queue">')[1].split("</section>")[0]
    shown = re.findall(r'<figcaption>#(\d+) (gal\d+) ', queue)
    assert [(int(r), i) for r, i in shown] == list(
        zip(candidates["anomaly_rank"][:48], candidates["id_str"][:48], strict=True))
    assert "removed by the selection" in queue or "noise" in queue or "cluster" in queue
