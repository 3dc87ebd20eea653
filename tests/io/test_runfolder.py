"""The run folder record: inputs with checksums, counts, stage timing, caching by parameters."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from raregal.errors import InputError
from raregal.io.runfolder import RunFolder, cluster_letter, file_checksum, params_key
from raregal.io.tables import write_table


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


def embedding(ids=("a", "b")) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"id_str": list(ids), "umap_0": [1.0] * n, "map_x": [0.0] * n,
                         "map_y": [0.0] * n})  # fmt: skip


def test_stage_is_reused_only_with_same_key_and_outputs(tmp_path):
    run = RunFolder(tmp_path)
    with run.stage("reduce", {"n_neighbors": 50}, upstream="u1", outputs=("embedding",)) as stage:
        assert not stage.reused
        run.write_table("embedding", embedding(), key=stage.key)
        stage.note(engine="umap-learn")
    again = RunFolder(tmp_path)  # a new process reads the record back
    with again.stage("reduce", {"n_neighbors": 50}, upstream="u1", outputs=("embedding",)) as s:
        assert s.reused
    first_seconds = RunFolder(tmp_path).record["stages"]["reduce"]["computed_seconds"]
    assert again.record["stages"]["reduce"]["reused"] is True
    assert again.record["stages"]["reduce"]["computed_seconds"] == first_seconds
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u1", outputs=("embedding",)) as s:
        assert not s.reused
        again.write_table("embedding", embedding(), key=s.key)
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert not s.reused
        again.write_table("embedding", embedding(), key=s.key)
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert s.reused
    (tmp_path / "embedding.parquet").unlink()
    with again.stage("reduce", {"n_neighbors": 30}, upstream="u2", outputs=("embedding",)) as s:
        assert not s.reused


def test_a_table_written_by_another_stage_run_is_not_reused(tmp_path):
    """run.json names the key of the last run; a table carrying another key (a run killed
    between two writes left it) is computed again, never reused."""
    run = RunFolder(tmp_path)
    with run.stage("reduce", {"n_neighbors": 50}, outputs=("embedding",)) as stage:
        run.write_table("embedding", embedding(), key=stage.key)
    run.write_table("embedding", embedding(), key="a-key-of-another-run")
    with RunFolder(tmp_path).stage("reduce", {"n_neighbors": 50}, outputs=("embedding",)) as s:
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


def test_tables_round_trip_with_their_key(tmp_path):
    run = RunFolder(tmp_path)
    df = embedding()
    run.write_table("embedding", df, key="k1", metadata={"note": "x"})
    back = run.read_table("embedding")
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs["raregal"]["key"] == "k1" and back.attrs["raregal"]["note"] == "x"
    assert run.table_key("embedding") == "k1"
    assert run.has_table("embedding") and not run.has_table("clusters")


def test_tables_that_break_the_contract_are_refused_on_write_and_read(tmp_path):
    run = RunFolder(tmp_path)
    with pytest.raises(InputError, match=r"the galaxies table lacks 5 required column\(s\)"):
        run.write_table("galaxies", pd.DataFrame({"id_str": ["a"], "cluster": [0]}))
    with pytest.raises(InputError, match=r"column 'kept' of the selection table .* expected bool"):
        run.write_table("selection", pd.DataFrame({"id_str": ["a"], "kept": ["yes"],
                                                   "removed_by": [""]}))  # fmt: skip
    write_table(pd.DataFrame({"id_str": ["a"], "umap_0": [1.0]}), run.table_path("embedding"))
    with pytest.raises(InputError, match=r"embedding\.parquet: the embedding table lacks 2"):
        run.read_table("embedding")
    with pytest.raises(InputError, match=r"the run has no clusters\.parquet"):
        run.read_table("clusters")


def test_a_folder_of_an_older_format_is_refused_with_one_line(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"versions": {"raregal": "0.1.0"}}))
    for opener in (RunFolder.open, RunFolder):
        with pytest.raises(InputError, match=r"format 1 \(written by raregal 0\.1\.0\); this"):
            opener(tmp_path)
    with pytest.raises(InputError, match=r"missing: is not a run folder"):
        RunFolder.open(tmp_path / "missing")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(InputError, match=r"run\.json is not valid JSON"):
        RunFolder.open(tmp_path)


def test_cluster_letters():
    assert [cluster_letter(i) for i in (-1, 0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "", "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- transactions


def selection(ids=("a", "b")) -> pd.DataFrame:
    return pd.DataFrame({"id_str": list(ids), "kept": [True] * len(ids),
                         "removed_by": [""] * len(ids)})  # fmt: skip


def committed(path, name) -> list[str]:
    return RunFolder.open(path).read_table(name)["id_str"].tolist()


def test_tables_written_in_a_transaction_appear_only_at_its_commit(tmp_path):
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(("a", "b")), key="k1")
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(("c", "d", "e")), key="k2")
        assert committed(tmp_path, "embedding") == ["a", "b"]  # readers see the old result
        assert run.read_table("embedding")["id_str"].tolist() == ["c", "d", "e"]  # the writer
    assert committed(tmp_path, "embedding") == ["c", "d", "e"]
    assert json.loads((tmp_path / "run.json").read_text())["tables"] == {"embedding": {"key": "k2"}}


def test_a_failed_transaction_leaves_the_old_result_and_its_work_for_a_re_run(tmp_path):
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(("a", "b")), key="old")
    with pytest.raises(KeyboardInterrupt), run.transaction(whole=True):
        with run.stage("reduce", {"n": 2}, outputs=("embedding",)) as stage:
            run.write_table("embedding", embedding(("c",)), key=stage.key)
        raise KeyboardInterrupt  # interrupted after the UMAP, before clustering
    assert committed(tmp_path, "embedding") == ["a", "b"]
    assert json.loads((tmp_path / "run.json").read_text())["tables"]["embedding"]["key"] == "old"
    again = RunFolder(tmp_path)
    with again.transaction(whole=True), again.stage("reduce", {"n": 2}, None, ("embedding",)) as s:
        assert s.reused  # taken over from the interrupted run, not computed again
    assert committed(tmp_path, "embedding") == ["c"]


def test_a_whole_result_replaces_the_old_results_tables_and_report(tmp_path):
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(), key="k")
        run.write_table("selection", selection(), key="s")
        run.record["search"] = {"old": True}
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("<html>old clusters</html>")
    galaxies = pd.DataFrame({"id_str": ["a"], "cluster": [0], "probability": [1.0],
                             "outlier_score": [0.0], "umap_0": [0.0], "map_x": [0.0],
                             "map_y": [0.0]})  # fmt: skip
    with run.transaction(whole=True):
        run.write_table("galaxies", galaxies, key="g")
    record = json.loads((tmp_path / "run.json").read_text())
    assert set(record["tables"]) == {"galaxies"} and "search" not in record
    assert not (tmp_path / "embedding.parquet").exists()
    assert not (tmp_path / "selection.parquet").exists()
    assert not (tmp_path / "report" / "index.html").exists()  # it showed the old clusters
    with run.transaction():  # a partial change keeps the rest of the result
        run.write_table("selection", selection(), key="s2")
    assert set(json.loads((tmp_path / "run.json").read_text())["tables"]) == {
        "galaxies", "selection"}  # fmt: skip


def test_a_table_replaced_behind_run_json_is_refused_by_readers(tmp_path):
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(), key="k1")
    write_table(embedding(("x", "y")), tmp_path / "embedding.parquet",
                metadata={"key": "k-of-another-run"})  # fmt: skip
    with pytest.raises(
        InputError,
        match=r"embedding\.parquet is not the table that run\.json "
        r"records \(its stage key is k-of-another-run, run\.json records k1\)",
    ):
        RunFolder.open(tmp_path).read_table("embedding")


def test_stray_temporary_files_of_a_killed_writer_are_removed_by_the_next(tmp_path):
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(), key="k1")
    stray = [tmp_path / ".clusters.parquet.1a2b3c.tmp", tmp_path / ".run.json.99.tmp"]
    for path in stray:
        path.write_text("half a table")
    marks_tmp = tmp_path / ".marks.parquet.77.tmp"  # not a run table: the explorer's business
    marks_tmp.write_text("x")
    with RunFolder(tmp_path).transaction():
        pass
    assert not any(p.exists() for p in stray) and marks_tmp.exists()


def test_an_existing_file_is_not_taken_for_a_run_folder(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(InputError, match=r"out: exists and is not a folder"):
        RunFolder(tmp_path / "out")


def test_a_failed_first_run_leaves_no_folder_behind(tmp_path):
    run = RunFolder(tmp_path / "new")
    with pytest.raises(InputError), run.transaction(whole=True):
        run.write_table("selection", selection(), key="s")  # cheap: not worth keeping
        raise InputError("bad input found after the selection")
    assert not (tmp_path / "new").exists()
    kept = RunFolder(tmp_path / "kept")
    with pytest.raises(KeyboardInterrupt), kept.transaction(whole=True):
        kept.write_table("embedding", embedding(), key="e")  # a UMAP: kept for the re-run
        raise KeyboardInterrupt
    assert (tmp_path / "kept").exists() and not (tmp_path / "kept" / "run.json").exists()


def test_an_input_that_the_run_would_replace_is_refused(tmp_path):
    run = RunFolder(tmp_path)
    write_table(embedding(), tmp_path / "galaxies.parquet")
    with pytest.raises(
        InputError,
        match=r"galaxies\.parquet: the representations input is this "
        r"run folder's own galaxies\.parquet, which the run replaces",
    ):
        run.refuse_input(tmp_path / "galaxies.parquet", "representations", ("galaxies",))
    run.refuse_input(tmp_path / "galaxies.parquet", "representations", ("selection",))


def test_the_users_marks_survive_a_new_result(tmp_path):
    """Marks are the user's (TableSpec.result is False): a new result replaces the result
    tables as a whole but keeps marks.parquet, and readers see it."""
    run = RunFolder(tmp_path)
    with run.transaction(whole=True):
        run.write_table("embedding", embedding(), key="k1")
    marks = pd.DataFrame({"mark_id": [1], "target_kind": ["galaxy"], "target": ["a"],
                          "tag": ["ring"], "note": [""], "created": [""]})  # fmt: skip
    write_table(marks, run.table_path("marks"))
    again = RunFolder(tmp_path)
    with again.transaction(whole=True):
        again.write_table("selection", pd.DataFrame({"id_str": ["a"], "kept": [True],
                                                     "removed_by": [""]}), key="k2")  # fmt: skip
    assert not (tmp_path / "embedding.parquet").exists()
    reader = RunFolder.open(tmp_path)
    assert reader.has_table("marks") and reader.read_table("marks")["tag"].tolist() == ["ring"]
