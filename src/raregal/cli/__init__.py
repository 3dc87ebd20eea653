"""The command line: one thin function per command, grouped in one module per stage.

Each module in ``_COMMAND_MODULES`` registers its commands on ``app``; the work is done by plain
importable functions. Library code raises exceptions; only ``main`` turns them into exit codes:
an expected failure (a ``RaregalError``, or what the machine refuses: permissions, a full disk,
a file in the way) is one line on stderr and exit code 2; anything else is a bug and shows its
traceback and how to report it (``raregal.cli.failures``).
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib import import_module

import typer

from raregal import __version__
from raregal.cli.app import app, setup_logging
from raregal.cli.failures import EXIT_BUG, EXIT_EXPECTED, bug_line, os_failure_line
from raregal.errors import RaregalError

__all__ = ["app", "main", "setup_logging"]

_COMMAND_MODULES: tuple[str, ...] = (
    "explore", "encode", "simulate", "search", "predict", "report", "run", "discover",
)


@app.callback()
def root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debugging detail."),
) -> None:
    """Find rare classes of galaxies in the representations of pretrained galaxy models."""
    setup_logging(verbose)


@app.command("version")
def version_cli() -> None:
    """Print the raregal version."""
    typer.echo(__version__)


for _module in _COMMAND_MODULES:
    import_module(f"raregal.cli.{_module}")


def main() -> None:
    """Entry point: run the app; one line and exit code 2 for every expected failure, the
    traceback and how to report it for a bug."""
    # numba's OpenMP threads sleep rather than spin while waiting; spinning threads made the
    # parallel stages many times slower on a shared machine (docs/benchmarks.md).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        result = app(standalone_mode=False)
    except RaregalError as exc:
        _fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's usage errors
            exc.show()
            sys.exit(exc.exit_code)
        line = os_failure_line(exc)
        if line is not None:
            _fail(line)
        traceback.print_exc()
        typer.echo(bug_line(), err=True)
        sys.exit(EXIT_BUG)
    if isinstance(result, int) and result:
        sys.exit(result)


def _fail(line: str) -> None:
    typer.echo(f"error: {' '.join(line.split())}", err=True)
    sys.exit(EXIT_EXPECTED)
