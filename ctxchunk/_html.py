"""HTML to readable, Markdown-like text: the private machinery of ctxchunk.documents.

:func:`extract` parses a page with selectolax's Lexbor engine and walks the tree with
an explicit stack (never recursion), writing what a reader of the page would read:

- headings as ``#`` lines, paragraphs separated by blank lines, ``- `` and ``1. `` list
  items, ``>`` quotes, Markdown pipe tables, fenced code blocks with their whitespace
  kept, inline code in backticks, and the text (not the address) of links;
- nothing of scripts, styles, templates, SVG, forms, embedded media, navigation,
  asides, page-level headers and footers, hidden elements or permalink anchors.

When the page marks its main content (``<main>``, ``role="main"``, or a single
``<article>``), only that is read. With ``main_content`` (see ``ctxchunk._content``),
only the content ``_content`` finds is read, without the clutter inside it, and a
paragraph that only labels an advertisement slot ("Advertisement") is left out.

Why selectolax (Lexbor) and not lxml, measured on this machine (Python 3.11,
selectolax 1.0.2, lxml 6.1.3) with Python's own ``library/os.html`` (755 KB) and a
5 MB page of the same markup:

- speed: parsing runs at 140-148 MB/s against lxml's 77-79 MB/s; walking every node
  from Python costs about the same with either (28-56 against 33-36 MB/s), so the
  walk, not the parser, sets the pace: :func:`extract` reads 4-5 MB/s.
- correctness: Lexbor builds the tree the HTML standard (and so a browser) builds,
  at any depth. On eight kinds of broken markup (misnested and unclosed tags, stray
  end tags, an unclosed comment, a bare ``<``, a cut-off tag, fostered table
  content) both give the same text. But libxml2's HTML parser stops at depth 255
  (2,047 with ``huge_tree``) and *silently* drops everything from there on, text
  after the deep part included, and it ignores content after ``</html>``: of eight
  concatenated copies of a page it kept the first (15% of the text), Lexbor all.

Lexbor's one weakness is time, not correctness: the standard's "has an element in
scope" checks make opening a ``<div>`` cost the depth of the open-element stack, so
100,000 nested ``<div>`` take about 19 s to parse. :func:`_flatten_deep` removes that
case before parsing, the way Blink caps its parser at depth 512: tags nested deeper
than :data:`MAX_DEPTH` are replaced by a space and their text is kept, in order.
"""

from __future__ import annotations

import re

import attrs
from selectolax.lexbor import LexborHTMLParser, LexborNode

from ctxchunk import _content

__all__ = [
    "MAX_DEPTH",
    "MAX_PREFIXES",
    "Extract",
    "Heading",
    "declared_charset",
    "extract",
]

MAX_DEPTH = 512
"""How deep elements may nest before :func:`extract` flattens the rest: Blink's
``kMaximumHTMLParserDOMTreeDepth``, so a page is read about as a browser shows it."""

MAX_PREFIXES = 16
"""How many nested list items and quotes prefix their lines; deeper ones add none.
Each level indents every line inside it, so without a cap 512 nested lists (the
depth :data:`MAX_DEPTH` allows) would write text quadratic in the page's size."""

_DROP = frozenset(
    {
        # Not content.
        "script", "style", "noscript", "template", "head", "title", "meta", "link",
        "base",
        # Graphics, media and embeds: their text is fallback or markup, not prose.
        "svg", "canvas", "img", "picture", "video", "audio", "source", "track",
        "iframe", "object", "embed", "map", "frameset", "frame", "noembed",
        "noframes",
        # Interface, not content.
        "nav", "form", "button", "select", "input", "textarea", "datalist", "dialog",
        "search", "menu",
    }
)  # fmt: skip
"""Elements dropped with everything inside them."""

_DROP_ROLES = frozenset(
    {
        "navigation", "banner", "contentinfo", "search", "complementary", "menu",
        "menubar", "toolbar", "dialog", "alertdialog", "tablist", "tooltip",
    }
)  # fmt: skip
"""ARIA landmark and widget roles whose elements are page furniture."""

_NOTE_ROLES = frozenset({"note", "doc-footnote", "doc-endnote", "doc-endnotes"})
"""Roles that keep an ``<aside>``: footnotes are content (Sphinx writes them so)."""

_DROP_CLASSES = frozenset(
    {
        "sidebar", "navbar", "breadcrumb", "breadcrumbs", "skip-link", "skiplink",
        "cookie-banner", "cookie-notice", "footer", "site-footer", "site-header",
    }
)  # fmt: skip
"""Exact class or id tokens of furniture on pages without semantic markup. Kept short
on purpose: guessing from class names is what makes extractors drop real content."""

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center",
        "dd", "details", "div", "dl", "dt", "fieldset", "figcaption", "figure",
        "footer", "header", "hgroup", "hr", "html", "legend", "li", "main", "ol",
        "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "ul", "h1", "h2", "h3", "h4", "h5", "h6",
    }
)  # fmt: skip
"""Elements that start and end a block of text."""

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SECTIONING = frozenset({"article", "section", "main"})
# Inside one of these, a header or footer belongs to the content (an article's byline);
# outside all of them it is the site's banner or footer.
_ABSORBED = "~"
_CELL = "|"
# Exit tokens besides tag names: a block read as a space, and a data-table cell.
_LAYOUT_SELECTOR = (
    "table, h1, h2, h3, h4, h5, h6, pre, blockquote, ul, ol, dl, form, main, "
    "article, section, nav, hr"
)
# A table holding any of these is laid out as a page, not read as a grid of data.
_MAX_COLSPAN = 50
# colspan beyond this is padded only this far; the standard allows 1,000.

_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")
_STYLE_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_LANGUAGE = re.compile(r"(?:^|\s)(?:language|lang|highlight)-([\w+#.-]+)")
_BACKTICKS = re.compile(r"`+")

_AD_LABEL = re.compile(
    r"\W*(?:advertisement|advertising|advert|ad|sponsored(?: content)?|"
    r"(?:story|article) continues below(?: this)? (?:advertisement|ad)|"
    r"continue reading below)\W*",
    re.I,
)
"""A paragraph that only labels an advertisement slot, dropped from main content."""

_VOID_OR_OPTIONAL_END = frozenset(
    {
        # Void elements never nest.
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr", "keygen",
        # Elements whose end tag may be left out close themselves when a sibling
        # opens, so counting them would take a list of 10,000 items for deep nesting.
        "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot",
        "option", "optgroup", "rb", "rt", "rp", "colgroup", "caption", "html",
        "head", "body",
    }
)  # fmt: skip
_TAGS = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(?P<raw>script|style|textarea|title|xmp|noscript|noembed|noframes|iframe)"
    r"\b[^<>]*>.*?(?:</(?P=raw)\s*>|\Z)"
    r"|<(?P<close>/?)(?P<name>[A-Za-z][^\s/<>]*)(?P<rest>[^<>]*)>",
    re.I | re.S,
)
# A tag ends at the next "<" or ">", a comment or raw-text element at its end or the
# end of the text, so the scan is linear even on markup that never closes anything.


@attrs.frozen(slots=True)
class Heading:
    """A heading of the extracted text.

    Invariant: ``text`` of the :class:`Extract` holds ``"#" * level + " " + text`` at
    ``start``.
    """

    level: int
    text: str
    start: int


@attrs.frozen(slots=True)
class Extract:
    """The readable content of an HTML page.

    Attributes:
        title: The text of the page's ``<title>``, or None.
        text: The content in a Markdown-like form, without leading or trailing blank
            lines; ``""`` when the page has no readable text.
        headings: The headings of ``text``, in order.
    """

    title: str | None
    text: str
    headings: tuple[Heading, ...]


def extract(html: str, *, main_content: bool = True) -> Extract:
    """Return the readable content of ``html`` in a Markdown-like form.

    Args:
        html: A whole page or a fragment.
        main_content: Read only the page's main content, as ``ctxchunk._content``
            finds it; when False, read everything that is not furniture by its
            markup (the page's ``<main>`` if it marks one, else its body).

    Returns:
        The title, the text and its headings.

    >>> page = extract("<nav>Home</nav><h1>Hi</h1><p>A <a href='/x'>link</a>.</p>")
    >>> print(page.text)
    # Hi
    <BLANKLINE>
    A link.
    """
    # With scripting on, <noscript> holds raw text, as in a browser running scripts,
    # instead of spilling its content into the page.
    tree = LexborHTMLParser(_flatten_deep(html, MAX_DEPTH), scripting=True)
    title = _title(tree)
    prose = None
    if main_content:
        content = _content.content_roots(tree)
        roots, prose = content.roots, content.prose
    else:
        root = _content_root(tree)
        roots = [] if root is None else [root]
    if not roots:
        return Extract(title=title, text="", headings=())
    converter = _Converter(sectioned=roots[0].tag != "body", prose=prose)
    for root in roots:
        converter.walk(root)
    return converter.result(title)


_CHARSET_IN_META = re.compile(
    rb"<meta\s[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I
)
_CHARSET_IN_XML = re.compile(
    rb"\A\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I
)
_PRESCAN_BYTES = 4096
"""How far into a page :func:`declared_charset` looks. The HTML standard's prescan
reads 1,024 bytes; real pages often declare later, after long comments or scripts."""


def declared_charset(data: bytes) -> tuple[str, str] | None:
    r"""Return the charset a page declares, and where, or None.

    Looks at an XML declaration at the very start, then at a ``<meta charset>`` or
    ``<meta http-equiv="Content-Type" content="...; charset=...">`` in the first
    :data:`_PRESCAN_BYTES` bytes.

    Args:
        data: The page's bytes, after any byte order mark.

    Returns:
        ``(label, where)``, the label as written and a description of where it was
        declared, or None.

    >>> declared_charset(b'<html><meta charset="windows-1252"><p>caf\xe9')
    ('windows-1252', 'a <meta> charset')
    """
    head = data[:_PRESCAN_BYTES]
    found = _CHARSET_IN_XML.match(head)
    if found:
        return found.group(1).decode("ascii"), "the XML declaration"
    found = _CHARSET_IN_META.search(head)
    if found:
        return found.group(1).decode("ascii"), "a <meta> charset"
    return None


def _flatten_deep(html: str, limit: int) -> str:
    """Replace tags nested deeper than ``limit`` by a space, keeping their text.

    Depth is estimated from the tags alone: void elements, elements whose end tag is
    optional, self-closing tags, comments and the content of raw-text elements do not
    count. Markup at most ``limit`` deep is returned unchanged.
    """
    if html.count("<") <= limit:
        return html
    depth = deepest = 0
    for _, close, name, rest in _TAGS.findall(html):
        if not name or rest.endswith("/") or name.lower() in _VOID_OR_OPTIONAL_END:
            continue
        if close:
            depth -= depth > 0
        else:
            depth += 1
            deepest = max(deepest, depth)
    if deepest <= limit:
        return html
    parts: list[str] = []
    depth = kept = 0
    for found in _TAGS.finditer(html):
        name = found.group("name")
        if (
            not name
            or found.group("rest").endswith("/")
            or name.lower() in _VOID_OR_OPTIONAL_END
        ):
            continue
        if found.group("close"):
            drop = depth > limit
            depth -= depth > 0
        else:
            depth += 1
            drop = depth > limit
        if drop:
            parts.append(html[kept : found.start()])
            parts.append(" ")
            kept = found.end()
    parts.append(html[kept:])
    return "".join(parts)


def _title(tree: LexborHTMLParser) -> str | None:
    head = tree.head
    node = head.css_first("title") if head is not None else None
    if node is None:
        return None
    text = _SPACE.sub(" ", node.text(deep=True)).strip()
    return text or None


def _content_root(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the page's main content, or its body."""
    for selector in ("main", "[role=main]"):
        for node in tree.css(selector):
            if not _hidden(node.attributes) and node.text(deep=True).strip():
                return node
    articles = tree.css("article")
    if len(articles) == 1 and articles[0].text(deep=True).strip():
        return articles[0]
    return tree.body


def _hidden(attributes: dict[str, str | None]) -> bool:
    if "hidden" in attributes:
        return True
    if (attributes.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = attributes.get("style")
    return style is not None and _STYLE_HIDDEN.search(style) is not None


@attrs.define
class _Frame:
    """A container that prefixes the lines of the blocks inside it.

    A quote prefixes every line with ``"> "``. A list item prefixes its first line
    with its marker and every later line with as many spaces.
    """

    first: str
    rest: str
    used: bool = False
    is_item: bool = False


@attrs.define
class _Table:
    """A data table being read: its rows of cell texts and its caption."""

    rows: list[list[str]] = attrs.Factory(list)
    caption: str = ""


@attrs.define
class _Cell:
    """A table cell (or caption) being read, and the inline text it interrupted."""

    text: list[str]
    outer: list[str]
    span: int
    caption: bool


@attrs.define
class _List:
    ordered: bool
    number: int = 1


class _Converter:
    """Walks a tree and writes its readable text; see :func:`extract`.

    Text is gathered in ``inline`` until a block boundary, where :meth:`flush` writes
    it out as one block. Inside a heading or a data-table cell, block boundaries are
    only spaces, so the heading or cell stays one line.
    """

    def __init__(self, *, sectioned: bool, prose: int | None = None) -> None:
        # With main content: the content's characters outside links, which a block
        # of links must fall short of to be skipped as clutter; None reads all.
        self.prose = prose
        self.out: list[str] = []
        self.size = 0
        self.last_in_list = False
        self.headings: list[Heading] = []
        self.inline: list[str] = []
        self.frames: list[_Frame] = []
        # Quotes and list items nested past MAX_PREFIXES: counted, with no frame.
        self.deep_frames = 0
        self.lists: list[_List] = []
        # One entry per open <table>: a _Table being read as data, or None for a
        # table read as page layout.
        self.tables: list[_Table | None] = []
        self.cells: list[_Cell] = []
        self.heading = 0
        # (kind, index in inline) for each open <a> and <code>; -1 once flushed.
        self.marks: list[tuple[str, int]] = []
        self.code_depth = 0
        self.pre: list[str] | None = None
        self.pre_depth = 0
        self.pre_language = ""
        # How many <article>, <section> and <main> are open; a header or footer
        # outside all of them is the site's, not the content's.
        self.sections = 1 if sectioned else 0

    # -- the walk -----------------------------------------------------------------

    def walk(self, root: LexborNode) -> None:
        """Visit ``root`` and everything under it, in document order."""
        # Entering an element pushes its exit token below its children, so the token
        # is popped after them; the token says what the entry did, so leaving undoes
        # exactly that whatever state the children left behind.
        stack: list[LexborNode | str] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                self.leave(item)
                continue
            tag = item.tag
            if tag == "-text":
                self.text(item.text_content or "")
                continue
            if tag is None or tag.startswith("-"):
                continue
            token = self.enter(tag, item)
            if token is None:
                continue
            if token:
                stack.append(token)
            children = list(item.iter(include_text=True))
            children.reverse()
            stack.extend(children)

    def enter(self, tag: str, node: LexborNode) -> str | None:
        """Start ``node``: return None to skip it, else its exit token (or "")."""
        if tag in _DROP:
            return None
        attributes = node.attributes
        if attributes and _furniture(attributes):
            return None
        if tag == "aside" and not _note(attributes):
            return None
        if (
            self.prose is not None
            and not self.cells
            and _content.is_clutter(node, self.prose)
        ):
            return None
        if tag in ("header", "footer") and not self.sections:
            return None
        if self.pre is not None:
            if tag == "br":
                self.pre.append("\n")
            elif tag == "pre":
                self.pre_depth += 1
                return "pre"
            return ""
        if tag == "br":
            self.inline.append("\n")
            return ""
        if tag == "a":
            href = attributes.get("href") or ""
            self.marks.append(
                ("self" if href.startswith("#") else "", len(self.inline))
            )
            return "a"
        if tag == "code":
            # Only the outermost code element is put in backticks.
            self.marks.append(("code" if not self.code_depth else "", len(self.inline)))
            self.code_depth += 1
            return "code"
        if tag in _BLOCK:
            return self._enter_block(tag, node, attributes)
        return ""

    def _enter_block(
        self, tag: str, node: LexborNode, attributes: dict[str, str | None]
    ) -> str:
        if self.cells or self.heading:
            # Inside a heading or a data cell a block is only a space.
            self.inline.append(" ")
            return _ABSORBED
        table = self.tables[-1] if self.tables else None
        if table is not None and tag in ("td", "th", "caption"):
            if not table.rows and tag != "caption":
                table.rows.append([])
            self.cells.append(
                _Cell(
                    text=[],
                    outer=self.inline,
                    span=_colspan(attributes),
                    caption=tag == "caption",
                )
            )
            self.inline = self.cells[-1].text
            return _CELL
        self.flush()
        if tag in _HEADINGS:
            self.heading = _HEADINGS[tag]
        elif tag in _SECTIONING:
            self.sections += 1
        elif tag == "pre":
            self.pre = []
            self.pre_depth = 1
            self.pre_language = _language(node, attributes)
        elif len(self.frames) >= MAX_PREFIXES and tag in ("blockquote", "li"):
            self.deep_frames += 1
        elif tag == "blockquote":
            self.frames.append(_Frame("> ", "> "))
        elif tag in ("ul", "ol"):
            start = (attributes.get("start") or "").strip() if tag == "ol" else ""
            number = int(start) if start.isdigit() and len(start) < 10 else 1
            self.lists.append(_List(ordered=tag == "ol", number=number))
        elif tag == "li":
            marker = "- "
            if self.lists and self.lists[-1].ordered:
                marker = f"{self.lists[-1].number}. "
                self.lists[-1].number += 1
            self.frames.append(_Frame(marker, " " * len(marker), is_item=True))
        elif tag == "table":
            self.tables.append(None if _laid_out(node) else _Table())
        elif tag == "tr" and table is not None:
            table.rows.append([])
        return tag

    def leave(self, token: str) -> None:
        """End an element, given the exit token its :meth:`enter` returned."""
        if token == _ABSORBED:
            self.inline.append(" ")
        elif token == "pre":
            self.pre_depth -= 1
            if self.pre_depth == 0:
                self._leave_pre()
        elif token in ("a", "code"):
            self.code_depth -= token == "code"
            self._leave_mark()
        elif token == _CELL:
            self._leave_cell()
        elif token in _HEADINGS:
            self.flush(heading=self.heading)
            self.heading = 0
        else:
            self.flush()
            if token in _SECTIONING:
                self.sections -= 1
            elif token in ("blockquote", "li"):
                # Frames past the cap were only counted, and are always the innermost.
                if self.deep_frames:
                    self.deep_frames -= 1
                else:
                    self.frames.pop()
            elif token in ("ul", "ol"):
                self.lists.pop()
                # Two lists in a row are two blocks, not one.
                self.last_in_list = bool(self.lists)
            elif token == "table":
                done = self.tables.pop()
                if done is not None:
                    self._emit_table(done)

    def _leave_mark(self) -> None:
        kind, at = self.marks.pop() if self.marks else ("", -1)
        if not kind or at < 0 or at > len(self.inline):
            return
        if kind == "self" and len(self.inline) - at > 2:
            return
        inner = "".join(self.inline[at:])
        if kind == "self":
            # A permalink anchor such as Sphinx's "¶" or a "#" beside a heading.
            if len(inner.strip()) < 4 and not any(c.isalnum() for c in inner):
                del self.inline[at:]
        elif kind == "code" and not self.heading:
            code = _SPACE.sub(" ", inner).strip()
            if code and "\n" not in inner:
                fence = "`" * (_longest_run(code) + 1)
                pad = " " if code.startswith("`") or code.endswith("`") else ""
                lead = " " if inner[:1].isspace() else ""
                trail = " " if inner[-1:].isspace() else ""
                self.inline[at:] = [f"{lead}{fence}{pad}{code}{pad}{fence}{trail}"]

    def _leave_cell(self) -> None:
        cell = self.cells.pop()
        self.inline = cell.outer
        text = _SPACE.sub(" ", "".join(cell.text)).strip().replace("|", "\\|")
        table = self.tables[-1]
        if table is None:  # pragma: no cover - cells are only opened in data tables
            return
        if cell.caption:
            table.caption = text
        else:
            table.rows[-1].append(text)
            table.rows[-1].extend([""] * (cell.span - 1))

    def _leave_pre(self) -> None:
        code = "".join(self.pre or ()).strip("\r\n").rstrip()
        self.pre = None
        if not code.strip():
            return
        fence = "`" * max(3, _longest_run(code) + 1)
        self._emit(f"{fence}{self.pre_language}\n{code}\n{fence}")

    def text(self, value: str) -> None:
        """Add the text of a text node."""
        if self.pre is not None:
            self.pre.append(value)
        else:
            # Line breaks in the markup are spaces; only <br> breaks a line.
            self.inline.append(_SPACE.sub(" ", value))

    # -- output -------------------------------------------------------------------

    def flush(self, *, heading: int = 0) -> None:
        """End the paragraph being written, as a heading of level ``heading`` if set."""
        if not self.inline:
            return
        raw = "".join(self.inline)
        self.inline.clear()
        self.marks = [(kind, -1) for kind, _ in self.marks]
        lines = [_SPACE.sub(" ", line).strip() for line in raw.split("\n")]
        if heading:
            text = " ".join(line for line in lines if line)
            if text:
                self._emit_heading(heading, text)
            return
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        if (
            self.prose is not None
            and len(lines) == 1
            and _AD_LABEL.fullmatch(lines[0]) is not None
        ):
            return
        if lines:
            self._emit("\n".join(lines))

    def _emit_heading(self, level: int, text: str) -> None:
        if self.out:
            self.out.append("\n\n")
            self.size += 2
        self.headings.append(Heading(level=level, text=text, start=self.size))
        line = "#" * level + " " + text
        self.out.append(line)
        self.size += len(line)
        self.last_in_list = False

    def _emit(self, block: str) -> None:
        in_list = any(frame.is_item for frame in self.frames)
        if self.frames:
            first = "".join(f.rest if f.used else f.first for f in self.frames)
            rest = "".join(f.rest for f in self.frames)
            for frame in self.frames:
                frame.used = True
            lines = block.split("\n")
            block = "\n".join(
                [first + lines[0]]
                + [rest + line if line else rest.rstrip() for line in lines[1:]]
            )
        if self.out:
            gap = "\n" if in_list and self.last_in_list else "\n\n"
            self.out.append(gap)
            self.size += len(gap)
        self.out.append(block)
        self.size += len(block)
        self.last_in_list = in_list

    def _emit_table(self, table: _Table) -> None:
        if table.caption:
            self._emit(table.caption)
        rows = [row for row in table.rows if any(row)]
        if not rows:
            return
        width = max(len(row) for row in rows)
        lines = []
        for i, row in enumerate(rows):
            cells = row + [""] * (width - len(row))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("|" + " --- |" * width)
        self._emit("\n".join(lines))

    def result(self, title: str | None) -> Extract:
        """Return the extract of everything walked so far."""
        self.flush(heading=self.heading)
        return Extract(
            title=title, text="".join(self.out), headings=tuple(self.headings)
        )


def _furniture(attributes: dict[str, str | None]) -> bool:
    """Whether an element is hidden or marked as page furniture."""
    if _hidden(attributes):
        return True
    role = attributes.get("role")
    if role and role.strip().lower() in _DROP_ROLES:
        return True
    tokens = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
    return not _DROP_CLASSES.isdisjoint(tokens.lower().split())


def _note(attributes: dict[str, str | None]) -> bool:
    """Whether an ``<aside>`` is a footnote, which is content, not a sidebar."""
    role = (attributes.get("role") or "").strip().lower()
    classes = (attributes.get("class") or "").lower().split()
    return role in _NOTE_ROLES or any("footnote" in c for c in classes)


def _laid_out(table: LexborNode) -> bool:
    """Whether a table lays out a page rather than holding a grid of data."""
    # css_first also matches the node it is called on, so ask each child instead.
    return any(child.css_first(_LAYOUT_SELECTOR) is not None for child in table.iter())


def _colspan(attributes: dict[str, str | None]) -> int:
    span = (attributes.get("colspan") or "").strip()
    return min(int(span), _MAX_COLSPAN) if span.isdigit() and span != "0" else 1


def _longest_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def _language(node: LexborNode, attributes: dict[str, str | None]) -> str:
    """The language of a code block, from its own class or a near one.

    Looks at the ``<pre>``, its first child element (``<pre><code class=...>``), its
    parent and grandparent (Sphinx writes ``<div class="highlight-python3">``).
    """
    classes = [attributes.get("class")]
    child = next(iter(node.iter()), None)
    if child is not None:
        classes.append(child.attributes.get("class"))
    parent = node.parent
    if parent is not None:
        classes.append(parent.attributes.get("class"))
        if parent.parent is not None:
            classes.append(parent.parent.attributes.get("class"))
    for value in classes:
        found = _LANGUAGE.search(value or "")
        if found:
            return found.group(1)
    return ""
