"""Tests for ctxchunk.transcript: formats, splitting, provenance and errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.chunk import Chunk, make_chunk_id
from ctxchunk.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    TranscriptError,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import get_tokenizer
from ctxchunk.transcript import chunk_transcript
from tests.strategies import (
    Transcript,
    max_tokens,
    prose,
    transcripts,
    turn_texts,
)

FIXTURES = Path(__file__).parent / "fixtures"
O200K = get_tokenizer("o200k_base")


def _load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _by_source(chunks):
    """Group chunks by source, in the order sources first appear."""
    groups: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        groups.setdefault(chunk.source, []).append(chunk)
    return groups


def _check_against(transcript: Transcript, chunks, bound):
    """Check chunks against what the transcript strategy says they must be."""
    groups = _by_source(chunks)
    assert list(groups) == [e.source for e in transcript.expected]
    # Chunks of one source are contiguous: a turn is never interleaved with another.
    sources = [c.source for c in chunks]
    assert sources == [s for s, _ in itertools.groupby(sources) for _ in groups[s]]
    for exp in transcript.expected:
        group = groups[exp.source]
        assert "".join(c.text for c in group) == exp.text
        assert [c.part for c in group] == list(range(len(group)))
        for chunk in group:
            assert chunk.parts == len(group)
            assert (chunk.role, chunk.kind) == (exp.role, exp.kind)
            assert chunk.meta.call_id == exp.call_id
            assert chunk.meta.tool_name == exp.tool_name
            assert chunk.tokens == O200K.count(chunk.text) <= bound
            assert chunk.id == make_chunk_id(chunk.source, chunk.part, chunk.text)
        if len(group) > 1:
            assert all(c.text for c in group)


class TestProperties:
    @given(transcripts(), max_tokens())
    def test_chunks_cover_each_turn_within_the_bound(self, transcript, bound):
        """Each turn's chunks concatenate to its text, in order, with its role,
        kind and call id; each chunk is within the bound, recounted exactly."""
        chunks = chunk_transcript(transcript.turns, bound)
        _check_against(transcript, chunks, bound)

    @given(transcripts(), max_tokens())
    def test_ids_unique_and_deterministic(self, transcript, bound):
        """Chunk ids are unique within a transcript and the same on every run."""
        first = chunk_transcript(transcript.turns, bound)
        again = chunk_transcript(json.loads(json.dumps(transcript.turns)), bound)
        assert first == again
        assert len({c.id for c in first}) == len(first)

    @given(transcripts(), max_tokens())
    def test_a_turn_that_fits_is_one_chunk(self, transcript, bound):
        """A turn whose text fits the bound is never split."""
        groups = _by_source(chunk_transcript(transcript.turns, bound))
        for exp in transcript.expected:
            if O200K.count(exp.text) <= bound:
                assert len(groups[exp.source]) == 1

    @given(transcripts(formats=("chat", "realtime")), max_tokens())
    def test_calls_and_results_share_call_id(self, transcript, bound):
        """Every tool result has the call_id of a tool call earlier in the list."""
        seen: set[str | None] = set()
        for chunk in chunk_transcript(transcript.turns, bound):
            if chunk.kind is Kind.TOOL_CALL:
                seen.add(chunk.meta.call_id)
            elif chunk.kind is Kind.TOOL_RESULT:
                assert chunk.meta.call_id in seen

    @given(transcripts(), max_tokens())
    def test_json_round_trip(self, transcript, bound):
        """Every chunk a transcript yields survives JSON unchanged."""
        for chunk in chunk_transcript(transcript.turns, bound):
            assert Chunk.from_json(chunk.to_json()) == chunk

    @given(
        transcripts(formats=("chat", "plain")),
        st.data(),
        st.sampled_from(
            [
                {"role": "user", "content": ""},
                {"role": "robot", "content": "hi"},
                {"role": "user", "text": "   "},
                {"role": "user", "text": 5},
                {"role": "user"},
                {"type": "reasoning", "summary": []},
                {"type": "message", "role": "user", "content": [{"type": "hologram"}]},
                {"role": "tool", "content": "orphan without tool_call_id"},
                "just a string",
            ]
        ),
    )
    def test_errors_name_the_turn_index(self, transcript, data, bad):
        """A bad turn anywhere in a transcript is reported by its index."""
        index = data.draw(st.integers(0, len(transcript.turns)), label="index")
        turns = [*transcript.turns[:index], bad, *transcript.turns[index:]]
        with pytest.raises(TranscriptError, match=rf"^turn {index}: "):
            chunk_transcript(turns, 50)


class TestChatCompletions:
    def test_support_session_fixture(self):
        """A real-looking support chat: developer prompt, parallel tool calls, a
        fetched help page, content-part arrays and names."""
        messages = _load("chat_support_session.json")
        chunks = chunk_transcript(messages)
        summary = [(c.source, c.kind.value, c.role.value) for c in chunks]
        assert summary == [
            ("turn-0", "instruction", "system"),
            ("turn-1", "turn", "user"),
            ("turn-2", "turn", "assistant"),
            ("turn-2.call-0", "tool_call", "tool"),
            ("turn-2.call-1", "tool_call", "tool"),
            ("turn-3", "tool_result", "tool"),
            ("turn-4", "tool_result", "tool"),
            ("turn-5", "turn", "assistant"),
            ("turn-6", "turn", "user"),
            ("turn-7.call-0", "tool_call", "tool"),
            ("turn-8", "tool_result", "tool"),
            ("turn-9", "turn", "assistant"),
            ("turn-10", "turn", "user"),
            ("turn-11", "turn", "assistant"),
        ]
        by_source = {c.source: c for c in chunks}
        assert by_source["turn-1"].meta.speaker == "maria_k"
        assert by_source["turn-6"].text == "A refund please.\nHow long will it take?"
        call = by_source["turn-2.call-1"]
        assert call.meta.tool_name == "fetch_help_page"
        assert call.text == '{"url": "https://help.larkspur.example/returns"}'
        result = by_source["turn-4"]
        assert result.meta.call_id == call.meta.call_id == "call_Xa93kPq0Rt5Vn2"
        assert result.meta.tool_name == "fetch_help_page"
        assert result.text == messages[4]["content"][0]["text"]
        assert by_source["turn-3"].meta.tool_name == "get_order"

    def test_long_tool_result_is_split_and_parts_share_provenance(self):
        """The fetched page, over the bound, becomes parts with one source, role,
        kind and call id, covering the page in order."""
        messages = _load("chat_support_session.json")
        page = messages[4]["content"][0]["text"]
        chunks = [c for c in chunk_transcript(messages, 120) if c.source == "turn-4"]
        assert len(chunks) > 2
        assert "".join(c.text for c in chunks) == page
        assert {(c.role, c.kind, c.meta.call_id, c.parts) for c in chunks} == {
            (Role.TOOL, Kind.TOOL_RESULT, "call_Xa93kPq0Rt5Vn2", len(chunks))
        }
        assert all(c.tokens <= 120 for c in chunks)

    def test_system_and_developer_are_instructions(self):
        """system and developer messages become system instructions."""
        chunks = chunk_transcript(
            [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Cite."}]},
            ]
        )
        assert [(c.role, c.kind) for c in chunks] == [
            (Role.SYSTEM, Kind.INSTRUCTION),
            (Role.SYSTEM, Kind.INSTRUCTION),
        ]

    def test_refusal_and_audio_transcript(self):
        """Refusal parts and an audio reply's transcript are the assistant's text."""
        chunks = chunk_transcript(
            [
                {
                    "role": "assistant",
                    "content": [{"type": "refusal", "refusal": "I can't help."}],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "audio": {"id": "audio_1", "transcript": "Spoken reply."},
                },
            ]
        )
        assert [c.text for c in chunks] == ["I can't help.", "Spoken reply."]

    def test_legacy_function_call_and_result(self):
        """The deprecated function_call / function role pair still reads."""
        chunks = chunk_transcript(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "lookup", "arguments": '{"q": 1}'},
                },
                {"role": "function", "name": "lookup", "content": "found"},
            ]
        )
        assert [(c.kind, c.meta.tool_name, c.text) for c in chunks] == [
            (Kind.TOOL_CALL, "lookup", '{"q": 1}'),
            (Kind.TOOL_RESULT, "lookup", "found"),
        ]

    def test_custom_tool_call(self):
        """A custom (free-form input) tool call reads its input as the text."""
        chunks = chunk_transcript(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_c",
                            "type": "custom",
                            "custom": {"name": "shell", "input": "ls -la"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_c", "content": "total 0"},
            ]
        )
        assert [(c.kind, c.text, c.meta.tool_name) for c in chunks] == [
            (Kind.TOOL_CALL, "ls -la", "shell"),
            (Kind.TOOL_RESULT, "total 0", "shell"),
        ]

    def test_empty_tool_output_is_kept(self):
        """An empty tool result is a chunk of 0 tokens, so its call is answered."""
        chunks = chunk_transcript(
            [
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "noop", "arguments": ""},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": ""},
            ]
        )
        assert [(c.kind, c.text, c.tokens) for c in chunks] == [
            (Kind.TOOL_CALL, "", 0),
            (Kind.TOOL_RESULT, "", 0),
        ]

    def test_result_of_a_call_from_an_earlier_instalment(self):
        """A result whose call is not in this list keeps its call_id (the window
        pairs it), with no tool name to borrow."""
        [chunk] = chunk_transcript(
            [{"role": "tool", "tool_call_id": "call_old", "content": "ok"}],
            first_index=12,
        )
        assert (chunk.meta.call_id, chunk.meta.tool_name) == ("call_old", None)
        assert chunk.source == "turn-12"

    def test_sdk_objects_are_read_through_model_dump(self):
        """Pydantic objects, such as the OpenAI SDK's messages, are accepted."""

        class Message(pydantic.BaseModel):
            role: str
            content: str | None = None
            refusal: str | None = None

        chunks = chunk_transcript([Message(role="user", content="hi")])
        assert [(c.role, c.text) for c in chunks] == [(Role.USER, "hi")]


class TestRealtimeAndResponses:
    def test_concierge_fixture(self):
        """GA Realtime items: sources are item ids, audio parts give transcripts,
        calls and outputs are paired, an incomplete reply is kept as heard."""
        items = _load("realtime_concierge_items.json")
        chunks = chunk_transcript(items)
        assert [c.source for c in chunks] == [item["id"] for item in items]
        assert [(c.role.value, c.kind.value) for c in chunks] == [
            ("system", "instruction"),
            ("user", "turn"),
            ("tool", "tool_call"),
            ("tool", "tool_result"),
            ("assistant", "turn"),
            ("user", "turn"),
            ("tool", "tool_call"),
            ("tool", "tool_result"),
            ("assistant", "turn"),
            ("user", "turn"),
        ]
        assert chunks[1].text == items[1]["content"][0]["transcript"]
        assert chunks[8].text.endswith("Your booking number is S P A")
        assert chunks[2].meta.call_id == chunks[3].meta.call_id == "call_h7R2dNwq9LzP"
        assert chunks[3].meta.tool_name == "get_opening_hours"
        assert chunks[7].text == items[7]["output"]

    def test_beta_content_types(self):
        """The Realtime beta's audio and text parts read like output_audio and
        output_text; parts of one message are joined with a newline."""
        chunks = chunk_transcript(_load("realtime_beta_items.json"))
        assert chunks[-1].text == (
            "It's twenty-two degrees and sunny in Lisbon.\n22 °C and sunny."
        )
        assert chunks[-1].role is Role.ASSISTANT

    def test_responses_fixture(self):
        """Responses input items: developer messages, string content, ids only on
        some items, and a function output given as content parts."""
        items = _load("responses_research_items.json")
        chunks = chunk_transcript(items)
        assert [(c.source, c.kind.value, c.role.value) for c in chunks] == [
            ("turn-0", "instruction", "system"),
            ("turn-1", "turn", "user"),
            ("fc_68a1c2e3f4", "tool_call", "tool"),
            ("turn-3", "tool_result", "tool"),
            ("msg_68a1c2f801", "turn", "assistant"),
        ]
        assert chunks[3].meta.tool_name == "open_url"
        assert chunks[3].text.startswith("Maximum Line Length.")

    def test_missing_transcript_is_a_placeholder(self):
        """An audio part without a transcript is kept as a placeholder, not an
        error: the transcript may come later, and the turn still happened."""
        items = [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        ]
        [chunk] = chunk_transcript(items)
        assert chunk.text == "[audio: input_audio · no transcript]"
        assert chunk.tokens == get_tokenizer(None).count(chunk.text)

    def test_custom_tool_call_items(self):
        """custom_tool_call items and their outputs pair like function calls."""
        chunks = chunk_transcript(
            [
                {
                    "type": "custom_tool_call",
                    "call_id": "c9",
                    "name": "sql",
                    "input": "select 1",
                },
                {"type": "custom_tool_call_output", "call_id": "c9", "output": "1"},
            ]
        )
        assert [(c.kind, c.meta.tool_name, c.meta.call_id) for c in chunks] == [
            (Kind.TOOL_CALL, "sql", "c9"),
            (Kind.TOOL_RESULT, "sql", "c9"),
        ]


class TestPlainTurns:
    def test_jsonl_fixture(self):
        """A JSONL file of plain turns: speaker and timing in meta, blank lines
        skipped, str and Path accepted alike."""
        path = FIXTURES / "voice_call_turns.jsonl"
        chunks = chunk_transcript(path)
        assert chunk_transcript(str(path)) == chunks
        assert len(chunks) == 6
        assert chunks[0].kind is Kind.INSTRUCTION
        assert chunks[2].role is Role.USER
        assert (chunks[2].meta.speaker, chunks[2].meta.start_ms) == ("caller", 4900)
        assert chunks[2].meta.end_ms == 10350

    def test_split_turn_keeps_speaker_and_times_on_every_part(self):
        """All parts of a long spoken turn carry the turn's speaker and times."""
        text = "word " * 400
        chunks = chunk_transcript(
            [
                {
                    "role": "user",
                    "text": text,
                    "speaker": "ana",
                    "start_ms": 10,
                    "end_ms": 90_000,
                }
            ],
            50,
        )
        assert len(chunks) > 1
        assert "".join(c.text for c in chunks) == text
        assert {(c.meta.speaker, c.meta.start_ms, c.meta.end_ms) for c in chunks} == {
            ("ana", 10, 90_000)
        }

    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("system", (Role.SYSTEM, Kind.INSTRUCTION)),
            ("developer", (Role.SYSTEM, Kind.INSTRUCTION)),
            ("user", (Role.USER, Kind.TURN)),
            ("assistant", (Role.ASSISTANT, Kind.TURN)),
            ("tool", (Role.TOOL, Kind.TOOL_RESULT)),
            ("function_call_output", (Role.TOOL, Kind.TOOL_RESULT)),
        ],
    )
    def test_roles(self, role, expected):
        """Plain turns accept every role spelling Role.parse does."""
        [chunk] = chunk_transcript([{"role": role, "text": "x"}])
        assert (chunk.role, chunk.kind) == expected

    def test_own_ids_are_sources(self):
        """A plain turn's id, when given, is its source."""
        [chunk] = chunk_transcript([{"role": "user", "text": "x", "id": "u-7"}])
        assert chunk.source == "u-7"

    @given(st.lists(turn_texts(), min_size=1, max_size=5), st.integers(0, 30))
    def test_first_index_offsets_sources(self, texts, first):
        """Instalments chunked with first_index get the sources a single call over
        the whole transcript would give."""
        turns = [{"role": "user", "text": t} for t in texts]
        whole = chunk_transcript([{"role": "user", "text": "x"}] * first + turns)
        assert chunk_transcript(turns, first_index=first) == whole[first:]


class TestErrors:
    @pytest.mark.parametrize(
        ("turn", "match"),
        [
            ({"role": "user", "content": ""}, "the user message has no text"),
            ({"role": "user", "content": " \n"}, "the user message has no text"),
            ({"role": "assistant", "content": None}, "assistant message has no text"),
            ({"role": "user", "text": ""}, "the user turn has no text"),
            (
                {"type": "message", "role": "user", "content": []},
                "the user message has no text",
            ),
            ({"role": "bot", "content": "hi"}, "unknown role 'bot'.*'developer'"),
            ({"role": "bot", "text": "hi"}, "unknown role 'bot'"),
            (
                {"type": "message", "role": "tool", "content": "x"},
                "unknown role 'tool' for a message item",
            ),
            ({"role": "user", "text": "x", "speker": "a"}, "unknown field 'speker'"),
            ({"role": "user", "text": 3}, "field 'text'"),
            ({"role": "user", "content": 5}, "field 'content': should be a string"),
            (
                {"role": "user", "content": [{"type": "text", "text": 3}]},
                "field 'content.0.text'",
            ),
            (
                {"role": "user", "content": [3]},
                "field 'content.0': should be an object",
            ),
            ({"type": "message", "role": "user"}, "missing field 'content'"),
            ({"type": "function_call", "name": "f"}, "missing field 'arguments'"),
            (
                {"type": "function_call_output", "output": "x"},
                "missing field 'call_id'",
            ),
            ({"type": "reasoning"}, "unknown item type 'reasoning'"),
            ({"type": 3}, "unknown item type 3"),
            ({"content_type": "x"}, "cannot tell the format"),
            ({"role": "tool", "content": "x"}, "needs the tool_call_id"),
            (
                {"role": "user", "content": "x", "tool_calls": []},
                None,
            ),
            (
                {
                    "role": "user",
                    "content": "x",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ],
                },
                "only an assistant message can make tool calls",
            ),
            (
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function"}],
                },
                "tool_calls.0 has type 'function' but no 'function' object",
            ),
            (
                {
                    "role": "user",
                    "content": [{"type": "hologram", "hologram": {"url": "x"}}],
                },
                "content.0 has type 'hologram', which ctxchunk does not read",
            ),
            (
                {"role": "user", "text": "x", "start_ms": 9, "end_ms": 1},
                "end_ms=1 is before start_ms=9",
            ),
            ({"role": "user", "text": "x", "start_ms": -1}, "field 'start_ms'"),
            ({"role": "user", "text": "x", "start_ms": 1.5}, "field 'start_ms'"),
            # A list where a string belongs names the field and the type it got.
            (
                {"role": ["user"], "text": "x"},
                r"field 'role': should be a string, got list \['user'\]",
            ),
            (
                {"role": "user", "text": ["x"]},
                r"field 'text': should be a string, got list \['x'\]",
            ),
            (
                {"role": "user", "content": "x", "name": ["Ana"]},
                "field 'name': should be a string, got list",
            ),
            (
                {"role": "user", "content": "x", "name": 3},
                "field 'name': should be a string, got int 3",
            ),
            (
                {"role": "user", "text": "x", "start_ms": "5"},
                "field 'start_ms': should be an int, got str '5'",
            ),
            # Metadata that could not be written as UTF-8 JSON.
            (
                {"role": "user", "text": "x", "speaker": "An\ud800"},
                "field 'speaker': holds a lone surrogate \\(U\\+D800\\) at offset 2",
            ),
            (
                {"role": "user", "text": "x", "id": "\udc00"},
                "field 'id': holds a lone surrogate",
            ),
            (
                {"role": "user", "content": "x", "name": "\ud800"},
                "field 'name': holds a lone surrogate",
            ),
            (
                {"role": "tool", "content": "x", "tool_call_id": "c\ud800"},
                "field 'tool_call_id': holds a lone surrogate",
            ),
            (
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f\ud800", "arguments": "{}"},
                        }
                    ],
                },
                "field 'tool_calls.0.function.name': holds a lone surrogate",
            ),
            (
                {
                    "type": "function_call",
                    "call_id": "\ud800",
                    "name": "f",
                    "arguments": "{}",
                },
                "field 'call_id': holds a lone surrogate",
            ),
            ({"role": "user", "text": "bad \ud800 text"}, "lone surrogate"),
            (7, "expected an object"),
        ],
    )
    def test_bad_turn(self, turn, match):
        """Each malformed turn gets a TranscriptError starting with its index."""
        good = {"role": "user", "content": "hello"}
        if match is None:
            assert len(chunk_transcript([good, turn])) == 2
            return
        with pytest.raises(TranscriptError, match=rf"^turn 1: .*{match}"):
            chunk_transcript([good, turn])

    def test_duplicate_item_id(self):
        """Two turns with the same id would give clashing sources: rejected."""
        items = [
            {"id": "item_1", "type": "message", "role": "user", "content": "a"},
            {"id": "item_1", "type": "message", "role": "user", "content": "b"},
        ]
        with pytest.raises(TranscriptError, match=r"turn 1: id 'item_1' .* turn 0"):
            chunk_transcript(items)

    def test_duplicate_call_id(self):
        """Two calls with one call_id could not be told apart: rejected."""
        call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": ""}
        with pytest.raises(TranscriptError, match=r"turn 1: call_id 'c' .* turn 0"):
            chunk_transcript([call, call])

    def test_first_index_is_used_in_errors(self):
        """With first_index, errors name the turn's index in the whole session."""
        with pytest.raises(TranscriptError, match=r"^turn 41: "):
            chunk_transcript(
                [{"role": "user", "text": "a"}, {"role": "user", "text": ""}],
                first_index=40,
            )

    def test_bound_too_small_for_a_character(self):
        """A character that alone is over the bound is reported with its turn."""
        with pytest.raises(TranscriptError, match=r"^turn 0: "):
            chunk_transcript([{"role": "user", "text": "𓀀"}], 3)

    @pytest.mark.parametrize(
        ("bound", "error"),
        [
            (0, InvalidArgumentError),
            (-5, InvalidArgumentError),
            (2.5, InvalidTypeError),
            (True, InvalidTypeError),
            ("100", InvalidTypeError),
        ],
    )
    def test_bad_max_tokens(self, bound, error):
        """max_tokens must be an int of at least 1."""
        with pytest.raises(error, match="max_tokens"):
            chunk_transcript([{"role": "user", "text": "x"}], bound)

    def test_bad_first_index(self):
        """first_index must be a non-negative int."""
        with pytest.raises(InvalidArgumentError, match="first_index=-1"):
            chunk_transcript([], first_index=-1)
        with pytest.raises(InvalidTypeError, match="first_index"):
            chunk_transcript([], first_index="3")  # type: ignore[arg-type]

    @pytest.mark.parametrize("turns", [{"role": "user", "text": "x"}, b"[]", 3, None])
    def test_bad_turns_type(self, turns):
        """turns must be an iterable of turns or a path; a lone turn is pointed out."""
        with pytest.raises(InvalidTypeError, match="turns must be a list"):
            chunk_transcript(turns)

    def test_empty_transcript(self):
        """No turns, no chunks."""
        assert chunk_transcript([]) == []


class TestJsonlErrors:
    def test_missing_file(self, tmp_path):
        """A path that cannot be read is a TranscriptError naming it."""
        path = tmp_path / "nope.jsonl"
        with pytest.raises(TranscriptError, match="cannot read the transcript file"):
            chunk_transcript(path)

    def test_bad_json_line(self, tmp_path):
        """A line that is not JSON is named by its line number."""
        path = tmp_path / "t.jsonl"
        path.write_text('{"role": "user", "text": "a"}\n\n{"role": "user",\n')
        with pytest.raises(TranscriptError, match=r"line 3 of .* is not JSON"):
            chunk_transcript(path)

    def test_non_utf8(self, tmp_path):
        """A line that is not UTF-8 is named by its line number."""
        path = tmp_path / "t.jsonl"
        path.write_bytes(b'{"role": "user", "text": "a"}\n{"text": "\xff"}\n')
        with pytest.raises(TranscriptError, match=r"line 2 of .* is not UTF-8"):
            chunk_transcript(path)

    def test_nan_is_not_json(self, tmp_path):
        """NaN and Infinity, which json.loads reads by default, are not JSON."""
        path = tmp_path / "t.jsonl"
        path.write_text('{"role": "user", "text": "a"}\n{"role": "user", "x": NaN}\n')
        with pytest.raises(
            TranscriptError, match=r"line 2 of .*\(NaN is not a JSON value\)"
        ):
            chunk_transcript(path)

    def test_path_the_os_cannot_take(self, tmp_path):
        """A path holding a lone surrogate or a NUL is a TranscriptError too."""
        for name in ("t\ud800.jsonl", "t\x00.jsonl"):
            with pytest.raises(TranscriptError, match="cannot read the transcript"):
                chunk_transcript(str(tmp_path / name))

    def test_bad_turn_names_turn_and_line(self, tmp_path):
        """A malformed turn is named by its index and its line."""
        path = tmp_path / "t.jsonl"
        path.write_text(
            '\n{"role": "user", "text": "a"}\n\n{"role": "x", "text": "b"}\n'
        )
        with pytest.raises(TranscriptError, match=r"^turn 1 \(line 4 of .*\): unknown"):
            chunk_transcript(path)

    @given(st.lists(prose(max_words=30), min_size=1, max_size=6))
    def test_jsonl_equals_the_list(self, texts):
        """A JSONL file gives the same chunks as the list of its lines."""
        import tempfile

        turns = [
            {"role": "user" if i % 2 else "assistant", "text": t}
            for i, t in enumerate(texts)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "t.jsonl"
            path.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
            assert chunk_transcript(path, 20) == chunk_transcript(turns, 20)
