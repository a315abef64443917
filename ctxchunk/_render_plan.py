"""The provider-neutral plan every whole-window renderer follows.

:func:`plan` turns a window's chunks, in order, into a list of entries: text said
under a role (:class:`Text`), tool calls (:class:`Call`) and their results
(:class:`Result`). The plan holds these invariants, which every wire format needs:

- every :class:`Call` is answered: a maximal run of calls is immediately followed by
  a run of results holding exactly one result per call of the run, and nothing else;
- every :class:`Result` belongs to such a run (no orphans);
- call ids are unique and at most 64 characters of ``[A-Za-z0-9_-]``: a call's own
  valid ``meta.call_id``, else ``"call_"`` and a chunk id, so the same window always
  gives the same ids, and the ones :func:`ctxchunk.to_openai_chat` gives;
- text entries come only from instruction, turn and summary chunks; document and tool
  chunks only ever become calls and results.

This module is machinery for :mod:`ctxchunk.render`; nothing here is public.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol

import attrs

from ctxchunk import _openai_chat
from ctxchunk._checks import check_items
from ctxchunk._openai_chat import DOCUMENT_TOOL, SUMMARY_TOOL, UNKNOWN_TOOL
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidTypeError
from ctxchunk.roles import Kind, Role

_CALL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# OpenAI and Anthropic both accept call ids and tool names of 1 to 64 characters of
# [A-Za-z0-9_-] (OpenAI function-calling guide; Anthropic tool_use id pattern).


class HasChunks(Protocol):
    """Anything that exposes its content as an ordered ``chunks`` sequence."""

    @property
    def chunks(self) -> Sequence[Chunk]:
        """The chunks, oldest first."""
        ...


@attrs.frozen
class Text:
    """Text the model sees under ``role``, from one turn, instruction or summary."""

    role: Literal["system", "user", "assistant"]
    text: str
    chunks: tuple[Chunk, ...]


@attrs.frozen
class Call:
    """A tool call: ``arguments`` is the JSON text the model would have produced."""

    call_id: str
    name: str
    arguments: str
    chunks: tuple[Chunk, ...]


@attrs.frozen
class Result:
    """The output of the call with the same ``call_id``."""

    call_id: str
    output: str
    chunks: tuple[Chunk, ...]


Entry = Text | Call | Result


def chunks_of(window_or_chunks: HasChunks | Sequence[Chunk]) -> tuple[Chunk, ...]:
    """Return the chunks of a window, or check and return a sequence of chunks."""
    source: object = getattr(window_or_chunks, "chunks", window_or_chunks)
    if callable(source):
        source = source()
    if isinstance(source, (str, bytes, Chunk, Mapping)) or not isinstance(
        source, Iterable
    ):
        raise InvalidTypeError(
            f"expected a window (an object with .chunks) or a sequence of Chunk, got "
            f"{type(window_or_chunks).__name__}: {window_or_chunks!r:.80}"
        )
    return tuple(check_items("chunks", source, Chunk))


def tool_name(name: str | None, fallback: str) -> str:
    """Return ``name`` made valid as a tool name, or ``fallback`` when there is none.

    The same rule as :func:`ctxchunk.to_openai_chat`: characters outside
    ``[A-Za-z0-9_-]`` become ``_`` and the name is cut to 64 characters.
    """
    return _openai_chat._tool_name(name, fallback)


def json_text(value: object) -> str:
    """Return compact, standard JSON text (no NaN), as models emit tool arguments."""
    return _openai_chat._json(value)


def document_arguments(chunk: Chunk) -> str:
    """Return the :data:`DOCUMENT_TOOL` arguments that locate a document chunk.

    Keys, in this order and only when known: ``url``, ``title``, ``headings`` (the
    heading path), and always ``source`` (what
    :meth:`~ctxchunk.window.ContextWindow.read` takes), ``part`` and
    ``parts`` (0-based, as on :class:`~ctxchunk.chunk.Chunk`); the same arguments
    :func:`ctxchunk.to_openai_chat` renders.
    """
    return _openai_chat._document_arguments(chunk)


def derived_item_id(chunk_id: str) -> str:
    """Return the id of the extra ``function_call`` item a Realtime pair needs.

    ``"fc_"`` and 28 hex digits (31 characters, within the Realtime limit of 32),
    a pure function of the chunk id, so an eviction can delete the item it made.
    """
    digest = hashlib.blake2b(
        chunk_id.encode("utf-8", "surrogatepass"),
        digest_size=14,
        person=b"ctxchunk.fc",
    )
    return "fc_" + digest.hexdigest()


def session_call_id(call_id: str | None, fallback: str) -> str:
    """Return the Realtime ``call_id`` for a chunk's ``meta.call_id``.

    A valid id is kept as is, so it matches the call the model made in the session;
    any other is replaced by a digest of it; ``None`` gives ``"call_" + fallback``.
    """
    if call_id is None:
        return "call_" + fallback
    if _CALL_ID_RE.fullmatch(call_id):
        return call_id
    digest = hashlib.blake2b(
        call_id.encode("utf-8", "surrogatepass"), digest_size=14, person=b"ctxchunk.ci"
    )
    return "call_" + digest.hexdigest()


# -- planning ---------------------------------------------------------------------


@attrs.frozen
class _Unit:
    """Consecutive parts of one source, rendered as one piece."""

    chunks: tuple[Chunk, ...]

    @property
    def first(self) -> Chunk:
        return self.chunks[0]

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chunks)


def _continues(prev: Chunk, chunk: Chunk) -> bool:
    # The parts of one tool call or result are joined back, and only when they follow
    # each other exactly; every other chunk is a piece of its own, as in Chat.
    return (
        chunk.kind in (Kind.TOOL_CALL, Kind.TOOL_RESULT)
        and chunk.source == prev.source
        and chunk.kind is prev.kind
        and chunk.role is prev.role
        and chunk.parts == prev.parts
        and chunk.part == prev.part + 1
    )


def _units(chunks: Sequence[Chunk]) -> list[_Unit]:
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups and _continues(groups[-1][-1], chunk):
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    return [_Unit(tuple(g)) for g in groups]


class _Ids:
    """Hands out call ids, unique within one rendering.

    A call keeps its own ``meta.call_id`` when that is a valid id not used yet (as
    :func:`ctxchunk.to_openai_chat` does); otherwise, and for every call the renderer
    makes up, the id is ``"call_"`` and the chunk id.
    """

    def __init__(self) -> None:
        self.used: set[str] = set()

    def new(self, chunk: Chunk, *, own: bool = False) -> str:
        call_id = chunk.meta.call_id
        if (
            own
            and call_id is not None
            and _CALL_ID_RE.fullmatch(call_id)
            and call_id not in self.used
        ):
            self.used.add(call_id)
            return call_id
        base = "call_" + chunk.id
        call_id, n = base, 1
        while call_id in self.used:
            n += 1
            call_id = f"{base}_{n}"
        self.used.add(call_id)
        return call_id


_TEXT_ROLES: dict[Role, Literal["system", "user", "assistant"]] = {
    Role.SYSTEM: "system",
    Role.USER: "user",
    Role.ASSISTANT: "assistant",
}


def plan(chunks: Sequence[Chunk]) -> list[Entry]:
    """Return the entries a whole-window rendering of ``chunks`` is made of.

    Tool results are paired with the nearest earlier call that has the same
    ``meta.call_id``; a run of consecutive calls (parallel calls) is followed by all
    their results, pulled up from wherever they stand. A call with no result in the
    window is left out; a result with no call, a document chunk and a ``tool``-role
    summary each get a call of their own, named after the result's tool (or
    :data:`UNKNOWN_TOOL`), :data:`DOCUMENT_TOOL` or :data:`SUMMARY_TOOL`.
    """
    units = _units(chunks)
    results_of: dict[int, list[int]] = {}
    paired: set[int] = set()
    last_call: dict[str, int] = {}
    for index, unit in enumerate(units):
        call_id = unit.first.meta.call_id
        if unit.first.kind is Kind.TOOL_CALL:
            if call_id is not None:
                last_call[call_id] = index
        elif unit.first.kind is Kind.TOOL_RESULT and call_id in last_call:
            results_of.setdefault(last_call[call_id], []).append(index)
            paired.add(index)

    ids = _Ids()
    entries: list[Entry] = []
    index = 0
    while index < len(units):
        unit = units[index]
        chunk = unit.first
        if chunk.kind is Kind.TOOL_CALL:
            end = index
            while end < len(units) and units[end].first.kind is Kind.TOOL_CALL:
                end += 1
            _exchange(units, range(index, end), results_of, ids, entries)
            index = end
            continue
        index += 1
        if chunk.kind is Kind.TOOL_RESULT:
            if index - 1 not in paired:
                name = tool_name(chunk.meta.tool_name, UNKNOWN_TOOL)
                _pair(entries, ids, chunk, name, "{}", unit.text, unit.chunks)
        elif chunk.kind is Kind.DOCUMENT:
            args = document_arguments(chunk)
            name = tool_name(chunk.meta.tool_name, DOCUMENT_TOOL)
            own = chunk.meta.call_id is not None
            _pair(entries, ids, chunk, name, args, chunk.text, unit.chunks, own=own)
        elif chunk.role is Role.TOOL:  # a tool-role summary
            _pair(entries, ids, chunk, SUMMARY_TOOL, "{}", unit.text, unit.chunks)
        else:
            entries.append(Text(_TEXT_ROLES[chunk.role], unit.text, unit.chunks))
    return entries


def _pair(
    entries: list[Entry],
    ids: _Ids,
    chunk: Chunk,
    name: str,
    arguments: str,
    output: str,
    chunks: tuple[Chunk, ...],
    *,
    own: bool = False,
) -> None:
    call_id = ids.new(chunk, own=own)
    entries.append(Call(call_id, name, arguments, ()))
    entries.append(Result(call_id, output, chunks))


def _exchange(
    units: Sequence[_Unit],
    run: range,
    results_of: dict[int, list[int]],
    ids: _Ids,
    entries: list[Entry],
) -> None:
    answered = [i for i in run if i in results_of]
    call_ids = {i: ids.new(units[i].first, own=True) for i in answered}
    for i in answered:
        unit = units[i]
        name = tool_name(unit.first.meta.tool_name, UNKNOWN_TOOL)
        entries.append(Call(call_ids[i], name, unit.text, unit.chunks))
    # Results in the order they arrived; several results for one call are joined.
    for i in sorted(answered, key=lambda call: results_of[call][0]):
        parts = [units[r] for r in results_of[i]]
        output = "".join(u.text for u in parts)
        chunks = tuple(c for u in parts for c in u.chunks)
        entries.append(Result(call_ids[i], output, chunks))
