"""`make demo`: serve the fixture site, run one cycle against it, show the alerts and a search.

Needs no network and no Slack token: alerts go to the terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from demo.site import FixtureServer, build_demo_site

ROOT = Path(__file__).resolve().parent.parent


def demo_config(base_url: str, workdir: Path) -> Path:
    config = workdir / "watchdesk-demo.yaml"
    shutil.copy(ROOT / "demo" / "watchlists.yaml", workdir / "watchlists.yaml")
    config.write_text(
        f"""store: {{path: watchdesk-demo.db}}
crawl: {{user_agent: "watchdesk-demo/0.1"}}
# the demo's stories are archive pieces (2019-2024), alerted on its first poll on purpose:
# a real config keeps the safe defaults (first_poll: seed, max_age: 7d)
alerts: {{sink: terminal, first_poll: alert, max_age: none}}
sources:
  - {{name: ledger, kind: feed, url: "{base_url}/feeds/ledger.xml", every: 15m}}
  - {{name: ledger-atom, kind: feed, url: "{base_url}/feeds/atom.xml", every: 15m}}
  - {{name: broken, kind: feed, url: "{base_url}/feeds/broken.xml", every: 15m}}
watchlists: watchlists.yaml
""",
        encoding="utf-8",
    )
    return config


def main() -> int:
    with FixtureServer() as server, tempfile.TemporaryDirectory(prefix="watchdesk-demo-") as tmp:
        build_demo_site(server.site, server.base_url)
        config = demo_config(server.base_url, Path(tmp))
        env = {
            k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "WATCHDESK_CONFIG")
        }
        cli = [sys.executable, "-m", "watchdesk.cli", "--config", str(config)]
        print(f"== fixture site at {server.base_url}; one cycle with {config.name}\n", flush=True)
        run = subprocess.run([*cli, "run", "--once"], env=env, cwd=ROOT, check=False)
        if run.returncode != 0:
            return run.returncode
        query = '"sister city" OR 友好城市'
        print(f"\n== watchdesk search '{query}'\n", flush=True)
        found = subprocess.run(
            [*cli, "search", query, "--limit", "5"], env=env, cwd=ROOT, check=False
        )
        return found.returncode


if __name__ == "__main__":
    sys.exit(main())
