"""Check renderings against the official SDKs' own request types.

Each check validates with pydantic over the SDK's TypedDict param types (unknown
keys forbidden, lazily validated iterables forced) and requires the validated value
to equal the input, so a value the SDK would read differently fails too.
"""

from __future__ import annotations

import collections
from typing import Any

from anthropic.types import MessageParam, ToolParam
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from openai.types.realtime import RealtimeClientEventParam
from openai.types.responses import FunctionToolParam, ResponseInputItemParam
from pydantic import ConfigDict, TypeAdapter

COUNTS: collections.Counter[str] = collections.Counter()
"""How many values each check validated (for reports)."""

_FORBID = ConfigDict(extra="forbid")
_ADAPTERS = {
    "chat messages": TypeAdapter(list[ChatCompletionMessageParam], config=_FORBID),
    "chat tools": TypeAdapter(list[ChatCompletionToolParam], config=_FORBID),
    "responses input": TypeAdapter(list[ResponseInputItemParam], config=_FORBID),
    "responses tools": TypeAdapter(list[FunctionToolParam], config=_FORBID),
    "realtime events": TypeAdapter(list[RealtimeClientEventParam], config=_FORBID),
    "anthropic messages": TypeAdapter(list[MessageParam], config=_FORBID),
    "anthropic tools": TypeAdapter(list[ToolParam], config=_FORBID),
}


def _force(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    if hasattr(value, "model_dump"):  # an SDK model: not the param shape
        return value
    return [_force(v) for v in value]


def check(kind: str, values: list[Any]) -> None:
    """Assert every value is a valid ``kind`` (a key of the adapters) for the SDK."""
    validated = _force(_ADAPTERS[kind].validate_python(values))
    assert validated == values, (kind, values)
    COUNTS[kind] += len(values)
