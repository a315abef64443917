"""Tests for ctxchunk._interrupt: where an interrupted turn is cut, part by part."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._interrupt import MS_PER_WORD, cut_parts
from ctxchunk.window import ContextWindow
from tests.strategies import prose


@st.composite
def cut_turns(draw: st.DrawFn) -> tuple[dict[int, str], list[int], list[tuple]]:
    """Draw a turn's text cut into parts anywhere, the parts still live, and word
    timings whose words carry the whitespace after them (as some speech-to-text
    services give them)."""
    text = draw(prose(max_words=30))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=6)))
    edges = [0, *(c for c in cuts if 0 < c < len(text)), len(text)]
    parts = {i: text[a:b] for i, (a, b) in enumerate(itertools.pairwise(edges))}
    live = sorted(draw(st.sets(st.sampled_from(sorted(parts)), min_size=1)))
    spoken = [m.group() for m in re.finditer(r"\S+\s*", text)]
    words = [(word, 100 * i, 100 * i + 100) for i, word in enumerate(spoken)]
    return parts, live, words


class TestCutParts:
    @given(cut_turns(), st.integers(1, 4000), st.booleans())
    def test_no_part_keeps_only_whitespace(self, turn, heard_ms, use_words):
        """A part the cut reaches keeps a prefix with content, or nothing at all."""
        parts, live, words = turn
        for part, kept in cut_parts(
            parts, live, heard_ms, words if use_words else None, None
        ):
            assert part in live
            if kept is not None:
                assert kept.strip()
                assert parts[part].startswith(kept)
                assert kept != parts[part]

    def test_a_trailing_space_is_not_kept(self):
        """Heard up to a word that carries a space: the next part keeps nothing."""
        parts = {0: "Sure thing,", 1: " the table is booked"}
        words = [("Sure ", 0, 100), ("thing, ", 100, 200), ("the ", 200, 300)]
        assert cut_parts(parts, [0, 1], 250, words, None) == [(1, None)]

    def test_speaking_rate_without_timings(self):
        """Without timings, each word takes MS_PER_WORD."""
        parts = {0: "One two", 1: " three four"}
        assert cut_parts(parts, [0, 1], 3 * MS_PER_WORD, None, None) == [(1, " three")]


class TestWindowInterrupt:
    def test_interrupted_turn_leaves_no_blank_part(self):
        """A word timing with a trailing space does not leave a part of whitespace
        alone in the window (it would render as a blank message)."""
        window = ContextWindow(500, chunk_tokens=4)
        text = "Sure thing, the table is booked for eight tonight."
        window.add_turn("assistant", text, id="a")
        assert [c.text for c in window.chunks][:2] == [
            "Sure thing,",
            " the table is booked",
        ]
        words = [("Sure ", 0, 100), ("thing, ", 100, 200), ("the ", 200, 300)]
        change = window.interrupt("a", 250, words=words)
        assert [c.text for c in window.chunks] == ["Sure thing,"]
        assert [e.chunk.text for e in change.evicted] == [
            " the table is booked",
            " for eight tonight.",
        ]
        window.check_valid()
