"""Atomic writes: a file appears whole or not at all, with the mode the user's umask gives."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.NAME.<random>.tmp`` (see ``is_temporary_of``)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")


def is_temporary_of(name: str, target: str) -> bool:
    """Whether ``name`` is a temporary file that ``atomic_path`` made for the file ``target``."""
    return name.startswith(f".{target}.") and name.endswith(TMP_SUFFIX)


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file or a folder to disk (a folder: its entries, so that a rename survives)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # some filesystems refuse to open folders; their renames are then best effort
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike[str], durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    The temporary file is created with mode 0o666 less the process umask (``mkstemp`` would make
    it 0o600, and the mode would stay with the file), so a run can be shared as the user's
    umask allows. With ``durable`` the file and its folder are flushed to disk before and after
    the rename. A temporary file left by a killed process is named ``.NAME.<random>.tmp``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = temporary_name(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        os.close(fd)
        break
    try:
        yield tmp
        if durable:
            fsync_path(tmp)
        os.replace(tmp, path)
        if durable:
            fsync_path(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
