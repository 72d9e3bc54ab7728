"""The Slack set-up documentation says what the code does: the manifest grants every scope the
Slack sink needs and checks for; README and docs/slack.md name the commands and keys."""

from __future__ import annotations

import yaml

from alerts.sinks.slack import NEEDED_SCOPES, PRIVATE_SCOPES
from crawler.config import AlertsConfig, WebConfig
from tests.conftest import ROOT


def test_manifest_grants_every_scope_watchdesk_needs() -> None:
    manifest = yaml.safe_load((ROOT / "docs" / "slack-app-manifest.yaml").read_text("utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert set(NEEDED_SCOPES) | set(PRIVATE_SCOPES) <= scopes
    assert {"channels:read", "groups:read"} <= scopes  # channels by name, `slack check`
    assert "event_subscriptions" not in manifest.get("settings", {})  # no public URL needed


def test_readme_and_docs_name_the_setup_and_the_keys() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    guide = (ROOT / "docs" / "slack.md").read_text("utf-8")
    for text in (readme, guide):
        assert "watchdesk slack check" in text and "SLACK_BOT_TOKEN" in text
        assert "slack-app-manifest.yaml" in text and "/invite @watchdesk" in text
    assert "once_wait" in readme and "base_url" in readme
    assert AlertsConfig().once_wait == 60 and WebConfig().base_url == ""
    for code in ("3", "4"):
        assert f" {code} " in guide.split("Exit codes of `run --once`:")[1].split("\n- ")[0]
