"""Model presets (ctxchunk.models): valid presets, snapshot names, suggestions,
audio token accounting and budgets."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.exceptions import (
    BudgetError,
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    RoleError,
)
from ctxchunk.models import (
    REALTIME_COSTS_URL,
    ModelSpec,
    audio_tokens,
    budget_for,
    known_models,
    model_spec,
)
from ctxchunk.roles import Role
from ctxchunk.tokens import encoding_for_model, get_tokenizer

PRESETS = [model_spec(name) for name in known_models()]
REALTIME = [spec for spec in PRESETS if spec.realtime]
TEXT_ONLY = [spec for spec in PRESETS if not spec.realtime]


def _spec(**changes: object) -> ModelSpec:
    fields: dict[str, object] = {
        "name": "m",
        "provider": "openai",
        "context_window": 1000,
        "max_output_tokens": 100,
        "encoding": "o200k_base",
        "source": "https://example.com/m",
    }
    fields.update(changes)
    return ModelSpec(**fields)  # type: ignore[arg-type]


# -- presets ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", PRESETS, ids=lambda spec: spec.name)
def test_every_preset_is_valid(spec):
    """Each preset has context > max output > 0, cites an https page, and its
    encoding loads offline and counts text."""
    assert spec.context_window > spec.max_output_tokens > 0
    assert spec.source.startswith("https://")
    assert spec.provider in ("openai", "anthropic")
    tokenizer = get_tokenizer(spec.encoding)
    assert tokenizer.name == spec.encoding
    assert tokenizer.count("Hello, world!") == 4
    assert attrs.evolve(spec) == spec


def test_known_models_is_sorted_and_complete():
    """known_models() lists every preset once, sorted, each under its own name."""
    names = known_models()
    assert list(names) == sorted(set(names))
    assert all(model_spec(name).name == name for name in names)
    assert {"gpt-realtime", "gpt-4o", "claude-sonnet-4-5"} <= set(names)


def test_openai_presets_count_exactly_and_claude_ones_approximately():
    """OpenAI models count with their own encoding; Claude's tokenizer is not
    public, so Claude presets say their count is an approximation."""
    for spec in PRESETS:
        if spec.provider == "openai":
            assert spec.exact_count
            assert spec.encoding == "o200k_base"
        else:
            assert not spec.exact_count


def test_openai_encodings_agree_with_the_model_table():
    """An OpenAI preset counts with the encoding ctxchunk.tokens (after tiktoken's
    model table) maps its name and its snapshots to."""
    for spec in PRESETS:
        if spec.provider == "openai":
            assert encoding_for_model(spec.name) == spec.encoding
            assert encoding_for_model(f"{spec.name}-2025-01-01") == spec.encoding


def test_realtime_presets_carry_the_published_audio_rates():
    """Every Realtime preset costs 10 tokens a second of user audio and 20 of
    assistant audio (1 per 100 ms and 1 per 50 ms, OpenAI's Realtime cost guide)."""
    assert {spec.name for spec in REALTIME} >= {
        "gpt-realtime",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-realtime-preview",
    }
    for spec in REALTIME:
        assert spec.input_audio_tokens_per_second == 10
        assert spec.output_audio_tokens_per_second == 20
    assert REALTIME_COSTS_URL.startswith("https://developers.openai.com/")


def test_published_numbers():
    """A few presets hold exactly the numbers their pages state."""
    assert model_spec("gpt-realtime").context_window == 32_000
    assert model_spec("gpt-realtime").max_output_tokens == 4_096
    assert model_spec("gpt-realtime-2").context_window == 128_000
    assert model_spec("gpt-4o-mini-realtime-preview").context_window == 16_000
    assert model_spec("gpt-4.1").context_window == 1_047_576
    assert model_spec("claude-haiku-4-5").max_output_tokens == 64_000


# -- model_spec ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-realtime", "gpt-realtime"),
        ("gpt-realtime-2025-08-28", "gpt-realtime"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-realtime-preview-2024-12-17", "gpt-4o-realtime-preview"),
        ("gpt-4o-mini-realtime-preview-2024-12-17", "gpt-4o-mini-realtime-preview"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("o3-2025-04-16", "o3"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ],
)
def test_snapshots_resolve_to_their_model(name, expected):
    """A dated snapshot resolves to the preset of its model."""
    assert model_spec(name) is model_spec(expected)


@given(st.sampled_from(known_models()), st.dates())
def test_any_date_suffix_resolves(name, date):
    """Any OpenAI-style or Anthropic-style date suffix resolves to the model."""
    assert model_spec(f"{name}-{date.isoformat()}").name == name
    compact = f"{date.year:04d}{date.month:02d}{date.day:02d}"
    assert model_spec(f"{name}-{compact}").name == name


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("gpt-realtme", "gpt-realtime"),
        ("gpt4o", "gpt-4o"),
        ("claude-sonnet-4.5", "claude-sonnet-4-5"),
    ],
)
def test_unknown_names_suggest_close_ones(name, suggested):
    """An unknown name raises InvalidArgumentError naming the closest presets."""
    with pytest.raises(InvalidArgumentError, match="did you mean") as info:
        model_spec(name)
    assert repr(suggested) in str(info.value)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["", "llama", "gpt-4o-extra", "gpt-4o-2024-8-6"])
def test_unknown_names_raise(name):
    """Names that are neither a preset nor a dated snapshot of one are refused."""
    with pytest.raises(InvalidArgumentError, match="unknown model name"):
        model_spec(name)


@pytest.mark.parametrize("value", [None, 7, b"gpt-4o", ["gpt-4o"]])
def test_model_spec_refuses_non_str(value):
    """A name that is not a str is an InvalidTypeError."""
    with pytest.raises(InvalidTypeError, match="model name must be a str"):
        model_spec(value)


# -- ModelSpec validation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "word"),
    [
        ({"name": ""}, InvalidArgumentError, "name"),
        ({"name": 3}, InvalidTypeError, "name"),
        ({"name": "m\ud800"}, InvalidArgumentError, "surrogate"),
        ({"provider": "google"}, InvalidArgumentError, "provider"),
        ({"context_window": 0}, InvalidArgumentError, "context_window"),
        ({"context_window": 1.5}, InvalidTypeError, "context_window"),
        ({"max_output_tokens": True}, InvalidTypeError, "max_output_tokens"),
        ({"max_output_tokens": 1000}, InvalidArgumentError, "less than"),
        ({"encoding": "p50k_base"}, InvalidArgumentError, "encoding"),
        ({"source": "example.com"}, InvalidArgumentError, "source"),
        ({"realtime": 1}, InvalidTypeError, "realtime"),
        ({"realtime": True}, InvalidArgumentError, "audio_tokens_per_second"),
        (
            {"realtime": True, "input_audio_tokens_per_second": 10},
            InvalidArgumentError,
            "output_audio_tokens_per_second",
        ),
        ({"input_audio_tokens_per_second": 10}, InvalidArgumentError, "realtime"),
        (
            {
                "realtime": True,
                "input_audio_tokens_per_second": 0,
                "output_audio_tokens_per_second": 20,
            },
            InvalidArgumentError,
            "input_audio_tokens_per_second",
        ),
        ({"exact_count": "yes"}, InvalidTypeError, "exact_count"),
    ],
)
def test_model_spec_rejects_invalid_fields(changes, error, word):
    """Each broken invariant raises a ctxchunk error naming the field."""
    with pytest.raises(error, match=word):
        _spec(**changes)


def test_model_spec_is_frozen():
    """A preset cannot be changed in place."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        model_spec("gpt-4o").context_window = 1  # type: ignore[misc]


# -- audio_tokens -------------------------------------------------------------------

durations = st.integers(min_value=0, max_value=10**9)
audio_roles = st.sampled_from(["user", "assistant", Role.USER, Role.ASSISTANT])
realtime_specs = st.sampled_from(REALTIME)


@given(durations, durations, audio_roles, realtime_specs)
def test_audio_tokens_is_monotone(a, b, role, spec):
    """Longer audio never costs fewer tokens."""
    low, high = sorted((a, b))
    assert audio_tokens(low, role=role, spec=spec) <= audio_tokens(
        high, role=role, spec=spec
    )


@given(durations, audio_roles, realtime_specs)
def test_audio_tokens_rounds_partial_tokens_up(duration_ms, role, spec):
    """The cost is ceil(duration_ms * rate / 1000): never below the exact share,
    and less than one token above it."""
    parsed = Role.parse(role)
    rate = (
        spec.input_audio_tokens_per_second
        if parsed is Role.USER
        else spec.output_audio_tokens_per_second
    )
    tokens = audio_tokens(duration_ms, role=role, spec=spec)
    assert tokens * 1000 >= duration_ms * rate > (tokens - 1) * 1000
    assert tokens == math.ceil(duration_ms * rate / 1000)


@given(st.integers(min_value=0, max_value=10**6), realtime_specs)
def test_assistant_audio_costs_twice_user_audio_per_whole_token(seconds, spec):
    """Whole seconds cost exactly 10 tokens of user audio and 20 of assistant audio,
    and one more millisecond costs one more token."""
    ms = seconds * 1000
    assert audio_tokens(ms, role="user", spec=spec) == 10 * seconds
    assert audio_tokens(ms, role="assistant", spec=spec) == 20 * seconds
    assert audio_tokens(ms + 1, role="user", spec=spec) == 10 * seconds + 1
    assert audio_tokens(ms + 1, role="assistant", spec=spec) == 20 * seconds + 1


def test_audio_tokens_examples():
    """The published rates: 1 token per 100 ms of user audio, 1 per 50 ms of
    assistant audio."""
    spec = model_spec("gpt-realtime")
    assert audio_tokens(0, role="user", spec=spec) == 0
    assert audio_tokens(100, role="user", spec=spec) == 1
    assert audio_tokens(101, role="user", spec=spec) == 2
    assert audio_tokens(50, role="assistant", spec=spec) == 1
    assert audio_tokens(51, role="assistant", spec=spec) == 2
    assert audio_tokens(60_000, role="user", spec=spec) == 600
    assert audio_tokens(60_000, role="assistant", spec=spec) == 1_200


@pytest.mark.parametrize("duration", [-1, -1000])
def test_audio_tokens_refuses_negative_durations(duration):
    """A negative duration is an InvalidArgumentError naming duration_ms."""
    with pytest.raises(InvalidArgumentError, match="duration_ms"):
        audio_tokens(duration, role="user", spec=model_spec("gpt-realtime"))


@pytest.mark.parametrize("duration", [1.5, 100.0, True, "100", None])
def test_audio_tokens_refuses_non_int_durations(duration):
    """A duration that is not an int is an InvalidTypeError naming duration_ms."""
    with pytest.raises(InvalidTypeError, match="duration_ms"):
        audio_tokens(duration, role="user", spec=model_spec("gpt-realtime"))


@pytest.mark.parametrize("spec", TEXT_ONLY, ids=lambda spec: spec.name)
def test_audio_tokens_refuses_text_models(spec):
    """Only a Realtime model's items carry audio tokens."""
    with pytest.raises(InvalidArgumentError, match="not a Realtime model"):
        audio_tokens(1000, role="user", spec=spec)


@pytest.mark.parametrize("role", ["system", "developer", "tool", Role.TOOL])
def test_audio_tokens_refuses_roles_without_audio(role):
    """System and tool items carry no audio."""
    with pytest.raises(InvalidArgumentError, match="carries no audio"):
        audio_tokens(1000, role=role, spec=model_spec("gpt-realtime"))


def test_audio_tokens_refuses_bad_role_and_spec():
    """An unknown role or a spec that is not a ModelSpec is a ctxchunk error."""
    spec = model_spec("gpt-realtime")
    with pytest.raises(RoleError):
        audio_tokens(1000, role="speaker", spec=spec)
    with pytest.raises(InvalidTypeError):
        audio_tokens(1000, role=3, spec=spec)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="ModelSpec"):
        audio_tokens(1000, role="user", spec="gpt-realtime")  # type: ignore[arg-type]


# -- budget_for ---------------------------------------------------------------------


@pytest.mark.parametrize("spec", PRESETS, ids=lambda spec: spec.name)
def test_default_budget_reserves_the_max_output(spec):
    """By default the budget leaves room for the longest reply."""
    budget = budget_for(spec)
    assert budget == spec.context_window - spec.max_output_tokens
    assert budget >= 1


@given(realtime_specs | st.sampled_from(TEXT_ONLY), st.data())
def test_budget_plus_reserve_is_the_context_window(spec, data):
    """Any reserve from 0 to below the window leaves the rest as budget."""
    reserve = data.draw(st.integers(min_value=0, max_value=spec.context_window - 1))
    assert budget_for(spec, reserve_output=reserve) + reserve == spec.context_window


@pytest.mark.parametrize("reserve", [-1, 32_000, 10**9])
def test_budget_refuses_reserves_that_leave_nothing(reserve):
    """A negative reserve, or one that fills the window, is a BudgetError."""
    with pytest.raises(BudgetError, match="reserve_output"):
        budget_for(model_spec("gpt-realtime"), reserve_output=reserve)


@pytest.mark.parametrize("reserve", [1.5, "100", True])
def test_budget_refuses_non_int_reserves(reserve):
    """A reserve that is neither None nor an int is an InvalidTypeError."""
    with pytest.raises(InvalidTypeError, match="reserve_output"):
        budget_for(model_spec("gpt-realtime"), reserve_output=reserve)


def test_budget_refuses_non_specs():
    """budget_for takes a ModelSpec, not a name."""
    with pytest.raises(CtxChunkError, match="ModelSpec"):
        budget_for("gpt-realtime")  # type: ignore[arg-type]


# -- docs ---------------------------------------------------------------------------


def test_docs_example_prints_what_the_page_says(capsys):
    """docs/models.md's example runs and prints the output shown under it."""
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "models.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    shown = re.findall(r"```text\n(.*?)```", page, re.S)[0]
    exec(compile(code, "docs/models.md", "exec"), {})
    assert capsys.readouterr().out == shown


def test_docs_table_lists_every_preset():
    """docs/models.md has a row for each preset, with its numbers and source."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "models.md").read_text()
    for spec in PRESETS:
        row = next(
            line for line in page.splitlines() if line.startswith(f"| `{spec.name}` |")
        )
        assert f"| {spec.context_window:,} | {spec.max_output_tokens:,} |" in row
        assert spec.source in row
