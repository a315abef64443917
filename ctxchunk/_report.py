"""One self-contained HTML report of a simulation: a table and inline SVG charts.

No scripts, fonts or styles are fetched: the file views offline in any browser.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from ctxchunk.simulate import SimulationResult

__all__ = ["render_report", "write_report"]

_COLOURS = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
_W, _H, _PAD = 760, 260, 48

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:900px}
table{border-collapse:collapse;margin:12px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}
h2{margin-top:28px}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg text{font:11px sans-serif;fill:#444}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span><i class="sw" style="background:{_COLOURS[i % len(_COLOURS)]}"></i>'
        f"{_esc(name)}</span>"
        for i, name in enumerate(names)
    )
    return f'<p class="legend">{items}</p>'


def _line_chart(
    series: Sequence[Sequence[float]],
    y_label: str,
    x_label: str,
    *,
    money: bool = False,
) -> str:
    longest = max((len(s) for s in series), default=0)
    top = max((max(s) for s in series if s), default=0.0) or 1.0
    inner_w, inner_h = _W - 2 * _PAD, _H - 2 * _PAD

    def x(i: int) -> float:
        return _PAD + (inner_w * i / (longest - 1) if longest > 1 else 0.0)

    def y(v: float) -> float:
        return _H - _PAD - inner_h * v / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{_esc(y_label)}">',
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" '
        f'stroke="#888"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#888"/>',
    ]
    for k in range(5):
        value = top * k / 4
        label = f"${value:.4f}" if money else f"{value:,.0f}"
        parts.append(
            f'<line x1="{_PAD}" y1="{y(value):.1f}" x2="{_W - _PAD}" '
            f'y2="{y(value):.1f}" stroke="#eee"/>'
            f'<text x="{_PAD - 4}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{label}</text>"
        )
    parts.append(
        f'<text x="{_W / 2}" y="{_H - 10}" text-anchor="middle">{_esc(x_label)}'
        f"</text>"
        f'<text x="12" y="{_PAD - 14}">{_esc(y_label)}</text>'
    )
    for index, values in enumerate(series):
        if not values:
            continue
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        colour = _COLOURS[index % len(_COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
            f'points="{points}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bar_chart(values: Sequence[float], names: Sequence[str], label: str) -> str:
    bar_h, gap = 22, 8
    height = _PAD + len(values) * (bar_h + gap)
    width = _W - 200
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" role="img" aria-label="{_esc(label)}">'
    ]
    for i, (value, name) in enumerate(zip(values, names, strict=True)):
        top = 16 + i * (bar_h + gap)
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(
            f'<text x="150" y="{top + 15}" text-anchor="end">{_esc(name)}</text>'
            f'<rect x="160" y="{top}" width="{width * value:.1f}" height="{bar_h}" '
            f'fill="{colour}"/>'
            f'<text x="{166 + width * value:.1f}" y="{top + 15}">{value:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_report(results: SimulationResult | Sequence[SimulationResult]) -> str:
    """Return the HTML report of one or more simulations as one string.

    The page is self-contained: inline CSS and SVG, no scripts, no network.
    """
    if isinstance(results, SimulationResult):
        results = [results]
    title = ", ".join(r.session for r in results)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ctxchunk simulation: {_esc(title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        + "".join(_section(result) for result in results)
        + "</body></html>\n"
    )


def _section(result: SimulationResult) -> str:
    names = [p.name for p in result.policies]
    rows = result.table()
    columns = [
        ("policy", "policy"),
        ("cliff_tokens", "cliff (tokens)"),
        ("cliff_share", "cliff (share of history)"),
        ("probe_recall", "probe recall"),
        ("eviction_events", "eviction events"),
        ("evicted_tokens", "evicted tokens"),
        ("realtime_events", "Realtime events"),
        ("cache_hit_rate", "cache hit rate"),
        ("cost_usd", "input cost, no cache (USD)"),
        ("cost_cached_usd", "input cost, cached (USD)"),
    ]
    head = "".join(f"<th>{_esc(title)}</th>" for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row[key]
            if key in ("cliff_share", "probe_recall", "cache_hit_rate"):
                text = f"{value:.1%}"
            elif key.startswith("cost"):
                text = f"{value:.4f}"
            elif isinstance(value, int):
                text = f"{value:,}"
            else:
                text = str(value)
            cells.append(f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><tr>{head}</tr>{''.join(body)}</table>"
    legend = _legend(names)
    window = _line_chart(
        [p.window_tokens for p in result.policies], "tokens in window", "event"
    )
    lost = _line_chart(
        [p.lost_tokens for p in result.policies], "history lost per step", "event"
    )
    recall = _bar_chart([p.probe_recall for p in result.policies], names, "recall")
    cost = _line_chart(
        [list(accumulate(r.cost_cached for r in p.requests)) for p in result.policies],
        "cumulative input cost, cached (USD)",
        "request",
        money=True,
    )
    prices = result.prices
    return (
        f"<section><h1>Simulation of {_esc(result.session)}</h1>"
        f"<p>Budget {result.budget:,} tokens, chunks of at most "
        f"{result.chunk_tokens:,} tokens, {len(result.steps):,} events. Prices for "
        f"{_esc(result.model)}: input ${prices.input_per_mtok:.2f}, cached input "
        f"${prices.cached_input_per_mtok:.2f} per 1M tokens "
        f"({_esc(prices.source) or 'custom'}).</p>"
        f"<h2>Comparison</h2>{table}"
        f"<h2>Tokens in the window</h2>{legend}{window}"
        f"<h2>Evictions: history lost per step</h2>{legend}{lost}"
        f"<h2>Probe recall</h2>{recall}"
        f"<h2>Cumulative input cost</h2>{legend}{cost}</section>"
    )


def write_report(
    results: SimulationResult | Sequence[SimulationResult],
    path: str | os.PathLike[str],
) -> Path:
    """Write the HTML report of one or more simulations to ``path``; return it."""
    target = Path(path)
    target.write_text(render_report(results), encoding="utf-8")
    return target
