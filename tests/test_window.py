"""Tests for ctxchunk.window (ContextWindow) and ctxchunk._openai_chat."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from ctxchunk._openai_chat import to_openai_chat
from ctxchunk.change import Reason
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import (
    BudgetError,
    ChunkError,
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    PolicyError,
    RoleError,
    StateError,
    TranscriptError,
    UnknownItemError,
)
from ctxchunk.policies import DropOldest, Edit, Evict, Replace
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import count_messages, get_tokenizer
from ctxchunk.window import ContextWindow

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
]


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def text_of(n_words: int, seed: int = 0) -> str:
    return " ".join(WORDS[(seed + i) % len(WORDS)] for i in range(n_words)) + "."


def exact(window: ContextWindow) -> int:
    return count_messages(to_openai_chat(window), model=window.tokenizer.name)


class TestConstruction:
    def test_defaults(self):
        """A window starts empty at the request's reply priming."""
        window = ContextWindow(10_000)
        assert window.tokens == 3 == exact(window)
        assert window.chunks == ()
        assert window.archive == ()

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"budget": 0}, InvalidArgumentError),
            ({"budget": -5}, InvalidArgumentError),
            ({"budget": "100"}, InvalidTypeError),
            ({"budget": 100, "chunk_tokens": 200}, BudgetError),
            ({"budget": 100, "chunk_tokens": 50, "reserve_tokens": 60}, BudgetError),
            ({"budget": 100, "chunk_tokens": 0}, InvalidArgumentError),
            (
                {"budget": 100, "chunk_tokens": 50, "protect_recent_turns": -1},
                Exception,
            ),
            ({"budget": 100, "chunk_tokens": 50, "policy": 1}, InvalidTypeError),
            ({"budget": 100, "chunk_tokens": 50, "tokenizer": "nope"}, CtxChunkError),
        ],
    )
    def test_bad_settings(self, kwargs, error):
        """Bad settings raise a ctxchunk error naming the argument."""
        with pytest.raises(error):
            ContextWindow(**kwargs)

    def test_cl100k_tokens_are_exact(self):
        """With cl100k_base, tokens match count_messages for gpt-4 framing."""
        window = ContextWindow(500, chunk_tokens=100, tokenizer="cl100k_base")
        window.pin("Be brief.")
        window.add_tool_call("search", {"q": "oslo"}, "Oslo is the capital.")
        window.add_turn("user", "Hi")
        assert window.tokens == exact(window)
        assert window.tokens == count_messages(to_openai_chat(window), model="gpt-4")


class TestAccounting:
    def test_tokens_match_count_messages(self):
        """tokens equals count_messages of the rendering for every kind of unit."""
        window = ContextWindow(5000, chunk_tokens=40)
        window.pin("You are a helpful assistant. " * 3)
        window.add_turn("user", text_of(50))
        window.add_turn("assistant", text_of(30, 3))
        window.add_document("# Guide\n\n" + text_of(80), url="https://e.com/g")
        window.add_tool_call("weather", {"city": "Oslo"}, text_of(100, 5))
        window.add_transcript(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": text_of(60)},
                        },
                        {
                            "id": "b",
                            "type": "function",
                            "function": {"name": "g", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "a", "content": text_of(70)},
                {"role": "tool", "tool_call_id": "b", "content": "ok"},
            ]
        )
        assert window.tokens == exact(window)
        window.check_valid()

    def test_multi_part_call_and_result_are_joined(self):
        """A call or result split into chunks renders as one call and one message."""
        window = ContextWindow(5000, chunk_tokens=10)
        window.add_tool_call("f", text_of(30), text_of(40))
        messages = to_openai_chat(window)
        assert [m["role"] for m in messages] == ["assistant", "tool"]
        call = messages[0]["tool_calls"][0]
        assert call["function"]["arguments"] == text_of(30)
        assert messages[1]["content"] == text_of(40)
        assert messages[1]["tool_call_id"] == call["id"]
        assert window.tokens == exact(window)


class TestRendering:
    def test_document_is_tool_context(self):
        """A document renders as an assistant call and a tool result, never user."""
        window = ContextWindow(2000, chunk_tokens=500)
        window.add_document("Some page text.", url="https://e.com", title="E")
        messages = to_openai_chat(window)
        assert [m["role"] for m in messages] == ["assistant", "tool"]
        call = messages[0]["tool_calls"][0]
        assert call["function"]["name"] == "read_document"
        assert json.loads(call["function"]["arguments"])["url"] == "https://e.com"
        assert messages[1]["tool_call_id"] == call["id"]
        assert call["id"] == "call_" + window.chunks[0].id

    def test_rendering_is_deterministic(self):
        """Two windows fed the same input render identically."""

        def build():
            window = ContextWindow(2000, chunk_tokens=500)
            window.add_document("Page.", url="https://e.com")
            window.add_tool_call("t", "{}", "r")
            return to_openai_chat(window)

        assert build() == build()

    def test_parallel_calls_render_as_one_message(self):
        """Parallel calls are one assistant message followed by their results."""
        window = ContextWindow(2000, chunk_tokens=500)
        window.add_transcript(
            [
                {"role": "user", "content": "Weather in Oslo and Bergen?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"c{i}",
                            "type": "function",
                            "function": {"name": "weather", "arguments": "{}"},
                        }
                        for i in range(2)
                    ],
                },
                {"role": "tool", "tool_call_id": "c0", "content": "rain"},
                {"role": "tool", "tool_call_id": "c1", "content": "sun"},
            ]
        )
        messages = to_openai_chat(window)
        assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
        assert [c["id"] for c in messages[1]["tool_calls"]] == ["c0", "c1"]
        assert window.tokens == exact(window)

    def test_pending_call_renders_nothing(self):
        """A call with no result yet is held but not rendered, and costs nothing."""
        window = ContextWindow(2000, chunk_tokens=500)
        window.add_transcript(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "p",
                            "type": "function",
                            "function": {"name": "slow", "arguments": "{}"},
                        }
                    ],
                }
            ]
        )
        assert to_openai_chat(window) == []
        assert window.tokens == 3
        window.add_transcript(
            [{"role": "tool", "tool_call_id": "p", "content": "done"}]
        )
        assert [m["role"] for m in to_openai_chat(window)] == ["assistant", "tool"]
        assert window.tokens == exact(window)

    def test_late_result_joins_its_call(self):
        """A result arriving after another turn still directly follows its call."""
        window = ContextWindow(2000, chunk_tokens=500)
        window.add_transcript(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "p",
                            "type": "function",
                            "function": {"name": "slow", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "user", "content": "Are you there?"},
                {"role": "tool", "tool_call_id": "p", "content": "done"},
            ]
        )
        roles = [m["role"] for m in to_openai_chat(window)]
        assert roles == ["assistant", "tool", "user"]
        window.check_valid()

    def test_orphan_result_gets_its_own_call(self):
        """A result whose call is not in the window gets a call of its own."""
        window = ContextWindow(2000, chunk_tokens=500)
        window.add_transcript(
            [{"role": "tool", "tool_call_id": "gone", "content": "x"}]
        )
        messages = to_openai_chat(window)
        assert [m["role"] for m in messages] == ["assistant", "tool"]
        assert messages[1]["tool_call_id"] == messages[0]["tool_calls"][0]["id"]


class TestAdmission:
    def test_large_turn_is_chunked(self):
        """Every update is cut into chunks of at most chunk_tokens."""
        window = ContextWindow(5000, chunk_tokens=20)
        change = window.add_turn("user", text_of(200))
        assert len(change.added) > 1
        assert all(c.tokens <= 20 for c in change.added)
        assert "".join(c.text for c in change.added) == text_of(200)

    def test_previous_ids_chain(self):
        """previous_ids names the chunk before each added chunk."""
        window = ContextWindow(5000, chunk_tokens=20)
        first = window.add_turn("user", "Hi").added[0]
        change = window.add_turn("assistant", text_of(60))
        assert change.previous_ids[0] == first.id
        assert change.previous_ids[1:] == tuple(c.id for c in change.added[:-1])

    def test_oversize_update_is_truncated_not_the_history(self):
        """An update larger than the budget keeps pins and protected turns."""
        window = ContextWindow(400, chunk_tokens=50, protect_recent_turns=2)
        window.pin("Rules.")
        window.add_turn("user", "Question?")
        window.add_turn("assistant", "Answer.")
        change = window.add_turn("user", text_of(1500))
        reasons = {e.reason for e in change.evicted}
        assert Reason.OVERSIZE in reasons
        texts = [c.text for c in window.chunks]
        assert "Rules." in texts
        assert "Answer." in texts
        assert window.tokens <= 400
        window.check_valid()

    def test_pin_that_cannot_fit_is_an_error(self):
        """Pinning past the budget raises and changes nothing."""
        window = ContextWindow(100, chunk_tokens=50)
        window.add_turn("user", "hello")
        before = window.to_json()
        with pytest.raises(BudgetError):
            window.pin(text_of(300))
        assert window.to_json() == before

    def test_pin_evicts_history(self):
        """A pin makes room by evicting history under the policy."""
        window = ContextWindow(60, chunk_tokens=30, protect_recent_turns=0)
        window.add_turn("user", text_of(20))
        change = window.pin(text_of(20, 4))
        assert change.instructions_changed
        assert any(e.reason is Reason.POLICY for e in change.evicted)

    def test_duplicate_chunks_are_rejected(self):
        """add_chunks refuses a chunk already in the window."""
        window = ContextWindow(500, chunk_tokens=100)
        chunk = Chunk.create("hi", role="user", kind="turn", source="s")
        window.add_chunks([chunk])
        with pytest.raises(ChunkError):
            window.add_chunks([chunk])

    def test_add_chunks_checks_counts(self):
        """A chunk counted with another tokenizer or too large is refused."""
        window = ContextWindow(500, chunk_tokens=5)
        bad = Chunk.create("hi", role="user", kind="turn", source="s", tokens=9)
        with pytest.raises(ChunkError):
            window.add_chunks([bad])
        big = Chunk.create(text_of(20), role="user", kind="turn", source="t")
        with pytest.raises(ChunkError):
            window.add_chunks([big])
        with pytest.raises(InvalidTypeError):
            window.add_chunks(["text"])  # type: ignore[list-item]

    @pytest.mark.parametrize(
        ("op", "error"),
        [
            (lambda w: w.add_turn("narrator", "x"), TranscriptError),
            (lambda w: w.add_turn("user", ""), TranscriptError),
            (lambda w: w.pin("x", role="nobody"), RoleError),
            (lambda w: w.interrupt("missing", 10), UnknownItemError),
            (lambda w: w.remove("missing"), UnknownItemError),
            (lambda w: w.add_tool_call("", "{}", "r"), InvalidArgumentError),
            (lambda w: w.add_tool_call("t", 5, "r"), InvalidTypeError),
        ],
    )
    def test_bad_input_changes_nothing(self, op, error):
        """Bad input raises a ctxchunk error and leaves the window as it was."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("user", "hello")
        before = window.to_json()
        with pytest.raises(error):
            op(window)
        assert window.to_json() == before

    def test_policy_bug_is_rolled_back(self):
        """A policy that yields an invalid action leaves the window unchanged."""

        class Greedy:
            def make_room(self, view, needed):
                for unit in view.candidates():
                    yield Evict(unit)
                yield "nonsense"

            def to_dict(self):
                return {"name": "Greedy"}

        window = ContextWindow(500, chunk_tokens=100, policy=Greedy())
        before = window.to_json()
        with pytest.raises(PolicyError):
            window.add_turn("user", "hello")
        assert window.to_json() == before

    @pytest.mark.parametrize("kind", ["replace", "edit"])
    def test_a_policy_chunk_with_a_wrong_count_is_refused(self, kind):
        """A summary or an edit counted with another tokenizer (or guessed) would
        make the window believe a request smaller than it is: refused, and the
        operation rolled back. Before, a Replace with tokens=1 left the window
        saying 288 tokens of a 300 budget while the request was 301."""
        text = "A summary of the earlier talk about lamps and refunds, long enough."

        class Guessing:
            def make_room(self, view, needed):
                if view.free >= needed:
                    return
                unit = next(iter(view.candidates()))
                wrong = Chunk.create(
                    text, role="assistant", kind="summary", source="s", tokens=1
                )
                if kind == "replace":
                    yield Replace((unit,), wrong)
                else:
                    old = unit.chunks[0]
                    new = Chunk.create(
                        text, role=old.role, kind=old.kind, source=old.source, tokens=1
                    )
                    yield Edit(unit, (old,), new)

        window = ContextWindow(
            300, chunk_tokens=60, policy=Guessing(), protect_recent_turns=0
        )
        turn = "About the lamp order and its refund window, again and again."
        # Fill the window to where the next turn needs room, and the policy acts.
        first = window.add_turn("user", turn)
        cost = first.tokens_after - first.tokens_before
        while window.capacity - window.tokens >= cost:
            window.add_turn("user", turn)
        before = window.to_json()
        with pytest.raises(PolicyError, match="tokens=1 but its text is 14"):
            window.add_turn("user", turn)
        assert window.to_json() == before

    def test_check_valid_recounts_every_chunk(self):
        """check_valid counts each chunk's text again: a count that is not its
        text's under the window's tokenizer fails it."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("user", "Is the Oslo ferry running tomorrow?")
        window.check_valid()
        unit = window._ledger.main.head
        assert unit is not None
        wrong = attrs.evolve(unit.chunks[0], tokens=unit.chunks[0].tokens + 1)
        window._ledger.set_chunks(unit, (wrong,))
        with pytest.raises(AssertionError, match=r"says \d+ tokens, its text is"):
            window.check_valid()


class TestAllOrNothing:
    def _filled(self, budget: int) -> ContextWindow:
        window = ContextWindow(budget, chunk_tokens=2000, policy=DropOldest())
        i = 0
        while window.tokens < budget * 2 // 3:
            window.add_turn("user" if i % 2 else "assistant", text_of(150, i))
            i += 1
        return window

    def test_large_update_takes_at_most_the_cap(self):
        """A 10,000-token paste with room for 5,000 takes at most the update cap."""
        window = self._filled(15_000)
        tokenizer = get_tokenizer()
        room = window.capacity - window.tokens
        prior = {c.id for c in window.chunks}
        update = text_of(8000, 7)
        assert 9_500 <= tokenizer.count(update) <= 10_500
        change = window.add_turn("user", update, id="paste")
        lost = sum(e.chunk.tokens for e in change.evicted if e.chunk.id in prior)
        assert lost == change.lost_tokens
        assert 0 < lost <= window.capacity // 5
        # What did not fit went to the archive, named by a marker the model can
        # follow, and comes back whole from read().
        assert change.capped_tokens > 0
        admitted = change.admitted_tokens
        assert admitted + change.capped_tokens == tokenizer.count(update)
        assert admitted >= room - 200
        markers = [c for c in window.chunks if c.meta.marks == "paste"]
        assert len(markers) == 1
        assert markers[0].role is Role.TOOL
        assert window.read("paste") == update
        window.check_valid()

    def test_parallel_calls_share_one_cap(self):
        """The calls of one model step are one update: five large results take at
        most the cap of history together, not a cap each (found when generated
        sessions replayed their parallel steps as one group: 73.5 % of the history
        went in one step). What does not fit is archived and can be read back."""
        window = self._filled(15_000)
        prior = {c.id for c in window.chunks}
        calls = [
            {
                "name": "fetch_page",
                "arguments": {"url": f"https://example.com/{n}"},
                "result": text_of(2500, 20 + n),
                "call_id": f"call_{n}",
            }
            for n in range(5)
        ]
        change = window.add_tool_calls(calls)
        lost = sum(e.chunk.tokens for e in change.evicted if e.chunk.id in prior)
        assert lost == change.lost_tokens
        assert 0 < lost <= window.capacity // 5 + window.chunk_tokens
        assert change.capped_tokens > 0
        archived = {c.meta.marks for c in window.chunks if c.meta.marks}
        assert archived
        for source in archived:
            assert window.read(source)
        window.check_valid()

    def test_per_role_cap(self):
        """max_update_tokens_by_role lets a user's paste take more than the default."""
        window = self._filled(15_000)
        window = ContextWindow.from_json(window.to_json())
        generous = ContextWindow(
            15_000,
            chunk_tokens=2000,
            policy=DropOldest(),
            max_update_tokens_by_role={"user": 9000},
        )
        for chunk in window.chunks:
            generous.add_chunks([chunk])
        change = generous.add_turn("user", text_of(8000, 7))
        assert change.capped_tokens == 0
        assert window.capacity // 5 < change.lost_tokens <= 9000


class TestInterrupt:
    def test_speaking_rate_from_duration(self):
        """Without word timings the cut follows the turn's own speaking rate."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn(
            "assistant",
            "one two three four five six seven eight",
            id="a",
            start_ms=1000,
            end_ms=5000,
        )
        change = window.interrupt("a", 2000)
        (cut,) = change.truncated
        assert cut.after.text == "one two three four"
        assert cut.after.id == cut.before.id
        assert cut.audio_end_ms == 2000
        assert window.tokens == exact(window)
        assert window.archive[-1].reason is Reason.INTERRUPTED

    def test_audio_end_never_exceeds_the_audio(self):
        """A position past the item's audio means it was all heard: no cut."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("assistant", "one two", id="a", start_ms=0, end_ms=1000)
        change = window.interrupt("a", 5000)
        assert change.truncated == ()
        assert [c.text for c in window.chunks] == ["one two"]

    def test_zero_deletes_the_item(self):
        """heard_ms=0 removes the item, the Realtime rule for audio_end_ms=0."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("assistant", "never heard", id="a")
        change = window.interrupt("a", 0)
        assert [e.reason for e in change.evicted] == [Reason.INTERRUPTED]
        assert window.chunks == ()

    def test_word_timings(self):
        """With word timings the cut keeps the words that ended by heard_ms."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("assistant", "Sure, the table is booked.", id="a")
        words = [("Sure,", 0, 300), ("the", 300, 400), ("table", 400, 700)]
        change = window.interrupt("a", 450, words=words)
        assert change.truncated[0].after.text == "Sure, the"

    def test_multi_part_turn(self):
        """An interrupted long turn keeps heard parts and archives unheard ones."""
        window = ContextWindow(2000, chunk_tokens=10)
        window.add_turn("assistant", text_of(60), id="a")
        parts = len(window.chunks)
        change = window.interrupt("a", 20 * 400)
        assert change.truncated or change.evicted
        assert len(window.chunks) < parts
        assert all(e.reason is Reason.INTERRUPTED for e in change.evicted)
        window.check_valid()

    def test_only_assistant_turns(self):
        """Interrupting a user turn is an error."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_turn("user", "hello", id="u")
        with pytest.raises(UnknownItemError):
            window.interrupt("u", 100)


class TestRemove:
    def test_remove_tool_group(self):
        """Removing a call's source takes its results with it."""
        window = ContextWindow(500, chunk_tokens=100)
        window.add_tool_call("t", "{}", "r")
        source = window.chunks[0].source
        change = window.remove(source)
        assert len(change.evicted) == 2
        assert window.chunks == ()
        assert window.tokens == 3

    def test_remove_pin_reports_instructions(self):
        """Removing a pinned instruction flags instructions_changed."""
        window = ContextWindow(500, chunk_tokens=100)
        source = window.pin("Rules.").added[0].source
        assert window.remove(source).instructions_changed


class TestJson:
    def test_round_trip(self):
        """to_json / from_json restore the whole state, policy included."""
        from ctxchunk.policies import ClearToolResults

        window = ContextWindow(
            300, chunk_tokens=50, policy=ClearToolResults(keep=1), reserve_tokens=10
        )
        window.pin("Rules.")
        for i in range(10):
            window.add_tool_call("t", {"i": i}, text_of(30, i))
            window.add_turn("user", text_of(10, i))
        text = window.to_json()
        restored = ContextWindow.from_json(text)
        assert restored.to_json() == text
        assert restored.policy == window.policy
        assert restored.tokens == window.tokens
        a = window.add_turn("user", "next")
        b = restored.add_turn("user", "next")
        assert a == b

    @pytest.mark.parametrize("data", ["{", "[]", '{"format": "other"}'])
    def test_bad_state(self, data):
        """Malformed state raises StateError."""
        with pytest.raises(StateError):
            ContextWindow.from_json(data)

    def test_custom_policy_needs_passing(self):
        """A policy without to_dict must be passed back to from_json."""

        class Mine:
            def make_room(self, view, needed):
                return iter(())

        window = ContextWindow(300, chunk_tokens=50, policy=Mine())
        with pytest.raises(StateError):
            ContextWindow.from_json(window.to_json())
        restored = ContextWindow.from_json(window.to_json(), policy=Mine())
        assert restored.tokens == window.tokens


def test_roles_of_chunks():
    """Documents and tool traffic are held as role tool."""
    window = ContextWindow(2000, chunk_tokens=500)
    window.add_document("Page", url="https://e.com")
    window.add_tool_call("t", "{}", "r")
    assert {c.role for c in window.chunks} == {Role.TOOL}
    assert [c.kind for c in window.chunks] == [
        Kind.DOCUMENT,
        Kind.TOOL_CALL,
        Kind.TOOL_RESULT,
    ]


class TestNeverAllAtOnce:
    """The defects replayed sessions found, each pinned by a test."""

    def _support(self, policy=None) -> ContextWindow:
        window = ContextWindow(16_000, policy=policy or DropOldest())
        window.pin("You are a support agent.")
        window.add_turn("user", text_of(300, 1))
        window.add_tool_call("lookup_article", {"q": "reset"}, text_of(5600, 2))
        window.add_turn("assistant", text_of(400, 3))
        window.add_turn("user", text_of(300, 4))
        window.add_turn("assistant", text_of(2000, 5))
        return window

    def test_small_result_after_a_big_one_takes_one_part(self):
        """A 330-token result after a 7,500-token one evicts a part, not the group."""
        window = self._support()
        big = [c for c in window.chunks if c.kind is Kind.TOOL_RESULT]
        assert len(big) >= 3
        window.add_turn("user", text_of(4000, 6))
        for i in range(4):
            change = window.add_tool_call("lookup_order", {"id": i}, text_of(250, i))
            assert 300 <= change.admitted_tokens <= 400
            bound = change.admitted_tokens + window.chunk_tokens + 100
            assert change.lost_tokens <= bound
            gone = [
                e for e in change.evicted if e.chunk.meta.tool_name == "lookup_article"
            ]
            assert len([e for e in gone if e.chunk.kind is Kind.TOOL_RESULT]) <= 1
        # The call stays, answered by the parts left and a marker naming the rest.
        calls = [c for c in window.chunks if c.meta.tool_name == "lookup_article"]
        assert any(c.kind is Kind.TOOL_CALL for c in calls)
        markers = [c for c in calls if c.meta.marks is not None]
        assert len(markers) == 1
        assert "read_document" in markers[0].text
        window.check_valid()

    def test_page_larger_than_the_window_keeps_its_head_and_the_history(self):
        """A 40k-token page into a full 16k window takes at most a quarter of it."""
        window = self._support()
        history = {c.id for c in window.chunks}
        page = "\n\n".join(f"Section {i}. " + text_of(400, i) for i in range(75))
        change = window.add_document(page, url="https://example.com/big")
        assert get_tokenizer().count(page) > 30_000
        assert change.lost_tokens <= window.capacity // 5
        kept = [c for c in window.chunks if c.source == change.added[0].source]
        parts = [c.part for c in kept if c.meta.marks is None]
        assert parts == list(range(len(parts)))  # its head, in order
        assert len([c for c in window.chunks if c.id in history]) > 5
        assert "Section 0." in window.read(kept[0].source)[:200]

    def test_nothing_is_evicted_for_a_chunk_that_is_not_admitted(self):
        """A chunk that cannot fit leaves the history as it was."""
        window = ContextWindow(400, chunk_tokens=100, protect_recent_turns=2)
        window.pin(text_of(200, 1))
        window.add_turn("user", text_of(60, 2))
        window.add_turn("assistant", text_of(60, 3))
        # The reply did not fit whole: a short marker names it.
        assert any(c.meta.marks == "turn-2" for c in window.chunks)
        before = [c.id for c in window.chunks if c.meta.marks is None]
        # Only the two protected turns could make room, so the result is refused
        # and nothing of the history is evicted for it (markers are bookkeeping).
        change = window.add_tool_call("search", {}, text_of(70, 4))
        assert change.capped_tokens > 0
        assert change.lost_tokens == 0
        assert [c.id for c in window.chunks if c.id in before] == before
        window.check_valid()

    def test_capped_update_is_always_named(self):
        """The archived tail of a capped page is named by a marker, even when the
        room kept for that marker could not be made."""
        window = ContextWindow(6000)
        window.pin("You are a helpful assistant.")
        window.add_turn("user", "What does json do? " * 20)
        page = (FIXTURES / "html" / "library-json.html").read_bytes()
        change = window.add_document(page, url="https://docs.python.org/3/library/")
        capped = {e.chunk.source for e in change.evicted if e.reason is Reason.OVERSIZE}
        assert capped
        assert capped <= {c.meta.marks for c in window.chunks}
        # The marker found its room among the page's own parts, not in the history.
        assert change.lost_tokens == 0
        window.check_valid()

    def test_chunk_tokens_equal_to_budget_is_refused(self):
        """A full chunk could never fit beside anything: chunk_tokens=budget fails."""
        with pytest.raises(BudgetError, match="chunk_tokens"):
            ContextWindow(1500, chunk_tokens=1500)
        assert ContextWindow(1500).chunk_tokens == 375

    def test_archived_turns_count_as_recent(self):
        """Turns that went to the archive whole still push older turns out of the
        protected recent ones."""
        window = ContextWindow(8_000, policy=DropOldest(), max_update_tokens=2000)
        window.pin(text_of(5200, 9))
        window.add_turn("assistant", text_of(800, 1), id="old")
        admitted = 0
        for i in range(5):
            change = window.add_turn("user", text_of(1100, 10 + i))
            admitted += change.admitted_tokens > 0
        assert admitted >= 1
        assert "old" not in {c.source for c in window.chunks}

    def test_interrupt_after_the_first_part_left(self):
        """Word timings line up with the turn's text even when its head is archived."""
        window = ContextWindow(
            1_000, chunk_tokens=100, policy=DropOldest(), protect_recent_turns=1
        )
        reply = text_of(300, 5)
        window.add_turn("assistant", reply, id="a1")
        window.add_turn("user", text_of(500, 6))
        assert window.chunks[0].source == "a1"
        assert window.chunks[0].part > 0
        words = [
            {"word": w, "start_ms": 100 * i, "end_ms": 100 * i + 90}
            for i, w in enumerate(reply.split())
        ]
        heard = 100 * 120
        change = window.interrupt("a1", heard, words=words)
        kept = "".join(c.text for c in window.chunks if c.source == "a1")
        cut = len(" ".join(reply.split()[:120]))
        assert reply.endswith(kept) or kept in reply
        start = reply.index(kept)
        assert start + len(kept.rstrip()) <= cut
        assert change.truncated or change.evicted

    def test_pinned_assistant_turn_is_never_cut(self):
        """interrupt() refuses a pinned assistant turn instead of archiving it."""
        window = ContextWindow(1_000, chunk_tokens=100)
        change = window.pin("I am the concierge bot.", role="assistant")
        with pytest.raises(InvalidArgumentError, match="pinned"):
            window.interrupt(change.added[0].source, 10)
        assert window.chunks == change.added

    def test_edited_counts_and_other_tokenizers_are_refused(self):
        """from_json recounts: an edited count or another tokenizer is a StateError."""
        window = ContextWindow(1_000, chunk_tokens=100)
        window.add_turn("user", "Hello there, how are you?")
        state = json.loads(window.to_json())
        state["units"][0]["chunks"][0]["tokens"] += 1
        with pytest.raises(StateError, match="tokens"):
            ContextWindow.from_json(json.dumps(state))
        with pytest.raises(StateError):
            ContextWindow.from_json(
                window.to_json(), tokenizer=get_tokenizer("cl100k_base")
            )

    def test_nan_arguments_are_refused(self):
        """NaN in tool arguments is a clear error, not the text NaN."""
        window = ContextWindow(1_000, chunk_tokens=100)
        with pytest.raises(CtxChunkError):
            window.add_tool_call("calc", {"x": float("nan")}, "1")
        assert window.chunks == ()

    def test_small_results_are_looked_at_once(self):
        """ClearToolResults retires results too short to gain, so it never rescans
        them."""
        from ctxchunk.policies import ClearToolResults

        window = ContextWindow(2_000, policy=ClearToolResults(keep=0))
        for i in range(200):
            window.add_tool_call("calc", {"x": i}, "ok")
            window.add_turn("user", text_of(20, i))
        fresh = list(window._view.tool_groups(unedited=True))
        assert len(fresh) <= 3


def test_a_second_interrupt_never_reaches_past_the_first_cut():
    """Realtime drops the audio after a truncation; a later cut stays within it."""
    window = ContextWindow(2000, chunk_tokens=400)
    text = "One two three four five six seven eight nine ten."
    window.add_turn("assistant", text, id="a1", start_ms=1000, end_ms=4000)
    first = window.interrupt("a1", 900)
    assert first.truncated[0].audio_end_ms == 900
    assert first.truncated[0].after.meta.end_ms == 1900
    again = window.interrupt("a1", 1500)  # later than what is left: all of it heard
    assert again.truncated == ()
    assert again.evicted == ()
    shorter = window.interrupt("a1", 300)
    assert shorter.truncated[0].audio_end_ms == 300


def _weather_calls(window):
    window.add_transcript(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"c{i}",
                        "type": "function",
                        "function": {"name": "weather", "arguments": f'{{"n":{i}}}'},
                    }
                    for i in (1, 2)
                ],
            }
        ]
    )


def test_a_result_added_after_its_call_takes_the_call_tool_name():
    window = ContextWindow(2000)
    _weather_calls(window)
    change = window.add_transcript(
        [{"role": "tool", "tool_call_id": "c1", "content": "Oslo: 3 C"}]
    )
    assert [c.meta.tool_name for c in change.added] == ["weather"]


def _second_result_archived(window, first, second):
    """Two parallel weather calls in a small window; return the second result's change
    and the sources it archived as oversize."""
    window.pin("Be brief.")
    window.add_turn("user", "Weather in Oslo and Bergen?")
    _weather_calls(window)
    window.add_transcript([{"role": "tool", "tool_call_id": "c1", "content": first}])
    change = window.add_transcript(
        [{"role": "tool", "tool_call_id": "c2", "content": second}]
    )
    return change, {
        e.chunk.source for e in change.evicted if e.reason.value == "oversize"
    }


def test_a_result_the_group_has_no_room_for_gets_a_standalone_marker():
    window = ContextWindow(100, chunk_tokens=20)
    _, archived = _second_result_archived(
        window, "Oslo: 3 C, snow. " * 6, "Bergen: 6 C. " * 4
    )
    alone = [
        c for c in window.chunks if c.meta.marks in archived and c.meta.call_id is None
    ]
    assert archived
    assert alone, "the archived result is named by a standalone marker"
    window.check_valid()


def test_an_archived_result_is_named_even_in_a_full_tiny_window():
    """Parallel calls whose first result fills the room: the second result's
    marker takes a short form (down to the bare source) that fits."""
    window = ContextWindow(120)
    _, archived = _second_result_archived(
        window, "Oslo: 3 C, snow. " * 6, "Bergen: 6 C, wind. " * 5
    )
    assert archived
    named = [c for c in window.chunks if c.meta.marks in archived]
    assert named
    assert all(json.dumps(c.source) in c.text for c in named)
    window.check_valid()


@pytest.mark.xfail(
    strict=True,
    reason="a 60-token window whose only tool group must leave for the second "
    "result's marker: masking the first result (10 tokens) and then the calls (10) "
    "take more than the cap plus the one chunk a marker may go past it; the part "
    "stays in the archive (read, recall) and the change reports it as oversize",
)
def test_an_archived_result_is_named_in_a_60_token_window():
    window = ContextWindow(60, chunk_tokens=10)
    _, archived = _second_result_archived(
        window, "Oslo: 3 C, snow. ", "Bergen: 6 C, wind. "
    )
    assert archived
    assert archived <= {c.meta.marks for c in window.chunks if c.meta.marks}


def test_a_page_partly_in_takes_no_unit_past_the_cap():
    """A page that found room for its first parts archives its rest instead of
    taking an old unit larger than the cap, and never the user's turn.

    The shape is generated realistic session 5 (seed 0) up to its second page: a
    27,000-token page arriving into 4,100 tokens of history.
    """
    from ctxchunk._generate import realistic_sessions
    from ctxchunk.session import DocumentEvent, InstructionsEvent, TurnEvent

    session = list(realistic_sessions(6, 0))[5]
    window = ContextWindow(16_000, chunk_tokens=2000)
    pages = 0
    for event in session.events:
        if isinstance(event, InstructionsEvent):
            window.pin(event.text)
        elif isinstance(event, TurnEvent) and event.text.strip():
            window.add_turn(event.role, event.text, id=event.id)
        elif isinstance(event, DocumentEvent):
            history = sum(
                c.tokens for c in window.chunks if not c.pinned and not c.meta.marks
            )
            cap = min(window.capacity // 5, history // 4)
            change = window.add_document(
                event.content, url=event.url, title=event.title, format=event.format
            )
            pages += 1
            if pages == 2:
                break
    assert change.admitted_tokens > 0  # the page found room for its first parts
    assert change.capped_tokens > 0  # and its rest is in the archive
    assert change.lost_tokens <= cap
    user = [c for c in window.chunks if c.role.value == "user" and c.source == "u1"]
    assert user, "the user's first turn was evicted for a page"
    window.check_valid()


def test_a_page_read_again_after_its_marker_stays_one_marker():
    """A page masked to a marker, read again and masked again, leaves its part
    named by the marker already standing, not by a second copy of it (found by the
    state machine: two chunks with one id broke the window's index)."""
    window = ContextWindow(2441, chunk_tokens=164, protect_recent_turns=0)
    words = " ".join(
        f"Harbour note {i}: the ferry to island {i % 7} leaves at {i % 24}:15."
        for i in range(400)
    ).split()

    def page(start: int, count: int, n: int) -> object:
        return window.add_document(
            " ".join(words[start : start + count]), url=f"https://example.com/{n}"
        )

    page(0, 2000, 1)  # larger than the window: its rest is archived, named
    for n in (2, 3, 4, 2, 3):
        # Page 2 is short and read twice; the others push it out in between.
        if n == 2:
            page(40, 25, n)
        else:
            page(100 * n, 110, n)
        ids = [c.id for c in window.chunks]
        assert len(ids) == len(set(ids))
        window.check_valid()


def test_a_turn_no_longer_than_its_marker_comes_in_whole():
    """In a tiny window, each new turn's rest hits the update cap, and the marker that
    would name it is as long as the rest: the rest comes in itself, on the allowance
    past the cap a marker would take, and the newest turn is in the window whole.
    Before, 11 of these 15 turns went partly to the archive while the window kept
    older ones."""
    window = ContextWindow(
        100,
        reserve_tokens=0,
        chunk_tokens=10,
        protect_recent_turns=0,
        policy=DropOldest(),
    )
    for i in range(15):
        text = f"Turn {i}: the lamp I ordered, order A-{1000 + i}, can it be refunded?"
        change = window.add_turn("user" if i % 2 == 0 else "assistant", text)
        assert not [e for e in change.evicted if e.reason is Reason.OVERSIZE]
        newest = [c for c in window.chunks if c.source == change.added[0].source]
        assert "".join(c.text for c in newest) == text
        # What it took stays within the cap plus the one chunk markers may take.
        assert change.lost_tokens <= window._default_cap + window.chunk_tokens
        window.check_valid()
