"""The `slack check` command: is the Slack app set up so that alerts can arrive?"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.markup import escape

from watchdesk.cli.app import _load, err, out, slack_app


@slack_app.command("check")
def slack_check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the token (auth.test), its scopes (chat:write; channels:history and
    groups:history for exactly-once), and that every configured channel exists and has the
    bot as a member. Prints each problem with its fix; exits 1 when there is one."""
    from alerts.sinks import SinkConfigError, build_sink
    from watchdesk.service.monitor import Monitor

    loaded = _load()
    try:
        sink = build_sink(
            "slack", environ=dict(os.environ), default_channel=loaded.config.slack.default_channel
        )
    except SinkConfigError as exc:
        err.print(f"error: {escape(str(exc))}")
        err.print("fix: set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)")
        raise typer.Exit(1) from None
    channels = Monitor.channels_of(loaded)
    findings = sink.check_setup(channels)  # type: ignore[attr-defined]
    problems = [f for f in findings if not f.ok]
    if as_json:
        rows = [
            {"subject": f.subject, "ok": f.ok, "detail": f.detail, "fix": f.fix} for f in findings
        ]
        print(json.dumps({"ok": not problems, "checks": rows}, ensure_ascii=False))
    else:
        for f in findings:
            mark = "ok  " if f.ok else "FAIL"
            out.print(
                f"{mark} {escape(f.subject)}: {escape(f.detail)}", style=None if f.ok else "red"
            )
            if f.fix:
                out.print(f"     fix: {escape(f.fix)}")
        out.print("Slack is ready." if not problems else f"{len(problems)} problem(s) to fix.")
    raise typer.Exit(1 if problems else 0)
