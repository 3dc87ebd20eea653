"""Run folders for the explorer's tests: real hdbscan leaf clusters of seeded blobs, real cutouts.

Cutouts are rendered by raregal's own survey simulator (``raregal.simulate``: Sérsic discs, arms,
bars, field stars, PSF and sky noise) and written as PNG, JPEG and FITS in turn, so that every
image path of the explorer meets a real file of each format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runfolders import clustered_galaxies, write_cutouts, write_representations, write_run

pytest.importorskip("fastapi")
pytest.importorskip("hnswlib")

IMAGE_FORMATS = ("png", "jpg", "fits")
SCREEN_OF_ROW = """(row) => {
  const m = window.raregal.map, i = m.rowToIdx[row];
  const r = document.getElementById('map').getBoundingClientRect();
  const [x, y] = m.toScreen(m.X[i], m.Y[i]);
  return [x + r.left, y + r.top];
}"""
"""Page coordinates of the galaxy at a row of galaxies.parquet (the page sorts its points)."""


def build_run(
    root: Path,
    seed: int = 0,
    n_images: int = 24,
    descriptions: bool = False,
    anomaly: bool = False,
    simulated: bool = False,
) -> Path:
    """A run folder made by real computation: blobs -> hdbscan leaf clusters -> tables.

    Three pairs of 5-D blobs (so that the condensed tree joins each pair before the root), a far
    blob (an island that the map pulls in), uniform noise, 16-D representations that are a seeded
    linear map of the 5-D positions, vote fractions and simulated cutouts in ``root/images``.

    Parameters
    ----------
    descriptions : bool
        Give clusters.parquet a ``description`` column (as the discovery stage does).
    anomaly : bool
        Give galaxies.parquet an ``anomaly_score`` column.
    simulated : bool
        Record in run.json that the galaxies come from the simulated survey.
    """

    rng = np.random.default_rng(seed)
    pair_centres = np.array([[0, 0, 0, 0, 0], [12, 0, 0, 0, 0], [0, 12, 0, 0, 0]], float)
    centres = np.concatenate([pair_centres, pair_centres + np.array([2.2, 2.2, 0, 0, 0])])
    centres = np.concatenate([centres, [[60, 60, 0, 0, 0]]])
    sizes = [70, 55, 45, 40, 35, 30, 25]
    blobs = [c + rng.normal(0, 0.45, (s, 5)) for c, s in zip(centres, sizes, strict=True)]
    noise = rng.uniform(-3, 15, (40, 5))
    umap = np.concatenate([*blobs, noise])
    n = len(umap)
    ids_str = [f"gal{i:04d}" for i in range(n)]
    sources = write_cutouts(root / "images", n_images, seed=seed, formats=IMAGE_FORMATS)
    result, galaxies = clustered_galaxies(
        umap,
        ids_str,
        15,
        ra=rng.uniform(0, 360, n),
        dec=rng.uniform(-30, 60, n),
        file_loc=[str(sources[i % len(sources)]) for i in range(n)],
    )
    if anomaly:
        galaxies["anomaly_score"] = np.linalg.norm(umap - umap.mean(axis=0), axis=1)
    clusters = result.clusters
    if descriptions:
        clusters["description"] = [
            f"class {letter}: round rings with a faint outer arc" for letter in clusters["letter"]
        ]
    rep_path = write_representations(root, ids_str, umap, rng)
    inputs = {"representations": {"path": str(rep_path)}}
    if simulated:
        inputs["catalog"] = {"path": str(root / "catalog.parquet"), "simulated": True}
    return write_run(root / "run", galaxies, clusters, result.condensed_tree, {"inputs": inputs})


@pytest.fixture(scope="session")
def make_run():
    """``build_run``, for tests that need a run folder of their own."""
    return build_run


def serve(run_dir: Path):
    """A background server of the explorer on a free loopback port (stop it when done)."""
    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    return BackgroundServer(create_app(run_dir, build_index=False)).start()


@pytest.fixture(scope="session")
def screen_of_row() -> str:
    return SCREEN_OF_ROW


@pytest.fixture(scope="session")
def open_page():
    """``open_page(browser, run_dir)``: a served page that waits until it is loaded.

    Returns (page, server, errors); the caller closes ``page.context`` and stops the server, and
    asserts that ``errors`` (page errors and console errors) stayed empty.
    """

    def opener(browser, run_dir: Path, width: int = 1200, height: int = 800):
        server = serve(run_dir)
        context = browser.new_context(viewport={"width": width, "height": height},
                                      accept_downloads=True)  # fmt: skip
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url)
        page.wait_for_selector("body[data-loaded='1']", timeout=20000)
        return page, server, errors

    return opener
