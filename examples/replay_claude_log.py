"""Replay an agent's Anthropic Messages API log offline and compare policies.

Run it with ``python examples/replay_claude_log.py [DIR]``. It writes the request
body a Claude support agent would have logged at the end of a call (instructions,
the user's order number, a knowledge-base lookup that returned Node.js's URL API
guide, about 15,000 tokens, and follow-ups) to ``DIR`` (a temporary directory by
default), then replays it twice:

- from Python: ``session_from_anthropic_messages`` and ``simulate``;
- as a user would from the shell: ``ctxchunk simulate DIR --budget 8000``, which
  tells the log from a Chat one by its content blocks.

The lookup's result alone is larger than the 8,000-token budget: the baseline drops
the whole conversation for it; the chunked policies lose at most one update's share.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ctxchunk import WholeUpdateBaseline, simulate
from ctxchunk.cli import main as ctxchunk_main
from ctxchunk.policies import DropOldest, Policy, Recommended
from ctxchunk.session import ProbeEvent, Session, session_from_anthropic_messages

GUIDE = Path(__file__).parent / "texts" / "nodejs-url-api.md"


def claude_log() -> dict[str, object]:
    """The request body of the call's last model turn, as an agent logs it."""

    def user(*blocks: dict[str, object]) -> dict[str, object]:
        return {"role": "user", "content": list(blocks)}

    def assistant(*blocks: dict[str, object]) -> dict[str, object]:
        return {"role": "assistant", "content": list(blocks)}

    def text(value: str) -> dict[str, object]:
        return {"type": "text", "text": value}

    return {
        "model": "claude-sonnet-4-5",
        "system": "You are a support agent for a web hosting company. Be brief.",
        "messages": [
            user(text("Hi, my order number is HX-4471 and my redirect rules broke.")),
            assistant(
                {"type": "thinking", "thinking": "Check the docs.", "signature": "s"},
                text("Let me look that up in our knowledge base."),
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "search_kb",
                    "input": {"query": "URL parsing redirect rules"},
                },
            ),
            user(
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": GUIDE.read_text(encoding="utf-8"),
                },
                text("Is it the WHATWG URL API that changed?"),
            ),
            assistant(text("Yes: legacy url.parse() is deprecated; use new URL().")),
            user(text("Thanks. And what was my order number again?")),
            assistant(text("Your order number is HX-4471.")),
        ],
    }


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "support-hx4471.json"
    log.write_text(json.dumps(claude_log(), ensure_ascii=False), encoding="utf-8")

    # From Python. A probe asks, at the last request, whether the order number the
    # user gave in the first turn is still in the window.
    session = session_from_anthropic_messages(log)
    last = max(i for i, e in enumerate(session.events) if e.type == "request")
    probe = ProbeEvent(
        t_ms=session.events[last].t_ms, type="probe", needle="HX-4471", introduced=0
    )
    events = [*session.events[:last], probe, *session.events[last:]]
    session = Session(events, name=session.name)
    policies: dict[str, Policy] = {
        "baseline": WholeUpdateBaseline(),
        "recommended": Recommended(),
        "drop-oldest": DropOldest(),
    }
    result = simulate(session, policies, budget=8_000)
    print(f"{session.name}: {len(session.events)} events, budget 8,000")
    for row in result.table():
        print(
            f"  {row['policy']:<12} lost {row['cliff_tokens']:>6,} tokens in its worst "
            f"step ({row['cliff_share']:.0%} of the history), order number "
            f"{'kept' if row['probes_found'] else 'LOST'}"
        )

    # From the shell: the same log, found in its directory.
    print(f"\n$ ctxchunk simulate {folder} --budget 8000")
    sys.exit(ctxchunk_main(["simulate", str(folder), "--budget", "8000"]))


if __name__ == "__main__":
    main()
