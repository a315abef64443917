# This is the public API of ctxchunk.
"""ctxchunk keeps an LLM agent's context window inside its token budget."""

from ctxchunk._version import __version__
from ctxchunk.exceptions import CtxChunkError
from ctxchunk.split import Piece, split_text
from ctxchunk.tokens import Tokenizer, count_messages, get_tokenizer

__all__ = [
    "CtxChunkError",
    "Piece",
    "Tokenizer",
    "__version__",
    "count_messages",
    "get_tokenizer",
    "split_text",
]
