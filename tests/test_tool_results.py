"""reduce_tool_result: HTML, JSON, Markdown and text tool output, reduced."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.documents import RESULT_FORMATS, read_document, reduce_tool_result
from ctxchunk.exceptions import DocumentError, InvalidArgumentError, InvalidTypeError

PAGE = (
    "<!doctype html><html><head><title>Tide tables</title>"
    "<style>body { color: red }</style><script>track()</script></head>"
    "<body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
    "<main><h1>Tides today</h1><p>High water at 06:12 and 18:40, low water at "
    "12:25; spring tides are expected on Friday.</p></main>"
    "<footer>Copyright the harbour office</footer></body></html>"
)


def test_html_page_reduced_to_main_content():
    """A whole page becomes its main content in Markdown, with its title."""
    reduced = reduce_tool_result(PAGE)
    assert reduced.format == "html"
    assert reduced.title == "Tide tables"
    assert reduced.text.startswith("# Tides today\n\nHigh water at 06:12")
    for furniture in ("color: red", "track()", "About", "Copyright"):
        assert furniture not in reduced.text


def test_declared_html():
    """format='html' reads a fragment that detection would call text."""
    fragment = "Results: <b>3</b> matches<br>first at line 4"
    assert reduce_tool_result(fragment).format == "text"
    reduced = reduce_tool_result(fragment, format="html")
    assert reduced.text == "Results: 3 matches\nfirst at line 4"


def test_json_compacted():
    """JSON is written without indentation or spaces after separators."""
    raw = json.dumps({"city": "Cádiz", "temps": [21, 23.5], "ok": True}, indent=2)
    reduced = reduce_tool_result(raw)
    assert reduced.format == "json"
    assert reduced.text == '{"city":"Cádiz","temps":[21,23.5],"ok":true}'


def test_json_with_a_page_inside():
    """A string value that is a whole HTML page is reduced like the page."""
    raw = json.dumps({"url": "https://tides.example", "status": 200, "body": PAGE})
    reduced = json.loads(reduce_tool_result(raw).text)
    assert reduced["url"] == "https://tides.example"
    assert reduced["body"].startswith("# Tides today")
    assert "track()" not in reduced["body"]


def test_deep_json():
    """JSON nested thousands deep is reduced without recursion."""
    raw = '{"a":' * 5000 + "1" + "}" * 5000
    assert reduce_tool_result(raw).text == raw


def test_markdown_and_text_kept_exactly():
    """Markdown and text come back as given."""
    markdown = "# Results\n\n- one\n- two\n"
    assert reduce_tool_result(markdown) == reduce_tool_result(markdown, format="auto")
    assert reduce_tool_result(markdown).text == markdown
    assert reduce_tool_result(markdown).format == "markdown"
    assert reduce_tool_result("  42 files  ").text == "  42 files  "


def test_json_like_text_is_not_json():
    """Text that starts like JSON but does not parse is read as text."""
    reduced = reduce_tool_result("[warn] disk almost full")
    assert reduced.format == "text"
    assert reduced.text == "[warn] disk almost full"


def test_declared_json_that_is_not_json():
    """format='json' for a result that is not JSON is an error that says so."""
    with pytest.raises(DocumentError, match="not JSON"):
        reduce_tool_result("{oops", format="json")


def test_bad_arguments():
    """An unknown format or a result that is not a str is a clear error."""
    with pytest.raises(InvalidArgumentError, match="format='xml'"):
        reduce_tool_result("x", format="xml")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="result must be a str"):
        reduce_tool_result(b"x")  # type: ignore[arg-type]
    assert RESULT_FORMATS == ("auto", "html", "markdown", "json", "text")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize(
    "value", ["<HEAD>", "<body>", "Use <html> and </html> around it.", " <body x>"]
)
def test_a_string_naming_an_html_tag_is_data_not_a_page(value):
    """Found by test_json_data_unchanged: ``{"": "<HEAD>"}`` came back ``{"": ""}``."""
    reduced = reduce_tool_result(json.dumps({"note": value}))
    assert json.loads(reduced.text) == {"note": value}


def test_an_html_page_inside_json_is_reduced():
    page = "<html><head><title>T</title></head><body><p>Kept words.</p></body></html>"
    reduced = reduce_tool_result(json.dumps({"page": page}))
    assert json.loads(reduced.text) == {"page": read_document(page, format="html").text}


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.integers(0, 4))
def test_json_data_unchanged(data, indent):
    """Reducing JSON without HTML pages in it keeps the data exactly."""
    raw = json.dumps(data, indent=indent or None)
    reduced = reduce_tool_result(raw)
    assert reduced.format == "json"
    assert json.loads(reduced.text) == data
    assert len(reduced.text) <= len(raw)


def test_nan_is_not_json():
    """NaN and Infinity are not JSON: auto keeps the text, declared JSON is refused."""
    assert reduce_tool_result('{"x": NaN}').text == '{"x": NaN}'
    with pytest.raises(DocumentError, match="Infinity"):
        reduce_tool_result('{"x": Infinity}', format="json")
