"""OpenAI Chat Completions rendering of a window, and the exact per-unit accounting.

A window is a sequence of *units*, each kept or evicted as a whole. This module says
what messages one unit renders to, and what those messages cost, from the same
description (:func:`_plan`), so that the sum of the units' costs plus the request's
reply priming is exactly what :func:`ctxchunk.tokens.count_messages` bills for
:func:`to_openai_chat` of the window.

How a unit renders:

- a ``system``, ``user`` or ``assistant`` chunk (an instruction, a turn, a summary
  under those roles) is one message of that role holding the chunk's text;
- a document chunk, a ``tool``-role summary, or a tool result whose call is not in the
  window is *tool context*: an assistant message with one tool call (to
  :data:`DOCUMENT_TOOL`, :data:`SUMMARY_TOOL`, or the result's own tool) followed by
  the ``tool`` message answering it, with a call id derived from the chunk id;
- a tool group (the calls of one assistant message and their results) is one
  assistant message with a ``tool_calls`` entry for every call that has a result,
  followed by one ``tool`` message per answered call, in call order. A call split into
  several chunks has their concatenated text as its arguments; several result chunks
  of one call are joined into one ``tool`` message. A call with no result yet renders
  nothing (the API rejects an unanswered call) and costs nothing.

Nothing here imports the window: :func:`to_openai_chat` takes anything with a
``render_units()`` method.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ctxchunk import _chat
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidTypeError
from ctxchunk.roles import Kind, Role

__all__ = [
    "DOCUMENT_TOOL",
    "SUMMARY_TOOL",
    "UNKNOWN_TOOL",
    "SupportsRenderUnits",
    "chat_format",
    "to_openai_chat",
    "unit_cost",
    "unit_messages",
]

DOCUMENT_TOOL = "read_document"
"""The tool a document chunk is rendered as a call to (the same name the other
renderers use)."""

SUMMARY_TOOL = "recall_history"
"""The tool a ``tool``-role summary chunk is rendered as a call to."""

UNKNOWN_TOOL = "tool_result"
"""The tool name of a result whose call is not in the window and that names no
usable tool itself."""

_NAME_OK = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
# OpenAI accepts function names and call ids of 1-64 characters of [A-Za-z0-9_-].
_ID_OK = _NAME_OK

Counter = Callable[[str], int]


class SupportsRenderUnits(Protocol):
    """Anything that can list its eviction units, oldest first."""

    def render_units(self) -> Iterable[Sequence[Chunk]]:
        """Yield the chunks of each unit, in window order."""
        ...


def chat_format(encoding: str) -> _chat.ChatFormat:
    """Return the Chat Completions framing of the model family of ``encoding``."""
    return _chat.format_for(encoding, encoding)


def _tool_name(name: str | None, fallback: str) -> str:
    if not name:
        return fallback
    if _NAME_OK.fullmatch(name):
        return name
    return _NAME_BAD.sub("_", name)[:64]


def _json(value: object) -> str:
    # Standard JSON only: NaN or Infinity would make the request unparseable.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _document_arguments(chunk: Chunk) -> str:
    meta = chunk.meta
    args: dict[str, object] = {}
    if meta.url is not None:
        args["url"] = meta.url
    if meta.title is not None:
        args["title"] = meta.title
    if meta.headings:
        args["headings"] = list(meta.headings)
    # Always the source: it is what ContextWindow.read takes, so a model that copies
    # these arguments into a read_document call gets the document back.
    args["source"] = chunk.source
    args["part"] = chunk.part
    args["parts"] = chunk.parts
    return _json(args)


class _Text:
    """A text field and, when one chunk holds all of it, its known token count."""

    __slots__ = ("text", "tokens")

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.tokens: int | None
        if len(chunks) == 1:
            self.text = chunks[0].text
            self.tokens = chunks[0].tokens
        else:
            self.text = "".join([c.text for c in chunks])
            self.tokens = None

    @classmethod
    def of(cls, text: str) -> _Text:
        self = cls.__new__(cls)
        self.text = text
        self.tokens = None
        return self

    def count(self, count: Counter) -> int:
        # Token counts of BPE pieces do not add up across every join, so text made
        # of several chunks is counted whole.
        return self.tokens if self.tokens is not None else count(self.text)


class _Call:
    __slots__ = ("arguments", "call_id", "name")

    def __init__(self, call_id: str, name: str, arguments: _Text) -> None:
        self.call_id = call_id
        self.name = name
        self.arguments = arguments


class _Message:
    __slots__ = ("calls", "content", "role", "tool_call_id")

    def __init__(
        self,
        role: str,
        content: _Text | None,
        calls: list[_Call] | None = None,
        tool_call_id: str | None = None,
    ) -> None:
        self.role = role
        self.content = content
        self.calls = calls
        self.tool_call_id = tool_call_id


def _call_id(chunk: Chunk) -> str:
    call_id = chunk.meta.call_id
    if call_id is not None and _ID_OK.fullmatch(call_id):
        return call_id
    return "call_" + chunk.id


def _plan(chunks: Sequence[Chunk], used: set[str] | None = None) -> list[_Message]:
    # ``used``: the call ids the rendering has handed out so far (ids are not
    # billed, so a unit's cost never depends on it).
    if used is None:
        used = set()
    first = chunks[0]
    if first.kind is Kind.TOOL_CALL or (
        len(chunks) > 1 and any(c.kind is Kind.TOOL_CALL for c in chunks)
    ):
        return _plan_group(chunks, used)
    if len(chunks) != 1:
        raise ValueError(f"a unit that is not a tool group has one chunk: {chunks!r}")
    if first.role is not Role.TOOL:
        return [_Message(first.role.value, _Text(chunks))]
    own = False
    if first.kind is Kind.DOCUMENT:
        # A page the model fetched itself keeps the model's call id and tool name.
        name = _tool_name(first.meta.tool_name, DOCUMENT_TOOL)
        args = _document_arguments(first)
        own = first.meta.call_id is not None
    elif first.kind is Kind.SUMMARY:
        name, args = SUMMARY_TOOL, "{}"
    else:
        name, args = _tool_name(first.meta.tool_name, UNKNOWN_TOOL), "{}"
    call_id = _fresh_id(first, used, own=own)
    return [
        _Message("assistant", None, [_Call(call_id, name, _Text.of(args))]),
        _Message("tool", _Text(chunks), tool_call_id=call_id),
    ]


def _fresh_id(chunk: Chunk, used: set[str], *, own: bool) -> str:
    """Return a call id unique in the rendering, by the rule every renderer uses.

    The call's own valid id when it is unused, else ``"call_"`` and the chunk id
    (numbered on a clash).
    """
    call_id = _call_id(chunk) if own else "call_" + chunk.id
    if call_id not in used:
        used.add(call_id)
        return call_id
    base = "call_" + chunk.id
    call_id, n = base, 1
    while call_id in used:
        n += 1
        call_id = f"{base}_{n}"
    used.add(call_id)
    return call_id


def _plan_group(chunks: Sequence[Chunk], used: set[str]) -> list[_Message]:
    # Calls are keyed by source (the parts of one call share it); results find their
    # call by call_id. The window only groups results with a call they answer.
    calls: dict[str, list[Chunk]] = {}
    by_call_id: dict[str, str] = {}
    results: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        if chunk.kind is Kind.TOOL_CALL:
            calls.setdefault(chunk.source, []).append(chunk)
            if chunk.meta.call_id is not None:
                by_call_id.setdefault(chunk.meta.call_id, chunk.source)
        else:
            key = by_call_id.get(chunk.meta.call_id or "")
            if key is None:
                raise ValueError(f"tool result {chunk.id} answers no call of its group")
            results.setdefault(key, []).append(chunk)
    answered = [source for source in calls if source in results]
    if not answered:
        return []
    rendered: list[_Call] = []
    for source in answered:
        parts = calls[source]
        call_id = _fresh_id(parts[0], used, own=True)
        name = _tool_name(parts[0].meta.tool_name, UNKNOWN_TOOL)
        rendered.append(_Call(call_id, name, _Text(parts)))
    messages = [_Message("assistant", None, rendered)]
    messages.extend(
        _Message("tool", _Text(results[source]), tool_call_id=call.call_id)
        for source, call in zip(answered, rendered, strict=True)
    )
    return messages


def unit_cost(chunks: Sequence[Chunk], fmt: _chat.ChatFormat, count: Counter) -> int:
    """Return the tokens the messages of one unit add to a Chat Completions request.

    Exactly what :func:`ctxchunk.tokens.count_messages` adds for
    :func:`unit_messages` of ``chunks``: per message, ``tokens_per_message``, its role
    and content, and per tool call :data:`ctxchunk._chat.TOOL_CALL_TOKENS` plus its
    name and arguments (ids are not billed). A single chunk's text is not recounted.
    """
    if len(chunks) == 1:
        first = chunks[0]
        if first.kind is Kind.TOOL_CALL:
            return 0  # a call nothing answers yet is not rendered
        if first.role is not Role.TOOL:
            # What _plan makes of it: one message of the chunk's role and text.
            role = _count_name(count, first.role.value)
            return fmt.tokens_per_message + role + first.tokens
        if first.kind is Kind.SUMMARY or first.kind is Kind.TOOL_RESULT:
            # What _plan makes of it: a call of a known name with "{}" for
            # arguments (ids are not billed), then a tool message with the text.
            name = (
                SUMMARY_TOOL
                if first.kind is Kind.SUMMARY
                else _tool_name(first.meta.tool_name, UNKNOWN_TOOL)
            )
            return (
                2 * fmt.tokens_per_message
                + _count_name(count, "assistant")
                + _chat.TOOL_CALL_TOKENS
                + _count_name(count, name)
                + _count_name(count, "{}")
                + _count_name(count, "tool")
                + first.tokens
            )
    total = 0
    for message in _plan(chunks):
        total += fmt.tokens_per_message + _count_name(count, message.role)
        if message.content is not None:
            total += message.content.count(count)
        for call in message.calls or ():
            total += (
                _chat.TOOL_CALL_TOKENS
                + _count_name(count, call.name)
                + call.arguments.count(count)
            )
    return total


def answer_cost(
    group: Sequence[Chunk], result: Chunk, fmt: _chat.ChatFormat, count: Counter
) -> int | None:
    """Return what ``result`` adds to the cost of the tool group ``group``, or None.

    Priced without planning the group again in the usual case: ``result`` is the
    first answer to a call of one chunk, whose call id no other chunk of the group
    shares. The call is rendered from then on (with the assistant message, when no
    call of the group was answered before) and a tool message holds the result.
    Equal to ``unit_cost((*group, result)) - unit_cost(group)``; None when the case
    is another one, to be priced that way.
    """
    call_id = result.meta.call_id
    if result.kind is not Kind.TOOL_RESULT or call_id is None:
        return None
    call = None
    answered = False
    for chunk in group:
        if chunk.kind is Kind.TOOL_RESULT:
            if chunk.meta.call_id == call_id:
                return None  # the call is answered already
            answered = True
        elif chunk.meta.call_id == call_id:
            if call is not None:
                return None  # a call of several parts, or a repeated id
            call = chunk
    if call is None or any(
        c is not call and c.kind is Kind.TOOL_CALL and c.source == call.source
        for c in group
    ):
        return None
    cost = (
        _chat.TOOL_CALL_TOKENS
        + _count_name(count, _tool_name(call.meta.tool_name, UNKNOWN_TOOL))
        + call.tokens
        + fmt.tokens_per_message
        + _count_name(count, "tool")
        + result.tokens
    )
    if not answered:
        cost += fmt.tokens_per_message + _count_name(count, "assistant")
    return cost


def _count_name(count: Counter, name: str) -> int:
    # Roles and tool names are few and short, and every unit's cost counts them.
    try:
        return _cached_count(count, name)
    except TypeError:  # a counter of an unhashable tokenizer
        return count(name)


@functools.lru_cache(maxsize=1024)
def _cached_count(count: Counter, name: str) -> int:
    return count(name)


def unit_messages(
    chunks: Sequence[Chunk], used: set[str] | None = None
) -> list[dict[str, Any]]:
    """Return the Chat Completions messages one unit renders to.

    ``used`` holds the call ids already handed out in the same request (updated).
    """
    out: list[dict[str, Any]] = []
    for message in _plan(chunks, used):
        rendered: dict[str, Any] = {"role": message.role}
        rendered["content"] = None if message.content is None else message.content.text
        if message.calls:
            rendered["tool_calls"] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments.text},
                }
                for call in message.calls
            ]
        if message.tool_call_id is not None:
            rendered["tool_call_id"] = message.tool_call_id
        out.append(rendered)
    return out


def to_openai_chat(window: SupportsRenderUnits) -> list[dict[str, Any]]:
    """Render a window as OpenAI Chat Completions ``messages``.

    Every unit renders to its own message(s), in window order (see the module docs).
    Documents and other tool context become an assistant tool call and its ``tool``
    message, never ``user`` or ``system``; a ``tool`` message always directly follows
    the assistant message holding its call, so no tool message is ever orphaned.
    ``count_messages(to_openai_chat(window), model=...)`` for the window's encoding
    equals ``window.tokens``.

    Args:
        window: A :class:`~ctxchunk.window.ContextWindow`.

    Returns:
        The messages, ready for ``client.chat.completions.create(messages=...)``.

    Raises:
        InvalidTypeError: ``window`` has no ``render_units`` method.

    >>> from ctxchunk.window import ContextWindow
    >>> window = ContextWindow(1000, chunk_tokens=500)
    >>> _ = window.pin("Be brief.")
    >>> _ = window.add_turn("user", "Hi!")
    >>> to_openai_chat(window)
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi!'}]
    """
    render_units = getattr(window, "render_units", None)
    if not callable(render_units):
        raise InvalidTypeError(
            f"window must be a ContextWindow (an object with render_units()), got "
            f"{type(window).__name__}: {window!r:.80}; to render a list of chunks, "
            f"add them to a window with add_chunks"
        )
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for unit in render_units():
        out.extend(unit_messages(unit, used))
    return out
