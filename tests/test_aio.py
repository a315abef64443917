"""The asyncio front: updates run off the loop and are serialized per window."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ctxchunk.aio import AsyncContextWindow
from ctxchunk.exceptions import CtxChunkError, InvalidTypeError, StateError
from ctxchunk.render import to_openai_chat
from ctxchunk.window import ContextWindow

PAGE = (
    "<html><body>" + "<p>Oslo is the capital of Norway. It lies on a fjord.</p>" * 200
)
PAGE += "</body></html>"


def test_concurrent_tasks_share_one_window_without_state_error() -> None:
    async def main() -> ContextWindow:
        window = AsyncContextWindow(ContextWindow(4000, chunk_tokens=200))
        await window.pin("You are terse.")

        async def session(n: int) -> None:
            for k in range(5):
                await window.add_turn("user", f"task {n} question {k}")
                await window.add_document(PAGE, url=f"https://example.org/{n}/{k}")
                await window.add_tool_call("search", {"q": f"{n}-{k}"}, f"hit {n}-{k}")

        await asyncio.gather(*(session(n) for n in range(4)))
        await window.run(ContextWindow.check_valid)
        return window.window

    window = asyncio.run(main())
    assert window.tokens <= window.capacity
    # every turn was added whole, in some serial order: each task's turns are in order
    texts = [c.text for c in window.chunks] + [e.chunk.text for e in window.archive]
    for n in range(4):
        mine = sorted(t for t in texts if t.startswith(f"task {n} question"))
        assert mine == [f"task {n} question {k}" for k in range(5)]


def test_updates_run_off_the_event_loop_thread() -> None:
    seen: list[int] = []

    def probe(window: ContextWindow) -> int:
        seen.append(threading.get_ident())
        return window.tokens

    async def main() -> int:
        window = AsyncContextWindow(ContextWindow(1000))
        await window.add_turn("user", "hello")
        return await window.run(probe)

    assert asyncio.run(main()) > 0
    assert seen
    assert seen[0] != threading.get_ident()


def test_the_lock_queues_tasks_in_order() -> None:
    async def main() -> list[str]:
        window = AsyncContextWindow(ContextWindow(2000))
        await asyncio.gather(*(window.add_turn("user", f"turn {i}") for i in range(20)))
        return [c.text for c in window.window.chunks]

    assert asyncio.run(main()) == [f"turn {i}" for i in range(20)]


def test_a_failed_update_leaves_the_window_unchanged_and_unlocked() -> None:
    async def main() -> None:
        window = AsyncContextWindow(ContextWindow(1000))
        await window.add_turn("user", "hi")
        before = await window.to_json()
        with pytest.raises(CtxChunkError):
            await window.add_turn("narrator", "again")
        assert not window.busy
        assert await window.to_json() == before
        await window.add_turn("assistant", "hello")

    asyncio.run(main())


def test_results_match_the_synchronous_window() -> None:
    sync = ContextWindow(600, chunk_tokens=100)
    sync.pin("Be brief.")
    sync.add_turn("user", "Read this.")
    sync.add_document(PAGE, url="https://example.org/p")

    async def main() -> list[dict[str, object]]:
        window = AsyncContextWindow(ContextWindow(600, chunk_tokens=100))
        await window.pin("Be brief.")
        await window.add_turn("user", "Read this.")
        await window.add_document(PAGE, url="https://example.org/p")
        return await window.run(to_openai_chat)

    assert asyncio.run(main()) == to_openai_chat(sync)


def test_direct_reentrant_use_raises_state_error() -> None:
    window = ContextWindow(1000)

    def reenter(w: ContextWindow) -> None:
        w.add_turn("user", "inner")

    def outer(w: ContextWindow) -> None:
        w._transaction(lambda op: reenter(w))

    with pytest.raises(StateError, match="re-entrant"):
        outer(window)


def test_rejects_what_is_not_a_window() -> None:
    with pytest.raises(InvalidTypeError, match="ContextWindow"):
        AsyncContextWindow("window")  # type: ignore[arg-type]
