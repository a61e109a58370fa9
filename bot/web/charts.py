"""Server-side SVG charts for the console: pure functions from figures to markup, nothing
loaded at run time and no script. Colours are presentation attributes (the console's CSP allows
no inline style); each chart has a title and a description for screen readers, and each bar or
point a tooltip (``<title>``)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 28
"""The plot's margins inside the viewBox: room for the axis labels."""
PALETTE = ("#1b7a3d", "#7fb08f", "#b3261e", "#a35c00", "#6b4fa0", "#1f5fbf", "#5b6475")


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    colour: str


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top`` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= top:
        power *= 10
    while power > top:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{round(value, 2):g}"


def _frame(title: str, description: str, body: list[str], top: float, unit: str) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    grid = []
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        grid.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d9dde5" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6475">{escape(_number(top * i / 4) + unit)}</text>'
        )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{_id(title)}-t {_id(title)}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{_id(title)}-t">{escape(title)}</title>'
        f'<desc id="{_id(title)}-d">{escape(description)}</desc>'
        + "".join(grid)
        + "".join(body)
        + "</svg>"
    )


def _id(title: str) -> str:
    """A stable id for the title and description (the same chart, the same markup)."""
    return f"c{zlib.crc32(title.encode()):08x}"


def _x_labels(labels: Sequence[str], every: int, slot: float) -> list[str]:
    return [
        f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'font-size="11" fill="#5b6475">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[Mapping[str, int]],
    series: Sequence[Series],
    *,
    label_every: int = 3,
) -> str:
    """One bar per label, its parts stacked in ``series`` order (keys missing count 0)."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    top = _nice(max((sum(v.get(s.key, 0) for s in series) for v in values), default=0))
    body: list[str] = []
    for i, (label, counts) in enumerate(zip(labels, values, strict=True)):
        base = 0
        for part in series:
            n = counts.get(part.key, 0)
            if not n:
                continue
            h = plot_h * n / top
            y = TOP + plot_h - plot_h * base / top - h
            body.append(
                f'<rect x="{LEFT + slot * i + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{part.colour}"><title>{escape(label)} '
                f"{escape(part.label)}: {n}</title></rect>"
            )
            base += n
    body += _x_labels(labels, label_every, slot)
    totals = {s.label: sum(v.get(s.key, 0) for v in values) for s in series}
    description = ", ".join(f"{name} {n}" for name, n in totals.items() if n) or "0"
    return _frame(title, description, body, top, "")


def lines(
    title: str,
    labels: Sequence[str],
    values: Sequence[Mapping[str, float | None]],
    series: Sequence[Series],
    *,
    unit: str = "",
    label_every: int = 3,
) -> str:
    """One line per series over the labels, broken where a value is None, a dot per point."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    found = [v for point in values for s in series if (v := point.get(s.key)) is not None]
    top = _nice(max(found, default=0))
    body: list[str] = []
    for part in series:
        run: list[str] = []
        runs: list[list[str]] = [run]
        for i, (label, point) in enumerate(zip(labels, values, strict=True)):
            value = point.get(part.key)
            if value is None:
                run = []
                runs.append(run)
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value / top
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{part.colour}"><title>'
                f"{escape(label)} {escape(part.label)}: {escape(_number(value) + unit)}"
                "</title></circle>"
            )
        for points in runs:
            if len(points) > 1:
                body.append(
                    f'<polyline points="{" ".join(points)}" fill="none" '
                    f'stroke="{part.colour}" stroke-width="2"/>'
                )
    body += _x_labels(labels, label_every, slot)
    description = f"{len(found)} points" if found else "0"
    return _frame(title, description, body, top, unit)
