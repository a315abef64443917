"""Tool results reduced on the way in: ``add_tool_call(..., format=...)``.

The window holds what :func:`reduce_tool_result` makes of the result; the raw text is
in the archive (reason ``reduced``), never in the window, never counted as loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.change import Reason
from ctxchunk.documents import reduce_tool_result
from ctxchunk.exceptions import DocumentError, InvalidArgumentError
from ctxchunk.roles import Kind
from ctxchunk.window import ContextWindow
from tests.strategies import prose

SITES = Path(__file__).parent / "fixtures" / "html" / "sites"
PAGES = sorted(SITES.glob("*.html"))


def _result_text(window: ContextWindow, call_id: str) -> str:
    parts = [
        c
        for c in window.chunks
        if c.meta.call_id == call_id
        and c.kind is Kind.TOOL_RESULT
        and c.meta.marks is None
    ]
    return "".join(c.text for c in sorted(parts, key=lambda c: c.part))


def _raw(window: ContextWindow) -> list[str]:
    return [e.chunk.text for e in window.archive if e.reason is Reason.REDUCED]


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_a_fetched_page_enters_as_its_main_content(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    window = ContextWindow(200_000)
    change = window.add_tool_call(
        "fetch", {"url": page.name}, html, "call_1", format="auto"
    )
    reduced = reduce_tool_result(html)
    assert reduced.format == "html"
    assert _result_text(window, "call_1") == reduced.text
    assert "".join(_raw(window)) == html
    source = next(c.source for c in window.chunks if c.kind is Kind.TOOL_RESULT)
    assert window.read(source + ".raw") == html
    assert window.read(source) == reduced.text
    # The raw page never was in the window: not reported, not lost.
    assert change.evicted == ()
    assert change.lost_tokens == 0
    raw_tokens = window.tokenizer.count(html)
    assert window.tokenizer.count(reduced.text) < raw_tokens / 2


def test_json_is_compacted_and_text_is_left_alone() -> None:
    window = ContextWindow(4000)
    data = {"order": 88213, "items": [{"sku": "BJ-450", "qty": 1}], "note": "cracked"}
    pretty = json.dumps(data, indent=4)
    window.add_tool_call("order", {}, pretty, "call_j", format="auto")
    assert _result_text(window, "call_j") == json.dumps(data, separators=(",", ":"))
    assert _raw(window) == [pretty]
    window.add_tool_call("note", {}, "Plain words.", "call_t", format="auto")
    window.add_tool_call("note", {}, "<b>x</b>", "call_n")
    assert _result_text(window, "call_t") == "Plain words."
    assert _result_text(window, "call_n") == "<b>x</b>"  # format=None: as given
    assert _raw(window) == [pretty]


def test_parallel_calls_each_with_their_format() -> None:
    window = ContextWindow(8000)
    page = "<html><nav>Home | About</nav><main><h1>Tea</h1><p>Oolong.</p></main></html>"
    window.add_tool_calls(
        [
            {"name": "fetch", "arguments": {}, "result": page, "call_id": "a",
             "format": "html"},
            {"name": "fetch", "arguments": {}, "result": page, "call_id": "b"},
        ]
    )  # fmt: skip
    assert _result_text(window, "a") == reduce_tool_result(page).text
    assert _result_text(window, "b") == page
    assert _raw(window) == [page]


def test_bad_formats_change_nothing() -> None:
    window = ContextWindow(4000)
    window.add_turn("user", "Hello")
    before = window.to_json()
    with pytest.raises(DocumentError):
        window.add_tool_call("f", {}, "not json", format="json")
    with pytest.raises(InvalidArgumentError, match="format"):
        window.add_tool_call("f", {}, "x", format="pdf")  # type: ignore[arg-type]
    assert window.to_json() == before


_pages = st.builds(
    lambda title, body, nav: (
        f"<!doctype html><html><head><title>{title}</title><style>p{{color:red}}"
        f"</style></head><body><nav>{nav}</nav><article><h1>{title}</h1>"
        + "".join(f"<p>{p}</p>" for p in body)
        + "</article><footer>(c) Example</footer></body></html>"
    ),
    prose(max_words=8),
    st.lists(prose(max_words=200), min_size=1, max_size=12),
    prose(max_words=10),
)
_results = st.one_of(
    _pages,
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=30)).map(
        lambda d: json.dumps(d, indent=2)
    ),
    prose(max_words=300),
)


@given(
    result=_results,
    fmt=st.sampled_from([None, "auto", "html", "markdown", "text"]),
    budget=st.sampled_from([600, 3000, 20_000]),
)
def test_the_window_holds_the_reduction_and_the_archive_the_raw(
    result: str, fmt: str | None, budget: int
) -> None:
    window = ContextWindow(budget, protect_recent_turns=1)
    window.add_turn("user", "Look this up for me, please.")
    change = window.add_tool_call("fetch", {}, result, "call_x", format=fmt)  # type: ignore[arg-type]
    window.check_valid()
    expected = result if fmt is None else reduce_tool_result(result, format=fmt).text
    raw = _raw(window)
    if expected == result:
        assert raw == []
    else:
        assert "".join(raw) == result
    assert all(e.reason is not Reason.REDUCED for e in change.evicted)
    # Whatever of the reduced result the window did not admit is archived as usual.
    held = [
        c.text
        for c in window.chunks
        if c.meta.call_id == "call_x"
        and c.kind is Kind.TOOL_RESULT
        and c.meta.marks is None
    ]
    source = (
        next(c.source for c in change.added if c.kind is Kind.TOOL_RESULT)
        if held
        else None
    )
    if source is not None:
        assert window.read(source) == expected
    for text in held:
        assert text in expected
