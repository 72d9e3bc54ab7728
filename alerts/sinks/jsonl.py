"""The JSON Lines sink: appends one JSON object per alert to a file, durably (fsync).

Each line is `{"message_id", "delivered", "alert": {...}, "message": {"text", "blocks"}}`, written
with a single `write` on an O_APPEND descriptor, so lines from concurrent writers do not
interleave, and fsynced before `deliver` says ok (a crash cannot lose an alert reported as sent).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from alerts.alert import Alert, DeliveryResult


class JsonlSink:
    """Appends alerts to `path` (parent directories are created); `message_id` is a uuid that
    is also written in the line."""

    name: str = "jsonl"
    option_types: ClassVar[Mapping[str, type]] = {"path": str, "fsync": bool}
    required_options: ClassVar[tuple[str, ...]] = ("path",)
    option_hints: ClassVar[Mapping[str, str]] = {}

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> JsonlSink:
        return cls(str(options["path"]), fsync=bool(options.get("fsync", True)))

    def __repr__(self) -> str:
        return f"JsonlSink(path={str(self.path)!r})"

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """Append one line; a file system error is a retryable failure (it may be fixed)."""
        message_id = uuid.uuid4().hex
        record = {
            "message_id": message_id,
            "delivered": datetime.now(UTC).isoformat(),
            "alert": alert_dict(alert),
            "message": message,
        }
        try:
            line = json.dumps(record, ensure_ascii=False, default=_json_default) + "\n"
        except (TypeError, ValueError) as exc:  # e.g. a circular structure: never fixable
            return DeliveryResult(ok=False, error=f"jsonl: cannot encode: {exc}", permanent=True)
        # "replace": a lone surrogate from a badly decoded page must not lose the whole alert.
        data = line.encode("utf-8", "replace")
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError(f"short write ({written} of {len(data)} bytes)")
                    if self.fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            return DeliveryResult(ok=False, error=f"jsonl: {self.path}: {exc.strerror or exc}")
        return DeliveryResult(ok=True, message_id=message_id)


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The alert's fields for a JSON record, without `payload` (the message is sent beside it)."""
    d = {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert) if f.name != "payload"}
    if isinstance(d.get("created"), datetime):
        d["created"] = d["created"].isoformat()
    return d


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
