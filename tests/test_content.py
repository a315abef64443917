"""Main-content extraction (ctxchunk._content, through ctxchunk._html.extract)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

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


# -- boilerplate rules inside and around the content ---------------------------------

STORY = [
    "The council voted on Monday night to close the old swimming baths on Mill Lane, "
    "which have lost money every year since the roof was repaired in 2011.",
    "Swimmers who use the pool every morning said they would take the decision to "
    "the county court, arguing that the council had not consulted them at all.",
    "A spokesman for the council said the building would be sold, and that the money "
    "would go towards a new leisure centre on the edge of town, due to open in 2027.",
    "The baths were opened in 1904 by the town's first mayor, and were for decades "
    "the only public pool within twenty miles, drawing swimmers from every village.",
]
"""Four paragraphs of a local news story, written for these tests."""


def page(body: str, *, main: bool = False) -> str:
    """A news page around ``body``: a menu, a teaser rail and a footer outside it."""
    teasers = "".join(
        f"<div class='card'><a href='/s/{i}'>Another local story, number {i}</a></div>"
        for i in range(6)
    )
    wrapped = f"<main>{body}</main>" if main else f"<div id='page'>{body}</div>"
    return (
        "<html><head><title>Baths to close</title></head><body>"
        "<div class='menu'><a href='/'>Home</a> <a href='/news'>News</a></div>"
        f"{wrapped}<div class='cards'>{teasers}</div>"
        "<div class='site-footer'>Copyright the Mill Lane Post.</div></body></html>"
    )


def test_loose_text_in_a_section_votes():
    """Paragraphs written as loose text between <br> inside a <section> are read."""
    loose = "<br><br>".join(STORY)
    picks = "".join(
        f"<div class='pick'><p>Pick {i}: another story from the town</p></div>"
        for i in range(4)
    )
    html = page(
        "<h1>Baths to close</h1><section class='story-page'>"
        f"<section class='story-text'>{loose}</section></section>"
        f"<div class='picks'>{picks}</div>",
        main=True,
    )
    text = extract(html).text
    for paragraph in STORY:
        assert paragraph in text
    assert "another story from the town" not in text


def test_body_split_in_twin_containers_is_read_whole():
    """An article whose body the layout cuts into two same-class containers (with an
    ad row between them) keeps both parts, and still drops what is around it."""
    first = "".join(f"<p>{p}</p>" for p in STORY[:2])
    second = "".join(f"<p>{p}</p>" for p in STORY[2:])
    html = page(
        "<h1>Baths to close</h1><div class='story-chunks'>"
        f"<div class='row'><div class='body__part'>{first}</div>"
        "<div class='rail'><a href='/shop'>Shop our deals</a></div></div>"
        "<div class='row'><div class='ad-slot'></div></div>"
        f"<div class='row'><div class='body__part'>{second}</div>"
        "<div class='rail'><a href='/shop'>Shop more deals</a></div></div>"
        "</div>"
    )
    text = extract(html).text
    for paragraph in STORY:
        assert paragraph in text
    assert "Another local story" not in text
    assert "Copyright" not in text


def test_wrapped_first_paragraph_joins_the_content():
    """A first paragraph inside a media wrapper (a div around only a p), beside the
    container of the rest, is part of the article."""
    rest = "".join(f"<div class='para'>{p}</div>" for p in STORY[1:])
    html = page(
        "<h1>Baths to close</h1><div class='story'>"
        f"<div class='lead-media'><p><cite>(Mill Lane Post)</cite> {STORY[0]}</p></div>"
        f"<div class='story-body'>{rest}</div></div>"
    )
    text = extract(html).text
    assert text.index(STORY[0]) < text.index(STORY[1])
    for paragraph in STORY:
        assert paragraph in text


def test_most_read_rail_inside_the_content_dropped():
    """A "most read" rail of headlines placed inside the article body goes; the
    paragraphs around it stay."""
    rail = (
        "<div class='rail rail--trending'><h3>Most read in local news</h3>"
        + "".join(
            f"<div class='rail__item'><h3>HEADLINE {i}</h3><span>A teaser line for "
            f"another story, number {i}</span><a href='/s/{i}'></a></div>"
            for i in range(4)
        )
        + "</div>"
    )
    body = "".join(f"<p>{p}</p>" for p in STORY[:2]) + rail
    body += "".join(f"<p>{p}</p>" for p in STORY[2:])
    text = extract(page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")).text
    for paragraph in STORY:
        assert paragraph in text
    assert "Most read" not in text
    assert "teaser line" not in text


def test_photo_credit_dropped_caption_kept():
    """Inside the content a short photo credit goes, while the caption stays (a
    caption is content to Readability's test pages)."""
    photo = (
        "<div class='photo'><img src='baths.jpg' alt=''>"
        "<span class='photo-caption'>The baths in 1904</span> "
        "<span class='image-credit'>Photo: Town Archive</span></div>"
    )
    body = "".join(f"<p>{p}</p>" for p in STORY[:2]) + photo
    body += "".join(f"<p>{p}</p>" for p in STORY[2:])
    html = page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")
    text = extract(html).text
    assert "The baths in 1904" in text
    assert "Town Archive" not in text
    assert "Town Archive" in extract(html, main_content=False).text


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        (
            "<strong>READ MORE:</strong> <a href='/s/1'>Pool users plan a protest</a>",
            True,
        ),
        (
            "Also on example.com <a href='/s/2'>Ten pools to visit this summer</a>",
            True,
        ),
        (
            "<b>DON'T MISS:</b> <a href='/s/3'>Council tax to rise again in April</a>",
            True,
        ),
        ("See more: <a href='/s/4'>Photos of the baths through the years</a>", True),
        # Related links are kept: articles use the label for sources they cite.
        ("Related: <a href='/s/5'>The council's report on the baths</a>", False),
        # A sentence that starts with one of the words is not a label.
        ("More than <a href='/r'>four hundred people</a> signed the petition.", False),
        (
            "Watch the <a href='/v'>council meeting</a> again on the town's website.",
            False,
        ),
    ],
)
def test_read_more_lines(line, dropped):
    """A short "Read more: <link>" line sends the reader away and goes; prose that
    merely starts with the same word stays."""
    body = "".join(f"<p>{p}</p>" for p in STORY[:2]) + f"<p>{line}</p>"
    body += "".join(f"<p>{p}</p>" for p in STORY[2:])
    text = extract(page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")).text
    link_text = LexborHTMLParser(line).css_first("a").text()
    assert (link_text not in text) is dropped
    for paragraph in STORY:
        assert paragraph in text


@pytest.mark.parametrize(
    "label",
    [
        "Advertisement",
        "ADVERTISING",
        "- Advert -",
        "Story continues below advertisement",
    ],
)
def test_advertisement_labels_dropped(label):
    """A paragraph that only labels an ad slot goes from the main content, and only
    from it; a sentence about advertising stays."""
    sentence = "Advertisement boards on the baths will come down first."
    body = "".join(f"<p>{p}</p>" for p in STORY[:2])
    body += f"<div class='x1'><span>{label}</span></div><p>{sentence}</p>"
    body += "".join(f"<p>{p}</p>" for p in STORY[2:])
    html = page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")
    blocks = extract(html).text.split("\n\n")
    assert label not in blocks
    assert sentence in blocks
    assert label in extract(html, main_content=False).text.split("\n\n")


def test_embedded_post_in_a_widget_kept():
    """A quoted social post embedded in the article (a blockquote inside a container
    whose class says widget) is part of the story; an empty share widget is not."""
    post = (
        "<div class='story-widget story-tweet'><blockquote class='twitter-tweet'>"
        "<p>Forty years of swimming there every morning, and not one of us was asked."
        "</p>&mdash; Mill Lane Swimmers (@millswim) <a href='https://example.com/s/1'>"
        "May 4, 2026</a></blockquote></div>"
        "<div class='share-widget'><a href='#'>Share on Facebook</a>"
        " <a href='#'>Share by email</a></div>"
    )
    body = "".join(f"<p>{p}</p>" for p in STORY[:2]) + post
    body += "".join(f"<p>{p}</p>" for p in STORY[2:])
    text = extract(page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")).text
    assert "> Forty years of swimming there every morning" in text
    assert "Share on Facebook" not in text
    for paragraph in STORY:
        assert paragraph in text


def test_long_grid_of_sponsored_headlines_dropped():
    """A recommendation widget (class says so) that is long but holds no paragraph of
    prose, only headlines and labels, goes however long it is; a widget-classed
    container that holds real paragraphs stays when it is long."""
    grid = "<div class='trc_related_container trc_spotlight_widget'>" + "".join(
        f"<div class='cube'><a href='/x/{i}' title='t'></a><span>A sponsored headline "
        f"about cheap hotel rooms (number {i})</span><span>Sponsored by "
        f"Brand {i}</span><span>Undo</span></div>"
        for i in range(20)
    )
    grid += "</div>"
    letter = "<div class='author-letter'>" + "".join(f"<p>{p} {p}</p>" for p in STORY)
    letter += "</div>"
    body = "".join(f"<p>{p}</p>" for p in STORY) + letter + grid
    html = page(f"<h1>Baths</h1><div class='story-body'>{body}</div>")
    assert len(LexborHTMLParser(grid).body.text()) > 1000
    assert len(LexborHTMLParser(letter).body.text()) > 1000
    text = extract(html).text
    assert "sponsored headline" not in text
    assert f"{STORY[0]} {STORY[0]}" in text
