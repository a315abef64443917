"""Render a window's chunks in the wire formats agents send.

Each renderer takes a window (any object with an ordered ``chunks`` sequence) or the
chunks themselves and returns plain, JSON-ready dicts and lists:

- :func:`to_responses_input`: OpenAI Responses API ``input`` items;
- :func:`to_anthropic`: Anthropic Messages API ``system`` and ``messages``;
- :func:`to_realtime_events`: the OpenAI Realtime client events that bring a live
  session in line with the window after one operation
  (a :class:`~ctxchunk.change.Change`); :func:`count_realtime_events` says how many
  there are without making them.

Roles are kept as the chunks state them (see :mod:`ctxchunk.roles`): only user turns
are ever rendered as user speech, only instructions (and ``system`` summaries) as
system text, and documents and tool traffic always as a tool call and its result. A
document chunk becomes a call to :data:`DOCUMENT_TOOL` whose arguments locate it and
whose output is its text. A call and its results are never split: a call whose result
is not in the window is left out, and a result whose call is not in the window gets a
call of its own. Everything is deterministic: the same chunks give the same output,
call ids included. ``docs/wire-formats.md`` shows one window in every format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from ctxchunk._checks import check_bool
from ctxchunk._openai_chat import (
    DOCUMENT_TOOL,
    SUMMARY_TOOL,
    UNKNOWN_TOOL,
    to_openai_chat,
)
from ctxchunk._render_plan import (
    Call,
    Entry,
    HasChunks,
    Text,
    chunks_of,
    derived_item_id,
    document_arguments,
    json_text,
    plan,
    session_call_id,
    tool_name,
)
from ctxchunk.change import Change, Reason, Replacement, is_session_item
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.roles import Kind, Role

__all__ = [
    "ANTHROPIC_CONTINUATION",
    "DOCUMENT_TOOL",
    "SUMMARY_TOOL",
    "UNKNOWN_TOOL",
    "RealtimeMirror",
    "count_realtime_events",
    "to_anthropic",
    "to_openai_chat",
    "to_realtime_events",
    "to_responses_input",
    "tool_definitions",
]

ANTHROPIC_CONTINUATION = "[conversation continues]"
"""The text of the one user message :func:`to_anthropic` inserts when the history would
otherwise start with an assistant message, which the Messages API rejects (its first
message must have the ``user`` role). It says only that the conversation goes on; it
puts no words of the user's own in their mouth. Counted the Chat Completions way it
costs 7 tokens (3 for the message, 4 for the text, in o200k_base and cl100k_base),
which the window's ledger does not hold: give a window rendered for Anthropic
``reserve_tokens`` of at least 7 so the request stays within the budget."""

_Window = HasChunks | Sequence[Chunk]


# -- Responses API ----------------------------------------------------------------
# Item shapes: openai-python src/openai/types/responses/response_input_item_param.py
# (Message, FunctionCall, FunctionCallOutput) and easy_input_message_param.py. An
# assistant turn is an EasyInputMessageParam with string content: the output message
# shape (response_output_message_param.py) requires the id and status of an output.


def to_responses_input(
    window_or_chunks: _Window,
    *,
    system_role: Literal["developer", "system"] = "developer",
) -> list[dict[str, Any]]:
    """Return the window as OpenAI Responses API ``input`` items.

    Instructions and ``system`` summaries become ``message`` items with role
    ``system_role`` and ``input_text`` content; user turns become ``user`` messages
    with ``input_text``; assistant turns and summaries become ``assistant`` messages
    with ``output_text``. Tool calls become ``function_call`` items (``call_id``,
    ``name``, ``arguments``) immediately followed by their ``function_call_output``
    items; a document chunk becomes a :data:`DOCUMENT_TOOL` call and its output. The
    parts of one turn or one tool call are joined back into one item.

    Args:
        window_or_chunks: A window, or its chunks in order.
        system_role: ``"developer"`` (what OpenAI recommends for its current models)
            or ``"system"``.

    Returns:
        The ``input`` list, ready for ``client.responses.create(input=...)``.

    Raises:
        InvalidTypeError: the argument is not a window or a sequence of chunks.
        InvalidArgumentError: ``system_role`` is neither allowed value.

    >>> from ctxchunk.chunk import Chunk
    >>> hi = Chunk.create("Hi!", role="user", kind="turn", source="t0")
    >>> to_responses_input([hi])
    [{'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Hi!'}]}]
    """  # noqa: E501
    if system_role not in ("developer", "system"):
        raise InvalidArgumentError(
            f"system_role={system_role!r:.80} is not allowed; pass 'developer' or "
            f"'system'"
        )
    items: list[dict[str, Any]] = []
    for entry in plan(chunks_of(window_or_chunks)):
        if isinstance(entry, Text):
            items.append(_responses_message(entry, system_role))
        elif isinstance(entry, Call):
            items.append(
                {
                    "type": "function_call",
                    "call_id": entry.call_id,
                    "name": entry.name,
                    "arguments": entry.arguments,
                }
            )
        else:
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": entry.call_id,
                    "output": entry.output,
                }
            )
    return items


def _responses_message(entry: Text, system_role: str) -> dict[str, Any]:
    if entry.role == "assistant":
        # An easy input message: an output message item (output_text parts) would
        # need the id and status of a response the API itself produced.
        return {"type": "message", "role": "assistant", "content": entry.text}
    role = system_role if entry.role == "system" else "user"
    return {
        "type": "message",
        "role": role,
        "content": [{"type": "input_text", "text": entry.text}],
    }


# -- Anthropic Messages API -------------------------------------------------------
# Rules (platform.claude.com docs, "Messages" API reference and "Handle tool calls"):
# system text is the top-level `system` parameter, not a message; the first message
# has role user; a tool_use block's result is a tool_result block with the same id in
# the very next (user) message, before any text; ids match ^[a-zA-Z0-9_-]+$; text
# blocks must hold non-whitespace text. Consecutive same-role turns are merged.


def to_anthropic(window_or_chunks: _Window) -> dict[str, Any]:
    """Return the window as Anthropic Messages API ``system`` and ``messages``.

    - Instructions and ``system`` summaries, wherever they stand, are joined with a
      blank line into the top-level ``system`` string (empty when there are none).
    - User turns are ``user`` text blocks; assistant turns and summaries are
      ``assistant`` text blocks.
    - Tool calls (and document chunks, as :data:`DOCUMENT_TOOL` calls) are assistant
      ``tool_use`` blocks whose ``input`` is the arguments' JSON object (arguments
      that are not a JSON object are passed as ``{"arguments": text}``); results are
      ``tool_result`` blocks with the same id, first in the next user message. An
      empty or blank output leaves out ``content``.
    - Consecutive content of the same role is merged into one message with several
      blocks, so roles alternate; blank text blocks are left out.
    - When the history would start with an assistant message, one user message
      holding :data:`ANTHROPIC_CONTINUATION` is put first. Nothing else is added:
      ``messages`` is empty when the window holds only instructions, and it may end
      with an assistant message (a prefill, which some models reject).

    Declare :data:`DOCUMENT_TOOL` in the request's ``tools`` when the window holds
    documents: the API rejects ``tool_use`` blocks when no tools are defined.

    Args:
        window_or_chunks: A window, or its chunks in order.

    Returns:
        ``{"system": str, "messages": list}``, ready for
        ``client.messages.create(**rendered, ...)`` (leave out ``system`` when it is
        empty).

    Raises:
        InvalidTypeError: the argument is not a window or a sequence of chunks.

    >>> from ctxchunk.chunk import Chunk
    >>> hi = Chunk.create("Hi!", role="assistant", kind="turn", source="t0")
    >>> to_anthropic([hi])["messages"][0]
    {'role': 'user', 'content': [{'type': 'text', 'text': '[conversation continues]'}]}
    """
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for entry in plan(chunks_of(window_or_chunks)):
        if isinstance(entry, Text) and entry.role == "system":
            if entry.text.strip():
                system.append(entry.text)
            continue
        role, block = _anthropic_block(entry)
        if block is None:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append(block)
        else:
            messages.append({"role": role, "content": [block]})
    if messages and messages[0]["role"] != "user":
        opening = {"type": "text", "text": ANTHROPIC_CONTINUATION}
        messages.insert(0, {"role": "user", "content": [opening]})
    return {"system": "\n\n".join(system), "messages": messages}


def _anthropic_block(entry: Entry) -> tuple[str, dict[str, Any] | None]:
    if isinstance(entry, Text):
        block = {"type": "text", "text": entry.text} if entry.text.strip() else None
        return entry.role, block
    if isinstance(entry, Call):
        return "assistant", {
            "type": "tool_use",
            "id": entry.call_id,
            "name": entry.name,
            "input": _tool_input(entry.arguments),
        }
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": entry.call_id}
    if entry.output.strip():
        result["content"] = entry.output
    return "user", result


def _tool_input(arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        # NaN and Infinity are not JSON: parsed, they would be sent as NaN.
        value = json.loads(arguments, parse_constant=_reject_constant)
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": arguments}


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


# -- Realtime API -----------------------------------------------------------------
# Client event shapes (GA interface, model gpt-realtime): openai-python
# src/openai/types/realtime/conversation_item_create_event_param.py,
# conversation_item_delete_event_param.py, conversation_item_truncate_event_param.py,
# session_update_event_param.py, and the item params
# realtime_conversation_item_{user,assistant,system}_message_param.py,
# realtime_conversation_item_function_call{,_output}_param.py. The GA assistant
# message content type is "output_text"; the beta interface used "text".


def to_realtime_events(
    change: Change,
    *,
    instructions: str | None = None,
    event_ids: bool = False,
) -> list[dict[str, Any]]:
    """Return the Realtime client events that apply one window operation to a session.

    Events follow the GA Realtime interface (``gpt-realtime``), in this order:

    1. ``session.update`` with ``{"type": "realtime", "instructions": ...}`` when
       ``change.instructions_changed``. Pinned instructions live in the session's
       instructions, never as conversation items.
    2. ``conversation.item.truncate`` (``content_index`` 0) for each interrupted
       assistant turn. ``audio_end_ms`` is capped at the turn's audio duration
       (``meta.end_ms - meta.start_ms``) when that is known, since the server rejects
       a longer one; when nothing was heard (``audio_end_ms`` 0) the item is deleted
       instead.
    3. ``conversation.item.create`` for each added chunk, in order, with the chunk id
       as item id and ``previous_item_id`` from ``change.previous_ids`` (``"root"``
       for the first chunk of the window). User turns are ``message`` items with
       ``input_text``, assistant turns and summaries ``message`` items with
       ``output_text``, ``system`` summaries ``system`` messages; a tool call is a
       ``function_call`` and its result a ``function_call_output``. A document chunk,
       a ``tool`` summary, a result with no ``call_id`` and each later part of a long
       result are a pair: a ``function_call`` with a derived item id, then the
       output with the chunk id. The parts of a long tool call are one item.
       A replacement chunk that is not among the added ones is created right after
       the first chunk it replaces.
    4. ``conversation.item.delete`` for each evicted or replaced chunk (both items of
       a pair), except chunks added and evicted by the same operation (never sent),
       instructions, and the truncated turns that stay in the window.

    Args:
        change: What one window operation did.
        instructions: The session instructions after the change (the window's pinned
            instructions); required when ``change.instructions_changed``.
        event_ids: Give each event a deterministic ``event_id`` (``"evt_"`` and 24
            hex digits), so errors the server reports can be traced back.

    Returns:
        The events, plain dicts ready for ``json.dumps``.

    Raises:
        InvalidTypeError: ``change`` is not a Change, ``instructions`` is not str,
            or ``event_ids`` is not a bool.
        InvalidArgumentError: the instructions changed but ``instructions`` is None,
            or a truncated chunk is not an assistant turn.

    >>> from ctxchunk.change import Change
    >>> from ctxchunk.chunk import Chunk
    >>> hi = Chunk.create("Hi!", role="user", kind="turn", source="t0")
    >>> to_realtime_events(Change(added=(hi,), previous_ids=(None,)))[0]["item"]
    {'id': 'ck_b3f2dfea14bccf2988d550622e1f', 'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Hi!'}]}
    """  # noqa: E501
    _check_realtime_args(change, instructions)
    check_bool("event_ids", event_ids)
    _require_instructions(change, instructions)
    events: list[dict[str, Any]] = []
    if change.instructions_changed:
        events.append(
            {
                "type": "session.update",
                "session": {"type": "realtime", "instructions": instructions},
            }
        )
    _RealtimeDiff(change).emit(events)
    if event_ids:
        for index, event in enumerate(events):
            event["event_id"] = _event_id(index, event)
    return events


def count_realtime_events(change: Change, *, instructions: str | None = None) -> int:
    """Return ``len(to_realtime_events(change, instructions=instructions))``.

    The events are counted, not made: no item, id or text is built, so counting the
    client events a whole session would send (as :func:`ctxchunk.simulate.simulate`
    does for every operation of every policy) costs a fraction of rendering them.

    Raises:
        InvalidTypeError: ``change`` is not a Change, or ``instructions`` is not
            str.
        InvalidArgumentError: as :func:`to_realtime_events` raises it.

    >>> from ctxchunk.change import Change
    >>> from ctxchunk.chunk import Chunk
    >>> hi = Chunk.create("Hi!", role="user", kind="turn", source="t0")
    >>> count_realtime_events(Change(added=(hi,), previous_ids=(None,)))
    1
    """
    _check_realtime_args(change, instructions)
    _require_instructions(change, instructions)
    if not (change.evicted or change.replaced or change.truncated):
        # Nothing leaves, so nothing is unsent: the items of the added chunks.
        added = sum(map(_item_count, change.added))
        return int(change.instructions_changed) + added
    return int(change.instructions_changed) + _RealtimeDiff(change).count()


def _check_realtime_args(change: Change, instructions: str | None) -> None:
    if not isinstance(change, Change):
        raise InvalidTypeError(
            f"change must be a Change, got {type(change).__name__}: {change!r:.80}"
        )
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidTypeError(
            f"instructions must be a str or None, got {type(instructions).__name__}: "
            f"{instructions!r:.80}"
        )


def _require_instructions(change: Change, instructions: str | None) -> None:
    if change.instructions_changed and instructions is None:
        raise InvalidArgumentError(
            "change.instructions_changed is True but instructions=None; pass "
            "instructions= the session instructions after the change (the "
            "window's pinned system text)"
        )


def _event_id(index: int, event: dict[str, Any]) -> str:
    data = json.dumps(
        [index, event], sort_keys=True, ensure_ascii=True, allow_nan=False
    )
    digest = hashlib.blake2b(data.encode(), digest_size=12, person=b"ctxchunk.ev")
    return "evt_" + digest.hexdigest()


class _RealtimeDiff:
    """The events of one change; see :func:`to_realtime_events` for the rules."""

    def __init__(self, change: Change) -> None:
        self.change = change
        gone = {e.chunk.id for e in change.evicted if e.reason is not Reason.REFRESHED}
        gone.update(c.id for r in change.replaced for c in r.old)
        # Added and evicted by the same operation: the session never sees it.
        self.unsent = {c.id for c in change.added} & gone
        # Chunks of this change that put no item in the session, and the chunk just
        # before each added one, so what follows them is anchored further back.
        self.itemless: set[str] = set()
        self.before: dict[str, str | None] = {}
        # Truncated turns: deleted outright (nothing heard) or cut and kept.
        self.deleted: set[str] = set()
        self.kept: set[str] = set()

    def emit(self, events: list[dict[str, Any]]) -> None:
        change = self.change
        # A re-read's old copy leaves first: the new copy may reuse its ids.
        for eviction in change.evicted:
            if eviction.reason is Reason.REFRESHED:
                events.extend(_delete(i) for i in _item_ids(eviction.chunk))
        for cut in change.truncated:
            self._truncate(cut.before, cut.audio_end_ms, events)
        added = change.added
        for index, (chunk, previous) in enumerate(
            zip(added, change.previous_ids, strict=True)
        ):
            self.before[chunk.id] = previous
            items = [] if chunk.id in self.unsent else _items(added, index)
            if not items:
                self.itemless.add(chunk.id)
            self._create(items, self._anchor(previous), events)
        for replacement in change.replaced:
            if replacement.new.id not in self.before:
                self._replace(replacement, events)
        for chunk in self._deleted():
            events.extend(_delete(item_id) for item_id in _item_ids(chunk))

    def count(self) -> int:
        """Return how many events :meth:`emit` adds, without making them.

        The same steps as :meth:`emit`, each counting what it would send: an item
        per id of :func:`_item_ids` (which :func:`_items` makes one for one), a
        truncation or delete per cut, and the same skipped chunks.
        """
        change = self.change
        count = 0
        for eviction in change.evicted:
            if eviction.reason is Reason.REFRESHED:
                count += _item_count(eviction.chunk)
        for cut in change.truncated:
            self._cut(cut.before, cut.audio_end_ms)
            count += 1
        added: set[str] = set()
        for chunk in change.added:
            added.add(chunk.id)
            if chunk.id not in self.unsent:
                count += _item_count(chunk)
        for replacement in change.replaced:
            if replacement.new.id not in added:
                count += _item_count(replacement.new)
        for chunk in self._deleted():
            count += _item_count(chunk)
        return count

    def _deleted(self) -> Iterator[Chunk]:
        """Yield the chunks whose items leave the session, each once, in order."""
        change = self.change
        # Oversize chunks never entered the session; refreshed ones went first.
        leaving = [
            (e.chunk, e.reason)
            for e in change.evicted
            if e.reason not in (Reason.OVERSIZE, Reason.REFRESHED)
        ]
        leaving += [(c, Reason.REPLACED) for r in change.replaced for c in r.old]
        for chunk, reason in leaving:
            if chunk.id in self.unsent or chunk.id in self.deleted:
                continue
            self.deleted.add(chunk.id)
            if reason is Reason.INTERRUPTED and chunk.id in self.kept:
                continue  # its truncated successor keeps the item
            yield chunk

    def _anchor(self, previous: str | None) -> str:
        seen: set[str] = set()
        while previous in self.itemless and previous not in seen:
            seen.add(previous)
            previous = self.before[previous]
        return "root" if previous is None else previous

    def _create(
        self, items: list[dict[str, Any]], anchor: str, events: list[dict[str, Any]]
    ) -> None:
        for item in items:
            events.append(
                {
                    "type": "conversation.item.create",
                    "previous_item_id": anchor,
                    "item": item,
                }
            )
            anchor = item["id"]

    def _replace(self, replacement: Replacement, events: list[dict[str, Any]]) -> None:
        # Inserted just after the first chunk it replaces, which is deleted next, so
        # the new chunk ends up exactly where the old run began.
        first = replacement.old[0]
        if first.id in self.before:
            anchor = self._anchor(first.id)
        elif _item_ids(first):
            anchor = first.id
        else:
            return self._create(_items((replacement.new,), 0), "root", events)
        self._create(_items((replacement.new,), 0), anchor, events)
        return None

    def _truncate(
        self, chunk: Chunk, audio_end_ms: int, events: list[dict[str, Any]]
    ) -> None:
        heard = self._cut(chunk, audio_end_ms)
        if heard == 0:
            events.append(_delete(chunk.id))
            return
        events.append(
            {
                "type": "conversation.item.truncate",
                "item_id": chunk.id,
                "content_index": 0,
                "audio_end_ms": heard,
            }
        )

    def _cut(self, chunk: Chunk, audio_end_ms: int) -> int:
        """Record a cut turn as deleted or kept; return the audio heard (0: delete)."""
        if chunk.role is not Role.ASSISTANT or chunk.kind is not Kind.TURN:
            raise InvalidArgumentError(
                f"cannot truncate chunk {chunk.id!r}: it is a {chunk.role.value} "
                f"{chunk.kind.value}, and only assistant turns can be truncated"
            )
        start, end = chunk.meta.start_ms, chunk.meta.end_ms
        heard = max(0, audio_end_ms)
        if start is not None and end is not None:
            # The server rejects an audio_end_ms beyond the item's audio.
            heard = min(heard, end - start)
        if heard == 0:
            # Nothing was heard: the turn goes. A zero-length truncation fails on
            # the server (seen in Pipecat and LiveKit).
            self.deleted.add(chunk.id)
        else:
            self.kept.add(chunk.id)
        return heard


def _call_parts(chunks: Sequence[Chunk], index: int) -> list[Chunk]:
    """Part 0 of a tool call and the later parts that follow it in ``chunks``."""
    chunk = chunks[index]
    tail = [chunk]
    prev = chunk
    for nxt in chunks[index + 1 :]:
        if not (
            nxt.kind is Kind.TOOL_CALL
            and nxt.source == chunk.source
            and nxt.part == prev.part + 1
        ):
            break
        tail.append(nxt)
        prev = nxt
    return tail


def _delete(item_id: str) -> dict[str, Any]:
    return {"type": "conversation.item.delete", "item_id": item_id}


def _message(chunk: Chunk, role: str, part_type: str) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "type": "message",
        "role": role,
        "content": [{"type": part_type, "text": chunk.text}],
    }


def _is_paired(chunk: Chunk) -> bool:
    """Whether the chunk is sent as a derived function_call plus its output."""
    if chunk.kind is Kind.DOCUMENT:
        return True
    if chunk.kind is Kind.SUMMARY:
        return chunk.role is Role.TOOL
    if chunk.kind is Kind.TOOL_RESULT:
        return chunk.meta.call_id is None or chunk.part > 0
    return False


def _items(chunks: Sequence[Chunk], index: int) -> list[dict[str, Any]]:
    """The conversation items ``chunks[index]`` puts in the session, in order."""
    chunk = chunks[index]
    kind = chunk.kind
    if not is_session_item(chunk):
        return []  # instructions go by session.update; call parts ride on part 0
    if kind is Kind.TOOL_CALL:
        return [
            {
                "id": chunk.id,
                "type": "function_call",
                "call_id": session_call_id(chunk.meta.call_id, chunk.id),
                "name": tool_name(chunk.meta.tool_name, UNKNOWN_TOOL),
                "arguments": "".join(c.text for c in _call_parts(chunks, index)),
            }
        ]
    if _is_paired(chunk):
        if kind is Kind.DOCUMENT:
            name = tool_name(chunk.meta.tool_name, DOCUMENT_TOOL)
            arguments = document_arguments(chunk)
        elif kind is Kind.SUMMARY:
            name, arguments = SUMMARY_TOOL, "{}"
        else:
            name = tool_name(chunk.meta.tool_name, UNKNOWN_TOOL)
            arguments = json_text({"part": chunk.part, "parts": chunk.parts})
            if chunk.part == 0:
                arguments = "{}"
        call_id = "call_" + chunk.id
        return [
            {
                "id": derived_item_id(chunk.id),
                "type": "function_call",
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            },
            {
                "id": chunk.id,
                "type": "function_call_output",
                "call_id": call_id,
                "output": chunk.text,
            },
        ]
    if kind is Kind.TOOL_RESULT:
        return [
            {
                "id": chunk.id,
                "type": "function_call_output",
                "call_id": session_call_id(chunk.meta.call_id, chunk.id),
                "output": chunk.text,
            }
        ]
    if chunk.role is Role.USER:
        return [_message(chunk, "user", "input_text")]
    if chunk.role is Role.SYSTEM:  # a system summary
        return [_message(chunk, "system", "input_text")]
    return [_message(chunk, "assistant", "output_text")]


def _item_ids(chunk: Chunk) -> list[str]:
    """The ids of the items :func:`_items` makes for the chunk."""
    if chunk.kind is Kind.INSTRUCTION:
        return []
    if chunk.kind is Kind.TOOL_CALL and chunk.part > 0:
        return []
    if _is_paired(chunk):
        return [chunk.id, derived_item_id(chunk.id)]
    return [chunk.id]


def _item_count(chunk: Chunk) -> int:
    """``len(_item_ids(chunk))``, the number of items :func:`_items` makes for it."""
    if not is_session_item(chunk):
        return 0
    return 2 if _is_paired(chunk) else 1


_TOOL_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    DOCUMENT_TOOL: (
        "Read a page or document the conversation brought in; the result is its "
        "readable text, one part at a time.",
        {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "Where the page came from."},
                "title": {"type": "string", "description": "The page's title."},
                "headings": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The heading path of this part's section.",
                },
                "source": {"type": "string", "description": "The document's id."},
                "part": {"type": "integer", "description": "The part, from 0."},
                "parts": {"type": "integer", "description": "How many parts."},
            },
        },
    ),
    SUMMARY_TOOL: (
        "Recall earlier conversation that no longer fits the context: with a query, "
        "the archived passages that best match it; without one, a summary.",
        {
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "Words to look for in the archived conversation.",
                },
            },
        },
    ),
    UNKNOWN_TOOL: (
        "The output of a tool whose call is no longer in the context.",
        {
            "type": "object",
            "properties": {
                "part": {"type": "integer", "description": "The part, from 0."},
                "parts": {"type": "integer", "description": "How many parts."},
            },
        },
    ),
}

_Format = Literal["chat", "responses", "anthropic"]


def tool_definitions(
    window_or_chunks: _Window, *, format: _Format = "chat", recall: bool = False
) -> list[dict[str, Any]]:
    """Return definitions of the tools the rendering calls on ctxchunk's own behalf.

    Documents render as calls to :data:`DOCUMENT_TOOL`, tool-role summaries as calls
    to :data:`SUMMARY_TOOL`, and results whose call left the window as calls to
    :data:`UNKNOWN_TOOL` (or to their own tool). Some providers check the tool calls
    in a history against the request's tool definitions (Anthropic rejects
    ``tool_use`` blocks for undefined tools), so pass these in the request's
    ``tools`` along with your own. Only the tools the window's rendering uses are
    returned, in a fixed order; your own tools are yours to define.

    Args:
        window_or_chunks: A window, or its chunks in order.
        format: ``"chat"`` (Chat Completions), ``"responses"`` or ``"anthropic"``.
        recall: Also declare :data:`SUMMARY_TOOL` (``recall_history``) so the model
            can search the archive: answer its calls with
            :meth:`ctxchunk.window.ContextWindow.recall`.

    Returns:
        Tool definitions in the shape that API's ``tools`` parameter takes.

    Raises:
        InvalidArgumentError: ``format`` is not one of the three.

    >>> from ctxchunk.chunk import Chunk, ChunkMeta
    >>> page = Chunk.create("Tea is a drink.", role="tool", kind="document",
    ...                     source="doc-1", meta=ChunkMeta(url="https://t.example"))
    >>> [t["name"] for t in tool_definitions([page], format="anthropic")]
    ['read_document']
    """
    if format not in ("chat", "responses", "anthropic"):
        raise InvalidArgumentError(
            f"format={format!r} must be 'chat', 'responses' or 'anthropic'"
        )
    if not isinstance(recall, bool):
        raise InvalidTypeError(
            f"recall must be True or False, got {type(recall).__name__}: {recall!r:.80}"
        )
    # Every renderer names its calls the same way, so one rendering tells them all.
    used = {
        item["name"]
        for item in to_responses_input(window_or_chunks)
        if item.get("type") == "function_call"
    }
    # Markers (standalone or inside a tool result) tell the model to call
    # read_document, so it is declared whenever one is in the window.
    if any(c.meta.marks is not None for c in chunks_of(window_or_chunks)):
        used.add(DOCUMENT_TOOL)
    if recall:
        used.add(SUMMARY_TOOL)
    definitions: list[dict[str, Any]] = []
    for name, (description, schema) in _TOOL_SPECS.items():
        if name not in used:
            continue
        if format == "chat":
            definitions.append(
                {
                    "type": "function",
                    "function": {
                        "name": name,
                        "description": description,
                        "parameters": schema,
                    },
                }
            )
        elif format == "responses":
            # FunctionToolParam requires "strict"; these schemas leave properties
            # optional, which strict mode does not allow.
            definitions.append(
                {
                    "type": "function",
                    "name": name,
                    "description": description,
                    "parameters": schema,
                    "strict": False,
                }
            )
        else:
            definitions.append(
                {"name": name, "description": description, "input_schema": schema}
            )
    return definitions


# -- a live Realtime session ------------------------------------------------------


class RealtimeMirror:
    """What one live Realtime session holds, kept in step with a window.

    :func:`to_realtime_events` sees one change at a time; a mirror remembers which
    items the session holds, so its events follow the server's rules whatever came
    before: an item it names exists (``previous_item_id``, ``delete``,
    ``truncate``); an item the server created (a chunk with ``meta.item_id``:
    committed user audio, the model's response or function call) is named by its
    server id and never created again; chunks that never entered the session
    (archived as oversize, or added and evicted by one operation) are never
    deleted; a ``function_call_output`` whose call is not in the session comes with
    a ``function_call`` of its own; only the server's own assistant items are
    truncated (their audio), and a client-created assistant text item that was
    interrupted is replaced by its heard text instead. A server item split over
    several chunks is deleted when its first chunk leaves, so the session never
    holds more than the window.

    Use one mirror per session, from the session's start::

        mirror = RealtimeMirror()
        for event in mirror.events(window.add_turn("user", text, item_id=item)):
            send(event)

    >>> from ctxchunk.window import ContextWindow
    >>> w, m = ContextWindow(400, chunk_tokens=100), RealtimeMirror()
    >>> m.events(w.add_turn("user", "Hi", item_id="item_u1"))
    []
    >>> [e["previous_item_id"] for e in m.events(w.add_turn("assistant", "Hello"))]
    ['item_u1']
    """

    def __init__(self) -> None:
        self._items: dict[str, str | None] = {}  # item id -> its call_id, if a call
        self._calls: dict[str, int] = {}  # call_id -> function_call items held
        self._of: dict[str, tuple[str, ...]] = {}  # chunk id -> its item ids
        self._prev: dict[str, str | None] = {}  # chunk id -> its previous_ids entry
        self._dead: set[str] = set()  # server items this mirror deleted

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The ids of the items the session holds, in the order they came."""
        return tuple(self._items)

    def events(
        self,
        change: Change,
        *,
        instructions: str | None = None,
        event_ids: bool = False,
    ) -> list[dict[str, Any]]:
        """Return the client events that bring the session in line after ``change``.

        Args:
            change: What one window operation did; give every change, in order.
            instructions: As for :func:`to_realtime_events`.
            event_ids: As for :func:`to_realtime_events`.

        Returns:
            The events, in the order to send them.

        Raises:
            InvalidTypeError: as for :func:`to_realtime_events`.
            InvalidArgumentError: as for :func:`to_realtime_events`.
        """
        check_bool("event_ids", event_ids)
        events = to_realtime_events(
            Change(instructions_changed=change.instructions_changed)
            if isinstance(change, Change)
            else change,
            instructions=instructions,
        )
        refreshed = [e.chunk for e in change.evicted if e.reason is Reason.REFRESHED]
        for chunk in refreshed:
            self._drop(chunk, events)
        gone = {e.chunk.id for e in change.evicted if e.reason is not Reason.REFRESHED}
        gone.update(c.id for r in change.replaced for c in r.old)
        added_ids = {c.id for c in change.added}
        # The server made its items before the window saw them: bind them all,
        # so those the window did not keep are deleted like any other.
        for chunk in (*change.added, *(e.chunk for e in change.evicted)):
            self._bind(chunk)
        unsent = {i for i in added_ids & gone if i not in self._of or not self._of[i]}
        kept: set[str] = set()
        for cut in change.truncated:
            self._truncate(cut.before, cut.after, cut.audio_end_ms, events, kept)
        for index, (chunk, previous) in enumerate(
            zip(change.added, change.previous_ids, strict=True)
        ):
            self._prev[chunk.id] = previous
            if chunk.id in unsent:
                self._of[chunk.id] = ()
                continue
            self._add(change.added, index, self._anchor(previous), events)
        for replacement in change.replaced:
            new = replacement.new
            if new.id in added_ids or new.id in gone:
                continue
            first = replacement.old[0]
            self._prev[new.id] = self._prev.get(first.id)
            held = [i for i in self._of.get(first.id, ()) if i in self._items]
            anchor = held[-1] if held else self._anchor(self._prev.get(first.id))
            self._add((new,), 0, anchor, events)
        leaving = [e for e in change.evicted if e.reason is not Reason.REFRESHED]
        for eviction in leaving:
            chunk = eviction.chunk
            if chunk.id in unsent:
                continue
            if eviction.reason is Reason.OVERSIZE and chunk.meta.item_id is None:
                continue  # never in the session
            if eviction.reason is Reason.INTERRUPTED and kept & set(
                self._of.get(chunk.id, ())
            ):
                continue  # the truncated item stays
            self._drop(chunk, events)
        for replacement in change.replaced:
            for chunk in replacement.old:
                if chunk.id not in unsent:
                    self._drop(chunk, events)
        if event_ids:
            for index, event in enumerate(events):
                event["event_id"] = _event_id(index, event)
        return events

    def _anchor(self, previous: str | None) -> str | None:
        """The held item a chunk after ``previous`` goes after; None: the end."""
        start, seen = previous, set()
        while previous is not None and previous not in seen:
            seen.add(previous)
            held = [i for i in self._of.get(previous, ()) if i in self._items]
            if held:
                if start is not None and start != previous:
                    self._prev[start] = previous  # path compression
                return held[-1]
            if previous not in self._prev:
                return None  # before this mirror's time: append at the end
            previous = self._prev[previous]
        return "root"

    def _bind(self, chunk: Chunk) -> None:
        server = chunk.meta.item_id
        if server is None or chunk.id in self._of:
            return
        if not is_session_item(chunk) or server in self._dead:
            return
        call_id = chunk.meta.call_id if chunk.kind is Kind.TOOL_CALL else None
        if server not in self._items:
            self._items[server] = call_id
            if call_id is not None:
                self._calls[call_id] = self._calls.get(call_id, 0) + 1
        self._of[chunk.id] = (server,)

    def _add(
        self,
        chunks: Sequence[Chunk],
        index: int,
        anchor: str | None,
        events: list[dict[str, Any]],
    ) -> None:
        chunk = chunks[index]
        server = chunk.meta.item_id
        if server is not None:
            return  # the server created it (bound above): never created again
        items = _items(chunks, index)
        if (
            len(items) == 1
            and items[0]["type"] == "function_call_output"
            and items[0]["call_id"] not in self._calls
        ):
            # Its call is not in the session (evicted, or never sent): a call of
            # its own, as for a result whose call left the window.
            call_id = "call_" + chunk.id
            items = [
                {
                    "id": derived_item_id(chunk.id),
                    "type": "function_call",
                    "call_id": call_id,
                    "name": tool_name(chunk.meta.tool_name, UNKNOWN_TOOL),
                    "arguments": "{}",
                },
                {**items[0], "call_id": call_id},
            ]
        for item in items:
            event: dict[str, Any] = {"type": "conversation.item.create"}
            if anchor is not None:
                event["previous_item_id"] = anchor
            event["item"] = item
            events.append(event)
            anchor = item["id"]
            made: str | None = None
            if item["type"] == "function_call":
                made = item["call_id"]
                self._calls[item["call_id"]] = self._calls.get(item["call_id"], 0) + 1
            self._items[item["id"]] = made
        self._of[chunk.id] = tuple(item["id"] for item in items)

    def _drop(self, chunk: Chunk, events: list[dict[str, Any]]) -> None:
        for item_id in self._of.pop(chunk.id, ()):
            if item_id not in self._items:
                continue
            call_id = self._items.pop(item_id)
            if call_id is not None:
                self._calls[call_id] -= 1
                if not self._calls[call_id]:
                    del self._calls[call_id]
            if chunk.meta.item_id == item_id:
                self._dead.add(item_id)
            events.append(_delete(item_id))

    def _truncate(
        self,
        before: Chunk,
        after: Chunk,
        audio_end_ms: int,
        events: list[dict[str, Any]],
        kept: set[str],
    ) -> None:
        if before.role is not Role.ASSISTANT or before.kind is not Kind.TURN:
            raise InvalidArgumentError(
                f"cannot truncate chunk {before.id!r}: it is a {before.role.value} "
                f"{before.kind.value}, and only assistant turns can be truncated"
            )
        held = [i for i in self._of.get(before.id, ()) if i in self._items]
        if not held:
            return
        item_id = held[0]
        if before.meta.item_id == item_id:
            # The server's own response: cut its audio where playback stopped,
            # never past the audio's end (the server rejects that).
            start, end = before.meta.start_ms, before.meta.end_ms
            heard = max(0, audio_end_ms)
            if start is not None and end is not None:
                heard = min(heard, end - start)
            if heard == 0:
                self._drop(before, events)
                return
            kept.add(item_id)
            events.append(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": 0,
                    "audio_end_ms": heard,
                }
            )
            return
        # A text item this client created has no audio to truncate: put the heard
        # text right after it, then delete it.
        new_id = _recut_id(before.id, after.text)
        item = _message(after, "assistant", "output_text")
        item["id"] = new_id
        events.append(
            {
                "type": "conversation.item.create",
                "previous_item_id": item_id,
                "item": item,
            }
        )
        self._items[new_id] = None
        self._drop(before, events)
        self._of[before.id] = (new_id,)
        kept.add(new_id)


def _recut_id(chunk_id: str, text: str) -> str:
    digest = hashlib.blake2b(
        (chunk_id + "\x00" + text).encode("utf-8", "surrogatepass"),
        digest_size=14,
        person=b"ctxchunk.tr",
    )
    return "tr_" + digest.hexdigest()
