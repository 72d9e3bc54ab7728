"""The parity query list: every operator and field, over tests/query/corpus.py.

Each backend's suite (tests/search for the embedded archive, tests/elastic for Elasticsearch)
runs these through its `Archive.search` and compares the set of articles with what the
in-process matcher (`crawler.query.evaluate`, with the corpus's alias resolver) accepts.
`PARITY_FILTERS` adds the CLI's filter options (SearchRequest fields) to a query.
"""

from __future__ import annotations

from datetime import date
from typing import Any

PARITY_QUERIES: list[str] = [
    # words, prefixes, plurals, word boundaries
    "city",
    "cit*",
    "cities",
    "ethnicity",
    "u.s.",
    '"50,000"',
    # phrases, hyphens, prefix phrases
    '"sister city"',
    "sister-city",
    '"Sister Cities"',
    'text:"sister cit*"',
    '"chinese cit*"',
    # proximity: two tokens (exact in the index), three and more (checked candidates)
    '"sister city"~3',
    '"city sister"~0',
    '"sister city"~20',
    '"sister cit*"~2',
    '"mayor deleg*"~3',
    '"友好 协议"~5',
    '"governor city wuhan"~8',
    'NOT "governor city wuhan"~8',
    # fields
    'title:"sister city"',
    "text:city",
    "title:cit*",
    # Chinese, traditional folded to simplified
    "友好城市",
    "友好城市 OR 姐妹城市",
    "title:孔子學院",
    "代表團",
    "武汉",
    # accents
    "Québec",
    "quebec",
    '"SAO PAULO"',
    # booleans
    "sister city",
    "sister AND city",
    "sister OR ethnicity",
    "city NOT sister",
    "city -sister",
    "+city +sister",
    "NOT city",
    "NOT city AND NOT china",
    "NOT (city OR china)",
    "(sister OR confucius) AND (city OR institute)",
    "(city NOT sister) OR (china AND event:legislation)",
    "NOT (title:city AND NOT text:city)",
    "chinese students",
    # facets
    "source:voa",
    "source:VOA",
    "language:ZH",
    "NOT language:en",
    "country:TW",
    "country:cn AND NOT country:US",
    "region:hubei",
    'region:"Hong Kong"',
    "region:Quebec",
    "event:sister_city",
    "event:termination AND event:education",
    "event:(delegation OR agreement)",
    "entity:org:cpaffc",
    "entity:CPAFFC",
    "entity:对外友协",
    'entity:"Zhou Zheng"',
    "entity:周正",
    "entity:person\\:zhou-zheng",
    "entity:org:ufwd OR 统战部",
    "place:Wuhan",
    "place:武漢",
    "place:canton",
    "place:geonames:4921868",
    'place:"st. louis"',
    # ranges
    "relevance:>=0.8",
    "relevance:>0.8",
    "relevance:<0.1",
    "relevance:<=0.1",
    "relevance:[0.3 TO 0.6]",
    "relevance:{0.3 TO 0.6}",
    "published:[2024-01-01 TO 2024-01-31]",
    "published:>=2024-05-01",
    "published:>2024-05-01",
    "published:<2024-01-01",
    "published:2024-05-01",
    "published:[* TO 2023-12-31]",
    "NOT published:[* TO *]",
    # mixtures
    '"sister city" AND country:CN AND NOT event:termination',
    "(title:china OR country:TW) AND relevance:>=0.4",
    "city OR country:TW",
    '"chinese cit*" OR "mayor deleg*"~3',
]

# (query, SearchRequest keyword arguments): the CLI's filter options ANDed into a query
PARITY_FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("city", {"sources": ["voa", "indystar"]}),
    ("", {"countries": ["TW"]}),
    ("", {"countries": ["CN"], "events": ["delegation"]}),
    ("sister", {"regions": ["Hubei"]}),
    ("", {"entities": ["CPAFFC"]}),
    ("", {"entities": ["org:ufwd", "person:zhou-zheng"]}),
    ("", {"languages": ["zh"]}),
    ("", {"since": date(2024, 5, 1)}),
    ("city", {"until": date(2023, 12, 31)}),
    ("", {"since": date(2024, 1, 1), "until": date(2024, 3, 31), "min_relevance": 0.5}),
]
