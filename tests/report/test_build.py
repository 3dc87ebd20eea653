"""The report of a run folder: files it references, exports, placeholders, escaping, real images.

The run folders here are built with real computation: seeded 2-D blobs clustered by raregal's own
cluster stage (hdbscan engine, leaf selection), written in the layout of docs/for_developers.md.
(``run_search`` would add UMAP, which takes a minute here: too slow for these tests.)
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.constants import NOISE
from raregal.io.runfolder import RunFolder, cluster_letter
from raregal.report import build_report, create_report
from runfolders import clustered_galaxies, update_record, write_run

ARTIFACT = "smooth-or-featured_artifact_fraction"


def make_run(
    folder: Path,
    images: list[Path] | None = None,
    ids: list[str] | None = None,
    seed: int = 0,
    record: dict | None = None,
) -> Path:
    """A run folder from seeded 2-D blobs, clustered by raregal's own cluster stage (hdbscan)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [3, 12]], dtype=float)
    sizes = [60, 45, 35, 25, 20]
    blobs = [c + rng.normal(scale=0.5, size=(n, 2)) for c, n in zip(centres, sizes, strict=True)]
    points = np.vstack([*blobs, rng.uniform(-3, 15, size=(30, 2))])
    n = len(points)
    ids = ids or [f"gal{i:04d}" for i in range(n)]
    result, galaxies = clustered_galaxies(
        points, ids, 10, ra=rng.uniform(150, 160, n), dec=rng.uniform(-5, 5, n)
    )
    if images is not None:
        galaxies["file_loc"] = [str(images[i % len(images)]) for i in range(n)]
    base = {"stages": {"cluster": {"params": {"min_samples": 5, "min_cluster_size": 10}}},
            "counts": {"selected": n}}  # fmt: skip
    return write_run(folder, galaxies, result.clusters, result.condensed_tree, record or base)


def write_pngs(folder: Path, count: int, rng: np.random.Generator) -> list[Path]:
    """Small random-colour PNG images (real files that Pillow reads)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = rng.integers(40, 255, size=(64, 64, 3), dtype=np.uint8)
        paths.append(folder / f"img{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def best_first(galaxies: pd.DataFrame) -> pd.DataFrame:
    """Members in gallery order: probability, then lower outlier score, then id."""
    members = galaxies[galaxies.cluster >= 0]
    return members.sort_values(
        ["cluster", "probability", "outlier_score", "id_str"], ascending=[True, False, True, True]
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def parse(index: Path) -> _Links:
    parser = _Links()
    parser.feed(index.read_text())
    return parser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    rng = np.random.default_rng(1)
    root = tmp_path_factory.mktemp("report")
    images = write_pngs(root / "images", 6, rng)
    images.append(root / "images" / "gone.png")  # never written: a missing image
    run = make_run(root / "run", images)
    summary = create_report(run, max_per_gallery=12, thumb_size=48)
    return run, summary


def test_every_file_the_page_references_exists(report):
    run, summary = report
    assert summary.index == run / "report" / "index.html"
    links = parse(summary.index).links
    local = [link for link in links if not link.startswith(("http://", "https://", "#"))]
    assert any(link.startswith("thumbs/") for link in local)
    assert "figures/map.png" in local and "figures/tree.png" in local
    for link in local:
        assert not Path(link).is_absolute() and ".." not in link
        assert (summary.index.parent / link).is_file(), link


def test_sky_viewer_links_use_the_galaxy_coordinates(report):
    run, summary = report
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    viewer = [x for x in parse(summary.index).links if x.startswith("https://www.legacysurvey")]
    assert viewer
    first = best_first(galaxies).iloc[0]
    assert f"ra={first.ra:.6f}&dec={first.dec:.6f}&layer=ls-dr10&zoom=14" in "".join(viewer)


def test_exports_round_trip_through_astropy(report):
    from astropy.table import Table

    run, _ = report
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    clusters = pd.read_parquet(run / "clusters.parquet")
    assert len(clusters) >= 3
    for row in clusters.itertuples():
        members = galaxies[galaxies.cluster == row.cluster]
        for suffix, fmt in ((".csv", "ascii.csv"), (".vot", "votable")):
            table = Table.read(
                run / "report" / "exports" / f"cluster_{row.letter}{suffix}", format=fmt
            )
            assert table.colnames == ["id_str", "ra", "dec", "cluster", "letter", "probability"]
            assert set(table["letter"]) == {row.letter} and set(table["cluster"]) == {row.cluster}
            assert len(table) == row.size == len(members)
            assert set(np.asarray(table["id_str"], dtype=str)) == set(members.id_str)
            back = members.set_index("id_str").loc[np.asarray(table["id_str"], dtype=str)]
            np.testing.assert_allclose(table["ra"], back.ra, rtol=1e-7)
            np.testing.assert_allclose(table["probability"], back.probability, rtol=1e-7)
            assert np.all(np.diff(np.asarray(table["probability"])) <= 0)


def test_csv_exports_are_safe_to_open_in_a_spreadsheet(tmp_path):
    """Issue 16, case 12: an id such as =cmd|' /C calc'!A0 was written raw into the CSV, where a
    spreadsheet runs it; the VOTable keeps the id as it is."""
    from astropy.table import Table

    hostile = "=cmd|' /C calc'!A0"
    ids = [hostile if i == 0 else f"gal{i:04d}" for i in range(215)]  # row 0: the first blob
    run = make_run(tmp_path / "run", ids=ids)
    create_report(run, max_per_gallery=4, thumb_size=16)
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    letter = cluster_letter(int(galaxies.loc[galaxies.id_str == hostile, "cluster"].iloc[0]))
    assert letter  # a member of a cluster, so it is exported
    stem = run / "report" / "exports" / f"cluster_{letter}"
    cells = [line.split(",")[0] for line in stem.with_suffix(".csv").read_text().splitlines()]
    assert "'" + hostile in cells
    assert not any(c.startswith(("=", '"=')) for c in cells)
    vot = Table.read(stem.with_suffix(".vot"), format="votable")
    assert hostile in set(np.asarray(vot["id_str"], dtype=str))


def test_missing_image_is_a_counted_placeholder(report):
    run, summary = report
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    shown = best_first(galaxies).groupby("cluster").head(12)
    expected = int(shown.file_loc.str.endswith("gone.png").sum())
    assert expected > 0
    assert summary.n_missing == expected == sum(summary.missing_by_cluster.values())
    assert summary.n_thumbs == len(shown)
    page = summary.index.read_text()
    assert f"{expected} of {len(shown)} gallery" in page
    assert page.count("thumbs/missing.png") == expected
    assert json.loads((run / "report" / "report.json").read_text())["n_missing"] == expected


def test_galleries_say_how_many_are_shown(report):
    run, summary = report
    clusters = pd.read_parquet(run / "clusters.parquet")
    page = summary.index.read_text()
    for row in clusters.itertuples():
        assert f"showing {min(row.size, 12)} of {row.size}" in page
        assert (run / "report" / "galleries" / f"cluster_{row.letter}.jpg").is_file()


def test_html_escapes_galaxy_names(tmp_path, rng):
    images = write_pngs(tmp_path / "images", 2, rng)
    n = 60 + 45 + 35 + 25 + 20 + 30
    ids = [f"<script>alert({i})</script>" for i in range(n)]
    run = make_run(tmp_path / "run", images, ids=ids)
    index = build_report(run, max_per_gallery=4, thumb_size=32)
    page = index.read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(" in page
    assert page.count("<script") == 1 and '<script src="tree.js"></script>' in page


def test_rebuild_reuses_thumbnails_and_drops_stale_clusters(report, tmp_path):
    run, _ = report
    copy = shutil.copytree(run, tmp_path / "run")
    thumbs = sorted((copy / "report" / "thumbs").glob("*.jpg"))
    stamps = {p: p.stat().st_mtime_ns for p in thumbs}
    clusters = pd.read_parquet(copy / "clusters.parquet")
    galaxies = pd.read_parquet(copy / "galaxies.parquet")
    last = clusters.cluster.max()
    galaxies.loc[galaxies.cluster == last, "cluster"] = NOISE
    run_folder = RunFolder(copy)
    run_folder.write_table("galaxies", galaxies)
    run_folder.write_table("clusters", clusters[clusters.cluster != last])
    create_report(copy, max_per_gallery=12, thumb_size=48)
    assert {p: p.stat().st_mtime_ns for p in thumbs} == stamps
    letter = cluster_letter(int(last))
    assert not (copy / "report" / "exports" / f"cluster_{letter}.csv").exists()
    assert f'id="cluster-{letter}"' not in (copy / "report" / "index.html").read_text()


def test_recovery_and_artifact_sections(report, tmp_path):
    run, _ = report
    copy = shutil.copytree(run, tmp_path / "run", ignore=shutil.ignore_patterns("report"))
    update_record(copy, stages={"select": {"params": {"keep_artifacts": True}}}, counts={})
    recovery = pd.DataFrame(
        {"true_class": ["ring", "ring", "lens"], "cluster": [0, 1, 2],
         "purity": [0.9, 0.5, 0.6], "completeness": [0.3, 0.4, 0.9]}
    )  # fmt: skip
    run_folder = RunFolder(copy)  # through the contract: run.json commits the new table
    run_folder.write_table("recovery", recovery)
    run_folder.save()
    galaxies = pd.read_parquet(copy / "galaxies.parquet")
    artifact = np.where(galaxies.cluster == 1, 0.8, 0.02)  # cluster B: imaging artifacts
    fractions = pd.DataFrame({"id_str": galaxies.id_str, ARTIFACT: artifact})
    fractions.to_parquet(copy / "representations.parquet")
    page = build_report(copy).read_text()
    note = page[page.index('id="artifact-note"') :].split("</p>")[0]
    assert 'href="#cluster-B"' in note and 'href="#cluster-A"' not in note
    recovery = page[page.index('id="recovery"') :]
    ring = recovery[recovery.index("<td>ring</td>") :]
    lens = recovery[recovery.index("<td>lens</td>") :]
    assert ring.split("</tr>")[0].count("<td>yes</td>") == 1  # 0.3 of it in a pure cluster
    assert lens.split("</tr>")[0].count("<td>no</td>") == 1  # only in an impure cluster


def test_real_images_give_real_thumbnails(gz_examples, tmp_path):
    from PIL import Image

    images = sorted((gz_examples / "images").glob("decals-*.jpg"))[:20]
    run = make_run(tmp_path / "run", images)
    summary = create_report(run, max_per_gallery=6, thumb_size=64)
    assert summary.n_missing == 0 and summary.n_thumbs > 0
    thumbs = [p for p in (run / "report" / "thumbs").glob("*.jpg")]
    assert thumbs
    placeholder = np.asarray(Image.open(run / "report" / "thumbs" / "missing.png"), dtype=float)
    for path in thumbs:
        pixels = np.asarray(Image.open(path), dtype=float)
        assert pixels.shape == (64, 64, 3)
        assert pixels.std() > 5 and np.abs(pixels - placeholder).mean() > 5


def test_missing_table_is_a_clear_error(tmp_path):
    from raregal.errors import InputError

    run = make_run(tmp_path / "run")
    (run / "clusters.parquet").unlink()
    with pytest.raises(InputError, match=r"clusters\.parquet: the run has no clusters\.parquet"):
        build_report(run)


def test_cli_writes_the_report_and_warns_of_missing_images(report, tmp_path):
    from typer.testing import CliRunner

    from raregal.cli import app

    run, summary = report
    out = tmp_path / "elsewhere"
    result = CliRunner().invoke(
        app,
        ["report", str(run), "--out", str(out), "--max-per-gallery", "12", "--thumb-size", "48"],
    )
    assert result.exit_code == 0, result.output
    assert str(out / "index.html") in result.output
    assert f"warning: {summary.n_missing} images missing" in result.output
    assert (out / "index.html").is_file() and (out / "thumbs" / "missing.png").is_file()


def test_run_without_images_lists_names_and_misses_nothing(tmp_path):
    run = make_run(tmp_path / "run")  # no file_loc: a run from a representation table
    summary = create_report(run, max_per_gallery=5, thumb_size=32)
    page = summary.index.read_text()
    assert summary.n_missing == 0 and summary.n_thumbs > 0
    assert "so the galleries list names" in page and "thumbs/" not in page
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    shown = best_first(galaxies).groupby("cluster").head(5)
    gallery = page[page.index('id="galleries"') :]
    for letter, members in zip("ABC", (shown[shown.cluster == k] for k in range(3)), strict=True):
        block = gallery[gallery.index(f'id="cluster-{letter}"') :].split("</article>")[0]
        assert [m for m in members.id_str if m in block] == list(members.id_str)
        assert block.index(members.id_str.iloc[0]) < block.index(members.id_str.iloc[-1])


def test_tree_marks_each_selected_leaf_in_its_colour(report):
    from raregal.report.tree import UNSELECTED_COLOUR, create_tree

    run, _ = report
    tree = pd.read_parquet(run / "condensed_tree.parquet")
    clusters = pd.read_parquet(run / "clusters.parquet")
    colours = {int(n): f"#0000{i:02x}" for i, n in enumerate(clusters.node)}
    letters = dict(zip(clusters.node.astype(int), clusters.letter, strict=True))
    shapes = create_tree(tree, colours, letters)
    n_cluster_nodes = int((tree.child_size > 1).sum()) + 1  # every cluster node and the root
    assert len(shapes.polygons) == n_cluster_nodes
    assert sorted(c for c in shapes.colours if c != UNSELECTED_COLOUR) == sorted(colours.values())
    assert sorted(shapes.labels.letter) == sorted(clusters.letter)
    assert shapes.n_leaves >= len(clusters)
    for polygon in shapes.polygons:  # inside the page and below the root
        assert polygon[:, 0].min() >= 0 and polygon[:, 0].max() <= shapes.n_leaves
        assert polygon[:, 1].min() >= 0


def test_bad_run_tables_and_parameters_are_clear_errors(tmp_path):
    from raregal.errors import InputError

    run = make_run(tmp_path / "run")
    with pytest.raises(InputError, match="max_per_gallery must be at least 1, got 0"):
        build_report(run, max_per_gallery=0)
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    galaxies.drop(columns="map_y").to_parquet(run / "galaxies.parquet")
    with pytest.raises(InputError, match=r"galaxies\.parquet: the galaxies table lacks 1 requir"):
        build_report(run)
    galaxies.loc[:2, "cluster"] = 99
    galaxies.to_parquet(run / "galaxies.parquet")
    with pytest.raises(InputError, match="3 galaxies carry cluster labels absent"):
        build_report(run)


def test_relative_file_locs_are_read_from_the_run_folder(gz_examples, tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "cutouts").mkdir(parents=True)
    names = []
    for source in sorted((gz_examples / "images").glob("decals-*.jpg"))[:4]:
        shutil.copy(source, run_dir / "cutouts" / source.name)
        names.append(Path("cutouts") / source.name)
    run = make_run(run_dir, names)
    summary = create_report(run, max_per_gallery=3, thumb_size=32)
    assert summary.n_thumbs > 0 and summary.n_missing == 0


def test_a_run_without_clusters_still_gets_a_page(tmp_path):
    run = make_run(tmp_path / "run")
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    galaxies.assign(cluster=NOISE).to_parquet(run / "galaxies.parquet")
    pd.read_parquet(run / "clusters.parquet").iloc[0:0].to_parquet(run / "clusters.parquet")
    summary = create_report(run)
    assert summary.n_clusters == 0 and summary.n_thumbs == 0
    page = summary.index.read_text()
    assert 'id="no-clusters"' in page and f"{len(galaxies)} noise" in page
    assert not list((run / "report" / "exports").iterdir())
