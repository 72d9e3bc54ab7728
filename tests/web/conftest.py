"""Fixtures for the web page: the fixture archive and live servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from tests.web.archive import FixtureArchive, build_archive
from watchdesk.web import create_app


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> FixtureArchive:
    return build_archive(tmp_path_factory.mktemp("web"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a background thread cannot install them
        pass


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a background thread; yields its base URL."""
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class LiveServer:
    base_url: str
    archive: FixtureArchive


@pytest.fixture(scope="session")
def live_server(archive: FixtureArchive) -> Iterator[LiveServer]:
    """The web page over the fixture archive, no token (loopback)."""
    with running(create_app(archive.loaded)) as url:
        yield LiveServer(url, archive)


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        yield client
