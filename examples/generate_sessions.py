"""Write reproducible session logs: long random ones, or realistic ones.

Session ``i`` uses seed ``SEED + i``, so a run is reproducible. Examples::

    python examples/generate_sessions.py /tmp/sessions --count 100 --turns 200
    python examples/generate_sessions.py --realistic 20 --out /tmp/realistic
    python examples/generate_sessions.py --realistic 5 --shape paste --out /tmp/paste
    ctxchunk simulate /tmp/realistic/*.jsonl --budget 16000 --jobs 2

``--realistic`` cycles through the shapes of
``ctxchunk._generate.REALISTIC_SHAPES`` (voice research with pages larger than the
budget, a support call with 7,500-token articles, a long chat, a 10,000-token paste,
parallel tool calls); ``--shape`` keeps to one of them, and ``--repo-texts`` mixes
paragraphs of the real texts in ``examples/texts`` and ``tests/fixtures/html`` into
the pages and articles.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from ctxchunk._generate import (
    REALISTIC_SHAPES,
    generate_realistic_session,
    generate_session,
    realistic_sessions,
    repo_corpus,
)
from ctxchunk.session import Session, dump_session


def _realistic(args: argparse.Namespace) -> Iterator[Session]:
    corpus = repo_corpus() if args.repo_texts else ()
    if args.shape is None and args.turns is None:
        yield from realistic_sessions(args.realistic, args.seed, corpus=corpus)
        return
    for i in range(args.realistic):
        shape = args.shape or REALISTIC_SHAPES[i % len(REALISTIC_SHAPES)]
        yield generate_realistic_session(
            args.seed + i, shape=shape, turns=args.turns, corpus=corpus
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write reproducible session logs (JSONL) for scale tests and "
        "policy studies."
    )
    parser.add_argument(
        "out", type=Path, nargs="?", help="directory to write the sessions to"
    )
    parser.add_argument(
        "--out",
        dest="out_option",
        type=Path,
        metavar="OUT",
        help="the same, as an option",
    )
    parser.add_argument("--count", type=int, default=10, help="random sessions (10)")
    parser.add_argument(
        "--turns",
        type=int,
        default=None,
        help="user turns each (100 for random sessions; each shape's own default "
        "for realistic ones)",
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (0)")
    parser.add_argument(
        "--realistic",
        type=int,
        metavar="N",
        help="write N realistic sessions instead of --count random ones",
    )
    parser.add_argument(
        "--shape", choices=REALISTIC_SHAPES, help="only this realistic shape"
    )
    parser.add_argument(
        "--repo-texts",
        action="store_true",
        help="mix the repository's real texts into realistic pages and articles",
    )
    args = parser.parse_args(argv)
    out = args.out_option or args.out
    if out is None:
        parser.error("give the output directory, as OUT or --out OUT")
    if args.realistic is None and (args.shape or args.repo_texts):
        parser.error("--shape and --repo-texts go with --realistic N")
    out.mkdir(parents=True, exist_ok=True)
    if args.realistic is not None:
        if args.realistic < 0:
            parser.error(f"--realistic {args.realistic} must be at least 0")
        written = 0
        for session in _realistic(args):
            dump_session(session, out / f"{session.name}.jsonl")
            written += 1
        print(f"wrote {written} realistic sessions to {out}")
        return 0
    turns = 100 if args.turns is None else args.turns
    for i in range(args.count):
        session = generate_session(args.seed + i, turns=turns)
        dump_session(session, out / f"{session.name}.jsonl")
    print(f"wrote {args.count} sessions of {turns} turns to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
