"""The commit of a run folder: new tables appear together with their run.json, or not at all.

A writer stages every table it writes in ``RUN/.raregal/pending/``; nothing a reader sees
changes meanwhile. To commit, it writes the new run.json and a journal (the files to move in and
the files to remove) into that folder, then renames it to ``RUN/.raregal/commit/``: that rename
is the commit point. Rolling forward then moves each staged table into place, removes what the
journal says, and moves run.json in last. A kill at any moment leaves either no commit folder
(the old result stands; the staged tables stay as a cache keyed by their stage keys) or a
complete one, which the next writer, or a reader that can, rolls forward; until then readers read
through it (``resolve``). Every step before the commit point that needs disk space happens
before it, so a full disk leaves the old result.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from raregal.io.atomic import atomic_path, fsync_path, is_temporary_of

STATE_DIR = ".raregal"
PENDING = "pending"
COMMIT = "commit"
JOURNAL = "journal.json"
LOCK = "lock"
RECORD = "run.json"


def state_dir(folder: Path) -> Path:
    return folder / STATE_DIR


def pending_dir(folder: Path) -> Path:
    """Where a writer stages its tables (kept after a kill: a cache keyed by stage keys)."""
    return folder / STATE_DIR / PENDING


def commit_dir(folder: Path) -> Path:
    """A committed set of tables not yet rolled forward (exists only after a kill mid-commit)."""
    return folder / STATE_DIR / COMMIT


def lock_path(folder: Path) -> Path:
    return folder / STATE_DIR / LOCK


def resolve(folder: Path, name: str) -> Path:
    """Where the committed version of ``name`` is: in the commit folder until rolled forward
    (a file that the commit removes resolves to a path that does not exist)."""
    staged = commit_dir(folder) / name
    journal_file = commit_dir(folder) / JOURNAL
    if not journal_file.exists():
        return folder / name
    if staged.exists():
        return staged
    try:
        removes = json.loads(journal_file.read_text()).get("removes", [])
    except (OSError, ValueError):  # rolled forward meanwhile
        return folder / name
    return staged if name in removes else folder / name


def commit(folder: Path, moves: Iterable[str], removes: Iterable[str], record_text: str) -> None:
    """Commit the staged files ``moves`` with the record ``record_text``; then roll forward.

    Files in the pending folder that are not in ``moves`` (left by a killed writer) are removed
    first. Must be called with the folder's lock held.
    """
    pending = pending_dir(folder)
    moves, removes = list(moves), list(removes)
    pending.mkdir(parents=True, exist_ok=True)
    for entry in pending.iterdir():
        if entry.name not in moves:
            _remove(entry)
    for name in moves:
        fsync_path(pending / name)
    with atomic_path(pending / RECORD, durable=True) as tmp:
        tmp.write_text(record_text)
    with atomic_path(pending / JOURNAL, durable=True) as tmp:
        tmp.write_text(json.dumps({"moves": moves, "removes": removes}))
    os.rename(pending, commit_dir(folder))  # the commit point
    fsync_path(state_dir(folder))
    roll_forward(folder)


def roll_forward(folder: Path) -> bool:
    """Finish a commit that a kill interrupted; True when there was one. Needs the lock."""
    staged = commit_dir(folder)
    journal_file = staged / JOURNAL
    if not staged.exists():
        return False
    if not journal_file.exists():  # killed while the commit folder was being removed
        shutil.rmtree(staged, ignore_errors=True)
        return True
    journal = json.loads(journal_file.read_text())
    for name in journal["moves"]:
        source = staged / name
        if source.exists():
            os.replace(source, folder / name)
    for name in journal["removes"]:
        target = folder / name
        if target.exists() or target.is_symlink():
            _remove(target)
    if (staged / RECORD).exists():
        os.replace(staged / RECORD, folder / RECORD)
    fsync_path(folder)
    os.unlink(journal_file)
    shutil.rmtree(staged, ignore_errors=True)
    return True


def clean_stray_files(folder: Path, names: Iterable[str]) -> list[Path]:
    """Remove temporary files that a killed writer left for the files ``names``; needs the lock."""
    names = list(names)
    removed = []
    for place in (folder, pending_dir(folder)):
        if not place.is_dir():
            continue
        for entry in place.iterdir():
            if any(is_temporary_of(entry.name, name) for name in names):
                _remove(entry)
                removed.append(entry)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
