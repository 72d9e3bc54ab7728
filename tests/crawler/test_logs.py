"""Logs a person and a log shipper can read (issue 12): failed polls in words without
tracebacks, unwrapped key=value lines when stderr is not a terminal, JSON lines on request."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path

import pytest

from demo.site import FixtureServer
from tests.conftest import run_cli
from watchdesk.cli.logs import JsonFormatter, PlainFormatter, configure_logging


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_hosts_config(tmp_path: Path, base: str) -> Path:
    config = tmp_path / "watchdesk.yaml"
    # `.invalid` never resolves (RFC 2606); the port was just closed; the fixture feed is a 500
    config.write_text(
        f"""store: {{path: t.db}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl}}
sources:
  - {{name: nohost, url: "http://watchdesk-test.invalid/feed.xml"}}
  - {{name: refused, url: "http://127.0.0.1:{closed_port()}/feed.xml"}}
  - {{name: broken, url: "{base}/feeds/broken.xml"}}
watchlists: []
""",
        encoding="utf-8",
    )
    return config


def test_failed_polls_are_one_line_each_in_words(tmp_path: Path, site: FixtureServer) -> None:
    config = dead_hosts_config(tmp_path, site.base_url)
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 4, result.stderr  # every source failed (issue 17's exit code)
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    # stderr is not a terminal: every line is one record (nothing wrapped), starting ts=;
    # the run's closing summary and its error line are plain sentences
    records = [line for line in lines if not line.startswith(("cycle done:", "error: all"))]
    assert records and all(line.startswith("ts=") for line in records), lines
    for source, words in (
        ("nohost", 'error="dns: no such host watchdesk-test.invalid"'),
        ("refused", 'error="connection refused: 127.0.0.1:'),
        ("broken", 'error="HTTP 500"'),
    ):
        mine = [line for line in records if f"source={source}" in line]
        assert 1 <= len(mine) <= 3, mine
        assert any(words in line for line in mine), mine
    # ISO 8601 with the offset
    assert records[0].split()[0].startswith("ts=20") and "+" in records[0].split()[0]


def test_json_log_lines_parse(tmp_path: Path, site: FixtureServer) -> None:
    config = dead_hosts_config(tmp_path, site.base_url)
    result = run_cli("--config", str(config), "--log-format", "json", "run", "--once")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stderr.splitlines()]
    failed = {r["source"]: r for r in rows if r.get("status") == "error"}
    assert set(failed) == {"nohost", "refused", "broken"}
    assert failed["broken"]["error"] == "HTTP 500"
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in rows)


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    return logging.LogRecord(
        "watchdesk.poll",
        logging.WARNING,
        __file__,
        1,
        msg,
        args,
        (type(exc), exc, None) if exc else None,
    )


def test_plain_lines_never_break() -> None:
    line = PlainFormatter().format(_record('title="%s"', "two\nlines"))
    assert "\n" not in line and 'title="two\\nlines"' in line


def test_json_fields_from_key_value_pairs() -> None:
    row = json.loads(JsonFormatter().format(_record('poll source=a error="%s" n=3', "HTTP 500")))
    assert (row["source"], row["error"], row["n"], row["level"]) == (
        "a",
        "HTTP 500",
        "3",
        "warning",
    )


@pytest.mark.parametrize(
    ("args", "own", "scrapy"),
    [
        ({}, logging.INFO, logging.WARNING),
        ({"verbose": 1}, logging.DEBUG, logging.WARNING),
        ({"verbose": 2}, logging.DEBUG, logging.DEBUG),
        ({"quiet": True}, logging.WARNING, logging.WARNING),
    ],
)
def test_verbosity_levels(args: dict[str, object], own: int, scrapy: int) -> None:
    configure_logging(stream=io.StringIO(), fmt="text", **args)  # type: ignore[arg-type]
    try:
        assert logging.getLogger("watchdesk").level == own
        assert logging.getLogger("scrapy").level == scrapy
    finally:
        configure_logging(stream=io.StringIO(), fmt="text")


def test_scrapy_network_tracebacks_are_lowered() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, fmt="text")
    try:
        from twisted.internet.error import DNSLookupError

        logging.getLogger("scrapy.downloadermiddlewares.robotstxt").error(
            "Error downloading %s", "<GET http://x.invalid/robots.txt>", exc_info=DNSLookupError()
        )
        logging.getLogger("scrapy.downloadermiddlewares.retry").error(
            "Gave up retrying %s", "<GET http://x.invalid/feed>"
        )
        logging.getLogger("scrapy.core.scraper").error("Spider error processing %s", "<GET x>")
    finally:
        configure_logging(stream=io.StringIO(), fmt="text")
    out = stream.getvalue()
    assert "Error downloading" not in out and "Gave up retrying" not in out
    assert "Spider error processing" in out  # a bug keeps its line
