"""Where what left a window goes: the archive, in memory or in SQLite, searchable.

Every chunk that leaves a :class:`~ctxchunk.window.ContextWindow` (evicted, masked,
replaced, cut by an interrupt, or refused at admission) is handed to the window's
archive with the reason, in the order it left. The archive serves three things:

- :meth:`~ctxchunk.window.ContextWindow.read` (what a ``read_document`` call named by
  a marker asks for), through :meth:`Archive.parts`;
- :meth:`~ctxchunk.window.ContextWindow.recall` (the ``recall_history`` tool), through
  :meth:`Archive.search`, a full-text search ranked by BM25;
- :attr:`~ctxchunk.window.ContextWindow.archive`, the whole record, in order.

Two stores ship:

- :class:`MemoryArchive`, the default: a list in memory, saved inside the window's
  JSON state;
- :class:`SQLiteArchive`: a file (the standard library's ``sqlite3``, no server) with
  an FTS5 full-text index. The window's JSON state then stays small, and a session
  restarted from its state and the same file loses nothing. Several sessions may share
  one file, each under its own ``session`` key.

A store of your own subclasses :class:`Archive`.

>>> from ctxchunk.chunk import Chunk
>>> from ctxchunk.change import Eviction, Reason
>>> archive = MemoryArchive()
>>> tea = Chunk.create("Green tea is steamed.", role="user", kind="turn",
...                    source="t1")
>>> archive.add([Eviction(tea, Reason.POLICY)])
>>> [c.text for c in archive.search("steamed tea")]
['Green tea is steamed.']
"""

from __future__ import annotations

import abc
import json
import math
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

import regex

from ctxchunk._checks import check_int, check_items, check_str
from ctxchunk.change import Eviction, Reason
from ctxchunk.chunk import Chunk
from ctxchunk.exceptions import InvalidTypeError, StateError

__all__ = ["ARCHIVE_FORMAT", "Archive", "MemoryArchive", "SQLiteArchive", "terms"]

ARCHIVE_FORMAT = "ctxchunk.archive/1"
"""The format an :class:`SQLiteArchive` file records; a file of another format is
refused rather than misread."""

# BM25's usual constants, the ones SQLite's FTS5 ``bm25()`` uses too
# (https://www.sqlite.org/fts5.html#the_bm25_function).
_K1 = 1.2
_B = 0.75

_WORD = regex.compile(r"[\p{L}\p{N}]+")


def terms(text: str) -> list[str]:
    """Return the search terms of ``text``: case-folded letter and digit runs.

    Diacritics are dropped. The same rule as SQLite FTS5's default ``unicode61``
    tokenizer, so both stores match the same words.

    >>> terms("Crème brûlée, 2 ÉCLAIRS!")
    ['creme', 'brulee', '2', 'eclairs']
    """
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    found: list[str] = _WORD.findall(plain)
    return found


class Archive(abc.ABC):
    """A store of the chunks that left a window, in the order they left.

    Invariants: entries are kept in the order :meth:`add` gave them; :meth:`parts`
    returns, for each part of a source, the first copy of it that was archived;
    markers (``chunk.meta.marks`` set) are kept in the record but are not content:
    :meth:`parts` and :meth:`search` never return them.
    """

    @abc.abstractmethod
    def add(self, evictions: Sequence[Eviction]) -> None:
        """Append ``evictions``, in order (one window operation's, at its end)."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of entries."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Eviction]:
        """Every entry, in the order it was added."""

    @abc.abstractmethod
    def parts(self, source: str) -> dict[int, Chunk]:
        """The archived parts of ``source`` by part number (first copy of each)."""

    @abc.abstractmethod
    def search(self, query: str, *, limit: int = 5) -> list[Chunk]:
        """The archived parts that best match ``query``, best first (BM25).

        Only parts sharing at least one term (see :func:`terms`) with the query are
        returned; each part at most once. Ties go to the part archived last.
        """

    @abc.abstractmethod
    def truncate(self, length: int) -> None:
        """Drop every entry after the first ``length``.

        A window restored from a state saved when its archive was shorter does this,
        so that the archive and the window agree (those chunks are in the window
        again).
        """

    @property
    def persistent(self) -> bool:
        """Whether the entries outlive the process.

        The window's JSON state leaves a persistent archive out by default.
        """
        return False

    def close(self) -> None:  # noqa: B027 - an optional hook with a default body
        """Release what the store holds open. The default does nothing."""


def _check_query(query: str, limit: int) -> tuple[list[str], int]:
    query = check_str("query", query)
    limit = check_int("limit", limit, 1)
    return list(dict.fromkeys(terms(query))), limit


class MemoryArchive(Archive):
    """The default store: a list in memory, searched with an index built as needed.

    The index is built on the first search and brought up to date by later ones, so a
    window that never searches never pays for it.
    """

    def __init__(self, evictions: Iterable[Eviction] = ()) -> None:
        self._entries: list[Eviction] = []
        # The first copy of each archived part, by source: the chunk itself while
        # its source has one part archived (most have), else a dict by part.
        self._parts: dict[str, Chunk | dict[int, Chunk]] = {}
        self._reset_index()
        self.add(list(evictions))

    def _reset_index(self) -> None:
        self._indexed = 0
        self._docs: list[Chunk] = []
        self._lengths: list[int] = []
        self._postings: dict[str, dict[int, int]] = {}

    def add(self, evictions: Sequence[Eviction]) -> None:  # noqa: D102
        for entry in check_items("evictions", evictions, Eviction):
            self._entries.append(entry)
            chunk = entry.chunk
            if chunk.meta.marks is None:
                held = self._parts.get(chunk.source)
                if held is None:
                    self._parts[chunk.source] = chunk
                elif isinstance(held, dict):
                    held.setdefault(chunk.part, chunk)
                elif held.part != chunk.part:
                    self._parts[chunk.source] = {held.part: held, chunk.part: chunk}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Eviction]:
        return iter(self._entries)

    def parts(self, source: str) -> dict[int, Chunk]:  # noqa: D102
        held = self._parts.get(source)
        if held is None:
            return {}
        if isinstance(held, dict):
            return dict(held)
        return {held.part: held}

    def truncate(self, length: int) -> None:  # noqa: D102
        length = check_int("length", length, 0)
        if length >= len(self._entries):
            return
        kept = self._entries[:length]
        self._entries = []
        self._parts = {}
        self._reset_index()
        self.add(kept)

    def _update_index(self) -> None:
        while self._indexed < len(self._entries):
            chunk = self._entries[self._indexed].chunk
            self._indexed += 1
            if chunk.meta.marks is not None:
                continue
            held = self._parts[chunk.source]
            if (held[chunk.part] if isinstance(held, dict) else held) is not chunk:
                continue  # a later copy of a part already archived
            doc = len(self._docs)
            words = terms(chunk.text)
            self._docs.append(chunk)
            self._lengths.append(len(words))
            counts: dict[str, int] = {}
            for word in words:
                counts[word] = counts.get(word, 0) + 1
            for word, count in counts.items():
                self._postings.setdefault(word, {})[doc] = count

    def search(self, query: str, *, limit: int = 5) -> list[Chunk]:  # noqa: D102
        wanted, limit = _check_query(query, limit)
        self._update_index()
        n = len(self._docs)
        if not wanted or n == 0:
            return []
        average = sum(self._lengths) / n or 1.0
        scores: dict[int, float] = {}
        for word in wanted:
            postings = self._postings.get(word)
            if not postings:
                continue
            idf = math.log((n - len(postings) + 0.5) / (len(postings) + 0.5) + 1.0)
            for doc, count in postings.items():
                norm = count + _K1 * (1 - _B + _B * self._lengths[doc] / average)
                scores[doc] = scores.get(doc, 0.0) + idf * count * (_K1 + 1) / norm
        best = sorted(scores, key=lambda doc: (-scores[doc], -doc))[:limit]
        return [self._docs[doc] for doc in best]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    chunk TEXT NOT NULL,
    PRIMARY KEY (session, seq)
);
CREATE TABLE IF NOT EXISTS parts (
    session TEXT NOT NULL,
    source TEXT NOT NULL,
    part INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (session, source, part)
);
CREATE INDEX IF NOT EXISTS parts_by_doc ON parts (doc);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (text, tokenize = 'unicode61');
"""


def _indexable(text: str) -> str:
    # SQLite stores UTF-8: a lone surrogate (never a letter or digit) becomes "?".
    return text.encode("utf-8", "replace").decode("utf-8")


class SQLiteArchive(Archive):
    """A store in an SQLite file, with an FTS5 full-text index of the archived parts.

    Writes happen once per window operation, in one transaction (the file is in WAL
    mode, so a write costs no disk flush until a checkpoint). Open the same ``path``
    and ``session`` again after a restart to carry on where the session stopped.

    Args:
        path: The database file (created if missing), or ``":memory:"``.
        session: The key of this session's entries; sessions sharing a file never
            see each other's.

    Raises:
        StateError: the file is not an archive of this format, or cannot be opened.

    >>> archive = SQLiteArchive(":memory:")
    >>> len(archive), archive.persistent
    (0, False)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, session: str = "default"
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(
                f"path must be a file path, got {type(path).__name__}: {path!r:.80}"
            )
        self._session = check_str("session", session)
        self._path = os.fspath(path)
        try:
            # The window serializes its own use; an async server may call it from
            # a worker thread, so the connection is not tied to the opening thread.
            self._db = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = 'format'"
            ).fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta VALUES ('format', ?)", (ARCHIVE_FORMAT,)
                )
            elif row[0] != ARCHIVE_FORMAT:
                raise StateError(
                    f"{self._path!r:.80} is a {row[0]!r:.40} file, not "
                    f"{ARCHIVE_FORMAT}; open it with the ctxchunk that wrote it"
                )
            (count,) = self._db.execute(
                "SELECT count(*) FROM entries WHERE session = ?", (self._session,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise StateError(
                f"cannot open the archive {self._path!r:.80}: {exc}"
            ) from None
        self._length: int = count

    @property
    def persistent(self) -> bool:
        """True unless the file is ``":memory:"``."""
        return self._path != ":memory:"

    @property
    def session(self) -> str:
        """The key of this session's entries in the file."""
        return self._session

    def add(self, evictions: Sequence[Eviction]) -> None:  # noqa: D102
        evictions = check_items("evictions", evictions, Eviction)
        if not evictions:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            for entry in evictions:
                chunk = entry.chunk
                seq = self._length
                self._length += 1
                db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?)",
                    (
                        self._session,
                        seq,
                        entry.reason.value,
                        # ASCII escapes: a lone surrogate in a chunk's text stays
                        # storable and comes back unchanged.
                        json.dumps(chunk.to_dict()),
                    ),
                )
                if chunk.meta.marks is not None:
                    continue
                known = db.execute(
                    "SELECT 1 FROM parts WHERE session = ? AND source = ? AND part = ?",
                    (self._session, chunk.source, chunk.part),
                ).fetchone()
                if known is not None:
                    continue
                doc = db.execute(
                    "INSERT INTO search (text) VALUES (?)", (_indexable(chunk.text),)
                ).lastrowid
                db.execute(
                    "INSERT INTO parts VALUES (?, ?, ?, ?, ?)",
                    (self._session, chunk.source, chunk.part, seq, doc),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._length = self._count()
            raise

    def _count(self) -> int:
        (count,) = self._db.execute(
            "SELECT count(*) FROM entries WHERE session = ?", (self._session,)
        ).fetchone()
        return int(count)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Eviction]:
        rows = self._db.execute(
            "SELECT reason, chunk FROM entries WHERE session = ? ORDER BY seq",
            (self._session,),
        ).fetchall()
        for reason, data in rows:
            yield Eviction(Chunk.from_dict(json.loads(data)), Reason(reason))

    def _chunk_at(self, seq: int) -> Chunk:
        (data,) = self._db.execute(
            "SELECT chunk FROM entries WHERE session = ? AND seq = ?",
            (self._session, seq),
        ).fetchone()
        return Chunk.from_dict(json.loads(data))

    def parts(self, source: str) -> dict[int, Chunk]:  # noqa: D102
        rows = self._db.execute(
            "SELECT p.part, e.chunk FROM parts p JOIN entries e "
            "ON e.session = p.session AND e.seq = p.seq "
            "WHERE p.session = ? AND p.source = ?",
            (self._session, source),
        ).fetchall()
        return {part: Chunk.from_dict(json.loads(data)) for part, data in rows}

    def search(self, query: str, *, limit: int = 5) -> list[Chunk]:  # noqa: D102
        wanted, limit = _check_query(query, limit)
        if not wanted:
            return []
        # Each term quoted, so no word of the query is read as FTS5 syntax.
        match = " OR ".join('"' + word + '"' for word in wanted)
        rows = self._db.execute(
            "SELECT p.seq FROM search s JOIN parts p ON p.doc = s.rowid "
            "WHERE search MATCH ? AND p.session = ? "
            "ORDER BY s.rank, p.seq DESC LIMIT ?",
            (match, self._session, limit),
        ).fetchall()
        return [self._chunk_at(seq) for (seq,) in rows]

    def truncate(self, length: int) -> None:  # noqa: D102
        length = check_int("length", length, 0)
        if length >= self._length:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute(
                "DELETE FROM search WHERE rowid IN (SELECT doc FROM parts "
                "WHERE session = ? AND seq >= ?)",
                (self._session, length),
            )
            db.execute(
                "DELETE FROM parts WHERE session = ? AND seq >= ?",
                (self._session, length),
            )
            db.execute(
                "DELETE FROM entries WHERE session = ? AND seq >= ?",
                (self._session, length),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._length = length

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
