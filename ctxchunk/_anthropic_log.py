"""Anthropic Messages API logs, read as the Chat Completions messages they amount to.

An agent built on Claude logs the ``messages`` (and ``system``) of its Messages API
requests. :func:`chat_messages` turns them into OpenAI Chat Completions messages
that :func:`~ctxchunk.session.session_from_chat_messages` imports, so both logs
replay the same way:

- ``system`` (a string or a list of text blocks) becomes a ``system`` message;
- ``text`` blocks become the message's text; ``image`` and ``document`` blocks
  become the placeholders the Chat importer writes for images and files (a document
  whose source is plain text or content blocks keeps its text);
- ``tool_use`` blocks become the assistant message's ``tool_calls`` (arguments are
  the ``input`` as JSON text), and each ``tool_result`` block a ``tool`` message
  answering it, in block order, before the user's text of the same message;
- a server tool's call and result (``server_tool_use``, ``web_search_tool_result``
  and every other ``*_tool_use`` / ``*_tool_result`` block) are a call of the
  assistant message and its result, right after it;
- ``thinking`` and ``redacted_thinking`` blocks are left out: the API strips the
  thinking of earlier turns from the context
  (docs.anthropic.com/en/docs/build-with-claude/extended-thinking).

Block formats: docs.anthropic.com/en/api/messages (content block types).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ctxchunk.exceptions import SessionLogError

__all__ = ["chat_messages", "is_anthropic"]

_SKIPPED = frozenset({"thinking", "redacted_thinking"})
_ANTHROPIC_ONLY = frozenset(
    {"tool_use", "tool_result", "document", "search_result", *_SKIPPED}
)


def is_anthropic(message: object) -> bool:
    """Whether a message uses a content block only the Messages API has.

    A user message with plain text is the same in both APIs; one block of its own
    (``tool_use``, ``tool_result``, ``image`` with a ``source``...) tells.

    >>> is_anthropic({"role": "assistant", "content": [{"type": "tool_use"}]})
    True
    >>> is_anthropic({"role": "user", "content": "hi"})
    False
    """
    if not isinstance(message, Mapping):
        return False
    content = message.get("content")
    if not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if not isinstance(kind, str):
            continue
        if kind in _ANTHROPIC_ONLY or _server_kind(kind) is not None:
            return True
        if kind == "image" and "source" in block:
            return True
    return False


def chat_messages(data: object) -> list[dict[str, Any]]:
    """Return the Chat Completions messages an Anthropic Messages log amounts to.

    Args:
        data: The ``messages`` list, or a request body ``{"system"?, "messages"}``.

    Returns:
        The messages, ``system`` first when the request had one.

    Raises:
        SessionLogError: ``data`` is not a list of messages (or a body holding
            one), or a message or block is malformed; the error names it.

    >>> chat_messages({"system": "Be brief.", "messages": [
    ...     {"role": "user", "content": "Hi"}]})
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    system: object = None
    if isinstance(data, Mapping):
        system = data.get("system")
        data = data.get("messages")
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise SessionLogError(
            f"Anthropic messages must be a list of messages or a request body with "
            f"'messages', got {type(data).__name__}"
        )
    out: list[dict[str, Any]] = []
    if system is not None:
        text = _system_text(system)
        if text:
            out.append({"role": "system", "content": text})
    for index, message in enumerate(data):
        if not isinstance(message, Mapping):
            raise SessionLogError(
                f"message {index}: expected an object, got {type(message).__name__}"
            )
        role = message.get("role")
        content = message.get("content")
        if role not in ("user", "assistant"):
            raise SessionLogError(
                f"message {index}: role {role!r:.40} is not 'user' or 'assistant' "
                f"(the Messages API has no other; instructions go in 'system')"
            )
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        if not isinstance(content, list):
            raise SessionLogError(
                f"message {index}: content should be a string or a list of content "
                f"blocks, got {type(content).__name__}"
            )
        where = f"message {index}"
        if role == "assistant":
            out.extend(_assistant(content, where))
        else:
            out.extend(_user(content, where))
    return out


def _system_text(system: object) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(
            _text_of(block, f"system.{k}") for k, block in enumerate(system)
        )
    raise SessionLogError(
        f"system should be a string or a list of text blocks, got "
        f"{type(system).__name__}"
    )


def _blocks(blocks: list[Any], where: str) -> Iterator[tuple[Any, str, str]]:
    """Each block that holds context (thinking left out), its type and place."""
    for k, block in enumerate(blocks):
        at = f"{where}.content.{k}"
        kind = _kind(block, at)
        if kind not in _SKIPPED:
            yield block, kind, at


def _assistant(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for block, kind, at in _blocks(blocks, where):
        if kind == "tool_use" or _server_kind(kind) == "use":
            calls.append(_call(block, at))
        elif _server_kind(kind) == "result":
            results.append(_result(block, at))
        else:
            parts.append(_part(block, kind, at))
    message: dict[str, Any] = {"role": "assistant", "content": parts or None}
    if calls:
        message["tool_calls"] = calls
    return [message, *results]


def _user(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block, kind, at in _blocks(blocks, where):
        if kind == "tool_result" or _server_kind(kind) == "result":
            if parts:
                out.append({"role": "user", "content": parts})
                parts = []
            out.append(_result(block, at))
        else:
            parts.append(_part(block, kind, at))
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _kind(block: object, where: str) -> str:
    if not isinstance(block, Mapping):
        raise SessionLogError(f"{where}: expected a content block object")
    kind = block.get("type")
    if not isinstance(kind, str):
        raise SessionLogError(f"{where}: a content block needs a 'type' string")
    return kind


def _server_kind(kind: str) -> str | None:
    """``use`` or ``result`` for a server or MCP tool's block, else None."""
    if kind != "tool_use" and kind.endswith("_tool_use"):
        return "use"
    if kind != "tool_result" and kind.endswith("_tool_result"):
        return "result"
    return None


def _call(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise SessionLogError(f"{where} ({block['type']}): needs 'id' and 'name'")
    arguments = json.dumps(block.get("input", {}), ensure_ascii=False)
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _result(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise SessionLogError(f"{where} ({block['type']}): needs 'tool_use_id'")
    content = block.get("content", "")
    if isinstance(content, list):
        server = block["type"] != "tool_result"
        parts = [
            _result_part(item, f"{where}.content.{k}", server=server)
            for k, item in enumerate(content)
        ]
        return {"role": "tool", "tool_call_id": call_id, "content": parts}
    if isinstance(content, Mapping):  # a server tool's error or result object
        content = json.dumps(content, ensure_ascii=False)
    if not isinstance(content, str):
        raise SessionLogError(
            f"{where} ({block['type']}): content should be a string or a list of "
            f"blocks, got {type(content).__name__}"
        )
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _result_part(item: object, where: str, *, server: bool) -> dict[str, Any]:
    """One block of a tool result; a server tool's own blocks are kept as JSON.

    A server tool answers with blocks of its own (``web_search_result`` with its
    title, URL and encrypted page content...): their JSON text stands for them.
    """
    kind = _kind(item, where)
    if server and kind not in _READ and isinstance(item, Mapping):
        return {"type": "text", "text": json.dumps(item, ensure_ascii=False)}
    assert isinstance(item, Mapping)
    return _part(item, kind, where)


_READ = frozenset({"text", "image", "document", "search_result"})


def _part(block: Mapping[str, Any], kind: str, where: str) -> dict[str, Any]:
    """One block as the Chat content part the Chat importer reads."""
    if kind == "text":
        return {"type": "text", "text": _text_of(block, where)}
    if kind in ("image", "document"):
        source = block.get("source")
        if not isinstance(source, Mapping):
            raise SessionLogError(f"{where} ({kind}): needs a 'source' object")
        text = _source_text(source, where)
        if text is not None:  # a document of plain text or of content blocks
            title = block.get("title")
            head = f"{title}\n\n" if isinstance(title, str) and title else ""
            return {"type": "text", "text": head + text}
        url = _source_url(source)
        if kind == "image":
            return {
                "type": "image_url",
                "image_url": {"url": url},
                "file_id": source.get("file_id"),
            }
        title = block.get("title")
        file: dict[str, Any] = {"file_url": url, "file_id": source.get("file_id")}
        if isinstance(title, str):
            file["filename"] = title
        return {"type": "file", "file": file}
    if kind == "search_result":
        texts = [
            _text_of(item, f"{where}.content.{k}")
            for k, item in enumerate(block.get("content") or [])
        ]
        named = [str(v) for v in (block.get("title"), block.get("source")) if v]
        return {"type": "text", "text": "\n".join([*named, *texts])}
    raise SessionLogError(
        f"{where}: a content block of type {kind!r:.40}, which ctxchunk does not "
        f"read; it reads text, image, document, search_result, thinking, tool_use, "
        f"tool_result and server tools' *_tool_use / *_tool_result blocks"
    )


def _text_of(block: object, where: str) -> str:
    if not isinstance(block, Mapping) or block.get("type") != "text":
        raise SessionLogError(f"{where}: expected a text block")
    text = block.get("text")
    if not isinstance(text, str):
        raise SessionLogError(f"{where} (text): needs a 'text' string")
    return text


def _source_text(source: Mapping[str, Any], where: str) -> str | None:
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        text: str = source["data"]
        return text
    if source.get("type") == "content":
        content = source.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(
                _text_of(item, f"{where}.source.content.{k}")
                for k, item in enumerate(content)
                if isinstance(item, Mapping) and item.get("type") == "text"
            )
    return None


def _source_url(source: Mapping[str, Any]) -> str:
    if isinstance(source.get("url"), str):
        url: str = source["url"]
        return url
    data = source.get("data")
    if isinstance(data, str):
        return f"data:{source.get('media_type', '')};base64,{data}"
    return ""
