import hashlib
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxchunk._generate import (
    ARTICLE_TOKENS,
    BIG_PAGE_TOKENS,
    PASTE_BUDGET,
    PASTE_FREE_TOKENS,
    PASTE_TOKENS,
    PROBE_DISTANCES,
    REALISTIC_SHAPES,
    SMALL_PAGE_TOKENS,
    SMALL_RESULT_TOKENS,
    TYPICAL_ARTICLE_TOKENS,
    generate_realistic_session,
    generate_session,
    probe_distances,
    realistic_sessions,
    repo_corpus,
)
from ctxchunk.documents import read_document
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.policies import DropOldest
from ctxchunk.render import to_openai_chat
from ctxchunk.session import (
    DocumentEvent,
    InstructionsEvent,
    InterruptEvent,
    ProbeEvent,
    RequestEvent,
    Session,
    ToolCallEvent,
    TurnEvent,
    dump_session,
    load_session,
)
from ctxchunk.simulate import DEFAULT_PRICES, _Replay, simulate
from ctxchunk.tokens import get_tokenizer
from ctxchunk.window import ContextWindow

ROOT = Path(__file__).parent.parent
COUNT = get_tokenizer("o200k_base").count
SEEDS = range(3)


@cache
def session(shape, seed, turns=None):
    """Each session is generated once per test run (they are deterministic)."""
    return generate_realistic_session(seed, shape=shape, turns=turns)


def texts(event):
    """Return the text ``event`` brings into the conversation."""
    if isinstance(event, (TurnEvent, InstructionsEvent)):
        return event.text
    if isinstance(event, DocumentEvent):
        return event.content
    if isinstance(event, ToolCallEvent):
        return event.arguments_json + event.result
    return ""


def within(tokens, bounds):
    low, high = bounds
    return low <= tokens <= high


def check_probes(s):
    """Assert the probe invariants the generator promises, and return the probes."""
    probes = [(i, e) for i, e in enumerate(s.events) if isinstance(e, ProbeEvent)]
    for index, probe in probes:
        source = s.index_of(probe.introduced)
        assert source < index
        holders = [i for i, e in enumerate(s.events) if probe.needle in texts(e)]
        assert holders == [source]
    for distance in probe_distances(s):
        assert distance * 2 >= min(PROBE_DISTANCES)
    return probes


class TestGenerateSession:
    def test_still_reproducible(self):
        """The original long random generator still gives one session per seed."""
        a = generate_session(5, turns=12)
        assert a.to_jsonl() == generate_session(5, turns=12).to_jsonl()
        assert a.name == "random-5"


class TestDeterminism:
    @pytest.mark.parametrize("shape", REALISTIC_SHAPES)
    def test_same_seed_same_dump(self, shape):
        """The same seed gives byte-identical JSONL; another seed gives another."""
        a = generate_realistic_session(4, shape=shape, turns=3)
        b = generate_realistic_session(4, shape=shape, turns=3)
        assert a.to_jsonl() == b.to_jsonl()
        assert a != generate_realistic_session(5, shape=shape, turns=3)

    def test_same_across_processes(self):
        """Another process with another string hash seed writes the same sessions."""
        code = (
            "import hashlib\n"
            "from ctxchunk._generate import REALISTIC_SHAPES, "
            "generate_realistic_session as g\n"
            "for shape in REALISTIC_SHAPES:\n"
            "    text = g(9, shape=shape, turns=3).to_jsonl()\n"
            "    print(hashlib.sha256(text.encode()).hexdigest())\n"
        )
        env = {**os.environ, "PYTHONHASHSEED": "12345"}
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        here = [
            hashlib.sha256(
                generate_realistic_session(9, shape=shape, turns=3).to_jsonl().encode()
            ).hexdigest()
            for shape in REALISTIC_SHAPES
        ]
        assert result.stdout.split() == here

    def test_shape_defaults_to_seed(self):
        """Without a shape the seed picks one, cycling through the shapes."""
        names = [generate_realistic_session(s, turns=1).name for s in range(5)]
        assert names == [f"{shape}-{s}" for s, shape in enumerate(REALISTIC_SHAPES)]


class TestVoiceResearch:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_pages_larger_than_the_budget(self, seed):
        """Each session opens a page over 16k tokens, even as readable text."""
        pages = [
            e for e in session("voice_research", seed).events if e.type == "document"
        ]
        sizes = [COUNT(p.content) for p in pages]
        assert all(
            within(n, BIG_PAGE_TOKENS) or within(n, SMALL_PAGE_TOKENS) for n in sizes
        )
        big = [p for p, n in zip(pages, sizes, strict=True) if n > 16_000]
        assert big
        assert any(n < 16_000 for n in sizes)
        assert COUNT(read_document(big[0].content, format="html").text) > 16_000

    def test_one_turn_still_opens_a_big_page(self):
        """A one-turn voice research session still opens a page larger than 16k."""
        pages = [
            e for e in session("voice_research", 1, 1).events if e.type == "document"
        ]
        assert any(COUNT(p.content) > 16_000 for p in pages)

    @pytest.mark.parametrize("seed", SEEDS)
    def test_interrupts_fall_inside_the_audio(self, seed):
        """Every interrupt cuts an assistant turn strictly inside its word timings."""
        s = session("voice_research", seed)
        interrupts = [e for e in s.events if isinstance(e, InterruptEvent)]
        for interrupt in interrupts:
            turn = s.events[s.index_of(interrupt.item)]
            assert turn.words
            assert 0 < interrupt.heard_ms < turn.words[-1].end_ms
            assert interrupt.t_ms == turn.t_ms + interrupt.heard_ms
        spoken = [e for e in s.events if e.type == "turn" and e.role == "assistant"]
        assert all(t.words for t in spoken)

    def test_sessions_include_interruptions(self):
        """Across a few seeds, some assistant turns are interrupted."""
        assert any(
            e.type == "interrupt"
            for seed in SEEDS
            for e in session("voice_research", seed).events
        )


class TestSupportCall:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_article_and_small_results(self, seed):
        """Articles are 5k-20k tokens, mostly about 7.5k; small lookups 50-400."""
        calls = [
            e for e in session("support_call", seed).events if e.type == "tool_call"
        ]
        articles = [COUNT(c.result) for c in calls if c.name == "search_kb"]
        small = [COUNT(c.result) for c in calls if c.name != "search_kb"]
        assert len(articles) >= 1
        assert all(within(n, ARTICLE_TOKENS) for n in articles)
        assert all(within(n, SMALL_RESULT_TOKENS) for n in small)

    def test_articles_cluster_near_7500(self):
        """Most articles across sessions are in the typical 6.5k-8.5k range."""
        sizes = [
            COUNT(e.result)
            for seed in SEEDS
            for e in session("support_call", seed).events
            if e.type == "tool_call" and e.name == "search_kb"
        ]
        typical = [n for n in sizes if within(n, TYPICAL_ARTICLE_TOKENS)]
        assert len(typical) * 2 > len(sizes)


class TestPaste:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_paste_arrives_with_5000_tokens_free(self, seed):
        """A 9.5k-10.5k-token paste arrives when a 16k window has about 5k free."""
        s = session("paste", seed)
        index, paste = next(
            (i, e)
            for i, e in enumerate(s.events)
            if e.type == "turn" and e.role == "user" and COUNT(e.text) > 9_000
        )
        assert within(COUNT(paste.text), PASTE_TOKENS)
        result = simulate(s, {"drop": DropOldest()}, budget=PASTE_BUDGET)
        free = PASTE_BUDGET - result.policies[0].window_tokens[index - 1]
        assert abs(free - PASTE_FREE_TOKENS) <= 500


class TestLongChat:
    def test_many_small_turns(self):
        """A long chat has 100+ user turns, all of them small."""
        turns = [e for e in session("long_chat", 0).events if e.type == "turn"]
        users = [COUNT(t.text) for t in turns if t.role == "user"]
        assert len(users) >= 100
        assert max(users) <= 100
        assert max(COUNT(t.text) for t in turns) <= 400


class TestParallelTools:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_batches_of_calls(self, seed):
        """Calls made in one step are consecutive tool calls with distinct ids."""
        runs, run = [], []
        for event in session("parallel_tools", seed).events:
            if isinstance(event, ToolCallEvent):
                run.append(event)
            elif isinstance(event, RequestEvent):
                if run:
                    runs.append(run)
                run = []
        assert any(len(r) >= 2 for r in runs)
        batches = set()
        for r in runs:
            assert len({c.call_id for c in r}) == len(r)
            assert [c.t_ms for c in r] == sorted(c.t_ms for c in r)
            # The calls of a step of several share one batch, new to the session;
            # a lone call has none.
            assert len({c.batch for c in r}) == 1
            batch = r[0].batch
            assert (batch is None) == (len(r) == 1)
            if batch is not None:
                assert batch not in batches
                batches.add(batch)

    @pytest.mark.parametrize("seed", SEEDS)
    def test_batches_replay_as_one_group_each(self, seed):
        """Replayed, each batch is one assistant message holding all its calls."""
        s = session("parallel_tools", seed)
        window = ContextWindow(10**7)
        _Replay(s, "all", window, get_tokenizer(), DEFAULT_PRICES["gpt-4o"]).run()
        steps = [
            [m["id"] for m in message["tool_calls"]]
            for message in to_openai_chat(window)
            if message.get("tool_calls")
        ]
        expected: dict[str | None, list[str]] = {}
        lone = []
        for event in s.events:
            if isinstance(event, ToolCallEvent):
                assert event.call_id is not None
                if event.batch is None:
                    lone.append([event.call_id])
                else:
                    expected.setdefault(event.batch, []).append(event.call_id)
        assert sorted(steps) == sorted([*expected.values(), *lone])


class TestProbes:
    @pytest.mark.parametrize("shape", REALISTIC_SHAPES)
    @pytest.mark.parametrize("seed", SEEDS)
    def test_probes_follow_their_facts(self, shape, seed):
        """Each probe follows its fact, and its needle is in that event only."""
        assert check_probes(session(shape, seed))

    @pytest.mark.parametrize(
        ("shape", "carrier"),
        [
            ("voice_research", "document"),
            ("support_call", "tool_call"),
            ("parallel_tools", "tool_call"),
        ],
    )
    def test_facts_inside_documents_and_results(self, shape, carrier):
        """Some needles are planted in a page or a tool result, not a user turn."""
        s = session(shape, 0)
        sources = {
            s.events[s.index_of(e.introduced)].type
            for e in s.events
            if e.type == "probe"
        }
        assert {"turn", carrier} <= sources

    def test_far_probes(self):
        """Voice research probes reach past the budget, to about 40k tokens."""
        distances = probe_distances(session("voice_research", 0))
        assert max(distances) >= 30_000
        assert min(distances) < 16_000

    def test_probe_at_is_honoured(self):
        """Custom distances put each probe near the nearest step to them."""
        s = generate_realistic_session(2, shape="long_chat", turns=40, probe_at=(300,))
        distances = probe_distances(s)
        assert distances
        assert all(150 <= d <= 700 for d in distances)

    def test_probe_distances_counts_content_after_the_fact(self):
        """probe_distances counts the content of every event after the fact."""
        s = Session(
            [
                TurnEvent(t_ms=0, id="u", role="user", text="code ZZ-1"),
                RequestEvent(t_ms=1),
                TurnEvent(t_ms=2, role="assistant", text="one two three"),
                ToolCallEvent(t_ms=3, name="f", arguments="{}", result="four"),
                ProbeEvent(t_ms=4, needle="ZZ-1", introduced="u"),
            ]
        )
        assert probe_distances(s) == (
            COUNT("one two three") + COUNT("{}") + COUNT("four"),
        )


class TestReplay:
    @pytest.mark.parametrize("shape", REALISTIC_SHAPES)
    def test_round_trip(self, shape, tmp_path):
        """A realistic session survives dump_session and load_session unchanged."""
        s = session(shape, 1)
        path = tmp_path / f"{s.name}.jsonl"
        dump_session(s, path)
        assert load_session(path) == s

    @pytest.mark.parametrize("shape", REALISTIC_SHAPES)
    def test_simulate_smoke(self, shape):
        """Every shape replays at a 16k budget, and a huge budget finds every needle."""
        s = generate_realistic_session(0, shape=shape, turns=4)
        result = simulate(s, budget=16_000)
        for policy in result.policies:
            assert all(p.recoverable or not p.found for p in policy.probes)
        everything = simulate(s, {"drop": DropOldest()}, budget=1_000_000)
        assert everything.policies[0].probe_recall == 1.0


@settings(max_examples=max(settings().max_examples // 5, 5))
@given(
    seed=st.integers(0, 2**32),
    shape=st.sampled_from(REALISTIC_SHAPES),
    turns=st.integers(1, 5),
)
def test_any_seed_gives_a_valid_session(seed, shape, turns):
    """Any seed, shape and length give a valid session that keeps the probe rules."""
    s = generate_realistic_session(seed, shape=shape, turns=turns)
    assert Session(s.events, name=s.name) == s
    check_probes(s)
    user_turns = [e for e in s.events if e.type == "turn" and e.role == "user"]
    assert len(user_turns) >= turns


class TestHelpers:
    def test_realistic_sessions_cycle_shapes(self):
        """realistic_sessions cycles through the shapes, one seed after another."""
        names = [s.name for s in realistic_sessions(6, 20)]
        shapes = [*REALISTIC_SHAPES, REALISTIC_SHAPES[0]]
        assert names == [f"{shape}-{20 + i}" for i, shape in enumerate(shapes)]

    def test_repo_corpus_reads_the_checkout(self, tmp_path):
        """repo_corpus reads the shipped texts, and gives nothing where none are."""
        corpus = repo_corpus()
        assert len(corpus) >= 4
        assert all("<html" not in text for text in corpus)
        assert repo_corpus(tmp_path) == ()

    def test_corpus_paragraphs_are_mixed_in(self):
        """With a corpus, real paragraphs appear in the pages, reproducibly."""
        corpus = (
            "A paragraph of real prose that is long enough to be picked up by the "
            "generator, since short fragments such as headings are left out of the "
            "corpus it mixes into pages, articles and fetched documents, so this one "
            "runs on for a while.",
        )
        a = generate_realistic_session(
            3, shape="voice_research", turns=2, corpus=corpus
        )
        assert any(corpus[0] in texts(e) for e in a.events)
        b = generate_realistic_session(
            3, shape="voice_research", turns=2, corpus=corpus
        )
        assert a == b

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"shape": "podcast"}, InvalidArgumentError, "voice_research"),
            ({"turns": 0}, InvalidArgumentError, "turns=0 must be at least 1"),
            ({"turns": "3"}, InvalidTypeError, "turns must be an int"),
            ({"corpus": "text"}, InvalidTypeError, "corpus"),
            ({"probe_at": (0,)}, InvalidArgumentError, "at least 1"),
        ],
    )
    def test_bad_arguments(self, kwargs, error, match):
        """Bad arguments raise the library's errors, naming the argument."""
        with pytest.raises(error, match=match):
            generate_realistic_session(1, **kwargs)

    def test_bad_count(self):
        """A negative count is rejected before anything is generated."""
        with pytest.raises(InvalidArgumentError, match="count=-1"):
            next(realistic_sessions(-1))


def test_example_script_writes_realistic_sessions(tmp_path):
    """examples/generate_sessions.py --realistic N --out DIR writes N loadable logs."""
    script = ROOT / "examples" / "generate_sessions.py"
    argv = [sys.executable, str(script), "--realistic", "3", "--turns", "2"]
    result = subprocess.run(
        [*argv, "--out", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    paths = sorted(tmp_path.glob("*.jsonl"))
    assert [p.stem for p in paths] == [
        "long_chat-2",
        "support_call-1",
        "voice_research-0",
    ]
    assert all(load_session(p).events for p in paths)
