"""The documentation says what the product does: every command, option and config key that
README and docs/ name exists, the YAML examples validate, and docs/cli.md is what the CLI says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from crawler.config import Config, SourceConfig
from tests.conftest import ROOT
from watchdesk.cli.reference import commands, option_names, render

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
COMMANDS = {path: cmd for path, cmd in commands()}
# `watchdesk` followed by words that may be a command path: lower-case words, no options
_INVOCATION = re.compile(r"`watchdesk((?: [a-z][a-z-]*)+)([^`]*)`")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _command_of(words: list[str]) -> tuple[str, ...] | None:
    """The longest command path the words start with."""
    for n in range(len(words), 0, -1):
        if tuple(words[:n]) in COMMANDS:
            return tuple(words[:n])
    return None


def _invocations() -> list[tuple[str, tuple[str, ...] | None, str, str]]:
    found = []
    for page in PAGES:
        for match in _INVOCATION.finditer(_text(page)):
            words = match.group(1).split()
            found.append((page.name, _command_of(words), match.group(1), match.group(2)))
    return found


def test_cli_reference_is_current() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == render(), "docs/cli.md is stale: run `make docs`"


def test_architecture_diagram_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("layers", ROOT / "docs" / "layers.py")
    assert spec is not None and spec.loader is not None
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split(layers.BEGIN, 1)[1].split(layers.END, 1)[0].strip()
    assert block == layers.render(), "ARCHITECTURE.md's diagram is stale: run `make docs`"


def test_every_command_named_in_the_docs_exists() -> None:
    unknown = [f"{page}: watchdesk{words}" for page, path, words, _ in _invocations() if not path]
    assert not unknown, "the docs name commands the CLI does not have:\n" + "\n".join(unknown)


def test_every_option_named_with_a_command_exists() -> None:
    root_options = {"--config", "-c", "--verbose", "-v", "--quiet", "-q", "--help"}
    wrong = [
        f"{page}: watchdesk {' '.join(path)} {option}"
        for page, path, _words, rest in _invocations()
        if path is not None
        for option in _OPTION.findall(rest)
        if option not in option_names(COMMANDS[path]) | root_options
    ]
    assert not wrong, "the docs name options the CLI does not have:\n" + "\n".join(wrong)


def test_every_command_is_in_the_readme() -> None:
    readme = _text(README)
    leaves = [p for p, cmd in COMMANDS.items() if not hasattr(cmd, "list_commands")]
    missing = [" ".join(p) for p in leaves if f"watchdesk {' '.join(p)}" not in readme]
    # `index setup` / `index status` are written "index status" after the first full form
    missing = [m for m in missing if f"`{m}`" not in readme and f"`{m.split()[-1]}`" not in readme]
    assert not missing, "README's Commands section lacks: " + ", ".join(missing)


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_config_examples_validate() -> None:
    checked = 0
    for page in PAGES:
        for block in _yaml_blocks(_text(page)):
            data = yaml.safe_load(block)
            if not isinstance(data, dict) or not set(data) <= set(Config.model_fields):
                continue  # a watchlists file or a fragment of something else
            Config.model_validate(data)
            checked += 1
    assert checked >= 1


def _has_path(model: type[BaseModel], parts: list[str]) -> bool:
    field = model.model_fields.get(parts[0])
    if field is None:
        return False
    if len(parts) == 1:
        return True
    annotation: Any = field.annotation
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return _has_path(candidate, parts[1:])
    return False


_KEY = re.compile(r"`((?:store|crawl|slack|alerts|web)\.[a-z_]+(?:\.[a-z_]+)*)(?::[^`]*)?`")
_SOURCE_KEY = re.compile(r"`sources\[\]\.([a-z_]+)`|source's `([a-z_]+)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_config_key_named_exists(page: Path) -> None:
    text = _text(page)
    unknown = [key for key in _KEY.findall(text) if not _has_path(Config, key.split("."))]
    for groups in _SOURCE_KEY.findall(text):
        key = next(g for g in groups if g)
        if key not in SourceConfig.model_fields:
            unknown.append(f"sources[].{key}")
    assert not unknown, f"{page.name} names config keys the schema lacks: {sorted(set(unknown))}"
