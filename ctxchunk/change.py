"""What one window operation did: the :class:`Change` record.

Every :class:`~ctxchunk.window.ContextWindow` operation returns a :class:`Change`. It is
what a caller logs, what the simulator measures, and what
:func:`ctxchunk.render.to_realtime_events` turns into the client events that bring a
live OpenAI Realtime session in line with the window.
"""

from __future__ import annotations

from enum import Enum

import attrs

from ctxchunk.chunk import Chunk
from ctxchunk.roles import Kind

__all__ = [
    "Change",
    "Eviction",
    "Reason",
    "Replacement",
    "Truncation",
    "is_session_item",
]


def is_session_item(chunk: Chunk) -> bool:
    """Whether ``chunk`` is a conversation item of its own in a Realtime session.

    Instructions reach a session through ``session.update``, not as items, and the
    later parts of a split tool call ride on the item of its first part. Only item
    chunks can be a ``previous_item_id``, so :attr:`Change.previous_ids` names the
    nearest earlier chunk for which this is true.

    >>> from ctxchunk.chunk import Chunk
    >>> is_session_item(Chunk.create("Be brief.", role="system", kind="instruction",
    ...                              source="pin-0", tokens=3))
    False
    """
    return chunk.kind is not Kind.INSTRUCTION and not (
        chunk.kind is Kind.TOOL_CALL and chunk.part > 0
    )


class Reason(str, Enum):
    """Why a chunk left the window (recorded with it in the archive)."""

    POLICY = "policy"
    """A truncation policy chose it to make room."""
    OVERSIZE = "oversize"
    """It was part of an update that went past the window's admission cap, or that
    could not fit without evicting what no policy may evict; it went to the archive
    without being admitted (a marker in the window names it)."""
    MASKED = "masked"
    """A policy let it go and a marker (a stub) stands in its place, naming it, so
    the model can read it back."""
    REMOVED = "removed"
    """The caller deleted its turn or document with ``remove``."""
    REPLACED = "replaced"
    """A policy replaced it (a summary, or a cleared tool result)."""
    INTERRUPTED = "interrupted"
    """The user cut the assistant off; this is the unheard text's former chunk."""
    REDUCED = "reduced"
    """The raw output of a tool result the window reduced before adding it
    (``add_tool_call(..., format=...)``: an HTML page's main content, compact JSON).
    It was never in the window and is not history lost; a change does not report
    it, the archive keeps it for :meth:`~ctxchunk.window.ContextWindow.read`."""
    REFRESHED = "refreshed"
    """The same content (a page read again, by its url or source) was added again:
    this old copy left so the new one stands at the newest position. A change
    reports these evictions before it adds the new copy."""


@attrs.frozen(slots=True)
class Eviction:
    """A chunk that left the window.

    Invariant: ``chunk`` was in the window just before this operation (or was admitted
    and evicted by it) and is now in the archive with ``reason``.
    """

    chunk: Chunk
    reason: Reason


@attrs.frozen(slots=True)
class Truncation:
    """An assistant chunk cut to what the user heard before interrupting.

    Invariants: ``after.id == before.id`` (the item keeps its id on the wire);
    ``after.text`` is a prefix of ``before.text``; ``audio_end_ms`` is the playback
    position the cut was made at, relative to the start of the item's audio.
    """

    before: Chunk
    after: Chunk
    audio_end_ms: int


@attrs.frozen(slots=True)
class Replacement:
    """Chunks a policy replaced by one new chunk.

    The new chunk is a summary, or a shorter tool call
    (:class:`~ctxchunk.policies.Edit`, e.g. a cleared call's arguments).

    Invariants: ``old`` is not empty and was in the window, in order; ``new`` stands
    where ``old[0]`` stood; ``old`` is now in the archive.
    """

    old: tuple[Chunk, ...]
    new: Chunk


@attrs.frozen(slots=True)
class Change:
    """Everything one operation did to a window, in the order it happened.

    Attributes:
        added: Chunks admitted to the window, in order. Chunks that were admitted and
            evicted by the same operation appear here and in ``evicted``.
        evicted: Chunks that left the window, with why, in the order they left.
        truncated: Assistant chunks cut short by an interruption.
        replaced: Runs of chunks a policy replaced by a single chunk.
        previous_ids: For each chunk of ``added``, the id of the nearest chunk
            before it in the window, at the moment it was admitted, that is a
            session item (:func:`is_session_item`), or ``None`` when there is none:
            what a Realtime ``conversation.item.create`` needs as
            ``previous_item_id`` to keep order.
        instructions_changed: Whether the pinned system instructions changed, so a
            Realtime session needs a ``session.update``.
        tokens_before: The window's rendered size before the operation.
        tokens_after: The window's rendered size after the operation.
    """

    added: tuple[Chunk, ...] = ()
    evicted: tuple[Eviction, ...] = ()
    truncated: tuple[Truncation, ...] = ()
    replaced: tuple[Replacement, ...] = ()
    previous_ids: tuple[str | None, ...] = ()
    instructions_changed: bool = False
    tokens_before: int = 0
    tokens_after: int = 0

    def __attrs_post_init__(self) -> None:
        if len(self.previous_ids) != len(self.added):
            raise ValueError(
                f"previous_ids has {len(self.previous_ids)} entries for "
                f"{len(self.added)} added chunks; give one per added chunk"
            )

    @property
    def evicted_tokens(self) -> int:
        """Tokens of text that left the window (not counting per-message overhead)."""
        return sum(e.chunk.tokens for e in self.evicted)

    @property
    def added_tokens(self) -> int:
        """Tokens of text admitted by the operation, markers included."""
        return sum(c.tokens for c in self.added)

    @property
    def admitted_tokens(self) -> int:
        """Tokens of new content admitted by the operation (markers left out)."""
        return sum(c.tokens for c in self.added if c.meta.marks is None)

    @property
    def lost_tokens(self) -> int:
        """Tokens of history the operation took out of the window, however it went.

        Everything that was in the window and left counts: evicted, removed, cut by
        an interruption, masked behind a marker, and what a replacement took away
        (:attr:`replaced_tokens`). Markers are not history and do not count; neither
        do parts of the update itself that went to the archive without being
        admitted (:attr:`capped_tokens`), nor the old copy of re-read content
        (``refreshed``: the same content is added again by the same operation).
        """
        gone = sum(
            e.chunk.tokens
            for e in self.evicted
            if e.reason not in (Reason.OVERSIZE, Reason.REFRESHED)
            and e.chunk.meta.marks is None
        )
        cut = sum(t.before.tokens - t.after.tokens for t in self.truncated)
        return gone + cut + self.replaced_tokens

    @property
    def masked_tokens(self) -> int:
        """Tokens of history that left with a marker standing in their place."""
        return sum(e.chunk.tokens for e in self.evicted if e.reason is Reason.MASKED)

    @property
    def replaced_tokens(self) -> int:
        """Tokens a replacement took away: replaced minus replacement.

        Markers among the replaced chunks are bookkeeping, not history, and do not
        count.
        """
        return sum(
            max(0, sum(c.tokens for c in r.old if c.meta.marks is None) - r.new.tokens)
            for r in self.replaced
        )

    @property
    def capped_tokens(self) -> int:
        """Tokens of the update that went to the archive without being admitted."""
        return sum(e.chunk.tokens for e in self.evicted if e.reason is Reason.OVERSIZE)
