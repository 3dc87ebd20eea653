"""The explorer's discovery routes on a small run: the queue, thumbnails by id, search sessions."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from runfolders import build_ranked_discovery_run

pytest.importorskip("fastapi")


@pytest.fixture
def run_dir(tmp_path, gz_examples) -> Path:
    return build_ranked_discovery_run(tmp_path, gz_examples)


@pytest.fixture
def client(run_dir):
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run_dir, build_index=False)) as c:
        yield c


def truth(run_dir, kind):
    reps = pd.read_parquet(run_dir / "representations.parquet", columns=["id_str", "true_class"])
    return reps.loc[reps["true_class"] == kind, "id_str"].tolist()


def test_clusters_come_by_interest_with_descriptions_and_central_members(client, run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet").sort_values("interest_rank")
    galaxies = pd.read_parquet(run_dir / "galaxies.parquet")
    listed = sorted(client.get("/api/clusters").json(), key=lambda c: c["interest_rank"])
    assert [c["letter"] for c in listed] == clusters["letter"].tolist()
    for row in listed:
        assert row["description"] == clusters.set_index("cluster").at[row["cluster"], "description"]
        members = galaxies[galaxies["cluster"] == row["cluster"]]
        best = members["probability"].nlargest(4)
        assert len(row["central"]) == 4
        assert set(galaxies.loc[row["central"], "probability"]) <= set(best)
        assert "main_population" in row


def test_the_queue_pages_through_every_encoded_galaxy(client, run_dir):
    first = client.get("/api/queue?limit=10").json()
    reps = pd.read_parquet(run_dir / "representations.parquet", columns=["id_str"])
    assert first["n"] == len(reps) and len(first["items"]) == 10
    assert [g["anomaly_rank"] for g in first["items"]] == list(range(1, 11))
    assert (run_dir / "candidates.parquet").exists()  # written once, then read
    everything = client.get("/api/queue?limit=500").json()["items"]
    everything += client.get("/api/queue?offset=500&limit=500").json()["items"]
    assert sorted(g["id_str"] for g in everything) == sorted(reps["id_str"])
    off_map = [g for g in everything if g["row"] is None]
    assert len(off_map) == 158 and not any(g["selected"] for g in off_map)
    image = client.get(off_map[0]["thumb"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    on_map = next(g for g in everything if g["row"] is not None)
    assert client.get(on_map["thumb"]).content == client.get(f"/thumbs/{on_map['row']}.jpg").content
    assert client.get("/api/thumb?id_str=not-a-galaxy").status_code == 404


def test_find_more_like_marks_in_rounds_then_export(client, run_dir):
    from astropy.table import Table

    merger = truth(run_dir, "merger")
    for target in merger[:3]:
        assert (
            client.post(
                "/api/marks", json={"target_kind": "galaxy", "target": target, "tag": "interesting"}
            ).status_code
            == 200
        )
    state = client.post("/api/find", json={"session": "mergers", "tag": "interesting"}).json()
    assert state["rounds"] == 1 and state["yes"] == 3 and len(state["ask"]) == 20
    for _ in range(2):
        answers = {g["id_str"]: "yes" if g["id_str"] in merger else "no" for g in state["ask"]}
        state = client.post("/api/find/mergers/answers", json={"answers": answers}).json()
    assert state["rounds"] == 3
    top = [g["id_str"] for g in state["top"][: len(merger)]]
    assert sum(i in merger for i in top) >= 0.9 * len(merger)
    assert client.get("/api/find").json() == [
        {"session": "mergers", "rounds": 3, "yes": state["yes"], "no": state["no"]}
    ]
    rounds = Table.read(io.BytesIO(client.get("/api/find/mergers/rounds.vot").content),
                        format="votable")  # fmt: skip
    assert rounds.colnames[:3] == ["id_str", "ra", "dec"]
    assert {"score", "round", "answer"} <= set(rounds.colnames) and len(rounds) == 43
    found = pd.read_csv(io.BytesIO(client.get("/api/find/mergers/found.csv?limit=50").content))
    assert len(found) == 50 and found["rank"].tolist() == list(range(1, 51))
    # a restarted explorer resumes the saved session
    from fastapi.testclient import TestClient

    from raregal.explore.server import create_app

    with TestClient(create_app(run_dir, build_index=False)) as again:
        assert again.get("/api/find/mergers").json()["rounds"] == 3


def test_bad_discovery_requests_are_4xx(client):
    assert client.post("/api/find", json={"session": "x", "tag": "none-marked"}).status_code == 400
    assert client.get("/api/find/unknown").status_code == 400
    assert client.post("/api/find/x/answers", json={"answers": []}).status_code == 400
    assert client.post("/api/find", json={"session": "x", "positive": "gal0001"}).status_code == 400
    assert client.get("/api/find/x/secrets.txt").status_code == 404
