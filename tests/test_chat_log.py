"""Chat Completions logs as agents keep them: every message shape the API has.

Each log is checked against the ``openai`` SDK's request types (or, for a reply as a
response logs it, its response model), then imported.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionMessage

from ctxchunk.session import session_from_chat_messages
from tests import sdk_types


def _events(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e.type, getattr(e, "text", None) or getattr(e, "name", None))
        for e in session_from_chat_messages(messages).events
    ]


def test_a_refusal_is_what_the_model_said():
    messages = [
        {"role": "user", "content": "Help me pick a lock."},
        {"role": "assistant", "content": None, "refusal": "I can't help with that."},
    ]
    sdk_types.check("chat messages", messages)
    assert _events(messages)[-1] == ("turn", "I can't help with that.")


def test_an_audio_reply_is_its_transcript():
    reply = {
        "role": "assistant",
        "content": None,
        "audio": {
            "id": "audio_abc",
            "data": "UklGRg==",
            "expires_at": 1_800_000_000,
            "transcript": "The weather is mild.",
        },
    }
    ChatCompletionMessage.model_validate(reply)  # a reply as the response has it
    messages = [{"role": "user", "content": "Weather?"}, reply]
    assert _events(messages)[-1] == ("turn", "The weather is mild.")


def test_a_legacy_function_call_keeps_its_arguments():
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "weather", "arguments": '{"city": "Oslo"}'},
        },
        {"role": "function", "name": "weather", "content": "3 C, snow"},
        {"role": "assistant", "content": "3 C and snow."},
    ]
    sdk_types.check("chat messages", messages)
    calls = [
        e for e in session_from_chat_messages(messages).events if e.type == "tool_call"
    ]
    assert [(c.name, c.arguments, c.result) for c in calls] == [
        ("weather", '{"city": "Oslo"}', "3 C, snow")
    ]


def test_a_custom_tool_call_keeps_its_name_and_input():
    messages = [
        {"role": "user", "content": "Fix the typo."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "custom",
                    "custom": {"name": "apply_patch", "input": "*** Begin Patch"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "applied"},
    ]
    sdk_types.check("chat messages", messages)
    calls = [
        e for e in session_from_chat_messages(messages).events if e.type == "tool_call"
    ]
    assert [(c.name, c.arguments, c.result) for c in calls] == [
        ("apply_patch", "*** Begin Patch", "applied")
    ]
