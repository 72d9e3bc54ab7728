"""The JSON Lines sink: appends one JSON object per alert to a file, durably (fsync).

Each line is `{"message_id", "delivered", "alert": {...}, "message": {"text", "blocks"}}`, written
with a single `write` on an O_APPEND descriptor, so lines from concurrent writers do not
interleave, and fsynced before `deliver` says ok (a crash cannot lose an alert reported as sent).
`alert.id` is in every line, so an alert whose send was interrupted is found again
(`find_delivered`) in the file's tail instead of being written twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from alerts.sinks.base import DeliveryResult, ReconcileError
from crawler.records import Alert

# Bytes at the end of the file searched for an interrupted alert: lines are a few KB and an
# interrupted send is among the last ones written, unless other writers share the file.
TAIL_BYTES = 8 * 1024 * 1024
# Lines written this long before the interrupted attempt are not searched past (clock steps).
RECONCILE_MARGIN = timedelta(minutes=5)


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

    def find_delivered(self, alert: Alert) -> str | None:
        """The `message_id` of the line written for `alert` (same id, kind and watchlist),
        searched newest first in the last TAIL_BYTES of the file and back to a little before
        `alert.sending_at`; None when there is none. Raises ReconcileError when the file cannot
        be read (retryable) or is too big to tell (not)."""
        if alert.id is None:
            return None
        stop = alert.sending_at - RECONCILE_MARGIN if alert.sending_at else None
        try:
            with self._lock:
                lines, whole = _tail_lines(self.path, TAIL_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ReconcileError(
                f"jsonl: {self.path}: {exc.strerror or exc}", retryable=True
            ) from None
        for line in reversed(lines):
            try:
                record = json.loads(line)
                written = datetime.fromisoformat(record["delivered"])
            except (ValueError, KeyError, TypeError):
                continue  # not a line of ours (or cut short): keep looking
            fields = record.get("alert") if isinstance(record, dict) else None
            if (
                isinstance(fields, dict)
                and fields.get("id") == alert.id
                and fields.get("kind") == alert.kind
                and fields.get("watchlist") == alert.watchlist
            ):
                return str(record.get("message_id") or "") or None
            if stop is not None and written < stop:
                return None
        if not whole:
            raise ReconcileError(
                f"jsonl: {self.path}: alert not in the last {TAIL_BYTES} bytes", retryable=False
            )
        return None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The alert's fields for a JSON record, without `payload` (the message is sent beside it)."""
    skip = ("payload", "sending_at")  # sending_at: the outbox's bookkeeping, not the alert's
    d = {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert) if f.name not in skip}
    if isinstance(d.get("created"), datetime):
        d["created"] = d["created"].isoformat()
    return d


def _tail_lines(path: Path, limit: int) -> tuple[list[bytes], bool]:
    """The complete lines in the last `limit` bytes of `path`, and whether that is all of it."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - limit)
        f.seek(start)
        data = f.read()
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one is cut
    return [line for line in lines if line.strip()], start == 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
