"""Stream many session logs through :func:`~ctxchunk.simulate.simulate` on workers.

The pieces of ``ctxchunk simulate`` at fleet scale:

- :func:`iter_inputs` expands files, directories (walked recursively, sorted) and
  globs into log paths lazily, so a million files are never listed in memory;
- :func:`read_session` reads one log, plain or gzip-compressed, in any format the
  command understands (:data:`FORMATS`), detected from its first record unless
  given;
- :func:`run` sends batches of paths to an engine, ``"local"`` (this process, or a
  pool of processes) or ``"ray"`` (a local Ray instance, or a cluster), where each
  worker reads and simulates its sessions and sends back only a
  :class:`~ctxchunk._aggregate.SessionSummary` per session (and the full result for
  the first few sessions, which the report draws). At most a few batches per
  worker are in flight, so memory stays flat in the number of sessions.

Results come back in any order; the aggregate does not depend on it, and the full
results are put back in input order.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import gzip
import json
import os
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from ctxchunk._agent_logs import (
    claude_code_messages,
    codex_items,
    is_claude_code,
    is_codex,
)
from ctxchunk._aggregate import SessionSummary, summarize
from ctxchunk._anthropic_log import is_anthropic
from ctxchunk.exceptions import CtxChunkError, InvalidArgumentError, SessionLogError
from ctxchunk.session import (
    Session,
    load_session,
    session_from_anthropic_messages,
    session_from_chat_messages,
    session_from_realtime_events,
)
from ctxchunk.simulate import SimulationResult, simulate

__all__ = [
    "ENGINES",
    "FORMATS",
    "LOG_SUFFIXES",
    "Config",
    "Line",
    "Outcome",
    "count_inputs",
    "count_sessions",
    "detect_format",
    "iter_inputs",
    "iter_sessions",
    "read_line",
    "read_session",
    "run",
]

FORMATS: Mapping[str, str] = {
    "session": "ctxchunk session JSONL (one event per line: turn, document, ...)",
    "chat": "OpenAI Chat Completions messages (a JSON array, {'messages': [...]}, "
    "or JSONL of {role, content})",
    "realtime": "OpenAI Realtime event log (JSON array or JSONL of client and server "
    "events such as conversation.item.created)",
    "items": "OpenAI Realtime or Responses conversation items (a JSON array or JSONL "
    "of message, function_call, function_call_output, custom tool and other items; "
    "messages may be untyped {role, content}), or a Responses request body "
    "{'instructions', 'input': [...] or '...'} (JSONL of bodies: a request log)",
    "langchain": "LangChain messages as message_to_dict stores them ({'type': "
    "'human'|'ai'|'system'|'tool', 'data': {...}}, the form chat-history stores keep; "
    "needs the langchain extra)",
    "anthropic": "Anthropic Messages API messages (a JSON array, JSONL, or a request "
    "body {'system', 'messages'}; told from Chat by its content blocks: tool_use, "
    "tool_result, image with a source...)",
    "claude-code": "a Claude Code transcript (~/.claude/projects/*/*.jsonl: user and "
    "assistant records with uuid and parentUuid; the active branch is read)",
    "codex": "a Codex CLI rollout (~/.codex/sessions/**/rollout-*.jsonl: records "
    "{type, payload} whose response_item payloads are Responses items)",
}
"""The log formats ``ctxchunk simulate`` reads, and how each looks."""

LOG_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
"""The file names a directory is searched for."""

ENGINES: tuple[str, ...] = ("local", "ray")
"""Where sessions are simulated: this machine's processes, or Ray workers."""

_SESSION_TYPES = frozenset(
    {"instructions", "turn", "document", "tool_call", "interrupt", "request", "probe"}
)
_ITEM_TYPES = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        # Responses API items that hold no turn or call ctxchunk reads, but tell a
        # Responses log (developers.openai.com/api/reference/resources/responses).
        "reasoning",
        "item_reference",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
    }
)


def _is_log(path: Path) -> bool:
    return path.name.endswith(LOG_SUFFIXES)


def _walk(directory: Path) -> Iterator[Path]:
    """Yield the log files under ``directory``, depth first, in sorted order."""
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if _is_log(path):
                yield path


def iter_inputs(specs: Iterable[str]) -> Iterator[Path]:
    """Yield the session log paths that files, directories and globs name, lazily.

    A file is taken whatever its name; a directory yields its log files
    (:data:`LOG_SUFFIXES`) recursively, in sorted order; anything else is a glob
    (``**`` recurses), whose matches are sorted and expanded the same way.

    Raises:
        SessionLogError: a spec that names nothing, or a directory or glob with no
            log file in it.
    """
    for spec in specs:
        path = Path(spec)
        if path.is_file():
            yield path
            continue
        found = False
        if path.is_dir():
            for found_path in _walk(path):
                found = True
                yield found_path
            if not found:
                raise SessionLogError(
                    f"{spec}: a directory with no session logs (files ending in "
                    f"{', '.join(LOG_SUFFIXES)})"
                )
            continue
        if glob.has_magic(spec):
            for match in sorted(glob.iglob(spec, recursive=True)):
                matched = Path(match)
                if matched.is_dir():
                    for found_path in _walk(matched):
                        found = True
                        yield found_path
                elif matched.is_file():
                    found = True
                    yield matched
            if not found:
                raise SessionLogError(f"{spec}: the pattern matches no file")
            continue
        raise SessionLogError(f"{spec}: no such file or directory")


def count_inputs(specs: Iterable[str]) -> int:
    """Return how many paths :func:`iter_inputs` yields, holding none of them."""
    return sum(1 for _ in iter_inputs(specs))


@attrs.frozen(slots=True)
class Line:
    """One conversation of a dataset file, read by the driver and sent to a worker.

    Attributes:
        path: The dataset file.
        lineno: The conversation's line, from 1.
        text: The line: one JSON object holding the conversation.
    """

    path: str
    lineno: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}"


def iter_sessions(paths: Iterable[Path], fmt: str = "auto") -> Iterator[str | Line]:
    """Yield each session of ``paths``: a log file's path, or a dataset's lines.

    A dataset is a JSONL file (``.jsonl`` or ``.jsonl.gz``) of two or more lines,
    each one conversation as a JSON object with a ``messages`` list (the shape of
    fine-tuning and evaluation sets: Chat messages, Anthropic ones with their
    ``system``, Responses items, LangChain dicts) or a Responses request body (its
    ``input``); each non-blank line is a session.
    Its lines are read one at a time, so memory stays flat. Any other file is one
    session, read by the worker.

    A *request log* is told apart from a dataset: its lines are the requests of
    one or more conversations, each repeating the conversation so far (what an
    agent sends on every call, as an LLM proxy logs it). A line continues the
    conversation whose latest messages open it (leading system messages aside;
    an agent that trimmed its oldest messages still continues it), and each
    conversation is one session, named after its first line. A Responses body's
    ``input`` chains the same way (its ``instructions`` aside); one that names a
    ``previous_response_id`` or a ``conversation`` holds only its new items, the
    rest being on OpenAI's server, and is a conversation of its own. The driver
    reads such a file whole to chain its lines.
    """
    for path in paths:
        if fmt == "session" or not _is_dataset(path):
            yield str(path)
        elif _is_request_log(path):
            yield from _conversations(path)
        else:
            for lineno, line in _lines(path):
                yield Line(str(path), lineno, line)


def count_sessions(specs: Iterable[str], fmt: str = "auto") -> int:
    """Return how many sessions :func:`iter_sessions` yields for ``specs``."""
    total = 0
    for path in iter_inputs(specs):
        if fmt == "session" or not _is_dataset(path):
            total += 1
        elif _is_request_log(path):
            total += sum(1 for _ in _conversations(path))
        else:
            total += sum(1 for _ in _lines(path))
    return total


_PEEK = 20
"""Lines of a dataset looked at to tell a request log: one that continues an
earlier one makes it so."""


def _is_request_log(path: Path) -> bool:
    """Whether one of the first lines of a dataset continues an earlier one."""
    chains = _Chains()
    lines = _lines(path)
    try:
        for _, (lineno, text) in zip(range(_PEEK), lines, strict=False):
            request = _logged_request(path, lineno, text)
            if request is None:
                return False  # read_line says what is wrong with it
            if chains.add(lineno, request):
                return True
    except SessionLogError:
        return False
    finally:
        lines.close()
    return False


def _conversations(path: Path) -> Iterator[Line]:
    """The conversations of a request log, one :class:`Line` each.

    A conversation's line is its last request's body holding every message (or
    Responses input item) the conversation had, from its first line on, with its
    first line's ``instructions``, as a Chat conversation keeps its first line's
    system messages.
    """
    chains = _Chains()
    for lineno, text in _lines(path):
        request = _logged_request(path, lineno, text)
        if request is None:
            raise SessionLogError(
                f"{path}: line {lineno} is not a request body (a JSON object with a "
                f"messages list, or a Responses body with its input), as the lines "
                f"before it are (a request log)"
            )
        chains.add(lineno, request)
    for chain in chains.all:
        yield Line(
            str(path), chain.first, json.dumps(chain.whole(), ensure_ascii=False)
        )


@attrs.frozen
class _Request:
    """One line of a request log, as the chains read it.

    Attributes:
        body: The request body.
        field: Where it holds the conversation: ``messages`` (Chat, Anthropic) or
            ``input`` (Responses).
        lead: Its leading system (or developer) messages.
        rest: The conversation after them.
        head: Top-level fields a conversation keeps from its first line (a
            Responses body's ``instructions``).
        alone: Whether it continues nothing it holds: a Responses body naming a
            ``previous_response_id`` or a ``conversation`` carries only its new
            items, the rest being stored on OpenAI's server.
    """

    body: dict[str, Any]
    field: str
    lead: list[Any]
    rest: list[Any]
    head: dict[str, Any]
    alone: bool = False


def _logged_request(path: Path, lineno: int, text: str) -> _Request | None:
    """The request a log line holds, or None when it is no request body.

    Raises:
        SessionLogError: a Responses body whose input is malformed (naming the
            line).
    """
    body = _request_body(text)
    if body is not None:
        messages: list[Any] = body["messages"]
        lead = _system_lead(messages)
        # A Messages API body's system prompt is a top-level field: a conversation
        # keeps its first line's, as a Chat one keeps its first system messages.
        head = {"system": body["system"]} if "system" in body else {}
        return _Request(body, "messages", messages[:lead], messages[lead:], head)
    data = _json_object(text)
    if data is None or not _is_responses_body(data):
        return None
    return _responses_request(data, f"{path}: line {lineno}")


def _responses_request(body: dict[str, Any], where: str) -> _Request:
    """A Responses request body as the chains read it (see :func:`_responses_input`)."""
    instructions, items = _responses_input(body, where)
    lead = _system_lead(items)
    return _Request(
        body,
        "input",
        items[:lead],
        items[lead:],
        {"instructions": instructions},
        alone=_on_server(body),
    )


def _system_lead(messages: Sequence[Any]) -> int:
    """How many system (or developer) messages open ``messages``."""
    lead = 0
    while lead < len(messages) and _is_system(messages[lead]):
        lead += 1
    return lead


@attrs.define
class _Chain:
    """One conversation of a request log, as its lines add to it."""

    first: int
    body: dict[str, Any]
    field: str
    head: dict[str, Any]
    system: list[Any]
    messages: list[Any]
    keys: list[str]

    def whole(self) -> dict[str, Any]:
        """The conversation as one body: the last line's, holding all of it."""
        return {
            **self.body,
            **self.head,
            self.field: [*self.system, *self.messages],
        }


class _Chains:
    """The conversations of a request log, and which one a request continues.

    A request continues a conversation when its messages (leading system messages
    aside) open with the conversation's latest ones, down to its last: the
    conversation's messages from some point on, then what is new. Messages compare
    as JSON with sorted keys, and only with messages held in the same field (a
    Chat body's ``messages`` never continue a Responses body's ``input``); every
    message is indexed, so finding the conversation costs no walk over the others.
    A request that is ``alone`` starts a conversation of its own.
    """

    def __init__(self) -> None:
        self.all: list[_Chain] = []
        self._at: dict[str, list[tuple[_Chain, int]]] = {}

    def add(self, lineno: int, request: _Request) -> bool:
        """Add one request; True when it continued a conversation."""
        rest = request.rest
        keys = [
            request.field + json.dumps(m, sort_keys=True, ensure_ascii=False)
            for m in rest
        ]
        # The conversation it repeats the most of; of equals, the newest.
        best: tuple[_Chain, int] | None = None
        if keys and not request.alone:
            for chain, at in reversed(self._at.get(keys[0], [])):
                held = len(chain.keys) - at
                if held > len(keys) or (best is not None and held <= best[1]):
                    continue
                if chain.keys[at:] == keys[:held]:
                    best = (chain, held)
        if best is None:
            chain = _Chain(
                lineno, request.body, request.field, request.head, request.lead, [], []
            )
            self.all.append(chain)
            self._extend(chain, rest, keys)
            return False
        chain, held = best
        chain.body = request.body
        self._extend(chain, rest[held:], keys[held:])
        return True

    def _extend(self, chain: _Chain, messages: list[Any], keys: list[str]) -> None:
        for message, key in zip(messages, keys, strict=True):
            self._at.setdefault(key, []).append((chain, len(chain.keys)))
            chain.messages.append(message)
            chain.keys.append(key)


def _is_system(message: object) -> bool:
    return isinstance(message, Mapping) and message.get("role") in (
        "system",
        "developer",
    )


def _lines(path: Path) -> Generator[tuple[int, str], None, None]:
    """The non-blank lines of ``path`` (plain or ``.gz``), numbered from 1."""
    with _reading(path), _open_text(path) as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                yield lineno, line


def _open_text(path: Path) -> TextIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Report what goes wrong reading ``path`` as a :class:`SessionLogError`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise SessionLogError(
            f"{path}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        # A damaged gzip file raises BadGzipFile (an OSError), EOFError (cut
        # short) or zlib.error (a corrupt stream).
        raise SessionLogError(f"{path}: cannot read it: {exc}") from None


def _is_dataset(path: Path) -> bool:
    """Whether ``path`` is a JSONL file of two or more conversations."""
    if not path.name.endswith((".jsonl", ".jsonl.gz")):
        return False
    lines = _lines(path)
    try:
        first, second = next(lines, None), next(lines, None)
        if first is None or second is None:
            return False  # one conversation or none: the file is the session
        record = json.loads(first[1])
    except (SessionLogError, json.JSONDecodeError):
        return False  # read_session says what is wrong with it
    finally:
        lines.close()
    return isinstance(record, dict) and (
        _is_responses_body(record)
        or (
            isinstance(record.get("messages"), list)
            and not {"role", "type", "event"} & record.keys()
        )
    )


def _session_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name or path.name


def _read_text(path: Path) -> str:
    with _reading(path), _open_text(path) as handle:
        return handle.read()


def _records(path: Path, text: str, *, first: bool = False) -> tuple[list[Any], bool]:
    """Parse a JSON document, or JSONL when the text is not one document.

    Returns the records and whether they are all of them: with ``first``, JSONL is
    read only up to its first record (enough to tell the format; a session log is
    then parsed once, by :func:`~ctxchunk.session.load_session`).
    """
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SessionLogError(
                f"{path}: not a JSON array ({exc.msg} at line {exc.lineno})"
            ) from None
        return list(data), True
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(data, dict):
                for key in ("messages", "events", "items", "loglines"):
                    if isinstance(data.get(key), list):
                        return list(data[key]), True
                return [data], True
    records = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SessionLogError(
                f"{path}: line {lineno} is not JSON ({exc.msg} at column "
                f"{exc.colno}); a log is JSONL (one JSON object per line) or a JSON "
                f"array"
            ) from None
        if first:
            return records, False
    return records, True


def detect_format(record: object) -> str | None:
    """Return the format whose first record looks like ``record``, or None.

    >>> detect_format({"type": "turn", "t_ms": 0, "role": "user", "text": "hi"})
    'session'
    >>> detect_format({"role": "user", "content": "hi"})
    'chat'
    >>> detect_format({"type": "session.update", "session": {}})
    'realtime'
    >>> detect_format({"type": "message", "role": "user", "content": []})
    'items'
    >>> detect_format({"instructions": "Be brief.", "input": "hi"})
    'items'
    """
    if not isinstance(record, Mapping):
        return None
    if _is_responses_body(record):
        # A Responses request body: its input is a list of items (or one user
        # message), read as the items format reads one.
        return "items"
    if is_claude_code(record):
        return "claude-code"
    if is_codex(record):
        return "codex"
    kind = record.get("type")
    if isinstance(record.get("event"), Mapping):
        kind = record["event"].get("type")
        return "realtime" if isinstance(kind, str) and "." in kind else None
    if isinstance(kind, str):
        if kind in _LANGCHAIN_TYPES and isinstance(record.get("data"), Mapping):
            return "langchain"
        if kind in _SESSION_TYPES and "t_ms" in record:
            return "session"
        if "." in kind:
            return "realtime"
        if kind in _ITEM_TYPES:
            return "items"
        return None
    # Chat messages carry "content" (or tool calls); {role, text} turns, which
    # chunk_transcript reads, are not a session log and have no importer.
    if "role" in record and ("content" in record or "tool_calls" in record):
        return "chat"
    return None


def _unknown_format(path: Path, record: object) -> SessionLogError:
    shown = (
        f"an object with keys {sorted(record)[:6]}"
        if isinstance(record, Mapping)
        else f"a {type(record).__name__}"
    )
    listed = "\n  ".join(f"{name}: {text}" for name, text in FORMATS.items())
    return SessionLogError(
        f"{path}: cannot tell the log's format from its first record ({shown}); "
        f"ctxchunk simulate reads:\n  {listed}\npass --format NAME to say which"
    )


def read_session(path: str | os.PathLike[str], fmt: str = "auto") -> Session:
    """Read one session log, plain or ``.gz``, in ``fmt`` or the detected format.

    Args:
        path: The log file.
        fmt: One of :data:`FORMATS`, or ``"auto"`` to detect it from the first
            record.

    Returns:
        The session, named after the file (without ``.jsonl``/``.json``/``.gz``).

    Raises:
        SessionLogError: the file cannot be read, its format is not one of
            :data:`FORMATS`, or the importer rejects it.
    """
    path = Path(path)
    _check_format(fmt)
    return _session_from_text(path, _read_text(path), _session_name(path), fmt)


def read_line(line: Line, fmt: str = "auto") -> Session:
    """Read one conversation of a dataset file (see :func:`iter_sessions`).

    The session is named ``<file>:<line>``; the line reads as a file holding only
    that conversation would, in ``fmt`` or the detected format.

    Raises:
        SessionLogError: the line is not a conversation the importers read.
    """
    _check_format(fmt)
    name = f"{_session_name(Path(line.path))}:{line.lineno}"
    return _session_from_text(Path(str(line)), line.text, name, fmt)


def _check_format(fmt: str) -> None:
    if fmt != "auto" and fmt not in FORMATS:
        raise InvalidArgumentError(
            f"format {fmt!r} is not one of auto, {', '.join(FORMATS)}"
        )


def _session_from_text(path: Path, text: str, name: str, fmt: str) -> Session:
    """The session a log's ``text`` holds; ``path`` names it in errors."""
    if fmt == "session":
        return load_session(text.split("\n"), name=name)
    records, whole = _records(path, text, first=fmt == "auto")
    detected = fmt == "auto"
    if fmt == "auto":
        if not records:
            raise SessionLogError(f"{path}: empty; a session log needs events")
        found = detect_format(records[0])
        if found is None:
            raise _unknown_format(path, records[0])
        fmt = found
    if fmt == "session":
        return load_session(text.split("\n"), name=name)
    if not whole:
        records, _ = _records(path, text)
    body = _request_body(text) if fmt in ("chat", "anthropic") else None
    if (
        fmt == "chat"
        and detected
        and (
            (body is not None and "system" in body)
            or any(is_anthropic(r) for r in records)
        )
    ):
        # A Messages API log's user turns read like Chat messages; its content
        # blocks, or a request body's top-level system, tell them apart.
        fmt = "anthropic"
    if fmt == "chat" and detected and any(_is_item(r) for r in records):
        # A Responses API input list mixes messages without a type ({role,
        # content}, which read like Chat ones) with typed items.
        fmt = "items"
    if fmt == "langchain":
        return _langchain_session(path, records, name)
    if fmt == "claude-code":
        messages = claude_code_messages(records)
        if not messages:
            raise SessionLogError(f"{path}: a Claude Code transcript with no messages")
        return session_from_anthropic_messages(messages, name=name)
    if fmt == "codex":
        instructions, items = codex_items(records)
        if not items:
            raise SessionLogError(f"{path}: a Codex CLI rollout with no items")
        return _items_session(instructions, items, name)
    if fmt == "items" and records and _is_responses_body(records[0]):
        return _responses_session(path, text, records, name)
    if fmt == "anthropic":
        return session_from_anthropic_messages(
            body if body is not None else records, name=name
        )
    if fmt == "chat":
        return session_from_chat_messages(records, name=name)
    if fmt == "items":
        records = _item_events(records)
    return session_from_realtime_events(records, name=name)


_OUTPUT_TYPES = frozenset(
    {
        "function_call",
        "custom_tool_call",
        "reasoning",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
    }
)
"""The items a model call outputs (besides assistant messages)."""


_LANGCHAIN_TYPES = frozenset(
    {"human", "ai", "system", "tool", "function", "chat", "developer"}
)
"""The ``type`` of a LangChain message in ``message_to_dict`` form (its
``_message_from_dict`` reads these, chunks aside)."""


def _langchain_session(path: Path, records: list[Any], name: str) -> Session:
    """The session of LangChain messages stored as ``message_to_dict`` made them."""
    try:
        from langchain_core.messages import messages_from_dict

        from ctxchunk.adapters.langchain import session_from_langchain
    except ImportError:
        raise SessionLogError(
            f"{path}: a LangChain message log; reading it needs langchain-core "
            f"(pip install 'ctxchunk[langchain]')"
        ) from None
    try:
        messages = messages_from_dict(records)
    except (KeyError, TypeError, ValueError) as exc:
        raise SessionLogError(
            f"{path}: not LangChain messages as message_to_dict writes them: "
            f"{exc!r:.200}"
        ) from None
    return session_from_langchain(messages, name=name)


def _is_item(record: object) -> bool:
    """Whether ``record`` is a typed Responses item other than a message."""
    return (
        isinstance(record, Mapping)
        and record.get("type") in _ITEM_TYPES
        and record.get("type") != "message"
    )


def _request_body(text: str) -> dict[str, Any] | None:
    """The Chat or Messages API request body ``text`` holds whole, or None.

    A body is a JSON object with a ``messages`` list. A Messages API body's
    ``system`` is read with its ``messages``; a request log's lines are bodies too.
    """
    data = _json_object(text)
    if data is not None and isinstance(data.get("messages"), list):
        return data
    return None


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` holds whole, or None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _is_responses_body(record: object) -> bool:
    """Whether ``record`` is a Responses API request body (``POST /responses``).

    Such a body holds the conversation in ``input`` (``response_create_params``
    in the ``openai`` SDK), and none of the keys that mark another format's
    record: a Chat body's ``messages``, an item's or event's ``type``, a
    message's ``role``. Its input is checked when it is read, so a malformed one
    gets its own error rather than an unknown format.
    """
    return (
        isinstance(record, Mapping)
        and "input" in record
        and not {"messages", "type", "role", "event"} & record.keys()
    )


def _on_server(body: Mapping[str, Any]) -> bool:
    """Whether a Responses body continues a conversation stored on OpenAI's server.

    A ``previous_response_id`` or a ``conversation`` makes the server put that
    response's (or conversation's) items before the body's ``input``, which then
    holds only what is new.
    """
    return bool(body.get("previous_response_id") or body.get("conversation"))


def _responses_input(
    body: Mapping[str, Any], where: str
) -> tuple[str | None, list[Any]]:
    """A Responses request body's ``instructions`` and ``input`` items.

    A string ``input`` is one user message (``EasyInputMessageParam`` with string
    content, as the API reads it); an item holding only an ``id`` is an
    ``item_reference`` (whose ``type`` the API lets a body leave out).

    Args:
        body: The request body.
        where: What names the body in an error (the file, and its line).

    Raises:
        SessionLogError: ``input`` is not a string or a list of item objects (each
            with a ``type``, a ``role`` or, a reference, an ``id``), or
            ``instructions`` is not a string.
    """
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise SessionLogError(
            f"{where}: a Responses request body's instructions must be a string, "
            f"got {type(instructions).__name__}: {instructions!r:.80}"
        )
    given = body["input"]
    if isinstance(given, str):
        return instructions, [{"role": "user", "content": given}]
    if not isinstance(given, list):
        raise SessionLogError(
            f"{where}: a Responses request body's input must be a string or a list "
            f"of items, got {type(given).__name__}: {given!r:.80}"
        )
    items: list[Any] = []
    for index, item in enumerate(given):
        if not isinstance(item, Mapping):
            raise SessionLogError(
                f"{where}: input[{index}] must be an item object (a message, "
                f"function_call, function_call_output...), got "
                f"{type(item).__name__}: {item!r:.80}"
            )
        if not isinstance(item.get("type"), str) and "role" not in item:
            if not isinstance(item.get("id"), str):
                raise SessionLogError(
                    f"{where}: input[{index}] has neither a type nor a role, so it "
                    f"is no Responses item (keys {sorted(item)[:6]})"
                )
            # An item reference may leave out its type (ItemReference's type is
            # optional): it names an item stored on the server, not in the log.
            item = {**item, "type": "item_reference"}
        items.append(item)
    return instructions, items


def _responses_session(path: Path, text: str, records: list[Any], name: str) -> Session:
    """The session of one Responses request body, or of a request log of them.

    The bodies of a log (JSONL, one per line, or a JSON array) are chained as
    :func:`iter_sessions` chains a request log's lines; they must make one
    conversation, since a file here is one session.
    """
    jsonl = len(records) > 1 and not text.lstrip().startswith("[")
    places = (
        [f"line {n}" for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        if jsonl
        else [f"record {n}" for n in range(1, len(records) + 1)]
    )
    chains = _Chains()
    for index, (record, place) in enumerate(zip(records, places, strict=True)):
        where = f"{path}: {place}" if len(records) > 1 else str(path)
        if not _is_responses_body(record):
            raise SessionLogError(
                f"{where} is not a Responses request body (a JSON object with an "
                f"input), as the first one is"
            )
        chains.add(index + 1, _responses_request(record, where))
    if len(chains.all) > 1:
        starts = ", ".join(places[c.first - 1] for c in chains.all[:5])
        raise SessionLogError(
            f"{path}: {len(chains.all)} conversations (starting at {starts}), not one; "
            f"name the file .jsonl to read each as a session of its own"
        )
    whole = chains.all[0].whole()
    instructions, items = whole["instructions"], whole["input"]
    if not items:
        raise SessionLogError(f"{path}: a Responses request body with no input items")
    return _items_session(instructions, items, name)


def _items_session(
    instructions: str | None, items: Sequence[Any], name: str
) -> Session:
    """The session of Responses items, after ``instructions`` if there are any."""
    events = _item_events(items)
    if instructions is not None:
        update = {"type": "session.update", "session": {"instructions": instructions}}
        events = [update, *events]
    return session_from_realtime_events(events, name=name)


def _item_events(items: Sequence[Any]) -> list[Any]:
    """Return the Realtime events that would have created ``items``, in order.

    Each item becomes a ``conversation.item.created``; a run of model output (an
    assistant message or a function call) is preceded by one ``response.created``,
    the model call that produced it, so requests are measured as for a Chat log.
    """
    events: list[Any] = []
    in_response = False
    for item in items:
        output = isinstance(item, Mapping) and (
            item.get("type") in _OUTPUT_TYPES or item.get("role") == "assistant"
        )
        if output and not in_response:
            events.append({"type": "response.created", "response": {}})
        in_response = bool(output)
        events.append({"type": "conversation.item.created", "item": item})
    return events


@attrs.frozen(slots=True)
class Config:
    """What every worker needs to simulate a session, sent once per batch.

    Attributes:
        policies: The policies by name, in order.
        options: Keyword arguments of :func:`~ctxchunk.simulate.simulate`.
        fmt: The log format, or ``"auto"``.
    """

    policies: Mapping[str, object]
    options: Mapping[str, object]
    fmt: str = "auto"


@attrs.frozen(slots=True)
class Outcome:
    """One session's outcome, as it travels back from a worker.

    Attributes:
        index: The session's position in the input.
        path: Its log file.
        summary: Its summary, or None when it failed.
        result: The full result, for the first few sessions only.
        error: Why it failed, or None.
    """

    index: int
    path: str
    summary: SessionSummary | None
    result: SimulationResult | None = None
    error: str | None = None


def simulate_batch(
    batch: Sequence[tuple[int, str | Line, bool]], config: Config
) -> list[Outcome]:
    """Read and simulate each ``(index, path, full)`` of ``batch`` (on a worker).

    A session that cannot be read or replayed gives an :class:`Outcome` with its
    error instead of raising, so one bad log does not lose the batch. The garbage
    collector runs once per session, between sessions (:func:`_session_gc`).
    """
    out = []
    with _session_gc() as collect:
        for index, path, full in batch:
            out.append(_simulate_one(index, path, full, config))
            # The session and its result are gone: only its garbage is left.
            collect()
    return out


def _simulate_one(index: int, ref: str | Line, full: bool, config: Config) -> Outcome:
    path = str(ref)
    try:
        if isinstance(ref, Line):
            session = read_line(ref, config.fmt)
        else:
            session = read_session(ref, config.fmt)
        # Only the full results are shown with their Realtime event counts; the
        # summary has none, so the others skip counting them.
        result = simulate(
            session,
            config.policies,  # type: ignore[arg-type]
            realtime=full,
            **config.options,  # type: ignore[arg-type]
        )
    except CtxChunkError as exc:
        return Outcome(index, path, None, error=f"{path}: {exc}")
    return Outcome(index, path, summarize(result), result if full else None)


_SESSION_GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's thresholds while a worker simulates. The objects a session
leaves behind (7,000 on a generated 100-turn session with four policies, at most
22,000 of 40 such sessions) stay under the first, so no collection starts during
a session and the one after it does the work. Python's defaults are (700, 10,
10)."""


@contextlib.contextmanager
def _session_gc() -> Iterator[Callable[[], object]]:
    """Have the garbage collector run between sessions instead of during them.

    With Python's default thresholds a replay sets off dozens of collections per
    session, and each one of the older generations walks every object the session
    holds (its events, the token lists of its texts, item by item): some 11 ms of
    a 120 ms session on this project's machine. Here the thresholds are raised for
    the batch (:data:`_SESSION_GC_THRESHOLDS`) and the caller runs the collection
    the context gives after each session, once the session and its result are
    gone: it walks the young generations only, which then hold what the session
    left behind (its windows' linked lists are cycles, so only the collector frees
    them), about 1 ms. Memory stays bounded by one session, as before; the
    process's long-lived objects (modules, the tokenizer) are left to the rare
    full collections. The thresholds are put back when the batch ends. Results do
    not change: the collector only frees what nothing can reach.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(*_SESSION_GC_THRESHOLDS)
    try:
        yield lambda: gc.collect(1)
    finally:
        gc.set_threshold(*thresholds)


def _batches(
    paths: Iterable[Path | str | Line], size: int, detail: int
) -> Iterator[list[tuple[int, str | Line, bool]]]:
    batch: list[tuple[int, str | Line, bool]] = []
    for index, path in enumerate(paths):
        ref = path if isinstance(path, Line) else str(path)
        batch.append((index, ref, index < detail))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def batch_size(total: int, workers: int) -> int:
    """Sessions per task: enough to hide the per-task cost, few enough to balance.

    About 32 tasks per worker, at most 8 sessions each.

    >>> batch_size(1000, 2), batch_size(10, 2), batch_size(100_000, 64)
    (8, 1, 8)
    """
    return max(1, min(8, total // max(1, workers * 32)))


def _run_serial(
    batches: Iterator[list[tuple[int, str | Line, bool]]], config: Config
) -> Iterator[Outcome]:
    for batch in batches:
        yield from simulate_batch(batch, config)


def _run_pool(
    batches: Iterator[list[tuple[int, str | Line, bool]]], config: Config, workers: int
) -> Iterator[Outcome]:
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    in_flight = 2 * workers
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[list[Outcome]]] = set()
        for batch in batches:
            pending.add(pool.submit(simulate_batch, batch, config))
            if len(pending) >= in_flight:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from future.result()


def _start_ray(ray: Any, workers: int, address: str | None) -> bool:
    """Connect to Ray, starting a local instance when there is no ``address``.

    Returns whether this call started (or connected) Ray, so the caller shuts it
    down; False when Ray was already initialized in this process.
    """
    if ray.is_initialized():
        return False
    if address is None:
        # Ray lowers its workers' priority (nice 15) to keep its own daemons
        # responsive on a busy node; on an instance started for this run the
        # workers are the run, so they get the priority the local pool has.
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            _system_config={"worker_niceness": 0},
        )
        return True
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"cannot reach the Ray cluster at --address {address}: {exc}"
        ) from None
    return True


def _run_ray(
    batches: Iterator[list[tuple[int, str | Line, bool]]],
    config: Config,
    workers: int,
    address: str | None,
) -> Iterator[Outcome]:
    try:
        import ray
    except ImportError:
        raise InvalidArgumentError(
            "--engine ray needs Ray: pip install 'ctxchunk[ray]'"
        ) from None
    started = _start_ray(ray, workers, address)
    try:
        cpus = workers
        if address is not None:
            resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
            cpus = int(resources.get("CPU", workers))
        task = ray.remote(num_cpus=1)(simulate_batch)
        shared = ray.put(config)
        pending: list[Any] = []
        for batch in batches:
            pending.append(task.remote(batch, shared))
            if len(pending) >= 2 * max(1, cpus):
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield from ray.get(ref)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield from ray.get(ref)
    finally:
        if started:
            ray.shutdown()


def run(
    paths: Iterable[Path | str | Line],
    config: Config,
    *,
    total: int,
    engine: str = "local",
    workers: int = 1,
    address: str | None = None,
    detail: int = 0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Iterator[Outcome]:
    """Simulate every session of ``paths`` on ``engine``; yield outcomes as they end.

    Args:
        paths: The sessions, in input order (read lazily): log files, or the lines
            of datasets (:func:`iter_sessions`).
        config: The policies, options and format.
        total: How many paths there are (sizes the batches).
        engine: ``"local"`` (in this process for one worker, else a process pool)
            or ``"ray"`` (a local Ray instance with ``workers`` CPUs, or the cluster
            at ``address``).
        workers: Processes, or CPUs of the local Ray instance.
        address: A Ray cluster's address (``ray://host:10001``, or ``auto``).
        detail: Sessions at the head of the input whose full result comes back.
        on_outcome: Called with each outcome before it is yielded.

    Yields:
        Each session's :class:`Outcome`, in completion order.

    Raises:
        InvalidArgumentError: an unknown engine, or Ray missing.
    """
    if engine not in ENGINES:
        raise InvalidArgumentError(
            f"engine {engine!r} is not one of {', '.join(ENGINES)}"
        )
    batches = _batches(paths, batch_size(total, workers), detail)
    outcomes: Iterator[Outcome]
    if engine == "ray":
        outcomes = _run_ray(batches, config, workers, address)
    elif workers > 1 and total > 1:
        outcomes = _run_pool(batches, config, workers)
    else:
        outcomes = _run_serial(batches, config)
    for outcome in outcomes:
        if on_outcome is not None:
            on_outcome(outcome)
        yield outcome
