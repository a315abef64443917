"""Where a page's main content is: the private decision behind ctxchunk._html.

A page is mostly furniture (navigation, banners, share buttons, related links,
footers) around one body of prose, code and tables. :func:`content_roots` finds that
body the way Readability-family extractors do, by letting paragraphs vote for the
elements that hold them, on the Lexbor tree ``_html`` already built:

1. Furniture that is furniture by its markup alone (``<nav>``, ARIA landmarks other
   than ``main``, scripts and styles) is removed from the tree first, so it neither
   votes nor is read.
2. Every paragraph-like element (``p``, ``pre``, ``blockquote``, and a ``div``,
   ``td``, ``section`` or ``article`` with text of its own outside its blocks,
   as pages that write their paragraphs as loose text between ``<br>`` do) with at
   least
   :data:`MIN_PARAGRAPH` characters votes for its parent (a full vote), its
   grandparent (half) and two more ancestors (a sixth, a ninth). A vote is worth one
   point, one per comma, and one per 100 characters up to three: long, punctuated
   prose weighs most. When the page marks its main content (``<main>``,
   ``role="main"``, a single ``<article>``), only paragraphs inside it vote.
3. An element's score is its votes plus a prior from its tag and from words in its
   class and id (``article``, ``content`` up; ``comment``, ``share``, ``related``,
   ``gallery`` down; the words count in full only once the element holds a few
   paragraphs), times ``1 - link density`` (the share of its text inside links): a
   block of links is navigation however long it is.
4. The best element that is not itself a part of a text (a paragraph, list or
   table) is the content. An article cut into several containers moves it up to
   an ancestor: the nearest one that also holds a good candidate of the same tag
   and class (the layout's second body container, :data:`_TWIN`), else one under
   which at least :data:`_SHARED` other good candidates lie. Its siblings join it
   when they scored well too, or are prose paragraphs of their own (a ``p``, or
   ``div`` wrappers around only one).

Within the content, :func:`is_clutter` tells the converter which elements are
still furniture: blocks that are mostly links, containers whose class says they are
share, comment, related-link or most-read widgets and that are short or hold no
paragraph of prose (and no quotation: a widget around an embedded post is part of
the story),
"Read more: <link>" lines, and short photo credits. The converter also drops a
paragraph that is only an advertisement's label ("Advertisement").

Every step calls into Lexbor (CSS selection, text of a subtree), so the cost is a
few C calls per paragraph, not a Python walk of the whole tree.
"""

from __future__ import annotations

import re

import attrs
from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["MIN_PARAGRAPH", "Content", "content_roots", "is_clutter", "link_density"]

MIN_PARAGRAPH = 25
"""Characters a paragraph needs to vote: shorter ones are captions, bylines and
button labels as often as prose (the threshold Readability uses)."""

_REMOVE = (
    "script, style, noscript, template, nav, [role=navigation], [role=banner], "
    "[role=contentinfo], [role=complementary], [role=search], [role=menu], "
    "[role=menubar], [role=toolbar], [role=dialog], [role=alertdialog], "
    "[hidden], [aria-hidden=true]"
)
"""Elements removed before voting: not content by their markup alone."""

_VOTERS = "p, pre, blockquote"
_LOOSE = "div, td, section, article"
"""Elements that vote with the text they hold outside their blocks (a ``div`` used as
a paragraph, a layout table's cell); a data table's short cells rarely reach
:data:`MIN_PARAGRAPH`."""

_POSITIVE = re.compile(
    r"article|body|content|entry|main|post|story|text|prose|blog|documentation|"
    r"section|chapter|markdown|rst-content",
    re.I,
)
_NEGATIVE = re.compile(
    r"comment|share|sharing|social|related|recommend|promo|sponsor|advert|\bads?\b|"
    r"banner|breadcrumb|cookie|consent|newsletter|subscribe|signup|footer|masthead|"
    r"sidebar|widget|popup|modal|outbrain|taboola|byline|author|tags?\b|rating|"
    r"skip|menu|nav|gallery|slideshow|carousel|caption|credit|timestamp|dateline|"
    r"trending|popular|most-?read|swiper",
    re.I,
)
_TAG_PRIOR = {
    "article": 10,
    "main": 10,
    "section": 3,
    "div": 5,
    "pre": 3,
    "td": 3,
    "blockquote": 3,
    "form": -3,
    "ol": -3,
    "ul": -3,
    "dl": -3,
    "li": -3,
    "header": -5,
    "footer": -10,
    "aside": -10,
    "h1": -5,
    "h2": -5,
    "h3": -5,
    "th": -5,
}
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "fieldset",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "main", "ol", "p", "pre", "section", "table", "ul",
    }
)  # fmt: skip
_CLUTTER_TAGS = frozenset(
    {
        "div", "section", "ul", "ol", "dl", "table", "aside", "header", "footer",
        "form", "figure",
    }
)  # fmt: skip


def _class_weight(node: LexborNode) -> int:
    attributes = node.attributes
    names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}".strip()
    if not names:
        return 0
    # A widget inside the content often says so next to the word "content" or
    # "article" ("article-related", "content-share"), so a negative word wins.
    if _NEGATIVE.search(names):
        return -25
    return 25 if _POSITIVE.search(names) else 0


def _text_length(node: LexborNode) -> int:
    return len(node.text(deep=True).strip())


def link_density(node: LexborNode, length: int | None = None) -> float:
    """The share of ``node``'s text inside links (0 when it has no text)."""
    if length is None:
        length = _text_length(node)
    if not length:
        return 0.0
    linked = sum(len(a.text(deep=True).strip()) for a in node.css("a"))
    return min(1.0, linked / length)


def _own_text(node: LexborNode) -> str:
    """The text a ``div`` holds outside its block children (its loose paragraphs)."""
    parts = []
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            parts.append(child.text_content or "")
        elif tag not in _BLOCKS and tag != "br" and not (tag or "-").startswith("-"):
            parts.append(child.text(deep=True))
    return "".join(parts)


@attrs.frozen
class Content:
    """Where a page's main content is.

    Attributes:
        roots: The elements to read, in document order.
        prose: How many characters of their text lie outside links; 0 when that is
            less than half their text (a page of links, whose links are content).
    """

    roots: list[LexborNode]
    prose: int


def content_roots(tree: LexborHTMLParser) -> Content:
    """Remove markup-level furniture from ``tree`` and return its content elements.

    Args:
        tree: A parsed page; elements that are furniture by their markup are
            removed from it.

    Returns:
        The elements to read, in document order, and their prose: the best-scoring
        element and the siblings that join it; the page's marked main content or body
        when no paragraph votes, or when the page is mostly links and the best
        element holds little of it (a site map); no element for a page without a
        body.
    """
    roots = _choose(tree)
    prose = total = 0
    for root in roots:
        length = _text_length(root)
        total += length
        prose += round(length * (1 - link_density(root, length)))
    if prose < total / 2:
        # Content that is mostly links (a site map, an index): its lists of links
        # are what it is for, so none is clutter.
        prose = 0
    return Content(roots=roots, prose=prose)


def _choose(tree: LexborHTMLParser) -> list[LexborNode]:
    body = tree.body
    if body is None:
        return []
    for node in tree.css(_REMOVE):
        node.decompose()
    scope = _marked_main(tree) or body
    outside = scope.parent
    # Keyed by Lexbor's node address: LexborNode's own == compares serialised HTML,
    # which costs a walk of both subtrees.
    votes: dict[int, float] = {}
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    voters = [(node, node.text(deep=True)) for node in scope.css(_VOTERS)]
    voters.extend((node, _own_text(node)) for node in scope.css(_LOOSE))
    for voter, text in voters:
        length = len(text.strip())
        if length < MIN_PARAGRAPH:
            continue
        vote = 1 + text.count(",") + min(length // 100, 3)
        ancestor = voter.parent
        for level in range(4):
            if ancestor is None or ancestor.tag in ("html", None):
                break
            key = ancestor.mem_id
            if outside is not None and key == outside.mem_id:
                break
            if key not in votes:
                nodes[key] = ancestor
                votes[key] = 0.0
            votes[key] += vote / (1, 2, 6, 9)[level]
            ancestor = ancestor.parent
    if not votes:
        return [scope]
    for key, node in nodes.items():
        # What a class or id says counts in full only for an element that holds a
        # few paragraphs: a "table-contents" wrapper around three cells is no article.
        weight = _class_weight(node) * min(1.0, votes[key] / _FULL_WEIGHT)
        scores[key] = _TAG_PRIOR.get(node.tag or "", 0) + weight + votes[key]
    ranked = sorted(
        ((key, score) for key, score in scores.items() if nodes[key].tag not in _PARTS),
        key=lambda item: -item[1],
    )[:8]
    if not ranked:
        return [scope]
    final = {key: score * (1 - link_density(nodes[key])) for key, score in ranked}
    best_key, best = max(final.items(), key=lambda item: item[1])
    top = _climb(nodes[best_key], best, final, nodes)
    parent = top.parent
    if parent is None or top.tag == "body":
        return [top]
    threshold = max(10.0, best * 0.2)
    roots = []
    for sibling in parent.iter():
        if sibling.mem_id == top.mem_id:
            roots.append(sibling)
            continue
        score = scores.get(sibling.mem_id)
        if score is not None and score * (1 - link_density(sibling)) >= threshold:
            roots.append(sibling)
        elif _paragraph(sibling):
            length = _text_length(sibling)
            density = link_density(sibling, length)
            if (length > 80 and density < 0.25) or (
                0 < length <= 80
                and density == 0
                and sibling.text(deep=True).rstrip().endswith(".")
            ):
                roots.append(sibling)
    chosen = sum(_text_length(root) for root in roots)
    whole = _text_length(scope)
    if chosen < _LINK_PAGE_SHARE * whole and link_density(scope, whole) > _LINK_PAGE:
        return [scope]
    return roots


def _paragraph(node: LexborNode) -> bool:
    """Whether ``node`` is a paragraph, or ``div`` wrappers around only one.

    A media or layout container around a first paragraph is that paragraph, as
    Readability reads it. (A ``div`` of loose text is not taken for one here: next to
    the content it is a standfirst or a note as often as prose.)
    """
    for _ in range(_WRAPPERS + 1):
        if node.tag == "p":
            return True
        if node.tag != "div" or node.text(deep=False).strip():
            return False
        elements = [
            child for child in node.iter() if not (child.tag or "-").startswith("-")
        ]
        if len(elements) != 1:
            return False
        node = elements[0]
    return False


_WRAPPERS = 3
"""How many ``div`` wrappers around one paragraph :func:`_paragraph` looks through."""

_LINK_PAGE = 0.75
_LINK_PAGE_SHARE = 0.25
"""A page whose text is more than :data:`_LINK_PAGE` links is a page of links (a site
map, an index); when its best element holds less than :data:`_LINK_PAGE_SHARE` of
its text, the page is read whole. (Of the 311 news and blog pages of the benchmarks in
``benchmarks/bench_extract.py``, none is three quarters links.)"""


def _marked_main(tree: LexborHTMLParser) -> LexborNode | None:
    """The element the page marks as its main content, if it marks one with text."""
    for selector in ("main", "[role=main]"):
        for node in tree.css(selector):
            if node.text(deep=True).strip():
                return node
    articles = tree.css("article")
    if len(articles) == 1 and articles[0].text(deep=True).strip():
        return articles[0]
    return None


def _ancestors(node: LexborNode) -> list[LexborNode]:
    found = []
    parent = node.parent
    while parent is not None and parent.tag not in ("html", None):
        found.append(parent)
        parent = parent.parent
    return found


def _climb(
    top: LexborNode,
    best: float,
    final: dict[int, float],
    nodes: dict[int, LexborNode],
) -> LexborNode:
    """Move from the best element to the ancestor that holds the whole content.

    An article cut into several containers gives several good candidates: when at
    least :data:`_SHARED` of the others lie under one ancestor of the best, that
    ancestor is the content.
    """
    ancestors = _ancestors(top)
    others = [
        key
        for key, score in final.items()
        if key != top.mem_id and score >= best * 0.75
    ]
    kind = (top.tag, top.attributes.get("class"))
    twins = [
        {node.mem_id for node in _ancestors(nodes[key])}
        for key, score in final.items()
        if key != top.mem_id
        and score >= best * _TWIN
        and (nodes[key].tag, nodes[key].attributes.get("class")) == kind
    ]
    if kind[1] and twins:
        # The article's body cut in parts by the layout, each in a container of
        # the same tag and class: the content is the nearest ancestor of two.
        for ancestor in ancestors:
            if ancestor.tag == "body":
                break
            if any(ancestor.mem_id in line for line in twins):
                return ancestor
    if len(others) >= _SHARED:
        lines = [
            {node.mem_id for node in _ancestors(nodes[key])} | {key} for key in others
        ]
        for ancestor in ancestors:
            if ancestor.tag == "body":
                break
            if sum(ancestor.mem_id in line for line in lines) >= _SHARED:
                return ancestor
    return top


_TWIN = 0.5
"""How well a container like the best one must score to be another part of it."""

_PARTS = frozenset(
    {"p", "blockquote", "pre", "ul", "ol", "dl", "li", "table", "tbody", "thead", "tr"}
)
"""Elements that are parts of a text, never the whole of it: they hold votes (their
siblings may join the content) but are never chosen as the content."""

_FULL_WEIGHT = 6.0
"""Votes at which an element's class and id weigh in full (about three paragraphs)."""

_SHARED = 2
"""How many good candidates one ancestor must hold to become the content."""


_CREDIT = re.compile(r"credit", re.I)
_INLINE_CLUTTER_TAGS = frozenset({"span", "p", "figcaption", "small", "cite"})
_CREDIT_LENGTH = 300
"""Characters under which an inline element whose class or id says ``credit`` is a
photo credit ("© Getty Images", "Photo: AP"), not prose."""


def _credit(node: LexborNode) -> bool:
    """Whether ``node`` is a short photo or image credit, by its class or id."""
    attributes = node.attributes
    names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
    return _CREDIT.search(names) is not None and _text_length(node) < _CREDIT_LENGTH


_TEASER_LABEL = re.compile(
    r"\s*(?:(?:read more|read also|also read|see more|more|don['\u2019]t miss|"
    r"recommended|must read|watch|listen|explore further|on [\w-]+\.[a-z.]+)"
    r"\s*(?::|\||-|\u2013|\u2014|\n|$)|also on [\w-]+\.[a-z.]+\s)",
    re.I,
)
"""The label of a line that sends the reader to another page ("Read more: ...",
"Also on example.com ...", "DON'T MISS"). "Related:" is left out on purpose: it also
introduces links an article cites, which Readability keeps."""
_TEASER_LENGTH = 250
_TEASER_LINKS = 0.3


def _link_teaser(node: LexborNode, text: str) -> bool:
    """Whether ``node`` (whose text is ``text``) is a short "Read more: <link>" line."""
    if len(text) > _TEASER_LENGTH or _TEASER_LABEL.match(text) is None:
        return False
    return link_density(node, len(text.strip())) >= _TEASER_LINKS


_WIDGET_LENGTH = 1000
"""Characters under which a container whose class names a widget is clutter."""
_PROSE_PARAGRAPH = 150
"""Characters of a paragraph that make a long widget-classed container content."""


def _has_paragraph(node: LexborNode) -> bool:
    """Whether ``node`` holds a paragraph or code block of some length."""
    return any(
        len(p.text(deep=True).strip()) >= _PROSE_PARAGRAPH for p in node.css("p, pre")
    )


def is_clutter(node: LexborNode, prose: int) -> bool:
    """Whether a container inside the content is furniture after all.

    Args:
        node: An element inside the content.
        prose: The characters of the content outside links (:class:`Content`).

    Returns:
        True for a block of links (more than half its text in links, little prose),
        a container whose class or id names a widget and that is short or holds no
        paragraph of prose (and no quotation), a "Read more: <link>" line, or a
        short photo credit.
    """
    tag = node.tag
    if tag not in _CLUTTER_TAGS:
        if tag == "p" and _link_teaser(node, node.text(deep=True)):
            return True
        return tag in _INLINE_CLUTTER_TAGS and _credit(node)
    if tag == "figure":
        # A photo and its credit; a figure holding code or a table is content.
        return node.css_first("pre, table") is None
    weight = _class_weight(node)
    text = node.text(deep=True)
    length = len(text.strip())
    if not length:
        return False
    if tag == "div" and _link_teaser(node, text):
        return True
    commas = text.count(",")
    if commas >= 10:
        return False
    density = link_density(node, length)
    if (
        weight < 0
        and node.css_first("blockquote") is None
        and (length < _WIDGET_LENGTH or not _has_paragraph(node))
    ):
        # A widget by its class: short, or long but without a paragraph of prose
        # (a grid of sponsored headlines). A quotation inside (an embedded post)
        # makes it content.
        return True
    if length >= prose:
        # A block of links longer than all the prose of the content is what the
        # page is for: a site map, an index, a table of contents.
        return False
    if tag in ("ul", "ol", "dl", "table"):
        return density > 0.6
    return (density > 0.5 and weight <= 0) or (density > 0.3 and weight < 0)
