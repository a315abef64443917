"""Tests for ctxchunk.render: Responses input, Anthropic messages, Realtime events."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._render_plan import derived_item_id
from ctxchunk.change import Change, Eviction, Reason, Replacement, Truncation
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.render import (
    ANTHROPIC_CONTINUATION,
    DOCUMENT_TOOL,
    count_realtime_events,
    to_anthropic,
    to_openai_chat,
    to_realtime_events,
    to_responses_input,
    tool_definitions,
)
from ctxchunk.roles import Kind, Role
from tests.strategies import window_chunks

_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_ITEM_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _c(text: str, role: str, kind: str, source: str, **meta: Any) -> Chunk:
    return Chunk.create(
        text, role=role, kind=kind, source=source, meta=ChunkMeta(**meta), tokens=1
    )


PIN = attrs.evolve(
    _c("You are a concise travel assistant.", "system", "instruction", "pin-0"),
    pinned=True,
)
USER = _c("Is the Oslo ferry running tomorrow?", "user", "turn", "turn-1")
DOC = _c(
    "Ferries to Nesodden run every 30 minutes from 06:00.",
    "tool",
    "document",
    "doc-1",
    url="https://example.com/ferries",
    title="Oslo ferries",
    headings=("Timetable",),
)
CALL = _c(
    '{"city":"Oslo"}',
    "tool",
    "tool_call",
    "turn-3.call-0",
    tool_name="weather",
    call_id="call_w1",
)
RESULT = _c(
    "4 °C, light rain", "tool", "tool_result", "turn-4", tool_name="weather",
    call_id="call_w1",
)  # fmt: skip
ASSISTANT = _c(
    "Yes, every 30 minutes from 06:00. Expect 4 °C and light rain.",
    "assistant",
    "turn",
    "turn-5",
    start_ms=0,
    end_ms=3000,
)
WINDOW = [PIN, USER, DOC, CALL, RESULT, ASSISTANT]
DOC_ARGS = (
    '{"url":"https://example.com/ferries","title":"Oslo ferries",'
    '"headings":["Timetable"],"source":"doc-1","part":0,"parts":1}'
)


class _Window:
    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)


# -- to_responses_input -------------------------------------------------------------


class TestResponsesInput:
    def test_example_window(self):
        """One window of each kind of chunk renders to the hand-checked items."""
        doc_call = "call_" + DOC.id
        assert to_responses_input(_Window(WINDOW)) == [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": PIN.text}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": USER.text}],
            },
            {
                "type": "function_call",
                "call_id": doc_call,
                "name": "read_document",
                "arguments": DOC_ARGS,
            },
            {"type": "function_call_output", "call_id": doc_call, "output": DOC.text},
            {
                "type": "function_call",
                "call_id": "call_w1",
                "name": "weather",
                "arguments": '{"city":"Oslo"}',
            },
            {
                "type": "function_call_output",
                "call_id": "call_w1",
                "output": RESULT.text,
            },
            {"type": "message", "role": "assistant", "content": ASSISTANT.text},
        ]

    def test_system_role(self):
        """system_role="system" names instructions system instead of developer."""
        items = to_responses_input([PIN], system_role="system")
        assert items[0]["role"] == "system"

    def test_bad_system_role(self):
        """Any other system_role is a clear error."""
        with pytest.raises(InvalidArgumentError, match="system_role"):
            to_responses_input([PIN], system_role="user")  # type: ignore[arg-type]

    def test_bad_input(self):
        """A non-chunk in the sequence is a type error naming its index."""
        with pytest.raises(InvalidTypeError, match=r"chunks\[1\]"):
            to_responses_input([PIN, "hello"])  # type: ignore[list-item]
        with pytest.raises(InvalidTypeError):
            to_responses_input("hello")  # type: ignore[arg-type]

    @pytest.mark.parametrize("render", [to_responses_input, to_anthropic])
    @pytest.mark.parametrize("value", [None, 3, {"chunks": []}, {}, b"x"])
    def test_not_a_window(self, render, value):
        """None, numbers, dicts and bytes are neither a window nor chunks."""
        with pytest.raises(InvalidTypeError, match="expected a window"):
            render(value)

    @pytest.mark.parametrize("value", [None, [PIN], "x", _Window([PIN])])
    def test_openai_chat_needs_a_window(self, value):
        """to_openai_chat renders a window's units; anything else is a type error."""
        with pytest.raises(InvalidTypeError, match="render_units"):
            to_openai_chat(value)

    def test_parallel_calls_keep_all_results(self):
        """Two calls of one turn render as two calls, then both results."""
        a = _c("{}", "tool", "tool_call", "t.call-0", tool_name="a", call_id="ca")
        b = _c("{}", "tool", "tool_call", "t.call-1", tool_name="b", call_id="cb")
        rb = _c("B", "tool", "tool_result", "t2", call_id="cb")
        ra = _c("A", "tool", "tool_result", "t3", call_id="ca")
        types = [(i["type"], i["call_id"]) for i in to_responses_input([a, b, rb, ra])]
        assert types == [
            ("function_call", "ca"),
            ("function_call", "cb"),
            ("function_call_output", "cb"),
            ("function_call_output", "ca"),
        ]

    def test_orphans(self):
        """An unanswered call is left out; a call-less result gets its own call."""
        call = _c("{}", "tool", "tool_call", "t.call-0", tool_name="a", call_id="x")
        result = _c("out", "tool", "tool_result", "t9", tool_name="lookup")
        items = to_responses_input([call, result])
        assert items == [
            {
                "type": "function_call",
                "call_id": "call_" + result.id,
                "name": "lookup",
                "arguments": "{}",
            },
            {
                "type": "function_call_output",
                "call_id": "call_" + result.id,
                "output": "out",
            },
        ]

    def test_split_call_and_result_are_joined(self):
        """The parts of a long call or result are joined back into one item each."""
        meta = ChunkMeta(tool_name="f", call_id="c1")
        parts = [
            Chunk.create(t, role="tool", kind=k, source=s, part=p, parts=2, meta=meta)
            for t, k, s, p in [
                ('{"q":', "tool_call", "c", 0),
                ('"x"}', "tool_call", "c", 1),
                ("ab", "tool_result", "r", 0),
                ("cd", "tool_result", "r", 1),
            ]
        ]
        items = to_responses_input(parts)
        assert [i.get("arguments", i.get("output")) for i in items] == [
            '{"q":"x"}',
            "abcd",
        ]


# -- to_anthropic ---------------------------------------------------------------------


class TestAnthropic:
    def test_example_window(self):
        """The example window renders to the hand-checked system and messages."""
        doc_call = "call_" + DOC.id
        assert to_anthropic(WINDOW) == {
            "system": PIN.text,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": USER.text}]},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": doc_call,
                            "name": "read_document",
                            "input": json.loads(DOC_ARGS),
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": doc_call,
                            "content": DOC.text,
                        }
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "call_w1",
                            "name": "weather",
                            "input": {"city": "Oslo"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "call_w1",
                            "content": RESULT.text,
                        }
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": ASSISTANT.text}],
                },
            ],
        }

    def test_starts_with_assistant(self):
        """History opening on the assistant gets one continuation user message."""
        rendered = to_anthropic([PIN, ASSISTANT, USER])
        assert rendered["messages"][0] == {
            "role": "user",
            "content": [{"type": "text", "text": ANTHROPIC_CONTINUATION}],
        }
        assert [m["role"] for m in rendered["messages"]] == [
            "user",
            "assistant",
            "user",
        ]

    def test_merges_same_role(self):
        """Consecutive user chunks merge into one message with a block for each."""
        other = _c("And on Sunday?", "user", "turn", "turn-2")
        messages = to_anthropic([USER, other])["messages"]
        assert messages == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": USER.text},
                    {"type": "text", "text": other.text},
                ],
            }
        ]

    def test_summaries(self):
        """Summaries follow their role: system text, assistant text, or a tool call."""
        s_sys = _c("Earlier: booked a hotel.", "system", "summary", "sum-0")
        s_ast = _c("I booked the hotel.", "assistant", "summary", "sum-1")
        s_tool = _c("Hotel booked.", "tool", "summary", "sum-2")
        rendered = to_anthropic([PIN, s_sys, USER, s_ast, s_tool])
        assert rendered["system"] == PIN.text + "\n\n" + s_sys.text
        messages = rendered["messages"]
        assert messages[1]["content"][0] == {"type": "text", "text": s_ast.text}
        assert messages[1]["content"][1]["name"] == "recall_history"
        assert messages[2]["content"][0]["content"] == s_tool.text

    def test_non_object_arguments(self):
        """Arguments that are not a JSON object are wrapped: input is an object."""
        call = _c("not json", "tool", "tool_call", "c", tool_name="f", call_id="c1")
        result = _c("", "tool", "tool_result", "r", call_id="c1")
        messages = to_anthropic([call, result])["messages"]
        assert messages[1]["content"][0]["input"] == {"arguments": "not json"}
        assert messages[2]["content"][0] == {"type": "tool_result", "tool_use_id": "c1"}

    @pytest.mark.parametrize("arguments", ['{"x": NaN}', '{"x": -Infinity}'])
    def test_nan_arguments_stay_text(self, arguments):
        """Arguments holding NaN or Infinity are not JSON: they are passed as text,
        so the request is standard JSON."""
        call = _c(arguments, "tool", "tool_call", "c", tool_name="f", call_id="c1")
        result = _c("ok", "tool", "tool_result", "r", call_id="c1")
        rendered = to_anthropic([call, result])
        assert rendered["messages"][1]["content"][0]["input"] == {
            "arguments": arguments
        }
        json.dumps(rendered, allow_nan=False)

    def test_instructions_only(self):
        """A window of instructions only has no messages."""
        assert to_anthropic([PIN]) == {"system": PIN.text, "messages": []}


# -- to_realtime_events ------------------------------------------------------------


def _chain(chunks: Sequence[Chunk], first: str | None = None) -> tuple[str | None, ...]:
    ids = [c.id for c in chunks]
    return (first, *ids[:-1]) if ids else ()


class TestRealtimeEvents:
    def test_example_window(self):
        """Adding the example window makes the hand-checked events."""
        change = Change(
            added=tuple(WINDOW), previous_ids=_chain(WINDOW), instructions_changed=True
        )
        fc = derived_item_id(DOC.id)
        doc_call = "call_" + DOC.id
        assert to_realtime_events(change, instructions=PIN.text) == [
            {
                "type": "session.update",
                "session": {"type": "realtime", "instructions": PIN.text},
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": "root",
                "item": {
                    "id": USER.id,
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": USER.text}],
                },
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": USER.id,
                "item": {
                    "id": fc,
                    "type": "function_call",
                    "call_id": doc_call,
                    "name": DOCUMENT_TOOL,
                    "arguments": DOC_ARGS,
                },
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": fc,
                "item": {
                    "id": DOC.id,
                    "type": "function_call_output",
                    "call_id": doc_call,
                    "output": DOC.text,
                },
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": DOC.id,
                "item": {
                    "id": CALL.id,
                    "type": "function_call",
                    "call_id": "call_w1",
                    "name": "weather",
                    "arguments": CALL.text,
                },
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": CALL.id,
                "item": {
                    "id": RESULT.id,
                    "type": "function_call_output",
                    "call_id": "call_w1",
                    "output": RESULT.text,
                },
            },
            {
                "type": "conversation.item.create",
                "previous_item_id": RESULT.id,
                "item": {
                    "id": ASSISTANT.id,
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": ASSISTANT.text}],
                },
            },
        ]

    def test_truncate_is_capped_at_the_audio(self):
        """An interruption past the end of the turn's audio truncates at its end."""
        after = attrs.evolve(ASSISTANT, text="Yes, every 30")
        change = Change(
            truncated=(Truncation(ASSISTANT, after, 5000),),
            evicted=(Eviction(ASSISTANT, Reason.INTERRUPTED),),
        )
        assert to_realtime_events(change) == [
            {
                "type": "conversation.item.truncate",
                "item_id": ASSISTANT.id,
                "content_index": 0,
                "audio_end_ms": 3000,
            }
        ]

    def test_truncate_at_zero_deletes(self):
        """Nothing heard: the item is deleted once, never truncated to 0 ms."""
        after = attrs.evolve(ASSISTANT, text="")
        change = Change(
            truncated=(Truncation(ASSISTANT, after, 0),),
            evicted=(Eviction(ASSISTANT, Reason.INTERRUPTED),),
        )
        assert to_realtime_events(change) == [
            {"type": "conversation.item.delete", "item_id": ASSISTANT.id}
        ]

    def test_truncate_needs_an_assistant_turn(self):
        """Truncating a user turn is a clear error."""
        change = Change(truncated=(Truncation(USER, USER, 10),))
        with pytest.raises(InvalidArgumentError, match="only assistant turns"):
            to_realtime_events(change)

    def test_evictions(self):
        """Evicted items are deleted, both items of a pair; unsent ones are skipped."""
        late = _c("Thanks!", "user", "turn", "turn-9")
        change = Change(
            added=(late,),
            previous_ids=(ASSISTANT.id,),
            evicted=(
                Eviction(PIN, Reason.POLICY),
                Eviction(DOC, Reason.POLICY),
                Eviction(late, Reason.OVERSIZE),
            ),
        )
        assert to_realtime_events(change) == [
            {"type": "conversation.item.delete", "item_id": DOC.id},
            {"type": "conversation.item.delete", "item_id": derived_item_id(DOC.id)},
        ]

    def test_replacement(self):
        """A summary not among the added chunks is created where the run began."""
        summary = _c("The user asked about ferries.", "assistant", "summary", "sum")
        change = Change(replaced=(Replacement((USER, DOC), summary),))
        events = to_realtime_events(change)
        assert events[0]["previous_item_id"] == USER.id
        assert events[0]["item"]["id"] == summary.id
        assert [e["item_id"] for e in events[1:]] == [
            USER.id,
            DOC.id,
            derived_item_id(DOC.id),
        ]

    def test_instructions_required(self):
        """A change of instructions without instructions= is a clear error."""
        with pytest.raises(InvalidArgumentError, match="instructions="):
            to_realtime_events(Change(instructions_changed=True))

    @pytest.mark.parametrize("value", [1, "yes", None])
    def test_event_ids_must_be_a_bool(self, value):
        """event_ids takes True or False only."""
        with pytest.raises(InvalidTypeError, match="event_ids must be True or False"):
            to_realtime_events(Change(), event_ids=value)

    def test_event_ids(self):
        """event_ids=True gives every event a distinct, deterministic event_id."""
        change = Change(added=(USER, ASSISTANT), previous_ids=(None, USER.id))
        first = to_realtime_events(change, event_ids=True)
        assert first == to_realtime_events(change, event_ids=True)
        ids = [e["event_id"] for e in first]
        assert len(set(ids)) == 2
        assert all(re.fullmatch(r"evt_[0-9a-f]{24}", i) for i in ids)


# -- properties ----------------------------------------------------------------------


def _texts(chunks: Sequence[Chunk], role: Role) -> list[str]:
    return [
        c.text
        for c in chunks
        if c.role is role and c.kind in (Kind.TURN, Kind.INSTRUCTION, Kind.SUMMARY)
    ]


@given(window_chunks())
def test_responses_properties(chunks):
    """Responses input: calls answered right after their run, roles kept, JSON-ready."""
    items = to_responses_input(chunks)
    assert items == to_responses_input(_Window(chunks))
    assert json.loads(json.dumps(items)) == items
    index = 0
    seen: set[str] = set()
    while index < len(items):
        item = items[index]
        if item["type"] != "function_call":
            assert item["type"] == "message"
            index += 1
            continue
        run: list[str] = []
        while index < len(items) and items[index]["type"] == "function_call":
            run.append(items[index]["call_id"])
            index += 1
        outputs: list[str] = []
        while index < len(items) and items[index]["type"] == "function_call_output":
            outputs.append(items[index]["call_id"])
            index += 1
        assert sorted(run) == sorted(outputs)
        assert not seen & set(run)
        seen.update(run)
        assert all(_ID.match(i) and len(i) <= 64 for i in run)
    by_role = {
        role: [
            i["content"] if isinstance(i["content"], str) else i["content"][0]["text"]
            for i in items
            if i.get("role") == role
        ]
        for role in ("developer", "user", "assistant")
    }
    assert by_role["developer"] == _texts(chunks, Role.SYSTEM)
    assert by_role["user"] == _texts(chunks, Role.USER)
    assert by_role["assistant"] == _texts(chunks, Role.ASSISTANT)


@given(window_chunks())
def test_anthropic_properties(chunks):
    """Anthropic: user first, roles alternate, tool_use answered next, no leaks."""
    rendered = to_anthropic(chunks)
    assert rendered == to_anthropic(chunks)
    assert json.loads(json.dumps(rendered)) == rendered
    messages = rendered["messages"]
    assert rendered["system"] == "\n\n".join(
        t for t in _texts(chunks, Role.SYSTEM) if t.strip()
    )
    if messages:
        assert messages[0]["role"] == "user"
    user_texts: list[str] = []
    assistant_texts: list[str] = []
    for index, message in enumerate(messages):
        assert message["content"]
        if index:
            assert message["role"] != messages[index - 1]["role"]
        blocks = message["content"]
        for block in blocks:
            if block["type"] == "text":
                assert block["text"].strip()
                target = user_texts if message["role"] == "user" else assistant_texts
                target.append(block["text"])
        uses = [b["id"] for b in blocks if b["type"] == "tool_use"]
        assert message["role"] == "assistant" or not uses
        if uses:
            assert all(_ID.match(i) for i in uses)
            following = messages[index + 1]["content"]
            results = [b for b in following if b["type"] == "tool_result"]
            assert sorted(r["tool_use_id"] for r in results) == sorted(uses)
            # tool_result blocks come first in the user message
            assert following[: len(results)] == results
        if message["role"] == "user" and index:
            previous = messages[index - 1]["content"]
            answered = {b["id"] for b in previous if b["type"] == "tool_use"}
            for block in blocks:
                if block["type"] == "tool_result":
                    assert block["tool_use_id"] in answered
    expected_user = [t for t in _texts(chunks, Role.USER) if t.strip()]
    if user_texts[:1] == [ANTHROPIC_CONTINUATION] and expected_user[:1] != [
        ANTHROPIC_CONTINUATION
    ]:
        user_texts = user_texts[1:]
    assert user_texts == expected_user
    assert assistant_texts == [t for t in _texts(chunks, Role.ASSISTANT) if t.strip()]


@given(window_chunks())
def test_call_ids_agree(chunks):
    """Responses and Anthropic give every call the same id."""
    responses = [i["call_id"] for i in to_responses_input(chunks) if "name" in i]
    anthropic = [
        b["id"]
        for m in to_anthropic(chunks)["messages"]
        for b in m["content"]
        if b["type"] == "tool_use"
    ]
    assert responses == anthropic


# -- a model Realtime session ------------------------------------------------------


def _expected_items(chunk: Chunk) -> list[str]:
    if chunk.kind is Kind.INSTRUCTION or (chunk.kind is Kind.TOOL_CALL and chunk.part):
        return []
    paired = (
        chunk.kind is Kind.DOCUMENT
        or (chunk.kind is Kind.SUMMARY and chunk.role is Role.TOOL)
        or (
            chunk.kind is Kind.TOOL_RESULT
            and (chunk.meta.call_id is None or chunk.part > 0)
        )
    )
    return [derived_item_id(chunk.id), chunk.id] if paired else [chunk.id]


_REQUIRED = {
    "session.update": {"type", "session"},
    "conversation.item.create": {"type", "item"},
    "conversation.item.delete": {"type", "item_id"},
    "conversation.item.truncate": {"type", "item_id", "content_index", "audio_end_ms"},
}


def _apply(session: list[str], events: list[dict[str, Any]]) -> None:
    """Apply events as the server would, failing where it would answer an error."""
    for event in events:
        assert json.loads(json.dumps(event)) == event
        assert _REQUIRED[event["type"]] <= event.keys()
        if event["type"] == "conversation.item.create":
            item = event["item"]
            assert _ITEM_ID.match(item["id"])
            assert item["id"] not in session
            previous = event["previous_item_id"]
            at = 0 if previous == "root" else session.index(previous) + 1
            session.insert(at, item["id"])
            if item["type"] == "message":
                assert item["role"] in ("user", "assistant", "system")
                part = item["content"][0]["type"]
                assert part == (
                    "output_text" if item["role"] == "assistant" else "input_text"
                )
            else:
                assert item["type"] in ("function_call", "function_call_output")
                assert "call_id" in item
        elif event["type"] == "conversation.item.delete":
            session.remove(event["item_id"])
        elif event["type"] == "conversation.item.truncate":
            assert event["item_id"] in session
            assert event["audio_end_ms"] > 0


@given(window_chunks(), window_chunks(), st.data())
def test_realtime_session_follows_the_window(prior, new, data):
    """Applying the events of two operations leaves the session equal to the window."""
    new = [c for c in new if c.id not in {p.id for p in prior}]
    session: list[str] = []
    first = Change(
        added=tuple(prior),
        previous_ids=_chain(prior),
        instructions_changed=any(c.kind is Kind.INSTRUCTION for c in prior),
    )
    _apply(session, to_realtime_events(first, instructions="be brief"))
    # The window's previous_ids name the chunk before; the session anchors on items,
    # so a chunk with no item (an instruction, a later part of a call) from an
    # earlier operation is never named (see render docs).
    anchors = [c.id for c in prior if _expected_items(c)]
    gone = data.draw(
        st.sets(st.sampled_from([*prior, *new])) if prior or new else st.just(set())
    )
    evicted = tuple(Eviction(c, Reason.POLICY) for c in [*prior, *new] if c in gone)
    second = Change(
        added=tuple(new),
        previous_ids=_chain(new, anchors[-1] if anchors else None),
        evicted=evicted,
    )
    events = to_realtime_events(second)
    assert events == to_realtime_events(second)
    _apply(session, events)
    window = [c for c in [*prior, *new] if c not in gone]
    expected = [i for c in window for i in _expected_items(c)]
    # A tool call's later parts ride on part 0's item, which leaves with part 0.
    assert session == expected


@st.composite
def any_changes(draw: st.DrawFn) -> tuple[Change, str | None]:
    """Draw a Change of every shape (and the instructions argument): chunks added,
    evicted for any reason (also added and evicted at once, or listed twice),
    replaced by a chunk added with them or not, cut turns of any role with any
    audio position (and evicted as interrupted, or not), and instructions changed
    with or without their text."""
    prior = draw(window_chunks(max_steps=3))
    new = [c for c in draw(window_chunks(max_steps=3)) if c not in prior]
    # The example window's chunks too: a change may name chunks of earlier ones.
    pick = st.sampled_from([*prior, *new, *WINDOW])
    truncated = [
        Truncation(before, before, draw(st.integers(-10, 5000)))
        for before in draw(st.lists(pick | st.just(ASSISTANT), max_size=2))
    ]
    cut = [t.before for t in truncated]
    evicted = draw(
        st.lists(
            st.builds(
                Eviction,
                pick | st.sampled_from(cut or WINDOW),
                st.sampled_from(list(Reason)),
            ),
            max_size=6,
        )
    )
    replaced = []
    for _ in range(draw(st.integers(0, 2))):
        old = draw(st.lists(pick, min_size=1, max_size=3))
        new_chunk = draw(st.sampled_from(new or WINDOW) | pick)
        replaced.append(Replacement(tuple(old), new_chunk))
    change = Change(
        added=tuple(new),
        previous_ids=_chain(new, draw(st.none() | st.sampled_from(["x", "y"]))),
        evicted=tuple(evicted),
        replaced=tuple(replaced),
        truncated=tuple(truncated),
        instructions_changed=draw(st.booleans()),
    )
    return change, draw(st.none() | st.just("Be brief."))


@given(any_changes())
def test_counting_events_equals_making_them(drawn):
    """count_realtime_events is the number of events to_realtime_events makes, for
    any change; where making them fails, counting fails the same way."""
    change, instructions = drawn
    try:
        events = to_realtime_events(change, instructions=instructions)
    except InvalidArgumentError as exc:
        with pytest.raises(InvalidArgumentError, match=re.escape(str(exc))):
            count_realtime_events(change, instructions=instructions)
        return
    assert count_realtime_events(change, instructions=instructions) == len(events)


class TestCountRealtimeEvents:
    def test_example_window(self):
        """The hand-checked example counts its seven events."""
        change = Change(
            added=tuple(WINDOW), previous_ids=_chain(WINDOW), instructions_changed=True
        )
        assert count_realtime_events(change, instructions=PIN.text) == 7

    @pytest.mark.parametrize(
        ("change", "instructions"),
        [("not a change", None), (Change(), 3)],
    )
    def test_bad_arguments(self, change, instructions):
        """A change that is not a Change, or instructions that are not text, are
        refused as to_realtime_events refuses them."""
        with pytest.raises(InvalidTypeError):
            count_realtime_events(change, instructions=instructions)


class TestRealtimeAnchorsAcrossOperations:
    def test_turn_after_a_pin_is_anchored_at_root(self):
        """A turn added after the instructions never names the pin as its anchor."""
        from ctxchunk.window import ContextWindow

        window = ContextWindow(4000, chunk_tokens=500)
        window.pin("You are a helpful travel agent.")
        change = window.add_turn("user", "Find me a train to Lyon.")
        (event,) = to_realtime_events(change)
        assert event["type"] == "conversation.item.create"
        assert event["previous_item_id"] == "root"

    def test_turn_after_split_tool_call_anchors_on_an_item(self):
        """After a split tool call, the next item is anchored on an existing item."""
        from ctxchunk.window import ContextWindow

        window = ContextWindow(20000, chunk_tokens=60)
        args = '{"query": "' + "lyon trains " * 60 + '"}'
        sent: set[str] = set()
        for change in (
            window.pin("Be brief."),
            window.add_turn("user", "Look it up."),
            window.add_tool_call("search", args, "Found 3 trains.", call_id="c1"),
            window.add_turn("assistant", "There are three trains."),
        ):
            for event in to_realtime_events(change, instructions="Be brief."):
                if event["type"] == "conversation.item.create":
                    anchor = event["previous_item_id"]
                    assert anchor == "root" or anchor in sent
                    sent.add(event["item"]["id"])


class TestToolDefinitions:
    def _window(self):
        from ctxchunk.policies import Summarize
        from ctxchunk.window import ContextWindow

        window = ContextWindow(3000, chunk_tokens=200, policy=Summarize())
        window.pin("Be brief.")
        window.add_turn("user", "What is in the tea guide?")
        window.add_document(
            "# Tea\n\nGreen tea is steamed. " * 20, url="https://tea.example/guide"
        )
        window.add_tool_call("weather", '{"city": "Oslo"}', "Rain, 7 C.")
        return window

    @pytest.mark.parametrize("fmt", ["chat", "responses", "anthropic"])
    def test_defines_every_synthetic_tool_the_rendering_calls(self, fmt):
        """Each tool the rendering calls is either defined here or the caller's own."""
        window = self._window()
        defined = set()
        for tool in tool_definitions(window, format=fmt):
            defined.add(tool["function"]["name"] if fmt == "chat" else tool["name"])
        if fmt == "chat":
            called = {
                call["function"]["name"]
                for message in to_openai_chat(window)
                for call in message.get("tool_calls") or ()
            }
        elif fmt == "responses":
            called = {
                item["name"]
                for item in to_responses_input(window)
                if item["type"] == "function_call"
            }
        else:
            called = {
                block["name"]
                for message in to_anthropic(window)["messages"]
                if isinstance(message["content"], list)
                for block in message["content"]
                if block["type"] == "tool_use"
            }
        assert "read_document" in defined
        assert called - defined == {"weather"}
        assert defined <= called

    def test_shapes_per_format(self):
        """Chat nests the function; Responses is flat; Anthropic has input_schema."""
        window = self._window()
        (chat,) = tool_definitions(window, format="chat")
        (responses,) = tool_definitions(window, format="responses")
        (anthropic,) = tool_definitions(window, format="anthropic")
        assert chat["type"] == "function"
        assert chat["function"]["parameters"]["type"] == "object"
        assert responses["type"] == "function"
        assert responses["parameters"] == chat["function"]["parameters"]
        assert anthropic["input_schema"] == chat["function"]["parameters"]

    def test_nothing_to_define_for_plain_turns(self):
        """A window of plain turns needs no extra tools."""
        from ctxchunk.window import ContextWindow

        window = ContextWindow(1000, chunk_tokens=100)
        window.add_turn("user", "Hello")
        assert tool_definitions(window) == []

    def test_unknown_format(self):
        """An unknown format is rejected with the accepted ones named."""
        with pytest.raises(InvalidArgumentError, match="'chat', 'responses'"):
            tool_definitions([], format="gemini")


def test_duplicate_call_ids_render_alike_everywhere():
    """Two calls sharing call_id get the same two distinct ids in Chat and Responses."""
    from ctxchunk import ContextWindow, to_openai_chat, to_responses_input

    window = ContextWindow(4000)
    window.add_tool_call("a", {}, "one", call_id="call_1")
    window.add_tool_call("b", {}, "two", call_id="call_1")
    chat = [c["id"] for m in to_openai_chat(window) for c in m.get("tool_calls") or []]
    responses = [
        item["call_id"]
        for item in to_responses_input(window)
        if item.get("type") == "function_call"
    ]
    assert chat == responses
    assert len(set(chat)) == 2
    assert chat[0] == "call_1"
