"""Audio-aware accounting: a Realtime window counts server audio items by duration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError
from ctxchunk.models import audio_tokens, budget_for, model_spec
from ctxchunk.render import to_openai_chat
from ctxchunk.tokens import count_messages
from ctxchunk.window import ContextWindow
from tests.strategies import prose

REALTIME = model_spec("gpt-realtime")


def _audio_extra(window: ContextWindow) -> int:
    """What the window charges above the text rendering: audio minus text tokens."""
    extra = 0
    for chunk in window.chunks:
        meta = chunk.meta
        if (
            chunk.kind.value == "turn"
            and chunk.part == 0
            and meta.item_id is not None
            and meta.start_ms is not None
            and meta.end_ms is not None
        ):
            duration = meta.end_ms - meta.start_ms
            extra += audio_tokens(duration, role=chunk.role, spec=REALTIME)
            extra -= chunk.tokens
    return extra


def test_for_model_picks_budget_tokenizer_and_audio() -> None:
    window = ContextWindow.for_model("gpt-realtime-2025-08-28")
    assert window.budget == budget_for(REALTIME)
    assert window.tokenizer.name == REALTIME.encoding
    assert window.audio == REALTIME
    text = ContextWindow.for_model("gpt-4o", reserve_output=1000)
    assert text.audio is None
    assert text.budget == model_spec("gpt-4o").context_window - 1000
    with pytest.raises(InvalidArgumentError, match="budget"):
        ContextWindow.for_model("gpt-4o", budget=100)
    with pytest.raises(InvalidArgumentError, match="gpt"):
        ContextWindow.for_model("gpt-4-turbo-ultra")
    with pytest.raises(InvalidArgumentError, match="Realtime"):
        ContextWindow(1000, audio=model_spec("gpt-4o"))
    with pytest.raises(InvalidTypeError, match="audio"):
        ContextWindow(1000, audio="gpt-realtime")  # type: ignore[arg-type]


def test_a_user_audio_item_costs_its_duration() -> None:
    window = ContextWindow(4000, audio=REALTIME)
    text_only = ContextWindow(4000)
    for w in (window, text_only):
        w.add_turn("user", "Hi there.", item_id="item_1", start_ms=1000, end_ms=13_000)
    # 12 s of user audio at 10 tokens/s is 120 tokens, not the 3 of "Hi there."
    assert window.tokens - text_only.tokens == 120 - window.chunks[0].tokens
    # A text turn (no server item) counts as text in both.
    for w in (window, text_only):
        w.add_turn("user", "Typed text.")
    assert window.tokens - text_only.tokens == 120 - window.chunks[0].tokens


def test_an_interrupt_gives_back_the_audio_not_played() -> None:
    window = ContextWindow(4000, audio=REALTIME)
    words = " ".join(f"word{i}" for i in range(40))
    window.add_turn("assistant", words, item_id="item_a", start_ms=0, end_ms=16_000)
    before = window.tokens
    assert before >= 320  # 16 s of assistant audio at 20 tokens/s
    change = window.interrupt("item_a", 4000)
    assert change.truncated[0].audio_end_ms == 4000
    after_chunk = window.chunks[0]
    expected = audio_tokens(4000, role="assistant", spec=REALTIME)
    assert window.tokens == count_messages(
        to_openai_chat(window), model=window.tokenizer.name
    ) + (expected - after_chunk.tokens)
    window.check_valid()


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["user", "assistant"]),
            prose(max_words=60),
            st.integers(0, 30_000),
            st.booleans(),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from([800, 2_000, 8_000]),
)
def test_the_budget_holds_audio_and_text(
    turns: list[tuple[str, str, int, bool]], budget: int
) -> None:
    """tokens is the text rendering plus each audio item's audio-for-text swap."""
    window = ContextWindow(budget, audio=REALTIME, protect_recent_turns=1)
    clock = 0
    for index, (role, text, duration, server) in enumerate(turns):
        if server:
            window.add_turn(
                role,
                text,
                item_id=f"item_{index}",
                start_ms=clock,
                end_ms=clock + duration,
            )
        else:
            window.add_turn(role, text)
        clock += duration
        window.check_valid()
        rendered = count_messages(to_openai_chat(window), model=window.tokenizer.name)
        assert window.tokens == rendered + _audio_extra(window)
        assert window.tokens <= window.capacity


def test_the_audio_model_survives_a_round_trip() -> None:
    window = ContextWindow(4000, audio=REALTIME)
    window.add_turn("user", "Hello.", item_id="item_1", start_ms=0, end_ms=2500)
    again = ContextWindow.from_json(window.to_json())
    assert again.audio == REALTIME
    assert again.tokens == window.tokens
    assert again.to_json() == window.to_json()
