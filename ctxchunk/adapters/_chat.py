"""The Chat Completions bridge both adapters stand on; nothing here is public.

An adapter turns its framework's messages into OpenAI Chat Completions messages
(plain dicts) and hands them to :func:`feed`, or takes :func:`render`'s Chat
messages and builds its framework's objects from them. The Chat shape is the one
ctxchunk already reads (:func:`~ctxchunk.transcript.chunk_transcript`, whose content
is read by :mod:`ctxchunk._wire_read`) and renders
(:func:`~ctxchunk.render.to_openai_chat`), so no adapter parses content or plans tool
calls of its own.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from ctxchunk import _openai_chat
from ctxchunk._wire_read import PartError, read_content
from ctxchunk.change import Change
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import CtxChunkError, InvalidTypeError, TranscriptError
from ctxchunk.roles import Kind
from ctxchunk.transcript import chunk_transcript
from ctxchunk.window import ContextWindow

__all__ = ["feed", "render"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_RESULT_ROLES = frozenset({"tool", "function"})
_TEXT_KINDS = frozenset({Kind.TURN, Kind.INSTRUCTION})


def check_window(window: object) -> ContextWindow:
    """Return ``window`` if it is a :class:`ContextWindow`, else raise."""
    if not isinstance(window, ContextWindow):
        raise InvalidTypeError(
            f"window must be a ctxchunk.ContextWindow, got {type(window).__name__}: "
            f"{window!r:.80}"
        )
    return window


def _has_calls(message: Mapping[str, Any]) -> bool:
    return bool(message.get("tool_calls")) or message.get("function_call") is not None


def _is_blank(message: Mapping[str, Any], index: int) -> bool:
    """Whether a message holds nothing a window keeps: no text and no tool calls."""
    if message.get("role") in _RESULT_ROLES or _has_calls(message):
        return False
    audio = message.get("audio")
    if isinstance(audio, Mapping) and str(audio.get("transcript") or "").strip():
        return False
    try:
        text = read_content(message.get("content"), f"content of message {index}")
    except PartError as exc:
        raise TranscriptError(f"message {index}: {exc}") from None
    return not text.text.strip()


def _updates(
    messages: Sequence[Mapping[str, Any]], *, pin_system: bool
) -> list[tuple[bool, int, list[Mapping[str, Any]]]]:
    """Cut the messages into window updates: ``(pin?, index, [message])``.

    Every message is an update of its own, as an agent loop adds them: a tool
    result finds its call in the window (the window keeps a call's group open for
    its results), and each result is capped as one update, so a long result cannot
    push its siblings out unmarked.
    """
    updates: list[tuple[bool, int, list[Mapping[str, Any]]]] = []
    for index, message in enumerate(messages):
        if _is_blank(message, index):
            continue
        pin = pin_system and message.get("role") in _SYSTEM_ROLES
        updates.append((pin, index, [message]))
    return updates


_CALL_NAMES: weakref.WeakKeyDictionary[ContextWindow, dict[str, str]] = (
    weakref.WeakKeyDictionary()
)
"""Per window, the tool name of each call id the adapters have seen, so a result
added after its call still carries the tool's name (policies such as
``ClearToolResults(exclude_tools=...)`` and markers go by a result's tool)."""


def _call_names(window: ContextWindow) -> dict[str, str]:
    return {
        chunk.meta.call_id: chunk.meta.tool_name
        for chunk in window.chunks
        if chunk.kind is Kind.TOOL_CALL and chunk.meta.call_id and chunk.meta.tool_name
    }


def _named_results(
    window: ContextWindow, messages: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """Return the messages with each tool result named after its call's tool."""
    names = _CALL_NAMES.setdefault(window, {})
    scanned = False
    out: list[Mapping[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(function, Mapping) and isinstance(call.get("id"), str):
                    name = function.get("name")
                    if isinstance(name, str) and name:
                        names[call["id"]] = name
        elif role == "tool" and not message.get("name"):
            call_id = message.get("tool_call_id")
            if isinstance(call_id, str):
                if call_id not in names and not scanned:
                    # A call added some other way (add_tool_call, add_transcript).
                    names.update(_call_names(window))
                    scanned = True
                if call_id in names:
                    message = {**message, "name": names[call_id]}
        out.append(message)
    return out


def feed(
    window: ContextWindow,
    messages: Sequence[Mapping[str, Any]],
    *,
    pin_system: bool,
    check_first: bool = True,
) -> tuple[Change, ...]:
    """Add Chat messages to ``window``, one update per message.

    System and developer messages are pinned when ``pin_system`` (their text read by
    :func:`~ctxchunk._wire_read.read_content`); every other update goes through
    :meth:`ContextWindow.add_transcript`. A message with no text and no tool calls
    is skipped: it holds nothing to keep.

    With ``check_first``, every update is first chunked on its own, exactly as the
    window will chunk it, so a malformed message raises before anything is added.

    Raises:
        TranscriptError: a message is malformed; the message names its index.
    """
    updates = _updates(_named_results(window, messages), pin_system=pin_system)
    # One update is checked by the window itself (chunked before anything changes).
    if check_first and len(updates) > 1:
        for pin, first, batch in updates:
            if not pin:
                try:
                    chunk_transcript(
                        batch,
                        window.chunk_tokens,
                        tokenizer=window.tokenizer,
                        first_index=first,
                    )
                except TranscriptError as exc:
                    raise _named(first, exc) from None
    return tuple(_apply(window, pin, first, batch) for pin, first, batch in updates)


def _apply(
    window: ContextWindow, pin: bool, first: int, batch: list[Mapping[str, Any]]
) -> Change:
    try:
        if pin:
            return window.pin(read_content(batch[0].get("content")).text)
        return window.add_transcript(batch)
    except (TranscriptError, PartError) as exc:
        raise _named(first, exc) from None
    except CtxChunkError as exc:
        raise type(exc)(f"message {first}: {exc}") from exc


def _named(index: int, exc: Exception) -> TranscriptError:
    """Return the error naming ``message <index>``, the caller's, not the turn's."""
    text = str(exc)
    text = text.split(": ", 1)[1] if text.startswith("turn ") else text
    return TranscriptError(f"message {index}: {text}")


# -- rendering -------------------------------------------------------------------


def _text_piece(unit: Sequence[Chunk]) -> Chunk | None:
    """The chunk of a unit that renders as one plain text message, else None."""
    if len(unit) != 1:
        return None
    chunk = unit[0]
    if chunk.kind not in _TEXT_KINDS or chunk.meta.marks is not None:
        return None
    return chunk


def _continues(prev: Chunk, chunk: Chunk) -> bool:
    # The next part of the same message, as chunk_transcript and pin cut it.
    return (
        chunk.source == prev.source
        and chunk.role is prev.role
        and chunk.kind is prev.kind
        and chunk.pinned == prev.pinned
        and chunk.parts == prev.parts
        and chunk.part == prev.part + 1
    )


def _calls_of(text: Chunk, unit: Sequence[Chunk]) -> bool:
    # chunk_transcript names the calls of Chat message ``turn-i`` ``turn-i.call-j``:
    # the text and the calls were one assistant message.
    return (
        text.role.value == "assistant"
        and text.kind is Kind.TURN
        and unit[0].kind is Kind.TOOL_CALL
        and unit[0].source.startswith(text.source + ".call-")
    )


def render(window: ContextWindow) -> list[dict[str, Any]]:
    """Return the window as Chat messages, one message per message it was made of.

    The messages of :func:`~ctxchunk.render.to_openai_chat`, unit by unit, with two
    joins that give a framework its messages back as they were: the consecutive
    parts of one message (a long turn the window cut into chunks) are one message
    again, and an assistant message's text and its tool calls are one message again.
    Each join removes a message's framing, so the result costs at most
    ``window.tokens``; tool calls and results stay paired as the Chat rendering
    pairs them.
    """
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    last: Chunk | None = None  # the text chunk out[-1] ends with, if any
    for unit in window.render_units():
        messages = _openai_chat.unit_messages(unit, used)
        if not messages:
            continue
        piece = _text_piece(unit)
        if piece is not None and last is not None and _continues(last, piece):
            out[-1]["content"] += piece.text
            last = piece
            continue
        if last is not None and _calls_of(last, unit) and messages[0].get("tool_calls"):
            messages[0]["content"] = out.pop()["content"]
        out.extend(messages)
        last = piece
    return out
