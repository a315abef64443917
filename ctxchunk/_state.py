"""The JSON form of a window's state, validated at the edge with pydantic.

:class:`WindowState` is what :meth:`ctxchunk.window.ContextWindow.to_json` writes and
:meth:`~ctxchunk.window.ContextWindow.from_json` reads. Field types are checked here;
what only the window can check (counts under its tokenizer, the ledger's invariants)
is checked by the window after loading. Nothing here is public.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

__all__ = ["STATE_FORMAT", "ArchivedState", "UnitState", "WindowState"]

STATE_FORMAT: Final = "ctxchunk.window/3"
"""The format tag of a saved window state (``ctxchunk.window/2`` states, which always
carry their archive, are still read)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitState(_Model):
    """One eviction unit: its chunks, and whether a policy already masked it."""

    chunks: list[dict[str, Any]] = Field(min_length=1)
    masked: StrictBool = False


class ArchivedState(_Model):
    """One archive entry: why the chunk left, and the chunk."""

    reason: StrictStr
    chunk: dict[str, Any]


class WindowState(_Model):
    """A whole window: settings, policy, units in window order, and the archive."""

    format: Literal["ctxchunk.window/2", "ctxchunk.window/3"]
    budget: StrictInt = Field(ge=1)
    chunk_tokens: StrictInt = Field(ge=1)
    reserve_tokens: StrictInt = Field(ge=0)
    protect_recent_turns: StrictInt = Field(ge=0)
    max_update_tokens: StrictInt | None = Field(ge=1)
    max_update_tokens_by_role: dict[StrictStr, StrictInt] = {}
    tokenizer: StrictStr
    policy: dict[str, Any] | None
    next_index: StrictInt = Field(ge=0)
    open_group: StrictInt | None = Field(default=None, ge=0)
    recent: list[StrictStr] = []
    units: list[UnitState]
    # None when the archive was left in a persistent store (format 3 only).
    archive: list[ArchivedState] | None
    # How many entries the archive held, and the id of the newest one's chunk, so a
    # store given back to from_json can be checked and cut to the saved moment.
    archive_length: StrictInt | None = Field(default=None, ge=0)
    archive_tail: StrictStr | None = None
    # The Realtime model whose audio rates the window counts by (its ModelSpec's
    # fields), or None.
    audio: dict[str, Any] | None = None
