"""Replay a logged session through one window per policy, and measure what each did.

:func:`simulate` feeds every event of a :class:`~ctxchunk.session.Session` to one
:class:`~ctxchunk.window.ContextWindow` per policy and records, per policy:

- per-step series: tokens in the window, tokens evicted, history lost (by
  :attr:`ctxchunk.change.Change.lost_tokens`, so what a summary replaced, a cleared
  result or a masked part counts as much as an eviction), and on their own what was
  replaced, masked, capped and admitted, and tokens kept per role, after every event;
- the **cliff**: the most history lost in one step, in tokens and as a share of the
  history (everything unpinned, markers left out) the window held just before that
  step;
- **probe recall**: how many ``probe`` needles were still in the window's text, and
  **recoverable recall**: how many were in the window or in archived content that a
  marker in the window still names (so the model can read it back);
- **prompt-cache reuse**: at each ``request``, the longest token prefix the rendered
  request shares with the previous one, and the input cost with and without
  cached-input pricing (:class:`Prices`);
- how many operations evicted something, and how many OpenAI Realtime client events
  a live session would have been sent to stay in line with the window.

:class:`WholeUpdateBaseline` reproduces the failure ctxchunk exists to fix, so the
comparison shows it in numbers: each update is pushed whole, and when it does not fit,
everything older than it is dropped at once.

Results are plain attrs data with ``to_dict()`` for JSON, and deterministic: the same
session, policies and budget give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, count
from operator import is_not, itemgetter
from types import MappingProxyType
from typing import Any

import attrs

from ctxchunk._checks import check_bool, check_int
from ctxchunk._openai_chat import unit_messages
from ctxchunk.change import Change, Eviction, Reason
from ctxchunk.chunk import Chunk
from ctxchunk.documents import chunk_document
from ctxchunk.exceptions import (
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    SessionLogError,
)
from ctxchunk.policies import Policy, Recommended, WholeUpdateBaseline
from ctxchunk.render import count_realtime_events
from ctxchunk.roles import Role
from ctxchunk.session import (
    DocumentEvent,
    Event,
    InstructionsEvent,
    InterruptEvent,
    ProbeEvent,
    RequestEvent,
    Session,
    ToolCallEvent,
    TurnEvent,
)
from ctxchunk.split import DEFAULT_MAX_TOKENS
from ctxchunk.tokens import TiktokenTokenizer, Tokenizer, get_tokenizer
from ctxchunk.transcript import chunk_transcript

__all__ = [
    "DEFAULT_PRICES",
    "PolicyResult",
    "Prices",
    "ProbeResult",
    "RequestResult",
    "SimulationResult",
    "WholeUpdateBaseline",
    "default_chunk_tokens",
    "simulate",
]

_ROLES: tuple[str, ...] = tuple(role.value for role in Role)


@attrs.frozen(slots=True)
class Prices:
    """Text input prices of a model, in USD per 1M tokens, and its cache rules.

    Invariants: prices are at least 0; ``min_cached_tokens >= 0``;
    ``cache_increment >= 1``. A request's prefix is cached only once it is
    ``min_cached_tokens`` long, and then in whole multiples of ``cache_increment``
    counted from 0 (OpenAI: 1,024 and 128).

    Attributes:
        input_per_mtok: Uncached input tokens.
        cached_input_per_mtok: Cached input tokens.
        min_cached_tokens: The shortest prefix the provider caches.
        cache_increment: The granularity of a cache hit.
        source: Where the numbers come from.
    """

    input_per_mtok: float
    cached_input_per_mtok: float
    min_cached_tokens: int = 1024
    cache_increment: int = 128
    source: str = ""

    def __attrs_post_init__(self) -> None:
        if self.input_per_mtok < 0 or self.cached_input_per_mtok < 0:
            raise InvalidArgumentError(
                f"prices must be at least 0, got input_per_mtok="
                f"{self.input_per_mtok} and cached_input_per_mtok="
                f"{self.cached_input_per_mtok}"
            )
        if self.min_cached_tokens < 0 or self.cache_increment < 1:
            raise InvalidArgumentError(
                f"min_cached_tokens={self.min_cached_tokens} must be at least 0 and "
                f"cache_increment={self.cache_increment} at least 1"
            )

    def cached(self, shared_prefix: int) -> int:
        """Return how many tokens of a ``shared_prefix``-token prefix are billed cached.

        >>> Prices(4.0, 0.4).cached(1000), Prices(4.0, 0.4).cached(1300)
        (0, 1280)
        """
        if shared_prefix < self.min_cached_tokens:
            return 0
        return shared_prefix - shared_prefix % self.cache_increment

    def cost(self, tokens: int, cached: int = 0) -> float:
        """Return the input cost in USD of ``tokens`` tokens, ``cached`` of them cached.

        >>> round(Prices(4.0, 0.4).cost(2_000_000, 1_000_000), 6)
        4.4
        """
        return (
            (tokens - cached) * self.input_per_mtok
            + cached * self.cached_input_per_mtok
        ) / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return attrs.asdict(self)


_OPENAI_CACHE = (
    "cache rules: developers.openai.com/api/docs/guides/prompt-caching (prompts of "
    "1024 tokens or more) and the OpenAI cookbook's Prompt_Caching_201 (hits in "
    "increments of 128 tokens)"
)

DEFAULT_PRICES: Mapping[str, Prices] = MappingProxyType(
    {
        "gpt-realtime": Prices(
            4.00,
            0.40,
            source=(
                "developers.openai.com/api/docs/models/compare?model=gpt-realtime, "
                "text tokens: input $4.00, cached input $0.40 per 1M; " + _OPENAI_CACHE
            ),
        ),
        "gpt-4o": Prices(
            2.50,
            1.25,
            source=(
                "openai.com/api/pricing as quoted by the openai-models crate "
                "(docs.rs/crate/openai-models/0.1.1): input $2.50, cached input "
                "$1.25 per 1M; " + _OPENAI_CACHE
            ),
        ),
    }
)
"""Text input prices per model, in USD per 1M tokens, with where they were read.

Prices change: pass ``prices=`` to :func:`simulate` to use your own."""


@attrs.frozen(slots=True)
class ProbeResult:
    """Whether a probe's needle was in the window, or could be read back, when probed.

    Invariant: ``found`` implies ``recoverable``.

    Attributes:
        step: The index of the ``probe`` event.
        needle: The text looked for.
        introduced: The index of the event that brought the needle in.
        found: Whether the window's text held the needle.
        recoverable: Whether the needle was ``found``, or was in the archived text
            of a source that a marker in the window names (a chunk whose
            ``meta.marks`` is that source), so the model could read it back.
    """

    step: int
    needle: str
    introduced: int
    found: bool
    recoverable: bool

    def __attrs_post_init__(self) -> None:
        if self.found and not self.recoverable:
            raise InvalidArgumentError(
                f"probe at step {self.step}: found=True needs recoverable=True (a "
                f"needle in the window can always be read)"
            )


@attrs.frozen(slots=True)
class RequestResult:
    """One model call: its size, what it shared with the previous call, and its cost.

    Invariants: ``cached_tokens <= shared_prefix <= tokens``;
    ``cost_cached <= cost``.

    Attributes:
        step: The index of the ``request`` event.
        window_tokens: The window's exact rendered size (the API's prompt count).
        tokens: Tokens of the request's deterministic serialization, the sequence
            the prefix is measured on and the cost is computed from.
        shared_prefix: The longest token prefix shared with the previous request.
        cached_tokens: The part of ``shared_prefix`` billed as cached
            (:meth:`Prices.cached`).
        cost: Input cost in USD with no cache.
        cost_cached: Input cost in USD with cached-input pricing.
    """

    step: int
    window_tokens: int
    tokens: int
    shared_prefix: int
    cached_tokens: int
    cost: float
    cost_cached: float


def _ints(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@attrs.frozen(slots=True)
class PolicyResult:
    """What one policy did to one session.

    Series have one entry per session event, taken after the event was applied.
    The loss series follow :class:`~ctxchunk.change.Change`'s one definition, so
    ``masked_tokens <= lost_tokens`` and ``replaced_tokens <= lost_tokens`` at every
    step, and ``capped_tokens`` is never part of ``lost_tokens``.

    Attributes:
        name: The policy's name in the comparison.
        window_tokens: The window's rendered size.
        evicted_tokens: Tokens of the chunks that left the window in the step, for
            any reason (policy, masking, oversize, removal, interruption), and of
            the chunks a summary or a placeholder replaced, counted whole.
        lost_tokens: History lost in the step
            (:attr:`~ctxchunk.change.Change.lost_tokens`): everything that was in the
            window and left it (evicted, removed, cut by an interruption, masked
            behind a marker) plus what summaries and placeholders replaced net of
            the replacement; markers and capped parts of the update are left out.
        replaced_tokens: The part of ``lost_tokens`` that a summary or a cleared
            placeholder took away, net of the replacement.
        masked_tokens: The part of ``lost_tokens`` that left with a marker standing
            in its place (readable back with ``window.read``).
        capped_tokens: Tokens of the step's own update that went to the archive
            without being admitted (the window's admission cap); not history.
        admitted_tokens: Tokens of new content the step admitted (markers left out).
        history_tokens: Tokens of unpinned chunks in the window before the step,
            markers left out.
        role_tokens: For each role, tokens of its chunks in the window.
        cliff_tokens: ``max(lost_tokens)``.
        cliff_share: ``lost_tokens / history_tokens`` at the first step where
            ``lost_tokens`` is ``cliff_tokens`` (0 when nothing was lost; 1 when
            the window held no history then). It can pass 1 when the step also lost
            content it had itself admitted.
        cliff_step: That step's index, or -1 when nothing was lost.
        eviction_events: Steps where at least one chunk left the window (evicted,
            masked, capped or replaced).
        evicted_chunks: Chunks that left the window over the session, replaced
            ones included.
        realtime_events: OpenAI Realtime client events a live session would have
            been sent (:func:`ctxchunk.render.to_realtime_events` per step).
        probes: Each probe's outcome.
        requests: Each model call's size, cache reuse and cost.
    """

    name: str
    window_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    evicted_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    lost_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    replaced_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    masked_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    capped_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    admitted_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    history_tokens: tuple[int, ...] = attrs.field(converter=_ints)
    role_tokens: Mapping[str, tuple[int, ...]]
    cliff_tokens: int
    cliff_share: float
    cliff_step: int
    eviction_events: int
    evicted_chunks: int
    realtime_events: int
    probes: tuple[ProbeResult, ...]
    requests: tuple[RequestResult, ...]

    @property
    def probe_recall(self) -> float:
        """The share of probes whose needle was in the window (1.0 with no probes)."""
        if not self.probes:
            return 1.0
        return sum(p.found for p in self.probes) / len(self.probes)

    @property
    def recoverable_recall(self) -> float:
        """The share of probes whose needle was in the window or readable back.

        1.0 with no probes; never below :attr:`probe_recall`.
        """
        if not self.probes:
            return 1.0
        return sum(p.recoverable for p in self.probes) / len(self.probes)

    @property
    def cost(self) -> float:
        """Total input cost in USD over the session's requests, with no cache."""
        return sum(r.cost for r in self.requests)

    @property
    def cost_cached(self) -> float:
        """Total input cost in USD over the session's requests, with the cache."""
        return sum(r.cost_cached for r in self.requests)

    @property
    def cache_hit_rate(self) -> float:
        """Cached tokens over all request tokens (0.0 with no requests)."""
        total = sum(r.tokens for r in self.requests)
        return sum(r.cached_tokens for r in self.requests) / total if total else 0.0

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers, one comparison-table row."""
        return {
            "policy": self.name,
            "cliff_tokens": self.cliff_tokens,
            "cliff_share": round(self.cliff_share, 4),
            "probe_recall": round(self.probe_recall, 4),
            "recoverable_recall": round(self.recoverable_recall, 4),
            "probes_found": sum(p.found for p in self.probes),
            "probes_recoverable": sum(p.recoverable for p in self.probes),
            "probes": len(self.probes),
            "eviction_events": self.eviction_events,
            "evicted_chunks": self.evicted_chunks,
            "evicted_tokens": sum(self.evicted_tokens),
            "lost_tokens": sum(self.lost_tokens),
            "replaced_tokens": sum(self.replaced_tokens),
            "masked_tokens": sum(self.masked_tokens),
            "capped_tokens": sum(self.capped_tokens),
            "realtime_events": self.realtime_events,
            "requests": len(self.requests),
            "cache_hit_rate": round(self.cache_hit_rate, 4),
            "cost_usd": round(self.cost, 6),
            "cost_cached_usd": round(self.cost_cached, 6),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form: the summary plus every series."""
        return {
            **self.summary(),
            "cliff_step": self.cliff_step,
            "series": {
                "window_tokens": list(self.window_tokens),
                "evicted_tokens": list(self.evicted_tokens),
                "lost_tokens": list(self.lost_tokens),
                "replaced_tokens": list(self.replaced_tokens),
                "masked_tokens": list(self.masked_tokens),
                "capped_tokens": list(self.capped_tokens),
                "admitted_tokens": list(self.admitted_tokens),
                "history_tokens": list(self.history_tokens),
                "role_tokens": {k: list(v) for k, v in self.role_tokens.items()},
            },
            "probes": [attrs.asdict(p) for p in self.probes],
            "requests": [attrs.asdict(r) for r in self.requests],
        }


@attrs.frozen(slots=True)
class SimulationResult:
    """The comparison of several policies on one session.

    Attributes:
        session: The session's name.
        budget: The window budget every policy ran under.
        chunk_tokens: The chunk size (the baseline ignores it: it never chunks).
        model: The model whose prices were used.
        prices: Those prices.
        steps: The type of each session event, in order (the series' x axis).
        times_ms: The time of each session event.
        policies: One result per policy, in the order given.
    """

    session: str
    budget: int
    chunk_tokens: int
    model: str
    prices: Prices
    steps: tuple[str, ...]
    times_ms: tuple[int, ...]
    policies: tuple[PolicyResult, ...]

    def __getitem__(self, name: str) -> PolicyResult:
        for result in self.policies:
            if result.name == name:
                return result
        raise KeyError(name)

    def table(self) -> list[dict[str, Any]]:
        """Return one summary row per policy (:meth:`PolicyResult.summary`)."""
        return [result.summary() for result in self.policies]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form; ``json.dumps`` of it is deterministic."""
        return {
            "session": self.session,
            "budget": self.budget,
            "chunk_tokens": self.chunk_tokens,
            "model": self.model,
            "prices": self.prices.to_dict(),
            "steps": list(self.steps),
            "times_ms": list(self.times_ms),
            "policies": [result.to_dict() for result in self.policies],
        }


def policy_name(policy: object) -> str:
    """Return the name a policy is reported under: its ``str``, without a bare ``()``.

    >>> policy_name(WholeUpdateBaseline()), policy_name(Recommended())
    ('baseline', 'Recommended(retain=0.8, keep_tools=1, keep_head=0.25)')
    """
    text = str(policy)
    if text.startswith("<") or not text:
        return type(policy).__name__
    return text.removesuffix("()")


def default_chunk_tokens(budget: int) -> int:
    """Return the chunk size :func:`simulate` uses when none is given.

    2,000 tokens (:data:`~ctxchunk.split.DEFAULT_MAX_TOKENS`), or a quarter of the
    budget when that is smaller (at least 1): a chunk as large as the budget could
    never be admitted next to anything, and a quarter leaves room for the pins,
    the protected recent turns and the history an update slides past.

    >>> default_chunk_tokens(16_000), default_chunk_tokens(1_000)
    (2000, 250)
    """
    return max(1, min(DEFAULT_MAX_TOKENS, budget // 4))


def simulate(
    session: Session,
    policies: Sequence[Policy] | Mapping[str, Policy] = (),
    budget: int = 16_000,
    *,
    chunk_tokens: int | None = None,
    model: str = "gpt-realtime",
    prices: Prices | None = None,
    tokenizer: str | Tokenizer = "o200k_base",
    realtime: bool = True,
) -> SimulationResult:
    """Replay ``session`` through one window per policy and measure each.

    Args:
        session: The session to replay.
        policies: Policy objects (named by :func:`policy_name`) or a mapping from
            name to policy. Empty: ``WholeUpdateBaseline`` and the default policy,
            :class:`~ctxchunk.policies.Recommended`.
        budget: The window budget in tokens.
        chunk_tokens: The largest chunk an update is cut into; None for
            :func:`default_chunk_tokens` of the budget.
        model: The model whose :data:`DEFAULT_PRICES` apply (when ``prices`` is
            None) and whose chat format the window counts in.
        prices: Prices to use instead of the model's defaults.
        tokenizer: The tokenizer the windows count with.
        realtime: Whether to count the Realtime client events of each step
            (``realtime_events``). False leaves them 0 and every other figure as it
            is, about 2% faster, for a caller that reads only the others (a fleet
            worker summarizing a session, :func:`ctxchunk._aggregate.summarize`).

    Returns:
        The comparison.

    Raises:
        InvalidArgumentError: an unknown model with no ``prices``, or duplicate
            policy names.
        BudgetError: a budget or chunk size the window rejects.
        SessionLogError: the session does something the window rejects (the message
            names the event).
    """
    if not isinstance(session, Session):
        raise InvalidTypeError(
            f"session must be a Session, got {type(session).__name__}; read a log "
            f"with load_session(path)"
        )
    budget = check_int("budget", budget, 1)
    realtime = check_bool("realtime", realtime)
    if not isinstance(model, str):
        raise InvalidTypeError(
            f"model must be a model name (str), got {type(model).__name__}: "
            f"{model!r:.80}"
        )
    if prices is not None and not isinstance(prices, Prices):
        raise InvalidTypeError(
            f"prices must be a Prices or None, got {type(prices).__name__}: "
            f"{prices!r:.80}"
        )
    if prices is None:
        found = DEFAULT_PRICES.get(model)
        if found is None:
            raise InvalidArgumentError(
                f"no default prices for model={model!r}; pass prices=Prices(...) or "
                f"one of {sorted(DEFAULT_PRICES)}"
            )
        prices = found
    if chunk_tokens is None:
        chunk_tokens = default_chunk_tokens(budget)
    named = _named(policies)
    tok = _shared(get_tokenizer(tokenizer))
    # The policies render many of the same messages (every unit they all still
    # hold): tokenize each serialized message once per session, for all of them.
    encode = _memo(tok.encode)
    # The windows of policies that cut updates alike hold equal units: render each
    # distinct unit once per session, for all of them.
    rendered: dict[tuple[Chunk, ...], tuple[list[_Rendered], int]] = {}
    index_of = _index_of(session)
    words: dict[int, list[dict[str, Any]] | None] = {}
    windows = [_make_window(policy, budget, chunk_tokens, tok) for _, policy in named]
    # Every window cuts a turn that fits its smallest chunk size into that one same
    # chunk: cut it once for all of them.
    turns = documents = None
    if len(windows) > 1:
        turns = _turn_chunker(min(w.chunk_tokens for w in windows), tok)
        # Windows of one chunk size cut a page alike: cut it once per size.
        documents = _document_chunker(session, tok)
    try:
        results = tuple(
            _Replay(
                session,
                name,
                window,
                tok,
                prices,
                encode=encode,
                rendered=rendered,
                index_of=index_of,
                words=words,
                turns=turns,
                documents=documents,
                realtime=realtime,
            ).run()
            for (name, _), window in zip(named, windows, strict=True)
        )
    finally:
        if isinstance(tok, _SessionTokenizer):
            tok.release()
    return SimulationResult(
        session=session.name,
        budget=budget,
        chunk_tokens=chunk_tokens,
        model=model,
        prices=prices,
        steps=tuple(event.type for event in session.events),
        times_ms=tuple(event.t_ms for event in session.events),
        policies=results,
    )


def _index_of(session: Session) -> Callable[[int | str], int]:
    """Return :meth:`Session.index_of` of ``session``, an id found in one look.

    Every policy's replay looks up each probe's and interrupt's event: the ids are
    indexed once for all of them (the first event with an id, as ``index_of``
    finds it); indexes and unknown ids go to ``index_of`` itself.
    """
    ids: dict[str, int] = {}
    for index, event in enumerate(session.events):
        if event.id is not None:
            ids.setdefault(event.id, index)

    def index_of(ref: int | str) -> int:
        found = ids.get(ref) if isinstance(ref, str) else None
        return session.index_of(ref) if found is None else found

    return index_of


def _named(
    policies: Sequence[Policy] | Mapping[str, Policy],
) -> list[tuple[str, Policy]]:
    if isinstance(policies, Mapping):
        named = [(str(k), v) for k, v in policies.items()]
    else:
        if isinstance(policies, (str, bytes)) or not isinstance(policies, Iterable):
            raise InvalidTypeError(
                f"policies must be a list of policies or a mapping from name to "
                f"policy, got {type(policies).__name__}: {policies!r:.80}"
            )
        policies = tuple(policies)
        if not policies:
            policies = (WholeUpdateBaseline(), Recommended())
        named = [(policy_name(p), p) for p in policies]
    for name, policy in named:
        if not callable(getattr(policy, "make_room", None)):
            raise InvalidTypeError(
                f"policies[{name!r:.40}] must be a policy (an object with make_room), "
                f"got {type(policy).__name__}: {policy!r:.80}"
            )
    names = [name for name, _ in named]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgumentError(
            f"policy names must be unique, got {duplicates} more than once; pass a "
            f"mapping from name to policy"
        )
    return named


def _serialize(message: Mapping[str, Any]) -> str:
    return json.dumps(
        message, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Return the length of the longest common prefix of ``a`` and ``b``.

    Slices are compared in C and the first mismatch found by halving, so a long
    equal run costs a few list comparisons instead of a Python step per token.
    """
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    # Invariant: a[:lo] == b[:lo] and a[lo:hi] != b[lo:hi].
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


_Rendered = tuple[str, list[int]]
"""One request message: its :func:`_serialize` text and that text's tokens."""

_LOOKAHEAD = 8
"""How many of the last request's units past the last one found a unit is looked
for among (more were evicted between two requests: the unit is rendered again)."""

_UnitEntry = tuple[Sequence[Chunk], list[_Rendered], int]
"""One rendered unit: the sequence of chunks the window gave for it (kept so the
object, and so its id, stays alive), its messages, and their total tokens."""


def _flatten(messages: Sequence[_Rendered]) -> list[int]:
    return [token for _, tokens in messages for token in tokens]


def _shared_prefix(previous: Sequence[_Rendered], current: Sequence[_Rendered]) -> int:
    """Return the longest common token prefix of two requests' concatenated messages.

    Equal to ``_common_prefix(_flatten(previous), _flatten(current))``: messages with
    equal text have equal tokens, so they count whole, and only the first differing
    message is compared token by token (and the rest of both requests only when one
    of those two messages is a prefix of the other, so the match can run on).
    """
    shared = 0
    # Requests of different lengths: past the shorter one nothing more is shared.
    for index, (old, new) in enumerate(zip(previous, current, strict=False)):
        if old is new or old[0] == new[0]:
            shared += len(old[1])
            continue
        n = _common_prefix(old[1], new[1])
        if n < len(old[1]) and n < len(new[1]):
            return shared + n
        return shared + _common_prefix(
            _flatten(previous[index:]), _flatten(current[index:])
        )
    return shared


class _SessionTokenizer(TiktokenTokenizer):
    """A tiktoken tokenizer that remembers each text's tokens, for one session.

    Every policy's window cuts the same turns, pages and tool results, so all but
    the first tokenize texts already tokenized: sharing one of these among a
    session's windows tokenizes each text once. Counts and ids are the wrapped
    tokenizer's, exactly; only the work is shared. The memo lives as long as the
    session's replay (it goes with the windows), and the lists it hands out are
    never mutated by their readers (the splitter and the window only count and
    read them).
    """

    __slots__ = ("_cache",)

    def __init__(self, base: TiktokenTokenizer) -> None:
        super().__init__(base.encoding)
        self._cache: dict[str, list[int]] = {}
        self._encode = _memo(self._encode, self._cache)

    def release(self) -> None:
        """Forget every text, once the replay is over.

        A cache elsewhere may still hold this object, so the memo must not live as
        long as it does.
        """
        self._cache.clear()


def _shared(tokenizer: Tokenizer) -> Tokenizer:
    """Return a :class:`_SessionTokenizer` over ``tokenizer`` when it is tiktoken's."""
    if type(tokenizer) is TiktokenTokenizer:
        return _SessionTokenizer(tokenizer)
    return tokenizer


def _memo(
    encode: Callable[[str], list[int]], cache: dict[str, list[int]] | None = None
) -> Callable[[str], list[int]]:
    """Return ``encode`` remembering its result per text in ``cache``.

    Callers never mutate the lists it returns.
    """
    if cache is None:
        cache = {}

    def cached(text: str) -> list[int]:
        tokens = cache.get(text)
        if tokens is None:
            tokens = cache[text] = encode(text)
        return tokens

    return cached


def _entries_prefix(
    previous: Sequence[_UnitEntry],
    current: Sequence[_UnitEntry],
    start: int = 0,
    shared: int = 0,
) -> int:
    """Return the shared token prefix of two requests given as rendered units.

    Equal to :func:`_shared_prefix` of their messages: a unit entry that is the
    same object in both (the unit did not change) shares all its tokens, and from
    the first that is not, the rest is compared message by message. The caller
    may already know that the first ``start`` entries are the same objects in
    both, holding ``shared`` tokens.
    """
    for index in range(start, min(len(previous), len(current))):
        old = previous[index]
        if old is current[index]:
            shared += old[2]
            continue
        return shared + _shared_prefix(
            [m for entry in previous[index:] for m in entry[1]],
            [m for entry in current[index:] for m in entry[1]],
        )
    return shared


def _tokens_of(entries: Sequence[_UnitEntry], start: int, stop: int) -> int:
    """Return the tokens of ``entries[start:stop]`` (summed in C)."""
    if start >= stop:
        return 0
    return sum(map(itemgetter(2), entries[start:stop]))


def _same_run(a: list[Any], i: int, b: list[Any], j: int) -> int:
    """Return how many items from ``a[i]`` on are the very objects from ``b[j]`` on.

    Compared in C (``operator.is_not`` over the two slices), so a long run of
    units the window kept costs no Python step per unit.
    """
    if i >= len(a) or j >= len(b) or a[i] is not b[j]:
        return 0
    tail_a, tail_b = a[i:], b[j:]
    return next(
        compress(count(), map(is_not, tail_a, tail_b)), min(len(tail_a), len(tail_b))
    )


def _make_window(
    policy: Policy, budget: int, chunk_tokens: int, tokenizer: Tokenizer
) -> Any:
    # Imported here so that the session format and the metrics load on their own.
    from ctxchunk.window import ContextWindow

    if isinstance(policy, WholeUpdateBaseline):
        # Chunks as large as the window accepts (half its room: a full chunk must
        # fit beside some history), no admission cap and no protected turns: as
        # close to pushing updates whole as a ContextWindow goes.
        return ContextWindow(
            budget,
            policy=policy,
            chunk_tokens=budget // 2,
            tokenizer=tokenizer,
            protect_recent_turns=0,
            max_update_tokens=budget,
        )
    return ContextWindow(
        budget, policy=policy, chunk_tokens=chunk_tokens, tokenizer=tokenizer
    )


_TurnChunker = Callable[
    [int, TurnEvent, "int | None", "int | None"], "list[Chunk] | None"
]
"""Gives the chunks of the turn at an event index (with its ``start_ms`` and
``end_ms``) to add with ``add_chunks``, or None for ``add_turn``."""


def _turn_chunker(chunk_tokens: int, tokenizer: Tokenizer) -> _TurnChunker:
    """Return a :data:`_TurnChunker` that cuts each turn once for several windows.

    For windows whose chunk size is ``chunk_tokens`` or more, sharing
    ``tokenizer``. ``window.add_chunks(chunks)`` does exactly what
    ``window.add_turn(...)`` does when ``chunks`` is what ``add_turn`` would cut and
    there is one of them: ``add_turn`` cuts the turn with ``chunk_transcript`` at
    the window's chunk size and tokenizer, and moves the window's turn counter on
    by the number of chunks, ``add_chunks`` by one. A turn that fits in one chunk
    of ``chunk_tokens`` is that one chunk at any larger size too, and a turn with an
    ``id`` is cut the same in every window (its source is the id, not the
    counter). So only such a turn, cut into one chunk, is given; any other (a turn
    with no id, a longer turn, one the cut rejects, whose error ``add_turn`` then
    reports) goes to ``add_turn``. Each window re-counts the chunk with the shared
    tokenizer: a look-up in its memo.
    """
    cut: dict[int, list[Chunk] | None] = {}

    def chunks(
        index: int, event: TurnEvent, start_ms: int | None, end_ms: int | None
    ) -> list[Chunk] | None:
        if event.id is None:
            return None
        if index in cut:
            return cut[index]
        # The turn as ContextWindow.add_turn hands it to chunk_transcript.
        fields = {
            "speaker": event.speaker,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "id": event.id,
        }
        turn: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        turn["role"] = event.role
        turn["text"] = event.text
        try:
            made = chunk_transcript([turn], chunk_tokens, tokenizer=tokenizer)
        except CtxChunkError:
            made = []
        cut[index] = made if len(made) == 1 else None
        return cut[index]

    return chunks


_DocumentChunker = Callable[[int, DocumentEvent, int], "list[Chunk] | None"]
"""Gives the chunks of the page at an event index, cut at a chunk size, to add with
``add_chunks``, or None for ``add_document``."""


def _document_chunker(session: Session, tokenizer: Tokenizer) -> _DocumentChunker:
    """Return a :data:`_DocumentChunker` that cuts each page once per chunk size.

    For windows sharing ``tokenizer``. ``window.add_document(content, url=...,
    title=..., format=...)`` cuts the page with ``chunk_document`` at the window's
    chunk size and tokenizer, then refreshes the units of an earlier copy of the
    page still in the window (a document unit with one of the new chunks' source,
    which hashes the url, or with the same url) and adds the chunks, moving the turn
    counter on by one, as ``window.add_chunks(chunks)`` does when there is nothing
    to refresh. So only a page whose url no earlier document of the session has
    is given (no earlier copy can be in the window); any other, an empty one, and
    one the cut rejects (whose error ``add_document`` then reports) go to
    ``add_document``. Each window re-counts the chunks with the shared tokenizer: a
    look-up in its memo.
    """
    first: set[int] = set()
    seen: set[str] = set()
    for index, event in enumerate(session.events):
        if isinstance(event, DocumentEvent) and event.url not in seen:
            seen.add(event.url)
            first.add(index)
    cut: dict[tuple[int, int], list[Chunk] | None] = {}

    def chunks(
        index: int, event: DocumentEvent, chunk_tokens: int
    ) -> list[Chunk] | None:
        if index not in first:
            return None
        key = (index, chunk_tokens)
        if key not in cut:
            try:
                made = chunk_document(
                    event.content,
                    url=event.url,
                    title=event.title,
                    format=event.format,
                    max_tokens=chunk_tokens,
                    tokenizer=tokenizer,
                )
            except CtxChunkError:
                made = []
            cut[key] = made or None
        return cut[key]

    return chunks


def _history_and_roles(chunks: Iterable[Chunk]) -> tuple[int, dict[Role, int]]:
    """Return the history in ``chunks``, and the tokens of all of them per role.

    The history is the unpinned chunks that are not markers.
    """
    history = 0
    per_role = dict.fromkeys(Role, 0)
    for chunk in chunks:
        per_role[chunk.role] += chunk.tokens
        if not chunk.pinned and chunk.meta.marks is None:
            history += chunk.tokens
    return history, per_role


def _step_delta(change: Change, per_role: dict[Role, int]) -> int:
    """Apply ``change`` to ``per_role`` (tokens per role); return the history's change.

    Equal to recounting :func:`_history_and_roles` over the window after the change
    (a test checks it step by step under every policy), at the cost of the change
    instead of the window: chunks ``added`` came in; chunks ``evicted`` left, except
    parts the admission cap archived before they ever came in (``OVERSIZE``); each
    replacement took out its ``old`` chunks and put in its ``new`` one (not listed
    in ``added``); each truncation swapped ``before`` for ``after``.
    """
    history = 0
    for chunk in change.added:
        per_role[chunk.role] += chunk.tokens
        if not chunk.pinned and chunk.meta.marks is None:
            history += chunk.tokens
    for eviction in change.evicted:
        if eviction.reason is Reason.OVERSIZE:
            continue
        chunk = eviction.chunk
        per_role[chunk.role] -= chunk.tokens
        if not chunk.pinned and chunk.meta.marks is None:
            history -= chunk.tokens
    for replacement in change.replaced:
        for chunk in (*replacement.old, replacement.new):
            sign = 1 if chunk is replacement.new else -1
            per_role[chunk.role] += sign * chunk.tokens
            if not chunk.pinned and chunk.meta.marks is None:
                history += sign * chunk.tokens
    for truncation in change.truncated:
        for chunk, sign in ((truncation.before, -1), (truncation.after, 1)):
            per_role[chunk.role] += sign * chunk.tokens
            if not chunk.pinned and chunk.meta.marks is None:
                history += sign * chunk.tokens
    return history


def _joined(parts: Mapping[int, str]) -> str:
    """Join the texts of one source's parts in order, as :meth:`_Replay.text` does.

    Consecutive parts are joined with nothing, parts with a gap between them with a
    blank line.
    """
    out: list[str] = []
    previous: int | None = None
    for part in sorted(parts):
        if previous is not None and part != previous + 1:
            out.append("\n\n")
        out.append(parts[part])
        previous = part
    return "".join(out)


class _ArchiveText:
    """The archive's content text per source, read incrementally.

    The archive only grows while a replay runs (an operation the window rejects is
    rolled back and ends the replay), so each look reads only the entries added since
    the last one; a shorter archive than last seen starts the index over. Markers are
    left out: they are bookkeeping, not content. A part archived twice keeps its first
    (earliest) text.
    """

    __slots__ = ("_joined", "_parts", "_seen")

    def __init__(self) -> None:
        self._seen = 0
        self._parts: dict[str, dict[int, str]] = {}
        self._joined: dict[str, str] = {}

    def update(self, archive: Sequence[Eviction]) -> None:
        """Index the entries of ``archive`` added since the last call."""
        if len(archive) < self._seen:
            self._seen = 0
            self._parts.clear()
            self._joined.clear()
        for eviction in archive[self._seen :]:
            chunk = eviction.chunk
            if chunk.meta.marks is not None:
                continue
            self._parts.setdefault(chunk.source, {}).setdefault(chunk.part, chunk.text)
            self._joined.pop(chunk.source, None)
        self._seen = len(archive)

    def parts(self, source: str) -> Mapping[int, str]:
        """Return the archived texts of ``source``'s parts, by part."""
        return self._parts.get(source, {})

    def text(self, source: str) -> str:
        """Return the archived text of ``source``, its parts joined (cached)."""
        joined = self._joined.get(source)
        if joined is None:
            joined = self._joined[source] = _joined(self.parts(source))
        return joined


class _Replay:
    """One policy's pass over a session (the mutable state of :func:`simulate`).

    ``window`` is a :class:`~ctxchunk.window.ContextWindow` (or any object with its
    ``pin``, ``add_turn``, ``add_document``, ``add_tool_call``, ``interrupt``,
    ``remove``, ``chunks``, ``render_units`` and ``tokens``, and optionally
    ``archive``; without one nothing is recoverable that is not in the window). Every
    loss is measured from the :class:`~ctxchunk.change.Change` an operation returns,
    so a policy that runs in a window of its own (the baseline) is counted exactly
    as the others are.

    Requests are measured incrementally: ``units`` holds the last request's
    rendered units, each with its chunk tuple (so no other object can take that
    tuple's id while the entry lives), and a unit found there is the very same
    immutable tuple of frozen chunks, which renders the same (a unit given as
    anything but a tuple is rendered afresh). It is replaced at every request by
    the units in the window, so it never outgrows the window.

    The replays of one session's policies share what they compute alike:
    ``encode`` (a memo of the tokenizer), ``rendered`` (each distinct unit's
    messages), ``index_of`` (the session's id index), ``words`` (each interrupted
    turn's word timings as the window takes them, by event index), ``turns``
    (:func:`_turn_chunker`: a turn's chunks, cut once for every window) and
    ``documents`` (:func:`_document_chunker`: a page's chunks, cut once per chunk
    size). None of them changes a result. With ``realtime`` False the Realtime
    events are not counted (``realtime_events`` is 0).
    """

    def __init__(
        self,
        session: Session,
        name: str,
        window: Any,
        tokenizer: Tokenizer,
        prices: Prices,
        *,
        encode: Callable[[str], list[int]] | None = None,
        rendered: dict[tuple[Chunk, ...], tuple[list[_Rendered], int]] | None = None,
        index_of: Callable[[int | str], int] | None = None,
        words: dict[int, list[dict[str, Any]] | None] | None = None,
        turns: _TurnChunker | None = None,
        documents: _DocumentChunker | None = None,
        realtime: bool = True,
    ) -> None:
        self.session = session
        self.name = name
        self.prices = prices
        self.tokenizer = tokenizer
        self.encode = tokenizer.encode if encode is None else encode
        self.window = window
        self.instructions_source: str | None = None
        self.instructions: str | None = None
        self.item_sources: dict[str, str] = {}
        self.units: list[_UnitEntry] = []
        # The units of self.units (entry[0]).
        self.keys: list[Sequence[Chunk]] = []
        # The tokens of self.units, and of their first self.same entries (those the
        # request before them had in place).
        self.total = 0
        self.same = self.same_tokens = 0
        self.rendered = {} if rendered is None else rendered
        self.index_of = session.index_of if index_of is None else index_of
        self.words = {} if words is None else words
        self.turns = turns
        self.documents = documents
        self.realtime = realtime
        self.archived = _ArchiveText()

    def apply(self, index: int, event: Event) -> Change | None:
        window = self.window
        if isinstance(event, InstructionsEvent):
            if self.instructions_source is not None:
                window.remove(self.instructions_source)
            change: Change = window.pin(event.text, role="system")
            self.instructions = event.text
            # The policy may have masked something to make room: skip its markers.
            self.instructions_source = next(
                (c.source for c in change.added if c.pinned), None
            )
            return change
        if isinstance(event, TurnEvent):
            if not event.text.strip():
                return None
            end_ms = None
            if event.words:
                end_ms = event.t_ms + event.words[-1].end_ms
            start_ms = event.t_ms if end_ms is not None else None
            chunks = None
            if self.turns is not None:
                chunks = self.turns(index, event, start_ms, end_ms)
            if chunks is not None:
                change = window.add_chunks(chunks)
            else:
                change = window.add_turn(
                    event.role,
                    event.text,
                    speaker=event.speaker,
                    start_ms=start_ms,
                    end_ms=end_ms,
                    id=event.id,
                )
            if event.id is not None:
                # The turn's first chunk, not a marker written while making room.
                source = next(
                    (c.source for c in change.added if c.meta.marks is None), None
                )
                if source is not None:
                    self.item_sources[event.id] = source
            return change
        if isinstance(event, DocumentEvent):
            pages = None
            if self.documents is not None:
                pages = self.documents(index, event, window.chunk_tokens)
            if pages is not None:
                change = window.add_chunks(pages)
            else:
                change = window.add_document(
                    event.content, url=event.url, title=event.title, format=event.format
                )
            return change
        if isinstance(event, ToolCallEvent):
            batch = event.batch
            calls = [event] if batch is None else self.batch_at(index, batch)
            if not calls:
                return None  # a later call of a batch: it is in already
            if len(calls) == 1:
                change = window.add_tool_call(
                    event.name,
                    event.arguments_json,
                    event.result,
                    call_id=event.call_id,
                )
                return change
            change = window.add_tool_calls(
                [
                    {
                        "name": call.name,
                        "arguments": call.arguments_json,
                        "result": call.result,
                        "call_id": call.call_id,
                    }
                    for call in calls
                ]
            )
            return change
        if isinstance(event, InterruptEvent):
            source = self.item_sources.get(event.item)
            if source is None or not any(c.source == source for c in window.chunks):
                return None
            change = window.interrupt(
                source, event.heard_ms, words=self.words_of(event.item)
            )
            return change
        return None

    def batch_at(self, index: int, batch: str) -> list[ToolCallEvent]:
        """The calls of ``batch`` from event ``index`` on, if it is the batch's first.

        Empty for its other events: the batch went in at its first, as one group.
        A session's batches are consecutive (:class:`~ctxchunk.session.Session`
        checks it), so the batch is the run of events from ``index`` on.
        """
        events = self.session.events
        previous = events[index - 1] if index else None
        if isinstance(previous, ToolCallEvent) and previous.batch == batch:
            return []
        calls: list[ToolCallEvent] = []
        for at in range(index, len(events)):
            call = events[at]
            if not (isinstance(call, ToolCallEvent) and call.batch == batch):
                break
            calls.append(call)
        return calls

    def words_of(self, item: str) -> list[dict[str, Any]] | None:
        """Return the word timings of turn ``item`` as the window takes them.

        Made once per session (``self.words`` is shared by its replays) and never
        mutated: the window only reads them.
        """
        index = self.index_of(item)
        if index in self.words:
            return self.words[index]
        turn = self.session.events[index]
        words = None
        if isinstance(turn, TurnEvent) and turn.words is not None:
            words = [w.model_dump() for w in turn.words]
        self.words[index] = words
        return words

    def text(self, chunks: Iterable[Chunk] | None = None) -> str:
        """Return the window's text, or that of ``chunks``.

        Consecutive parts of one source are joined with nothing, other chunks with a
        blank line, so a needle cut across a chunk boundary is still found.
        """
        parts: list[str] = []
        previous: Chunk | None = None
        for chunk in self.window.chunks if chunks is None else chunks:
            joined = (
                previous is not None
                and previous.source == chunk.source
                and previous.part + 1 == chunk.part
            )
            parts.append(chunk.text if joined else "\n\n" + chunk.text)
            previous = chunk
        return "".join(parts)

    def probe(self, index: int, event: ProbeEvent) -> ProbeResult:
        """Return whether the probe's needle is in the window, or recoverable."""
        chunks: tuple[Chunk, ...] = self.window.chunks
        found = event.needle in self.text(chunks)
        return ProbeResult(
            step=index,
            needle=event.needle,
            introduced=self.index_of(event.introduced),
            found=found,
            recoverable=found or self.recoverable(event.needle, chunks),
        )

    def recoverable(self, needle: str, chunks: Sequence[Chunk]) -> bool:
        """Whether ``needle`` is archived under a source a marker in ``chunks`` names.

        A marked source's text is rebuilt from its archived parts, with the parts
        still among ``chunks`` filling the gaps, so a needle cut across an archived
        part and a kept one counts too: the model reads one and sees the other. The
        archive is read only when a marker is in the window, and then only from
        where the last look stopped.
        """
        marked = {c.meta.marks for c in chunks if c.meta.marks is not None}
        if not marked:
            return False
        self.archived.update(getattr(self.window, "archive", ()))
        kept: dict[str, dict[int, str]] = {}
        for chunk in chunks:
            if chunk.source in marked and chunk.meta.marks is None:
                kept.setdefault(chunk.source, {})[chunk.part] = chunk.text
        for source in marked:
            if source in kept:
                text = _joined({**kept[source], **self.archived.parts(source)})
            else:
                text = self.archived.text(source)
            if needle in text:
                return True
        return False

    def render(self) -> tuple[list[_UnitEntry], int]:
        """Return the request's rendered units and their total tokens.

        The units' messages, in order, are those of ``to_openai_chat(window)``,
        which renders each unit on its own, so only units not in the last request
        are rendered, serialized and tokenized here. A unit that did not change is
        the very same tuple as last time, and the last request's entries hold their
        tuples, so an id cannot have been reused meanwhile. Units keep their order
        (evictions take from the front and the middle, additions go at the end), so
        each is looked for among the few entries just after the last one found; a
        unit not found there is rendered again (:meth:`render_unit`), which gives
        the same messages, only at a higher cost.
        """
        previous, keys = self.units, self.keys
        n = len(previous)
        units = list(self.window.render_units())
        m = len(units)
        entries: list[_UnitEntry] = []
        # The last request's tokens, less those of its entries not taken again.
        total = self.total
        same = i = j = 0
        copied = False
        while i < m:
            # A run of the last request's units, in order: taken whole.
            run = _same_run(units, i, keys, j)
            if run:
                if i == j == 0:
                    same = run
                entries += previous[j : j + run]
                i += run
                j += run
                continue
            unit = units[i]
            for k in range(j + 1, min(n, j + _LOOKAHEAD)):
                if keys[k] is unit:
                    total -= _tokens_of(previous, j, k)  # left the window
                    j = k  # the run from there takes it
                    break
            else:
                entry = self.render_unit(unit)
                copied = copied or entry[0] is not unit
                entries.append(entry)
                total += entry[2]
                i += 1
        total -= _tokens_of(previous, j, n)
        # The tokens of the first ``same`` entries, the last request's own in place,
        # summed from the shorter end.
        if same <= n - same:
            self.same_tokens = _tokens_of(previous, 0, same)
        else:
            self.same_tokens = self.total - _tokens_of(previous, same, n)
        self.units = entries
        # Each entry holds its unit, the very object given, unless it was copied.
        self.keys = list(map(itemgetter(0), entries)) if copied else units
        self.total = total
        self.same = same
        return entries, total

    def render_unit(self, unit: Sequence[Chunk]) -> _UnitEntry:
        """Render, serialize and tokenize one unit's messages.

        The entry keeps ``unit`` itself when it is a tuple (immutable, so the same
        object always renders the same); anything else is copied, so it never
        matches again and is rendered afresh each time. The messages come from
        ``self.rendered`` when a unit equal to this one (the same frozen chunks,
        field by field) was rendered before in the session, by any policy's window:
        equal chunks render to equal messages.
        """
        chunks = unit if type(unit) is tuple else tuple(unit)
        known = self.rendered.get(chunks)
        if known is None:
            rendered = [
                (text, self.encode(text))
                for text in map(_serialize, unit_messages(chunks))
            ]
            known = self.rendered[chunks] = (rendered, sum(len(t) for _, t in rendered))
        return (chunks, known[0], known[1])

    def request(self, index: int) -> RequestResult:
        previous = self.units
        entries, tokens = self.render()
        # The first self.same units are the last request's own, in place.
        shared = _entries_prefix(previous, entries, self.same, self.same_tokens)
        cached = self.prices.cached(shared)
        return RequestResult(
            step=index,
            window_tokens=self.window.tokens,
            tokens=tokens,
            shared_prefix=shared,
            cached_tokens=cached,
            cost=self.prices.cost(tokens),
            cost_cached=self.prices.cost(tokens, cached),
        )

    def run(self) -> PolicyResult:
        window_tokens: list[int] = []
        evicted_tokens: list[int] = []
        lost_tokens: list[int] = []
        replaced_tokens: list[int] = []
        masked_tokens: list[int] = []
        capped_tokens: list[int] = []
        admitted_tokens: list[int] = []
        history_tokens: list[int] = []
        # What a step that took nothing out adds: 0 to each of these; a step that
        # changed nothing also admitted nothing.
        losses = (
            evicted_tokens,
            lost_tokens,
            replaced_tokens,
            masked_tokens,
            capped_tokens,
        )
        steady = (*losses, admitted_tokens)
        role_tokens: dict[str, list[int]] = {role: [] for role in _ROLES}
        probes: list[ProbeResult] = []
        requests: list[RequestResult] = []
        eviction_events = evicted_chunks = realtime = 0
        # Counted once, then moved by each change (_step_delta): an event that
        # returns no change (a probe, a request, a skipped turn) left the window as
        # it was.
        history, per_role = _history_and_roles(self.window.chunks)
        by_role = [role_tokens[role.value] for role in per_role]
        for index, event in enumerate(self.session.events):
            try:
                change = self.apply(index, event)
            except CtxChunkError as exc:
                raise SessionLogError(
                    f"session {self.session.name!r}, event {index} ({event.type}): "
                    f"the window rejected it: {exc}"
                ) from exc
            if change is None:
                for series in steady:
                    series.append(0)
            else:
                if self.realtime:
                    realtime += count_realtime_events(
                        change, instructions=self.instructions
                    )
                if change.evicted or change.replaced or change.truncated:
                    gone = len(change.evicted)
                    gone += sum(len(r.old) for r in change.replaced)
                    if gone:
                        eviction_events += 1
                        evicted_chunks += gone
                    evicted_tokens.append(
                        change.evicted_tokens
                        + sum(c.tokens for r in change.replaced for c in r.old)
                    )
                    lost_tokens.append(change.lost_tokens)
                    replaced_tokens.append(change.replaced_tokens)
                    masked_tokens.append(change.masked_tokens)
                    capped_tokens.append(change.capped_tokens)
                else:
                    # Nothing left the window: nothing evicted, lost or capped.
                    for series in losses:
                        series.append(0)
                admitted_tokens.append(change.admitted_tokens)
            if isinstance(event, ProbeEvent):
                probes.append(self.probe(index, event))
            elif isinstance(event, RequestEvent):
                requests.append(self.request(index))
            history_tokens.append(history)
            window_tokens.append(self.window.tokens)
            if change is not None:
                history += _step_delta(change, per_role)
            for series, tokens in zip(by_role, per_role.values(), strict=True):
                series.append(tokens)
        cliff = max(lost_tokens, default=0)
        cliff_step = lost_tokens.index(cliff) if cliff else -1
        share = 0.0
        if cliff:
            held = history_tokens[cliff_step]
            share = cliff / held if held else 1.0
        return PolicyResult(
            name=self.name,
            window_tokens=window_tokens,
            evicted_tokens=evicted_tokens,
            lost_tokens=lost_tokens,
            replaced_tokens=replaced_tokens,
            masked_tokens=masked_tokens,
            capped_tokens=capped_tokens,
            admitted_tokens=admitted_tokens,
            history_tokens=history_tokens,
            # A plain dict (not a read-only proxy) so results can cross processes.
            role_tokens={role: tuple(values) for role, values in role_tokens.items()},
            cliff_tokens=cliff,
            cliff_share=share,
            cliff_step=cliff_step,
            eviction_events=eviction_events,
            evicted_chunks=evicted_chunks,
            realtime_events=realtime,
            probes=tuple(probes),
            requests=tuple(requests),
        )
