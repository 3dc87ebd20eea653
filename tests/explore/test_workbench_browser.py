"""The explorer as a workbench, in real headless Chromium: map, object view, tree, marks, keys."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.report.palette import cluster_colours, sequential_lut, tag_colour

pytestmark = pytest.mark.browser

COUNT_COLOUR = """([r, g, b]) => {
  const c = document.getElementById('map');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let count = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) count++;
  return count;
}"""
GREY_LEVELS = """() => {
  const c = document.getElementById('map');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, levels = new Set();
  for (let i = 0; i < d.length; i += 4) {
    const m = (d[i] + d[i + 1] + d[i + 2]) / 3;
    if (Math.abs(d[i] - m) < 30 && Math.abs(d[i + 1] - m) < 30 && Math.abs(d[i + 2] - m) < 30)
      levels.add(d[i] + d[i + 1] + d[i + 2]);
  }
  return levels.size;
}"""


def rgb(hex_colour: str) -> tuple[int, int, int]:
    v = int(hex_colour.lstrip("#"), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def colour_count(page, colour: str) -> int:
    """Pixels of the map canvas painted exactly ``colour``."""
    return page.evaluate(COUNT_COLOUR, list(rgb(colour)))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_run) -> Path:
    return make_run(tmp_path_factory.mktemp("workbench_browser"), descriptions=True, anomaly=True)


@pytest.fixture
def page(browser, run_dir, open_page):
    (run_dir / "marks.parquet").unlink(missing_ok=True)
    pg, server, errors = open_page(browser, run_dir, width=1300, height=850)
    yield pg
    pg.context.close()
    server.stop()
    assert not errors, errors


# ------------------------------------------------------------------ the map
def test_far_islands_are_pulled_in_and_marked_so_the_main_population_fills_the_map(page, run_dir):
    from raregal.explore.data import ExploreRun

    run = ExploreRun(run_dir)
    assert len(run.layout.moved) >= 1, "the far blob is an island"
    assert "far islands moved closer" in page.text_content("#run-info")
    main = run.layout.island == np.bincount(run.layout.island).argmax()
    xs = page.evaluate(
        """(rows) => rows.map((r) => { const m = window.raregal.map, i = m.rowToIdx[r];
             return m.toScreen(m.X[i], m.Y[i])[0]; })""",
        np.flatnonzero(main).tolist(),
    )
    width = page.evaluate("window.raregal.map.width")
    assert max(xs) - min(xs) > 0.45 * width, "the main population spans most of the map"
    # on the true map the far blob would squeeze the main population into a corner
    true_span = np.ptp(run.x[main]) / np.ptp(run.x)
    assert true_span < 0.35


def test_labels_never_overlap_and_carry_the_description(page, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    boxes = page.evaluate("window.raregal.map.labelBoxes")
    assert {b["cluster"] for b in boxes} == set(clusters["cluster"]), "every cluster is labelled"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert (
                a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            )
    obstacles = page.evaluate("window.raregal.map.labelObstacles")
    assert obstacles, "clusters small on screen are kept clear"
    for a in boxes:  # no label covers a cluster that is small on screen
        for b in obstacles:
            assert (
                a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            )
    texts = {b["cluster"]: b["text"] for b in boxes}
    described = [t for t in texts.values() if " · class " in t]
    assert described, "labels carry the short description where there is room"
    assert all(len(t) <= 2 + 3 + 28 for t in texts.values())
    for _ in range(6):  # zoomed out, crowded: still no overlap (descriptions are dropped first)
        page.mouse.move(650, 400)
        page.mouse.wheel(0, 400)
    page.wait_for_timeout(300)
    boxes = page.evaluate("window.raregal.map.labelBoxes")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert (
                a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            )


def test_small_clusters_are_drawn_larger(page, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    small = clusters.sort_values("size").iloc[0]
    colour = page.evaluate("window.raregal.app.summary.palette.clusters")[int(small.cluster)]
    page.evaluate("window.raregal.map.draw()")
    larger = colour_count(page, colour)
    page.evaluate("window.raregal.map.bonus.fill(0); window.raregal.map.draw()")
    plain = colour_count(page, colour)
    assert larger > 1.5 * plain > 0


def test_thumbnails_appear_on_the_map_when_zoomed_in(page):
    assert page.evaluate("window.raregal.map.thumbsDrawn") == 0, "not on the whole map"
    page.evaluate("(m => m.zoomTo(m.indicesOf((i) => m.L[i] === 0)))(window.raregal.map)")
    page.wait_for_function("window.raregal.map.thumbsDrawn > 3", timeout=10000)
    page.uncheck("#show-thumbs")
    page.wait_for_function("window.raregal.map.thumbsDrawn === 0")


def test_the_main_population_is_drawn_as_density_shading(browser, tmp_path, open_page):
    from raregal.bench.explore import synthetic_run

    run = synthetic_run(tmp_path / "run", 60_000, n_clusters=8, noise_fraction=0.6, seed=2)
    page, server, errors = open_page(browser, run, width=900, height=600)
    try:
        assert page.evaluate(GREY_LEVELS) >= 5, "several shades: denser places are lighter"
    finally:
        page.context.close()
        server.stop()
    assert not errors


def test_colour_by_a_vote_fraction_anomaly_score_ra_and_a_mark(page, run_dir):
    options = page.eval_on_selector_all("#colour-by option", "e => e.map(o => o.value)")
    assert {"cluster", "mark", "probability", "anomaly_score", "ra", "dec"} <= set(options)
    assert "merging_merger_fraction" in options
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    for name in ("anomaly_score", "ra", "merging_merger_fraction"):
        page.select_option("#colour-by", name)
        page.wait_for_selector(f"body[data-colour='{name}']")
        assert page.evaluate("window.raregal.map.colourMode") == "continuous"
        assert name.replace("_fraction", "").replace("_", " ") in page.text_content(
            "#colour-legend"
        )
    # the galaxy with the highest anomaly score is drawn in the top colour of the scale
    page.select_option("#colour-by", "anomaly_score")
    page.wait_for_selector("body[data-colour='anomaly_score']")
    top = int(galaxies["anomaly_score"].idxmax())
    value = page.evaluate(f"window.raregal.map.values[window.raregal.map.rowToIdx[{top}]]")
    assert value == pytest.approx(galaxies.loc[top, "anomaly_score"], rel=1e-5)
    lut = page.evaluate("window.raregal.app.summary.palette.sequential")
    assert lut == sequential_lut(start=0.15)
    assert colour_count(page, lut[-1]) > 0
    # a mark colours the members of the marked cluster in the tag's colour
    page.click("#clusters tbody tr[data-cluster='1']")
    page.click("#panel-marks .mark-buttons button[data-tag='interesting']")
    page.wait_for_selector("body[data-marks='1']")
    page.select_option("#colour-by", "mark")
    page.wait_for_selector("body[data-colour='mark']")
    page.click("#panel-close")
    page.wait_for_timeout(200)
    assert colour_count(page, tag_colour("interesting")) >= int((galaxies["cluster"] == 1).sum())


def test_one_palette_for_the_report_and_the_explorer(page, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    expected = cluster_colours(len(clusters))
    swatches = page.eval_on_selector_all(
        "#clusters tbody .swatch", "e => e.map(s => getComputedStyle(s).backgroundColor)"
    )
    assert swatches == [f"rgb({r}, {g}, {b})" for r, g, b in map(rgb, expected)]
    assert colour_count(page, expected[0]) > 0, "the map draws cluster A in the same colour"


# ------------------------------------------------------------------ object view
def test_clicking_a_galaxy_opens_its_object_view(page, run_dir, screen_of_row):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    row = int(
        np.flatnonzero((galaxies["cluster"] >= 0) & galaxies["file_loc"].str.endswith(".fits"))[0]
    )
    page.mouse.click(*page.evaluate(screen_of_row, row))
    page.wait_for_selector("#object-view:not([hidden])")
    page.wait_for_selector("body[data-cutout='1']")
    assert page.text_content("#object-title") == galaxies.loc[row, "id_str"]
    assert page.evaluate("document.getElementById('object-img').naturalWidth") == 96
    assert page.is_visible("#object-stretch"), "a FITS cutout offers its asinh stretch"
    before = page.get_attribute("#object-img", "src")
    page.fill("#object-softening", "0.3")
    page.dispatch_event("#object-softening", "input")
    page.wait_for_function(
        f"document.getElementById('object-img').src !== '{page.url[:-1]}{before}'"
    )
    assert "softening=0.3" in page.get_attribute("#object-img", "src")
    page.click("#object-zoom-in")
    page.click("#object-zoom-in")
    width = page.evaluate("document.getElementById('object-img').getBoundingClientRect().width")
    assert width > 96 * 2, "zoomed beyond full resolution"
    facts = page.text_content("#object-facts")
    assert f"{galaxies.loc[row, 'probability']:.3f}" in facts
    assert f"{galaxies.loc[row, 'anomaly_score']:.3f}" in facts
    assert "class " in page.text_content("#object-cluster"), "the cluster's description"
    assert page.locator("#object-fractions .question").count() == 10
    page.wait_for_function("document.querySelectorAll('#object-neighbours .thumb').length === 12")
    links = page.eval_on_selector_all("#object-links a", "e => e.map(a => [a.textContent, a.href])")
    assert [name for name, _ in links] == ["Legacy Survey", "ESASky", "SIMBAD"]
    ra = galaxies.loc[row, "ra"]
    assert all(f"{ra:.6f}" in href for _, href in links)
    page.keyboard.press("Escape")
    assert page.is_hidden("#object-view")


def test_copy_ra_dec(browser, run_dir, open_page):
    page, server, errors = open_page(browser, run_dir)
    try:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.evaluate("window.raregal.app.object.open(3)")
        page.wait_for_selector("#copy-radec")
        page.click("#copy-radec")
        page.wait_for_function("document.getElementById('copy-radec').textContent === 'copied'")
        galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{galaxies.loc[3, 'ra']:.6f} {galaxies.loc[3, 'dec']:.6f}"
    finally:
        page.context.close()
        server.stop()
    assert not errors


def test_simulated_coordinates_switch_the_sky_links_off_with_a_note(
    browser, tmp_path, make_run, open_page
):
    run = make_run(tmp_path, simulated=True)
    page, server, errors = open_page(browser, run)
    try:
        page.evaluate("window.raregal.app.object.open(0)")
        page.wait_for_selector("#sky-note")
        assert page.locator("#object-links a").count() == 0
        assert "Simulated survey" in page.text_content("#sky-note")
    finally:
        page.context.close()
        server.stop()
    assert not errors


def test_more_like_this_lands_at_the_top_of_the_panel(page):
    page.evaluate("window.raregal.app.object.open(10)")
    page.wait_for_selector("#object-view:not([hidden])")
    page.click("#object-more")
    page.wait_for_function(
        "document.querySelectorAll('#gallery .thumb').length === 48", timeout=20000
    )
    top = page.evaluate("document.querySelector('#gallery .thumb').getBoundingClientRect().top")
    assert top < page.viewport_size["height"] - 100, "the results are in view, not below the fold"


# ------------------------------------------------------------------ the tree
def test_the_tree_is_a_clickable_picture_that_shows_leaves_side_by_side(page, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    page.keyboard.press("t")
    page.wait_for_selector("#tree-drawer:not([hidden]) svg.icicle")
    parent = page.evaluate("fetch('/api/clusters/0').then(r => r.json()).then(c => c.tree.parent)")
    page.click(f"#tree-box g.node[data-node='{parent}']")
    page.wait_for_selector(f"body[data-compare='{parent}']")
    leaves = page.eval_on_selector_all(
        "#compare-leaves .leaf", "e => e.map(l => Number(l.dataset.cluster))"
    )
    assert len(leaves) >= 2 and 0 in leaves
    for k in leaves:
        rows = page.eval_on_selector_all(
            f"#compare-leaves .leaf[data-cluster='{k}'] .thumb",
            "e => e.map(t => Number(t.dataset.row))",
        )
        assert rows and set(galaxies["cluster"].iloc[rows]) == {k}
    assert page.get_attribute(f"#tree-box g.node[data-node='{parent}']", "class").endswith("open")
    # a node mark shows in the picture
    page.fill("#compare-marks .mark-tag", "rings")
    page.press("#compare-marks .mark-tag", "Enter")
    page.wait_for_selector(f"#tree-box g.node.marked[data-node='{parent}']")
    assert "rings" in page.text_content(f"#tree-box g.node[data-node='{parent}']")


def test_stepping_up_from_a_cluster_marks_its_parent_in_the_tree(page):
    page.click("#clusters tbody tr[data-cluster='0']")
    page.wait_for_selector("#step-up")
    page.click("#step-up")
    page.wait_for_selector("#tree-box g.node.open")
    assert page.text_content("#panel-title").startswith("Tree node")


# ------------------------------------------------------------------ marks
def test_marked_galaxies_are_drawn_on_the_map_and_can_be_filtered(page, run_dir, tmp_path):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    page.evaluate("window.raregal.app.object.open(5)")
    page.wait_for_selector("#object-marks .mark-tag")
    page.fill("#object-marks .mark-tag", "=ring")
    page.fill("#object-marks .mark-note", "faint outer ring")
    page.click("#object-marks button[type='submit']")
    page.wait_for_selector("body[data-marks='1']")
    page.keyboard.press("Escape")
    drawn = page.evaluate("window.raregal.map.marks.map(m => window.raregal.map.R[m.idx])")
    assert drawn == [5]
    page.click("#open-marks")
    page.wait_for_selector("#marks-filter input[data-tag='=ring']")
    page.uncheck("#marks-filter input[data-tag='=ring']")
    assert page.evaluate("window.raregal.map.marks.length") == 0
    page.check("#marks-filter input[data-tag='=ring']")
    assert page.evaluate("window.raregal.map.marks.length") == 1
    with page.expect_download() as info:
        page.click("#export-marks")
    target = tmp_path / "marks.csv"
    info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0])[:6] == ["id_str", "ra", "dec", "cluster", "letter", "probability"]
    assert rows[0]["id_str"] == galaxies.loc[5, "id_str"]
    assert rows[0]["tag"] == "'=ring", "a spreadsheet shows it as text, never as a formula"
    assert rows[0]["note"] == "faint outer ring"


# ------------------------------------------------------------------ keyboard and help
def test_the_cluster_list_and_the_map_work_from_the_keyboard(page):
    page.focus("#clusters tbody tr[data-cluster='0']")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.cluster") == "1"
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('panel-title').textContent === 'Cluster B'")
    page.focus("#map")
    view = page.evaluate("({...window.raregal.map.view})")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("+")
    page.wait_for_timeout(100)
    after = page.evaluate("({...window.raregal.map.view})")
    assert after["cx"] > view["cx"] and after["scale"] > view["scale"]
    page.keyboard.press("0")
    row = page.evaluate("""() => { const m = window.raregal.map;
      const i = m.nearest(m.width / 2, m.height / 2, 4000); m.view.cx = m.X[i]; m.view.cy = m.Y[i];
      m.draw(); return m.R[m.nearest(m.width / 2, m.height / 2, 30)]; }""")
    page.keyboard.press("Enter")
    page.wait_for_selector("#object-view:not([hidden])")
    assert page.evaluate("window.raregal.app.object.row") == row
    page.keyboard.press("Escape")
    page.wait_for_function("document.activeElement.id === 'map'")


def test_every_term_has_help_text(page):
    glossary = page.evaluate("window.raregal.glossary")
    heads = page.eval_on_selector_all(
        "#clusters-head .term", "e => e.map(t => [t.textContent, t.title])"
    )
    assert {name for name, _ in heads} >= {"persistence", "mean p", "size", "cluster"}
    assert all(title == glossary[name] and len(title) > 20 for name, title in heads)
    page.click("#clusters tbody tr[data-cluster='0']")
    page.click("#step-up")
    page.wait_for_selector("#panel-sub .term[data-term='λ']")
    assert page.get_attribute("#panel-sub .term[data-term='λ']", "title") == glossary["λ"]
    page.focus("#panel-sub .term[data-term='λ']")
    page.wait_for_selector("#term-tip:not([hidden])")
    assert page.text_content("#term-tip") == glossary["λ"]
    page.keyboard.press("?")
    page.wait_for_selector("#help:not([hidden])")
    help_text = page.text_content("#help-terms")
    for name in ("mean p", "persistence", "λ"):
        assert name in help_text and glossary[name] in help_text
    assert "Enter" in page.text_content("#help-keys")


def test_a_run_beyond_max_points_draws_density_tiles(browser, tmp_path):
    from raregal.bench.explore import synthetic_run
    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    run = synthetic_run(tmp_path / "run", 40_000, n_clusters=6, noise_fraction=0.8, seed=5)
    with BackgroundServer(create_app(run, build_index=False, max_points=10_000)) as server:
        page = browser.new_page(viewport={"width": 900, "height": 600})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url)
        page.wait_for_selector("body[data-loaded='1']")
        assert "density tiles" in page.text_content("#run-info")
        page.wait_for_function("window.raregal.map.tileCache.size > 0")
        page.wait_for_timeout(300)
        assert page.evaluate(GREY_LEVELS) >= 5, "the tiles shade the main population"
        # a selection is counted on the server, over every galaxy, not only those sent as points
        page.click("#mode-box")
        page.mouse.move(200, 150)
        page.mouse.down()
        page.mouse.move(500, 400, steps=5)
        page.mouse.up()
        page.wait_for_selector("#selection-bar:not([hidden])")
        polygon = page.evaluate("window.raregal.map.polygon")
        from raregal.explore.data import ExploreRun

        expected = len(ExploreRun(run).select_polygon(np.array(polygon)))
        page.wait_for_function(
            f"document.getElementById('selection-count').textContent.startsWith('{expected:,}')"
        )
        page.close()
    assert not errors, errors


def test_a_ranked_run_lists_its_rarest_looking_clusters_first(
    browser, tmp_path, make_run, open_page
):
    run = make_run(tmp_path)
    clusters = pd.read_parquet(run / "clusters.parquet")
    clusters["interest_rank"] = np.arange(len(clusters), 0, -1)  # the smallest cluster ranks first
    clusters["interest"] = 1.0 / clusters["interest_rank"]
    clusters["seed_stability"] = 0.8
    clusters.to_parquet(run / "clusters.parquet")
    page, server, errors = open_page(browser, run)
    try:
        order = page.eval_on_selector_all(
            "#clusters tbody tr", "e => e.map(r => Number(r.dataset.cluster))"
        )
        assert order == list(clusters.sort_values("interest_rank")["cluster"])
        assert "interest" in page.text_content("#clusters-head")
        page.click(f"#clusters tbody tr[data-cluster='{order[0]}']")
        page.wait_for_selector("#panel-sub .term[data-term='seed stability']")
        assert "0.80" in page.text_content("#panel-sub")
    finally:
        page.context.close()
        server.stop()
    assert not errors, errors
