"""The discovery loop in the explorer page, in real headless Chromium (Debian's chromium)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runfolders import build_ranked_discovery_run

pytestmark = pytest.mark.browser


@pytest.fixture
def run_dir(tmp_path, gz_examples) -> Path:
    return build_ranked_discovery_run(tmp_path, gz_examples)


@pytest.fixture
def page(browser, run_dir):
    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    server = BackgroundServer(create_app(run_dir, build_index=False)).start()
    context = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_selector("body[data-hover='1']", timeout=15000)
    yield pg
    context.close()
    server.stop()
    assert not errors, errors


def truth(run_dir, kind):
    reps = pd.read_parquet(run_dir / "representations.parquet", columns=["id_str", "true_class"])
    return reps.loc[reps["true_class"] == kind, "id_str"].tolist()


def test_the_cluster_list_is_ranked_described_and_folds_the_main_population(page, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet").sort_values("interest_rank")
    distinct = clusters[~clusters["main_population"]]
    rows = page.eval_on_selector_all("#clusters tbody tr[data-cluster]:not([hidden])",
                                     "e => e.map(r => Number(r.dataset.cluster))")  # fmt: skip
    assert rows == distinct["cluster"].tolist()
    first = page.locator(f"#clusters tr[data-cluster='{distinct['cluster'].iloc[0]}']")
    assert distinct["description"].iloc[0][:20] in first.text_content()  # shortened in the list
    page.wait_for_function("document.querySelector('#clusters .central img').naturalWidth > 0")
    assert first.locator(".central img").count() == 4
    page.click("#clusters tr.main-toggle")
    shown = page.eval_on_selector_all("#clusters tbody tr[data-cluster]:not([hidden])",
                                      "e => e.length")  # fmt: skip
    assert shown == len(clusters)


def test_the_queue_shows_galaxies_on_and_off_the_map(page, run_dir):
    page.click("#open-queue")
    page.wait_for_selector("#queue-grid .ditem")
    assert page.locator("#queue-grid .ditem").count() == 48
    page.click("#queue-more")
    page.wait_for_function("document.querySelectorAll('#queue-grid .ditem').length === 96")
    candidates = pd.read_parquet(run_dir / "candidates.parquet")
    ids = page.eval_on_selector_all("#queue-grid .ditem", "e => e.map(d => d.dataset.id)")
    assert ids == candidates["id_str"][:96].tolist()
    removed = candidates["id_str"][:96][~candidates["selected"][:96]].tolist()
    if removed:  # a galaxy the selection removed: shown, flagged, its thumbnail served by id
        box = page.locator(f"#queue-grid .ditem[data-id='{removed[0]}']")
        assert box.locator(".off").text_content() == "removed"
        page.wait_for_function(
            f"document.querySelector(\"#queue-grid .ditem[data-id='{removed[0]}'] img\")"
            ".naturalWidth > 0"
        )
    on_map = candidates.loc[candidates["selected"], "id_str"].iloc[0]
    page.click(f"#queue-grid .ditem[data-id='{on_map}']")  # opens the object view
    page.wait_for_function(f"document.getElementById('object-title').textContent === '{on_map}'")


def test_find_more_like_my_marks_with_two_rounds_of_answers(page, run_dir):
    merger = truth(run_dir, "merger")
    for target in merger[:3]:
        page.evaluate("""(t) => fetch('/api/marks', {method: 'POST', headers: {'Content-Type':
            'application/json'}, body: JSON.stringify({target_kind: 'galaxy', target: t,
            tag: 'interesting'})})""", target)  # fmt: skip
    page.click("#open-find")
    page.wait_for_selector("#find-start")
    assert page.input_value("#find-tag") == "interesting"
    page.click("#find-start")
    at_round = "n => document.getElementById('discover-sub').textContent.startsWith(`round ${n} `)"
    for round_ in (1, 2):
        page.wait_for_function(at_round, arg=round_)
        ask = page.eval_on_selector_all("#find-ask .ditem", "e => e.map(d => d.dataset.id)")
        assert len(ask) == 20
        for galaxy in ask:
            answer = "yes" if galaxy in merger else "no"
            page.click(f"#find-ask .ditem[data-id='{galaxy}'] button.{answer}")
        assert page.locator("#find-ask .ditem.yes, #find-ask .ditem.no").count() == 20
        page.click("#find-submit")
    page.wait_for_function(at_round, arg=3)
    rounds = pd.read_parquet(run_dir / "rounds.parquet")
    assert rounds["round"].tolist() == [0] * 3 + [1] * 20 + [2] * 20
    assert (rounds["answer"] == "yes").tolist() == rounds["id_str"].isin(merger).tolist()
    top = page.eval_on_selector_all("#find-top .ditem", "e => e.map(d => d.dataset.id)")
    assert sum(t in merger for t in top[: len(merger)]) >= 0.9 * len(merger)
    with page.expect_download() as download:
        page.click("text=rounds (VOTable)")
    from astropy.table import Table

    table = Table.read(download.value.path(), format="votable")
    assert len(table) == 43 and str(table["ra"].unit) == "deg"
