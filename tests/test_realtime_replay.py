"""Voice sessions replayed through a strict fake Realtime server, under every policy.

Each session's events go into a window as a live voice agent would feed it: the
server makes the items for what was said (user audio, the model's audio responses
and function calls) and the window binds them by their server ids; pages and tool
results are client content. Every window change goes through a
:class:`~ctxchunk.render.RealtimeMirror` to the fake server, which must log no
error; the session then holds exactly the window's content, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ctxchunk._generate import generate_session
from ctxchunk.change import Change, Reason
from ctxchunk.policies import (
    ClearToolResults,
    DropOldest,
    MiddleOut,
    Recommended,
    RetentionRatio,
    RolePriority,
    Summarize,
    WholeUpdateBaseline,
)
from ctxchunk.render import RealtimeMirror
from ctxchunk.session import (
    DocumentEvent,
    InstructionsEvent,
    InterruptEvent,
    Session,
    ToolCallEvent,
    TurnEvent,
    load_session,
)
from ctxchunk.window import ContextWindow
from tests.fake_realtime import FakeRealtime

_SESSIONS = sorted((Path(__file__).parent.parent / "examples/sessions").glob("*.jsonl"))
POLICIES: dict[str, Any] = {
    "Recommended": Recommended,
    "DropOldest": DropOldest,
    "RetentionRatio": lambda: RetentionRatio(0.7),
    "RolePriority": RolePriority,
    "MiddleOut": lambda: MiddleOut(keep_first=1),
    "ClearToolResults": lambda: ClearToolResults(keep=1),
    "Summarize": lambda: Summarize(max_summary_tokens=40),
    "WholeUpdateBaseline": WholeUpdateBaseline,
}
TOTALS: dict[str, list[int]] = {}


def replay(session: Session, policy: Any, budget: int) -> tuple[FakeRealtime, Any]:
    """Feed ``session`` to a window and its changes to a fake server."""
    window = ContextWindow(budget, chunk_tokens=max(64, budget // 8), policy=policy)
    server, mirror = FakeRealtime(), RealtimeMirror()
    instructions: str | None = None
    pinned: str | None = None
    items: dict[str, str] = {}

    def push(change: Change) -> None:
        for event in mirror.events(change, instructions=instructions):
            server.send(event)

    for event in session.events:
        if isinstance(event, InstructionsEvent):
            if pinned is not None:
                push(window.remove(pinned))
            instructions = event.text
            change = window.pin(event.text)
            pinned = next(c.source for c in change.added if c.pinned)
            push(change)
        elif isinstance(event, TurnEvent) and event.text.strip():
            audio = event.words[-1].end_ms if event.words else 0
            item = server.server_item(event.role, audio_ms=audio)
            if event.id is not None:
                items[event.id] = item
            push(
                window.add_turn(
                    event.role,
                    event.text,
                    start_ms=event.t_ms if audio else None,
                    end_ms=event.t_ms + audio if audio else None,
                    item_id=item,
                )
            )
        elif isinstance(event, DocumentEvent):
            push(window.add_document(event.content, url=event.url, title=event.title))
        elif isinstance(event, ToolCallEvent):
            call_id = event.call_id or f"call_{len(items)}_{event.t_ms}"
            item = server.server_item("assistant", call_id=call_id, name=event.name)
            push(
                window.add_tool_call(
                    event.name,
                    event.arguments_json,
                    event.result,
                    call_id=call_id,
                    item_id=item,
                )
            )
        elif isinstance(event, InterruptEvent):
            item = items.get(event.item)
            if item is None or not any(c.meta.item_id == item for c in window.chunks):
                continue
            push(window.interrupt(item, event.heard_ms))
    return server, window


def _sessions() -> list[tuple[str, Session]]:
    out = [(p.stem, load_session(p)) for p in _SESSIONS]
    out += [(f"generated-{s}", generate_session(s, turns=40)) for s in (1, 2)]
    return out


@pytest.mark.parametrize("name", list(POLICIES))
def test_zero_server_errors_under_every_policy(name: str) -> None:
    sent = 0
    for label, session in _sessions():
        for budget in (1500, 4000):
            server, window = replay(session, POLICIES[name](), budget)
            assert server.errors == [], (label, budget, server.errors[:5])
            sent += server.sent
            # The session holds nothing the window does not.
            held = {c.meta.item_id or c.id for c in window.chunks}
            for item in server.items:
                if item["id"].startswith("item_"):
                    assert item["id"] in held, (label, item["id"])
    TOTALS[name] = [sent, 0]
    assert sent > 0


def test_a_marker_that_leaves_never_comes_back_in_the_same_step() -> None:
    """A page read again may evict its marker; the one admitted has another id.

    Found by the window's state machine: in a window whose chunks are too small for
    any marker form but the bare "[archived]", a second read of a page evicted
    the marker naming its archived parts and admitted one with the same id in
    the same operation. A change could then not say whether the marker was in the
    window at its end, and the Realtime mirror created an item the session held,
    then deleted it. Now the new marker's text is spaced apart, for an id of its own.
    """
    window = ContextWindow(
        300,
        reserve_tokens=0,
        chunk_tokens=16,
        protect_recent_turns=0,
        policy=MiddleOut(keep_first=1),
    )
    server, mirror = FakeRealtime(), RealtimeMirror()
    # The state machine's page texts (its corpus's first 11 and 22 words).
    title = "=" * 22 + "\nDesign and History FAQ\n" + "=" * 22
    short = title + "\n\n.. only:: html\n\n   .. contents::\n\n\nWhy does"
    long = (
        short
        + " Python use indentation for grouping of statements?\n"
        + "-" * 59
        + "\n\nGuido van Rossum believes that"
    )
    steps = [("0", short), ("0", short), ("0", long), ("1", short), ("1", short)]
    markers_left = 0
    for url, text in steps:
        before = {c.id for c in window.chunks}
        change = window.add_document(text, url=f"https://example.com/{url}")
        # (A page read again replaces its parts: they leave as refreshed first.)
        evicted = {
            e.chunk.id for e in change.evicted if e.reason is not Reason.REFRESHED
        }
        markers_left += sum(1 for e in change.evicted if e.chunk.meta.marks)
        # An id both added and evicted was admitted, then evicted: never before.
        assert not {c.id for c in change.added} & evicted & before
        for event in mirror.events(change, instructions=""):
            server.send(event)
        assert server.errors == []
        held = {c.meta.item_id or c.id for c in window.chunks}
        assert {i["id"] for i in server.items if i["id"].startswith("ck_")} == held
    assert markers_left, "no marker left: the case under test did not happen"
    assert any(c.text == "[archived] " for c in window.chunks)
