"""Tests for streaming many session logs through the simulator (ctxchunk._fleet)."""

from __future__ import annotations

import gc
import gzip
import itertools
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._aggregate import (
    Aggregate,
    PolicySummary,
    SessionSummary,
    aggregate_of,
    percentile,
    summarize,
)
from ctxchunk._fleet import (
    Config,
    batch_size,
    detect_format,
    iter_inputs,
    read_session,
    run,
    simulate_batch,
)
from ctxchunk._generate import generate_session
from ctxchunk.cli import parse_policy
from ctxchunk.exceptions import SessionLogError
from ctxchunk.session import dump_session, load_session
from ctxchunk.simulate import simulate

EXAMPLES = Path(__file__).parent.parent / "examples" / "sessions"
FIXTURES = Path(__file__).parent / "fixtures"

REALTIME_LOG = [
    {"type": "session.update", "session": {"instructions": "Be kind."}},
    {
        "type": "conversation.item.created",
        "item": {
            "id": "item_u1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": "Book a table for two"}],
        },
    },
    {"type": "response.created", "response": {"id": "resp_1"}},
    {
        "type": "response.output_item.done",
        "item": {
            "id": "item_a1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": "Done, for two."}],
        },
    },
]


def _write_sessions(folder: Path, count: int, turns: int = 6) -> list[Path]:
    """Write ``count`` generated sessions, every other one gzipped, in two folders."""
    paths = []
    for seed in range(count):
        text = dump_session(generate_session(seed, turns=turns))
        sub = folder / ("b" if seed % 3 == 0 else "a")
        sub.mkdir(parents=True, exist_ok=True)
        if seed % 2:
            path = sub / f"s{seed:03d}.jsonl.gz"
            with gzip.open(path, "wt", encoding="utf-8") as handle:
                handle.write(text)
        else:
            path = sub / f"s{seed:03d}.jsonl"
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class TestInputs:
    def test_directory_is_walked_recursively_in_sorted_order(self, tmp_path):
        """A directory yields its logs (plain and .gz), sorted, sub-folders too."""
        written = _write_sessions(tmp_path, 7)
        (tmp_path / "a" / "notes.txt").write_text("not a log")
        found = list(iter_inputs([str(tmp_path)]))
        assert sorted(found) == sorted(written)
        assert found == sorted(found)

    def test_glob_and_file(self, tmp_path):
        """Globs expand (** recursively) and plain files pass through."""
        written = _write_sessions(tmp_path, 5)
        gz = sorted(p for p in written if p.name.endswith(".gz"))
        assert list(iter_inputs([str(tmp_path / "**" / "*.gz")])) == gz
        assert list(iter_inputs([str(written[0])])) == [written[0]]

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("missing.jsonl", "no such file or directory"),
            ("nothing-*.jsonl", "the pattern matches no file"),
        ],
    )
    def test_nothing_named_is_an_error(self, tmp_path, spec, message):
        """A path that names nothing is a SessionLogError saying so."""
        with pytest.raises(SessionLogError, match=message):
            list(iter_inputs([str(tmp_path / spec)]))

    def test_empty_directory_is_an_error(self, tmp_path):
        """A directory without logs says which file names are searched."""
        with pytest.raises(SessionLogError, match=r"no session logs.*\.jsonl\.gz"):
            list(iter_inputs([str(tmp_path)]))


class TestReadSession:
    def test_gzip_equals_plain(self, tmp_path):
        """A .jsonl.gz log reads as the same session as its plain text."""
        session = generate_session(3, turns=4)
        plain, packed = tmp_path / "x.jsonl", tmp_path / "x.jsonl.gz"
        dump_session(session, plain)
        with gzip.open(packed, "wt", encoding="utf-8") as handle:
            handle.write(plain.read_text())
        assert read_session(plain) == read_session(packed)
        assert read_session(packed).name == "x"
        assert read_session(plain).events == session.events

    def test_chat_messages_file(self):
        """An OpenAI Chat messages file is detected and imported."""
        session = read_session(FIXTURES / "chat_support_session.json")
        types = {e.type for e in session.events}
        assert {"instructions", "turn", "request", "tool_call"} <= types
        assert session.name == "chat_support_session"

    def test_chat_messages_jsonl(self, tmp_path):
        """Chat messages as JSONL (one message per line) are detected too."""
        path = tmp_path / "chat.jsonl"
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4."},
        ]
        path.write_text("\n".join(json.dumps(m) for m in messages))
        session = read_session(path)
        assert [e.type for e in session.events] == [
            "instructions",
            "turn",
            "request",
            "turn",
        ]

    def test_realtime_event_log(self, tmp_path):
        """A Realtime event log (JSONL) is detected and imported."""
        path = tmp_path / "call.jsonl"
        path.write_text("\n".join(json.dumps(e) for e in REALTIME_LOG))
        session = read_session(path)
        assert [(e.type, getattr(e, "text", None)) for e in session.events] == [
            ("instructions", "Be kind."),
            ("turn", "Book a table for two"),
            ("request", None),
            ("turn", "Done, for two."),
        ]

    def test_realtime_items(self):
        """A list of Realtime conversation items is read as the items' events, with
        a request before each run of model output (one model call)."""
        session = read_session(FIXTURES / "realtime_concierge_items.json")
        assert any(e.type == "turn" for e in session.events)
        assert any(e.type == "tool_call" for e in session.events)
        types = [e.type for e in session.events]
        assert "request" in types
        # No two requests in a row: a run of output items is one model call.
        pairs = itertools.pairwise(types)
        assert all((a, b) != ("request", "request") for a, b in pairs)

    def test_format_can_be_forced(self, tmp_path):
        """--format chat on a session log fails in the Chat importer, not elsewhere."""
        path = EXAMPLES / "support_call.jsonl"
        assert read_session(path, "session") == load_session(path)
        with pytest.raises(SessionLogError, match="unknown role"):
            read_session(path, "chat")

    def test_unknown_format_names_the_formats(self, tmp_path):
        """A log of something else says what it saw and lists every format."""
        path = tmp_path / "other.json"
        path.write_text('[{"kind": "metric", "value": 3}]')
        with pytest.raises(SessionLogError) as info:
            read_session(path)
        message = str(info.value)
        assert "['kind', 'value']" in message
        for name in ("session", "chat", "realtime", "items", "--format"):
            assert name in message

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(
                '{"role": "user", "text": "hello"}\n',
                "cannot tell the log's format",
                id="plain-turns-are-not-chat",
            ),
            pytest.param(
                '{"role": "user", "content": "hi"}\n{oops\n',
                "line 2 is not JSON",
                id="broken-line-named",
            ),
            pytest.param(
                '{"type": "turn", "t_ms": 0, "role": "user", "text": "hi"}\n\n{oops\n',
                "line 3: not JSON",
                id="broken-session-line-named",
            ),
        ],
    )
    def test_unreadable_log_says_why(self, tmp_path, text, message):
        """{role, text} turns (no content) are not a Chat log: the error lists the
        formats instead of importing blank messages; a broken line is named with
        its number."""
        path = tmp_path / "log.jsonl"
        path.write_text(text)
        with pytest.raises(SessionLogError, match=message):
            read_session(path)

    def test_damaged_gzip(self, tmp_path):
        """A damaged .gz file is a SessionLogError naming the file."""
        path = tmp_path / "bad.jsonl.gz"
        path.write_bytes(b"\x1f\x8b\x08\x00not really gzip")
        with pytest.raises(SessionLogError, match=r"bad\.jsonl\.gz: cannot read it"):
            read_session(path)

    @pytest.mark.parametrize(
        ("record", "expected"),
        [
            ({"type": "probe", "t_ms": 1, "needle": "x", "introduced": 0}, "session"),
            ({"role": "tool", "tool_call_id": "c1", "content": "{}"}, "chat"),
            ({"role": "assistant", "tool_calls": []}, "chat"),
            ({"role": "user", "text": "hi"}, None),
            ({"t_ms": 5, "event": {"type": "response.create"}}, "realtime"),
            ({"type": "function_call", "call_id": "c", "name": "f"}, "items"),
            ({"type": "turn"}, None),
            ([1, 2], None),
        ],
    )
    def test_detect_format(self, record, expected):
        """Each format is told apart by its first record."""
        assert detect_format(record) == expected


def _summary(share: float, recov: float | None, evictions: int = 0) -> PolicySummary:
    return PolicySummary(share, int(share * 1000), recov, recov, 0.001, evictions)


shares = st.integers(0, 10_000).map(lambda n: n / 10_000)
recalls = st.none() | st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
policy_summaries = st.builds(_summary, shares, recalls, st.integers(0, 50))
session_summaries = st.builds(
    SessionSummary,
    st.text(max_size=5),
    st.tuples(policy_summaries, policy_summaries),
)


class TestAggregate:
    @given(st.lists(st.integers(-50, 50), min_size=1), st.integers(1, 100))
    def test_percentile_is_nearest_rank(self, values, p):
        """The percentile is the sorted list's element at rank ceil(p/100 * n)."""
        counts: dict[float, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        rank = -(-p * len(values) // 100)
        assert percentile(counts, p) == sorted(values)[rank - 1]

    @given(st.lists(session_summaries), st.lists(session_summaries), st.randoms())
    def test_merge_and_order_do_not_change_the_json(self, first, second, rng):
        """Two aggregates merged, or all summaries in any order, give one JSON."""
        names = ("baseline", "other")
        whole = aggregate_of(names, first + second)
        left, right = aggregate_of(names, first), aggregate_of(names, second)
        left.merge(right)
        shuffled = first + second
        rng.shuffle(shuffled)
        expected = json.dumps(whole.to_dict(), sort_keys=True)
        assert json.dumps(left.to_dict(), sort_keys=True) == expected
        assert json.dumps(aggregate_of(names, shuffled).to_dict()) == json.dumps(
            whole.to_dict()
        )

    @given(st.lists(session_summaries, min_size=1))
    def test_table_matches_the_values(self, summaries):
        """Max and sessions of each metric match the summaries; beat is counted."""
        aggregate = aggregate_of(("baseline", "other"), summaries)
        row = aggregate.table()[1]
        other = [s.policies[1] for s in summaries]
        assert row["worst_loss_share"]["max"] == max(p.worst_loss_share for p in other)
        assert row["eviction_events"]["sessions"] == len(summaries)
        probed = [p.recall for p in other if p.recall is not None]
        assert row["recall"]["sessions"] == len(probed)
        beat = sum(s.policies[1].beats(s.policies[0]) for s in summaries)
        assert row["beat_baseline"]["sessions"] == beat
        assert aggregate.table()[0]["beat_baseline"] is None

    def test_beats_needs_a_smaller_loss_and_no_lower_recall(self):
        """Beating the baseline: less lost at the worst step, recall not given up."""
        base = _summary(1.0, 0.5)
        assert _summary(0.2, 0.5).beats(base)
        assert not _summary(0.2, 0.25).beats(base)
        assert not _summary(1.0, 1.0).beats(base)
        assert _summary(0.2, None).beats(base)

    def test_summary_of_a_result(self):
        """A summary holds the per-session table's rounded numbers."""
        session = load_session(EXAMPLES / "support_call.jsonl")
        result = simulate(session, {"drop-oldest": parse_policy("drop-oldest")}, 4000)
        (policy,) = summarize(result).policies
        row = result.table()[0]
        assert policy.worst_loss_share == row["cliff_share"]
        assert policy.recall == row["probe_recall"]
        assert policy.cost_cached_usd == row["cost_cached_usd"]

    def test_mismatched_summary_is_rejected(self):
        """A summary with another number of policies is an error, not a miscount."""
        aggregate = Aggregate(("a", "b"))
        with pytest.raises(ValueError, match="has 1 policies"):
            aggregate.add(SessionSummary("s", (_summary(0.1, None),)))


def _niceness() -> int:
    return os.nice(0)


def _config() -> Config:
    named = {s: parse_policy(s) for s in ("baseline", "drop-oldest", "recommended")}
    return Config(named, {"budget": 3000, "chunk_tokens": 750, "model": "gpt-4o"})


def _aggregate_json(paths: list[Path], **engine: object) -> tuple[str, list[str]]:
    config = _config()
    aggregate = aggregate_of(list(config.policies), ())
    detailed = {}
    for outcome in run(paths, config, total=len(paths), detail=2, **engine):  # type: ignore[arg-type]
        assert outcome.summary is not None, outcome.error
        aggregate.add(outcome.summary)
        if outcome.result is not None:
            detailed[outcome.index] = outcome.result.session
    return json.dumps(aggregate.to_dict(), sort_keys=True), [
        detailed[i] for i in sorted(detailed)
    ]


class TestEngines:
    def test_local_pool_equals_serial(self, tmp_path):
        """One process and a pool of two give byte-identical aggregates, and the
        first sessions' full results in input order."""
        paths = list(iter_inputs([str(p) for p in _write_sessions(tmp_path, 9)]))
        serial = _aggregate_json(paths, workers=1)
        assert serial == _aggregate_json(paths, workers=2)
        assert serial[1] == ["s000", "s001"]
        assert json.loads(serial[0])["sessions"] == 9

    def test_ray_equals_local(self, tmp_path):
        """A local Ray instance with 2 CPUs gives the same aggregate as one process."""
        pytest.importorskip("ray", reason="pip install 'ctxchunk[ray]'")
        paths = list(iter_inputs([str(p) for p in _write_sessions(tmp_path, 9)]))
        assert _aggregate_json(paths, engine="ray", workers=2) == _aggregate_json(
            paths, workers=1
        )

    def test_local_ray_workers_run_at_normal_priority(self):
        """The local instance's workers are not niced (Ray's default is 15, which
        starves them beside any other busy process)."""
        ray = pytest.importorskip("ray", reason="pip install 'ctxchunk[ray]'")
        from ctxchunk._fleet import _start_ray

        assert _start_ray(ray, 1, None)
        try:
            niceness = ray.get(ray.remote(num_cpus=1)(_niceness).remote())
        finally:
            ray.shutdown()
        assert niceness == os.nice(0)

    def test_bad_log_is_an_outcome_not_an_exception(self, tmp_path):
        """A broken log comes back as an outcome with its error; the rest go on."""
        paths = _write_sessions(tmp_path, 2)
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"type": "turn"}\n')
        outcomes = list(run([*paths, bad], _config(), total=3))
        assert [o.summary is None for o in outcomes] == [False, False, True]
        assert outcomes[2].error is not None
        assert "bad.jsonl" in outcomes[2].error

    def test_garbage_is_collected_between_sessions(self, tmp_path):
        """A batch sets off no collection while a session runs, collects once after
        each (what the session's windows held is freed then), and puts the
        collector's thresholds back; its summaries are those of simulate (which
        the sessions not given in full reach without counting Realtime events)."""
        paths = _write_sessions(tmp_path, 3, turns=20)
        batch = [(i, str(p), i == 0) for i, p in enumerate(paths)]

        def windows() -> int:
            return sum(type(o).__name__ == "ContextWindow" for o in gc.get_objects())

        gc.collect()
        held, thresholds = windows(), gc.get_threshold()
        started: list[int] = []

        def watch(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started.append(info["generation"])

        gc.callbacks.append(watch)
        try:
            outcomes = simulate_batch(batch, _config())
        finally:
            gc.callbacks.remove(watch)
        assert started == [1, 1, 1]
        assert gc.get_threshold() == thresholds
        assert windows() == held
        expected = [
            simulate(read_session(p), _config().policies, **_config().options)
            for p in paths
        ]
        assert outcomes[0].result == expected[0]
        assert [o.summary for o in outcomes] == [summarize(r) for r in expected]

    def test_batch_size(self):
        """Batches are 1 to 8 sessions, about 32 per worker."""
        assert batch_size(1, 1) == 1
        assert batch_size(10_000, 2) == 8
        assert batch_size(100, 2) == 1
