"""Re-reads, the model's own calls and server items (issue 11, items 1 and 3)."""

from __future__ import annotations

import json

from ctxchunk.change import Reason
from ctxchunk.render import (
    RealtimeMirror,
    to_anthropic,
    to_openai_chat,
    to_responses_input,
    tool_definitions,
)
from ctxchunk.window import ContextWindow
from tests import sdk_types
from tests.fake_realtime import FakeRealtime

PAGE = "Ferries leave Oslo every 30 minutes from 06:00. Tickets cost 60 NOK."


def test_reading_a_page_again_moves_it_to_the_newest_position() -> None:
    w = ContextWindow(2000, chunk_tokens=200)
    first = w.add_document(PAGE, url="https://example.com/ferry")
    w.add_turn("user", "And the weather?")
    again = w.add_document(PAGE, url="https://example.com/ferry")
    assert [e.reason for e in again.evicted] == [Reason.REFRESHED]
    assert [c.id for c in again.added] == [c.id for c in first.added]
    assert w.chunks[-1].id == first.added[0].id
    assert again.lost_tokens == 0


def test_a_new_version_of_the_page_replaces_the_old_one() -> None:
    w = ContextWindow(2000, chunk_tokens=200)
    w.add_document(PAGE, url="https://example.com/ferry")
    change = w.add_document(PAGE + " Bikes ride free.", url="https://example.com/ferry")
    assert [e.reason for e in change.evicted] == [Reason.REFRESHED]
    assert [c.text for c in w.chunks if c.meta.url] == [change.added[0].text]


def test_document_keeps_the_models_call_id_and_tool_name() -> None:
    w = ContextWindow(2000, chunk_tokens=200)
    w.add_document(
        PAGE, url="https://example.com/ferry", call_id="call_f1", name="fetch"
    )
    chat = to_openai_chat(w)
    assert chat[0]["tool_calls"][0]["id"] == "call_f1"
    assert chat[0]["tool_calls"][0]["function"]["name"] == "fetch"
    assert chat[1]["tool_call_id"] == "call_f1"
    args = json.loads(chat[0]["tool_calls"][0]["function"]["arguments"])
    # The source is what window.read takes back.
    assert PAGE in w.read(args["source"])


def test_calls_of_one_turn_render_as_one_assistant_message() -> None:
    w = ContextWindow(2000, chunk_tokens=200)
    w.add_tool_calls(
        [
            {
                "name": "weather",
                "arguments": {"city": "Oslo"},
                "result": "4 C",
                "call_id": "call_a",
            },
            {"name": "clock", "arguments": {}, "result": "12:00", "call_id": "call_b"},
        ]
    )
    chat = to_openai_chat(w)
    assert [m["role"] for m in chat] == ["assistant", "tool", "tool"]
    assert [t["id"] for t in chat[0]["tool_calls"]] == ["call_a", "call_b"]
    messages = to_anthropic(w)["messages"]
    uses = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
    assert messages[1]["role"] == "assistant"
    assert len(uses) == 2


def test_read_document_declared_when_a_marker_is_inside_a_tool_result() -> None:
    w = ContextWindow(700, chunk_tokens=60, max_update_tokens=60)
    w.add_tool_call("search", {"q": "ferries"}, PAGE * 40, call_id="call_s")
    marked = [c for c in w.chunks if c.meta.marks is not None]
    assert marked
    assert all(c.kind.value == "tool_result" for c in marked)
    for fmt in ("chat", "responses", "anthropic"):
        names = [
            t.get("name") or t["function"]["name"]
            for t in tool_definitions(w, format=fmt)
        ]
        assert "read_document" in names


def test_responses_shapes_pass_the_sdk_types() -> None:
    w = ContextWindow(2000, chunk_tokens=200)
    w.add_turn("user", "Hi")
    w.add_turn("assistant", "Hello!")
    w.add_document(PAGE, url="https://example.com/ferry")
    sdk_types.check("responses input", to_responses_input(w))
    sdk_types.check("responses tools", tool_definitions(w, format="responses"))


def test_server_items_are_named_by_their_ids_and_never_created() -> None:
    server, mirror = FakeRealtime(), RealtimeMirror()
    w = ContextWindow(400, chunk_tokens=60)
    user = server.server_item("user", audio_ms=2000)
    for event in mirror.events(w.add_turn("user", "Where is the ferry?", item_id=user)):
        server.send(event)
    reply = server.server_item("assistant", audio_ms=3000)
    change = w.add_turn(
        "assistant",
        "It leaves from pier two every thirty minutes, starting at six.",
        start_ms=0,
        end_ms=3000,
        item_id=reply,
    )
    assert mirror.events(change) == []
    events = mirror.events(w.interrupt(reply, 900))
    assert [e["type"] for e in events] == ["conversation.item.truncate"]
    assert events[0]["item_id"] == reply
    for event in events:
        server.send(event)
    created = mirror.events(w.add_turn("user", "Thanks."))
    assert created[0]["previous_item_id"] == reply
    for event in created:
        server.send(event)
    assert server.errors == []
    assert server.ids() == [user, reply, created[0]["item"]["id"]]


def test_interrupted_client_text_is_replaced_not_truncated() -> None:
    server, mirror = FakeRealtime(), RealtimeMirror()
    w = ContextWindow(400, chunk_tokens=60)
    for event in mirror.events(w.add_turn("assistant", "One two three four five.")):
        server.send(event)
    source = w.chunks[0].source
    for event in mirror.events(w.interrupt(source, 800)):
        server.send(event)
    assert server.errors == []
    assert len(server.items) == 1
    assert server.items[0]["content"][0]["text"] == "One two"
