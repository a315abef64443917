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
from ctxchunk.tokens import get_tokenizer

from .strategies import _SEPARATORS, _WORDS, chunks

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

# Drawing is what these properties spend their time on (at 1,000 examples), so
# every strategy is built once, here, and a text is one hypothesis choice rather
# than two a word: each character of a drawn string stands for one
# word-and-separator phrase, which gives exactly the texts ``prose(max_words=...)``
# gives.
_PHRASES = [word + sep for word in _WORDS for sep in _SEPARATORS]
_PHRASE_OF = {chr(0x100 + i): phrase for i, phrase in enumerate(_PHRASES)}


def phrases(max_words: int) -> st.SearchStrategy[str]:
    """The texts of ``prose(max_words=max_words)``: 1 to ``max_words`` phrases."""
    return st.text("".join(_PHRASE_OF), min_size=1, max_size=max_words).map(
        lambda drawn: "".join(_PHRASE_OF[c] for c in drawn)
    )


_TEXTS = phrases(60)
_QUERIES = phrases(5)
_SOURCE = st.sampled_from(_SOURCES)
_PARTS = st.integers(1, 6)
_PART_OF = {parts: st.integers(0, parts - 1) for parts in range(1, 7)}
# Half the chunks are markers, as with ``st.none() | st.sampled_from(_SOURCES)``,
# in one choice instead of two.
_MARKS = st.sampled_from([None] * len(_SOURCES) + _SOURCES)
_REASONS = st.sampled_from(list(Reason))
_TOKENIZER = get_tokenizer()


@st.composite
def evictions(draw: st.DrawFn) -> Eviction:
    """An archived chunk: real prose, a few sources with repeated parts, markers."""
    source = draw(_SOURCE)
    parts = draw(_PARTS)
    marks = draw(_MARKS)
    chunk = Chunk.create(
        draw(_TEXTS),
        role="tool",
        kind="document",
        source=source,
        part=draw(_PART_OF[parts]),
        parts=parts,
        meta=ChunkMeta(marks=marks),
        tokenizer=_TOKENIZER,
    )
    return Eviction(chunk, draw(_REASONS))


def batches() -> st.SearchStrategy[list[list[Eviction]]]:
    """What a window hands its archive: one batch per operation, some empty."""
    return st.lists(st.lists(evictions(), max_size=6), max_size=8)


STORES = ["memory", "sqlite"]


def fresh(kind: str) -> Archive:
    return MemoryArchive() if kind == "memory" else SQLiteArchive(":memory:")


def filled(batches: list[list[Eviction]]) -> list[Archive]:
    """One store of each kind, each given ``batches`` in order."""
    stores = [fresh(kind) for kind in STORES]
    for store in stores:
        for batch in batches:
            store.add(batch)
    return stores


# -- properties --------------------------------------------------------------------


class TestAgainstTheModel:
    # Each example is checked against both stores, so each store gets the profile's
    # full example count while the (costly) drawing is done once.

    @given(batches=batches())
    def test_entries_and_parts(self, batches: list[list[Eviction]]) -> None:
        """Entries come back in the order added; parts are the first copy of each."""
        entries = [entry for batch in batches for entry in batch]
        expected = first_parts(entries)
        for store in filled(batches):
            assert len(store) == len(entries)
            assert list(store) == entries
            for source in _SOURCES:
                assert store.parts(source) == expected.get(source, {})
            store.close()

    @given(batches=batches(), query=_QUERIES)
    def test_search_finds_exactly_the_matching_parts(
        self, batches: list[list[Eviction]], query: str
    ) -> None:
        """With room for all, search returns each part sharing a term, once."""
        entries = [entry for batch in batches for entry in batch]
        parts = first_parts(entries)
        for store in filled(batches):
            found = store.search(query, limit=1000)
            keys = [(c.source, c.part) for c in found]
            assert len(keys) == len(set(keys))
            assert set(keys) == matching(entries, query)
            assert all(c.meta.marks is None for c in found)
            assert all(parts[c.source][c.part] == c for c in found)
            store.close()

    @given(batches=batches(), query=_QUERIES, limit=st.integers(1, 4))
    def test_search_respects_the_limit(
        self, batches: list[list[Eviction]], query: str, limit: int
    ) -> None:
        """The first ``limit`` results are the top of the full ranking."""
        for store in filled(batches):
            everything = store.search(query, limit=1000)
            assert store.search(query, limit=limit) == everything[:limit]
            store.close()

    @given(batches=batches(), data=st.data())
    def test_truncate_is_the_prefix(
        self, batches: list[list[Eviction]], data: st.DataObject
    ) -> None:
        """truncate(n) leaves exactly the archive of the first n entries."""
        entries = [entry for batch in batches for entry in batch]
        length = data.draw(st.integers(0, len(entries) + 2))
        more = data.draw(st.lists(evictions(), max_size=3))
        kept = entries[:length]
        expected = first_parts(kept)
        for store in filled(batches):
            store.search("tea")  # the index must follow the truncation
            store.truncate(length)
            assert list(store) == kept
            for source in _SOURCES:
                assert store.parts(source) == expected.get(source, {})
            for word in ("window", "token", "café", "refund"):
                found = store.search(word, limit=1000)
                assert {(c.source, c.part) for c in found} == matching(kept, word)
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
