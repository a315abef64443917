"""Model presets: context sizes, counting encodings and Realtime audio token rates.

A :class:`ModelSpec` says how large a model's context window is, how many tokens it
may write in one response, which tiktoken encoding ctxchunk counts its text with, and,
for a Realtime model, how many tokens a second of audio costs. :func:`model_spec`
finds the preset for a model name or a dated snapshot of it, :func:`budget_for` turns
a preset into the budget a window should keep, and :func:`audio_tokens` prices the
audio a Realtime conversation item holds.

Every number comes from a page the provider publishes; each preset carries the
address in :attr:`ModelSpec.source`. The numbers were checked on 2026-11-29
(docs/models.md lists them with their sources).

Audio (OpenAI, "Managing costs", https://developers.openai.com/api/docs/guides/realtime-costs):
"Audio tokens in user messages are 1 token per 100 ms of audio, while audio tokens
in assistant messages are 1 token per 50ms of audio", so 10 tokens a second of user
audio and 20 a second of assistant audio.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

import attrs

from ctxchunk._checks import (
    check_int,
    check_meta_str,
    int_at_least,
    is_bool,
    meta_str_in,
)
from ctxchunk.exceptions import BudgetError, InvalidArgumentError, InvalidTypeError
from ctxchunk.roles import Role
from ctxchunk.tokens import ENCODINGS

__all__ = [
    "DEFAULT_RESERVE",
    "REALTIME_COSTS_URL",
    "ModelSpec",
    "audio_tokens",
    "budget_for",
    "known_models",
    "model_spec",
]

Provider = Literal["openai", "anthropic"]
_PROVIDERS: tuple[str, ...] = ("anthropic", "openai")

REALTIME_COSTS_URL = "https://developers.openai.com/api/docs/guides/realtime-costs"
"""OpenAI's Realtime "Managing costs" guide, which publishes the audio token rates:
1 token per 100 ms of user audio, 1 token per 50 ms of assistant audio."""

_USER_AUDIO_TOKENS_PER_SECOND = 10
_ASSISTANT_AUDIO_TOKENS_PER_SECOND = 20

DEFAULT_RESERVE = "max_output_tokens"
"""What :func:`budget_for` reserves for the reply when no ``reserve_output`` is given:
the model's whole ``max_output_tokens``. A context window holds the prompt and the
reply together, so reserving the largest reply the model may write means any reply
fits next to a window that is full to its budget."""


def _check_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_meta_str(attribute.name, value)
    if not value.strip():
        raise InvalidArgumentError(
            f"{attribute.name}={value!r} must not be empty; pass the model's API name"
        )


def _check_source(
    instance: object, attribute: attrs.Attribute[str], value: str
) -> None:
    check_meta_str(attribute.name, value)
    if not value.startswith("https://"):
        raise InvalidArgumentError(
            f"{attribute.name}={value!r:.80} must be the https:// address of the "
            f"published page the numbers come from"
        )


@attrs.frozen(slots=True)
class ModelSpec:
    """The published limits of one model, and how ctxchunk counts for it.

    Invariants, checked on construction:
    ``0 < max_output_tokens < context_window``; ``encoding`` is one ctxchunk loads
    offline; a Realtime model has both audio rates and any other model has neither.

    Attributes:
        name: The model's API name without a date (``"gpt-realtime"``).
        provider: ``"openai"`` or ``"anthropic"``.
        context_window: Tokens the model holds at once, prompt and reply together.
        max_output_tokens: The most tokens one response may hold.
        encoding: The tiktoken encoding ctxchunk counts text with. Exact for OpenAI
            models (``exact_count`` is True). Anthropic does not publish Claude's
            tokenizer, so for Claude models the count is o200k_base's, an
            approximation (``exact_count`` is False); leave headroom in the budget
            or count with Anthropic's token-counting endpoint.
        source: The address of the provider's page the numbers come from.
        realtime: Whether the model serves the Realtime API, where conversation
            items carry audio.
        input_audio_tokens_per_second: Tokens one second of user audio costs
            (Realtime models only).
        output_audio_tokens_per_second: Tokens one second of assistant audio costs
            (Realtime models only).
        exact_count: Whether ``encoding`` is the model's own tokenizer.

    >>> model_spec("gpt-realtime").context_window
    32000
    """

    name: str = attrs.field(validator=_check_name)
    provider: Provider = attrs.field(
        validator=meta_str_in(_PROVIDERS, "a provider ctxchunk knows")
    )
    context_window: int = attrs.field(validator=int_at_least(1))
    max_output_tokens: int = attrs.field(validator=int_at_least(1))
    encoding: str = attrs.field(
        validator=meta_str_in(ENCODINGS, "an encoding ctxchunk can load offline")
    )
    source: str = attrs.field(validator=_check_source)
    realtime: bool = attrs.field(default=False, validator=is_bool)
    input_audio_tokens_per_second: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(int_at_least(1))
    )
    output_audio_tokens_per_second: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(int_at_least(1))
    )
    exact_count: bool = attrs.field(default=True, validator=is_bool)

    def __attrs_post_init__(self) -> None:
        if self.max_output_tokens >= self.context_window:
            raise InvalidArgumentError(
                f"max_output_tokens={self.max_output_tokens} must be less than "
                f"context_window={self.context_window}: the reply shares the window "
                f"with the prompt"
            )
        rates = (
            self.input_audio_tokens_per_second,
            self.output_audio_tokens_per_second,
        )
        if self.realtime and None in rates:
            raise InvalidArgumentError(
                f"realtime model {self.name!r} needs input_audio_tokens_per_second and "
                f"output_audio_tokens_per_second; got {rates[0]!r} and {rates[1]!r}"
            )
        if not self.realtime and rates != (None, None):
            raise InvalidArgumentError(
                f"input_audio_tokens_per_second and output_audio_tokens_per_second are "
                f"for realtime models; {self.name!r} has realtime=False, so leave "
                f"them None"
            )


def _openai(
    name: str, context: int, output: int, source: str, *, realtime: bool = False
) -> ModelSpec:
    return ModelSpec(
        name=name,
        provider="openai",
        context_window=context,
        max_output_tokens=output,
        encoding="o200k_base",
        source=source,
        realtime=realtime,
        input_audio_tokens_per_second=(
            _USER_AUDIO_TOKENS_PER_SECOND if realtime else None
        ),
        output_audio_tokens_per_second=(
            _ASSISTANT_AUDIO_TOKENS_PER_SECOND if realtime else None
        ),
    )


def _claude(name: str, context: int, output: int, source: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        provider="anthropic",
        context_window=context,
        max_output_tokens=output,
        encoding="o200k_base",
        source=source,
        exact_count=False,
    )


_OPENAI_MODELS = "https://developers.openai.com/api/docs/models/"
_CLAUDE_MODELS = "https://platform.claude.com/docs/"

# Each row: the numbers exactly as the cited page states them ("200K" on Anthropic's
# pages is 200,000 tokens, "1M" is 1,000,000). Checked 2026-11-29.
_PRESETS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # -- OpenAI Realtime --------------------------------------------------------
        # OpenAI's cookbook (its Realtime context-summarization notebook, updated for
        # gpt-realtime in openai-cookbook PR 2141) gives the 32k window; the 4,096
        # output limit is the one OpenAI's model pages give the gpt-realtime family
        # (gpt-realtime-1.5, the same generation, states 32,000 / 4,096).
        _openai(
            "gpt-realtime",
            32_000,
            4_096,
            "https://github.com/openai/openai-cookbook/pull/2141",
            realtime=True,
        ),
        _openai(
            "gpt-realtime-1.5",
            32_000,
            4_096,
            _OPENAI_MODELS + "gpt-realtime-1.5",
            realtime=True,
        ),
        _openai(
            "gpt-realtime-2",
            128_000,
            32_000,
            _OPENAI_MODELS + "gpt-realtime-2",
            realtime=True,
        ),
        _openai(
            "gpt-realtime-2.1-mini",
            128_000,
            32_000,
            _OPENAI_MODELS + "gpt-realtime-2.1-mini",
            realtime=True,
        ),
        _openai(
            "gpt-4o-realtime-preview",
            32_000,
            4_096,
            _OPENAI_MODELS + "gpt-4o-realtime-preview",
            realtime=True,
        ),
        _openai(
            "gpt-4o-mini-realtime-preview",
            16_000,
            4_096,
            _OPENAI_MODELS + "gpt-4o-mini-realtime-preview",
            realtime=True,
        ),
        # -- OpenAI text ------------------------------------------------------------
        # OpenAI's own model pages for these were not in the reference store; the
        # figures are Vercel AI Gateway's, which links each to OpenAI's page and
        # matches it (gpt-4o-audio-preview's OpenAI page: 128,000 / 16,384).
        _openai(
            "gpt-4o", 128_000, 16_384, "https://vercel.com/ai-gateway/models/gpt-4o"
        ),
        _openai(
            "gpt-4o-mini",
            128_000,
            16_384,
            "https://vercel.com/ai-gateway/models/gpt-4o-mini-fast",
        ),
        _openai(
            "gpt-4.1",
            1_047_576,
            32_768,
            "https://vercel.com/ai-gateway/models/gpt-4.1-fast",
        ),
        _openai(
            "gpt-4.1-mini",
            1_047_576,
            32_768,
            "https://vercel.com/ai-gateway/models/gpt-4.1-mini-fast",
        ),
        _openai(
            "gpt-4.1-nano",
            1_047_576,
            32_768,
            "https://vercel.com/ai-gateway/models/gpt-4.1-nano-fast",
        ),
        _openai(
            "gpt-5", 400_000, 128_000, "https://vercel.com/ai-gateway/models/gpt-5-fast"
        ),
        _openai("o3", 200_000, 100_000, "https://vercel.com/ai-gateway/models/o3-fast"),
        _openai(
            "o4-mini", 200_000, 100_000, "https://vercel.com/ai-gateway/models/o4-mini"
        ),
        # -- Anthropic --------------------------------------------------------------
        _claude(
            "claude-haiku-4-5",
            200_000,
            64_000,
            _CLAUDE_MODELS + "zh-CN/models/haiku-4-5/overview",
        ),
        _claude(
            "claude-sonnet-4-5",
            200_000,
            64_000,
            _CLAUDE_MODELS + "zh-CN/models/sonnet-4-5/overview",
        ),
        _claude(
            "claude-opus-4-5",
            200_000,
            64_000,
            _CLAUDE_MODELS + "pt-BR/models/opus-4-5/overview",
        ),
        _claude(
            "claude-sonnet-5",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "zh-CN/models/sonnet-5/overview",
        ),
        _claude(
            "claude-sonnet-4-6",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "zh-CN/models/sonnet-4-6/overview",
        ),
        _claude(
            "claude-opus-4-8",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "de/models/opus-4-8/overview",
        ),
        _claude(
            "claude-opus-5",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "zh-CN/models/opus-5/overview",
        ),
        # The current Opus and Sonnet: their numbers are from the comparison table on
        # the Claude Haiku 5.5 page; the IDs follow the model pages' slugs
        # (models/opus-5-5, models/sonnet-5-5), as every other Claude ID here does.
        _claude(
            "claude-opus-5-5",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "en/models/haiku-5-5/overview",
        ),
        _claude(
            "claude-sonnet-5-5",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "en/models/haiku-5-5/overview",
        ),
        _claude(
            "claude-haiku-5-5",
            1_000_000,
            128_000,
            _CLAUDE_MODELS + "en/models/haiku-5-5/overview",
        ),
    )
}

# A dated snapshot: OpenAI writes -YYYY-MM-DD (gpt-4o-2024-08-06), Anthropic -YYYYMMDD
# (claude-haiku-4-5-20251001).
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")


def known_models() -> tuple[str, ...]:
    """Return the names :func:`model_spec` has presets for, sorted.

    >>> "gpt-realtime" in known_models()
    True
    """
    return tuple(sorted(_PRESETS))


def model_spec(name: str) -> ModelSpec:
    """Return the preset for a model name or a dated snapshot of it.

    A snapshot resolves to its model: ``"gpt-realtime-2025-08-28"`` to
    ``"gpt-realtime"``, ``"claude-haiku-4-5-20251001"`` to ``"claude-haiku-4-5"``.
    The preset's numbers are those the provider gives the model's current snapshot;
    an older snapshot may have had a smaller output limit.

    Args:
        name: The model's API name, exactly as sent to the provider.

    Returns:
        The model's :class:`ModelSpec`.

    Raises:
        InvalidTypeError: ``name`` is not a ``str``.
        InvalidArgumentError: no preset has that name; the message suggests the
            closest known names.

    >>> model_spec("gpt-4o-2024-08-06").name
    'gpt-4o'
    """
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"model name must be a str, got {type(name).__name__}: {name!r:.80}"
        )
    spec = _PRESETS.get(name) or _PRESETS.get(_SNAPSHOT.sub("", name))
    if spec is not None:
        return spec
    close = difflib.get_close_matches(name, known_models(), n=3, cutoff=0.6)
    hint = (
        f"did you mean {' or '.join(map(repr, close))}?"
        if close
        else f"known models: {', '.join(known_models())}"
    )
    raise InvalidArgumentError(
        f"unknown model name {name!r:.80}; {hint} For another model, build a "
        f"ModelSpec with its published limits"
    )


def _check_spec(spec: object) -> None:
    if not isinstance(spec, ModelSpec):
        raise InvalidTypeError(
            f"spec must be a ModelSpec, got {type(spec).__name__}: {spec!r:.80}; "
            f"get one with model_spec(name)"
        )


def audio_tokens(duration_ms: int, *, role: Role | str, spec: ModelSpec) -> int:
    """Return the audio tokens a Realtime conversation item of that duration costs.

    User audio costs ``spec.input_audio_tokens_per_second``, assistant audio
    ``spec.output_audio_tokens_per_second`` (10 and 20 for OpenAI's Realtime models,
    per :data:`REALTIME_COSTS_URL`). A partial token rounds up:
    ``ceil(duration_ms * rate / 1000)``, computed in integers. OpenAI does not
    publish how a fraction is billed, and rounding up means a window's budget never
    understates what the server holds.

    Args:
        duration_ms: The item's audio length in milliseconds.
        role: ``"user"`` for the user's speech, ``"assistant"`` for the model's.
        spec: A Realtime model's preset.

    Returns:
        The audio tokens, 0 for no audio.

    Raises:
        InvalidTypeError: ``duration_ms`` is not an ``int``, ``spec`` is not a
            ModelSpec, or ``role`` is not a role.
        InvalidArgumentError: ``duration_ms`` is negative, ``spec`` is not a
            Realtime model, or ``role`` is ``system`` or ``tool`` (they carry no
            audio).

    >>> audio_tokens(1_050, role="user", spec=model_spec("gpt-realtime"))
    11
    >>> audio_tokens(1_050, role="assistant", spec=model_spec("gpt-realtime"))
    21
    """
    check_int("duration_ms", duration_ms, 0)
    _check_spec(spec)
    if not spec.realtime:
        raise InvalidArgumentError(
            f"spec {spec.name!r} is not a Realtime model, so its items carry no "
            f"audio tokens; pass a Realtime model's spec, such as "
            f"model_spec('gpt-realtime')"
        )
    parsed = Role.parse(role)
    if parsed is Role.USER:
        rate = spec.input_audio_tokens_per_second
    elif parsed is Role.ASSISTANT:
        rate = spec.output_audio_tokens_per_second
    else:
        raise InvalidArgumentError(
            f"role={parsed.value!r} carries no audio in a Realtime conversation; "
            f"pass 'user' or 'assistant'"
        )
    assert rate is not None  # a realtime spec has both rates (checked on construction)
    return -(-duration_ms * rate // 1000)


def budget_for(spec: ModelSpec, *, reserve_output: int | None = None) -> int:
    """Return the token budget a window should keep for a model.

    The budget is ``spec.context_window - reserve_output``. By default
    (:data:`DEFAULT_RESERVE`) the whole ``spec.max_output_tokens`` is reserved, so
    the longest reply the model may write fits next to a full window.

    Args:
        spec: The model's preset.
        reserve_output: Tokens to keep free for the reply, from 0 to less than the
            context window; None reserves ``spec.max_output_tokens``.

    Returns:
        The budget, at least 1.

    Raises:
        InvalidTypeError: ``spec`` is not a ModelSpec, or ``reserve_output`` is
            neither None nor an ``int``.
        BudgetError: ``reserve_output`` is negative or leaves no room.

    >>> budget_for(model_spec("gpt-realtime"))
    27904
    >>> budget_for(model_spec("gpt-realtime"), reserve_output=1_000)
    31000
    """
    _check_spec(spec)
    if reserve_output is None:
        return spec.context_window - spec.max_output_tokens
    if isinstance(reserve_output, bool) or not isinstance(reserve_output, int):
        raise InvalidTypeError(
            f"reserve_output must be an int or None, got "
            f"{type(reserve_output).__name__}: {reserve_output!r:.80}"
        )
    if not 0 <= reserve_output < spec.context_window:
        raise BudgetError(
            f"reserve_output={reserve_output} must be from 0 to "
            f"{spec.context_window - 1} for {spec.name!r} (context window "
            f"{spec.context_window}), so that some budget is left"
        )
    return spec.context_window - reserve_output
