"""A fixture corpus of ~30 enriched articles (English and Chinese) for query-language tests.

Written to exercise every field: word boundaries (ethnicity vs city), plurals for prefixes,
accents, traditional characters, entities with aliases, facets, missing dates and languages.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.article import Article, Entity
from crawler.textnorm import fold

CPAFFC = Entity(
    "org:cpaffc", "Chinese People's Association for Friendship with Foreign Countries", "org", "CN"
)
UFWD = Entity("org:ufwd", "United Front Work Department", "org", "CN")
SCI = Entity("org:sister-cities-international", "Sister Cities International", "org", "US")
ZHOU = Entity("person:zhou-zheng", "Zhou Zheng", "person", "CN")
HOLCOMB = Entity("person:eric-holcomb", "Eric Holcomb", "person", "US")
INDIANA = Entity("geonames:4921868", "Indiana", "place", "US", "Indiana", kind="state")
INDIANAPOLIS = Entity("geonames:4259418", "Indianapolis", "place", "US", "Indiana", kind="city")
HUBEI = Entity("geonames:1806949", "Hubei", "place", "CN", "Hubei", kind="province")
WUHAN = Entity("geonames:1791247", "Wuhan", "place", "CN", "Hubei", kind="city")
WUHAN_ZH = Entity("geonames:1791247", "武汉", "place", "CN", "Hubei", kind="city")
HONG_KONG = Entity("geonames:1819729", "Hong Kong", "place", "CN", "Hong Kong", kind="city")
TAIPEI = Entity("geonames:1668341", "Taipei", "place", "TW", "Taipei", kind="city")
CANTON_OH = Entity("geonames:4409896", "Canton", "place", "US", "Ohio", kind="city")
GUANGZHOU = Entity("geonames:1809858", "Guangzhou", "place", "CN", "Guangdong", kind="city")
QUEBEC = Entity("geonames:6325494", "Québec", "place", "CA", "Québec", kind="city")
ST_LOUIS = Entity("geonames:4407066", "St. Louis", "place", "US", "Missouri", kind="city")
NANJING = Entity("geonames:1799962", "Nanjing", "place", "CN", "Jiangsu", kind="city")
CHINA = Entity("country:CN", "China", "country", "CN")
MISSOURI = Entity("geonames:4398678", "Missouri", "place", "US", "Missouri", kind="state")

# folded alias -> entity ids, as the enrichment step's EntityMatcher.ids_for_name answers
ALIASES: dict[str, set[str]] = {
    "cpaffc": {"org:cpaffc"},
    "对外友协": {"org:cpaffc"},
    "中国人民对外友好协会": {"org:cpaffc"},
    "ufwd": {"org:ufwd"},
    "统战部": {"org:ufwd"},
    "周正": {"person:zhou-zheng"},
    "canton": {"geonames:4409896", "geonames:1809858"},
    "peking": set(),
}


def resolve_alias(name: str) -> set[str]:
    return ALIASES.get(fold(name), set())


# Each source's label, as a config would give it (`SourceConfig.label`); the blog has none.
LABELS: dict[str, str] = {
    "voa": "state_media",
    "xinhua": "state_media",
    "indystar": "local",
    "stltoday": "local",
    "cantonrep": "local",
    "detroitnews": "local",
    "reuters": "wire",
    "gov-press": "official",
    "scmp": "outlet",
    "dajiyuan": "outlet",
    "taipeitimes": "outlet",
}


def _day(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=UTC)


def _a(
    n: int,
    title: str,
    text: str,
    *,
    source: str = "indystar",
    language: str | None = "en",
    entities: tuple[Entity, ...] = (),
    countries: tuple[str, ...] = (),
    events: tuple[str, ...] = (),
    relevance: float = 0.5,
    published: datetime | None = None,
) -> Article:
    return Article(
        url=f"https://example.org/{n}",
        canonical_url=f"https://example.org/{n}",
        source=source,
        label=LABELS.get(source, ""),
        title=title,
        text=text,
        language=language,
        entities=list(entities),
        countries=list(countries),
        events=list(events),
        relevance=relevance,
        published=published,
    )


ARTICLES: list[Article] = [
    _a(
        1,
        "Indiana renews sister city ties with Wuhan",
        "Governor Eric Holcomb said the sister city agreement with Wuhan, Hubei, would continue. "
        "The Chinese People's Association for Friendship with Foreign Countries welcomed it.",
        entities=(INDIANA, WUHAN, HUBEI, HOLCOMB, CPAFFC),
        countries=("US", "CN"),
        events=("sister_city", "agreement"),
        relevance=0.91,
        published=_day(2024, 5, 1),
    ),
    _a(
        2,
        "Lawmakers question sister-city programs",
        "Senators asked the State Department to review sister-city links with Chinese cities, "
        "citing united front work.",
        source="voa",
        entities=(UFWD,),
        countries=("US", "CN"),
        events=("sister_city", "influence"),
        relevance=0.8,
        published=_day(2024, 3, 15),
    ),
    _a(
        3,
        "Sister Cities International conference opens",
        "Delegates from many cities met in Washington; the ethnicity of speakers was diverse.",
        source="voa",
        entities=(SCI,),
        countries=("US",),
        events=(),
        relevance=0.2,
        published=_day(2023, 7, 20),
    ),
    _a(
        4,
        "Festival celebrates ethnicity and culture",
        "A downtown festival in Indianapolis celebrated ethnicity; no city officials attended.",
        entities=(INDIANAPOLIS,),
        countries=("US",),
        relevance=0.05,
        published=_day(2024, 1, 2),
    ),
    _a(
        5,
        "印第安纳州与湖北省签署友好城市协议",
        "印第安纳州州长与湖北省代表团签署了友好城市合作协议。中国人民对外友好协会表示欢迎。",
        source="xinhua",
        language="zh",
        entities=(INDIANA, HUBEI, CPAFFC),
        countries=("CN", "US"),
        events=("sister_city", "agreement", "delegation"),
        relevance=0.95,
        published=_day(2024, 5, 2),
    ),
    _a(
        6,
        "武漢與印第安納簽署姐妹城市備忘錄",
        "武漢市代表團訪問印第安納州，雙方簽署了諒解備忘錄，建立友好城市關係。",
        source="dajiyuan",
        language="zh",
        entities=(WUHAN_ZH, INDIANA),
        countries=("CN", "US"),
        events=("sister_city", "agreement", "delegation"),
        relevance=0.88,
        published=_day(2024, 5, 3),
    ),
    _a(
        7,
        "University closes Confucius Institute",
        "The state university closed its Confucius Institute after a new state law; "
        "Confucius Classrooms will also end.",
        source="voa",
        countries=("US", "CN"),
        events=("education", "termination", "legislation"),
        relevance=0.85,
        published=_day(2023, 11, 30),
    ),
    _a(
        8,
        "孔子學院關閉",
        "該州大學宣布關閉孔子學院，結束合作。",
        source="dajiyuan",
        language="zh",
        countries=("US", "CN"),
        events=("education", "termination"),
        relevance=0.7,
        published=_day(2023, 12, 1),
    ),
    _a(
        9,
        "Missouri bill restricts Chinese land purchases",
        "The bill would ban foreign adversary ownership of farmland near military bases in "
        "Missouri.",
        source="stltoday",
        entities=(MISSOURI, CHINA),
        countries=("US", "CN"),
        events=("legislation",),
        relevance=0.75,
        published=_day(2024, 2, 10),
    ),
    _a(
        10,
        "Canton, Ohio mayor visits Guangzhou",
        "The mayor of Canton led a trade mission to Guangzhou, the city once called Canton.",
        source="cantonrep",
        entities=(CANTON_OH, GUANGZHOU),
        countries=("US", "CN"),
        events=("delegation",),
        relevance=0.6,
        published=_day(2024, 4, 18),
    ),
    _a(
        11,
        "Québec delegation tours factories",
        "A delegation from Québec visited factories in Nanjing to discuss investment.",
        source="scmp",
        language="fr",
        entities=(QUEBEC, NANJING),
        countries=("CA", "CN"),
        events=("delegation", "investment"),
        relevance=0.3,
        published=_day(2024, 6, 5),
    ),
    _a(
        12,
        "Taipei and Phoenix mark sister city anniversary",
        "Taipei officials visited Phoenix for the 45th anniversary of their sister-city ties.",
        source="taipeitimes",
        entities=(TAIPEI,),
        countries=("TW", "US"),
        events=("sister_city",),
        relevance=0.4,
        published=_day(2024, 9, 9),
    ),
    _a(
        13,
        "Zhou Zheng meets mayors in Iowa",
        "Consul General Zhou Zheng hosted a delegation of mayors and praised friendship cities.",
        source="scmp",
        entities=(ZHOU,),
        countries=("CN", "US"),
        events=("delegation", "sister_city"),
        relevance=0.82,
        published=_day(2024, 3, 1),
    ),
    _a(
        14,
        "周正会见美国市长代表团",
        "周正总领事会见了来访的美国市长代表团，强调友城合作。",
        source="xinhua",
        language="zh",
        entities=(ZHOU,),
        countries=("CN", "US"),
        events=("delegation", "sister_city"),
        relevance=0.83,
        published=_day(2024, 3, 2),
    ),
    _a(
        15,
        "Hong Kong trade office opens in St. Louis",
        "The Hong Kong Economic and Trade Office opened a branch in St. Louis, Missouri.",
        source="stltoday",
        entities=(HONG_KONG, ST_LOUIS, MISSOURI),
        countries=("CN", "US"),
        events=("investment",),
        relevance=0.55,
        published=None,
    ),
    _a(
        16,
        "Citizens debate city budget",
        "Citizens of the city debated the budget; citation needed for the cited numbers.",
        source="indystar",
        relevance=0.0,
        published=_day(2022, 12, 31, 23),
    ),
    _a(
        17,
        "Espionage case tied to local officials",
        "Prosecutors say an influence operation tried to infiltrate a city council; "
        "United Front Work Department links were alleged.",
        source="voa",
        entities=(UFWD,),
        countries=("US", "CN"),
        events=("influence",),
        relevance=0.78,
        published=_day(2024, 8, 12),
    ),
    _a(
        18,
        "統戰部被指滲透地方政府",
        "報導稱統一戰線工作部試圖影響美國地方官員。",
        source="dajiyuan",
        language="zh",
        entities=(UFWD,),
        countries=("CN", "US"),
        events=("influence",),
        relevance=0.72,
        published=_day(2024, 8, 13),
    ),
    _a(
        19,
        "Electric vehicle plant gets tax incentives",
        "A Chinese battery maker will build a plant; the state offered tax incentives for the "
        "factory and its investment.",
        source="detroitnews",
        countries=("US", "CN"),
        events=("investment",),
        relevance=0.66,
        published=_day(2024, 1, 31, 0),
    ),
    _a(
        20,
        "Students exchange program resumes",
        "The student exchange between the sister cities resumed; 50,000 American youths are "
        "invited to China.",
        source="voa",
        countries=("US", "CN"),
        events=("education", "sister_city"),
        relevance=0.61,
        published=_day(2024, 2, 1, 0),
    ),
    _a(
        21,
        "Weather report",
        "Sunny skies across the state today.",
        source="indystar",
        language=None,
        relevance=0.0,
        published=_day(2024, 5, 1, 0),
    ),
    _a(
        22,
        "City suspends ties with Chinese sister city",
        "The council voted to suspend the relationship, citing human rights; the sister city "
        "in Hubei province was notified.",
        source="cantonrep",
        entities=(HUBEI,),
        countries=("US", "CN"),
        events=("sister_city", "termination"),
        relevance=0.9,
        published=_day(2024, 7, 4),
    ),
    _a(
        23,
        "São Paulo and Zürich sign pact",
        "An unrelated pact between São Paulo and Zürich.",
        source="reuters",
        language="pt",
        relevance=0.01,
        published=_day(2024, 4, 1),
    ),
    _a(
        24,
        "U.S.-China relations at a low point",
        "Relations between the U.S. and China are at their lowest point; mayors still travel.",
        source="scmp",
        entities=(CHINA,),
        countries=("US", "CN"),
        relevance=0.35,
        published=_day(2024, 2, 29),
    ),
    _a(
        25,
        "Sister, city and friendship",
        "The word sister appears here, then many other words come between before city appears.",
        source="blog",
        relevance=0.1,
        published=_day(2024, 10, 1),
    ),
    _a(
        26,
        "City sister program?",
        "A city sister arrangement is sister in name only.",
        source="blog",
        relevance=0.1,
        published=_day(2024, 10, 2),
    ),
    _a(
        27,
        "Governor signs MOU with Guangdong",
        "The governor signed a memorandum of understanding and a letter of intent with "
        "Guangdong province on trade.",
        source="gov-press",
        entities=(GUANGZHOU,),
        countries=("US", "CN"),
        events=("agreement",),
        relevance=0.77,
        published=_day(2023, 5, 5),
    ),
    _a(
        28,
        "",
        "Body only: a friendship city pact with Nanjing was signed in St. Louis.",
        source="stltoday",
        entities=(NANJING, ST_LOUIS),
        countries=("CN", "US"),
        events=("sister_city", "agreement"),
        relevance=0.67,
        published=_day(2024, 11, 11),
    ),
    _a(
        29,
        "Delegation visits Beijing",
        "",
        source="voa",
        countries=("US", "CN"),
        events=("delegation",),
        relevance=0.5,
        published=_day(2024, 11, 12),
    ),
    _a(
        30,
        "对外友协举办地方合作论坛",
        "对外友协与美国姐妹城市国际组织举办论坛。",
        source="xinhua",
        language="zh",
        entities=(CPAFFC, SCI),
        countries=("CN", "US"),
        events=("sister_city",),
        relevance=0.86,
        published=_day(2024, 6, 30),
    ),
    _a(
        31,
        "Chinese students in Indiana",
        "Chinese students at Indiana universities; a cited study on ethnicity and cities.",
        source="indystar",
        entities=(INDIANA,),
        countries=("US",),
        events=("education",),
        relevance=0.45,
        published=_day(2024, 1, 15),
    ),
]

# Words that appear in the corpus (and some that do not), for generated queries.
VOCAB: list[str] = [
    "sister",
    "city",
    "cities",
    "ties",
    "wuhan",
    "indiana",
    "china",
    "chinese",
    "delegation",
    "confucius",
    "institute",
    "mayor",
    "governor",
    "ethnicity",
    "agreement",
    "bill",
    "land",
    "hubei",
    "canton",
    "guangzhou",
    "zhou",
    "zheng",
    "friendship",
    "united",
    "front",
    "u",
    "s",
    "state",
    "hong",
    "kong",
    "taipei",
    "investment",
    "plant",
    "students",
    "missing",
    "quebec",
    "sao",
    "友",
    "好",
    "城",
    "市",
    "孔",
    "子",
    "学",
    "院",
    "代",
    "表",
    "团",
    "协",
]
PREFIXES: list[str] = ["cit", "sist", "deleg", "chin", "confuc", "gov", "inv", "stud", "zz"]
FACETS: dict[str, list[str]] = {
    "source": ["voa", "xinhua", "scmp", "indystar", "nosuch"],
    "label": ["state_media", "wire", "local", "official", "think_tank", "STATE_MEDIA"],
    "language": ["en", "zh", "fr", "de"],
    "country": ["CN", "US", "TW", "CA", "JP"],
    "region": ["Hubei", "Indiana", "Missouri", "Hong Kong", "Québec", "Texas"],
    "event": [
        "sister_city",
        "delegation",
        "agreement",
        "investment",
        "education",
        "legislation",
        "influence",
        "termination",
    ],
    "entity": [
        "org:cpaffc",
        "org:ufwd",
        "person:zhou-zheng",
        "Zhou Zheng",
        "CPAFFC",
        "周正",
        "对外友协",
        "Sister Cities International",
        "org:nosuch",
    ],
    "place": [
        "geonames:1791247",
        "Wuhan",
        "武汉",
        "Hong Kong",
        "Canton",
        "St. Louis",
        "geonames:4921868",
        "Indiana",
    ],
}
