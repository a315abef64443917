"""Main-content extraction (ctxchunk._content, through ctxchunk._html.extract)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctxchunk._html import extract

SITES = Path(__file__).parent / "fixtures" / "html" / "sites"
PYTHON_DOCS = sorted((Path(__file__).parent / "fixtures" / "html").glob("*.html"))


def read(name: str) -> str:
    return (SITES / name).read_text("utf-8")


def fences(text: str) -> list[str]:
    return re.findall(r"^```.*?^```", text, re.M | re.S)


def headings(text: str) -> list[str]:
    return re.findall(r"^#+ .*$", text, re.M)


# -- documentation sites ------------------------------------------------------------


def test_docbook_navigation_dropped_content_kept():
    """A DocBook page loses its Prev/Up/Home/Next tables and keeps every section."""
    html = read("docbook-vacuum.html")
    whole = extract(html, main_content=False).text
    main = extract(html).text
    assert "| Prev | Up |" in whole
    assert "Prev" not in main
    assert "Home" not in main
    assert headings(main) == [
        "## 24.1. Routine Table Cleanup",
        "### 24.1.1. Cleanup Basics",
        "### 24.1.2. Recovering Disk Space",
        "### Tip",
    ]
    assert fences(main) == fences(whole)
    assert "| `cleanup_delay` | 2ms | Pause between pages, to spare the disks |" in main
    assert main.rstrip().endswith("is filled again the next morning.")


def test_menu_site_navigation_dropped_content_kept():
    """A page with menus, a search form and a footer keeps only its documentation."""
    html = read("tclsite-pragma.html")
    whole = extract(html, main_content=False).text
    main = extract(html).text
    for furniture in ("- Purchase", "Choose any three", "Table Of Contents", "- Help"):
        assert furniture in whole
        assert furniture not in main
    assert headings(main) == headings(whole)
    assert fences(main) == fences(whole)
    assert "| -2000 | about two megabytes, whatever the page size |" in main


@pytest.mark.parametrize("name", ["apache-mod_alias.html", "apache-howto-cgi.html"])
def test_apache_manual_navigation_dropped_content_kept(name):
    """Apache's manual loses its menus and breadcrumb; every code block stays."""
    html = read(name)
    whole = extract(html, main_content=False).text
    main = extract(html).text
    for furniture in ("Modules | Directives | FAQ", "Apache > HTTP Server >"):
        assert furniture in whole
        assert furniture not in main
    assert fences(main) == fences(whole)
    kept = set(headings(main))
    # Only the side box's lists of links ("Topics", "See also") may go.
    lost = [h for h in headings(whole) if h not in kept]
    assert all(
        h in ("### Topics", "### Directives", "### See also", "### Bugfix checklist")
        for h in lost
    )
    assert len(main) > 0.9 * len(whole)


@pytest.mark.parametrize("name", ["apache-directives.html", "apache-sitemap.html"])
def test_pages_of_links_kept(name):
    """An index or site map, whose content is its links, keeps every link's text."""
    html = read(name)
    whole = extract(html, main_content=False).text
    main = extract(html).text
    items = re.findall(r"^ *- .*$", whole, re.M)
    kept = set(re.findall(r"^ *- .*$", main, re.M))
    assert len(items) > 50
    assert sum(item in kept for item in items) >= 0.9 * len(items)


def test_table_of_contents_kept():
    """A marked main that is one list of links is read whole."""
    items = "".join(
        f"<li><a href='/p{i}'>Chapter {i}: a title of some length</a></li>"
        for i in range(30)
    )
    html = f"<nav>Site</nav><main><h1>Contents</h1><ul>{items}</ul></main>"
    text = extract(html).text
    assert text.startswith("# Contents\n\n- Chapter 0: a title of some length\n")
    assert text.count("\n- Chapter") == 30


@pytest.mark.parametrize("page", PYTHON_DOCS, ids=lambda p: p.name)
def test_sphinx_main_kept_whole(page):
    """A page that marks its main content loses nothing of it."""
    html = page.read_text("utf-8")
    assert extract(html).text == extract(html, main_content=False).text


# -- articles -----------------------------------------------------------------------

PROSE = [
    "The harbour board met on Tuesday to decide the future of the old grain pier, "
    "which has stood empty since the last freighter left in the spring of 1998.",
    "Engineers told the board that the pilings, driven in 1911, are sound below the "
    "waterline but that the deck would need to be rebuilt, at a cost of about four "
    "million.",
    "Residents who spoke at the meeting were divided: some want a public park, "
    "others a ferry terminal, and a few would rather see the pier taken down.",
    "The board will publish three designs in March and hold a vote in the summer, "
    "after a second round of public meetings in each of the harbour's districts.",
]


def article_page(*, split: bool = False) -> str:
    paragraphs = [f"<p>{p}</p>" for p in PROSE]
    if split:
        body = (
            f"<div class='story-part'>{''.join(paragraphs[:2])}</div>"
            "<div class='ad-slot'>Advertisement</div>"
            f"<div class='story-part'>{''.join(paragraphs[2:])}</div>"
        )
    else:
        body = "".join(paragraphs)
    related = "".join(
        f"<li><a href='/n/{i}'>Other story number {i} about the town</a></li>"
        for i in range(8)
    )
    return (
        "<html><head><title>Pier vote</title></head><body>"
        "<div class='cookie-banner'>We use cookies to improve your experience.</div>"
        "<div class='top'><a href='/'>Home</a> <a href='/news'>News</a>"
        " <a href='/sport'>Sport</a> <a href='/weather'>Weather</a></div>"
        "<div id='page'><div class='main-column'>"
        "<h1>Board to vote on the grain pier</h1>"
        f"<div class='article-text'>{body}</div>"
        "<div class='share-tools'><a href='#'>Share on social media</a>"
        " <a href='#'>Email this story</a></div>"
        f"<div class='more'><h3>More stories</h3><ul>{related}</ul></div>"
        "</div>"
        "<div class='rail'><div class='newsletter'>Sign up for our morning "
        "newsletter and never miss a story from the harbour.</div></div>"
        "</div>"
        "<div class='site-footer'>Copyright the Harbour Times. All rights "
        "reserved.</div>"
        "</body></html>"
    )


@pytest.mark.parametrize("split", [False, True])
def test_article_without_furniture(split):
    """An article page keeps its prose and drops banners, links, share and footer."""
    text = extract(article_page(split=split)).text
    for paragraph in PROSE:
        assert paragraph in text
    for furniture in (
        "cookies",
        "Sport",
        "Share on social media",
        "Other story number",
        "newsletter",
        "Copyright",
    ):
        assert furniture not in text


def test_no_paragraph_reads_the_marked_main():
    """A page without a paragraph long enough to vote reads its <main>."""
    html = "<div>Menu</div><main><h1>Main</h1><p>text</p></main><div>Ads</div>"
    assert extract(html).text == "# Main\n\ntext"


def test_no_paragraph_no_main_reads_the_body():
    """A page without a voting paragraph or a main element reads all its body."""
    assert extract("<div>one</div><div>two</div>").text == "one\n\ntwo"


def test_code_and_tables_inside_the_content_stay():
    """Code blocks and data tables inside the chosen content are kept as Markdown."""
    prose = (
        "<p>" + "This paragraph explains the example below, at length. " * 3 + "</p>"
    )
    html = (
        "<nav><a href='/'>Home</a></nav><div class='post'>"
        f"{prose}<pre><code class='language-python'>print('hi')</code></pre>"
        f"{prose}<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr>"
        "</table></div>"
    )
    text = extract(html).text
    assert "```python\nprint('hi')\n```" in text
    assert "| a | b |\n| --- | --- |\n| 1 | 2 |" in text
    assert "Home" not in text
