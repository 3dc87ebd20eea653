"""The explorer's workbench API: full-resolution cutouts, colour columns, lists, sky links, tree."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.report.palette import cluster_colours, tag_colour
from raregal.report.sky import SIMULATED_NOTE


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_run) -> Path:
    return make_run(tmp_path_factory.mktemp("workbench"), descriptions=True, anomaly=True)


@pytest.fixture
def client(run_dir):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    (run_dir / "marks.parquet").unlink(missing_ok=True)
    with TestClient(create_app(run_dir, build_index=False)) as c:
        yield c


def _row_of_format(galaxies: pd.DataFrame, suffix: str) -> int:
    return int(np.flatnonzero(galaxies["file_loc"].str.endswith(suffix))[0])


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_png_and_jpeg_cutouts_are_sent_at_full_resolution_as_they_are(client, run_dir, suffix):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    row = _row_of_format(galaxies, suffix)
    r = client.get(f"/api/cutouts/{row}")
    assert r.status_code == 200
    assert r.headers["content-type"] == ("image/png" if suffix == ".png" else "image/jpeg")
    assert r.content == Path(galaxies["file_loc"].iloc[row]).read_bytes()


def test_fits_cutouts_get_an_asinh_stretch_at_full_resolution(client, run_dir):
    from astropy.io import fits
    from PIL import Image

    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    row = _row_of_format(galaxies, ".fits")
    bands = fits.getdata(galaxies["file_loc"].iloc[row])
    r = client.get(f"/api/cutouts/{row}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(r.content)))
    assert image.shape == (bands.shape[1], bands.shape[2], 3), "full resolution, RGB"
    # g, r, z stored bluest first: red is the stretched z band, whose brightest pixel is the z peak
    z = bands[2]
    assert np.unravel_index(image[..., 0].argmax(), z.shape) == pytest.approx(
        np.unravel_index(z.argmax(), z.shape), abs=2
    )
    # a smaller softening lifts the faint outskirts relative to the core: more pixels light up
    soft = client.get(f"/api/cutouts/{row}?softening=0.2").content
    soft = np.asarray(Image.open(io.BytesIO(soft)))
    assert (soft > 60).sum() > (image > 60).sum()
    assert client.get(f"/api/cutouts/{row}?softening=-1").status_code == 422


def test_object_view_has_every_question_sky_links_and_scores(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    rep = pd.read_parquet(run_dir.parent / "representations.parquet")
    row = int(np.flatnonzero(galaxies["cluster"] >= 0)[0])
    o = client.get(f"/api/objects/{row}").json()
    assert len(o["questions"]) == 10
    merging = next(q for q in o["questions"] if q["question"] == "merging")
    assert merging["answers"][-1] == {
        "answer": "merger",
        "value": pytest.approx(rep.loc[row, "merging_merger_fraction"]),
    }
    assert o["anomaly_score"] == pytest.approx(galaxies.loc[row, "anomaly_score"])
    assert o["description"].startswith(f"class {o['letter']}")
    ra, dec = galaxies.loc[row, ["ra", "dec"]]
    assert set(o["links"]) == {"Legacy Survey", "ESASky", "SIMBAD"}
    assert f"ra={ra:.6f}&dec={dec:.6f}" in o["links"]["Legacy Survey"]
    assert f"{ra:.6f}" in o["links"]["ESASky"] and f"{ra:.6f}" in o["links"]["SIMBAD"]
    assert o["sky_note"] == "" and o["image"] in ("png", "jpeg", "fits")


def test_simulated_runs_switch_sky_links_off(tmp_path, make_run):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    run = make_run(tmp_path, simulated=True)
    with TestClient(create_app(run, build_index=False)) as c:
        assert c.get("/api/summary").json()["simulated"] is True
        o = c.get("/api/objects/0").json()
        assert o["links"] == {} and o["sky_note"] == SIMULATED_NOTE


def test_the_simulated_flag_is_read_from_the_survey_catalogs_metadata(tmp_path):
    """Runs made before run.json carried the flag: the catalog it names tells (its metadata)."""
    from raregal.io.tables import write_table
    from raregal.report.sky import coordinates_simulated

    catalog = tmp_path / "catalog.parquet"
    write_table(pd.DataFrame({"id_str": ["a"]}), catalog, metadata={"survey": {"seed": 0}})
    plain = tmp_path / "plain.parquet"
    write_table(pd.DataFrame({"id_str": ["a"]}), plain)
    assert coordinates_simulated({"inputs": {"catalog": {"path": str(catalog)}}})
    assert not coordinates_simulated({"inputs": {"catalog": {"path": str(plain)}}})
    assert coordinates_simulated({"inputs": {"catalog": {"path": "x", "simulated": True}}})
    assert not coordinates_simulated({})


def test_summary_carries_the_shared_palette_glossary_and_descriptions(client, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    s = client.get("/api/summary").json()
    assert s["palette"]["clusters"] == cluster_colours(len(clusters))
    assert [c["colour"] for c in s["clusters"]] == cluster_colours(len(clusters))
    for term in ("mean p", "persistence", "λ"):
        assert len(s["glossary"][term]) > 20
    assert s["has_descriptions"] and s["clusters"][0]["description"].startswith("class A")
    assert s["has_anomaly"]


def test_colour_columns_hold_each_galaxys_value_in_row_order(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    rep = pd.read_parquet(run_dir.parent / "representations.parquet")
    names = [c["name"] for c in client.get("/api/columns").json()]
    assert names[:2] == ["cluster", "mark"]
    assert {"probability", "anomaly_score", "ra", "dec", "bar_strong_fraction"} <= set(names)
    for name, expected in (
        ("anomaly_score", galaxies["anomaly_score"]),
        ("dec", galaxies["dec"]),
        ("bar_strong_fraction", rep["bar_strong_fraction"]),
    ):
        values = np.frombuffer(client.get(f"/api/columns/{name}").content, "<f4")
        np.testing.assert_allclose(values, expected.to_numpy(np.float32), rtol=1e-6)
        meta = client.get(f"/api/columns/{name}/meta").json()
        assert meta["kind"] == "continuous" and meta["min"] < meta["max"]
    codes = np.frombuffer(client.get("/api/columns/cluster").content, "<i4")
    np.testing.assert_array_equal(codes, galaxies["cluster"].clip(lower=-1))
    assert client.get("/api/columns/file_loc").status_code == 404


def test_the_mark_column_colours_marked_galaxies_clusters_and_nodes(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    parent = client.get("/api/clusters/0").json()["tree"]["parent"]
    client.post("/api/marks", json={"target_kind": "node", "target": str(parent), "tag": "rings"})
    client.post("/api/marks", json={"target_kind": "cluster", "target": "B", "tag": "interesting"})
    client.post("/api/marks", json={"target_kind": "galaxy", "target": "gal0003", "tag": "ring"})
    meta = client.get("/api/columns/mark/meta").json()
    assert meta["categories"] == ["interesting", "ring", "rings"]
    assert meta["colours"] == [tag_colour(t) for t in meta["categories"]]
    codes = np.frombuffer(client.get("/api/columns/mark").content, "<i4")
    node_members = np.frombuffer(client.get(f"/api/nodes/{parent}/mask").content, np.uint8) > 0
    expected = np.full(len(galaxies), -1)
    expected[node_members] = 2
    expected[galaxies["cluster"].to_numpy() == 1] = 0  # a cluster mark wins over a node mark
    expected[3] = 1  # and a galaxy's own mark over both
    np.testing.assert_array_equal(codes, expected)


def test_one_writer_for_marks_selections_and_found_lists(client, run_dir):
    from astropy.table import Table

    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    lead = ["id_str", "ra", "dec", "cluster", "letter", "probability"]
    formula = {"tag": '=HYPERLINK("x")', "note": "-faint, @ edge"}
    client.post("/api/marks", json={"target_kind": "galaxy", "target": "gal0005", **formula})
    client.post("/api/marks", json={"target_kind": "cluster", "target": "C", "tag": "ring"})
    marks = pd.read_csv(io.StringIO(client.get("/api/marks.csv").text))
    assert list(marks.columns) == [*lead, "tag", "note", "marked"]
    own = marks[marks["marked"] == "galaxy"].iloc[0]
    assert own["id_str"] == "gal0005" and own["ra"] == pytest.approx(galaxies.loc[5, "ra"])
    assert own["tag"] == '\'=HYPERLINK("x")' and own["note"] == "'-faint, @ edge"
    members = marks[marks["marked"] == "cluster C"]
    assert sorted(members["id_str"]) == sorted(galaxies.loc[galaxies["cluster"] == 2, "id_str"])
    assert set(members["letter"]) == {"C"}
    vot = Table.read(io.BytesIO(client.get("/api/marks.vot").content), format="votable")
    assert vot.colnames == [*lead, "tag", "note", "marked"]
    assert str(vot["ra"].unit) == "deg" and len(vot) == len(marks)
    assert "=HYPERLINK" in str(vot[vot["marked"] == "galaxy"]["tag"][0]), "VOTable keeps text"
    assert (vot["dec"] < 0).any(), "negative numbers are numbers, not escaped text"

    box = {"polygon": [[-1.5, -1.5], [3.5, -1.5], [3.5, 3.5], [-1.5, 3.5]]}
    selection = Table.read(io.BytesIO(client.post("/api/select.vot", json=box).content),
                           format="votable")  # fmt: skip
    assert selection.colnames == lead and len(selection) > 0

    found = {"rows": [7, 2], "score": [0.9, 0.4], "round": [1, 2], "answer": ["yes", "no"]}
    table = pd.read_csv(io.StringIO(client.post("/api/found.csv", json=found).text))
    assert list(table.columns) == [*lead, "score", "round", "answer"]
    assert list(table["id_str"]) == ["gal0007", "gal0002"] and list(table["round"]) == [1, 2]
    bad = client.post("/api/found.csv", json={"rows": [1, 2], "score": [0.3]})
    assert bad.status_code == 400 and "2 rows but 1 values of 'score'" in bad.json()["detail"]
    assert client.post("/api/found.csv", json={"rows": [10**6]}).status_code == 400
    assert client.get("/api/marks.xlsx").status_code == 404


def test_node_leaves_give_each_leafs_gallery(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    parent = client.get("/api/clusters/0").json()["tree"]["parent"]
    info = client.get(f"/api/nodes/{parent}/leaves", params={"per_leaf": 5}).json()
    assert [leaf["cluster"] for leaf in info["leaves"]] == info["clusters"]
    for leaf in info["leaves"]:
        assert len(leaf["gallery"]) == min(5, leaf["size"])
        assert {g["cluster"] for g in leaf["gallery"]} == {leaf["cluster"]}
        assert (
            leaf["colour"] == cluster_colours(int(galaxies["cluster"].max()) + 1)[leaf["cluster"]]
        )


def test_tree_picture_lists_every_node_and_shows_node_marks(client, run_dir):
    from xml.etree import ElementTree

    tree = pd.read_parquet(run_dir / "condensed_tree.parquet")
    n_nodes = int((tree["child_size"] > 1).sum()) + 1
    svg = client.get("/api/tree.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.text)
    ns = "{http://www.w3.org/2000/svg}"
    nodes = root.findall(f".//{ns}g")
    assert len(nodes) == n_nodes
    parent = client.get("/api/clusters/0").json()["tree"]["parent"]
    client.post(
        "/api/marks", json={"target_kind": "node", "target": str(parent), "tag": "<b>rings"}
    )
    root = ElementTree.fromstring(client.get("/api/tree.svg").text)  # still well-formed XML
    marked = [g for g in root.iter(f"{ns}g") if "marked" in g.get("class", "")]
    assert [g.get("data-node") for g in marked] == [str(parent)]
    assert "<b>rings" in "".join(marked[0].itertext())
    leaves = {g.get("data-leaves") for g in root.iter(f"{ns}g") if "leaf" in g.get("class", "")}
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    assert leaves == set(clusters["letter"])


def test_a_table_from_the_simulated_survey_is_known_by_its_metadata(tmp_path):
    """The pipeline records ``simulated`` in run.json when this says the catalog is simulated."""
    from raregal.io.tables import write_table
    from raregal.report.sky import table_is_simulated

    catalog = tmp_path / "catalog.parquet"
    write_table(pd.DataFrame({"id_str": ["a"], "file_loc": ["x.png"]}), catalog,
                metadata={"survey": json.dumps({"seed": 0})})  # fmt: skip
    assert table_is_simulated(catalog)
    write_table(pd.DataFrame({"id_str": ["a"], "file_loc": ["x.png"]}), catalog)
    assert not table_is_simulated(catalog)
    assert not table_is_simulated(tmp_path / "absent.parquet")


def test_beyond_max_points_the_main_population_comes_as_density_tiles(tmp_path):
    from fastapi.testclient import TestClient

    from raregal.bench.explore import synthetic_run
    from raregal.explore.server import create_app

    run = synthetic_run(tmp_path / "run", 30_000, n_clusters=6, noise_fraction=0.7, seed=4)
    galaxies = pd.read_parquet(run / "galaxies.parquet")
    n_noise = int((galaxies["cluster"] < 0).sum())
    with TestClient(create_app(run, build_index=False, max_points=12_000)) as c:
        s = c.get("/api/summary").json()
        assert s["n_total"] == 30_000 and s["n"] == 12_000 and s["tiles"]["tile"] == 256
        raw = c.get("/api/points").content
        n, size = s["n"], s["grid"]["size"]
        assert len(raw) == 16 * n + 4 * (size * size + 1)
        rows = np.frombuffer(raw, np.int32, n, 12 * n)
        labels = np.frombuffer(raw, np.int32, n, 8 * n)
        assert len(set(rows.tolist())) == n
        np.testing.assert_array_equal(labels, galaxies["cluster"].to_numpy()[rows])
        assert set(np.flatnonzero(galaxies["cluster"] >= 0)) <= set(rows.tolist()), (
            "every clustered galaxy is sent"
        )
        top = np.frombuffer(c.get("/api/tiles/0/0/0").content, "<u2").reshape(256, 256)
        assert top.sum() == n_noise, "level 0 counts every galaxy of the main population"
        quarters = [
            np.frombuffer(c.get(f"/api/tiles/1/{tx}/{ty}").content, "<u2").astype(int).sum()
            for tx in (0, 1)
            for ty in (0, 1)
        ]
        assert sum(quarters) == n_noise
        # the tile's rows go up in y: the lower half of level 0 is the two ty=0 tiles of level 1
        lower = np.frombuffer(c.get("/api/tiles/1/0/0").content, "<u2").astype(int).sum()
        lower += np.frombuffer(c.get("/api/tiles/1/1/0").content, "<u2").astype(int).sum()
        assert top[:128].sum() == lower
        assert c.get("/api/tiles/1/2/0").status_code == 404
        assert c.get("/api/tiles/99/0/0").status_code == 404
    with TestClient(create_app(run, build_index=False)) as c:
        assert c.get("/api/summary").json()["tiles"] is None
        assert c.get("/api/tiles/0/0/0").status_code == 404


def test_the_points_sent_keep_small_clusters_whole_within_the_budget():
    from raregal.explore.tiles import sample_rows

    rng = np.random.default_rng(0)
    labels = np.concatenate([np.full(5000, 0), np.full(800, 1), np.full(30, 2), np.full(9000, -1)])
    rng.shuffle(labels)
    sent = sample_rows(labels, 2000)
    assert len(sent) == 2000 and len(set(sent.tolist())) == 2000
    counts = {k: int((labels[sent] == k).sum()) for k in (0, 1, 2, -1)}
    assert counts[2] == 30 and counts[1] == 800, "clusters under the cap are sent whole"
    assert counts[0] == 2000 - 30 - 800 and counts[-1] == 0, "only the largest is sampled"
    roomy = sample_rows(labels, 10_000)
    assert (labels[roomy] >= 0).sum() == 5830, "every clustered galaxy when they fit"
    np.testing.assert_array_equal(sample_rows(labels, 10**6), np.arange(len(labels)))
