"""The explorer's side of the discovery loop: the weirdest-first queue and search from marks.

Routes added to the app by ``add_discovery_routes``::

    GET  /api/queue?offset=0&limit=48          the weirdest-first queue (computed once if absent)
    GET  /api/thumb?id_str=...                 a thumbnail by id (galaxies off the map too)
    GET  /api/find                             the saved sessions
    POST /api/find {session, positive, negative, tag}   start (or extend) a session; with
                                               ``tag``, the galaxies marked with it are positives
    GET  /api/find/{session}                   its state: rounds, the next round, the top ranked
    POST /api/find/{session}/answers {answers: {id_str: "yes"|"no"}}   save a round, refit
    GET  /api/find/{session}/rounds.{csv,vot}  the answered galaxies as a catalog
    GET  /api/find/{session}/found.{csv,vot}?limit=1000   the ranked galaxies as a catalog

Galaxies that the selection removed have no map position: they come with ``row`` null, and their
thumbnails are served by id (from the run's representation table's ``file_loc``; only ids of the
run are looked up, so no path from a request reaches the disk).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, ID_COLUMN, NOISE
from raregal.errors import InputError
from raregal.explore.data import ExploreRun
from raregal.explore.marks import MarksTable
from raregal.explore.thumbs import Thumbnails, make_thumbnail
from raregal.io.runfolder import RunFolder, cluster_letter

logger = logging.getLogger(__name__)

QUEUE_PAGE = 48
TOP_SHOWN = 60
MAX_EXPORT = 1_000_000


class Discovery:
    """The queue and the search sessions of one explored run (everything read once, lazily).

    Parameters
    ----------
    run : ExploreRun
    thumbs : Thumbnails
        The map's thumbnails (by row); galaxies off the map get theirs by id.
    """

    def __init__(self, run: ExploreRun, thumbs: Thumbnails) -> None:
        self.run = run
        self.thumbs = thumbs
        self._lock = threading.RLock()
        self._encoded: Any = None
        self._standardised: Any = None
        self._candidates: pd.DataFrame | None = None
        self._sessions: dict[str, Any] = {}

    # -- data --------------------------------------------------------------------------------------
    @property
    def encoded(self) -> Any:
        """Every encoded galaxy of the run (``raregal.discover.data.load_encoded``)."""
        from raregal.discover.data import load_encoded

        with self._lock:
            if self._encoded is None:
                self._encoded = load_encoded(self.run.path)
            return self._encoded

    def items(self, ids: list[str], extra: pd.DataFrame | None = None) -> list[dict[str, Any]]:
        """JSON rows for galaxies by id: ``id_str``, ``row`` (map row or None), ``cluster``,
        ``letter``, ``selected``, ``thumb`` (URL), plus the columns of ``extra`` (row for row)."""
        from urllib.parse import quote

        encoded = self.encoded
        rows = encoded.rows(ids)
        out = []
        for i, (id_str, row) in enumerate(zip(ids, rows, strict=True)):
            cluster = int(encoded.cluster[row])
            item = {
                ID_COLUMN: str(id_str), "row": self.run.row_of_id.get(str(id_str)),
                "cluster": cluster, "letter": cluster_letter(cluster),
                "selected": bool(encoded.selected[row]),
                "thumb": f"/api/thumb?id_str={quote(str(id_str), safe='')}",
            }  # fmt: skip
            if extra is not None:
                for column in extra.columns:
                    item[column] = _json(extra[column].iat[i])
            out.append(item)
        return out

    def thumb_path(self, id_str: str) -> Path | None:
        """The thumbnail of a galaxy by id: the map's cache when it has a row, else one by id."""
        row = self.run.row_of_id.get(id_str)
        if row is not None:
            return self.thumbs.path(row)
        encoded = self.encoded
        at = encoded.row_of_id.get(id_str)
        if at is None or FILE_COLUMN not in encoded.catalog.columns:
            return None
        source = encoded.catalog[FILE_COLUMN].iat[at]
        if not isinstance(source, str) or not source:
            return None
        name = hashlib.sha1(id_str.encode()).hexdigest()[:20]
        target = self.thumbs.folder / "by_id" / f"{name}.jpg"
        if not target.exists():
            try:
                make_thumbnail(source, target, self.thumbs.size)
            except (OSError, ValueError) as exc:
                logger.warning("no thumbnail for %s: cannot read %s (%s)", id_str, source, exc)
                return None
        return target

    # -- the queue ---------------------------------------------------------------------------------
    def candidates(self) -> pd.DataFrame:
        """``RUN/candidates.parquet``, written now (default parameters) when the run has none."""
        from raregal.config import validate_discovery
        from raregal.discover.queue import write_queue

        with self._lock:
            if self._candidates is None:
                run = RunFolder.open(self.run.path)
                if run.has_table("candidates"):
                    self._candidates = run.read_table("candidates")
                else:
                    logger.info("no candidates.parquet: ranking every encoded galaxy once")
                    self._candidates = write_queue(self.run.path, self.encoded, False,
                                                   validate_discovery({}))  # fmt: skip
            return self._candidates

    def queue(self, offset: int, limit: int) -> dict[str, Any]:
        """A page of the queue."""
        candidates = self.candidates()
        page = candidates.iloc[offset : offset + limit]
        extra = page[["anomaly_rank", "anomaly_score"]].reset_index(drop=True)
        return {"n": len(candidates), "offset": offset,
                "items": self.items(page[ID_COLUMN].astype(str).tolist(), extra)}  # fmt: skip

    # -- search from examples ----------------------------------------------------------------------
    def session(self, name: str) -> Any:
        """The search session ``name`` (resumed from ``RUN/rounds.parquet`` when it exists)."""
        from raregal.discover.active import FindSession
        from raregal.discover.examples import Standardised

        with self._lock:
            if name not in self._sessions:
                if self._standardised is None:
                    self._standardised = Standardised.of(self.encoded.X)
                self._sessions[name] = FindSession(
                    self.run.path, name, encoded=self.encoded, standardised=self._standardised
                )
            return self._sessions[name]

    def sessions(self) -> list[dict[str, Any]]:
        """Saved sessions: name, rounds, yes and no answers."""
        from raregal.discover.active import read_rounds

        rounds = read_rounds(self.run.path)
        out = []
        for name, group in rounds.groupby("session", sort=True):
            out.append({"session": str(name), "rounds": int(group["round"].max()) + 1,
                        "yes": int((group["answer"] == "yes").sum()),
                        "no": int((group["answer"] == "no").sum())})  # fmt: skip
        return out

    def start(self, name: str, positive: list[str], negative: list[str]) -> dict[str, Any]:
        with self._lock:
            self.session(name).start(positive, negative)
            return self.state(name)

    def answer(self, name: str, answers: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            session = self.session(name)
            shown = session.suggest()
            session.answer(answers, shown)
            return self.state(name)

    def state(self, name: str) -> dict[str, Any]:
        """The session's rounds so far, the next round to answer and its top-ranked galaxies."""
        with self._lock:
            session = self.session(name)
            if session.n_rounds == 0:
                raise InputError(f"no session {name!r}: start it with examples first")
            positive, negative = session.labels()
            ask = session.suggest()
            top = session.found(include_negatives=False, limit=TOP_SHOWN)
            return {
                "session": name, "rounds": session.n_rounds,
                "yes": len(positive), "no": len(negative),
                "ask": self.items(ask[ID_COLUMN].tolist(),
                                  ask[["score", "reason"]].reset_index(drop=True)),
                "top": self.items(top[ID_COLUMN].tolist(),
                                  top[["score", "rank", "answer"]].reset_index(drop=True)),
            }  # fmt: skip

    def export(self, name: str, what: str, suffix: str, limit: int) -> bytes:
        """The session's answered galaxies (``rounds``) or ranked galaxies (``found``) as CSV or
        VOTable bytes."""
        from raregal.discover.catalog import write_catalog

        with self._lock:
            session = self.session(name)
            if session.n_rounds == 0:
                raise InputError(f"no session {name!r}")
            table = session.answered() if what == "rounds" else session.found(limit=limit)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{what}.{suffix}"
            write_catalog(table, path, name=f"raregal_{what}")
            return path.read_bytes()

    def positives_of_tag(self, marks: MarksTable, tag: str) -> list[str]:
        """Ids of the galaxies marked with ``tag``, and of the members of clusters marked so."""
        table = marks.to_frame()
        table = table[table["tag"] == tag]
        ids = table.loc[table["target_kind"] == "galaxy", "target"].astype(str).tolist()
        letters = set(table.loc[table["target_kind"] == "cluster", "target"].astype(str))
        if letters:
            numbers = self.run.clusters.loc[self.run.clusters["letter"].isin(letters), "cluster"]
            members = np.isin(self.run.labels, numbers.to_numpy()) & (self.run.labels != NOISE)
            ids += self.run.galaxies.loc[members, ID_COLUMN].astype(str).tolist()
        return list(dict.fromkeys(ids))


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def add_discovery_routes(app: Any, discovery: Discovery, marks: MarksTable) -> None:
    """Register the discovery routes (module docstring) on the FastAPI ``app``."""
    from fastapi import Body, HTTPException, Query
    from fastapi.responses import FileResponse, Response

    def session_name(name: Any) -> str:
        text = str(name or "").strip()
        if not text or len(text) > 100:
            raise InputError("a session needs a name of 1 to 100 characters", column="session")
        return text

    def id_list(value: Any, what: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"'{what}' must be a list of id_str", column=what)
        return value

    @app.get("/api/queue")
    def queue(offset: int = Query(0, ge=0), limit: int = Query(QUEUE_PAGE, ge=1, le=500)
              ) -> dict[str, Any]:  # fmt: skip
        return discovery.queue(offset, limit)

    @app.get("/api/thumb")
    def thumb_by_id(id_str: str = Query(..., max_length=500)) -> Response:
        path = discovery.thumb_path(id_str)
        if path is None:
            raise HTTPException(404, "no thumbnail for this galaxy")
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": "max-age=86400"})  # fmt: skip

    @app.get("/api/find")
    def list_sessions() -> list[dict[str, Any]]:
        return discovery.sessions()

    @app.post("/api/find")
    def start(body: dict = Body(...)) -> dict[str, Any]:  # noqa: B008
        name = session_name(body.get("session"))
        positive = id_list(body.get("positive"), "positive")
        negative = id_list(body.get("negative"), "negative")
        tag = body.get("tag")
        if tag:
            positive = list(dict.fromkeys(positive + discovery.positives_of_tag(marks, str(tag))))
        if not positive and discovery.session(name).n_rounds == 0:
            raise InputError("no positive example: mark galaxies (or a cluster) first, or give "
                             "their ids", column="positive", count=0)  # fmt: skip
        return discovery.start(name, positive, negative)

    @app.get("/api/find/{name}")
    def state(name: str) -> dict[str, Any]:
        return discovery.state(session_name(name))

    @app.post("/api/find/{name}/answers")
    def answers(name: str, body: dict = Body(...)) -> dict[str, Any]:  # noqa: B008
        given = body.get("answers")
        if not isinstance(given, dict) or not given:
            raise InputError("'answers' must map id_str to 'yes' or 'no'", column="answers")
        return discovery.answer(session_name(name), given)

    @app.get("/api/find/{name}/{what}.{suffix}")
    def export(name: str, what: str, suffix: str,
               limit: int = Query(1000, ge=1, le=MAX_EXPORT)) -> Response:  # fmt: skip
        if what not in ("rounds", "found") or suffix not in ("csv", "vot"):
            raise HTTPException(404, "exports: rounds.csv, rounds.vot, found.csv, found.vot")
        data = discovery.export(session_name(name), what, suffix, limit)
        media = "text/csv" if suffix == "csv" else "application/x-votable+xml"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in session_name(name))
        filename = f"{safe}_{what}.{suffix}"
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
