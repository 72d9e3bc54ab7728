"""Alert sinks chosen by name: `build_sink("slack")`, `build_sink("jsonl", path=...)`.

Each sink class declares the options it accepts (with their types) and the ones it requires;
`build_sink` checks them and raises `SinkConfigError` naming the sink and the option, before
anything is sent. Secrets (the Slack token, webhook header values) never come from options:
the sinks read them from environment variables, and no error message ever quotes a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from alerts.sinks.base import Sink
from alerts.sinks.jsonl import JsonlSink
from alerts.sinks.slack import SlackSink
from alerts.sinks.terminal import TerminalSink
from alerts.sinks.webhook import WebhookSink


class SinkConfigError(ValueError):
    """A sink cannot be built from the given options or environment; the message says which."""


class SinkClass(Protocol):
    """What `build_sink` needs from a sink class."""

    name: str
    option_types: ClassVar[Mapping[str, type]]
    required_options: ClassVar[tuple[str, ...]]
    option_hints: ClassVar[Mapping[str, str]]

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> Sink: ...


SINKS: dict[str, type[SinkClass]] = {
    cls.name: cls for cls in (SlackSink, TerminalSink, JsonlSink, WebhookSink)
}


def _type_ok(value: Any, expected: type) -> bool:
    if isinstance(value, bool) and expected is not bool:  # True is an int, not a timeout
        return False
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def build_sink(name: str, /, environ: Mapping[str, str] | None = None, **options: Any) -> Sink:
    """Build the sink registered as `name` from its options (None values count as unset).

    `environ` defaults to `os.environ`; tests pass a dict. Raises SinkConfigError for an unknown
    sink, a missing or unknown option, an option of the wrong type, or a missing environment
    variable; messages name the sink and the option or variable, never a value.
    """
    cls = SINKS.get(name)
    if cls is None:
        raise SinkConfigError(f"unknown sink {name!r} (known: {', '.join(sorted(SINKS))})")
    given = {k: v for k, v in options.items() if v is not None}
    for key in cls.required_options:
        if given.get(key) in (None, ""):
            raise SinkConfigError(f"sink {name!r}: missing required option {key!r}")
    for key, value in given.items():
        if key not in cls.option_types:
            hint = cls.option_hints.get(key) or (
                f"accepted: {', '.join(sorted(cls.option_types))}"
                if cls.option_types
                else "it accepts no options"
            )
            raise SinkConfigError(f"sink {name!r}: unknown option {key!r} ({hint})")
        expected = cls.option_types[key]
        if not _type_ok(value, expected):
            raise SinkConfigError(
                f"sink {name!r}: option {key!r} must be {expected.__name__}, "
                f"not {type(value).__name__}"
            )
    try:
        return cls.from_options(given, os.environ if environ is None else environ)
    except ValueError as exc:
        raise SinkConfigError(f"sink {name!r}: {exc}") from None


__all__ = [
    "SINKS",
    "JsonlSink",
    "SinkConfigError",
    "SlackSink",
    "TerminalSink",
    "WebhookSink",
    "build_sink",
]
