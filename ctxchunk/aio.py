"""An asyncio front for :class:`~ctxchunk.window.ContextWindow`, for agent servers.

An agent server (FastAPI, Pipecat, LiveKit, ...) runs many sessions on one event
loop. A :class:`ContextWindow` update is synchronous and can be heavy: adding a 1 MB
page extracts the HTML, splits it and counts every chunk's tokens, which blocks the
loop for hundreds of milliseconds if called on it. :class:`AsyncContextWindow` wraps
one window and:

- runs every update in a worker thread (:func:`asyncio.to_thread`), so the loop
  keeps serving other sessions while a page is read; the window itself is plain
  Python, so the loop thread gets the interpreter back at least every
  :func:`sys.getswitchinterval` (5 ms by default) while the worker runs;
- serializes the updates of one window with an :class:`asyncio.Lock`: two tasks that
  add to the same window at once are queued in the order they asked, never
  interleaved (a :class:`ContextWindow` used from two threads at once raises
  :class:`~ctxchunk.exceptions.StateError` instead).

The concurrency model: one window per session, owned by one
:class:`AsyncContextWindow`; every read and write of that window goes through it
(:meth:`AsyncContextWindow.run` for anything not wrapped here, such as rendering).
Different windows share nothing and are updated in parallel. Cancelling an awaiting
task does not cancel an update already running in its thread: the update completes
(or rolls back on error) and the lock is released when it has.

>>> import asyncio
>>> from ctxchunk.render import to_openai_chat
>>> async def main() -> int:
...     window = AsyncContextWindow(ContextWindow(500, chunk_tokens=100))
...     await window.pin("You are terse.")
...     await window.add_turn("user", "Summarize the page.")
...     await window.add_document("<p>Oslo is the capital of Norway.</p>", url="u")
...     messages = await window.run(to_openai_chat)
...     return len(messages)
>>> asyncio.run(main())
4
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ctxchunk.change import Change
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidTypeError
from ctxchunk.roles import Role
from ctxchunk.window import ContextWindow

__all__ = ["AsyncContextWindow"]

_T = TypeVar("_T")


class AsyncContextWindow:
    """One :class:`ContextWindow` updated from asyncio tasks, off the event loop.

    Each method awaits the window's lock, then runs the window's method of the same
    name in a worker thread, with the same arguments, and returns what it returns
    (or raises what it raises; a failed update leaves the window as it was).

    Args:
        window: The window to own. Nothing else may use it directly from now on.

    Raises:
        InvalidTypeError: ``window`` is not a :class:`ContextWindow`.
    """

    def __init__(self, window: ContextWindow) -> None:
        if not isinstance(window, ContextWindow):
            raise InvalidTypeError(
                f"window must be a ContextWindow, not {type(window).__name__}"
            )
        self._window = window
        self._lock = asyncio.Lock()

    @property
    def window(self) -> ContextWindow:
        """The wrapped window: read it only while no update is running."""
        return self._window

    @property
    def busy(self) -> bool:
        """Whether an update holds the window now (or tasks are queued for it)."""
        return self._lock.locked()

    async def run(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """Run ``fn(window, *args, **kwargs)`` in a thread, holding the window's lock.

        Use it for what has no method here: rendering (``to_openai_chat``),
        ``check_valid``, or several updates that must not be interleaved with
        another task's.

        Args:
            fn: Called with the window first.
            *args: More positional arguments for ``fn``.
            **kwargs: Keyword arguments for ``fn``.

        Returns:
            What ``fn`` returns.
        """
        call = functools.partial(fn, self._window, *args, **kwargs)
        async with self._lock:
            return await asyncio.to_thread(call)

    async def pin(self, text: str, role: Role | str = "system") -> Change:
        """:meth:`ContextWindow.pin`, off the loop."""
        return await self.run(ContextWindow.pin, text, role)

    async def add_turn(self, role: Role | str, text: str, **options: Any) -> Change:
        """:meth:`ContextWindow.add_turn`, off the loop (same keyword options)."""
        return await self.run(ContextWindow.add_turn, role, text, **options)

    async def add_transcript(self, turns: Any) -> Change:
        """:meth:`ContextWindow.add_transcript`, off the loop."""
        return await self.run(ContextWindow.add_transcript, turns)

    async def add_document(self, content: str | bytes, **options: Any) -> Change:
        """:meth:`ContextWindow.add_document`, off the loop (same keyword options).

        The extraction, splitting and counting of the page, the heavy part, run in
        the worker thread with the admission.
        """
        return await self.run(ContextWindow.add_document, content, **options)

    async def add_tool_call(
        self,
        name: str,
        arguments: str | Mapping[str, Any],
        result: str,
        call_id: str | None = None,
        **options: Any,
    ) -> Change:
        """:meth:`ContextWindow.add_tool_call`, off the loop."""
        return await self.run(
            ContextWindow.add_tool_call, name, arguments, result, call_id, **options
        )

    async def add_tool_calls(self, calls: Sequence[Mapping[str, Any]]) -> Change:
        """:meth:`ContextWindow.add_tool_calls`, off the loop."""
        return await self.run(ContextWindow.add_tool_calls, calls)

    async def add_chunks(self, chunks: Iterable[Chunk]) -> Change:
        """:meth:`ContextWindow.add_chunks`, off the loop.

        The chunks are materialized in the worker thread, so a generator that
        splits or counts runs off the loop too.
        """
        return await self.run(ContextWindow.add_chunks, chunks)

    async def remove(self, source: str) -> Change:
        """:meth:`ContextWindow.remove`, off the loop."""
        return await self.run(ContextWindow.remove, source)

    async def read(self, source: str, part: int | None = None) -> str:
        """:meth:`ContextWindow.read`, under the lock."""
        return await self.run(ContextWindow.read, source, part)

    async def interrupt(self, *args: Any, **kwargs: Any) -> Change:
        """:meth:`ContextWindow.interrupt`, off the loop (same arguments)."""
        return await self.run(ContextWindow.interrupt, *args, **kwargs)

    async def recall(
        self,
        query: str,
        *,
        limit: int = 3,
        max_tokens: int | None = None,
        call_id: str | None = None,
    ) -> Change:
        """:meth:`ContextWindow.recall`, off the loop (where a store is searched)."""
        return await self.run(
            ContextWindow.recall,
            query,
            limit=limit,
            max_tokens=max_tokens,
            call_id=call_id,
        )

    async def to_json(self, *, include_archive: bool | None = None) -> str:
        """:meth:`ContextWindow.to_json`, under the lock and off the loop."""
        return await self.run(ContextWindow.to_json, include_archive=include_archive)
