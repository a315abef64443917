"""Adapters between ctxchunk and agent frameworks' own message types.

Each adapter lives in its own module and imports its framework only there, so
``import ctxchunk`` (and this package) never needs one:

- :mod:`ctxchunk.adapters.langchain`: ``langchain-core`` messages
  (``pip install 'ctxchunk[langchain]'``);
- :mod:`ctxchunk.adapters.llamaindex`: LlamaIndex ``ChatMessage``
  (``pip install 'ctxchunk[llamaindex]'``).

Both work the same way, through the OpenAI Chat Completions shape ctxchunk already
reads and renders: messages come in as Chat messages (their content read by the one
reader of message content, the one :func:`~ctxchunk.transcript.chunk_transcript`
and the session importers use) and go out from the window's Chat rendering
(:func:`~ctxchunk.render.to_openai_chat`), so a tool call and its results stay
paired and every marker the window holds is rendered.
"""

from __future__ import annotations

from ctxchunk.exceptions import CtxChunkError

__all__ = ["MissingExtraError"]


class MissingExtraError(CtxChunkError, ImportError):
    """An adapter's framework is not installed; the message names the extra."""


def missing_extra(package: str, extra: str, exc: ImportError) -> MissingExtraError:
    """Return the error an adapter module raises when ``package`` cannot be imported.

    >>> str(missing_extra("langchain-core", "langchain", ImportError("no")))
    "ctxchunk.adapters.langchain needs langchain-core (no); install it with: pip install 'ctxchunk[langchain]'"
    """  # noqa: E501
    return MissingExtraError(
        f"ctxchunk.adapters.{extra} needs {package} ({exc}); install it with: "
        f"pip install 'ctxchunk[{extra}]'"
    )
