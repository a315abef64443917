"""Write long random session logs for scale tests.

Session ``i`` uses seed ``SEED + i``, so a run is reproducible. Example::

    python examples/generate_sessions.py /tmp/sessions --count 100 --turns 200
    ctxchunk simulate /tmp/sessions/*.jsonl --budget 16000 --jobs 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ctxchunk._generate import generate_session
from ctxchunk.session import dump_session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write reproducible random session logs (JSONL) for scale tests."
    )
    parser.add_argument("out", type=Path, help="directory to write the sessions to")
    parser.add_argument("--count", type=int, default=10, help="sessions (10)")
    parser.add_argument("--turns", type=int, default=100, help="user turns each (100)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (0)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        session = generate_session(args.seed + i, turns=args.turns)
        dump_session(session, args.out / f"{session.name}.jsonl")
    print(f"wrote {args.count} sessions of {args.turns} turns to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
