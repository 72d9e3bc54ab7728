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
    "label:state_media",
    "label:STATE_MEDIA",
    "NOT label:state_media",
    "label:(wire OR official) OR label:outlet",
    "city AND label:local",
    "label:think_tank",
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

# The operators of issues 16 and 17: every archive backend answers them exactly (the embedded
# index, tests/search/test_parity.py; Elasticsearch, tests/query/test_conformance.py), while
# the SQLite compiler, used only to narrow backtest candidates and by the FTS5 benchmark
# baseline, selects a superset of them (tests/query/test_sqlite.py).
OPERATOR_QUERIES: list[str] = [
    # issue 16: NEAR family over words, prefixes, phrases and groups, in and out of order
    "sister NEAR/0 city",
    "city NEAR/0 sister",
    "city ONEAR/0 sister",
    "sister ONEAR/0 city",
    "sister NEAR city",
    "wuhan NEAR/3 agreement",
    "wuhan ONEAR/3 agreement",
    "agreement ONEAR/3 wuhan",
    "agreement PRE/10 wuhan",
    "agreement W/2 wuhan",
    "(mayor OR governor) NEAR/5 (delegation OR wuhan)",
    "deleg* NEAR/4 mayor*",
    '"sister city" NEAR/3 wuhan',
    '"sister city" ONEAR/5 (wuhan OR hubei)',
    "title:(sister NEAR/1 wuhan)",
    "友好 NEAR/2 协议",
    "代表团 ONEAR/6 协议",
    "NOT (wuhan NEAR/3 agreement)",
    "NOT (wuhan ONEAR/8 agreement)",
    # wildcards, fuzzy words, boosts
    "cit?",
    "citi?s",
    "deleg*ion",
    "ethni*ty",
    "title:confu*us",
    "NOT cit?",
    "wuhn~1",
    "delegaton~1",
    "confucios~2",
    "mayr~",
    "title:holcom~1",
    "city^2",
    "(sister OR confucius)^3 AND city",
    '"sister city"^0.5',
    # existence, field groups, one-sided ranges, date math and date-times
    "_exists_:published",
    "NOT _exists_:published",
    "_exists_:language",
    "_exists_:entity",
    "_exists_:place",
    "NOT _exists_:label",
    "NOT _exists_:title",
    "title:(china OR taiwan OR wuhan)",
    "text:(sister AND NOT city)",
    "relevance:>=0.85",
    "published:<=2024-01-02",
    "published:>=2024-05-01T12:00:00",
    "published:>2024-05-01T12:00:00",
    'published:["2024-03-01T00:00:00" TO "2024-05-01T11:59:59"]',
    "published:[now-100y TO now]",
    "published:<now-1y/d",
    "published:>=now-10y/y",
    # case-sensitive words (issue 17)
    "case:Wuhan",
    "case:wuhan",
    "case:Sister",
    'case:"Sister Cities"',
    'case:"sister city"',
    "case:Cit*",
    "title:case:Confucius",
    "NOT case:Wuhan",
    # punctuation tokens are ignored
    "sister , city",
]

# `fetched` ranges: the store stamps `fetched` on save, so these are compared over the
# articles as stored (tests/search/test_parity.py), not as the corpus writes them.
FETCHED_QUERIES: list[str] = [
    "fetched:[now-1d TO now+1d]",
    "NOT fetched:<now-1h",
    "fetched:>=now/d OR country:TW",
    "_exists_:fetched",
]

# (query, SearchRequest keyword arguments): the CLI's filter options ANDed into a query
PARITY_FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("city", {"sources": ["voa", "indystar"]}),
    ("", {"labels": ["state_media"]}),
    ("sister", {"labels": ["local", "wire"]}),
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
