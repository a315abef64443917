"""Admission: how an update comes into a window, one chunk at a time, under its cap.

:class:`Admission` is the half of :class:`~ctxchunk.window.ContextWindow` that admits
chunks. Each operation runs as a transaction (:meth:`Admission._transaction`): every
change goes through the ledger's undo journal, so a failure leaves the window as it
was. Each chunk is priced as the Chat Completions messages it adds
(:meth:`Admission._cost`), the window's policy makes room for it, and each update (a
turn, a document, one tool call) may take at most its cap of history; what is left of
an update past its cap goes to the archive at once, and a marker names it
(:meth:`Admission._cap_update`). Carrying out the policy's actions is
:class:`~ctxchunk._apply.PolicyApplication`'s.

The window's public contract, its construction and its save/load stay in
:mod:`ctxchunk.window`; this module only needs the attributes listed on the class.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ctxchunk import _chat, _openai_chat
from ctxchunk._apply import PolicyApplication
from ctxchunk._ledger import Mark as _Mark
from ctxchunk._ledger import Op as _Op
from ctxchunk._ledger import Unit as _Unit
from ctxchunk._ledger import View
from ctxchunk.change import Change, Reason
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import BudgetError, ChunkError, StateError
from ctxchunk.models import ModelSpec, audio_tokens
from ctxchunk.policies import Evict, Policy
from ctxchunk.roles import Kind, Role

__all__ = ["Admission"]


class Admission(PolicyApplication):
    """Admits chunks into a window's ledger (a base of ContextWindow)."""

    # What it works on, all set by ContextWindow.__init__.
    _audio: ModelSpec | None
    _fmt: _chat.ChatFormat
    _policy: Policy
    _view: View
    _capacity: int
    _open: _Unit | None
    _next_index: int
    _tail: str | None
    _protect: int
    _recent: collections.deque[str]
    # The most history an update of a role beginning now may take (the window's
    # method: the caps are its configuration).
    _update_cap: Callable[[Role], int]

    def _cost(self, chunks: Sequence[Chunk]) -> int:
        cost = _openai_chat.unit_cost(chunks, self._fmt, self._count)
        if self._audio is not None:
            for chunk in chunks:
                audio = self._audio_tokens(chunk)
                if audio is not None:
                    cost += audio - chunk.tokens
        return cost

    def _audio_tokens(self, chunk: Chunk) -> int | None:
        """What a server audio item costs instead of its text, or None (not one).

        A server-held turn (``item_id``) with a duration holds its audio; the whole
        item's audio is charged to its first part (the mirror deletes the item when
        that part leaves), later parts of a long item count as their text.
        """
        meta = chunk.meta
        if (
            chunk.kind is not Kind.TURN
            or chunk.part != 0
            or meta.item_id is None
            or meta.start_ms is None
            or meta.end_ms is None
            or chunk.role not in (Role.USER, Role.ASSISTANT)
        ):
            return None
        assert self._audio is not None
        return audio_tokens(
            meta.end_ms - meta.start_ms, role=chunk.role, spec=self._audio
        )

    def _transaction(self, apply: Callable[[_Op], None]) -> Change:
        if self._ledger.op is not None:
            raise StateError("a window operation is already under way (re-entrant)")
        op = _Op(tokens_before=self._ledger.tokens)
        saved = (self._open, self._next_index, self._ledger.tokens)
        self._ledger.op = op
        try:
            apply(op)
            if self._pending:
                # Last, so that a store that fails (a full disk) undoes the whole
                # operation: the window and its archive never disagree.
                self._store.add(self._pending)
                self._tail = self._pending[-1].chunk.id
        except BaseException:
            for undo in reversed(op.undo):
                undo()
            self._open, self._next_index, self._ledger.tokens = saved
            raise
        finally:
            self._pending = []
            self._pending_parts = {}
            self._ledger.op = None
            self._ledger.protected = set()
            self._ledger.target = None
        return Change(
            added=tuple(op.added),
            evicted=tuple(op.evicted),
            truncated=tuple(op.truncated),
            replaced=tuple(op.replaced),
            previous_ids=tuple(op.previous),
            instructions_changed=op.instructions,
            tokens_before=op.tokens_before,
            tokens_after=self._ledger.tokens,
        )

    def _run(
        self,
        chunks: Sequence[Chunk],
        *,
        advance: int,
        close_group: bool = False,
        refresh: Sequence[_Unit] = (),
        originals: Sequence[Chunk] = (),
        update: str | None = None,
    ) -> Change:
        """Admit ``chunks`` as one operation; each update is capped on its own.

        An update is a turn, a document or one tool call (:func:`_update_key`), or
        all of ``chunks`` when ``update`` names them as one.
        """
        ids: set[str] = set()
        leaving = {c.id for unit in refresh for c in unit.chunks}
        chunks = [self._with_tool_name(c) for c in chunks]
        for chunk in chunks:
            if chunk.tokens > self._chunk_tokens:
                raise ChunkError(
                    f"chunk {chunk.id} has {chunk.tokens} tokens, more than "
                    f"chunk_tokens={self._chunk_tokens}; cut it with "
                    f"max_tokens={self._chunk_tokens}"
                )
            if chunk.id in ids or (
                chunk.id in self._ledger.by_id and chunk.id not in leaving
            ):
                raise ChunkError(
                    f"chunk {chunk.id} (source {chunk.source!r:.60}) is already in "
                    f"the window; remove(source) it first to add it again"
                )
            ids.add(chunk.id)

        def apply(op: _Op) -> None:
            for unit in refresh:
                self._ledger.detach(unit)
                for chunk in unit.chunks:
                    self._archive_add(op, chunk, Reason.REFRESHED)
            # Raw results that were reduced: never in the window, kept whole.
            for chunk in originals:
                self._archive_add(op, chunk, Reason.REDUCED, report=False)
            self._next_index += advance
            if close_group:
                self._open = None
            keys = [update or _update_key(chunk) for chunk in chunks]
            last = {key: index for index, key in enumerate(keys)}
            rooms: dict[str, int] = {}
            index = 0
            while index < len(chunks):
                chunk = chunks[index]
                key = keys[index]
                if key != op.key:
                    self._begin_update(op, chunk, key)
                # Until its last chunk, an update keeps room for the marker it
                # leaves if the cap stops it, so the marker never evicts past it.
                reserve = 0
                if index < last[key] and self._may_cap(op, chunk, chunks[index + 1]):
                    reserve = rooms.get(key, -1)
                    if reserve < 0:
                        reserve = rooms[key] = self._marker_room(chunk)
                if key not in op.capped and self._admit(op, chunk, reserve=reserve):
                    index += 1
                    continue
                # The update has taken all it may: the rest of it goes to the
                # archive now, and a marker names it.
                rest = [chunk]
                index += 1
                while index < len(chunks) and keys[index] == key:
                    rest.append(chunks[index])
                    index += 1
                self._cap_update(op, key, rest)

        return self._transaction(apply)

    def _begin_update(self, op: _Op, chunk: Chunk, key: str) -> None:
        # The parts of one update may come back to back or interleaved (the calls
        # of a parallel group, then their results): each update keeps its own
        # tally and its own units.
        if op.key is not None:
            op.taken[op.key] = op.loss - op.key_loss
        op.key = key
        op.key_loss = op.loss - op.taken.get(key, 0)
        op.units = op.units_by_key.setdefault(key, set())
        op.cap = self._update_cap(chunk.role)
        op.user = chunk.role is Role.USER
        if chunk.kind is Kind.TURN and not chunk.pinned and key not in op.taken:
            recent = self._recent
            old = tuple(recent)
            recent.append(chunk.source)

            def undo() -> None:
                recent.clear()
                recent.extend(old)

            op.undo.append(undo)

    def _cap_update(self, op: _Op, key: str, rest: list[Chunk]) -> None:
        op.capped.add(key)
        while True:
            mark = self._savepoint(op)
            if self._archive_rest(op, rest, past_cap=False):
                return
            self._rollback(op, mark)
            if self._admit_rest_past_cap(op, rest):
                return
            # No room for the marker within the cap: the update's own newest chunk
            # goes to the archive too (what it evicted comes back), so the marker
            # fits without taking more history.
            if not op.admits or op.admits[-1][1] != key:
                break
            back, _, chunk = op.admits[-1]
            if chunk.kind is Kind.TOOL_CALL:
                # A call stays: its results' markers render with it, as the agent's
                # call. Given back, it would take them out of its group, and each
                # would render as a call of its own under a made-up id (a call
                # costs a few tokens; what it took comes within the allowance
                # past the cap below).
                break
            self._rollback(op, back)
            rest.insert(0, chunk)
        # Nothing of the update is left to give back: the marker may take one chunk
        # past the cap rather than leave archived parts nobody can find.
        self._archive_rest(op, rest, past_cap=True)

    def _admit_rest_past_cap(self, op: _Op, rest: list[Chunk]) -> bool:
        """Admit ``rest`` itself when it is no larger than the markers naming it.

        A marker stands for content to save room; one at least as long as what it
        names saves nothing, and would take the allowance past the cap that markers
        get anyway (one chunk). The content takes that allowance instead, so the
        model reads it rather than a pointer to it, and a call keeps its own
        result. False, with nothing changed, when the content is longer than its
        markers or does not fit even so.
        """
        if op.cap is None:
            return False
        markers = sum(
            self._marker_form(
                parts[0], standalone=self._place(parts[0]) is None, extra=parts
            )[1]
            for parts in _named_parts(rest).values()
        )
        if sum(c.tokens for c in rest) > markers:
            return False
        mark, cap = self._savepoint(op), op.cap
        op.cap += self._chunk_tokens
        if all(self._admit(op, chunk) for chunk in rest):
            return True
        self._rollback(op, mark)
        op.cap = cap
        return False

    def _archive_rest(self, op: _Op, rest: list[Chunk], *, past_cap: bool) -> bool:
        """Archive ``rest`` as oversize and admit the markers that name it.

        False, with the work half done, when a marker does not fit (never with
        ``past_cap``): the caller rolls back.
        """
        for chunk in rest:
            if chunk.kind is Kind.TOOL_CALL and chunk.meta.call_id is not None:
                self._set_open(None)
            self._archive_add(op, chunk, Reason.OVERSIZE)
        stretched = False
        for parts in _named_parts(rest).values():
            first = parts[0]
            marker = self._marker(
                first, standalone=self._place(first) is None, new=True
            )
            if marker.id in self._ledger.by_id:
                continue  # the same marker already names these parts
            if self._admit(op, marker):
                continue
            if not past_cap:
                return False
            if op.cap is not None and not stretched:
                # One chunk past the cap for the update's markers together (the
                # calls of one step leave one marker each).
                op.cap += self._chunk_tokens
                stretched = True
            if self._admit(op, marker):
                continue
            if marker.meta.call_id is None:
                # A turn's or a page's marker: a shorter one, alone.
                self._admit_shortest(op, first, standalone=(True,))
                continue
            # The result's group has no room for it (what else the group holds may
            # not leave while the marker joins it): a standalone marker, which the
            # group's other parts may make room for.
            alone = self._marker(first, standalone=True, new=True)
            if alone.id in self._ledger.by_id or self._admit(op, alone):
                continue
            # The window's room is pins, protected turns and the update's own
            # group: a shorter marker, down to the bare source, in the group or
            # alone (for which the group's other parts may make room). If not even
            # "[archived]" fits, the parts stay in the archive (read, recall) and
            # the change reports them, unnamed in the window.
            self._admit_shortest(op, first)
        return True

    def _admit_shortest(
        self, op: _Op, first: Chunk, standalone: Sequence[bool] = (False, True)
    ) -> None:
        """Admit the longest short form of ``first``'s marker that fits, if any."""
        for tight in (1, 2, 3):
            for alone in standalone:
                short = self._marker(first, standalone=alone, tight=tight, new=True)
                if short.id in self._ledger.by_id or self._admit(op, short):
                    return

    def _with_tool_name(self, chunk: Chunk) -> Chunk:
        """A result that names no tool takes the name of the call it answers.

        A result added after its call (an agent loop's usual order) then carries
        the tool name markers and ``ClearToolResults(exclude_tools=...)`` go by.
        """
        if chunk.kind is not Kind.TOOL_RESULT or chunk.meta.tool_name is not None:
            return chunk
        group = self._ledger.calls.get(chunk.meta.call_id or "")
        if group is None:
            return chunk
        for call in group.chunks:
            if call.kind is Kind.TOOL_CALL and call.meta.call_id == chunk.meta.call_id:
                if call.meta.tool_name is not None:
                    return _with_meta(chunk, tool_name=call.meta.tool_name)
                break
        return chunk

    def _place(self, chunk: Chunk) -> _Unit | None:
        if chunk.kind is Kind.TOOL_CALL:
            group = self._open
            if group is not None and group in self._ledger.main:
                return group
            return None
        if chunk.kind is Kind.TOOL_RESULT and chunk.meta.call_id is not None:
            group = self._ledger.calls.get(chunk.meta.call_id)
            if group is not None and group in self._ledger.main:
                return group
        return None

    def _protect_for(self, chunk: Chunk) -> set[str]:
        if self._protect == 0:
            return set()
        out = set(self._recent)  # its maxlen is protect_recent_turns
        if chunk.kind is Kind.TURN and not chunk.pinned:
            out.add(chunk.source)
        return out

    def _may_cap(self, op: _Op, chunk: Chunk, following: Chunk) -> bool:
        """Whether the cap could stop the update at ``following``.

        Else no marker room needs keeping: there is plenty free, or plenty left
        for the update to take.
        """
        if self._capacity - self._ledger.tokens >= chunk.tokens + _ROOMY:
            return False
        if op.cap is None:
            return False
        left = op.cap - (op.loss - op.key_loss)
        return left < chunk.tokens + following.tokens + _ROOMY

    def _marker_room(self, chunk: Chunk) -> int:
        """A bound on what a marker for ``chunk``'s update costs in the window."""
        marker = self._marker(chunk, standalone=True, extra=(chunk,))
        # Part ranges and token counts may grow by a few digits.
        return self._cost((marker,)) + 8

    def _admit(self, op: _Op, chunk: Chunk, *, reserve: int = 0) -> bool:
        """Admit ``chunk``, making room under the policy; False if it cannot fit.

        When it cannot fit within what the update may still take, whatever was
        evicted for it is put back first: nothing is lost for a chunk not admitted.
        """
        if chunk.pinned and chunk.role is Role.SYSTEM:
            op.instructions = True
        group = self._place(chunk)
        if group is None:
            needed = self._cost((chunk,))
        else:
            before = group.chunks
            joined = None
            if self._audio is None:
                joined = _openai_chat.answer_cost(before, chunk, self._fmt, self._count)
            if joined is None:
                joined = self._cost((*before, chunk)) - group.tokens
            needed = joined
        self._ledger.protected = self._protect_for(chunk)
        self._ledger.target = group
        mark = self._savepoint(op)
        # The reserve is made room for when the cap allows, not required.
        self._make_room(op, needed + reserve)
        if self._capacity - self._ledger.tokens < needed:
            self._rollback(op, mark)
            if chunk.pinned:
                raise BudgetError(
                    f"cannot pin {chunk.tokens} more tokens: the window holds "
                    f"{self._ledger.tokens} of {self._capacity}, and what a pin may "
                    f"take from the history is capped at max_update_tokens (pins and "
                    f"protected turns never leave); raise the budget or the cap, or "
                    f"pin less"
                )
            return False
        if group is None:
            tail = self._ledger.main.tail
            op.previous.append(self._ledger.last_item_id(tail))
            unit = _Unit((chunk,), needed)
            self._ledger.attach(unit, tail)
        else:
            op.previous.append(self._ledger.last_item_id(group))
            unit = group
            if group.chunks is before:
                self._ledger.extend(group, chunk, group.tokens + needed)
            else:  # the policy changed the group: recount
                self._ledger.set_chunks(group, (*group.chunks, chunk))
        op.added.append(chunk)
        op.admits.append((mark, op.key or "", chunk))
        op.units.add(unit)
        opens = chunk.kind is Kind.TOOL_CALL and not any(
            c.kind is Kind.TOOL_RESULT for c in unit.chunks
        )
        self._set_open(unit if opens else None)
        return True

    def _make_room(self, op: _Op, needed: int) -> None:
        actions = iter(self._policy.make_room(self._view, needed))
        # An action the update's cap refuses ends the update's taking: the policy
        # chose it, and taking something else instead (the backstop's oldest unit,
        # whatever its role) would override the policy's order.
        refused = False
        try:
            for action in actions:
                if not self._apply(op, action):
                    refused = True
                    break
        finally:
            close = getattr(actions, "close", None)
            if callable(close):
                close()
        if refused or self._capacity - self._ledger.tokens >= needed:
            return
        # The backstop: whatever the policy left undone, oldest first.
        for unit in self._view.candidates():
            if self._capacity - self._ledger.tokens >= needed:
                break
            if not self._apply(op, Evict(unit)):
                break

    def _savepoint(self, op: _Op) -> _Mark:
        return _Mark(
            undo=len(op.undo),
            added=len(op.added),
            evicted=len(op.evicted),
            replaced=len(op.replaced),
            archive=len(self._pending),
            loss=op.loss,
            open=self._open,
            admits=len(op.admits),
        )

    def _rollback(self, op: _Op, mark: _Mark) -> None:
        for undo in reversed(op.undo[mark.undo :]):
            undo()
        del op.undo[mark.undo :]
        del op.added[mark.added :]
        del op.previous[mark.added :]
        del op.evicted[mark.evicted :]
        del op.replaced[mark.replaced :]
        del self._pending[mark.archive :]
        op.loss = mark.loss
        self._open = mark.open
        del op.admits[mark.admits :]

    def _set_open(self, unit: _Unit | None) -> None:
        self._open = unit


_ROOMY = 1024
"""Free room past which no marker reservation is needed: more than any marker
costs (its text is one line of at most a few hundred characters)."""


def _named_parts(rest: Sequence[Chunk]) -> dict[str, list[Chunk]]:
    """The chunks of ``rest`` a marker names (calls aside), by source, in order."""
    parts: dict[str, list[Chunk]] = {}
    for chunk in rest:
        if chunk.kind is not Kind.TOOL_CALL:
            parts.setdefault(chunk.source, []).append(chunk)
    return parts


def _update_key(chunk: Chunk) -> str:
    """The update a chunk belongs to: its turn or document, or its tool call."""
    if chunk.kind in (Kind.TOOL_CALL, Kind.TOOL_RESULT) and chunk.meta.call_id:
        return "call:" + chunk.meta.call_id
    return chunk.source


def _with_meta(chunk: Chunk, **fields: Any) -> Chunk:
    return attrs.evolve(chunk, meta=attrs.evolve(chunk.meta, **fields))
