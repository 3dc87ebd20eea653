"""The report's artifact gallery (the paper's Figure 2), the model statement and the guard warning.

The run folder is built as in ``tests/report/conftest.py``: seeded 2-D blobs clustered by raregal's
own cluster stage, with random-colour images; one cluster is given a high artifact fraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from raregal.io.runfolder import RunFolder
from raregal.report import build_report
from raregal.report.artifacts import create_artifact_gallery
from runfolders import clustered_galaxies, write_run

ARTIFACT = "smooth-or-featured_artifact_fraction"


def make_run(folder, rng, record):
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], dtype=float)
    points = np.vstack([c + rng.normal(scale=0.5, size=(40, 2)) for c in centres])
    n = len(points)
    ids = [f"gal{i:03d}" for i in range(n)]
    images = folder.parent / "images"
    images.mkdir(parents=True)
    files = []
    for i in range(n):
        files.append(images / f"img{i}.png")
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(files[-1])
    result, galaxies = clustered_galaxies(points, ids, 10, file_loc=[str(f) for f in files])
    write_run(folder, galaxies, result.clusters, result.condensed_tree, record)
    artifact_cluster = int(galaxies["cluster"].max())
    artifact = np.where(galaxies["cluster"] == artifact_cluster, 0.75, 0.05)
    representations = pd.DataFrame({"id_str": ids, "feat_0": points[:, 0], ARTIFACT: artifact})
    RunFolder(folder).write_table("representations", representations)
    return artifact_cluster


MODEL = {
    "name": "demo",
    "arch": "convnext_atto",
    "image_size": 96,
    "trained_on": "simulated galaxies only: 24,000 cutouts; never real images",
}


def test_artifact_gallery_is_its_own_section_with_one_row_per_artifact_cluster(tmp_path, rng):
    record = {"stages": {"select": {"params": {"keep_artifacts": True}}}, "model": MODEL}
    make_run(tmp_path / "run", rng, record)
    page = build_report(tmp_path / "run").read_text()
    section = page[page.index('id="artifact-gallery"') :].split("</section>")[0]
    figure = tmp_path / "run" / "report" / "figures" / "artifacts.jpg"
    assert 'src="figures/artifacts.jpg"' in section and figure.exists()
    letters = [c for c in "ABCD" if f'href="#cluster-{c}"' in section]
    assert len(letters) == 1  # only the cluster with artifact fraction 0.75
    with Image.open(figure) as image:
        width, height = image.size
    assert width > 8 * 48 and height < 2 * 128  # one row of up to eight members


def test_no_artifact_gallery_when_the_artifact_rule_was_on(tmp_path, rng):
    make_run(tmp_path / "run", rng, {"stages": {}, "model": MODEL})
    page = build_report(tmp_path / "run").read_text()
    assert 'id="artifact-gallery"' not in page


def test_the_report_says_which_model_and_what_it_was_trained_on(tmp_path, rng):
    guard = {
        "warned": True,
        "message": "model 'demo' looks out of its depth on these 160 "
        "images: 80% would be removed as edge-on. Use a Zoobot encoder",
        "failed": [],
        "figures": {},
    }
    make_run(tmp_path / "run", rng, {"stages": {}, "model": MODEL, "domain_guard": guard})
    page = build_report(tmp_path / "run").read_text()
    model = page[page.index('id="model"') :].split("</p>")[0]
    assert "<strong>demo</strong>" in model and "96 px" in model
    assert "never real images" in model
    warning = page[page.index('id="domain-guard"') :].split("</p>")[0]
    assert "80% would be removed as edge-on" in warning


def test_artifact_rows_skip_unreadable_images_and_sort_by_artifact_fraction():
    members = [{"src": f"t{i}.jpg", "found": i != 1} for i in range(12)]
    clusters = [
        {"letter": "A", "colour": "#fff", "size": 40, "artifact": 0.4, "members": members},
        {"letter": "B", "colour": "#fff", "size": 30, "artifact": 0.9, "members": members},
        {"letter": "C", "colour": "#fff", "size": 30, "artifact": 0.1, "members": members},
        {"letter": "D", "colour": "#fff", "size": 30, "artifact": float("nan"), "members": members},
    ]
    rows = create_artifact_gallery(clusters, 0.3)
    assert [r["letter"] for r in rows] == ["B", "A"]
    assert rows[0]["thumbs"] == ["t0.jpg", *[f"t{i}.jpg" for i in range(2, 9)]]
