"""Coding agents' own session logs: Claude Code transcripts and Codex CLI rollouts.

Both are JSONL files the agents write on their own, the sessions people most often
have at hand to test a truncation policy on.

- **Claude Code** (``~/.claude/projects/<project>/<session>.jsonl``): one record a
  line, ``{"type": "user" | "assistant", "message": {Messages API message}, "uuid",
  "parentUuid", "isSidechain", ...}`` among bookkeeping records (``summary``,
  ``system``, ``file-history-snapshot``, ``queue-operation``, ...). A streamed reply
  is written as several ``assistant`` records of one ``message.id``, one content
  block each, and each tool result as a ``user`` record of its own; a rewound
  conversation leaves its abandoned branch in the file, and a subagent's records
  are marked ``isSidechain``. :func:`claude_code_messages` rebuilds the messages the
  model was sent: the branch that ends at the last message (following
  ``parentUuid``, and ``logicalParentUuid`` across a compaction), without
  sidechains, compaction summaries or bookkeeping, with consecutive records of one
  role joined into one message.
- **Codex CLI** (``~/.codex/sessions/.../rollout-*.jsonl``): ``{"timestamp", "type":
  "session_meta" | "response_item" | "event_msg" | "turn_context" | ..., "payload":
  {...}}``; each ``response_item``'s payload is an OpenAI Responses item (message,
  function_call, function_call_output, reasoning, ...) and ``session_meta`` carries
  the instructions. :func:`codex_items` returns those.

These layouts are the agents' own, not a published API; they are read as the
community's readers and the agents' recent versions (Claude Code 2.x, Codex CLI
0.7x) write them; a Claude Code session exported as ``{"loglines": [records]}`` (no
ids, the file's order) is read too. What is not recognized is skipped, not guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["claude_code_messages", "codex_items", "is_claude_code", "is_codex"]

_CLAUDE_CODE_TYPES = frozenset(
    {
        "user",
        "assistant",
        "system",
        "summary",
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "attachment",
    }
)
_CLAUDE_CODE_KEYS = ("sessionId", "parentUuid", "leafUuid", "uuid", "messageId")

_CODEX_TYPES = frozenset(
    {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
)


def is_claude_code(record: object) -> bool:
    """Whether ``record`` is a line of a Claude Code transcript.

    A bookkeeping record carries the session's ids; a user or assistant record may
    carry only its ``message`` (a session exported as ``{"loglines": [...]}``).
    """
    if not isinstance(record, Mapping) or record.get("type") not in _CLAUDE_CODE_TYPES:
        return False
    if any(key in record for key in _CLAUDE_CODE_KEYS):
        return True
    return record["type"] in ("user", "assistant") and isinstance(
        record.get("message"), Mapping
    )


def is_codex(record: object) -> bool:
    """Whether ``record`` is a line of a Codex CLI rollout."""
    return (
        isinstance(record, Mapping)
        and record.get("type") in _CODEX_TYPES
        and isinstance(record.get("payload"), Mapping)
    )


def claude_code_messages(records: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the Messages API messages a Claude Code transcript's model was sent.

    See the module's docs for what is kept. The messages alternate roles; a
    message's ``content`` is a list of blocks, or a string when it was one.
    """
    chain = _active_branch(records)
    messages: list[dict[str, Any]] = []
    for record in chain:
        message = record["message"]
        role = message.get("role", record["type"])
        content = message.get("content")
        if content is None or content == [] or content == "":
            continue
        if messages and messages[-1]["role"] == role:
            last = messages[-1]
            last["content"] = [*_blocks(last["content"]), *_blocks(content)]
            continue
        messages.append({"role": role, "content": content})
    return messages


def _active_branch(records: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The conversation records on the branch that ends at the last one, in order."""
    turns = [r for r in records if _is_turn(r)]
    if not turns:
        return []
    by_uuid = {
        r["uuid"]: r
        for r in records
        if isinstance(r, Mapping) and isinstance(r.get("uuid"), str)
    }
    leaf = turns[-1]
    if not isinstance(leaf.get("uuid"), str) or "parentUuid" not in leaf:
        return turns  # no threading: the file's order
    branch: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    record: Mapping[str, Any] | None = leaf
    while record is not None:
        uuid = record.get("uuid")
        if not isinstance(uuid, str) or uuid in seen:
            break
        seen.add(uuid)
        if _is_turn(record):
            branch.append(record)
        parent = record.get("parentUuid")
        if parent is None:
            # A compaction starts a new chain; its logical parent goes on.
            parent = record.get("logicalParentUuid")
        record = by_uuid.get(parent) if isinstance(parent, str) else None
    branch.reverse()
    return branch


def _is_turn(record: object) -> bool:
    return (
        isinstance(record, Mapping)
        and record.get("type") in ("user", "assistant")
        and isinstance(record.get("message"), Mapping)
        and not record.get("isSidechain")
        and not record.get("isCompactSummary")
    )


def _blocks(content: object) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return [content]


def codex_items(records: Sequence[Any]) -> tuple[str | None, list[Any]]:
    """Return a Codex CLI rollout's instructions and its Responses items, in order."""
    instructions: str | None = None
    items: list[Any] = []
    for record in records:
        if not is_codex(record):
            continue
        payload = record["payload"]
        if record["type"] == "session_meta":
            text = payload.get("instructions")
            if isinstance(text, str) and text and instructions is None:
                instructions = text
        elif record["type"] == "response_item":
            items.append(payload)
    return instructions, items
