"""Coding agents' own logs: Claude Code transcripts and Codex CLI rollouts.

The transcripts below are written the way the agents write theirs (a streamed reply
as several records of one message id, tool results as records of their own, a
rewound branch left in the file, a subagent's sidechain, a compaction); what
ctxchunk rebuilds from them must be a request the providers' SDK types accept, and
read as the session of that request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ctxchunk._agent_logs import claude_code_messages, codex_items
from ctxchunk._fleet import _item_events, detect_format, read_session
from ctxchunk.cli import main
from ctxchunk.exceptions import SessionLogError
from ctxchunk.session import (
    InstructionsEvent,
    ToolCallEvent,
    TurnEvent,
    session_from_anthropic_messages,
    session_from_realtime_events,
)
from tests import sdk_types

_SESSION = "5b0c2f1e-7d7a-4c38-9b43-2a1f0e9d6c11"


def _record(
    kind: str, uuid: str, parent: str | None, message: dict[str, Any], **more: Any
) -> dict[str, Any]:
    return {
        "parentUuid": parent,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/ana/shop",
        "sessionId": _SESSION,
        "version": "2.1.40",
        "gitBranch": "main",
        "type": kind,
        "message": message,
        "uuid": uuid,
        "timestamp": "2026-10-02T09:00:00.000Z",
        **more,
    }


def _assistant(
    uuid: str, parent: str, msg_id: str, block: dict[str, Any]
) -> dict[str, Any]:
    message = {
        "model": "claude-sonnet-4-5",
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [block],
        "stop_reason": None,
        "usage": {"input_tokens": 3, "output_tokens": 10},
    }
    return _record("assistant", uuid, parent, message, requestId=f"req_{msg_id}")


def _user(uuid: str, parent: str | None, content: Any, **more: Any) -> dict[str, Any]:
    return _record("user", uuid, parent, {"role": "user", "content": content}, **more)


def _result(uuid: str, parent: str, tool_id: str, text: str) -> dict[str, Any]:
    block = {"tool_use_id": tool_id, "type": "tool_result", "content": text}
    return _user(uuid, parent, [block])


READ = {
    "type": "tool_use",
    "id": "toolu_01",
    "name": "Read",
    "input": {"file_path": "/home/ana/shop/orders.py"},
}
GREP = {
    "type": "tool_use",
    "id": "toolu_02",
    "name": "Grep",
    "input": {"pattern": "refund"},
}
GLOB = {
    "type": "tool_use",
    "id": "toolu_03",
    "name": "Glob",
    "input": {"pattern": "**/*.py"},
}
ORDERS = "     1→def refund(order):\n     2→    return order.total  # lamps: 30 days\n"

TRANSCRIPT: list[dict[str, Any]] = [
    {"type": "summary", "summary": "Refund window for lamps", "leafUuid": "a9"},
    {
        "type": "file-history-snapshot",
        "messageId": "u1",
        "snapshot": {"messageId": "u1", "trackedFileBackups": {}},
        "isSnapshotUpdate": False,
    },
    _user("u1", None, "Why do lamp refunds fail after two weeks?"),
    # One streamed reply: thinking, text and a tool call, one record each.
    _assistant(
        "a1",
        "u1",
        "msg_1",
        {"type": "thinking", "thinking": "Read the code.", "signature": "c2ln"},
    ),
    _assistant(
        "a2", "a1", "msg_1", {"type": "text", "text": "Let me read the refund code."}
    ),
    _assistant("a3", "a2", "msg_1", READ),
    _result("u2", "a3", "toolu_01", ORDERS),
    # Two calls in one step, their results as two records.
    _assistant("a4", "u2", "msg_2", GREP),
    _assistant("a5", "a4", "msg_2", GLOB),
    _result("u3", "a5", "toolu_02", "orders.py:1:def refund(order):"),
    _result("u4", "u3", "toolu_03", "orders.py\nshipping.py"),
    # A reply the user rewound: its branch stays in the file.
    _assistant("a6", "u4", "msg_3", {"type": "text", "text": "The window is 14 days."}),
    # A subagent's work, on a sidechain.
    {**_user("s1", None, "Search the tests for refunds."), "isSidechain": True},
    {
        "type": "system",
        "subtype": "local_command",
        "content": "<local-command-stdout></local-command-stdout>",
        "uuid": "y1",
        "parentUuid": "u4",
        "sessionId": _SESSION,
    },
    _assistant(
        "a7",
        "u4",
        "msg_4",
        {
            "type": "text",
            "text": "Lamps get 30 days, not 14: the check uses the wrong field.",
        },
    ),
    _user("u5", "a7", "Fix it, please."),
    _assistant(
        "a8",
        "u5",
        "msg_5",
        {"type": "text", "text": "Done: refund() now reads order.window."},
    ),
    _user("u6", "a8", [{"type": "text", "text": "Thanks! And the docs?"}]),
    _assistant(
        "a9", "u6", "msg_6", {"type": "text", "text": "Updated docs/refunds.md too."}
    ),
]

EXPECTED: list[dict[str, Any]] = [
    {"role": "user", "content": "Why do lamp refunds fail after two weeks?"},
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Read the code.", "signature": "c2ln"},
            {"type": "text", "text": "Let me read the refund code."},
            READ,
        ],
    },
    {
        "role": "user",
        "content": [
            {"tool_use_id": "toolu_01", "type": "tool_result", "content": ORDERS}
        ],
    },
    {"role": "assistant", "content": [GREP, GLOB]},
    {
        "role": "user",
        "content": [
            {
                "tool_use_id": "toolu_02",
                "type": "tool_result",
                "content": "orders.py:1:def refund(order):",
            },
            {
                "tool_use_id": "toolu_03",
                "type": "tool_result",
                "content": "orders.py\nshipping.py",
            },
        ],
    },
    {
        "role": "assistant",
        "content": [
            {
                "type": "text",
                "text": "Lamps get 30 days, not 14: the check uses the wrong field.",
            }
        ],
    },
    {"role": "user", "content": "Fix it, please."},
    {
        "role": "assistant",
        "content": [{"type": "text", "text": "Done: refund() now reads order.window."}],
    },
    {"role": "user", "content": [{"type": "text", "text": "Thanks! And the docs?"}]},
    {
        "role": "assistant",
        "content": [{"type": "text", "text": "Updated docs/refunds.md too."}],
    },
]


def _jsonl(folder: Path, name: str, records: list[Any]) -> Path:
    path = folder / name
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_a_claude_code_transcript_is_the_request_its_model_was_sent():
    """The active branch, replies joined by message, results by turn, without the
    rewound reply, the sidechain and the bookkeeping."""
    messages = claude_code_messages(TRANSCRIPT)
    assert messages == EXPECTED
    sdk_types.check("anthropic messages", messages)


def test_simulate_reads_a_claude_code_transcript(tmp_path):
    path = _jsonl(tmp_path, f"{_SESSION}.jsonl", TRANSCRIPT)
    assert detect_format(TRANSCRIPT[0]) == "claude-code"
    session = read_session(path)
    assert session.events == session_from_anthropic_messages(EXPECTED).events
    texts = [e.text for e in session.events if isinstance(e, TurnEvent)]
    assert "The window is 14 days." not in texts
    assert "Search the tests for refunds." not in texts
    calls = [e for e in session.events if isinstance(e, ToolCallEvent)]
    assert [c.name for c in calls] == ["Read", "Grep", "Glob"]
    assert calls[0].result == ORDERS
    out = tmp_path / "out.json"
    assert main(["simulate", str(path), "--budget", "2000", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["aggregate"]["sessions"] == 1


def test_a_compaction_does_not_cut_the_transcript():
    """After /compact, the chain starts again (parentUuid null) from a summary the
    agent wrote; its logical parent carries the conversation on, and the summary
    (the agent's own truncation, not what was said) is left out."""
    compacted = [
        *TRANSCRIPT,
        {
            "type": "system",
            "subtype": "compact_boundary",
            "content": "Conversation compacted",
            "uuid": "c1",
            "parentUuid": None,
            "logicalParentUuid": "a9",
            "sessionId": _SESSION,
        },
        _user(
            "u7",
            "c1",
            "This session is being continued from a previous one...",
            isCompactSummary=True,
        ),
        _user("u8", "u7", "Now add a test for lamps."),
    ]
    messages = claude_code_messages(compacted)
    assert messages == [
        *EXPECTED,
        {"role": "user", "content": "Now add a test for lamps."},
    ]


@pytest.mark.parametrize("dropped", [("uuid", "parentUuid"), ("parentUuid",)])
def test_a_transcript_without_threading_is_read_in_order(dropped):
    """Records without parentUuid (older or converted transcripts keep only a
    uuid, as some published samples do) are read in the file's order."""
    records = [
        {k: v for k, v in r.items() if k not in dropped} for r in TRANSCRIPT[2:7]
    ]
    assert claude_code_messages(records) == EXPECTED[:3]


def test_a_transcript_of_bookkeeping_only_is_refused(tmp_path):
    path = _jsonl(tmp_path, "empty.jsonl", TRANSCRIPT[:2])
    with pytest.raises(
        SessionLogError, match="Claude Code transcript with no messages"
    ):
        read_session(path)


ROLLOUT: list[dict[str, Any]] = [
    {
        "timestamp": "2026-10-02T09:00:00.000Z",
        "type": "session_meta",
        "payload": {
            "id": "019b64e5-0000-7000-8000-000000000001",
            "cwd": "/home/ana/shop",
            "originator": "codex_cli_rs",
            "cli_version": "0.77.0",
            "instructions": "Follow AGENTS.md: run the tests before you commit.",
        },
    },
    {
        "timestamp": "2026-10-02T09:00:01.000Z",
        "type": "response_item",
        "payload": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Why do lamp refunds fail?"}],
        },
    },
    {
        "timestamp": "2026-10-02T09:00:01.000Z",
        "type": "event_msg",
        "payload": {
            "type": "user_message",
            "message": "Why do lamp refunds fail?",
            "images": [],
        },
    },
    {
        "timestamp": "2026-10-02T09:00:01.000Z",
        "type": "turn_context",
        "payload": {
            "cwd": "/home/ana/shop",
            "approval_policy": "on-request",
            "model": "gpt-5.2-codex",
        },
    },
    {
        "timestamp": "2026-10-02T09:00:02.000Z",
        "type": "response_item",
        "payload": {
            "type": "reasoning",
            "summary": [],
            "content": None,
            "encrypted_content": "gAAAA",
        },
    },
    {
        "timestamp": "2026-10-02T09:00:02.000Z",
        "type": "response_item",
        "payload": {
            "type": "function_call",
            "name": "shell",
            "arguments": '{"command":["rg","refund"]}',
            "call_id": "call_7",
        },
    },
    {
        "timestamp": "2026-10-02T09:00:03.000Z",
        "type": "response_item",
        "payload": {
            "type": "function_call_output",
            "call_id": "call_7",
            "output": "orders.py:1:def refund(order):",
        },
    },
    {
        "timestamp": "2026-10-02T09:00:04.000Z",
        "type": "response_item",
        "payload": {
            "type": "message",
            "role": "assistant",
            "content": [
                {
                    "type": "output_text",
                    "text": "refund() checks 14 days; lamps get 30.",
                }
            ],
        },
    },
]


def test_a_codex_rollout_is_its_responses_items(tmp_path):
    instructions, items = codex_items(ROLLOUT)
    assert instructions == "Follow AGENTS.md: run the tests before you commit."
    assert [i["type"] for i in items] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "message",
    ]
    # (No SDK check here: Codex stores items without the ids, statuses and
    # annotations the SDK's request types require, as the rollouts it writes show.)
    path = _jsonl(tmp_path, "rollout-2026-10-02.jsonl", ROLLOUT)
    assert detect_format(ROLLOUT[0]) == "codex"
    session = read_session(path)
    update = {"type": "session.update", "session": {"instructions": instructions}}
    assert (
        session.events
        == session_from_realtime_events([update, *_item_events(items)]).events
    )
    assert isinstance(session.events[0], InstructionsEvent)
    calls = [e for e in session.events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.result) for c in calls] == [
        ("shell", "orders.py:1:def refund(order):")
    ]
    turns = [e.text for e in session.events if isinstance(e, TurnEvent)]
    assert turns == [
        "Why do lamp refunds fail?",
        "refund() checks 14 days; lamps get 30.",
    ]


def test_a_rollout_without_items_is_refused(tmp_path):
    path = _jsonl(tmp_path, "rollout.jsonl", ROLLOUT[:1] + ROLLOUT[2:4])
    with pytest.raises(SessionLogError, match="Codex CLI rollout with no items"):
        read_session(path)


def test_an_exported_session_of_loglines_is_read(tmp_path):
    """A session exported as {"loglines": [records]}, records without ids."""
    records = [
        {k: v for k, v in r.items() if k in ("type", "timestamp", "message")}
        for r in TRANSCRIPT[2:7]
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"loglines": records}), encoding="utf-8")
    assert detect_format(records[0]) == "claude-code"
    session = read_session(path)
    assert session.events == session_from_anthropic_messages(EXPECTED[:3]).events
