"""Rebuild the example session logs in this folder.

Run from the repository root: ``python examples/sessions/build_examples.py``. The
conversation text is written for ctxchunk; the pages of the research session are
Python's own HTML documentation as Debian's ``python3-doc`` installs it (see
README.md). Output is deterministic.
"""

from __future__ import annotations

import html
import random
import re
import sys
from pathlib import Path

from ctxchunk._generate import filler_paragraph
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
    dump_session,
)

HERE = Path(__file__).parent
DOCS = Path("/usr/share/doc/python3.11/html/library")
DOCS_URL = "https://docs.python.org/3.11/library/"


class Log:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.t = 0
        self.n = 0

    def _at(self, ms: int) -> int:
        self.t += ms
        return self.t

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def instructions(self, text: str) -> None:
        self.events.append(InstructionsEvent(t_ms=self._at(0), text=text))

    def user(self, text: str, speaker: str | None = None) -> str:
        eid = self._id("u")
        self.events.append(
            TurnEvent(
                t_ms=self._at(1500 + 60 * len(text.split())),
                id=eid,
                role="user",
                text=text,
                speaker=speaker,
            )
        )
        return eid

    def assistant(self, text: str, *, request: bool = True) -> str:
        if request:
            self.request()
        eid = self._id("a")
        words = []
        at = 0
        for word in text.split():
            length = 90 + 35 * len(word)
            words.append(WordTiming(word=word, start_ms=at, end_ms=at + length))
            at += length + 40
        self.events.append(
            TurnEvent(
                t_ms=self._at(700), id=eid, role="assistant", text=text, words=words
            )
        )
        return eid

    def interrupt(self, item: str, words_heard: int) -> None:
        turn = next(e for e in self.events if e.id == item)
        assert isinstance(turn, TurnEvent)
        assert turn.words is not None
        heard = turn.words[words_heard - 1].end_ms
        self.events.append(
            InterruptEvent(t_ms=self._at(heard), item=item, heard_ms=heard)
        )

    def request(self) -> None:
        self.events.append(RequestEvent(t_ms=self._at(200)))

    def document(self, url: str, title: str, content: str, fmt: str) -> str:
        eid = self._id("d")
        self.events.append(
            DocumentEvent(
                t_ms=self._at(900),
                id=eid,
                url=url,
                title=title,
                content=content,
                format=fmt,  # type: ignore[arg-type]
            )
        )
        return eid

    def tool(self, name: str, arguments: dict[str, object], result: str) -> str:
        eid = self._id("c")
        self.events.append(
            ToolCallEvent(
                t_ms=self._at(600),
                id=eid,
                name=name,
                arguments=arguments,
                result=result,
                call_id=f"call_{eid}",
            )
        )
        return eid

    def probe(self, needle: str, introduced: str) -> None:
        self.events.append(
            ProbeEvent(t_ms=self._at(1), needle=needle, introduced=introduced)
        )

    def save(self, name: str) -> Session:
        session = Session(self.events, name=name)
        dump_session(session, HERE / f"{name}.jsonl")
        return session


_KEEP = re.compile(r"</?(h1|h2|h3|h4|p|pre|dl|dt|dd|ul|ol|li|code|em|strong)>")


def page(name: str) -> tuple[str, str]:
    """Return the title and the main content of a documentation page, as light HTML.

    The Sphinx page's ``role="main"`` body is kept; attributes, links, anchors and
    layout tags are dropped, which keeps the text, headings and code blocks.
    """
    raw = (DOCS / name).read_text(encoding="utf-8")
    match = re.search(
        r'<div class="body" role="main">(.*?)<div class="sphinxsidebar"', raw, re.S
    )
    if match is None:
        raise SystemExit(f"{name}: no main body found")
    body = match.group(1)
    body = re.sub(
        r"<(/?)(h[1-4]|p|pre|dl|dt|dd|ul|ol|li|code|em|strong)\b[^>]*>", r"<\1\2>", body
    )
    body = re.sub(
        r"<(?!/?(h[1-4]|p|pre|dl|dt|dd|ul|ol|li|code|em|strong)>)[^>]+>", "", body
    )
    body = body.replace("¶", "")
    body = re.sub(r"\n\s*\n+", "\n", body).strip()
    title_match = re.search(r"<title>(.*?)</title>", raw, re.S)
    title = html.unescape(title_match.group(1)).strip() if title_match else name
    return title, body


def research() -> Session:
    log = Log()
    log.instructions(
        "You are a voice research assistant for a software engineer. You can open web "
        "pages; what you read there is reference material, not something the user "
        "said. Answer briefly and conversationally, cite the page you are relying on, "
        "and say so when the pages do not settle a question."
    )
    u = log.user(
        "Hi. I'm porting a data-ingest service from threads to asyncio, and I want "
        "to get the cancellation story right before I touch anything. The service "
        "is called Heron, by the way, and it has to stay on Python 3.11 because of "
        "our base image.",
        speaker="Maya",
    )
    a = log.assistant(
        "Got it: Heron, Python 3.11, moving from threads to asyncio with "
        "cancellation as the main worry. I'll start with the asyncio tasks page, "
        "since that is where cancellation, timeouts and task groups are described, "
        "then we can compare with concurrent.futures and threading if it helps."
    )
    log.request()
    title, body = page("asyncio-task.html")
    d1 = log.document(DOCS_URL + "asyncio-task.html", title, body, "html")
    a = log.assistant(
        "The tasks page has what we need. In 3.11 there is asyncio.TaskGroup: you "
        "create tasks inside an async with block, and if one of them fails with an "
        "exception the others are cancelled and the errors come back together as an "
        "ExceptionGroup. There is also asyncio.timeout, a context manager that "
        "cancels the enclosed work when the deadline passes and turns that into "
        "TimeoutError. The page stresses that CancelledError should normally be "
        "re-raised after cleanup, because swallowing it breaks the machinery that "
        "task groups and timeouts rely on. Then there is shield, which protects an "
        "inner awaitable from cancellation of the outer one, and wait_for, which is "
        "the older way to put a timeout on a single awaitable."
    )
    log.interrupt(a, 48)
    log.user(
        "Sorry, hold on. You said task groups cancel the others when one fails. "
        "Does that include when the failure is a plain cancellation of one child?"
    )
    log.assistant(
        "Good catch, no: by the page's description a child that is cancelled does "
        "not count as a failure for the group. Only an exception other than "
        "CancelledError in a child makes the group cancel the remaining tasks. If "
        "the task running the async with block is itself cancelled, the group "
        "cancels its children too, and the cancellation propagates once they are "
        "done."
    )
    log.probe("Heron", u)
    n1 = log.user(
        "Okay. Let me give you a constraint. Every upstream fetch must finish or be "
        "abandoned within 2.5 seconds; that's the number the SRE team signed off on, "
        "two point five, not three."
    )
    log.assistant(
        "Noted: a 2.5 second budget per upstream fetch. With 3.11 I would wrap each "
        "fetch in async with asyncio.timeout(2.5) inside the task, so the deadline "
        "is local to the fetch and the group only sees a TimeoutError if you let it "
        "escape. If you want the group to keep going when one fetch times out, "
        "catch TimeoutError inside the task and return a marker instead."
    )
    log.user(
        "Right. Now the part of Heron that worries me is the thread pool that "
        "parses payloads; parsing is CPU-heavy. Can you pull up concurrent.futures?"
    )
    log.request()
    title, body = page("concurrent.futures.html")
    d2 = log.document(DOCS_URL + "concurrent.futures.html", title, body, "html")
    a = log.assistant(
        "Here's the concurrent.futures page. It gives you two executors with the "
        "same interface: ThreadPoolExecutor and ProcessPoolExecutor. For CPU-bound "
        "parsing the process pool sidesteps the global interpreter lock, at the "
        "cost of pickling arguments and results. From asyncio you would call "
        "loop.run_in_executor with the executor and the function. One detail on "
        "the page matters for your cancellation question: Future.cancel only "
        "succeeds if the call has not started running yet; once a worker is "
        "executing it, it cannot be interrupted through the future. The shutdown "
        "method has a cancel_futures flag, added in 3.9, that cancels pending work "
        "that has not started."
    )
    log.interrupt(a, 70)
    log.user(
        "Wait, so if the 2.5 second timeout fires while a parse is already running "
        "in a process, the parse keeps going?"
    )
    log.assistant(
        "Yes. The asyncio side stops waiting, the awaiting task gets the timeout, "
        "but the worker process keeps running the function until it returns; the "
        "result is simply discarded. If parses can run long, you either make them "
        "check a deadline themselves or size the pool so a stuck parse cannot "
        "starve the others."
    )
    log.user(
        "Correction on what I said earlier: the 2.5 seconds is for fetches only. "
        "Parsing has its own limit of 800 milliseconds per payload."
    )
    log.assistant(
        "Thanks, updating my notes: fetches have 2.5 seconds, parsing has 800 "
        "milliseconds per payload. Since a running parse can't be cancelled from "
        "outside, the 800 millisecond limit has to be enforced inside the parser, "
        "or by tolerating a late result that you then drop."
    )
    log.probe("2.5 seconds", n1)
    log.user(
        "Let's look at the threading page too. Our current code uses Event objects "
        "to tell worker threads to stop, and I want to know what maps to what."
    )
    log.request()
    title, body = page("threading.html")
    d3 = log.document(DOCS_URL + "threading.html", title, body, "html")
    a = log.assistant(
        "From the threading page: threading.Event is a flag with set, clear, "
        "is_set and a blocking wait that takes an optional timeout. Your workers "
        "probably loop on something like while not stop.is_set(). Threads cannot be "
        "killed from outside, which is why that cooperative pattern exists. In "
        "asyncio the closest equivalent is task cancellation itself: cancel "
        "raises CancelledError at the next await in the task, so the loop does "
        "not need its own flag unless you want a graceful drain. asyncio also has "
        "its own Event class, with an awaitable wait, for that case. The threading "
        "page also covers Lock, RLock, Condition, Semaphore, Barrier and Timer."
    )
    log.interrupt(a, 40)
    log.user(
        "No wait, I don't want cancellation for the drain. On shutdown Heron must "
        "finish the batch it's on. So which asyncio piece gives me a drain?"
    )
    log.request()
    title, body = page("asyncio-sync.html")
    d4 = log.document(DOCS_URL + "asyncio-sync.html", title, body, "html")
    log.assistant(
        "Then keep a cooperative signal. The asyncio synchronization page lists "
        "Event, Lock, Condition, Semaphore, BoundedSemaphore and, new in 3.11, "
        "Barrier. For a drain, an asyncio.Event named stopping works: the intake "
        "loop checks it before taking a new batch, the batch in progress runs to "
        "completion, and shutdown waits for the workers to return. The page notes "
        "these primitives are not thread-safe; they are for tasks in one event "
        "loop."
    )
    log.user(
        "And between the intake loop and the workers we have a queue. Show me the "
        "asyncio queue page, and the regular queue module for comparison."
    )
    log.request()
    title, body = page("asyncio-queue.html")
    log.document(DOCS_URL + "asyncio-queue.html", title, body, "html")
    title, body = page("queue.html")
    d6 = log.document(DOCS_URL + "queue.html", title, body, "html")
    log.assistant(
        "Both pages are open. asyncio.Queue mirrors queue.Queue, but its get and "
        "put are coroutines, and it is not thread-safe. For a drain, the pattern "
        "the asyncio page shows is task_done plus join: each worker calls "
        "task_done after finishing an item, and await queue.join() returns when "
        "every item put has been processed. The queue module's version has the "
        "same join and task_done pair for threads, plus SimpleQueue, which has no "
        "task tracking at all."
    )
    n2 = log.user(
        "Good. One more fact for the notes: the intake queue is capped at 64 items, "
        "maxsize sixty-four, because each item can hold a 4 megabyte payload."
    )
    log.assistant(
        "Noted: the intake queue has maxsize 64 because items can be up to 4 "
        "megabytes. With a bounded asyncio.Queue the producer's await put blocks "
        "when it is full, which gives you backpressure for free."
    )
    log.user(
        "Last thing. We pass a request id through the pipeline for logging, and in "
        "the threaded version it lives in a threading.local. What's the asyncio "
        "answer?"
    )
    log.request()
    title, body = page("contextvars.html")
    log.document(DOCS_URL + "contextvars.html", title, body, "html")
    a = log.assistant(
        "The contextvars page is the answer. A ContextVar holds a value per "
        "context, and asyncio runs every task in a copy of the context that was "
        "current when the task was created, so setting the request id in the "
        "intake task before it spawns the workers makes it visible to them, while "
        "changes a worker makes stay in that worker. Unlike threading.local, this "
        "follows the logical flow of the request rather than the OS thread. For "
        "run_in_executor calls the context is not copied automatically to the "
        "worker thread; you would pass it explicitly with contextvars.copy_context "
        "and ctx.run."
    )
    log.interrupt(a, 60)
    log.user(
        "Hmm, is that last part right for processes? We use a process pool, not "
        "threads, for the parsers."
    )
    log.request()
    title, body = page("sched.html")
    log.document(DOCS_URL + "sched.html", title, body, "html")
    log.assistant(
        "For a process pool, no context travels at all: the function and its "
        "arguments are pickled and run in another interpreter, so the request id "
        "has to be passed as an ordinary argument. I also opened the sched page "
        "while checking whether anything there helps with deadlines; it doesn't, "
        "it is a general event scheduler and not tied to asyncio, so I would not "
        "use it in Heron."
    )
    log.user("Okay, summarise the plan in five bullet points, and include the numbers.")
    log.request()
    log.probe("Heron", u)
    log.probe("2.5 seconds", n1)
    log.probe("800", n1)
    log.probe("sixty-four", n2)
    log.probe("TaskGroup", d1)
    log.probe("cancel_futures", d2)
    log.probe("threading.Event", d3)
    log.probe("Barrier", d4)
    log.probe("SimpleQueue", d6)
    log.assistant(
        "Here is the plan for Heron on Python 3.11. One: each upstream fetch runs "
        "inside asyncio.timeout(2.5), caught in the task so one slow fetch does not "
        "sink the batch. Two: parsing moves to a ProcessPoolExecutor through "
        "run_in_executor, with the 800 millisecond limit enforced inside the "
        "parser, since running work cannot be cancelled from outside. Three: tasks "
        "for a batch live in a TaskGroup, so a real error cancels the siblings. "
        "Four: shutdown sets an asyncio.Event, intake stops taking batches, and "
        "queue.join drains the bounded asyncio.Queue of 64 items. Five: the "
        "request id is a ContextVar for the asyncio side and an explicit argument "
        "for the parser processes."
    )
    return log.save("voice_research")


def support() -> Session:
    rng = random.Random(20240611)
    log = Log()
    log.instructions(
        "You are a phone support agent for Lumen Fibre, a home internet provider. "
        "Verify the caller before discussing the account. Use the tools to look "
        "things up; never guess account details. Keep spoken answers short."
    )
    log.user(
        "Hi, my internet has been dropping every evening for about a week and I'm "
        "working from home, so it's getting to be a real problem.",
        speaker="Caller",
    )
    log.assistant(
        "I'm sorry to hear that, evenings dropping out while you work is "
        "frustrating. I'll look into it. Can I start with the account number or "
        "the phone number on the account?"
    )
    u_acct = log.user("The account number is LF-2093-7714, and it's under Priya Raman.")
    log.request()
    log.tool(
        "lookup_account",
        {"account": "LF-2093-7714"},
        '{"account": "LF-2093-7714", "holder": "Priya Raman", "plan": "Fibre 500", '
        '"address": "14 Alder Court, Flat 3", "since": "2021-04-02", '
        '"security_question": "first school", "status": "active"}',
    )
    log.assistant(
        "Thanks. I have the account for Priya Raman on the Fibre 500 plan. For "
        "security, can you tell me the answer to your security question, the "
        "name of your first school?"
    )
    log.user("Saint Brendan's.")
    log.assistant("Thank you, that matches. Let me pull the line history.")
    u_router = log.user(
        "Oh and the router is the grey one, the label says model HX-40, serial "
        "ends in 5521."
    )
    days = []
    for day in range(1, 8):
        events = [
            {
                "ts": f"2024-06-{day:02d}T{h:02d}:{m:02d}:00Z",
                "event": rng.choice(
                    [
                        "LOS",
                        "LINK_DOWN",
                        "RETRAIN",
                        "DHCP_RENEW",
                        "LINK_UP",
                        "SNR_MARGIN_LOW",
                    ]
                ),
                "snr_db": round(rng.uniform(3.0, 14.0), 1),
                "note": filler_paragraph(rng, 2),
            }
            for h in range(17, 23)
            for m in (5, 25, 45)
        ]
        days.append({"date": f"2024-06-{day:02d}", "events": events})
    import json

    log.request()
    log.tool(
        "get_line_logs",
        {"account": "LF-2093-7714", "days": 7},
        json.dumps({"account": "LF-2093-7714", "days": days}, sort_keys=True),
    )
    a = log.assistant(
        "The logs show a pattern: every evening between about five and eleven the "
        "line loses signal several times, the signal-to-noise margin drops below "
        "six decibels, and the router retrains. That usually points at the "
        "physical line rather than the router, but I want to rule out the router "
        "first, since the HX-40 had a firmware issue last year with exactly "
        "these symptoms."
    )
    log.interrupt(a, 35)
    log.user(
        "Sorry, you said firmware? I think it updated itself last Tuesday, if "
        "that matters."
    )
    log.request()
    log.tool(
        "get_device",
        {"serial_suffix": "5521", "model": "HX-40"},
        '{"model": "HX-40", "serial": "HX40-88-0005521", "firmware": "3.2.7", '
        '"latest_firmware": "3.2.9", "last_update": "2024-06-04", '
        '"known_issues": ["3.2.7: evening retrain loop under high crosstalk, '
        'fixed in 3.2.9"]}',
    )
    log.assistant(
        "It does matter. Your router updated to 3.2.7 on the fourth, and 3.2.7 has "
        "a known retrain loop in the evening when there is a lot of crosstalk on "
        "the line. Version 3.2.9 fixes it. I can push 3.2.9 to the router now; it "
        "will restart once, which takes about four minutes."
    )
    log.user("Yes, go ahead, I'm not on a call right now.")
    log.request()
    log.tool(
        "push_firmware",
        {"serial": "HX40-88-0005521", "version": "3.2.9"},
        '{"job": "FW-771203", "status": "queued", "eta_seconds": 240}',
    )
    log.assistant(
        "Done, the update is queued as job FW-771203 and should take about four "
        "minutes. While it runs, can I ask whether anything changed in the flat "
        "around a week ago, like new equipment near the router or the phone "
        "socket?"
    )
    u_heater = log.user(
        "Actually yes, my neighbour put in one of those electric storage heaters "
        "right on the other side of the wall where the socket is. It comes on "
        "around five."
    )
    log.assistant(
        "That's a useful detail. Some heaters put electrical noise on nearby "
        "cables, and five in the evening lines up with when your drops start. If "
        "the firmware fix doesn't fully cure it, an engineer can check the wiring "
        "at the socket."
    )
    openers = ["While we wait,", "Also,", "One more question,", "Hmm,", "Okay, and"]
    openers.append("Right,")
    for round_ in range(6):
        log.user(
            f"{openers[round_]} "
            + [
                "can you check whether my bill went up? The last one looked higher.",
                "is there any outage in my area tonight?",
                "what speed should I actually be getting on the 500 plan?",
                "does the router restart change my Wi-Fi password?",
                "can you see if the mesh extender is connected too?",
                "will I get a credit for the week of drops?",
            ][round_]
        )
        name, args, result_rows = [
            ("get_bills", {"account": "LF-2093-7714", "months": 6}, 6),
            ("area_status", {"postcode": "AL4 9QT"}, 12),
            ("plan_details", {"plan": "Fibre 500"}, 8),
            ("kb_search", {"query": "HX-40 restart wifi password"}, 10),
            ("list_devices", {"account": "LF-2093-7714"}, 14),
            ("credit_policy", {"reason": "repeated_drops", "days": 7}, 9),
        ][round_]
        rows = [
            {"id": f"R{round_}{i:02d}", "detail": filler_paragraph(rng, 3)}
            for i in range(result_rows * 9)
        ]
        log.request()
        log.tool(name, args, json.dumps({"rows": rows}, sort_keys=True))
        log.assistant(
            [
                "Your last bill was 4 pounds higher because the introductory discount "
                "ended in May; the plan price itself has not changed.",
                "There is no outage reported for your postcode tonight; the nearest "
                "planned work is next Thursday, overnight, and it will not affect you.",
                "On Fibre 500 you should see around 500 megabits down on a wired "
                "connection; Wi-Fi will usually be lower depending on the room.",
                "No, the restart keeps all your settings, including the Wi-Fi name "
                "and password.",
                "The mesh extender was connected until the router restarted; it "
                "should reconnect by itself within a couple of minutes.",
                "Yes, with seven days of repeated drops you qualify for a credit of "
                "one week's charges, which I can add to the next bill.",
            ][round_]
        )
    for topic in ("evening-dropouts", "storage-heater-interference", "hx40-firmware"):
        log.request()
        log.document(
            f"https://support.lumenfibre.example/kb/{topic}",
            topic.replace("-", " ").title(),
            "\n\n".join(filler_paragraph(rng, 8) for _ in range(24)),
            "text",
        )
    log.assistant(
        "I've gone through the three help articles on evening dropouts, heater "
        "interference and the HX-40 firmware; nothing in them changes the plan."
    )
    log.request()
    log.tool(
        "job_status",
        {"job": "FW-771203"},
        '{"job": "FW-771203", "status": "done", "firmware": "3.2.9", '
        '"snr_db_now": 11.8}',
    )
    log.assistant(
        "The update finished: the router is on 3.2.9 and the line margin is "
        "healthy at the moment. We'll only know about the evenings tonight."
    )
    u_engineer = log.user(
        "Can you book the engineer anyway, just in case? Any weekday after 2 pm "
        "works, but not Friday, I have the dentist."
    )
    log.request()
    log.tool(
        "engineer_slots",
        {"postcode": "AL4 9QT", "after": "14:00", "exclude": ["Friday"]},
        json.dumps(
            {
                "slots": [
                    {"date": f"2024-06-{d}", "window": w, "engineer": f"E{d}{i}"}
                    for d in (17, 18, 19, 20)
                    for i, w in enumerate(["14:00-16:00", "16:00-18:00"])
                ]
            }
        ),
    )
    log.assistant(
        "I can offer Tuesday the eighteenth between two and four, or Wednesday "
        "the nineteenth between four and six. Which suits you?"
    )
    log.user("Tuesday, two to four.")
    log.request()
    log.tool(
        "book_engineer",
        {"date": "2024-06-18", "window": "14:00-16:00", "account": "LF-2093-7714"},
        '{"booking": "ENG-55190", "date": "2024-06-18", "window": "14:00-16:00"}',
    )
    a = log.assistant(
        "Booked: engineer visit reference ENG-55190, Tuesday the eighteenth between "
        "two and four. They'll check the wiring at the socket, and I've noted the "
        "storage heater next door so they know what to look for. You'll get a text "
        "the evening before with the engineer's name and a link to track them on "
        "the day, and if the drops stop tonight you can cancel from that link too."
    )
    log.interrupt(a, 30)
    log.user("Sorry, what was the reference again? I was writing.")
    log.request()
    log.probe("LF-2093-7714", u_acct)
    log.probe("5521", u_router)
    log.probe("storage heater", u_heater)
    log.probe("not Friday", u_engineer)
    log.probe("FW-771203", u_heater)
    log.assistant("Of course: ENG-55190. That's E, N, G, five five one nine zero.")
    log.user("Great, thanks for all the help.")
    log.assistant(
        "You're welcome, Priya. The credit for the week will be on your next bill, "
        "and the engineer is booked for Tuesday. Have a good evening."
    )
    return log.save("support_call")


def resume() -> Session:
    rng = random.Random(77)
    log = Log()
    log.instructions(
        "You are a planning assistant for an events team. A conversation may resume "
        "from an earlier transcript, which is provided as retrieved context. Keep "
        "track of decisions and who made them."
    )
    u_venue = log.user(
        "Morning. Quick recap of where we are: the offsite is in Lisbon, 14 to 16 "
        "October, 42 people, and we picked the Harbour Room at the Tagus Hotel.",
        speaker="Jonas",
    )
    log.assistant(
        "Morning, Jonas. Lisbon, 14 to 16 October, 42 people, Harbour Room at the "
        "Tagus Hotel. What shall we work on today?"
    )
    u_diet = log.user(
        "Catering. Remember three people are vegan and one has a severe sesame "
        "allergy, that one is non-negotiable."
    )
    log.assistant(
        "Understood: three vegan meals and one severe sesame allergy. I'll flag "
        "the allergy in every catering request."
    )
    for i in range(30):
        log.user(
            f"{['Next,', 'Also,', 'Then', 'And', 'Okay,'][i % 5]} "
            f"{filler_paragraph(rng, 5)} What do you suggest?"
        )
        log.assistant(
            f"{['Here is my take.', 'A few options.', 'Short answer first.'][i % 3]} "
            f"{filler_paragraph(rng, 26)}"
        )
    # The earlier session's transcript, retrieved and pasted back in whole: about
    # 10,000 tokens arriving when the window has roughly 5,000 free.
    speakers = ["Jonas", "Assistant", "Carla", "Assistant"]
    lines = [f"[{speakers[i % 4]}] {filler_paragraph(rng, 2)}" for i in range(390)]
    lines.insert(
        37,
        "[Carla] The keynote speaker is Dr. Ines Salgado, she lands at 09:40 on the "
        "14th and needs a pickup.",
    )
    lines.insert(
        300,
        "[Jonas] Budget cap for the whole offsite is 61,000 euros, hard limit.",
    )
    transcript = "\n".join(lines)
    d_old = log.document(
        "transcript://planning/2024-09-02",
        "Planning call, 2 September",
        transcript,
        "text",
    )
    log.request()
    log.probe("Harbour Room", u_venue)
    log.probe("sesame", u_diet)
    log.probe("Ines Salgado", d_old)
    log.assistant(
        "I've read the earlier planning call from the second of September. Two "
        "things from it matter now: the keynote, Dr. Ines Salgado, lands at 09:40 "
        "on the fourteenth and needs a pickup, and the overall budget cap is 61,000 "
        "euros."
    )
    for _ in range(30):
        log.user(f"{filler_paragraph(rng, 4)} Can you check that against the plan?")
        log.assistant(f"Checked. {filler_paragraph(rng, 22)}")
    log.user(
        "Final check before I send the brief to the hotel: venue, dates, dietary "
        "needs, keynote pickup and the budget cap."
    )
    log.request()
    log.probe("Harbour Room", u_venue)
    log.probe("sesame", u_diet)
    log.probe("Ines Salgado", d_old)
    log.probe("61,000 euros", d_old)
    log.assistant(
        "Venue: Harbour Room, Tagus Hotel, Lisbon, 14 to 16 October, 42 people. "
        "Dietary: three vegan, one severe sesame allergy. Keynote: Dr. Ines Salgado, "
        "pickup at 09:40 on the fourteenth. Budget cap: 61,000 euros."
    )
    return log.save("resume_chat")


def main() -> None:
    from ctxchunk.tokens import get_tokenizer

    tok = get_tokenizer()
    for build in (research, support, resume):
        session = build()
        tokens = sum(
            tok.count(
                getattr(e, "text", "")
                or getattr(e, "content", "")
                or getattr(e, "result", "")
            )
            for e in session.events
        )
        print(
            f"{session.name}: {len(session.events)} events, ~{tokens} tokens",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
