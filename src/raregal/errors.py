"""Exceptions raised by raregal; the CLI turns them into one-line messages and exit codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from os import PathLike


class RaregalError(Exception):
    """Base class of every error that raregal raises on purpose."""


class InputError(RaregalError, ValueError):
    """Bad user input: a file, a column or values that cannot be used.

    The message names the file, the column and the count where they are known, so that a user can
    find and mend the problem without a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        column: str | None = None,
        count: int | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.column = column
        self.count = count
        prefix = f"{self.path}: " if self.path else ""
        super().__init__(prefix + message)


class MissingDependencyError(RaregalError, ImportError):
    """An optional extra is needed: the message prints the exact pip command."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is needed for this step; install it with: pip install 'raregal[{extra}]'"
        )


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return a ' (did you mean ...?)' hint for a misspelt column name, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
