"""What was tried as an attacker would and held, kept as regression tests: entity expansion
(billion laughs) and external entities (XXE) in a feed are not expanded or fetched, and a gzip
bomb beyond `crawl.max_page_bytes` is dropped, through a real `watchdesk run --once`."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

from demo.site import FixtureServer
from tests.conftest import run_cli

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>laughs</title>
<item><title>&lol9;</title><link>{base}/laughs.html</link><description>&lol9;</description></item>
</channel></rss>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY remote SYSTEM "{internal}/secret/xxe">
 <!ENTITY local SYSTEM "file://{secret_file}">
]>
<rss version="2.0"><channel><title>xxe</title>
<item><title>remote &remote; local &local;</title><link>{base}/xxe.html</link>
<description>&remote; &local;</description></item>
</channel></rss>"""

PAGE = "<html><head><title>{t}</title></head><body><p>{t} about Iowa and Hebei.</p></body></html>"


def test_entities_are_not_expanded_nor_fetched_and_a_gzip_bomb_is_dropped(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("LOCAL-FILE-SECRET", encoding="utf-8")
    with FixtureServer() as host, FixtureServer(host="127.0.0.2") as internal:
        base = host.base_url
        internal.site.add("/secret/xxe", "INTERNAL-XXE-SECRET", content_type="text/plain")
        host.site.add("/laughs.xml", LAUGHS.format(base=base), content_type="application/rss+xml")
        host.site.add(
            "/xxe.xml",
            XXE.format(base=base, internal=internal.base_url, secret_file=secret_file),
            content_type="application/rss+xml",
        )
        for slug in ("laughs", "xxe", "fine"):
            host.site.add(f"/{slug}.html", PAGE.format(t=f"The {slug} page"))
        # 64 MB of zeros, 64 KB on the wire: 64x the 1 MB limit once decompressed
        bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
        host.site.add("/bomb.html", bomb, headers={"Content-Encoding": "gzip"})
        host.site.add(
            "/bomb.xml",
            '<?xml version="1.0"?><rss version="2.0"><channel><title>b</title>'
            f"<item><title>bomb</title><link>{base}/bomb.html</link></item>"
            f"<item><title>fine</title><link>{base}/fine.html</link></item></channel></rss>",
            content_type="application/rss+xml",
        )
        config = tmp_path / "c.yaml"
        config.write_text(
            f"""store: {{path: c.db}}
crawl: {{max_page_bytes: 1048576}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl}}
sources:
  - {{name: laughs, kind: feed, url: "{base}/laughs.xml"}}
  - {{name: xxe, kind: feed, url: "{base}/xxe.xml"}}
  - {{name: bomb, kind: feed, url: "{base}/bomb.xml"}}
""",
            encoding="utf-8",
        )
        result = run_cli("--config", str(config), "run", "--once")
        assert result.returncode == 0, result.stderr[-3000:]
        assert internal.site.requests == []  # the external entity was never fetched
        assert len(host.site.hits("/bomb.html")) == 1
    conn = sqlite3.connect(tmp_path / "c.db")
    rows = conn.execute("SELECT url, title, text FROM articles").fetchall()
    conn.close()
    urls = {url for url, _, _ in rows}
    assert f"{base}/bomb.html" not in urls  # dropped, not stored half-read
    assert {f"{base}/fine.html", f"{base}/laughs.html", f"{base}/xxe.html"} <= urls
    for _, title, text in rows:
        assert "lollollol" not in title + text  # not expanded
        assert "SECRET" not in title + text
