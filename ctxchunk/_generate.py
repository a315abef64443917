"""Session logs for scale tests, benchmarks and policy studies (seeded, deterministic).

Two generators, both driven only by :class:`random.Random` seeded with an int, so the
same arguments give the same session in every process and Python version:

- :func:`generate_session` builds a long, uniform session of any length: user and
  assistant turns (some with word timings and interruptions), tool calls with bulky
  results, fetched documents, a ``request`` after every user turn, and ``probe``
  events that ask whether an early fact (a ``needle``) is still in context.
- :func:`generate_realistic_session` builds sessions shaped like the ones real agents
  log (:data:`REALISTIC_SHAPES`): a voice research agent that opens whole web pages,
  some larger than a 16,000-token budget; a support call with 7,500-token knowledge
  base articles among small lookups; a long chat of small turns; a chat in which the
  user pastes a 10,000-token log when the window has about 5,000 tokens free; and an
  agent that calls several tools in one step. Page, article and log sizes are
  measured in real ``o200k_base`` tokens. Facts with unique needles are planted in
  user turns and inside documents and tool results, and probed at known distances
  (:data:`PROBE_DISTANCES`, measured back by :func:`probe_distances`).
"""

from __future__ import annotations

import datetime
import json
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from html import escape
from pathlib import Path
from string import Template
from types import MappingProxyType
from typing import Any

import attrs

from ctxchunk._checks import check_int
from ctxchunk.documents import read_document
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
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
from ctxchunk.tokens import Tokenizer, get_tokenizer

__all__ = [
    "ARTICLE_TOKENS",
    "BIG_PAGE_TOKENS",
    "DEFAULT_TURNS",
    "PASTE_BUDGET",
    "PASTE_FREE_TOKENS",
    "PASTE_TOKENS",
    "PROBE_DISTANCES",
    "REALISTIC_SHAPES",
    "SMALL_PAGE_TOKENS",
    "SMALL_RESULT_TOKENS",
    "TYPICAL_ARTICLE_TOKENS",
    "filler_paragraph",
    "generate_realistic_session",
    "generate_session",
    "probe_distances",
    "realistic_sessions",
    "repo_corpus",
]

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


# Realistic sessions -------------------------------------------------------------------

REALISTIC_SHAPES: tuple[str, ...] = (
    "voice_research",
    "support_call",
    "long_chat",
    "paste",
    "parallel_tools",
)
"""The session shapes :func:`generate_realistic_session` builds, in the order
:func:`realistic_sessions` cycles through them."""

PROBE_DISTANCES: tuple[int, ...] = (2_000, 8_000, 20_000, 40_000)
"""How far after a planted fact (in tokens of session content) it is probed, by
default: a few turns, a few pages, about a 16,000-token budget, and well beyond it."""

DEFAULT_TURNS: Mapping[str, int] = MappingProxyType(
    {
        "voice_research": 10,
        "support_call": 16,
        "long_chat": 120,
        "paste": 12,
        "parallel_tools": 12,
    }
)
"""User turns per session of each shape when ``turns`` is not given."""

BIG_PAGE_TOKENS = (20_000, 45_000)
"""Token range of the large pages a voice research agent opens: each is larger than a
16,000-token budget on its own (voice agents fetch whole documentation pages and
articles of this size)."""

SMALL_PAGE_TOKENS = (1_000, 8_000)
"""Token range of the other pages a voice research agent opens."""

ARTICLE_TOKENS = (5_000, 20_000)
"""Token range of a support knowledge base article result; most fall in
:data:`TYPICAL_ARTICLE_TOKENS`."""

TYPICAL_ARTICLE_TOKENS = (6_500, 8_500)
"""Where most article results fall: about 7,500 tokens, the size support agents report
for one knowledge base lookup."""

SMALL_RESULT_TOKENS = (50, 400)
"""Token range of the small tool results (an order, a status, a device record)."""

PASTE_TOKENS = (9_500, 10_500)
"""Token range of the log the user pastes in the ``paste`` shape."""

PASTE_BUDGET = 16_000
"""The budget the ``paste`` shape is built for."""

PASTE_FREE_TOKENS = 5_000
"""How many tokens of :data:`PASTE_BUDGET` are free, about, when the paste arrives."""

_TYPICAL_ARTICLE_SHARE = 0.7
"""The share of article results drawn from :data:`TYPICAL_ARTICLE_TOKENS`."""

_MESSAGE_OVERHEAD = 4
"""Tokens a chat message costs beyond its text (OpenAI's framing, 3-4 a message)."""

_TOOL_OVERHEAD = 20
"""Tokens a tool call and its result cost beyond the result text and arguments: two
messages, the call's id and the function name."""


def _items(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


@attrs.frozen(slots=True)
class _Topic:
    """What a page, an article or a stretch of chat is about.

    Attributes:
        title: A headline for pages about it.
        terms: Nouns the prose is built from (at least two, all distinct).
        technical: Whether pages about it carry code samples.
    """

    title: str
    terms: tuple[str, ...]
    technical: bool = False


_RESEARCH_TOPICS = (
    _Topic(
        "Heat pumps in cold climates",
        _items(
            "heat pump, compressor, refrigerant charge, defrost cycle, outdoor coil, "
            "backup heater, inverter drive, duct system, seasonal efficiency rating, "
            "thermostat schedule"
        ),
    ),
    _Topic(
        "Sourdough fermentation",
        _items(
            "starter, levain, dough hydration, bulk fermentation, autolyse, wild "
            "yeast, lactic acid bacteria, crumb structure, proofing basket, rye flour"
        ),
    ),
    _Topic(
        "Urban beekeeping",
        _items(
            "hive, colony, queen, varroa mite load, brood frame, nectar flow, swarm, "
            "honey super, forage radius, winter cluster"
        ),
    ),
    _Topic(
        "Structured concurrency with asyncio",
        _items(
            "event loop, coroutine, task group, semaphore, thread pool executor, "
            "cancellation scope, timeout, stream reader, exception group, callback"
        ),
        technical=True,
    ),
    _Topic(
        "Home solar with battery storage",
        _items(
            "inverter, panel string, battery pack, charge controller, net meter, "
            "state of charge, microinverter, grid connection, peak tariff, roof "
            "orientation"
        ),
    ),
    _Topic(
        "Marathon training plans",
        _items(
            "long run, tempo run, taper, glycogen store, cadence, recovery week, "
            "heart rate zone, interval session, race pace, easy mileage"
        ),
    ),
    _Topic(
        "Roman road building",
        _items(
            "road surface, milestone, embankment, paving stone, legion, surveyor, "
            "drainage ditch, gravel bed, stone bridge, waystation"
        ),
    ),
    _Topic(
        "Sleep and memory consolidation",
        _items(
            "slow-wave sleep, REM sleep, hippocampus, sleep spindle, circadian "
            "rhythm, melatonin level, afternoon nap, recall test, adenosine build-up,"
            " sleep diary"
        ),
    ),
    _Topic(
        "Caching HTTP APIs",
        _items(
            "cache key, response header, reverse proxy, stale entry, time to live, "
            "origin server, connection pool, retry budget, rate limit, request queue"
        ),
        technical=True,
    ),
)
"""What the voice research and tool-calling agents read about."""

_SUPPORT_TOPICS = (
    _Topic(
        "Nimbus X2 router: connection drops",
        _items(
            "router, firmware, status light, mesh node, WAN port, admin app, power "
            "adapter, channel setting, factory reset, DNS setting"
        ),
        technical=True,
    ),
    _Topic(
        "Halo thermostat: schedule and pairing",
        _items(
            "thermostat, C-wire, pairing mode, heating schedule, wall plate, boiler "
            "relay, mobile app, temperature sensor, battery level, hold setting"
        ),
    ),
    _Topic(
        "Aero 5 vacuum: battery and warranty",
        _items(
            "battery, charging dock, brush roll, dust bin, filter, suction mode, "
            "warranty claim, serial label, motor, return label"
        ),
    ),
)
"""Products a support agent's calls and articles are about."""

_OPS_TOPICS = (
    _Topic(
        "Nightly export pipeline",
        _items(
            "export job, worker pool, object store, upload step, retry policy, "
            "database replica, schema migration, queue depth, parquet writer, cron "
            "schedule"
        ),
        technical=True,
    ),
    _Topic(
        "Payments service latency",
        _items(
            "payment API, connection pool, load balancer, p99 latency, circuit "
            "breaker, idempotency key, ledger table, webhook handler, read replica, "
            "deploy"
        ),
        technical=True,
    ),
)
"""What the pasted logs and the surrounding chat are about."""

_CHAT_TOPICS = (
    _Topic(
        "A week in Lisbon",
        _items(
            "itinerary, tram route, day trip, museum pass, hotel, dinner reservation,"
            " airport transfer, walking tour, viewpoint, budget"
        ),
    ),
    _Topic(
        "Learning Spanish",
        _items(
            "verb conjugation, subjunctive, vocabulary list, listening practice, "
            "flashcard deck, tutor session, accent, podcast, grammar drill, study "
            "streak"
        ),
    ),
    _Topic(
        "Weeknight cooking",
        _items(
            "meal plan, sheet pan, spice mix, leftover rice, marinade, oven "
            "temperature, grocery list, cast iron pan, stock, prep time"
        ),
    ),
    *_RESEARCH_TOPICS[4:6],
)
"""What a long chat wanders through."""

_ADJECTIVES = _items(
    "compact, larger, well-insulated, modern, traditional, oversized, "
    "variable-speed, low-cost, carefully tuned, second-hand, "
    "entry-level, professional"
)
_VERBINGS = _items(
    "inspecting, replacing, adjusting, cleaning, measuring, "
    "recalibrating, upgrading, testing, resetting, logging"
)
_FAILS = _items("drifts, wears out, stalls, degrades, is undersized, misbehaves")
_PERIODS = _items("weeks, months, seasons, years")
_CONDITIONS = _items(
    "the weather turns cold, the load is high, conditions change "
    "quickly, the setup is new, several people share it, it has been "
    "moved recently"
)
_PEOPLE = _items(
    "Dr. Amara Osei, Lena Fischer, Prof. Kenji Watanabe, Maria Gonzalez, "
    "Tom Brennan, Priya Raman, Jonas Lindqvist"
)
_INSTITUTIONS = _items(
    "the University of Leeds, ETH Zurich, a Kyoto-based lab, the "
    "Fraunhofer Institute, McGill University, a national standards "
    "lab"
)
_GROUPS = _items("households, participants, owners, practitioners, sites, teams")
_UNITS = _items("percent, degrees, hours, kilometres, kilowatt-hours, grams")

_SENTENCES = (
    "The {t1} is usually the first thing to check, because problems with the {t2} "
    "tend to show up there long before anything fails outright.",
    "In a {year} survey of {big} {group}, {pct}% said the {t1} mattered more to them "
    "than the {t2}.",
    "Most guides recommend {verbing} the {t1} every {n} {period}, and more often when "
    "{condition}.",
    "{person} argues that the {t1} and the {t2} should be treated as one system "
    "rather than two separate ones.",
    "When the {t1} {fails}, the {t2} has to make up the difference, which typically "
    "costs {pct}% of the overall performance.",
    "There is no single right answer: a {adj} {t1} suits some situations, while "
    "others call for a {adj2} one.",
    "Measured over {n} {period}, the gap between the two approaches came to about "
    "{num} {unit}.",
    "Note that the {t1} is not the same thing as the {t2}, although the two are often "
    "confused in casual writing.",
    "A common mistake is {verbing} the {t1} before the {t2} has had time to settle.",
    "Early records describe the {t1} in some detail but say surprisingly little "
    "about the {t2}.",
    "If you only remember one thing from this section, make it this: the {t1} sets "
    "the limit, and everything else works around it.",
    "The {t1} accounts for roughly {pct}% of the total, so small changes there "
    "outweigh large changes to the {t2}.",
    "Researchers at {institution} found that {verbing} the {t1} reduced problems with "
    "the {t2} by {pct}% over {n} {period}.",
    "For most readers a {adj} {t1} is the sensible default; the exceptions are "
    "covered further down.",
    "It is tempting to blame the {t2}, but in {pct}% of the cases we looked at the "
    "{t1} was the real cause.",
    "A larger {t1} leaves less room for the {t2}, and the reverse is also true.",
    "Since {year}, the recommended practice has shifted from {verbing} the {t1} to "
    "{verbing2} the {t2}.",
    "Costs vary widely, from about ${money} for a basic {t1} to well over ${money2} "
    "for a {adj} setup.",
    'As {person} put it in a {year} interview, "the {t1} is where most people go '
    'wrong."',
    "The table below compares the main options, but keep in mind that the {t1} "
    "depends heavily on local conditions.",
    "None of this applies if the {t1} is already {adj}; in that case, start with the "
    "{t2} instead.",
    "Over {n} {period}, {group} who checked the {t1} regularly reported {pct}% fewer "
    "issues with the {t2}.",
    "The older literature treats the {t1} as a fixed quantity, which newer "
    "measurements no longer support.",
    "In practice, {verbing} the {t1} takes about {n} minutes and needs no special "
    "tools.",
    "Where the {t1} meets the {t2}, small errors add up quickly, so measure twice "
    "before {verbing} anything.",
)
"""Prose sentence templates; ``{t1}`` and ``{t2}`` are two distinct topic terms."""

_HEADINGS = (
    "How the {t1} works",
    "Choosing the right {t1}",
    "Common problems with the {t1}",
    "{T1} and the {t2}",
    "What the research says about the {t1}",
    "Step by step: {verbing} the {t1}",
    "Costs and trade-offs",
    "Measuring the {t1}",
    "A short history of the {t1}",
    "When to call a professional",
    "Myths about the {t1}",
    "Troubleshooting the {t2}",
)

_SPOKEN_OPENERS = (
    "Sure.",
    "Okay.",
    "Good question.",
    "Here's what I found.",
    "Right.",
    "So, the short version.",
    "I found a good source on that.",
    "Let me summarise.",
)

_RESEARCH_ASKS = (
    "Can you look up how the {t1} affects the {t2}?",
    "I'm trying to understand the {t1}. What does the research say?",
    "Okay, and is there anything about {verbing} the {t1}?",
    "Could you find a good source on the {t1}? Something recent, ideally.",
    "Wait, go back. What did that page say about the {t2}?",
    "Um, is a {adj} {t1} actually worth it?",
    "How long does {verbing} the {t1} take, roughly?",
    "Can you open the page about the {t2} and tell me the main points?",
)

_SUPPORT_OPENING = "Hi, yeah, my {t1} keeps acting up since last week."
_SUPPORT_ASKS = (
    "I already tried {verbing} the {t1}, it didn't help.",
    "Okay. How long will that take?",
    "Sorry, can you repeat the last part?",
    "The {t1} is doing the same thing again, it just {fails}.",
    "Is this covered, or am I paying for it?",
    "Hang on, let me check the {t2}. Okay, go ahead.",
    "Right, and what if the {t2} is the problem?",
)

_CHAT_ASKS = (
    "what about the {t1}?",
    "Can you make that shorter?",
    "ok, and how long does {verbing} the {t1} usually take?",
    "Is a {adj} {t1} worth it?",
    "Wait, why does the {t1} matter for the {t2}?",
    "hmm, I read somewhere the {t1} doesn't matter much. true?",
    "Give me three quick tips on the {t1}.",
    "Sounds good.",
    "Remind me what you said about the {t2}?",
    "Could you compare the {t1} and the {t2} in a sentence or two?",
    "thanks!",
    "ok next thing: the {t2}. where do I start?",
)

_WORK_ASKS = (
    "The {t1} has been flaky since yesterday's deploy. Any idea where to look?",
    "Can you check whether the {t1} and the {t2} are configured the same way in "
    "both regions?",
    "Find me the docs on the {t1}, and look at how our code handles the {t2}.",
    "Why would the {t1} slow down only at night? Nothing else changed.",
    "Could you summarise what we know so far about the {t2}?",
    "What would you change first: the {t1} or the {t2}?",
)

_FOLLOW_UP_LINES = (
    "Want me to open another source?",
    "Should I keep going?",
    "Does that answer it?",
    "Anything else on that?",
)


@attrs.frozen(slots=True)
class _Fact:
    """A fact a user states or a page carries, with its unique needle."""

    template: str
    code: Callable[[random.Random], str]


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mixed(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(n))


_USER_FACTS: dict[str, tuple[_Fact, ...]] = {
    "research": (
        _Fact(
            "Oh, and for the citation, my grant number is {code}.",
            lambda r: f"NSF-{_digits(r, 7)}",
        ),
        _Fact(
            "By the way, my student ID is {code}, in case the library asks.",
            lambda r: f"S{_digits(r, 8)}",
        ),
        _Fact(
            "The book I borrowed has the call number {code}, just so you know.",
            lambda r: f"QH-{_digits(r, 3)}{_letters(r, 2)}",
        ),
    ),
    "support": (
        _Fact(
            "My order number is {code}.", lambda r: f"{_letters(r, 2)}-{_digits(r, 5)}"
        ),
        _Fact(
            "The serial number on the back says {code}.",
            lambda r: f"SN{_mixed(r, 8)}",
        ),
        _Fact(
            "Last time I called, they gave me case number {code}.",
            lambda r: f"CS{_digits(r, 7)}",
        ),
    ),
    "work": (
        _Fact(
            "For context, our staging host is {code}.",
            lambda r: f"stg-{r.choice(('eu', 'us', 'ap'))}-{_digits(r, 4)}.internal",
        ),
        _Fact(
            "The feature flag we use for this is {code}.",
            lambda r: f"ff_{r.choice(('checkout', 'export', 'ledger'))}_{_mixed(r, 4)}",
        ),
        _Fact(
            "Note the bucket we write to is {code}.",
            lambda r: f"s3-exports-{_digits(r, 5)}",
        ),
    ),
    "personal": (
        _Fact(
            "My flight confirmation code is {code}, by the way.",
            lambda r: _mixed(r, 6),
        ),
        _Fact(
            "The door code for the apartment is {code}.",
            lambda r: f"{_digits(r, 4)}-{_letters(r, 2)}",
        ),
        _Fact(
            "My library card number is {code} if you need it later.",
            lambda r: f"LC{_digits(r, 8)}",
        ),
    ),
}
"""Facts a user states, per kind of session; ``{code}`` is the needle."""

_DOCUMENT_FACTS = (
    _Fact(
        "The reference sample discussed here is catalogued as {code}.",
        lambda r: f"CAT-{_digits(r, 4)}-{_letters(r, 2)}",
    ),
    _Fact(
        "Errata notice {code} corrects the figure in the comparison table.",
        lambda r: f"ERR{_digits(r, 5)}",
    ),
    _Fact(
        "The underlying dataset is archived under accession number {code}.",
        lambda r: f"ACC-{_mixed(r, 7)}",
    ),
)
"""Facts a fetched page carries; ``{code}`` is the needle."""

_ARTICLE_FACTS = (
    _Fact(
        "If these steps do not resolve it, escalate with override code {code}.",
        lambda r: f"OVR-{_digits(r, 4)}{_letters(r, 1)}",
    ),
    _Fact(
        "Units in production batch {code} get a free replacement adapter.",
        lambda r: f"PB{_digits(r, 6)}",
    ),
)
"""Facts a knowledge base article carries; ``{code}`` is the needle."""

_INCIDENTS = (
    _Fact("aborting run, incident id {code}", lambda r: f"INC-{_mixed(r, 6)}"),
    _Fact(
        "giving up after 5 attempts, escalation ref {code}",
        lambda r: f"ESC{_digits(r, 6)}",
    ),
)
"""Error lines of a pasted log; ``{code}`` is the needle."""


def _snake(term: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in term.lower()).split()
    return "_".join(words)


_PYTHON_SNIPPETS = (
    Template(
        "import asyncio\n\n\nasync def refresh_$a(${b}_id: str, *, timeout: float = "
        "$n.0) -> dict:\n"
        '    """Fetch the current $a for one $b."""\n'
        "    async with asyncio.timeout(timeout):\n"
        '        response = await client.get(f"/api/$a/{${b}_id}")\n'
        "    response.raise_for_status()\n"
        '    return response.json()["$a"]\n'
    ),
    Template(
        "def summarise_$a(records, *, window=$n):\n"
        "    totals = {}\n"
        "    for record in records[-window:]:\n"
        '        key = record.get("$b", "unknown")\n'
        '        totals[key] = totals.get(key, 0) + record["value"]\n'
        "    return sorted(totals.items(), key=lambda item: item[1], reverse=True)\n"
    ),
    Template(
        "class ${A}Monitor:\n"
        "    def __init__(self, limit: int = $n) -> None:\n"
        "        self.limit = limit\n"
        "        self.samples: list[float] = []\n\n"
        "    def add(self, value: float) -> bool:\n"
        "        self.samples.append(value)\n"
        "        del self.samples[: -self.limit]\n"
        "        return sum(self.samples) / len(self.samples) > $m\n"
    ),
)
"""Python samples of technical pages; ``$a``/``$b`` are snake-case topic terms."""

_OTHER_SNIPPETS = (
    (
        "console",
        Template(
            '$$ curl -s -H "Accept: application/json" '
            "https://api.example.com/v2/$a \\\n"
            "    | jq '.items[] | {id, $b, updated_at}'\n"
        ),
    ),
    (
        "toml",
        Template(
            "[$a]\nenabled = true\nmax_retries = $n\nbackoff_seconds = $m\n"
            '$b = "auto"\n'
        ),
    ),
)
"""Shell and configuration samples of technical pages, with their languages."""


def _split_paragraphs(text: str) -> list[str]:
    # Real paragraphs only: no headings, tables, lists, quotes or code.
    kept = []
    for block in text.split("\n\n"):
        block = " ".join(block.split())
        if 200 <= len(block) <= 1500 and not block.startswith(
            ("#", "|", "`", ".", "[", ">", "-", "*", "=", "+")
        ):
            kept.append(block)
    return kept


class _Writer:
    """Random but plausible prose, pages, results and logs, sized in real tokens."""

    def __init__(
        self, rng: random.Random, tokenizer: Tokenizer, corpus: Sequence[str]
    ) -> None:
        self.rng = rng
        self.count = tokenizer.count
        self.corpus = [p for text in corpus for p in _split_paragraphs(text)]

    def slots(self, topic: _Topic) -> dict[str, str]:
        rng = self.rng
        t1, t2 = rng.sample(topic.terms, 2)
        adj, adj2 = rng.sample(_ADJECTIVES, 2)
        verbing, verbing2 = rng.sample(_VERBINGS, 2)
        return {
            "t1": t1,
            "t2": t2,
            "T1": t1[0].upper() + t1[1:],
            "adj": adj,
            "adj2": adj2,
            "verbing": verbing,
            "verbing2": verbing2,
            "fails": rng.choice(_FAILS),
            "period": rng.choice(_PERIODS),
            "condition": rng.choice(_CONDITIONS),
            "person": rng.choice(_PEOPLE),
            "institution": rng.choice(_INSTITUTIONS),
            "group": rng.choice(_GROUPS),
            "unit": rng.choice(_UNITS),
            "year": str(rng.randrange(1998, 2025)),
            "big": f"{rng.randrange(120, 6000):,}",
            "pct": str(rng.randrange(5, 86)),
            "n": str(rng.randrange(2, 40)),
            "num": f"{rng.uniform(0.5, 60):.1f}",
            "money": f"{rng.randrange(2, 40) * 50:,}",
            "money2": f"{rng.randrange(40, 400) * 50:,}",
        }

    def fill(self, template: str, topic: _Topic) -> str:
        return template.format(**self.slots(topic))

    def sentence(self, topic: _Topic) -> str:
        return self.fill(self.rng.choice(_SENTENCES), topic)

    def prose(self, topic: _Topic, tokens: int) -> str:
        """Return sentences about ``topic`` adding up to about ``tokens`` tokens."""
        sentences: list[str] = []
        total = 0
        while total < tokens:
            sentence = self.sentence(topic)
            sentences.append(sentence)
            total += self.count(sentence)
        return " ".join(sentences)

    def paragraph(self, topic: _Topic) -> str:
        if self.corpus and self.rng.random() < 0.35:
            return self.rng.choice(self.corpus)
        return " ".join(self.sentence(topic) for _ in range(self.rng.randrange(2, 7)))

    def heading(self, topic: _Topic) -> str:
        return self.fill(self.rng.choice(_HEADINGS), topic)

    def bullets(self, topic: _Topic) -> list[str]:
        rng = self.rng
        return [
            f"{rng.choice(_VERBINGS).capitalize()} the {rng.choice(topic.terms)} "
            f"every {rng.randrange(2, 13)} {rng.choice(_PERIODS)}"
            + rng.choice(("", f" ({rng.randrange(5, 60)} minutes)", ", if needed"))
            for _ in range(rng.randrange(3, 8))
        ]

    def table(self, topic: _Topic) -> tuple[list[str], list[list[str]]]:
        rng = self.rng
        header = ["Option", "Typical cost", rng.choice(_UNITS).capitalize(), "Notes"]
        rows = [
            [
                f"{rng.choice(_ADJECTIVES).capitalize()} {rng.choice(topic.terms)}",
                f"${rng.randrange(2, 200) * 25:,}",
                f"{rng.uniform(0.5, 99):.1f}",
                rng.choice(
                    (
                        "Best for small setups",
                        "Needs yearly service",
                        "Widely available",
                        "Check local rules first",
                        "Quiet in operation",
                        "-",
                    )
                ),
            ]
            for _ in range(rng.randrange(3, 9))
        ]
        return header, rows

    def code(self, topic: _Topic, *, python: bool = False) -> tuple[str, str]:
        """Return a code sample about ``topic`` and its language."""
        rng = self.rng
        a, b = (_snake(t) for t in rng.sample(topic.terms, 2))
        snippets = [("python", t) for t in _PYTHON_SNIPPETS]
        if not python:
            snippets += _OTHER_SNIPPETS
        language, template = rng.choice(snippets)
        return language, template.substitute(
            a=a,
            b=b,
            A="".join(part.capitalize() for part in a.split("_")),
            n=rng.randrange(2, 60),
            m=rng.randrange(2, 90),
        )

    def grow(
        self, tokens: int, block: Callable[[], str], *, measure: Callable[[str], int]
    ) -> list[str]:
        """Return blocks from ``block()`` until their measures add up to ``tokens``."""
        blocks: list[str] = []
        total = 0
        while total < tokens:
            piece = block()
            blocks.append(piece)
            total += measure(piece)
        return blocks

    # HTML pages --------------------------------------------------------------------

    def html_page(
        self, topic: _Topic, tokens: int, *, url: str, title: str, fact: str | None
    ) -> str:
        """Return a web page of about ``tokens`` tokens, ``fact`` in its article.

        The page has what fetched pages have around their article: a head with
        metadata and scripts, site navigation, a table of contents and a footer.
        """
        rng = self.rng
        site = url.split("/")[2]
        slug = url.rstrip("/").rsplit("/", 1)[-1]
        head = "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{escape(title)} | {site}</title>",
                f'<meta name="description" content="{escape(self.sentence(topic))}">',
                f'<link rel="canonical" href="{url}">',
                f'<link rel="stylesheet" href="/assets/css/main.{_hex(rng, 10)}.css">',
                '<script type="application/ld+json">'
                + json.dumps(
                    {
                        "@context": "https://schema.org",
                        "@type": "Article",
                        "headline": title,
                        "datePublished": f"20{rng.randrange(15, 25)}-"
                        f"{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                        "author": {"@type": "Person", "name": rng.choice(_PEOPLE)},
                        "publisher": {"@type": "Organization", "name": site},
                    }
                )
                + "</script>",
                f'<script src="/assets/js/app.{_hex(rng, 10)}.js" defer></script>',
                "</head>",
                '<body class="article-page">',
                '<a class="skip-link" href="#main">Skip to content</a>',
            ]
        )
        sections = ("guides", "research", "reviews", "news", "tools", "community")
        nav = (
            '<header class="site-header"><nav aria-label="Primary"><ul>\n'
            + "\n".join(
                f'<li><a href="/{name}/">{name.capitalize()}</a></li>'
                for name in sections
            )
            + '\n</ul><form role="search" action="/search"><input name="q" '
            'placeholder="Search"></form></nav></header>'
        )
        footer = (
            '<footer class="site-footer"><nav aria-label="Footer"><ul>'
            + "".join(
                f'<li><a href="/{name}">{label}</a></li>'
                for name, label in (
                    ("about", "About us"),
                    ("privacy", "Privacy"),
                    ("terms", "Terms of use"),
                    ("contact", "Contact"),
                    ("newsletter", "Newsletter"),
                )
            )
            + f"</ul></nav><p>&copy; {rng.randrange(2019, 2026)} {site}. All rights "
            "reserved.</p></footer>\n"
            "<script>window.dataLayer = window.dataLayer || []; "
            f"dataLayer.push({{'page': '{slug}'}});</script>\n</body>\n</html>\n"
        )
        byline = (
            f'<p class="byline">By {rng.choice(_PEOPLE)} · Updated '
            f"{rng.randrange(1, 29)} {rng.choice(_MONTHS)} {rng.randrange(2019, 2026)}"
            f" · {rng.randrange(4, 40)} min read</p>"
        )
        fixed = sum(map(self.count, (head, nav, footer, byline, title))) + 60
        toc: list[str] = []
        paragraphs: list[int] = []
        body: list[str] = []

        def block() -> str:
            if not body or rng.random() < 0.12:
                heading = self.heading(topic)
                anchor = f"s{len(toc) + 1}"
                toc.append(f'<li><a href="#{anchor}">{escape(heading)}</a></li>')
                return f'<h2 id="{anchor}">{escape(heading)}</h2>'
            kind = rng.random()
            if kind < 0.6:
                paragraphs.append(len(body))
                return f"<p>{escape(self.paragraph(topic))}</p>"
            if kind < 0.7:
                items = "".join(f"<li>{escape(i)}</li>" for i in self.bullets(topic))
                return f"<ul>{items}</ul>"
            if kind < 0.8:
                header, rows = self.table(topic)
                return (
                    "<table><thead><tr>"
                    + "".join(f"<th>{escape(h)}</th>" for h in header)
                    + "</tr></thead><tbody>"
                    + "".join(
                        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                        for row in rows
                    )
                    + "</tbody></table>"
                )
            if kind < 0.9 and topic.technical:
                language, code = self.code(topic)
                return (
                    f'<div class="highlight"><pre><code class="language-{language}">'
                    f"{escape(code)}</code></pre></div>"
                )
            if kind < 0.95:
                return f"<h3>{escape(self.heading(topic))}</h3>"
            return (
                f"<blockquote><p>{escape(self.sentence(topic))}</p><footer>"
                f"{rng.choice(_PEOPLE)}</footer></blockquote>"
            )

        total = 0
        while total < tokens - fixed:
            piece = block()
            body.append(piece)
            total += self.count(piece)
            if piece.startswith("<h2"):
                total += self.count(toc[-1])
        if fact is not None:
            if not paragraphs:
                paragraphs.append(len(body))
                body.append(f"<p>{escape(self.sentence(topic))}</p>")
            at = rng.choice(paragraphs)
            body[at] = body[at].removesuffix("</p>") + f" {escape(fact)}</p>"
        aside = (
            '<aside class="sidebar"><nav aria-label="On this page"><ul>'
            + "".join(toc)
            + "</ul></nav></aside>"
        )
        return "\n".join(
            [
                head,
                nav,
                '<div class="layout">',
                aside,
                '<main id="main"><article>',
                f"<h1>{escape(title)}</h1>",
                byline,
                *body,
                "</article></main></div>",
                footer,
            ]
        )

    # Markdown, JSON and logs --------------------------------------------------------

    def markdown(
        self,
        topic: _Topic,
        tokens: int,
        *,
        title: str,
        fact: str | None,
        measure: Callable[[str], int] | None = None,
    ) -> str:
        """Return a Markdown article of about ``tokens`` tokens, ``fact`` in it.

        Tokens are counted by ``measure`` (by default the tokenizer's ``count``).
        """
        rng = self.rng
        paragraphs: list[int] = []
        body: list[str] = []

        def block() -> str:
            if not body or rng.random() < 0.12:
                return f"## {self.heading(topic)}"
            kind = rng.random()
            if kind < 0.6:
                paragraphs.append(len(body))
                return self.paragraph(topic)
            if kind < 0.72:
                return "\n".join(
                    f"{i}. {item}" for i, item in enumerate(self.bullets(topic), 1)
                )
            if kind < 0.82:
                header, rows = self.table(topic)
                lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
                lines += ["| " + " | ".join(row) + " |" for row in rows]
                return "\n".join(lines)
            if kind < 0.92 and topic.technical:
                return "```{}\n{}```".format(*self.code(topic))
            return f"> **Note:** {self.sentence(topic)}"

        count = measure or self.count
        total = count(f"# {title}\n\n")
        while total < tokens:
            piece = block()
            body.append(piece)
            total += count(piece + "\n\n")
        if fact is not None:
            if not paragraphs:
                paragraphs.append(len(body))
                body.append(self.sentence(topic))
            at = rng.choice(paragraphs)
            body[at] = f"{body[at]} {fact}"
        return f"# {title}\n\n" + "\n\n".join(body)

    def kb_article(
        self, topic: _Topic, tokens: int, *, article_id: str, fact: str | None
    ) -> str:
        """Return a knowledge base API response of about ``tokens`` tokens."""
        rng = self.rng
        title = f"{topic.title}: {self.heading(topic).lower()}"

        def escaped(piece: str) -> int:
            return self.count(json.dumps(piece)[1:-1])

        envelope = {
            "id": article_id,
            "title": title,
            "locale": "en-US",
            "updated_at": _timestamp(rng),
            "tags": rng.sample(topic.terms, 3),
            "body_markdown": "",
            "related": [
                {
                    "id": f"KB-{rng.randrange(10000, 99999)}",
                    "title": self.heading(topic),
                }
                for _ in range(rng.randrange(2, 5))
            ],
        }
        budget = tokens - self.count(json.dumps(envelope))
        envelope["body_markdown"] = self.markdown(
            topic, budget, title=title, fact=fact, measure=escaped
        )
        return json.dumps(envelope, ensure_ascii=False)

    def small_result(self, topic: _Topic, tokens: int, *, key: str) -> str:
        """Return a small JSON record (an order, a device) of about ``tokens``."""
        rng = self.rng
        record: dict[str, Any] = {
            "id": key,
            "status": rng.choice(("shipped", "processing", "active", "on_hold")),
        }
        extras: list[tuple[str, Callable[[], Any]]] = [
            ("updated_at", lambda: _timestamp(rng)),
            ("carrier", lambda: rng.choice(("UPS", "DHL", "Royal Mail", "FedEx"))),
            ("tracking", lambda: f"1Z{_mixed(rng, 14)}"),
            (
                "firmware",
                lambda: ".".join(str(rng.randrange(1, 30)) for _ in range(3)),
            ),
            ("warranty_until", lambda: _timestamp(rng)[:10]),
            ("region", lambda: rng.choice(("eu-west", "us-east", "ap-south"))),
            ("notes", lambda: self.sentence(topic)),
        ]
        for field, make in extras:
            if self.count(json.dumps(record)) >= tokens:
                return json.dumps(record)
            record[field] = make()
        items: list[dict[str, Any]] = []
        record["items"] = items
        while self.count(json.dumps(record)) < tokens:
            items.append(
                {
                    "sku": f"{_letters(rng, 3)}-{_digits(rng, 4)}",
                    "name": f"{rng.choice(_ADJECTIVES)} {rng.choice(topic.terms)}",
                    "qty": rng.randrange(1, 4),
                    "price": round(rng.uniform(4, 400), 2),
                }
            )
        return json.dumps(record)

    def search_results(self, topic: _Topic, tokens: int, *, query: str) -> str:
        """Return a web search API response of about ``tokens`` tokens."""
        rng = self.rng
        results: list[dict[str, str]] = []
        payload = {"query": query, "results": results}
        while self.count(json.dumps(payload)) < tokens:
            results.append(
                {
                    "title": f"{self.heading(topic)} - {rng.choice(_SITES)}",
                    "url": f"https://{rng.choice(_SITES)}/{_snake(topic.title)}/"
                    f"{rng.randrange(1000, 99999)}",
                    "snippet": " ".join(
                        self.sentence(topic) for _ in range(rng.randrange(1, 3))
                    ),
                }
            )
        return json.dumps(payload)

    def source_file(self, topic: _Topic, tokens: int) -> str:
        """Return a Python source file of about ``tokens`` tokens."""
        header = (
            f'"""{topic.title}: helpers."""\n\nfrom __future__ import annotations\n'
        )
        blocks = self.grow(
            tokens - self.count(header),
            lambda: "\n\n" + self.code(topic, python=True)[1],
            measure=self.count,
        )
        return header + "".join(blocks)

    def log(self, tokens: int, *, fact: str) -> str:
        """Return a service log of about ``tokens`` tokens, ``fact`` in an error."""
        rng = self.rng
        at = rng.randrange(1_700_000_000, 1_760_000_000) * 1000
        topic = rng.choice(_OPS_TOPICS)
        stamps: list[str] = []

        def line() -> str:
            nonlocal at
            at += rng.randrange(5, 4000)
            level, template = rng.choice(_LOG_MESSAGES)
            stamp = _iso(at)
            stamps.append(stamp)
            component = rng.choice(_COMPONENTS)
            if level == "ERROR" and rng.random() < 0.5:
                frames = "".join(
                    f'\n  File "/srv/app/{rng.choice(_COMPONENTS)}/'
                    f'{_snake(rng.choice(topic.terms))}.py", line '
                    f"{rng.randrange(12, 900)}, in {_snake(rng.choice(topic.terms))}"
                    for _ in range(rng.randrange(2, 6))
                )
                return (
                    f"{stamp} ERROR [{component}] unhandled exception\n"
                    f"Traceback (most recent call last):{frames}\n"
                    f"TimeoutError: {rng.choice(topic.terms)} did not answer within "
                    f"{rng.randrange(5, 120)}s"
                )
            message = template.format(
                term=_snake(rng.choice(topic.terms)),
                n=rng.randrange(1, 5000),
                attempt=rng.randrange(1, 6),
                # Latencies are roughly log-normal: mostly fast, a long tail.
                ms=round(rng.lognormvariate(4.5, 1.5)) + 1,
                id=_hex(rng, 8),
                key=f"exports/{_iso(at)[:10]}/part-{rng.randrange(0, 400):04d}.parquet",
            )
            return f"{stamp} {level:<5} [{component}] {message}"

        lines = self.grow(tokens, line, measure=lambda s: self.count(s + "\n"))
        at_line = rng.randrange(len(lines) // 4, len(lines))
        lines.insert(
            at_line, f"{stamps[at_line]} ERROR [{rng.choice(_COMPONENTS)}] {fact}"
        )
        return "\n".join(lines)


_MONTHS = _items(
    "January, February, March, April, May, June, July, August, September, "
    "October, November, December"
)
_SITES = _items(
    "docs.example.org, research.example.edu, www.example-guides.com, "
    "blog.example.net, forum.example.io"
)
_COMPONENTS = _items("scheduler, worker-2, worker-7, uploader, db-pool, api, auth")
_LOG_MESSAGES = (
    *(("INFO", "job={term} run_id={id} step=start"),) * 2,
    *(("INFO", "job={term} run_id={id} step=upload bytes={n}000 duration_ms={ms}"),)
    * 2,
    *(("INFO", "GET /v1/{term}/{id} 200 {ms}ms"),) * 4,
    *(("INFO", "POST /v1/{term} 201 {ms}ms request_id={id}"),) * 3,
    *(("INFO", "wrote {n} rows to {key}"),) * 2,
    ("INFO", "health check ok ({ms}ms)"),
    ("DEBUG", "cache miss for {term}:{id}"),
    ("DEBUG", "connection {n} idle for {ms}ms, recycling"),
    ("WARN", "retrying {term} (attempt {attempt}/5) after {ms}ms"),
    ("WARN", "queue depth {n}, consumers 8, lag {ms}ms"),
    ("ERROR", "PutObject failed: RequestTimeout key={key}"),
)
"""Log lines by level; repeats weight the common ones."""


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timestamp(rng: random.Random) -> str:
    return _iso(rng.randrange(1_600_000_000, 1_760_000_000) * 1000)


_VOICE_RESEARCH_INSTRUCTIONS = (
    "You are a voice research assistant. The user speaks to you; your answers are "
    "read aloud, so keep them to a few short sentences without lists or markup. Use "
    "the open_page tool to read sources before you answer, say which source you "
    "used, and never read out web addresses. If the user interrupts, stop and "
    "answer the new question."
)
_SUPPORT_INSTRUCTIONS = (
    "You are Ava, a phone support agent for {brand}. Be warm and brief: callers "
    "hear every word. Verify the caller before discussing an order. Tools: "
    "lookup_order(customer_id), get_device(customer_id), "
    "check_warranty(customer_id), "
    "search_kb(query) returns the best knowledge base article. Follow the article's "
    "steps in order and never promise refunds; offer a callback instead."
)
_CHAT_INSTRUCTIONS = (
    "You are a friendly, concise assistant. Answer in plain sentences; use a short "
    "list only when the user asks for steps or options."
)
_OPS_INSTRUCTIONS = (
    "You are an on-call assistant for a platform team. Read logs and configuration "
    "carefully, quote the exact lines you rely on, and say when the evidence is "
    "not enough. Prefer small, reversible changes."
)
_AGENT_INSTRUCTIONS = (
    "You are a research and coding agent. Call tools in parallel when their inputs "
    "do not depend on each other: web_search(query), fetch_page(url), "
    "read_file(path), get_exchange_rate(base, quote). Cite each source you use, "
    "and keep answers under 300 words unless asked for more."
)
_BRANDS = ("Nimbus", "Halo Home", "Aero")


def _content_tokens(event: Event, count: Callable[[str], int]) -> int:
    """Tokens of what ``event`` brings into the conversation (0 for the rest)."""
    if isinstance(event, (InstructionsEvent, TurnEvent)):
        return count(event.text)
    if isinstance(event, DocumentEvent):
        return count(event.content)
    if isinstance(event, ToolCallEvent):
        return count(event.arguments_json) + count(event.result)
    return 0


@attrs.define
class _Due:
    """A probe still to come: ``needle`` once ``distance`` more tokens have passed."""

    needle: str
    introduced: str
    start: int
    distance: int


class _Log:
    """The session being written: its events, clock, content tally and due probes.

    ``content`` counts the tokens of session content so far (what
    :func:`probe_distances` counts), ``window`` estimates what a window that kept
    everything would hold, per-message overhead included.
    """

    def __init__(
        self, rng: random.Random, writer: _Writer, probe_at: Sequence[int]
    ) -> None:
        self.rng = rng
        self.writer = writer
        self.count = writer.count
        self.probe_at = tuple(probe_at)
        self.events: list[Event] = []
        self.t = 0
        self.content = 0
        self.window = 0
        self._due: list[_Due] = []
        self._probed_at: dict[str, int] = {}
        self._serial: dict[str, int] = {}
        self._codes: set[str] = set()

    def id(self, prefix: str) -> str:
        self._serial[prefix] = self._serial.get(prefix, 0) + 1
        return f"{prefix}{self._serial[prefix]}"

    def wait(self, low_ms: int, high_ms: int) -> int:
        self.t += self.rng.randrange(low_ms, high_ms + 1)
        return self.t

    def add(self, *events: Event) -> None:
        """Append ``events`` as one step: due probes go before or after, not inside."""
        sizes = [_content_tokens(event, self.count) for event in events]
        self._probe(ahead=sum(sizes), t_ms=events[0].t_ms)
        for event, tokens in zip(events, sizes, strict=True):
            self.events.append(event)
            self.content += tokens
            if isinstance(event, ToolCallEvent):
                self.window += tokens + _TOOL_OVERHEAD
            elif tokens:
                self.window += tokens + _MESSAGE_OVERHEAD
        self._probe(ahead=0, t_ms=events[-1].t_ms)

    def fact(self, facts: Sequence[_Fact]) -> tuple[str, str]:
        """Return a sentence stating a new fact, and its needle (unique here)."""
        fact = self.rng.choice(facts)
        code = fact.code(self.rng)
        while code in self._codes:
            code = fact.code(self.rng)
        self._codes.add(code)
        return fact.template.format(code=code), code

    def plant(self, needle: str, introduced: str) -> None:
        """Probe ``needle`` at each distance after the event just added."""
        for distance in self.probe_at:
            self._due.append(_Due(needle, introduced, self.content, distance))

    def _probe(self, *, ahead: int, t_ms: int) -> None:
        # A probe goes where the distance is nearest its target: now, when the next
        # step (``ahead`` tokens) would overshoot by more than it falls short, or
        # once the target is reached. Never before half the target.
        for due in list(self._due):
            distance = self.content - due.start
            early = (
                ahead > 0
                and 2 * distance >= due.distance
                and due.distance - distance < distance + ahead - due.distance
            )
            if distance < due.distance and not early:
                continue
            self._due.remove(due)
            if self._probed_at.get(due.needle) == self.content:
                continue
            self._probed_at[due.needle] = self.content
            self.events.append(
                ProbeEvent(t_ms=t_ms, needle=due.needle, introduced=due.introduced)
            )

    def request(self) -> None:
        self.add(RequestEvent(t_ms=self.wait(150, 600)))

    def user(self, text: str, *, voice: bool) -> str:
        """Add a user turn (spoken or typed) and return its id."""
        turn_id = self.id("u")
        if voice:
            self.add(
                TurnEvent(t_ms=self.wait(300, 1800), id=turn_id, role="user", text=text)
            )
            self.t += 380 * len(text.split())
        else:
            self.add(
                TurnEvent(
                    t_ms=self.wait(4000, 90_000), id=turn_id, role="user", text=text
                )
            )
        return turn_id

    def ask(self, text: str, *, facts: Sequence[_Fact] | None, voice: bool) -> None:
        """Add a user turn, then a request for the model's reply.

        The turn states one of ``facts``, if given, and the fact is planted.
        """
        needle = None
        if facts is not None:
            sentence, needle = self.fact(facts)
            text = f"{text} {sentence}"
        turn_id = self.user(text, voice=voice)
        if needle is not None:
            self.plant(needle, turn_id)
        self.request()

    def spoken(self, text: str, *, interrupt_rate: float) -> None:
        """Add an assistant turn with word timings, maybe cut off part-way."""
        turn_id = self.id("a")
        words = _words(text, self.rng)
        self.add(
            TurnEvent(
                t_ms=self.wait(500, 1400),
                id=turn_id,
                role="assistant",
                text=text,
                words=words,
            )
        )
        duration = words[-1].end_ms
        if self.rng.random() < interrupt_rate and duration > 12:
            heard = self.rng.randrange(duration // 6, duration * 5 // 6)
            self.t += heard
            self.add(InterruptEvent(t_ms=self.t, item=turn_id, heard_ms=heard))
        else:
            self.t += duration

    def typed(self, text: str) -> None:
        self.add(
            TurnEvent(
                t_ms=self.wait(1500, 12_000),
                id=self.id("a"),
                role="assistant",
                text=text,
            )
        )

    def tool(self, name: str, arguments: dict[str, Any], result: str) -> ToolCallEvent:
        """Return (not add) a tool call answered after a plausible latency."""
        return ToolCallEvent(
            t_ms=self.wait(250, 2500),
            id=self.id("tool"),
            name=name,
            arguments=json.dumps(arguments),
            result=result,
            call_id=f"call_{_mixed(self.rng, 24)}",
        )


def _spoken_reply(w: _Writer, topic: _Topic, *, low: int, high: int) -> str:
    rng = w.rng
    reply = f"{rng.choice(_SPOKEN_OPENERS)} {w.prose(topic, rng.randrange(low, high))}"
    if rng.random() < 0.4:
        reply = f"{reply} {rng.choice(_FOLLOW_UP_LINES)}"
    return reply


def _written_reply(w: _Writer, topic: _Topic, tokens: int) -> str:
    """Return a Markdown answer of about ``tokens`` tokens."""
    rng = w.rng
    parts: list[str] = []
    left = tokens
    if topic.technical and tokens > 250 and rng.random() < 0.6:
        code = "```{}\n{}```".format(*w.code(topic))
        left -= w.count(code)
        parts.append(code)
    if tokens > 200 and rng.random() < 0.5:
        bullets = "\n".join(f"- {item}" for item in w.bullets(topic))
        left -= w.count(bullets)
        parts.append(bullets)
    parts.insert(0, w.prose(topic, max(left, 12)))
    return "\n\n".join(parts)


def _page_address(w: _Writer, topic: _Topic) -> tuple[str, str]:
    rng = w.rng
    heading = w.heading(topic)
    title = f"{topic.title}: {heading.lower()}"
    folder = _snake(topic.title).replace("_", "-")
    slug = "-".join(_snake(heading).split("_")[:8])
    url = f"https://{rng.choice(_SITES)}/{folder}/{slug}"
    return url, title


def _early(rng: random.Random, turns: int, k: int, *, share: float = 0.5) -> list[int]:
    """Return up to ``k`` distinct turns from the first ``share`` of the session."""
    early = range(max(int(turns * share), 1))
    return sorted(rng.sample(early, min(k, len(early))))


def _voice_research(log: _Log, turns: int) -> None:
    w, rng = log.writer, log.rng
    log.add(InstructionsEvent(t_ms=0, text=_VOICE_RESEARCH_INSTRUCTIONS))
    topics = rng.sample(_RESEARCH_TOPICS, 3)
    fact_turns = _early(rng, turns, 2)
    # At least one page larger than a 16k budget: the first or the second page.
    big_at = 0 if turns == 1 or rng.random() < 0.5 else 1
    pages = 0
    for index in range(turns):
        topic = topics[index * len(topics) // turns]
        text = w.fill(rng.choice(_RESEARCH_ASKS), topic)
        stated = _USER_FACTS["research"] if index in fact_turns else None
        log.ask(text, facts=stated, voice=True)
        opened = rng.choices((0, 1, 2), (15, 70, 15))[0]
        if index < 2:
            opened = max(opened, 1)
        for _ in range(opened):
            big = pages == big_at or rng.random() < 0.3
            low, high = BIG_PAGE_TOKENS if big else SMALL_PAGE_TOKENS
            # Pages 0 and 1 (one of them large) carry a fact each.
            planted = log.fact(_DOCUMENT_FACTS) if pages < 2 else None
            url, title = _page_address(w, topic)
            content = w.html_page(
                topic,
                rng.randrange(low + (high - low) // 10, high - 1000),
                url=url,
                title=title,
                fact=None if planted is None else planted[0],
            )
            page_id = log.id("page")
            log.add(
                DocumentEvent(
                    t_ms=log.wait(800, 3500),
                    id=page_id,
                    url=url,
                    title=title,
                    content=content,
                    format="html",
                )
            )
            if planted is not None:
                log.plant(planted[1], page_id)
            pages += 1
            log.request()
        log.spoken(_spoken_reply(w, topic, low=30, high=110), interrupt_rate=0.25)


def _article_tokens(rng: random.Random) -> int:
    if rng.random() < _TYPICAL_ARTICLE_SHARE:
        return rng.randrange(*TYPICAL_ARTICLE_TOKENS)
    low, high = ARTICLE_TOKENS
    return rng.randrange(low + 300, high - 1000)


def _support_call(log: _Log, turns: int) -> None:
    w, rng = log.writer, log.rng
    brand = rng.choice(_BRANDS)
    topic = rng.choice(_SUPPORT_TOPICS)
    log.add(InstructionsEvent(t_ms=0, text=_SUPPORT_INSTRUCTIONS.format(brand=brand)))
    log.request()
    log.spoken(
        f"Thanks for calling {brand} support, this is Ava. How can I help today?",
        interrupt_rate=0.0,
    )
    fact_turns = _early(rng, turns, 2)
    article_turns = {min(1, turns - 1)} | {
        i for i in range(turns) if rng.random() < 0.25
    }
    articles = 0
    customer = f"C{_digits(rng, 7)}"
    for index in range(turns):
        text = w.fill(rng.choice(_SUPPORT_ASKS) if index else _SUPPORT_OPENING, topic)
        stated = _USER_FACTS["support"] if index in fact_turns else None
        log.ask(text, facts=stated, voice=True)
        if rng.random() < 0.5:
            name = rng.choice(("lookup_order", "get_device", "check_warranty"))
            low, high = SMALL_RESULT_TOKENS
            result = w.small_result(
                topic,
                rng.randrange(low + 10, high - 40),
                key=f"{_letters(rng, 3)}{_digits(rng, 6)}",
            )
            log.add(log.tool(name, {"customer_id": customer}, result))
            log.request()
        if index in article_turns:
            planted = log.fact(_ARTICLE_FACTS) if articles == 0 else None
            query = f"{rng.choice(topic.terms)} {rng.choice(_FAILS)}"
            call = log.tool(
                "search_kb",
                {"query": query, "limit": 1},
                w.kb_article(
                    topic,
                    _article_tokens(rng),
                    article_id=f"KB-{rng.randrange(10000, 99999)}",
                    fact=None if planted is None else planted[0],
                ),
            )
            log.add(call)
            if planted is not None and call.id is not None:
                log.plant(planted[1], call.id)
            articles += 1
            log.request()
        log.spoken(_spoken_reply(w, topic, low=25, high=110), interrupt_rate=0.15)


def _long_chat(log: _Log, turns: int) -> None:
    w, rng = log.writer, log.rng
    log.add(InstructionsEvent(t_ms=0, text=_CHAT_INSTRUCTIONS))
    fact_turns = _early(rng, turns, 3, share=2 / 3)
    topic = rng.choice(_CHAT_TOPICS)
    switch = rng.randrange(15, 30)
    for index in range(turns):
        if index == switch:
            topic = rng.choice(_CHAT_TOPICS)
            switch += rng.randrange(15, 30)
        text = w.fill(rng.choice(_CHAT_ASKS), topic)
        stated = _USER_FACTS["personal"] if index in fact_turns else None
        log.ask(text, facts=stated, voice=False)
        if rng.random() < 0.05:
            result = w.small_result(topic, rng.randrange(50, 200), key=_mixed(rng, 8))
            log.add(log.tool("get_weather", {"city": "Lisbon", "days": 3}, result))
            log.request()
        log.typed(w.prose(topic, int(rng.triangular(20, 250, 90))))


def _paste(log: _Log, turns: int) -> None:
    w, rng = log.writer, log.rng
    topic = rng.choice(_OPS_TOPICS)
    log.add(InstructionsEvent(t_ms=0, text=_OPS_INSTRUCTIONS))
    before = max((turns - 1) // 2, 1)
    fill_to = PASTE_BUDGET - PASTE_FREE_TOKENS
    for index in range(before):
        share = (fill_to - log.window) // (before - index)
        text = w.fill(rng.choice(_WORK_ASKS), topic)
        stated = _USER_FACTS["work"] if index == 0 else None
        log.ask(text, facts=stated, voice=False)
        share -= log.count(text) + _MESSAGE_OVERHEAD
        if index % 2 == 1 and share > 1200:
            call = log.tool(
                "get_service_status",
                {"service": _snake(topic.terms[0])},
                w.small_result(
                    topic, rng.randrange(100, 400), key=_snake(topic.terms[0])
                ),
            )
            log.add(call)
            share -= _content_tokens(call, log.count) + _TOOL_OVERHEAD
            log.request()
        log.typed(_written_reply(w, topic, max(share - _MESSAGE_OVERHEAD, 20)))
    sentence, needle = log.fact(_INCIDENTS)
    intro = (
        "Here's the log from last night's run, it failed again. Can you tell me what "
        "went wrong?\n\n```\n"
    )
    low, high = PASTE_TOKENS
    size = rng.randrange(low + 100, high - 300) - log.count(intro + "\n```")
    text = f"{intro}{w.log(size, fact=sentence)}\n```"
    turn_id = log.user(text, voice=False)
    log.plant(needle, turn_id)
    log.request()
    log.typed(_written_reply(w, topic, rng.randrange(250, 600)))
    for _ in range(max(turns - before - 1, 0)):
        log.user(w.fill(rng.choice(_WORK_ASKS), topic), voice=False)
        log.request()
        log.typed(_written_reply(w, topic, rng.randrange(80, 500)))


def _parallel_calls(log: _Log, topic: _Topic, facts: list[str]) -> list[ToolCallEvent]:
    """Return 2-5 tool calls the agent makes in one step, results in arrival order."""
    w, rng = log.writer, log.rng
    calls = []
    for _ in range(rng.randrange(2, 6)):
        kind = rng.choices(("search", "fetch", "read", "rate"), (35, 30, 20, 15))[0]
        if kind == "search":
            query = f"{rng.choice(topic.terms)} {rng.choice(_VERBINGS)}"
            calls.append(
                log.tool(
                    "web_search",
                    {"query": query},
                    w.search_results(topic, rng.randrange(300, 1500), query=query),
                )
            )
        elif kind == "fetch":
            url, title = _page_address(w, topic)
            fact = facts.pop() if facts else None
            page = w.markdown(topic, rng.randrange(1000, 6000), title=title, fact=fact)
            crumbs = "[Skip to content](#main)\n\n* [Home](/) * [Guides](/guides/)\n\n"
            calls.append(log.tool("fetch_page", {"url": url}, crumbs + page))
        elif kind == "read":
            path = (
                f"src/{_snake(topic.title)[:24]}/{_snake(rng.choice(topic.terms))}.py"
            )
            calls.append(
                log.tool(
                    "read_file",
                    {"path": path},
                    w.source_file(topic, rng.randrange(200, 3000)),
                )
            )
        else:
            base, quote = rng.sample(("EUR", "USD", "GBP", "JPY", "CHF"), 2)
            rate = {
                "base": base,
                "quote": quote,
                "rate": round(rng.uniform(0.5, 160), 4),
            }
            rate["as_of"] = _timestamp(rng)
            calls.append(
                log.tool(
                    "get_exchange_rate",
                    {"base": base, "quote": quote},
                    json.dumps(rate),
                )
            )
    return calls


def _batched(log: _Log, calls: list[ToolCallEvent]) -> list[ToolCallEvent]:
    """Return ``calls`` marked as one model step (one ``batch``) when there are several.

    The batch id is a serial (``step1``...), so the session's random stream, and
    everything else in it, is the same as without batches.
    """
    if len(calls) < 2:
        return calls
    batch = log.id("step")
    return [call.model_copy(update={"batch": batch}) for call in calls]


def _parallel_tools(log: _Log, turns: int) -> None:
    w, rng = log.writer, log.rng
    log.add(InstructionsEvent(t_ms=0, text=_AGENT_INSTRUCTIONS))
    topics = [
        rng.choice([t for t in _RESEARCH_TOPICS if t.technical]),
        rng.choice(_OPS_TOPICS),
    ]
    fact_turns = _early(rng, turns, 2)
    planted_page = False
    for index in range(turns):
        topic = topics[index * len(topics) // turns]
        text = w.fill(rng.choice(_WORK_ASKS), topic)
        stated = _USER_FACTS["work"] if index in fact_turns else None
        log.ask(text, facts=stated, voice=False)
        if index == 0 or rng.random() < 0.7:
            facts: list[str] = []
            page_needle = None
            if not planted_page:
                sentence, page_needle = log.fact(_DOCUMENT_FACTS)
                facts.append(sentence)
            calls = _batched(log, _parallel_calls(log, topic, facts))
            log.add(*calls)
            if page_needle is not None:
                carrier = next((c for c in calls if page_needle in c.result), None)
                if carrier is not None and carrier.id is not None:
                    log.plant(page_needle, carrier.id)
                    planted_page = True
            log.request()
            if rng.random() < 0.3:
                log.add(*_parallel_calls(log, topic, [])[:1])
                log.request()
        log.typed(_written_reply(w, topic, rng.randrange(100, 500)))


_SHAPES: dict[str, Callable[[_Log, int], None]] = {
    "voice_research": _voice_research,
    "support_call": _support_call,
    "long_chat": _long_chat,
    "paste": _paste,
    "parallel_tools": _parallel_tools,
}


def generate_realistic_session(
    seed: int,
    *,
    shape: str | None = None,
    turns: int | None = None,
    corpus: Sequence[str] = (),
    probe_at: Sequence[int] = PROBE_DISTANCES,
    name: str | None = None,
) -> Session:
    """Return a reproducible session shaped like the logs real agents write.

    The shapes (:data:`REALISTIC_SHAPES`):

    - ``voice_research``: spoken questions; the agent opens whole HTML pages (one
      of the first two, and about 30% of the rest, are :data:`BIG_PAGE_TOKENS`
      long, the others :data:`SMALL_PAGE_TOKENS`) and answers aloud with word
      timings; about a quarter of the answers are interrupted.
    - ``support_call``: a spoken support call with small lookups
      (:data:`SMALL_RESULT_TOKENS`) and knowledge base articles of about 7,500
      tokens (:data:`ARTICLE_TOKENS`), the first at the second user turn.
    - ``long_chat``: typed small turns (100+ by default) that drift across topics.
    - ``paste``: an on-call chat whose history fills about 11,000 tokens, then the
      user pastes a log of :data:`PASTE_TOKENS`, leaving a 16,000-token window
      about :data:`PASTE_FREE_TOKENS` short of room for it.
    - ``parallel_tools``: an agent that calls 2-5 tools in one step (searches,
      fetched pages, files, small lookups): the calls of one step are consecutive
      ``tool_call`` events with the same ``batch`` (``step1``, ``step2``...), each
      timed when its result arrived, replayed as one group.

    Every shape plants facts with unique needles: in user turns (an order number,
    a grant number, a staging host) and in pages or tool results (an accession
    number, an override code, an incident id in the pasted log). Each needle
    appears in exactly one event, the ``introduced`` event of its probes, and is
    probed where the session content after it is nearest each of ``probe_at``
    tokens (never before half of it; a distance the session does not reach is not
    probed). :func:`probe_distances` measures where each probe landed.

    Args:
        seed: Seeds :class:`random.Random`; the same arguments give the same
            session.
        shape: One of :data:`REALISTIC_SHAPES`; None picks
            ``REALISTIC_SHAPES[seed % len(REALISTIC_SHAPES)]``.
        turns: User turns; None for the shape's :data:`DEFAULT_TURNS`. A ``paste``
            session has at least two: one before the paste, and the paste.
        corpus: Real texts (plain text or Markdown) whose paragraphs are mixed into
            pages and articles (see :func:`repo_corpus`); empty for synthetic prose
            only, which is the same in every install.
        probe_at: Distances, in tokens of session content, at which each fact is
            probed.
        name: The session's name; by default ``<shape>-<seed>``.

    Returns:
        The session.

    Raises:
        InvalidArgumentError: an unknown ``shape``, ``turns`` below 1 or a distance
            below 1.
        InvalidTypeError: an argument of the wrong type.

    >>> s = generate_realistic_session(1, shape="long_chat", turns=5)
    >>> s.name, s == generate_realistic_session(1, shape="long_chat", turns=5)
    ('long_chat-1', True)
    """
    check_int("seed", seed, -(2**63))
    if shape is None:
        shape = REALISTIC_SHAPES[seed % len(REALISTIC_SHAPES)]
    if shape not in _SHAPES:
        raise InvalidArgumentError(
            f"shape={shape!r:.40} is not a session shape; use one of "
            f"{', '.join(REALISTIC_SHAPES)}"
        )
    turns = check_int("turns", DEFAULT_TURNS[shape] if turns is None else turns, 1)
    if isinstance(corpus, str) or not all(isinstance(t, str) for t in corpus):
        raise InvalidTypeError(
            f"corpus must be a sequence of texts (str), got {corpus!r:.60}"
        )
    for distance in probe_at:
        check_int("probe_at distance", distance, 1)
    rng = random.Random(seed)
    log = _Log(rng, _Writer(rng, get_tokenizer("o200k_base"), corpus), probe_at)
    _SHAPES[shape](log, turns)
    return Session(log.events, name=name or f"{shape}-{seed}")


def realistic_sessions(
    count: int, seed: int = 0, *, corpus: Sequence[str] = ()
) -> Iterator[Session]:
    """Yield ``count`` realistic sessions, cycling through :data:`REALISTIC_SHAPES`.

    Session ``i`` is ``generate_realistic_session(seed + i, shape=REALISTIC_SHAPES[i
    % len(REALISTIC_SHAPES)])`` with each shape's default length.

    Args:
        count: How many sessions.
        seed: The first session's seed.
        corpus: Passed on to :func:`generate_realistic_session`.

    Yields:
        The sessions, one at a time (a voice research session can hold 200,000
        tokens).

    Raises:
        InvalidArgumentError: ``count`` below 0.

    >>> [s.name for s in realistic_sessions(2, 10)]
    ['voice_research-10', 'support_call-11']
    """
    check_int("count", count, 0)
    check_int("seed", seed, -(2**63))
    for index in range(count):
        shape = REALISTIC_SHAPES[index % len(REALISTIC_SHAPES)]
        yield generate_realistic_session(seed + index, shape=shape, corpus=corpus)


def probe_distances(
    session: Session, *, tokenizer: str | Tokenizer = "o200k_base"
) -> tuple[int, ...]:
    """Return, for each probe in order, the tokens of session content since its fact.

    Content is what events bring into the conversation: instructions, turn text,
    document content, tool arguments and results. The event that introduced the
    needle is not counted; every event after it, up to the probe, is.

    Args:
        session: The session to measure.
        tokenizer: What to count with.

    Returns:
        One distance per ``probe`` event.

    >>> s = Session([
    ...     TurnEvent(t_ms=0, id="u1", role="user", text="My code is AB-1234."),
    ...     TurnEvent(t_ms=1, role="assistant", text="Noted, thank you."),
    ...     ProbeEvent(t_ms=2, needle="AB-1234", introduced="u1"),
    ... ])
    >>> probe_distances(s)  # "Noted, thank you." is 6 tokens
    (6,)
    """
    count = get_tokenizer(tokenizer).count
    totals = [0]
    for event in session.events:
        totals.append(totals[-1] + _content_tokens(event, count))
    return tuple(
        totals[index] - totals[session.index_of(event.introduced) + 1]
        for index, event in enumerate(session.events)
        if isinstance(event, ProbeEvent)
    )


def repo_corpus(root: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
    """Return the real texts a ctxchunk source checkout ships, for ``corpus=``.

    Reads ``examples/texts/*`` (prose, Markdown, a call transcript) and the readable
    text of ``tests/fixtures/html/*.html`` (Python documentation pages), each
    directory's ``README.md`` left out, in file name order. An installed package
    has neither directory and gets ``()``.

    Args:
        root: The checkout; by default the directory above the ``ctxchunk``
            package.

    Returns:
        The texts.
    """
    base = Path(__file__).resolve().parent.parent if root is None else Path(root)
    texts: list[str] = []
    folder = base / "examples" / "texts"
    if folder.is_dir():
        texts += [
            path.read_text(encoding="utf-8")
            for path in sorted(folder.iterdir())
            if path.is_file() and path.name != "README.md"
        ]
    folder = base / "tests" / "fixtures" / "html"
    if folder.is_dir():
        texts += [
            read_document(path.read_text(encoding="utf-8"), format="html").text
            for path in sorted(folder.glob("*.html"))
        ]
    return tuple(texts)
