"""Responses API logs: an input list of messages (typed or not) and items.

A Responses agent logs its ``input`` items: messages, often in the untyped
``{role, content}`` form, function and custom tool calls with their outputs, and
reasoning items. The same conversation logged as Chat messages imports to the same
session, and ``ctxchunk simulate`` tells the log's format from its items. Every log
is checked against the ``openai`` SDK's request types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._fleet import read_session
from ctxchunk.exceptions import SessionLogError
from tests import sdk_types
from tests.test_anthropic_log import _as_chat, _steps


def _as_items(
    system: str | None, steps: list[Any], *, typed: bool, reasoning: bool
) -> list[dict[str, Any]]:
    def message(role: str, text: str) -> dict[str, Any]:
        if not typed:
            return {"role": role, "content": text}
        kind = "output_text" if role == "assistant" else "input_text"
        part: dict[str, Any] = {"type": kind, "text": text}
        if role == "assistant":
            part["annotations"] = []
            return {
                "type": "message",
                "id": f"msg_{len(out)}",
                "role": role,
                "status": "completed",
                "content": [part],
            }
        return {"type": "message", "role": role, "content": [part]}

    out: list[dict[str, Any]] = []
    if system is not None:
        out.append(message("developer", system))
    n = 0
    for step in steps:
        if step[0] != "user" and reasoning:
            out.append({"type": "reasoning", "id": f"rs_{len(out)}", "summary": []})
        if step[0] in ("user", "assistant"):
            out.append(message(step[0], step[1]))
            continue
        if step[1] is not None:
            out.append(message("assistant", step[1]))
        calls, outputs = [], []
        for name, args, result in step[2]:
            call_id = f"toolu_{n}"
            n += 1
            calls.append(
                {
                    "type": "function_call",
                    "call_id": call_id,
                    "name": name,
                    "arguments": json.dumps(args, ensure_ascii=False),
                }
            )
            outputs.append(
                {"type": "function_call_output", "call_id": call_id, "output": result}
            )
        out.extend(calls)
        out.extend(outputs)
    return out


def _untimed(path: Path) -> list[dict[str, Any]] | str:
    try:
        events = read_session(path).events
    except SessionLogError as exc:  # an empty log, refused by every format
        return str(exc).split(": ", 1)[1]
    return [
        {k: v for k, v in vars(e).items() if k not in ("t_ms", "id")} for e in events
    ]


@given(
    system=st.none() | st.text("abc ", min_size=1, max_size=20).filter(str.strip),
    steps=_steps,
    typed=st.booleans(),
    reasoning=st.booleans(),
)
def test_a_conversation_logged_by_either_api_is_one_session(
    tmp_path_factory, system, steps, typed, reasoning
):
    # Responses input has no mark between model calls: outputs in a row are one
    # call's. An assistant reply is a call of its own here, so a user turn follows.
    steps = [
        s
        for i, step in enumerate(steps)
        for s in (
            [("user", "ok"), step]
            if i and steps[i - 1][0] == "assistant" and step[0] != "user"
            else [step]
        )
    ]
    chat = _as_chat(system, steps)
    items = _as_items(system, steps, typed=typed, reasoning=reasoning)
    sdk_types.check("chat messages", chat)
    sdk_types.check("responses input", items)
    folder = tmp_path_factory.mktemp("logs")
    (folder / "chat.json").write_text(json.dumps(chat), encoding="utf-8")
    (folder / "items.json").write_text(json.dumps(items), encoding="utf-8")
    assert _untimed(folder / "items.json") == _untimed(folder / "chat.json")


def test_a_custom_tool_call_is_read_with_its_input(tmp_path):
    items = [
        {"role": "user", "content": "Fix the typo."},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "custom_tool_call",
            "call_id": "call_1",
            "name": "apply_patch",
            "input": "*** Begin Patch",
        },
        {"type": "custom_tool_call_output", "call_id": "call_1", "output": "applied"},
    ]
    sdk_types.check("responses input", items)
    path = tmp_path / "patch.json"
    path.write_text(json.dumps(items[1:]), encoding="utf-8")  # reasoning first
    calls = [e for e in read_session(path).events if e.type == "tool_call"]
    assert [(c.name, c.arguments, c.result) for c in calls] == [
        ("apply_patch", "*** Begin Patch", "applied")
    ]


def test_an_output_of_content_parts_reads_as_content(tmp_path):
    """A function call's output may be a list of content parts (an image the tool
    returned, text): it reads as a message's content, a placeholder for the image,
    not the repr of the list with the whole base64 image in it."""
    items = [
        {"role": "user", "content": "What does the screenshot show?"},
        {
            "type": "function_call",
            "call_id": "call_2",
            "name": "view_image",
            "arguments": '{"path": "login.png"}',
        },
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": [
                {"type": "input_text", "text": "login.png, 1280x800"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64," + "A" * 4000,
                },
            ],
        },
        {"role": "assistant", "content": "A login form."},
    ]
    sdk_types.check("responses input", items)
    path = tmp_path / "image.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    (call,) = [e for e in read_session(path).events if e.type == "tool_call"]
    assert call.result.startswith("login.png, 1280x800\n[image: data:image/png")
    assert "AAAA" not in call.result


def test_the_calls_of_one_response_are_one_batch(tmp_path):
    """Function calls output in a row (one model call) share a batch; a call of a
    later response, alone, has none."""

    def call(call_id: str) -> dict[str, Any]:
        return {
            "type": "function_call",
            "call_id": call_id,
            "name": "lookup",
            "arguments": json.dumps({"q": call_id}),
        }

    def output(call_id: str) -> dict[str, Any]:
        return {"type": "function_call_output", "call_id": call_id, "output": call_id}

    items = [
        {"role": "user", "content": "Look up a, b and c."},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        call("a"),
        call("b"),
        call("c"),
        output("a"),
        output("b"),
        output("c"),
        call("d"),
        output("d"),
        {"role": "assistant", "content": "Done."},
    ]
    sdk_types.check("responses input", items)
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    calls = [e for e in read_session(path).events if e.type == "tool_call"]
    assert [(c.call_id, c.batch) for c in calls] == [
        ("a", "step-1"),
        ("b", "step-1"),
        ("c", "step-1"),
        ("d", None),
    ]
