"""The window's ledger: its units, the lists that order them, and the undo journal.

Private. :class:`~ctxchunk.window.ContextWindow` keeps its public contract and its
admission rules; this module holds what they work on:

- :class:`Unit`, an eviction unit (a chunk, or a tool group of calls and their
  results), and :class:`Part`, one part of a tool result offered on its own;
- :class:`DList`, an ordered set with O(1) append, insert-after and removal, and
  :class:`SlotList`, the same with its links kept in the units (the window's
  order, the role lists, the group and turn lists);
- :class:`Ledger`, the units in window order plus per-role, per-group, per-tool and
  per-turn lists, the indexes by id, source and call id, and the running token
  count; every change it makes while an operation (:class:`Op`) is under way is
  journaled in ``op.undo``, so the operation can be taken back whole or to a
  savepoint (:class:`Mark`);
- :class:`View`, the :class:`~ctxchunk.policies.WindowView` a policy reads: it wraps
  the ledger, never the window.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import NamedTuple

import attrs

from ctxchunk.change import Eviction, Replacement, Truncation, is_session_item
from ctxchunk.chunk import Chunk
from ctxchunk.policies import UnitView
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import Tokenizer

__all__ = [
    "DList",
    "Ledger",
    "Mark",
    "Op",
    "Part",
    "SlotList",
    "Unit",
    "UnitList",
    "View",
]

_SEQ = itertools.count()
"""Creation order of units. Tool groups are only ever created at the window's tail,
so among groups it is also window order."""


class Unit:
    """One eviction unit: a chunk, or a tool group of calls and their results."""

    __slots__ = (
        "_results",
        "_tools",
        "chunks",
        "gain_memo",
        "group",
        "kind",
        "links",
        "masked",
        "pinned",
        "role",
        "seq",
        "source",
        "tokens",
    )

    whole = True

    def __init__(self, chunks: tuple[Chunk, ...], tokens: int) -> None:
        self.masked = False
        self.seq = next(_SEQ)
        # Previous, next and owner in each of three SlotLists (see there).
        self.links: list[Unit | SlotList | None] = [None] * 9
        first = chunks[0]
        self.group = first.kind is Kind.TOOL_CALL
        self.kind = first.kind
        self.role = first.role
        self.assign(chunks, tokens)

    def assign(self, chunks: tuple[Chunk, ...], tokens: int) -> None:
        """Give the unit new chunks (a group's first chunk stays a call)."""
        self.chunks = chunks
        self.tokens = tokens
        first = chunks[0]
        self.pinned = first.pinned
        self.source = first.source
        # Derived on demand, then kept until the chunks change.
        self._results: list[Chunk] | None = None
        self._tools: set[str | None] | None = None
        # The window's cache of what masking the unit would free.
        self.gain_memo: tuple[object, int] | None = None

    def result_tools(self) -> set[str | None]:
        """The tool names of the unit's tool results (do not modify)."""
        tools = self._tools
        if tools is None:
            tools = self._tools = {
                c.meta.tool_name for c in self.chunks if c.kind is Kind.TOOL_RESULT
            }
        return tools

    def results(self) -> list[Chunk]:
        """The unit's content tool results, markers left out (do not modify)."""
        results = self._results
        if results is None:
            results = self._results = [
                c
                for c in self.chunks
                if c.kind is Kind.TOOL_RESULT and c.meta.marks is None
            ]
        return results

    def is_marker(self) -> bool:
        """Whether the unit is a standalone marker."""
        return not self.group and self.chunks[0].meta.marks is not None

    def __repr__(self) -> str:
        return f"Unit({[c.id for c in self.chunks]}, tokens={self.tokens})"


class Part:
    """One part of a tool result cut into several chunks, offered on its own.

    Evicting it takes that part alone; its group (the call and the other parts, and
    a marker naming the archived ones) stays.
    """

    __slots__ = ("_tokens", "_v", "chunk", "group")

    whole = False
    masked = False
    role = Role.TOOL
    kind = Kind.TOOL_RESULT
    pinned = False

    def __init__(self, view: View, group: Unit, chunk: Chunk) -> None:
        self._v = view
        self.group = group
        self.chunk = chunk
        self._tokens: int | None = None

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return (self.chunk,)

    @property
    def tokens(self) -> int:
        """What evicting the part frees: the group's cost now minus after."""
        if self._tokens is None:
            self._tokens = self._v.part_gain(self.group, self.chunk)
        return self._tokens

    @property
    def source(self) -> str:
        return self.chunk.source

    def live(self) -> bool:
        """Whether the part is still in its group, and the group in the window."""
        return self.group in self._v.ledger.main and any(
            c is self.chunk for c in self.group.chunks
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Part)
            and other.group is self.group
            and other.chunk is self.chunk
        )

    def __hash__(self) -> int:
        return hash((id(self.group), id(self.chunk)))

    def __repr__(self) -> str:
        return f"Part({self.chunk.id} of {self.group!r})"


class DList:
    """An ordered set of units with O(1) append, insert-after and removal."""

    __slots__ = ("head", "nxt", "prv", "tail")

    def __init__(self) -> None:
        self.head: Unit | None = None
        self.tail: Unit | None = None
        self.prv: dict[Unit, Unit | None] = {}
        self.nxt: dict[Unit, Unit | None] = {}

    def __contains__(self, unit: object) -> bool:
        return unit in self.prv

    def __len__(self) -> int:
        return len(self.prv)

    def before(self, unit: Unit) -> Unit | None:
        """The unit before ``unit`` (which must be in the list)."""
        return self.prv[unit]

    def after(self, unit: Unit) -> Unit | None:
        """The unit after ``unit`` (which must be in the list)."""
        return self.nxt[unit]

    def insert_after(self, unit: Unit, after: Unit | None) -> None:
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

    def append(self, unit: Unit) -> None:
        # insert_after(unit, self.tail), without its branches: the common case.
        tail = self.tail
        self.prv[unit] = tail
        self.nxt[unit] = None
        if tail is None:
            self.head = unit
        else:
            self.nxt[tail] = unit
        self.tail = unit

    def remove(self, unit: Unit) -> Unit | None:
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

    def __iter__(self) -> Iterator[Unit]:
        unit = self.head
        while unit is not None:
            nxt = self.nxt[unit]
            yield unit
            # The unit just yielded may have been removed meanwhile; then carry on
            # from the unit that followed it.
            unit = self.nxt.get(unit, nxt)

    def reversed(self) -> Iterator[Unit]:
        unit = self.tail
        while unit is not None:
            prv = self.prv[unit]
            yield unit
            # As in __iter__: carry on from the unit that came before it.
            unit = self.prv.get(unit, prv)


class SlotList:
    """An ordered set of units like :class:`DList`, its links kept in the units.

    Each unit has room for three such lists (``Unit.links``, three entries each:
    previous, next and the list holding it): the window's order, its role's list,
    and the list of tool groups or of turns (a unit is in one role list, and in at
    most one of those two). The links live with the unit rather than in dicts keyed
    by it, so a list of a hundred thousand units costs no more per operation than a
    short one (no large table to probe, grow or rebuild).
    """

    __slots__ = ("_n", "_o", "_p", "head", "size", "tail")

    def __init__(self, slot: int) -> None:
        self._p, self._n, self._o = 3 * slot, 3 * slot + 1, 3 * slot + 2
        self.head: Unit | None = None
        self.tail: Unit | None = None
        self.size = 0

    def __contains__(self, unit: object) -> bool:
        return isinstance(unit, Unit) and unit.links[self._o] is self

    def __len__(self) -> int:
        return self.size

    def before(self, unit: Unit) -> Unit | None:
        """The unit before ``unit`` (which must be in the list)."""
        return unit.links[self._p]  # type: ignore[return-value]

    def after(self, unit: Unit) -> Unit | None:
        """The unit after ``unit`` (which must be in the list)."""
        return unit.links[self._n]  # type: ignore[return-value]

    def insert_after(self, unit: Unit, after: Unit | None) -> None:
        """Insert ``unit`` after ``after``, or first when ``after`` is None."""
        p, n = self._p, self._n
        nxt = self.head if after is None else after.links[n]
        links = unit.links
        links[p] = after
        links[n] = nxt
        links[self._o] = self
        if after is None:
            self.head = unit
        else:
            after.links[n] = unit
        if nxt is None:
            self.tail = unit
        else:
            nxt.links[p] = unit  # type: ignore[union-attr]
        self.size += 1

    def append(self, unit: Unit) -> None:
        tail = self.tail
        links = unit.links
        links[self._p] = tail
        links[self._n] = None
        links[self._o] = self
        if tail is None:
            self.head = unit
        else:
            tail.links[self._n] = unit
        self.tail = unit
        self.size += 1

    def remove(self, unit: Unit) -> Unit | None:
        """Remove ``unit`` and return the unit that was before it."""
        links = unit.links
        if links[self._o] is not self:
            raise KeyError(unit)
        before: Unit | None = links[self._p]  # type: ignore[assignment]
        after: Unit | None = links[self._n]  # type: ignore[assignment]
        # Cleared, not left stale: a unit out of every list refers to no other
        # unit, so it is freed as soon as nothing else holds it (no cycle to wait
        # for the garbage collector).
        links[self._p] = links[self._n] = links[self._o] = None
        if before is None:
            self.head = after
        else:
            before.links[self._n] = after
        if after is None:
            self.tail = before
        else:
            after.links[self._p] = before
        self.size -= 1
        return before

    def __iter__(self) -> Iterator[Unit]:
        return self._walk(self.head, self._n)

    def reversed(self) -> Iterator[Unit]:
        return self._walk(self.tail, self._p)

    def _walk(self, unit: Unit | None, step: int) -> Iterator[Unit]:
        """Yield from ``unit`` on, following link ``step`` (next or previous)."""
        o = self._o
        while unit is not None:
            following = unit.links[step]
            yield unit
            # The unit just yielded may have been removed meanwhile; then carry on
            # from the unit that followed it in this direction.
            links = unit.links
            unit = links[step] if links[o] is self else following  # type: ignore[assignment]


UnitList = DList | SlotList
"""Either kind of unit list (the same operations)."""


class View:
    """The read-only :class:`~ctxchunk.policies.WindowView` a policy gets.

    It reads the ledger; what only the window knows (what evicting a part or masking
    a unit would free, which needs the marker it would leave) comes from the two
    gain functions the window gives it.
    """

    __slots__ = (
        "_capacity",
        "_chunk_tokens",
        "_mask_gain",
        "_tokenizer",
        "ledger",
        "part_gain",
    )

    def __init__(
        self,
        ledger: Ledger,
        *,
        capacity: int,
        chunk_tokens: int,
        tokenizer: Tokenizer,
        part_gain: Callable[[Unit, Chunk], int],
        mask_gain: Callable[[object, frozenset[str]], int],
    ) -> None:
        self.ledger = ledger
        self._capacity = capacity
        self._chunk_tokens = chunk_tokens
        self._tokenizer = tokenizer
        self.part_gain = part_gain
        self._mask_gain = mask_gain

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def tokens(self) -> int:
        return self.ledger.tokens

    @property
    def free(self) -> int:
        return self._capacity - self.ledger.tokens

    @property
    def chunk_tokens(self) -> int:
        return self._chunk_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def candidates(
        self, role: Role | None = None, *, newest_first: bool = False
    ) -> Iterator[Unit | Part]:
        w = self.ledger
        units = w.main if role is None else w.roles.get(role)
        if units is None:
            return
        for unit in units.reversed() if newest_first else units:
            if not w.evictable(unit):
                continue
            results = unit.results() if unit.group else ()
            if len(results) > 1:
                # A result cut into parts leaves part by part.
                for chunk in reversed(results) if newest_first else results:
                    part = Part(self, unit, chunk)
                    if part.live():
                        yield part
            else:
                yield unit

    def following(self, unit: object) -> Unit | Part | None:
        w = self.ledger
        if isinstance(unit, Part):
            if not unit.live():
                return None
            results = unit.group.results()
            index = next(i for i, c in enumerate(results) if c is unit.chunk)
            if index + 1 < len(results):
                return Part(self, unit.group, results[index + 1])
            unit = unit.group
        if not isinstance(unit, Unit) or unit not in w.main:
            return None
        nxt = w.main.after(unit)
        if nxt is not None and nxt.group and len(nxt.results()) > 1:
            return Part(self, nxt, nxt.results()[0])
        return nxt

    def evictable(self, unit: object) -> bool:
        w = self.ledger
        if isinstance(unit, Part):
            return unit.live() and w.evictable(unit.group)
        return isinstance(unit, Unit) and unit in w.main and w.evictable(unit)

    def tool_groups(
        self, *, unedited: bool = False, exclude_tools: Collection[str] = ()
    ) -> Iterator[Unit]:
        w = self.ledger
        if not exclude_tools:
            return iter(w.fresh if unedited else w.groups)
        if not unedited:
            return (u for u in w.groups if u.result_tools() - set(exclude_tools))
        # Groups whose results all come from excluded tools are never visited, so
        # a window full of them costs nothing here.
        lists = [
            lst
            for name, lst in w.fresh_by_tool.items()
            if lst and name not in exclude_tools
        ]
        if len(lists) == 1:
            return iter(lists[0])
        return _distinct(heapq.merge(*lists, key=_seq_of))

    def newest_tool_groups(self, count: int) -> list[UnitView]:
        out: list[UnitView] = []
        for unit in self.ledger.groups.reversed():
            if len(out) >= count:
                break
            out.append(unit)
        return out

    def cost_of(self, chunks: Sequence[Chunk]) -> int:
        return self.ledger.cost(chunks) if chunks else 0

    def mask_gain(self, unit: object, *, exclude_tools: Collection[str] = ()) -> int:
        return self._mask_gain(unit, frozenset(exclude_tools))


@attrs.define
class Op:
    """What the operation under way has done so far, for its Change and its undo."""

    tokens_before: int
    added: list[Chunk] = attrs.Factory(list)
    previous: list[str | None] = attrs.Factory(list)
    evicted: list[Eviction] = attrs.Factory(list)
    truncated: list[Truncation] = attrs.Factory(list)
    replaced: list[Replacement] = attrs.Factory(list)
    instructions: bool = False
    undo: list[Callable[[], None]] = attrs.Factory(list)
    capped: set[str] = attrs.Factory(set)
    loss: int = 0
    """History lost so far: what :attr:`Change.lost_tokens` will say."""
    key: str | None = None
    """The update being admitted (a turn, a document, one tool call or step)."""
    key_loss: int = 0
    """:attr:`loss` when the update began."""
    cap: int | None = None
    """The most history the update may take, or None (no update under way)."""
    user: bool = False
    """Whether the update being admitted is a user's (see ``_may_take``)."""
    units: set[Unit] = attrs.Factory(set)
    """The units the update has added: no later chunk of it may evict them."""
    units_by_key: dict[str, set[Unit]] = attrs.Factory(dict)
    taken: dict[str, int] = attrs.Factory(dict)
    """What each update of the operation has taken, once another one began."""
    admits: list[tuple[Mark, str, Chunk]] = attrs.Factory(list)
    """Each admitted chunk with its update and the savepoint just before it."""


class Mark(NamedTuple):
    """A savepoint inside an operation, to take back one chunk's evictions.

    A named tuple: one is made for every chunk admitted, so it must be cheap.
    """

    undo: int
    added: int
    evicted: int
    replaced: int
    archive: int
    loss: int
    open: Unit | None
    admits: int


class Ledger:
    """The units of a window in order, their lists and indexes, and the token count.

    Invariants (checked by the window's ``check_valid``): ``main`` holds every unit
    in window order; each other list holds the units of ``main`` it is for, in the
    same order (``fresh`` and ``fresh_by_tool``: tool groups no policy edited yet);
    ``by_id``, ``by_source`` and ``calls`` index exactly the chunks of ``main``;
    ``tokens`` is the rendered request's size.

    Args:
        cost: What a unit's chunks add to the request, in tokens.
        tokens: The size of an empty request (the reply priming).
    """

    def __init__(self, cost: Callable[[Sequence[Chunk]], int], tokens: int) -> None:
        self.cost = cost
        self.tokens = tokens
        self.main = SlotList(0)
        self.roles = {role: SlotList(1) for role in Role}
        self.groups = SlotList(2)
        # The tool groups no policy has edited yet, and the same per tool name of
        # their results (a group is in the list of each of its results' tools).
        self.fresh = DList()
        self.fresh_by_tool: dict[str | None, DList] = {}
        self.turns = SlotList(2)
        # Tokens of the history's text: unpinned chunks that are not markers.
        self.history_tokens = 0
        self.by_id: dict[str, Unit] = {}
        self.by_source: dict[str, dict[Unit, None]] = {}
        self.calls: dict[str, Unit] = {}
        # The operation under way (its journal takes every change), and what its
        # current admission may not evict.
        self.op: Op | None = None
        self.protected: set[str] = set()
        self.target: Unit | None = None

    def evictable(self, unit: Unit) -> bool:
        if unit.pinned or unit is self.target:
            return False
        op = self.op
        if op is not None and unit in op.units:
            return False
        return not (unit.kind is Kind.TURN and unit.source in self.protected)

    def lists_for(self, unit: Unit) -> list[UnitList]:
        lists: list[UnitList] = [self.roles[unit.role]]
        if unit.group:
            lists.append(self.groups)
        if unit.kind is Kind.TURN and not unit.pinned:
            lists.append(self.turns)
        return lists

    def attach(self, unit: Unit, after: Unit | None) -> None:
        main = self.main
        placed = [main, *self.lists_for(unit)]
        if after is main.tail:
            if unit.group:
                placed += (self.fresh, *self.fresh_lists(unit, create=True))
            for lst in placed:
                lst.append(unit)
        else:
            main.insert_after(unit, after)
            for lst in placed[1:]:
                lst.insert_after(unit, self.previous_in(lst, unit))
        self.index(unit, unit.chunks, add=True)
        self.tokens += unit.tokens
        op = self.op
        if op is not None:

            def undo() -> None:
                self.tokens -= unit.tokens
                self.index(unit, unit.chunks, add=False)
                for lst in placed:
                    lst.remove(unit)

            op.undo.append(undo)

    def last_item_id(self, unit: Unit | None) -> str | None:
        """The id of the last session item at or before ``unit`` in the window.

        Only pins and split tool calls are skipped, so the walk is short.
        """
        while unit is not None:
            for chunk in reversed(unit.chunks):
                if is_session_item(chunk):
                    return chunk.id
            unit = self.main.before(unit)
        return None

    def previous_in(self, lst: UnitList, unit: Unit) -> Unit | None:
        # Only units that no policy may touch stand before an inserted one, so this
        # walk is short.
        main = self.main
        before = main.before(unit)
        while before is not None and before not in lst:
            before = main.before(before)
        return before

    def detach(self, unit: Unit) -> None:
        lists = [self.main, *self.lists_for(unit)]
        if unit in self.fresh:  # (the per-tool lists hold unedited groups only)
            lists += (self.fresh, *self.fresh_lists(unit))
        # Every list of lists_for holds the unit (attach put it there).
        removed = [(lst, lst.remove(unit)) for lst in lists]
        self.index(unit, unit.chunks, add=False)
        self.tokens -= unit.tokens
        op = self.op
        if op is not None:

            def undo() -> None:
                self.tokens += unit.tokens
                self.index(unit, unit.chunks, add=True)
                for lst, before in reversed(removed):
                    lst.insert_after(unit, before)

            op.undo.append(undo)

    def set_chunks(
        self, unit: Unit, chunks: tuple[Chunk, ...], tokens: int | None = None
    ) -> None:
        """Give ``unit`` new chunks; ``tokens`` is their cost when known."""
        old_chunks, old_tokens = unit.chunks, unit.tokens
        fresh = unit.group and unit in self.fresh
        old_lists = self.fresh_lists(unit) if fresh else []
        self.index(unit, old_chunks, add=False)
        unit.assign(chunks, self.cost(chunks) if tokens is None else tokens)
        self.index(unit, chunks, add=True)
        self.tokens += unit.tokens - old_tokens
        moved: list[tuple[UnitList, Unit | None, bool]] = []
        if fresh:
            new_lists = self.fresh_lists(unit, create=True)
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
        op = self.op
        if op is not None:
            new_tokens = unit.tokens

            def undo() -> None:
                for lst, after, inserted in reversed(moved):
                    if inserted:
                        lst.remove(unit)
                    else:
                        lst.insert_after(unit, after)
                self.index(unit, chunks, add=False)
                unit.assign(old_chunks, old_tokens)
                self.index(unit, old_chunks, add=True)
                self.tokens -= new_tokens - old_tokens

            op.undo.append(undo)

    def extend(self, unit: Unit, chunk: Chunk, tokens: int) -> None:
        """Append ``chunk`` to ``unit``, whose cost becomes ``tokens``.

        :meth:`set_chunks` for the common case of a chunk joining its group at the
        end: only the new chunk is indexed, and the group joins the unedited list of
        the new chunk's tool if it is not in it yet.
        """
        old_chunks, old_tokens = unit.chunks, unit.tokens
        old_tools = unit.result_tools() if unit.group and unit in self.fresh else None
        chunks = (*old_chunks, chunk)
        unit.assign(chunks, tokens)
        self.index(unit, (chunk,), add=True)
        self.tokens += tokens - old_tokens
        joined: DList | None = None
        if (
            old_tools is not None
            and chunk.kind is Kind.TOOL_RESULT
            and chunk.meta.tool_name not in old_tools
        ):
            joined = self.fresh_by_tool.setdefault(chunk.meta.tool_name, DList())
            joined.insert_after(unit, _seq_position(joined, unit))
        op = self.op
        if op is not None:

            def undo() -> None:
                if joined is not None:
                    joined.remove(unit)
                # Whole re-indexing: the new chunk may share its source with others.
                self.index(unit, chunks, add=False)
                unit.assign(old_chunks, old_tokens)
                self.index(unit, old_chunks, add=True)
                self.tokens -= tokens - old_tokens

            op.undo.append(undo)

    def fresh_lists(self, unit: Unit, *, create: bool = False) -> list[DList]:
        names = unit.result_tools()
        if create:
            return [self.fresh_by_tool.setdefault(n, DList()) for n in names]
        return [self.fresh_by_tool[n] for n in names if n in self.fresh_by_tool]

    def index(self, unit: Unit, chunks: Iterable[Chunk], *, add: bool) -> None:
        by_source, by_id, calls = self.by_source, self.by_id, self.calls
        for chunk in chunks:
            meta = chunk.meta
            call_id = meta.call_id
            if meta.marks is None and not chunk.pinned:
                self.history_tokens += chunk.tokens if add else -chunk.tokens
            if add:
                by_id[chunk.id] = unit
                units = by_source.get(chunk.source)
                if units is None:
                    by_source[chunk.source] = {unit: None}
                else:
                    units[unit] = None
                if call_id and unit.group and chunk.kind is Kind.TOOL_CALL:
                    calls[call_id] = unit
            else:
                if by_id.get(chunk.id) is unit:
                    del by_id[chunk.id]
                units = by_source.get(chunk.source)
                if units is not None:
                    units.pop(unit, None)
                    if not units:
                        del by_source[chunk.source]
                if call_id and calls.get(call_id) is unit:
                    del calls[call_id]


def _seq_of(unit: Unit) -> int:
    return unit.seq


def _distinct(units: Iterator[Unit]) -> Iterator[Unit]:
    # A group in several per-tool lists comes out of the merge once per list, in a
    # row (no other unit shares its seq).
    last = None
    for unit in units:
        if unit is not last:
            yield unit
        last = unit


def _seq_position(lst: DList, unit: Unit) -> Unit | None:
    """The unit of ``lst`` that ``unit`` goes after to keep ``lst`` in seq order.

    A result usually joins a recent group, so the walk from the tail is short.
    """
    after = lst.tail
    while after is not None and after.seq > unit.seq:
        after = lst.before(after)
    return after
