"""Truncation policies: what a context window lets go when a new chunk needs room.

A window admits content one chunk at a time. Before each admission it asks its policy
to make room: :meth:`Policy.make_room` gets a read-only :class:`WindowView` and the
number of tokens the chunk needs, and yields actions, which the window applies one by
one as they are yielded (so the view is always current):

- :class:`Evict` a unit to the archive;
- :class:`Mask` a unit: its content goes to the archive and a short *marker* (a stub)
  stays in its place, naming what was archived and how to read it back;
- :class:`Replace` a run of consecutive units by one new chunk (a summary);
- :class:`Edit` some chunks of one unit into one new chunk.

A unit is one chunk, a tool group (the calls of one assistant message and their
results), or one *part* of a tool result cut into several chunks: the window offers
such a result part by part, so it leaves chunk by chunk (the call stays while any part
or a marker remains, and leaves with the last). A policy only ever sees units it may
touch through :meth:`WindowView.candidates`: pinned chunks, the protected recent
turns and the update being admitted are never offered, and the window rejects an
action on them with :class:`~ctxchunk.exceptions.PolicyError`.

The window also caps what one update may take (``max_update_tokens``): once the
update has displaced that much history, the window stops applying the policy's
actions, and what of the update does not fit goes to the archive, named by a marker.
If the chunk still does not fit once the policy is done, the window evicts the oldest
candidates itself, within the same cap.

To write a policy, implement ``make_room`` (and ``to_dict`` if the window's JSON
state should name it)::

    class DropNewestDocuments:
        def make_room(self, view, needed):
            docs = [u for u in view.candidates() if u.kind is Kind.DOCUMENT]
            for unit in reversed(docs):
                if view.free >= needed:
                    return
                yield Evict(unit)

This module never imports the window: policies see it only through the protocols.
"""

from __future__ import annotations

import re
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Protocol, runtime_checkable

import attrs

from ctxchunk._checks import check_int
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.roles import Kind, Role
from ctxchunk.split import split_text
from ctxchunk.tokens import Tokenizer

__all__ = [
    "Action",
    "Chain",
    "ClearToolResults",
    "DropOldest",
    "Edit",
    "Evict",
    "Mask",
    "MiddleOut",
    "Policy",
    "Recommended",
    "Replace",
    "RetentionRatio",
    "RolePriority",
    "Summarize",
    "Summarizer",
    "UnitView",
    "WholeUpdateBaseline",
    "WindowView",
    "extractive_summary",
    "policy_from_dict",
]


@runtime_checkable
class UnitView(Protocol):
    """One eviction unit as a policy sees it: a chunk, or a tool call group."""

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """The unit's chunks, in order."""
        ...

    @property
    def tokens(self) -> int:
        """What the unit's rendered messages cost, framing included."""
        ...

    @property
    def role(self) -> Role:
        """The role the unit is grouped under: ``tool`` for all tool context."""
        ...

    @property
    def kind(self) -> Kind:
        """The kind of the unit's first chunk."""
        ...

    @property
    def whole(self) -> bool:
        """Whether the unit is whole: False for one part of a tool result.

        A part can be evicted or masked, but not replaced or edited (its group
        stays).
        """
        ...

    @property
    def masked(self) -> bool:
        """Whether a :class:`Mask` or an :class:`Edit` already took its content.

        Masking it again frees nothing. False for a part.
        """
        ...


class WindowView(Protocol):
    """The read-only view of a window a policy works with."""

    @property
    def capacity(self) -> int:
        """The most tokens the window may hold: ``budget - reserve_tokens``."""
        ...

    @property
    def tokens(self) -> int:
        """The window's current rendered size."""
        ...

    @property
    def free(self) -> int:
        """``capacity - tokens``."""
        ...

    @property
    def chunk_tokens(self) -> int:
        """The largest chunk the window accepts."""
        ...

    @property
    def tokenizer(self) -> Tokenizer:
        """The window's tokenizer."""
        ...

    def candidates(
        self, role: Role | None = None, *, newest_first: bool = False
    ) -> Iterator[UnitView]:
        """Yield the units a policy may touch, oldest first, optionally of one role.

        With ``newest_first``, the same units in the opposite order (the parts of a
        tool result too), walked lazily: a policy that acts on the newest few does
        not read the rest of the window.

        Evicting or masking the unit just yielded is safe while iterating, in either
        order; other changes are not. A unit is the same object on every walk, and
        a part of a tool result compares equal (and hashes alike) to the same part
        yielded by another walk, so a policy may keep the ones it has seen in a set.
        """
        ...

    def following(self, unit: UnitView) -> UnitView | None:
        """Return the unit right after ``unit`` in the window, or None."""
        ...

    def evictable(self, unit: UnitView) -> bool:
        """Whether a policy may touch ``unit``."""
        ...

    def tool_groups(
        self, *, unedited: bool = False, exclude_tools: Collection[str] = ()
    ) -> Iterator[UnitView]:
        """Yield the tool call groups, oldest first; only unedited ones if asked.

        With ``exclude_tools``, skip the groups none of whose results comes from a
        tool outside it. With ``unedited=True`` the skipped groups cost nothing, so
        a window full of them is not scanned on every call.
        """
        ...

    def newest_tool_groups(self, count: int) -> list[UnitView]:
        """Return the newest ``count`` tool call groups, newest first."""
        ...

    def cost_of(self, chunks: Sequence[Chunk]) -> int:
        """Return what ``chunks`` would cost rendered as one unit."""
        ...

    def mask_gain(self, unit: UnitView, *, exclude_tools: Collection[str] = ()) -> int:
        """Return the tokens :class:`Mask` of ``unit`` would free (0 if none)."""
        ...


def _to_names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise InvalidTypeError(
            f"exclude_tools must be a collection of tool names, got {value!r:.40}; "
            f"write exclude_tools=({value!r:.40},)"
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"exclude_tools must be a collection of tool names, got "
            f"{type(value).__name__}: {value!r:.40}"
        )
    items = list(value)
    for name in items:
        if not isinstance(name, str):
            raise InvalidTypeError(f"exclude_tools must hold str, got {name!r:.80}")
    return frozenset(items)


@attrs.frozen
class Evict:
    """Move ``unit`` to the archive.

    A tool group is evicted part by part (each result part, and each call with its
    last part), so the window's cap on what one update may take holds.
    """

    unit: UnitView


@attrs.frozen
class Mask:
    """Move ``unit``'s content to the archive and leave a marker in its place.

    The marker names the tool or document, how many tokens were archived and the
    ``read_document`` arguments that read them back; a tool call stays, answered by
    the marker. Consecutive masked parts of one document share one marker. When the
    marker would not be smaller than the content, nothing changes, and the unit is
    no longer offered by ``tool_groups(unedited=True)``. Markers are themselves
    evictable.
    """

    unit: UnitView
    exclude_tools: frozenset[str] = attrs.field(default=(), converter=_to_names)


@attrs.frozen
class Replace:
    """Replace consecutive ``units`` by ``chunk``, standing where the first stood."""

    units: tuple[UnitView, ...]
    chunk: Chunk


@attrs.frozen
class Edit:
    """Replace the chunks ``old`` of ``unit`` by ``new``, where ``old[0]`` stood."""

    unit: UnitView
    old: tuple[Chunk, ...]
    new: Chunk


Action = Evict | Mask | Replace | Edit


class Policy(Protocol):
    """What a window asks of a truncation policy: only :meth:`make_room`.

    A policy may also define ``to_dict() -> dict`` so that a window's JSON state
    can name it (every shipped policy does); without it, pass the policy back to
    the window's ``from_json``.

    >>> class KeepEverything:
    ...     def make_room(self, view: WindowView, needed: int) -> Iterable[Action]:
    ...         return ()
    >>> policy: Policy = KeepEverything()
    """

    def make_room(self, view: WindowView, needed: int) -> Iterable[Action]:
        """Yield the actions that free room for a chunk costing ``needed`` tokens.

        Called before every admission, also when the chunk already fits (a policy
        may act early, for example on a trigger). Actions are applied as yielded;
        the window stops asking for more once the chunk fits or the update has
        taken all it may.
        """
        ...


def _evict_from(
    units: Iterator[UnitView], view: WindowView, needed: int
) -> Iterator[Action]:
    """Evict ``units`` in order until ``needed`` tokens are free.

    The room is checked before the next unit is looked up: once the chunk fits,
    the window is not walked any further.
    """
    while view.free < needed:
        unit = next(units, None)
        if unit is None:
            return
        yield Evict(unit)


def _evict_oldest(
    view: WindowView, needed: int, role: Role | None = None
) -> Iterator[Action]:
    return _evict_from(view.candidates(role), view, needed)


@attrs.frozen
class DropOldest:
    """Evict the oldest unpinned, unprotected unit until the new chunk fits.

    Keeps the most recent history; loses the oldest. One operation adding ``u``
    tokens evicts at most ``u`` tokens plus one unit.
    """

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Evict oldest first until ``needed`` tokens are free."""
        return _evict_oldest(view, needed)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"name": "DropOldest"}``."""
        return {"name": "DropOldest"}


def _float(attribute: attrs.Attribute[Any], value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{attribute.name} must be a float, got {type(value).__name__}: "
            f"{value!r:.80}"
        )
    return float(value)


def _check_share(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """A share of the window in (0, 1], such as ``ratio`` or ``retain``."""
    if not 0.0 < _float(attribute, value) <= 1.0:
        raise InvalidArgumentError(
            f"{attribute.name}={value} must be in (0, 1]; 0.8 keeps 80% of the "
            f"window after a cut"
        )


def _check_head(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """A share of the window in [0, 1), such as ``keep_head``: 0 keeps no head."""
    if not 0.0 <= _float(attribute, value) < 1.0:
        raise InvalidArgumentError(
            f"{attribute.name}={value} must be in [0, 1); 0.25 evicts the oldest "
            f"quarter of the window last"
        )


@attrs.frozen
class RetentionRatio:
    """When a chunk does not fit, cut the oldest history down to ``ratio`` of capacity.

    One cut frees about ``(1 - ratio)`` of the budget, so the following adds fit
    without touching the history: the rendered prefix stays the same between cuts
    and a provider's prompt cache keeps hitting. Like the OpenAI Realtime API's
    ``retention_ratio`` truncation.
    """

    ratio: float = attrs.field(default=0.8, validator=_check_share)

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Do nothing while the chunk fits; else cut to ``ratio`` of the capacity."""
        if view.free >= needed:
            return
        target = int(view.capacity * self.ratio) - needed
        for unit in view.candidates():
            if view.tokens <= target and view.free >= needed:
                return
            yield Evict(unit)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration."""
        return {"name": "RetentionRatio", "ratio": self.ratio}


def _to_roles(value: Iterable[Role | str]) -> tuple[Role, ...]:
    if isinstance(value, (str, bytes)):
        raise InvalidTypeError(
            f"order must be a sequence of roles, got a single str {value!r:.40}; "
            f"write order=({value!r:.40},)"
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"order must be a sequence of roles, got {type(value).__name__}: "
            f"{value!r:.40}; write e.g. order=('tool', 'assistant', 'user')"
        )
    roles = tuple(Role.parse(r) for r in value)
    if len(set(roles)) != len(roles):
        raise InvalidArgumentError(f"order={value!r} names a role twice")
    return roles


@attrs.frozen
class RolePriority:
    """Evict by role: all of the first role in ``order`` (oldest first), then the next.

    The default evicts tool context before assistant turns before user turns, so what
    the user said is what stays longest. Roles not in ``order`` go last, oldest first.
    """

    order: tuple[Role, ...] = attrs.field(
        default=(Role.TOOL, Role.ASSISTANT, Role.USER), converter=_to_roles
    )

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Evict role by role in ``order`` until ``needed`` tokens are free."""
        for role in (*self.order, None):
            if view.free >= needed:
                return
            yield from _evict_oldest(view, needed, role)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration."""
        return {"name": "RolePriority", "order": [r.value for r in self.order]}


def _nonneg(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_int(attribute.name, value, 0)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_int(attribute.name, value, 1)


@attrs.frozen
class MiddleOut:
    """Keep the first ``keep_first`` units after the pins and the recent ones.

    Evicts from the middle of the history: the oldest unit after the kept opening is
    evicted first, so the gap grows from the opening towards the present. The opening
    (often the task statement) goes only when nothing else is left.
    """

    keep_first: int = attrs.field(default=2, validator=_nonneg)

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Evict the oldest units after the first ``keep_first`` candidates."""
        if view.free >= needed:
            return
        it = view.candidates()
        head = [unit for _, unit in zip(range(self.keep_first), it, strict=False)]
        yield from _evict_from(it, view, needed)
        yield from _evict_from(iter(head), view, needed)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration."""
        return {"name": "MiddleOut", "keep_first": self.keep_first}


def _check_bool(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name} must be True or False, got {type(value).__name__}: "
            f"{value!r:.80}"
        )


def _optional_nonneg(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None:
        check_int(attribute.name, value, 0)


@attrs.frozen
class ClearToolResults:
    """Mask older tool results: a marker replaces each, and the call stays.

    Mirrors Anthropic's ``clear_tool_uses`` context edit: it acts once the window
    would pass ``trigger`` tokens (or, with ``trigger=None``, when the new chunk does
    not fit), keeps the newest ``keep`` tool call groups whole, never clears results
    of the tools named in ``exclude_tools``, clears at least ``clear_at_least`` tokens
    per activation or nothing (so a prompt-cache break pays for itself), and with
    ``clear_inputs`` also replaces the call's arguments with ``{}``. Unlike a bare
    placeholder, the marker names how many tokens were archived and the
    ``read_document`` arguments that read them back; the results go to the archive
    as ``masked``. It evicts nothing itself: the window's backstop (or the next
    policy of a :class:`Chain`) evicts if clearing is not enough. Each group is
    looked at once: a result too short to gain from a marker is left as it is and
    not visited again.
    """

    keep: int = attrs.field(default=3, validator=_nonneg)
    trigger: int | None = attrs.field(default=None, validator=_optional_nonneg)
    clear_at_least: int = attrs.field(default=0, validator=_nonneg)
    exclude_tools: frozenset[str] = attrs.field(default=(), converter=_to_names)
    clear_inputs: bool = attrs.field(default=False, validator=_check_bool)

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Clear the oldest tool results when triggered (see the class docs)."""
        short = needed - view.free
        triggered = self.trigger is not None and view.tokens + needed > self.trigger
        if short <= 0 and not triggered:
            return
        goal = max(short, self.clear_at_least, 1)
        kept = {id(u) for u in view.newest_tool_groups(self.keep)}
        plan: list[UnitView] = []
        saved = 0
        groups = view.tool_groups(unedited=True, exclude_tools=self.exclude_tools)
        for unit in groups:
            if saved >= goal or id(unit) in kept:
                break
            if not view.evictable(unit):
                continue
            gain = view.mask_gain(unit, exclude_tools=self.exclude_tools)
            if gain > 0:
                plan.append(unit)
                saved += gain
            else:
                # Changes nothing but retires the group from the unedited ones.
                yield Mask(unit, exclude_tools=self.exclude_tools)
        if saved < self.clear_at_least or saved <= 0:
            return
        for unit in plan:
            yield Mask(unit, exclude_tools=self.exclude_tools)
            if self.clear_inputs:
                yield from self._clear_inputs(unit, view)

    def _clear_inputs(self, unit: UnitView, view: WindowView) -> Iterator[Action]:
        calls: dict[str, list[Chunk]] = {}
        for chunk in unit.chunks:
            if chunk.kind is Kind.TOOL_CALL:
                calls.setdefault(chunk.source, []).append(chunk)
        for call in calls.values():
            if call[0].meta.tool_name in self.exclude_tools:
                continue
            if "".join(c.text for c in call) != "{}":
                yield Edit(unit, tuple(call), _replacement(call, "{}", view.tokenizer))

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration."""
        return {
            "name": "ClearToolResults",
            "keep": self.keep,
            "trigger": self.trigger,
            "clear_at_least": self.clear_at_least,
            "exclude_tools": sorted(self.exclude_tools),
            "clear_inputs": self.clear_inputs,
        }


def _replacement(old: Sequence[Chunk], text: str, tokenizer: Tokenizer) -> Chunk:
    first = old[0]
    return Chunk.create(
        text,
        role=first.role,
        kind=first.kind,
        source=first.source,
        part=0,
        parts=1,
        meta=first.meta,
        tokens=tokenizer.count(text),
    )


_SUMMARY_FRAMING = 32
"""A generous bound on what a summary chunk's rendering adds to its text (an
assistant call to ``recall_history`` and its ``tool`` message)."""

Summarizer = Callable[[Sequence[Chunk]], str]
"""Turns the chunks of a run of history into the text of one summary."""

_SENTENCE_END = re.compile(r"[.!?]\s")
"""A sentence's last character and the space after it (a leading character class
lets the regex engine skip to candidates, where a lookbehind tries every position)."""
_WORDS_PER_ITEM = 30
"""How many words of each summarized chunk the default summary keeps."""


def extractive_summary(chunks: Sequence[Chunk]) -> str:
    r"""Summarize ``chunks`` offline: the opening sentence of each, under its role.

    Deterministic and extractive: every line is ``<who>: <first sentence>``, cut to
    30 words. Tool calls and results are named after their tool.

    >>> from ctxchunk.chunk import Chunk
    >>> c = Chunk.create("Book a table. For two.", role="user", kind="turn", source="t")
    >>> extractive_summary([c])
    'Summary of 1 earlier item:\nuser: Book a table.'
    """
    lines = []
    for chunk in chunks:
        sentence = _first_sentence(chunk.text)
        if not sentence:
            continue
        who = chunk.role.value
        if chunk.kind is Kind.TOOL_CALL:
            who = f"call {chunk.meta.tool_name}"
        elif chunk.kind is Kind.TOOL_RESULT:
            who = f"result {chunk.meta.tool_name or 'tool'}"
        elif chunk.kind is Kind.DOCUMENT:
            who = f"document {chunk.meta.title or chunk.meta.url or chunk.source}"
        lines.append(f"{who}: {sentence}")
    if not lines:
        return ""
    plural = "" if len(chunks) == 1 else "s"
    return f"Summary of {len(chunks)} earlier item{plural}:\n" + "\n".join(lines)


def _first_sentence(text: str) -> str:
    """The first sentence of ``text``, whitespace runs as one space, cut to 30 words.

    Looks at the first 30 words only, however long the text: a sentence that does
    not end within them is cut anyway.
    """
    words = text.split(None, _WORDS_PER_ITEM)
    head = " ".join(words[:_WORDS_PER_ITEM])
    end = _SENTENCE_END.search(head)
    if end is not None:
        return head[: end.start() + 1]
    if len(words) > _WORDS_PER_ITEM and head[-1] not in ".!?":
        return head + " …"
    # The whole text, or a sentence ending with its 30th word.
    return head


def _check_summarizer(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and not callable(value):
        raise InvalidTypeError(
            f"summarizer must be a callable from chunks to text, or None, got "
            f"{type(value).__name__}: {value!r:.80}"
        )


def _summary_role(value: Role | str) -> Role:
    role = Role.parse(value)
    if role is Role.USER:
        raise InvalidArgumentError(
            "role='user' is not allowed for a summary: the model would believe the "
            "user said it; use 'tool' (the default), 'system' or 'assistant'"
        )
    return role


@attrs.frozen
class Summarize:
    """Replace a run of the oldest history with one summary chunk.

    The run is the oldest consecutive candidates, long enough to free the room the
    new chunk needs plus ``max_summary_tokens``. ``summarizer`` turns their chunks
    into text (default :func:`extractive_summary`: offline and deterministic; pass
    any callable, for example one that asks an LLM). The summary is a ``summary``
    chunk under ``role`` (``tool`` by default, never ``user``) cut to
    ``max_summary_tokens``. If the summarizer raises, returns something that is not
    text, returns blank text, or a summary that would not save room, the run is
    evicted to the archive instead: history is never replaced by an error or by
    nothing.
    """

    summarizer: Summarizer | None = attrs.field(
        default=None, validator=_check_summarizer
    )
    max_summary_tokens: int = attrs.field(default=256, validator=_positive)
    role: Role = attrs.field(default=Role.TOOL, converter=_summary_role)

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Summarize runs of the oldest history until ``needed`` tokens are free."""
        while view.free < needed:
            first = next(view.candidates(), None)
            if first is None:
                return
            if not first.whole:
                # A part of a tool result leaves alone: its call and group stay.
                yield Evict(first)
                continue
            limit = min(self.max_summary_tokens, view.chunk_tokens)
            goal = needed - view.free + limit + _SUMMARY_FRAMING
            run = [first]
            freed = first.tokens
            nxt = view.following(first)
            while (
                freed < goal and nxt is not None and nxt.whole and view.evictable(nxt)
            ):
                run.append(nxt)
                freed += nxt.tokens
                nxt = view.following(nxt)
            summary = self._summary(run, view, limit)
            if summary is None or view.cost_of((summary,)) >= freed:
                for unit in run:
                    yield Evict(unit)
            else:
                yield Replace(tuple(run), summary)

    def _summary(
        self, run: Sequence[UnitView], view: WindowView, limit: int
    ) -> Chunk | None:
        chunks = [c for unit in run for c in unit.chunks]
        summarizer = self.summarizer or extractive_summary
        try:
            text = summarizer(chunks)
        except Exception:  # any failure at all falls back to eviction
            return None
        if not isinstance(text, str) or not text.strip():
            return None
        try:
            piece = split_text(text, limit, tokenizer=view.tokenizer)[0]
        except Exception:  # untokenizable text is unusable too
            return None
        if not piece.text.strip():
            return None
        return Chunk.create(
            piece.text,
            role=self.role,
            kind=Kind.SUMMARY,
            source="summary-" + chunks[0].id,
            tokens=piece.tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration; a custom summarizer is recorded as ``custom``."""
        return {
            "name": "Summarize",
            "summarizer": "default" if self.summarizer is None else "custom",
            "max_summary_tokens": self.max_summary_tokens,
            "role": self.role.value,
        }


class Chain:
    """Try each policy in turn, stopping as soon as the new chunk fits.

    ``Chain(ClearToolResults(), RolePriority())`` clears old tool results first and
    evicts by role only if that was not enough.
    """

    __slots__ = ("policies",)

    def __init__(self, *policies: Policy) -> None:
        if not policies:
            raise InvalidArgumentError("Chain() needs at least one policy")
        for policy in policies:
            if not callable(getattr(policy, "make_room", None)):
                raise InvalidTypeError(
                    f"Chain takes policies (objects with make_room), got "
                    f"{type(policy).__name__}: {policy!r:.80}"
                )
        self.policies: tuple[Policy, ...] = policies

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Run each policy until ``needed`` tokens are free."""
        for index, policy in enumerate(self.policies):
            # The first policy may act on its own trigger even when the chunk fits.
            if index and view.free >= needed:
                return
            yield from policy.make_room(view, needed)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration of every policy in the chain."""
        return {"name": "Chain", "policies": [_describe(p) for p in self.policies]}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and self.policies == other.policies

    def __hash__(self) -> int:
        return hash(self.policies)

    def __repr__(self) -> str:
        return f"Chain({', '.join(repr(p) for p in self.policies)})"


@attrs.frozen
class Recommended:
    """The default policy: mask tool context first, cut rarely and deep, keep the user.

    When a chunk does not fit, it frees room down to ``retain`` of the capacity
    in one cut (so the following updates fit without touching the history, and a
    provider's prompt cache keeps hitting between cuts, as ``RetentionRatio``
    does), taking in this order:

    1. tool context (document parts, tool results part by part), *masked*: a
       marker names what was archived and how to read it back, so the model can
       still reach it; the newest ``keep_tools`` tool call groups are spared until
       the model has answered them (an assistant turn follows);
    2. assistant turns;
    3. the spared tool context, masked too;
    4. what is left of tool context, markers included, then anything else but
       user turns;
    5. user turns.

    The oldest history up to ``keep_head`` of the capacity (the conversation's
    opening, where a user usually states the task) is evicted last of all: it is
    the prefix a provider's prompt cache keeps between cuts, so a cut that takes
    the history after it still reads the opening from the cache. Masking may still
    reach it.

    The window's update cap (``max_update_tokens``) bounds each cut, so one step
    never loses more than a fifth of the window or a quarter of the history. See the
    trade-off table in the policy guide.
    """

    retain: float = attrs.field(default=0.8, validator=_check_share)
    keep_tools: int = attrs.field(default=1, validator=_nonneg)
    keep_head: float = attrs.field(default=0.25, validator=_check_head)

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Make room for a chunk costing ``needed`` tokens (see the class docs)."""
        if view.free >= needed:
            return
        goal = needed + int(view.capacity * (1.0 - self.retain))
        spared = {
            c.meta.call_id
            for unit in view.newest_tool_groups(self.keep_tools)
            if not _answered(view, unit)
            for c in unit.chunks
            if c.meta.call_id
        }
        head = _head(view, int(view.capacity * self.keep_head))
        yield from self._mask(view, goal, spared)
        yield from self._evict(view, goal, Role.ASSISTANT, head)
        yield from self._mask(view, goal, set())
        yield from self._evict(view, goal, Role.TOOL, head)
        yield from self._evict_rest(view, goal, head)
        yield from self._evict(view, goal, Role.USER, head)
        # Last, the head, oldest first (the window's backstop would take it too).
        yield from self._evict(view, goal, None, set())

    @staticmethod
    def _mask(
        view: WindowView, goal: int, spared: Collection[str | None]
    ) -> Iterator[Action]:
        # Newest first: the cut lands late in the window, so the provider's cached
        # prefix (instructions and the older history) stays valid.
        for unit in view.candidates(Role.TOOL, newest_first=True):
            if view.free >= goal:
                return
            if unit.masked or not view.evictable(unit) or unit.tokens <= 0:
                continue  # (a part's tokens are what masking it frees)
            first = unit.chunks[0]
            if first.meta.marks is not None or first.meta.call_id in spared:
                continue
            if first.kind in (Kind.DOCUMENT, Kind.TOOL_RESULT, Kind.TOOL_CALL):
                yield Mask(unit)

    @staticmethod
    def _evict(
        view: WindowView,
        goal: int,
        role: Role | None,
        head: Collection[UnitView],
        keep: Role | None = None,
    ) -> Iterator[Action]:
        units = (
            unit
            for unit in view.candidates(role)
            if unit.role is not keep and unit not in head
        )
        return _evict_from(units, view, goal)

    @staticmethod
    def _evict_rest(
        view: WindowView, goal: int, head: Collection[UnitView]
    ) -> Iterator[Action]:
        """Evict what is left but user turns and the head, oldest first.

        The passes before took every assistant turn and all tool context outside
        the head, so what is left for this pass is usually system messages alone;
        a unit that stayed (a group keeping a call still waiting for its result) is
        looked for on the assistant and tool lists. If none did, only system
        messages are walked, not every user turn of the window (most of it once
        the other roles are gone): evicting a system message changes no other unit.
        """
        if view.free >= goal:
            return iter(())
        left = any(
            unit not in head
            for role in (Role.ASSISTANT, Role.TOOL)
            for unit in view.candidates(role)
        )
        role = None if left else Role.SYSTEM
        return Recommended._evict(view, goal, role, head, keep=Role.USER)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration."""
        return {
            "name": "Recommended",
            "retain": self.retain,
            "keep_tools": self.keep_tools,
            "keep_head": self.keep_head,
        }


def _head(view: WindowView, tokens: int) -> set[UnitView]:
    """The oldest candidates holding ``tokens`` of history.

    History is counted in chunk tokens: a part's ``tokens`` is what evicting it would
    free, which prices a marker, and is not what the head holds. The candidates are
    kept themselves (a unit is the same object on every walk, and a part equals the
    part of the same chunk), so telling the head apart reads nothing more of them.
    """
    head: set[UnitView] = set()
    held = 0
    for unit in view.candidates():
        if held >= tokens:
            break
        head.add(unit)
        held += sum(c.tokens for c in unit.chunks)
    return head


def _answered(view: WindowView, group: UnitView) -> bool:
    """Whether an assistant turn follows ``group`` in the window."""
    unit = view.following(group)
    while unit is not None:
        if unit.role is Role.ASSISTANT and unit.kind is Kind.TURN:
            return True
        unit = view.following(unit)
    return False


@attrs.frozen(slots=True)
class WholeUpdateBaseline:
    """The failure ctxchunk fixes, as a policy: whole updates, and a cliff on overflow.

    :func:`ctxchunk.simulate.simulate` runs it in a window with the largest chunks
    a window accepts (half its room), no update cap and no protected turns, so
    updates go in (nearly) whole. When an update does not fit, this policy evicts
    every unpinned chunk older than it, at once: the all-or-nothing behaviour of a
    server that truncates a conversation to make room for one large update. It
    lives here, with the other policies, so a window using it saves and loads.
    """

    def make_room(self, view: WindowView, needed: int) -> Iterator[Action]:
        """Evict nothing if ``needed`` tokens are free, else every candidate."""
        if view.free >= needed:
            return
        for unit in view.candidates():
            yield Evict(unit)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"name": "WholeUpdateBaseline"}``."""
        return {"name": "WholeUpdateBaseline"}

    def __str__(self) -> str:
        return "baseline"


def _describe(policy: Policy) -> dict[str, Any]:
    to_dict = getattr(policy, "to_dict", None)
    if callable(to_dict):
        described: dict[str, Any] = to_dict()
        return described
    # Named but not rebuildable: from_json then asks for the policy itself.
    return {"name": "custom", "type": type(policy).__name__}


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Rebuild a shipped policy from its :meth:`~Policy.to_dict` form.

    Raises:
        InvalidArgumentError: ``data`` names no shipped policy, or a ``Summarize``
            with a custom summarizer (pass the policy itself instead).

    >>> policy_from_dict({"name": "RetentionRatio", "ratio": 0.5})
    RetentionRatio(ratio=0.5)
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise InvalidArgumentError(f"not a policy description: {data!r:.80}")
    name = data["name"]
    args = {k: v for k, v in data.items() if k != "name"}
    try:
        if name == "Chain":
            return Chain(*(policy_from_dict(p) for p in args["policies"]))
        if name == "Summarize":
            if args.pop("summarizer", "default") != "default":
                raise InvalidArgumentError(
                    "this Summarize policy used a custom summarizer, which JSON "
                    "cannot hold; pass policy=Summarize(summarizer=...) to from_json"
                )
            return Summarize(**args)
        factory = _SHIPPED.get(name)
        if factory is None:
            raise InvalidArgumentError(
                f"unknown policy {name!r}; pass policy=... to from_json for a "
                f"policy of your own"
            )
        policy: Policy = factory(**args)
        return policy
    except TypeError as exc:
        raise InvalidArgumentError(
            f"bad {name} configuration {args!r}: {exc}"
        ) from None


_SHIPPED: dict[str, Callable[..., Policy]] = {
    "DropOldest": DropOldest,
    "RetentionRatio": RetentionRatio,
    "RolePriority": RolePriority,
    "MiddleOut": MiddleOut,
    "ClearToolResults": ClearToolResults,
    "Recommended": Recommended,
    "WholeUpdateBaseline": WholeUpdateBaseline,
}
