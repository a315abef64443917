"""The context window engine: a token budget kept one chunk at a time.

A :class:`ContextWindow` holds pins, turns, documents and tool calls as chunks. Every
update is cut into chunks of at most ``chunk_tokens`` tokens and admitted one chunk at
a time; before each admission the window's policy (see :mod:`ctxchunk.policies`)
frees exactly the room that chunk needs, so a large update slopes the history away
instead of dropping it all at once. Every chunk that leaves goes to the archive, with
the reason, and every operation returns a :class:`~ctxchunk.change.Change`.

How it works:

1. The window is a list of *units*, each kept or evicted whole: one chunk, or a tool
   group (the calls of one assistant message and all their results). A unit's cost
   is what its Chat Completions messages add to a request
   (:func:`ctxchunk._openai_chat.unit_cost`); ``tokens`` is the request's reply
   priming plus the units' costs, kept as a running sum, so it always equals
   ``count_messages(to_openai_chat(window))`` without recounting anything.
2. Units sit in doubly linked lists (all units, per role, tool groups, turns), so an
   eviction anywhere is O(1) and a policy finds the oldest candidate without scanning
   the history: adding a chunk is amortized O(1) in the history's length.
3. An operation first validates its input and builds every chunk, then applies them
   while journaling each change; if anything fails (a policy's bug, a pin that does
   not fit), the journal is unwound, so the window is exactly as it was.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ctxchunk import _openai_chat
from ctxchunk._checks import check_int, check_str
from ctxchunk.change import (
    Change,
    Eviction,
    Reason,
    Replacement,
    Truncation,
    is_session_item,
)
from ctxchunk.chunk import Chunk, ChunkMeta, chunks_of_text, make_chunk_id
from ctxchunk.documents import Format, chunk_document
from ctxchunk.exceptions import (
    BudgetError,
    ChunkError,
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    PolicyError,
    StateError,
    UnknownItemError,
)
from ctxchunk.policies import (
    DropOldest,
    Edit,
    Evict,
    Policy,
    Replace,
    UnitView,
    policy_from_dict,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import Tokenizer, get_tokenizer
from ctxchunk.transcript import chunk_transcript

__all__ = ["MS_PER_WORD", "ContextWindow"]

MS_PER_WORD = 400
"""Speaking time per word assumed when an interrupted turn has neither word timings nor
a duration: 150 words a minute, a common conversational speaking rate."""

_STATE_FORMAT = "ctxchunk.window/1"
_WORD = re.compile(r"\S+")
_SEQ = itertools.count()
"""Creation order of units. Tool groups are only ever created at the window's tail,
so among groups it is also window order."""


class _Unit:
    """One eviction unit: a chunk, or a tool group of calls and their results."""

    __slots__ = ("chunks", "group", "kind", "role", "seq", "tokens")

    def __init__(self, chunks: tuple[Chunk, ...], tokens: int) -> None:
        self.chunks = chunks
        self.tokens = tokens
        self.seq = next(_SEQ)
        first = chunks[0]
        self.group = first.kind is Kind.TOOL_CALL
        self.kind = first.kind
        self.role = first.role

    @property
    def pinned(self) -> bool:
        return self.chunks[0].pinned

    @property
    def source(self) -> str:
        return self.chunks[0].source

    def result_tools(self) -> set[str | None]:
        """The tool names of the unit's tool results."""
        return {c.meta.tool_name for c in self.chunks if c.kind is Kind.TOOL_RESULT}

    def __repr__(self) -> str:
        return f"_Unit({[c.id for c in self.chunks]}, tokens={self.tokens})"


class _DList:
    """An ordered set of units with O(1) append, insert-after and removal."""

    __slots__ = ("head", "nxt", "prv", "tail")

    def __init__(self) -> None:
        self.head: _Unit | None = None
        self.tail: _Unit | None = None
        self.prv: dict[_Unit, _Unit | None] = {}
        self.nxt: dict[_Unit, _Unit | None] = {}

    def __contains__(self, unit: object) -> bool:
        return unit in self.prv

    def __len__(self) -> int:
        return len(self.prv)

    def insert_after(self, unit: _Unit, after: _Unit | None) -> None:
        """Insert ``unit`` after ``after``, or first when ``after`` is None."""
        nxt = self.head if after is None else self.nxt[after]
        self.prv[unit] = after
        self.nxt[unit] = nxt
        if after is None:
            self.head = unit
        else:
            self.nxt[after] = unit
        if nxt is None:
            self.tail = unit
        else:
            self.prv[nxt] = unit

    def append(self, unit: _Unit) -> None:
        self.insert_after(unit, self.tail)

    def remove(self, unit: _Unit) -> _Unit | None:
        """Remove ``unit`` and return the unit that was before it."""
        before = self.prv.pop(unit)
        after = self.nxt.pop(unit)
        if before is None:
            self.head = after
        else:
            self.nxt[before] = after
        if after is None:
            self.tail = before
        else:
            self.prv[after] = before
        return before

    def __iter__(self) -> Iterator[_Unit]:
        unit = self.head
        while unit is not None:
            nxt = self.nxt[unit]
            yield unit
            # The unit just yielded may have been removed meanwhile; then carry on
            # from the unit that followed it.
            unit = self.nxt.get(unit, nxt)

    def reversed(self) -> Iterator[_Unit]:
        unit = self.tail
        while unit is not None:
            yield unit
            unit = self.prv.get(unit)


class _View:
    """The read-only :class:`~ctxchunk.policies.WindowView` a policy gets."""

    __slots__ = ("_w",)

    def __init__(self, window: ContextWindow) -> None:
        self._w = window

    @property
    def capacity(self) -> int:
        return self._w._capacity

    @property
    def tokens(self) -> int:
        return self._w._tokens

    @property
    def free(self) -> int:
        return self._w._capacity - self._w._tokens

    @property
    def chunk_tokens(self) -> int:
        return self._w._chunk_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        return self._w._tokenizer

    def candidates(self, role: Role | None = None) -> Iterator[_Unit]:
        w = self._w
        units = w._main if role is None else w._roles.get(role)
        if units is None:
            return
        for unit in units:
            if w._evictable(unit):
                yield unit

    def following(self, unit: object) -> _Unit | None:
        if not isinstance(unit, _Unit) or unit not in self._w._main:
            return None
        return self._w._main.nxt[unit]

    def evictable(self, unit: object) -> bool:
        return (
            isinstance(unit, _Unit)
            and unit in self._w._main
            and self._w._evictable(unit)
        )

    def tool_groups(
        self, *, unedited: bool = False, exclude_tools: Collection[str] = ()
    ) -> Iterator[_Unit]:
        w = self._w
        if not exclude_tools:
            return iter(w._fresh if unedited else w._groups)
        if not unedited:
            return (u for u in w._groups if u.result_tools() - set(exclude_tools))
        # Groups whose results all come from excluded tools are never visited, so
        # a window full of them costs nothing here.
        lists = [
            lst
            for name, lst in w._fresh_by_tool.items()
            if lst and name not in exclude_tools
        ]
        if len(lists) == 1:
            return iter(lists[0])
        return _distinct(heapq.merge(*lists, key=_seq_of))

    def newest_tool_groups(self, count: int) -> list[UnitView]:
        out: list[UnitView] = []
        for unit in self._w._groups.reversed():
            if len(out) >= count:
                break
            out.append(unit)
        return out

    def cost_of(self, chunks: Sequence[Chunk]) -> int:
        return self._w._cost(chunks) if chunks else 0


@attrs.define
class _Op:
    """What the operation under way has done so far, for its Change and its undo."""

    tokens_before: int
    added: list[Chunk] = attrs.Factory(list)
    previous: list[str | None] = attrs.Factory(list)
    evicted: list[Eviction] = attrs.Factory(list)
    truncated: list[Truncation] = attrs.Factory(list)
    replaced: list[Replacement] = attrs.Factory(list)
    instructions: bool = False
    undo: list[Callable[[], None]] = attrs.Factory(list)
    oversized: set[str] = attrs.Factory(set)


class ContextWindow:
    """A token-budgeted context window fed one chunk at a time.

    Invariants (checked by :meth:`check_valid`, each a property test):

    - ``tokens`` equals ``count_messages(to_openai_chat(window))`` for the window's
      encoding and is at most ``budget - reserve_tokens``;
    - every chunk holds at most ``chunk_tokens`` tokens;
    - every chunk ever added is in the window or in the archive; the window keeps the
      order chunks were added in (a tool result stands with its call);
    - pinned chunks and the chunks of the ``protect_recent_turns`` most recent turns
      are never evicted by a policy;
    - a tool call and its results are kept or evicted together.

    Args:
        budget: The most tokens the rendered request may hold, at least 1.
        policy: What leaves when a chunk needs room (see :mod:`ctxchunk.policies`).
        chunk_tokens: The largest chunk; longer content is split.
        tokenizer: An encoding or model name, or a :class:`~ctxchunk.tokens.Tokenizer`.
        reserve_tokens: Tokens kept free for the reply or tool definitions.
        protect_recent_turns: How many of the most recent user and assistant turns
            (including the one being added) no policy may evict.

    Raises:
        BudgetError: the budget, reserve or chunk size cannot work together.
        InvalidTypeError: an argument has the wrong type.

    >>> window = ContextWindow(60, chunk_tokens=20)
    >>> _ = window.pin("You are terse.")
    >>> change = window.add_turn("user", "What is the capital of Norway? " * 4)
    >>> [c.role.value for c in window.chunks], window.tokens <= 60
    (['system', 'user', 'user'], True)
    """

    def __init__(
        self,
        budget: int,
        *,
        policy: Policy | None = None,
        chunk_tokens: int = 2000,
        tokenizer: str | Tokenizer = "o200k_base",
        reserve_tokens: int = 0,
        protect_recent_turns: int = 2,
    ) -> None:
        budget = check_int("budget", budget, 1)
        chunk_tokens = check_int("chunk_tokens", chunk_tokens, 1)
        reserve_tokens = check_int("reserve_tokens", reserve_tokens, 0)
        self._protect = check_int("protect_recent_turns", protect_recent_turns, 0)
        if policy is None:
            policy = DropOldest()
        if not callable(getattr(policy, "make_room", None)):
            raise InvalidTypeError(
                f"policy must have a make_room method (see ctxchunk.policies), got "
                f"{type(policy).__name__}: {policy!r:.80}"
            )
        self._tokenizer = get_tokenizer(tokenizer)
        self._fmt = _openai_chat.chat_format(self._tokenizer.name)
        capacity = budget - reserve_tokens
        if capacity < self._fmt.reply_priming + 1:
            raise BudgetError(
                f"budget={budget} minus reserve_tokens={reserve_tokens} leaves "
                f"{capacity} tokens, too few for any message; raise the budget"
            )
        if chunk_tokens > capacity:
            raise BudgetError(
                f"chunk_tokens={chunk_tokens} is above the room the budget leaves "
                f"({capacity} = budget - reserve_tokens); lower chunk_tokens"
            )
        self._budget = budget
        self._reserve = reserve_tokens
        self._capacity = capacity
        self._chunk_tokens = chunk_tokens
        self._policy = policy
        self._count: Callable[[str], int] = self._tokenizer.count
        self._tokens = self._fmt.reply_priming
        self._main = _DList()
        self._roles: dict[Role, _DList] = {role: _DList() for role in Role}
        self._groups = _DList()
        self._fresh = _DList()
        # The unedited groups again, per tool name of their results (a group is in
        # the list of each of its results' tools), in window order.
        self._fresh_by_tool: dict[str | None, _DList] = {}
        self._turns = _DList()
        self._by_id: dict[str, _Unit] = {}
        self._by_source: dict[str, dict[_Unit, None]] = {}
        self._calls: dict[str, _Unit] = {}
        self._open: _Unit | None = None
        self._archive: list[Eviction] = []
        self._next_index = 0
        self._op: _Op | None = None
        self._protected: set[str] = set()
        self._target: _Unit | None = None
        self._view = _View(self)

    # -- properties ------------------------------------------------------------------

    @property
    def budget(self) -> int:
        """The most tokens the rendered request may hold."""
        return self._budget

    @property
    def capacity(self) -> int:
        """``budget - reserve_tokens``: the most tokens the window itself holds."""
        return self._capacity

    @property
    def chunk_tokens(self) -> int:
        """The largest chunk the window holds."""
        return self._chunk_tokens

    @property
    def policy(self) -> Policy:
        """The truncation policy."""
        return self._policy

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer every count is made with."""
        return self._tokenizer

    @property
    def tokens(self) -> int:
        """The exact size of ``to_openai_chat(window)`` as a request, in tokens."""
        return self._tokens

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """Every chunk in the window, in window order."""
        return tuple(c for unit in self._main for c in unit.chunks)

    @property
    def archive(self) -> tuple[Eviction, ...]:
        """Every chunk that left the window, in the order it left, with the reason."""
        return tuple(self._archive)

    def render_units(self) -> Iterator[tuple[Chunk, ...]]:
        """Yield the chunks of each unit (kept or evicted whole), in window order."""
        for unit in self._main:
            yield unit.chunks

    def __len__(self) -> int:
        return sum(len(unit.chunks) for unit in self._main)

    def __repr__(self) -> str:
        return (
            f"ContextWindow(budget={self._budget}, tokens={self._tokens}, "
            f"units={len(self._main)}, policy={self._policy!r})"
        )

    # -- operations ------------------------------------------------------------------

    def pin(self, text: str, role: Role | str = "system") -> Change:
        """Add content that is never evicted: instructions, by default.

        Pins are admitted like any chunk (they may evict history to make room), but a
        pin that cannot fit even then is an error, not an oversize archive entry.

        Args:
            text: The content; split into chunks of at most ``chunk_tokens``.
            role: ``system`` (an instruction), ``user``/``assistant`` (a turn) or
                ``tool`` (pinned reference material, rendered as a document).

        Returns:
            What changed.

        Raises:
            BudgetError: the pin does not fit in the budget with the other pins and
                the protected turns; the window is left as it was.
            RoleError: ``role`` names no role.

        >>> w = ContextWindow(100, chunk_tokens=50)
        >>> w.pin("Answer in French.").added[0].pinned
        True
        """
        text = check_str("text", text)
        parsed = Role.parse(role)
        if not text.strip():
            raise InvalidArgumentError("text is blank; pin something to read")
        kind = {
            Role.SYSTEM: Kind.INSTRUCTION,
            Role.USER: Kind.TURN,
            Role.ASSISTANT: Kind.TURN,
            Role.TOOL: Kind.DOCUMENT,
        }[parsed]
        source = f"pin-{self._next_index}"
        chunks = chunks_of_text(
            text,
            self._chunk_tokens,
            role=parsed,
            kind=kind,
            source=source,
            pinned=True,
            tokenizer=self._tokenizer,
        )
        return self._run(chunks, advance=1)

    def add_turn(
        self,
        role: Role | str,
        text: str,
        *,
        speaker: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        id: str | None = None,
    ) -> Change:
        """Add one turn: what the user or the assistant said, or an instruction.

        Args:
            role: ``user``, ``assistant``, or ``system`` for an instruction that may
                be evicted (pin instructions that must stay).
            text: What was said; split into chunks of at most ``chunk_tokens``.
            speaker: Who said it, when there are several people.
            start_ms: When the turn started, from the session's start.
            end_ms: When it ended; with ``start_ms``, the turn's audio duration,
                which :meth:`interrupt` uses.
            id: The turn's id (its chunks' source); default ``turn-<n>``.

        Returns:
            What changed.

        Raises:
            TranscriptError: the turn is blank, of unknown role, or malformed.

        >>> w = ContextWindow(100, chunk_tokens=50)
        >>> w.add_turn("user", "Hello!").added[0].role.value
        'user'
        """
        fields = {"speaker": speaker, "start_ms": start_ms, "end_ms": end_ms, "id": id}
        turn: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        turn["role"] = role.value if isinstance(role, Role) else role
        turn["text"] = text
        return self.add_transcript([turn])

    def add_transcript(
        self, turns: Iterable[Mapping[str, Any]] | str | os.PathLike[str]
    ) -> Change:
        """Add turns in any format :func:`~ctxchunk.transcript.chunk_transcript` reads.

        Chat Completions messages, Realtime / Responses items and plain turns are
        accepted; tool calls become tool groups with their results.

        Raises:
            TranscriptError: a turn is malformed (nothing is added).

        >>> w = ContextWindow(200, chunk_tokens=100)
        >>> len(w.add_transcript([{"role": "user", "content": "Hi"}]).added)
        1
        """
        chunks = chunk_transcript(
            turns,
            self._chunk_tokens,
            tokenizer=self._tokenizer,
            first_index=self._next_index,
        )
        return self._run(chunks, advance=max(1, len(chunks)))

    def add_document(
        self,
        content: str | bytes,
        *,
        url: str | None = None,
        title: str | None = None,
        format: Format = "auto",
    ) -> Change:
        """Add a page or file as tool context (see :mod:`ctxchunk.documents`).

        Each chunk renders as a ``read_document`` call and its result, never as the
        user or the system speaking.

        Raises:
            DocumentError: the content cannot be read.
            ChunkError: the same document chunks are already in the window.
        """
        chunks = chunk_document(
            content,
            url=url,
            title=title,
            format=format,
            max_tokens=self._chunk_tokens,
            tokenizer=self._tokenizer,
        )
        return self._run(chunks, advance=1)

    def add_tool_call(
        self,
        name: str,
        arguments: str | Mapping[str, Any],
        result: str,
        call_id: str | None = None,
    ) -> Change:
        """Add a tool call and its result, kept or evicted together.

        Args:
            name: The tool's name.
            arguments: The call's arguments, as JSON text or a mapping.
            result: What the tool returned.
            call_id: The call's id; default a digest of the turn's position.

        Returns:
            What changed.

        >>> w = ContextWindow(200, chunk_tokens=100)
        >>> [c.kind.value for c in w.add_tool_call("clock", {}, "12:00").added]
        ['tool_call', 'tool_result']
        """
        name = check_str("name", name)
        if not name:
            raise InvalidArgumentError("name='' must name the tool that was called")
        if isinstance(arguments, Mapping):
            try:
                arguments = json.dumps(
                    arguments, ensure_ascii=False, separators=(",", ":")
                )
            except (TypeError, ValueError) as exc:
                raise InvalidTypeError(
                    f"arguments must be JSON data ({exc}); pass JSON text instead"
                ) from None
        arguments = check_str("arguments", arguments)
        result = check_str("result", result)
        source = f"turn-{self._next_index}"
        if call_id is None:
            call_id = "call_" + make_chunk_id(source, 0, name)[3:]
        call_id = check_str("call_id", call_id)
        if not call_id:
            raise InvalidArgumentError("call_id='' must be None or a non-empty id")
        chunks = self._split(
            arguments, Role.TOOL, Kind.TOOL_CALL, source + ".call", name, call_id
        )
        chunks += self._split(
            result, Role.TOOL, Kind.TOOL_RESULT, source + ".result", name, call_id
        )
        return self._run(chunks, advance=1, close_group=True)

    def add_chunks(self, chunks: Iterable[Chunk]) -> Change:
        """Add chunks made elsewhere, in order.

        Each chunk's count is checked against the window's tokenizer; pinned chunks
        are admitted as pins.

        Raises:
            ChunkError: a chunk's count is not its text's count under the window's
                tokenizer, it is larger than ``chunk_tokens``, or its id is already
                in the window.
            InvalidTypeError: an item is not a :class:`~ctxchunk.chunk.Chunk`.
        """
        if isinstance(chunks, Chunk):
            raise InvalidTypeError("chunks must be a list of chunks; wrap one in [...]")
        items = list(chunks)
        for index, chunk in enumerate(items):
            if not isinstance(chunk, Chunk):
                raise InvalidTypeError(
                    f"chunks[{index}] must be a Chunk, got {type(chunk).__name__}: "
                    f"{chunk!r:.80}"
                )
            actual = self._count(chunk.text)
            if actual != chunk.tokens:
                raise ChunkError(
                    f"chunks[{index}] ({chunk.id}) says tokens={chunk.tokens} but its "
                    f"text is {actual} tokens under {self._tokenizer.name}; make "
                    f"chunks with the window's tokenizer"
                )
        return self._run(items, advance=1)

    def remove(self, source: str) -> Change:
        """Delete every chunk of a turn or a document (a pin too) from the window.

        A tool call or result takes its whole group with it. The chunks go to the
        archive as ``removed``.

        Raises:
            UnknownItemError: no chunk in the window has that source.

        >>> w = ContextWindow(100, chunk_tokens=50)
        >>> _ = w.add_turn("user", "Oops", id="t1")
        >>> [e.reason.value for e in w.remove("t1").evicted]
        ['removed']
        """
        source = check_str("source", source)
        units = self._by_source.get(source)
        if not units:
            raise UnknownItemError(
                f"no chunk in the window has source {source!r:.80}; pass a turn id "
                f"or document source from window.chunks"
            )

        def apply(op: _Op) -> None:
            for unit in list(units):
                if unit.role is Role.SYSTEM and unit.pinned:
                    op.instructions = True
                self._detach(unit)
                for chunk in unit.chunks:
                    self._archive_add(op, chunk, Reason.REMOVED)

        return self._transaction(apply)

    def interrupt(
        self,
        item: str,
        heard_ms: int,
        *,
        words: Sequence[Mapping[str, Any] | Sequence[Any]] | None = None,
    ) -> Change:
        """Cut an assistant turn to what the user heard before interrupting.

        Args:
            item: The turn's id (its chunks' source) or the id of one of its chunks.
            heard_ms: How much of the turn's audio was played, in milliseconds from
                its start. 0 deletes the turn (the Realtime API's rule for an
                ``audio_end_ms`` of 0); a value beyond the turn's known duration
                means all of it was heard.
            words: Word timings, each ``{"word", "start_ms", "end_ms"}`` or a
                ``(word, start_ms, end_ms)`` tuple, relative to the turn's start. A
                word was heard when it ended by ``heard_ms``. Without them the cut
                follows the turn's speaking rate: its duration
                (``end_ms - start_ms``) over its words, or :data:`MS_PER_WORD`.

        Returns:
            What changed: ``truncated`` holds the cut chunk (its id unchanged) with
            the ``audio_end_ms`` to send; chunks that were not heard at all are in
            ``evicted`` with reason ``interrupted``. The text before the cut goes to
            the archive as ``interrupted``.

        Raises:
            UnknownItemError: ``item`` is not an assistant turn in the window.
            InvalidArgumentError: ``heard_ms`` is negative or a word is malformed.

        >>> w = ContextWindow(200, chunk_tokens=100)
        >>> _ = w.add_turn("assistant", "One two three four five six.", id="a1")
        >>> w.interrupt("a1", 800).truncated[0].after.text
        'One two'
        """
        item = check_str("item", item)
        heard_ms = check_int("heard_ms", heard_ms, 0)
        units = self._turn_units(item)
        chunks = [c for unit in units for c in unit.chunks]
        full = "".join(c.text for c in chunks)
        meta = chunks[0].meta
        duration = None
        if meta.start_ms is not None and meta.end_ms is not None:
            duration = meta.end_ms - meta.start_ms or None
        cut = self._heard_chars(full, heard_ms, words, duration)
        audio_end = heard_ms if duration is None else min(heard_ms, duration)
        if cut >= len(full.rstrip()):
            return self._transaction(lambda op: None)
        plan: list[tuple[_Unit, Chunk, str | None]] = []
        offset = 0
        for unit in units:
            chunk = unit.chunks[0]
            end = offset + len(chunk.text)
            if cut >= end:
                pass
            elif cut <= offset:
                plan.append((unit, chunk, None))
            else:
                plan.append((unit, chunk, chunk.text[: cut - offset]))
            offset = end

        def apply(op: _Op) -> None:
            for unit, chunk, kept in plan:
                if kept is None:
                    self._detach(unit)
                    self._archive_add(op, chunk, Reason.INTERRUPTED)
                    continue
                after = attrs.evolve(chunk, text=kept, tokens=self._count(kept))
                self._set_chunks(unit, (after,))
                self._archive_add(op, chunk, Reason.INTERRUPTED, report=False)
                op.truncated.append(Truncation(chunk, after, max(1, audio_end)))

        return self._transaction(apply)

    # -- JSON state -------------------------------------------------------------------

    def to_json(self) -> str:
        """Return the whole state as JSON: settings, policy, units and archive.

        :meth:`from_json` restores a window that behaves identically. A policy
        without ``to_dict`` is recorded as ``null``.
        """
        to_dict = getattr(self._policy, "to_dict", None)
        state = {
            "format": _STATE_FORMAT,
            "budget": self._budget,
            "chunk_tokens": self._chunk_tokens,
            "reserve_tokens": self._reserve,
            "protect_recent_turns": self._protect,
            "tokenizer": self._tokenizer.name,
            "policy": to_dict() if callable(to_dict) else None,
            "next_index": self._next_index,
            "open_group": None,
            "units": [[c.to_dict() for c in unit.chunks] for unit in self._main],
            "archive": [
                {"reason": e.reason.value, "chunk": e.chunk.to_dict()}
                for e in self._archive
            ],
        }
        for index, unit in enumerate(self._main):
            if unit is self._open:
                state["open_group"] = index
        return json.dumps(state, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(
        cls,
        data: str | bytes,
        *,
        policy: Policy | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> ContextWindow:
        """Restore a window saved with :meth:`to_json`.

        Args:
            data: The JSON text.
            policy: The policy to use; required when the saved one cannot be rebuilt
                (a policy of your own, or a custom summarizer).
            tokenizer: The tokenizer, when it is not a built-in encoding.

        Raises:
            StateError: ``data`` is not a saved window state.
        """
        try:
            state = json.loads(data)
            if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
                raise StateError(f"not a {_STATE_FORMAT} state")
            if policy is None:
                saved = state["policy"]
                if saved is None:
                    raise StateError(
                        "the saved policy has no to_dict; pass policy=... to from_json"
                    )
                policy = policy_from_dict(saved)
            window = cls(
                state["budget"],
                policy=policy,
                chunk_tokens=state["chunk_tokens"],
                tokenizer=tokenizer if tokenizer is not None else state["tokenizer"],
                reserve_tokens=state["reserve_tokens"],
                protect_recent_turns=state["protect_recent_turns"],
            )
            window._next_index = check_int("next_index", state["next_index"], 0)
            for raw in state["units"]:
                chunks = tuple(Chunk.from_dict(c) for c in raw)
                if not chunks:
                    raise StateError("a saved unit has no chunks")
                window._attach(_Unit(chunks, window._cost(chunks)), window._main.tail)
            open_group = state["open_group"]
            if open_group is not None:
                window._open = list(window._main)[open_group]
            window._archive = [
                Eviction(Chunk.from_dict(e["chunk"]), Reason(e["reason"]))
                for e in state["archive"]
            ]
        except StateError:
            raise
        except (CtxChunkError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise StateError(f"not a valid window state: {exc}") from None
        try:
            window.check_valid()
        except AssertionError as exc:
            raise StateError(f"the saved state is inconsistent: {exc}") from None
        return window

    # -- invariants -------------------------------------------------------------------

    def check_valid(self) -> None:
        """Check every invariant of the window; raise ``AssertionError`` if one fails.

        A debugging aid (and what the property tests call after every step): it
        walks the whole window, so it is O(n).
        """
        main = list(self._main)
        _require(len(main) == len(self._main), "main list length")
        total = self._fmt.reply_priming
        seen: set[str] = set()
        for unit in main:
            _require(bool(unit.chunks), "empty unit")
            cost = self._cost(unit.chunks)
            _require(cost == unit.tokens, f"stale cost {unit!r}: {cost}")
            total += cost
            for chunk in unit.chunks:
                _require(chunk.id not in seen, f"duplicate chunk id {chunk.id}")
                seen.add(chunk.id)
                _require(self._by_id.get(chunk.id) is unit, f"index of {chunk.id}")
                _require(unit in self._by_source[chunk.source], "source index")
                _require(
                    chunk.tokens <= self._chunk_tokens,
                    f"chunk {chunk.id} has {chunk.tokens} > chunk_tokens",
                )
            _require(unit in self._roles[unit.role], "role list")
            if unit.group:
                _require(unit in self._groups, "group list")
                calls = {
                    c.meta.call_id for c in unit.chunks if c.kind is Kind.TOOL_CALL
                }
                for chunk in unit.chunks:
                    _require(
                        chunk.kind in (Kind.TOOL_CALL, Kind.TOOL_RESULT),
                        "group holds a non-tool chunk",
                    )
                    if chunk.kind is Kind.TOOL_RESULT:
                        _require(chunk.meta.call_id in calls, "result without call")
            else:
                _require(len(unit.chunks) == 1, "a single unit holds one chunk")
        _require(total == self._tokens, f"tokens {self._tokens} != {total}")
        _require(self._tokens <= self._capacity, "over budget")
        _require(len(seen) == len(self._by_id), "stale id index")
        for lst in (*self._roles.values(), self._groups, self._fresh, self._turns):
            _require(all(u in self._main for u in lst), "list holds a dead unit")
        for name, lst in self._fresh_by_tool.items():
            expect = [u for u in self._fresh if name in u.result_tools()]
            _require(list(lst) == expect, f"unedited groups of tool {name!r}")
        _require(sum(len(r) for r in self._roles.values()) == len(main), "role lists")
        for role, lst in self._roles.items():
            expect = [u for u in main if u.role is role]
            _require(list(lst) == expect, f"order of the {role.value} list")
        _require(list(self._groups) == [u for u in main if u.group], "group order")
        turns = [u for u in main if u.kind is Kind.TURN and not u.pinned]
        _require(list(self._turns) == turns, "turn list")
        messages = _openai_chat.to_openai_chat(self)
        for index, message in enumerate(messages):
            if message["role"] == "tool":
                back = index - 1
                while messages[back]["role"] == "tool":
                    back -= 1
                ids = {c["id"] for c in messages[back].get("tool_calls") or ()}
                _require(message["tool_call_id"] in ids, "orphaned tool message")

    # -- machinery --------------------------------------------------------------------

    def _cost(self, chunks: Sequence[Chunk]) -> int:
        return _openai_chat.unit_cost(chunks, self._fmt, self._count)

    def _split(
        self,
        text: str,
        role: Role,
        kind: Kind,
        source: str,
        name: str,
        call_id: str,
    ) -> list[Chunk]:
        return chunks_of_text(
            text,
            self._chunk_tokens,
            role=role,
            kind=kind,
            source=source,
            meta=ChunkMeta(tool_name=name, call_id=call_id),
            tokenizer=self._tokenizer,
        )

    def _evictable(self, unit: _Unit) -> bool:
        if unit.pinned or unit is self._target:
            return False
        return not (unit.kind is Kind.TURN and unit.source in self._protected)

    def _turn_units(self, item: str) -> list[_Unit]:
        unit = self._by_id.get(item)
        source = unit.source if unit is not None else item
        units = [
            u
            for u in self._by_source.get(source, ())
            if u.kind is Kind.TURN and u.role is Role.ASSISTANT
        ]
        if not units:
            raise UnknownItemError(
                f"item={item!r:.80} is not an assistant turn in the window; pass the "
                f"turn's id (its chunks' source) or one of its chunk ids"
            )
        return units

    @staticmethod
    def _heard_chars(
        full: str,
        heard_ms: int,
        words: Sequence[Mapping[str, Any] | Sequence[Any]] | None,
        duration: int | None,
    ) -> int:
        if heard_ms == 0:
            return 0
        if words is not None:
            if isinstance(words, (str, bytes)):
                raise InvalidTypeError("words must be a list of word timings")
            cut = pos = 0
            for index, word in enumerate(words):
                text, end_ms = _word_timing(word, index)
                if end_ms > heard_ms:
                    break
                found = full.find(text, pos)
                if found < 0:
                    raise InvalidArgumentError(
                        f"words[{index}]={text!r:.40} is not in the turn's text after "
                        f"the words before it; give the turn's own words in order"
                    )
                pos = cut = found + len(text)
            return cut
        spans = [m.end() for m in _WORD.finditer(full)]
        if not spans:
            return 0
        if duration is not None:
            if heard_ms >= duration:
                return len(full)
            heard = len(spans) * heard_ms // duration
        else:
            heard = heard_ms // MS_PER_WORD
        if heard >= len(spans):
            return len(full)
        return 0 if heard == 0 else spans[heard - 1]

    def _transaction(self, apply: Callable[[_Op], None]) -> Change:
        if self._op is not None:
            raise StateError("a window operation is already under way (re-entrant)")
        op = _Op(tokens_before=self._tokens)
        saved = (self._open, self._next_index, len(self._archive), self._tokens)
        self._op = op
        try:
            apply(op)
        except BaseException:
            for undo in reversed(op.undo):
                undo()
            self._open, self._next_index, length, self._tokens = saved
            del self._archive[length:]
            raise
        finally:
            self._op = None
            self._protected = set()
            self._target = None
        return Change(
            added=tuple(op.added),
            evicted=tuple(op.evicted),
            truncated=tuple(op.truncated),
            replaced=tuple(op.replaced),
            previous_ids=tuple(op.previous),
            instructions_changed=op.instructions,
            tokens_before=op.tokens_before,
            tokens_after=self._tokens,
        )

    def _run(
        self, chunks: Sequence[Chunk], *, advance: int, close_group: bool = False
    ) -> Change:
        ids: set[str] = set()
        for chunk in chunks:
            if chunk.tokens > self._chunk_tokens:
                raise ChunkError(
                    f"chunk {chunk.id} has {chunk.tokens} tokens, more than "
                    f"chunk_tokens={self._chunk_tokens}; cut it with "
                    f"max_tokens={self._chunk_tokens}"
                )
            if chunk.id in ids or chunk.id in self._by_id:
                raise ChunkError(
                    f"chunk {chunk.id} (source {chunk.source!r:.60}) is already in "
                    f"the window; remove(source) it first to add it again"
                )
            ids.add(chunk.id)

        def apply(op: _Op) -> None:
            self._next_index += advance
            if close_group:
                self._open = None
            for chunk in chunks:
                self._admit(op, chunk)

        return self._transaction(apply)

    def _place(self, chunk: Chunk) -> _Unit | None:
        if chunk.kind is Kind.TOOL_CALL:
            group = self._open
            if group is not None and group in self._main:
                return group
            return None
        if chunk.kind is Kind.TOOL_RESULT and chunk.meta.call_id is not None:
            group = self._calls.get(chunk.meta.call_id)
            if group is not None and group in self._main:
                return group
        return None

    def _protect_for(self, chunk: Chunk) -> set[str]:
        wanted = self._protect
        out: set[str] = set()
        if wanted == 0:
            return out
        if chunk.kind is Kind.TURN and not chunk.pinned:
            out.add(chunk.source)
        for unit in self._turns.reversed():
            if len(out) >= wanted:
                break
            out.add(unit.source)
        return out

    def _admit(self, op: _Op, chunk: Chunk) -> None:
        if chunk.pinned and chunk.role is Role.SYSTEM:
            op.instructions = True
        if chunk.source in op.oversized and not chunk.pinned:
            self._archive_add(op, chunk, Reason.OVERSIZE)
            return
        group = self._place(chunk)
        if group is None:
            needed = self._cost((chunk,))
        else:
            needed = self._cost((*group.chunks, chunk)) - group.tokens
        self._protected = self._protect_for(chunk)
        self._target = group
        # The policy is asked even when the chunk fits: it may act on a trigger.
        for action in self._policy.make_room(self._view, needed):
            self._apply(op, action)
        if self._capacity - self._tokens < needed:
            # The backstop: whatever the policy left undone, oldest first.
            for unit in self._view.candidates():
                if self._capacity - self._tokens >= needed:
                    break
                self._evict(op, unit, Reason.POLICY)
        if self._capacity - self._tokens < needed:
            if chunk.pinned:
                raise BudgetError(
                    f"cannot pin {chunk.tokens} more tokens: the window holds "
                    f"{self._tokens} of {self._capacity} in pins and protected "
                    f"turns; raise the budget or pin less"
                )
            op.oversized.add(chunk.source)
            self._archive_add(op, chunk, Reason.OVERSIZE)
            if chunk.kind is Kind.TOOL_CALL:
                self._set_open(None)
            return
        if group is None:
            tail = self._main.tail
            op.previous.append(self._last_item_id(tail))
            unit = _Unit((chunk,), needed)
            self._attach(unit, tail)
        else:
            op.previous.append(self._last_item_id(group))
            unit = group
            self._set_chunks(group, (*group.chunks, chunk))
        op.added.append(chunk)
        has_results = any(c.kind is Kind.TOOL_RESULT for c in unit.chunks)
        self._set_open(
            unit if chunk.kind is Kind.TOOL_CALL and not has_results else None
        )

    def _apply(self, op: _Op, action: object) -> None:
        if isinstance(action, Evict):
            unit = self._live(action.unit, "Evict")
            self._evict(op, unit, Reason.POLICY)
        elif isinstance(action, Replace):
            units = [self._live(u, "Replace") for u in action.units]
            if not units:
                raise PolicyError("Replace needs at least one unit")
            for before, after in itertools.pairwise(units):
                if self._main.nxt[before] is not after:
                    raise PolicyError("Replace needs consecutive units")
            new = self._new_chunk(action.chunk, "Replace")
            if new.kind in (Kind.TOOL_CALL, Kind.TOOL_RESULT):
                raise PolicyError("Replace makes a standalone chunk, not tool traffic")
            cost = self._cost((new,))
            if cost > sum(u.tokens for u in units):
                raise PolicyError("a Replace must not make the window larger")
            anchor = self._main.prv[units[0]]
            gone: list[Chunk] = []
            for unit in units:
                self._detach(unit)
                for chunk in unit.chunks:
                    gone.append(chunk)
                    self._archive_add(op, chunk, Reason.REPLACED, report=False)
            self._attach(_Unit((new,), cost), anchor)
            op.replaced.append(Replacement(tuple(gone), new))
        elif isinstance(action, Edit):
            unit = self._live(action.unit, "Edit")
            new = self._new_chunk(action.new, "Edit")
            old = action.old
            positions = [i for i, c in enumerate(unit.chunks) if c in old]
            if not old or len(positions) != len(old):
                raise PolicyError("Edit.old must be chunks of Edit.unit")
            if any(
                new.kind is not c.kind or new.meta.call_id != c.meta.call_id
                for c in old
            ):
                raise PolicyError("Edit.new must keep the kind and call of Edit.old")
            chunks = list(unit.chunks)
            chunks[positions[0]] = new
            for index in reversed(positions[1:]):
                del chunks[index]
            if self._cost(chunks) > unit.tokens:
                raise PolicyError("an Edit must not make the window larger")
            self._set_chunks(unit, tuple(chunks))
            if unit in self._fresh:
                for lst in (self._fresh, *self._fresh_lists(unit)):
                    prior = lst.remove(unit)
                    op.undo.append(functools.partial(lst.insert_after, unit, prior))
            for chunk in old:
                self._archive_add(op, chunk, Reason.REPLACED, report=False)
            op.replaced.append(Replacement(tuple(old), new))
        else:
            raise PolicyError(
                f"a policy yielded {action!r:.80}; yield Evict, Replace or Edit"
            )

    def _live(self, unit: object, what: str) -> _Unit:
        if not isinstance(unit, _Unit) or unit not in self._main:
            raise PolicyError(f"{what} names a unit that is not in the window")
        if not self._evictable(unit):
            raise PolicyError(
                f"{what} names a pinned or protected unit ({unit.chunks[0].id}); "
                f"offer only units from view.candidates()"
            )
        return unit

    def _new_chunk(self, chunk: object, what: str) -> Chunk:
        if not isinstance(chunk, Chunk):
            raise PolicyError(f"{what} needs a Chunk, got {type(chunk).__name__}")
        if chunk.tokens > self._chunk_tokens or chunk.id in self._by_id:
            raise PolicyError(
                f"{what}'s chunk is larger than chunk_tokens or already in the window"
            )
        if chunk.pinned:
            raise PolicyError(f"{what}'s chunk must not be pinned")
        return chunk

    def _evict(self, op: _Op, unit: _Unit, reason: Reason) -> None:
        self._detach(unit)
        for chunk in unit.chunks:
            self._archive_add(op, chunk, reason)

    def _archive_add(
        self, op: _Op, chunk: Chunk, reason: Reason, *, report: bool = True
    ) -> None:
        eviction = Eviction(chunk, reason)
        self._archive.append(eviction)
        if report:
            op.evicted.append(eviction)

    def _set_open(self, unit: _Unit | None) -> None:
        self._open = unit

    def _lists_for(self, unit: _Unit) -> list[_DList]:
        lists = [self._roles[unit.role]]
        if unit.group:
            lists.append(self._groups)
        if unit.kind is Kind.TURN and not unit.pinned:
            lists.append(self._turns)
        return lists

    def _attach(self, unit: _Unit, after: _Unit | None) -> None:
        at_tail = after is self._main.tail
        self._main.insert_after(unit, after)
        placed = [self._main]
        for lst in self._lists_for(unit):
            if at_tail:
                lst.append(unit)
            else:
                lst.insert_after(unit, self._previous_in(lst, unit))
            placed.append(lst)
        if unit.group and at_tail:
            for lst in (self._fresh, *self._fresh_lists(unit, create=True)):
                lst.append(unit)
                placed.append(lst)
        self._index(unit, unit.chunks, add=True)
        self._tokens += unit.tokens
        op = self._op
        if op is not None:

            def undo() -> None:
                self._tokens -= unit.tokens
                self._index(unit, unit.chunks, add=False)
                for lst in placed:
                    lst.remove(unit)

            op.undo.append(undo)

    def _last_item_id(self, unit: _Unit | None) -> str | None:
        """The id of the last session item at or before ``unit`` in the window.

        Only pins and split tool calls are skipped, so the walk is short.
        """
        while unit is not None:
            for chunk in reversed(unit.chunks):
                if is_session_item(chunk):
                    return chunk.id
            unit = self._main.prv.get(unit)
        return None

    def _previous_in(self, lst: _DList, unit: _Unit) -> _Unit | None:
        # Only units that no policy may touch stand before an inserted one, so this
        # walk is short.
        before = self._main.prv[unit]
        while before is not None and before not in lst:
            before = self._main.prv[before]
        return before

    def _detach(self, unit: _Unit) -> None:
        lists = (self._main, *self._lists_for(unit), self._fresh)
        if unit.group:
            lists += tuple(self._fresh_lists(unit))
        removed = [(lst, lst.remove(unit)) for lst in lists if unit in lst]
        self._index(unit, unit.chunks, add=False)
        self._tokens -= unit.tokens
        op = self._op
        if op is not None:

            def undo() -> None:
                self._tokens += unit.tokens
                self._index(unit, unit.chunks, add=True)
                for lst, before in reversed(removed):
                    lst.insert_after(unit, before)

            op.undo.append(undo)

    def _set_chunks(self, unit: _Unit, chunks: tuple[Chunk, ...]) -> None:
        old_chunks, old_tokens = unit.chunks, unit.tokens
        fresh = unit.group and unit in self._fresh
        old_lists = self._fresh_lists(unit) if fresh else []
        self._index(unit, old_chunks, add=False)
        unit.chunks = chunks
        unit.tokens = self._cost(chunks)
        self._index(unit, chunks, add=True)
        self._tokens += unit.tokens - old_tokens
        moved: list[tuple[_DList, _Unit | None, bool]] = []
        if fresh:
            new_lists = self._fresh_lists(unit, create=True)
            moved.extend(
                (lst, lst.remove(unit), False)
                for lst in old_lists
                if lst not in new_lists
            )
            for lst in new_lists:
                if lst not in old_lists:
                    after = _seq_position(lst, unit)
                    lst.insert_after(unit, after)
                    moved.append((lst, after, True))
        op = self._op
        if op is not None:
            new_tokens = unit.tokens

            def undo() -> None:
                for lst, after, inserted in reversed(moved):
                    if inserted:
                        lst.remove(unit)
                    else:
                        lst.insert_after(unit, after)
                self._index(unit, chunks, add=False)
                unit.chunks, unit.tokens = old_chunks, old_tokens
                self._index(unit, old_chunks, add=True)
                self._tokens -= new_tokens - old_tokens

            op.undo.append(undo)

    def _fresh_lists(self, unit: _Unit, *, create: bool = False) -> list[_DList]:
        names = unit.result_tools()
        if create:
            return [self._fresh_by_tool.setdefault(n, _DList()) for n in names]
        return [self._fresh_by_tool[n] for n in names if n in self._fresh_by_tool]

    def _index(self, unit: _Unit, chunks: Iterable[Chunk], *, add: bool) -> None:
        for chunk in chunks:
            units = self._by_source.setdefault(chunk.source, {})
            call_id = chunk.meta.call_id
            if add:
                self._by_id[chunk.id] = unit
                units[unit] = None
                if unit.group and chunk.kind is Kind.TOOL_CALL and call_id:
                    self._calls[call_id] = unit
            else:
                if self._by_id.get(chunk.id) is unit:
                    del self._by_id[chunk.id]
                units.pop(unit, None)
                if not units:
                    del self._by_source[chunk.source]
                if call_id and self._calls.get(call_id) is unit:
                    del self._calls[call_id]


def _seq_of(unit: _Unit) -> int:
    return unit.seq


def _distinct(units: Iterator[_Unit]) -> Iterator[_Unit]:
    # A group in several per-tool lists comes out of the merge once per list, in a
    # row (no other unit shares its seq).
    last = None
    for unit in units:
        if unit is not last:
            yield unit
        last = unit


def _seq_position(lst: _DList, unit: _Unit) -> _Unit | None:
    """The unit of ``lst`` that ``unit`` goes after to keep ``lst`` in seq order.

    A result usually joins a recent group, so the walk from the tail is short.
    """
    after = lst.tail
    while after is not None and after.seq > unit.seq:
        after = lst.prv[after]
    return after


def _word_timing(
    word: Mapping[str, Any] | Sequence[Any], index: int
) -> tuple[str, int]:
    if isinstance(word, Mapping):
        text = word.get("word", word.get("text"))
        end_ms = word.get("end_ms")
    elif isinstance(word, Sequence) and not isinstance(word, str) and len(word) == 3:
        text, _, end_ms = word
    else:
        text = end_ms = None
    if not isinstance(text, str) or not text or isinstance(end_ms, bool):
        raise InvalidArgumentError(
            f"words[{index}]={word!r:.80} must be {{'word', 'start_ms', 'end_ms'}} "
            f"or (word, start_ms, end_ms)"
        )
    if not isinstance(end_ms, int) or end_ms < 0:
        raise InvalidArgumentError(
            f"words[{index}] end_ms={end_ms!r:.40} must be an int of at least 0"
        )
    return text, end_ms


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"ContextWindow invariant broken: {what}")
