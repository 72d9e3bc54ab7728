"""The command reference (docs/cli.md), generated from the CLI itself so the two cannot drift.

`python -m watchdesk.cli.reference > docs/cli.md` (or `make docs`) writes it; `tests/test_docs.py`
fails when the file differs from what the CLI says now, as sqlite-utils keeps its CLI reference
with cog.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

from watchdesk.cli import app

HEADER = """# Command reference

Generated from `watchdesk --help` of every command by `make docs`
(`python -m watchdesk.cli.reference`); do not edit by hand. README's "Commands" section says what
each command is for.
"""


# Typer brings its own copy of click (typer._click); these work on its objects by their click
# interface (param_type_name, list_commands, context_class) rather than by click's classes.
Command = Any


def commands(
    group: Command | None = None, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command of the CLI with its path (`("watchlist", "test")`), groups included."""
    root: Command = group if group is not None else typer.main.get_command(app)
    ctx = root.context_class(root, info_name="watchdesk")
    for name in sorted(root.list_commands(ctx)):
        cmd = root.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        yield (*prefix, name), cmd
        if hasattr(cmd, "list_commands"):
            yield from commands(cmd, (*prefix, name))


def option_names(cmd: Command) -> set[str]:
    """Every `--long` and `-s` spelling of the command's options."""
    return {
        o for p in cmd.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)
    }


def _usage(path: tuple[str, ...], cmd: Command) -> str:
    ctx = cmd.context_class(cmd, info_name="watchdesk " + " ".join(path))
    pieces = cmd.collect_usage_pieces(ctx)
    return " ".join(["watchdesk", *path, *pieces])


def _option_row(param: Any) -> str:
    if param.param_type_name == "option":
        names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
        help_text = (param.help or "").replace("|", "\\|").replace("\n", " ")
        default = param.default
        shown = (
            f" (default: `{default}`)"
            if param.show_default is not False
            and default not in (None, False, "", (), [])
            and not callable(default)
            and not param.is_flag
            else ""
        )
        return f"| {names} | {help_text}{shown} |"
    name = (param.metavar or param.name or "").upper()
    help_text = (getattr(param, "help", None) or "").replace("|", "\\|").replace("\n", " ")
    optional = "" if param.required else " (optional)"
    return f"| `{name}` | argument{optional}: {help_text} |"


def render() -> str:
    """The whole reference as Markdown."""
    out = [HEADER]
    root: Command = typer.main.get_command(app)
    out.append("## watchdesk\n")
    out.append(f"```\n{_usage((), root)}\n```\n")
    out.append((root.help or "").strip() + "\n")
    rows = [_option_row(p) for p in root.params if p.name != "help"]
    if rows:
        out.append("| option | meaning |\n| --- | --- |\n" + "\n".join(rows) + "\n")
    for path, cmd in commands():
        out.append(f"## watchdesk {' '.join(path)}\n")
        out.append(f"```\n{_usage(path, cmd)}\n```\n")
        if cmd.help:
            out.append(cmd.help.strip() + "\n")
        rows = [_option_row(p) for p in cmd.params if p.name != "help"]
        if rows:
            out.append("| option or argument | meaning |\n| --- | --- |\n" + "\n".join(rows) + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
