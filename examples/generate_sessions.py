"""Write long random session logs for scale tests.

Usage: ``python examples/generate_sessions.py OUT_DIR [COUNT] [TURNS] [SEED]``.
Session ``i`` uses seed ``SEED + i``, so a run is reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ctxchunk._generate import generate_session
from ctxchunk.session import dump_session


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    count = int(argv[1]) if len(argv) > 1 else 10
    turns = int(argv[2]) if len(argv) > 2 else 100
    seed = int(argv[3]) if len(argv) > 3 else 0
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        session = generate_session(seed + i, turns=turns)
        dump_session(session, out / f"{session.name}.jsonl")
    print(f"wrote {count} sessions of {turns} turns to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
