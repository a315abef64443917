"""Token accounting for OpenAI Chat Completions requests.

The machinery behind :func:`ctxchunk.tokens.count_messages`, which resolves the model
and the tokenizer and documents the rules; this module holds the constants and walks
the request. It imports nothing from the rest of ctxchunk but its exceptions, so
``tokens`` can import it without a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError

Counter = Callable[[str], int]


@attrs.frozen
class ToolFormat:
    """Token costs of the tool definitions (``tools=``) of a request.

    The names are the cookbook's (``num_tokens_for_tools``): ``func_init`` per
    function, ``prop_init`` once per function that has properties, ``prop_key`` per
    property, ``enum_init`` per property with an ``enum`` and ``enum_item`` per enum
    value, and ``func_end`` once for the whole tool list.
    """

    func_init: int
    prop_init: int
    prop_key: int
    enum_init: int
    enum_item: int
    func_end: int


@attrs.frozen
class ChatFormat:
    """How a model family frames a chat request, in tokens.

    A request costs ``reply_priming`` plus, per message, ``tokens_per_message``, the
    tokens of its role and text, and ``tokens_per_name`` more when it has a ``name``.
    ``tools`` is ``None`` for a family that predates tool calling.
    """

    family: str
    tokens_per_message: int
    tokens_per_name: int
    reply_priming: int
    tools: ToolFormat | None


# Source of the constants below: the OpenAI cookbook notebook "How to count tokens
# with tiktoken", github.com/openai/openai-cookbook, file
# examples/How_to_count_tokens_with_tiktoken.ipynb, sections 6 and 7 at commit
# c81359cd. Its num_tokens_from_messages and num_tokens_for_tools were checked there
# against the API's usage.prompt_tokens: 129 and 124 tokens for its messages example
# on gpt-4 and gpt-4o, 105 and 101 with its tools example. tests/test_chat.py
# reproduces all four.

GPT4O = ChatFormat(
    family="gpt-4o",
    tokens_per_message=3,
    tokens_per_name=1,
    reply_priming=3,
    tools=ToolFormat(
        func_init=7, prop_init=3, prop_key=3, enum_init=-3, enum_item=3, func_end=12
    ),
)
"""gpt-4o and gpt-4o-mini per the cookbook; also used for every other model on
``o200k_base`` (gpt-4.1, gpt-5, o-series, gpt-realtime), for which OpenAI publishes no
figures."""

GPT4 = ChatFormat(
    family="gpt-4",
    tokens_per_message=3,
    tokens_per_name=1,
    reply_priming=3,
    tools=ToolFormat(
        func_init=10, prop_init=3, prop_key=3, enum_init=-3, enum_item=3, func_end=12
    ),
)
"""gpt-4 and gpt-3.5-turbo (0613 and later) per the cookbook: every model on
``cl100k_base`` but gpt-3.5-turbo-0301."""

GPT35_0301 = ChatFormat(
    family="gpt-3.5-turbo-0301",
    tokens_per_message=4,
    tokens_per_name=-1,
    reply_priming=3,
    tools=None,
)
"""The retired gpt-3.5-turbo-0301, which drops the role when a message has a name: 4
tokens per message and -1 per name, per the same notebook at commit 06d9feb5."""

TOOL_CALL_TOKENS = 5
"""Fixed cost of one assistant tool call, on top of its name and arguments.

OpenAI publishes no formula for tool calls. This value reproduces the one public
measurement we know of: a gpt-4 request with an assistant tool call and its tool
result that the API billed at 35 prompt tokens (github.com/forestwanglin/openai-java,
issue 5, January 2024). Ids cannot be billed there (one 18-token call id would
overshoot that total); that the tool message's ``name``, which the API's tool message
does not define, is not billed either is an assumption.
"""

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
"""The roles the Chat Completions API accepts (``function`` is its deprecated form of
``tool``)."""

_KEYS = frozenset(
    {
        "role",
        "content",
        "name",
        "tool_calls",
        "tool_call_id",
        "function_call",
        "refusal",
    }
)


def format_for(model: str, encoding: str) -> ChatFormat:
    """Return the chat format of ``model``, whose encoding is ``encoding``."""
    if model.endswith(("gpt-3.5-turbo-0301", "gpt-35-turbo-0301")):
        return GPT35_0301
    return GPT4O if encoding == "o200k_base" else GPT4


def count_request(
    messages: Iterable[Mapping[str, Any]],
    tools: Iterable[Mapping[str, Any]] | None,
    fmt: ChatFormat,
    count: Counter,
) -> int:
    """Return the prompt tokens of a request; see ``tokens.count_messages``."""
    total = fmt.reply_priming
    for index, message in enumerate(_sequence(messages, "messages", "message dicts")):
        total += _count_message(message, index, fmt, count)
    if tools is not None:
        total += _count_tools(tools, fmt, count)
    return total


def _sequence(value: object, where: str, what: str) -> Iterable[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        hint = "; wrap a single one in a list" if isinstance(value, Mapping) else ""
        raise InvalidTypeError(
            f"{where} must be a list of {what}, got {type(value).__name__}: "
            f"{value!r:.80}{hint}"
        )
    return value


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"{where} must be a dict, got {type(value).__name__}: {value!r:.80}"
        )
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{where} must be a str, got {type(value).__name__}: {value!r:.80}"
        )
    return value


def _count_message(message: object, index: int, fmt: ChatFormat, count: Counter) -> int:
    where = f"messages[{index}]"
    message = _mapping(message, where)
    role = message.get("role")
    if role is None:
        raise InvalidArgumentError(
            f"{where} has no 'role'; give every message a role such as 'user'"
        )
    role = _text(role, f"{where}['role']")
    if role not in ROLES:
        raise InvalidArgumentError(
            f"{where}['role'] is {role!r}, which the Chat Completions API does not "
            f"accept; use one of {', '.join(sorted(ROLES))}"
        )
    for key, value in message.items():
        if key not in _KEYS and value is not None:
            raise InvalidArgumentError(
                f"{where} has the key {key!r}, which count_messages cannot count; it "
                f"knows {', '.join(sorted(_KEYS))}, so drop the others (such as the "
                f"response-only fields of a model_dump())"
            )

    total = fmt.tokens_per_message + count(role)
    total += _count_content(message.get("content"), f"{where}['content']", count)
    name = message.get("name")
    if name is not None:
        name = _text(name, f"{where}['name']")
        # A tool message has no name in the API; see TOOL_CALL_TOKENS.
        if role != "tool":
            total += count(name) + fmt.tokens_per_name
    refusal = message.get("refusal")
    if refusal is not None:
        total += count(_text(refusal, f"{where}['refusal']"))

    tool_calls = message.get("tool_calls")
    function_call = message.get("function_call")
    if (tool_calls is not None or function_call is not None) and role != "assistant":
        key = "tool_calls" if tool_calls is not None else "function_call"
        raise InvalidArgumentError(
            f"{where} has {key!r} but its role is {role!r}; only assistant messages "
            f"carry calls"
        )
    if tool_calls is not None:
        calls = _sequence(tool_calls, f"{where}['tool_calls']", "tool call dicts")
        for call_index, call in enumerate(calls):
            total += _count_tool_call(
                call, f"{where}['tool_calls'][{call_index}]", count
            )
    if function_call is not None:
        call_where = f"{where}['function_call']"
        total += _count_call(_mapping(function_call, call_where), call_where, count)

    tool_call_id = message.get("tool_call_id")
    if tool_call_id is not None:
        _text(tool_call_id, f"{where}['tool_call_id']")
        if role != "tool":
            raise InvalidArgumentError(
                f"{where} has 'tool_call_id' but its role is {role!r}; only tool "
                f"messages answer a call"
            )
    return total


def _count_content(content: object, where: str, count: Counter) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count(content)
    if not isinstance(content, (list, tuple)):
        raise InvalidTypeError(
            f"{where} must be a str, a list of content parts or None, got "
            f"{type(content).__name__}: {content!r:.80}"
        )
    total = 0
    for part_index, part in enumerate(content):
        part_where = f"{where}[{part_index}]"
        part = _mapping(part, part_where)
        kind = part.get("type")
        if kind == "text":
            total += count(_text(part.get("text"), f"{part_where}['text']"))
        elif kind == "refusal":
            total += count(_text(part.get("refusal"), f"{part_where}['refusal']"))
        else:
            raise InvalidArgumentError(
                f"{part_where} is a {kind!r} part, and count_messages counts only "
                f"'text' and 'refusal' parts (an image, audio or file costs tokens by "
                f"its size, which a text tokenizer cannot see); count that part "
                f"yourself and leave it out of what you pass here"
            )
    return total


def _count_tool_call(call: object, where: str, count: Counter) -> int:
    call = _mapping(call, where)
    kind = call.get("type")
    if kind == "function":
        body_where = f"{where}['function']"
        return _count_call(
            _mapping(call.get("function"), body_where), body_where, count
        )
    if kind == "custom":
        body_where = f"{where}['custom']"
        body = _mapping(call.get("custom"), body_where)
        return (
            TOOL_CALL_TOKENS
            + count(_text(body.get("name"), f"{body_where}['name']"))
            + count(_text(body.get("input"), f"{body_where}['input']"))
        )
    raise InvalidArgumentError(
        f"{where}['type'] is {kind!r}; a tool call's type must be 'function' or "
        f"'custom'"
    )


def _count_call(body: Mapping[str, Any], where: str, count: Counter) -> int:
    arguments = body.get("arguments")
    if not isinstance(arguments, str):
        raise InvalidTypeError(
            f"{where}['arguments'] must be the JSON text of the arguments, got "
            f"{type(arguments).__name__}: {arguments!r:.80}; pass json.dumps(...) of it"
        )
    name = _text(body.get("name"), f"{where}['name']")
    return TOOL_CALL_TOKENS + count(name) + count(arguments)


def _count_tools(
    tools: Iterable[Mapping[str, Any]], fmt: ChatFormat, count: Counter
) -> int:
    definitions = list(_sequence(tools, "tools", "tool definition dicts"))
    if not definitions:
        return 0
    costs = fmt.tools
    if costs is None:
        raise InvalidArgumentError(
            f"tools were given, but {fmt.family} predates tool calling; count for a "
            f"later model such as 'gpt-3.5-turbo-0125' or pass tools=None"
        )
    total = costs.func_end
    for tool_index, tool in enumerate(definitions):
        where = f"tools[{tool_index}]"
        tool = _mapping(tool, where)
        if tool.get("type") != "function":
            raise InvalidArgumentError(
                f"{where}['type'] is {tool.get('type')!r}; count_messages counts "
                f"'function' tools only"
            )
        where += "['function']"
        function = _mapping(tool.get("function"), where)
        name = _text(function.get("name"), f"{where}['name']")
        description = _optional_text(function, "description", where)
        total += costs.func_init + count(f"{name}:{_trim_period(description)}")
        parameters = function.get("parameters")
        if parameters is None:
            continue
        where += "['parameters']"
        properties = _mapping(parameters, where).get("properties")
        if not properties:
            continue
        where += "['properties']"
        total += costs.prop_init
        for key, schema in _mapping(properties, where).items():
            total += costs.prop_key + _count_property(
                key, schema, f"{where}[{key!r}]", costs, count
            )
    return total


def _count_property(
    key: str, schema: object, where: str, costs: ToolFormat, count: Counter
) -> int:
    schema = _mapping(schema, where)
    total = 0
    enum = schema.get("enum")
    if enum is not None:
        total += costs.enum_init
        for item in _sequence(enum, f"{where}['enum']", "values"):
            text = item if isinstance(item, str) else _json(item, f"{where}['enum']")
            total += costs.enum_item + count(text)
    kind = schema.get("type", "")
    if isinstance(kind, (list, tuple)):
        kind = " | ".join(_text(k, f"{where}['type']") for k in kind)
    kind = _text(kind, f"{where}['type']")
    description = _optional_text(schema, "description", where)
    total += count(f"{key}:{kind}:{_trim_period(description)}")
    # The cookbook's formula covers flat properties only. Anything else a schema holds
    # (items, nested properties, anyOf, format, ...) is counted as its compact JSON,
    # an over-estimate of the TypeScript-like text the API renders it as.
    rest = {k: v for k, v in schema.items() if k not in {"type", "description", "enum"}}
    if rest:
        total += count(_json(rest, where))
    return total


def _optional_text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    return "" if value is None else _text(value, f"{where}[{key!r}]")


def _trim_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def _json(value: object, where: str) -> str:
    # The API receives the schema as standard JSON, which has no NaN or Infinity.
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except TypeError as exc:
        raise InvalidTypeError(
            f"{where} holds a value that is not JSON ({exc}); tool schemas must be "
            f"plain JSON data"
        ) from None
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{where} holds a value that JSON cannot represent ({exc}); use finite "
            f"numbers, and no value that contains itself"
        ) from None
