"""LlamaIndex chat messages in and out of ctxchunk (extra ``llamaindex``).

For applications built on ``llama_index.core.llms.ChatMessage``:

- :func:`add_llamaindex_messages` feeds a :class:`~ctxchunk.ContextWindow`, one
  update per message, as an agent loop adds them (a ``tool`` message joins the
  group of the call it answers);
- :func:`to_llamaindex_messages` renders the window back as ``ChatMessage`` objects,
  ready for ``llm.chat``;
- :func:`session_from_llamaindex` imports a history as a
  :class:`~ctxchunk.session.Session` for :func:`~ctxchunk.simulate`.

Tool calls are read as current ``llama-index-core`` writes them: ``ToolCallBlock``
objects in an assistant message's ``blocks`` (a call with no ``tool_call_id`` is
named by its ``tool_name``, as LlamaIndex's agents do), or, from older
integrations, OpenAI tool calls in ``additional_kwargs["tool_calls"]``; a ``tool``
message names the call it answers in ``additional_kwargs["tool_call_id"]``. A
call's ``tool_kwargs`` dict is kept as the JSON text ``json.dumps`` gives, as
LlamaIndex's OpenAI integration sends it, and rendered back as that text (a string
``tool_kwargs``), so what the window counted is what is sent.

Content blocks become OpenAI content parts read by the one reader of message content
(:mod:`ctxchunk._wire_read`): ``TextBlock`` gives its text; ``ImageBlock``,
``AudioBlock``, ``DocumentBlock`` and ``VideoBlock`` a counted placeholder line that
names the media; ``CitableBlock`` and ``CitationBlock`` their content. A
``ThinkingBlock`` (the model's reasoning) and a ``CachePoint`` hold nothing Chat input
carries and are left out. Roles ``chatbot`` and ``model`` (other providers' names for
the assistant) are read as ``assistant``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ctxchunk.adapters import missing_extra

try:
    from llama_index.core.base.llms.types import (
        AudioBlock,
        CachePoint,
        ChatMessage,
        CitableBlock,
        CitationBlock,
        DocumentBlock,
        ImageBlock,
        MessageRole,
        TextBlock,
        ThinkingBlock,
        ToolCallBlock,
        VideoBlock,
    )
except ImportError as exc:  # pragma: no cover - exercised with the extra missing
    raise missing_extra("llama-index-core", "llamaindex", exc) from exc

from ctxchunk.adapters._chat import check_window, feed, render
from ctxchunk.change import Change
from ctxchunk.exceptions import InvalidTypeError, TranscriptError
from ctxchunk.session import Session, session_from_chat_messages
from ctxchunk.window import ContextWindow

__all__ = [
    "add_llamaindex_messages",
    "session_from_llamaindex",
    "to_llamaindex_messages",
]

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "developer",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "function",
}


def _b64(data: bytes | io.IOBase | None) -> str | None:
    """The base64 text of a block's data; LlamaIndex usually stores it encoded."""
    if not isinstance(data, bytes):
        return None  # a stream is not read: the placeholder names the block only
    try:
        base64.b64decode(data, validate=True)
        return data.decode("ascii")
    except (binascii.Error, ValueError):
        return base64.b64encode(data).decode("ascii")


def _where(url: object, path: object) -> str | None:
    if url is not None:
        return str(url)
    if path is not None:
        return str(path)
    return None


def _parts(blocks: Iterable[object], calls: list[dict[str, Any]]) -> list[Any]:
    """Return the OpenAI content parts of ``blocks``; tool calls go to ``calls``."""
    parts: list[Any] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            data = _b64(block.image)
            url = _where(block.url, block.path)
            if data is not None:
                url = f"data:{block.image_mimetype or 'image'};base64,{data}"
            image: dict[str, Any] = {"url": url or ""}
            if block.detail:
                image["detail"] = block.detail
            parts.append({"type": "image_url", "image_url": image})
        elif isinstance(block, AudioBlock):
            audio: dict[str, Any] = {}
            if block.format:
                audio["format"] = block.format
            data = _b64(block.audio)
            if data is not None:
                audio["data"] = data
            parts.append({"type": "input_audio", "input_audio": audio})
        elif isinstance(block, (DocumentBlock, VideoBlock)):
            parts.append({"type": "file", "file": _file(block)})
        elif isinstance(block, CitableBlock):
            parts.extend(_parts(block.content, calls))
        elif isinstance(block, CitationBlock):
            parts.extend(_parts([block.cited_content], calls))
        elif isinstance(block, ToolCallBlock):
            kwargs = block.tool_kwargs
            arguments = kwargs if isinstance(kwargs, str) else json.dumps(kwargs)
            calls.append(
                {
                    "id": block.tool_call_id or block.tool_name,
                    "type": "function",
                    "function": {"name": block.tool_name, "arguments": arguments},
                }
            )
        elif not isinstance(block, (ThinkingBlock, CachePoint)):
            raise TranscriptError(
                f"content block {type(block).__name__} is not one ctxchunk reads"
            )
    return parts


def _file(block: DocumentBlock | VideoBlock) -> dict[str, Any]:
    if isinstance(block, DocumentBlock):
        name, data = block.title, block.data
    else:
        name, data = block.video_mimetype, block.video
    file: dict[str, Any] = {}
    if name:
        file["filename"] = name
    where = _where(block.url, block.path)
    if where:
        file["file_url"] = where
    encoded = _b64(data)
    if encoded is not None:
        file["file_data"] = encoded
    return file


def _legacy_calls(raw: object) -> list[dict[str, Any]]:
    """OpenAI tool calls an older integration kept in ``additional_kwargs``."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return []
    out = []
    for call in raw:
        dump = getattr(call, "model_dump", None)
        out.append(dump(mode="json", exclude_none=True) if callable(dump) else call)
    return out


def _chat_message(index: int, message: object) -> dict[str, Any]:
    if not isinstance(message, ChatMessage):
        raise InvalidTypeError(
            f"message {index} must be a llama_index ChatMessage, got "
            f"{type(message).__name__}: {message!r:.80}"
        )
    extra = message.additional_kwargs
    calls: list[dict[str, Any]] = []
    try:
        parts = _parts(message.blocks, calls)
    except TranscriptError as exc:
        raise TranscriptError(f"message {index}: {exc}") from None
    if not calls:
        calls = _legacy_calls(extra.get("tool_calls"))
    role = _ROLES.get(message.role, str(message.role.value))
    text_only = all(isinstance(p, Mapping) and p.get("type") == "text" for p in parts)
    content: Any = "\n".join(p["text"] for p in parts) if text_only else parts
    chat: dict[str, Any] = {"role": role, "content": content}
    if calls:
        chat["tool_calls"] = calls
    if role in ("tool", "function"):
        call_id = extra.get("tool_call_id", extra.get("call_id"))
        if call_id is not None:
            chat["tool_call_id"] = str(call_id)
        if extra.get("name") is not None:
            chat["name"] = str(extra["name"])
    return chat


def _chat_messages(messages: object) -> list[dict[str, Any]]:
    if isinstance(messages, (str, bytes, ChatMessage, Mapping)) or not isinstance(
        messages, Iterable
    ):
        raise InvalidTypeError(
            f"messages must be a list of llama_index ChatMessage, got "
            f"{type(messages).__name__}: {messages!r:.80}; wrap one message in [...]"
        )
    return [_chat_message(i, m) for i, m in enumerate(messages)]


def add_llamaindex_messages(
    window: ContextWindow,
    messages: Sequence[ChatMessage],
    *,
    pin_system: bool = True,
) -> tuple[Change, ...]:
    """Add LlamaIndex chat messages to a window, in order.

    Each message is one update, capped on its own; a ``tool`` message joins the
    group of the call it answers, and the group is kept or evicted together. A
    system (or developer) message is pinned unless ``pin_system=False``. A message
    with no text and no tool calls holds nothing and is skipped. Add each message
    once.

    Every message is checked before any is added, so a malformed one leaves the
    window as it was.

    Args:
        window: The window to feed.
        messages: ``ChatMessage`` objects, oldest first.
        pin_system: Whether system messages become pins.

    Returns:
        One :class:`~ctxchunk.change.Change` per update.

    Raises:
        TranscriptError: a message cannot be read; the error names its index.
        InvalidTypeError: ``window`` or a message has the wrong type.

    >>> from llama_index.core.llms import ChatMessage
    >>> from ctxchunk import ContextWindow
    >>> w = ContextWindow(500)
    >>> _ = add_llamaindex_messages(w, [ChatMessage(role="system", content="Be brief."),
    ...                                 ChatMessage(role="user", content="Hi")])
    >>> [(c.role.value, c.pinned) for c in w.chunks]
    [('system', True), ('user', False)]
    """
    window = check_window(window)
    return feed(window, _chat_messages(messages), pin_system=pin_system)


def to_llamaindex_messages(window: ContextWindow) -> list[ChatMessage]:
    """Render a window as LlamaIndex ``ChatMessage`` objects.

    The window's Chat rendering (see :func:`ctxchunk.render.to_openai_chat`): system,
    user and assistant messages with a ``TextBlock``; an assistant message's tool
    calls as ``ToolCallBlock`` objects (``tool_kwargs`` the call's JSON text); each
    result a ``tool`` message with ``additional_kwargs["tool_call_id"]``, right after
    the message holding its call. Documents and tool context are a call and its result,
    never a user or system message; markers and stubs are included. The parts of
    one message the window cut are one message again.

    Raises:
        InvalidTypeError: ``window`` is not a :class:`~ctxchunk.ContextWindow`.

    >>> from ctxchunk import ContextWindow
    >>> w = ContextWindow(500)
    >>> _ = w.add_tool_call("clock", {}, "12:00", call_id="call_1")
    >>> [m.role.value for m in to_llamaindex_messages(w)]
    ['assistant', 'tool']
    """
    window = check_window(window)
    out: list[ChatMessage] = []
    for message in render(window):
        role, content = message["role"], message.get("content")
        blocks: list[Any] = [TextBlock(text=content)] if content else []
        if role == "tool":
            out.append(
                ChatMessage(
                    role=MessageRole.TOOL,
                    blocks=blocks,
                    additional_kwargs={"tool_call_id": message["tool_call_id"]},
                )
            )
            continue
        blocks.extend(
            ToolCallBlock(
                tool_call_id=call["id"],
                tool_name=call["function"]["name"],
                tool_kwargs=call["function"]["arguments"],
            )
            for call in message.get("tool_calls", ())
        )
        out.append(ChatMessage(role=MessageRole(role), blocks=blocks))
    return out


def session_from_llamaindex(
    messages: Sequence[ChatMessage], *, name: str | None = None
) -> Session:
    """Import a LlamaIndex chat history as a session for ``simulate``.

    The messages as Chat messages, imported by
    :func:`~ctxchunk.session.session_from_chat_messages`.

    Raises:
        SessionLogError: a message is malformed.
        TranscriptError: a content block cannot be read.

    >>> from llama_index.core.llms import ChatMessage
    >>> s = session_from_llamaindex([ChatMessage(role="user", content="Hi"),
    ...                              ChatMessage(role="assistant", content="Hello!")])
    >>> [e.type for e in s.events]
    ['turn', 'request', 'turn']
    """
    return session_from_chat_messages(
        _chat_messages(messages), name="llamaindex" if name is None else name
    )
