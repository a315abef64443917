import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ctxchunk._generate import generate_session
from ctxchunk.change import Change, Eviction, Reason
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidArgumentError
from ctxchunk.session import (
    InstructionsEvent,
    ProbeEvent,
    RequestEvent,
    Session,
    TurnEvent,
    load_session,
)
from ctxchunk.simulate import (
    DEFAULT_PRICES,
    Prices,
    WholeUpdateBaseline,
    _common_prefix,
    _make_window,
    _Replay,
    _serialize,
    _shared_prefix,
    simulate,
)

EXAMPLES = Path(__file__).parent.parent / "examples" / "sessions"
HAS_WINDOW = importlib.util.find_spec("ctxchunk.window") is not None
needs_window = pytest.mark.skipif(not HAS_WINDOW, reason="ctxchunk.window not built")


class CharTokenizer:
    """One token per character: serialized requests are counted by hand."""

    name = "chars"

    def encode(self, text):
        return [ord(c) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids)

    def count(self, text):
        return len(text)


class WordWindow:
    """A tiny window with hand-checkable arithmetic: a chunk costs one token a word,
    with no per-message overhead, and the policy is oldest-first (or, for the
    baseline, everything unpinned at once)."""

    def __init__(self, budget, *, baseline=False):
        self.budget = budget
        self.baseline = baseline
        self._chunks = []
        self._n = 0

    @property
    def chunks(self):
        return tuple(self._chunks)

    @property
    def tokens(self):
        return sum(c.tokens for c in self._chunks)

    def render_units(self):
        return [(c,) for c in self._chunks]

    def _admit(self, chunk, *, instructions=False):
        evicted = []
        if self.tokens + chunk.tokens > self.budget:
            for old in [c for c in self._chunks if not c.pinned]:
                if not self.baseline and self.tokens + chunk.tokens <= self.budget:
                    break
                self._chunks.remove(old)
                evicted.append(Eviction(old, Reason.POLICY))
        before = self.tokens
        previous = self._chunks[-1].id if self._chunks else None
        self._chunks.append(chunk)
        return Change(
            added=(chunk,),
            evicted=tuple(evicted),
            previous_ids=(previous,),
            instructions_changed=instructions,
            tokens_before=before,
            tokens_after=self.tokens,
        )

    def pin(self, text, role="system"):
        chunk = Chunk.create(
            text,
            role=role,
            kind="instruction",
            source="pin",
            pinned=True,
            tokens=len(text.split()),
        )
        return self._admit(chunk, instructions=True)

    def add_turn(self, role, text, **meta):
        self._n += 1
        chunk = Chunk.create(
            text,
            role=role,
            kind="turn",
            source=f"turn-{self._n}",
            tokens=len(text.split()),
        )
        return self._admit(chunk)


SMALL = Session(
    [
        InstructionsEvent(t_ms=0, text="be brief"),  # 0: pinned, 2 tokens
        TurnEvent(t_ms=1, id="u1", role="user", text="one two three"),  # 1: 3
        TurnEvent(t_ms=2, role="assistant", text="four five six"),  # 2: 3
        RequestEvent(t_ms=3),  # 3
        TurnEvent(t_ms=4, role="user", text="seven eight nine ten"),  # 4: 4
        RequestEvent(t_ms=5),  # 5
        ProbeEvent(t_ms=6, needle="two", introduced="u1"),  # 6
        ProbeEvent(t_ms=7, needle="five", introduced=2),  # 7
    ],
    name="small",
)
# $1 per uncached token and $0.10 per cached one, every prefix token cacheable.
UNIT_PRICES = Prices(1_000_000, 100_000, min_cached_tokens=0, cache_increment=1)


def replay(baseline):
    window = WordWindow(10, baseline=baseline)
    name = "baseline" if baseline else "oldest"
    return _Replay(SMALL, name, window, CharTokenizer(), UNIT_PRICES).run()


class TestMetricsByHand:
    def test_drop_oldest_series_and_cliff(self):
        """Series, cliff and probe recall match the arithmetic worked out by hand."""
        result = replay(baseline=False)
        # Budget 10. Window after each event: pin 2; +3 = 5; +3 = 8; request 8;
        # the 4-token turn needs 12 > 10, so the oldest unpinned chunk (the 3-token
        # user turn) goes: 8 - 3 + 4 = 9; then 9, 9, 9.
        assert result.window_tokens == (2, 5, 8, 8, 9, 9, 9, 9)
        assert result.evicted_tokens == (0, 0, 0, 0, 3, 0, 0, 0)
        assert result.lost_tokens == (0, 0, 0, 0, 3, 0, 0, 0)
        # History = unpinned tokens before each step: 0, 0, 3, 6, 6, 7, 7, 7.
        assert result.history_tokens == (0, 0, 3, 6, 6, 7, 7, 7)
        # Cliff: 3 of the 6 history tokens at step 4.
        assert (result.cliff_tokens, result.cliff_share, result.cliff_step) == (
            3,
            0.5,
            4,
        )
        assert (result.eviction_events, result.evicted_chunks) == (1, 1)
        # "two" left with turn 1; "five" (turn 2) is still there: 1 of 2.
        assert [p.found for p in result.probes] == [False, True]
        assert [p.introduced for p in result.probes] == [1, 2]
        assert result.probe_recall == 0.5
        assert {k: v[-1] for k, v in result.role_tokens.items()} == {
            "system": 2,
            "user": 4,
            "assistant": 3,
            "tool": 0,
        }

    def test_baseline_loses_all_history_at_once(self):
        """The baseline drops every unpinned chunk on overflow: a cliff of 100%."""
        result = replay(baseline=True)
        # At step 4 both turns (3 + 3) go; the window is 2 + 4 = 6.
        assert result.window_tokens == (2, 5, 8, 8, 6, 6, 6, 6)
        assert result.lost_tokens == (0, 0, 0, 0, 6, 0, 0, 0)
        assert (result.cliff_tokens, result.cliff_share) == (6, 1.0)
        assert (result.eviction_events, result.evicted_chunks) == (1, 2)
        assert result.probe_recall == 0.0

    def test_prompt_cache_prefix_and_cost(self):
        """Shared prefixes and costs follow from the serialized messages' lengths."""
        result = replay(baseline=False)
        system = '{"content":"be brief","role":"system"}'  # 38 characters
        user1 = '{"content":"one two three","role":"user"}'  # 41
        asst = '{"content":"four five six","role":"assistant"}'  # 46
        user2 = '{"content":"seven eight nine ten","role":"user"}'  # 48
        assert [len(s) for s in (system, user1, asst, user2)] == [38, 41, 46, 48]
        first, second = result.requests
        # Request 1: system, user1, assistant = 38 + 41 + 46 = 125 tokens, nothing
        # before it to share: $125 with or without the cache.
        assert (first.tokens, first.shared_prefix, first.cached_tokens) == (125, 0, 0)
        assert first.cost == pytest.approx(125.0)
        assert first.cost_cached == pytest.approx(125.0)
        # Request 2: system, assistant, user2 = 38 + 46 + 48 = 132 tokens. It shares
        # the system message (38) and then '{"content":"' (12 characters) of the
        # next message: 50 tokens. Cost: 132 at $1 = $132 uncached; cached,
        # 82 x $1 + 50 x $0.10 = $87.
        assert (second.tokens, second.shared_prefix, second.cached_tokens) == (
            132,
            50,
            50,
        )
        assert second.window_tokens == 9
        assert second.cost == pytest.approx(132.0)
        assert second.cost_cached == pytest.approx(87.0)
        assert result.cost == pytest.approx(257.0)
        assert result.cost_cached == pytest.approx(212.0)
        # 50 cached of 125 + 132 = 257 request tokens.
        assert result.cache_hit_rate == pytest.approx(50 / 257)

    def test_realtime_event_counts(self):
        """One event per pin, creation and deletion a live session needs."""
        oldest = replay(baseline=False)
        baseline = replay(baseline=True)
        # session.update for the pin; one create per turn (3); one delete per
        # evicted chunk (1 for DropOldest, 2 for the baseline).
        assert oldest.realtime_events == 1 + 3 + 1
        assert baseline.realtime_events == 1 + 3 + 2

    def test_to_dict_is_json(self):
        """A policy result serialises to JSON with its summary and series."""
        data = replay(baseline=False).to_dict()
        text = json.dumps(data, sort_keys=True)
        assert json.loads(text)["series"]["window_tokens"] == [2, 5, 8, 8, 9, 9, 9, 9]
        assert data["cliff_tokens"] == 3
        assert data["probes_found"] == 1


def slow_prefix(a, b):
    """The obvious longest common prefix: one token at a time."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def rendered(texts):
    """Messages as the replay keeps them, with one token a character."""
    return [(t, [ord(c) for c in t]) for t in texts]


class TestPrefix:
    @given(st.lists(st.integers(0, 3)), st.lists(st.integers(0, 3)))
    def test_common_prefix_matches_the_token_loop(self, a, b):
        """The halving prefix equals the one-token-at-a-time prefix."""
        assert _common_prefix(a, b) == slow_prefix(a, b)

    @given(
        st.lists(st.text("ab", max_size=4), max_size=5),
        st.lists(st.text("ab", max_size=4), max_size=5),
    )
    @example(["x", "ab", "c"], ["x", "a", "bc"])
    @example(["x", "a", "bc"], ["x", "ab", "c"])
    @example(["x", "", "ab"], ["x", "ab"])
    def test_shared_prefix_matches_the_flat_prefix(self, old, new):
        """Message by message, the shared prefix is that of the flat token lists,
        also when a differing message is a prefix of the other and the match runs on
        into the next one."""
        previous, current = rendered(old), rendered(new)
        flat = slow_prefix(
            [t for _, ts in previous for t in ts], [t for _, ts in current for t in ts]
        )
        assert _shared_prefix(previous, current) == flat


class ReferenceReplay(_Replay):
    """A replay that also measures every request the slow obvious way: render the
    whole window, serialize and tokenize every message, compare token by token."""

    def __init__(self, *args):
        super().__init__(*args)
        self.reference = []
        self.previous_sequence = []

    def request(self, index):
        from ctxchunk.render import to_openai_chat

        sequence = []
        for message in to_openai_chat(self.window):
            sequence.extend(self.tokenizer.encode(_serialize(message)))
        shared = slow_prefix(self.previous_sequence, sequence)
        self.previous_sequence = sequence
        self.reference.append((index, len(sequence), shared))
        return super().request(index)


@needs_window
class TestRequestsAgainstReference:
    @pytest.mark.parametrize(
        "session",
        [
            pytest.param(lambda: generate_session(3, turns=40), id="generated"),
            pytest.param(
                lambda: load_session(EXAMPLES / "support_call.jsonl"), id="support"
            ),
        ],
    )
    def test_incremental_requests_match_full_rerender(self, session):
        """Request sizes and shared prefixes equal those of re-rendering the window,
        re-tokenizing it and comparing token by token, under eviction, clearing and
        summarizing policies."""
        from ctxchunk.policies import ClearToolResults, DropOldest, Summarize
        from ctxchunk.tokens import get_tokenizer

        session = session()
        tok = get_tokenizer("o200k_base")
        prices = DEFAULT_PRICES["gpt-realtime"]
        policies = [
            WholeUpdateBaseline(),
            DropOldest(),
            ClearToolResults(),
            Summarize(),
        ]
        for policy in policies:
            window = _make_window(policy, 6000, 1000, tok)
            replay = ReferenceReplay(session, str(policy), window, tok, prices)
            result = replay.run()
            assert replay.reference
            fast = [(r.step, r.tokens, r.shared_prefix) for r in result.requests]
            assert fast == replay.reference


class TestPrices:
    def test_openai_cache_rules(self):
        """Nothing is cached below 1,024 tokens, then in steps of 128."""
        prices = DEFAULT_PRICES["gpt-realtime"]
        assert prices.cached(1023) == 0
        assert prices.cached(1024) == 1024
        # 1,300 = 10 x 128 + 20: the last partial step of 20 is not cached.
        assert prices.cached(1300) == 1280

    def test_gpt_realtime_defaults(self):
        """The documented defaults: $4.00 input, $0.40 cached input per 1M tokens."""
        prices = DEFAULT_PRICES["gpt-realtime"]
        assert (prices.input_per_mtok, prices.cached_input_per_mtok) == (4.0, 0.4)
        # 10,000 tokens, 8,192 cached: (1,808 x 4 + 8,192 x 0.4) / 1e6 = 0.0105088.
        assert prices.cost(10_000, 8192) == pytest.approx(0.0105088)

    def test_invalid_prices(self):
        """Negative prices or a zero increment are rejected."""
        with pytest.raises(InvalidArgumentError, match="at least 0"):
            Prices(-1, 0)
        with pytest.raises(InvalidArgumentError, match="cache_increment=0"):
            Prices(1, 0, cache_increment=0)

    def test_unknown_model_needs_prices(self):
        """simulate asks for prices when the model has no defaults."""
        with pytest.raises(InvalidArgumentError, match="no default prices"):
            simulate(SMALL, [WholeUpdateBaseline()], 100, model="nope")

    def test_duplicate_policy_names(self):
        """Two policies reported under one name are rejected."""
        with pytest.raises(InvalidArgumentError, match="unique"):
            simulate(SMALL, [WholeUpdateBaseline(), WholeUpdateBaseline()], 100)


class TestGenerator:
    def test_deterministic(self):
        """The same seed gives the same session; another seed a different one."""
        assert generate_session(3, turns=20) == generate_session(3, turns=20)
        assert generate_session(3, turns=20) != generate_session(4, turns=20)

    def test_probes_and_requests(self):
        """A generated session plants probes and requests a reply per user turn."""
        session = generate_session(1, turns=30, probes=4)
        types = [e.type for e in session.events]
        assert types.count("turn") == 60
        assert types.count("probe") == 8
        assert types.count("request") >= 30


@needs_window
class TestWithTheWindow:
    def test_baseline_cliff_on_resume(self):
        """On the resume example the baseline loses far more at once than DropOldest."""
        from ctxchunk.policies import DropOldest

        session = load_session(EXAMPLES / "resume_chat.jsonl")
        result = simulate(session, [WholeUpdateBaseline(), DropOldest()], 16_000)
        baseline, oldest = result["baseline"], result["DropOldest"]
        # The 10,000-token transcript arrives with ~11,000 tokens of history and
        # ~5,000 free: the baseline drops (almost) everything before it.
        assert baseline.cliff_share > 0.9
        assert baseline.cliff_tokens > 9000
        assert oldest.cliff_tokens < baseline.cliff_tokens / 2
        assert oldest.probe_recall > baseline.probe_recall

    def test_deterministic(self):
        """Two runs give byte-identical JSON."""
        from ctxchunk.policies import DropOldest, RetentionRatio

        session = load_session(EXAMPLES / "support_call.jsonl")

        def run():
            result = simulate(
                session,
                [WholeUpdateBaseline(), DropOldest(), RetentionRatio(0.8)],
                16_000,
            )
            return json.dumps(result.to_dict(), sort_keys=True)

        assert run() == run()

    @pytest.mark.parametrize("name", ["voice_research", "support_call", "resume_chat"])
    def test_examples_overflow_and_stay_in_budget(self, name):
        """Every example overflows 16,000 tokens and no window exceeds its budget."""
        session = load_session(EXAMPLES / f"{name}.jsonl")
        result = simulate(session, [], 16_000)
        for policy in result.policies:
            assert max(policy.window_tokens) <= 16_000
            assert policy.eviction_events >= 1
            assert len(policy.requests) == sum(
                e.type == "request" for e in session.events
            )

    def test_report(self, tmp_path):
        """The HTML report is one self-contained file with a table and SVG charts."""
        from ctxchunk._report import write_report

        session = load_session(EXAMPLES / "resume_chat.jsonl")
        path = write_report(simulate(session, [], 16_000), tmp_path / "r.html")
        text = path.read_text(encoding="utf-8")
        assert text.count("<svg") == 4
        assert "<table>" in text
        assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "<script" not in text
