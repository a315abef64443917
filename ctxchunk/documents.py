"""Browsing content into tool-context chunks that follow the document's sections.

:func:`chunk_document` takes a page as HTML, Markdown or plain text (``str`` or
``bytes``) and returns chunks of role ``tool`` and kind ``document``, each at most
``max_tokens`` tokens, provenance line included. :func:`read_document` is the first
half on its own: the readable text of a page, its title and its sections.

How it works:

1. Bytes are decoded with the charset the content declares (a byte order mark, an XML
   declaration, or for HTML a ``<meta>`` charset in its first 4 KiB), else as UTF-8;
   bytes that are neither are an error, never mojibake.
2. The format is detected unless given (:func:`detect_format`). HTML is reduced to
   its readable content in a Markdown-like form (``ctxchunk._html``); Markdown and
   text are kept as they are.
3. The text is cut into sections at its headings; each section knows its heading
   path (``("Guide", "Install", "Linux")``).
4. Sections become chunk bodies: a section that fits is packed together with the
   sections after it while the chunk still fits (see :func:`chunk_document` for the
   rule); a section that does not fit is split alone with
   :func:`ctxchunk.split.split_text`.
5. Each chunk's text is a provenance line, a line break and its body. The line is
   counted inside the bound, and every chunk is recounted exactly once it is written.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import json
import re
from collections.abc import Sequence
from typing import Literal

import attrs

from ctxchunk import _html, _pdf
from ctxchunk._checks import check_int, check_optional_meta_str, load_json
from ctxchunk.chunk import Chunk, ChunkMeta
from ctxchunk.exceptions import (
    DocumentError,
    InvalidArgumentError,
    InvalidTypeError,
    SplitError,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.split import DEFAULT_MAX_TOKENS, split_text
from ctxchunk.tokens import Tokenizer, get_tokenizer

__all__ = [
    "FORMATS",
    "HEADER_MAX_TOKENS",
    "RESULT_FORMATS",
    "Document",
    "Format",
    "ReducedResult",
    "ResultFormat",
    "Section",
    "chunk_document",
    "detect_format",
    "read_document",
    "reduce_tool_result",
]

Format = Literal["auto", "html", "markdown", "text", "pdf"]
FORMATS: tuple[str, ...] = ("auto", "html", "markdown", "text", "pdf")
"""The values ``format`` accepts."""

HEADER_MAX_TOKENS = 100
"""The most tokens a provenance line may take. A line also takes at most a quarter of
``max_tokens``; a longer title, address or heading path is shortened to fit."""

_SEPARATOR = " · "


@attrs.frozen(slots=True)
class Section:
    """A part of a document under one heading.

    Invariant: ``document.text[start:end]`` is the section, its heading line first
    (except for the text before a document's first heading, whose ``headings`` is
    empty); the sections of a document are contiguous and cover its text.

    Attributes:
        headings: The heading path, outermost first, ending with this section's own.
        start: Where the section starts in the document's text.
        end: Where it ends.
    """

    headings: tuple[str, ...]
    start: int
    end: int


@attrs.frozen(slots=True)
class Document:
    """The readable content of a page.

    Attributes:
        text: What a reader reads: for HTML, the Markdown-like extract; for Markdown
            and text, the content as given.
        title: The title given, else the HTML ``<title>``, else the first level-1
            heading, else None.
        format: The format the content was read as: ``html``, ``markdown``,
            ``text`` or ``pdf``.
        sections: The sections of ``text``, in order.
        pages: For a PDF, where each page starts in ``text`` (page ``i + 1`` starts
            at ``pages[i]``; pages are joined by a blank line); else empty.
    """

    text: str
    title: str | None
    format: str
    sections: tuple[Section, ...]
    pages: tuple[int, ...] = ()


def read_document(
    content: str | bytes,
    *,
    title: str | None = None,
    format: Format = "auto",
    main_content: bool = True,
) -> Document:
    """Return the readable text of ``content``, its title and its sections.

    Args:
        content: The page, as text or as bytes (decoded as the module docs say).
        title: The title to use instead of the page's own.
        format: ``"html"``, ``"markdown"``, ``"text"``, ``"pdf"`` (bytes only), or
            ``"auto"`` to detect it (a PDF by its ``%PDF-`` header).
        main_content: For HTML, keep only the page's main content (the article or
            documentation body, without navigation, banners, footers, sidebars and
            share or related-link widgets); False keeps everything that is not
            furniture by its markup alone.

    Returns:
        The document.

    Raises:
        DocumentError: bytes that cannot be decoded, or a PDF that cannot be read
            (cut short, encrypted, too long, damaged, or pypdf not installed).
        InvalidArgumentError: an unknown ``format``, or ``"pdf"`` for a str.
        InvalidTypeError: an argument of the wrong type.

    >>> doc = read_document("<title>T</title><h1>A</h1><p>x</p><h2>B</h2><p>y</p>")
    >>> doc.title, [s.headings for s in doc.sections]
    ('T', [('A',), ('A', 'B')])
    """
    _check_optional_str("title", title)
    if not isinstance(format, str) or format not in FORMATS:
        raise InvalidArgumentError(
            f"format={format!r} must be one of {', '.join(map(repr, FORMATS))}; "
            f"'auto' detects it"
        )
    if not isinstance(main_content, bool):
        raise InvalidTypeError(
            f"main_content must be True or False, got {main_content!r:.80}"
        )
    if format == "pdf" or (
        format == "auto" and isinstance(content, bytes) and _pdf.is_pdf(content)
    ):
        return _read_pdf(content, title)
    text, form = _decode(content, format)
    if text.startswith("\ufeff"):
        text = text[1:]
    if form == "auto":
        form = detect_format(text)
    if form == "html":
        page = _html.extract(text, main_content=main_content)
        text, page_title = page.text, page.title
        headings = [(h.level, h.text, h.start) for h in page.headings]
    else:
        page_title = None
        headings = _markdown_headings(text) if form == "markdown" else []
    if title is None:
        title = page_title
    if title is None:
        title = next((h for level, h, _ in headings if level == 1), None)
    return Document(
        text=text, title=title, format=form, sections=_sections(text, headings)
    )


def _read_pdf(content: str | bytes, title: str | None) -> Document:
    if isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    if not isinstance(content, bytes):
        raise InvalidArgumentError(
            f"format='pdf' needs the file's bytes, got {type(content).__name__}; "
            f"pass the bytes as read from the file or the response body"
        )
    pdf = _pdf.read_pdf(content)
    starts: list[int] = []
    parts: list[str] = []
    size = 0
    for page in pdf.pages:
        if parts:
            parts.append("\n\n")
            size += 2
        starts.append(size)
        text = page.strip()
        parts.append(text)
        size += len(text)
    text = "".join(parts)
    # Each page is a section, so a chunk never starts inside a page that would fit.
    ends = [*starts[1:], len(text)]
    sections = tuple(
        Section(headings=(), start=start, end=end)
        for start, end in zip(starts, ends, strict=True)
    )
    return Document(
        text=text,
        title=title if title is not None else pdf.title,
        format="pdf",
        sections=sections or (Section(headings=(), start=0, end=0),),
        pages=tuple(starts),
    )


def chunk_document(
    content: str | bytes,
    *,
    url: str | None = None,
    title: str | None = None,
    format: Format = "auto",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    tokenizer: str | Tokenizer | None = None,
    main_content: bool = True,
) -> list[Chunk]:
    """Cut a page into tool-context chunks of at most ``max_tokens`` tokens.

    Every chunk has role ``tool`` and kind ``document``; ``meta`` holds ``url``, the
    title and the heading path of the chunk's section. Its text starts with a
    provenance line, such as
    ``[Source: Install guide https://x.org/install · part 2/5 · section: Install >
    Linux]``, then a line break and the content. ``tokens`` counts both and is at most
    ``max_tokens``. A title, address or heading path too long for the line is shortened
    (the line takes at most :data:`HEADER_MAX_TOKENS` and at most a quarter of
    ``max_tokens``).

    Chunks follow the sections: a chunk never starts in the middle of a section that
    would fit in one chunk. Consecutive sections that fit whole share a chunk while it
    still fits, and the chunk's heading path is then what their paths have in common;
    a section too long for one chunk is split on its own, at paragraph, line and
    sentence boundaries, and none of its chunks holds another section. Whitespace at
    the edges of a chunk's content is trimmed, and content that is only whitespace
    makes no chunk.

    A page with no readable text (an empty page, or one that is all scripts and
    navigation) gives ``[]``, as ``split_text("")`` does.

    Args:
        content: The page, as text or bytes (see the module docs for decoding).
        url: Where the page came from, for the provenance line and ``meta.url``.
        title: The page's title; by default its ``<title>`` or first level-1 heading.
        format: ``"html"``, ``"markdown"``, ``"text"``, or ``"auto"`` to detect it
            with :func:`detect_format`.
        max_tokens: The most tokens a chunk may hold, provenance line included.
        tokenizer: An encoding or model name, or a :class:`~ctxchunk.tokens.Tokenizer`;
            ``o200k_base`` by default.
        main_content: For HTML, keep only the main content (see
            :func:`read_document`).

    Returns:
        The chunks in document order. They share a ``source`` derived from the url
        and the readable text, and their ids are deterministic. A PDF's chunks name
        their pages in the provenance line (``· page 3`` or ``· pages 3-4``).

    Raises:
        DocumentError: bytes that cannot be decoded.
        SplitError: ``max_tokens`` leaves no room for content after the shortest
            provenance line, or for a single character of the page.
        InvalidArgumentError: ``max_tokens`` below 1 or an unknown ``format``.
        InvalidTypeError: an argument of the wrong type.

    >>> chunks = chunk_document(
    ...     "<title>Tea</title><nav>Home</nav><h1>Tea</h1><p>Brew it hot.</p>",
    ...     url="https://example.com/tea",
    ... )
    >>> print(chunks[0].text)
    [Source: Tea https://example.com/tea · part 1/1 · section: Tea]
    # Tea
    <BLANKLINE>
    Brew it hot.
    >>> chunks[0].role, chunks[0].kind, chunks[0].tokens
    (<Role.TOOL: 'tool'>, <Kind.DOCUMENT: 'document'>, 29)
    """
    _check_optional_str("url", url)
    check_int("max_tokens", max_tokens, 1)
    tok = get_tokenizer(tokenizer)
    document = read_document(
        content, title=title, format=format, main_content=main_content
    )
    if not document.text.strip():
        return []
    return _Chunker(document, url, max_tokens, tok).run()


# -- tool results ------------------------------------------------------------------

ResultFormat = Literal["auto", "html", "markdown", "json", "text"]
RESULT_FORMATS: tuple[str, ...] = ("auto", "html", "markdown", "json", "text")
"""The values ``reduce_tool_result`` accepts for ``format``."""


@attrs.frozen(slots=True)
class ReducedResult:
    """A tool result reduced to what a model needs to read.

    Attributes:
        text: The reduced text: an HTML page's main content in Markdown form,
            compact JSON (with any HTML page inside it reduced the same way), or
            Markdown and text as given.
        format: What the result was read as: ``html``, ``markdown``, ``json`` or
            ``text``.
        title: An HTML page's title, else None.
    """

    text: str
    format: str
    title: str | None


def reduce_tool_result(result: str, *, format: ResultFormat = "auto") -> ReducedResult:
    r"""Reduce a tool's output the way :func:`read_document` reduces a page.

    A browsing or fetch tool often returns a whole HTML page; its ``<head>``, scripts
    and navigation would fill the window. HTML becomes its main content in Markdown
    form; JSON is written compactly (no indentation, no spaces after separators, so
    the same data in fewer tokens) and any string value in it that is a whole HTML
    page (a doctype, ``<html>``, ``<head>`` or ``<body>``) is reduced too; Markdown
    and text are kept exactly. Keep the raw result yourself if you need it: the
    reduction drops what it judges to be page furniture.

    Args:
        result: What the tool returned.
        format: ``"html"``, ``"markdown"``, ``"json"``, ``"text"``, or ``"auto"``:
            JSON when the whole result parses as a JSON object or array, else
            :func:`detect_format`.

    Returns:
        The reduced text, the format it was read as, and an HTML page's title.

    Raises:
        DocumentError: ``format="json"`` for a result that is not JSON.
        InvalidArgumentError: an unknown ``format``.
        InvalidTypeError: a ``result`` that is not a str.

    >>> reduce_tool_result('{"temp": 21,\n  "unit": "C"}').text
    '{"temp":21,"unit":"C"}'
    >>> page = "<html><nav>Home</nav><h1>Weather</h1><p>Sunny, 21 C.</p></html>"
    >>> print(reduce_tool_result(page).text)
    # Weather
    <BLANKLINE>
    Sunny, 21 C.
    """
    if not isinstance(result, str):
        raise InvalidTypeError(
            f"result must be a str, got {type(result).__name__}: {result!r:.80}"
        )
    if not isinstance(format, str) or format not in RESULT_FORMATS:
        raise InvalidArgumentError(
            f"format={format!r} must be one of "
            f"{', '.join(map(repr, RESULT_FORMATS))}; 'auto' detects it"
        )
    if format in ("auto", "json"):
        data = _json_or_none(result, strict=format == "json")
        if data is not _NOT_JSON:
            text = json.dumps(
                _reduce_json(data), ensure_ascii=False, separators=(",", ":")
            )
            return ReducedResult(text=text, format="json", title=None)
    form = detect_format(result) if format in ("auto", "json") else format
    if form == "html":
        document = read_document(result, format="html")
        return ReducedResult(text=document.text, format="html", title=document.title)
    return ReducedResult(text=result, format=form, title=None)


_NOT_JSON = object()
_JSON_START = re.compile(r"\s*[\[{]")


def _json_or_none(text: str, *, strict: bool) -> object:
    """The JSON value of ``text``, or :data:`_NOT_JSON` (an error when ``strict``)."""
    if not strict and not _JSON_START.match(text):
        return _NOT_JSON
    try:
        # Standard JSON only: NaN or Infinity would make the compact form unsendable.
        return load_json(text)
    except (ValueError, RecursionError) as error:
        if strict:
            raise DocumentError(
                f"result is declared format='json' but is not JSON ({error}); "
                f"pass format='text' or 'auto'"
            ) from None
        return _NOT_JSON


def _reduce_json(data: object) -> object:
    """``data`` with every string that is a whole HTML page reduced to its content."""
    # An explicit stack: tool JSON can nest deeper than Python's recursion limit
    # allows a recursive copy to go.
    root: list[object] = [data]
    stack: list[tuple[list[object] | dict[str, object], int | str]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        value = container[key]  # type: ignore[index]
        if isinstance(value, str):
            if _is_html_page(value):
                container[key] = read_document(value, format="html").text  # type: ignore[index]
        elif isinstance(value, list):
            copy: list[object] = list(value)
            container[key] = copy  # type: ignore[index]
            stack.extend((copy, i) for i in range(len(copy)))
        elif isinstance(value, dict):
            mapping: dict[str, object] = dict(value)
            container[key] = mapping  # type: ignore[index]
            stack.extend((mapping, k) for k in mapping)
    return root[0]


def _is_html_page(value: str) -> bool:
    """Whether a JSON string is a whole HTML page.

    It starts with markup, names the document (doctype, ``<html>``, ``<head>`` or
    ``<body>``) and closes a tag. A string that merely holds such a word
    (``"<HEAD>"``, ``"use <body> here"``) is data, kept as it is.
    """
    head = value[:_SNIFF_CHARS]
    return (
        head.lstrip().startswith("<")
        and _HTML_DOCUMENT.search(head) is not None
        and "</" in head
    )


# -- formats and decoding ----------------------------------------------------------

_HTML_DOCUMENT = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_HTML_TAG = re.compile(
    r"\s*<(?:p|div|span|a|b|i|em|strong|h[1-6]|ul|ol|li|table|tr|td|br|hr|img|pre|"
    r"code|blockquote|section|article|main|nav|header|footer|title|meta|link|script|"
    r"style|form|dl|figure)[\s/>]",
    re.I,
)
_SNIFF_CHARS = 65536


def detect_format(text: str) -> Literal["html", "markdown", "text"]:
    r"""Return the format ``text`` is most likely in.

    HTML: the first 64 KiB hold a doctype, ``<html>``, ``<head>`` or ``<body>``, or
    the text starts with a common HTML tag and has no Markdown heading or fence.
    Markdown: a heading line (``# Title`` or an underlined one) or a code fence
    outside code. Text: anything else. Pass ``format=`` when you know better, for
    example for an HTML fragment that starts with text.

    Args:
        text: The content.

    Returns:
        ``"html"``, ``"markdown"`` or ``"text"``.

    >>> detect_format("<p>Hi</p>"), detect_format("# Hi\n\ntext"), detect_format("hi")
    ('html', 'markdown', 'text')
    """
    head = text[:_SNIFF_CHARS]
    if _HTML_DOCUMENT.search(head):
        return "html"
    markdown = bool(_markdown_headings(head)) or _has_fence(head)
    if not markdown and _HTML_TAG.match(head):
        return "html"
    return "markdown" if markdown else "text"


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# UTF-32-LE's mark starts with UTF-16-LE's, so it is tried first.

# Labels browsers decode with a superset codec (the WHATWG Encoding Standard's
# mapping): pages labelled latin-1 are in practice windows-1252, Shift_JIS pages use
# Microsoft's extensions, and so on. A label meta-declared as UTF-16 cannot be right
# (the declaration itself was read as ASCII), so it means UTF-8.
_SUPERSETS = {
    **dict.fromkeys(
        ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "cp819",
         "ibm819", "ascii", "us-ascii", "ansi_x3.4-1968", "windows-1252", "cp1252",
         "x-cp1252"),
        "windows-1252",
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis",
         "windows-31j", "ms932"),
        "cp932",
    ),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "gb_2312-80", "chinese"), "gb18030"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cseuckr"), "cp949"),
    **dict.fromkeys(("iso-8859-9", "latin5", "l5"), "cp1254"),
    **dict.fromkeys(("tis-620", "iso-8859-11"), "cp874"),
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16be"), "utf-8"),
}  # fmt: skip

# windows-1252 as browsers decode it: the five bytes Python's codec leaves undefined
# (0x81, 0x8D, 0x8F, 0x90, 0x9D) are the C1 controls of the same value.
_CP1252 = {
    byte: bytes([byte]).decode("cp1252")
    for byte in range(0x80, 0xA0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_CP1252_TABLE = {byte: ord(char) for byte, char in _CP1252.items()}


def _decode(content: str | bytes, format: str) -> tuple[str, str]:
    """Return ``content`` as text, and ``format`` resolved if decoding resolved it."""
    if isinstance(content, str):
        return content, format
    if isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    if not isinstance(content, bytes):
        raise InvalidTypeError(
            f"content must be a str or bytes, got {type(content).__name__}: "
            f"{content!r:.80}"
        )
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return _decode_as(content[len(bom) :], codec, "its byte order mark"), format
    declared = None
    if format in ("html", "auto"):
        sniffed = content[:_SNIFF_CHARS].decode("latin-1")
        if format == "html" or detect_format(sniffed) == "html":
            declared = _html.declared_charset(content)
            format = "html"
    if declared is not None:
        label, where = declared
        return _decode_as(content, label, where), format
    try:
        return content.decode("utf-8"), format
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"content is bytes that declare no charset and are not UTF-8: byte "
            f"0x{content[error.start]:02x} at offset {error.start} is invalid; "
            f"decode the bytes yourself (for example with the charset from the HTTP "
            f"Content-Type header) and pass a str"
        ) from None


def _decode_as(data: bytes, label: str, where: str) -> str:
    name = _SUPERSETS.get(label.strip().lower(), label.strip().lower())
    if name == "windows-1252":
        return data.decode("latin-1").translate(_CP1252_TABLE)
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise DocumentError(
            f"content declares charset {label!r} in {where}, which Python cannot "
            f"decode; decode the bytes yourself and pass a str"
        ) from None
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"content declares charset {label!r} in {where}, but byte "
            f"0x{data[error.start]:02x} at offset {error.start} is not valid "
            f"{codec.name}; decode the bytes yourself and pass a str"
        ) from None


# -- sections ----------------------------------------------------------------------

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# Markdown's lines end only at CR, LF or CRLF (str.splitlines also splits at U+2028).
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_NOT_A_PARAGRAPH = re.compile(r" {4}|\t| {0,3}(?:[-*+>|]|\d{1,9}[.)](?:\s|$)|<)")


def _has_fence(text: str) -> bool:
    return any(_FENCE.fullmatch(line.rstrip("\r\n")) for line in _LINES.findall(text))


def _markdown_headings(text: str) -> list[tuple[int, str, int]]:
    """The ``(level, text, start)`` of each Markdown heading outside code fences.

    ATX headings (``## Title``) and setext headings (a line underlined with ``===``
    or ``---``) count; a setext heading starts at its text line.
    """
    headings: list[tuple[int, str, int]] = []
    fence: tuple[str, int] | None = None
    at = 0
    previous: tuple[str, int] | None = None  # a paragraph line that may be underlined
    for found in _LINES.finditer(text):
        raw = found.group()
        line = raw.rstrip("\r\n")
        start, at = at, at + len(raw)
        opening = _FENCE.fullmatch(line)
        if fence is not None:
            if (
                opening
                and opening.group(1)[0] == fence[0]
                and len(opening.group(1)) >= fence[1]
                and not opening.group(2).strip()
            ):
                fence = None
            continue
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = (opening.group(1)[0], len(opening.group(1)))
            previous = None
            continue
        atx = _ATX.fullmatch(line)
        if atx:
            heading = (atx.group(2) or "").strip()
            if heading:
                headings.append((len(atx.group(1)), heading, start))
            previous = None
            continue
        underline = _SETEXT.fullmatch(line)
        if underline and previous is not None:
            level = 1 if underline.group(1)[0] == "=" else 2
            headings.append((level, previous[0].strip(), previous[1]))
            previous = None
            continue
        paragraph = line.strip() and not _NOT_A_PARAGRAPH.match(line)
        previous = (line, start) if paragraph else None
    return headings


def _sections(
    text: str, headings: Sequence[tuple[int, str, int]]
) -> tuple[Section, ...]:
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    if not headings or headings[0][2] > 0:
        first_end = headings[0][2] if headings else len(text)
        sections.append(Section(headings=(), start=0, end=first_end))
    for i, (level, heading, start) in enumerate(headings):
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        end = headings[i + 1][2] if i + 1 < len(headings) else len(text)
        sections.append(
            Section(headings=tuple(h for _, h in path), start=start, end=end)
        )
    return tuple(sections)


# -- chunks ------------------------------------------------------------------------

_LEADING_BLANK_LINES = re.compile(r"(?:[ \t\f\v]*(?:\r\n|\r|\n))+")
_SPACES = re.compile(r"\s+")


def _trim(text: str) -> str:
    """Drop blank lines before and whitespace after; keep a first line's indent."""
    found = _LEADING_BLANK_LINES.match(text)
    if found:
        text = text[found.end() :]
    return text.rstrip()


@attrs.frozen
class _Pack:
    """Whole sections packed into one chunk: their span, common path and tokens."""

    start: int
    end: int
    headings: tuple[str, ...]
    tokens: int


@attrs.define
class _Draft:
    """A chunk being planned: its body, heading path and provenance-line variant.

    ``start`` and ``end`` are where the body's span lies in the document's text.
    """

    body: str
    headings: tuple[str, ...]
    variant: int
    start: int
    end: int


class _Chunker:
    """Plans and writes the chunks of one document; see :func:`chunk_document`."""

    def __init__(
        self, document: Document, url: str | None, max_tokens: int, tok: Tokenizer
    ) -> None:
        self.document = document
        self.url = url
        self.max_tokens = max_tokens
        self.tok = tok
        self.header_budget = max(1, min(HEADER_MAX_TOKENS, max_tokens // 4))
        self.title = _one_line(document.title)
        self.line_url = _one_line(url)
        self._headers: dict[tuple[str, str, tuple[str, ...]], tuple[str, int, int]] = {}
        count = str(len(document.pages))
        # Plans reserve room for the longest page label a chunk could carry.
        self.widest_pages = f"pages {count}-{count}" if document.pages else ""
        digest = hashlib.blake2b(digest_size=8, person=b"ctxchunk.doc")
        for field in (url or "", document.text):
            data = field.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        self.source = "doc_" + digest.hexdigest()
        self.section_tokens = [
            tok.count(document.text[s.start : s.end]) for s in document.sections
        ]

    def run(self) -> list[Chunk]:
        # Bodies are planned with a provenance line for the widest part numbers seen
        # so far and a reserve for tokens that merge across joins; when a written
        # chunk is still over the bound, the reserve grows and the plan is redone.
        reserve = 0
        # Start from a generous guess at the number of parts (split_text leaves pieces
        # at least half full), so that a long page is rarely planned twice.
        guess = len(self.section_tokens) + 2 * sum(self.section_tokens) // max(
            1, self.max_tokens // 2
        )
        digits = len(str(guess))
        while True:
            drafts = self._plan(digits, reserve)
            if len(str(len(drafts))) > digits:
                digits = len(str(len(drafts)))
                continue
            chunks = self._write(drafts)
            over = max(chunk.tokens for chunk in chunks) - self.max_tokens
            if over <= 0:
                return chunks
            reserve += over

    def _plan(self, digits: int, reserve: int) -> list[_Draft]:
        text = self.document.text
        number = "9" * digits
        drafts: list[_Draft] = []
        pack: _Pack | None = None
        for section, tokens in zip(
            self.document.sections, self.section_tokens, strict=True
        ):
            if not text[section.start : section.end].strip():
                continue
            if pack is not None:
                path = _common_prefix(pack.headings, section.headings)
                line_tokens = self._header(number, number, path)[1]
                if pack.tokens + tokens + line_tokens + reserve <= self.max_tokens:
                    pack = _Pack(pack.start, section.end, path, pack.tokens + tokens)
                    continue
                drafts.append(self._draft(pack, number))
                pack = None
            header = self._header(number, number, section.headings)
            budget = self.max_tokens - header[1] - reserve
            if tokens <= budget:
                pack = _Pack(section.start, section.end, section.headings, tokens)
            else:
                drafts.extend(self._split(section, header[2], budget))
        if pack is not None:
            drafts.append(self._draft(pack, number))
        return drafts

    def _draft(self, pack: _Pack, number: str) -> _Draft:
        variant = self._header(number, number, pack.headings)[2]
        body = _trim(self.document.text[pack.start : pack.end])
        return _Draft(body, pack.headings, variant, pack.start, pack.end)

    def _split(self, section: Section, variant: int, budget: int) -> list[_Draft]:
        if budget < 1:
            shortest = self._header_text(
                "1", "1", (), len(_VARIANTS), self.widest_pages
            )
            need = self.tok.count(shortest + "\n") + 1
            raise SplitError(
                f"max_tokens={self.max_tokens} leaves no room for content after the "
                f"provenance line; the shortest one, {shortest!r}, takes "
                f"{need - 1} tokens with its line break, so pass max_tokens of at "
                f"least {need} (more for a longer page)"
            )
        body = self.document.text[section.start : section.end]
        try:
            pieces = split_text(body, budget, tokenizer=self.tok)
        except SplitError:
            raise SplitError(
                f"max_tokens={self.max_tokens} leaves {budget} tokens for content "
                f"after the provenance line, and a single character of the document "
                f"needs more; pass a larger max_tokens"
            ) from None
        drafts = []
        for piece in pieces:
            trimmed = _trim(piece.text)
            if piece.start and body[piece.start - 1] not in "\r\n":
                # A cut inside a line: the space that led the piece is not an indent.
                trimmed = trimmed.lstrip()
            if trimmed:
                drafts.append(
                    _Draft(
                        trimmed,
                        section.headings,
                        variant,
                        section.start + piece.start,
                        section.start + piece.end,
                    )
                )
        return drafts

    def _write(self, drafts: list[_Draft]) -> list[Chunk]:
        parts = len(drafts)
        chunks = []
        for part, draft in enumerate(drafts):
            header = self._header_text(
                str(part + 1),
                str(parts),
                draft.headings,
                draft.variant,
                self._pages(draft.start, draft.end),
            )
            text = f"{header}\n{draft.body}"
            chunks.append(
                Chunk.create(
                    text,
                    role=Role.TOOL,
                    kind=Kind.DOCUMENT,
                    source=self.source,
                    part=part,
                    parts=parts,
                    meta=ChunkMeta(
                        url=self.url,
                        title=self.document.title,
                        headings=draft.headings,
                    ),
                    tokens=self.tok.count(text),
                )
            )
        return chunks

    def _header(
        self, part: str, parts: str, path: tuple[str, ...]
    ) -> tuple[str, int, int]:
        """The richest provenance line within the header budget.

        Returns the line, its tokens with the line break after it, and its variant.
        """
        key = (part, parts, path)
        found = self._headers.get(key)
        if found is not None:
            return found
        last = len(_VARIANTS)
        for variant in range(last + 1):
            line = self._header_text(part, parts, path, variant, self.widest_pages)
            tokens = self.tok.count(line + "\n")
            if tokens <= self.header_budget or variant == last:
                break
        self._headers[key] = found = (line, tokens, variant)
        return found

    def _pages(self, start: int, end: int) -> str:
        """The pages a span of a PDF's text lies on, as ``page 3`` or ``pages 3-4``."""
        pages = self.document.pages
        if not pages:
            return ""
        text = self.document.text
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        first = bisect.bisect_right(pages, start)
        last = bisect.bisect_right(pages, max(start, end - 1))
        return f"page {first}" if first == last else f"pages {first}-{last}"

    def _header_text(
        self,
        part: str,
        parts: str,
        path: tuple[str, ...],
        variant: int,
        pages: str = "",
    ) -> str:
        where = f"{_SEPARATOR}{pages}" if pages else ""
        if variant == len(_VARIANTS):
            return f"[part {part}/{parts}{where}]"
        title_chars, url_chars, path_form, heading_chars = _VARIANTS[variant]
        fields = []
        if title_chars and self.title:
            fields.append(_shorten(self.title, title_chars))
        if url_chars and self.line_url:
            fields.append(_shorten(self.line_url, url_chars))
        name = " ".join(fields) or "untitled document"
        line = f"[Source: {name}{_SEPARATOR}part {part}/{parts}{where}"
        if path and path_form:
            headings = [_one_line(h) or "" for h in path]
            if path_form == "last" and len(headings) > 1:
                headings = ["…", headings[-1]]
            shown = " > ".join(_shorten(h, heading_chars) for h in headings)
            line += f"{_SEPARATOR}section: {shown}"
        return line + "]"


_VARIANTS: tuple[tuple[int, int, str, int], ...] = (
    (200, 300, "full", 120),
    (200, 300, "last", 120),
    (80, 100, "last", 60),
    (40, 60, "last", 30),
    (40, 0, "last", 30),
    (24, 0, "last", 16),
    (24, 0, "", 0),
    (0, 0, "", 0),
)
"""Provenance-line forms, richest first: (most characters of the title, of the url,
which heading path - ``"full"``, ``"last"`` (``… > last``) or ``""`` for none - and
most characters per heading); 0 leaves a field out. The first that fits the header
budget is used; past the last comes the bare ``[part k/n]``."""


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    return _SPACES.sub(" ", text).strip() or None


def _shorten(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _check_optional_str(name: str, value: object) -> None:
    # The url and title become chunk metadata, which is never tokenized.
    check_optional_meta_str(name, value)
