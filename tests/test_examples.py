"""The README's snippets and the scripts under examples/ run as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(python_blocks(README))))
def test_readme_python_snippets_run(index, tmp_path, monkeypatch):
    """Each Python snippet in the README runs without error."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("# Notes\n\nSome notes.\n", encoding="utf-8")
    exec(compile(python_blocks(README)[index], f"README block {index}", "exec"), {})


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
