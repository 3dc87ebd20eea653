"""The explorer under hostile or unlucky requests: 4xx with a reason, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from readonly import python_command, run_with_read_only
from runfolders import build_explore_run

pytest.importorskip("fastapi")
pytest.importorskip("hnswlib")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, gz_examples) -> Path:
    return build_explore_run(tmp_path_factory.mktemp("limits"), gz_examples)


@pytest.fixture
def client(run_dir):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run_dir, build_index=False)) as c:
        yield c


def test_there_is_no_openapi_schema_rather_than_a_broken_one(client):
    """Issue 16, case 10: GET /openapi.json answered 500."""
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


def test_a_body_larger_than_the_limit_is_refused_unread(client):
    """Issue 16, case 12: a 40 MB polygon of 2M vertices took 73 s of CPU."""
    from raregal.explore.server import MAX_BODY_BYTES

    polygon = [[0.1 * i, 0.2 * i] for i in range(MAX_BODY_BYTES // 8)]
    big = client.post("/api/select", json={"polygon": polygon})
    assert big.status_code == 413 and "larger than" in big.json()["detail"]

    def chunks():  # no Content-Length: the body arrives in pieces
        yield b'{"polygon": ['
        for _ in range(MAX_BODY_BYTES // 1000 + 2):
            yield b"[0.5, 0.5]," * 100
        yield b"[0, 0]]}"

    streamed = client.post("/api/select", content=chunks(),
                           headers={"content-type": "application/json"})  # fmt: skip
    assert streamed.status_code == 413


def test_a_polygon_with_too_many_vertices_is_refused(client):
    from raregal.explore.server import MAX_POLYGON_VERTICES

    n = MAX_POLYGON_VERTICES + 1
    polygon = [[i % 7, i % 5] for i in range(n)]
    r = client.post("/api/select", json={"polygon": polygon})
    assert r.status_code == 400
    assert f"'polygon' has {n} vertices; at most {MAX_POLYGON_VERTICES}" in r.json()["detail"]
    r = client.post("/api/select", json={"polygon": [[0, 0], [1, "x"], [1, 1]]})
    assert r.status_code == 400
    ok = client.post("/api/select", json={"polygon": [[0, 0], [5, 0], [5, 5]]})
    assert ok.status_code == 200


@pytest.mark.parametrize("tag", [None, {"a": 1}, ["x"], 3])
def test_a_mark_that_is_not_text_is_a_422(client, tag):
    """Issue 16, case 10: a null or object tag answered 500 (or was saved as 'None')."""
    r = client.post("/api/marks", json={"target_kind": "galaxy", "target": "gal0001",
                                        "tag": tag})  # fmt: skip
    assert r.status_code == 422 and "'tag' must be a string" in r.json()["detail"]
    assert client.get("/api/marks").json() == []


def test_marks_on_a_read_only_run_are_a_403_naming_the_folder(run_dir):
    """Issue 16, case 10: a mark posted to a read-only run answered 500."""
    code = """
import json, sys
from fastapi.testclient import TestClient
from raregal.explore.server import create_app
with TestClient(create_app(sys.argv[1], build_index=False)) as c:
    r = c.post("/api/marks", json={"target_kind": "galaxy", "target": "gal0001", "tag": "ring"})
    summary = c.get("/api/summary").status_code
    print(json.dumps({"status": r.status_code, "detail": r.json()["detail"], "summary": summary}))
"""
    done = run_with_read_only(run_dir, python_command("-c", code, str(run_dir)))
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["summary"] == 200  # the run is browsed as usual
    assert answer["status"] == 403
    assert f"the run folder {run_dir} cannot be written" in answer["detail"]
