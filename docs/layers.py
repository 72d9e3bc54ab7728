"""Draw the layers of the code from its own imports: the diagram in ARCHITECTURE.md.

`python docs/layers.py` prints it; `make docs` writes it into ARCHITECTURE.md between the
`layers:begin`/`layers:end` markers, and tests/test_docs.py fails when it is stale. The layers
are the import-linter contract's (pyproject.toml); the figures are measured afresh each time.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"


def contract_layers() -> list[list[str]]:
    """The contract's layers, top first, each a list of module names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = config["contracts"][0]["layers"]
    return [[m.strip() for m in layer.replace("|", ":").split(":")] for layer in layers]


def _owner(module: str, layers: list[list[str]]) -> str | None:
    best = None
    for layer in layers:
        for name in layer:
            if (module == name or module.startswith(name + ".")) and (
                best is None or len(name) > len(best)
            ):
                best = name
    return best


def render() -> str:
    layers = contract_layers()
    graph = grimp.build_graph("crawler", "spiders", "enrich", "alerts", "watchdesk")
    edges: Counter[tuple[str, str]] = Counter()
    for importer in graph.modules:
        a = _owner(importer, layers)
        for imported in graph.find_modules_directly_imported_by(importer):
            b = _owner(imported, layers)
            if a and b and a != b:
                edges[(a, b)] += 1
    rank = {name: i for i, layer in enumerate(layers) for name in layer}
    out = ["```"]
    for i, layer in enumerate(layers):
        label = "kernel: " if i == len(layers) - 1 else ""
        out.append(f"{i + 1}. {label}{', '.join(layer)}")
        below: Counter[str] = Counter()
        for (a, b), n in edges.items():
            if a in layer:
                below[b] += n
        if below:
            ordered = sorted(below.items(), key=lambda p: (rank[p[0]], p[0]))
            # the kernel's modules are one room to the floors above it
            kernel = set(layers[-1])
            names = [b for b, _ in ordered if b not in kernel]
            if any(b in kernel for b, _ in ordered):
                names.append("the kernel")
            targets = ", ".join(names)
            out.append(f"     imports: {targets}")
    upward = sum(n for (a, b), n in edges.items() if rank[b] < rank[a])
    out.append(f"(each floor and the rooms below it that it imports; imports upward: {upward})")
    out.append("```")
    return "\n".join(out)


def write(path: Path) -> None:
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write(ROOT / "ARCHITECTURE.md")
    else:
        print(render())
