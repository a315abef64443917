"""Responses API request bodies and request logs of them.

A Responses agent sends ``POST /responses`` with a body such as ``{"model",
"instructions", "input": [...items...], "tools"}``; ``input`` may be a string (one
user message). ``ctxchunk simulate`` reads such a body as one session (its
``instructions``, then its items as ``--format items`` reads them), and a JSONL log
of bodies, each repeating the conversation so far, as one session per
conversation. Every body here is checked against the ``openai`` SDK's own
``ResponseCreateParamsNonStreaming``.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
)
from pydantic import ConfigDict, TypeAdapter

from ctxchunk._fleet import (
    Line,
    count_sessions,
    detect_format,
    iter_sessions,
    read_line,
    read_session,
)
from ctxchunk.cli import main
from ctxchunk.exceptions import SessionLogError
from ctxchunk.session import Session, ToolCallEvent
from tests.sdk_types import _force
from tests.test_anthropic_log import _steps
from tests.test_responses_log import _as_items

_BODIES = TypeAdapter(
    list[ResponseCreateParamsNonStreaming], config=ConfigDict(extra="forbid")
)


def _check_sdk(bodies: list[dict[str, Any]]) -> None:
    """Assert each body is a request the SDK accepts, read as it is written."""
    assert _force(_BODIES.validate_python(bodies)) == bodies


_TOOLS = [
    {
        "type": "function",
        "name": "weather",
        "description": "The weather in a city now.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "strict": True,
    }
]


def _call(call_id: str, city: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": "weather",
        "arguments": json.dumps({"city": city}),
        "status": "completed",
    }


def _said(role: str, text: str) -> dict[str, Any]:
    """A typed message, as the API returns an output message or takes an input."""
    if role == "assistant":
        return {
            "type": "message",
            "id": f"msg_{zlib.crc32(text.encode()):08x}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    return {
        "type": "message",
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }


WEATHER: list[dict[str, Any]] = [
    {"role": "user", "content": "Is it colder in Oslo or in Bergen right now?"},
    {"type": "reasoning", "id": "rs_1", "summary": []},
    _call("call_oslo", "Oslo"),
    _call("call_bergen", "Bergen"),
    {"type": "function_call_output", "call_id": "call_oslo", "output": "-3 C, snow"},
    {
        "type": "function_call_output",
        "call_id": "call_bergen",
        "output": [{"type": "input_text", "text": "5 C, rain"}],
    },
    _said("assistant", "Oslo: -3 C and snowing; Bergen is warmer at 5 C."),
    _said("user", "And in Tromso?"),
    _call("call_tromso", "Tromso"),
    {"type": "function_call_output", "call_id": "call_tromso", "output": "-8 C"},
]
"""A conversation with two parallel calls (one response), then one lone call."""

INSTRUCTIONS = "You are a weather assistant. Answer in one sentence."


def _body(items: list[Any] | str, **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1", **fields, "input": items, "tools": _TOOLS}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _untimed(session: Session) -> list[dict[str, Any]]:
    return [{k: v for k, v in vars(e).items() if k != "t_ms"} for e in session.events]


def _requests(items: list[Any], **fields: Any) -> list[dict[str, Any]]:
    """The bodies an agent sends: the conversation so far, before each run of
    model output, and the whole conversation when it ends with input."""
    ends = [
        end
        for end in range(1, len(items))
        if _is_output(items[end]) and not _is_output(items[end - 1])
    ]
    if not _is_output(items[-1]):
        ends.append(len(items))
    return [_body(items[:end], **fields) for end in ends]


def _is_output(item: dict[str, Any]) -> bool:
    return item.get("role") == "assistant" or item.get("type") in (
        "reasoning",
        "function_call",
    )


# -- one body ------------------------------------------------------------------


class TestBody:
    def test_a_body_is_one_session_with_its_instructions(self, tmp_path):
        """The instructions come first; the input's items read as an item list."""
        body = _body(WEATHER, instructions=INSTRUCTIONS)
        _check_sdk([body])
        session = read_session(_write(tmp_path / "weather.json", body))
        assert session.name == "weather"
        assert [(e.type, getattr(e, "text", None)) for e in session.events] == [
            ("instructions", INSTRUCTIONS),
            ("turn", WEATHER[0]["content"]),
            ("request", None),
            ("tool_call", None),
            ("tool_call", None),
            ("request", None),
            ("turn", "Oslo: -3 C and snowing; Bergen is warmer at 5 C."),
            ("turn", "And in Tromso?"),
            ("request", None),
            ("tool_call", None),
        ]

    def test_parallel_calls_of_one_body_are_one_batch(self, tmp_path):
        """The two calls of one response share a batch; the later lone call has
        none. An output given as content parts reads as its text."""
        body = _body(WEATHER, instructions=INSTRUCTIONS)
        session = read_session(_write(tmp_path / "weather.json", body))
        calls = [e for e in session.events if isinstance(e, ToolCallEvent)]
        assert [(c.call_id, c.batch, c.result) for c in calls] == [
            ("call_oslo", "step-1", "-3 C, snow"),
            ("call_bergen", "step-1", "5 C, rain"),
            ("call_tromso", None, "-8 C"),
        ]
        assert json.loads(calls[1].arguments) == {"city": "Bergen"}

    def test_a_body_reads_as_its_items_after_a_developer_message(self, tmp_path):
        """Top-level instructions read as a leading developer message does."""
        body = _body(WEATHER, instructions=INSTRUCTIONS)
        items = [{"role": "developer", "content": INSTRUCTIONS}, *WEATHER]
        a = read_session(_write(tmp_path / "body.json", body))
        b = read_session(_write(tmp_path / "items.json", items), "items")
        assert _untimed(a) == _untimed(b)

    def test_a_string_input_is_one_user_message(self, tmp_path):
        """A string ``input`` is the user message the API makes of it."""
        body = {"model": "gpt-4.1", "input": "Tell me a joke about tokens."}
        _check_sdk([body])
        session = read_session(_write(tmp_path / "joke.json", body))
        assert [(e.type, e.role, e.text) for e in session.events] == [
            ("turn", "user", "Tell me a joke about tokens.")
        ]

    def test_a_body_without_instructions_has_none(self, tmp_path):
        """Without ``instructions`` the session has no instructions event."""
        body = _body(WEATHER[:1])
        session = read_session(_write(tmp_path / "q.json", body))
        assert [e.type for e in session.events] == ["turn"]

    def test_items_stored_on_the_server_are_left_out(self, tmp_path):
        """An item reference (typed or not) and a compaction item stand for
        history the log does not hold: they are read as nothing, not refused."""
        body = _body(
            [
                {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAA"},
                {"id": "msg_stored"},
                {"type": "item_reference", "id": "fc_stored"},
                {"role": "user", "content": "Go on."},
            ]
        )
        _check_sdk([body])
        session = read_session(_write(tmp_path / "stored.json", body))
        assert [(e.type, getattr(e, "text", None)) for e in session.events] == [
            ("turn", "Go on.")
        ]

    def test_the_format_is_items_detected_or_forced(self, tmp_path):
        """A body is detected as the items format, and --format items reads it."""
        body = _body("hi", instructions="Be brief.")
        assert detect_format(body) == "items"
        path = _write(tmp_path / "b.json", body)
        assert read_session(path, "items").events == read_session(path).events

    def test_a_pretty_printed_body_and_a_gzipped_one(self, tmp_path):
        """Indented JSON and a ``.json.gz`` read as the one-line body does."""
        import gzip

        body = _body(WEATHER, instructions=INSTRUCTIONS)
        plain = _write(tmp_path / "plain.json", body)
        pretty = tmp_path / "pretty.json"
        pretty.write_text(json.dumps(body, indent=2), encoding="utf-8")
        packed = tmp_path / "packed.json.gz"
        packed.write_bytes(gzip.compress(json.dumps(body).encode()))
        events = read_session(plain).events
        assert read_session(pretty).events == events
        assert read_session(packed).events == events

    def test_the_cli_simulates_a_body(self, tmp_path):
        """``ctxchunk simulate body.json --json out.json`` end to end."""
        body = _body(WEATHER, instructions=INSTRUCTIONS)
        path = _write(tmp_path / "weather.json", body)
        out = tmp_path / "out.json"
        assert (
            main(["simulate", str(path), "--budget", "2000", "--json", str(out)]) == 0
        )
        result = json.loads(out.read_text(encoding="utf-8"))
        (only,) = result["sessions"]
        assert only["session"] == "weather"


def test_the_docs_example_reads_as_described(tmp_path):
    """docs/simulation.md's request body is one the SDK accepts, and its two
    calls are one batch after the instructions and the question."""
    docs = Path(__file__).parents[1] / "docs" / "simulation.md"
    text = docs.read_text(encoding="utf-8")
    start = text.index("```json", text.index("`POST /responses`")) + len("```json")
    body = json.loads(text[start : text.index("```", start)])
    _check_sdk([body])
    session = read_session(_write(tmp_path / "example.json", body))
    assert [(e.type, getattr(e, "batch", None)) for e in session.events] == [
        ("instructions", None),
        ("turn", None),
        ("request", None),
        ("tool_call", "step-1"),
        ("tool_call", "step-1"),
    ]


@given(
    instructions=st.none() | st.text("abc ", min_size=1, max_size=20),
    steps=_steps,
    typed=st.booleans(),
    reasoning=st.booleans(),
)
def test_a_body_reads_as_its_item_list(
    tmp_path_factory, instructions, steps, typed, reasoning
):
    """Any conversation sent as a body reads as the item list holding a developer
    message with the instructions, then the input (itself tied to the Chat log of
    the same conversation in tests/test_responses_log.py)."""
    items = _as_items(None, steps, typed=typed, reasoning=reasoning)
    if not items:
        items = [{"role": "user", "content": "hi"}]
    body = _body(items, instructions=instructions)
    _check_sdk([body])
    listed = items
    if instructions is not None:
        listed = [{"role": "developer", "content": instructions}, *items]
    folder = tmp_path_factory.mktemp("body")
    a = read_session(_write(folder / "body.json", body))
    b = read_session(_write(folder / "items.json", listed), "items")
    assert _untimed(a) == _untimed(b)


# -- request logs ----------------------------------------------------------------


def _second_conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Convert 12 miles to kilometres."},
        _said("assistant", "12 miles is about 19.3 km."),
        {"role": "user", "content": "And 30?"},
        _said("assistant", "About 48.3 km."),
        {"role": "user", "content": "Thanks."},
    ]


class TestRequestLog:
    def test_two_interleaved_conversations_are_two_sessions(self, tmp_path):
        """Each line repeats its conversation so far; interleaved, the lines make
        two sessions, each the session of its last body, named by its first line."""
        a = _requests(WEATHER, instructions=INSTRUCTIONS)
        b = _requests(_second_conversation(), instructions="You convert units.")
        assert (len(a), len(b)) == (4, 3)
        _check_sdk(a + b)
        rows = [a[0], b[0], a[1], b[1], b[2], a[2], a[3]]
        log = _jsonl(tmp_path / "proxy.jsonl", rows)
        refs = list(iter_sessions([log]))
        assert [str(r) for r in refs] == [f"{log}:1", f"{log}:2"]
        assert count_sessions([str(log)]) == 2
        for ref, last in zip(refs, (a[-1], b[-1]), strict=True):
            assert isinstance(ref, Line)
            alone = read_session(_write(tmp_path / "last.json", last))
            assert read_line(ref).events == alone.events
        assert read_line(refs[0]).name == "proxy:1"

    def test_the_cli_reads_a_request_log(self, tmp_path):
        """``ctxchunk simulate log.jsonl`` reports a session per conversation."""
        a = _requests(WEATHER, instructions=INSTRUCTIONS)
        b = _requests(_second_conversation())
        log = _jsonl(tmp_path / "proxy.jsonl", [a[0], b[0], *a[1:], *b[1:]])
        out = tmp_path / "out.json"
        argv = ["simulate", str(log), "--budget", "2000", "--json", str(out)]
        assert main(argv) == 0
        result = json.loads(out.read_text(encoding="utf-8"))
        assert [s["session"] for s in result["sessions"]] == ["proxy:1", "proxy:2"]

    def test_a_string_input_is_continued_by_a_list(self, tmp_path):
        """A first request sent as a string is the user message the next request
        repeats as an item."""
        rows = [
            {"model": "gpt-4.1", "input": "Hi!"},
            {
                "model": "gpt-4.1",
                "input": [
                    {"role": "user", "content": "Hi!"},
                    {"role": "assistant", "content": "Hello. How can I help?"},
                    {"role": "user", "content": "Say a word."},
                ],
            },
        ]
        _check_sdk(rows)
        log = _jsonl(tmp_path / "log.jsonl", rows)
        (ref,) = iter_sessions([log])
        assert isinstance(ref, Line)
        assert [e.text for e in read_line(ref).events if e.type == "turn"] == [
            "Hi!",
            "Hello. How can I help?",
            "Say a word.",
        ]

    def test_a_conversation_keeps_its_first_instructions(self, tmp_path):
        """Instructions are not compared (a prompt may carry the time); the
        conversation keeps its first line's, as a Chat log keeps its first
        system message."""
        rows = [
            _body(WEATHER[:1], instructions="It is 10:00."),
            _body(WEATHER[:6], instructions="It is 10:01."),
        ]
        log = _jsonl(tmp_path / "log.jsonl", rows)
        (ref,) = iter_sessions([log])
        assert isinstance(ref, Line)
        assert read_line(ref).events[0].text == "It is 10:00."

    def test_a_chat_body_never_continues_a_responses_one(self, tmp_path):
        """The same messages as Chat ``messages`` and as Responses ``input`` are
        two requests of two APIs: two sessions."""
        messages = [{"role": "user", "content": "Hi!"}]
        rows = [
            {"model": "gpt-4.1", "input": messages},
            {
                "model": "gpt-4.1",
                "messages": [*messages, {"role": "assistant", "content": "Hello."}],
            },
        ]
        log = _jsonl(tmp_path / "mixed.jsonl", rows)
        assert [str(r) for r in iter_sessions([log])] == [f"{log}:1", f"{log}:2"]

    def test_bodies_that_do_not_chain_are_a_dataset(self, tmp_path):
        """Bodies that continue none of the others are one session per line."""
        rows = [_body(f"Question {n}: what is {n} + {n}?") for n in range(3)]
        log = _jsonl(tmp_path / "set.jsonl", rows)
        refs = list(iter_sessions([log]))
        assert [str(r) for r in refs] == [f"{log}:{n}" for n in (1, 2, 3)]
        assert all(isinstance(r, Line) for r in refs)
        texts = [read_line(r).events[0].text for r in refs if isinstance(r, Line)]
        assert texts == [f"Question {n}: what is {n} + {n}?" for n in range(3)]

    def test_a_line_continuing_a_stored_response_stands_alone(self, tmp_path):
        """A body with ``previous_response_id`` holds only its new items (the rest
        is on OpenAI's server): it is a conversation of its own, never appended
        to a guessed one, even when its items would continue one."""
        first = _body(WEATHER[:1], instructions=INSTRUCTIONS)
        follow = _body(WEATHER[:2], previous_response_id="resp_0123")
        tail = _body(
            [{"type": "function_call_output", "call_id": "call_oslo", "output": "1"}],
            previous_response_id="resp_4567",
        )
        _check_sdk([first, follow, tail])
        log = _jsonl(tmp_path / "stored.jsonl", [first, follow, tail])
        refs = list(iter_sessions([log]))
        assert [str(r) for r in refs] == [f"{log}:1", f"{log}:2", f"{log}:3"]
        alone = refs[2]
        assert isinstance(alone, Line)
        (call,) = read_line(alone).events
        # Its call was output by the stored response, so its name is unknown.
        assert (call.type, call.call_id, call.name) == (
            "tool_call",
            "call_oslo",
            "tool",
        )

    def test_a_json_file_of_one_conversation_is_one_session(self, tmp_path):
        """Bodies in a .json file (not a dataset) that chain are its session."""
        bodies = _requests(WEATHER, instructions=INSTRUCTIONS)
        path = _jsonl(tmp_path / "log.json", bodies)
        alone = read_session(_write(tmp_path / "last.json", bodies[-1]))
        assert read_session(path).events == alone.events

    def test_a_json_file_of_two_conversations_is_refused(self, tmp_path):
        """A ``.json`` file is one session: two conversations in it are an error."""
        rows = [_body("First question?"), _body("Another question?")]
        path = _jsonl(tmp_path / "two.json", rows)
        with pytest.raises(SessionLogError, match=r"two.json: 2 conversations"):
            read_session(path)


def _conversation(steps: list[Any], typed: bool, opening: str) -> list[dict[str, Any]]:
    items = _as_items(None, steps, typed=typed, reasoning=False)
    return [{"role": "user", "content": opening}, *items]


@given(
    instructions=st.none() | st.text("abc ", min_size=1, max_size=20),
    developer=st.booleans(),
    steps=_steps,
    typed=st.booleans(),
    data=st.data(),
)
def test_the_prefixes_of_a_conversation_chain_into_it(
    tmp_path_factory, instructions, developer, steps, typed, data
):
    """A log of any prefixes of one conversation (each holding at least one item
    past its developer message) is one session, the one its last body is alone."""
    items = _conversation(steps, typed, "Where is my order?")
    lead = 0
    if developer:
        items = [{"role": "developer", "content": "Use the tools."}, *items]
        lead = 1
    ends = data.draw(
        st.lists(st.integers(lead + 1, len(items)), min_size=1, unique=True).map(sorted)
    )
    bodies = [_body(items[:end], instructions=instructions) for end in ends]
    _check_sdk(bodies)
    folder = tmp_path_factory.mktemp("log")
    log = _jsonl(folder / "log.jsonl", bodies)
    (ref,) = iter_sessions([log])
    session = read_line(ref) if isinstance(ref, Line) else read_session(ref)
    alone = read_session(_write(folder / "last.json", bodies[-1]))
    assert session.events == alone.events


@given(
    steps=st.tuples(_steps, _steps),
    typed=st.booleans(),
    schedule=st.lists(st.booleans(), max_size=40),
    data=st.data(),
)
def test_interleaved_conversations_are_told_apart(
    tmp_path_factory, steps, typed, schedule, data
):
    """The prefix logs of two conversations that open differently, interleaved
    in any order, are two sessions, each its last body's."""
    convs = [
        _conversation(steps[0], typed, "Conversation A: where is order A-1?"),
        _conversation(steps[1], typed, "Conversation B: where is order B-2?"),
    ]
    logs = []
    for conv in convs:
        ends = data.draw(
            st.lists(st.integers(1, len(conv)), min_size=1, unique=True).map(sorted)
        )
        logs.append([_body(conv[:end]) for end in ends])
    rows: list[dict[str, Any]] = []
    firsts: list[int] = []
    at = [0, 0]
    for pick in [*schedule, *[False] * len(logs[0]), *[True] * len(logs[1])]:
        side = int(pick)
        if at[side] < len(logs[side]):
            if at[side] == 0:
                firsts.append(side)
            rows.append(logs[side][at[side]])
            at[side] += 1
    folder = tmp_path_factory.mktemp("log")
    log = _jsonl(folder / "log.jsonl", rows)
    refs = list(iter_sessions([log]))
    assert len(refs) == 2
    for ref, side in zip(refs, firsts, strict=True):
        assert isinstance(ref, Line)
        alone = read_session(_write(folder / "last.json", logs[side][-1]))
        assert read_line(ref).events == alone.events


# -- malformed bodies ------------------------------------------------------------


class TestErrors:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"input": 42}, r"input must be a string or a list of items, got int"),
            ({"input": ["hi"]}, r"input\[0\] must be an item object"),
            (
                {"input": [{"content": "no role"}]},
                r"input\[0\] has neither a type nor a role",
            ),
            (
                {"input": "hi", "instructions": ["a", "b"]},
                r"instructions must be a string, got list",
            ),
            ({"input": []}, r"a Responses request body with no input items"),
        ],
    )
    def test_a_malformed_body_is_named(self, tmp_path, body, message):
        """Each malformed body gets an error naming the file and what is wrong."""
        path = _write(tmp_path / "bad.json", body)
        with pytest.raises(SessionLogError, match=r"bad.json: .*" + message):
            read_session(path)

    def test_a_malformed_line_of_a_request_log_is_named(self, tmp_path):
        """The line's number is in the error, and nothing else is read."""
        rows = [json.dumps(b) for b in _requests(WEATHER)]
        rows.insert(2, json.dumps({"model": "gpt-4.1", "input": {"role": "user"}}))
        log = tmp_path / "proxy.jsonl"
        log.write_text("\n".join(rows) + "\n", encoding="utf-8")
        with pytest.raises(
            SessionLogError, match=r"proxy.jsonl: line 3: a Responses request body's"
        ):
            list(iter_sessions([log]))

    def test_a_line_that_is_no_body_in_a_request_log_is_named(self, tmp_path):
        """A line that holds no request body stops the request log, named."""
        rows = [json.dumps(b) for b in _requests(WEATHER)]
        rows.insert(2, '{"model": "gpt-4.1"}')
        log = tmp_path / "proxy.jsonl"
        log.write_text("\n".join(rows) + "\n", encoding="utf-8")
        with pytest.raises(SessionLogError, match=r"proxy.jsonl: line 3 is not"):
            list(iter_sessions([log]))

    def test_a_bad_line_of_a_json_log_is_named(self, tmp_path):
        """In a ``.json`` file of bodies, the error names the bad line and item."""
        rows = [_body("Hi!"), _body([{"role": "user", "content": "Hi!"}, 7])]
        path = _jsonl(tmp_path / "log.json", rows)
        with pytest.raises(SessionLogError, match=r"log.json: line 2: input\[1\]"):
            read_session(path)

    def test_a_bad_record_of_a_json_array_of_bodies_is_named(self, tmp_path):
        """A JSON array of bodies reads as a JSONL log of them, by record."""
        bodies = _requests(WEATHER)
        path = _write(tmp_path / "log.json", bodies)
        alone = read_session(_write(tmp_path / "last.json", bodies[-1]))
        assert read_session(path).events == alone.events
        bad = _write(tmp_path / "bad.json", [bodies[0], {"input": "x", "role": 1}])
        with pytest.raises(SessionLogError, match=r"bad.json: record 2 is not a"):
            read_session(bad)

    def test_the_cli_says_which_line(self, tmp_path, capsys):
        """The command fails with the ``file:line`` of the bad conversation."""
        rows = [_body("Hi!"), {"model": "gpt-4.1", "input": None}]
        log = _jsonl(tmp_path / "bad.jsonl", rows)
        assert main(["simulate", str(log), "--budget", "2000"]) == 1
        assert "bad.jsonl:2" in capsys.readouterr().err
