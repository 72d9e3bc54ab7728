"""Untrusted text to HTML: markers, highlighted spans, the histogram (CSV cells:
tests/search/test_export.py)."""

from __future__ import annotations

import pytest

from watchdesk.web.markup import (
    Span,
    facet_label,
    highlight_html,
    histogram_bars,
    snippet_html,
)


def test_snippet_markers_become_marks_and_the_rest_is_escaped() -> None:
    html = snippet_html('a <script>x</script> [[sister city]] & [[<b>]] "q"')
    assert str(html) == (
        "a &lt;script&gt;x&lt;/script&gt; <mark>sister city</mark> &amp; "
        "<mark>&lt;b&gt;</mark> &#34;q&#34;"
    )


def test_unbalanced_markers_stay_text() -> None:
    assert str(snippet_html("[[open only <i>")) == "[[open only &lt;i&gt;"


def test_highlight_wraps_spans_escapes_text_and_skips_overlaps() -> None:
    text = "Indianapolis <img onerror=x> and Wuhan"
    spans = [
        Span(0, 12, "ent ent-place", "Indianapolis (Indiana, US)"),
        Span(4, 8, "term", "overlaps the first: dropped"),
        Span(33, 38, "term", 'watchlist "w": wuhan'),
        Span(30, 99, "term", "past the end: dropped"),
    ]
    html = str(highlight_html(text, spans))
    assert html.startswith('<mark class="ent ent-place" title="Indianapolis (Indiana, US)">')
    assert "&lt;img onerror=x&gt;" in html
    assert '<mark class="term" title="watchlist &#34;w&#34;: wuhan">Wuhan</mark>' in html
    assert html.count("<mark") == 2


def test_highlight_keeps_paragraphs() -> None:
    assert str(highlight_html("one\n\ntwo", [])) == "one<br><br>two"


def test_histogram_daily_with_gaps_then_monthly() -> None:
    daily = histogram_bars([("2024-05-01", 2), ("2024-05-03", 4)])
    assert [(b.label, b.count) for b in daily] == [
        ("2024-05-01", 2),
        ("2024-05-02", 0),
        ("2024-05-03", 4),
    ]
    assert (daily[0].height, daily[1].height, daily[2].height) == (40.0, 0.0, 80.0)
    assert daily[0].since == daily[0].until == "2024-05-01"
    assert daily[1].x > daily[0].x
    monthly = histogram_bars([("2023-12-05", 1), ("2023-12-20", 2), ("2024-05-29", 1)])
    assert [(b.label, b.count) for b in monthly] == [
        ("2023-12", 3),
        ("2024-01", 0),
        ("2024-02", 0),
        ("2024-03", 0),
        ("2024-04", 0),
        ("2024-05", 1),
    ]
    assert (monthly[2].since, monthly[2].until) == ("2024-02-01", "2024-02-29")
    assert histogram_bars([]) == []


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("region", "sichuan", "Sichuan"),
        ("region", "district of columbia", "District of Columbia"),
        ("region", "new york", "New York"),
        ("region", "四川", "四川"),
        ("event", "sister_city", "sister city"),
        ("label", "state_media", "state media"),
        ("entity", "org:cpaffc", "CPAFFC"),
        ("entity", "org:unknown", "org:unknown"),
        ("source", "indystar", "indystar"),
    ],
)
def test_facet_values_read_as_names(name: str, value: str, shown: str) -> None:
    assert facet_label(name, value, {"org:cpaffc": "CPAFFC"}) == shown
