"""One self-contained HTML report of a simulation: a table and inline SVG charts.

No scripts, fonts or styles are fetched: the file views offline in any browser.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path

from ctxchunk._aggregate import METRICS, PERCENTILES, Aggregate
from ctxchunk.simulate import SimulationResult

__all__ = [
    "render_fleet_report",
    "render_report",
    "write_fleet_report",
    "write_report",
]

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
_W, _H = 1000, 340
"""Chart size in SVG units; charts scale to the page's width, keeping this ratio."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 24, 16, 56
"""Margins around a chart's plot area: room for tick labels and axis titles."""
_CHAR_W = 7.0
"""Approximate width of one 12px sans-serif character, to size label columns."""

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;padding:0 24px;color:#222;
max-width:1100px}
table{border-collapse:collapse;margin:12px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left;white-space:nowrap}
th{background:#f3f3f3}
h2{margin-top:28px}
svg{display:block;width:100%;height:auto;max-width:1000px}
.legend span{display:inline-block;margin-right:18px}
.sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px}
svg text{font:12px sans-serif;fill:#444}
svg .title{font-size:13px;fill:#222}
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


def _nice_step(span: float, count: int, *, integer: bool = False) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) for about ``count`` ticks.

    >>> _nice_step(15_563, 4), _nice_step(1.5542, 4), _nice_step(3, 8, integer=True)
    (5000, 0.5, 1)
    """
    if span <= 0:
        return 1
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw:
            break
    if integer:
        return max(1, round(float(step)))
    return int(step) if step >= 1 and step == int(step) else step


def _ticks(top: float, count: int, *, integer: bool = False) -> list[float]:
    """Ticks from 0 in round steps, the last at or just above ``top``."""
    step = _nice_step(top, count, integer=integer)
    n = max(1, math.ceil(top / step - 1e-9))
    return [step * k for k in range(n + 1)]


def _money(value: float, step: float) -> str:
    """``value`` in dollars with just enough decimals to tell ticks ``step`` apart."""
    decimals = 2
    while decimals < 8 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return f"${value:.{decimals}f}"


def _axes(bottom: float, x_label: str, y_label: str) -> str:
    """The SVG of a chart's two axes and their titles (escaped here)."""
    mid_y = (_TOP + bottom) / 2
    return (
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{_W - _RIGHT}" y2="{bottom}" '
        f'stroke="#888"/>'
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}" stroke="#888"/>'
        f'<text class="title" x="{(_LEFT + _W - _RIGHT) / 2}" y="{_H - 10}" '
        f'text-anchor="middle">{_esc(x_label)}</text>'
        f'<text class="title" x="16" y="{mid_y}" text-anchor="middle" '
        f'transform="rotate(-90 16 {mid_y})">{_esc(y_label)}</text>'
    )


def _frame(
    y_ticks: Sequence[float],
    y_label: str,
    x_label: str,
    x_ticks: Sequence[int],
    x_of: Callable[[float], float],
    y_of: Callable[[float], float],
    *,
    money: bool = False,
) -> list[str]:
    """The SVG opening, grid, tick labels and axis titles of a line chart."""
    bottom = _H - _BOTTOM
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{_esc(y_label)}">'
    ]
    for value in y_ticks:
        label = _money(value, step) if money else f"{value:,.0f}"
        parts.append(
            f'<line x1="{_LEFT}" y1="{y_of(value):.1f}" x2="{_W - _RIGHT}" '
            f'y2="{y_of(value):.1f}" stroke="#e6e6e6"/>'
            f'<text x="{_LEFT - 6}" y="{y_of(value) + 4:.1f}" text-anchor="end">'
            f"{label}</text>"
        )
    parts.extend(
        f'<line x1="{x_of(tick):.1f}" y1="{bottom}" x2="{x_of(tick):.1f}" '
        f'y2="{bottom + 5}" stroke="#888"/>'
        f'<text x="{x_of(tick):.1f}" y="{bottom + 19}" text-anchor="middle">'
        f"{tick:,}</text>"
        for tick in x_ticks
    )
    parts.append(_axes(bottom, x_label, y_label))
    return parts


def _line_chart(
    series: Sequence[Sequence[float]],
    y_label: str,
    x_label: str,
    *,
    money: bool = False,
    stems: bool = False,
    limit: tuple[float, str] | None = None,
) -> str:
    """A chart of one series per policy against the step index.

    With ``stems``, each non-zero value is a vertical line from the axis with a dot
    on top (for sparse spikes, which a polyline would draw as overlapping triangles);
    the policies' stems at one step sit side by side. ``limit`` draws a dashed
    labelled line at that value (the budget).
    """
    longest = max((len(s) for s in series), default=0)
    peak = max((max(s) for s in series if s), default=0.0)
    if limit is not None:
        peak = max(peak, limit[0])
    y_ticks = _ticks(peak or 1.0, 5, integer=not money)
    top = y_ticks[-1]
    inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    last = max(longest - 1, 1)

    def x(i: float) -> float:
        return _LEFT + inner_w * i / last

    def y(v: float) -> float:
        return _H - _BOTTOM - inner_h * v / top

    x_ticks = [int(t) for t in _ticks(last, 10, integer=True) if t <= last]
    parts = _frame(y_ticks, y_label, x_label, x_ticks, x, y, money=money)
    if limit is not None:
        parts.append(
            f'<line x1="{_LEFT}" y1="{y(limit[0]):.1f}" x2="{_W - _RIGHT}" '
            f'y2="{y(limit[0]):.1f}" stroke="#555" stroke-dasharray="6 4"/>'
            f'<text x="{_LEFT + 6}" y="{y(limit[0]) - 6:.1f}">{_esc(limit[1])}</text>'
        )
    offset = min(3.0, inner_w / last / max(len(series), 1))
    for index, values in enumerate(series):
        if not values:
            continue
        colour = _COLOURS[index % len(_COLOURS)]
        if stems:
            shift = (index - (len(series) - 1) / 2) * offset
            for i, v in enumerate(values):
                if v:
                    px = x(i) + shift
                    parts.append(
                        f'<line x1="{px:.1f}" y1="{y(0):.1f}" x2="{px:.1f}" '
                        f'y2="{y(v):.1f}" stroke="{colour}" stroke-width="1.6"/>'
                        f'<circle cx="{px:.1f}" cy="{y(v):.1f}" r="3" '
                        f'fill="{colour}"/>'
                    )
            continue
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round" points="{points}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bar_chart(
    values: Sequence[float],
    names: Sequence[str],
    label: str,
    *,
    behind: Sequence[float] | None = None,
    behind_label: str = "",
) -> str:
    """Horizontal bars of shares (0 to 1), labelled with the policy names.

    ``behind`` draws a second, paler bar per policy under the first (a share that
    includes the first, such as recoverable recall under recall), its value written
    after the first's.
    """
    bar_h, gap, axis = 22, 10, 28
    label_w = 12 + _CHAR_W * max((len(n) for n in names), default=0)
    left = max(120.0, min(label_w, _W / 2))
    right = _W - 56
    height = _TOP + len(values) * (bar_h + gap) + axis
    bottom = height - axis
    width = right - left
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" role="img" aria-label="{_esc(label)}">'
    ]
    for k in range(5):
        gx = left + width * k / 4
        parts.append(
            f'<line x1="{gx:.1f}" y1="{_TOP - 6}" x2="{gx:.1f}" y2="{bottom}" '
            f'stroke="#e6e6e6"/>'
            f'<text x="{gx:.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{k * 25}%</text>"
        )
    for i, (value, name) in enumerate(zip(values, names, strict=True)):
        top = _TOP + i * (bar_h + gap)
        colour = _COLOURS[i % len(_COLOURS)]
        end, text = value, f"{value:.0%}"
        parts.append(
            f'<text x="{left - 8:.1f}" y="{top + 15}" text-anchor="end">'
            f"{_esc(name)}</text>"
        )
        if behind is not None:
            end = max(value, behind[i])
            text += f" ({behind[i]:.0%} {behind_label})"
            parts.append(
                f'<rect x="{left:.1f}" y="{top}" width="{width * behind[i]:.1f}" '
                f'height="{bar_h}" fill="{colour}" fill-opacity="0.3"/>'
            )
        parts.append(
            f'<rect x="{left:.1f}" y="{top}" width="{width * value:.1f}" '
            f'height="{bar_h}" fill="{colour}"/>'
            f'<text x="{left + 6 + width * end:.1f}" y="{top + 15}">'
            f"{_esc(text)}</text>"
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{bottom}" x2="{right:.1f}" y2="{bottom}" '
        f'stroke="#888"/></svg>'
    )
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


_SHARES = frozenset(
    {"cliff_share", "probe_recall", "recoverable_recall", "cache_hit_rate"}
)
"""Summary keys that are shares, shown as percentages."""

_COMPARISON = (
    ("policy", "policy"),
    ("cliff_tokens", "cliff (tokens)"),
    ("cliff_share", "cliff (share of history)"),
    ("probe_recall", "probe recall"),
    ("recoverable_recall", "recoverable recall"),
    ("eviction_events", "eviction events"),
    ("realtime_events", "Realtime events"),
    ("cache_hit_rate", "cache hit rate"),
    ("cost_usd", "input cost, no cache (USD)"),
    ("cost_cached_usd", "input cost, cached (USD)"),
)
"""The headline table's columns: summary key and title."""

_LOSSES = (
    ("policy", "policy"),
    ("lost_tokens", "history lost (tokens)"),
    ("replaced_tokens", "of it replaced or cleared"),
    ("masked_tokens", "of it masked"),
    ("evicted_tokens", "left the window, gross"),
    ("capped_tokens", "update parts capped"),
)
"""The loss table's columns: totals over the session."""


def _table(
    rows: Sequence[dict[str, object]], columns: Sequence[tuple[str, str]]
) -> str:
    """An HTML table of ``rows`` (summary dicts), one column per ``(key, title)``."""
    head = "".join(f"<th>{_esc(title)}</th>" for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row[key]
            if key in _SHARES and isinstance(value, float):
                text = f"{value:.1%}"
            elif key.startswith("cost") and isinstance(value, float):
                text = f"{value:.4f}"
            elif isinstance(value, int):
                text = f"{value:,}"
            else:
                text = str(value)
            cells.append(f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _section(result: SimulationResult) -> str:
    names = [p.name for p in result.policies]
    rows = result.table()
    table = _table(rows, _COMPARISON)
    losses = _table(rows, _LOSSES)
    legend = _legend(names)
    window = _line_chart(
        [p.window_tokens for p in result.policies],
        "tokens in window",
        "event",
        limit=(result.budget, f"budget {result.budget:,}"),
    )
    lost = _line_chart(
        [p.lost_tokens for p in result.policies],
        "history lost (tokens)",
        "event",
        stems=True,
    )
    recall = _bar_chart(
        [p.probe_recall for p in result.policies],
        names,
        "probe recall",
        behind=[p.recoverable_recall for p in result.policies],
        behind_label="recoverable",
    )
    cost = _line_chart(
        [list(accumulate(r.cost_cached for r in p.requests)) for p in result.policies],
        "cost, cached (USD)",
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
        f"<h2>What left the window, over the session</h2>"
        f"<p>History lost counts everything that was in the window and left it: "
        f"evicted, removed, cut by an interruption, masked behind a marker, or "
        f"replaced by a summary or a cleared placeholder (net of the replacement). "
        f"Gross: the tokens of every chunk that left or was replaced, counted whole. "
        f"Capped: parts of updates the window's admission cap archived without "
        f"admitting them (not history, so not counted as lost).</p>{losses}"
        f"<h2>Tokens in the window</h2>{legend}{window}"
        f"<h2>History lost per step</h2>{legend}{lost}"
        f"<h2>Probe recall</h2>"
        f"<p>Solid: the probe's needle was in the window. Pale: it was in the window "
        f"or in archived content a marker in the window still names, so the model "
        f"could read it back.</p>{recall}"
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


_SHARE_METRICS = frozenset({"worst_loss_share", "recall", "recoverable_recall"})
"""Aggregate metrics that are shares, drawn and shown as percentages."""


def _stat_text(key: str, value: object) -> str:
    if value is None:
        return "-"
    assert isinstance(value, (int, float))
    if key in _SHARE_METRICS:
        return f"{value:.1%}"
    if key.startswith("cost"):
        return f"{value:.4f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _x_label(key: str, value: float, step: float) -> str:
    if key in _SHARE_METRICS:
        return f"{value:.0%}"
    if key.startswith("cost"):
        return _money(value, step)
    return f"{value:,.0f}"


def _cdf_chart(
    curves: Sequence[Sequence[tuple[float, float]]], key: str, title: str
) -> str:
    """One CDF per policy: the share of sessions (y) at or below each value (x).

    Each curve is a step line through its ``(value, share)`` points, starting at
    share 0 left of its smallest value, so where a policy's line sits to the left it
    is smaller for that share of the sessions.
    """
    peak = max((c[-1][0] for c in curves if c), default=0.0)
    if key in _SHARE_METRICS:
        peak = max(peak, 1.0)
    x_ticks = _ticks(
        peak or 1.0, 8, integer=key in ("eviction_events", "worst_loss_tokens")
    )
    right_value = x_ticks[-1]
    step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    bottom = _H - _BOTTOM

    def x(v: float) -> float:
        return _LEFT + inner_w * v / right_value

    def y(share: float) -> float:
        return bottom - inner_h * share

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="CDF of {_esc(title)}">'
    ]
    for k in range(5):
        share = k / 4
        parts.append(
            f'<line x1="{_LEFT}" y1="{y(share):.1f}" x2="{_W - _RIGHT}" '
            f'y2="{y(share):.1f}" stroke="#e6e6e6"/>'
            f'<text x="{_LEFT - 6}" y="{y(share) + 4:.1f}" text-anchor="end">'
            f"{share:.0%}</text>"
        )
    parts.extend(
        f'<line x1="{x(t):.1f}" y1="{bottom}" x2="{x(t):.1f}" y2="{bottom + 5}" '
        f'stroke="#888"/><text x="{x(t):.1f}" y="{bottom + 19}" '
        f'text-anchor="middle">{_esc(_x_label(key, t, step))}</text>'
        for t in x_ticks
    )
    parts.append(_axes(bottom, title, "sessions at or below"))
    for index, curve in enumerate(curves):
        if not curve:
            continue
        colour = _COLOURS[index % len(_COLOURS)]
        # Policies with equal curves would hide each other: offset each a little.
        nudge = index * 1.5
        points = [f"{x(curve[0][0]) + nudge:.1f},{y(0):.1f}"]
        previous = 0.0
        for value, share in curve:
            px = x(value) + nudge
            points.append(f"{px:.1f},{y(previous) - nudge:.1f}")
            points.append(f"{px:.1f},{y(share) - nudge:.1f}")
            previous = share
        points.append(f"{_W - _RIGHT:.1f},{y(previous) - nudge:.1f}")
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round" points="{" ".join(points)}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _aggregate_table(aggregate: Aggregate, key: str) -> str:
    columns = [f"p{p}" for p in PERCENTILES] + ["max", "mean", "sessions"]
    head = "<th>policy</th>" + "".join(f"<th>{c}</th>" for c in columns)
    body = []
    for row in aggregate.table():
        stats = row[key]
        cells = "".join(
            f"<td>{_esc(_stat_text(key, stats.get(c)))}</td>"
            if c != "sessions"
            else f"<td>{stats['sessions']:,}</td>"
            for c in columns
        )
        body.append(f"<tr><td>{_esc(row['policy'])}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_fleet_report(
    aggregate: Aggregate,
    detailed: Sequence[SimulationResult] = (),
    *,
    failed: int = 0,
) -> str:
    """Return the HTML report of many sessions: distributions, then a few sessions.

    Per metric, a table of percentiles and a CDF with one line per policy; the
    share of sessions each policy beat the baseline in; then the per-session report
    of each of ``detailed``.
    """
    names = list(aggregate.names)
    legend = _legend(names)
    first = detailed[0] if detailed else None
    setting = ""
    if first is not None:
        setting = (
            f" Budget {first.budget:,} tokens, chunks of at most "
            f"{first.chunk_tokens:,} tokens, prices for {_esc(first.model)}."
        )
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ctxchunk simulation: {aggregate.sessions:,} sessions</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<section><h1>Simulation of {aggregate.sessions:,} sessions</h1>"
        f"<p>{len(names)} policies.{setting}"
        + (
            f" {failed:,} sessions could not be replayed and are left out."
            if failed
            else ""
        )
        + " Percentiles by nearest rank over sessions. Recall is taken over the "
        "sessions that have probes.</p>"
    ]
    if aggregate.baseline is not None:
        shares = [aggregate.beat_share(n) for n in names]
        shown = [(n, s) for n, s in zip(names, shares, strict=True) if s is not None]
        if shown:
            parts.append(
                f"<h2>Sessions where the policy beat {_esc(aggregate.baseline)}</h2>"
                "<p>A smaller worst one-step loss share than the baseline, with no "
                "lower recoverable recall.</p>"
                + _bar_chart([s for _, s in shown], [n for n, _ in shown], "beat share")
            )
    for key, title in METRICS:
        curves = [aggregate.cdf(name, key) for name in names]
        parts.append(
            f"<h2>{_esc(title[0].upper() + title[1:])}</h2>"
            f"{_aggregate_table(aggregate, key)}{legend}"
            f"{_cdf_chart(curves, key, title)}"
        )
    parts.append("</section>")
    if detailed:
        parts.append(
            f"<h1>The first {len(detailed)} sessions in detail</h1>"
            + "".join(_section(result) for result in detailed)
        )
    parts.append("</body></html>\n")
    return "".join(parts)


def write_fleet_report(
    aggregate: Aggregate,
    detailed: Sequence[SimulationResult],
    path: str | os.PathLike[str],
    *,
    failed: int = 0,
) -> Path:
    """Write :func:`render_fleet_report` to ``path``; return it."""
    target = Path(path)
    target.write_text(
        render_fleet_report(aggregate, detailed, failed=failed), encoding="utf-8"
    )
    return target
