"""The program-statistics chart (PROGRAM_RULES M5): grouped bars per round, as a PNG.

Rendered with matplotlib, the plotting library most Python users know and one that is well
kept (regular releases, wheels for every platform, no system libraries to install). Its Agg
backend draws to memory with no display and no GUI toolkit, which is what a server flow needs;
the object-oriented `Figure` API is used (no `pyplot`: no global figure state across flow runs).

Korean labels are set in NanumGothic from the same folder as the certificate PDFs' fonts
(`certificate.font_dir`, Debian's fonts-nanum that `make install` installs); when it is missing
the chart says the same in English (a fallback font would draw empty boxes for Hangul). The
same figures give the same bytes: the PNG carries no metadata (no software version, no time).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from sangsaeng.documents.certificate import font_dir

CHART_FONT = "NanumGothic.ttf"
COLOURS = ("#1f5fa8", "#f0a030", "#4a9a5a", "#9a4a8a")


def korean_font() -> Path | None:
    """NanumGothic's file, if installed (`make install`); None otherwise."""
    path = font_dir() / CHART_FONT
    return path if path.is_file() else None


def grouped_bars_png(categories: Sequence[str], series: Mapping[str, Sequence[int]],
                     title: str, font: Path | None) -> bytes:
    """One group of bars per category (e.g. a round), one bar per series, each bar labelled
    with its value; `font` sets every text (None: matplotlib's default, Latin only)."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    props = FontProperties(fname=str(font)) if font is not None else FontProperties()
    figure = Figure(figsize=(max(6.0, 1.2 * len(categories) + 3), 4.0), dpi=100,
                    layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    positions = range(len(categories))
    for index, (name, values) in enumerate(series.items()):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        bars = axes.bar(offsets, values, width, label=name,
                        color=COLOURS[index % len(COLOURS)])
        axes.bar_label(bars, fontsize=8)
    axes.set_xticks(list(positions), list(categories), fontproperties=props)
    axes.set_xlim(-0.8, len(categories) - 0.2)  # a lone round's bars stay bars, not a wall
    axes.set_title(title, fontproperties=props)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 projects
    axes.spines[["top", "right"]].set_visible(False)
    figure.legend(loc="outside lower center", ncols=max(1, len(series)), prop=props,
                  frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
