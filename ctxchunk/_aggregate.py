"""Per-session summaries of a simulation, and their distribution over many sessions.

A fleet run replays each session on a worker and sends back only a
:class:`SessionSummary`: per policy, the few numbers the aggregate needs. The
driver folds summaries into an :class:`Aggregate`, which keeps, per policy and
metric, how many sessions had each value (values are rounded as the per-session
table shows them: shares to 4 decimals, dollars to 6). That makes the aggregate:

- exact: percentiles are read from every session's value, not a sketch;
- order-free: counts merge by addition, so any engine, worker count or arrival
  order gives the same aggregate, and its JSON byte for byte;
- small: its size grows with the number of distinct values, which rounding bounds
  (at most 10,001 shares), not with the number of sessions.

Percentiles use the nearest-rank rule: ``p`` is the smallest value that at least
``p`` percent of the sessions are at or below.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ctxchunk.exceptions import InvalidArgumentError
from ctxchunk.simulate import PolicyResult, SimulationResult

__all__ = [
    "METRICS",
    "PERCENTILES",
    "Aggregate",
    "PolicySummary",
    "SessionSummary",
    "percentile",
    "summarize",
]

METRICS: tuple[tuple[str, str], ...] = (
    ("worst_loss_share", "worst one-step loss, share of history"),
    ("worst_loss_tokens", "worst one-step loss, tokens"),
    ("recall", "probe recall"),
    ("recoverable_recall", "recoverable recall"),
    ("cost_cached_usd", "input cost, cached (USD)"),
    ("eviction_events", "eviction events"),
)
"""The metrics aggregated over sessions: key and title. Recall and recoverable
recall are taken over the sessions that have probes only (a session without probes
has no recall to report)."""

PERCENTILES: tuple[int, ...] = (50, 90, 99)
"""The percentiles reported for each metric, next to the maximum and the mean."""


@attrs.frozen(slots=True)
class PolicySummary:
    """One policy's headline numbers on one session.

    Attributes:
        worst_loss_share: The most history lost in one step, as a share of the
            history held just before it (``PolicyResult.cliff_share``), rounded to
            4 decimals.
        worst_loss_tokens: That loss in tokens (``cliff_tokens``).
        recall: The share of probes found in the window, or None without probes.
        recoverable_recall: The share found or readable back, or None without
            probes.
        cost_cached_usd: The session's input cost with cached pricing, rounded to
            6 decimals.
        eviction_events: Steps where anything left the window.
    """

    worst_loss_share: float
    worst_loss_tokens: int
    recall: float | None
    recoverable_recall: float | None
    cost_cached_usd: float
    eviction_events: int

    @classmethod
    def of(cls, result: PolicyResult) -> PolicySummary:
        """Return the summary of one policy's result."""
        row = result.summary()
        probed = bool(result.probes)
        return cls(
            worst_loss_share=row["cliff_share"],
            worst_loss_tokens=row["cliff_tokens"],
            recall=row["probe_recall"] if probed else None,
            recoverable_recall=row["recoverable_recall"] if probed else None,
            cost_cached_usd=row["cost_cached_usd"],
            eviction_events=row["eviction_events"],
        )

    def beats(self, baseline: PolicySummary) -> bool:
        """Whether this policy did better than ``baseline`` on the session.

        Better means: a smaller worst one-step loss share, and no lower
        recoverable recall (so it lost less at its worst step without giving up
        facts the model could still reach).
        """
        if self.worst_loss_share >= baseline.worst_loss_share:
            return False
        mine, theirs = self.recoverable_recall, baseline.recoverable_recall
        return mine is None or theirs is None or mine >= theirs


@attrs.frozen(slots=True)
class SessionSummary:
    """What travels back from a worker for one session: its name and its policies.

    Attributes:
        session: The session's name.
        policies: One summary per policy, in the order the policies were given.
    """

    session: str
    policies: tuple[PolicySummary, ...]


def summarize(result: SimulationResult) -> SessionSummary:
    """Return the summary of one session's simulation.

    >>> from ctxchunk.session import load_session
    >>> from ctxchunk.simulate import simulate
    >>> s = load_session(['{"type": "turn", "t_ms": 0, "role": "user", "text": "hi"}'])
    >>> summarize(simulate(s, budget=1000)).policies[0].worst_loss_share
    0.0
    """
    return SessionSummary(
        session=result.session,
        policies=tuple(PolicySummary.of(p) for p in result.policies),
    )


def percentile(counts: Mapping[float, int], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile of values counted in ``counts``.

    The smallest value that at least ``p`` percent of the counted values are at or
    below (``p`` in (0, 100]).

    Raises:
        InvalidArgumentError: ``p`` out of range, or nothing counted.

    >>> percentile({1: 2, 5: 1, 9: 1}, 50), percentile({1: 2, 5: 1, 9: 1}, 51)
    (1, 5)
    """
    if not 0 < p <= 100:
        raise InvalidArgumentError(f"p={p} must be in (0, 100]")
    total = sum(counts.values())
    if total <= 0:
        raise InvalidArgumentError("no values counted; a percentile needs one")
    # Integer arithmetic for the rank, so no float rounding moves it.
    rank = max(1, -(-round(p * 1000) * total // 100_000))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the rank is at most the total")


def _describe(counts: Mapping[float, int], integer: bool) -> dict[str, Any]:
    n = sum(counts.values())
    if not n:
        return {"sessions": 0}
    out: dict[str, Any] = {"sessions": n}
    for p in PERCENTILES:
        out[f"p{p}"] = percentile(counts, p)
    out["max"] = max(counts)
    # fsum is exactly rounded, so the mean does not depend on the order of values.
    mean = math.fsum(value * count for value, count in counts.items()) / n
    out["mean"] = round(mean, 2 if integer else 6)
    return out


def _cdf(counts: Mapping[float, int], points: int) -> list[tuple[float, float]]:
    """Return up to ``points`` + 1 (value, share at or below it) steps of the CDF."""
    n = sum(counts.values())
    values = sorted(counts)
    if len(values) <= points:
        out, seen = [], 0
        for value in values:
            seen += counts[value]
            out.append((value, seen / n))
        return out
    # Too many distinct values to draw each: take the value at evenly spaced ranks.
    out = []
    for k in range(1, points + 1):
        value = percentile(counts, 100 * k / points)
        if out and out[-1][0] == value:
            out[-1] = (value, k / points)
        else:
            out.append((value, k / points))
    return out


@attrs.define
class _PolicyCounts:
    metrics: dict[str, Counter[float]] = attrs.field(
        factory=lambda: {key: Counter() for key, _ in METRICS}
    )
    beat: int = 0
    compared: int = 0

    def add(self, summary: PolicySummary) -> None:
        for key, _ in METRICS:
            value = getattr(summary, key)
            if value is not None:
                self.metrics[key][value] += 1

    def merge(self, other: _PolicyCounts) -> None:
        for key, counts in other.metrics.items():
            self.metrics[key].update(counts)
        self.beat += other.beat
        self.compared += other.compared


@attrs.define
class Aggregate:
    """Per-policy distributions over sessions, built one summary at a time.

    Invariant: every policy has been counted over the same ``sessions`` sessions;
    ``merge`` of two aggregates equals adding both sets of summaries to one.

    Attributes:
        names: The policies' names, in order.
        baseline: The name of the policy the others are compared against (the
            first one named ``baseline``), or None.
        sessions: How many sessions were added.
    """

    names: tuple[str, ...]
    baseline: str | None = None
    sessions: int = 0
    _counts: list[_PolicyCounts] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise InvalidArgumentError(f"policy names must be unique: {self.names}")
        if self.baseline is not None and self.baseline not in self.names:
            raise InvalidArgumentError(
                f"baseline={self.baseline!r} is not one of the policies {self.names}"
            )
        self._counts = [_PolicyCounts() for _ in self.names]

    def add(self, summary: SessionSummary) -> None:
        """Count one session's summary.

        Raises:
            InvalidArgumentError: the summary has a different number of policies.
        """
        if len(summary.policies) != len(self.names):
            raise InvalidArgumentError(
                f"session {summary.session!r} has {len(summary.policies)} policies, "
                f"the aggregate {len(self.names)}"
            )
        self.sessions += 1
        base = None
        if self.baseline is not None:
            base = summary.policies[self.names.index(self.baseline)]
        for name, counts, policy in zip(
            self.names, self._counts, summary.policies, strict=True
        ):
            counts.add(policy)
            if base is not None and name != self.baseline:
                counts.compared += 1
                counts.beat += policy.beats(base)

    def merge(self, other: Aggregate) -> None:
        """Add everything ``other`` counted (same policies, same baseline)."""
        if (other.names, other.baseline) != (self.names, self.baseline):
            raise InvalidArgumentError(
                "only aggregates of the same policies and baseline can be merged"
            )
        self.sessions += other.sessions
        for mine, theirs in zip(self._counts, other._counts, strict=True):
            mine.merge(theirs)

    def counts(self, name: str, metric: str) -> Mapping[float, int]:
        """Return how many sessions had each value of ``metric`` under ``name``."""
        return self._counts[self.names.index(name)].metrics[metric]

    def cdf(
        self, name: str, metric: str, points: int = 400
    ) -> list[tuple[float, float]]:
        """Return the CDF of ``metric`` under ``name`` as (value, share) steps."""
        return _cdf(self.counts(name, metric), points)

    def beat_share(self, name: str) -> float | None:
        """Return the share of sessions where ``name`` beat the baseline, or None."""
        counts = self._counts[self.names.index(name)]
        if self.baseline is None or name == self.baseline or not counts.compared:
            return None
        return counts.beat / counts.compared

    def table(self) -> list[dict[str, Any]]:
        """Return one row per policy: each metric's distribution and the beat share."""
        rows = []
        for name, counts in zip(self.names, self._counts, strict=True):
            row: dict[str, Any] = {"policy": name}
            for key, _ in METRICS:
                integer = key in ("worst_loss_tokens", "eviction_events")
                row[key] = _describe(counts.metrics[key], integer)
            share = self.beat_share(name)
            row["beat_baseline"] = (
                None
                if share is None
                else {"sessions": counts.beat, "share": round(share, 4)}
            )
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form; the same sessions always give the same JSON."""
        return {
            "sessions": self.sessions,
            "baseline": self.baseline,
            "percentiles": "nearest rank",
            "beat_baseline": (
                "smaller worst one-step loss share than the baseline, with no lower "
                "recoverable recall"
            ),
            "policies": self.table(),
        }


def aggregate_of(
    names: Sequence[str], summaries: Iterable[SessionSummary]
) -> Aggregate:
    """Return the aggregate of ``summaries`` (the baseline: a policy named so)."""
    baseline = "baseline" if "baseline" in names else None
    out = Aggregate(tuple(names), baseline)
    for summary in summaries:
        out.add(summary)
    return out
