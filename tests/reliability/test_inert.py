"""Untrusted content stays inert: crawled titles and text cannot ping a Slack channel, forge a
link, restyle the terminal, inject a spreadsheet formula into an export, or make the crawler
request an address it must refuse."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from alerts.message import render_story
from alerts.sinks.terminal import TerminalSink
from alerts.watchlist import Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert, MatchedTerm
from demo.site import FixtureArticle, FixtureServer, article_page, rss_feed
from tests.conftest import run_cli

HOSTILE_TITLE = (
    "<!channel> <!here> <!everyone> <@U012AB3CD> <#C012AB3CD> "
    "<https://evil.example/login|Click to verify> *bold* _it_ ~strike~ `code` "
    "[bold red]red[/] [link=https://evil.example]rich link[/link] :skull: "
    '<script>alert(1)</script> \x1b[31mesc\x1b]0;title\x07 =HYPERLINK("https://evil.example")'
)
SLACK_SPECIALS = re.compile(r"<!(channel|here|everyone)|<@U|<#C|<https://evil")


def _article() -> Article:
    url = "https://news.example/story"
    art = Article(url=url, canonical_url=url, source="<!here> wire")
    art.title = HOSTILE_TITLE
    art.text = "China sister city. " + HOSTILE_TITLE + " More text about Hebei and Iowa."
    art.published = datetime(2024, 6, 1, tzinfo=UTC)
    art.author = "<!channel>"
    art.entities = [
        Entity(id="x", name="<!here> Hebei", type="place", country="CN", region="<!channel>")
    ]
    art.countries = ["CN"]
    return art


def _texts(obj: Any) -> list[str]:
    """Every string of a rendered message (text, blocks, elements, fields)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _texts(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _texts(v)]
    return []


def test_slack_message_cannot_ping_or_forge_links() -> None:
    wl = Watchlist.model_validate({"name": "desk", "query": "china", "channel": "#desk"})
    alert = Alert(watchlist="desk", article_id="a", channel="#desk")
    art = _article()
    terms = [MatchedTerm("china", "text", 0, 5)]
    message = render_story(alert, art, wl, terms)
    texts = _texts(message)
    assert texts
    for text in texts:
        assert not SLACK_SPECIALS.search(text), text
        assert "\x1b" not in text and "\x07" not in text
    # the only link in the message is the article's own URL
    links = {m for t in texts for m in re.findall(r"<(https?://[^|>]+)", t)}
    assert links <= {art.url}
    # and the words are still there, escaped, for the reader
    assert any("&lt;!channel&gt;" in t for t in texts)


def test_terminal_prints_markup_and_escapes_literally() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=400)
    sink = TerminalSink(console)
    wl = Watchlist.model_validate({"name": "desk", "query": "china", "channel": "#desk"})
    alert = Alert(watchlist="desk", article_id="a", channel="#desk")
    art = _article()
    result = sink.deliver(alert, render_story(alert, art, wl, []))
    assert result.ok
    out = buffer.getvalue()
    assert "[bold red]red[/]" in out  # printed, not interpreted
    assert "[link=https://evil.example]rich link[/link]" in out
    assert "<script>alert(1)</script>" in out  # harmless text in a terminal, shown as such
    assert "\x1b]8;" not in out  # no terminal hyperlink was created
    assert "\x1b]0;" not in out and "\x07" not in out  # no window-title escape from the title
    assert "\x1b[31mesc" not in out  # the title's own colour escape was stripped


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    with FixtureServer() as server:
        base = server.base_url
        titles = [
            '=HYPERLINK("https://evil.example","click") sister city',
            "+cmd|' /C calc'!A0 sister city",
            "-2+3 sister city",
            "@SUM(A1:A9) sister city",
        ]
        stories = []
        for i, title in enumerate(titles):
            story = FixtureArticle(
                f"f{i}",
                title,
                datetime(2024, 6, 1, tzinfo=UTC),
                "=cmd()",
                [f"The sister city story number {i} from Iowa and Hebei, China. " * 8],
            )
            stories.append(story)
            server.site.add(f"/articles/f{i}.html", article_page(story, base))
        server.site.add("/feed.xml", rss_feed(stories, base), content_type="application/rss+xml")
        config = tmp_path / "c.yaml"
        config.write_text(
            f"""store: {{path: c.db}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: "=evil", kind: feed, url: "{base}/feed.xml"}}
""".replace('"=evil"', "evil"),
            encoding="utf-8",
        )
        assert run_cli("--config", str(config), "-q", "run", "--once").returncode == 0
    # the four bodies are near copies (one story): --copies exports every article's row
    result = run_cli("--config", str(config), "search", "sister", "--csv", "--copies")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) >= 1 + len(titles)
    cells = [c for row in rows[1:] for c in row]
    for cell in cells:
        # a cell a spreadsheet would evaluate starts with = + - @ (or a tab/CR before them)
        assert not re.match(r"^[\t\r]*[=+\-@]", cell), cell
    assert any("HYPERLINK" in c for c in cells)  # kept as text, not dropped


def test_discovered_links_to_refused_addresses_are_never_requested(tmp_path: Path) -> None:
    with FixtureServer() as feed_host, FixtureServer(host="127.0.0.2") as other:
        base = feed_host.base_url
        other.site.add("/secret.html", "<html><body>internal</body></html>")
        good = FixtureArticle(
            "good", "Sister city news", datetime(2024, 6, 1, tzinfo=UTC), "x", ["Iowa and Hebei."]
        )
        feed_host.site.add("/articles/good.html", article_page(good, base))
        links = [
            f"{other.base_url}/secret.html",  # another loopback host
            # a host name that resolves to loopback: refused after DNS resolution
            f"http://localhost:{other.base_url.rsplit(':', 1)[1]}/secret.html",
            "http://127.0.0.3:9/admin",  # a third loopback host (nothing listens there)
            f"{base}/articles/good.html",  # the source's own origin: allowed
        ]
        items = "".join(
            f"<item><title>t{i}</title><link>{u}</link></item>" for i, u in enumerate(links)
        )
        feed_host.site.add(
            "/feed.xml",
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}'
            "</channel></rss>",
            content_type="application/rss+xml",
        )
        config = tmp_path / "c.yaml"
        config.write_text(
            f"""store: {{path: c.db}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: feed, kind: feed, url: "{base}/feed.xml"}}
""",
            encoding="utf-8",
        )
        result = run_cli("--config", str(config), "run", "--once")
        assert result.returncode == 0, result.stderr
        assert other.site.requests == []  # never contacted
        assert len(feed_host.site.hits("/articles/good.html")) == 1
    assert result.stderr.count("refused link") == 3, result.stderr[-2000:]
    status = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
    assert status["articles"] == 1
