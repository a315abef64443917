"""Long random session logs for scale tests and benchmarks (seeded and deterministic).

:func:`generate_session` builds a :class:`~ctxchunk.session.Session` of any length from
a seed: user and assistant turns (some with word timings and interruptions), tool calls
with bulky results, fetched documents, a ``request`` after every user turn, and
``probe`` events that ask whether an early fact (a ``needle``) is still in context.
The same arguments always give the same session, in every process and Python version:
only :class:`random.Random` seeded with an int is used.
"""

from __future__ import annotations

import json
import random
from typing import Any

from ctxchunk.session import (
    DocumentEvent,
    Event,
    InstructionsEvent,
    InterruptEvent,
    ProbeEvent,
    RequestEvent,
    Session,
    ToolCallEvent,
    TurnEvent,
    WordTiming,
)

__all__ = ["filler_paragraph", "generate_session"]

_SUBJECTS = (
    "the delivery window",
    "the replacement part",
    "the invoice for March",
    "the router in the back office",
    "the second account",
    "the warranty claim",
    "the shared calendar",
    "the backup job",
    "the travel booking",
    "the lab results",
    "the firmware update",
    "the conference room screen",
)
_VERBS = (
    "still shows",
    "was changed to",
    "keeps reverting to",
    "needs to match",
    "should not depend on",
    "was supposed to include",
    "stopped reporting",
    "now points at",
)
_OBJECTS = (
    "the old address",
    "a pending status",
    "last week's figures",
    "the default settings",
    "two separate entries",
    "an error code nobody recognises",
    "the wrong time zone",
    "a blank page",
    "the numbers from the quote",
)
_OPENERS = (
    "Okay, so",
    "Right,",
    "Just to be clear,",
    "Hmm,",
    "One more thing:",
    "Sorry, going back a bit,",
    "Also,",
    "Thanks. Now",
)
_ASSISTANT_MOVES = (
    "I checked that, and",
    "Looking at the record,",
    "From what the system shows,",
    "Good question.",
    "Let me summarise where we are:",
    "I can confirm that",
    "That matches what I see:",
)
_FOLLOW_UPS = (
    "I would suggest we verify it once more before changing anything.",
    "The simplest fix is to update it and watch the next cycle.",
    "If that does not help, the next step is a reset of the profile.",
    "I have noted it on the case so nobody asks you again.",
    "It usually settles within an hour after the change.",
    "Nothing else on the account looks unusual.",
)
_TOOLS = ("lookup_order", "search_kb", "get_logs", "check_status", "list_devices")

_NEEDLE_KINDS = (
    "my reference number is {code}",
    "the access code is {code}",
    "please send it to unit {code}",
    "the ticket we opened last month was {code}",
)


def _code(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2))
    return f"{letters}-{rng.randrange(1000, 10000)}"


def _sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_VERBS)} "
        f"{rng.choice(_OBJECTS)}."
    )


def filler_paragraph(rng: random.Random, sentences: int) -> str:
    """Return ``sentences`` random, plausible support-call sentences as one paragraph.

    >>> filler_paragraph(random.Random(1), 2).count(".")
    2
    """
    return " ".join(_sentence(rng) for _ in range(sentences))


def _words(text: str, rng: random.Random) -> tuple[WordTiming, ...]:
    timings = []
    at = 0
    for word in text.split():
        length = 120 + 40 * len(word) + rng.randrange(0, 80)
        timings.append(WordTiming(word=word, start_ms=at, end_ms=at + length))
        at += length + 30
    return tuple(timings)


def generate_session(
    seed: int,
    *,
    turns: int = 100,
    tool_every: int = 4,
    document_every: int = 9,
    probes: int = 5,
    interrupt_rate: float = 0.1,
    name: str | None = None,
) -> Session:
    """Return a random but reproducible session with ``turns`` user turns.

    Each user turn is answered by an assistant turn, after a ``request``. Every
    ``tool_every``-th exchange also calls a tool with a bulky JSON result, every
    ``document_every``-th one reads a document, and about ``interrupt_rate`` of the
    assistant turns are interrupted part-way. ``probes`` needles (codes such as
    ``KX-4821``) are said by the user early on and probed at the end, plus one
    probe just after each needle is said.

    Args:
        seed: Seeds :class:`random.Random`; the same seed gives the same session.
        turns: How many user turns.
        tool_every: A tool call every this many exchanges (0: none).
        document_every: A document every this many exchanges (0: none).
        probes: How many needles to plant and probe.
        interrupt_rate: The share of assistant turns the user interrupts.
        name: The session's name; by default ``random-<seed>``.

    Returns:
        The session.

    >>> a = generate_session(7, turns=5)
    >>> a == generate_session(7, turns=5), len(a.events) > 10
    (True, True)
    """
    rng = random.Random(seed)
    events: list[Event] = []
    t = 0

    def step(ms: int) -> int:
        nonlocal t
        t += ms
        return t

    events.append(
        InstructionsEvent(
            t_ms=0,
            text=(
                "You are a patient support agent. Keep answers short, confirm "
                "numbers back to the caller, and never invent account details."
            ),
        )
    )
    early = range(max(turns // 2, 1))
    needle_turns = sorted(rng.sample(early, min(probes, len(early))))
    planted: list[tuple[str, str]] = []
    for index in range(turns):
        user_id = f"u{index}"
        text = f"{rng.choice(_OPENERS)} {filler_paragraph(rng, rng.randrange(1, 4))}"
        if index in needle_turns:
            needle = rng.choice(_NEEDLE_KINDS).format(code=_code(rng))
            text = f"{text} And {needle}."
            planted.append((needle, user_id))
        events.append(TurnEvent(t_ms=step(2500), id=user_id, role="user", text=text))
        if planted and planted[-1][1] == user_id:
            events.append(
                ProbeEvent(t_ms=step(1), needle=planted[-1][0], introduced=user_id)
            )
        if tool_every and index % tool_every == tool_every - 1:
            tool = rng.choice(_TOOLS)
            result: dict[str, Any] = {
                "status": rng.choice(["ok", "pending", "degraded"]),
                "records": [
                    {"id": _code(rng), "note": filler_paragraph(rng, 2)}
                    for _ in range(rng.randrange(3, 12))
                ],
            }
            events.append(RequestEvent(t_ms=step(400)))
            events.append(
                ToolCallEvent(
                    t_ms=step(600),
                    name=tool,
                    arguments=json.dumps({"query": _code(rng)}),
                    result=json.dumps(result, sort_keys=True),
                    call_id=f"call_{index}",
                )
            )
        if document_every and index % document_every == document_every - 1:
            body = "\n\n".join(
                filler_paragraph(rng, rng.randrange(4, 9))
                for _ in range(rng.randrange(4, 10))
            )
            events.append(
                DocumentEvent(
                    t_ms=step(800),
                    url=f"https://help.example.com/articles/{rng.randrange(100, 999)}",
                    title=f"Help article {index}",
                    content=body,
                    format="text",
                )
            )
        events.append(RequestEvent(t_ms=step(300)))
        body = filler_paragraph(rng, rng.randrange(2, 6))
        reply = f"{rng.choice(_ASSISTANT_MOVES)} {body} {rng.choice(_FOLLOW_UPS)}"
        reply_id = f"a{index}"
        words = _words(reply, rng)
        events.append(
            TurnEvent(
                t_ms=step(900), id=reply_id, role="assistant", text=reply, words=words
            )
        )
        if rng.random() < interrupt_rate:
            cut = words[rng.randrange(len(words))]
            events.append(
                InterruptEvent(
                    t_ms=step(cut.end_ms), item=reply_id, heard_ms=cut.end_ms
                )
            )
    for needle, source in planted:
        events.append(ProbeEvent(t_ms=step(1), needle=needle, introduced=source))
    return Session(events, name=name or f"random-{seed}")
