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

import collections
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import pydantic

from ctxchunk import _openai_chat, _state
from ctxchunk._admission import Admission, _with_meta
from ctxchunk._checks import check_int, check_meta_str, check_str
from ctxchunk._interrupt import MS_PER_WORD, Words, cut_parts
from ctxchunk._ledger import Ledger, UnitList, View
from ctxchunk._ledger import Op as _Op
from ctxchunk._ledger import Unit as _Unit
from ctxchunk.archive import Archive, MemoryArchive
from ctxchunk.change import (
    Change,
    Eviction,
    Reason,
    Truncation,
)
from ctxchunk.chunk import Chunk, ChunkMeta, chunks_of_text, make_chunk_id
from ctxchunk.documents import Format, ResultFormat, chunk_document, reduce_tool_result
from ctxchunk.exceptions import (
    BudgetError,
    ChunkError,
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    StateError,
    UnknownItemError,
)
from ctxchunk.models import ModelSpec, budget_for, model_spec
from ctxchunk.policies import (
    Policy,
    Recommended,
    policy_from_dict,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import Tokenizer, get_tokenizer
from ctxchunk.transcript import chunk_transcript

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "HISTORY_SHARE",
    "MS_PER_WORD",
    "UPDATE_SHARE",
    "ContextWindow",
]

DEFAULT_CHUNK_TOKENS = 2000
"""The largest chunk by default (DESIGN: chunks of 2,000 tokens turn the cliff into a
slope at a small cost per chunk); smaller budgets get a quarter of their room."""

UPDATE_SHARE = 5
"""By default one update may take at most ``capacity // UPDATE_SHARE`` tokens of
history (a fifth of the window) and at most ``1 / HISTORY_SHARE`` of the unpinned
history in the window when it begins, so one step never loses more than a quarter of
the history there was (one unit may always go)."""

HISTORY_SHARE = 4
"""See :data:`UPDATE_SHARE`."""


class ContextWindow(Admission):
    """A token-budgeted context window fed one chunk at a time.

    Invariants (checked by :meth:`check_valid`, each a property test):

    - no operation takes more history than ``max_update_tokens`` per update (one
      unit at least), and a tool result leaves part by part;
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
        policy: What leaves when a chunk needs room (see :mod:`ctxchunk.policies`);
            default :class:`~ctxchunk.policies.Recommended`.
        chunk_tokens: The largest chunk; longer content is split. Default
            :data:`DEFAULT_CHUNK_TOKENS`, or a quarter of the room for small
            budgets; at most half the room.
        tokenizer: An encoding or model name, or a :class:`~ctxchunk.tokens.Tokenizer`.
        reserve_tokens: Tokens kept free for the reply or tool definitions.
        protect_recent_turns: How many of the most recent user and assistant turns
            (including the one being added, and turns that went to the archive
            without being admitted) no policy may evict.
        max_update_tokens: The most history one update (a turn, a document, a
            tool call with its result, the calls of one :meth:`add_tool_calls`,
            a pin) may take from the window;
            default a fifth of the room and a quarter of the unpinned history
            when the update begins (:data:`UPDATE_SHARE`). Once an update has
            taken that much, the rest of it goes to the archive without being
            admitted, and a marker in the window names it (:meth:`read` returns it);
            a pin that cannot fit within it raises :class:`BudgetError`. An update
            with nothing in the window yet (a user's turn: at any chunk) may always
            take one unit, however large. At least ``chunk_tokens``.
        max_update_tokens_by_role: The same cap for updates of one role, e.g.
            ``{"user": 6000}`` so a user's paste may take more than a web page
            (documents and tool output are role ``tool``).
        archive: Where what leaves the window is kept (see :mod:`ctxchunk.archive`);
            default a :class:`~ctxchunk.archive.MemoryArchive`.
        audio: A Realtime model's preset (:func:`ctxchunk.models.model_spec`): the
            window then counts a server audio item (a turn added with ``item_id``
            and ``start_ms``/``end_ms``) by its audio tokens, at the model's
            published rates by duration, instead of its transcript's text, so the
            budget holds for what the session really holds. :meth:`for_model`
            sets it for Realtime models.

    Raises:
        BudgetError: the budget, reserve or chunk size cannot work together.
        InvalidTypeError: an argument has the wrong type.
        InvalidArgumentError: ``audio`` is not a Realtime model.

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
        chunk_tokens: int | None = None,
        tokenizer: str | Tokenizer = "o200k_base",
        reserve_tokens: int = 0,
        protect_recent_turns: int = 2,
        max_update_tokens: int | None = None,
        max_update_tokens_by_role: Mapping[Role | str, int] | None = None,
        archive: Archive | None = None,
        audio: ModelSpec | None = None,
    ) -> None:
        budget = check_int("budget", budget, 1)
        if audio is not None:
            if not isinstance(audio, ModelSpec):
                raise InvalidTypeError(
                    f"audio must be a ModelSpec (ctxchunk.models.model_spec(name)) "
                    f"or None, got {type(audio).__name__}: {audio!r:.80}"
                )
            if not audio.realtime:
                raise InvalidArgumentError(
                    f"audio={audio.name!r} is not a Realtime model; its items carry "
                    f"no audio (pass a Realtime model's spec, or None)"
                )
        self._audio = audio
        if archive is None:
            archive = MemoryArchive()
        elif not isinstance(archive, Archive):
            raise InvalidTypeError(
                f"archive must be a ctxchunk.archive.Archive (MemoryArchive, "
                f"SQLiteArchive or your own), got {type(archive).__name__}: "
                f"{archive!r:.80}"
            )
        reserve_tokens = check_int("reserve_tokens", reserve_tokens, 0)
        self._protect = check_int("protect_recent_turns", protect_recent_turns, 0)
        if policy is None:
            policy = Recommended()
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
        if chunk_tokens is None:
            chunk_tokens = max(1, min(DEFAULT_CHUNK_TOKENS, capacity // 4))
        chunk_tokens = check_int("chunk_tokens", chunk_tokens, 1)
        if chunk_tokens > capacity // 2:
            raise BudgetError(
                f"chunk_tokens={chunk_tokens} is above half the room the budget "
                f"leaves ({capacity} = budget - reserve_tokens): a full chunk could "
                f"not fit beside any history; lower chunk_tokens to at most "
                f"{capacity // 2} or raise the budget"
            )
        if max_update_tokens is None:
            default_cap = max(chunk_tokens, capacity // UPDATE_SHARE)
        else:
            default_cap = _check_cap(
                "max_update_tokens", max_update_tokens, chunk_tokens
            )
        caps: dict[Role, int] = {}
        if max_update_tokens_by_role is not None:
            if not isinstance(max_update_tokens_by_role, Mapping):
                raise InvalidTypeError(
                    f"max_update_tokens_by_role must be a mapping of role to tokens, "
                    f"got {type(max_update_tokens_by_role).__name__}: "
                    f"{max_update_tokens_by_role!r:.80}"
                )
            for key, value in max_update_tokens_by_role.items():
                caps[Role.parse(key)] = _check_cap(
                    f"max_update_tokens_by_role[{key!r:.20}]", value, chunk_tokens
                )
        self._default_cap = default_cap
        self._auto_cap = max_update_tokens is None
        self._caps = caps
        self._budget = budget
        self._reserve = reserve_tokens
        self._capacity = capacity
        self._chunk_tokens = chunk_tokens
        self._policy = policy
        self._count: Callable[[str], int] = self._tokenizer.count
        self._ledger = Ledger(self._cost, self._fmt.reply_priming)
        self._open: _Unit | None = None
        self._store = archive
        # The id of the newest archived chunk, recorded in the JSON state.
        self._tail = _tail_of(archive, len(archive))
        # What the operation under way archived: handed to the store when it
        # commits, forgotten when it rolls back.
        self._pending: list[Eviction] = []
        # Counts changes to the archived parts (an undo counts too), so a cached
        # answer that depends on them knows when it may be stale.
        self._archive_epoch = 0
        self._next_index = 0
        self._view = View(
            self._ledger,
            capacity=self._capacity,
            chunk_tokens=self._chunk_tokens,
            tokenizer=self._tokenizer,
            part_gain=self._part_gain,
            mask_gain=self._mask_gain,
        )
        # What the operation under way archived, by source and part (first version;
        # no markers); the store holds the rest (see _archived_parts).
        self._pending_parts: dict[str, dict[int, Chunk]] = {}
        # The sources of the most recent turns, admitted or not, newest last.
        self._recent: collections.deque[str] = collections.deque(
            maxlen=max(1, self._protect)
        )

    @classmethod
    def for_model(
        cls,
        model: str | ModelSpec,
        *,
        reserve_output: int | None = None,
        **options: Any,
    ) -> ContextWindow:
        """A window sized and counted for a model: budget, tokenizer and audio rates.

        The budget is :func:`~ctxchunk.models.budget_for` the model (its context
        window less ``reserve_output``, by default its longest reply), the tokenizer
        its encoding, and for a Realtime model ``audio`` is set, so server audio
        items cost their audio tokens. The presets and their sources: docs/models.md.

        Args:
            model: A model name (``"gpt-realtime"``, ``"gpt-4o-2024-08-06"``; dated
                snapshots resolve to their model) or a
                :class:`~ctxchunk.models.ModelSpec`.
            reserve_output: Tokens kept out of the budget for the reply; default the
                model's ``max_output_tokens``.
            **options: Any other :class:`ContextWindow` argument (``policy``,
                ``chunk_tokens``, ``archive``...), but not ``budget``,
                ``tokenizer`` or ``audio``, which the model sets.

        Raises:
            InvalidArgumentError: an unknown model (the closest names are
                suggested), or ``budget``/``tokenizer``/``audio`` in ``options``.

        >>> window = ContextWindow.for_model("gpt-realtime")
        >>> window.budget, window.tokenizer.name, window.audio.name
        (27904, 'o200k_base', 'gpt-realtime')
        """
        spec = model if isinstance(model, ModelSpec) else model_spec(model)
        taken = sorted({"budget", "tokenizer", "audio"} & set(options))
        if taken:
            raise InvalidArgumentError(
                f"for_model sets {', '.join(taken)} from the model; build "
                f"ContextWindow(...) yourself to choose them"
            )
        return cls(
            budget_for(spec, reserve_output=reserve_output),
            tokenizer=spec.encoding,
            audio=spec if spec.realtime else None,
            **options,
        )

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
        return self._ledger.tokens

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """Every chunk in the window, in window order."""
        return tuple(c for unit in self._ledger.main for c in unit.chunks)

    @property
    def archive(self) -> tuple[Eviction, ...]:
        """Every chunk that left the window, in the order it left, with the reason.

        Read from :attr:`archive_store` (all of it: for a large persistent store,
        iterate the store instead).
        """
        return (*self._store, *self._pending)

    @property
    def audio(self) -> ModelSpec | None:
        """The Realtime model whose audio rates the window counts by, or None."""
        return self._audio

    @property
    def archive_store(self) -> Archive:
        """The store the archive is kept in (the ``archive`` argument)."""
        return self._store

    def render_units(self) -> Iterator[tuple[Chunk, ...]]:
        """Yield the chunks of each unit (kept or evicted whole), in window order."""
        for unit in self._ledger.main:
            yield unit.chunks

    def __len__(self) -> int:
        return sum(len(unit.chunks) for unit in self._ledger.main)

    def __repr__(self) -> str:
        return (
            f"ContextWindow(budget={self._budget}, tokens={self._ledger.tokens}, "
            f"units={len(self._ledger.main)}, policy={self._policy!r})"
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
        item_id: str | None = None,
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
            item_id: The id of the Realtime conversation item the server created
                for this turn (committed user audio, the model's response), kept in
                every chunk's ``meta.item_id``: Realtime events name the item by
                it and never create it again (see
                :class:`~ctxchunk.render.RealtimeMirror`). :meth:`interrupt`
                accepts it too.

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
        if item_id is None:
            return self.add_transcript([turn])
        item_id = _check_item_id(item_id)
        chunks = chunk_transcript(
            [turn],
            self._chunk_tokens,
            tokenizer=self._tokenizer,
            first_index=self._next_index,
        )
        chunks = [_with_meta(c, item_id=item_id) for c in chunks]
        return self._run(chunks, advance=max(1, len(chunks)))

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
        call_id: str | None = None,
        name: str | None = None,
    ) -> Change:
        """Add a page or file as tool context (see :mod:`ctxchunk.documents`).

        Each chunk renders as a tool call and its result, never as the user or the
        system speaking: a ``read_document`` call of ctxchunk's own, or, with
        ``call_id`` and ``name``, the model's own call that fetched the page.

        Reading a page again (the same ``url``, or the same content) never raises:
        the copy in the window leaves (reason ``refreshed``, reported first) and
        the new one is added at the newest position.

        Args:
            content: The page or file.
            url: Where it came from.
            title: Its title.
            format: See :func:`~ctxchunk.documents.chunk_document`.
            call_id: The id of the model's call that fetched it, kept on every
                chunk (``meta.call_id``) and rendered as the call's id.
            name: The name of the tool the model called, rendered as the call's
                name (default ``read_document``).

        Returns:
            What changed.

        Raises:
            DocumentError: the content cannot be read.

        >>> w = ContextWindow(400, chunk_tokens=100)
        >>> _ = w.add_document("Tea is a drink.", url="https://t.example/tea")
        >>> [e.reason.value for e in w.add_document("Tea is a drink.",
        ...  url="https://t.example/tea").evicted]
        ['refreshed']
        """
        if call_id is not None:
            call_id = check_str("call_id", call_id)
            if not call_id:
                raise InvalidArgumentError("call_id='' must be None or a call's id")
        if name is not None:
            name = check_str("name", name)
            if not name:
                raise InvalidArgumentError("name='' must be None or a tool's name")
        chunks = chunk_document(
            content,
            url=url,
            title=title,
            format=format,
            max_tokens=self._chunk_tokens,
            tokenizer=self._tokenizer,
        )
        if call_id is not None or name is not None:
            chunks = [_with_meta(c, call_id=call_id, tool_name=name) for c in chunks]
        sources = {c.source for c in chunks}
        # Only tool-role units can be documents: no scan of the whole history.
        stale = [
            unit
            for unit in self._ledger.roles[Role.TOOL]
            if unit.kind is Kind.DOCUMENT
            and not unit.pinned
            and unit.chunks[0].meta.marks is None
            and (
                unit.source in sources
                or (url is not None and unit.chunks[0].meta.url == url)
            )
        ]
        return self._run(chunks, advance=1, refresh=stale)

    def add_tool_call(
        self,
        name: str,
        arguments: str | Mapping[str, Any],
        result: str,
        call_id: str | None = None,
        *,
        item_id: str | None = None,
        format: ResultFormat | None = None,
    ) -> Change:
        """Add a tool call and its result, kept or evicted together.

        To add several calls the model made in one turn, use :meth:`add_tool_calls`.

        Args:
            name: The tool's name.
            arguments: The call's arguments, as JSON text or a mapping.
            result: What the tool returned.
            call_id: The call's id; default a digest of the turn's position.
            item_id: The id of the Realtime ``function_call`` item the server
                created for the model's call (see :meth:`add_turn`).
            format: None (the default) adds ``result`` as it is. ``"auto"``,
                ``"html"``, ``"json"``, ``"markdown"`` or ``"text"`` reduce it
                first with :func:`~ctxchunk.documents.reduce_tool_result` (an HTML
                page becomes its main content in Markdown form, JSON is written
                compactly); when that changes it, the raw result goes to the archive
                (reason ``reduced``, source ``<result source>.raw``, never in the
                window), where :meth:`read` and :meth:`recall` find it.

        Returns:
            What changed.

        Raises:
            DocumentError: ``format="json"`` and the result is not JSON, or an
                HTML result cannot be read.
            InvalidArgumentError: an unknown ``format``.

        >>> w = ContextWindow(200, chunk_tokens=100)
        >>> [c.kind.value for c in w.add_tool_call("clock", {}, "12:00").added]
        ['tool_call', 'tool_result']
        """
        return self.add_tool_calls(
            [
                {
                    "name": name,
                    "arguments": arguments,
                    "result": result,
                    "call_id": call_id,
                    "item_id": item_id,
                    "format": format,
                }
            ]
        )

    def add_tool_calls(self, calls: Sequence[Mapping[str, Any]]) -> Change:
        """Add the tool calls of one model turn and their results, as one group.

        The calls render as one assistant message (Chat: one message with several
        ``tool_calls``; Anthropic: several ``tool_use`` blocks), followed by their
        results; the group is kept or evicted together.

        Args:
            calls: Each ``{"name", "arguments", "result", "call_id"?, "item_id"?,
                "format"?}`` as :meth:`add_tool_call` takes them.

        Returns:
            What changed.

        Raises:
            InvalidArgumentError: no calls, a blank name, or two calls with one id.

        >>> w = ContextWindow(400, chunk_tokens=100)
        >>> ch = w.add_tool_calls([
        ...     {"name": "clock", "arguments": {}, "result": "12:00"},
        ...     {"name": "date", "arguments": {}, "result": "May 1"}])
        >>> [c.kind.value for c in ch.added]
        ['tool_call', 'tool_call', 'tool_result', 'tool_result']
        """
        if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Sequence):
            raise InvalidTypeError(
                f"calls must be a list of calls, got {type(calls).__name__}: "
                f"{calls!r:.80}"
            )
        if not calls:
            raise InvalidArgumentError("calls is empty; pass at least one call")
        source = f"turn-{self._next_index}"
        heads: list[Chunk] = []
        tails: list[Chunk] = []
        raws: list[Chunk] = []
        ids: set[str] = set()
        for index, call in enumerate(calls):
            if not isinstance(call, Mapping):
                raise InvalidTypeError(
                    f"calls[{index}] must be a mapping, got {type(call).__name__}"
                )
            unknown = set(call) - {
                "name",
                "arguments",
                "result",
                "call_id",
                "item_id",
                "format",
            }
            if unknown:
                raise InvalidArgumentError(
                    f"calls[{index}] has unknown keys {sorted(unknown)!r:.80}"
                )
            tag = source if len(calls) == 1 else f"{source}.{index}"
            call_chunks, result_chunks, raw_chunks = self._tool_call_chunks(
                tag,
                call.get("name"),
                call.get("arguments", "{}"),
                call.get("result", ""),
                call.get("call_id"),
                call.get("item_id"),
                call.get("format"),
            )
            call_id = call_chunks[0].meta.call_id
            if call_id in ids:
                raise InvalidArgumentError(
                    f"calls[{index}] repeats call_id={call_id!r:.80}; each call of a "
                    f"turn has its own id"
                )
            ids.add(str(call_id))
            heads += call_chunks
            tails += result_chunks
            raws += raw_chunks
        # One model step, one update: the group's calls share the cap on what it
        # may take (each call's own cap would let N calls take N caps).
        return self._run(
            heads + tails,
            advance=1,
            close_group=True,
            originals=raws,
            update="step:" + source,
        )

    def recall(
        self,
        query: str,
        *,
        limit: int = 3,
        max_tokens: int | None = None,
        call_id: str | None = None,
    ) -> Change:
        """Search the archive and add what matches as a ``recall_history`` result.

        What an agent does when the model calls ``recall_history`` (declare it with
        ``tool_definitions(window, recall=True)``): the archived parts that best
        match ``query`` (BM25 over :attr:`archive_store`, see
        :mod:`ctxchunk.archive`) come back as the result of a ``recall_history``
        call with arguments ``{"query": query}``, each with the source and part
        :meth:`read` takes. Parts that are in the window again and the results of
        earlier recalls are skipped. The result is an update like any tool result:
        chunked, capped by ``max_update_tokens``, evictable.

        Args:
            query: What to look for (words; case and diacritics are ignored).
            limit: The most parts to bring back, at least 1.
            max_tokens: The most tokens the result may hold (the best match is
                always included). Default what the window can take now without
                sending part of the result straight back to the archive: the free
                room plus the update cap for tool content.
            call_id: The id of the model's ``recall_history`` call; default a
                digest of the turn's position.

        Returns:
            What changed.

        Raises:
            InvalidTypeError: an argument has the wrong type.
            InvalidArgumentError: ``limit`` is below 1, or ``query`` holds a lone
                surrogate.

        >>> w = ContextWindow(200, chunk_tokens=50, protect_recent_turns=0)
        >>> _ = w.add_turn("user", "My locker code is 4417.", id="t1")
        >>> _ = w.remove("t1")
        >>> change = w.recall("locker code")
        >>> "4417" in change.added[-1].text
        True
        """
        query = check_meta_str("query", query)
        limit = check_int("limit", limit, 1)
        arguments = json.dumps({"query": query}, ensure_ascii=False)
        if max_tokens is None:
            # Room for the call's own message too (its arguments and framing).
            room = self._recall_room() - self._count(arguments) - 16
        else:
            room = check_int("max_tokens", max_tokens, 1)
        found: list[Chunk] = []
        wanted = limit
        while True:
            hits = self._store.search(query, limit=wanted)
            found = [c for c in hits if self._recallable(c)][:limit]
            if len(found) == limit or len(hits) < wanted:
                break
            wanted *= 4
        pieces: list[str] = []
        for chunk in found:
            where = json.dumps(
                {"source": chunk.source, "part": chunk.part}, ensure_ascii=False
            )
            piece = f"\n[{_describe(chunk)}, {where}]\n{chunk.text}"
            if pieces and self._count(_recalled(query, [*pieces, piece])) > room:
                continue  # a shorter match further down may still fit
            pieces.append(piece)
        return self.add_tool_call(
            _openai_chat.SUMMARY_TOOL, arguments, _recalled(query, pieces), call_id
        )

    def _recall_room(self) -> int:
        """Tokens a tool update can hold now without archiving any of itself."""
        return self._capacity - self._ledger.tokens + self._update_cap(Role.TOOL)

    def _update_cap(self, role: Role) -> int:
        """The most history an update of ``role`` beginning now may take."""
        cap = self._caps.get(role)
        if cap is not None:
            return cap
        if not self._auto_cap:
            return self._default_cap
        # Never more than a quarter of the history there is to lose.
        # (One unit may always go: see _may_take.)
        share = self._ledger.history_tokens // HISTORY_SHARE
        return max(1, min(self._default_cap, share))

    def _recallable(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` (an archived part) is worth bringing back."""
        if chunk.meta.tool_name == _openai_chat.SUMMARY_TOOL:
            return False  # an earlier recall's result, or its call
        for unit in self._ledger.by_source.get(chunk.source, ()):
            for other in unit.chunks:
                if (
                    other.source == chunk.source
                    and other.part == chunk.part
                    and other.meta.marks is None
                ):
                    return False  # in the window again
        return True

    def _tool_call_chunks(
        self,
        source: str,
        name: object,
        arguments: object,
        result: object,
        call_id: object,
        item_id: object,
        format: object = None,
    ) -> tuple[list[Chunk], list[Chunk], list[Chunk]]:
        name = check_str("name", name)
        if not name:
            raise InvalidArgumentError("name='' must name the tool that was called")
        if isinstance(arguments, Mapping):
            try:
                arguments = json.dumps(
                    arguments,
                    ensure_ascii=False,
                    separators=(",", ":"),
                    allow_nan=False,
                )
            except (TypeError, ValueError) as exc:
                raise InvalidTypeError(
                    f"arguments must be JSON data ({exc}); pass JSON text instead"
                ) from None
        arguments = check_str("arguments", arguments)
        result = check_str("result", result)
        if call_id is None:
            call_id = "call_" + make_chunk_id(source, 0, name)[3:]
        call_id = check_str("call_id", call_id)
        if not call_id:
            raise InvalidArgumentError("call_id='' must be None or a non-empty id")
        calls = self._split(
            arguments, Role.TOOL, Kind.TOOL_CALL, source + ".call", name, call_id
        )
        if item_id is not None:
            item = _check_item_id(item_id)
            calls = [_with_meta(c, item_id=item) for c in calls]
        raws: list[Chunk] = []
        if format is not None:
            reduced = reduce_tool_result(result, format=format)  # type: ignore[arg-type]
            if reduced.text != result:
                raws = self._split(
                    result,
                    Role.TOOL,
                    Kind.TOOL_RESULT,
                    source + ".result.raw",
                    name,
                    call_id,
                )
                result = reduced.text
        results = self._split(
            result, Role.TOOL, Kind.TOOL_RESULT, source + ".result", name, call_id
        )
        return calls, results, raws

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
        if not isinstance(chunks, (list, tuple)) and (
            isinstance(chunks, (str, bytes, Mapping))
            or not isinstance(chunks, Iterable)
        ):
            raise InvalidTypeError(
                f"chunks must be a list of Chunk, got {type(chunks).__name__}: "
                f"{chunks!r:.80}"
            )
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
        units = self._ledger.by_source.get(source)
        if not units:
            raise UnknownItemError(
                f"no chunk in the window has source {source!r:.80}; pass a turn id "
                f"or document source from window.chunks"
            )

        # In window order, so that a window and its JSON copy agree (O(n), like
        # any removal by the caller).
        doomed = [unit for unit in self._ledger.main if unit in units]

        def apply(op: _Op) -> None:
            for unit in doomed:
                if unit.role is Role.SYSTEM and unit.pinned:
                    op.instructions = True
                self._ledger.detach(unit)
                for chunk in unit.chunks:
                    self._archive_add(op, chunk, Reason.REMOVED)

        return self._transaction(apply)

    def read(self, source: str, part: int | None = None) -> str:
        """Return the text of a source, archived parts included.

        A source is a document, a tool result or a turn: what a ``read_document``
        call named by a marker asks for.

        Parts in the window are returned as they are now; parts that left as they
        were when they left. Markers are not content and are never returned.

        Args:
            source: The source a marker names (``chunk.meta.marks``), or any
                chunk's ``source``.
            part: One part, from 0; default all parts in order.

        Returns:
            The text.

        Raises:
            UnknownItemError: nothing of ``source`` (or of that part) was ever in
                the window or its archive.

        >>> w = ContextWindow(400, chunk_tokens=100)
        >>> _ = w.add_turn("user", "Hello!", id="t1")
        >>> _ = w.remove("t1")
        >>> w.read("t1")
        'Hello!'
        """
        source = check_str("source", source)
        if part is not None:
            part = check_int("part", part, 0)
        parts: dict[int, str] = {
            index: c.text for index, c in self._archived_parts(source).items()
        }
        for unit in self._ledger.by_source.get(source, ()):
            for chunk in unit.chunks:
                if chunk.source == source and chunk.meta.marks is None:
                    parts[chunk.part] = chunk.text
        if not parts:
            raise UnknownItemError(
                f"source={source!r:.80} was never in this window; pass the source a "
                f"marker names (its meta.marks) or a chunk's source"
            )
        if part is None:
            return "".join(parts[index] for index in sorted(parts))
        if part not in parts:
            raise UnknownItemError(
                f"source={source!r:.80} has no part={part}; its parts are "
                f"{sorted(parts)}"
            )
        return parts[part]

    def interrupt(
        self,
        item: str,
        heard_ms: int,
        *,
        words: Words | None = None,
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
        if words is not None and (
            isinstance(words, (str, bytes, Mapping)) or not isinstance(words, Sequence)
        ):
            raise InvalidTypeError(
                f"words must be a list of word timings, got {type(words).__name__}: "
                f"{words!r:.80}"
            )
        units = self._turn_units(item)
        # The turn's whole text, parts already archived included, so that word
        # timings and speaking rates line up with what was said.
        texts: dict[int, str] = {
            part: c.text for part, c in self._archived_parts(units[0].source).items()
        }
        by_part = {unit.chunks[0].part: unit for unit in units}
        for part, unit in by_part.items():
            texts[part] = unit.chunks[0].text
        # A turn cut before keeps only the audio up to that cut (the Realtime API
        # drops the rest): its cut part's end_ms says so, and the shortest wins.
        duration = None
        for unit in units:
            meta = unit.chunks[0].meta
            if meta.start_ms is not None and meta.end_ms is not None:
                span = meta.end_ms - meta.start_ms
                duration = span if duration is None else min(duration, span)
        duration = duration or None
        audio_end = heard_ms if duration is None else min(heard_ms, duration)
        plan = [
            (by_part[part], by_part[part].chunks[0], kept)
            for part, kept in cut_parts(texts, list(by_part), heard_ms, words, duration)
        ]
        if not plan:
            return self._transaction(lambda op: None)

        def apply(op: _Op) -> None:
            for unit, chunk, kept in plan:
                if kept is None:
                    self._ledger.detach(unit)
                    self._archive_add(op, chunk, Reason.INTERRUPTED)
                    continue
                meta = chunk.meta
                if meta.start_ms is not None:
                    meta = attrs.evolve(meta, end_ms=meta.start_ms + max(1, audio_end))
                after = attrs.evolve(
                    chunk, text=kept, tokens=self._count(kept), meta=meta
                )
                self._ledger.set_chunks(unit, (after,))
                self._archive_add(op, chunk, Reason.INTERRUPTED, report=False)
                op.loss += chunk.tokens - after.tokens
                op.truncated.append(Truncation(chunk, after, max(1, audio_end)))

        return self._transaction(apply)

    # -- JSON state -------------------------------------------------------------------

    def to_json(self, *, include_archive: bool | None = None) -> str:
        """Return the whole state as JSON: settings, policy, units and archive.

        :meth:`from_json` restores a window that behaves identically. A policy
        without ``to_dict`` is recorded as ``null``.

        Args:
            include_archive: Whether the archive's entries go into the JSON. Default:
                yes for a :class:`~ctxchunk.archive.MemoryArchive`, no for a
                persistent store (an :class:`~ctxchunk.archive.SQLiteArchive`),
                whose state then stays the size of the window; pass the same store
                to :meth:`from_json`. The archive's length and newest entry are
                always recorded, so a store given back is checked.

        Raises:
            InvalidTypeError: ``include_archive`` is not a bool or None.
        """
        if include_archive is None:
            include_archive = not self._store.persistent
        elif not isinstance(include_archive, bool):
            raise InvalidTypeError(
                f"include_archive must be True, False or None, got "
                f"{type(include_archive).__name__}: {include_archive!r:.80}"
            )
        to_dict = getattr(self._policy, "to_dict", None)
        open_group = None
        for index, unit in enumerate(self._ledger.main):
            if unit is self._open:
                open_group = index
        state = _state.WindowState(
            format=_state.STATE_FORMAT,
            budget=self._budget,
            chunk_tokens=self._chunk_tokens,
            reserve_tokens=self._reserve,
            protect_recent_turns=self._protect,
            max_update_tokens=None if self._auto_cap else self._default_cap,
            max_update_tokens_by_role={r.value: n for r, n in self._caps.items()},
            tokenizer=self._tokenizer.name,
            policy=to_dict() if callable(to_dict) else None,
            next_index=self._next_index,
            open_group=open_group,
            recent=list(self._recent),
            units=[
                _state.UnitState(
                    chunks=[c.to_dict() for c in unit.chunks], masked=unit.masked
                )
                for unit in self._ledger.main
            ],
            archive=[
                _state.ArchivedState(reason=e.reason.value, chunk=e.chunk.to_dict())
                for e in self._store
            ]
            if include_archive
            else None,
            archive_length=len(self._store),
            archive_tail=self._tail,
            audio=None if self._audio is None else attrs.asdict(self._audio),
        )
        return json.dumps(state.model_dump(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(
        cls,
        data: str | bytes,
        *,
        policy: Policy | None = None,
        tokenizer: Tokenizer | None = None,
        archive: Archive | None = None,
    ) -> ContextWindow:
        """Restore a window saved with :meth:`to_json`.

        Every chunk's count is checked against the tokenizer, so a state saved
        under another tokenizer, or with edited counts, is refused rather than
        trusted.

        Args:
            data: The JSON text.
            policy: The policy to use; required when the saved one cannot be rebuilt
                (a policy of your own, or a custom summarizer).
            tokenizer: The tokenizer, when it is not a built-in encoding.
            archive: The store to keep the archive in. Required when the state was
                saved without its archive (a persistent store): pass that store. A
                store holding more entries than the state recorded (the session went
                on after the save) is cut back to the saved moment, once the state
                has been checked; an empty store receives the state's entries.
                Default a :class:`~ctxchunk.archive.MemoryArchive` of the state's
                entries.

        Raises:
            StateError: ``data`` is not a saved window state, or its counts are
                not its texts' counts under the tokenizer, or ``archive`` is not
                the store the state was saved with (fewer entries, or another
                newest entry), or is missing while the state needs it.
            InvalidTypeError: ``archive`` is not an :class:`~ctxchunk.archive.Archive`.
        """
        if archive is not None and not isinstance(archive, Archive):
            raise InvalidTypeError(
                f"archive must be a ctxchunk.archive.Archive (MemoryArchive, "
                f"SQLiteArchive or your own), got {type(archive).__name__}: "
                f"{archive!r:.80}"
            )
        if not isinstance(data, (str, bytes)):
            raise StateError(
                f"data must be the JSON text to_json returned, got "
                f"{type(data).__name__}: {data!r:.80}"
            )
        try:
            state = _state.WindowState.model_validate_json(data)
        except pydantic.ValidationError as exc:
            raise StateError(
                f"not a {_state.STATE_FORMAT} state: {_first_error(exc)}"
            ) from None
        try:
            if policy is None:
                if state.policy is None:
                    raise StateError(
                        "the saved policy has no to_dict; pass policy=... to from_json"
                    )
                policy = policy_from_dict(state.policy)
            window = cls(
                state.budget,
                policy=policy,
                chunk_tokens=state.chunk_tokens,
                tokenizer=tokenizer if tokenizer is not None else state.tokenizer,
                reserve_tokens=state.reserve_tokens,
                protect_recent_turns=state.protect_recent_turns,
                max_update_tokens=state.max_update_tokens,
                max_update_tokens_by_role=dict(state.max_update_tokens_by_role),
                audio=None if state.audio is None else ModelSpec(**state.audio),
            )
            if window._tokenizer.name != state.tokenizer:
                raise StateError(
                    f"the state was saved with tokenizer {state.tokenizer!r:.40}, "
                    f"not {window._tokenizer.name!r:.40}; load it with that one"
                )
            window._next_index = state.next_index
            window._recent.extend(state.recent)
            for saved in state.units:
                chunks = tuple(Chunk.from_dict(c) for c in saved.chunks)
                for chunk in chunks:
                    actual = window._count(chunk.text)
                    if actual != chunk.tokens:
                        raise StateError(
                            f"chunk {chunk.id} says tokens={chunk.tokens} but its "
                            f"text is {actual} tokens under "
                            f"{window._tokenizer.name}; the state was edited or "
                            f"saved with another tokenizer"
                        )
                unit = _Unit(chunks, window._cost(chunks))
                unit.masked = saved.masked
                window._ledger.attach(unit, window._ledger.main.tail)
                if unit.masked and unit in window._ledger.fresh:
                    for lst in (
                        window._ledger.fresh,
                        *window._ledger.fresh_lists(unit),
                    ):
                        lst.remove(unit)
            if state.open_group is not None:
                window._open = list(window._ledger.main)[state.open_group]
            entries = None
            if state.archive is not None:
                entries = [
                    Eviction(Chunk.from_dict(e.chunk), Reason(e.reason))
                    for e in state.archive
                ]
            length = _saved_archive_length(state, entries, archive)
        except StateError:
            raise
        except (CtxChunkError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise StateError(f"not a valid window state: {exc}") from None
        try:
            window.check_valid()
        except AssertionError as exc:
            raise StateError(f"the saved state is inconsistent: {exc}") from None
        if archive is None:
            assert entries is not None  # checked by _saved_archive_length
            window._store = MemoryArchive(entries)
        else:
            # Only now that the state is known good: the store is the caller's.
            if len(archive) == 0 and entries:
                archive.add(entries)
            elif len(archive) > length:
                archive.truncate(length)
            window._store = archive
        window._tail = state.archive_tail
        return window

    # -- invariants -------------------------------------------------------------------

    def check_valid(self) -> None:
        """Check every invariant of the window; raise ``AssertionError`` if one fails.

        A debugging aid (and what the property tests call after every step): it
        walks the whole window and counts every chunk's text again, so it is O(n)
        and costs a tokenizer pass over the window.
        """
        main = list(self._ledger.main)
        _require(len(main) == len(self._ledger.main), "main list length")
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
                _require(
                    self._ledger.by_id.get(chunk.id) is unit, f"index of {chunk.id}"
                )
                _require(unit in self._ledger.by_source[chunk.source], "source index")
                _require(
                    chunk.tokens <= self._chunk_tokens,
                    f"chunk {chunk.id} has {chunk.tokens} > chunk_tokens",
                )
                actual = self._count(chunk.text)
                _require(
                    actual == chunk.tokens,
                    f"chunk {chunk.id} says {chunk.tokens} tokens, its text is "
                    f"{actual} under {self._tokenizer.name}",
                )
            _require(unit in self._ledger.roles[unit.role], "role list")
            if unit.group:
                _require(unit in self._ledger.groups, "group list")
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
        _require(
            total == self._ledger.tokens, f"tokens {self._ledger.tokens} != {total}"
        )
        _require(self._ledger.tokens <= self._capacity, "over budget")
        _require(len(seen) == len(self._ledger.by_id), "stale id index")
        lists: list[UnitList] = [
            *self._ledger.roles.values(),
            self._ledger.groups,
            self._ledger.fresh,
            self._ledger.turns,
        ]
        for lst in [self._ledger.main, *lists]:
            _require(all(u in self._ledger.main for u in lst), "list holds a dead unit")
            _require(list(lst.reversed())[::-1] == list(lst), "list links")
        for name, lst in self._ledger.fresh_by_tool.items():
            expect = [u for u in self._ledger.fresh if name in u.result_tools()]
            _require(list(lst) == expect, f"unedited groups of tool {name!r}")
        _require(
            sum(len(r) for r in self._ledger.roles.values()) == len(main), "role lists"
        )
        for role, lst in self._ledger.roles.items():
            expect = [u for u in main if u.role is role]
            _require(list(lst) == expect, f"order of the {role.value} list")
        _require(
            list(self._ledger.groups) == [u for u in main if u.group], "group order"
        )
        turns = [u for u in main if u.kind is Kind.TURN and not u.pinned]
        _require(list(self._ledger.turns) == turns, "turn list")
        messages = _openai_chat.to_openai_chat(self)
        for index, message in enumerate(messages):
            if message["role"] == "tool":
                back = index - 1
                while messages[back]["role"] == "tool":
                    back -= 1
                ids = {c["id"] for c in messages[back].get("tool_calls") or ()}
                _require(message["tool_call_id"] in ids, "orphaned tool message")

    # -- machinery --------------------------------------------------------------------

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

    def _turn_units(self, item: str) -> list[_Unit]:
        unit = self._ledger.by_id.get(item)
        source = unit.source if unit is not None else item
        if unit is None and source not in self._ledger.by_source:
            # A server item id (meta.item_id): O(n), as interruptions are rare.
            for held in self._ledger.main:
                if held.chunks[0].meta.item_id == item:
                    source = held.source
                    break
        units = [
            u
            for u in self._ledger.by_source.get(source, ())
            if u.kind is Kind.TURN and u.role is Role.ASSISTANT
        ]
        if units and any(u.pinned for u in units):
            raise InvalidArgumentError(
                f"item={item!r:.80} is a pinned assistant turn; pins are never cut "
                f"(remove() it and add what was heard instead)"
            )
        units.sort(key=lambda u: u.chunks[0].part)
        if not units:
            raise UnknownItemError(
                f"item={item!r:.80} is not an assistant turn in the window; pass the "
                f"turn's id (its chunks' source) or one of its chunk ids"
            )
        return units


def _recalled(query: str, pieces: Sequence[str]) -> str:
    """The text of a ``recall_history`` result holding ``pieces``."""
    quoted = json.dumps(query, ensure_ascii=False)
    if not pieces:
        return f"Nothing archived matches {quoted}."
    return f"{len(pieces)} archived part(s) matching {quoted}:\n" + "\n".join(pieces)


def _describe(chunk: Chunk) -> str:
    """A few words saying what an archived part was."""
    if chunk.kind is Kind.TOOL_RESULT:
        what = f"result of {chunk.meta.tool_name or 'a tool'}"
    elif chunk.kind is Kind.TOOL_CALL:
        what = f"call of {chunk.meta.tool_name or 'a tool'}"
    elif chunk.kind is Kind.TURN:
        what = f"{chunk.role.value} turn"
        if chunk.meta.speaker:
            what += f" by {chunk.meta.speaker}"
    else:
        what = chunk.meta.title or chunk.meta.url or chunk.kind.value
    if chunk.parts > 1:
        what += f", part {chunk.part + 1} of {chunk.parts}"
    return what[:120]


def _saved_archive_length(
    state: _state.WindowState, entries: list[Eviction] | None, given: Archive | None
) -> int:
    """Check the saved archive against ``given`` and return the saved length.

    ``given`` must be empty (it then receives ``entries``) or the store the state was
    saved with: at least as long, with the recorded newest entry at the saved length.
    Nothing is changed here.
    """
    length = state.archive_length
    if length is None:  # format 2 always carries its archive
        assert entries is not None
        length = len(entries)
    if entries is not None:
        if len(entries) != length:
            raise StateError(
                f"the state lists {len(entries)} archive entries but says "
                f"archive_length={length}; it was edited"
            )
        tail = entries[-1].chunk.id if entries else None
        if state.archive_tail is not None and tail != state.archive_tail:
            raise StateError(
                "the state's newest archive entry is not its archive_tail; it "
                "was edited"
            )
    if given is None:
        if entries is None:
            raise StateError(
                f"this state was saved without its archive ({length:,} entries, kept "
                f"in a persistent store); pass that store: from_json(data, "
                f"archive=SQLiteArchive(path, session=...))"
            )
        return length
    have = len(given)
    if have == 0 and entries is not None:
        return length
    if have < length:
        raise StateError(
            f"the archive store holds {have:,} entries but the state was saved with "
            f"{length:,}: it is not the store the state was saved with, or an older "
            f"copy of it"
        )
    if _tail_of(given, length) != state.archive_tail:
        raise StateError(
            f"entry {length - 1} of the archive store is not the newest entry the "
            f"state recorded: it is not the store the state was saved with"
        )
    return length


def _tail_of(store: Archive, length: int) -> str | None:
    """The id of the chunk of the ``length``-th entry of ``store`` (None if 0)."""
    if length == 0:
        return None
    entry = next(itertools.islice(iter(store), length - 1, None))
    return entry.chunk.id


def _check_item_id(item_id: object) -> str:
    item_id = check_str("item_id", item_id)
    if not item_id or len(item_id) > 32:
        # The Realtime API's item ids are at most 32 characters.
        raise InvalidArgumentError(
            f"item_id={item_id!r:.80} must be the server's item id (1 to 32 characters)"
        )
    return item_id


def _check_cap(name: str, value: object, chunk_tokens: int) -> int:
    cap = check_int(name, value, 1)
    if cap < chunk_tokens:
        raise BudgetError(
            f"{name}={cap} is below chunk_tokens={chunk_tokens}: an update could not "
            f"even make room for one chunk; raise it or lower chunk_tokens"
        )
    return cap


def _first_error(exc: pydantic.ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "the top level"
    return f"{where}: {error['msg']}"


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"ContextWindow invariant broken: {what}")
