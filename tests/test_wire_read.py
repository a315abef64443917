"""The one reader of message content, shared by chunk_transcript and the importers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._wire_read import PartError, read_content
from ctxchunk.exceptions import SessionLogError, TranscriptError
from ctxchunk.session import session_from_chat_messages, session_from_realtime_events
from ctxchunk.tokens import get_tokenizer
from ctxchunk.transcript import chunk_transcript

IMAGE_CHAT = {
    "type": "image_url",
    "image_url": {"url": "https://upload.example.org/cat.png", "detail": "low"},
}
IMAGE_RESPONSES = {"type": "input_image", "file_id": "file-abc", "detail": "high"}
AUDIO_CHAT = {
    "type": "input_audio",
    "input_audio": {"data": "UklGRg==", "format": "wav"},
}
FILE_CHAT = {"type": "file", "file": {"file_id": "file-9", "filename": "report.pdf"}}
FILE_RESPONSES = {
    "type": "input_file",
    "filename": "notes.txt",
    "file_data": "data:text/plain;base64,aGk=",
}


@pytest.mark.parametrize(
    ("part", "text"),
    [
        (IMAGE_CHAT, "[image: https://upload.example.org/cat.png · detail: low]"),
        (IMAGE_RESPONSES, "[image: file_id: file-abc · detail: high]"),
        (
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            "[image: data:image/png;base64, 12 characters]",
        ),
        (
            AUDIO_CHAT,
            "[audio: input_audio · format: wav · 8 base64 characters · no transcript]",
        ),
        (
            {"type": "output_audio", "audio": "AAAA", "transcript": None},
            "[audio: output_audio · 4 base64 characters · no transcript]",
        ),
        (FILE_CHAT, "[file: file · report.pdf · file_id: file-9]"),
        (FILE_RESPONSES, "[file: input_file · notes.txt · 27 characters of data]"),
        ({"type": "input_audio", "transcript": "hello"}, "hello"),
        ({"type": "refusal", "refusal": "I can't."}, "I can't."),
    ],
)
def test_media_parts_become_placeholders_with_their_metadata(part, text):
    assert read_content([part]).text == text


def test_a_long_address_is_cut():
    url = "https://x.org/" + "a" * 500
    text = read_content([{"type": "image_url", "image_url": {"url": url}}]).text
    assert len(text) < 230
    assert text.endswith("…]")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"type": "hologram"}], "content.0 has type 'hologram'"),
        ([{"type": "text"}], r"content.0 \(text\) has no 'text' string"),
        (["plain"], "content.0 should be a content part object"),
        ([{"text": "x"}], "content.0 has no 'type'"),
        (5, "content should be a string or a list of content parts, got int"),
    ],
)
def test_unreadable_content_is_named(content, message):
    with pytest.raises(PartError, match=message):
        read_content(content)


def test_chunk_transcript_counts_the_placeholder():
    turns = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, IMAGE_CHAT],
        }
    ]
    [chunk] = chunk_transcript(turns)
    assert (
        chunk.text
        == "What is this?\n[image: https://upload.example.org/cat.png · detail: low]"
    )
    assert chunk.tokens == get_tokenizer(None).count(chunk.text)


_TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)
_PARTS = st.one_of(
    _TEXTS.map(lambda t: {"type": "text", "text": t}),
    st.sampled_from(
        [IMAGE_CHAT, IMAGE_RESPONSES, AUDIO_CHAT, FILE_CHAT, FILE_RESPONSES]
    ),
    _TEXTS.map(lambda t: {"type": "input_audio", "transcript": t}),
    st.builds(
        lambda url, detail: {
            "type": "image_url",
            "image_url": {"url": url, "detail": detail},
        },
        _TEXTS,
        st.sampled_from(["low", "high", "auto"]),
    ),
)


@given(st.lists(_PARTS, min_size=1, max_size=6))
def test_one_reader_for_transcripts_and_imported_sessions(parts):
    """chunk_transcript and session_from_chat_messages read a user message the same."""
    message = {"role": "user", "content": parts}
    expected = read_content(parts).text
    if expected.strip():
        chunks = chunk_transcript([message], 10_000)
        assert "".join(c.text for c in chunks) == expected
    else:  # a blank turn is no turn to chunk; a session log records it as it was
        with pytest.raises(TranscriptError, match="has no text"):
            chunk_transcript([message], 10_000)
    session = session_from_chat_messages([message])
    [turn] = [e for e in session.events if e.type == "turn"]
    assert turn.text == expected


def test_both_readers_reject_the_same_unknown_part():
    message = {"role": "user", "content": [{"type": "hologram"}]}
    with pytest.raises(TranscriptError, match="'hologram'"):
        chunk_transcript([message])
    with pytest.raises(SessionLogError, match="'hologram'"):
        session_from_chat_messages([message])


def test_realtime_transcription_replaces_the_audio_placeholder():
    events = [
        {
            "type": "conversation.item.created",
            "item": {
                "id": "item_1",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
        },
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "item_1",
            "content_index": 0,
            "transcript": "Hi there",
        },
        {
            "type": "conversation.item.done",
            "item": {
                "id": "item_1",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
        },
    ]
    session = session_from_realtime_events(events)
    [turn] = [e for e in session.events if e.type == "turn"]
    assert turn.text == "Hi there"
