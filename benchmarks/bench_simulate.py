"""Simulation benchmark: per-session cost, sessions per second by engine, memory.

Part 1 (in process, one core): ``--profile-sessions`` generated 100-turn sessions
(``ctxchunk._generate.generate_session(seed, turns=100)``) are read from their JSONL
files and simulated with the four policies below at a 16,000-token budget, as a
worker does (a summary per session, no Realtime event counts, the garbage collector
run between sessions); the median per-session time of reading and of simulating is
the serial per-session cost, and the mean CPU time per session (the collections
included) the figure least moved by other work on the machine.

Part 2 (the command): ``--sessions`` generated sessions are written to a temporary
directory, then ``ctxchunk simulate DIR --budget 16000 --policy ... --jobs N
[--engine ray] --json OUT`` runs as a subprocess, timed by the wall clock. Each
engine runs at 1 and 2 workers over the first ``--serial-sessions`` sessions (a
sub-directory of links), and the local pool with 2 workers also over all of them.
Ray is timed twice: the command as a user runs it (starting and stopping a local
instance: about 5 s of the wall time), and the command on a running instance whose
workers have each simulated one session already ("ray, running": what a run on a
long-lived cluster costs, the rate a fleet evaluation is sized by).
Every run's aggregate JSON over the same sessions must be byte-identical; the table
says whether it was. Ray runs are skipped when Ray is not installed.

Part 3 (memory): the command over ``--memory-small`` and ``--memory-large``
generated 10-turn sessions (short, so the large run is quick: memory is measured
against the number of sessions, not their length) with ``--jobs 2``; peak RSS of the
driver and of the largest worker, from ``getrusage`` in a wrapper process.

Run: ``python benchmarks/bench_simulate.py`` (1,000 sessions; serial and Ray runs on
200; memory at 100 and 10,000), or ``--sessions 100 --serial-sessions 40
--memory-large 1000`` for a quick check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ctxchunk._aggregate import summarize
from ctxchunk._fleet import _session_gc, read_session
from ctxchunk._generate import generate_session
from ctxchunk.cli import parse_policy
from ctxchunk.session import dump_session
from ctxchunk.simulate import simulate

POLICIES = ("baseline", "recommended", "drop-oldest", "retention:0.8")
"""Four policies: the baseline, the default one and two classic ones."""

_RSS = """
import contextlib, io, resource, sys
from ctxchunk.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{code} {me:.0f} {kids:.0f}")
"""
"""Runs the command in-process and prints its exit code, the driver's and the
largest child's peak RSS in MiB (Linux reports ru_maxrss in KiB)."""

_RAY_WARM = """
import contextlib, io, sys, time
import ray
from ctxchunk._fleet import Config, simulate_batch
from ctxchunk.cli import main
from ctxchunk.simulate import WholeUpdateBaseline
jobs, first = int(sys.argv[1]), sys.argv[2]
ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False,
         configure_logging=False)
task = ray.remote(num_cpus=1)(simulate_batch)
warm = Config({"baseline": WholeUpdateBaseline()}, {"budget": 16000})
ray.get([task.remote([(0, first, False)], warm) for _ in range(jobs)])
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[3:])
print(code, time.perf_counter() - start)
ray.shutdown()
"""
"""Starts a local Ray instance, has each worker simulate one session (so each has
imported ctxchunk and loaded its tokenizer, as on a running cluster), then times the
command in-process on that instance: the command's rate without Ray's start."""


def _write(folder: Path, count: int, turns: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"random-{seed:05d}.jsonl"
        dump_session(generate_session(seed, turns=turns), path)
        paths.append(path)
    return paths


def _subset(folder: Path, paths: list[Path]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        (folder / path.name).symlink_to(path)
    return folder


def _one(path: Path, named: dict[str, Any], budget: int) -> tuple[float, float]:
    """Read and simulate one session as a worker does; return the two times."""
    start = time.perf_counter()
    session = read_session(path)
    middle = time.perf_counter()
    summarize(simulate(session, named, budget, realtime=False))
    return middle - start, time.perf_counter() - middle


def per_session(paths: list[Path], budget: int) -> dict[str, float]:
    named = {spec: parse_policy(spec) for spec in POLICIES}
    simulate(read_session(paths[0]), named, budget)  # warm the tokenizer
    reads, sims = [], []
    cpu = time.process_time()
    # As a worker (ctxchunk._fleet.simulate_batch) does it: a summary per session,
    # without Realtime event counts, the collector run between sessions.
    with _session_gc() as collect:
        for path in paths:
            read, sim = _one(path, named, budget)
            collect()
            reads.append(read)
            sims.append(sim)
    cpu = (time.process_time() - cpu) / len(paths)
    read, sim = statistics.median(reads), statistics.median(sims)
    return {
        "read_s": read,
        "simulate_s": sim,
        "sessions_per_s": 1 / (read + sim),
        "cpu_s": cpu,
    }


def _argv(folder: Path, budget: int, engine: str, jobs: int, out: Path) -> list[str]:
    argv = ["simulate", str(folder), "--budget", str(budget), "--jobs", str(jobs)]
    for spec in POLICIES:
        argv += ["--policy", spec]
    return [*argv, "--engine", engine, "--json", str(out)]


def run_command(argv: list[str]) -> float:
    command = [sys.executable, "-m", "ctxchunk.cli", *argv]
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def _aggregate_digest(path: Path) -> str:
    data = json.loads(path.read_text())
    text = json.dumps(data["aggregate"], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_ray_warm(argv: list[str], jobs: int, first: Path) -> float:
    command = [sys.executable, "-c", _RAY_WARM, str(jobs), str(first), *argv]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    code, wall = result.stdout.split()
    assert code == "0", result.stderr
    return float(wall)


def memory(folder: Path, budget: int) -> tuple[float, float, float]:
    argv = [*_argv(folder, budget, "local", 2, folder.with_suffix(".json"))]
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _RSS, *argv], check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    code, driver, worker = result.stdout.split()
    assert code == "0", result.stderr
    return wall, float(driver), float(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--budget", type=int, default=16_000)
    parser.add_argument("--profile-sessions", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--serial-sessions", type=int, default=200)
    parser.add_argument("--memory-small", type=int, default=100)
    parser.add_argument("--memory-large", type=int, default=10_000)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    args = parser.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        args.no_ray = True

    print(f"command: python {shlex.join(sys.argv)}")
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"policies: {', '.join(POLICIES)}; budget {args.budget:,}\n")

    with tempfile.TemporaryDirectory(prefix="ctxchunk-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        paths = _write(root / "all", args.sessions, args.turns)
        print(
            f"{args.sessions:,} generated {args.turns}-turn sessions written in "
            f"{time.perf_counter() - start:.1f} s\n"
        )
        one = per_session(paths[: args.profile_sessions], args.budget)
        print(
            f"## Serial cost per session (median of {args.profile_sessions}, one "
            f"process)\n"
        )
        print("| measure | value |\n| --- | ---: |")
        print(f"| read_session (s) | {one['read_s']:.3f} |")
        print(f"| simulate, 4 policies (s) | {one['simulate_s']:.3f} |")
        print(f"| sessions per second | {one['sessions_per_s']:.2f} |")
        # CPU time is less moved than the wall clock by other work on the machine.
        print(f"| CPU time per session, mean (s) | {one['cpu_s']:.3f} |\n")

        n = min(args.serial_sessions, args.sessions)
        subset = _subset(root / "subset", paths[:n])
        runs: list[tuple[str, int, int, float, str]] = []
        engines = ["local"] + ([] if args.no_ray else ["ray"])
        for engine in engines:
            for jobs in (1, 2):
                out = root / f"{engine}-{jobs}.json"
                wall = run_command(_argv(subset, args.budget, engine, jobs, out))
                runs.append((engine, jobs, n, wall, _aggregate_digest(out)))
                print(f"  {engine} --jobs {jobs}, {n}: {wall:.1f} s", file=sys.stderr)
        if not args.no_ray:
            for jobs in (1, 2):
                out = root / f"ray-warm-{jobs}.json"
                argv = _argv(subset, args.budget, "ray", jobs, out)
                wall = run_ray_warm(argv, jobs, paths[0])
                runs.append(("ray, running", jobs, n, wall, _aggregate_digest(out)))
                print(
                    f"  ray running --jobs {jobs}, {n}: {wall:.1f} s", file=sys.stderr
                )
        if args.sessions > n:
            out = root / "local-2-all.json"
            wall = run_command(_argv(root / "all", args.budget, "local", 2, out))
            runs.append(("local", 2, args.sessions, wall, _aggregate_digest(out)))
        print(
            "## The command, by engine and workers (`ctxchunk simulate DIR --budget "
            f"{args.budget} --policy ... --jobs N [--engine ray] --json OUT`)\n"
        )
        print(
            "| engine | --jobs | sessions | wall (s) | sessions/s | speedup vs "
            "--jobs 1 | aggregate sha256 |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        serial = {e: w / k for e, j, k, w, _ in runs if j == 1}
        for engine, jobs, count, wall, digest in runs:
            rate = count / wall
            speedup = serial[engine] / (wall / count)
            print(
                f"| {engine} | {jobs} | {count:,} | {wall:.1f} | {rate:.2f} | "
                f"{speedup:.2f}x | `{digest}` |"
            )
        cost = one["read_s"] + one["simulate_s"]
        two = [w / k for e, j, k, w, _ in runs if e == "local" and j == 2 and k == n]
        per_core = serial["local"] / two[0] / 2 if two else 1.0
        print(
            f"\n1,000,000 sessions a month: {cost * 1e6:,.0f} core-seconds "
            f"({cost * 1e6 / 3600:,.0f} core-hours) at {cost:.3f} s a session; with "
            f"{per_core:.0%} of each core used (local, 1 -> 2 workers: "
            f"{2 * per_core:.2f}x):"
        )
        for cores in (8, 32, 96):
            hours = cost * 1e6 / (cores * per_core) / 3600
            print(f"  {cores} cores: {hours:.1f} hours")
        digests = {d for _, _, count, _, d in runs if count == n}
        print(
            f"\naggregate JSON over the same {n} sessions identical across "
            f"engines and workers: {'yes' if len(digests) == 1 else 'NO'}\n"
        )

        print("## Peak memory against the number of sessions (10-turn sessions)\n")
        print("| sessions | wall (s) | driver RSS (MiB) | largest worker RSS (MiB) |")
        print("| ---: | ---: | ---: | ---: |")
        for count in (args.memory_small, args.memory_large):
            folder = root / f"mem-{count}"
            _write(folder, count, 10)
            wall, driver, worker = memory(folder, 4000)
            print(f"| {count:,} | {wall:.1f} | {driver:.0f} | {worker:.0f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
