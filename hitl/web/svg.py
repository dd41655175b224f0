"""Small plots drawn on the server as inline SVG: horizontal bars and hourly columns.

Our own few lines instead of a charting library: no script, no CDN, nothing loaded from elsewhere (the
page's CSP allows none). Each plot is an `<svg role="img">` with a `<title>` naming what it shows and a
`<title>` on each bar giving its value, so a screen reader (and a hover) reads the numbers; the drawing
scales to its box (viewBox, width 100%), so it reads on a phone as on a desk.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

BAR_H = 26
LABEL_W = 140
WIDTH = 360
"""Drawing units: a plot is drawn about this many CSS pixels wide (a card on a desk or a phone), so its
14-unit text reads at about 14 px."""
_ids = count(1)


def bars(title: str, items: Sequence[tuple[str, float]], unit: str = "") -> Markup:
    """One horizontal bar per (label, value), longest value full width; the value is written after each bar."""
    top = max((v for _, v in items), default=0) or 1
    height = max(1, len(items)) * BAR_H + 4
    plot = WIDTH - LABEL_W - 56
    parts = []
    for i, (label, value) in enumerate(items):
        y = 2 + i * BAR_H
        w = max(1.0, plot * value / top) if value else 0.0
        said = f"{label}: {_number(value)}{unit}"
        parts.append(
            f"<g><title>{escape(said)}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 18}" text-anchor="end" class="plot-label">{escape(_short(label))}</text>'
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{w:.1f}" height="{BAR_H - 10}" rx="2" class="plot-bar"/>'
            f'<text x="{LABEL_W + w + 5:.1f}" y="{y + 18}" class="plot-value">{escape(_number(value) + unit)}</text></g>'
        )
    if not items:
        parts.append('<text x="0" y="18" class="plot-label">nothing yet</text>')
    return _svg(title, WIDTH, height, "".join(parts))


def columns(title: str, counts: Sequence[int], labels: Sequence[str], ends: tuple[str, str]) -> Markup:
    """One column per bucket (oldest first), `labels[i]` naming bucket i in its title, `ends` written under
    the first and the last; the highest column's count is written above it."""
    height, base = 96, 74
    top = max(counts, default=0) or 1
    step = WIDTH / max(1, len(counts))
    parts = [f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="plot-axis"/>']
    for i, (n, label) in enumerate(zip(counts, labels, strict=True)):
        h = (base - 22) * n / top
        parts.append(
            f"<g><title>{escape(f'{label}: {n}')}</title>"
            f'<rect x="{i * step + 1:.1f}" y="{base - h:.1f}" width="{step - 2:.1f}" height="{h:.1f}" class="plot-bar"/></g>'
        )
    if any(counts):
        i = counts.index(top)
        anchor = "end" if i > len(counts) / 2 else "start"
        x = (i + 1) * step if anchor == "end" else i * step
        parts.append(
            f'<text x="{x:.1f}" y="{base - (base - 22) - 6}" text-anchor="{anchor}" class="plot-value">{top}</text>'
        )
    parts.append(f'<text x="0" y="{height - 4}" class="plot-label">{escape(ends[0])}</text>')
    parts.append(f'<text x="{WIDTH}" y="{height - 4}" text-anchor="end" class="plot-label">{escape(ends[1])}</text>')
    return _svg(title, WIDTH, height, "".join(parts))


def _svg(title: str, width: int, height: int, body: str) -> Markup:
    ident = f"plot-{next(_ids)}"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="plot" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby={quoteattr(ident)}>'
        f"<title id={quoteattr(ident)}>{escape(title)}</title>{body}</svg>"
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _short(label: str, most: int = 16) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"
