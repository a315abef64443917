"""Anthropic Messages API logs: imported as sessions, and read by ``ctxchunk simulate``.

The fixtures are checked against the ``anthropic`` SDK's request types, and the same
conversation logged as Chat Completions messages (checked against the ``openai``
SDK's) must import to the same session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import MessageParam
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, TypeAdapter

from ctxchunk._fleet import read_session
from ctxchunk.cli import main
from ctxchunk.exceptions import SessionLogError
from ctxchunk.session import (
    ToolCallEvent,
    TurnEvent,
    session_from_anthropic_messages,
    session_from_chat_messages,
)
from tests import sdk_types
from tests.strategies import prose, turn_texts

_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6"
    "kgAAAABJRU5ErkJggg=="
)

SUPPORT_CALL: dict[str, Any] = {
    "system": [
        {
            "type": "text",
            "text": "You are a support agent.",
            "cache_control": {"type": "ephemeral"},
        }
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "My order A-1042 has not arrived."},
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/png",
                        "data": _PNG,
                    },
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Look it up.", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "get_order",
                    "input": {"order_id": "A-1042"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": [{"type": "text", "text": '{"status": "shipped"}'}],
                },
                {"type": "text", "text": "Any news?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {"query": "carrier delays"},
                },
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_01",
                    "content": [
                        {
                            "type": "web_search_result",
                            "url": "https://example.org/delays",
                            "title": "Delays",
                            "encrypted_content": "EqkCCkYIBh",
                        }
                    ],
                },
                {"type": "text", "text": "It shipped; carriers report delays."},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {
                        "type": "text",
                        "media_type": "text/plain",
                        "data": "Refunds within 30 days.",
                    },
                    "title": "Policy",
                }
            ],
        },
        {"role": "assistant", "content": "Per the policy, 30 days."},
    ],
}


def _check_anthropic(messages: list[dict[str, Any]]) -> None:
    """sdk_types.check, where a server tool's result may validate as the SDK's
    response model (its union takes both): then the model's fields must be ours."""
    valid = _MESSAGES.validate_python(messages)
    assert _plain(valid) == messages


# Kept alive: the lazily validated iterables it returns need their validator.
_MESSAGES = TypeAdapter(list[MessageParam], config=ConfigDict(extra="forbid"))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return [_plain(v) for v in value]


def test_a_support_call_imports_as_its_events():
    _check_anthropic(SUPPORT_CALL["messages"])
    session = session_from_anthropic_messages(SUPPORT_CALL, name="support")
    assert [(e.type, getattr(e, "text", None)) for e in session.events] == [
        ("instructions", "You are a support agent."),
        (
            "turn",
            "My order A-1042 has not arrived.\n[image: data:image/png;base64, "
            f"{len(_PNG)} characters]",
        ),
        ("request", None),
        ("turn", "Let me check."),  # the thinking is left out
        ("tool_call", None),
        ("turn", "Any news?"),
        ("request", None),
        ("turn", "It shipped; carriers report delays."),
        ("tool_call", None),
        ("turn", "Policy\n\nRefunds within 30 days."),
        ("request", None),
        ("turn", "Per the policy, 30 days."),
    ]
    first, search = [e for e in session.events if isinstance(e, ToolCallEvent)]
    assert (first.name, first.call_id, first.result) == (
        "get_order",
        "toolu_01",
        '{"status": "shipped"}',
    )
    assert json.loads(first.arguments) == {"order_id": "A-1042"}
    # A server tool's own result blocks stand as their JSON.
    assert search.name == "web_search"
    assert json.loads(search.result)["url"] == "https://example.org/delays"


# -- the same conversation, logged by either API ---------------------------------

_names = st.sampled_from(["get_order", "search", "weather"])
_args = st.dictionaries(
    st.sampled_from(["q", "id", "city"]), st.integers(0, 99) | prose(max_words=5)
)
_calls = st.lists(st.tuples(_names, _args, prose(max_words=60)), min_size=1, max_size=3)
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("user"), turn_texts()),
        st.tuples(st.just("assistant"), turn_texts()),
        st.tuples(st.just("tools"), st.none() | turn_texts(), _calls),
    ),
    max_size=10,
)


def _as_chat(system: str | None, steps: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if system is not None:
        out.append({"role": "system", "content": system})
    n = 0
    for step in steps:
        if step[0] != "tools":
            out.append({"role": step[0], "content": step[1]})
            continue
        calls, results = [], []
        for name, args, result in step[2]:
            call_id = f"toolu_{n}"
            n += 1
            arguments = json.dumps(args, ensure_ascii=False)
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
            results.append({"role": "tool", "tool_call_id": call_id, "content": result})
        out.append({"role": "assistant", "content": step[1], "tool_calls": calls})
        out.extend(results)
    return out


def _as_anthropic(steps: list[Any], thinking: bool) -> list[dict[str, Any]]:
    """The Messages API log: results open the next user message, which then holds
    the user's next words too."""
    out: list[dict[str, Any]] = []
    n = 0
    pending: list[dict[str, Any]] = []  # tool results not yet sent
    for step in steps:
        if step[0] == "user":
            text = {"type": "text", "text": step[1]}
            out.append({"role": "user", "content": [*pending, text]})
            pending = []
            continue
        if pending:
            out.append({"role": "user", "content": pending})
            pending = []
        blocks: list[dict[str, Any]] = []
        if thinking:
            blocks.append({"type": "thinking", "thinking": "hm", "signature": "s"})
        if step[0] == "assistant":
            out.append({"role": "assistant", "content": [*blocks, _text(step[1])]})
            continue
        if step[1] is not None:
            blocks.append(_text(step[1]))
        for name, args, result in step[2]:
            call_id = f"toolu_{n}"
            n += 1
            blocks.append(
                {"type": "tool_use", "id": call_id, "name": name, "input": args}
            )
            pending.append(
                {"type": "tool_result", "tool_use_id": call_id, "content": result}
            )
        out.append({"role": "assistant", "content": blocks})
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


@given(system=st.none() | prose(max_words=20), steps=_steps, thinking=st.booleans())
def test_a_conversation_logged_by_either_api_is_one_session(system, steps, thinking):
    chat = _as_chat(system, steps)
    anthropic = _as_anthropic(steps, thinking)
    sdk_types.check("chat messages", chat)
    sdk_types.check("anthropic messages", anthropic)
    body = (
        {"messages": anthropic}
        if system is None
        else {
            "system": system,
            "messages": anthropic,
        }
    )
    expected = session_from_chat_messages(chat, name="s")
    assert session_from_anthropic_messages(body, name="s") == expected


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (42, "list of messages"),
        ([{"role": "system", "content": "x"}], "role 'system'"),
        ([{"role": "user", "content": 3}], "message 0: content should be"),
        ([{"role": "user", "content": [{"type": "video"}]}], "type 'video'"),
        ([{"role": "user", "content": [{"text": "x"}]}], "needs a 'type'"),
        (
            [{"role": "assistant", "content": [{"type": "tool_use", "id": "t"}]}],
            "'id' and 'name'",
        ),
        ([{"role": "user", "content": [{"type": "tool_result"}]}], "'tool_use_id'"),
        ([{"role": "user", "content": [{"type": "text"}]}], "'text' string"),
        ([{"role": "user", "content": [{"type": "image"}]}], "'source'"),
        ({"system": 3, "messages": []}, "system should be"),
        ([5], "message 0: expected an object"),
    ],
)
def test_a_malformed_log_names_what_is_wrong(data, says):
    with pytest.raises(SessionLogError, match=says.replace("(", r"\(")):
        session_from_anthropic_messages(data)


# -- ctxchunk simulate -------------------------------------------------------------


def _turns(path: Path) -> list[str]:
    return [e.text for e in read_session(path).events if isinstance(e, TurnEvent)]


def test_simulate_tells_an_anthropic_log_from_a_chat_one(tmp_path):
    # A request body: its system is read with its messages.
    body = tmp_path / "body.json"
    body.write_text(json.dumps(SUPPORT_CALL), encoding="utf-8")
    assert read_session(body) == session_from_anthropic_messages(
        SUPPORT_CALL, name="body"
    )
    # A body of plain text turns is told by its top-level system.
    plain = tmp_path / "plain.json"
    plain.write_text(
        json.dumps(
            {"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]}
        ),
        encoding="utf-8",
    )
    assert read_session(plain).events[0].type == "instructions"
    # JSONL whose first message reads like Chat: the later blocks tell.
    lines = tmp_path / "call.jsonl"
    lines.write_text(
        "\n".join(json.dumps(m) for m in SUPPORT_CALL["messages"][2:]), encoding="utf-8"
    )
    assert _turns(lines)[0] == "Any news?"
    assert read_session(lines, "anthropic") == read_session(lines)
    # A Chat log stays a Chat log.
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps([{"role": "user", "content": "hi"}]), encoding="utf-8")
    assert _turns(chat) == ["hi"]


def test_simulate_runs_on_an_anthropic_log(tmp_path, capsys):
    log = tmp_path / "support.json"
    log.write_text(json.dumps(SUPPORT_CALL), encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["simulate", str(log), "--budget", "2000", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [s["session"] for s in result["sessions"]] == ["support"]
    assert (
        main(["simulate", str(log), "--budget", "2000", "--format", "anthropic"]) == 0
    )
    assert "recommended" in capsys.readouterr().out


def _tool_use(call_id: str, name: str, query: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": {"q": query}}


def _tool_result(call_id: str, text: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": text}


def test_the_tool_uses_of_one_message_are_one_batch():
    """Several tool_use blocks of one assistant message share a batch; a message
    with one has none."""
    messages = [
        {"role": "user", "content": "Compare Oslo and Bergen."},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking both up."},
                _tool_use("toolu_01", "weather", "Oslo"),
                _tool_use("toolu_02", "weather", "Bergen"),
                _tool_use("toolu_03", "news", "Bergen"),
            ],
        },
        {
            "role": "user",
            "content": [
                _tool_result("toolu_01", "3 C"),
                _tool_result("toolu_02", "5 C"),
                _tool_result("toolu_03", "Festival"),
            ],
        },
        {"role": "assistant", "content": [_tool_use("toolu_04", "news", "Oslo")]},
        {"role": "user", "content": [_tool_result("toolu_04", "Quiet")]},
    ]
    sdk_types.check("anthropic messages", messages)
    calls = [
        (e.call_id, e.batch)
        for e in session_from_anthropic_messages(messages).events
        if isinstance(e, ToolCallEvent)
    ]
    assert calls == [
        ("toolu_01", "step-1"),
        ("toolu_02", "step-1"),
        ("toolu_03", "step-1"),
        ("toolu_04", None),
    ]
