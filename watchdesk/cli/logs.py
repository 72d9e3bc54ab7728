"""The log a person and a log shipper can read: formats, levels, and quiet network failures.

On a terminal, Rich as before; otherwise one plain line per record, never wrapped, starting
`ts=<ISO 8601 with offset> level=<LEVEL> logger=<name>` and followed by the message (itself
`key=value` pairs for the crawler's own lines); `--log-format json` gives one JSON object per
line, the message's `key=value` pairs as fields. A network failure (DNS, refused connection,
timeout) is one watchdesk line in words; the tracebacks Scrapy's robots.txt, retry and
downloader components log for it are lowered to DEBUG (shown with `-vv`). Tracebacks stay for
bugs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "rich", "text", "json"]

# watchdesk's own loggers: "watchdesk.*" and the packages' module loggers.
OWN = ("watchdesk", "crawler", "spiders", "enrich", "alerts")
# Libraries that talk a lot at INFO; their warnings still show (-vv shows everything).
THIRD_PARTY = (
    "scrapy",
    "twisted",
    "apscheduler",
    "trafilatura",
    "htmldate",
    "urllib3",
    "slack_sdk",
    "elastic_transport",
    "py.warnings",
    "asyncio",
    "filelock",
)

# What Scrapy logs at ERROR for a failure the crawler already reports in words (one poll
# line, one "article fetch failed" line): the retry middleware giving up, the robots.txt
# middleware failing to fetch robots.txt, the scraper's "Error downloading".
_SCRAPY_NETWORK_MESSAGES = ("Gave up retrying", "Error downloading", "Retrying ")

_PAIR = re.compile(r'(?<![\w.-])([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\'[^\']*\'|\S+)')


def _network_exception(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    try:
        from scrapy import exceptions as scrapy_errors
        from twisted.internet import error
        from twisted.web._newclient import ResponseFailed, ResponseNeverReceived
    except ImportError:  # twisted is always there with Scrapy; belt and braces
        return False
    wrapped = tuple(
        getattr(scrapy_errors, name)
        for name in (
            "CannotResolveHostError",
            "DownloadConnectionRefusedError",
            "DownloadTimeoutError",
            "DownloadFailedError",
            "ResponseDataLossError",
        )
        if hasattr(scrapy_errors, name)
    )
    return isinstance(
        exc,
        (
            *wrapped,
            error.DNSLookupError,
            error.ConnectError,
            error.TimeoutError,
            error.ConnectionLost,
            error.ConnectionDone,
            ResponseNeverReceived,
            ResponseFailed,
            TimeoutError,
            ConnectionError,
        ),
    )


class NetworkNoiseFilter(logging.Filter):
    """Lowers Scrapy's and Twisted's records about network failures to DEBUG, and drops them
    below `show_level` (DEBUG with -vv)."""

    def __init__(self, show_level: int) -> None:
        super().__init__()
        self.show_level = show_level

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("scrapy", "twisted")) or record.levelno <= logging.DEBUG:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        message = str(record.msg)
        if _network_exception(exc) or message.startswith(_SCRAPY_NETWORK_MESSAGES):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info, record.exc_text = None, None
            return self.show_level <= logging.DEBUG
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class PlainFormatter(logging.Formatter):
    """`ts=... level=... logger=... message`, one line per record (a bug's traceback follows
    on its own indented lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"ts={_timestamp(record)} level={record.levelname} logger={record.name} "
            + _one_line(record.getMessage())
        )
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += "\n" + "\n".join("    " + t for t in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, the message's key=value pairs,
    and `exc` (the traceback) for a bug."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in _PAIR.findall(message):
            if key not in data:
                data[key] = value[1:-1] if value[:1] in "\"'" and len(value) > 1 else value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(
    verbose: int = 0,
    quiet: bool = False,
    fmt: LogFormat = "auto",
    stream: TextIO | None = None,
) -> None:
    """Install watchdesk's log handler on the root logger.

    Levels: default INFO for watchdesk and WARNING for libraries; `-v` DEBUG for watchdesk;
    `-vv` DEBUG for the libraries too (Scrapy's network tracebacks included); `-q` WARNING.
    """
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "rich" if stream.isatty() else "text"
    handler: logging.Handler
    if fmt == "rich":
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(file=stream, stderr=stream is sys.stderr, highlight=False)
        handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    own = logging.WARNING if quiet else logging.DEBUG if verbose >= 1 else logging.INFO
    libraries = logging.WARNING if quiet or verbose < 2 else logging.DEBUG
    root = logging.WARNING if quiet else logging.DEBUG if verbose >= 2 else logging.INFO
    handler.addFilter(NetworkNoiseFilter(libraries))
    logging.basicConfig(level=root, handlers=[handler], force=True)
    for name in OWN:
        logging.getLogger(name).setLevel(own)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(libraries)
