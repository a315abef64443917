"""Datasets: a JSONL file holding one conversation per line, one session each.

Fine-tuning and evaluation sets keep conversations this way (``{"messages": [...]}``
per line). ``ctxchunk simulate`` reads each line as the session a file holding only
that conversation would be, named ``<file>:<line>``, streaming the file.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, messages_to_dict

from ctxchunk._fleet import (
    Line,
    count_sessions,
    iter_inputs,
    iter_sessions,
    read_line,
    read_session,
    run,
)
from ctxchunk.cli import main
from ctxchunk.exceptions import SessionLogError
from tests.test_anthropic_log import SUPPORT_CALL
from tests.test_fleet import _aggregate_json, _config


def _chat(n: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": f"Order A-{n} has not arrived. " * (n + 1)},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{n}",
                        "type": "function",
                        "function": {"name": "orders", "arguments": f'{{"id": {n}}}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": f"call_{n}", "content": "shipped " * 400},
            {"role": "assistant", "content": f"Order A-{n} shipped."},
        ]
    }


CONVERSATIONS: list[dict[str, Any]] = [
    _chat(1),
    SUPPORT_CALL,  # an Anthropic request body, system and blocks
    {  # Responses input: untyped messages and typed items
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "c1", "output": "3 C"},
            {"role": "assistant", "content": "3 C."},
        ]
    },
    {"messages": messages_to_dict([HumanMessage("Hi"), AIMessage("Hello!")])},
    _chat(2),
]


def _dataset(folder: Path, rows: list[Any], name: str = "set.jsonl") -> Path:
    path = folder / name
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_each_line_is_the_session_of_a_file_holding_it(tmp_path):
    dataset = _dataset(tmp_path, CONVERSATIONS)
    refs = list(iter_sessions([dataset]))
    assert [str(r) for r in refs] == [f"{dataset}:{i}" for i in range(1, 6)]
    assert count_sessions([str(dataset)]) == 5
    for i, (ref, conversation) in enumerate(zip(refs, CONVERSATIONS, strict=True)):
        alone = tmp_path / f"alone{i}.json"
        alone.write_text(json.dumps(conversation), encoding="utf-8")
        assert isinstance(ref, Line)
        session = read_line(ref)
        assert session.name == f"set:{i + 1}"
        assert session.events == read_session(alone).events


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    path = tmp_path / "gaps.jsonl.gz"
    rows = [json.dumps(_chat(1)), "", "  ", json.dumps(_chat(2))]
    path.write_bytes(gzip.compress("\n".join(rows).encode("utf-8")))
    refs = list(iter_sessions([path]))
    assert [r.lineno for r in refs if isinstance(r, Line)] == [1, 4]
    assert count_sessions([str(path)]) == 2


def test_files_that_are_one_session_stay_files(tmp_path):
    """One conversation on one line, a session log and a Chat log of messages are
    each one session, read by the worker."""
    one = _dataset(tmp_path, [_chat(1)], "one.jsonl")
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"type": "turn", "t_ms": 0, "role": "user", "text": "hi"}\n'
        '{"type": "turn", "t_ms": 1, "role": "assistant", "text": "yo"}\n',
        encoding="utf-8",
    )
    messages = _dataset(tmp_path, _chat(1)["messages"], "messages.jsonl")
    refs = list(iter_sessions([one, events, messages]))
    assert refs == [str(one), str(events), str(messages)]
    assert read_session(one).name == "one"
    # A session log is never a dataset, even when named so.
    assert list(iter_sessions([_dataset(tmp_path, CONVERSATIONS)], "session")) == [
        str(tmp_path / "set.jsonl")
    ]


def test_engines_agree_on_a_dataset(tmp_path):
    dataset = _dataset(tmp_path, [_chat(n) for n in range(9)])
    refs = list(iter_sessions(iter_inputs([str(dataset)])))
    serial = _aggregate_json(refs, workers=1)  # type: ignore[arg-type]
    assert serial == _aggregate_json(refs, workers=2)  # type: ignore[arg-type]
    assert serial[1] == ["set:1", "set:2"]
    pytest.importorskip("ray", reason="pip install 'ctxchunk[ray]'")
    assert serial == _aggregate_json(refs, engine="ray", workers=2)  # type: ignore[arg-type]


def test_a_bad_line_fails_alone_and_is_named(tmp_path):
    dataset = _dataset(tmp_path, [_chat(1), {"messages": [{"role": "x"}]}, _chat(2)])
    outcomes = sorted(
        run(iter_sessions([dataset]), _config(), total=3), key=lambda o: o.index
    )
    assert [o.summary is None for o in outcomes] == [False, True, False]
    assert outcomes[1].error is not None
    assert f"{dataset}:2" in outcomes[1].error


def test_simulate_reads_a_dataset(tmp_path, capsys):
    dataset = _dataset(tmp_path, CONVERSATIONS)
    out = tmp_path / "out.json"
    assert main(["simulate", str(dataset), "--budget", "4000", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["aggregate"]["sessions"] == 5
    assert [s["session"] for s in result["sessions"]] == ["set:1", "set:2", "set:3"]


def _requests(messages: list[Any], *, keep: int | None = None) -> list[dict[str, Any]]:
    """The request bodies an agent sends on each call of a conversation.

    A call follows each user message and each tool result; with ``keep``, the
    agent sends its system message and only its ``keep`` latest other messages.
    """
    system, rest = messages[:1], messages[1:]
    bodies = []
    for end in range(1, len(rest) + 1):
        if rest[end - 1]["role"] in ("user", "tool"):
            sent = rest[:end] if keep is None else rest[max(0, end - keep) : end]
            bodies.append({"model": "gpt-4o", "messages": [*system, *sent]})
    return bodies


def _conversation(n: int) -> list[dict[str, Any]]:
    """A support conversation of several user turns and one tool call."""
    messages = _chat(n)["messages"]
    for turn in range(3):
        messages += [
            {"role": "user", "content": f"And order B-{n}-{turn}? It is a gift."},
            {"role": "assistant", "content": f"B-{n}-{turn} leaves on Monday."},
        ]
    return messages


def test_a_request_log_is_one_session_per_conversation(tmp_path):
    """Each line repeats the conversation so far: the lines make one session, the
    session of a file holding the whole conversation (but its last reply, which
    no request carries)."""
    conversation = _conversation(1)
    log = _dataset(tmp_path, _requests(conversation), "proxy.jsonl")
    refs = list(iter_sessions([log]))
    assert [str(r) for r in refs] == [f"{log}:1"]
    assert count_sessions([str(log)]) == 1
    assert isinstance(refs[0], Line)
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"messages": conversation[:-1]}), encoding="utf-8")
    session = read_line(refs[0])
    assert session.name == "proxy:1"
    assert session.events == read_session(whole).events
    out = tmp_path / "out.json"
    assert main(["simulate", str(log), "--budget", "4000", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [s["session"] for s in result["sessions"]] == ["proxy:1"]


def test_interleaved_and_trimmed_conversations_are_told_apart(tmp_path):
    """Two conversations' requests interleaved, one from an agent that sends only
    its latest messages: each conversation is whole, named by its first line."""
    first, second = _conversation(1), _conversation(2)
    a, b = _requests(first), _requests(second, keep=4)
    rows = [row for pair in zip(a, b, strict=True) for row in pair]
    log = _dataset(tmp_path, rows, "proxy.jsonl.gz")
    refs = list(iter_sessions([log]))
    assert [str(r) for r in refs] == [f"{log}:1", f"{log}:2"]
    assert count_sessions([str(log)]) == 2
    for ref, conversation in zip(refs, (first, second), strict=True):
        assert isinstance(ref, Line)
        assert json.loads(ref.text)["messages"] == conversation[:-1]


def test_an_anthropic_request_log_keeps_its_system(tmp_path):
    messages = SUPPORT_CALL["messages"]
    bodies = [
        {**SUPPORT_CALL, "messages": messages[:end]}
        for end in range(1, len(messages) + 1)
        if messages[end - 1]["role"] == "user"
    ]
    assert len(bodies) > 1
    log = _dataset(tmp_path, bodies, "claude.jsonl")
    (ref,) = iter_sessions([log])
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps(bodies[-1]), encoding="utf-8")
    assert isinstance(ref, Line)
    assert read_line(ref).events == read_session(whole).events


def test_a_request_log_keeps_its_first_system_prompt_in_both_apis(tmp_path):
    """A conversation keeps its first line's system prompt: a Chat log's leading
    system messages and an Anthropic log's top-level system alike (the Anthropic one
    took the last line's until session 7)."""
    messages = SUPPORT_CALL["messages"]
    ends = [
        end
        for end in range(1, len(messages) + 1)
        if messages[end - 1]["role"] == "user"
    ]
    assert len(ends) > 1
    bodies = [
        {**SUPPORT_CALL, "messages": messages[:end]}
        | ({"system": "A later prompt."} if end == ends[-1] else {})
        for end in ends
    ]
    (ref,) = iter_sessions([_dataset(tmp_path, bodies, "claude.jsonl")])
    assert isinstance(ref, Line)
    assert json.loads(ref.text)["system"] == SUPPORT_CALL["system"]
    chat = [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "My lamp arrived broken."},
        {"role": "assistant", "content": "Sorry! Which order?"},
        {"role": "user", "content": "A-1042."},
    ]
    rows = [
        {"messages": chat[:2]},
        {"messages": [{"role": "system", "content": "A later prompt."}, *chat[1:]]},
    ]
    (ref,) = iter_sessions([_dataset(tmp_path, rows, "chat.jsonl")])
    assert isinstance(ref, Line)
    assert json.loads(ref.text)["messages"][0] == chat[0]


def test_conversations_that_only_open_alike_stay_a_dataset(tmp_path):
    """Lines sharing a system message and a first question, then going their own
    ways, are separate conversations: a dataset, one session per line."""
    opening = _chat(1)["messages"][:2]
    rows = [
        {"messages": [*opening, {"role": "assistant", "content": answer}]}
        for answer in ("It shipped.", "It is lost; I will refund you.")
    ]
    log = _dataset(tmp_path, rows)
    assert [str(r) for r in iter_sessions([log])] == [f"{log}:1", f"{log}:2"]


def test_a_broken_line_in_a_request_log_is_named(tmp_path):
    rows = [json.dumps(r) for r in _requests(_conversation(1))]
    rows.insert(2, '{"messages": "not a list"}')
    log = tmp_path / "proxy.jsonl"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(SessionLogError, match=r"proxy.jsonl: line 3 is not"):
        list(iter_sessions([log]))
