"""Tests for ctxchunk.archive: both stores against a list-based reference model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.archive import (
    ARCHIVE_FORMAT,
    Archive,
    MemoryArchive,
    SQLiteArchive,
    terms,
)
from ctxchunk.change import Eviction, Reason
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError, StateError

from .strategies import chunks, prose

# -- the reference model -----------------------------------------------------------


def first_parts(entries: list[Eviction]) -> dict[str, dict[int, Chunk]]:
    """The first archived copy of every part that is content (not a marker)."""
    out: dict[str, dict[int, Chunk]] = {}
    for entry in entries:
        chunk = entry.chunk
        if chunk.meta.marks is None:
            out.setdefault(chunk.source, {}).setdefault(chunk.part, chunk)
    return out


def matching(entries: list[Eviction], query: str) -> set[tuple[str, int]]:
    """The parts that share a term with ``query``."""
    wanted = set(terms(query))
    return {
        (source, part)
        for source, parts in first_parts(entries).items()
        for part, chunk in parts.items()
        if wanted & set(terms(chunk.text))
    }


# -- strategies --------------------------------------------------------------------

_SOURCES = ["turn-1", "turn-2", "doc-a", "doc-b", "call-7.result"]


@st.composite
def evictions(draw: st.DrawFn) -> Eviction:
    """An archived chunk: real prose, a few sources with repeated parts, markers."""
    source = draw(st.sampled_from(_SOURCES))
    parts = draw(st.integers(1, 6))
    marks = draw(st.none() | st.sampled_from(_SOURCES))
    chunk = Chunk.create(
        draw(prose(max_words=60)),
        role="tool",
        kind="document",
        source=source,
        part=draw(st.integers(0, parts - 1)),
        parts=parts,
        meta=ChunkMeta(marks=marks),
    )
    return Eviction(chunk, draw(st.sampled_from(list(Reason))))


def batches() -> st.SearchStrategy[list[list[Eviction]]]:
    """What a window hands its archive: one batch per operation, some empty."""
    return st.lists(st.lists(evictions(), max_size=6), max_size=8)


STORES = ["memory", "sqlite"]


def fresh(kind: str) -> Archive:
    return MemoryArchive() if kind == "memory" else SQLiteArchive(":memory:")


# -- properties --------------------------------------------------------------------


class TestAgainstTheModel:
    @pytest.mark.parametrize("kind", STORES)
    @given(batches=batches())
    def test_entries_and_parts(self, kind: str, batches: list[list[Eviction]]) -> None:
        """Entries come back in the order added; parts are the first copy of each."""
        store = fresh(kind)
        entries: list[Eviction] = []
        for batch in batches:
            store.add(batch)
            entries.extend(batch)
        assert len(store) == len(entries)
        assert list(store) == entries
        expected = first_parts(entries)
        for source in _SOURCES:
            assert store.parts(source) == expected.get(source, {})
        store.close()

    @pytest.mark.parametrize("kind", STORES)
    @given(batches=batches(), query=prose(max_words=5))
    def test_search_finds_exactly_the_matching_parts(
        self, kind: str, batches: list[list[Eviction]], query: str
    ) -> None:
        """With room for all, search returns each part sharing a term, once."""
        store = fresh(kind)
        entries = [entry for batch in batches for entry in batch]
        for batch in batches:
            store.add(batch)
        found = store.search(query, limit=1000)
        keys = [(c.source, c.part) for c in found]
        assert len(keys) == len(set(keys))
        assert set(keys) == matching(entries, query)
        assert all(c.meta.marks is None for c in found)
        parts = first_parts(entries)
        assert all(parts[c.source][c.part] == c for c in found)
        store.close()

    @pytest.mark.parametrize("kind", STORES)
    @given(batches=batches(), query=prose(max_words=5), limit=st.integers(1, 4))
    def test_search_respects_the_limit(
        self, kind: str, batches: list[list[Eviction]], query: str, limit: int
    ) -> None:
        """The first ``limit`` results are the top of the full ranking."""
        store = fresh(kind)
        for batch in batches:
            store.add(batch)
        everything = store.search(query, limit=1000)
        assert store.search(query, limit=limit) == everything[:limit]
        store.close()

    @pytest.mark.parametrize("kind", STORES)
    @given(batches=batches(), data=st.data())
    def test_truncate_is_the_prefix(
        self, kind: str, batches: list[list[Eviction]], data: st.DataObject
    ) -> None:
        """truncate(n) leaves exactly the archive of the first n entries."""
        store = fresh(kind)
        entries = [entry for batch in batches for entry in batch]
        for batch in batches:
            store.add(batch)
        store.search("tea")  # the index must follow the truncation
        length = data.draw(st.integers(0, len(entries) + 2))
        store.truncate(length)
        kept = entries[:length]
        assert list(store) == kept
        expected = first_parts(kept)
        for source in _SOURCES:
            assert store.parts(source) == expected.get(source, {})
        for word in ("window", "token", "café", "refund"):
            assert {(c.source, c.part) for c in store.search(word, limit=1000)} == (
                matching(kept, word)
            )
        more = data.draw(st.lists(evictions(), max_size=3))
        store.add(more)
        assert list(store) == kept + more
        store.close()

    @given(entries=st.lists(chunks().map(lambda c: Eviction(c, Reason.POLICY))))
    def test_any_chunk_survives_sqlite(self, entries: list[Eviction]) -> None:
        """Any valid chunk, lone surrogates and odd metadata included, round-trips."""
        store = SQLiteArchive(":memory:")
        store.add(entries)
        assert list(store) == entries
        store.close()


class TestRanking:
    @pytest.mark.parametrize("kind", STORES)
    def test_the_best_match_comes_first(self, kind: str) -> None:
        """A part that repeats a rare query term outranks one that says it once."""
        store = fresh(kind)
        texts = [
            "The order shipped on Monday and the lamp was fine.",
            "Refund refund refund: the customer asked for a refund of order 42.",
            "The weather in Oslo was cold; the order of events is unclear.",
            "A refund was mentioned once, with the weather and the order.",
        ]
        store.add(
            [
                Eviction(
                    Chunk.create(t, role="user", kind="turn", source=f"t{i}"),
                    Reason.POLICY,
                )
                for i, t in enumerate(texts)
            ]
        )
        assert [c.source for c in store.search("refund", limit=2)] == ["t1", "t3"]
        assert store.search("nothing matches", limit=3) == []
        assert store.search("?!", limit=3) == []
        store.close()

    @pytest.mark.parametrize("kind", STORES)
    def test_query_syntax_is_never_interpreted(self, kind: str) -> None:
        """FTS5 operators and quotes in a query are plain words."""
        store = fresh(kind)
        chunk = Chunk.create(
            'NEAR "quoted" AND or NOT', role="user", kind="turn", source="t"
        )
        store.add([Eviction(chunk, Reason.POLICY)])
        for query in ('"', "NEAR(", 'a" OR "b', "*", "AND", "col:value"):
            store.search(query)
        assert store.search('"quoted"') == [chunk]
        store.close()


class TestPersistence:
    def test_a_session_reopens_with_everything(self, tmp_path: Path) -> None:
        """Entries, parts and the search index survive closing the file."""
        path = tmp_path / "archive.db"
        store = SQLiteArchive(path, session="s1")
        assert store.persistent
        entries = [
            Eviction(
                Chunk.create(
                    f"Part {i} of the page about tea {'green' if i % 2 else 'black'}.",
                    role="tool",
                    kind="document",
                    source="doc",
                    part=i,
                    parts=4,
                ),
                Reason.POLICY,
            )
            for i in range(4)
        ]
        store.add(entries[:2])
        store.add(entries[2:])
        store.close()
        again = SQLiteArchive(path, session="s1")
        assert list(again) == entries
        assert again.parts("doc") == {i: e.chunk for i, e in enumerate(entries)}
        assert {c.part for c in again.search("green")} == {1, 3}
        again.add(entries[:1])  # a later copy of a known part
        assert len(again) == 5
        assert again.parts("doc")[0] == entries[0].chunk
        again.close()

    def test_sessions_sharing_a_file_are_apart(self, tmp_path: Path) -> None:
        """Two sessions in one file see only their own entries."""
        path = tmp_path / "shared.db"
        one, two = (
            SQLiteArchive(path, session="one"),
            SQLiteArchive(path, session="two"),
        )
        tea = Chunk.create("Tea.", role="user", kind="turn", source="t")
        coffee = Chunk.create("Coffee.", role="user", kind="turn", source="t")
        one.add([Eviction(tea, Reason.POLICY)])
        two.add([Eviction(coffee, Reason.POLICY)])
        assert list(one) == [Eviction(tea, Reason.POLICY)]
        assert two.parts("t") == {0: coffee}
        assert one.search("coffee") == []
        two.truncate(0)
        assert len(one) == 1
        one.close()
        two.close()

    def test_a_file_of_another_format_is_refused(self, tmp_path: Path) -> None:
        """A database that is not a ctxchunk archive of this format is not misread."""
        path = tmp_path / "other.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('format', 'something/9')")
        db.commit()
        db.close()
        with pytest.raises(StateError, match="something/9"):
            SQLiteArchive(path)
        (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
        with pytest.raises(StateError, match="cannot open"):
            SQLiteArchive(tmp_path / "junk.db")
        assert ARCHIVE_FORMAT.startswith("ctxchunk.archive/")

    def test_a_failed_batch_leaves_nothing_behind(self) -> None:
        """A batch that fails midway is not half written."""
        store = SQLiteArchive(":memory:")
        good = Eviction(
            Chunk.create("Tea.", role="user", kind="turn", source="t"), Reason.POLICY
        )
        bad = attrs.evolve(good, reason="not a reason")  # type: ignore[arg-type]
        with pytest.raises(AttributeError):
            store.add([good, bad])
        assert len(store) == 0
        assert list(store) == []
        store.add([good])
        assert list(store) == [good]
        store.close()


class TestErrors:
    @pytest.mark.parametrize("kind", STORES)
    def test_bad_arguments(self, kind: str) -> None:
        """Wrong types and values raise ctxchunk errors that name the argument."""
        store = fresh(kind)
        with pytest.raises(InvalidTypeError, match="evictions"):
            store.add("text")  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="Eviction"):
            store.add([None])  # type: ignore[list-item]
        with pytest.raises(InvalidTypeError, match="query"):
            store.search(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="limit"):
            store.search("tea", limit=0)
        with pytest.raises(InvalidArgumentError, match="length"):
            store.truncate(-1)
        store.close()

    def test_bad_path_and_session(self) -> None:
        """The path and the session key are checked."""
        with pytest.raises(InvalidTypeError, match="path"):
            SQLiteArchive(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="session"):
            SQLiteArchive(":memory:", session=3)  # type: ignore[arg-type]
