"""The running monitor picks up watchlist edits without a restart, and keeps the running set
when an edit is invalid."""

from __future__ import annotations

import os
import time
from pathlib import Path

from watchdesk.service.config import load_config
from watchdesk.service.monitor import Monitor

WATCHLISTS = """\
watchlists:
  - name: sister-cities
    query: '"sister city"'
    channel: "#sister-cities"
"""


def _touch_later(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # mtime granularity: make sure the change is visible even within the same second
    later = time.time() + 2
    os.utime(path, (later, later))


def test_watchlist_edits_are_picked_up_and_bad_edits_kept_out(tmp_path: Path) -> None:
    wl = tmp_path / "watchlists.yaml"
    wl.write_text(WATCHLISTS, encoding="utf-8")
    cfg = tmp_path / "watchdesk.yaml"
    cfg.write_text(
        "store: {path: w.db}\n"
        "alerts: {sink: jsonl, jsonl_path: a.jsonl, first_poll: alert, max_age: none}\n"
        "watchlists: watchlists.yaml\n",
        encoding="utf-8",
    )
    monitor = Monitor(load_config(cfg))
    try:
        assert monitor.reload_watchlists() is False  # nothing changed yet
        _touch_later(
            wl,
            WATCHLISTS
            + "  - name: land-laws\n    query: 'farmland AND country:CN'\n    channel: '#land'\n",
        )
        assert monitor.reload_watchlists() is True
        names = [w.name for w in monitor.processor.watchlists.watchlists]
        assert names == ["sister-cities", "land-laws"]
        assert [w.name for w in monitor.outbox.watchlists.watchlists] == names

        _touch_later(wl, "watchlists:\n  - name: broken\n    query: '(unclosed'\n")
        assert monitor.reload_watchlists() is False
        assert [w.name for w in monitor.processor.watchlists.watchlists] == names
    finally:
        monitor.close()
