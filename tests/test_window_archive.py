"""A window's archive store: persistence, restore, failure, and recall.

The state machine (tests/test_window_state.py) runs every operation against a memory
or SQLite store and saves, restores and recalls at random; these tests pin the edges:
a restart from a file, a store that is not the one the state was saved with, a store
that fails mid-operation, and what ``recall`` brings back.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.aio import AsyncContextWindow
from ctxchunk.archive import Archive, MemoryArchive, SQLiteArchive
from ctxchunk.change import Eviction, Reason
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError, StateError
from ctxchunk.render import (
    to_anthropic,
    to_openai_chat,
    to_responses_input,
    tool_definitions,
)
from ctxchunk.window import ContextWindow
from tests import sdk_types
from tests.strategies import prose

_TOPICS = [
    "The router firmware 4.2 drops Wi-Fi every evening.",
    "Her locker code is 4417 and the gym closes at ten.",
    "Refund order 88213: the blender arrived cracked.",
    "The Oslo flight leaves at 07:45 from gate 12.",
    "Green tea is steamed; black tea is fully oxidised.",
]


def _session(window: ContextWindow, rounds: int = 6) -> None:
    """Real shapes: turns, a multi-chunk tool result, a page larger than the room."""
    for i in range(rounds):
        topic = _TOPICS[i % len(_TOPICS)]
        window.add_turn("user", f"{topic} " * 3)
        window.add_tool_call("search", {"q": topic[:20]}, f"{topic} Details. " * 40)
        window.add_turn("assistant", f"Noted: {topic}")
    window.add_document(("<p>" + " ".join(_TOPICS) + "</p>") * 60, url="https://x.io")


def _window(archive: Archive | None = None) -> ContextWindow:
    return ContextWindow(900, chunk_tokens=120, protect_recent_turns=1, archive=archive)


# -- persistence -------------------------------------------------------------------


def test_a_file_store_keeps_the_state_small_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "archive.db"
    window = _window(SQLiteArchive(path, session="call-1"))
    twin = _window()
    _session(window)
    _session(twin)
    assert len(window.archive) > 20
    state = window.to_json()
    assert json.loads(state)["archive"] is None
    assert len(state) < len(twin.to_json()) / 3
    window.archive_store.close()

    # A new process: the same file and the saved state.
    again = ContextWindow.from_json(
        state, archive=SQLiteArchive(path, session="call-1")
    )
    assert again.archive == twin.archive
    for source in {e.chunk.source for e in twin.archive if e.chunk.meta.marks is None}:
        assert again.read(source) == twin.read(source)
    # It goes on exactly as the window that never stopped.
    for w in (again, twin):
        w.add_turn("user", "What was the locker code again?")
        w.recall("locker code", limit=2, call_id="call_r1")
    assert again.to_json(include_archive=True) == twin.to_json(include_archive=True)


def test_a_state_without_its_archive_needs_the_store() -> None:
    window = _window(SQLiteArchive(":memory:"))
    _session(window, rounds=2)
    state = window.to_json(include_archive=False)
    with pytest.raises(StateError, match="persistent store"):
        ContextWindow.from_json(state)


def test_going_back_to_a_save_cuts_the_store_back(tmp_path: Path) -> None:
    store = SQLiteArchive(tmp_path / "a.db")
    window = _window(store)
    _session(window, rounds=2)
    saved = window.to_json()
    length = len(store)
    _session(window, rounds=3)
    assert len(store) > length
    restored = ContextWindow.from_json(saved, archive=store)
    assert len(store) == length
    assert restored.to_json() == saved


def test_a_store_that_is_not_the_saved_one_is_refused_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    window = _window(SQLiteArchive(path, session="one"))
    _session(window, rounds=2)
    saved = window.to_json()
    length = len(window.archive_store)

    shorter = SQLiteArchive(path, session="short")
    shorter.add(list(window.archive)[: length - 1])
    with pytest.raises(StateError, match="older copy"):
        ContextWindow.from_json(saved, archive=shorter)

    other = _window(SQLiteArchive(path, session="two"))
    _session(other, rounds=4)  # a different conversation, longer
    before = len(other.archive_store)
    with pytest.raises(StateError, match="not the store"):
        ContextWindow.from_json(saved, archive=other.archive_store)
    assert len(other.archive_store) == before, "a refused store was changed"


def test_an_empty_store_receives_the_saved_entries() -> None:
    window = _window()
    _session(window, rounds=2)
    saved = window.to_json()
    store = SQLiteArchive(":memory:")
    restored = ContextWindow.from_json(saved, archive=store)
    assert list(store) == list(window.archive)
    assert restored.to_json(include_archive=True) == saved


def test_edited_archive_records_are_refused() -> None:
    window = _window()
    _session(window, rounds=2)
    state = json.loads(window.to_json())
    for field, value in (("archive_length", 1), ("archive_tail", "ck_nope")):
        edited = dict(state, **{field: value})
        with pytest.raises(StateError, match="edited"):
            ContextWindow.from_json(json.dumps(edited))


def test_a_format_2_state_still_loads() -> None:
    window = _window()
    _session(window, rounds=2)
    state = json.loads(window.to_json())
    del state["archive_length"], state["archive_tail"]
    state["format"] = "ctxchunk.window/2"
    restored = ContextWindow.from_json(json.dumps(state))
    assert restored.archive == window.archive
    assert restored.chunks == window.chunks


# -- failure ---------------------------------------------------------------------


class _FullDisk(MemoryArchive):
    """A store whose writes fail while ``full`` is set."""

    full = False

    def add(self, evictions: Sequence[Eviction]) -> None:
        if self.full:
            raise OSError("disk full")
        super().add(evictions)


def test_a_store_that_fails_undoes_the_whole_operation() -> None:
    store = _FullDisk()
    window = _window(store)
    _session(window, rounds=2)
    before = window.to_json()
    store.full = True
    with pytest.raises(OSError, match="disk full"):
        window.add_document("<p>" + "A long page. " * 900 + "</p>")
    assert window.to_json() == before
    store.full = False
    change = window.add_turn("user", "Still here?")
    assert change.added
    window.check_valid()


# -- one store or the other, the same window -------------------------------------

_ops = st.lists(
    st.tuples(
        st.sampled_from(["user", "assistant", "tool", "page", "remove"]),
        prose(max_words=400),
    ),
    min_size=1,
    max_size=14,
)


@given(_ops)
def test_the_store_never_changes_what_the_window_does(
    ops: list[tuple[str, str]],
) -> None:
    memory, sqlite = _window(), _window(SQLiteArchive(":memory:"))
    for w in (memory, sqlite):
        for kind, text in ops:
            if kind in ("user", "assistant"):
                w.add_turn(kind, text)
            elif kind == "tool":
                w.add_tool_call("fetch", {"n": len(text)}, text * 3)
            elif kind == "page":
                w.add_document(f"<h1>Page</h1><p>{text}</p>" * 8)
            elif w.chunks:
                w.remove(w.chunks[-1].source)
    assert sqlite.archive == memory.archive
    assert sqlite.to_json(include_archive=True) == memory.to_json()
    for eviction in memory.archive:
        source = eviction.chunk.source
        if eviction.chunk.meta.marks is None:
            assert sqlite.read(source) == memory.read(source)


# -- recall ----------------------------------------------------------------------


def _result(window: ContextWindow, call_id: str) -> str:
    parts = [
        c
        for c in window.chunks
        if c.meta.call_id == call_id and c.kind.value == "tool_result"
    ]
    return "".join(c.text for c in sorted(parts, key=lambda c: c.part))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_recall_brings_back_what_left(kind: str) -> None:
    store = MemoryArchive() if kind == "memory" else SQLiteArchive(":memory:")
    window = ContextWindow(2000, chunk_tokens=200, archive=store)
    window.add_turn("user", "My locker code is 4417.", id="t-locker")
    window.add_turn("assistant", "Got it.")
    window.remove("t-locker")
    change = window.recall("What is the locker code?", call_id="call_1")
    text = _result(window, "call_1")
    assert "4417" in text
    assert '{"source": "t-locker", "part": 0}' in text
    call = next(c for c in change.added if c.kind.value == "tool_call")
    assert json.loads(call.text) == {"query": "What is the locker code?"}
    assert call.meta.tool_name == "recall_history"


def test_recall_skips_what_the_window_holds_and_earlier_recalls() -> None:
    window = ContextWindow(2000, chunk_tokens=200)
    window.add_turn("user", "The parcel number is 55-AX.", id="t1")
    window.remove("t1")
    window.recall("parcel number", call_id="call_1")
    assert "55-AX" in _result(window, "call_1")
    first = next(c.source for c in window.chunks if c.meta.call_id == "call_1")
    window.remove(first)  # the first recall (call and result) leaves too
    window.add_turn("user", "The parcel number is 55-AX.", id="t1")  # back in view
    window.recall("parcel number", call_id="call_2")
    assert _result(window, "call_2").startswith("Nothing archived matches")


def test_recall_limit_and_nothing_found() -> None:
    window = ContextWindow(4000, chunk_tokens=200)
    for i in range(6):
        window.add_turn("user", f"Tea note {i}: oolong is partly oxidised.", id=f"n{i}")
        window.remove(f"n{i}")
    window.recall("oolong tea", limit=2, call_id="call_a")
    assert _result(window, "call_a").count('{"source": "n') == 2
    window.recall("submarine", call_id="call_b")
    assert _result(window, "call_b") == 'Nothing archived matches "submarine".'


def test_recall_arguments_are_checked() -> None:
    window = ContextWindow(400)
    with pytest.raises(InvalidTypeError, match="query"):
        window.recall(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="limit"):
        window.recall("tea", limit=0)
    with pytest.raises(InvalidTypeError, match="archive"):
        ContextWindow(400, archive=[])  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="archive"):
        ContextWindow.from_json(window.to_json(), archive={})  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="include_archive"):
        window.to_json(include_archive="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="recall"):
        tool_definitions(window, recall=1)  # type: ignore[arg-type]


def test_recall_renders_and_is_declared_for_every_provider() -> None:
    window = ContextWindow(3000, chunk_tokens=200)
    window.add_turn("user", "Invoice 311 was paid twice.", id="t1")
    window.remove("t1")
    window.recall("invoice paid", call_id="call_9")
    sdk_types.check("chat messages", to_openai_chat(window))
    sdk_types.check("responses input", to_responses_input(window))
    sdk_types.check("anthropic messages", to_anthropic(window)["messages"])
    for fmt in ("chat", "responses", "anthropic"):
        tools = tool_definitions(window, format=fmt)
        sdk_types.check(f"{fmt} tools", tools)
        assert "recall_history" in json.dumps(tools)
    empty = ContextWindow(400)
    assert tool_definitions(empty) == []
    declared = tool_definitions(empty, recall=True)
    assert declared[0]["function"]["name"] == "recall_history"
    assert "query" in declared[0]["function"]["parameters"]["properties"]


def test_async_recall_and_state() -> None:
    async def main() -> tuple[str, str]:
        window = AsyncContextWindow(ContextWindow(2000, chunk_tokens=200))
        await window.add_turn("user", "The wifi password is kettle-99.", id="t1")
        await window.remove("t1")
        await window.recall("wifi password", call_id="call_w")
        return _result(window.window, "call_w"), await window.to_json(
            include_archive=False
        )

    text, state = asyncio.run(main())
    assert "kettle-99" in text
    assert json.loads(state)["archive"] is None


@given(st.lists(prose(max_words=300), min_size=8, max_size=30), st.integers(1, 6))
def test_a_recall_fits_the_window_it_is_made_for(texts: list[str], limit: int) -> None:
    """By default a recall result is sized to be admitted whole, never archived."""
    window = ContextWindow(3000, chunk_tokens=300)
    for i, text in enumerate(texts):
        window.add_turn("user" if i % 2 else "assistant", text)
    query = " ".join(texts[0].split()[:4]) or "tea"
    change = window.recall(query, limit=limit, call_id="call_r")
    assert not [e for e in change.evicted if e.reason is Reason.OVERSIZE]
    assert _result(window, "call_r").count('{"source": ') <= limit


def test_the_example_runs() -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(root / "examples" / "recall_archive.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert '{"recalled": true}' in done.stdout


def test_a_1000_turn_session_persists_and_reloads(tmp_path: Path) -> None:
    """Issue 11's bar: persist and reload a 1,000-turn session losing nothing."""
    path = tmp_path / "long.db"
    window = ContextWindow(4000, chunk_tokens=400, archive=SQLiteArchive(path))
    twin = ContextWindow(4000, chunk_tokens=400)
    for i in range(1000):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Turn {i}: {_TOPICS[i % len(_TOPICS)]} Ticket T{i:04d}."
        for w in (window, twin):
            w.add_turn(role, text)
    state = window.to_json()
    assert json.loads(state)["archive"] is None  # the size of the window, not the call
    assert len(state) < len(twin.to_json()) / 5
    window.archive_store.close()
    again = ContextWindow.from_json(state, archive=SQLiteArchive(path))
    assert again.archive == twin.archive  # every chunk that left, in order
    assert [c.id for c in again.chunks] == [c.id for c in twin.chunks]
    every = {e.chunk.source for e in twin.archive} | {c.source for c in twin.chunks}
    assert len(every) == 1000
    for source in every:
        assert again.read(source) == twin.read(source)
    again.recall("ticket T0003", limit=1, call_id="call_old")
    found = "".join(
        c.text
        for c in again.chunks
        if c.meta.call_id == "call_old" and c.meta.marks is None
    )
    assert "T0003" in found


@given(st.text())
def test_a_marker_quotes_its_source_as_json_does(source: str) -> None:
    # Markers quote the source in their read_document arguments with a shortcut for
    # plain text; any text must come out as json.dumps writes it.
    from ctxchunk._apply import _json_string

    assert _json_string(source) == json.dumps(source, ensure_ascii=False)
