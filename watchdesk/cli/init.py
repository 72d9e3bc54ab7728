"""The `init` command: a starter `watchdesk.yaml` and `watchlists.yaml` for a new desk.

The files are the ones the repository's own `make run` uses (watchdesk/cli/starter/), with
comments saying what each setting does; `init` never overwrites a file that is already there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from watchdesk.cli.app import app, err, out

STARTER = Path(__file__).parent / "starter"
FILES = ("watchdesk.yaml", "watchlists.yaml")


def write_starter(directory: Path) -> list[Path]:
    """Write the starter files into `directory` (created if needed); returns their paths.

    Raises FileExistsError naming the first file already there, before writing anything."""
    targets = [directory / name for name in FILES]
    for target in targets:
        if target.exists():
            raise FileExistsError(str(target))
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in zip(FILES, targets, strict=True):
        target.write_text((STARTER / name).read_text(encoding="utf-8"), encoding="utf-8")
    return targets


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write watchdesk.yaml and watchlists.yaml.")
    ] = Path("."),
) -> None:
    """Write a starter watchdesk.yaml and watchlists.yaml (with comments) that you own; refuses
    to overwrite either. Exit 1 when one is already there."""
    try:
        written = write_starter(directory)
    except FileExistsError as exc:
        err.print(f"error: {escape(str(exc))} already exists; nothing written")
        raise typer.Exit(1) from None
    for path in written:
        out.print(f"wrote {escape(str(path))}")
    config = written[0]
    out.print(
        "next: edit the watchlists, then "
        f"`watchdesk --config {escape(str(config))} run` "
        "(SLACK_BOT_TOKEN set to post to Slack; without it alerts print here)"
    )
