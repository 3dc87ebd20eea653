"""Test helper: run a command with a folder that cannot be written, as the machine allows.

A normal user gets a folder without write permission. root ignores permissions, so for root the
folder is bind-mounted read-only in a user and mount namespace of its own (``unshare``); where
neither is possible the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def python_command(*args: str) -> list[str]:
    """``python -c <code>`` with the arguments that follow it."""
    return [sys.executable, *args]


def run_with_read_only(
    folder: Path, argv: list[str], timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``argv`` while ``folder`` cannot be written; returns the finished process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("root, and no unshare to mount the folder read-only")
    mount = f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount],
                           capture_output=True, text=True)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"root, and no read-only bind mount here: {probe.stderr.strip()}")
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f'{mount} && exec "$@"',
         "sh", *argv], capture_output=True, text=True, env=env, timeout=timeout,
    )  # fmt: skip
