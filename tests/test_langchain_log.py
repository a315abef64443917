"""LangChain chat histories as stores keep them, read by ``ctxchunk simulate``.

Chat-history stores (Redis, SQL, files) keep LangChain messages in
``messages_to_dict`` form (``{"type": "human", "data": {...}}``). Such a log, as a
JSON array, ``{"messages": [...]}`` or JSONL, reads as
:func:`~ctxchunk.adapters.langchain.session_from_langchain` of the messages.
"""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import messages_to_dict

from ctxchunk._fleet import read_session
from ctxchunk.adapters.langchain import session_from_langchain
from ctxchunk.cli import main
from ctxchunk.exceptions import SessionLogError
from tests.test_adapters_langchain import histories


@given(history=histories(), layout=st.sampled_from(["array", "wrapped", "jsonl"]))
def test_a_stored_history_reads_as_its_messages(tmp_path_factory, history, layout):
    stored = messages_to_dict(history)
    if layout == "array":
        text = json.dumps(stored)
    elif layout == "wrapped":
        text = json.dumps({"messages": stored})
    else:
        text = "\n".join(json.dumps(m) for m in stored)
    path = tmp_path_factory.mktemp("logs") / "history.json"
    path.write_text(text, encoding="utf-8")
    expected = session_from_langchain(history, name="history")
    assert read_session(path) == expected
    assert read_session(path, "langchain") == expected


def test_simulate_runs_on_a_stored_history(tmp_path, capsys):
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    history = [
        HumanMessage("Order A-1042 has not arrived."),
        AIMessage(
            "", tool_calls=[{"name": "orders", "args": {"id": "A-1042"}, "id": "c1"}]
        ),
        ToolMessage("shipped " * 3_000, tool_call_id="c1"),
        AIMessage("It shipped."),
    ]
    log = tmp_path / "support.json"
    log.write_text(json.dumps(messages_to_dict(history)), encoding="utf-8")
    assert main(["simulate", str(log), "--budget", "2000"]) == 0
    assert "support: budget 2,000" in capsys.readouterr().out


def test_a_malformed_stored_history_names_the_file(tmp_path):
    log = tmp_path / "broken.json"
    log.write_text(json.dumps([{"type": "human", "data": {}}]), encoding="utf-8")
    with pytest.raises(SessionLogError, match=r"broken\.json: not LangChain messages"):
        read_session(log)


def test_without_langchain_the_error_says_which_extra(tmp_path, monkeypatch):
    log = tmp_path / "history.json"
    log.write_text(json.dumps([{"type": "human", "data": {"content": "hi"}}]), "utf-8")
    monkeypatch.setitem(sys.modules, "langchain_core.messages", None)  # not installed
    with pytest.raises(SessionLogError, match=r"pip install 'ctxchunk\[langchain\]'"):
        read_session(log)
