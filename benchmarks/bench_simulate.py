"""Simulation benchmark: sessions per second, and 1,000 sessions through the command.

Part 1 (in process): one generated 100-turn session
(``ctxchunk._generate.generate_session(0, turns=100)``) is simulated with the command's
default policies at a 16,000-token budget, ``--repeat`` times; the median gives
sessions per second. Loading the same session from its JSONL text is timed apart.

Part 2 (the command): ``--sessions`` generated sessions (seeds 0, 1, ...) are written
to a temporary directory, then ``ctxchunk simulate DIR/*.jsonl --budget 16000
--jobs N`` is run as a subprocess and timed by the wall clock, output discarded. The
serial run (``--jobs 1``) and a ``--jobs 2`` run over the same first
``--serial-sessions`` sessions give the speedup; ``--jobs 2`` also runs over all
``--sessions``. When ``--serial-sessions`` is below ``--sessions`` the serial time for
all of them is extrapolated from the per-session time, and labelled so.

Child CPU seconds (user + system, from ``getrusage``) are shown next to wall time: on
a machine whose cores are shared, wall time above CPU time / jobs means the run
waited for a core.

Run: ``python benchmarks/bench_simulate.py`` (defaults: 1,000 sessions, serial on
100), or ``--sessions 1000 --serial-sessions 1000`` for a measured serial run, or
``--sessions 50 --serial-sessions 20 --repeat 2`` for a quick check.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ctxchunk._generate import generate_session
from ctxchunk.cli import DEFAULT_POLICIES, parse_policy
from ctxchunk.session import dump_session, load_session
from ctxchunk.simulate import simulate


def _command() -> list[str]:
    """The installed ``ctxchunk`` script next to this interpreter, or ``-m``."""
    script = Path(sys.executable).parent / "ctxchunk"
    if script.is_file():
        return [str(script)]
    found = shutil.which("ctxchunk")
    return [found] if found else [sys.executable, "-m", "ctxchunk.cli"]


def in_process(turns: int, budget: int, repeat: int) -> dict[str, float]:
    session = generate_session(0, turns=turns)
    text = dump_session(session)
    named = {spec: parse_policy(spec) for spec in DEFAULT_POLICIES}
    simulate(session, named, budget=budget)  # warm the tokenizer and caches
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        simulate(session, named, budget=budget)
        runs.append(time.perf_counter() - start)
    loads = []
    for _ in range(repeat):
        start = time.perf_counter()
        load_session(text.splitlines())
        loads.append(time.perf_counter() - start)
    median = statistics.median(runs)
    return {
        "events": len(session.events),
        "jsonl_kb": len(text.encode()) / 1024,
        "simulate_s": median,
        "simulate_min_s": min(runs),
        "load_s": statistics.median(loads),
        "sessions_per_s": 1 / median,
    }


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(paths: list[Path], budget: int, jobs: int) -> tuple[float, float]:
    """Run ``ctxchunk simulate`` over ``paths``; return (wall, child CPU) seconds."""
    argv = [
        *_command(),
        "simulate",
        *map(str, paths),
        "--budget",
        str(budget),
        "--jobs",
        str(jobs),
    ]
    cpu = _child_cpu()
    start = time.perf_counter()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start, _child_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--budget", type=int, default=16_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--serial-sessions", type=int, default=100)
    args = parser.parse_args()
    serial_n = min(args.serial_sessions, args.sessions)
    here = Path.cwd()

    print(f"command: python {shlex.join(sys.argv)}")
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"policies: {', '.join(DEFAULT_POLICIES)}; budget {args.budget:,}\n")

    one = in_process(args.turns, args.budget, args.repeat)
    print(
        f"## In process: one {args.turns}-turn session "
        f"({one['events']:.0f} events, {one['jsonl_kb']:.0f} KB JSONL), "
        f"median of {args.repeat}\n"
    )
    print("| measure | value |\n| --- | ---: |")
    print(f"| simulate, 4 policies (s) | {one['simulate_s']:.3f} |")
    print(f"| simulate, fastest run (s) | {one['simulate_min_s']:.3f} |")
    print(f"| sessions per second | {one['sessions_per_s']:.2f} |")
    print(f"| events per second | {one['events'] / one['simulate_s']:,.0f} |")
    print(f"| load_session from JSONL (s) | {one['load_s']:.3f} |\n")

    with tempfile.TemporaryDirectory(prefix="ctxchunk-bench-") as tmp:
        start = time.perf_counter()
        paths = []
        for seed in range(args.sessions):
            path = Path(tmp) / f"random-{seed:04d}.jsonl"
            dump_session(generate_session(seed, turns=args.turns), path)
            paths.append(path)
        written = time.perf_counter() - start
        print(
            f"## The command: {args.sessions:,} generated {args.turns}-turn sessions "
            f"(written in {written:.1f} s)\n"
        )
        shown = " ".join(_command()).replace(str(here) + os.sep, "")
        print(
            f"`{shown} simulate {tmp}/*.jsonl --budget {args.budget} --jobs N` "
            "(first --serial-sessions files for the serial runs)\n"
        )
        rows = []
        for n, jobs in ((serial_n, 1), (serial_n, 2), (args.sessions, 2)):
            if rows and n == args.sessions and n == serial_n:
                continue
            wall, cpu = run_command(paths[:n], args.budget, jobs)
            rows.append((n, jobs, wall, cpu, False))
            print(f"  ran {n} sessions --jobs {jobs}: {wall:.1f} s", file=sys.stderr)
        if serial_n < args.sessions:
            wall = rows[0][2] / serial_n * args.sessions
            rows.insert(2, (args.sessions, 1, wall, float("nan"), True))
    print(
        "| sessions | --jobs | wall (s) | child CPU (s) | s per session "
        "| sessions/s | speedup vs --jobs 1 |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    serial_per = rows[0][2] / rows[0][0]
    for n, jobs, wall, cpu, estimated in rows:
        per = wall / n
        label = f"{n:,} (estimate from {serial_n:,})" if estimated else f"{n:,}"
        cpu_text = "—" if estimated else f"{cpu:.1f}"
        wall_text = f"~{wall:.0f}" if estimated else f"{wall:.1f}"
        print(
            f"| {label} | {jobs} | {wall_text} | {cpu_text} | {per:.3f} "
            f"| {1 / per:.2f} | {serial_per / per:.2f}x |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
