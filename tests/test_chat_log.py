"""Chat Completions logs as agents keep them: every message shape the API has.

Each log is checked against the ``openai`` SDK's request types (or, for a reply as a
response logs it, its response model), then imported.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionMessage

from ctxchunk.session import ToolCallEvent, session_from_chat_messages
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


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _batches(messages: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [
        (e.call_id, e.batch)
        for e in session_from_chat_messages(messages).events
        if isinstance(e, ToolCallEvent)
    ]


def test_the_calls_of_one_message_are_one_batch():
    """Several tool_calls of one assistant message share a batch; the lone call of
    the next message has none."""
    messages = [
        {"role": "user", "content": "Weather in Oslo and Bergen?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                _call("call_a", "weather", '{"city": "Oslo"}'),
                _call("call_b", "weather", '{"city": "Bergen"}'),
            ],
        },
        {"role": "tool", "tool_call_id": "call_b", "content": "5 C"},
        {"role": "tool", "tool_call_id": "call_a", "content": "3 C"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call("call_c", "forecast", '{"city": "Oslo"}')],
        },
        {"role": "tool", "tool_call_id": "call_c", "content": "snow"},
        {"role": "assistant", "content": "Cold in both; snow in Oslo."},
    ]
    sdk_types.check("chat messages", messages)
    # Placed as the results arrived: call_b answered first.
    assert _batches(messages) == [
        ("call_b", "step-1"),
        ("call_a", "step-1"),
        ("call_c", None),
    ]


def test_a_step_whose_results_are_apart_is_cut_into_batches():
    """Results of one step that another message separates become a batch each (a
    session's batches are consecutive); a run of one has none."""
    messages = [
        {"role": "user", "content": "Look up three orders."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                _call("c1", "order", '{"id": 1}'),
                _call("c2", "order", '{"id": 2}'),
                _call("c3", "order", '{"id": 3}'),
                _call("c4", "order", '{"id": 4}'),
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": "two"},
        {"role": "user", "content": "Hurry, please."},
        {"role": "tool", "tool_call_id": "c3", "content": "three"},
        {"role": "tool", "tool_call_id": "c4", "content": "four"},
        {"role": "user", "content": "And?"},
    ]
    assert _batches(messages) == [
        ("c1", "step-1"),
        ("c2", "step-1"),
        ("c3", "step-1/2"),
        ("c4", "step-1/2"),
    ]
    assert _batches(messages[:5] + messages[6:]) == [
        ("c1", "step-1"),
        ("c2", "step-1"),
        ("c4", None),
    ]


def test_a_legacy_function_call_is_a_step_of_its_own():
    """The deprecated function_call is one call: no batch."""
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "weather", "arguments": "{}"},
        },
        {"role": "function", "name": "weather", "content": "mild"},
    ]
    sdk_types.check("chat messages", messages)
    assert _batches(messages) == [("weather", None)]
