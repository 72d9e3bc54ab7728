"""Hot reload of watchlists: a changed file is recompiled; a broken one is reported and ignored."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from alerts.reload import WatchlistReloader
from alerts.watchlist import load_watchlists
from crawler.article import Entity
from tests.alerts.helpers import make_article
from watchdesk.service.config import load_config

FIRST = """\
watchlists:
  - {name: sister, query: '"sister city"', channel: "#sister"}
"""
SECOND = """\
entities:
  - {id: zhou-zheng, name: Zhou Zheng, type: person, aliases: [周正]}
watchlists:
  - {name: sister, query: '"sister city"', channel: "#sister"}
  - {name: wuhan, query: 'Wuhan AND country:CN', channel: "#wuhan"}
"""
BROKEN = """\
watchlists:
  - {name: sister, query: '"sister city"', channel: "#sister"}
  - name: wuhan
    query: 'Wuhan AND (country:CN'
"""


def write(path: Path, text: str, bump: int) -> None:
    """Write and move the mtime forward: filesystems with coarse timestamps would otherwise
    show two quick edits as one."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def names(reloader: WatchlistReloader) -> list[str]:
    return [w.name for w in reloader.watchlists.watchlists]


def test_unchanged_file_is_not_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    write(path, FIRST, 0)
    reloader = WatchlistReloader(path, load_watchlists(path))
    assert reloader.check() is None
    write(path, FIRST, 1)  # touched, same content: nothing to recompile
    assert reloader.check() is None


def test_changed_file_gives_a_new_compiled_matcher(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    write(path, FIRST, 0)
    reloader = WatchlistReloader(path, load_watchlists(path))
    write(path, SECOND, 1)
    new = reloader.check()
    assert new is not None and new.entities_changed
    assert names(reloader) == ["sister", "wuhan"] == [w.name for w in new.watchlists.watchlists]
    matched = new.matcher.match(make_article(1, "Oxford sister city pact"))
    assert [m.watchlist.name for m in matched] == ["sister", "wuhan"]
    assert reloader.check() is None  # once per change


def test_broken_file_keeps_the_old_watchlists_and_logs_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "watchlists.yaml"
    write(path, FIRST, 0)
    reloader = WatchlistReloader(path, load_watchlists(path))
    write(path, BROKEN, 1)
    with caplog.at_level(logging.WARNING, logger="watchdesk.watchlists"):
        assert reloader.check() is None
        assert reloader.check() is None  # reported once, not on every check
    problems = [r.getMessage() for r in caplog.records if "watchlist 'wuhan'" in r.getMessage()]
    assert len(problems) == 1
    assert f"{path}:4: watchlist 'wuhan': query: bad query" in problems[0]
    assert names(reloader) == ["sister"]
    write(path, SECOND, 2)  # fixed: picked up
    new = reloader.check()
    assert new is not None and names(reloader) == ["sister", "wuhan"]


def test_missing_file_keeps_the_old_watchlists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "watchlists.yaml"
    write(path, FIRST, 0)
    reloader = WatchlistReloader(path, load_watchlists(path))
    path.unlink()
    with caplog.at_level(logging.WARNING, logger="watchdesk.watchlists"):
        assert reloader.check() is None
        assert reloader.check() is None
    assert len(caplog.records) == 1 and "cannot read" in caplog.records[0].getMessage()
    assert names(reloader) == ["sister"]


def test_for_config_watches_the_file_or_the_inline_list(tmp_path: Path) -> None:
    (tmp_path / "watchlists.yaml").write_text(FIRST, encoding="utf-8")
    by_file = tmp_path / "a.yaml"
    by_file.write_text("watchlists: watchlists.yaml\n", encoding="utf-8")
    reloader = WatchlistReloader.for_config(load_config(by_file))
    assert reloader.path == tmp_path / "watchlists.yaml" and not reloader.inline

    inline = tmp_path / "b.yaml"
    write(inline, "store: {path: x.db}\n" + FIRST, 0)
    reloader = WatchlistReloader.for_config(load_config(inline))
    assert reloader.inline
    write(
        inline,
        "store: {path: x.db}\n"
        + SECOND.split("watchlists:\n")[0]
        + FIRST
        + ("  - {name: wuhan, query: Wuhan}\n"),
        1,
    )
    new = reloader.check()
    assert new is not None and names(reloader) == ["sister", "wuhan"]
    write(inline, "store: {path: x.db}\n" + BROKEN, 2)
    assert reloader.check() is None and names(reloader) == ["sister", "wuhan"]


def test_aliases_for_rebuilds_the_resolver(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    write(path, FIRST, 0)
    seen: list[int] = []

    def aliases_for(watchlists):  # type: ignore[no-untyped-def]
        seen.append(len(watchlists.entities))
        return lambda name: {"person:zhou-zheng"} if name == "周正" else set()

    reloader = WatchlistReloader(path, load_watchlists(path), aliases_for=aliases_for)
    write(path, SECOND.replace("Wuhan AND country:CN", "entity:周正"), 1)
    new = reloader.check()
    assert new is not None and seen == [1]
    article = make_article(1, "Zhou Zheng visits Oxford sister city")
    article.entities.append(Entity("person:zhou-zheng", "Zhou Zheng", "person", "CN"))
    assert [m.watchlist.name for m in new.matcher.match(article)] == ["sister", "wuhan"]
