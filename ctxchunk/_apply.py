"""Policy application: what a policy's actions do to a window.

:class:`PolicyApplication` is the half of :class:`~ctxchunk.window.ContextWindow` that
carries out :class:`~ctxchunk.policies.Evict`, :class:`~ctxchunk.policies.Mask`,
:class:`~ctxchunk.policies.Replace` and :class:`~ctxchunk.policies.Edit` on the
window's :class:`~ctxchunk._ledger.Ledger`: a tool result leaves part by part, each
under the update's cap, and a *marker* (a chunk whose ``meta.marks`` names the source)
takes the place of what was archived, so the model can read it back. Everything it
changes goes through the ledger's undo journal and the operation's pending archive
entries, so a failed operation leaves the window as it was.

Admission (what an update may take, and the transaction around each operation) is
:class:`~ctxchunk._admission.Admission`'s, a subclass; the window's public contract
and its save/load stay in :mod:`ctxchunk.window`. This module only needs the
attributes listed on the class.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

import attrs

from ctxchunk import _openai_chat
from ctxchunk._ledger import Ledger
from ctxchunk._ledger import Op as _Op
from ctxchunk._ledger import Part as _Part
from ctxchunk._ledger import Unit as _Unit
from ctxchunk.archive import Archive
from ctxchunk.change import Eviction, Reason, Replacement, is_session_item
from ctxchunk.chunk import Chunk, ChunkMeta, make_chunk_id
from ctxchunk.exceptions import PolicyError
from ctxchunk.policies import Edit, Evict, Mask, Replace
from ctxchunk.roles import Kind, Role

__all__ = ["PolicyApplication"]


class PolicyApplication:
    """Applies a policy's actions to a window's ledger (a base of ContextWindow)."""

    # What it works on, all set by ContextWindow.__init__.
    _ledger: Ledger
    _store: Archive
    _pending: list[Eviction]
    _pending_parts: dict[str, dict[int, Chunk]]
    _archive_epoch: int
    _chunk_tokens: int
    _count: Callable[[str], int]
    # What chunks as one unit cost in a request (Admission's method, a subclass).
    _cost: Callable[[Sequence[Chunk]], int]

    def _may_take(self, op: _Op, loss: int, *, piece: bool = True) -> bool:
        """Whether the update may lose ``loss`` more tokens of history.

        One ``piece`` (a unit, a part) may always be the first thing an update
        takes, however large, so that it can come in at all; an update that is
        already partly in (it found room for its first chunks) keeps within the cap,
        and its rest goes to the archive. A summary or an edit must fit within the
        cap.
        """
        if op.cap is None or loss <= 0:
            return True
        taken = op.loss - op.key_loss
        # A user's turn keeps the old rule: their own words matter more than the
        # oldest piece of history it displaces.
        first = piece and taken == 0 and (not op.units or op.user)
        return first or taken + loss <= op.cap

    def _apply(self, op: _Op, action: object) -> bool:
        """Apply one policy action; False when the update may take no more."""
        if isinstance(action, (Evict, Mask)):
            stub = isinstance(action, Mask)
            target = action.unit
            if isinstance(target, _Part):
                if not target.live() or not self._ledger.evictable(target.group):
                    raise PolicyError(
                        f"{type(action).__name__} names a part that is not in the "
                        f"window or may not be touched; offer only view.candidates()"
                    )
                return self._drop_result(op, target.group, target.chunk, stub=stub)
            unit = self._live(target, type(action).__name__)
            if unit.group:
                exclude = action.exclude_tools if isinstance(action, Mask) else ()
                return self._drop_group(op, unit, stub=stub, exclude=exclude)
            if stub and unit.kind is Kind.DOCUMENT and not unit.is_marker():
                return self._mask_document(op, unit)
            if not self._may_take(op, _content_tokens(unit.chunks)):
                return False
            self._evict(op, unit, Reason.POLICY)
            return True
        if isinstance(action, Replace):
            units = [self._live(u, "Replace") for u in action.units]
            if not units:
                raise PolicyError("Replace needs at least one unit")
            for before, after in itertools.pairwise(units):
                if self._ledger.main.after(before) is not after:
                    raise PolicyError("Replace needs consecutive units")
            new = self._new_chunk(action.chunk, "Replace")
            if new.kind in (Kind.TOOL_CALL, Kind.TOOL_RESULT):
                raise PolicyError("Replace makes a standalone chunk, not tool traffic")
            cost = self._cost((new,))
            if cost > sum(u.tokens for u in units):
                raise PolicyError("a Replace must not make the window larger")
            gone = [c for unit in units for c in unit.chunks]
            if not self._may_take(op, _content_tokens(gone) - new.tokens, piece=False):
                return False
            anchor = self._ledger.main.before(units[0])
            for unit in units:
                self._ledger.detach(unit)
                for chunk in unit.chunks:
                    self._archive_add(op, chunk, Reason.REPLACED, report=False)
            self._ledger.attach(_Unit((new,), cost), anchor)
            replacement = Replacement(tuple(gone), new)
            op.replaced.append(replacement)
            op.loss += max(0, _content_tokens(gone) - new.tokens)
            return True
        if isinstance(action, Edit):
            if isinstance(action.unit, _Part):
                raise PolicyError("Edit needs a whole unit; evict or mask a part")
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
            lost = max(0, _content_tokens(old) - new.tokens)
            if not self._may_take(op, lost, piece=False):
                return False
            self._ledger.set_chunks(unit, tuple(chunks))
            self._retire(op, unit)
            for chunk in old:
                self._archive_add(op, chunk, Reason.REPLACED, report=False)
            op.replaced.append(Replacement(tuple(old), new))
            op.loss += lost
            return True
        raise PolicyError(
            f"a policy yielded {action!r:.80}; yield Evict, Mask, Replace or Edit"
        )

    def _retire(self, op: _Op, unit: _Unit) -> None:
        """Take an edited or masked group out of the unedited lists (once)."""
        if unit.masked:
            return
        unit.masked = True
        removed = []
        if unit in self._ledger.fresh:
            removed = [
                (lst, lst.remove(unit))
                for lst in (self._ledger.fresh, *self._ledger.fresh_lists(unit))
            ]

        def undo() -> None:
            for lst, prior in reversed(removed):
                lst.insert_after(unit, prior)
            unit.masked = False

        op.undo.append(undo)

    def _drop_group(
        self, op: _Op, unit: _Unit, *, stub: bool, exclude: Collection[str]
    ) -> bool:
        """Evict or mask a tool group's results part by part, each under the cap."""
        if stub and self._mask_gain(unit, frozenset(exclude)) <= 0:
            self._retire(op, unit)
            return True
        if not stub and len(unit.chunks) == 2:
            call, result = unit.chunks
            if (
                result.kind is Kind.TOOL_RESULT
                and result.meta.marks is None
                and call.meta.call_id == result.meta.call_id
            ):
                # One call and its one result (the usual group): what the part by
                # part loop below does, without its bookkeeping.
                if not self._may_take(op, result.tokens + _content_tokens((call,))):
                    return False
                self._archive_add(op, result, Reason.POLICY)
                self._archive_add(op, call, Reason.POLICY)
                self._ledger.detach(unit)
                return True
        results = [c for c in unit.results() if c.meta.tool_name not in exclude]
        if stub:
            self._retire(op, unit)
        elif not unit.results():
            # Only calls (and markers) are left: they leave together.
            if not self._may_take(op, _content_tokens(unit.chunks)):
                return False
            self._evict(op, unit, Reason.POLICY)
            return True
        for chunk in results:
            if unit not in self._ledger.main:
                break
            if not self._drop_result(op, unit, chunk, stub=stub):
                return False
        return True

    def _drop_result(self, op: _Op, group: _Unit, chunk: Chunk, *, stub: bool) -> bool:
        """Take one result part out of its group, leaving a marker that names it.

        Without ``stub``, the call (with its marker) leaves with its last part.
        """
        call_id = chunk.meta.call_id
        chunks = list(group.chunks)
        position = next(i for i, c in enumerate(chunks) if c is chunk)
        del chunks[position]
        of_call = [c for c in chunks if c.meta.call_id == call_id]
        last = not any(
            c.kind is Kind.TOOL_RESULT and c.meta.marks is None for c in of_call
        )
        leaving = of_call if last and not stub else []
        if not self._may_take(op, chunk.tokens + _content_tokens(leaving)):
            return False
        if leaving:
            self._archive_add(op, chunk, Reason.POLICY)
            for other in leaving:
                self._archive_add(op, other, Reason.POLICY)
            kept = [c for c in chunks if c.meta.call_id != call_id]
            if kept:
                self._ledger.set_chunks(group, tuple(kept))
            else:
                self._ledger.detach(group)
            return True
        self._archive_add(op, chunk, Reason.MASKED)
        old = next((c for c in of_call if c.meta.marks is not None), None)
        marker = self._marker(chunk, standalone=False, new=True)
        if old is not None and old.id == marker.id:
            self._ledger.set_chunks(group, tuple(chunks))
            return True
        if old is not None:
            at = next(i for i, c in enumerate(chunks) if c is old)
            chunks[at] = marker
            self._archive_add(op, old, Reason.REPLACED)
        else:
            firsts = [
                i
                for i, c in enumerate(chunks)
                if c.kind is Kind.TOOL_RESULT and c.meta.call_id == call_id
            ]
            chunks.insert(min([position, *firsts]), marker)
        self._ledger.set_chunks(group, tuple(chunks))
        at = next(i for i, c in enumerate(group.chunks) if c is marker)
        self._report_marker(op, group, at)
        return True

    def _mask_document(self, op: _Op, unit: _Unit) -> bool:
        """Replace a document part by a marker (one per run of masked parts)."""
        chunk = unit.chunks[0]
        if not self._may_take(op, chunk.tokens):
            return False
        neighbour = None
        for near in (self._ledger.main.before(unit), self._ledger.main.after(unit)):
            if (
                near is not None
                and near.is_marker()
                and near.chunks[0].meta.marks == chunk.source
                and self._ledger.evictable(near)
            ):
                neighbour = near
                break
        marker = self._marker(chunk, standalone=True, extra=(chunk,), new=True)
        named = self._ledger.by_id.get(marker.id)
        if named is not None and named is not neighbour:
            # The page was read again after this part was archived, and the
            # marker naming it still stands elsewhere: the part leaves, named.
            self._archive_add(op, chunk, Reason.MASKED)
            self._ledger.detach(unit)
            return True
        cost = self._cost((marker,))
        before = unit.tokens + (neighbour.tokens if neighbour is not None else 0)
        if cost >= before:
            self._retire(op, unit)
            return True
        self._archive_add(op, chunk, Reason.MASKED)
        if neighbour is None:
            self._ledger.set_chunks(unit, (marker,))
            self._retire(op, unit)
            target = unit
        else:
            self._ledger.detach(unit)
            if neighbour.chunks[0].id == marker.id:
                return True
            self._archive_add(op, neighbour.chunks[0], Reason.REPLACED)
            self._ledger.set_chunks(neighbour, (marker,))
            target = neighbour
        self._report_marker(op, target, 0)
        return True

    def _report_marker(self, op: _Op, unit: _Unit, at: int) -> None:
        marker = unit.chunks[at]
        previous = None
        for chunk in reversed(unit.chunks[:at]):
            if is_session_item(chunk):
                previous = chunk.id
                break
        if previous is None:
            previous = self._ledger.last_item_id(self._ledger.main.before(unit))
        op.added.append(marker)
        op.previous.append(previous)

    def _marker(
        self,
        chunk: Chunk,
        *,
        standalone: bool,
        extra: Sequence[Chunk] = (),
        tight: int = 0,
        new: bool = False,
    ) -> Chunk:
        """The marker naming the archived parts of ``chunk``'s source.

        ``tight`` skips that many of the longest forms (for a marker that must fit
        a tiny room). A marker answering a call stays a ``tool_result`` of that
        call; any other is a standalone ``document`` chunk, rendered as a
        ``read_document`` call. A ``new`` marker (one to admit) takes the next
        form rather than the id of a marker that left in this operation: nothing
        that leaves comes back within one operation, so a change stays readable
        as "added, then evicted".
        """
        text, count, part = self._marker_form(
            chunk, standalone=standalone, extra=extra, tight=tight, new=new
        )
        source = chunk.source
        if standalone or chunk.kind is not Kind.TOOL_RESULT:
            kind = Kind.DOCUMENT if chunk.kind is not Kind.TOOL_RESULT else chunk.kind
            meta = ChunkMeta(
                url=chunk.meta.url,
                title=chunk.meta.title,
                tool_name=chunk.meta.tool_name if kind is Kind.TOOL_RESULT else None,
                marks=source,
            )
        else:
            kind = Kind.TOOL_RESULT
            meta = attrs.evolve(chunk.meta, marks=source)
        return Chunk.create(
            text,
            role=Role.TOOL,
            kind=kind,
            source=source,
            part=part,
            parts=chunk.parts,
            meta=meta,
            tokens=count,
        )

    def _marker_form(
        self,
        chunk: Chunk,
        *,
        standalone: bool,
        extra: Sequence[Chunk] = (),
        tight: int = 0,
        new: bool = False,
    ) -> tuple[str, int, int]:
        """The text, token count and part of :meth:`_marker`'s chunk, unbuilt."""
        source = chunk.source
        archived = self._archived_parts(source)
        for other in extra:
            archived.setdefault(other.part, other)
        parts = sorted(archived)
        tokens = sum(c.tokens for c in archived.values())
        total = chunk.parts
        if chunk.kind is Kind.TOOL_RESULT:
            what = f"result of {chunk.meta.tool_name or 'the tool'}"
        elif chunk.kind is Kind.TURN:
            what = f"{chunk.role.value} turn {source}"
        else:
            what = chunk.meta.title or chunk.meta.url or f"document {source}"
            what = what[:80]
        if len(parts) >= total:
            span = "all of it" if total == 1 else f"all {total} parts"
        else:
            span = f"part{'s' if len(parts) > 1 else ''} {_ranges(parts)} of {total}"
        quoted = _json_string(source)
        args = f'{{"source": {quoted}, "part": {parts[0]}}}'
        end = "" if standalone else "\n"
        part = min(parts[0], total - 1)
        left = self._left_markers() if new else set()
        text, count = f"[archived]{end}", -1
        taken: tuple[str, int] | None = None
        # The longest form that fits in a chunk (markers obey the chunk bound too),
        # each built only if the one before it does not fit.
        for form in _marker_forms(what, span, tokens, args, quoted, end, tight):
            count = self._count(form)
            if count > self._chunk_tokens:
                continue
            if left and make_chunk_id(source, part, form) in left:
                taken = taken or (form, count)
                continue
            text = form
            break
        else:
            if taken is not None:
                text, count = self._spaced(source, part, taken, end, left)
        return text, count, part

    def _spaced(
        self, source: str, part: int, form: tuple[str, int], end: str, left: set[str]
    ) -> tuple[str, int]:
        """``form`` with spaces added until its id is not one of ``left``.

        For a window so small that every form that fits is a marker's that left
        in this operation: the same words with an id of their own. ``form`` itself
        if no spaced form fits.
        """
        body = form[0][: len(form[0]) - len(end)]
        for pad in range(1, len(left) + 2):
            text = body + " " * pad + end
            if make_chunk_id(source, part, text) in left:
                continue
            count = self._count(text)
            return (text, count) if count <= self._chunk_tokens else form
        return form

    def _left_markers(self) -> set[str]:
        """The ids of the markers that left the window in the operation under way."""
        op = self._ledger.op
        if op is None:
            return set()
        left = {e.chunk.id for e in op.evicted if e.chunk.meta.marks is not None}
        left.update(c.id for r in op.replaced for c in r.old if c.meta.marks)
        return left

    def _part_gain(self, group: _Unit, chunk: Chunk) -> int:
        """What evicting ``chunk`` alone from ``group`` frees (may be negative)."""
        chunks = [c for c in group.chunks if c is not chunk]
        call_id = chunk.meta.call_id
        marker = self._marker(chunk, standalone=False, extra=(chunk,))
        old = next(
            (
                i
                for i, c in enumerate(chunks)
                if c.meta.marks and c.meta.call_id == call_id
            ),
            None,
        )
        if old is None:
            chunks.append(marker)
        else:
            chunks[old] = marker
        return group.tokens - self._cost(chunks)

    def _mask_gain(self, unit: object, exclude: frozenset[str]) -> int:
        if isinstance(unit, _Part):
            return max(0, unit.tokens) if unit.live() else 0
        if not isinstance(unit, _Unit) or unit not in self._ledger.main or unit.masked:
            return 0
        # A policy asks, then the window asks again as it masks: the answer holds
        # while the unit's chunks and the archive are unchanged.
        key = (exclude, self._archive_epoch)
        memo = unit.gain_memo
        if memo is not None and memo[0] == key:
            return memo[1]
        gain = self._masked_gain(unit, exclude)
        unit.gain_memo = (key, gain)
        return gain

    def _masked_gain(self, unit: _Unit, exclude: frozenset[str]) -> int:
        if unit.group:
            quick = self._single_part_gain(unit, exclude)
            return quick if quick is not None else self._built_gain(unit, exclude)
        if unit.kind is Kind.DOCUMENT and not unit.is_marker():
            chunk = unit.chunks[0]
            marker = self._marker(chunk, standalone=True, extra=(chunk,))
            return max(0, unit.tokens - self._cost((marker,)))
        return 0

    def _single_part_gain(self, unit: _Unit, exclude: frozenset[str]) -> int | None:
        """:meth:`_built_gain` of a group whose calls each have one result chunk.

        Each marker would take its result's place as the one chunk of the same tool
        message, so the gain is the difference of their counts, call by call, and
        no marker needs building to price it. None for any other group.
        """
        gain = 0
        seen: set[str | None] = set()
        for chunk in unit.chunks:
            if chunk.kind is not Kind.TOOL_RESULT or chunk.meta.tool_name in exclude:
                continue
            call_id = chunk.meta.call_id
            if chunk.meta.marks is not None or call_id in seen:
                return None
            seen.add(call_id)
            _, count, _ = self._marker_form(chunk, standalone=False, extra=(chunk,))
            gain += chunk.tokens - count
        return max(0, gain) if seen else None

    def _built_gain(self, unit: _Unit, exclude: frozenset[str]) -> int:
        """What masking a group's results frees, priced with the markers built."""
        chunks = [
            c
            for c in unit.chunks
            if not (c.kind is Kind.TOOL_RESULT and c.meta.tool_name not in exclude)
        ]
        by_call: dict[str | None, list[Chunk]] = {}
        for chunk in unit.results():
            if chunk.meta.tool_name not in exclude:
                by_call.setdefault(chunk.meta.call_id, []).append(chunk)
        if not by_call:
            return 0
        chunks.extend(
            self._marker(parts[0], standalone=False, extra=parts)
            for parts in by_call.values()
        )
        return max(0, unit.tokens - self._cost(chunks))

    def _live(self, unit: object, what: str) -> _Unit:
        if not isinstance(unit, _Unit) or unit not in self._ledger.main:
            raise PolicyError(f"{what} names a unit that is not in the window")
        if not self._ledger.evictable(unit):
            raise PolicyError(
                f"{what} names a pinned or protected unit ({unit.chunks[0].id}); "
                f"offer only units from view.candidates()"
            )
        return unit

    def _new_chunk(self, chunk: object, what: str) -> Chunk:
        if not isinstance(chunk, Chunk):
            raise PolicyError(f"{what} needs a Chunk, got {type(chunk).__name__}")
        if chunk.tokens > self._chunk_tokens or chunk.id in self._ledger.by_id:
            raise PolicyError(
                f"{what}'s chunk is larger than chunk_tokens or already in the window"
            )
        if chunk.pinned:
            raise PolicyError(f"{what}'s chunk must not be pinned")
        actual = self._count(chunk.text)
        if actual != chunk.tokens:
            raise PolicyError(
                f"{what}'s chunk says tokens={chunk.tokens} but its text is {actual} "
                f"tokens under the window's tokenizer (view.tokenizer); count it with "
                f"that one"
            )
        return chunk

    def _evict(self, op: _Op, unit: _Unit, reason: Reason) -> None:
        self._ledger.detach(unit)
        for chunk in unit.chunks:
            self._archive_add(op, chunk, reason)

    def _archive_add(
        self, op: _Op, chunk: Chunk, reason: Reason, *, report: bool = True
    ) -> None:
        eviction = Eviction(chunk, reason)
        self._pending.append(eviction)
        if report:
            op.evicted.append(eviction)
            if (
                reason not in (Reason.OVERSIZE, Reason.REFRESHED)
                and chunk.meta.marks is None
            ):
                op.loss += chunk.tokens
        if chunk.meta.marks is None:
            parts = self._pending_parts.setdefault(chunk.source, {})
            if chunk.part not in parts:
                parts[chunk.part] = chunk
                self._archive_epoch += 1

                def undo() -> None:
                    self._archive_epoch += 1
                    del parts[chunk.part]
                    if not parts:
                        self._pending_parts.pop(chunk.source, None)

                op.undo.append(undo)

    def _archived_parts(self, source: str) -> dict[int, Chunk]:
        """Every archived part of ``source``: the store's, then this operation's."""
        parts = self._store.parts(source)
        pending = self._pending_parts.get(source)
        if pending:
            for index, chunk in pending.items():
                parts.setdefault(index, chunk)
        return parts


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False)


def _json_string(text: str) -> str:
    """``json.dumps(text, ensure_ascii=False)``, without building an encoder."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nothing JSON escapes
    return _JSON_TEXT.encode(text)


def _marker_forms(
    what: str, span: str, tokens: int, args: str, quoted: str, end: str, tight: int
) -> Iterator[str]:
    """A marker's texts, longest first, from the ``tight``-th on."""
    if tight <= 0:
        yield (
            f"[Archived: {what}, {span}, {tokens:,} tokens. Read it back with "
            f"{_openai_chat.DOCUMENT_TOOL} {args}.]{end}"
        )
    if tight <= 1:
        yield f"[Archived {tokens:,} tokens: {_openai_chat.DOCUMENT_TOOL} {args}]{end}"
    if tight <= 2:
        yield f"[archived {quoted}]{end}"
    yield f"[archived]{end}"


def _content_tokens(chunks: Iterable[Chunk]) -> int:
    """Tokens of history in ``chunks``: markers are bookkeeping, not history."""
    return sum(c.tokens for c in chunks if c.meta.marks is None)


def _ranges(parts: Sequence[int]) -> str:
    """``[0, 1, 2, 4]`` as ``"1-3, 5"`` (parts counted from 1)."""
    out: list[str] = []
    start = prev = parts[0]
    for part in [*parts[1:], None]:
        if part is not None and part == prev + 1:
            prev = part
            continue
        out.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
        if part is not None:
            start = prev = part
    return ", ".join(out)
