"""Tests for ctxchunk.split: bound, losslessness, boundaries, graphemes, errors."""

from __future__ import annotations

import base64
import random
import textwrap
import unicodedata
from pathlib import Path

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ctxchunk.exceptions import (
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    SplitError,
    UnknownTokenizerError,
)
from ctxchunk.split import (
    _WHITE_SPACE,
    Piece,
    _additive_join,
    split_text,
)
from ctxchunk.tokens import get_tokenizer

NEWER_LETTERS = [
    chr(code)
    for code in range(0x80, 0x40000)
    if unicodedata.category(chr(code)) == "Cn"
    and regex.match(r"[\p{L}\p{N}]", chr(code))
] or ["a"]
"""Letters and numbers to the ``regex`` module that Python's Unicode database does
not know (newer Unicode versions); ``["a"]`` if there are none."""

O200K = get_tokenizer("o200k_base")
CL100K = get_tokenizer("cl100k_base")
EXAMPLES = Path(__file__).parent.parent / "examples"
CLUSTER = regex.compile(r"\X", regex.DOTALL)

# Characters that exercise every branch of both pre-tokenizer patterns: letters of
# each case, digits, contractions, punctuation, slashes, every kind of whitespace,
# combining marks, CJK, emoji with ZWJ, regional indicators and a Prepend mark.
TRICKY = (
    "aZé1'./:,;!?-|#`~\"()"
    " \t\n\r\x0b\x0c\xa0\u2028\u3000\x1c"
    "\u0301\u0900\u093f\u094d\u0915\u0600"
    "我。！、"
    "\U0001f469\u200d\U0001f467\U0001f1eb\U0001f1f7\ufe0f"
)
tricky_text = st.text(alphabet=st.sampled_from(TRICKY), max_size=60)
any_text = st.text(max_size=400)
bounds = st.integers(min_value=4, max_value=80)


def check_pieces(text: str, pieces: list[Piece], max_tokens: int, tokenizer) -> None:
    """Assert every guarantee split_text makes about ``pieces``."""
    assert "".join(p.text for p in pieces) == text
    position = 0
    for piece in pieces:
        assert piece.start == position
        assert text[piece.start : piece.end] == piece.text
        assert 1 <= piece.tokens <= max_tokens
        assert tokenizer.count(piece.text) == piece.tokens
        position = piece.end
    assert position == len(text)


def cluster_ends(text: str) -> set[int]:
    ends, position = {0}, 0
    for cluster in CLUSTER.findall(text):
        position += len(cluster)
        ends.add(position)
    return ends


class TestProperties:
    @given(text=any_text, max_tokens=bounds)
    @example(text="", max_tokens=4)
    @example(text="\r\n\r\n", max_tokens=4)
    def test_bound_lossless_offsets_any_unicode(self, text, max_tokens):
        """Any Unicode text splits into exact, bounded, contiguous pieces."""
        check_pieces(text, split_text(text, max_tokens), max_tokens, O200K)

    @given(
        text=st.text(alphabet=st.sampled_from(TRICKY), max_size=300), max_tokens=bounds
    )
    def test_bound_lossless_tricky_text_both_encodings(self, text, max_tokens):
        """The guarantees hold for both encodings on text built to hit every join."""
        for tokenizer in (O200K, CL100K):
            pieces = split_text(text, max_tokens, tokenizer=tokenizer)
            check_pieces(text, pieces, max_tokens, tokenizer)

    @given(text=any_text, max_tokens=st.integers(1, 3))
    def test_tiny_bounds_fit_or_raise_split_error(self, text, max_tokens):
        """Below four tokens a bound is met, or a one-character SplitError is raised."""
        if any(O200K.count(ch) > max_tokens for ch in text):
            with pytest.raises(SplitError, match="raise max_tokens"):
                split_text(text, max_tokens)
        else:
            check_pieces(text, split_text(text, max_tokens), max_tokens, O200K)

    @given(text=any_text, max_tokens=bounds)
    def test_deterministic(self, text, max_tokens):
        """The same input always gives the same pieces."""
        assert split_text(text, max_tokens) == split_text(text, max_tokens)

    @given(
        text=st.text(alphabet=st.sampled_from(TRICKY), max_size=200), max_tokens=bounds
    )
    def test_never_cuts_inside_a_grapheme_cluster(self, text, max_tokens):
        """Cuts fall between grapheme clusters unless one cluster is over the bound."""
        ends = cluster_ends(text)
        oversized = [c for c in CLUSTER.findall(text) if O200K.count(c) > max_tokens]
        for piece in split_text(text, max_tokens):
            if piece.end not in ends:
                assert oversized, (piece, text)

    @settings(max_examples=3000)
    @given(left=tricky_text, right=tricky_text)
    def test_additive_join_rule_is_exact(self, left, right):
        """Wherever the splitter trusts a sum, the sum equals the recount."""
        text = left + right
        at = len(left)
        if 0 < at < len(text) and _additive_join(text, at):
            for tokenizer in (O200K, CL100K):
                whole = tokenizer.count(text)
                assert tokenizer.count(left) + tokenizer.count(right) == whole

    @settings(max_examples=500)
    @given(
        char=st.sampled_from(NEWER_LETTERS),
        right=st.sampled_from(["\n", "\r\n", "\n\n", "\n/"]).flatmap(
            lambda end: tricky_text.map(lambda rest: end + rest)
        ),
    )
    def test_additive_join_holds_for_letters_of_newer_unicode(self, char, right):
        """``_additive_join`` trusts a cut between a letter and a line end; the
        ``regex`` module calls letters some characters tiktoken's pre-tokenizer takes
        for unassigned (and so joins to the line end). The counts must add up
        anyway (they do by the byte-pair merges, not by the split)."""
        text = char + right
        if _additive_join(text, 1):
            for tokenizer in (O200K, CL100K):
                whole = tokenizer.count(text)
                assert tokenizer.count(char) + tokenizer.count(right) == whole

    def test_white_space_set_matches_tiktoken_pattern_class(self):
        """The splitter's whitespace set is exactly what ``\\s`` matches."""
        space = regex.compile(r"\s")
        expected = {chr(c) for c in range(0x110000) if space.match(chr(c))}
        assert expected == set(_WHITE_SPACE)


words = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
sentences = st.lists(words, min_size=1, max_size=8).map(lambda ws: " ".join(ws) + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
lines = st.lists(sentences, min_size=1, max_size=4).map(" ".join)
paragraphs_of_lines = st.lists(lines, min_size=1, max_size=4).map("\n".join)


class TestBoundaries:
    @given(
        paras=st.lists(paragraphs, min_size=1, max_size=12),
        max_tokens=st.integers(16, 120),
    )
    def test_prefers_paragraph_ends_in_back_half(self, paras, max_tokens):
        """A piece ends at a paragraph break whenever one leaves it half full."""
        text = "\n\n".join(paras)
        pieces = split_text(text, max_tokens)
        breaks = [m.end() for m in regex.finditer(r"\n\n", text)]
        for piece in pieces[:-1]:
            half_full_breaks = [
                b
                for b in breaks
                if piece.start < b <= piece.end
                and O200K.count(text[piece.start : b]) >= (max_tokens + 1) // 2
            ]
            if half_full_breaks:
                assert piece.end in breaks, (piece, half_full_breaks)

    def test_prefers_a_paragraph_end_hidden_by_a_short_paragraph(self):
        """Found by test_prefers_paragraph_ends_in_back_half in CI (seed-dependent)."""
        text = "\n\n".join(
            [
                "a a a a a aaaaaa. a a aaaaaa aaaaaa.",
                "a.",
                "a. a. a a a a a. a a a a aab aaaa aaaaaa aabbbd. a a a a aaaa aabf "
                "bbbd.",
            ]
        )
        assert O200K.count(text[:42]) >= 20  # the break at 42 leaves it half full
        assert split_text(text, 40)[0].end == 42

    @given(
        paras=st.lists(paragraphs_of_lines, min_size=1, max_size=10),
        max_tokens=st.integers(16, 120),
    )
    @example(
        paras=[
            "aab. aaaaaa. aaaaaa aaaaaa. a aaaa aahb aaaaaa aaaaaa aaaaaa. a a aab "
            "aaaa aaaa aaaa aaaaaa bbdcaa.\na aab.\na. a. a a a a aab aab aaaaaa "
            "aaaaaa. aab. a a a a a aaaaaa aaaaaa. a a a a aab aab aaaaaa."
        ],
        max_tokens=97,
    )
    @example(
        paras=[
            "a. a. a. a a a a aaaa aaaa aaaa aaaaaa.\na bba aaaaaa. a aaaaaa aaaaaa "
            "aaaaaa.",
            "a.\na. a a a a jg aaaaaa aaaaaa aabebc. aab aaaaaa. a a a a a aab aaaaaa.",
        ],
        max_tokens=37,
    )
    def test_prefers_line_ends_in_back_half(self, paras, max_tokens):
        """A piece ends at a blank line, else at a line break, whenever one leaves it
        half full, even when short paragraphs or lines share an atom."""
        text = "\n\n".join(paras)
        pieces = split_text(text, max_tokens)
        half = (max_tokens + 1) // 2
        for pattern in (r"\n\n", r"\n"):
            breaks = {m.end() for m in regex.finditer(pattern, text)}
            for piece in pieces[:-1]:
                half_full_breaks = [
                    b
                    for b in sorted(breaks)
                    if piece.start < b <= piece.end
                    and O200K.count(text[piece.start : b]) >= half
                ]
                if half_full_breaks:
                    assert piece.end in breaks, (pattern, piece, half_full_breaks)

    def test_an_opened_atom_keeps_its_paragraph_breaks(self):
        """When packing opens an atom that short paragraphs share, their breaks still
        rank above the line breaks inside it."""
        numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
        colours = ["red", "blue", "green", "gold", "pink", "yellow", "grey"]
        first = " ".join(f"Sentence number {n} is here." for n in [*numbers, "nine"])
        last_line = " ".join(f"Then line two says {c} things." for c in colours)
        text = (
            f"{first} More words.\n\nYes: 1, 2, 3\n\n"
            f"The first line of the last paragraph has a few words.\n{last_line}"
        )
        short_end = text.index("3\n\n") + 3
        line_end = text.index("words.\n") + 7
        # The short paragraph shares an atom with the last one (its 14 characters
        # are under the 15 of max_tokens // 8); that atom fits the bound alone but
        # not after the first paragraph, which leaves the piece under half full.
        assert O200K.count(text[: text.index("\n\n")]) < 60
        assert O200K.count(text[:short_end]) >= 60
        assert O200K.count(text[short_end:]) <= 120 < O200K.count(text)
        assert O200K.count(text[:line_end]) <= 120
        assert split_text(text, 120)[0].end == short_end

    @given(
        paras=st.lists(paragraphs, min_size=1, max_size=12),
        max_tokens=st.integers(20, 120),
    )
    def test_pieces_are_at_least_half_full(self, paras, max_tokens):
        """Given small units, every piece but the last is at least half full."""
        text = "\n\n".join(paras)
        pieces = split_text(text, max_tokens)
        for piece in pieces[:-1]:
            assert piece.tokens >= max_tokens // 2, piece

    @given(
        paras=st.lists(paragraphs, min_size=2, max_size=8),
        max_tokens=st.integers(60, 200),
    )
    def test_code_fence_is_not_split_when_it_fits(self, paras, max_tokens):
        """A fenced block that fits the bound never has a cut inside it."""
        fence = "```python\ndef f(x):\n\n    return x + 1\n\n\nprint(f(2))\n```\n"
        middle = len(paras) // 2
        text = (
            "\n\n".join(paras[:middle])
            + "\n\n"
            + fence
            + "\n"
            + "\n\n".join(paras[middle:])
        )
        start = text.index("```")
        end = text.index("```\n", start + 3) + 4
        for piece in split_text(text, max_tokens):
            assert not start < piece.end < end

    def test_table_stays_whole(self):
        """A Markdown table that fits stays in one piece."""
        table = "| a | b |\n| --- | --- |\n" + "".join(
            f"| {i} | x |\n" for i in range(8)
        )
        text = "Intro sentence here.\n\n" * 6 + table + "\nAfter the table.\n" * 6
        start = text.index("| a")
        end = start + len(table)
        pieces = split_text(text, 60)
        assert not any(start < p.end < end for p in pieces)

    def test_heading_starts_a_piece(self):
        """A piece boundary falls before a Markdown heading rather than mid-section."""
        section = "Some words in a sentence. " * 12
        text = f"# One\n{section}\n## Two\n{section}\n## Three\n{section}"
        pieces = split_text(text, 100)
        assert [p.text.split("\n", 1)[0] for p in pieces] == [
            "# One",
            "## Two",
            "## Three",
        ]

    def test_sentence_marks_of_other_scripts(self):
        """CJK sentence marks are boundaries even without a following space."""
        text = "我们今天去公园。" * 50
        pieces = split_text(text, 30)
        assert all(p.text.endswith("。") for p in pieces)

    def test_hard_wrapped_prose_ends_at_sentences(self):
        """A long hard-wrapped paragraph is cut at sentence ends, not mid-sentence."""
        sentences = [
            f"Sentence number {i} says the quick brown fox jumps over the dog."
            for i in range(60)
        ]
        text = textwrap.fill(" ".join(sentences), width=70)
        pieces = split_text(text, 100)
        assert len(pieces) > 3
        ends = [p.text.rstrip()[-1] for p in pieces[:-1]]
        assert ends.count(".") >= len(ends) - 1


# Words and the whitespace between them, as in turns: a word may be several tokens
# (a URL) or one grapheme cluster of several tokens (a ZWJ emoji sequence).
BLANK_WORDS = [
    *("the", "naïve", "東京", "🙂", "👩\u200d💻", "don't", "3.14", "e.g.", "x" * 30),
    *("http://example.com/a?b=1", '{"k": [1, 2]}'),
]
blank_words = st.sampled_from(BLANK_WORDS)
blank_separators = st.sampled_from(
    [" ", ", ", ". ", "\n", "\n\n", "\t", "  ", "\r\n", " \u3000", "\xa0"]
)
spaced_words = st.tuples(
    st.sampled_from(["", " ", "\n", "  \n "]),
    st.lists(st.tuples(blank_words, blank_separators), min_size=1, max_size=40),
).map(lambda t: t[0] + "".join(word + space for word, space in t[1]))


class TestBlankPieces:
    @given(text=spaced_words, max_tokens=st.integers(8, 60))
    @example(
        text="\U0001f469\u200d\U0001f4bb, http://example.com/a?b=1, ", max_tokens=10
    )
    def test_every_piece_holds_content(self, text, max_tokens):
        """Between words, whitespace never makes a piece of its own: a chat reader
        would drop such a piece as a blank message."""
        pieces = split_text(text, max_tokens)
        check_pieces(text, pieces, max_tokens, O200K)
        assert all(piece.text.strip() for piece in pieces), pieces

    @given(
        text=st.text(alphabet=st.sampled_from(TRICKY), max_size=300), max_tokens=bounds
    )
    def test_a_blank_piece_is_one_no_neighbour_could_take(self, text, max_tokens):
        """A piece of whitespace alone is left only where joining a neighbour with
        content would put that over the bound (whitespace too long to share)."""
        pieces = split_text(text, max_tokens)
        check_pieces(text, pieces, max_tokens, O200K)
        for i, piece in enumerate(pieces):
            if piece.text.strip():
                continue
            for pair in (pieces[i - 1 : i + 1] if i else [], pieces[i : i + 2]):
                if len(pair) == 2 and (pair[0].text + pair[1].text).strip():
                    joined = pair[0].text + pair[1].text
                    assert O200K.count(joined) > max_tokens, pieces

    def test_trailing_space_after_a_full_piece_takes_a_token_along(self):
        """The space a full piece leaves takes that piece's last token with it."""
        text = "\U0001f469\u200d\U0001f4bb, http://example.com/a?b=1, "
        pieces = split_text(text, 10)
        assert [p.text for p in pieces][-2:] == [" http://example.com/a?b=1", ", "]

    def test_a_whitespace_run_over_the_bound_stays_lossless(self):
        """Whitespace too long to share is cut into pieces of its own, in bound."""
        text = "Hi." + " \n" * 60 + "Bye."
        pieces = split_text(text, 8)
        check_pieces(text, pieces, 8, O200K)
        assert not all(piece.text.strip() for piece in pieces)
        assert pieces[0].text.startswith("Hi.")
        assert pieces[-1].text.endswith("Bye.")


class TestEdgeCases:
    def test_empty_text(self):
        """Empty text gives no pieces."""
        assert split_text("") == []

    def test_one_character(self):
        """A single character is one piece."""
        assert split_text("x", 1) == [Piece("x", 0, 1, 1)]

    def test_text_that_fits_is_one_piece(self):
        """Text within the bound comes back whole."""
        text = "Hello there.\n\nGeneral Kenobi."
        assert split_text(text) == [Piece(text, 0, len(text), O200K.count(text))]

    def test_special_token_strings_are_text(self):
        """Special-token strings are split and counted as ordinary text."""
        text = "<|endoftext|> " * 200
        check_pieces(text, split_text(text, 16), 16, O200K)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("a" * 1_000_000, id="no-whitespace"),
            pytest.param(
                base64.b64encode(random.Random(7).randbytes(300_000)).decode(),
                id="base64",
            ),
            pytest.param('{"key":[1,2,3],"value":"x"}' * 20_000, id="minified-json"),
            pytest.param("\U0001f600" * 100_000, id="emoji-line"),
            pytest.param("\U0001f469\u200d\U0001f467" * 20_000, id="zwj-sequences"),
            pytest.param("a" + "\u0301" * 3000, id="one-huge-cluster"),
        ],
    )
    def test_pathological_input_stays_in_bound(self, text):
        """Text without usable boundaries is still cut within the bound, losslessly."""
        for max_tokens in (512, 2000):
            check_pieces(text, split_text(text, max_tokens), max_tokens, O200K)

    def test_five_megabytes_without_whitespace(self):
        """A 5 MB string with no whitespace is split within the bound."""
        text = "abcdefghij" * 500_000
        pieces = split_text(text, 2000)
        assert "".join(p.text for p in pieces) == text
        assert max(p.tokens for p in pieces) <= 2000

    def test_character_over_bound_is_an_error(self):
        """A character needing more tokens than the bound raises SplitError."""
        char = next(c for c in "\U0001f9ec\U00013000\u4dff" if O200K.count(c) > 1)
        with pytest.raises(SplitError, match="max_tokens=1"):
            split_text(char * 3, 1)


class TestErrors:
    @pytest.mark.parametrize("max_tokens", [0, -5])
    def test_max_tokens_below_one(self, max_tokens):
        """A bound below 1 is rejected with the value in the message."""
        with pytest.raises(InvalidArgumentError, match=f"max_tokens={max_tokens}"):
            split_text("text", max_tokens)

    @pytest.mark.parametrize("max_tokens", [1.5, "10", True, None])
    def test_max_tokens_wrong_type(self, max_tokens):
        """A non-int bound is a type error."""
        with pytest.raises(InvalidTypeError, match="max_tokens"):
            split_text("text", max_tokens)

    @pytest.mark.parametrize("text", [b"bytes", None, 3, ["list"]])
    def test_text_wrong_type(self, text):
        """Only str is accepted as text."""
        with pytest.raises(InvalidTypeError, match="text must be a str"):
            split_text(text)

    def test_unknown_tokenizer(self):
        """An unknown tokenizer name is a lookup error naming it."""
        with pytest.raises(UnknownTokenizerError, match="nope"):
            split_text("text", tokenizer="nope")

    def test_lone_surrogate(self):
        """A lone surrogate is reported by ctxchunk, not deep inside tiktoken."""
        with pytest.raises(CtxChunkError, match="surrogate"):
            split_text("ok \ud800 ok", 10)


class TestCustomTokenizer:
    def test_non_additive_tokenizer_is_recounted(self):
        """A tokenizer ctxchunk knows nothing about still gets exact, bounded pieces."""

        class CharTokenizer:
            name = "chars"

            def encode(self, text: str) -> list[int]:
                return [ord(c) for c in text]

            def decode(self, ids) -> str:
                return "".join(map(chr, ids))

            def count(self, text: str) -> int:
                return len(text)

        tokenizer = CharTokenizer()
        text = "Para one is here.\n\nPara two, with a clause. And more words here."
        pieces = split_text(text, 20, tokenizer=tokenizer)
        check_pieces(text, pieces, 20, tokenizer)


class TestRealFiles:
    @pytest.mark.parametrize(
        "path",
        sorted(p for p in EXAMPLES.glob("texts/*") if p.name != "README.md"),
        ids=lambda p: p.name,
    )
    @pytest.mark.parametrize("max_tokens", [128, 512, 2000])
    def test_real_files(self, path, max_tokens):
        """Real prose, Markdown and transcripts split within the bound, losslessly."""
        text = path.read_text(encoding="utf-8")
        pieces = split_text(text, max_tokens)
        check_pieces(text, pieces, max_tokens, O200K)
        if len(pieces) > 2:
            mean = sum(p.tokens for p in pieces[:-1]) / (len(pieces) - 1)
            assert mean >= 0.6 * max_tokens


class TestBlocks:
    def test_unclosed_fence_runs_to_the_end(self):
        """An unclosed fence protects everything after it, unless that alone is over."""
        text = "Intro words here.\n\n" * 10 + "```\ncode line\n\nmore code\n"
        start = text.index("```")
        pieces = split_text(text, 40)
        assert not any(start < p.end < len(text) for p in pieces)

    def test_deeply_indented_backticks_are_not_a_fence(self):
        """Backticks indented four spaces or more are code text, not a fence."""
        text = "Some prose here.\n\n    ```\n\nMore prose.\n\n" * 30
        check_pieces(text, split_text(text, 30), 30, O200K)

    def test_block_takes_following_blank_lines(self):
        """The cut after a code block falls after its blank lines, before the text."""
        text = ("Words and words.\n\n" * 8 + "```\nx = 1\n```\n\n\nNext part.\n") * 4
        for piece in split_text(text, 40)[:-1]:
            assert not piece.text.startswith("\n")


class TestDocumentConventions:
    def test_title_stays_with_its_underline(self):
        """A reStructuredText or setext title is never cut from its underline."""
        body = "A sentence of body text that goes on for a while.\n" * 3
        text = "".join(
            f"Title number {i}\n{'=~-'[i % 3] * 15}\n{body}" for i in range(30)
        )
        for piece in split_text(text, 60):
            first = piece.text.split("\n", 1)[0]
            assert not regex.fullmatch(r"([=~-])\1+", first), piece.text[:40]

    def test_tilde_underline_is_not_a_fence(self):
        """A line of tildes under a title does not protect the rest of the text."""
        text = "Title\n~~~~~\n\n" + "Plain paragraph of words here.\n\n" * 40
        pieces = split_text(text, 50)
        assert len(pieces) > 3
        assert all(p.tokens >= 25 for p in pieces[:-1])

    def test_grid_table_stays_whole(self):
        """A reStructuredText grid table that fits is not cut."""
        table = "+-----+-----+\n| a   | b   |\n+=====+=====+\n" + (
            "| 1   | x   |\n+-----+-----+\n" * 6
        )
        text = "Some words before.\n\n" * 8 + table + "\nSome words after.\n" * 8
        start, end = text.index("+---"), text.index("+---") + len(table)
        assert O200K.count(table) < 150
        assert not any(start < p.end < end for p in split_text(text, 150))

    def test_indented_lines_are_cut_before_the_break(self):
        """A line ending in a letter is cut before its break if the next is indented."""
        text = "".join(f"item {i} here\n    detail of item {i}\n" for i in range(60))
        pieces = split_text(text, 40)
        assert all(p.text.startswith(("\n", "item")) for p in pieces)
        check_pieces(text, pieces, 40, O200K)
