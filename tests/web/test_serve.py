"""`watchdesk serve`: the refusal without a token off loopback, and a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crawler.storage import Store
from tests.conftest import ROOT, run_cli
from tests.web.archive import FixtureArchive, build_archive
from tests.web.conftest import free_port


def test_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    build_archive(tmp_path)
    # 198.51.100.0/24 is TEST-NET-2: never bound here; the check must refuse before trying
    r = run_cli("--config", str(tmp_path / "watchdesk.yaml"), "serve", "--host", "198.51.100.7")
    assert r.returncode == 2
    assert "WATCHDESK_WEB_TOKEN" in r.stderr and "198.51.100.7" in r.stderr


def test_serves_on_loopback_and_checks_the_token(tmp_path: Path) -> None:
    fixture = build_archive(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "WATCHDESK_CONFIG"}
    env.update(PYTHONPATH=str(ROOT), WATCHDESK_WEB_TOKEN="t0ken-from-env")
    cmd = [sys.executable, "-m", "watchdesk.cli", "--config", str(tmp_path / "watchdesk.yaml")]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("watchdesk serve did not start") from None
                time.sleep(0.2)
        assert r.status_code == 401  # the token from the environment applies on loopback too
        auth = {"Authorization": "Bearer t0ken-from-env"}
        health = httpx.get(f"{url}/healthz", headers=auth, timeout=5).json()
        assert health == {"status": "ok", "articles": fixture_count(fixture)}
        page = httpx.get(f"{url}/articles/{fixture.xss_id}", headers=auth, timeout=10)
        assert page.status_code == 200 and "&lt;script&gt;" in page.text
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert "t0ken-from-env" not in stderr  # the secret is never logged


def fixture_count(fixture: FixtureArchive) -> int:
    with Store(fixture.loaded.store_path) as store:
        return store.count_articles()
