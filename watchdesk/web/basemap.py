"""The offline base map: US states and Chinese provinces, shipped with the package.

`data/admin1-us-cn.json` holds the 51 US states (with DC) and the 31 provinces, autonomous
regions and municipalities of mainland China from Natural Earth's 1:50m "Admin 1 – States,
Provinces" (public domain), simplified by `build` (Douglas–Peucker, coordinates to 0.01°, islets
dropped); `data/README.md` gives the provenance and licence. No tile server, nothing fetched.

Contract:

- `load() -> Basemap`: the shipped regions (read once, cached).
- `Basemap.region(country, name)`: the region a stored place's `country` and `region` name
  (`Entity.region`, the gazetteer's English name, or an alias such as "Tibet") fall in, or None.
- `project(lon, lat) -> (x, y)`: the map's projection, equirectangular centred on the Pacific
  (longitudes west of Greenwich taken past 180°), so the US lies east of China across the ocean
  and each pair's line crosses it; x and y in degrees, y growing downwards.
- `build(source, out)`: regenerate the data file from Natural Earth's GeoJSON
  (`python -m watchdesk.web.basemap ne_50m_admin_1_states_provinces.geojson`).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from crawler.textnorm import fold

DATA = Path(__file__).parent / "data" / "admin1-us-cn.json"
COUNTRIES = ("US", "CN")
# Natural Earth's names where the gazetteer (enrich/gazetteer.py, from ISO 3166-2) says
# otherwise: the stored `Entity.region` is the gazetteer's.
NAME_OVERRIDES = {"CN-NM": "Inner Mongolia", "CN-XZ": "Tibet"}
ALIASES = {"CN-NM": ["Inner Mongol", "Nei Mongol"], "CN-XZ": ["Xizang"]}
TOLERANCE = 0.04  # degrees: about 4 km, finer than a pixel of a 1,000-pixel-wide map
MIN_RING_AREA = 0.05  # square degrees: smaller islands are dropped (not a region's largest)


@dataclass(frozen=True)
class Region:
    code: str  # ISO 3166-2, "US-IN", "CN-ZJ"
    country: str
    name: str
    names: tuple[str, ...]  # every name it is known by (English, alias, Chinese)
    rings: tuple[tuple[tuple[float, float], ...], ...]  # (lon, lat) rings, outer boundaries
    centre: tuple[float, float]  # (lon, lat) Natural Earth's label point


@dataclass(frozen=True)
class Basemap:
    regions: tuple[Region, ...]
    source: str
    # (country, folded name) -> region, built once
    _names: dict[tuple[str, str], Region] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        for r in self.regions:
            for n in r.names:
                self._names[(r.country, fold(n))] = r

    def region(self, country: str | None, name: str | None) -> Region | None:
        if not country or not name:
            return None
        return self._names.get((country.upper(), _folded(name)))


@lru_cache(maxsize=4096)
def _folded(name: str) -> str:
    # a result set names the same few dozen regions over and over: fold each once
    return fold(name)


@lru_cache(maxsize=1)
def load(path: Path = DATA) -> Basemap:
    data = json.loads(path.read_text(encoding="utf-8"))
    regions = tuple(
        Region(
            code=r["code"],
            country=r["country"],
            name=r["name"],
            names=tuple(r["names"]),
            rings=tuple(tuple((p[0], p[1]) for p in ring) for ring in r["rings"]),
            centre=(r["centre"][0], r["centre"][1]),
        )
        for r in data["regions"]
    )
    return Basemap(regions, data["source"])


def project(lon: float, lat: float) -> tuple[float, float]:
    """(x, y) in degrees: Pacific-centred equirectangular, x scaled by cos 35° (the latitude
    of both countries' middles) so that shapes keep their proportions there."""
    x = lon if lon >= 0 else lon + 360.0
    return x * math.cos(math.radians(35.0)), -lat


# -- building the data file ------------------------------------------------------------------


def _simplify(ring: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas–Peucker on one closed ring (iterative, its first point kept)."""
    if len(ring) < 5:
        return ring
    keep = [False] * len(ring)
    # a closed ring starts where it ends: split it at the point farthest from its start
    x0, y0 = ring[0]
    far = max(range(1, len(ring) - 1), key=lambda i: math.hypot(ring[i][0] - x0, ring[i][1] - y0))
    keep[0] = keep[far] = keep[-1] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = ring[first], ring[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-12
        best, index = 0.0, -1
        for i in range(first + 1, last):
            x, y = ring[i]
            d = abs(dy * (x - x1) - dx * (y - y1)) / norm
            if d > best:
                best, index = d, i
        if best > tolerance and index > 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(ring, keep, strict=True) if k]


def _area(ring: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False)))


def build(source: Path, out: Path = DATA) -> int:
    """Write the data file from Natural Earth's admin-1 GeoJSON; returns its size in bytes."""
    data = json.loads(source.read_text(encoding="utf-8"))
    regions: list[dict[str, Any]] = []
    for feature in data["features"]:
        p = feature["properties"]
        if p.get("iso_a2") not in COUNTRIES:
            continue
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        rings = [[(float(x), float(y)) for x, y, *_ in polygon[0]] for polygon in polygons]
        largest = max(rings, key=_area)
        kept = [r for r in rings if r is largest or _area(r) / 2 >= MIN_RING_AREA]
        simple = [[[round(x, 2), round(y, 2)] for x, y in _simplify(r, TOLERANCE)] for r in kept]
        code = str(p["iso_3166_2"])
        name = NAME_OVERRIDES.get(code, str(p["name"]))
        names = [name, str(p["name"]), *ALIASES.get(code, [])]
        if p.get("name_zh"):
            names.append(str(p["name_zh"]))
        regions.append(
            {
                "code": code,
                "country": p["iso_a2"],
                "name": name,
                "names": list(dict.fromkeys(names)),
                "rings": [r for r in simple if len(r) >= 4],
                "centre": [round(float(p["longitude"]), 2), round(float(p["latitude"]), 2)],
            }
        )
    regions.sort(key=lambda r: r["code"])
    body = {
        "source": "Natural Earth 1:50m Cultural Vectors, Admin 1 – States, Provinces "
        "(public domain, naturalearthdata.com), simplified by watchdesk/web/basemap.py",
        "regions": regions,
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")
    return len(text.encode())


if __name__ == "__main__":
    size = build(Path(sys.argv[1]))
    print(f"wrote {DATA} ({size:,} bytes)")
