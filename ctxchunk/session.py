"""Session logs: what happened in an agent session, one event a line, for replay.

A session log is a JSONL file. Each line is one JSON object with a ``type``, a time
``t_ms`` (milliseconds from the start of the session, never going backwards) and an
optional ``id`` that later events can refer to:

==================  =================================================================
``type``            fields (besides ``t_ms`` and ``id``)
==================  =================================================================
``instructions``    ``text``: the system instructions from now on
``turn``            ``role`` (``user`` or ``assistant``), ``text``, ``speaker``?,
                    ``words``? (``[{"word", "start_ms", "end_ms"}]``, relative to the
                    start of the turn's audio)
``document``        ``url``, ``title``?, ``content``, ``format`` (``html``,
                    ``markdown`` or ``text``)
``tool_call``       ``name``, ``arguments`` (a JSON string or object), ``result``,
                    ``call_id``?, ``batch``? (consecutive calls with the same
                    ``batch`` were made in one model step)
``interrupt``       ``item`` (the ``id`` of an earlier assistant ``turn``),
                    ``heard_ms`` (how much of its audio the user heard)
``request``         none: the moment the agent rendered the window and called the model
``probe``           ``needle`` (text that should still be in context now),
                    ``introduced`` (the 0-based index or the ``id`` of the event that
                    brought it in)
==================  =================================================================

:func:`load_session` validates every line with pydantic before it returns anything, so
a long file is never half-read: the first bad line (and how many more there are) is
reported with its line number in a :class:`~ctxchunk.exceptions.SessionLogError`.
:func:`dump_session` writes the same format back; ``load_session(dump_session(s))``
equals ``s``. :func:`session_from_chat_messages`,
:func:`session_from_anthropic_messages` and :func:`session_from_realtime_events` import
sessions from the logs agents already keep.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import attrs
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError

from ctxchunk._anthropic_log import chat_messages
from ctxchunk._checks import (
    WritableStr,
    check_items,
    check_meta_str,
    dump_json,
    load_json,
    lone_surrogate,
)
from ctxchunk._wire_read import PartError, ReadContent, read_content
from ctxchunk.exceptions import CtxChunkError, InvalidTypeError, SessionLogError

__all__ = [
    "DocumentEvent",
    "Event",
    "InstructionsEvent",
    "InterruptEvent",
    "ProbeEvent",
    "RequestEvent",
    "Session",
    "ToolCallEvent",
    "TurnEvent",
    "WordTiming",
    "dump_session",
    "load_session",
    "session_from_anthropic_messages",
    "session_from_chat_messages",
    "session_from_realtime_events",
]


_Millis = Annotated[StrictInt, Field(ge=0)]
# Every string of a session is written back by dump_session and into a window's
# JSON state: a lone surrogate would only fail there, far from its line.
_Str = WritableStr
_NonEmpty = Annotated[WritableStr, Field(min_length=1)]

_MAX_REPORTED_ERRORS = 5
"""How many bad lines a :class:`SessionLogError` message lists before summarising."""

_CHAT_STEP_MS = 1000
"""Chat messages carry no times; imported events are spaced this many ms apart."""


class _Model(BaseModel):
    # Fields use Strict* types; the model is lax only so JSON arrays fill tuples.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WordTiming(_Model):
    """One spoken word of a turn, timed from the start of the turn's audio.

    Invariant: ``0 <= start_ms <= end_ms``.
    """

    word: _Str
    start_ms: _Millis
    end_ms: _Millis

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> WordTiming:
        if self.end_ms < self.start_ms:
            raise ValueError(
                f"word {self.word!r:.40} ends (end_ms={self.end_ms}) before it "
                f"starts (start_ms={self.start_ms})"
            )
        return self


class _Event(_Model):
    t_ms: _Millis
    id: _NonEmpty | None = None


class InstructionsEvent(_Event):
    """The system instructions, in force from this event on (until the next ones)."""

    type: Literal["instructions"] = "instructions"
    text: _Str


class TurnEvent(_Event):
    """Something the user or the assistant said."""

    type: Literal["turn"] = "turn"
    role: Literal["user", "assistant"]
    text: _Str
    speaker: _Str | None = None
    words: tuple[WordTiming, ...] | None = None


class DocumentEvent(_Event):
    """A page or file the agent read (browsing, retrieval): tool context."""

    type: Literal["document"] = "document"
    url: _Str
    title: _Str | None = None
    content: _Str
    format: Literal["html", "markdown", "text"] = "text"


class ToolCallEvent(_Event):
    """A tool the agent called, with its arguments and its result.

    ``batch`` names the model step that made the call: consecutive ``tool_call``
    events with the same ``batch`` are the parallel calls of one step (one
    assistant message with several calls), replayed as one group. A call without
    one is a step of its own.
    """

    type: Literal["tool_call"] = "tool_call"
    name: _NonEmpty
    arguments: _Str | dict[str, Any]
    result: _Str
    call_id: _NonEmpty | None = None
    batch: _NonEmpty | None = None

    @pydantic.field_validator("arguments", mode="after")
    @classmethod
    def _json_arguments(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        # An object is sent on as JSON text: it must be standard JSON (no NaN) and
        # writable as UTF-8 (no lone surrogate).
        if isinstance(value, dict):
            try:
                problem = lone_surrogate(_arguments_text(value))
            except CtxChunkError as exc:
                problem = str(exc)
            if problem is not None:
                raise PydanticCustomError("json", "{problem}", {"problem": problem})
        return value

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON string the wire formats carry."""
        if isinstance(self.arguments, str):
            return self.arguments
        return _arguments_text(self.arguments)


def _arguments_text(arguments: dict[str, Any]) -> str:
    # The spacing json.dumps uses by default, which logged ids are derived from.
    return dump_json("arguments", arguments, sort_keys=True, separators=(", ", ": "))


class InterruptEvent(_Event):
    """The user cut the assistant off ``heard_ms`` into the audio of turn ``item``."""

    type: Literal["interrupt"] = "interrupt"
    item: _NonEmpty
    heard_ms: _Millis


class RequestEvent(_Event):
    """The agent rendered its window and called the model."""

    type: Literal["request"] = "request"


class ProbeEvent(_Event):
    """A fact that should still be in context: ``needle``, from event ``introduced``."""

    type: Literal["probe"] = "probe"
    needle: _NonEmpty
    introduced: Annotated[StrictInt, Field(ge=0)] | _NonEmpty


Event = Annotated[
    Union[  # noqa: UP007 (pydantic needs the Union form for a tagged union here)
        InstructionsEvent,
        TurnEvent,
        DocumentEvent,
        ToolCallEvent,
        InterruptEvent,
        RequestEvent,
        ProbeEvent,
    ],
    Field(discriminator="type"),
]
"""One line of a session log: a union of the event models, told apart by ``type``."""

_EVENT: pydantic.TypeAdapter[Event] = pydantic.TypeAdapter(Event)


_EVENT_TYPES = (
    InstructionsEvent,
    TurnEvent,
    DocumentEvent,
    ToolCallEvent,
    InterruptEvent,
    RequestEvent,
    ProbeEvent,
)


def _to_events(events: Iterable[Event]) -> tuple[Event, ...]:
    if isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Iterable):
        raise InvalidTypeError(
            f"events must be a list of session events (such as TurnEvent), got "
            f"{type(events).__name__}: {events!r:.80}; read JSON lines with "
            f"load_session"
        )
    out = tuple(events)
    for index, event in enumerate(out):
        if not isinstance(event, _EVENT_TYPES):
            raise InvalidTypeError(
                f"events[{index}] must be a session event (such as TurnEvent), got "
                f"{type(event).__name__}: {event!r:.80}; read JSON lines with "
                f"load_session"
            )
    return out


def _check_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_meta_str(attribute.name, value)


@attrs.frozen(slots=True)
class Session:
    """A validated session log: its events in order, and a name to report it under.

    Invariants (checked by :meth:`__attrs_post_init__`, so every ``Session`` holds
    them): ``t_ms`` never decreases; event ids are unique; an ``interrupt`` names an
    earlier assistant ``turn``; a ``probe`` names an earlier event by index or id;
    the ``tool_call`` events of one ``batch`` are consecutive, with distinct
    call ids.

    Attributes:
        events: The events, in the order they happened.
        name: What reports call the session (a file's stem, by default).
    """

    events: tuple[Event, ...] = attrs.field(converter=_to_events)
    name: str = attrs.field(default="session", validator=_check_name)

    def __attrs_post_init__(self) -> None:
        problems = _cross_check(self.events)
        if problems:
            index, message = problems[0]
            raise SessionLogError(f"event {index}: {message}")

    def __len__(self) -> int:
        return len(self.events)

    def index_of(self, ref: int | str) -> int:
        """Return the index of the event ``ref`` names: an index, or an event's ``id``.

        Raises:
            SessionLogError: no event has that index or id.

        >>> s = Session([TurnEvent(t_ms=0, role="user", text="hi", id="u1")])
        >>> s.index_of("u1"), s.index_of(0)
        (0, 0)
        """
        if isinstance(ref, int):
            if 0 <= ref < len(self.events):
                return ref
        else:
            for index, event in enumerate(self.events):
                if event.id == ref:
                    return index
        raise SessionLogError(
            f"no event {ref!r:.60} in session {self.name!r}; refer to an event by "
            f"its 0-based index or its id"
        )

    def to_jsonl(self) -> str:
        """Return the session as JSONL text, one event a line (:func:`dump_session`)."""
        return "".join(_dump_event(event) + "\n" for event in self.events)


def _dump_event(event: Event) -> str:
    data = event.model_dump(mode="json", exclude_none=True)
    ordered = {"type": data.pop("type"), "t_ms": data.pop("t_ms")}
    ordered.update(data)
    line = dump_json("event", ordered, separators=(", ", ": "))
    # JSON leaves these unescaped, but str.splitlines breaks lines at them.
    return line.translate(_LINE_BREAK_ESCAPES)


_LINE_BREAK_ESCAPES = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def _cross_check(events: Sequence[Event]) -> list[tuple[int, str]]:
    """Return ``(event index, problem)`` for each rule that spans several events."""
    problems: list[tuple[int, str]] = []
    ids: dict[str, int] = {}
    # Each batch seen: the index of its first event, and its calls' ids.
    batches: dict[str, tuple[int, set[str]]] = {}
    last_t = 0
    for index, event in enumerate(events):
        if isinstance(event, ToolCallEvent) and event.batch is not None:
            problem = _batch_problem(events, index, event, batches)
            if problem is not None:
                problems.append((index, problem))
        if event.t_ms < last_t:
            problems.append(
                (
                    index,
                    f"t_ms={event.t_ms} goes back in time (the event before is at "
                    f"t_ms={last_t}); events must be in time order",
                )
            )
        last_t = max(last_t, event.t_ms)
        if isinstance(event, InterruptEvent):
            target = ids.get(event.item)
            if target is None:
                problems.append(
                    (
                        index,
                        f"interrupt names item={event.item!r:.60}, which is not the "
                        f"id of an earlier event; give the assistant turn an id",
                    )
                )
            else:
                turn = events[target]
                if not (isinstance(turn, TurnEvent) and turn.role == "assistant"):
                    problems.append(
                        (
                            index,
                            f"interrupt names item={event.item!r:.60}, a "
                            f"{turn.type} event; only an assistant turn can be "
                            f"interrupted",
                        )
                    )
        elif isinstance(event, ProbeEvent):
            ref = event.introduced
            if isinstance(ref, int):
                if ref >= index:
                    problems.append(
                        (
                            index,
                            f"probe introduced={ref} is not an earlier event; "
                            f"name the event (0-based index or id) that brought "
                            f"the needle in",
                        )
                    )
            elif ref not in ids:
                problems.append(
                    (
                        index,
                        f"probe introduced={ref!r:.60} is not the id of an earlier "
                        f"event",
                    )
                )
        if event.id is not None:
            if event.id in ids:
                problems.append(
                    (
                        index,
                        f"id={event.id!r:.60} is already used by event "
                        f"{ids[event.id]}; ids must be unique",
                    )
                )
            else:
                ids[event.id] = index
    return problems


def _batch_problem(
    events: Sequence[Event],
    index: int,
    event: ToolCallEvent,
    batches: dict[str, tuple[int, set[str]]],
) -> str | None:
    """Why call ``index`` cannot join its batch, or None; records it in ``batches``."""
    batch = event.batch
    assert batch is not None
    seen = batches.get(batch)
    if seen is None:
        batches[batch] = (index, set() if event.call_id is None else {event.call_id})
        return None
    first, call_ids = seen
    previous = events[index - 1]
    if not (isinstance(previous, ToolCallEvent) and previous.batch == batch):
        return (
            f"tool_call of batch={batch!r:.60} is not next to the batch's other "
            f"calls (it starts at event {first}, and event {index - 1} just "
            f"before this one is a {previous.type} outside it); the calls of one "
            f"step must be consecutive events, or have different batches"
        )
    if event.call_id is not None:
        if event.call_id in call_ids:
            return (
                f"call_id={event.call_id!r:.60} is used twice in batch="
                f"{batch!r:.60}; the calls of one step need distinct ids"
            )
        call_ids.add(event.call_id)
    return None


def _describe(error: pydantic.ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in detail["loc"]) or "line"
        value = detail.get("input")
        # pydantic cannot measure a string holding a lone surrogate; say so plainly.
        problem = lone_surrogate(value) if isinstance(value, str) else None
        parts.append(f"{where}: {problem or detail['msg']}")
    return "; ".join(parts)


def _read_lines(
    source: str | os.PathLike[str] | Iterable[str],
) -> tuple[str, list[str]]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        # ValueError: not UTF-8, or a path the OS cannot take (NUL, lone surrogate).
        except (OSError, ValueError) as exc:
            raise SessionLogError(
                f"cannot read the session log {str(path)!r:.200}: {exc}; pass the "
                f"path of a UTF-8 JSONL file, or its lines"
            ) from exc
        return str(path), _split_lines(text)
    if isinstance(source, (bytes, bytearray)):
        raise InvalidTypeError(
            "session log must be a path or an iterable of str lines, got bytes; "
            "decode it first"
        )
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise InvalidTypeError(
            f"session log must be a path or an iterable of str lines, got "
            f"{type(source).__name__}: {source!r:.80}"
        )
    lines = check_items("session log lines", source, str)
    return "<lines>", [part for line in lines for part in _split_lines(line)]


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a JSONL line: str.splitlines would also split at U+0085, U+2028
    # and other breaks that JSON strings may hold unescaped.
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _read_event(line: str) -> Event | str:
    """Return the event one log line holds, or why it holds none.

    pydantic reads the line's JSON itself, with no dict built in between (a third
    of the time of a long log), and reads standard JSON as ``json.loads`` does. A
    line it refuses is read again with ``json.loads``, to say why: NaN and
    Infinity, which it parses, are refused either way, as no field can hold them
    (numbers are strict ints, tool arguments are checked as standard JSON).
    """
    try:
        return _EVENT.validate_json(line)
    except pydantic.ValidationError:
        pass
    try:
        # NaN and Infinity are refused: no other JSON parser reads them, and
        # dump_session could not write them back.
        data = load_json(line)
    except json.JSONDecodeError as exc:
        return (
            f"not JSON ({exc.msg} at column {exc.colno}); write one JSON object "
            f"per line"
        )
    except ValueError as exc:
        return f"not JSON ({exc}); write standard JSON"
    if not isinstance(data, dict):
        return f"expected a JSON object with a 'type', got {type(data).__name__}"
    try:
        return _EVENT.validate_python(data)
    except pydantic.ValidationError as exc:
        return _describe(exc)


def load_session(
    source: str | os.PathLike[str] | Iterable[str], *, name: str | None = None
) -> Session:
    """Read and validate a JSONL session log.

    Every line is validated before anything is returned; blank lines are skipped. The
    error names the first bad line's number (1-based) and counts the others.

    Args:
        source: A path (``str`` or ``os.PathLike``) to a JSONL file, or its lines.
        name: What to call the session; by default the file's stem.

    Returns:
        The session.

    Raises:
        SessionLogError: the file cannot be read, or a line is not JSON, not a known
            event, or breaks a rule that spans events (time order, unique ids,
            references to earlier events).

    >>> s = load_session(['{"type": "turn", "t_ms": 0, "role": "user", "text": "hi"}'])
    >>> s.events[0].text
    'hi'
    """
    if name is not None:
        check_meta_str("name", name)
    label, lines = _read_lines(source)
    if name is None:
        name = Path(label).stem if label != "<lines>" else "session"
    events: list[Event] = []
    line_of: list[int] = []
    errors: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        event = _read_event(line)
        if isinstance(event, str):
            errors.append(f"line {lineno}: {event}")
            continue
        events.append(event)
        line_of.append(lineno)
    if not errors:
        errors = [
            f"line {line_of[index]}: {message}"
            for index, message in _cross_check(events)
        ]
    if errors:
        more = len(errors) - _MAX_REPORTED_ERRORS
        shown = "\n  ".join(errors[:_MAX_REPORTED_ERRORS])
        tail = f"\n  ... and {more} more bad lines" if more > 0 else ""
        raise SessionLogError(
            f"{label}: {len(errors)} bad line(s); nothing was loaded:\n  {shown}{tail}"
        )
    return Session(events, name=name)


def dump_session(session: Session, path: str | os.PathLike[str] | None = None) -> str:
    r"""Return the session as JSONL text, and write it to ``path`` when one is given.

    Fields at their defaults (``None``) are left out; ``type`` and ``t_ms`` come
    first on each line.

    Raises:
        InvalidTypeError: ``session`` is not a :class:`Session`, or ``path`` is not
            a path.
        SessionLogError: the file cannot be written.

    >>> s = Session([RequestEvent(t_ms=5)])
    >>> dump_session(s)
    '{"type": "request", "t_ms": 5}\n'
    """
    if not isinstance(session, Session):
        raise InvalidTypeError(
            f"session must be a Session, got {type(session).__name__}: "
            f"{session!r:.80}; read one with load_session"
        )
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise InvalidTypeError(
            f"path must be a str, an os.PathLike or None, got {type(path).__name__}: "
            f"{path!r:.80}"
        )
    text = session.to_jsonl()
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        # ValueError: a path the OS cannot take (a NUL byte, a lone surrogate).
        except (OSError, ValueError) as exc:
            raise SessionLogError(
                f"cannot write the session log to path={str(path)!r:.200}: {exc}"
            ) from exc
    return text


# --------------------------------------------------------------------------- importers


def _load_json(source: object, what: str) -> Any:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        # ValueError: not UTF-8, or a path the OS cannot take (NUL, lone surrogate).
        except (OSError, ValueError) as exc:
            raise SessionLogError(
                f"cannot read {what} {str(path)!r:.200}: {exc}"
            ) from exc
        stripped = text.lstrip()
        try:
            return load_json(text)
        except json.JSONDecodeError as exc:
            if stripped.startswith("["):
                raise SessionLogError(
                    f"{str(path)!r} is not a JSON array ({exc.msg} at line "
                    f"{exc.lineno}); pass a JSON array or JSONL of {what}"
                ) from None
        except ValueError as exc:
            raise SessionLogError(
                f"{str(path)!r} is not standard JSON ({exc}); write null or a "
                f"string where it holds NaN or Infinity"
            ) from None
        values = []
        for lineno, line in enumerate(_split_lines(text), start=1):
            if not line.strip():
                continue
            try:
                values.append(load_json(line))
            except json.JSONDecodeError as exc:
                raise SessionLogError(
                    f"{str(path)!r} line {lineno}: not JSON ({exc.msg}); pass a JSON "
                    f"array or JSONL of {what}"
                ) from None
            except ValueError as exc:
                raise SessionLogError(
                    f"{str(path)!r} line {lineno}: not standard JSON ({exc}); write "
                    f"null or a string where it holds NaN or Infinity"
                ) from None
        return values
    return source


_Arguments = str | dict[str, Any]


def _call_arguments(arguments: object, where: str) -> _Arguments:
    """A logged call's arguments: JSON text as it is, an object as an object.

    An object stays one (the tool_call event checks it is JSON data and writes it
    as JSON); ``str()`` of it would be Python's spelling, which is not JSON.
    """
    if arguments is None or arguments == "":
        return "{}"
    if isinstance(arguments, str):
        return arguments
    if isinstance(arguments, Mapping):
        return dict(arguments)
    raise SessionLogError(
        f"{where}: a call's arguments must be JSON text or an object, got "
        f"{type(arguments).__name__}: {arguments!r:.80}"
    )


def _content_text(content: object, where: str = "content") -> str:
    """Return the text of a Chat message or Realtime item's content.

    Read by :mod:`ctxchunk._wire_read`, as :func:`~ctxchunk.transcript.chunk_transcript`
    reads it: media parts become placeholders.
    """
    return _read(content, where).text


def _read(content: object, where: str) -> ReadContent:
    try:
        return read_content(content, where)
    except PartError as exc:
        raise SessionLogError(str(exc)) from None


def session_from_chat_messages(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    name: str | None = None,
) -> Session:
    """Import an OpenAI Chat Completions ``messages`` list as a session.

    ``system`` and ``developer`` messages become ``instructions``; ``user`` and
    ``assistant`` text becomes ``turn`` events; each assistant message is preceded by
    a ``request`` (the model call that produced it); an assistant ``tool_calls`` entry
    and the ``tool`` message answering it become one ``tool_call`` event, placed where
    the result arrived. The calls of a message with several are one model step: they
    share the ``batch`` ``step-<n>`` (the n-th assistant message); results of one
    step that another message separates make a batch per run. Messages carry no
    times, so event ``i`` gets ``t_ms = 1000 * i``.

    Args:
        source: A path to a JSON file holding the list (or ``{"messages": [...]}``),
            or the list itself.
        name: What to call the session; by default the file's stem.

    Returns:
        The session.

    Raises:
        SessionLogError: the file cannot be read, or a message is malformed.

    >>> s = session_from_chat_messages([
    ...     {"role": "system", "content": "Be brief."},
    ...     {"role": "user", "content": "Hi"},
    ...     {"role": "assistant", "content": "Hello!"},
    ... ])
    >>> [e.type for e in s.events]
    ['instructions', 'turn', 'request', 'turn']
    """
    data = _load_json(source, "Chat messages")
    if isinstance(data, Mapping) and "messages" in data:
        data = data["messages"]
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise SessionLogError(
            f"Chat messages must be a JSON list of messages, got {type(data).__name__}"
        )
    raw: list[dict[str, Any]] = []
    calls: dict[str, _Call] = {}
    steps = 0  # assistant messages so far: the model's steps
    for index, message in enumerate(data):
        if not isinstance(message, Mapping):
            raise SessionLogError(
                f"message {index}: expected an object, got {type(message).__name__}"
            )
        steps += message.get("role") == "assistant"
        try:
            _take_message(index, message, raw, calls, steps)
        except PartError as exc:
            raise SessionLogError(f"message {index}: {exc}") from None
    return _build(_batch_steps(raw), name, source, step_ms=_CHAT_STEP_MS)


def session_from_anthropic_messages(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    name: str | None = None,
) -> Session:
    """Import an Anthropic Messages API log (``messages``, and ``system``) as a session.

    The log reads as the Chat Completions messages it amounts to (see
    :mod:`ctxchunk._anthropic_log`), then as :func:`session_from_chat_messages`
    reads those: ``system`` becomes ``instructions``, text blocks ``turn`` events,
    each ``tool_use`` and the ``tool_result`` answering it one ``tool_call`` event
    where the result arrived (server tools' calls and results too; the calls of one
    assistant message share a ``batch``), images and
    non-text documents placeholders; ``thinking`` blocks are left out (the API
    strips earlier turns' thinking from the context).

    Args:
        source: A path to a JSON file holding the ``messages`` list or a request
            body ``{"system"?, "messages"}``, or the list or body itself.
        name: What to call the session; by default the file's stem.

    Returns:
        The session.

    Raises:
        SessionLogError: the file cannot be read, or a message or block is
            malformed (the error names it).

    >>> s = session_from_anthropic_messages({"system": "Be brief.", "messages": [
    ...     {"role": "user", "content": "Hi"},
    ...     {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
    ... ]})
    >>> [e.type for e in s.events]
    ['instructions', 'turn', 'request', 'turn']
    """
    data = _load_json(source, "Anthropic messages")
    if (
        isinstance(data, Sequence)
        and len(data) == 1
        and isinstance(data[0], Mapping)
        and "messages" in data[0]
    ):
        data = data[0]  # one request body, read as a one-line JSONL
    if name is None and isinstance(source, (str, os.PathLike)):
        name = Path(source).stem
    return session_from_chat_messages(chat_messages(data), name=name)


_Call = tuple[str, _Arguments, str | None]
"""A Chat call waiting for its result: its name, arguments and model step (the
``batch`` of a step with several calls, else None)."""


def _take_message(
    index: int,
    message: Mapping[str, Any],
    raw: list[dict[str, Any]],
    calls: dict[str, _Call],
    steps: int,
) -> None:
    role = message.get("role")
    if role in ("system", "developer"):
        raw.append(
            {"type": "instructions", "text": read_content(message.get("content")).text}
        )
    elif role == "user":
        raw.append(
            {
                "type": "turn",
                "role": "user",
                "text": read_content(message.get("content")).text,
            }
        )
    elif role == "assistant":
        raw.append({"type": "request"})
        text = read_content(message.get("content")).text or _spoken(message)
        if text:
            raw.append({"type": "turn", "role": "assistant", "text": text})
        tool_calls = message.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            raise SessionLogError(
                f"message {index}: tool_calls must be a list, got "
                f"{type(tool_calls).__name__}"
            )
        legacy = message.get("function_call")
        # The calls of one message are one model step: with several, a batch named
        # by the step's number.
        step = None
        if len(tool_calls) + isinstance(legacy, Mapping) > 1:
            step = f"step-{steps}"
        for j, call in enumerate(tool_calls):
            # A function call carries "function"; a custom tool's call, "custom"
            # with free-form "input" text.
            kind = "custom" if isinstance(call, Mapping) and "custom" in call else None
            function = (
                call.get(kind or "function") if isinstance(call, Mapping) else None
            )
            if not isinstance(call, Mapping) or not isinstance(function or {}, Mapping):
                raise SessionLogError(
                    f"message {index}: tool_calls[{j}] must be an object with a "
                    f"'function' object, got {call!r:.80}"
                )
            function = function or {}
            arguments = function.get("input" if kind else "arguments")
            calls[str(call.get("id"))] = (
                str(function.get("name") or "tool"),
                _call_arguments(arguments, f"message {index}"),
                step,
            )
        if isinstance(legacy, Mapping):
            # The deprecated functions API: a "function" message answers it by name.
            name = str(legacy.get("name") or "tool")
            calls[name] = (
                name,
                _call_arguments(legacy.get("arguments"), f"message {index}"),
                step,
            )
    elif role in ("tool", "function"):
        call_id = str(message.get("tool_call_id") or message.get("name") or "")
        tool, arguments, step = calls.pop(
            call_id, (str(message.get("name") or "tool"), "{}", None)
        )
        raw.append(
            {
                "type": "tool_call",
                "name": tool,
                "arguments": arguments,
                "result": read_content(message.get("content")).text,
                **({"call_id": call_id} if call_id else {}),
                **({"_step": step} if step else {}),
            }
        )
    else:
        raise SessionLogError(
            f"message {index}: unknown role {role!r:.40}; expected system, "
            f"developer, user, assistant or tool"
        )


def _spoken(message: Mapping[str, Any]) -> str:
    """An assistant message's words when it has no content.

    Its ``refusal``, or the ``transcript`` of its ``audio`` (a Chat audio reply, as a
    response logs it).
    """
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        return refusal
    audio = message.get("audio")
    transcript = audio.get("transcript") if isinstance(audio, Mapping) else None
    return transcript if isinstance(transcript, str) else ""


def _batch_steps(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give the calls of one model step their ``batch``, in place; return ``raw``.

    Importers mark each imported call with its step (``_step``). A run of two or
    more consecutive calls of one step becomes one batch, named by the step; a
    step whose results did not arrive together is cut into runs, each a batch of
    its own (``step/2``...), as a session's batches must be consecutive. A call
    id seen again in a run also starts a new one. A lone call gets no batch, so
    logs without parallel calls import as before.
    """
    steps = [data.pop("_step", None) for data in raw]
    used: set[str] = set()
    start = 0
    while start < len(raw):
        step = steps[start]
        end = start + 1
        if step is not None:
            ids = {raw[start].get("call_id")}
            while end < len(raw) and steps[end] == step:
                call_id = raw[end].get("call_id")
                if call_id is not None and call_id in ids:
                    break
                ids.add(call_id)
                end += 1
        if end - start > 1:
            batch, k = step, 1
            while batch in used:
                k += 1
                batch = f"{step}/{k}"
            used.add(batch)
            for data in raw[start:end]:
                data["batch"] = batch
        start = end
    return raw


def _build(
    raw: list[dict[str, Any]], name: str | None, source: object, *, step_ms: int
) -> Session:
    events: list[Event] = []
    for index, data in enumerate(raw):
        data.setdefault("t_ms", index * step_ms)
        try:
            events.append(_EVENT.validate_python(data))
        except pydantic.ValidationError as exc:
            raise SessionLogError(f"imported event {index}: {_describe(exc)}") from None
    if name is None:
        name = (
            Path(source).stem if isinstance(source, (str, os.PathLike)) else "session"
        )
    return Session(events, name=name)


@attrs.define
class _Slot:
    """An item of a Realtime conversation, in the order it appeared."""

    kind: str
    data: dict[str, Any]
    t_ms: int


def _iter_realtime(data: object) -> Iterator[tuple[int | None, Mapping[str, Any]]]:
    if isinstance(data, Mapping):
        data = data.get("events", [data])
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise SessionLogError(
            f"Realtime events must be a JSON list (or JSONL) of events, got "
            f"{type(data).__name__}"
        )
    for index, entry in enumerate(data):
        if not isinstance(entry, Mapping):
            raise SessionLogError(
                f"event {index}: expected an object, got {type(entry).__name__}"
            )
        # A logger may wrap each event with its time: {"t_ms": 1200, "event": {...}}.
        event = entry.get("event", entry)
        t_ms = entry.get(
            "t_ms", event.get("t_ms") if isinstance(event, Mapping) else None
        )
        if not isinstance(event, Mapping):
            raise SessionLogError(f"event {index}: 'event' must be an object")
        yield (t_ms if isinstance(t_ms, int) and t_ms >= 0 else None), event


def session_from_realtime_events(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    name: str | None = None,
) -> Session:
    """Import a log of OpenAI Realtime client and server events as a session.

    Read, in log order (everything else is ignored):

    - ``session.update`` / ``session.created`` / ``session.updated`` with
      ``session.instructions``: ``instructions`` when they change;
    - an item from ``conversation.item.create``, ``conversation.item.created``,
      ``conversation.item.added``, ``conversation.item.done``,
      ``response.output_item.added``, ``response.output_item.done`` or the
      ``output`` of ``response.done``: a ``message`` item becomes a ``turn`` (its
      ``input_text`` / ``text`` / ``output_text`` parts, or its audio parts'
      ``transcript``), placed where the item first appeared and filled in by later
      events about the same item id; a ``function_call_output`` with the matching
      ``function_call`` becomes a ``tool_call``; the calls one response outputs
      (its ``response_id``, the ``response.id`` of ``response.done``, or the response
      under way) share a ``batch``, the response's id or ``step-<n>``. A log of
      both sides holds a
      client-created item twice: the server's copy (the output of the same
      ``call_id``, or a message of the same role and text that the client sent
      without an id) only gives it its id;
    - ``conversation.item.input_audio_transcription.completed``: the ``transcript`` of
      the user item ``item_id``; ``response.output_audio_transcript.done`` /
      ``response.output_text.done`` (and their beta names
      ``response.audio_transcript.done`` / ``response.text.done``): the text of the
      model's item ``item_id`` when no item event carried it;
    - ``conversation.item.truncate`` (client) or ``conversation.item.truncated``
      (server): an ``interrupt`` of ``item_id`` at ``audio_end_ms`` (a
      ``truncated`` confirming a logged ``truncate`` is not counted twice);
    - ``response.create`` (client) or ``response.created`` (server, unless it answers
      a ``response.create`` already counted): a ``request``.

    Items whose text never arrives (audio without a transcript) are left out, with
    any interrupt of them. Events carry no times on the wire; a ``t_ms`` on the event
    or on a wrapper ``{"t_ms": ..., "event": {...}}`` is used when present, else the
    previous time plus 100 ms.

    Args:
        source: A path to a JSON array or JSONL file of events, or the list itself.
        name: What to call the session; by default the file's stem.

    Returns:
        The session.

    Raises:
        SessionLogError: the file cannot be read, or an event is malformed.

    >>> s = session_from_realtime_events([
    ...     {"type": "conversation.item.created", "item": {"id": "item_1",
    ...      "type": "message", "role": "user",
    ...      "content": [{"type": "input_audio", "transcript": None}]}},
    ...     {"type": "response.created", "response": {"id": "resp_1"}},
    ...     {"type": "conversation.item.input_audio_transcription.completed",
    ...      "item_id": "item_1", "content_index": 0, "transcript": "Hi there"},
    ... ])
    >>> [(e.type, getattr(e, "text", None)) for e in s.events]
    [('turn', 'Hi there'), ('request', None)]
    """
    data = _load_json(source, "Realtime events")
    log = _RealtimeLog()
    slots = log.slots
    instructions: str | None = None
    open_request = False
    # Client truncations not yet answered by the server's ``truncated``.
    truncating: list[tuple[str, int]] = []
    now = -100
    for t_ms, event in _iter_realtime(data):
        now = max(now + 100, 0) if t_ms is None else max(t_ms, now)
        kind = event.get("type")
        if kind in ("session.update", "session.created", "session.updated"):
            session = event.get("session")
            text = session.get("instructions") if isinstance(session, Mapping) else None
            if isinstance(text, str) and text != instructions:
                instructions = text
                slots.append(_Slot("instructions", {"text": text}, now))
        elif kind in (
            "conversation.item.create",
            "conversation.item.created",
            "conversation.item.added",
            "conversation.item.done",
            "response.output_item.added",
            "response.output_item.done",
        ):
            item = event.get("item")
            if isinstance(item, Mapping):
                # A call the client created is no step of the model's; one the
                # server sends is, of the response it names (or the open one).
                response = None
                if kind.startswith("response."):
                    response = event.get("response_id") or log.response
                elif kind != "conversation.item.create":
                    response = log.response
                log.take_item(item, now, response=response)
        elif isinstance(kind, str) and kind in _SPOKEN_DONE:
            # The model's finished text or transcript of one item: it fills an
            # item read without it, or stands for an item the log never showed.
            text = event.get(_SPOKEN_DONE[kind])
            if isinstance(text, str) and event.get("item_id"):
                log.take_item(
                    {
                        "id": event["item_id"],
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text}],
                    },
                    now,
                    fill=True,
                )
        elif kind == "conversation.item.input_audio_transcription.completed":
            slot = log.by_item.get(str(event.get("item_id")))
            transcript = event.get("transcript")
            if slot is not None and isinstance(transcript, str):
                slot.data["text"] = transcript
        elif kind in ("conversation.item.truncate", "conversation.item.truncated"):
            heard = event.get("audio_end_ms")
            if isinstance(heard, int) and heard >= 0:
                cut = (str(event.get("item_id")), heard)
                if kind == "conversation.item.truncated" and cut in truncating:
                    # The server confirms a truncation the client's log holds.
                    truncating.remove(cut)
                    continue
                if kind == "conversation.item.truncate":
                    truncating.append(cut)
                slots.append(
                    _Slot("interrupt", {"item": cut[0], "heard_ms": heard}, now)
                )
        elif kind == "response.done":
            # A log that keeps only the finished responses has their items here
            # (items already read from output_item.done are only filled in).
            response = event.get("response")
            output = response.get("output") if isinstance(response, Mapping) else None
            given = response.get("id") if isinstance(response, Mapping) else None
            # The response's own id, else the one under way, else a new number.
            done = given if isinstance(given, str) and given else None
            done = done or log.response or log.open(None)
            if isinstance(output, list):
                for item in output:
                    if isinstance(item, Mapping):
                        log.take_item(item, now, response=done)
            log.response = None
        elif kind == "response.create":
            open_request = True
            log.open(None)
            slots.append(_Slot("request", {}, now))
        elif kind == "response.created":
            log.open(event.get("response"), created=open_request)
            if open_request:
                open_request = False
            else:
                slots.append(_Slot("request", {}, now))
    return _build(_batch_steps(_realtime_raw(slots)), name, source, step_ms=0)


_SPOKEN_DONE: Mapping[str, str] = {
    "response.output_audio_transcript.done": "transcript",
    "response.audio_transcript.done": "transcript",
    "response.output_text.done": "text",
    "response.text.done": "text",
}
"""The events that end the model's text of one item, and the field holding it (GA
and beta names)."""


class _RealtimeLog:
    """The conversation items a Realtime log has shown so far, in order.

    A log may hold both sides: an item the client created without an id
    (``conversation.item.create``) comes back from the server with one
    (``conversation.item.added`` / ``created`` / ``done``). The echo is the same item,
    matched by its call id (a tool output) or by its role and text (a message), and
    only names it.
    """

    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        self.by_item: dict[str, _Slot] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, _Slot] = {}
        # Messages the client created without an id, waiting for the server's.
        self.unnamed: list[_Slot] = []
        # The response under way (its id, or its number), whose output items the
        # server is sending: the calls of one response are one model step.
        self.response: str | None = None
        self.responses = 0

    def open(self, response: object, *, created: bool = False) -> str:
        """Start a response (``created``: name the one ``response.create`` began).

        Returns its id, or ``step-<n>`` (the n-th response: the n-th model step,
        as a Chat log's steps are named) when the log gives none.
        """
        given = response.get("id") if isinstance(response, Mapping) else None
        if not created or self.response is None:
            self.responses += 1
        if isinstance(given, str) and given:
            self.response = given
        elif not created or self.response is None:
            self.response = f"step-{self.responses}"
        return self.response

    def take_item(
        self,
        item: Mapping[str, Any],
        now: int,
        *,
        fill: bool = False,
        response: object = None,
    ) -> None:
        """Read an item; with ``fill``, text only fills an item that has none.

        A call's ``response`` (the id of the response that made it, or None) is
        its model step: the calls of one response become one batch.
        """
        item_id = str(item["id"]) if item.get("id") else None
        item_type = item.get("type", "message")
        if item_type == "message":
            self._message(item, item_id, now, fill=fill)
        elif item_type in ("function_call", "custom_tool_call"):
            # A custom tool's call carries free-form "input" for its arguments.
            key = "input" if item_type == "custom_tool_call" else "arguments"
            call_id = str(item.get("call_id") or item_id or "")
            self.calls[call_id] = {
                "name": str(item.get("name") or "tool"),
                "arguments": _call_arguments(item.get(key), f"item {item_id!r:.40}"),
                "_step": str(response) if response else None,
            }
        elif item_type in ("function_call_output", "custom_tool_call_output"):
            if item_id is not None and item_id in self.by_item:
                return
            call_id = str(item.get("call_id") or "")
            answered = self.outputs.get(call_id) if call_id else None
            if answered is not None:  # the same output, echoed by the other side
                if item_id is not None:
                    self.by_item[item_id] = answered
                return
            call = self.calls.pop(call_id, {"name": "tool", "arguments": "{}"})
            slot = _Slot(
                "tool_call",
                {
                    **call,
                    "result": _output_text(item.get("output")),
                    "call_id": call_id or None,
                },
                now,
            )
            if item_id is not None:
                self.by_item[item_id] = slot
            if call_id:
                self.outputs[call_id] = slot
            self.slots.append(slot)

    def _message(
        self, item: Mapping[str, Any], item_id: str | None, now: int, *, fill: bool
    ) -> None:
        role = item.get("role")
        read = _read(item.get("content"), f"item {item_id!r:.40} content")
        text = read.text
        if role in ("system", "developer"):
            slot_kind, data = "instructions", {"text": text}
        elif role in ("user", "assistant"):
            slot_kind, data = "turn", {"role": role, "text": text}
        else:
            return
        existing = self.by_item.get(item_id) if item_id is not None else None
        if existing is not None:
            # A placeholder (audio whose transcript has not come) never replaces
            # text already read, such as a transcription that arrived first.
            if fill and existing.data.get("text"):
                return
            if text and not (read.only_placeholders and existing.data.get("text")):
                existing.data["text"] = text
            return
        if item_id is not None:
            for slot in self.unnamed:
                if slot.kind == slot_kind and slot.data == data:
                    # The server's copy of a message the client created.
                    self.unnamed.remove(slot)
                    slot.data["id"] = item_id
                    self.by_item[item_id] = slot
                    return
        slot = _Slot(slot_kind, data, now)
        if item_id is not None:
            data["id"] = item_id
            self.by_item[item_id] = slot
        else:
            self.unnamed.append(slot)
        self.slots.append(slot)


def _realtime_raw(slots: list[_Slot]) -> list[dict[str, Any]]:
    kept: set[str] = set()
    raw: list[dict[str, Any]] = []
    for slot in slots:
        data = {k: v for k, v in slot.data.items() if v is not None}
        if slot.kind == "turn" and not data.get("text"):
            continue
        if slot.kind == "turn" and data["role"] == "assistant" and "id" in data:
            kept.add(data["id"])
        if slot.kind == "interrupt" and data["item"] not in kept:
            continue
        raw.append({"type": slot.kind, "t_ms": slot.t_ms, **data})
    return raw


def _output_text(output: object) -> str:
    """A function or custom tool call output's text.

    A list of content parts (a Responses output may hold images or files) reads
    as a message's content does: the text, with a placeholder for each media part
    (not the repr of the list, which put a whole base64 image in the result).
    """
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        try:
            return read_content(output, "output").text
        except PartError:
            pass
    return dump_json("output", output, sort_keys=True)
