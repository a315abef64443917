"""A live agent's context window, turn by turn: what is kept, lost and sent.

Run it with ``python examples/live_window.py``. It pins instructions, adds a few turns,
a real web page (Python's json documentation, as shipped in tests/fixtures) and a tool
call to a small window under the default policy, and prints after each step the
window's exact size, what it admitted and lost, and the Realtime events a live session
would be sent. The page is larger than one update may take, so its last part goes to
the archive and a marker in the window says how to read it back.
"""

from __future__ import annotations

from pathlib import Path

from ctxchunk import (
    Change,
    ContextWindow,
    to_openai_chat,
    to_realtime_events,
)

PAGE = (
    Path(__file__).parent.parent / "tests" / "fixtures" / "html" / "library-json.html"
)
INSTRUCTIONS = "You are a concise voice assistant for Python questions."


def show(step: str, window: ContextWindow, change: Change) -> None:
    events = to_realtime_events(change, instructions=INSTRUCTIONS)
    print(
        f"{step:<38} window {window.tokens:>5}/{window.budget} tokens, "
        f"+{change.admitted_tokens:>5} admitted, -{change.lost_tokens:>4} lost, "
        f"{change.capped_tokens:>4} capped, {len(events):>2} Realtime events"
    )


def main() -> None:
    # The default policy, Recommended; chunks of at most 1,000 tokens.
    window = ContextWindow(6_000, chunk_tokens=1_000)
    show("pin instructions", window, window.pin(INSTRUCTIONS))
    show("user asks", window, window.add_turn("user", "How do I read a JSON file?"))
    page = PAGE.read_bytes()
    change = window.add_document(
        page, url="https://docs.python.org/3.11/library/json.html"
    )
    show("browse the json docs (several chunks)", window, change)
    markers = [c for c in change.added if c.meta.marks is not None]
    for marker in markers:
        print(f"  marker: {marker.text}")
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
    reasons = sorted({e.reason.value for e in window.archive})
    print(f"archive: {len(window.archive)} chunks, reasons {reasons}")
    for marker in markers:
        # A marker names its source (meta.marks) and, as its part, the first part it
        # stands for: the arguments of the read_document call its text suggests.
        assert marker.meta.marks is not None
        text = window.read(marker.meta.marks, part=marker.part)
        print(
            f"window.read({marker.meta.marks!r}, part={marker.part}) returns "
            f"{len(text):,} characters of the archived part"
        )
    heard = next(c.text for c in window.chunks if c.id == item)
    print(f"the interrupted answer now reads: {heard!r}")


if __name__ == "__main__":
    main()
