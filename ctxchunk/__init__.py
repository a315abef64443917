# This is the public API of ctxchunk.
"""ctxchunk keeps an LLM agent's context window inside its token budget, chunk by chunk."""

from ctxchunk._version import __version__
from ctxchunk.exceptions import CtxChunkError
from ctxchunk.tokens import Tokenizer, get_tokenizer

__all__ = [
    "CtxChunkError",
    "Tokenizer",
    "__version__",
    "get_tokenizer",
]
