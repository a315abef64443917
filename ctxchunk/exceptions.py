"""Every error ctxchunk raises on purpose.

Each one derives from :class:`CtxChunkError`, so ``except CtxChunkError`` catches
them all, and also from the built-in exception it resembles (in brackets), so code
that already catches ``ValueError`` or ``TypeError`` keeps working::

    CtxChunkError(Exception)
    ├── InvalidArgumentError(ValueError)   an argument's value is out of range
    │   ├── SplitError                     text cannot be cut within the bound
    │   ├── BudgetError                    a window budget cannot be honoured
    │   ├── TranscriptError                a turn of a transcript is malformed
    │   ├── RoleError                      a role or kind name is unknown
    │   ├── ChunkError                     a chunk breaks one of its invariants
    │   ├── DocumentError                  a document cannot be read
    │   ├── SessionLogError                a session log line is malformed
    │   ├── StateError                     a saved window state is not valid
    │   └── UnknownItemError(LookupError)  a window holds no such turn or item
    ├── InvalidTypeError(TypeError)        an argument has the wrong type
    ├── UnknownTokenizerError(LookupError) no such encoding or model name
    ├── EncodingError(ValueError)          text that cannot be tokenized
    ├── TokenizerDataError(RuntimeError)   BPE data missing or corrupt
    └── PolicyError(RuntimeError)          a policy asked for an invalid action

Messages name the argument and the offending value, and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "ChunkError",
    "CtxChunkError",
    "DocumentError",
    "EncodingError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "PolicyError",
    "RoleError",
    "SessionLogError",
    "SplitError",
    "StateError",
    "TokenizerDataError",
    "TranscriptError",
    "UnknownItemError",
    "UnknownTokenizerError",
]


class CtxChunkError(Exception):
    """Root of every error ctxchunk raises on purpose."""


class InvalidArgumentError(CtxChunkError, ValueError):
    """An argument has the right type but a value ctxchunk cannot use."""


class InvalidTypeError(CtxChunkError, TypeError):
    """An argument has a type ctxchunk does not accept."""


class UnknownTokenizerError(CtxChunkError, LookupError):
    """A tokenizer was asked for by an encoding or model name ctxchunk does not know."""


class EncodingError(CtxChunkError, ValueError):
    """Text cannot be tokenized, for example because it holds a lone surrogate."""


class TokenizerDataError(CtxChunkError, RuntimeError):
    """The BPE data for an encoding is missing or does not match its published hash."""


class SplitError(InvalidArgumentError):
    """Text cannot be cut into pieces within the requested token bound."""


class BudgetError(InvalidArgumentError):
    """A token budget is invalid, or content cannot be made to fit it."""


class TranscriptError(InvalidArgumentError):
    """A transcript turn is malformed; the message names the turn's index."""


class DocumentError(InvalidArgumentError):
    """A document cannot be decoded or reduced to readable content."""


class SessionLogError(InvalidArgumentError):
    """A session log line is malformed; the message names the line number."""


class RoleError(InvalidArgumentError):
    """A role or kind is spelled in a way ctxchunk does not accept."""


class ChunkError(InvalidArgumentError):
    """A chunk breaks one of its invariants, or JSON does not describe a chunk."""


class StateError(InvalidArgumentError):
    """JSON does not describe a saved window state, or describes an inconsistent one."""


class UnknownItemError(InvalidArgumentError, LookupError):
    """A window operation names a turn, document or item the window does not hold."""


class PolicyError(CtxChunkError, RuntimeError):
    """A truncation policy yielded an action the window cannot apply.

    The operation is rolled back; the message says which rule the action broke.
    """
