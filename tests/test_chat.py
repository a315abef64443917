"""Tests for chat accounting: ctxchunk.tokens.count_messages and ctxchunk._chat."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk import _chat
from ctxchunk._openai_chat import answer_cost, chat_format, unit_cost, unit_messages
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.exceptions import (
    EncodingError,
    InvalidArgumentError,
    InvalidTypeError,
    UnknownTokenizerError,
)
from ctxchunk.roles import Kind
from ctxchunk.tokens import count_messages, get_tokenizer
from tests.strategies import chunks

# The worked examples of the OpenAI cookbook "How to count tokens with tiktoken"
# (openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb), whose
# totals the notebook checked against the API's usage.prompt_tokens.
COOKBOOK_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates "
        "corporate jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on "
        "opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the "
        "client deliverable.",
    },
]
COOKBOOK_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
COOKBOOK_TOOL_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about "
        "the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]

# A request the API billed at 35 prompt tokens on gpt-4, reported in
# github.com/forestwanglin/openai-java issue 5 (January 2024); the basis of
# _chat.TOOL_CALL_TOKENS.
MEASURED_TOOL_CALL: list[dict[str, Any]] = [
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_Id8ycVMsW8gdsf7kSXfgAcf1",
                "type": "function",
                "function": {
                    "name": "get_current_weather",
                    "arguments": '{\n  "location": "Boston, MA"\n}',
                },
            }
        ],
    },
    {
        "role": "tool",
        "tool_call_id": "call_Id8ycVMsW8gdsf7kSXfgAcf1",
        "name": "get_current_weather",
        "content": "29 degree celcius",
    },
]


def o200k(text: str) -> int:
    return get_tokenizer("o200k_base").count(text)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


class TestCookbookExamples:
    @pytest.mark.parametrize(
        ("model", "expected"),
        [
            ("gpt-3.5-turbo", 129),
            ("gpt-3.5-turbo-0613", 129),
            ("gpt-3.5-turbo-0125", 129),
            ("gpt-4-0314", 129),
            ("gpt-4-0613", 129),
            ("gpt-4", 129),
            ("gpt-4o", 124),
            ("gpt-4o-2024-08-06", 124),
            ("gpt-4o-mini", 124),
            ("gpt-4o-mini-2024-07-18", 124),
            ("gpt-3.5-turbo-0301", 127),
        ],
    )
    def test_messages_example(self, model: str, expected: int) -> None:
        """The cookbook's messages example counts what the API billed for it."""
        assert count_messages(COOKBOOK_MESSAGES, model=model) == expected

    @pytest.mark.parametrize(
        ("model", "expected"),
        [("gpt-3.5-turbo", 105), ("gpt-4", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)],
    )
    def test_tools_example(self, model: str, expected: int) -> None:
        """The cookbook's tools example counts what the API billed for it."""
        got = count_messages(COOKBOOK_TOOL_MESSAGES, model=model, tools=COOKBOOK_TOOLS)
        assert got == expected

    def test_measured_tool_call(self) -> None:
        """A measured tool call and its result count the 35 tokens billed for them."""
        assert count_messages(MEASURED_TOOL_CALL, model="gpt-4") == 35

    @pytest.mark.parametrize(
        "model", ["gpt-4.1", "gpt-5", "o3", "gpt-realtime", "gpt-4o-realtime-preview"]
    )
    def test_other_o200k_models_count_like_gpt4o(self, model: str) -> None:
        """Newer models on o200k_base use the gpt-4o constants."""
        assert count_messages(COOKBOOK_MESSAGES, model=model) == 124
        tools = count_messages(
            COOKBOOK_TOOL_MESSAGES, model=model, tools=COOKBOOK_TOOLS
        )
        assert tools == 101

    @pytest.mark.parametrize(
        ("encoding", "model"), [("o200k_base", "gpt-4o"), ("cl100k_base", "gpt-4")]
    )
    def test_encoding_name_stands_for_its_family(
        self, encoding: str, model: str
    ) -> None:
        """An encoding name as model counts like that encoding's model family."""
        for tools in (None, COOKBOOK_TOOLS):
            assert count_messages(
                COOKBOOK_TOOL_MESSAGES, model=encoding, tools=tools
            ) == count_messages(COOKBOOK_TOOL_MESSAGES, model=model, tools=tools)

    def test_default_model_is_gpt4o(self) -> None:
        """Without a model, a request is counted for gpt-4o."""
        assert count_messages(COOKBOOK_MESSAGES) == 124


roles = st.sampled_from(sorted(_chat.ROLES - {"tool"}))


@st.composite
def plain_messages(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": draw(roles), "content": draw(st.text())}
    if draw(st.booleans()):
        message["name"] = draw(st.text(min_size=1))
    return message


class TestFraming:
    @given(messages=st.lists(plain_messages()))
    def test_plain_messages_follow_the_formula(
        self, messages: list[dict[str, Any]]
    ) -> None:
        """Each message costs 3 + role + content (+ 1 + name), and the reply 3."""
        expected = 3
        for message in messages:
            expected += 3 + o200k(message["role"]) + o200k(message["content"])
            if "name" in message:
                expected += 1 + o200k(message["name"])
        assert count_messages(messages) == expected

    @given(first=st.lists(plain_messages()), second=st.lists(plain_messages()))
    def test_count_is_additive(
        self, first: list[dict[str, Any]], second: list[dict[str, Any]]
    ) -> None:
        """Two runs of messages cost their sum less one reply priming."""
        assert (
            count_messages(first + second)
            == count_messages(first) + count_messages(second) - 3
        )

    def test_empty_request_is_the_reply_priming(self) -> None:
        """No messages cost the 3 tokens that prime the reply."""
        assert count_messages([]) == 3
        assert count_messages([], tools=[]) == 3

    def test_name_on_0301_replaces_the_role(self) -> None:
        """On gpt-3.5-turbo-0301 a message costs 4, and a name 1 less than its text."""
        message = {"role": "user", "name": "alice", "content": "hi"}
        tokenizer = get_tokenizer("cl100k_base")
        expected = 3 + 4 + sum(tokenizer.count(v) for v in message.values()) - 1
        assert count_messages([message], model="gpt-3.5-turbo-0301") == expected

    def test_sequences_and_iterables_count_alike(self) -> None:
        """A list, a tuple and a generator of the same messages count the same."""
        expected = count_messages(COOKBOOK_MESSAGES)
        assert count_messages(tuple(COOKBOOK_MESSAGES)) == expected
        assert count_messages(m for m in COOKBOOK_MESSAGES) == expected

    def test_none_valued_keys_are_ignored(self) -> None:
        """Keys set to None, as in a model_dump(), cost nothing and are allowed."""
        dumped = {
            "role": "assistant",
            "content": "Hello there.",
            "refusal": None,
            "audio": None,
            "function_call": None,
            "tool_calls": None,
            "name": None,
        }
        plain = {"role": "assistant", "content": "Hello there."}
        assert count_messages([dumped]) == count_messages([plain])

    def test_input_is_not_mutated(self) -> None:
        """Counting leaves the messages and tools as they were."""
        messages = copy.deepcopy(COOKBOOK_TOOL_MESSAGES + MEASURED_TOOL_CALL)
        tools = copy.deepcopy(COOKBOOK_TOOLS)
        count_messages(messages, tools=tools)
        assert messages == COOKBOOK_TOOL_MESSAGES + MEASURED_TOOL_CALL
        assert tools == COOKBOOK_TOOLS


class TestContent:
    @pytest.mark.parametrize("content", [None, "", []])
    def test_empty_content_costs_nothing(self, content: Any) -> None:
        """None, an empty string and an empty part list add no tokens."""
        assert count_messages([user(content)]) == 3 + 3 + o200k("user")

    def test_text_parts_are_counted_one_by_one(self) -> None:
        """Text parts are counted separately and summed, not joined first."""
        parts = [
            {"type": "text", "text": "Hello"},
            {"type": "text", "text": " world"},
            {"type": "text", "text": "!!"},
        ]
        pieces = sum(o200k(p["text"]) for p in parts)
        assert count_messages([user(parts)]) == 3 + 3 + o200k("user") + pieces

    def test_refusal_is_counted_like_text(self) -> None:
        """A refusal part, or a refusal on the message, counts as its text."""
        refusal = "I can't help with that."
        as_part = {
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": refusal}],
        }
        as_key = {"role": "assistant", "refusal": refusal}
        as_text = {"role": "assistant", "content": refusal}
        expected = count_messages([as_text])
        assert count_messages([as_part]) == count_messages([as_key]) == expected

    @pytest.mark.parametrize(
        "part",
        [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            {"type": "file", "file": {"file_id": "file-123"}},
            {"text": "no type"},
        ],
        ids=["image", "audio", "file", "untyped"],
    )
    def test_non_text_parts_raise(self, part: dict[str, Any]) -> None:
        """A part that is not text raises, naming where it is and what to do."""
        content = [{"type": "text", "text": "look"}, part]
        with pytest.raises(InvalidArgumentError) as info:
            count_messages([user("hi"), user(content)])
        message = str(info.value)
        assert "messages[1]['content'][1]" in message
        assert "count that part yourself" in message

    @pytest.mark.parametrize(
        ("content", "where"),
        [
            (5, "messages[0]['content']"),
            ({"type": "text", "text": "x"}, "messages[0]['content']"),
            (b"bytes", "messages[0]['content']"),
            (["just a string"], "messages[0]['content'][0]"),
            ([{"type": "text"}], "messages[0]['content'][0]['text']"),
            ([{"type": "text", "text": 3}], "messages[0]['content'][0]['text']"),
        ],
    )
    def test_wrong_content_types_raise(self, content: Any, where: str) -> None:
        """Content of the wrong type raises InvalidTypeError naming its place."""
        with pytest.raises(InvalidTypeError) as info:
            count_messages([user(content)])
        assert str(info.value).startswith(where + " must be")

    def test_lone_surrogate_raises_encoding_error(self) -> None:
        """Text that cannot be encoded raises the tokenizer's EncodingError."""
        with pytest.raises(EncodingError, match="at offset 2,"):
            count_messages([user("ab\ud800")])


def call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def assistant_calls(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


class TestToolCalls:
    def test_a_call_costs_five_plus_name_and_arguments(self) -> None:
        """One tool call adds 5 tokens plus its name and its arguments text."""
        args = '{"query": "weather in Paris", "units": "metric"}'
        base = count_messages([{"role": "assistant", "content": None}])
        got = count_messages([assistant_calls(call("search", args))])
        assert got - base == 5 + o200k("search") + o200k(args)
        assert _chat.TOOL_CALL_TOKENS == 5

    def test_calls_add_up(self) -> None:
        """Parallel calls each add their own cost."""
        one = call("a", "{}")
        two = call("bb", '{"x": 1}', "call_2")
        base = count_messages([{"role": "assistant"}])
        first = count_messages([assistant_calls(one)]) - base
        second = count_messages([assistant_calls(two)]) - base
        assert count_messages([assistant_calls(one, two)]) - base == first + second

    @given(call_id=st.text())
    def test_ids_cost_nothing(self, call_id: str) -> None:
        """Neither a call's id nor a tool message's tool_call_id is counted."""
        request = [
            assistant_calls(call("f", "{}", call_id)),
            {"role": "tool", "tool_call_id": call_id, "content": "done"},
        ]
        reference = [
            assistant_calls(call("f", "{}", "x")),
            {"role": "tool", "tool_call_id": "x", "content": "done"},
        ]
        assert count_messages(request) == count_messages(reference)

    def test_arguments_are_counted_as_given(self) -> None:
        """Arguments are counted verbatim, so whitespace in the JSON counts."""
        compact = count_messages([assistant_calls(call("f", '{"a":1}'))])
        spaced = count_messages([assistant_calls(call("f", '{\n  "a": 1\n}'))])
        assert spaced - compact == o200k('{\n  "a": 1\n}') - o200k('{"a":1}')

    def test_content_and_calls_both_count(self) -> None:
        """An assistant message with text and calls pays for both."""
        text_only = count_messages([{"role": "assistant", "content": "Let me check."}])
        calls_only = count_messages([assistant_calls(call("f", "{}"))])
        both = count_messages(
            [{**assistant_calls(call("f", "{}")), "content": "Let me check."}]
        )
        base = count_messages([{"role": "assistant"}])
        assert both == text_only + calls_only - base

    def test_custom_call_counts_name_and_input(self) -> None:
        """A custom tool call costs 5 plus its name and its input text."""
        custom = {
            "id": "call_9",
            "type": "custom",
            "custom": {"name": "shell", "input": "ls -la"},
        }
        base = count_messages([{"role": "assistant"}])
        got = count_messages([assistant_calls(custom)]) - base
        assert got == 5 + o200k("shell") + o200k("ls -la")

    def test_legacy_function_call_counts_as_one_call(self) -> None:
        """The deprecated function_call costs what the same tool call does."""
        legacy = {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "f", "arguments": '{"a": 1}'},
        }
        assert count_messages([legacy]) == count_messages(
            [assistant_calls(call("f", '{"a": 1}'))]
        )

    def test_tool_message_counts_role_and_content(self) -> None:
        """A tool message costs 3 + role + content; its name is not counted."""
        result = {"role": "tool", "tool_call_id": "c", "content": "72F and sunny"}
        expected = 3 + 3 + o200k("tool") + o200k("72F and sunny")
        assert count_messages([result]) == expected
        assert count_messages([{**result, "name": "get_weather"}]) == expected

    def test_function_message_counts_its_name(self) -> None:
        """A legacy function-role message pays for its name like any other."""
        message = {"role": "function", "name": "f", "content": "42"}
        expected = 3 + 3 + o200k("function") + o200k("42") + 1 + o200k("f")
        assert count_messages([message]) == expected

    @pytest.mark.parametrize(
        ("message", "error", "where"),
        [
            (
                {"role": "user", "tool_calls": [call("f", "{}")]},
                InvalidArgumentError,
                "messages[0] has 'tool_calls' but its role is 'user'",
            ),
            (
                {"role": "tool", "function_call": {"name": "f", "arguments": "{}"}},
                InvalidArgumentError,
                "messages[0] has 'function_call' but its role is 'tool'",
            ),
            (
                {"role": "assistant", "tool_calls": call("f", "{}")},
                InvalidTypeError,
                "messages[0]['tool_calls'] must be a list",
            ),
            (
                assistant_calls("not a dict"),  # type: ignore[arg-type]
                InvalidTypeError,
                "messages[0]['tool_calls'][0] must be a dict",
            ),
            (
                assistant_calls({**call("f", "{}"), "type": "code"}),
                InvalidArgumentError,
                "messages[0]['tool_calls'][0]['type'] is 'code'",
            ),
            (
                assistant_calls({"id": "c", "type": "function"}),
                InvalidTypeError,
                "messages[0]['tool_calls'][0]['function'] must be a dict",
            ),
            (
                assistant_calls(
                    {"type": "function", "function": {"name": "f", "arguments": {}}}
                ),
                InvalidTypeError,
                "messages[0]['tool_calls'][0]['function']['arguments'] must be the "
                "JSON text",
            ),
            (
                assistant_calls({"type": "function", "function": {"arguments": "{}"}}),
                InvalidTypeError,
                "messages[0]['tool_calls'][0]['function']['name'] must be a str",
            ),
            (
                {"role": "user", "tool_call_id": "c", "content": "x"},
                InvalidArgumentError,
                "messages[0] has 'tool_call_id' but its role is 'user'",
            ),
            (
                {"role": "tool", "tool_call_id": 7, "content": "x"},
                InvalidTypeError,
                "messages[0]['tool_call_id'] must be a str",
            ),
        ],
    )
    def test_malformed_calls_raise(
        self, message: dict[str, Any], error: type[Exception], where: str
    ) -> None:
        """Calls in the wrong place or of the wrong shape raise, naming the place."""
        with pytest.raises(error) as info:
            count_messages([message])
        assert str(info.value).startswith(where)


def function_tool(function: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": function}


def tools_cost(tools: list[dict[str, Any]], model: str = "gpt-4o") -> int:
    return count_messages([], model=model, tools=tools) - 3


class TestToolDefinitions:
    def test_cost_is_independent_of_messages(self) -> None:
        """Tool definitions add the same tokens whatever the messages are."""
        for messages in ([], COOKBOOK_MESSAGES, MEASURED_TOOL_CALL):
            assert count_messages(messages, tools=COOKBOOK_TOOLS) == count_messages(
                messages
            ) + tools_cost(COOKBOOK_TOOLS)

    def test_function_without_parameters(self) -> None:
        """A bare function costs func_init, 'name:description' and func_end."""
        tool = function_tool({"name": "ping", "description": "Check the server."})
        assert tools_cost([tool]) == 7 + o200k("ping:Check the server") + 12
        cl100k = get_tokenizer("cl100k_base").count("ping:Check the server")
        assert tools_cost([tool], model="gpt-4") == 10 + cl100k + 12

    def test_missing_description_is_empty(self) -> None:
        """A function or property without a description counts an empty one."""
        tool = function_tool(
            {
                "name": "f",
                "parameters": {
                    "type": "object",
                    "properties": {"q": {"type": "string"}},
                },
            }
        )
        assert tools_cost([tool]) == 7 + o200k("f:") + 3 + 3 + o200k("q:string:") + 12

    def test_empty_properties_add_no_prop_init(self) -> None:
        """A function whose parameters have no properties costs like a bare one."""
        bare = function_tool({"name": "f", "description": "d"})
        empty = function_tool(
            {"name": "f", "description": "d", "parameters": {"type": "object"}}
        )
        no_props = function_tool(
            {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {}},
            }
        )
        assert tools_cost([bare]) == tools_cost([empty]) == tools_cost([no_props])

    def test_enum_values_cost_their_text(self) -> None:
        """An enum adds enum_init once and enum_item plus its text per value."""
        prop = {"type": "integer", "description": "Level.", "enum": [1, 2, 3]}
        tool = function_tool(
            {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {"level": prop}},
            }
        )
        enum = -3 + sum(3 + o200k(str(v)) for v in (1, 2, 3))
        head = 7 + o200k("f:d") + 3 + 3
        assert tools_cost([tool]) == head + enum + o200k("level:integer:Level") + 12

    def test_type_lists_and_nested_schemas(self) -> None:
        """A list type is joined with ' | ' and other schema keys count as JSON."""
        prop = {
            "type": ["array", "null"],
            "description": "Tags",
            "items": {"type": "string"},
        }
        tool = function_tool(
            {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {"tags": prop}},
            }
        )
        nested = o200k(json.dumps({"items": {"type": "string"}}, separators=(",", ":")))
        line = o200k("tags:array | null:Tags")
        assert tools_cost([tool]) == 7 + o200k("f:d") + 3 + 3 + line + nested + 12

    def test_func_end_is_paid_once(self) -> None:
        """Two tools cost their parts plus a single func_end."""
        a = function_tool({"name": "a", "description": "x"})
        b = function_tool({"name": "b", "description": "y"})
        assert tools_cost([a, b]) == tools_cost([a]) + tools_cost([b]) - 12

    def test_tools_on_0301_raise(self) -> None:
        """Tools for a model that predates tool calling raise, naming the model."""
        with pytest.raises(InvalidArgumentError, match=r"gpt-3\.5-turbo-0301 predates"):
            count_messages([], model="gpt-3.5-turbo-0301", tools=COOKBOOK_TOOLS)
        assert count_messages([], model="gpt-3.5-turbo-0301", tools=[]) == 3

    @pytest.mark.parametrize(
        ("tools", "error", "where"),
        [
            ({"type": "function"}, InvalidTypeError, "tools must be a list"),
            ("search", InvalidTypeError, "tools must be a list"),
            (["search"], InvalidTypeError, "tools[0] must be a dict"),
            (
                [{"type": "web_search"}],
                InvalidArgumentError,
                "tools[0]['type'] is 'web_search'",
            ),
            (
                [{"type": "function"}],
                InvalidTypeError,
                "tools[0]['function'] must be a dict",
            ),
            (
                [function_tool({"description": "d"})],
                InvalidTypeError,
                "tools[0]['function']['name'] must be a str",
            ),
            (
                [function_tool({"name": "f", "description": 3})],
                InvalidTypeError,
                "tools[0]['function']['description'] must be a str",
            ),
            (
                [function_tool({"name": "f", "parameters": {"properties": {"a": 1}}})],
                InvalidTypeError,
                "tools[0]['function']['parameters']['properties']['a'] must be a dict",
            ),
            (
                [
                    function_tool(
                        {
                            "name": "f",
                            "parameters": {"properties": {"a": {"default": {1, 2}}}},
                        }
                    )
                ],
                InvalidTypeError,
                "tools[0]['function']['parameters']['properties']['a'] holds a value "
                "that is not JSON",
            ),
            (
                [
                    function_tool(
                        {
                            "name": "f",
                            "parameters": {
                                "properties": {"a": {"default": float("nan")}}
                            },
                        }
                    )
                ],
                InvalidArgumentError,
                "tools[0]['function']['parameters']['properties']['a'] holds a value "
                "that JSON cannot represent",
            ),
            (
                [
                    function_tool(
                        {
                            "name": "f",
                            "parameters": {
                                "properties": {
                                    "a": {"type": "number", "enum": [float("inf")]}
                                }
                            },
                        }
                    )
                ],
                InvalidArgumentError,
                "tools[0]['function']['parameters']['properties']['a']['enum'] holds "
                "a value that JSON cannot represent",
            ),
        ],
    )
    def test_malformed_tools_raise(
        self, tools: Any, error: type[Exception], where: str
    ) -> None:
        """Malformed tool definitions raise, naming the place."""
        with pytest.raises(error) as info:
            count_messages([], tools=tools)
        assert str(info.value).startswith(where)


class TestBadMessages:
    @pytest.mark.parametrize("model", [None, 4, ["gpt-4o"], b"gpt-4o"])
    def test_model_must_be_a_str(self, model: Any) -> None:
        """A model that is not a str is an InvalidTypeError naming model."""
        with pytest.raises(InvalidTypeError, match=r"^model must be a str"):
            count_messages([user("hi")], model=model)

    @pytest.mark.parametrize(
        ("messages", "hint"),
        [
            ("hello", ""),
            (None, ""),
            (5, ""),
            ({"role": "user", "content": "hi"}, "wrap a single one in a list"),
        ],
    )
    def test_messages_must_be_a_list(self, messages: Any, hint: str) -> None:
        """Anything but an iterable of messages raises InvalidTypeError."""
        with pytest.raises(InvalidTypeError, match="messages must be a list") as info:
            count_messages(messages)
        assert isinstance(info.value, TypeError)
        assert hint in str(info.value)

    @pytest.mark.parametrize("message", ["hi", None, ["user", "hi"], 3])
    def test_message_must_be_a_dict(self, message: Any) -> None:
        """A message that is not a dict raises InvalidTypeError naming its index."""
        with pytest.raises(InvalidTypeError, match=r"^messages\[1\] must be a dict"):
            count_messages([user("ok"), message])

    @pytest.mark.parametrize(
        ("message", "error", "start"),
        [
            ({"content": "hi"}, InvalidArgumentError, "messages[2] has no 'role'"),
            ({"role": None}, InvalidArgumentError, "messages[2] has no 'role'"),
            ({"role": 1}, InvalidTypeError, "messages[2]['role'] must be a str"),
            (
                {"role": "bot", "content": "hi"},
                InvalidArgumentError,
                "messages[2]['role'] is 'bot'",
            ),
            (
                {"role": "User", "content": "hi"},
                InvalidArgumentError,
                "messages[2]['role'] is 'User'",
            ),
            (
                {"role": "user", "content": "hi", "name": 5},
                InvalidTypeError,
                "messages[2]['name'] must be a str",
            ),
            (
                {"role": "assistant", "refusal": ["no"]},
                InvalidTypeError,
                "messages[2]['refusal'] must be a str",
            ),
            (
                {"role": "user", "content": "hi", "metadata": {"a": 1}},
                InvalidArgumentError,
                "messages[2] has the key 'metadata'",
            ),
            (
                {"role": "assistant", "audio": {"id": "audio_1"}},
                InvalidArgumentError,
                "messages[2] has the key 'audio'",
            ),
        ],
    )
    def test_malformed_message_names_its_index(
        self, message: dict[str, Any], error: type[Exception], start: str
    ) -> None:
        """A malformed message raises the right error, naming its index first."""
        with pytest.raises(error) as info:
            count_messages([user("a"), user("b"), message])
        assert str(info.value).startswith(start)

    def test_unknown_model_raises(self) -> None:
        """An unknown model raises UnknownTokenizerError; a non-str, a type error."""
        with pytest.raises(UnknownTokenizerError, match="'claude-3'"):
            count_messages(COOKBOOK_MESSAGES, model="claude-3")
        with pytest.raises(InvalidTypeError):
            count_messages(COOKBOOK_MESSAGES, model=4)  # type: ignore[arg-type]


class CountingTokenizer:
    """One token per character; records every text it is asked to count."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(map(chr, ids))

    def count(self, text: str) -> int:
        self.seen.append(text)
        return len(text)


class TestTokenizerOption:
    def test_custom_tokenizer_counts_the_text(self) -> None:
        """A custom tokenizer counts the text; the model still sets the framing."""
        counter = CountingTokenizer()
        messages = [{"role": "user", "name": "ann", "content": "hello"}]
        got = count_messages(messages, model="gpt-3.5-turbo-0301", tokenizer=counter)
        assert got == 3 + 4 + len("user") + len("hello") + len("ann") - 1

    def test_each_text_is_counted_once(self) -> None:
        """Work is one count per text in the request, so cost grows with its size."""
        counter = CountingTokenizer()
        count_messages(
            COOKBOOK_MESSAGES + MEASURED_TOOL_CALL,
            tools=COOKBOOK_TOOLS,
            tokenizer=counter,
        )
        texts = 0
        for message in COOKBOOK_MESSAGES:
            texts += len(message)
        texts += 1 + 2  # the assistant's role, the call's name and arguments
        texts += 2  # the tool message's role and content
        texts += 1 + 2  # the function line and the two property lines
        texts += 2  # the two enum values
        assert len(counter.seen) == texts

    def test_encoding_name_as_tokenizer(self) -> None:
        """An encoding name as tokenizer counts with that encoding."""
        messages = [user("お誕生日おめでとう")]
        got = count_messages(messages, model="gpt-4o", tokenizer="cl100k_base")
        cl100k = get_tokenizer("cl100k_base")
        assert got == 3 + 3 + cl100k.count("user") + cl100k.count("お誕生日おめでとう")


_TOOLS = get_tokenizer("o200k_base")


def _tool_chunk(kind: str, text: str, source: str, call_id: str | None) -> Chunk:
    return Chunk.create(
        text,
        role="tool",
        kind=kind,
        source=source,
        meta=ChunkMeta(call_id=call_id, tool_name="search" if call_id else None),
        tokens=_TOOLS.count(text),
    )


@st.composite
def _groups_and_answers(draw: st.DrawFn) -> tuple[list[Chunk], Chunk]:
    """A tool group as the window holds one, and a result about to join it.

    Calls of one or two parts, call ids shared by two calls, calls answered
    already (by one part or several), results for calls that have none.
    """
    ids = ["call_a", "call_b", "call_c"]
    texts = st.sampled_from(['{"q": "ferry"}', '{"q": "lamp refund"}', "{}", "ok", " "])
    group: list[Chunk] = []
    for index in range(draw(st.integers(1, 3))):
        call_id = draw(st.sampled_from(ids))
        parts = draw(st.integers(1, 2))
        for part in range(parts):
            text = draw(texts)
            chunk = _tool_chunk("tool_call", text, f"call-{index}", call_id)
            group.append(attrs.evolve(chunk, part=part, parts=parts))
    called = sorted({c.meta.call_id or "" for c in group})
    for index in range(draw(st.integers(0, 3))):
        call_id = draw(st.sampled_from(called))
        group.append(_tool_chunk("tool_result", draw(texts), f"r-{index}", call_id))
    answer = _tool_chunk(
        "tool_result",
        draw(texts) + " found it",
        "answer",
        draw(st.sampled_from(called)),
    )
    return group, answer


@given(_groups_and_answers())
def test_an_answer_is_priced_like_the_whole_group_again(
    case: tuple[list[Chunk], Chunk],
) -> None:
    """answer_cost, when it prices a result, gives what the grown group adds.

    The reference is count_messages over the messages each group renders to, not
    the window's own unit_cost.
    """
    group, answer = case
    fmt = chat_format("o200k_base")

    def cost(chunks: Sequence[Chunk]) -> int:
        return count_messages(unit_messages(chunks), tokenizer=_TOOLS)

    added = answer_cost(group, answer, fmt, _TOOLS.count)
    if added is not None:
        assert added == cost([*group, answer]) - cost(group)


def test_a_first_answer_is_priced_without_planning() -> None:
    """The usual case, a call's first result, is the one answer_cost prices."""
    call = _tool_chunk("tool_call", '{"q": "ferry"}', "call-0", "call_a")
    other = _tool_chunk("tool_call", "{}", "call-1", "call_b")
    first = _tool_chunk("tool_result", "Ferries run hourly.", "r-0", "call_a")
    second = _tool_chunk("tool_result", "No lamps.", "r-1", "call_b")
    fmt = chat_format("o200k_base")
    assert answer_cost([call], first, fmt, _TOOLS.count) is not None
    assert answer_cost([call, other, first], second, fmt, _TOOLS.count) is not None
    assert answer_cost([call, first], second, fmt, _TOOLS.count) is None


@given(chunks())
def test_one_chunk_is_priced_like_its_messages(chunk: Chunk) -> None:
    """unit_cost of a unit of one chunk (the shortcuts for turns, summaries and tool
    results included) is what count_messages gives its rendered messages."""
    if chunk.kind is Kind.TOOL_CALL:
        return  # a call alone is no unit the window renders (it waits for a result)
    chunk = attrs.evolve(chunk, tokens=_TOOLS.count(chunk.text))
    fmt = chat_format("o200k_base")
    priming = count_messages([], tokenizer=_TOOLS)
    rendered = count_messages(unit_messages([chunk]), tokenizer=_TOOLS)
    assert unit_cost([chunk], fmt, _TOOLS.count) == rendered - priming
