"""The policy trade-off table: worst one-step loss, recall, recoverable recall, cost.

Replays the shipped example sessions and N generated realistic sessions (seeded:
``ctxchunk._generate.realistic_sessions``) through every shipped policy and the
all-or-nothing baseline at one budget, and prints, per policy:

- ``worst%``: the largest share of the history lost in one step, over all sessions
  (what a summary replaced or a marker masked counts as lost);
- ``user``: the share of probes of facts the *user stated* whose needle was in the
  window when asked;
- ``recov``: the share of all probes whose needle was in the window, or archived
  behind a marker still in the window (``read_document`` reaches it);
- ``cost x``: input cost with prompt caching, summed over the sessions, over the
  baseline's.

Usage::

    python benchmarks/bench_policies.py --generated 20 --budget 16000 [--markdown]

``--chunk-tokens N`` replays with chunks of at most N tokens (default: a quarter of
the budget, at most 2,000). ``--shape long_chat --turns 400`` generates sessions of
one shape only (of ``ctxchunk._generate.REALISTIC_SHAPES``), with that many user
turns (default: the shape's own), to see how a policy's figures depend on the kind
and length of session.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ctxchunk._generate import (
    REALISTIC_SHAPES,
    generate_realistic_session,
    realistic_sessions,
)
from ctxchunk.policies import (
    Chain,
    ClearToolResults,
    DropOldest,
    Recommended,
    RetentionRatio,
    RolePriority,
    Summarize,
)
from ctxchunk.session import Session, TurnEvent, load_session
from ctxchunk.simulate import WholeUpdateBaseline, simulate

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {
    "baseline": WholeUpdateBaseline(),
    "recommended": Recommended(),
    "drop-oldest": DropOldest(),
    "retention:0.8": RetentionRatio(0.8),
    "role-priority": RolePriority(),
    "summarize": Summarize(),
    "clear-tool-results:3+role-priority": Chain(ClearToolResults(), RolePriority()),
}


def user_needles(session: Session) -> set[str]:
    """The probe needles that a user turn of the session states."""
    said = " ".join(
        e.text for e in session.events if isinstance(e, TurnEvent) and e.role == "user"
    )
    return {
        e.needle
        for e in session.events
        if getattr(e, "type", None) == "probe" and e.needle in said
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=20)
    parser.add_argument("--budget", type=int, default=16_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--shape", choices=REALISTIC_SHAPES)
    parser.add_argument("--turns", type=int)
    parser.add_argument(
        "--chunk-tokens", type=int, help="default: simulate's, a quarter of the budget"
    )
    args = parser.parse_args(argv)
    if args.turns is not None and args.shape is None:
        parser.error("--turns needs --shape (each shape has its own default length)")

    sessions: list[Session] = []
    if not args.no_examples:
        paths = sorted((ROOT / "examples" / "sessions").glob("*.jsonl"))
        sessions.extend(load_session(path) for path in paths)
    if args.shape is None:
        sessions.extend(realistic_sessions(args.generated, args.seed))
    else:
        sessions.extend(
            generate_realistic_session(
                args.seed + index, shape=args.shape, turns=args.turns
            )
            for index in range(args.generated)
        )

    totals = {
        name: {"worst": 0.0, "user": [0, 0], "recov": [0, 0], "cost": 0.0}
        for name in POLICIES
    }
    started = time.perf_counter()
    for session in sessions:
        result = simulate(
            session, POLICIES, budget=args.budget, chunk_tokens=args.chunk_tokens
        )
        said = user_needles(session)
        for policy in result.policies:
            row = totals[policy.name]
            shares = [
                lost / history
                for lost, history in zip(
                    policy.lost_tokens, policy.history_tokens, strict=True
                )
                if history
            ]
            row["worst"] = max([row["worst"], *shares])
            for probe in policy.probes:
                row["recov"][0] += probe.recoverable
                row["recov"][1] += 1
                if probe.needle in said:
                    row["user"][0] += probe.found
                    row["user"][1] += 1
            row["cost"] += policy.cost_cached
    elapsed = time.perf_counter() - started

    base = totals["baseline"]["cost"] or 1.0
    header = ("policy", "worst%", "user", "recov", "cost x")
    rows = []
    for name, row in totals.items():
        user_hit, user_all = row["user"]
        rec_hit, rec_all = row["recov"]
        rows.append(
            (
                name,
                f"{100 * row['worst']:.1f}%",
                f"{100 * user_hit / max(1, user_all):.1f}% ({user_hit}/{user_all})",
                f"{100 * rec_hit / max(1, rec_all):.1f}% ({rec_hit}/{rec_all})",
                f"{row['cost'] / base:.2f}",
            )
        )
    print(
        f"{len(sessions)} sessions ({'' if args.no_examples else '3 examples + '}"
        f"{args.generated} generated{f' {args.shape}' if args.shape else ''}"
        f"{f' of {args.turns} turns' if args.turns else ''}, seed {args.seed}), "
        f"budget {args.budget:,}"
        f"{f', chunks of {args.chunk_tokens:,}' if args.chunk_tokens else ''}, "
        f"{elapsed:.1f} s",
        file=sys.stderr,
    )
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| --- | " + " | ".join("---:" for _ in header[1:]) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        print(
            f"{header[0]:<36} {header[1]:>7} {header[2]:>14} {header[3]:>16} "
            f"{header[4]:>7}"
        )
        for row in rows:
            print(f"{row[0]:<36} {row[1]:>7} {row[2]:>14} {row[3]:>16} {row[4]:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
