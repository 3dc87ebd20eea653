"""The explorer's API on a small real run: hdbscan leaf clusters of seeded blobs, real cutouts."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.constants import NOISE
from raregal.errors import InputError
from raregal.io.tables import write_table


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_run) -> Path:
    return make_run(tmp_path_factory.mktemp("explore"))


@pytest.fixture
def client(run_dir):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run_dir, build_index=False)) as c:
        yield c


def test_summary_and_points_match_the_run(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    summary = client.get("/api/summary").json()
    assert summary["n"] == len(galaxies)
    assert summary["n_noise"] == int((galaxies["cluster"] == NOISE).sum())
    assert [c["letter"] for c in summary["clusters"]][:2] == ["A", "B"]
    assert summary["has_tree"] and summary["has_images"]
    raw = client.get("/api/points")
    assert raw.headers["content-type"] == "application/octet-stream"
    n, size = summary["n"], summary["grid"]["size"]
    assert len(raw.content) == 16 * n + 4 * (size * size + 1)
    x = np.frombuffer(raw.content, np.float32, n, 0)
    y = np.frombuffer(raw.content, np.float32, n, 4 * n)
    labels = np.frombuffer(raw.content, np.int32, n, 8 * n)
    rows = np.frombuffer(raw.content, np.int32, n, 12 * n)
    starts = np.frombuffer(raw.content, np.int32, size * size + 1, 16 * n)
    assert sorted(rows) == list(range(n)), "every galaxy once"
    np.testing.assert_array_equal(labels, galaxies["cluster"].to_numpy()[rows])
    # a galaxy is drawn at its map position plus the shift of its island (0 for the main body)
    shift_x = x - galaxies["map_x"].to_numpy(np.float32)[rows]
    shift_y = y - galaxies["map_y"].to_numpy(np.float32)[rows]
    moved = (np.abs(shift_x) > 1e-4) | (np.abs(shift_y) > 1e-4)
    assert moved.sum() == sum(i["n"] for i in summary["islands"])
    # the points come cell by cell: each cell's points lie inside it
    grid = summary["grid"]
    cell = (np.floor((y - grid["y0"]) / grid["cell"]).clip(0, size - 1) * size
            + np.floor((x - grid["x0"]) / grid["cell"]).clip(0, size - 1))  # fmt: skip
    assert np.all(np.diff(cell) >= 0) and starts[0] == 0 and starts[-1] == n
    for c in np.unique(cell.astype(int))[:20]:
        assert np.all(cell[starts[c] : starts[c + 1]] == c)


def test_galaxy_shows_id_cluster_and_fractions(client, run_dir):
    rep = pd.read_parquet(run_dir.parent / "representations.parquet")
    g = client.get("/api/galaxies/3").json()
    assert g["id_str"] == "gal0003"
    assert g["fractions"]["smooth-or-featured_smooth"] == pytest.approx(
        rep.loc[3, "smooth-or-featured_smooth_fraction"]
    )
    assert client.get("/api/galaxies", params={"id_str": "gal0003"}).json()["row"] == 3
    assert client.get("/api/galaxies/100000").status_code == 404
    assert client.get("/api/galaxies", params={"id_str": "nope"}).status_code == 404


def test_cluster_gallery_and_stepping_up_the_tree(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    tree = pd.read_parquet(run_dir / "condensed_tree.parquet")
    c = client.get("/api/clusters/0", params={"limit": 500}).json()
    assert c["letter"] == "A"
    assert len(c["gallery"]) == c["size"] == int((galaxies["cluster"] == 0).sum())
    assert {g["cluster"] for g in c["gallery"]} == {0}
    probs = galaxies["probability"].to_numpy()[[g["row"] for g in c["gallery"]]]
    assert np.all(np.diff(probs) <= 1e-12), "gallery is most probable first"
    # the leaf's node holds exactly its cluster's galaxies (a leaf has no child clusters)
    leaf = c["tree"]["node"]
    leaf_mask = np.frombuffer(client.get(f"/api/nodes/{leaf}/mask").content, np.uint8)
    np.testing.assert_array_equal(leaf_mask.astype(bool), galaxies["cluster"].to_numpy() == 0)
    # one step up: hdbscan's own child_size of the parent node is the number of its members
    parent = c["tree"]["parent"]
    up = client.get(f"/api/nodes/{parent}", params={"limit": 5}).json()
    expected = (
        int(tree.loc[tree["child"] == parent, "child_size"].iloc[0]) if up["parent"] else None
    )
    if expected is not None:
        assert up["size"] == expected
    assert 0 in up["clusters"] and len(up["clusters"]) >= 2
    mask = np.frombuffer(client.get(f"/api/nodes/{parent}/mask").content, np.uint8).astype(bool)
    assert mask.sum() == up["size"] and np.all(mask[leaf_mask.astype(bool)])
    assert len(up["gallery"]) == 5
    assert client.get("/api/nodes/5").status_code == 404  # a galaxy row, not a node
    assert client.get("/api/clusters/99").status_code == 404


def test_more_like_this_finds_the_true_nearest_neighbours(client, run_dir):
    rep = pd.read_parquet(run_dir.parent / "representations.parquet")
    feats = rep[[f"feat_{j}" for j in range(16)]].to_numpy()
    row, k = 10, 10
    r = client.get(f"/api/neighbours/{row}", params={"k": k}).json()
    assert r["space"] == "representation"
    found = [g["row"] for g in r["neighbours"]]
    assert row not in found and len(found) == k
    exact = np.argsort(((feats - feats[row]) ** 2).sum(axis=1))[1 : k + 1]
    assert len(set(found) & set(exact.tolist())) >= 9
    assert (run_dir / "explore" / "neighbours.hnsw").exists()


def test_neighbour_index_is_cached_and_reused(run_dir, caplog):
    from raregal.explore.data import ExploreRun
    from raregal.explore.neighbours import NeighbourIndex

    NeighbourIndex(ExploreRun(run_dir)).ensure()
    stamp = (run_dir / "explore" / "neighbours.hnsw").stat().st_mtime_ns
    with caplog.at_level("INFO", logger="raregal.explore.neighbours"):
        again = NeighbourIndex(ExploreRun(run_dir)).ensure()
    assert "loaded the neighbour index" in caplog.text
    assert (run_dir / "explore" / "neighbours.hnsw").stat().st_mtime_ns == stamp
    rows, _ = again.query(0, 5)
    assert len(rows) == 5


def test_polygon_selection_and_csv_export(client, run_dir):
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    x0, x1, y0, y1 = -1.5, 3.5, -1.5, 3.5
    box = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    inside = galaxies[galaxies.map_x.between(x0, x1) & galaxies.map_y.between(y0, y1)]
    r = client.post("/api/select", json={"polygon": box}).json()
    assert r["count"] == len(inside) > 0
    csv = client.post("/api/select.csv", json={"polygon": box})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "id_str,ra,dec,cluster,letter,probability"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(inside["id_str"])
    bad = client.post("/api/select", json={"polygon": [[0, 0], [1, 1]]})
    assert bad.status_code == 400 and "at least 3" in bad.json()["detail"]


def test_marks_are_saved_survive_a_restart_and_export(run_dir):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run_dir, build_index=False)) as c:
        a = c.post(
            "/api/marks", json={"target_kind": "cluster", "target": "B", "tag": "interesting"}
        )
        b = c.post(
            "/api/marks",
            json={
                "target_kind": "galaxy",
                "target": "gal0007",
                "tag": "ring?",
                "note": "faint outer ring",
            },
        )
        assert a.status_code == b.status_code == 200
        assert (
            c.post(
                "/api/marks", json={"target_kind": "galaxy", "target": "nope", "tag": "x"}
            ).status_code
            == 404
        )
        assert (
            c.post(
                "/api/marks", json={"target_kind": "planet", "target": "B", "tag": "x"}
            ).status_code
            == 400
        )
    marks = pd.read_parquet(run_dir / "marks.parquet")
    assert set(marks["tag"]) >= {"interesting", "ring?"}
    with TestClient(create_app(run_dir, build_index=False)) as c:
        listed = c.get("/api/marks").json()
        assert {(m["target"], m["tag"]) for m in listed} >= {
            ("B", "interesting"),
            ("gal0007", "ring?"),
        }
        assert c.get("/api/galaxies/7").json()["marks"][0]["note"] == "faint outer ring"
        exported = c.get("/api/marks.csv").text
        assert "faint outer ring" in exported and exported.startswith("id_str,ra,dec,cluster")
        assert c.delete(f"/api/marks/{a.json()['mark_id']}").status_code == 200
        assert c.delete(f"/api/marks/{a.json()['mark_id']}").status_code == 404
    assert "B" not in set(pd.read_parquet(run_dir / "marks.parquet")["target"])


@pytest.mark.parametrize("row", [3, 4, 5])  # PNG, JPEG and FITS cutouts
def test_thumbnails_are_made_once_from_the_real_image(client, run_dir, row):
    from PIL import Image

    r = client.get(f"/thumbs/{row}.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    cached = run_dir / "explore" / "thumbs" / f"{row}.jpg"
    with Image.open(cached) as im:
        assert max(im.size) == 96 and im.mode == "RGB"  # the cutouts are 96 px: never enlarged
        assert np.asarray(im).std() > 5, "a real picture, not a blank"
    stamp = cached.stat().st_mtime_ns
    assert client.get(f"/thumbs/{row}.jpg").content == r.content
    assert cached.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    "path",
    [
        "/thumbs/..%2f..%2fetc%2fpasswd",
        "/thumbs/..%2fgalaxies.parquet",
        "/thumbs/%2e%2e%2frun.json",
        "/static/..%2fserver.py",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/thumbs/4.jpg%00.png",
        "/thumbs/-1.jpg",
        "/thumbs/999999.jpg",
        "/run.json",
        "/galaxies.parquet",
        "/explore/thumbs/4.jpg",
        "/static/",
        "/thumbs/4.png",
    ],
)
def test_only_run_files_are_served(client, path):
    assert client.get(path).status_code == 404


def test_raw_traversal_requests_get_404_from_a_real_server(run_dir):
    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    with BackgroundServer(create_app(run_dir, build_index=False)) as server:
        for target in (
            "/thumbs/../../../../etc/passwd",
            "/thumbs/..%2f..%2fetc%2fpasswd",
            "/static/../../../etc/passwd",
            "/../run.json",
        ):
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                sock.sendall(
                    f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            status = reply.split(b"\r\n", 1)[0]
            assert b" 404 " in status, (target, status)
            assert b"root:" not in reply


def test_foreign_host_header_is_refused(client):
    assert client.get("/api/summary", headers={"Host": "evil.example"}).status_code == 400


def test_bad_run_folders_give_clear_errors(run_dir, tmp_path):
    from raregal.explore.data import ExploreRun

    with pytest.raises(InputError, match=r"not a run folder \(no run\.json\)"):
        ExploreRun(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad, ignore=shutil.ignore_patterns("explore", "marks.parquet"))
    galaxies = pd.read_parquet(bad / "galaxies.parquet")
    galaxies.loc[[1, 2], "map_x"] = np.nan
    write_table(galaxies, bad / "galaxies.parquet")
    with pytest.raises(InputError, match="2 galaxies have no finite map_x") as info:
        ExploreRun(bad)
    assert info.value.column == "map_x" and info.value.count == 2
    write_table(galaxies.iloc[:50].fillna(0), bad / "galaxies.parquet")
    with pytest.raises(InputError, match="does not belong to this galaxies table"):
        ExploreRun(bad)


def test_cli_explore_is_registered_and_warns_off_loopback():
    from typer.testing import CliRunner

    from raregal.cli import app
    from raregal.explore.serve import is_loopback

    result = CliRunner().invoke(app, ["explore", "--help"])
    assert result.exit_code == 0 and "--no-browser" in result.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_cli_explore_on_a_missing_run_is_a_user_error(tmp_path):
    from typer.testing import CliRunner

    from raregal.cli import app

    result = CliRunner().invoke(app, ["explore", str(tmp_path), "--no-browser"])
    assert isinstance(result.exception, InputError)
    assert "not a run folder" in str(result.exception)


def test_cross_site_simple_posts_cannot_write_marks(client, run_dir):
    """A page elsewhere can send text/plain or form posts without a CORS preflight: refuse them."""
    body = '{"target_kind": "cluster", "target": "A", "tag": "spam"}'
    for kind in ("text/plain", "application/x-www-form-urlencoded"):
        r = client.post("/api/marks", content=body, headers={"Content-Type": kind})
        assert r.status_code == 422
    assert "spam" not in client.get("/api/marks.csv").text
    assert "access-control-allow-origin" not in client.get("/api/marks").headers


def test_synthetic_benchmark_run_is_a_consistent_run_folder(tmp_path):
    from raregal.bench.explore import synthetic_run
    from raregal.explore.data import ExploreRun

    run = ExploreRun(synthetic_run(tmp_path / "run", 3000, n_clusters=7, seed=3))
    assert run.n == 3000 and len(run.clusters) == 7
    assert run.tree.members(run.tree.root).all()
    for k in range(7):
        node = run.node_of_cluster(k)
        np.testing.assert_array_equal(run.tree.members(node), run.labels == k)
        assert k in run.node_info(run.tree.parent(node))["clusters"]


def test_a_tree_node_can_be_marked_to_group_split_clusters(client):
    parent = client.get("/api/clusters/0").json()["tree"]["parent"]
    r = client.post(
        "/api/marks", json={"target_kind": "node", "target": str(parent), "tag": "rings"}
    )
    assert r.status_code == 200
    node = client.get(f"/api/nodes/{parent}").json()
    assert [m["tag"] for m in node["marks"]] == ["rings"] and len(node["clusters"]) >= 2
    bad = client.post("/api/marks", json={"target_kind": "node", "target": "5", "tag": "x"})
    assert bad.status_code == 404
    client.delete(f"/api/marks/{r.json()['mark_id']}")
