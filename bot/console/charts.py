"""The statistics' pictures: SVG drawn on the server with pygal, readable without JavaScript.

pygal writes a small inline script into every chart (its tooltips' settings) even with
no script files: it is taken out of the drawing here, so a chart holds no script at all.
A chart is shown as an image (`<img>`), which a browser never runs scripts in anyway,
and served with a policy that allows only the chart's own style sheet (see app.py).
Each chart has its numbers in a table beside it on the page: the picture only repeats
them.

Colours are the Okabe-Ito set, told apart also by people who do not see red and green;
fonts are the system's, with the Chinese ones the chat uses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pygal
from pygal.etree import etree
from pygal.style import Style

FONTS = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", Arial, sans-serif'
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f23",
    foreground_strong="#1b1f23",
    foreground_subtle="#6e7a87",
    colors=COLOURS,
    font_family=FONTS,
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    value_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
)


def _options(height: int, labels: Sequence[str] = ()) -> dict[str, object]:
    """pygal leaves room for labels as if every character were narrow; a Chinese one is about twice as
    wide, so a horizontal chart gets that much more room on its left."""
    wide = max((sum(unicodedata.east_asian_width(c) in "WF" for c in label) for label in labels), default=0)
    return {
        "margin_left": 16 + 7 * wide,
        "style": STYLE,
        "js": [],
        "width": 760,
        "height": height,
        "disable_xml_declaration": True,
        "print_values": True,
        "legend_at_bottom": True,
        "truncate_label": 40,
        "truncate_legend": 40,
        "margin": 16,
        "print_zeroes": False,
    }


def bars(title: str, labels: Sequence[str], values: Sequence[int]) -> bytes:
    """One horizontal bar per label, the first at the top (the funnel)."""
    chart = pygal.HorizontalBar(title=title, show_legend=False, **_options(90 + 34 * max(len(labels), 1), labels))
    chart.x_labels = list(reversed(labels))  # pygal draws the first label at the bottom
    chart.y_labels = whole_steps(max(values, default=0))
    chart.add(title, list(reversed(values)))
    return _without_script(chart)


def stacked(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], horizontal: bool = False
) -> bytes:
    """Stacked bars: one bar per label, one colour per series (outcomes by source, by week); horizontal ones
    with the first label at the top."""
    kind = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    height = 140 + 34 * max(len(labels), 1) if horizontal else 420
    chart = kind(
        title=title, x_label_rotation=0 if horizontal else 30, **_options(height, labels if horizontal else ())
    )
    order = (lambda items: list(reversed(items))) if horizontal else list
    chart.x_labels = order(labels)
    totals = [sum(values[i] for _name, values in series) for i in range(len(labels))]
    chart.y_labels = whole_steps(max(totals, default=0))
    for name, values in series:
        chart.add(name, order([v or None for v in values]))
    return _without_script(chart)


def whole_steps(top: int) -> list[int]:
    """The value axis in whole people (never 0.2 of a person), at most about ten steps."""
    step = max(1, -(-top // 10))
    return list(range(0, max(top, 1) + step, step))


def _without_script(chart: pygal.graph.graph.Graph) -> bytes:
    """The chart as SVG, every <script> element taken out of it."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return etree.tostring(tree, encoding="utf-8")  # pygal's own ElementTree (lxml when installed, else the stdlib's)
