"""The program-statistics chart (M5): a PNG of grouped bars, the same bytes for the same
figures, Korean labels with the Nanum font and English ones without it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from sangsaeng.documents.chart import grouped_bars_png, korean_font
from sangsaeng.services.statistics import StatisticsRow, chart_png, per_round

SERIES = {"선정 과제 selected": [10, 12], "확인서 발급 certificates": [25, 29]}


def test_the_chart_is_a_png_with_the_same_bytes_for_the_same_figures() -> None:
    font = korean_font()
    first = grouped_bars_png(["2022-1", "2022-2"], SERIES, "회차별", font)
    assert first == grouped_bars_png(["2022-1", "2022-2"], SERIES, "회차별", font)
    assert b"Software" not in first and b"matplotlib" not in first  # no metadata
    with Image.open(io.BytesIO(first)) as png:
        png.verify()
        assert png.format == "PNG"


def test_without_the_nanum_font_the_chart_falls_back_to_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANGSAENG_FONT_DIR", str(tmp_path))  # no NanumGothic.ttf there
    assert korean_font() is None
    rows = [StatisticsRow("2022", "2022-2", "value", (36, 3, 5, 5, 5, 0, 0, 0, 0))]
    assert per_round(rows) == {"2022-2": (3, 5)}
    with Image.open(io.BytesIO(chart_png(rows))) as png:  # no "missing glyph" warning (error)
        assert png.format == "PNG"
