"""Server-rendered SVG charts: no JavaScript, no CDN, nothing for the page's CSP to allow.

Charts are built as ElementTree elements and serialised by ElementTree, which escapes every text
and attribute value: a team or rule named `<script>` comes out as inert text. Colours are SVG
presentation attributes (the CSP forbids inline style attributes). Every data point carries
data-series / data-label / data-value and a <title> (hover tooltip, read by screen readers), so
a test can read the numbers back from the SVG.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#2f6fde", "#d9730d", "#1f7a4d", "#b3261e", "#7b4fc9", "#0f8b8d", "#a15c00", "#c2185b")
GREY = "#8a94a3"
INK, MUTED, LINE = "#1d2433", "#5f6b7a", "#dde3ea"
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44


def colour(index: int, name: str = "") -> str:
    return GREY if name == "other rules" else PALETTE[index % len(PALETTE)]  # queries.OTHER


def _el(
    parent: ET.Element | None, tag: str, text: str | None = None, **attrs: object
) -> ET.Element:
    attributes = {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()}
    node = ET.Element(tag, attributes) if parent is None else ET.SubElement(parent, tag, attributes)
    if text is not None:
        node.text = text
    return node


def _svg(title: str, height: int = HEIGHT, width: int = WIDTH) -> ET.Element:
    svg = _el(
        None,
        "svg",
        xmlns=SVG_NS,
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        class_="chart",
    )
    svg.set("aria-label", title)
    _el(svg, "title", title)
    return svg


def _render(svg: ET.Element) -> Markup:
    # ElementTree escapes <, >, & and quotes in text and attributes.
    return Markup(ET.tostring(svg, encoding="unicode"))


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}" if value != int(value) else str(int(value))


def _y_axis(svg: ET.Element, top: float, percent: bool, width: int, height: int) -> None:
    plot_h = height - TOP - BOTTOM
    steps = 4 if _leading_digit(top) in (1, 2) else 5  # round tick values: 0.5, 1, 2.5 → 1, 2
    for i in range(steps + 1):
        value = top * i / steps
        y = TOP + plot_h - plot_h * i / steps
        _el(svg, "line", x1=LEFT, x2=width - RIGHT, y1=y, y2=y, stroke=LINE)
        text = _fmt(round(value, 4), percent)
        _el(svg, "text", text, x=LEFT - 6, y=y + 4, text_anchor="end", font_size=11, fill=MUTED)


def _leading_digit(value: float) -> int:
    return int(f"{value:e}"[0])


def _x_labels(svg: ET.Element, labels: Sequence[str], xs: Sequence[float], height: int) -> None:
    """Axis labels, as many as fit (days shortened to MM-DD: the full date is in each tooltip)."""
    short = [label[5:] if _is_date(label) else label for label in labels]
    widest = max((len(label) for label in short), default=1) * 7 + 12
    room = max(1, int((WIDTH - LEFT - RIGHT) // widest))
    every = max(1, -(-len(labels) // room))
    for i, (label, x) in enumerate(zip(short, xs, strict=True)):
        if i % every == 0:
            y = height - BOTTOM + 16
            _el(svg, "text", label, x=x, y=y, text_anchor="middle", font_size=11, fill=MUTED)


def _is_date(label: str) -> bool:
    return len(label) == 10 and label[4] == "-" and label[7] == "-"


def _legend_rows(names: Sequence[str], width: int = WIDTH) -> list[list[tuple[int, str]]]:
    """Legend entries (series index, shown name) wrapped into rows that fit the width."""
    rows: list[list[tuple[int, str]]] = [[]]
    x = LEFT
    for i, name in enumerate(names):
        label = name if len(name) <= 32 else name[:31] + "…"
        step = 24 + 7 * len(label)
        if rows[-1] and x + step > width - RIGHT:
            rows.append([])
            x = LEFT
        rows[-1].append((i, label))
        x += step
    return rows


def _legend(svg: ET.Element, names: Sequence[str], top: float) -> None:
    for r, row in enumerate(_legend_rows(names)):
        x, y = LEFT, top + 18 * r
        for i, label in row:
            _el(svg, "rect", x=x, y=y - 9, width=10, height=10, fill=colour(i, names[i]))
            _el(svg, "text", label, x=x + 14, y=y, font_size=11, fill=INK)
            x += 24 + 7 * len(label)


def line_chart(
    title: str, labels: Sequence[str], lines: dict[str, Sequence[float]], percent: bool = False
) -> Markup:
    """One line per series over the labels (days or weeks), legend underneath."""
    legend_h = 18 * len(_legend_rows(list(lines)))
    height = HEIGHT + legend_h
    svg = _svg(title, height)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((max(v, default=0) for v in lines.values()), default=0))
    _y_axis(svg, top, percent, WIDTH, HEIGHT)
    n = len(labels)
    xs = [LEFT + (plot_w * (i + 0.5) / n if n else 0) for i in range(n)]
    _x_labels(svg, labels, xs, HEIGHT)
    for index, (name, values) in enumerate(lines.items()):
        series = _el(svg, "g", data_series=name)
        ys = [TOP + plot_h - plot_h * v / top for v in values]
        if n > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
            _el(series, "polyline", points=points, fill="none", stroke=colour(index, name))
        for label, x, y, value in zip(labels, xs, ys, values, strict=True):
            dot = _el(
                series,
                "circle",
                cx=f"{x:.1f}",
                cy=f"{y:.1f}",
                r=3,
                fill=colour(index, name),
                data_label=label,
                data_value=_fmt(value),
            )
            _el(dot, "title", f"{name}, {label}: {_fmt(value, percent)}")
    _legend(svg, list(lines), HEIGHT + 4)
    return _render(svg)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    percent: bool = False,
    marker: int | None = None,
    marker_label: str = "",
    series: str = "count",
) -> Markup:
    """Vertical bars (a histogram, or one value per day); `marker` draws a dashed line before
    the bar at that index (e.g. the day a rule changed)."""
    svg = _svg(title)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max(values, default=0))
    _y_axis(svg, top, percent, WIDTH, HEIGHT)
    n = max(len(labels), 1)
    slot = plot_w / n
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    _x_labels(svg, labels, xs, HEIGHT)
    group = _el(svg, "g", data_series=series)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        before = marker is not None and i < marker
        fill = GREY if before else PALETTE[0]
        bar = _el(
            group,
            "rect",
            x=f"{LEFT + slot * i + slot * 0.15:.1f}",
            y=f"{TOP + plot_h - h:.1f}",
            width=f"{slot * 0.7:.1f}",
            height=f"{h:.1f}",
            fill=fill,
            data_label=label,
            data_value=_fmt(round(value, 4)),
        )
        _el(bar, "title", f"{label}: {_fmt(value, percent) if percent else _fmt(round(value, 3))}")
    if marker is not None and 0 <= marker <= len(labels):
        x = LEFT + slot * marker
        _el(svg, "line", x1=x, x2=x, y1=TOP, y2=TOP + plot_h, stroke=INK, stroke_dasharray="4 3")
        _el(svg, "text", marker_label, x=x + 4, y=TOP + 10, font_size=11, fill=INK)
    return _render(svg)


def grouped_bars(
    title: str, groups: Sequence[str], series: dict[str, Sequence[float]], percent: bool = True
) -> Markup:
    """Horizontal bars, one row per group (e.g. a checklist question), one bar per series."""
    rows = len(groups)
    per = len(series)
    row_h = 8 + 14 * per
    height = TOP + rows * row_h + 16 + 18 * len(_legend_rows(list(series)))
    svg = _svg(title, height)
    left = 140
    plot_w = WIDTH - left - RIGHT - 40
    top = (
        1.0 if percent else _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    )
    for r, group in enumerate(groups):
        y0 = TOP + r * row_h
        _el(svg, "text", group, x=left - 8, y=y0 + row_h / 2 + 4, text_anchor="end", font_size=12)
        for s, (name, values) in enumerate(series.items()):
            value = values[r]
            w = plot_w * value / top if top else 0
            y = y0 + 4 + s * 14
            bar = _el(
                svg,
                "rect",
                x=left,
                y=y,
                width=f"{w:.1f}",
                height=11,
                fill=colour(s, name),
                data_series=name,
                data_label=group,
                data_value=_fmt(round(value, 4)),
            )
            _el(bar, "title", f"{group}, {name}: {_fmt(value, percent)}")
            _el(
                svg,
                "text",
                _fmt(value, percent),
                x=left + w + 4,
                y=y + 10,
                font_size=10,
                fill=MUTED,
            )
    _legend(svg, list(series), TOP + rows * row_h + 20)
    return _render(svg)
