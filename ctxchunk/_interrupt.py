"""Where an interrupted assistant turn is cut: what the user heard of it.

Pure functions on text and timings; :meth:`ctxchunk.window.ContextWindow.interrupt`
applies the cut to the window's units. A turn may be split into parts, some already
archived: the cut is placed on the whole turn's text, so word timings and speaking
rates line up with what was said, and then mapped to the parts still in the window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError

__all__ = ["MS_PER_WORD", "Words", "cut_parts", "heard_chars"]

MS_PER_WORD = 400
"""Speaking time per word assumed when an interrupted turn has neither word timings nor
a duration: 150 words a minute, a common conversational speaking rate."""

Words = Sequence[Mapping[str, Any] | Sequence[Any]]
"""Word timings: ``{"word", "start_ms", "end_ms"}`` mappings or ``(word, start_ms,
end_ms)`` tuples, relative to the turn's start."""

_WORD = re.compile(r"\S+")


def cut_parts(
    texts: Mapping[int, str],
    live: Sequence[int],
    heard_ms: int,
    words: Words | None,
    duration: int | None,
) -> list[tuple[int, str | None]]:
    """Return, for each live part the cut reaches, the text kept (None: none of it).

    Args:
        texts: The text of every part of the turn, archived ones included.
        live: The parts still in the window.
        heard_ms: How much of the turn's audio was played.
        words: Word timings, if known.
        duration: The turn's duration in milliseconds, if known.

    Returns:
        ``(part, kept)`` for each live part that loses text, in part order: ``kept``
        is the heard prefix of its text, or None when none of it was heard.
    """
    starts: dict[int, int] = {}
    offset = 0
    for part in sorted(texts):
        starts[part] = offset
        offset += len(texts[part])
    full = "".join(texts[part] for part in sorted(texts))
    # What was heard ends at a word: whitespace after it (a word timing may carry a
    # trailing space) stays with the unheard rest, so that no part keeps only
    # whitespace, which would read back as nothing.
    cut = len(full[: heard_chars(full, heard_ms, words, duration)].rstrip())
    plan: list[tuple[int, str | None]] = []
    for part in sorted(live):
        text = texts[part]
        start = starts[part]
        if cut >= len(full[: start + len(text)].rstrip()):
            continue
        plan.append((part, None if cut <= start else text[: cut - start]))
    return plan


def heard_chars(
    full: str, heard_ms: int, words: Words | None, duration: int | None
) -> int:
    """Return how many characters of ``full`` were heard in ``heard_ms``.

    With word timings, up to the end of the last word that ended by ``heard_ms``;
    otherwise the share of whole words the speaking rate allows: the turn's duration
    over its words, or :data:`MS_PER_WORD`.

    Raises:
        InvalidTypeError: ``words`` is not a list.
        InvalidArgumentError: a word is malformed, or not in the text in order.

    >>> heard_chars("One two three four.", 800, None, None)
    7
    >>> words = [("One", 0, 300), ("two", 300, 600)]
    >>> heard_chars("One two three four.", 500, words, None)
    3
    """
    if heard_ms == 0:
        return 0
    if words is not None:
        if isinstance(words, (str, bytes)):
            raise InvalidTypeError("words must be a list of word timings")
        cut = pos = 0
        for index, word in enumerate(words):
            text, end_ms = _word_timing(word, index)
            if end_ms > heard_ms:
                break
            found = full.find(text, pos)
            if found < 0:
                raise InvalidArgumentError(
                    f"words[{index}]={text!r:.40} is not in the turn's text after "
                    f"the words before it; give the turn's own words in order"
                )
            pos = cut = found + len(text)
        return cut
    spans = [m.end() for m in _WORD.finditer(full)]
    if not spans:
        return 0
    if duration is not None:
        if heard_ms >= duration:
            return len(full)
        heard = len(spans) * heard_ms // duration
    else:
        heard = heard_ms // MS_PER_WORD
    if heard >= len(spans):
        return len(full)
    return 0 if heard == 0 else spans[heard - 1]


def _word_timing(
    word: Mapping[str, Any] | Sequence[Any], index: int
) -> tuple[str, int]:
    if isinstance(word, Mapping):
        text = word.get("word", word.get("text"))
        end_ms = word.get("end_ms")
    elif isinstance(word, Sequence) and not isinstance(word, str) and len(word) == 3:
        text, _, end_ms = word
    else:
        text = end_ms = None
    if not isinstance(text, str) or not text or isinstance(end_ms, bool):
        raise InvalidArgumentError(
            f"words[{index}]={word!r:.80} must be {{'word', 'start_ms', 'end_ms'}} "
            f"or (word, start_ms, end_ms)"
        )
    if not isinstance(end_ms, int) or end_ms < 0:
        raise InvalidArgumentError(
            f"words[{index}] end_ms={end_ms!r:.40} must be an int of at least 0"
        )
    return text, end_ms
