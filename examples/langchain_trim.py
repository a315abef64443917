"""Replace LangChain's trim_messages with ctxchunk, offline (no model, no API key).

A research agent's history, as a LangChain app holds it: a system prompt, questions,
parallel tool calls with long web-search results, answers. The script trims it three
ways and checks each result the way the OpenAI API would (every ToolMessage must
answer a call of the AIMessage right before it):

1. ``langchain_core.messages.trim_messages``, as its docs show it;
2. ``ctxchunk.adapters.langchain.trim_messages``, the drop-in;
3. a ContextWindow kept across turns, fed each new message as it arrives.

Run: ``python examples/langchain_trim.py`` (with ``pip install 'ctxchunk[langchain]'``).
"""

from __future__ import annotations

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.messages import trim_messages as langchain_trim
from langchain_core.messages.utils import count_tokens_approximately

from ctxchunk import ContextWindow, count_messages
from ctxchunk.adapters.langchain import (
    add_langchain_messages,
    to_langchain_messages,
    trim_messages,
)

BUDGET = 300

SEARCH_RESULT = (
    "Oolong is a traditional semi-oxidized Chinese tea produced through a process "
    "including withering the plant under strong sun and oxidation before curling and "
    "twisting. Most oolong teas, especially those of fine quality, involve unique tea "
    "plant cultivars that are exclusively used for particular varieties. The degree "
    "of oxidation, which varies according to the chosen duration of time before "
    "firing, can range from 8 to 85%, depending on the variety and production style. "
)

TIEGUANYIN = "Tieguanyin: a lightly oxidized Anxi oolong. "
DA_HONG_PAO = "Da Hong Pao: a heavily roasted Wuyi rock tea. "


def history() -> list[BaseMessage]:
    """Three turns of a research agent, the second with two parallel searches."""
    search = {"name": "web_search", "type": "tool_call"}
    return [
        SystemMessage("You are a careful research assistant. Cite your sources."),
        HumanMessage("What is oolong tea?"),
        AIMessage("", tool_calls=[{**search, "args": {"q": "oolong"}, "id": "c1"}]),
        ToolMessage(SEARCH_RESULT * 3, tool_call_id="c1"),
        AIMessage("Oolong is a semi-oxidized Chinese tea (8 to 85% oxidation)."),
        HumanMessage("How do Tieguanyin and Da Hong Pao differ?"),
        AIMessage(
            "Let me look both up.",
            tool_calls=[
                {**search, "args": {"q": "Tieguanyin"}, "id": "c2"},
                {**search, "args": {"q": "Da Hong Pao"}, "id": "c3"},
            ],
        ),
        ToolMessage(TIEGUANYIN * 20, tool_call_id="c2"),
        ToolMessage(DA_HONG_PAO * 4, tool_call_id="c3"),
        AIMessage("Tieguanyin is light and floral; Da Hong Pao is roasted and dark."),
        HumanMessage("Which one suits a cold evening?"),
    ]


def orphans(messages: list[BaseMessage]) -> list[str]:
    """The tool_call_ids of ToolMessages that do not answer the AIMessage before them
    (the OpenAI API rejects such a request with a 400)."""
    found, open_calls = [], set()
    for message in messages:
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in open_calls:
                found.append(message.tool_call_id)
            open_calls.discard(message.tool_call_id)
        else:
            open_calls = {c["id"] for c in getattr(message, "tool_calls", [])}
    return found


def report(label: str, messages: list[BaseMessage]) -> None:
    tokens = count_messages(convert_to_openai_messages(messages), model="gpt-4o")
    kinds = " ".join(type(m).__name__.removesuffix("Message")[:2] for m in messages)
    print(f"{label}: {len(messages)} messages, {tokens} tokens (budget {BUDGET})")
    print(f"  {kinds}")
    print(f"  orphaned ToolMessages: {orphans(messages) or 'none'}")


def main() -> None:
    messages = history()

    # 1. LangChain's own trim_messages, as its documentation shows it.
    trimmed = langchain_trim(
        messages,
        max_tokens=BUDGET,
        token_counter=count_tokens_approximately,
        strategy="last",
        include_system=True,
    )
    report("langchain_core trim_messages", trimmed)

    # 2. The drop-in: same call shape, exact counts, no orphans, marked cuts.
    kept = trim_messages(messages, max_tokens=BUDGET, tokenizer="gpt-4o")
    report("ctxchunk trim_messages", kept)
    assert not orphans(kept)
    assert count_messages(convert_to_openai_messages(kept), model="gpt-4o") <= BUDGET
    for message in kept:
        text = str(message.content).replace("\n", " ")
        if len(text) > 70:
            text = f"{text[:24]} … {text[-44:]}"
        print(f"    {type(message).__name__:<13} {text}")

    # 3. One window for the whole session: add each new message once, render each
    #    turn. What leaves goes to the archive, where window.recall() finds it.
    window = ContextWindow(BUDGET, tokenizer="gpt-4o")
    for message in messages:
        add_langchain_messages(window, [message])
    request = to_langchain_messages(window)  # what you pass to model.invoke(...)
    report("ctxchunk ContextWindow", request)
    assert not orphans(request)
    print(f"  archived chunks: {len(window.archive)}")
    recalled = window.recall("oxidation percent")
    print(f"  recall('oxidation percent') brought back {len(recalled.added)} chunk(s)")


if __name__ == "__main__":
    main()
