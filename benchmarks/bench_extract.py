"""Main-content extraction: ctxchunk against other extractors, in one run.

Scores what each extractor keeps of a page against hand-made ground truth with the
4-gram shingle F1 of the article extraction benchmark
(github.com/scrapinghub/article-extraction-benchmark, ``evaluate.py``): text is cut
into ``\\w+`` tokens, each page's true positives, false positives and false
negatives over 4-token shingles are normalised to sum to 1, precision and recall are
averaged over pages, and F1 is their harmonic mean. The same score is applied to
Mozilla Readability's test pages (``test/test-pages/*/expected.html``, read as text).

Pages are split in two halves by the first hex digit of the SHA-256 of their name
(even: ``dev``, odd: ``held-out``) so that a change tuned on one half shows on the
other. MB/s is the HTML bytes of the set over the time the extractor took, one
process.

``--hostile`` also times ``read_document`` on hostile pages built in the script:
60,000 nested ``<div>`` and ``<li>``, 5 MB pages (the benchmark's largest page
repeated, and Python's ``json`` documentation page repeated), 5 MB of one
paragraph, and bytes that lie about their charset.

``ctxchunk-whole`` is ctxchunk with ``main_content=False``: what it kept before.

Usage::

    python benchmarks/bench_extract.py AEB_DIR [--readability TEST_PAGES_DIR]
        [--only ctxchunk,trafilatura,resiliparse] [--limit N] [--hostile]

``AEB_DIR`` holds the benchmark's ``ground-truth.json`` and ``html/*.html.gz``.
trafilatura and resiliparse come with ``pip install -e '.[bench]'``; an extractor
that is not installed is left out of the table with a note.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from ctxchunk.documents import read_document

_TOKEN = re.compile(r"\w+")

Page = tuple[str, bytes, str]  # name, HTML bytes, ground-truth text


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    return Counter(
        tuple(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 3)) if tokens
    )


def _tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """The benchmark's ``string_shingle_matching``: normalised TP, FP, FN."""
    t, p = _shingles(true), _shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def _score(results: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean(precision(*r) for r in results if r[0] + r[1] > 0)
    r = statistics.mean(recall(*x) for x in results if x[0] + x[2] > 0)
    return 2 * p * r / (p + r), p, r


def _half(name: str) -> str:
    digit = int(hashlib.sha256(name.encode()).hexdigest()[0], 16)
    return "dev" if digit % 2 == 0 else "held-out"


def load_aeb(directory: Path) -> list[Page]:
    """The article extraction benchmark's pages and their ``articleBody``."""
    truth = json.loads((directory / "ground-truth.json").read_text("utf-8"))
    pages = []
    for name in sorted(truth):
        data = gzip.decompress((directory / "html" / f"{name}.html.gz").read_bytes())
        pages.append((name, data, truth[name].get("articleBody", "")))
    return pages


def load_readability(directory: Path) -> list[Page]:
    """Readability's test pages, the expected output read as text."""
    pages = []
    for page in sorted(p for p in directory.iterdir() if p.is_dir()):
        source, expected = page / "source.html", page / "expected.html"
        if not (source.exists() and expected.exists()):
            continue
        tree = LexborHTMLParser(expected.read_text("utf-8"))
        body = tree.body
        text = body.text(separator=" ") if body is not None else ""
        pages.append((page.name, source.read_bytes(), text))
    return pages


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _ctxchunk(data: bytes) -> str:
    return read_document(data, format="html").text


def _ctxchunk_whole(data: bytes) -> str:
    """Without main-content extraction: the page's <main>, or its body."""
    return read_document(data, format="html", main_content=False).text


def _extractors() -> dict[str, tuple[str, Callable[[bytes], str]]]:
    found: dict[str, tuple[str, Callable[[bytes], str]]] = {}
    from importlib.metadata import version

    found["ctxchunk"] = (version("ctxchunk"), _ctxchunk)
    found["ctxchunk-whole"] = (version("ctxchunk"), _ctxchunk_whole)
    try:
        import trafilatura

        def run_trafilatura(data: bytes) -> str:
            return trafilatura.extract(_as_text(data)) or ""

        found["trafilatura"] = (version("trafilatura"), run_trafilatura)
    except ImportError:
        print("note: trafilatura is not installed", file=sys.stderr)
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        def run_resiliparse(data: bytes) -> str:
            tree = HTMLTree.parse(_as_text(data))
            return extract_plain_text(tree, main_content=True)

        found["resiliparse"] = (version("resiliparse"), run_resiliparse)
    except ImportError:
        print("note: resiliparse is not installed", file=sys.stderr)
    return found


def run(sets: dict[str, list[Page]], only: set[str] | None) -> None:
    """Print one table row per extractor, page set and half."""
    extractors = _extractors()
    print("| extractor | set | pages | F1 | precision | recall | MB/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (release, extract) in extractors.items():
        if only and name not in only:
            continue
        for set_name, pages in sets.items():
            scored: dict[str, list[tuple[float, float, float]]] = {}
            size = 0
            elapsed = 0.0
            for page, data, truth in pages:
                started = time.perf_counter()
                try:
                    text = extract(data)
                except Exception as error:  # a failure scores 0, as an empty result
                    print(f"note: {name} failed on {page}: {error}", file=sys.stderr)
                    text = ""
                elapsed += time.perf_counter() - started
                size += len(data)
                result = _tp_fp_fn(truth, text)
                scored.setdefault(_half(page), []).append(result)
                scored.setdefault("all", []).append(result)
            speed = size / 1e6 / elapsed
            for half in ("dev", "held-out", "all"):
                if half not in scored:
                    continue
                f1, p, r = _score(scored[half])
                print(
                    f"| {name} {release} | {set_name} {half} | {len(scored[half])} "
                    f"| {f1:.3f} | {p:.3f} | {r:.3f} | {speed:.1f} |"
                )


def hostile(pages: list[Page]) -> None:
    """Print how long ``read_document`` takes on hostile pages, and what it gives."""
    from ctxchunk.exceptions import CtxChunkError

    largest = max(pages, key=lambda page: len(page[1]))[1]
    fixtures = Path(__file__).parent.parent / "tests" / "fixtures" / "html"
    docs = (fixtures / "library-json.html").read_bytes()
    cases = {
        "60,000 nested <div>": b"<div>w " * 60_000 + b"x" + b"</div>" * 60_000,
        "60,000 nested <li>": b"<ul><li>w " * 60_000 + b"x",
        "5 MB page": largest * (5_000_000 // len(largest) + 1),
        "5 MB of documentation": docs * (5_000_000 // len(docs) + 1),
        "5 MB paragraph": b"<p>" + b"word, " * 850_000 + b"</p>",
        "windows-1252 bytes declared utf-8": b"<meta charset='utf-8'><p>caf\xe9</p>",
        "utf-8 bytes declared shift_jis": (
            b"<meta charset='shift_jis'><p>" + "caf\u00e9 \u2014 na\u00efve".encode()
        ),
    }
    print("| hostile page | bytes | seconds | result |")
    print("| --- | ---: | ---: | --- |")
    for name, data in cases.items():
        started = time.perf_counter()
        try:
            result = f"{len(read_document(data).text):,} characters"
        except CtxChunkError as error:
            result = f"{type(error).__name__}: {str(error)[:60]}…"
        elapsed = time.perf_counter() - started
        print(f"| {name} | {len(data):,} | {elapsed:.2f} | {result} |")


def main() -> None:
    """Parse the arguments and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("aeb", type=Path, help="the benchmark's directory")
    parser.add_argument("--readability", type=Path, help="test/test-pages directory")
    parser.add_argument("--only", help="comma-separated extractor names")
    parser.add_argument("--limit", type=int, help="use the first N pages of each set")
    parser.add_argument("--hostile", action="store_true", help="time hostile pages")
    args = parser.parse_args()
    sets = {"aeb": load_aeb(args.aeb)}
    if args.readability:
        sets["readability"] = load_readability(args.readability)
    if args.limit:
        sets = {name: pages[: args.limit] for name, pages in sets.items()}
    run(sets, set(args.only.split(",")) if args.only else None)
    if args.hostile:
        hostile(sets["aeb"])


if __name__ == "__main__":
    main()
