"""The explorer's web server: a FastAPI app with the JSON/binary API that the page and scripts use.

Routes (all read-only except ``/api/marks`` and the search sessions of ``/api/find``)::

    GET  /                              the page          GET /static/{name} (the page's files)
    GET  /api/summary                   counts, bounds, grid, clusters, palette, glossary, ...
    GET  /api/points                    the map's points (see ``raregal.explore.points``)
    GET  /api/placed/points             float32 x[m], float32 y[m], int32 cluster[m] of the
                                        galaxies placed later (predict --add), display coords
    GET  /api/galaxies/{row}            id, cluster, probability, ra, dec, main vote fractions
    GET  /api/galaxies?id_str=...       the same, looked up by id
    GET  /api/objects/{row}             the object view: all fractions, sky links, marks
    GET  /api/cutouts/{row}?softening=  the full-resolution image (FITS: arcsinh-stretched PNG)
    GET  /api/clusters/{cluster}        the cluster, its tree node and its gallery
    GET  /api/nodes/{node}              a condensed-tree node, its parent and its gallery
    GET  /api/nodes/{node}/leaves       the galleries of the leaf clusters below a node
    GET  /api/nodes/{node}/mask         uint8[n]: 1 for the galaxies that belong to the node
    GET  /api/tree.svg                  the condensed tree as a clickable icicle, marks shown
    GET  /api/columns                   what the map can be coloured by
    GET  /api/columns/{name}[/meta]     a column's values (binary, row order) and colour scale
    GET  /api/neighbours/{row}?k=24     'more like this' in representation space
    POST /api/select      {polygon}     galaxies inside a polygon of display coordinates
    POST /api/select.{csv,vot}          the same as a catalog (``raregal.report.exports``)
    POST /api/found.{csv,vot} {rows,..} a found list (score, round, answer) as a catalog
    GET/POST /api/marks, DELETE /api/marks/{mark_id}, GET /api/marks.{csv,vot}
    GET  /api/marks/galaxies            the marked galaxies' rows, for drawing on the map
    GET  /api/tiles/{z}/{tx}/{ty}       density tile of a run too large to send as points
    GET  /thumbs/{row}.jpg              a cached thumbnail
    the weirdest-first queue and search from marks: see ``raregal.explore.discovery``

Only files of the run are served, by row number; anything else is a 404. Request bodies are
limited to ``MAX_BODY_BYTES`` (413) and polygons to ``MAX_POLYGON_VERTICES`` (400); a mark that is
not made of strings is a 422, and a run folder that cannot be written (read-only, full disk)
answers marks with a 403 or 507 naming the folder, never a 500. There is no OpenAPI schema: the
routes are listed here.
"""

from __future__ import annotations

import errno
import json
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
from raregal.explore.columns import ColourColumns
from raregal.explore.cutouts import read_cutout
from raregal.explore.data import MAX_POINTS, ExploreRun
from raregal.explore.discovery import Discovery, add_discovery_routes
from raregal.explore.lists import FOUND_COLUMNS, found_list, marks_list, selection_list
from raregal.explore.marks import MarksTable
from raregal.explore.neighbours import NeighbourIndex
from raregal.explore.thumbs import Thumbnails
from raregal.report.exports import csv_text, votable_bytes
from raregal.report.icicle import create_icicle, node_marks_of, render_icicle_svg
from raregal.report.palette import tag_colour

logger = logging.getLogger(__name__)

_JS = "text/javascript; charset=utf-8"
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "app.js": _JS,
    "util.js": _JS,
    "map.js": _JS,
    "labels.js": _JS,
    "tree.js": _JS,
    "object.js": _JS,
    "marks.js": _JS,
    "help.js": _JS,
    "discover.js": _JS,
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "testserver")
_THUMB_NAME = re.compile(r"^(\d{1,9})\.jpg$")
MAX_GALLERY = 500
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "vot": "application/x-votable+xml"}
MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB: a polygon of 10,000 vertices is about 400 kB)."""
MAX_POLYGON_VERTICES = 10_000
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def _static(name: str) -> bytes:
    return resources.files("raregal.explore").joinpath("static", name).read_bytes()


def create_app(
    run_dir: str | Path,
    *,
    build_index: bool = True,
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS,
    max_points: int = MAX_POINTS,
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
    max_points : int, default=2_500_000
        Galaxies sent to the page as points; a larger run's main population comes as density
        tiles (``raregal.explore.tiles``).

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

    run = ExploreRun(run_dir, max_points=max_points)
    marks = MarksTable(run.path)
    index = NeighbourIndex(run)
    thumbs = Thumbnails(run)
    discovery = Discovery(run, thumbs)
    columns = ColourColumns(run, marks)
    points = run.points_bytes()
    icicle = (
        create_icicle(run.tree_table, run.clusters, dict(enumerate(run.colours)))
        if run.tree is not None
        else None
    )
    pages = {name: _static(name) for name in STATIC_FILES}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(
            target=_warm, args=(run, index if build_index else None), daemon=True
        ).start()
        yield

    app = FastAPI(
        title=f"raregal explore: {run.path.name}", lifespan=lifespan, docs_url=None,
        redoc_url=None, openapi_url=None,
    )  # fmt: skip
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.state.run, app.state.marks, app.state.index, app.state.thumbs = run, marks, index, thumbs
    app.state.discovery = discovery
    add_discovery_routes(app, discovery, marks)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in _READ_ONLY:
            detail = f"the run folder {run.path} cannot be written ({exc.strerror}): nothing "
            detail += "was saved"
            return JSONResponse({"detail": detail}, status_code=403)
        if exc.errno in _FULL:
            detail = f"no space left in the run folder {run.path} ({exc.strerror}): nothing "
            detail += "was saved"
            return JSONResponse({"detail": detail}, status_code=507)
        raise exc

    def check_row(row: int) -> int:
        if not 0 <= row < run.n:
            raise HTTPException(404, f"no galaxy at row {row} (the run has {run.n})")
        return row

    def check_node(node: int) -> int:
        if run.tree is None or not run.tree.has_node(node):
            raise HTTPException(404, f"no node {node} in the condensed tree")
        return node

    def export(table, name: str, fmt: str) -> Response:
        if fmt not in EXPORT_TYPES:
            raise HTTPException(404, f"no export format {fmt!r} (csv or vot)")
        data = csv_text(table) if fmt == "csv" else votable_bytes(table, f"raregal_{name}")
        return Response(
            data,
            media_type=EXPORT_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
        )

    def mark_records(kind: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        records = marks.records(kind, target)
        for m in records:
            m["colour"] = tag_colour(m["tag"])
            if m["target_kind"] == "galaxy":
                m["row"] = run.row_of_id.get(m["target"])
        return records

    def polygon_of(body: dict[str, Any]) -> np.ndarray:
        polygon = body.get("polygon") if isinstance(body, dict) else None
        try:
            array = np.asarray(polygon, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError("'polygon' must be a list of [x, y] map coordinates") from exc
        if array.ndim != 2 or array.shape[-1] != 2 or len(array) < 3:
            raise InputError("'polygon' must be a list of at least 3 [x, y] map coordinates")
        if len(array) > MAX_POLYGON_VERTICES:
            raise InputError(f"'polygon' has {len(array)} vertices; at most "
                             f"{MAX_POLYGON_VERTICES} are accepted", count=len(array))  # fmt: skip
        if not np.isfinite(array).all():
            raise InputError("'polygon' holds coordinates that are not finite numbers")
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
        out["marks"] = mark_records("galaxy", out[ID_COLUMN])
        return out

    @app.get("/api/objects/{row}")
    def object_view(row: int) -> dict[str, Any]:
        out = run.object_view(check_row(row))
        out["marks"] = mark_records("galaxy", out[ID_COLUMN])
        return out

    @app.get("/api/cutouts/{row}")
    def cutout(row: int, softening: float = Query(1.0, gt=0, le=1000)) -> Response:
        image = read_cutout(run, check_row(row), softening)
        if image is None:
            raise HTTPException(404, f"galaxy row {row} has no readable image")
        return Response(
            image.data, media_type=image.media_type, headers={"Cache-Control": "max-age=3600"}
        )

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
            "marks": mark_records("cluster", row[0]["letter"]),
        }

    @app.get("/api/nodes/{node}")
    def node(node: int, limit: int = Query(60, ge=1, le=MAX_GALLERY)) -> dict[str, Any]:
        info = run.node_info(check_node(node))
        return {
            **info,
            "gallery": run.gallery(run.tree.members(node), limit),
            "marks": mark_records("node", str(node)),
        }

    @app.get("/api/nodes/{node}/leaves")
    def node_leaves(node: int, per_leaf: int = Query(12, ge=1, le=100)) -> dict[str, Any]:
        info = run.node_info(check_node(node))
        table = {c["cluster"]: c for c in run.cluster_table()}
        leaves = [
            {
                **{f: table[k].get(f) for f in ("cluster", "letter", "size", "colour")},
                "description": table[k].get("description") or "",
                "gallery": run.gallery(run.labels == k, per_leaf),
            }
            for k in info["clusters"]
        ]
        return {**info, "leaves": leaves, "marks": mark_records("node", str(node))}

    @app.get("/api/tree.svg")
    def tree_svg(height: int = Query(320, ge=120, le=1200)) -> Response:
        if icicle is None:
            raise HTTPException(404, "the run has no condensed tree")
        svg = render_icicle_svg(icicle, node_marks_of(marks.to_frame()), height=height)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    @app.get("/api/columns")
    def list_columns() -> list[dict[str, str]]:
        return columns.available()

    def column_of(name: str):
        column = columns.column(name)
        if column is None:
            raise HTTPException(404, f"no column {name!r} to colour by")
        return column

    @app.get("/api/columns/{name}/meta")
    def column_meta(name: str) -> dict[str, Any]:
        return column_of(name).describe()

    @app.get("/api/columns/{name}")
    def column_values(name: str) -> Response:
        column = column_of(name)
        return Response(
            column.payload(),
            media_type="application/octet-stream",
            headers={"X-Kind": column.kind, "Cache-Control": "no-store"},
        )

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

    @app.post("/api/select.{fmt}")
    def select_export(fmt: str, body: dict = Body(...)) -> Response:  # noqa: B008
        rows = run.select_polygon(polygon_of(body))
        return export(selection_list(run, rows), "selection", fmt)

    @app.post("/api/found.{fmt}")
    def found_export(fmt: str, body: dict = Body(...)) -> Response:  # noqa: B008
        if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
            raise InputError("a found list needs 'rows': a list of galaxy rows")
        extra = {k: body[k] for k in FOUND_COLUMNS if k in body}
        return export(found_list(run, body["rows"], extra), "found", fmt)

    @app.get("/api/marks")
    def list_marks() -> list[dict[str, Any]]:
        return mark_records()

    @app.get("/api/marks/galaxies")
    def marked_galaxies() -> list[dict[str, Any]]:
        return [m for m in mark_records("galaxy") if m.get("row") is not None]

    @app.post("/api/marks")
    def add_mark(body: dict = Body(...)) -> dict[str, Any]:  # noqa: B008
        for name in ("target_kind", "target", "tag", "note"):
            value = body.get(name, "" if name == "note" else None)
            if not isinstance(value, str) and not (name == "note" and value is None):
                raise HTTPException(
                    422, f"{name!r} must be a string; got {type(value).__name__} {value!r:.80}"
                )
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
        added = marks.add(kind, target, str(body.get("tag", "")), str(body.get("note") or ""))
        return {**added, "colour": tag_colour(added["tag"])}

    @app.delete("/api/marks/{mark_id}")
    def delete_mark(mark_id: int) -> dict[str, Any]:
        if not marks.remove(mark_id):
            raise HTTPException(404, f"no mark {mark_id}")
        return {"deleted": mark_id}

    @app.get("/api/marks.{fmt}")
    def marks_export(fmt: str) -> Response:
        return export(marks_list(run, marks.to_frame()), "marks", fmt)

    @app.get("/api/tiles/{z}/{tx}/{ty}")
    def tile(z: int, tx: int, ty: int) -> Response:
        if run.tiles is None:
            raise HTTPException(404, "this run is sent as points: it has no density tiles")
        try:
            data = run.tiles.tile(z, tx, ty)
        except ValueError as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": "max-age=3600"}
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


class BodyLimit:
    """ASGI middleware: a request whose body exceeds ``limit`` bytes gets a 413, unread beyond.

    The body is read here (up to the limit) and handed on whole, so that no route ever parses
    more than ``limit`` bytes, whether the client sent a Content-Length or not.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Any) -> None:
        detail = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(detail)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": detail})


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
