import json
from pathlib import Path

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.exceptions import (
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    SessionLogError,
)
from ctxchunk.session import (
    DocumentEvent,
    InstructionsEvent,
    InterruptEvent,
    ProbeEvent,
    RequestEvent,
    Session,
    ToolCallEvent,
    TurnEvent,
    WordTiming,
    dump_session,
    load_session,
    session_from_chat_messages,
    session_from_realtime_events,
)

EXAMPLES = Path(__file__).parent.parent / "examples" / "sessions"

EVERY_TYPE = [
    '{"type": "instructions", "t_ms": 0, "text": "You are a helpful agent."}',
    '{"type": "turn", "t_ms": 10, "id": "u1", "role": "user", "text": "Hi",'
    ' "speaker": "Ana"}',
    '{"type": "turn", "t_ms": 20, "id": "a1", "role": "assistant", "text": "Hello'
    ' there", "words": [{"word": "Hello", "start_ms": 0, "end_ms": 300},'
    ' {"word": "there", "start_ms": 300, "end_ms": 600}]}',
    '{"type": "interrupt", "t_ms": 25, "item": "a1", "heard_ms": 310}',
    '{"type": "document", "t_ms": 30, "id": "doc", "url": "https://example.org/",'
    ' "title": "Example", "content": "<p>Body</p>", "format": "html"}',
    '{"type": "tool_call", "t_ms": 40, "name": "lookup", "arguments": {"q": "x"},'
    ' "result": "42", "call_id": "call_1"}',
    '{"type": "request", "t_ms": 50}',
    '{"type": "probe", "t_ms": 60, "needle": "Body", "introduced": "doc"}',
    '{"type": "probe", "t_ms": 61, "needle": "Hi", "introduced": 1}',
]


class TestLoadSession:
    def test_reads_every_event_type(self):
        """Each documented event type loads into its model, in order."""
        session = load_session(EVERY_TYPE)
        types = [type(e) for e in session.events]
        assert types == [
            InstructionsEvent,
            TurnEvent,
            TurnEvent,
            InterruptEvent,
            DocumentEvent,
            ToolCallEvent,
            RequestEvent,
            ProbeEvent,
            ProbeEvent,
        ]
        turn = session.events[2]
        assert isinstance(turn, TurnEvent)
        assert turn.words == (
            WordTiming(word="Hello", start_ms=0, end_ms=300),
            WordTiming(word="there", start_ms=300, end_ms=600),
        )
        call = session.events[5]
        assert isinstance(call, ToolCallEvent)
        assert call.arguments_json == '{"q": "x"}'

    def test_reads_a_file_and_names_the_session_after_it(self, tmp_path):
        """A path is read as a file and the session is named after its stem."""
        path = tmp_path / "call-42.jsonl"
        path.write_text("\n".join(EVERY_TYPE) + "\n\n", encoding="utf-8")
        session = load_session(path)
        assert session.name == "call-42"
        assert len(session) == len(EVERY_TYPE)

    def test_bad_json_names_its_line(self):
        """A line that is not JSON is reported with its 1-based line number."""
        lines = [*EVERY_TYPE[:3], "{not json", *EVERY_TYPE[3:]]
        with pytest.raises(SessionLogError, match=r"line 4: not JSON"):
            load_session(lines)

    def test_unknown_type_and_missing_field_name_their_lines(self):
        """Schema errors name the line and the field, and every bad line is counted."""
        lines = [
            EVERY_TYPE[0],
            '{"type": "shout", "t_ms": 1}',
            '{"type": "turn", "t_ms": 2, "role": "user"}',
        ]
        with pytest.raises(SessionLogError) as info:
            load_session(lines)
        message = str(info.value)
        assert "2 bad line(s); nothing was loaded" in message
        assert "line 2:" in message
        assert "line 3: turn.text: Field required" in message

    def test_blank_lines_keep_line_numbers(self):
        """Blank lines are skipped but still counted in line numbers."""
        lines = [EVERY_TYPE[0], "", "   ", '{"type": "turn", "t_ms": 1, "role": "x"}']
        with pytest.raises(SessionLogError, match=r"line 4: turn\.role"):
            load_session(lines)

    def test_time_going_backwards_is_an_error(self):
        """t_ms must never decrease; the later line is blamed."""
        lines = ['{"type": "request", "t_ms": 100}', '{"type": "request", "t_ms": 99}']
        with pytest.raises(SessionLogError, match=r"line 2: t_ms=99 goes back"):
            load_session(lines)

    def test_interrupt_must_name_an_earlier_assistant_turn(self):
        """An interrupt of an unknown item or of a user turn is rejected."""
        unknown = ['{"type": "interrupt", "t_ms": 0, "item": "nope", "heard_ms": 1}']
        with pytest.raises(SessionLogError, match=r"line 1: interrupt names"):
            load_session(unknown)
        user = [
            EVERY_TYPE[1],
            '{"type": "interrupt", "t_ms": 11, "item": "u1", "heard_ms": 1}',
        ]
        with pytest.raises(SessionLogError, match=r"line 2: .*only an assistant"):
            load_session(user)

    def test_probe_must_name_an_earlier_event(self):
        """A probe's `introduced` must be an earlier index or id."""
        lines = [
            EVERY_TYPE[1],
            '{"type": "probe", "t_ms": 11, "needle": "Hi", "introduced": 1}',
        ]
        with pytest.raises(SessionLogError, match=r"line 2: probe introduced=1"):
            load_session(lines)

    def test_duplicate_ids_are_rejected(self):
        """Two events with the same id make the log ambiguous."""
        with pytest.raises(SessionLogError, match=r"line 2: id='u1' is already"):
            load_session(
                [EVERY_TYPE[1], EVERY_TYPE[1].replace('"t_ms": 10', '"t_ms": 11')]
            )

    def test_unreadable_file(self, tmp_path):
        """A missing file is a SessionLogError, also catchable as ValueError."""
        with pytest.raises(SessionLogError, match="cannot read the session log"):
            load_session(tmp_path / "missing.jsonl")
        with pytest.raises(ValueError, match="cannot read"):
            load_session(tmp_path / "missing.jsonl")

    @pytest.mark.parametrize(
        ("line", "match"),
        [
            (
                '{"type": "tool_call", "t_ms": 0, "name": "f", "arguments": '
                '{"limit": NaN}, "result": "ok"}',
                r"line 1: not JSON \(NaN is not a JSON value\)",
            ),
            (
                '{"type": "request", "t_ms": Infinity}',
                r"line 1: not JSON \(Infinity is not a JSON value\)",
            ),
            (
                '{"type": "turn", "t_ms": 0, "role": "user", "text": "hi", '
                '"speaker": "An\\ud800"}',
                r"line 1: turn.speaker: holds a lone surrogate \(U\+D800\) at "
                r"offset 2",
            ),
            (
                '{"type": "tool_call", "t_ms": 0, "name": "\\ud800", '
                '"arguments": "{}", "result": "ok"}',
                "line 1: tool_call.name: holds a lone surrogate",
            ),
            (
                '{"type": "tool_call", "t_ms": 0, "name": "f", '
                '"arguments": {"q": "\\udc00"}, "result": "ok"}',
                "line 1: tool_call.arguments.*: holds a lone surrogate",
            ),
        ],
    )
    def test_values_that_cannot_be_written_back(self, line, match):
        """NaN, Infinity and lone surrogates (legal escapes, but not writable as
        UTF-8 JSON) are refused with their line, so dump_session never fails."""
        with pytest.raises(SessionLogError, match=match):
            load_session([line])

    @pytest.mark.parametrize("source", [None, 3, {"a": 1}, b"{}", [3]])
    def test_wrong_source_type(self, source):
        """Anything but a path or str lines is an InvalidTypeError naming the log."""
        with pytest.raises(InvalidTypeError, match="session log"):
            load_session(source)

    def test_a_line_that_is_not_str_is_named_by_index(self):
        """A non-str among the lines is an InvalidTypeError naming its index."""
        lines = ['{"type": "request", "t_ms": 0}', 3]
        with pytest.raises(
            InvalidTypeError, match=r"session log lines\[1\] must be str"
        ):
            load_session(lines)

    def test_path_the_os_cannot_take(self, tmp_path):
        """A path holding a lone surrogate or a NUL cannot be read: SessionLogError."""
        for name in ("s\ud800.jsonl", "s\x00.jsonl"):
            with pytest.raises(SessionLogError, match="cannot read the session log"):
                load_session(str(tmp_path / name))

    def test_errors_are_ctxchunk_errors(self):
        """SessionLogError belongs to the library's hierarchy."""
        assert issubclass(SessionLogError, CtxChunkError)


def _read_the_long_way(line):
    """The event ``json.loads`` and then the event models make of a line, or None."""
    from ctxchunk._checks import load_json
    from ctxchunk.session import _EVENT

    try:
        data = load_json(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return _EVENT.validate_python(data)
    except pydantic.ValidationError:
        return None


# Pieces of JSON, and of what is almost JSON, that an edit puts in a line.
_EDITS = st.sampled_from(
    [*'{}[]",:0123456789-+.eE \t', "\\", "\\u", "\\ud800", "\\ud83d\\ude00",
     "\ud800", "\ufeff", "\x0c", "\xa0", "\x00", "NaN", "Infinity", "-0", "1e400",
     "null", "true", "99999999999999999999", '"text": "x"', '"id": "u1"', "\n"]
)  # fmt: skip


@st.composite
def edited_lines(draw):
    """Draw a session log line (one of every event type) with a few random edits:
    characters inserted or removed, escapes, NaN, numbers too large, BOMs,
    duplicate keys."""
    line = draw(st.sampled_from([*EVERY_TYPE, *EVERY_TYPE[1:3]]))
    for _ in range(draw(st.integers(0, 3))):
        # Edits at the ends and next to JSON's own characters, half of the time.
        marks = [i for i, c in enumerate(line) if c in '{}[],:"']
        at = draw(st.sampled_from([0, len(line), *marks]) | st.integers(0, len(line)))
        if draw(st.booleans()):
            line = line[:at] + draw(_EDITS) + line[at:]
        else:
            line = line[:at] + line[at + draw(st.integers(1, 4)) :]
    return line


class TestReadEvent:
    @given(edited_lines())
    def test_reads_a_line_as_json_loads_and_the_models_do(self, line):
        """A line gives the very event json.loads and the event models make of it,
        and an error exactly when they make none."""
        from ctxchunk.session import _read_event

        expected = _read_the_long_way(line)
        read = _read_event(line)
        if expected is None:
            assert isinstance(read, str)
        else:
            assert read == expected
            assert type(read) is type(expected)

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ('{"type": "request", "t_ms": 1, "t_ms": 2}', RequestEvent(t_ms=2)),
            (
                '{"type": "tool_call", "t_ms": 0, "name": "f", "arguments": '
                '{"n": 0.30000000000000004, "big": 123456789012345678901234567890},'
                ' "result": "ok"}',
                ToolCallEvent(
                    t_ms=0,
                    name="f",
                    arguments={
                        "n": 0.30000000000000004,
                        "big": 123456789012345678901234567890,
                    },
                    result="ok",
                ),
            ),
            ('\ufeff{"type": "request", "t_ms": 1}', None),
            ('{"type": "request", "t_ms": 1,}', None),
            ('{"type": "request", "t_ms": 1e2}', None),
        ],
    )
    def test_edge_cases(self, line, expected):
        """The last of two equal keys wins, numbers keep every digit, and a BOM, a
        trailing comma or a float time is refused, as json.loads would have it."""
        from ctxchunk.session import _read_event

        assert _read_the_long_way(line) == expected
        read = _read_event(line)
        assert read == expected if expected is not None else isinstance(read, str)


class TestDumpSession:
    def test_round_trip(self, tmp_path):
        """dump then load gives back an equal session."""
        session = load_session(EVERY_TYPE, name="demo")
        path = tmp_path / "demo.jsonl"
        text = dump_session(session, path)
        assert path.read_text(encoding="utf-8") == text
        assert load_session(path) == session
        assert load_session(text.splitlines(), name="demo") == session

    def test_lines_start_with_type_and_time_and_omit_defaults(self):
        """Each line leads with type and t_ms and leaves None fields out."""
        text = dump_session(Session([TurnEvent(t_ms=3, role="user", text="hey")]))
        assert text == '{"type": "turn", "t_ms": 3, "role": "user", "text": "hey"}\n'

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["user", "assistant"]),
                st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
                st.integers(0, 10_000),
            ),
            max_size=15,
        )
    )
    def test_round_trip_random_turns(self, turns):
        """Any sequence of turns survives a round trip through JSONL (text without
        lone surrogates, which a session refuses)."""
        t = 0
        events = []
        for role, text, step in turns:
            t += step
            events.append(TurnEvent(t_ms=t, role=role, text=text))
        session = Session(events)
        assert load_session(dump_session(session).splitlines()) == session

    def test_arguments_object_is_written_as_standard_json(self):
        """An arguments object is carried as standard JSON text."""
        event = ToolCallEvent(
            t_ms=0, name="f", arguments={"b": 1.5, "a": [None]}, result="ok"
        )
        assert event.arguments_json == '{"a": [null], "b": 1.5}'

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}])
    def test_arguments_object_must_be_json(self, value):
        """NaN, infinities and non-JSON values in an arguments object are refused
        where the event is made, naming the arguments."""
        with pytest.raises(ValueError, match="arguments"):
            ToolCallEvent(t_ms=0, name="f", arguments={"x": value}, result="ok")

    def test_wrong_types(self, tmp_path):
        """dump_session and Session name the argument that has the wrong type."""
        session = Session([RequestEvent(t_ms=0)])
        with pytest.raises(InvalidTypeError, match="session must be a Session"):
            dump_session("not a session")
        with pytest.raises(InvalidTypeError, match="path must be"):
            dump_session(session, 3)
        with pytest.raises(SessionLogError, match="cannot write"):
            dump_session(session, str(tmp_path / "s\ud800.jsonl"))
        with pytest.raises(InvalidTypeError, match="events must be a list"):
            Session(None)
        with pytest.raises(InvalidTypeError, match=r"events\[0\] must be"):
            Session([{"type": "request", "t_ms": 0}])
        with pytest.raises(InvalidTypeError, match="name must be a str"):
            Session([], name=3)
        with pytest.raises(InvalidArgumentError, match=r"name=.* lone surrogate"):
            Session([], name="\ud800")

    def test_session_checks_its_invariants(self):
        """Building a Session directly enforces the cross-event rules too."""
        with pytest.raises(SessionLogError, match="event 1: t_ms=1 goes back"):
            Session([RequestEvent(t_ms=5), RequestEvent(t_ms=1)])


class TestChatImport:
    def test_messages_with_tool_calls(self, tmp_path):
        """System, turns, tool calls with their results, and a request per reply."""
        messages = [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "-3 C"},
            {"role": "assistant", "content": "Cold: -3 C."},
        ]
        path = tmp_path / "chat.json"
        path.write_text(json.dumps({"messages": messages}), encoding="utf-8")
        session = session_from_chat_messages(path)
        assert session.name == "chat"
        assert [e.type for e in session.events] == [
            "instructions",
            "turn",
            "request",
            "tool_call",
            "request",
            "turn",
        ]
        call = session.events[3]
        assert isinstance(call, ToolCallEvent)
        assert (call.name, call.arguments, call.result, call.call_id) == (
            "weather",
            '{"city":"Oslo"}',
            "-3 C",
            "call_1",
        )
        assert [e.t_ms for e in session.events] == [0, 1000, 2000, 3000, 4000, 5000]

    def test_unknown_role(self):
        """A message with an unknown role is reported with its index."""
        with pytest.raises(SessionLogError, match="message 0: unknown role 'robot'"):
            session_from_chat_messages([{"role": "robot", "content": "beep"}])

    @staticmethod
    def _call(arguments):
        call = {"id": "c1", "type": "function"}
        call["function"] = {"name": "plot", "arguments": arguments}
        return [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ]

    def test_arguments_given_as_an_object_stay_json(self):
        """Arguments logged as an object become JSON text, never Python's repr."""
        arguments = {"x": 1.5, "label": "café", "flags": [True, None]}
        session = session_from_chat_messages(self._call(arguments))
        (call,) = [e for e in session.events if isinstance(e, ToolCallEvent)]
        assert json.loads(call.arguments_json) == arguments

    def test_arguments_of_another_type_are_refused(self):
        """Arguments that are neither text nor an object are a SessionLogError."""
        with pytest.raises(SessionLogError, match="message 0: a call's arguments"):
            session_from_chat_messages(self._call([1, 2]))

    def test_arguments_object_holding_nan_is_refused(self):
        """An arguments object holding NaN cannot be sent on as JSON text."""
        with pytest.raises(SessionLogError, match="NaN"):
            session_from_chat_messages(self._call({"x": float("nan")}))

    def test_arguments_text_holding_nan_is_passed_on(self):
        """Arguments given as text are passed on as they are, like the window does."""
        session = session_from_chat_messages(self._call('{"x": NaN}'))
        (call,) = [e for e in session.events if isinstance(e, ToolCallEvent)]
        assert call.arguments_json == '{"x": NaN}'

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_a_file_holding_nan_is_refused(self, tmp_path, constant):
        """NaN and Infinity are not JSON: a file holding one is a SessionLogError."""
        path = tmp_path / "chat.json"
        path.write_text(
            '[{"role": "user", "content": "Hi", "temperature": ' + constant + "}]",
            encoding="utf-8",
        )
        with pytest.raises(SessionLogError, match=f"{constant} is not a JSON value"):
            session_from_chat_messages(path)
        lines = '{"role": "user", "content": "Hi"}\n{"role": "user", "x": NaN}\n'
        path.write_text(lines, encoding="utf-8")
        with pytest.raises(SessionLogError, match="line 2: not standard JSON"):
            session_from_chat_messages(path)

    def test_fixture_file(self):
        """The shared Chat fixture imports into a valid session."""
        fixture = Path(__file__).parent / "fixtures" / "chat_support_session.json"
        session = session_from_chat_messages(fixture)
        assert any(e.type == "tool_call" for e in session.events)
        assert any(e.type == "request" for e in session.events)


class TestRealtimeImport:
    def test_voice_conversation_with_truncation(self):
        """Items, late transcripts, calls, truncation and responses become events."""
        events = [
            {"type": "session.update", "session": {"instructions": "Be kind."}},
            {"type": "session.updated", "session": {"instructions": "Be kind."}},
            {
                "type": "conversation.item.created",
                "item": {
                    "id": "item_u1",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_audio", "transcript": None}],
                },
            },
            {"type": "response.create"},
            {"type": "response.created", "response": {"id": "resp_1"}},
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": "item_u1",
                "content_index": 0,
                "transcript": "Book a table",
            },
            {
                "type": "response.output_item.done",
                "response_id": "resp_1",
                "output_index": 0,
                "item": {
                    "id": "item_c1",
                    "type": "function_call",
                    "call_id": "call_9",
                    "name": "book",
                    "arguments": '{"n":2}',
                },
            },
            {
                "type": "conversation.item.create",
                "item": {
                    "id": "item_o1",
                    "type": "function_call_output",
                    "call_id": "call_9",
                    "output": "booked",
                },
            },
            {"t_ms": 5000, "event": {"type": "response.created", "response": {}}},
            {
                "type": "response.output_item.done",
                "item": {
                    "id": "item_a1",
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "output_audio", "transcript": "Done, a table for two."}
                    ],
                },
            },
            {
                "type": "conversation.item.truncated",
                "item_id": "item_a1",
                "content_index": 0,
                "audio_end_ms": 800,
            },
        ]
        session = session_from_realtime_events(events)
        summary = [
            (e.type, getattr(e, "text", None) or getattr(e, "name", None))
            for e in session.events
        ]
        assert summary == [
            ("instructions", "Be kind."),
            ("turn", "Book a table"),
            ("request", None),
            ("tool_call", "book"),
            ("request", None),
            ("turn", "Done, a table for two."),
            ("interrupt", None),
        ]
        interrupt = session.events[-1]
        assert isinstance(interrupt, InterruptEvent)
        assert (interrupt.item, interrupt.heard_ms) == ("item_a1", 800)
        assert session.events[4].t_ms == 5000
        assert session.events[5].t_ms == 5100

    def test_untranscribed_audio_is_a_placeholder_turn(self):
        """A user item whose transcript never arrives is still a turn: the user
        spoke. Its text is the audio's placeholder (ctxchunk._wire_read)."""
        events = [
            {
                "type": "conversation.item.added",
                "item": {
                    "id": "item_1",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_audio"}],
                },
            },
            {"type": "response.created", "response": {}},
        ]
        session = session_from_realtime_events(events)
        assert [e.type for e in session.events] == ["turn", "request"]
        assert session.events[0].text == "[audio: input_audio · no transcript]"

    def test_jsonl_file(self, tmp_path):
        """A JSONL file of events is read line by line."""
        path = tmp_path / "rt.jsonl"
        lines = [
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hello"}],
                },
            },
            {"type": "response.create"},
        ]
        path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
        session = session_from_realtime_events(path)
        assert [e.type for e in session.events] == ["turn", "request"]
        assert session.name == "rt"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.jsonl")), ids=lambda p: p.name)
def test_example_sessions_load(path):
    """Every shipped example session is a valid session log with probes."""
    session = load_session(path)
    assert any(e.type == "probe" for e in session.events)
    assert any(e.type == "request" for e in session.events)


def _call_line(t_ms, call_id, batch=None):
    event = {
        "type": "tool_call",
        "t_ms": t_ms,
        "name": "lookup",
        "arguments": "{}",
        "result": f"result of {call_id}",
        "call_id": call_id,
    }
    if batch is not None:
        event["batch"] = batch
    return json.dumps(event)


def _batch_calls(plan):
    """Events for ``plan``: a request, or the calls of one step named by a batch."""
    events = []
    for t_ms, (batch, calls) in enumerate(plan):
        if calls == 0:
            events.append(RequestEvent(t_ms=t_ms))
        events.extend(
            ToolCallEvent(
                t_ms=t_ms,
                name="lookup",
                arguments={"k": k},
                result=f"result {t_ms}.{k}",
                call_id=f"call_{t_ms}_{k}",
                batch=batch,
            )
            for k in range(calls)
        )
    return events


class TestBatches:
    def test_round_trip_keeps_batch(self):
        """A call's batch is written back and read again."""
        lines = [_call_line(0, "c1", "s1"), _call_line(0, "c2", "s1")]
        session = load_session(lines)
        assert [e.batch for e in session.events] == ["s1", "s1"]
        assert dump_session(session).splitlines() == lines

    @pytest.mark.parametrize(
        "path", sorted(EXAMPLES.glob("*.jsonl")), ids=lambda p: p.name
    )
    def test_logs_without_batches_dump_as_before(self, path):
        """A call without a batch has no batch key: logs dump byte for byte."""
        assert dump_session(load_session(path)) == path.read_text(encoding="utf-8")
        assert '"batch"' not in _call_line(0, "c1")
        text = dump_session(
            Session([ToolCallEvent(t_ms=0, name="f", arguments="{}", result="r")])
        )
        assert "batch" not in text

    def test_calls_of_a_batch_must_be_consecutive(self):
        """A batch split by another event is refused, naming the batch, the line
        and where the batch began."""
        lines = [
            _call_line(0, "c1", "s1"),
            '{"type": "request", "t_ms": 1}',
            _call_line(2, "c2", "s1"),
        ]
        with pytest.raises(
            SessionLogError,
            match=r"line 3: tool_call of batch='s1' is not next to the batch's "
            r"other calls \(it starts at event 0, and event 1 just before this one "
            r"is a request outside it\)",
        ):
            load_session(lines)
        with pytest.raises(SessionLogError, match=r"event 2: tool_call of batch='s1'"):
            Session(_batch_calls([("s1", 1), (None, 0), ("s1", 1)]))
        with pytest.raises(SessionLogError, match=r"event 2: .*a tool_call outside"):
            Session(_batch_calls([("s1", 1), ("s2", 1), ("s1", 1)]))

    def test_call_ids_of_a_batch_are_distinct(self):
        """Two calls of one step with the same id are refused; across steps they are
        fine."""
        with pytest.raises(
            SessionLogError, match=r"line 2: call_id='c1' is used twice"
        ):
            load_session([_call_line(0, "c1", "s1"), _call_line(0, "c1", "s1")])
        session = load_session([_call_line(0, "c1", "s1"), _call_line(0, "c1", "s2")])
        assert len(session) == 2

    def test_batch_is_a_non_empty_string(self):
        """An empty or non-string batch is refused where the line is read."""
        with pytest.raises(SessionLogError, match=r"line 1: tool_call\.batch"):
            load_session([_call_line(0, "c1", "")])
        with pytest.raises(SessionLogError, match=r"line 1: tool_call\.batch"):
            load_session([_call_line(0, "c1", 3)])

    @given(
        st.lists(
            st.tuples(st.sampled_from([None, "a", "b", "c"]), st.integers(0, 3)),
            max_size=12,
        )
    )
    def test_accepted_exactly_when_every_batch_is_one_run(self, plan):
        """A session is accepted exactly when each batch's calls are one run of
        consecutive events (the obvious check, by indexes), and it then survives a
        round trip through JSONL."""
        events = _batch_calls(plan)
        where: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            if isinstance(event, ToolCallEvent) and event.batch is not None:
                where.setdefault(event.batch, []).append(index)
        runs = all(ix == list(range(ix[0], ix[-1] + 1)) for ix in where.values())
        if runs:
            session = Session(events)
            assert load_session(dump_session(session).splitlines()) == session
        else:
            with pytest.raises(SessionLogError, match="is not next to the batch"):
                Session(events)
