"""Realtime logs that hold both sides: what the client sent and the server's echo.

An agent that logs every event it sends and receives has each client-created item
twice: ``conversation.item.create`` (often without an id) and the server's
``conversation.item.added`` / ``done`` (with the id the server gave it), and each
truncation twice (``truncate``, then ``truncated``). Either copy names one item, so the
log imports as the server's side alone does. Client events are checked against the
``openai`` SDK's client event types, server events against its server event types.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from ctxchunk.session import session_from_realtime_events
from tests import sdk_types
from tests.strategies import prose, turn_texts

_SERVER = TypeAdapter(list[RealtimeServerEvent])

_steps = st.lists(
    st.one_of(
        st.tuples(st.just("user"), turn_texts()),
        st.tuples(st.just("assistant"), turn_texts(), st.none() | st.integers(0, 9000)),
        st.tuples(st.just("tool"), st.sampled_from(["weather", "search"]), prose()),
    ),
    max_size=10,
)


class _Log:
    """Writes one conversation as the server's events, and optionally the client's."""

    def __init__(self, both: bool) -> None:
        self.both = both
        self.client: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.n = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n}"

    def _server(self, event: dict[str, Any]) -> None:
        self.events.append({"event_id": self._id("event"), **event})

    def _send(self, event: dict[str, Any]) -> None:
        if self.both:
            self.client.append(event)
            self.events.append(event)

    def user(self, text: str) -> None:
        content = [{"type": "input_text", "text": text}]
        self._send(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": content},
            }
        )
        item = {
            "id": self._id("item"),
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": content,
        }
        for kind in ("conversation.item.added", "conversation.item.done"):
            self._server({"type": kind, "previous_item_id": None, "item": item})

    def _respond(self, item: dict[str, Any]) -> None:
        self._send({"type": "response.create"})
        response = self._id("resp")
        self._server({"type": "response.created", "response": {"id": response}})
        self._server(
            {
                "type": "response.output_item.done",
                "response_id": response,
                "output_index": 0,
                "item": item,
            }
        )

    def assistant(self, text: str, heard: int | None) -> None:
        item_id = self._id("item")
        self._respond(
            {
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_audio", "transcript": text}],
            }
        )
        if heard is not None:
            cut = {"item_id": item_id, "content_index": 0, "audio_end_ms": heard}
            self._send({"type": "conversation.item.truncate", **cut})
            self._server({"type": "conversation.item.truncated", **cut})

    def tool(self, name: str, result: str) -> None:
        call_id = self._id("call")
        self._respond(
            {
                "id": self._id("item"),
                "type": "function_call",
                "status": "completed",
                "name": name,
                "call_id": call_id,
                "arguments": json.dumps({"q": call_id}),
            }
        )
        output = {"type": "function_call_output", "call_id": call_id, "output": result}
        self._send({"type": "conversation.item.create", "item": output})
        self._server(
            {
                "type": "conversation.item.added",
                "previous_item_id": None,
                "item": {"id": self._id("item"), **output},
            }
        )


def _write(steps: list[Any], *, both: bool) -> _Log:
    log = _Log(both)
    for step in steps:
        getattr(log, step[0])(*step[1:])
    return log


def _untimed(events: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in vars(e).items() if k != "t_ms"} for e in events]


@given(_steps)
def test_a_log_of_both_sides_imports_as_the_servers_side(steps):
    server_only = _write(steps, both=False)
    both = _write(steps, both=True)
    sdk_types.check("realtime events", both.client)
    server_events = [e for e in both.events if "event_id" in e]
    assert len(_SERVER.validate_python(server_events)) == len(server_events)
    alone = session_from_realtime_events(server_only.events).events
    together = session_from_realtime_events(both.events).events
    assert _untimed(together) == _untimed(alone)
    # Each user turn, tool call and heard interruption is there once.
    assert [e.type for e in alone].count("turn") == sum(
        1 for s in steps if s[0] in ("user", "assistant") and s[1]
    )
    assert [e.type for e in alone].count("tool_call") == sum(
        1 for s in steps if s[0] == "tool"
    )


def test_a_tool_output_sent_and_echoed_is_one_call_named_by_its_call():
    log = _write([("tool", "weather", "3 C, snow")], both=True)
    calls = [
        e
        for e in session_from_realtime_events(log.events).events
        if e.type == "tool_call"
    ]
    assert [(c.name, c.result) for c in calls] == [("weather", "3 C, snow")]


def test_a_truncation_sent_and_confirmed_is_one_interrupt():
    steps = [("user", "Hi"), ("assistant", "Hello there, friend.", 400)]
    log = _write(steps, both=True)
    events = session_from_realtime_events(log.events).events
    assert [(e.type, getattr(e, "heard_ms", None)) for e in events][-1:] == [
        ("interrupt", 400)
    ]
    assert [e.type for e in events].count("interrupt") == 1


def test_a_message_sent_again_is_a_new_turn():
    """Only the server's copy of a message merges with the client's: the same words
    sent twice are two turns."""
    log = _write([("user", "Repeat that?"), ("user", "Repeat that?")], both=True)
    turns = list(session_from_realtime_events(log.events).events)
    assert [e.text for e in turns if e.type == "turn"] == ["Repeat that?"] * 2
    unanswered = log.events[:1] * 2  # the client sent it twice, no echo logged
    turns = session_from_realtime_events(unanswered).events
    assert [e.text for e in turns if e.type == "turn"] == ["Repeat that?"] * 2


@given(_steps)
def test_a_log_of_finished_responses_imports_as_the_full_log(steps):
    """A log that keeps only ``response.done`` (with its ``output``) for the model's
    items, a common way to log usage, has every assistant turn and tool call."""
    log = _write(steps, both=False)
    finished: list[dict[str, Any]] = []
    for event in log.events:
        if event["type"] != "response.output_item.done":
            finished.append(event)
            continue
        done = {
            "type": "response.done",
            "event_id": event["event_id"] + "_done",
            "response": {
                "id": event["response_id"],
                "status": "completed",
                "output": [event["item"]],
            },
        }
        _SERVER.validate_python([done])
        finished.append(done)
    full = session_from_realtime_events(log.events).events
    assert _untimed(session_from_realtime_events(finished).events) == _untimed(full)
    # Both kept: each item is still read once.
    both = [e for event in log.events for e in (event, *_done_of(event))]
    assert _untimed(session_from_realtime_events(both).events) == _untimed(full)


def _done_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    if event["type"] != "response.output_item.done":
        return []
    response = {"id": event["response_id"], "output": [event["item"]]}
    return [{"type": "response.done", "event_id": "d", "response": response}]


@given(_steps, st.booleans())
def test_a_log_of_transcript_events_imports_as_the_full_log(steps, beta):
    """The model's spoken items known only from ``output_item.added`` (no content yet)
    and the transcript's ``done`` event (GA or beta name) are the same turns."""
    log = _write(steps, both=False)
    spoken: list[dict[str, Any]] = []
    for event in log.events:
        item = event.get("item", {})
        if event["type"] != "response.output_item.done" or item["type"] != "message":
            spoken.append(event)
            continue
        where = {"response_id": event["response_id"], "output_index": 0}
        empty = {**item, "status": "in_progress", "content": []}
        spoken.append({**event, "type": "response.output_item.added", "item": empty})
        name = (
            "response.audio_transcript.done"
            if beta
            else ("response.output_audio_transcript.done")
        )
        transcript = item["content"][0]["transcript"]
        done = {
            "type": name,
            "event_id": event["event_id"] + "_t",
            **where,
            "item_id": item["id"],
            "content_index": 0,
            "transcript": transcript,
        }
        if not beta:
            _SERVER.validate_python([done])
        spoken.append(done)
    full = session_from_realtime_events(log.events).events
    assert _untimed(session_from_realtime_events(spoken).events) == _untimed(full)


def _function_call(item_id: str, call_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "name": "lookup",
        "call_id": call_id,
        "arguments": json.dumps({"q": call_id}),
    }


def _output(call_id: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "function_call_output",
            "call_id": call_id,
            "output": f"result {call_id}",
        },
    }


def _batches(events: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [
        (e.call_id, getattr(e, "batch", None))
        for e in session_from_realtime_events(events).events
        if e.type == "tool_call"
    ]


def test_the_calls_of_one_response_are_one_batch():
    """Function calls a response outputs share a batch named by the response; the
    lone call of the next response has none."""
    server = [
        {"event_id": "e1", "type": "response.created", "response": {"id": "resp_1"}},
        *(
            {
                "event_id": f"e{k + 2}",
                "type": "response.output_item.done",
                "response_id": "resp_1",
                "output_index": k,
                "item": _function_call(f"item_{k}", f"call_{k}"),
            }
            for k in range(3)
        ),
        {"event_id": "e9", "type": "response.created", "response": {"id": "resp_2"}},
        {
            "event_id": "e10",
            "type": "response.output_item.done",
            "response_id": "resp_2",
            "output_index": 0,
            "item": _function_call("item_9", "call_9"),
        },
    ]
    _SERVER.validate_python(server)
    client = [_output("call_0"), _output("call_1"), _output("call_2")]
    sdk_types.check("realtime events", [*client, _output("call_9")])
    events = [*server[:4], *client, *server[4:], _output("call_9")]
    assert _batches(events) == [
        ("call_0", "resp_1"),
        ("call_1", "resp_1"),
        ("call_2", "resp_1"),
        ("call_9", None),
    ]


def test_a_response_without_an_id_is_numbered_and_done_closes_it():
    """Items the server adds while a response is under way are its output (named
    step-<n> when the log gives no id); after response.done, or from the client,
    a call is no step of the model's."""
    events = [
        {"type": "response.created", "response": {}},
        {"type": "conversation.item.added", "item": _function_call("i1", "c1")},
        {"type": "conversation.item.added", "item": _function_call("i2", "c2")},
        {"type": "response.done", "response": {"output": []}},
        {"type": "conversation.item.create", "item": _function_call("i3", "c3")},
        {"type": "conversation.item.added", "item": _function_call("i4", "c4")},
        *(_output(c) for c in ("c1", "c2", "c3", "c4")),
    ]
    assert _batches(events) == [
        ("c1", "step-1"),
        ("c2", "step-1"),
        ("c3", None),
        ("c4", None),
    ]


def test_a_log_of_finished_responses_batches_their_output():
    """A log that keeps only response.done has each response's calls in its output."""
    done = {
        "type": "response.done",
        "response": {
            "id": "resp_7",
            "output": [_function_call("i1", "c1"), _function_call("i2", "c2")],
        },
    }
    events = [done, _output("c1"), _output("c2")]
    assert _batches(events) == [("c1", "resp_7"), ("c2", "resp_7")]


def test_a_deleted_item_stays_in_the_replay():
    """conversation.item.delete / deleted are the client's own context management:
    the replay keeps the item, and each replayed policy decides what leaves."""
    created = {
        "type": "conversation.item.created",
        "item": {
            "id": "item_1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "My order is A-1042."}],
        },
    }
    deleting = [
        {"type": "conversation.item.delete", "item_id": "item_1"},
        {"type": "conversation.item.deleted", "item_id": "item_1"},
    ]
    request = {"type": "response.created", "response": {"id": "resp_1"}}
    kept = session_from_realtime_events([created, *deleting, request]).events
    plain = session_from_realtime_events([created, request]).events
    # (Times differ: without a t_ms, each logged event counts as a step of time.)
    assert [e.model_copy(update={"t_ms": 0}) for e in kept] == [
        e.model_copy(update={"t_ms": 0}) for e in plain
    ]
    assert kept[0].text == "My order is A-1042."
