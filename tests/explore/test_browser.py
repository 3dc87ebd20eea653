"""The explorer page in real headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREEN_OF_ROW = """(row) => {
  const s = window.raregal.state, r = document.getElementById('map').getBoundingClientRect();
  const [x, y] = window.raregal.toScreen(s.x[row], s.y[row]);
  return [x + r.left, y + r.top];
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, gz_examples) -> Path:
    from runfolders import build_explore_run as build_run

    return build_run(tmp_path_factory.mktemp("explore_browser"), gz_examples, seed=1)


def serve(run_dir: Path):
    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    return BackgroundServer(create_app(run_dir, build_index=False)).start()


@pytest.fixture
def page(browser, run_dir):
    server = serve(run_dir)
    context = browser.new_context(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_selector("body[data-hover='1']", timeout=15000)
    yield pg
    context.close()
    server.stop()
    assert not errors, errors


def test_page_loads_and_the_map_draws(page, run_dir):
    n = len(pd.read_parquet(run_dir / "galaxies.parquet"))
    assert page.evaluate("window.raregal.state.n") == n
    assert f"{n} galaxies" in page.text_content("#run-info")
    lit = page.evaluate("""() => {
      const c = document.getElementById('map');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 120) lit++;
      return lit;
    }""")
    assert lit > n, "every galaxy lights at least one pixel"
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    assert page.locator("#clusters tbody tr").count() == len(clusters)


def test_hovering_a_galaxy_shows_its_thumbnail_id_and_fractions(page):
    page.mouse.move(*page.evaluate(SCREEN_OF_ROW, 5))
    page.wait_for_selector("#tooltip:not([hidden])")
    page.wait_for_function("document.getElementById('tooltip-id').textContent === 'gal0005'")
    page.wait_for_function("document.getElementById('tooltip-img').naturalWidth > 0")
    assert page.evaluate("document.getElementById('tooltip-img').naturalWidth") == 128
    assert "smooth" in page.text_content("#tooltip-fractions")


def test_clicking_a_cluster_shows_its_gallery_and_steps_up_the_tree(page, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    page.click("#clusters tbody tr[data-cluster='1']")
    page.wait_for_selector("#gallery .thumb img")
    assert page.text_content("#panel-title") == "Cluster B"
    rows = [
        int(r)
        for r in page.eval_on_selector_all("#gallery .thumb", "e => e.map(t => t.dataset.row)")
    ]
    assert len(rows) == int((galaxies["cluster"] == 1).sum())
    assert set(galaxies["cluster"].iloc[rows]) == {1}
    highlighted = page.evaluate("Array.from(window.raregal.state.highlight)")
    np.testing.assert_array_equal(np.array(highlighted, bool), galaxies["cluster"].to_numpy() == 1)
    page.click("#step-up")
    page.wait_for_function(
        "document.getElementById('panel-title').textContent.startsWith('Tree node')"
    )
    assert "B" in page.text_content("#panel-sub")
    page.wait_for_function("window.raregal.state.highlight.reduce((a, b) => a + b, 0) > 0")
    assert page.evaluate("window.raregal.state.highlight.reduce((a, b) => a + b, 0)") > len(rows)


def test_a_lasso_export_holds_the_ids_inside_it(page, run_dir, tmp_path):
    from matplotlib.path import Path as PolygonPath

    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    box = page.locator("#map").bounding_box()
    centre = page.evaluate(SCREEN_OF_ROW, 0)
    path = [
        (centre[0] + dx, centre[1] + dy)
        for dx, dy in [(-90, -70), (80, -90), (110, 40), (10, 100), (-100, 60)]
    ]
    page.keyboard.down("Shift")
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_selector("#selection-bar:not([hidden])")
    with page.expect_download() as info:
        page.click("#export-selection")
    target = tmp_path / "selection.csv"
    info.value.save_as(target)
    exported = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(exported[0]) == ["id_str", "ra", "dec"]
    polygon = [
        page.evaluate("([x, y]) => window.raregal.toData(x, y)", [px - box["x"], py - box["y"]])
        for px, py in path
    ]
    inside = PolygonPath(np.array(polygon)).contains_points(galaxies[["map_x", "map_y"]].to_numpy())
    assert 0 < inside.sum() < len(galaxies)
    assert sorted(r["id_str"] for r in exported) == sorted(galaxies.loc[inside, "id_str"])
    first = galaxies.set_index("id_str").loc[exported[0]["id_str"]]
    assert float(exported[0]["ra"]) == pytest.approx(first["ra"])


def test_a_mark_survives_a_server_restart(browser, run_dir):
    (run_dir / "marks.parquet").unlink(missing_ok=True)
    for attempt in range(2):
        server = serve(run_dir)
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_selector("body[data-hover='1']")
        page.click("#clusters tbody tr[data-cluster='2']")
        page.wait_for_selector("#gallery .thumb")
        if attempt == 0:
            page.click(".mark-buttons button[data-tag='interesting']")
            page.fill("#mark-text", "looks like rings")
            page.press("#mark-text", "Enter")
            page.wait_for_function("document.querySelectorAll('#mark-list li').length === 2")
        else:
            page.wait_for_selector("#mark-list li")
            texts = page.eval_on_selector_all(
                "#mark-list li .badge", "e => e.map(b => b.textContent)"
            )
            assert sorted(texts) == ["interesting", "looks like rings"]
            badge = page.text_content("#clusters tbody tr[data-cluster='2']")
            assert "interesting" in badge
        context.close()
        server.stop()
    marks = pd.read_parquet(run_dir / "marks.parquet")
    assert set(marks["target"]) == {"C"}


def test_benchmark_reports_page_usable_time(browser):
    from raregal.explore.benchmark import benchmark_explore

    result = benchmark_explore(n=5000, repeats=1, browser=browser)
    assert result["n"] == 5000
    assert 0 < result["page_usable_s_median"] <= result["hover_ready_s_median"]
    assert result["redraw_ms"] > 0
