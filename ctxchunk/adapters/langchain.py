"""LangChain messages in and out of ctxchunk (``pip install 'ctxchunk[langchain]'``).

For applications built on ``langchain-core`` messages (``SystemMessage``,
``HumanMessage``, ``AIMessage`` with ``tool_calls``, ``ToolMessage``, and their
content-block lists):

- :func:`add_langchain_messages` feeds a :class:`~ctxchunk.ContextWindow`, one
  update per message, as an agent loop adds them (a ``ToolMessage`` joins the
  group of the ``AIMessage`` call it answers);
- :func:`to_langchain_messages` renders the window back as LangChain messages, ready
  for ``chat_model.invoke``;
- :func:`trim_messages` is a drop-in for ``langchain_core.messages.trim_messages``:
  the same list in, a list that fits ``max_tokens`` out, with no orphaned
  ``ToolMessage`` and every cut named by a marker;
- :func:`session_from_langchain` imports a history as a
  :class:`~ctxchunk.session.Session` for :func:`~ctxchunk.simulate`.

Messages are read through LangChain's own ``convert_to_openai_messages`` (so every
content-block format LangChain knows is read as LangChain reads it) and then by the
one reader of message content ctxchunk has (:mod:`ctxchunk._wire_read`): images,
audio and files become a counted placeholder line. Reasoning blocks (``reasoning``,
``thinking``, ``redacted_thinking``) are left out: the Chat Completions input that
``max_tokens`` is counted for carries no reasoning.

LangChain keeps tool-call arguments as a dict and writes them back as JSON with
``json.dumps``' spacing (``{"city": "Oslo"}``). Calls that came from LangChain are
stored in that spelling, so their count is what LangChain sends; calls ctxchunk makes
itself (a document's ``read_document`` call) are counted compact
(``{"url":"…"}``), and LangChain re-spaces them, about two tokens per argument:
:func:`respacing_tokens` says exactly how many. Keep ``reserve_tokens`` for that when
the window holds documents; :func:`trim_messages` does it for you.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload

from ctxchunk.adapters import missing_extra

try:
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolCall,
        ToolMessage,
        convert_to_openai_messages,
    )
    from langchain_core.messages.utils import MessageLikeRepresentation
    from langchain_core.runnables import RunnableLambda
except ImportError as exc:  # pragma: no cover - exercised with the extra missing
    raise missing_extra("langchain-core", "langchain", exc) from exc

from ctxchunk._checks import load_json
from ctxchunk.adapters._chat import check_window, feed, render
from ctxchunk.change import Change
from ctxchunk.exceptions import (
    BudgetError,
    InvalidArgumentError,
    InvalidTypeError,
    TranscriptError,
)
from ctxchunk.policies import Policy
from ctxchunk.session import Session, session_from_chat_messages
from ctxchunk.tokens import Tokenizer
from ctxchunk.window import ContextWindow

__all__ = [
    "add_langchain_messages",
    "respacing_tokens",
    "session_from_langchain",
    "to_langchain_messages",
    "trim_messages",
]

REASONING_BLOCKS = frozenset({"reasoning", "thinking", "redacted_thinking"})
"""Content blocks of the model's own reasoning, which Chat input does not carry."""

_MAX_REFITS = 8
"""How many times :func:`trim_messages` refits a history whose re-spelled arguments
overflow; each refit holds back the overflow, which shrinks fast."""

RAW_ARGUMENTS_KEY = "arguments"
"""Where :func:`to_langchain_messages` puts a call's arguments that are not a JSON
object, which LangChain's ``tool_calls`` (``args: dict``) cannot hold."""


def _is_reasoning(part: object) -> bool:
    return isinstance(part, Mapping) and part.get("type") in REASONING_BLOCKS


def _chat_messages(messages: object) -> list[dict[str, Any]]:
    """Return LangChain messages as Chat Completions messages, reasoning left out."""
    if isinstance(messages, (str, bytes, BaseMessage, Mapping)) or not isinstance(
        messages, Iterable
    ):
        raise InvalidTypeError(
            f"messages must be a list of LangChain messages, got "
            f"{type(messages).__name__}: {messages!r:.80}; wrap one message in [...]"
        )
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        try:
            (chat,) = convert_to_openai_messages([message])
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise TranscriptError(
                f"message {index}: LangChain cannot convert {type(message).__name__} "
                f"to a Chat Completions message: {exc}"
            ) from None
        content = chat.get("content")
        if isinstance(content, list):
            chat["content"] = [p for p in content if not _is_reasoning(p)]
        out.append(chat)
    return out


def add_langchain_messages(
    window: ContextWindow,
    messages: Sequence[BaseMessage | MessageLikeRepresentation],
    *,
    pin_system: bool = True,
) -> tuple[Change, ...]:
    """Add LangChain messages to a window, in order.

    Each message is one update, capped on its own (see ``max_update_tokens``); a
    ``ToolMessage`` joins the group of the call it answers, and the group is kept or
    evicted together. A ``SystemMessage`` is pinned (never evicted) unless
    ``pin_system=False``, when it is an instruction the policy may evict. A message
    with no text and no tool calls holds nothing and is skipped. Add each message
    once: pass the new messages of each turn.

    Every message is checked before any is added, so a malformed one leaves the
    window as it was (a pin that does not fit raises :class:`BudgetError` after the
    messages before it were added).

    Args:
        window: The window to feed.
        messages: LangChain messages (or what ``convert_to_messages`` accepts).
        pin_system: Whether system messages become pins.

    Returns:
        One :class:`~ctxchunk.change.Change` per update.

    Raises:
        TranscriptError: a message cannot be read; the error names its index.
        InvalidTypeError: ``window`` or ``messages`` has the wrong type.

    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> from ctxchunk import ContextWindow
    >>> w = ContextWindow(500)
    >>> _ = add_langchain_messages(w, [SystemMessage("Be brief."), HumanMessage("Hi")])
    >>> [(c.role.value, c.pinned) for c in w.chunks]
    [('system', True), ('user', False)]
    """
    window = check_window(window)
    return feed(window, _chat_messages(messages), pin_system=pin_system)


def respacing_tokens(window: ContextWindow) -> int:
    """Return the tokens LangChain's spelling of tool-call arguments adds to a request.

    LangChain holds a call's arguments as a dict and writes them back with
    ``json.dumps(args, ensure_ascii=False)``; for a call whose arguments were spelled
    otherwise (the compact JSON of the ``read_document`` calls and stubs ctxchunk
    makes), the request LangChain builds from :func:`to_langchain_messages` costs
    this many tokens more than the window's Chat rendering (negative if fewer).
    Give the window ``reserve_tokens`` for it; :func:`trim_messages` does.

    >>> from ctxchunk import ContextWindow
    >>> w = ContextWindow(500)
    >>> _ = w.add_tool_call("clock", '{"tz":"UTC"}', "12:00")
    >>> respacing_tokens(w)
    1
    """
    window = check_window(window)
    count = window.tokenizer.count
    extra = 0
    for message in render(window):
        for call in message.get("tool_calls", ()):
            arguments = call["function"]["arguments"]
            spelled = json.dumps(_args(arguments), ensure_ascii=False)
            if spelled != arguments:
                extra += count(spelled) - count(arguments)
    return extra


def _args(arguments: str) -> dict[str, Any]:
    try:
        # Text holding NaN or Infinity is not JSON (json.loads would read it, and
        # the args would hold a float no JSON encoder writes): it stays raw.
        value = load_json(arguments)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {RAW_ARGUMENTS_KEY: arguments}


def to_langchain_messages(window: ContextWindow) -> list[BaseMessage]:
    """Render a window as LangChain messages.

    The window's Chat rendering (see :func:`ctxchunk.render.to_openai_chat`) as
    ``SystemMessage``, ``HumanMessage``, ``AIMessage`` (with ``tool_calls``) and
    ``ToolMessage``: documents and other tool context are a tool call and its
    ``ToolMessage``, never a human or system message; every ``ToolMessage`` follows
    the ``AIMessage`` that holds its call; markers and stubs the window wrote are
    included. The parts of one message the window cut are one message again, and an
    ``AIMessage``'s text stays with its tool calls.

    A call's arguments become ``args``; arguments that are not a JSON object become
    ``{"arguments": "<the text>"}`` (:data:`RAW_ARGUMENTS_KEY`).

    Raises:
        InvalidTypeError: ``window`` is not a :class:`~ctxchunk.ContextWindow`.

    >>> from ctxchunk import ContextWindow
    >>> w = ContextWindow(500)
    >>> _ = w.add_tool_call("clock", {}, "12:00", call_id="call_1")
    >>> [type(m).__name__ for m in to_langchain_messages(w)]
    ['AIMessage', 'ToolMessage']
    """
    window = check_window(window)
    out: list[BaseMessage] = []
    for message in render(window):
        role, content = message["role"], message.get("content")
        if role == "system":
            out.append(SystemMessage(content=content))
        elif role == "user":
            out.append(HumanMessage(content=content))
        elif role == "assistant":
            calls = [
                ToolCall(
                    name=call["function"]["name"],
                    args=_args(call["function"]["arguments"]),
                    id=call["id"],
                    type="tool_call",
                )
                for call in message.get("tool_calls", ())
            ]
            out.append(AIMessage(content=content or "", tool_calls=calls))
        else:
            call_id = message["tool_call_id"]
            out.append(ToolMessage(content=content, tool_call_id=call_id))
    return out


def session_from_langchain(
    messages: Sequence[BaseMessage | MessageLikeRepresentation],
    *,
    name: str | None = None,
) -> Session:
    """Import a LangChain message history as a session for ``simulate``.

    The messages as Chat messages, imported by
    :func:`~ctxchunk.session.session_from_chat_messages`: system messages become
    ``instructions``, human and AI text ``turn`` events, an AI tool call and its
    ``ToolMessage`` one ``tool_call`` event.

    Raises:
        SessionLogError: a message is malformed.
        TranscriptError: LangChain cannot convert a message.

    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> s = session_from_langchain([HumanMessage("Hi"), AIMessage("Hello!")])
    >>> [e.type for e in s.events]
    ['turn', 'request', 'turn']
    """
    return session_from_chat_messages(
        _chat_messages(messages), name="langchain" if name is None else name
    )


@overload
def trim_messages(
    messages: Sequence[BaseMessage | MessageLikeRepresentation],
    *,
    max_tokens: int,
    tokenizer: str | Tokenizer = ...,
    include_system: bool = ...,
    strategy: str = ...,
    policy: Policy | None = ...,
    chunk_tokens: int | None = ...,
    reserve_tokens: int = ...,
    protect_recent_turns: int = ...,
) -> list[BaseMessage]: ...


@overload
def trim_messages(
    messages: None = None,
    *,
    max_tokens: int,
    tokenizer: str | Tokenizer = ...,
    include_system: bool = ...,
    strategy: str = ...,
    policy: Policy | None = ...,
    chunk_tokens: int | None = ...,
    reserve_tokens: int = ...,
    protect_recent_turns: int = ...,
) -> RunnableLambda[Sequence[BaseMessage], list[BaseMessage]]: ...


def trim_messages(
    messages: Sequence[BaseMessage | MessageLikeRepresentation] | None = None,
    *,
    max_tokens: int,
    tokenizer: str | Tokenizer = "o200k_base",
    include_system: bool = True,
    strategy: str = "last",
    policy: Policy | None = None,
    chunk_tokens: int | None = None,
    reserve_tokens: int = 0,
    protect_recent_turns: int = 2,
) -> list[BaseMessage] | RunnableLambda[Sequence[BaseMessage], list[BaseMessage]]:
    """Fit a message history into ``max_tokens``: a drop-in for LangChain's.

    The messages go into a fresh :class:`~ctxchunk.ContextWindow` of budget
    ``max_tokens`` one update at a time, and the window comes back as messages
    (:func:`to_langchain_messages`). Unlike ``langchain_core``'s ``trim_messages``:
    counts are exact (tiktoken, per-message framing included, as
    :func:`~ctxchunk.tokens.count_messages` bills, for the request LangChain builds
    from the result: see :func:`respacing_tokens`); a ``ToolMessage`` never loses
    its call; long content leaves chunk by chunk instead of all at once; and what
    was cut is named by a marker the model can see. Keep one window across turns
    (:func:`add_langchain_messages`) to also keep the archive it can recall from.

    Without ``messages``, returns a runnable to chain in front of a model
    (``trim_messages(max_tokens=...) | model``), as LangChain's does.

    Args:
        messages: The history, oldest first.
        max_tokens: The budget: the rendered messages, as Chat Completions counts
            them, hold at most this many tokens.
        tokenizer: An encoding or model name (``"gpt-4o"``), or a tokenizer.
        include_system: Whether system messages are pinned (always kept); if
            False, they may be evicted like any instruction.
        strategy: ``"last"``, the only strategy: the newest messages are kept.
        policy: What leaves first (default :class:`~ctxchunk.policies.Recommended`).
        chunk_tokens: The largest chunk (default from the budget).
        reserve_tokens: Tokens of ``max_tokens`` kept free (the reply, tools).
        protect_recent_turns: How many of the newest turns no policy may evict.

    Returns:
        The messages that fit, or a runnable when ``messages`` is None.

    Raises:
        BudgetError: the system messages alone do not fit in ``max_tokens``.
        TranscriptError: a message cannot be read.
        InvalidArgumentError: ``strategy`` is not ``"last"``.

    >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    >>> history = [SystemMessage("Be brief.")] + [
    ...     m for i in range(20)
    ...     for m in (HumanMessage(f"Question {i}?"), AIMessage(f"Answer {i}."))]
    >>> kept = trim_messages(history, max_tokens=60)
    >>> kept[0].content, kept[-1].content
    ('Be brief.', 'Answer 19.')
    """
    if strategy != "last":
        raise InvalidArgumentError(
            f"strategy={strategy!r:.40} is not supported: ctxchunk keeps the newest "
            f'history (strategy="last") and evicts by policy; pass policy= to '
            f"choose what leaves first"
        )
    options: dict[str, Any] = {
        "max_tokens": max_tokens,
        "tokenizer": tokenizer,
        "include_system": include_system,
        "policy": policy,
        "chunk_tokens": chunk_tokens,
        "reserve_tokens": reserve_tokens,
        "protect_recent_turns": protect_recent_turns,
    }
    if messages is None:
        return RunnableLambda(functools.partial(_trim, **options), name="trim_messages")
    return _trim(messages, **options)


def _trim(
    messages: Sequence[BaseMessage | MessageLikeRepresentation],
    *,
    max_tokens: int,
    tokenizer: str | Tokenizer,
    include_system: bool,
    policy: Policy | None,
    chunk_tokens: int | None,
    reserve_tokens: int,
    protect_recent_turns: int,
) -> list[BaseMessage]:
    # LangChain re-spells the arguments of the calls ctxchunk makes (documents,
    # stubs): hold back what that adds, so what LangChain sends fits max_tokens.
    chat = _chat_messages(messages)
    for _ in range(_MAX_REFITS):
        window = ContextWindow(
            max_tokens,
            policy=policy,
            chunk_tokens=chunk_tokens,
            tokenizer=tokenizer,
            reserve_tokens=reserve_tokens,
            protect_recent_turns=protect_recent_turns,
        )
        # A fresh window is thrown away on error: no need to check before adding.
        feed(window, chat, pin_system=include_system, check_first=False)
        over = window.tokens + respacing_tokens(window) - window.capacity
        if over <= 0:
            return to_langchain_messages(window)
        reserve_tokens += over
    raise BudgetError(
        f"the history does not fit max_tokens={max_tokens} as LangChain spells tool "
        f"arguments, even holding back {reserve_tokens} tokens for it; raise "
        f"max_tokens"
    )
