"""The report as a workbench: compact map, labels, palette, clickable tree, sky links, help text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.report import create_report
from raregal.report.glossary import GLOSSARY
from raregal.report.map_layout import compact_layout
from raregal.report.palette import cluster_colours, sequential, tag_colour
from raregal.report.sky import SIMULATED_NOTE


# ------------------------------------------------------------------ compact map layout
def test_far_islands_move_in_as_a_whole_and_the_main_population_stays(rng):
    main = rng.normal(0, 1, (3000, 2))
    far = rng.normal(0, 0.2, (60, 2)) + np.array([40, -30])
    near = rng.normal(0, 0.2, (40, 2)) + np.array([4.5, 0])
    x, y = np.r_[main, far, near].T
    layout = compact_layout(x, y)
    assert len(layout.moved) == 1 and layout.moved["n"].iloc[0] == 60
    shift = np.c_[layout.x, layout.y] - np.c_[x, y]
    np.testing.assert_allclose(shift[:3000], 0, atol=1e-5)  # the main population is to scale
    np.testing.assert_allclose(shift[3100:], 0, atol=1e-5)  # a near island stays put
    moved = shift[3000:3060]
    np.testing.assert_allclose(moved - moved[0], 0, atol=1e-4)  # the island moves rigidly
    assert np.hypot(*moved[0]) > 30, "pulled in by most of its distance"
    core_extent = np.ptp(main, axis=0).max()
    new_centre = np.c_[layout.x, layout.y][3000:3060].mean(axis=0)
    assert np.hypot(*new_centre) < 1.2 * core_extent, "now next to the main population"
    assert np.hypot(*new_centre) > 0.5 * core_extent, "but outside it"
    frame = layout.moved.iloc[0]
    tol = 1e-4  # display positions are float32
    assert (
        frame.x0 - tol <= layout.x[3000:3060].min() <= layout.x[3000:3060].max() <= frame.x1 + tol
    )


def test_moved_islands_keep_their_direction_and_never_overlap(rng):
    main = rng.normal(0, 1, (2000, 2))
    at = ([30, 1], [28, 12], [-25, -25], [0, 40])
    islands = [rng.normal(0, 0.3, (50, 2)) + np.array(c) for c in at]
    x, y = np.vstack([main, *islands]).T
    layout = compact_layout(x, y)
    assert len(layout.moved) == 4
    boxes = layout.moved[["x0", "y0", "x1", "y1"]].to_numpy()
    for i in range(4):
        for j in range(i + 1, 4):
            a, b = boxes[i], boxes[j]
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], "frames overlap"
    for k, island in enumerate(islands):
        start = 2000 + 50 * k
        before = island.mean(axis=0)
        after = np.c_[layout.x, layout.y][start : start + 50].mean(axis=0)
        cos = before @ after / np.linalg.norm(before) / np.linalg.norm(after)
        assert cos > 0.9, "in the same direction as on the true map"


def test_one_blob_or_tiny_maps_are_left_alone(rng):
    x, y = rng.normal(0, 1, (500, 2)).T
    layout = compact_layout(x, y)
    assert not layout.is_compact
    np.testing.assert_allclose(layout.x, x, rtol=1e-6)
    assert not compact_layout(np.zeros(2), np.zeros(2)).is_compact
    assert not compact_layout(np.ones(10), np.ones(10)).is_compact


# ------------------------------------------------------------------ palette and map figure
def test_the_palette_is_one_for_clusters_marks_and_scales():
    colours = cluster_colours(40)
    assert len(set(colours)) == 40 and colours[:3] == cluster_colours(3)
    assert tag_colour("interesting") != tag_colour("artifact")
    assert tag_colour("rings") == tag_colour("rings") != tag_colour("ring")
    assert sequential(0) == "#440154" and sequential(1) == "#fde725"


def test_map_labels_never_overlap_and_small_clusters_get_larger_dots(tmp_path, make_report_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from raregal.report.map import create_map, place_labels

    run = make_report_run(tmp_path / "run", descriptions=True, images=0)
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    clusters = pd.read_parquet(run / "clusters.parquet")
    colours = dict(enumerate(cluster_colours(len(clusters))))
    data = create_map(galaxies, clusters, colours)
    assert len(data.islands) == 1, "the far blob is pulled in"
    assert all(label.startswith(f"{letter} · ") for letter, label in
               zip(data.centres["letter"], data.centres["label"], strict=True))  # fmt: skip
    smallest = clusters.loc[clusters["size"].idxmin(), "cluster"]
    largest = clusters.loc[clusters["size"].idxmax(), "cluster"]
    sizes = data.points.groupby(galaxies.loc[galaxies.cluster >= 0, "cluster"].to_numpy())["size"]
    if clusters["size"].min() <= 60 < clusters["size"].max():
        assert sizes.first()[smallest] > sizes.first()[largest]
    for width in (9, 3):  # roomy, then so small that labels must give way
        fig, ax = plt.subplots(figsize=(width, width * 0.8), dpi=80)
        ax.scatter(data.points["x"], data.points["y"])
        x0, x1, y0, y1 = data.extent
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        boxes = place_labels(ax, data.centres)
        for i, a in enumerate(boxes):
            assert not any(a.overlaps(b) for b in boxes[i + 1 :])
        from matplotlib.transforms import Bbox

        from raregal.report.map import SMALL_ON_SCREEN

        checked = 0
        for row in data.centres.itertuples():  # no label covers a cluster small on screen
            corners = ax.transData.transform([(row.x0, row.y0), (row.x1, row.y1)])
            cluster_box = Bbox(corners)
            if max(cluster_box.width, cluster_box.height) < SMALL_ON_SCREEN - 6:
                assert not any(b.overlaps(cluster_box) for b in boxes), row.letter
                checked += 1
        assert checked > 0 or width == 9, "on the small figure the clusters are small"
        if width == 9:
            assert len(boxes) == len(clusters), "every cluster labelled when there is room"
        plt.close(fig)


# ------------------------------------------------------------------ the page
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.terms: dict[str, str] = {}
        self.links: list[str] = []
        self._term: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "term" in (a.get("class") or "").split():
            self._term = a.get("title", "")
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_data(self, data):
        if self._term is not None:
            self.terms[data] = self._term
            self._term = None


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory, make_report_run):
    marks = pd.DataFrame(
        {"mark_id": [1, 2], "target_kind": ["cluster", "node"], "target": ["A", "0"],
         "tag": ["interesting", "rings"], "note": ["check", ""], "created": ["", ""]}
    )  # fmt: skip
    run = make_report_run(tmp_path_factory.mktemp("page") / "run", descriptions=True, extras=True)
    tree = pd.read_parquet(run / "condensed_tree.parquet")
    clusters = pd.read_parquet(run / "clusters.parquet")
    node = int(clusters["parent"].iloc[0])
    marks.loc[1, "target"] = str(node)
    marks.to_parquet(run / "marks.parquet")
    create_report(run, max_per_gallery=8, thumb_size=40)
    assert node in set(tree["parent"])
    return run


def test_every_term_of_the_page_has_its_help_text(page_dir):
    page = html.unescape((page_dir / "report" / "index.html").read_text())
    parser = _Page()
    parser.feed((page_dir / "report" / "index.html").read_text())
    for name in ("mean p", "persistence", "λ", "cluster", "medoid", "interest"):
        assert parser.terms.get(name) == GLOSSARY[name], name
    glossary = page[page.index('id="terms"') :]
    for name, text in GLOSSARY.items():
        assert name in glossary and text in glossary


def test_sky_links_go_to_three_viewers_by_ra_dec(page_dir):
    galaxies = pd.read_parquet(page_dir / "galaxies.parquet")
    parser = _Page()
    parser.feed((page_dir / "report" / "index.html").read_text())
    links = [link for link in parser.links if link.startswith("https://")]
    for host in ("legacysurvey.org", "sky.esa.int", "simbad.cds.unistra.fr"):
        assert any(host in link for link in links), host
    first = next(link for link in links if "legacysurvey" in link)
    ra, dec = (float(v) for v in re.findall(r"ra=([-\d.]+)&dec=([-\d.]+)", first)[0])
    assert ((galaxies["ra"] - ra).abs() < 1e-5).any() and (
        (galaxies["dec"] - dec).abs() < 1e-5
    ).any()


def test_simulated_coordinates_get_no_sky_links_but_a_note(tmp_path, make_report_run):
    run = make_report_run(tmp_path / "run", simulated=True, images=2)
    page = create_report(run, max_per_gallery=4, thumb_size=32).index.read_text()
    assert SIMULATED_NOTE in page
    for host in ("legacysurvey.org", "sky.esa.int", "simbad"):
        assert host not in page


def test_descriptions_and_ranking_columns_show_when_present(page_dir, tmp_path, make_report_run):
    page = (page_dir / "report" / "index.html").read_text()
    table = page[page.index('class="clusters"') : page.index("</table>")]
    assert "<th>description</th>" in table and "1-armed &lt;spiral&gt; with a ring" in table
    for name in ("interest", "interest rank", "seed stability"):
        assert f">{name}</span></th>" in table
    assert '<p class="description">0-armed &lt;spiral&gt; with a ring</p>' in page
    plain = create_report(make_report_run(tmp_path / "plain", images=0)).index.read_text()
    assert "<th>description</th>" not in plain and ">interest</span>" not in plain


def test_the_tree_picture_is_clickable_and_shows_node_marks(page_dir, browser):
    clusters = pd.read_parquet(page_dir / "clusters.parquet")
    node = int(clusters["parent"].iloc[0])
    leaves = sorted(clusters.loc[clusters["parent"] == node, "letter"])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((page_dir / "report" / "index.html").as_uri())
    marked = page.get_attribute(".icicle g.node.marked", "data-node")
    assert marked == str(node) and "rings" in page.text_content(".icicle g.node.marked")
    assert page.is_hidden("#node-view")
    page.click(f".icicle g.node[data-node='{node}']")
    page.wait_for_selector("#node-view:not([hidden])")
    columns = page.eval_on_selector_all("#node-view .leaf", "e => e.map(c => c.dataset.letter)")
    assert sorted(columns) == sorted(leaves) and len(columns) >= 2
    for letter in columns:
        shown = page.eval_on_selector_all(
            f"#node-view .leaf[data-letter='{letter}'] img", "e => e.map(i => i.alt)"
        )
        gallery = page.eval_on_selector_all(
            f"#cluster-{letter} .grid img", "e => e.map(i => i.alt)"
        )
        assert shown and shown == gallery[: len(shown)], "the leaf's own gallery, best first"
    assert "galaxies" in page.text_content("#node-view-title") and "λ" in page.text_content(
        "#node-view-title"
    )
    # by keyboard: focus a leaf's box and press Enter
    page.click("#node-view-close")
    page.focus(".icicle g.node.leaf")
    page.keyboard.press("Enter")
    page.wait_for_selector("#node-view:not([hidden])")
    assert page.locator("#node-view .leaf").count() == 1
    page.close()
    assert not errors, errors


def test_the_catalog_column_is_not_clipped_on_a_wide_screen(page_dir, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto((page_dir / "report" / "index.html").as_uri())
    box = page.locator("#clusters").bounding_box()
    cell = page.locator("#clusters tbody tr:first-child td.catalog").bounding_box()
    assert cell["x"] + cell["width"] <= box["x"] + box["width"] + 1
    assert cell["x"] + cell["width"] <= 1440
    page.close()


def test_cluster_exports_use_the_one_layout(page_dir):
    from astropy.table import Table

    for path in sorted((page_dir / "report" / "exports").glob("cluster_*.vot")):
        table = Table.read(path, format="votable")
        assert table.colnames == ["id_str", "ra", "dec", "cluster", "letter", "probability"]
        assert str(table["ra"].unit) == "deg"
        assert (
            Path(path.with_suffix(".csv"))
            .read_text()
            .startswith("id_str,ra,dec,cluster,letter,probability")
        )
