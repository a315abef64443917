"""Token-bounded, boundary-aware, lossless splitting of text.

:func:`split_text` cuts a text into :class:`Piece` objects of at most ``max_tokens``
tokens each, counted exactly, whose concatenation is the text.

How it works:

1. The text is cut at its highest boundaries first: blank lines, the line before a
   Markdown heading, and the edges of fenced code blocks and tables (level 0). A span
   that may be over the bound is cut again at the next level down: line breaks,
   sentence ends, clause punctuation, whitespace, and last of all token boundaries
   that are also grapheme-cluster boundaries. Each resulting span (an *atom*) is
   tokenized once and fits the bound.
2. Atoms are packed greedily into pieces. When the next atom does not fit, the piece
   ends at the highest-level boundary among those that leave it at least half full;
   among equals, the latest. If no boundary leaves it half full, it ends at the
   highest-level boundary of all.
3. Counts are exact without tokenizing twice: with ``o200k_base`` and ``cl100k_base``,
   a cut between a non-space and a space, or after a line break before a non-space,
   is also a cut in tiktoken's own pre-tokenization, so the tokens of the two sides
   add up. A piece holding any other kind of join is recounted, and shrunk if the
   recount is over the bound.
4. A piece of whitespace alone (the spaces after a full piece) joins a neighbour,
   or takes the last token of the piece before it, so that every piece holds some
   text; only a run of whitespace too long to share within the bound is left as
   pieces of its own.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Sequence
from itertools import accumulate

import attrs
import regex

from ctxchunk._checks import check_int, check_str
from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError, SplitError
from ctxchunk.tokens import TiktokenTokenizer, Tokenizer, get_tokenizer

__all__ = ["DEFAULT_MAX_TOKENS", "Level", "Piece", "split_text"]

DEFAULT_MAX_TOKENS = 2000
"""The default bound: big enough to carry a paragraph or a page section whole, small
enough that one chunk evicts only a sliver of a 16,000-token window."""


class Level:
    """Boundary levels, best first. A lower number is a stronger boundary."""

    PARAGRAPH = 0
    LINE = 1
    SENTENCE = 2
    CLAUSE = 3
    WORD = 4
    GRAPHEME = 5


@attrs.frozen(slots=True)
class Piece:
    """A slice of the source text.

    Invariants: ``source[start:end] == text``; ``tokens`` is the exact token count of
    ``text``; ``1 <= tokens <= max_tokens`` for the bound it was cut with. A piece
    built by hand is checked for what it can check on its own: the types, and
    ``0 <= start``, ``end - start == len(text)``, ``tokens >= 0``.
    """

    text: str
    start: int
    end: int
    tokens: int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InvalidTypeError(
                f"text must be a str, got {type(self.text).__name__}: {self.text!r:.80}"
            )
        for name in ("start", "end", "tokens"):
            check_int(name, getattr(self, name), 0)
        if self.end - self.start != len(self.text):
            raise InvalidArgumentError(
                f"start={self.start} and end={self.end} do not span the "
                f"{len(self.text)} characters of text; a piece is source[start:end]"
            )


# The White_Space property: what ``\s`` means to tiktoken's pre-tokenizer (and to the
# regex module). Python's str.isspace() differs on U+001C..U+001F.
_WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_LINE_END = frozenset("\r\n")

# Encodings whose pre-tokenizer patterns were checked for the two join rules in
# ``_additive_join`` (tests/test_split.py checks them again on random text).
_ADDITIVE_ENCODINGS = frozenset({"o200k_base", "cl100k_base"})

_BLANK_OR_HEADING = regex.compile(r"\n(?:[ \t]*\n)+|\n(?=\#{1,6}(?:[ \t]|$))")
# Plain ``re`` is used where it is faster than ``regex``: literal-led ASCII patterns.
_FENCE_RUNS = (re.compile(r"```+"), re.compile(r"~~~+"))
# Pipe tables (Markdown) and grid tables (reStructuredText).
_PIPE_LINE = re.compile(r"\n[ \t]*(?:\||\+[-=])")
_BLANK_LINES = regex.compile(r"(?:[ \t]*\n)+")
# A line break and any blank lines after it: the cut goes after the last.
_LINE_BREAK = regex.compile(r"(?:\r\n|\r|\n)(?:[ \t]*(?:\r\n|\r|\n))*")
# A reStructuredText or setext title underline (or overline): one punctuation
# character repeated. A title is never cut from its underline.
_UNDERLINE = re.compile(r"([=\-~^\"'`#*+_.:<>])\1{2,}[ \t]*(?:\r?\n|\r|$)")
_ADORNMENT = frozenset("=-~^\"'`#*+_.:<>")
_ALNUM = regex.compile(r"[\p{L}\p{N}]")
# Latin-style sentence and clause marks end a unit only before whitespace ("3.14" and
# "e.g." followed by a letter stay whole); the cut goes before the whitespace, which
# then leads the next piece, as tiktoken attaches it to the next word anyway.
_SENTENCE_END = regex.compile(
    r"[.!?…‽⁇⁈⁉]+[\"'”’»)\]]*(?=[^\S\r\n])|[。！？｡।॥۔؟።᙮]+[」』）\"'”’»)\]]*"
)
_CLAUSE_END = regex.compile(
    r"[,;:]+[\"'”’»)\]]*(?=[^\S\r\n])|[，；：、]+|—|–(?=[^\S\r\n])"
)
_WORD_GAP = regex.compile(r"(?<=\S)\s+")
# A line that opens a structure: a list item, quote, table row, heading, indented
# code, or a speaker label ("Alice: ...", "[00:12] ...").
_STRUCTURED_LINE = regex.compile(
    r"[ \t]|[-*+•>|#]|\d{1,3}[.)][ \t]|\[|[^\s:]{1,32}:[ \t]"
)
_CLUSTER = regex.compile(r"\X", regex.DOTALL)
# Characters whose grapheme break depends on more than their neighbour: regional
# indicators pair up, ZWJ sequences join pictographs, and marks extend what precedes.
_CONTEXTUAL = regex.compile(
    r"[\p{Regional_Indicator}\p{Extended_Pictographic}\u200d"
    r"\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=SpacingMark}"
    r"\p{Grapheme_Cluster_Break=Prepend}]"
)
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))

# Spans longer than this many characters per token of the bound are cut at the next
# level before being tokenized: prose runs about 4 characters a token, so such a span
# is almost surely over the bound and tokenizing it whole would be wasted work.
_CHARS_PER_TOKEN_LIMIT = 4


def split_text(
    text: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    *,
    tokenizer: str | Tokenizer | None = None,
) -> list[Piece]:
    r"""Split ``text`` into lossless pieces of at most ``max_tokens`` tokens.

    Pieces end at the best boundary available (see the module docs for the rule):
    blank lines and headings, then line breaks, sentence ends, clause punctuation,
    whitespace and, only for text with none of those, token boundaries. Fenced code
    blocks and tables stay whole unless one alone is over the bound. No piece ends
    inside a UTF-8 character or, unless one grapheme cluster alone is over the bound,
    inside a grapheme cluster. No piece is whitespace alone unless the text is, or
    holds a run of whitespace that neither neighbour could take within the bound.

    Args:
        text: The text to split.
        max_tokens: The most tokens a piece may hold, at least 1.
        tokenizer: An encoding or model name, or a :class:`~ctxchunk.tokens.Tokenizer`;
            ``o200k_base`` by default.

    Returns:
        The pieces in order; ``[]`` for empty text.

    Raises:
        InvalidTypeError: ``text`` is not a ``str`` or ``max_tokens`` not an ``int``.
        InvalidArgumentError: ``max_tokens`` is below 1.
        SplitError: a single character needs more than ``max_tokens`` tokens.
        EncodingError: ``text`` holds a lone surrogate.

    >>> [p.text for p in split_text("One paragraph.\n\nAnother one.", max_tokens=4)]
    ['One paragraph.\n\n', 'Another one.']
    """
    check_str("text", text)
    check_int("max_tokens", max_tokens, 1)
    tok = get_tokenizer(tokenizer)
    if not text:
        return []
    try:
        return _Splitter(text, max_tokens, tok).run()
    except UnicodeEncodeError:
        tok.count(text)  # raises EncodingError, naming the offset
        raise


def _additive_join(text: str, at: int) -> bool:
    r"""Whether tokens of ``text[:at]`` and ``text[at:]`` add up to those of ``text``.

    True for the o200k_base and cl100k_base patterns when the cut falls:

    - between a non-space and a space that is not a line end (no pattern continues a
      match from a non-space into a space);
    - between a letter or digit and a line end (the letter and digit patterns never
      take a line end);
    - after the last line end of a whitespace run, unless ``/`` follows at once (the
      patterns that take line ends end with one, and in o200k a ``[\r\n/]*`` after
      punctuation can go on into a ``/``).

    In each case the match that ends at the cut ends there whether or not the text
    goes on, and matching restarts at the cut alike. A run of 64 spaces or more is
    not looked through (taken as not additive).
    """
    before, after = text[at - 1], text[at]
    if after in _LINE_END and before not in _LINE_END:
        # Letter and digit patterns never take a line end, in either encoding. A
        # letter of a newer Unicode version than Python's own database may be an
        # unassigned character to tiktoken's pre-tokenizer, which then takes the
        # line end with it as punctuation: such a cut is not trusted.
        return _ALNUM.match(before) is not None and (
            before < "\x80" or unicodedata.category(before) != "Cn"
        )
    if before in _LINE_END:
        if after == "/":
            return False
        for char in text[at : at + 64]:
            if char not in _WHITE_SPACE:
                return True
            if char in _LINE_END:
                return False
        return False
    return (
        before not in _WHITE_SPACE and after in _WHITE_SPACE and after not in _LINE_END
    )


def _is_grapheme_boundary(text: str, at: int, origin: int) -> bool:
    """Whether ``at`` is a grapheme-cluster boundary, given that ``origin`` is one."""
    if at <= origin or at >= len(text):
        return True
    before, after = text[at - 1], text[at]
    if before < "\x7f" and after < "\x7f":
        return not (before == "\r" and after == "\n")
    if _CONTEXTUAL.match(before) or _CONTEXTUAL.match(after):
        for match in _CLUSTER.finditer(text, origin, at + 1):
            if match.end() >= at:
                return int(match.end()) == at
        return True
    return len(_CLUSTER.findall(before + after)) == 2


def _grapheme_floor(text: str, origin: int, at: int) -> int:
    """The last grapheme-cluster boundary in ``(origin, at]``, or ``origin`` if none."""
    if _is_grapheme_boundary(text, at, origin):
        return at
    best = origin
    for match in _CLUSTER.finditer(text, origin, at + 1):
        if match.end() > at:
            break
        best = match.end()
    return best


class _Atoms:
    """Spans that each fit the bound, in order, as parallel lists.

    Atom ``i`` spans ``[ends[i - 1], ends[i])`` (the first starts at 0) and holds
    ``counts[i]`` tokens; ``levels[i]`` is the level of the boundary at its end and
    ``joins[i]`` whether token counts add up across it; ``inner[i]`` is the level it
    can be cut at again if packing needs to open it.
    """

    __slots__ = ("counts", "ends", "inner", "joins", "levels")

    def __init__(self) -> None:
        self.ends: list[int] = []
        self.counts: list[int] = []
        self.levels: list[int] = []
        self.joins: list[bool] = []
        self.inner: list[int] = []

    def splice(self, k: int, other: _Atoms) -> None:
        """Put ``other``'s atoms in place of atom ``k``."""
        self.ends[k : k + 1] = other.ends
        self.counts[k : k + 1] = other.counts
        self.levels[k : k + 1] = other.levels
        self.joins[k : k + 1] = other.joins
        self.inner[k : k + 1] = other.inner


class _Splitter:
    """One run of :func:`split_text`; holds the text and the atoms found so far."""

    def __init__(self, text: str, max_tokens: int, tokenizer: Tokenizer) -> None:
        self.text = text
        self.max = max_tokens
        self.tokenizer = tokenizer
        self.count: Callable[[str], int] = tokenizer.count
        if isinstance(tokenizer, TiktokenTokenizer):
            # The hot path skips the public method's checks; split_text turns the
            # UnicodeEncodeError this may raise into the tokenizer's EncodingError.
            encode = tokenizer._encode
            self.count = lambda text: len(encode(text))
        self.additive = (
            isinstance(tokenizer, TiktokenTokenizer)
            and tokenizer.name in _ADDITIVE_ENCODINGS
        )
        self.char_limit = max_tokens * _CHARS_PER_TOKEN_LIMIT
        self.atoms = _Atoms()
        # Code fences and tables: packing never opens these to fill a piece.
        self.blocks: set[tuple[int, int]] = set()
        # The paragraph cuts coalescing dropped inside an atom, by the atom's end:
        # packing cuts the atom there if it opens it.
        self.coalesced: dict[int, list[int]] = {}

    def run(self) -> list[Piece]:
        text = self.text
        if len(text) <= self.char_limit:
            tokens = self.count(text)
            if tokens <= self.max:
                return [Piece(text, 0, len(text), tokens)]
        self._descend(0, len(text), Level.PARAGRAPH, Level.PARAGRAPH, self.atoms)
        pieces = self._pack()
        if all(piece.text.strip() for piece in pieces):
            return pieces
        return self._share_blanks(pieces)

    # -- finding atoms ---------------------------------------------------------------

    def _cuts(self, start: int, end: int, level: int, gap: int = 0) -> list[int]:
        text = self.text
        if level == Level.PARAGRAPH:
            return self._paragraph_cuts(start, end)
        if level == Level.LINE:
            return self._line_cuts(start, end, gap)
        if level == Level.SENTENCE:
            cuts = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
        elif level == Level.CLAUSE:
            cuts = [m.end() for m in _CLAUSE_END.finditer(text, start, end)]
        else:
            cuts = [_word_cut(m) for m in _WORD_GAP.finditer(text, start, end)]
        # Leading and trailing whitespace stays with the span's text rather than
        # becoming atoms of its own.
        span = text[start:end]
        low = start + len(span) - len(span.lstrip())
        high = start + len(span.rstrip())
        return [
            cut
            for cut in cuts
            if low < cut < high and _is_grapheme_boundary(text, cut, start)
        ]

    def _line_cuts(self, start: int, end: int, gap: int) -> list[int]:
        """Cuts at the hard line breaks in ``(start, end)``.

        The cut goes after the break (and any blank lines after it) or, when the
        next line is indented and a letter or digit ends this one, before the break:
        token counts add up there (see ``_additive_join``) and not after it. A cut
        next to a line break is always a grapheme-cluster boundary. This is the hot
        path on line-oriented text, so the per-line regex checks only run when a
        cheap character test calls for them. With ``gap``, a cut is only looked for
        at least ``gap`` characters after the previous one (see ``_coalesce``).
        """
        text = self.text
        span = text[start:end]
        low = start + len(span) - len(span.lstrip())
        high = start + len(span.rstrip())
        cuts = []
        search = _LINE_BREAK.search
        position = max(low, start + gap - 1)
        while (match := search(text, position, high)) is not None:
            newline, after = match.span()
            position = after
            before, following = text[newline - 1], text[after]
            if (before.isalpha() or before == ",") and _soft_wrap(text, newline, after):
                continue
            if following in _ADORNMENT and _UNDERLINE.match(text, after):
                continue
            cut = newline if following in " \t" and _ALNUM.match(before) else after
            cuts.append(cut)
            position = max(position, cut + gap - 1)
        return cuts

    def _paragraph_cuts(self, start: int, end: int) -> list[int]:
        text = self.text
        cuts = [m.end() for m in _BLANK_OR_HEADING.finditer(text, start, end)]
        blocks = sorted(self._blocks(start, end))
        self.blocks.update(blocks)
        if blocks:
            starts = [a for a, _ in blocks]

            def inside(cut: int) -> bool:
                i = bisect.bisect_left(starts, cut) - 1
                return i >= 0 and cut < blocks[i][1]

            cuts = [cut for cut in cuts if not inside(cut)]
            cuts.extend(edge for block in blocks for edge in block)
            cuts = sorted(set(cuts))
        return [cut for cut in cuts if start < cut < end]

    def _blocks(self, start: int, end: int) -> list[tuple[int, int]]:
        """Fenced code blocks and pipe tables in ``[start, end)``, as whole lines.

        Each block takes the blank lines after it, so that the cut after it keeps
        token counts additive.
        """
        blocks = self._fences(start, end)
        fence_starts = [a for a, _ in blocks]
        for first, last in self._tables(start, end):
            i = bisect.bisect_right(fence_starts, first) - 1
            if i < 0 or first >= blocks[i][1]:
                blocks.append((first, last))
        return [(a, _skip_blank_lines(self.text, b, end)) for a, b in blocks]

    def _fences(self, start: int, end: int) -> list[tuple[int, int]]:
        text = self.text
        fences: list[tuple[int, int]] = []
        opening = ""
        opened = 0
        runs = [
            match
            for pattern in _FENCE_RUNS
            if pattern.pattern[:3] in text
            for match in pattern.finditer(text, start, end)
        ]
        runs.sort(key=lambda match: match.start())
        for match in runs:
            line_start = max(text.rfind("\n", start, match.start()) + 1, start)
            indent = text[line_start : match.start()]
            if len(indent) > 3 or indent.strip(" \t"):
                continue
            fence = match.group()
            line_end = _line_end(text, match.end(), end)
            if not opening:
                if fence[0] == "~" and _underlines(text, line_start, start):
                    continue  # a reStructuredText title adornment, not a fence
                opening, opened = fence, line_start
            elif (
                fence[0] == opening[0]
                and len(fence) >= len(opening)
                and not text[match.end() : line_end].strip()
            ):
                fences.append((opened, line_end))
                opening = ""
        if opening:
            fences.append((opened, end))
        return fences

    def _tables(self, start: int, end: int) -> list[tuple[int, int]]:
        """Runs of two or more lines that start with ``|``."""
        text = self.text
        tables: list[tuple[int, int]] = []
        first = last = -1
        lines = 0
        starts = [m.start() + 1 for m in _PIPE_LINE.finditer(text, start, end)]
        if _PIPE_LINE.match("\n" + text[start : start + 80]):
            starts.insert(0, start)
        for pipe in starts:
            line_start = max(text.rfind("\n", start, pipe) + 1, start)
            if line_start == last:
                lines += 1
            else:
                if lines >= 2:
                    tables.append((first, last))
                first, lines = line_start, 1
            last = _line_end(text, pipe, end)
        if lines >= 2:
            tables.append((first, last))
        return tables

    def _descend(
        self, start: int, end: int, level: int, end_level: int, out: _Atoms
    ) -> None:
        """Add atoms covering ``[start, end)`` to ``out``.

        The span is over the bound or too long to tokenize whole: it is cut at
        ``level`` or, where that finds no boundary, at the next level down.
        """
        # Short paragraphs and lines share atoms, except in an atom packing opened.
        gap = self.max // 8 if out is self.atoms else 0
        cuts: list[int] = []
        while level < Level.GRAPHEME:
            cuts = self._cuts(start, end, level, gap)
            if cuts:
                break
            if level == Level.LINE and gap > 1:
                # The only line breaks may be ones the gap skipped, near the start.
                dropped = self._line_cuts(start, end, 0)
                if dropped:
                    start = self._lead(start, dropped, level, out)
            level += 1
        if not cuts:
            self._token_atoms(start, end, end_level, out)
            return
        hidden: dict[int, list[int]] = {}
        if gap and level == Level.PARAGRAPH:
            cuts = self._coalesce(cuts, start, end, gap, hidden)
        self._emit(start, end, cuts, level, end_level, out, hidden)

    def _emit(
        self,
        start: int,
        end: int,
        cuts: list[int],
        level: int,
        end_level: int,
        out: _Atoms,
        hidden: dict[int, list[int]],
    ) -> None:
        """Add atoms for the spans between ``cuts`` (boundaries at ``level``).

        A span over the bound is cut again at the next level down. Short paragraphs
        and lines share atoms (see ``_coalesce``): ``hidden`` maps the end of a span
        to the paragraph cuts dropped inside it, and the line cuts dropped are found
        again when needed. An atom that may hold such cuts is reopened at ``level``;
        a span over the bound first gives up the short paragraphs or lines that lead
        it as an atom of their own, so that the break after them stays a place to end
        a piece.
        """
        # The loop below runs once per atom: names are bound locally for speed.
        text, count, max_tokens = self.text, self.count, self.max
        limit, additive, length = self.char_limit, self.additive, len(text)
        ends, counts, levels = out.ends, out.counts, out.levels
        joins, inners = out.joins, out.inner
        sealed_blocks = self.blocks if level == Level.PARAGRAPH else ()
        lines_shared = level == Level.LINE and out is self.atoms
        reopen = level if lines_shared else level + 1
        a = start
        for b in [*cuts, end]:
            boundary = level if b != end else end_level
            if b - a <= limit and (tokens := count(text[a:b])) <= max_tokens:
                ends.append(b)
                counts.append(tokens)
                levels.append(boundary)
                joins.append(additive and b < length and _additive_join(text, b))
                if (a, b) in sealed_blocks:
                    inners.append(Level.GRAPHEME + 1)
                elif hidden and b in hidden:
                    self.coalesced[b] = hidden[b]
                    inners.append(level)
                else:
                    inners.append(reopen)
                a = b
                continue
            if lines_shared:
                dropped = self._line_cuts(a, b, 0)
            else:
                dropped = hidden.get(b, []) if hidden else []
            if dropped:
                a = self._lead(a, dropped, level, out)
            self._descend(a, b, level + 1, boundary, out)
            a = b

    def _lead(self, start: int, dropped: list[int], level: int, out: _Atoms) -> int:
        """Add the short paragraphs or lines that lead a span over the bound.

        They end at the last of ``dropped``, the cuts at ``level`` that coalescing
        left out of the span; they become one atom (or more, should they be over the
        bound), so that packing can end a piece after them. Returns where the rest
        of the span starts.
        """
        lead = dropped[-1]
        inside = {}
        if level == Level.PARAGRAPH and len(dropped) > 1:
            inside[lead] = dropped[:-1]
        self._emit(start, lead, [], level, level, out, inside)
        return lead

    def _coalesce(
        self,
        cuts: list[int],
        start: int,
        end: int,
        gap: int,
        hidden: dict[int, list[int]],
    ) -> list[int]:
        """Drop paragraph cuts that leave spans shorter than ``gap`` characters.

        ``gap`` is ``max_tokens // 8`` characters, about a thirtieth of the bound in
        tokens: short paragraphs (and, in ``_line_cuts``, short lines) then share an
        atom, so there are fewer atoms to count and pack, for pieces at most that
        much short of full. Cuts before a heading and at code blocks and tables are
        always kept, and an atom that packing opens to fill a piece is cut without
        coalescing. The dropped cuts are put in ``hidden`` under the end of the span
        that holds them (a kept cut, or ``end``).
        """
        if gap < 2:
            return cuts
        text = self.text
        edges = {edge for block in self.blocks for edge in block}
        kept: list[int] = []
        dropped: list[int] = []
        last = start
        for cut in cuts:
            if cut - last >= gap or text[cut] == "#" or cut in edges:
                kept.append(cut)
                last = cut
                if dropped:
                    hidden[cut] = dropped
                    dropped = []
            else:
                dropped.append(cut)
        if dropped:
            hidden[end] = dropped
        return kept

    def _add_atom(
        self, out: _Atoms, end: int, tokens: int, level: int, inner: int
    ) -> None:
        out.ends.append(end)
        out.counts.append(tokens)
        out.levels.append(level)
        out.joins.append(
            self.additive and end < len(self.text) and _additive_join(self.text, end)
        )
        out.inner.append(inner)

    def _token_atoms(self, start: int, end: int, end_level: int, out: _Atoms) -> None:
        """Cut ``[start, end)``, which has no better boundary, at token boundaries."""
        text = self.text
        span = text[start:end]
        ids = self.tokenizer.encode(span)
        offsets = self._token_char_offsets(span, ids)
        a = start
        while a < end:
            k = bisect.bisect_right(offsets, a - start) - 1
            target = min(k + self.max, len(offsets) - 1)
            cut = self._token_cut(offsets, start, a, target, end)
            while (tokens := self.count(text[a:cut])) > self.max:
                if cut == a + 1:
                    raise SplitError(
                        f"the character {text[a]!r} at offset {a} needs {tokens} "
                        f"tokens, more than max_tokens={self.max}; raise max_tokens"
                    )
                target -= tokens - self.max
                shorter = self._token_cut(offsets, start, a, target, end)
                if target <= k or shorter >= cut:
                    shorter = _grapheme_floor(text, a, cut - 1)
                    if shorter <= a:
                        shorter = cut - 1
                cut = shorter
            boundary = end_level if cut == end else Level.GRAPHEME
            self._add_atom(out, cut, tokens, boundary, Level.GRAPHEME + 1)
            a = cut

    def _token_cut(
        self, offsets: Sequence[int], base: int, a: int, target: int, end: int
    ) -> int:
        """The cut for a piece from ``a`` ending near token boundary ``target``."""
        cut = min(max(base + offsets[max(target, 0)], a + 1), end)
        if cut == end:
            return end
        floor = _grapheme_floor(self.text, a, cut)
        # A grapheme cluster alone over the bound is cut between code points.
        return floor if floor > a else cut

    def _token_char_offsets(self, span: str, ids: list[int]) -> list[int]:
        """Character offsets in ``span`` of each token boundary.

        A boundary inside a UTF-8 sequence is moved to the end of that character.
        """
        if isinstance(self.tokenizer, TiktokenTokenizer):
            pieces = self.tokenizer.encoding.decode_tokens_bytes(ids)
        else:
            pieces = [self.tokenizer.decode([i]).encode("utf-8") for i in ids]
        if span.isascii():
            return [0, *accumulate(map(len, pieces))]
        starts = (len(p.translate(None, _CONTINUATION_BYTES)) for p in pieces)
        return [0, *accumulate(starts)]

    # -- packing ---------------------------------------------------------------------

    def _pack(self) -> list[Piece]:
        text, max_tokens = self.text, self.max
        atoms = self.atoms
        ends, counts = atoms.ends, atoms.counts
        levels, joins = atoms.levels, atoms.joins
        pieces: list[Piece] = []
        n = len(ends)
        i = 0
        start = 0
        half = (max_tokens + 1) // 2
        while i < n:
            total = 0
            k = i
            best = -1
            best_full = -1
            while k < n and total + counts[k] <= max_tokens:
                total += counts[k]
                k += 1
                if best < 0 or levels[k - 1] <= levels[best]:
                    best = k - 1
                if total >= half and (
                    best_full < 0 or levels[k - 1] <= levels[best_full]
                ):
                    best_full = k - 1
            if k < n and best_full < 0 and self._open(k):
                n = len(ends)
                continue
            last = n - 1 if k == n else (best_full if best_full >= 0 else best)
            while True:
                piece_text = text[start : ends[last]]
                if all(joins[i:last]):
                    tokens = sum(counts[i : last + 1])
                else:
                    tokens = self.count(piece_text)
                if tokens <= max_tokens or last == i:
                    break
                last -= 1
            pieces.append(Piece(piece_text, start, ends[last], tokens))
            start = ends[last]
            i = last + 1
        return pieces

    def _share_blanks(self, pieces: list[Piece]) -> list[Piece]:
        """Give every piece of whitespace alone some of a neighbour's text.

        Such a piece (the spaces after a full piece at the end of a text, or a space
        a token cut left over) carries nothing, and readers of chat messages drop a
        message that holds nothing else, so a chunk made of it would not survive a
        round trip. It joins the neighbour with content before it or after it or,
        where neither fits the bound, takes the last token with content of the piece
        before it (or the first of the piece after it). Only whitespace too long to
        share within the bound (and a piece amid a longer run of it) stays a piece
        of its own.
        """
        j = 0
        while j < len(pieces):
            if pieces[j].text.strip():
                j += 1
                continue
            before = pieces[j - 1] if j and pieces[j - 1].text.strip() else None
            after = pieces[j + 1] if j + 1 < len(pieces) else None
            if after is not None and not after.text.strip():
                after = None
            if before and (joined := self._piece(before.start, pieces[j].end)):
                pieces[j - 1 : j + 1] = [joined]
                continue
            if after and (joined := self._piece(pieces[j].start, after.end)):
                pieces[j : j + 2] = [joined]
            else:
                moved = before is not None and self._borrow(pieces, j - 1, j)
                if not moved and after is not None:
                    self._borrow(pieces, j, j + 1)
            j += 1
        return pieces

    def _borrow(self, pieces: list[Piece], i: int, k: int) -> bool:
        """Move the boundary between pieces ``i`` and ``k = i + 1`` into the donor.

        The donor is the one of the two with content. The boundary moves to the last
        token boundary of piece ``i`` that leaves content after it, or to the first
        of piece ``k`` that leaves content before it, and only if both pieces then
        hold content within the bound. Returns whether it moved.
        """
        text = self.text
        first, second = pieces[i], pieces[k]
        donor = first if first.text.strip() else second
        cuts = self._token_cuts(donor)
        if donor is first:
            cuts = [cut for cut in reversed(cuts) if text[cut : first.end].strip()]
        else:
            cuts = [cut for cut in cuts if text[second.start : cut].strip()]
        if not cuts:
            return False
        cut = cuts[0]
        if not (text[first.start : cut].strip() and text[cut : second.end].strip()):
            return False
        left = self._piece(first.start, cut)
        right = self._piece(cut, second.end)
        if left is None or right is None:
            return False
        pieces[i : k + 1] = [left, right]
        return True

    def _token_cuts(self, piece: Piece) -> list[int]:
        """The token boundaries inside ``piece``, in order (grapheme-cluster ones)."""
        span = piece.text
        offsets = self._token_char_offsets(span, self.tokenizer.encode(span))
        return [
            piece.start + offset
            for offset in offsets
            if 0 < offset < len(span)
            and _is_grapheme_boundary(self.text, piece.start + offset, piece.start)
        ]

    def _piece(self, start: int, end: int) -> Piece | None:
        """The piece ``text[start:end]``, or None if it is over the bound."""
        text = self.text[start:end]
        tokens = self.count(text)
        return Piece(text, start, end, tokens) if tokens <= self.max else None

    def _open(self, k: int) -> bool:
        """Replace atom ``k`` by the smaller atoms it can be cut into, if any."""
        atoms = self.atoms
        if atoms.inner[k] > Level.GRAPHEME:
            return False
        sub = _Atoms()
        start, end = atoms.ends[k - 1] if k else 0, atoms.ends[k]
        if atoms.inner[k] == Level.PARAGRAPH:
            cuts = self.coalesced.pop(end)
            self._emit(start, end, cuts, Level.PARAGRAPH, atoms.levels[k], sub, {})
        else:
            self._descend(start, end, atoms.inner[k], atoms.levels[k], sub)
        if len(sub.ends) == 1:
            atoms.inner[k] = Level.GRAPHEME + 1
            return False
        atoms.splice(k, sub)
        return True


def _soft_wrap(text: str, newline: int, after: int) -> bool:
    """Whether the line break at ``newline`` wraps a sentence rather than ending a line.

    Hard-wrapped prose breaks lines between two words of a sentence; such a break is
    a boundary no better than a space, while a line that ends with punctuation, or a
    next line that opens a list item, quote, table, code or speaker turn, is a line.
    """
    if newline == 0 or after >= len(text):
        return False
    before = text[newline - 1]
    return (
        (before.isalpha() or before == ",")
        and text[after].isalpha()
        and not _STRUCTURED_LINE.match(text, after)
    )


def _underlines(text: str, line_start: int, start: int) -> bool:
    """Whether the line at ``line_start`` directly follows a line of text."""
    if line_start <= start:
        return False
    previous = text[text.rfind("\n", start, line_start - 1) + 1 : line_start]
    return bool(previous.strip())


def _word_cut(gap: regex.Match[str]) -> int:
    """Where to cut a run of whitespace: after its last line break, else before it.

    Both places keep token counts additive (see ``_additive_join``).
    """
    run = gap.group()
    last = max(run.rfind("\n"), run.rfind("\r"))
    return int(gap.start()) if last < 0 else int(gap.start()) + last + 1


def _skip_blank_lines(text: str, at: int, end: int) -> int:
    """The offset past the blank lines that follow ``at`` (a block's edge).

    Taking them into the block puts the cut where counts add up: after a line break
    and before the next line's first non-space.
    """
    match = _BLANK_LINES.match(text, at, end)
    return int(match.end()) if match else at


def _line_end(text: str, at: int, end: int) -> int:
    """The offset just past the line break at or after ``at`` (or ``end``)."""
    newline = text.find("\n", at, end)
    return end if newline < 0 else newline + 1
