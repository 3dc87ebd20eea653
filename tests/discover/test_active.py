"""Search from examples over a run folder: rounds saved, resumed, audited and exported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raregal.discover.active import FindSession, find, read_rounds
from raregal.errors import InputError
from raregal.io.runfolder import TABLES


def members(run_dir, kind):
    reps = pd.read_parquet(run_dir / "representations.parquet", columns=["id_str", "true_class"])
    return reps.loc[reps["true_class"] == kind, "id_str"].tolist()


def simulated_round(session, kind):
    shown = session.suggest()
    truth = set(members(session.run_path, kind))
    session.answer({i: i in truth for i in shown["id_str"]}, shown)
    return shown


def recall(found, truth):
    return found.head(len(truth))["id_str"].isin(truth).mean()


def test_a_session_learns_from_rounds_and_is_resumed(discovery_run):
    ring = members(discovery_run, "ring")
    session = FindSession(discovery_run, "rings", round_size=10)
    session.start(positive=ring[:3], negative=members(discovery_run, "merger")[:1])
    before = recall(session.found(), ring)
    for _ in range(2):
        shown = simulated_round(session, "ring")
        assert len(shown) == 10 and set(shown["reason"]) == {"top", "uncertain"}
    rounds = read_rounds(discovery_run)
    TABLES["rounds"].check(rounds, "rounds.parquet")
    assert rounds["round"].tolist() == [0] * 4 + [1] * 10 + [2] * 10
    assert rounds.loc[rounds["round"] == 0, "reason"].eq("example").all()
    assert rounds.loc[rounds["round"] > 0, "score"].notna().all()

    resumed = FindSession(discovery_run, "rings", round_size=10)
    assert resumed.n_rounds == 3
    np.testing.assert_array_equal(resumed.scores(), session.scores())
    found = resumed.found()
    assert recall(found, ring) >= max(before, 0.9)
    yes = rounds.loc[rounds["answer"] == "yes", "id_str"]
    no = rounds.loc[rounds["answer"] == "no", "id_str"]
    assert set(found.head(len(yes))["id_str"]) == set(yes)  # answers keep their place
    assert set(found.tail(len(no))["id_str"]) == set(no)
    # galaxies the selection removed are ranked too, with no cluster
    removed = found[found["cluster"] == -2]
    assert len(removed) == 158 and removed["letter"].eq("").all()
    assert set(ring) - set(pd.read_parquet(discovery_run / "galaxies.parquet")["id_str"]) <= set(
        found.head(len(ring) + 5)["id_str"])


def test_sessions_do_not_mix_and_bad_answers_are_refused(discovery_run):
    ring, merger = members(discovery_run, "ring"), members(discovery_run, "merger")
    FindSession(discovery_run, "a").start(ring[:2])
    other = FindSession(discovery_run, "b")
    other.start(merger[:2])
    assert other.rounds()["id_str"].tolist() == merger[:2]
    with pytest.raises(InputError, match="answer must be yes or no; got 'maybe'"):
        other.answer({ring[0]: "maybe"})
    with pytest.raises(InputError, match=r"1 answered id\(s\) not among the 788 encoded"):
        other.answer({"nope": "yes"})
    with pytest.raises(InputError, match="both positive and negative"):
        other.start(ring[:2], ring[1:3])
    with pytest.raises(InputError, match="has no examples yet"):
        FindSession(discovery_run, "c").answer({ring[0]: True})


def test_find_without_a_session_saves_nothing_and_writes_a_votable(discovery_run, tmp_path):
    from astropy.table import Table

    merger = members(discovery_run, "merger")
    out = tmp_path / "found.vot"
    found = find(discovery_run, positive=merger[:3], out=out)
    assert not (discovery_run / "rounds.parquet").exists()
    assert recall(found, merger) >= 0.9
    table = Table.read(out, format="votable")
    assert table.colnames[:6] == ["id_str", "ra", "dec", "cluster", "letter", "probability"]
    assert {"score", "rank", "round", "answer"} <= set(table.colnames)
    assert str(table["ra"].unit) == "deg" and table["ra"].meta.get("ucd") == "pos.eq.ra;meta.main"
    assert len(table) == 788 and table["round"].mask.sum() == 785  # only the 3 examples answered
    assert list(table["id_str"][:3]) == list(found["id_str"][:3])


def test_the_command_line_loop_of_ask_and_answers(discovery_run, tmp_path):
    ring = members(discovery_run, "ring")
    ask = tmp_path / "ask.csv"
    find(discovery_run, positive=ring[:3], session="loop", ask=ask, round_size=6)
    asked = pd.read_csv(ask)
    assert len(asked) == 6 and asked["answer"].isna().all()
    asked["answer"] = np.where(asked["id_str"].isin(ring), "yes", "no")
    asked.to_csv(ask, index=False)
    find(discovery_run, session="loop", answers=ask, out=tmp_path / "found.csv")
    rounds = read_rounds(discovery_run)
    assert rounds["round"].tolist() == [0] * 3 + [1] * 6
    assert rounds.loc[rounds["round"] == 1, "reason"].isin(["top", "uncertain"]).all()
    with pytest.raises(InputError, match="need a --session"):
        find(discovery_run, positive=ring[:3], ask=ask)


def test_selected_only_ranks_the_selected_galaxies(discovery_run):
    galaxies = pd.read_parquet(discovery_run / "galaxies.parquet")
    merger = members(discovery_run, "merger")
    found = find(discovery_run, positive=merger[:3], selected_only=True)
    assert sorted(found["id_str"]) == sorted(galaxies["id_str"])
