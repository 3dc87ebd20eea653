"""The explorer page in real headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_run) -> Path:
    return make_run(tmp_path_factory.mktemp("explore_browser"), seed=1)


@pytest.fixture
def page(browser, run_dir, open_page):
    pg, server, errors = open_page(browser, run_dir)
    yield pg
    pg.context.close()
    server.stop()
    assert not errors, errors


def test_page_loads_and_the_map_draws(page, run_dir):
    n = len(pd.read_parquet(run_dir / "galaxies.parquet"))
    assert page.evaluate("window.raregal.map.n") == n
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


def test_hovering_a_galaxy_shows_its_thumbnail_id_and_fractions(page, screen_of_row):
    page.mouse.move(*page.evaluate(screen_of_row, 5))
    page.wait_for_selector("#tooltip:not([hidden])")
    page.wait_for_function("document.getElementById('tooltip-id').textContent === 'gal0005'")
    page.wait_for_function("document.getElementById('tooltip-img').naturalWidth > 0")
    assert page.evaluate("document.getElementById('tooltip-img').naturalWidth") == 96
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
    highlighted = page.evaluate(
        "Array.from(window.raregal.map.highlight, (i) => window.raregal.map.R[i])"
    )
    assert sorted(highlighted) == list(np.flatnonzero(galaxies["cluster"].to_numpy() == 1))
    page.click("#step-up")
    page.wait_for_function(
        "document.getElementById('panel-title').textContent.startsWith('Tree node')"
    )
    assert "B" in page.text_content("#panel-sub")
    page.wait_for_function(f"window.raregal.map.highlight.length > {len(rows)}")


def test_a_lasso_export_holds_the_ids_inside_it(page, run_dir, tmp_path, screen_of_row):
    from matplotlib.path import Path as PolygonPath

    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    box = page.locator("#map").bounding_box()
    centre = page.evaluate(screen_of_row, 0)
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
    assert list(exported[0]) == ["id_str", "ra", "dec", "cluster", "letter", "probability"]
    polygon = [
        page.evaluate("([x, y]) => window.raregal.map.toData(x, y)", [px - box["x"], py - box["y"]])
        for px, py in path
    ]
    from raregal.explore.data import ExploreRun

    shown = ExploreRun(run_dir)  # the page draws display positions (far islands pulled in)
    inside = PolygonPath(np.array(polygon)).contains_points(np.c_[shown.view_x, shown.view_y])
    assert 0 < inside.sum() < len(galaxies)
    assert sorted(r["id_str"] for r in exported) == sorted(galaxies.loc[inside, "id_str"])
    first = galaxies.set_index("id_str").loc[exported[0]["id_str"]]
    assert float(exported[0]["ra"]) == pytest.approx(first["ra"])


def test_a_mark_survives_a_server_restart(browser, run_dir, open_page):
    (run_dir / "marks.parquet").unlink(missing_ok=True)
    for attempt in range(2):
        page, server, errors = open_page(browser, run_dir)
        page.click("#clusters tbody tr[data-cluster='2']")
        page.wait_for_selector("#gallery .thumb")
        if attempt == 0:
            page.click("#panel-marks .mark-buttons button[data-tag='interesting']")
            page.wait_for_function(
                "document.querySelectorAll('#panel-marks .mark-list li').length === 1"
            )
            page.fill("#panel-marks .mark-tag", "ring")
            page.fill("#panel-marks .mark-note", "looks like rings")
            page.press("#panel-marks .mark-tag", "Enter")
            page.wait_for_function(
                "document.querySelectorAll('#panel-marks .mark-list li').length === 2"
            )
        else:
            page.wait_for_selector("#panel-marks .mark-list li")
            texts = page.eval_on_selector_all(
                "#panel-marks .mark-list li .badge", "e => e.map(b => b.textContent)"
            )
            assert sorted(texts) == ["interesting", "ring"]
            badge = page.text_content("#clusters tbody tr[data-cluster='2']")
            assert "interesting" in badge
        page.context.close()
        server.stop()
        assert not errors, errors
    marks = pd.read_parquet(run_dir / "marks.parquet")
    assert set(marks["target"]) == {"C"}
    assert dict(zip(marks["tag"], marks["note"], strict=True)) == {
        "interesting": "",
        "ring": "looks like rings",
    }, "the tag and the note are kept apart"


def test_benchmark_reports_page_usable_time(browser):
    from raregal.bench.explore import benchmark_explore

    result = benchmark_explore(n=5000, repeats=1, browser=browser)
    assert result["n"] == 5000
    assert 0 < result["page_usable_s_median"] <= result["hover_ready_s_median"]
    assert result["redraw_ms"] > 0
    for kind in ("pan", "zoom", "hover"):
        assert result["frames"][kind]["count"] > 0 and result["frames"][kind]["median_ms"] > 0
