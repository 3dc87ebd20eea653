"""Search from examples with the user in the loop, saved round by round in the run folder.

A ``FindSession`` ranks every encoded galaxy of a run (``selected_only`` restricts it to the
galaxies the selection kept) by the class-balanced linear classifier of
``raregal.discover.examples``, fitted on the examples and on every answer given so far. Each
round shows the top-ranked unlabelled galaxies and those that teach the model most; the answers
(yes/no) are appended to ``RUN/rounds.parquet`` (one row per answered galaxy: ``session``,
``round``, ``id_str``, ``answer``, ``score`` when shown, ``reason``, ``created``), so that a
session can be resumed, audited and exported (``raregal.discover.catalog``). Round 0 holds the
examples the session started from.

``find`` is what ``raregal find RUN --positive ID ... --out FOUND`` runs.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import validate_discovery
from raregal.constants import ID_COLUMN
from raregal.discover.catalog import write_catalog
from raregal.discover.data import EncodedGalaxies, load_encoded
from raregal.discover.examples import Standardised, fit_linear, next_round, ranking
from raregal.errors import InputError
from raregal.io.runfolder import TABLES, RunFolder, cluster_letter

logger = logging.getLogger(__name__)

ROUND_COLUMNS = tuple(c.name for c in TABLES["rounds"].columns)
ANSWERS = {"yes": True, "no": False, "y": True, "n": False, "true": True, "false": False,
           "1": True, "0": False}  # fmt: skip
_LOCK = threading.Lock()


def parse_answer(value: Any) -> bool:
    """True for yes, False for no (yes/no, y/n, true/false, 1/0, booleans)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text not in ANSWERS:
        raise InputError(f"an answer must be yes or no; got {value!r}", column="answer")
    return ANSWERS[text]


def read_rounds(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """``RUN/rounds.parquet`` (every session), or an empty table of its columns."""
    run = RunFolder.open(run_dir)
    if run.has_table("rounds"):
        return run.read_table("rounds")
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "round" else "float64" if c == "score"
                                      else object) for c in ROUND_COLUMNS})  # fmt: skip


class FindSession:
    """One search from examples over a run folder, resumable from ``RUN/rounds.parquet``.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder.
    session : str, default='default'
        The session's name; its earlier rounds are read back.
    selected_only : bool, default=False
        Rank only the galaxies the selection kept (the examples must be among them).
    save : bool, default=True
        Keep the rounds in ``RUN/rounds.parquet``; False keeps them in memory only.
    encoded : EncodedGalaxies, default=None
        The galaxies to rank, when already read (``load_encoded(run_dir, selected_only)``).
    standardised : Standardised, default=None
        Their standardised form (``Standardised.of(encoded.X)``), when already computed: the
        explorer shares one between its sessions.
    **params
        Discovery parameters (``alpha``, ``unlabelled_weight``, ``round_size``,
        ``uncertain_share``; ``raregal.config.DISCOVERY_PARAMETERS``).

    Examples
    --------
    >>> session = FindSession("runs/demo", "rings")                      # doctest: +SKIP
    >>> session.start(positive=["sim_0000017", "sim_0000342"])           # doctest: +SKIP
    >>> shown = session.suggest()                                         # doctest: +SKIP
    >>> session.answer({"sim_0004711": True, "sim_0000815": False}, shown)  # doctest: +SKIP
    >>> session.found().head()                                            # doctest: +SKIP
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        session: str = "default",
        selected_only: bool = False,
        save: bool = True,
        encoded: EncodedGalaxies | None = None,
        standardised: Standardised | None = None,
        **params: Any,
    ) -> None:
        if not str(session).strip():
            raise InputError("a session needs a non-empty name", column="session")
        self.run_path = Path(run_dir)
        self.session = str(session).strip()
        self.params = validate_discovery(params)
        self.selected_only = selected_only
        self.save = save
        self.encoded = encoded if encoded is not None else load_encoded(run_dir, selected_only)
        self._unsaved = read_rounds(self.run_path).iloc[0:0]
        self._data = standardised
        self._scores: np.ndarray | None = None

    # -- the answers -------------------------------------------------------------------------------
    def rounds(self) -> pd.DataFrame:
        """This session's rows of ``RUN/rounds.parquet``, in the order given."""
        table = read_rounds(self.run_path) if self.save else self._unsaved
        return table[table["session"] == self.session].reset_index(drop=True)

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the positive and negative galaxies (the latest answer of each counts)."""
        rounds = self.rounds().drop_duplicates(ID_COLUMN, keep="last")
        known = rounds[rounds[ID_COLUMN].isin(self.encoded.row_of_id)]
        if len(known) < len(rounds):
            logger.warning("%d answered galaxies of session %r are not in the run; ignored",
                           len(rounds) - len(known), self.session)  # fmt: skip
        rows = self.encoded.rows(known[ID_COLUMN].tolist())
        yes = known["answer"].map(parse_answer).to_numpy(dtype=bool)
        return rows[yes], rows[~yes]

    @property
    def n_rounds(self) -> int:
        """Rounds saved so far (round 0, the examples, included)."""
        rounds = self.rounds()
        return int(rounds["round"].max()) + 1 if len(rounds) else 0

    def _append(self, ids: list[str], answers: list[bool], round_: int, scores: list[float],
                reasons: list[str]) -> pd.DataFrame:  # fmt: skip
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        rows = pd.DataFrame({
            "session": self.session, "round": np.int64(round_), ID_COLUMN: [str(i) for i in ids],
            "answer": ["yes" if a else "no" for a in answers],
            "score": np.asarray(scores, dtype=float), "reason": reasons, "created": now,
        })  # fmt: skip
        with _LOCK:
            table = pd.concat([self._unsaved if not self.save else read_rounds(self.run_path),
                               rows], ignore_index=True)  # fmt: skip
            table["round"] = table["round"].astype("int64")
            if self.save:
                RunFolder(self.run_path).write_table("rounds", table[list(ROUND_COLUMNS)])
            else:
                self._unsaved = table
        self._scores = None
        return rows

    def start(self, positive: Iterable[str], negative: Iterable[str] = ()) -> pd.DataFrame:
        """Save the examples as round 0 (added to it when the session has one); returns them."""
        positive, negative = [str(i) for i in positive], [str(i) for i in negative]
        clash = sorted(set(positive) & set(negative))
        if clash:
            raise InputError(
                f"{len(clash)} id(s) given as both positive and negative (e.g. {clash[0]!r})",
                column="negative", count=len(clash),
            )  # fmt: skip
        self.encoded.rows(positive, what="positive id")
        self.encoded.rows(negative, what="negative id")
        known = set(self.rounds()[ID_COLUMN])
        ids = [i for i in positive + negative if i not in known]
        answers = [i in set(positive) for i in ids]
        if not ids:
            return self.rounds().iloc[0:0]
        return self._append(ids, answers, 0, [np.nan] * len(ids), ["example"] * len(ids))

    def answer(self, answers: Mapping[str, Any], shown: pd.DataFrame | None = None
               ) -> pd.DataFrame:  # fmt: skip
        """Save a round of answers (id -> yes/no); ``shown`` (from ``suggest``) gives the scores
        and reasons. Returns the rows saved."""
        if not answers:
            raise InputError("a round needs at least one answer", column="answer", count=0)
        ids = [str(i) for i in answers]
        self.encoded.rows(ids, what="answered id")
        values = [parse_answer(v) for v in answers.values()]
        if self.n_rounds == 0:
            raise InputError(f"session {self.session!r} has no examples yet: start it first")
        info = shown.set_index(ID_COLUMN) if shown is not None and len(shown) else None
        scores = [float(info.at[i, "score"]) if info is not None and i in info.index else np.nan
                  for i in ids]  # fmt: skip
        reasons = [str(info.at[i, "reason"]) if info is not None and i in info.index else "user"
                   for i in ids]  # fmt: skip
        return self._append(ids, values, self.n_rounds, scores, reasons)

    # -- the model ---------------------------------------------------------------------------------
    def scores(self) -> np.ndarray:
        """The model's score of every encoded galaxy, fitted on every answer so far."""
        if self._scores is None:
            positive, negative = self.labels()
            if len(positive) == 0:
                raise InputError(f"session {self.session!r} has no positive example yet",
                                 column="positive", count=0)  # fmt: skip
            if self._data is None:
                self._data = Standardised.of(self.encoded.X)
            coef = fit_linear(self._data, positive, negative, self.params["alpha"],
                              self.params["unlabelled_weight"])  # fmt: skip
            self._scores = self._data.scores(coef)
        return self._scores

    def suggest(self, size: int | None = None) -> pd.DataFrame:
        """The next round to answer: ``id_str``, ``score``, ``reason`` ('top' or 'uncertain')
        and the catalog columns; nothing is saved until ``answer``."""
        scores = self.scores()
        positive, negative = self.labels()
        labelled = np.zeros(self.encoded.n, dtype=bool)
        labelled[positive] = True
        labelled[negative] = True
        rows, reasons = next_round(scores, labelled, size or self.params["round_size"],
                                   self.params["uncertain_share"])  # fmt: skip
        table = self._catalog(rows)
        table["score"] = scores[rows]
        table["reason"] = reasons
        return table

    def found(self, include_negatives: bool = True, limit: int | None = None) -> pd.DataFrame:
        """Every ranked galaxy (or the first ``limit``), best first: ``id_str``, ``ra``, ``dec``,
        ``cluster``, ``letter``, ``probability``, ``score``, ``rank`` and, for answered
        galaxies, ``round`` and ``answer`` (the examples and yes-answers first, the no-answers
        last)."""
        scores = self.scores()
        positive, negative = self.labels()
        order = ranking(scores, positive, negative)
        if not include_negatives:
            order = order[~np.isin(order, negative)]
        order = order[:limit] if limit is not None else order
        table = self._catalog(order)
        table["score"] = scores[order]
        table["rank"] = np.arange(1, len(order) + 1, dtype=np.int64)
        answered = self.rounds().drop_duplicates(ID_COLUMN, keep="last").set_index(ID_COLUMN)
        table["round"] = table[ID_COLUMN].map(answered["round"]).astype("Int64")
        table["answer"] = table[ID_COLUMN].map(answered["answer"])
        return table

    def answered(self) -> pd.DataFrame:
        """The session's answers as a catalog: ``id_str``, ``ra``, ``dec``, ``cluster``,
        ``letter``, ``probability``, ``score``, ``round``, ``answer``, ``reason``."""
        rounds = self.rounds()
        known = rounds[rounds[ID_COLUMN].isin(self.encoded.row_of_id)].reset_index(drop=True)
        table = self._catalog(self.encoded.rows(known[ID_COLUMN].tolist()))
        for column in ("score", "round", "answer", "reason"):
            table[column] = known[column].to_numpy()
        return table

    def _catalog(self, rows: np.ndarray) -> pd.DataFrame:
        encoded = self.encoded
        table = encoded.catalog.iloc[rows].reset_index(drop=True)
        clusters = encoded.cluster[rows]
        table["cluster"] = clusters
        table["letter"] = [cluster_letter(int(c)) for c in clusters]
        table["probability"] = encoded.probability[rows]
        return table


def find(
    run_dir: str | os.PathLike[str],
    positive: Iterable[str] = (),
    negative: Iterable[str] = (),
    out: str | os.PathLike[str] | None = None,
    session: str | None = None,
    answers: str | os.PathLike[str] | None = None,
    ask: str | os.PathLike[str] | None = None,
    selected_only: bool = False,
    **params: Any,
) -> pd.DataFrame:
    """Rank every encoded galaxy of a run by likeness to the examples (``raregal find``).

    Parameters
    ----------
    run_dir : path-like
        A finished run folder.
    positive, negative : iterable of str
        Ids of galaxies of the class sought, and of galaxies that are not.
    out : path-like, default=None
        FOUND: every ranked galaxy, best first (``FindSession.found``), in the format its name
        says (``.vot`` opens in TOPCAT, ``.csv``, ``.parquet``, ``.fits``).
    session : str, default=None
        Save the examples (and ``answers``) as this session's rounds in ``RUN/rounds.parquet``
        and fit on every answer the session holds; None fits on the given examples alone and
        saves nothing.
    answers : path-like, default=None
        A table (``id_str``, ``answer`` yes/no) saved as the session's next round.
    ask : path-like, default=None
        Write the next round to answer there (``id_str``, ``ra``, ``dec``, ..., ``score``,
        ``reason`` and an empty ``answer`` column to fill and pass back with ``answers``).
    selected_only : bool, default=False
        Rank only the galaxies the selection kept.
    **params
        Discovery parameters.

    Returns
    -------
    DataFrame
        The FOUND table.
    """
    from raregal.io.tables import read_table, require_columns

    positive, negative = list(positive), list(negative)
    if session is None and (answers is not None or ask is not None):
        raise InputError("--answers and --ask need a --session to keep the rounds in",
                         column="session")  # fmt: skip
    finder = FindSession(run_dir, session or "unsaved", selected_only=selected_only,
                         save=session is not None, **params)  # fmt: skip
    if session is None and not positive:
        raise InputError("give at least one --positive id (or a --session that has some)",
                         column="positive", count=0)  # fmt: skip
    if positive or negative:
        finder.start(positive, negative)
    if answers is not None:
        table = read_table(answers)
        require_columns(table, [ID_COLUMN, "answer"], answers)
        given = table.dropna(subset=["answer"])
        given = given[given["answer"].astype(str).str.strip() != ""]
        shown = table if {"score", "reason"} <= set(table.columns) else None
        finder.answer(dict(zip(given[ID_COLUMN].astype(str), given["answer"], strict=True)),
                      shown)  # fmt: skip
    found = finder.found()
    if out is not None:
        write_catalog(found, out, name="raregal_found")
    if ask is not None:
        next_rows = finder.suggest()
        next_rows["answer"] = ""
        write_catalog(next_rows, ask, name="raregal_ask")
    return found

