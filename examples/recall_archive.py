"""A support agent whose archive lives in SQLite: restart, then recall.

Runs offline: no model is called. The window is small on purpose, so early turns
leave it; the process "restarts" from its saved state and the same file, and the
model's ``recall_history`` call is answered from the archive.

    python examples/recall_archive.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ctxchunk import ContextWindow, tool_definitions
from ctxchunk.archive import SQLiteArchive

OPENING = [
    ("user", "Hi, my order 88213 arrived with a cracked blender jar."),
    ("assistant", "Sorry about that. Let me see which warehouses have jars."),
]
DETAILS = [
    ("assistant", "Can you tell me the jar's model number?"),
    ("user", "It says BJ-450 on the base. I bought it on the 3rd of May."),
    ("assistant", "Thanks. I can send a new jar or refund the order."),
    ("user", "A new jar please, to 14 Quay Street, Leith."),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.db"
        window = ContextWindow(
            300, chunk_tokens=60, archive=SQLiteArchive(path, session="call-42")
        )
        for role, text in OPENING:
            window.add_turn(role, text)
        for i in range(12):  # the call goes on: stock lookups, questions
            if i == 2:  # the details come mid-call, and leave the window later
                for role, text in DETAILS:
                    window.add_turn(role, text)
            window.add_turn("user", f"Is warehouse {i} closer to Leith?")
            window.add_tool_call(
                "lookup_stock", {"warehouse": i}, f"Warehouse {i}: 3 jars. " * 6
            )
            window.add_turn("assistant", f"Warehouse {i} has jars; it is {i + 2} km.")
        state = window.to_json()  # the archive stays in the file
        archived = len(window.archive_store)
        window.archive_store.close()
        print(f"state: {len(state):,} bytes, archive: {archived} chunks in SQLite")

        # A new process: the saved state and the same file.
        again = ContextWindow.from_json(
            state, archive=SQLiteArchive(path, session="call-42")
        )
        names = [t["function"]["name"] for t in tool_definitions(again, recall=True)]
        print(f"tools declared: {names}")
        # The model asks; the agent answers its recall_history call.
        again.recall("model number on the base", limit=2, call_id="call_recall_1")
        result = "".join(
            c.text
            for c in again.chunks
            if c.meta.call_id == "call_recall_1" and c.kind.value == "tool_result"
        )
        print(result)
        assert "BJ-450" in result
        again.archive_store.close()
        print(json.dumps({"recalled": "BJ-450" in result}))


if __name__ == "__main__":
    main()
