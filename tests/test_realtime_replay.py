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
from ctxchunk.change import Change
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
