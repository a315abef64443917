"""The ``ctxchunk`` command.

Exit codes, for scripts:

- ``0``: success;
- ``1``: the input could not be processed (unreadable file, invalid text or session,
  a bound that cannot be met); the message on stderr says why;
- ``2``: the command line itself is wrong (unknown option, missing argument).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ctxchunk._version import __version__
from ctxchunk.exceptions import CtxChunkError
from ctxchunk.split import DEFAULT_MAX_TOKENS, split_text
from ctxchunk.tokens import DEFAULT_ENCODING, get_tokenizer

__all__ = ["main"]

EXIT_OK = 0
"""Everything worked."""
EXIT_INPUT = 1
"""The input could not be processed."""
EXIT_USAGE = 2
"""The command line is wrong (argparse's own convention)."""

_EPILOG = """\
examples:
  ctxchunk split examples/texts/python-faq-design.rst.txt --max-tokens 512
  ctxchunk split notes.md --json > pieces.jsonl
  cat page.txt | ctxchunk count -
  ctxchunk count --tokenizer gpt-4 a.txt b.txt
"""


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise _InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first"
        ) from None
    except OSError as exc:
        raise _InputError(f"{path}: {exc.strerror}") from None


class _InputError(Exception):
    """A file the command was given cannot be read."""


def _preview(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cmd_split(args: argparse.Namespace, out: TextIO) -> int:
    text = _read(args.file)
    pieces = split_text(text, args.max_tokens, tokenizer=args.tokenizer)
    if args.json:
        for index, piece in enumerate(pieces):
            record = {
                "index": index,
                "start": piece.start,
                "end": piece.end,
                "tokens": piece.tokens,
                "text": piece.text,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return EXIT_OK
    out.write(f"{'#':>4}  {'tokens':>6}  {'chars':>15}  text\n")
    for index, piece in enumerate(pieces):
        span = f"{piece.start}-{piece.end}"
        out.write(
            f"{index:>4}  {piece.tokens:>6}  {span:>15}  {_preview(piece.text, 48)}\n"
        )
    total = sum(p.tokens for p in pieces)
    mean = total / len(pieces) if pieces else 0.0
    out.write(
        f"\n{len(pieces)} pieces, {total} tokens ({mean:.0f} per piece, bound "
        f"{args.max_tokens}, {get_tokenizer(args.tokenizer).name}) from "
        f"{len(text)} characters\n"
    )
    return EXIT_OK


def _cmd_count(args: argparse.Namespace, out: TextIO) -> int:
    tokenizer = get_tokenizer(args.tokenizer)
    total = 0
    for path in args.files:
        tokens = tokenizer.count(_read(path))
        total += tokens
        out.write(f"{tokens:>10}  {path}\n")
    if len(args.files) > 1:
        out.write(f"{total:>10}  total\n")
    return EXIT_OK


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``ctxchunk`` command."""
    parser = argparse.ArgumentParser(
        prog="ctxchunk",
        description="Split and count text for LLM context windows, exactly and "
        "offline.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"ctxchunk {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    split = commands.add_parser(
        "split",
        help="cut a text file into token-bounded pieces",
        description="Cut FILE into lossless pieces of at most --max-tokens tokens, "
        "at the best boundaries available, and list them.",
    )
    split.add_argument("file", metavar="FILE", help="a UTF-8 text file, or - for stdin")
    split.add_argument(
        "--max-tokens",
        type=_positive_int,
        default=DEFAULT_MAX_TOKENS,
        metavar="N",
        help=f"most tokens per piece (default {DEFAULT_MAX_TOKENS})",
    )
    split.add_argument(
        "--tokenizer",
        default=DEFAULT_ENCODING,
        metavar="NAME",
        help=f"encoding or model name (default {DEFAULT_ENCODING})",
    )
    split.add_argument(
        "--json", action="store_true", help="print one JSON object per piece"
    )
    split.set_defaults(run=_cmd_split)

    count = commands.add_parser(
        "count",
        help="count the tokens of text files",
        description="Print the exact token count of each FILE.",
    )
    count.add_argument(
        "files", nargs="+", metavar="FILE", help="UTF-8 text files, or - for stdin"
    )
    count.add_argument(
        "--tokenizer",
        default=DEFAULT_ENCODING,
        metavar="NAME",
        help=f"encoding or model name (default {DEFAULT_ENCODING})",
    )
    count.set_defaults(run=_cmd_count)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ctxchunk`` command and return its exit code.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns:
        ``0`` on success, ``1`` when the input cannot be processed, ``2`` for a wrong
        command line.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, sys.stdout)
    except (CtxChunkError, _InputError) as exc:
        print(f"ctxchunk {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
