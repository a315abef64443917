"""ctxchunk.adapters as a package: kept apart from ``import ctxchunk``, documented
examples that run, and the Chat bridge both adapters share."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ctxchunk import ContextWindow, count_messages, to_openai_chat
from ctxchunk.adapters import MissingExtraError, missing_extra
from ctxchunk.adapters._chat import render
from ctxchunk.exceptions import CtxChunkError

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "adapters.md"


def test_import_ctxchunk_imports_no_framework():
    """``import ctxchunk`` and ``import ctxchunk.adapters`` load neither framework."""
    code = (
        "import sys, ctxchunk, ctxchunk.adapters\n"
        "loaded = sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in ('langchain_core', 'llama_index'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_missing_extra_is_a_ctxchunk_import_error():
    """The error is caught by ``except CtxChunkError`` and ``except ImportError``."""
    error = missing_extra("langchain-core", "langchain", ImportError("gone"))
    assert isinstance(error, MissingExtraError)
    assert isinstance(error, CtxChunkError)
    assert isinstance(error, ImportError)
    assert "pip install 'ctxchunk[langchain]'" in str(error)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_the_adapters_page_examples_run(index, capsys):
    """Each Python example of docs/adapters.md runs offline and prints what it
    renders."""
    namespace: dict[str, object] = {}
    exec(
        compile(_blocks()[index], f"docs/adapters.md block {index}", "exec"), namespace
    )
    out = capsys.readouterr().out
    assert out.strip()
    if "kept" in namespace:
        assert "ToolMessage" in out
        assert "AIMessage" in out
    if "window" in namespace:
        window = namespace["window"]
        assert isinstance(window, ContextWindow)
        window.check_valid()


def test_the_langchain_trim_example_runs():
    """examples/langchain_trim.py runs offline; LangChain's own trim leaves an
    orphaned ToolMessage there, ctxchunk's results have none and fit the budget."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "langchain_trim.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    reports = [line for line in lines if "tokens (budget" in line]
    assert [line.split(":")[0] for line in reports] == [
        "langchain_core trim_messages",
        "ctxchunk trim_messages",
        "ctxchunk ContextWindow",
    ]
    orphans = [line.strip() for line in lines if "orphaned ToolMessages" in line]
    assert orphans[0] != "orphaned ToolMessages: none"
    assert orphans[1:] == ["orphaned ToolMessages: none"] * 2
    for line in reports[1:]:
        tokens, budget = re.findall(r"(\d+) tokens \(budget (\d+)\)", line)[0]
        assert int(tokens) <= int(budget)


def _order_lookup(question: str) -> list[dict[str, object]]:
    """A user's long question, an assistant's reply with text and a call, and the
    call's result, as Chat messages (a fresh copy on every call)."""
    return [
        {"role": "user", "content": question * 3},
        {
            "role": "assistant",
            "content": "Let me check the order.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "orders", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Shipped."},
    ]


class TestRender:
    def test_joins_the_parts_of_one_message_and_its_text_with_its_calls(self):
        """A long turn cut into chunks is one message again, and an assistant
        message's text stays with its calls: the messages fed in come back as they
        were, where the Chat rendering has more messages."""
        window = ContextWindow(10_000, chunk_tokens=12)
        question = "Where is the lamp I ordered last week, and when will it come? "
        window.add_transcript(_order_lookup(question)[:1])
        window.add_transcript(_order_lookup(question)[1:])
        messages = render(window)
        assert messages == _order_lookup(question)
        assert len(to_openai_chat(window)) > len(messages)
        assert count_messages(messages) < window.tokens

    def test_separate_turns_are_not_joined(self):
        """Two user turns in a row stay two messages, as do an assistant turn and a
        later tool call of its own update."""
        window = ContextWindow(1000)
        window.add_turn("user", "First.")
        window.add_turn("user", "Second.")
        window.add_turn("assistant", "Checking.")
        window.add_tool_call("clock", {}, "12:00", call_id="call_9")
        assert [m["role"] for m in render(window)] == [
            "user",
            "user",
            "assistant",
            "assistant",
            "tool",
        ]
        assert render(window) == to_openai_chat(window)
