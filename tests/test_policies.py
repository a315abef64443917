"""Tests for ctxchunk.policies: what each shipped policy keeps and loses."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ctxchunk._openai_chat import to_openai_chat
from ctxchunk.change import Reason
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.policies import (
    Chain,
    ClearToolResults,
    DropOldest,
    MiddleOut,
    Recommended,
    RetentionRatio,
    RolePriority,
    Summarize,
    extractive_summary,
    policy_from_dict,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import count_messages
from ctxchunk.window import ContextWindow
from tests.strategies import any_text, prose, tool_texts

ALL = [
    DropOldest(),
    RetentionRatio(0.6),
    RolePriority(),
    MiddleOut(keep_first=2),
    ClearToolResults(keep=2),
    Summarize(),
    Chain(ClearToolResults(keep=1), RolePriority()),
    Recommended(),
    Recommended(keep_head=0.0, keep_tools=0),
]


def filled(policy, budget=400, protect=1, words=20, **options):
    window = ContextWindow(
        budget, chunk_tokens=60, policy=policy, protect_recent_turns=protect, **options
    )
    window.pin("Rules.")
    for i in range(12):
        window.add_turn("user", f"Question {i} about lamps and refunds?")
        window.add_tool_call("search", {"q": i}, f"Result {i}: " + "data " * words)
        window.add_turn("assistant", f"Answer {i}. It is fine.")
    return window


@pytest.mark.parametrize("policy", ALL, ids=repr)
def test_every_policy_keeps_the_guarantees(policy):
    """Under every policy the window stays exact, in budget, with pins kept."""
    window = filled(policy)
    window.check_valid()
    assert window.tokens <= 400
    assert window.tokens == count_messages(to_openai_chat(window), model="o200k_base")
    assert window.chunks[0].text == "Rules."
    assert window.chunks[-1].text == "Answer 11. It is fine."


@pytest.mark.parametrize("policy", ALL, ids=repr)
def test_every_policy_round_trips(policy):
    """Every shipped policy is rebuilt from its to_dict."""
    assert policy_from_dict(policy.to_dict()) == policy


def test_drop_oldest_evicts_oldest_first():
    """DropOldest archives history in the order it was added."""
    window = filled(DropOldest())
    lost = [e.chunk for e in window.archive]
    assert lost[0].text.startswith("Question 0")
    assert all(e.reason is Reason.POLICY for e in window.archive)


def test_retention_ratio_cuts_in_steps():
    """RetentionRatio cuts to the ratio, then adds without evicting for a while."""
    window = ContextWindow(
        400, chunk_tokens=60, policy=RetentionRatio(0.5), max_update_tokens=400
    )
    quiet = 0
    for i in range(40):
        change = window.add_turn("user", f"Turn {i} " + "word " * 10)
        if change.evicted:
            assert change.tokens_after <= 0.5 * 400 + 30
        else:
            quiet += 1
    assert quiet > 30


def test_role_priority_evicts_tool_context_first():
    """RolePriority drops tool groups before any turn."""
    window = filled(RolePriority(), budget=600)
    lost_roles = {e.chunk.role for e in window.archive}
    assert lost_roles == {Role.TOOL}
    assert sum(c.kind is Kind.TURN for c in window.chunks) == 24


def test_role_priority_validates_order():
    """An order naming a role twice or a bare string is rejected."""
    with pytest.raises(InvalidArgumentError):
        RolePriority(order=("tool", "tool"))
    with pytest.raises(InvalidTypeError):
        RolePriority(order="tool")


def test_middle_out_keeps_the_opening():
    """MiddleOut keeps the first units after the pins and evicts the middle."""
    window = filled(MiddleOut(keep_first=1))
    texts = [c.text for c in window.chunks]
    assert texts[1] == "Question 0 about lamps and refunds?"
    assert any(e.chunk.text.startswith("Result 0") for e in window.archive)


def test_clear_tool_results_keeps_calls():
    """ClearToolResults masks old results behind a marker, keeping the call."""
    policy = ClearToolResults(keep=2)
    window = filled(policy, budget=900, words=100)
    results = [c for c in window.chunks if c.kind is Kind.TOOL_RESULT]
    cleared = [c for c in results if c.meta.marks is not None]
    assert cleared
    assert all("read_document" in c.text for c in cleared)
    assert results[-1].meta.marks is None
    assert results[-2].meta.marks is None
    masked = [e.chunk for e in window.archive if e.reason is Reason.MASKED]
    assert masked
    # Every masked part can be read back through the source its marker names.
    for chunk in masked:
        assert chunk.text in window.read(chunk.source)
    window.check_valid()


def test_clear_tool_results_excludes_tools():
    """Results of excluded tools are never cleared."""
    policy = ClearToolResults(keep=0, exclude_tools=("search",))
    window = filled(policy, budget=900, words=100)
    # Nothing is cleared: only the window's backstop (oldest first) acts.
    baseline = filled(DropOldest(), budget=900, words=100)
    assert window.archive == baseline.archive


def test_clear_tool_results_clear_at_least():
    """Below clear_at_least, nothing is cleared (the window evicts instead)."""
    window = filled(
        ClearToolResults(keep=0, clear_at_least=10_000), budget=900, words=100
    )
    baseline = filled(DropOldest(), budget=900, words=100)
    assert window.archive == baseline.archive


def test_clear_tool_results_trigger_and_inputs():
    """A trigger clears early; clear_inputs empties the call's arguments."""
    policy = ClearToolResults(keep=1, trigger=600, clear_inputs=True)
    window = filled(policy, budget=2000, words=100)
    assert window.tokens < 2000
    calls = [c for c in window.chunks if c.kind is Kind.TOOL_CALL]
    assert calls[0].text == "{}"
    assert calls[-1].text != "{}"


def test_summarize_replaces_with_a_summary():
    """Summarize replaces a run of old history by one non-user summary chunk."""
    window = filled(Summarize(max_summary_tokens=60))
    summaries = [c for c in window.chunks if c.kind is Kind.SUMMARY]
    assert summaries
    assert all(c.role is not Role.USER for c in summaries)
    assert all(c.text.strip() for c in summaries)
    assert any(e.reason is Reason.REPLACED for e in window.archive)


@pytest.mark.parametrize(
    "summarizer",
    [
        lambda chunks: 1 / 0,
        lambda chunks: "",
        lambda chunks: "   ",
        lambda chunks: None,
    ],
    ids=["raises", "empty", "blank", "none"],
)
def test_summarize_failure_falls_back_to_eviction(summarizer):
    """A failing summarizer never replaces history with an error or nothing."""
    window = filled(Summarize(summarizer=summarizer))
    assert not any(c.kind is Kind.SUMMARY for c in window.chunks)
    assert all(e.reason is Reason.POLICY for e in window.archive)
    window.check_valid()


def test_summarize_refuses_user_role():
    """A summary is never a user turn."""
    with pytest.raises(InvalidArgumentError):
        Summarize(role="user")


def test_extractive_summary_is_deterministic():
    """The default summarizer is offline and deterministic."""
    window = filled(DropOldest(), budget=5000)
    chunks = window.chunks[1:6]
    assert extractive_summary(chunks) == extractive_summary(chunks)
    assert extractive_summary(chunks).startswith("Summary of 5 earlier items")


def _opening_sentence(text):
    """What the default summary keeps of ``text``, read off the whole text."""
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    words = sentence.split(" ")
    if len(words) > 30:
        return " ".join(words[:30]) + " …"
    return sentence


@given(
    st.one_of(
        prose(max_words=80),
        any_text(),
        st.text(st.sampled_from("ab.!? \n\t\x1c\u2003\u00a0\x85"), max_size=160),
    )
)
def test_extractive_summary_keeps_each_chunks_opening_sentence(text):
    """A chunk's line is its first sentence, whitespace runs as one space, cut to 30
    words (with " …" when cut), however long the text after it."""
    chunk = Chunk.create(text, role="user", kind="turn", source="t", tokens=1)
    expected = _opening_sentence(text)
    if expected:
        assert extractive_summary([chunk]) == (
            f"Summary of 1 earlier item:\nuser: {expected}"
        )
    else:
        assert extractive_summary([chunk]) == ""


def test_extractive_summary_cuts_at_thirty_words():
    """A sentence ending with its 30th word is kept whole; one word more is cut."""
    words = [f"w{i}" for i in range(40)]
    whole = " ".join(words[:29]) + " w29."
    for text, line in [
        (whole + " And more.", whole),
        (whole, whole),
        (" ".join(words), " ".join(words[:30]) + " …"),
        (" ".join(words[:30]), " ".join(words[:30])),
        ("\n  " + " \t".join(words[:31]) + "!", " ".join(words[:30]) + " …"),
    ]:
        chunk = Chunk.create(text, role="assistant", kind="turn", source="t")
        assert extractive_summary([chunk]).endswith(f"\nassistant: {line}")


def test_chain_tries_each_in_turn():
    """A chain clears tool results first and evicts by role only if needed."""
    window = filled(
        Chain(ClearToolResults(keep=1), RolePriority()), budget=900, words=100
    )
    reasons = {e.reason for e in window.archive}
    assert Reason.MASKED in reasons
    window.check_valid()


def test_chain_needs_policies():
    """An empty chain or a non-policy is an error."""
    with pytest.raises(InvalidArgumentError):
        Chain()
    with pytest.raises(InvalidTypeError):
        Chain(object())  # type: ignore[arg-type]


def test_policy_from_dict_errors():
    """Unknown names and custom summarizers cannot be rebuilt from JSON."""
    with pytest.raises(InvalidArgumentError):
        policy_from_dict({"name": "Nope"})
    with pytest.raises(InvalidArgumentError):
        policy_from_dict(Summarize(summarizer=lambda c: "x").to_dict())


def test_policies_do_not_import_the_window():
    """policies.py depends on the window only through its protocols."""
    import ctxchunk.policies as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "ctxchunk.window" not in source
    assert "import window" not in source


def test_clear_tool_results_skips_results_shorter_than_placeholder():
    """A result cheaper than its marker is never 'cleared' into a bigger one."""
    window = ContextWindow(
        300, policy=ClearToolResults(keep=0), chunk_tokens=50, protect_recent_turns=0
    )
    for i in range(30):
        window.add_tool_call("calc", f'{{"x": {i}}}', "ok")
        window.add_turn("user", "next please " * 3)
        results = [c for c in window.chunks if c.kind.value == "tool_result"]
        assert all(c.text == "ok" for c in results)
        assert window.tokens <= 300


def _chat(policy: Recommended, turns: int = 30) -> ContextWindow:
    window = ContextWindow(600, chunk_tokens=60, policy=policy, protect_recent_turns=1)
    window.pin("Rules.")
    for i in range(turns):
        window.add_turn("user", f"Question {i}: my order A-{1000 + i} has a lamp.")
        window.add_turn("assistant", f"Answer {i}: the lamp of A-{1000 + i} ships.")
    return window


def test_recommended_evicts_the_conversations_opening_last():
    """The oldest history up to keep_head of the room stays while later history
    leaves; with keep_head=0 the opening goes first."""
    kept = _chat(Recommended(keep_head=0.25))
    texts = [c.text for c in kept.chunks]
    assert texts[1].startswith("Question 0:")  # the opening, after the pin
    assert not any(t.startswith("Question 10:") for t in texts)  # the middle left
    head = sum(c.tokens for c in kept.chunks[1:] if c.source in {"turn-0", "turn-1"})
    assert head <= 0.25 * kept.capacity
    plain = _chat(Recommended(keep_head=0.0))
    assert not any(c.text.startswith("Question 0:") for c in plain.chunks)
    for window in (kept, plain):
        window.check_valid()


def test_recommended_spares_the_newest_result_until_the_model_answers_it():
    def window_with_result(answered: bool) -> ContextWindow:
        window = ContextWindow(
            250,
            chunk_tokens=60,
            policy=Recommended(keep_head=0.0),
            protect_recent_turns=0,
        )
        for i in range(3):
            window.add_turn("user", f"Question {i} about lamps?")
            window.add_turn("assistant", f"Answer {i}: lamps are fine today.")
        window.add_tool_call("search", {"q": "lamp"}, "Lamp facts. " * 40)
        if answered:
            window.add_turn("assistant", "The lamp is in stock.")
        window.add_turn("user", "More about it? " + "Please say more. " * 10)
        return window

    waiting = window_with_result(answered=False)
    assert not any(c.meta.marks for c in waiting.chunks)  # the result stays whole
    gone = {e.chunk.source for e in waiting.archive if e.reason is Reason.POLICY}
    assert gone  # a cut happened
    assert gone <= {"turn-1", "turn-3", "turn-5"}  # of assistant turns only
    done = window_with_result(answered=True)
    assert any(c.meta.marks for c in done.chunks)  # answered: masked, named
    for window in (waiting, done):
        window.check_valid()


def test_recommended_masks_no_part_that_frees_nothing():
    """A last part shorter than its marker is not masked first (it would take the
    update's first piece and free nothing): the user's turn gets in."""
    window = ContextWindow(
        250, chunk_tokens=60, policy=Recommended(), protect_recent_turns=0
    )
    for i in range(3):
        window.add_turn("user", f"Question {i} about lamps?")
        window.add_turn("assistant", f"Answer {i}: lamps are fine today.")
    window.add_tool_call("search", {"q": "lamp"}, "Lamp facts. " * 40)
    window.add_turn("assistant", "The lamp is in stock.")
    change = window.add_turn("user", "More about it? " + "Please say more. " * 8)
    assert change.capped_tokens == 0
    assert window.chunks[-1].text.startswith("More about it?")
    window.check_valid()


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_recommended_keep_head_is_a_share_below_one(bad):
    with pytest.raises(InvalidArgumentError, match="keep_head"):
        Recommended(keep_head=bad)
    with pytest.raises(InvalidTypeError, match="keep_head"):
        Recommended(keep_head=True)


def test_recommended_round_trips_with_its_head():
    policy = Recommended(retain=0.7, keep_tools=2, keep_head=0.1)
    assert policy_from_dict(policy.to_dict()) == policy


@given(
    calls=st.lists(
        st.tuples(st.sampled_from(["search", "orders", "weather"]), tool_texts()),
        min_size=1,
        max_size=3,
    ),
    exclude=st.sets(st.sampled_from(["search", "orders", "weather"]), max_size=2),
    chunk_tokens=st.integers(40, 600),
)
def test_a_mask_priced_without_markers_costs_what_one_priced_with_them(
    calls, exclude, chunk_tokens
):
    """The window prices masking a group whose calls each have one result chunk
    without building the markers; that price is the one with the markers built
    (tool names, parallel calls, excluded tools, results of several chunks)."""
    window = ContextWindow(10**6, chunk_tokens=chunk_tokens, policy=DropOldest())
    window.add_turn("user", "look these up")
    window.add_tool_calls(
        [
            {"name": name, "arguments": {"q": i}, "result": text, "call_id": f"c{i}"}
            for i, (name, text) in enumerate(calls)
        ]
    )
    group = window._ledger.calls["c0"]
    names = frozenset(exclude)
    masked = [c for c in group.results() if c.meta.tool_name not in names]
    per_call = Counter(c.meta.call_id for c in masked)
    quick = window._single_part_gain(group, names)
    if masked and max(per_call.values()) == 1:
        assert quick == window._built_gain(group, names)
    else:
        assert quick is None


class _RecommendedWalkingAll(Recommended):
    """Recommended whose pass before user turns walks the whole window, as it did
    before it learned to walk only system messages when nothing else is left."""

    @staticmethod
    def _evict_rest(view, goal, head):
        return Recommended._evict(view, goal, None, head, keep=Role.USER)


_TOOLS = ["search", "orders"]
_window_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("turn"),
            # User turns most: Recommended takes the other roles first.
            st.sampled_from(["user", "user", "user", "assistant", "system"]),
            prose(max_words=40),
        ),
        st.tuples(st.just("document"), st.just(""), prose(max_words=150)),
        st.tuples(
            st.just("tools"),
            st.just(""),
            st.lists(
                st.tuples(st.sampled_from(_TOOLS), tool_texts()), min_size=1, max_size=3
            ),
        ),
        # A call still waiting for its result, alone or with an answered one.
        st.tuples(st.just("waiting"), st.booleans(), prose(max_words=20)),
        st.tuples(
            st.just("summary"),
            st.sampled_from(["system", "assistant", "tool"]),
            prose(max_words=20),
        ),
    ),
    max_size=30,
)


def _outcome(window, step, op):
    """What one operation evicted, or the error it raised."""
    try:
        change = _apply_op(window, step, op)
    except Exception as exc:  # both windows must refuse alike
        return type(exc)
    return [(e.chunk.id, e.reason) for e in change.evicted]


def _apply_op(window, step, op):
    what, how, payload = op
    if what == "turn":
        return window.add_turn(how, payload)
    if what == "document":
        return window.add_document(payload, source=f"doc-{step}")
    if what == "tools":
        return window.add_tool_calls(
            [
                {
                    "name": name,
                    "arguments": {"q": i},
                    "result": text,
                    "call_id": f"c{step}.{i}",
                }
                for i, (name, text) in enumerate(payload)
            ]
        )
    if what == "summary":
        return window.add_chunks(
            [Chunk.create(payload, role=how, kind="summary", source=f"sum-{step}")]
        )
    chunks = []
    if how:
        chunks.append(
            Chunk.create(
                '{"q": 1}',
                role="tool",
                kind="tool_call",
                source=f"call-{step}.a",
                meta=ChunkMeta(tool_name="search", call_id=f"w{step}.a"),
            )
        )
    chunks.append(
        Chunk.create(
            '{"q": 2}',
            role="tool",
            kind="tool_call",
            source=f"call-{step}.b",
            meta=ChunkMeta(tool_name="orders", call_id=f"w{step}.b"),
        )
    )
    if how:
        chunks.append(
            Chunk.create(
                payload,
                role="tool",
                kind="tool_result",
                source=f"result-{step}.a",
                meta=ChunkMeta(tool_name="search", call_id=f"w{step}.a"),
            )
        )
    return window.add_chunks(chunks)


@given(
    ops=_window_ops,
    retain=st.sampled_from([0.3, 0.6, 0.8]),
    keep_tools=st.integers(0, 2),
    keep_head=st.sampled_from([0.0, 0.25, 0.5]),
    budget=st.integers(150, 700),
    chunk_tokens=st.integers(16, 75),
    protect=st.integers(0, 2),
    deep=st.booleans(),
)
def test_recommended_takes_what_walking_the_whole_window_takes(
    ops, retain, keep_tools, keep_head, budget, chunk_tokens, protect, deep
):
    """Walking only system messages before the user turns (when no other unit is
    left outside the head) takes the same units, in the same order, as walking the
    whole window: calls waiting for results, documents, summaries of every role."""
    windows = [
        ContextWindow(
            budget,
            chunk_tokens=chunk_tokens,
            protect_recent_turns=protect,
            # A cut as deep as the policy asks reaches its later passes.
            max_update_tokens=budget if deep else None,
            policy=cls(retain=retain, keep_tools=keep_tools, keep_head=keep_head),
        )
        for cls in (Recommended, _RecommendedWalkingAll)
    ]
    for window in windows:
        window.pin("Be brief.")
    for step, op in enumerate(ops):
        outcomes = [_outcome(window, step, op) for window in windows]
        assert outcomes[0] == outcomes[1]
        assert [c.id for c in windows[0].chunks] == [c.id for c in windows[1].chunks]
    assert [(e.chunk.id, e.reason) for e in windows[0].archive] == [
        (e.chunk.id, e.reason) for e in windows[1].archive
    ]


class _CopiedView:
    """A policy's view whose walks go over a copy of the candidates, taken first."""

    def __init__(self, view):
        self._view = view

    def __getattr__(self, name):
        return getattr(self._view, name)

    def candidates(self, role=None, *, newest_first=False):
        units = list(self._view.candidates(role))
        return iter(units[::-1] if newest_first else units)


class _OverACopy:
    """A policy run over copied walks (the reference for lazy ones)."""

    def __init__(self, policy):
        self._policy = policy

    def make_room(self, view, needed):
        return self._policy.make_room(_CopiedView(view), needed)


_WINDOW_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("turn"),
            st.sampled_from(["user", "assistant"]),
            prose(max_words=120),
        ),
        st.tuples(
            st.just("tools"), st.lists(prose(max_words=200), min_size=1, max_size=3)
        ),
        st.tuples(st.just("doc"), prose(max_words=600)),
    ),
    max_size=30,
)


@st.composite
def _page_settings(draw):
    """A window's settings with chunks large enough for a page's provenance line
    (a document's chunk of 8 tokens holds none: SplitError)."""
    budget = draw(st.integers(200, 3_000))
    return {
        "budget": budget,
        "chunk_tokens": draw(st.integers(40, min(400, budget // 2))),
        "protect_recent_turns": draw(st.integers(0, 2)),
    }


_LAMP = [
    "lamp",
    "refund",
    "policy",
    "warranty",
    "order",
    "shipped",
    "today",
    "the",
    "store",
]
_PAGE = " ".join(w + ("." if i % 9 == 8 else "") for i, w in enumerate(_LAMP * 44))
_CHAT = " ".join(_LAMP * 3)


@given(settings=_page_settings(), ops=_WINDOW_OPS, keep_tools=st.integers(0, 1))
@example(
    # A page of ten parts, then turns: its parts are masked newest first, each
    # merging into the marker of the part after it, so the walk goes on from a
    # unit that has just left the window.
    settings={"budget": 1_000, "chunk_tokens": 40, "protect_recent_turns": 0},
    ops=[("doc", _PAGE)] + [("turn", "user", _CHAT), ("turn", "assistant", _CHAT)] * 4,
    keep_tools=1,
)
def test_recommended_walks_lazily_what_it_took_over_a_copy(settings, ops, keep_tools):
    """Recommended masks tool context newest first through a lazy walk that the
    masks change as it goes (a page's part merges into its neighbour's marker, a
    result's parts leave one by one): the window is the same, after every
    operation, as with every walk made over a copy of the candidates first."""
    policy = Recommended(keep_tools=keep_tools)
    lazy = ContextWindow(**settings, policy=policy)
    copied = ContextWindow(**settings, policy=_OverACopy(policy))
    for step, op in enumerate(ops):
        for window in (lazy, copied):
            if op[0] == "turn":
                window.add_turn(op[1], op[2])
            elif op[0] == "tools":
                window.add_tool_calls(
                    [
                        {
                            "name": "search",
                            "arguments": {"q": k},
                            "result": text,
                            "call_id": f"call_{step}_{k}",
                        }
                        for k, text in enumerate(op[1])
                    ]
                )
            else:
                window.add_document(op[1], url=f"https://example.com/{step % 3}")
        assert to_openai_chat(lazy) == to_openai_chat(copied)
        assert [e.chunk.id for e in lazy.archive] == [
            e.chunk.id for e in copied.archive
        ]
