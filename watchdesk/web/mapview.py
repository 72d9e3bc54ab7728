"""Places on a map: the US states and Chinese provinces of a result set, and their pairs.

`places_of(articles)` counts, per state or province of the shipped base map
(`watchdesk.web.basemap`), the stories (syndicated copies once) that name a place in it, the
places themselves at their stored coordinates, and the pairs: a story naming a US state and a
Chinese province ("Indiana ↔ Zhejiang") counts once for that pair. `map_svg` draws them as one
SVG, on the server as the attention chart is (no script, no tile server, the CSP unchanged):
regions shaded by their stories, places as dots, pairs as lines between the regions' label
points, widest for the most stories. Every name is escaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from crawler.article import Article
from watchdesk.web.basemap import Basemap, Region, load, project

WIDTH = 1000
MARGIN = 8
# Sequential blues (ColorBrewer "Blues", 5 classes) for regions by their share of the peak.
SHADES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
EMPTY = "#f1f1ee"
PAIR_COLOUR = "#D55E00"
MAX_PAIRS = 40  # more lines than this is a hairball; the table lists every pair


@dataclass
class Place:
    name: str
    region: str
    lon: float
    lat: float
    stories: int = 0


@dataclass
class MapCounts:
    """What a result set puts on the map; every count is of stories."""

    regions: Counter[str] = field(default_factory=Counter)  # region code -> stories
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (US code, CN code)
    places: dict[str, Place] = field(default_factory=dict)  # entity id -> place
    stories: int = 0  # stories of the set naming at least one mapped region


def places_of(articles: Iterable[Article], basemap: Basemap | None = None) -> MapCounts:
    """The map's counts for these articles (copies of one story counted once)."""
    base = basemap or load()
    out = MapCounts()
    regions_of: dict[str, set[str]] = {}  # story -> region codes
    places_of_story: dict[str, set[str]] = {}
    for article in articles:
        story = article.cluster_id or article.id
        codes = regions_of.setdefault(story, set())
        seen = places_of_story.setdefault(story, set())
        for ent in article.entities:
            if ent.type != "place":
                continue
            region = base.region(ent.country, ent.region)
            if region is None:
                continue
            codes.add(region.code)
            if ent.lat is not None and ent.lon is not None and ent.id not in seen:
                seen.add(ent.id)
                place = out.places.setdefault(
                    ent.id, Place(ent.name, region.name, float(ent.lon), float(ent.lat))
                )
                place.stories += 1
    for codes in regions_of.values():
        if not codes:
            continue
        out.stories += 1
        out.regions.update(codes)
        us = sorted(c for c in codes if c.startswith("US-"))
        cn = sorted(c for c in codes if c.startswith("CN-"))
        out.pairs.update((u, c) for u in us for c in cn)
    return out


def _bounds(base: Basemap) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for region in base.regions:
        for ring in region.rings:
            for lon, lat in ring:
                x, y = project(lon, lat)
                xs.append(x)
                ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def _shade(n: int, peak: int) -> str:
    if not n:
        return EMPTY
    return SHADES[min(len(SHADES) - 1, (len(SHADES) * n - 1) // max(peak, 1))]


def _stories(n: int) -> str:
    return "1 story" if n == 1 else f"{n} stories"


def map_svg(counts: MapCounts, basemap: Basemap | None = None) -> Markup:
    """The map as one SVG: a `<path class="region">` per state and province (shaded by its
    stories, named in its `<title>`), a `<circle>` per place, a `<line class="pair">` per pair."""
    base = basemap or load()
    x0, y0, x1, y1 = _bounds(base)
    scale = (WIDTH - 2 * MARGIN) / (x1 - x0)
    height = round((y1 - y0) * scale + 2 * MARGIN)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        x, y = project(lon, lat)
        return MARGIN + (x - x0) * scale, MARGIN + (y - y0) * scale

    peak = max(counts.regions.values(), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="places-map" viewBox="0 0 {WIDTH} '
        f'{height}" width="{WIDTH}" height="{height}" role="img" '
        'aria-label="US states and Chinese provinces of the results, and their pairs" '
        'font-family="sans-serif" font-size="11">'
    ]
    by_code: dict[str, Region] = {}
    for region in base.regions:
        by_code[region.code] = region
        d = " ".join(
            "M"
            + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(lon, lat) for lon, lat in ring))
            + "Z"
            for ring in region.rings
        )
        n = counts.regions.get(region.code, 0)
        parts.append(
            f'<path class="region" data-code="{escape(region.code)}" d="{d}" '
            f'fill="{_shade(n, peak)}" stroke="#999" stroke-width="0.5">'
            f"<title>{escape(region.name)}: {_stories(n)}</title></path>"
        )
    top = max(counts.pairs.values(), default=1)
    for (us, cn), n in counts.pairs.most_common(MAX_PAIRS):
        a, b = by_code[us], by_code[cn]
        (ax, ay), (bx, by) = xy(*a.centre), xy(*b.centre)
        width = 1 + 4 * n / top
        parts.append(
            f'<line class="pair" x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
            f'stroke="{PAIR_COLOUR}" stroke-opacity="0.6" stroke-width="{width:.1f}" '
            f'stroke-linecap="round"><title>{escape(a.name)} ↔ {escape(b.name)}: '
            f"{_stories(n)}</title></line>"
        )
    for place in counts.places.values():
        x, y = xy(place.lon, place.lat)
        parts.append(
            f'<circle class="place" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#222">'
            f"<title>{escape(place.name)} ({escape(place.region)}): "
            f"{_stories(place.stories)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def pair_rows(counts: MapCounts, basemap: Basemap | None = None) -> list[tuple[str, str, int]]:
    """(US state, Chinese province, stories) for every pair, most stories first."""
    base = basemap or load()
    names = {r.code: r.name for r in base.regions}
    ranked = sorted(counts.pairs.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(names[u], names[c], n) for (u, c), n in ranked]
