"""The conformance suite's data: query strings from outside the project, each with its source
and the outcome watchdesk must give it (issue 16).

Each case is one of
- `same(query, meaning)`: accepted, and it means what its source says it means; `meaning` is
  that reading written in plain watchdesk syntax (and, or, not, phrases, fields);
- `differs(query, meaning, section)`: accepted with watchdesk's reading `meaning`, which differs
  from the source's in the way docs/queries.md's section `section` states;
- `rejected(query, position)`: refused with a message pointing at `position`.

The strings are copied as their sources print them (typographic quotes included). The test
(tests/query/test_conformance.py) checks every meaning on generated documents through the
matcher, the embedded index and, where the Elasticsearch emulator is installed, the compiled
Elasticsearch query.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sources, as recorded for each string.
LUQUM = "luqum tests/test_parser.py (github.com/jurismarches/luqum, 74e2c47)"
LUQUM_ES = "luqum tests/test_elasticsearch/tests.py (74e2c47)"
LUQUM_CHECK = "luqum tests/test_check.py (74e2c47)"
LUQUM_HEADTAIL = "luqum tests/test_headtail.py (74e2c47)"
LUQUM_UTILS = "luqum tests/test_utils.py (74e2c47)"
LUQUM_NAMING = "luqum tests/test_naming.py (74e2c47)"
ES_SYNTAX = (
    "Elasticsearch reference, query string syntax "
    "(elastic/elasticsearch docs/reference/query-dsl/query-string-syntax.asciidoc)"
)
ES_QUERY_STRING = "Elasticsearch reference, query_string query (query-dsl-query-string-query)"
LUCENE = (
    "Lucene classic query parser syntax (apache/lucene lucene/queryparser/src/java/org/"
    "apache/lucene/queryparser/classic/package-info.java)"
)
MELTWATER_1 = (
    "Meltwater help, How to Master Boolean Search 1/3 (help.meltwater.com/en/articles/4064557)"
)
MELTWATER_2 = (
    "Meltwater help, How to Master Boolean Search 2/3 "
    "(support.meltwater.com/hc/en-us/articles/360023166073)"
)
MELTWATER_3 = (
    "Meltwater help, How to Master Boolean Search 3/3 (help.meltwater.com/en/articles/4064566)"
)
MELTWATER_PERF = (
    "Meltwater help, Explore: Search Performance and Best Practices "
    "(help.meltwater.com/en/articles/11465451)"
)
MELTWATER_BOOLEAN = "Meltwater support, Boolean (support.meltwater.com/hc/en-gb/articles/236016747)"
MELTWATER_BLOG = "Meltwater blog, The Boolean touch (meltwater.com/au/blog/the-boolean-touch)"
TALKWALKER = "Talkwalker, Search Syntax - Talkwalker Alerts (talkwalker.com/syntax-alerts)"
BRANDWATCH = (
    "Brandwatch community, Boolean explained: wildcard and question mark "
    "(community.brandwatch.com/boolean-explained-84/boolean-explained-wildcard-question-mark-355)"
)
PULSAR = (
    "Pulsar TRAC, Boolean special operators reference sheet "
    "(intercom.help/pulsar/en/articles/11778545)"
)
SENTIONE = "SentiOne, Operators and special characters (listen.help.sentione.com/docs/operators)"
LEXALYTICS = "Lexalytics, Boolean query syntax (lexalytics.com/support/tuning/boolean-query-syntax)"
ISSUE = "watchdesk issue 16 (strings analysts pasted)"


@dataclass(frozen=True)
class Case:
    query: str
    source: str
    outcome: str  # "same", "differs" or "rejected"
    meaning: str | None = None
    section: str | None = None
    position: int | None = None


def same(query: str, meaning: str, source: str) -> Case:
    return Case(query, source, "same", meaning)


def differs(query: str, meaning: str, section: str, source: str) -> Case:
    return Case(query, source, "differs", meaning, section)


def rejected(query: str, position: int, source: str) -> Case:
    return Case(query, source, "rejected", position=position)


# Sections of docs/queries.md that state a difference (the test checks each heading exists).
DEFAULT_AND = "Words are ANDed"
PROXIMITY = "Proximity in quotes"
SPLIT_WORDS = "Words split by punctuation"
PURE_NEGATIVE = "A query of only NOT"
IMPLICIT_OR = "A space next to OR"
NEAR_DEFAULT = "NEAR without a number"

CASES: list[Case] = [
    # -- luqum's parser tests ------------------------------------------------------------
    same("foo AND bar", "foo AND bar", LUQUM),
    differs("foo bar", "foo AND bar", DEFAULT_AND, LUQUM),
    rejected("subject:test", 0, LUQUM),
    rejected("field_42:42", 0, LUQUM),
    differs("hi , bye", "hi AND bye", DEFAULT_AND, LUQUM),
    same("-test AND -foo AND NOT bar", "NOT test AND NOT foo AND NOT bar", LUQUM),
    same("+test AND foo AND +bar", "test AND foo AND bar", LUQUM),
    same(
        '"a phrase (AND a complicated~ one)" AND "Another one"',
        '"a phrase and a complicated one" AND "another one"',
        LUQUM,
    ),
    rejected("/a regex (with some.*match+ing)?/ AND /Another one/", 0, LUQUM),
    rejected('"foo bar"~3 "foo baz"~ baz~0.3 fou~', 12, LUQUM),
    differs('"foo bar"^3 (baz AND bar)^2.1', '"foo bar" AND baz AND bar', DEFAULT_AND, LUQUM),
    rejected("test OR (subject:(foo OR bar) AND baz)", 9, LUQUM),
    rejected("foo:[10 TO 100] AND bar:[a* TO *}", 0, LUQUM),
    rejected("somedate:[now/d-1d+7H TO now/d+7H]", 0, LUQUM),
    rejected("subject:test desc:(house OR car)", 0, LUQUM),
    rejected('subject:test desc:(house OR car) AND NOT "approximatly this"~3', 0, LUQUM),
    rejected('foo:>10 AND bar:<=11 AND baz:>=100 AND fou:<"200"', 0, LUQUM),
    rejected("foo:(>=10 <11)", 0, LUQUM),
    rejected("+>=10^3", 1, LUQUM),
    rejected("1 OR +2~1^1 AND 3", 5, LUQUM),
    differs("1 2 AND 3 4", "1 AND 2 AND 3 AND 4", DEFAULT_AND, LUQUM),
    rejected("foo:TO", 0, LUQUM),
    rejected("foo:TO*", 0, LUQUM),
    rejected("foo:NOT*", 0, LUQUM),
    rejected('foo:"TO AND OR"', 0, LUQUM),
    rejected("foo:2015-12-19", 0, LUQUM),
    rejected("foo:2015-12-19T22:30", 0, LUQUM),
    rejected("foo:2015-12-19T22:30:45", 0, LUQUM),
    rejected("foo:2015-12-19T22:30:45.234Z", 0, LUQUM),
    rejected("foo:NOT", 7, LUQUM),
    rejected("foo:AND", 4, LUQUM),
    rejected("foo:OR", 4, LUQUM),
    rejected("OR", 0, LUQUM),
    rejected("AND", 0, LUQUM),
    rejected("((foo bar) ", 0, LUQUM),
    rejected("[foo TO bar", 8, LUQUM),
    rejected("[foo TO ]", 8, LUQUM),
    rejected("\\", 0, LUQUM),
    rejected("[-1 TO 5]", 0, LUQUM),
    rejected("[-10 TO -1]", 0, LUQUM),
    rejected("[5 TO -1]", 0, LUQUM),
    rejected("pays:FR AND monty:python", 0, LUQUM_ES),
    rejected("pays:FR OR monty:{2 TO 4] OR python", 0, LUQUM_ES),
    rejected("spam:de AND -monty:le AND title:alone", 0, LUQUM_ES),
    rejected("spam:eggs AND (monty:python OR life:bryan)", 0, LUQUM_ES),
    rejected("author.book.isbn.ref.lower:thebiglebowski", 0, LUQUM_ES),
    rejected('author.firstname:"François"', 0, LUQUM_ES),
    rejected('publish.site:"http://example.com/foo#bar"', 0, LUQUM_ES),
    rejected('text.english:"Spanish Cow"', 0, LUQUM_ES),
    rejected('text:(english:"Spanish Cow")', 6, LUQUM_ES),
    rejected('author:("test" AND firstname:Hugo)', 0, LUQUM_CHECK),
    rejected('author:test OR author.firstname:"Hugo"', 0, LUQUM_CHECK),
    rejected('collection.keywords.more_info:"foo"', 0, LUQUM_CHECK),
    same("\tfoo\nAND  bar\rAND\t\nbaz\r\r", "foo AND bar AND baz", LUQUM_HEADTAIL),
    same("\tfoo\nOR  bar\rOR\t\nbaz\r\r", "foo OR bar OR baz", LUQUM_HEADTAIL),
    differs("\tfoo\nbar\r", "foo AND bar", DEFAULT_AND, LUQUM_HEADTAIL),
    same("\tNOT\rfoo\n", "NOT foo", LUQUM_HEADTAIL),
    same("\t+\rfoo\n", "foo", LUQUM_HEADTAIL),
    same("\t-\rfoo\n", "NOT foo", LUQUM_HEADTAIL),
    same("\rfoo\t^2\n", "foo", LUQUM_HEADTAIL),
    same("\rfoo\t~2\n", "foo~2", LUQUM_HEADTAIL),
    same('\r"foo"\t~2\n', "foo", LUQUM_HEADTAIL),
    same('\t"foo  bar"\r', '"foo bar"', LUQUM_HEADTAIL),
    same("\t(\rfoo  )\n", "foo", LUQUM_HEADTAIL),
    same("\tTO\r", '"to"', LUQUM_HEADTAIL),
    same("\tfoo\r", "foo", LUQUM_HEADTAIL),
    rejected("\t/foo/\r", 1, LUQUM_HEADTAIL),
    rejected("\rfoo:\tbar\n", 1, LUQUM_HEADTAIL),
    rejected("\r{\tfoo\nTO  bar\r\n]\t\t", 1, LUQUM_HEADTAIL),
    differs("\ra\nb (c\t (d e f)) ", "a AND b AND c AND d AND e AND f", DEFAULT_AND, LUQUM_UTILS),
    differs(
        "a b (+f +g) -(c d) +e",
        "a AND b AND f AND g AND NOT (c AND d) AND e",
        DEFAULT_AND,
        LUQUM_UTILS,
    ),
    same(
        "(foo OR bar~2 OR baz^2) AND NOT spam", "(foo OR bar~2 OR baz) AND NOT spam", LUQUM_NAMING
    ),
    same('"b"', "b", LUQUM_NAMING),
    # -- Elasticsearch: query string syntax and the query_string query ---------------------
    rejected("status:active", 0, ES_SYNTAX),
    same("title:(quick OR brown)", "title:quick OR title:brown", ES_SYNTAX),
    rejected('author:"John Smith"', 0, ES_SYNTAX),
    rejected("first\\ name:Alice", 0, ES_SYNTAX),
    rejected("book.\\*:(quick OR brown)", 0, ES_SYNTAX),
    same("_exists_:title", "_exists_:title", ES_SYNTAX),
    differs("qu?ck bro*", "qu?ck AND bro*", DEFAULT_AND, ES_SYNTAX),
    differs("a* b* c*", "a* AND b* AND c*", DEFAULT_AND, ES_SYNTAX),
    rejected("field:*", 0, ES_SYNTAX),
    rejected("*ing", 0, ES_SYNTAX),
    rejected("name:/joh?n(ath[oa]n)/", 0, ES_SYNTAX),
    rejected("/.*n/", 0, ES_SYNTAX),
    differs("quikc~ brwn~ foks~", "quikc~2 AND brwn~2 AND foks~2", DEFAULT_AND, ES_SYNTAX),
    same("quikc~1", "quikc~1", ES_SYNTAX),
    differs('"fox quick"~5', '"fox quick"~5', PROXIMITY, ES_SYNTAX),
    rejected("date:[2012-01-01 TO 2012-12-31]", 0, ES_SYNTAX),
    rejected("count:[1 TO 5]", 0, ES_SYNTAX),
    rejected("tag:{alpha TO omega}", 0, ES_SYNTAX),
    rejected("count:[10 TO *]", 0, ES_SYNTAX),
    rejected("date:{* TO 2012-01-01}", 0, ES_SYNTAX),
    rejected("count:[1 TO 5}", 0, ES_SYNTAX),
    rejected("age:>10", 0, ES_SYNTAX),
    rejected("age:>=10", 0, ES_SYNTAX),
    rejected("age:<10", 0, ES_SYNTAX),
    rejected("age:<=10", 0, ES_SYNTAX),
    rejected("age:(>=10 AND <20)", 0, ES_SYNTAX),
    rejected("age:(+>=10 +<20)", 0, ES_SYNTAX),
    differs("quick^2 fox", "quick AND fox", DEFAULT_AND, ES_SYNTAX),
    differs('"john smith"^2   (foo bar)^4', '"john smith" AND foo AND bar', DEFAULT_AND, ES_SYNTAX),
    differs("foo bar baz", "foo AND bar AND baz", DEFAULT_AND, ES_SYNTAX),
    differs(
        "quick brown +fox -news", "quick AND brown AND fox AND NOT news", DEFAULT_AND, ES_SYNTAX
    ),
    same(
        "((quick AND fox) OR (brown AND fox) OR fox) AND NOT news",
        "((quick AND fox) OR (brown AND fox) OR fox) AND NOT news",
        ES_SYNTAX,
    ),
    same("(quick OR brown) AND fox", "(quick OR brown) AND fox", ES_SYNTAX),
    rejected("status:(active OR pending) title:(full text search)^2", 0, ES_SYNTAX),
    differs("\\(1\\+1\\)\\=2", '"1 1 2"', SPLIT_WORDS, ES_SYNTAX),
    same("kimchy\\!", "kimchy", ES_SYNTAX),
    rejected("this AND that OR thus", 0, ES_QUERY_STRING),
    differs(
        "(new york city) OR (big apple)",
        "(new AND york AND city) OR (big AND apple)",
        DEFAULT_AND,
        ES_QUERY_STRING,
    ),
    rejected("(content:this OR name:this) AND (content:that OR name:that)", 1, ES_QUERY_STRING),
    rejected("city.\\*:(this AND that OR thus)", 0, ES_QUERY_STRING),
    # -- Lucene's classic query parser syntax ------------------------------------------------
    same('title:"The Right Way" AND text:go', 'title:"the right way" AND text:go', LUCENE),
    same('title:"The Right Way" AND go', 'title:"the right way" AND go', LUCENE),
    differs("title:The Right Way", "title:the AND right AND way", DEFAULT_AND, LUCENE),
    same("te?t", "te?t", LUCENE),
    same("test*", "test*", LUCENE),
    same("te*t", "te*t", LUCENE),
    rejected("/[mb]oat/", 0, LUCENE),
    same("roam~", "roam~2", LUCENE),
    same("roam~1", "roam~1", LUCENE),
    differs('"jakarta apache"~10', '"jakarta apache"~10', PROXIMITY, LUCENE),
    rejected("mod_date:[20020101 TO 20030101]", 0, LUCENE),
    rejected("title:{Aida TO Carmen}", 6, LUCENE),
    differs("jakarta apache", "jakarta AND apache", DEFAULT_AND, LUCENE),
    differs("jakarta^4 apache", "jakarta AND apache", DEFAULT_AND, LUCENE),
    differs(
        '"jakarta apache"^4 "Apache Lucene"',
        '"jakarta apache" AND "apache lucene"',
        DEFAULT_AND,
        LUCENE,
    ),
    differs('"jakarta apache" jakarta', '"jakarta apache" AND jakarta', DEFAULT_AND, LUCENE),
    same('"jakarta apache" OR jakarta', '"jakarta apache" OR jakarta', LUCENE),
    same('"jakarta apache" AND "Apache Lucene"', '"jakarta apache" AND "apache lucene"', LUCENE),
    differs("+jakarta lucene", "jakarta AND lucene", DEFAULT_AND, LUCENE),
    same(
        '"jakarta apache" NOT "Apache Lucene"', '"jakarta apache" AND NOT "apache lucene"', LUCENE
    ),
    differs('NOT "jakarta apache"', 'NOT "jakarta apache"', PURE_NEGATIVE, LUCENE),
    same('"jakarta apache" -"Apache Lucene"', '"jakarta apache" AND NOT "apache lucene"', LUCENE),
    same("(jakarta OR apache) AND website", "(jakarta OR apache) AND website", LUCENE),
    same('title:(+return +"pink panther")', 'title:return AND title:"pink panther"', LUCENE),
    differs("\\(1\\+1\\)\\:2", '"1 1 2"', SPLIT_WORDS, LUCENE),
    same("roams", "roams", LUCENE),
    # -- Meltwater ---------------------------------------------------------------------------
    same("Apple AND watch", "apple AND watch", MELTWATER_2),
    same("Apple OR iPhone", "apple OR iphone", MELTWATER_2),
    same("Apple NOT “apple juice”", 'apple AND NOT "apple juice"', MELTWATER_2),
    same("Apple NEAR watch", "apple NEAR/4 watch", MELTWATER_2),
    same("Apple NEAR/10 watch", "apple NEAR/10 watch", MELTWATER_2),
    same("Apple AND (watch OR iWatch)", "apple AND (watch OR iwatch)", MELTWATER_2),
    same("Apple ONEAR watch", "apple ONEAR/4 watch", MELTWATER_2),
    same("Apple ONEAR/10 watch", "apple ONEAR/10 watch", MELTWATER_2),
    same(
        'apple AND (watch OR iwatch) NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        'apple AND (watch OR iwatch) AND NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        MELTWATER_1,
    ),
    same(
        'apple AND (watch OR iwatch OR IPHONE) NOT ("apple sauce" OR "apple juice" OR '
        '"apple orchard*")',
        'apple AND (watch OR iwatch OR iphone) AND NOT ("apple sauce" OR "apple juice" OR '
        '"apple orchard*")',
        MELTWATER_1,
    ),
    rejected(
        'apple AND (watch OR iwatch) NOT (IPHONE or "apple sauce" OR "apple juice" OR '
        '"apple orchard*")',
        40,
        MELTWATER_1,
    ),
    same(
        "apple AND (watch OR iwatch OR iphone OR ios OR macbook OR icloud OR ipad OR airpod) "
        'NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        "apple AND (watch OR iwatch OR iphone OR ios OR macbook OR icloud OR ipad OR airpod) "
        'AND NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        MELTWATER_3,
    ),
    same(
        "apple AND (watch OR iwatch OR iphone OR ios OR macbook OR icloud OR ipad OR airpod)^9 "
        'NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        "apple AND (watch OR iwatch OR iphone OR ios OR macbook OR icloud OR ipad OR airpod) "
        'AND NOT ("apple sauce" OR "apple juice" OR "apple orchard*")',
        MELTWATER_3,
    ),
    same("internatio*", "internatio*", MELTWATER_PERF),
    same("internat*", "internat*", MELTWATER_PERF),
    rejected("D*C*", 0, MELTWATER_PERF),
    same('DC OR "D.C."', 'dc OR "d c"', MELTWATER_PERF),
    same("shop*", "shop*", MELTWATER_PERF),
    same(
        "shop OR shops OR shopped OR shopping",
        "shop OR shops OR shopped OR shopping",
        MELTWATER_PERF,
    ),
    same("President NEAR/100 Trump", "president NEAR/100 trump", MELTWATER_PERF),
    same("President NEAR/10 Trump", "president NEAR/10 trump", MELTWATER_PERF),
    same("shop* NEAR center*", "shop* NEAR/4 center*", MELTWATER_PERF),
    same(
        "(shop OR shops OR Shopped OR shopping) NEAR (center OR centers)",
        "(shop OR shops OR shopped OR shopping) NEAR/4 (center OR centers)",
        MELTWATER_PERF,
    ),
    same('"sailboat" AND "racing"', "sailboat AND racing", MELTWATER_BOOLEAN),
    rejected('("sailboat" or "boat") AND "racing"', 12, MELTWATER_BOOLEAN),
    same(
        "(”Golden State Warriors” OR “GSW”) AND basketball",
        '("golden state warriors" OR gsw) AND basketball',
        MELTWATER_BLOG,
    ),
    same(
        "(“Golden State Warriors” AND basketball) OR (GSW AND basketball)",
        '("golden state warriors" AND basketball) OR (gsw AND basketball)',
        MELTWATER_BLOG,
    ),
    same("Subway", "subway", MELTWATER_BLOG),
    same("“Meltwater” NOT “Iceberg”", "meltwater AND NOT iceberg", MELTWATER_BLOG),
    # -- Talkwalker --------------------------------------------------------------------------
    same("BMW AND bike", "bmw AND bike", TALKWALKER),
    same("BMW AND NOT bike", "bmw AND NOT bike", TALKWALKER),
    same("chocolate -swiss", "chocolate AND NOT swiss", TALKWALKER),
    rejected("BMW -site:”mysite.com”", 5, TALKWALKER),
    same("BMW OR bike", "bmw OR bike", TALKWALKER),
    same("“BMW series”", '"bmw series"', TALKWALKER),
    same("BMW AND series", "bmw AND series", TALKWALKER),
    rejected("Luxembourg site:”http://www.wort.lu”", 11, TALKWALKER),
    rejected("BlackBerry site:”www.cnet.com” site:”bild.de”", 11, TALKWALKER),
    same("BMW AND (motorcycle OR car)", "bmw AND (motorcycle OR car)", TALKWALKER),
    same("(BMW AND motorcycle) OR (BMW AND car)", "bmw AND (motorcycle OR car)", TALKWALKER),
    same("Luxemb*", "luxemb*", TALKWALKER),
    # -- Brandwatch, Pulsar, SentiOne, Lexalytics ------------------------------------------
    same(
        "Kiss OR Kisses OR Kissing OR Kissed OR Kisser",
        "kiss OR kisses OR kissing OR kissed OR kisser",
        BRANDWATCH,
    ),
    same("Kiss*", "kiss*", BRANDWATCH),
    same("Ki*", "ki*", BRANDWATCH),
    same("Kisse*", "kisse*", BRANDWATCH),
    same("bel??ve OR sep?rate", "bel??ve OR sep?rate", BRANDWATCH),
    same("customi?e", "customi?e", BRANDWATCH),
    same("court* AND events", "court* AND events", PULSAR),
    same("court*", "court*", PULSAR),
    rejected("*range", 0, PULSAR),
    same("ran*ge", "ran*ge", PULSAR),
    rejected('!"NASA"', 0, PULSAR),
    rejected('(!"NASA" OR "SpaceX") AND rocket', 1, PULSAR),
    rejected("economy AND !GDP", 12, PULSAR),
    rejected('"blast* doors"~3', 0, PULSAR),
    same("(marketing AND strateg*)", "marketing AND strateg*", PULSAR),
    same("(innov* AND technology)", "innov* AND technology", PULSAR),
    same(
        "The AND United AND States AND of AND America",
        "the AND united AND states AND of AND america",
        SENTIONE,
    ),
    same("Samsung OR Apple", "samsung OR apple", SENTIONE),
    same("onions OR cheese", "onions OR cheese", LEXALYTICS),
    same("onions AND cheese", "onions AND cheese", LEXALYTICS),
    differs("onions NEAR cheese", "onions NEAR/4 cheese", NEAR_DEFAULT, LEXALYTICS),
    same("onions NEAR/50 cheese", "onions NEAR/50 cheese", LEXALYTICS),
    same("coffee AND tea AND decaf", "coffee AND tea AND decaf", LEXALYTICS),
    # -- the issue's own strings ------------------------------------------------------------
    rejected("china AND taiwan OR hong kong", 0, ISSUE),
    rejected("china OR taiwan AND trade", 9, ISSUE),
    differs(
        '"sister city" China OR Chinese', '"sister city" AND (china OR chinese)', IMPLICIT_OR, ISSUE
    ),
    rejected("china Not taiwan", 6, ISSUE),
    rejected("china Or taiwan", 6, ISSUE),
    rejected("china And taiwan", 6, ISSUE),
    rejected("a OR NOT b", 5, ISSUE),
    same("cit\\*", "cit", ISSUE),
    same('"sister city\\*"', '"sister city"', ISSUE),
    differs("te\\?t", '"te t"', SPLIT_WORDS, ISSUE),
    same(
        "(shop OR shopping) NEAR/5 (center OR centre)",
        "(shop OR shopping) NEAR/5 (center OR centre)",
        ISSUE,
    ),
    same("Apple W/5 watch", "apple NEAR/5 watch", ISSUE),
    same("Apple PRE/5 watch", "apple ONEAR/5 watch", ISSUE),
    rejected("Apple near watch", 6, ISSUE),
    same("published:[now-7d TO now]", "published:[now-7d TO now]", ISSUE),
    same("published:>=now/d", "published:[now/d TO *]", ISSUE),
    same("wom?n", "wom?n", ISSUE),
    same("organi*ation", "organi*ation", ISSUE),
    same("quick^2", "quick", ISSUE),
    same("beijng~1", "beijng~1", ISSUE),
    same("_exists_:published", "_exists_:published", ISSUE),
    same("title:(china OR taiwan)", "title:china OR title:taiwan", ISSUE),
    same("relevance:>=0.5", "relevance:[0.5 TO *]", ISSUE),
    same("-taiwan", "NOT taiwan", ISSUE),
    same("china , taiwan", "china AND taiwan", ISSUE),
    same("china OR (NOT taiwan)", "china OR (NOT taiwan)", ISSUE),
]
