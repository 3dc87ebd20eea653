"""How the command line ends: one line and exit code 2 for every expected failure, a traceback
with a line saying how to report it only for a bug."""

from __future__ import annotations

import shutil
import sys

import pandas as pd
import pytest

from raregal.bench.fault_points import FaultInjector, disk_full
from raregal.cli import main
from raregal.synthetic import make_representations
from readonly import python_command, run_with_read_only

FAST = ["--n-neighbors", "10", "--n-epochs", "20", "--min-samples", "10"]
SMOOTH = "smooth-or-featured_smooth_fraction"


@pytest.fixture(scope="module")
def reps_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "reps.parquet"
    make_representations(400, n_features=16, seed=5, morphology=True,
                         group_sizes=(60, 45)).to_parquet(path)  # fmt: skip
    return path


def run_cli(monkeypatch, capsys, *args) -> tuple[int, list[str]]:
    monkeypatch.setattr(sys, "argv", ["raregal", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err.strip().splitlines()


def assert_one_line(code: int, err: list[str], *parts: str) -> None:
    """Exit code 2; the error is the last line (progress lines may precede it), no traceback."""
    assert code == 2, err
    assert err and err[-1].startswith("error: "), err
    assert not any("Traceback" in line for line in err), err
    for part in parts:
        assert part in err[-1], (part, err[-1])


def test_text_in_a_fraction_column_is_one_line(reps_path, tmp_path, monkeypatch, capsys):
    df = pd.read_parquet(reps_path).astype({SMOOTH: object})
    df.loc[[0, 5, 9], SMOOTH] = "high"
    bad = tmp_path / "bad.parquet"
    df.astype({SMOOTH: str}).to_parquet(bad)
    code, err = run_cli(monkeypatch, capsys, "search", bad, "--out", tmp_path / "r", *FAST)
    assert_one_line(code, err, str(bad), f"'{SMOOTH}' holds 3 value(s) that are not numbers")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-components", "40"], "parameter 'n_components' must be int in [1, 16]"),
        (["--pca-components", "500"], "parameter 'pca_components' must be int in [1, 16]"),
        (["--features", "("], "parameter 'features' must be a list of column names, a valid "
                              "regular expression or None; got '('"),
    ],
)  # fmt: skip
def test_bad_parameters_are_one_line_before_any_work(reps_path, tmp_path, monkeypatch, capsys,
                                                     args, message):  # fmt: skip
    """Issue 16, case 10: --n-components 40 on 16 features failed in scikit-learn after the
    UMAP; a bad regular expression was a re.error traceback."""
    code, err = run_cli(monkeypatch, capsys, "search", reps_path, "--out", tmp_path / "r",
                        *FAST, *args)  # fmt: skip
    assert_one_line(code, err, message)
    assert not (tmp_path / "r").exists()


def test_an_existing_file_as_out_is_one_line(reps_path, tmp_path, monkeypatch, capsys):
    (tmp_path / "taken").write_text("a file")
    code, err = run_cli(monkeypatch, capsys, "search", reps_path, "--out", tmp_path / "taken")
    assert_one_line(code, err, str(tmp_path / "taken"), "exists and is not a folder")


def test_out_in_a_read_only_folder_is_one_line(reps_path, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    code = "import sys; from raregal.cli import main; sys.argv[0] = 'raregal'; main()"
    argv = python_command("-c", code, "search", str(reps_path), "--out", str(locked / "run"), *FAST)
    done = run_with_read_only(locked, argv)
    err = done.stderr.strip().splitlines()
    assert_one_line(done.returncode, err, str(locked / "run"))
    assert "read-only file system" in err[0] or "permission denied" in err[0]
    assert "Traceback" not in done.stderr


def test_a_full_disk_is_one_line_and_keeps_the_old_result(reps_path, tmp_path, monkeypatch,
                                                          capsys):  # fmt: skip
    """Issue 16, case 10: a full disk during a search (after the UMAP) was an ENOSPC traceback."""
    out = tmp_path / "run"
    search = ["raregal", "search", str(reps_path), "--out", str(out), *FAST]
    monkeypatch.setattr(sys, "argv", search)
    main()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    count = shutil.copytree(out, tmp_path / "count")
    monkeypatch.setattr(sys, "argv", [*search, "--min-cluster-size", "25", "--out", str(count)])
    with FaultInjector(count).active() as counted:
        main()
    capsys.readouterr()
    writes = [p.index for p in counted.points if p.writes_table]
    with FaultInjector(out, writes[len(writes) // 2], disk_full).active():
        code, err = run_cli(monkeypatch, capsys, "search", reps_path, "--out", out, *FAST,
                            "--min-cluster-size", "25")  # fmt: skip
    assert_one_line(code, err, "no space left on the device while writing")
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # nothing committed: the old result, byte for byte


def test_a_bug_shows_its_traceback_and_how_to_report_it(reps_path, tmp_path, monkeypatch,
                                                        capsys):  # fmt: skip
    import raregal.search

    def broken(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr(raregal.search, "run_search", broken)
    monkeypatch.setattr(sys, "argv", ["raregal", "search", str(reps_path), "--out",
                                      str(tmp_path / "r")])  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert err.strip().splitlines()[-1].startswith("this is a bug in raregal ")
