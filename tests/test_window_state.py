"""Stateful property test of ContextWindow: every guarantee, after every step.

One ``RuleBasedStateMachine`` drives a window (and a shadow window fed the same
operations, for determinism) with random pins, turns, documents, tool calls,
interrupts, removals, bad input and JSON round-trips, under every shipped policy and
random budgets, and checks every guarantee of DESIGN.md after each step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ctxchunk._openai_chat import to_openai_chat
from ctxchunk.change import Change, Reason
from ctxchunk.chunk import chunks_of_text
from ctxchunk.exceptions import CtxChunkError
from ctxchunk.policies import DropOldest, Summarize
from ctxchunk.render import ANTHROPIC_CONTINUATION, to_anthropic, to_responses_input
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import count_messages
from ctxchunk.window import ContextWindow
from tests.strategies import window_policies, window_settings, window_texts

# The state machine's own example count, whatever the profile: each example runs up
# to 30 steps, each checking every invariant over the whole window, and 200 examples
# take under a minute on one core. Raise it with CTXCHUNK_WINDOW_EXAMPLES.
MAX_EXAMPLES = int(os.environ.get("CTXCHUNK_WINDOW_EXAMPLES", "200"))

_TOOLS = ["search", "weather", "calc"]


def _texts(value: Any) -> list[str]:
    """Every string a rendered request carries as content, names or arguments."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        skip = {"type", "id", "call_id", "tool_use_id", "role"}
        return [t for k, v in value.items() if k not in skip for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _chat_style_size(items: list[Any], count: Callable[[str], int]) -> int:
    """A request's size counted as Chat Completions bills it: each item's text, 3
    tokens an item and 3 to prime the reply (ids and type tags left out)."""
    return 3 + sum(3 + sum(count(t) for t in _texts(item)) for item in items if item)


class WindowMachine(RuleBasedStateMachine):
    """A window and its shadow, checked against the guarantees."""

    def __init__(self) -> None:
        super().__init__()
        self.window: ContextWindow
        self.shadow: ContextWindow
        self.order: dict[str, int] = {}
        self.counter = 0
        self.pinned: set[str] = set()
        self.removed: set[str] = set()
        self.last: Change | None = None
        self.protected_before: set[str] = set()
        self.sources_before: dict[str, str] = {}

    @initialize(config=window_settings(), policy=window_policies())
    def start(self, config: dict[str, int], policy: Any) -> None:
        self.window = ContextWindow(policy=policy, **config)
        self.shadow = ContextWindow(policy=policy, **config)

    # -- helpers ---------------------------------------------------------------------

    def _apply(
        self, op: Callable[[ContextWindow], Change], *, bad: bool = False
    ) -> None:
        self.protected_before = self._protected()
        before = self.window.to_json()
        try:
            change = op(self.window)
        except CtxChunkError:
            assert self.window.to_json() == before, "a failed operation changed state"
            try:
                op(self.shadow)
            except CtxChunkError:
                pass
            else:  # pragma: no cover - determinism failure
                raise AssertionError("the shadow window accepted what failed") from None
            self.last = None
            return
        assert not bad, "bad input was accepted"
        shadow_change = op(self.shadow)
        assert shadow_change == change, "same operation, different change"
        self.last = change
        self._record(change)

    def _record(self, change: Change) -> None:
        # Ids are content-derived, so re-adding archived content reuses an id: the
        # latest admission is the one the window order follows.
        for chunk in change.added:
            self.order[chunk.id] = self.counter = self.counter + 1
            if chunk.pinned:
                self.pinned.add(chunk.id)
        for eviction in change.evicted:
            if eviction.chunk.id not in self.order:
                self.order[eviction.chunk.id] = self.counter = self.counter + 1
        for replacement in change.replaced:
            self.order[replacement.new.id] = self.order.get(replacement.old[0].id, 0)

    def _protected(self) -> set[str]:
        window = self.window
        wanted = window._protect
        sources: list[str] = []
        for chunk in reversed(window.chunks):
            fresh = chunk.source not in sources
            if chunk.kind is Kind.TURN and not chunk.pinned and wanted and fresh:
                sources.append(chunk.source)
        return set(sources[: max(wanted - 1, 0)]) if wanted else set()

    # -- rules -----------------------------------------------------------------------

    @precondition(lambda self: len(self.pinned) < 3)
    @rule(text=window_texts(max_words=12), role=st.sampled_from(["system", "user"]))
    def pin(self, text: str, role: str) -> None:
        self._apply(lambda w: w.pin(text, role=role))

    @rule(role=st.sampled_from(["user", "assistant"]), text=window_texts())
    def add_turn(self, role: str, text: str) -> None:
        self._apply(lambda w: w.add_turn(role, text))

    @rule(
        text=window_texts(),
        start=st.integers(0, 5000),
        length=st.integers(1, 8000),
    )
    def add_timed_reply(self, text: str, start: int, length: int) -> None:
        self._apply(
            lambda w: w.add_turn(
                "assistant", text, start_ms=start, end_ms=start + length
            )
        )

    @rule(text=window_texts(max_words=80), n=st.integers(0, 10**6))
    def add_document(self, text: str, n: int) -> None:
        self._apply(lambda w: w.add_document(text, url=f"https://example.com/{n}"))

    @rule(
        name=st.sampled_from(_TOOLS),
        args=window_texts(max_words=8),
        result=window_texts(max_words=60) | st.just(""),
    )
    def add_tool_call(self, name: str, args: str, result: str) -> None:
        self._apply(lambda w: w.add_tool_call(name, {"q": args}, result))

    @rule(n=st.integers(1, 3), text=window_texts(max_words=20))
    def add_parallel_calls(self, n: int, text: str) -> None:
        calls = [
            {
                "id": f"c{len(self.order)}_{j}",
                "type": "function",
                "function": {"name": _TOOLS[j], "arguments": "{}"},
            }
            for j in range(n)
        ]
        turns: list[dict[str, Any]] = [
            {"role": "assistant", "content": None, "tool_calls": calls}
        ]
        turns += [
            {"role": "tool", "tool_call_id": c["id"], "content": f"{text} {j}"}
            for j, c in enumerate(calls)
        ]
        self._apply(lambda w: w.add_transcript(turns))

    @rule(
        role=st.sampled_from(["user", "assistant", "tool"]),
        text=window_texts(max_words=60),
        n=st.integers(0, 10**6),
    )
    def add_chunks(self, role: str, text: str, n: int) -> None:
        kind = "document" if role == "tool" else "turn"
        chunks = chunks_of_text(
            text,
            self.window.chunk_tokens,
            role=role,
            kind=kind,
            source=f"ext-{n}",
            tokenizer=self.window.tokenizer,
        )
        self._apply(lambda w: w.add_chunks(chunks))

    @rule(data=st.data(), heard=st.integers(0, 4000), use_words=st.booleans())
    def interrupt(self, data: st.DataObject, heard: int, use_words: bool) -> None:
        turns = [
            c
            for c in self.window.chunks
            if c.role is Role.ASSISTANT and c.kind is Kind.TURN and not c.pinned
        ]
        if not turns:
            return
        chunk = data.draw(st.sampled_from(turns))
        words = None
        if use_words:
            words = [
                {"word": w, "start_ms": 300 * i, "end_ms": 300 * i + 250}
                for i, w in enumerate(chunk.text.split())
            ]
        self._apply(lambda w: w.interrupt(chunk.source, heard, words=words))

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        sources = sorted({c.source for c in self.window.chunks})
        if not sources:
            return
        source = data.draw(st.sampled_from(sources))
        self._apply(lambda w: w.remove(source))

    @rule(
        bad=st.sampled_from(
            ["role", "interrupt", "remove", "negative", "empty", "argtype"]
        )
    )
    def bad_input(self, bad: str) -> None:
        ops: dict[str, Callable[[ContextWindow], Change]] = {
            "role": lambda w: w.add_turn("narrator", "hello"),
            "interrupt": lambda w: w.interrupt("no-such-item", 100),
            "remove": lambda w: w.remove("no-such-source"),
            "negative": lambda w: w.interrupt("x", -1),
            "empty": lambda w: w.add_turn("user", "   "),
            "argtype": lambda w: w.add_tool_call("t", object(), "r"),  # type: ignore[arg-type]
        }
        self._apply(ops[bad], bad=True)

    @rule()
    def json_round_trip(self) -> None:
        text = self.window.to_json()
        policy = self.window.policy
        keep = isinstance(policy, Summarize) and policy.summarizer is not None
        restored = ContextWindow.from_json(text, policy=policy if keep else None)
        assert restored.to_json() == text
        assert restored.tokens == self.window.tokens
        self.window = restored
        self.last = None

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def valid(self) -> None:
        self.window.check_valid()

    @invariant()
    def exact_tokens_within_budget(self) -> None:
        window = self.window
        messages = to_openai_chat(window)
        assert window.tokens == count_messages(messages, model=window.tokenizer.name)
        assert window.tokens <= window.budget - window._reserve

    @invariant()
    def every_format_within_budget(self) -> None:
        """Counted the Chat way, the Responses and Anthropic renderings fit too."""
        window = self.window
        count = window.tokenizer.count
        responses = to_responses_input(window)
        anthropic = to_anthropic(window)
        limit = window.budget - window._reserve
        assert _chat_style_size(responses, count) <= limit
        # The one message to_anthropic may add is outside the window's ledger; the
        # docs ask for reserve_tokens to cover it, so it is allowed on top here.
        messages = anthropic["messages"]
        added = 0
        if messages and messages[0]["content"] == [
            {"type": "text", "text": ANTHROPIC_CONTINUATION}
        ]:
            added = 3 + count(ANTHROPIC_CONTINUATION)
            assert added == 7
        size = _chat_style_size([anthropic["system"], *messages], count)
        assert size <= limit + added

    @invariant()
    def chunk_bound(self) -> None:
        assert all(c.tokens <= self.window.chunk_tokens for c in self.window.chunks)

    @invariant()
    def conservation_and_order(self) -> None:
        in_window = [c.id for c in self.window.chunks]
        archived = {e.chunk.id for e in self.window.archive}
        for chunk_id in self.order:
            assert chunk_id in archived or chunk_id in in_window, chunk_id
        positions = [self.order[i] for i in in_window if i in self.order]
        assert positions == sorted(positions), "window out of order"

    @invariant()
    def pins_never_evicted(self) -> None:
        for eviction in self.window.archive:
            if eviction.chunk.pinned:
                assert eviction.reason is Reason.REMOVED

    @invariant()
    def protected_and_no_cliff(self) -> None:
        change = self.last
        if change is None:
            return
        for eviction in change.evicted:
            if eviction.reason is Reason.POLICY:
                assert eviction.chunk.source not in self.protected_before
                assert not eviction.chunk.pinned
        if not isinstance(self.window.policy, DropOldest):
            return
        lost = [e.chunk for e in change.evicted if e.reason is Reason.POLICY]
        if not lost:
            return
        # The eviction unit of a tool call is its whole group: the parallel calls of
        # one assistant message and all their results, which add_parallel_calls
        # gives call ids c<group>_<j>.
        units: dict[str, int] = {}
        for chunk in lost:
            call_id = chunk.meta.call_id
            key = call_id.rsplit("_", 1)[0] if call_id else chunk.id
            units[key] = units.get(key, 0) + chunk.tokens
        slack = max(units.values()) + 40 * (len(change.added) + 1)
        assert sum(c.tokens for c in lost) <= change.added_tokens + slack

    @invariant()
    def roles_rendered_faithfully(self) -> None:
        chunks = self.window.chunks
        messages = to_openai_chat(self.window)
        for role in ("user", "system"):
            rendered = [m for m in messages if m["role"] == role]
            held = [c for c in chunks if c.role.value == role]
            assert [m["content"] for m in rendered] == [c.text for c in held]
        if messages:
            assert messages[0]["role"] != "tool"

    @invariant()
    def deterministic(self) -> None:
        if self.last is not None:
            assert self.window.to_json() == self.shadow.to_json()


WindowMachine.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestWindowMachine = WindowMachine.TestCase
