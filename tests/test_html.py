"""Tests for ctxchunk._html: what HTML extraction keeps, drops and survives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from ctxchunk._html import (
    MAX_DEPTH,
    MAX_PREFIXES,
    _flatten_deep,
    declared_charset,
    extract,
)

FIXTURES = Path(__file__).parent / "fixtures" / "html"
PAGES = sorted(FIXTURES.glob("*.html"))

# Text that only Sphinx's navigation, sidebars, search box and footer carry.
NAVIGATION = [
    "Table of Contents",
    "Previous topic",
    "Next topic",
    "This Page",
    "Report a Bug",
    "Show Source",
    "Quick search",
    "Navigation",
    "Theme",
    "Python Software Foundation License",
    "Please donate",
    "Created using",
    "modules |",
]


def text_of(html: str) -> str:
    return extract(html).text


def headings_in(html: str, scope: str) -> list[str]:
    """The headings under ``scope``, read straight from the tree as a reference."""
    tree = LexborHTMLParser(html)
    root = tree.css_first(scope)
    assert root is not None
    found = []
    for node in root.css("h1, h2, h3, h4, h5, h6"):
        text = re.sub(r"\s+", " ", node.text(deep=True)).replace("¶", "").strip()
        found.append(text)
    return found


# -- real pages ---------------------------------------------------------------------


def test_fixtures_present():
    """The Python documentation pages the fixture tests read are in the repository."""
    assert len(PAGES) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_real_page_drops_navigation(page):
    """Sphinx's navigation bars, sidebar, search box and footer leave no text."""
    text = text_of(page.read_text("utf-8"))
    assert text
    for phrase in NAVIGATION:
        assert phrase not in text, phrase


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_real_page_keeps_headings(page):
    """Every heading of the main content survives, in order, as a ``#`` line."""
    html = page.read_text("utf-8")
    expected = headings_in(html, "[role=main]")
    page_extract = extract(html)
    assert [h.text for h in page_extract.headings] == expected
    for heading in page_extract.headings:
        line = "#" * heading.level + " " + heading.text
        assert page_extract.text[heading.start :].startswith(line)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_real_page_without_main_marker(page):
    """With no main-content marker the body is read, and the furniture still goes."""
    html = page.read_text("utf-8").replace('role="main"', "")
    page_extract = extract(html)
    for phrase in NAVIGATION:
        assert phrase not in page_extract.text, phrase
    assert [h.text for h in page_extract.headings] == headings_in(html, "div.body")


def test_real_page_title():
    """The title is the page's <title>, whitespace collapsed."""
    html = (FIXTURES / "library-json.html").read_text("utf-8")
    assert extract(html).title == (
        "json — JSON encoder and decoder — Python 3.11.2 documentation"
    )


def test_real_page_code_block_verbatim():
    """A code example keeps its indentation inside a fence named for its language."""
    text = text_of((FIXTURES / "library-json.html").read_text("utf-8"))
    assert (
        "```python3\n>>> import json\n>>> def as_complex(dct):\n"
        "...     if '__complex__' in dct:\n"
        "...         return complex(dct['real'], dct['imag'])\n"
    ) in text


def test_real_page_table():
    """The JSON-to-Python conversion table becomes a Markdown pipe table."""
    text = text_of((FIXTURES / "library-json.html").read_text("utf-8"))
    assert "| JSON | Python |\n| --- | --- |\n| object | dict |\n| array | list |" in (
        text
    )


def test_real_page_links_are_text():
    """Links keep their text and lose their address; permalink marks are gone."""
    text = text_of((FIXTURES / "library-json.html").read_text("utf-8"))
    assert "Source code: Lib/json/__init__.py" in text
    assert "href" not in text
    assert "¶" not in text


# -- what is kept -------------------------------------------------------------------


def test_headings_and_paragraphs():
    """Headings become ``#`` lines; blocks are separated by one blank line."""
    html = "<h1>Title</h1><p>One\n  two</p><div>Three</div><h3>Deep <b>one</b></h3>"
    assert text_of(html) == "# Title\n\nOne two\n\nThree\n\n### Deep one"


def test_heading_offsets():
    """Each heading records where its line starts in the text."""
    page_extract = extract("<p>intro</p><h2>A</h2><p>x</p><h2>B</h2>")
    assert [(h.level, h.text) for h in page_extract.headings] == [(2, "A"), (2, "B")]
    for heading in page_extract.headings:
        assert page_extract.text[heading.start :].startswith("## " + heading.text)


def test_heading_with_blocks_inside_is_one_line():
    """A block inside a heading does not break it, and code in it is plain text."""
    page_extract = extract("<h2><div>Part</div> <code>x()</code></h2><p>body</p>")
    assert page_extract.text == "## Part x()\n\nbody"


def test_empty_heading_is_no_heading():
    """A heading with no text (an icon, an anchor) leaves nothing behind."""
    page_extract = extract("<h2><a href='#x'>#</a></h2><p>body</p>")
    assert page_extract.headings == ()
    assert page_extract.text == "body"


def test_lists():
    """Lists get ``- `` and numbered markers, nested lists are indented."""
    html = (
        "<ul><li>one<li>two<ul><li>two a</li><li>two b<p>more</p></li></ul>"
        "<li>three</ul><ol start=7><li>seven<li>eight</ol>"
    )
    assert text_of(html) == (
        "- one\n- two\n  - two a\n  - two b\n    more\n- three\n\n7. seven\n8. eight"
    )


def test_blockquote_and_line_breaks():
    """Quotes prefix their lines with ``>``; ``<br>`` breaks a line."""
    html = "<blockquote><p>a<br>b</p><blockquote>c</blockquote></blockquote>"
    assert text_of(html) == "> a\n> b\n\n> > c"


def test_code_block_keeps_whitespace():
    """Preformatted text keeps every space and line, fenced beyond its backticks."""
    html = "<pre class='language-py'>def f():\n\n    return  '```'\n</pre>"
    assert text_of(html) == "````py\ndef f():\n\n    return  '```'\n````"


def test_code_block_language_from_inner_code():
    """``<pre><code class="language-x">`` names the fence too."""
    html = "<pre><code class='language-rust'>fn main() {}</code></pre>"
    assert text_of(html) == "```rust\nfn main() {}\n```"


def test_inline_code():
    """Inline code is wrapped in enough backticks to hold its own."""
    assert text_of("<p>Call <code>f()</code> or <code>a`b</code>.</p>") == (
        "Call `f()` or ``a`b``."
    )


def test_nested_inline_code_wrapped_once():
    """Code inside code gets one pair of backticks."""
    assert text_of("<p><code>a <code>b</code> c</code></p>") == "`a b c`"


def test_data_table():
    """A table of data becomes a pipe table, padded, with pipes escaped."""
    html = (
        "<table><caption>Prices</caption><tr><th>Item<th colspan=2>Cost</tr>"
        "<tr><td>a|b<td>1<td>2</tr><tr><td>c</tr></table>"
    )
    assert text_of(html) == (
        "Prices\n\n| Item | Cost |  |\n| --- | --- | --- |\n"
        "| a\\|b | 1 | 2 |\n| c |  |  |"
    )


def test_layout_table():
    """A table that lays out a page is read as blocks, not as a grid."""
    html = (
        "<table><tr><td><h1>Page</h1><p>text</p></td>"
        "<td><ul><li>item</li></ul></td></tr></table>"
    )
    assert text_of(html) == "# Page\n\ntext\n\n- item"


def test_entities_and_whitespace():
    """Character references are decoded; runs of whitespace become one space."""
    assert text_of("<p>a&amp;b &lt;c&gt;&nbsp;&nbsp;d\t\n e</p>") == "a&b <c> d e"


def test_definition_lists_and_details():
    """Terms, definitions and collapsed details are content."""
    html = "<dl><dt>term</dt><dd>meaning</dd></dl><details><summary>More</summary>x"
    assert text_of(html) == "term\n\nmeaning\n\nMore\n\nx"


def test_footnote_aside_kept():
    """An ``<aside>`` marked as a note is a footnote and stays."""
    assert text_of("<p>a</p><aside role='note'>note</aside><aside>ad</aside>") == (
        "a\n\nnote"
    )


def test_article_header_kept():
    """An article's own header (its title, its byline) is content."""
    html = (
        "<header>Site</header><article><header><h1>Post</h1><p>by Ann</p></header>"
        "<p>Body</p><footer>Tags</footer></article><footer>(c) Site</footer>"
    )
    assert text_of(html) == "# Post\n\nby Ann\n\nBody\n\nTags"


# -- what is dropped ----------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        "<script>var X = 1;</script>",
        "<style>p { color: red }</style>",
        "<noscript>Enable JavaScript</noscript>",
        "<template><p>Template</p></template>",
        "<svg><text>Graphic</text><title>Icon</title></svg>",
        "<nav><a href='/'>Home</a></nav>",
        "<header><a href='/'>Site name</a></header>",
        "<footer>Copyright</footer>",
        "<aside>Related posts</aside>",
        "<form><label>Email</label><input><button>Go</button></form>",
        "<button>Copy</button>",
        "<select><option>One</option></select>",
        "<iframe>Frame</iframe>",
        "<p hidden>Hidden</p>",
        "<div aria-hidden='true'>Hidden</div>",
        "<div aria-hidden=' TRUE '>Hidden</div>",
        "<span style='color: red; display : none'>Hidden</span>",
        "<span style='VISIBILITY:hidden'>Hidden</span>",
        "<div role='navigation'>Links</div>",
        "<div role='banner'>Banner</div>",
        "<div role='contentinfo'>Footer</div>",
        "<div role='search'>Search</div>",
        "<div class='sidebar widget'>Sidebar</div>",
        "<div id='breadcrumbs'>Home > Docs</div>",
        "<div class='footer'>Footer</div>",
        "<dialog>Modal</dialog>",
        "<img alt='Logo'>",
    ],
)
def test_dropped(markup):
    """Boilerplate, interface, media and hidden elements leave no text behind."""
    assert text_of(f"<body><p>before</p>{markup}<p>after</p></body>") == (
        "before\n\nafter"
    )


def test_permalink_anchor_dropped():
    """A same-page link made of a symbol is a permalink mark and goes."""
    html = (
        "<h2>Usage<a class='headerlink' href='#usage'>¶</a></h2>"
        "<p>See <a href='#u'>usage</a></p>"
    )
    assert text_of(html) == "## Usage\n\nSee usage"


def test_main_preferred():
    """The content inside ``<main>`` is read, and nothing outside it."""
    html = "<div>Menu</div><main><h1>Main</h1><p>text</p></main><div>Ads</div>"
    assert text_of(html) == "# Main\n\ntext"


def test_role_main_preferred():
    """``role="main"`` marks the content when there is no ``<main>``."""
    html = "<div>Menu</div><div role='main'><p>text</p></div><div>Ads</div>"
    assert text_of(html) == "text"


def test_single_article_preferred():
    """A page with one ``<article>`` is read from it."""
    html = "<div>Menu</div><article><p>story</p></article><div>Ads</div>"
    assert text_of(html) == "story"


def test_several_articles_read_whole_body():
    """A page listing several articles is read whole."""
    html = "<div>Intro</div><article>one</article><article>two</article>"
    assert text_of(html) == "Intro\n\none\n\ntwo"


def test_hidden_or_empty_main_ignored():
    """A hidden or empty ``<main>`` does not hide the page."""
    assert text_of("<main hidden>x</main><p>page</p>") == "page"
    assert text_of("<main> </main><p>page</p>") == "page"


def test_no_text():
    """A page with no readable text gives empty text, and its title if any."""
    page_extract = extract("<html><head><title> T </title></head><body></body></html>")
    assert (page_extract.title, page_extract.text, page_extract.headings) == (
        "T",
        "",
        (),
    )
    assert extract("").text == ""
    assert extract("<script>x</script><nav>y</nav>").text == ""


def test_title_absent():
    """A page without ``<title>`` has title None; an SVG title is not the page's."""
    assert extract("<p>x</p>").title is None
    assert extract("<svg><title>Icon</title></svg><p>x</p>").title is None


# -- broken and hostile markup ------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>unclosed <b>bold <i>both</b> italic</i>", "unclosed bold both italic"),
        ("<div><p>one<p>two</div></span></p>", "one\n\ntwo"),
        ("<p>a</p><!-- never closed <p>b</p>", "a"),
        ("<p title='open>a</p><p>b'>c</p><p>d</p>", "c\n\nd"),
        ("<p>1 < 2 and 3 > 2</p>", "1 < 2 and 3 > 2"),
        ("<p>cut off <b", "cut off"),
        ("</div></p>text<li>item", "text\n\n- item"),
        ("<table><p>fostered</p><tr><td>cell</table>", "fostered\n\n| cell |\n| --- |"),
        (
            "<html><body><p>a</p></body></html><p>after the end</p>",
            "a\n\nafter the end",
        ),
    ],
)
def test_broken_html(html, expected):
    """Broken markup is read the way a browser builds it."""
    assert text_of(html) == expected


@pytest.mark.parametrize("tag", ["div", "span", "b", "a", "li", "p", "ul", "table"])
def test_deep_nesting(tag):
    """100,000 nested elements are read without recursion and keep all their text.

    Read whole, every word stays; read for its main content, the deep run of text
    is the content and its innermost word is kept.
    """
    depth = 100_000
    html = f"<{tag}>w " * depth + "deepest" + f"</{tag}>" * depth + "<p>after</p>"
    text = extract(html, main_content=False).text
    assert text.count("w") == depth
    assert "deepest" in text
    assert text.endswith("after")
    main = text_of(html)
    assert main.count("w") > depth // 2
    assert "deepest" in main


@pytest.mark.parametrize("tag", ["ul", "blockquote"])
def test_deep_lists_and_quotes_prefix_at_most_max_prefixes(tag):
    """Lists and quotes nested past MAX_PREFIXES add no prefix and lose no text."""
    inner = "<li>" if tag == "ul" else ""
    html = f"<{tag}>{inner}w " * 1000 + "x"
    text = extract(html, main_content=False).text
    assert text.count("w") == 1000
    prefixes = [len(line) - len(line.lstrip(" >")) for line in text.split("\n")]
    assert max(prefixes) <= 2 * MAX_PREFIXES


def test_deep_nesting_of_code():
    """Deeply nested inline code is wrapped once, in linear time."""
    depth = 100_000
    html = "<p>" + "<code>c" * depth + "</code>" * depth + "</p>"
    text = text_of(html)
    assert text.count("c") == depth
    assert text.count("`") == 2


def test_flatten_keeps_shallow_markup():
    """Markup at most MAX_DEPTH deep is passed to the parser unchanged."""
    html = "<div>" * MAX_DEPTH + "x" + "</div>" * MAX_DEPTH + "<p>" * 5000
    assert _flatten_deep(html, MAX_DEPTH) is html


def test_flatten_caps_depth():
    """Tags past the limit become spaces; text and shallow tags stay in order."""
    html = "<div>a" * 5 + "</div>" * 5
    assert _flatten_deep(html, 3) == "<div>a<div>a<div>a a a" + "  </div></div></div>"


def test_flatten_ignores_raw_text_and_comments():
    """Tags inside scripts, styles and comments do not count towards the depth."""
    html = "<script>" + "<div>" * 100 + "</script><!--" + "<div>" * 100 + "-->x"
    assert _flatten_deep(html, 3) is html


words = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
HIDDEN_WORDS = st.text(alphabet="KLMNOP", min_size=1, max_size=6)
# No <main> or <article>: those narrow what is read, tested above. No table tags
# either: the HTML standard moves ("foster-parents") text found inside a table but
# outside its cells to before the table, as browsers do, so source order is not
# reading order there (tables are tested on their own above).
CONTAINERS = [
    "div", "p", "span", "b", "i", "em", "a", "section", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h6", "pre", "code",
    "dl", "dt", "dd", "details", "summary", "figure", "small", "center",
]  # fmt: skip
DROPPED = ["script", "style", "nav", "aside", "template", "svg", "button", "noscript"]


@st.composite
def html_trees(draw, depth=0):
    """Draw markup whose visible words are lower case and hidden words upper case."""
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
        choice = draw(st.integers(0, 9))
        if choice < 4:
            parts.append(f" {draw(words)} ")
        elif choice < 8:
            tag = draw(st.sampled_from(CONTAINERS))
            parts.append(f"<{tag}>{draw(html_trees(depth + 1))}</{tag}>")
        elif choice == 8:
            tag = draw(st.sampled_from(DROPPED))
            parts.append(f"<{tag}> {draw(HIDDEN_WORDS)} </{tag}>")
        else:
            hide = draw(
                st.sampled_from(["hidden", "aria-hidden=true", "style='display:none'"])
            )
            parts.append(f"<div {hide}> {draw(HIDDEN_WORDS)} </div>")
    return "".join(parts)


@given(html_trees())
@example(" a <div> b </div> a ")
def test_visible_text_kept_in_order(html):
    """Read whole, every visible letter is kept, in order, and nothing hidden shows."""
    expected = "".join(re.findall(r"[a-j]", re.sub(r"<[^>]*>", "", html)))
    text = extract(f"<body>{html}</body>", main_content=False).text
    assert "".join(re.findall(r"[a-j]", text)) == expected
    assert not re.search(r"[K-P]", text)


@given(html_trees())
def test_main_content_is_part_of_the_page(html):
    """The main content is a subsequence of the whole page: nothing added or moved."""
    page = f"<body>{html}</body>"
    whole = "".join(re.findall(r"[a-j]", extract(page, main_content=False).text))
    main = extract(page).text
    assert not re.search(r"[K-P]", main)
    letters = iter(whole)
    assert all(letter in letters for letter in re.findall(r"[a-j]", main))


@given(st.text(alphabet="<>/!-= \"'abpdivlh1&;#x", max_size=300))
def test_any_markup_is_read(html):
    """Any string of markup characters is read without an error."""
    assert isinstance(extract(html).text, str)


# -- declared charsets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="windows-1252">', ("windows-1252", "a <meta> charset")),
        (b"<META CHARSET=Shift_JIS>", ("Shift_JIS", "a <meta> charset")),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">',
            ("euc-kr", "a <meta> charset"),
        ),
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?><html>',
            ("ISO-8859-1", "the XML declaration"),
        ),
        (b"<p>no declaration</p>", None),
        (b" " * 5000 + b'<meta charset="koi8-r">', None),
    ],
)
def test_declared_charset(head, expected):
    """Charsets are found in a meta tag or XML declaration near the start."""
    assert declared_charset(head) == expected
