"""The run-folder lock: a second writer is refused naming the holder, or waits; never stale."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from raregal.io.lock import FolderBusyError, FolderLock


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    first = FolderLock(tmp_path / "lock", tmp_path)
    first.acquire()
    try:
        with pytest.raises(FolderBusyError) as info:
            FolderLock(tmp_path / "lock", tmp_path).acquire()
        message = str(info.value)
        for part in (str(tmp_path), f"pid {os.getpid()}", socket.gethostname(), "since ",
                     "command: ", "RAREGAL_LOCK_WAIT"):  # fmt: skip
            assert part in message, part
        assert info.value.holder["pid"] == os.getpid()
    finally:
        first.release()
    second = FolderLock(tmp_path / "lock", tmp_path)
    assert second.try_acquire()
    second.release()


def test_a_waiting_writer_gets_the_lock_once_it_is_released(tmp_path):
    first = FolderLock(tmp_path / "lock")
    first.acquire()
    threading.Timer(0.5, first.release).start()
    second = FolderLock(tmp_path / "lock")
    start = time.monotonic()
    second.acquire(wait=30)
    assert second.held and time.monotonic() - start >= 0.4
    second.release()


def test_a_writer_killed_with_kill_9_leaves_no_stale_lock(tmp_path):
    """The kernel drops an flock when its holder dies, however it dies."""
    code = (
        "import sys, time; from raregal.io.lock import FolderLock; "
        "FolderLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(600)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "lock")],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match=f"pid {child.pid} "):
            FolderLock(tmp_path / "lock").acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    lock = FolderLock(tmp_path / "lock")
    lock.acquire()
    assert lock.holder()["pid"] == os.getpid()
    lock.release()
