"""The README's snippets and the scripts under examples/ run as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ctxchunk import count_messages

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _check_window_block(namespace: dict[str, Any], stdout: str) -> None:
    window, change = namespace["window"], namespace["change"]
    messages, events = namespace["messages"], namespace["events"]
    # "exact: window.tokens is what the request counts"
    assert count_messages(messages, model="gpt-4o") == window.tokens
    # The page is tool context: a read_document call and its tool message.
    tool = [m for m in messages if m["role"] == "tool"]
    assert len(tool) == 1
    assert "JSON encoder and decoder." in tool[0]["content"]
    assert all("encoder" not in str(m["content"]) for m in messages if m is not tool[0])
    # The Realtime events create exactly the chunks the last operation added.
    created = [
        e["item"]["id"] for e in events if e["type"] == "conversation.item.create"
    ]
    assert created == [chunk.id for chunk in change.added]
    assert stdout == f"{window.tokens} {[e.chunk.id for e in change.evicted]}\n"


def _check_split_block(namespace: dict[str, Any], stdout: str) -> None:
    text, pieces = namespace["text"], namespace["pieces"]
    tokenizer = namespace["get_tokenizer"]()
    # "exact, lossless"
    assert "".join(piece.text for piece in pieces) == text
    assert all(0 < piece.tokens <= 512 for piece in pieces)
    assert all(tokenizer.count(piece.text) == piece.tokens for piece in pieces)
    # "special-token strings are text": counted as the 7 tokens of their characters,
    # not as the one special token.
    assert namespace["get_tokenizer"]("gpt-4o").count("<|endoftext|>") == 7
    # "billed size": 3 tokens of reply priming, 3 per message, "user" and "Hi".
    messages = [{"role": "user", "content": "Hi"}]
    assert namespace["count_messages"](messages, model="gpt-4o") == 8
    assert stdout == ""


README_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "window = ContextWindow(": _check_window_block,
    "pieces = split_text(": _check_split_block,
}
"""What each README snippet claims, keyed by a line that identifies the snippet."""


@pytest.mark.parametrize("index", range(len(python_blocks(README))))
def test_readme_python_snippets_do_what_they_say(index, tmp_path, monkeypatch, capsys):
    """Each Python snippet in the README runs, and what its comments and output claim
    holds: exact counts, lossless splits, the Realtime events of the change."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("# Notes\n\nSome notes.\n", encoding="utf-8")
    block = python_blocks(README)[index]
    checks = [check for key, check in README_CHECKS.items() if key in block]
    assert len(checks) == 1, "give each README snippet one entry in README_CHECKS"
    namespace: dict[str, Any] = {}
    exec(compile(block, f"README block {index}", "exec"), namespace)
    checks[0](namespace, capsys.readouterr().out)


def test_live_window_example_runs():
    """examples/live_window.py runs and reports the interruption it makes."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "live_window.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "the interrupted answer now reads:" in result.stdout


def test_replay_claude_log_example_runs(tmp_path):
    """examples/replay_claude_log.py replays its Anthropic log from Python and from
    the shell: the baseline loses the whole history and the order number, the
    default policy keeps the number and loses at most a quarter in one step."""
    script = ROOT / "examples" / "replay_claude_log.py"
    argv = [sys.executable, str(script), str(tmp_path)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    baseline = next(line for line in lines if line.strip().startswith("baseline"))
    recommended = next(line for line in lines if line.strip().startswith("recommended"))
    assert "(100% of the history), order number LOST" in baseline
    assert "order number kept" in recommended
    assert (tmp_path / "support-hx4471.json").is_file()
    # The shell replay found the log in its directory and printed its table.
    assert "support-hx4471: budget 8,000" in result.stdout


def test_generate_sessions_example_runs(tmp_path):
    """examples/generate_sessions.py writes sessions that load back."""
    from ctxchunk import load_session

    script = ROOT / "examples" / "generate_sessions.py"
    argv = [sys.executable, str(script), str(tmp_path), "--count", "2", "--turns", "5"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    paths = sorted(tmp_path.glob("*.jsonl"))
    assert len(paths) == 2
    assert all(load_session(path).events for path in paths)
