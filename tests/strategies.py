"""Shared hypothesis strategies for ctxchunk's tests.

Chunks: :func:`roles`, :func:`kinds`, :func:`chunk_metas`, :func:`chunks`.
Transcripts: :func:`conversations` draws an abstract conversation (a list of
:class:`Event`), and :func:`transcripts` renders one in a wire format, together with
what :func:`ctxchunk.transcript.chunk_transcript` must make of each turn
(:class:`Expected`). Other modules may add their strategies here.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from ctxchunk.chunk import ROLES_BY_KIND, Chunk, ChunkMeta, make_chunk_id
from ctxchunk.roles import Kind, Role

# -- text ----------------------------------------------------------------------

# fmt: off
_WORDS = [
    "the", "a", "context", "window", "token", "budget", "chunk", "assistant",
    "user", "said", "tool", "result", "page", "refund", "order", "lamp", "spa",
    "booking", "weather", "Oslo", "naïve", "café", "東京", "данные", "☕", "🙂",
    "👩\u200d💻", "don't", "it's", "3.14", "2,000", "e.g.", "U.S.A.",
    "http://example.com/a?b=1", '{"k": [1, 2]}',
]
# fmt: on
_SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", "\n", "\n\n", "\t", "  ", "\r\n"]
# prose() is never blank because no word is.
assert all(word.strip() for word in _WORDS)

# prose() draws its words, and then its separators, as one text each: a character
# stands for an index into _WORDS or _SEPARATORS. One draw per text instead of two
# per word (an element and a "one more?" choice for each of two lists) makes the same
# texts, from the same sizes, several times faster.
_KEY_BASE = 0x100


def _keys(count: int) -> str:
    return "".join(chr(_KEY_BASE + index) for index in range(count))


_WORD_KEYS = _keys(len(_WORDS))
_SEPARATOR_KEYS = _keys(len(_SEPARATORS))


@functools.cache
def _separator_keys(count: int) -> st.SearchStrategy[str]:
    return st.text(_SEPARATOR_KEYS, min_size=count, max_size=count)


@st.composite
def _prose(draw: st.DrawFn, word_keys: st.SearchStrategy[str]) -> str:
    words = draw(word_keys)
    seps = draw(_separator_keys(len(words)))
    return "".join(
        _WORDS[ord(w) - _KEY_BASE] + _SEPARATORS[ord(s) - _KEY_BASE]
        for w, s in zip(words, seps, strict=True)
    )


@functools.cache
def prose(*, max_words: int = 120) -> st.SearchStrategy[str]:
    """Draw word-and-punctuation text, the shape of real turns and pages: 1 to
    ``max_words`` words, each followed by a separator."""
    return _prose(st.text(_WORD_KEYS, min_size=1, max_size=max_words))


@functools.cache
def any_text(*, max_size: int = 200) -> st.SearchStrategy[str]:
    """Draw arbitrary Unicode text that can be tokenized (no lone surrogates)."""
    return st.text(
        st.characters(exclude_categories=("Cs",)), min_size=0, max_size=max_size
    )


@functools.cache
def turn_texts() -> st.SearchStrategy[str]:
    """Draw the text of a message turn: never empty or whitespace only."""
    return st.one_of(prose(), any_text().filter(lambda t: bool(t.strip())))


@functools.cache
def tool_texts() -> st.SearchStrategy[str]:
    """Draw tool arguments or output, which may be empty."""
    return st.one_of(prose(max_words=200), any_text(), st.just(""))


# -- chunks --------------------------------------------------------------------


def roles() -> st.SearchStrategy[Role]:
    """Draw any role."""
    return st.sampled_from(Role)


def kinds() -> st.SearchStrategy[Kind]:
    """Draw any kind."""
    return st.sampled_from(Kind)


_ID_ALPHABET = string.ascii_letters + string.digits + "_-"


def chunk_ids() -> st.SearchStrategy[str]:
    """Draw a valid chunk id (not necessarily one make_chunk_id would give)."""
    return st.text(_ID_ALPHABET, min_size=1, max_size=32)


# Metadata never holds a lone surrogate (it must be writable as UTF-8 JSON); a
# chunk's text may, since only tokenizing it checks.
_meta_chars = st.characters(exclude_categories=("Cs",))
_optional_text = st.none() | st.text(_meta_chars, max_size=40)


@st.composite
def chunk_metas(draw: st.DrawFn) -> ChunkMeta:
    """Draw a valid ChunkMeta, any field set or not."""
    start = draw(st.none() | st.integers(0, 10**9))
    end = draw(st.none() | st.integers(start or 0, 2 * 10**9))
    return ChunkMeta(
        url=draw(_optional_text),
        title=draw(_optional_text),
        headings=tuple(draw(st.lists(st.text(_meta_chars, max_size=20), max_size=4))),
        speaker=draw(_optional_text),
        start_ms=start,
        end_ms=end,
        tool_name=draw(_optional_text),
        call_id=draw(_optional_text),
    )


@st.composite
def chunks(draw: st.DrawFn) -> Chunk:
    """Draw a valid Chunk: any text (lone surrogates included), coherent role/kind,
    and metadata without lone surrogates."""
    kind = draw(kinds())
    role = draw(st.sampled_from(sorted(ROLES_BY_KIND[kind])))
    text = draw(st.text(max_size=80))
    source = draw(st.text(_meta_chars, min_size=1, max_size=30))
    parts = draw(st.integers(1, 50))
    part = draw(st.integers(0, parts - 1))
    chunk_id = draw(st.just(make_chunk_id(source, part, text)) | chunk_ids())
    meta = draw(chunk_metas())
    if kind is Kind.TOOL_CALL and not meta.tool_name:
        meta = attrs.evolve(meta, tool_name="search")
    return Chunk(
        id=chunk_id,
        role=role,
        text=text,
        tokens=draw(st.integers(0, 10**6)),
        source=source,
        part=part,
        parts=parts,
        kind=kind,
        pinned=draw(st.booleans()),
        meta=meta,
    )


# -- transcripts ---------------------------------------------------------------


@attrs.frozen
class Event:
    """One step of an abstract conversation.

    ``kind`` is ``"instruction"``, ``"user"``, ``"assistant"`` or ``"tools"``. A
    message's text is the newline-join of ``parts``; a ``"tools"`` event is an
    assistant turn (``parts`` may be empty) making ``calls``, each followed by its
    result: ``(name, arguments, output)``.
    """

    kind: str
    parts: tuple[str, ...] = ()
    calls: tuple[tuple[str, str, str], ...] = ()

    @property
    def text(self) -> str:
        """The message text the chunks of this event must cover."""
        return "\n".join(self.parts)


@attrs.frozen
class Expected:
    """What chunk_transcript must make of one source: its chunks concatenate to
    ``text``, all with ``role``, ``kind``, ``call_id`` and ``tool_name``."""

    source: str
    role: Role
    kind: Kind
    text: str
    call_id: str | None = None
    tool_name: str | None = None


@attrs.frozen
class Transcript:
    """A rendered transcript and, per source in order, what its chunks must be."""

    format: str
    turns: list[dict[str, Any]]
    expected: list[Expected]


_tool_names = st.sampled_from(["search", "get_order", "fetch_page", "weather"])


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Draw one event of a conversation."""
    kind = draw(st.sampled_from(["instruction", "user", "assistant", "tools"]))
    if kind == "tools":
        parts = draw(st.lists(turn_texts(), max_size=1))
        calls = draw(
            st.lists(
                st.tuples(_tool_names, tool_texts(), tool_texts()),
                min_size=1,
                max_size=3,
            )
        )
        return Event(kind, tuple(parts), tuple(calls))
    parts = draw(st.lists(turn_texts(), min_size=1, max_size=3))
    return Event(kind, tuple(parts))


def conversations(*, max_size: int = 8) -> st.SearchStrategy[list[Event]]:
    """Draw an abstract conversation."""
    return st.lists(events(), min_size=1, max_size=max_size)


_MESSAGE_ROLE = {
    "instruction": Role.SYSTEM,
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
}
_MESSAGE_KIND = {
    "instruction": Kind.INSTRUCTION,
    "user": Kind.TURN,
    "assistant": Kind.TURN,
}


def _chat(conversation: Sequence[Event], draw: st.DrawFn) -> Transcript:
    turns: list[dict[str, Any]] = []
    expected: list[Expected] = []
    n_calls = 0
    for event in conversation:
        index = len(turns)
        if event.kind != "tools":
            role = (
                draw(st.sampled_from(["system", "developer"]))
                if event.kind == "instruction"
                else event.kind
            )
            content: Any = (
                event.parts[0]
                if len(event.parts) == 1 and draw(st.booleans())
                else [{"type": "text", "text": p} for p in event.parts]
            )
            turns.append({"role": role, "content": content})
            expected.append(
                Expected(
                    f"turn-{index}",
                    _MESSAGE_ROLE[event.kind],
                    _MESSAGE_KIND[event.kind],
                    event.text,
                )
            )
            continue
        call_ids = [f"call_{n_calls + j}" for j in range(len(event.calls))]
        n_calls += len(event.calls)
        turns.append(
            {
                "role": "assistant",
                "content": event.text or None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": args},
                    }
                    for call_id, (name, args, _) in zip(
                        call_ids, event.calls, strict=True
                    )
                ],
            }
        )
        if event.parts:
            expected.append(
                Expected(f"turn-{index}", Role.ASSISTANT, Kind.TURN, event.text)
            )
        for j, (call_id, (name, args, _)) in enumerate(
            zip(call_ids, event.calls, strict=True)
        ):
            expected.append(
                Expected(
                    f"turn-{index}.call-{j}",
                    Role.TOOL,
                    Kind.TOOL_CALL,
                    args,
                    call_id,
                    name,
                )
            )
        for call_id, (name, _, output) in zip(call_ids, event.calls, strict=True):
            expected.append(
                Expected(
                    f"turn-{len(turns)}",
                    Role.TOOL,
                    Kind.TOOL_RESULT,
                    output,
                    call_id,
                    name,
                )
            )
            turns.append({"role": "tool", "tool_call_id": call_id, "content": output})
    return Transcript("chat", turns, expected)


def _realtime(conversation: Sequence[Event], draw: st.DrawFn) -> Transcript:
    turns: list[dict[str, Any]] = []
    expected: list[Expected] = []

    def add(item: dict[str, Any], exp: Expected) -> None:
        index = len(turns)
        # Items created by a client may leave the id out; the source is then turn-i.
        if draw(st.booleans()):
            item = {"id": f"item_{index:04d}", **item}
            exp = attrs.evolve(exp, source=f"item_{index:04d}")
        else:
            exp = attrs.evolve(exp, source=f"turn-{index}")
        turns.append(item)
        expected.append(exp)

    for event in conversation:
        if event.kind == "instruction":
            role = draw(st.sampled_from(["system", "developer"]))
            parts = [{"type": "input_text", "text": p} for p in event.parts]
            add(
                {"type": "message", "role": role, "content": parts},
                Expected("", Role.SYSTEM, Kind.INSTRUCTION, event.text),
            )
        elif event.kind == "user":
            parts = [
                draw(
                    st.sampled_from(
                        [
                            {"type": "input_text", "text": p},
                            {"type": "input_audio", "transcript": p},
                            {"type": "input_audio", "audio": None, "transcript": p},
                        ]
                    )
                )
                for p in event.parts
            ]
            add(
                {"type": "message", "role": "user", "content": parts},
                Expected("", Role.USER, Kind.TURN, event.text),
            )
        elif event.kind == "assistant" or event.parts:
            parts = [
                draw(
                    st.sampled_from(
                        [
                            {"type": "output_text", "text": p},
                            {"type": "output_audio", "transcript": p},
                            {"type": "audio", "transcript": p},
                            {"type": "text", "text": p},
                        ]
                    )
                )
                for p in event.parts
            ]
            add(
                {
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": parts,
                },
                Expected("", Role.ASSISTANT, Kind.TURN, event.text),
            )
        for name, args, output in event.calls:
            call_id = f"call_{len(turns)}"
            add(
                {
                    "type": "function_call",
                    "name": name,
                    "call_id": call_id,
                    "arguments": args,
                },
                Expected("", Role.TOOL, Kind.TOOL_CALL, args, call_id, name),
            )
            add(
                {"type": "function_call_output", "call_id": call_id, "output": output},
                Expected("", Role.TOOL, Kind.TOOL_RESULT, output, call_id, name),
            )
    return Transcript("realtime", turns, expected)


def _plain(conversation: Sequence[Event], draw: st.DrawFn) -> Transcript:
    turns: list[dict[str, Any]] = []
    expected: list[Expected] = []
    clock = 0
    for event in conversation:
        if event.kind == "tools":
            # Plain turns cannot express a call; its output comes back as a tool turn.
            for _, _, output in event.calls:
                expected.append(
                    Expected(f"turn-{len(turns)}", Role.TOOL, Kind.TOOL_RESULT, output)
                )
                turns.append({"role": "tool", "text": output})
            continue
        turn: dict[str, Any] = {
            "role": event.kind if event.kind != "instruction" else "system",
            "text": event.text,
        }
        if event.kind != "instruction" and draw(st.booleans()):
            duration = draw(st.integers(0, 20_000))
            turn |= {
                "speaker": event.kind,
                "start_ms": clock,
                "end_ms": clock + duration,
            }
            clock += duration
        expected.append(
            Expected(
                f"turn-{len(turns)}",
                _MESSAGE_ROLE[event.kind],
                _MESSAGE_KIND[event.kind],
                event.text,
            )
        )
        turns.append(turn)
    return Transcript("plain", turns, expected)


_RENDERERS = {"chat": _chat, "realtime": _realtime, "plain": _plain}


@st.composite
def transcripts(
    draw: st.DrawFn, *, formats: Sequence[str] = ("chat", "realtime", "plain")
) -> Transcript:
    """Draw a conversation rendered as Chat messages, Realtime items or plain turns."""
    fmt = draw(st.sampled_from(list(formats)))
    return _RENDERERS[fmt](draw(conversations()), draw)


def max_tokens() -> st.SearchStrategy[int]:
    """Draw a chunk bound: small, to make splitting common; at least 4, the most
    tokens one character can take, so that every text can be split."""
    return st.integers(4, 64)


# -- windows (for the renderers) -------------------------------------------------


def _chunk(
    text: str,
    role: Role,
    kind: Kind,
    source: str,
    *,
    part: int = 0,
    parts: int = 1,
    meta: ChunkMeta | None = None,
) -> Chunk:
    return Chunk.create(
        text,
        role=role,
        kind=kind,
        source=source,
        part=part,
        parts=parts,
        meta=meta,
        tokens=len(text),
    )


_call_ids = st.sampled_from(["call_0", "call_1", "call 2!", "toolu_9"]) | st.none()


@st.composite
def window_chunks(draw: st.DrawFn, *, max_steps: int = 10) -> list[Chunk]:
    """Draw the chunks of a window in order, as a renderer receives them.

    Holds every shape a window can present: instructions anywhere, user and assistant
    turns split in parts (some parts evicted), documents, parallel tool calls with
    their results (possibly interleaved with a turn), results whose call is gone,
    calls whose result is gone, repeated and invalid call ids, and summaries under
    each allowed role. Token counts are made up: renderers do not read them.
    """
    out: list[Chunk] = []
    steps = draw(st.integers(0, max_steps))
    for step in range(steps):
        what = draw(
            st.sampled_from(
                ["pin", "user", "assistant", "doc", "tools", "orphan", "summary"]
            )
        )
        source = f"s{step}"
        if what == "pin":
            out.append(
                _chunk(draw(turn_texts()), Role.SYSTEM, Kind.INSTRUCTION, source)
            )
        elif what in ("user", "assistant"):
            parts = draw(st.integers(1, 3))
            keep = draw(st.integers(0, parts - 1))
            role = Role.USER if what == "user" else Role.ASSISTANT
            meta = ChunkMeta(start_ms=step * 1000, end_ms=step * 1000 + 900)
            for part in range(keep, parts):
                text = draw(st.one_of(turn_texts(), st.just(" ")))
                out.append(
                    _chunk(
                        text, role, Kind.TURN, source, part=part, parts=parts, meta=meta
                    )
                )
        elif what == "doc":
            meta = ChunkMeta(
                url=draw(st.none() | st.just("https://example.com/a")),
                title=draw(st.none() | st.just("A page")),
                headings=tuple(
                    draw(st.lists(st.sampled_from(["Intro", "Use"]), max_size=2))
                ),
            )
            parts = draw(st.integers(1, 3))
            out.extend(
                _chunk(
                    draw(tool_texts()),
                    Role.TOOL,
                    Kind.DOCUMENT,
                    source,
                    part=part,
                    parts=parts,
                    meta=meta,
                )
                for part in range(parts)
            )
        elif what == "tools":
            n = draw(st.integers(1, 3))
            calls: list[tuple[str, ChunkMeta]] = []
            for j in range(n):
                meta = ChunkMeta(
                    tool_name=draw(_tool_names | st.just("bad name!")),
                    call_id=draw(_call_ids),
                )
                calls.append((f"{source}.call-{j}", meta))
                parts = draw(st.integers(1, 2))
                out.extend(
                    _chunk(
                        draw(tool_texts()),
                        Role.TOOL,
                        Kind.TOOL_CALL,
                        f"{source}.call-{j}",
                        part=part,
                        parts=parts,
                        meta=meta,
                    )
                    for part in range(parts)
                )
            if draw(st.booleans()):
                out.append(_chunk("wait", Role.USER, Kind.TURN, f"{source}.aside"))
            for j, (_, meta) in enumerate(calls):
                if draw(st.integers(0, 4)) == 0:
                    continue  # the result is gone
                parts = draw(st.integers(1, 2))
                out.extend(
                    _chunk(
                        draw(tool_texts()),
                        Role.TOOL,
                        Kind.TOOL_RESULT,
                        f"{source}.result-{j}",
                        part=part,
                        parts=parts,
                        meta=meta,
                    )
                    for part in range(parts)
                )
        elif what == "orphan":
            meta = ChunkMeta(
                tool_name=draw(st.none() | _tool_names), call_id=draw(_call_ids)
            )
            out.append(
                _chunk(
                    draw(tool_texts()), Role.TOOL, Kind.TOOL_RESULT, source, meta=meta
                )
            )
        else:
            role = draw(st.sampled_from([Role.SYSTEM, Role.ASSISTANT, Role.TOOL]))
            out.append(_chunk(draw(turn_texts()), role, Kind.SUMMARY, source))
    return out


# -- context windows (for the window engine) ------------------------------------


def window_texts(*, max_words: int = 40) -> st.SearchStrategy[str]:
    """Draw a short non-blank text for a window operation: turns, pages, results
    (prose, which is never blank)."""
    return prose(max_words=max_words)


def window_policies() -> st.SearchStrategy[Any]:
    """Draw one of every shipped policy, configured to act often in small windows."""
    from ctxchunk.policies import (
        Chain,
        ClearToolResults,
        DropOldest,
        MiddleOut,
        RetentionRatio,
        RolePriority,
        Summarize,
    )

    return st.sampled_from(
        [
            DropOldest(),
            RetentionRatio(0.7),
            RolePriority(),
            MiddleOut(keep_first=1),
            ClearToolResults(keep=1),
            ClearToolResults(keep=0, clear_at_least=20, clear_inputs=True),
            Summarize(max_summary_tokens=24),
            Chain(ClearToolResults(keep=1, clear_inputs=True), RolePriority()),
        ]
    )


@st.composite
def window_settings(draw: st.DrawFn) -> dict[str, int]:
    """Draw a budget, chunk size, reserve and protection for a small window."""
    budget = draw(st.integers(80, 400))
    reserve = draw(st.integers(0, 20))
    chunk_tokens = draw(st.integers(8, min(80, budget - reserve)))
    return {
        "budget": budget,
        "reserve_tokens": reserve,
        "chunk_tokens": chunk_tokens,
        "protect_recent_turns": draw(st.integers(0, 2)),
    }
