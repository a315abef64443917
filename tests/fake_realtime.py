"""An in-process fake of a Realtime session's conversation, strict about its rules.

It holds the conversation's items in order and applies the client events ctxchunk
sends, recording an error for each one the Realtime API reference says the server
rejects (the GA interface, platform.openai.com/docs/api-reference/realtime-client-
events): ``conversation.item.create`` whose ``previous_item_id`` is not an item
(``"root"`` puts it first; no id appends it) or whose item id is taken, and a
``function_call_output`` whose call is not in the conversation;
``conversation.item.delete`` of an item that does not exist;
``conversation.item.truncate`` of an item that does not exist, is not an assistant
message with audio, or with an ``audio_end_ms`` of 0 or past the audio's end. Every
event is also checked against the openai SDK's client event types. The server's own
items (committed user audio, the model's responses and calls) are made with
:meth:`FakeRealtime.server_item`.
"""

from __future__ import annotations

from typing import Any

from tests import sdk_types

SENT: list[int] = [0]
"""Events all fake servers of this process were sent (for reports)."""


class FakeRealtime:
    """The conversation of one fake session."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.audio_ms: dict[str, int] = {}
        self.errors: list[str] = []
        self.sent = 0
        self._next = 0

    def ids(self) -> list[str]:
        """The item ids, in conversation order."""
        return [item["id"] for item in self.items]

    def server_item(
        self,
        role: str,
        *,
        audio_ms: int = 0,
        call_id: str | None = None,
        name: str = "tool",
        item_id: str | None = None,
    ) -> str:
        """Append an item the server made (as after ``response.done``); its id."""
        self._next += 1
        if item_id is None:
            item_id = f"item_{self._next:06d}"
        if call_id is not None:
            item = {"id": item_id, "type": "function_call", "call_id": call_id}
            item["name"] = name
        else:
            item = {"id": item_id, "type": "message", "role": role}
        self.items.append(item)
        if audio_ms:
            self.audio_ms[item_id] = audio_ms
        return item_id

    def send(self, event: dict[str, Any]) -> None:
        """Apply one client event, recording an error when the server would."""
        sdk_types.check("realtime events", [event])
        self.sent += 1
        SENT[0] += 1
        kind = event["type"]
        ids = self.ids()
        if kind == "session.update":
            return
        if kind == "conversation.item.create":
            item = event["item"]
            previous = event.get("previous_item_id")
            if item["id"] in ids:
                return self._error(f"item id {item['id']} already exists")
            if previous is not None and previous != "root" and previous not in ids:
                return self._error(f"previous_item_id {previous} not found")
            if item["type"] == "function_call_output" and not any(
                i.get("type") == "function_call" and i["call_id"] == item["call_id"]
                for i in self.items
            ):
                return self._error(f"no function_call with call_id {item['call_id']}")
            at = len(ids)
            if previous == "root":
                at = 0
            elif previous is not None:
                at = ids.index(previous) + 1
            self.items.insert(at, dict(item))
            return None
        if kind == "conversation.item.delete":
            if event["item_id"] not in ids:
                return self._error(f"delete: item {event['item_id']} not found")
            del self.items[ids.index(event["item_id"])]
            self.audio_ms.pop(event["item_id"], None)
            return None
        if kind == "conversation.item.truncate":
            item_id = event["item_id"]
            if item_id not in ids:
                return self._error(f"truncate: item {item_id} not found")
            item = self.items[ids.index(item_id)]
            if item.get("role") != "assistant" or item_id not in self.audio_ms:
                return self._error(f"truncate: {item_id} is not assistant audio")
            end = event["audio_end_ms"]
            if not 0 < end <= self.audio_ms[item_id]:
                return self._error(
                    f"truncate: audio_end_ms {end} outside the item's "
                    f"{self.audio_ms[item_id]} ms of audio"
                )
            self.audio_ms[item_id] = end
            return None
        return self._error(f"unexpected event {kind}")

    def _error(self, message: str) -> None:
        self.errors.append(message)
