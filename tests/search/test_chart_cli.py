"""`watchdesk chart`: the PNG (its size read from the PNG header), the CSV, the table, and the
one-line error when matplotlib (the `chart` extra) is missing."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.search.attention_corpus import FIRST, LAST, build_store, expected
from watchdesk.cli.chart import PNG_HEIGHT, PNG_WIDTH

WINDOW = ("--since", FIRST.isoformat(), "--until", LAST.isoformat())
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the first, right after the signature)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("chart-cli"))


def test_png_and_csv(config: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the chart extra: pip install 'watchdesk[chart]'")
    png, table = tmp_path / "attention.png", tmp_path / "attention.csv"
    done = run_cli(
        "--config",
        str(config),
        "chart",
        '"sister city"',
        '"trade mission"',
        "$5 & _under",
        "--out",
        str(png),
        "--csv",
        str(table),
        *WINDOW,
    )
    assert done.returncode == 0, done.stderr
    assert png_size(png) == (PNG_WIDTH, PNG_HEIGHT) == (1200, 600)
    assert png.stat().st_size > 10_000  # lines and text, not an empty canvas
    rows = list(csv.reader(table.open(encoding="utf-8")))
    assert rows[0] == ["day", '"sister city"', '"trade mission"', "$5 & _under"]
    assert len(rows) == 1 + 60
    want = expected("sister city", "day")
    assert {r[0]: int(r[1]) for r in rows[1:] if int(r[1])} == {
        d.isoformat(): n for d, n in want.items()
    }


def test_weekly_csv_on_stdout(config: Path) -> None:
    done = run_cli(
        "--config",
        str(config),
        "chart",
        '"sister city"',
        "--interval",
        "week",
        "--csv",
        "-",
        *WINDOW,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(done.stdout.splitlines()))
    want = expected("sister city", "week")
    assert rows[0] == ["week", '"sister city"']
    assert {r[0]: int(r[1]) for r in rows[1:]} == {d.isoformat(): n for d, n in want.items()}


def test_a_table_without_files(config: Path) -> None:
    query = '"[bold]sister" OR mayor'
    done = run_cli(
        "--config", str(config), "chart", query, "--since", "3d", "--until", LAST.isoformat()
    )
    assert done.returncode == 0, done.stderr
    assert query in done.stdout  # the query as typed, not as markup
    assert LAST.isoformat() in done.stdout


def test_without_matplotlib_one_line_and_exit_1(config: Path, tmp_path: Path) -> None:
    # a `matplotlib` package that fails to import stands in for the missing extra
    blocker = tmp_path / "no-matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    done = run_cli(
        "--config",
        str(config),
        "chart",
        "mayor",
        "--out",
        str(tmp_path / "x.png"),
        env={"PYTHONPATH": f"{blocker.parent}:{Path(__file__).resolve().parents[2]}"},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "error: --out needs matplotlib, which is not installed: pip install 'watchdesk[chart]'"
    ]
    assert not (tmp_path / "x.png").exists()


def test_bad_usage(config: Path) -> None:
    many = run_cli("--config", str(config), "chart", *[f"w{i}" for i in range(6)])
    assert many.returncode == 2 and "at most 5 queries" in many.stderr
    odd = run_cli("--config", str(config), "chart", "mayor", "--interval", "month")
    assert odd.returncode == 2 and "must be one of day, week" in odd.stderr
    bad = run_cli("--config", str(config), "chart", "mayor", "[bold]x[/bold]")
    assert bad.returncode == 2
    assert "bad query: unexpected ']x[/bold]' (at position 5)" in bad.stderr
    assert "  [bold]x[/bold]\n       ^" in bad.stderr  # the query as typed, a caret under it
    since = run_cli("--config", str(config), "chart", "mayor", "--since", "soon")
    assert since.returncode == 2 and "--since" in since.stderr
