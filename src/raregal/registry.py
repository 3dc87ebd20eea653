"""``EngineRegistry``: the engines of one stage, by name, as an object.

Each stage package (``raregal.reduce``, ``raregal.cluster``) keeps one registry in its
``engines`` module; the stage imports the registry, and the engine modules import neither (an
entry names its engine as ``"module:attribute"``, imported on first use, so that listing the
engines loads none of them). ``auto`` is resolved here, in one place: the first engine of the
registry's preference order whose optional package is installed. Tests add an engine inside
``with registry.scoped():`` and the registry is as before when the block ends (astropy's io
registry habit).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from raregal.errors import InputError, MissingDependencyError

AUTO = "auto"


@dataclass(frozen=True)
class Engine:
    """One registered engine.

    Attributes
    ----------
    name : str
        The name users give (``--reducer raregal``).
    target : str or callable
        ``"package.module:attribute"`` (imported on first use) or the engine class itself.
    requires : str or None
        A module that must be importable (an optional extra, e.g. ``"cuml"``).
    extra : str or None
        The ``pip install 'raregal[extra]'`` that brings ``requires``.
    """

    name: str
    target: str | Callable[..., Any]
    requires: str | None = None
    extra: str | None = None

    def available(self) -> bool:
        """Whether the engine's optional package is installed (found, not imported)."""
        if self.requires is None:
            return True
        try:
            return importlib.util.find_spec(self.requires) is not None
        except (ImportError, ValueError):
            return False

    def load(self) -> Callable[..., Any]:
        """The engine class (importing its module on first use)."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


class EngineRegistry:
    """Engines of one stage by name, with ``auto`` resolved by a preference order.

    Parameters
    ----------
    parameter : str
        The parameter that names an engine (``reducer``, ``engine``), for error messages.
    auto : sequence of str
        Preference order of ``auto``: the first available engine is used.

    Examples
    --------
    >>> registry = EngineRegistry("reducer", auto=("fast", "slow"))
    >>> registry.register("slow", "raregal.reduce.umap_learn:UmapLearnReducer")
    >>> registry.resolve("auto")
    'slow'
    """

    def __init__(self, parameter: str, auto: Sequence[str]) -> None:
        self.parameter = parameter
        self.auto = tuple(auto)
        self._engines: dict[str, Engine] = {}

    def register(
        self,
        name: str,
        target: str | Callable[..., Any],
        requires: str | None = None,
        extra: str | None = None,
    ) -> None:
        """Add (or replace) the engine ``name``."""
        if name == AUTO:
            raise ValueError(f"{AUTO!r} is resolved by the registry and cannot be registered")
        self._engines[name] = Engine(name, target, requires, extra)

    def unregister(self, name: str) -> None:
        """Remove the engine ``name``."""
        del self._engines[name]

    def choices(self) -> tuple[str, ...]:
        """Every name a user may give: the registered engines and ``auto``."""
        return (*self._engines, AUTO)

    def available(self) -> tuple[str, ...]:
        """The engines whose optional package is installed."""
        return tuple(name for name, engine in self._engines.items() if engine.available())

    def resolve(self, name: str) -> str:
        """The engine that ``name`` stands for (``auto``: the first available in order).

        Raises
        ------
        InputError
            For a name that is not registered (the message lists the choices).
        MissingDependencyError
            For a registered engine whose optional package is not installed.
        """
        if name == AUTO:
            for candidate in self.auto:
                if candidate in self._engines and self._engines[candidate].available():
                    return candidate
            raise InputError(f"no {self.parameter} engine is available for {AUTO!r}")
        engine = self._engines.get(name)
        if engine is None:
            raise InputError(
                f"parameter {self.parameter!r} must be one of "
                f"{', '.join(map(repr, self.choices()))}; got {name!r}",
                column=self.parameter,
            )
        if not engine.available():
            raise MissingDependencyError(f"{engine.requires} (the {name!r} engine)", engine.extra)
        return name

    def get(self, name: str) -> Callable[..., Any]:
        """The engine class for ``name`` (``auto`` resolved)."""
        return self._engines[self.resolve(name)].load()

    def create(self, name: str, *args: Any, **params: Any) -> Any:
        """Build the engine ``name`` with ``params``."""
        return self.get(name)(*args, **params)

    @contextmanager
    def scoped(self) -> Iterator[EngineRegistry]:
        """Changes made inside the block (register, unregister) are undone when it ends."""
        saved = dict(self._engines)
        try:
            yield self
        finally:
            self._engines = saved
