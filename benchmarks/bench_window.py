"""Window benchmark: microseconds per add and per render, by history size and policy.

For each history size (1,000 / 10,000 / 100,000 chunks) the window's budget is set to
exactly what that history costs, so the window holds all of it and every further add
evicts. The history cycles through a user turn, an assistant turn, and a tool call
with its result (one group). Then ``--adds`` more chunks of the same mix are added
and timed, and ``to_openai_chat`` is timed over the full window.

Target (DESIGN.md): the cost per add at 100,000 chunks within 1.5x of the cost at
1,000 -- adding is amortized O(1) in the history length.

Run: ``python benchmarks/bench_window.py`` (``--sizes 1000 10000`` for a quick run).
"""

from __future__ import annotations

import argparse
import gc
import time

from ctxchunk._openai_chat import to_openai_chat
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.policies import (
    Chain,
    ClearToolResults,
    DropOldest,
    MiddleOut,
    RetentionRatio,
    RolePriority,
    Summarize,
)
from ctxchunk.tokens import get_tokenizer
from ctxchunk.window import ContextWindow

POLICIES = {
    "DropOldest": DropOldest,
    "RetentionRatio(0.8)": lambda: RetentionRatio(0.8),
    "RolePriority": RolePriority,
    "MiddleOut": MiddleOut,
    "ClearToolResults(3)": lambda: ClearToolResults(keep=3),
    "Summarize": Summarize,
    "Chain(Clear,RolePriority)": lambda: Chain(ClearToolResults(), RolePriority()),
}

_TEXTS = [
    "Could you check whether the lamp I ordered last week can still be refunded?",
    "Sure. I will look up the order and the refund policy for lamps.",
    '{"order_id": "A-1042", "fields": ["status", "refund_window"]}',
    "status: delivered; refund_window: 30 days; delivered 6 days ago; eligible.",
]


def make_chunks(start: int, count: int) -> list[Chunk]:
    tokenizer = get_tokenizer()
    counts = [tokenizer.count(t) for t in _TEXTS]
    out = []
    for i in range(start, start + count):
        k = i % 4
        source = f"b{i // 4}"
        if k < 2:
            out.append(
                Chunk.create(
                    f"{i}: {_TEXTS[k]}",
                    role="user" if k == 0 else "assistant",
                    kind="turn",
                    source=f"{source}.{k}",
                )
            )
        else:
            meta = ChunkMeta(tool_name="orders", call_id=f"call_{i // 4}")
            out.append(
                Chunk.create(
                    _TEXTS[k],
                    role="tool",
                    kind="tool_call" if k == 2 else "tool_result",
                    source=f"{source}.{k}",
                    meta=meta,
                    tokens=counts[k],
                )
            )
    return out


def history_cost(chunks: list[Chunk]) -> int:
    window = ContextWindow(10**12, chunk_tokens=2000)
    for i in range(0, len(chunks), 2):
        window.add_chunks(chunks[i : i + 2])
    return window.tokens


def run(size: int, name: str, adds: int, base: list[Chunk], budget: int) -> tuple:
    window = ContextWindow(budget, chunk_tokens=2000, policy=POLICIES[name]())
    for i in range(0, len(base), 2):
        window.add_chunks(base[i : i + 2])
    extra = make_chunks(size, adds)
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    evicted = 0
    for i in range(0, adds, 2):
        change = window.add_chunks(extra[i : i + 2])
        evicted += len(change.evicted) + len(change.replaced)
    per_add = (time.perf_counter() - start) / adds * 1e6
    start = time.perf_counter()
    to_openai_chat(window)
    render = (time.perf_counter() - start) * 1e6
    gc.enable()
    return per_add, render, evicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000]
    )
    parser.add_argument("--adds", type=int, default=4_000)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES))
    args = parser.parse_args()
    results: dict[tuple[str, int], tuple] = {}
    for size in args.sizes:
        base = make_chunks(0, size)
        budget = history_cost(base)
        for name in args.policies:
            results[name, size] = run(size, name, args.adds, base, budget)
    head = f"{'policy':<27}" + "".join(
        f"{f'add µs @{s:,}':>16}{'render ms':>11}" for s in args.sizes
    )
    head += f"{'ratio':>8}{'actions/add':>13}"
    print(head)
    print("-" * len(head))
    for name in args.policies:
        row = f"{name:<27}"
        for size in args.sizes:
            per_add, render, _ = results[name, size]
            row += f"{per_add:>16.1f}{render / 1000:>11.1f}"
        first = results[name, args.sizes[0]][0]
        last = results[name, args.sizes[-1]][0]
        row += f"{last / first:>8.2f}"
        row += "".join(
            f"{results[name, s][2] / args.adds:>5.1f}" for s in args.sizes
        ).rjust(13)
        print(row)
    print(
        f"\n{args.adds} timed chunk adds per cell, added two at a time (a tool call "
        f"and its result are one add); every add evicts. 'ratio' is add cost at the "
        f"largest size over the smallest (target <= 1.5); 'actions/add' is evictions "
        f"plus replacements per added chunk at each size: a policy that clears or "
        f"summarizes costs more per add while it has old content to rewrite than "
        f"once it is only evicting."
    )


if __name__ == "__main__":
    main()
