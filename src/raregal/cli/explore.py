"""`raregal explore`: serve the web page to browse a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli.app import app


@app.command("explore")
def explore_cli(
    run: Annotated[Path, typer.Argument(help="The run folder written by `raregal search`.")],
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port (0: any free one).")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback is warned about.")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser.")
    ] = False,
) -> None:
    """Browse a run: map, clusters, condensed tree, 'more like this', selections and marks.

    Serves on 127.0.0.1 by default; another --host is logged as a warning, since anyone who can
    reach it can read the run and change its marks.
    """
    from raregal.explore.serve import explore

    explore(run, host=host, port=port, open_browser=not no_browser)
