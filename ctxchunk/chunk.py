"""The chunk: one role-tagged, token-counted eviction unit, and its JSON form.

A :class:`Chunk` is what every ingestion path produces and what a context window holds:
a piece of text small enough to be added or evicted on its own, tagged with the role the
model sees it under, where it came from, and its exact token count. Chunks are
immutable and hashable; their ids are derived from their content, so the same input
always yields the same ids.

:class:`ChunkModel` is the pydantic edge: it validates chunks read back from JSON and
publishes their schema (:func:`chunk_json_schema`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, Any

import attrs
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ctxchunk._checks import lone_surrogate
from ctxchunk.exceptions import ChunkError, InvalidTypeError
from ctxchunk.roles import Kind, Role
from ctxchunk.split import split_text
from ctxchunk.tokens import Tokenizer, get_tokenizer

__all__ = [
    "CHUNK_ID_PATTERN",
    "ROLES_BY_KIND",
    "Chunk",
    "ChunkMeta",
    "ChunkMetaModel",
    "ChunkModel",
    "chunk_json_schema",
    "chunks_of_text",
    "make_chunk_id",
]

CHUNK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
"""What a chunk id looks like: at most 32 characters of ``[A-Za-z0-9_-]``, which is
what the OpenAI Realtime API accepts as a client-chosen conversation item id."""

_ID_RE = re.compile(CHUNK_ID_PATTERN)

_ID_PREFIX = "ck_"
# 14 bytes = 28 hex digits; with the prefix, 31 characters (the Realtime limit is 32).
# 112 bits keeps the chance of any collision among a billion chunks below 1e-15.
_ID_DIGEST_SIZE = 14
# The personalisation string keeps these digests apart from any other blake2b use.
_ID_PERSON = b"ctxchunk.chunk1"

ROLES_BY_KIND: Mapping[Kind, frozenset[Role]] = MappingProxyType(
    {
        Kind.INSTRUCTION: frozenset({Role.SYSTEM}),
        Kind.TURN: frozenset({Role.USER, Role.ASSISTANT}),
        Kind.DOCUMENT: frozenset({Role.TOOL}),
        Kind.TOOL_CALL: frozenset({Role.TOOL}),
        Kind.TOOL_RESULT: frozenset({Role.TOOL}),
        Kind.SUMMARY: frozenset({Role.SYSTEM, Role.ASSISTANT, Role.TOOL}),
    }
)
"""The roles a chunk of each kind may have.

Retrieved content and tool traffic are tool context, never ``user`` or ``system``;
instructions are ``system``; only the user and the assistant take turns; a summary
speaks for the history it replaces but is never put in the user's mouth."""


def make_chunk_id(source: str, part: int, text: str) -> str:
    """Return the deterministic id of the chunk ``part`` of ``source`` holding ``text``.

    The id is ``"ck_"`` followed by a 28-digit blake2b hex digest of the three values,
    so it is the same in every run, process and Python version, and at most 32
    characters of ``[A-Za-z0-9_-]``.

    Args:
        source: The turn or document the chunk came from.
        part: The chunk's 0-based place in ``source``.
        text: The chunk's text.

    Returns:
        The id.

    Raises:
        InvalidTypeError: an argument has the wrong type.

    >>> make_chunk_id("turn-0", 0, "Hello!")
    'ck_72d318f155dca52db49d64190216'
    """
    if not isinstance(source, str) or not isinstance(text, str):
        raise InvalidTypeError(
            f"source and text must be str, got source={source!r:.80} and "
            f"text={text!r:.80}"
        )
    if not isinstance(part, int) or isinstance(part, bool):
        raise InvalidTypeError(
            f"part must be an int, got {type(part).__name__}: {part!r:.80}"
        )
    digest = hashlib.blake2b(digest_size=_ID_DIGEST_SIZE, person=_ID_PERSON)
    # Each field is length-prefixed, so no two (source, part, text) triples feed the
    # hash the same bytes; surrogatepass lets any Python str be hashed.
    for field in (source, str(part), text):
        data = field.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return _ID_PREFIX + digest.hexdigest()


def _check_optional_str(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{attribute.name} must be a str or None, got {type(value).__name__}: "
            f"{value!r:.80}"
        )
    _check_writable(attribute.name, value)


def _check_writable(name: str, value: str) -> None:
    # Metadata is never tokenized, so nothing else would catch a lone surrogate
    # before the chunk (or a window holding it) fails to be written as JSON.
    problem = lone_surrogate(value)
    if problem is not None:
        raise ChunkError(f"{name}={value!r:.80} {problem}")


def _check_optional_ms(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name} must be an int number of milliseconds or None, got "
            f"{type(value).__name__}: {value!r:.80}"
        )
    if value < 0:
        raise ChunkError(f"{attribute.name}={value} must be at least 0")


def _to_headings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)):
        raise InvalidTypeError(
            f"headings must be a sequence of str (the heading path), got a single "
            f"{type(value).__name__}: {value!r:.80}; wrap it as ({value!r:.40},)"
        )
    if isinstance(value, Mapping):
        raise InvalidTypeError(
            f"headings must be a sequence of str (the heading path, outermost "
            f"first), got {type(value).__name__}: {value!r:.80}"
        )
    try:
        headings = tuple(value)
    except TypeError:
        raise InvalidTypeError(
            f"headings must be a sequence of str, got {type(value).__name__}: "
            f"{value!r:.80}"
        ) from None
    for index, heading in enumerate(headings):
        if not isinstance(heading, str):
            raise InvalidTypeError(
                f"headings must hold only str, got {type(heading).__name__}: "
                f"{heading!r:.80}"
            )
        _check_writable(f"headings[{index}]", heading)
    return headings


@attrs.frozen(slots=True)
class ChunkMeta:
    """Provenance of a chunk: where it came from and who said it.

    Every field is optional. Invariants: ``headings`` is a tuple of str (the heading
    path, outermost first; a list is accepted and stored as a tuple); ``start_ms`` and
    ``end_ms`` are None or non-negative, and ``start_ms <= end_ms`` when both are set;
    no string (headings included) holds a lone surrogate, so the metadata can always
    be written as UTF-8 JSON.

    Attributes:
        url: The address of the page a document chunk came from.
        title: The title of that page.
        headings: The heading path of the section the chunk is in.
        speaker: Who said a turn, when the transcript names them.
        start_ms: When the turn started, in milliseconds from the session's start.
        end_ms: When the turn ended, in milliseconds from the session's start.
        tool_name: The tool a tool call invokes or a tool result comes from.
        call_id: The id shared by a tool call and its results, so that a window keeps
            or evicts them together.
        item_id: The id of the Realtime conversation item the server created for
            this content (a user's committed audio, the model's response or function
            call); Realtime events name that item by this id and never re-create
            it.
        marks: Set only on a *marker*, a short line a window writes in place of
            content it archived: the source whose archived parts the marker names
            (see :meth:`ctxchunk.window.ContextWindow.read`). A marker is window
            bookkeeping, never history.
    """

    url: str | None = attrs.field(default=None, validator=_check_optional_str)
    title: str | None = attrs.field(default=None, validator=_check_optional_str)
    headings: tuple[str, ...] = attrs.field(default=(), converter=_to_headings)
    speaker: str | None = attrs.field(default=None, validator=_check_optional_str)
    start_ms: int | None = attrs.field(default=None, validator=_check_optional_ms)
    end_ms: int | None = attrs.field(default=None, validator=_check_optional_ms)
    tool_name: str | None = attrs.field(default=None, validator=_check_optional_str)
    call_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    item_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    marks: str | None = attrs.field(default=None, validator=_check_optional_str)

    def __attrs_post_init__(self) -> None:
        if (
            self.start_ms is not None
            and self.end_ms is not None
            and self.end_ms < self.start_ms
        ):
            raise ChunkError(
                f"end_ms={self.end_ms} is before start_ms={self.start_ms}; a turn "
                f"must end at or after its start"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, leaving out fields at their defaults.

        >>> ChunkMeta(title="Intro", headings=("Guide", "Intro")).to_dict()
        {'title': 'Intro', 'headings': ['Guide', 'Intro']}
        """
        out: dict[str, Any] = {}
        for field in _META_FIELDS:
            value = getattr(self, field)
            if field == "headings":
                if value:
                    out[field] = list(value)
            elif value is not None:
                out[field] = value
        return out


_META_FIELDS: tuple[str, ...] = tuple(a.name for a in attrs.fields(ChunkMeta))
_NO_META = ChunkMeta()


def _check_str(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{attribute.name} must be a str, got {type(value).__name__}: {value!r:.80}"
        )


def _check_meta_str(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    _check_str(instance, attribute, value)
    _check_writable(attribute.name, value)


def _check_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name} must be an int, got {type(value).__name__}: "
            f"{value!r:.80}"
        )


def _to_role(value: Role | str) -> Role:
    return Role.parse(value)


def _to_kind(value: Kind | str) -> Kind:
    return Kind.parse(value)


@attrs.frozen(slots=True)
class Chunk:
    """One role-tagged piece of content, the unit a context window adds and evicts.

    Invariants (each checked when a chunk is built, raising
    :class:`~ctxchunk.exceptions.ChunkError` or
    :class:`~ctxchunk.exceptions.InvalidTypeError`):

    - ``id`` matches :data:`CHUNK_ID_PATTERN`: 1 to 32 characters of ``[A-Za-z0-9_-]``.
    - ``tokens >= 0``; it is the exact count of ``text`` under the tokenizer that made
      the chunk (the chunk cannot check this; :meth:`create` guarantees it).
    - ``source`` is not empty, ``parts >= 1`` and ``0 <= part < parts``: the chunk is
      part ``part`` of the ``parts`` chunks cut from ``source``.
    - ``source`` holds no lone surrogate, nor does any string of ``meta``: they are
      never tokenized, and must be writable as UTF-8 JSON. (``text`` is checked
      where it is counted: the tokenizer raises
      :class:`~ctxchunk.exceptions.EncodingError` with the offset.)
    - ``role`` is one of :data:`ROLES_BY_KIND` ``[kind]``: documents, tool calls and
      tool results are role ``tool``; instructions are ``system``; turns are ``user``
      or ``assistant``; a summary is never ``user``.
    - a ``tool_call`` chunk names its tool in ``meta.tool_name``.

    ``role`` and ``kind`` also accept their string values, converted on the way in.

    Attributes:
        id: A stable id, by default :func:`make_chunk_id` of source, part and text.
        role: Who the model sees the chunk as coming from.
        text: The content.
        tokens: The exact number of tokens in ``text``.
        source: The id of the turn or document the chunk was cut from.
        part: The chunk's 0-based place among the chunks of ``source``.
        parts: How many chunks ``source`` was cut into.
        kind: What the chunk holds.
        pinned: Whether a window must never evict the chunk.
        meta: Provenance: url, title, heading path, speaker, times, tool name, call id.
    """

    id: str = attrs.field(validator=_check_str)
    role: Role = attrs.field(converter=_to_role)
    text: str = attrs.field(validator=_check_str)
    tokens: int = attrs.field(validator=_check_int)
    source: str = attrs.field(validator=_check_meta_str)
    part: int = attrs.field(validator=_check_int)
    parts: int = attrs.field(validator=_check_int)
    kind: Kind = attrs.field(converter=_to_kind)
    pinned: bool = attrs.field(default=False)
    meta: ChunkMeta = attrs.field(default=_NO_META)

    def __attrs_post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ChunkError(
                f"id={self.id!r:.80} must be 1 to 32 characters of [A-Za-z0-9_-]; "
                f"use make_chunk_id(source, part, text) or Chunk.create(...)"
            )
        if self.tokens < 0:
            raise ChunkError(f"tokens={self.tokens} must be at least 0")
        if not self.source:
            raise ChunkError(
                "source='' must name the turn or document the chunk came from"
            )
        if self.parts < 1:
            raise ChunkError(f"parts={self.parts} must be at least 1")
        if not 0 <= self.part < self.parts:
            raise ChunkError(
                f"part={self.part} must be in 0..{self.parts - 1} "
                f"(parts={self.parts}); part is 0-based"
            )
        allowed = ROLES_BY_KIND[self.kind]
        if self.role not in allowed:
            raise ChunkError(
                f"role={self.role.value!r} does not fit kind={self.kind.value!r}; a "
                f"{self.kind.value} chunk must have role "
                f"{' or '.join(sorted(repr(r.value) for r in allowed))}"
            )
        if not isinstance(self.pinned, bool):
            raise InvalidTypeError(
                f"pinned must be a bool, got {type(self.pinned).__name__}: "
                f"{self.pinned!r:.80}"
            )
        if not isinstance(self.meta, ChunkMeta):
            raise InvalidTypeError(
                f"meta must be a ChunkMeta, got {type(self.meta).__name__}: "
                f"{self.meta!r:.80}"
            )
        if self.kind is Kind.TOOL_CALL and not self.meta.tool_name:
            raise ChunkError(
                "a tool_call chunk must name its tool: pass "
                "meta=ChunkMeta(tool_name=..., call_id=...)"
            )

    @classmethod
    def create(
        cls,
        text: str,
        *,
        role: Role | str,
        kind: Kind | str,
        source: str,
        part: int = 0,
        parts: int = 1,
        pinned: bool = False,
        meta: ChunkMeta | None = None,
        tokenizer: str | Tokenizer | None = None,
        tokens: int | None = None,
    ) -> Chunk:
        """Build a chunk whose id and token count are computed from its text.

        Args:
            text: The content.
            role: Who the model sees it as coming from.
            kind: What it holds.
            source: The id of the turn or document it was cut from.
            part: Its 0-based place among the chunks of ``source``.
            parts: How many chunks ``source`` was cut into.
            pinned: Whether a window must never evict it.
            meta: Its provenance.
            tokenizer: Counts ``text``: None (``o200k_base``), an encoding or model
                name, or a :class:`~ctxchunk.tokens.Tokenizer`.
            tokens: The exact count, when the caller already has it (for example
                :attr:`ctxchunk.split.Piece.tokens`); ``text`` is then not recounted.

        Returns:
            The chunk, with ``id == make_chunk_id(source, part, text)``.

        Raises:
            ChunkError: the fields break an invariant of :class:`Chunk`.
            RoleError: ``role`` or ``kind`` names no role or kind.

        >>> chunk = Chunk.create("Hello!", role="user", kind="turn", source="turn-0")
        >>> chunk.id, chunk.role, chunk.tokens
        ('ck_72d318f155dca52db49d64190216', <Role.USER: 'user'>, 2)
        """
        if tokens is None:
            tokens = get_tokenizer(tokenizer).count(text)
        return cls(
            id=make_chunk_id(source, part, text),
            role=role,
            text=text,
            tokens=tokens,
            source=source,
            part=part,
            parts=parts,
            kind=kind,
            pinned=pinned,
            meta=_NO_META if meta is None else meta,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form; :meth:`from_dict` turns it back into this chunk.

        ``role`` and ``kind`` become their string values and ``meta`` leaves out the
        fields at their defaults.

        >>> Chunk.create("Hi", role="user", kind="turn", source="t").to_dict()["role"]
        'user'
        """
        return {
            "id": self.id,
            "role": self.role.value,
            "text": self.text,
            "tokens": self.tokens,
            "source": self.source,
            "part": self.part,
            "parts": self.parts,
            "kind": self.kind.value,
            "pinned": self.pinned,
            "meta": self.meta.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        """Validate ``data`` with :class:`ChunkModel` and build the chunk it describes.

        Args:
            data: A mapping in the form :meth:`to_dict` returns.

        Returns:
            The chunk.

        Raises:
            ChunkError: ``data`` is not a chunk: a field is missing, unknown, of the
                wrong type, or breaks an invariant of :class:`Chunk`.

        >>> chunk = Chunk.create("Hi", role="user", kind="turn", source="t")
        >>> Chunk.from_dict(chunk.to_dict()) == chunk
        True
        """
        try:
            model = ChunkModel.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ChunkError(f"not a chunk: {_describe(exc)}") from None
        return model.to_chunk()

    def to_json(self) -> str:
        """Return the chunk as a compact JSON object; :meth:`from_json` reverses it.

        >>> Chunk.create("Hi", role="user", kind="turn", source="t").to_json()[:40]
        '{"id":"ck_82b0f63f4e95beb7c7481d267fb7",'
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> Chunk:
        """Parse and validate a JSON object made by :meth:`to_json`.

        Args:
            data: The JSON text.

        Returns:
            The chunk.

        Raises:
            ChunkError: ``data`` is not JSON, or does not describe a chunk.

        >>> chunk = Chunk.create("Hi", role="user", kind="turn", source="t")
        >>> Chunk.from_json(chunk.to_json()) == chunk
        True
        """
        try:
            parsed = json.loads(data)
        except (ValueError, TypeError) as exc:
            raise ChunkError(
                f"chunk JSON cannot be parsed ({exc}); pass the text Chunk.to_json made"
            ) from None
        if not isinstance(parsed, dict):
            raise ChunkError(
                f"chunk JSON must be an object, got {type(parsed).__name__}: "
                f"{parsed!r:.80}"
            )
        return cls.from_dict(parsed)


_MetaStr = StrictStr | None
_Millis = Annotated[StrictInt, Field(ge=0)] | None


def chunks_of_text(
    text: str,
    max_tokens: int,
    *,
    role: Role | str,
    kind: Kind | str,
    source: str,
    meta: ChunkMeta | None = None,
    pinned: bool = False,
    tokenizer: str | Tokenizer | None = None,
) -> list[Chunk]:
    r"""Cut ``text`` with :func:`~ctxchunk.split.split_text` into chunks of ``source``.

    Every chunk shares the role, kind, source, metadata and pin; ``part`` and
    ``parts`` number them; each count comes from the split, so nothing is counted
    twice. Empty text gives one empty chunk, so that a tool call or result with
    nothing in it still has its chunk.

    >>> [(c.part, c.parts, c.text) for c in chunks_of_text(
    ...     "One.\n\nTwo.", 2, role="user", kind="turn", source="turn-0")]
    [(0, 2, 'One.\n\n'), (1, 2, 'Two.')]
    """
    if not text:
        return [
            Chunk.create(
                text,
                role=role,
                kind=kind,
                source=source,
                meta=meta,
                pinned=pinned,
                tokens=0,
            )
        ]
    pieces = split_text(text, max_tokens, tokenizer=tokenizer)
    return [
        Chunk.create(
            piece.text,
            role=role,
            kind=kind,
            source=source,
            part=part,
            parts=len(pieces),
            meta=meta,
            pinned=pinned,
            tokens=piece.tokens,
        )
        for part, piece in enumerate(pieces)
    ]


class ChunkMetaModel(BaseModel):
    """The JSON form of :class:`ChunkMeta`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="ChunkMeta",
        json_schema_extra={
            "description": "Where a chunk came from: page url and title, heading "
            "path, speaker, start and end in milliseconds, tool name and call id. "
            "Fields left out are null (headings: empty)."
        },
    )

    url: _MetaStr = None
    title: _MetaStr = None
    headings: tuple[StrictStr, ...] = ()
    speaker: _MetaStr = None
    start_ms: _Millis = None
    end_ms: _Millis = None
    tool_name: _MetaStr = None
    call_id: _MetaStr = None
    item_id: _MetaStr = None
    marks: _MetaStr = None


class ChunkModel(BaseModel):
    """The JSON form of :class:`Chunk`: field types here, invariants in :class:`Chunk`.

    Use :meth:`Chunk.from_dict` rather than this model directly: it also checks the
    invariants that span fields and raises ctxchunk's own errors.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Chunk",
        json_schema_extra={
            "description": "One role-tagged, token-counted piece of an LLM context, "
            "as written by ctxchunk's Chunk.to_json. Also required: 0 <= part < "
            "parts, and role allowed for kind (document, tool_call and tool_result "
            "are tool; instruction is system; turn is user or assistant; summary is "
            "never user)."
        },
    )

    id: Annotated[StrictStr, Field(pattern=CHUNK_ID_PATTERN)]
    role: Role
    text: StrictStr
    tokens: Annotated[StrictInt, Field(ge=0)]
    source: Annotated[StrictStr, Field(min_length=1)]
    part: Annotated[StrictInt, Field(ge=0)]
    parts: Annotated[StrictInt, Field(ge=1)]
    kind: Kind
    pinned: StrictBool = False
    meta: ChunkMetaModel = ChunkMetaModel()

    def to_chunk(self) -> Chunk:
        """Return the :class:`Chunk` this model describes.

        Raises:
            ChunkError: the fields break an invariant of :class:`Chunk`.

        >>> ChunkModel(id="c1", role="user", text="Hi", tokens=1, source="t",
        ...            part=0, parts=1, kind="turn").to_chunk().id
        'c1'
        """
        meta = self.meta
        return Chunk(
            id=self.id,
            role=self.role,
            text=self.text,
            tokens=self.tokens,
            source=self.source,
            part=self.part,
            parts=self.parts,
            kind=self.kind,
            pinned=self.pinned,
            meta=ChunkMeta(
                url=meta.url,
                title=meta.title,
                headings=meta.headings,
                speaker=meta.speaker,
                start_ms=meta.start_ms,
                end_ms=meta.end_ms,
                tool_name=meta.tool_name,
                call_id=meta.call_id,
                item_id=meta.item_id,
                marks=meta.marks,
            ),
        )


def chunk_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a chunk's JSON form (draft 2020-12).

    >>> sorted(chunk_json_schema()["properties"])[:4]
    ['id', 'kind', 'meta', 'part']
    """
    return ChunkModel.model_json_schema()


def _describe(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(loc) for loc in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
