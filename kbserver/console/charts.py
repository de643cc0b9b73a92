"""Bar charts as plain geometry for the console's SVG templates (no script, no inline style)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
BAR_AREA = 400  # 170 px of labels on the left, room for the value on the right


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int
    series: int  # which colour


def bars(rows: list[tuple[str, list[float | None]]], percent: bool = False, height: int = 18) -> list[Bar]:
    """Horizontal bars, one group per row and one bar per series, scaled to the largest value."""
    values = [v for _, vs in rows for v in vs if v is not None]
    top = 1.0 if percent else max(values, default=0) or 1
    out = []
    y = 0
    for label, series in rows:
        for index, value in enumerate(series):
            shown = value or 0.0
            text = f"{shown:.0%}" if percent else f"{shown:g}"
            out.append(Bar(label if index == 0 else "", shown, text, y, round(BAR_AREA * shown / top), index))
            y += height
        y += height // 2
    return out


def chart_height(chart: list[Bar], height: int = 18) -> int:
    """The SVG height that holds every bar."""
    return (chart[-1].y + height + 4) if chart else height
