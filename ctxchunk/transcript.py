"""Transcripts into role-tagged chunks, one turn at a time.

:func:`chunk_transcript` reads a conversation in any of the shapes agents log or send,
telling them apart turn by turn:

- OpenAI Chat Completions messages: ``{"role": ..., "content": ...}`` with string
  content or content-part arrays, ``name``, assistant ``tool_calls`` (and the legacy
  ``function_call``), and ``tool`` (or legacy ``function``) result messages;
- OpenAI Realtime and Responses conversation items, recognised by their ``type``:
  ``message`` items with ``input_text``, ``input_audio``, ``output_text``,
  ``output_audio`` (and the beta's ``text`` and ``audio``) content parts, whose audio
  parts contribute their ``transcript``; image, file and untranscribed audio parts
  become a counted placeholder line with their metadata (see
  :mod:`ctxchunk._wire_read`); ``function_call`` and
  ``function_call_output`` items (and their ``custom_tool_call`` counterparts);
- plain turns ``{"role", "text", "speaker"?, "start_ms"?, "end_ms"?, "id"?}``, alone
  or as the lines of a JSONL file.

How turns become chunks:

==========================================  ===========  ==========  ==================
turn                                        kind         role        source
==========================================  ===========  ==========  ==================
system / developer message                  instruction  system      item id or turn-i
user or assistant message                   turn         (same)      item id or turn-i
assistant ``tool_calls[j]`` (Chat)          tool_call    tool        turn-i.call-j
``function_call`` item                      tool_call    tool        item id or turn-i
``tool`` message, ``function_call_output``  tool_result  tool        item id or turn-i
==========================================  ===========  ==========  ==================

A tool call and its results carry the same ``meta.call_id``, and a result also gets
``meta.tool_name`` from its call when the call is in the same transcript. A turn that
fits in ``max_tokens`` becomes one chunk; a longer one is cut with
:func:`ctxchunk.split.split_text` into parts that share its ``source``, role, kind and
``meta``. Turns are never merged.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from ctxchunk._checks import WritableStr, check_int, load_json, lone_surrogate
from ctxchunk._wire_read import PartError, read_content
from ctxchunk.chunk import Chunk, ChunkMeta, chunks_of_text
from ctxchunk.exceptions import (
    CtxChunkError,
    EncodingError,
    InvalidTypeError,
    TranscriptError,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.split import DEFAULT_MAX_TOKENS
from ctxchunk.tokens import Tokenizer, get_tokenizer

__all__ = ["chunk_transcript"]

_M = TypeVar("_M", bound=BaseModel)


# Ids, names and speakers become chunk metadata, which is never tokenized: a lone
# surrogate in one would only surface when the chunks are written as JSON.
_Meta = WritableStr
_NonEmpty = Annotated[WritableStr, Field(min_length=1)]
_Millis = Annotated[StrictInt, Field(ge=0)]


class _Wire(BaseModel):
    """An OpenAI wire object, read leniently.

    Fields ctxchunk does not use are ignored: the API adds new ones often.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class _ContentPart(_Wire):
    # Media parts keep their own fields (image_url, input_audio, file...) for the
    # placeholder :mod:`ctxchunk._wire_read` makes of them.
    model_config = ConfigDict(extra="allow", frozen=True)

    type: StrictStr
    text: StrictStr | None = None
    transcript: StrictStr | None = None
    refusal: StrictStr | None = None


def _check_content(value: object) -> object:
    if value is not None and not isinstance(value, (str, list)):
        raise PydanticCustomError(
            "content_type", "should be a string or a list of content parts"
        )
    return value


_Content = Annotated[StrictStr | list[_ContentPart], BeforeValidator(_check_content)]


class _Function(_Wire):
    name: _NonEmpty
    arguments: StrictStr


class _Custom(_Wire):
    name: _NonEmpty
    input: StrictStr


class _ChatToolCall(_Wire):
    id: _NonEmpty
    type: Literal["function", "custom"] = "function"
    function: _Function | None = None
    custom: _Custom | None = None


class _ChatAudio(_Wire):
    transcript: StrictStr | None = None


class _ChatMessage(_Wire):
    role: StrictStr
    content: _Content | None = None
    name: _Meta | None = None
    tool_calls: list[_ChatToolCall] | None = None
    tool_call_id: _Meta | None = None
    function_call: _Function | None = None
    audio: _ChatAudio | None = None


class _Item(_Wire):
    id: _NonEmpty | None = None


class _MessageItem(_Item):
    type: Literal["message"]
    role: StrictStr
    content: _Content


class _FunctionCallItem(_Item):
    type: Literal["function_call"]
    call_id: _NonEmpty | None = None
    name: _NonEmpty
    arguments: StrictStr


class _CustomToolCallItem(_Item):
    type: Literal["custom_tool_call"]
    call_id: _NonEmpty | None = None
    name: _NonEmpty
    input: StrictStr


class _OutputItem(_Item):
    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: _NonEmpty
    output: _Content


class _PlainTurn(BaseModel):
    """ctxchunk's own turn format: unknown fields are errors, to catch typos."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: StrictStr
    text: StrictStr
    speaker: _Meta | None = None
    start_ms: _Millis | None = None
    end_ms: _Millis | None = None
    id: _NonEmpty | None = None


_ITEM_MODELS: dict[str, type[_Item]] = {
    "message": _MessageItem,
    "function_call": _FunctionCallItem,
    "custom_tool_call": _CustomToolCallItem,
    "function_call_output": _OutputItem,
    "custom_tool_call_output": _OutputItem,
}

# Content parts are read by ctxchunk._wire_read, shared with the session importers.
_UNION_TAG = re.compile(r"str|int|[a-z-]+\[.*\]|list\[.*\]")

# Message roles on the wire and what they become. Tool results are not messages in
# Realtime and Responses, so ``tool`` and ``function`` are Chat Completions only.
_MESSAGE_ROLES: dict[str, tuple[Role, Kind]] = {
    "system": (Role.SYSTEM, Kind.INSTRUCTION),
    "developer": (Role.SYSTEM, Kind.INSTRUCTION),
    "user": (Role.USER, Kind.TURN),
    "assistant": (Role.ASSISTANT, Kind.TURN),
}
_CHAT_ROLES = (*_MESSAGE_ROLES, "function", "tool")
# Plain turns accept every spelling Role.parse does.
_PLAIN_KIND: dict[Role, Kind] = {
    Role.SYSTEM: Kind.INSTRUCTION,
    Role.USER: Kind.TURN,
    Role.ASSISTANT: Kind.TURN,
    Role.TOOL: Kind.TOOL_RESULT,
}


def chunk_transcript(
    turns: Iterable[Mapping[str, Any] | BaseModel] | str | os.PathLike[str],
    max_tokens: int = DEFAULT_MAX_TOKENS,
    *,
    tokenizer: str | Tokenizer | None = None,
    first_index: int = 0,
) -> list[Chunk]:
    """Cut a transcript into role-tagged chunks of at most ``max_tokens`` tokens.

    Each turn's format is detected on its own: an object with a ``type`` is a
    Realtime / Responses item, one with ``content``, ``tool_calls`` or
    ``tool_call_id`` is a Chat Completions message, and one with ``text`` is a plain
    turn. See the module documentation for the mapping to kinds, roles and sources.

    Each turn becomes one chunk if it fits, else consecutive parts sharing its
    ``source``; the chunks of a turn concatenate to its text (the text parts of a
    message are joined with a newline). A source is the item's own ``id`` when it has
    one, else ``turn-<index>``, so chunk ids are the same on every run.

    Args:
        turns: The turns, as a list of mappings (or pydantic objects, such as the
            OpenAI SDK's, read through ``model_dump``), or the path of a JSONL file
            with one turn per line (blank lines are skipped).
        max_tokens: The most tokens a chunk may hold, at least 1.
        tokenizer: None (``o200k_base``), an encoding or model name, or a
            :class:`~ctxchunk.tokens.Tokenizer`.
        first_index: The index of the first turn, for a transcript chunked in
            instalments: sources and error messages count from it, so ids stay
            unique across instalments.

    Returns:
        The chunks, in conversation order.

    Raises:
        TranscriptError: a turn is malformed, empty, of unknown role or type, or
            reuses an id; the message starts with ``turn <index>:``. Also raised when
            the JSONL file cannot be read.
        InvalidTypeError: ``turns`` or ``max_tokens`` has the wrong type.
        InvalidArgumentError: ``max_tokens`` is below 1.

    >>> chunks = chunk_transcript([
    ...     {"role": "system", "content": "You are terse."},
    ...     {"role": "user", "content": "Weather in Oslo?"},
    ...     {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1",
    ...      "type": "function", "function": {"name": "weather",
    ...      "arguments": '{"city": "Oslo"}'}}]},
    ...     {"role": "tool", "tool_call_id": "call_1", "content": "4 °C, rain"},
    ... ])
    >>> [(c.kind.value, c.role.value, c.source, c.meta.call_id) for c in chunks]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('instruction', 'system', 'turn-0', None), ('turn', 'user', 'turn-1', None),
     ('tool_call', 'tool', 'turn-2.call-0', 'call_1'),
     ('tool_result', 'tool', 'turn-3', 'call_1')]
    """
    check_int("max_tokens", max_tokens, 1)
    check_int("first_index", first_index, 0)
    builder = _Builder(max_tokens, get_tokenizer(tokenizer))
    if isinstance(turns, (str, os.PathLike)):
        where_turns: Iterable[tuple[str, object]] = _read_jsonl(Path(turns))
    elif isinstance(turns, (bytes, bytearray, Mapping)) or not isinstance(
        turns, Iterable
    ):
        raise InvalidTypeError(
            f"turns must be a list of turns or the path of a JSONL file, got "
            f"{type(turns).__name__}: {turns!r:.80}"
            + ("; wrap a single turn in a list" if isinstance(turns, Mapping) else "")
        )
    else:
        where_turns = (("", turn) for turn in turns)
    for index, (where, turn) in enumerate(where_turns, start=first_index):
        label = f"turn {index}{where}"
        try:
            builder.add(index, turn)
        except _TurnError as exc:
            raise TranscriptError(f"{label}: {exc}") from None
        except (CtxChunkError, EncodingError) as exc:
            raise TranscriptError(f"{label}: {exc}") from exc
    return builder.chunks


class _TurnError(Exception):
    """A problem with the turn being read; chunk_transcript adds the turn's index."""


def _read_jsonl(path: Path) -> Iterator[tuple[str, object]]:
    try:
        data = path.read_bytes()
    # ValueError: a path the OS cannot take (a NUL byte, a lone surrogate).
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise TranscriptError(
            f"cannot read the transcript file {str(path)!r:.200}: {reason}; pass the "
            f"path of a JSONL file of turns, or a list of turns"
        ) from exc
    for lineno, raw in enumerate(data.splitlines(), start=1):
        where = f" (line {lineno} of {str(path)!r})"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TranscriptError(
                f"line {lineno} of {str(path)!r} is not UTF-8 ({exc.reason} at byte "
                f"{exc.start}); save the file as UTF-8"
            ) from None
        if not line.strip():
            continue
        try:
            turn = load_json(line)
        except json.JSONDecodeError as exc:
            raise TranscriptError(
                f"line {lineno} of {str(path)!r} is not JSON ({exc.msg} at column "
                f"{exc.colno}); write one JSON object per line"
            ) from None
        except ValueError as exc:
            raise TranscriptError(
                f"line {lineno} of {str(path)!r} is not JSON ({exc}); write one JSON "
                f"object per line"
            ) from None
        yield where, turn


class _Builder:
    """Turns validated turns into chunks, keeping track of sources and tool calls."""

    def __init__(self, max_tokens: int, tokenizer: Tokenizer) -> None:
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer
        self.chunks: list[Chunk] = []
        # source -> index of the turn that used it; call_id -> (tool name, turn index)
        self.sources: dict[str, int] = {}
        self.calls: dict[str, tuple[str, int]] = {}

    def add(self, index: int, turn: object) -> None:
        if not isinstance(turn, Mapping):
            dump = getattr(turn, "model_dump", None)
            if not callable(dump):
                raise _TurnError(
                    f"expected an object (a message, an item or a plain turn), got "
                    f"{type(turn).__name__}: {turn!r:.80}"
                )
            # An OpenAI SDK object (a pydantic model): read it as the JSON it sends.
            turn = dump(mode="json", exclude_none=True)
            if not isinstance(turn, Mapping):
                raise _TurnError(
                    f"model_dump() returned {type(turn).__name__}, not an object"
                )
        if "type" in turn:
            self._item(index, turn)
        elif "content" in turn or "tool_calls" in turn or "tool_call_id" in turn:
            self._chat(index, _validate(_ChatMessage, turn))
        elif "text" in turn:
            self._plain(index, _validate(_PlainTurn, turn))
        else:
            raise _TurnError(
                f"cannot tell the format of {dict(turn)!r:.120}: expected a Chat "
                f"Completions message (role, content), a Realtime or Responses item "
                f"(type) or a plain turn (role, text)"
            )

    # -- formats ---------------------------------------------------------------------

    def _chat(self, index: int, message: _ChatMessage) -> None:
        role = message.role
        source = f"turn-{index}"
        if role in ("tool", "function"):
            if role == "tool" and message.tool_call_id is None:
                raise _TurnError(
                    "a tool message needs the tool_call_id of the call it answers"
                )
            text = _content_text(message.content, "content")
            self._result(index, source, text, message.tool_call_id, message.name)
            return
        if role not in _MESSAGE_ROLES:
            raise _TurnError(
                f"unknown role {role!r:.80} for a Chat Completions message; use one "
                f"of {', '.join(repr(r) for r in _CHAT_ROLES)}"
            )
        chunk_role, kind = _MESSAGE_ROLES[role]
        calls = message.tool_calls or []
        calls_present = bool(calls) or message.function_call is not None
        if calls_present and role != "assistant":
            raise _TurnError(
                f"only an assistant message can make tool calls, but this one has "
                f"role {role!r}"
            )
        text = _content_text(message.content, "content")
        if not text and message.audio is not None and message.audio.transcript:
            text = message.audio.transcript
        if text.strip():
            self._claim(source, index)
            meta = ChunkMeta(speaker=message.name)
            self._emit(text, chunk_role, kind, source, meta)
        elif not calls_present:
            raise _TurnError(
                f"the {role} message has no text; give it content or drop the turn"
            )
        for j, call in enumerate(calls):
            body = call.function if call.type == "function" else call.custom
            if body is None:
                raise _TurnError(
                    f"tool_calls.{j} has type {call.type!r} but no {call.type!r} "
                    f"object with its name and arguments"
                )
            args = body.arguments if isinstance(body, _Function) else body.input
            self._call(index, f"{source}.call-{j}", body.name, args, call.id)
        if message.function_call is not None:
            legacy = message.function_call
            self._call(
                index,
                f"{source}.call-{len(calls)}",
                legacy.name,
                legacy.arguments,
                None,
            )

    def _item(self, index: int, turn: Mapping[str, Any]) -> None:
        item_type = turn["type"]
        model = _ITEM_MODELS.get(item_type) if isinstance(item_type, str) else None
        if model is None:
            raise _TurnError(
                f"unknown item type {item_type!r:.80}; ctxchunk reads "
                f"{', '.join(repr(t) for t in _ITEM_MODELS)} items"
            )
        item = _validate(model, turn)
        source = item.id if item.id is not None else f"turn-{index}"
        if isinstance(item, _MessageItem):
            if item.role not in _MESSAGE_ROLES:
                raise _TurnError(
                    f"unknown role {item.role!r:.80} for a message item; use one of "
                    f"{', '.join(repr(r) for r in _MESSAGE_ROLES)}"
                )
            text = _content_text(item.content, "content")
            if not text.strip():
                raise _TurnError(
                    f"the {item.role} message has no text; give it content or drop "
                    f"the item"
                )
            self._claim(source, index)
            role, kind = _MESSAGE_ROLES[item.role]
            self._emit(text, role, kind, source, ChunkMeta())
        elif isinstance(item, _FunctionCallItem):
            self._call(index, source, item.name, item.arguments, item.call_id)
        elif isinstance(item, _CustomToolCallItem):
            self._call(index, source, item.name, item.input, item.call_id)
        elif isinstance(item, _OutputItem):
            text = _content_text(item.output, "output")
            self._result(index, source, text, item.call_id, None)

    def _plain(self, index: int, turn: _PlainTurn) -> None:
        try:
            role = Role.parse(turn.role)
        except CtxChunkError as exc:
            raise _TurnError(str(exc)) from None
        kind = _PLAIN_KIND[role]
        if kind is not Kind.TOOL_RESULT and not turn.text.strip():
            raise _TurnError(
                f"the {turn.role} turn has no text; give it text or drop the turn"
            )
        if (
            turn.start_ms is not None
            and turn.end_ms is not None
            and turn.end_ms < turn.start_ms
        ):
            raise _TurnError(
                f"end_ms={turn.end_ms} is before start_ms={turn.start_ms}; a turn "
                f"must end at or after its start"
            )
        source = turn.id if turn.id is not None else f"turn-{index}"
        self._claim(source, index)
        meta = ChunkMeta(
            speaker=turn.speaker, start_ms=turn.start_ms, end_ms=turn.end_ms
        )
        self._emit(turn.text, role, kind, source, meta)

    # -- shared steps ----------------------------------------------------------------

    def _call(
        self, index: int, source: str, name: str, arguments: str, call_id: str | None
    ) -> None:
        if call_id is not None:
            if call_id in self.calls:
                raise _TurnError(
                    f"call_id {call_id!r:.80} is already used by the tool call in turn "
                    f"{self.calls[call_id][1]}; each call needs its own id"
                )
            self.calls[call_id] = (name, index)
        self._claim(source, index)
        meta = ChunkMeta(tool_name=name, call_id=call_id)
        self._emit(arguments, Role.TOOL, Kind.TOOL_CALL, source, meta)

    def _result(
        self,
        index: int,
        source: str,
        text: str,
        call_id: str | None,
        name: str | None,
    ) -> None:
        # A result whose call is not in this transcript keeps its call_id: the call
        # may have come in an earlier instalment.
        call = self.calls.get(call_id) if call_id is not None else None
        tool_name = call[0] if call is not None else name
        self._claim(source, index)
        meta = ChunkMeta(tool_name=tool_name, call_id=call_id)
        self._emit(text, Role.TOOL, Kind.TOOL_RESULT, source, meta)

    def _claim(self, source: str, index: int) -> None:
        first = self.sources.setdefault(source, index)
        if first != index:
            raise _TurnError(
                f"id {source!r:.80} is already used by turn {first}; give each turn "
                f"its own id"
            )

    def _emit(
        self, text: str, role: Role, kind: Kind, source: str, meta: ChunkMeta
    ) -> None:
        self.chunks.extend(
            chunks_of_text(
                text,
                self.max_tokens,
                role=role,
                kind=kind,
                source=source,
                meta=meta,
                tokenizer=self.tokenizer,
            )
        )


def _validate(model: type[_M], turn: Mapping[str, Any]) -> _M:
    try:
        return model.model_validate(turn)
    except pydantic.ValidationError as exc:
        errors = [(_location(e), e) for e in exc.errors(include_url=False)]
        problems = "; ".join(
            _describe_error(loc, error)
            for loc, error in errors
            # A list given for content fails the str branch of the union too; when
            # the list branch says what is wrong inside it, that is the one to show.
            if not (
                error["type"] == "string_type"
                and isinstance(error["input"], list)
                and any(other.startswith(f"{loc}.") for other, _ in errors)
            )
        )
        raise _TurnError(problems) from None


def _location(error: Any) -> str:
    # Drop the union-member tags pydantic puts in a location ("str",
    # "list[_ContentPart]"): the user wrote ``content.0.text``, not those.
    return ".".join(
        str(part) for part in error["loc"] if not _UNION_TAG.fullmatch(str(part))
    )


# What a field of each pydantic type error should have been.
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an int",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def _describe_error(loc: str, error: Any) -> str:
    if error["type"] == "missing":
        return f"missing field {loc!r}"
    if error["type"] == "extra_forbidden":
        return (
            f"unknown field {loc!r}; a plain turn has role, text, speaker, start_ms, "
            f"end_ms and id"
        )
    value = error.get("input")
    problem = lone_surrogate(value) if isinstance(value, str) else None
    if problem is not None:
        return f"field {loc!r}: {problem}"
    expected = _EXPECTED.get(error["type"])
    if expected is not None:
        return (
            f"field {loc!r}: should be {expected}, got {type(value).__name__} "
            f"{value!r:.60}"
        )
    return f"field {loc!r}: {error['msg']} (got {value!r:.60})"


def _content_text(content: str | list[_ContentPart] | None, field: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = [part.model_dump(exclude_none=True) for part in content]
    try:
        return read_content(parts, field).text
    except PartError as exc:
        raise _TurnError(str(exc)) from None
