"""Setups and checks the framework adapter tests share (tests/test_adapters_*.py).

Each adapter is fed and checked the same way; only the message types differ, so the
helpers take the adapter's ``add_*_messages`` function and a test of "is this the
framework's system message".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ctxchunk import ContextWindow
from ctxchunk.exceptions import BudgetError
from tests.sdk_types import check

PIN_ROLES = ("system", "user", "assistant", "tool")
"""The roles a pin may have."""


def fit(options: dict[str, int]) -> dict[str, Any]:
    """Window settings with chunk_tokens at most half the room, as windows require."""
    room = options["budget"] - options["reserve_tokens"]
    return {**options, "chunk_tokens": min(options["chunk_tokens"], room // 2)}


def tight_window(
    add: Callable[..., Any],
    history: Sequence[Any],
    options: dict[str, int],
    policy: Any,
    *,
    is_system: Callable[[Any], bool],
) -> ContextWindow:
    """A small window fed ``history`` with ``add``; a system message too large to pin
    in it (a BudgetError, as pins must fit) is fed as an evictable instruction
    instead."""
    window = ContextWindow(policy=policy, **fit(options))
    try:
        add(window, history)
    except BudgetError as exc:
        problem = str(exc)
    else:
        return window
    assert "cannot pin" in problem
    assert is_system(history[0])
    window = ContextWindow(policy=policy, **fit(options))
    add(window, history, pin_system=False)
    return window


def assert_paired(chat: Sequence[dict[str, Any]]) -> None:
    """Every call is answered by exactly one tool message right after its message,
    and every tool message answers a call of the assistant message before its run;
    no message repeats a call id."""
    index = 0
    while index < len(chat):
        message = chat[index]
        assert message["role"] != "tool", f"orphaned tool message at {index}: {chat}"
        index += 1
        ids = [c["id"] for c in message.get("tool_calls", ())]
        answered = []
        while index < len(chat) and chat[index]["role"] == "tool":
            answered.append(chat[index]["tool_call_id"])
            index += 1
        assert sorted(answered) == sorted(ids), (ids, answered)
        assert len(set(ids)) == len(ids)


def pin_note(role: str, k: int) -> str:
    """The text of the ``k``-th pin, of ``role``, that :func:`add_pins_and_pages`
    adds."""
    return f"Pinned {role} note {k}."


def add_pins_and_pages(
    window: ContextWindow, pin_roles: Sequence[str], pages: Sequence[str]
) -> None:
    """Pin a note per role in ``pin_roles``, then add each page as a document
    (marked ``PAGESENTINEL``, which must never show as a user or system message)
    and as the results of two parallel calls, one three times as long."""
    for k, role in enumerate(pin_roles):
        window.pin(pin_note(role, k), role)
    for k, page in enumerate(pages):
        window.add_document(f"PAGESENTINEL {page}", url=f"https://docs.example/{k}")
        window.add_tool_calls(
            [
                {"name": "lookup", "arguments": {"k": k}, "result": page * 3},
                {"name": "lookup", "arguments": {"k": -k}, "result": page},
            ]
        )


def sdk_checked(chat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return Chat messages a framework's converter made, checked against the OpenAI
    SDK's request types; an empty content beside tool calls becomes None first, as
    the Chat rendering sends it."""
    for message in chat:
        if message.get("tool_calls") and message["content"] == "":
            message["content"] = None
    check("chat messages", chat)
    return chat
