"""ctxchunk.adapters.llamaindex: LlamaIndex ChatMessage in and out.

Every rendering is rebuilt by LlamaIndex's own pydantic models
(``ChatMessage.model_validate`` of its dump must give it back), and its Chat form is
checked with the OpenAI SDK's request types.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    CitableBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from ctxchunk import ContextWindow, count_messages
from ctxchunk._wire_read import read_content
from ctxchunk.adapters import MissingExtraError
from ctxchunk.adapters._chat import render
from ctxchunk.adapters.llamaindex import (
    _chat_messages,
    add_llamaindex_messages,
    session_from_llamaindex,
    to_llamaindex_messages,
)
from ctxchunk.exceptions import InvalidTypeError, TranscriptError
from ctxchunk.session import ToolCallEvent
from tests import adapter_checks as checks
from tests.adapter_checks import (
    PIN_ROLES,
    add_pins_and_pages,
    assert_paired,
    pin_note,
    sdk_checked,
)
from tests.strategies import prose, window_policies, window_settings, window_texts

_TOOLS = ["search_docs", "get_weather", "query_engine_tool", "multiply"]
_KWARGS = st.dictionaries(
    st.sampled_from(["query", "city", "a", "b", "top_k"]),
    st.one_of(window_texts(max_words=5), st.integers(-100, 10**5), st.booleans()),
    max_size=3,
)
# Built once: a strategy made inside histories() would be made (and validated) again
# on every draw.
_STEPS = st.sampled_from(["user", "user", "assistant", "tools"])
_TOOL_NAMES = st.sampled_from(_TOOLS)
_ASSISTANT_ROLES = st.sampled_from([MessageRole.ASSISTANT, MessageRole.MODEL])
_CALL_SHAPES = st.sampled_from(["dict", "text", "legacy"])
_CALL_TEXTS = st.one_of(st.just(""), window_texts(max_words=12))


@st.composite
def histories(draw: st.DrawFn, *, max_steps: int = 7) -> list[ChatMessage]:
    """Draw a LlamaIndex agent history as FunctionAgent and the LLM integrations
    write it: ToolCallBlocks (kwargs a dict, or the JSON text OpenAI returned, or in
    an older integration's additional_kwargs), tool messages naming their call in
    additional_kwargs, image blocks, thinking blocks, long tool output."""
    messages: list[ChatMessage] = []
    if draw(st.booleans()):
        messages.append(
            ChatMessage(role=MessageRole.SYSTEM, content=draw(window_texts()))
        )
    calls = 0
    for _ in range(draw(st.integers(1, max_steps))):
        step = draw(_STEPS)
        if step == "user":
            blocks: list[Any] = [TextBlock(text=draw(window_texts(max_words=60)))]
            if draw(st.booleans()):
                blocks.append(ImageBlock(url=f"https://img.example/{calls}.png"))
            messages.append(ChatMessage(role=MessageRole.USER, blocks=blocks))
        elif step == "assistant":
            blocks = [TextBlock(text=draw(window_texts(max_words=60)))]
            if draw(st.booleans()):
                blocks.insert(0, ThinkingBlock(content="Let me think."))
            role = draw(_ASSISTANT_ROLES)
            messages.append(ChatMessage(role=role, blocks=blocks))
        else:
            count = draw(st.integers(1, 3))
            ids = [f"call_{calls + k}" for k in range(count)]
            calls += count
            kwargs = [draw(_KWARGS) for _ in ids]
            names = [draw(_TOOL_NAMES) for _ in ids]
            shape = draw(_CALL_SHAPES)
            text = draw(_CALL_TEXTS)
            blocks = [TextBlock(text=text)] if text else []
            extra: dict[str, Any] = {}
            if shape == "legacy":
                extra["tool_calls"] = [
                    {
                        "id": i,
                        "type": "function",
                        "function": {"name": n, "arguments": json.dumps(a)},
                    }
                    for i, n, a in zip(ids, names, kwargs, strict=True)
                ]
            else:
                blocks += [
                    ToolCallBlock(
                        tool_call_id=i,
                        tool_name=n,
                        tool_kwargs=a if shape == "dict" else json.dumps(a),
                    )
                    for i, n, a in zip(ids, names, kwargs, strict=True)
                ]
            messages.append(
                ChatMessage(
                    role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra
                )
            )
            messages.extend(
                ChatMessage(
                    role=MessageRole.TOOL,
                    content=draw(prose(max_words=150)),
                    additional_kwargs={"tool_call_id": ids[k]},
                )
                for k in draw(st.permutations(range(count)))
            )
    return messages


def expected(history: Sequence[ChatMessage]) -> list[tuple[Any, ...]]:
    """What a window that keeps everything renders ``history`` as: text read as
    ctxchunk reads it, thinking left out, results in call order."""
    out: list[tuple[Any, ...]] = []
    order: dict[str, int] = {}
    pending: list[tuple[Any, ...]] = []

    def flush() -> None:
        out.extend(sorted(pending, key=lambda entry: order[entry[1]]))
        pending.clear()

    for message in history:
        if message.role is MessageRole.TOOL:
            call_id = message.additional_kwargs["tool_call_id"]
            pending.append(("tool", call_id, message.content or ""))
            continue
        flush()
        parts: list[Any] = []
        calls: list[tuple[str, str, Any]] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ImageBlock):
                parts.append(
                    {"type": "image_url", "image_url": {"url": str(block.url)}}
                )
            elif isinstance(block, ToolCallBlock):
                kwargs = block.tool_kwargs
                args = json.loads(kwargs) if isinstance(kwargs, str) else kwargs
                calls.append((block.tool_call_id or "", block.tool_name, args))
        for call in message.additional_kwargs.get("tool_calls", ()):
            function = call["function"]
            calls.append(
                (call["id"], function["name"], json.loads(function["arguments"]))
            )
        order.update({c[0]: k for k, c in enumerate(calls)})
        role = "assistant" if message.role is MessageRole.MODEL else message.role.value
        out.append((role, read_content(parts).text, tuple(calls)))
    flush()
    return out


def normalised(messages: Sequence[ChatMessage]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for message in messages:
        if message.role is MessageRole.TOOL:
            call_id = message.additional_kwargs["tool_call_id"]
            out.append(("tool", call_id, message.content or ""))
            continue
        calls = tuple(
            (b.tool_call_id, b.tool_name, json.loads(b.tool_kwargs))
            for b in message.blocks
            if isinstance(b, ToolCallBlock)
        )
        out.append((message.role.value, message.content or "", calls))
    return out


def valid(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Check ``messages`` with LlamaIndex's models and their Chat form with the SDK;
    return the Chat form."""
    for message in messages:
        assert ChatMessage.model_validate(message.model_dump()) == message
        for block in message.blocks:
            if isinstance(block, ToolCallBlock):
                assert isinstance(block.tool_kwargs, str)
    return sdk_checked(_chat_messages(messages))


class TestRoundTrip:
    @given(histories(), st.integers(16, 120))
    def test_a_window_that_keeps_everything_gives_the_history_back(
        self, history, chunk_tokens
    ):
        """The same roles, text, calls (ids, names, arguments) and results come back;
        thinking is left out and images read as placeholders; the Chat form of the
        rendering is exactly the window's, so its count is at most window.tokens."""
        window = ContextWindow(10**6, chunk_tokens=chunk_tokens)
        add_llamaindex_messages(window, history)
        rendered = to_llamaindex_messages(window)
        chat = valid(rendered)
        assert normalised(rendered) == expected(history)
        assert chat == render(window)
        assert count_messages(chat, model="gpt-4o") <= window.tokens

    @given(histories(max_steps=10), window_settings(), window_policies())
    def test_a_tight_window_renders_valid_paired_messages(
        self, history, options, policy
    ):
        """Under every policy and a tight budget the rendering is valid, pairs every
        call, and reads back as itself in a window that keeps everything."""
        window = checks.tight_window(
            add_llamaindex_messages,
            history,
            options,
            policy,
            is_system=lambda message: message.role is MessageRole.SYSTEM,
        )
        rendered = to_llamaindex_messages(window)
        chat = valid(rendered)
        assert_paired(chat)
        assert chat == render(window)
        assert count_messages(chat, model="gpt-4o") <= window.tokens <= window.capacity
        again = ContextWindow(10**6, chunk_tokens=window.chunk_tokens)
        add_llamaindex_messages(again, rendered)
        assert normalised(to_llamaindex_messages(again)) == normalised(rendered)


@given(
    st.lists(st.sampled_from(PIN_ROLES), max_size=4),
    st.lists(window_texts(max_words=80), min_size=1, max_size=3),
    histories(max_steps=5),
    st.integers(300, 1200),
    st.integers(40, 100),
    window_policies(),
)
def test_pins_documents_and_parallel_calls_render_with_their_roles(
    pin_roles, pages, history, budget, chunk_tokens, policy
):
    """Pins of every role render under their role, documents and parallel calls as
    paired calls and tool messages, never as a user or system message; the Chat form
    is exactly the window's."""
    window = ContextWindow(budget, policy=policy, chunk_tokens=chunk_tokens)
    add_pins_and_pages(window, pin_roles, pages)
    add_llamaindex_messages(window, history, pin_system=False)
    rendered = to_llamaindex_messages(window)
    chat = valid(rendered)
    assert_paired(chat)
    assert chat == render(window)
    for message in rendered:
        if message.role in (MessageRole.USER, MessageRole.SYSTEM):
            assert "PAGESENTINEL" not in (message.content or "")
    for k, role in enumerate(pin_roles):
        note = pin_note(role, k)
        holders = [m.role.value for m in rendered if note in (m.content or "")]
        assert holders == [role]


class TestBlocks:
    def test_media_blocks_become_counted_placeholders(self):
        """Image, audio, document and video blocks are read by ctxchunk's content
        reader as placeholder lines naming them; thinking and cache points are left
        out; a citable block gives its content."""
        message = ChatMessage(
            role=MessageRole.USER,
            blocks=[
                TextBlock(text="Compare these."),
                ImageBlock(url="https://img.example/a.png", detail="low"),
                ImageBlock(image=b"\x89PNG\r\n", image_mimetype="image/png"),
                AudioBlock(audio=b"RIFF0000", format="wav"),
                DocumentBlock(data=b"%PDF-1.7", title="report.pdf"),
                VideoBlock(url="https://video.example/clip.mp4"),
                ThinkingBlock(content="hidden"),
                CachePoint(cache_control={"type": "ephemeral"}),
                CitableBlock(
                    title="FAQ",
                    source="https://faq.example",
                    content=[TextBlock(text="Refunds take 5 days.")],
                ),
            ],
        )
        window = ContextWindow(2000)
        add_llamaindex_messages(window, [message])
        (text,) = [m.content for m in to_llamaindex_messages(window)]
        assert text.splitlines() == [
            "Compare these.",
            "[image: https://img.example/a.png · detail: low]",
            "[image: data:image/png;base64, 8 characters]",
            "[audio: input_audio · format: wav · 8 base64 characters · no transcript]",
            "[file: file · report.pdf · 12 characters of data]",
            "[file: file · video/mp4 · https://video.example/clip.mp4]",
            "Refunds take 5 days.",
        ]
        assert "hidden" not in text

    def test_a_call_without_an_id_is_named_by_its_tool(self):
        """As LlamaIndex's agents do, a ToolCallBlock with no id is answered by a tool
        message whose tool_call_id is the tool's name."""
        history = [
            ChatMessage(role="user", content="6 times 7?"),
            ChatMessage(
                role="assistant",
                blocks=[ToolCallBlock(tool_name="multiply", tool_kwargs={"a": 6})],
            ),
            ChatMessage(
                role="tool",
                content="42",
                additional_kwargs={"tool_call_id": "multiply"},
            ),
        ]
        window = ContextWindow(1000)
        add_llamaindex_messages(window, history)
        assert_paired(valid(to_llamaindex_messages(window)))
        assert [c.meta.call_id for c in window.chunks[1:]] == ["multiply", "multiply"]


class TestErrors:
    def test_a_tool_message_without_its_call_id_names_the_message(self):
        """A tool message must say which call it answers; nothing is added."""
        window = ContextWindow(500)
        bad = [
            ChatMessage(role="user", content="Hi"),
            ChatMessage(role="tool", content="42"),
        ]
        with pytest.raises(TranscriptError, match=r"message 1.*tool_call_id"):
            add_llamaindex_messages(window, bad)
        assert window.chunks == ()
        with pytest.raises(TranscriptError, match=r"^message 0: a tool message needs"):
            add_llamaindex_messages(window, bad[1:])
        assert window.chunks == ()

    @pytest.mark.parametrize(
        "messages",
        [ChatMessage(role="user", content="Hi"), [{"role": "user", "content": "Hi"}]],
    )
    def test_only_a_list_of_chat_messages(self, messages):
        """A lone message or a dict is a type error."""
        with pytest.raises(InvalidTypeError):
            add_llamaindex_messages(ContextWindow(500), messages)

    def test_the_window_must_be_a_context_window(self):
        """Anything else is a type error."""
        with pytest.raises(InvalidTypeError, match="ContextWindow"):
            to_llamaindex_messages([])

    def test_a_missing_llamaindex_names_the_extra(self, monkeypatch):
        """Without llama-index-core, importing the adapter names the extra."""
        import importlib

        monkeypatch.delitem(sys.modules, "ctxchunk.adapters.llamaindex", raising=False)
        monkeypatch.setitem(sys.modules, "llama_index.core.base.llms.types", None)
        with pytest.raises(MissingExtraError, match=r"ctxchunk\[llamaindex\]"):
            importlib.import_module("ctxchunk.adapters.llamaindex")


@given(histories())
def test_session_from_llamaindex_keeps_every_answered_call(history):
    """Each answered call is one tool_call event, in the order results arrived."""
    session = session_from_llamaindex(history)
    events = [e for e in session.events if isinstance(e, ToolCallEvent)]
    results = [m for m in history if m.role is MessageRole.TOOL]
    assert [(e.call_id, e.result) for e in events] == [
        (m.additional_kwargs["tool_call_id"], m.content) for m in results
    ]
