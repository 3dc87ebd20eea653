"""The explorer's web server: a FastAPI app with the JSON/binary API that the page and scripts use.

Routes (all read-only except ``/api/marks``)::

    GET  /                              the page          GET /static/{app.js,style.css}
    GET  /api/summary                   counts, bounds, clusters, what is available
    GET  /api/points                    float32 map_x[n], float32 map_y[n], int32 cluster[n]
    GET  /api/placed/points             the same for the m galaxies placed later (predict --add)
    GET  /api/galaxies/{row}            id, cluster, probability, ra, dec, main vote fractions
    GET  /api/galaxies?id_str=...       the same, looked up by id
    GET  /api/clusters/{cluster}        the cluster, its tree node and its gallery
    GET  /api/nodes/{node}              a condensed-tree node, its parent and its gallery
    GET  /api/nodes/{node}/mask         uint8[n]: 1 for the galaxies that belong to the node
    GET  /api/neighbours/{row}?k=24     'more like this' in representation space
    POST /api/select      {polygon}     galaxies inside a polygon of map coordinates
    POST /api/select.csv  {polygon}     the same as CSV: id_str, ra, dec
    GET/POST /api/marks, DELETE /api/marks/{mark_id}, GET /api/marks.csv
    GET  /thumbs/{row}.jpg              a cached thumbnail

Only files of the run are served, by row number; anything else is a 404.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from raregal.constants import ID_COLUMN
from raregal.errors import InputError, MissingDependencyError
from raregal.explore.data import ExploreRun
from raregal.explore.marks import MarksTable
from raregal.explore.neighbours import NeighbourIndex
from raregal.explore.thumbs import Thumbnails

logger = logging.getLogger(__name__)

STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "testserver")
_THUMB_NAME = re.compile(r"^(\d{1,9})\.jpg$")
MAX_GALLERY = 500


def _static(name: str) -> bytes:
    return resources.files("raregal.explore").joinpath("static", name).read_bytes()


def create_app(
    run_dir: str | Path,
    *,
    build_index: bool = True,
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS,
) -> Any:
    """The FastAPI app that serves one run folder.

    Parameters
    ----------
    run_dir : path-like
        The run folder (``galaxies.parquet``, ``clusters.parquet``, optional
        ``condensed_tree.parquet`` and ``run.json``).
    build_index : bool, default=True
        Start building (or loading) the neighbour index in the background at startup, so that
        the first 'more like this' does not wait for it.
    allowed_hosts : tuple of str or None, default=loopback names
        Host headers accepted (against DNS rebinding); None accepts any, for a non-loopback bind.

    Returns
    -------
    fastapi.FastAPI
        With ``app.state.run``, ``app.state.marks``, ``app.state.index``, ``app.state.thumbs``.
    """
    try:
        from fastapi import Body, FastAPI, HTTPException, Query, Request
        from fastapi.responses import JSONResponse, Response
        from starlette.middleware.trustedhost import TrustedHostMiddleware
    except ImportError as exc:
        raise MissingDependencyError("fastapi", "explore") from exc

    run = ExploreRun(run_dir)
    marks = MarksTable(run.path)
    index = NeighbourIndex(run)
    thumbs = Thumbnails(run)
    points = run.points_bytes()
    pages = {name: _static(name) for name in STATIC_FILES}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(
            target=_warm, args=(run, index if build_index else None), daemon=True
        ).start()
        yield

    app = FastAPI(
        title=f"raregal explore: {run.path.name}", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.state.run, app.state.marks, app.state.index, app.state.thumbs = run, marks, index, thumbs

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    def check_row(row: int) -> int:
        if not 0 <= row < run.n:
            raise HTTPException(404, f"no galaxy at row {row} (the run has {run.n})")
        return row

    def check_node(node: int) -> int:
        if run.tree is None or not run.tree.has_node(node):
            raise HTTPException(404, f"no node {node} in the condensed tree")
        return node

    def polygon_of(body: dict[str, Any]) -> np.ndarray:
        polygon = body.get("polygon") if isinstance(body, dict) else None
        try:
            array = np.asarray(polygon, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError("'polygon' must be a list of [x, y] map coordinates") from exc
        if array.ndim != 2 or array.shape[-1] != 2 or len(array) < 3:
            raise InputError("'polygon' must be a list of at least 3 [x, y] map coordinates")
        return array

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return Response(pages["index.html"], media_type=STATIC_FILES["index.html"])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404)
        return Response(pages[name], media_type=STATIC_FILES[name])

    @app.get("/api/summary")
    def summary() -> dict[str, Any]:
        return {**run.summary(), "index_ready": index.ready}

    @app.get("/api/points")
    def points_route() -> Response:
        return Response(
            points, media_type="application/octet-stream", headers={"X-Count": str(run.n)}
        )

    @app.get("/api/placed/points")
    def placed_points_route() -> Response:
        count = 0 if run.placed is None else len(run.placed)
        return Response(run.placed_bytes(), media_type="application/octet-stream",
                        headers={"X-Count": str(count)})  # fmt: skip

    @app.get("/api/galaxies/{row}")
    def galaxy(row: int) -> dict[str, Any]:
        out = run.galaxy(check_row(row))
        out["marks"] = marks.records("galaxy", out[ID_COLUMN])
        return out

    @app.get("/api/galaxies")
    def galaxy_by_id(id_str: str = Query(...)) -> dict[str, Any]:
        row = run.row_of_id.get(id_str)
        if row is None:
            raise HTTPException(404, f"no galaxy with id_str {id_str!r}")
        return galaxy(row)

    @app.get("/api/clusters")
    def clusters() -> list[dict[str, Any]]:
        return run.cluster_table()

    @app.get("/api/clusters/{cluster}")
    def cluster(cluster: int, limit: int = Query(60, ge=1, le=MAX_GALLERY)) -> dict[str, Any]:
        row = [c for c in run.cluster_table() if c["cluster"] == cluster]
        if not row:
            raise HTTPException(404, f"no cluster {cluster}")
        node = run.node_of_cluster(cluster)
        return {
            **row[0],
            "tree": run.node_info(node) if node is not None else None,
            "gallery": run.gallery(run.labels == cluster, limit),
            "marks": marks.records("cluster", row[0]["letter"]),
        }

    @app.get("/api/nodes/{node}")
    def node(node: int, limit: int = Query(60, ge=1, le=MAX_GALLERY)) -> dict[str, Any]:
        info = run.node_info(check_node(node))
        return {
            **info,
            "gallery": run.gallery(run.tree.members(node), limit),
            "marks": marks.records("node", str(node)),
        }

    @app.get("/api/nodes/{node}/mask")
    def node_mask(node: int) -> Response:
        mask = run.tree.members(check_node(node)).astype(np.uint8)
        return Response(mask.tobytes(), media_type="application/octet-stream")

    @app.get("/api/neighbours/{row}")
    def neighbours(row: int, k: int = Query(24, ge=1, le=200)) -> dict[str, Any]:
        rows, dists = index.query(check_row(row), k)
        brief = run.brief(rows)
        for item, dist in zip(brief, dists.tolist(), strict=True):
            item["distance"] = dist
        return {"row": row, "space": index.space_, "neighbours": brief}

    @app.post("/api/select")
    def select(body: dict = Body(...)) -> dict[str, Any]:  # noqa: B008
        rows = run.select_polygon(polygon_of(body))
        return {"count": len(rows), "rows": rows[:MAX_GALLERY].tolist()}

    @app.post("/api/select.csv")
    def select_csv(body: dict = Body(...)) -> Response:  # noqa: B008
        rows = run.select_polygon(polygon_of(body))
        columns = [c for c in (ID_COLUMN, "ra", "dec") if c in run.galaxies.columns]
        text = run.galaxies.iloc[rows][columns].to_csv(index=False)
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="selection.csv"'},
        )

    @app.get("/api/marks")
    def list_marks() -> list[dict[str, Any]]:
        return marks.records()

    @app.post("/api/marks")
    def add_mark(body: dict = Body(...)) -> dict[str, Any]:  # noqa: B008
        kind = str(body.get("target_kind", ""))
        target = str(body.get("target", ""))
        if kind == "galaxy" and target not in run.row_of_id:
            raise HTTPException(404, f"no galaxy with id_str {target!r}")
        if kind == "cluster" and target not in set(run.clusters["letter"].astype(str)):
            raise HTTPException(404, f"no cluster lettered {target!r}")
        if kind == "node" and not (
            target.isdigit() and run.tree and run.tree.has_node(int(target))
        ):
            raise HTTPException(404, f"no node {target!r} in the condensed tree")
        return marks.add(kind, target, str(body.get("tag", "")), str(body.get("note", "")))

    @app.delete("/api/marks/{mark_id}")
    def delete_mark(mark_id: int) -> dict[str, Any]:
        if not marks.remove(mark_id):
            raise HTTPException(404, f"no mark {mark_id}")
        return {"deleted": mark_id}

    @app.get("/api/marks.csv")
    def marks_csv() -> Response:
        return Response(
            marks.to_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="marks.csv"'},
        )

    @app.get("/thumbs/{name}")
    def thumbnail(name: str) -> Response:
        from fastapi.responses import FileResponse

        match = _THUMB_NAME.match(name)
        path = thumbs.path(int(match.group(1))) if match else None
        if path is None:
            raise HTTPException(404, "no such thumbnail")
        return FileResponse(
            path, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"}
        )

    return app


def _warm(run: ExploreRun, index: NeighbourIndex | None) -> None:
    """Read the vote fractions and the id lookup, and load or build the index, in the background."""
    try:
        if run.n:
            run.galaxy(0)
        run.row_of_id  # noqa: B018
        if index is not None:
            index.ensure()
    except Exception as exc:  # a background warm-up must not kill the server
        logger.warning("warming up the explorer failed (it will retry on demand): %s", exc)
