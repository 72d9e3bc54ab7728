"""Shared helpers for the Elasticsearch tests: mapped field paths, a closed loopback port."""

from __future__ import annotations

import socket
from typing import Any


def mapped_fields(mappings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every mapped field path ("entities.location", "title.english") -> its mapping."""
    out: dict[str, dict[str, Any]] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            out[path] = spec
            if "properties" in spec:
                walk(spec["properties"], path + ".")
            for sub, sub_spec in (spec.get("fields") or {}).items():
                out[f"{path}.{sub}"] = sub_spec

    walk(mappings["properties"], "")
    return out


def document_paths(doc: Any, prefix: str = "", stop: frozenset[str] = frozenset()) -> set[str]:
    """The field paths a document writes (lists flattened; `stop` paths not descended into)."""
    out: set[str] = set()
    if isinstance(doc, list):
        for item in doc:
            out |= document_paths(item, prefix, stop)
        return out
    if not isinstance(doc, dict):
        return out
    for key, value in doc.items():
        path = prefix + key
        out.add(path)
        if path in stop:
            continue
        if isinstance(value, dict) and set(value) != {"lat", "lon"} or isinstance(value, list):
            out |= document_paths(value, path + ".", stop)
    return out


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
