"""Event-loop stall while a 1 MB page is added, with and without the async API.

A ticker task sleeps 1 ms at a time and records how late each wake-up is; the worst
lateness is the longest the loop could not run anything else (the stall). The page is
added once on the loop with the synchronous ``ContextWindow.add_document`` and once
through ``AsyncContextWindow.add_document`` (a worker thread, off the loop).

The page is real HTML: the Python documentation pages under
``tests/fixtures/html/`` (``library-json``, ``library-textwrap``,
``tutorial-appetite``), their ``<body>`` contents joined and repeated until the page
is at least ``--size`` bytes (1 MB by default).

Target (issue 11): the worst stall under 20 ms while the page is added async.

Run: ``python benchmarks/bench_async.py`` (``--repeat 3`` takes the worst of 3 runs).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

from ctxchunk.aio import AsyncContextWindow
from ctxchunk.window import ContextWindow

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "html"
PAGES = ("library-json.html", "library-textwrap.html", "tutorial-appetite.html")


def make_page(size: int) -> str:
    """Join the fixtures' bodies until the page holds at least ``size`` bytes."""
    bodies = []
    for name in PAGES:
        html = (FIXTURES / name).read_text(encoding="utf-8")
        match = re.search(r"<body[^>]*>(.*)</body>", html, re.S)
        bodies.append(match.group(1) if match else html)
    body = "\n".join(bodies)
    copies = -(-size // len(body.encode("utf-8")))
    return (
        "<html><head><title>Joined</title></head><body>"
        + (body * copies)
        + "</body></html>"
    )


async def _ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append(time.perf_counter() - before - 0.001)


async def measure(page: str, budget: int, mode: str) -> tuple[float, float]:
    """Return (worst stall in ms, wall time of the add in ms) for one mode.

    ``idle`` adds nothing and sleeps as long as an add takes: the machine's noise
    floor (a shared machine may deschedule the loop's thread whatever it runs).
    """
    window = ContextWindow(budget)
    awindow = AsyncContextWindow(window)
    stop = asyncio.Event()
    lateness: list[float] = []
    ticker = asyncio.create_task(_ticker(stop, lateness))
    await asyncio.sleep(0.02)  # the ticker is running before the add starts
    lateness.clear()
    start = time.perf_counter()
    if mode == "async":
        await awindow.add_document(page, url="https://example.org/joined")
    elif mode == "sync":
        window.add_document(page, url="https://example.org/joined")
        await asyncio.sleep(0)
    else:
        await asyncio.sleep(0.1)
    wall = time.perf_counter() - start
    await asyncio.sleep(0.005)
    stop.set()
    await ticker
    return max(lateness) * 1000, wall * 1000


def main() -> None:
    """Print the worst loop stall per mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--budget", type=int, default=128_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    page = make_page(args.size)
    print(
        f"page: {len(page.encode('utf-8')):,} bytes of HTML; budget {args.budget:,};"
        f" switch interval {sys.getswitchinterval() * 1000:.1f} ms;"
        f" {args.repeat} runs per mode"
    )
    for label, mode in (
        ("idle (noise floor, 100 ms)", "idle"),
        ("sync add_document on the loop", "sync"),
        ("AsyncContextWindow.add_document", "async"),
    ):
        runs = [
            asyncio.run(measure(page, args.budget, mode)) for _ in range(args.repeat)
        ]
        stalls = sorted(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(
            f"{label:34s} worst stall: median {statistics.median(stalls):6.1f} ms,"
            f" max {stalls[-1]:6.1f} ms   add took {wall:6.1f} ms (median)"
        )


if __name__ == "__main__":
    main()
