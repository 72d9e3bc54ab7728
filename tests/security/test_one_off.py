"""`watchdesk extract URL` and `watchlist explain` of an unstored URL fetch through
`spiders.fetch.fetch_page`: the URL given is trusted, a redirect to 127.0.0.2 (standing in for an
internal address) is refused with one clear line and never requested."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.addresses import AddressPolicy, AddressRefused
from demo.site import FixtureServer
from spiders.fetch import FetchError, fetch_page
from tests.conftest import run_cli


@pytest.fixture
def servers() -> Iterator[tuple[FixtureServer, FixtureServer]]:
    with FixtureServer() as host, FixtureServer(host="127.0.0.2") as internal:
        internal.site.add("/secret/metadata", "<html><body>internal secret</body></html>")
        host.site.add(
            "/item", "", status=302, headers={"Location": f"{internal.base_url}/secret/metadata"}
        )
        host.site.add("/hop", "", status=301, headers={"Location": "/item"})
        host.site.add(
            "/page", "<html><head><title>Fine</title></head><body><p>ok</p></body></html>"
        )
        yield host, internal


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(
        """store: {path: c.db}
alerts: {sink: jsonl, jsonl_path: a.jsonl}
sources: []
watchlists:
  - {name: any, query: 'secret', channel: '#x'}
""",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("command", [["extract"], ["watchlist", "explain", "any"]])
def test_redirect_to_an_internal_address_is_refused_in_one_line(
    tmp_path: Path, servers: tuple[FixtureServer, FixtureServer], command: list[str]
) -> None:
    host, internal = servers
    result = run_cli("--config", str(_config(tmp_path)), *command, f"{host.base_url}/hop")
    assert result.returncode == 1, result.stdout + result.stderr
    assert internal.site.requests == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: refused_address: {internal.base_url}/secret/metadata")
    assert f"redirected from {host.base_url}/item" in lines[0]


def test_explain_fetches_an_unstored_url(
    tmp_path: Path, servers: tuple[FixtureServer, FixtureServer]
) -> None:
    host, _ = servers
    result = run_cli(
        "--config", str(_config(tmp_path)), "watchlist", "explain", "any", f"{host.base_url}/page"
    )
    assert result.returncode == 0, result.stderr
    assert "Fine" in result.stdout


def test_fetch_page_checks_every_hop(servers: tuple[FixtureServer, FixtureServer]) -> None:
    host, internal = servers
    with pytest.raises(AddressRefused) as refused:
        fetch_page(f"{host.base_url}/hop")
    assert refused.value.url == f"{internal.base_url}/secret/metadata"
    assert refused.value.reason == "refused_address"
    # a trusted origin is the given URL's, not any loopback host
    with pytest.raises(AddressRefused):
        fetch_page(f"{host.base_url}/page", trusted_url="http://127.0.0.3:9/feed.xml")
    assert internal.site.requests == []
    allowed = fetch_page(f"{host.base_url}/hop", policy=AddressPolicy(allow_private=True))
    assert "internal secret" in allowed.text
    assert allowed.redirects == [f"{host.base_url}/hop", f"{host.base_url}/item"]


def test_fetch_page_stops_at_max_bytes(servers: tuple[FixtureServer, FixtureServer]) -> None:
    host, _ = servers
    host.site.add("/big", b"x" * 5000)
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetch_page(f"{host.base_url}/big", max_bytes=1000)
