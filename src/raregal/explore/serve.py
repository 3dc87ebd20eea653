"""Serving the explorer: uvicorn on a loopback address unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import webbrowser
from pathlib import Path

from raregal.errors import MissingDependencyError
from raregal.explore.server import LOOPBACK_HOSTS, create_app

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def explore(
    run_dir: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
) -> None:
    """Serve the explorer of ``run_dir`` until interrupted.

    Parameters
    ----------
    run_dir : path-like
        The run folder.
    host : str, default="127.0.0.1"
        Address to bind; anything but loopback exposes the run (and its marks) to the network,
        which is logged as a warning.
    port : int, default=8765
        TCP port (0 picks a free one).
    open_browser : bool, default=True
        Open the page in the default browser once the server listens.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "explore") from exc
    loopback = is_loopback(host)
    if not loopback:
        logger.warning(
            "serving on %s: anyone who can reach this address can read the run and "
            "change its marks; use --host 127.0.0.1 to keep it local",
            host,
        )
    app = create_app(run_dir, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    port = port or free_port(host)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    logger.info("exploring %s at %s (Ctrl+C to stop)", Path(run_dir), url)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


class BackgroundServer:
    """Serve an app with uvicorn in a daemon thread (for notebooks, tests and benchmarks).

    Parameters
    ----------
    app : ASGI app
        From ``create_app``.
    host : str, default="127.0.0.1"
    port : int, default=0
        0 picks a free port.

    Examples
    --------
    >>> with BackgroundServer(create_app(run_dir)) as server:  # doctest: +SKIP
    ...     print(server.url)
    """

    def __init__(self, app, host: str = DEFAULT_HOST, port: int = 0) -> None:
        try:
            import uvicorn
        except ImportError as exc:
            raise MissingDependencyError("uvicorn", "explore") from exc
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Start serving; returns once the server listens."""
        import time

        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the explorer server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
