"""CLI options made from the parameter table, so that ``raregal search`` and ``raregal run``
offer every search parameter under one name, with one help text and the table's default.

Each option defaults to "not given" (None) on the command line; what is not given is filled from
``raregal.config.DEFAULTS`` by the search, so the default is written only in the table.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from raregal.config import PARAMETERS, Parameter

SEARCH_PANEL = "Search parameters (names of umap-learn and hdbscan; defaults are the paper's)"

Out = Annotated[Path, typer.Option("--out", "-o", help="Run folder to write (or update).")]
Morphology = Annotated[
    Path | None,
    typer.Option(
        help="Vote-fraction table (e.g. the GZ DESI catalog) joined on the id; needed for "
        "the paper's selection unless the representations carry *_fraction columns."
    ),
]


def option_help(parameter: Parameter) -> str:
    """The parameter's help text with its default, as ``--help`` prints it."""
    default = parameter.default
    if isinstance(default, bool):
        shown = "on" if default else "off"
    elif default is None:
        shown = "none"
    else:
        shown = str(default)
    return f"{parameter.help} (default: {shown})"


def _option(parameter: Parameter, panel: str = SEARCH_PANEL) -> inspect.Parameter:
    annotation = Optional[parameter.type]  # noqa: UP045 - typer needs the typing form here
    info = typer.Option(
        None, parameter.option, help=option_help(parameter), show_default=False,
        rich_help_panel=panel,
    )  # fmt: skip
    return inspect.Parameter(
        parameter.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation
    )


def with_search_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a typer command one option per search parameter.

    ``command`` takes a ``search_params`` argument: a dict of the options the user gave (by
    the table's names: ``--seed`` arrives as ``random_state``), to pass to the search.
    """
    return with_parameter_options(PARAMETERS, SEARCH_PANEL, "search_params")(command)


def with_parameter_options(
    parameters: tuple[Parameter, ...], panel: str, argument: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator giving a typer command one option per parameter of ``parameters``; the
    command receives the options the user gave as a dict in its argument ``argument``."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for name, p in signature.parameters.items() if name != argument]
        added = [_option(p, panel) for p in parameters]

        @functools.wraps(command)
        def wrapper(**options: Any) -> Any:
            given = given_params(options, parameters)
            for p in parameters:
                options.pop(p.name, None)
            return command(**{argument: given}, **options)

        wrapper.__signature__ = inspect.Signature(own + added)  # type: ignore[attr-defined]
        annotations = {k: v for k, v in command.__annotations__.items() if k != argument}
        wrapper.__annotations__ = {**annotations, **{p.name: p.annotation for p in added}}
        return wrapper

    return decorate


def given_params(
    options: dict[str, Any], parameters: tuple[Parameter, ...] = PARAMETERS
) -> dict[str, Any]:
    """The parameters among ``options`` that were given (not None), by table name."""
    return {p.name: options[p.name] for p in parameters if options.get(p.name) is not None}
