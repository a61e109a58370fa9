"""The console's SVG charts: well-formed, scaled, escaped, with a tooltip per bar or point."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.web import charts

SVG = "{http://www.w3.org/2000/svg}"
SERIES = [charts.Series("ok", "ok", "#1b7a3d"), charts.Series("http", "<http>", "#b3261e")]


def test_stacked_bars_scale_to_the_tallest_and_escape_labels() -> None:
    svg = charts.stacked_bars(
        "Fetches & <more>", ["00", "01", "02"], [{"ok": 6, "http": 2}, {}, {"ok": 3}], SERIES
    )
    root = ET.fromstring(svg)  # well-formed, text escaped
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Fetches & <more>"  # type: ignore[union-attr]
    bars = root.findall(f"{SVG}rect")
    assert [bar.find(f"{SVG}title").text for bar in bars] == [  # type: ignore[union-attr]
        "00 ok: 6",
        "00 <http>: 2",
        "02 ok: 3",
    ]
    heights = [float(bar.get("height", 0)) for bar in bars]
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert abs(heights[0] + heights[1] - plot * 8 / 10) < 0.2  # the axis tops at 10
    assert abs(heights[2] - plot * 3 / 10) < 0.2
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "10" in labels and "00" in labels


def test_lines_break_where_there_is_no_value() -> None:
    lag = [charts.Series("median", "median", "#1f5fbf")]
    svg = charts.lines(
        "Lag",
        ["a", "b", "c", "d"],
        [{"median": 1.5}, {"median": 2.0}, {}, {"median": 4}],
        lag,
        unit=" s",
    )
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle")) == 3
    assert len(root.findall(f"{SVG}polyline")) == 1  # a-b joined; d stands alone
    tips = [c.find(f"{SVG}title").text for c in root.findall(f"{SVG}circle")]  # type: ignore[union-attr]
    assert tips == ["a median: 1.5 s", "b median: 2 s", "d median: 4 s"]


def test_an_empty_chart_is_still_a_chart() -> None:
    root = ET.fromstring(charts.stacked_bars("None", ["00"], [{}], SERIES))
    assert root.findall(f"{SVG}rect") == []
    assert root.find(f"{SVG}desc").text == "0"  # type: ignore[union-attr]
    assert charts._nice(0) == 1 and charts._nice(7) == 10 and charts._nice(0.3) == 0.5
