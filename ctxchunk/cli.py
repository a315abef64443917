"""The ``ctxchunk`` command.

Exit codes, for scripts:

- ``0``: success;
- ``1``: the input could not be processed (unreadable file, invalid text or session,
  a bound that cannot be met); the message on stderr says why;
- ``2``: the command line itself is wrong (unknown option, missing argument, an
  unknown policy or model);
- ``141``: the reader of the output closed the pipe (``... | head -1``); nothing is
  printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
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
EXIT_PIPE = 141
"""The reader of the output closed the pipe (128 + SIGPIPE, what a shell reports
for a tool that SIGPIPE ended)."""

_EPILOG = """\
examples:
  ctxchunk simulate examples/sessions/resume_chat.jsonl --budget 16000
  ctxchunk simulate examples/sessions/*.jsonl --budget 16000 \\
      --policy baseline --policy drop-oldest --policy retention:0.8 \\
      --policy clear-tool-results:3+role-priority --report report.html --jobs 2
  ctxchunk simulate logs/ --budget 16000 --jobs 8 --json fleet.json --report fleet.html
  ctxchunk simulate 'logs/**/*.jsonl.gz' --budget 16000 --engine ray --address auto
  ctxchunk simulate chat.json --budget 8000       # OpenAI Chat messages, detected
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


DEFAULT_POLICIES = (
    "baseline",
    "recommended",
    "drop-oldest",
    "retention:0.8",
    "role-priority",
)
"""What ``ctxchunk simulate`` compares when no ``--policy`` is given: the baseline
(the failure to compare against), then the default policy, then the classic ones."""

_POLICY_HELP = """\
policies (NAME[:ARGS], join several with + to chain them):
  baseline                      updates pushed whole; on overflow all older history
                                is dropped (the failure ctxchunk exists to fix)
  recommended                   the default policy (policies.Recommended): the one
                                to use when you have no reason to pick another
  drop-oldest                   evict the oldest chunk first
  retention[:RATIO]             cut history to RATIO of the budget at once (0.8)
  role-priority[:ROLE,...]      evict tool context first, then assistant, then user
  middle-out[:KEEP_FIRST]       keep the first turns and the latest; evict between
  clear-tool-results[:KEEP]     replace older tool results by a placeholder (3)
  summarize                     replace evicted runs by an extractive summary

columns of the comparison (docs/simulation.md defines each):
  cliff      the most history lost in one step, in tokens: evicted, removed, cut by
             an interruption, masked behind a marker, or replaced by a summary or a
             cleared placeholder (net of the replacement) all count as lost
  cliff%     that loss as a share of the history in the window just before the step
  recall     probes whose needle was in the window's text
  recov      probes whose needle was in the window, or archived under a source a
             marker in the window still names (the model can read it back)
  evictions  steps where anything left the window; rt events: Realtime client events
             a live session would have been sent; cache: cached share of request
             tokens; cost $ / cached $: input cost without / with cached pricing
"""


def parse_policy(spec: str) -> object:
    """Return the policy a command-line spec names (see ``ctxchunk simulate -h``).

    Raises:
        argparse.ArgumentTypeError: the spec names no policy or has bad arguments.
    """
    from ctxchunk import policies
    from ctxchunk.simulate import WholeUpdateBaseline

    parts = [part.strip() for part in spec.split("+")]
    built: list[object] = []
    for part in parts:
        name, _, arg = part.partition(":")
        if name == "baseline" and len(parts) > 1:
            raise argparse.ArgumentTypeError(
                f"policy {spec!r}: baseline cannot be chained (it is not a policy "
                f"step but a window that pushes updates whole); give it as its own "
                f"--policy baseline"
            )
        if name in ("baseline", "recommended", "drop-oldest", "summarize") and arg:
            raise argparse.ArgumentTypeError(
                f"policy {part!r}: {name} takes no arguments; write {name}"
            )
        try:
            if name == "baseline":
                built.append(WholeUpdateBaseline())
            elif name == "recommended" and not arg:
                built.append(policies.Recommended())
            elif name == "drop-oldest" and not arg:
                built.append(policies.DropOldest())
            elif name in ("retention", "retention-ratio"):
                built.append(policies.RetentionRatio(float(arg) if arg else 0.8))
            elif name == "role-priority":
                order = tuple(arg.split(",")) if arg else ("tool", "assistant", "user")
                built.append(policies.RolePriority(order))
            elif name == "middle-out":
                built.append(policies.MiddleOut(int(arg) if arg else 2))
            elif name == "clear-tool-results":
                built.append(policies.ClearToolResults(int(arg) if arg else 3))
            elif name == "summarize" and not arg:
                built.append(policies.Summarize())
            else:
                raise argparse.ArgumentTypeError(
                    f"unknown policy {part!r}; see the list in `ctxchunk simulate -h`"
                )
        except (ValueError, CtxChunkError) as exc:
            raise argparse.ArgumentTypeError(f"policy {part!r}: {exc}") from None
    if len(built) == 1:
        return built[0]
    return policies.Chain(*built)  # type: ignore[arg-type]


class _Progress:
    """A one-line progress bar on stderr, shown for runs of several sessions.

    Redrawn at most five times a second (and at the end), so a log of the run
    stays short.
    """

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = total > 1
        self.drawn = 0.0

    def step(self, _outcome: object = None) -> None:
        import time

        self.done += 1
        now = time.monotonic()
        if self.enabled and (now - self.drawn >= 0.2 or self.done == self.total):
            self.drawn = now
            filled = 30 * self.done // self.total
            bar = "#" * filled + "." * (30 - filled)
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} sessions{end}")
            self.stream.flush()


def _check_output(option: str, path: str | None) -> None:
    """Fail before the run, not after it, when an output file cannot be written.

    Raises:
        _InputError: ``path`` is a directory, its folder does not exist, or either
            is not writable.
    """
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise _InputError(f"{option} {path}: is a directory; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise _InputError(f"{option} {path}: no such directory {str(folder)!r}")
    if target.exists() and not os.access(target, os.W_OK):
        raise _InputError(f"{option} {path}: the file is not writable")
    if not target.exists() and not os.access(folder, os.W_OK):
        raise _InputError(f"{option} {path}: cannot create a file in {str(folder)!r}")


def _write_output(option: str, path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _InputError(f"{option} {path}: {exc.strerror}") from None


def _cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from ctxchunk._aggregate import aggregate_of
    from ctxchunk._fleet import Config, count_sessions, iter_inputs, iter_sessions, run
    from ctxchunk.exceptions import SessionLogError
    from ctxchunk.simulate import SimulationResult, default_chunk_tokens

    specs = args.policy or list(DEFAULT_POLICIES)
    named = {spec: parse_policy(spec) for spec in specs}
    if len(named) != len(specs):
        raise argparse.ArgumentTypeError("each --policy must be given once")
    chunk_tokens = args.chunk_tokens or default_chunk_tokens(args.budget)
    _check_sizes(args.budget, chunk_tokens)
    if args.address is not None and args.engine != "ray":
        raise argparse.ArgumentTypeError("--address needs --engine ray")
    _check_output("--report", args.report)
    _check_output("--json", args.json)
    total = count_sessions(args.sessions, args.format)
    options: dict[str, object] = {
        "budget": args.budget,
        "chunk_tokens": chunk_tokens,
        "model": args.model,
    }
    config = Config(named, options, args.format)
    # One session is its own detail: its table, charts and series are the output.
    detail = max(args.detail, 1) if total == 1 else args.detail
    aggregate = aggregate_of(specs, ())
    detailed: dict[int, SimulationResult] = {}
    failed: list[str] = []
    progress = _Progress(total, sys.stderr)
    outcomes = run(
        iter_sessions(iter_inputs(args.sessions), args.format),
        config,
        total=total,
        engine=args.engine,
        workers=args.jobs,
        address=args.address,
        detail=detail,
        on_outcome=progress.step,
    )
    try:
        for outcome in outcomes:
            if outcome.summary is None:
                if not args.keep_going:
                    raise SessionLogError(str(outcome.error))
                failed.append(str(outcome.error))
                continue
            aggregate.add(outcome.summary)
            if outcome.result is not None:
                detailed[outcome.index] = outcome.result
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()
    results = [detailed[index] for index in sorted(detailed)]
    failed.sort()
    if args.report:
        from ctxchunk._report import write_fleet_report, write_report

        try:
            if total <= detail:
                write_report(results, args.report)
            else:
                write_fleet_report(aggregate, results, args.report, failed=len(failed))
        except OSError as exc:
            raise _InputError(f"--report {args.report}: {exc.strerror}") from None
    if failed:
        shown = "\n  ".join(failed[:10])
        more = f"\n  ... and {len(failed) - 10} more" if len(failed) > 10 else ""
        sys.stderr.write(
            f"ctxchunk simulate: {len(failed)} of {total} sessions failed and were "
            f"left out:\n  {shown}{more}\n"
        )
    if args.json:
        payload = {
            "aggregate": aggregate.to_dict(),
            "failed": failed,
            "sessions": [r.to_dict() for r in results],
        }
        text = json.dumps(payload, indent=1, sort_keys=True) + "\n"
        if args.json == "-":
            out.write(text)
            return EXIT_OK
        _write_output("--json", args.json, text)
    if total <= detail:
        for result in results:
            _print_comparison(result, out)
    if total > 1:
        _print_aggregate(aggregate, options, out)
    return EXIT_OK


def _print_aggregate(
    aggregate: object, options: dict[str, object], out: TextIO
) -> None:
    from ctxchunk._aggregate import METRICS, PERCENTILES, Aggregate

    assert isinstance(aggregate, Aggregate)
    out.write(
        f"\n{aggregate.sessions:,} sessions: budget {options['budget']:,}, chunks of "
        f"at most {options['chunk_tokens']:,} tokens, prices of {options['model']}\n"
    )
    rows = aggregate.table()
    columns = [f"p{p}" for p in PERCENTILES] + ["max", "mean"]
    for key, title in METRICS:
        probed = rows[0][key]["sessions"] if rows else 0
        note = ""
        if key.endswith("recall"):
            note = f" ({probed:,} sessions with probes)"
        header = f"{title + note:<44}" + "".join(f"{c:>10}" for c in columns)
        out.write("\n" + header + "\n" + "-" * len(header) + "\n")
        for row in rows:
            stats = row[key]
            cells = "".join(f"{_format_stat(key, stats.get(c)):>10}" for c in columns)
            out.write(f"{row['policy'][:43]:<44}{cells}\n")
    if aggregate.baseline is not None:
        out.write(
            f"\nbeat {aggregate.baseline} (a smaller worst one-step loss share, and no "
            f"lower recoverable recall):\n"
        )
        for row in rows:
            beat = row["beat_baseline"]
            if beat is not None:
                out.write(
                    f"  {row['policy'][:42]:<42} {beat['share']:>7.1%} of sessions "
                    f"({beat['sessions']:,})\n"
                )
    out.write(
        "percentiles by nearest rank over sessions; worst one-step loss counts "
        "everything that left, was masked, replaced or cleared\n"
    )


def _format_stat(key: str, value: object) -> str:
    if value is None:
        return "-"
    assert isinstance(value, (int, float))
    if key in ("worst_loss_share", "recall", "recoverable_recall"):
        return f"{value:.1%}"
    if key == "cost_cached_usd":
        return f"{value:.4f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _check_sizes(budget: int, chunk_tokens: int) -> None:
    """Reject a budget and chunk size no window accepts, as a command-line error.

    Raises:
        argparse.ArgumentTypeError: ``chunk_tokens`` is not below ``budget``, or the
            window rejects the pair (its message says what would work).
    """
    from ctxchunk.exceptions import BudgetError
    from ctxchunk.simulate import default_chunk_tokens
    from ctxchunk.window import ContextWindow

    if chunk_tokens >= budget:
        raise argparse.ArgumentTypeError(
            f"--chunk-tokens {chunk_tokens} must be below --budget {budget}: a chunk "
            f"that fills the window could never be admitted beside anything; leave "
            f"--chunk-tokens out for {default_chunk_tokens(budget)}"
        )
    try:
        ContextWindow(budget, chunk_tokens=chunk_tokens)
    except BudgetError as exc:
        raise argparse.ArgumentTypeError(
            f"--budget {budget} with --chunk-tokens {chunk_tokens}: {exc}"
        ) from None


def _print_comparison(result: object, out: TextIO) -> None:
    from ctxchunk.simulate import SimulationResult

    assert isinstance(result, SimulationResult)
    out.write(
        f"\n{result.session}: budget {result.budget:,}, chunks of at most "
        f"{result.chunk_tokens:,} tokens, {len(result.steps)} events, prices of "
        f"{result.model}\n"
    )
    header = (
        f"{'policy':<34} {'cliff':>7} {'cliff%':>7} {'recall':>7} {'recov':>7} "
        f"{'evictions':>9} {'rt events':>9} {'cache':>6} {'cost $':>8} "
        f"{'cached $':>8}\n"
    )
    out.write(header)
    out.write("-" * (len(header) - 1) + "\n")
    for row in result.table():
        recall = f"{row['probes_found']}/{row['probes']}"
        recoverable = f"{row['probes_recoverable']}/{row['probes']}"
        out.write(
            f"{row['policy'][:34]:<34} {row['cliff_tokens']:>7,} "
            f"{row['cliff_share']:>7.0%} {recall:>7} {recoverable:>7} "
            f"{row['eviction_events']:>9} {row['realtime_events']:>9} "
            f"{row['cache_hit_rate']:>6.0%} {row['cost_usd']:>8.4f} "
            f"{row['cost_cached_usd']:>8.4f}\n"
        )
    out.write(
        "cliff: most history lost in one step (evicted, masked, replaced and "
        "cleared all count)\n"
        "recall: probes whose fact was in the window; recov: in the window or "
        "readable back through a marker\n"
        "rt events: Realtime client events a live session would get\n"
    )


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """Return an argparse ``type`` that reads an integer of at least ``minimum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{number} must be at least {minimum}")
        return number

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _priced_model(value: str) -> str:
    from ctxchunk.simulate import DEFAULT_PRICES

    if value not in DEFAULT_PRICES:
        raise argparse.ArgumentTypeError(
            f"no prices for model {value!r}; use one of {', '.join(DEFAULT_PRICES)}"
        )
    return value


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

    simulate = commands.add_parser(
        "simulate",
        help="replay logged sessions under several truncation policies",
        description="Replay each logged session (a ctxchunk session log, OpenAI "
        "Chat, Responses or Realtime, Anthropic Messages or LangChain messages, or "
        "a dataset of one conversation per JSONL line; see docs/simulation.md) "
        "through one context window per policy and compare what each kept, lost "
        "and cost.",
        epilog=_POLICY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument(
        "sessions",
        nargs="+",
        metavar="LOGS",
        help="session logs: files, directories (searched for *.jsonl, *.json and "
        "their .gz) or globs (quote them to let ctxchunk expand ** itself)",
    )
    simulate.add_argument(
        "--format",
        default="auto",
        choices=[
            "auto",
            "session",
            "chat",
            "realtime",
            "items",
            "langchain",
            "anthropic",
            "claude-code",
            "codex",
        ],
        help="the logs' format (default auto: detected per file from its first record; "
        "a Chat-like log with Anthropic content blocks or a top-level system is "
        "anthropic; a Responses request body {instructions, input} is items)",
    )
    simulate.add_argument(
        "--budget",
        type=_positive_int,
        required=True,
        metavar="N",
        help="the window's token budget",
    )
    simulate.add_argument(
        "--chunk-tokens",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"largest chunk an update is cut into, below --budget (default "
        f"{DEFAULT_MAX_TOKENS}, or a quarter of the budget if smaller, so a chunk "
        "always fits beside the history it slides past)",
    )
    simulate.add_argument(
        "--policy",
        action="append",
        metavar="NAME[:ARGS]",
        help="a policy to compare; repeat for several (default: "
        + ", ".join(DEFAULT_POLICIES)
        + ")",
    )
    simulate.add_argument(
        "--model",
        default="gpt-realtime",
        type=_priced_model,
        help="model whose prices and chat format apply (default gpt-realtime)",
    )
    simulate.add_argument("--report", metavar="FILE", help="write an HTML report")
    simulate.add_argument(
        "--json", metavar="FILE", help="write the full results as JSON (- for stdout)"
    )
    simulate.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="simulate sessions in N processes, or on N CPUs of a local Ray "
        "instance (results are identical)",
    )
    simulate.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this machine's processes (default); ray: Ray workers "
        "(pip install 'ctxchunk[ray]')",
    )
    simulate.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --engine ray, the cluster to run on (ray://HOST:10001, or auto); "
        "default: start a local Ray instance",
    )
    simulate.add_argument(
        "--detail",
        type=_non_negative_int,
        default=3,
        metavar="N",
        help="the first N sessions get their full JSON series and their charts in "
        "the report (default 3); up to N sessions, the output is one table and one "
        "report section per session; past N, distributions over every session",
    )
    simulate.add_argument(
        "--keep-going",
        action="store_true",
        help="leave out a session that cannot be read or replayed (listed at the "
        "end) instead of stopping",
    )
    simulate.set_defaults(run=_cmd_simulate)
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
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``ctxchunk split f | head -1``): stop quietly, as
        # a Unix tool killed by SIGPIPE would. Python flushes stdout again at exit,
        # so point it at /dev/null first or that flush fails too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except argparse.ArgumentTypeError as exc:
        parser.print_usage(sys.stderr)
        print(f"ctxchunk {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CtxChunkError, _InputError) as exc:
        print(f"ctxchunk {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
