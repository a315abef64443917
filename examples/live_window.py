"""A live agent's context window, turn by turn: what is kept, evicted and sent.

Run it with ``python examples/live_window.py``. It pins instructions, adds a few turns,
a real web page (Python's json documentation, as shipped in tests/fixtures) and a tool
call to a small window, and prints after each step the window's exact size, what was
evicted, and the Realtime events a live session would be sent.
"""

from __future__ import annotations

from pathlib import Path

from ctxchunk import (
    Change,
    ContextWindow,
    RolePriority,
    to_openai_chat,
    to_realtime_events,
)

PAGE = (
    Path(__file__).parent.parent / "tests" / "fixtures" / "html" / "library-json.html"
)
INSTRUCTIONS = "You are a concise voice assistant for Python questions."


def show(step: str, window: ContextWindow, change: Change) -> None:
    events = to_realtime_events(change, instructions=INSTRUCTIONS)
    evicted = sum(e.chunk.tokens for e in change.evicted)
    print(
        f"{step:<38} window {window.tokens:>5}/{window.budget} tokens, "
        f"+{change.added_tokens:>5} added, -{evicted:>5} evicted, "
        f"{len(events):>2} Realtime events"
    )


def main() -> None:
    window = ContextWindow(6_000, policy=RolePriority(), chunk_tokens=1_000)
    show("pin instructions", window, window.pin(INSTRUCTIONS))
    show("user asks", window, window.add_turn("user", "How do I read a JSON file?"))
    page = PAGE.read_bytes()
    change = window.add_document(
        page, url="https://docs.python.org/3.11/library/json.html"
    )
    show("browse the json docs (several chunks)", window, change)
    change = window.add_turn(
        "assistant",
        "Open the file and pass it to json.load, which returns Python objects.",
        start_ms=0,
        end_ms=4_000,
    )
    show("assistant answers", window, change)
    item = change.added[0].id
    show("user interrupts after 1.5 s", window, window.interrupt(item, 1_500))
    change = window.add_tool_call(
        "run_python", '{"code": "json.loads(\'[1, 2]\')"}', "[1, 2]"
    )
    show("tool call and its result", window, change)
    messages = to_openai_chat(window)
    roles = [m["role"] for m in messages]
    print(f"\nrendered {len(messages)} Chat Completions messages: {roles}")
    print(f"archive: {len(window.archive)} chunks, with reasons")
    heard = next(c.text for c in window.chunks if c.id == item)
    print(f"the interrupted answer now reads: {heard!r}")


if __name__ == "__main__":
    main()
