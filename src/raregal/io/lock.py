"""One writer at a time: an exclusive lock on a folder, that names its holder to whoever waits.

The lock is an ``flock`` on a small file (``RUN/.raregal/lock``): the kernel releases it when the
holder exits, however it exits (``kill -9`` included), so a lock is never left stale. The file
holds who has it (pid, host, command, since when), so that a second writer is refused, or told
whom it waits for, in one line. The file itself is never removed while a writer may wait on it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import shlex
import socket
import sys
import time
from pathlib import Path
from typing import Any

from raregal.errors import RaregalError

try:  # POSIX; elsewhere the folder is not locked (a warning says so)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class FolderBusyError(RaregalError):
    """Another process is writing the folder; the message names it (pid, host, command, since)."""

    def __init__(self, folder: Path, holder: dict[str, Any] | None, waited: float) -> None:
        self.folder = folder
        self.holder = holder or {}
        if holder:
            who = (
                f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since "
                f"{holder.get('since', '?')} (command: {holder.get('command', '?')})"
            )
        else:
            who = "another process (it has not said which yet)"
        waited_text = f" after waiting {waited:.0f} s" if waited > 0 else ""
        super().__init__(
            f"{folder}: the run folder is being written by {who}{waited_text}; wait for it to "
            "finish (set RAREGAL_LOCK_WAIT=SECONDS to wait) or choose another --out"
        )


def holder_info() -> dict[str, Any]:
    """Who this process is, as a lock holder records it."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python",
        "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


class FolderLock:
    """An exclusive, non-reentrant lock held through the file ``path``.

    Parameters
    ----------
    path : path-like
        The lock file (created when missing; its folder must exist).
    folder : path-like, default=None
        The folder named in messages (default: the lock file's folder).
    """

    def __init__(self, path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        self.folder = Path(folder) if folder is not None else self.path.parent
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; FolderBusyError names the holder."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this FolderLock")
        if fcntl is None:  # pragma: no cover - Windows
            logger.warning("no file locks on this platform: %s is not protected against a "
                           "second writer", self.folder)  # fmt: skip
            self._fd = -1
            return
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            if self._try_lock(fd):
                self._fd = fd
                self._write_holder()
                return
            os.close(fd)
            if time.monotonic() >= deadline:
                raise FolderBusyError(self.folder, self.holder(), wait)
            time.sleep(POLL_SECONDS)

    def _try_lock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        try:  # the file we locked must still be the one at the path (not replaced meanwhile)
            same = os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return same

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (without waiting) otherwise."""
        try:
            self.acquire(wait=0.0)
        except FolderBusyError:
            return False
        return True

    def _write_holder(self) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(holder_info()).encode(), 0)

    def holder(self) -> dict[str, Any] | None:
        """What the lock file says about its holder (None when it says nothing readable)."""
        try:
            text = self.path.read_text()
            info = json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def release(self) -> None:
        """Let go of the lock (the file stays, emptied)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if fd < 0:  # pragma: no cover - Windows: nothing was locked
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
