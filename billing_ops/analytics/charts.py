"""Server-rendered SVG bar charts (no JavaScript, no CDN: the console works offline).

Values are Decimals in one currency; the charts only draw, the tables beside them carry the
exact figures (and each bar has a <title> tooltip with its value).
"""
from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 22, 40
PALETTE = {
    "mrr": "#2f6fdf", "new": "#2e9e5b", "expansion": "#7cc68f", "reactivation": "#b5dfa1",
    "contraction": "#f2a65a", "churned": "#d9534f", "invoiced": "#8a96a8", "collected": "#2f6fdf",
}


def _fmt(value: Decimal) -> str:
    value = Decimal(value)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}"


def _frame(labels, top_value: Decimal, bottom_value: Decimal, currency: str, title: str):
    plot_h = HEIGHT - TOP - BOTTOM
    span = (top_value - bottom_value) or Decimal(1)

    def y(value) -> float:
        return TOP + float((top_value - Decimal(value)) / span) * plot_h

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{y(top_value) + 4:.1f}" text-anchor="end" font-size="11">{escape(_fmt(top_value))}</text>',
        f'<text x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end" font-size="11">0</text>',
    ]
    if bottom_value < 0:
        parts.append(f'<text x="{LEFT - 6}" y="{y(bottom_value) + 4:.1f}" text-anchor="end" font-size="11">{escape(_fmt(bottom_value))}</text>')
    parts.append(f'<text x="4" y="10" font-size="10" fill="#666">{escape(currency)}</text>')
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        parts.append(f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" font-size="10">{escape(label)}</text>')
    return parts, y, slot


def _legend(names) -> str:
    x = LEFT
    parts = []
    for name in names:
        parts.append(f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{PALETTE.get(name, "#888")}"/>'
                     f'<text x="{x + 14}" y="{HEIGHT - 7}" font-size="10">{escape(name)}</text>')
        x += 16 + 7 * len(name) + 14
    return "".join(parts)


def grouped_bars(*, labels: list[str], series: dict[str, list[Decimal]], currency: str, title: str) -> str:
    values = [v for vs in series.values() for v in vs]
    top = max([Decimal(0), *values]) or Decimal(1)
    bottom = min([Decimal(0), *values])
    parts, y, slot = _frame(labels, top, bottom, currency, title)
    n = max(len(series), 1)
    bar_w = slot * 0.7 / n
    for s_index, (name, vals) in enumerate(series.items()):
        for i, value in enumerate(vals):
            x = LEFT + slot * i + slot * 0.15 + bar_w * s_index
            y0, y1 = sorted((y(0), y(value)))
            parts.append(
                f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="{PALETTE.get(name, "#888")}">'
                f'<title>{escape(labels[i])} {escape(name)}: {escape(currency)} {Decimal(value):,.2f}</title></rect>'
            )
    parts.append(_legend(series))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def diverging_stacked_bars(*, labels: list[str], up: dict[str, list[Decimal]], down: dict[str, list[Decimal]],
                           currency: str, title: str) -> str:
    """Gains stacked above zero, losses (given as positive amounts) stacked below."""
    count = len(labels)
    ups = [sum((Decimal(vs[i]) for vs in up.values()), Decimal(0)) for i in range(count)]
    downs = [sum((Decimal(vs[i]) for vs in down.values()), Decimal(0)) for i in range(count)]
    top = max([Decimal(0), *ups]) or Decimal(1)
    bottom = -max([Decimal(0), *downs])
    parts, y, slot = _frame(labels, top, bottom, currency, title)
    bar_w = slot * 0.6
    for i in range(count):
        x = LEFT + slot * i + slot * 0.2
        level = Decimal(0)
        for name, vals in up.items():
            value = Decimal(vals[i])
            if value:
                parts.append(f'<rect x="{x:.1f}" y="{y(level + value):.1f}" width="{bar_w:.1f}" height="{y(level) - y(level + value):.1f}" '
                             f'fill="{PALETTE.get(name, "#888")}"><title>{escape(labels[i])} {escape(name)}: {escape(currency)} {value:,.2f}</title></rect>')
                level += value
        level = Decimal(0)
        for name, vals in down.items():
            value = Decimal(vals[i])
            if value:
                parts.append(f'<rect x="{x:.1f}" y="{y(level):.1f}" width="{bar_w:.1f}" height="{y(level - value) - y(level):.1f}" '
                             f'fill="{PALETTE.get(name, "#888")}"><title>{escape(labels[i])} {escape(name)}: −{escape(currency)} {value:,.2f}</title></rect>')
                level -= value
    parts.append(_legend([*up, *down]))
    parts.append("</svg>")
    return mark_safe("".join(parts))
