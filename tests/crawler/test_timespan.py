"""The one grammar for relative dates: `crawler.timespan`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crawler.timespan import parse_day, parse_span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(days=14)),
        ("6mo", timedelta(days=180)),
        ("6M", timedelta(days=180)),
        ("15m", timedelta(minutes=15)),
        ("30s", timedelta(seconds=30)),
        ("1y", timedelta(days=365)),
        (" 30 D ", timedelta(days=30)),
        ("\t2W\n", timedelta(days=14)),
        ("007d", timedelta(days=7)),
    ],
)
def test_parse_span_units(text: str, expected: timedelta) -> None:
    assert parse_span(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "0d", "0h", "-3d", "+3d", "3", "d", "3x", "3 days", "1.5d", "3d2h", "٣d", "all"],
)
def test_parse_span_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time span") as info:
        parse_span(text)
    message = str(info.value)
    assert repr(text) in message
    for form in (
        "h (hours)",
        "d (days)",
        "w (weeks)",
        "mo (months of 30 days)",
        "m (minutes)",
        "y (years",
    ):
        assert form in message


def test_parse_span_too_long_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_span("99999999999y")


TODAY = date(2024, 6, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        (" Yesterday ", date(2024, 6, 29)),
        ("2024-01-02", date(2024, 1, 2)),
        ("30d", date(2024, 5, 31)),
        ("2w", date(2024, 6, 16)),
        ("6mo", date(2024, 1, 2)),
        ("1y", date(2023, 7, 1)),
        # a bare day counts from its start: any hours at all reach into the day before
        ("1h", date(2024, 6, 29)),
        ("24h", date(2024, 6, 29)),
        ("25h", date(2024, 6, 28)),
    ],
)
def test_parse_day_from_a_date(text: str, expected: date) -> None:
    assert parse_day(text, TODAY) == expected


def test_parse_day_hours_round_down_to_the_day_they_fall_in() -> None:
    now = datetime(2024, 6, 30, 10, 0, tzinfo=UTC)
    assert parse_day("6h", now) == date(2024, 6, 30)
    assert parse_day("10h", now) == date(2024, 6, 30)  # exactly midnight: still today
    assert parse_day("11h", now) == date(2024, 6, 29)
    assert parse_day("24h", now) == parse_day("1d", now) == date(2024, 6, 29)
    assert parse_day("today", now) == date(2024, 6, 30)


def test_parse_day_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC).date()
    got = parse_day("today")
    assert before <= got <= datetime.now(UTC).date()
    assert parse_day("1d") == got - timedelta(days=1)


@pytest.mark.parametrize("text", ["", "last tuesday", "0d", "-1d", "2024-13-01", "30x", "now"])
def test_parse_day_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date") as info:
        parse_day(text, TODAY)
    message = str(info.value)
    for form in ("YYYY-MM-DD", "today", "yesterday", "12h", "30d", "2w", "6mo", "1y"):
        assert form in message


def test_parse_day_before_the_year_1_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="before the year 1"):
        parse_day("5000y", TODAY)
