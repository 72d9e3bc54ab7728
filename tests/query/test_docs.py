"""docs/queries.md: every example parses, and means what its "same as" column says.

The tables' rows are `| `query` | `same as` | meaning |` (or `refused` in the second column);
each pair is compared on documents generated from its words, through the matcher and the
embedded index, as the conformance suite does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from crawler.query import QueryError, parse_query
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.query.conformance import Case
from tests.query.test_conformance import REFERENCE, documents, matched

_ROW = re.compile(r"^\| `(?P<query>[^`]+)` \| (?P<same>`[^`]+`|refused) \|")


def examples() -> list[tuple[str, str]]:
    """(query, same-as or "refused") of the rows of every `| query | same as | meaning |` table."""
    out = []
    in_examples = False
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_examples = False
        elif line.startswith("| query | same as |"):
            in_examples = True
        found = _ROW.match(line)
        if found and in_examples:
            out.append((found["query"], found["same"].strip("`")))
    return out


EXAMPLES = examples()
ACCEPTED = [(q, m) for q, m in EXAMPLES if m != "refused"]
DOCS = {
    q: documents(1000 + i, Case(q, "docs/queries.md", "same", m))
    for i, (q, m) in enumerate(ACCEPTED)
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    store = Store(tmp_path_factory.mktemp("docs") / "watchdesk.db")
    for articles in DOCS.values():
        for article in articles:
            store.save_article(article)
    arch = EmbeddedArchive(store)
    yield arch
    arch.close()


def test_the_page_has_examples_of_every_kind() -> None:
    assert len(ACCEPTED) >= 60 and len(EXAMPLES) - len(ACCEPTED) >= 10


@pytest.mark.parametrize(("query", "same"), ACCEPTED)
def test_example_means_what_the_page_says(archive: EmbeddedArchive, query: str, same: str) -> None:
    articles = DOCS[query]
    want = matched(same, articles)
    assert matched(query, articles) == want
    source = articles[0].source
    request = SearchRequest(query=query, sources=[source], limit=len(articles) + 1)
    assert {h.article.id for h in archive.search(request).hits} == want


@pytest.mark.parametrize("query", [q for q, m in EXAMPLES if m == "refused"])
def test_refused_example_is_refused(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)


def test_every_refusal_message_is_explained() -> None:
    page = REFERENCE.read_text(encoding="utf-8")
    for query, same in EXAMPLES:
        if same != "refused":
            continue
        with pytest.raises(QueryError) as exc:
            parse_query(query)
        rows = re.findall(r"^\| `([^`]+)`", page, flags=re.M)
        message = _general(exc.value.message)
        assert any(message.startswith(_general(r)) for r in rows), exc.value.message


def _general(text: str) -> str:
    """A message with its quoted particulars ('Not', 'NEAR/3') made alike."""
    return re.sub(r"'[^']*'", "'x'", text)
