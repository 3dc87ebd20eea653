"""The run folder record: inputs with checksums, counts, stage timing, caching by parameters."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from raregal.run import RunFolder, file_checksum, params_key


def test_input_checksum_and_counts_are_saved(tmp_path):
    data = tmp_path / "reps.parquet"
    data.write_bytes(b"abc" * 1000)
    run = RunFolder(tmp_path / "run")
    checksum = run.add_input("representations", data)
    run.set_count("selected", 7)
    run.set_count("selection", {"removed_smooth": 3})
    run.save()
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert checksum == "sha256:" + hashlib.sha256(b"abc" * 1000).hexdigest()
    assert record["inputs"]["representations"]["bytes"] == 3000
    assert record["counts"] == {"selected": 7, "selection": {"removed_smooth": 3}}
    assert record["versions"]["numpy"]
    assert file_checksum(data, chunk=7) == checksum


def test_stage_is_reused_only_with_same_key_and_outputs(tmp_path):
    run = RunFolder(tmp_path)
    table = pd.DataFrame({"id_str": ["a"], "umap_0": [1.0]})
    with run.stage("reduce", {"n_neighbors": 50}, upstream="u1", outputs=("embedding",)) as stage:
        assert not stage.reused
        run.write_table("embedding", table)
        stage.note(engine="umap-learn")
    again = RunFolder(tmp_path)  # a new process reads the record back
    with again.stage("reduce", {"n_neighbors": 50}, upstream="u1", outputs=("embedding",)) as s:
        assert s.reused
    first_seconds = RunFolder(tmp_path).record["stages"]["reduce"]["computed_seconds"]
    assert again.record["stages"]["reduce"]["reused"] is True
    assert again.record["stages"]["reduce"]["computed_seconds"] == first_seconds
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u1", outputs=("embedding",)) as s:
        assert not s.reused
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert not s.reused
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert s.reused
    (tmp_path / "embedding.parquet").unlink()
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert not s.reused


def test_failed_stage_is_not_recorded(tmp_path):
    run = RunFolder(tmp_path)
    with pytest.raises(RuntimeError), run.stage("cluster", {"min_samples": 5}, outputs=("x",)):
        raise RuntimeError("interrupted")
    assert "cluster" not in RunFolder(tmp_path).record["stages"]


def test_params_key_is_stable_and_order_free():
    assert params_key({"a": 1, "b": 2}, "u") == params_key({"b": 2, "a": 1}, "u")
    assert params_key({"a": 1}, "u") != params_key({"a": 2}, "u")
    assert params_key({"a": 1}, "u") != params_key({"a": 1}, "v")


def test_tables_round_trip_with_metadata(tmp_path):
    run = RunFolder(tmp_path)
    df = pd.DataFrame({"id_str": ["a", "b"], "cluster": [0, -1]})
    run.write_table("galaxies", df, metadata={"key": "k1"})
    back = run.read_table("galaxies")
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs["raregal"] == {"key": "k1"}
    assert run.has_table("galaxies") and not run.has_table("clusters")
